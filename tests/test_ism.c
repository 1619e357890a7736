/* In silico saturation mutagenesis (src/explain/ism.c): the naive method against direct
 * forwards of single variants, and the incremental method against the naive one on the
 * chapter's baseline, an exponential first layer, CNN-deep (valid convolutions, several
 * pools), ResidualBind (dilated residual block) and a transformer model (which must fall
 * back to the naive method). Random weights from dnacl_model_init with batchnorm
 * statistics and affine parameters randomised too, so every layer's window rule matters.
 *
 * `test_ism --bench [n [L]]` instead times naive and incremental ISM of the baseline at
 * L=200 (or L: the same layers on longer sequences, dense1 growing with them; random
 * weights, n sequences, default 4) and prints ms/sequence as one JSON line
 * (tools/bench_ism.py runs it beside PyTorch). Tests never assert on time. */
#include <stdlib.h>
#include <time.h>

#include "explain/explain.h"
#include "harness.h"
#include "nn/model.h"

static uint32_t rng_state = 12345u;
static uint32_t rnd(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return rng_state >> 8;
}
static float uni(float a, float b) { return a + (b - a) * (float)(rnd() & 0xffffff) / 16777216.0f; }

/* Sequence length of the benchmark's model (0: the file's). */
static int bench_length = 0;

/* Build a model file (or, with text, that YAML) with random weights; act >= 0 replaces
 * the ablated activation. */
static dnacl_model *load_text(dnacl_ctx *ctx, const char *path, const char *text, int act, uint64_t seed) {
  dnacl_model_spec spec;
  if (text)
    OK(dnacl_model_spec_parse(path, text, &spec));
  else
    OK(dnacl_model_spec_load(path, &spec));
  if (act >= 0 && spec.ablation_layer >= 0) spec.layers[spec.ablation_layer].act = (dnacl_act)act;
  if (bench_length > 0) spec.length = bench_length;
  dnacl_model *m;
  OK(dnacl_model_build(ctx, &spec, &m));
  OK(dnacl_model_init(ctx, m, seed));
  char q[128];
  dnacl_param *p;
  for (int i = 0; (p = dnacl_model_param(m, i, q, sizeof q)); i++) {
    size_t len = strlen(q);
    float lo, hi;
    if (len > 5 && !strcmp(q + len - 5, "gamma")) lo = 0.5f, hi = 1.5f;
    else if (len > 4 && !strcmp(q + len - 4, "beta")) lo = -0.3f, hi = 0.3f;
    else if (len > 5 && !strcmp(q + len - 5, "rmean")) lo = -0.2f, hi = 0.2f;
    else if (len > 4 && !strcmp(q + len - 4, "rvar")) lo = 0.5f, hi = 2.0f;
    else continue;
    float *h = malloc(p->value.n * sizeof *h);
    for (size_t j = 0; j < p->value.n; j++) h[j] = uni(lo, hi);
    OK(dnacl_tensor_write(ctx, &p->value, h));
    free(h);
  }
  return m;
}
static dnacl_model *load(dnacl_ctx *ctx, const char *path, int act, uint64_t seed) {
  return load_text(ctx, path, NULL, act, seed);
}

/* Layers in orders the shipped models do not have: a valid dilated first convolution, an
 * overlapping pool right after it, batch norm and an activation and layer norm that are
 * not next to a convolution (materialised windows), an activation and dropout after
 * flatten, two outputs. */
static const char *mixed_yaml =
    "name: ism_mixed\n"
    "length: 61\n"
    "tasks: 2\n"
    "layers:\n"
    "  - conv1d: {filters: 8, kernel: 5, padding: valid, dilation: 2}\n"
    "  - maxpool: {window: 3, stride: 2}\n"
    "  - batchnorm\n"
    "  - activation: elu\n"
    "  - layernorm\n"
    "  - conv1d: {filters: 20, kernel: 4, padding: same}\n"
    "  - activation: {fn: softplus, ablate: true}\n"
    "  - dropout: 0.1\n"
    "  - maxpool: 2\n"
    "  - flatten\n"
    "  - activation: tanh\n"
    "  - dropout: 0.2\n"
    "  - dense: 10\n"
    "  - activation: relu\n"
    "  - dense: 2\n";

/* One-pass convolutions without pooling that hand their change on: to another one-pass
 * convolution (valid, 20 input channels, so a 16-channel block is partial) and to the
 * dense update, which applies the sigmoid after it. */
static const char *nopool_yaml =
    "name: ism_nopool\n"
    "length: 40\n"
    "tasks: 1\n"
    "layers:\n"
    "  - conv1d: {filters: 20, kernel: 5, padding: same}\n"
    "  - activation: relu\n"
    "  - conv1d: {filters: 18, kernel: 3, padding: valid}\n"
    "  - batchnorm\n"
    "  - activation: {fn: elu, ablate: true}\n"
    "  - flatten\n"
    "  - dense: 8\n"
    "  - activation: sigmoid\n"
    "  - dense: 1\n";

/* No convolution at all: the window is the changed column of the input itself. */
static const char *dense_yaml =
    "name: ism_dense_only\n"
    "length: 37\n"
    "tasks: 1\n"
    "layers:\n"
    "  - flatten\n"
    "  - dense: 24\n"
    "  - activation: sigmoid\n"
    "  - dense: 1\n";

/* n random one-hot sequences; sequence 0 gets an N as zeros at position 7 and an N as
 * 0.25s at its last position, so non-one-hot columns (all 4 bases are variants) are covered. */
static float *sequences(int n, int L) {
  float *x = calloc((size_t)n * 4 * L, sizeof *x);
  for (int i = 0; i < n; i++)
    for (int p = 0; p < L; p++) x[((size_t)i * 4 + rnd() % 4) * L + p] = 1.0f;
  if (L > 8)
    for (int c = 0; c < 4; c++) x[(size_t)c * L + 7] = 0.0f, x[(size_t)c * L + L - 1] = 0.25f;
  return x;
}

static double max_abs(const float *a, size_t n) {
  double w = 0;
  for (size_t i = 0; i < n; i++) w = fmax(w, fabs(a[i]));
  return w;
}

/* Every one-hot column's reference base has exactly 0. */
static void check_ref_zero(const char *label, const float *x, const float *out, int n, int L) {
  int bad = 0;
  for (int i = 0; i < n; i++)
    for (int p = 0; p < L; p++)
      for (int b = 0; b < 4; b++) {
        size_t k = ((size_t)i * 4 + b) * L + p;
        if (x[k] == 1.0f && out[k] != 0.0f) bad++;
      }
  CHECK(bad == 0, "%s: %d reference bases are not 0", label, bad);
}

/* A few variants by hand: one forward of [x, variants...] and f(var) - f(x). */
static void check_direct(dnacl_ctx *ctx, dnacl_model *m, const float *x, const float *out, int target,
                         dnacl_explain_output output, const char *label) {
  const int L = m->length, T = m->spec.tasks, nv = 6;
  const int pos[6] = {0, 1, 7, L / 2, L - 2, L - 1};
  float *rows = malloc((size_t)(nv + 1) * 4 * L * sizeof *rows);
  int bases[6];
  for (int k = 0; k <= nv; k++) memcpy(rows + (size_t)k * 4 * L, x, 4 * (size_t)L * sizeof *rows);
  for (int k = 0; k < nv; k++) {
    int p = pos[k], b0 = -1;
    for (int c = 0; c < 4; c++)
      if (x[(size_t)c * L + p] == 1.0f) b0 = c;
    bases[k] = (b0 + 1 + k % 3) % 4; /* never the reference base */
    float *r = rows + (size_t)(k + 1) * 4 * L;
    for (int c = 0; c < 4; c++) r[(size_t)c * L + p] = c == bases[k] ? 1.0f : 0.0f;
  }
  dnacl_tensor t;
  OK(dnacl_tensor_new(ctx, &t, nv + 1, 4, L));
  OK(dnacl_tensor_write(ctx, &t, rows));
  OK(dnacl_model_forward(ctx, m, &t, 0));
  float *lg = read_host(ctx, dnacl_model_output(m));
  float got[6], want[6];
  for (int k = 0; k < nv; k++) {
    double f = lg[(size_t)(k + 1) * T + target], f0 = lg[target];
    if (output == DNACL_EXPLAIN_PROB) f = 1 / (1 + exp(-f)), f0 = 1 / (1 + exp(-f0));
    want[k] = (float)(f - f0);
    got[k] = out[(size_t)bases[k] * L + pos[k]];
  }
  /* The same forward on other batch sizes: only GEMM blocking can differ, ~1e-7 of the
   * logits. */
  compare_host(label, got, want, nv, 1e-7 + 1e-4 * max_abs(want, nv), 1e-4);
  free(lg);
  free(rows);
  dnacl_tensor_free(&t);
}

/* Naive and incremental ISM of n sequences of a model; they agree to 1e-4 relative to the
 * map's largest entry (the naive method's own rounding: two forwards of ~1e-7 relative
 * error each, subtracted). */
static void compare_methods(dnacl_ctx *ctx, const char *label, dnacl_model *m, int n, int target,
                            dnacl_explain_output output, int expect_incremental) {
  const int L = m->length;
  const size_t N = (size_t)n * 4 * L;
  float *x = sequences(n, L), *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  int used = -1;
  printf("%s (%s, target %d, %d sequences of %d bp):\n", label,
         output == DNACL_EXPLAIN_PROB ? "probability" : "logit", target, n, L);
  OK(dnacl_ism(ctx, m, x, n, target, output, 0, a, &used));
  CHECK(used == 0, "%s: naive ISM says it ran incrementally", label);
  check_ref_zero("naive", x, a, n, L);
  check_direct(ctx, m, x, a, target, output, "naive vs single forwards");
  OK(dnacl_ism(ctx, m, x, n, target, output, 1, b, &used));
  CHECK(used == expect_incremental, "%s: used_incremental %d, expected %d", label, used, expect_incremental);
  check_ref_zero(used ? "incremental" : "fallback", x, b, n, L);
  double scale = max_abs(a, N);
  printf("  largest |ISM| %.4g\n", scale);
  CHECK(scale > 1e-4, "%s: the ISM map is all ~0 (%g), the comparison would say nothing", label, scale);
  compare_host(used ? "incremental vs naive" : "fallback vs naive", b, a, N, 1e-4 * scale, 1e-4);
  free(x);
  free(a);
  free(b);
}

/* The parameter of m whose qualified name ends in suffix. */
static dnacl_param *param_named(dnacl_model *m, const char *suffix) {
  char q[128];
  dnacl_param *p;
  for (int i = 0; (p = dnacl_model_param(m, i, q, sizeof q)); i++) {
    size_t a = strlen(q), b = strlen(suffix);
    if (a >= b && !strcmp(q + a - b, suffix)) return p;
  }
  CHECK(0, "no parameter named *%s", suffix);
  return NULL;
}

/* Incremental ISM keeps its buffers and tables on the model between calls, but never what
 * the parameters give: it rearranges the convolution weights, the batch-norm statistics and
 * the dense weights again on every call. After each kind of parameter changes (written by
 * the caller, as a training step or a checkpoint would), the incremental map must follow
 * the naive one and differ from the map before the change; calls of other sizes (more
 * sequences, then fewer) reuse or grow the buffers. */
static void check_parameter_changes(dnacl_ctx *ctx) {
  dnacl_model *m = load(ctx, "yaml/models/baseline.yaml", -1, 30);
  const int L = m->length, n = 3;
  const size_t N = (size_t)n * 4 * L;
  float *x = sequences(n, L), *prev = malloc(N * sizeof *prev), *inc = malloc(N * sizeof *inc);
  float *nai = malloc(N * sizeof *nai);
  int used = -1;
  printf("parameters changed between calls (baseline, %d sequences of %d bp):\n", n, L);
  /* One sequence first, then three: the kept buffers grow. */
  OK(dnacl_ism(ctx, m, x, 1, 0, DNACL_EXPLAIN_LOGIT, 1, prev, &used));
  OK(dnacl_ism(ctx, m, x, n, 0, DNACL_EXPLAIN_LOGIT, 1, prev, &used));
  CHECK(used == 1, "the baseline must run incrementally");
  const char *names[] = {"conv1.w", "bn2.rvar", "bn1.gamma", "conv2.w", "dense1.w", "dense2.w", "dense3.w"};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    dnacl_param *p = param_named(m, names[k]);
    if (!p) continue;
    float *h = read_host(ctx, &p->value);
    for (size_t j = 0; j < p->value.n; j++) h[j] *= j % 2 ? 1.2f : 0.8f; /* no overall growth */
    OK(dnacl_tensor_write(ctx, &p->value, h));
    free(h);
    OK(dnacl_ism(ctx, m, x, n, 0, DNACL_EXPLAIN_LOGIT, 1, inc, &used));
    OK(dnacl_ism(ctx, m, x, n, 0, DNACL_EXPLAIN_LOGIT, 0, nai, &used));
    char label[192];
    snprintf(label, sizeof label, "after %s changed: incremental vs naive", names[k]);
    const double scale = max_abs(nai, N);
    compare_host(label, inc, nai, N, 1e-4 * scale, 1e-4);
    double moved = 0;
    for (size_t j = 0; j < N; j++) moved = fmax(moved, fabs(inc[j] - prev[j]));
    CHECK(moved > 1e-3 * scale, "%s: the incremental map did not change (%g of %g)", names[k], moved, scale);
    memcpy(prev, inc, N * sizeof *prev);
  }
  /* A new initialisation of every parameter, and one sequence (fewer than the buffers
   * hold). */
  OK(dnacl_model_init(ctx, m, 31));
  OK(dnacl_ism(ctx, m, x, 1, 0, DNACL_EXPLAIN_LOGIT, 1, inc, &used));
  OK(dnacl_ism(ctx, m, x, 1, 0, DNACL_EXPLAIN_LOGIT, 0, nai, &used));
  compare_host("after a new initialisation: incremental vs naive", inc, nai, N / n, 1e-4 * max_abs(nai, N / n), 1e-4);
  free(x);
  free(prev);
  free(inc);
  free(nai);
  dnacl_model_free(m);
}

static double clock_s(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int bench(int n) {
  dnacl_ctx *ctx = harness_ctx();
  dnacl_model *m = load(ctx, "yaml/models/baseline.yaml", -1, 7);
  const int L = m->length;
  float *x = sequences(n, L), *out = malloc((size_t)n * 4 * L * sizeof *out);
  /* Wall time is what a user waits; process CPU time (PoCL's worker threads included) is
   * also printed because on a shared machine it is the steadier measure of the work. */
  double ms[2], cpu[2];
  int used[2];
  for (int inc = 0; inc < 2; inc++) {
    /* Warm-up with the same sequences: PoCL compiles each kernel again for every new
     * work-group size, and the batch sizes depend on n. */
    OK(dnacl_ism(ctx, m, x, n, 0, DNACL_EXPLAIN_LOGIT, inc, out, &used[inc]));
    double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    OK(dnacl_ism(ctx, m, x, n, 0, DNACL_EXPLAIN_LOGIT, inc, out, &used[inc]));
    ms[inc] = (clock_s(CLOCK_MONOTONIC) - t0) * 1e3 / n;
    cpu[inc] = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3 / n;
  }
  printf("{\"peer\": \"dnacl\", \"device\": \"%s\", \"model\": \"baseline\", \"length\": %d, \"sequences\": %d, "
         "\"naive_ms_per_seq\": %.2f, \"incremental_ms_per_seq\": %.2f, \"speedup\": %.1f, "
         "\"naive_cpu_ms_per_seq\": %.2f, \"incremental_cpu_ms_per_seq\": %.2f, \"used_incremental\": %d}\n",
         dnacl_ctx_device(ctx)->name, L, n, ms[0], ms[1], ms[0] / ms[1], cpu[0], cpu[1], used[1]);
  free(x);
  free(out);
  dnacl_model_free(m);
  dnacl_ctx_release(ctx);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--bench")) {
    if (argc > 3) bench_length = atoi(argv[3]);
    return bench(argc > 2 ? atoi(argv[2]) : 4);
  }
  dnacl_ctx *ctx = harness_ctx();

  dnacl_model *m = load(ctx, "yaml/models/baseline.yaml", -1, 1);
  compare_methods(ctx, "baseline", m, 3, 0, DNACL_EXPLAIN_LOGIT, 1);
  compare_methods(ctx, "baseline", m, 1, 0, DNACL_EXPLAIN_PROB, 1);
  /* Arguments: refused by name, nothing written. */
  float x1[4 * 200] = {0}, o1[4 * 200];
  int used = -1;
  CHECK(dnacl_ism(ctx, m, x1, 1, 1, DNACL_EXPLAIN_LOGIT, 1, o1, &used) == DNACL_ERR_ARG && used == 0,
        "target 1 of a 1-task model must be refused");
  CHECK(dnacl_ism(ctx, m, x1, 1, 0, (dnacl_explain_output)7, 0, o1, NULL) == DNACL_ERR_ARG, "bad output kind");
  x1[5] = NAN;
  CHECK(dnacl_ism(ctx, m, x1, 1, 0, DNACL_EXPLAIN_LOGIT, 0, o1, NULL) == DNACL_ERR_ARG, "NaN input");
  CHECK(dnacl_ism(ctx, m, NULL, 0, 0, DNACL_EXPLAIN_LOGIT, 1, NULL, NULL) == DNACL_OK, "n = 0 is a no-op");
  dnacl_model_free(m);

  /* The one-pass convolution applies the activation after it itself (act_f of
   * cl/include/act_formulas.cl, the layer's formulas, on 16 lanes): every function of the ablation study through it. */
  for (int a = 0; a < DNACL_ACT_COUNT; a++) {
    char label[96];
    snprintf(label, sizeof label, "baseline, %s first layer", dnacl_act_name((dnacl_act)a));
    m = load(ctx, "yaml/models/baseline.yaml", a, 2 + (uint64_t)a);
    compare_methods(ctx, label, m, a == DNACL_ACT_EXP ? 2 : 1, 0, DNACL_EXPLAIN_LOGIT, 1);
    dnacl_model_free(m);
  }
  /* The other paths a device or a model may take: convolutions through the GEMM and
   * gather (GPUs, long windows), the one-pass convolution with four multiply-adds per pair
   * of pairs (odd windows or tap counts, dilation) instead of Karatsuba's three, and
   * without applying the layers after a convolution in its epilogue. */
  m = load(ctx, "yaml/models/baseline.yaml", -1, 20);
  setenv("DNACL_ISM_CONV", "gemm", 1);
  compare_methods(ctx, "baseline, GEMM convolutions", m, 1, 0, DNACL_EXPLAIN_LOGIT, 1);
  setenv("DNACL_ISM_CONV", "direct", 1);
  compare_methods(ctx, "baseline, direct one-pass convolutions", m, 1, 0, DNACL_EXPLAIN_LOGIT, 1);
  unsetenv("DNACL_ISM_CONV");
  setenv("DNACL_ISM_FUSE", "0", 1);
  compare_methods(ctx, "baseline, layers after convolutions unfused", m, 1, 0, DNACL_EXPLAIN_LOGIT, 1);
  unsetenv("DNACL_ISM_FUSE");
  dnacl_model_free(m);

  m = load_text(ctx, "ism_mixed.yaml", mixed_yaml, -1, 21);
  compare_methods(ctx, "mixed layers", m, 3, 1, DNACL_EXPLAIN_LOGIT, 1);
  setenv("DNACL_ISM_CONV", "gemm", 1);
  compare_methods(ctx, "mixed layers, GEMM convolutions", m, 2, 0, DNACL_EXPLAIN_PROB, 1);
  unsetenv("DNACL_ISM_CONV");
  dnacl_model_free(m);
  m = load_text(ctx, "ism_nopool.yaml", nopool_yaml, -1, 23);
  compare_methods(ctx, "convolutions without pooling", m, 2, 0, DNACL_EXPLAIN_LOGIT, 1);
  setenv("DNACL_ISM_FUSE", "0", 1);
  compare_methods(ctx, "convolutions without pooling, unfused", m, 1, 0, DNACL_EXPLAIN_PROB, 1);
  unsetenv("DNACL_ISM_FUSE");
  dnacl_model_free(m);
  m = load_text(ctx, "ism_dense_only.yaml", dense_yaml, -1, 22);
  compare_methods(ctx, "dense layers only", m, 2, 0, DNACL_EXPLAIN_LOGIT, 1);
  dnacl_model_free(m);
  /* More sequences than one chunk (64), in batches of 500 variants: several chunks, each
   * queued whole, and partial last batches. */
  setenv("DNACL_ISM_BATCH", "500", 1);
  m = load_text(ctx, "ism_nopool.yaml", nopool_yaml, -1, 24);
  compare_methods(ctx, "convolutions without pooling, 70 sequences", m, 70, 0, DNACL_EXPLAIN_LOGIT, 1);
  dnacl_model_free(m);
  unsetenv("DNACL_ISM_BATCH");

  check_parameter_changes(ctx);

  m = load(ctx, "yaml/models/cnn_deep.yaml", DNACL_ACT_EXP, 3);
  compare_methods(ctx, "cnn_deep, exponential first layer", m, 2, 5, DNACL_EXPLAIN_PROB, 1);
  dnacl_model_free(m);

  m = load(ctx, "yaml/models/residualbind.yaml", -1, 4);
  compare_methods(ctx, "residualbind", m, 2, 0, DNACL_EXPLAIN_LOGIT, 1);
  dnacl_model_free(m);

  m = load(ctx, "yaml/models/cnn_local.yaml", -1, 5);
  compare_methods(ctx, "cnn_local", m, 1, 0, DNACL_EXPLAIN_LOGIT, 1);
  dnacl_model_free(m);

  m = load(ctx, "yaml/models/add_one_transformer_block.yaml", -1, 6);
  compare_methods(ctx, "add_one_transformer_block (falls back)", m, 1, 0, DNACL_EXPLAIN_LOGIT, 0);
  dnacl_model_free(m);

  dnacl_ctx_release(ctx);
  return harness_summary();
}
