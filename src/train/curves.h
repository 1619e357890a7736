/* The learning-curve figure a training run leaves in RUN/ (like figure 3-17 of the
 * "Learning the logic of DNA" chapter): left, training and validation loss over steps;
 * right, validation AUROC and AUPR over steps. */
#ifndef DNACL_CURVES_H
#define DNACL_CURVES_H
#include <stddef.h>

#include "runtime/runtime.h"

/* Training values are logged at their own steps (every step, or a mean per interval) and
 * validation values at evaluation steps, so the two have separate step arrays. Any value
 * array may be NULL (that series is left out) and any value may be NaN (that point is
 * skipped and the line joins its neighbours), e.g. AUROC of a single-class validation set.
 * The SVG grows with the points given (about 12 bytes each); a trainer logging every
 * step of a long run should pass interval means rather than every step. */
typedef struct dnacl_learning_curves {
  const char *title;           /* NULL: "Learning curves" */
  const double *train_step, *train_loss;
  size_t n_train;
  const double *valid_step, *valid_loss, *valid_auroc, *valid_aupr;
  size_t n_valid;
} dnacl_learning_curves;

/* Write the figure to path (via path.tmp and a rename; nothing is left at path.tmp). */
dnacl_status dnacl_learning_curves_svg(const char *path, const dnacl_learning_curves *c);

#endif
