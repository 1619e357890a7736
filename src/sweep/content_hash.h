/* The content of a sweep's input files as a 64-bit hash (XXH64, the xxHash specification),
 * so a sweep's identity follows what a file holds rather than what it is called: data
 * regenerated at the same path (dnacl simulate with another seed) is another sweep, and
 * ./data/x.h5 and data/x.h5 are the same one.
 *
 * Why XXH64 rather than the FNV-1a of the sweep's text (dnacl_hash_hex): FNV-1a takes one
 * byte per multiply, about 1 GB/s; XXH64 runs four independent 8-byte lanes, so hashing
 * is limited by reading the file, not by the hash. Data files are up to a few hundred MB
 * and every `dnacl sweep` (every Slurm task) hashes them once. */
#ifndef DNACL_SWEEP_CONTENT_HASH_H
#define DNACL_SWEEP_CONTENT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "dnacl.h"

/* XXH64 of a buffer, seed 0 (tests compare it with the reference implementation). */
uint64_t dnacl_xxh64(const void *data, size_t len);

/* XXH64 of a file's bytes, read in 1 MiB blocks; *bytes receives its size. DNACL_ERR_IO
 * naming the file when it cannot be opened or read. */
dnacl_status dnacl_xxh64_file(const char *path, uint64_t *hash, uint64_t *bytes);

#endif
