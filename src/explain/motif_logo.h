/* Sequence logos of position probability matrices, the classic kind (Schneider & Stephens
 * 1990): at each column the stack height is the column's information content against a
 * uniform background, IC = 2 + sum_c p_c log2 p_c bits (no small-sample correction: the
 * filter PFMs dnacl draws come from hundreds of windows or more), and each letter's height
 * is p_c * IC, the largest on top. The y axis is 0..2 bits for every logo, so logos of
 * different motifs compare by eye. Letters are the vector glyphs of explain/logo.h. */
#ifndef DNACL_MOTIF_LOGO_H
#define DNACL_MOTIF_LOGO_H
#include "io/svg.h"

/* The letter heights of a PFM p (width * 4, p[i * 4 + c]) as a (4, width) array (channel c
 * of column i at out[c * width + i]), the layout explain/logo.h draws. */
void dnacl_motif_logo_heights(const double *p, int width, float *out);

/* A logo in the box (x, y, w, h) of an open document; title may be NULL. */
void dnacl_motif_logo_draw(dnacl_svg *s, double x, double y, double w, double h, const double *p, int width,
                           const char *title);

/* A file with one logo, written atomically. */
dnacl_status dnacl_motif_logo_svg(const char *path, const double *p, int width, const char *title);

/* A file with a query logo above a matched motif's logo, aligned as a comparison placed
 * them: column 0 of `match` (already in the matched orientation) faces query column
 * `offset` (negative: it starts left of the query). Columns where one motif has none are
 * left empty. */
dnacl_status dnacl_motif_logo_pair_svg(const char *path, const double *query, int wq, const char *query_title,
                                       const double *match, int wm, int offset, const char *match_title);
#endif
