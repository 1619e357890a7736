/* Normalisation layers: batchnorm (statistics per channel over batch and length) and
 * layernorm (statistics over channels for each (batch, position)).
 *
 * Activations are (B, C, L) with L contiguous; a (B, C) input is run as L = 1.
 *
 * Reductions are deterministic: each work-item sums a fixed share of the data in a fixed
 * order, then a fixed-order tree in local memory combines the work-items. The local size
 * must be a power of two (the host picks it); the result depends only on the data, the
 * local size and BN_VEC, so the same device gives the same bits. */

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

/* ---- batchnorm ---------------------------------------------------------------------- */

/* The batchnorm kernels run one work-group per channel and do all of a channel's work in
 * it: the statistics, then the elementwise pass over the same (B, L) slice, which is still
 * in cache (205 KB for B = 256, L = 200). One launch per forward and one per backward.
 *
 * A channel's slice is B rows of L contiguous floats. Work-item lid takes, in every row,
 * the BN_VEC-wide chunks lid, lid + wg, lid + 2 wg, ... and then the last L % BN_VEC
 * elements one by one, with the same interleaving.
 *   CPU: wg = 1 and BN_VEC = 16. PoCL runs a work-group on one core, so one work-item per
 *        channel walks the rows with float16 loads (one AVX-512 register), and the channels
 *        spread over the cores. The per-element index arithmetic of an elementwise kernel
 *        (c = (i / L) % C: two integer divisions, which no x86 vector unit has) cost more
 *        than the arithmetic itself, and a separate statistics kernel re-read the tensor.
 *   GPU: BN_VEC = 1 and wg up to 256: neighbouring work-items read neighbouring floats. */
#ifndef BN_VEC
#ifdef DNACL_CPU
#define BN_VEC 16
#else
#define BN_VEC 1
#endif
#endif

#if BN_VEC == 16
typedef float16 bn_vec;
#define BN_LOAD(p) vload16(0, p)
#define BN_STORE(v, p) vstore16(v, 0, p)
static inline float bn_hsum(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 d = b.lo + b.hi;
  return d.x + d.y;
}
#elif BN_VEC == 8
typedef float8 bn_vec;
#define BN_LOAD(p) vload8(0, p)
#define BN_STORE(v, p) vstore8(v, 0, p)
static inline float bn_hsum(float8 v) {
  float4 b = v.lo + v.hi;
  float2 d = b.lo + b.hi;
  return d.x + d.y;
}
#elif BN_VEC == 1
typedef float bn_vec;
#define BN_LOAD(p) (*(p))
#define BN_STORE(v, p) (*(p) = (v))
#define bn_hsum(v) (v)
#else
#error "BN_VEC must be 1, 8 or 16"
#endif

/* Loop over this work-item's share of channel c. BODY(T, LD, ST, OFF, A) runs once per
 * chunk: T is its type (bn_vec, or float in the tail), LD/ST the matching accessors and
 * OFF its offset in the tensor. Sums go to the row's partial sums A##r0 and A##r1 (A is v
 * for the bn_vec ones, s for the tail's floats, so that a tail element is added to one
 * float, not broadcast into every lane), which FLUSH adds to the work-item's totals at the
 * end of each row: a sum then rounds over L/BN_VEC + B terms in sequence, not B*L/BN_VEC
 * (the error of a float sum grows with the length of its chain of additions). */
#define BN_FOR_CHANNEL(BODY, FLUSH)                                                 \
  for (int b = 0; b < B; b++) {                                                     \
    const size_t row = ((size_t)b * C + c) * L;                                     \
    bn_vec vr0 = 0.0f, vr1 = 0.0f;                                                  \
    float sr0 = 0.0f, sr1 = 0.0f;                                                   \
    int l = lid * BN_VEC;                                                           \
    for (; l + BN_VEC <= L; l += wg * BN_VEC) {                                     \
      const size_t OFF = row + l;                                                   \
      BODY(bn_vec, BN_LOAD, BN_STORE, OFF, v)                                       \
    }                                                                               \
    for (l = L - L % BN_VEC + lid; l < L; l += wg) { /* the tail, if BN_VEC > 1 */  \
      const size_t OFF = row + l;                                                   \
      BODY(float, SC_LOAD, SC_STORE, OFF, s)                                        \
    }                                                                               \
    FLUSH                                                                           \
  }
#define BN_NO_FLUSH
#define SC_LOAD(p) (*(p))
#define SC_STORE(v, p) (*(p) = (v))

/* Forward, train or eval mode, one work-group per channel.
 * train: batch mean and biased variance, by two passes over the data (sum((x - mean)^2)
 *   rather than E[x^2] - mean^2, which cancels badly when |mean| >> std); the running
 *   statistics are updated the PyTorch way, with the unbiased variance:
 *   r = (1 - momentum) * r + momentum * stat.
 * eval: the running statistics stand in for the batch ones.
 * Then y = (x - mean) * invstd * gamma + beta, and mean and invstd = 1/sqrt(var + eps)
 * are kept for the backward. */
#define BN_SUM(T, LD, ST, OFF, A) A##r0 += LD(x + OFF);
#define BN_SQDEV(T, LD, ST, OFF, A) { const T d = LD(x + OFF) - m; A##r0 += d * d; }
#define BN_FLUSH1 vacc += vr0; sacc += sr0;
#define BN_APPLY(T, LD, ST, OFF, A) ST((LD(x + OFF) - m) * r * g + be, y + OFF);
__kernel void bn_forward(__global const float *x, __global float *y, int B, int C, int L,
                         __global const float *gamma, __global const float *beta,
                         __global float *rmean, __global float *rvar, __global float *mean,
                         __global float *invstd, float eps, float momentum, int train,
                         __local float *sh) {
  const int c = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
  /* Batch statistics (skipped in eval mode; the trees run anyway, to keep every barrier
   * outside conditional code, as in bn_backward). */
  const int n = B * L;
  bn_vec vacc = 0.0f;
  float sacc = 0.0f;
  if (train) BN_FOR_CHANNEL(BN_SUM, BN_FLUSH1)
  sh[lid] = bn_hsum(vacc) + sacc;
  tree_sum(sh, lid, wg);
  const float mb = sh[0] / (float)n;
  barrier(CLK_LOCAL_MEM_FENCE);
  vacc = 0.0f;
  sacc = 0.0f;
  float m = mb;
  if (train) BN_FOR_CHANNEL(BN_SQDEV, BN_FLUSH1)
  sh[lid] = bn_hsum(vacc) + sacc;
  tree_sum(sh, lid, wg);
  const float ss = sh[0];
  float r;
  if (train) {
    r = 1.0f / sqrt(ss / (float)n + eps);
    if (lid == 0) {
      rmean[c] = (1.0f - momentum) * rmean[c] + momentum * m;
      rvar[c] = (1.0f - momentum) * rvar[c] + momentum * (ss / (float)(n - 1));
    }
  } else {
    m = rmean[c];
    r = 1.0f / sqrt(rvar[c] + eps);
  }
  if (lid == 0) {
    mean[c] = m;
    invstd[c] = r;
  }
  const float g = gamma[c], be = beta[c];
  BN_FOR_CHANNEL(BN_APPLY, BN_NO_FLUSH)
}

/* Backward, one work-group per channel. With want_sums, the sums
 *   sd = sum(dy) (= dbeta) and sdx = sum(dy * xhat) (= dgamma)
 * over the channel's (B, L) slice, written to dgamma/dbeta when want_params. With
 * want_dx:
 *   train: the batch statistics depend on every x of the channel, so
 *          dx = gamma * invstd * (dy - sd/N - xhat * sdx/N),  N = B * L;
 *   eval:  an affine map per channel, dx = dy * gamma * invstd.
 * The host sets want_sums = want_params || (train && want_dx). */
#define BN_BWD_SUMS(T, LD, ST, OFF, A) { const T gv = LD(dy + OFF); A##r0 += gv; A##r1 += gv * (LD(x + OFF) - m) * r; }
#define BN_FLUSH2 vsd += vr0; ssd += sr0; vsdx += vr1; ssdx += sr1;
#define BN_DX_TRAIN(T, LD, ST, OFF, A) ST(gr * (LD(dy + OFF) - a - (LD(x + OFF) - m) * r * q), dx + OFF);
#define BN_DX_EVAL(T, LD, ST, OFF, A) ST(LD(dy + OFF) * gr, dx + OFF);
__kernel void bn_backward(__global const float *x, __global const float *dy, __global float *dx,
                          int B, int C, int L, __global const float *gamma,
                          __global const float *mean, __global const float *invstd,
                          __global float *dgamma, __global float *dbeta, int train, int want_dx,
                          int want_sums, int want_params, float inv_count, __local float *sh) {
  const int c = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
  const float m = mean[c], r = invstd[c];
  bn_vec vsd = 0.0f, vsdx = 0.0f;
  float ssd = 0.0f, ssdx = 0.0f;
  if (want_sums) BN_FOR_CHANNEL(BN_BWD_SUMS, BN_FLUSH2)
  /* The tree runs whether or not the sums are wanted: every barrier stays outside
   * conditional code (PoCL corrupted memory with the tree inside if (want_sums), although
   * the condition is uniform). */
  __local float *sa = sh, *sb = sh + wg;
  sa[lid] = bn_hsum(vsd) + ssd;
  sb[lid] = bn_hsum(vsdx) + ssdx;
  tree_sum2(sa, sb, lid, wg);
  const float sum_d = sa[0], sum_dx = sb[0];
  if (want_params && lid == 0) {
    dbeta[c] = sum_d;
    dgamma[c] = sum_dx;
  }
  if (!want_dx) return;
  const float gr = gamma[c] * r;
  if (train) {
    const float a = sum_d * inv_count, q = sum_dx * inv_count;
    BN_FOR_CHANNEL(BN_DX_TRAIN, BN_NO_FLUSH)
  } else {
    BN_FOR_CHANNEL(BN_DX_EVAL, BN_NO_FLUSH)
  }
}

/* ---- batchnorm of (B, C) inputs on CPUs ----------------------------------------------- */

/* After a dense layer a channel is one float per row, C floats apart: a work-group per
 * channel then does B scalar loads, and the work-group overhead of PoCL dominated (0.35 ms
 * of a 5.3 ms training step of cnn_50 for (64, 512)). Here work-item i takes 16 adjacent
 * channels as the lanes of a float16, walking the B rows (C % 16 leftover channels one by
 * one, the same code on floats). Each lane's sums run over b in order, as the per-channel
 * kernels' do for L = 1. Global: ceil(C / 16) work-items. */
#define COLS_LOAD(p) vload16(0, p)
#define COLS_STORE(v, p) vstore16(v, 0, p)

#define BN_COLS_FORWARD(T, LD, ST, c)                                          \
  {                                                                            \
    T m, r;                                                                    \
    if (train) {                                                               \
      T s = 0.0f;                                                              \
      for (int b = 0; b < B; b++) s += LD(x + (size_t)b * C + (c));            \
      m = s / (float)B;                                                        \
      s = 0.0f;                                                                \
      for (int b = 0; b < B; b++) {                                            \
        const T d = LD(x + (size_t)b * C + (c)) - m;                           \
        s += d * d;                                                            \
      }                                                                        \
      r = 1.0f / sqrt(s / (float)B + eps);                                     \
      ST((1.0f - momentum) * LD(rmean + (c)) + momentum * m, rmean + (c));     \
      ST((1.0f - momentum) * LD(rvar + (c)) + momentum * (s / (float)(B - 1)), rvar + (c)); \
    } else {                                                                   \
      m = LD(rmean + (c));                                                     \
      r = 1.0f / sqrt(LD(rvar + (c)) + eps);                                   \
    }                                                                          \
    ST(m, mean + (c));                                                         \
    ST(r, invstd + (c));                                                       \
    const T g = LD(gamma + (c)), be = LD(beta + (c));                          \
    for (int b = 0; b < B; b++)                                                \
      ST((LD(x + (size_t)b * C + (c)) - m) * r * g + be, y + (size_t)b * C + (c)); \
  }

__kernel void bn_forward_cols(__global const float *x, __global float *y, int B, int C,
                              __global const float *gamma, __global const float *beta,
                              __global float *rmean, __global float *rvar,
                              __global float *mean, __global float *invstd, float eps,
                              float momentum, int train) {
  const int c0 = get_global_id(0) * 16;
  if (c0 + 16 <= C) {
    BN_COLS_FORWARD(float16, COLS_LOAD, COLS_STORE, c0)
  } else {
    for (int c = c0; c < C; c++) BN_COLS_FORWARD(float, SC_LOAD, SC_STORE, c)
  }
}

/* The backward of bn_backward for L = 1, with the same flags. */
#define BN_COLS_BACKWARD(T, LD, ST, c)                                         \
  {                                                                            \
    const T m = LD(mean + (c)), r = LD(invstd + (c));                          \
    T sd = 0.0f, sdx = 0.0f;                                                   \
    if (want_sums)                                                             \
      for (int b = 0; b < B; b++) {                                            \
        const size_t o = (size_t)b * C + (c);                                  \
        const T gv = LD(dy + o);                                               \
        sd += gv;                                                              \
        sdx += gv * (LD(x + o) - m) * r;                                       \
      }                                                                        \
    if (want_params) {                                                         \
      ST(sd, dbeta + (c));                                                     \
      ST(sdx, dgamma + (c));                                                   \
    }                                                                          \
    if (want_dx) {                                                             \
      const T gr = LD(gamma + (c)) * r;                                        \
      const T a = sd * inv_count, q = sdx * inv_count;                         \
      for (int b = 0; b < B; b++) {                                            \
        const size_t o = (size_t)b * C + (c);                                  \
        if (train)                                                             \
          ST(gr * (LD(dy + o) - a - (LD(x + o) - m) * r * q), dx + o);         \
        else                                                                   \
          ST(LD(dy + o) * gr, dx + o);                                         \
      }                                                                        \
    }                                                                          \
  }

__kernel void bn_backward_cols(__global const float *x, __global const float *dy,
                               __global float *dx, int B, int C, __global const float *gamma,
                               __global const float *mean, __global const float *invstd,
                               __global float *dgamma, __global float *dbeta, int train,
                               int want_dx, int want_sums, int want_params, float inv_count) {
  const int c0 = get_global_id(0) * 16;
  if (c0 + 16 <= C) {
    BN_COLS_BACKWARD(float16, COLS_LOAD, COLS_STORE, c0)
  } else {
    for (int c = c0; c < C; c++) BN_COLS_BACKWARD(float, SC_LOAD, SC_STORE, c)
  }
}

/* ---- layernorm ---------------------------------------------------------------------- */

/* Statistics over the C values of each position (b, l), at stride L. A work-item takes
 * LN_VEC adjacent positions of one b:
 *   CPU: LN_VEC = 16, one float16 per channel row. PoCL vectorises a kernel across
 *        work-items only through straight-line code; the loop over C inside kept it
 *        scalar, one position per work-item (0.46 ms for 64 x 64 x 50; now 0.1 ms).
 *   GPU: LN_VEC = 1, a position per work-item; adjacent work-items read adjacent l, so
 *        the loads coalesce.
 * A row's last, partial chunk (L % LN_VEC positions) is done one position at a time by the
 * same code on floats. Per position the arithmetic is the same either way: two passes as
 * in batchnorm, the biased variance as torch.nn.LayerNorm, sums in increasing c. */
#ifndef LN_VEC
#ifdef DNACL_CPU
#define LN_VEC 16
#else
#define LN_VEC 1
#endif
#endif
#if LN_VEC == 16
typedef float16 ln_vec;
#define LN_LOAD(p) vload16(0, p)
#define LN_STORE(v, p) vstore16(v, 0, p)
#elif LN_VEC == 1
typedef float ln_vec;
#define LN_LOAD(p) (*(p))
#define LN_STORE(v, p) (*(p) = (v))
#else
#error "LN_VEC must be 1 or 16"
#endif

/* Run BODY(T, LD, ST, l, k) for work-item i's positions: l its first position in the row,
 * k = b * L + l its index in the (B, L) statistics; T, LD, ST as in BN_FOR_CHANNEL. */
#define LN_FOR_POSITIONS(BODY)                                                  \
  const int nchunk = (L + LN_VEC - 1) / LN_VEC;                                 \
  const int i = get_global_id(0);                                               \
  if (i >= B * nchunk) return;                                                  \
  const int b = i / nchunk, l0 = (i - b * nchunk) * LN_VEC;                     \
  if (l0 + LN_VEC <= L) {                                                       \
    BODY(ln_vec, LN_LOAD, LN_STORE, l0, b * L + l0)                             \
  } else {                                                                      \
    for (int l = l0; l < L; l++) BODY(float, SC_LOAD, SC_STORE, l, b * L + l)  \
  }

/* y = (x - mean) * invstd * gamma + beta over c; mean and invstd kept for the backward. */
#define LN_FORWARD_AT(T, LD, ST, l, k)                                          \
  {                                                                             \
    __global const float *xp = x + (size_t)b * C * L + (l);                    \
    __global float *yp = y + (size_t)b * C * L + (l);                          \
    T s = 0.0f;                                                                 \
    for (int c = 0; c < C; c++) s += LD(xp + (size_t)c * L);                    \
    const T m = s / (float)C;                                                   \
    s = 0.0f;                                                                   \
    for (int c = 0; c < C; c++) {                                               \
      const T d = LD(xp + (size_t)c * L) - m;                                   \
      s += d * d;                                                               \
    }                                                                           \
    const T r = 1.0f / sqrt(s / (float)C + eps);                                \
    for (int c = 0; c < C; c++)                                                 \
      ST((LD(xp + (size_t)c * L) - m) * r * gamma[c] + beta[c], yp + (size_t)c * L); \
    ST(m, mean + (k));                                                          \
    ST(r, invstd + (k));                                                        \
  }

/* Global: B * ceil(L / LN_VEC) work-items. */
__kernel void ln_forward(__global const float *x, __global const float *gamma,
                         __global const float *beta, __global float *y, __global float *mean,
                         __global float *invstd, int B, int C, int L, float eps) {
  LN_FOR_POSITIONS(LN_FORWARD_AT)
}

/* With g = dy * gamma: dx = invstd * (g - mean_c(g) - xhat * mean_c(g * xhat)). */
#define LN_BWD_DX_AT(T, LD, ST, l, k)                                           \
  {                                                                             \
    const size_t base = (size_t)b * C * L + (l);                                \
    const T m = LD(mean + (k)), r = LD(invstd + (k));                           \
    T sg = 0.0f, sgx = 0.0f;                                                    \
    for (int c = 0; c < C; c++) {                                               \
      const size_t o = base + (size_t)c * L;                                    \
      const T g = LD(dy + o) * gamma[c];                                        \
      sg += g;                                                                  \
      sgx += g * (LD(x + o) - m) * r;                                           \
    }                                                                           \
    sg /= (float)C;                                                             \
    sgx /= (float)C;                                                            \
    for (int c = 0; c < C; c++) {                                               \
      const size_t o = base + (size_t)c * L;                                    \
      ST(r * (LD(dy + o) * gamma[c] - sg - (LD(x + o) - m) * r * sgx), dx + o); \
    }                                                                           \
  }

/* Global: B * ceil(L / LN_VEC) work-items. */
__kernel void ln_bwd_dx(__global const float *x, __global const float *dy,
                        __global const float *gamma, __global const float *mean,
                        __global const float *invstd, __global float *dx, int B, int C, int L) {
  LN_FOR_POSITIONS(LN_BWD_DX_AT)
}

/* One work-group per channel, split as the batchnorm kernels (BN_FOR_CHANNEL):
 * dgamma[c] = sum(dy * xhat), dbeta[c] = sum(dy) over (b, l), xhat using the statistics
 * of its own (b, l), at b * L + l. */
#define LN_PARAM_SUMS(T, LD, ST, OFF, A)                                        \
  {                                                                             \
    const size_t k = (size_t)b * L + l;                                         \
    const T gv = LD(dy + OFF);                                                  \
    A##r0 += gv;                                                                \
    A##r1 += gv * (LD(x + OFF) - LD(mean + k)) * LD(invstd + k);                \
  }
#define LN_FLUSH2 vsd += vr0; ssd += sr0; vsdx += vr1; ssdx += sr1;
__kernel void ln_bwd_params(__global const float *x, __global const float *dy,
                            __global const float *mean, __global const float *invstd, int B,
                            int C, int L, __global float *dgamma, __global float *dbeta,
                            __local float *sh) {
  const int c = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
  bn_vec vsd = 0.0f, vsdx = 0.0f;
  float ssd = 0.0f, ssdx = 0.0f;
  BN_FOR_CHANNEL(LN_PARAM_SUMS, LN_FLUSH2)
  __local float *a = sh, *bs = sh + wg;
  a[lid] = bn_hsum(vsd) + ssd;
  bs[lid] = bn_hsum(vsdx) + ssdx;
  tree_sum2(a, bs, lid, wg);
  if (lid == 0) {
    dbeta[c] = a[0];
    dgamma[c] = bs[0];
  }
}
