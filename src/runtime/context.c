/* Opening a device: context, in-order queue, and the smoke test that decides whether a
 * device is trusted with real work. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/device.h"
#include "runtime/runtime.h"

dnacl_status dnacl_ctx_open_device(cl_platform_id p, cl_device_id d, const dnacl_device_info *info,
                                   dnacl_ctx **out) {
  dnacl_ctx *c = calloc(1, sizeof *c);
  if (!c) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory creating a context");
  c->platform = p;
  c->device = d;
  c->info = *info;
  c->is_cpu = info->type == DNACL_DEVICE_CPU;
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)p, 0};
  c->context = clCreateContext(props, 1, &d, NULL, NULL, &err);
  if (err != CL_SUCCESS) {
    free(c);
    return dnacl_cl_fail(err, "clCreateContext", __FILE__, __LINE__);
  }
  c->queue = clCreateCommandQueue(c->context, d, 0, &err);
  if (err != CL_SUCCESS) {
    clReleaseContext(c->context);
    free(c);
    return dnacl_cl_fail(err, "clCreateCommandQueue", __FILE__, __LINE__);
  }
  clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof c->max_wg, &c->max_wg, NULL);
  *out = c;
  return DNACL_OK;
}

void dnacl_ctx_release(dnacl_ctx *c) {
  if (!c) return;
  for (int i = 0; i < c->n_kernels; i++) {
    clReleaseKernel(c->kernels[i].kernel);
    free(c->kernels[i].name);
  }
  for (int i = 0; i < c->n_programs; i++) {
    clReleaseProgram(c->programs[i].program);
    free(c->programs[i].family);
    free(c->programs[i].options);
  }
  free(c->kernels);
  free(c->programs);
  if (c->queue) clReleaseCommandQueue(c->queue);
  if (c->context) clReleaseContext(c->context);
  free(c);
}

const dnacl_device_info *dnacl_ctx_device(const dnacl_ctx *c) { return &c->info; }

/* Build and run cl/smoke.cl on a small vector and check every element. */
static dnacl_status smoke_test(dnacl_ctx *c) {
  enum { N = 1000 };
  float a[N], b[N], y[N];
  for (int i = 0; i < N; i++) {
    a[i] = (float)i * 0.5f;
    b[i] = (float)(N - i);
  }
  dnacl_tensor ta = {0}, tb = {0}, ty = {0};
  cl_kernel k;
  dnacl_status s = dnacl_kernel(c, "smoke", "", "smoke_axpb", &k);
  if (s == DNACL_OK) s = dnacl_tensor_new(c, &ta, N, 0, 0);
  if (s == DNACL_OK) s = dnacl_tensor_new(c, &tb, N, 0, 0);
  if (s == DNACL_OK) s = dnacl_tensor_new(c, &ty, N, 0, 0);
  if (s == DNACL_OK) s = dnacl_tensor_write(c, &ta, a);
  if (s == DNACL_OK) s = dnacl_tensor_write(c, &tb, b);
  size_t g = N;
  if (s == DNACL_OK) s = dnacl_run(c, k, 1, &g, NULL, "mmmfi", ta.buf, tb.buf, ty.buf, 3.0, N);
  if (s == DNACL_OK) s = dnacl_tensor_read(c, &ty, y);
  for (int i = 0; s == DNACL_OK && i < N; i++)
    if (fabsf(y[i] - (3.0f * a[i] + b[i])) > 1e-4f)
      s = dnacl_fail(DNACL_ERR_OPENCL, "smoke kernel gave a wrong answer at element %d: %g", i,
                     (double)y[i]);
  dnacl_tensor_free(&ta);
  dnacl_tensor_free(&tb);
  dnacl_tensor_free(&ty);
  return s;
}

static void list_devices(char *buf, size_t len, const dnacl_cl_device *devs, int n) {
  size_t used = 0;
  for (int i = 0; i < n && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "\n  [%d] %s (%s)", i, devs[i].info.name,
                             devs[i].info.platform);
}

dnacl_status dnacl_ctx_create(const char *choice, int verbose, dnacl_ctx **out) {
  *out = NULL;
  if (!choice || !*choice) choice = getenv("DNACL_DEVICE");
  dnacl_cl_device *devs;
  int n;
  DNACL_TRY(dnacl_enumerate(&devs, &n));
  int *order = malloc((size_t)n * sizeof *order);
  if (!order) {
    free(devs);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory ranking devices");
  }
  int n_try = n;
  {
    dnacl_device_info *infos = malloc((size_t)n * sizeof *infos);
    if (!infos) {
      free(order);
      free(devs);
      return dnacl_fail(DNACL_ERR_NOMEM, "out of memory ranking devices");
    }
    for (int i = 0; i < n; i++) infos[i] = devs[i].info;
    if (choice && *choice) {
      int m = dnacl_match_device(infos, n, choice);
      if (m < 0) {
        char listing[2048] = "";
        list_devices(listing, sizeof listing, devs, n);
        free(infos);
        free(order);
        free(devs);
        return dnacl_fail(DNACL_ERR_NO_DEVICE,
                          "no device matches '%s' (give an index or part of a name); devices:%s",
                          choice, listing);
      }
      order[0] = m;
      n_try = 1;
    } else {
      dnacl_rank_devices(infos, n, order);
    }
    free(infos);
  }
  dnacl_status s = DNACL_ERR_NO_DEVICE;
  char reasons[4096] = "";
  size_t used = 0;
  for (int t = 0; t < n_try; t++) {
    dnacl_cl_device *d = &devs[order[t]];
    dnacl_ctx *c = NULL;
    s = dnacl_ctx_open_device(d->platform, d->device, &d->info, &c);
    if (s == DNACL_OK) s = smoke_test(c);
    if (s == DNACL_OK) {
      if (verbose) fprintf(stderr, "dnacl: using device [%d] %s\n", d->info.index, d->info.name);
      *out = c;
      break;
    }
    if (verbose)
      fprintf(stderr, "dnacl: skipping device [%d] %s: %s\n", d->info.index, d->info.name,
              dnacl_last_error());
    if (used < sizeof reasons)
      used += (size_t)snprintf(reasons + used, sizeof reasons - used, "\n  [%d] %s: %s",
                               d->info.index, d->info.name, dnacl_last_error());
    dnacl_ctx_release(c);
  }
  free(order);
  free(devs);
  if (s != DNACL_OK)
    return dnacl_fail(DNACL_ERR_NO_DEVICE, "no OpenCL device passed the smoke test:%s", reasons);
  return DNACL_OK;
}
