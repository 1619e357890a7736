/* Labelled DNA sequences from the files a user brings: CSV/TSV, FASTA (+ a label table)
 * and HDF5 in the layout of Koo's datasets. Host-side only (no OpenCL); the training and
 * explaining code uploads the arrays it gets here.
 *
 * What comes out (dnacl_seqset)
 *   x  n * 4 * length floats, (N, 4, L) with L contiguous, channels in the order A, C, G, T:
 *      the layout of the network input and of Koo's X_<split> datasets.
 *   y  n * n_tasks floats, (N, T). n_tasks is 0 only for an unlabelled file loaded with
 *      allow_unlabelled (for prediction); then y is NULL.
 *   ids  one name per record: the FASTA id (the header up to the first blank), the CSV
 *      "id"/"name" column or else "row<k>" with k the 1-based data row of the file
 *      (the header is not counted, rows of other splits are), and "<split>:<i>" (0-based)
 *      for HDF5.
 *   task_names  n_tasks names (see each format below).
 *
 * Bases. A, C, G, T in any case are one-hot. N/n is n_value in all four channels: 0.25
 * (Koo's datasets, the default) or 1.0 (the "Learning the logic of DNA" chapter). Any other
 * character (IUPAC codes, '-', '.', digits, ...) is DNACL_ERR_PARSE naming the file, the
 * record (1-based number and id), the 1-based position, the character and the line.
 * Blanks (space, tab, CR) inside FASTA sequence lines are skipped.
 *
 * Lengths. With pad_to = crop_to = 0 every record must have the length of the first, else
 * DNACL_ERR_PARSE naming both records. pad_to = P > 0 pads shorter records with zeros (all
 * four channels 0, so padding is not confused with N) split evenly around the sequence,
 * the extra zero on the right when the difference is odd; crop_to = C > 0 keeps the centre
 * C bases of longer records, dropping the extra base on the right when odd. Giving both
 * fits every record to one length, so they must then be equal. P or C = -1 means "the
 * longest" / "the shortest" record of the loaded set. A record longer than P without
 * cropping (or shorter than C without padding) is an error naming it.
 *
 * Formats, chosen by extension (.csv; .tsv/.txt tab-separated; .fa/.fasta/.fna/.fas/.ffn;
 * .h5/.hdf5/.hdf) or else by the first bytes ('>' FASTA, the HDF5 signature, a header line
 * with a "sequence" column CSV). Gzip-compressed input is refused: decompress it first.
 *
 * CSV/TSV: a header row; columns found by name (case-insensitive), any others ignored:
 *   sequence (or seq)       the bases
 *   label, label_*, label*  one task per column, in column order; task names are the
 *                           column names. Values are numbers (0/1 for classification).
 *   subset (or split)       train / valid (also validation, val) / test: opts.split keeps
 *                           the rows of one split
 *   transcription_factor (or tf)  in the chapter's long format several TFs share a file;
 *                           opts.tf keeps one TF's rows, and a file with several TFs
 *                           loaded without opts.tf is an error (mixing them would train on
 *                           nonsense). With one label column the task is named after the TF.
 *   id (or name)            record ids
 *   Fields may be double-quoted ("" is a quote inside). Blank lines are skipped.
 *
 * FASTA: multi-line sequences; the id is the header up to the first blank. Labels:
 *   - with opts.labels_tsv: a table "id<TAB>label[<TAB>label...]", one line per id; if the
 *     first line's label fields are not all numbers it is a header naming the tasks
 *     (otherwise tasks are task0, task1, ...; "label" when there is one). Every FASTA id
 *     must be in the table (ids in the table but not in the FASTA are ignored). The header
 *     descriptions are then ignored.
 *   - otherwise in the header description: "key=value" tokens whose key begins with
 *     "label" are the labels, named by their keys (">seq1 label=1", ">seq1 label_CTCF=1
 *     label_YY1=0"); other key=value tokens are ignored. Without such tokens the blank
 *     separated words after the id are the labels (">seq1 1" or ">seq1 1 0 1"), named
 *     task0... ("label" when there is one). Every record needs the same labels.
 *   - opts.allow_unlabelled: if the first record has no labels (no label= token and no
 *     number after the id) the whole file is read as unlabelled; descriptions are ignored.
 *
 * HDF5 (Koo's layout): X_<split> float one-hot and Y_<split> (N, T) or (N,) labels of any
 *   numeric type (converted to float). X may be (N, 4, L) or (N, L, 4): the axis of size 4
 *   is the channel axis; if both are 4, (N, 4, L) is assumed. Each position of X must be
 *   one-hot, all zeros (padding, kept as zeros) or four equal positive values (an N,
 *   re-encoded as n_value); anything else is an error naming the dataset, record and
 *   position. opts.split NULL loads X_train, X_valid, X_test (those present) one after the
 *   other; "valid" also finds X_validation and the reverse. A missing X or Y dataset is an
 *   error naming the file and the dataset (and listing the datasets present). HDF5's own
 *   error printing is switched off during the call and restored afterwards.
 *
 * Memory. Text formats are read twice, record by record: the first pass validates and
 * counts, the second fills arrays allocated at their exact size. Besides the output only
 * one record (and, for labels_tsv, the label table) is held. HDF5 is read in slabs.
 */
#ifndef DNACL_SEQDATA_H
#define DNACL_SEQDATA_H

#include "dnacl.h"

typedef struct dnacl_seqset {
  int n, length, n_tasks;
  float *x;           /* n * 4 * length, (N, 4, L), channels A, C, G, T */
  float *y;           /* n * n_tasks, (N, T); NULL when n_tasks == 0 */
  char **ids;         /* n strings */
  char **task_names;  /* n_tasks strings */
} dnacl_seqset;

typedef struct dnacl_load_opts {
  const char *split;       /* "train", "valid", "test" (HDF5, CSV with a subset column); NULL = all */
  float n_value;           /* value of each channel for N: 0.25 (default) or 1.0 (the chapter) */
  int pad_to;              /* 0 none, P > 0 pad to P, -1 pad to the longest (see above) */
  int crop_to;             /* 0 none, C > 0 crop to C, -1 crop to the shortest */
  const char *labels_tsv;  /* FASTA only: side table of labels by id */
  const char *tf;          /* CSV only: keep the rows of this transcription_factor */
  int allow_unlabelled;    /* 1: a file without any labels loads with n_tasks = 0 */
} dnacl_load_opts;

/* The defaults: all splits, N = 0.25, no padding or cropping, labels required. A
 * zero-initialised struct is the same except that N is then encoded as all zeros. */
dnacl_load_opts dnacl_load_opts_default(void);

/* Load a whole file (or one split of it). o may be NULL for the defaults. On failure *out
 * is left empty (safe to free) and dnacl_last_error() names the file and the record. */
dnacl_status dnacl_seqset_load(const char *path, const dnacl_load_opts *o, dnacl_seqset *out);
void dnacl_seqset_free(dnacl_seqset *s);

/* *has = 1 if path holds the named split: X_<split> in HDF5, a row with that subset in
 * CSV. FASTA and CSV files without a subset column have no splits (*has = 0). */
dnacl_status dnacl_seqset_has_split(const char *path, const char *split, int *has);

/* Write sets as X_<split> (N, 4, L) float32 and Y_<split> (N, T) float32 datasets of a new
 * HDF5 file in Koo's layout (no Y for a set with n_tasks 0). The file is written under a
 * temporary name and renamed, so a failure never leaves a half-written file at path. */
dnacl_status dnacl_seqset_save_h5(const char *path, const dnacl_seqset *const *sets,
                                  const char *const *splits, int n_sets);

/* One-hot encode seq[0..len): channel c of base i goes to out[c * stride + i] (stride is
 * the row length of the (4, stride) block being written, >= len, so a sequence can be
 * placed inside a padded row; only these 4 * len values are written). N/n is n_value in
 * all four channels. Returns 0, or the 1-based position of the first character that is
 * not a base (positions before it are written, the rest are not). */
int dnacl_onehot_encode(const char *seq, int len, float n_value, float *out, int stride);

/* The inverse, for printing and for code that edits sequences: out[i] is the base with
 * the largest value in column i of x (channel c at x[c * stride + i]), 'N' where all four
 * are equal (N or padding). out is not NUL-terminated. */
void dnacl_onehot_decode(const float *x, int len, int stride, char *out);

#endif
