/* conv1d kernels (src/nn/conv1d.c): implicit GEMM on zero-padded rows.
 *
 * Why implicit rather than im2col + dnacl_gemm: the column matrix of the chapter's second
 * conv is Cin*K = 640 rows by L for each sequence, ten times the input; writing it and
 * reading it back costs about as much memory traffic as the GEMM's arithmetic takes on
 * PoCL. Reading the input rows directly keeps the working set at the input's size.
 *
 * Why padded copies: the host copies the input (and, for backward, the upstream gradient)
 * into rows with explicit zeros around them (conv1d_pad), long enough that every 16-wide
 * vector load of every tile, edge tiles included, stays inside its row. The kernels then
 * have no bounds checks in their inner loops and no slow edge path. The copies are the
 * size of the activations, a small fraction of the GEMM traffic.
 *
 * conv1d_igemm (forward, and dx as a convolution of the padded dy with flipped,
 * transposed weights):
 *   out[b, o, p] = bias[o] + sum_{c<C, k<K} wt[o, c*K + k] * in[b, c, off + p + k*dil]
 *   Each work-item keeps an MR x 16 block (MR output channels x 16 positions) in MR float16
 *   accumulators, as gemm_cpu_nn does: one vector load of an input row per (c, k) feeds MR
 *   multiply-adds with broadcast weights.
 * conv1d_dw (weight gradient):
 *   dw[o, c*K + k] = sum_b sum_l dy[b, o, l] * in[b, c, l + k*dil]
 *   Both factors are contiguous along l, so each work-item computes a DM x DN block of dot
 *   products vectorised along l, the batch summed in a fixed order (deterministic, no
 *   atomics). Rows are zero beyond Lout up to the next multiple of 16, so whole vectors
 *   can be used.
 *
 * Edge tiles shift back inside the matrix and write only what they own (see cl/gemm.cl). */

#ifndef MR
#define MR 8
#endif
#ifndef DM
#define DM 4
#endif
#ifndef DN
#define DN 4
#endif

inline int tile_start(int t, int w, int len) { return max(0, min(t * w, len - w)); }

/* dst[r, j] = src[r, j - left] inside the source row, 0 elsewhere; dst rows are drow long
 * and must hold left + slen. One work-item per row: three plain loops the compiler turns
 * into vector stores (one work-item per element, with a bounds test each, ran at a fifth
 * of memory speed on PoCL). Every element of dst is written, so the padding is real zeros
 * (0 * leftover garbage could be NaN). */
__kernel void conv1d_pad(__global const float *src, int rows, int slen, __global float *dst,
                         int drow, int left) {
  int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *s = src + (size_t)r * slen;
  __global float *d = dst + (size_t)r * drow;
  for (int j = 0; j < left; j++) d[j] = 0.0f;
  d += left;
  for (int j = 0; j < slen; j++) d[j] = s[j];
  for (int j = slen; j < drow - left; j++) d[j] = 0.0f;
}

/* wt[c, o*K + k'] = w[o, c, K-1-k']: the weights of dx as a convolution of dy. */
__kernel void conv1d_flip(__global const float *w, int cout, int cin, int K, __global float *wt) {
  int i = get_global_id(0);
  if (i >= cout * cin * K) return;
  int kk = i % K, c = (i / K) % cin, o = i / (K * cin);
  wt[((size_t)c * cout + o) * K + (K - 1 - kk)] = w[i];
}

__kernel void conv1d_igemm(int O, int C, int K, int dil, int P, __global const float *in,
                           int in_bstride, int in_row, int off, __global const float *wt,
                           __global const float *bias, int has_bias, __global float *out) {
  const int p_own = get_global_id(0) * 16, o_own = get_global_id(1) * MR;
  if (p_own >= P || o_own >= O) return;
  const int p0 = tile_start(get_global_id(0), 16, P), o0 = tile_start(get_global_id(1), MR, O);
  const int CK = C * K;
  __global const float *wr[MR];
  float16 acc[MR];
#pragma unroll
  for (int i = 0; i < MR; i++) {
    int o = min(o0 + i, O - 1);
    wr[i] = wt + (size_t)o * CK;
    acc[i] = (float16)(has_bias ? bias[o] : 0.0f);
  }
  __global const float *x = in + get_global_id(2) * (size_t)in_bstride + off + p0;
  for (int c = 0; c < C; c++, x += in_row) {
    __global const float *xk = x;
    for (int k = 0; k < K; k++, xk += dil) {
      float16 v = vload16(0, xk);
      const int ck = c * K + k;
#pragma unroll
      for (int i = 0; i < MR; i++) acc[i] = mad((float16)(wr[i][ck]), v, acc[i]);
    }
  }
  __global float *y = out + get_global_id(2) * (size_t)O * P;
  const int full = p0 == p_own && P >= 16;
#pragma unroll
  for (int i = 0; i < MR; i++) {
    int o = o0 + i;
    if (o < o_own || o >= O) continue;
    __global float *yr = y + (size_t)o * P + p0;
    if (full) {
      vstore16(acc[i], 0, yr);
    } else {
      float t[16];
      vstore16(acc[i], 0, t);
      for (int j = max(0, p_own - p0); j < 16 && p0 + j < P; j++) yr[j] = t[j];
    }
  }
}

inline float hsum16(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* dy[b, o, l] = dyp[b*dy_bstride + o*dy_row + dy_off + l], zero for Lout <= l < 16*nchunks;
 * in[b, c, l + k*dil] = x[b*x_bstride + c*x_row + l + k*dil]. */
__kernel void conv1d_dw(int O, int C, int K, int dil, int B, int nchunks, __global const float *dyp,
                        int dy_bstride, int dy_row, int dy_off, __global const float *x,
                        int x_bstride, int x_row, __global float *dw) {
  const int CK = C * K;
  const int n_own = get_global_id(0) * DN, o_own = get_global_id(1) * DM;
  if (n_own >= CK || o_own >= O) return;
  const int n0 = tile_start(get_global_id(0), DN, CK), o0 = tile_start(get_global_id(1), DM, O);
  size_t ao[DM], bo[DN];
#pragma unroll
  for (int i = 0; i < DM; i++) ao[i] = (size_t)min(o0 + i, O - 1) * dy_row + dy_off;
#pragma unroll
  for (int j = 0; j < DN; j++) {
    int n = min(n0 + j, CK - 1);
    bo[j] = (size_t)(n / K) * x_row + (size_t)(n % K) * dil;
  }
  float16 acc[DM][DN];
#pragma unroll
  for (int i = 0; i < DM; i++)
#pragma unroll
    for (int j = 0; j < DN; j++) acc[i][j] = (float16)(0.0f);
  for (int b = 0; b < B; b++) {
    __global const float *db = dyp + (size_t)b * dy_bstride;
    __global const float *xb = x + (size_t)b * x_bstride;
    for (int ch = 0; ch < nchunks; ch++) {
      float16 a[DM], v[DN];
#pragma unroll
      for (int i = 0; i < DM; i++) a[i] = vload16(0, db + ao[i] + ch * 16);
#pragma unroll
      for (int j = 0; j < DN; j++) v[j] = vload16(0, xb + bo[j] + ch * 16);
#pragma unroll
      for (int i = 0; i < DM; i++)
#pragma unroll
        for (int j = 0; j < DN; j++) acc[i][j] = mad(a[i], v[j], acc[i][j]);
    }
  }
#pragma unroll
  for (int i = 0; i < DM; i++) {
    int o = o0 + i;
    if (o < o_own || o >= O) continue;
#pragma unroll
    for (int j = 0; j < DN; j++) {
      int n = n0 + j;
      if (n < n_own || n >= CK) continue;
      dw[(size_t)o * CK + n] = hsum16(acc[i][j]);
    }
  }
}

/* db[o] = sum_b sum_l dy[b, o, l] in a fixed order, from the padded dy (zeros past Lout,
 * rows aligned) with 16 partial sums: a single running sum is one long chain of dependent
 * additions, latency-bound. */
__kernel void conv1d_db(int O, int B, int nchunks, __global const float *dyp, int dy_bstride,
                        int dy_row, int dy_off, __global float *db) {
  int o = get_global_id(0);
  if (o >= O) return;
  float16 acc = (float16)(0.0f);
  for (int b = 0; b < B; b++) {
    __global const float *r = dyp + (size_t)b * dy_bstride + (size_t)o * dy_row + dy_off;
    for (int ch = 0; ch < nchunks; ch++) acc += vload16(ch, r);
  }
  db[o] = hsum16(acc);
}
