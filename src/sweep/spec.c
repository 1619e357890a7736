/* Sweep files: YAML -> a validated dnacl_sweep, and the grid's cells (sweep.h; the schema
 * is documented in yaml/sweeps/README.md).
 *
 * Validation happens here, before any device is touched or data parsed, so a typo in a
 * 70-cell sweep is reported at once with file:line:col, not after the first hour of
 * training: every key and value, the model files, every override applied to every model,
 * the evaluations (one this build cannot run yet is refused by name) and unique cell ids.
 * Last, the input files are read once to hash their content into the sweep's id. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/simulate.h"
#include "sweep/content_hash.h"
#include "sweep/evals.h"
#include "sweep/override.h"
#include "sweep/sweep.h"

#define MAX_CELLS 1000000
#define MAX_ID 240 /* a cell id is a directory name: stay under NAME_MAX (255) */

/* ---- tables ------------------------------------------------------------------------------ */

#define R_MIN DNACL_YF_MIN
#define R_BOTH (DNACL_YF_MIN | DNACL_YF_MAX)

static const char *const optimizer_choices[] = {"adam", "adamw", NULL};
static const char *const schedule_choices[] = {"constant", "cosine", NULL};
static const char *const monitor_choices[] = {"auroc", "aupr", NULL};

/* Training settings: the keys are dnacl train's options without the dashes. Every one may
 * also be a grid axis (lr: [0.01, 0.001]). */
#define TR(m) offsetof(dnacl_sweep_train, m)
static const dnacl_yfield train_fields[] = {
    {.key = "epochs", .type = DNACL_YF_INT, .offset = TR(epochs), .range = R_BOTH, .min = 1, .max = 1000000},
    {.key = "steps", .type = DNACL_YF_INT, .offset = TR(steps), .range = R_BOTH, .min = 0, .max = INT_MAX},
    {.key = "batch", .type = DNACL_YF_INT, .offset = TR(batch), .range = R_BOTH, .min = 1, .max = 1 << 20},
    {.key = "lr", .type = DNACL_YF_DOUBLE, .offset = TR(lr), .range = R_BOTH | DNACL_YF_MIN_OPEN, .min = 0, .max = 100},
    {.key = "optimizer", .type = DNACL_YF_ENUM, .offset = TR(optimizer), .choices = optimizer_choices},
    {.key = "weight_decay", .type = DNACL_YF_DOUBLE, .offset = TR(weight_decay), .range = R_BOTH, .min = 0, .max = 100},
    {.key = "schedule", .type = DNACL_YF_ENUM, .offset = TR(schedule), .choices = schedule_choices},
    {.key = "cosine_alpha", .type = DNACL_YF_DOUBLE, .offset = TR(cosine_alpha), .range = R_BOTH, .min = 0, .max = 1},
    {.key = "warmup", .type = DNACL_YF_INT, .offset = TR(warmup), .range = R_BOTH, .min = 0, .max = INT_MAX},
    {.key = "eval_every", .type = DNACL_YF_INT, .offset = TR(eval_every), .range = R_BOTH, .min = 0, .max = INT_MAX},
    {.key = "monitor", .type = DNACL_YF_ENUM, .offset = TR(monitor), .choices = monitor_choices},
    {.key = "early_stop", .type = DNACL_YF_INT, .offset = TR(early_stop), .range = R_BOTH, .min = 0, .max = 1000000},
    {.key = "plateau", .type = DNACL_YF_DOUBLE, .offset = TR(plateau), .range = R_BOTH | DNACL_YF_MAX_OPEN, .min = 0,
     .max = 1},
    {.key = "plateau_patience", .type = DNACL_YF_INT, .offset = TR(plateau_patience), .range = R_BOTH, .min = 1,
     .max = 1000000},
    {.key = "rc_augment", .type = DNACL_YF_BOOL, .offset = TR(rc_augment)},
    {.key = "seed", .type = DNACL_YF_INT, .offset = TR(seed), .range = R_BOTH, .min = 0, .max = INT_MAX},
};
#define N_TRAIN (int)(sizeof train_fields / sizeof train_fields[0])

typedef struct data_opts {
  const char *file, *valid, *test, *labels, *tf;
  int crop, pad;
  double n_value;
  const dnacl_ynode *simulate;
} data_opts;
#define DO(m) offsetof(data_opts, m)
static const dnacl_yfield data_fields[] = {
    {.key = "file", .type = DNACL_YF_STR, .offset = DO(file)},
    {.key = "simulate", .type = DNACL_YF_NODE, .offset = DO(simulate)},
    {.key = "valid", .type = DNACL_YF_STR, .offset = DO(valid)},
    {.key = "test", .type = DNACL_YF_STR, .offset = DO(test)},
    {.key = "labels", .type = DNACL_YF_STR, .offset = DO(labels)},
    {.key = "tf", .type = DNACL_YF_STR, .offset = DO(tf)},
    {.key = "crop", .type = DNACL_YF_INT, .offset = DO(crop), .range = R_BOTH, .min = -1, .max = 100000000},
    {.key = "pad", .type = DNACL_YF_INT, .offset = DO(pad), .range = R_BOTH, .min = -1, .max = 100000000},
    {.key = "n_value", .type = DNACL_YF_DOUBLE, .offset = DO(n_value), .range = R_BOTH, .min = 0, .max = 1},
};

static const char *const task_choices[] = {"koo-task1", "koo-task3", NULL};
typedef struct sim_opts {
  int task, n, length, seed;
  const char *motifs;
} sim_opts;
#define SO(m) offsetof(sim_opts, m)
static const dnacl_yfield sim_fields[] = {
    {.key = "task", .type = DNACL_YF_ENUM, .offset = SO(task), .required = 1, .choices = task_choices,
     .help = "koo-task1 or koo-task3"},
    {.key = "n", .type = DNACL_YF_INT, .offset = SO(n), .range = R_BOTH, .min = 10, .max = 100000000},
    {.key = "length", .type = DNACL_YF_INT, .offset = SO(length), .range = R_BOTH, .min = 1, .max = 1000000},
    {.key = "seed", .type = DNACL_YF_INT, .offset = SO(seed), .range = R_BOTH, .min = 0, .max = INT_MAX},
    {.key = "motifs", .type = DNACL_YF_STR, .offset = SO(motifs)},
};

typedef struct top_opts {
  const char *name, *description, *expected_time;
  const dnacl_ynode *data, *models, *grid, *train, *evaluate;
} top_opts;
#define TO(m) offsetof(top_opts, m)
static const dnacl_yfield top_fields[] = {
    {.key = "name", .type = DNACL_YF_STR, .offset = TO(name)},
    {.key = "description", .type = DNACL_YF_STR, .offset = TO(description)},
    {.key = "expected_time", .type = DNACL_YF_STR, .offset = TO(expected_time)},
    {.key = "data", .type = DNACL_YF_NODE, .offset = TO(data), .required = 1,
     .help = "the sequences: a file, or a 'simulate:' block"},
    {.key = "models", .type = DNACL_YF_NODE, .offset = TO(models), .required = 1,
     .help = "the list of model files"},
    {.key = "grid", .type = DNACL_YF_NODE, .offset = TO(grid)},
    {.key = "train", .type = DNACL_YF_NODE, .offset = TO(train)},
    {.key = "evaluate", .type = DNACL_YF_NODE, .offset = TO(evaluate)},
};

/* ---- small helpers --------------------------------------------------------------------- */

static dnacl_status oom(void) { return dnacl_fail(DNACL_ERR_NOMEM, "out of memory"); }

/* "a/b/../c/./d" -> "a/c/d", lexically (a leading ".." that cannot be collapsed stays).
 * Only for readable messages and run records: the file system sees the same file either
 * way unless a collapsed directory is a symlink, which the sweep files shipped here avoid. */
static void normalise(char *p) {
  char *seg[256];
  int n = 0, abs = p[0] == '/';
  char *save = NULL;
  char *copy = strdup(p);
  if (!copy) return;
  for (char *t = strtok_r(copy, "/", &save); t && n < 256; t = strtok_r(NULL, "/", &save)) {
    if (!strcmp(t, ".")) continue;
    if (!strcmp(t, "..") && n > 0 && strcmp(seg[n - 1], "..")) {
      n--;
      continue;
    }
    if (!strcmp(t, "..") && abs && n == 0) continue;
    seg[n++] = t;
  }
  size_t u = 0;
  if (abs) p[u++] = '/';
  for (int i = 0; i < n; i++) {
    size_t l = strlen(seg[i]);
    if (i) p[u++] = '/';
    memmove(p + u, seg[i], l);
    u += l;
  }
  if (u == 0) p[u++] = '.';
  p[u] = 0;
  free(copy);
}

/* Relative paths in a sweep file start at the file's directory, so a sweep runs the same
 * from any working directory (a Slurm job's, say). */
static char *resolve(const char *dir, const char *p) {
  if (!p) return NULL;
  size_t n = strlen(dir) + strlen(p) + 2;
  char *r = malloc(n);
  if (!r) return NULL;
  if (p[0] == '/' || !strcmp(dir, ".")) snprintf(r, n, "%s", p);
  else snprintf(r, n, "%s/%s", dir, p);
  normalise(r);
  return r;
}

/* A value as it appears in a cell id (a directory name): letters, digits and ._+- only. */
static void id_text(const char *v, char *out, size_t cap) {
  size_t k = 0;
  for (; *v && k + 1 < cap; v++) {
    char c = *v;
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
             c == '+' || c == '-';
    out[k++] = ok ? c : '_';
  }
  out[k] = 0;
}

/* ---- data ----------------------------------------------------------------------------------- */

static dnacl_status parse_data(dnacl_sweep *sw, const dnacl_ynode *key, const dnacl_ynode *n) {
  const dnacl_ydoc *d = &sw->doc;
  dnacl_sweep_data *D = &sw->data;
  D->at = key;
  D->n_value = 0.25;
  data_opts o = {.n_value = 0.25};
  if (n->kind == DNACL_Y_SCALAR && !dnacl_ynode_is_null(n)) {
    o.file = n->value; /* data: FILE */
  } else if (n->kind == DNACL_Y_MAP) {
    DNACL_TRY(dnacl_yread(d, n, key, data_fields, (int)(sizeof data_fields / sizeof data_fields[0]), NULL, &o,
                          "data"));
  } else {
    return dnacl_yerr(d, n, "'data' is a file name or a mapping with 'file:' or 'simulate:', got %s",
                      dnacl_ynode_describe(n));
  }
  if (!o.file && !o.simulate)
    return dnacl_yerr(d, key, "data needs 'file:' (sequences to read) or 'simulate:' (synthetic data to generate)");
  if (o.file && o.simulate)
    return dnacl_yerr(d, dnacl_ymap_key(n, "simulate"), "data has both 'file:' and 'simulate:'; give one");
  D->crop = o.crop;
  D->pad = o.pad;
  D->n_value = o.n_value;
  if (o.file && !(D->file = resolve(sw->dir, o.file))) return oom();
  if (o.valid && !(D->valid = resolve(sw->dir, o.valid))) return oom();
  if (o.test && !(D->test = resolve(sw->dir, o.test))) return oom();
  if (o.labels && !(D->labels = resolve(sw->dir, o.labels))) return oom();
  if (o.tf && !(D->tf = strdup(o.tf))) return oom();
  if (o.simulate) {
    const dnacl_ynode *sk = dnacl_ymap_key(n, "simulate");
    sim_opts so = {.n = 0, .length = 200, .seed = 1};
    DNACL_TRY(dnacl_yread(d, o.simulate, sk, sim_fields, (int)(sizeof sim_fields / sizeof sim_fields[0]), NULL, &so,
                          "simulate"));
    D->simulate = 1;
    D->sim_at = sk;
    D->sim.task = task_choices[so.task];
    /* The default sizes: 30,000 sequences for task 1, 20,000 for task 3. */
    D->sim.n = so.n ? so.n : (so.task == 0 ? 30000 : 20000);
    D->sim.length = so.length;
    D->sim.seed = so.seed;
    if (so.motifs && !(D->sim.motifs = resolve(sw->dir, so.motifs))) return oom();
  }
  return DNACL_OK;
}

/* ---- models ------------------------------------------------------------------------------- */

static dnacl_status parse_models(dnacl_sweep *sw, const dnacl_ynode *key, const dnacl_ynode *n) {
  const dnacl_ydoc *d = &sw->doc;
  if (n->kind == DNACL_Y_SCALAR && !dnacl_ynode_is_null(n)) {
    /* models: FILE, a list of one */
  } else if (n->kind != DNACL_Y_SEQ || n->n == 0) {
    return dnacl_yerr(d, n->kind == DNACL_Y_SEQ ? key : n, "'models' must be a non-empty list of model files");
  }
  int count = n->kind == DNACL_Y_SEQ ? n->n : 1;
  sw->models = calloc((size_t)count, sizeof *sw->models);
  dnacl_sweep_axis *ax = &sw->axes[0];
  ax->kind = DNACL_AX_MODEL;
  snprintf(ax->key, sizeof ax->key, "model");
  ax->at = key;
  ax->values = calloc((size_t)count, sizeof *ax->values);
  ax->nodes = calloc((size_t)count, sizeof *ax->nodes);
  sw->n_axes = 1;
  if (!sw->models || !ax->values || !ax->nodes) return oom();
  for (int i = 0; i < count; i++) {
    const dnacl_ynode *item = n->kind == DNACL_Y_SEQ ? n->items[i] : n;
    const char *file;
    DNACL_TRY(dnacl_yget_str(d, item, "models", &file));
    char *path = resolve(sw->dir, file);
    if (!path) return oom();
    dnacl_status s = dnacl_model_spec_load(path, &sw->models[i]);
    free(path);
    if (s != DNACL_OK) {
      char msg[4096];
      snprintf(msg, sizeof msg, "%s", dnacl_last_error());
      if (s == DNACL_ERR_IO) return dnacl_yerr(d, item, "cannot read model file: %s", msg);
      /* The model parser's message points into the model file; say where it was listed. */
      return dnacl_fail(s, "%s\n(model file listed at %s:%d:%d)", msg, sw->path, item->line, item->col);
    }
    sw->n_models = i + 1;
    for (int j = 0; j < i; j++)
      if (!strcmp(sw->models[j].name, sw->models[i].name))
        return dnacl_yerr(d, item,
                          "models %s and %s are both named '%s'; cells are named after their model, so give one "
                          "of them another 'name:'",
                          sw->models[j].path, sw->models[i].path, sw->models[i].name);
    if (!(ax->values[i] = strdup(sw->models[i].name))) return oom();
    ax->nodes[i] = item;
    ax->n = i + 1;
  }
  return DNACL_OK;
}

/* ---- grid ----------------------------------------------------------------------------------- */

static int train_field(const char *key) {
  for (int i = 0; i < N_TRAIN; i++)
    if (!strcmp(train_fields[i].key, key)) return i;
  return -1;
}

/* Apply one override value to every model now, so a layer missing from one model or a
 * value out of range is reported at the value's line before anything runs. */
static dnacl_status check_override(dnacl_sweep *sw, const dnacl_sweep_axis *ax, int v) {
  for (int m = 0; m < sw->n_models; m++) {
    dnacl_model_spec c;
    DNACL_TRY(dnacl_spec_copy(&sw->models[m], &c));
    dnacl_status s = dnacl_spec_override(&c, ax->key, ax->values[v]);
    dnacl_model_spec_free(&c);
    if (s != DNACL_OK) {
      char msg[2048];
      snprintf(msg, sizeof msg, "%s", dnacl_last_error());
      return dnacl_yerr(&sw->doc, ax->nodes[v], "%s", msg);
    }
  }
  return DNACL_OK;
}

static dnacl_status add_axis_values(dnacl_sweep *sw, dnacl_sweep_axis *ax, const dnacl_ynode *n) {
  const dnacl_ydoc *d = &sw->doc;
  int count = n->kind == DNACL_Y_SEQ ? n->n : 1;
  if (n->kind == DNACL_Y_MAP || (n->kind == DNACL_Y_SEQ && n->n == 0) || dnacl_ynode_is_null(n))
    return dnacl_yerr(d, n->kind == DNACL_Y_SEQ ? ax->at : n,
                      "grid '%s' takes a list of values (or one value), got %s", ax->key,
                      n->kind == DNACL_Y_SEQ ? "an empty list" : dnacl_ynode_describe(n));
  ax->values = calloc((size_t)count, sizeof *ax->values);
  ax->nodes = calloc((size_t)count, sizeof *ax->nodes);
  if (!ax->values || !ax->nodes) return oom();
  for (int i = 0; i < count; i++) {
    const dnacl_ynode *v = n->kind == DNACL_Y_SEQ ? n->items[i] : n;
    if (v->kind != DNACL_Y_SCALAR || dnacl_ynode_is_null(v))
      return dnacl_yerr(d, v, "a value of grid '%s' must be a single value, got %s", ax->key, dnacl_ynode_describe(v));
    if (strpbrk(v->value, "\t\r\n"))
      return dnacl_yerr(d, v, "a grid value may not contain tabs or line breaks (results.tsv is tab-separated)");
    if (!(ax->values[i] = strdup(v->value))) return oom();
    ax->nodes[i] = v;
    ax->n = i + 1;
    char a[128], b[128];
    id_text(v->value, a, sizeof a);
    for (int j = 0; j < i; j++) {
      id_text(ax->values[j], b, sizeof b);
      if (!strcmp(a, b))
        return dnacl_yerr(d, v, "grid '%s' lists '%s' twice (as cell ids they read '%s')", ax->key, v->value, a);
    }
    if (ax->kind == DNACL_AX_TRAIN) {
      dnacl_sweep_train scratch = sw->train;
      DNACL_TRY(dnacl_yread_value(d, v, &train_fields[ax->field], &scratch));
    } else {
      DNACL_TRY(check_override(sw, ax, i));
    }
  }
  return DNACL_OK;
}

static dnacl_status parse_grid(dnacl_sweep *sw, const dnacl_ynode *n) {
  const dnacl_ydoc *d = &sw->doc;
  if (!n || dnacl_ynode_is_null(n)) return DNACL_OK;
  if (n->kind != DNACL_Y_MAP)
    return dnacl_yerr(d, n, "'grid' is a mapping from a setting to its values (activation: [relu, exponential]), got %s",
                      dnacl_ynode_describe(n));
  const dnacl_ynode *trials_key = NULL, *trials = NULL;
  for (int i = 0; i < n->n; i++) {
    const dnacl_ynode *k = n->keys[i], *v = n->items[i];
    const char *key = k->value;
    if (!strcmp(key, "trials")) {
      trials_key = k;
      trials = v;
      continue;
    }
    if (sw->n_axes >= DNACL_SWEEP_MAX_AXES - 1)
      return dnacl_yerr(d, k, "more than %d grid settings", DNACL_SWEEP_MAX_AXES - 2);
    if (!strcmp(key, "model") || !strcmp(key, "models"))
      return dnacl_yerr(d, k, "models are listed under the top-level 'models:', not in the grid");
    dnacl_sweep_axis *ax = &sw->axes[sw->n_axes];
    memset(ax, 0, sizeof *ax);
    ax->at = k;
    if (strlen(key) >= sizeof ax->key) return dnacl_yerr(d, k, "grid key '%s' is too long", key);
    snprintf(ax->key, sizeof ax->key, "%s", key);
    if (!strcmp(key, "activation")) {
      ax->kind = DNACL_AX_ACT;
    } else if (strchr(key, '.')) {
      ax->kind = DNACL_AX_LAYER;
    } else if ((ax->field = train_field(key)) >= 0) {
      ax->kind = DNACL_AX_TRAIN;
    } else {
      const char *choices[N_TRAIN + 4];
      int nc = 0;
      choices[nc++] = "activation";
      choices[nc++] = "trials";
      for (int f = 0; f < N_TRAIN; f++) choices[nc++] = train_fields[f].key;
      choices[nc] = NULL;
      const char *close = dnacl_ysuggest(key, choices);
      char list[1024];
      size_t u = 0;
      list[0] = 0;
      for (int f = 0; f < nc && u + 1 < sizeof list; f++)
        u += (size_t)snprintf(list + u, sizeof list - u, "%s%s", f ? ", " : "", choices[f]);
      return dnacl_yerr(d, k, "unknown grid key '%s'%s%s%s; a grid key is one of %s, or '<layer>.<option>' such as conv1.filters",
                        key, close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "", list);
    }
    sw->n_axes++;
    DNACL_TRY(add_axis_values(sw, ax, v));
  }
  if (trials) {
    long t;
    DNACL_TRY(dnacl_yget_int(d, trials, "trials", &t));
    if (t < 1 || t > 100000) return dnacl_yerr(d, trials, "'trials' must be between 1 and 100000, got %s", trials->value);
    /* Last, so trials vary fastest and a cell's repeats sit next to each other. */
    dnacl_sweep_axis *ax = &sw->axes[sw->n_axes++];
    memset(ax, 0, sizeof *ax);
    ax->kind = DNACL_AX_TRIAL;
    ax->at = trials_key;
    snprintf(ax->key, sizeof ax->key, "trial");
    ax->values = calloc((size_t)t, sizeof *ax->values);
    ax->nodes = calloc((size_t)t, sizeof *ax->nodes);
    if (!ax->values || !ax->nodes) return oom();
    for (int i = 0; i < t; i++) {
      char buf[16];
      snprintf(buf, sizeof buf, "%d", i + 1);
      if (!(ax->values[i] = strdup(buf))) return oom();
      ax->n = i + 1;
    }
  }
  return DNACL_OK;
}

/* ---- evaluations ---------------------------------------------------------------------------- */

static dnacl_status parse_evals(dnacl_sweep *sw, const dnacl_ynode *key, const dnacl_ynode *n) {
  const dnacl_ydoc *d = &sw->doc;
  if (!n) { /* the default: classification */
    sw->evals[0].def = dnacl_eval_find("classification");
    sw->n_evals = 1;
    return DNACL_OK;
  }
  if (n->kind != DNACL_Y_SEQ || n->n == 0)
    return dnacl_yerr(d, n->kind == DNACL_Y_SEQ ? key : n,
                      "'evaluate' is a list of evaluations, e.g. '- classification'; got %s",
                      n->kind == DNACL_Y_SEQ ? "an empty list" : dnacl_ynode_describe(n));
  const char *const *names = dnacl_eval_names();
  char list[512];
  size_t u = 0;
  list[0] = 0;
  for (int i = 0; names[i]; i++) u += (size_t)snprintf(list + u, sizeof list - u, "%s%s", i ? ", " : "", names[i]);
  for (int i = 0; i < n->n; i++) {
    const dnacl_ynode *item = n->items[i], *k, *opts;
    if (item->kind == DNACL_Y_SCALAR && !dnacl_ynode_is_null(item)) {
      k = item;
      opts = NULL;
    } else if (item->kind == DNACL_Y_MAP && item->n == 1) {
      k = item->keys[0];
      opts = item->items[0];
    } else {
      return dnacl_yerr(d, item, "an evaluation is a name ('- classification') or a name with options "
                                 "('- attribution: {methods: [saliency]}')");
    }
    const dnacl_eval_def *def = dnacl_eval_find(k->value);
    if (!def) {
      const char *close = dnacl_ysuggest(k->value, names);
      return dnacl_yerr(d, k, "unknown evaluation '%s'%s%s%s; known: %s", k->value, close ? " (did you mean '" : "",
                        close ? close : "", close ? "'?)" : "", list);
    }
    for (int j = 0; j < sw->n_evals; j++)
      if (sw->evals[j].def == def) return dnacl_yerr(d, k, "evaluation '%s' is listed twice", def->name);
    if (sw->n_evals >= DNACL_SWEEP_MAX_EVALS) return dnacl_yerr(d, k, "too many evaluations");
    dnacl_sweep_eval *e = &sw->evals[sw->n_evals++];
    memset(e, 0, sizeof *e);
    e->def = def;
    e->at = k;
    DNACL_TRY(def->parse(sw, d, k, opts, e));
    if (e->database) {
      const dnacl_ynode *dbn = opts ? dnacl_ymap_get(opts, "database") : NULL;
      e->database_written = dbn ? dbn->value : NULL;
      char *r = resolve(sw->dir, e->database);
      if (!r) return oom();
      free(e->database);
      e->database = r;
    }
    if (!def->run)
      return dnacl_yerr(d, k, "evaluation '%s' is not available in this build: %s; remove it from 'evaluate' to run the "
                              "rest of the sweep",
                        def->name, def->waiting);
  }
  return DNACL_OK;
}

/* ---- columns, canonical form and id ----------------------------------------------------------- */

static dnacl_status add_column(dnacl_sweep *sw, const char *name) {
  if (sw->n_columns >= DNACL_SWEEP_MAX_COLS) return dnacl_fail(DNACL_ERR_ARG, "%s: too many result columns", sw->path);
  for (int i = 0; i < sw->n_columns; i++)
    if (!strcmp(sw->columns[i], name))
      return dnacl_fail(DNACL_ERR_ARG, "%s: two result columns would be named '%s'", sw->path, name);
  snprintf(sw->columns[sw->n_columns++], sizeof sw->columns[0], "%.63s", name);
  return DNACL_OK;
}

static dnacl_status make_columns(dnacl_sweep *sw) {
  DNACL_TRY(add_column(sw, "cell"));
  DNACL_TRY(add_column(sw, "id"));
  for (int a = 0; a < sw->n_axes; a++) DNACL_TRY(add_column(sw, sw->axes[a].key));
  DNACL_TRY(add_column(sw, "run_seed"));
  DNACL_TRY(add_column(sw, "status"));
  sw->first_metric = sw->n_columns;
  for (int e = 0; e < sw->n_evals; e++) {
    char names[32][64];
    int k = sw->evals[e].def->columns(&sw->evals[e], names, 32);
    for (int i = 0; i < k; i++) DNACL_TRY(add_column(sw, names[i]));
  }
  sw->n_metrics = sw->n_columns - sw->first_metric;
  DNACL_TRY(add_column(sw, "best_step"));
  DNACL_TRY(add_column(sw, "wall_s"));
  return add_column(sw, "device");
}

/* One input file as canonical text: its content's XXH64 and size, never its path, so a
 * file regenerated at the same path is another input and ./x.h5 and x.h5 are the same
 * one. The path goes to the record (for messages naming what changed). A file that cannot
 * be read is an error at the place the sweep names it: nothing could run from it. */
static dnacl_status hash_input(dnacl_sweep *sw, const dnacl_ynode *at, const char *key, const char *path,
                               dnacl_ybuf *canon, dnacl_ybuf *record) {
  uint64_t h = 0, bytes = 0;
  dnacl_status s = dnacl_xxh64_file(path, &h, &bytes);
  if (s != DNACL_OK) {
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", dnacl_last_error());
    return at ? dnacl_yerr(&sw->doc, at, "cannot read %s: %s", key, msg) : dnacl_fail(s, "%s: cannot read %s", msg, key);
  }
  dnacl_ybuf_printf(canon, "%s\txxh64 %016llx, %llu bytes\n", key, (unsigned long long)h, (unsigned long long)bytes);
  dnacl_ybuf_printf(record, "file\t%s\t%s\n", key, path);
  sw->input_bytes += (double)bytes;
  return DNACL_OK;
}

static int is_axis(const dnacl_sweep *sw, int field) {
  for (int a = 1; a < sw->n_axes; a++)
    if (sw->axes[a].kind == DNACL_AX_TRAIN && sw->axes[a].field == field) return 1;
  return 0;
}

/* The content that decides what a cell's numbers mean, in one fixed form, in two parts.
 *
 * sw->canonical, whose hash is the sweep id, holds what every cell shares: the data (the
 * content of every input file, see hash_input; the simulate settings), the names of the
 * grid's settings, the training settings that no grid key varies, the evaluations. A
 * change there changes every cell's numbers, so a directory made before is refused.
 *
 * sw->record holds what may grow in place (out_dir.c): each model's layers by model name
 * and each grid setting's values. A cell is named by its own values (its id), so more
 * trials or more values add cells without touching the finished ones; a model whose
 * layers changed under the same name is refused. Then the input files' paths, which only
 * messages use.
 *
 * Comments, layout and key order of the sweep file, and comments of the model files, change
 * neither part. */
static dnacl_status make_canonical(dnacl_sweep *sw) {
  dnacl_ybuf b = {0}, r = {0};
  const dnacl_sweep_data *D = &sw->data;
  const dnacl_ynode *dn = dnacl_ymap_get(sw->doc.root, "data");
  const dnacl_ynode *sn = D->simulate ? dnacl_ymap_get(dn, "simulate") : NULL;
  double t0 = dnacl_now_s();
  dnacl_status s = DNACL_OK;
  dnacl_ybuf_printf(&b, "dnacl sweep v2\n");
  if (D->simulate) {
    dnacl_ybuf_printf(&b, "data.simulate\ttask=%s n=%d length=%d seed=%d\n", D->sim.task, D->sim.n, D->sim.length,
                      D->sim.seed);
    /* The planted motifs come from this file: its content is part of the data. Without
     * 'motifs:' the simulator reads its default from the working directory; if that is
     * missing here the simulation says so when it runs. */
    dnacl_sim_task task;
    const char *motifs = D->sim.motifs;
    if (!motifs && dnacl_sim_task_parse(D->sim.task, &task) == DNACL_OK) motifs = dnacl_sim_defaults(task).motifs_path;
    if (D->sim.motifs || (motifs && access(motifs, R_OK) == 0))
      s = hash_input(sw, dnacl_ymap_get(sn, "motifs"), "data.simulate.motifs", motifs, &b, &r);
    else
      dnacl_ybuf_printf(&b, "data.simulate.motifs\tthe default, unreadable here\n");
  }
  static const char *const keys[] = {"file", "valid", "test", "labels", NULL};
  const char *paths[] = {D->file, D->valid, D->test, D->labels};
  for (int i = 0; keys[i] && s == DNACL_OK; i++) {
    if (!paths[i] || (i == 0 && D->simulate)) continue;
    const dnacl_ynode *at = dn && dn->kind == DNACL_Y_SCALAR ? dn : dnacl_ymap_get(dn, keys[i]);
    char key[32];
    snprintf(key, sizeof key, "data.%s", keys[i]);
    s = hash_input(sw, at, key, paths[i], &b, &r);
  }
  if (D->tf) dnacl_ybuf_printf(&b, "data.tf\t%s\n", D->tf);
  dnacl_ybuf_printf(&b, "data.crop\t%d\ndata.pad\t%d\ndata.n_value\t%.9g\n", D->crop, D->pad, (double)(float)D->n_value);
  dnacl_ybuf_printf(&b, "grid");
  for (int a = 0; a < sw->n_axes; a++) dnacl_ybuf_printf(&b, "%s%s", a ? "," : "\t", sw->axes[a].key);
  dnacl_ybuf_printf(&b, "\n");
  const dnacl_sweep_train *t = &sw->train;
  for (int f = 0; f < N_TRAIN; f++) {
    const dnacl_yfield *fd = &train_fields[f];
    if (is_axis(sw, f)) continue; /* each cell's own value, in its id */
    const char *p = (const char *)t + fd->offset;
    if (fd->type == DNACL_YF_DOUBLE) {
      /* Training takes these as floats (dnacl_sweep_cell_cfg): "lr: 0.001" and the
       * default's 0.001f are one setting. */
      double v;
      memcpy(&v, p, sizeof v);
      dnacl_ybuf_printf(&b, "train.%s\t%.9g\n", fd->key, (double)(float)v);
    } else {
      int v;
      memcpy(&v, p, sizeof v);
      if (fd->type == DNACL_YF_ENUM) dnacl_ybuf_printf(&b, "train.%s\t%s\n", fd->key, fd->choices[v]);
      else dnacl_ybuf_printf(&b, "train.%s\t%d\n", fd->key, v);
    }
  }
  for (int e = 0; e < sw->n_evals && s == DNACL_OK; e++) {
    const dnacl_sweep_eval *ev = &sw->evals[e];
    dnacl_ybuf_printf(&b, "evaluate\t%s\tmethods=%u n=%d output=%d ig_steps=%d ig_refs=%d shap_refs=%d evalue=%.17g "
                          "threshold=%.17g max_seqs=%d\n",
                      ev->def->name, ev->methods, ev->n, ev->output, ev->ig_steps, ev->ig_refs, ev->shap_refs,
                      ev->evalue, ev->threshold, ev->max_seqs);
    if (ev->database) {
      char key[96];
      snprintf(key, sizeof key, "evaluate.%s.database", ev->def->name);
      s = hash_input(sw, ev->at, key, ev->database, &b, &r);
    }
  }
  for (int m = 0; m < sw->n_models && s == DNACL_OK; m++) {
    char *y, hex[17];
    s = dnacl_spec_to_yaml(&sw->models[m], NULL, &y);
    if (s != DNACL_OK) break;
    dnacl_hash_hex(y, strlen(y), hex);
    free(y);
    dnacl_ybuf_printf(&r, "model\t%s\t%s\n", sw->models[m].name, hex);
    dnacl_ybuf_printf(&r, "file\tmodel %s\t%s\n", sw->models[m].name, sw->models[m].path ? sw->models[m].path : "-");
  }
  for (int a = 0; a < sw->n_axes; a++) {
    const dnacl_sweep_axis *ax = &sw->axes[a];
    dnacl_ybuf_printf(&r, "values\t%s\t", ax->key);
    for (int v = 0; v < ax->n; v++) dnacl_ybuf_printf(&r, "%s%s", v ? "," : "", ax->values[v]);
    dnacl_ybuf_printf(&r, "\n");
  }
  sw->hash_s = dnacl_now_s() - t0;
  if (s == DNACL_OK && (b.oom || r.oom)) s = oom();
  if (s != DNACL_OK) {
    free(b.p);
    free(r.p);
    return s;
  }
  sw->canonical = b.p;
  sw->record = r.p;
  dnacl_hash_hex(b.p, b.len, sw->id);
  return DNACL_OK;
}

/* ---- the file ---------------------------------------------------------------------------------- */

static dnacl_status build(dnacl_sweep *sw) {
  const dnacl_ydoc *d = &sw->doc;
  const dnacl_ynode *root = d->root;
  if (!root)
    return dnacl_yerr_at(d->path, d->text, 1, 1, "the file is empty; a sweep file has 'data', 'models' and usually "
                                                 "'grid', 'train' and 'evaluate' (see yaml/sweeps/README.md)");
  if (root->kind != DNACL_Y_MAP)
    return dnacl_yerr(d, root, "a sweep file is a mapping with keys data, models, grid, train, evaluate; got %s",
                      dnacl_ynode_describe(root));
  top_opts t = {0};
  DNACL_TRY(dnacl_yread(d, root, NULL, top_fields, (int)(sizeof top_fields / sizeof top_fields[0]), NULL, &t,
                        "the sweep"));
  if (t.name) {
    const dnacl_ynode *nn = dnacl_ymap_get(root, "name");
    char safe[64];
    id_text(t.name, safe, sizeof safe);
    if (strlen(t.name) > 63 || strcmp(safe, t.name))
      return dnacl_yerr(d, nn, "a sweep name is at most 63 letters, digits and ._+- characters, got '%s'", t.name);
    snprintf(sw->name, sizeof sw->name, "%s", t.name);
  } else {
    dnacl_ypath_stem(sw->path, sw->name);
  }
  if (t.description && !(sw->description = strdup(t.description))) return oom();
  if (t.expected_time && !(sw->expected_time = strdup(t.expected_time))) return oom();

  /* Training settings before the grid: grid values of training keys are checked against
   * the same table. */
  dnacl_train_cfg dc = dnacl_train_defaults();
  sw->train = (dnacl_sweep_train){.epochs = dc.epochs, .steps = (int)dc.steps, .batch = dc.batch,
                                  .warmup = (int)dc.warmup, .eval_every = (int)dc.eval_every,
                                  .early_stop = dc.patience, .plateau_patience = dc.plateau_patience,
                                  .rc_augment = dc.rc_augment, .seed = (int)dc.seed, .optimizer = dc.adamw,
                                  .schedule = dc.cosine, .monitor = 0, .lr = dc.lr,
                                  .weight_decay = dc.weight_decay, .cosine_alpha = dc.alpha,
                                  .plateau = dc.plateau_factor};
  if (t.train) DNACL_TRY(dnacl_yread(d, t.train, dnacl_ymap_key(root, "train"), train_fields, N_TRAIN, NULL,
                                     &sw->train, "train"));
  DNACL_TRY(parse_data(sw, dnacl_ymap_key(root, "data"), t.data));
  DNACL_TRY(parse_models(sw, dnacl_ymap_key(root, "models"), t.models));
  DNACL_TRY(parse_grid(sw, t.grid));
  DNACL_TRY(parse_evals(sw, dnacl_ymap_key(root, "evaluate"), t.evaluate));

  double cells = 1;
  for (int a = 0; a < sw->n_axes; a++) cells *= sw->axes[a].n;
  if (cells > MAX_CELLS)
    return dnacl_yerr(d, t.grid ? dnacl_ymap_key(root, "grid") : root, "the grid has %.0f cells, more than %d", cells,
                      MAX_CELLS);
  sw->n_cells = (int)cells;
  /* The longest id: the longest value of every axis. */
  size_t idlen = 0;
  for (int a = 0; a < sw->n_axes; a++) {
    size_t w = 0;
    for (int v = 0; v < sw->axes[a].n; v++)
      if (strlen(sw->axes[a].values[v]) > w) w = strlen(sw->axes[a].values[v]);
    idlen += strlen(sw->axes[a].key) + w + 2;
  }
  if (idlen > MAX_ID)
    return dnacl_yerr(d, t.grid ? dnacl_ymap_key(root, "grid") : root,
                      "cell ids would be up to %zu characters, more than a directory name may have (%d); use shorter "
                      "values or fewer grid keys",
                      idlen, MAX_ID);
  DNACL_TRY(make_columns(sw));
  return make_canonical(sw);
}

dnacl_status dnacl_sweep_parse(const char *path, const char *text, dnacl_sweep *out) {
  memset(out, 0, sizeof *out);
  if (!path) path = "<sweep>";
  if (!text) return dnacl_fail(DNACL_ERR_ARG, "dnacl_sweep_parse: text is NULL");
  out->path = strdup(path);
  const char *slash = strrchr(path, '/');
  out->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
  if (!out->path || !out->dir) {
    dnacl_sweep_free(out);
    return oom();
  }
  dnacl_status s = dnacl_ydoc_parse(path, text, strlen(text), &out->doc);
  if (s == DNACL_OK) s = build(out);
  if (s != DNACL_OK) dnacl_sweep_free(out);
  return s;
}

dnacl_status dnacl_sweep_load(const char *path, dnacl_sweep *out) {
  memset(out, 0, sizeof *out);
  if (!path) return dnacl_fail(DNACL_ERR_ARG, "dnacl_sweep_load: path is NULL");
  char *text;
  size_t len;
  DNACL_TRY(dnacl_yread_file(path, &text, &len));
  if (strlen(text) != len) {
    free(text);
    return dnacl_fail(DNACL_ERR_PARSE, "%s: the file contains a NUL byte; is it a text file?", path);
  }
  dnacl_status s = dnacl_sweep_parse(path, text, out);
  free(text);
  return s;
}

void dnacl_sweep_free(dnacl_sweep *sw) {
  if (!sw) return;
  for (int a = 0; a < sw->n_axes; a++) {
    for (int v = 0; v < sw->axes[a].n; v++) free(sw->axes[a].values[v]);
    free(sw->axes[a].values);
    free(sw->axes[a].nodes);
  }
  for (int m = 0; m < sw->n_models; m++) dnacl_model_spec_free(&sw->models[m]);
  free(sw->models);
  for (int e = 0; e < sw->n_evals; e++) free(sw->evals[e].database);
  dnacl_sweep_data *D = &sw->data;
  free(D->file);
  free(D->valid);
  free(D->test);
  free(D->labels);
  free(D->tf);
  free(D->sim.motifs);
  free(sw->canonical);
  free(sw->record);
  free(sw->description);
  free(sw->expected_time);
  dnacl_ydoc_free(&sw->doc);
  free(sw->path);
  free(sw->dir);
  memset(sw, 0, sizeof *sw);
}

/* ---- cells ----------------------------------------------------------------------------------------- */

int dnacl_sweep_in_shard(int i, int k, int n) { return n <= 1 || i % n == k - 1; }

dnacl_status dnacl_sweep_cell_at(const dnacl_sweep *sw, int i, dnacl_sweep_cell *c) {
  if (i < 0 || i >= sw->n_cells)
    return dnacl_fail(DNACL_ERR_ARG, "cell %d is outside the sweep's %d cells", i, sw->n_cells);
  memset(c, 0, sizeof *c);
  c->index = i;
  int r = i;
  for (int a = sw->n_axes - 1; a >= 0; a--) {
    c->value[a] = r % sw->axes[a].n;
    r /= sw->axes[a].n;
  }
  /* The seed: the training seed (or its grid value), plus the trial number - 1. The same
   * trial gets the same seed in every model and activation, so comparisons are paired. */
  dnacl_sweep_train t = sw->train;
  int trial = 1;
  size_t u = 0;
  for (int a = 0; a < sw->n_axes; a++) {
    const dnacl_sweep_axis *ax = &sw->axes[a];
    if (ax->kind == DNACL_AX_TRAIN) DNACL_TRY(dnacl_yread_value(&sw->doc, ax->nodes[c->value[a]], &train_fields[ax->field], &t));
    if (ax->kind == DNACL_AX_TRIAL) trial = c->value[a] + 1;
    char v[128];
    id_text(ax->values[c->value[a]], v, sizeof v);
    u += (size_t)snprintf(c->id + u, sizeof c->id - (u < sizeof c->id ? u : sizeof c->id), "%s%s=%s", a ? "," : "",
                          ax->key, v);
    if (u >= sizeof c->id) u = sizeof c->id - 1;
  }
  c->seed = (uint32_t)t.seed + (uint32_t)(trial - 1);
  return DNACL_OK;
}

dnacl_status dnacl_sweep_cell_spec(const dnacl_sweep *sw, const dnacl_sweep_cell *c, dnacl_model_spec *out) {
  const dnacl_model_spec *base = &sw->models[c->value[0]];
  DNACL_TRY(dnacl_spec_copy(base, out));
  char comment[2048];
  size_t u = (size_t)snprintf(comment, sizeof comment,
                              "Generated by dnacl sweep %s (%s), cell %d: %s\nfrom %s", sw->name, sw->path, c->index,
                              c->id, base->path ? base->path : base->name);
  int any = 0;
  dnacl_status s = DNACL_OK;
  for (int a = 1; a < sw->n_axes && s == DNACL_OK; a++) {
    const dnacl_sweep_axis *ax = &sw->axes[a];
    if (ax->kind != DNACL_AX_ACT && ax->kind != DNACL_AX_LAYER) continue;
    s = dnacl_spec_override(out, ax->key, ax->values[c->value[a]]);
    if (u < sizeof comment)
      u += (size_t)snprintf(comment + u, sizeof comment - u, "%s%s=%s", any ? ", " : " with ", ax->key,
                            ax->values[c->value[a]]);
    any = 1;
  }
  if (s == DNACL_OK) s = dnacl_spec_refresh_text(out, comment);
  if (s != DNACL_OK) dnacl_model_spec_free(out);
  return s;
}

dnacl_status dnacl_sweep_cell_cfg(const dnacl_sweep *sw, const dnacl_sweep_cell *c, const char *model_path,
                                  const char *run_dir, dnacl_train_cfg *cfg) {
  dnacl_sweep_train t = sw->train;
  for (int a = 1; a < sw->n_axes; a++) {
    const dnacl_sweep_axis *ax = &sw->axes[a];
    if (ax->kind == DNACL_AX_TRAIN)
      DNACL_TRY(dnacl_yread_value(&sw->doc, ax->nodes[c->value[a]], &train_fields[ax->field], &t));
  }
  dnacl_train_cfg k = dnacl_train_defaults();
  k.model_path = model_path;
  k.data_path = sw->data.file;
  k.valid_path = sw->data.valid;
  k.out_dir = run_dir;
  k.load.n_value = (float)sw->data.n_value;
  k.load.crop_to = sw->data.crop;
  k.load.pad_to = sw->data.pad;
  k.load.labels_tsv = sw->data.labels;
  k.load.tf = sw->data.tf;
  k.adamw = t.optimizer;
  k.lr = (float)t.lr;
  k.weight_decay = (float)t.weight_decay;
  k.cosine = t.schedule;
  k.alpha = (float)t.cosine_alpha;
  k.warmup = t.warmup;
  k.steps = t.steps;
  k.epochs = t.epochs;
  k.batch = t.batch;
  k.seed = c->seed;
  k.eval_every = t.eval_every;
  k.monitor = monitor_choices[t.monitor];
  k.patience = t.early_stop;
  k.plateau_factor = (float)t.plateau;
  k.plateau_patience = t.plateau_patience;
  k.rc_augment = t.rc_augment;
  k.resume = 0;
  k.progress = 0;
  *cfg = k;
  return DNACL_OK;
}

void dnacl_sweep_cell_params(const dnacl_sweep *sw, const dnacl_sweep_cell *c, char *buf, size_t cap) {
  size_t u = (size_t)snprintf(buf, cap, "%d\t%s", c->index, c->id);
  for (int a = 0; a < sw->n_axes && u < cap; a++)
    u += (size_t)snprintf(buf + u, cap - u, "\t%s", sw->axes[a].values[c->value[a]]);
  if (u < cap) snprintf(buf + u, cap - u, "\t%u", (unsigned)c->seed);
}

void dnacl_sweep_shape(const dnacl_sweep *sw, char *buf, size_t cap) {
  size_t u = 0;
  buf[0] = 0;
  for (int a = 0; a < sw->n_axes && u < cap; a++)
    u += (size_t)snprintf(buf + u, cap - u, "%s%d %s%s", a ? " x " : "", sw->axes[a].n, sw->axes[a].key,
                          a == 0 && sw->axes[a].n != 1 ? "s" : "");
}
