/* Max pooling: goldens (tests/golden/maxpool_*, incl. overlapping windows), ties routed to
 * the first maximum, shape errors, finite differences, determinism of the overlapping-window
 * backward, and the DeepLIFT/DeepSHAP rule of SHAP and captum (backward_rescale) against a
 * host reference, with its completeness. */
#include <stdint.h>

#include "harness.h"
#include "nn/layer.h"

static const char *const CASES[] = {"maxpool_b5_c31_l33_w2_s2", "maxpool_b1_c64_l50_w4_s4",
                                    "maxpool_b5_c4_l37_w3_s2", "maxpool_b33_c4_l9_w3_s3"};
#define N_CASES 4

/* ---- DeepLIFT rule, host reference ----------------------------------------------------
 * Per window o of a row: y = x[a], yref = xref[b] (a, b the first maxima), cross =
 * max(y, yref); dy[o] (cross - yref) is routed to a and dy[o] (y - cross) to b, summed over
 * windows; dx[l] = share[l] / (x[l] - xref[l]), 0 where |x[l] - xref[l]| < 1e-7 (the
 * difference taken in float, as the kernel does). Shares in double. *lost (may be NULL),
 * per row: the shares routed to elements whose multiplier is zeroed.
 *
 * Tolerances against the kernel: it computes the shares and the quotient in float, so each
 * multiplier is within a few float roundings of the host's; the multipliers are bounded by
 * the sum of |dy| over the windows covering the element (a share never exceeds
 * |dy| |x - xref|), here <= 3 * 2: atol 1e-5, rtol 1e-5. */
#define RESCALE_ATOL 1e-5
#define RESCALE_RTOL 1e-5

static int first_argmax(const float *row, int start, int W) {
  int best = start;
  for (int k = 1; k < W; k++)
    if (row[start + k] > row[best] || isnan(row[start + k])) best = start + k;
  return best;
}

static void rescale_host(int W, int S, int rows, int L, int lout, const float *x, const float *xr,
                         const float *dy, float *dx, double *lost) {
  double *share = malloc((size_t)L * sizeof *share);
  for (int r = 0; r < rows; r++) {
    const float *xrow = x + (size_t)r * L, *rrow = xr + (size_t)r * L;
    for (int i = 0; i < L; i++) share[i] = 0;
    for (int o = 0; o < lout; o++) {
      int a = first_argmax(xrow, o * S, W), b = first_argmax(rrow, o * S, W);
      double y = xrow[a], yref = rrow[b], cross = fmax(y, yref), g = dy[(size_t)r * lout + o];
      share[a] += g * (cross - yref);
      share[b] += g * (y - cross);
    }
    if (lost) lost[r] = 0;
    for (int i = 0; i < L; i++) {
      float d = xrow[i] - rrow[i];
      int tiny = fabsf(d) < 1e-7f;
      dx[(size_t)r * L + i] = tiny ? 0.0f : (float)(share[i] / d);
      if (tiny && lost) lost[r] += share[i];
    }
  }
  free(share);
}

/* backward_rescale on host data: forwards x and xref (as the explainers do), fills dx with
 * NaN first so an element left unwritten fails, and returns the multipliers (malloc'ed). */
static float *rescale_dev(dnacl_ctx *ctx, int W, int S, int B, int C, int L, const float *xh,
                          const float *xrh, const float *dyh) {
  dnacl_layer *l;
  OK(dnacl_maxpool_new(ctx, "poolrescale", W, S, &l));
  CHECK(l->ops->deeplift == DNACL_DEEPLIFT_RESCALE && l->ops->backward_rescale, "maxpool has its DeepLIFT rule");
  dnacl_tensor x, xr, y, yr, dy, dx;
  OK(dnacl_tensor_new(ctx, &x, B, C, L));
  OK(dnacl_tensor_new(ctx, &xr, B, C, L));
  OK(dnacl_tensor_new(ctx, &dx, B, C, L));
  dnacl_shape in = dnacl_tensor_shape(&x), out;
  OK(l->ops->infer(l, &in, &out));
  OK(dnacl_tensor_alloc(ctx, &y, 3, out.d));
  OK(dnacl_tensor_alloc(ctx, &yr, 3, out.d));
  OK(dnacl_tensor_alloc(ctx, &dy, 3, out.d));
  OK(dnacl_tensor_write(ctx, &x, xh));
  OK(dnacl_tensor_write(ctx, &xr, xrh));
  OK(dnacl_tensor_write(ctx, &dy, dyh));
  OK(l->ops->forward(l, ctx, &xr, &yr, 0));
  OK(l->ops->forward(l, ctx, &x, &y, 0));
  OK(dnacl_tensor_fill(ctx, &dx, NAN));
  OK(l->ops->backward_rescale(l, ctx, &x, &xr, &y, &yr, &dy, &dx));
  float *dxh = read_host(ctx, &dx);
  dnacl_tensor *ts[] = {&x, &xr, &y, &yr, &dy, &dx};
  for (int i = 0; i < 6; i++) dnacl_tensor_free(ts[i]);
  dnacl_layer_free(l);
  return dxh;
}

/* Forward picks one input value: exact. Backward adds at most ceil(W/S) = 2 upstream
 * gradients per element in these cases; the float32 sum of two floats is the correctly
 * rounded exact sum, which is what rounding the float64 reference gives too: exact. So both
 * are compared with zero tolerance. */
static void test_golden(dnacl_ctx *ctx, const char *name, double *worst_y, double *worst_dx) {
  dnacl_safetensors g = golden_load(name);
  int W = golden_int(&g, "W", 0), S = golden_int(&g, "S", 0);
  dnacl_layer *l;
  OK(dnacl_maxpool_new(ctx, "pool1", W, S, &l));
  dnacl_tensor x, dy, y, dx;
  golden_upload(ctx, &g, "x", &x);
  golden_upload(ctx, &g, "dy", &dy);
  dnacl_shape in = dnacl_tensor_shape(&x), out;
  OK(l->ops->infer(l, &in, &out));
  CHECK(out.ndim == 3 && out.d[0] == golden_int(&g, "B", -1) && out.d[1] == golden_int(&g, "C", -1) &&
            out.d[2] == golden_int(&g, "Lout", -1),
        "%s: inferred (%d, %d, %d)", name, out.d[0], out.d[1], out.d[2]);
  OK(dnacl_tensor_alloc(ctx, &y, out.ndim, out.d));
  OK(dnacl_tensor_alloc(ctx, &dx, x.ndim, x.shape));
  OK(dnacl_tensor_fill(ctx, &dx, NAN)); /* backward must write every element */
  char label[96];
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  snprintf(label, sizeof label, "%s forward", name);
  *worst_y = compare_golden(ctx, label, &y, &g, "y", 0, 0);
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  snprintf(label, sizeof label, "%s backward", name);
  *worst_dx = compare_golden(ctx, label, &dx, &g, "dx", 0, 0);
  /* The DeepLIFT rule on the golden's input and upstream gradient, against a reference
   * built from the same values (each row's reversal), by the host reference below. */
  CHECK(l->ops->backward_rescale != NULL, "maxpool has a DeepLIFT rule");
  const dnacl_st_tensor *xg = golden_get(&g, "x"), *dyg = golden_get(&g, "dy");
  const int B = x.shape[0], C = x.shape[1], L = x.shape[2], rows = B * C, lout = out.d[2];
  float *xrh = malloc(x.n * sizeof *xrh), *want = malloc(x.n * sizeof *want);
  for (int r = 0; r < rows; r++)
    for (int i = 0; i < L; i++) xrh[(size_t)r * L + i] = xg->data[(size_t)r * L + L - 1 - i];
  rescale_host(W, S, rows, L, lout, xg->data, xrh, dyg->data, want, NULL);
  float *got = rescale_dev(ctx, W, S, B, C, L, xg->data, xrh, dyg->data);
  snprintf(label, sizeof label, "%s DeepLIFT rule", name);
  compare_host(label, got, want, x.n, RESCALE_ATOL, RESCALE_RTOL);
  free(got);
  free(want);
  free(xrh);
  free_layer_tensors(&x, &y, &dy, &dx);
  dnacl_layer_free(l);
  dnacl_st_free(&g);
}

/* Run forward and backward on host data; returns y and dx (malloc'ed). */
static void run(dnacl_ctx *ctx, int W, int S, int B, int C, int L, const float *xh,
                const float *dyh, float **yh, float **dxh, int *lout) {
  dnacl_layer *l;
  OK(dnacl_maxpool_new(ctx, "pool", W, S, &l));
  dnacl_tensor x, y, dy, dx;
  OK(dnacl_tensor_new(ctx, &x, B, C, L));
  dnacl_shape in = dnacl_tensor_shape(&x), out;
  OK(l->ops->infer(l, &in, &out));
  *lout = out.d[2];
  OK(dnacl_tensor_alloc(ctx, &y, 3, out.d));
  OK(dnacl_tensor_alloc(ctx, &dy, 3, out.d));
  OK(dnacl_tensor_new(ctx, &dx, B, C, L));
  OK(dnacl_tensor_write(ctx, &x, xh));
  OK(dnacl_tensor_write(ctx, &dy, dyh));
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 0));
  *yh = read_host(ctx, &y);
  *dxh = read_host(ctx, &dx);
  free_layer_tensors(&x, &y, &dy, &dx);
  dnacl_layer_free(l);
}

/* Ties go to the first maximum of each window (PyTorch's rule), also when windows overlap. */
static void test_ties(dnacl_ctx *ctx) {
  /* One row of 7: windows of 3, stride 3 -> [1 1 0] [2 2 2]; the trailing 5 is in no window. */
  const float x1[7] = {1, 1, 0, 2, 2, 2, 5}, dy1[2] = {10, 20};
  float *y, *dx;
  int lout;
  run(ctx, 3, 3, 1, 1, 7, x1, dy1, &y, &dx, &lout);
  const float want_y1[2] = {1, 2}, want_dx1[7] = {10, 0, 0, 20, 0, 0, 0};
  CHECK(lout == 2, "lout %d", lout);
  compare_host("ties, W3 S3 forward", y, want_y1, 2, 0, 0);
  compare_host("ties, W3 S3 backward (first max)", dx, want_dx1, 7, 0, 0);
  free(y);
  free(dx);
  /* Overlapping, W3 S1 on a constant row of 5: windows start at 0, 1, 2; each window's first
   * element is its argmax, so dx = dy for those and 0 for the last two. */
  const float x2[5] = {3, 3, 3, 3, 3}, dy2[3] = {1, 2, 4};
  run(ctx, 3, 1, 1, 1, 5, x2, dy2, &y, &dx, &lout);
  const float want_dx2[5] = {1, 2, 4, 0, 0};
  compare_host("ties, W3 S1 backward (first max)", dx, want_dx2, 5, 0, 0);
  free(y);
  free(dx);
  /* Overlapping with one shared maximum: W3 S1, the 9 is argmax of all three windows that
   * cover it, so it receives their sum. */
  const float x3[5] = {0, 1, 9, 1, 0}, dy3[3] = {1, 2, 4};
  run(ctx, 3, 1, 1, 1, 5, x3, dy3, &y, &dx, &lout);
  const float want_y3[3] = {9, 9, 9}, want_dx3[5] = {0, 0, 7, 0, 0};
  compare_host("shared max, W3 S1 forward", y, want_y3, 3, 0, 0);
  compare_host("shared max, W3 S1 backward (sum)", dx, want_dx3, 5, 0, 0);
  free(y);
  free(dx);
  /* A NaN is the maximum of its window (PyTorch propagates it), and takes the gradient. */
  const float x6[6] = {1, NAN, 0, 2, 3, 1}, dy6[2] = {5, 6};
  run(ctx, 3, 3, 1, 1, 6, x6, dy6, &y, &dx, &lout);
  CHECK(isnan(y[0]) && y[1] == 3, "NaN propagates: y = %g %g", y[0], y[1]);
  CHECK(dx[0] == 0 && dx[1] == 5 && dx[2] == 0 && dx[4] == 6, "NaN takes the gradient");
  free(y);
  free(dx);
  /* Window = length (global max pooling), and stride > window (gaps get no gradient). */
  const float x4[6] = {-5, -1, -3, -2, -4, -6}, dy4[2] = {7, 8};
  run(ctx, 6, 1, 1, 1, 6, x4, dy4, &y, &dx, &lout);
  CHECK(lout == 1 && y[0] == -1 && dx[1] == 7 && dx[0] == 0 && dx[5] == 0, "global max pool");
  free(y);
  free(dx);
  run(ctx, 2, 4, 1, 1, 6, x4, dy4, &y, &dx, &lout);
  const float want_y5[2] = {-1, -4}, want_dx5[6] = {0, 7, 0, 0, 8, 0};
  CHECK(lout == 2, "W2 S4 on 6: lout %d", lout);
  compare_host("W2 S4 forward", y, want_y5, 2, 0, 0);
  compare_host("W2 S4 backward (gaps zero)", dx, want_dx5, 6, 0, 0);
  free(y);
  free(dx);
}

/* Every kernel path against the host's sequential scan (first_argmax): the 2-D kernels, the
 * CPU row kernels (window = stride = 2, 4, 8, 16) and the CPU wide-window kernels (window
 * > 16, stride >= window; lanes combined by a shuffle tree), with rows that end in a
 * partial chunk or after the last window. Inputs come from a grid of 5 values (ties in
 * every window), with +-0 and NaNs (sometimes two in a window, where the later must win).
 * Forward and backward pick and place single values: exact, NaN for NaN. */
static void test_host_reference(dnacl_ctx *ctx) {
  const int cfg[][3] = {{2, 2, 37}, {4, 4, 50}, {8, 8, 67},    {16, 16, 100}, {3, 3, 20},
                        {5, 7, 40}, {25, 25, 100}, {50, 50, 203}, {17, 20, 75}, {33, 33, 99},
                        {19, 19, 60}};
  const int B = 3, C = 5, rows = B * C;
  uint32_t rng = 12345u;
  for (size_t t = 0; t < sizeof cfg / sizeof *cfg; t++) {
    const int W = cfg[t][0], S = cfg[t][1], L = cfg[t][2];
    const int lout = (L - W) / S + 1;
    float *xh = malloc((size_t)rows * L * sizeof *xh), *dyh = malloc((size_t)rows * lout * sizeof *dyh);
    for (int i = 0; i < rows * L; i++) {
      rng = rng * 1664525u + 1013904223u;
      const int v = (int)(rng >> 29); /* 0..7 */
      xh[i] = v < 5 ? (float)(v - 2) : v == 5 ? -0.0f : v == 6 ? 2.0f : (rng >> 8) % 13 == 0 ? NAN : 1.0f;
    }
    for (int i = 0; i < rows * lout; i++) dyh[i] = (float)(i % 97) + 0.5f;
    float *y, *dx;
    int got_lout;
    run(ctx, W, S, B, C, L, xh, dyh, &y, &dx, &got_lout);
    CHECK(got_lout == lout, "W%d S%d L%d: lout %d, expected %d", W, S, L, got_lout, lout);
    int bad_y = 0, bad_dx = 0;
    float *want_dx = calloc((size_t)rows * L, sizeof *want_dx);
    for (int r = 0; r < rows; r++)
      for (int o = 0; o < lout; o++) {
        const float *row = xh + (size_t)r * L;
        const int a = first_argmax(row, o * S, W);
        const float want = row[a], g = y[(size_t)r * lout + o];
        if (!(isnan(want) ? isnan(g) : memcmp(&want, &g, sizeof g) == 0)) bad_y++;
        want_dx[(size_t)r * L + a] += dyh[(size_t)r * lout + o];
      }
    for (int i = 0; i < rows * L; i++) bad_dx += dx[i] != want_dx[i];
    CHECK(bad_y == 0 && bad_dx == 0, "W%d S%d L%d: %d outputs and %d gradients differ from the host scan",
          W, S, L, bad_y, bad_dx);
    printf("  host scan W%-2d S%-2d L%-3d         %s\n", W, S, L, bad_y || bad_dx ? "FAILED" : "exact");
    free(want_dx);
    free(xh);
    free(dyh);
    free(y);
    free(dx);
  }
}

static void test_shape_errors(dnacl_ctx *ctx) {
  const int cfg[][3] = {{0, 1, 10}, {2, 0, 10}, {11, 1, 10}, {-1, 2, 10}};
  for (int i = 0; i < 4; i++) {
    dnacl_layer *l;
    OK(dnacl_maxpool_new(ctx, "poolbad", cfg[i][0], cfg[i][1], &l));
    dnacl_shape in = {3, {2, 4, cfg[i][2]}}, out;
    dnacl_status s = l->ops->infer(l, &in, &out);
    CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "poolbad"),
          "window %d stride %d on length %d must be a shape error naming the layer: %s",
          cfg[i][0], cfg[i][1], cfg[i][2], dnacl_last_error());
    dnacl_layer_free(l);
  }
  dnacl_layer *l;
  OK(dnacl_maxpool_new(ctx, "pool2d", 2, 2, &l));
  dnacl_shape in2 = {2, {4, 10}}, out;
  CHECK(l->ops->infer(l, &in2, &out) == DNACL_ERR_SHAPE, "rank-2 input is a shape error");
  /* window == L is allowed: one output. */
  dnacl_shape in3 = {3, {2, 4, 2}};
  CHECK(l->ops->infer(l, &in3, &out) == DNACL_OK && out.d[2] == 1, "window == length");
  /* A wrongly sized output (8 / 2 = 4 wide, not 5) is refused before any kernel runs. */
  check_forward_refuses_size(ctx, l, 2, 3, 8, 5);
  dnacl_layer_free(l);
}

/* Finite differences with overlapping windows (W5 S2) on inputs that are a permutation of a
 * grid with spacing 0.1: a step of 1e-2 never changes an argmax, so L = sum w * y is linear
 * around x and central differences are exact up to float32 rounding of x +- eps: the
 * inputs reach |x| = 17.4, where each rounding is <= ulp(16)/2 = 9.5e-7, so the step is off
 * by up to 1.9e-6 in 2 eps = 0.02, ~1e-4 per unit of weight: atol 2e-4. */
static void test_fd(dnacl_ctx *ctx) {
  const int B = 3, C = 5, L = 23, W = 5, S = 2, LO = (L - W) / S + 1;
  const size_t n = (size_t)B * C * L, nout = (size_t)B * C * LO;
  dnacl_layer *l;
  OK(dnacl_maxpool_new(ctx, "poolfd", W, S, &l));
  dnacl_tensor x, y, dy, dx;
  OK(dnacl_tensor_new(ctx, &x, B, C, L));
  OK(dnacl_tensor_new(ctx, &y, B, C, LO));
  OK(dnacl_tensor_new(ctx, &dy, B, C, LO));
  OK(dnacl_tensor_new(ctx, &dx, B, C, L));
  float *xh = malloc(n * sizeof *xh), *w = malloc(nout * sizeof *w);
  /* i -> (i * 37) mod n is a permutation since gcd(37, 345) = 1. */
  for (size_t i = 0; i < n; i++) xh[i] = (float)((i * 37) % n) * 0.1f - 17.0f;
  for (size_t i = 0; i < nout; i++) w[i] = (float)cos(0.9 * (double)i);
  fd_forward u = {ctx, l, &x, &y, &x, xh, w, 1};
  float *grad = fd_check_input_grad("maxpool W5 S2 backward", &u, &dy, &dx, 120, 1e-2f, 2e-4, 1e-4);
  /* Deterministic: the same backward again gives the same bits. */
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 0));
  float *again = read_host(ctx, &dx);
  CHECK(memcmp(grad, again, n * sizeof(float)) == 0, "overlapping backward is deterministic");
  free(again);
  free(grad);
  free(xh);
  free(w);
  free_layer_tensors(&x, &y, &dy, &dx);
  dnacl_layer_free(l);
}

/* Per row: sum_l dx (x - xref) against sum_o dy (y - yref) (minus *lost, the shares the
 * 1e-7 threshold drops), in double. The float multipliers carry a relative error of a few
 * 1e-7 each, so the tolerance is 1e-6 of sum |dy (y - yref)| plus 1e-6 of the lost
 * shares' own scale. Returns the worst gap. */
static double completeness(const char *label, int W, int S, int rows, int L, int lout,
                           const float *x, const float *xr, const float *dy, const float *dx,
                           const double *lost) {
  double worst = 0;
  int bad = 0;
  for (int r = 0; r < rows; r++) {
    const float *xrow = x + (size_t)r * L, *rrow = xr + (size_t)r * L;
    double lhs = 0, rhs = 0, scale = 0;
    for (int i = 0; i < L; i++) lhs += (double)dx[(size_t)r * L + i] * ((double)xrow[i] - rrow[i]);
    for (int o = 0; o < lout; o++) {
      double t = (double)dy[(size_t)r * lout + o] *
                 ((double)xrow[first_argmax(xrow, o * S, W)] - rrow[first_argmax(rrow, o * S, W)]);
      rhs += t;
      scale += fabs(t);
    }
    double gap = fabs(lhs - (rhs - (lost ? lost[r] : 0)));
    if (gap > worst) worst = gap;
    if (!(gap <= 1e-6 * scale + 1e-9)) bad++;
  }
  printf("  %-40s completeness: worst |sum dx dxin - sum dy dyout| %.3g%s\n", label, worst,
         bad ? "  FAILED" : "");
  CHECK(bad == 0, "%s: completeness fails in %d of %d rows (worst %.3g)", label, bad, rows, worst);
  return worst;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static double rng_unit(void) { /* xorshift64*, in [0, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

/* Random x / xref in three regimes, overlapping and non-overlapping windows (with gaps,
 * a tail no window covers, and a window as long as the row): the kernel against the host
 * reference, completeness, and the same bits on a second call. Regimes: continuous values
 * (argmaxes of x and xref mostly differ, no ties); values on a 0.5 grid (ties in most
 * windows, so the first-maximum rule matters, and many x == xref elements, whose
 * multiplier is 0 and whose share is exactly 0); xref = x except for a perturbed third
 * (argmaxes often shared, a and b the same element). */
static void test_rescale_random(dnacl_ctx *ctx) {
  static const int cfg[][5] = {/* W, S, B, C, L */
                               {2, 2, 3, 5, 37}, {4, 4, 2, 3, 50}, {3, 3, 4, 2, 9},
                               {2, 4, 3, 2, 23}, {3, 2, 3, 5, 37}, {5, 2, 2, 3, 23},
                               {3, 1, 2, 4, 20}, {7, 1, 2, 3, 7},  {19, 4, 2, 2, 64},
                               {50, 50, 2, 3, 203}, {17, 20, 2, 2, 75}, {25, 25, 2, 2, 100}};
  const int n_cfg = (int)(sizeof cfg / sizeof *cfg);
  double worst_gap = 0;
  for (int c = 0; c < n_cfg; c++)
    for (int mode = 0; mode < 3; mode++) {
      const int W = cfg[c][0], S = cfg[c][1], B = cfg[c][2], C = cfg[c][3], L = cfg[c][4];
      const int rows = B * C, lout = (L - W) / S + 1;
      const size_t n = (size_t)rows * L, nout = (size_t)rows * lout;
      float *x = malloc(n * sizeof *x), *xr = malloc(n * sizeof *xr), *dy = malloc(nout * sizeof *dy);
      float *want = malloc(n * sizeof *want);
      double *lost = malloc((size_t)rows * sizeof *lost);
      for (size_t i = 0; i < n; i++) {
        if (mode == 0) {
          x[i] = (float)(6 * rng_unit() - 3);
          xr[i] = (float)(6 * rng_unit() - 3);
        } else if (mode == 1) {
          x[i] = (float)(0.5 * floor(9 * rng_unit()) - 2);
          xr[i] = (float)(0.5 * floor(9 * rng_unit()) - 2);
        } else {
          x[i] = (float)(4 * rng_unit() - 2);
          xr[i] = rng_unit() < 1.0 / 3 ? (float)(4 * rng_unit() - 2) : x[i];
        }
      }
      for (size_t o = 0; o < nout; o++) dy[o] = (float)(4 * rng_unit() - 2);
      rescale_host(W, S, rows, L, lout, x, xr, dy, want, lost);
      float *got = rescale_dev(ctx, W, S, B, C, L, x, xr, dy);
      char label[96];
      snprintf(label, sizeof label, "rescale W%d S%d L%d %s", W, S, L,
               mode == 0 ? "continuous" : mode == 1 ? "grid (ties)" : "xref ~ x");
      compare_host(label, got, want, n, RESCALE_ATOL, RESCALE_RTOL);
      double lost_max = 0;
      for (int r = 0; r < rows; r++) lost_max = fmax(lost_max, fabs(lost[r]));
      CHECK(lost_max == 0, "%s: no element here has 0 < |x - xref| < 1e-7, yet %.3g is lost", label,
            lost_max);
      worst_gap = fmax(worst_gap, completeness(label, W, S, rows, L, lout, x, xr, dy, got, NULL));
      float *again = rescale_dev(ctx, W, S, B, C, L, x, xr, dy);
      CHECK(!memcmp(got, again, n * sizeof *got), "%s: a second call gives other bits", label);
      /* Against itself every difference is 0: no multiplier anywhere. */
      float *self = rescale_dev(ctx, W, S, B, C, L, x, x, dy);
      int nonzero = 0;
      for (size_t i = 0; i < n; i++) nonzero += self[i] != 0.0f;
      CHECK(nonzero == 0, "%s: %d nonzero multipliers with xref == x", label, nonzero);
      free(self);
      free(again);
      free(got);
      free(want);
      free(lost);
      free(x);
      free(xr);
      free(dy);
    }
  printf("  rescale, %d window/stride cases x 3 regimes: worst completeness gap %.3g\n", n_cfg,
         worst_gap);
}

/* Small cases worked by hand, the reference's argmax winning as well as the input's. */
static void test_rescale_hand(dnacl_ctx *ctx) {
  /* W3 S3. Window 0: y = 4 (at 1), yref = 5 (at 0), cross 5: the input's argmax gets
   * 2 (5 - 5) = 0, the reference's 2 (4 - 5) = -2, over x - xref = 1 - 5: 0.5. Window 1:
   * y = 3 (at 5), yref = 2 (at 4), cross 3: 3 (3 - 2) = 3 to element 5, over 3 - 1: 1.5;
   * 0 to element 4. The trailing element 6 is in no window. Sum dx (x - xref) =
   * 0.5 (-4) + 1.5 (2) = 1 = 2 (4 - 5) + 3 (3 - 2). */
  const float x1[7] = {1, 4, 2, 0, 0, 3, 8}, r1[7] = {5, 0, 1, 0, 2, 1, 0}, dy1[2] = {2, 3};
  const float want1[7] = {0.5f, 0, 0, 0, 0, 1.5f, 0};
  float *dx = rescale_dev(ctx, 3, 3, 1, 1, 7, x1, r1, dy1);
  compare_host("rescale by hand, W3 S3", dx, want1, 7, 0, 1e-7);
  free(dx);
  /* W3 S1 on 5, overlapping: the 9 is the maximum of all three windows. As the input's
   * argmax it gets 1 (9 - 2) + 2 (9 - 0) + 4 (9 - 5) = 41, over 9 - 0. With input and
   * reference swapped it is the reference's argmax and gets 1 (2 - 9) + 2 (0 - 9) +
   * 4 (5 - 9) = -41, over 0 - 9: the same 41/9, and nothing anywhere else. */
  const float a[5] = {0, 1, 9, 1, 0}, b[5] = {2, 0, 0, 0, 5}, dy2[3] = {1, 2, 4};
  const float want2[5] = {0, 0, 41.0f / 9.0f, 0, 0};
  dx = rescale_dev(ctx, 3, 1, 1, 1, 5, a, b, dy2);
  compare_host("rescale by hand, W3 S1, input's max", dx, want2, 5, 0, 1e-6);
  free(dx);
  dx = rescale_dev(ctx, 3, 1, 1, 1, 5, b, a, dy2);
  compare_host("rescale by hand, W3 S1, reference's max", dx, want2, 5, 0, 1e-6);
  free(dx);
  /* Ties in the reference: the first maximum takes the share, as in the forward. Window
   * [3 3 1] vs reference [0 7 7]: y = 3 at 0, yref = 7 at 1 (not 2), cross 7: element 1
   * gets 1 (3 - 7) = -4 over 3 - 7: 1. */
  const float x3[3] = {3, 3, 1}, r3[3] = {0, 7, 7}, dy3[1] = {1}, want3[3] = {0, 1, 0};
  dx = rescale_dev(ctx, 3, 3, 1, 1, 3, x3, r3, dy3);
  compare_host("rescale by hand, tie in the reference", dx, want3, 3, 0, 0);
  free(dx);
  /* The 1e-7 threshold (SHAP's): x - xref = 1 - (1 - 2^-24) = 6e-8 at the input's argmax
   * gives multiplier 0 and drops its share dy (y - yref) = 5 * 6e-8 (a share is never
   * larger than dy (x - xref), so what the threshold drops is at most |dy| 1e-7 per
   * window); the host reference reports exactly that as lost. */
  const float x4[4] = {1.0f, 0.5f, 0.25f, 0.0f}, r4[4] = {nextafterf(1.0f, 0.0f), 0.75f, 0.0f, 0.5f};
  const float dy4[2] = {5, 1};
  float want4[4];
  double lost4;
  rescale_host(2, 2, 1, 4, 2, x4, r4, dy4, want4, &lost4);
  dx = rescale_dev(ctx, 2, 2, 1, 1, 4, x4, r4, dy4);
  compare_host("rescale, |x - xref| < 1e-7", dx, want4, 4, 0, 1e-6);
  CHECK(dx[0] == 0.0f && fabs(lost4 - 5.0 * (1.0 - (double)r4[0])) < 1e-20 && lost4 <= 5e-7,
        "tiny difference: dx[0] = %g, lost %g", dx[0], lost4);
  completeness("rescale, |x - xref| < 1e-7", 2, 2, 1, 4, 2, x4, r4, dy4, dx, &lost4);
  free(dx);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  double wy[N_CASES], wdx[N_CASES];
  for (int i = 0; i < N_CASES; i++) test_golden(ctx, CASES[i], &wy[i], &wdx[i]);
  test_ties(ctx);
  test_host_reference(ctx);
  test_shape_errors(ctx);
  test_fd(ctx);
  test_rescale_hand(ctx);
  test_rescale_random(ctx);
  printf("worst absolute error per golden case (forward, backward):\n");
  for (int i = 0; i < N_CASES; i++) printf("  %-28s %.3g  %.3g\n", CASES[i], wy[i], wdx[i]);
  dnacl_ctx_release(ctx);
  ctx = harness_other_class_ctx();
  for (int i = 0; i < N_CASES; i++) test_golden(ctx, CASES[i], &wy[i], &wdx[i]);
  test_ties(ctx);
  test_host_reference(ctx);
  test_rescale_random(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
