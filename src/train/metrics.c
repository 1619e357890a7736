/* Host-side evaluation metrics; see metrics.h for the exact definitions. */
#include "train/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct scored {
  float s;
  unsigned char y;
} scored;

/* Descending score. Ties compare equal and are grouped by the caller, so the order qsort
 * leaves inside a tie (unspecified) cannot change any result. -0.0 and 0.0 are one tie. */
static int by_score_desc(const void *a, const void *b) {
  float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
  return (x < y) - (x > y);
}

/* "task 3, row 17" or "row 17" for error messages. */
static const char *where(int task, size_t row, char *buf, size_t cap) {
  if (task >= 0) snprintf(buf, cap, "task %d, row %zu", task, row);
  else snprintf(buf, cap, "row %zu", row);
  return buf;
}

static dnacl_status check_binary_label(const char *fn, float y, int task, size_t row) {
  if (y == 0.0f || y == 1.0f) return DNACL_OK;
  char w[64];
  return dnacl_fail(DNACL_ERR_ARG, "%s: %s: label %g is not 0 or 1", fn,
                    where(task, row, w, sizeof w), (double)y);
}

static dnacl_status check_finite(const char *fn, const char *what, float v, int task, size_t row) {
  if (isfinite(v)) return DNACL_OK;
  char w[64];
  return dnacl_fail(DNACL_ERR_ARG, "%s: %s: %s is %g (did training diverge?)", fn,
                    where(task, row, w, sizeof w), what, (double)v);
}

/* Sort one task into buf (n entries) and compute AUROC and AP by walking the distinct
 * thresholds from the highest score down. Counts are integers, so the ROC area is summed
 * exactly in 64 bits: each threshold step adds a trapezoid of width dFP and heights TP
 * before and after, i.e. dFP * (2 TP_before + dTP) / 2. */
static dnacl_status rank_metrics(const char *fn, const float *labels, const float *scores,
                                 size_t n, size_t stride, int task, scored *buf, double *auroc,
                                 double *ap, size_t *n_pos_out) {
  size_t n_pos = 0;
  for (size_t i = 0; i < n; i++) {
    float y = labels[i * stride], s = scores[i * stride];
    DNACL_TRY(check_binary_label(fn, y, task, i));
    DNACL_TRY(check_finite(fn, "score", s, task, i));
    buf[i].s = s;
    buf[i].y = y == 1.0f;
    n_pos += buf[i].y;
  }
  if (n_pos_out) *n_pos_out = n_pos;
  size_t n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0) {
    *auroc = NAN;
    *ap = NAN;
    return DNACL_OK;
  }
  qsort(buf, n, sizeof *buf, by_score_desc);
  uint64_t tp = 0, fp = 0, area2 = 0;
  double ap_sum = 0;
  for (size_t i = 0; i < n;) {
    uint64_t dtp = 0, dfp = 0;
    size_t j = i;
    for (; j < n && buf[j].s == buf[i].s; j++) {
      if (buf[j].y) dtp++;
      else dfp++;
    }
    area2 += dfp * (2 * tp + dtp);
    tp += dtp;
    fp += dfp;
    /* Recall rises by dtp/P at this threshold, where precision is tp/(tp+fp). */
    if (dtp) ap_sum += (double)dtp * ((double)tp / (double)(tp + fp));
    i = j;
  }
  *auroc = (double)area2 / (2.0 * (double)n_pos * (double)n_neg);
  *ap = ap_sum / (double)n_pos;
  return DNACL_OK;
}

static dnacl_status one_rank_metric(const char *fn, const float *labels, const float *scores,
                                    size_t n, size_t stride, double *out, int want_ap) {
  if (!out || (n && (!labels || !scores)))
    return dnacl_fail(DNACL_ERR_ARG, "%s: labels, scores and out are required", fn);
  if (!stride) stride = 1;
  scored *buf = malloc((n ? n : 1) * sizeof *buf);
  if (!buf) return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory for %zu scores", fn, n);
  double auroc, ap;
  dnacl_status s = rank_metrics(fn, labels, scores, n, stride, -1, buf, &auroc, &ap, NULL);
  free(buf);
  if (s == DNACL_OK) *out = want_ap ? ap : auroc;
  return s;
}

dnacl_status dnacl_auroc(const float *labels, const float *scores, size_t n, size_t stride,
                         double *out) {
  return one_rank_metric("auroc", labels, scores, n, stride, out, 0);
}

dnacl_status dnacl_average_precision(const float *labels, const float *scores, size_t n,
                                     size_t stride, double *out) {
  return one_rank_metric("average_precision", labels, scores, n, stride, out, 1);
}

/* Counts of correct predictions; prob > 0.5, or equivalently logit > 0 (sigmoid is
 * monotone and sigmoid(0) = 0.5 exactly), predicts the positive class. */
static dnacl_status count_correct(const char *fn, const float *labels, const float *v, size_t n,
                                  size_t stride, float cut, int task, size_t *correct) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) {
    float y = labels[i * stride], p = v[i * stride];
    DNACL_TRY(check_binary_label(fn, y, task, i));
    if (isnan(p)) return check_finite(fn, "prediction", p, task, i);
    c += (p > cut) == (y == 1.0f);
  }
  *correct = c;
  return DNACL_OK;
}

dnacl_status dnacl_accuracy(const float *labels, const float *probs, size_t n, size_t stride,
                            double *out) {
  if (!out || (n && (!labels || !probs)))
    return dnacl_fail(DNACL_ERR_ARG, "accuracy: labels, probs and out are required");
  size_t c = 0;
  DNACL_TRY(count_correct("accuracy", labels, probs, n, stride ? stride : 1, 0.5f, -1, &c));
  *out = n ? (double)c / (double)n : NAN;
  return DNACL_OK;
}

/* Sum of max(x,0) - x*y + log1p(exp(-|x|)): the stable form PyTorch uses. */
static dnacl_status bce_sum(const char *fn, const float *labels, const float *logits, size_t n,
                            size_t stride, int task, double *sum) {
  double acc = 0;
  for (size_t i = 0; i < n; i++) {
    double y = labels[i * stride], x = logits[i * stride];
    if (!(y >= 0 && y <= 1)) {
      char w[64];
      return dnacl_fail(DNACL_ERR_ARG, "%s: %s: label %g is outside [0, 1]", fn,
                        where(task, i, w, sizeof w), y);
    }
    DNACL_TRY(check_finite(fn, "logit", (float)x, task, i));
    acc += fmax(x, 0.0) - x * y + log1p(exp(-fabs(x)));
  }
  *sum = acc;
  return DNACL_OK;
}

dnacl_status dnacl_bce_mean(const float *labels, const float *logits, size_t n, size_t stride,
                            double *out) {
  if (!out || (n && (!labels || !logits)))
    return dnacl_fail(DNACL_ERR_ARG, "bce_mean: labels, logits and out are required");
  double sum = 0;
  DNACL_TRY(bce_sum("bce_mean", labels, logits, n, stride ? stride : 1, -1, &sum));
  *out = n ? sum / (double)n : NAN;
  return DNACL_OK;
}

dnacl_status dnacl_metrics_tasks(const float *labels, const float *logits, size_t n, int t,
                                 dnacl_task_metrics *per_task, dnacl_task_metrics *summary) {
  const char *fn = "metrics";
  if (t <= 0) return dnacl_fail(DNACL_ERR_ARG, "%s: %d tasks; need at least one", fn, t);
  if (n && (!labels || !logits))
    return dnacl_fail(DNACL_ERR_ARG, "%s: labels and logits are required", fn);
  scored *buf = malloc((n ? n : 1) * sizeof *buf);
  if (!buf) return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory for %zu rows", fn, n);
  dnacl_status s = DNACL_OK;
  double loss_sum = 0, auroc_sum = 0, aupr_sum = 0;
  size_t correct_sum = 0, pos_sum = 0;
  int n_auroc = 0, n_aupr = 0;
  for (int k = 0; k < t && s == DNACL_OK; k++) {
    dnacl_task_metrics m = {0};
    double bce = 0;
    size_t correct = 0;
    const float *y = labels + k, *x = logits + k;
    s = rank_metrics(fn, y, x, n, (size_t)t, k, buf, &m.auroc, &m.aupr, &m.n_pos);
    if (s == DNACL_OK) s = count_correct(fn, y, x, n, (size_t)t, 0.0f, k, &correct);
    if (s == DNACL_OK) s = bce_sum(fn, y, x, n, (size_t)t, k, &bce);
    if (s != DNACL_OK) break;
    m.n = n;
    m.loss = n ? bce / (double)n : NAN;
    m.accuracy = n ? (double)correct / (double)n : NAN;
    if (per_task) per_task[k] = m;
    loss_sum += bce;
    correct_sum += correct;
    pos_sum += m.n_pos;
    if (!isnan(m.auroc)) { auroc_sum += m.auroc; n_auroc++; }
    if (!isnan(m.aupr)) { aupr_sum += m.aupr; n_aupr++; }
  }
  free(buf);
  if (s != DNACL_OK) return s;
  if (summary) {
    double total = (double)n * t;
    summary->loss = n ? loss_sum / total : NAN;
    summary->accuracy = n ? (double)correct_sum / total : NAN;
    summary->auroc = n_auroc ? auroc_sum / n_auroc : NAN;
    summary->aupr = n_aupr ? aupr_sum / n_aupr : NAN;
    summary->n = n;
    summary->n_pos = pos_sum;
  }
  return DNACL_OK;
}
