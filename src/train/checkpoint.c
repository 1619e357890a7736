#include "train/checkpoint.h"

#include <stdio.h>
#include <string.h>

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
    /* Shapes, not just sizes: a transposed weight (a Flax export, say) must not load. */
    int same = t->ndim == p->value.ndim;
    for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == p->value.shape[d];
    if (!same) {
      char a[96] = "", b[96] = "";
      for (int d = 0; d < t->ndim; d++) snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? "," : "", (long long)t->shape[d]);
      for (int d = 0; d < p->value.ndim; d++) snprintf(b + strlen(b), sizeof b - strlen(b), "%s%d", d ? "," : "", p->value.shape[d]);
      return dnacl_fail(DNACL_ERR_SHAPE, "checkpoint tensor '%s' has shape (%s), the model's is (%s)", full, a, b);
    }
    DNACL_TRY(dnacl_tensor_write(ctx, &p->value, t->data));
  }
  return DNACL_OK;
}
