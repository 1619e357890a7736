/* Optimisers: one update step on one parameter tensor. The trainer calls these for every
 * trainable parameter (dnacl_param.trainable), passing weight_decay only where
 * dnacl_param.decay is set (weights, not biases or norm parameters). */
#ifndef DNACL_OPTIM_H
#define DNACL_OPTIM_H
#include "runtime/runtime.h"

/* One Adam step on param in place, with its first and second moment tensors m and v (same
 * element count as param; zero-filled before step 1; the caller owns them).
 * step: 1-based count of steps taken with this m and v (bias correction uses it).
 * decoupled = 0: torch.optim.Adam: the gradient used is grad + weight_decay * param (an L2
 *   penalty of weight_decay/2 * |param|^2 folded into the gradient; grad itself is not
 *   modified).
 * decoupled = 1: torch.optim.AdamW: param *= 1 - lr * weight_decay before the update.
 * Bias correction as PyTorch: param -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps). */
dnacl_status dnacl_adam_step(dnacl_ctx *ctx, dnacl_tensor *param, const dnacl_tensor *grad,
                             dnacl_tensor *m, dnacl_tensor *v, int step, float lr, float beta1,
                             float beta2, float eps, float weight_decay, int decoupled);

/* An explicit L2 penalty, for trainers that want the regularisation visible in the loss
 * (e.g. Keras-style kernel_regularizer) while using plain Adam or another optimiser:
 *   penalty = lambda/2 * sum(param^2),   grad += lambda * param.
 * The gradient term is exactly what torch.optim.Adam(weight_decay=lambda) adds, so
 * "Adam with weight_decay = lambda" and "Adam with weight_decay 0 after this call" take the
 * same steps; the helper only adds the ability to report the penalised loss. (Keras
 * l2(k) means k * sum(w^2): pass lambda = 2k.) Call it after the backward pass (which
 * overwrites grad) and before the optimiser step, for parameters with decay set.
 * penalty_host: if not NULL, receives lambda/2 * sum(param^2) (computed deterministically in
 *   one work-group; this waits for the queue); NULL only updates grad. */
dnacl_status dnacl_l2_penalty(dnacl_ctx *ctx, const dnacl_tensor *param, dnacl_tensor *grad,
                              float lambda, float *penalty_host);
#endif
