/* The dinucleotide shuffle (src/explain/shuffle.c): exact dinucleotide counts, first and
 * last symbol kept, on many random sequences of every short length and on sequences with
 * N and padding; determinism per seed; uniformity over all sequences with the same counts
 * on an enumerable case; the one-hot wrappers. Host only: no device needed. */
#include <stdint.h>

#include "explain/explain.h"
#include "harness.h"

static uint64_t rs = 12345;
static uint32_t rnd(uint32_t n) {
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rs >> 33) % n;
}

/* Pair counts over an alphabet of at most 16. */
static void pair_counts(const uint8_t *s, int L, int *cnt) {
  memset(cnt, 0, 256 * sizeof *cnt);
  for (int i = 0; i + 1 < L; i++) cnt[s[i] * 16 + s[i + 1]]++;
}

static int same_counts(const uint8_t *a, const uint8_t *b, int L) {
  int ca[256], cb[256];
  pair_counts(a, L, ca);
  pair_counts(b, L, cb);
  return !memcmp(ca, cb, sizeof ca) && (L == 0 || (a[0] == b[0] && a[L - 1] == b[L - 1]));
}

/* Many random sequences: lengths 1..64 and some long ones, alphabets 1..6 (6 = A, C, G, T,
 * N, padding as the one-hot wrapper uses them), skewed compositions and long runs. */
static void random_sequences(void) {
  int bad = 0, total = 0, changed = 0, long_ones = 0;
  uint8_t in[1200], out[1200], out2[1200];
  for (int trial = 0; trial < 6000; trial++) {
    int L = trial < 3000 ? 1 + trial % 64 : 65 + (int)rnd(1000);
    int alpha = 1 + (int)rnd(6);
    int runs = rnd(3) == 0; /* runs of one symbol, like N stretches or padding */
    for (int i = 0; i < L; i++) {
      if (runs && i > 0 && rnd(4)) in[i] = in[i - 1];
      else in[i] = (uint8_t)(rnd(5) == 0 ? 0 : rnd((uint32_t)alpha)); /* skewed towards 0 */
    }
    uint64_t seed = dnacl_seed_mix(7, (uint64_t)trial, 0);
    OK(dnacl_dinuc_shuffle(in, L, alpha, seed, out));
    OK(dnacl_dinuc_shuffle(in, L, alpha, seed, out2));
    total++;
    if (!same_counts(in, out, L)) {
      if (!bad) printf("  trial %d (L %d, alphabet %d): dinucleotide counts or ends differ\n", trial, L, alpha);
      bad++;
    }
    CHECK(!memcmp(out, out2, (size_t)L), "trial %d: the same seed gave different shuffles", trial);
    if (L > 100 && alpha >= 3) {
      long_ones++;
      changed += memcmp(in, out, (size_t)L) != 0;
    }
  }
  printf("  %d random sequences (lengths 1..1064, alphabets 1..6): %d with wrong counts or ends\n", total, bad);
  CHECK(bad == 0, "%d shuffles changed a dinucleotide count or an end", bad);
  /* A long mixed sequence essentially never shuffles to itself. */
  CHECK(changed >= long_ones - 2, "only %d of %d long sequences changed", changed, long_ones);
}

/* Every length 1..3 and every sequence of length <= 6 over 3 symbols: exhaustive. */
static void exhaustive_short(void) {
  int bad = 0, n = 0;
  uint8_t in[6], out[6];
  for (int L = 1; L <= 6; L++) {
    int total = 1;
    for (int i = 0; i < L; i++) total *= 3;
    for (int code = 0; code < total; code++) {
      int c = code;
      for (int i = 0; i < L; i++, c /= 3) in[i] = (uint8_t)(c % 3);
      for (int s = 0; s < 4; s++) {
        OK(dnacl_dinuc_shuffle(in, L, 3, (uint64_t)s, out));
        n++;
        if (!same_counts(in, out, L)) bad++;
        if (L <= 3) bad += memcmp(in, out, (size_t)L) != 0; /* only one such sequence */
      }
    }
  }
  printf("  exhaustive lengths 1..6 over 3 symbols: %d shuffles, %d bad\n", n, bad);
  CHECK(bad == 0, "%d short shuffles wrong", bad);
}

/* Uniformity: every sequence with the same first symbol and pair counts as s (found by
 * enumerating all 4^(L-1) sequences with that first symbol) must come out with frequency
 * 1/K. Chi-square with K-1 degrees of freedom against a generous bound. The
 * keep-the-original-last-exit shuffle of deeplift/tangermeme reaches only 6 of the 12
 * sequences sharing AACCAGGTAC's counts and 12 of the 72 of AACAGACTAGC's. */
static void uniformity(const char *seq) {
  int L = (int)strlen(seq);
  uint8_t s[16], t[16], out[16];
  if (L > 12) return;
  for (int i = 0; i < L; i++) s[i] = (uint8_t)(strchr("ACGT", seq[i]) - "ACGT");
  int cs[256], ct[256];
  pair_counts(s, L, cs);
  int total = 1 << (2 * (L - 1));
  int *index = malloc((size_t)total * sizeof *index), K = 0;
  for (int code = 0; code < total; code++) {
    t[0] = s[0];
    for (int i = 1, c = code; i < L; i++, c >>= 2) t[i] = (uint8_t)(c & 3);
    pair_counts(t, L, ct);
    index[code] = memcmp(cs, ct, sizeof cs) ? -1 : K++;
  }
  const int draws = 40000;
  int *hits = calloc((size_t)K, sizeof *hits), outside = 0;
  for (int d = 0; d < draws; d++) {
    OK(dnacl_dinuc_shuffle(s, L, 4, dnacl_seed_mix(99, (uint64_t)d, 1), out));
    int code = 0;
    for (int i = L - 1; i >= 1; i--) code = code * 4 + out[i];
    if (index[code] < 0) outside++;
    else hits[index[code]]++;
  }
  double chi2 = 0, e = (double)draws / K;
  int zero = 0;
  for (int k = 0; k < K; k++) {
    chi2 += (hits[k] - e) * (hits[k] - e) / e;
    zero += hits[k] == 0;
  }
  /* Mean K-1, sd sqrt(2(K-1)): 6 sd above the mean is a certain failure, not noise. */
  double bound = (K - 1) + 6 * sqrt(2.0 * (K - 1));
  printf("  uniformity of %s: %d sequences share its counts, %d draws, chi2 %.1f (bound %.1f)\n", seq, K, draws,
         chi2, bound);
  CHECK(outside == 0, "%s: %d shuffles outside the set", seq, outside);
  CHECK(zero == 0, "%s: %d of %d sequences never drawn", seq, zero, K);
  CHECK(chi2 < bound, "%s: chi-square %.1f >= %.1f: not uniform", seq, chi2, bound);
  free(index);
  free(hits);
}

/* One-hot wrappers: N (0.25 and the chapter's 1.0) and padding as letters of their own. */
static void onehot(void) {
  const int L = 300;
  float *x = calloc(4 * L, sizeof *x), *y = malloc(4 * L * sizeof *y), *y2 = malloc(4 * L * sizeof *y2);
  char a[300], b[300];
  int bad = 0;
  for (int trial = 0; trial < 200; trial++) {
    float nv = trial % 2 ? 1.0f : 0.25f;
    memset(x, 0, 4 * L * sizeof *x);
    int pad = trial % 3 == 0 ? 5 : 0;
    for (int p = pad; p < L - pad; p++) {
      int r = (int)rnd(20);
      if (r == 0 || (p > pad && rnd(2) && x[p - 1] == nv && x[L + p - 1] == nv)) {
        for (int c = 0; c < 4; c++) x[c * L + p] = nv; /* N, often in runs */
      } else {
        x[(r % 4) * L + p] = 1.0f;
      }
    }
    OK(dnacl_dinuc_shuffle_onehot(x, L, (uint64_t)trial, y));
    OK(dnacl_dinuc_shuffle_onehot(x, L, (uint64_t)trial, y2));
    CHECK(!memcmp(y, y2, 4 * L * sizeof *y), "one-hot shuffle not deterministic");
    /* Decode to symbols (N and padding distinct) and compare pair counts. */
    for (int p = 0; p < L; p++) {
      for (int k = 0; k < 2; k++) {
        const float *z = k ? y : x;
        char ch = z[p] == 1.0f && z[L + p] == 0 ? 'A' : z[L + p] == 1.0f && z[p] == 0 ? 'C'
                  : z[2 * L + p] == 1.0f && z[p] == 0 ? 'G' : z[3 * L + p] == 1.0f && z[p] == 0 ? 'T'
                  : z[p] == 0 ? '-' : z[p] == nv && z[L + p] == nv && z[2 * L + p] == nv && z[3 * L + p] == nv ? 'N' : '?';
        (k ? b : a)[p] = ch;
      }
    }
    uint8_t sa[300], sb[300];
    for (int p = 0; p < L; p++) {
      sa[p] = (uint8_t)(strchr("ACGTN-?", a[p]) - "ACGTN-?");
      sb[p] = (uint8_t)(strchr("ACGTN-?", b[p]) - "ACGTN-?");
    }
    if (!same_counts(sa, sb, L) || memchr(b, '?', L)) bad++;
    if (pad) CHECK(b[0] == '-' && b[L - 1] == '-', "padding at the ends moved");
  }
  printf("  one-hot with N (0.25 and 1.0) and padding: 200 shuffles, %d bad\n", bad);
  CHECK(bad == 0, "%d one-hot shuffles broke counts", bad);

  /* The mononucleotide shuffle keeps base counts. */
  OK(dnacl_shuffle_onehot(x, L, 3, y));
  double sx[4] = {0}, sy[4] = {0};
  for (int c = 0; c < 4; c++)
    for (int p = 0; p < L; p++) sx[c] += x[c * L + p], sy[c] += y[c * L + p];
  CHECK(sx[0] == sy[0] && sx[1] == sy[1] && sx[2] == sy[2] && sx[3] == sy[3], "shuffle changed base counts");
  CHECK(memcmp(x, y, 4 * L * sizeof *x) != 0, "shuffle returned the input");

  /* A column that is none of base, N or padding is refused, naming its position. */
  x[2 * L + 7] = 0.5f;
  x[7] = 0.5f;
  x[L + 7] = 0.0f;
  x[3 * L + 7] = 0.0f;
  dnacl_status s = dnacl_dinuc_shuffle_onehot(x, L, 1, y);
  CHECK(s == DNACL_ERR_ARG && strstr(dnacl_last_error(), "column 7"), "bad column accepted: %s", dnacl_last_error());
  free(x);
  free(y);
  free(y2);
}

int main(void) {
  random_sequences();
  exhaustive_short();
  uniformity("AACCAGGTAC");
  uniformity("AACAGACTAGC");
  onehot();
  /* Seed mixing: distinct streams for distinct (a, b). */
  CHECK(dnacl_seed_mix(1, 2, 3) != dnacl_seed_mix(1, 3, 2) && dnacl_seed_mix(1, 2, 3) != dnacl_seed_mix(2, 2, 3),
        "seed_mix collides on trivial inputs");
  return harness_summary();
}
