/* Koo & Ploenzke's synthetic tasks: motif pools, per-record generation, the shuffle and
 * split, the mask. The design and every choice are described in simulate.h; the file
 * format is written and read in truth_h5.c. */
#include "sim/simulate.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/meme.h"
#include "runtime/runtime.h"

const char *const dnacl_sim_splits[3] = {"train", "valid", "test"};

/* The paper's motif lists (Koo's core_names, in his order). */
static const char *const task1_names[] = {"Arid3a", "CEBPB", "FOSL1", "Gabpa", "MAFK", "MAX",
                                          "MEF2A",  "NFYB",  "SP1",   "SRF",   "STAT1", "YY1"};
static const char *const task3_names[] = {"SP1", "Gabpa", "CEBPB", "MAX", "YY1"};

/* Koo's count distribution: k = kmin + i with probability P[i]. His notebooks write the
 * cumulative thresholds as cumsum([0, .5, .25, .17, .05, .3]) and take the number of
 * thresholds a uniform number exceeds; the last entry (a typo for .03) is past 1 either
 * way, so P[4] = 1 - 0.97 = 0.03. */
static const double count_cum[4] = {0.5, 0.75, 0.92, 0.97};
#define KMAX_EXTRA 4
#define MAX_SITES (7 + 1)

/* Look-alike filter for the task-3 negative pool (see simulate.h). */
#define LOOKALIKE_MIN_OVERLAP 8
#define LOOKALIKE_CORR 0.80

/* Give up on a record after this many rejected draws: the length is then too short for
 * the motifs (the up-front check only catches lengths that can never fit). */
#define MAX_REDRAWS 100000

/* ---- random numbers ------------------------------------------------------------------
 * splitmix64 (Steele, Lea & Flood 2014): one 64-bit state, good enough statistically
 * for sampling and, unlike libc rand(), the same on every platform. Each record has its
 * own stream, so a record does not depend on how many were generated before it. */
typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

enum { STREAM_RECORD = 1, STREAM_SHUFFLE = 2, STREAM_BACKGROUND = 3 };

static rng rng_stream(uint64_t seed, uint64_t stream, uint64_t index) {
  rng r = {seed};
  r.s = rng_next(&r) ^ stream;
  r.s = rng_next(&r) ^ (index * 0xD1B54A32D192ED03ull);
  rng_next(&r);
  return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unif(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static int rng_below(rng *r, int n) {
  int v = (int)(rng_unif(r) * n);
  return v < n ? v : n - 1;
}

/* ---- cfg ------------------------------------------------------------------------------ */

dnacl_sim_cfg dnacl_sim_defaults(dnacl_sim_task task) {
  dnacl_sim_cfg c;
  memset(&c, 0, sizeof c);
  c.task = task;
  c.motifs_path = "data/JASPAR_CORE_2016_vertebrates.meme";
  c.n = task == DNACL_SIM_KOO_TASK3 ? 20000 : 30000;
  c.length = 200;
  c.seed = 1;
  c.info_threshold = 0.01;
  c.n_background = task == DNACL_SIM_KOO_TASK3 ? 50 : 0;
  return c;
}

dnacl_status dnacl_sim_task_parse(const char *name, dnacl_sim_task *out) {
  if (name && (!strcmp(name, "koo-task1") || !strcmp(name, "task1"))) *out = DNACL_SIM_KOO_TASK1;
  else if (name && (!strcmp(name, "koo-task3") || !strcmp(name, "task3"))) *out = DNACL_SIM_KOO_TASK3;
  else return dnacl_fail(DNACL_ERR_ARG, "unknown task '%s' (koo-task1 or koo-task3)", name ? name : "");
  return DNACL_OK;
}

const char *dnacl_sim_task_name(dnacl_sim_task task) {
  return task == DNACL_SIM_KOO_TASK1 ? "koo-task1" : task == DNACL_SIM_KOO_TASK3 ? "koo-task3" : "?";
}

double dnacl_sim_column_info(const float p[4]) {
  double h = 2.0;
  for (int b = 0; b < 4; b++)
    if (p[b] > 0) h += p[b] * log2(p[b]);
  return h > 0 ? h : 0;
}

/* ---- motif lists ----------------------------------------------------------------------- */

/* A motif's name, or its id when the MOTIF line has no name. */
static const char *mname(const dnacl_motif *m) { return m->name ? m->name : m->id; }

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static int streq_nocase(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

/* Exact name, then id, then name ignoring case; the first in the file wins a tie. */
static int find_motif(const dnacl_motif_set *db, const char *name) {
  for (int i = 0; i < db->n; i++)
    if (!strcmp(mname(&db->motifs[i]), name)) return i;
  for (int i = 0; i < db->n; i++)
    if (!strcmp(db->motifs[i].id, name)) return i;
  for (int i = 0; i < db->n; i++)
    if (streq_nocase(mname(&db->motifs[i]), name)) return i;
  return -1;
}

/* Edit distance ignoring case, a swap of two neighbours counting one (optimal string
 * alignment), for "close names": typos such as Gapba for Gabpa are one edit away. */
static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > 63 || lb > 63) return 99;
  int d[64][64];
  for (int i = 0; i <= la; i++) d[i][0] = i;
  for (int j = 0; j <= lb; j++) d[0][j] = j;
  for (int i = 1; i <= la; i++)
    for (int j = 1; j <= lb; j++) {
      int ai = tolower((unsigned char)a[i - 1]), bj = tolower((unsigned char)b[j - 1]);
      int v = d[i - 1][j - 1] + (ai != bj);
      if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == bj &&
          d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

static int contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (!strncasecmp(hay, needle, n)) return 1;
  return 0;
}

/* An unknown name: list up to 8 names within a small edit distance or containing it. */
static dnacl_status unknown_motif(const char *path, const dnacl_motif_set *db, const char *name) {
  char list[512];
  size_t u = 0;
  /* one edit for short names (SP1 is one away from SP2), two from 5 characters on */
  int shown = 0, tol = strlen(name) < 5 ? 1 : 2;
  list[0] = 0;
  for (int dist = 0; dist <= tol + 1 && shown < 8; dist++)
    for (int i = 0; i < db->n && shown < 8; i++) {
      int d = edit_distance(mname(&db->motifs[i]), name);
      /* a name containing the query (CEBP -> CEBPA) counts as distance tol + 1 */
      if (d > tol) d = strlen(name) >= 2 && contains_nocase(mname(&db->motifs[i]), name) ? tol + 1 : 99;
      if (d != dist) continue;
      int dup = 0; /* names shared by several matrices are listed once */
      for (int j = 0; j < i && !dup; j++) dup = !strcmp(mname(&db->motifs[j]), mname(&db->motifs[i]));
      if (dup) continue;
      int w = snprintf(list + u, sizeof list - u, "%s%s (%s)", shown ? ", " : "", mname(&db->motifs[i]), db->motifs[i].id);
      if (w < 0 || (size_t)w >= sizeof list - u) break;
      u += (size_t)w;
      shown++;
    }
  return dnacl_fail(DNACL_ERR_ARG, "%s: no motif named '%s'%s%s", path, name,
                    shown ? "; close names: " : " (and no close name)", list);
}

/* Per-column tables of one (motif, strand) entry of a pool. */
typedef struct entry {
  int motif;            /* index into the dataset's motif list */
  int8_t strand;        /* +1 / -1 */
  int width;
  const double *cum;    /* width * 4 cumulative probabilities on this strand */
} entry;

/* The dataset's motifs with both strands' cumulative columns and per-column information. */
typedef struct gen_ctx {
  const dnacl_sim_cfg *cfg;
  dnacl_sim_motifs *motifs;
  double *cum_fwd, *cum_rev;  /* (sum of widths, 4) each; rev column i of motif m is the
                                 reverse complement's column i */
  uint8_t *informative;       /* sum of widths: forward column carries > threshold bits */
  entry *pos_pool, *neg_pool; /* task 3 positives / negatives; task 1 uses pos_pool */
  int n_pos_pool, n_neg_pool;
  int kmin;
} gen_ctx;

/* Append motif `src` of db to the dataset list with a role. */
static dnacl_status add_motif(dnacl_sim_motifs *out, const dnacl_motif_set *db, int src, uint8_t role,
                              int cap) {
  int m = out->n;
  if (m >= cap) return dnacl_fail(DNACL_ERR_ARG, "too many motifs");
  const dnacl_motif *s = &db->motifs[src];
  int off = m ? out->offset[m - 1] + out->width[m - 1] : 0;
  float *pwm = realloc(out->pwm, (size_t)(off + s->width) * 4 * sizeof *pwm);
  if (!pwm) return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate motif tables");
  out->pwm = pwm;
  /* Columns are renormalised: MEME files round probabilities to 6 digits. */
  for (int i = 0; i < s->width; i++) {
    double sum = 0;
    for (int b = 0; b < 4; b++) sum += s->p[i * 4 + b];
    for (int b = 0; b < 4; b++) pwm[(size_t)(off + i) * 4 + b] = (float)(s->p[i * 4 + b] / sum);
  }
  out->names[m] = dup_str(mname(s));
  out->ids[m] = dup_str(s->id);
  if (!out->names[m] || !out->ids[m]) return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate motif names");
  out->width[m] = s->width;
  out->offset[m] = off;
  out->role[m] = role;
  out->n = m + 1;
  return DNACL_OK;
}

static dnacl_status alloc_motifs(dnacl_sim_motifs *m, int cap) {
  memset(m, 0, sizeof *m);
  m->names = calloc((size_t)cap, sizeof *m->names);
  m->ids = calloc((size_t)cap, sizeof *m->ids);
  m->width = calloc((size_t)cap, sizeof *m->width);
  m->offset = calloc((size_t)cap, sizeof *m->offset);
  m->role = calloc((size_t)cap, sizeof *m->role);
  if (!m->names || !m->ids || !m->width || !m->offset || !m->role)
    return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate motif tables");
  return DNACL_OK;
}

void dnacl_sim_motifs_free(dnacl_sim_motifs *m) {
  if (!m) return;
  for (int i = 0; i < m->n; i++) {
    if (m->names) free(m->names[i]);
    if (m->ids) free(m->ids[i]);
  }
  free(m->names);
  free(m->ids);
  free(m->width);
  free(m->offset);
  free(m->pwm);
  free(m->role);
  memset(m, 0, sizeof *m);
}

/* Pearson correlation of two probability columns; 0 when one is flat (uniform columns
 * say nothing about similarity). */
static double col_corr(const double *a, const double *b) {
  double ma = (a[0] + a[1] + a[2] + a[3]) / 4, mb = (b[0] + b[1] + b[2] + b[3]) / 4;
  double sab = 0, saa = 0, sbb = 0;
  for (int k = 0; k < 4; k++) {
    sab += (a[k] - ma) * (b[k] - mb);
    saa += (a[k] - ma) * (a[k] - ma);
    sbb += (b[k] - mb) * (b[k] - mb);
  }
  return saa < 1e-12 || sbb < 1e-12 ? 0 : sab / sqrt(saa * sbb);
}

/* Best mean column correlation of b (either strand) against a over the offsets with at
 * least min(8, both widths) overlapping columns. */
static double motif_similarity(const dnacl_motif *a, const dnacl_motif *b) {
  int wa = a->width, wb = b->width;
  int minov = LOOKALIKE_MIN_OVERLAP;
  if (wa < minov) minov = wa;
  if (wb < minov) minov = wb;
  double best = -1;
  for (int strand = 0; strand < 2; strand++)
    for (int off = -(wb - 1); off < wa; off++) {
      int i0 = off > 0 ? off : 0, i1 = wa < off + wb ? wa : off + wb;
      if (i1 - i0 < minov) continue;
      double s = 0;
      for (int i = i0; i < i1; i++) {
        int j = i - off;
        double cb[4];
        for (int k = 0; k < 4; k++)
          cb[k] = strand ? b->p[(wb - 1 - j) * 4 + 3 - k] : b->p[j * 4 + k];
        s += col_corr(&a->p[i * 4], cb);
      }
      s /= i1 - i0;
      if (s > best) best = s;
    }
  return best;
}

/* Resolve the task's names into the dataset list (role 1), then for task 3 choose the
 * negatives-only motifs (role 0) from the seed. */
static dnacl_status choose_motifs(const dnacl_sim_cfg *c, const dnacl_motif_set *db, dnacl_sim_motifs *out) {
  const char *const *names = c->names;
  int n_names = c->n_names;
  if (!names) {
    names = c->task == DNACL_SIM_KOO_TASK1 ? task1_names : task3_names;
    n_names = c->task == DNACL_SIM_KOO_TASK1 ? 12 : 5;
  }
  if (n_names < 1 || n_names > 1000)
    return dnacl_fail(DNACL_ERR_ARG, "%s: %d motif names given (1 to 1000)", c->motifs_path, n_names);
  int cap = n_names + (c->task == DNACL_SIM_KOO_TASK3 ? c->n_background : 0);
  DNACL_TRY(alloc_motifs(out, cap));
  int *chosen = calloc((size_t)db->n, sizeof *chosen);
  if (!chosen) return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate motif tables");
  dnacl_status s = DNACL_OK;
  for (int i = 0; i < n_names && s == DNACL_OK; i++) {
    int k = find_motif(db, names[i]);
    if (k < 0) s = unknown_motif(c->motifs_path, db, names[i]);
    else if (chosen[k])
      s = dnacl_fail(DNACL_ERR_ARG, "%s: motif '%s' (%s) is named twice", c->motifs_path, names[i], db->motifs[k].id);
    else {
      chosen[k] = 1;
      s = add_motif(out, db, k, 1, cap);
    }
  }
  if (s == DNACL_OK && c->task == DNACL_SIM_KOO_TASK3 && c->n_background > 0) {
    /* Candidates in file order: not in the pool by name (another matrix of the same TF is
     * no "other" motif) and not a look-alike of a pool motif. */
    int *cand = malloc((size_t)db->n * sizeof *cand), nc = 0;
    if (!cand) s = dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate motif tables");
    for (int i = 0; s == DNACL_OK && i < db->n; i++) {
      int ok = !chosen[i];
      for (int m = 0; ok && m < out->n; m++) {
        int src = find_motif(db, out->ids[m]);
        ok = !streq_nocase(mname(&db->motifs[i]), out->names[m]) &&
             motif_similarity(&db->motifs[src], &db->motifs[i]) < LOOKALIKE_CORR;
      }
      if (ok) cand[nc++] = i;
    }
    if (s == DNACL_OK && nc < c->n_background)
      s = dnacl_fail(DNACL_ERR_ARG, "%s: %d other motifs asked for the negative pool, but only %d of "
                     "the file's %d motifs are neither in the positive pool nor look like one",
                     c->motifs_path, c->n_background, nc, db->n);
    if (s == DNACL_OK) {
      /* A partial Fisher-Yates shuffle picks n_background; they are listed in file order. */
      rng r = rng_stream(c->seed, STREAM_BACKGROUND, 0);
      for (int i = 0; i < c->n_background; i++) {
        int j = i + rng_below(&r, nc - i);
        int t = cand[i];
        cand[i] = cand[j];
        cand[j] = t;
        chosen[cand[i]] = 2;
      }
      for (int i = 0; i < db->n && s == DNACL_OK; i++)
        if (chosen[i] == 2) s = add_motif(out, db, i, 0, cap);
    }
    free(cand);
  }
  free(chosen);
  return s;
}

/* ---- generation ------------------------------------------------------------------------ */

typedef struct site {
  int motif, pos;
  int8_t strand;
} site;

static dnacl_status build_tables(gen_ctx *g) {
  const dnacl_sim_motifs *m = g->motifs;
  int total = m->n ? m->offset[m->n - 1] + m->width[m->n - 1] : 0;
  g->cum_fwd = malloc((size_t)total * 4 * sizeof *g->cum_fwd);
  g->cum_rev = malloc((size_t)total * 4 * sizeof *g->cum_rev);
  g->informative = malloc((size_t)total);
  g->pos_pool = malloc((size_t)m->n * 2 * sizeof *g->pos_pool);
  g->neg_pool = malloc((size_t)m->n * 2 * sizeof *g->neg_pool);
  if (!g->cum_fwd || !g->cum_rev || !g->informative || !g->pos_pool || !g->neg_pool)
    return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate motif tables");
  for (int k = 0; k < m->n; k++) {
    int w = m->width[k], off = m->offset[k];
    for (int i = 0; i < w; i++) {
      const float *f = &m->pwm[(size_t)(off + i) * 4];
      const float *r = &m->pwm[(size_t)(off + w - 1 - i) * 4]; /* complement: b -> 3 - b */
      double cf = 0, cr = 0;
      for (int b = 0; b < 4; b++) {
        cf += f[b];
        cr += r[3 - b];
        g->cum_fwd[(size_t)(off + i) * 4 + b] = cf;
        g->cum_rev[(size_t)(off + i) * 4 + b] = cr;
      }
      g->informative[off + i] = dnacl_sim_column_info(f) > g->cfg->info_threshold;
    }
  }
  /* Koo's pools list each motif then its reverse complement; task 1 and the task-3
   * positives draw from the role-1 motifs, task-3 negatives from all. */
  for (int k = 0; k < m->n; k++)
    for (int s = 0; s < 2; s++) {
      entry e = {k, (int8_t)(s ? -1 : 1), m->width[k],
                 (s ? g->cum_rev : g->cum_fwd) + (size_t)m->offset[k] * 4};
      if (m->role[k]) g->pos_pool[g->n_pos_pool++] = e;
      g->neg_pool[g->n_neg_pool++] = e;
    }
  return DNACL_OK;
}

/* Index of the base a uniform number u picks in a cumulative column; never a base of
 * probability 0 (rounding can leave the last cumulative value just under 1). */
static int pick_base(const double *cum, double u) {
  for (int b = 0; b < 4; b++)
    if (u < cum[b] && (b == 0 ? cum[0] > 0 : cum[b] > cum[b - 1])) return b;
  for (int b = 3; b > 0; b--)
    if (cum[b] > cum[b - 1]) return b;
  return 0;
}

/* One record: Koo's generate_model + simulate_sequence. Writes L bases (0..3) and the
 * planted motifs in left-to-right order. */
static dnacl_status gen_record(const gen_ctx *g, const entry *pool, int n_pool, long index,
                               uint8_t *bases, site *sites, int *n_sites, long *redrawn) {
  int L = g->cfg->length;
  rng r = rng_stream(g->cfg->seed, STREAM_RECORD, (uint64_t)index);
  const entry *drawn[MAX_SITES];
  int k = 0, total = 0;
  for (int attempt = 0;; attempt++) {
    if (attempt == MAX_REDRAWS)
      return dnacl_fail(DNACL_ERR_ARG, "%s: length %d is too short for %s: %d draws of motifs in a "
                        "row did not fit (motifs are %d-%d bp wide); use a longer --length",
                        g->cfg->motifs_path, L, dnacl_sim_task_name(g->cfg->task), MAX_REDRAWS,
                        g->kmin, g->kmin + KMAX_EXTRA);
    double u = rng_unif(&r);
    k = g->kmin;
    for (int i = 0; i < KMAX_EXTRA; i++) k += u > count_cum[i];
    total = 0;
    for (int i = 0; i < k; i++) {
      drawn[i] = &pool[rng_below(&r, n_pool)];
      total += drawn[i]->width;
    }
    if (total <= L) break;
    (*redrawn)++;
  }
  /* Gaps: k + 1 uniforms scaled to the free bases and rounded half to even, drawn again
   * until they add up (Koo's loop); after 1000 tries (never seen) the last gap takes the
   * difference, so a record always comes out. */
  int gap[MAX_SITES + 1], rem = L - total;
  for (int attempt = 0;; attempt++) {
    double u[MAX_SITES + 1], sum = 0;
    for (int i = 0; i <= k; i++) sum += u[i] = rng_unif(&r);
    int got = 0;
    for (int i = 0; i <= k; i++) got += gap[i] = (int)nearbyint(sum > 0 ? u[i] / sum * rem : 0);
    if (got == rem) break;
    if (attempt == 1000 && gap[k] + rem - got >= 0) {
      gap[k] += rem - got;
      break;
    }
  }
  /* Bases left to right: background, motif, background, ... */
  static const double uniform_cum[4] = {0.25, 0.5, 0.75, 1.0};
  int p = 0;
  for (int i = 0; i <= k; i++) {
    for (int j = 0; j < gap[i]; j++, p++) bases[p] = (uint8_t)pick_base(uniform_cum, rng_unif(&r));
    if (i == k) break;
    sites[i].motif = drawn[i]->motif;
    sites[i].strand = drawn[i]->strand;
    sites[i].pos = p;
    for (int j = 0; j < drawn[i]->width; j++, p++)
      bases[p] = (uint8_t)pick_base(drawn[i]->cum + (size_t)j * 4, rng_unif(&r));
  }
  *n_sites = k;
  return DNACL_OK;
}

void dnacl_truth_free(dnacl_truth *t) {
  if (!t) return;
  free(t->seq);
  free(t->motif);
  free(t->pos);
  free(t->strand);
  free(t->first);
  free(t->mask);
  memset(t, 0, sizeof *t);
}

void dnacl_sim_data_free(dnacl_sim_data *d) {
  if (!d) return;
  for (int s = 0; s < 3; s++) {
    dnacl_seqset_free(&d->sets[s]);
    dnacl_truth_free(&d->truth[s]);
  }
  dnacl_sim_motifs_free(&d->motifs);
  free(d->motifs_path);
  memset(d, 0, sizeof *d);
}

static dnacl_status check_cfg(const dnacl_sim_cfg *c) {
  if (!c || (c->task != DNACL_SIM_KOO_TASK1 && c->task != DNACL_SIM_KOO_TASK3))
    return dnacl_fail(DNACL_ERR_ARG, "simulate: unknown task (koo-task1 or koo-task3)");
  const char *t = dnacl_sim_task_name(c->task);
  if (!c->motifs_path || !*c->motifs_path)
    return dnacl_fail(DNACL_ERR_ARG, "%s: no motif file given", t);
  if (c->n < 10 || c->n > 100000000)
    return dnacl_fail(DNACL_ERR_ARG, "%s: %d sequences asked for; 10 at least fill the 0.7/0.1/0.2 "
                      "splits (and 100,000,000 at most)", t, c->n);
  if (c->length < 1 || c->length > 1000000)
    return dnacl_fail(DNACL_ERR_ARG, "%s: length %d (1 to 1,000,000)", t, c->length);
  if (!(c->info_threshold >= 0 && c->info_threshold < 2))
    return dnacl_fail(DNACL_ERR_ARG, "%s: information threshold %g bits is outside [0, 2)", t,
                      c->info_threshold);
  if (c->n_background < 0 || c->n_background > 100000)
    return dnacl_fail(DNACL_ERR_ARG, "%s: %d other motifs for the negative pool", t, c->n_background);
  if (c->names && c->task == DNACL_SIM_KOO_TASK1 && c->n_names > 1000)
    return dnacl_fail(DNACL_ERR_ARG, "%s: %d motifs", t, c->n_names);
  return DNACL_OK;
}

/* Fill split s with the records perm[from .. from+count). */
static dnacl_status fill_split(const gen_ctx *g, dnacl_sim_data *d, int s, const int *perm, int from,
                               int count, const uint8_t *bases, const site *sites, const int *n_sites,
                               const float *labels, int n_tasks) {
  int L = d->length;
  dnacl_seqset *set = &d->sets[s];
  dnacl_truth *t = &d->truth[s];
  set->n = t->n = count;
  set->length = t->length = L;
  set->n_tasks = n_tasks;
  set->x = calloc((size_t)count * 4 * L, sizeof *set->x);
  set->y = malloc((size_t)count * n_tasks * sizeof *set->y);
  set->ids = calloc((size_t)count, sizeof *set->ids);
  set->task_names = calloc((size_t)n_tasks, sizeof *set->task_names);
  t->first = malloc((size_t)(count + 1) * sizeof *t->first);
  t->mask = calloc((size_t)count * L, 1);
  if (!set->x || !set->y || !set->ids || !set->task_names || !t->first || !t->mask)
    return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate %.1f MB for the %s split", (double)count * L * 17 / 1e6,
                      dnacl_sim_splits[s]);
  for (int k = 0; k < n_tasks; k++) {
    set->task_names[k] = dup_str(n_tasks == 1 ? "label" : d->motifs.names[k]);
    if (!set->task_names[k]) return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate task names");
  }
  long k_total = 0;
  for (int i = 0; i < count; i++) k_total += n_sites[perm[from + i]];
  t->k = (int)k_total;
  t->seq = malloc((size_t)(k_total ? k_total : 1) * sizeof *t->seq);
  t->motif = malloc((size_t)(k_total ? k_total : 1) * sizeof *t->motif);
  t->pos = malloc((size_t)(k_total ? k_total : 1) * sizeof *t->pos);
  t->strand = malloc((size_t)(k_total ? k_total : 1) * sizeof *t->strand);
  if (!t->seq || !t->motif || !t->pos || !t->strand)
    return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate the ground truth of the %s split", dnacl_sim_splits[s]);
  int row = 0;
  for (int i = 0; i < count; i++) {
    int src = perm[from + i];
    char id[48];
    snprintf(id, sizeof id, "%s:%d", dnacl_sim_splits[s], i);
    if (!(set->ids[i] = dup_str(id))) return dnacl_fail(DNACL_ERR_NOMEM, "cannot allocate record ids");
    const uint8_t *b = bases + (size_t)src * L;
    float *x = set->x + (size_t)i * 4 * L;
    for (int p = 0; p < L; p++) x[(size_t)b[p] * L + p] = 1.0f;
    memcpy(set->y + (size_t)i * n_tasks, labels + (size_t)src * n_tasks, (size_t)n_tasks * sizeof *set->y);
    t->first[i] = row;
    for (int j = 0; j < n_sites[src]; j++, row++) {
      const site *st = &sites[(size_t)src * MAX_SITES + j];
      t->seq[row] = i;
      t->motif[row] = st->motif;
      t->pos[row] = st->pos;
      t->strand[row] = st->strand;
      int w = d->motifs.width[st->motif], off = d->motifs.offset[st->motif];
      for (int c = 0; c < w; c++) /* column c of the window is column w-1-c of the - strand's source */
        t->mask[(size_t)i * L + st->pos + c] = g->informative[off + (st->strand > 0 ? c : w - 1 - c)];
    }
  }
  t->first[count] = row;
  return DNACL_OK;
}

static dnacl_status generate(const dnacl_sim_cfg *c, gen_ctx *g, dnacl_sim_data *d) {
  dnacl_motif_set db;
  DNACL_TRY(dnacl_meme_load(c->motifs_path, &db));
  dnacl_status s = choose_motifs(c, &db, &d->motifs);
  dnacl_motif_set_free(&db);
  DNACL_TRY(s);
  g->cfg = c;
  g->motifs = &d->motifs;
  g->kmin = c->task == DNACL_SIM_KOO_TASK1 ? 1 : 3;
  DNACL_TRY(build_tables(g));

  /* A length no draw can fit is an error up front; others are redrawn (see simulate.h). */
  int min_w = 1 << 30;
  for (int i = 0; i < g->n_pos_pool; i++)
    if (g->pos_pool[i].width < min_w) min_w = g->pos_pool[i].width;
  if ((long)g->kmin * min_w > c->length)
    return dnacl_fail(DNACL_ERR_ARG, "%s: length %d is too short for %s: every sequence holds at least "
                      "%d motif%s and the narrowest is %d bp wide, so at least %d bp are needed",
                      c->motifs_path, c->length, dnacl_sim_task_name(c->task), g->kmin, g->kmin > 1 ? "s" : "", min_w,
                      g->kmin * min_w);

  int N = c->n, L = c->length;
  int n_tasks = c->task == DNACL_SIM_KOO_TASK1 ? d->motifs.n : 1;
  uint8_t *bases = malloc((size_t)N * L);
  site *sites = malloc((size_t)N * MAX_SITES * sizeof *sites);
  int *n_sites = malloc((size_t)N * sizeof *n_sites);
  float *labels = calloc((size_t)N * n_tasks, sizeof *labels);
  int *perm = malloc((size_t)N * sizeof *perm);
  if (!bases || !sites || !n_sites || !labels || !perm) {
    s = dnacl_fail(DNACL_ERR_NOMEM, "%s: cannot allocate %.1f MB for %d sequences of %d bp",
                   dnacl_sim_task_name(c->task), (double)N * L * 20 / 1e6, N, L);
    goto done;
  }
  /* Task 3: the first floor(N/2) records are positives, as Koo generates them. */
  int n_pos = c->task == DNACL_SIM_KOO_TASK3 ? N / 2 : N;
  for (int j = 0; j < N && s == DNACL_OK; j++) {
    int pos = j < n_pos;
    const entry *pl = pos ? g->pos_pool : g->neg_pool;
    int npl = pos ? g->n_pos_pool : g->n_neg_pool;
    s = gen_record(g, pl, npl, j, bases + (size_t)j * L, sites + (size_t)j * MAX_SITES, &n_sites[j],
                   &d->redrawn);
    if (c->task == DNACL_SIM_KOO_TASK1)
      for (int i = 0; i < n_sites[j]; i++) labels[(size_t)j * n_tasks + sites[(size_t)j * MAX_SITES + i].motif] = 1;
    else
      labels[j] = (float)pos;
  }
  if (s != DNACL_OK) goto done;
  /* Shuffle (Fisher-Yates), then the first 70% train, the next 10% valid, the rest test. */
  rng r = rng_stream(c->seed, STREAM_SHUFFLE, 0);
  for (int i = 0; i < N; i++) perm[i] = i;
  for (int i = N - 1; i > 0; i--) {
    int j = rng_below(&r, i + 1);
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  int n_train = (int)((long)N * 7 / 10), n_valid = (int)((long)N * 8 / 10) - n_train;
  int from[3] = {0, n_train, n_train + n_valid}, count[3] = {n_train, n_valid, N - n_train - n_valid};
  for (int k = 0; k < 3 && s == DNACL_OK; k++)
    s = fill_split(g, d, k, perm, from[k], count[k], bases, sites, n_sites, labels, n_tasks);
done:
  free(bases);
  free(sites);
  free(n_sites);
  free(labels);
  free(perm);
  return s;
}

dnacl_status dnacl_sim_generate(const dnacl_sim_cfg *c, dnacl_sim_data *out) {
  memset(out, 0, sizeof *out);
  DNACL_TRY(check_cfg(c));
  out->task = c->task;
  out->n = c->n;
  out->length = c->length;
  out->seed = c->seed;
  out->info_threshold = c->info_threshold;
  out->n_background = c->task == DNACL_SIM_KOO_TASK3 ? c->n_background : 0;
  out->motifs_path = dup_str(c->motifs_path);
  if (!out->motifs_path) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  gen_ctx g;
  memset(&g, 0, sizeof g);
  dnacl_status s = generate(c, &g, out);
  free(g.cum_fwd);
  free(g.cum_rev);
  free(g.informative);
  free(g.pos_pool);
  free(g.neg_pool);
  if (s != DNACL_OK) dnacl_sim_data_free(out);
  return s;
}

dnacl_status dnacl_simulate(const dnacl_sim_cfg *cfg, const char *out_path) {
  dnacl_sim_data d;
  DNACL_TRY(dnacl_sim_generate(cfg, &d));
  dnacl_status s = dnacl_sim_save(&d, out_path);
  dnacl_sim_data_free(&d);
  return s;
}
