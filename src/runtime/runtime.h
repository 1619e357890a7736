/* Internal runtime: the context, checked OpenCL calls, program/kernel cache, launches,
 * device tensors. Layers, trainers and explainers are written against this. */
#ifndef DNACL_RUNTIME_H
#define DNACL_RUNTIME_H

#include <CL/cl.h>
#include "dnacl.h"

/* ---- errors ------------------------------------------------------------- */

/* Record a formatted message for dnacl_last_error() and return s. */
dnacl_status dnacl_fail(dnacl_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *dnacl_cl_error_name(cl_int err);
dnacl_status dnacl_cl_fail(cl_int err, const char *call, const char *file, int line);

/* Check an OpenCL call; on failure return an error naming the call, the error code's
 * name and the source location. Use inside functions returning dnacl_status. */
#define DNACL_CL(call)                                                            \
  do {                                                                            \
    cl_int dnacl_e_ = (call);                                                     \
    if (dnacl_e_ != CL_SUCCESS) return dnacl_cl_fail(dnacl_e_, #call, __FILE__, __LINE__); \
  } while (0)

/* Propagate a failing dnacl_status. */
#define DNACL_TRY(expr)                       \
  do {                                        \
    dnacl_status dnacl_s_ = (expr);           \
    if (dnacl_s_ != DNACL_OK) return dnacl_s_; \
  } while (0)

/* ---- context ------------------------------------------------------------ */

typedef struct dnacl_program_entry {
  char *family, *options;
  cl_program program;
} dnacl_program_entry;

typedef struct dnacl_kernel_entry {
  cl_program program;
  char *name;
  cl_kernel kernel;
} dnacl_kernel_entry;

struct dnacl_ctx {
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  dnacl_device_info info;
  int is_cpu;                 /* tile sizes are chosen per device class */
  size_t max_wg;              /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
  dnacl_program_entry *programs;
  int n_programs, cap_programs;
  dnacl_kernel_entry *kernels;
  int n_kernels, cap_kernels;
  /* Set while a user event holds the queue's commands back until all are queued
   * (src/explain/ism.c): a blocking transfer or finish would then wait forever, so the
   * runtime's blocking calls fail instead, naming the call. */
  int gated;
  /* Wall seconds spent building programs (first use of a family and option set in this
   * process; PoCL preprocesses the source even when its cache holds the binary), so a
   * timing report can tell that once-per-process cost from the work. */
  double build_s;
};

/* Seconds on the monotonic clock: subtract two readings for an interval. */
double dnacl_now_s(void);

/* Open a specific device (no smoke test). */
dnacl_status dnacl_ctx_open_device(cl_platform_id p, cl_device_id d, const dnacl_device_info *info,
                                   dnacl_ctx **out);

/* ---- programs and kernels ---------------------------------------------- */

/* Source text of cl/<family>.cl, or NULL. */
const char *dnacl_cl_source_text(const char *family);

/* Build (once per context, family and options) the program of cl/<family>.cl. The
 * device-class macro DNACL_CPU or DNACL_GPU is always defined. A build failure is
 * DNACL_ERR_BUILD with the file, the options and the whole build log. */
dnacl_status dnacl_program(dnacl_ctx *ctx, const char *family, const char *options,
                           cl_program *out);
/* A cached kernel object of that program. */
dnacl_status dnacl_kernel(dnacl_ctx *ctx, const char *family, const char *options,
                          const char *name, cl_kernel *out);

/* Set arguments from a type string and launch. Types: 'm' cl_mem, 'i' int, 'u' unsigned,
 * 'f' float (passed as double through varargs), 'l' local float buffer of the given number of
 * floats (an int argument). The global size is padded up to a multiple of local (or, with
 * local NULL, of the kernel's preferred work-group multiple), so kernels must check bounds. */
dnacl_status dnacl_run(dnacl_ctx *ctx, cl_kernel k, int dims, const size_t *global,
                       const size_t *local, const char *types, ...);

dnacl_status dnacl_finish(dnacl_ctx *ctx);

/* The largest power of two <= cap that kernel k can have as its work-group size on this
 * device (the context's limit when the kernel does not say): the size of a tree reduction,
 * which needs a power of two. */
size_t dnacl_pow2_group(dnacl_ctx *ctx, cl_kernel k, size_t cap);

/* ---- tensors -------------------------------------------------------------- */

#define DNACL_MAX_DIMS 4
/* A float32 device buffer with a shape; row-major, last dimension contiguous.
 * Activations are (batch, channels, length). */
typedef struct dnacl_tensor {
  cl_mem buf;
  int ndim;
  int shape[DNACL_MAX_DIMS];
  size_t n;  /* number of elements */
} dnacl_tensor;

dnacl_status dnacl_tensor_alloc(dnacl_ctx *ctx, dnacl_tensor *t, int ndim, const int *shape);
/* Shorthand for 1-3 dimensions; unused trailing dims are 0. */
dnacl_status dnacl_tensor_new(dnacl_ctx *ctx, dnacl_tensor *t, int d0, int d1, int d2);
void dnacl_tensor_free(dnacl_tensor *t);
dnacl_status dnacl_tensor_write(dnacl_ctx *ctx, dnacl_tensor *t, const float *host);
dnacl_status dnacl_tensor_read(dnacl_ctx *ctx, const dnacl_tensor *t, float *host);
dnacl_status dnacl_tensor_fill(dnacl_ctx *ctx, dnacl_tensor *t, float value);
/* dst = src (same element count). */
dnacl_status dnacl_tensor_copy(dnacl_ctx *ctx, dnacl_tensor *dst, const dnacl_tensor *src);
/* A view sharing the buffer with another shape of the same element count. */
dnacl_tensor dnacl_tensor_view(const dnacl_tensor *t, int ndim, const int *shape);

#endif
