/* dnacl-selftest: -DACT=0|-DACT=1|-DACT=2|-DACT=3|-DACT=4|-DACT=5|-DACT=6|-DACT=7|-DACT=8
 *
 * Elementwise activations, one program per function: built with -D ACT=<n>, n the value of
 * dnacl_act in src/nn/layer.h (dlprimitives style: one source, specialised by a macro, so
 * each program holds only the branch-free code of its own function).
 *
 * The formulas and their numerics are in cl/include/act_formulas.cl, shared with the
 * one-pass ISM convolution of cl/ism.cl; this file adds the vector width, the partial
 * last vector and the DeepLIFT rescale rule.
 *
 * Vectors: on CPUs (DNACL_CPU) each work-item takes ACT_VEC = 16 consecutive elements as
 * one float16. PoCL vectorises a kernel across work-items only where every call has a
 * vector variant, and exp, erfc, log1p, expm1 and tanh have none there: called once per
 * element they cost ~3 (exp) to ~110 (erfc) ns of CPU per element, while their float16
 * overloads run vector code. So every function (act_f, act_df and rescale below) is written
 * once for floatv (float16 on CPUs; float on GPUs, where a work-item takes one element so
 * that loads coalesce), with ternaries instead of ifs (a vector condition selects lane by
 * lane). */

#ifndef ACT
#error "build cl/activation.cl with -D ACT=<dnacl_act value>"
#endif

#ifndef ACT_VEC
#ifdef DNACL_CPU
#define ACT_VEC 16
#else
#define ACT_VEC 1
#endif
#endif
#if ACT_VEC == 16
typedef float16 floatv;
#define VLOAD(i, p) vload16(i, p)
#define VSTORE(v, i, p) vstore16(v, i, p)
#elif ACT_VEC == 1
typedef float floatv;
#define VLOAD(i, p) ((p)[i])
#define VSTORE(v, i, p) ((p)[i] = (v))
#else
#error "ACT_VEC must be 1 or 16"
#endif

/* act_f(x) and act_df(x) = f'(x) on floatv, for the function ACT. */
#include "act_formulas.cl"

/* DeepLIFT rescale: dx = dy * (y - yref) / (x - xref). Where |x - xref| < 1e-6 the secant
 * is all rounding noise, so it is replaced by the derivative at the midpoint (x + xref)/2:
 * the secant slope of a smooth f equals f' at the midpoint up to O(dx^2 f'''), so the
 * multiplier stays continuous across the threshold, and it is exactly f'(x) when x == xref.
 * (At the threshold the midpoint and x differ by < 5e-7, so this agrees with the layer
 * contract's "gradient at x" to well below float32 rounding of the multiplier.) */
static inline floatv rescale(floatv a, floatv b, floatv y, floatv yref, floatv dy) {
  const floatv d = a - b;
  const floatv m = fabs(d) < 1e-6f ? act_df(0.5f * a + 0.5f * b) : (y - yref) / d;
  return dy * m;
}

/* Work-item i takes elements [i*ACT_VEC, (i+1)*ACT_VEC) (the host launches
 * ceil(n / ACT_VEC) of them). The last may be partial: it goes through private arrays
 * padded with zeros (every function is finite at 0) and stores only its real elements.
 * With ACT_VEC = 1 that never happens. */
#define FULL(i, n) (((i) + 1) * ACT_VEC <= (n))
#define PARTIAL_IN(t, p, i, n)                                                    \
  for (int k = 0; k < ACT_VEC; k++)                                               \
    t[k] = (i) * ACT_VEC + k < (n) ? (p)[(i) * ACT_VEC + k] : 0.0f;
#define PARTIAL_OUT(t, p, i, n)                                                   \
  for (int k = 0; k < ACT_VEC && (i) * ACT_VEC + k < (n); k++) (p)[(i) * ACT_VEC + k] = t[k];

__kernel void act_forward(__global const float *x, __global float *y, int n) {
  const int i = get_global_id(0);
  if (FULL(i, n)) {
    VSTORE(act_f(VLOAD(i, x)), i, y);
  } else if (i * ACT_VEC < n) {
    float tx[ACT_VEC], ty[ACT_VEC];
    PARTIAL_IN(tx, x, i, n)
    VSTORE(act_f(VLOAD(0, tx)), 0, ty);
    PARTIAL_OUT(ty, y, i, n)
  }
}

__kernel void act_backward(__global const float *x, __global const float *dy, __global float *dx,
                           int n) {
  const int i = get_global_id(0);
  if (FULL(i, n)) {
    VSTORE(VLOAD(i, dy) * act_df(VLOAD(i, x)), i, dx);
  } else if (i * ACT_VEC < n) {
    float tx[ACT_VEC], tdy[ACT_VEC], tdx[ACT_VEC];
    PARTIAL_IN(tx, x, i, n)
    PARTIAL_IN(tdy, dy, i, n)
    VSTORE(VLOAD(0, tdy) * act_df(VLOAD(0, tx)), 0, tdx);
    PARTIAL_OUT(tdx, dx, i, n)
  }
}

__kernel void act_rescale(__global const float *x, __global const float *xref,
                          __global const float *y, __global const float *yref,
                          __global const float *dy, __global float *dx, int n) {
  const int i = get_global_id(0);
  if (FULL(i, n)) {
    VSTORE(rescale(VLOAD(i, x), VLOAD(i, xref), VLOAD(i, y), VLOAD(i, yref), VLOAD(i, dy)), i,
           dx);
  } else if (i * ACT_VEC < n) {
    float ta[ACT_VEC], tb[ACT_VEC], ty[ACT_VEC], tyr[ACT_VEC], tdy[ACT_VEC], tdx[ACT_VEC];
    PARTIAL_IN(ta, x, i, n)
    PARTIAL_IN(tb, xref, i, n)
    PARTIAL_IN(ty, y, i, n)
    PARTIAL_IN(tyr, yref, i, n)
    PARTIAL_IN(tdy, dy, i, n)
    VSTORE(rescale(VLOAD(0, ta), VLOAD(0, tb), VLOAD(0, ty), VLOAD(0, tyr), VLOAD(0, tdy)), 0,
           tdx);
    PARTIAL_OUT(tdx, dx, i, n)
  }
}
