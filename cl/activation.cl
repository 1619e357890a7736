/* dnacl-selftest: -DACT=0|-DACT=1|-DACT=2|-DACT=3|-DACT=4|-DACT=5|-DACT=6|-DACT=7|-DACT=8
 *
 * Elementwise activations, one program per function: built with -D ACT=<n>, n the value of
 * dnacl_act in src/nn/layer.h (dlprimitives style: one source, specialised by a macro, so
 * each program holds only the branch-free code of its own function).
 *
 * Numerics (float32 throughout; every form below is chosen so no intermediate overflows or
 * cancels where the function itself is well-conditioned):
 *   - sigmoid(z) is 1/(1+e^-z) for z >= 0 and e^z/(1+e^z) for z < 0: exp never overflows
 *     and tiny results keep their relative accuracy instead of underflowing early.
 *   - 1 - sigmoid(z) is computed as sigmoid(-z), never by subtraction.
 *   - tanh'(x) = 1 - tanh^2 cancels to 0 for |x| > 9; 4 sigmoid(2x) sigmoid(-2x) is the
 *     same quantity without cancellation.
 *   - gelu_tanh: 0.5 x (1 + tanh u) == x sigmoid(2u) exactly; the latter does not cancel
 *     for negative x, where 1 + tanh u -> 0.
 *   - gelu_erf: 1 + erf(z) == erfc(-z), again without cancellation for negative x.
 *   - softplus follows PyTorch (beta 1, threshold 20): x itself above 20, else
 *     log1p(exp(x)), which is exp(x) to full accuracy for very negative x.
 *   - elu uses expm1 so small negative inputs keep their digits.
 *   - exponential is exp(x); it overflows to +inf for x > 88.7, as the function does.
 * Derivatives are computed from x alone (not from y) so the DeepLIFT rescale kernel can
 * evaluate them at the midpoint between x and the reference. */

#define ACT_LINEAR 0
#define ACT_RELU 1
#define ACT_EXP 2
#define ACT_GELU_TANH 3
#define ACT_GELU_ERF 4
#define ACT_SIGMOID 5
#define ACT_TANH 6
#define ACT_SOFTPLUS 7
#define ACT_ELU 8

#ifndef ACT
#error "build cl/activation.cl with -D ACT=<dnacl_act value>"
#endif

/* sqrt(2/pi) and the cubic coefficient of the tanh approximation of GELU. */
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f
/* 1/sqrt(2) and 1/sqrt(2 pi) for the exact GELU. */
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT2PI 0.3989422804014327f

static inline float sigm(float z) {
  if (z >= 0.0f) return 1.0f / (1.0f + exp(-z));
  float e = exp(z);
  return e / (1.0f + e);
}

static inline float act_f(float x) {
#if ACT == ACT_LINEAR
  return x;
#elif ACT == ACT_RELU
  return x > 0.0f ? x : 0.0f;
#elif ACT == ACT_EXP
  return exp(x);
#elif ACT == ACT_GELU_TANH
  float u = GELU_K * (x + GELU_C * x * x * x);
  return x * sigm(2.0f * u);
#elif ACT == ACT_GELU_ERF
  return 0.5f * x * erfc(-x * INV_SQRT2);
#elif ACT == ACT_SIGMOID
  return sigm(x);
#elif ACT == ACT_TANH
  return tanh(x);
#elif ACT == ACT_SOFTPLUS
  return x > 20.0f ? x : log1p(exp(x));
#elif ACT == ACT_ELU
  return x > 0.0f ? x : expm1(x);
#else
#error "unknown ACT"
#endif
}

/* f'(x). At relu's kink the derivative is 0 (PyTorch's choice). */
static inline float act_df(float x) {
#if ACT == ACT_LINEAR
  return 1.0f;
#elif ACT == ACT_RELU
  return x > 0.0f ? 1.0f : 0.0f;
#elif ACT == ACT_EXP
  return exp(x);
#elif ACT == ACT_GELU_TANH
  /* d/dx [x s(2u)] = s(2u) + x * 2u' * s(2u) s(-2u), u' = k (1 + 3c x^2). Beyond |x| = 16
   * one of the sigmoids is exactly 0 in float32 and the value is exactly 1 or 0; returning
   * it directly keeps inf * 0 (x^3 or x^2 overflowing) from making NaN for huge inputs. */
  if (fabs(x) > 16.0f) return x > 0.0f ? 1.0f : 0.0f;
  float u = GELU_K * (x + GELU_C * x * x * x);
  float s = sigm(2.0f * u), sn = sigm(-2.0f * u);
  float du = GELU_K * (1.0f + 3.0f * GELU_C * x * x);
  return s + x * 2.0f * du * s * sn;
#elif ACT == ACT_GELU_ERF
  return 0.5f * erfc(-x * INV_SQRT2) + x * INV_SQRT2PI * exp(-0.5f * x * x);
#elif ACT == ACT_SIGMOID
  return sigm(x) * sigm(-x);
#elif ACT == ACT_TANH
  return 4.0f * sigm(2.0f * x) * sigm(-2.0f * x);
#elif ACT == ACT_SOFTPLUS
  return x > 20.0f ? 1.0f : sigm(x);
#elif ACT == ACT_ELU
  return x > 0.0f ? 1.0f : exp(x);
#endif
}

__kernel void act_forward(__global const float *x, __global float *y, int n) {
  int i = get_global_id(0);
  if (i < n) y[i] = act_f(x[i]);
}

__kernel void act_backward(__global const float *x, __global const float *dy, __global float *dx,
                           int n) {
  int i = get_global_id(0);
  if (i < n) dx[i] = dy[i] * act_df(x[i]);
}

/* DeepLIFT rescale: dx = dy * (y - yref) / (x - xref). Where |x - xref| < 1e-6 the secant
 * is all rounding noise, so it is replaced by the derivative at the midpoint (x + xref)/2:
 * the secant slope of a smooth f equals f' at the midpoint up to O(dx^2 f'''), so the
 * multiplier stays continuous across the threshold, and it is exactly f'(x) when x == xref.
 * (At the threshold the midpoint and x differ by < 5e-7, so this agrees with the layer
 * contract's "gradient at x" to well below float32 rounding of the multiplier.) */
__kernel void act_rescale(__global const float *x, __global const float *xref,
                          __global const float *y, __global const float *yref,
                          __global const float *dy, __global float *dx, int n) {
  int i = get_global_id(0);
  if (i >= n) return;
  float a = x[i], b = xref[i];
  float d = a - b;
  float m = fabs(d) < 1e-6f ? act_df(0.5f * a + 0.5f * b) : (y[i] - yref[i]) / d;
  dx[i] = dy[i] * m;
}
