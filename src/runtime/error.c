/* Error reporting: a per-thread message behind every failing status code. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/runtime.h"

static _Thread_local char last_error[8192];

const char *dnacl_last_error(void) { return last_error; }

/* Callers may wrap the previous message (dnacl_fail(s, "%s: %s", file, dnacl_last_error())),
 * so format into a scratch buffer first: vsnprintf into its own argument is undefined. */
dnacl_status dnacl_fail(dnacl_status s, const char *fmt, ...) {
  static _Thread_local char scratch[sizeof last_error];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(scratch, sizeof scratch, fmt, ap);
  va_end(ap);
  memcpy(last_error, scratch, sizeof last_error);
  return s;
}

const char *dnacl_status_name(dnacl_status s) {
  switch (s) {
    case DNACL_OK: return "ok";
    case DNACL_ERR_ARG: return "invalid argument";
    case DNACL_ERR_NOMEM: return "out of memory";
    case DNACL_ERR_NO_DEVICE: return "no OpenCL device";
    case DNACL_ERR_OPENCL: return "OpenCL error";
    case DNACL_ERR_BUILD: return "kernel build failed";
    case DNACL_ERR_SHAPE: return "shape error";
    case DNACL_ERR_IO: return "I/O error";
    case DNACL_ERR_PARSE: return "parse error";
    case DNACL_ERR_UNSUPPORTED: return "unsupported";
    case DNACL_ERR_INTERRUPTED: return "interrupted";
  }
  return "unknown status";
}

const char *dnacl_cl_error_name(cl_int err) {
#define NAME(e) case e: return #e
  switch (err) {
    NAME(CL_SUCCESS); NAME(CL_DEVICE_NOT_FOUND); NAME(CL_DEVICE_NOT_AVAILABLE);
    NAME(CL_COMPILER_NOT_AVAILABLE); NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE);
    NAME(CL_OUT_OF_RESOURCES); NAME(CL_OUT_OF_HOST_MEMORY);
    NAME(CL_PROFILING_INFO_NOT_AVAILABLE); NAME(CL_MEM_COPY_OVERLAP);
    NAME(CL_IMAGE_FORMAT_MISMATCH); NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED);
    NAME(CL_BUILD_PROGRAM_FAILURE); NAME(CL_MAP_FAILURE);
    NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET); NAME(CL_COMPILE_PROGRAM_FAILURE);
    NAME(CL_LINKER_NOT_AVAILABLE); NAME(CL_LINK_PROGRAM_FAILURE);
    NAME(CL_INVALID_VALUE); NAME(CL_INVALID_DEVICE_TYPE); NAME(CL_INVALID_PLATFORM);
    NAME(CL_INVALID_DEVICE); NAME(CL_INVALID_CONTEXT); NAME(CL_INVALID_QUEUE_PROPERTIES);
    NAME(CL_INVALID_COMMAND_QUEUE); NAME(CL_INVALID_HOST_PTR); NAME(CL_INVALID_MEM_OBJECT);
    NAME(CL_INVALID_BINARY); NAME(CL_INVALID_BUILD_OPTIONS); NAME(CL_INVALID_PROGRAM);
    NAME(CL_INVALID_PROGRAM_EXECUTABLE); NAME(CL_INVALID_KERNEL_NAME);
    NAME(CL_INVALID_KERNEL_DEFINITION); NAME(CL_INVALID_KERNEL); NAME(CL_INVALID_ARG_INDEX);
    NAME(CL_INVALID_ARG_VALUE); NAME(CL_INVALID_ARG_SIZE); NAME(CL_INVALID_KERNEL_ARGS);
    NAME(CL_INVALID_WORK_DIMENSION); NAME(CL_INVALID_WORK_GROUP_SIZE);
    NAME(CL_INVALID_WORK_ITEM_SIZE); NAME(CL_INVALID_GLOBAL_OFFSET);
    NAME(CL_INVALID_EVENT_WAIT_LIST); NAME(CL_INVALID_EVENT); NAME(CL_INVALID_OPERATION);
    NAME(CL_INVALID_BUFFER_SIZE); NAME(CL_INVALID_GLOBAL_WORK_SIZE);
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
  }
#undef NAME
  return "unknown OpenCL error";
}

dnacl_status dnacl_cl_fail(cl_int err, const char *call, const char *file, int line) {
  /* Name the function, not the whole argument list. */
  char fn[64];
  size_t k = strcspn(call, "(");
  if (k >= sizeof fn) k = sizeof fn - 1;
  memcpy(fn, call, k);
  fn[k] = 0;
  return dnacl_fail(DNACL_ERR_OPENCL, "%s failed with %s (%d) at %s:%d", fn,
                    dnacl_cl_error_name(err), (int)err, file, line);
}
