/* dnacl: train and explain deep learning models of regulatory DNA on any OpenCL device.
 *
 * Public C API. Every function returns a dnacl_status; on failure a human-readable
 * message naming what went wrong is available from dnacl_last_error(). The library
 * never calls exit() or abort() on behalf of the caller. */
#ifndef DNACL_H
#define DNACL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dnacl_status {
  DNACL_OK = 0,
  DNACL_ERR_ARG,         /* an argument the caller passed is invalid */
  DNACL_ERR_NOMEM,       /* host allocation failed */
  DNACL_ERR_NO_DEVICE,   /* no usable OpenCL platform/device */
  DNACL_ERR_OPENCL,      /* an OpenCL call failed */
  DNACL_ERR_BUILD,       /* a kernel program failed to build */
  DNACL_ERR_SHAPE,       /* shapes that cannot work together */
  DNACL_ERR_IO,          /* a file could not be read or written */
  DNACL_ERR_PARSE,       /* a file's contents are malformed */
  DNACL_ERR_UNSUPPORTED, /* an operation a layer or device does not support */
  DNACL_ERR_INTERRUPTED  /* stopped on request (a signal); what was saved is complete */
} dnacl_status;

const char *dnacl_status_name(dnacl_status s);
/* The message of the last failure on this thread ("" if none). */
const char *dnacl_last_error(void);

/* ---- devices ------------------------------------------------------------ */

typedef enum dnacl_device_type {
  DNACL_DEVICE_GPU = 0,
  DNACL_DEVICE_CPU = 1,
  DNACL_DEVICE_OTHER = 2
} dnacl_device_type;

typedef struct dnacl_device_info {
  int index;                 /* position in dnacl_list_devices' enumeration order */
  char platform[128];
  char name[128];
  char vendor[128];
  uint32_t vendor_id;        /* CL_DEVICE_VENDOR_ID: 0x1002 AMD, 0x8086 Intel, 0x10DE NVIDIA, 0x1027f00 Apple */
  dnacl_device_type type;
  unsigned compute_units;
  unsigned long long global_mem;  /* bytes */
} dnacl_device_info;

/* Every device of every platform, in enumeration order. *out is malloc'ed; free() it.
 * No platform at all is DNACL_ERR_NO_DEVICE with advice on installing PoCL. */
dnacl_status dnacl_list_devices(dnacl_device_info **out, int *n);

/* Pure ranking: writes into order[0..n) the indices of devs, best first:
 * AMD GPU, Intel GPU, Apple GPU, other GPUs (NVIDIA), then CPUs (PoCL), then the rest.
 * Ties keep enumeration order. */
void dnacl_rank_devices(const dnacl_device_info *devs, int n, int *order);

/* Resolve a user's choice (an index, or a case-insensitive substring of the device,
 * platform or vendor name) to an index into devs. -1 if nothing matches. */
int dnacl_match_device(const dnacl_device_info *devs, int n, const char *choice);

typedef struct dnacl_ctx dnacl_ctx;

/* Open the best device that passes a smoke kernel. choice: NULL or "" means the
 * DNACL_DEVICE environment variable, else automatic ranking. verbose: say on stderr
 * which devices were tried and why one was skipped. */
dnacl_status dnacl_ctx_create(const char *choice, int verbose, dnacl_ctx **out);
void dnacl_ctx_release(dnacl_ctx *ctx);
const dnacl_device_info *dnacl_ctx_device(const dnacl_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
