/* Classic sequence logos of PFMs; see motif_logo.h. The drawing is explain/logo.h's
 * attribution logo fed with information-content heights and a fixed 0..2 bit axis. */
#include "explain/motif_logo.h"

#include <stdlib.h>
#include <string.h>

#include "explain/logo.h"
#include "io/meme.h"

void dnacl_motif_logo_heights(const double *p, int width, float *out) {
  for (int i = 0; i < width; i++) {
    double ic = dnacl_motif_column_ic(p, i), tot = 0;
    for (int c = 0; c < 4; c++) tot += p[i * 4 + c] > 0 ? p[i * 4 + c] : 0;
    for (int c = 0; c < 4; c++) {
      double q = tot > 0 && p[i * 4 + c] > 0 ? p[i * 4 + c] / tot : 0;
      out[(size_t)c * width + i] = (float)(q * ic);
    }
  }
}

static void draw_heights(dnacl_svg *s, double x, double y, double w, double h, const float *heights, int n,
                         const char *title) {
  dnacl_logo_style st;
  memset(&st, 0, sizeof st);
  st.title = title;
  st.ylabel = "bits";
  st.ymax = 2;
  dnacl_logo_draw(s, x, y, w, h, heights, n, &st);
}

void dnacl_motif_logo_draw(dnacl_svg *s, double x, double y, double w, double h, const double *p, int width,
                           const char *title) {
  float *heights = malloc((size_t)width * 4 * sizeof *heights);
  if (!heights) {
    s->oom = 1; /* reported by dnacl_svg_save */
    return;
  }
  dnacl_motif_logo_heights(p, width, heights);
  draw_heights(s, x, y, w, h, heights, width, title);
  free(heights);
}

/* 26 px per column leaves room for the letters to read; the rest is the axis margin. A
 * title (13 px bold, about 7.5 px a character) widens the picture rather than being cut. */
static double logo_width(int columns, const char *t1, const char *t2) {
  double w = 66 + 26.0 * columns;
  size_t n = t1 ? strlen(t1) : 0, n2 = t2 ? strlen(t2) : 0;
  if (n2 > n) n = n2;
  return w > 7.5 * (double)n + 30 ? w : 7.5 * (double)n + 30;
}

dnacl_status dnacl_motif_logo_svg(const char *path, const double *p, int width, const char *title) {
  if (width < 1) return dnacl_fail(DNACL_ERR_ARG, "%s: a logo needs at least one column", path);
  dnacl_svg s;
  double w = logo_width(width, title, NULL), h = 170;
  DNACL_TRY(dnacl_svg_begin(&s, w, h));
  dnacl_motif_logo_draw(&s, 0, 0, w, h, p, width, title);
  dnacl_status r = dnacl_svg_save(&s, path);
  dnacl_svg_free(&s);
  return r;
}

dnacl_status dnacl_motif_logo_pair_svg(const char *path, const double *query, int wq, const char *query_title,
                                       const double *match, int wm, int offset, const char *match_title) {
  if (wq < 1 || wm < 1) return dnacl_fail(DNACL_ERR_ARG, "%s: a logo needs at least one column", path);
  /* Both panels span the union of the two motifs' columns, so aligned columns line up. */
  int first = offset < 0 ? offset : 0, last = offset + wm > wq ? offset + wm : wq, n = last - first;
  float *hq = calloc((size_t)n * 4, sizeof *hq), *hm = calloc((size_t)n * 4, sizeof *hm);
  float *tq = malloc((size_t)wq * 4 * sizeof *tq), *tm = malloc((size_t)wm * 4 * sizeof *tm);
  if (!hq || !hm || !tq || !tm) {
    free(hq), free(hm), free(tq), free(tm);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory drawing %s", path);
  }
  dnacl_motif_logo_heights(query, wq, tq);
  dnacl_motif_logo_heights(match, wm, tm);
  for (int c = 0; c < 4; c++) {
    for (int i = 0; i < wq; i++) hq[(size_t)c * n + (i - first)] = tq[(size_t)c * wq + i];
    for (int i = 0; i < wm; i++) hm[(size_t)c * n + (offset + i - first)] = tm[(size_t)c * wm + i];
  }
  dnacl_svg s;
  double w = logo_width(n, query_title, match_title), h = 170;
  dnacl_status r = dnacl_svg_begin(&s, w, 2 * h);
  if (r == DNACL_OK) {
    draw_heights(&s, 0, 0, w, h, hq, n, query_title);
    draw_heights(&s, 0, h, w, h, hm, n, match_title);
    r = dnacl_svg_save(&s, path);
    dnacl_svg_free(&s);
  }
  free(hq), free(hm), free(tq), free(tm);
  return r;
}
