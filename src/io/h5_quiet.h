/* Internal to the HDF5 readers and writers (io/hdf5.c, sim/truth_h5.c).
 *
 * HDF5 prints its error stack on stderr by default; our messages say what failed, so it is
 * silenced for the duration of a call and the caller's handler put back. */
#ifndef DNACL_IO_H5_QUIET_H
#define DNACL_IO_H5_QUIET_H

#include <hdf5.h>

typedef struct h5_quiet {
  H5E_auto2_t func;
  void *data;
} h5_quiet;

static inline void quiet_on(h5_quiet *q) {
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
static inline void quiet_off(h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

#endif
