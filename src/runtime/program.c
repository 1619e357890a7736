/* Programs are built once per context, kernel family and option string; kernels are
 * cached per program and name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cl_sources.h"
#include "runtime/runtime.h"

const char *dnacl_cl_source_text(const char *family) {
  for (const dnacl_cl_source *s = dnacl_cl_sources; s->family; s++)
    if (strcmp(s->family, family) == 0) return s->text;
  return NULL;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static dnacl_status build_failure(dnacl_ctx *ctx, cl_program prog, const char *family,
                                  const char *opts, cl_int err) {
  size_t len = 0;
  clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
  char *log = malloc(len + 1);
  if (log) {
    clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, len, log, NULL);
    log[len] = 0;
  }
  dnacl_status s = dnacl_fail(DNACL_ERR_BUILD,
                              "building cl/%s.cl failed with %s on %s\noptions: %s\nbuild log:\n%s",
                              family, dnacl_cl_error_name(err), ctx->info.name, opts,
                              log ? log : "(no log)");
  free(log);
  return s;
}

dnacl_status dnacl_program(dnacl_ctx *ctx, const char *family, const char *options,
                           cl_program *out) {
  if (!options) options = "";
  for (int i = 0; i < ctx->n_programs; i++)
    if (!strcmp(ctx->programs[i].family, family) && !strcmp(ctx->programs[i].options, options)) {
      *out = ctx->programs[i].program;
      return DNACL_OK;
    }
  const char *src = dnacl_cl_source_text(family);
  if (!src) return dnacl_fail(DNACL_ERR_ARG, "no kernel family '%s' (no cl/%s.cl embedded)", family, family);
  char opts[1024];
  snprintf(opts, sizeof opts, "-cl-std=CL1.2 -cl-mad-enable %s %s",
           ctx->is_cpu ? "-DDNACL_CPU=1" : "-DDNACL_GPU=1", options);
  cl_int err;
  cl_program prog = clCreateProgramWithSource(ctx->context, 1, &src, NULL, &err);
  DNACL_CL(err);
  const double t0 = dnacl_now_s();
  err = clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL);
  ctx->build_s += dnacl_now_s() - t0;
  if (err != CL_SUCCESS) {
    dnacl_status s = build_failure(ctx, prog, family, opts, err);
    clReleaseProgram(prog);
    return s;
  }
  if (ctx->n_programs == ctx->cap_programs) {
    int cap = ctx->cap_programs ? 2 * ctx->cap_programs : 16;
    dnacl_program_entry *g = realloc(ctx->programs, (size_t)cap * sizeof *g);
    if (!g) {
      clReleaseProgram(prog);
      return dnacl_fail(DNACL_ERR_NOMEM, "out of memory caching a program");
    }
    ctx->programs = g;
    ctx->cap_programs = cap;
  }
  dnacl_program_entry *e = &ctx->programs[ctx->n_programs++];
  e->family = dup_str(family);
  e->options = dup_str(options);
  e->program = prog;
  *out = prog;
  return DNACL_OK;
}

dnacl_status dnacl_kernel(dnacl_ctx *ctx, const char *family, const char *options,
                          const char *name, cl_kernel *out) {
  cl_program prog;
  DNACL_TRY(dnacl_program(ctx, family, options, &prog));
  for (int i = 0; i < ctx->n_kernels; i++)
    if (ctx->kernels[i].program == prog && !strcmp(ctx->kernels[i].name, name)) {
      *out = ctx->kernels[i].kernel;
      return DNACL_OK;
    }
  cl_int err;
  cl_kernel k = clCreateKernel(prog, name, &err);
  if (err != CL_SUCCESS)
    return dnacl_fail(DNACL_ERR_OPENCL, "clCreateKernel(%s) in cl/%s.cl failed with %s", name,
                      family, dnacl_cl_error_name(err));
  if (ctx->n_kernels == ctx->cap_kernels) {
    int cap = ctx->cap_kernels ? 2 * ctx->cap_kernels : 32;
    dnacl_kernel_entry *g = realloc(ctx->kernels, (size_t)cap * sizeof *g);
    if (!g) {
      clReleaseKernel(k);
      return dnacl_fail(DNACL_ERR_NOMEM, "out of memory caching a kernel");
    }
    ctx->kernels = g;
    ctx->cap_kernels = cap;
  }
  dnacl_kernel_entry *e = &ctx->kernels[ctx->n_kernels++];
  e->program = prog;
  e->name = dup_str(name);
  e->kernel = k;
  *out = k;
  return DNACL_OK;
}
