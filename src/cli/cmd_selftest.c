/* dnacl selftest: open the chosen device (which runs the smoke kernel) and build every
 * embedded kernel family on it, so a broken driver shows up before real work. A family
 * specialised by -D macros names the option sets to build in a "dnacl-selftest:" line of
 * its source, separated by '|'; others are built with no options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "runtime/cl_sources.h"
#include "runtime/runtime.h"

int cmd_selftest(int argc, char **argv) {
  cli_common c = {0};
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &c);
    if (r <= 0) {
      if (r == 0) fprintf(stderr, "dnacl selftest: unknown option '%s'\n", argv[i]);
      return 2;
    }
  }
  dnacl_ctx *ctx;
  if (dnacl_ctx_create(c.device, c.verbose, &ctx) != DNACL_OK) {
    fprintf(stderr, "dnacl selftest: %s\n", dnacl_last_error());
    return 1;
  }
  printf("device: %s (%s)\n", ctx->info.name, ctx->info.platform);
  int failed = 0;
  for (const dnacl_cl_source *s = dnacl_cl_sources; s->family; s++) {
    /* The whole option line, however long: a cut-off line would skip variants silently. */
    const char *mark = strstr(s->text, "dnacl-selftest:");
    if (mark) mark += strlen("dnacl-selftest:");
    const size_t n = mark ? strcspn(mark, "\n") : 0;
    char *variants = malloc(n + 1);
    if (!variants) {
      fprintf(stderr, "dnacl selftest: out of memory\n");
      dnacl_ctx_release(ctx);
      return 1;
    }
    if (n) memcpy(variants, mark, n);
    variants[n] = 0;
    char *save = NULL;
    char *opt = mark ? strtok_r(variants, "|", &save) : variants;
    do {
      while (opt && *opt == ' ') opt++;
      struct timespec t0, t1;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      cl_program p;
      dnacl_status st = dnacl_program(ctx, s->family, opt ? opt : "", &p);
      clock_gettime(CLOCK_MONOTONIC, &t1);
      double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
      if (st == DNACL_OK) {
        printf("  build cl/%s.cl %s: ok (%.0f ms)\n", s->family, opt ? opt : "", ms);
      } else {
        printf("  build cl/%s.cl %s: FAILED\n%s\n", s->family, opt ? opt : "", dnacl_last_error());
        failed++;
      }
    } while (mark && (opt = strtok_r(NULL, "|", &save)));
    free(variants);
  }
  dnacl_ctx_release(ctx);
  printf("%s\n", failed ? "selftest FAILED" : "selftest ok");
  return failed ? 1 : 0;
}
