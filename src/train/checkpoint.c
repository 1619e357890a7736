#include "train/checkpoint.h"

#include <stdio.h>

dnacl_status dnacl_model_load_params(dnacl_ctx *ctx, dnacl_model *m, const dnacl_safetensors *f,
                                     const char *prefix, int strict) {
  char q[128], full[160];
  dnacl_param *p;
  for (int i = 0; (p = dnacl_model_param(m, i, q, sizeof q)); i++) {
    snprintf(full, sizeof full, "%s%s", prefix ? prefix : "", q);
    const dnacl_st_tensor *t = dnacl_st_get(f, full);
    if (!t) {
      if (strict) return dnacl_fail(DNACL_ERR_PARSE, "checkpoint lacks tensor '%s'", full);
      continue;
    }
    if (t->n != p->value.n)
      return dnacl_fail(DNACL_ERR_SHAPE, "checkpoint tensor '%s' has %zu values, the model's has %zu", full,
                        t->n, p->value.n);
    DNACL_TRY(dnacl_tensor_write(ctx, &p->value, t->data));
  }
  return DNACL_OK;
}
