/* Activations: forward and backward against the PyTorch goldens (tests/golden/act_*),
 * a float64 host reference over a grid reaching the saturated tails, finite differences of
 * every backward, and the DeepLIFT rescale rule (completeness per element, fallback to the
 * gradient when x == xref). */
#include <stdint.h>

#include "harness.h"
#include "nn/layer.h"

static const char *const ACTS[] = {"relu", "exponential", "gelu_tanh", "gelu_erf", "sigmoid",
                                   "tanh", "softplus", "elu", "linear"};
#define N_ACTS (int)(sizeof ACTS / sizeof ACTS[0])

/* Small deterministic generator for test inputs (xorshift32 + Box-Muller). */
static uint32_t rng = 2463534242u;
static float urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return (float)((rng >> 8) + 0.5) * (1.0f / 16777216.0f);
}
static float nrand(void) {
  float u = urand(), v = urand();
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* ---- float64 host reference --------------------------------------------------------- */

static double sig64(double z) { return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

static double ref_f(int a, double x) {
  const double k = 0.7978845608028654, c = 0.044715;
  switch (a) {
    case DNACL_ACT_LINEAR: return x;
    case DNACL_ACT_RELU: return x > 0 ? x : 0;
    case DNACL_ACT_EXP: return exp(x);
    case DNACL_ACT_GELU_TANH: return x * sig64(2 * k * (x + c * x * x * x));
    case DNACL_ACT_GELU_ERF: return 0.5 * x * erfc(-x / sqrt(2.0));
    case DNACL_ACT_SIGMOID: return sig64(x);
    case DNACL_ACT_TANH: return tanh(x);
    case DNACL_ACT_SOFTPLUS: return x > 20 ? x : log1p(exp(x));
    case DNACL_ACT_ELU: return x > 0 ? x : expm1(x);
  }
  return NAN;
}

static double ref_df(int a, double x) {
  const double k = 0.7978845608028654, c = 0.044715;
  switch (a) {
    case DNACL_ACT_LINEAR: return 1;
    case DNACL_ACT_RELU: return x > 0 ? 1 : 0;
    case DNACL_ACT_EXP: return exp(x);
    case DNACL_ACT_GELU_TANH: {
      if (fabs(x) > 40) return x > 0 ? 1 : 0; /* x^3 would overflow nothing, but s*(1-s) = 0 */
      double u = k * (x + c * x * x * x);
      return sig64(2 * u) + x * 2 * k * (1 + 3 * c * x * x) * sig64(2 * u) * sig64(-2 * u);
    }
    case DNACL_ACT_GELU_ERF:
      return 0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) * 0.3989422804014327 /* 1/sqrt(2 pi) */;
    case DNACL_ACT_SIGMOID: return sig64(x) * sig64(-x);
    case DNACL_ACT_TANH: return 4 * sig64(2 * x) * sig64(-2 * x);
    case DNACL_ACT_SOFTPLUS: return x > 20 ? 1 : sig64(x);
    case DNACL_ACT_ELU: return x > 0 ? 1 : exp(x);
  }
  return NAN;
}

/* ---- names ------------------------------------------------------------------------ */

static void test_names(dnacl_ctx *ctx) {
  for (int a = 0; a < DNACL_ACT_COUNT; a++)
    CHECK(dnacl_act_from_name(dnacl_act_name((dnacl_act)a)) == a, "name round trip of %d (%s)", a,
          dnacl_act_name((dnacl_act)a));
  CHECK(dnacl_act_from_name("gelu") == DNACL_ACT_GELU_TANH, "gelu means the tanh approximation");
  CHECK(dnacl_act_from_name("exponential") == DNACL_ACT_EXP, "exponential");
  CHECK(dnacl_act_from_name("swish") == -1 && dnacl_act_from_name("") == -1 &&
            dnacl_act_from_name(NULL) == -1, "unknown names are -1");
  dnacl_layer *l = NULL;
  dnacl_status s = dnacl_act_new(ctx, "bad", (dnacl_act)DNACL_ACT_COUNT, &l);
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "bad"), "out-of-range activation: %s",
        dnacl_last_error());
  for (int a = 0; a < DNACL_ACT_COUNT; a++) {
    OK(dnacl_act_new(ctx, "act", (dnacl_act)a, &l));
    CHECK(!strcmp(l->ops->kind, dnacl_act_name((dnacl_act)a)), "kind names the function: %s",
          l->ops->kind);
    /* Linear is exact under backward; every other function has the rescale rule. */
    const dnacl_deeplift_rule want = a == DNACL_ACT_LINEAR ? DNACL_DEEPLIFT_LINEAR : DNACL_DEEPLIFT_RESCALE;
    CHECK(l->ops->deeplift == want && (l->ops->backward_rescale != NULL) == (want == DNACL_DEEPLIFT_RESCALE),
          "DeepLIFT rule of %s", l->ops->kind);
    dnacl_layer_free(l);
  }
}

/* ---- goldens ------------------------------------------------------------------------ */

/* Tolerances against PyTorch's float64 results rounded to float32. Our kernels run in
 * float32 with OpenCL's built-in exp/erfc/tanh/log1p/expm1 (spec bound 3-16 ulp, PoCL's are
 * ~1 ulp), plus a few roundings in the formula, so a relative error of a few 1e-7 is
 * expected; rtol 2e-6 leaves a margin of ~10x over what we measure (see the printed worst
 * errors) without letting any formula mistake through. The atol covers values that are
 * zero or tiny in the reference (saturated tails: gelu(-25), sigmoid'(25) ~ 1e-11), where
 * a relative measure means nothing, and gelu's derivative near its zero at x ~ -0.75, where
 * two terms of ~0.2 cancel, so float32 leaves an absolute error of a few 1e-8 (relative
 * 8e-6 of a 1e-3 result). relu and linear are exact (atol = rtol = 0). */
static void test_golden(dnacl_ctx *ctx, const char *act, double *worst_y, double *worst_dx) {
  char file[64];
  snprintf(file, sizeof file, "act_%s", act);
  dnacl_safetensors g = golden_load(file);
  int a = dnacl_act_from_name(golden_str(&g, "act", "?"));
  CHECK(a >= 0, "golden %s names activation '%s'", file, golden_str(&g, "act", "?"));
  if (a < 0) return;
  int exact = a == DNACL_ACT_RELU || a == DNACL_ACT_LINEAR;
  double atol = exact ? 0 : 1e-7, rtol = exact ? 0 : 2e-6;
  dnacl_layer *l;
  OK(dnacl_act_new(ctx, act, (dnacl_act)a, &l));
  dnacl_tensor x, dy, y, dx;
  golden_same_shape_tensors(ctx, &g, l, act, &x, &dy, &y, &dx);
  char label[96];
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  snprintf(label, sizeof label, "%s forward", act);
  *worst_y = compare_golden(ctx, label, &y, &g, "y", atol, rtol);
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  snprintf(label, sizeof label, "%s backward", act);
  *worst_dx = compare_golden(ctx, label, &dx, &g, "dx", atol, rtol);
  /* Eval mode is the same function. */
  OK(dnacl_tensor_fill(ctx, &y, NAN));
  OK(l->ops->forward(l, ctx, &x, &y, 0));
  snprintf(label, sizeof label, "%s forward (eval)", act);
  compare_golden(ctx, label, &y, &g, "y", atol, rtol);
  /* dx == NULL is allowed (first layer, input gradient not wanted). */
  OK(l->ops->backward(l, ctx, &x, &y, &dy, NULL, 1));
  free_layer_tensors(&x, &y, &dy, &dx);
  dnacl_layer_free(l);
  dnacl_st_free(&g);
}

/* ---- float64 reference over a grid with extreme values ----------------------------- */

/* Saturated tails, PyTorch's softplus threshold, overflow of x^3 in gelu, exp's overflow
 * point, and a dense grid in between. Everything except exponential(>88) must stay finite
 * and agree with the float64 reference to float32 accuracy:
 *   - results >= 1e-12 in magnitude: rtol 4e-6, a few ulp as for the goldens; derivatives
 *     also atol 3e-8, because gelu's derivative is a sum of terms of ~0.2 that cancel near
 *     its zero at x ~ -0.75, leaving ~2 ulp(0.2) = 3e-8 of absolute error;
 *   - tails 1e-30 .. 1e-12: f ~ e^-t with t = 27..69, and each float32 rounding in the
 *     computation of the exponent (gelu_tanh's has ~5: x^3, the products, the sum) is a
 *     relative error of ~t * 6e-8 <= 4e-6 in the result: rtol 2e-5 (measured: 6e-6);
 *   - below 1e-30 only atol 1e-30: such values are zero to anything they are added to. */
static void test_grid(dnacl_ctx *ctx) {
  static const float extremes[] = {-1e30f, -1e15f, -1e4f, -100, -88, -30, -25, -20.5f, -20,
                                   -19.5f, -16.5f, -16, -15.5f, -9, -1e-3f, -1e-30f, 0, 1e-30f,
                                   1e-3f, 9, 15.5f, 16, 16.5f, 19.5f, 20, 20.5f, 25, 30, 88,
                                   100, 1e4f, 1e15f, 1e30f};
  int ne = (int)(sizeof extremes / sizeof extremes[0]);
  int n = ne + 1201;
  float *xh = malloc((size_t)n * sizeof *xh), *ones = malloc((size_t)n * sizeof *ones);
  double *wy = malloc((size_t)n * sizeof *wy), *wd = malloc((size_t)n * sizeof *wd);
  float *fy = malloc((size_t)n * sizeof *fy), *fd = malloc((size_t)n * sizeof *fd);
  for (int i = 0; i < ne; i++) xh[i] = extremes[i];
  for (int i = 0; i < 1201; i++) xh[ne + i] = -30.0f + 0.05f * (float)i;
  for (int i = 0; i < n; i++) ones[i] = 1.0f;
  dnacl_tensor x, y, dy, dx;
  OK(dnacl_tensor_new(ctx, &x, n, 0, 0));
  OK(dnacl_tensor_new(ctx, &y, n, 0, 0));
  OK(dnacl_tensor_new(ctx, &dy, n, 0, 0));
  OK(dnacl_tensor_new(ctx, &dx, n, 0, 0));
  OK(dnacl_tensor_write(ctx, &x, xh));
  OK(dnacl_tensor_write(ctx, &dy, ones));
  for (int a = 0; a < DNACL_ACT_COUNT; a++) {
    dnacl_layer *l;
    OK(dnacl_act_new(ctx, "grid", (dnacl_act)a, &l));
    OK(l->ops->forward(l, ctx, &x, &y, 1));
    OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
    float *gy = read_host(ctx, &y), *gd = read_host(ctx, &dx);
    int m = 0, nonfinite = 0;
    for (int i = 0; i < n; i++) {
      double ry = ref_f(a, xh[i]), rd = ref_df(a, xh[i]);
      /* exp overflows in float32 where the double does not: compare in range only. */
      if (!isfinite((float)ry) || !isfinite((float)rd)) {
        CHECK(a == DNACL_ACT_EXP, "%s: reference overflows at %g", dnacl_act_name(a), xh[i]);
        CHECK(isinf(gy[i]) && gy[i] > 0, "exp(%g) should overflow to +inf, got %g", xh[i], gy[i]);
        continue;
      }
      if (!isfinite(gy[i]) || !isfinite(gd[i])) {
        if (!nonfinite) printf("  %s(%g) = %g, f' = %g\n", dnacl_act_name(a), xh[i], gy[i], gd[i]);
        nonfinite++;
      }
      fy[m] = gy[i];
      fd[m] = gd[i];
      wy[m] = ry;
      wd[m] = rd;
      m++;
    }
    CHECK(nonfinite == 0, "%s: %d non-finite values or derivatives", dnacl_act_name(a), nonfinite);
    float *fwy = malloc((size_t)m * sizeof *fwy), *fwd = malloc((size_t)m * sizeof *fwd);
    for (int i = 0; i < m; i++) {
      fwy[i] = (float)wy[i];
      fwd[i] = (float)wd[i];
    }
    /* Split into bulk and tail by the reference's magnitude (see the tolerances above). */
    for (int part = 0; part < 2; part++) {
      float *gf[2] = {fy, fd}, *rf[2] = {fwy, fwd};
      for (int q = 0; q < 2; q++) {
        int k = 0;
        float *got = malloc((size_t)m * sizeof *got), *want = malloc((size_t)m * sizeof *want);
        for (int i = 0; i < m; i++)
          if ((fabsf(rf[q][i]) >= 1e-12f) == (part == 0)) {
            got[k] = gf[q][i];
            want[k++] = rf[q][i];
          }
        char label[96];
        snprintf(label, sizeof label, "%s grid %s vs float64, %s", dnacl_act_name(a),
                 q ? "f'" : "f", part ? "tail" : "bulk");
        if (k) compare_host(label, got, want, (size_t)k, q && !part ? 3e-8 : 1e-30, part ? 2e-5 : 4e-6);
        free(got);
        free(want);
      }
    }
    free(fwy);
    free(fwd);
    free(gy);
    free(gd);
    dnacl_layer_free(l);
  }
  free_layer_tensors(&x, &y, &dy, &dx);
  free(xh);
  free(ones);
  free(wy);
  free(wd);
  free(fy);
  free(fd);
}

/* ---- finite differences ----------------------------------------------------------- */

/* L(x) = sum_i dy_i f(x_i), evaluated on the device; its gradient is backward(dy). Central
 * differences with step 1e-2 on the golden inputs. Only element i changes between
 * the two evaluations, so the other terms cancel exactly and the error is truncation,
 * eps^2/6 |f'''| <= ~6e-4 for exp near x = 3.5, plus float32 rounding of one y,
 * ~2 ulp(y)/(2 eps) <= ~4e-4 there; atol = rtol = 2e-3 covers both with margin (measured:
 * <= 2e-4). Inputs within 0.05 of 0 are pushed out to |x| >= 0.05 > eps, so no probe
 * straddles relu's kink or elu's jump in f'' (which would cost O(eps) = 1e-2). */
static void test_fd(dnacl_ctx *ctx, const char *act) {
  char file[64];
  snprintf(file, sizeof file, "act_%s", act);
  dnacl_safetensors g = golden_load(file);
  const dnacl_st_tensor *gx = golden_get(&g, "x");
  dnacl_layer *l;
  OK(dnacl_act_new(ctx, act, (dnacl_act)dnacl_act_from_name(act), &l));
  float *xh = malloc(gx->n * sizeof *xh);
  memcpy(xh, gx->data, gx->n * sizeof *xh);
  for (size_t i = 0; i < gx->n; i++)
    if (fabsf(xh[i]) < 0.05f) xh[i] = xh[i] < 0 ? -0.05f - xh[i] : 0.05f + xh[i];
  dnacl_tensor x, dy, y, dx;
  golden_same_shape_tensors(ctx, &g, l, act, &x, &dy, &y, &dx);
  fd_forward u = {ctx, l, &x, &y, &x, xh, golden_get(&g, "dy")->data, 1};
  char label[96];
  snprintf(label, sizeof label, "%s backward", act);
  free(fd_check_input_grad(label, &u, &dy, &dx, 60, 1e-2f, 2e-3, 2e-3));
  free(xh);
  free_layer_tensors(&x, &y, &dy, &dx);
  dnacl_layer_free(l);
  dnacl_st_free(&g);
}

/* ---- DeepLIFT rescale -------------------------------------------------------------- */

/* For an elementwise f the rescale multiplier m = (y - yref)/(x - xref) makes each
 * contribution dx_i (x_i - xref_i) equal dy_i (y_i - yref_i) (completeness, element by
 * element). The device computes y - yref (1 rounding), the division (<= 2.5 ulp in
 * OpenCL, ~0.5 on PoCL) and the product with dy (1 rounding); x - xref is exact or 1
 * rounding; so each contribution agrees to ~5 ulp: rtol 1e-6. The sums agree to the same
 * relative error of sum |dy (y - yref)|. */
static void test_rescale(dnacl_ctx *ctx, int a) {
  const char *act = dnacl_act_name((dnacl_act)a);
  int n = 4 * 31 * 37;
  float sd = a == DNACL_ACT_EXP ? 1.0f : 2.0f;
  float *xh = malloc(n * sizeof *xh), *rh = malloc(n * sizeof *rh), *dyh = malloc(n * sizeof *dyh);
  for (int i = 0; i < n; i++) {
    xh[i] = sd * nrand();
    rh[i] = sd * nrand();
    dyh[i] = nrand();
  }
  dnacl_layer *l;
  OK(dnacl_act_new(ctx, act, (dnacl_act)a, &l));
  dnacl_tensor x, xr, y, yr, dy, dx, g;
  OK(dnacl_tensor_new(ctx, &x, 4, 31, 37));
  OK(dnacl_tensor_new(ctx, &xr, 4, 31, 37));
  OK(dnacl_tensor_new(ctx, &y, 4, 31, 37));
  OK(dnacl_tensor_new(ctx, &yr, 4, 31, 37));
  OK(dnacl_tensor_new(ctx, &dy, 4, 31, 37));
  OK(dnacl_tensor_new(ctx, &dx, 4, 31, 37));
  OK(dnacl_tensor_new(ctx, &g, 4, 31, 37));
  OK(dnacl_tensor_write(ctx, &x, xh));
  OK(dnacl_tensor_write(ctx, &xr, rh));
  OK(dnacl_tensor_write(ctx, &dy, dyh));
  OK(l->ops->forward(l, ctx, &xr, &yr, 0));
  OK(l->ops->forward(l, ctx, &x, &y, 0));
  OK(l->ops->backward_rescale(l, ctx, &x, &xr, &y, &yr, &dy, &dx));
  float *yh = read_host(ctx, &y), *yrh = read_host(ctx, &yr), *dxh = read_host(ctx, &dx);
  float *contrib = malloc(n * sizeof *contrib), *delta = malloc(n * sizeof *delta);
  double sum_c = 0, sum_d = 0, sum_abs = 0;
  for (int i = 0; i < n; i++) {
    double c = (double)dxh[i] * ((double)xh[i] - rh[i]);
    double d = (double)dyh[i] * ((double)yh[i] - yrh[i]);
    contrib[i] = (float)c;
    delta[i] = (float)d;
    sum_c += c;
    sum_d += d;
    sum_abs += fabs(d);
  }
  char label[96];
  snprintf(label, sizeof label, "%s rescale: dx*dxin vs dy*dyout", act);
  compare_host(label, contrib, delta, (size_t)n, 1e-30, 1e-6);
  CHECK(fabs(sum_c - sum_d) <= 1e-6 * sum_abs, "%s: completeness sum %g vs %g", act, sum_c, sum_d);

  /* x == xref: the multiplier falls back to the gradient, i.e. backward's result. Same
   * formula, same float operations (the midpoint of x and x is x): rtol 1e-6 allows only
   * for a compiler contracting differently in the two kernels. */
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &g, 0));
  OK(l->ops->backward_rescale(l, ctx, &x, &x, &y, &y, &dy, &dx));
  float *gh = read_host(ctx, &g);
  free(dxh);
  dxh = read_host(ctx, &dx);
  snprintf(label, sizeof label, "%s rescale at x == xref vs gradient", act);
  compare_host(label, dxh, gh, (size_t)n, 1e-30, 1e-6);
  int nonfinite = 0;
  for (int i = 0; i < n; i++) nonfinite += !isfinite(dxh[i]);
  CHECK(nonfinite == 0, "%s: 0/0 must not reach the multiplier (%d non-finite)", act, nonfinite);

  /* |x - xref| below 1e-6 (but not 0, where representable): still the gradient, now at the
   * midpoint, which differs from x by < 5e-7; |f''| <= ~2 on |x| <= 8 (exp: e^4 on its
   * range) bounds the difference by ~1e-6 |dy| (2e-5 for exp). relu is kept off its kink. */
  for (int i = 0; i < n; i++) {
    if (a == DNACL_ACT_RELU && fabsf(xh[i]) < 1e-3f) xh[i] = 1e-3f;
    rh[i] = xh[i] + 4e-7f;
  }
  OK(dnacl_tensor_write(ctx, &x, xh));
  OK(dnacl_tensor_write(ctx, &xr, rh));
  OK(l->ops->forward(l, ctx, &x, &y, 0));
  OK(l->ops->forward(l, ctx, &xr, &yr, 0));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &g, 0));
  OK(l->ops->backward_rescale(l, ctx, &x, &xr, &y, &yr, &dy, &dx));
  free(gh);
  free(dxh);
  gh = read_host(ctx, &g);
  dxh = read_host(ctx, &dx);
  snprintf(label, sizeof label, "%s rescale at |x - xref| < 1e-6", act);
  compare_host(label, dxh, gh, (size_t)n, a == DNACL_ACT_EXP ? 2e-5 : 2e-6, 1e-5);

  free(xh);
  free(rh);
  free(dyh);
  free(yh);
  free(yrh);
  free(dxh);
  free(gh);
  free(contrib);
  free(delta);
  dnacl_tensor *ts[] = {&x, &xr, &y, &yr, &dy, &dx, &g};
  for (int i = 0; i < 7; i++) dnacl_tensor_free(ts[i]);
  dnacl_layer_free(l);
}

static void test_shape_errors(dnacl_ctx *ctx) {
  dnacl_layer *l;
  OK(dnacl_act_new(ctx, "act7", DNACL_ACT_RELU, &l));
  check_forward_refuses_size(ctx, l, 2, 3, 5, 4);
  dnacl_layer_free(l);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  test_names(ctx);
  double wy[N_ACTS], wdx[N_ACTS];
  for (int i = 0; i < N_ACTS; i++) test_golden(ctx, ACTS[i], &wy[i], &wdx[i]);
  test_grid(ctx);
  for (int i = 0; i < N_ACTS; i++)
    if (strcmp(ACTS[i], "linear")) test_fd(ctx, ACTS[i]);
  for (int a = 1; a < DNACL_ACT_COUNT; a++) test_rescale(ctx, a);
  test_shape_errors(ctx);
  printf("worst absolute error per golden case (forward, backward):\n");
  for (int i = 0; i < N_ACTS; i++) printf("  act_%-12s %.3g  %.3g\n", ACTS[i], wy[i], wdx[i]);
  dnacl_ctx_release(ctx);
  ctx = harness_other_class_ctx();
  for (int i = 0; i < N_ACTS; i++) test_golden(ctx, ACTS[i], &wy[i], &wdx[i]);
  test_grid(ctx);
  for (int a = 1; a < DNACL_ACT_COUNT; a++) test_rescale(ctx, a);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
