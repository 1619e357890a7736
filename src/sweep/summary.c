/* summary.svg: every metric of a sweep per cell, in the layout of Koo & Ploenzke's figures:
 * one panel per metric, architectures along the x axis, one colour per first-layer
 * activation, each point the mean over trials with a bar of ± one standard deviation and
 * the trials themselves as faint dots.
 *
 * It is drawn from results.tsv alone (its columns say which are grid settings and which
 * are metrics, see sweep.h), so `collect` can draw it without the sweep file. Grid
 * settings other than the model, the activation and the trial (lr, conv1.filters, ...)
 * become part of the x category ("cnn_dist lr=0.01"). Failed cells are left out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/svg.h"
#include "sweep/sweep.h"

#define MAX_CATS 256
#define MAX_COLOURS 32

typedef struct table {
  int n_cols;
  char (*cols)[64];
  int axis0, axis1;          /* grid columns [axis0, axis1) */
  int metric0, metric1;      /* metric columns [metric0, metric1) */
  int status, act, trial;    /* column indices (-1 if absent) */
} table;

static int col_index(const table *t, const char *name) {
  for (int i = 0; i < t->n_cols; i++)
    if (!strcmp(t->cols[i], name)) return i;
  return -1;
}

static int find_or_add(char (*names)[128], int *n, int cap, const char *s) {
  for (int i = 0; i < *n; i++)
    if (!strcmp(names[i], s)) return i;
  if (*n >= cap) return -1;
  snprintf(names[*n], 128, "%s", s);
  return (*n)++;
}

static void circle(dnacl_svg *s, double x, double y, double r, const char *fill, double opacity, const char *stroke) {
  if (!isfinite(x) || !isfinite(y)) return;
  dnacl_svg_printf(s, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\" fill-opacity=\"%.2f\"%s%s%s/>\n", x, y, r,
                   fill, opacity, stroke ? " stroke=\"" : "", stroke ? stroke : "", stroke ? "\"" : "");
}

static dnacl_status empty_figure(const char *path, const char *title, const char *why) {
  dnacl_svg s;
  DNACL_TRY(dnacl_svg_begin(&s, 480, 90));
  dnacl_svg_text(&s, 240, 30, 15, "middle", 0, 1, "#111111", title);
  dnacl_svg_text(&s, 240, 60, 12, "middle", 0, 0, "#555555", why);
  dnacl_status st = dnacl_svg_save(&s, path);
  dnacl_svg_free(&s);
  return st;
}

dnacl_status dnacl_sweep_summary_svg(const char *path, const char *title, const dnacl_results *r) {
  if (!r->header) return empty_figure(path, title, "no finished cells yet");
  table t = {0};
  t.cols = calloc(DNACL_SWEEP_MAX_COLS, sizeof *t.cols);
  if (!t.cols) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  while (t.n_cols < DNACL_SWEEP_MAX_COLS && dnacl_tsv_field(r->header, t.n_cols, t.cols[t.n_cols], 64)) t.n_cols++;
  int seed = col_index(&t, "run_seed"), best = col_index(&t, "best_step");
  t.status = col_index(&t, "status");
  if (seed < 3 || t.status != seed + 1 || best <= t.status) {
    free(t.cols);
    return dnacl_fail(DNACL_ERR_PARSE, "%s: the results columns are not a sweep's (cell, id, ..., run_seed, status, ...)",
                      path);
  }
  t.axis0 = 2;
  t.axis1 = seed;
  t.metric0 = t.status + 1;
  t.metric1 = best;
  t.act = col_index(&t, "activation");
  t.trial = col_index(&t, "trial");
  int n_metrics = t.metric1 - t.metric0;

  /* Categories (x) and colours (activations), in cell order. */
  char(*cats)[128] = calloc(MAX_CATS, sizeof *cats);
  char(*colours)[128] = calloc(MAX_COLOURS, sizeof *colours);
  int *cat_of = calloc((size_t)r->n + 1, sizeof *cat_of), *col_of = calloc((size_t)r->n + 1, sizeof *col_of);
  double *val = calloc((size_t)(r->n + 1) * (size_t)(n_metrics + 1), sizeof *val);
  if (!cats || !colours || !cat_of || !col_of || !val) {
    free(t.cols), free(cats), free(colours), free(cat_of), free(col_of), free(val);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  int n_cats = 0, n_colours = 0, n_ok = 0, max_trials = 1;
  for (int i = 0; i < r->n; i++) {
    const char *line = r->rows[i].line;
    char st[32], f[128], key[128];
    cat_of[i] = -1;
    if (!dnacl_tsv_field(line, t.status, st, sizeof st) || strcmp(st, "ok")) continue;
    size_t u = 0;
    key[0] = 0;
    for (int a = t.axis0; a < t.axis1; a++) {
      if (a == t.act || a == t.trial) continue;
      dnacl_tsv_field(line, a, f, sizeof f);
      if (a == t.axis0) u += (size_t)snprintf(key + u, sizeof key - (u < sizeof key ? u : sizeof key), "%s", f);
      else u += (size_t)snprintf(key + u, sizeof key - (u < sizeof key ? u : sizeof key), " %s=%s", t.cols[a], f);
      if (u >= sizeof key) u = sizeof key - 1;
    }
    if (t.act >= 0) dnacl_tsv_field(line, t.act, f, sizeof f);
    else snprintf(f, sizeof f, "%s", "all");
    cat_of[i] = find_or_add(cats, &n_cats, MAX_CATS, key);
    col_of[i] = find_or_add(colours, &n_colours, MAX_COLOURS, f);
    if (cat_of[i] < 0 || col_of[i] < 0) {
      cat_of[i] = -1;
      continue;
    }
    if (t.trial >= 0) {
      dnacl_tsv_field(line, t.trial, f, sizeof f);
      if (atoi(f) > max_trials) max_trials = atoi(f);
    }
    for (int m = 0; m < n_metrics; m++) {
      val[(size_t)i * n_metrics + m] = NAN;
      if (dnacl_tsv_field(line, t.metric0 + m, f, sizeof f)) {
        char *end;
        double v = strtod(f, &end);
        if (end != f && isfinite(v)) val[(size_t)i * n_metrics + m] = v;
      }
    }
    n_ok++;
  }
  dnacl_status st;
  if (n_ok == 0 || n_metrics == 0) {
    st = empty_figure(path, title, n_metrics ? "no finished cells yet" : "the sweep has no metrics");
    free(t.cols), free(cats), free(colours), free(cat_of), free(col_of), free(val);
    return st;
  }

  /* Layout: a legend row, then one panel per metric stacked. */
  const double ml = 64, mr = 20, top = 44, legend_h = n_colours > 1 ? 26 : 0, plot_h = 150, panel_title = 26;
  size_t longest = 0;
  for (int c = 0; c < n_cats; c++)
    if (strlen(cats[c]) > longest) longest = strlen(cats[c]);
  double catw = 24 + 14.0 * n_colours;
  if (catw < 76) catw = 76;
  /* A panel at least as wide as its title (13 px bold: about 7.6 px a character), or
   * titles of neighbouring panels run into each other. */
  size_t longest_metric = 0;
  for (int m = 0; m < n_metrics; m++)
    if (strlen(t.cols[t.metric0 + m]) > longest_metric) longest_metric = strlen(t.cols[t.metric0 + m]);
  if (catw * n_cats < 7.6 * (double)longest_metric) catw = 7.6 * (double)longest_metric / n_cats;
  int rotate = longest * 6.6 > catw - 6;
  /* Rotated by 35 degrees, a label of n characters (about 6.6 px each) drops n * 6.6 * sin 35. */
  double xlab_h = rotate ? 18 + 3.8 * (double)(longest > 40 ? 40 : longest) : 22;
  double panel_h = panel_title + plot_h + xlab_h + 12, panel_w = ml + catw * n_cats + mr;
  /* Panels side by side up to about 1200 px, as the paper's multi-panel figures. */
  int per_row = (int)(1200 / panel_w);
  per_row = per_row < 1 ? 1 : per_row > 4 ? 4 : per_row > n_metrics ? n_metrics : per_row;
  int n_rows = (n_metrics + per_row - 1) / per_row;
  double width = panel_w * per_row, height = top + legend_h + panel_h * n_rows + 8;
  if (width < 420) width = 420;
  dnacl_svg s;
  st = dnacl_svg_begin(&s, width, height);
  if (st != DNACL_OK) {
    free(t.cols), free(cats), free(colours), free(cat_of), free(col_of), free(val);
    return st;
  }
  char sub[256];
  snprintf(sub, sizeof sub, "%d finished cell%s; points: mean ± sd over trials (up to %d), dots: single trials", n_ok,
           n_ok == 1 ? "" : "s", max_trials);
  dnacl_svg_text(&s, width / 2, 20, 15, "middle", 0, 1, "#111111", title);
  dnacl_svg_text(&s, width / 2, 36, 11, "middle", 0, 0, "#555555", sub);
  if (n_colours > 1) {
    double x = ml;
    for (int c = 0; c < n_colours; c++) {
      circle(&s, x + 5, top + 9, 5, dnacl_svg_palette(c), 1, NULL);
      dnacl_svg_text(&s, x + 14, top + 13, 11.5, "start", 0, 0, "#222222", colours[c]);
      x += 24 + 7.0 * (double)strlen(colours[c]);
    }
  }

  double *mean = malloc(sizeof(double) * (size_t)n_cats * n_colours), *sd = malloc(sizeof(double) * (size_t)n_cats * n_colours);
  if (!mean || !sd) st = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  for (int m = 0; st == DNACL_OK && m < n_metrics; m++) {
    double y0 = top + legend_h + (m / per_row) * panel_h, py = y0 + panel_title;
    double px = (m % per_row) * panel_w + ml, pw = catw * n_cats;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n_cats * n_colours; k++) {
      double sum = 0, sq = 0;
      int n = 0;
      for (int i = 0; i < r->n; i++) {
        if (cat_of[i] < 0 || cat_of[i] * n_colours + col_of[i] != k) continue;
        double v = val[(size_t)i * n_metrics + m];
        if (!isfinite(v)) continue;
        sum += v;
        n++;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      mean[k] = n ? sum / n : NAN;
      for (int i = 0; n > 1 && i < r->n; i++) {
        if (cat_of[i] < 0 || cat_of[i] * n_colours + col_of[i] != k) continue;
        double v = val[(size_t)i * n_metrics + m];
        if (isfinite(v)) sq += (v - mean[k]) * (v - mean[k]);
      }
      sd[k] = n > 1 ? sqrt(sq / (n - 1)) : 0; /* sample sd, as numpy's std(ddof=1) */
      if (n > 1 && mean[k] - sd[k] < lo) lo = mean[k] - sd[k];
      if (n > 1 && mean[k] + sd[k] > hi) hi = mean[k] + sd[k];
    }
    dnacl_svg_text(&s, px, y0 + 18, 13, "start", 0, 1, "#111111", t.cols[t.metric0 + m]);
    if (!isfinite(lo)) {
      dnacl_svg_text(&s, px + pw / 2, py + plot_h / 2, 11, "middle", 0, 0, "#777777", "no values");
      continue;
    }
    dnacl_nice_range(&lo, &hi, 5);
    dnacl_svg_rect(&s, px, py, pw, plot_h, "white", NULL);
    double first, step;
    int nt = dnacl_nice_ticks(lo, hi, 5, &first, &step);
    char lab[64];
    for (int k = 0; k < nt; k++) {
      double v = first + k * step, Y = py + plot_h - (v - lo) / (hi - lo) * plot_h;
      dnacl_svg_line(&s, px, Y, px + pw, Y, "#e6e6e6", 1);
      dnacl_svg_format_tick(v, step, lab, sizeof lab);
      dnacl_svg_text(&s, px - 6, Y + 4, 11, "end", 0, 0, "#333333", lab);
    }
    for (int c = 0; c < n_cats; c++) {
      double cx = px + catw * (c + 0.5);
      if (c > 0) dnacl_svg_line(&s, px + catw * c, py, px + catw * c, py + plot_h, "#f0f0f0", 1);
      if (rotate)
        dnacl_svg_text(&s, cx + 4, py + plot_h + 14, 11, "end", -35, 0, "#222222", cats[c]);
      else
        dnacl_svg_text(&s, cx, py + plot_h + 16, 11, "middle", 0, 0, "#222222", cats[c]);
      double dx = n_colours > 1 ? (catw - 24) / n_colours : 0;
      for (int j = 0; j < n_colours; j++) {
        int k = c * n_colours + j;
        double x = cx + (j - (n_colours - 1) / 2.0) * dx;
        const char *colr = dnacl_svg_palette(j);
        for (int i = 0; i < r->n; i++) {
          if (cat_of[i] != c || col_of[i] != j) continue;
          double v = val[(size_t)i * n_metrics + m];
          if (isfinite(v)) circle(&s, x + 3.5, py + plot_h - (v - lo) / (hi - lo) * plot_h, 1.8, colr, 0.45, NULL);
        }
        if (!isfinite(mean[k])) continue;
        double Y = py + plot_h - (mean[k] - lo) / (hi - lo) * plot_h;
        if (sd[k] > 0) {
          double Ya = py + plot_h - (mean[k] - sd[k] - lo) / (hi - lo) * plot_h;
          double Yb = py + plot_h - (mean[k] + sd[k] - lo) / (hi - lo) * plot_h;
          dnacl_svg_line(&s, x, Ya, x, Yb, colr, 1.5);
          dnacl_svg_line(&s, x - 3, Ya, x + 3, Ya, colr, 1.5);
          dnacl_svg_line(&s, x - 3, Yb, x + 3, Yb, colr, 1.5);
        }
        circle(&s, x, Y, 4, colr, 1, "#222222");
      }
    }
    dnacl_svg_rect(&s, px, py, pw, plot_h, NULL, "#444444");
  }
  if (st == DNACL_OK) st = dnacl_svg_save(&s, path);
  dnacl_svg_free(&s);
  free(mean), free(sd);
  free(t.cols), free(cats), free(colours), free(cat_of), free(col_of), free(val);
  return st;
}
