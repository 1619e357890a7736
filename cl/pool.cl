/* dnacl-selftest: -DPOOL_W=2 -DPOOL_S=2|-DPOOL_W=3 -DPOOL_S=2
 *
 * Max pooling along the length of (rows = B*C, L) rows, no padding:
 * y[r, o] = max(x[r, o*S .. o*S+W-1]), o < Lout = (L - W)/S + 1.
 *
 * One program per window and stride (-D POOL_W=W -D POOL_S=S): with both known to the
 * compiler, o*S and l/S are shifts or multiplications (x86 vector units have no integer
 * division, and the per-element divisions of a 1-D index cost more than the pooling), and
 * PoCL's vectoriser turns the window loads of neighbouring outputs into interleaved vector
 * loads. The work is a 2-D range, dimension 0 along the row (contiguous, vectorised), 1 the
 * row, so no work-item divides to find its row either.
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
 * maxpool.c). One work-item per INPUT element, global (L, rows), for any stride: it scans
 * the windows covering l in increasing o, so the sum is deterministic and needs no atomics,
 * and every element (in a window or not) is written. y and yref are read back from x and
 * xref at the argmax, so they are the forward's values bit for bit. */
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
