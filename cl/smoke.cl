/* The smoke kernel: a device is trusted only after this builds and gives y = a*x + b. */
__kernel void smoke_axpb(__global const float *x, __global const float *b, __global float *y,
                         float a, int n) {
  int i = get_global_id(0);
  if (i < n) y[i] = a * x[i] + b[i];
}
