/* Interpretability metrics against ground truth (the definitions are in score.h). Host code
 * around the explainers, the filter alignment and the TomTom-style comparison; nothing here
 * re-implements a model pass. */
#include "explain/score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "explain/filters.h"
#include "explain/tomtom.h"
#include "train/loop.h"

/* Sequences explained per call: memory stays flat in n (IG holds refs x CHUNK rows). */
#define CHUNK 64

/* Streams of dnacl_seed_mix: the same as dnacl explain's (cmd_explain.c), so that a
 * sequence gets the same references there and here. */
#define STREAM_IG 0x16
#define STREAM_SHAP 0x5A

const char *const dnacl_score_method_names[] = {"saliency", "ism", "ig", "deepshap", NULL};

/* ---- classification ------------------------------------------------------------------- */

dnacl_status dnacl_score_classification(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, int batch,
                                        dnacl_task_metrics *per_task, dnacl_task_metrics *mean) {
  if (!set->n_tasks || !set->y) return dnacl_fail(DNACL_ERR_ARG, "classification needs labelled sequences");
  if (set->n_tasks != m->spec.tasks)
    return dnacl_fail(DNACL_ERR_ARG, "the data has %d label column(s) but the model predicts %d task(s)",
                      set->n_tasks, m->spec.tasks);
  float *logits = malloc((size_t)set->n * (size_t)set->n_tasks * sizeof *logits);
  if (!logits) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  dnacl_status s = dnacl_predict_logits(ctx, m, set, batch > 0 ? batch : 256, logits);
  if (s == DNACL_OK) s = dnacl_metrics_tasks(set->y, logits, (size_t)set->n, set->n_tasks, per_task, mean);
  free(logits);
  return s;
}

/* ---- filter match --------------------------------------------------------------------- */

dnacl_filter_match_opts dnacl_filter_match_defaults(void) {
  dnacl_filter_match_opts o = {0.1, 0.5, 0.1, 5, 0, 0};
  return o;
}

void dnacl_filter_match_free(dnacl_filter_match *fm) {
  if (!fm) return;
  free(fm->rows);
  memset(fm, 0, sizeof *fm);
}

/* Whether database motif d is motif (id, name) of the truth list (see score.h). */
static int same_motif(const dnacl_motif *d, const char *id, const char *name) {
  if (d->id && id && !strcmp(d->id, id)) return 1;
  /* JASPAR ids are BASE.VERSION: another version of the same matrix is the same factor. */
  const char *da = d->id ? strchr(d->id, '.') : NULL, *ta = id ? strchr(id, '.') : NULL;
  if (da && ta && da > d->id && da - d->id == ta - id && !strncmp(d->id, id, (size_t)(da - d->id))) return 1;
  if (d->name && name && *name && !strcasecmp(d->name, name)) return 1;
  return 0;
}

dnacl_status dnacl_filter_match_compute(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n,
                                        const dnacl_sim_motifs *truth, const dnacl_motif_set *db,
                                        const dnacl_filter_match_opts *o, dnacl_filter_match *out) {
  memset(out, 0, sizeof *out);
  dnacl_filter_match_opts op = o ? *o : dnacl_filter_match_defaults();
  if (!(op.evalue > 0)) return dnacl_fail(DNACL_ERR_ARG, "filter match: the E-value threshold must be > 0, got %g", op.evalue);
  if (!(op.pseudocount >= 0)) return dnacl_fail(DNACL_ERR_ARG, "filter match: pseudocount %g must be >= 0", op.pseudocount);
  if (op.max_seqs > 0 && op.max_seqs < n) n = op.max_seqs;
  dnacl_filter_layer fl;
  DNACL_TRY(dnacl_filter_layer_find(m, &fl));
  if (!db || db->n < 1) return dnacl_fail(DNACL_ERR_ARG, "filter match: the motif database is empty");

  /* Class of every database motif: 2 ground truth (role 1), 1 another planted motif, 0. */
  int *cls = calloc((size_t)db->n, sizeof *cls);
  int *found = truth ? calloc((size_t)truth->n + 1, sizeof *found) : NULL;
  if (!cls || (truth && !found)) {
    free(cls);
    free(found);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  for (int j = 0; truth && j < db->n; j++)
    for (int k = 0; k < truth->n; k++)
      if (same_motif(&db->motifs[j], truth->ids[k], truth->names[k])) {
        int c = truth->role[k] ? 2 : 1;
        if (c > cls[j]) cls[j] = c;
        if (truth->role[k]) found[k] = 1;
      }
  if (truth)
    for (int k = 0; k < truth->n; k++) {
      out->truth_motifs += truth->role[k] != 0;
      out->truth_in_db += truth->role[k] && found[k];
    }
  free(found);

  dnacl_filter_counts cnt;
  memset(&cnt, 0, sizeof cnt);
  dnacl_tomtom_db *tdb = NULL;
  dnacl_tomtom_hit *hits = malloc((size_t)db->n * sizeof *hits);
  double *p = malloc((size_t)fl.kernel * 4 * sizeof *p);
  out->rows = calloc((size_t)fl.n_filters, sizeof *out->rows);
  dnacl_status s = (hits && p && out->rows) ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s == DNACL_OK) {
    dnacl_tomtom_opts to = dnacl_tomtom_defaults();
    to.min_overlap = op.min_overlap;
    to.both_strands = db->strands == 2;
    s = dnacl_tomtom_db_new(db, &to, &tdb);
  }
  if (s == DNACL_OK) s = dnacl_filter_align(ctx, m, x, n, op.threshold, op.batch, &cnt);
  out->n_filters = fl.n_filters;
  out->n_seqs = n;
  for (int f = 0; s == DNACL_OK && f < fl.n_filters; f++) {
    dnacl_filter_match_row *r = &out->rows[f];
    r->sites = cnt.nsites[f];
    r->best = -1;
    r->evalue = NAN;
    if (!r->sites) continue;
    out->n_with_sites++;
    dnacl_filter_pfm(&cnt, f, op.pseudocount, p);
    int b;
    s = dnacl_tomtom_query(tdb, p, fl.kernel, hits, &b);
    if (s != DNACL_OK) break;
    r->best = b;
    r->evalue = hits[b].evalue;
    r->significant = hits[b].evalue < op.evalue;
    if (r->significant) r->truth = cls[b];
    for (int t = 0; t < db->n; t++)
      if (hits[t].evalue < op.evalue && cls[t] == 2) r->truth_any = 1;
    out->n_db += r->significant;
    out->n_truth += r->truth == 2;
    out->n_planted += r->truth >= 1;
    out->n_truth_any += r->truth_any;
  }
  if (s == DNACL_OK) {
    double F = out->n_filters;
    out->frac_db = out->n_db / F;
    out->frac_truth = truth ? out->n_truth / F : NAN;
    out->frac_planted = truth ? out->n_planted / F : NAN;
    out->frac_truth_any = truth ? out->n_truth_any / F : NAN;
  } else {
    dnacl_filter_match_free(out);
  }
  dnacl_filter_counts_free(&cnt);
  dnacl_tomtom_db_free(tdb);
  free(hits);
  free(p);
  free(cls);
  return s;
}

dnacl_status dnacl_score_filter_match(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, const char *data_path,
                                      const char *db_path, const dnacl_filter_match_opts *o, dnacl_filter_match *out) {
  memset(out, 0, sizeof *out);
  dnacl_sim_motifs truth;
  memset(&truth, 0, sizeof truth);
  dnacl_motif_set db;
  dnacl_motif_set_init(&db);
  dnacl_status s = DNACL_OK;
  if (data_path) s = dnacl_sim_motifs_load(data_path, &truth);
  if (s == DNACL_OK) s = dnacl_meme_load(db_path ? db_path : DNACL_SCORE_DEFAULT_DB, &db);
  if (s == DNACL_OK) s = dnacl_filter_match_compute(ctx, m, set->x, set->n, data_path ? &truth : NULL, &db, o, out);
  dnacl_motif_set_free(&db);
  dnacl_sim_motifs_free(&truth);
  return s;
}

/* ---- attribution: the pieces ----------------------------------------------------------- */

dnacl_status dnacl_score_method_parse(const char *name, dnacl_score_method *out) {
  for (int k = 0; dnacl_score_method_names[k]; k++)
    if (!strcmp(name, dnacl_score_method_names[k])) {
      *out = (dnacl_score_method)k;
      return DNACL_OK;
    }
  return dnacl_fail(DNACL_ERR_ARG, "unknown attribution method '%s' (saliency, ism, ig, deepshap)", name);
}

dnacl_attr_score_opts dnacl_attr_score_defaults(void) {
  dnacl_attr_score_opts o;
  memset(&o, 0, sizeof o);
  o.n = 500;
  o.output = DNACL_EXPLAIN_LOGIT;
  o.ig_steps = 20;
  o.ig_refs = 10;
  o.shap_refs = 10;
  o.seed = 1;
  return o;
}

void dnacl_attr_position_scores(const float *attr, const float *x, int n, int L, int l2, float *out) {
  for (int i = 0; i < n; i++)
    for (int p = 0; p < L; p++) {
      double v = 0;
      for (int c = 0; c < 4; c++) {
        size_t k = ((size_t)i * 4 + c) * L + p;
        v += l2 ? (double)attr[k] * attr[k] : (double)attr[k] * x[k];
      }
      out[(size_t)i * L + p] = (float)(l2 ? sqrt(v) : v);
    }
}

static void mean_sd(const double *v, int n, double *mean, double *sd) {
  double s = 0, q = 0;
  for (int i = 0; i < n; i++) s += v[i];
  *mean = n ? s / n : NAN;
  for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
  *sd = n > 1 ? sqrt(q / (n - 1)) : NAN;
}

dnacl_status dnacl_mask_auc_compute(const float *scores, const uint8_t *mask, int n, int L, double *auroc_each,
                                    double *aupr_each, dnacl_mask_auc *out) {
  memset(out, 0, sizeof *out);
  if (n < 0 || L < 1) return dnacl_fail(DNACL_ERR_ARG, "mask AUC: %d sequences of length %d", n, L);
  float *lab = malloc((size_t)L * sizeof *lab);
  double *ro = malloc(((size_t)n + 1) * sizeof *ro), *pr = malloc(((size_t)n + 1) * sizeof *pr);
  dnacl_status s = (lab && ro && pr) ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  for (int i = 0; s == DNACL_OK && i < n; i++) {
    int pos = 0;
    for (int p = 0; p < L; p++) pos += (lab[p] = mask[(size_t)i * L + p] ? 1.0f : 0.0f) > 0;
    if (auroc_each) auroc_each[i] = NAN;
    if (aupr_each) aupr_each[i] = NAN;
    if (pos == 0 || pos == L) {
      /* One class only: no ROC or PR curve, so the sequence says nothing about ranking. */
      if (pos == 0) out->no_pos++;
      else out->no_neg++;
      continue;
    }
    double a, b;
    s = dnacl_auroc(lab, scores + (size_t)i * L, (size_t)L, 1, &a);
    if (s == DNACL_OK) s = dnacl_average_precision(lab, scores + (size_t)i * L, (size_t)L, 1, &b);
    if (s != DNACL_OK) {
      s = dnacl_fail(s, "sequence %d: %s", i, dnacl_last_error());
      break;
    }
    if (auroc_each) auroc_each[i] = a;
    if (aupr_each) aupr_each[i] = b;
    ro[out->n] = a;
    pr[out->n++] = b;
  }
  if (s == DNACL_OK) {
    mean_sd(ro, out->n, &out->auroc, &out->auroc_sd);
    mean_sd(pr, out->n, &out->aupr, &out->aupr_sd);
  }
  free(lab);
  free(ro);
  free(pr);
  return s;
}

/* ---- attribution: selection ------------------------------------------------------------ */

void dnacl_attr_selection_free(dnacl_attr_selection *s) {
  if (!s) return;
  free(s->index);
  free(s->x);
  free(s->mask);
  memset(s, 0, sizeof *s);
}

dnacl_status dnacl_attr_select(const dnacl_seqset *set, const dnacl_truth *truth, const dnacl_sim_motifs *motifs,
                               const dnacl_attr_score_opts *o, dnacl_attr_selection *out) {
  memset(out, 0, sizeof *out);
  dnacl_attr_score_opts op = o ? *o : dnacl_attr_score_defaults();
  const int L = set->length, T = set->n_tasks;
  if (truth->n != set->n || truth->length != L)
    return dnacl_fail(DNACL_ERR_ARG,
                      "the ground truth has %d records of length %d but the sequences are %d of length %d "
                      "(a different split, or sequences cropped/padded on loading)",
                      truth->n, truth->length, set->n, L);
  if (!T || !set->y) return dnacl_fail(DNACL_ERR_ARG, "attribution scoring needs labels to find the positive sequences");
  if (op.target < 0 || op.target >= T)
    return dnacl_fail(DNACL_ERR_ARG, "target %d: the data has %d task(s)", op.target, T);
  if (op.n < 1) return dnacl_fail(DNACL_ERR_ARG, "attribution scoring: n must be >= 1, got %d", op.n);

  /* Multi-task data with one role-1 motif per task (koo-task1): the target's motif. */
  int motif_t = -1;
  if (T > 1 && motifs) {
    int roles = 0;
    for (int k = 0; k < motifs->n; k++) {
      if (!motifs->role[k]) continue;
      if (roles == op.target) motif_t = k;
      roles++;
    }
    if (roles != T) motif_t = -1;
  }
  out->restricted = motif_t >= 0;
  out->length = L;
  int cap = op.n < set->n ? op.n : set->n;
  out->index = malloc((size_t)cap * sizeof *out->index);
  out->x = malloc((size_t)cap * 4 * L * sizeof *out->x);
  out->mask = malloc((size_t)cap * L * sizeof *out->mask);
  if (!out->index || !out->x || !out->mask) {
    dnacl_attr_selection_free(out);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < set->n && out->considered < op.n; i++) {
    if (set->y[(size_t)i * T + op.target] != 1.0f) continue;
    out->considered++;
    uint8_t *mk = out->mask + (size_t)out->n * L;
    const uint8_t *mi = truth->mask + (size_t)i * L;
    if (motif_t < 0) {
      memcpy(mk, mi, (size_t)L);
    } else {
      memset(mk, 0, (size_t)L);
      for (int r = truth->first[i]; r < truth->first[i + 1]; r++) {
        if (truth->motif[r] != motif_t) continue;
        int w = motifs->width[motif_t];
        for (int p = truth->pos[r]; p < truth->pos[r] + w && p < L; p++)
          if (p >= 0) mk[p] = mi[p];
      }
    }
    int pos = 0;
    for (int p = 0; p < L; p++) pos += mk[p] != 0;
    if (pos == 0) {
      out->skipped_no_mask++;
      continue;
    }
    if (pos == L) {
      out->skipped_all_mask++;
      continue;
    }
    out->index[out->n] = i;
    memcpy(out->x + (size_t)out->n * 4 * L, set->x + (size_t)i * 4 * L, (size_t)4 * L * sizeof *out->x);
    out->n++;
  }
  return DNACL_OK;
}

/* ---- attribution: one method ------------------------------------------------------------ */

/* Maps of k sequences (rows of sel from i0) into attr (k, 4, L); *worst grows to the
 * completeness error of IG / DeepSHAP. */
static dnacl_status chunk_maps(dnacl_ctx *ctx, dnacl_model *m, const dnacl_attr_selection *sel, int i0, int k,
                               dnacl_score_method method, const dnacl_attr_score_opts *o, float *attr,
                               float *scratch_x, float *scratch_b, float *scratch_out, float *delta, double *worst) {
  const int L = sel->length;
  const size_t row = (size_t)4 * L;
  const float *x = sel->x + (size_t)i0 * row;
  dnacl_explain_opts eo = {o->target, o->output, o->correct, o->batch > 0 ? o->batch : CHUNK};
  double w = 0;
  switch (method) {
    case DNACL_SCORE_SALIENCY:
      return dnacl_saliency(ctx, m, x, k, &eo, 0, attr);
    case DNACL_SCORE_ISM:
      return dnacl_ism(ctx, m, x, k, o->target, o->output, 1, attr, NULL);
    case DNACL_SCORE_IG: {
      const int R = o->ig_refs;
      for (int i = 0; i < k; i++)
        for (int r = 0; r < R; r++) {
          size_t j = (size_t)i * R + r;
          memcpy(scratch_x + j * row, x + i * row, row * sizeof *x);
          uint64_t seed = dnacl_seed_mix(o->seed, (uint64_t)sel->index[i0 + i], STREAM_IG + 0x100u * (unsigned)r);
          DNACL_TRY(dnacl_dinuc_shuffle_onehot(x + i * row, L, seed, scratch_b + j * row));
        }
      DNACL_TRY(dnacl_integrated_gradients(ctx, m, scratch_x, scratch_b, k * R, &eo, o->ig_steps, DNACL_QUAD_RIEMANN,
                                           scratch_out, delta, &w));
      for (int i = 0; i < k; i++)
        for (size_t e = 0; e < row; e++) {
          double v = 0;
          for (int r = 0; r < R; r++) v += scratch_out[((size_t)i * R + r) * row + e];
          attr[i * row + e] = (float)(v / R);
        }
      break;
    }
    case DNACL_SCORE_DEEPSHAP: {
      uint64_t seeds[CHUNK];
      for (int i = 0; i < k; i++) seeds[i] = dnacl_seed_mix(o->seed, (uint64_t)sel->index[i0 + i], STREAM_SHAP);
      DNACL_TRY(dnacl_deepshap(ctx, m, x, k, o->shap_refs, seeds, &eo, 0, attr, NULL, &w));
      break;
    }
    default:
      return dnacl_fail(DNACL_ERR_ARG, "unknown attribution method %d", (int)method);
  }
  if (w > *worst) *worst = w;
  return DNACL_OK;
}

dnacl_status dnacl_attr_score_method(dnacl_ctx *ctx, dnacl_model *m, const dnacl_attr_selection *sel,
                                     dnacl_score_method method, const dnacl_attr_score_opts *o, dnacl_attr_score *out) {
  memset(out, 0, sizeof *out);
  dnacl_attr_score_opts op = o ? *o : dnacl_attr_score_defaults();
  out->method = method;
  out->auroc = out->aupr = out->auroc_sd = out->aupr_sd = NAN;
  out->worst_delta = NAN;
  if ((int)method < 0 || method >= DNACL_SCORE_N_METHODS)
    return dnacl_fail(DNACL_ERR_ARG, "unknown attribution method %d", (int)method);
  if (op.target < 0 || op.target >= m->spec.tasks)
    return dnacl_fail(DNACL_ERR_ARG, "target %d: the model has %d output(s)", op.target, m->spec.tasks);
  if (sel->length != m->length)
    return dnacl_fail(DNACL_ERR_ARG, "sequences of length %d, but the model takes %d", sel->length, m->length);
  if ((method == DNACL_SCORE_IG && (op.ig_steps < 1 || op.ig_refs < 1)) ||
      (method == DNACL_SCORE_DEEPSHAP && op.shap_refs < 1))
    return dnacl_fail(DNACL_ERR_ARG, "%s: steps and references must be >= 1", dnacl_score_method_names[method]);
  /* DeepLIFT rules are checked up front, so a refusal costs no forward pass. */
  if (method == DNACL_SCORE_DEEPSHAP && dnacl_deeplift_supported(m) == DNACL_ERR_UNSUPPORTED) {
    out->refused = 1;
    snprintf(out->reason, sizeof out->reason, "%s", dnacl_last_error());
    return DNACL_OK;
  }
  double t0 = dnacl_now_s();
  const int L = sel->length, n = sel->n;
  const size_t row = (size_t)4 * L;
  const int R = method == DNACL_SCORE_IG ? op.ig_refs : 1;
  float *scores = malloc(((size_t)n + 1) * L * sizeof *scores);
  float *attr = malloc((size_t)CHUNK * row * sizeof *attr);
  float *sx = NULL, *sb = NULL, *so = NULL, *delta = NULL;
  if (method == DNACL_SCORE_IG) {
    size_t rows = (size_t)CHUNK * R;
    sx = malloc(rows * row * sizeof *sx);
    sb = malloc(rows * row * sizeof *sb);
    so = malloc(rows * row * sizeof *so);
    delta = malloc(rows * sizeof *delta);
  }
  dnacl_status s = (scores && attr && (method != DNACL_SCORE_IG || (sx && sb && so && delta)))
                       ? DNACL_OK
                       : dnacl_fail(DNACL_ERR_NOMEM, "out of memory scoring %s", dnacl_score_method_names[method]);
  double worst = 0;
  for (int i0 = 0; s == DNACL_OK && i0 < n; i0 += CHUNK) {
    int k = n - i0 < CHUNK ? n - i0 : CHUNK;
    s = chunk_maps(ctx, m, sel, i0, k, method, &op, attr, sx, sb, so, delta, &worst);
    if (s == DNACL_OK)
      dnacl_attr_position_scores(attr, sel->x + (size_t)i0 * row, k, L, method == DNACL_SCORE_ISM,
                                 scores + (size_t)i0 * L);
  }
  if (s == DNACL_ERR_UNSUPPORTED) {
    /* A layer without the rule the method needs: a result, not a failure of the run. */
    out->refused = 1;
    snprintf(out->reason, sizeof out->reason, "%s", dnacl_last_error());
    s = DNACL_OK;
  } else if (s == DNACL_OK) {
    dnacl_mask_auc a;
    s = dnacl_mask_auc_compute(scores, sel->mask, n, L, NULL, NULL, &a);
    if (s == DNACL_OK) {
      out->n = a.n;
      out->auroc = a.auroc;
      out->aupr = a.aupr;
      out->auroc_sd = a.auroc_sd;
      out->aupr_sd = a.aupr_sd;
      if (method == DNACL_SCORE_IG || method == DNACL_SCORE_DEEPSHAP) out->worst_delta = n ? worst : NAN;
    }
  }
  out->seconds = dnacl_now_s() - t0;
  free(scores);
  free(attr);
  free(sx);
  free(sb);
  free(so);
  free(delta);
  return s;
}

dnacl_status dnacl_score_attribution(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, const char *data_path,
                                     const char *split, unsigned methods, const dnacl_attr_score_opts *o,
                                     dnacl_attr_scores *out) {
  memset(out, 0, sizeof *out);
  out->methods = methods;
  if (!methods || (methods & ~DNACL_SCORE_ALL_METHODS))
    return dnacl_fail(DNACL_ERR_ARG, "attribution: method mask 0x%x (bits 0-3: saliency, ism, ig, deepshap)", methods);
  dnacl_truth truth;
  dnacl_sim_motifs motifs;
  dnacl_attr_selection sel;
  memset(&motifs, 0, sizeof motifs);
  memset(&sel, 0, sizeof sel);
  dnacl_status s = dnacl_truth_load(data_path, split, &truth);
  if (s == DNACL_OK) s = dnacl_sim_motifs_load(data_path, &motifs);
  if (s == DNACL_OK) {
    s = dnacl_attr_select(set, &truth, &motifs, o, &sel);
    if (s != DNACL_OK) s = dnacl_fail(s, "%s (split %s): %s", data_path, split, dnacl_last_error());
  }
  if (s == DNACL_OK) {
    out->considered = sel.considered;
    out->scored = sel.n;
    out->skipped_no_mask = sel.skipped_no_mask;
    out->skipped_all_mask = sel.skipped_all_mask;
    out->restricted = sel.restricted;
  }
  for (int k = 0; s == DNACL_OK && k < DNACL_SCORE_N_METHODS; k++)
    if (methods & (1u << k)) s = dnacl_attr_score_method(ctx, m, &sel, (dnacl_score_method)k, o, &out->method[k]);
  dnacl_attr_selection_free(&sel);
  dnacl_sim_motifs_free(&motifs);
  dnacl_truth_free(&truth);
  return s;
}
