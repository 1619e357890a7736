/* Model files: YAML -> a flat, validated list of layer specs (model_spec.h; the schema is
 * documented in yaml/README.md).
 *
 * Everything about a layer kind (its YAML key, generated-name prefix, options with their
 * types, defaults, ranges and the shorthand for a single value) lives in one table below,
 * so adding a layer kind is adding a row, and the "unknown key" messages list exactly what
 * the parser accepts. Shape checks that need the input shape (a valid conv longer than its
 * input, channels not divisible by heads) happen when the model is built; each spec keeps
 * its file position so those errors can still point at file:line:col. */
#include "io/model_spec.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/yaml_util.h"

/* Bounds that catch a typo (an extra zero or two) before it becomes an allocation of
 * terabytes, while staying far above anything a genomics model uses. */
#define MAX_LAYERS 10000
#define MAX_BLOCK_DEPTH 16
#define MAX_NAME 47 /* leaves room for ".<param>" and "_end" in 64-byte names */

/* ---- option tables ---------------------------------------------------------------- */

#define LS(m) offsetof(dnacl_layer_spec, m)
#define R_MIN DNACL_YF_MIN
#define R_MAX DNACL_YF_MAX
#define R_BOTH (DNACL_YF_MIN | DNACL_YF_MAX)

static const char *const padding_choices[] = {"valid", "same", NULL};

static dnacl_status parse_act(const dnacl_ydoc *d, const dnacl_ynode *n, const char *key, void *dst);

static const dnacl_yfield conv_fields[] = {
    {.key = "filters", .type = DNACL_YF_INT, .offset = LS(filters), .required = 1, .range = R_BOTH,
     .min = 1, .max = 1 << 20, .help = "the number of output channels"},
    {.key = "kernel", .type = DNACL_YF_INT, .offset = LS(kernel), .required = 1, .range = R_BOTH,
     .min = 1, .max = 1 << 16, .help = "the kernel width in positions"},
    {.key = "padding", .type = DNACL_YF_ENUM, .offset = LS(same_padding), .choices = padding_choices},
    {.key = "dilation", .type = DNACL_YF_INT, .offset = LS(dilation), .range = R_BOTH, .min = 1,
     .max = 1 << 16},
    {.key = "bias", .type = DNACL_YF_BOOL, .offset = LS(bias)},
};
static const dnacl_yfield dense_fields[] = {
    {.key = "units", .type = DNACL_YF_INT, .offset = LS(units), .required = 1, .range = R_BOTH,
     .min = 1, .max = 1 << 24, .help = "the number of outputs"},
    {.key = "bias", .type = DNACL_YF_BOOL, .offset = LS(bias)},
};
static const dnacl_yfield batchnorm_fields[] = {
    {.key = "eps", .type = DNACL_YF_FLOAT, .offset = LS(eps), .range = R_BOTH | DNACL_YF_MIN_OPEN,
     .min = 0, .max = 1},
    {.key = "momentum", .type = DNACL_YF_FLOAT, .offset = LS(momentum), .range = R_BOTH, .min = 0,
     .max = 1},
};
static const dnacl_yfield layernorm_fields[] = {
    {.key = "eps", .type = DNACL_YF_FLOAT, .offset = LS(eps), .range = R_BOTH | DNACL_YF_MIN_OPEN,
     .min = 0, .max = 1},
};
static const dnacl_yfield activation_fields[] = {
    {.key = "fn", .type = DNACL_YF_CUSTOM, .offset = LS(act), .required = 1, .parse = parse_act,
     .help = "the function: relu, exponential, gelu, sigmoid, tanh, softplus, elu, linear, ..."},
    {.key = "ablate", .type = DNACL_YF_BOOL, .offset = LS(ablation)},
};
static const dnacl_yfield maxpool_fields[] = {
    {.key = "window", .type = DNACL_YF_INT, .offset = LS(window), .required = 1, .range = R_BOTH,
     .min = 1, .max = 1 << 24, .help = "the pooling window width"},
    {.key = "stride", .type = DNACL_YF_INT, .offset = LS(stride), .range = R_BOTH, .min = 1,
     .max = 1 << 24},
};
static const dnacl_yfield dropout_fields[] = {
    {.key = "p", .type = DNACL_YF_FLOAT, .offset = LS(p), .required = 1,
     .range = R_BOTH | DNACL_YF_MAX_OPEN, .min = 0, .max = 1, .help = "the drop probability"},
};
static const dnacl_yfield transformer_fields[] = {
    {.key = "heads", .type = DNACL_YF_INT, .offset = LS(heads), .required = 1, .range = R_BOTH,
     .min = 1, .max = 4096, .help = "the number of attention heads"},
    {.key = "mlp", .type = DNACL_YF_INT, .offset = LS(mlp), .required = 1, .range = R_BOTH, .min = 1,
     .max = 1 << 20, .help = "the width of the feed-forward hidden layer"},
    {.key = "dropout", .type = DNACL_YF_FLOAT, .offset = LS(p), .range = R_BOTH | DNACL_YF_MAX_OPEN,
     .min = 0, .max = 1},
};

/* repeat / residual options */
typedef struct block_opts {
  int times;
  const dnacl_ynode *layers;
  const char *name;
} block_opts;
#define BO(m) offsetof(block_opts, m)
static const dnacl_yfield repeat_fields[] = {
    {.key = "times", .type = DNACL_YF_INT, .offset = BO(times), .required = 1, .range = R_BOTH,
     .min = 1, .max = MAX_LAYERS, .help = "how many copies of the block"},
    {.key = "layers", .type = DNACL_YF_NODE, .offset = BO(layers), .required = 1,
     .help = "the list of layers to repeat"},
};
static const dnacl_yfield residual_fields[] = {
    {.key = "layers", .type = DNACL_YF_NODE, .offset = BO(layers), .required = 1,
     .help = "the branch: output = input + branch(input)"},
    {.key = "name", .type = DNACL_YF_STR, .offset = BO(name)},
};

/* top level */
typedef struct top_opts {
  const char *name, *description;
  int length, tasks, alphabet;
  const dnacl_ynode *layers;
} top_opts;
#define TO(m) offsetof(top_opts, m)
static const dnacl_yfield top_fields[] = {
    {.key = "name", .type = DNACL_YF_STR, .offset = TO(name)},
    {.key = "description", .type = DNACL_YF_STR, .offset = TO(description)},
    {.key = "length", .type = DNACL_YF_INT, .offset = TO(length), .required = 1, .range = R_BOTH,
     .min = 1, .max = 100000000, .help = "the input sequence length"},
    {.key = "tasks", .type = DNACL_YF_INT, .offset = TO(tasks), .required = 1, .range = R_BOTH,
     .min = 1, .max = 1 << 20, .help = "the number of outputs"},
    {.key = "alphabet", .type = DNACL_YF_INT, .offset = TO(alphabet), .range = R_BOTH, .min = 1,
     .max = 256},
    {.key = "layers", .type = DNACL_YF_NODE, .offset = TO(layers), .required = 1,
     .help = "the list of layers"},
};

enum { B_LAYER, B_REPEAT, B_RESIDUAL };

typedef struct kind_info {
  const char *key;          /* the YAML key naming the kind */
  int block;                /* B_LAYER, or a block that expands into layers */
  dnacl_layer_kind kind;
  const char *prefix;       /* generated names: prefix + ordinal among layers of the kind */
  const dnacl_yfield *fields;
  int n_fields;
  const char *shorthand;    /* the option a single value stands for ("- dropout: 0.2") */
} kind_info;

#define FIELDS(a) a, (int)(sizeof a / sizeof a[0])
static const kind_info kinds[] = {
    {"conv1d", B_LAYER, DNACL_L_CONV1D, "conv", FIELDS(conv_fields), NULL},
    {"dense", B_LAYER, DNACL_L_DENSE, "dense", FIELDS(dense_fields), "units"},
    {"batchnorm", B_LAYER, DNACL_L_BATCHNORM, "bn", FIELDS(batchnorm_fields), NULL},
    {"layernorm", B_LAYER, DNACL_L_LAYERNORM, "ln", FIELDS(layernorm_fields), NULL},
    {"activation", B_LAYER, DNACL_L_ACTIVATION, "act", FIELDS(activation_fields), "fn"},
    {"maxpool", B_LAYER, DNACL_L_MAXPOOL, "pool", FIELDS(maxpool_fields), "window"},
    {"flatten", B_LAYER, DNACL_L_FLATTEN, "flatten", NULL, 0, NULL},
    {"dropout", B_LAYER, DNACL_L_DROPOUT, "drop", FIELDS(dropout_fields), "p"},
    {"transformer", B_LAYER, DNACL_L_TRANSFORMER, "tf", FIELDS(transformer_fields), NULL},
    {"repeat", B_REPEAT, 0, NULL, FIELDS(repeat_fields), NULL},
    {"residual", B_RESIDUAL, DNACL_L_RESIDUAL_BEGIN, "res", FIELDS(residual_fields), NULL},
};
#define N_KINDS (int)(sizeof kinds / sizeof kinds[0])

const char *dnacl_layer_kind_name(dnacl_layer_kind k) {
  if (k == DNACL_L_RESIDUAL_END) return "residual_end";
  for (int i = 0; i < N_KINDS; i++)
    if (kinds[i].block != B_REPEAT && kinds[i].kind == k) return kinds[i].key;
  return "?";
}

static void set_defaults(dnacl_layer_spec *l, dnacl_layer_kind k) {
  memset(l, 0, sizeof *l);
  l->kind = k;
  l->match = -1;
  switch (k) {
    case DNACL_L_CONV1D:
      l->dilation = 1;
      l->same_padding = 1;
      l->bias = 1;
      break;
    case DNACL_L_DENSE:
      l->bias = 1;
      break;
    case DNACL_L_BATCHNORM: /* PyTorch's defaults, as in tools/reference_model.py */
      l->eps = 1e-5f;
      l->momentum = 0.1f;
      break;
    case DNACL_L_LAYERNORM:
      l->eps = 1e-5f;
      break;
    default:
      break;
  }
}

/* ---- activation names --------------------------------------------------------------- */

static dnacl_status parse_act(const dnacl_ydoc *d, const dnacl_ynode *n, const char *key, void *dst) {
  const char *v;
  DNACL_TRY(dnacl_yget_str(d, n, key, &v));
  int a = dnacl_act_from_name(v);
  if (a < 0) {
    char list[512];
    size_t k = (size_t)snprintf(list, sizeof list, "gelu");
    for (int i = 0; i < DNACL_ACT_COUNT && k < sizeof list; i++)
      k += (size_t)snprintf(list + k, sizeof list - k, ", %s", dnacl_act_name((dnacl_act)i));
    return dnacl_yerr(d, n, "unknown activation '%s'; known: %s", v, list);
  }
  dnacl_act act = (dnacl_act)a;
  memcpy(dst, &act, sizeof act);
  return DNACL_OK;
}

/* ---- expansion ------------------------------------------------------------------------ */

typedef struct mbuild {
  const dnacl_ydoc *d;
  dnacl_model_spec *s;
  int cap;
  int ordinal[DNACL_L_RESIDUAL_END + 1]; /* layers of each kind emitted so far */
  const dnacl_ynode *ablate_at;          /* the first `ablate: true` */
} mbuild;

static const kind_info *find_kind(const char *key) {
  for (int i = 0; i < N_KINDS; i++)
    if (strcmp(kinds[i].key, key) == 0) return &kinds[i];
  return NULL;
}

static dnacl_status emit(mbuild *b, dnacl_layer_spec *l, const dnacl_ynode *at) {
  dnacl_model_spec *s = b->s;
  if (s->n_layers >= MAX_LAYERS)
    return dnacl_yerr(b->d, at, "the model expands to more than %d layers; check the repeat counts",
                      MAX_LAYERS);
  if (s->n_layers == b->cap) {
    int cap = b->cap ? 2 * b->cap : 32;
    dnacl_layer_spec *nl = realloc(s->layers, (size_t)cap * sizeof *nl);
    if (!nl) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    s->layers = nl;
    b->cap = cap;
  }
  l->line = at->line;
  l->col = at->col;
  s->layers[s->n_layers++] = *l;
  return DNACL_OK;
}

/* Names end up in checkpoints as "<layer>.<param>" and in file names of exported filters,
 * so keep them to a safe alphabet. */
static dnacl_status set_name(mbuild *b, const dnacl_ynode *n, int copy, char out[64]) {
  const char *v;
  DNACL_TRY(dnacl_yget_str(b->d, n, "name", &v));
  size_t len = strlen(v);
  int ok = len >= 1 && len <= MAX_NAME &&
           ((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z') || v[0] == '_');
  for (size_t i = 1; ok && i < len; i++) {
    char c = v[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
  }
  if (!ok)
    return dnacl_yerr(b->d, n,
                      "layer name '%s' must be 1-%d characters, start with a letter or '_', and use "
                      "only letters, digits, '_' and '-' (checkpoints name tensors '<layer>.<param>')",
                      v, MAX_NAME);
  if (copy)
    return dnacl_yerr(b->d, n,
                      "layer name '%s' is inside a repeat block with times > 1, so several layers "
                      "would share it; leave the name out and dnacl numbers them",
                      v);
  snprintf(out, 64, "%s", v);
  return DNACL_OK;
}

static void gen_name(mbuild *b, const kind_info *ki, dnacl_layer_kind k, char out[64]) {
  snprintf(out, 64, "%s%d", ki->prefix, ++b->ordinal[k]);
}

static dnacl_status parse_layers(mbuild *b, const dnacl_ynode *seq, const dnacl_ynode *owner,
                                 int depth, int copy);

static dnacl_status parse_block(mbuild *b, const kind_info *ki, const dnacl_ynode *kkey,
                                const dnacl_ynode *opts, int depth, int copy) {
  const dnacl_ydoc *d = b->d;
  if (depth >= MAX_BLOCK_DEPTH)
    return dnacl_yerr(d, kkey, "repeat/residual blocks nested deeper than %d levels", MAX_BLOCK_DEPTH);
  block_opts o = {0};
  DNACL_TRY(dnacl_yread(d, opts, kkey, ki->fields, ki->n_fields, NULL, &o, ki->key));
  if (ki->block == B_REPEAT) {
    for (int t = 0; t < o.times; t++)
      DNACL_TRY(parse_layers(b, o.layers, dnacl_ymap_key(opts, "layers"), depth + 1, copy || t > 0));
    return DNACL_OK;
  }
  /* residual: BEGIN saves the input, the branch follows, END adds the saved input. */
  dnacl_layer_spec l;
  set_defaults(&l, DNACL_L_RESIDUAL_BEGIN);
  if (o.name)
    DNACL_TRY(set_name(b, dnacl_ymap_get(opts, "name"), copy, l.name));
  else
    gen_name(b, ki, DNACL_L_RESIDUAL_BEGIN, l.name);
  if (o.name) b->ordinal[DNACL_L_RESIDUAL_BEGIN]++; /* keep later generated ordinals stable */
  int begin = b->s->n_layers;
  DNACL_TRY(emit(b, &l, kkey));
  DNACL_TRY(parse_layers(b, o.layers, dnacl_ymap_key(opts, "layers"), depth + 1, copy));
  dnacl_layer_spec e;
  set_defaults(&e, DNACL_L_RESIDUAL_END);
  /* Names are at most MAX_NAME (47) characters, so the suffix always fits. */
  snprintf(e.name, sizeof e.name, "%.*s_end", MAX_NAME, b->s->layers[begin].name);
  e.match = begin;
  DNACL_TRY(emit(b, &e, kkey));
  b->s->layers[begin].match = b->s->n_layers - 1;
  return DNACL_OK;
}

static dnacl_status parse_item(mbuild *b, const dnacl_ynode *item, int depth, int copy) {
  const dnacl_ydoc *d = b->d;
  const dnacl_ynode *kkey, *opts;
  if (item->kind == DNACL_Y_SCALAR) {
    if (dnacl_ynode_is_null(item))
      return dnacl_yerr(d, item, "empty layer entry; write a layer such as '- conv1d: {filters: 64, kernel: 10}'");
    kkey = item; /* "- flatten": a kind with no options */
    opts = NULL;
  } else if (item->kind == DNACL_Y_MAP) {
    if (item->n == 0)
      return dnacl_yerr(d, item, "empty layer entry; a layer is '- <kind>: <options>'");
    if (item->n > 1)
      return dnacl_yerr(d, item->keys[1],
                        "a layer is a mapping with one key naming its kind, but '%s' follows '%s'; "
                        "options go inside the kind's mapping, e.g. '- %s: {%s: ...}'",
                        item->keys[1]->value, item->keys[0]->value, item->keys[0]->value,
                        item->keys[1]->value);
    kkey = item->keys[0];
    opts = item->items[0];
  } else {
    return dnacl_yerr(d, item, "expected a layer such as '- conv1d: {filters: 64, kernel: 10}', got a list");
  }
  const kind_info *ki = find_kind(kkey->value);
  if (!ki) {
    const char *names[N_KINDS + 1];
    for (int i = 0; i < N_KINDS; i++) names[i] = kinds[i].key;
    names[N_KINDS] = NULL;
    char list[512];
    size_t k = 0;
    list[0] = 0;
    for (int i = 0; i < N_KINDS && k < sizeof list; i++)
      k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", names[i]);
    const char *close = dnacl_ysuggest(kkey->value, names);
    if (close)
      return dnacl_yerr(d, kkey, "unknown layer kind '%s' (did you mean '%s'?); known kinds: %s",
                        kkey->value, close, list);
    return dnacl_yerr(d, kkey, "unknown layer kind '%s'; known kinds: %s", kkey->value, list);
  }
  if (ki->block != B_LAYER) return parse_block(b, ki, kkey, opts, depth, copy);

  dnacl_layer_spec l;
  set_defaults(&l, ki->kind);
  static const char *const name_key[] = {"name", NULL};
  if (opts && opts->kind == DNACL_Y_SCALAR && !dnacl_ynode_is_null(opts)) {
    const dnacl_yfield *f = NULL;
    for (int i = 0; ki->shorthand && i < ki->n_fields; i++)
      if (strcmp(ki->fields[i].key, ki->shorthand) == 0) f = &ki->fields[i];
    if (!f)
      return dnacl_yerr(d, opts, "%s takes a mapping of options (see yaml/README.md), got '%s'",
                        ki->key, opts->value);
    /* Messages name what the user wrote ("'dropout' must be in [0, 1)"), not the hidden key. */
    dnacl_yfield named = *f;
    named.key = ki->key;
    DNACL_TRY(dnacl_yread_value(d, opts, &named, &l));
  } else {
    DNACL_TRY(dnacl_yread(d, opts, kkey, ki->fields, ki->n_fields, name_key, &l, ki->key));
  }
  /* Non-overlapping windows unless told otherwise, as Keras and Flax pools are used. */
  if (l.kind == DNACL_L_MAXPOOL && !dnacl_ymap_get(opts, "stride")) l.stride = l.window;

  const dnacl_ynode *nm = dnacl_ymap_get(opts, "name");
  if (nm) {
    DNACL_TRY(set_name(b, nm, copy, l.name));
    b->ordinal[ki->kind]++; /* named layers still count, so "conv2" is always the 2nd conv */
  } else {
    gen_name(b, ki, ki->kind, l.name);
  }

  if (l.ablation) {
    const dnacl_ynode *at = dnacl_ymap_key(opts, "ablate");
    if (copy)
      return dnacl_yerr(d, at,
                        "'ablate: true' inside a repeat block with times > 1 marks several "
                        "activations; at most one activation may be ablated");
    if (b->ablate_at)
      return dnacl_yerr(d, at,
                        "a second 'ablate: true' (the first is at line %d); at most one activation "
                        "may be ablated",
                        b->ablate_at->line);
    b->ablate_at = at;
    b->s->ablation_layer = b->s->n_layers;
  }
  return emit(b, &l, kkey);
}

static dnacl_status parse_layers(mbuild *b, const dnacl_ynode *seq, const dnacl_ynode *owner,
                                 int depth, int copy) {
  if (seq->kind != DNACL_Y_SEQ || dnacl_ynode_is_null(seq))
    return dnacl_yerr(b->d, seq, "'layers' must be a list of layers ('- conv1d: {...}' lines), got %s",
                      dnacl_ynode_describe(seq));
  if (seq->n == 0)
    return dnacl_yerr(b->d, owner ? owner : seq, "'layers' is empty; list at least one layer");
  for (int i = 0; i < seq->n; i++) DNACL_TRY(parse_item(b, seq->items[i], depth, copy));
  return DNACL_OK;
}

static dnacl_status check_unique_names(mbuild *b) {
  dnacl_model_spec *s = b->s;
  for (int i = 1; i < s->n_layers; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(s->layers[i].name, s->layers[j].name) == 0)
        return dnacl_model_spec_error(
            s, s->layers[i].line, s->layers[i].col,
            "layer name '%s' is used twice: by the %s at line %d and by this %s (layers without a "
            "name are called <kind><n>, e.g. conv2; pick another name)",
            s->layers[i].name, dnacl_layer_kind_name(s->layers[j].kind), s->layers[j].line,
            dnacl_layer_kind_name(s->layers[i].kind));
  return DNACL_OK;
}

static dnacl_status build(const dnacl_ydoc *d, dnacl_model_spec *s) {
  mbuild b;
  memset(&b, 0, sizeof b);
  b.d = d;
  b.s = s;
  const dnacl_ynode *root = d->root;
  if (!root)
    return dnacl_yerr_at(d->path, d->text, 1, 1,
                         "the file is empty; a model file is a mapping with 'length', 'tasks' and "
                         "'layers' (see yaml/README.md)");
  if (root->kind != DNACL_Y_MAP)
    return dnacl_yerr(d, root,
                      "a model file is a mapping with keys name, length, tasks, alphabet, layers; "
                      "got %s",
                      dnacl_ynode_describe(root));
  top_opts t = {.alphabet = 4};
  DNACL_TRY(dnacl_yread(d, root, NULL, top_fields, (int)(sizeof top_fields / sizeof top_fields[0]),
                        NULL, &t, "the model"));
  if (t.name) {
    if (strlen(t.name) > 63)
      return dnacl_yerr(d, dnacl_ymap_get(root, "name"), "the model name is longer than 63 characters");
    snprintf(s->name, sizeof s->name, "%s", t.name);
  } else {
    dnacl_ypath_stem(d->path, s->name);
  }
  if (t.description && !(s->description = strdup(t.description)))
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  s->length = t.length;
  s->tasks = t.tasks;
  s->alphabet = t.alphabet;
  DNACL_TRY(parse_layers(&b, t.layers, dnacl_ymap_key(root, "layers"), 0, 0));
  return check_unique_names(&b);
}

static dnacl_status parse_text(const char *path, const char *text, size_t len,
                               dnacl_model_spec *out) {
  memset(out, 0, sizeof *out);
  out->ablation_layer = -1;
  if (!path) path = "<model>";
  dnacl_ydoc d;
  DNACL_TRY(dnacl_ydoc_parse(path, text, len, &d));
  /* path and text first: some errors are formatted through the spec. d.text is the exact
   * text parsed (NUL-terminated), so positions in messages match it. */
  out->path = strdup(path);
  out->text = strdup(d.text);
  dnacl_status st = (out->path && out->text) ? build(&d, out) : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  dnacl_ydoc_free(&d);
  if (st) {
    dnacl_model_spec_free(out);
    out->ablation_layer = -1;
  }
  return st;
}

dnacl_status dnacl_model_spec_parse(const char *path, const char *text, dnacl_model_spec *out) {
  if (!out) return dnacl_fail(DNACL_ERR_ARG, "dnacl_model_spec_parse: out is NULL");
  if (!text) {
    memset(out, 0, sizeof *out);
    out->ablation_layer = -1;
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_model_spec_parse: text is NULL");
  }
  return parse_text(path, text, strlen(text), out);
}

dnacl_status dnacl_model_spec_load(const char *path, dnacl_model_spec *out) {
  if (!out || !path) return dnacl_fail(DNACL_ERR_ARG, "dnacl_model_spec_load: NULL argument");
  memset(out, 0, sizeof *out);
  out->ablation_layer = -1;
  char *text;
  size_t len;
  DNACL_TRY(dnacl_yread_file(path, &text, &len));
  /* The whole length, so a stray NUL byte is a YAML error rather than a silent end. */
  dnacl_status st = parse_text(path, text, len, out);
  free(text);
  return st;
}

void dnacl_model_spec_free(dnacl_model_spec *s) {
  if (!s) return;
  free(s->path);
  free(s->text);
  free(s->layers);
  free(s->description);
  memset(s, 0, sizeof *s);
}

dnacl_status dnacl_model_spec_fail(const dnacl_model_spec *s, dnacl_status status, int line, int col,
                                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dnacl_yerr_vat(s ? s->path : NULL, s ? s->text : NULL, line, col, fmt, ap);
  va_end(ap);
  return status;
}

dnacl_status dnacl_model_spec_error(const dnacl_model_spec *s, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dnacl_status st = dnacl_yerr_vat(s ? s->path : NULL, s ? s->text : NULL, line, col, fmt, ap);
  va_end(ap);
  return st;
}
