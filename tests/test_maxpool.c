/* Max pooling: goldens (tests/golden/maxpool_*, incl. overlapping windows), ties routed to
 * the first maximum, shape errors, finite differences, the DeepLIFT "max" rule, and
 * determinism of the overlapping-window backward. */
#include "harness.h"
#include "nn/layer.h"

static const char *const CASES[] = {"maxpool_b5_c31_l33_w2_s2", "maxpool_b1_c64_l50_w4_s4",
                                    "maxpool_b5_c4_l37_w3_s2", "maxpool_b33_c4_l9_w3_s3"};
#define N_CASES 4

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
  /* The DeepLIFT "max" rule is the gradient through the actual input's argmax, whatever the
   * reference: with a reference of zeros it must equal backward. */
  dnacl_tensor xr, yr;
  OK(dnacl_tensor_alloc(ctx, &xr, x.ndim, x.shape));
  OK(dnacl_tensor_alloc(ctx, &yr, y.ndim, y.shape));
  OK(dnacl_tensor_fill(ctx, &xr, 0.0f));
  OK(l->ops->forward(l, ctx, &xr, &yr, 0));
  CHECK(l->ops->backward_rescale != NULL, "maxpool has a DeepLIFT rule");
  OK(dnacl_tensor_fill(ctx, &dx, NAN));
  OK(l->ops->backward_rescale(l, ctx, &x, &xr, &y, &yr, &dy, &dx));
  snprintf(label, sizeof label, "%s DeepLIFT max rule", name);
  compare_golden(ctx, label, &dx, &g, "dx", 0, 0);
  dnacl_tensor *ts[] = {&x, &dy, &y, &dx, &xr, &yr};
  for (int i = 0; i < 6; i++) dnacl_tensor_free(ts[i]);
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
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_tensor_free(&dy);
  dnacl_tensor_free(&dx);
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
  /* A wrongly sized output is refused before any kernel runs. */
  dnacl_tensor x, y;
  OK(dnacl_tensor_new(ctx, &x, 2, 3, 8));
  OK(dnacl_tensor_new(ctx, &y, 2, 3, 5));
  dnacl_status s = l->ops->forward(l, ctx, &x, &y, 1);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "pool2d"), "output size: %s",
        dnacl_last_error());
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_layer_free(l);
}

/* Finite differences with overlapping windows (W5 S2) on inputs that are a permutation of a
 * grid with spacing 0.1: a step of 1e-2 never changes an argmax, so L = sum w * y is linear
 * around x and central differences are exact up to float32 rounding of x +- eps: the
 * inputs reach |x| = 17.4, where each rounding is <= ulp(16)/2 = 9.5e-7, so the step is off
 * by up to 1.9e-6 in 2 eps = 0.02, ~1e-4 per unit of weight: atol 2e-4. */
typedef struct fd_user {
  dnacl_ctx *ctx;
  dnacl_layer *l;
  dnacl_tensor x, y;
  float *xh, *yh, *w;
  size_t n, nout;
} fd_user;

static double fd_loss(void *user) {
  fd_user *u = user;
  OK(dnacl_tensor_write(u->ctx, &u->x, u->xh));
  OK(u->l->ops->forward(u->l, u->ctx, &u->x, &u->y, 1));
  OK(dnacl_tensor_read(u->ctx, &u->y, u->yh));
  double s = 0;
  for (size_t i = 0; i < u->nout; i++) s += (double)u->w[i] * u->yh[i];
  return s;
}

static void test_fd(dnacl_ctx *ctx) {
  const int B = 3, C = 5, L = 23, W = 5, S = 2, LO = (L - W) / S + 1;
  fd_user u = {ctx, NULL, {0}, {0}, NULL, NULL, NULL, (size_t)B * C * L, (size_t)B * C * LO};
  OK(dnacl_maxpool_new(ctx, "poolfd", W, S, &u.l));
  OK(dnacl_tensor_new(ctx, &u.x, B, C, L));
  OK(dnacl_tensor_new(ctx, &u.y, B, C, LO));
  u.xh = malloc(u.n * sizeof(float));
  u.yh = malloc(u.nout * sizeof(float));
  u.w = malloc(u.nout * sizeof(float));
  /* i -> (i * 37) mod n is a permutation since gcd(37, 345) = 1. */
  for (size_t i = 0; i < u.n; i++) u.xh[i] = (float)((i * 37) % u.n) * 0.1f - 17.0f;
  for (size_t i = 0; i < u.nout; i++) u.w[i] = (float)cos(0.9 * (double)i);
  dnacl_tensor dy, dx;
  OK(dnacl_tensor_new(ctx, &dy, B, C, LO));
  OK(dnacl_tensor_new(ctx, &dx, B, C, L));
  OK(dnacl_tensor_write(ctx, &dy, u.w));
  fd_loss(&u);
  OK(u.l->ops->backward(u.l, ctx, &u.x, &u.y, &dy, &dx, 0));
  float *grad = read_host(ctx, &dx);
  fd_check("maxpool W5 S2 backward", u.xh, u.n, grad, fd_loss, &u, 120, 1e-2f, 2e-4, 1e-4);
  /* Deterministic: the same backward again gives the same bits. */
  OK(u.l->ops->backward(u.l, ctx, &u.x, &u.y, &dy, &dx, 0));
  float *again = read_host(ctx, &dx);
  CHECK(memcmp(grad, again, u.n * sizeof(float)) == 0, "overlapping backward is deterministic");
  free(again);
  free(grad);
  free(u.xh);
  free(u.yh);
  free(u.w);
  dnacl_tensor_free(&u.x);
  dnacl_tensor_free(&u.y);
  dnacl_tensor_free(&dy);
  dnacl_tensor_free(&dx);
  dnacl_layer_free(u.l);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  double wy[N_CASES], wdx[N_CASES];
  for (int i = 0; i < N_CASES; i++) test_golden(ctx, CASES[i], &wy[i], &wdx[i]);
  test_ties(ctx);
  test_shape_errors(ctx);
  test_fd(ctx);
  printf("worst absolute error per golden case (forward, backward):\n");
  for (int i = 0; i < N_CASES; i++) printf("  %-28s %.3g  %.3g\n", CASES[i], wy[i], wdx[i]);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
