/* dnacl-selftest: -DPOOL_W=2 -DPOOL_S=2|-DPOOL_W=4 -DPOOL_S=4|-DPOOL_W=3 -DPOOL_S=2|-DPOOL_W=50 -DPOOL_S=50
 *
 * Max pooling along the length of (rows = B*C, L) rows, no padding:
 * y[r, o] = max(x[r, o*S .. o*S+W-1]), o < Lout = (L - W)/S + 1.
 *
 * One program per window and stride (-D POOL_W=W -D POOL_S=S): with both known to the
 * compiler, o*S and l/S are shifts or multiplications (x86 vector units have no integer
 * division, and the per-element divisions of a 1-D index cost more than the pooling), and
 * PoCL's vectoriser turns the window loads of neighbouring outputs into interleaved vector
 * loads. The work is a 2-D range, dimension 0 along the row (contiguous, vectorised), 1 the
 * row, so no work-item divides to find its row either. On CPUs the common pools have their
 * own kernels below: maxpool_*_rows for window = stride = 2, 4, 8 or 16, maxpool_*_wide for
 * windows wider than 16 (stride >= window).
 *
 * The argmax of a window is the first maximum on ties; a NaN counts as a maximum (a later
 * NaN replaces an earlier one). Both are PyTorch's CPU rule, so gradients are routed to the
 * same element as in PyTorch. */

#ifndef POOL_W
#error "build cl/pool.cl with -D POOL_W=<window> -D POOL_S=<stride>"
#endif
#define W POOL_W
#define S POOL_S

/* Offset (0 .. W-1) of the maximum of row[start .. start+W-1] under the rule above.
 * Written with selects and a bitwise |, not an if with ||: the short circuit is a branch,
 * which kept PoCL from vectorising the backward (2x slower, and data-dependent: the branch
 * mispredicts on real activations). */
static inline int window_argmax(__global const float *row, int start) {
  int best = 0;
  float m = row[start];
  for (int k = 1; k < W; k++) {
    const float v = row[start + k];
    const int take = (v > m) | isnan(v);
    best = take ? k : best;
    m = take ? v : m;
  }
  return best;
}

/* The maximum itself, by the same rule (the value at window_argmax, without the index). */
static inline float window_max(__global const float *row, int start) {
  float m = row[start];
  for (int k = 1; k < W; k++) {
    const float v = row[start + k];
    m = (v > m) | isnan(v) ? v : m;
  }
  return m;
}

/* Global (Lout, rows): one work-item per output element. */
__kernel void maxpool_forward(__global const float *x, __global float *y, int rows, int L,
                              int Lout) {
  const int o = get_global_id(0), r = get_global_id(1);
  if (o >= Lout || r >= rows) return;
  y[(size_t)r * Lout + o] = window_max(x + (size_t)r * L, o * S);
}

#if S >= W
/* Windows do not overlap: each input element lies in at most one window, so the work-item
 * of output o writes the whole span [o*S, o*S + S) of dx (dy at the argmax, zeros
 * elsewhere, including the S - W elements between windows), and the last one also zeros
 * the (fewer than W) elements after the last window. Every element of dx is written
 * exactly once. All loops have compile-time trip counts: a loop of run-time length (say,
 * over the tail up to L) stops PoCL from vectorising the kernel, which then ran 2x slower.
 * Global (Lout, rows). */
__kernel void maxpool_backward(__global const float *x, __global const float *dy,
                               __global float *dx, int rows, int L, int Lout) {
  const int o = get_global_id(0), r = get_global_id(1);
  if (o >= Lout || r >= rows) return;
  __global const float *row = x + (size_t)r * L;
  __global float *drow = dx + (size_t)r * L;
  const int start = o * S;
  const int am = window_argmax(row, start);
  const float g = dy[(size_t)r * Lout + o];
  for (int k = 0; k < W; k++) drow[start + k] = k == am ? g : 0.0f; /* (Lout-1)*S + W <= L */
  for (int k = W; k < S; k++)
    if (start + k < L) drow[start + k] = 0.0f;
  if (o == Lout - 1) /* L - Lout*S < W: the tail */
    for (int k = 0; k < W - 1; k++)
      if (Lout * S + k < L) drow[Lout * S + k] = 0.0f;
}
#else
/* Overlapping windows (S < W): one work-item per INPUT element, global (L, rows):
 * dx[r, l] = sum of dy[r, o] over the windows o that cover l and whose argmax is l. Each
 * work-item writes only its own element, so no atomics are needed, the summation order
 * (increasing o) is fixed, and every element, covered or not, is written. */
__kernel void maxpool_backward(__global const float *x, __global const float *dy,
                               __global float *dx, int rows, int L, int Lout) {
  const int l = get_global_id(0), r = get_global_id(1);
  if (l >= L || r >= rows) return;
  __global const float *row = x + (size_t)r * L;
  /* Windows covering l: o*S <= l <= o*S + W - 1. */
  const int lo = l - W + 1 > 0 ? (l - W + 1 + S - 1) / S : 0;
  const int hi = min(l / S, Lout - 1);
  float g = 0.0f;
  for (int o = lo; o <= hi; o++)
    if (o * S + window_argmax(row, o * S) == l) g += dy[(size_t)r * Lout + o];
  dx[(size_t)r * L + l] = g;
}
#endif

/* DeepLIFT / DeepSHAP multipliers of max pooling (src/nn/maxpool.c's backward_rescale), the
 * rule of SHAP's DeepExplainer and captum's DeepLift. For window o with y = max of x,
 * yref = max of xref and cross = max(y, yref), the share dy[o] * (cross - yref) goes to the
 * argmax of x and dy[o] * (y - cross) to the argmax of xref (first maximum on ties, as the
 * forward); the two add up to dy[o] * (y - yref). The multiplier of input element l is the
 * sum of the shares routed to it over x[l] - xref[l], and 0 where |x[l] - xref[l]| < 1e-7
 * (SHAP's threshold; such an element's share is at most dy * |x[l] - xref[l]|, see
 * maxpool.c). y and yref are read back from x and xref at the argmax, so they are the
 * forward's values bit for bit.
 *
 * Overlapping windows (S < W), here: one work-item per INPUT element, global (L, rows): it
 * scans the windows covering l in increasing o, so the sum is deterministic and needs no
 * atomics, and every element (in a window or not) is written. Windows that do not overlap
 * (S >= W) have a work-item per window instead, maxpool_rescale at the end of the file:
 * the per-element scan finds each window's argmax once per element, W times over (256 ms
 * for (64, 124, 100) pooled by 50 on PoCL, against 1 ms per window). */
#if S < W
__kernel void maxpool_rescale(__global const float *x, __global const float *xref,
                              __global const float *dy, __global float *dx, int rows, int L,
                              int Lout) {
  const int l = get_global_id(0), r = get_global_id(1);
  if (l >= L || r >= rows) return;
  __global const float *row = x + (size_t)r * L;
  __global const float *rrow = xref + (size_t)r * L;
  __global const float *drow = dy + (size_t)r * Lout;
  /* Windows covering l: o*S <= l <= o*S + W - 1 (none when l falls in a gap, S > W). */
  const int lo = l - W + 1 > 0 ? (l - W + 1 + S - 1) / S : 0;
  const int hi = min(l / S, Lout - 1);
  float share = 0.0f;
  for (int o = lo; o <= hi; o++) {
    const int a = o * S + window_argmax(row, o * S), b = o * S + window_argmax(rrow, o * S);
    if (a != l && b != l) continue;
    const float y = row[a], yref = rrow[b], cross = fmax(y, yref), g = drow[o];
    if (a == l) share += g * (cross - yref);
    if (b == l) share += g * (y - cross);
  }
  const float d = row[l] - rrow[l];
  dx[(size_t)r * L + l] = fabs(d) < 1e-7f ? 0.0f : share / d;
}
#endif

/* ---- CPU: window = stride = 2, 4, 8 or 16 ------------------------------------------- */

#if defined(DNACL_CPU) && S == W && (W == 2 || W == 4 || W == 8 || W == 16)
/* A work-item per row, walking it in float16 chunks: 16 inputs are 16/W whole windows
 * (16 % W == 0 and chunks start at multiples of 16), and lane j of a chunk belongs to the
 * window starting at lane j/W*W. Lane shuffles (vpermps) gather each window's k-th element
 * into its lanes, so one chunk's maxima and argmaxes take W - 1 vector compares. The 2-D
 * kernels above vectorise across outputs instead, which for these strides means gathers
 * and scatters: 2.5 to 5x slower (backward of 3.3M elements, W = 2: 5.1 -> 1.0 ms; W = 4:
 * 6.8 -> 1.8 ms). The k loops are unrolled so that every shuffle mask is a constant (with
 * a variable mask the shuffle is done element by element, 3x slower). */

#define LANES (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

/* Max (first maximum, NaN wins, as window_max) of each lane's window, and its lane. */
static inline float16 chunk_max(float16 v, uint16 *am) {
  const uint16 base = LANES / W * W;
  float16 m = shuffle(v, base);
  uint16 a = base;
#pragma unroll
  for (uint k = 1; k < W; k++) {
    const float16 vk = shuffle(v, base + k);
    const int16 take = (vk > m) | isnan(vk);
    a = take ? base + k : a;
    m = take ? vk : m;
  }
  *am = a;
  return m;
}

/* The 16/W window maxima of a chunk (lanes 0, W, 2W, ...), stored at p; and the 16/W
 * upstream gradients at p spread over their windows' lanes. */
#if W == 2
#define STORE_MAXIMA(m, p) vstore8(shuffle(m, (uint8)(0, 2, 4, 6, 8, 10, 12, 14)), 0, p)
#define LOAD_SPREAD(p) shuffle(vload8(0, p), LANES / 2)
#elif W == 4
#define STORE_MAXIMA(m, p) vstore4(shuffle(m, (uint4)(0, 4, 8, 12)), 0, p)
#define LOAD_SPREAD(p) shuffle(vload4(0, p), LANES / 4)
#elif W == 8
#define STORE_MAXIMA(m, p) vstore2(shuffle(m, (uint2)(0, 8)), 0, p)
#define LOAD_SPREAD(p) shuffle(vload2(0, p), LANES / 8)
#else
#define STORE_MAXIMA(m, p) (*(p) = (m).s0)
#define LOAD_SPREAD(p) ((float16)(*(p)))
#endif

/* Global (rows): the chunks of the Lout*W covered elements, then the few windows left of
 * a partial chunk one by one. */
__kernel void maxpool_forward_rows(__global const float *x, __global float *y, int rows, int L,
                                   int Lout) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *row = x + (size_t)r * L;
  __global float *yr = y + (size_t)r * Lout;
  const int span = Lout * W;
  int l = 0;
  uint16 am;
  for (; l + 16 <= span; l += 16) STORE_MAXIMA(chunk_max(vload16(0, row + l), &am), yr + l / W);
  for (int o = l / W; o < Lout; o++) yr[o] = window_max(row, o * W);
}

/* Global (rows): dx is dy at each window's argmax and 0 elsewhere, chunk by chunk; a
 * partial last chunk goes through private arrays (zero-padded: padding lanes form whole
 * windows of their own, which are not stored), then the elements after the last window
 * are zeroed. */
static inline float16 chunk_dx(float16 v, float16 g) {
  uint16 am;
  chunk_max(v, &am);
  return am == LANES ? g : 0.0f;
}

__kernel void maxpool_backward_rows(__global const float *x, __global const float *dy,
                                    __global float *dx, int rows, int L, int Lout) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *row = x + (size_t)r * L;
  __global const float *dyr = dy + (size_t)r * Lout;
  __global float *drow = dx + (size_t)r * L;
  const int span = Lout * W;
  int l = 0;
  for (; l + 16 <= span; l += 16)
    vstore16(chunk_dx(vload16(0, row + l), LOAD_SPREAD(dyr + l / W)), 0, drow + l);
  if (l < span) {
    float tx[16], tg[16], td[16];
    for (int k = 0; k < 16; k++) {
      tx[k] = l + k < span ? row[l + k] : 0.0f;
      tg[k] = l + k < span ? dyr[(l + k) / W] : 0.0f;
    }
    vstore16(chunk_dx(vload16(0, tx), vload16(0, tg)), 0, td);
    for (int k = 0; l + k < span; k++) drow[l + k] = td[k];
  }
  for (l = span; l < L; l++) drow[l] = 0.0f;
}
#endif

/* ---- CPU: windows wider than 16, stride >= window -------------------------------------- */

#if defined(DNACL_CPU) && S >= W && W > 16
/* Koo's CNNs pool by 25 or 50. The 2-D kernels above vectorise across windows, so every
 * element of a 50-wide window is a gather (and in the backward a scatter): 3-4 ns per
 * element, a quarter of the training step of cnn_50. Here a work-item takes one window and
 * reads it in float16 chunks, lane j tracking the elements j, j + 16, ... (first maximum,
 * NaN wins, as window_argmax); the 16 lane results are combined by a shuffle tree and the
 * last W % 16 elements scanned after them. Global (Lout, rows). */
#define LANES (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

/* One step of combining lane results: lane j < h takes lane j + h's (m2, a2) if that is
 * better under the scan rule of window_argmax, for two subsets each scanned in order: a
 * NaN beats numbers and the later NaN wins; otherwise the larger value, and on equal
 * values the earlier element. Branch-free (vector masks are -1 or 0). */
static inline void lanes_combine(float16 *m, int16 *a, uint16 perm) {
  const float16 m2 = shuffle(*m, perm);
  const int16 a2 = shuffle(*a, perm);
  const int16 nan1 = isnan(*m), nan2 = isnan(m2);
  const int16 take = (nan2 & (~nan1 | (a2 > *a))) |
                     (~nan2 & ~nan1 & ((m2 > *m) | ((m2 == *m) & (a2 < *a))));
  *m = take ? m2 : *m;
  *a = take ? a2 : *a;
}

static inline int wide_argmax(__global const float *row, int start) {
  __global const float *w = row + start;
  float16 m = vload16(0, w);
  int16 a = LANES;
  int k = 16;
  for (; k + 16 <= W; k += 16) {
    const float16 v = vload16(0, w + k);
    const int16 take = (v > m) | isnan(v);
    m = take ? v : m;
    a = take ? k + LANES : a;
  }
  /* Halve the lanes four times; lane 0 ends with the whole chunked part's result. */
  lanes_combine(&m, &a, (uint16)(8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  lanes_combine(&m, &a, (uint16)(4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7));
  lanes_combine(&m, &a, (uint16)(2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3));
  lanes_combine(&m, &a, (uint16)(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
  float bm = m.s0;
  int ba = a.s0;
  /* The last W % 16 elements come after all of those: the plain sequential rule. */
  for (; k < W; k++) {
    const float v = w[k];
    const int take = (v > bm) | isnan(v);
    bm = take ? v : bm;
    ba = take ? k : ba;
  }
  return ba;
}

__kernel void maxpool_forward_wide(__global const float *x, __global float *y, int rows, int L,
                                   int Lout) {
  const int o = get_global_id(0), r = get_global_id(1);
  if (o >= Lout || r >= rows) return;
  __global const float *row = x + (size_t)r * L;
  y[(size_t)r * Lout + o] = row[o * S + wide_argmax(row, o * S)];
}

/* dx over the window's span as in the S >= W maxpool_backward, in float16 stores. */
__kernel void maxpool_backward_wide(__global const float *x, __global const float *dy,
                                    __global float *dx, int rows, int L, int Lout) {
  const int o = get_global_id(0), r = get_global_id(1);
  if (o >= Lout || r >= rows) return;
  __global const float *row = x + (size_t)r * L;
  __global float *drow = dx + (size_t)r * L + o * S;
  const int am = wide_argmax(row, o * S);
  const float g = dy[(size_t)r * Lout + o];
  int k = 0;
  for (; k + 16 <= W; k += 16) vstore16(k + LANES == am ? g : 0.0f, 0, drow + k);
  for (; k < W; k++) drow[k] = k == am ? g : 0.0f;
  for (; k < S && o * S + k < L; k++) drow[k] = 0.0f; /* the gap before the next window */
  if (o == Lout - 1)
    for (int l = Lout * S; l < L; l++) dx[(size_t)r * L + l] = 0.0f;
}
#endif

/* ---- DeepLIFT / DeepSHAP multipliers, windows that do not overlap ----------------------- */

#if S >= W
#if defined(DNACL_CPU) && W > 16
#define RESCALE_ARGMAX wide_argmax
#else
#define RESCALE_ARGMAX window_argmax
#endif
/* The rule of the overlapping maxpool_rescale above, a work-item per window, global (Lout,
 * rows): each input element is in at most one window, so its share is that window's (the
 * same float operations, in the same order, as the per-element kernel), and the work-item
 * writes the window's span, zeros in the gap to the next window (S > W) and, for the last
 * window, after it. */
__kernel void maxpool_rescale(__global const float *x, __global const float *xref,
                              __global const float *dy, __global float *dx, int rows, int L,
                              int Lout) {
  const int o = get_global_id(0), r = get_global_id(1);
  if (o >= Lout || r >= rows) return;
  __global const float *row = x + (size_t)r * L + o * S;
  __global const float *rrow = xref + (size_t)r * L + o * S;
  __global float *drow = dx + (size_t)r * L + o * S;
  const int a = RESCALE_ARGMAX(row, 0), b = RESCALE_ARGMAX(rrow, 0);
  const float y = row[a], yref = rrow[b], cross = fmax(y, yref), g = dy[(size_t)r * Lout + o];
  for (int k = 0; k < W; k++) {
    float share = 0.0f;
    if (a == k) share += g * (cross - yref);
    if (b == k) share += g * (y - cross);
    const float d = row[k] - rrow[k];
    drow[k] = fabs(d) < 1e-7f ? 0.0f : share / d;
  }
  for (int k = W; k < S && o * S + k < L; k++) drow[k] = 0.0f;
  if (o == Lout - 1)
    for (int l = Lout * S; l < L; l++) dx[(size_t)r * L + l] = 0.0f;
}
#endif
