/* dnacl sweep: run the cells of a sweep file (all, or one shard), list them, or merge the
 * results of shards; see src/sweep/sweep.h for the output directory and
 * src/sweep/out_dir.h for what binds it to a sweep. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "sweep/evals.h"
#include "sweep/sweep.h"

static const char *usage =
    "usage: dnacl sweep FILE --out DIR [options]     run the sweep's cells into DIR (again: the unfinished ones)\n"
    "       dnacl sweep FILE --dry-run [--out DIR]   list the cells (and, with DIR, which are finished)\n"
    "       dnacl sweep collect DIR... --out DIR2    merge shard directories: one results table, and\n"
    "                                                DIR2/runs/<cell id> linked to each cell's run\n"
    "  --shard I/N           only the cells whose index % N == I-1 (N machines, one shard each)\n"
    "  --retry-failed        run cells again whose row says failed\n"
    "  --device INDEX|NAME   --verbose\n"
    "Files in DIR: results.tsv (one row per finished cell), summary.svg, runs/<cell id>/, cells.tsv, sweep.id.\n"
    "DIR is bound to the content of the data files and the settings every cell shares: a change there\n"
    "is refused, naming it. A grown sweep file (more trials, grid values, models) runs only its new cells.\n"
    "The schema of sweep files: yaml/sweeps/README.md; clusters: docs/slurm.md\n";

static void on_signal(int sig) {
  (void)sig;
  dnacl_sweep_interrupt();
}

static int parse_shard(const char *v, int *k, int *n) {
  char extra;
  if (sscanf(v, "%d/%d%c", k, n, &extra) != 2 || *n < 1 || *k < 1 || *k > *n || *n > 100000) {
    fprintf(stderr, "dnacl sweep: --shard is I/N with 1 <= I <= N (e.g. 2/8), got '%s'\n", v);
    return 0;
  }
  return 1;
}

static int cmd_collect(int argc, char **argv) {
  const char *out = NULL;
  const char **dirs = calloc((size_t)argc, sizeof *dirs);
  int n = 0;
  if (!dirs) return 1;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage, stdout);
      free(dirs);
      return 0;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "dnacl sweep collect: unknown option or missing value: '%s'\n%s", argv[i], usage);
      free(dirs);
      return 2;
    } else dirs[n++] = argv[i];
  }
  if (!out || n == 0) {
    fprintf(stderr, "dnacl sweep collect: give the shard directories and --out DIR\n%s", usage);
    free(dirs);
    return 2;
  }
  int rows = 0, cells = 0;
  dnacl_status s = dnacl_sweep_collect(dirs, n, out, stdout, &rows, &cells);
  free(dirs);
  if (s != DNACL_OK) {
    fprintf(stderr, "dnacl sweep collect: %s\n", dnacl_last_error());
    return 1;
  }
  return 0;
}

static int dry_run(const dnacl_sweep *sw, const char *out, int shard, int n_shards) {
  int *state = calloc((size_t)sw->n_cells, sizeof *state);
  if (!state) return 1;
  if (dnacl_sweep_states(sw, out, state) != DNACL_OK) {
    fprintf(stderr, "dnacl sweep: %s\n", dnacl_last_error());
    free(state);
    return 1;
  }
  char shape[512];
  dnacl_sweep_shape(sw, shape, sizeof shape);
  printf("# sweep %s (%s), id %s: %d cells = %s\n", sw->name, sw->path, sw->id, sw->n_cells, shape);
  printf("# input files: %.1f MB, their content hashed in %.2f s (the id follows it)\n", sw->input_bytes / 1e6,
         sw->hash_s);
  if (sw->expected_time) printf("# expected time: %s\n", sw->expected_time);
  printf("# evaluations:");
  for (int e = 0; e < sw->n_evals; e++) printf(" %s", sw->evals[e].def->name);
  printf("\n");
  for (int c = 0; c < sw->first_metric - 1; c++) printf("%s\t", sw->columns[c]);
  printf("state\n");
  int listed = 0, done = 0;
  for (int i = 0; i < sw->n_cells; i++) {
    if (!dnacl_sweep_in_shard(i, shard, n_shards)) continue;
    dnacl_sweep_cell c;
    if (dnacl_sweep_cell_at(sw, i, &c) != DNACL_OK) break;
    char line[4096];
    dnacl_sweep_cell_params(sw, &c, line, sizeof line);
    printf("%s\t%s\n", line, state[i] == 1 ? "done" : state[i] == 2 ? "failed" : "pending");
    listed++;
    done += state[i] == 1;
  }
  if (n_shards > 1) printf("# shard %d/%d: %d of the %d cells\n", shard, n_shards, listed, sw->n_cells);
  if (out) printf("# %d of these finished in %s\n", done, out);
  free(state);
  return 0;
}

int cmd_sweep(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "collect")) return cmd_collect(argc, argv);
  cli_common cc = {0};
  const char *file = NULL, *out = NULL;
  int dry = 0, shard = 1, n_shards = 1, retry = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &cc);
    if (r < 0) return 2;
    if (r) continue;
    const char *a = argv[i];
    if (!strcmp(a, "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(a, "--dry-run")) dry = 1;
    else if (!strcmp(a, "--retry-failed")) retry = 1;
    else if (!strcmp(a, "--shard") && i + 1 < argc) {
      if (!parse_shard(argv[++i], &shard, &n_shards)) return 2;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (a[0] != '-' && !file) {
      file = a;
    } else {
      fprintf(stderr, "dnacl sweep: unknown option or missing value: '%s'\n%s", a, usage);
      return 2;
    }
  }
  if (!file) {
    fprintf(stderr, "dnacl sweep: give a sweep file\n%s", usage);
    return 2;
  }
  if (!dry && !out) {
    fprintf(stderr, "dnacl sweep: --out DIR is required (or --dry-run to list the cells)\n%s", usage);
    return 2;
  }
  dnacl_sweep sw;
  if (dnacl_sweep_load(file, &sw) != DNACL_OK) {
    fprintf(stderr, "dnacl sweep: %s\n", dnacl_last_error());
    return 1;
  }
  if (dry) {
    int rc = dry_run(&sw, out, shard, n_shards);
    dnacl_sweep_free(&sw);
    return rc;
  }
  dnacl_ctx *ctx;
  if (dnacl_ctx_create(cc.device, cc.verbose, &ctx) != DNACL_OK) {
    fprintf(stderr, "dnacl sweep: %s\n", dnacl_last_error());
    dnacl_sweep_free(&sw);
    return 1;
  }
  /* Slurm sends SIGTERM at a job's time limit: stop cleanly and keep the finished rows. */
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  dnacl_sweep_opts o = {.shard = shard, .n_shards = n_shards, .retry_failed = retry, .log = stderr};
  dnacl_sweep_report rep;
  dnacl_status s = dnacl_sweep_run(ctx, &sw, out, &o, &rep);
  dnacl_ctx_release(ctx);
  dnacl_sweep_free(&sw);
  if (s != DNACL_OK) {
    fprintf(stderr, "dnacl sweep: %s\n", dnacl_last_error());
    return dnacl_sweep_interrupted() ? 130 : 1;
  }
  printf("%d cell(s) run, %d already finished, %d failed; results in %s/results.tsv, figure in %s/summary.svg\n", rep.ran,
         rep.already, rep.failed, out, out);
  if (rep.failed)
    fprintf(stderr, "dnacl sweep: %d cell(s) failed (runs/<id>/error.txt); run again with --retry-failed after a fix\n",
            rep.failed);
  return rep.failed ? 1 : 0;
}
