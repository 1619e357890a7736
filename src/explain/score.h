/* Interpretability metrics of a trained model on data with ground truth (dnacl simulate's
 * files): what `dnacl score` prints and what a sweep's evaluations call. One function per
 * metric family, each usable on its own:
 *
 *   dnacl_score_classification   AUROC / AUPR per task and their mean
 *   dnacl_score_filter_match     first-layer filters whose best database match is a
 *                                ground-truth motif; filters matching any database motif
 *   dnacl_score_attribution      per-sequence AUROC / AUPR of attribution maps against the
 *                                ground-truth mask, averaged, per method
 *
 * The definitions follow Koo & Ploenzke (Nat. Mach. Intell. 3, 258-266, 2021) and their
 * evaluation code (p-koo/exponential_activations: helper.interpretability_performance,
 * helper.match_hits_to_ground_truth, task3_step4_plot_attr_score_comparisons.ipynb); where
 * dnacl chooses differently it says so below, with the reason.
 *
 * ---- filter match ---------------------------------------------------------------------
 * Each first-layer filter becomes a PFM by activation-based alignment (explain/filters.h;
 * threshold 0.5 of the filter's largest activation over the sequences given, as Koo's
 * activation_pwm) and is compared with a motif database (explain/tomtom.h; JASPAR CORE 2016
 * vertebrates by default, the file the simulation drew its motifs from).
 *   A hit is significant when its E-value is < 0.1: Koo ran `tomtom -evalue -thresh 0.1`.
 *   E (= p x database size) bounds the expected number of chance matches per filter, so
 *   the criterion does not loosen when a filter has many true hits, as a per-query
 *   Benjamini-Hochberg q-value would.
 *   frac_truth     filters whose best hit (smallest p-value) is significant and is a
 *                  ground-truth motif: one with role 1 in the data file's motif list (the
 *                  12 task motifs of koo-task1, the 5-motif positive pool of koo-task3,
 *                  which are what the labels depend on; for task 1 these are the paper's 12).
 *   frac_planted   the same with any motif of the file's list (task 3: the pool or one of
 *                  the 50 negatives-only motifs; equal to frac_truth for task 1).
 *   frac_truth_any Koo's own rule (match_hits_to_ground_truth): some significant hit, not
 *                  necessarily the best, is a ground-truth motif. It is looser: a filter
 *                  that matches KLF4 best and SP1 fourth counts.
 *   frac_db        filters with any significant hit (Koo's match_any, without his
 *                  hand-made correction for one low-complexity JASPAR matrix).
 *   The denominator is every filter of the first layer: a filter that never fires above
 *   the threshold has no PFM and matches nothing (Koo divides by all 32 filters too).
 *   A database motif "is" a ground-truth motif when it has the same id, the same JASPAR
 *   base id in another version (MA0079.2 for MA0079.3, as Koo's lists include every
 *   version), or the same name ignoring case.
 *
 * ---- attribution --------------------------------------------------------------------
 * Sequences: the first n (500, the paper's) sequences of the split whose label for the
 * target task is 1, in file order. A sequence without any positive mask position has no
 * ROC curve and is skipped, as is one whose every position is marked; both are counted.
 * Mask: M_<split> of the data file (positions whose generating PWM column carries more
 * than 0.01 bits; see sim/simulate.h). For multi-task data whose motif list has one role-1
 * motif per task in task order (koo-task1: motif t is task t), the mask of target t keeps
 * only the positions inside planted instances of motif t: an attribution for task t
 * should not be rewarded for the other motifs that sequence carries. Single-task data
 * (koo-task3) uses M as stored: every planted motif of a positive is a pool motif.
 * Position scores (Koo's convention):
 *   saliency, ig, deepshap   sum over bases of attribution x input, i.e. the attribution
 *                            of the observed base (signed: a negative score ranks low)
 *   ism                      the L2 norm over the 4 bases of the change of the output
 *                            (0 at the observed base): sqrt(sum_b delta_b^2), as Koo's
 *                            notebook scores mutagenesis maps
 * Per sequence: AUROC and AUPR of the scores against the mask (metrics.h: AUPR is
 * scikit-learn's average precision; Koo's notebook took the trapezoidal area under the PR
 * curve, auc(recall, precision), which linear interpolation between PR points makes
 * optimistic, so dnacl's AUPR is a little lower than his on the same maps). The reported
 * values are the means over the scored sequences, with their standard deviations.
 * Explained output: the logit by default (options.output); Koo explained the sigmoid
 * output. For saliency the per-sequence ranking is the same either way; for ISM, IG and
 * DeepSHAP the sigmoid compresses the changes of confidently predicted positives.
 * Methods and their settings (Koo's numbers of references and steps):
 *   saliency  the input gradient (explain.h dnacl_saliency)
 *   ism       dnacl_ism, incremental where the model allows it
 *   ig        integrated gradients, 20 midpoint steps, from each of 10 dinucleotide-
 *             shuffled baselines, averaged. Koo averaged the path gradient without the
 *             (x - baseline) factor and used mononucleotide permutations; dnacl reports
 *             true IG contributions (the same map `dnacl explain --method ig` gives),
 *             against references that keep the dinucleotide content (DESIGN.md).
 *   deepshap  dnacl_deepshap with 10 dinucleotide-shuffled references (Koo: 10
 *             mononucleotide permutations with shap.DeepExplainer)
 * A model a method does not support (DeepLIFT/SHAP on a transformer, say) gets that
 * method's result marked refused with the library's message naming the layer; nothing is
 * silently skipped. Seeds: the references of split record i are drawn from
 * dnacl_seed_mix(seed, i, stream), never from its rank, so a sequence's map does not depend
 * on n or the batch. DeepSHAP's stream is the one `dnacl explain --method deepshap` uses,
 * and IG's first baseline the one of `dnacl explain --method ig --baseline dinuc`. */
#ifndef DNACL_SCORE_H
#define DNACL_SCORE_H

#include <stdint.h>

#include "explain/explain.h"
#include "io/meme.h"
#include "io/seqdata.h"
#include "sim/simulate.h"
#include "train/metrics.h"

/* The database used when none is given (relative to the working directory, as dnacl
 * simulate's default motif file). */
#define DNACL_SCORE_DEFAULT_DB "data/JASPAR_CORE_2016_vertebrates.meme"

/* ---- classification --------------------------------------------------------------------- */

/* Predict set (eval mode, batch rows per pass; 0: 256) and compute dnacl_metrics_tasks:
 * per_task (set->n_tasks entries, may be NULL) and mean (may be NULL). */
dnacl_status dnacl_score_classification(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, int batch,
                                        dnacl_task_metrics *per_task, dnacl_task_metrics *mean);

/* ---- filter match ------------------------------------------------------------------------ */

typedef struct dnacl_filter_match_opts {
  double evalue;       /* a hit is significant below this E-value (0.1) */
  double threshold;    /* activation alignment threshold, in [0, 1) (0.5) */
  double pseudocount;  /* added to every PFM count (0.1, as dnacl filters) */
  int min_overlap;     /* TomTom minimum overlap (5) */
  int max_seqs;        /* align on at most this many sequences of the set (0: all) */
  int batch;           /* rows per forward pass (0: 128) */
} dnacl_filter_match_opts;

dnacl_filter_match_opts dnacl_filter_match_defaults(void);

typedef struct dnacl_filter_match_row {
  long sites;          /* windows aligned; 0: no PFM, no match */
  int best;            /* database index of the best hit, -1 without windows */
  double evalue;       /* the best hit's E-value (NaN without windows) */
  int significant;     /* evalue < opts.evalue */
  int truth;           /* of a significant best hit: 2 ground-truth (role 1), 1 another planted motif, 0 neither */
  int truth_any;       /* some significant hit is a ground-truth motif (Koo's rule) */
} dnacl_filter_match_row;

typedef struct dnacl_filter_match {
  int n_filters;       /* first-layer filters: the denominator */
  int n_with_sites;    /* filters with at least one window */
  int n_seqs;          /* sequences aligned */
  int n_truth, n_planted, n_truth_any, n_db;
  double frac_truth, frac_planted, frac_truth_any, frac_db;  /* NaN for the truth ones without a motif list */
  int truth_motifs;    /* role-1 motifs in the motif list (0 without one) */
  int truth_in_db;     /* of those, how many the database holds: 0 means frac_truth cannot exceed 0 */
  dnacl_filter_match_row *rows;  /* n_filters */
} dnacl_filter_match;

void dnacl_filter_match_free(dnacl_filter_match *fm);

/* The core: filters of m aligned on x (n, 4, L), compared with db. truth may be NULL (data
 * without ground truth): the truth fractions are then NaN. A model whose first layer is not
 * a conv1d is DNACL_ERR_UNSUPPORTED naming it. */
dnacl_status dnacl_filter_match_compute(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n,
                                        const dnacl_sim_motifs *truth, const dnacl_motif_set *db,
                                        const dnacl_filter_match_opts *o, dnacl_filter_match *out);

/* From files: the motif list of data_path (a dnacl simulate file; NULL: no truth) and the
 * database db_path (NULL: DNACL_SCORE_DEFAULT_DB); filters aligned on set's sequences. */
dnacl_status dnacl_score_filter_match(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, const char *data_path,
                                      const char *db_path, const dnacl_filter_match_opts *o, dnacl_filter_match *out);

/* ---- attribution ------------------------------------------------------------------------- */

/* Bit k of a method mask is method k; the order and names are those of the sweep's
 * dnacl_attr_methods (sweep/evals.h), so its mask passes straight through. */
typedef enum dnacl_score_method {
  DNACL_SCORE_SALIENCY = 0,
  DNACL_SCORE_ISM = 1,
  DNACL_SCORE_IG = 2,
  DNACL_SCORE_DEEPSHAP = 3,
  DNACL_SCORE_N_METHODS = 4
} dnacl_score_method;
#define DNACL_SCORE_ALL_METHODS 0xFu

/* "saliency", "ism", "ig", "deepshap", NULL. */
extern const char *const dnacl_score_method_names[];
/* A name to its method; DNACL_ERR_ARG listing the names otherwise. */
dnacl_status dnacl_score_method_parse(const char *name, dnacl_score_method *out);

typedef struct dnacl_attr_score_opts {
  int n;                        /* positive sequences considered (500) */
  int target;                   /* task explained and whose positives are taken (0) */
  dnacl_explain_output output;  /* logit (default) or probability */
  int correct;                  /* gradient correction (explain.h), 0 */
  int ig_steps, ig_refs;        /* 20, 10 */
  int shap_refs;                /* 10 */
  uint64_t seed;                /* 1 */
  int batch;                    /* rows per explainer pass (0: 64) */
} dnacl_attr_score_opts;

dnacl_attr_score_opts dnacl_attr_score_defaults(void);

/* The sequences scored and their masks. */
typedef struct dnacl_attr_selection {
  int n, length;                /* sequences kept */
  int *index;                   /* n: record in the split (seeds use it) */
  float *x;                     /* n * 4 * length */
  uint8_t *mask;                /* n * length */
  int considered;               /* positives looked at: min(opts.n, positives in the split) */
  int skipped_no_mask;          /* of those, without any marked position */
  int skipped_all_mask;         /* of those, with every position marked */
  int restricted;               /* 1: mask restricted to the target's motif (multi-task) */
} dnacl_attr_selection;

/* Select from set and its truth (the same split: same n and length, else DNACL_ERR_ARG).
 * motifs may be NULL (the mask is then used as stored). */
dnacl_status dnacl_attr_select(const dnacl_seqset *set, const dnacl_truth *truth, const dnacl_sim_motifs *motifs,
                               const dnacl_attr_score_opts *o, dnacl_attr_selection *out);
void dnacl_attr_selection_free(dnacl_attr_selection *s);

typedef struct dnacl_attr_score {
  dnacl_score_method method;
  int refused;                  /* 1: the model does not support the method; reason says why */
  char reason[512];
  int n;                        /* sequences scored */
  double auroc, aupr;           /* means over them (NaN when refused or none) */
  double auroc_sd, aupr_sd;     /* sample standard deviations over them */
  double worst_delta;           /* ig, deepshap: worst completeness error |sum - (f(x) - f(ref))|; else NaN */
  double seconds;               /* wall time of the method (not deterministic; for planning) */
} dnacl_attr_score;

/* Score one method on a selection. A method the model does not support returns DNACL_OK
 * with out->refused set; other failures are errors. */
dnacl_status dnacl_attr_score_method(dnacl_ctx *ctx, dnacl_model *m, const dnacl_attr_selection *sel,
                                     dnacl_score_method method, const dnacl_attr_score_opts *o, dnacl_attr_score *out);

typedef struct dnacl_attr_scores {
  unsigned methods;             /* the mask asked for */
  int considered, scored, skipped_no_mask, skipped_all_mask, restricted;
  dnacl_attr_score method[DNACL_SCORE_N_METHODS];  /* method[k] valid when bit k is set */
} dnacl_attr_scores;

/* From files: the truth of `split` and the motif list of data_path; set is that split as
 * loaded (so set->x rows are the truth's records). Methods by bit (DNACL_SCORE_ALL_METHODS
 * for the four). */
dnacl_status dnacl_score_attribution(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, const char *data_path,
                                     const char *split, unsigned methods, const dnacl_attr_score_opts *o,
                                     dnacl_attr_scores *out);

/* ---- the pieces, exposed for tests and other callers --------------------------------- */

/* Position scores out (n, L) from maps attr (n, 4, L) and one-hot x: sum_c attr * x
 * (l2 = 0) or sqrt(sum_c attr^2) (l2 = 1, ISM). */
void dnacl_attr_position_scores(const float *attr, const float *x, int n, int L, int l2, float *out);

typedef struct dnacl_mask_auc {
  int n;                        /* sequences with both classes, scored */
  int no_pos, no_neg;           /* skipped: no marked position / every position marked */
  double auroc, aupr, auroc_sd, aupr_sd;  /* NaN when n = 0; sd NaN when n < 2 */
} dnacl_mask_auc;

/* Per-sequence AUROC / AUPR of scores (n, L) against mask (n, L), averaged over the
 * sequences with both classes. auroc_each / aupr_each (n, may be NULL) receive each
 * sequence's values, NaN for the skipped ones. */
dnacl_status dnacl_mask_auc_compute(const float *scores, const uint8_t *mask, int n, int L, double *auroc_each,
                                    double *aupr_each, dnacl_mask_auc *out);
#endif
