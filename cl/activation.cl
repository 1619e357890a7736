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
 * evaluate them at the midpoint between x and the reference.
 *
 * Vectors: on CPUs (DNACL_CPU) each work-item takes ACT_VEC = 16 consecutive elements as
 * one float16. PoCL vectorises a kernel across work-items only where every call has a
 * vector variant, and exp, erfc, log1p, expm1 and tanh have none there: called once per
 * element they cost ~3 (exp) to ~110 (erfc) ns of CPU per element, while their float16
 * overloads run vector code. So every function below is written once for floatv (float16
 * on CPUs; float on GPUs, where a work-item takes one element so that loads coalesce),
 * with ternaries instead of ifs (a vector condition selects lane by lane). */

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

/* sigmoid(z) = 1/(1 + e) for z >= 0 and e/(1 + e) for z < 0, with e = exp(-|z|) in (0, 1]:
 * one exp serves both cases (a vector evaluates both sides of the ternary). */
static inline floatv sigm(floatv z) {
  const floatv e = exp(-fabs(z));
  return z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

/* sigmoid(z) and sigmoid(-z) from one exp: bit for bit sigm(z) and sigm(-z). */
static inline void sigm_pair(floatv z, floatv *s, floatv *sn) {
  const floatv e = exp(-fabs(z));
  const floatv big = 1.0f / (1.0f + e), small = e / (1.0f + e);
  *s = z >= 0.0f ? big : small;
  *sn = z >= 0.0f ? small : big;
}

static inline floatv act_f(floatv x) {
#if ACT == ACT_LINEAR
  return x;
#elif ACT == ACT_RELU
  return x > 0.0f ? x : 0.0f;
#elif ACT == ACT_EXP
  return exp(x);
#elif ACT == ACT_GELU_TANH
  const floatv u = GELU_K * (x + GELU_C * x * x * x);
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
static inline floatv act_df(floatv x) {
#if ACT == ACT_LINEAR
  return (floatv)1.0f;
#elif ACT == ACT_RELU
  return x > 0.0f ? (floatv)1.0f : (floatv)0.0f;
#elif ACT == ACT_EXP
  return exp(x);
#elif ACT == ACT_GELU_TANH
  /* d/dx [x s(2u)] = s(2u) + x * 2u' * s(2u) s(-2u), u' = k (1 + 3c x^2). Beyond |x| = 16
   * one of the sigmoids is exactly 0 in float32 and the value is exactly 1 or 0; selecting
   * it there keeps inf * 0 (x^3 or x^2 overflowing) from making NaN for huge inputs. */
  const floatv u = GELU_K * (x + GELU_C * x * x * x);
  floatv s, sn;
  sigm_pair(2.0f * u, &s, &sn);
  const floatv du = GELU_K * (1.0f + 3.0f * GELU_C * x * x);
  const floatv d = s + x * 2.0f * du * s * sn;
  const floatv tail = x > 0.0f ? (floatv)1.0f : (floatv)0.0f;
  return fabs(x) > 16.0f ? tail : d;
#elif ACT == ACT_GELU_ERF
  return 0.5f * erfc(-x * INV_SQRT2) + x * INV_SQRT2PI * exp(-0.5f * x * x);
#elif ACT == ACT_SIGMOID
  floatv s, sn;
  sigm_pair(x, &s, &sn);
  return s * sn;
#elif ACT == ACT_TANH
  floatv s, sn;
  sigm_pair(2.0f * x, &s, &sn);
  return 4.0f * s * sn;
#elif ACT == ACT_SOFTPLUS
  return x > 20.0f ? (floatv)1.0f : sigm(x);
#elif ACT == ACT_ELU
  return x > 0.0f ? (floatv)1.0f : exp(x);
#endif
}

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
