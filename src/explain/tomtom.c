/* TomTom-style motif comparison; tomtom.h says exactly what is computed. */
#include "explain/tomtom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dnacl_tomtom_db {
  dnacl_tomtom_opts o;
  int n;          /* targets */
  int *start;     /* n + 1: target t's columns are cols[start[t] .. start[t+1]) */
  double *cols;   /* forward columns of every target, 4 values each */
  int n_cols;
};

dnacl_tomtom_opts dnacl_tomtom_defaults(void) {
  dnacl_tomtom_opts o = {5, 1, 100};
  return o;
}

static double pearson4(const double *a, const double *b) {
  double ma = (a[0] + a[1] + a[2] + a[3]) / 4, mb = (b[0] + b[1] + b[2] + b[3]) / 4;
  double cov = 0, va = 0, vb = 0;
  for (int c = 0; c < 4; c++) {
    cov += (a[c] - ma) * (b[c] - mb);
    va += (a[c] - ma) * (a[c] - ma);
    vb += (b[c] - mb) * (b[c] - mb);
  }
  /* A constant column has no direction to correlate with: score it as neutral. */
  if (va < 1e-24 || vb < 1e-24) return 0;
  double r = cov / sqrt(va * vb);
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

int dnacl_tomtom_column_score(const double *q, const double *t, int bins) {
  return (int)lround((pearson4(q, t) + 1) / 2 * bins);
}

dnacl_status dnacl_tomtom_db_new(const dnacl_motif_set *db, const dnacl_tomtom_opts *o, dnacl_tomtom_db **out) {
  *out = NULL;
  dnacl_tomtom_opts opts = o ? *o : dnacl_tomtom_defaults();
  if (opts.bins < 2 || opts.bins > 10000) return dnacl_fail(DNACL_ERR_ARG, "tomtom: bins %d outside 2..10000", opts.bins);
  if (opts.min_overlap < 1) return dnacl_fail(DNACL_ERR_ARG, "tomtom: min_overlap %d must be >= 1", opts.min_overlap);
  if (db->n < 1) return dnacl_fail(DNACL_ERR_ARG, "tomtom: the motif database is empty");
  dnacl_tomtom_db *d = calloc(1, sizeof *d);
  if (!d) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  d->o = opts;
  d->n = db->n;
  d->start = malloc(((size_t)db->n + 1) * sizeof *d->start);
  long total = 0;
  for (int t = 0; t < db->n; t++) total += db->motifs[t].width;
  d->cols = malloc((size_t)total * 4 * sizeof *d->cols);
  if (!d->start || !d->cols) {
    dnacl_tomtom_db_free(d);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  int k = 0;
  for (int t = 0; t < db->n; t++) {
    d->start[t] = k;
    memcpy(d->cols + (size_t)k * 4, db->motifs[t].p, (size_t)db->motifs[t].width * 4 * sizeof *d->cols);
    k += db->motifs[t].width;
  }
  d->start[db->n] = k;
  d->n_cols = k;
  *out = d;
  return DNACL_OK;
}

void dnacl_tomtom_db_free(dnacl_tomtom_db *d) {
  if (!d) return;
  free(d->start);
  free(d->cols);
  free(d);
}

typedef struct hit_order {
  double p;
  int i;
} hit_order;

static int by_p(const void *a, const void *b) {
  const hit_order *x = a, *y = b;
  if (x->p < y->p) return -1;
  if (x->p > y->p) return 1;
  return x->i - y->i;
}

dnacl_status dnacl_tomtom_query(const dnacl_tomtom_db *d, const double *q, int wq, dnacl_tomtom_hit *hits, int *best) {
  if (wq < 1) return dnacl_fail(DNACL_ERR_ARG, "tomtom: the query has no columns");
  const int B = d->o.bins, nc = d->n_cols, strands = d->o.both_strands ? 2 : 1;
  /* kf[i * nc + j]: score of query column i against database column j; kr against its
   * complement (the columns of the reverse-complemented targets). */
  int *kf = malloc((size_t)wq * nc * sizeof *kf), *kr = malloc((size_t)wq * nc * sizeof *kr);
  double *hist = calloc((size_t)wq * (B + 1), sizeof *hist);
  /* tail[idx[a * wq + b] + s] = P(sum of the null scores of columns a..b >= s) */
  size_t *idx = malloc((size_t)wq * wq * sizeof *idx), tail_len = 0;
  for (int a = 0; a < wq; a++)
    for (int b = a; b < wq; b++) tail_len += (size_t)(b - a + 1) * B + 1;
  double *tail = malloc(tail_len * sizeof *tail), *pmf = malloc(((size_t)wq * B + 1) * sizeof *pmf),
         *next = malloc(((size_t)wq * B + 1) * sizeof *next);
  hit_order *order = malloc((size_t)d->n * sizeof *order);
  if (!kf || !kr || !hist || !idx || !tail || !pmf || !next || !order) {
    free(kf), free(kr), free(hist), free(idx), free(tail), free(pmf), free(next), free(order);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory comparing motifs");
  }
  double n_null = (double)nc * strands;
  for (int i = 0; i < wq; i++)
    for (int j = 0; j < nc; j++) {
      const double *t = d->cols + (size_t)j * 4;
      double comp[4] = {t[3], t[2], t[1], t[0]};
      kf[(size_t)i * nc + j] = dnacl_tomtom_column_score(q + i * 4, t, B);
      kr[(size_t)i * nc + j] = dnacl_tomtom_column_score(q + i * 4, comp, B);
      hist[(size_t)i * (B + 1) + kf[(size_t)i * nc + j]] += 1 / n_null;
      if (strands == 2) hist[(size_t)i * (B + 1) + kr[(size_t)i * nc + j]] += 1 / n_null;
    }
  /* The null distribution of every run of query columns a..b: convolve as b grows. */
  size_t at = 0;
  for (int a = 0; a < wq; a++) {
    int len = B + 1;
    memcpy(pmf, hist + (size_t)a * (B + 1), (size_t)len * sizeof *pmf);
    for (int b = a; b < wq; b++) {
      if (b > a) {
        const double *h = hist + (size_t)b * (B + 1);
        int nlen = len + B;
        memset(next, 0, (size_t)nlen * sizeof *next);
        for (int k = 0; k <= B; k++) {
          if (h[k] == 0) continue;
          for (int s = 0; s < len; s++) next[s + k] += pmf[s] * h[k];
        }
        memcpy(pmf, next, (size_t)nlen * sizeof *pmf);
        len = nlen;
      }
      idx[(size_t)a * wq + b] = at;
      double acc = 0;
      /* Summed from the top, so that tiny tails keep their relative precision. */
      for (int s = len - 1; s >= 0; s--) {
        acc += pmf[s];
        tail[at + s] = acc > 1 ? 1 : acc;
      }
      at += (size_t)len;
    }
  }
  for (int t = 0; t < d->n; t++) {
    const int wt = d->start[t + 1] - d->start[t], s0 = d->start[t];
    int mo = d->o.min_overlap;
    if (mo > wq) mo = wq;
    if (mo > wt) mo = wt;
    dnacl_tomtom_hit h = {t, 0, 1, 0, 0, 2, 1, 1, 1};
    int n_align = 0;
    for (int st = 0; st < strands; st++)
      for (int off = -(wt - 1); off <= wq - 1; off++) {
        int a = off > 0 ? off : 0, b = (off + wt < wq ? off + wt : wq) - 1;
        if (b - a + 1 < mo) continue;
        n_align++;
        int S = 0;
        for (int i = a; i <= b; i++) {
          int j = i - off; /* column of the oriented target */
          S += st == 0 ? kf[(size_t)i * nc + s0 + j] : kr[(size_t)i * nc + s0 + (wt - 1 - j)];
        }
        double p = tail[idx[(size_t)a * wq + b] + S];
        if (p < h.p_align || (p == h.p_align && b - a + 1 > h.overlap)) {
          h.p_align = p;
          h.offset = off;
          h.strand = st == 0 ? 1 : -1;
          h.overlap = b - a + 1;
          h.score = (double)S / h.overlap * 2.0 / B - 1;
        }
      }
    /* Sidak over the alignments tried; log1p/expm1 keep tiny p-values exact. */
    h.pvalue = h.p_align >= 1 ? 1 : -expm1((double)n_align * log1p(-h.p_align));
    if (h.pvalue > 1) h.pvalue = 1;
    h.evalue = h.pvalue * d->n;
    hits[t] = h;
    order[t].p = h.pvalue;
    order[t].i = t;
  }
  qsort(order, (size_t)d->n, sizeof *order, by_p);
  double qmin = 1;
  for (int r = d->n - 1; r >= 0; r--) {
    double qv = order[r].p * d->n / (r + 1);
    if (qv < qmin) qmin = qv;
    hits[order[r].i].qvalue = qmin;
  }
  if (best) *best = order[0].i;
  free(kf), free(kr), free(hist), free(idx), free(tail), free(pmf), free(next), free(order);
  return DNACL_OK;
}
