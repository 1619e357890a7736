/* dense: PyTorch goldens (tests/golden/dense_*) forward and backward, finite differences of
 * dx and dw, a double-precision host reference on the chapter's shapes and on a (B, C, L)
 * input read as (B, C*L), overwrite semantics of the parameter gradients, and shape errors
 * naming the layer. */
#include "harness.h"
#include "nn/layer.h"

static unsigned rng = 77u;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)((rng >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static double max_abs(const float *v, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++)
    if (fabs(v[i]) > m) m = fabs(v[i]);
  return m;
}

typedef struct run {
  dnacl_ctx *ctx;
  int B, In, Out, bias;
  dnacl_layer *l;
  dnacl_tensor x, y, dy, dx;
  float *xh, *wh, *dyh;
} run;

/* x3 > 0: give the layer x as (B, x3, In/x3) instead of (B, In). */
static void run_open(run *r, dnacl_ctx *ctx, int B, int In, int Out, int bias, int x3,
                     const float *x, const float *w, const float *b, const float *dy) {
  memset(r, 0, sizeof *r);
  r->ctx = ctx;
  r->B = B;
  r->In = In;
  r->Out = Out;
  r->bias = bias;
  OK(dnacl_dense_new(ctx, "denseT", In, Out, bias, &r->l));
  if (x3) {
    OK(dnacl_tensor_new(ctx, &r->x, B, x3, In / x3));
    OK(dnacl_tensor_new(ctx, &r->dx, B, x3, In / x3));
  } else {
    OK(dnacl_tensor_new(ctx, &r->x, B, In, 0));
    OK(dnacl_tensor_new(ctx, &r->dx, B, In, 0));
  }
  dnacl_shape in = dnacl_tensor_shape(&r->x), out;
  OK(r->l->ops->infer(r->l, &in, &out));
  CHECK(out.ndim == 2 && out.d[0] == B && out.d[1] == Out, "inferred (%d, %d) rank %d", out.d[0],
        out.d[1], out.ndim);
  OK(dnacl_tensor_new(ctx, &r->y, B, Out, 0));
  OK(dnacl_tensor_new(ctx, &r->dy, B, Out, 0));
  r->xh = malloc((size_t)B * In * 4);
  r->wh = malloc((size_t)Out * In * 4);
  r->dyh = malloc((size_t)B * Out * 4);
  memcpy(r->xh, x, (size_t)B * In * 4);
  memcpy(r->wh, w, (size_t)Out * In * 4);
  memcpy(r->dyh, dy, (size_t)B * Out * 4);
  dnacl_param *pw = dnacl_layer_param(r->l, "w"), *pb = dnacl_layer_param(r->l, "b");
  CHECK(pw && pw->decay == 1 && pw->trainable && pw->value.ndim == 2 &&
            pw->value.shape[0] == Out && pw->value.shape[1] == In,
        "w is a trainable, decayed (Out, In) parameter");
  CHECK(bias ? (pb && pb->decay == 0 && pb->trainable && pb->value.n == (size_t)Out) : pb == NULL,
        "b exists iff bias, trainable, not decayed");
  OK(dnacl_tensor_write(ctx, &pw->value, w));
  if (bias) OK(dnacl_tensor_write(ctx, &pb->value, b));
  OK(dnacl_tensor_write(ctx, &r->x, x));
  OK(dnacl_tensor_write(ctx, &r->dy, dy));
}

static void run_close(run *r) {
  dnacl_tensor_free(&r->x);
  dnacl_tensor_free(&r->y);
  dnacl_tensor_free(&r->dy);
  dnacl_tensor_free(&r->dx);
  dnacl_layer_free(r->l);
  free(r->xh);
  free(r->wh);
  free(r->dyh);
}

/* Tolerances: float32 sums of In (y), Out (dx) or B (dw, db) products against float64
 * references rounded to float32. For random data the error is a few 2^-24 of the result's
 * size (observed up to ~3e-7 of each tensor's largest value); atol = 1e-5 * max|reference|
 * plus rtol 1e-5 leaves a thirty-fold margin and is far below any indexing error. */
static double tol(const float *want, size_t n) { return 1e-5 * max_abs(want, n); }

static void test_golden(dnacl_ctx *ctx, const char *file, golden_worst *wst) {
  dnacl_safetensors s = golden_load(file);
  int B = golden_int(&s, "B", 0), In = golden_int(&s, "In", 0), Out = golden_int(&s, "Out", 0),
      bias = golden_int(&s, "bias", 1);
  run r;
  run_open(&r, ctx, B, In, Out, bias, 0, golden_get(&s, "x")->data, golden_get(&s, "w")->data,
           bias ? golden_get(&s, "b")->data : NULL, golden_get(&s, "dy")->data);
  forward_backward_nan_filled(ctx, r.l, &r.x, &r.y, &r.dy, &r.dx);
  char label[320];
  const char *names[4] = {"y", "dx", "dw", "db"};
  dnacl_tensor *ts[4] = {&r.y, &r.dx, &dnacl_layer_param(r.l, "w")->grad,
                         bias ? &dnacl_layer_param(r.l, "b")->grad : NULL};
  double *ws[4] = {&wst->y, &wst->dx, &wst->dw, &wst->db};
  for (int i = 0; i < 4; i++) {
    if (!ts[i]) continue;
    const dnacl_st_tensor *want = golden_get(&s, names[i]);
    snprintf(label, sizeof label, "%s %s", file, names[i]);
    double e = compare_golden(ctx, label, ts[i], &s, names[i], tol(want->data, want->n), 1e-5);
    if (e > *ws[i]) *ws[i] = e;
  }
  fd_check_linear_layer(file, ctx, r.l, &r.x, &r.y, &r.dx, r.xh, r.wh, r.dyh);
  run_close(&r);
  dnacl_st_free(&s);
}

/* Host reference in double; x3 > 0 feeds x as (B, x3, In/x3). */
static void test_reference_case(dnacl_ctx *ctx, int B, int In, int Out, int bias, int x3, int do_fd) {
  size_t nx = (size_t)B * In, nw = (size_t)Out * In, ny = (size_t)B * Out;
  float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(Out * 4), *dy = malloc(ny * 4);
  for (size_t i = 0; i < nx; i++) x[i] = frand();
  for (size_t i = 0; i < nw; i++) w[i] = frand();
  for (int i = 0; i < Out; i++) b[i] = frand();
  for (size_t i = 0; i < ny; i++) dy[i] = frand();
  float *y = calloc(ny, 4), *dx = calloc(nx, 4), *dw = calloc(nw, 4), *db = calloc(Out, 4);
  for (int bb = 0; bb < B; bb++)
    for (int o = 0; o < Out; o++) {
      double s = bias ? b[o] : 0;
      for (int i = 0; i < In; i++) s += (double)x[(size_t)bb * In + i] * w[(size_t)o * In + i];
      y[(size_t)bb * Out + o] = (float)s;
    }
  for (int bb = 0; bb < B; bb++)
    for (int i = 0; i < In; i++) {
      double s = 0;
      for (int o = 0; o < Out; o++) s += (double)dy[(size_t)bb * Out + o] * w[(size_t)o * In + i];
      dx[(size_t)bb * In + i] = (float)s;
    }
  for (int o = 0; o < Out; o++) {
    double sb = 0;
    for (int bb = 0; bb < B; bb++) sb += dy[(size_t)bb * Out + o];
    db[o] = (float)sb;
    for (int i = 0; i < In; i++) {
      double s = 0;
      for (int bb = 0; bb < B; bb++) s += (double)dy[(size_t)bb * Out + o] * x[(size_t)bb * In + i];
      dw[(size_t)o * In + i] = (float)s;
    }
  }
  run r;
  run_open(&r, ctx, B, In, Out, bias, x3, x, w, b, dy);
  forward_backward_nan_filled(ctx, r.l, &r.x, &r.y, &r.dy, &r.dx);
  char label[128];
  float *got;
  snprintf(label, sizeof label, "ref B%d %d->%d%s y", B, In, Out, x3 ? " (B,C,L)" : "");
  compare_host(label, got = read_host(ctx, &r.y), y, ny, tol(y, ny), 1e-5);
  free(got);
  snprintf(label, sizeof label, "ref B%d %d->%d%s dx", B, In, Out, x3 ? " (B,C,L)" : "");
  compare_host(label, got = read_host(ctx, &r.dx), dx, nx, tol(dx, nx), 1e-5);
  free(got);
  snprintf(label, sizeof label, "ref B%d %d->%d%s dw", B, In, Out, x3 ? " (B,C,L)" : "");
  compare_host(label, got = read_host(ctx, &dnacl_layer_param(r.l, "w")->grad), dw, nw, tol(dw, nw), 1e-5);
  free(got);
  if (bias) {
    snprintf(label, sizeof label, "ref B%d %d->%d%s db", B, In, Out, x3 ? " (B,C,L)" : "");
    compare_host(label, got = read_host(ctx, &dnacl_layer_param(r.l, "b")->grad), db, Out, tol(db, Out), 1e-5);
    free(got);
  }
  if (do_fd) {
    snprintf(label, sizeof label, "ref B%d %d->%d", B, In, Out);
    fd_check_linear_layer(label, ctx, r.l, &r.x, &r.y, &r.dx, r.xh, r.wh, r.dyh);
  }
  run_close(&r);
  free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
}

static void test_reference(dnacl_ctx *ctx) {
  test_reference_case(ctx, 32, 3200, 128, 1, 64, 0); /* the chapter's dense1, fed (B, 64, 50) */
  test_reference_case(ctx, 32, 128, 64, 1, 0, 0);    /* dense2 */
  test_reference_case(ctx, 32, 64, 1, 1, 0, 1);      /* dense3 */
  test_reference_case(ctx, 3, 17, 5, 0, 0, 1);       /* everything smaller than one tile */
  test_reference_case(ctx, 1, 1, 1, 1, 0, 0);
}

/* Parameter gradients are overwritten (same bits when repeated); param_grads = 0 leaves them
 * alone; dx = NULL is allowed. */
static void test_semantics(dnacl_ctx *ctx) {
  int B = 7, In = 40, Out = 9;
  float x[280], w[360], b[9], dy[63];
  for (int i = 0; i < 280; i++) x[i] = frand();
  for (int i = 0; i < 360; i++) w[i] = frand();
  for (int i = 0; i < 9; i++) b[i] = frand();
  for (int i = 0; i < 63; i++) dy[i] = frand();
  run r;
  run_open(&r, ctx, B, In, Out, 1, 0, x, w, b, dy);
  forward_backward_nan_filled(ctx, r.l, &r.x, &r.y, &r.dy, &r.dx);
  dnacl_param *pw = dnacl_layer_param(r.l, "w"), *pb = dnacl_layer_param(r.l, "b");
  float *dw1 = read_host(ctx, &pw->grad), *db1 = read_host(ctx, &pb->grad);
  OK(r.l->ops->backward(r.l, ctx, &r.x, &r.y, &r.dy, NULL, 1));
  float *dw2 = read_host(ctx, &pw->grad), *db2 = read_host(ctx, &pb->grad);
  CHECK(!memcmp(dw1, dw2, sizeof w) && !memcmp(db1, db2, sizeof b),
        "a second backward overwrites the parameter gradients with the same bits");
  OK(dnacl_tensor_fill(ctx, &pb->grad, 7.0f));
  OK(r.l->ops->backward(r.l, ctx, &r.x, &r.y, &r.dy, &r.dx, 0));
  float *db3 = read_host(ctx, &pb->grad);
  CHECK(db3[0] == 7.0f, "param_grads = 0 leaves parameter gradients alone");
  run_close(&r);
  free(dw1), free(db1), free(dw2), free(db2), free(db3);
}

static void test_shape_errors(dnacl_ctx *ctx) {
  dnacl_layer *l = NULL;
  dnacl_status s = dnacl_dense_new(ctx, "dense0", 0, 4, 1, &l);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "dense0") && !l, "In = 0: %s",
        dnacl_last_error());
  OK(dnacl_dense_new(ctx, "denseS", 12, 4, 1, &l));
  CHECK(l->ops->deeplift == DNACL_DEEPLIFT_LINEAR, "dense is linear for DeepLIFT");
  dnacl_shape in = {2, {5, 13}}, out;
  s = l->ops->infer(l, &in, &out);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "denseS"), "13 features: %s",
        dnacl_last_error());
  dnacl_shape in3 = {3, {5, 3, 4}};
  CHECK(l->ops->infer(l, &in3, &out) == DNACL_OK && out.ndim == 2 && out.d[1] == 4,
        "(B, 3, 4) is 12 features");
  dnacl_shape in4 = {4, {5, 3, 2, 2}};
  s = l->ops->infer(l, &in4, &out);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "denseS"), "rank 4: %s", dnacl_last_error());
  dnacl_tensor x, y;
  OK(dnacl_tensor_new(ctx, &x, 5, 12, 0));
  OK(dnacl_tensor_new(ctx, &y, 5, 5, 0));
  s = l->ops->forward(l, ctx, &x, &y, 1);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "denseS"), "wrong output size: %s",
        dnacl_last_error());
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_layer_free(l);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  golden_cases_of(ctx, "dense", test_golden, 4); /* every case of tests/golden/index.txt */
  test_reference(ctx);
  test_semantics(ctx);
  test_shape_errors(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
