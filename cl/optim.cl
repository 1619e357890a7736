/* Optimiser steps, elementwise over one parameter tensor, and the L2 penalty's reduction. */

/* Work split of adam_step: work-item i takes elements [i*OPT_VEC, (i+1)*OPT_VEC), OPT_VEC =
 * 16 on CPUs (float16 lanes; PoCL's own vectorisation of the one-element kernel ran the
 * 3200x128 weight of the baseline's first dense layer 2x slower) and 1 on GPUs; the host
 * launches ceil(n / OPT_VEC) work-items, the last does a partial chunk one by one. Each
 * lane does exactly the scalar arithmetic, so the split does not change any bits. */
#ifndef OPT_VEC
#ifdef DNACL_CPU
#define OPT_VEC 16
#else
#define OPT_VEC 1
#endif
#endif
#if OPT_VEC == 16
typedef float16 floatv;
#define VLOAD(i, p) vload16(i, p)
#define VSTORE(v, i, p) vstore16(v, i, p)
#elif OPT_VEC == 1
typedef float floatv;
#define VLOAD(i, p) ((p)[i])
#define VSTORE(v, i, p) ((p)[i] = (v))
#else
#error "OPT_VEC must be 1 or 16"
#endif

/* One Adam / AdamW step, torch.optim.Adam / AdamW (single-tensor path, amsgrad off):
 *   Adam  (decoupled 0): g += wd * p                         ("L2 penalty" in the gradient)
 *   AdamW (decoupled 1): p *= 1 - lr * wd                    (decay applied to p directly)
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
 * with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t) computed on the host
 * in double, in the same order of operations as PyTorch. wd_grad is wd for Adam and 0 for
 * AdamW; p_scale is 1 - lr*wd for AdamW and 1 for Adam. Only Adam adds the penalty (a
 * uniform branch): for AdamW 0 * p would turn an infinite p into NaN. */
#define ADAM_UPDATE(T, pv, gr, mv, vv)                                         \
  {                                                                            \
    const T g = wd_grad != 0.0f ? gr + wd_grad * pv : gr;                      \
    pv *= p_scale;                                                             \
    mv = beta1 * mv + (1.0f - beta1) * g;                                      \
    vv = beta2 * vv + (1.0f - beta2) * g * g;                                  \
    pv = pv - step_size * mv / (sqrt(vv) / bc2_sqrt + eps);                    \
  }
__kernel void adam_step(__global float *p, __global const float *grad, __global float *m,
                        __global float *v, int n, float beta1, float beta2, float step_size,
                        float bc2_sqrt, float eps, float wd_grad, float p_scale) {
  const int i = get_global_id(0);
  if ((size_t)i * OPT_VEC + OPT_VEC <= (size_t)n) {
    floatv pv = VLOAD(i, p), mv = VLOAD(i, m), vv = VLOAD(i, v);
    const floatv gr = VLOAD(i, grad);
    ADAM_UPDATE(floatv, pv, gr, mv, vv)
    VSTORE(pv, i, p);
    VSTORE(mv, i, m);
    VSTORE(vv, i, v);
  } else {
    for (size_t j = (size_t)i * OPT_VEC; j < (size_t)n; j++) {
      float pv = p[j], mv = m[j], vv = v[j];
      const float gr = grad[j];
      ADAM_UPDATE(float, pv, gr, mv, vv)
      p[j] = pv;
      m[j] = mv;
      v[j] = vv;
    }
  }
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
