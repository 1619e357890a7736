/* Small shared device ops on dnacl_tensors (kernels in cl/elementwise.cl): the residual add
 * and its backward, axpby, scale, elementwise product, and a deterministic sum.
 *
 * All are elementwise over the flat element count: shapes are not compared, only counts
 * (a mismatch is DNACL_ERR_SHAPE), so a (B, C*L) view and a (B, C, L) tensor mix freely.
 * Outputs may alias inputs (each element is read and written by the same work-item).
 * Launches are asynchronous on ctx's in-order queue, except dnacl_op_sum*, which read back. */
#ifndef DNACL_OPS_H
#define DNACL_OPS_H

#include "runtime/runtime.h"

/* y = a + b: the residual connection. Its backward is da = dy and db = dy; see
 * dnacl_op_add_backward. */
dnacl_status dnacl_op_add(dnacl_ctx *ctx, const dnacl_tensor *a, const dnacl_tensor *b,
                          dnacl_tensor *y);
/* Backward of y = a + b: da = dy, db = dy (each skipped when NULL, and no copy is made where
 * the gradient already shares dy's buffer). */
dnacl_status dnacl_op_add_backward(dnacl_ctx *ctx, const dnacl_tensor *dy, dnacl_tensor *da,
                                   dnacl_tensor *db);
/* y = alpha * x + beta * y (BLAS axpby). With beta == 0, y is only written, never read, so an
 * uninitialised y holding NaN does not turn into NaN. Use alpha = beta = 1 to accumulate
 * gradients. */
dnacl_status dnacl_op_axpby(dnacl_ctx *ctx, float alpha, const dnacl_tensor *x, float beta,
                            dnacl_tensor *y);
/* y = alpha * x (y may be x). */
dnacl_status dnacl_op_scale(dnacl_ctx *ctx, const dnacl_tensor *x, float alpha, dnacl_tensor *y);
/* y = a * b elementwise (e.g. gradient x input). */
dnacl_status dnacl_op_mul(dnacl_ctx *ctx, const dnacl_tensor *a, const dnacl_tensor *b,
                          dnacl_tensor *y);

/* Sum of all elements of x, deterministic: min(n, 16384) Kahan-compensated float partial sums
 * over a fixed strided split (depending only on n) on the device, then added in double on the
 * host in a fixed order. The same input gives the same bits on every run on a device (no
 * float atomics, no dependence on the work-group size). The error is at most ~1.2e-7 of
 * sum |x_i| at any size (one float rounding per partial), typically ~1e-10. Blocks until
 * the result is back. */
dnacl_status dnacl_op_sum_f64(dnacl_ctx *ctx, const dnacl_tensor *x, double *host_out);
/* The same, rounded to float. */
dnacl_status dnacl_op_sum(dnacl_ctx *ctx, const dnacl_tensor *x, float *host_out);

#endif
