/* Shared by the sequence readers (csv.c, fasta.c, hdf5.c) and seqdata.c: error messages
 * in one shape, label parsing, and the two-pass builder that turns records into a
 * dnacl_seqset. Not part of the API. */
#ifndef DNACL_SEQDATA_IMPL_H
#define DNACL_SEQDATA_IMPL_H

#include <stdio.h>
#include <sys/types.h>

#include "io/seqdata.h"

/* "path:line: record k (id), position p: message" — parts with line/pos 0 or id NULL are
 * left out. Every error about a record goes through here so they all read alike. */
dnacl_status seq_fail_rec(dnacl_status s, const char *path, long line, int record, const char *id,
                          int pos, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* The bad-character error: c shown as 'X' or, if unprintable, as \xNN. */
dnacl_status seq_bad_char(const char *path, long line, int record, const char *id, int pos, char c);
dnacl_status seq_nomem(const char *path);

/* 1-based position of the first character of s[0..len) that is not A/C/G/T/N (any case),
 * 0 if none. */
int seq_check_bases(const char *s, int len);

/* Parse a whole label field (surrounding blanks allowed) as a finite number. */
int seq_parse_label(const char *s, float *v);

/* Case-insensitive equality, and the canonical name of a split ("valid" for
 * valid/validation/val, "train" for train/training, "test" for test/testing; other names
 * are returned unchanged). */
int seq_ieq(const char *a, const char *b);
const char *seq_split_canon(const char *s);

char *seq_strdup(const char *s);

/* One line of a text file without its end-of-line (LF or CRLF); returns the length, or
 * -1 at end of file (or on a read error: check ferror). */
ssize_t seq_getline(char **buf, size_t *cap, FILE *f);

/* Open a file for reading, an ERR_IO naming it and the reason on failure. */
dnacl_status seq_open(const char *path, FILE **f);

/* ---- the builder ------------------------------------------------------------------
 * A reader runs its parse twice over the file. Pass 1 validates every record and counts
 * them; seqb_end_pass then fixes the output length and allocates x, y and ids at their
 * exact size; pass 2 fills them. Readers call seqb_tasks once (before the first record
 * of pass 1, and may call it again in pass 2 with the same count), then seqb_add per
 * record. */
typedef struct seq_record {
  int record;          /* 1-based number in the file */
  long line;           /* line of the header/row, 0 if not a text file */
  const char *id;
  const char *seq;
  int len;
  const float *labels; /* n_tasks values */
} seq_record;

typedef struct seq_builder {
  const char *path;
  dnacl_load_opts o;
  int pass;            /* 1 or 2 */
  int n;               /* records added in this pass */
  int n_pass1;
  int n_tasks;         /* -1 until seqb_tasks */
  char **task_names;
  int min_len, max_len;
  int first_len, first_record;
  char *first_id;
  int length;          /* output length, fixed after pass 1 */
  dnacl_seqset *out;
} seq_builder;

dnacl_status seqb_init(seq_builder *b, const char *path, const dnacl_load_opts *o, dnacl_seqset *out);
/* names: n_tasks strings, copied; NULL gives "label" for one task, else task0, task1... */
dnacl_status seqb_tasks(seq_builder *b, int n_tasks, const char *const *names);
dnacl_status seqb_add(seq_builder *b, const seq_record *r);
/* After pass 1: "no records" is an error (what names the filter, e.g. "with subset
 * 'test'"; NULL if none), the length is decided and memory allocated. After pass 2:
 * the set is handed to out. */
dnacl_status seqb_end_pass(seq_builder *b, const char *what);
void seqb_free(seq_builder *b); /* on failure: frees everything, leaves out empty */

/* Where a record of length len goes in a row of length L: the first src base used, the
 * first dst column, and how many. Pads split evenly (extra on the right), crops likewise. */
void seq_fit(int len, int L, int *src0, int *dst0, int *count);

/* Readers, each running both passes into b. */
dnacl_status seq_read_csv(seq_builder *b, char delim);
dnacl_status seq_read_fasta(seq_builder *b);
dnacl_status seq_read_h5(const char *path, const dnacl_load_opts *o, dnacl_seqset *out);
dnacl_status seq_csv_has_split(const char *path, char delim, const char *split, int *has);
dnacl_status seq_h5_has_split(const char *path, const char *split, int *has);

#endif
