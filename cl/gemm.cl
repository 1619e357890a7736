/* GEMM kernels (src/nn/gemm.h): C_b = alpha * op(A_b) * op(B_b) + beta * C_b, row-major.
 *
 * Every kernel takes the same arguments:
 *   M, N, K,
 *   A, off_a, stride_a, lda,  B, off_b, stride_b, ldb,  C, off_c, stride_c, ldc,
 *   alpha, beta
 * and handles batch entry get_global_id(2). Offsets and strides are in elements and fit
 * in 32 bits (the host checks); the batch offset is formed in 64 bits. beta == 0 never
 * reads C, so C may hold NaN on entry.
 *
 * Device classes (DNACL_CPU / DNACL_GPU, set by dnacl_program):
 *
 * CPU (PoCL): no local memory — PoCL runs a work-group as a loop on one core, so local
 * memory is just another cache copy. Each work-item keeps a block of C in registers:
 *   gemm_cpu_nn / gemm_cpu_tn: an MR x 16 block, one float16 row of op(B) per k
 *     (contiguous because B is not transposed) times MR broadcast scalars of op(A):
 *     MR float16 accumulators = MR zmm registers on AVX-512.
 *   gemm_cpu_nt: B transposed means op(B) columns are contiguous along k, so the block
 *     is DM x DN dot products vectorised along k (float16 partial sums), summed at the end.
 *   gemm_ref: one element per work-item; used for A^T B^T (nothing in dnacl needs it fast).
 * Tile order (m_fast): PoCL runs work-groups roughly in id order, dimension 0 fastest.
 * With N tiles fastest, all of op(B) streams past each row block of A, once per block:
 * fine while op(B) fits in cache, ruinous when it does not (64 x 25600 x 640 ran at 13
 * GFLOP/s, op(B) being 64 MB read 11 times). So the host puts the tiles of the smaller
 * dimension fastest (m_fast = M < N): the operand re-read is then the smaller one, and the
 * panel of the larger stays in cache while every tile that needs it runs.
 * Edge tiles do not take a slow path: a tile that would run past M (or N) is shifted
 * back to end at M (N), recomputing a few rows (columns) of its neighbour, and writes only
 * the elements it owns. Only matrices narrower than one tile need guarded loads.
 *
 * GPU: gemm_gpu, the classic local-memory tiled kernel (TSM x TSN block per 16x16
 * work-group, TSK deep, each work-item a WPM x WPN register block), zero-padded loads.
 * GEMM_GPU_KERNEL builds it on a CPU too (and GEMM_CPU_KERNEL the CPU kernels on a GPU), so
 * the tests can check every path on whatever device they have. */

#ifndef MR
#define MR 6
#endif
#ifndef DM
#define DM 4
#endif
#ifndef DN
#define DN 4
#endif

#define GEMM_ARGS                                                                          \
  int M, int N, int K, __global const float *A, uint off_a, uint stride_a, int lda,        \
      __global const float *B, uint off_b, uint stride_b, int ldb, __global float *C,      \
      uint off_c, uint stride_c, int ldc, float alpha, float beta

/* Batch entry b of each operand. */
#define GEMM_BATCH_BASES()                                          \
  const size_t bat_ = get_global_id(2);                             \
  A += (size_t)off_a + bat_ * (size_t)stride_a;                    \
  B += (size_t)off_b + bat_ * (size_t)stride_b;                    \
  C += (size_t)off_c + bat_ * (size_t)stride_c

/* Write one element of C honouring the write-only meaning of beta == 0. */
inline void put_c(__global float *c, float v, float alpha, float beta) {
  *c = beta == 0.0f ? alpha * v : alpha * v + beta * *c;
}

/* Scale C by beta (K == 0: the product is empty); beta == 0 writes zeros. */
__kernel void gemm_scale(int M, int N, __global float *C, uint off_c, uint stride_c, int ldc,
                         float beta) {
  int n = get_global_id(0), m = get_global_id(1);
  if (n >= N || m >= M) return;
  C += (size_t)off_c + get_global_id(2) * (size_t)stride_c;
  __global float *c = C + (size_t)m * ldc + n;
  *c = beta == 0.0f ? 0.0f : beta * *c;
}

/* Reference: one element per work-item, any transposition. Slow, simple, always right. */
__kernel void gemm_ref(GEMM_ARGS, int trans_a, int trans_b) {
  int n = get_global_id(0), m = get_global_id(1);
  if (n >= N || m >= M) return;
  GEMM_BATCH_BASES();
  float s = 0.0f;
  for (int k = 0; k < K; k++) {
    float a = trans_a ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
    float b = trans_b ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
    s = mad(a, b, s);
  }
  put_c(C + (size_t)m * ldc + n, s, alpha, beta);
}

/* dst_b = src_b^T: src_b is R x C with row stride ld at off + b*stride, dst_b is C x R
 * contiguous at b*R*C. Used on the CPU to turn a product whose operands are laid out badly
 * for the register-tiled kernels into A B^T (see src/nn/gemm.c). 16 x 16 tiles through a
 * private buffer: rows are read as whole vectors, columns written as contiguous runs. */
__kernel void gemm_transpose(int R, int Cc, __global const float *src, uint off, uint stride,
                             int ld, __global float *dst) {
  const int c0 = get_global_id(0) * 16, r0 = get_global_id(1) * 16;
  if (c0 >= Cc || r0 >= R) return;
  src += (size_t)off + get_global_id(2) * (size_t)stride;
  dst += get_global_id(2) * (size_t)R * Cc;
  const int nr = min(16, R - r0), nc = min(16, Cc - c0);
  float t[16][16];
  if (nc == 16) {
    for (int i = 0; i < nr; i++) vstore16(vload16(0, src + (size_t)(r0 + i) * ld + c0), 0, t[i]);
  } else {
    for (int i = 0; i < nr; i++)
      for (int j = 0; j < nc; j++) t[i][j] = src[(size_t)(r0 + i) * ld + c0 + j];
  }
  for (int j = 0; j < nc; j++) {
    __global float *d = dst + (size_t)(c0 + j) * R + r0;
    for (int i = 0; i < nr; i++) d[i] = t[i][j];
  }
}

#if defined(DNACL_CPU) || defined(GEMM_CPU_KERNEL)

/* First row (or column) of the tile that work-item t computes: tiles of width w start at
 * t*w, except one that would overrun `len`, which is shifted back to end at len (and to 0
 * when len < w). */
inline int tile_start(int t, int w, int len) { return max(0, min(t * w, len - w)); }

/* MR x 16 block of C for op(A) = A (ta = 0) or A^T (ta = 1), B not transposed. ta is a
 * literal at each call so the compiler specialises the loads. */
inline void cpu_x_block(const int ta, int M, int N, int K, __global const float *A, int lda,
                        __global const float *B, int ldb, __global float *C, int ldc,
                        float alpha, float beta, int m_fast) {
  const int tm = get_global_id(m_fast ? 0 : 1), tn = get_global_id(m_fast ? 1 : 0);
  const int m_own = tm * MR, n_own = tn * 16;
  if (m_own >= M || n_own >= N) return;
  const int m0 = tile_start(tm, MR, M);
  const int n0 = tile_start(tn, 16, N);
  /* Row pointers of op(A), clamped so short matrices (M < MR) read a valid row twice. */
  __global const float *ar[MR];
#pragma unroll
  for (int i = 0; i < MR; i++) {
    int r = min(m0 + i, M - 1);
    ar[i] = ta ? A + r : A + (size_t)r * lda;
  }
  const size_t a_step = ta ? (size_t)lda : 1;
  float16 acc[MR];
#pragma unroll
  for (int i = 0; i < MR; i++) acc[i] = (float16)(0.0f);
  __global const float *bp = B + n0;
  if (N >= 16) {
    for (int k = 0; k < K; k++, bp += ldb) {
      float16 b = vload16(0, bp);
#pragma unroll
      for (int i = 0; i < MR; i++) acc[i] = mad((float16)(ar[i][k * a_step]), b, acc[i]);
    }
  } else {
    /* Narrower than one vector: guarded scalar loads. */
    for (int k = 0; k < K; k++, bp += ldb) {
      float t[16];
      for (int j = 0; j < 16; j++) t[j] = j < N ? bp[j] : 0.0f;
      float16 b = vload16(0, t);
#pragma unroll
      for (int i = 0; i < MR; i++) acc[i] = mad((float16)(ar[i][k * a_step]), b, acc[i]);
    }
  }
  const int full_cols = n0 == n_own && N >= 16;
#pragma unroll
  for (int i = 0; i < MR; i++) {
    int m = m0 + i;
    if (m < m_own || m >= M) continue; /* a neighbour's row, or past the end */
    __global float *c = C + (size_t)m * ldc + n0;
    if (full_cols) {
      float16 v = alpha * acc[i];
      if (beta != 0.0f) v = mad(beta, vload16(0, c), v);
      vstore16(v, 0, c);
    } else {
      float t[16];
      vstore16(acc[i], 0, t);
      for (int j = max(0, n_own - n0); j < 16 && n0 + j < N; j++) put_c(c + j, t[j], alpha, beta);
    }
  }
}

__kernel void gemm_cpu_nn(GEMM_ARGS, int m_fast) {
  GEMM_BATCH_BASES();
  cpu_x_block(0, M, N, K, A, lda, B, ldb, C, ldc, alpha, beta, m_fast);
}

__kernel void gemm_cpu_tn(GEMM_ARGS, int m_fast) {
  GEMM_BATCH_BASES();
  cpu_x_block(1, M, N, K, A, lda, B, ldb, C, ldc, alpha, beta, m_fast);
}

inline float hsum16(float16 v) {
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

/* A B^T: rows of A and rows of B are both contiguous along k, so each of the DM x DN
 * results is a dot product accumulated 16 lanes at a time. */
__kernel void gemm_cpu_nt(GEMM_ARGS, int m_fast) {
  GEMM_BATCH_BASES();
  const int tm = get_global_id(m_fast ? 0 : 1), tn = get_global_id(m_fast ? 1 : 0);
  const int m_own = tm * DM, n_own = tn * DN;
  if (m_own >= M || n_own >= N) return;
  const int m0 = tile_start(tm, DM, M);
  const int n0 = tile_start(tn, DN, N);
  __global const float *ar[DM], *br[DN];
#pragma unroll
  for (int i = 0; i < DM; i++) ar[i] = A + (size_t)min(m0 + i, M - 1) * lda;
#pragma unroll
  for (int j = 0; j < DN; j++) br[j] = B + (size_t)min(n0 + j, N - 1) * ldb;
  float16 acc[DM][DN];
#pragma unroll
  for (int i = 0; i < DM; i++)
#pragma unroll
    for (int j = 0; j < DN; j++) acc[i][j] = (float16)(0.0f);
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    float16 a[DM], b[DN];
#pragma unroll
    for (int i = 0; i < DM; i++) a[i] = vload16(0, ar[i] + k);
#pragma unroll
    for (int j = 0; j < DN; j++) b[j] = vload16(0, br[j] + k);
#pragma unroll
    for (int i = 0; i < DM; i++)
#pragma unroll
      for (int j = 0; j < DN; j++) acc[i][j] = mad(a[i], b[j], acc[i][j]);
  }
  float s[DM][DN];
#pragma unroll
  for (int i = 0; i < DM; i++)
#pragma unroll
    for (int j = 0; j < DN; j++) s[i][j] = hsum16(acc[i][j]);
  for (; k < K; k++) {
#pragma unroll
    for (int i = 0; i < DM; i++)
#pragma unroll
      for (int j = 0; j < DN; j++) s[i][j] = mad(ar[i][k], br[j][k], s[i][j]);
  }
#pragma unroll
  for (int i = 0; i < DM; i++) {
    int m = m0 + i;
    if (m < m_own || m >= M) continue;
#pragma unroll
    for (int j = 0; j < DN; j++) {
      int n = n0 + j;
      if (n < n_own || n >= N) continue;
      put_c(C + (size_t)m * ldc + n, s[i][j], alpha, beta);
    }
  }
}

#endif /* DNACL_CPU || GEMM_CPU_KERNEL */

#if defined(DNACL_GPU) || defined(GEMM_GPU_KERNEL)

#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 64
#endif
#ifndef TSK
#define TSK 16
#endif
#define WPM (TSM / 16)
#define WPN (TSN / 16)

/* Local size (16, 16). Work-item (tx, ty) computes rows ty + 16*i and columns tx + 16*j of
 * the TSM x TSN block, so local-memory reads are conflict-free and global reads of the
 * tiles are coalesced along the contiguous dimension. */
__kernel __attribute__((reqd_work_group_size(16, 16, 1))) void gemm_gpu(GEMM_ARGS, int trans_a,
                                                                        int trans_b) {
  __local float As[TSK][TSM];
  __local float Bs[TSK][TSN + 1];
  GEMM_BATCH_BASES();
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int tid = ty * 16 + tx;
  const int bm = get_group_id(1) * TSM, bn = get_group_id(0) * TSN;
  float acc[WPM][WPN];
  for (int i = 0; i < WPM; i++)
    for (int j = 0; j < WPN; j++) acc[i][j] = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TSK) {
    /* Fill As[kk][mm] = op(A)[bm+mm][k0+kk] and Bs[kk][nn] = op(B)[k0+kk][bn+nn]; 256
     * work-items each load TSK*TSM/256 elements, consecutive ids along the stored
     * contiguous dimension. */
    for (int e = tid; e < TSK * TSM; e += 256) {
      int kk, mm;
      if (trans_a) { kk = e / TSM; mm = e % TSM; } else { mm = e / TSK; kk = e % TSK; }
      int m = bm + mm, k = k0 + kk;
      float v = 0.0f;
      if (m < M && k < K) v = trans_a ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
      As[kk][mm] = v;
    }
    for (int e = tid; e < TSK * TSN; e += 256) {
      int kk, nn;
      if (trans_b) { nn = e / TSK; kk = e % TSK; } else { kk = e / TSN; nn = e % TSN; }
      int n = bn + nn, k = k0 + kk;
      float v = 0.0f;
      if (n < N && k < K) v = trans_b ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
      Bs[kk][nn] = v;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < TSK; kk++) {
      float a[WPM], b[WPN];
      for (int i = 0; i < WPM; i++) a[i] = As[kk][ty + 16 * i];
      for (int j = 0; j < WPN; j++) b[j] = Bs[kk][tx + 16 * j];
      for (int i = 0; i < WPM; i++)
        for (int j = 0; j < WPN; j++) acc[i][j] = mad(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int i = 0; i < WPM; i++)
    for (int j = 0; j < WPN; j++) {
      int m = bm + ty + 16 * i, n = bn + tx + 16 * j;
      if (m < M && n < N) put_c(C + (size_t)m * ldc + n, acc[i][j], alpha, beta);
    }
}

#endif /* DNACL_GPU || GEMM_GPU_KERNEL */
