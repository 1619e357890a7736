/* dnacl-selftest: -DMR=8 -DNB=2 -DDM=4 -DDN=6|-DMR=4 -DNB=2 -DDM=4 -DDN=6|-DMR=4 -DNB=1 -DDM=2 -DDN=2
 *
 * conv1d kernels (src/nn/conv1d.c): implicit GEMM on zero-padded rows.
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
 * conv1d_igemm (forward, and dx as a convolution of the padded dy with the weights
 *   transposed, the taps taken backwards):
 *   out[b, o, p] = bias[o] + sum_{c<C, k<K} wt[o*w_os + c*w_cs + k] * in[b, c, off + p + k*xstep]
 *   Forward: w_os = C*K, w_cs = K, xstep = dilation. dx (O is the layer's Cin, C its Cout)
 *   reads w itself with w_os = K, w_cs = O*K and xstep = -dilation: no flipped copy of w.
 *   Each work-item keeps an MR x 16 block (MR output channels x 16 positions) for each of
 *   NB sequences in float16 accumulators, as gemm_cpu_nn does: per (c, k), one vector load
 *   of an input row per sequence and MR broadcast weights, each weight feeding NB
 *   multiply-adds. Sequences rather than more positions share the weights because the
 *   length is rarely a multiple of 32 (the chapter's conv2 has 100 positions: 7 tiles of
 *   16 already compute 112). fma, not mad: PoCL compiles mad to a multiply and an add.
 * conv1d_dw, conv1d_dw_sum (weight and bias gradients):
 *   dw[o, c*K + k] = sum_b sum_l dy[b, o, l] * in[b, c, l + k*dil],  db[o] = sum_b sum_l dy[b, o, l]
 *   Both factors are contiguous along l, so each work-item computes a DM x DN block of dot
 *   products vectorised along l over one block of sequences; conv1d_dw_sum then adds the
 *   blocks. Every sum runs in a fixed order (deterministic, no atomics). Rows are zero
 *   beyond Lout up to the next multiple of 16, so whole vectors can be used.
 *
 * Edge tiles shift back inside the matrix and write only what they own (see cl/gemm.cl). */

#ifndef MR
#define MR 8
#endif
#ifndef NB
#define NB 2
#endif
#ifndef DM
#define DM 4
#endif
#ifndef DN
#define DN 6
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

__kernel void conv1d_igemm(int O, int C, int K, int xstep, int P, int B, __global const float *in,
                           int in_bstride, int in_row, int off, __global const float *wt,
                           int w_os, int w_cs, __global const float *bias, int has_bias,
                           __global float *out) {
  const int p_own = get_global_id(0) * 16, o_own = get_global_id(1) * MR, b_own = get_global_id(2) * NB;
  if (p_own >= P || o_own >= O || b_own >= B) return;
  const int p0 = tile_start(get_global_id(0), 16, P), o0 = tile_start(get_global_id(1), MR, O);
  __global const float *wr[MR];
  float16 acc[MR][NB];
#pragma unroll
  for (int i = 0; i < MR; i++) {
    int o = min(o0 + i, O - 1);
    wr[i] = wt + (size_t)o * w_os;
#pragma unroll
    for (int j = 0; j < NB; j++) acc[i][j] = (float16)(has_bias ? bias[o] : 0.0f);
  }
  /* Sequence j of the block is b_own + j, the last sequence again past the end of the batch
   * (computed, not written). */
  size_t boff[NB];
#pragma unroll
  for (int j = 0; j < NB; j++) boff[j] = (size_t)(min(b_own + j, B - 1) - b_own) * in_bstride;
  __global const float *x = in + b_own * (size_t)in_bstride + off + p0;
  for (int c = 0; c < C; c++, x += in_row) {
    __global const float *xk = x;
    const int c0 = c * w_cs;
    for (int k = 0; k < K; k++, xk += xstep) {
      float16 v[NB];
#pragma unroll
      for (int j = 0; j < NB; j++) v[j] = vload16(0, xk + boff[j]);
#pragma unroll
      for (int i = 0; i < MR; i++) {
        const float16 w = (float16)(wr[i][c0 + k]);
#pragma unroll
        for (int j = 0; j < NB; j++) acc[i][j] = fma(w, v[j], acc[i][j]);
      }
    }
  }
  const int full = p0 == p_own && P >= 16;
#pragma unroll
  for (int j = 0; j < NB; j++) {
    if (b_own + j >= B) continue;
    __global float *y = out + (size_t)(b_own + j) * O * P;
#pragma unroll
    for (int i = 0; i < MR; i++) {
      int o = o0 + i;
      if (o < o_own || o >= O) continue;
      __global float *yr = y + (size_t)o * P + p0;
      if (full) {
        vstore16(acc[i][j], 0, yr);
      } else {
        float t[16];
        vstore16(acc[i][j], 0, t);
        for (int q = max(0, p_own - p0); q < 16 && p0 + q < P; q++) yr[q] = t[q];
      }
    }
  }
}

inline float hsum16(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* The first tail values of a row from p, zeros after them. The vector load reads past the
 * row into the next one (rows are at least 16 long), which only the buffer's last row must
 * not do. */
inline float16 tail_row(__global const float *p, int tail, int16 drop, int last_row) {
  if (!last_row) return select(vload16(0, p), (float16)(0.0f), drop);
  float t[16];
  for (int q = 0; q < 16; q++) t[q] = q < tail ? p[q] : 0.0f;
  return vload16(0, t);
}

/* Partial weight and bias gradients of one block of sequences, b in [blk*BB, blk*BB + BB):
 *   part[blk, o, n] = sum_{b in block} sum_l dy[b, o, l] * in[b, c, l + k*dil], n = c*K + k < CK
 *   part[blk, o, CK] = sum_{b in block} sum_l dy[b, o, l]      (the bias gradient)
 * with dy[b, o, l] = dys[b*dy_bstride + o*dy_row + dy_off + l] and in[b, c, j] =
 * x[b*x_bstride + c*x_row + j]. The sum over l runs in nfull chunks of 16 from l = 0, then,
 * if tail > 0, one more chunk of which only the first tail lanes are read (the rest are
 * zero). With the padded dy (zeros past Lout) the host asks for whole chunks only; with the
 * layer's own dy (the first layer, which needs no dx and so no padded dy) for Lout / 16
 * chunks and a tail of Lout % 16: the same products in the same lanes, so dw and db have
 * the same bits either way. The tail loads a whole vector, reaching into the next row,
 * except for the buffer's last row, which it reads element by element.
 * Why blocks of sequences: a work-item streams its DM rows of dy and DN rows of x over the
 * whole reduction. Over all of a batch of 256 that is 8 MB of each for the chapter's conv2,
 * far beyond a core's 1 MB L2, so every tile read them again from L3: dw took 30% longer
 * than the forward GEMM of the same size. Dimension 2 runs slowest, so all tiles of one
 * block run before the next block starts and share its rows in L2 (the host sizes a block
 * at about 512 KB). The work-items one past the last tile column along n compute the bias
 * gradient instead, when N = CK + 1 (the bias had its own kernel, which read dy once more). */
inline void dw_block(int O, int C, int K, int dil, int B, int BB, int nfull, int tail,
                     __global const float *dys, int dy_bstride, int dy_row, int dy_off,
                     __global const float *x, int x_bstride, int x_row, int N,
                     __global float *part) {
  const int CK = C * K, blk = get_global_id(2);
  const int ntiles = (CK + DN - 1) / DN, n_own = get_global_id(0) * DN, o_own = get_global_id(1) * DM;
  if (get_global_id(0) >= ntiles + (N - CK) || o_own >= O) return;
  const int o0 = tile_start(get_global_id(1), DM, O);
  const int b0 = blk * BB, b1 = min(B, b0 + BB);
  const int16 drop = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) >= (int16)(tail);
  __global float *out = part + (size_t)blk * O * N;
  size_t ao[DM];
#pragma unroll
  for (int i = 0; i < DM; i++) ao[i] = (size_t)min(o0 + i, O - 1) * dy_row + dy_off;
  if (get_global_id(0) == ntiles) { /* the bias column */
    float16 acc[DM];
#pragma unroll
    for (int i = 0; i < DM; i++) acc[i] = (float16)(0.0f);
    for (int b = b0; b < b1; b++) {
      __global const float *db = dys + (size_t)b * dy_bstride;
      for (int ch = 0; ch < nfull; ch++)
#pragma unroll
        for (int i = 0; i < DM; i++) acc[i] += vload16(0, db + ao[i] + ch * 16);
      if (tail > 0)
#pragma unroll
        for (int i = 0; i < DM; i++) acc[i] += tail_row(db + ao[i] + nfull * 16, tail, drop, b == B - 1 && o0 + i == O - 1);
    }
#pragma unroll
    for (int i = 0; i < DM; i++)
      if (o0 + i >= o_own && o0 + i < O) out[(size_t)(o0 + i) * N + CK] = hsum16(acc[i]);
    return;
  }
  const int n0 = tile_start(get_global_id(0), DN, CK);
  size_t bo[DN];
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
  /* One chunk of 16 positions from l: DM rows of dy (read by LOAD), DN rows of x. */
#define DW_CHUNK(l, LOAD)                                                   \
  {                                                                         \
    float16 a[DM], v[DN];                                                   \
    _Pragma("unroll") for (int i = 0; i < DM; i++) a[i] = LOAD(i, db + ao[i] + (l));            \
    _Pragma("unroll") for (int j = 0; j < DN; j++) v[j] = vload16(0, xb + bo[j] + (l));       \
    _Pragma("unroll") for (int i = 0; i < DM; i++)                          \
      _Pragma("unroll") for (int j = 0; j < DN; j++) acc[i][j] = fma(a[i], v[j], acc[i][j]); \
  }
#define DW_ALL(i, p) vload16(0, p)
#define DW_TAIL(i, p) tail_row(p, tail, drop, b == B - 1 && o0 + i == O - 1)
  for (int b = b0; b < b1; b++) {
    __global const float *db = dys + (size_t)b * dy_bstride;
    __global const float *xb = x + (size_t)b * x_bstride;
    for (int ch = 0; ch < nfull; ch++) DW_CHUNK(ch * 16, DW_ALL)
    if (tail > 0) DW_CHUNK(nfull * 16, DW_TAIL)
  }
#pragma unroll
  for (int i = 0; i < DM; i++) {
    int o = o0 + i;
    if (o < o_own || o >= O) continue;
#pragma unroll
    for (int j = 0; j < DN; j++) {
      int n = n0 + j;
      if (n < n_own || n >= CK) continue;
      out[(size_t)o * N + n] = hsum16(acc[i][j]);
    }
  }
}

/* Two entry points with the same arguments, so that the one over the padded dy (every
 * layer with dx; its tail is 0) compiles without the tail's code: with it in the same
 * function the main loop's pointers spilled and the padded case took 5-8% longer.
 * conv1d_dw_tail needs rows of at least 16 (the host pads shorter ones). */
__kernel void conv1d_dw(int O, int C, int K, int dil, int B, int BB, int nchunks, int tail,
                        __global const float *dyp, int dy_bstride, int dy_row, int dy_off,
                        __global const float *x, int x_bstride, int x_row, int N,
                        __global float *part) {
  (void)tail;
  dw_block(O, C, K, dil, B, BB, nchunks, 0, dyp, dy_bstride, dy_row, dy_off, x, x_bstride, x_row,
           N, part);
}

__kernel void conv1d_dw_tail(int O, int C, int K, int dil, int B, int BB, int nfull, int tail,
                             __global const float *dy, int dy_bstride, int dy_row, int dy_off,
                             __global const float *x, int x_bstride, int x_row, int N,
                             __global float *part) {
  dw_block(O, C, K, dil, B, BB, nfull, tail, dy, dy_bstride, dy_row, dy_off, x, x_bstride, x_row,
           N, part);
}

/* dw[o, n] = sum_blk part[blk, o, n] for n < CK and, with a bias, db[o] = sum_blk
 * part[blk, o, CK]: the blocks in a fixed order, so the result does not depend on how the
 * work was scheduled. A work-item sums 16 consecutive n as one vector (a work-item per
 * element ran at a tenth of memory speed on PoCL); the last one of a row goes element by
 * element. */
__kernel void conv1d_dw_sum(int O, int CK, int N, int nblk, __global const float *part,
                            __global float *dw, __global float *db) {
  const int n0 = get_global_id(0) * 16, o = get_global_id(1);
  if (n0 >= N || o >= O) return;
  __global const float *p = part + (size_t)o * N + n0;
  const size_t bstride = (size_t)O * N;
  if (n0 + 16 <= CK) {
    float16 s = vload16(0, p);
    for (int k = 1; k < nblk; k++) s += vload16(0, p + k * bstride);
    vstore16(s, 0, dw + (size_t)o * CK + n0);
    return;
  }
  for (int n = n0; n < min(N, n0 + 16); n++, p++) {
    float s = p[0];
    for (int k = 1; k < nblk; k++) s += p[k * bstride];
    if (n < CK) dw[(size_t)o * CK + n] = s;
    else db[o] = s;
  }
}
