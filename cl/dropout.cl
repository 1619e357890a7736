/* Counter-based dropout: the mask is a pure function of (seed, flat index), so backward
 * recomputes it instead of storing it, and any device gives the same mask.
 *
 *   keep(seed, i) = ((mix32(seed ^ mix32(i)) >> 8) * 2^-24) >= p
 *
 * mix32 is dnacl_mix32 of src/nn/layer.h and mix32 of tools/dnacl_ref.py, in uint
 * arithmetic (wrap-around multiplication is defined for unsigned types in OpenCL C as in C).
 * The host passes thr = ceil(p * 2^24): for an integer k = h >> 8, k * 2^-24 >= p exactly
 * when k >= thr, so the comparison is done in integers and no device rounding of p or of
 * the product can change the mask. */

/* Work split as cl/elementwise.cl: work-item i takes elements [i*DROP_VEC, (i+1)*DROP_VEC),
 * DROP_VEC = 16 on CPUs (the hash and the select on uint16/float16 vectors, 3x faster than
 * PoCL's vectorisation of the scalar kernel), 1 on GPUs; the host launches
 * ceil(n / DROP_VEC) work-items and the last does a partial chunk element by element.
 * Every lane hashes its own flat index, so the mask is the same whatever the split. */
#ifndef DROP_VEC
#ifdef DNACL_CPU
#define DROP_VEC 16
#else
#define DROP_VEC 1
#endif
#endif
#if DROP_VEC == 16
typedef float16 floatv;
typedef uint16 uintv;
#define LANES (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define VLOAD(i, p) vload16(i, p)
#define VSTORE(v, i, p) vstore16(v, i, p)
#elif DROP_VEC == 1
typedef float floatv;
typedef uint uintv;
#define LANES 0u
#define VLOAD(i, p) ((p)[i])
#define VSTORE(v, i, p) ((p)[i] = (v))
#else
#error "DROP_VEC must be 1 or 16"
#endif

/* mix32 on a uint or on each lane of a uint16 (the same operations either way). */
#define MIX32(x)        \
  do {                  \
    x ^= x >> 16;       \
    x *= 0x7feb352du;   \
    x ^= x >> 15;       \
    x *= 0x846ca68bu;   \
    x ^= x >> 16;       \
  } while (0)

/* y[i] = keep(seed, i) ? x[i] * scale : 0, scale = 1/(1-p). Forward (x -> y) and backward
 * (dy -> dx) are the same operation with the same mask. */
__kernel void dropout_apply(__global const float *x, __global float *y, int n, uint seed,
                            uint thr, float scale) {
  const int i = get_global_id(0);
  if ((size_t)i * DROP_VEC + DROP_VEC <= (size_t)n) {
    uintv h = (uint)i * DROP_VEC + LANES;
    MIX32(h);
    h ^= seed;
    MIX32(h);
    VSTORE((h >> 8) >= thr ? VLOAD(i, x) * scale : 0.0f, i, y);
  } else {
    for (uint j = (uint)i * DROP_VEC; j < (uint)n; j++) {
      uint h = j;
      MIX32(h);
      h ^= seed;
      MIX32(h);
      y[j] = (h >> 8) >= thr ? x[j] * scale : 0.0f;
    }
  }
}
