/* dnacl_gemm GFLOP/s on the shapes of the chapter's model (compare tools/bench_sgemm.c,
 * OpenBLAS on the same shapes). Not a test: it asserts nothing.
 *
 * Build against a build directory's library, e.g.
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -Iinclude -Isrc \
 *      tools/bench_gemm.c build/libdnacl.a -lclblast -lOpenCL -lyaml -lhdf5_serial -lm -o build/bench_gemm
 *   (drop -lclblast if the library was built without CLBlast)
 * Run: bench_gemm                       the standard table
 *      bench_gemm M N K [ta tb batch]   one shape
 *      bench_gemm layers [batch]        ms per forward / backward of the chapter's conv and
 *                                       dense layers (backward with dx and parameter grads,
 *                                       and without dx as training's first layer runs it)
 * Prints: gemm  label  M N K ta tb batch  best GFLOP/s (ms per call)  median GFLOP/s */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/gemm.h"
#include "nn/layer.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(dnacl_status s) {
  fprintf(stderr, "bench_gemm: %s: %s\n", dnacl_status_name(s), dnacl_last_error());
  exit(1);
}
#define TRY(x)                       \
  do {                               \
    dnacl_status s_ = (x);           \
    if (s_ != DNACL_OK) die(s_);     \
  } while (0)

static void bench(dnacl_ctx *ctx, const char *label, int M, int N, int K, int ta, int tb, int batch) {
  dnacl_gemm_args g = {0};
  g.trans_a = ta;
  g.trans_b = tb;
  g.M = M;
  g.N = N;
  g.K = K;
  g.lda = ta ? M : K;
  g.ldb = tb ? K : N;
  g.ldc = N;
  g.batch = batch;
  g.stride_a = (size_t)M * K;
  g.stride_b = (size_t)K * N;
  g.stride_c = (size_t)M * N;
  g.alpha = 1.0f;
  g.beta = 0.0f;
  dnacl_tensor a, b, c;
  TRY(dnacl_tensor_new(ctx, &a, batch * M * K, 0, 0));
  TRY(dnacl_tensor_new(ctx, &b, batch * K * N, 0, 0));
  TRY(dnacl_tensor_new(ctx, &c, batch * M * N, 0, 0));
  TRY(dnacl_tensor_fill(ctx, &a, 0.5f));
  TRY(dnacl_tensor_fill(ctx, &b, 0.25f));
  TRY(dnacl_gemm(ctx, a.buf, b.buf, c.buf, &g)); /* builds the program */
  TRY(dnacl_finish(ctx));
  /* The machine is shared: report the best of many calls (what the kernel can do) and
   * the median (what a run of the moment saw). */
  double t[400];
  int reps = 0;
  double t0 = now();
  do {
    double t1 = now();
    TRY(dnacl_gemm(ctx, a.buf, b.buf, c.buf, &g));
    TRY(dnacl_finish(ctx));
    t[reps++] = now() - t1;
  } while ((now() - t0 < 0.5 || reps < 5) && reps < 400);
  for (int i = 1; i < reps; i++)
    for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
      double x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
  double flop = 2.0 * M * N * K * batch;
  printf("gemm\t%-18s\t%d\t%d\t%d\t%d\t%d\t%d\tbest %.1f GFLOP/s (%.3f ms)\tmedian %.1f GFLOP/s\n",
         label, M, N, K, ta, tb, batch, flop / t[0] * 1e-9, t[0] * 1e3, flop / t[reps / 2] * 1e-9);
  fflush(stdout);
  dnacl_tensor_free(&a);
  dnacl_tensor_free(&b);
  dnacl_tensor_free(&c);
}

/* Best and median seconds of f over repeated calls (at least 0.5 s or 5 calls). */
typedef dnacl_status (*step_fn)(void *);
static void timeit(dnacl_ctx *ctx, step_fn f, void *u, double *best, double *median) {
  double t[400];
  int reps = 0;
  TRY(f(u));
  TRY(dnacl_finish(ctx));
  double t0 = now();
  do {
    double t1 = now();
    TRY(f(u));
    TRY(dnacl_finish(ctx));
    t[reps++] = now() - t1;
  } while ((now() - t0 < 0.5 || reps < 5) && reps < 400);
  for (int i = 1; i < reps; i++)
    for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
      double x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
  *best = t[0];
  *median = t[reps / 2];
}

typedef struct layer_run {
  dnacl_ctx *ctx;
  dnacl_layer *l;
  dnacl_tensor x, y, dy, dx;
} layer_run;

static dnacl_status fwd(void *u) {
  layer_run *r = u;
  return r->l->ops->forward(r->l, r->ctx, &r->x, &r->y, 1);
}
static dnacl_status bwd(void *u) {
  layer_run *r = u;
  return r->l->ops->backward(r->l, r->ctx, &r->x, &r->y, &r->dy, &r->dx, 1);
}
/* What training does for the first layer: parameter gradients only. */
static dnacl_status bwd_params(void *u) {
  layer_run *r = u;
  return r->l->ops->backward(r->l, r->ctx, &r->x, &r->y, &r->dy, NULL, 1);
}

/* flops: multiply-adds x 2 of one forward; backward does twice that (dx and dw). */
static void bench_layer(dnacl_ctx *ctx, const char *label, dnacl_layer *l, int ndim, const int *xs,
                        double flops) {
  layer_run r = {ctx, l, {0}, {0}, {0}, {0}};
  TRY(dnacl_tensor_alloc(ctx, &r.x, ndim, xs));
  TRY(dnacl_tensor_alloc(ctx, &r.dx, ndim, xs));
  dnacl_shape in = dnacl_tensor_shape(&r.x), out;
  TRY(l->ops->infer(l, &in, &out));
  TRY(dnacl_tensor_alloc(ctx, &r.y, out.ndim, out.d));
  TRY(dnacl_tensor_alloc(ctx, &r.dy, out.ndim, out.d));
  TRY(dnacl_tensor_fill(ctx, &r.x, 0.5f));
  TRY(dnacl_tensor_fill(ctx, &r.dy, 0.25f));
  for (int i = 0; i < l->n_params; i++) TRY(dnacl_tensor_fill(ctx, &l->params[i].value, 0.01f));
  double fb, fm, bb, bm, pb, pm;
  timeit(ctx, fwd, &r, &fb, &fm);
  timeit(ctx, bwd, &r, &bb, &bm);
  timeit(ctx, bwd_params, &r, &pb, &pm);
  printf("layer\t%-24s\tforward best %.3f ms (%.0f GFLOP/s) median %.3f\tbackward best %.3f ms "
         "(%.0f GFLOP/s) median %.3f\tbackward w/o dx best %.3f ms median %.3f\n",
         label, fb * 1e3, flops / fb * 1e-9, fm * 1e3, bb * 1e3, 2 * flops / bb * 1e-9, bm * 1e3,
         pb * 1e3, pm * 1e3);
  fflush(stdout);
  dnacl_tensor_free(&r.x);
  dnacl_tensor_free(&r.y);
  dnacl_tensor_free(&r.dy);
  dnacl_tensor_free(&r.dx);
  dnacl_layer_free(l);
}

static void bench_layers(dnacl_ctx *ctx, int B) {
  dnacl_layer *l;
  char label[64];
  snprintf(label, sizeof label, "conv1 4->64 k10 L200 B%d", B);
  TRY(dnacl_conv1d_new(ctx, "conv1", 4, 64, 10, 1, 1, 1, &l));
  bench_layer(ctx, label, l, 3, (int[]){B, 4, 200}, 2.0 * B * 64 * 40 * 200);
  snprintf(label, sizeof label, "conv2 64->64 k10 L100 B%d", B);
  TRY(dnacl_conv1d_new(ctx, "conv2", 64, 64, 10, 1, 1, 1, &l));
  bench_layer(ctx, label, l, 3, (int[]){B, 64, 100}, 2.0 * B * 64 * 640 * 100);
  snprintf(label, sizeof label, "dense1 3200->128 B%d", B);
  TRY(dnacl_dense_new(ctx, "dense1", 3200, 128, 1, &l));
  bench_layer(ctx, label, l, 3, (int[]){B, 64, 50}, 2.0 * B * 3200 * 128);
  snprintf(label, sizeof label, "dense2 128->64 B%d", B);
  TRY(dnacl_dense_new(ctx, "dense2", 128, 64, 1, &l));
  bench_layer(ctx, label, l, 2, (int[]){B, 128}, 2.0 * B * 128 * 64);
  snprintf(label, sizeof label, "dense3 64->1 B%d", B);
  TRY(dnacl_dense_new(ctx, "dense3", 64, 1, 1, &l));
  bench_layer(ctx, label, l, 2, (int[]){B, 64}, 2.0 * B * 64);
}

int main(int argc, char **argv) {
  dnacl_ctx *ctx;
  TRY(dnacl_ctx_create(NULL, 0, &ctx));
  if (argc >= 2 && !strcmp(argv[1], "layers")) {
    bench_layers(ctx, argc > 2 ? atoi(argv[2]) : 32);
  } else if (argc >= 4) {
    bench(ctx, "custom", atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 0,
          argc > 5 ? atoi(argv[5]) : 0, argc > 6 ? atoi(argv[6]) : 1);
  } else {
    bench(ctx, "1024^3 nn", 1024, 1024, 1024, 0, 0, 1);
    bench(ctx, "1024^3 tn", 1024, 1024, 1024, 1, 0, 1);
    bench(ctx, "1024^3 nt", 1024, 1024, 1024, 0, 1, 1);
    bench(ctx, "conv2 fwd b32", 64, 32 * 100, 640, 0, 0, 1);
    bench(ctx, "conv2 fwd b256", 64, 256 * 100, 640, 0, 0, 1);
    bench(ctx, "conv2 dw b32", 64, 640, 32 * 100, 0, 1, 1);
    bench(ctx, "conv2 dcol b32", 640, 32 * 100, 64, 1, 0, 1);
    bench(ctx, "dense1 fwd b32", 32, 128, 3200, 0, 1, 1);
    bench(ctx, "dense1 fwd b256", 256, 128, 3200, 0, 1, 1);
    bench(ctx, "dense1 dx b32", 32, 3200, 128, 0, 0, 1);
    bench(ctx, "dense1 dw b32", 128, 3200, 32, 1, 0, 1);
  }
  dnacl_ctx_release(ctx);
  return 0;
}
