/* Training losses: forward value and gradient with respect to the logits in one call. */
#ifndef DNACL_LOSS_H
#define DNACL_LOSS_H
#include "runtime/runtime.h"

/* Sigmoid binary cross-entropy on logits, averaged over all B*T elements, as
 * torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="mean").
 * logits and targets have the same element count (normally (B, T)); targets may be soft
 * (any value in [0, 1]). Numerically stable for any logit magnitude.
 *
 * loss_host: if not NULL, receives the loss (this reads back from the device and so waits
 *   for the queue); NULL skips the read.
 * dlogits: if not NULL (same element count), receives dL/dlogits = (sigmoid(x) - t)/(B*T),
 *   the gradient of the mean loss (upstream gradient 1).
 * The reduction is deterministic: the same inputs on the same device give the same bits. */
dnacl_status dnacl_bce_logits(dnacl_ctx *ctx, const dnacl_tensor *logits,
                              const dnacl_tensor *targets, float *loss_host,
                              dnacl_tensor *dlogits);

/* The same, leaving the loss on the device in loss_dev[0] (a tensor of at least one
 * element) without waiting for the queue: a trainer can keep per-step losses on the device
 * and read them in one go. */
dnacl_status dnacl_bce_logits_dev(dnacl_ctx *ctx, const dnacl_tensor *logits,
                                  const dnacl_tensor *targets, dnacl_tensor *loss_dev,
                                  dnacl_tensor *dlogits);
#endif
