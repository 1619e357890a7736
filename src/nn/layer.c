/* Shared layer plumbing: allocation, parameters, scratch buffers. */
#include "nn/layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dnacl_status dnacl_layer_alloc(const dnacl_layer_ops *ops, const char *name, const void *cfg,
                               size_t cfg_size, dnacl_layer **out) {
  dnacl_layer *l = calloc(1, sizeof *l);
  if (!l) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory creating layer %s", name);
  l->ops = ops;
  snprintf(l->name, sizeof l->name, "%s", name);
  if (cfg_size) {
    l->cfg = malloc(cfg_size);
    if (!l->cfg) {
      free(l);
      return dnacl_fail(DNACL_ERR_NOMEM, "out of memory creating layer %s", name);
    }
    memcpy(l->cfg, cfg, cfg_size);
  }
  *out = l;
  return DNACL_OK;
}

dnacl_status dnacl_layer_add_param(dnacl_layer *l, dnacl_ctx *ctx, const char *name, int ndim,
                                   const int *shape, int trainable, int decay, dnacl_param **out) {
  if (l->n_params == DNACL_MAX_PARAMS)
    return dnacl_fail(DNACL_ERR_ARG, "layer %s: too many parameters", l->name);
  dnacl_param *p = &l->params[l->n_params];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->trainable = trainable;
  p->decay = decay;
  DNACL_TRY(dnacl_tensor_alloc(ctx, &p->value, ndim, shape));
  DNACL_TRY(dnacl_tensor_fill(ctx, &p->value, 0.0f));
  if (trainable) {
    DNACL_TRY(dnacl_tensor_alloc(ctx, &p->grad, ndim, shape));
    DNACL_TRY(dnacl_tensor_fill(ctx, &p->grad, 0.0f));
  }
  l->n_params++;
  if (out) *out = p;
  return DNACL_OK;
}

dnacl_param *dnacl_layer_param(dnacl_layer *l, const char *name) {
  for (int i = 0; i < l->n_params; i++)
    if (!strcmp(l->params[i].name, name)) return &l->params[i];
  return NULL;
}

dnacl_status dnacl_layer_scratch(dnacl_layer *l, dnacl_ctx *ctx, int i, int ndim, const int *shape) {
  dnacl_tensor *t = &l->saved[i];
  if (t->buf && t->ndim == ndim) {
    int same = 1;
    for (int d = 0; d < ndim; d++) same &= t->shape[d] == shape[d];
    if (same) return DNACL_OK;
  }
  dnacl_tensor_free(t);
  return dnacl_tensor_alloc(ctx, t, ndim, shape);
}

void dnacl_layer_free(dnacl_layer *l) {
  if (!l) return;
  if (l->ops && l->ops->destroy) l->ops->destroy(l);
  for (int i = 0; i < l->n_params; i++) {
    dnacl_tensor_free(&l->params[i].value);
    dnacl_tensor_free(&l->params[i].grad);
  }
  for (int i = 0; i < DNACL_MAX_SAVED; i++) dnacl_tensor_free(&l->saved[i]);
  free(l->cfg);
  free(l);
}

dnacl_status dnacl_check_channel_input(const dnacl_layer *l, int channels, const dnacl_shape *in, int *B,
                                       int *L) {
  if ((in->ndim != 2 && in->ndim != 3) || in->d[1] != channels)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "%s %s: expects (batch, %d, length) or (batch, %d), got a rank-%d input "
                      "with %d channels",
                      l->ops->kind, l->name, channels, channels, in->ndim, in->ndim > 1 ? in->d[1] : 0);
  if (B) *B = in->d[0];
  if (L) *L = in->ndim == 3 ? in->d[2] : 1;
  return DNACL_OK;
}

int dnacl_shape_equal(const dnacl_shape *a, const dnacl_shape *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->d[i] != b->d[i]) return 0;
  return 1;
}

size_t dnacl_shape_count(const dnacl_shape *s) {
  size_t n = 1;
  for (int i = 0; i < s->ndim; i++) n *= (size_t)s->d[i];
  return n;
}

dnacl_shape dnacl_tensor_shape(const dnacl_tensor *t) {
  dnacl_shape s = {t->ndim, {0}};
  for (int i = 0; i < t->ndim; i++) s.d[i] = t->shape[i];
  return s;
}

size_t dnacl_channel_group(dnacl_ctx *ctx, cl_kernel k, int L) {
  if (ctx->is_cpu) return 1;
  size_t row = 1; /* the smallest power of two covering the row, at most 256 */
  while (row < (size_t)L && row < 256) row *= 2;
  return dnacl_pow2_group(ctx, k, row);
}
