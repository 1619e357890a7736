/* Max pooling along the length of (rows = B*C, L) rows, no padding:
 * y[r, o] = max(x[r, o*S .. o*S+W-1]), o < Lout = (L - W)/S + 1.
 *
 * The argmax of a window is the first maximum on ties; a NaN counts as a maximum (a later
 * NaN replaces an earlier one). Both are PyTorch's CPU rule, so gradients are routed to the
 * same element as in PyTorch. */

static inline int window_argmax(__global const float *row, int start, int W) {
  int best = start;
  float m = row[start];
  for (int k = 1; k < W; k++) {
    float v = row[start + k];
    if (v > m || isnan(v)) {
      m = v;
      best = start + k;
    }
  }
  return best;
}

/* One work-item per output element. */
__kernel void maxpool_forward(__global const float *x, __global float *y, int rows, int L,
                              int Lout, int W, int S) {
  int i = get_global_id(0);
  if (i >= rows * Lout) return;
  int r = i / Lout, o = i - r * Lout;
  __global const float *row = x + (size_t)r * L;
  y[i] = row[window_argmax(row, o * S, W)];
}

/* One work-item per INPUT element: dx[r, l] = sum of dy[r, o] over the windows o that
 * cover l and whose argmax is l. Each work-item writes only its own element, so
 * overlapping windows (S < W) need no atomics, the summation order (increasing o) is fixed,
 * and every element, covered or not, is written (no separate zero fill). */
__kernel void maxpool_backward(__global const float *x, __global const float *dy,
                               __global float *dx, int rows, int L, int Lout, int W, int S) {
  int i = get_global_id(0);
  if (i >= rows * L) return;
  int r = i / L, l = i - r * L;
  __global const float *row = x + (size_t)r * L;
  /* Windows covering l: o*S <= l <= o*S + W - 1. */
  int lo = l - W + 1 > 0 ? (l - W + 1 + S - 1) / S : 0;
  int hi = min(l / S, Lout - 1);
  float g = 0.0f;
  for (int o = lo; o <= hi; o++)
    if (window_argmax(row, o * S, W) == l) g += dy[(size_t)r * Lout + o];
  dx[i] = g;
}
