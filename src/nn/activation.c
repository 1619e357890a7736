/* Elementwise activation layers: linear, relu, exponential, gelu (tanh and erf), sigmoid,
 * tanh, softplus, elu. Kernels in cl/activation.cl, one program per function (-D ACT=n).
 *
 * Shape: any, y has x's shape. No parameters, no saved state: backward needs only x.
 * DeepLIFT: every nonlinear activation has the rescale rule (see act_rescale in the .cl for
 * the small-difference fallback); linear has none because its backward is already exact. */
#include <stdio.h>
#include <string.h>

#include "nn/layer.h"

typedef struct act_cfg {
  dnacl_act act;
} act_cfg;

/* Canonical names, indexed by dnacl_act; "gelu" is accepted as an alias of gelu_tanh. */
static const char *const act_names[DNACL_ACT_COUNT] = {
    "linear", "relu", "exponential", "gelu_tanh", "gelu_erf", "sigmoid", "tanh", "softplus", "elu"};

int dnacl_act_from_name(const char *name) {
  if (!name) return -1;
  if (!strcmp(name, "gelu")) return DNACL_ACT_GELU_TANH;
  for (int i = 0; i < DNACL_ACT_COUNT; i++)
    if (!strcmp(name, act_names[i])) return i;
  return -1;
}

const char *dnacl_act_name(dnacl_act a) {
  return (int)a >= 0 && a < DNACL_ACT_COUNT ? act_names[a] : "unknown";
}

/* Elements per work-item (cl/activation.cl): a float16 on CPUs, whose vector units PoCL
 * reaches through the float16 overloads of exp, erfc, ...; one float on GPUs. */
static int act_vec(const dnacl_ctx *ctx) { return ctx->is_cpu ? 16 : 1; }

static dnacl_status act_kernel(dnacl_ctx *ctx, const dnacl_layer *l, const char *name,
                               cl_kernel *k) {
  char opts[48];
  snprintf(opts, sizeof opts, "-DACT=%d -DACT_VEC=%d", (int)((const act_cfg *)l->cfg)->act,
           act_vec(ctx));
  return dnacl_kernel(ctx, "activation", opts, name, k);
}

/* The global size for n elements: one work-item per act_vec elements. */
static size_t act_global(const dnacl_ctx *ctx, size_t n) {
  const size_t v = (size_t)act_vec(ctx);
  return (n + v - 1) / v;
}

/* Every tensor an elementwise kernel touches must have x's element count. */
static dnacl_status same_count(const dnacl_layer *l, const char *what, const dnacl_tensor *x,
                               const dnacl_tensor *t) {
  if (t->n != x->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "activation %s (%s): %s has %zu elements, input has %zu",
                      l->name, dnacl_act_name(((const act_cfg *)l->cfg)->act), what, t->n, x->n);
  if (x->n > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "activation %s: %zu elements exceed the int index range",
                      l->name, x->n);
  return DNACL_OK;
}

static dnacl_status act_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  (void)l;
  *out = *in;
  return DNACL_OK;
}

static dnacl_status act_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                dnacl_tensor *y, int train) {
  (void)train;
  DNACL_TRY(same_count(l, "output", x, y));
  if (((act_cfg *)l->cfg)->act == DNACL_ACT_LINEAR)
    return y->buf == x->buf ? DNACL_OK : dnacl_tensor_copy(ctx, y, x);
  cl_kernel k;
  DNACL_TRY(act_kernel(ctx, l, "act_forward", &k));
  size_t g = act_global(ctx, x->n);
  return dnacl_run(ctx, k, 1, &g, NULL, "mmi", x->buf, y->buf, (int)x->n);
}

static dnacl_status act_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                 const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                 int param_grads) {
  (void)y;
  (void)param_grads; /* no parameters */
  if (!dx) return DNACL_OK;
  DNACL_TRY(same_count(l, "upstream gradient", x, dy));
  DNACL_TRY(same_count(l, "input gradient", x, dx));
  if (((act_cfg *)l->cfg)->act == DNACL_ACT_LINEAR)
    return dx->buf == dy->buf ? DNACL_OK : dnacl_tensor_copy(ctx, dx, dy);
  cl_kernel k;
  DNACL_TRY(act_kernel(ctx, l, "act_backward", &k));
  size_t g = act_global(ctx, x->n);
  return dnacl_run(ctx, k, 1, &g, NULL, "mmmi", x->buf, dy->buf, dx->buf, (int)x->n);
}

static dnacl_status act_backward_rescale(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                         const dnacl_tensor *xref, const dnacl_tensor *y,
                                         const dnacl_tensor *yref, const dnacl_tensor *dy,
                                         dnacl_tensor *dx) {
  DNACL_TRY(same_count(l, "reference input", x, xref));
  DNACL_TRY(same_count(l, "output", x, y));
  DNACL_TRY(same_count(l, "reference output", x, yref));
  DNACL_TRY(same_count(l, "upstream gradient", x, dy));
  DNACL_TRY(same_count(l, "input gradient", x, dx));
  cl_kernel k;
  DNACL_TRY(act_kernel(ctx, l, "act_rescale", &k));
  size_t g = act_global(ctx, x->n);
  return dnacl_run(ctx, k, 1, &g, NULL, "mmmmmmi", x->buf, xref->buf, y->buf, yref->buf, dy->buf,
                   dx->buf, (int)x->n);
}

/* One table per function so ops->kind names it ("relu", "gelu_tanh", ...) in errors and in
 * explainers' refusals. Linear needs no rescale rule: its backward is exact. */
#define ACT_OPS(nm, rule)                                                                     \
  {                                                                                           \
    .kind = nm, .infer = act_infer, .forward = act_forward, .backward = act_backward,         \
    .backward_rescale = (rule) == DNACL_DEEPLIFT_RESCALE ? act_backward_rescale : NULL,       \
    .deeplift = rule                                                                          \
  }
static const dnacl_layer_ops act_ops[DNACL_ACT_COUNT] = {
    ACT_OPS("linear", DNACL_DEEPLIFT_LINEAR),
    ACT_OPS("relu", DNACL_DEEPLIFT_RESCALE),
    ACT_OPS("exponential", DNACL_DEEPLIFT_RESCALE),
    ACT_OPS("gelu_tanh", DNACL_DEEPLIFT_RESCALE),
    ACT_OPS("gelu_erf", DNACL_DEEPLIFT_RESCALE),
    ACT_OPS("sigmoid", DNACL_DEEPLIFT_RESCALE),
    ACT_OPS("tanh", DNACL_DEEPLIFT_RESCALE),
    ACT_OPS("softplus", DNACL_DEEPLIFT_RESCALE),
    ACT_OPS("elu", DNACL_DEEPLIFT_RESCALE),
};

dnacl_status dnacl_act_new(dnacl_ctx *ctx, const char *name, dnacl_act act, dnacl_layer **out) {
  if ((int)act < 0 || act >= DNACL_ACT_COUNT)
    return dnacl_fail(DNACL_ERR_ARG, "activation %s: unknown activation %d", name, (int)act);
  act_cfg cfg = {act};
  DNACL_TRY(dnacl_layer_alloc(&act_ops[act], name, &cfg, sizeof cfg, out));
  if (act != DNACL_ACT_LINEAR) {
    /* Build the program now so a kernel that does not compile on this device fails at
     * model construction, naming the layer, rather than in the middle of training. */
    cl_kernel k;
    dnacl_status s = act_kernel(ctx, *out, "act_forward", &k);
    if (s != DNACL_OK) {
      dnacl_layer_free(*out);
      *out = NULL;
      return s;
    }
  }
  return DNACL_OK;
}
