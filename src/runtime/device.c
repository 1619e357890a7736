/* Device discovery over every platform, and the pure ranking/matching functions. */
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "runtime/runtime.h"
#include "runtime/device.h"

#define VENDOR_AMD 0x1002u
#define VENDOR_INTEL 0x8086u
#define VENDOR_APPLE 0x1027f00u

static int contains_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  if (n == 0) return 0;
  for (; *hay; hay++) {
    size_t i = 0;
    while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
    if (i == n) return 1;
  }
  return 0;
}

/* Lower is better. GPUs by vendor (some drivers report a vendor id of 0, so the vendor
 * string is consulted too), then CPUs, then anything else. */
static int rank_of(const dnacl_device_info *d) {
  if (d->type == DNACL_DEVICE_GPU) {
    if (d->vendor_id == VENDOR_AMD || contains_ci(d->vendor, "Advanced Micro Devices")) return 0;
    if (d->vendor_id == VENDOR_INTEL || contains_ci(d->vendor, "Intel")) return 1;
    if (d->vendor_id == VENDOR_APPLE || contains_ci(d->vendor, "Apple")) return 2;
    return 3;
  }
  if (d->type == DNACL_DEVICE_CPU) return 4;
  return 5;
}

void dnacl_rank_devices(const dnacl_device_info *devs, int n, int *order) {
  /* Insertion sort: stable, and n is tiny. */
  for (int i = 0; i < n; i++) order[i] = i;
  for (int i = 1; i < n; i++) {
    int v = order[i], j = i - 1;
    while (j >= 0 && rank_of(&devs[order[j]]) > rank_of(&devs[v])) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = v;
  }
}

int dnacl_match_device(const dnacl_device_info *devs, int n, const char *choice) {
  if (!choice || !*choice) return -1;
  char *end;
  long idx = strtol(choice, &end, 10);
  if (*end == 0) return (idx >= 0 && idx < n) ? (int)idx : -1;
  for (int i = 0; i < n; i++)
    if (contains_ci(devs[i].name, choice)) return i;
  for (int i = 0; i < n; i++)
    if (contains_ci(devs[i].platform, choice) || contains_ci(devs[i].vendor, choice)) return i;
  return -1;
}

static const char *no_platform_advice =
    "no OpenCL platform found. For the CPU device install PoCL: "
    "apt-get install pocl-opencl-icd (it registers itself in /etc/OpenCL/vendors)";

dnacl_status dnacl_enumerate(dnacl_cl_device **out, int *n_out) {
  *out = NULL;
  *n_out = 0;
  cl_uint np = 0;
  cl_int err = clGetPlatformIDs(0, NULL, &np);
  if (err == -1001 || (err == CL_SUCCESS && np == 0))
    return dnacl_fail(DNACL_ERR_NO_DEVICE, "%s", no_platform_advice);
  DNACL_CL(err);
  cl_platform_id *plats = calloc(np, sizeof *plats);
  if (!plats) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory listing platforms");
  err = clGetPlatformIDs(np, plats, NULL);
  if (err != CL_SUCCESS) {
    free(plats);
    return dnacl_cl_fail(err, "clGetPlatformIDs", __FILE__, __LINE__);
  }
  dnacl_cl_device *devs = NULL;
  int n = 0;
  for (cl_uint p = 0; p < np; p++) {
    char pname[128] = "";
    clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    cl_uint nd = 0;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) continue;
    cl_device_id *ids = calloc(nd, sizeof *ids);
    dnacl_cl_device *grown = realloc(devs, (size_t)(n + nd) * sizeof *devs);
    if (!ids || !grown) {
      free(ids);
      free(grown ? grown : devs);
      free(plats);
      return dnacl_fail(DNACL_ERR_NOMEM, "out of memory listing devices");
    }
    devs = grown;
    clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL);
    for (cl_uint d = 0; d < nd; d++) {
      dnacl_cl_device *e = &devs[n];
      memset(e, 0, sizeof *e);
      e->platform = plats[p];
      e->device = ids[d];
      e->info.index = n;
      snprintf(e->info.platform, sizeof e->info.platform, "%s", pname);
      clGetDeviceInfo(ids[d], CL_DEVICE_NAME, sizeof e->info.name - 1, e->info.name, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_VENDOR, sizeof e->info.vendor - 1, e->info.vendor, NULL);
      cl_uint vid = 0, cu = 0;
      cl_device_type type = 0;
      cl_ulong mem = 0;
      clGetDeviceInfo(ids[d], CL_DEVICE_VENDOR_ID, sizeof vid, &vid, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
      e->info.vendor_id = vid;
      e->info.type = (type & CL_DEVICE_TYPE_GPU)   ? DNACL_DEVICE_GPU
                     : (type & CL_DEVICE_TYPE_CPU) ? DNACL_DEVICE_CPU
                                                   : DNACL_DEVICE_OTHER;
      e->info.compute_units = cu;
      e->info.global_mem = mem;
      n++;
    }
    free(ids);
  }
  free(plats);
  if (n == 0) {
    free(devs);
    return dnacl_fail(DNACL_ERR_NO_DEVICE,
                      "OpenCL platforms exist but none has a device. For the CPU device "
                      "install PoCL: apt-get install pocl-opencl-icd");
  }
  *out = devs;
  *n_out = n;
  return DNACL_OK;
}

dnacl_status dnacl_list_devices(dnacl_device_info **out, int *n) {
  dnacl_cl_device *devs;
  DNACL_TRY(dnacl_enumerate(&devs, n));
  dnacl_device_info *infos = malloc((size_t)*n * sizeof *infos);
  if (!infos) {
    free(devs);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory listing devices");
  }
  for (int i = 0; i < *n; i++) infos[i] = devs[i].info;
  free(devs);
  *out = infos;
  return DNACL_OK;
}
