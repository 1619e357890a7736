/* XXH64 over buffers and files (content_hash.h). Written from the xxHash specification
 * (github.com/Cyan4973/xxHash, doc/xxhash_spec.md); tests/test_sweep.c checks it against
 * the reference implementation's outputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"
#include "sweep/content_hash.h"

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

#define STRIPE 32 /* four lanes of 8 bytes */

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Little-endian loads whatever the host's byte order (compilers make them one load). */
static uint64_t read64(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
         (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static uint32_t read32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t round64(uint64_t acc, uint64_t input) {
  acc += input * P2;
  acc = rotl(acc, 31);
  return acc * P1;
}

static uint64_t merge(uint64_t acc, uint64_t v) {
  acc ^= round64(0, v);
  return acc * P1 + P4;
}

/* The running state: four lane accumulators over whole stripes, the bytes that do not yet
 * make a stripe, and the total length. */
typedef struct xxh64_state {
  uint64_t v[4];
  unsigned char tail[STRIPE];
  size_t n_tail;
  uint64_t total;
} xxh64_state;

static void xxh64_init(xxh64_state *s) {
  memset(s, 0, sizeof *s);
  s->v[0] = P1 + P2;
  s->v[1] = P2;
  s->v[2] = 0;
  s->v[3] = (uint64_t)0 - P1;
}

static void stripes(xxh64_state *s, const unsigned char *p, size_t n) {
  uint64_t v0 = s->v[0], v1 = s->v[1], v2 = s->v[2], v3 = s->v[3];
  for (size_t i = 0; i + STRIPE <= n; i += STRIPE) {
    v0 = round64(v0, read64(p + i));
    v1 = round64(v1, read64(p + i + 8));
    v2 = round64(v2, read64(p + i + 16));
    v3 = round64(v3, read64(p + i + 24));
  }
  s->v[0] = v0;
  s->v[1] = v1;
  s->v[2] = v2;
  s->v[3] = v3;
}

static void xxh64_update(xxh64_state *s, const unsigned char *p, size_t n) {
  s->total += n;
  if (s->n_tail) {
    size_t take = STRIPE - s->n_tail < n ? STRIPE - s->n_tail : n;
    memcpy(s->tail + s->n_tail, p, take);
    s->n_tail += take;
    p += take;
    n -= take;
    if (s->n_tail < STRIPE) return;
    stripes(s, s->tail, STRIPE);
    s->n_tail = 0;
  }
  size_t whole = n - n % STRIPE;
  stripes(s, p, whole);
  memcpy(s->tail, p + whole, n - whole);
  s->n_tail = n - whole;
}

static uint64_t xxh64_digest(const xxh64_state *s) {
  uint64_t h;
  if (s->total >= STRIPE) {
    h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
    for (int i = 0; i < 4; i++) h = merge(h, s->v[i]);
  } else {
    h = P5; /* + seed 0 */
  }
  h += s->total;
  const unsigned char *p = s->tail;
  size_t n = s->n_tail;
  for (; n >= 8; p += 8, n -= 8) h = rotl(h ^ round64(0, read64(p)), 27) * P1 + P4;
  if (n >= 4) {
    h = rotl(h ^ (uint64_t)read32(p) * P1, 23) * P2 + P3;
    p += 4;
    n -= 4;
  }
  for (; n > 0; p++, n--) h = rotl(h ^ (uint64_t)*p * P5, 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

uint64_t dnacl_xxh64(const void *data, size_t len) {
  xxh64_state s;
  xxh64_init(&s);
  xxh64_update(&s, data, len);
  return xxh64_digest(&s);
}

dnacl_status dnacl_xxh64_file(const char *path, uint64_t *hash, uint64_t *bytes) {
  FILE *f = fopen(path, "rb");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "%s: %s", path, strerror(errno));
  enum { BLOCK = 1 << 20 };
  unsigned char *buf = malloc(BLOCK);
  if (!buf) {
    fclose(f);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  xxh64_state s;
  xxh64_init(&s);
  size_t got;
  while ((got = fread(buf, 1, BLOCK, f)) > 0) xxh64_update(&s, buf, got);
  int failed = ferror(f);
  int err = errno;
  free(buf);
  fclose(f);
  if (failed) return dnacl_fail(DNACL_ERR_IO, "%s: read error: %s", path, strerror(err));
  *hash = xxh64_digest(&s);
  *bytes = s.total;
  return DNACL_OK;
}
