/* OpenBLAS SGEMM on the GEMM shapes of the chapter's model: the machine's practical
 * limit for dnacl's benchmark table. Built and run by tools/bench.sh.
 * Prints: sgemm M N K GFLOP/s, one shape per line. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void bench(const char *label, int M, int N, int K) {
  float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N), *c = malloc(sizeof(float) * M * N);
  for (long i = 0; i < (long)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
  for (long i = 0; i < (long)K * N; i++) b[i] = (float)(i % 5) * 0.1f;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
  int reps = 0;
  double t0 = now(), dt;
  do {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    reps++;
    dt = now() - t0;
  } while (dt < 1.0 || reps < 3);
  printf("sgemm\t%s\t%d\t%d\t%d\t%.1f\n", label, M, N, K, 2.0 * M * N * K * reps / dt * 1e-9);
  free(a);
  free(b);
  free(c);
}

int main(void) {
  bench("1024^3", 1024, 1024, 1024);
  bench("conv2 fwd b32", 64, 32 * 100, 640);
  bench("conv2 fwd b256", 64, 256 * 100, 640);
  bench("dense1 fwd b32", 32, 128, 3200);
  bench("dense1 fwd b256", 256, 128, 3200);
  return 0;
}
