/* Explainers (src/explain/gradients.c, deeplift.c) against the PyTorch float64 goldens of
 * tools/make_explain_goldens.py, on the chapter's baseline and on a CNN with an exponential
 * first layer: saliency, grad x input, integrated gradients, DeepLIFT contributions,
 * hypothetical contributions and the completeness deltas. Then properties that need no
 * golden: batch-size independence, the gradient correction, DeepSHAP = DeepLIFT against its
 * own shuffles, exact completeness through residual edges and every rescale rule, and the
 * refusal of transformer models by name.
 *
 * Tolerances. The goldens are float64; dnacl computes in float32 through 10-16 layers.
 * Attributions are compared with |got - want| <= 1e-4 * min(1, max |golden|) + 1e-4 |want|,
 * i.e. to 1e-4 of the map's scale (the baseline's maps are ~1e-3 with default weights).
 * Completeness: with maxpool's SHAP/captum rule (src/nn/maxpool.c) DeepLIFT and DeepSHAP
 * contributions sum to f(x) - f(ref) exactly in exact arithmetic for every model here and
 * every reference (the float64 goldens' deltas are ~1e-15), so dnacl's float32 deltas must
 * be within COMPLETE_TOL = 1e-5: float rounding through the layers, measured at ~2e-8 on
 * the baseline (outputs ~0.05) and ~1e-6 on the exponential CNN (outputs ~2, activations
 * exp(conv) up to ~e^3 summed over 800 dense inputs), so the bound has a margin of 8x on
 * the worse. Integrated gradients keeps its own quadrature error, compared with the
 * float64 one. */
#include <stdint.h>

#include "explain/explain.h"
#include "harness.h"
#include "io/npy.h"
#include "train/checkpoint.h"

#define ATOL 1e-4
#define RTOL 1e-4
#define COMPLETE_TOL 1e-5

static dnacl_model *load_yaml(dnacl_ctx *ctx, const char *path) {
  dnacl_model_spec spec;
  OK(dnacl_model_spec_load(path, &spec));
  dnacl_model *m;
  OK(dnacl_model_build(ctx, &spec, &m));
  return m;
}

static const float *G(const dnacl_safetensors *g, const char *name) { return golden_get(g, name)->data; }

/* DeepLIFT/DeepSHAP completeness: the worst |sum(contributions) - (f(x) - f(ref))|. */
static void check_complete(const char *model, const char *what, double worst) {
  printf("  DeepLIFT worst |sum - (f(x) - f(ref))|, %s: %.3g\n", what, worst);
  CHECK(worst <= COMPLETE_TOL, "%s, %s: completeness %.3g > %g", model, what, worst, COMPLETE_TOL);
}

static double max_abs(const float *a, size_t n) {
  double w = 0;
  for (size_t i = 0; i < n; i++)
    if (fabs(a[i]) > w) w = fabs(a[i]);
  return w;
}

/* |got - want| <= atol + RTOL |want| with atol = ATOL scaled by the map's largest
 * magnitude when that is below 1: the baseline's maps are ~1e-3 (default init), where an
 * absolute 1e-4 would accept anything. */
static void cmp(const char *model, const char *what, const float *got, const dnacl_safetensors *g, const char *name,
                size_t n) {
  char label[96];
  double scale = max_abs(G(g, name), n);
  snprintf(label, sizeof label, "%s %s (max |golden| %.3g)", model, what, scale);
  compare_host(label, got, G(g, name), n, ATOL * fmin(1.0, scale), RTOL);
}

/* The baseline's weights come from dnacl_model_init(seed); the golden holds a strided
 * sample of what the script generated with the same algorithm. */
static void check_fingerprints(dnacl_ctx *ctx, dnacl_model *m, const dnacl_safetensors *g) {
  int stride = golden_int(g, "fp_stride", 97), tensors = 0, bad = 0;
  char q[128], key[160];
  dnacl_param *p;
  for (int i = 0; (p = dnacl_model_param(m, i, q, sizeof q)); i++) {
    snprintf(key, sizeof key, "fp.%s", q);
    const dnacl_st_tensor *t = dnacl_st_get(g, key);
    if (!t) continue;
    float *h = read_host(ctx, &p->value);
    for (size_t k = 0; k * stride < p->value.n; k++)
      if (k >= t->n || h[k * stride] != t->data[k]) bad++;
    tensors++;
    free(h);
  }
  printf("  seeded init: %d tensors fingerprinted, %d mismatches\n", tensors, bad);
  CHECK(tensors == 10 && bad == 0, "dnacl_model_init does not reproduce the script's weights (%d tensors, %d bad)",
        tensors, bad);
}

static void golden_model(dnacl_ctx *ctx, const char *name) {
  dnacl_safetensors g = golden_load(name);
  const char *path = golden_str(&g, "model", "");
  printf("%s (%s):\n", name, path);
  dnacl_model *m = load_yaml(ctx, path);
  if (dnacl_st_get(&g, "fp.conv1.w")) {
    OK(dnacl_model_init(ctx, m, (uint64_t)golden_num(&g, "init_seed", 0)));
    check_fingerprints(ctx, m, &g);
    OK(dnacl_model_load_params(ctx, m, &g, "", 0)); /* the batch-norm tensors */
  } else {
    OK(dnacl_model_load_params(ctx, m, &g, "", 1));
  }
  const dnacl_st_tensor *xt = golden_get(&g, "x");
  const int n = (int)xt->shape[0], L = (int)xt->shape[2];
  const size_t N = xt->n;
  const float *x = xt->data;
  float *out = malloc(N * sizeof *out), *out2 = malloc(N * sizeof *out2), *zero = calloc(N, sizeof *zero);
  float delta[16];
  double worst;
  dnacl_explain_opts o = {golden_int(&g, "target", 0), DNACL_EXPLAIN_LOGIT, 0, 0};

  OK(dnacl_saliency(ctx, m, x, n, &o, 0, out));
  cmp(name, "saliency", out, &g, "saliency", N);
  /* Batch independence: one row per pass gives the same maps up to float rounding. */
  o.batch = 1;
  OK(dnacl_saliency(ctx, m, x, n, &o, 0, out2));
  compare_host("  saliency, batch 1 vs batch 3", out2, out, N, 1e-6, 1e-5);
  o.batch = 0;
  /* The correction is the golden saliency minus its per-position mean. */
  memcpy(out2, G(&g, "saliency"), N * sizeof *out2);
  for (int i = 0; i < n; i++)
    for (int p = 0; p < L; p++) {
      float *r = out2 + (size_t)i * 4 * L;
      double mean = 0.25 * (r[p] + r[L + p] + r[2 * L + p] + r[3 * L + p]);
      for (int c = 0; c < 4; c++) r[c * L + p] = (float)(r[c * L + p] - mean);
    }
  o.correct = 1;
  OK(dnacl_saliency(ctx, m, x, n, &o, 0, out));
  compare_host("  saliency, corrected", out, out2, N, ATOL, RTOL);
  double colsum = 0;
  for (int i = 0; i < n; i++)
    for (int p = 0; p < L; p++) {
      const float *r = out + (size_t)i * 4 * L;
      colsum = fmax(colsum, fabs(r[p] + r[L + p] + r[2 * L + p] + r[3 * L + p]));
    }
  CHECK(colsum < 1e-6, "corrected gradients do not sum to 0 over bases (%g)", colsum);
  o.correct = 0;
  o.output = DNACL_EXPLAIN_PROB;
  OK(dnacl_saliency(ctx, m, x, n, &o, 0, out));
  cmp(name, "saliency of the probability", out, &g, "saliency_prob", N);
  o.output = DNACL_EXPLAIN_LOGIT;
  OK(dnacl_saliency(ctx, m, x, n, &o, 1, out));
  cmp(name, "grad x input", out, &g, "gradxinput", N);

  int steps = golden_int(&g, "ig_steps", 50);
  o.batch = 64; /* 3 x 50 rows: passes straddle sequences */
  OK(dnacl_integrated_gradients(ctx, m, x, NULL, n, &o, steps, DNACL_QUAD_RIEMANN, out, delta, &worst));
  cmp(name, "integrated gradients, 50 midpoint steps", out, &g, "ig", N);
  compare_host("  IG completeness delta vs float64", delta, G(&g, "ig_delta"), (size_t)n, 1e-5, 1e-3);
  printf("  IG worst completeness error %.3g (50 midpoint steps)\n", worst);
  OK(dnacl_integrated_gradients(ctx, m, x, zero, n, &o, golden_int(&g, "gauss_steps", 16), DNACL_QUAD_GAUSS, out,
                                NULL, NULL));
  cmp(name, "integrated gradients, 16 Gauss-Legendre", out, &g, "ig_gauss", N);
  o.batch = 0;

  /* DeepLIFT against the all-zero reference, against a stored dinucleotide shuffle, and of
   * the probability; hypothetical contributions. */
  OK(dnacl_deeplift(ctx, m, x, n, zero, 1, &o, 0, out, delta, &worst));
  cmp(name, "DeepLIFT, zero reference", out, &g, "deeplift_zero", N);
  compare_host("  completeness delta (zero ref) vs float64", delta, G(&g, "delta_zero"), (size_t)n, COMPLETE_TOL, 0);
  check_complete(name, "zero reference", worst);
  const float *ref = G(&g, "ref_shuf");
  OK(dnacl_deeplift(ctx, m, x, n, ref, 1, &o, 0, out, delta, &worst));
  cmp(name, "DeepLIFT, shuffled reference", out, &g, "deeplift_shuf", N);
  compare_host("  completeness delta (shuffled ref) vs float64", delta, G(&g, "delta_shuf"), (size_t)n, COMPLETE_TOL, 0);
  check_complete(name, "shuffled reference", worst);
  OK(dnacl_deeplift(ctx, m, x, n, ref, 1, &o, 1, out, NULL, NULL));
  cmp(name, "hypothetical contributions", out, &g, "hyp_shuf", N);
  /* hyp * x is the contribution of each position, summed over bases, placed at its base. */
  OK(dnacl_deeplift(ctx, m, x, n, ref, 1, &o, 0, out2, NULL, NULL));
  double proj = 0;
  for (int i = 0; i < n; i++)
    for (int p = 0; p < L; p++) {
      size_t b = (size_t)i * 4 * L + p;
      double hx = 0, cs = 0;
      for (int c = 0; c < 4; c++) hx += out[b + c * L] * x[b + c * L], cs += out2[b + c * L];
      proj = fmax(proj, fabs(hx - cs));
    }
  printf("  hypothetical x input vs contributions summed over bases: max diff %.3g\n", proj);
  CHECK(proj < 1e-5, "hypothetical contributions at the observed base differ from the position's contribution");
  o.output = DNACL_EXPLAIN_PROB;
  OK(dnacl_deeplift(ctx, m, x, n, ref, 1, &o, 0, out, delta, &worst));
  cmp(name, "DeepLIFT of the probability", out, &g, "deeplift_prob", N);
  compare_host("  completeness delta (probability) vs float64", delta, G(&g, "delta_prob"), (size_t)n, COMPLETE_TOL, 0);
  check_complete(name, "probability, shuffled reference", worst);
  o.output = DNACL_EXPLAIN_LOGIT;

  /* DeepSHAP is DeepLIFT averaged over the sequence's own dinucleotide shuffles. */
  const int R = 5;
  uint64_t seeds[3] = {11, 22, 33};
  float *refs = malloc((size_t)n * R * 4 * L * sizeof *refs), dsh[3 * 5], dl[3 * 5];
  for (int i = 0; i < n; i++)
    for (int r = 0; r < R; r++)
      OK(dnacl_dinuc_shuffle_onehot(x + (size_t)i * 4 * L, L, dnacl_seed_mix(seeds[i], (uint64_t)r, 0x5EED),
                                    refs + ((size_t)i * R + r) * 4 * L));
  OK(dnacl_deepshap(ctx, m, x, n, R, seeds, &o, 0, out, dsh, &worst));
  OK(dnacl_deeplift(ctx, m, x, n, refs, R, &o, 0, out2, dl, NULL));
  compare_host("  DeepSHAP vs DeepLIFT on the same shuffles", out, out2, N, 1e-7, 1e-6);
  compare_host("  DeepSHAP deltas vs DeepLIFT deltas", dsh, dl, (size_t)n * R, 1e-7, 1e-6);
  check_complete(name, "DeepSHAP, 5 dinucleotide shuffles", worst);
  free(refs);
  free(out);
  free(out2);
  free(zero);
  dnacl_model_free(m);
  dnacl_st_free(&g);
}

/* No maxpool: contributions must sum to the output difference for any reference, through a
 * residual edge, batch norm and relu/softplus/tanh/elu/gelu/sigmoid rescale rules; the
 * probability version too; and the residual model's saliency against finite differences. */
typedef struct fd_ctx {
  dnacl_ctx *ctx;
  dnacl_model *m;
  float *x;
  int target;
} fd_ctx;

static double fd_loss(void *user) {
  fd_ctx *f = user;
  dnacl_tensor t;
  OK(dnacl_tensor_new(f->ctx, &t, 1, 4, f->m->length));
  OK(dnacl_tensor_write(f->ctx, &t, f->x));
  OK(dnacl_model_forward(f->ctx, f->m, &t, 0));
  float out[8];
  OK(dnacl_tensor_read(f->ctx, dnacl_model_output(f->m), out));
  dnacl_tensor_free(&t);
  return out[f->target];
}

static void residual_model(dnacl_ctx *ctx) {
  printf("residual model (tests/data/explain_residual.yaml):\n");
  dnacl_model *m = load_yaml(ctx, "tests/data/explain_residual.yaml");
  OK(dnacl_model_init(ctx, m, 5));
  /* Non-trivial batch-norm statistics. */
  dnacl_param *p;
  char q[128];
  for (int i = 0; (p = dnacl_model_param(m, i, q, sizeof q)); i++) {
    if (!strstr(q, ".rmean") && !strstr(q, ".rvar") && !strstr(q, ".gamma") && !strstr(q, ".beta")) continue;
    float h[64];
    for (size_t k = 0; k < p->value.n; k++)
      h[k] = strstr(q, "var") || strstr(q, "gamma") ? 0.5f + 0.1f * (float)k : 0.05f * (float)k - 0.2f;
    OK(dnacl_tensor_write(ctx, &p->value, h));
  }
  const int n = 4, L = m->length, R = 6;
  const size_t N = (size_t)n * 4 * L;
  float *x = calloc(N, sizeof *x), *out = malloc(N * sizeof *out);
  uint64_t s = 77;
  for (int i = 0; i < n; i++)
    for (int pos = 0; pos < L; pos++) {
      s = dnacl_seed_mix(s, 1, 2);
      x[(size_t)i * 4 * L + (s % 4) * L + pos] = 1.0f;
    }
  float delta[4 * 6];
  double worst;
  for (int t = 0; t < 3; t++) {
    dnacl_explain_opts o = {t, t == 2 ? DNACL_EXPLAIN_PROB : DNACL_EXPLAIN_LOGIT, t == 1, 5};
    OK(dnacl_deepshap(ctx, m, x, n, R, NULL, &o, 0, out, delta, &worst));
    printf("  DeepSHAP target %d (%s%s), %d refs: worst completeness error %.3g\n", t,
           o.output ? "probability" : "logit", o.correct ? ", corrected" : "", R, worst);
    CHECK(worst <= 1e-5, "residual model target %d: completeness %.3g > 1e-5", t, worst);
  }
  /* Saliency of the residual model by finite differences (central, step 1e-2 in float32:
   * truncation ~1e-5 on these smooth activations, rounding ~1e-5). */
  dnacl_explain_opts o = {2, DNACL_EXPLAIN_LOGIT, 0, 0};
  OK(dnacl_saliency(ctx, m, x, 1, &o, 0, out));
  fd_ctx f = {ctx, m, x, 2};
  fd_check("residual model saliency", x, (size_t)4 * L, out, fd_loss, &f, 40, 1e-2f, 2e-4, 2e-2);
  free(x);
  free(out);
  dnacl_model_free(m);
}

/* A transformer model: DeepLIFT/SHAP refused by name with DNACL_ERR_UNSUPPORTED before any
 * work; the gradient methods run. */
static void transformer_refused(dnacl_ctx *ctx) {
  printf("transformer model (yaml/models/add_one_transformer_block.yaml):\n");
  dnacl_model *m = load_yaml(ctx, "yaml/models/add_one_transformer_block.yaml");
  OK(dnacl_model_init(ctx, m, 1));
  const int L = m->length;
  float *x = calloc((size_t)4 * L, sizeof *x), *out = malloc((size_t)4 * L * sizeof *out);
  for (int p = 0; p < L; p++) x[(p * 7 % 4) * L + p] = 1.0f;
  dnacl_explain_opts o = {0, DNACL_EXPLAIN_LOGIT, 0, 0};
  dnacl_status st = dnacl_deeplift(ctx, m, x, 1, x, 1, &o, 0, out, NULL, NULL);
  printf("  deeplift: %s: %s\n", dnacl_status_name(st), dnacl_last_error());
  CHECK(st == DNACL_ERR_UNSUPPORTED, "deeplift on a transformer model returned %s", dnacl_status_name(st));
  CHECK(strstr(dnacl_last_error(), "transformer") && strstr(dnacl_last_error(), "layer tf1"),
        "the refusal does not name the layer and its kind: %s", dnacl_last_error());
  st = dnacl_deepshap(ctx, m, x, 1, 3, NULL, &o, 1, out, NULL, NULL);
  CHECK(st == DNACL_ERR_UNSUPPORTED, "deepshap on a transformer model returned %s", dnacl_status_name(st));
  /* A standalone layer norm is refused the same way. */
  dnacl_model_spec spec;
  OK(dnacl_model_spec_parse("ln.yaml",
                            "name: ln\nlength: 20\ntasks: 1\nlayers:\n  - conv1d: {filters: 4, kernel: 3, padding: same}\n"
                            "  - layernorm\n  - flatten\n  - dense: 1\n",
                            &spec));
  dnacl_model *ln;
  OK(dnacl_model_build(ctx, &spec, &ln));
  st = dnacl_deeplift_supported(ln);
  printf("  layernorm model: %s: %s\n", dnacl_status_name(st), dnacl_last_error());
  CHECK(st == DNACL_ERR_UNSUPPORTED && strstr(dnacl_last_error(), "(layernorm)") && strstr(dnacl_last_error(), "ln.yaml:6"),
        "a layernorm is not refused by name and line: %s", dnacl_last_error());
  dnacl_model_free(ln);
  OK(dnacl_saliency(ctx, m, x, 1, &o, 1, out));
  int finite = 1;
  for (int k = 0; k < 4 * L; k++) finite &= isfinite(out[k]);
  CHECK(finite && max_abs(out, (size_t)4 * L) > 0, "gradxinput on the transformer model is zero or not finite");
  /* A bad target is an argument error, not a crash. */
  o.target = 1;
  CHECK(dnacl_saliency(ctx, m, x, 1, &o, 0, out) == DNACL_ERR_ARG, "target out of range accepted");
  free(x);
  free(out);
  dnacl_model_free(m);
}

/* The NPY writer and reader (src/io/npy.c): round trip, header layout, the streaming
 * writer's refusal to save a partial array, float64 input. */
static void npy(void) {
  const char *path = DNACL_TEST_TMPDIR "/explain_npy.npy";
  size_t shape[3] = {3, 4, 7}, got_shape[8];
  float a[84], *b = NULL;
  for (int i = 0; i < 84; i++) a[i] = (float)i * 0.5f - 3.0f;
  remove(path);
  OK(dnacl_npy_save(path, 3, shape, a));
  int nd = 0;
  OK(dnacl_npy_load(path, &nd, got_shape, &b));
  CHECK(nd == 3 && got_shape[0] == 3 && got_shape[1] == 4 && got_shape[2] == 7 && !memcmp(a, b, sizeof a),
        "npy round trip");
  free(b);
  FILE *f = fopen(path, "rb");
  unsigned char head[128];
  size_t got = f ? fread(head, 1, sizeof head, f) : 0;
  if (f) fclose(f);
  size_t hlen = got >= 10 ? head[8] | (size_t)head[9] << 8 : 0;
  CHECK(got >= 64 && !memcmp(head, "\x93NUMPY\x01\x00", 8) && (10 + hlen) % 64 == 0 && head[9 + hlen] == '\n' &&
            strstr((const char *)head + 10, "'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 7), }"),
        "npy header layout");
  /* Streaming: too few elements is refused and leaves neither the file nor PATH.tmp. */
  remove(path);
  dnacl_npy_writer w;
  OK(dnacl_npy_writer_open(&w, path, 3, shape));
  OK(dnacl_npy_writer_append(&w, a, 40));
  CHECK(dnacl_npy_writer_append(&w, a, 50) == DNACL_ERR_ARG, "writer accepted more than the shape");
  CHECK(dnacl_npy_writer_commit(&w) == DNACL_ERR_ARG, "writer committed a partial array");
  CHECK(!fopen(path, "rb") && !fopen(DNACL_TEST_TMPDIR "/explain_npy.npy.tmp", "rb"), "partial npy left behind");
  OK(dnacl_npy_writer_open(&w, path, 3, shape));
  dnacl_npy_writer_abort(&w);
  CHECK(!fopen(DNACL_TEST_TMPDIR "/explain_npy.npy.tmp", "rb"), "abort left PATH.tmp");
  /* A 1-d float64 file as numpy writes it. */
  f = fopen(path, "wb");
  const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }";
  char hdr[128];
  memset(hdr, ' ', sizeof hdr);
  memcpy(hdr, "\x93NUMPY\x01\x00", 8);
  hdr[8] = 128 - 10;
  hdr[9] = 0;
  memcpy(hdr + 10, dict, strlen(dict));
  hdr[127] = '\n';
  double d[5] = {1, -2.5, 3e-3, 4, 5};
  fwrite(hdr, 1, sizeof hdr, f);
  fwrite(d, sizeof *d, 5, f);
  fclose(f);
  OK(dnacl_npy_load(path, &nd, got_shape, &b));
  CHECK(nd == 1 && got_shape[0] == 5 && b[1] == -2.5f && b[2] == 3e-3f, "float64 npy read");
  free(b);
  /* Truncated data is a parse error naming the file. */
  f = fopen(path, "wb");
  fwrite(hdr, 1, sizeof hdr, f);
  fwrite(d, sizeof *d, 2, f);
  fclose(f);
  CHECK(dnacl_npy_load(path, &nd, got_shape, &b) == DNACL_ERR_PARSE && strstr(dnacl_last_error(), "truncated"),
        "truncated npy accepted");
  remove(path);
  printf("npy: round trip, header, partial writes, float64 and truncated files checked\n");
}

static void quadrature(void) {
  double a[50], w[50];
  /* Gauss-Legendre with n nodes integrates t^k exactly for k < 2n. */
  for (int n = 1; n <= 50; n += 7) {
    OK(dnacl_quadrature_points(DNACL_QUAD_GAUSS, n, a, w));
    double worst = 0;
    for (int k = 0; k < 2 * n; k++) {
      double s = 0;
      for (int j = 0; j < n; j++) s += w[j] * pow(a[j], k);
      worst = fmax(worst, fabs(s - 1.0 / (k + 1)));
    }
    CHECK(worst < 1e-12, "Gauss-Legendre %d: moment error %g", n, worst);
  }
  OK(dnacl_quadrature_points(DNACL_QUAD_RIEMANN, 4, a, w));
  CHECK(a[0] == 0.125 && a[3] == 0.875 && w[2] == 0.25, "midpoint rule nodes");
  CHECK(dnacl_quadrature_points(DNACL_QUAD_RIEMANN, 0, a, w) == DNACL_ERR_ARG, "0 steps accepted");
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  quadrature();
  npy();
  golden_model(ctx, "explain_baseline");
  golden_model(ctx, "explain_exp_cnn");
  residual_model(ctx);
  transformer_refused(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
