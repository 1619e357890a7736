/* Flatten: (B, C, L) -> (B, C*L) in C-major order (feature c*L + l), PyTorch's
 * x.flatten(1). The row-major layout already is that order, so the data do not move: forward
 * and backward are nothing at all when the caller hands the same buffer in and out (a
 * dnacl_tensor_view, as dnacl_model_plan does), else a copy. Rank-2 inputs pass through
 * unchanged.
 *
 * DeepLIFT: no rescale rule (NULL); flatten is linear and its backward is exact. */
#include "nn/layer.h"

static dnacl_status flatten_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  if (in->ndim < 2)
    return dnacl_fail(DNACL_ERR_SHAPE, "flatten %s: input must have a batch and at least one more "
                      "dimension, got rank %d", l->name, in->ndim);
  size_t f = 1;
  for (int i = 1; i < in->ndim; i++) f *= (size_t)in->d[i];
  if (f > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "flatten %s: %zu features per sample is too many", l->name, f);
  out->ndim = 2;
  out->d[0] = in->d[0];
  out->d[1] = (int)f;
  for (int i = 2; i < DNACL_MAX_DIMS; i++) out->d[i] = 0;
  return DNACL_OK;
}

static dnacl_status flatten_move(const dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *src,
                                 dnacl_tensor *dst) {
  if (dst->n != src->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "flatten %s: %zu elements in, %zu out", l->name, src->n, dst->n);
  return dst->buf == src->buf ? DNACL_OK : dnacl_tensor_copy(ctx, dst, src);
}

static dnacl_status flatten_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                    dnacl_tensor *y, int train) {
  (void)train;
  return flatten_move(l, ctx, x, y);
}

static dnacl_status flatten_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                     const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                     int param_grads) {
  (void)x;
  (void)y;
  (void)param_grads;
  return dx ? flatten_move(l, ctx, dy, dx) : DNACL_OK;
}

static const dnacl_layer_ops flatten_ops = {
    .kind = "flatten",
    .infer = flatten_infer,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .deeplift = DNACL_DEEPLIFT_LINEAR,
};

dnacl_status dnacl_flatten_new(dnacl_ctx *ctx, const char *name, dnacl_layer **out) {
  (void)ctx;
  return dnacl_layer_alloc(&flatten_ops, name, NULL, 0, out);
}
