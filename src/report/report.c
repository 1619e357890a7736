/* The HTML report of a run; see report.h for what the page holds and why. */
#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "explain/explain.h"
#include "explain/filters.h"
#include "explain/logo.h"
#include "explain/motif_logo.h"
#include "explain/tomtom.h"
#include "io/meme.h"
#include "io/safetensors.h"
#include "io/seqdata.h"
#include "io/svg.h"
#include "train/loop.h"
#include "train/metrics.h"

/* What `dnacl filters` uses by default, so the report's filters are the command's. */
#define FILTER_THRESHOLD 0.5
#define FILTER_PSEUDOCOUNT 0.1
/* A match is called convincing below this E-value (the summary line of `dnacl filters`). */
#define MATCH_E 0.1
/* DeepSHAP references per sequence and the seed, as `dnacl explain`'s defaults, so the
 * logos here are the ones `dnacl explain --method deepshap --top K` draws. */
#define SHAP_REFS 20
#define EXPLAIN_SEED 1
#define IG_STEPS 50
/* The zoom panel of an attribution figure: the window with the largest total |score|. */
#define ZOOM 40
/* Rows explained per call, as dnacl explain's chunks: memory stays flat for a large --top. */
#define CHUNK 64

dnacl_report_opts dnacl_report_defaults(void) {
  dnacl_report_opts o;
  memset(&o, 0, sizeof o);
  o.pad_to = o.crop_to = DNACL_REPORT_FROM_RUN;
  o.n_value = DNACL_REPORT_FROM_RUN;
  return o;
}

typedef enum method { M_SALIENCY, M_GXI, M_IG, M_DEEPLIFT, M_DEEPSHAP, M_ISM, M_NONE } method;
static const char *const method_names[] = {"saliency", "gradxinput", "ig", "deeplift", "deepshap", "ism"};
static const char *const method_titles[] = {"Saliency", "Gradient × input", "Integrated gradients", "DeepLIFT",
                                            "DeepSHAP", "In silico mutagenesis"};

typedef struct kv {
  char *key, *val;
} kv;

typedef struct report {
  const dnacl_report_opts *o;
  dnacl_ctx *ctx;
  dnacl_model *m;
  /* The page. dnacl_svg is used as a plain growing text buffer here: its escaping (& < > " '
   * as entities, controls as spaces, invalid UTF-8 as '?') is exactly what HTML text and
   * attribute values need too. */
  dnacl_svg h;
  int n_fig;            /* figures are numbered in captions */
  int n_inline;         /* inlined SVGs, to make their element ids unique in the page */
  int missing;          /* sections that could not be produced */
  kv *cfg;
  int n_cfg;
  /* data */
  const char *data_path;
  char data_note[2048]; /* why there is no data ("" when there is) */
  const char *split;    /* the split loaded, NULL for the whole file */
  dnacl_seqset set;
  int have_data;
  float *logits;        /* n x tasks */
  char summary[1024];
} report;

/* ---- small helpers ------------------------------------------------------------------ */

static void hp(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hp(report *r, const char *fmt, ...) {
  char small[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    dnacl_svg_printf(&r->h, "%s", small);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    r->h.oom = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  dnacl_svg_printf(&r->h, "%s", big);
  free(big);
}

static void esc(report *r, const char *s) { dnacl_svg_escaped(&r->h, s ? s : ""); }

/* A number for a table cell: fixed decimals, an en dash for NaN (a task with one class has
 * no AUROC; "nan" would read as a bug to a reader of a report). */
static void num(report *r, double v, int decimals) {
  if (isfinite(v)) hp(r, "%.*f", decimals, v);
  else hp(r, "–");
}

/* p- and E-values span many orders of magnitude: two significant digits, scientific below
 * 1e-3, as TomTom's HTML output prints them. */
static void fmt_pval(double v, char *buf, size_t n) {
  if (!isfinite(v)) snprintf(buf, n, "–");
  else if (v != 0 && fabs(v) < 1e-3) snprintf(buf, n, "%.1e", v);
  else snprintf(buf, n, "%.2g", v);
}

static void note(report *r, const char *what, const char *why) {
  r->missing++;
  hp(r, "<p class=\"na\"><strong>%s</strong> ", what);
  esc(r, why);
  hp(r, "</p>\n");
}

static const char *cfg_get(const report *r, const char *key) {
  for (int i = 0; i < r->n_cfg; i++)
    if (!strcmp(r->cfg[i].key, key)) return r->cfg[i].val;
  return NULL;
}

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
static dnacl_status read_text(const char *path, size_t max, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  dnacl_status s = buf ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", path);
  while (s == DNACL_OK) {
    if (n + 1 >= cap) {
      char *b = cap > max ? NULL : realloc(buf, cap * 2);
      if (!b) {
        s = cap > max ? dnacl_fail(DNACL_ERR_IO, "%s: larger than %zu bytes", path, max)
                      : dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", path);
        break;
      }
      buf = b;
      cap *= 2;
    }
    size_t k = fread(buf + n, 1, cap - 1 - n, f);
    n += k;
    if (k == 0) {
      if (ferror(f)) s = dnacl_fail(DNACL_ERR_IO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (s != DNACL_OK) {
    free(buf);
    return s;
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return DNACL_OK;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* RUN/config.tsv as key/value pairs in file order (a run without one has none). */
static dnacl_status read_config(report *r) {
  char path[4200], *text;
  size_t len;
  snprintf(path, sizeof path, "%s/config.tsv", r->o->run_dir);
  if (!file_exists(path)) return DNACL_OK;
  DNACL_TRY(read_text(path, 1 << 20, &text, &len));
  dnacl_status s = DNACL_OK;
  for (char *line = text, *next; s == DNACL_OK && line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    line[strcspn(line, "\r")] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    kv *c = realloc(r->cfg, (size_t)(r->n_cfg + 1) * sizeof *c);
    if (!c) {
      s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      break;
    }
    r->cfg = c;
    c[r->n_cfg].key = strdup(line);
    c[r->n_cfg].val = strdup(tab + 1);
    r->n_cfg++;
    if (!c[r->n_cfg - 1].key || !c[r->n_cfg - 1].val) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  free(text);
  return s;
}

/* ---- inline SVG ----------------------------------------------------------------------- */

/* Copy an SVG document into the page: the XML declaration dropped (HTML has none inside),
 * the root's fixed width and height replaced by CSS (width 100% of the column up to the
 * drawn size, height from the viewBox), so figures shrink with the window instead of
 * overflowing it, and every element id prefixed with a per-figure number, since all inline
 * SVGs share the page's id space (two charts' "dnacl-clip-0" would clip each other). */
static void inline_svg(report *r, const char *svg, const char *label) {
  const char *open = strstr(svg, "<svg");
  const char *end = open ? strchr(open, '>') : NULL;
  if (!end) return;
  double w = 0;
  const char *wa = strstr(open, " width=\"");
  if (wa && wa < end) w = strtod(wa + 8, NULL);
  int uid = r->n_inline++;
  hp(r, "<svg");
  /* The root's attributes except width and height. */
  for (const char *p = open + 4; p < end;) {
    while (p < end && *p == ' ') p++;
    const char *q = p;
    while (q < end && *q != '=' && *q != ' ' && *q != '/') q++;
    if (q < end && *q == '=' && q[1] == '"') {
      const char *close = memchr(q + 2, '"', (size_t)(end - q - 2));
      if (!close) break;
      int skip = (q - p == 5 && !strncmp(p, "width", 5)) || (q - p == 6 && !strncmp(p, "height", 6));
      if (!skip) hp(r, " %.*s", (int)(close + 1 - p), p);
      p = close + 1;
    } else {
      if (q > p && !(q - p == 1 && *p == '/')) hp(r, " %.*s", (int)(q - p), p);
      p = q + (q < end);
    }
  }
  hp(r, " role=\"img\" aria-label=\"");
  esc(r, label);
  hp(r, "\"");
  if (w > 0) hp(r, " style=\"max-width:%.0fpx\"", w);
  hp(r, ">");
  const char *body = end + 1, *stop = strstr(body, "</svg>");
  if (!stop) stop = body + strlen(body);
  static const char *const tag = "dnacl-clip-";
  const size_t tl = strlen(tag);
  for (const char *p = body; p < stop;) {
    const char *hit = strstr(p, tag);
    if (!hit || hit >= stop) {
      dnacl_svg_printf(&r->h, "%.*s", (int)(stop - p), p);
      break;
    }
    dnacl_svg_printf(&r->h, "%.*s%sf%d-", (int)(hit - p), p, tag, uid);
    p = hit + tl;
  }
  hp(r, "</svg>");
}

/* Close an in-memory document and inline it. */
static dnacl_status inline_doc(report *r, dnacl_svg *s, const char *label) {
  if (!s->closed) {
    dnacl_svg_printf(s, "</svg>\n");
    s->closed = 1;
  }
  if (s->oom) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory drawing %s", label);
  inline_svg(r, s->buf, label);
  return DNACL_OK;
}

/* A figure: the SVG and a numbered caption (HTML, trusted: built by this file). */
static void fig_open(report *r, const char *cls) { hp(r, "<figure%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : ""); }
static void fig_caption(report *r, const char *html) {
  hp(r, "<figcaption><span class=\"fn\">Figure %d.</span> %s</figcaption></figure>\n", ++r->n_fig, html);
}

/* ---- 1. summary --------------------------------------------------------------------- */

static const char *dims_str(const int *d, int from, int nd, char *buf, size_t n) {
  size_t u = (size_t)snprintf(buf, n, "(");
  for (int k = from; k < nd && u < n; k++) u += (size_t)snprintf(buf + u, n - u, "%s%d", k > from ? ", " : "", d[k]);
  if (u < n) snprintf(buf + u, n - u, ")");
  return buf;
}


/* The training step of the checkpoint, from its metadata; -1 when it does not say. */
static long checkpoint_step(const report *r) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.safetensors", r->o->run_dir, r->o->which ? r->o->which : "best");
  dnacl_safetensors f;
  if (dnacl_st_load(path, &f) != DNACL_OK) return -1;
  const char *s = dnacl_st_meta(&f, "dnacl.step");
  long v = s && *s ? strtol(s, NULL, 10) : -1;
  dnacl_st_free(&f);
  return v;
}

typedef struct metrics_log {
  double *step, *train_loss, *loss, *acc, *auroc, *aupr;
  int n;
} metrics_log;

static void metrics_log_free(metrics_log *g) {
  free(g->step);
  memset(g, 0, sizeof *g);
}

/* RUN/metrics.tsv (src/train/loop.c's columns: step epoch lr train_loss valid_loss
 * valid_accuracy valid_auroc valid_aupr). Missing: n = 0. */
static dnacl_status read_metrics(const report *r, metrics_log *g) {
  memset(g, 0, sizeof *g);
  char path[4200], *text;
  size_t len;
  snprintf(path, sizeof path, "%s/metrics.tsv", r->o->run_dir);
  if (!file_exists(path)) return DNACL_OK;
  DNACL_TRY(read_text(path, 64 << 20, &text, &len));
  int lines = 1;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  g->step = malloc((size_t)lines * 6 * sizeof *g->step);
  if (!g->step) {
    free(text);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  g->train_loss = g->step + lines, g->loss = g->step + 2 * lines, g->acc = g->step + 3 * lines;
  g->auroc = g->step + 4 * lines, g->aupr = g->step + 5 * lines;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    double v[8];
    int epoch;
    /* %lf reads "nan" too: AUROC of a single-class validation set. */
    if (sscanf(line, "%lf\t%d\t%lf\t%lf\t%lf\t%lf\t%lf\t%lf", &v[0], &epoch, &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
      int i = g->n++;
      g->step[i] = v[0], g->train_loss[i] = v[3], g->loss[i] = v[4], g->acc[i] = v[5], g->auroc[i] = v[6],
      g->aupr[i] = v[7];
    }
  }
  free(text);
  return DNACL_OK;
}

static void section_summary(report *r, const metrics_log *g) {
  dnacl_model *m = r->m;
  char a[128], b[128];
  hp(r, "<section id=\"summary\">\n<h2>1. Run summary</h2>\n<dl class=\"facts\">\n");
  hp(r, "<dt>Model</dt><dd><strong>");
  esc(r, m->spec.name);
  hp(r, "</strong>");
  if (m->spec.description) {
    hp(r, " — ");
    esc(r, m->spec.description);
  }
  hp(r, "</dd>\n<dt>Input</dt><dd>one-hot DNA %s (channels A, C, G, T × positions); %d output%s (logit%s)</dd>\n",
     dims_str(m->shapes[0].d, 1, m->shapes[0].ndim, a, sizeof a), m->spec.tasks, m->spec.tasks == 1 ? "" : "s",
     m->spec.tasks == 1 ? "" : "s");
  size_t total = dnacl_model_param_count(m, 0), trainable = dnacl_model_param_count(m, 1);
  hp(r, "<dt>Parameters</dt><dd>%s trainable", dnacl_count_str(trainable, a, sizeof a));
  if (total > trainable) hp(r, ", %s non-trainable (batch-norm running statistics)", dnacl_count_str(total - trainable, b, sizeof b));
  hp(r, "</dd>\n<dt>Checkpoint</dt><dd>");
  esc(r, r->o->run_dir);
  hp(r, "/%s.safetensors", r->o->which ? r->o->which : "best");
  long step = checkpoint_step(r);
  if (step >= 0) hp(r, ", saved at step %ld", step);
  hp(r, "</dd>\n");
  /* The best validation value of the monitored metric, as training chose the checkpoint. */
  const char *mon = cfg_get(r, "monitor");
  int aupr = mon && !strcmp(mon, "aupr");
  int best = -1;
  for (int i = 0; i < g->n; i++) {
    double v = aupr ? g->aupr[i] : g->auroc[i];
    if (isfinite(v) && (best < 0 || v > (aupr ? g->aupr[best] : g->auroc[best]))) best = i;
  }
  if (best >= 0)
    hp(r, "<dt>Best validation</dt><dd>%s %.4f at step %.0f (%d evaluation%s logged)</dd>\n", aupr ? "AUPR" : "AUROC",
       aupr ? g->aupr[best] : g->auroc[best], g->step[best], g->n, g->n == 1 ? "" : "s");
  const char *dev = cfg_get(r, "device");
  hp(r, "<dt>Trained on</dt><dd>");
  esc(r, dev ? dev : "(not recorded)");
  hp(r, "</dd>\n<dt>Report computed on</dt><dd>");
  esc(r, dnacl_ctx_device(r->ctx)->name);
  hp(r, " (");
  esc(r, dnacl_ctx_device(r->ctx)->platform);
  hp(r, ")</dd>\n</dl>\n");

  /* The layers, as `dnacl model show` prints them. */
  hp(r, "<h3>Layers</h3>\n<table class=\"layers\">\n<thead><tr><th class=\"num\">#</th><th>layer</th><th>kind</th>"
        "<th>output shape</th><th class=\"num\">parameters</th><th>parameter shapes (dnacl/PyTorch layout)</th></tr></thead>\n<tbody>\n");
  for (int i = 0; i < m->n_nodes; i++) {
    const dnacl_node *nd = &m->nodes[i];
    const dnacl_layer *l = nd->layer;
    size_t np = 0;
    for (int k = 0; l && k < l->n_params; k++) np += l->params[k].value.n;
    const dnacl_shape *sh = &m->shapes[i + 1];
    hp(r, "<tr><td class=\"num\">%d</td><td>", i + 1);
    esc(r, m->spec.layers[i].name);
    hp(r, "</td><td>");
    esc(r, l ? l->ops->kind : dnacl_layer_kind_name(nd->kind));
    hp(r, "</td><td class=\"mono nw\">%s</td><td class=\"num\">%s</td><td class=\"mono\">", dims_str(sh->d, 1, sh->ndim, a, sizeof a),
       np ? dnacl_count_str(np, b, sizeof b) : "–");
    for (int k = 0; l && k < l->n_params; k++) {
      const dnacl_param *p = &l->params[k];
      /* A transformer block has a dozen parameters: the list wraps between them, never
       * inside one. */
      hp(r, "%s<span class=\"nw\">", k ? ", " : "");
      esc(r, p->name);
      hp(r, " %s%s</span>", dims_str(p->value.shape, 0, p->value.ndim, a, sizeof a), p->trainable ? "" : "*");
    }
    hp(r, "</td></tr>\n");
  }
  const dnacl_shape *o = &m->shapes[m->n_nodes];
  hp(r, "</tbody>\n<tfoot><tr><td></td><td colspan=\"2\">total</td><td class=\"mono\">%s logits</td><td class=\"num\">%s</td>"
        "<td>%s</td></tr></tfoot>\n</table>\n",
     dims_str(o->d, 1, o->ndim, a, sizeof a), dnacl_count_str(total, b, sizeof b),
     total > trainable ? "* not trained: running statistics" : "");

  hp(r, "<h3>Training settings</h3>\n");
  if (!r->n_cfg) {
    note(r, "No settings.", "The run has no config.tsv (a checkpoint copied on its own?).");
  } else {
    /* Three key/value pairs a row: 23 settings fit in eight short rows. */
    hp(r, "<table class=\"settings\">\n<tbody>\n");
    for (int i = 0; i < r->n_cfg; i += 3) {
      hp(r, "<tr>");
      for (int k = i; k < i + 3; k++) {
        if (k >= r->n_cfg) {
          hp(r, "<th></th><td></td>");
          continue;
        }
        hp(r, "<th>");
        esc(r, r->cfg[k].key);
        hp(r, "</th><td>");
        esc(r, r->cfg[k].val);
        hp(r, "</td>");
      }
      hp(r, "</tr>\n");
    }
    hp(r, "</tbody>\n</table>\n");
  }
  hp(r, "</section>\n");
}

/* ---- 2. learning curves --------------------------------------------------------------- */

/* Whether RUN/curves.svg is a figure dnacl's SVG writer made and holds nothing active: it
 * is copied into the page as it is, so anything that could run or fetch (a script, a link,
 * an embedded object, an entity declaration) sends us to redraw it from metrics.tsv. */
static int curves_svg_ok(const char *t) {
  static const char *const head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=";
  if (strncmp(t, head, strlen(head))) return 0;
  static const char *const bad[] = {"<script", "href", "<foreignObject", "<image", "<use", "<iframe", "<!", "<?xml-", "url(h",
                                    "javascript:", "@import", "<style"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (strstr(t, bad[i])) return 0;
  /* Event handlers (onload=...) need an attribute "on..." — dnacl writes none. */
  for (const char *p = strstr(t, " on"); p; p = strstr(p + 1, " on")) {
    const char *q = p + 3;
    while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')) q++;
    if (*q == '=') return 0;
  }
  return 1;
}

/* The figure of src/train/curves.c drawn in memory (same panels and colours). */
static dnacl_status draw_curves(report *r, const metrics_log *g) {
  const double W = 1000, H = 420, head = 34, pw = W / 2;
  double dot = g->n <= 60 ? 2.5 : 0;
  dnacl_series loss[2] = {{"train loss", dnacl_svg_palette(0), g->step, g->train_loss, (size_t)g->n, 0, 0},
                          {"valid loss", dnacl_svg_palette(1), g->step, g->loss, (size_t)g->n, 0, dot}};
  dnacl_series rank[2] = {{"valid AUROC", dnacl_svg_palette(2), g->step, g->auroc, (size_t)g->n, 0, dot},
                          {"valid AUPR", dnacl_svg_palette(3), g->step, g->aupr, (size_t)g->n, 1, dot}};
  dnacl_chart left = dnacl_chart_box(0, head, pw, H - head), right = dnacl_chart_box(pw, head, pw, H - head);
  left.title = "Loss", left.xlabel = "step", left.ylabel = "binary cross-entropy";
  right.title = "Validation AUROC and AUPR", right.xlabel = "step", right.ylabel = "score";
  dnacl_svg s;
  DNACL_TRY(dnacl_svg_begin(&s, W, H));
  dnacl_svg_text(&s, W / 2, 24, 16, "middle", 0, 1, "#111111", r->m->spec.name);
  dnacl_svg_line_chart(&s, &left, loss, 2);
  dnacl_svg_line_chart(&s, &right, rank, 2);
  dnacl_status st = inline_doc(r, &s, "learning curves");
  dnacl_svg_free(&s);
  return st;
}

static dnacl_status section_curves(report *r, const metrics_log *g) {
  hp(r, "<section id=\"curves\">\n<h2>2. Learning curves</h2>\n");
  char path[4200], *text = NULL;
  size_t len;
  snprintf(path, sizeof path, "%s/curves.svg", r->o->run_dir);
  int from_file = file_exists(path) && read_text(path, 16 << 20, &text, &len) == DNACL_OK && curves_svg_ok(text);
  dnacl_status s = DNACL_OK;
  if (!from_file && g->n == 0) {
    note(r, "No learning curves.", "The run directory has neither curves.svg nor metrics.tsv.");
  } else {
    fig_open(r, NULL);
    if (from_file) inline_svg(r, text, "learning curves");
    else s = draw_curves(r, g);
    char cap[1024], every[64] = "";
    const char *ev = cfg_get(r, "eval_every");
    if (ev && atol(ev) > 0) snprintf(every, sizeof every, " (every %ld steps)", atol(ev));
    snprintf(cap, sizeof cap,
             "Training and validation loss (left) and validation AUROC and AUPR (right) over training steps, one "
             "point per evaluation%s. The training loss is the mean over the steps since the previous evaluation. "
             "%s",
             every,
             from_file ? "From <code>curves.svg</code> in the run directory."
                       : "Redrawn from <code>metrics.tsv</code> (the run has no usable <code>curves.svg</code>).");
    fig_caption(r, cap);
  }
  free(text);
  hp(r, "</section>\n");
  return s;
}

/* ---- data ------------------------------------------------------------------------------ */

/* Load the sequences the later sections use. A file the user named that cannot be used is
 * an error; the file config.tsv names (training's) is only a default, so when it is gone
 * or does not fit, the page says so and the run's other sections are still written. */
static dnacl_status open_data(report *r) {
  const dnacl_report_opts *o = r->o;
  const char *path = o->data ? o->data : cfg_get(r, "data");
  int explicit = o->data != NULL;
  if (!path || !*path) {
    snprintf(r->data_note, sizeof r->data_note,
             "No data: none was given (dnacl report RUN --data FILE) and %s/config.tsv names none.", o->run_dir);
    return DNACL_OK;
  }
  r->data_path = path;
  dnacl_load_opts lo = dnacl_load_opts_default();
  lo.allow_unlabelled = 1;
  const char *v;
  if (o->n_value != DNACL_REPORT_FROM_RUN) lo.n_value = (float)o->n_value;
  else if ((v = cfg_get(r, "n_value"))) lo.n_value = (float)strtod(v, NULL);
  if (o->pad_to != DNACL_REPORT_FROM_RUN) lo.pad_to = o->pad_to;
  else if ((v = cfg_get(r, "pad_to"))) lo.pad_to = atoi(v);
  if (o->crop_to != DNACL_REPORT_FROM_RUN) lo.crop_to = o->crop_to;
  else if ((v = cfg_get(r, "crop_to"))) lo.crop_to = atoi(v);
  int has = 0;
  dnacl_status s = DNACL_OK;
  if (o->split && !strcmp(o->split, "all")) {
    lo.split = NULL;
  } else if (o->split) {
    s = dnacl_seqset_has_split(path, o->split, &has);
    if (s == DNACL_OK && !has)
      return dnacl_fail(DNACL_ERR_ARG, "%s has no '%s' split (use --split all for the whole file)", path, o->split);
    lo.split = o->split;
  } else {
    s = dnacl_seqset_has_split(path, "test", &has);
    lo.split = has ? "test" : NULL;
  }
  if (s == DNACL_OK) s = dnacl_seqset_load(path, &lo, &r->set);
  if (s == DNACL_OK && r->set.n == 0) s = dnacl_fail(DNACL_ERR_ARG, "%s has no sequences", path);
  if (s == DNACL_OK && r->set.length != r->m->length)
    s = dnacl_fail(DNACL_ERR_SHAPE,
                   "%s has sequences of length %d but the model takes length %d (crop/pad %d/%d; give --crop L or --pad L)",
                   path, r->set.length, r->m->length, lo.crop_to, lo.pad_to);
  if (s != DNACL_OK) {
    dnacl_seqset_free(&r->set);
    if (explicit) return s;
    snprintf(r->data_note, sizeof r->data_note,
             "No data: the file the run was trained on cannot be used (%s). Give the data with --data FILE.",
             dnacl_last_error());
    return DNACL_OK;
  }
  r->split = lo.split;
  r->have_data = 1;
  r->logits = malloc((size_t)r->set.n * r->m->spec.tasks * sizeof *r->logits);
  if (!r->logits) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  return dnacl_predict_logits(r->ctx, r->m, &r->set, r->o->batch > 0 ? r->o->batch : 256, r->logits);
}

/* "the 981 sequences (200 bp) of <code>FILE</code> (split test)", for running text. */
static void data_desc(report *r) {
  hp(r, "the %d sequences (%d bp) of <code>", r->set.n, r->set.length);
  esc(r, r->data_path);
  hp(r, "</code> (%s%s)", r->split ? "split " : "all splits", r->split ? r->split : "");
}

/* ---- 3. metrics -------------------------------------------------------------------------- */

typedef struct curve_pts {
  double *fpr, *tpr, *rec, *prec;
  size_t n;
} curve_pts;

static const float *g_sort_scores;
static int by_score_desc(const void *a, const void *b) {
  float u = g_sort_scores[*(const size_t *)a], v = g_sort_scores[*(const size_t *)b];
  return (u < v) - (u > v);
}

/* ROC and precision-recall points of one task at every distinct threshold (tied scores
 * move together, as sklearn's curves), thinned to about 500 points for the figure. */
static dnacl_status task_curves(const float *y, const float *logits, size_t n, int T, int t, curve_pts *c) {
  memset(c, 0, sizeof c[0]);
  size_t *ord = malloc(n * sizeof *ord);
  float *sc = malloc(n * sizeof *sc);
  double *pts = malloc((n + 1) * 4 * sizeof *pts);
  if (!ord || !sc || !pts) {
    free(ord), free(sc), free(pts);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  double P = 0, N = 0;
  for (size_t i = 0; i < n; i++) {
    ord[i] = i;
    sc[i] = logits[i * T + t];
    P += y[i * T + t] > 0.5;
  }
  N = (double)n - P;
  g_sort_scores = sc;
  qsort(ord, n, sizeof *ord, by_score_desc);
  c->fpr = pts, c->tpr = pts + n + 1, c->rec = pts + 2 * (n + 1), c->prec = pts + 3 * (n + 1);
  size_t every = n > 500 ? n / 500 : 1, k = 0;
  double tp = 0, fp = 0;
  c->fpr[k] = 0, c->tpr[k] = 0, c->rec[k] = 0, c->prec[k] = 1, k++;
  for (size_t i = 0; i < n; i++) {
    if (y[ord[i] * T + t] > 0.5) tp++;
    else fp++;
    int last_of_tie = i + 1 == n || sc[ord[i + 1]] != sc[ord[i]];
    if (!last_of_tie || ((i + 1) % every && i + 1 != n)) continue;
    c->fpr[k] = N > 0 ? fp / N : NAN;
    c->tpr[k] = P > 0 ? tp / P : NAN;
    c->rec[k] = c->tpr[k];
    c->prec[k] = tp / (tp + fp);
    k++;
  }
  c->n = k;
  free(ord);
  free(sc);
  return DNACL_OK;
}

static dnacl_status draw_roc_pr(report *r, const dnacl_task_metrics *per) {
  int T = r->set.n_tasks, shown = T < 10 ? T : 10;
  curve_pts *c = calloc((size_t)shown, sizeof *c);
  dnacl_series *roc = calloc((size_t)shown + 1, sizeof *roc), *pr = calloc((size_t)shown + 1, sizeof *pr);
  char (*names)[2][96] = calloc((size_t)shown, sizeof *names);
  dnacl_status s = c && roc && pr && names ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  for (int t = 0; s == DNACL_OK && t < shown; t++) {
    s = task_curves(r->set.y, r->logits, (size_t)r->set.n, T, t, &c[t]);
    snprintf(names[t][0], sizeof names[t][0], "%.40s (AUROC %.3f)", T == 1 ? "model" : r->set.task_names[t], per[t].auroc);
    snprintf(names[t][1], sizeof names[t][1], "%.40s (AUPR %.3f)", T == 1 ? "model" : r->set.task_names[t], per[t].aupr);
    roc[t] = (dnacl_series){names[t][0], dnacl_svg_palette(t), c[t].fpr, c[t].tpr, c[t].n, 0, 0};
    pr[t] = (dnacl_series){names[t][1], dnacl_svg_palette(t), c[t].rec, c[t].prec, c[t].n, 0, 0};
  }
  /* Chance: the diagonal for ROC, the positive fraction for PR (of the first task). */
  static const double diag[2] = {0, 1};
  double base = per[0].n ? (double)per[0].n_pos / (double)per[0].n : NAN, flat[2] = {base, base};
  roc[shown] = (dnacl_series){"chance", "#999999", diag, diag, 2, 1, 0};
  pr[shown] = (dnacl_series){"chance (positive fraction)", "#999999", diag, flat, 2, 1, 0};
  if (s == DNACL_OK) {
    const double W = 920, H = 420, pw = W / 2;
    dnacl_chart a = dnacl_chart_box(0, 0, pw, H), b = dnacl_chart_box(pw, 0, pw, H);
    a.title = "ROC", a.xlabel = "false positive rate", a.ylabel = "true positive rate";
    b.title = "Precision-recall", b.xlabel = "recall", b.ylabel = "precision";
    a.xmin = a.ymin = b.xmin = b.ymin = 0;
    a.xmax = a.ymax = b.xmax = b.ymax = 1;
    a.legend = DNACL_LEGEND_BOTTOM_RIGHT;
    b.legend = DNACL_LEGEND_BOTTOM_LEFT;
    dnacl_svg sv;
    s = dnacl_svg_begin(&sv, W, H);
    if (s == DNACL_OK) {
      dnacl_svg_line_chart(&sv, &a, roc, shown + 1);
      dnacl_svg_line_chart(&sv, &b, pr, shown + 1);
      s = inline_doc(r, &sv, "ROC and precision-recall curves");
      dnacl_svg_free(&sv);
    }
  }
  for (int t = 0; c && t < shown; t++) free(c[t].fpr);
  free(c), free(roc), free(pr), free(names);
  return s;
}

static dnacl_status section_metrics(report *r) {
  /* Named after the split it was computed on when that is not the test split. */
  hp(r, "<section id=\"metrics\">\n<h2>3. Test metrics");
  if (r->have_data && (!r->split || strcmp(r->split, "test"))) hp(r, " (%s%s)", r->split ? "split " : "all splits", r->split ? r->split : "");
  hp(r, "</h2>\n");
  dnacl_status s = DNACL_OK;
  int T = r->m->spec.tasks;
  if (!r->have_data) {
    note(r, "No metrics.", r->data_note);
  } else if (r->set.n_tasks == 0) {
    note(r, "No metrics.", "The data has no labels, so there is nothing to score the predictions against.");
  } else if (r->set.n_tasks != T) {
    char why[512];
    snprintf(why, sizeof why, "The data has %d label column(s) but the model predicts %d task(s).", r->set.n_tasks, T);
    note(r, "No metrics.", why);
  } else {
    dnacl_task_metrics *per = calloc((size_t)T, sizeof *per), sum;
    s = per ? dnacl_metrics_tasks(r->set.y, r->logits, (size_t)r->set.n, T, per, &sum)
            : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    if (s == DNACL_OK) {
      hp(r, "<p>Predictions of the checkpoint on ");
      data_desc(r);
      hp(r, ".</p>\n<table class=\"metrics\">\n<thead><tr><th>task</th><th class=\"num\">sequences</th>"
            "<th class=\"num\">positives</th><th class=\"num\">loss</th><th class=\"num\">accuracy</th>"
            "<th class=\"num\">AUROC</th><th class=\"num\">AUPR</th></tr></thead>\n<tbody>\n");
      for (int t = 0; t <= T; t++) {
        if (t == T && T == 1) break; /* the mean of one task is that task */
        const dnacl_task_metrics *x = t < T ? &per[t] : &sum;
        hp(r, "%s<tr%s><td>", t == T ? "</tbody>\n<tfoot>" : "", t == T ? " class=\"mean\"" : "");
        if (t < T) esc(r, r->set.task_names[t]);
        else hp(r, "mean over tasks");
        hp(r, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">", x->n, x->n_pos);
        num(r, x->loss, 4);
        hp(r, "</td><td class=\"num\">");
        num(r, x->accuracy, 4);
        hp(r, "</td><td class=\"num\">");
        num(r, x->auroc, 4);
        hp(r, "</td><td class=\"num\">");
        num(r, x->aupr, 4);
        hp(r, "</td></tr>\n%s", t == T ? "</tfoot>\n" : "");
      }
      hp(r, "%s</table>\n<p class=\"caption\">Loss: mean binary cross-entropy of the logits. Accuracy: predicted "
            "probability &gt; 0.5 against the label. AUROC: area under the ROC curve; AUPR: average precision "
            "(both as scikit-learn computes them). A task whose labels are all one class has no AUROC or AUPR (–).</p>\n",
         T == 1 ? "</tbody>\n" : "");
      fig_open(r, NULL);
      s = draw_roc_pr(r, per);
      char cap[512];
      snprintf(cap, sizeof cap,
               "ROC (left) and precision-recall (right) curves on the same sequences%s; dashed grey: a classifier "
               "that guesses.",
               T > 10 ? " (the first 10 tasks)" : "");
      fig_caption(r, cap);
    }
    free(per);
  }
  hp(r, "</section>\n");
  return s;
}

/* ---- 4. filters -------------------------------------------------------------------------- */

typedef struct filter_card {
  int motif;             /* index into the filter motifs */
  int has_hit;
  dnacl_tomtom_hit hit;
} filter_card;

static int by_evalue(const void *a, const void *b) {
  const filter_card *x = a, *y = b;
  if (x->has_hit != y->has_hit) return y->has_hit - x->has_hit;
  if (x->has_hit && x->hit.evalue != y->hit.evalue) return x->hit.evalue < y->hit.evalue ? -1 : 1;
  return x->motif - y->motif;
}

/* A filter's logo above its match's, aligned as the comparison placed them (the layout of
 * motif_logo.h's pair file, drawn into the page). Columns one motif lacks are zero
 * columns, which the logo draws empty. */
static int card_columns(const dnacl_motif *q, const dnacl_motif *t, const dnacl_tomtom_hit *h, int *first) {
  *first = 0;
  if (!t) return q->width;
  *first = h->offset < 0 ? h->offset : 0;
  int last = h->offset + t->width > q->width ? h->offset + t->width : q->width;
  return last - *first;
}

/* Every card is drawn n_cols columns wide (the widest pair; narrower ones get empty columns
 * on the right) at the size it is shown, so letters and labels have one scale across the
 * grid instead of each card shrinking by its own width. */
#define CARD_W 340.0
#define CARD_PANEL_H 120.0
static dnacl_status draw_filter_card(report *r, const dnacl_motif *q, const dnacl_motif *t, const dnacl_tomtom_hit *h,
                                     int n, const char *qt, const char *mt) {
  int first, offset = t ? h->offset : 0;
  int used = card_columns(q, t, h, &first);
  if (n < used) n = used;
  double *pq = calloc((size_t)n * 4, sizeof *pq), *pm = calloc((size_t)n * 4, sizeof *pm);
  double *rc = t ? malloc((size_t)t->width * 4 * sizeof *rc) : NULL;
  if (!pq || !pm || (t && !rc)) {
    free(pq), free(pm), free(rc);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  memcpy(pq + (size_t)(0 - first) * 4, q->p, (size_t)q->width * 4 * sizeof *pq);
  if (t) {
    if (h->strand > 0) memcpy(rc, t->p, (size_t)t->width * 4 * sizeof *rc);
    else dnacl_motif_revcomp(t->p, t->width, rc);
    memcpy(pm + (size_t)(offset - first) * 4, rc, (size_t)t->width * 4 * sizeof *pm);
  }
  double w = CARD_W, ph = CARD_PANEL_H;
  dnacl_svg s;
  dnacl_status st = dnacl_svg_begin(&s, w, t ? 2 * ph : ph);
  if (st == DNACL_OK) {
    dnacl_motif_logo_draw(&s, 0, 0, w, ph, pq, n, qt);
    if (t) dnacl_motif_logo_draw(&s, 0, ph, w, ph, pm, n, mt);
    st = inline_doc(r, &s, qt);
    dnacl_svg_free(&s);
  }
  free(pq), free(pm), free(rc);
  return st;
}

static dnacl_status section_filters(report *r, const dnacl_motif_set *db, const char *db_path, const char *db_note) {
  hp(r, "<section id=\"filters\">\n<h2>4. First-layer filters</h2>\n");
  if (!r->have_data) {
    note(r, "No filter motifs.", r->data_note);
    hp(r, "</section>\n");
    return DNACL_OK;
  }
  dnacl_filter_layer fl;
  if (dnacl_filter_layer_find(r->m, &fl) != DNACL_OK) {
    note(r, "No filter motifs.", dnacl_last_error());
    hp(r, "</section>\n");
    return DNACL_OK;
  }
  dnacl_filter_counts cnt;
  memset(&cnt, 0, sizeof cnt);
  dnacl_motif_set motifs;
  dnacl_motif_set_init(&motifs);
  dnacl_tomtom_db *tdb = NULL;
  dnacl_tomtom_hit *hits = NULL;
  filter_card *cards = NULL;
  dnacl_status s = dnacl_filter_align(r->ctx, r->m, r->set.x, r->set.n, FILTER_THRESHOLD, r->o->batch > 0 ? r->o->batch : 128, &cnt);
  if (s == DNACL_OK) s = dnacl_filter_motifs(&cnt, FILTER_PSEUDOCOUNT, &motifs);
  if (s == DNACL_OK && db) {
    dnacl_tomtom_opts to = dnacl_tomtom_defaults();
    to.both_strands = db->strands == 2;
    s = dnacl_tomtom_db_new(db, &to, &tdb);
    hits = s == DNACL_OK ? malloc((size_t)db->n * sizeof *hits) : NULL;
    if (s == DNACL_OK && !hits) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  cards = s == DNACL_OK ? calloc((size_t)(motifs.n ? motifs.n : 1), sizeof *cards) : NULL;
  if (s == DNACL_OK && !cards) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  int sig = 0;
  for (int k = 0; s == DNACL_OK && k < motifs.n; k++) {
    cards[k].motif = k;
    if (!tdb) continue;
    int b;
    s = dnacl_tomtom_query(tdb, motifs.motifs[k].p, motifs.motifs[k].width, hits, &b);
    if (s == DNACL_OK) cards[k].hit = hits[b], cards[k].has_hit = 1, sig += hits[b].evalue < MATCH_E;
  }
  if (s != DNACL_OK) goto done;
  qsort(cards, (size_t)motifs.n, sizeof *cards, by_evalue);

  const char *conv = r->m->spec.layers[0].name, *map = r->m->spec.layers[fl.map_node].name;
  hp(r, "<p>The %d filters of <code>", fl.n_filters);
  esc(r, conv);
  hp(r, "</code> (width %d%s) as motifs: wherever a filter's activation (the output of <code>", fl.kernel,
     fl.dilation > 1 ? ", dilated" : "");
  esc(r, map);
  hp(r, "</code>) exceeds %.1f × its largest activation over ", FILTER_THRESHOLD);
  data_desc(r);
  hp(r, ", the %d bp the filter saw there are counted into a position frequency matrix (Koo &amp; Ploenzke 2021). "
        "<strong>%d of %d</strong> filters have such sites",
     fl.kernel, motifs.n, fl.n_filters);
  if (tdb) {
    hp(r, "; <strong>%d</strong> match a motif of <code>", sig);
    esc(r, db_path);
    hp(r, "</code> (%d motifs) with E &lt; %g.</p>\n", db->n, MATCH_E);
  } else {
    hp(r, ".</p>\n");
    note(r, "No database matches.", db_note);
  }
  if (motifs.n == 0) {
    note(r, "No filter logos.", "No filter reaches half its maximum activation anywhere in these sequences.");
    goto done;
  }
  int n_cols = 0;
  for (int c = 0; c < motifs.n; c++) {
    int first, k = card_columns(&motifs.motifs[cards[c].motif], cards[c].has_hit ? &db->motifs[cards[c].hit.target] : NULL,
                                &cards[c].hit, &first);
    if (k > n_cols) n_cols = k;
  }
  /* The caption goes above the grid: the grid is pages long, and a reader should know what
   * the two logos of a card are before reaching the first one. */
  {
    char cap[1024];
    snprintf(cap, sizeof cap,
             "The filters with sites, %s. Logos in bits (information content against a uniform background)%s "
             "Filters without any site are not shown.",
             tdb ? "most significant match first" : "in filter order",
             tdb ? "; under each filter, its best database match in the orientation and at the offset that matched "
                   "(TomTom-style comparison: Pearson correlation of columns, p-value of the best alignment corrected "
                   "for the alignments tried, E = p × the number of database motifs; E ≥ 0.1 is marked not significant)."
                 : ".");
    hp(r, "<p class=\"caption\"><span class=\"fn\">Figure %d.</span> %s</p>\n", ++r->n_fig, cap);
  }
  hp(r, "<div class=\"cards\">\n");
  for (int c = 0; s == DNACL_OK && c < motifs.n; c++) {
    const filter_card *fc = &cards[c];
    const dnacl_motif *q = &motifs.motifs[fc->motif];
    const dnacl_motif *t = fc->has_hit ? &db->motifs[fc->hit.target] : NULL;
    double bits = 0;
    for (int i = 0; i < q->width; i++) bits += dnacl_motif_column_ic(q->p, i);
    char qt[128], mt[300], pv[32], ev[32];
    snprintf(qt, sizeof qt, "%.40s", q->id);
    /* 13 px bold titles: about 40 characters fit a card. */
    if (t) snprintf(mt, sizeof mt, "%.14s %.20s (%c)", t->id, t->name ? t->name : "", fc->hit.strand > 0 ? '+' : '-');
    int weak = t && !(fc->hit.evalue < MATCH_E);
    hp(r, "<figure class=\"card%s\">", weak ? " weak" : "");
    s = draw_filter_card(r, q, t, t ? &fc->hit : NULL, n_cols, qt, t ? mt : NULL);
    hp(r, "<figcaption><strong>");
    esc(r, q->id);
    hp(r, "</strong> · %.0f sites · %.1f bits", q->nsites, bits);
    if (t) {
      fmt_pval(fc->hit.pvalue, pv, sizeof pv);
      fmt_pval(fc->hit.evalue, ev, sizeof ev);
      hp(r, "<br>best match <strong>");
      esc(r, t->id);
      hp(r, " ");
      esc(r, t->name ? t->name : "");
      hp(r, "</strong> (%s strand, %d columns overlap)<br>p = %s, E = %s%s", fc->hit.strand > 0 ? "+" : "−",
         fc->hit.overlap, pv, ev, weak ? " <span class=\"ns\">not significant</span>" : "");
    }
    hp(r, "</figcaption></figure>\n");
  }
  hp(r, "</div>\n");
done:
  dnacl_filter_counts_free(&cnt);
  dnacl_motif_set_free(&motifs);
  dnacl_tomtom_db_free(tdb);
  free(hits);
  free(cards);
  hp(r, "</section>\n");
  return s;
}

/* ---- 5. attributions --------------------------------------------------------------------- */

static int g_top_T;
static const float *g_top_logits;
static int by_logit_desc(const void *a, const void *b) {
  int i = *(const int *)a, j = *(const int *)b;
  float u = g_top_logits[(size_t)i * g_top_T], v = g_top_logits[(size_t)j * g_top_T];
  if (u != v) return u > v ? -1 : 1;
  return (i > j) - (i < j);
}

static dnacl_status explain_rows(report *r, method meth, const float *x, const int *idx, int k, float *out, double *worst) {
  dnacl_explain_opts xo;
  memset(&xo, 0, sizeof xo);
  xo.target = 0;
  xo.output = DNACL_EXPLAIN_LOGIT;
  xo.batch = r->o->batch > 0 && r->o->batch < 64 ? r->o->batch : 64;
  /* Gradients get the correction of Majdandzic et al. (off-simplex noise removed); the
   * DeepLIFT/SHAP contributions are left as the method defines them. */
  xo.correct = meth == M_SALIENCY || meth == M_GXI || meth == M_IG;
  const int L = r->m->length;
  const size_t row = (size_t)4 * L;
  double w = 0;
  dnacl_status s = DNACL_OK;
  switch (meth) {
    case M_SALIENCY:
    case M_GXI:
      /* Saliency is drawn times the input (the letter of the sequence scaled by its
       * gradient), as the chapter's saliency maps: the raw gradient of every base would
       * cover the logo with letters that are not in the sequence. */
      return dnacl_saliency(r->ctx, r->m, x, k, &xo, 1, out);
    case M_IG: {
      float *zeros = calloc((size_t)k * row, sizeof *zeros);
      if (!zeros) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      s = dnacl_integrated_gradients(r->ctx, r->m, x, zeros, k, &xo, IG_STEPS, DNACL_QUAD_RIEMANN, out, NULL, &w);
      free(zeros);
      break;
    }
    case M_DEEPLIFT: {
      float *ref = malloc((size_t)k * row * sizeof *ref);
      if (!ref) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      for (int i = 0; s == DNACL_OK && i < k; i++)
        s = dnacl_dinuc_shuffle_onehot(x + i * row, L, dnacl_seed_mix(EXPLAIN_SEED, (uint64_t)idx[i], 0xD1), ref + i * row);
      if (s == DNACL_OK) s = dnacl_deeplift(r->ctx, r->m, x, k, ref, 1, &xo, 0, out, NULL, &w);
      free(ref);
      break;
    }
    case M_DEEPSHAP: {
      uint64_t seeds[CHUNK];
      for (int i = 0; i < k; i++) seeds[i] = dnacl_seed_mix(EXPLAIN_SEED, (uint64_t)idx[i], 0x5A);
      s = dnacl_deepshap(r->ctx, r->m, x, k, SHAP_REFS, seeds, &xo, 0, out, NULL, &w);
      break;
    }
    case M_ISM:
      return dnacl_ism(r->ctx, r->m, x, k, 0, DNACL_EXPLAIN_LOGIT, 1, out, NULL);
    case M_NONE:
      break;
  }
  if (s == DNACL_OK && w > *worst) *worst = w;
  /* DeepLIFT's contributions m * (x - ref) also land on the reference's bases (with the
   * opposite sign), so a logo of them stacks letters the sequence does not have. Each
   * position's total goes onto the observed base instead: the contribution map projected
   * onto the sequence (hypothetical contributions x input, explain.h), with the same sum. */
  if (s == DNACL_OK && (meth == M_DEEPLIFT || meth == M_DEEPSHAP))
    for (int i = 0; i < k; i++)
      for (int p = 0; p < L; p++) {
        float *a = out + i * row + p;
        const float *xi = x + i * row + p;
        float tot = a[0] + a[L] + a[2 * L] + a[3 * L];
        for (int c = 0; c < 4; c++) a[(size_t)c * L] = tot * xi[(size_t)c * L];
      }
  return s;
}

/* The start of the ZOOM-wide window with the largest summed |attribution|. */
static int zoom_start(const float *a, int L, int win) {
  if (win >= L) return 0;
  double *col = malloc((size_t)L * sizeof *col);
  if (!col) return 0;
  for (int p = 0; p < L; p++) {
    col[p] = 0;
    for (int c = 0; c < 4; c++) col[p] += isfinite(a[(size_t)c * L + p]) ? fabs(a[(size_t)c * L + p]) : 0;
  }
  double sum = 0, best = -1;
  int at = 0;
  for (int p = 0; p < L; p++) {
    sum += col[p];
    if (p >= win) sum -= col[p - win];
    if (p >= win - 1 && sum > best) best = sum, at = p - win + 1;
  }
  free(col);
  return at;
}

static dnacl_status draw_attribution(report *r, method meth, const float *a, const float *x, const char *label, int *zoom_at) {
  const int L = r->m->length, win = L < ZOOM ? L : ZOOM, z0 = zoom_start(a, L, win);
  const double W = 1000, h1 = meth == M_ISM ? 150 : 170, h2 = meth == M_ISM ? 150 : 190;
  *zoom_at = z0;
  char t1[128], t2[128];
  snprintf(t1, sizeof t1, "whole sequence (%d bp)", L);
  snprintf(t2, sizeof t2, "zoom: positions %d–%d", z0 + 1, z0 + win);
  const char *ylabel = meth == M_ISM ? "change of logit" : meth == M_SALIENCY ? "gradient × input" : "contribution";
  dnacl_logo_style full = {t1, ylabel, 0, 0, 0}, zoom = {t2, ylabel, z0, win, 0};
  /* Where the zoomed window lies in the whole-sequence panel. The plot box inside a panel
   * is the panel less the margins src/explain/logo.c draws with (title 22 px, axis 30 px
   * below; logos 56 px left and 10 right, heatmaps 24 and 78). */
  const double top = 22, bottom = 30, left = meth == M_ISM ? 24 : 56, right = meth == M_ISM ? 78 : 10;
  const double cw = (W - left - right) / L, hx = left + z0 * cw, hw = win * cw, hh = h1 - top - bottom;
  dnacl_svg s;
  DNACL_TRY(dnacl_svg_begin(&s, W, h1 + h2));
  if (meth == M_ISM) {
    dnacl_ism_heatmap_draw(&s, 0, 0, W, h1, a, x, L, &full);
    /* Heatmap cells fill the box, so the window is outlined on top of them. */
    if (win < L) dnacl_svg_rect(&s, hx, top, hw, hh, NULL, "#e0a100");
    dnacl_ism_heatmap_draw(&s, 0, h1, W, h2, a, x, L, &zoom);
  } else {
    /* Logos leave the background free: the window is shaded behind the letters. */
    if (win < L) dnacl_svg_rect(&s, hx, top, hw, hh, "#fff1c2", NULL);
    dnacl_logo_draw(&s, 0, 0, W, h1, a, L, &full);
    dnacl_logo_draw(&s, 0, h1, W, h2, a, L, &zoom);
  }
  dnacl_status st = inline_doc(r, &s, label);
  dnacl_svg_free(&s);
  return st;
}

static method method_of(const char *name) {
  for (int k = 0; k < (int)(sizeof method_names / sizeof *method_names); k++)
    if (!strcmp(name, method_names[k])) return (method)k;
  return M_NONE;
}

static dnacl_status section_attributions(report *r) {
  hp(r, "<section id=\"attributions\">\n<h2>5. Attributions of the top-scoring sequences</h2>\n");
  if (!r->have_data) {
    note(r, "No attributions.", r->data_note);
    hp(r, "</section>\n");
    return DNACL_OK;
  }
  method meth = r->o->method ? method_of(r->o->method) : M_DEEPSHAP;
  /* DeepLIFT/SHAP refuse models without a rule for every layer (transformer blocks): say so
   * in the page, quoting the refusal, and show corrected saliency, which every model has. */
  if ((meth == M_DEEPSHAP || meth == M_DEEPLIFT) && dnacl_deeplift_supported(r->m) != DNACL_OK) {
    char why[2048];
    snprintf(why, sizeof why, "%s", dnacl_last_error());
    hp(r, "<p class=\"na\"><strong>%s is not available for this model.</strong> ", method_titles[meth]);
    esc(r, why);
    size_t wl = strlen(why);
    hp(r, "%s Showing saliency (with the gradient correction) instead.</p>\n", wl && why[wl - 1] != '.' ? "." : "");
    if (r->o->method) r->missing++; /* asked for and not given; the default falls back quietly */
    meth = M_SALIENCY;
  }
  const int L = r->m->length, T = r->m->spec.tasks, n = r->set.n;
  const int K = (r->o->top > 0 ? r->o->top : 5) < n ? (r->o->top > 0 ? r->o->top : 5) : n;
  const size_t row = (size_t)4 * L;
  int *idx = malloc((size_t)n * sizeof *idx);
  float *xs = malloc((size_t)CHUNK * row * sizeof *xs), *out = malloc((size_t)CHUNK * row * sizeof *out);
  dnacl_status s = idx && xs && out ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  double worst = 0;
  if (s == DNACL_OK) {
    for (int i = 0; i < n; i++) idx[i] = i;
    g_top_logits = r->logits, g_top_T = T;
    qsort(idx, (size_t)n, sizeof *idx, by_logit_desc);
    const char *task = r->set.n_tasks == T ? r->set.task_names[0] : "output 0";
    hp(r, "<p>Of ");
    data_desc(r);
    if (K == 1) hp(r, ", the one with the highest predicted probability of <strong>");
    else hp(r, ", the %d with the highest predicted probability of <strong>", K);
    esc(r, task);
    hp(r, "</strong>, explained by <strong>%s</strong> of the logit", method_titles[meth]);
    switch (meth) {
      case M_SALIENCY: hp(r, ": the gradient with respect to the one-hot input, corrected by subtracting its mean over the four bases at each position (Majdandzic, Rajesh &amp; Koo 2023), shown at the observed base (gradient × input)"); break;
      case M_GXI: hp(r, ": the corrected gradient (mean over the four bases removed at each position) times the input"); break;
      case M_IG: hp(r, ": %d midpoint steps from an all-zero baseline, on corrected gradients", IG_STEPS); break;
      case M_DEEPLIFT: hp(r, " (rescale rule) against one dinucleotide-shuffled copy of each sequence"); break;
      case M_DEEPSHAP: hp(r, ": DeepLIFT's rescale rule averaged over %d dinucleotide-shuffled copies of each sequence as references", SHAP_REFS); break;
      case M_ISM: hp(r, ": the change of the logit for every single-base substitution (red: up, blue: down; dots: the sequence)"); break;
      case M_NONE: break;
    }
    hp(r, ".%s Each figure shows the whole sequence and a zoom on the %d bp window with the largest total %s.</p>\n",
       meth == M_ISM ? "" : " Letters above the line raise the prediction, letters below lower it.", ZOOM,
       meth == M_ISM ? "effect" : "attribution");
  }
  for (int c0 = 0; s == DNACL_OK && c0 < K; c0 += CHUNK) {
    int k = K - c0 < CHUNK ? K - c0 : CHUNK;
    for (int i = 0; i < k; i++) memcpy(xs + i * row, r->set.x + (size_t)idx[c0 + i] * row, row * sizeof *xs);
    s = explain_rows(r, meth, xs, idx + c0, k, out, &worst);
    for (int i = 0; s == DNACL_OK && i < k; i++) {
      int j = idx[c0 + i];
      const float *a = out + i * row;
      double z = r->logits[(size_t)j * T];
      char label[256];
      int z0;
      snprintf(label, sizeof label, "attributions of %s", r->set.ids[j]);
      hp(r, "<h3 class=\"seq\">#%d &nbsp;<code>", c0 + i + 1);
      esc(r, r->set.ids[j]);
      hp(r, "</code> &nbsp;·&nbsp; predicted probability %.3f", 1.0 / (1.0 + exp(-z)));
      if (r->set.n_tasks == T) hp(r, " &nbsp;·&nbsp; label %g", (double)r->set.y[(size_t)j * T]);
      hp(r, "</h3>\n");
      fig_open(r, NULL);
      s = draw_attribution(r, meth, a, xs + i * row, label, &z0);
      if (s != DNACL_OK) break;
      hp(r, "<figcaption><span class=\"fn\">Figure %d.</span> %s of <code>", ++r->n_fig, method_titles[meth]);
      esc(r, r->set.ids[j]);
      hp(r, "</code>: the whole sequence (top%s) and <span class=\"nw\">positions %d–%d</span> (bottom).</figcaption></figure>\n",
         L > ZOOM ? (meth == M_ISM ? ", the zoomed window outlined" : ", the zoomed window shaded") : "", z0 + 1,
         z0 + (L < ZOOM ? L : ZOOM));
    }
  }
  /* The completeness check of IG and DeepLIFT/SHAP, stated with its cause when it is off,
   * as dnacl explain warns: a reader should not take approximate sums for exact ones. */
  if (s == DNACL_OK && (meth == M_DEEPSHAP || meth == M_DEEPLIFT || meth == M_IG)) {
    int pools = 0;
    for (int i = 0; i < r->m->n_nodes; i++) pools += r->m->nodes[i].layer && !strcmp(r->m->nodes[i].layer->ops->kind, "maxpool");
    hp(r, "<p class=\"caption\">Completeness: the worst |sum of attributions − (f(x) − f(%s))| over the sequences%s "
          "is %.3g",
       meth == M_IG ? "baseline" : "reference", meth == M_IG ? "" : " and references", worst);
    if (worst <= 1e-3) hp(r, ", i.e. the attributions add up to the change of the logit.</p>\n");
    else if (meth == M_IG) hp(r, ": more steps would make the sum closer to exact.</p>\n");
    else if (pools)
      hp(r, ": the model max-pools, and where a window's largest input differs between the sequence and a reference "
            "the multiplier follows the sequence's only, so the contributions are approximate there.</p>\n");
    else hp(r, ", which is unexpected for a model without max-pooling.</p>\n");
  }
  free(idx), free(xs), free(out);
  hp(r, "</section>\n");
  return s;
}

/* ---- the page ---------------------------------------------------------------------------- */

static const char *css =
    ":root{--ink:#1d2530;--muted:#5b6573;--rule:#d9dee5;--accent:#255c99;--soft:#f5f7fa}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#fff;color:var(--ink);font:15px/1.5 -apple-system,'Segoe UI',Roboto,'Helvetica Neue',"
    "Arial,'DejaVu Sans',sans-serif}\n"
    "main{max-width:1080px;margin:0 auto;padding:28px 32px 48px}\n"
    "header{border-bottom:2px solid var(--ink);padding-bottom:10px;margin-bottom:8px}\n"
    "h1{font-size:26px;margin:0 0 4px}\n"
    "h2{font-size:20px;margin:36px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--rule)}\n"
    "h3{font-size:16px;margin:22px 0 8px}\n"
    ".sub{color:var(--muted);margin:0}\n"
    "nav{font-size:14px;color:var(--muted);margin:10px 0 0}nav a{color:var(--accent);text-decoration:none;margin-right:14px}\n"
    "code,.mono{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}\n"
    "dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}\n"
    "table{border-collapse:collapse;margin:6px 0 10px;font-size:14px}\n"
    "th,td{padding:4px 10px;border-bottom:1px solid var(--rule);text-align:left;vertical-align:top}\n"
    "thead th{border-bottom:2px solid var(--ink);font-weight:600}\n"
    "tfoot td{border-top:2px solid var(--ink);border-bottom:none;font-weight:600}\n"
    ".num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "table.layers th:nth-child(4){white-space:nowrap}\n"
    "table.settings th{color:var(--muted);font-weight:normal;padding-right:6px}\n"
    "table.settings td{padding-right:28px;font-variant-numeric:tabular-nums}\n"
    "table.metrics{min-width:60%}\n"
    "figure{margin:14px 0 22px}\n"
    "figure svg{display:block;width:100%;height:auto}\n"
    "figcaption,.caption{font-size:13px;color:var(--muted);margin-top:6px}\n"
    ".fn{font-weight:600;color:var(--ink)}\n"
    "h3.seq{font-size:15px;font-weight:600;margin:26px 0 4px}\n"
    ".nw{white-space:nowrap}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(310px,1fr));gap:14px}\n"
    ".card{margin:0;padding:8px;border:1px solid var(--rule);border-radius:6px;background:#fff}\n"
    ".card figcaption{color:var(--ink)}\n"
    ".card.weak figcaption{color:var(--muted)}\n"
    ".ns{font-size:12px;background:#eef0f3;border-radius:3px;padding:0 5px}\n"
    ".na{background:#fff8e6;border-left:4px solid #e0a100;padding:8px 12px;margin:10px 0}\n"
    "footer{margin-top:40px;font-size:12px;color:var(--muted);border-top:1px solid var(--rule);padding-top:8px}\n"
    "@media print{main{max-width:none;padding:0}h2{break-after:avoid}figure,.card{break-inside:avoid}}\n";

static dnacl_status write_page(report *r, const char *path) {
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
  int bad = fwrite(r->h.buf, 1, r->h.len, f) != r->h.len;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return dnacl_fail(DNACL_ERR_IO, "cannot write %s: %s", path, strerror(e));
  }
  return DNACL_OK;
}

dnacl_status dnacl_report_write(dnacl_ctx *ctx, const dnacl_report_opts *o, dnacl_report_info *info) {
  if (!ctx || !o || !o->run_dir || !*o->run_dir) return dnacl_fail(DNACL_ERR_ARG, "report: a run directory is required");
  const char *which = o->which ? o->which : "best";
  if (!*which || strchr(which, '/') || strstr(which, ".."))
    return dnacl_fail(DNACL_ERR_ARG, "report: the checkpoint is best or last, got '%s'", which);
  method meth = o->method ? method_of(o->method) : M_DEEPSHAP;
  if (meth == M_NONE)
    return dnacl_fail(DNACL_ERR_ARG, "report: unknown method '%s' (saliency, gradxinput, ig, deeplift, deepshap, ism)",
                      o->method);
  char out[4096];
  int ol = o->out ? snprintf(out, sizeof out, "%s", o->out) : snprintf(out, sizeof out, "%s/report.html", o->run_dir);
  if (ol < 0 || (size_t)ol >= sizeof out) return dnacl_fail(DNACL_ERR_ARG, "report: the output path is too long");

  report r;
  memset(&r, 0, sizeof r);
  r.o = o;
  r.ctx = ctx;
  metrics_log g;
  memset(&g, 0, sizeof g);
  dnacl_motif_set db;
  dnacl_motif_set_init(&db);
  const char *db_path = NULL;
  char db_note[1024] = "";
  /* The database first: a bad file the user named should fail before any model runs. */
  dnacl_status s = DNACL_OK;
  if (o->db && !strcmp(o->db, "none")) {
    snprintf(db_note, sizeof db_note, "Matching against a motif database was switched off (--db none).");
  } else if (o->db) {
    db_path = o->db;
    s = dnacl_meme_load(o->db, &db);
  } else if (file_exists(DNACL_REPORT_DEFAULT_DB)) {
    db_path = DNACL_REPORT_DEFAULT_DB;
    s = dnacl_meme_load(db_path, &db);
  } else {
    snprintf(db_note, sizeof db_note,
             "No motif database: %s is not in the working directory; give one with --db FILE.meme.",
             DNACL_REPORT_DEFAULT_DB);
  }
  if (s == DNACL_OK) s = read_config(&r);
  if (s == DNACL_OK) s = dnacl_run_load(ctx, o->run_dir, which, &r.m);
  if (s == DNACL_OK) s = read_metrics(&r, &g);
  if (s == DNACL_OK) s = open_data(&r);
  if (s == DNACL_OK) {
    hp(&r, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>dnacl report: ");
    esc(&r, r.m->spec.name);
    hp(&r, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header>\n<h1>", css);
    esc(&r, r.m->spec.name);
    hp(&r, " — training report</h1>\n<p class=\"sub\">run <code>");
    esc(&r, o->run_dir);
    hp(&r, "</code>");
    if (r.have_data) {
      hp(&r, " · evaluated on ");
      data_desc(&r);
    }
    hp(&r, "</p>\n<nav><a href=\"#summary\">Summary</a><a href=\"#curves\">Learning curves</a>"
           "<a href=\"#metrics\">Test metrics</a><a href=\"#filters\">Filters</a>"
           "<a href=\"#attributions\">Attributions</a></nav>\n</header>\n");
    section_summary(&r, &g);
    s = section_curves(&r, &g);
  }
  if (s == DNACL_OK) s = section_metrics(&r);
  if (s == DNACL_OK) s = section_filters(&r, db_path ? &db : NULL, db_path, db_note);
  if (s == DNACL_OK) s = section_attributions(&r);
  if (s == DNACL_OK) {
    hp(&r, "<footer>Written by <code>dnacl report</code>. Every figure is inline SVG; the page needs no other file "
           "and no network.</footer>\n</main>\n</body>\n</html>\n");
    if (r.h.oom) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory writing the report");
  }
  if (s == DNACL_OK) s = write_page(&r, out);
  if (s == DNACL_OK && info) {
    memset(info, 0, sizeof *info);
    snprintf(info->path, sizeof info->path, "%s", out);
    info->bytes = r.h.len;
    info->sections_missing = r.missing;
    if (r.have_data)
      snprintf(info->summary, sizeof info->summary, "%d figure%s; data %s (%s, %d sequences)%s%s", r.n_fig,
               r.n_fig == 1 ? "" : "s", r.data_path,
               r.split ? r.split : "all", r.set.n, db_path ? "; motifs " : "", db_path ? db_path : "");
    else
      snprintf(info->summary, sizeof info->summary, "%d figure%s; %.900s", r.n_fig, r.n_fig == 1 ? "" : "s", r.data_note);
  }
  dnacl_svg_free(&r.h);
  for (int i = 0; i < r.n_cfg; i++) free(r.cfg[i].key), free(r.cfg[i].val);
  free(r.cfg);
  free(r.logits);
  dnacl_seqset_free(&r.set);
  dnacl_model_free(r.m);
  metrics_log_free(&g);
  dnacl_motif_set_free(&db);
  return s;
}
