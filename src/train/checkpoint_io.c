/* Whole-run checkpoints: every model parameter (running statistics included), the
 * optimiser's moments, and metadata (the model YAML, the step, the run's RNG state and
 * whatever the trainer records), written atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"

dnacl_status dnacl_checkpoint_save(dnacl_ctx *ctx, dnacl_model *m, const dnacl_optimizer *opt,
                                   const char *path, const char *const *keys,
                                   const char *const *vals, int n_meta) {
  int n_params = 0;
  while (dnacl_model_param(m, n_params, NULL, 0)) n_params++;
  int cap = 3 * n_params;
  dnacl_st_tensor *t = calloc((size_t)cap, sizeof *t);
  char (*names)[160] = calloc((size_t)cap, sizeof *names);
  const char **mk = calloc((size_t)n_meta + 1, sizeof *mk), **mv = calloc((size_t)n_meta + 1, sizeof *mv);
  dnacl_status s = (t && names && mk && mv) ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory saving %s", path);
  int n = 0;
  for (int i = 0; s == DNACL_OK && i < n_params; i++) {
    char q[128];
    dnacl_param *p = dnacl_model_param(m, i, q, sizeof q);
    const dnacl_tensor *src[3] = {&p->value, opt && p->trainable ? &opt->m[i] : NULL,
                                  opt && p->trainable ? &opt->v[i] : NULL};
    const char *prefix[3] = {"", "adam.m.", "adam.v."};
    for (int k = 0; k < 3 && s == DNACL_OK; k++) {
      if (!src[k] || !src[k]->buf) continue;
      snprintf(names[n], sizeof names[n], "%s%s", prefix[k], q);
      t[n].name = names[n];
      t[n].ndim = p->value.ndim;
      for (int d = 0; d < p->value.ndim; d++) t[n].shape[d] = p->value.shape[d];
      t[n].n = p->value.n;
      t[n].data = malloc(p->value.n * sizeof(float));
      if (!t[n].data) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory saving %s", path);
      else s = dnacl_tensor_read(ctx, src[k], t[n].data);
      n++;
    }
  }
  if (s == DNACL_OK) {
    int k = 0;
    mk[k] = "dnacl.model_yaml";
    mv[k++] = m->spec.text ? m->spec.text : "";
    for (int i = 0; i < n_meta; i++, k++) {
      mk[k] = keys[i];
      mv[k] = vals[i];
    }
    s = dnacl_st_save(path, t, n, mk, mv, k);
  }
  for (int i = 0; t && i < n; i++) free(t[i].data);
  free(t);
  free(names);
  free(mk);
  free(mv);
  return s;
}

dnacl_status dnacl_checkpoint_load_optimizer(dnacl_ctx *ctx, dnacl_model *m, dnacl_optimizer *opt,
                                             const dnacl_safetensors *f) {
  char q[128], name[160];
  dnacl_param *p;
  for (int i = 0; (p = dnacl_model_param(m, i, q, sizeof q)); i++) {
    if (!p->trainable) continue;
    for (int k = 0; k < 2; k++) {
      snprintf(name, sizeof name, "adam.%c.%s", k ? 'v' : 'm', q);
      const dnacl_st_tensor *t = dnacl_st_get(f, name);
      if (!t || t->n != p->value.n)
        return dnacl_fail(DNACL_ERR_PARSE, "checkpoint lacks a matching optimiser tensor '%s'", name);
      DNACL_TRY(dnacl_tensor_write(ctx, k ? &opt->v[i] : &opt->m[i], t->data));
    }
  }
  return DNACL_OK;
}
