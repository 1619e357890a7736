/* Batch normalisation over the channel dimension of (B, C, L) or (B, C), as
 * torch.nn.BatchNorm1d: train mode normalises with the batch mean and biased variance per
 * channel (over B and L) and updates the running statistics with the unbiased variance;
 * eval mode normalises with the running statistics.
 *
 * Params: gamma (init 1), beta (init 0), both trainable without weight decay; rmean
 * (init 0) and rvar (init 1), buffers (trainable 0) saved in checkpoints.
 * Saved: [0] mean (C), [1] invstd (C) of the latest forward (batch or running, by mode).
 *
 * Kernels (cl/norm.cl): bn_forward and bn_backward, one launch each, a work-group per
 * channel doing the statistics and the elementwise pass over the channel's data; on CPUs,
 * (B, C) inputs run bn_forward_cols / bn_backward_cols, 16 channels per work-item.
 *
 * No DeepLIFT rule: in eval mode (the mode explainers run in) the layer is affine per
 * channel, so its backward is already exact for DeepLIFT. */
#include "nn/layer.h"

typedef struct bn_cfg {
  int channels;
  float eps, momentum;
  int last_train; /* mode of the latest forward: backward must match it */
  int have_forward;
} bn_cfg;

enum { S_MEAN = 0, S_INVSTD = 1 };

/* (B, C) inputs on CPUs: 16 channels per work-item (bn_*_cols in cl/norm.cl). */
static int cols_path(const dnacl_ctx *ctx, int L) { return ctx->is_cpu && L == 1; }

static dnacl_status bn_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const bn_cfg *cfg = l->cfg;
  DNACL_TRY(dnacl_check_channel_input(l, cfg->channels, in, NULL, NULL));
  *out = *in;
  return DNACL_OK;
}

/* B and L of x (L = 1 for (B, C)), after checking x against the layer. */
static dnacl_status bn_dims(const dnacl_layer *l, const dnacl_tensor *x, int *B, int *L) {
  dnacl_shape in = dnacl_tensor_shape(x);
  return dnacl_check_channel_input(l, ((const bn_cfg *)l->cfg)->channels, &in, B, L);
}

static dnacl_status bn_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x, dnacl_tensor *y,
                               int train) {
  bn_cfg *cfg = l->cfg;
  int B, L, C = cfg->channels;
  DNACL_TRY(bn_dims(l, x, &B, &L));
  if (y->n != x->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "batchnorm %s: output has %zu elements, input %zu", l->name,
                      y->n, x->n);
  if (train && B * L < 2)
    /* The unbiased variance of one value is undefined (PyTorch refuses this too). */
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "batchnorm %s: train mode needs more than one value per channel (batch %d, "
                      "length %d)",
                      l->name, B, L);
  int cshape[1] = {C};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_MEAN, 1, cshape));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_INVSTD, 1, cshape));
  dnacl_param *gamma = dnacl_layer_param(l, "gamma"), *beta = dnacl_layer_param(l, "beta");
  dnacl_param *rmean = dnacl_layer_param(l, "rmean"), *rvar = dnacl_layer_param(l, "rvar");
  /* One launch: statistics (batch or running) and the normalisation, a work-group per
   * channel; on CPUs a (B, C) input has 16 channels per work-item instead. */
  cl_kernel k;
  if (cols_path(ctx, L)) {
    DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_forward_cols", &k));
    size_t g = ((size_t)C + 15) / 16;
    DNACL_TRY(dnacl_run(ctx, k, 1, &g, NULL, "mmiimmmmmmffi", x->buf, y->buf, B, C,
                        gamma->value.buf, beta->value.buf, rmean->value.buf, rvar->value.buf,
                        l->saved[S_MEAN].buf, l->saved[S_INVSTD].buf, (double)cfg->eps,
                        (double)cfg->momentum, train));
    cfg->last_train = train;
    cfg->have_forward = 1;
    return DNACL_OK;
  }
  DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_forward", &k));
  size_t wg = dnacl_channel_group(ctx, k, L), g = (size_t)C * wg;
  DNACL_TRY(dnacl_run(ctx, k, 1, &g, &wg, "mmiiimmmmmmffil", x->buf, y->buf, B, C, L,
                      gamma->value.buf, beta->value.buf, rmean->value.buf, rvar->value.buf,
                      l->saved[S_MEAN].buf, l->saved[S_INVSTD].buf, (double)cfg->eps,
                      (double)cfg->momentum, train, (int)wg));
  cfg->last_train = train;
  cfg->have_forward = 1;
  return DNACL_OK;
}

static dnacl_status bn_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                int param_grads) {
  (void)y;
  bn_cfg *cfg = l->cfg;
  int B, L, C = cfg->channels;
  DNACL_TRY(bn_dims(l, x, &B, &L));
  if (!cfg->have_forward)
    return dnacl_fail(DNACL_ERR_ARG, "batchnorm %s: backward before any forward", l->name);
  if (dy->n != x->n || (dx && dx->n != x->n))
    return dnacl_fail(DNACL_ERR_SHAPE, "batchnorm %s: dy/dx do not match the input's %zu elements",
                      l->name, x->n);
  dnacl_param *gamma = dnacl_layer_param(l, "gamma"), *beta = dnacl_layer_param(l, "beta");
  const int train = cfg->last_train;
  /* The per-channel sums are needed for the parameter gradients, and in train mode for dx
   * as well (the batch statistics depend on every input). One launch does the sums, the
   * parameter gradients and dx. Unused buffer arguments get a valid buffer (never
   * touched). */
  const int want_dx = dx != NULL, want_sums = param_grads || (train && want_dx);
  if (!want_dx && !param_grads) return DNACL_OK;
  cl_kernel k;
  cl_mem dgamma = param_grads ? gamma->grad.buf : l->saved[S_MEAN].buf;
  cl_mem dbeta = param_grads ? beta->grad.buf : l->saved[S_MEAN].buf;
  if (cols_path(ctx, L)) {
    DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_backward_cols", &k));
    size_t g = ((size_t)C + 15) / 16;
    return dnacl_run(ctx, k, 1, &g, NULL, "mmmiimmmmmiiiif", x->buf, dy->buf,
                     want_dx ? dx->buf : dy->buf, B, C, gamma->value.buf, l->saved[S_MEAN].buf,
                     l->saved[S_INVSTD].buf, dgamma, dbeta, train, want_dx, want_sums,
                     param_grads ? 1 : 0, 1.0 / ((double)B * L));
  }
  DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_backward", &k));
  size_t wg = dnacl_channel_group(ctx, k, L), g = (size_t)C * wg;
  DNACL_TRY(dnacl_run(ctx, k, 1, &g, &wg, "mmmiiimmmmmiiiifl", x->buf, dy->buf,
                      want_dx ? dx->buf : dy->buf, B, C, L, gamma->value.buf,
                      l->saved[S_MEAN].buf, l->saved[S_INVSTD].buf, dgamma, dbeta, train,
                      want_dx, want_sums, param_grads ? 1 : 0, 1.0 / ((double)B * L),
                      (int)(2 * wg)));
  return DNACL_OK;
}

static const dnacl_layer_ops bn_ops = {
    .kind = "batchnorm",
    .infer = bn_infer,
    .forward = bn_forward,
    .backward = bn_backward,
    .destroy = NULL,
    .deeplift = DNACL_DEEPLIFT_LINEAR, /* affine in eval mode, where explainers run */
};

dnacl_status dnacl_batchnorm_new(dnacl_ctx *ctx, const char *name, int channels, float eps,
                                 float momentum, dnacl_layer **out) {
  if (channels <= 0 || !(eps > 0) || !(momentum >= 0 && momentum <= 1))
    return dnacl_fail(DNACL_ERR_ARG,
                      "batchnorm %s: needs channels > 0, eps > 0 and momentum in [0, 1] (got %d, "
                      "%g, %g)",
                      name, channels, (double)eps, (double)momentum);
  bn_cfg cfg = {channels, eps, momentum, 0, 0};
  dnacl_layer *l;
  DNACL_TRY(dnacl_layer_alloc(&bn_ops, name, &cfg, sizeof cfg, &l));
  int shape[1] = {channels};
  dnacl_param *gamma, *rvar;
  dnacl_status s = dnacl_layer_add_param(l, ctx, "gamma", 1, shape, 1, 0, &gamma);
  if (s == DNACL_OK) s = dnacl_layer_add_param(l, ctx, "beta", 1, shape, 1, 0, NULL);
  if (s == DNACL_OK) s = dnacl_layer_add_param(l, ctx, "rmean", 1, shape, 0, 0, NULL);
  if (s == DNACL_OK) s = dnacl_layer_add_param(l, ctx, "rvar", 1, shape, 0, 0, &rvar);
  if (s == DNACL_OK) s = dnacl_tensor_fill(ctx, &gamma->value, 1.0f);
  if (s == DNACL_OK) s = dnacl_tensor_fill(ctx, &rvar->value, 1.0f);
  if (s != DNACL_OK) {
    dnacl_layer_free(l);
    return s;
  }
  *out = l;
  return DNACL_OK;
}
