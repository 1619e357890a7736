/* Batch normalisation over the channel dimension of (B, C, L) or (B, C), as
 * torch.nn.BatchNorm1d: train mode normalises with the batch mean and biased variance per
 * channel (over B and L) and updates the running statistics with the unbiased variance;
 * eval mode normalises with the running statistics.
 *
 * Params: gamma (init 1), beta (init 0), both trainable without weight decay; rmean
 * (init 0) and rvar (init 1), buffers (trainable 0) saved in checkpoints.
 * Saved: [0] mean (C), [1] invstd (C) of the latest forward (batch or running, by mode),
 * [2] the backward's per-channel sums (2C).
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

enum { S_MEAN = 0, S_INVSTD = 1, S_SUMS = 2 };

/* Largest power of two <= min(256, what the kernel allows): the tree reductions need a
 * power of two, and 256 keeps local memory small on every device. */
static size_t reduce_wg(dnacl_ctx *ctx, cl_kernel k) {
  size_t kmax = 0;
  if (clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax,
                               NULL) != CL_SUCCESS || kmax == 0)
    kmax = ctx->max_wg ? ctx->max_wg : 1;
  size_t wg = 1;
  while (wg * 2 <= kmax && wg * 2 <= 256) wg *= 2;
  return wg;
}

static dnacl_status bn_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const bn_cfg *cfg = l->cfg;
  if ((in->ndim != 2 && in->ndim != 3) || in->d[1] != cfg->channels)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "batchnorm %s: expects (batch, %d, length) or (batch, %d), got a rank-%d input "
                      "with %d channels",
                      l->name, cfg->channels, cfg->channels, in->ndim, in->ndim > 1 ? in->d[1] : 0);
  *out = *in;
  return DNACL_OK;
}

/* B and L of x (L = 1 for (B, C)), after checking x against the layer. */
static dnacl_status bn_dims(const dnacl_layer *l, const dnacl_tensor *x, int *B, int *L) {
  dnacl_shape in = dnacl_tensor_shape(x), out;
  DNACL_TRY(bn_infer(l, &in, &out));
  *B = x->shape[0];
  *L = x->ndim == 3 ? x->shape[2] : 1;
  return DNACL_OK;
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
  cl_mem mean = l->saved[S_MEAN].buf, invstd = l->saved[S_INVSTD].buf;
  cl_kernel k;
  if (train) {
    DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_stats", &k));
    size_t wg = reduce_wg(ctx, k), g = (size_t)C * wg;
    DNACL_TRY(dnacl_run(ctx, k, 1, &g, &wg, "miiiffimmmml", x->buf, B, C, L, (double)cfg->eps,
                        (double)cfg->momentum, 1, mean, invstd, rmean->value.buf, rvar->value.buf,
                        (int)wg));
  } else {
    DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_eval_stats", &k));
    size_t g = (size_t)C;
    DNACL_TRY(dnacl_run(ctx, k, 1, &g, NULL, "mmifmm", rmean->value.buf, rvar->value.buf, C,
                        (double)cfg->eps, mean, invstd));
  }
  DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_apply", &k));
  size_t n = x->n;
  DNACL_TRY(dnacl_run(ctx, k, 1, &n, NULL, "mmmmmmiii", x->buf, mean, invstd, gamma->value.buf,
                      beta->value.buf, y->buf, C, L, (int)x->n));
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
  cl_mem mean = l->saved[S_MEAN].buf, invstd = l->saved[S_INVSTD].buf;
  const int train = cfg->last_train;
  cl_kernel k;
  size_t n = x->n;
  /* The per-channel sums are needed for the parameter gradients, and in train mode for dx
   * as well (the batch statistics depend on every input). */
  if (param_grads || (train && dx)) {
    int sshape[1] = {2 * C};
    DNACL_TRY(dnacl_layer_scratch(l, ctx, S_SUMS, 1, sshape));
    DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_bwd_reduce", &k));
    size_t wg = reduce_wg(ctx, k), g = (size_t)C * wg;
    DNACL_TRY(dnacl_run(ctx, k, 1, &g, &wg, "mmmmiiiml", x->buf, dy->buf, mean, invstd, B, C, L,
                        l->saved[S_SUMS].buf, (int)(2 * wg)));
  }
  if (dx) {
    if (train) {
      DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_bwd_dx_train", &k));
      DNACL_TRY(dnacl_run(ctx, k, 1, &n, NULL, "mmmmmmmiiif", x->buf, dy->buf, mean, invstd,
                          gamma->value.buf, l->saved[S_SUMS].buf, dx->buf, C, L, (int)n,
                          1.0 / ((double)B * L)));
    } else {
      DNACL_TRY(dnacl_kernel(ctx, "norm", "", "bn_bwd_dx_eval", &k));
      DNACL_TRY(dnacl_run(ctx, k, 1, &n, NULL, "mmmmiii", dy->buf, invstd, gamma->value.buf,
                          dx->buf, C, L, (int)n));
    }
  }
  if (param_grads) {
    /* sums = [sum(dy) | sum(dy * xhat)] = [dbeta | dgamma]. */
    const size_t cb = (size_t)C * sizeof(float);
    DNACL_CL(clEnqueueCopyBuffer(ctx->queue, l->saved[S_SUMS].buf, beta->grad.buf, 0, 0, cb, 0,
                                 NULL, NULL));
    DNACL_CL(clEnqueueCopyBuffer(ctx->queue, l->saved[S_SUMS].buf, gamma->grad.buf, cb, 0, cb, 0,
                                 NULL, NULL));
  }
  return DNACL_OK;
}

static const dnacl_layer_ops bn_ops = {
    .kind = "batchnorm",
    .infer = bn_infer,
    .forward = bn_forward,
    .backward = bn_backward,
    .backward_rescale = NULL, /* affine in eval mode: backward is exact */
    .destroy = NULL,
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
