/* First-layer filter motifs (src/explain/filters.h) and global importance analysis
 * (src/explain/gia.h) on small hand-made models whose answers are known:
 *   - a conv filter that is an exact detector of ACGT recovers exactly ACGT, with one site
 *     per occurrence, in "same" and "valid" padding and behind a batch norm;
 *   - a filter that never fires is left out; a window running off the sequence start keeps
 *     its other columns;
 *   - a random conv -> batchnorm -> relu model: counts and maxima against a host reference;
 *   - GIA: embedding ACGT into backgrounds raises the prediction of a model that looks for it
 *     (positive effect, small standard error, equal to a host computation), a motif it does
 *     not look for changes next to nothing; the backgrounds keep what they promise; occlusion
 *     of the planted site drops the prediction.
 * Runs on the default OpenCL device. */
#include "model_fixtures.h"
#include "explain/explain.h"
#include "explain/filters.h"
#include "explain/gia.h"
#include "io/seqdata.h"
#include "nn/model.h"

static uint64_t rng = 2024;
static double uniform(void) { return splitmix_unit(&rng); }

/* conv1 (F filters, kernel K) -> [bn1] -> act1 relu -> global max-pool -> flatten -> dense 1 */
static dnacl_model *build(dnacl_ctx *ctx, int L, int F, int K, int same, int with_bn) {
  dnacl_model_spec m = spec_model("tiny", L, 1, 8);
  int n = 0, Lo = same ? L : L - K + 1;
  m.layers[n] = spec_layer(DNACL_L_CONV1D, "conv1"), m.layers[n].filters = F, m.layers[n].kernel = K;
  m.layers[n++].same_padding = same;
  if (with_bn) m.layers[n++] = spec_layer(DNACL_L_BATCHNORM, "bn1");
  m.layers[n] = spec_layer(DNACL_L_ACTIVATION, "act1"), m.layers[n++].act = DNACL_ACT_RELU;
  m.layers[n] = spec_layer(DNACL_L_MAXPOOL, "pool1"), m.layers[n].window = Lo, m.layers[n++].stride = Lo;
  m.layers[n++] = spec_layer(DNACL_L_FLATTEN, "flatten1");
  m.layers[n] = spec_layer(DNACL_L_DENSE, "dense1"), m.layers[n++].units = 1;
  m.n_layers = n;
  return build_model(ctx, &m, 7);
}

/* Filter 0: +1 for the base of ACGT at each column, -1 for the others, bias -3: relu gives
 * exactly 1 on ACGT and 0 elsewhere (one mismatch scores 2 - 3 < 0; a window with zero
 * padding scores at most 3 - 3 = 0). Filter 1: all zero, bias -1: never fires. Filter 2
 * (when F > 2): A in the last column, bias -0.5. Dense: 4 * filter 0 - 2. */
static void plant(dnacl_ctx *ctx, dnacl_model *m, int F) {
  const int K = 4;
  float *w = calloc((size_t)F * 4 * K, sizeof *w), b[8] = {-3, -1, -0.5f};
  for (int c = 0; c < 4; c++)
    for (int k = 0; k < K; k++) w[(0 * 4 + c) * K + k] = c == k ? 1.0f : -1.0f;
  if (F > 2) w[(2 * 4 + 0) * K + 3] = 1.0f;
  set_node_param(ctx, m, 0, "w", w);
  set_node_param(ctx, m, 0, "b", b);
  float dw[8] = {4, 0, 0, 0}, db[1] = {-2};
  set_node_param(ctx, m, m->n_nodes - 1, "w", dw);
  set_node_param(ctx, m, m->n_nodes - 1, "b", db);
  free(w);
}

static void random_seqs(float *x, int n, int L) { random_onehot(x, n, L, &rng); }

static int count_acgt(const float *x, int L) {
  char *s = malloc((size_t)L + 1);
  dnacl_onehot_decode(x, L, L, s);
  s[L] = 0;
  int n = 0;
  for (const char *p = s; (p = strstr(p, "ACGT")); p++) n++;
  free(s);
  return n;
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* ---- filters ---------------------------------------------------------------------------- */

static void test_detector(dnacl_ctx *ctx, int same, int with_bn) {
  const int L = 60, n = 300, F = 3;
  char label[64];
  snprintf(label, sizeof label, "%s padding%s", same ? "same" : "valid", with_bn ? ", batchnorm" : "");
  dnacl_model *m = build(ctx, L, F, 4, same, with_bn);
  plant(ctx, m, F);
  float *x = malloc((size_t)n * 4 * L * sizeof *x);
  random_seqs(x, n, L);
  /* Plant extra sites, one at each end and a few inside; N columns in some sequences. */
  for (int i = 0; i < n; i += 3) put_seq(x + (size_t)i * 4 * L, L, (i * 7) % (L - 4), "ACGT");
  put_seq(x, L, 0, "ACGT");
  put_seq(x + (size_t)4 * L, L, L - 4, "ACGT");
  for (int i = 1; i < n; i += 10)
    for (int c = 0; c < 4; c++) x[((size_t)i * 4 + c) * L + 30] = 0.25f;
  long want_sites = 0, want_a_edge = 0, want_a = 0;
  for (int i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * 4 * L;
    want_sites += count_acgt(xi, L);
    /* Filter 2 fires where column 3 of its window is an A: input position p + 3 - left. */
    int left = same ? 1 : 0, Lo = same ? L : L - 3;
    for (int p = 0; p < Lo; p++) {
      int q = p + 3 - left;
      if (q >= 0 && q < L && xi[q] == 1.0f) {
        want_a++;
        if (p - left < 0) want_a_edge++; /* column 0 of this window is padding */
      }
    }
  }
  dnacl_filter_counts cnt;
  OK(dnacl_filter_align(ctx, m, x, n, 0.5, 64, &cnt));
  printf("%s: map node %d (%s), left %d; filter 0: %ld sites (ACGT occurs %ld times), max %.4f\n", label,
         cnt.layer.map_node, m->spec.layers[cnt.layer.map_node].name, cnt.layer.left, cnt.nsites[0], want_sites,
         (double)cnt.max_act[0]);
  CHECK(!strcmp(m->spec.layers[cnt.layer.map_node].name, "act1"), "%s: the map is act1's output", label);
  CHECK(cnt.layer.left == (same ? 1 : 0), "%s: left padding %d", label, cnt.layer.left);
  /* Through a batch norm with its initial running statistics: 1 / sqrt(1 + eps). */
  double want_max = with_bn ? 1 / sqrt(1 + 1e-5) : 1;
  CHECK(fabs(cnt.max_act[0] - want_max) < 1e-5, "%s: filter 0's max activation %g, want %g", label,
        (double)cnt.max_act[0], want_max);
  CHECK(cnt.nsites[0] == want_sites, "%s: filter 0 has %ld sites, ACGT occurs %ld times", label, cnt.nsites[0], want_sites);
  double pfm[16];
  dnacl_filter_pfm(&cnt, 0, 0, pfm);
  int exact = 1;
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < 4; c++) exact &= pfm[k * 4 + c] == (c == k ? 1.0 : 0.0);
  CHECK(exact, "%s: filter 0's PFM is exactly ACGT", label);
  CHECK(cnt.nsites[1] == 0 && cnt.max_act[1] == 0, "%s: filter 1 never fires", label);
  CHECK(cnt.nsites[2] == want_a, "%s: filter 2 has %ld sites, %ld A's are in place", label, cnt.nsites[2], want_a);
  /* Column 3 is all A; column 0 misses the windows that start in the padding. */
  const double *c2 = cnt.counts + 2 * 16;
  CHECK(c2[3 * 4 + 0] == want_a && c2[3 * 4 + 1] + c2[3 * 4 + 2] + c2[3 * 4 + 3] == 0, "%s: filter 2 column 4 is all A",
        label);
  double col0 = c2[0] + c2[1] + c2[2] + c2[3];
  CHECK(fabs(col0 - (double)(want_a - want_a_edge)) < 1e-3, "%s: filter 2 column 1 has %g counts, want %ld (%ld at the edge)",
        label, col0, want_a - want_a_edge, want_a_edge);

  dnacl_motif_set ms;
  dnacl_motif_set_init(&ms);
  OK(dnacl_filter_motifs(&cnt, 0.1, &ms));
  CHECK(ms.n == 2 && !strcmp(ms.motifs[0].id, "filter0") && !strcmp(ms.motifs[1].id, "filter2"),
        "%s: motifs filter0 and filter2 (filter1 has no windows)", label);
  if (ms.n == 2) {
    char cons[8];
    dnacl_motif_consensus(ms.motifs[0].p, 4, cons);
    double pa = ms.motifs[0].p[0], want = (want_sites + 0.1) / (want_sites + 0.4);
    CHECK(!strcmp(cons, "ACGT") && fabs(pa - want) < 1e-12 && ms.motifs[0].nsites == want_sites,
          "%s: filter0 motif ACGT with pseudocount 0.1: p(A) %.9f, want %.9f", label, pa, want);
  }
  /* The threshold: at 0.99 nothing but the exact detector's sites remain for filter 0. */
  dnacl_filter_counts c99;
  OK(dnacl_filter_align(ctx, m, x, n, 0.99, 1000, &c99));
  CHECK(c99.nsites[0] == want_sites, "%s: threshold 0.99, batch 1000: same sites", label);
  dnacl_filter_counts_free(&c99);
  dnacl_motif_set_free(&ms);
  dnacl_filter_counts_free(&cnt);
  dnacl_model_free(m);
  free(x);
}

/* A model with random weights and batch norm statistics against a host computation of the
 * same map and alignment. */
static void test_random_model(dnacl_ctx *ctx) {
  const int L = 37, n = 45, F = 5, K = 7;
  dnacl_model *m = build(ctx, L, F, K, 1, 1);
  float w[5 * 4 * 7], b[5], g[5], be[5], mu[5], var[5];
  for (int i = 0; i < F * 4 * K; i++) w[i] = (float)(uniform() * 2 - 1);
  for (int f = 0; f < F; f++) {
    b[f] = (float)(uniform() - 0.5), g[f] = (float)(0.5 + uniform()), be[f] = (float)(uniform() - 0.5);
    mu[f] = (float)(uniform() - 0.5), var[f] = (float)(0.5 + uniform());
  }
  set_node_param(ctx, m, 0, "w", w);
  set_node_param(ctx, m, 0, "b", b);
  set_node_param(ctx, m, 1, "gamma", g);
  set_node_param(ctx, m, 1, "beta", be);
  set_node_param(ctx, m, 1, "rmean", mu);
  set_node_param(ctx, m, 1, "rvar", var);
  float *x = malloc((size_t)n * 4 * L * sizeof *x);
  random_seqs(x, n, L);
  const double t = 0.6;
  dnacl_filter_counts cnt;
  OK(dnacl_filter_align(ctx, m, x, n, t, 16, &cnt));
  /* Host reference: y = relu(gamma (conv + b - mu) / sqrt(var + eps) + beta). */
  int left = (K - 1) / 2;
  double *map = malloc((size_t)n * F * L * sizeof *map), maxv[5];
  for (int f = 0; f < F; f++) maxv[f] = -INFINITY;
  for (int i = 0; i < n; i++)
    for (int f = 0; f < F; f++)
      for (int p = 0; p < L; p++) {
        double z = b[f];
        for (int c = 0; c < 4; c++)
          for (int k = 0; k < K; k++) {
            int q = p - left + k;
            if (q >= 0 && q < L) z += (double)w[(f * 4 + c) * K + k] * x[((size_t)i * 4 + c) * L + q];
          }
        z = g[f] * (z - mu[f]) / sqrt((double)var[f] + 1e-5) + be[f];
        z = z > 0 ? z : 0;
        map[((size_t)i * F + f) * L + p] = z;
        if (z > maxv[f]) maxv[f] = z;
      }
  double worst_max = 0;
  int counts_ok = 1, border = 0;
  for (int f = 0; f < F; f++) {
    worst_max = fmax(worst_max, fabs(maxv[f] - cnt.max_act[f]));
    double cut = t * maxv[f], ref[7 * 4] = {0};
    long sites = 0;
    for (int i = 0; i < n; i++)
      for (int p = 0; p < L; p++) {
        double a = map[((size_t)i * F + f) * L + p];
        if (fabs(a - cut) < 1e-4) border++;
        if (!(maxv[f] > 0) || !(a > cut)) continue;
        sites++;
        for (int k = 0; k < K; k++) {
          int q = p - left + k;
          if (q >= 0 && q < L)
            for (int c = 0; c < 4; c++) ref[k * 4 + c] += x[((size_t)i * 4 + c) * L + q];
        }
      }
    counts_ok &= sites == cnt.nsites[f];
    for (int j = 0; j < K * 4; j++) counts_ok &= ref[j] == cnt.counts[f * K * 4 + j];
  }
  printf("random conv -> batchnorm -> relu: max activations within %.2g of the host; counts %s (%d borderline activations)\n",
         worst_max, counts_ok ? "equal" : "DIFFER", border);
  CHECK(worst_max < 1e-4, "random model: maxima within 1e-4 of the host reference (%.3g)", worst_max);
  CHECK(counts_ok || border > 0, "random model: sites and counts equal the host reference");
  free(map);
  dnacl_filter_counts_free(&cnt);

  /* Arguments and models the method refuses. */
  CHECK(dnacl_filter_align(ctx, m, x, n, 1.0, 16, &cnt) == DNACL_ERR_ARG, "threshold 1 is refused");
  CHECK(dnacl_filter_align(ctx, m, x, 0, 0.5, 16, &cnt) == DNACL_ERR_ARG, "no sequences is refused");
  dnacl_model_free(m);
  free(x);

  dnacl_model_spec s = spec_model("dense_first", 10, 1, 2);
  s.layers[0] = spec_layer(DNACL_L_FLATTEN, "flatten1");
  s.layers[1] = spec_layer(DNACL_L_DENSE, "dense1"), s.layers[1].units = 1;
  s.n_layers = 2;
  OK(dnacl_model_build(ctx, &s, &m));
  dnacl_filter_layer fl;
  CHECK(dnacl_filter_layer_find(m, &fl) == DNACL_ERR_UNSUPPORTED && strstr(dnacl_last_error(), "flatten1"),
        "a model without a first conv is refused naming its first layer: %s", dnacl_last_error());
  dnacl_model_free(m);
}

/* ---- GIA -------------------------------------------------------------------------------- */

/* The model's probability on a host sequence: sigmoid(4 * [ACGT present] - 2). */
static double model_prob(const float *x, int L) { return sigmoid(count_acgt(x, L) > 0 ? 2.0 : -2.0); }

static void test_gia(dnacl_ctx *ctx) {
  const int L = 50, n = 400;
  dnacl_model *m = build(ctx, L, 2, 4, 1, 0);
  plant(ctx, m, 2);
  const size_t row = (size_t)4 * L;
  float *bg = malloc((size_t)n * row * sizeof *bg), *emb = malloc((size_t)n * row * sizeof *emb);
  double *p0 = malloc((size_t)n * sizeof *p0);
  OK(dnacl_gia_background(DNACL_GIA_SHUFFLED, NULL, 0, L, n, 5, bg));
  OK(dnacl_gia_predict(ctx, m, bg, n, 0, 64, p0));
  double worst = 0;
  for (int i = 0; i < n; i++) worst = fmax(worst, fabs(p0[i] - model_prob(bg + i * row, L)));
  CHECK(worst < 1e-5, "predictions on backgrounds equal sigmoid(+-2) as planted (worst %.3g)", worst);

  struct {
    const char *motif;
    int positive;
  } cases[] = {{"ACGT", 1}, {"TTGA", 0}, {"NNACGTNN", 1}, {"GCAT", 0}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    dnacl_gia_pattern p = {cases[k].motif, NULL, 0, 0};
    const dnacl_gia_pattern *pp = &p;
    int pos = (L - (int)strlen(cases[k].motif)) / 2;
    dnacl_gia_stat st;
    OK(dnacl_gia_effect(ctx, m, bg, p0, n, &pp, &pos, 1, 0, 64, &st));
    /* The same effect on the host, from the planted rule. */
    memcpy(emb, bg, (size_t)n * row * sizeof *emb);
    OK(dnacl_gia_embed(emb, n, L, &p, pos));
    double want = 0;
    for (int i = 0; i < n; i++) want += model_prob(emb + i * row, L) - model_prob(bg + i * row, L);
    want /= n;
    printf("  embed %-9s at %2d: effect %+.4f +- %.4f (host %+.4f); mean %.4f -> %.4f\n", cases[k].motif, pos, st.effect,
           st.stderr_, want, st.mean_before, st.mean_after);
    CHECK(fabs(st.effect - want) < 1e-5, "%s: effect %.6f equals the host computation %.6f", cases[k].motif, st.effect, want);
    if (cases[k].positive)
      CHECK(st.effect > 0.5 && st.stderr_ < 0.03 && st.effect > 20 * st.stderr_,
            "%s: a strong positive effect with a small standard error", cases[k].motif);
    else
      CHECK(fabs(st.effect) < 0.06 && fabs(st.effect) < 0.3 * 0.76, "%s: next to no effect (%.4f)", cases[k].motif, st.effect);
  }
  /* N keeps the background: NNACGTNN changes only the middle four bases. */
  dnacl_gia_pattern pn = {"NNACGTNN", NULL, 0, 0};
  memcpy(emb, bg, (size_t)n * row * sizeof *emb);
  OK(dnacl_gia_embed(emb, n, L, &pn, 10));
  int kept = 1;
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 4; c++)
      for (int j = 0; j < L; j++)
        if (j < 12 || j >= 16) kept &= emb[i * row + (size_t)c * L + j] == bg[i * row + (size_t)c * L + j];
  CHECK(kept, "N in a pattern keeps the background's base");
  CHECK(dnacl_gia_embed(emb, n, L, &pn, L - 7) == DNACL_ERR_ARG, "a pattern running off the end is refused");
  dnacl_gia_pattern bad = {"ACXT", NULL, 0, 0};
  CHECK(dnacl_gia_embed(emb, n, L, &bad, 0) == DNACL_ERR_ARG, "a pattern with X is refused");

  /* Sampling from a matrix: frequencies follow it; the instance of a sequence is the same
   * wherever it is embedded. */
  const double pwm[8] = {0.7, 0.1, 0.1, 0.1, 0.0, 0.0, 0.5, 0.5};
  dnacl_gia_pattern ps = {NULL, pwm, 2, 99};
  memcpy(emb, bg, (size_t)n * row * sizeof *emb);
  OK(dnacl_gia_embed(emb, n, L, &ps, 3));
  OK(dnacl_gia_embed(emb, n, L, &ps, 30));
  int a_count = 0, ac_zero = 1, same_inst = 1;
  for (int i = 0; i < n; i++) {
    const float *e = emb + i * row;
    a_count += e[0 * L + 3] == 1.0f;
    ac_zero &= e[0 * L + 4] == 0 && e[1 * L + 4] == 0;
    for (int c = 0; c < 4; c++) same_inst &= e[c * L + 3] == e[c * L + 30] && e[c * L + 4] == e[c * L + 31];
  }
  printf("  sampled column [0.7 0.1 0.1 0.1]: A in %d of %d\n", a_count, n);
  CHECK(fabs(a_count / (double)n - 0.7) < 0.07, "sampled A frequency %.3f near 0.7", a_count / (double)n);
  CHECK(ac_zero, "a column with p(A) = p(C) = 0 never samples them");
  CHECK(same_inst, "a sequence's sampled instance is the same at both places");

  /* A pair: ACGT alone already saturates the model, so a second pattern adds nothing. */
  dnacl_gia_pattern a = {"ACGT", NULL, 0, 0}, t = {"TTTT", NULL, 0, 0};
  const dnacl_gia_pattern *pair[2] = {&a, &t};
  int pos2[2] = {10, 20};
  dnacl_gia_stat sp, s1;
  OK(dnacl_gia_effect(ctx, m, bg, p0, n, pair, pos2, 2, 0, 64, &sp));
  OK(dnacl_gia_effect(ctx, m, bg, p0, n, pair, pos2, 1, 0, 64, &s1));
  CHECK(fabs(sp.effect - s1.effect) < 0.02, "pair ACGT + TTTT %.4f ~ ACGT alone %.4f", sp.effect, s1.effect);
  CHECK(dnacl_gia_predict(ctx, m, bg, n, 1, 64, p0) == DNACL_ERR_ARG, "target 1 of a 1-task model is refused");

  /* Occlusion: real sequences with ACGT at 20 (and nowhere else) lose it when 18:26 is
   * replaced, and keep it when 36:44 is. */
  float *data = malloc((size_t)n * row * sizeof *data);
  random_seqs(data, n, L);
  for (int i = 0; i < n; i++) {
    float *d = data + i * row;
    while (count_acgt(d, L) > 0) random_seqs(d, 1, L);
    put_seq(d, L, 20, "ACGT");
  }
  dnacl_gia_stat oc, far;
  OK(dnacl_gia_occlude(ctx, m, data, n, 18, 26, 0, 64, 3, &oc));
  OK(dnacl_gia_occlude(ctx, m, data, n, 36, 44, 0, 64, 3, &far));
  printf("  occlude 18:26 (the site): drop %.4f +- %.4f; 36:44: drop %.4f +- %.4f\n", -oc.effect, oc.stderr_, -far.effect,
         far.stderr_);
  CHECK(fabs(oc.mean_before - sigmoid(2)) < 1e-5 && -oc.effect > 0.7, "occluding the site drops the prediction");
  CHECK(fabs(far.effect) < 1e-5, "occluding elsewhere changes nothing (the site stays)");
  CHECK(dnacl_gia_occlude(ctx, m, data, n, 40, 40, 0, 64, 3, &oc) == DNACL_ERR_ARG, "an empty region is refused");

  /* Backgrounds. Shuffles of one sequence keep its dinucleotide counts; the profile of
   * sequences with base j % 4 at position j (an N column ignored) reproduces them; data
   * picks distinct rows when it can. */
  float *one = malloc(3 * row * sizeof *one);
  random_seqs(one, 1, L);
  memcpy(one + row, one, row * sizeof *one);
  memcpy(one + 2 * row, one, row * sizeof *one);
  OK(dnacl_gia_background(DNACL_GIA_SHUFFLED, one, 3, L, 50, 8, emb));
  int di_ok = 1, changed = 0;
  char s0[64], s1s[64];
  dnacl_onehot_decode(one, L, L, s0);
  for (int i = 0; i < 50; i++) {
    dnacl_onehot_decode(emb + i * row, L, L, s1s);
    int c0[16] = {0}, c1[16] = {0};
    for (int j = 0; j + 1 < L; j++) {
      c0[(strchr("ACGT", s0[j]) - "ACGT") * 4 + (strchr("ACGT", s0[j + 1]) - "ACGT")]++;
      c1[(strchr("ACGT", s1s[j]) - "ACGT") * 4 + (strchr("ACGT", s1s[j + 1]) - "ACGT")]++;
    }
    di_ok &= !memcmp(c0, c1, sizeof c0);
    changed += memcmp(s0, s1s, (size_t)L) != 0;
  }
  CHECK(di_ok && changed > 40, "shuffled backgrounds keep the dinucleotide counts (%d of 50 differ from the source)", changed);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < L; j++)
      for (int c = 0; c < 4; c++) one[i * row + (size_t)c * L + j] = c == j % 4 ? 1.0f : 0.0f;
  for (int c = 0; c < 4; c++) one[(size_t)c * L + 7] = 0.25f; /* an N in the first sequence */
  OK(dnacl_gia_background(DNACL_GIA_PROFILE, one, 3, L, 20, 8, emb));
  int prof_ok = 1;
  for (int i = 0; i < 20; i++)
    for (int j = 0; j < L; j++) prof_ok &= emb[i * row + (size_t)(j % 4) * L + j] == 1.0f;
  CHECK(prof_ok, "profile backgrounds follow the per-position profile (N ignored)");
  OK(dnacl_gia_background(DNACL_GIA_DATA, data, n, L, 100, 8, emb));
  int rows_ok = 1, distinct = 1;
  int *which = malloc(100 * sizeof *which);
  for (int i = 0; i < 100; i++) {
    which[i] = -1;
    for (int r = 0; r < n && which[i] < 0; r++)
      if (!memcmp(emb + i * row, data + r * row, row * sizeof *emb)) which[i] = r;
    rows_ok &= which[i] >= 0;
    for (int j = 0; j < i; j++) distinct &= which[j] != which[i];
  }
  CHECK(rows_ok && distinct, "data backgrounds are distinct rows of the data");
  OK(dnacl_gia_background(DNACL_GIA_DATA, data, 3, L, 10, 8, emb));
  CHECK(!memcmp(emb + 9 * row, data, row * sizeof *emb) || !memcmp(emb + 9 * row, data + row, row * sizeof *emb) ||
            !memcmp(emb + 9 * row, data + 2 * row, row * sizeof *emb),
        "more backgrounds than rows: drawn with replacement");
  CHECK(dnacl_gia_background(DNACL_GIA_PROFILE, NULL, 0, L, 10, 8, emb) == DNACL_ERR_ARG, "profile without data is refused");
  /* Seeds: the same seed gives the same backgrounds, another seed others. */
  float *again = malloc((size_t)n * row * sizeof *again);
  OK(dnacl_gia_background(DNACL_GIA_SHUFFLED, data, n, L, 30, 77, emb));
  OK(dnacl_gia_background(DNACL_GIA_SHUFFLED, data, n, L, 30, 77, again));
  CHECK(!memcmp(emb, again, 30 * row * sizeof *emb), "same seed, same backgrounds");
  OK(dnacl_gia_background(DNACL_GIA_SHUFFLED, data, n, L, 30, 78, again));
  CHECK(memcmp(emb, again, 30 * row * sizeof *emb) != 0, "another seed, other backgrounds");

  /* The statistic itself. */
  const double before[3] = {0, 0, 0}, after[3] = {1, 2, 3};
  dnacl_gia_stat st = dnacl_gia_stat_of(before, after, 3);
  CHECK(st.effect == 2 && fabs(st.stderr_ - 1 / sqrt(3.0)) < 1e-12 && st.mean_after == 2, "effect 2, s.e. 1/sqrt(3)");
  st = dnacl_gia_stat_of(before, after, 1);
  CHECK(st.effect == 1 && isnan(st.stderr_), "one sequence: no standard error (NaN)");

  free(which), free(again), free(one), free(data), free(bg), free(emb), free(p0);
  dnacl_model_free(m);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  test_detector(ctx, 1, 0);
  test_detector(ctx, 0, 0);
  test_detector(ctx, 1, 1);
  test_random_model(ctx);
  printf("gia:\n");
  test_gia(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
