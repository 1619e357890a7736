/* Counter-based dropout: the mask is a pure function of (seed, flat index), so backward
 * recomputes it instead of storing it, and any device gives the same mask.
 *
 *   keep(seed, i) = ((mix32(seed ^ mix32(i)) >> 8) * 2^-24) >= p
 *
 * mix32 is dnacl_mix32 of src/nn/layer.h and mix32 of tools/dnacl_ref.py, in uint
 * arithmetic (wrap-around multiplication is defined for unsigned types in OpenCL C as in C).
 * The host passes thr = ceil(p * 2^24): for an integer k = h >> 8, k * 2^-24 >= p exactly
 * when k >= thr, so the comparison is done in integers and no device rounding of p or of
 * the product can change the mask. */

static inline uint mix32(uint x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

/* y[i] = keep(seed, i) ? x[i] * scale : 0, scale = 1/(1-p). Forward (x -> y) and backward
 * (dy -> dx) are the same operation with the same mask. */
__kernel void dropout_apply(__global const float *x, __global float *y, int n, uint seed,
                            uint thr, float scale) {
  int i = get_global_id(0);
  if (i >= n) return;
  uint h = mix32(seed ^ mix32((uint)i));
  y[i] = (h >> 8) >= thr ? x[i] * scale : 0.0f;
}
