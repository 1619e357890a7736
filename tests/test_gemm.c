/* dnacl_gemm against a double-precision host reference: awkward sizes (M, N, K in
 * {1, 5, 33, 64, 65, 127}), all four transposition combinations, padded leading
 * dimensions, batches with strides and offsets, alpha/beta, and beta == 0 as write-only
 * (C starts as NaN). Every kernel path is checked on this device: the register-tiled CPU
 * kernels, the local-memory GPU kernel (built on a CPU through GEMM_GPU_KERNEL) and the
 * reference kernel, and CLBlast when the library has it, chosen through DNACL_GEMM_KERNEL. */
#include "harness.h"
#include "nn/gemm.h"

static unsigned rng_state = 12345u;
static float frand(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float)((rng_state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

typedef struct {
  int worst_case;
  double worst; /* largest |err| / bound seen */
  int cases;
} path_stats;

/* Runs one GEMM on the device and checks it. Tolerance: a float32 sum of K products has a
 * rounding error of at most about K * 2^-24 * sum_k |a_k b_k| (plus one rounding of alpha,
 * beta); we allow K * 2^-22 * (|alpha| sum |a b| + |beta c|) + 1e-30, four times the
 * worst case, which still fails by orders of magnitude on any indexing error (those are
 * of the size of the terms themselves). */
static void one(dnacl_ctx *ctx, path_stats *st, int ta, int tb, int M, int N, int K, int batch,
                int pad, size_t off, float alpha, float beta) {
  int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  size_t sa = (size_t)(ta ? K : M) * lda + 3 * pad, sb = (size_t)(tb ? N : K) * ldb + pad,
         sc = (size_t)M * ldc + 2 * pad;
  size_t na = off + batch * sa, nb = off + batch * sb, nc = off + batch * sc;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c),
        *out = malloc(nc * sizeof *out);
  for (size_t i = 0; i < na; i++) a[i] = frand();
  for (size_t i = 0; i < nb; i++) b[i] = frand();
  for (size_t i = 0; i < nc; i++) c[i] = beta == 0.0f ? NAN : frand();
  dnacl_tensor ta_, tb_, tc_;
  OK(dnacl_tensor_new(ctx, &ta_, na ? (int)na : 1, 0, 0));
  OK(dnacl_tensor_new(ctx, &tb_, nb ? (int)nb : 1, 0, 0));
  OK(dnacl_tensor_new(ctx, &tc_, (int)nc, 0, 0));
  if (na) OK(dnacl_tensor_write(ctx, &ta_, a));
  if (nb) OK(dnacl_tensor_write(ctx, &tb_, b));
  OK(dnacl_tensor_write(ctx, &tc_, c));
  dnacl_gemm_args g = {ta, tb, M, N, K, lda, ldb, ldc, batch, sa, sb, sc, off, off, off, alpha, beta};
  OK(dnacl_gemm(ctx, ta_.buf, tb_.buf, tc_.buf, &g));
  OK(dnacl_tensor_read(ctx, &tc_, out));
  int bad = 0;
  double worst = 0;
  for (int bb = 0; bb < batch; bb++) {
    const float *A = a + off + bb * sa, *B = b + off + bb * sb;
    const float *C0 = c + off + bb * sc;
    const float *C1 = out + off + bb * sc;
    for (int m = 0; m < M; m++)
      for (int n = 0; n < N; n++) {
        double s = 0, sabs = 0;
        for (int k = 0; k < K; k++) {
          double x = ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
          double y = tb ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
          s += x * y;
          sabs += fabs(x * y);
        }
        double want = alpha * s, mag = fabs(alpha) * sabs;
        if (beta != 0.0f) {
          want += beta * (double)C0[(size_t)m * ldc + n];
          mag += fabs(beta * (double)C0[(size_t)m * ldc + n]);
        }
        double bound = (K + 2) * ldexp(1.0, -22) * mag + 1e-30;
        double err = fabs(C1[(size_t)m * ldc + n] - want);
        if (!(err <= bound)) {
          if (!bad)
            printf("  ta=%d tb=%d M=%d N=%d K=%d batch=%d: C[%d][%d][%d] = %g, want %g\n", ta, tb, M,
                   N, K, batch, bb, m, n, (double)C1[(size_t)m * ldc + n], want);
          bad++;
        }
        if (err / bound > worst) worst = err / bound;
      }
  }
  /* Everything outside the C blocks (padding, gaps between batch entries, the offset)
   * must be untouched. */
  for (size_t i = 0; i < nc; i++) {
    size_t rel = i < off ? (size_t)-1 : (i - off) % sc;
    size_t bidx = i < off ? 0 : (i - off) / sc;
    int inside = i >= off && bidx < (size_t)batch && rel < (size_t)M * ldc && (int)(rel % ldc) < N;
    if (!inside && !(out[i] == c[i] || (isnan(out[i]) && isnan(c[i])))) {
      if (!bad) printf("  ta=%d tb=%d M=%d N=%d K=%d: element %zu outside C was written\n", ta, tb, M, N, K, i);
      bad++;
      break;
    }
  }
  CHECK(!bad, "gemm ta=%d tb=%d M=%d N=%d K=%d batch=%d pad=%d off=%zu alpha=%g beta=%g: %d wrong", ta,
        tb, M, N, K, batch, pad, off, (double)alpha, (double)beta, bad);
  if (worst > st->worst) st->worst = worst;
  st->cases++;
  dnacl_tensor_free(&ta_);
  dnacl_tensor_free(&tb_);
  dnacl_tensor_free(&tc_);
  free(a);
  free(b);
  free(c);
  free(out);
}

static void run_path(dnacl_ctx *ctx, const char *path, int full) {
  setenv("DNACL_GEMM_KERNEL", path, 1);
  path_stats st = {0, 0, 0};
  static const int sizes[] = {1, 5, 33, 64, 65, 127};
  const int ns = (int)(sizeof sizes / sizeof *sizes);
  int before = h_failed;
  for (int t = 0; t < 4; t++) {
    int ta = t & 1, tb = t >> 1;
    /* Every (M, N, K) on the main path; a diagonal-ish subset on the others. */
    for (int i = 0; i < ns; i++)
      for (int j = 0; j < ns; j++)
        for (int l = 0; l < ns; l++) {
          if (!full && (i + j + l) % 3) continue;
          int alt = (i + j + l) & 1;
          one(ctx, &st, ta, tb, sizes[i], sizes[j], sizes[l], 1, 0, 0, 1.0f, alt ? 1.0f : 0.0f);
        }
    /* Batches with padded leading dimensions, gaps between entries and an offset. */
    one(ctx, &st, ta, tb, 33, 65, 127, 3, 3, 17, 0.5f, 0.0f);
    one(ctx, &st, ta, tb, 65, 33, 5, 4, 1, 5, -1.25f, 1.0f);
    one(ctx, &st, ta, tb, 127, 64, 64, 2, 7, 0, 1.0f, 0.75f);
    one(ctx, &st, ta, tb, 5, 127, 33, 5, 2, 1, 2.0f, 0.0f);
    /* Big enough (M N K >= 2^24) for the CPU path to transpose operands first, with
     * leading dimensions that are multiples of 256 (the cache-conflicting case) and not. */
    if (full) {
      one(ctx, &st, ta, tb, 256, 256, 256, 1, 0, 0, 1.0f, 0.0f);
      one(ctx, &st, ta, tb, 130, 300, 513, 2, 1, 9, 1.0f, 1.0f);
    }
    /* alpha == 0 and K == 0: C = beta C. */
    one(ctx, &st, ta, tb, 33, 5, 64, 1, 0, 0, 0.0f, 0.5f);
    one(ctx, &st, ta, tb, 5, 33, 0, 2, 1, 3, 1.0f, 0.5f);
    one(ctx, &st, ta, tb, 5, 33, 0, 1, 0, 0, 1.0f, 0.0f);
  }
  printf("  path %-4s %4d cases, worst error %.3g of its bound%s\n", path, st.cases, st.worst,
         h_failed > before ? "  FAILED" : "");
  unsetenv("DNACL_GEMM_KERNEL");
}

static void test_errors(dnacl_ctx *ctx) {
  dnacl_tensor t;
  OK(dnacl_tensor_new(ctx, &t, 100, 0, 0));
  dnacl_gemm_args g = {0, 0, 10, 10, 10, 10, 10, 10, 1, 0, 0, 0, 0, 0, 0, 1.0f, 0.0f};
  OK(dnacl_gemm(ctx, t.buf, t.buf, t.buf, &g));
  g.lda = 5;
  dnacl_status s = dnacl_gemm(ctx, t.buf, t.buf, t.buf, &g);
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "lda"), "short lda: %s", dnacl_last_error());
  g.lda = 10;
  g.batch = 2;
  g.stride_b = 100;
  s = dnacl_gemm(ctx, t.buf, t.buf, t.buf, &g);
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "B needs"), "overrun: %s", dnacl_last_error());
  g.batch = 1;
  g.M = -1;
  s = dnacl_gemm(ctx, t.buf, t.buf, t.buf, &g);
  CHECK(s == DNACL_ERR_ARG, "negative M");
  dnacl_tensor_free(&t);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  run_path(ctx, "cpu", 1);
  run_path(ctx, "gpu", 0);
  run_path(ctx, "ref", 0);
#ifdef DNACL_HAVE_CLBLAST
  run_path(ctx, "clblast", 0);
#endif
  test_errors(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
