/* safetensors files: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, optional "__metadata__" string pairs, then the raw
 * data. dnacl reads and writes F32 tensors only; checkpoints and golden files use it. */
#ifndef DNACL_SAFETENSORS_H
#define DNACL_SAFETENSORS_H
#include <stdint.h>
#include "dnacl.h"

#define DNACL_ST_MAX_DIMS 8
typedef struct dnacl_st_tensor {
  char *name;
  int ndim;
  int64_t shape[DNACL_ST_MAX_DIMS];
  size_t n;     /* elements */
  float *data;  /* owned by the file object on load; borrowed on save */
} dnacl_st_tensor;

typedef struct dnacl_safetensors {
  int n;
  dnacl_st_tensor *t;
  int n_meta;
  char **meta_keys, **meta_vals;
} dnacl_safetensors;

/* Errors name the file and what was malformed. */
dnacl_status dnacl_st_load(const char *path, dnacl_safetensors *out);
void dnacl_st_free(dnacl_safetensors *f);
const dnacl_st_tensor *dnacl_st_get(const dnacl_safetensors *f, const char *name);
const char *dnacl_st_meta(const dnacl_safetensors *f, const char *key);

/* Write tensors (and metadata pairs) to path via a temporary file and rename, so a
 * crash never leaves a half-written file under that name. */
dnacl_status dnacl_st_save(const char *path, const dnacl_st_tensor *t, int n,
                           const char *const *meta_keys, const char *const *meta_vals, int n_meta);
#endif
