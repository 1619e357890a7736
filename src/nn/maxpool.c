/* Max pooling along the length: (B, C, L) -> (B, C, floor((L - W)/S) + 1), no padding
 * (PyTorch's max_pool1d(x, W, S)). Kernels in cl/pool.cl, one program per window and stride.
 *
 * No saved state: backward recomputes each window's argmax from x, which is cheaper than
 * keeping an index buffer per batch shape and works after an eval-mode forward too.
 *
 * DeepLIFT rule: the one of SHAP's DeepExplainer and captum's DeepLift for max pooling
 * (kernel maxpool_rescale). Per window, with y and yref the maxima of input and reference
 * and cross = max(y, yref), the upstream multiplier dy times (cross - yref) goes to the
 * argmax of x and dy times (y - cross) to the argmax of xref (first maximum on ties, as
 * the forward; shares of overlapping windows add). The multiplier of element j is the sum
 * of its shares over x[j] - xref[j], and 0 where |x[j] - xref[j]| < 1e-7 (SHAP's choice).
 *
 * Completeness. The two shares of a window add up to dy (y - yref), so sum_j dx[j] (x[j] -
 * xref[j]) = sum_w dy[w] (y[w] - yref[w]) except for shares routed to elements whose
 * multiplier is zeroed. Those are negligible: a share to the argmax a of x is nonzero only
 * when y > yref, and then it is dy (y - yref) <= dy (x[a] - xref[a]) since yref >= xref[a];
 * symmetrically for the argmax of xref. So an element with |x - xref| < 1e-7 receives at
 * most |dy| 1e-7 per window, and exactly 0 when x[j] == xref[j]. The multipliers lie
 * between 0 and dy per window (no division blow-up), and DeepLIFT/DeepSHAP completeness is
 * exact up to float rounding through conv/batchnorm/activation/maxpool stacks. (The older
 * "max" rule of DeepLIFT's reference code, the plain gradient through the argmax of x, is
 * not complete when the argmax differs between x and xref: a median gap of ~1 logit on a
 * briefly trained baseline against dinucleotide shuffles.) */
#include <stdio.h>

#include "nn/layer.h"

typedef struct maxpool_cfg {
  int window, stride;
} maxpool_cfg;

/* On CPUs, pools with window = stride = 2, 4, 8 or 16 run the row kernels of cl/pool.cl
 * (maxpool_forward_rows / maxpool_backward_rows: a work-item per row, float16 chunks); the
 * kernel source defines them exactly then. */
static int rows_path(const dnacl_ctx *ctx, const maxpool_cfg *c) {
  const int w = c->window;
  return ctx->is_cpu && c->stride == w && (w == 2 || w == 4 || w == 8 || w == 16);
}

/* On CPUs, windows wider than 16 with stride >= window run the wide kernels of cl/pool.cl
 * (maxpool_forward_wide / maxpool_backward_wide: a work-item per window, float16 chunks). */
static int wide_path(const dnacl_ctx *ctx, const maxpool_cfg *c) {
  return ctx->is_cpu && c->stride >= c->window && c->window > 16;
}

/* cl/pool.cl is built once per window and stride (-D POOL_W, POOL_S). */
static dnacl_status pool_kernel(dnacl_ctx *ctx, const maxpool_cfg *c, const char *name,
                                cl_kernel *k) {
  char opts[64];
  snprintf(opts, sizeof opts, "-DPOOL_W=%d -DPOOL_S=%d", c->window, c->stride);
  return dnacl_kernel(ctx, "pool", opts, name, k);
}

static dnacl_status maxpool_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const maxpool_cfg *c = l->cfg;
  if (c->window < 1 || c->stride < 1)
    return dnacl_fail(DNACL_ERR_SHAPE, "maxpool %s: window %d and stride %d must both be >= 1",
                      l->name, c->window, c->stride);
  if (in->ndim != 3)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "maxpool %s: input must be (batch, channels, length), got rank %d", l->name,
                      in->ndim);
  if (c->window > in->d[2])
    return dnacl_fail(DNACL_ERR_SHAPE, "maxpool %s: window %d is longer than the input length %d",
                      l->name, c->window, in->d[2]);
  *out = *in;
  out->d[2] = (in->d[2] - c->window) / c->stride + 1;
  return DNACL_OK;
}

/* Checks shared by forward and backward: y (or dy) has the inferred shape's size, and the
 * int indices of the kernels cannot overflow. */
static dnacl_status maxpool_check(const dnacl_layer *l, const dnacl_tensor *x,
                                  const dnacl_tensor *y, const char *what, int *lout) {
  dnacl_shape in = dnacl_tensor_shape(x), out;
  DNACL_TRY(maxpool_infer(l, &in, &out));
  if (y->n != dnacl_shape_count(&out))
    return dnacl_fail(DNACL_ERR_SHAPE, "maxpool %s: %s has %zu elements, expected (%d, %d, %d)",
                      l->name, what, y->n, out.d[0], out.d[1], out.d[2]);
  if (x->n > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "maxpool %s: %zu elements exceed the int index range",
                      l->name, x->n);
  *lout = out.d[2];
  return DNACL_OK;
}

static dnacl_status maxpool_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                    dnacl_tensor *y, int train) {
  (void)train;
  const maxpool_cfg *c = l->cfg;
  int lout = 0;
  DNACL_TRY(maxpool_check(l, x, y, "output", &lout));
  int rows = x->shape[0] * x->shape[1], L = x->shape[2];
  cl_kernel k;
  if (rows_path(ctx, c)) {
    DNACL_TRY(pool_kernel(ctx, c, "maxpool_forward_rows", &k));
    size_t g = (size_t)rows;
    return dnacl_run(ctx, k, 1, &g, NULL, "mmiii", x->buf, y->buf, rows, L, lout);
  }
  DNACL_TRY(pool_kernel(ctx, c, wide_path(ctx, c) ? "maxpool_forward_wide" : "maxpool_forward", &k));
  size_t g[2] = {(size_t)lout, (size_t)rows};
  return dnacl_run(ctx, k, 2, g, NULL, "mmiii", x->buf, y->buf, rows, L, lout);
}

static dnacl_status maxpool_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                     const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                     int param_grads) {
  (void)y;
  (void)param_grads; /* no parameters */
  if (!dx) return DNACL_OK;
  const maxpool_cfg *c = l->cfg;
  int lout = 0;
  DNACL_TRY(maxpool_check(l, x, dy, "upstream gradient", &lout));
  if (dx->n != x->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "maxpool %s: input gradient has %zu elements, input %zu",
                      l->name, dx->n, x->n);
  int rows = x->shape[0] * x->shape[1], L = x->shape[2];
  cl_kernel k;
  if (rows_path(ctx, c)) {
    DNACL_TRY(pool_kernel(ctx, c, "maxpool_backward_rows", &k));
    size_t g = (size_t)rows;
    return dnacl_run(ctx, k, 1, &g, NULL, "mmmiii", x->buf, dy->buf, dx->buf, rows, L, lout);
  }
  DNACL_TRY(pool_kernel(ctx, c, wide_path(ctx, c) ? "maxpool_backward_wide" : "maxpool_backward",
                        &k));
  /* Non-overlapping windows: a work-item per output (it writes its window's span of dx);
   * overlapping: a work-item per input element. */
  size_t g[2] = {(size_t)(c->stride >= c->window ? lout : L), (size_t)rows};
  return dnacl_run(ctx, k, 2, g, NULL, "mmmiii", x->buf, dy->buf, dx->buf, rows, L, lout);
}

/* The SHAP/captum rule (see the top). y and yref are not read: the kernel takes the maxima
 * from x and xref at their argmax, the forward's values bit for bit. */
static dnacl_status maxpool_backward_rescale(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                             const dnacl_tensor *xref, const dnacl_tensor *y,
                                             const dnacl_tensor *yref, const dnacl_tensor *dy,
                                             dnacl_tensor *dx) {
  const maxpool_cfg *c = l->cfg;
  int lout = 0;
  DNACL_TRY(maxpool_check(l, x, dy, "upstream multiplier", &lout));
  if (xref->n != x->n || yref->n != y->n || dx->n != x->n)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "maxpool %s: reference (%zu, %zu) or multiplier (%zu) sizes differ from the "
                      "input's (%zu) and output's (%zu)",
                      l->name, xref->n, yref->n, dx->n, x->n, y->n);
  int rows = x->shape[0] * x->shape[1], L = x->shape[2];
  cl_kernel k;
  DNACL_TRY(pool_kernel(ctx, c, "maxpool_rescale", &k));
  /* A work-item per window where windows do not overlap, else per input element. */
  size_t g[2] = {(size_t)(c->stride >= c->window ? lout : L), (size_t)rows};
  return dnacl_run(ctx, k, 2, g, NULL, "mmmmiii", x->buf, xref->buf, dy->buf, dx->buf, rows, L,
                   lout);
}

static const dnacl_layer_ops maxpool_ops = {
    .kind = "maxpool",
    .infer = maxpool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .backward_rescale = maxpool_backward_rescale,
    .deeplift = DNACL_DEEPLIFT_RESCALE,
};

dnacl_status dnacl_maxpool_new(dnacl_ctx *ctx, const char *name, int window, int stride,
                               dnacl_layer **out) {
  /* window/stride are validated by infer (a shape error naming the layer, reported where the
   * model checks its shapes), so that a model file error points at the layer's line. */
  maxpool_cfg cfg = {window, stride};
  DNACL_TRY(dnacl_layer_alloc(&maxpool_ops, name, &cfg, sizeof cfg, out));
  cl_kernel k;
  dnacl_status s = window >= 1 && stride >= 1 ? pool_kernel(ctx, &cfg, "maxpool_forward", &k)
                                              : DNACL_OK;
  if (s != DNACL_OK) {
    dnacl_layer_free(*out);
    *out = NULL;
  }
  return s;
}
