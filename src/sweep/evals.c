/* The evaluation registry (evals.h). One entry per evaluation; the order of the table is
 * the order `dnacl sweep` lists them in messages. */
#include "sweep/evals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Mean loss, accuracy, AUROC and AUPR over tasks (as dnacl eval), and every task's values
 * in RUN/eval.tsv, since a 12-task model's mean hides which motifs it learnt. */
static dnacl_status classification_run(const dnacl_eval_env *env, const dnacl_sweep_eval *e, double *values) {
  (void)e;
  const dnacl_seqset *t = env->test;
  int T = t->n_tasks;
  float *logits = malloc((size_t)t->n * (size_t)T * sizeof *logits);
  dnacl_task_metrics *per = calloc((size_t)T, sizeof *per);
  if (!logits || !per) {
    free(logits);
    free(per);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  dnacl_task_metrics sum;
  dnacl_status s = dnacl_predict_logits(env->ctx, env->model, t, 256, logits);
  if (s == DNACL_OK) s = dnacl_metrics_tasks(t->y, logits, (size_t)t->n, T, per, &sum);
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
  free(logits);
  free(per);
  return s;
}

/* ---- filter match ------------------------------------------------------------------- */

static dnacl_status filter_match_parse(const dnacl_sweep *sw, const dnacl_ydoc *d, const dnacl_ynode *key,
                                       const dnacl_ynode *opts, dnacl_sweep_eval *e) {
  (void)key;
  (void)sw;
  static const char *const keys[] = {"database", NULL};
  if (opts && !dnacl_ynode_is_null(opts)) {
    if (opts->kind != DNACL_Y_MAP)
      return dnacl_yerr(d, opts, "filter_match takes a mapping of options ({database: FILE.meme}), got %s",
                        dnacl_ynode_describe(opts));
    DNACL_TRY(dnacl_ycheck_keys(d, opts, keys, "filter_match"));
    const char *db;
    const dnacl_ynode *n = dnacl_ymap_get(opts, "database");
    if (n) {
      DNACL_TRY(dnacl_yget_str(d, n, "database", &db));
      if (!(e->database = strdup(db))) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    }
  }
  return DNACL_OK;
}

static int filter_match_columns(const dnacl_sweep_eval *e, char (*names)[64], int cap) {
  (void)e;
  int n = 0;
  if (n < cap) snprintf(names[n++], 64, "filter_match_truth");
  if (n < cap) snprintf(names[n++], 64, "filter_match_db");
  return n;
}

/* ---- attribution ---------------------------------------------------------------------- */

static dnacl_status attribution_parse(const dnacl_sweep *sw, const dnacl_ydoc *d, const dnacl_ynode *key,
                                      const dnacl_ynode *opts, dnacl_sweep_eval *e) {
  (void)sw;
  static const char *const keys[] = {"methods", "n", NULL};
  e->n = 500; /* the paper's 500 positive test sequences */
  if (!opts || dnacl_ynode_is_null(opts))
    return dnacl_yerr(d, key, "attribution needs its methods, e.g. '- attribution: {methods: [saliency, ism, ig, deepshap], n: 500}'");
  if (opts->kind != DNACL_Y_MAP)
    return dnacl_yerr(d, opts, "attribution takes a mapping of options ({methods: [...], n: 500}), got %s",
                      dnacl_ynode_describe(opts));
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
  const dnacl_ynode *n = dnacl_ymap_get(opts, "n");
  if (n) {
    long v;
    DNACL_TRY(dnacl_yget_int(d, n, "n", &v));
    if (v < 1 || v > 10000000) return dnacl_yerr(d, n, "'n' must be between 1 and 10000000, got %s", n->value);
    e->n = (int)v;
  }
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

/* ---- the registry ---------------------------------------------------------------------- */

static const dnacl_eval_def registry[] = {
    {"classification", "test-split loss, accuracy, AUROC and AUPR (means over tasks; per task in RUN/eval.tsv)",
     NULL, 1, no_options, classification_columns, classification_run},
    {"filter_match",
     "fraction of first-layer filters whose best match is a ground-truth motif, and any database motif",
     "it needs the filter-match scorer of `dnacl score` (issue 5), which is not in this build yet", 0,
     filter_match_parse, filter_match_columns, NULL},
    {"attribution", "attribution AUROC/AUPR against the planted-motif mask, per method",
     "it needs the attribution scorer of `dnacl score` (issue 5), which is not in this build yet", 0,
     attribution_parse, attribution_columns, NULL},
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
