/* Per-token helpers of the attention layer (kernels in cl/attention.cl), shared with the
 * transformer block's per-token dense layers. Tensors are (B, C, L) with L contiguous. */
#ifndef DNACL_ATTENTION_H
#define DNACL_ATTENTION_H
#include "runtime/runtime.h"

/* dst[c, b*L + l] (starting dst_off floats in) = src[b, c, l]: tokens of all sequences side
 * by side, so a weight gradient is one GEMM over every token. */
dnacl_status dnacl_attn_bcl_to_cbl(dnacl_ctx *ctx, cl_mem src, cl_mem dst, size_t dst_off, int B,
                                   int C, int L);
/* x[b, c, n] += bias[c] for x of shape (B, C, N) starting off floats in. */
dnacl_status dnacl_attn_add_bias(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem bias, int B, int C,
                                 int N);
/* out[c] = sum over b, l of x[b, c, l]: a bias gradient, in a fixed order. */
dnacl_status dnacl_attn_channel_sum(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem out, int B, int C,
                                    int L);
#endif
