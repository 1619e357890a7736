/* Dropout with a counter-based mask (cl/dropout.cl): keep(seed, i) over the flat C-order
 * index i of the tensor, seed = l->seed, which the model sets before each forward
 * (dnacl_dropout_seed(run_seed, step, layer)). Train mode: y = x * keep / (1 - p); eval
 * mode: identity. No mask buffer: backward recomputes the mask from the seed the latest
 * forward used, so a seed changed between forward and backward cannot desynchronise them.
 *
 * DeepLIFT: no rescale rule (NULL). Explainers run in eval mode, where dropout is the
 * identity, i.e. linear, and its backward is already exact. */
#include <math.h>
#include <stdio.h>

#include "nn/layer.h"

typedef struct dropout_cfg {
  float p;
  /* State of the latest forward, for backward. */
  int last_train;
  uint32_t last_seed;
} dropout_cfg;

/* Elements per work-item of cl/dropout.cl (DROP_VEC): 16 on CPUs, 1 on GPUs. */
static int drop_vec(const dnacl_ctx *ctx) { return ctx->is_cpu ? 16 : 1; }

static dnacl_status drop_kernel(dnacl_ctx *ctx, cl_kernel *k) {
  char opts[32];
  snprintf(opts, sizeof opts, "-DDROP_VEC=%d", drop_vec(ctx));
  return dnacl_kernel(ctx, "dropout", opts, "dropout_apply", k);
}

static dnacl_status dropout_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  (void)l;
  *out = *in;
  return DNACL_OK;
}

/* Mask and scale for one tensor: dst = keep ? src / (1 - p) : 0, or dst = src when the
 * layer is the identity (eval mode, p == 0). */
static dnacl_status dropout_apply(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *src,
                                  dnacl_tensor *dst, int train, uint32_t seed) {
  const dropout_cfg *c = l->cfg;
  if (dst->n != src->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "dropout %s: %zu elements in, %zu out", l->name, src->n,
                      dst->n);
  if (!train || c->p == 0.0f) return dst->buf == src->buf ? DNACL_OK : dnacl_tensor_copy(ctx, dst, src);
  if (src->n > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "dropout %s: %zu elements exceed the int index range",
                      l->name, src->n);
  /* keep <=> (h >> 8) * 2^-24 >= p <=> (h >> 8) >= ceil(p * 2^24): p * 2^24 is exact in
   * double, so the integer threshold reproduces the real-number comparison bit for bit. */
  double thr = ceil((double)c->p * 16777216.0);
  /* 1/(1-p) rounded once to float; x * scale is then within 1 ulp of the correctly
   * rounded x / (1 - p) (exact for p = 0.5). */
  float scale = (float)(1.0 / (1.0 - (double)c->p));
  cl_kernel k;
  DNACL_TRY(drop_kernel(ctx, &k));
  const size_t v = (size_t)drop_vec(ctx), g = (src->n + v - 1) / v;
  return dnacl_run(ctx, k, 1, &g, NULL, "mmiuuf", src->buf, dst->buf, (int)src->n,
                   (unsigned)seed, (unsigned)thr, (double)scale);
}

static dnacl_status dropout_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                    dnacl_tensor *y, int train) {
  dropout_cfg *c = l->cfg;
  c->last_train = train;
  c->last_seed = l->seed;
  return dropout_apply(l, ctx, x, y, train, l->seed);
}

static dnacl_status dropout_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                     const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                     int param_grads) {
  (void)x;
  (void)y;
  (void)param_grads; /* no parameters */
  if (!dx) return DNACL_OK;
  const dropout_cfg *c = l->cfg;
  return dropout_apply(l, ctx, dy, dx, c->last_train, c->last_seed);
}

static const dnacl_layer_ops dropout_ops = {
    .kind = "dropout",
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .deeplift = DNACL_DEEPLIFT_LINEAR, /* the identity in eval mode, where explainers run */
};

dnacl_status dnacl_dropout_new(dnacl_ctx *ctx, const char *name, float p, dnacl_layer **out) {
  /* p == 1 would scale by infinity; NaN fails both comparisons and is rejected too. */
  if (!(p >= 0.0f && p < 1.0f))
    return dnacl_fail(DNACL_ERR_ARG, "dropout %s: rate %g is not in [0, 1)", name, (double)p);
  dropout_cfg cfg = {p, 0, 0};
  DNACL_TRY(dnacl_layer_alloc(&dropout_ops, name, &cfg, sizeof cfg, out));
  /* Build the kernel now so a device that cannot compile it fails at construction. */
  cl_kernel k;
  dnacl_status s = drop_kernel(ctx, &k);
  if (s != DNACL_OK) {
    dnacl_layer_free(*out);
    *out = NULL;
  }
  return s;
}
