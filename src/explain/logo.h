/* SVG pictures of attribution maps, as in the chapter's figures: sequence logos with each
 * letter's height its score (positive stacked upwards, negative downwards and drawn upside
 * down, as logomaker draws them), and ISM heatmaps (rows A, C, G, T, one column per
 * position, a diverging colour scale centred at 0, the reference base marked).
 *
 * Letters are vector paths, not text, so their heights are exact and the pictures render
 * the same without fonts. The draw functions add to an open document (the HTML report can
 * place several panels in one picture); the *_svg functions write a file atomically. */
#ifndef DNACL_LOGO_H
#define DNACL_LOGO_H
#include "io/svg.h"

typedef struct dnacl_logo_style {
  const char *title;   /* NULL: none */
  const char *ylabel;  /* NULL: "attribution" */
  int start;           /* first position drawn and the number of positions; */
  int count;           /* count 0 = all from start. Tick labels are 1-based positions. */
  double ymax;         /* the positive (and negative) axis extent; 0 = from the data */
} dnacl_logo_style;

/* Letter colours, indexed A, C, G, T (the usual green, blue, orange, red). */
const char *dnacl_logo_color(int base);

/* Draw one base's glyph filling the box (x, y) - (x + w, y + h); flipped draws it upside
 * down (for negative scores). */
void dnacl_logo_glyph(dnacl_svg *s, int base, double x, double y, double w, double h, int flipped);

/* A logo of attr (4, L) (channel c of position p at attr[c * L + p]) in the panel box
 * (x, y, width, height): axes, ticks, zero line and the letter stacks. Non-finite scores
 * are drawn as 0. */
void dnacl_logo_draw(dnacl_svg *s, double x, double y, double width, double height, const float *attr, int L,
                     const dnacl_logo_style *st);
/* A file with one logo; the width follows the number of positions drawn. */
dnacl_status dnacl_logo_svg(const char *path, const float *attr, int L, const dnacl_logo_style *st);

/* An ISM heatmap of ism (4, L); x (4, L) one-hot marks the reference base of each position
 * with a dot (NULL: no marks). Colour: blue for negative, red for positive, white at 0,
 * saturating at the largest magnitude (st->ymax when given). */
void dnacl_ism_heatmap_draw(dnacl_svg *s, double x, double y, double width, double height, const float *ism,
                            const float *onehot, int L, const dnacl_logo_style *st);
dnacl_status dnacl_ism_heatmap_svg(const char *path, const float *ism, const float *onehot, int L,
                                   const dnacl_logo_style *st);
#endif
