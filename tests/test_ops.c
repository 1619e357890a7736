/* Shared device ops (src/nn/ops.h) and the flatten layer: the residual add against its golden
 * (tests/golden/add_*), axpby/scale/mul against host arithmetic, the deterministic sum, and
 * flatten's C-major order. */
#include <stdint.h>

#include "harness.h"
#include "nn/layer.h"
#include "nn/ops.h"

static uint32_t rng = 88172645u;
static float urand(void) { /* uniform in (-1, 1) */
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return (float)(((rng >> 8) + 0.5) / 8388608.0 - 1.0);
}

static void upload(dnacl_ctx *ctx, dnacl_tensor *t, int d0, int d1, int d2, const float *h) {
  OK(dnacl_tensor_new(ctx, t, d0, d1, d2));
  OK(dnacl_tensor_write(ctx, t, h));
}

/* y = x + x2 and its backward dx = dx2 = dy. The float32 sum of two floats is the correctly
 * rounded exact sum, the same as rounding the float64 reference: exact, zero tolerance. */
static void test_add_golden(dnacl_ctx *ctx, double *worst_y, double *worst_dx) {
  const char *name = "add_b5_c7_l33";
  dnacl_safetensors g = golden_load(name);
  dnacl_tensor x, x2, dy, y, dx, dx2;
  golden_upload(ctx, &g, "x", &x);
  golden_upload(ctx, &g, "x2", &x2);
  golden_upload(ctx, &g, "dy", &dy);
  OK(dnacl_tensor_alloc(ctx, &y, x.ndim, x.shape));
  OK(dnacl_tensor_alloc(ctx, &dx, x.ndim, x.shape));
  OK(dnacl_tensor_alloc(ctx, &dx2, x.ndim, x.shape));
  OK(dnacl_op_add(ctx, &x, &x2, &y));
  *worst_y = compare_golden(ctx, "add forward", &y, &g, "y", 0, 0);
  OK(dnacl_op_add_backward(ctx, &dy, &dx, &dx2));
  *worst_dx = compare_golden(ctx, "add backward dx", &dx, &g, "dx", 0, 0);
  double w2 = compare_golden(ctx, "add backward dx2", &dx2, &g, "dx2", 0, 0);
  if (w2 > *worst_dx) *worst_dx = w2;
  OK(dnacl_op_add_backward(ctx, &dy, NULL, NULL)); /* nothing wanted: fine */
  /* In place: y aliasing an input, as a residual accumulation does. */
  OK(dnacl_tensor_copy(ctx, &y, &x));
  OK(dnacl_op_add(ctx, &y, &x2, &y));
  compare_golden(ctx, "add in place", &y, &g, "y", 0, 0);
  /* A different shape with the same count (a flattened view) is fine; another count is not. */
  int flat[2] = {x.shape[0], x.shape[1] * x.shape[2]};
  dnacl_tensor v = dnacl_tensor_view(&x2, 2, flat);
  OK(dnacl_op_add(ctx, &x, &v, &y));
  compare_golden(ctx, "add with a flattened view", &y, &g, "y", 0, 0);
  dnacl_tensor small;
  OK(dnacl_tensor_new(ctx, &small, 3, 0, 0));
  CHECK(dnacl_op_add(ctx, &x, &small, &y) == DNACL_ERR_SHAPE, "count mismatch is a shape error");
  dnacl_tensor *ts[] = {&x, &x2, &dy, &y, &dx, &dx2, &small};
  for (int i = 0; i < 7; i++) dnacl_tensor_free(ts[i]);
  dnacl_st_free(&g);
}

/* axpby, scale and mul against the same arithmetic in double on the host. With
 * -cl-mad-enable a*x + b*y may be fused or not, so one product may be unrounded: the error is
 * at most ~2 ulp of max(|a x|, |b y|); inputs are in (-1, 1) and |a|, |b| <= 2, so atol 5e-7
 * on top of rtol 2.4e-7 (2 ulp) covers cancellation. Scale and mul round once: 1 ulp. */
static void test_blas1(dnacl_ctx *ctx) {
  const int B = 3, C = 17, L = 101, n = B * C * L;
  float *xh = malloc(n * sizeof *xh), *yh = malloc(n * sizeof *yh), *want = malloc(n * sizeof *want);
  for (int i = 0; i < n; i++) {
    xh[i] = urand();
    yh[i] = urand();
  }
  dnacl_tensor x, y, z;
  upload(ctx, &x, B, C, L, xh);
  upload(ctx, &y, B, C, L, yh);
  OK(dnacl_tensor_new(ctx, &z, B, C, L));
  const float a = 1.75f, b = -0.625f;
  OK(dnacl_op_axpby(ctx, a, &x, b, &y));
  for (int i = 0; i < n; i++) want[i] = (float)((double)a * xh[i] + (double)b * yh[i]);
  float *got = read_host(ctx, &y);
  compare_host("axpby", got, want, n, 5e-7, 2.4e-7);
  free(got);
  /* beta = 0: y is overwritten, a NaN in it does not survive (BLAS convention). */
  OK(dnacl_tensor_fill(ctx, &y, NAN));
  OK(dnacl_op_axpby(ctx, a, &x, 0.0f, &y));
  for (int i = 0; i < n; i++) want[i] = (float)((double)a * xh[i]);
  got = read_host(ctx, &y);
  compare_host("axpby with beta = 0 over NaN", got, want, n, 0, 1.2e-7);
  free(got);
  /* Gradient accumulation: y = x + y twice from zero gives 2x exactly. */
  OK(dnacl_tensor_fill(ctx, &y, 0.0f));
  OK(dnacl_op_axpby(ctx, 1.0f, &x, 1.0f, &y));
  OK(dnacl_op_axpby(ctx, 1.0f, &x, 1.0f, &y));
  for (int i = 0; i < n; i++) want[i] = 2.0f * xh[i];
  got = read_host(ctx, &y);
  compare_host("axpby accumulation", got, want, n, 0, 0);
  free(got);

  OK(dnacl_op_scale(ctx, &x, -3.5f, &z));
  for (int i = 0; i < n; i++) want[i] = -3.5f * xh[i]; /* exact product rounded once, as on the device */
  got = read_host(ctx, &z);
  compare_host("scale", got, want, n, 0, 0);
  free(got);
  OK(dnacl_op_scale(ctx, &z, 0.5f, &z)); /* in place */
  for (int i = 0; i < n; i++) want[i] = -1.75f * xh[i];
  got = read_host(ctx, &z);
  compare_host("scale in place", got, want, n, 0, 0);
  free(got);

  OK(dnacl_tensor_write(ctx, &y, yh));
  OK(dnacl_op_mul(ctx, &x, &y, &z));
  for (int i = 0; i < n; i++) want[i] = xh[i] * yh[i];
  got = read_host(ctx, &z);
  compare_host("mul", got, want, n, 0, 0);
  free(got);

  dnacl_tensor bad;
  OK(dnacl_tensor_new(ctx, &bad, 7, 0, 0));
  CHECK(dnacl_op_axpby(ctx, 1, &x, 1, &bad) == DNACL_ERR_SHAPE, "axpby count mismatch");
  CHECK(dnacl_op_scale(ctx, &x, 1, &bad) == DNACL_ERR_SHAPE, "scale count mismatch");
  CHECK(dnacl_op_mul(ctx, &x, &bad, &z) == DNACL_ERR_SHAPE, "mul count mismatch");
  dnacl_tensor_free(&bad);
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_tensor_free(&z);
  free(xh);
  free(yh);
  free(want);
}

/* The sum against a float64 host sum. Each Kahan partial is within ~1 ulp of its exact value
 * (6e-8 relative) and the double host stage adds nothing of note, so the error is at most
 * ~1.2e-7 of sum |x| (measured ~1e-10, the per-partial errors being random): tolerance
 * 2e-7 of sum |x|. Sizes cover n = 1 and sizes below, at and above the 16384 partials,
 * non-multiples included. A shifted input (mean 1000, small spread) is the hard case for
 * float summation: large running sums, small addends. Every size is summed twice: identical
 * bits. */
static void test_sum(dnacl_ctx *ctx) {
  const int sizes[] = {1, 5, 33, 16383, 16384, 16385, 100003, 1 << 20};
  for (int k = 0; k < 8; k++) {
    for (int shifted = 0; shifted < 2; shifted++) {
      int n = sizes[k];
      float *h = malloc((size_t)n * sizeof *h);
      double ref = 0, abs_sum = 0;
      for (int i = 0; i < n; i++) {
        h[i] = shifted ? 1000.0f + urand() : urand();
        ref += h[i];
        abs_sum += fabs(h[i]);
      }
      dnacl_tensor t;
      OK(dnacl_tensor_new(ctx, &t, n, 0, 0));
      OK(dnacl_tensor_write(ctx, &t, h));
      double s1, s2;
      float f;
      OK(dnacl_op_sum_f64(ctx, &t, &s1));
      OK(dnacl_op_sum_f64(ctx, &t, &s2));
      OK(dnacl_op_sum(ctx, &t, &f));
      double err = fabs(s1 - ref);
      printf("  sum n = %-8d%s  error %.3g (%.2g of sum|x|)\n", n, shifted ? " (mean 1000)" : "            ",
             err, err / abs_sum);
      CHECK(err <= 2e-7 * abs_sum, "sum of %d: %.17g vs %.17g", n, s1, ref);
      CHECK(memcmp(&s1, &s2, sizeof s1) == 0, "sum of %d is not deterministic", n);
      CHECK(f == (float)s1, "float sum is the double sum rounded");
      dnacl_tensor_free(&t);
      free(h);
    }
  }
}

/* Flatten: (B, C, L) -> (B, C*L), feature c*L + l; values unchanged; backward reshapes. */
static void test_flatten(dnacl_ctx *ctx) {
  const int B = 3, C = 5, L = 7, n = B * C * L;
  dnacl_layer *l;
  OK(dnacl_flatten_new(ctx, "flat", &l));
  CHECK(!strcmp(l->ops->kind, "flatten") && l->ops->deeplift == DNACL_DEEPLIFT_LINEAR,
        "flatten is linear for DeepLIFT");
  dnacl_shape in = {3, {B, C, L}}, out;
  OK(l->ops->infer(l, &in, &out));
  CHECK(out.ndim == 2 && out.d[0] == B && out.d[1] == C * L, "flatten shape (%d, %d)", out.d[0],
        out.d[1]);
  dnacl_shape in2 = {2, {B, 9}};
  OK(l->ops->infer(l, &in2, &out));
  CHECK(out.ndim == 2 && out.d[1] == 9, "rank 2 passes through");
  dnacl_shape in1 = {1, {B}};
  CHECK(l->ops->infer(l, &in1, &out) == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "flat"),
        "rank 1 is a shape error naming the layer");
  float *h = malloc(n * sizeof *h);
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < L; i++) h[(b * C + c) * L + i] = (float)(1000 * b + 10 * c + i);
  dnacl_tensor x, y, dx;
  upload(ctx, &x, B, C, L, h);
  OK(dnacl_tensor_new(ctx, &y, B, C * L, 0));
  OK(dnacl_tensor_new(ctx, &dx, B, C, L));
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  float *got = read_host(ctx, &y);
  int bad = 0;
  for (int b = 0; b < B; b++)
    for (int f = 0; f < C * L; f++) bad += got[b * C * L + f] != (float)(1000 * b + 10 * (f / L) + f % L);
  CHECK(bad == 0, "flatten is C-major: feature c*L + l (%d wrong)", bad);
  free(got);
  OK(l->ops->backward(l, ctx, &x, &y, &y, &dx, 1));
  got = read_host(ctx, &dx);
  CHECK(memcmp(got, h, n * sizeof *h) == 0, "flatten backward restores (B, C, L)");
  free(got);
  /* Zero-copy: a view of the input as the output. */
  int fshape[2] = {B, C * L};
  dnacl_tensor v = dnacl_tensor_view(&x, 2, fshape);
  OK(l->ops->forward(l, ctx, &x, &v, 1));
  OK(l->ops->backward(l, ctx, &x, &v, &v, NULL, 1));
  dnacl_tensor wrong;
  OK(dnacl_tensor_new(ctx, &wrong, B, C * L + 1, 0));
  CHECK(l->ops->forward(l, ctx, &x, &wrong, 1) == DNACL_ERR_SHAPE, "flatten size mismatch");
  dnacl_tensor_free(&wrong);
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_tensor_free(&dx);
  free(h);
  dnacl_layer_free(l);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  double wy, wdx;
  test_add_golden(ctx, &wy, &wdx);
  test_blas1(ctx);
  test_sum(ctx);
  test_flatten(ctx);
  printf("worst absolute error per golden case (forward, backward):\n");
  printf("  add_b5_c7_l33  %.3g  %.3g\n", wy, wdx);
  dnacl_ctx_release(ctx);
  ctx = harness_other_class_ctx();
  test_add_golden(ctx, &wy, &wdx);
  test_blas1(ctx);
  test_sum(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
