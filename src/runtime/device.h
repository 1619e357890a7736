/* Discovery results with the OpenCL handles, for the context code. */
#ifndef DNACL_DEVICE_H
#define DNACL_DEVICE_H
#include "runtime/runtime.h"
typedef struct dnacl_cl_device {
  cl_platform_id platform;
  cl_device_id device;
  dnacl_device_info info;
} dnacl_cl_device;
/* Every device of every platform; *out is malloc'ed. */
dnacl_status dnacl_enumerate(dnacl_cl_device **out, int *n);
#endif
