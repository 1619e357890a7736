/* SVG writing helpers and a line chart; see svg.h. */
#include "io/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ------------------------------------------------------------------------- */

static int reserve(dnacl_svg *s, size_t extra) {
  if (s->oom) return 0;
  if (s->len + extra + 1 <= s->cap) return 1;
  size_t cap = s->cap ? s->cap : 4096;
  while (cap < s->len + extra + 1) cap *= 2;
  char *b = realloc(s->buf, cap);
  if (!b) {
    s->oom = 1;
    return 0;
  }
  s->buf = b;
  s->cap = cap;
  return 1;
}

static void vappend(dnacl_svg *s, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  if (n > 0 && reserve(s, (size_t)n)) {
    vsnprintf(s->buf + s->len, (size_t)n + 1, fmt, again);
    s->len += (size_t)n;
  }
  va_end(again);
}

void dnacl_svg_printf(dnacl_svg *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vappend(s, fmt, ap);
  va_end(ap);
}

static void put(dnacl_svg *s, const char *p, size_t n) {
  if (!reserve(s, n)) return;
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  s->buf[s->len] = 0;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. Overlong forms,
 * surrogates and code points past U+10FFFF are refused, as XML parsers refuse them. */
static int utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  int n;
  unsigned cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  for (int i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  if (cp == 0xFFFE || cp == 0xFFFF) return 0;
  return n;
}

void dnacl_svg_escaped(dnacl_svg *s, const char *text) {
  if (!text) return;
  const unsigned char *p = (const unsigned char *)text;
  while (*p) {
    switch (*p) {
      case '&': put(s, "&amp;", 5); p++; continue;
      case '<': put(s, "&lt;", 4); p++; continue;
      case '>': put(s, "&gt;", 4); p++; continue;
      case '"': put(s, "&quot;", 6); p++; continue;
      case '\'': put(s, "&#39;", 5); p++; continue;
    }
    if (*p < 0x20) { put(s, " ", 1); p++; continue; } /* XML 1.0 forbids most controls */
    int n = utf8_len(p);
    if (!n) { put(s, "?", 1); p++; continue; }
    put(s, (const char *)p, (size_t)n);
    p += n;
  }
}

dnacl_status dnacl_svg_begin(dnacl_svg *s, double width, double height) {
  if (!s) return dnacl_fail(DNACL_ERR_ARG, "svg: no document");
  memset(s, 0, sizeof *s);
  if (!(width > 0 && height > 0 && isfinite(width) && isfinite(height)))
    return dnacl_fail(DNACL_ERR_ARG, "svg: size %g x %g must be positive", width, height);
  s->width = width;
  s->height = height;
  dnacl_svg_printf(s,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                   "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
                   width, height, width, height);
  dnacl_svg_rect(s, 0, 0, width, height, "white", NULL);
  if (s->oom) return dnacl_fail(DNACL_ERR_NOMEM, "svg: out of memory");
  return DNACL_OK;
}

void dnacl_svg_free(dnacl_svg *s) {
  if (!s) return;
  free(s->buf);
  memset(s, 0, sizeof *s);
}

dnacl_status dnacl_svg_save(dnacl_svg *s, const char *path) {
  if (!s || !path || !*path) return dnacl_fail(DNACL_ERR_ARG, "svg: no document or path");
  if (!s->closed) {
    dnacl_svg_printf(s, "</svg>\n");
    s->closed = 1;
  }
  if (s->oom || !s->buf) return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory building the picture", path);
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 5);
  if (!tmp) return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory", path);
  memcpy(tmp, path, pl);
  memcpy(tmp + pl, ".tmp", 5);
  FILE *fp = fopen(tmp, "wb");
  if (!fp) {
    dnacl_status st = dnacl_fail(DNACL_ERR_IO, "%s: cannot open for writing", tmp);
    free(tmp);
    return st;
  }
  int ok = fwrite(s->buf, 1, s->len, fp) == s->len;
  ok = (fflush(fp) == 0) && ok;
  ok = (fclose(fp) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    free(tmp);
    return dnacl_fail(DNACL_ERR_IO, "%s: could not write the picture", path);
  }
  free(tmp);
  return DNACL_OK;
}

/* ---- shapes ------------------------------------------------------------------------ */

static void attr_color(dnacl_svg *s, const char *name, const char *color) {
  dnacl_svg_printf(s, " %s=\"", name);
  dnacl_svg_escaped(s, color ? color : "none");
  put(s, "\"", 1);
}

void dnacl_svg_line(dnacl_svg *s, double x1, double y1, double x2, double y2, const char *color,
                    double width) {
  if (!isfinite(x1) || !isfinite(y1) || !isfinite(x2) || !isfinite(y2)) return;
  dnacl_svg_printf(s, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"", x1, y1, x2, y2);
  attr_color(s, "stroke", color);
  dnacl_svg_printf(s, " stroke-width=\"%.2f\"/>\n", width);
}

void dnacl_svg_rect(dnacl_svg *s, double x, double y, double w, double h, const char *fill,
                    const char *stroke) {
  if (!isfinite(x) || !isfinite(y) || !isfinite(w) || !isfinite(h) || w < 0 || h < 0) return;
  dnacl_svg_printf(s, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"", x, y, w, h);
  attr_color(s, "fill", fill);
  attr_color(s, "stroke", stroke);
  dnacl_svg_printf(s, "/>\n");
}

void dnacl_svg_text(dnacl_svg *s, double x, double y, double size, const char *anchor,
                    double rotate, int bold, const char *color, const char *text) {
  if (!isfinite(x) || !isfinite(y) || !text) return;
  dnacl_svg_printf(s, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" text-anchor=\"", x, y, size);
  dnacl_svg_escaped(s, anchor ? anchor : "start");
  put(s, "\"", 1);
  if (rotate != 0 && isfinite(rotate))
    dnacl_svg_printf(s, " transform=\"rotate(%.1f %.2f %.2f)\"", rotate, x, y);
  if (bold) dnacl_svg_printf(s, " font-weight=\"bold\"");
  attr_color(s, "fill", color ? color : "black");
  put(s, ">", 1);
  dnacl_svg_escaped(s, text);
  dnacl_svg_printf(s, "</text>\n");
}

const char *dnacl_svg_palette(int i) {
  static const char *tab10[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return tab10[((i % 10) + 10) % 10];
}

/* ---- ticks ------------------------------------------------------------------------- */

/* Snapping tolerance, in steps: data that sits on a tick up to rounding (1.0 / 0.1 is
 * 10.000000000000002) must not push the axis a whole step further out. */
#define TICK_EPS 1e-9

static double nice_step(double span, int max_ticks) {
  if (max_ticks < 2) max_ticks = 2;
  double raw = span / (max_ticks - 1);
  double mag = pow(10, floor(log10(raw)));
  double norm = raw / mag;
  /* matplotlib's steps: 2.5 keeps a short axis (0..5 on a narrow panel) from having only
   * its two end ticks. Every step divides 1, so a range ending at 1 (AUROC) stays there. */
  double nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return nice * mag;
}

int dnacl_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step) {
  *first = lo;
  *step = 1;
  if (!isfinite(lo) || !isfinite(hi) || !(hi > lo)) return 0;
  double st = nice_step(hi - lo, max_ticks);
  if (!(st > 0) || !isfinite(st)) return 0;
  double k0 = ceil(lo / st - TICK_EPS), k1 = floor(hi / st + TICK_EPS);
  *first = k0 * st;
  *step = st;
  /* The step keeps the count near max_ticks; the cap only guards against a caller's
   * max_ticks being absurd. */
  return k1 >= k0 ? (int)fmin(k1 - k0 + 1, 1000) : 0;
}

void dnacl_nice_range(double *lo, double *hi, int max_ticks) {
  double a = *lo, b = *hi;
  if (!isfinite(a) || !isfinite(b) || a > b) {
    *lo = 0;
    *hi = 1;
    return;
  }
  if (a == b) {
    /* A flat series: centre it in a range of about +-10% (or +-1 around 0). */
    double d = a == 0 ? 1 : fabs(a) * 0.1;
    a -= d;
    b += d;
  }
  double st = nice_step(b - a, max_ticks);
  double l = floor(a / st + TICK_EPS) * st, h = ceil(b / st - TICK_EPS) * st;
  /* Spans near the limits of double (1e308 wide) have no usable step: keep the data's. */
  *lo = isfinite(l) ? l : a;
  *hi = isfinite(h) ? h : b;
}

void dnacl_svg_format_tick(double v, double step, char *buf, size_t cap) {
  if (fabs(v) < fabs(step) * 1e-6) v = 0; /* no "-0" and no 1e-17 at the origin */
  double a = fabs(v);
  if (a != 0 && (a >= 1e7 || a < 1e-4)) {
    snprintf(buf, cap, "%.3g", v);
    return;
  }
  /* Enough decimals that the step itself is exact: 0.25 needs 2, 5 needs 0. */
  int d = 0;
  double st = fabs(step);
  while (d < 8 && st > 0 && fabs(st * pow(10, d) - round(st * pow(10, d))) > 1e-6 * st * pow(10, d)) d++;
  snprintf(buf, cap, "%.*f", d, v);
}

/* ---- line chart ---------------------------------------------------------------------- */

dnacl_chart dnacl_chart_box(double x, double y, double width, double height) {
  dnacl_chart c;
  memset(&c, 0, sizeof c);
  c.x = x;
  c.y = y;
  c.width = width;
  c.height = height;
  c.xmin = c.xmax = c.ymin = c.ymax = NAN;
  c.legend = DNACL_LEGEND_AUTO;
  return c;
}

static double sx(const dnacl_series *r, size_t i) { return r->x ? r->x[i] : (double)i; }

/* The plot area and the mapping from data to pixels. */
typedef struct frame {
  double px, py, pw, ph;        /* plot area in pixels */
  double x0, x1, y0, y1;        /* data range */
} frame;

static double map_x(const frame *f, double x) { return f->px + (x - f->x0) / (f->x1 - f->x0) * f->pw; }
static double map_y(const frame *f, double y) { return f->py + f->ph - (y - f->y0) / (f->y1 - f->y0) * f->ph; }

/* Keep far-out points (a fixed range with data beyond it) at sane coordinates; the clip
 * path hides them anyway. */
static double clampc(double v) { return v < -1e5 ? -1e5 : v > 1e5 ? 1e5 : v; }

/* A data point's pixel position, or 0 if it has none (non-finite data or mapping). */
static int to_px(const frame *f, double x, double y, double *X, double *Y) {
  if (!isfinite(x) || !isfinite(y)) return 0;
  *X = clampc(map_x(f, x));
  *Y = clampc(map_y(f, y));
  return isfinite(*X) && isfinite(*Y);
}

static const double FONT_TICK = 11, FONT_LABEL = 12.5, FONT_TITLE = 14, FONT_LEGEND = 11.5;
/* Average advance of a sans-serif glyph, in ems: enough to size boxes without font metrics. */
static const double GLYPH_EM = 0.6;

/* How many of the series' points (and points along its segments) fall in a box. */
static int count_in_box(const frame *f, const dnacl_series *series, int n_series, double bx,
                        double by, double bw, double bh) {
  int hits = 0;
  for (int k = 0; k < n_series; k++) {
    const dnacl_series *r = &series[k];
    double lx = NAN, ly = NAN;
    for (size_t i = 0; i < r->n; i++) {
      double X, Y;
      if (!to_px(f, sx(r, i), r->y[i], &X, &Y)) continue;
      int samples = isfinite(lx) ? 8 : 1;
      for (int j = 1; j <= samples; j++) {
        double t = (double)j / samples;
        double qx = isfinite(lx) ? lx + (X - lx) * t : X, qy = isfinite(ly) ? ly + (Y - ly) * t : Y;
        hits += qx >= bx && qx <= bx + bw && qy >= by && qy <= by + bh;
      }
      lx = X;
      ly = Y;
    }
  }
  return hits;
}

static void draw_legend(dnacl_svg *s, const dnacl_chart *c, const frame *f,
                        const dnacl_series *series, int n_series) {
  if (c->legend == DNACL_LEGEND_NONE) return;
  int n = 0;
  size_t longest = 0;
  for (int k = 0; k < n_series; k++)
    if (series[k].name && *series[k].name) {
      n++;
      size_t l = strlen(series[k].name);
      if (l > longest) longest = l;
    }
  if (!n) return;
  const double row = FONT_LEGEND * 1.5, swatch = 22, pad = 7, inset = 8;
  double bw = pad * 3 + swatch + (double)longest * FONT_LEGEND * GLYPH_EM, bh = pad * 2 + row * n - (row - FONT_LEGEND);
  double xs[2] = {f->px + f->pw - inset - bw, f->px + inset};
  double ys[2] = {f->py + inset, f->py + f->ph - inset - bh};
  /* Order of preference among equally empty corners: TR, BR, TL, BL. */
  const int order[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  int pick = 0;
  switch (c->legend) {
    case DNACL_LEGEND_TOP_RIGHT: pick = 0; break;
    case DNACL_LEGEND_BOTTOM_RIGHT: pick = 1; break;
    case DNACL_LEGEND_TOP_LEFT: pick = 2; break;
    case DNACL_LEGEND_BOTTOM_LEFT: pick = 3; break;
    default: {
      int best = -1;
      for (int q = 0; q < 4; q++) {
        int h = count_in_box(f, series, n_series, xs[order[q][0]], ys[order[q][1]], bw, bh);
        if (best < 0 || h < best) { best = h; pick = q; }
      }
    }
  }
  double bx = xs[order[pick][0]], by = ys[order[pick][1]];
  dnacl_svg_printf(s, "<g class=\"legend\">\n");
  dnacl_svg_printf(s, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" rx=\"3\" "
                      "fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbbbbb\"/>\n", bx, by, bw, bh);
  int i = 0;
  for (int k = 0; k < n_series; k++) {
    const dnacl_series *r = &series[k];
    if (!r->name || !*r->name) continue;
    const char *col = r->color ? r->color : dnacl_svg_palette(k);
    double ty = by + pad + FONT_LEGEND * 0.85 + row * i, my = ty - FONT_LEGEND * 0.35;
    dnacl_svg_printf(s, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"", bx + pad, my,
                     bx + pad + swatch, my);
    attr_color(s, "stroke", col);
    dnacl_svg_printf(s, " stroke-width=\"2\"%s/>\n", r->dashed ? " stroke-dasharray=\"5 3\"" : "");
    if (r->marker > 0) {
      dnacl_svg_printf(s, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\"", bx + pad + swatch / 2, my, r->marker);
      attr_color(s, "fill", col);
      dnacl_svg_printf(s, "/>\n");
    }
    dnacl_svg_text(s, bx + pad * 2 + swatch, ty, FONT_LEGEND, "start", 0, 0, "#222222", r->name);
    i++;
  }
  dnacl_svg_printf(s, "</g>\n");
}

static void draw_series(dnacl_svg *s, const frame *f, const dnacl_series *r, int index) {
  const char *col = r->color ? r->color : dnacl_svg_palette(index);
  size_t finite = 0;
  double X, Y;
  for (size_t i = 0; i < r->n; i++) finite += to_px(f, sx(r, i), r->y[i], &X, &Y);
  if (!finite) return;
  if (finite > 1) {
    dnacl_svg_printf(s, "<polyline fill=\"none\"");
    attr_color(s, "stroke", col);
    dnacl_svg_printf(s, " stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\"%s points=\"",
                     r->dashed ? " stroke-dasharray=\"6 4\"" : "");
    int first = 1;
    for (size_t i = 0; i < r->n; i++) {
      if (!to_px(f, sx(r, i), r->y[i], &X, &Y)) continue;
      dnacl_svg_printf(s, first ? "%.1f,%.1f" : " %.1f,%.1f", X, Y);
      first = 0;
    }
    dnacl_svg_printf(s, "\"/>\n");
  }
  double rad = r->marker > 0 ? r->marker : finite == 1 ? 3 : 0;
  if (rad <= 0) return;
  dnacl_svg_printf(s, "<g");
  attr_color(s, "fill", col);
  dnacl_svg_printf(s, ">\n");
  for (size_t i = 0; i < r->n; i++)
    if (to_px(f, sx(r, i), r->y[i], &X, &Y))
      dnacl_svg_printf(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.2f\"/>\n", X, Y, rad);
  dnacl_svg_printf(s, "</g>\n");
}

/* Resolve one axis: fixed ends stay, automatic ends come from the data and are widened to
 * nice ticks. */
static void axis_range(double fixed_lo, double fixed_hi, double dlo, double dhi, int max_ticks,
                       double *lo, double *hi) {
  int have = isfinite(dlo) && isfinite(dhi);
  double a = isfinite(fixed_lo) ? fixed_lo : have ? dlo : NAN;
  double b = isfinite(fixed_hi) ? fixed_hi : have ? dhi : NAN;
  if (!isfinite(a) && !isfinite(b)) { a = 0; b = 1; }
  else if (!isfinite(a)) a = b < 0 ? b * 2 : b > 0 ? 0 : -1;
  else if (!isfinite(b)) b = a > 0 ? a * 2 : a < 0 ? 0 : 1;
  double na = a, nb = b;
  dnacl_nice_range(&na, &nb, max_ticks);
  *lo = isfinite(fixed_lo) ? fixed_lo : na;
  *hi = isfinite(fixed_hi) ? fixed_hi : nb;
  if (!(*hi > *lo)) { /* fixed ends that leave no range: fall back to the nice one */
    *lo = na;
    *hi = nb;
  }
  /* Nothing below may divide by an empty or infinite span (it would print "nan"). */
  if (!(*hi > *lo) || !isfinite(*hi - *lo)) {
    *lo = 0;
    *hi = 1;
  }
}

void dnacl_svg_line_chart(dnacl_svg *s, const dnacl_chart *c, const dnacl_series *series,
                          int n_series) {
  if (!s || !c) return;
  if (n_series < 0 || (n_series > 0 && !series)) n_series = 0;
  /* Margins: room for the title above, tick labels and the axis label left and below. */
  const double mt = c->title && *c->title ? 30 : 12, mb = c->xlabel && *c->xlabel ? 44 : 26;
  const double mr = 16;
  frame f;
  f.py = c->y + mt;
  f.ph = c->height - mt - mb;
  if (f.ph < 10) return;

  double dx0 = INFINITY, dx1 = -INFINITY, dy0 = INFINITY, dy1 = -INFINITY;
  for (int k = 0; k < n_series; k++)
    for (size_t i = 0; i < series[k].n; i++) {
      double x = sx(&series[k], i), y = series[k].y[i];
      if (!isfinite(x) || !isfinite(y)) continue;
      if (x < dx0) dx0 = x;
      if (x > dx1) dx1 = x;
      if (y < dy0) dy0 = y;
      if (y > dy1) dy1 = y;
    }
  int yt = (int)(f.ph / 45);
  yt = yt < 3 ? 3 : yt > 10 ? 10 : yt;
  axis_range(c->ymin, c->ymax, dy0, dy1, yt, &f.y0, &f.y1);
  /* The left margin fits the widest y tick label, then the rotated axis label. */
  char lab[64];
  double first, step, widest = 0;
  int nt = dnacl_nice_ticks(f.y0, f.y1, yt, &first, &step);
  for (int i = 0; i < nt; i++) {
    dnacl_svg_format_tick(first + i * step, step, lab, sizeof lab);
    double w = (double)strlen(lab) * FONT_TICK * GLYPH_EM;
    if (w > widest) widest = w;
  }
  const double ml = widest + 12 + (c->ylabel && *c->ylabel ? FONT_LABEL + 10 : 4);
  f.px = c->x + ml;
  f.pw = c->width - ml - mr;
  if (f.pw < 10) return;
  int xt = (int)(f.pw / 80);
  xt = xt < 3 ? 3 : xt > 10 ? 10 : xt;
  axis_range(c->xmin, c->xmax, dx0, dx1, xt, &f.x0, &f.x1);

  dnacl_svg_printf(s, "<g class=\"chart\">\n");
  dnacl_svg_rect(s, f.px, f.py, f.pw, f.ph, "white", NULL);

  /* Grid and tick labels. */
  nt = dnacl_nice_ticks(f.x0, f.x1, xt, &first, &step);
  for (int i = 0; i < nt; i++) {
    double v = first + i * step, X = map_x(&f, v);
    dnacl_svg_line(s, X, f.py, X, f.py + f.ph, "#e6e6e6", 1);
    dnacl_svg_line(s, X, f.py + f.ph, X, f.py + f.ph + 4, "#444444", 1);
    dnacl_svg_format_tick(v, step, lab, sizeof lab);
    dnacl_svg_text(s, X, f.py + f.ph + 6 + FONT_TICK, FONT_TICK, "middle", 0, 0, "#333333", lab);
  }
  nt = dnacl_nice_ticks(f.y0, f.y1, yt, &first, &step);
  for (int i = 0; i < nt; i++) {
    double v = first + i * step, Y = map_y(&f, v);
    dnacl_svg_line(s, f.px, Y, f.px + f.pw, Y, "#e6e6e6", 1);
    dnacl_svg_line(s, f.px - 4, Y, f.px, Y, "#444444", 1);
    dnacl_svg_format_tick(v, step, lab, sizeof lab);
    dnacl_svg_text(s, f.px - 6, Y + FONT_TICK * 0.35, FONT_TICK, "end", 0, 0, "#333333", lab);
  }
  dnacl_svg_rect(s, f.px, f.py, f.pw, f.ph, NULL, "#444444");

  /* Series, clipped to the plot area (a little larger, so a line on the frame keeps its
   * full width). */
  int id = s->next_id++;
  dnacl_svg_printf(s, "<defs><clipPath id=\"dnacl-clip-%d\"><rect x=\"%.2f\" y=\"%.2f\" "
                      "width=\"%.2f\" height=\"%.2f\"/></clipPath></defs>\n",
                   id, f.px - 3, f.py - 3, f.pw + 6, f.ph + 6);
  dnacl_svg_printf(s, "<g clip-path=\"url(#dnacl-clip-%d)\">\n", id);
  for (int k = 0; k < n_series; k++) draw_series(s, &f, &series[k], k);
  dnacl_svg_printf(s, "</g>\n");

  draw_legend(s, c, &f, series, n_series);

  if (c->title && *c->title)
    dnacl_svg_text(s, f.px + f.pw / 2, c->y + 20, FONT_TITLE, "middle", 0, 1, "#111111", c->title);
  if (c->xlabel && *c->xlabel)
    dnacl_svg_text(s, f.px + f.pw / 2, f.py + f.ph + 38, FONT_LABEL, "middle", 0, 0, "#111111", c->xlabel);
  if (c->ylabel && *c->ylabel)
    dnacl_svg_text(s, c->x + 4 + FONT_LABEL, f.py + f.ph / 2, FONT_LABEL, "middle", -90, 0, "#111111", c->ylabel);
  dnacl_svg_printf(s, "</g>\n");
}
