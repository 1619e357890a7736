/* Losses: sigmoid BCE on logits against PyTorch (tests/golden/bce_*), finite differences,
 * extreme logits, soft targets, determinism and argument errors. */
#include "harness.h"
#include "train/loss.h"

typedef struct fd_user {
  dnacl_ctx *ctx;
  dnacl_tensor *x, *t;
  float *xh;
} fd_user;

static double fd_loss(void *u_) {
  fd_user *u = u_;
  float l;
  OK(dnacl_tensor_write(u->ctx, u->x, u->xh));
  OK(dnacl_bce_logits(u->ctx, u->x, u->t, &l, NULL));
  return l;
}

static void bce_case(dnacl_ctx *ctx, const char *name) {
  printf("%s\n", name);
  dnacl_safetensors g = golden_load(name);
  CHECK(!strcmp(golden_str(&g, "reduction", "?"), "mean"), "%s: reduction", name);
  CHECK(golden_get(&g, "dy")->data[0] == 1.0f, "%s: upstream gradient is 1", name);
  dnacl_tensor x, t, dx, dx2;
  golden_upload(ctx, &g, "x", &x);
  golden_upload(ctx, &g, "target", &t);
  OK(dnacl_tensor_alloc(ctx, &dx, x.ndim, x.shape));
  OK(dnacl_tensor_alloc(ctx, &dx2, x.ndim, x.shape));
  float loss = NAN, loss2 = NAN;
  OK(dnacl_bce_logits(ctx, &x, &t, &loss, &dx));
  /* The loss is a float32 mean of <= 396 terms of size ~1: relative error ~1e-7 per add, a
   * few 1e-7 in all; 2e-6 relative leaves room for exp/log1p's few-ulp error. */
  compare_host("loss", &loss, golden_get(&g, "y")->data, 1, 0, 2e-6);
  /* dx = (sigmoid(x) - t)/n elementwise: exp's few ulp plus one divide; the absolute floor
   * covers entries where sigmoid(x) - t cancels (|x| small is not the issue; t=1, x large
   * is: 1 - sigmoid(x) loses relative precision, and is tiny there). */
  compare_golden(ctx, "dx", &dx, &g, "dx", 1e-9, 1e-5);

  /* Deterministic, and the loss does not depend on whether a gradient is asked for. */
  OK(dnacl_bce_logits(ctx, &x, &t, &loss2, &dx2));
  float *a = read_host(ctx, &dx), *b = read_host(ctx, &dx2);
  CHECK(!memcmp(&loss, &loss2, sizeof loss) && !memcmp(a, b, dx.n * sizeof *a),
        "%s: not bitwise reproducible", name);
  OK(dnacl_bce_logits(ctx, &x, &t, &loss2, NULL));
  CHECK(!memcmp(&loss, &loss2, sizeof loss), "%s: loss differs without gradient", name);

  /* Finite differences of the mean loss. Curvature of the softplus is <= 1/4, so with step
   * 1e-2 the truncation error is ~1e-5 * |d3 l| / n, negligible; rounding of the float32 loss
   * (an ulp of |L| <= 2.1 is 2.4e-7, plus exp/log1p ulps) over 2e-2 gives ~2e-5 absolute. */
  fd_user u = {ctx, &x, &t, malloc(x.n * sizeof(float))};
  memcpy(u.xh, golden_get(&g, "x")->data, x.n * sizeof(float));
  fd_check("dloss/dx", u.xh, x.n, a, fd_loss, &u, x.n < 40 ? (int)x.n : 40, 1e-2f, 5e-5, 1e-3);
  free(u.xh);
  free(a);
  free(b);
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&t);
  dnacl_tensor_free(&dx);
  dnacl_tensor_free(&dx2);
  dnacl_st_free(&g);
}

/* Logits far outside the range where the naive formula works, and soft targets, against a
 * double-precision host reference. Also enough elements (n > work-group size) for every
 * work-item to sum many terms. */
static void test_extremes(dnacl_ctx *ctx) {
  printf("extreme logits and soft targets\n");
  enum { N = 1003 };
  static float x[N], t[N], dx[N], want_dx[N];
  const float special[] = {100.f, -100.f, 1e4f, -1e4f, 88.8f, -88.8f, 1e-3f, -1e-3f, 0.f, 30.f, -30.f, 17.f};
  const int ns = (int)(sizeof special / sizeof *special);
  double sum = 0;
  for (int i = 0; i < N; i++) {
    x[i] = i < 2 * ns ? special[i % ns] : (float)(6.0 * sin(1.3 * i));
    t[i] = i < ns ? 0.0f : i < 2 * ns ? 1.0f : (float)((i % 5) / 4.0); /* soft: 0, .25, ... 1 */
    double xv = x[i], tv = t[i];
    sum += fmax(xv, 0) - xv * tv + log1p(exp(-fabs(xv)));
    want_dx[i] = (float)((1.0 / (1.0 + exp(-xv)) - tv) / N);
  }
  dnacl_tensor tx, tt, tdx;
  OK(dnacl_tensor_new(ctx, &tx, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tt, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tdx, N, 0, 0));
  OK(dnacl_tensor_write(ctx, &tx, x));
  OK(dnacl_tensor_write(ctx, &tt, t));
  float loss;
  OK(dnacl_bce_logits(ctx, &tx, &tt, &loss, &tdx));
  float want = (float)(sum / N);
  CHECK(isfinite(loss), "loss must be finite with |logits| up to 1e4, got %g", (double)loss);
  /* 1003 terms of up to 1e4 summed in float32: relative error ~1e-6. */
  compare_host("loss with extreme logits", &loss, &want, 1, 0, 1e-5);
  OK(dnacl_tensor_read(ctx, &tdx, dx));
  int finite = 1;
  for (int i = 0; i < N; i++) finite &= isfinite(dx[i]);
  CHECK(finite, "gradient must be finite everywhere");
  /* A few ulp of (sigmoid - t)/n, whose size is <= 1/n ~ 1e-3: 1e-9 absolute is ~1e-6 of the
   * largest entries. */
  compare_host("dx with extreme logits", dx, want_dx, N, 1e-9, 1e-5);
  /* Saturated entries are exactly 0 or +-1/n: no NaN from inf/inf. */
  CHECK(dx[2] == 1.0f / N && dx[3] == 0.0f, "saturated gradients: %g %g", (double)dx[2], (double)dx[3]);

  /* Errors, not crashes. */
  dnacl_tensor small;
  OK(dnacl_tensor_new(ctx, &small, 7, 0, 0));
  CHECK(dnacl_bce_logits(ctx, &tx, &small, &loss, NULL) == DNACL_ERR_SHAPE, "target size mismatch");
  CHECK(strstr(dnacl_last_error(), "1003") != NULL, "error names the sizes: %s", dnacl_last_error());
  CHECK(dnacl_bce_logits(ctx, &tx, &tt, &loss, &small) == DNACL_ERR_SHAPE, "gradient size mismatch");
  dnacl_tensor_free(&small);
  dnacl_tensor_free(&tx);
  dnacl_tensor_free(&tt);
  dnacl_tensor_free(&tdx);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  bce_case(ctx, "bce_b5_t1");
  bce_case(ctx, "bce_b33_t12");
  test_extremes(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
