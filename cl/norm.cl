/* Normalisation layers: batchnorm (statistics per channel over batch and length) and
 * layernorm (statistics over channels for each (batch, position)).
 *
 * Activations are (B, C, L) with L contiguous; a (B, C) input is run as L = 1.
 *
 * Reductions are deterministic: a per-channel reduction is one work-group per channel,
 * each work-item summing a fixed strided slice in order, then a fixed-order tree in local
 * memory. The local size must be a power of two (the host picks it); the result depends
 * only on the data and the local size, so the same device gives the same bits. */

/* Tree-sum sh[0..wg) into sh[0]; every work-item must call it. Ends with a barrier, so
 * sh[0] is visible to all; the caller must barrier again before overwriting sh. */
static void tree_sum(__local float *sh, int lid, int wg) {
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = wg >> 1; s > 0; s >>= 1) {
    if (lid < s) sh[lid] += sh[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

/* Two sums at once: a[0..wg) and b[0..wg). */
static void tree_sum2(__local float *a, __local float *b, int lid, int wg) {
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = wg >> 1; s > 0; s >>= 1) {
    if (lid < s) {
      a[lid] += a[lid + s];
      b[lid] += b[lid + s];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

/* Element j of channel c's (B, L) slice: consecutive work-items read consecutive l. */
#define CH_AT(p, j) (p)[((size_t)((j) / L) * C + c) * L + (j) % L]

/* ---- batchnorm ---------------------------------------------------------------------- */

/* One work-group per channel. Batch mean and biased variance (two passes over the data:
 * sum((x - mean)^2) rather than E[x^2] - mean^2, which cancels badly when |mean| >> std).
 * Writes mean and 1/sqrt(var + eps) for the forward and backward; with update set, also
 * the running statistics the PyTorch way, with the unbiased variance:
 *   r = (1 - momentum) * r + momentum * stat. */
__kernel void bn_stats(__global const float *x, int B, int C, int L, float eps, float momentum,
                       int update, __global float *mean, __global float *invstd,
                       __global float *rmean, __global float *rvar, __local float *sh) {
  const int c = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
  const int n = B * L;
  float s = 0.0f;
  for (int j = lid; j < n; j += wg) s += CH_AT(x, j);
  sh[lid] = s;
  tree_sum(sh, lid, wg);
  const float m = sh[0] / (float)n;
  barrier(CLK_LOCAL_MEM_FENCE);
  s = 0.0f;
  for (int j = lid; j < n; j += wg) {
    float d = CH_AT(x, j) - m;
    s += d * d;
  }
  sh[lid] = s;
  tree_sum(sh, lid, wg);
  if (lid == 0) {
    const float ss = sh[0];
    const float var = ss / (float)n;
    mean[c] = m;
    invstd[c] = 1.0f / sqrt(var + eps);
    if (update) {
      rmean[c] = (1.0f - momentum) * rmean[c] + momentum * m;
      rvar[c] = (1.0f - momentum) * rvar[c] + momentum * (ss / (float)(n - 1));
    }
  }
}

/* Eval mode: the running statistics stand in for the batch ones. */
__kernel void bn_eval_stats(__global const float *rmean, __global const float *rvar, int C,
                            float eps, __global float *mean, __global float *invstd) {
  const int c = get_global_id(0);
  if (c >= C) return;
  mean[c] = rmean[c];
  invstd[c] = 1.0f / sqrt(rvar[c] + eps);
}

/* y = (x - mean) * invstd * gamma + beta, per channel. */
__kernel void bn_apply(__global const float *x, __global const float *mean,
                       __global const float *invstd, __global const float *gamma,
                       __global const float *beta, __global float *y, int C, int L, int n) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / L) % C;
  y[i] = (x[i] - mean[c]) * invstd[c] * gamma[c] + beta[c];
}

/* One work-group per channel: sums[c] = sum(dy), sums[C + c] = sum(dy * xhat) over the
 * channel's (B, L) slice. These are dbeta and dgamma, and the two terms of the
 * batch-statistics part of dx. */
__kernel void bn_bwd_reduce(__global const float *x, __global const float *dy,
                            __global const float *mean, __global const float *invstd, int B,
                            int C, int L, __global float *sums, __local float *sh) {
  const int c = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
  const int n = B * L;
  const float m = mean[c], r = invstd[c];
  float sd = 0.0f, sdx = 0.0f;
  for (int j = lid; j < n; j += wg) {
    const float g = CH_AT(dy, j);
    sd += g;
    sdx += g * (CH_AT(x, j) - m) * r;
  }
  __local float *a = sh, *b = sh + wg;
  a[lid] = sd;
  b[lid] = sdx;
  tree_sum2(a, b, lid, wg);
  if (lid == 0) {
    sums[c] = a[0];
    sums[C + c] = b[0];
  }
}

/* Train mode: mean and variance depend on every x of the channel, so
 *   dx = gamma * invstd * (dy - sum(dy)/N - xhat * sum(dy * xhat)/N),  N = B * L. */
__kernel void bn_bwd_dx_train(__global const float *x, __global const float *dy,
                              __global const float *mean, __global const float *invstd,
                              __global const float *gamma, __global const float *sums,
                              __global float *dx, int C, int L, int n, float inv_count) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / L) % C;
  const float r = invstd[c];
  const float xhat = (x[i] - mean[c]) * r;
  dx[i] = gamma[c] * r * (dy[i] - sums[c] * inv_count - xhat * sums[C + c] * inv_count);
}

/* Eval mode: an affine map per channel. */
__kernel void bn_bwd_dx_eval(__global const float *dy, __global const float *invstd,
                             __global const float *gamma, __global float *dx, int C, int L,
                             int n) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / L) % C;
  dx[i] = dy[i] * gamma[c] * invstd[c];
}

/* ---- layernorm ---------------------------------------------------------------------- */

/* One work-item per (b, l): statistics over the C values at stride L (adjacent work-items
 * take adjacent l, so the loads coalesce). Two passes as in bn_stats; biased variance as
 * torch.nn.LayerNorm. */
__kernel void ln_forward(__global const float *x, __global const float *gamma,
                         __global const float *beta, __global float *y, __global float *mean,
                         __global float *invstd, int B, int C, int L, float eps) {
  const int i = get_global_id(0);
  if (i >= B * L) return;
  const int b = i / L, l = i - b * L;
  __global const float *xp = x + (size_t)b * C * L + l;
  __global float *yp = y + (size_t)b * C * L + l;
  float s = 0.0f;
  for (int c = 0; c < C; c++) s += xp[(size_t)c * L];
  const float m = s / (float)C;
  s = 0.0f;
  for (int c = 0; c < C; c++) {
    const float d = xp[(size_t)c * L] - m;
    s += d * d;
  }
  const float r = 1.0f / sqrt(s / (float)C + eps);
  for (int c = 0; c < C; c++) yp[(size_t)c * L] = (xp[(size_t)c * L] - m) * r * gamma[c] + beta[c];
  mean[i] = m;
  invstd[i] = r;
}

/* One work-item per (b, l): with g = dy * gamma,
 *   dx = invstd * (g - mean_c(g) - xhat * mean_c(g * xhat)). */
__kernel void ln_bwd_dx(__global const float *x, __global const float *dy,
                        __global const float *gamma, __global const float *mean,
                        __global const float *invstd, __global float *dx, int B, int C, int L) {
  const int i = get_global_id(0);
  if (i >= B * L) return;
  const int b = i / L, l = i - b * L;
  const size_t base = (size_t)b * C * L + l;
  const float m = mean[i], r = invstd[i];
  float sg = 0.0f, sgx = 0.0f;
  for (int c = 0; c < C; c++) {
    const size_t k = base + (size_t)c * L;
    const float g = dy[k] * gamma[c];
    sg += g;
    sgx += g * (x[k] - m) * r;
  }
  sg /= (float)C;
  sgx /= (float)C;
  for (int c = 0; c < C; c++) {
    const size_t k = base + (size_t)c * L;
    dx[k] = r * (dy[k] * gamma[c] - sg - (x[k] - m) * r * sgx);
  }
}

/* One work-group per channel: dgamma[c] = sum(dy * xhat), dbeta[c] = sum(dy) over (b, l),
 * xhat using the statistics of its own (b, l). */
__kernel void ln_bwd_params(__global const float *x, __global const float *dy,
                            __global const float *mean, __global const float *invstd, int B,
                            int C, int L, __global float *dgamma, __global float *dbeta,
                            __local float *sh) {
  const int c = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
  const int n = B * L;
  float sd = 0.0f, sdx = 0.0f;
  for (int j = lid; j < n; j += wg) {
    const float g = CH_AT(dy, j);
    sd += g;
    sdx += g * (CH_AT(x, j) - mean[j]) * invstd[j];
  }
  __local float *a = sh, *b = sh + wg;
  a[lid] = sd;
  b[lid] = sdx;
  tree_sum2(a, b, lid, wg);
  if (lid == 0) {
    dbeta[c] = a[0];
    dgamma[c] = b[0];
  }
}
