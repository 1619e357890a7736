/* Multi-head self-attention (src/nn/attention.c) and the transformer block's per-token
 * dense layers (src/nn/transformer.c).
 *
 * The matrix products all go through dnacl_gemm. What is here is the glue around them:
 * layout changes between the activation layout (B, C, L) and the token-major layout
 * (C, B*L) in which one GEMM covers every token of the batch, per-channel bias adds, bias
 * gradients (a deterministic work-group tree reduction, no atomics), and the row softmax
 * of the attention scores with its backward. Every kernel checks its bounds because
 * dnacl_run pads global sizes up to the work-group multiple. */

/* dst (C, B, L) <- src (B, C, L). Global (L, C, B): consecutive work-items walk along l,
 * so reads and writes are both contiguous. */
__kernel void attn_bcl_to_cbl(__global const float *src, __global float *dst, int B, int C, int L) {
  int l = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
  if (l >= L || c >= C || b >= B) return;
  dst[((size_t)c * B + b) * L + l] = src[((size_t)b * C + c) * L + l];
}

/* dst (B, C, L) <- src (C, B, L) (+ bias[c] when has_bias). The forward output of the
 * attention layer takes its output-projection bias here, saving a pass. */
__kernel void attn_cbl_to_bcl(__global const float *src, __global float *dst,
                              __global const float *bias, int has_bias, int B, int C, int L) {
  int l = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
  if (l >= L || c >= C || b >= B) return;
  float v = src[((size_t)c * B + b) * L + l];
  if (has_bias) v += bias[c];
  dst[((size_t)b * C + c) * L + l] = v;
}

/* x[off + (b * C + c) * N + n] += bias[c]: a (C, N) block (B = 1) or a (B, C, L) tensor
 * (N = L). Global (N, C, B). The channel comes from its own dimension rather than as
 * row % C: PoCL did not hoist that modulo, and the kernel ran 5x slower with it. */
__kernel void attn_add_bias(__global float *x, int off, __global const float *bias, int C,
                            int N) {
  int n = get_global_id(0), c = get_global_id(1), b = get_global_id(2);
  if (n >= N || c >= C) return;
  x[off + ((size_t)b * C + c) * N + n] += bias[c];
}

/* out[c] = sum over b < B, l < L of x[off + (b * C + c) * L + l]: the gradient of a
 * per-channel bias. One work-group per channel; each work-item sums a fixed strided
 * subset and the group combines the partial sums in a fixed tree, so the result does not
 * depend on scheduling (same bits every run). The local size must be a power of two.
 * Two loops rather than one flat index: an integer division per element made this kernel
 * several times slower on PoCL. */
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

/* In-place softmax of each of n_rows rows of length n (the already scaled scores of one
 * query over all keys). The maximum is subtracted first so exp cannot overflow. Eight
 * lanes at a time: PoCL then calls its vector exp, which made the kernel 8x faster on the
 * CPU than one scalar exp per element (the rows are too short to share across work-items
 * profitably). */
__kernel void attn_softmax(__global float *s, int n_rows, int n) {
  int r = get_global_id(0);
  if (r >= n_rows) return;
  __global float *row = s + (size_t)r * n;
  const int n8 = n & ~7;
  float8 mv = (float8)(-INFINITY);
  for (int j = 0; j < n8; j += 8) mv = fmax(mv, vload8(0, row + j));
  float m = fmax(fmax(fmax(mv.s0, mv.s1), fmax(mv.s2, mv.s3)),
                 fmax(fmax(mv.s4, mv.s5), fmax(mv.s6, mv.s7)));
  for (int j = n8; j < n; j++) m = fmax(m, row[j]);
  float8 sv = (float8)(0.0f);
  for (int j = 0; j < n8; j += 8) {
    float8 e = exp(vload8(0, row + j) - m);
    vstore8(e, 0, row + j);
    sv += e;
  }
  float sum = ((sv.s0 + sv.s1) + (sv.s2 + sv.s3)) + ((sv.s4 + sv.s5) + (sv.s6 + sv.s7));
  for (int j = n8; j < n; j++) {
    float e = exp(row[j] - m);
    row[j] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < n; j++) row[j] *= inv;
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
