/* Device tensors: float32 buffers with shapes. */
#include <string.h>

#include "runtime/runtime.h"

dnacl_status dnacl_tensor_alloc(dnacl_ctx *ctx, dnacl_tensor *t, int ndim, const int *shape) {
  memset(t, 0, sizeof *t);
  if (ndim < 1 || ndim > DNACL_MAX_DIMS) return dnacl_fail(DNACL_ERR_ARG, "tensor rank %d not in 1..%d", ndim, DNACL_MAX_DIMS);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] <= 0) return dnacl_fail(DNACL_ERR_SHAPE, "tensor dimension %d is %d", i, shape[i]);
    t->shape[i] = shape[i];
    n *= (size_t)shape[i];
  }
  t->ndim = ndim;
  t->n = n;
  cl_int err;
  t->buf = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
  if (err != CL_SUCCESS) {
    t->buf = NULL;
    return dnacl_fail(DNACL_ERR_OPENCL, "clCreateBuffer of %zu floats failed with %s", n,
                      dnacl_cl_error_name(err));
  }
  return DNACL_OK;
}

dnacl_status dnacl_tensor_new(dnacl_ctx *ctx, dnacl_tensor *t, int d0, int d1, int d2) {
  int shape[3] = {d0, d1, d2};
  int nd = d2 > 0 ? 3 : d1 > 0 ? 2 : 1;
  return dnacl_tensor_alloc(ctx, t, nd, shape);
}

void dnacl_tensor_free(dnacl_tensor *t) {
  if (t->buf) clReleaseMemObject(t->buf);
  memset(t, 0, sizeof *t);
}

/* A blocking call behind a closed gate (ctx->gated) would never return. */
static dnacl_status not_gated(const dnacl_ctx *ctx, const char *call) {
  if (!ctx->gated) return DNACL_OK;
  return dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s: a blocking transfer while the queue is gated (src/explain/ism.c) would wait forever", call);
}

dnacl_status dnacl_tensor_write(dnacl_ctx *ctx, dnacl_tensor *t, const float *host) {
  DNACL_TRY(not_gated(ctx, "dnacl_tensor_write"));
  DNACL_CL(clEnqueueWriteBuffer(ctx->queue, t->buf, CL_TRUE, 0, t->n * sizeof(float), host, 0, NULL, NULL));
  return DNACL_OK;
}

dnacl_status dnacl_tensor_read(dnacl_ctx *ctx, const dnacl_tensor *t, float *host) {
  DNACL_TRY(not_gated(ctx, "dnacl_tensor_read"));
  DNACL_CL(clEnqueueReadBuffer(ctx->queue, t->buf, CL_TRUE, 0, t->n * sizeof(float), host, 0, NULL, NULL));
  return DNACL_OK;
}

dnacl_status dnacl_tensor_fill(dnacl_ctx *ctx, dnacl_tensor *t, float value) {
  DNACL_CL(clEnqueueFillBuffer(ctx->queue, t->buf, &value, sizeof value, 0, t->n * sizeof(float), 0, NULL, NULL));
  return DNACL_OK;
}

dnacl_status dnacl_tensor_copy(dnacl_ctx *ctx, dnacl_tensor *dst, const dnacl_tensor *src) {
  if (dst->n != src->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "tensor copy of %zu elements into %zu", src->n, dst->n);
  DNACL_CL(clEnqueueCopyBuffer(ctx->queue, src->buf, dst->buf, 0, 0, src->n * sizeof(float), 0, NULL, NULL));
  return DNACL_OK;
}

dnacl_tensor dnacl_tensor_view(const dnacl_tensor *t, int ndim, const int *shape) {
  dnacl_tensor v = *t;
  v.ndim = ndim;
  for (int i = 0; i < DNACL_MAX_DIMS; i++) v.shape[i] = i < ndim ? shape[i] : 0;
  return v;
}
