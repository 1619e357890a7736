/* Sequence logos of attributions and ISM heatmaps as SVG; see logo.h. */
#include "explain/logo.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const colors[4] = {"#109648", "#255C99", "#F7B32B", "#D62839"};

const char *dnacl_logo_color(int base) { return base >= 0 && base < 4 ? colors[base] : "#888888"; }

/* Glyphs in a unit box, y pointing down (SVG's): block letters in the spirit of
 * logomaker's and deeplift's viz_sequence, wide enough to read at a few pixels. */
static const char *const glyph_paths[4][2] = {
    /* A: outline and the counter above the crossbar (even-odd fill cuts it out) */
    {"M0,1L0.4,0L0.6,0L1,1L0.78,1L0.68,0.72L0.32,0.72L0.22,1ZM0.38,0.56L0.62,0.56L0.5,0.22Z", NULL},
    /* C: a ring open to the right, 38 degrees either side of the horizontal */
    {"M0.894,0.192A0.5,0.5 0 1 0 0.894,0.808L0.744,0.691A0.31,0.31 0 1 1 0.744,0.309Z", NULL},
    /* G: the C ring, its crossbar and the short vertical spur */
    {"M0.894,0.192A0.5,0.5 0 1 0 0.894,0.808L0.744,0.691A0.31,0.31 0 1 1 0.744,0.309Z",
     "M0.52,0.5L0.94,0.5L0.94,0.82L0.8,0.82L0.8,0.63L0.52,0.63Z"},
    /* T */
    {"M0,0L1,0L1,0.17L0.59,0.17L0.59,1L0.41,1L0.41,0.17L0,0.17Z", NULL},
};

void dnacl_logo_glyph(dnacl_svg *s, int base, double x, double y, double w, double h, int flipped) {
  if (base < 0 || base > 3 || !isfinite(x) || !isfinite(y) || !isfinite(w) || !isfinite(h) || w <= 0 || h <= 0)
    return;
  /* Upside down: the box's bottom edge becomes the glyph's top. */
  dnacl_svg_printf(s, "<g transform=\"translate(%.3f %.3f) scale(%.4f %.4f)\" fill=\"%s\" fill-rule=\"evenodd\">",
                   x, flipped ? y + h : y, w, flipped ? -h : h, colors[base]);
  for (int k = 0; k < 2 && glyph_paths[base][k]; k++) dnacl_svg_printf(s, "<path d=\"%s\"/>", glyph_paths[base][k]);
  dnacl_svg_printf(s, "</g>\n");
}

static float val(const float *a, size_t i) { return isfinite(a[i]) ? a[i] : 0.0f; }

/* Positions [start, start + count) clamped to [0, L). */
static void span(const dnacl_logo_style *st, int L, int *start, int *count) {
  int s0 = st && st->start > 0 ? st->start : 0;
  if (s0 > L) s0 = L;
  int c = st && st->count > 0 ? st->count : L - s0;
  if (c > L - s0) c = L - s0;
  *start = s0;
  *count = c;
}

/* Position ticks (1-based labels) under a strip of `count` columns of width cw from px. */
static void position_ticks(dnacl_svg *s, double px, double cw, double ybase, int start, int count) {
  double first, step;
  int n = dnacl_nice_ticks(start + 1, start + count, count * cw / 60.0 > 2 ? (int)(count * cw / 60.0) : 2, &first, &step);
  if (step < 1) step = 1, first = ceil(first), n = count < 10 ? count : 10;
  for (int k = 0; k < n; k++) {
    double v = first + k * step;
    if (v < start + 1 || v > start + count) continue;
    double X = px + (v - start - 0.5) * cw;
    char buf[32];
    dnacl_svg_format_tick(v, step, buf, sizeof buf);
    dnacl_svg_line(s, X, ybase, X, ybase + 4, "#444", 1);
    dnacl_svg_text(s, X, ybase + 15, 10, "middle", 0, 0, "#333", buf);
  }
}

void dnacl_logo_draw(dnacl_svg *s, double x, double y, double width, double height, const float *attr, int L,
                     const dnacl_logo_style *st) {
  int start, count;
  span(st, L, &start, &count);
  const double top = st && st->title ? 22 : 8, left = 56, right = 10, bottom = 30;
  const double px = x + left, py = y + top, pw = width - left - right, ph = height - top - bottom;
  if (pw <= 0 || ph <= 0 || count <= 0) return;
  /* The axis extent: the tallest positive and negative stacks. */
  double pos_max = 0, neg_max = 0;
  for (int p = start; p < start + count; p++) {
    double up = 0, down = 0;
    for (int c = 0; c < 4; c++) {
      double v = val(attr, (size_t)c * L + p);
      if (v > 0) up += v;
      else down -= v;
    }
    pos_max = fmax(pos_max, up);
    neg_max = fmax(neg_max, down);
  }
  double lo = -neg_max, hi = pos_max;
  if (st && st->ymax > 0) {
    hi = st->ymax;
    lo = neg_max > 0 ? -st->ymax : 0;
  } else {
    if (hi == 0 && lo == 0) hi = 1;
    dnacl_nice_range(&lo, &hi, 6);
  }
  if (st && st->title) dnacl_svg_text(s, x + width / 2, y + 15, 13, "middle", 0, 1, "#222", st->title);
  /* Y axis with ticks and label. */
  double first, step;
  int nt = dnacl_nice_ticks(lo, hi, 6, &first, &step);
  for (int k = 0; k < nt; k++) {
    double v = first + k * step;
    double Y = py + (hi - v) / (hi - lo) * ph;
    char buf[32];
    dnacl_svg_format_tick(v, step, buf, sizeof buf);
    dnacl_svg_line(s, px - 4, Y, px, Y, "#444", 1);
    dnacl_svg_text(s, px - 6, Y + 3.5, 10, "end", 0, 0, "#333", buf);
  }
  dnacl_svg_line(s, px, py, px, py + ph, "#444", 1);
  dnacl_svg_text(s, x + 12, py + ph / 2, 11, "middle", -90, 0, "#333", st && st->ylabel ? st->ylabel : "attribution");
  double Y0 = py + hi / (hi - lo) * ph, cw = pw / count, scale = ph / (hi - lo);
  dnacl_svg_line(s, px, Y0, px + pw, Y0, "#999", 0.6);
  /* Letters: at each position the positive scores stacked upwards from 0 in increasing
   * order (the largest on top), the negative ones downwards, the largest magnitude at the
   * bottom. Letters under a tenth of a pixel are left out. */
  for (int p = start; p < start + count; p++) {
    int order[4] = {0, 1, 2, 3};
    float v[4];
    for (int c = 0; c < 4; c++) v[c] = val(attr, (size_t)c * L + p);
    for (int i = 1; i < 4; i++)
      for (int j = i; j > 0 && fabsf(v[order[j]]) < fabsf(v[order[j - 1]]); j--) {
        int t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
    double up = Y0, down = Y0, X = px + (p - start) * cw + 0.05 * cw;
    for (int k = 0; k < 4; k++) {
      int c = order[k];
      double h = fabs(v[c]) * scale;
      if (h < 0.1) continue;
      if (v[c] > 0) {
        /* Clip at the panel edge when a fixed ymax is smaller than the data. */
        double top_y = fmax(up - h, py);
        dnacl_logo_glyph(s, c, X, top_y, 0.9 * cw, up - top_y, 0);
        up = top_y;
      } else {
        double bot = fmin(down + h, py + ph);
        dnacl_logo_glyph(s, c, X, down, 0.9 * cw, bot - down, 1);
        down = bot;
      }
    }
  }
  dnacl_svg_line(s, px, py + ph, px + pw, py + ph, "#444", 1);
  position_ticks(s, px, cw, py + ph, start, count);
}

static double panel_width(int count) {
  double per = count <= 60 ? 14 : count <= 200 ? 6 : count <= 500 ? 3 : 2;
  return 66 + per * count;
}

dnacl_status dnacl_logo_svg(const char *path, const float *attr, int L, const dnacl_logo_style *st) {
  int start, count;
  span(st, L, &start, &count);
  double w = panel_width(count), h = 200;
  dnacl_svg s;
  DNACL_TRY(dnacl_svg_begin(&s, w, h));
  dnacl_logo_draw(&s, 0, 0, w, h, attr, L, st);
  dnacl_status r = dnacl_svg_save(&s, path);
  dnacl_svg_free(&s);
  return r;
}

/* Diverging colour: white at 0 to #B2182B (positive) or #2166AC (negative) at |t| = 1. */
static void diverging(double t, char *buf, size_t n) {
  if (!isfinite(t)) t = 0;
  if (t > 1) t = 1;
  if (t < -1) t = -1;
  const double pos[3] = {178, 24, 43}, neg[3] = {33, 102, 172};
  const double *e = t >= 0 ? pos : neg;
  double a = fabs(t);
  int r = (int)lround(255 + (e[0] - 255) * a), g = (int)lround(255 + (e[1] - 255) * a),
      b = (int)lround(255 + (e[2] - 255) * a);
  snprintf(buf, n, "#%02X%02X%02X", r, g, b);
}

void dnacl_ism_heatmap_draw(dnacl_svg *s, double x, double y, double width, double height, const float *ism,
                            const float *onehot, int L, const dnacl_logo_style *st) {
  int start, count;
  span(st, L, &start, &count);
  const double top = st && st->title ? 22 : 8, left = 24, right = 78, bottom = 30;
  const double px = x + left, py = y + top, pw = width - left - right, ph = height - top - bottom;
  if (pw <= 0 || ph <= 0 || count <= 0) return;
  double vmax = st && st->ymax > 0 ? st->ymax : 0;
  if (vmax == 0) {
    for (int c = 0; c < 4; c++)
      for (int p = start; p < start + count; p++) vmax = fmax(vmax, fabs(val(ism, (size_t)c * L + p)));
    if (vmax == 0) vmax = 1;
  }
  if (st && st->title) dnacl_svg_text(s, x + width / 2, y + 15, 13, "middle", 0, 1, "#222", st->title);
  double cw = pw / count, rh = ph / 4;
  char col[16];
  for (int c = 0; c < 4; c++) {
    const char name[2] = {"ACGT"[c], 0};
    dnacl_svg_text(s, px - 6, py + (c + 0.5) * rh + 4, 11, "end", 0, 1, colors[c], name);
    for (int p = start; p < start + count; p++) {
      diverging(val(ism, (size_t)c * L + p) / vmax, col, sizeof col);
      /* A hair wider than the column so that adjacent cells leave no anti-aliasing seams. */
      dnacl_svg_printf(s, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>", px + (p - start) * cw,
                       py + c * rh, cw + 0.3, rh + 0.3, col);
      if (onehot && onehot[(size_t)c * L + p] == 1.0f)
        dnacl_svg_printf(s, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"#222\"/>", px + (p - start + 0.5) * cw,
                         py + (c + 0.5) * rh, fmin(cw, rh) * 0.18 + 0.4);
    }
    dnacl_svg_printf(s, "\n");
  }
  dnacl_svg_rect(s, px, py, pw, ph, NULL, "#444");
  position_ticks(s, px, cw, py + ph, start, count);
  /* Colour bar: -vmax .. vmax, labelled at both ends and 0. */
  double bx = px + pw + 14, bw = 12;
  for (int k = 0; k < 50; k++) {
    double t = 1.0 - 2.0 * (k + 0.5) / 50;
    diverging(t, col, sizeof col);
    dnacl_svg_rect(s, bx, py + k * ph / 50, bw, ph / 50 + 0.3, col, NULL);
  }
  dnacl_svg_rect(s, bx, py, bw, ph, NULL, "#444");
  char buf[32];
  snprintf(buf, sizeof buf, "%.3g", vmax);
  dnacl_svg_text(s, bx + bw + 4, py + 8, 10, "start", 0, 0, "#333", buf);
  dnacl_svg_text(s, bx + bw + 4, py + ph / 2 + 3.5, 10, "start", 0, 0, "#333", "0");
  snprintf(buf, sizeof buf, "%.3g", -vmax);
  dnacl_svg_text(s, bx + bw + 4, py + ph, 10, "start", 0, 0, "#333", buf);
}

dnacl_status dnacl_ism_heatmap_svg(const char *path, const float *ism, const float *onehot, int L,
                                   const dnacl_logo_style *st) {
  int start, count;
  span(st, L, &start, &count);
  double w = panel_width(count) + 56, h = 150;
  dnacl_svg s;
  DNACL_TRY(dnacl_svg_begin(&s, w, h));
  dnacl_ism_heatmap_draw(&s, 0, 0, w, h, ism, onehot, L, st);
  dnacl_status r = dnacl_svg_save(&s, path);
  dnacl_svg_free(&s);
  return r;
}
