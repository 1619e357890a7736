/* dnacl_gemm: argument checks, kernel choice per device class and transposition, launch.
 * The kernels and the reasons for their shapes are in cl/gemm.cl.
 *
 * Environment knobs, for benchmarks and for testing a path on a device it would not
 * normally run on (tests/test_gemm.c uses them):
 *   DNACL_GEMM_KERNEL=cpu|gpu|ref   force the register-tiled CPU kernels, the local-memory
 *                                   GPU kernel, or the one-element-per-work-item reference.
 *   DNACL_GEMM_TILES=mr,dm,dn,wg    CPU tile sizes (rows per NN/TN work-item; rows and
 *                                   columns per NT work-item; work-items per group along N). */
#include "nn/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { PATH_CPU, PATH_GPU, PATH_REF } gemm_path;

typedef struct {
  gemm_path path;
  int mr, dm, dn, wg;
} gemm_cfg;

static gemm_cfg config(const dnacl_ctx *ctx) {
  /* 6 x 16: six float16 accumulators plus one row of B and a broadcast fit comfortably in
   * the 32 AVX-512 registers; a wider block spilled on PoCL. The NT block is 4 x 4 dot
   * products (16 accumulators + 8 loaded vectors). Groups of 4 tiles along N keep a
   * group's MR rows of A hot in L1 while its B panels stream from L2. */
  gemm_cfg c = {ctx->is_cpu ? PATH_CPU : PATH_GPU, 6, 4, 4, 4};
  const char *k = getenv("DNACL_GEMM_KERNEL");
  if (k && !strcmp(k, "cpu")) c.path = PATH_CPU;
  if (k && !strcmp(k, "gpu")) c.path = PATH_GPU;
  if (k && !strcmp(k, "ref")) c.path = PATH_REF;
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

dnacl_status dnacl_gemm(dnacl_ctx *ctx, cl_mem a, cl_mem b, cl_mem c, const dnacl_gemm_args *g) {
  const int M = g->M, N = g->N, K = g->K, batch = g->batch > 0 ? g->batch : 1;
  if (M < 0 || N < 0 || K < 0 || g->batch < 0)
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_gemm: negative size M=%d N=%d K=%d batch=%d", M, N, K,
                      g->batch);
  if (M == 0 || N == 0) return DNACL_OK;
  DNACL_TRY(check_operand("C", c, g->off_c, g->stride_c, batch, M, N, g->ldc));
  const size_t gz = (size_t)batch;
  if (K == 0) {
    /* An empty product: C = beta * C. */
    cl_kernel k;
    DNACL_TRY(dnacl_kernel(ctx, "gemm", "", "gemm_scale", &k));
    size_t global[3] = {(size_t)N, (size_t)M, gz}, local[3] = {1, 1, 1};
    return dnacl_run(ctx, k, 3, global, local, "iimuuif", M, N, c, (unsigned)g->off_c,
                     (unsigned)g->stride_c, g->ldc, (double)g->beta);
  }
  DNACL_TRY(check_operand("A", a, g->off_a, g->stride_a, batch, g->trans_a ? K : M,
                          g->trans_a ? M : K, g->lda));
  DNACL_TRY(check_operand("B", b, g->off_b, g->stride_b, batch, g->trans_b ? N : K,
                          g->trans_b ? K : N, g->ldb));

  gemm_cfg cfg = config(ctx);
  char opts[128];
  const char *name;
  size_t global[3], local[3] = {1, 1, 1};
  int pass_trans = 0;
  if (cfg.path == PATH_GPU) {
    /* 64 x 64 blocks, 16 x 16 work-items. */
    snprintf(opts, sizeof opts, "%s", ctx->is_cpu ? "-DGEMM_GPU_KERNEL=1" : "");
    name = "gemm_gpu";
    global[0] = (size_t)(N + 63) / 64 * 16;
    global[1] = (size_t)(M + 63) / 64 * 16;
    local[0] = local[1] = 16;
    pass_trans = 1;
  } else if (cfg.path == PATH_CPU && !(g->trans_a && g->trans_b)) {
    snprintf(opts, sizeof opts, "-DMR=%d -DDM=%d -DDN=%d%s", cfg.mr, cfg.dm, cfg.dn,
             ctx->is_cpu ? "" : " -DGEMM_CPU_KERNEL=1");
    if (!g->trans_b) {
      name = g->trans_a ? "gemm_cpu_tn" : "gemm_cpu_nn";
      global[0] = (size_t)(N + 15) / 16;
      global[1] = (size_t)(M + cfg.mr - 1) / (size_t)cfg.mr;
    } else {
      name = "gemm_cpu_nt";
      global[0] = (size_t)(N + cfg.dn - 1) / (size_t)cfg.dn;
      global[1] = (size_t)(M + cfg.dm - 1) / (size_t)cfg.dm;
    }
    local[0] = global[0] < (size_t)cfg.wg ? global[0] : (size_t)cfg.wg;
  } else {
    /* The reference, and A^T B^T on the CPU, which nothing in dnacl needs fast. */
    opts[0] = 0;
    name = "gemm_ref";
    global[0] = (size_t)N;
    global[1] = (size_t)M;
    local[0] = N < 16 ? (size_t)N : 16;
    pass_trans = 1;
  }
  global[2] = gz;
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "gemm", opts, name, &k));
  if (pass_trans)
    return dnacl_run(ctx, k, 3, global, local, "iiimuuimuuimuuiffii", M, N, K, a,
                     (unsigned)g->off_a, (unsigned)g->stride_a, g->lda, b, (unsigned)g->off_b,
                     (unsigned)g->stride_b, g->ldb, c, (unsigned)g->off_c, (unsigned)g->stride_c,
                     g->ldc, (double)g->alpha, (double)g->beta, g->trans_a, g->trans_b);
  return dnacl_run(ctx, k, 3, global, local, "iiimuuimuuimuuiff", M, N, K, a, (unsigned)g->off_a,
                   (unsigned)g->stride_a, g->lda, b, (unsigned)g->off_b, (unsigned)g->stride_b,
                   g->ldb, c, (unsigned)g->off_c, (unsigned)g->stride_c, g->ldc,
                   (double)g->alpha, (double)g->beta);
}
