/* MEME motif files (the "minimal MEME format", version 4 and later, as the MEME suite's
 * meme-format documentation describes it): read and written as sets of DNA position
 * probability matrices. This is how dnacl writes first-layer filters as motifs and how it
 * reads motif databases such as JASPAR for comparison and for global importance analysis.
 *
 * What the reader accepts, line by line (leading and trailing blanks ignored):
 *   MEME version V                 required, before anything else that is not blank; V >= 4
 *   ALPHABET= ACGT                 optional (DNA is assumed); any other alphabet, including
 *                                  MEME 5's custom "ALPHABET "name" ..." blocks, is refused
 *   strands: + -  |  strands: +    optional (default both)
 *   Background letter frequencies  optional; the next non-blank line holds "A p C p G p T p"
 *                                  (letters in any order, each once, summing to 1 +- 0.01)
 *   MOTIF id [name]                starts a motif; ids must be unique in a file
 *   letter-probability matrix: alength= 4 w= W nsites= N E= E
 *                                  key= value pairs in any order, each optional except that
 *                                  alength must be 4 if given; then W rows of 4
 *                                  probabilities (A C G T). Without w= the rows run until the
 *                                  first line that is not a row of numbers.
 *   URL text                       kept with the current motif and written back
 *   log-odds matrix: ...           skipped together with its rows (dnacl does not use it)
 * Every other line is ignored, so the full output of MEME/STREME (which carries the
 * minimal format inside a lot of prose) still reads.
 *
 * Checks, each an error DNACL_ERR_PARSE "file:line: message": a missing or too old version
 * line, another alphabet, alength != 4, w < 1, a matrix row without exactly 4 numbers, a
 * probability outside [0, 1] or not a number, a row whose sum is not 1 within 0.02 (MEME
 * files are written with 6 decimals; JASPAR's rows are off by at most 1e-6), fewer rows than
 * w, a matrix outside a MOTIF, a MOTIF without a matrix, a repeated id, a file without any
 * motif. Values are kept as read (not renormalised), so reading and writing round-trips
 * them to the 6 decimals written. */
#ifndef DNACL_MEME_H
#define DNACL_MEME_H

#include "runtime/runtime.h"

typedef struct dnacl_motif {
  char *id;        /* "MA0139.1", "filter3" */
  char *name;      /* the optional second word of the MOTIF line, or NULL */
  char *url;       /* the URL line, or NULL */
  int width;
  double *p;       /* width * 4 probabilities, p[i * 4 + c], bases c = A, C, G, T */
  double nsites;   /* 0 when the file does not say */
  double evalue;   /* 0 when the file does not say */
  int line;        /* the MOTIF line in its file (0 for motifs made in memory) */
} dnacl_motif;

typedef struct dnacl_motif_set {
  dnacl_motif *motifs;
  int n, cap;
  double bg[4];    /* background letter frequencies A, C, G, T (uniform by default) */
  int strands;     /* 2 ("+ -") or 1 ("+") */
} dnacl_motif_set;

/* An empty set with a uniform background and both strands. */
void dnacl_motif_set_init(dnacl_motif_set *s);
void dnacl_motif_set_free(dnacl_motif_set *s);

/* Read a MEME file. On failure *out is left empty (safe to free) and the message names the
 * file and the line. */
dnacl_status dnacl_meme_load(const char *path, dnacl_motif_set *out);
/* The same from text in memory; path is used in messages only. */
dnacl_status dnacl_meme_parse(const char *path, const char *text, dnacl_motif_set *out);

/* Write a set as MEME version 4 text (header, alphabet, strands, background, then per motif
 * "MOTIF id [name]", the letter-probability matrix with 6 decimals and the URL line). The
 * file is written to PATH.tmp and renamed, so readers never see half a file. */
dnacl_status dnacl_meme_save(const char *path, const dnacl_motif_set *s);

/* Append a copy of a motif (id, name, url copied; p copied, width * 4 values). Ids are not
 * checked for uniqueness here. name and url may be NULL. */
dnacl_status dnacl_motif_set_add(dnacl_motif_set *s, const char *id, const char *name, const char *url,
                                 const double *p, int width, double nsites, double evalue);

/* The index of the motif whose id is `key`, else of the one motif whose name is `key`;
 * -1 if none. -2 if the name belongs to several motifs (and no id matches). */
int dnacl_motif_find(const dnacl_motif_set *s, const char *key);

/* The reverse complement of a matrix: out[i, c] = p[w - 1 - i, 3 - c] (A<->T, C<->G).
 * out must not overlap p. */
void dnacl_motif_revcomp(const double *p, int width, double *out);

/* The consensus: for each column the base with the largest probability (the first of
 * A, C, G, T on ties). out gets width characters and a NUL. */
void dnacl_motif_consensus(const double *p, int width, char *out);

/* Information content of column i in bits against a uniform background:
 * 2 + sum_c p_c log2 p_c (0 log 0 = 0), clamped to [0, 2]. */
double dnacl_motif_column_ic(const double *p, int i);
#endif
