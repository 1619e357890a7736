/* Small shared elementwise ops and a deterministic sum (src/nn/ops.c). One element per
 * work-item; n bounds the padded global size. */

__kernel void ew_add(__global const float *a, __global const float *b, __global float *y, int n) {
  int i = get_global_id(0);
  if (i < n) y[i] = a[i] + b[i];
}

__kernel void ew_mul(__global const float *a, __global const float *b, __global float *y, int n) {
  int i = get_global_id(0);
  if (i < n) y[i] = a[i] * b[i];
}

/* y = alpha x + beta y. With beta == 0 y is not read, so NaN or garbage in an uninitialised
 * output cannot leak through 0 * NaN (the BLAS convention). */
__kernel void ew_axpby(float alpha, __global const float *x, float beta, __global float *y, int n) {
  int i = get_global_id(0);
  if (i >= n) return;
  y[i] = beta == 0.0f ? alpha * x[i] : alpha * x[i] + beta * y[i];
}

__kernel void ew_scale(__global const float *x, float alpha, __global float *y, int n) {
  int i = get_global_id(0);
  if (i < n) y[i] = alpha * x[i];
}

/* First stage of the deterministic sum: partial i (i < P) is the Kahan-compensated sum of
 * x[i], x[i + P], x[i + 2P], ... in that order. The strided walk keeps neighbouring
 * work-items on neighbouring addresses (coalesced on GPUs, vectorisable on CPUs). Which
 * elements go to which partial and in what order depends only on n and P, never on the
 * device's work-group size, so the result is the same bits on every run. */
__kernel void ew_sum_partials(__global const float *x, __global float *part, int n, int P) {
  int i = get_global_id(0);
  if (i >= P) return;
  float s = 0.0f, c = 0.0f;
  for (uint j = (uint)i; j < (uint)n; j += (uint)P) { /* uint: j + P cannot overflow */
    float yv = x[j] - c;
    float t = s + yv;
    c = (t - s) - yv;
    s = t;
  }
  part[i] = s;
}
