/* NumPy .npy files of float32 arrays, C order: what `dnacl explain` writes attributions in
 * ((N, 4, L), readable with numpy.load) and what tests read back.
 *
 * Writing is atomic: the data go to PATH.tmp, which is renamed to PATH only after the last
 * byte is written and the element count matches the header, so a reader never finds a
 * half-written file and a failed run leaves no PATH behind. The streaming writer lets a
 * command write attributions chunk by chunk without holding them all. */
#ifndef DNACL_NPY_H
#define DNACL_NPY_H
#include <stdio.h>

#include "runtime/runtime.h"

#define DNACL_NPY_MAX_DIMS 8

typedef struct dnacl_npy_writer {
  FILE *f;
  char *path, *tmp;
  size_t expected, written;  /* element counts */
} dnacl_npy_writer;

/* Open PATH.tmp and write a version 1.0 header for a '<f4' array of this shape
 * (ndim 1..DNACL_NPY_MAX_DIMS; a dimension may be 0). */
dnacl_status dnacl_npy_writer_open(dnacl_npy_writer *w, const char *path, int ndim, const size_t *shape);
/* Append count elements (C order). Writing more than the shape holds is DNACL_ERR_ARG. */
dnacl_status dnacl_npy_writer_append(dnacl_npy_writer *w, const float *data, size_t count);
/* Check that exactly the shape's element count was written, close and rename to PATH. The
 * writer is released either way; on failure PATH.tmp is removed. */
dnacl_status dnacl_npy_writer_commit(dnacl_npy_writer *w);
/* Give up: close and remove PATH.tmp (safe on a zeroed or committed writer). */
void dnacl_npy_writer_abort(dnacl_npy_writer *w);

/* Write a whole array at once (open, append, commit). */
dnacl_status dnacl_npy_save(const char *path, int ndim, const size_t *shape, const float *data);

/* Read a .npy file of float32 or float64 ('<f4', '>f4', '<f8', '>f8'; converted to float),
 * format versions 1.0-3.0, C order. *data is malloc'ed (free() it); shape receives ndim
 * dimensions (at most DNACL_NPY_MAX_DIMS). Fortran order, other dtypes, a truncated file or
 * a malformed header are DNACL_ERR_PARSE naming the file and what is wrong. */
dnacl_status dnacl_npy_load(const char *path, int *ndim, size_t *shape, float **data);
#endif
