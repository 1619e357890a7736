/* Shared elementwise device ops and the deterministic sum; see ops.h. */
#include "nn/ops.h"

#include <stdio.h>
#include <stdlib.h>

/* Number of first-stage partial sums of dnacl_op_sum: enough work-items to fill a GPU,
 * few enough that reading them back (64 KiB) costs nothing. Fixed, so results do not
 * depend on the device. */
#define SUM_PARTIALS 16384

/* Elements per work-item of cl/elementwise.cl (EW_VEC): a float16 on CPUs, one float on
 * GPUs. */
static int ew_vec(const dnacl_ctx *ctx) { return ctx->is_cpu ? 16 : 1; }

static dnacl_status ew_kernel(dnacl_ctx *ctx, const char *name, cl_kernel *k) {
  char opts[32];
  snprintf(opts, sizeof opts, "-DEW_VEC=%d", ew_vec(ctx));
  return dnacl_kernel(ctx, "elementwise", opts, name, k);
}

/* ceil(n / EW_VEC) work-items. */
static size_t ew_global(const dnacl_ctx *ctx, size_t n) {
  const size_t v = (size_t)ew_vec(ctx);
  return (n + v - 1) / v;
}

static dnacl_status check_n(const char *op, const dnacl_tensor *a, const dnacl_tensor *b) {
  if (a->n != b->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "%s: tensors of %zu and %zu elements", op, a->n, b->n);
  if (a->n > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "%s: %zu elements exceed the int index range", op, a->n);
  return DNACL_OK;
}

static dnacl_status binary(dnacl_ctx *ctx, const char *kname, const char *op,
                           const dnacl_tensor *a, const dnacl_tensor *b, dnacl_tensor *y) {
  DNACL_TRY(check_n(op, a, b));
  DNACL_TRY(check_n(op, a, y));
  cl_kernel k;
  DNACL_TRY(ew_kernel(ctx, kname, &k));
  size_t g = ew_global(ctx, a->n);
  return dnacl_run(ctx, k, 1, &g, NULL, "mmmi", a->buf, b->buf, y->buf, (int)a->n);
}

dnacl_status dnacl_op_add(dnacl_ctx *ctx, const dnacl_tensor *a, const dnacl_tensor *b,
                          dnacl_tensor *y) {
  return binary(ctx, "ew_add", "dnacl_op_add", a, b, y);
}

dnacl_status dnacl_op_mul(dnacl_ctx *ctx, const dnacl_tensor *a, const dnacl_tensor *b,
                          dnacl_tensor *y) {
  return binary(ctx, "ew_mul", "dnacl_op_mul", a, b, y);
}

dnacl_status dnacl_op_add_backward(dnacl_ctx *ctx, const dnacl_tensor *dy, dnacl_tensor *da,
                                   dnacl_tensor *db) {
  dnacl_tensor *g[2] = {da, db};
  for (int i = 0; i < 2; i++) {
    if (!g[i]) continue;
    DNACL_TRY(check_n("dnacl_op_add_backward", dy, g[i]));
    if (g[i]->buf != dy->buf) DNACL_TRY(dnacl_tensor_copy(ctx, g[i], dy));
  }
  return DNACL_OK;
}

dnacl_status dnacl_op_axpby(dnacl_ctx *ctx, float alpha, const dnacl_tensor *x, float beta,
                            dnacl_tensor *y) {
  DNACL_TRY(check_n("dnacl_op_axpby", x, y));
  cl_kernel k;
  DNACL_TRY(ew_kernel(ctx, "ew_axpby", &k));
  size_t g = ew_global(ctx, x->n);
  return dnacl_run(ctx, k, 1, &g, NULL, "fmfmi", (double)alpha, x->buf, (double)beta, y->buf,
                   (int)x->n);
}

dnacl_status dnacl_op_scale(dnacl_ctx *ctx, const dnacl_tensor *x, float alpha, dnacl_tensor *y) {
  DNACL_TRY(check_n("dnacl_op_scale", x, y));
  cl_kernel k;
  DNACL_TRY(ew_kernel(ctx, "ew_scale", &k));
  size_t g = ew_global(ctx, x->n);
  return dnacl_run(ctx, k, 1, &g, NULL, "mfmi", x->buf, (double)alpha, y->buf, (int)x->n);
}

dnacl_status dnacl_op_sum_f64(dnacl_ctx *ctx, const dnacl_tensor *x, double *host_out) {
  DNACL_TRY(check_n("dnacl_op_sum", x, x));
  int n = (int)x->n;
  int P = n < SUM_PARTIALS ? n : SUM_PARTIALS;
  *host_out = 0.0;
  if (P == 0) return DNACL_OK;
  cl_kernel k;
  DNACL_TRY(ew_kernel(ctx, "ew_sum_partials", &k));
  dnacl_tensor part;
  DNACL_TRY(dnacl_tensor_new(ctx, &part, P, 0, 0));
  float *h = malloc((size_t)P * sizeof *h);
  size_t g = ew_global(ctx, (size_t)P);
  dnacl_status s = h ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "dnacl_op_sum: out of memory");
  if (s == DNACL_OK) s = dnacl_run(ctx, k, 1, &g, NULL, "mmii", x->buf, part.buf, n, P);
  if (s == DNACL_OK) s = dnacl_tensor_read(ctx, &part, h); /* blocking: orders after the kernel */
  if (s == DNACL_OK) {
    /* P <= 16384 partials, each a float: the double sum of them is exact to ~1e-16
     * relative, so the host stage adds no error of note, in a fixed order. */
    double acc = 0.0;
    for (int i = 0; i < P; i++) acc += (double)h[i];
    *host_out = acc;
  }
  free(h);
  dnacl_tensor_free(&part);
  return s;
}

dnacl_status dnacl_op_sum(dnacl_ctx *ctx, const dnacl_tensor *x, float *host_out) {
  double d;
  DNACL_TRY(dnacl_op_sum_f64(ctx, x, &d));
  *host_out = (float)d;
  return DNACL_OK;
}
