/* Losses. Reductions run in one work-group (the host picks a power-of-two local size):
 * each work-item sums a fixed strided slice in order, then a fixed-order tree, so the same
 * device gives the same bits. Loss tensors are small (batch x targets), so one work-group
 * is enough. */

/* Mean sigmoid binary cross-entropy on logits over n elements, and its gradient.
 *   l(x, t) = max(x, 0) - x t + log1p(exp(-|x|))
 * is log(1 + e^x) - x t rewritten so that exp never overflows and small terms keep their
 * precision; dl/dx = sigmoid(x) - t. Writes loss[0] = sum(l) / n and, with want_grad,
 * dx = (sigmoid(x) - t) / n. */
__kernel void bce_logits(__global const float *x, __global const float *t, int n, float inv_n,
                         __global float *loss, __global float *dx, int want_grad,
                         __local float *sh) {
  const int lid = get_local_id(0), wg = get_local_size(0);
  float s = 0.0f;
  for (int i = lid; i < n; i += wg) {
    const float v = x[i], tv = t[i];
    const float e = exp(-fabs(v)); /* in (0, 1]: no overflow */
    s += fmax(v, 0.0f) - v * tv + log1p(e);
    if (want_grad) {
      /* sigmoid without overflow: 1/(1+e^-v) for v >= 0, e^v/(1+e^v) below. */
      const float sig = v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
      dx[i] = (sig - tv) * inv_n;
    }
  }
  sh[lid] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int k = wg >> 1; k > 0; k >>= 1) {
    if (lid < k) sh[lid] += sh[lid + k];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) loss[0] = sh[0] * inv_n;
}
