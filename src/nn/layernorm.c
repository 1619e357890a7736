/* Layer normalisation over the channel dimension: for each (b, l) of a (B, C, L) input the
 * C values are normalised with their own mean and biased variance, then scaled and shifted
 * per channel: torch.nn.LayerNorm(C) applied to x.transpose(1, 2). A (B, C) input is
 * normalised over C for each row (L = 1). Train and eval modes are the same.
 *
 * Params: gamma (init 1), beta (init 0), trainable, no weight decay.
 * Saved: [0] mean (B*L), [1] invstd (B*L) of the latest forward.
 *
 * No DeepLIFT rule: the statistics couple all channels, so the elementwise rescale rule does
 * not cover it and explainers refuse the layer by name. */
#include <stdio.h>

#include "nn/layer.h"

typedef struct ln_cfg {
  int channels;
  float eps;
} ln_cfg;

enum { S_MEAN = 0, S_INVSTD = 1 };

/* Positions per work-item of ln_forward and ln_bwd_dx (LN_VEC in cl/norm.cl): a float16 of
 * adjacent positions on CPUs, one position on GPUs. */
static int ln_vec(const dnacl_ctx *ctx) { return ctx->is_cpu ? 16 : 1; }

static dnacl_status ln_kernel(dnacl_ctx *ctx, const char *name, cl_kernel *k) {
  char opts[32];
  snprintf(opts, sizeof opts, "-DLN_VEC=%d", ln_vec(ctx));
  return dnacl_kernel(ctx, "norm", opts, name, k);
}

/* B * ceil(L / LN_VEC) work-items. */
static size_t ln_global(const dnacl_ctx *ctx, int B, int L) {
  const int v = ln_vec(ctx);
  return (size_t)B * (size_t)((L + v - 1) / v);
}

static dnacl_status ln_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const ln_cfg *cfg = l->cfg;
  DNACL_TRY(dnacl_check_channel_input(l, cfg->channels, in, NULL, NULL));
  *out = *in;
  return DNACL_OK;
}

static dnacl_status ln_dims(const dnacl_layer *l, const dnacl_tensor *x, int *B, int *L) {
  dnacl_shape in = dnacl_tensor_shape(x);
  return dnacl_check_channel_input(l, ((const ln_cfg *)l->cfg)->channels, &in, B, L);
}

static dnacl_status ln_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x, dnacl_tensor *y,
                               int train) {
  (void)train;
  const ln_cfg *cfg = l->cfg;
  int B, L, C = cfg->channels;
  DNACL_TRY(ln_dims(l, x, &B, &L));
  if (y->n != x->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "layernorm %s: output has %zu elements, input %zu", l->name,
                      y->n, x->n);
  int sshape[1] = {B * L};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_MEAN, 1, sshape));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_INVSTD, 1, sshape));
  cl_kernel k;
  DNACL_TRY(ln_kernel(ctx, "ln_forward", &k));
  size_t g = ln_global(ctx, B, L);
  return dnacl_run(ctx, k, 1, &g, NULL, "mmmmmmiiif", x->buf, dnacl_layer_param(l, "gamma")->value.buf,
                   dnacl_layer_param(l, "beta")->value.buf, y->buf, l->saved[S_MEAN].buf,
                   l->saved[S_INVSTD].buf, B, C, L, (double)cfg->eps);
}

static dnacl_status ln_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                int param_grads) {
  (void)y;
  const ln_cfg *cfg = l->cfg;
  int B, L, C = cfg->channels;
  DNACL_TRY(ln_dims(l, x, &B, &L));
  if (!l->saved[S_MEAN].buf || l->saved[S_MEAN].n != (size_t)B * L)
    return dnacl_fail(DNACL_ERR_ARG, "layernorm %s: backward without a forward of this shape",
                      l->name);
  if (dy->n != x->n || (dx && dx->n != x->n))
    return dnacl_fail(DNACL_ERR_SHAPE, "layernorm %s: dy/dx do not match the input's %zu elements",
                      l->name, x->n);
  dnacl_param *gamma = dnacl_layer_param(l, "gamma"), *beta = dnacl_layer_param(l, "beta");
  cl_mem mean = l->saved[S_MEAN].buf, invstd = l->saved[S_INVSTD].buf;
  cl_kernel k;
  if (dx) {
    DNACL_TRY(ln_kernel(ctx, "ln_bwd_dx", &k));
    size_t g = ln_global(ctx, B, L);
    DNACL_TRY(dnacl_run(ctx, k, 1, &g, NULL, "mmmmmmiii", x->buf, dy->buf, gamma->value.buf, mean,
                        invstd, dx->buf, B, C, L));
  }
  if (param_grads) {
    DNACL_TRY(ln_kernel(ctx, "ln_bwd_params", &k));
    size_t wg = dnacl_channel_group(ctx, k, L), g = (size_t)C * wg;
    DNACL_TRY(dnacl_run(ctx, k, 1, &g, &wg, "mmmmiiimml", x->buf, dy->buf, mean, invstd, B, C, L,
                        gamma->grad.buf, beta->grad.buf, (int)(2 * wg)));
  }
  return DNACL_OK;
}

static const dnacl_layer_ops ln_ops = {
    .kind = "layernorm",
    .infer = ln_infer,
    .forward = ln_forward,
    .backward = ln_backward,
    .destroy = NULL,
    .deeplift = DNACL_DEEPLIFT_NONE, /* divides by a statistic of its input */
};

dnacl_status dnacl_layernorm_new(dnacl_ctx *ctx, const char *name, int channels, float eps,
                                 dnacl_layer **out) {
  if (channels <= 0 || !(eps > 0))
    return dnacl_fail(DNACL_ERR_ARG, "layernorm %s: needs channels > 0 and eps > 0 (got %d, %g)",
                      name, channels, (double)eps);
  ln_cfg cfg = {channels, eps};
  dnacl_layer *l;
  DNACL_TRY(dnacl_layer_alloc(&ln_ops, name, &cfg, sizeof cfg, &l));
  int shape[1] = {channels};
  dnacl_param *gamma;
  dnacl_status s = dnacl_layer_add_param(l, ctx, "gamma", 1, shape, 1, 0, &gamma);
  if (s == DNACL_OK) s = dnacl_layer_add_param(l, ctx, "beta", 1, shape, 1, 0, NULL);
  if (s == DNACL_OK) s = dnacl_tensor_fill(ctx, &gamma->value, 1.0f);
  if (s != DNACL_OK) {
    dnacl_layer_free(l);
    return s;
  }
  *out = l;
  return DNACL_OK;
}
