/* In silico saturation mutagenesis (src/explain/ism.c).
 *
 * A variant is described by three ints in vlist: r (the reference sequence's row in the
 * current chunk), p (the mutated position; -1 for the unmutated reference) and b (the base
 * written at p). Windows: for every activation i of the local part of the network (the
 * layers before the first dense one) a variant at position p changes only positions
 * [A_i[p], A_i[p] + W_i) (host-computed receptive-field tables, one int per input position),
 * so the incremental method keeps, per variant, just that window (V, C, W_i); outside it
 * the variant's activation equals the reference's. Every kernel that needs values outside
 * a window reads them from the reference activations (R, C, L_i).
 *
 * All sums run in a fixed order (no atomics): the same input gives the same bits. */

#ifndef GM
#define GM 12
#endif

/* Naive method: B full copies of the reference with one base changed, one work-item per
 * (row, channel): a plain row copy the compiler vectorises, then the one changed element. */
__kernel void ism_build_rows(__global const float *x, int C, int L, __global const int *vlist,
                             int B, __global float *rows) {
  const int i = get_global_id(0);
  if (i >= B * C) return;
  const int v = i / C, c = i - v * C;
  const int r = vlist[3 * v], p = vlist[3 * v + 1], b = vlist[3 * v + 2];
  __global const float *s = x + ((size_t)r * C + c) * L;
  __global float *d = rows + (size_t)i * L;
  for (int l = 0; l < L; l++) d[l] = s[l];
  if (p >= 0) d[p] = c == b ? 1.0f : 0.0f;
}

/* The input window of each variant: win[v, c, t] is the variant's input at a + t. */
__kernel void ism_window_input(__global const float *x, int C, int L, __global const int *vlist,
                               __global const int *A, int W, int V, __global float *win) {
  const int t = get_global_id(0), c = get_global_id(1), v = get_global_id(2);
  if (t >= W || c >= C || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1], b = vlist[3 * v + 2];
  const int s = A[p] + t;
  win[((size_t)v * C + c) * W + t] = s == p ? (c == b ? 1.0f : 0.0f) : x[((size_t)r * C + c) * L + s];
}

/* Change of a convolution's input, channel-major for the GEMM that follows:
 * d[c, v*W + j] = win[v, c, j] - ref[r, c, a + j], rows ld apart. */
__kernel void ism_delta(__global const float *win, __global const float *ref, int C, int L, int W,
                        __global const int *vlist, __global const int *A, int V, int ld,
                        __global float *d) {
  const int j = get_global_id(0), c = get_global_id(1), v = get_global_id(2);
  if (j >= W || c >= C || v >= V) return;
  const int r = vlist[3 * v], a = A[vlist[3 * v + 1]];
  d[(size_t)c * ld + (size_t)v * W + j] =
      win[((size_t)v * C + c) * W + j] - ref[((size_t)r * C + c) * L + a + j];
}

/* Output window of a convolution from the GEMM's partial products
 *   T[o*K + k, v*Win + j] = sum_c w[o, c, k] * d[c, v*Win + j]:
 * input j (absolute ain + j) reaches output q (absolute aout + q) through tap k when
 * ain + j = aout + q + k*dil - left, so
 *   out[v, o, q] = ref_out[r, o, aout + q] + sum_k T[o*K + k, v*Win + j(k)].
 * Every product of T lands in exactly one output of the window (the window holds every
 * output the change reaches), so this pass adds no arithmetic beyond the GEMM's. */
__kernel void ism_conv_gather(__global const float *T, int ldt, __global const float *ref_out,
                              int Cout, int Lout, int Wout, __global const int *Aout, int K,
                              int dil, int left, int Win, __global const int *Ain,
                              __global const int *vlist, int V, __global float *out) {
  const int q = get_global_id(0), o = get_global_id(1), v = get_global_id(2);
  if (q >= Wout || o >= Cout || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1];
  const int aout = Aout[p], s = aout + q - left - Ain[p];
  float acc = ref_out[((size_t)r * Cout + o) * Lout + aout + q];
  __global const float *t = T + (size_t)o * K * ldt + (size_t)v * Win;
  for (int k = 0; k < K; k++) {
    const int j = s + k * dil;
    if (j >= 0 && j < Win) acc += t[(size_t)k * ldt + j];
  }
  out[((size_t)v * Cout + o) * Wout + q] = acc;
}

/* The stretch of a variant's activation that a pooling window of the next layer reads:
 * E[v, c, t] at absolute position Aout[p]*S + t, from the window where it has one and from
 * the reference elsewhere. Pooling E with the layer's own kernel gives the output window. */
__kernel void ism_expand(__global const float *win, __global const float *ref, int C, int L,
                         int Win, __global const int *Ain, __global const int *vlist,
                         __global const int *Aout, int S, int We, int V, __global float *E) {
  const int t = get_global_id(0), c = get_global_id(1), v = get_global_id(2);
  if (t >= We || c >= C || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1];
  const int s = Aout[p] * S + t, j = s - Ain[p];
  E[((size_t)v * C + c) * We + t] = j >= 0 && j < Win ? win[((size_t)v * C + c) * Win + j]
                                                       : ref[((size_t)r * C + c) * L + s];
}

/* Residual add over the union of the branch's and the skip's windows. */
__kernel void ism_resadd(__global const float *wa, int Wa, __global const int *Aa,
                         __global const float *ra, __global const float *wb, int Wb,
                         __global const int *Ab, __global const float *rb, int C, int L,
                         __global const int *vlist, __global const int *Aout, int Wout, int V,
                         __global float *out) {
  const int t = get_global_id(0), c = get_global_id(1), v = get_global_id(2);
  if (t >= Wout || c >= C || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1];
  const int s = Aout[p] + t, ja = s - Aa[p], jb = s - Ab[p];
  const size_t ref_i = ((size_t)r * C + c) * L + s;
  const float xa = ja >= 0 && ja < Wa ? wa[((size_t)v * C + c) * Wa + ja] : ra[ref_i];
  const float xb = jb >= 0 && jb < Wb ? wb[((size_t)v * C + c) * Wb + jb] : rb[ref_i];
  out[((size_t)v * C + c) * Wout + t] = xa + xb;
}

/* The first dense layer, updated by the change of its input:
 *   y[v, u] = yref[r, u] + sum_{c, j} wt[c*L + a + j, u] * (win[v, c, j] - ref[r, c, a + j])
 * with wt the transposed weights (rows U16 floats apart, zero-padded to a multiple of 16).
 * groups[2g], groups[2g+1]: first variant and count (<= GM) of a run of variants that share
 * the reference row and the window start, so each 16-wide row of weights loaded feeds GM
 * multiply-adds (neighbouring positions share the window once the pools have shrunk it).
 * Members past the count repeat the last one and are not written. One work-item per group
 * and block of 16 output units. */
__kernel void ism_dense(__global const float *win, __global const float *ref, int C, int L, int W,
                        __global const int *A, __global const int *vlist,
                        __global const int *groups, int ngroups, __global const float *wt, int U,
                        int U16, __global const float *yref, __global float *y) {
  const int u0 = get_global_id(0) * 16, g = get_global_id(1);
  if (u0 >= U || g >= ngroups) return;
  const int v0 = groups[2 * g], cnt = groups[2 * g + 1];
  const int r = vlist[3 * v0], a = A[vlist[3 * v0 + 1]];
  size_t vo[GM];
#pragma unroll
  for (int i = 0; i < GM; i++) vo[i] = (size_t)(v0 + min(i, cnt - 1)) * C * W;
  float16 acc[GM];
#pragma unroll
  for (int i = 0; i < GM; i++) acc[i] = (float16)0.0f;
  for (int c = 0; c < C; c++) {
    __global const float *rr = ref + ((size_t)r * C + c) * L + a;
    __global const float *wr = wt + ((size_t)c * L + a) * U16 + u0;
    for (int j = 0; j < W; j++) {
      const float16 w = vload16(0, wr + (size_t)j * U16);
      const float rv = rr[j];
      const int cj = c * W + j;
#pragma unroll
      for (int i = 0; i < GM; i++) acc[i] = mad((float16)(win[vo[i] + cj] - rv), w, acc[i]);
    }
  }
  __global const float *br = yref + (size_t)r * U + u0;
  const int nu = min(16, U - u0);
#pragma unroll
  for (int i = 0; i < GM; i++) {
    if (i < cnt) {
      float t[16];
      vstore16(acc[i], 0, t);
      __global float *yr = y + (size_t)(v0 + i) * U + u0;
      for (int l = 0; l < nu; l++) yr[l] = br[l] + t[l];
    }
  }
}
