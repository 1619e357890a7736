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

/* x[off + (r * N + n)] += bias[r % C] for rows r < rows: a (C, N) block (rows = C) or a
 * (B, C, L) tensor (rows = B * C, N = L). Global (N, rows). */
__kernel void attn_add_bias(__global float *x, int off, __global const float *bias, int C, int N,
                            int rows) {
  int n = get_global_id(0), r = get_global_id(1);
  if (n >= N || r >= rows) return;
  x[off + (size_t)r * N + n] += bias[r % C];
}

/* out[c] = sum over b < B, l < L of x[off + (b * C + c) * L + l]: the gradient of a
 * per-channel bias. One work-group per channel; each work-item sums a fixed strided
 * subset and the group combines the partial sums in a fixed tree, so the result does not
 * depend on scheduling (same bits every run). The local size must be a power of two. */
__kernel void attn_channel_sum(__global const float *x, int off, __global float *out, int B, int C,
                               int L, __local float *tmp) {
  int c = get_group_id(0), lid = get_local_id(0), nl = get_local_size(0);
  int n = B * L;
  float acc = 0.0f;
  for (int i = lid; i < n; i += nl) {
    int b = i / L, l = i - b * L;
    acc += x[off + ((size_t)b * C + c) * L + l];
  }
  tmp[lid] = acc;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = nl / 2; s > 0; s >>= 1) {
    if (lid < s) tmp[lid] += tmp[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0 && c < C) out[c] = tmp[0];
}

/* In-place softmax of each of n_rows rows of length n (the already scaled scores of one
 * query over all keys). The maximum is subtracted first so exp cannot overflow. */
__kernel void attn_softmax(__global float *s, int n_rows, int n) {
  int r = get_global_id(0);
  if (r >= n_rows) return;
  __global float *row = s + (size_t)r * n;
  float m = row[0];
  for (int j = 1; j < n; j++) m = fmax(m, row[j]);
  float sum = 0.0f;
  for (int j = 0; j < n; j++) {
    float e = exp(row[j] - m);
    row[j] = e;
    sum += e;
  }
  float inv = 1.0f / sum;
  for (int j = 0; j < n; j++) row[j] *= inv;
}

/* Softmax backward, in place: dp <- p * (dp - sum_j p_j dp_j) for each row. The 1/sqrt(D)
 * score scale is applied afterwards by the GEMMs that consume the result. */
__kernel void attn_softmax_backward(__global const float *p, __global float *dp, int n_rows, int n) {
  int r = get_global_id(0);
  if (r >= n_rows) return;
  __global const float *pr = p + (size_t)r * n;
  __global float *dr = dp + (size_t)r * n;
  float dot = 0.0f;
  for (int j = 0; j < n; j++) dot += pr[j] * dr[j];
  for (int j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - dot);
}
