#include "train/trainer.h"

#include <stdlib.h>

#include "train/loss.h"
#include "train/optim.h"

dnacl_adam_cfg dnacl_adam_defaults(void) {
  dnacl_adam_cfg c = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0};
  return c;
}

dnacl_status dnacl_optimizer_init(dnacl_ctx *ctx, dnacl_model *model, const dnacl_adam_cfg *cfg,
                                  dnacl_optimizer *opt) {
  opt->cfg = *cfg;
  opt->step = 0;
  opt->n = 0;
  while (dnacl_model_param(model, opt->n, NULL, 0)) opt->n++;
  opt->m = calloc((size_t)opt->n + 1, sizeof *opt->m);
  opt->v = calloc((size_t)opt->n + 1, sizeof *opt->v);
  if (!opt->m || !opt->v) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory for optimiser state");
  for (int i = 0; i < opt->n; i++) {
    dnacl_param *p = dnacl_model_param(model, i, NULL, 0);
    if (!p->trainable) continue;
    DNACL_TRY(dnacl_tensor_alloc(ctx, &opt->m[i], p->value.ndim, p->value.shape));
    DNACL_TRY(dnacl_tensor_alloc(ctx, &opt->v[i], p->value.ndim, p->value.shape));
    DNACL_TRY(dnacl_tensor_fill(ctx, &opt->m[i], 0.0f));
    DNACL_TRY(dnacl_tensor_fill(ctx, &opt->v[i], 0.0f));
  }
  return DNACL_OK;
}

void dnacl_optimizer_free(dnacl_optimizer *opt) {
  for (int i = 0; opt->m && i < opt->n; i++) {
    dnacl_tensor_free(&opt->m[i]);
    dnacl_tensor_free(&opt->v[i]);
  }
  free(opt->m);
  free(opt->v);
  opt->m = opt->v = NULL;
}

dnacl_status dnacl_optimizer_step(dnacl_ctx *ctx, dnacl_model *model, dnacl_optimizer *opt, float lr) {
  opt->step++;
  const dnacl_adam_cfg *c = &opt->cfg;
  for (int i = 0; i < opt->n; i++) {
    dnacl_param *p = dnacl_model_param(model, i, NULL, 0);
    if (!p->trainable) continue;
    DNACL_TRY(dnacl_adam_step(ctx, &p->value, &p->grad, &opt->m[i], &opt->v[i], opt->step, lr, c->beta1,
                              c->beta2, c->eps, p->decay ? c->weight_decay : 0.0f, c->decoupled));
  }
  return DNACL_OK;
}

void dnacl_step_buffers_free(dnacl_step_buffers *b) {
  dnacl_tensor_free(&b->dlogits);
  dnacl_tensor_free(&b->loss);
}

dnacl_status dnacl_train_step(dnacl_ctx *ctx, dnacl_model *model, dnacl_optimizer *opt,
                              dnacl_step_buffers *b, const dnacl_tensor *x, const dnacl_tensor *y,
                              float lr, float *loss_host) {
  DNACL_TRY(dnacl_model_forward(ctx, model, x, 1));
  dnacl_tensor *logits = dnacl_model_output(model);
  if (!b->dlogits.buf || b->dlogits.n != logits->n) {
    dnacl_tensor_free(&b->dlogits);
    DNACL_TRY(dnacl_tensor_alloc(ctx, &b->dlogits, logits->ndim, logits->shape));
  }
  if (!b->loss.buf) DNACL_TRY(dnacl_tensor_new(ctx, &b->loss, 1, 0, 0));
  if (y->n != logits->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "labels have %zu values for %zu model outputs", y->n, logits->n);
  DNACL_TRY(dnacl_bce_logits_dev(ctx, logits, y, &b->loss, &b->dlogits));
  DNACL_TRY(dnacl_model_backward(ctx, model, &b->dlogits, 0, 1));
  DNACL_TRY(dnacl_optimizer_step(ctx, model, opt, lr));
  model->step++;
  if (loss_host) DNACL_TRY(dnacl_tensor_read(ctx, &b->loss, loss_host));
  return DNACL_OK;
}
