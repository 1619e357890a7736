/* One optimisation step of a model: forward in train mode, sigmoid BCE on the logits,
 * backward, Adam/AdamW on every trainable parameter. The training loop (epochs, schedules,
 * evaluation, checkpoints) is built on this. */
#ifndef DNACL_TRAINER_H
#define DNACL_TRAINER_H
#include "nn/model.h"

typedef struct dnacl_adam_cfg {
  float lr, beta1, beta2, eps;
  float weight_decay;  /* applied to parameters with decay set (weights, not biases/norms) */
  int decoupled;       /* 0: Adam with L2 folded into the gradient; 1: AdamW */
} dnacl_adam_cfg;

/* PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay. */
dnacl_adam_cfg dnacl_adam_defaults(void);

typedef struct dnacl_optimizer {
  dnacl_adam_cfg cfg;
  int n;               /* number of model parameters (indexing as dnacl_model_param) */
  dnacl_tensor *m, *v; /* moments; unallocated for non-trainable parameters */
  int step;            /* steps taken */
} dnacl_optimizer;

dnacl_status dnacl_optimizer_init(dnacl_ctx *ctx, dnacl_model *model, const dnacl_adam_cfg *cfg,
                                  dnacl_optimizer *opt);
void dnacl_optimizer_free(dnacl_optimizer *opt);
/* Apply one update with learning rate lr (schedules pass theirs) from the current grads. */
dnacl_status dnacl_optimizer_step(dnacl_ctx *ctx, dnacl_model *model, dnacl_optimizer *opt, float lr);

/* Scratch a training step needs beyond the model's own buffers. */
typedef struct dnacl_step_buffers {
  dnacl_tensor dlogits;
  dnacl_tensor loss;   /* one float on the device */
} dnacl_step_buffers;
void dnacl_step_buffers_free(dnacl_step_buffers *b);

/* x (B,4,L), y (B,T). model->step selects the dropout masks and is advanced. loss_host may
 * be NULL to avoid waiting for the device (the loss is then left in b->loss). */
dnacl_status dnacl_train_step(dnacl_ctx *ctx, dnacl_model *model, dnacl_optimizer *opt,
                              dnacl_step_buffers *b, const dnacl_tensor *x, const dnacl_tensor *y,
                              float lr, float *loss_host);
#endif
