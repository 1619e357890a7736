/* conv1d: PyTorch goldens (tests/golden/conv1d_*) forward and backward, finite differences
 * of dx and dw, a double-precision host reference on awkward geometries (length shorter
 * than a vector, kernel longer than the input with same padding, dilation with valid
 * padding, Lout = 1), determinism and overwrite semantics of the parameter gradients,
 * and shape errors naming the layer; the kernels again with the other device class's
 * register blocks and work split.
 * `test_conv1d --bench [reps]` instead times the chapter's second convolution (64 -> 64,
 * kernel 10, same, L = 100) at batch 32 and 256: forward, backward's dx alone, its
 * parameter gradients alone, and the whole backward. Tests never assert on time. */
#include <time.h>

#include "harness.h"
#include "nn/layer.h"

/* ---- host reference (double) -------------------------------------------------------- */

typedef struct geom {
  int B, Cin, Cout, L, K, same, dil, bias, Lout, left;
} geom;

static geom make_geom(int B, int Cin, int Cout, int L, int K, int same, int dil, int bias) {
  geom g = {B, Cin, Cout, L, K, same, dil, bias, 0, 0};
  int span = dil * (K - 1);
  g.left = same ? span / 2 : 0;
  g.Lout = same ? L : L - span;
  return g;
}

/* y, dx, dw, db in double from x, w, b, dy (PyTorch's conv1d semantics). */
static void ref_conv(const geom *g, const float *x, const float *w, const float *b,
                     const float *dy, double *y, double *dx, double *dw, double *db) {
  const int B = g->B, Ci = g->Cin, Co = g->Cout, L = g->L, K = g->K, Lo = g->Lout;
  memset(dx, 0, sizeof(double) * B * Ci * L);
  memset(dw, 0, sizeof(double) * Co * Ci * K);
  memset(db, 0, sizeof(double) * Co);
  for (int bb = 0; bb < B; bb++)
    for (int o = 0; o < Co; o++)
      for (int p = 0; p < Lo; p++) {
        double s = g->bias ? b[o] : 0.0;
        double gy = dy[((size_t)bb * Co + o) * Lo + p];
        db[o] += gy;
        for (int c = 0; c < Ci; c++)
          for (int k = 0; k < K; k++) {
            int q = p + k * g->dil - g->left;
            if (q < 0 || q >= L) continue;
            size_t xi = ((size_t)bb * Ci + c) * L + q, wi = ((size_t)o * Ci + c) * K + k;
            s += (double)w[wi] * x[xi];
            dx[xi] += (double)w[wi] * gy;
            dw[wi] += (double)x[xi] * gy;
          }
        y[((size_t)bb * Co + o) * Lo + p] = s;
      }
}

static unsigned rng = 2024u;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)((rng >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* ---- running the layer ---------------------------------------------------------------- */

typedef struct run {
  dnacl_ctx *ctx;
  geom g;
  dnacl_layer *l;
  dnacl_tensor x, y, dy, dx;
  float *xh, *wh, *dyh; /* host copies; fd perturbs xh and wh */
  size_t nx, ny, nw;
} run;

static void run_open(run *r, dnacl_ctx *ctx, const geom *g, const float *x, const float *w,
                     const float *b, const float *dy) {
  memset(r, 0, sizeof *r);
  r->ctx = ctx;
  r->g = *g;
  OK(dnacl_conv1d_new(ctx, "convT", g->Cin, g->Cout, g->K, g->same, g->dil, g->bias, &r->l));
  r->nx = (size_t)g->B * g->Cin * g->L;
  r->ny = (size_t)g->B * g->Cout * g->Lout;
  r->nw = (size_t)g->Cout * g->Cin * g->K;
  OK(dnacl_tensor_new(ctx, &r->x, g->B, g->Cin, g->L));
  OK(dnacl_tensor_new(ctx, &r->dx, g->B, g->Cin, g->L));
  dnacl_shape in = dnacl_tensor_shape(&r->x), out;
  OK(r->l->ops->infer(r->l, &in, &out));
  CHECK(out.ndim == 3 && out.d[0] == g->B && out.d[1] == g->Cout && out.d[2] == g->Lout,
        "inferred (%d, %d, %d), want (%d, %d, %d)", out.d[0], out.d[1], out.d[2], g->B, g->Cout,
        g->Lout);
  OK(dnacl_tensor_alloc(ctx, &r->y, 3, out.d));
  OK(dnacl_tensor_alloc(ctx, &r->dy, 3, out.d));
  r->xh = malloc(r->nx * sizeof(float));
  r->wh = malloc(r->nw * sizeof(float));
  r->dyh = malloc(r->ny * sizeof(float));
  memcpy(r->xh, x, r->nx * sizeof(float));
  memcpy(r->wh, w, r->nw * sizeof(float));
  memcpy(r->dyh, dy, r->ny * sizeof(float));
  dnacl_param *pw = dnacl_layer_param(r->l, "w"), *pb = dnacl_layer_param(r->l, "b");
  CHECK(pw && pw->decay == 1 && pw->trainable, "w is a trainable, decayed parameter");
  CHECK(g->bias ? (pb && pb->decay == 0 && pb->trainable) : pb == NULL,
        "b exists iff bias, trainable, not decayed");
  OK(dnacl_tensor_write(ctx, &pw->value, w));
  if (g->bias) OK(dnacl_tensor_write(ctx, &pb->value, b));
  OK(dnacl_tensor_write(ctx, &r->x, x));
  OK(dnacl_tensor_write(ctx, &r->dy, dy));
}

/* run_open on uniform random x, w, b and dy (drawn in that order). */
static void run_open_random(run *r, dnacl_ctx *ctx, const geom *g) {
  const size_t nx = (size_t)g->B * g->Cin * g->L, ny = (size_t)g->B * g->Cout * g->Lout;
  const size_t nw = (size_t)g->Cout * g->Cin * g->K;
  float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(g->Cout * 4), *dy = malloc(ny * 4);
  for (size_t j = 0; j < nx; j++) x[j] = frand();
  for (size_t j = 0; j < nw; j++) w[j] = frand();
  for (int j = 0; j < g->Cout; j++) b[j] = frand();
  for (size_t j = 0; j < ny; j++) dy[j] = frand();
  run_open(r, ctx, g, x, w, b, dy);
  free(x), free(w), free(b), free(dy);
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

/* ---- goldens ---------------------------------------------------------------------------- */

static double max_abs(const float *v, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++)
    if (fabs(v[i]) > m) m = fabs(v[i]);
  return m;
}

/* Tolerances. The references are float64 rounded to float32; ours are float32 sums of n
 * products (n = Cin*K for y, Cout*K for dx, B*Lout for dw and db, up to 1353 here). For
 * random data the rounding error of such a sum is a few 2^-24 (6e-8) times the size of
 * the result, and we observe 1e-7 to 3e-7 of each tensor's largest value (worst case over
 * the goldens). We allow atol = 1e-5 * max|reference| plus rtol 1e-5: thirty times what
 * float32 gives, and ten thousand times smaller than an indexing or padding error, which
 * is of the size of the terms themselves. */
static double tol(const dnacl_safetensors *g, const char *name) {
  const dnacl_st_tensor *t = golden_get(g, name);
  return 1e-5 * max_abs(t->data, t->n);
}

static void test_golden(dnacl_ctx *ctx, const char *file, golden_worst *wst) {
  dnacl_safetensors s = golden_load(file);
  const char *pad = golden_str(&s, "padding", "?");
  CHECK(!strcmp(pad, "same") || !strcmp(pad, "valid"), "%s: padding '%s'", file, pad);
  geom g = make_geom(golden_int(&s, "B", 0), golden_int(&s, "Cin", 0), golden_int(&s, "Cout", 0),
                     golden_int(&s, "L", 0), golden_int(&s, "K", 0), !strcmp(pad, "same"),
                     golden_int(&s, "dilation", 1), golden_int(&s, "bias", 1));
  CHECK(g.Lout == golden_int(&s, "Lout", -1), "%s: Lout %d vs golden %d", file, g.Lout,
        golden_int(&s, "Lout", -1));
  if (g.same)
    CHECK(g.left == golden_int(&s, "pad_left", -1), "%s: pad_left %d vs golden %d", file, g.left,
          golden_int(&s, "pad_left", -1));
  run r;
  run_open(&r, ctx, &g, golden_get(&s, "x")->data, golden_get(&s, "w")->data,
           g.bias ? golden_get(&s, "b")->data : NULL, golden_get(&s, "dy")->data);
  forward_backward_nan_filled(ctx, r.l, &r.x, &r.y, &r.dy, &r.dx);
  char label[320];
  double e;
  snprintf(label, sizeof label, "%s y", file);
  e = compare_golden(ctx, label, &r.y, &s, "y", tol(&s, "y"), 1e-5);
  if (e > wst->y) wst->y = e;
  snprintf(label, sizeof label, "%s dx", file);
  e = compare_golden(ctx, label, &r.dx, &s, "dx", tol(&s, "dx"), 1e-5);
  if (e > wst->dx) wst->dx = e;
  snprintf(label, sizeof label, "%s dw", file);
  e = compare_golden(ctx, label, &dnacl_layer_param(r.l, "w")->grad, &s, "dw", tol(&s, "dw"), 1e-5);
  if (e > wst->dw) wst->dw = e;
  if (g.bias) {
    snprintf(label, sizeof label, "%s db", file);
    e = compare_golden(ctx, label, &dnacl_layer_param(r.l, "b")->grad, &s, "db", tol(&s, "db"), 1e-5);
    if (e > wst->db) wst->db = e;
  }
  fd_check_linear_layer(file, ctx, r.l, &r.x, &r.y, &r.dx, r.xh, r.wh, r.dyh);
  run_close(&r);
  dnacl_st_free(&s);
}

/* ---- host reference on awkward geometries ------------------------------------------------ */

static void compare_ref(const char *label, dnacl_ctx *ctx, const dnacl_tensor *t, const double *want) {
  float *got = read_host(ctx, t), *w32 = malloc(t->n * sizeof(float));
  for (size_t i = 0; i < t->n; i++) w32[i] = (float)want[i];
  /* Same reasoning as the goldens' tolerance; data are uniform in [-1, 1). */
  compare_host(label, got, w32, t->n, 1e-5 * max_abs(w32, t->n), 1e-5);
  free(got);
  free(w32);
}

static void test_reference(dnacl_ctx *ctx) {
  const int cases[][8] = {
      /* B  Cin Cout L  K same dil bias */
      {2, 3, 5, 7, 4, 1, 1, 1},     /* L shorter than one 16-wide tile */
      {1, 2, 3, 3, 10, 1, 1, 1},    /* same padding, kernel longer than the input */
      {3, 4, 9, 50, 5, 0, 3, 0},    /* valid with dilation: Lout = 38 */
      {2, 5, 7, 19, 10, 0, 2, 1},   /* valid, Lout = 1 */
      {2, 4, 64, 200, 10, 1, 1, 1}, /* the chapter's first layer */
      {2, 64, 64, 100, 10, 1, 1, 1},/* the chapter's second layer */
      {1, 1, 1, 1, 1, 1, 1, 1},     /* the smallest layer */
      {4, 7, 13, 33, 6, 1, 2, 1},   /* even kernel, dilated same padding: left 5, right 5 */
      {3, 6, 11, 17, 3, 1, 7, 0},   /* dilated span 14 of a 17-long input */
      {5, 16, 40, 1000, 3, 1, 1, 1},/* 224 KB of padded rows per sequence: dw sums blocks
                                       of 2, 2 and 1 sequences (512 KB blocks, conv1d.c) */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const int *c = cases[i];
    geom g = make_geom(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
    size_t nx = (size_t)g.B * g.Cin * g.L, ny = (size_t)g.B * g.Cout * g.Lout,
           nw = (size_t)g.Cout * g.Cin * g.K;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(g.Cout * 4), *dy = malloc(ny * 4);
    for (size_t j = 0; j < nx; j++) x[j] = frand();
    for (size_t j = 0; j < nw; j++) w[j] = frand();
    for (int j = 0; j < g.Cout; j++) b[j] = frand();
    for (size_t j = 0; j < ny; j++) dy[j] = frand();
    double *y = malloc(ny * 8), *dx = malloc(nx * 8), *dw = malloc(nw * 8), *db = malloc(g.Cout * 8);
    ref_conv(&g, x, w, b, dy, y, dx, dw, db);
    run r;
    run_open(&r, ctx, &g, x, w, b, dy);
    forward_backward_nan_filled(ctx, r.l, &r.x, &r.y, &r.dy, &r.dx);
    char label[128];
    snprintf(label, sizeof label, "ref B%d %d->%d L%d K%d %s d%d y", g.B, g.Cin, g.Cout, g.L, g.K,
             g.same ? "same" : "valid", g.dil);
    compare_ref(label, ctx, &r.y, y);
    snprintf(label, sizeof label, "ref B%d %d->%d L%d K%d %s d%d dx", g.B, g.Cin, g.Cout, g.L, g.K,
             g.same ? "same" : "valid", g.dil);
    compare_ref(label, ctx, &r.dx, dx);
    snprintf(label, sizeof label, "ref B%d %d->%d L%d K%d %s d%d dw", g.B, g.Cin, g.Cout, g.L, g.K,
             g.same ? "same" : "valid", g.dil);
    compare_ref(label, ctx, &dnacl_layer_param(r.l, "w")->grad, dw);
    if (g.bias) {
      snprintf(label, sizeof label, "ref B%d %d->%d L%d K%d %s d%d db", g.B, g.Cin, g.Cout, g.L,
               g.K, g.same ? "same" : "valid", g.dil);
      compare_ref(label, ctx, &dnacl_layer_param(r.l, "b")->grad, db);
    }
    if (i < 4) {
      snprintf(label, sizeof label, "ref case %zu", i);
      fd_check_linear_layer(label, ctx, r.l, &r.x, &r.y, &r.dx, r.xh, r.wh, r.dyh);
    }
    run_close(&r);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
  }
}

/* Parameter gradients are overwritten, not accumulated, and a backward repeated on the same
 * data gives the same bits (fixed reduction order), also without dx, when dw reads dy
 * unpadded (a length with a partial last chunk of 16, one of whole chunks only; shorter
 * rows are padded either way).
 * dx == NULL skips the input gradient; param_grads == 0 leaves the parameter gradients
 * alone. */
static void test_semantics(dnacl_ctx *ctx, int L) {
  geom g = make_geom(3, 8, 16, L, 5, 1, 1, 1);
  const size_t nx = (size_t)g.B * g.Cin * g.L, nw = (size_t)g.Cout * g.Cin * g.K;
  run r;
  run_open_random(&r, ctx, &g);
  forward_backward_nan_filled(ctx, r.l, &r.x, &r.y, &r.dy, &r.dx);
  dnacl_param *pw = dnacl_layer_param(r.l, "w"), *pb = dnacl_layer_param(r.l, "b");
  float *dw1 = read_host(ctx, &pw->grad), *db1 = read_host(ctx, &pb->grad), *dx1 = read_host(ctx, &r.dx);
  OK(r.l->ops->backward(r.l, ctx, &r.x, &r.y, &r.dy, NULL, 1));
  float *dw2 = read_host(ctx, &pw->grad), *db2 = read_host(ctx, &pb->grad);
  CHECK(!memcmp(dw1, dw2, nw * 4) && !memcmp(db1, db2, g.Cout * 4),
        "L %d: a second backward, without dx, overwrites the parameter gradients with the same bits", L);
  OK(dnacl_tensor_fill(ctx, &pw->grad, 7.0f));
  OK(dnacl_tensor_fill(ctx, &r.dx, NAN));
  OK(r.l->ops->backward(r.l, ctx, &r.x, &r.y, &r.dy, &r.dx, 0));
  float *dw3 = read_host(ctx, &pw->grad), *dx3 = read_host(ctx, &r.dx);
  CHECK(dw3[0] == 7.0f && dw3[nw - 1] == 7.0f, "param_grads = 0 leaves parameter gradients alone");
  CHECK(!memcmp(dx1, dx3, nx * 4), "dx without parameter gradients is the same");
  run_close(&r);
  free(dw1), free(db1), free(dx1), free(dw2), free(db2);
  free(dw3), free(dx3);
}

static void expect_shape_error(dnacl_status s, const char *name, const char *what) {
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), name),
        "%s must be a shape error naming %s: %s (%s)", what, name, dnacl_status_name(s),
        dnacl_last_error());
}

static void test_shape_errors(dnacl_ctx *ctx) {
  dnacl_layer *l = NULL;
  expect_shape_error(dnacl_conv1d_new(ctx, "convK0", 4, 8, 0, 1, 1, 1, &l), "convK0", "K = 0");
  CHECK(l == NULL, "no layer on error");
  expect_shape_error(dnacl_conv1d_new(ctx, "convD0", 4, 8, 3, 1, 0, 1, &l), "convD0", "dilation 0");
  expect_shape_error(dnacl_conv1d_new(ctx, "convC0", 0, 8, 3, 1, 1, 1, &l), "convC0", "Cin 0");
  OK(dnacl_conv1d_new(ctx, "convV", 4, 8, 10, 0, 2, 1, &l));
  dnacl_shape in = {3, {2, 4, 18}}, out;
  expect_shape_error(l->ops->infer(l, &in, &out), "convV", "valid span 19 on length 18");
  in.d[2] = 19;
  CHECK(l->ops->infer(l, &in, &out) == DNACL_OK && out.d[2] == 1, "valid span 19 on length 19");
  in.d[1] = 5;
  expect_shape_error(l->ops->infer(l, &in, &out), "convV", "channel mismatch");
  dnacl_shape in2 = {2, {2, 4}};
  expect_shape_error(l->ops->infer(l, &in2, &out), "convV", "rank 2 input");
  /* A wrongly sized output is refused before any kernel runs. */
  dnacl_tensor x, y;
  OK(dnacl_tensor_new(ctx, &x, 2, 4, 30));
  OK(dnacl_tensor_new(ctx, &y, 2, 8, 30));
  expect_shape_error(l->ops->forward(l, ctx, &x, &y, 1), "convV", "output of the input's length");
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_layer_free(l);
}

/* ---- benchmark ----------------------------------------------------------------------------- */

static double clock_s(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { B_FWD, B_DX, B_DW, B_BWD, B_PARTS };

static void bench_part(run *r, int part) {
  switch (part) {
  case B_FWD: OK(r->l->ops->forward(r->l, r->ctx, &r->x, &r->y, 1)); break;
  case B_DX: OK(r->l->ops->backward(r->l, r->ctx, &r->x, &r->y, &r->dy, &r->dx, 0)); break;
  case B_DW: OK(r->l->ops->backward(r->l, r->ctx, &r->x, &r->y, &r->dy, NULL, 1)); break;
  default: OK(r->l->ops->backward(r->l, r->ctx, &r->x, &r->y, &r->dy, &r->dx, 1)); break;
  }
  OK(dnacl_finish(r->ctx));
}

/* The best of reps timings of a loop of calls lasting about 0.2 s each: on a shared
 * machine the minimum is the steadiest estimate of what the code costs; process CPU time
 * (PoCL's worker threads included) is printed beside it. */
static int bench(int reps) {
  dnacl_ctx *ctx = harness_ctx();
  const char *name[B_PARTS] = {"forward", "backward-dx", "backward-dw+db", "backward-all"};
  /* FLOPs of each part as multiply-adds x 2; dx and dw are each a forward's worth. */
  const double mult[B_PARTS] = {1, 1, 1, 2};
  const int batches[2] = {32, 256};
  for (int bi = 0; bi < 2; bi++) {
    geom g = make_geom(batches[bi], 64, 64, 100, 10, 1, 1, 1);
    run r;
    run_open_random(&r, ctx, &g);
    double flops = 2.0 * g.B * g.Cout * g.Cin * g.K * g.Lout;
    for (int part = 0; part < B_PARTS; part++) {
      bench_part(&r, part); /* warm-up: kernel builds, scratch */
      double best = 1e30, best_cpu = 0;
      for (int rep = 0; rep < reps; rep++) {
        int n = 0;
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), dt;
        do {
          bench_part(&r, part);
          n++;
          dt = clock_s(CLOCK_MONOTONIC) - t0;
        } while (dt < 0.2);
        double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (dt / n < best) best = dt / n, best_cpu = cpu / n;
      }
      printf("conv2 batch %d %-15s %8.3f ms  %6.1f GFLOP/s  cpu %8.3f ms\n", g.B, name[part], best * 1e3,
             flops * mult[part] / best * 1e-9, best_cpu * 1e3);
    }
    run_close(&r);
  }
  dnacl_ctx_release(ctx);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--bench")) return bench(argc > 2 ? atoi(argv[2]) : 5);
  dnacl_ctx *ctx = harness_ctx();
  golden_cases_of(ctx, "conv1d", test_golden, 6); /* every case of tests/golden/index.txt */
  test_reference(ctx);
  test_semantics(ctx, 40);
  test_semantics(ctx, 32);
  test_semantics(ctx, 7);
  test_shape_errors(ctx);
  dnacl_ctx_release(ctx);
  /* The other device class's register blocks and work split (GPU: MR 4, dw 2 x 2). */
  ctx = harness_other_class_ctx();
  golden_cases_of(ctx, "conv1d", test_golden, 6); /* every case of tests/golden/index.txt */
  test_reference(ctx);
  test_semantics(ctx, 40);
  test_semantics(ctx, 7);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
