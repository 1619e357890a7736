/* A sweep's output directory, shared by running (run.c) and collecting (collect.c): its
 * lock, its identity file sweep.id, and its results placed into a sweep's grid.
 *
 * sweep.id, version 2:
 *
 *   dnacl-sweep-id <id>          the hash of the shared content below
 *   name / cells / source        for the record
 *   dnacl sweep v2               the shared content (spec.c, make_canonical): one
 *   data.file  xxh64 ..., N bytes  "key<TAB>value" line each
 *   ...
 *   # not in the id: ...         RECORD_MARK, then what may grow and the paths:
 *   model <name> <hash>          each model's layers
 *   values <key> <v1,v2,...>     each grid key's values
 *   file <key> <path>            where each input file was read
 *
 * Version 1 (dnacl before content hashing) hashed data paths and the grid's values; a
 * directory made by it is refused: its data cannot be checked. */
#ifndef DNACL_SWEEP_OUT_DIR_H
#define DNACL_SWEEP_OUT_DIR_H

#include <stdio.h>

#include "sweep/sweep.h"

/* One process per directory (DIR/.lock, a POSIX record lock). *fd_out: close it to unlock. */
dnacl_status dnacl_sweep_lock(const char *dir, int *fd_out);

/* A whole small file, NUL-terminated; NULL if it cannot be read. */
char *dnacl_sweep_read_text(const char *path);

typedef struct dnacl_idfile {
  char *text;            /* the whole file; NULL when the directory has none */
  char id[17];
  int version;           /* 2; 1 for a directory made before contents were hashed */
  int cells;
  char name[64];
  const char *shared;    /* into text: the shared content, "dnacl sweep v2\n" ... */
  size_t shared_len;
  const char *record;    /* into text: the lines after RECORD_MARK ("" when none) */
} dnacl_idfile;

/* DIR/sweep.id into f: a missing file is DNACL_OK with f->text NULL; one that is not a
 * sweep id file is DNACL_ERR_PARSE naming it. */
dnacl_status dnacl_idfile_read(const char *dir, dnacl_idfile *f);
void dnacl_idfile_free(dnacl_idfile *f);
/* The value of the record line "<kind>\t<key>\t<value>" into out; 0 if there is none. */
int dnacl_idfile_lookup(const char *record, const char *kind, const char *key, char *out, size_t cap);

/* Whether DIR can hold this sweep (reads only). *exists: DIR has a sweep.id. Refused with
 * DNACL_ERR_ARG and a message naming each change and how to go on: shared content that
 * differs (a data file's content, a training setting for all cells, the grid's keys, the
 * evaluations), a model whose layers changed under the same name, a version-1 directory. */
dnacl_status dnacl_sweep_check_dir(const dnacl_sweep *sw, const char *dir, int *exists);

/* Write sweep.id, sweep.yaml and cells.tsv for this sweep, each only if it differs from
 * what DIR has (a grown sweep rewrites them; an unchanged one touches nothing). */
dnacl_status dnacl_sweep_write_identity(const dnacl_sweep *sw, const char *dir);

/* DIR/results.tsv with every row placed into this sweep's grid: a row's cell is found by
 * its parameters (id, grid values, run seed) and its index field set to that cell's index
 * here (*renumbered counts the rows whose index changed; may be NULL). A row whose cell
 * this sweep lacks (a value or trial removed from the file) is refused naming the cells:
 * the sweep may grow in place but not lose finished cells. A missing table is empty,
 * with this sweep's header. */
dnacl_status dnacl_sweep_load_placed(const dnacl_sweep *sw, const char *dir, dnacl_results *r, int *renumbered);

/* Replace field 0 of a row by a cell index (a new malloc'ed line into *line). */
dnacl_status dnacl_row_set_cell(char **line, int cell);

#endif
