/* Synthetic datasets with planted motifs and their ground truth: the two designs of
 * Koo & Ploenzke, "Improving representations of genomic sequence motifs in convolutional
 * networks with exponential activations" (Nat. Mach. Intell. 3, 258-266, 2021), as their
 * code generates them (p-koo/exponential_activations, code/generate_data/
 * task1_generate_synthetic_dataset.ipynb and task3_generate_synthetic_code_dataset.ipynb).
 * Host-side only.
 *
 * What both designs share (as in Koo's generate_model / simulate_sequence)
 *   - Motifs are JASPAR position probability matrices, each usable on either strand: a
 *     draw picks uniformly among the 2 * M (motif, strand) entries of the pool, so a
 *     motif can be drawn more than once in a sequence.
 *   - The number of motifs k is drawn with P = 0.50 / 0.25 / 0.17 / 0.05 / 0.03 for
 *     k = kmin .. kmin + 4 (kmin 1 for task 1, 3 for task 3). If the k drawn motifs are
 *     together wider than the sequence, count and motifs are drawn again (Koo's
 *     rejection loop; it never happens at 200 bp with JASPAR 2016, whose widest matrix
 *     has 21 columns, but skews the count distribution for short sequences: the number
 *     of redraws is reported in dnacl_sim_data.redrawn).
 *   - The motifs are laid out left to right in the order drawn, without overlap (two may
 *     touch): the L - sum(widths) background bases are split into k + 1 gaps by k + 1
 *     uniform numbers, normalised and rounded half to even (numpy's round), drawn again
 *     until the rounded gaps add up exactly.
 *   - Every base is drawn from its column of the generating matrix: the motif's PWM
 *     column (reverse-complemented for the - strand) inside a motif, 1/4 each outside.
 *     So a planted motif is a sample of its PWM, not its consensus.
 *   - The records are shuffled (seeded) and split 0.7 / 0.1 / 0.2 into train, valid and
 *     test: floor(0.7 N) train, floor(0.8 N) - floor(0.7 N) valid, the rest test.
 *
 * koo-task1 (default 30,000 x 200 bp): 12 motifs (Arid3a, CEBPB, FOSL1, Gabpa, MAFK, MAX,
 *   MEF2A, NFYB, SP1, SRF, STAT1, YY1) and their reverse complements; 1-5 per sequence;
 *   12 tasks, task t is 1 if motif t is planted on either strand. In JASPAR CORE 2016
 *   each of these names belongs to exactly one matrix: MA0151.1 Arid3a, MA0466.2 CEBPB,
 *   MA0477.1 FOSL1, MA0062.2 Gabpa, MA0496.1 MAFK, MA0058.3 MAX, MA0052.3 MEF2A,
 *   MA0502.1 NFYB, MA0079.3 SP1, MA0083.3 SRF, MA0137.3 STAT1, MA0095.2 YY1 (MAX::MYC and
 *   STAT1::STAT2 are other names and are not taken).
 * koo-task3 (default 20,000 x 200 bp): one binary task. The first floor(N/2) sequences
 *   generated are positives, 3-7 motifs drawn from the positive pool {SP1, Gabpa, CEBPB,
 *   MAX, YY1} (both strands); the others are negatives, 3-7 motifs drawn from the positive
 *   pool AND n_background (50) other JASPAR motifs, both strands of each, uniformly over
 *   those 2 * 55 entries. As in Koo's code a negative can therefore hold positive-pool
 *   motifs (about 1 - (100/110)^k of them do), and with probability (10/110)^k (< 0.1%)
 *   only those: label noise the paper's data has too.
 *   The 50 are drawn from the seed among the file's motifs that are not in the pool and
 *   do not look like a pool motif. Koo dropped look-alikes by hand (a list of indices
 *   into his copy of JASPAR); here a candidate is dropped when, on either strand and at
 *   some offset with at least min(8, both widths) overlapping columns, the mean Pearson
 *   correlation of its columns with a pool motif's columns is >= 0.80. With JASPAR 2016
 *   that removes 42 matrices, the CEBP, ETS (ELK, ETV, ELF, ...), SP/KLF/EGR and E-box
 *   (MYC, MNT, ARNT, ...) families: the kind of look-alike the hand-made list removed
 *   (which entries it named cannot be recovered without his copy of the file).
 *
 * Motif names are looked up by exact name, then by JASPAR id (MA0079.3), then by name
 * ignoring case; if several matrices share a name the first in the file is taken. An
 * unknown name is an error naming the file and listing the close names.
 *
 * Ground truth and the mask
 *   Every planted motif is recorded (record, motif index, 0-based start, strand). The mask
 *   of a record marks the positions whose generating column carries information:
 *   2 + sum_b p_b log2 p_b > info_threshold bits. The default threshold, 0.01 bits, is the
 *   one of the paper's evaluation (helper.interpretability_performance: the label of a
 *   position is gt_info > 0.01 of the generating model, model_test). Background columns
 *   (1/4 each) carry 0 bits and are never marked. The mask marks every planted motif, as
 *   Koo's model_<split> does: in task 3 positives these are all positive-pool motifs
 *   (what the paper scores attributions against), in task 3 negatives they include the
 *   other 50 motifs (motif_role 0), and in task 1 all 12 task motifs.
 *
 * Determinism: everything is drawn from splitmix64 streams of the seed, one per record in
 * generation order (so the first records of a larger N are the same sequences), one for
 * the shuffle and one for the selection of negative-pool motifs. Same seed, same file
 * contents, on any platform.
 *
 * The file (HDF5, written under a temporary name and renamed; see truth_h5.c)
 *   X_<split> (N, 4, L) float32, Y_<split> (N, T) float32    Koo's layout; dnacl_seqset_load
 *   M_<split> (N, L) uint8                                    the mask
 *   truth_<split>_seq, _motif, _pos (K,) int32, _strand (K,) int8 (+1 / -1)
 *                                    one row per planted motif, ordered by record then
 *                                    position; _motif indexes the motif list below; _pos
 *                                    is the 0-based first base of the window in the
 *                                    record as stored, which holds the PWM (+1) or its
 *                                    reverse complement (-1) left to right
 *   motif_names, motif_ids (M,) strings; motif_role (M,) uint8 (1: a task-1 motif / a
 *     task-3 positive-pool motif; 0: a task-3 negatives-only motif); motif_width,
 *     motif_offset (M,) int32; motif_pwm (sum of widths, 4) float32, forward strand, the
 *     columns of motif m at rows motif_offset[m] ..; motif m of task 1 is task m.
 *   root attributes: task, seed, n, length, info_threshold, n_background, motif_file.
 */
#ifndef DNACL_SIMULATE_H
#define DNACL_SIMULATE_H

#include <stdint.h>

#include "dnacl.h"
#include "io/seqdata.h"

typedef enum dnacl_sim_task { DNACL_SIM_KOO_TASK1 = 1, DNACL_SIM_KOO_TASK3 = 3 } dnacl_sim_task;

typedef struct dnacl_sim_cfg {
  dnacl_sim_task task;
  const char *motifs_path;    /* MEME file of PWMs (data/JASPAR_CORE_2016_vertebrates.meme) */
  int n;                      /* sequences in all (>= 10) */
  int length;                 /* bases per sequence */
  uint64_t seed;
  double info_threshold;      /* bits; mask = column information > this (0.01) */
  int n_background;           /* task 3: other motifs in the negative pool (50) */
  /* The task-1 motifs / task-3 positive pool by name or id; NULL for the paper's list. */
  const char *const *names;
  int n_names;
} dnacl_sim_cfg;

/* The paper's settings for a task; motifs_path is the shipped data/ file. */
dnacl_sim_cfg dnacl_sim_defaults(dnacl_sim_task task);
/* "koo-task1" / "koo-task3" (also "task1", "task3"). */
dnacl_status dnacl_sim_task_parse(const char *name, dnacl_sim_task *out);
const char *dnacl_sim_task_name(dnacl_sim_task task);

/* The motif list of a dataset. */
typedef struct dnacl_sim_motifs {
  int n;
  char **names, **ids;
  int *width, *offset;        /* columns of motif m: pwm rows offset[m] .. offset[m]+width[m]-1 */
  float *pwm;                 /* (sum of widths, 4): forward strand, A C G T, columns sum to 1 */
  uint8_t *role;              /* 1: task motif / positive pool; 0: negatives only */
} dnacl_sim_motifs;
void dnacl_sim_motifs_free(dnacl_sim_motifs *m);

/* The ground truth of one split. */
typedef struct dnacl_truth {
  int n, length;              /* records and bases, as X_<split> */
  int k;                      /* planted motifs in the split */
  int *seq, *motif, *pos;     /* k each: record (0-based, in the split), motif index, start */
  int8_t *strand;             /* k: +1 forward, -1 reverse complement */
  int *first;                 /* n + 1: the planted motifs of record i are rows first[i] .. first[i+1]-1 */
  uint8_t *mask;              /* n * length: 1 where the generating column has information */
} dnacl_truth;
void dnacl_truth_free(dnacl_truth *t);

/* A generated dataset in memory: sets/truth [0] train, [1] valid, [2] test. */
typedef struct dnacl_sim_data {
  dnacl_sim_task task;
  int n, length;
  uint64_t seed;
  double info_threshold;
  int n_background;
  char *motifs_path;
  dnacl_sim_motifs motifs;
  dnacl_seqset sets[3];
  dnacl_truth truth[3];
  long redrawn;               /* motif draws rejected because they did not fit (see above) */
} dnacl_sim_data;

extern const char *const dnacl_sim_splits[3];   /* "train", "valid", "test" */

dnacl_status dnacl_sim_generate(const dnacl_sim_cfg *cfg, dnacl_sim_data *out);
/* Write a dataset to path (temporary name, then rename; never half-written). */
dnacl_status dnacl_sim_save(const dnacl_sim_data *d, const char *path);
void dnacl_sim_data_free(dnacl_sim_data *d);
/* Generate and save: the one call a sweep runner needs. */
dnacl_status dnacl_simulate(const dnacl_sim_cfg *cfg, const char *out_path);

/* Read back the ground truth of one split ("train", "valid"/"validation", "test") and the
 * motif list of a simulated file. Errors name the file and the dataset; on failure *out is
 * left empty (safe to free). */
dnacl_status dnacl_truth_load(const char *path, const char *split, dnacl_truth *out);
dnacl_status dnacl_sim_motifs_load(const char *path, dnacl_sim_motifs *out);

/* Information (bits) of a probability column: 2 + sum_b p_b log2 p_b, 0 terms for p = 0. */
double dnacl_sim_column_info(const float p[4]);

#endif
