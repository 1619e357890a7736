/* dnacl report: one self-contained HTML page of a run (src/report/report.h): its model and
 * settings, learning curves, test metrics, first-layer filters with their database matches
 * and attribution logos of the top-scoring sequences. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "report/report.h"

static const char *usage =
    "usage: dnacl report RUN/ [options]\n"
    "Writes RUN/report.html: one HTML file with every figure inline (no other files, no network).\n"
    "  --data D              sequences for the metrics, filters and attributions\n"
    "                        (default: the data RUN/config.tsv names)\n"
    "  --split S             train|valid|test|all (default: test if D has one, else all of D)\n"
    "  --db DB.meme          motif database for the filters' best matches\n"
    "                        (default: " DNACL_REPORT_DEFAULT_DB " if present; 'none' to skip)\n"
    "  --top K               sequences with the highest predicted probability to explain (default 5)\n"
    "  --method M            saliency | gradxinput | ig | deeplift | deepshap | ism\n"
    "                        (default: deepshap, or corrected saliency for models DeepSHAP refuses)\n"
    "  --out FILE            default RUN/report.html (written to FILE.tmp, then renamed)\n"
    "  --which best|last     the checkpoint (default best)\n"
    "  --batch N             sequences per forward pass (speed and memory only)\n"
    "  --n-value X, --pad L, --crop L   default: as RUN/config.tsv says training used\n"
    "  --device INDEX|NAME   --verbose\n"
    "A section that cannot be made (no data, unlabelled data, no database, a method the model\n"
    "refuses) says why in the page.\n";

static int num_arg(const char *opt, const char *val, double lo, double hi, double *out) {
  char *end;
  if (!val) {
    fprintf(stderr, "dnacl report: %s needs a value\n", opt);
    return 0;
  }
  errno = 0;
  double v = strtod(val, &end);
  if (end == val || *end || errno || !(v >= lo && v <= hi)) {
    fprintf(stderr, "dnacl report: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi, val);
    return 0;
  }
  *out = v;
  return 1;
}

int cmd_report(int argc, char **argv) {
  dnacl_report_opts o = dnacl_report_defaults();
  cli_common cc = {0};
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &cc);
    if (r < 0) return 2;
    if (r) continue;
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    double v;
    const char **str = !strcmp(a, "--data")     ? &o.data
                       : !strcmp(a, "--split")  ? &o.split
                       : !strcmp(a, "--db")     ? &o.db
                       : !strcmp(a, "--method") ? &o.method
                       : !strcmp(a, "--out")    ? &o.out
                       : !strcmp(a, "--which")  ? &o.which
                       : !strcmp(a, "--run")    ? &o.run_dir
                                                : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (str) {
      if (!val) {
        fprintf(stderr, "dnacl report: %s needs a value\n", a);
        return 2;
      }
      *str = val;
      i++;
    } else if (!strcmp(a, "--top") || !strcmp(a, "--batch") || !strcmp(a, "--pad") || !strcmp(a, "--crop")) {
      int is_len = !strcmp(a, "--pad") || !strcmp(a, "--crop");
      if (!num_arg(a, val, is_len ? -1 : 1, 1 << 20, &v)) return 2;
      if (v != (double)(int)v) {
        fprintf(stderr, "dnacl report: %s expects a whole number, got '%s'\n", a, val);
        return 2;
      }
      *(!strcmp(a, "--top") ? &o.top : !strcmp(a, "--batch") ? &o.batch : !strcmp(a, "--pad") ? &o.pad_to : &o.crop_to) = (int)v;
      i++;
    } else if (!strcmp(a, "--n-value")) {
      if (!num_arg(a, val, 0, 1, &v)) return 2;
      o.n_value = v;
      i++;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "dnacl report: unknown option or missing value: '%s'\n%s", a, usage);
      return 2;
    } else if (!o.run_dir) {
      o.run_dir = a;
    } else {
      fprintf(stderr, "dnacl report: unexpected argument '%s' (one run directory)\n%s", a, usage);
      return 2;
    }
  }
  /* A misspelt method is a usage error, found before a device is opened. */
  static const char *const methods[] = {"saliency", "gradxinput", "ig", "deeplift", "deepshap", "ism"};
  int known = !o.method;
  for (size_t k = 0; !known && k < sizeof methods / sizeof *methods; k++) known = !strcmp(o.method, methods[k]);
  if (!known) {
    fprintf(stderr, "dnacl report: unknown method '%s' (saliency, gradxinput, ig, deeplift, deepshap, ism)\n", o.method);
    return 2;
  }
  if (!o.run_dir) {
    fprintf(stderr, "dnacl report: a run directory is required\n%s", usage);
    return 2;
  }
  dnacl_ctx *ctx;
  if (dnacl_ctx_create(cc.device, cc.verbose, &ctx) != DNACL_OK) {
    fprintf(stderr, "dnacl report: %s\n", dnacl_last_error());
    return 1;
  }
  dnacl_report_info info;
  int rc = 0;
  if (dnacl_report_write(ctx, &o, &info) != DNACL_OK) {
    fprintf(stderr, "dnacl report: %s\n", dnacl_last_error());
    rc = 1;
  } else {
    fprintf(stderr, "report: %s (%.0f kB): %s\n", info.path, (double)info.bytes / 1024.0, info.summary);
    if (info.sections_missing)
      fprintf(stderr, "report: %d part%s could not be made; the page says why\n", info.sections_missing,
              info.sections_missing == 1 ? "" : "s");
  }
  dnacl_ctx_release(ctx);
  return rc;
}
