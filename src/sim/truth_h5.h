/* The HDF5 side of simulated datasets (truth_h5.c): dnacl_sim_save writes X/Y with the
 * io writer (dnacl_seqset_save_h5) and appends the ground truth here; dnacl_truth_load
 * and dnacl_sim_motifs_load read it back. The layout is described in simulate.h. */
#ifndef DNACL_SIM_TRUTH_H5_H
#define DNACL_SIM_TRUTH_H5_H

#include "sim/simulate.h"

/* Append the mask, the planted-motif tables, the motif list and the root attributes of d
 * to the existing HDF5 file `file`. Messages name `path` (the file the user asked for;
 * `file` is its temporary name). */
dnacl_status sim_truth_h5_append(const char *path, const char *file, const dnacl_sim_data *d);

#endif
