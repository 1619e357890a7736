/* Overrides on a parsed model spec and the spec written back as YAML (override.h).
 *
 * The option table below repeats the keys, types and ranges of src/io/model_spec.c's
 * tables (which are private to the model parser). It cannot drift silently: every
 * override ends in dnacl_spec_refresh_text, which re-parses the generated file with the
 * model parser itself, so a value that parser would refuse is refused here too, only with
 * a less precise message. */
#include "sweep/override.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/yaml_util.h"

/* ---- the options of each layer kind ------------------------------------------------- */

typedef enum { P_INT, P_FLOAT, P_BOOL, P_PADDING, P_ACT } ptype;

typedef struct pdef {
  const char *key;
  ptype type;
  size_t offset;
  double min, max;
  int min_open, max_open;
} pdef;

#define LS(m) offsetof(dnacl_layer_spec, m)
static const pdef conv_p[] = {{"filters", P_INT, LS(filters), 1, 1 << 20, 0, 0},
                              {"kernel", P_INT, LS(kernel), 1, 1 << 16, 0, 0},
                              {"padding", P_PADDING, LS(same_padding), 0, 0, 0, 0},
                              {"dilation", P_INT, LS(dilation), 1, 1 << 16, 0, 0},
                              {"bias", P_BOOL, LS(bias), 0, 0, 0, 0},
                              {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef dense_p[] = {{"units", P_INT, LS(units), 1, 1 << 24, 0, 0},
                               {"bias", P_BOOL, LS(bias), 0, 0, 0, 0},
                               {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef bn_p[] = {{"eps", P_FLOAT, LS(eps), 0, 1, 1, 0},
                            {"momentum", P_FLOAT, LS(momentum), 0, 1, 0, 0},
                            {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef ln_p[] = {{"eps", P_FLOAT, LS(eps), 0, 1, 1, 0}, {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef act_p[] = {{"fn", P_ACT, LS(act), 0, 0, 0, 0}, {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef pool_p[] = {{"window", P_INT, LS(window), 1, 1 << 24, 0, 0},
                              {"stride", P_INT, LS(stride), 1, 1 << 24, 0, 0},
                              {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef drop_p[] = {{"p", P_FLOAT, LS(p), 0, 1, 0, 1}, {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef tf_p[] = {{"heads", P_INT, LS(heads), 1, 4096, 0, 0},
                            {"mlp", P_INT, LS(mlp), 1, 1 << 20, 0, 0},
                            {"dropout", P_FLOAT, LS(p), 0, 1, 0, 1},
                            {NULL, 0, 0, 0, 0, 0, 0}};
static const pdef none_p[] = {{NULL, 0, 0, 0, 0, 0, 0}};

static const pdef *params_of(dnacl_layer_kind k) {
  switch (k) {
    case DNACL_L_CONV1D: return conv_p;
    case DNACL_L_DENSE: return dense_p;
    case DNACL_L_BATCHNORM: return bn_p;
    case DNACL_L_LAYERNORM: return ln_p;
    case DNACL_L_ACTIVATION: return act_p;
    case DNACL_L_MAXPOOL: return pool_p;
    case DNACL_L_DROPOUT: return drop_p;
    case DNACL_L_TRANSFORMER: return tf_p;
    default: return none_p;
  }
}

const char *const *dnacl_spec_param_keys(dnacl_layer_kind k) {
  /* The keys of the table above, in its order (kept next to it). */
  static const char *const conv_k[] = {"filters", "kernel", "padding", "dilation", "bias", NULL};
  static const char *const dense_k[] = {"units", "bias", NULL};
  static const char *const bn_k[] = {"eps", "momentum", NULL};
  static const char *const ln_k[] = {"eps", NULL};
  static const char *const act_k[] = {"fn", NULL};
  static const char *const pool_k[] = {"window", "stride", NULL};
  static const char *const drop_k[] = {"p", NULL};
  static const char *const tf_k[] = {"heads", "mlp", "dropout", NULL};
  static const char *const none_k[] = {NULL};
  switch (k) {
    case DNACL_L_CONV1D: return conv_k;
    case DNACL_L_DENSE: return dense_k;
    case DNACL_L_BATCHNORM: return bn_k;
    case DNACL_L_LAYERNORM: return ln_k;
    case DNACL_L_ACTIVATION: return act_k;
    case DNACL_L_MAXPOOL: return pool_k;
    case DNACL_L_DROPOUT: return drop_k;
    case DNACL_L_TRANSFORMER: return tf_k;
    default: return none_k;
  }
}

static void join_keys(const char *const *keys, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; keys[i] && k + 1 < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", keys[i]);
}

/* ---- values from text ----------------------------------------------------------------- */

static int parse_int(const char *v, long *out) {
  const char *p = v;
  if (*p == '+' || *p == '-') p++;
  if (!*p || strspn(p, "0123456789") != strlen(p)) return 0;
  errno = 0;
  long x = strtol(v, NULL, 10);
  if (errno == ERANGE) return 0;
  *out = x;
  return 1;
}

/* Decimal notation only, as model files (yaml_util.c): no nan, inf or hex. */
static int parse_float(const char *v, double *out) {
  if (!*v || strspn(v, "0123456789+-.eE") != strlen(v)) return 0;
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (end == v || *end || errno == ERANGE || !isfinite(x)) return 0;
  *out = x;
  return 1;
}

static int parse_bool(const char *v, int *out) {
  if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) return *out = 1, 1;
  if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) return *out = 0, 1;
  return 0;
}

static dnacl_status range_error(const dnacl_layer_spec *l, const pdef *p, const char *v) {
  if (p->type == P_FLOAT)
    return dnacl_fail(DNACL_ERR_ARG, "%s.%s must be in %c%g, %g%c, got %s", l->name, p->key,
                      p->min_open ? '(' : '[', p->min, p->max, p->max_open ? ')' : ']', v);
  return dnacl_fail(DNACL_ERR_ARG, "%s.%s must be between %g and %g, got %s", l->name, p->key,
                    p->min, p->max, v);
}

static void act_list(char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "gelu");
  for (int i = 0; i < DNACL_ACT_COUNT && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, ", %s", dnacl_act_name((dnacl_act)i));
}

static dnacl_status set_value(dnacl_layer_spec *l, const pdef *p, const char *v) {
  char *dst = (char *)l + p->offset;
  switch (p->type) {
    case P_INT: {
      long x;
      if (!parse_int(v, &x)) return dnacl_fail(DNACL_ERR_ARG, "%s.%s expects an integer, got '%s'", l->name, p->key, v);
      if (x < p->min || x > p->max) return range_error(l, p, v);
      int i = (int)x;
      memcpy(dst, &i, sizeof i);
      return DNACL_OK;
    }
    case P_FLOAT: {
      double x;
      if (!parse_float(v, &x)) return dnacl_fail(DNACL_ERR_ARG, "%s.%s expects a number, got '%s'", l->name, p->key, v);
      int lo_bad = p->min_open ? !(x > p->min) : !(x >= p->min);
      int hi_bad = p->max_open ? !(x < p->max) : !(x <= p->max);
      if (lo_bad || hi_bad) return range_error(l, p, v);
      float f = (float)x;
      memcpy(dst, &f, sizeof f);
      return DNACL_OK;
    }
    case P_BOOL: {
      int b;
      if (!parse_bool(v, &b)) return dnacl_fail(DNACL_ERR_ARG, "%s.%s expects true or false, got '%s'", l->name, p->key, v);
      memcpy(dst, &b, sizeof b);
      return DNACL_OK;
    }
    case P_PADDING: {
      int same;
      if (!strcmp(v, "same")) same = 1;
      else if (!strcmp(v, "valid")) same = 0;
      else return dnacl_fail(DNACL_ERR_ARG, "%s.padding must be same or valid, got '%s'", l->name, v);
      memcpy(dst, &same, sizeof same);
      return DNACL_OK;
    }
    case P_ACT: {
      int a = dnacl_act_from_name(v);
      if (a < 0) {
        char list[256];
        act_list(list, sizeof list);
        return dnacl_fail(DNACL_ERR_ARG, "unknown activation '%s'; known: %s", v, list);
      }
      dnacl_act act = (dnacl_act)a;
      memcpy(dst, &act, sizeof act);
      return DNACL_OK;
    }
  }
  return dnacl_fail(DNACL_ERR_ARG, "internal: unknown option type");
}

/* ---- overrides ------------------------------------------------------------------------ */

static void layer_list(const dnacl_model_spec *s, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < s->n_layers && k + 1 < cap; i++) {
    if (s->layers[i].kind == DNACL_L_RESIDUAL_END) continue;
    k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? ", " : "", s->layers[i].name);
  }
}

dnacl_status dnacl_spec_set_param(dnacl_model_spec *s, const char *layer, const char *key,
                                  const char *value) {
  if (!s || !layer || !key || !value) return dnacl_fail(DNACL_ERR_ARG, "dnacl_spec_set_param: NULL argument");
  dnacl_layer_spec *l = NULL;
  for (int i = 0; i < s->n_layers && !l; i++)
    if (s->layers[i].kind != DNACL_L_RESIDUAL_END && !strcmp(s->layers[i].name, layer)) l = &s->layers[i];
  if (!l) {
    char list[2048];
    layer_list(s, list, sizeof list);
    return dnacl_fail(DNACL_ERR_ARG, "model %s (%s) has no layer '%s'; its layers: %s", s->name,
                      s->path ? s->path : "?", layer, list);
  }
  const pdef *p = params_of(l->kind);
  const char *const *keys = dnacl_spec_param_keys(l->kind);
  if (!keys[0])
    return dnacl_fail(DNACL_ERR_ARG, "layer %s of model %s is a %s, which has no options to set", l->name,
                      s->name, dnacl_layer_kind_name(l->kind));
  const pdef *f = NULL;
  for (int i = 0; p[i].key && !f; i++)
    if (!strcmp(p[i].key, key)) f = &p[i];
  if (!f) {
    char list[256];
    join_keys(keys, list, sizeof list);
    const char *close = dnacl_ysuggest(key, keys);
    return dnacl_fail(DNACL_ERR_ARG, "layer %s of model %s is a %s, whose options are %s; got '%s'%s%s%s", l->name,
                      s->name, dnacl_layer_kind_name(l->kind), list, key, close ? " (did you mean '" : "",
                      close ? close : "", close ? "'?)" : "");
  }
  int old_window = l->window, old_stride = l->stride;
  DNACL_TRY(set_value(l, f, value));
  if (l->kind == DNACL_L_MAXPOOL && !strcmp(key, "window") && old_stride == old_window) l->stride = l->window;
  return DNACL_OK;
}

dnacl_status dnacl_spec_set_ablation(dnacl_model_spec *s, const char *fn) {
  if (!s || !fn) return dnacl_fail(DNACL_ERR_ARG, "dnacl_spec_set_ablation: NULL argument");
  if (s->ablation_layer < 0 || s->ablation_layer >= s->n_layers)
    return dnacl_fail(DNACL_ERR_ARG,
                      "model %s (%s) has no activation marked 'ablate: true', so an activation sweep "
                      "cannot vary it; mark the first-layer activation as in yaml/models/cnn_dist.yaml",
                      s->name, s->path ? s->path : "?");
  return set_value(&s->layers[s->ablation_layer], &act_p[0], fn);
}

dnacl_status dnacl_spec_override(dnacl_model_spec *s, const char *target, const char *value) {
  if (!target) return dnacl_fail(DNACL_ERR_ARG, "dnacl_spec_override: NULL target");
  if (!strcmp(target, "activation")) return dnacl_spec_set_ablation(s, value);
  const char *dot = strchr(target, '.');
  if (!dot || dot == target || !dot[1])
    return dnacl_fail(DNACL_ERR_ARG, "'%s' is neither 'activation' nor '<layer>.<option>' (e.g. conv1.filters)", target);
  char layer[64];
  size_t n = (size_t)(dot - target);
  if (n >= sizeof layer) return dnacl_fail(DNACL_ERR_ARG, "layer name in '%s' is too long", target);
  memcpy(layer, target, n);
  layer[n] = 0;
  return dnacl_spec_set_param(s, layer, dot + 1, value);
}

/* ---- copies and comparison ------------------------------------------------------------ */

static char *dup_or_null(const char *s, int *oom) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *oom = 1;
  return d;
}

dnacl_status dnacl_spec_copy(const dnacl_model_spec *src, dnacl_model_spec *dst) {
  memset(dst, 0, sizeof *dst);
  *dst = *src;
  dst->path = dst->text = dst->description = NULL;
  dst->layers = NULL;
  int oom = 0;
  dst->path = dup_or_null(src->path, &oom);
  dst->text = dup_or_null(src->text, &oom);
  dst->description = dup_or_null(src->description, &oom);
  if (src->n_layers > 0) {
    dst->layers = malloc((size_t)src->n_layers * sizeof *dst->layers);
    if (dst->layers) memcpy(dst->layers, src->layers, (size_t)src->n_layers * sizeof *dst->layers);
    else oom = 1;
  }
  if (oom) {
    dnacl_model_spec_free(dst);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  return DNACL_OK;
}

static int same_layer(const dnacl_layer_spec *a, const dnacl_layer_spec *b) {
  return a->kind == b->kind && !strcmp(a->name, b->name) && a->filters == b->filters && a->kernel == b->kernel &&
         a->dilation == b->dilation && a->same_padding == b->same_padding && a->bias == b->bias &&
         a->units == b->units && a->eps == b->eps && a->momentum == b->momentum && a->act == b->act &&
         a->ablation == b->ablation && a->window == b->window && a->stride == b->stride && a->p == b->p &&
         a->heads == b->heads && a->mlp == b->mlp && a->match == b->match;
}

int dnacl_spec_same_layers(const dnacl_model_spec *a, const dnacl_model_spec *b) {
  if (strcmp(a->name, b->name) || a->length != b->length || a->tasks != b->tasks || a->alphabet != b->alphabet ||
      a->n_layers != b->n_layers || a->ablation_layer != b->ablation_layer)
    return 0;
  for (int i = 0; i < a->n_layers; i++)
    if (!same_layer(&a->layers[i], &b->layers[i])) return 0;
  return 1;
}

/* ---- YAML out ------------------------------------------------------------------------- */

/* The shortest decimal that reads back as the same float, so files stay readable
 * ("0.001", not "0.00100000005") and the round trip is exact. */
static void fmt_float(float v, char *buf, size_t cap) {
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(buf, cap, "%.*g", prec, (double)v);
    if (strtof(buf, NULL) == v) return;
  }
}

/* A double-quoted YAML string. */
static void sb_quoted(dnacl_ybuf *b, const char *s) {
  dnacl_ybuf_printf(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') dnacl_ybuf_printf(b, "\\%c", *p);
    else if (*p == '\n') dnacl_ybuf_printf(b, "\\n");
    else if (*p == '\t') dnacl_ybuf_printf(b, "\\t");
    else if (*p < 0x20) dnacl_ybuf_printf(b, "\\x%02x", *p);
    else dnacl_ybuf_printf(b, "%c", *p);
  }
  dnacl_ybuf_printf(b, "\"");
}

static void sb_name(dnacl_ybuf *b, const char *name) {
  /* Layer names use a safe alphabet (model_spec.c), but a few plain words are YAML nulls. */
  if (!strcmp(name, "null") || !strcmp(name, "Null") || !strcmp(name, "NULL")) sb_quoted(b, name);
  else dnacl_ybuf_printf(b, "%s", name);
}

static void emit_layer(dnacl_ybuf *b, const dnacl_layer_spec *l, int indent) {
  char f1[32], f2[32];
  dnacl_ybuf_printf(b, "%*s- %s: {name: ", indent, "", dnacl_layer_kind_name(l->kind));
  sb_name(b, l->name);
  switch (l->kind) {
    case DNACL_L_CONV1D:
      dnacl_ybuf_printf(b, ", filters: %d, kernel: %d, padding: %s, dilation: %d, bias: %s", l->filters, l->kernel,
                l->same_padding ? "same" : "valid", l->dilation, l->bias ? "true" : "false");
      break;
    case DNACL_L_DENSE:
      dnacl_ybuf_printf(b, ", units: %d, bias: %s", l->units, l->bias ? "true" : "false");
      break;
    case DNACL_L_BATCHNORM:
      fmt_float(l->eps, f1, sizeof f1);
      fmt_float(l->momentum, f2, sizeof f2);
      dnacl_ybuf_printf(b, ", eps: %s, momentum: %s", f1, f2);
      break;
    case DNACL_L_LAYERNORM:
      fmt_float(l->eps, f1, sizeof f1);
      dnacl_ybuf_printf(b, ", eps: %s", f1);
      break;
    case DNACL_L_ACTIVATION:
      dnacl_ybuf_printf(b, ", fn: %s%s", dnacl_act_name(l->act), l->ablation ? ", ablate: true" : "");
      break;
    case DNACL_L_MAXPOOL:
      dnacl_ybuf_printf(b, ", window: %d, stride: %d", l->window, l->stride);
      break;
    case DNACL_L_DROPOUT:
      fmt_float(l->p, f1, sizeof f1);
      dnacl_ybuf_printf(b, ", p: %s", f1);
      break;
    case DNACL_L_TRANSFORMER:
      fmt_float(l->p, f1, sizeof f1);
      dnacl_ybuf_printf(b, ", heads: %d, mlp: %d, dropout: %s", l->heads, l->mlp, f1);
      break;
    default:
      break;
  }
  dnacl_ybuf_printf(b, "}\n");
}

dnacl_status dnacl_spec_to_yaml(const dnacl_model_spec *s, const char *comment, char **text) {
  if (!s || !text) return dnacl_fail(DNACL_ERR_ARG, "dnacl_spec_to_yaml: NULL argument");
  *text = NULL;
  dnacl_ybuf b = {0};
  if (comment) {
    const char *p = comment;
    while (*p) {
      size_t n = strcspn(p, "\n");
      dnacl_ybuf_printf(&b, "# %.*s\n", (int)n, p);
      p += n;
      if (*p) p++;
    }
  }
  dnacl_ybuf_printf(&b, "name: ");
  sb_quoted(&b, s->name);
  if (s->description) {
    dnacl_ybuf_printf(&b, "\ndescription: ");
    sb_quoted(&b, s->description);
  }
  dnacl_ybuf_printf(&b, "\nlength: %d\ntasks: %d\nalphabet: %d\nlayers:\n", s->length, s->tasks, s->alphabet);
  int indent = 2;
  for (int i = 0; i < s->n_layers; i++) {
    const dnacl_layer_spec *l = &s->layers[i];
    if (l->kind == DNACL_L_RESIDUAL_BEGIN) {
      dnacl_ybuf_printf(&b, "%*s- residual:\n%*sname: ", indent, "", indent + 4, "");
      sb_name(&b, l->name);
      dnacl_ybuf_printf(&b, "\n%*slayers:\n", indent + 4, "");
      indent += 6;
    } else if (l->kind == DNACL_L_RESIDUAL_END) {
      indent -= 6;
      if (indent < 2) indent = 2;
    } else {
      emit_layer(&b, l, indent);
    }
  }
  if (b.oom) {
    free(b.p);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  *text = b.p;
  return DNACL_OK;
}

dnacl_status dnacl_spec_refresh_text(dnacl_model_spec *s, const char *comment) {
  char *text;
  DNACL_TRY(dnacl_spec_to_yaml(s, comment, &text));
  dnacl_model_spec back;
  char label[600];
  snprintf(label, sizeof label, "%s (with overrides)", s->path ? s->path : s->name);
  dnacl_status st = dnacl_model_spec_parse(label, text, &back);
  if (st != DNACL_OK) {
    free(text);
    return st;
  }
  int same = dnacl_spec_same_layers(s, &back);
  dnacl_model_spec_free(&back);
  if (!same) {
    free(text);
    return dnacl_fail(DNACL_ERR_ARG, "internal: model %s written as YAML does not read back the same", s->name);
  }
  free(s->text);
  s->text = text;
  return DNACL_OK;
}
