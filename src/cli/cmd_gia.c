/* dnacl gia: global importance analysis of a trained run (src/explain/gia.h): the effect
 * of a pattern embedded in background sequences, of a pair of patterns against their
 * spacing, or of occluding a region of real sequences. A table goes to standard output
 * (and with --out to a TSV file); the setup is summarised on standard error. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "explain/explain.h"
#include "explain/gia.h"
#include "io/svg.h"
#include "train/loop.h"

static const char *usage =
    "usage: dnacl gia --run RUN/ --embed MOTIF[@POS] [options]\n"
    "       dnacl gia --run RUN/ --embed MOTIF[@POS] --embed2 MOTIF2 --spacing A:B [options]\n"
    "       dnacl gia --run RUN/ --data D --occlude A:B [options]\n"
    "Global importance analysis (Koo et al. 2021): the mean predicted probability with the\n"
    "pattern(s) embedded minus the mean on the same background sequences, with the\n"
    "standard error of the per-sequence differences.\n"
    "  --background K        shuffled | profile | data (default shuffled):\n"
    "                          shuffled: dinucleotide shuffles of sequences of --data, or\n"
    "                                    uniform random bases without --data\n"
    "                          profile:  bases drawn from the per-position base frequencies of --data\n"
    "                          data:     the sequences of --data themselves\n"
    "  --n N                 background sequences (default 1000; drawn from --data without\n"
    "                        replacement when it has that many, else with replacement)\n"
    "  --embed MOTIF[@POS]   a consensus over A,C,G,T,N (N keeps the background's base) or a\n"
    "                        motif id or name of --meme; POS is the 0-based start (default: centred)\n"
    "  --embed2 MOTIF2 --spacing A:B   a second pattern A..B bases (inclusive) after the end of\n"
    "                        the first; one row per spacing. Without @POS the pair at the\n"
    "                        widest spacing is centred\n"
    "  --occlude A:B         replace positions A..B-1 (0-based, a Python slice) of real\n"
    "                        sequences (--data) with uniform random bases; reports the mean drop\n"
    "  --meme DB.meme        motifs for --embed/--embed2 by id or name\n"
    "  --sample              sample every sequence's pattern from the motif's probabilities\n"
    "                        (default: its consensus, the most likely base per column)\n"
    "  --seed S              (default 1)   --target T   output task index (default 0)\n"
    "  --out F.tsv           the table as TSV   --svg F.svg   the spacing curve (with --embed2)\n"
    "  --data D, --split S (default: test if D has one), --which best|last, --batch N,\n"
    "  --n-value X, --pad L, --crop L, --labels TSV, --device INDEX|NAME, --verbose\n";

typedef struct gia_opts {
  cli_run_opts r;
  const char *background, *embed, *embed2, *spacing, *occlude, *meme, *svg;
  int sample, target;
  long n;
  uint64_t seed;
} gia_opts;

static int parse_int(const char *opt, const char *val, long lo, long hi, long *out) {
  char *end;
  if (!val) {
    fprintf(stderr, "dnacl gia: %s needs a value\n", opt);
    return 0;
  }
  errno = 0;
  long v = strtol(val, &end, 10);
  if (end == val || *end || errno || v < lo || v > hi) {
    fprintf(stderr, "dnacl gia: %s expects a whole number in %ld..%ld, got '%s'\n", opt, lo, hi, val);
    return 0;
  }
  *out = v;
  return 1;
}

/* "A:B" with whole numbers. */
static int parse_range(const char *opt, const char *val, long *a, long *b) {
  const char *colon = val ? strchr(val, ':') : NULL;
  char buf[64];
  if (!colon || (size_t)(colon - val) >= sizeof buf) {
    fprintf(stderr, "dnacl gia: %s expects A:B, got '%s'\n", opt, val ? val : "");
    return 0;
  }
  memcpy(buf, val, (size_t)(colon - val));
  buf[colon - val] = 0;
  return parse_int(opt, buf, -1000000, 1000000, a) && parse_int(opt, colon + 1, -1000000, 1000000, b);
}

static int parse_args(int argc, char **argv, gia_opts *g) {
  memset(g, 0, sizeof *g);
  g->r.load = dnacl_load_opts_default();
  g->r.which = "best";
  g->r.batch = 256;
  g->background = "shuffled";
  g->n = 1000;
  g->seed = 1;
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &g->r.cc);
    if (r < 0) return 2;
    if (r) continue;
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    long v;
    char *end;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    }
    if (!strcmp(a, "--sample")) {
      g->sample = 1;
      continue;
    }
    const char **str = !strcmp(a, "--run")          ? &g->r.run
                       : !strcmp(a, "--data")       ? &g->r.data
                       : !strcmp(a, "--split")      ? &g->r.split
                       : !strcmp(a, "--which")      ? &g->r.which
                       : !strcmp(a, "--labels")     ? &g->r.load.labels_tsv
                       : !strcmp(a, "--out")        ? &g->r.out
                       : !strcmp(a, "--background") ? &g->background
                       : !strcmp(a, "--embed")      ? &g->embed
                       : !strcmp(a, "--embed2")     ? &g->embed2
                       : !strcmp(a, "--spacing")    ? &g->spacing
                       : !strcmp(a, "--occlude")    ? &g->occlude
                       : !strcmp(a, "--meme")       ? &g->meme
                       : !strcmp(a, "--svg")        ? &g->svg
                                                    : NULL;
    if (str) {
      if (!val) {
        fprintf(stderr, "dnacl gia: %s needs a value\n", a);
        return 2;
      }
      *str = val;
      i++;
    } else if (!strcmp(a, "--n")) {
      if (!parse_int(a, val, 1, 10000000, &v)) return 2;
      g->n = v, i++;
    } else if (!strcmp(a, "--target")) {
      if (!parse_int(a, val, 0, 1000000, &v)) return 2;
      g->target = (int)v, i++;
    } else if (!strcmp(a, "--batch")) {
      if (!parse_int(a, val, 1, 1 << 20, &v)) return 2;
      g->r.batch = (int)v, i++;
    } else if (!strcmp(a, "--pad") || !strcmp(a, "--crop")) {
      if (!parse_int(a, val, -1, 100000000, &v)) return 2;
      if (!strcmp(a, "--pad")) g->r.load.pad_to = (int)v, g->r.pad_given = 1;
      else g->r.load.crop_to = (int)v, g->r.crop_given = 1;
      i++;
    } else if (!strcmp(a, "--seed")) {
      if (!val) {
        fprintf(stderr, "dnacl gia: --seed needs a value\n");
        return 2;
      }
      errno = 0;
      unsigned long long s = strtoull(val, &end, 10);
      if (end == val || *end || errno || val[0] == '-') {
        fprintf(stderr, "dnacl gia: --seed expects a non-negative whole number, got '%s'\n", val);
        return 2;
      }
      g->seed = s, i++;
    } else if (!strcmp(a, "--n-value")) {
      double x = val ? strtod(val, &end) : 0;
      if (!val || end == val || *end) {
        fprintf(stderr, "dnacl gia: --n-value expects a number\n");
        return 2;
      }
      g->r.load.n_value = (float)x, g->r.n_value_given = 1, i++;
    } else {
      fprintf(stderr, "dnacl gia: unknown option or missing value: '%s'\n%s", a, usage);
      return 2;
    }
  }
  if (!g->r.run) {
    fprintf(stderr, "dnacl gia: --run is required\n%s", usage);
    return 2;
  }
  if (!g->embed == !g->occlude) {
    fprintf(stderr, "dnacl gia: give either --embed (with --embed2 --spacing for a pair) or --occlude\n");
    return 2;
  }
  if (g->occlude && (g->embed2 || g->spacing)) {
    fprintf(stderr, "dnacl gia: --occlude does not combine with --embed2/--spacing\n");
    return 2;
  }
  if (!g->embed2 != !g->spacing) {
    fprintf(stderr, "dnacl gia: --embed2 and --spacing go together\n");
    return 2;
  }
  if (dnacl_gia_bg_from_name(g->background) < 0) {
    fprintf(stderr, "dnacl gia: --background is shuffled, profile or data, got '%s'\n", g->background);
    return 2;
  }
  if (!g->r.data && (g->occlude || strcmp(g->background, "shuffled"))) {
    fprintf(stderr, "dnacl gia: %s needs --data\n", g->occlude ? "--occlude" : "this background");
    return 2;
  }
  if (g->svg && !g->embed2) {
    fprintf(stderr, "dnacl gia: --svg draws the spacing curve of --embed2\n");
    return 2;
  }
  if (!*g->r.which || strchr(g->r.which, '/') || strstr(g->r.which, "..")) {
    fprintf(stderr, "dnacl gia: --which is best or last, got '%s'\n", g->r.which);
    return 2;
  }
  return -1;
}

/* A pattern from "MOTIF[@POS]": a motif of db by id or name, else a consensus string. */
typedef struct resolved {
  dnacl_gia_pattern p;
  char *consensus;  /* owned */
  char label[256];
  int width, pos;   /* pos -1: not given */
} resolved;

static int resolve(const char *spec, const dnacl_motif_set *db, int sample, uint64_t seed, resolved *r) {
  memset(r, 0, sizeof *r);
  r->pos = -1;
  char key[512];
  snprintf(key, sizeof key, "%s", spec);
  char *at = strrchr(key, '@');
  if (at) {
    long v;
    *at = 0;
    if (!parse_int("--embed position", at + 1, 0, 100000000, &v)) return 0;
    r->pos = (int)v;
  }
  r->p.seed = seed;
  int idx = db ? dnacl_motif_find(db, key) : -1;
  if (idx == -2) {
    fprintf(stderr, "dnacl gia: several motifs of the --meme file are named %s; give the id:", key);
    for (int i = 0; i < db->n; i++)
      if (db->motifs[i].name && !strcmp(db->motifs[i].name, key)) fprintf(stderr, " %s", db->motifs[i].id);
    fprintf(stderr, "\n");
    return 0;
  }
  if (idx >= 0) {
    const dnacl_motif *m = &db->motifs[idx];
    r->width = m->width;
    if (sample) {
      r->p.pwm = m->p;
      r->p.width = m->width;
    } else {
      r->consensus = malloc((size_t)m->width + 1);
      if (!r->consensus) return 0;
      dnacl_motif_consensus(m->p, m->width, r->consensus);
      r->p.consensus = r->consensus;
    }
    snprintf(r->label, sizeof r->label, "%s%s%s%s", m->id, m->name ? " " : "", m->name ? m->name : "",
             sample ? " (sampled)" : "");
    return 1;
  }
  size_t n = strlen(key);
  if (!n || strspn(key, "ACGTNacgtn") != n) {
    fprintf(stderr, "dnacl gia: '%s' is %s\n", key,
            db ? "neither a consensus (A, C, G, T, N) nor a motif id or name of the --meme file"
               : "not a consensus of A, C, G, T, N (give --meme to embed motifs by id or name)");
    return 0;
  }
  if (sample) {
    fprintf(stderr, "dnacl gia: --sample needs a motif of --meme; '%s' is a consensus string\n", key);
    return 0;
  }
  r->consensus = malloc(n + 1);
  if (!r->consensus) return 0;
  for (size_t i = 0; i <= n; i++) r->consensus[i] = (char)(key[i] >= 'a' ? key[i] - 32 : key[i]);
  r->p.consensus = r->consensus;
  r->width = (int)n;
  snprintf(r->label, sizeof r->label, "%s", r->consensus);
  return 1;
}

/* The output table, to stdout and (with --out) to a file renamed into place. */
typedef struct table {
  FILE *f;
  char tmp[4200];
} table;

static void out_row(table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_row(table *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  if (t->f) {
    va_start(ap, fmt);
    vfprintf(t->f, fmt, ap);
    va_end(ap);
  }
}

static void tsv_field(char *dst, size_t n, const char *s) {
  snprintf(dst, n, "%s", s);
  for (char *p = dst; *p; p++)
    if (*p == '\t' || *p == '\n' || *p == '\r') *p = ' ';
}

static dnacl_status spacing_svg(const char *path, const char *title, const double *sp, const double *eff,
                                const double *se, int k, double single1, double single2) {
  double *lo = malloc((size_t)k * sizeof *lo), *hi = malloc((size_t)k * sizeof *hi);
  if (!lo || !hi) {
    free(lo), free(hi);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < k; i++) lo[i] = eff[i] - se[i], hi[i] = eff[i] + se[i];
  double x2[2] = {sp[0], sp[k - 1]}, s1[2] = {single1, single1}, s2[2] = {single2, single2}, sum[2];
  sum[0] = sum[1] = single1 + single2;
  dnacl_series series[6] = {
      {"pair", "#1f77b4", sp, eff, (size_t)k, 0, 2.5},
      {"pair +- s.e.", "#9ecae1", sp, lo, (size_t)k, 1, 0},
      {"", "#9ecae1", sp, hi, (size_t)k, 1, 0},
      {"first alone", "#2ca02c", x2, s1, 2, 1, 0},
      {"second alone (closest)", "#ff7f0e", x2, s2, 2, 1, 0},
      {"sum of the two alone", "#7f7f7f", x2, sum, 2, 1, 0},
  };
  dnacl_svg s;
  dnacl_status r = dnacl_svg_begin(&s, 640, 400);
  if (r == DNACL_OK) {
    dnacl_chart c = dnacl_chart_box(0, 0, 640, 400);
    c.title = title;
    c.xlabel = "spacing (bases between the patterns)";
    c.ylabel = "effect on the mean probability";
    dnacl_svg_line_chart(&s, &c, series, 6);
    r = dnacl_svg_save(&s, path);
    dnacl_svg_free(&s);
  }
  free(lo), free(hi);
  return r;
}

int cmd_gia(int argc, char **argv) {
  gia_opts g;
  int rc = parse_args(argc, argv, &g);
  if (rc >= 0) return rc;
  rc = 0;
  dnacl_motif_set db;
  dnacl_motif_set_init(&db);
  if (g.meme && dnacl_meme_load(g.meme, &db) != DNACL_OK) {
    fprintf(stderr, "dnacl gia: %s\n", dnacl_last_error());
    return 1;
  }
  resolved p1, p2;
  memset(&p1, 0, sizeof p1);
  memset(&p2, 0, sizeof p2);
  long sp_a = 0, sp_b = 0, oc_a = 0, oc_b = 0;
  int ok = 1;
  if (g.embed) ok = resolve(g.embed, g.meme ? &db : NULL, g.sample, dnacl_seed_mix(g.seed, 11, 0), &p1);
  if (ok && g.embed2) {
    ok = resolve(g.embed2, g.meme ? &db : NULL, g.sample, dnacl_seed_mix(g.seed, 12, 0), &p2) &&
         parse_range("--spacing", g.spacing, &sp_a, &sp_b);
    if (ok && p2.pos >= 0) {
      fprintf(stderr, "dnacl gia: --embed2 takes no @POS: --spacing places it\n");
      ok = 0;
    }
    if (ok && sp_a > sp_b) {
      fprintf(stderr, "dnacl gia: --spacing %ld:%ld is empty (A must be <= B)\n", sp_a, sp_b);
      ok = 0;
    }
  }
  if (ok && g.occlude) ok = parse_range("--occlude", g.occlude, &oc_a, &oc_b);
  if (!ok) {
    free(p1.consensus), free(p2.consensus);
    dnacl_motif_set_free(&db);
    return 2;
  }

  dnacl_ctx *ctx = NULL;
  dnacl_model *m = NULL;
  dnacl_seqset set;
  memset(&set, 0, sizeof set);
  if (g.r.data) {
    rc = cli_run_open("gia", &g.r, "test", 1, &ctx, &m, &set);
  } else if (dnacl_ctx_create(g.r.cc.device, g.r.cc.verbose, &ctx) != DNACL_OK ||
             dnacl_run_load(ctx, g.r.run, g.r.which, &m) != DNACL_OK) {
    fprintf(stderr, "dnacl gia: %s\n", dnacl_last_error());
    rc = 1;
  }
  const int L = m ? m->length : 0, n = (int)g.n;
  dnacl_status s = DNACL_OK;
  if (!rc && g.target >= m->spec.tasks) {
    fprintf(stderr, "dnacl gia: --target %d: model %s has %d output task(s) (0..%d)\n", g.target, m->spec.name,
            m->spec.tasks, m->spec.tasks - 1);
    rc = 2;
  }
  /* Where the patterns go: fixed by @POS, else centred (a pair: centred at its widest). */
  int pos1 = p1.pos;
  if (!rc && g.embed && pos1 < 0) {
    long span = g.embed2 ? p1.width + (sp_b > 0 ? sp_b : 0) + p2.width : p1.width;
    pos1 = (int)((L - span) / 2);
    if (pos1 < 0) pos1 = 0;
  }
  if (!rc && g.embed) {
    long end1 = (long)pos1 + p1.width, lo2 = end1 + sp_a, hi2 = end1 + sp_b + (g.embed2 ? p2.width : 0);
    if (end1 > L || (g.embed2 && (lo2 < 0 || hi2 > L))) {
      fprintf(stderr, "dnacl gia: the pattern%s at %d%s do%s not fit in the model's length %d\n", g.embed2 ? "s" : "",
              pos1, g.embed2 ? " with these spacings" : "", g.embed2 ? "" : "es", L);
      rc = 2;
    }
  }
  if (!rc && g.occlude && (oc_a < 0 || oc_b > L || oc_a >= oc_b)) {
    fprintf(stderr, "dnacl gia: --occlude %ld:%ld is not a non-empty region of 0:%d\n", oc_a, oc_b, L);
    rc = 2;
  }
  const size_t row = (size_t)4 * L;
  float *bg = NULL;
  double *bg_prob = NULL;
  table t = {NULL, ""};
  if (!rc) {
    bg = malloc((size_t)n * row * sizeof *bg);
    bg_prob = malloc((size_t)n * sizeof *bg_prob);
    if (!bg || !bg_prob) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory for %d sequences", n);
  }
  dnacl_gia_bg kind = g.occlude ? DNACL_GIA_DATA : (dnacl_gia_bg)dnacl_gia_bg_from_name(g.background);
  if (!rc && s == DNACL_OK) {
    s = dnacl_gia_background(kind, g.r.data ? set.x : NULL, set.n, L, n, g.seed, bg);
    const char *split = g.r.load.split ? g.r.load.split : "all";
    if (g.occlude)
      fprintf(stderr, "gia: %d sequences of %s (split %s)%s\n", n, g.r.data, split,
              n > set.n ? ", drawn with replacement" : "");
    else if (kind == DNACL_GIA_SHUFFLED && !g.r.data)
      fprintf(stderr, "gia: background: %d sequences of uniform random bases (no --data to shuffle)\n", n);
    else
      fprintf(stderr, "gia: background: %d %s of %d sequences of %s (split %s)%s\n", n,
              kind == DNACL_GIA_SHUFFLED ? "dinucleotide shuffles"
              : kind == DNACL_GIA_PROFILE ? "draws from the per-position base profile"
                                          : "sequences",
              set.n, g.r.data, split, kind != DNACL_GIA_PROFILE && n > set.n ? ", drawn with replacement" : "");
    fprintf(stderr, "gia: run %s (%s), model %s, target %d, length %d, seed %llu\n", g.r.run, g.r.which,
            m->spec.name, g.target, L, (unsigned long long)g.seed);
  }
  if (!rc && s == DNACL_OK && g.r.out) {
    snprintf(t.tmp, sizeof t.tmp, "%s.tmp", g.r.out);
    if (!(t.f = fopen(t.tmp, "w"))) s = dnacl_fail(DNACL_ERR_IO, "%s: %s", t.tmp, strerror(errno));
  }
  if (!rc && s == DNACL_OK && g.occlude) {
    dnacl_gia_stat st;
    s = dnacl_gia_occlude(ctx, m, bg, n, (int)oc_a, (int)oc_b, g.target, g.r.batch, dnacl_seed_mix(g.seed, 13, 0), &st);
    if (s == DNACL_OK) {
      out_row(&t, "region\tn\tmean_original\tmean_occluded\tdrop\tstderr\n");
      out_row(&t, "%ld:%ld\t%d\t%.6f\t%.6f\t%.6f\t%.6f\n", oc_a, oc_b, st.n, st.mean_before, st.mean_after, -st.effect,
          st.stderr_);
    }
  } else if (!rc && s == DNACL_OK) {
    s = dnacl_gia_predict(ctx, m, bg, n, g.target, g.r.batch, bg_prob);
    const dnacl_gia_pattern *pats[2] = {&p1.p, &p2.p};
    char l1[256], l2[256];
    tsv_field(l1, sizeof l1, p1.label);
    tsv_field(l2, sizeof l2, p2.label);
    if (s == DNACL_OK && !g.embed2) {
      dnacl_gia_stat st;
      s = dnacl_gia_effect(ctx, m, bg, bg_prob, n, pats, &pos1, 1, g.target, g.r.batch, &st);
      if (s == DNACL_OK) {
        out_row(&t, "pattern\tstart\tn\tmean_background\tmean_embedded\teffect\tstderr\n");
        out_row(&t, "%s\t%d\t%d\t%.6f\t%.6f\t%.6f\t%.6f\n", l1, pos1, st.n, st.mean_before, st.mean_after, st.effect,
            st.stderr_);
      }
    } else if (s == DNACL_OK) {
      int k = (int)(sp_b - sp_a + 1), first2 = pos1 + p1.width + (int)sp_a;
      dnacl_gia_stat a1, a2;
      /* Each pattern alone, for reading the pair's curve: an interaction is what the pair
       * adds beyond the sum of the two. */
      s = dnacl_gia_effect(ctx, m, bg, bg_prob, n, pats, &pos1, 1, g.target, g.r.batch, &a1);
      if (s == DNACL_OK) s = dnacl_gia_effect(ctx, m, bg, bg_prob, n, pats + 1, &first2, 1, g.target, g.r.batch, &a2);
      if (s == DNACL_OK)
        fprintf(stderr, "gia: alone: %s at %d: effect %.6f +- %.6f; %s at %d: effect %.6f +- %.6f\n", p1.label, pos1,
                a1.effect, a1.stderr_, p2.label, first2, a2.effect, a2.stderr_);
      double *xs = malloc((size_t)k * sizeof *xs), *ys = malloc((size_t)k * sizeof *ys),
             *es = malloc((size_t)k * sizeof *es);
      if (s == DNACL_OK && (!xs || !ys || !es)) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      if (s == DNACL_OK)
        out_row(&t, "pattern1\tpattern2\tspacing\tstart1\tstart2\tn\tmean_background\tmean_embedded\teffect\tstderr\n");
      for (int i = 0; s == DNACL_OK && i < k; i++) {
        int pos[2] = {pos1, pos1 + p1.width + (int)sp_a + i};
        dnacl_gia_stat st;
        s = dnacl_gia_effect(ctx, m, bg, bg_prob, n, pats, pos, 2, g.target, g.r.batch, &st);
        if (s != DNACL_OK) break;
        out_row(&t, "%s\t%s\t%ld\t%d\t%d\t%d\t%.6f\t%.6f\t%.6f\t%.6f\n", l1, l2, sp_a + i, pos[0], pos[1], st.n,
            st.mean_before, st.mean_after, st.effect, st.stderr_);
        xs[i] = (double)(sp_a + i), ys[i] = st.effect, es[i] = st.stderr_;
      }
      if (s == DNACL_OK && g.svg) {
        char title[600];
        snprintf(title, sizeof title, "%s then %s: effect vs spacing (n %d)", p1.label, p2.label, n);
        s = spacing_svg(g.svg, title, xs, ys, es, k, a1.effect, a2.effect);
      }
      free(xs), free(ys), free(es);
    }
  }
  if (t.f) {
    int bad = ferror(t.f) | (fclose(t.f) != 0);
    if (s == DNACL_OK && (bad || rename(t.tmp, g.r.out) != 0)) s = dnacl_fail(DNACL_ERR_IO, "%s: cannot write", g.r.out);
    if (s != DNACL_OK) remove(t.tmp);
  }
  if (!rc && s != DNACL_OK) {
    fprintf(stderr, "dnacl gia: %s\n", dnacl_last_error());
    rc = 1;
  }
  free(bg);
  free(bg_prob);
  free(p1.consensus), free(p2.consensus);
  dnacl_motif_set_free(&db);
  dnacl_seqset_free(&set);
  dnacl_model_free(m);
  if (ctx) dnacl_ctx_release(ctx);
  return rc;
}
