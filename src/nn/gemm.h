/* General matrix multiply on the device, used by dense, conv1d (implicit GEMM / im2col)
 * and attention. Row-major. For each b in [0, batch):
 *   C_b = alpha * op(A_b) * op(B_b) + beta * C_b
 * op(A_b) is M x K: A_b is stored M x K with row stride lda, or with trans_a K x M.
 * op(B_b) is K x N: B_b is stored K x N with row stride ldb, or with trans_b N x K.
 * X_b starts at off_x + b * stride_x elements into its buffer.
 * beta == 0 means C is write-only (its old contents may be NaN). */
#ifndef DNACL_GEMM_H
#define DNACL_GEMM_H
#include "runtime/runtime.h"

typedef struct dnacl_gemm_args {
  int trans_a, trans_b;
  int M, N, K;
  int lda, ldb, ldc;
  int batch;                          /* 0 is treated as 1 */
  size_t stride_a, stride_b, stride_c;
  size_t off_a, off_b, off_c;
  float alpha, beta;
} dnacl_gemm_args;

dnacl_status dnacl_gemm(dnacl_ctx *ctx, cl_mem a, cl_mem b, cl_mem c, const dnacl_gemm_args *g);
#endif
