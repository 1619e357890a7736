/* dnacl_gemm GFLOP/s on the shapes of the chapter's model (compare tools/bench_sgemm.c,
 * OpenBLAS on the same shapes). Not a test: it asserts nothing.
 *
 * Build against a build directory's library, e.g.
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -Iinclude -Isrc \
 *      tools/bench_gemm.c build/libdnacl.a -lOpenCL -lyaml -lhdf5_serial -lm -o build/bench_gemm
 * Run: bench_gemm                       the standard table
 *      bench_gemm M N K [ta tb batch]   one shape
 * Prints: gemm  label  M N K ta tb batch  best GFLOP/s (ms per call)  median GFLOP/s */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/gemm.h"

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

int main(int argc, char **argv) {
  dnacl_ctx *ctx;
  TRY(dnacl_ctx_create(NULL, 0, &ctx));
  if (argc >= 4) {
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
