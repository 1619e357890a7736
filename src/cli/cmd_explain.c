/* dnacl explain: attributions of a trained run's output to its input sequences, by any of
 * the explainers (src/explain/), as NPY, a per-position TSV and SVG logos / ISM heatmaps.
 *
 * Sequences are explained in chunks of CHUNK, so memory stays flat however many are
 * selected; the NPY is streamed to FILE.tmp and renamed at the end, the TSV likewise, so a
 * failure (or a model the method refuses) leaves no output behind. Every random choice
 * (IG shuffled baselines, DeepLIFT's shuffled reference, DeepSHAP's references) is seeded
 * by --seed and the sequence's index in the loaded split, never by its rank in the
 * selection or its chunk, so a sequence gets the same attribution whichever others are
 * explained with it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "explain/explain.h"
#include "explain/logo.h"
#include "io/npy.h"
#include "train/loop.h"

#define CHUNK 64

static const char *usage =
    "usage: dnacl explain --run RUN/ --data D --method M --out F.npy [options]\n"
    "  --method M            saliency | gradxinput | ig | deeplift | deepshap | ism | ism-naive\n"
    "  --split S             train|valid|test|all (default: test if D has one, else all of D)\n"
    "  --select I..J         sequences I to J of the split (0-based, both included), or one index I\n"
    "  --top K               the K sequences with the highest predicted probability of the target\n"
    "  --target T            output index or task name (default 0)\n"
    "  --prob                explain the probability (sigmoid) instead of the logit\n"
    "  --correct             gradient correction (Majdandzic et al. 2023): subtract the mean over the 4\n"
    "                        bases at each position from the gradient (saliency, gradxinput, ig) or the\n"
    "                        multipliers (deeplift, deepshap)\n"
    "  --steps N             ig: interpolation steps (default 50)\n"
    "  --quadrature Q        ig: riemann (midpoint rule, default) or gauss (Gauss-Legendre)\n"
    "  --baseline B          ig and deeplift: the baseline / reference: zeros (default), shuffle\n"
    "                        (the sequence's bases permuted) or dinuc (a dinucleotide shuffle)\n"
    "  --refs N              deepshap: dinucleotide-shuffled references per sequence (default 20)\n"
    "  --hypothetical        deeplift/deepshap: hypothetical contributions (TF-MoDISco's hyp_scores)\n"
    "  --seed S              seed of the shuffles (default 1)\n"
    "  --out F.npy           attributions, float32 (N, 4, L) in the order explained\n"
    "  --tsv F.tsv           per-position importance: id, position (0-based), base, score\n"
    "  --svg DIR             a logo per sequence, DIR/<rank>_<id>.svg (ism: also a heatmap): the map for\n"
    "                        saliency, gradxinput, ism and hypothetical contributions; for ig, deeplift and\n"
    "                        deepshap each position's contribution summed over channels, as its base\n"
    "  --which best|last     the checkpoint (default best)\n"
    "  --batch N             rows per forward/backward pass (default 64; speed and memory only)\n"
    "  --n-value X, --pad L, --crop L   default: as RUN/config.tsv says training used\n"
    "  --labels TSV          FASTA labels from a side table\n"
    "  --device INDEX|NAME   --verbose\n"
    "\n"
    "Outputs. The NPY holds the method's map: saliency the gradient, gradxinput gradient x input,\n"
    "ig and deeplift/deepshap the contributions (or the hypothetical contributions), ism the change\n"
    "of the output for every base at every position (0 at the reference base). The TSV score of a\n"
    "position is the map summed over the bases present, i.e. sum_c map[c,p] * x[c,p] for saliency\n"
    "and hypothetical contributions (attribution x input) and sum_c map[c,p] for gradxinput, ig,\n"
    "deeplift and deepshap (already x input); for ism it is minus the mean change over the three\n"
    "alternative bases (how much mutating the position lowers the output).\n"
    "Completeness. ig and deeplift/deepshap print the worst |sum(attribution) - (f(x) - f(ref))|\n"
    "over the sequences (and references); above 1e-3 a warning says so.\n";

typedef enum method {
  M_SALIENCY,
  M_GXI,
  M_IG,
  M_DEEPLIFT,
  M_DEEPSHAP,
  M_ISM,
  M_ISM_NAIVE
} method;
static const char *const method_names[] = {"saliency", "gradxinput", "ig", "deeplift", "deepshap", "ism", "ism-naive"};

typedef struct explain_opts {
  method meth;
  const char *target, *select, *tsv, *svg, *baseline, *quadrature;
  int top, prob, correct, steps, refs, hypothetical, batch_given;
  uint64_t seed;
} explain_opts;

static int parse_int(const char *opt, const char *val, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(val, &end, 10);
  if (*end || end == val || errno || v < lo || v > hi) {
    fprintf(stderr, "dnacl explain: %s expects an integer between %ld and %ld, got '%s'\n", opt, lo, hi, val);
    return 0;
  }
  *out = v;
  return 1;
}

/* Take explain's own options out of argv; the rest (--run, --data, --out, ...) go to the
 * option parser eval and predict share. Returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, explain_opts *e, int *rest_argc, char **rest) {
  memset(e, 0, sizeof *e);
  e->meth = (method)-1;
  e->steps = 50;
  e->refs = 20;
  e->seed = 1;
  e->baseline = "zeros";
  e->quadrature = "riemann";
  int n = 0;
  rest[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    long v;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--prob")) {
      e->prob = 1;
    } else if (!strcmp(a, "--correct")) {
      e->correct = 1;
    } else if (!strcmp(a, "--hypothetical")) {
      e->hypothetical = 1;
    } else if (!strcmp(a, "--method")) {
      if (!cli_need("explain", a, val)) return 2;
      for (int k = 0; k < (int)(sizeof method_names / sizeof *method_names); k++)
        if (!strcmp(val, method_names[k])) e->meth = (method)k;
      if ((int)e->meth < 0) {
        fprintf(stderr, "dnacl explain: unknown method '%s' (saliency, gradxinput, ig, deeplift, deepshap, ism, ism-naive)\n",
                val);
        return 2;
      }
      i++;
    } else if (!strcmp(a, "--target") || !strcmp(a, "--select") || !strcmp(a, "--tsv") || !strcmp(a, "--svg") ||
               !strcmp(a, "--baseline") || !strcmp(a, "--quadrature")) {
      if (!cli_need("explain", a, val)) return 2;
      const char **dst = !strcmp(a, "--target")     ? &e->target
                         : !strcmp(a, "--select")   ? &e->select
                         : !strcmp(a, "--tsv")      ? &e->tsv
                         : !strcmp(a, "--svg")      ? &e->svg
                         : !strcmp(a, "--baseline") ? &e->baseline
                                                    : &e->quadrature;
      *dst = val;
      i++;
    } else if (!strcmp(a, "--top") || !strcmp(a, "--steps") || !strcmp(a, "--refs") || !strcmp(a, "--seed")) {
      if (!cli_need("explain", a, val)) return 2;
      long hi = !strcmp(a, "--seed") ? 2147483647L : !strcmp(a, "--top") ? 100000000L : 10000L;
      if (!parse_int(a, val, !strcmp(a, "--seed") ? 0 : 1, hi, &v)) return 2;
      if (!strcmp(a, "--top")) e->top = (int)v;
      else if (!strcmp(a, "--steps")) e->steps = (int)v;
      else if (!strcmp(a, "--refs")) e->refs = (int)v;
      else e->seed = (uint64_t)v;
      i++;
    } else {
      e->batch_given |= !strcmp(a, "--batch");
      rest[n++] = argv[i];
    }
  }
  *rest_argc = n;
  if ((int)e->meth < 0) {
    fprintf(stderr, "dnacl explain: --method is required\n%s", usage);
    return 2;
  }
  if (strcmp(e->baseline, "zeros") && strcmp(e->baseline, "shuffle") && strcmp(e->baseline, "dinuc")) {
    fprintf(stderr, "dnacl explain: --baseline is zeros, shuffle or dinuc, got '%s'\n", e->baseline);
    return 2;
  }
  if (strcmp(e->quadrature, "riemann") && strcmp(e->quadrature, "gauss")) {
    fprintf(stderr, "dnacl explain: --quadrature is riemann or gauss, got '%s'\n", e->quadrature);
    return 2;
  }
  if (e->select && e->top) {
    fprintf(stderr, "dnacl explain: give --select or --top, not both\n");
    return 2;
  }
  int ism = e->meth == M_ISM || e->meth == M_ISM_NAIVE;
  if (e->correct && ism) {
    fprintf(stderr, "dnacl explain: --correct applies to gradients and multipliers, not to ism\n");
    return 2;
  }
  if (e->hypothetical && e->meth != M_DEEPLIFT && e->meth != M_DEEPSHAP) {
    fprintf(stderr, "dnacl explain: --hypothetical applies to deeplift and deepshap\n");
    return 2;
  }
  return -1;
}

/* "I..J" or "I", 0-based and inclusive, within [0, n). */
static int parse_select(const char *s, int n, int *lo, int *hi) {
  char *end;
  errno = 0;
  long a = strtol(s, &end, 10), b = a;
  if (end != s && !strncmp(end, "..", 2)) {
    const char *t = end + 2;
    b = strtol(t, &end, 10);
    if (end == t) b = -1;
  }
  if (*end || errno || a < 0 || b < a) {
    fprintf(stderr, "dnacl explain: --select expects I..J (0-based, I <= J) or I, got '%s'\n", s);
    return 0;
  }
  if (b >= n) {
    fprintf(stderr, "dnacl explain: --select %s: the split has %d sequences (0..%d)\n", s, n, n - 1);
    return 0;
  }
  *lo = (int)a;
  *hi = (int)b;
  return 1;
}

/* Logits of rows of a set, through the same path as dnacl predict. */
static dnacl_status logits_of(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int batch, float *out) {
  dnacl_seqset view;
  memset(&view, 0, sizeof view);
  view.n = n;
  view.length = m->length;
  view.x = (float *)x;
  return dnacl_predict_logits(ctx, m, &view, batch, out);
}

/* --top: indices of the K largest target logits (the probability is monotone in it), ties
 * by index. */
static int g_sort_T, g_sort_t;
static const float *g_sort_vals;
static int by_logit_desc(const void *a, const void *b) {
  int i = *(const int *)a, j = *(const int *)b;
  float u = g_sort_vals[(size_t)i * g_sort_T + g_sort_t], v = g_sort_vals[(size_t)j * g_sort_T + g_sort_t];
  if (u != v) return u > v ? -1 : 1;
  return (i > j) - (i < j);
}

static void safe_name(const char *id, char *out, size_t n) {
  size_t k = 0;
  for (; id[k] && k + 1 < n && k < 60; k++) {
    char c = id[k];
    out[k] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ? c : '_';
  }
  out[k] = 0;
}

typedef struct run_state {
  explain_opts *e;
  dnacl_explain_opts xo;
  int target, L;
  double worst;            /* completeness, over everything explained */
  int have_worst;
  int ism_incremental_used;
} run_state;

/* Explain rows x (k sequences whose split indices are idx[]) into out. */
static dnacl_status explain_chunk(dnacl_ctx *ctx, dnacl_model *m, run_state *r, const float *x, const int *idx, int k,
                                  float *out, float *scratch) {
  explain_opts *e = r->e;
  const size_t row = (size_t)4 * r->L;
  double w = 0;
  dnacl_status s = DNACL_OK;
  switch (e->meth) {
    case M_SALIENCY:
    case M_GXI:
      return dnacl_saliency(ctx, m, x, k, &r->xo, e->meth == M_GXI, out);
    case M_IG:
    case M_DEEPLIFT: {
      /* One baseline / reference per sequence. */
      const float *base = NULL;
      if (strcmp(e->baseline, "zeros")) {
        for (int i = 0; s == DNACL_OK && i < k; i++) {
          uint64_t seed = dnacl_seed_mix(e->seed, (uint64_t)idx[i], e->meth == M_IG ? 0x16 : 0xD1);
          s = !strcmp(e->baseline, "dinuc") ? dnacl_dinuc_shuffle_onehot(x + i * row, r->L, seed, scratch + i * row)
                                            : dnacl_shuffle_onehot(x + i * row, r->L, seed, scratch + i * row);
        }
        base = scratch;
      } else {
        memset(scratch, 0, (size_t)k * row * sizeof *scratch);
        base = scratch;
      }
      if (s != DNACL_OK) return s;
      if (e->meth == M_IG)
        s = dnacl_integrated_gradients(ctx, m, x, base, k, &r->xo, e->steps,
                                       !strcmp(e->quadrature, "gauss") ? DNACL_QUAD_GAUSS : DNACL_QUAD_RIEMANN, out, NULL,
                                       &w);
      else
        s = dnacl_deeplift(ctx, m, x, k, base, 1, &r->xo, e->hypothetical, out, NULL, &w);
      break;
    }
    case M_DEEPSHAP: {
      uint64_t seeds[CHUNK];
      for (int i = 0; i < k; i++) seeds[i] = dnacl_seed_mix(e->seed, (uint64_t)idx[i], 0x5A);
      s = dnacl_deepshap(ctx, m, x, k, e->refs, seeds, &r->xo, e->hypothetical, out, NULL, &w);
      break;
    }
    case M_ISM:
    case M_ISM_NAIVE: {
      int used = 0;
      s = dnacl_ism(ctx, m, x, k, r->target, e->prob ? DNACL_EXPLAIN_PROB : DNACL_EXPLAIN_LOGIT, e->meth == M_ISM, out,
                    &used);
      r->ism_incremental_used |= used;
      return s;
    }
  }
  if (s == DNACL_OK) {
    r->have_worst = 1;
    if (w > r->worst) r->worst = w;
  }
  return s;
}

/* The TSV score of position p (see the usage text). */
static double position_score(method meth, int hypothetical, const float *a, const float *x, int L, int p) {
  double s = 0;
  for (int c = 0; c < 4; c++) {
    double v = a[(size_t)c * L + p];
    if (meth == M_SALIENCY || hypothetical) v *= x[(size_t)c * L + p];
    s += v;
  }
  if (meth == M_ISM || meth == M_ISM_NAIVE) s = -s / 3.0;
  return s;
}

/* What a logo shows: contributions (ig, deeplift, deepshap) summed over the channels of
 * each position and drawn as the sequence's base, as the genomics DeepSHAP/IG figures do
 * (the per-channel map has negative letters wherever the reference has a base the input
 * lacks, which reads as noise); the map itself for saliency, hypothetical contributions
 * and ism, whose point is the other bases, and for gradxinput, already one letter. */
static const float *logo_map(method meth, int hypothetical, const float *a, const float *x, int L, float *buf) {
  if (hypothetical || (meth != M_IG && meth != M_DEEPLIFT && meth != M_DEEPSHAP)) return a;
  for (int p = 0; p < L; p++) {
    double sum = 0, mass = 0;
    for (int c = 0; c < 4; c++) sum += a[(size_t)c * L + p], mass += x[(size_t)c * L + p];
    /* Spread over the channels present (an N shares it four ways; padding shows nothing). */
    for (int c = 0; c < 4; c++) buf[(size_t)c * L + p] = mass > 0 ? (float)(sum * x[(size_t)c * L + p] / mass) : 0.0f;
  }
  return buf;
}

static int ensure_dir(const char *dir) {
  struct stat st;
  if (!stat(dir, &st)) {
    if (S_ISDIR(st.st_mode)) return 1;
    fprintf(stderr, "dnacl explain: --svg %s exists and is not a directory\n", dir);
    return 0;
  }
  if (mkdir(dir, 0777) && errno != EEXIST) {
    fprintf(stderr, "dnacl explain: cannot create %s: %s\n", dir, strerror(errno));
    return 0;
  }
  return 1;
}

int cmd_explain(int argc, char **argv) {
  explain_opts e;
  char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
  if (!rest) return 1;
  int rest_argc = 0, rc = parse(argc, argv, &e, &rest_argc, rest);
  cli_run_opts o;
  if (rc < 0) rc = cli_run_parse("explain", usage, 0, 1, rest_argc, rest, &o);
  free(rest);
  if (rc >= 0) return rc;
  /* Explainers keep more per row than a forward pass (gradients, DeepLIFT's reference
   * activations): 64 rows stay in cache better than predict's 256 and measured faster on
   * PoCL (IG and DeepSHAP ~30% at L = 200). */
  if (!e.batch_given) o.batch = 64;
  if (!o.out) {
    fprintf(stderr, "dnacl explain: --out F.npy is required\n");
    return 2;
  }
  dnacl_ctx *ctx;
  dnacl_model *m;
  dnacl_seqset set;
  if ((rc = cli_run_open("explain", &o, "test", 1, &ctx, &m, &set))) return rc;

  run_state r;
  memset(&r, 0, sizeof r);
  r.e = &e;
  r.L = m->length;
  const size_t row = (size_t)4 * r.L;
  int *idx = NULL, n_sel = 0;
  float *logits = NULL, *xs = NULL, *out = NULL, *scratch = NULL;
  FILE *tsv = NULL;
  char tsv_tmp[4096] = "";
  dnacl_npy_writer npy;
  memset(&npy, 0, sizeof npy);
  dnacl_status s = DNACL_OK;
  rc = 1;

  if (!cli_resolve_target("explain", e.target, m, &set, &r.target)) goto done;
  r.xo.target = r.target;
  r.xo.output = e.prob ? DNACL_EXPLAIN_PROB : DNACL_EXPLAIN_LOGIT;
  r.xo.correct = e.correct;
  r.xo.batch = o.batch;
  /* A method the model cannot take is refused before anything is computed or written. */
  if ((e.meth == M_DEEPLIFT || e.meth == M_DEEPSHAP) && dnacl_deeplift_supported(m) != DNACL_OK) {
    fprintf(stderr, "dnacl explain: %s\n", dnacl_last_error());
    goto done;
  }
  if (e.svg && !ensure_dir(e.svg)) goto done;

  /* Which sequences, in which order. */
  idx = malloc((size_t)set.n * sizeof *idx);
  /* --top ranks every loaded sequence by its prediction; otherwise only the logo titles
   * need predictions, of the explained sequences, computed chunk by chunk. */
  logits = malloc((size_t)(e.top ? set.n : CHUNK) * m->spec.tasks * sizeof *logits);
  if (!idx || !logits) {
    fprintf(stderr, "dnacl explain: out of memory\n");
    goto done;
  }
  if (e.select) {
    int lo, hi;
    if (!parse_select(e.select, set.n, &lo, &hi)) goto done;
    for (int i = lo; i <= hi; i++) idx[n_sel++] = i;
  } else {
    for (int i = 0; i < set.n; i++) idx[n_sel++] = i;
  }
  if (e.top) {
    s = logits_of(ctx, m, set.x, set.n, o.batch, logits);
    if (s != DNACL_OK) goto fail;
    g_sort_vals = logits;
    g_sort_T = m->spec.tasks;
    g_sort_t = r.target;
    qsort(idx, (size_t)set.n, sizeof *idx, by_logit_desc);
    n_sel = e.top < set.n ? e.top : set.n;
  }

  size_t shape[3] = {(size_t)n_sel, 4, (size_t)r.L};
  s = dnacl_npy_writer_open(&npy, o.out, 3, shape);
  if (s != DNACL_OK) goto fail;
  if (e.tsv) {
    snprintf(tsv_tmp, sizeof tsv_tmp, "%s.tmp", e.tsv);
    tsv = fopen(tsv_tmp, "w");
    if (!tsv) {
      fprintf(stderr, "dnacl explain: cannot write %s: %s\n", tsv_tmp, strerror(errno));
      goto done;
    }
    fprintf(tsv, "id\tposition\tbase\tscore\n");
  }
  xs = malloc(CHUNK * row * sizeof *xs);
  out = malloc(CHUNK * row * sizeof *out);
  scratch = malloc(CHUNK * row * sizeof *scratch);
  char *bases = malloc((size_t)r.L + 1);
  if (!xs || !out || !scratch || !bases) {
    free(bases);
    fprintf(stderr, "dnacl explain: out of memory\n");
    goto done;
  }
  const char *task = set.n_tasks == m->spec.tasks ? set.task_names[r.target] : NULL;
  double t0 = dnacl_now_s(), build0 = ctx->build_s;
  for (int c0 = 0; s == DNACL_OK && c0 < n_sel; c0 += CHUNK) {
    int k = n_sel - c0 < CHUNK ? n_sel - c0 : CHUNK;
    for (int i = 0; i < k; i++) memcpy(xs + i * row, set.x + (size_t)idx[c0 + i] * row, row * sizeof *xs);
    s = explain_chunk(ctx, m, &r, xs, idx + c0, k, out, scratch);
    if (s == DNACL_OK) s = dnacl_npy_writer_append(&npy, out, (size_t)k * row);
    if (s == DNACL_OK && e.svg && !e.top) s = logits_of(ctx, m, xs, k, k < o.batch ? k : o.batch, logits);
    for (int i = 0; s == DNACL_OK && i < k; i++) {
      const float *a = out + i * row, *xi = xs + i * row;
      const char *id = set.ids[idx[c0 + i]];
      dnacl_onehot_decode(xi, r.L, r.L, bases);
      if (tsv)
        for (int p = 0; p < r.L; p++)
          fprintf(tsv, "%s\t%d\t%c\t%.6g\n", id, p, bases[p], position_score(e.meth, e.hypothetical, a, xi, r.L, p));
      if (e.svg) {
        char name[96], path[4352], title[512];
        safe_name(id, name, sizeof name);
        double z = logits[(size_t)(e.top ? idx[c0 + i] : i) * m->spec.tasks + r.target];
        snprintf(title, sizeof title, "%s: %s%s, %s of %s (p = %.3f)", id, method_names[e.meth],
                 e.hypothetical ? " (hypothetical)" : "", e.prob ? "probability" : "logit",
                 task ? task : "output", 1.0 / (1.0 + exp(-z)));
        dnacl_logo_style st = {title, e.meth == M_ISM || e.meth == M_ISM_NAIVE ? "change of output" : "attribution", 0,
                               0, 0};
        snprintf(path, sizeof path, "%s/%04d_%s.svg", e.svg, c0 + i, name);
        s = dnacl_logo_svg(path, logo_map(e.meth, e.hypothetical, a, xi, r.L, scratch), r.L, &st);
        if (s == DNACL_OK && (e.meth == M_ISM || e.meth == M_ISM_NAIVE)) {
          snprintf(path, sizeof path, "%s/%04d_%s.heatmap.svg", e.svg, c0 + i, name);
          s = dnacl_ism_heatmap_svg(path, a, xi, r.L, &st);
        }
      }
    }
  }
  free(bases);
  double dt = dnacl_now_s() - t0, build = ctx->build_s - build0;
  if (s != DNACL_OK) goto fail;
  if (tsv) {
    int bad = ferror(tsv);
    bad |= fclose(tsv) != 0;
    tsv = NULL;
    if (bad || rename(tsv_tmp, e.tsv) != 0) {
      fprintf(stderr, "dnacl explain: cannot write %s\n", e.tsv);
      goto done;
    }
    tsv_tmp[0] = 0;
  }
  s = dnacl_npy_writer_commit(&npy);
  if (s != DNACL_OK) goto fail;
  /* Building the method's kernel programs is a once-per-process cost, so it is reported
   * apart from the time per sequence (with few sequences it is most of the time). */
  fprintf(stderr,
          "dnacl explain: %s of %d sequence%s (target %d%s%s, %s) in %.2f s (%.2f ms/sequence, and %.2f s "
          "building kernel programs on first use) -> %s\n",
          method_names[e.meth], n_sel, n_sel == 1 ? "" : "s", r.target, task ? " " : "", task ? task : "",
          e.prob ? "probability" : "logit", dt, n_sel ? 1e3 * (dt - build) / n_sel : 0.0, build, o.out);
  if (e.meth == M_ISM) fprintf(stderr, "dnacl explain: ism ran %s\n", r.ism_incremental_used ? "incrementally" : "naively (the model breaks locality)");
  if (r.have_worst) {
    fprintf(stderr, "dnacl explain: completeness: worst |sum(attribution) - (f(x) - f(%s))| = %.3g\n",
            e.meth == M_IG ? "baseline" : "reference", r.worst);
    /* DeepLIFT's rules (rescale, and SHAP's maxpool split) are complete up to rounding, so
     * only IG's quadrature error is expected here. */
    if (r.worst > 1e-3)
      fprintf(stderr, "dnacl explain: warning: completeness error above 1e-3%s\n",
              e.meth == M_IG ? ": use more --steps or --quadrature gauss"
                             : ": DeepLIFT's rules should sum exactly; please report it with the model file");
  }
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "dnacl explain: %s\n", dnacl_last_error());
done:
  if (tsv) fclose(tsv);
  if (tsv_tmp[0]) remove(tsv_tmp);
  dnacl_npy_writer_abort(&npy);
  free(idx);
  free(logits);
  free(xs);
  free(out);
  free(scratch);
  dnacl_seqset_free(&set);
  dnacl_model_free(m);
  dnacl_ctx_release(ctx);
  return rc;
}
