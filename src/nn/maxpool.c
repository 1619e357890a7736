/* Max pooling along the length: (B, C, L) -> (B, C, floor((L - W)/S) + 1), no padding
 * (PyTorch's max_pool1d(x, W, S)). Kernels in cl/pool.cl.
 *
 * No saved state: backward recomputes each window's argmax from x, which is cheaper than
 * keeping an index buffer per batch shape and works after an eval-mode forward too.
 *
 * DeepLIFT rule ("max" rule, as in DeepLIFT's reference implementation for maxpool,
 * DeepExplain and tangermeme): the multiplier of each window is routed entirely to the
 * argmax of the ACTUAL input, i.e. backward_rescale is the ordinary gradient at x and
 * ignores the reference. This does not by itself make contributions sum exactly to
 * y - yref through a pool whose argmax differs between x and xref; that is the accepted
 * approximation of the rule, and DeepLIFT's completeness check reports the delta. */
#include <stdio.h>

#include "nn/layer.h"

typedef struct maxpool_cfg {
  int window, stride;
} maxpool_cfg;

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
  DNACL_TRY(dnacl_kernel(ctx, "pool", "", "maxpool_forward", &k));
  size_t g = y->n;
  return dnacl_run(ctx, k, 1, &g, NULL, "mmiiiii", x->buf, y->buf, rows, L, lout, c->window,
                   c->stride);
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
  DNACL_TRY(dnacl_kernel(ctx, "pool", "", "maxpool_backward", &k));
  size_t g = x->n;
  return dnacl_run(ctx, k, 1, &g, NULL, "mmmiiiii", x->buf, dy->buf, dx->buf, rows, L, lout,
                   c->window, c->stride);
}

/* The "max" rule: the gradient through the argmax of the actual input (see the top). */
static dnacl_status maxpool_backward_rescale(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                             const dnacl_tensor *xref, const dnacl_tensor *y,
                                             const dnacl_tensor *yref, const dnacl_tensor *dy,
                                             dnacl_tensor *dx) {
  if (xref->n != x->n || yref->n != y->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "maxpool %s: reference shapes differ from the input's",
                      l->name);
  return maxpool_backward(l, ctx, x, y, dy, dx, 0);
}

static const dnacl_layer_ops maxpool_ops = {"maxpool", maxpool_infer, maxpool_forward,
                                            maxpool_backward, maxpool_backward_rescale, NULL};

dnacl_status dnacl_maxpool_new(dnacl_ctx *ctx, const char *name, int window, int stride,
                               dnacl_layer **out) {
  /* window/stride are validated by infer (a shape error naming the layer, reported where the
   * model checks its shapes), so that a model file error points at the layer's line. */
  maxpool_cfg cfg = {window, stride};
  DNACL_TRY(dnacl_layer_alloc(&maxpool_ops, name, &cfg, sizeof cfg, out));
  cl_kernel k;
  dnacl_status s = dnacl_kernel(ctx, "pool", "", "maxpool_forward", &k);
  if (s != DNACL_OK) {
    dnacl_layer_free(*out);
    *out = NULL;
  }
  return s;
}
