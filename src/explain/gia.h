/* Global importance analysis (Koo, Majdandzic, Ploenzke, Anand & Paul, "Global importance
 * analysis: an interpretability method to quantify importance of genomic features in deep
 * neural networks", PLoS Computational Biology 17, e1008925 (2021)): the effect of a pattern
 * is the mean prediction over background sequences with the pattern embedded minus the mean
 * prediction over the same backgrounds without it,
 *     effect = mean_i [ f(x_i with pattern) - f(x_i) ],
 * reported with the standard error of those per-sequence differences (sample standard
 * deviation / sqrt(n)). f is the sigmoid probability of one output task, the model in eval
 * mode. Everything is seeded: the same seed gives the same numbers.
 *
 * Backgrounds (dnacl_gia_background):
 *   SHUFFLED  dinucleotide shuffles of real sequences (dnacl_dinuc_shuffle_onehot: the
 *             dinucleotide counts of each are kept exactly), or, without real sequences,
 *             i.i.d. uniform random bases
 *   PROFILE   i.i.d. bases drawn from the per-position base frequencies of the real
 *             sequences (position j's A/C/G/T frequencies over the set; N and padding
 *             columns do not count)
 *   DATA      the real sequences themselves
 * Real sequences are picked from the set as follows: n <= the set's size, a seeded random
 * subset without replacement (in random order); n larger, seeded draws with replacement.
 *
 * Patterns: a string over A, C, G, T and N (any case), or a probability matrix sampled
 * independently for every sequence. Embedding writes the pattern's one-hot bases over the
 * background from a 0-based start position; an N in the pattern leaves the background's
 * base there (so "GATAANNNNGATA" fixes two half sites and keeps what lies between). */
#ifndef DNACL_GIA_H
#define DNACL_GIA_H

#include "io/meme.h"
#include "nn/model.h"

typedef enum dnacl_gia_bg {
  DNACL_GIA_SHUFFLED = 0,
  DNACL_GIA_PROFILE = 1,
  DNACL_GIA_DATA = 2
} dnacl_gia_bg;

/* "shuffled", "profile", "data"; -1 for anything else. */
int dnacl_gia_bg_from_name(const char *name);

/* n background sequences (n, 4, L) into out. data (n_data, 4, L) may be NULL only for
 * SHUFFLED. Deterministic in seed. */
dnacl_status dnacl_gia_background(dnacl_gia_bg kind, const float *data, int n_data, int L, int n, uint64_t seed,
                                  float *out);

typedef struct dnacl_gia_pattern {
  const char *consensus;  /* ACGTN string, or NULL when pwm is used */
  const double *pwm;      /* width * 4 probabilities, sampled per sequence */
  int width;
  uint64_t seed;          /* for sampling the pwm: sequence i gets stream (seed, i) */
} dnacl_gia_pattern;

/* Embed p into each of the n sequences x (n, 4, L) at 0-based start pos. The sampled bases
 * of sequence i depend only on (p->seed, i), so a pattern embedded at several places or
 * spacings is the same instance in each. DNACL_ERR_ARG if it does not fit in [0, L). */
dnacl_status dnacl_gia_embed(float *x, int n, int L, const dnacl_gia_pattern *p, int pos);

/* Sigmoid probabilities of output `target` for x (n, 4, L), batch rows per forward pass
 * (0: 256); prob gets n values. */
dnacl_status dnacl_gia_predict(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int target, int batch,
                               double *prob);

typedef struct dnacl_gia_stat {
  int n;
  double mean_before, mean_after;  /* mean probability without / with the change */
  double effect;                   /* mean of the per-sequence differences after - before */
  double stderr_;                  /* their standard error */
} dnacl_gia_stat;

/* The statistic of paired predictions. */
dnacl_gia_stat dnacl_gia_stat_of(const double *before, const double *after, int n);

/* One effect: embed the patterns (n_patterns of them, each at pos[k], in order, later ones
 * overwriting earlier ones where they overlap) into a copy of bg and compare with
 * bg_prob, the predictions on bg (dnacl_gia_predict). */
dnacl_status dnacl_gia_effect(dnacl_ctx *ctx, dnacl_model *m, const float *bg, const double *bg_prob, int n,
                              const dnacl_gia_pattern *const *patterns, const int *pos, int n_patterns, int target,
                              int batch, dnacl_gia_stat *out);

/* Occlusion: positions [a, b) of every sequence of x replaced by i.i.d. uniform random bases
 * (sequence i from stream (seed, i)); the statistic's effect is mean(after - before), so the
 * mean drop is -effect. */
dnacl_status dnacl_gia_occlude(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int a, int b, int target,
                               int batch, uint64_t seed, dnacl_gia_stat *out);
#endif
