/* Dense-layer helpers (src/nn/dense.c); the products themselves are dnacl_gemm. */

/* y[b, o] = bias[o]: the starting value the forward GEMM accumulates onto (beta = 1). */
__kernel void dense_bias_rows(__global const float *bias, int B, int O, __global float *y) {
  int o = get_global_id(0), b = get_global_id(1);
  if (o < O && b < B) y[(size_t)b * O + o] = bias[o];
}

/* db[o] = sum_b dy[b, o], summed in batch order (deterministic, no atomics). */
__kernel void dense_colsum(__global const float *dy, int B, int O, __global float *db) {
  int o = get_global_id(0);
  if (o >= O) return;
  float s = 0.0f;
  for (int b = 0; b < B; b++) s += dy[(size_t)b * O + o];
  db[o] = s;
}
