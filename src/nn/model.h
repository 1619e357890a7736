/* A model: an ordered list of layers plus residual edges, with hand-written forward and
 * backward per layer (no autograd, no tape). Activations and their gradients live in
 * buffers owned by the model, planned once per batch size. */
#ifndef DNACL_MODEL_H
#define DNACL_MODEL_H

#include "io/model_spec.h"
#include "nn/layer.h"

typedef struct dnacl_node {
  dnacl_layer_kind kind;
  dnacl_layer *layer;   /* NULL for residual markers */
  int residual_begin;   /* for RESIDUAL_END: the node index of its RESIDUAL_BEGIN */
  int dropout_index;    /* >= 0 for layers that draw dropout masks: their rank among them */
  int line, col;        /* position in the model file, for errors */
} dnacl_node;

typedef struct dnacl_model {
  dnacl_model_spec spec;   /* owned copy of what the model was built from */
  dnacl_node *nodes;
  int n_nodes;
  int in_channels, length;
  int batch;               /* the batch size buffers are planned for; 0 = none yet */
  dnacl_tensor *acts;      /* acts[i] is node i's input, acts[n_nodes] the output (logits) */
  dnacl_tensor *grads;     /* gradients w.r.t. acts; grads[0] is the input gradient */
  dnacl_shape *shapes;     /* per-sample shapes of acts with batch 1 */
  uint32_t seed;           /* run seed for dropout masks */
  uint32_t step;           /* training step, mixed into dropout seeds */
  int profile;             /* 1: wait for the device after every layer and add up its time */
  double *fwd_s, *bwd_s;   /* per node, seconds (allocated when profile is set) */
  /* Incremental ISM's device buffers and index tables, kept between its calls
   * (src/explain/ism.c): they depend on the layers and batch sizes, never on parameter
   * values, which it reads again on every call. Freed with the model by ism_cache_free. */
  void *ism_cache;
  void (*ism_cache_free)(void *cache);
} dnacl_model;

/* Build layers on the device from a spec (taking ownership of the spec's contents) and check
 * every shape; an impossible shape is an error pointing at the layer's line in the file. */
dnacl_status dnacl_model_build(dnacl_ctx *ctx, dnacl_model_spec *spec, dnacl_model **out);
void dnacl_model_free(dnacl_model *m);

/* PyTorch's default initialisation, from a seeded generator: weights and biases
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norm scales 1, shifts 0; running variance 1. */
dnacl_status dnacl_model_init(dnacl_ctx *ctx, dnacl_model *m, uint64_t seed);

/* Allocate activation/gradient buffers for a batch size (no-op if already planned). */
dnacl_status dnacl_model_plan(dnacl_ctx *ctx, dnacl_model *m, int batch);

/* x: (batch, 4, length). Leaves the output in m->acts[m->n_nodes]. train selects batch
 * statistics and dropout (with masks seeded by m->seed and m->step). */
dnacl_status dnacl_model_forward(dnacl_ctx *ctx, dnacl_model *m, const dnacl_tensor *x, int train);
/* Backward from dout = dL/d(output) (shape of the output). Writes m->grads[0] when
 * input_grad is set and every trainable parameter's grad when param_grads is set. */
dnacl_status dnacl_model_backward(dnacl_ctx *ctx, dnacl_model *m, const dnacl_tensor *dout,
                                  int input_grad, int param_grads);

dnacl_tensor *dnacl_model_output(dnacl_model *m);

/* Per-layer timing (dnacl bench --profile): waits for the device after every layer, so it
 * slows the model down; reset clears the sums. */
dnacl_status dnacl_model_profile(dnacl_model *m, int on);

/* Iterate parameters with their qualified names ("conv1.w"). Returns NULL past the end. */
dnacl_param *dnacl_model_param(dnacl_model *m, int index, char *qualified, size_t qlen);
size_t dnacl_model_param_count(dnacl_model *m, int trainable_only);
/* v with its digits grouped in thousands ("1,234,567") in buf, so parameter counts can be
 * read at a glance (dnacl model show, the report). Returns buf. */
const char *dnacl_count_str(size_t v, char *buf, size_t n);

/* FLOPs of one sample's forward pass (matrix products only; src/nn/flops.c). */
double dnacl_model_forward_flops(const dnacl_model *m);
#endif
