/* Small shared elementwise ops and a deterministic sum (src/nn/ops.c).
 *
 * Work split: work-item i takes elements [i*EW_VEC, (i+1)*EW_VEC); the host launches
 * ceil(n / EW_VEC) of them and n bounds the last, which does its (fewer) elements one by
 * one. EW_VEC is 16 on CPUs, where an explicit float16 per work-item ran 2x faster than
 * PoCL's own vectorisation across work-items (ew_add over 3.3M floats: 2.0 -> 1.0 ms of
 * CPU; the sum, whose loop PoCL did not vectorise at all, 6.8 -> 0.8 ms), and 1 on GPUs,
 * where a work-item per element keeps the loads coalesced. */

#ifndef EW_VEC
#ifdef DNACL_CPU
#define EW_VEC 16
#else
#define EW_VEC 1
#endif
#endif
#if EW_VEC == 16
typedef float16 floatv;
#define VLOAD(i, p) vload16(i, p)
#define VSTORE(v, i, p) vstore16(v, i, p)
#elif EW_VEC == 1
typedef float floatv;
#define VLOAD(i, p) ((p)[i])
#define VSTORE(v, i, p) ((p)[i] = (v))
#else
#error "EW_VEC must be 1 or 16"
#endif

/* Whether work-item i's chunk is whole, and the range of a partial one. */
#define FULL(i, n) ((size_t)(i) * EW_VEC + EW_VEC <= (size_t)(n))
#define FOR_TAIL(j, i, n) for (size_t j = (size_t)(i) * EW_VEC; j < (size_t)(n); j++)

__kernel void ew_add(__global const float *a, __global const float *b, __global float *y, int n) {
  const int i = get_global_id(0);
  if (FULL(i, n))
    VSTORE(VLOAD(i, a) + VLOAD(i, b), i, y);
  else
    FOR_TAIL(j, i, n) y[j] = a[j] + b[j];
}

__kernel void ew_mul(__global const float *a, __global const float *b, __global float *y, int n) {
  const int i = get_global_id(0);
  if (FULL(i, n))
    VSTORE(VLOAD(i, a) * VLOAD(i, b), i, y);
  else
    FOR_TAIL(j, i, n) y[j] = a[j] * b[j];
}

/* y = alpha x + beta y. With beta == 0 y is not read, so NaN or garbage in an uninitialised
 * output cannot leak through 0 * NaN (the BLAS convention). */
__kernel void ew_axpby(float alpha, __global const float *x, float beta, __global float *y, int n) {
  const int i = get_global_id(0);
  if (beta == 0.0f) {
    if (FULL(i, n))
      VSTORE(alpha * VLOAD(i, x), i, y);
    else
      FOR_TAIL(j, i, n) y[j] = alpha * x[j];
  } else {
    if (FULL(i, n))
      VSTORE(alpha * VLOAD(i, x) + beta * VLOAD(i, y), i, y);
    else
      FOR_TAIL(j, i, n) y[j] = alpha * x[j] + beta * y[j];
  }
}

__kernel void ew_scale(__global const float *x, float alpha, __global float *y, int n) {
  const int i = get_global_id(0);
  if (FULL(i, n))
    VSTORE(alpha * VLOAD(i, x), i, y);
  else
    FOR_TAIL(j, i, n) y[j] = alpha * x[j];
}

/* First stage of the deterministic sum: partial q (q < P) is the Kahan-compensated sum of
 * x[q], x[q + P], x[q + 2P], ... in that order. The strided walk keeps neighbouring
 * partials on neighbouring addresses. Which elements go to which partial and in what order
 * depends only on n and P, never on the device or its work-group size, so the result is
 * the same bits on every run.
 *
 * Work-item i computes partials [i*EW_VEC, (i+1)*EW_VEC): when all of them exist (P is a
 * multiple of EW_VEC, or i is not the last), as one vector whose lanes run exactly the
 * scalar recurrence, so the bits do not depend on EW_VEC either; otherwise one by one.
 * The host launches ceil(P / EW_VEC) work-items. (No multiply-add can be contracted
 * here: Kahan's compensation is additions only; the compensation of a partial's last
 * element is not needed, so it is not computed.) */
__kernel void ew_sum_partials(__global const float *x, __global float *part, int n, int P) {
  const int i = get_global_id(0);
  if (FULL(i, P)) {
    /* Lane q runs partial i*EW_VEC + q: in every stride of P it takes element
     * j + q, j = i*EW_VEC + k*P, so whole chunks are vector loads. */
    floatv s = 0.0f, c = 0.0f;
    uint j = (uint)i * EW_VEC;
    for (; j + EW_VEC <= (uint)n; j += (uint)P) { /* uint: j + P cannot overflow */
      const floatv yv = VLOAD(0, x + j) - c;
      const floatv t = s + yv;
      c = (t - s) - yv;
      s = t;
    }
    /* The stride cut short by n (if any) gives the first n - j lanes one more element;
     * there is no stride after it (P >= EW_VEC). */
    float ts[EW_VEC], tc[EW_VEC];
    VSTORE(s, 0, ts);
    VSTORE(c, 0, tc);
    for (uint q = 0; j + q < (uint)n; q++) {
      const float yv = x[j + q] - tc[q];
      const float t = ts[q] + yv;
      ts[q] = t;
    }
    VSTORE(VLOAD(0, ts), i, part);
  } else {
    /* The last work-item when P is not a multiple of EW_VEC: its partials one by one. */
    for (int q = i * EW_VEC; q < P; q++) {
      float s = 0.0f, c = 0.0f;
      for (uint j = (uint)q; j < (uint)n; j += (uint)P) {
        const float yv = x[j] - c;
        const float t = s + yv;
        c = (t - s) - yv;
        s = t;
      }
      part[q] = s;
    }
  }
}
