/* Global importance analysis; see gia.h. Sequence work (backgrounds, embedding, sampling)
 * is host code; the predictions are the model's own eval-mode forward passes. */
#include "explain/gia.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/explain.h"
#include "train/loop.h"

/* splitmix64 on a per-stream state from dnacl_seed_mix: each sequence has its own stream,
 * so results do not depend on batch sizes or on the order of the work. */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }
static int below(uint64_t *s, int n) { return (int)(unit(s) * n); }

/* Stream tags, so the streams of one seed used for different purposes never coincide. */
enum { TAG_PICK = 1, TAG_SHUFFLE = 2, TAG_RANDOM = 3, TAG_PROFILE = 4, TAG_SAMPLE = 5, TAG_OCCLUDE = 6 };

int dnacl_gia_bg_from_name(const char *name) {
  if (!strcmp(name, "shuffled")) return DNACL_GIA_SHUFFLED;
  if (!strcmp(name, "profile")) return DNACL_GIA_PROFILE;
  if (!strcmp(name, "data")) return DNACL_GIA_DATA;
  return -1;
}

static void set_base(float *x, int L, int j, int b) {
  for (int c = 0; c < 4; c++) x[(size_t)c * L + j] = c == b ? 1.0f : 0.0f;
}

/* Which real sequence background k comes from (see gia.h). */
static dnacl_status pick(int n_data, int n, uint64_t seed, int *idx) {
  uint64_t s = dnacl_seed_mix(seed, TAG_PICK, 0);
  if (n <= n_data) {
    int *perm = malloc((size_t)n_data * sizeof *perm);
    if (!perm) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_data; i++) perm[i] = i;
    for (int k = 0; k < n; k++) { /* partial Fisher-Yates */
      int j = k + below(&s, n_data - k);
      int t = perm[k];
      perm[k] = perm[j];
      perm[j] = t;
      idx[k] = perm[k];
    }
    free(perm);
  } else {
    for (int k = 0; k < n; k++) idx[k] = below(&s, n_data);
  }
  return DNACL_OK;
}

dnacl_status dnacl_gia_background(dnacl_gia_bg kind, const float *data, int n_data, int L, int n, uint64_t seed,
                                  float *out) {
  if (n < 1 || L < 1) return dnacl_fail(DNACL_ERR_ARG, "gia: %d backgrounds of length %d", n, L);
  if (kind != DNACL_GIA_SHUFFLED && kind != DNACL_GIA_PROFILE && kind != DNACL_GIA_DATA)
    return dnacl_fail(DNACL_ERR_ARG, "gia: unknown background kind %d", (int)kind);
  if ((!data || n_data < 1) && kind != DNACL_GIA_SHUFFLED)
    return dnacl_fail(DNACL_ERR_ARG, "gia: the %s background needs real sequences (--data)",
                      kind == DNACL_GIA_PROFILE ? "profile" : "data");
  const size_t row = (size_t)4 * L;
  if (!data || n_data < 1) {
    /* Shuffled without data: nothing to shuffle, so uniform i.i.d. bases. */
    for (int k = 0; k < n; k++) {
      uint64_t s = dnacl_seed_mix(seed, TAG_RANDOM, (uint64_t)k);
      for (int j = 0; j < L; j++) set_base(out + k * row, L, j, below(&s, 4));
    }
    return DNACL_OK;
  }
  if (kind == DNACL_GIA_PROFILE) {
    double *freq = calloc(row, sizeof *freq); /* freq[j * 4 + c] */
    if (!freq) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_data; i++) {
      const float *x = data + i * row;
      for (int j = 0; j < L; j++) {
        int hot = -1, ones = 0, zeros = 0;
        for (int c = 0; c < 4; c++) {
          float v = x[(size_t)c * L + j];
          if (v == 1.0f) ones++, hot = c;
          else if (v == 0.0f) zeros++;
        }
        if (ones == 1 && zeros == 3) freq[j * 4 + hot] += 1; /* N and padding do not count */
      }
    }
    for (int j = 0; j < L; j++) {
      double t = freq[j * 4] + freq[j * 4 + 1] + freq[j * 4 + 2] + freq[j * 4 + 3];
      for (int c = 0; c < 4; c++) freq[j * 4 + c] = t > 0 ? freq[j * 4 + c] / t : 0.25;
    }
    for (int k = 0; k < n; k++) {
      uint64_t s = dnacl_seed_mix(seed, TAG_PROFILE, (uint64_t)k);
      for (int j = 0; j < L; j++) {
        double u = unit(&s), acc = 0;
        int b = 3;
        for (int c = 0; c < 3; c++) {
          acc += freq[j * 4 + c];
          if (u < acc) {
            b = c;
            break;
          }
        }
        set_base(out + k * row, L, j, b);
      }
    }
    free(freq);
    return DNACL_OK;
  }
  int *idx = malloc((size_t)n * sizeof *idx);
  if (!idx) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  dnacl_status s = pick(n_data, n, seed, idx);
  for (int k = 0; s == DNACL_OK && k < n; k++) {
    const float *src = data + (size_t)idx[k] * row;
    if (kind == DNACL_GIA_DATA) memcpy(out + k * row, src, row * sizeof *out);
    else s = dnacl_dinuc_shuffle_onehot(src, L, dnacl_seed_mix(seed, TAG_SHUFFLE, (uint64_t)k), out + k * row);
  }
  free(idx);
  return s;
}

dnacl_status dnacl_gia_embed(float *x, int n, int L, const dnacl_gia_pattern *p, int pos) {
  if (!p->consensus && !p->pwm) return dnacl_fail(DNACL_ERR_ARG, "gia: a pattern needs a consensus or a matrix");
  int w = p->consensus ? (int)strlen(p->consensus) : p->width;
  if (w < 1 || pos < 0 || pos + w > L)
    return dnacl_fail(DNACL_ERR_ARG, "gia: a pattern of width %d at position %d does not fit in length %d", w, pos, L);
  if (p->consensus)
    for (int j = 0; j < w; j++)
      if (!strchr("ACGTNacgtn", p->consensus[j]))
        return dnacl_fail(DNACL_ERR_ARG, "gia: pattern %s: '%c' at %d is not A, C, G, T or N", p->consensus,
                          p->consensus[j], j + 1);
  const size_t row = (size_t)4 * L;
  for (int i = 0; i < n; i++) {
    float *xi = x + i * row;
    uint64_t s = dnacl_seed_mix(p->seed, TAG_SAMPLE, (uint64_t)i);
    for (int j = 0; j < w; j++) {
      int b = -1;
      if (p->consensus) {
        const char *hit = strchr("ACGT", p->consensus[j] & ~0x20);
        b = hit ? (int)(hit - "ACGT") : -1; /* N: keep the background */
      } else {
        double u = unit(&s), acc = 0, tot = 0;
        for (int c = 0; c < 4; c++) tot += p->pwm[j * 4 + c];
        b = 3;
        for (int c = 0; c < 3; c++) {
          acc += p->pwm[j * 4 + c] / tot;
          if (u < acc) {
            b = c;
            break;
          }
        }
      }
      if (b >= 0) set_base(xi, L, pos + j, b);
    }
  }
  return DNACL_OK;
}

dnacl_status dnacl_gia_predict(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int target, int batch,
                               double *prob) {
  const int T = m->spec.tasks;
  if (target < 0 || target >= T)
    return dnacl_fail(DNACL_ERR_ARG, "gia: target %d: model %s has %d output task(s) (0..%d)", target, m->spec.name, T,
                      T - 1);
  if (batch <= 0) batch = 256;
  if (batch > n) batch = n;
  float *logits = malloc((size_t)n * T * sizeof *logits);
  if (!logits) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  /* dnacl_predict_logits reads only n, length and x of the set. */
  dnacl_seqset set;
  memset(&set, 0, sizeof set);
  set.n = n;
  set.length = m->length;
  set.x = (float *)x;
  dnacl_status s = dnacl_predict_logits(ctx, m, &set, batch, logits);
  for (int i = 0; s == DNACL_OK && i < n; i++) prob[i] = 1.0 / (1.0 + exp(-(double)logits[(size_t)i * T + target]));
  free(logits);
  return s;
}

dnacl_gia_stat dnacl_gia_stat_of(const double *before, const double *after, int n) {
  dnacl_gia_stat st;
  memset(&st, 0, sizeof st);
  st.n = n;
  double sb = 0, sa = 0, sd = 0;
  for (int i = 0; i < n; i++) sb += before[i], sa += after[i], sd += after[i] - before[i];
  st.mean_before = n ? sb / n : NAN;
  st.mean_after = n ? sa / n : NAN;
  st.effect = n ? sd / n : NAN;
  double ss = 0;
  for (int i = 0; i < n; i++) {
    double d = after[i] - before[i] - st.effect;
    ss += d * d;
  }
  /* One sequence has no spread to estimate: NaN, not a misleading 0. */
  st.stderr_ = n > 1 ? sqrt(ss / (n - 1)) / sqrt((double)n) : NAN;
  return st;
}

dnacl_status dnacl_gia_effect(dnacl_ctx *ctx, dnacl_model *m, const float *bg, const double *bg_prob, int n,
                              const dnacl_gia_pattern *const *patterns, const int *pos, int n_patterns, int target,
                              int batch, dnacl_gia_stat *out) {
  const size_t row = (size_t)4 * m->length;
  float *x = malloc((size_t)n * row * sizeof *x);
  double *prob = malloc((size_t)n * sizeof *prob);
  dnacl_status s = x && prob ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s == DNACL_OK) memcpy(x, bg, (size_t)n * row * sizeof *x);
  for (int k = 0; s == DNACL_OK && k < n_patterns; k++) s = dnacl_gia_embed(x, n, m->length, patterns[k], pos[k]);
  if (s == DNACL_OK) s = dnacl_gia_predict(ctx, m, x, n, target, batch, prob);
  if (s == DNACL_OK) *out = dnacl_gia_stat_of(bg_prob, prob, n);
  free(x);
  free(prob);
  return s;
}

dnacl_status dnacl_gia_occlude(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int a, int b, int target,
                               int batch, uint64_t seed, dnacl_gia_stat *out) {
  const int L = m->length;
  if (a < 0 || b > L || a >= b)
    return dnacl_fail(DNACL_ERR_ARG, "gia: occlusion region %d:%d is not a non-empty part of 0:%d", a, b, L);
  const size_t row = (size_t)4 * L;
  float *y = malloc((size_t)n * row * sizeof *y);
  double *before = malloc((size_t)n * sizeof *before), *after = malloc((size_t)n * sizeof *after);
  dnacl_status s = y && before && after ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s == DNACL_OK) {
    memcpy(y, x, (size_t)n * row * sizeof *y);
    for (int i = 0; i < n; i++) {
      uint64_t st = dnacl_seed_mix(seed, TAG_OCCLUDE, (uint64_t)i);
      for (int j = a; j < b; j++) set_base(y + i * row, L, j, below(&st, 4));
    }
    s = dnacl_gia_predict(ctx, m, x, n, target, batch, before);
  }
  if (s == DNACL_OK) s = dnacl_gia_predict(ctx, m, y, n, target, batch, after);
  if (s == DNACL_OK) *out = dnacl_gia_stat_of(before, after, n);
  free(y);
  free(before);
  free(after);
  return s;
}
