/* Running a sweep: the output directory's identity and lock (out_dir.c), the data, the
 * cells of one shard in index order, and the results table after every cell (sweep.h). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/simulate.h"
#include "sweep/evals.h"
#include "sweep/out_dir.h"
#include "sweep/override.h"
#include "sweep/sweep.h"

static volatile sig_atomic_t stop_flag;

void dnacl_sweep_interrupt(void) {
  stop_flag = 1;
  dnacl_train_interrupt();
}

int dnacl_sweep_interrupted(void) { return stop_flag; }

static void logf_(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(FILE *log, const char *fmt, ...) {
  if (!log) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(log, fmt, ap);
  va_end(ap);
  fflush(log);
}

static int row_failed(const dnacl_sweep *sw, const char *line) {
  char st[32];
  return dnacl_tsv_field(line, sw->first_metric - 1, st, sizeof st) && strcmp(st, "ok") != 0;
}

dnacl_status dnacl_sweep_states(const dnacl_sweep *sw, const char *out_dir, int *state) {
  for (int i = 0; i < sw->n_cells; i++) state[i] = 0;
  if (!out_dir) return DNACL_OK;
  int exists;
  DNACL_TRY(dnacl_sweep_check_dir(sw, out_dir, &exists));
  if (!exists) return DNACL_OK;
  dnacl_results r;
  DNACL_TRY(dnacl_sweep_load_placed(sw, out_dir, &r, NULL));
  for (int i = 0; i < r.n; i++) state[r.rows[i].cell] = row_failed(sw, r.rows[i].line) ? 2 : 1;
  dnacl_results_free(&r);
  return DNACL_OK;
}

/* ---- data ------------------------------------------------------------------------------------- */

/* The path of the data to train on: the file, or the simulated data made once per output
 * directory. */
static dnacl_status prepare_data(const dnacl_sweep *sw, const char *dir, FILE *log, char **data_path) {
  *data_path = NULL;
  if (!sw->data.simulate) {
    if (!(*data_path = strdup(sw->data.file))) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    return DNACL_OK;
  }
  /* Generated once per output directory. The directory is bound to the sweep's id, which
   * covers the simulate block, so a data.h5 found here was made from these settings; the
   * simulator writes under a temporary name, so it is never half a file. Shards each make
   * their own copy: the same seed gives the same file on every machine. */
  size_t n = strlen(dir) + 16;
  char *path = malloc(n);
  if (!path) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  snprintf(path, n, "%s/data.h5", dir);
  if (access(path, R_OK) != 0) {
    dnacl_sim_task task;
    dnacl_status s = dnacl_sim_task_parse(sw->data.sim.task, &task);
    if (s != DNACL_OK) {
      free(path);
      return s;
    }
    dnacl_sim_cfg cfg = dnacl_sim_defaults(task);
    cfg.n = sw->data.sim.n;
    cfg.length = sw->data.sim.length;
    cfg.seed = (uint64_t)sw->data.sim.seed;
    if (sw->data.sim.motifs) cfg.motifs_path = sw->data.sim.motifs;
    double t0 = dnacl_now_s();
    s = dnacl_simulate(&cfg, path);
    if (s != DNACL_OK) {
      char msg[4096];
      snprintf(msg, sizeof msg, "%s", dnacl_last_error());
      free(path);
      return dnacl_yerr(&sw->doc, sw->data.sim_at, "cannot make the simulated data: %s", msg);
    }
    logf_(log, "simulated %s: %d x %d bp (%s, seed %d) in %.1f s\n", path, cfg.n, cfg.length,
            sw->data.sim.task, sw->data.sim.seed, dnacl_now_s() - t0);
  }
  *data_path = path;
  return DNACL_OK;
}

/* The test split the evaluations score on: data.test, else the data's own test split.
 * *path and *split say where it came from (the ground truth is read from the same). */
static dnacl_status load_test(const dnacl_sweep *sw, const char *data_path, dnacl_seqset *test, const char **path,
                              const char **split) {
  dnacl_load_opts lo = dnacl_load_opts_default();
  lo.n_value = (float)sw->data.n_value;
  lo.crop_to = sw->data.crop;
  lo.pad_to = sw->data.pad;
  lo.labels_tsv = sw->data.labels;
  lo.tf = sw->data.tf;
  *path = sw->data.test ? sw->data.test : data_path;
  int has = 0;
  DNACL_TRY(dnacl_seqset_has_split(*path, "test", &has));
  if (!has && !sw->data.test)
    return dnacl_yerr(&sw->doc, sw->data.at,
                      "%s has no test split, which the evaluations score on; give one with 'test: FILE' under data",
                      *path);
  lo.split = *split = has ? "test" : NULL;
  return dnacl_seqset_load(*path, &lo, test);
}

/* Whether the test data holds dnacl simulate's ground truth, which filter_match uses when
 * present and attribution needs: checked once, before any cell runs. */
static dnacl_status check_truth(const dnacl_sweep *sw, const char *path, const char *split, FILE *log,
                                const char **truth_path) {
  *truth_path = NULL;
  int need = 0;
  const dnacl_sweep_eval *required = NULL;
  for (int e = 0; e < sw->n_evals; e++) {
    if (sw->evals[e].def->needs_truth > need) need = sw->evals[e].def->needs_truth;
    if (sw->evals[e].def->needs_truth == 2 && !required) required = &sw->evals[e];
  }
  if (!need) return DNACL_OK;
  dnacl_truth t;
  dnacl_sim_motifs m;
  memset(&m, 0, sizeof m);
  dnacl_status s = split ? dnacl_truth_load(path, split, &t)
                         : dnacl_fail(DNACL_ERR_ARG, "%s has no test split to take the ground truth from", path);
  if (s == DNACL_OK) {
    dnacl_truth_free(&t);
    s = dnacl_sim_motifs_load(path, &m);
    dnacl_sim_motifs_free(&m);
  }
  if (s == DNACL_OK) {
    *truth_path = path;
    return DNACL_OK;
  }
  char msg[2048];
  snprintf(msg, sizeof msg, "%s", dnacl_last_error());
  if (required)
    return dnacl_yerr(&sw->doc, required->at,
                      "evaluation '%s' needs the ground truth of simulated data (a 'simulate:' block, or a file made by "
                      "dnacl simulate): %s",
                      required->def->name, msg);
  logf_(log, "note: %s holds no ground truth (%s): filter_match_truth and filter_match_planted will be nan\n", path,
        msg);
  return DNACL_OK;
}

/* ---- one cell ------------------------------------------------------------------------------------ */

/* The step of the best validation value in RUN/metrics.tsv (the checkpoint evaluated),
 * found by column name; -1 if there is none. */
static long best_step(const char *run_dir, const char *monitor) {
  char path[4400], col[64], buf[64];
  snprintf(path, sizeof path, "%s/metrics.tsv", run_dir);
  snprintf(col, sizeof col, "valid_%s", monitor);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[1024];
  int k = -1;
  long best = -1;
  double bv = -INFINITY;
  if (fgets(line, sizeof line, f)) {
    for (int i = 0; dnacl_tsv_field(line, i, buf, sizeof buf); i++)
      if (!strcmp(buf, col)) k = i;
  }
  while (k >= 0 && fgets(line, sizeof line, f)) {
    if (!dnacl_tsv_field(line, k, buf, sizeof buf)) continue;
    double v = atof(buf);
    if (best < 0 || v > bv) { /* the first of equal values, as the training loop keeps it */
      bv = v;
      dnacl_tsv_field(line, 0, buf, sizeof buf);
      best = atol(buf);
    }
  }
  fclose(f);
  return best;
}

/* Errors that belong to a cell's own settings: it gets a failed row and the sweep goes
 * on. Anything else (files, memory, the device) would fail every cell after it too. */
static int cell_level(dnacl_status s) {
  return s == DNACL_ERR_ARG || s == DNACL_ERR_SHAPE || s == DNACL_ERR_UNSUPPORTED;
}

static void clean_field(char *s) {
  for (; *s; s++)
    if (*s == '\t' || *s == '\n' || *s == '\r') *s = ' ';
}

typedef struct runner {
  dnacl_ctx *ctx;
  const dnacl_sweep *sw;
  const char *dir;
  const char *data_path;
  const dnacl_seqset *test;
  const char *test_path, *test_split, *truth_path;
  dnacl_results results;
  FILE *log;
} runner;

static dnacl_status run_cell(runner *R, const dnacl_sweep_cell *c, int *failed) {
  const dnacl_sweep *sw = R->sw;
  *failed = 0;
  char run_dir[4200], model_path[4400];
  snprintf(run_dir, sizeof run_dir, "%s/runs/%s", R->dir, c->id);
  snprintf(model_path, sizeof model_path, "%s/model.yaml", run_dir);
  /* Whatever a killed run left here is not a result: start the cell clean. */
  DNACL_TRY(dnacl_rmtree(run_dir));
  DNACL_TRY(dnacl_mkdirs(run_dir));
  double t0 = dnacl_now_s();
  dnacl_model_spec spec;
  DNACL_TRY(dnacl_sweep_cell_spec(sw, c, &spec));
  dnacl_status s = dnacl_write_file_atomic(model_path, spec.text, strlen(spec.text));
  dnacl_model_spec_free(&spec);
  if (s != DNACL_OK) return s;
  dnacl_train_cfg cfg;
  DNACL_TRY(dnacl_sweep_cell_cfg(sw, c, model_path, run_dir, &cfg));
  cfg.data_path = R->data_path;

  double values[DNACL_SWEEP_MAX_COLS];
  for (int i = 0; i < sw->n_metrics; i++) values[i] = NAN;
  s = dnacl_train_run(R->ctx, &cfg);
  if (stop_flag) return dnacl_fail(DNACL_ERR_INTERRUPTED, "interrupted");
  dnacl_model *m = NULL;
  if (s == DNACL_OK) s = dnacl_run_load(R->ctx, run_dir, "best", &m);
  dnacl_eval_env env = {R->ctx, m, R->test, R->test_path, R->test_split, R->truth_path, run_dir, sw, R->log};
  for (int e = 0, k = 0; s == DNACL_OK && e < sw->n_evals; e++) {
    const dnacl_sweep_eval *ev = &sw->evals[e];
    char names[32][64];
    int nk = ev->def->columns(ev, names, 32);
    s = ev->def->run(&env, ev, values + k);
    k += nk;
    if (stop_flag) s = dnacl_fail(DNACL_ERR_INTERRUPTED, "interrupted");
  }
  dnacl_model_free(m);
  if (stop_flag) return dnacl_fail(DNACL_ERR_INTERRUPTED, "interrupted");
  if (s != DNACL_OK && !cell_level(s)) return s;

  char err[2048] = "";
  if (s != DNACL_OK) {
    *failed = 1;
    snprintf(err, sizeof err, "%s", dnacl_last_error());
    char path[4400];
    snprintf(path, sizeof path, "%s/error.txt", run_dir);
    char msg[2100];
    int n = snprintf(msg, sizeof msg, "%s\n", err);
    DNACL_TRY(dnacl_write_file_atomic(path, msg, (size_t)n));
    clean_field(err);
  }
  double wall = dnacl_now_s() - t0;
  char line[8192], dev[160];
  snprintf(dev, sizeof dev, "%s", dnacl_ctx_device(R->ctx)->name);
  clean_field(dev);
  dnacl_sweep_cell_params(sw, c, line, sizeof line);
  size_t u = strlen(line);
  u += (size_t)snprintf(line + u, sizeof line - u, "\t%s", *failed ? "failed" : "ok");
  for (int i = 0; i < sw->n_metrics && u < sizeof line; i++)
    u += (size_t)snprintf(line + u, sizeof line - u, isnan(values[i]) ? "\tnan" : "\t%.6f", values[i]);
  if (u < sizeof line)
    u += (size_t)snprintf(line + u, sizeof line - u, "\t%ld\t%.1f\t%s",
                          *failed ? -1L : best_step(run_dir, cfg.monitor), wall, dev);
  if (u >= sizeof line) return dnacl_fail(DNACL_ERR_ARG, "cell %d: the results row is too long", c->index);

  char path[4200];
  snprintf(path, sizeof path, "%s/results.tsv", R->dir);
  DNACL_TRY(dnacl_results_put(&R->results, c->index, line));
  DNACL_TRY(dnacl_results_save(path, &R->results));

  if (*failed) {
    logf_(R->log, "  FAILED after %.1f s: %s (runs/%s/error.txt)\n", wall, err, c->id);
  } else {
    logf_(R->log, "  done in %.1f s:", wall);
    for (int i = 0; i < sw->n_metrics && i < 8; i++) logf_(R->log, " %s %.4f", sw->columns[sw->first_metric + i], values[i]);
    logf_(R->log, "%s\n", sw->n_metrics > 8 ? " ..." : "");
  }
  return DNACL_OK;
}

/* Build every model of the cells to run once, before the first one trains: a shape that
 * cannot work, or a model whose input or outputs do not fit the data, is found in
 * seconds rather than hours into the sweep. */
static dnacl_status precheck(runner *R, const int *pending, int n_pending) {
  const dnacl_sweep *sw = R->sw;
  char **seen = calloc((size_t)n_pending + 1, sizeof *seen);
  if (!seen) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  int n_seen = 0;
  dnacl_status s = DNACL_OK;
  for (int t = 0; t < n_pending && s == DNACL_OK; t++) {
    dnacl_sweep_cell c;
    dnacl_model_spec spec, fresh;
    s = dnacl_sweep_cell_at(sw, pending[t], &c);
    if (s == DNACL_OK) s = dnacl_sweep_cell_spec(sw, &c, &spec);
    if (s != DNACL_OK) break;
    int dup = 0;
    for (int j = 0; j < n_seen && !dup; j++) dup = !strcmp(seen[j], spec.text);
    if (dup) {
      dnacl_model_spec_free(&spec);
      continue;
    }
    char label[600];
    snprintf(label, sizeof label, "runs/%s/model.yaml", c.id);
    s = dnacl_model_spec_parse(label, spec.text, &fresh);
    seen[n_seen] = spec.text;
    spec.text = NULL;
    n_seen++;
    dnacl_model_spec_free(&spec);
    dnacl_model *m = NULL;
    int tasks = s == DNACL_OK ? fresh.tasks : 0;
    if (s == DNACL_OK) s = dnacl_model_build(R->ctx, &fresh, &m);
    if (s == DNACL_OK && R->test && (m->length != R->test->length || tasks != R->test->n_tasks))
      s = dnacl_fail(DNACL_ERR_SHAPE,
                     "model %s takes length %d with %d output(s), but the test data has length %d and %d label "
                     "column(s); fix 'crop'/'pad' under data or the model",
                     m->spec.name, m->length, tasks, R->test->length, R->test->n_tasks);
    dnacl_model_free(m);
    if (s != DNACL_OK) {
      char msg[4096];
      snprintf(msg, sizeof msg, "%s", dnacl_last_error());
      s = dnacl_fail(s, "cell %d (%s): %s", c.index, c.id, msg);
    }
  }
  for (int j = 0; j < n_seen; j++) free(seen[j]);
  free(seen);
  return s;
}

dnacl_status dnacl_sweep_run(dnacl_ctx *ctx, const dnacl_sweep *sw, const char *out_dir, const dnacl_sweep_opts *o,
                             dnacl_sweep_report *rep) {
  memset(rep, 0, sizeof *rep);
  stop_flag = 0;
  int shard = o && o->n_shards > 1 ? o->shard : 1, n_shards = o && o->n_shards > 1 ? o->n_shards : 1;
  if (shard < 1 || shard > n_shards)
    return dnacl_fail(DNACL_ERR_ARG, "shard %d/%d: the shard must be between 1 and %d", shard, n_shards, n_shards);
  FILE *log = o ? o->log : NULL;
  DNACL_TRY(dnacl_mkdirs(out_dir));
  int lock = -1;
  DNACL_TRY(dnacl_sweep_lock(out_dir, &lock));
  runner R;
  memset(&R, 0, sizeof R);
  R.ctx = ctx;
  R.sw = sw;
  R.dir = out_dir;
  R.log = log;
  dnacl_seqset test;
  memset(&test, 0, sizeof test);
  char *data_path = NULL;
  int *pending = malloc((size_t)sw->n_cells * sizeof *pending);
  int exists = 0, n_pending = 0, renumbered = 0;
  char runs[4200], summary[4200];
  snprintf(runs, sizeof runs, "%s/runs", out_dir);
  snprintf(summary, sizeof summary, "%s/summary.svg", out_dir);
  dnacl_status s = pending ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  /* Everything that can refuse the directory reads only; then the identity of this sweep
   * (the same, or grown) is written, and the table renumbered to the grown grid. */
  if (s == DNACL_OK) s = dnacl_sweep_check_dir(sw, out_dir, &exists);
  if (s == DNACL_OK) s = dnacl_sweep_load_placed(sw, out_dir, &R.results, &renumbered);
  if (s == DNACL_OK) s = dnacl_sweep_write_identity(sw, out_dir);
  if (s == DNACL_OK) s = dnacl_mkdirs(runs);
  if (s == DNACL_OK && renumbered) {
    char path[4200];
    snprintf(path, sizeof path, "%s/results.tsv", out_dir);
    s = dnacl_results_save(path, &R.results);
    if (s == DNACL_OK) s = dnacl_sweep_summary_svg(summary, sw->name, &R.results);
    if (s == DNACL_OK)
      logf_(log, "the grid grew: %d finished row(s) of %s/results.tsv renumbered to their cells' new indices\n",
            renumbered, out_dir);
  }
  for (int i = 0; s == DNACL_OK && i < sw->n_cells; i++) {
    if (!dnacl_sweep_in_shard(i, shard, n_shards)) continue;
    rep->in_shard++;
    int at = dnacl_results_find(&R.results, i);
    if (at >= 0 && !(o && o->retry_failed && row_failed(sw, R.results.rows[at].line))) {
      rep->already++;
      continue;
    }
    pending[n_pending++] = i;
  }
  char shape[512];
  dnacl_sweep_shape(sw, shape, sizeof shape);
  if (s == DNACL_OK)
    logf_(log, "sweep %s (id %s; %.1f MB of input files hashed in %.2f s): %d cells (%s); shard %d/%d has %d, %d "
               "finished before, %d to run\n",
          sw->name, sw->id, sw->input_bytes / 1e6, sw->hash_s, sw->n_cells, shape, shard, n_shards, rep->in_shard,
          rep->already, n_pending);
  if (s == DNACL_OK && n_pending > 0) {
    s = prepare_data(sw, out_dir, log, &data_path);
    R.data_path = data_path;
    int need_test = 0;
    for (int e = 0; e < sw->n_evals; e++) need_test |= sw->evals[e].def->needs_test;
    if (s == DNACL_OK && need_test) {
      s = load_test(sw, data_path, &test, &R.test_path, &R.test_split);
      R.test = &test;
      if (s == DNACL_OK) s = check_truth(sw, R.test_path, R.test_split, log, &R.truth_path);
    }
    if (s == DNACL_OK) s = precheck(&R, pending, n_pending);
  }
  for (int t = 0; s == DNACL_OK && t < n_pending; t++) {
    if (stop_flag) {
      s = dnacl_fail(DNACL_ERR_INTERRUPTED, "interrupted");
      break;
    }
    dnacl_sweep_cell c;
    s = dnacl_sweep_cell_at(sw, pending[t], &c);
    if (s != DNACL_OK) break;
    logf_(log, "[%d/%d] cell %d %s\n", t + 1, n_pending, c.index, c.id);
    int failed = 0;
    s = run_cell(&R, &c, &failed);
    if (s == DNACL_OK) {
      rep->ran++;
      rep->failed += failed;
      s = dnacl_sweep_summary_svg(summary, sw->name, &R.results);
    }
  }
  if (s == DNACL_OK && n_pending == 0 && R.results.n > 0) {
    struct stat st;
    if (stat(summary, &st) != 0) s = dnacl_sweep_summary_svg(summary, sw->name, &R.results);
  }
  if (stop_flag && (s == DNACL_OK || s == DNACL_ERR_ARG || s == DNACL_ERR_INTERRUPTED))
    s = dnacl_fail(DNACL_ERR_INTERRUPTED, "interrupted: %d cell(s) of this run finished and are in %s/results.tsv; run the same "
                                  "command again to continue",
                   rep->ran, out_dir);
  dnacl_results_free(&R.results);
  dnacl_seqset_free(&test);
  free(data_path);
  free(pending);
  close(lock);
  return s;
}
