/* Multi-head self-attention (src/nn/attention.c) and the transformer block's per-token
 * dense layers (src/nn/transformer.c).
 *
 * The matrix products all go through dnacl_gemm. What is here is the glue around them:
 * the change from the activation layout (B, C, L) to the token-major layout (C, B*L) in
 * which a weight gradient is one GEMM over every token of the batch, per-channel bias adds
 * and bias gradients (deterministic: no atomics), and the row softmax of the attention
 * scores with its backward. Every kernel checks its bounds because dnacl_run pads global
 * sizes up to the work-group multiple. */

/* dst[dst_off + (C, B, L)] <- src (B, C, L): a (B, C, L) tensor made token-major, so that
 * a weight gradient is one GEMM contracting over all B*L tokens. Global (L, C, B):
 * consecutive work-items walk along l, so reads and writes are both contiguous. */
__kernel void attn_bcl_to_cbl(__global const float *src, __global float *dst, int dst_off, int B,
                              int C, int L) {
  int l = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
  if (l >= L || c >= C || b >= B) return;
  dst[dst_off + ((size_t)c * B + b) * L + l] = src[((size_t)b * C + c) * L + l];
}

/* x[off + (b * C + c) * N + n] += bias[c] for a (B, C, N) tensor. Two forms, chosen on the
 * host by device class:
 * - GPU: one work-item per element, global (N, C, B), so that accesses coalesce. The
 *   channel comes from its own dimension (a per-element row % C cost 5x on PoCL).
 * - CPU: one work-item per row of N, a plain loop LLVM vectorises; PoCL ran this 3-5x
 *   faster than the per-element form for rows of 50. */
__kernel void attn_add_bias(__global float *x, int off, __global const float *bias, int C,
                            int N) {
  int n = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
  if (n >= N || c >= C) return;
  x[off + ((size_t)b * C + c) * N + n] += bias[c];
}

__kernel void attn_add_bias_rows(__global float *x, int off, __global const float *bias, int C,
                                 int N, int rows) {
  int r = get_global_id(0);
  if (r >= rows) return;
  const float v = bias[r % C];
  __global float *p = x + off + (size_t)r * N;
  for (int n = 0; n < N; n++) p[n] += v;
}

/* out[c] = sum over b < B, l < L of x[off + (b * C + c) * L + l]: the gradient of a
 * per-channel bias. Both forms sum in an order fixed by the shape alone, so the result has
 * the same bits on every run (no atomics).
 * - GPU: one work-group per channel; each work-item sums a strided subset and the group
 *   combines the partial sums in a fixed tree. The local size must be a power of two. Two
 *   loops rather than one flat index: an integer division per element is slow.
 * - CPU: one work-item per channel, eight lanes of partial sums along each row (PoCL's
 *   work-group barriers and the short rows made the tree form the slower one there). */
__kernel void attn_channel_sum(__global const float *x, int off, __global float *out, int B, int C,
                               int L, __local float *tmp) {
  int c = get_group_id(0), lid = get_local_id(0), nl = get_local_size(0);
  float acc = 0.0f;
  for (int b = 0; b < B; b++) {
    __global const float *row = x + off + ((size_t)b * C + c) * L;
    for (int l = lid; l < L; l += nl) acc += row[l];
  }
  tmp[lid] = acc;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = nl / 2; s > 0; s >>= 1) {
    if (lid < s) tmp[lid] += tmp[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) out[c] = tmp[0];
}

__kernel void attn_channel_sum_rows(__global const float *x, int off, __global float *out, int B,
                                    int C, int L) {
  int c = get_global_id(0);
  if (c >= C) return;
  const int L8 = L & ~7;
  float8 a8 = (float8)(0.0f);
  float a1 = 0.0f;
  for (int b = 0; b < B; b++) {
    __global const float *row = x + off + ((size_t)b * C + c) * L;
    for (int l = 0; l < L8; l += 8) a8 += vload8(0, row + l);
    for (int l = L8; l < L; l++) a1 += row[l];
  }
  out[c] = (((a8.s0 + a8.s1) + (a8.s2 + a8.s3)) + ((a8.s4 + a8.s5) + (a8.s6 + a8.s7))) + a1;
}

/* In-place softmax of each of n_rows rows of length n (the already scaled scores of one
 * query over all keys). The maximum is subtracted first so exp cannot overflow. Every exp
 * is taken eight lanes at a time, the ragged end of the row too (padded with -inf, whose
 * exp is 0): PoCL then calls its vector exp, and scalar exps had made this kernel 8x
 * slower on the CPU. The rows are too short to share across work-items profitably. */
__kernel void attn_softmax(__global float *s, int n_rows, int n) {
  int r = get_global_id(0);
  if (r >= n_rows) return;
  __global float *row = s + (size_t)r * n;
  const int n8 = n & ~7, t = n - n8;
  float tail[8];
  for (int k = 0; k < 8; k++) tail[k] = k < t ? row[n8 + k] : -INFINITY;
  float8 mv = vload8(0, tail);
  for (int j = 0; j < n8; j += 8) mv = fmax(mv, vload8(0, row + j));
  const float m = fmax(fmax(fmax(mv.s0, mv.s1), fmax(mv.s2, mv.s3)),
                       fmax(fmax(mv.s4, mv.s5), fmax(mv.s6, mv.s7)));
  float8 te = exp(vload8(0, tail) - m);
  float8 sv = te;
  for (int j = 0; j < n8; j += 8) {
    float8 e = exp(vload8(0, row + j) - m);
    vstore8(e, 0, row + j);
    sv += e;
  }
  const float sum = ((sv.s0 + sv.s1) + (sv.s2 + sv.s3)) + ((sv.s4 + sv.s5) + (sv.s6 + sv.s7));
  const float inv = 1.0f / sum;
  for (int j = 0; j < n8; j += 8) vstore8(vload8(0, row + j) * inv, 0, row + j);
  vstore8(te * inv, 0, tail);
  for (int k = 0; k < t; k++) row[n8 + k] = tail[k];
}

/* Softmax backward, in place: dp <- p * (dp - sum_j p_j dp_j) for each row. The 1/sqrt(D)
 * score scale is applied afterwards by the GEMMs that consume the result. Eight lanes at
 * a time, like the forward. */
__kernel void attn_softmax_backward(__global const float *p, __global float *dp, int n_rows, int n) {
  int r = get_global_id(0);
  if (r >= n_rows) return;
  __global const float *pr = p + (size_t)r * n;
  __global float *dr = dp + (size_t)r * n;
  const int n8 = n & ~7;
  float8 dv = (float8)(0.0f);
  for (int j = 0; j < n8; j += 8) dv += vload8(0, pr + j) * vload8(0, dr + j);
  float dot = ((dv.s0 + dv.s1) + (dv.s2 + dv.s3)) + ((dv.s4 + dv.s5) + (dv.s6 + dv.s7));
  for (int j = n8; j < n; j++) dot += pr[j] * dr[j];
  for (int j = 0; j < n8; j += 8) {
    float8 pv = vload8(0, pr + j);
    vstore8(pv * (vload8(0, dr + j) - dot), 0, dr + j);
  }
  for (int j = n8; j < n; j++) dr[j] = pr[j] * (dr[j] - dot);
}
