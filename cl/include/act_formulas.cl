/* The nine activation functions and their derivatives, written once for every kernel
 * family that applies them: cl/activation.cl (the layer, on float or float16 lanes) and
 * cl/ism.cl (the one-pass ISM convolution, which applies the activation after it on
 * float16). Not a program of its own: a kernel file pulls it in with
 *   #include "act_formulas.cl"
 * which cmake/embed_cl.cmake replaces with this text when it embeds the kernels.
 *
 * The includer defines, before the include:
 *   ACT     the function, the value of dnacl_act in src/nn/layer.h (numbered below);
 *   floatv  (a typedef) the type the functions take and return: float or a float vector.
 * The bodies use only ternaries, never ifs, and only built-ins with vector overloads, so
 * one text serves both: with a vector type a condition selects lane by lane, and a scalar
 * operand of a ternary or an arithmetic operator is widened to every lane (OpenCL C 1.2,
 * 6.3). Plain macros and functions, not __attribute__((overloadable)): that is a clang
 * extension, OpenCL C itself cannot overload user functions, and not every vendor's
 * compiler is clang.
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

#ifndef DNACL_ACT_FORMULAS_CL
#define DNACL_ACT_FORMULAS_CL

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
#error "define ACT (the dnacl_act value) before including act_formulas.cl"
#endif

/* sqrt(2/pi) and the cubic coefficient of the tanh approximation of GELU. */
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f
/* 1/sqrt(2) and 1/sqrt(2 pi) for the exact GELU. */
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT2PI 0.3989422804014327f

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

#endif
