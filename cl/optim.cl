/* Optimiser steps, elementwise over one parameter tensor, and the L2 penalty's reduction. */

/* One Adam / AdamW step, torch.optim.Adam / AdamW (single-tensor path, amsgrad off):
 *   Adam  (decoupled 0): g += wd * p                         ("L2 penalty" in the gradient)
 *   AdamW (decoupled 1): p *= 1 - lr * wd                    (decay applied to p directly)
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
 * with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t) computed on the host
 * in double, in the same order of operations as PyTorch. wd_grad is wd for Adam and 0 for
 * AdamW; p_scale is 1 - lr*wd for AdamW and 1 for Adam. */
__kernel void adam_step(__global float *p, __global const float *grad, __global float *m,
                        __global float *v, int n, float beta1, float beta2, float step_size,
                        float bc2_sqrt, float eps, float wd_grad, float p_scale) {
  const int i = get_global_id(0);
  if (i >= n) return;
  float pv = p[i];
  /* Only Adam adds the penalty: for AdamW 0 * p would turn an infinite p into NaN. */
  const float g = wd_grad != 0.0f ? grad[i] + wd_grad * pv : grad[i];
  pv *= p_scale;
  const float mv = beta1 * m[i] + (1.0f - beta1) * g;
  const float vv = beta2 * v[i] + (1.0f - beta2) * g * g;
  m[i] = mv;
  v[i] = vv;
  p[i] = pv - step_size * mv / (sqrt(vv) / bc2_sqrt + eps);
}

/* L2 penalty: grad += lambda * p over any number of work-groups; with want_sum the host
 * launches ONE work-group and sum[0] = sum(p^2) by a fixed-order tree (deterministic). */
__kernel void l2_penalty(__global const float *p, __global float *grad, int n, float lambda,
                         __global float *sum, int want_sum, __local float *sh) {
  const int lid = get_local_id(0), wg = get_local_size(0);
  float s = 0.0f;
  for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
    const float pv = p[i];
    s += pv * pv;
    grad[i] += lambda * pv;
  }
  if (!want_sum) return; /* uniform across the work-group: no barrier is skipped by some only */
  sh[lid] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int k = wg >> 1; k > 0; k >>= 1) {
    if (lid < k) sh[lid] += sh[lid + k];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) sum[0] = sh[0];
}
