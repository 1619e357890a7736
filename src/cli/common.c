#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int cli_common_option(int argc, char **argv, int *i, cli_common *c) {
  if (!strcmp(argv[*i], "--verbose") || !strcmp(argv[*i], "-v")) {
    c->verbose = 1;
    return 1;
  }
  if (!strcmp(argv[*i], "--device")) {
    if (*i + 1 >= argc) {
      fprintf(stderr, "dnacl: --device needs a value (an index or part of a device name)\n");
      return -1;
    }
    c->device = argv[++*i];
    return 1;
  }
  if (!strncmp(argv[*i], "--device=", 9)) {
    c->device = argv[*i] + 9;
    return 1;
  }
  return 0;
}
