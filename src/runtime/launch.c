/* Kernel launches: typed argument setting and global sizes padded to the work-group size. */
#include <stdarg.h>
#include <string.h>

#include "runtime/runtime.h"

dnacl_status dnacl_run(dnacl_ctx *ctx, cl_kernel k, int dims, const size_t *global,
                       const size_t *local, const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  for (cl_uint i = 0; types[i]; i++) {
    cl_int err;
    switch (types[i]) {
      case 'm': {
        cl_mem m = va_arg(ap, cl_mem);
        err = clSetKernelArg(k, i, sizeof m, &m);
        break;
      }
      case 'i': {
        cl_int v = va_arg(ap, int);
        err = clSetKernelArg(k, i, sizeof v, &v);
        break;
      }
      case 'u': {
        cl_uint v = va_arg(ap, unsigned);
        err = clSetKernelArg(k, i, sizeof v, &v);
        break;
      }
      case 'f': {
        cl_float v = (cl_float)va_arg(ap, double);
        err = clSetKernelArg(k, i, sizeof v, &v);
        break;
      }
      case 'l': {
        int nfloats = va_arg(ap, int);
        err = clSetKernelArg(k, i, (size_t)nfloats * sizeof(cl_float), NULL);
        break;
      }
      default:
        va_end(ap);
        return dnacl_fail(DNACL_ERR_ARG, "dnacl_run: unknown argument type '%c'", types[i]);
    }
    if (err != CL_SUCCESS) {
      va_end(ap);
      char name[128] = "?";
      clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
      return dnacl_fail(DNACL_ERR_OPENCL, "clSetKernelArg(%s, arg %u) failed with %s", name, i,
                        dnacl_cl_error_name(err));
    }
  }
  va_end(ap);
  size_t g[3], l[3];
  size_t mult = 1;
  if (!local) {
    clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                             sizeof mult, &mult, NULL);
    if (mult == 0) mult = 1;
  }
  for (int d = 0; d < dims; d++) {
    size_t m = local ? local[d] : (d == 0 ? mult : 1);
    if (global[d] == 0) return DNACL_OK; /* nothing to do */
    g[d] = (global[d] + m - 1) / m * m;
    l[d] = m;
  }
  cl_int err = clEnqueueNDRangeKernel(ctx->queue, k, (cl_uint)dims, NULL, g, local ? l : NULL, 0,
                                      NULL, NULL);
  if (err != CL_SUCCESS) {
    char name[128] = "?";
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
    return dnacl_fail(DNACL_ERR_OPENCL, "clEnqueueNDRangeKernel(%s) failed with %s", name,
                      dnacl_cl_error_name(err));
  }
  return DNACL_OK;
}

size_t dnacl_pow2_group(dnacl_ctx *ctx, cl_kernel k, size_t cap) {
  size_t kmax = 0;
  if (clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax,
                               NULL) != CL_SUCCESS || kmax == 0)
    kmax = ctx->max_wg ? ctx->max_wg : 1;
  size_t wg = 1;
  while (wg * 2 <= kmax && wg * 2 <= cap) wg *= 2;
  return wg;
}

dnacl_status dnacl_finish(dnacl_ctx *ctx) {
  if (ctx->gated)
    return dnacl_fail(DNACL_ERR_UNSUPPORTED, "dnacl_finish while the queue is gated (src/explain/ism.c) would wait forever");
  DNACL_CL(clFinish(ctx->queue));
  return DNACL_OK;
}
