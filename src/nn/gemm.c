/* dnacl_gemm: argument checks, kernel choice per device class and transposition, launch.
 * The kernels and the reasons for their shapes are in cl/gemm.cl.
 *
 * Paths: on a CPU (PoCL) our register-tiled kernels, which beat CLBlast there by 10x
 * (DESIGN.md); on a GPU CLBlast when the library was built with it (tuned per device,
 * DNACL_HAVE_CLBLAST), else our local-memory kernel.
 *
 * Environment knobs, for benchmarks and for testing a path on a device it would not
 * normally run on (tests/test_gemm.c uses them):
 *   DNACL_GEMM_KERNEL=cpu|gpu|ref|clblast   force the register-tiled CPU kernels, the
 *                                   local-memory GPU kernel, the one-element-per-work-item
 *                                   reference, or CLBlast (if built in).
 *   DNACL_GEMM_TILES=mr,dm,dn,wg    CPU tile sizes (rows per NN/TN work-item; rows and
 *                                   columns per NT work-item; work-items per group).
 *   DNACL_GEMM_NO_TRANSPOSE         CPU: never transpose an operand first (except A^T B^T). */
#include "nn/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DNACL_HAVE_CLBLAST
#include <clblast_c.h>
#endif

typedef enum { PATH_CPU, PATH_GPU, PATH_REF, PATH_CLBLAST } gemm_path;

typedef struct {
  gemm_path path;
  int mr, dm, dn, wg;
  int no_transpose;
} gemm_cfg;

static gemm_cfg config(const dnacl_ctx *ctx) {
  /* 6 x 16 (the block DESIGN.md measured): six float16 accumulators, one row of B and a
   * broadcast, well inside the 32 AVX-512 registers. MR = 4 was slower; 8 to 14 were not
   * consistently faster on the shared two-core machine we measured on. The NT block is
   * 4 x 4 dot products (16 accumulators + 8 loaded vectors). Work-groups of 4 tiles along
   * N share their MR rows of A in L1 (1 tile per group measured 10-25% slower). */
#ifdef DNACL_HAVE_CLBLAST
  const gemm_path gpu_default = PATH_CLBLAST;
#else
  const gemm_path gpu_default = PATH_GPU;
#endif
  gemm_cfg c = {ctx->is_cpu ? PATH_CPU : gpu_default, 6, 4, 4, 4, 0};
  c.no_transpose = getenv("DNACL_GEMM_NO_TRANSPOSE") != NULL;
  const char *k = getenv("DNACL_GEMM_KERNEL");
  if (k && !strcmp(k, "cpu")) c.path = PATH_CPU;
  if (k && !strcmp(k, "gpu")) c.path = PATH_GPU;
  if (k && !strcmp(k, "ref")) c.path = PATH_REF;
#ifdef DNACL_HAVE_CLBLAST
  if (k && !strcmp(k, "clblast")) c.path = PATH_CLBLAST;
#endif
  const char *t = getenv("DNACL_GEMM_TILES");
  if (t) {
    int mr, dm, dn, wg;
    if (sscanf(t, "%d,%d,%d,%d", &mr, &dm, &dn, &wg) == 4 && mr > 0 && mr <= 16 && dm > 0 &&
        dm <= 8 && dn > 0 && dn <= 8 && wg > 0) {
      c.mr = mr;
      c.dm = dm;
      c.dn = dn;
      c.wg = wg;
    }
  }
  return c;
}

/* Last element (exclusive) an operand touches, for the buffer-size check. */
static size_t extent(size_t off, size_t stride, int batch, int rows, int cols, int ld) {
  if (rows == 0 || cols == 0) return 0;
  return off + (size_t)(batch - 1) * stride + (size_t)(rows - 1) * (size_t)ld + (size_t)cols;
}

static dnacl_status check_operand(const char *what, cl_mem m, size_t off, size_t stride,
                                  int batch, int rows, int cols, int ld) {
  if (ld < (cols > 1 ? cols : 1))
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_gemm: ld%c = %d is less than the %d columns of %s as stored",
                      what[0] + ('a' - 'A'), ld, cols, what);
  if (off > 0xffffffffu || stride > 0xffffffffu)
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_gemm: offset or batch stride of %s beyond 2^32 elements",
                      what);
  size_t need = extent(off, stride, batch, rows, cols, ld);
  if (!need) return DNACL_OK;
  if (!m) return dnacl_fail(DNACL_ERR_ARG, "dnacl_gemm: %s is NULL", what);
  size_t bytes = 0;
  DNACL_CL(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof bytes, &bytes, NULL));
  if (need > bytes / sizeof(float))
    return dnacl_fail(DNACL_ERR_ARG,
                      "dnacl_gemm: %s needs %zu elements (offset %zu, batch stride %zu, %d x %d, "
                      "ld %d) but its buffer holds %zu",
                      what, need, off, stride, rows, cols, ld, bytes / sizeof(float));
  return DNACL_OK;
}

/* Launch one of the kernels of cl/gemm.cl with the common argument list. */
static dnacl_status launch(dnacl_ctx *ctx, const char *name, const char *opts, const size_t *global,
                           const size_t *local, int M, int N, int K, cl_mem a, size_t off_a,
                           size_t stride_a, int lda, cl_mem b, size_t off_b, size_t stride_b,
                           int ldb, cl_mem c, const dnacl_gemm_args *g, int pass_trans,
                           int m_fast) {
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "gemm", opts, name, &k));
  if (pass_trans)
    return dnacl_run(ctx, k, 3, global, local, "iiimuuimuuimuuiffii", M, N, K, a, (unsigned)off_a,
                     (unsigned)stride_a, lda, b, (unsigned)off_b, (unsigned)stride_b, ldb, c,
                     (unsigned)g->off_c, (unsigned)g->stride_c, g->ldc, (double)g->alpha,
                     (double)g->beta, g->trans_a, g->trans_b);
  return dnacl_run(ctx, k, 3, global, local, "iiimuuimuuimuuiffi", M, N, K, a, (unsigned)off_a,
                   (unsigned)stride_a, lda, b, (unsigned)off_b, (unsigned)stride_b, ldb, c,
                   (unsigned)g->off_c, (unsigned)g->stride_c, g->ldc, (double)g->alpha,
                   (double)g->beta, m_fast);
}

/* dst (batch x cols x rows, contiguous) = transpose of each rows x cols block of src. The
 * buffer is released right away: OpenCL keeps it alive until the queued kernels that use it
 * have run. */
static dnacl_status transpose(dnacl_ctx *ctx, cl_mem src, size_t off, size_t stride, int ld,
                              int rows, int cols, int batch, cl_mem *dst) {
  cl_int err;
  *dst = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE,
                        (size_t)batch * rows * cols * sizeof(float), NULL, &err);
  if (err != CL_SUCCESS)
    return dnacl_fail(DNACL_ERR_OPENCL, "dnacl_gemm: scratch of %d x %d x %d floats: %s", batch,
                      rows, cols, dnacl_cl_error_name(err));
  cl_kernel k;
  dnacl_status s = dnacl_kernel(ctx, "gemm", "", "gemm_transpose", &k);
  size_t global[3] = {(size_t)(cols + 15) / 16, (size_t)(rows + 15) / 16, (size_t)batch};
  size_t local[3] = {1, 1, 1};
  if (s == DNACL_OK)
    s = dnacl_run(ctx, k, 3, global, local, "iimuuim", rows, cols, src, (unsigned)off,
                  (unsigned)stride, ld, *dst);
  if (s != DNACL_OK) {
    clReleaseMemObject(*dst);
    *dst = NULL;
  }
  return s;
}

/* Leading dimensions that are multiples of 256 floats (1 KiB) put a whole column panel of
 * a matrix into a few cache sets, so the MR x 16 kernels, which walk down columns of
 * op(B) (and of A for A^T B), thrash: 1024^3 ran at half the speed of 1000^3. The
 * dot-product kernel reads every operand along its rows and does not care. */
static int conflict_stride(int ld) { return ld % 256 == 0; }

dnacl_status dnacl_gemm(dnacl_ctx *ctx, cl_mem a, cl_mem b, cl_mem c, const dnacl_gemm_args *g) {
  const int M = g->M, N = g->N, K = g->K, batch = g->batch > 0 ? g->batch : 1;
  if (M < 0 || N < 0 || K < 0 || g->batch < 0)
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_gemm: negative size M=%d N=%d K=%d batch=%d", M, N, K,
                      g->batch);
  if (M == 0 || N == 0) return DNACL_OK;
  DNACL_TRY(check_operand("C", c, g->off_c, g->stride_c, batch, M, N, g->ldc));
  const size_t gz = (size_t)batch;
  if (K == 0 || g->alpha == 0.0f) {
    /* An empty or zero-weighted product: C = beta * C, without reading A or B (as BLAS:
     * alpha = 0 must not turn an Inf or NaN in A or B into NaN in C). */
    cl_kernel k;
    DNACL_TRY(dnacl_kernel(ctx, "gemm", "", "gemm_scale", &k));
    size_t global[3] = {(size_t)N, (size_t)M, gz};
    return dnacl_run(ctx, k, 3, global, NULL, "iimuuif", M, N, c, (unsigned)g->off_c,
                     (unsigned)g->stride_c, g->ldc, (double)g->beta);
  }
  DNACL_TRY(check_operand("A", a, g->off_a, g->stride_a, batch, g->trans_a ? K : M,
                          g->trans_a ? M : K, g->lda));
  DNACL_TRY(check_operand("B", b, g->off_b, g->stride_b, batch, g->trans_b ? N : K,
                          g->trans_b ? K : N, g->ldb));

  gemm_cfg cfg = config(ctx);
  char opts[128];
  size_t global[3] = {0, 0, gz}, local[3] = {1, 1, 1};
  if (cfg.path == PATH_GPU) {
    /* 64 x 64 blocks, 16 x 16 work-items. */
    snprintf(opts, sizeof opts, "%s", ctx->is_cpu ? "-DGEMM_GPU_KERNEL=1" : "");
    global[0] = (size_t)(N + 63) / 64 * 16;
    global[1] = (size_t)(M + 63) / 64 * 16;
    local[0] = local[1] = 16;
    return launch(ctx, "gemm_gpu", opts, global, local, M, N, K, a, g->off_a, g->stride_a, g->lda,
                  b, g->off_b, g->stride_b, g->ldb, c, g, 1, 0);
  }
#ifdef DNACL_HAVE_CLBLAST
  if (cfg.path == PATH_CLBLAST) {
    /* CLBlast computes beta * C even for beta == 0, so a NaN already in C would survive;
     * zero the blocks first to keep beta == 0 write-only. */
    if (g->beta == 0.0f) {
      cl_kernel k;
      DNACL_TRY(dnacl_kernel(ctx, "gemm", "", "gemm_scale", &k));
      size_t gs[3] = {(size_t)N, (size_t)M, gz};
      DNACL_TRY(dnacl_run(ctx, k, 3, gs, NULL, "iimuuif", M, N, c, (unsigned)g->off_c,
                          (unsigned)g->stride_c, g->ldc, 0.0));
    }
    const CLBlastTranspose ta = g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    const CLBlastTranspose tb = g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode st;
    if (batch == 1)
      st = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, M, N, K, g->alpha, a, g->off_a, g->lda, b,
                        g->off_b, g->ldb, g->beta, c, g->off_c, g->ldc, &ctx->queue, NULL);
    else
      st = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, M, N, K, g->alpha, a, g->off_a,
                                      g->lda, g->stride_a, b, g->off_b, g->ldb, g->stride_b,
                                      g->beta, c, g->off_c, g->ldc, g->stride_c, batch, &ctx->queue,
                                      NULL);
    if (st != CLBlastSuccess)
      return dnacl_fail(DNACL_ERR_OPENCL,
                        "dnacl_gemm: CLBlast SGEMM (M=%d N=%d K=%d batch=%d) failed with status %d",
                        M, N, K, batch, (int)st);
    return DNACL_OK;
  }
#endif
  if (cfg.path == PATH_REF) {
    global[0] = (size_t)N;
    global[1] = (size_t)M;
    local[0] = N < 16 ? (size_t)N : 16;
    return launch(ctx, "gemm_ref", "", global, local, M, N, K, a, g->off_a, g->stride_a, g->lda, b,
                  g->off_b, g->stride_b, g->ldb, c, g, 1, 0);
  }

  /* CPU. Operands that the MR x 16 kernels would read down long, cache-hostile columns are
   * first transposed (an O(MK) or O(NK) pass) so that the product becomes A B^T for the
   * dot-product kernel, which reads every operand along its rows. The pass is repaid
   * when the transposed operand is reused by many tiles (the other dimension >= 256) and
   * the product is big:
   *   A^T B^T always (no kernel reads both down columns);
   *   A^T B when K > 256 (1000^3: 230 against 172 GFLOP/s on 2 Zen 5 cores; with short K,
   *     as in conv-like 640 x 3200 x 64, the direct kernel wins, 214 against 119; at
   *     K = 256 the direct kernel's column panel of A, 256 cache lines, still sits in L1:
   *     the weight gradient of the baseline's dense1 at batch 256, 128 x 3200 x 256, took
   *     0.85 ms direct against 0.98 transposed, 1000 x 1000 x 256 2.11 against 2.13-2.25,
   *     while at K = 512 transposing wins, 3.8 against 4.7 ms for 1000 x 1000) or a column
   *     stride conflicts;
   *   A B when op(B)'s column stride conflicts (1024^3: 255 against 150; but 64 x 25600 x
   *     640 is faster direct, 38 against 20: transposing 64 MB for 64 rows does not pay).
   * The transposed copies are contiguous per batch entry. */
  const double work = (double)M * N * K;
  const int big = work >= 16.0 * 1024 * 1024;
  int tr_a = g->trans_a && (g->trans_b || (big && N >= 256 && (K > 256 || conflict_stride(g->lda) ||
                                                                conflict_stride(g->ldb))));
  int tr_b = !g->trans_b && (tr_a || (big && M >= 256 && conflict_stride(g->ldb)));
  if (cfg.no_transpose && !(g->trans_a && g->trans_b)) tr_a = tr_b = 0;
  cl_mem at = NULL, bt = NULL;
  size_t off_a = g->off_a, stride_a = g->stride_a, off_b = g->off_b, stride_b = g->stride_b;
  int lda = g->lda, ldb = g->ldb, ta = g->trans_a, tb = g->trans_b;
  dnacl_status s = DNACL_OK;
  if (tr_a) {
    s = transpose(ctx, a, off_a, stride_a, lda, K, M, batch, &at);
    off_a = 0, stride_a = (size_t)M * K, lda = K, ta = 0;
  }
  if (s == DNACL_OK && tr_b) {
    s = transpose(ctx, b, off_b, stride_b, ldb, K, N, batch, &bt);
    off_b = 0, stride_b = (size_t)N * K, ldb = K, tb = 1;
  }
  if (s == DNACL_OK) {
    snprintf(opts, sizeof opts, "-DMR=%d -DDM=%d -DDN=%d%s", cfg.mr, cfg.dm, cfg.dn,
             ctx->is_cpu ? "" : " -DGEMM_CPU_KERNEL=1");
    const char *name;
    size_t tiles_m, tiles_n;
    if (!tb) {
      name = ta ? "gemm_cpu_tn" : "gemm_cpu_nn";
      tiles_n = (size_t)(N + 15) / 16;
      tiles_m = (size_t)(M + cfg.mr - 1) / (size_t)cfg.mr;
    } else {
      name = "gemm_cpu_nt";
      tiles_n = (size_t)(N + cfg.dn - 1) / (size_t)cfg.dn;
      tiles_m = (size_t)(M + cfg.dm - 1) / (size_t)cfg.dm;
    }
    /* Tiles of the smaller dimension vary fastest (cl/gemm.cl, "Tile order"). */
    const int m_fast = M < N;
    global[0] = m_fast ? tiles_m : tiles_n;
    global[1] = m_fast ? tiles_n : tiles_m;
    local[0] = global[0] < (size_t)cfg.wg ? global[0] : (size_t)cfg.wg;
    s = launch(ctx, name, opts, global, local, M, N, K, at ? at : a, off_a, stride_a, lda,
               bt ? bt : b, off_b, stride_b, ldb, c, g, 0, m_fast);
  }
  if (at) clReleaseMemObject(at);
  if (bt) clReleaseMemObject(bt);
  return s;
}
