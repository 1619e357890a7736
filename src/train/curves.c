/* Learning-curve figure: two line charts side by side on the SVG helpers of io/svg.c. */
#include "train/curves.h"

#include <math.h>

#include "io/svg.h"

/* Extend [*lo, *hi] by the finite values of v[0..n). */
static void extend(const double *v, size_t n, double *lo, double *hi) {
  for (size_t i = 0; v && i < n; i++)
    if (isfinite(v[i])) {
      if (v[i] < *lo) *lo = v[i];
      if (v[i] > *hi) *hi = v[i];
    }
}

dnacl_status dnacl_learning_curves_svg(const char *path, const dnacl_learning_curves *c) {
  if (!path || !*path || !c)
    return dnacl_fail(DNACL_ERR_ARG, "learning curves: path and data are required");
  if ((c->n_train && c->train_loss && !c->train_step) ||
      (c->n_valid && !c->valid_step && (c->valid_loss || c->valid_auroc || c->valid_aupr)))
    return dnacl_fail(DNACL_ERR_ARG, "learning curves: %s: values given without their steps", path);
  const double W = 1000, H = 420, head = 34, panel_w = W / 2;

  /* Validation points are few (one per evaluation): dots make each one readable. A
   * training curve is dense and reads better as a plain line. */
  double dot = c->n_valid <= 60 ? 2.5 : 0;
  /* matplotlib's first colours, as the chapter's figure: C0 train, C1 valid. */
  dnacl_series loss[2], rank[2];
  int nl = 0, nr = 0;
  if (c->train_loss && c->n_train)
    loss[nl++] = (dnacl_series){"train loss", dnacl_svg_palette(0), c->train_step, c->train_loss,
                                c->n_train, 0, 0};
  if (c->valid_loss && c->n_valid)
    loss[nl++] = (dnacl_series){"valid loss", dnacl_svg_palette(1), c->valid_step, c->valid_loss,
                                c->n_valid, 0, dot};
  if (c->valid_auroc && c->n_valid)
    rank[nr++] = (dnacl_series){"valid AUROC", dnacl_svg_palette(2), c->valid_step,
                                c->valid_auroc, c->n_valid, 0, dot};
  if (c->valid_aupr && c->n_valid)
    rank[nr++] = (dnacl_series){"valid AUPR", dnacl_svg_palette(3), c->valid_step, c->valid_aupr,
                                c->n_valid, 1, dot};

  dnacl_chart left = dnacl_chart_box(0, head, panel_w, H - head);
  left.title = "Loss";
  left.xlabel = "step";
  left.ylabel = "binary cross-entropy";
  dnacl_chart right = dnacl_chart_box(panel_w, head, panel_w, H - head);
  right.title = "Validation AUROC and AUPR";
  right.xlabel = "step";
  right.ylabel = "score";
  /* Both panels share the step axis so that they can be read side by side. */
  double x0 = INFINITY, x1 = -INFINITY;
  if (c->train_loss) extend(c->train_step, c->n_train, &x0, &x1);
  if (c->valid_loss || c->valid_auroc || c->valid_aupr) extend(c->valid_step, c->n_valid, &x0, &x1);
  if (x1 > x0) {
    dnacl_nice_range(&x0, &x1, 5); /* the tick count a 500-pixel panel uses */
    left.xmin = right.xmin = x0;
    left.xmax = right.xmax = x1;
  }

  dnacl_svg s;
  DNACL_TRY(dnacl_svg_begin(&s, W, H));
  dnacl_svg_text(&s, W / 2, 24, 16, "middle", 0, 1, "#111111",
                 c->title && *c->title ? c->title : "Learning curves");
  dnacl_svg_line_chart(&s, &left, loss, nl);
  dnacl_svg_line_chart(&s, &right, rank, nr);
  dnacl_status st = dnacl_svg_save(&s, path);
  dnacl_svg_free(&s);
  return st;
}
