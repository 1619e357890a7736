/* Evaluation metrics for binary (multi-task) classification, computed on the host from
 * labels and logits read back from the device: loss, accuracy, AUROC, AUPR.
 *
 * Definitions follow scikit-learn so that numbers can be compared with Python tools:
 *   AUROC    sklearn.metrics.roc_auc_score: the area under the ROC curve by the trapezoid
 *            rule over distinct score thresholds, i.e. tied scores count one half (the
 *            Mann-Whitney midrank statistic). All-tied scores give 0.5.
 *   AUPR     sklearn.metrics.average_precision_score: AP = sum_n (R_n - R_{n-1}) P_n over
 *            distinct thresholds (tied scores form one step), no interpolation.
 *   accuracy fraction of rows where (sigmoid(logit) > 0.5) equals the label, as Keras'
 *            binary_accuracy and torchmetrics' BinaryAccuracy (a probability of exactly
 *            0.5 predicts the negative class).
 *   loss     mean sigmoid binary cross-entropy on logits, as
 *            torch.nn.functional.binary_cross_entropy_with_logits(reduction="mean"),
 *            accumulated in double.
 *
 * Labels must be exactly 0 or 1 and scores finite; anything else is DNACL_ERR_ARG naming
 * the row and task, because a NaN logit means training diverged and a soft or missing label
 * has no agreed ROC meaning. A task whose labels are all one class has no ROC or PR curve:
 * its AUROC and AUPR are NaN (sklearn raises or warns there) and the macro averages skip
 * it. Cost is O(N log N) per task (one sort); the ranking metrics need no probabilities,
 * so they are computed on the logits, which also avoids ties that float sigmoid would
 * create by saturating large logits to 1. */
#ifndef DNACL_METRICS_H
#define DNACL_METRICS_H
#include <stddef.h>

#include "runtime/runtime.h"

/* ---- one task ----------------------------------------------------------------------- */
/* Each reads n values; element i of a column is at index i * stride, so a task of an (N,T)
 * row-major array is (base + t, stride T). stride 0 is taken as 1. */

/* *out = AUROC of scores against labels; NaN if only one class is present. */
dnacl_status dnacl_auroc(const float *labels, const float *scores, size_t n, size_t stride,
                         double *out);
/* *out = average precision; NaN if only one class is present. */
dnacl_status dnacl_average_precision(const float *labels, const float *scores, size_t n,
                                     size_t stride, double *out);
/* *out = fraction of rows with (prob > 0.5) == label. probs are probabilities. NaN if n 0. */
dnacl_status dnacl_accuracy(const float *labels, const float *probs, size_t n, size_t stride,
                            double *out);
/* *out = mean BCE of logits against labels (labels may be soft here, in [0, 1], as the
 * training loss allows). NaN if n is 0. */
dnacl_status dnacl_bce_mean(const float *labels, const float *logits, size_t n, size_t stride,
                            double *out);

/* ---- many tasks ---------------------------------------------------------------------- */

typedef struct dnacl_task_metrics {
  double loss;      /* mean BCE from logits */
  double accuracy;  /* at probability 0.5 */
  double auroc;     /* NaN when the task has a single class */
  double aupr;      /* average precision; NaN when the task has a single class */
  size_t n, n_pos;  /* rows and positive labels */
} dnacl_task_metrics;

/* labels and logits are (n, t) row-major. per_task (may be NULL) receives t entries.
 * summary (may be NULL) receives: loss and accuracy over all n*t elements (equal to the mean
 * of the per-task values, as every task has n rows), auroc and aupr as the mean over tasks
 * whose value is not NaN (NaN when no task has both classes), n = n rows, n_pos = all
 * positive labels. */
dnacl_status dnacl_metrics_tasks(const float *labels, const float *logits, size_t n, int t,
                                 dnacl_task_metrics *per_task, dnacl_task_metrics *summary);

#endif
