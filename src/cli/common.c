#include <stdio.h>
#include <stdlib.h>
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

int cli_need(const char *cmd, const char *opt, const char *val) {
  if (!val) fprintf(stderr, "dnacl %s: %s needs a value\n", cmd, opt);
  return val != NULL;
}

void cli_json_str(const char *s) {
  putchar('"');
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

/* A task name is looked up only when the data has one per output (score opens no other
 * labelled data; explain also takes data labelled for something else). */
int cli_resolve_target(const char *cmd, const char *t, const dnacl_model *m, const dnacl_seqset *set, int *out) {
  int T = m->spec.tasks;
  if (!t) {
    *out = 0;
    return 1;
  }
  char *end;
  long v = strtol(t, &end, 10);
  if (!*end && end != t) {
    if (v < 0 || v >= T) {
      fprintf(stderr, "dnacl %s: --target %ld: model %s has %d output(s) (0..%d)\n", cmd, v, m->spec.name, T, T - 1);
      return 0;
    }
    *out = (int)v;
    return 1;
  }
  if (set->n_tasks == T)
    for (int k = 0; k < T; k++)
      if (!strcmp(set->task_names[k], t)) {
        *out = k;
        return 1;
      }
  fprintf(stderr, "dnacl %s: --target '%s' is neither an output index (0..%d) nor a task name of the data\n", cmd, t,
          T - 1);
  return 0;
}
