/* A TomTom-style comparison of a query motif against a motif database (after Gupta, Stamato-
 * yannopoulos, Bailey & Noble, "Quantifying similarity between motifs", Genome Biology 8,
 * R24 (2007)). It is the method of that paper with the choices below made explicit; it is
 * not a bit-for-bit copy of the MEME suite's tomtom program, whose defaults have changed
 * between releases (complete scores, quantile shifting, Euclidean distance). Host code:
 * one query against JASPAR's 518 motifs takes about a millisecond.
 *
 * Exactly what is computed (tools/tomtom_reference.py is the same in plain Python):
 *
 * 1. Column score: the Pearson correlation coefficient of the 4 probabilities of a query
 *    column q and a target column t,
 *        s(q, t) = sum_c (q_c - mean q)(t_c - mean t) / sqrt(sum_c (q_c - mean q)^2 sum_c (t_c - mean t)^2),
 *    and 0 when either column is constant (a uniform column correlates with nothing). It is
 *    rounded to an integer score k = round((s + 1) / 2 * bins) in 0..bins (bins = 100 by
 *    default, a resolution of 0.02), so that sums of column scores have an exact discrete
 *    null distribution.
 *
 * 2. Null distribution of one query column i: the empirical distribution of k(q_i, t) over
 *    every column t of every database motif, and, when both strands are compared, every
 *    column of their reverse complements (the complemented columns) too.
 *
 * 3. An alignment places target column 0 at query column `offset` (negative: the target
 *    starts left of the query) on one strand (+ the target as given, - its reverse
 *    complement). Its overlap is the query columns a..b that face a target column; only
 *    alignments with b - a + 1 >= min(min_overlap, query width, target width) are scored
 *    (min_overlap 5 by default). Its score is S = sum over the overlap of k(q_i, t_{i-offset}),
 *    and its p-value is P(X >= S) where X is the sum of independent draws from the null
 *    distributions of columns a..b (their convolution; "incomplete scores": query columns
 *    outside the overlap do not count).
 *
 * 4. The best alignment of a target is the one with the smallest p-value (ties: the larger
 *    overlap, then strand +, then the smaller offset). Its p-value is corrected for the
 *    number n of alignments tried (offsets times strands) as if they were independent
 *    (Sidak): p = 1 - (1 - p_min)^n. This is the target's p-value.
 *
 * 5. E-value = p * the number of database motifs. q-value: Benjamini-Hochberg over the
 *    database motifs of one query, q_(j) = min_{l >= j} p_(l) * N / l. */
#ifndef DNACL_TOMTOM_H
#define DNACL_TOMTOM_H

#include "io/meme.h"

typedef struct dnacl_tomtom_opts {
  int min_overlap;  /* 5 */
  int both_strands; /* 1: also the reverse complement of every target (0 for strands: + databases) */
  int bins;         /* resolution of the column score, 100 */
} dnacl_tomtom_opts;

dnacl_tomtom_opts dnacl_tomtom_defaults(void);

typedef struct dnacl_tomtom_hit {
  int target;       /* index into the database */
  int offset;       /* query column facing the (strand-oriented) target's column 0 */
  int strand;       /* +1 or -1 (the target's reverse complement) */
  int overlap;      /* aligned columns */
  double score;     /* mean Pearson correlation over the overlap, from the rounded scores */
  double p_align;   /* p-value of the best alignment before the correction */
  double pvalue, evalue, qvalue;
} dnacl_tomtom_hit;

/* The null distributions of a database; built once, used for any number of queries. */
typedef struct dnacl_tomtom_db dnacl_tomtom_db;
dnacl_status dnacl_tomtom_db_new(const dnacl_motif_set *db, const dnacl_tomtom_opts *o, dnacl_tomtom_db **out);
void dnacl_tomtom_db_free(dnacl_tomtom_db *d);

/* Compare a query (width wq, p[i * 4 + c]) with every database motif: hits[t] for target
 * t, in database order (hits has db->n entries). best (may be NULL) gets the index of the
 * hit with the smallest p-value (ties: the smaller index). */
dnacl_status dnacl_tomtom_query(const dnacl_tomtom_db *d, const double *q, int wq, dnacl_tomtom_hit *hits, int *best);

/* The integer column score of step 1 (exposed for tests). */
int dnacl_tomtom_column_score(const double *q, const double *t, int bins);
#endif
