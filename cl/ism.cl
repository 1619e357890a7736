/* dnacl-selftest: -DGM=4 -DUB=1|-DGM=12 -DUB=2|-DGM=12 -DUB=2 -DFACT=3|-DWIN=1 -DKK=10 -DDIL=1 -DFACT=3 -DDOUT -DXIN -DPW=2 -DPS=2|-DWIN=6 -DKK=10 -DDIL=1 -DFACT=3 -DAFF2 -DDOUT -DDIN -DPW=2 -DPS=2|-DWIN=6 -DKK=10 -DDIL=1 -DFACT=3 -DAFF2 -DDOUT -DDIN -DPW=2 -DPS=2 -DKARA|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=0 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=1 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=2 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=3 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=4 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=5 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=6 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=7 -DXIN|-DWIN=1 -DKK=19 -DDIL=1 -DFACT=8 -DXIN
 *
 * In silico saturation mutagenesis (src/explain/ism.c).
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
 * Batch norm in eval mode is a per-channel affine y = x*sc[c] + sh[c]; rather than running
 * it over every window, the kernels that read a window apply it on the fly (iaff: the
 * window holds the layer's input, the reference activation passed is its output), and the
 * convolutions write the affine's output directly (oaff: out = ref_after + sc * change).
 *
 * The window kernels run one work-item per (channel, variant) row and loop along the short
 * window: one work-item per element spent more on per-item index arithmetic and the
 * variant's table look-ups than on the work (pooling ran 10x slower that way on PoCL).
 *
 * All sums run in a fixed order (no atomics): the same input gives the same bits.
 *
 * The selftest line builds the one-pass convolution with every activation (FACT): on a GPU
 * that is the only float16 build of the shared formulas (cl/activation.cl takes floats
 * there). */

#ifndef GM
#define GM 12
#endif
#ifndef UB
#define UB 1
#endif

#ifdef FACT
/* The layer's activation function FACT (the dnacl_act numbering) on 16 lanes at once:
 * act_f of cl/include/act_formulas.cl, the same text cl/activation.cl builds. The
 * one-pass convolution applies it to the window it writes when an activation follows the
 * convolution (and its batch norm), and the dense update to its rows when one follows the
 * first dense layer: there the function runs on 16 lanes inside a pass that is made
 * anyway, rather than as a pass of its own over the window (gelu as the layer's scalar
 * kernel once took a third of the incremental method's time at L=200). The tests compare
 * every activation through this path with the naive method, which uses the layer. */
#define ACT FACT
typedef float16 floatv;
#include "act_formulas.cl"
#endif

/* Sixteen output channels of a reference row: p[l * stride], lanes past n zero; and
 * back, lanes past n not written. */
inline float16 gather16(__global const float *p, int stride, int n) {
  if (stride == 1 && n == 16) return vload16(0, p);
  float t[16];
  for (int l = 0; l < 16; l++) t[l] = l < n ? p[(size_t)l * stride] : 0.0f;
  return vload16(0, t);
}
inline void scatter16(__global float *p, int stride, float16 v, int n) {
  if (stride == 1 && n == 16) {
    vstore16(v, 0, p);
    return;
  }
  float t[16];
  vstore16(v, 0, t);
  for (int l = 0; l < n; l++) p[(size_t)l * stride] = t[l];
}

/* Max pooling of one output: the maximum over inputs i0 .. i0 + Wp - 1 of a row, counted
 * from xp (the reference row at the pool's first input); input i is the window's element
 * j0 + i (with the affine sc, sh) where that lies in [0, Wb), else the reference. The first
 * maximum wins and a NaN counts as a maximum, as in cl/pool.cl. Branch-free: whether an
 * input is in the window, and which one is larger, change from element to element, and
 * mispredicted branches cost more than the loads and selects. */
inline float pool_at(__global const float *w, int Wb, __global const float *xp, int j0, int i0,
                     int Wp, float sc, float sh) {
  float m = 0.0f;
  for (int k = 0; k < Wp; k++) {
    const int i = i0 + k, j = j0 + i;
    const float ew = w[clamp(j, 0, Wb - 1)] * sc + sh, er = xp[i];
    const float e = j >= 0 && j < Wb ? ew : er;
    m = k == 0 || e > m || isnan(e) ? e : m;
  }
  return m;
}

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

/* The input window of each variant: win[v, c, t] is the variant's input at A[p] + t. */
__kernel void ism_window_input(__global const float *x, int C, int L, __global const int *vlist,
                               __global const int *A, int W, int V, __global float *win) {
  const int c = get_global_id(0), v = get_global_id(1);
  if (c >= C || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1], b = vlist[3 * v + 2], a = A[p];
  __global const float *s = x + ((size_t)r * C + c) * L + a;
  __global float *d = win + ((size_t)v * C + c) * W;
  for (int t = 0; t < W; t++) d[t] = a + t == p ? (c == b ? 1.0f : 0.0f) : s[t];
}

/* Change of a window against the reference: d[v, c, j] = x[v, c, j] - ref[r, c, a + j]
 * with x the window through its pending affine, written at d + c*cs + v*vs + j, i.e.
 * channel-major (cs = ld, vs = W) for the convolution GEMM, or variant-major (cs = W,
 * vs = C*W) for the dense update. */
__kernel void ism_delta(__global const float *win, __global const float *ref, int C, int L, int W,
                        __global const int *vlist, __global const int *A, __global const float *isc,
                        __global const float *ish, int iaff, int V, int cs, int vs,
                        __global float *d) {
  const int c = get_global_id(0), v = get_global_id(1);
  if (c >= C || v >= V) return;
  const int r = vlist[3 * v], a = A[vlist[3 * v + 1]];
  const float sc = iaff ? isc[c] : 1.0f, sh = iaff ? ish[c] : 0.0f; /* x*1 + 0 == x exactly */
  __global const float *w = win + ((size_t)v * C + c) * W;
  __global const float *x = ref + ((size_t)r * C + c) * L + a;
  __global float *o = d + (size_t)c * cs + (size_t)v * vs;
  for (int j = 0; j < W; j++) o[j] = w[j] * sc + sh - x[j];
}

/* Output window of a convolution from the GEMM's partial products
 *   T[o*K + k, v*Win + j] = sum_c w[o, c, k] * d[c, v*Win + j]:
 * input j (absolute ain + j) reaches output q (absolute aout + q) through tap k when
 * ain + j = aout + q + k*dil - left, so
 *   out[v, o, q] = ref_out[r, o, aout + q] + osc[o] * sum_k T[o*K + k, v*Win + j(k)]
 * (osc: a batch norm after the convolution, applied to the change; ref_out is then the
 * reference after the batch norm).
 * Every product of T lands in exactly one output of the window (the window holds every
 * output the change reaches), so this pass adds no arithmetic beyond the GEMM's. */
__kernel void ism_conv_gather(__global const float *T, int ldt, __global const float *ref_out,
                              int Cout, int Lout, int Wout, __global const int *Aout, int K,
                              int dil, int left, int Win, __global const int *Ain,
                              __global const float *osc, int oaff, __global const int *vlist, int V,
                              __global float *out) {
  const int o = get_global_id(0), v = get_global_id(1);
  if (o >= Cout || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1];
  const int aout = Aout[p], s0 = aout - left - Ain[p];
  const float sc = oaff ? osc[o] : 1.0f;
  __global const float *t = T + (size_t)o * K * ldt + (size_t)v * Win;
  __global const float *ro = ref_out + ((size_t)r * Cout + o) * Lout + aout;
  __global float *y = out + ((size_t)v * Cout + o) * Wout;
  for (int q = 0; q < Wout; q++) {
    float acc = 0.0f;
    for (int k = 0; k < K; k++) {
      const int j = s0 + q + k * dil;
      if (j >= 0 && j < Win) acc += t[(size_t)k * ldt + j];
    }
    y[q] = ro[q] + sc * acc;
  }
}

#ifdef WIN
/* The same convolution in one pass, for the CPU, when the window is short: built with
 * -D WIN (input window), KK (taps), DIL, so the NACC = WIN + (KK-1)*DIL partial outputs
 * of a block of 16 output channels stay in registers. Per input channel, each 16-wide
 * weight vector loaded (wq[(c*KK + k)*C16 + o], zero-padded to C16 channels) feeds WIN
 * multiply-adds. Input j through tap k lands in partial m = j + (KK-1-k)*DIL, which is
 * output q = m + ain - ac + left - (KK-1)*DIL of the convolution's window (start ac, Wc
 * wide); partials outside it fall outside the activation (the window holds every output
 * the change reaches), so they are dropped. Against the GEMM and gather it never writes
 * or re-reads the tap products.
 * Only the input columns [j0, j1) = Jin[2p], Jin[2p+1] can differ from the reference (the
 * window is as wide as the widest change; the chapter's second convolution reads 6
 * columns, of which half the positions change 5): when one column is outside, its
 * multiply-adds (a sixth of the block's) are skipped, and outputs no changed column
 * reaches keep the reference's value rather than going through the activation again.
 * The window's values are ref_pre + osc * change (osc: a following batch norm), through
 * the activation FACT when built with one, and then the affine sc2, sh2 of a batch norm
 * after the activation with AFF2; outputs the change does not reach are ref_mid, the
 * reference after all that. Built with PW, PS, a max pooling that follows is applied
 * too, and the pooled window (start Aout, Wout wide) is what is written; without, the
 * convolution's window itself (Aout = Ac, Wout = Wc).
 * Built with DOUT, what is written is the change of that window against the reference
 * ref_o (transposed, (R, Lo, Cout)), position-major, (V, Wout, Cout): whole 16-channel
 * vectors, where the (V, C, W) layout took 16 scalar stores per vector (a quarter of the
 * first block's time). Its readers are another one-pass convolution built with DIN,
 * which takes the change as it is (no subtraction of the reference per output-channel
 * block), or the dense update (ism_dense's cs, js), never a layer.
 * Built with XIN, the convolution reads the model's input: the change is the base b of
 * vlist written at p, so win is not read and no pass builds the input window. */
#define NACC (WIN + (KK - 1) * DIL)
/* The change of input column j of channel c. */
#if defined(XIN)
#define DVAL(c, j) (ain + (j) == p ? (float)((c) == vb) - xr[(size_t)(c) * Lin + (j)] : 0.0f)
#elif defined(DIN)
#define DVAL(c, j) xw[(j) * Cin + (c)]
#else
#define DVAL(c, j) (xw[(c) * WIN + (j)] * sc + sh - xr[(size_t)(c) * Lin + (j)])
#endif
/* Multiply-adds of input columns [JA, JB) of the window (constants: acc stays in
 * registers). */
#ifdef KARA
/* Built with KARA (DIL 1, WIN and KK even), the window's convolution runs as Karatsuba
 * products of pairs: column pair J (d0, d1) = d[2J], d[2J+1] against tap pair I (w0, w1)
 * = the taps reaching partials 2(I+J) and 2(I+J)+1 contributes d0 w0 to partial 2M
 * (M = I+J), d0 w1 + d1 w0 to 2M+1 and d1 w1 to 2M+2; accumulated as P0 += d0 w0,
 * P2 += d1 w1 and PD += (d0 + d1)(w0 + w1), the middle term is PD - P0 - P2. Three
 * multiply-adds per pair of pairs instead of four: the chapter's second convolution
 * (6 columns, 10 taps) takes 45 per input channel instead of 60 (40 instead of 50 when
 * one column is outside [JA, JB): a pair with one column takes its two products, d w
 * into P0 or P2 and d (w0 + w1) into PD). The sums w0 + w1 and d0 + d1 are made here
 * (one add each, beside 3 to 9 multiply-adds), so the weights keep their layout. The
 * middle term's rounding error is a few units in the last place of PD, P0 and P2, sums of
 * the same size as the direct ones; tests/test_ism.c compares both paths with the naive
 * method. */
#define NPAIR (WIN / 2 + KK / 2 - 1)
#define CONV_COLUMNS(JA, JB)                                                               \
  {                                                                                        \
    float16 P0[NPAIR], P2[NPAIR], PD[NPAIR];                                               \
    _Pragma("unroll") for (int M = 0; M < NPAIR; M++) P0[M] = P2[M] = PD[M] = (float16)0.0f; \
    for (int c = 0; c < Cin; c++) {                                                        \
      const float sc = iaff ? isc[c] : 1.0f, sh = iaff ? ish[c] : 0.0f;                    \
      float d[WIN];                                                                        \
      _Pragma("unroll") for (int j = JA; j < JB; j++) d[j] = DVAL(c, j);                   \
      __global const float *wc = wq + (size_t)c * KK * C16 + o0;                           \
      _Pragma("unroll") for (int I = 0; I < KK / 2; I++) {                                 \
        const float16 w0 = vload16(0, wc + (KK - 1 - 2 * I) * C16);                        \
        const float16 w1 = vload16(0, wc + (KK - 2 - 2 * I) * C16), ws = w0 + w1;          \
        _Pragma("unroll") for (int J = 0; J < WIN / 2; J++) {                              \
          const int h0 = 2 * J >= JA && 2 * J < JB, h1 = 2 * J + 1 >= JA && 2 * J + 1 < JB; \
          if (h0) P0[I + J] = fma((float16)d[2 * J], w0, P0[I + J]);                       \
          if (h1) P2[I + J] = fma((float16)d[2 * J + 1], w1, P2[I + J]);                   \
          if (h0 || h1) {                                                                  \
            const float s = h0 && h1 ? d[2 * J] + d[2 * J + 1] : h0 ? d[2 * J] : d[2 * J + 1]; \
            PD[I + J] = fma((float16)s, ws, PD[I + J]);                                    \
          }                                                                                \
        }                                                                                  \
      }                                                                                    \
    }                                                                                      \
    _Pragma("unroll") for (int M = 0; M < NPAIR; M++) {                                    \
      acc[2 * M] += P0[M];                                                                 \
      acc[2 * M + 1] += PD[M] - P0[M] - P2[M];                                             \
      acc[2 * M + 2] += P2[M];                                                             \
    }                                                                                      \
  }
#else
#define CONV_COLUMNS(JA, JB)                                                               \
  for (int c = 0; c < Cin; c++) {                                                          \
    const float sc = iaff ? isc[c] : 1.0f, sh = iaff ? ish[c] : 0.0f; /* x*1+0 == x */     \
    float d[WIN];                                                                          \
    _Pragma("unroll") for (int j = JA; j < JB; j++)                                        \
        d[j] = DVAL(c, j);                                                                 \
    __global const float *wc = wq + (size_t)c * KK * C16 + o0;                             \
    _Pragma("unroll") for (int k = 0; k < KK; k++) {                                       \
      const float16 w = vload16(0, wc + k * C16);                                          \
      _Pragma("unroll") for (int j = JA; j < JB; j++)                                      \
          acc[j + (KK - 1 - k) * DIL] = fma((float16)d[j], w, acc[j + (KK - 1 - k) * DIL]);  \
    }                                                                                      \
  }
#endif
/* The window of the convolution's outputs in z (SHIFT, WC: where partial m lands, and how
 * many; DP: the pooling's offset): outputs no changed column reaches (near the ends of
 * the activation, where the window was shifted inside it, or past a column without
 * change) keep the reference's value; then the pooling, and the write. */
#ifdef PW
/* Max pooling, first maximum wins and NaN counts as a maximum (cl/pool.cl); inputs
 * outside the convolution's window are the reference's. */
#define POOLED(Q, ZW, DP)                                                                  \
  float16 e = 0.0f;                                                                        \
  _Pragma("unroll") for (int k = 0; k < PW; k++) {                                         \
    const int j = (Q) * PS + k + (DP);                                                     \
    const float16 x = j >= 0 && j < (ZW) ? z[j]                                            \
                                         : gather16(ref_mid + row + (size_t)((ap + (Q)) * PS + k) * Cout, 1, no); \
    e = k == 0 ? x : select(e, x, isgreater(x, e) | isnan(x));                             \
  }
#define NPOOL (NACC / PS + 1)
#else
#define POOLED(Q, ZW, DP) const float16 e = z[Q];
#define NPOOL NACC
#endif
#ifdef FACT
#define EP_ACT(t) act_f(t)
#else
#define EP_ACT(t) (t)
#endif
#ifdef AFF2
#define EP_AFF2(t) ((t) * a2 + b2)
#else
#define EP_AFF2(t) (t)
#endif
#ifdef DOUT
#define EP_WRITE(Q) scatter16(y + (size_t)(Q) * Cout, 1, e - gather16(ref_o + orow + (size_t)(ap + (Q)) * Cout, 1, no), no);
#else
#define EP_WRITE(Q) scatter16(y + (Q), Wout, e, no);
#endif
/* The pooled outputs' loop is unrolled when its count is the constant NPOOL (an unroll
 * pragma on a count known at run time only draws a warning). */
#define UNROLL_NPOOL _Pragma("unroll")
#define UNROLL_Wout
#define EPILOGUE(SHIFT, WC, DP, QN)                                                        \
  {                                                                                        \
    float16 z[NACC];                                                                       \
    for (int q = 0; q < (WC); q++)                                                         \
      if (q < mlo + (SHIFT) || q >= mhi + (SHIFT)) z[q] = gather16(ref_mid + row + (size_t)(ac + q) * Cout, 1, no); \
    _Pragma("unroll") for (int m = 0; m < NACC; m++) {                                     \
      const int q = m + (SHIFT);                                                           \
      if (m >= mlo && m < mhi && q >= 0 && q < (WC))                                       \
        z[q] = EP_AFF2(EP_ACT(mad(s16, acc[m], gather16(ref_pre + row + (size_t)(ac + q) * Cout, 1, no)))); \
    }                                                                                      \
    UNROLL_##QN for (int q = 0; q < (QN); q++) {                                           \
      if (q < Wout) {                                                                      \
        POOLED(q, (WC), (DP))                                                              \
        EP_WRITE(q)                                                                        \
      }                                                                                    \
    }                                                                                      \
  }
__kernel void ism_conv_win(__global const float *win, __global const float *ref_in, int Cin, int Lin,
                           __global const int *Ain, __global const int *Jin,
                           __global const float *isc, __global const float *ish, int iaff,
                           __global const float *wq, int Cout, int C16,
                           __global const float *ref_pre, __global const float *ref_mid, int Lc,
                           __global const int *Ac, int Wc, int left, __global const float *osc,
                           int oaff, __global const float *sc2, __global const float *sh2,
                           __global const int *Aout, int Wout, __global const float *ref_o, int Lo,
                           __global const int *vlist, int V, __global float *out) {
  const int o0 = get_global_id(0) * 16, v = get_global_id(1);
  if (o0 >= Cout || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1], vb = vlist[3 * v + 2];
  const int ain = Ain[p], ac = Ac[p], j0 = Jin[2 * p], j1 = Jin[2 * p + 1];
  float16 acc[NACC];
#pragma unroll
  for (int m = 0; m < NACC; m++) acc[m] = (float16)0.0f;
  __global const float *xw = win + (size_t)v * Cin * WIN;
  __global const float *xr = ref_in + (size_t)r * Cin * Lin + ain;
#if WIN > 1
  if (j0 == 0 && j1 == WIN - 1) {
    CONV_COLUMNS(0, WIN - 1)
  } else if (j0 == 1 && j1 == WIN) {
    CONV_COLUMNS(1, WIN)
  } else
#endif
  {
    CONV_COLUMNS(0, WIN)
  }
  /* Partials m in [mlo, mhi) are reached by a changed column. */
  const int mlo = j0, mhi = j1 > j0 ? j1 + (KK - 1) * DIL : j0;
  const int shift = ain - ac + left - (KK - 1) * DIL, no = min(16, Cout - o0);
  /* ref_pre and ref_mid are transposed, (R, Lc, Cout): a position's 16 channels are
   * adjacent (the epilogue spent more on strided loads than on its arithmetic). */
  const size_t row = (size_t)r * Lc * Cout + o0;
  /* Lanes past no are never written. */
  const float16 s16 = oaff ? gather16(osc + o0, 1, no) : (float16)1.0f;
#ifdef AFF2
  const float16 a2 = gather16(sc2 + o0, 1, no), b2 = gather16(sh2 + o0, 1, no);
#endif
  const int ap = Aout[p];
#ifdef DOUT
  const size_t orow = (size_t)r * Lo * Cout + o0;
  __global float *y = out + (size_t)v * Wout * Cout + o0;
#else
  __global float *y = out + ((size_t)v * Cout + o0) * Wout;
#endif
  /* Away from the sequence's ends the window is the partials themselves (shift 0, Wc =
   * NACC) and the pooling starts at its first or second input: with those as constants
   * every index below is one, so the window stays in registers; elsewhere it is indexed at
   * run time, through memory (3 % of the method's CPU time at L=200, docs/ism.md). */
  const int inner = shift == 0 && Wc == NACC && Wout <= NPOOL;
#ifdef PW
  const int dpool = ap * PS - ac; /* input j of the window is pooled input q*PS + k + dpool */
  if (inner && dpool == 0) {
    EPILOGUE(0, NACC, 0, NPOOL)
  } else if (inner && dpool == -1) {
    EPILOGUE(0, NACC, -1, NPOOL)
  } else {
    EPILOGUE(shift, Wc, dpool, Wout)
  }
#else
  if (inner) {
    EPILOGUE(0, NACC, 0, NPOOL)
  } else {
    EPILOGUE(shift, Wc, 0, Wout)
  }
#endif
}
#endif

/* dst (R, L, C) = src (R, C, L) transposed, for the one-pass convolution's epilogue. */
__kernel void ism_transpose(__global const float *src, int R, int C, int L, __global float *dst) {
  const int l = get_global_id(0), r = get_global_id(1);
  if (l >= L || r >= R) return;
  __global const float *s = src + (size_t)r * C * L + l;
  __global float *d = dst + ((size_t)r * L + l) * C;
  for (int c = 0; c < C; c++) d[c] = s[(size_t)c * L];
}

/* Max pooling of the windows: out[v, c, q] pools the layer's inputs from (Aout[p] + q)*S,
 * each from the variant's window where it has one and from the reference elsewhere (the
 * pooled inputs of the output window always lie inside the activation). */
__kernel void ism_pool(__global const float *win, __global const float *ref, int C, int L, int Win,
                       __global const int *Ain, __global const float *isc,
                       __global const float *ish, int iaff, int Wp, int S,
                       __global const int *Aout, int Wout, __global const int *vlist, int V,
                       __global float *out) {
  const int c = get_global_id(0), v = get_global_id(1);
  if (c >= C || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1];
  const int s0 = Aout[p] * S, j0 = s0 - Ain[p];
  const float sc = iaff ? isc[c] : 1.0f, sh = iaff ? ish[c] : 0.0f;
  __global const float *w = win + ((size_t)v * C + c) * Win;
  __global const float *x = ref + ((size_t)r * C + c) * L + s0;
  __global float *y = out + ((size_t)v * C + c) * Wout;
  for (int q = 0; q < Wout; q++) {
    const int j = j0 + q * S;
    if (j >= 0 && j + Wp <= Win) {
      /* The common case, every input in the window: no selects. */
      float m = w[j] * sc + sh;
      for (int k = 1; k < Wp; k++) {
        const float e = w[j + k] * sc + sh;
        m = e > m || isnan(e) ? e : m;
      }
      y[q] = m;
    } else {
      y[q] = pool_at(w, Win, x, j0, q * S, Wp, sc, sh);
    }
  }
}

/* Residual add over the union of the branch's and the skip's windows. */
__kernel void ism_resadd(__global const float *wa, int Wa, __global const int *Aa,
                         __global const float *ra, __global const float *wb, int Wb,
                         __global const int *Ab, __global const float *rb, int C, int L,
                         __global const int *vlist, __global const int *Aout, int Wout, int V,
                         __global float *out) {
  const int c = get_global_id(0), v = get_global_id(1);
  if (c >= C || v >= V) return;
  const int r = vlist[3 * v], p = vlist[3 * v + 1];
  const int s0 = Aout[p], ja = s0 - Aa[p], jb = s0 - Ab[p];
  const size_t row = (size_t)v * C + c, rrow = ((size_t)r * C + c) * L + s0;
  __global float *y = out + row * Wout;
  for (int t = 0; t < Wout; t++) {
    const float xa = ja + t >= 0 && ja + t < Wa ? wa[row * Wa + ja + t] : ra[rrow + t];
    const float xb = jb + t >= 0 && jb + t < Wb ? wb[row * Wb + jb + t] : rb[rrow + t];
    y[t] = xa + xb;
  }
}

/* Convolution weights w (Cout, Cin, K) in the layout of the incremental method's path:
 * one-pass (fused), out[(c*K + k)*C16 + o], zero for Cout <= o < C16 (16 output channels
 * per vector load); GEMM, out[(o*K + k)*Cin + c] (C16 = Cout), the GEMM's A. A work-item
 * per (c, k) and all o: with one per element, PoCL's per-group overhead took ~0.07 ms per
 * call for the baseline's 45k weights. */
__kernel void ism_conv_weights(__global const float *w, int Cout, int Cin, int K, int C16, int fused,
                               __global float *out) {
  const int ck = get_global_id(0);
  if (ck >= Cin * K) return;
  const int c = ck / K, k = ck - c * K;
  for (int o = 0; o < C16; o++) {
    const float v = o < Cout ? w[((size_t)o * Cin + c) * K + k] : 0.0f;
    if (fused)
      out[(size_t)ck * C16 + o] = v;
    else
      out[((size_t)o * K + k) * Cin + c] = v;
  }
}

/* Eval-mode batch norm as y = x * sc + sh: bn_forward (cl/norm.cl) computes
 * (x - mean) * invstd * gamma + beta with invstd = 1/sqrt(var + eps). */
__kernel void ism_bn_affine(__global const float *gamma, __global const float *beta,
                            __global const float *rmean, __global const float *rvar, float eps, int C,
                            __global float *sc, __global float *sh) {
  const int c = get_global_id(0);
  if (c >= C) return;
  const float s = 1.0f / sqrt(rvar[c] + eps) * gamma[c];
  sc[c] = s;
  sh[c] = beta[c] - rmean[c] * s;
}

/* One stage of a 16 x 16 transpose in registers: rows i and i + S (i in the lower half
 * of each pair of S-row blocks) swap their off-diagonal S x S blocks. Four stages (S = 8,
 * 4, 2, 1) transpose the whole tile with 64 two-source shuffles. LO and HI are the
 * shuffle masks, written in parentheses: (uint16)LO is then a vector literal. */
#define TSTAGE(S, LO, HI)                                                                  \
  _Pragma("unroll") for (int i = 0; i < 16; i++) {                                         \
    if ((i / S) % 2 == 0) {                                                                \
      const float16 a = r[i], b = r[i + S];                                                \
      r[i] = shuffle2(a, b, (uint16)LO);                                                   \
      r[i + S] = shuffle2(a, b, (uint16)HI);                                               \
    }                                                                                      \
  }
/* The first dense layer's weights w (U, C*L) for ism_dense: wt[(p*C + c)*U16 + u] =
 * w[u, c*L + p], zero for U <= u < U16. A work-item per block of 16 inputs k = c*L + p
 * and 16 units: 16 vector loads along k, a transpose in registers, 16 vector stores along
 * u (a work-item per row and a loop over u, 16 strided loads per vector stored, took
 * ~0.13 ms per call for the baseline's 410k weights, this ~0.09). */
__kernel void ism_dense_weights(__global const float *w, int U, int C, int L, int U16,
                                __global float *wt) {
  const int k0 = get_global_id(0) * 16, u0 = get_global_id(1) * 16, In = C * L;
  if (k0 >= In || u0 >= U16) return;
  float16 r[16];
#pragma unroll
  for (int i = 0; i < 16; i++) {
    const int u = u0 + i;
    __global const float *s = w + (size_t)u * In + k0;
    if (u >= U) {
      r[i] = (float16)0.0f;
    } else if (k0 + 16 <= In) {
      r[i] = vload16(0, s);
    } else {
      float t[16];
      for (int j = 0; j < 16; j++) t[j] = k0 + j < In ? s[j] : 0.0f;
      r[i] = vload16(0, t);
    }
  }
  TSTAGE(8, (0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
         (8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31))
  TSTAGE(4, (0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
         (4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31))
  TSTAGE(2, (0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29),
         (2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31))
  TSTAGE(1, (0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
         (1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31))
  /* r[j] is now input k0 + j for units u0 .. u0 + 15. */
#pragma unroll
  for (int j = 0; j < 16; j++) {
    const int k = k0 + j, c = k / L, p = k - c * L;
    if (k < In) vstore16(r[j], 0, wt + ((size_t)p * C + c) * U16 + u0);
  }
}

/* The first dense layer, updated by the change of its input:
 *   y[v, u] = yref[r, u] + sum_{j, c} wt[(a + j)*C + c, u] * d[v*C*W + c*cs + j*js],
 * with d the change of the input window (ism_delta's, channel-major: cs = W, js = 1; or
 * a one-pass convolution's, position-major: cs = 1, js = C) and wt the transposed
 * weights, position-major (row p*C + c is input c*L + p; rows U16 floats apart,
 * zero-padded to a multiple of 16 * UB). Built with FACT, the activation after the layer
 * is applied to y too.
 * groups[2g], groups[2g+1]: first variant and count (<= GM) of a run of variants that share
 * the reference row and the window start, so each 16-wide row of weights loaded feeds GM
 * multiply-adds (neighbouring positions share the window once the pools have shrunk it).
 * Members past the count (or past nrows, the rows of the batch) repeat the last one and
 * are not written. One work-item per group and UB blocks of 16 output units: each input
 * broadcast feeds UB multiply-adds.
 * The dense layers after the first one run here as well: the window is their whole input
 * (C = In, L = W = 1, a zero table for vlist and A), the "change" the input itself and
 * yref the bias. */
__kernel void ism_dense(__global const float *d, int cs, int js, int C, int L, int W, __global const int *A,
                        __global const int *vlist, __global const int *groups, int ngroups, int nrows,
                        __global const float *wt, int U, int U16, __global const float *yref,
                        __global float *y) {
  const int u0 = get_global_id(0) * 16 * UB, g = get_global_id(1);
  if (u0 >= U || g >= ngroups) return;
  const int v0 = groups[2 * g], cnt = min(groups[2 * g + 1], nrows - v0);
  const int r = vlist[3 * v0], a = A[vlist[3 * v0 + 1]];
  const int CW = C * W;
  __global const float *dv[GM];
#pragma unroll
  for (int i = 0; i < GM; i++) dv[i] = d + (size_t)(v0 + min(i, cnt - 1)) * CW;
  float16 acc[GM][UB];
#pragma unroll
  for (int i = 0; i < GM; i++)
#pragma unroll
    for (int b = 0; b < UB; b++) acc[i][b] = (float16)0.0f;
  for (int j = 0; j < W; j++) {
    __global const float *wr = wt + (size_t)(a + j) * C * U16 + u0;
    for (int c = 0; c < C; c++) {
      float16 w[UB];
#pragma unroll
      for (int b = 0; b < UB; b++) w[b] = vload16(b, wr + (size_t)c * U16);
      const int f = c * cs + j * js;
#pragma unroll
      for (int i = 0; i < GM; i++) {
        const float16 x = (float16)dv[i][f];
#pragma unroll
        for (int b = 0; b < UB; b++) acc[i][b] = fma(x, w[b], acc[i][b]);
      }
    }
  }
#pragma unroll
  for (int b = 0; b < UB; b++) {
    const int ub = u0 + 16 * b;
    if (ub >= U) break;
    __global const float *br = yref + (size_t)r * U + ub;
    const int nu = min(16, U - ub);
#pragma unroll
    for (int i = 0; i < GM; i++) {
      if (i < cnt) {
        float16 t = gather16(br, 1, nu) + acc[i][b];
#ifdef FACT
        t = act_f(t);
#endif
        scatter16(y + (size_t)(v0 + i) * U + ub, 1, t, nu);
      }
    }
  }
}
