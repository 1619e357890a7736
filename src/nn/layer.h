/* The layer contract (DESIGN.md, "The core contract: a layer").
 *
 * A layer is a struct with a table of functions: shape inference, forward (train/eval),
 * backward (input gradient and parameter gradients), and, for nonlinear layers, the
 * DeepLIFT rescale rule. No autograd: a model is an ordered list of layers and calls these
 * in order, forward then reverse. Shapes include the batch as dimension 0; activations are
 * (batch, channels, length) with length contiguous, dense activations (batch, features). */
#ifndef DNACL_LAYER_H
#define DNACL_LAYER_H

#include <stdint.h>

#include "runtime/runtime.h"

typedef struct dnacl_shape {
  int ndim;
  int d[DNACL_MAX_DIMS];
} dnacl_shape;

#define DNACL_MAX_PARAMS 16
#define DNACL_MAX_SAVED 8

typedef struct dnacl_param {
  char name[48];       /* "w", "b", "gamma", "beta", "rmean", "rvar", "wq", ... */
  dnacl_tensor value;
  dnacl_tensor grad;   /* same shape; unallocated (buf NULL) for buffers like running stats */
  int trainable;       /* 0 for running statistics: no gradient, no optimiser step */
  int decay;           /* 1 if weight decay / L2 applies (weights, not biases or norms) */
} dnacl_param;

typedef struct dnacl_layer dnacl_layer;

/* How DeepLIFT passes multipliers through a layer (src/explain/deeplift.c). The zero value
 * is "no rule", so a new layer kind is refused by explainers until it states one. */
typedef enum dnacl_deeplift_rule {
  DNACL_DEEPLIFT_NONE = 0, /* refused by name: the layer is not elementwise and not affine */
  DNACL_DEEPLIFT_LINEAR,   /* affine in eval mode: the ordinary backward is the multiplier exactly */
  DNACL_DEEPLIFT_RESCALE,  /* backward_rescale computes the multipliers */
} dnacl_deeplift_rule;

typedef struct dnacl_layer_ops {
  const char *kind;  /* "conv1d", "dense", "batchnorm", "relu", ... */
  /* Output shape for an input shape. Shapes that cannot work are DNACL_ERR_SHAPE with a
   * message naming the layer, before any kernel runs. */
  dnacl_status (*infer)(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out);
  /* y = f(x). train selects batch statistics / dropout. Whatever backward needs beyond x
   * and y is kept in l->saved. */
  dnacl_status (*forward)(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x, dnacl_tensor *y,
                          int train);
  /* Given dy = dL/dy: writes dx (skipped when dx is NULL) and, when param_grads is set,
   * OVERWRITES every trainable param's grad with dL/dparam for this batch. Uses the x and y
   * of the latest forward. */
  dnacl_status (*backward)(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                           const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                           int param_grads);
  /* DeepLIFT multipliers, for layers whose rule is DNACL_DEEPLIFT_RESCALE (NULL otherwise):
   * for elementwise nonlinearities the rescale rule dx = dy * m with
   * m = (y - yref)/(x - xref), falling back to the gradient where |x - xref| < 1e-6; for
   * maxpool the split rule of SHAP/captum (src/nn/maxpool.c). */
  dnacl_status (*backward_rescale)(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                   const dnacl_tensor *xref, const dnacl_tensor *y,
                                   const dnacl_tensor *yref, const dnacl_tensor *dy,
                                   dnacl_tensor *dx);
  void (*destroy)(dnacl_layer *l);  /* free cfg-owned resources; params/saved are freed by dnacl_layer_free */
  dnacl_deeplift_rule deeplift;
} dnacl_layer_ops;

struct dnacl_layer {
  const dnacl_layer_ops *ops;
  char name[64];                 /* unique within a model: "conv1", "bn1", ... used in errors and checkpoints */
  dnacl_param params[DNACL_MAX_PARAMS];
  int n_params;
  dnacl_tensor saved[DNACL_MAX_SAVED]; /* scratch kept from forward for backward */
  uint32_t seed;                 /* per-call RNG seed (dropout), set by the model before forward */
  void *cfg;                     /* the layer kind's own configuration, malloc'ed */
};

/* Allocate a layer with ops and a copy of cfg (cfg_size bytes). */
dnacl_status dnacl_layer_alloc(const dnacl_layer_ops *ops, const char *name, const void *cfg,
                               size_t cfg_size, dnacl_layer **out);
/* Add a parameter of the given shape (value and, if trainable, grad), zero-filled. */
dnacl_status dnacl_layer_add_param(dnacl_layer *l, dnacl_ctx *ctx, const char *name, int ndim,
                                   const int *shape, int trainable, int decay, dnacl_param **out);
dnacl_param *dnacl_layer_param(dnacl_layer *l, const char *name);
/* (Re)allocate saved[i] unless it already has this shape. */
dnacl_status dnacl_layer_scratch(dnacl_layer *l, dnacl_ctx *ctx, int i, int ndim, const int *shape);
void dnacl_layer_free(dnacl_layer *l);

/* For layers that act per channel on (B, C, L) or (B, C) (batchnorm, layernorm): check
 * the rank and channel count, with an error naming the layer's kind and name; on success
 * *B and *L (1 for (B, C)) are set when not NULL. */
dnacl_status dnacl_check_channel_input(const dnacl_layer *l, int channels, const dnacl_shape *in, int *B,
                                       int *L);
/* Local size of their per-channel reductions, a work-group per channel (cl/norm.cl explains
 * the split). CPU: one work-item, which walks the rows with vector loads. GPU: a power of
 * two <= 256 (the tree reduction needs one) no wider than the row of L elements, since
 * work-item lid takes elements lid, lid + wg, ... and any beyond L would idle. */
size_t dnacl_channel_group(dnacl_ctx *ctx, cl_kernel k, int L);

int dnacl_shape_equal(const dnacl_shape *a, const dnacl_shape *b);
size_t dnacl_shape_count(const dnacl_shape *s);
dnacl_shape dnacl_tensor_shape(const dnacl_tensor *t);

/* ---- constructors, one per file in src/nn/ ------------------------------------------ */

typedef enum dnacl_act {
  DNACL_ACT_LINEAR = 0,
  DNACL_ACT_RELU,
  DNACL_ACT_EXP,
  DNACL_ACT_GELU_TANH, /* Flax's default and the chapter's */
  DNACL_ACT_GELU_ERF,
  DNACL_ACT_SIGMOID,
  DNACL_ACT_TANH,
  DNACL_ACT_SOFTPLUS,
  DNACL_ACT_ELU,
  DNACL_ACT_COUNT
} dnacl_act;
/* "relu", "exponential", "gelu" (tanh approx.), "gelu_tanh", "gelu_erf", "sigmoid", "tanh",
 * "softplus", "elu", "linear"; returns -1 for an unknown name. */
int dnacl_act_from_name(const char *name);
const char *dnacl_act_name(dnacl_act a);

dnacl_status dnacl_conv1d_new(dnacl_ctx *ctx, const char *name, int cin, int cout, int kernel,
                              int same_padding, int dilation, int bias, dnacl_layer **out);
dnacl_status dnacl_dense_new(dnacl_ctx *ctx, const char *name, int in, int out_features, int bias,
                             dnacl_layer **out);
dnacl_status dnacl_act_new(dnacl_ctx *ctx, const char *name, dnacl_act act, dnacl_layer **out);
dnacl_status dnacl_batchnorm_new(dnacl_ctx *ctx, const char *name, int channels, float eps,
                                 float momentum, dnacl_layer **out);
dnacl_status dnacl_layernorm_new(dnacl_ctx *ctx, const char *name, int channels, float eps,
                                 dnacl_layer **out);
dnacl_status dnacl_maxpool_new(dnacl_ctx *ctx, const char *name, int window, int stride,
                               dnacl_layer **out);
dnacl_status dnacl_flatten_new(dnacl_ctx *ctx, const char *name, dnacl_layer **out);
dnacl_status dnacl_dropout_new(dnacl_ctx *ctx, const char *name, float p, dnacl_layer **out);
dnacl_status dnacl_transformer_new(dnacl_ctx *ctx, const char *name, int channels, int heads,
                                   int mlp, float dropout, dnacl_layer **out);
dnacl_status dnacl_attention_new(dnacl_ctx *ctx, const char *name, int channels, int heads,
                                 dnacl_layer **out);

/* ---- counter-based RNG shared by dropout kernels, host code and tools/make_goldens.py --- */
static inline uint32_t dnacl_mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
/* The seed of dropout layer number `layer` (0-based among dropout layers) at `step`. */
static inline uint32_t dnacl_dropout_seed(uint32_t run_seed, uint32_t step, uint32_t layer) {
  return dnacl_mix32(run_seed ^ dnacl_mix32(step * 0x9E3779B9u + layer));
}
#endif
