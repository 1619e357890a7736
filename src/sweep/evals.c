/* The evaluation registry (evals.h). One entry per evaluation; the order of the table is
 * the order `dnacl sweep` lists them in messages. */
#include "sweep/evals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/score.h"
#include "io/meme.h"
#include "train/loop.h"
#include "train/metrics.h"

const char *const dnacl_attr_methods[] = {"saliency", "ism", "ig", "deepshap", NULL};

/* ---- classification ----------------------------------------------------------------- */

static dnacl_status no_options(const dnacl_sweep *sw, const dnacl_ydoc *d, const dnacl_ynode *key,
                               const dnacl_ynode *opts, dnacl_sweep_eval *e) {
  (void)sw;
  (void)e;
  if (opts && !dnacl_ynode_is_null(opts))
    return dnacl_yerr(d, opts, "evaluation '%s' takes no options; write it as '- %s'", key->value, key->value);
  return DNACL_OK;
}

static int classification_columns(const dnacl_sweep_eval *e, char (*names)[64], int cap) {
  (void)e;
  static const char *const cols[] = {"test_loss", "test_accuracy", "test_auroc", "test_aupr"};
  int n = 0;
  for (; n < 4 && n < cap; n++) snprintf(names[n], 64, "%s", cols[n]);
  return n;
}

/* Mean loss, accuracy, AUROC and AUPR over tasks (as dnacl eval and dnacl score), and every
 * task's values in RUN/eval.tsv, since a 12-task model's mean hides which motifs it
 * learnt. */
static dnacl_status classification_run(const dnacl_eval_env *env, const dnacl_sweep_eval *e, double *values) {
  (void)e;
  const dnacl_seqset *t = env->test;
  int T = t->n_tasks;
  dnacl_task_metrics *per = calloc((size_t)T, sizeof *per);
  if (!per) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  dnacl_task_metrics sum;
  dnacl_status s = dnacl_score_classification(env->ctx, env->model, t, 256, per, &sum);
  if (s == DNACL_OK) {
    values[0] = sum.loss;
    values[1] = sum.accuracy;
    values[2] = sum.auroc;
    values[3] = sum.aupr;
    size_t cap = 256 + (size_t)(T + 1) * 192, u = 0;
    char *buf = malloc(cap);
    if (!buf) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    for (int k = -1; s == DNACL_OK && k < T; k++) {
      const dnacl_task_metrics *m = k < 0 ? &sum : &per[k];
      if (k < 0) u += (size_t)snprintf(buf + u, cap - u, "task\tn\tpositives\tloss\taccuracy\tauroc\taupr\n");
      u += (size_t)snprintf(buf + u, cap - u, "%.60s\t%zu\t%zu\t%.6f\t%.6f\t%.6f\t%.6f\n",
                            k < 0 ? "mean" : t->task_names[k], m->n, m->n_pos, m->loss, m->accuracy, m->auroc,
                            m->aupr);
    }
    if (s == DNACL_OK) {
      char path[4200];
      snprintf(path, sizeof path, "%s/eval.tsv", env->run_dir);
      s = dnacl_write_file_atomic(path, buf, u);
    }
    free(buf);
  }
  free(per);
  return s;
}

/* ---- small option readers ------------------------------------------------------------- */

static dnacl_status opt_int(const dnacl_ydoc *d, const dnacl_ynode *opts, const char *key, long lo, long hi, int *out) {
  const dnacl_ynode *n = dnacl_ymap_get(opts, key);
  if (!n) return DNACL_OK;
  long v;
  DNACL_TRY(dnacl_yget_int(d, n, key, &v));
  if (v < lo || v > hi) return dnacl_yerr(d, n, "'%s' must be between %ld and %ld, got %s", key, lo, hi, n->value);
  *out = (int)v;
  return DNACL_OK;
}

/* lo < v < hi (open) or lo <= v (closed_lo) */
static dnacl_status opt_num(const dnacl_ydoc *d, const dnacl_ynode *opts, const char *key, double lo, double hi,
                            int closed_lo, double *out) {
  const dnacl_ynode *n = dnacl_ymap_get(opts, key);
  if (!n) return DNACL_OK;
  double v;
  DNACL_TRY(dnacl_yget_float(d, n, key, &v));
  if (!(closed_lo ? v >= lo : v > lo) || !(v < hi)) {
    if (isinf(hi)) return dnacl_yerr(d, n, "'%s' must be %s %g, got %s", key, closed_lo ? ">=" : ">", lo, n->value);
    return dnacl_yerr(d, n, "'%s' must be in %c%g, %g), got %s", key, closed_lo ? '[' : '(', lo, hi, n->value);
  }
  *out = v;
  return DNACL_OK;
}

static dnacl_status want_map(const dnacl_ydoc *d, const dnacl_ynode *opts, const char *what, const char *example) {
  if (opts && !dnacl_ynode_is_null(opts) && opts->kind != DNACL_Y_MAP)
    return dnacl_yerr(d, opts, "%s takes a mapping of options (%s), got %s", what, example, dnacl_ynode_describe(opts));
  return DNACL_OK;
}

/* ---- filter match ------------------------------------------------------------------- */

static dnacl_status filter_match_parse(const dnacl_sweep *sw, const dnacl_ydoc *d, const dnacl_ynode *key,
                                       const dnacl_ynode *opts, dnacl_sweep_eval *e) {
  (void)key;
  (void)sw;
  static const char *const keys[] = {"database", "evalue", "threshold", "max_seqs", NULL};
  dnacl_filter_match_opts def = dnacl_filter_match_defaults();
  e->evalue = def.evalue;
  e->threshold = def.threshold;
  e->max_seqs = def.max_seqs;
  DNACL_TRY(want_map(d, opts, "filter_match", "{database: FILE.meme, evalue: 0.1, threshold: 0.5}"));
  if (!opts || opts->kind != DNACL_Y_MAP) return DNACL_OK;
  DNACL_TRY(dnacl_ycheck_keys(d, opts, keys, "filter_match"));
  const dnacl_ynode *n = dnacl_ymap_get(opts, "database");
  if (n) {
    const char *db;
    DNACL_TRY(dnacl_yget_str(d, n, "database", &db));
    if (!(e->database = strdup(db))) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  DNACL_TRY(opt_num(d, opts, "evalue", 0, INFINITY, 0, &e->evalue));
  DNACL_TRY(opt_num(d, opts, "threshold", 0, 1, 1, &e->threshold));
  return opt_int(d, opts, "max_seqs", 0, 100000000, &e->max_seqs);
}

static int filter_match_columns(const dnacl_sweep_eval *e, char (*names)[64], int cap) {
  (void)e;
  static const char *const cols[] = {"filter_match_truth", "filter_match_planted", "filter_match_truth_any",
                                     "filter_match_db"};
  int n = 0;
  for (; n < 4 && n < cap; n++) snprintf(names[n], 64, "%s", cols[n]);
  return n;
}

/* The fractions of explain/score.h, filters aligned on the test sequences (as Koo's
 * activation_pwm on x_test), and RUN/filter_match.tsv: each filter's best hit by name, so
 * a user can see which motifs the filters found. */
static dnacl_status filter_match_run(const dnacl_eval_env *env, const dnacl_sweep_eval *e, double *values) {
  const dnacl_sweep *sw = env->sw;
  /* The database: the one asked for, else the file the simulation drew its motifs from
   * (the sweep's simulate block), else score.h's default. */
  const char *db_path = e->database                                 ? e->database
                        : sw->data.simulate && sw->data.sim.motifs ? sw->data.sim.motifs
                                                                    : DNACL_SCORE_DEFAULT_DB;
  dnacl_motif_set db;
  dnacl_motif_set_init(&db);
  dnacl_sim_motifs truth;
  memset(&truth, 0, sizeof truth);
  dnacl_filter_match fm;
  memset(&fm, 0, sizeof fm);
  dnacl_filter_match_opts o = dnacl_filter_match_defaults();
  o.evalue = e->evalue;
  o.threshold = e->threshold;
  o.max_seqs = e->max_seqs;
  dnacl_status s = dnacl_meme_load(db_path, &db);
  if (s == DNACL_OK && env->truth_path) s = dnacl_sim_motifs_load(env->truth_path, &truth);
  if (s == DNACL_OK)
    s = dnacl_filter_match_compute(env->ctx, env->model, env->test->x, env->test->n, env->truth_path ? &truth : NULL,
                                   &db, &o, &fm);
  if (s == DNACL_OK) {
    values[0] = fm.frac_truth;
    values[1] = fm.frac_planted;
    values[2] = fm.frac_truth_any;
    values[3] = fm.frac_db;
    size_t cap = 1024 + (size_t)fm.n_filters * 256, u = 0;
    char *buf = malloc(cap);
    if (!buf) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    if (s == DNACL_OK) {
      u += (size_t)snprintf(buf + u, cap - u,
                            "# %d filters aligned on %d test sequences (threshold %g), compared with %s (E < %g); "
                            "ground-truth motifs in the database: %d of %d\n"
                            "filter\tsites\tbest_id\tbest_name\tevalue\tsignificant\tmatch\ttruth_any\n",
                            fm.n_filters, fm.n_seqs, o.threshold, db_path, o.evalue, fm.truth_in_db, fm.truth_motifs);
      for (int f = 0; f < fm.n_filters; f++) {
        const dnacl_filter_match_row *r = &fm.rows[f];
        const dnacl_motif *hit = r->best >= 0 && r->best < db.n ? &db.motifs[r->best] : NULL;
        u += (size_t)snprintf(buf + u, cap - u, "%d\t%ld\t%.40s\t%.60s\t%.3g\t%d\t%s\t%d\n", f, r->sites,
                              hit && hit->id ? hit->id : "-", hit && hit->name ? hit->name : "-", r->evalue,
                              r->significant, r->truth == 2 ? "ground_truth" : r->truth == 1 ? "planted" : "-",
                              r->truth_any);
      }
      char path[4200];
      snprintf(path, sizeof path, "%s/filter_match.tsv", env->run_dir);
      s = dnacl_write_file_atomic(path, buf, u);
    }
    free(buf);
  }
  dnacl_filter_match_free(&fm);
  dnacl_sim_motifs_free(&truth);
  dnacl_motif_set_free(&db);
  return s;
}

/* ---- attribution ---------------------------------------------------------------------- */

static dnacl_status attribution_parse(const dnacl_sweep *sw, const dnacl_ydoc *d, const dnacl_ynode *key,
                                      const dnacl_ynode *opts, dnacl_sweep_eval *e) {
  static const char *const keys[] = {"methods", "n", "output", "ig_steps", "ig_refs", "shap_refs", NULL};
  static const char *const outputs[] = {"logit", "probability", NULL};
  dnacl_attr_score_opts def = dnacl_attr_score_defaults();
  e->n = def.n; /* the paper's 500 positive test sequences */
  e->output = def.output == DNACL_EXPLAIN_PROB;
  e->ig_steps = def.ig_steps;
  e->ig_refs = def.ig_refs;
  e->shap_refs = def.shap_refs;
  if (!opts || dnacl_ynode_is_null(opts))
    return dnacl_yerr(d, key, "attribution needs its methods, e.g. '- attribution: {methods: [saliency, ism, ig, deepshap], n: 500}'");
  DNACL_TRY(want_map(d, opts, "attribution", "{methods: [...], n: 500}"));
  DNACL_TRY(dnacl_ycheck_keys(d, opts, keys, "attribution"));
  const dnacl_ynode *m = dnacl_ymap_get(opts, "methods");
  if (!m) return dnacl_yerr(d, key, "attribution is missing 'methods' (a list of: saliency, ism, ig, deepshap)");
  if (m->kind == DNACL_Y_SCALAR && !dnacl_ynode_is_null(m)) {
    int k;
    DNACL_TRY(dnacl_yget_enum(d, m, "methods", dnacl_attr_methods, &k));
    e->methods = 1u << k;
  } else if (m->kind == DNACL_Y_SEQ && m->n > 0) {
    for (int i = 0; i < m->n; i++) {
      int k;
      DNACL_TRY(dnacl_yget_enum(d, m->items[i], "methods", dnacl_attr_methods, &k));
      if (e->methods & (1u << k)) return dnacl_yerr(d, m->items[i], "method '%s' is listed twice", m->items[i]->value);
      e->methods |= 1u << k;
    }
  } else {
    return dnacl_yerr(d, m, "'methods' must be a non-empty list of: saliency, ism, ig, deepshap");
  }
  DNACL_TRY(opt_int(d, opts, "n", 1, 10000000, &e->n));
  DNACL_TRY(opt_int(d, opts, "ig_steps", 1, 10000, &e->ig_steps));
  DNACL_TRY(opt_int(d, opts, "ig_refs", 1, 10000, &e->ig_refs));
  DNACL_TRY(opt_int(d, opts, "shap_refs", 1, 10000, &e->shap_refs));
  const dnacl_ynode *o = dnacl_ymap_get(opts, "output");
  if (o) DNACL_TRY(dnacl_yget_enum(d, o, "output", outputs, &e->output));
  /* Scores are compared with the data's mask position by position. */
  if (sw->data.crop || sw->data.pad)
    return dnacl_yerr(d, key, "attribution scores against the simulated data's mask position by position, so the data "
                              "may not be cropped or padded (remove 'crop'/'pad' under data)");
  return DNACL_OK;
}

static int attribution_columns(const dnacl_sweep_eval *e, char (*names)[64], int cap) {
  int n = 0;
  for (int k = 0; dnacl_attr_methods[k]; k++) {
    if (!(e->methods & (1u << k))) continue;
    if (n < cap) snprintf(names[n++], 64, "attr_%s_auroc", dnacl_attr_methods[k]);
    if (n < cap) snprintf(names[n++], 64, "attr_%s_aupr", dnacl_attr_methods[k]);
  }
  return n;
}

/* Per method the mean per-sequence AUROC and AUPR against the planted-motif mask
 * (explain/score.h), and RUN/attribution.tsv with their spread, the completeness error, the
 * time and, for a method the model does not support, why (its columns are then nan, and
 * the log says so). */
static dnacl_status attribution_run(const dnacl_eval_env *env, const dnacl_sweep_eval *e, double *values) {
  dnacl_attr_score_opts o = dnacl_attr_score_defaults();
  o.n = e->n;
  o.output = e->output ? DNACL_EXPLAIN_PROB : DNACL_EXPLAIN_LOGIT;
  o.ig_steps = e->ig_steps;
  o.ig_refs = e->ig_refs;
  o.shap_refs = e->shap_refs;
  /* o.seed stays fixed: every cell explains the same sequences against the same
   * references, so cells differ only by their models. */
  dnacl_attr_scores sc;
  DNACL_TRY(dnacl_score_attribution(env->ctx, env->model, env->test, env->truth_path,
                                    env->test_split ? env->test_split : "test", e->methods, &o, &sc));
  char buf[8192];
  size_t u = (size_t)snprintf(buf, sizeof buf,
                              "# %d positive test sequences considered, %d scored (%d without and %d with only "
                              "marked positions skipped)%s; output %s\n"
                              "method\tn\tauroc\taupr\tauroc_sd\taupr_sd\tworst_delta\tseconds\trefused\n",
                              sc.considered, sc.scored, sc.skipped_no_mask, sc.skipped_all_mask,
                              sc.restricted ? "; mask restricted to the task's motif" : "",
                              e->output ? "probability" : "logit");
  int k = 0;
  for (int mth = 0; dnacl_attr_methods[mth]; mth++) {
    if (!(e->methods & (1u << mth))) continue;
    const dnacl_attr_score *a = &sc.method[mth];
    values[k++] = a->refused ? NAN : a->auroc;
    values[k++] = a->refused ? NAN : a->aupr;
    if (a->refused && env->log)
      fprintf(env->log, "  attribution %s refused, its columns are nan: %s\n", dnacl_attr_methods[mth], a->reason);
    char reason[520];
    snprintf(reason, sizeof reason, "%s", a->refused ? a->reason : "-");
    for (char *p = reason; *p; p++)
      if (*p == '\t' || *p == '\n') *p = ' ';
    if (u < sizeof buf)
      u += (size_t)snprintf(buf + u, sizeof buf - u, "%s\t%d\t%.6f\t%.6f\t%.6f\t%.6f\t%.3g\t%.2f\t%s\n",
                            dnacl_attr_methods[mth], a->n, a->auroc, a->aupr, a->auroc_sd, a->aupr_sd, a->worst_delta,
                            a->seconds, reason);
  }
  if (u >= sizeof buf) u = sizeof buf - 1;
  char path[4200];
  snprintf(path, sizeof path, "%s/attribution.tsv", env->run_dir);
  return dnacl_write_file_atomic(path, buf, u);
}

/* ---- the registry ---------------------------------------------------------------------- */

static const dnacl_eval_def registry[] = {
    {"classification", "test-split loss, accuracy, AUROC and AUPR (means over tasks; per task in RUN/eval.tsv)",
     NULL, 1, 0, no_options, classification_columns, classification_run},
    {"filter_match",
     "fractions of first-layer filters whose best database match is a ground-truth motif (and more; explain/score.h)",
     NULL, 1, 1, filter_match_parse, filter_match_columns, filter_match_run},
    {"attribution", "attribution AUROC/AUPR against the planted-motif mask, per method (explain/score.h)", NULL, 1, 2,
     attribution_parse, attribution_columns, attribution_run},
};
#define N_REGISTRY (int)(sizeof registry / sizeof registry[0])

const dnacl_eval_def *dnacl_eval_find(const char *name) {
  for (int i = 0; i < N_REGISTRY; i++)
    if (!strcmp(registry[i].name, name)) return &registry[i];
  return NULL;
}

const char *const *dnacl_eval_names(void) {
  static const char *names[N_REGISTRY + 1];
  for (int i = 0; i < N_REGISTRY; i++) names[i] = registry[i].name;
  names[N_REGISTRY] = NULL;
  return names;
}
