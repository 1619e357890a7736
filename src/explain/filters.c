/* First-layer filters as motifs by activation-based alignment; see filters.h. The
 * convolution runs on the device through the layers' own forward passes; the alignment
 * (reading the map, cutting windows) is host work proportional to the map's size. */
#include "explain/filters.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dnacl_status dnacl_filter_layer_find(const dnacl_model *m, dnacl_filter_layer *out) {
  memset(out, 0, sizeof *out);
  if (m->n_nodes < 1 || m->nodes[0].kind != DNACL_L_CONV1D)
    return dnacl_fail(DNACL_ERR_UNSUPPORTED,
                      "filter motifs need a model whose first layer is a conv1d on the one-hot input; %s starts with %s %s",
                      m->spec.name, m->n_nodes ? dnacl_layer_kind_name(m->nodes[0].kind) : "nothing",
                      m->n_nodes ? m->spec.layers[0].name : "");
  const dnacl_layer_spec *c = &m->spec.layers[0];
  out->conv_node = 0;
  out->n_filters = c->filters;
  out->kernel = c->kernel;
  out->dilation = c->dilation > 0 ? c->dilation : 1;
  out->left = c->same_padding ? out->dilation * (c->kernel - 1) / 2 : 0;
  /* conv -> [batchnorm] -> [dropout] -> activation: the map is the activation's output;
   * a run of batchnorm/dropout ending in anything else: the last node of the run. */
  int map = 0;
  for (int i = 1; i < m->n_nodes; i++) {
    dnacl_layer_kind k = m->nodes[i].kind;
    if (k == DNACL_L_BATCHNORM || k == DNACL_L_DROPOUT) {
      map = i;
      continue;
    }
    if (k == DNACL_L_ACTIVATION) map = i;
    break;
  }
  out->map_node = map;
  out->length_out = m->shapes[map + 1].d[2];
  if (m->shapes[map + 1].ndim != 3 || m->shapes[map + 1].d[1] != out->n_filters)
    return dnacl_fail(DNACL_ERR_SHAPE, "filter motifs: the map of %s is not (filters, length)", m->spec.layers[map].name);
  return DNACL_OK;
}

void dnacl_filter_counts_free(dnacl_filter_counts *c) {
  if (!c) return;
  free(c->counts);
  free(c->nsites);
  free(c->max_act);
  memset(c, 0, sizeof *c);
}

/* Run nodes 0..map_node on rows [i0, i0 + b) of x (padded with zero rows to the planned
 * batch) and read the map back into host (batch, F, Lout). */
static dnacl_status first_layer(dnacl_ctx *ctx, dnacl_model *m, const dnacl_filter_layer *fl, const float *x, int i0,
                                int b, int batch, float *hx, float *map) {
  size_t row = (size_t)4 * m->length;
  memcpy(hx, x + (size_t)i0 * row, (size_t)b * row * sizeof *hx);
  if (b < batch) memset(hx + (size_t)b * row, 0, (size_t)(batch - b) * row * sizeof *hx);
  DNACL_TRY(dnacl_tensor_write(ctx, &m->acts[0], hx));
  for (int i = 0; i <= fl->map_node; i++) {
    dnacl_node *nd = &m->nodes[i];
    DNACL_TRY(nd->layer->ops->forward(nd->layer, ctx, &m->acts[i], &m->acts[i + 1], 0));
  }
  return dnacl_tensor_read(ctx, &m->acts[fl->map_node + 1], map);
}

dnacl_status dnacl_filter_align(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, double threshold, int batch,
                                dnacl_filter_counts *out) {
  memset(out, 0, sizeof *out);
  if (!(threshold >= 0 && threshold < 1))
    return dnacl_fail(DNACL_ERR_ARG, "filter motifs: threshold %g must be in [0, 1)", threshold);
  if (n < 1) return dnacl_fail(DNACL_ERR_ARG, "filter motifs: no sequences");
  if (batch <= 0) batch = 128;
  if (batch > n) batch = n;
  dnacl_filter_layer fl;
  DNACL_TRY(dnacl_filter_layer_find(m, &fl));
  const int F = fl.n_filters, K = fl.kernel, L = m->length, Lo = fl.length_out;
  out->layer = fl;
  out->n_seqs = n;
  out->threshold = threshold;
  out->counts = calloc((size_t)F * K * 4, sizeof *out->counts);
  out->nsites = calloc((size_t)F, sizeof *out->nsites);
  out->max_act = malloc((size_t)F * sizeof *out->max_act);
  float *hx = malloc((size_t)batch * 4 * L * sizeof *hx), *map = malloc((size_t)batch * F * Lo * sizeof *map);
  dnacl_status s = (out->counts && out->nsites && out->max_act && hx && map)
                       ? dnacl_model_plan(ctx, m, batch)
                       : dnacl_fail(DNACL_ERR_NOMEM, "out of memory aligning filters");
  for (int f = 0; f < F && out->max_act; f++) out->max_act[f] = -INFINITY;
  /* Pass 1: each filter's largest activation over the whole set. */
  for (int i0 = 0; s == DNACL_OK && i0 < n; i0 += batch) {
    int b = n - i0 < batch ? n - i0 : batch;
    s = first_layer(ctx, m, &fl, x, i0, b, batch, hx, map);
    for (int i = 0; s == DNACL_OK && i < b; i++)
      for (int f = 0; f < F; f++) {
        const float *a = map + ((size_t)i * F + f) * Lo;
        for (int p = 0; p < Lo; p++)
          if (a[p] > out->max_act[f]) out->max_act[f] = a[p];
      }
  }
  /* Pass 2: the windows above threshold * max. */
  for (int f = 0; s == DNACL_OK && f < F; f++)
    if (!isfinite(out->max_act[f]))
      s = dnacl_fail(DNACL_ERR_ARG, "filter motifs: filter %d of %s has non-finite activations (max %g)", f,
                     m->spec.layers[0].name, (double)out->max_act[f]);
  for (int i0 = 0; s == DNACL_OK && i0 < n; i0 += batch) {
    int b = n - i0 < batch ? n - i0 : batch;
    s = first_layer(ctx, m, &fl, x, i0, b, batch, hx, map);
    for (int i = 0; s == DNACL_OK && i < b; i++) {
      const float *xi = x + (size_t)(i0 + i) * 4 * L;
      for (int f = 0; f < F; f++) {
        if (!(out->max_act[f] > 0)) continue;
        const float cut = (float)(threshold * out->max_act[f]);
        const float *a = map + ((size_t)i * F + f) * Lo;
        double *cnt = out->counts + (size_t)f * K * 4;
        for (int p = 0; p < Lo; p++) {
          if (!(a[p] > cut)) continue;
          out->nsites[f]++;
          for (int k = 0; k < K; k++) {
            int q = p - fl.left + k * fl.dilation;
            if (q < 0 || q >= L) continue; /* zero padding: nothing to count */
            for (int c = 0; c < 4; c++) cnt[k * 4 + c] += xi[(size_t)c * L + q];
          }
        }
      }
    }
  }
  free(hx);
  free(map);
  if (s != DNACL_OK) dnacl_filter_counts_free(out);
  return s;
}

void dnacl_filter_pfm(const dnacl_filter_counts *c, int f, double pseudocount, double *p) {
  const int K = c->layer.kernel;
  const double *cnt = c->counts + (size_t)f * K * 4;
  for (int k = 0; k < K; k++) {
    double tot = 0;
    for (int b = 0; b < 4; b++) tot += cnt[k * 4 + b];
    double den = tot + 4 * pseudocount;
    for (int b = 0; b < 4; b++) p[k * 4 + b] = den > 0 ? (cnt[k * 4 + b] + pseudocount) / den : 0.25;
  }
}

dnacl_status dnacl_filter_motifs(const dnacl_filter_counts *c, double pseudocount, dnacl_motif_set *out) {
  if (!(pseudocount >= 0)) return dnacl_fail(DNACL_ERR_ARG, "filter motifs: pseudocount %g must be >= 0", pseudocount);
  const int K = c->layer.kernel;
  double *p = malloc((size_t)K * 4 * sizeof *p);
  if (!p) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  dnacl_status s = DNACL_OK;
  for (int f = 0; s == DNACL_OK && f < c->layer.n_filters; f++) {
    if (c->nsites[f] == 0) continue;
    char id[32];
    snprintf(id, sizeof id, "filter%d", f);
    dnacl_filter_pfm(c, f, pseudocount, p);
    s = dnacl_motif_set_add(out, id, NULL, NULL, p, K, (double)c->nsites[f], 0);
  }
  free(p);
  return s;
}
