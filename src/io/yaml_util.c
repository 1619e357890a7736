/* YAML document tree with positions, typed getters and the table-driven mapping reader
 * (yaml_util.h). libyaml's own document loader drops marks for keys and cannot tell us
 * which scalars were quoted, so the tree is built here from the event parser. */
#include "io/yaml_util.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "runtime/runtime.h"

/* Deeper nesting than this is certainly a mistake (or hostile) and would risk the C stack. */
#define MAX_DEPTH 200

/* ---- arena: every allocation of a document, freed together ------------------ */

typedef struct arena {
  void **ptrs;
  size_t n, cap;
} arena;

static int arena_track(arena *a, void *p) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 64;
    void **np = realloc(a->ptrs, cap * sizeof *np);
    if (!np) return 0;
    a->ptrs = np;
    a->cap = cap;
  }
  a->ptrs[a->n++] = p;
  return 1;
}

static void *arena_calloc(arena *a, size_t size) {
  void *p = calloc(1, size ? size : 1);
  if (p && !arena_track(a, p)) {
    free(p);
    p = NULL;
  }
  return p;
}

static char *arena_strdup(arena *a, const char *s, size_t len) {
  char *p = arena_calloc(a, len + 1);
  if (p) memcpy(p, s, len);
  return p;
}

static void arena_free(arena *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n; i++) free(a->ptrs[i]);
  free(a->ptrs);
  free(a);
}

/* ---- error formatting ------------------------------------------------------ */

dnacl_status dnacl_yerr_vat(const char *path, const char *text, int line, int col, const char *fmt,
                            va_list ap) {
  char msg[2048];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (line < 1) line = 1;
  if (col < 1) col = 1;
  const char *p = path ? path : "<yaml>";
  if (!text) return dnacl_fail(DNACL_ERR_PARSE, "%s:%d:%d: %s", p, line, col, msg);

  /* Find the line; libyaml counts "\r\n", "\r" and "\n" as breaks, so do we. */
  const char *s = text;
  for (int l = 1; l < line && *s; l++) {
    while (*s && *s != '\n' && *s != '\r') s++;
    if (*s == '\r' && s[1] == '\n') s++;
    if (*s) s++;
  }
  size_t len = strcspn(s, "\r\n");
  /* Keep the excerpt readable on one terminal line even for a minified flow mapping. */
  enum { MAX_EXCERPT = 400 };
  const char *show = s;
  size_t show_len = len;
  int show_col = col;
  if (len > MAX_EXCERPT) {
    size_t start = 0;
    /* Character columns approximate byte offsets here; exact for ASCII. */
    if ((size_t)col > MAX_EXCERPT / 2) start = (size_t)col - MAX_EXCERPT / 2;
    if (start > len) start = len;
    show = s + start;
    show_len = len - start < MAX_EXCERPT ? len - start : MAX_EXCERPT;
    show_col = col - (int)start;
  }
  /* The caret line copies tabs so the caret lines up under tab-indented text; every other
   * character (a UTF-8 sequence counts once, as libyaml counts columns) becomes a space. */
  char caret[MAX_EXCERPT + 8];
  size_t k = 0;
  const unsigned char *u = (const unsigned char *)show;
  size_t i = 0;
  for (int c = 1; c < show_col && k < MAX_EXCERPT; c++) {
    if (i < show_len) {
      caret[k++] = u[i] == '\t' ? '\t' : ' ';
      i++;
      while (i < show_len && (u[i] & 0xC0) == 0x80) i++;
    } else {
      caret[k++] = ' ';
    }
  }
  caret[k++] = '^';
  caret[k] = 0;
  return dnacl_fail(DNACL_ERR_PARSE, "%s:%d:%d: %s\n%.*s\n%s", p, line, col, msg, (int)show_len,
                    show, caret);
}

dnacl_status dnacl_yerr_at(const char *path, const char *text, int line, int col, const char *fmt,
                           ...) {
  va_list ap;
  va_start(ap, fmt);
  dnacl_status s = dnacl_yerr_vat(path, text, line, col, fmt, ap);
  va_end(ap);
  return s;
}

dnacl_status dnacl_yerr(const dnacl_ydoc *d, const dnacl_ynode *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dnacl_status s = dnacl_yerr_vat(d->path, d->text, n ? n->line : 1, n ? n->col : 1, fmt, ap);
  va_end(ap);
  return s;
}

/* ---- building the tree from events ------------------------------------------- */

typedef struct anchor_def {
  char *name;
  dnacl_ynode *node;
} anchor_def;

typedef struct builder {
  yaml_parser_t parser;
  dnacl_ydoc *d;
  arena *a;
  anchor_def *anchors;
  int n_anchors, cap_anchors;
} builder;

static int mark_line(yaml_mark_t m) { return (int)m.line + 1; }
static int mark_col(yaml_mark_t m) { return (int)m.column + 1; }

/* Line and column of a byte offset (for reader errors, which only report an offset). */
static void offset_pos(const char *text, size_t len, size_t off, int *line, int *col) {
  int l = 1, c = 1;
  for (size_t i = 0; i < off && i < len; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch == '\n') {
      l++;
      c = 1;
    } else if ((ch & 0xC0) != 0x80) {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static dnacl_status parser_error(builder *b) {
  yaml_parser_t *p = &b->parser;
  if (p->error == YAML_MEMORY_ERROR) return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory parsing YAML", b->d->path);
  int line, col;
  if (p->error == YAML_READER_ERROR) {
    offset_pos(b->d->text, b->d->len, p->problem_offset, &line, &col);
    return dnacl_yerr_at(b->d->path, b->d->text, line, col, "YAML syntax error: %s",
                         p->problem ? p->problem : "unreadable input");
  }
  line = mark_line(p->problem_mark);
  col = mark_col(p->problem_mark);
  if (p->context)
    return dnacl_yerr_at(b->d->path, b->d->text, line, col,
                         "YAML syntax error: %s (%s at line %d, column %d)",
                         p->problem ? p->problem : "invalid YAML", p->context,
                         mark_line(p->context_mark), mark_col(p->context_mark));
  return dnacl_yerr_at(b->d->path, b->d->text, line, col, "YAML syntax error: %s",
                       p->problem ? p->problem : "invalid YAML");
}

static dnacl_status next_event(builder *b, yaml_event_t *e) {
  if (!yaml_parser_parse(&b->parser, e)) return parser_error(b);
  return DNACL_OK;
}

static dnacl_status add_anchor(builder *b, const yaml_char_t *name, dnacl_ynode *n) {
  if (!name) return DNACL_OK;
  if (b->n_anchors == b->cap_anchors) {
    int cap = b->cap_anchors ? 2 * b->cap_anchors : 8;
    anchor_def *na = realloc(b->anchors, (size_t)cap * sizeof *na);
    if (!na) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    b->anchors = na;
    b->cap_anchors = cap;
  }
  char *copy = strdup((const char *)name);
  if (!copy) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  b->anchors[b->n_anchors].name = copy;
  b->anchors[b->n_anchors].node = n;
  b->n_anchors++;
  return DNACL_OK;
}

static dnacl_ynode *find_anchor(builder *b, const char *name) {
  /* The latest definition wins: YAML lets an anchor be redefined further down. */
  for (int i = b->n_anchors - 1; i >= 0; i--)
    if (strcmp(b->anchors[i].name, name) == 0) return b->anchors[i].node;
  return NULL;
}

static dnacl_status build_node(builder *b, yaml_event_t *e, int depth, dnacl_ynode **out);

/* Read children until the closing event of a sequence or mapping (whose start event the
 * caller has consumed). */
static dnacl_status build_collection(builder *b, int is_map, int depth, dnacl_ynode *n) {
  dnacl_ynode **items = NULL, **keys = NULL;
  int count = 0, cap = 0;
  dnacl_status st = DNACL_OK;
  for (;;) {
    yaml_event_t e;
    st = next_event(b, &e);
    if (st) break;
    if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&e);
      break;
    }
    if (count == cap) {
      int ncap = cap ? 2 * cap : 8;
      dnacl_ynode **ni = realloc(items, (size_t)ncap * sizeof *ni);
      if (!ni) {
        yaml_event_delete(&e);
        st = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
        break;
      }
      items = ni;
      if (is_map) {
        dnacl_ynode **nk = realloc(keys, (size_t)ncap * sizeof *nk);
        if (!nk) {
          yaml_event_delete(&e);
          st = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
          break;
        }
        keys = nk;
      }
      cap = ncap;
    }
    if (is_map) {
      /* Keys must be plain strings: that is all a spec file ever needs, and it keeps
       * "unknown key" messages meaningful. */
      if (e.type != YAML_SCALAR_EVENT) {
        st = dnacl_yerr_at(b->d->path, b->d->text, mark_line(e.start_mark), mark_col(e.start_mark),
                           "mapping keys must be plain strings, not %s",
                           e.type == YAML_ALIAS_EVENT ? "an alias" : "a list or mapping");
        yaml_event_delete(&e);
        break;
      }
      dnacl_ynode *k;
      st = build_node(b, &e, depth + 1, &k);
      yaml_event_delete(&e);
      if (st) break;
      for (int i = 0; i < count; i++)
        if (strcmp(keys[i]->value, k->value) == 0) {
          st = dnacl_yerr(b->d, k, "duplicate key '%s' (first given at line %d)", k->value,
                          keys[i]->line);
          break;
        }
      if (st) break;
      yaml_event_t v;
      st = next_event(b, &v);
      if (st) break;
      dnacl_ynode *val;
      st = build_node(b, &v, depth + 1, &val);
      yaml_event_delete(&v);
      if (st) break;
      keys[count] = k;
      items[count] = val;
      count++;
    } else {
      dnacl_ynode *val;
      st = build_node(b, &e, depth + 1, &val);
      yaml_event_delete(&e);
      if (st) break;
      items[count++] = val;
    }
  }
  if (!st && items && !arena_track(b->a, items)) st = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (st) {
    free(items);
    free(keys);
    return st;
  }
  if (keys && !arena_track(b->a, keys)) {
    free(keys);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  n->items = items;
  n->keys = keys;
  n->n = count;
  return DNACL_OK;
}

static dnacl_status build_node(builder *b, yaml_event_t *e, int depth, dnacl_ynode **out) {
  *out = NULL;
  if (depth > MAX_DEPTH)
    return dnacl_yerr_at(b->d->path, b->d->text, mark_line(e->start_mark), mark_col(e->start_mark),
                         "nesting deeper than %d levels", MAX_DEPTH);
  if (e->type == YAML_ALIAS_EVENT) {
    const char *name = (const char *)e->data.alias.anchor;
    dnacl_ynode *t = find_anchor(b, name);
    if (!t)
      return dnacl_yerr_at(b->d->path, b->d->text, mark_line(e->start_mark), mark_col(e->start_mark),
                           "alias '*%s' refers to no anchor '&%s' defined before it", name, name);
    *out = t;
    return DNACL_OK;
  }
  dnacl_ynode *n = arena_calloc(b->a, sizeof *n);
  if (!n) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  n->line = mark_line(e->start_mark);
  n->col = mark_col(e->start_mark);
  dnacl_status st = DNACL_OK;
  const yaml_char_t *anchor = NULL;
  switch (e->type) {
    case YAML_SCALAR_EVENT: {
      n->kind = DNACL_Y_SCALAR;
      n->value = arena_strdup(b->a, (const char *)e->data.scalar.value, e->data.scalar.length);
      if (!n->value) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      if (strlen(n->value) != e->data.scalar.length)
        return dnacl_yerr(b->d, n, "a value contains a NUL character");
      const char *tag = (const char *)e->data.scalar.tag;
      n->quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                  (tag && strcmp(tag, YAML_STR_TAG) == 0);
      anchor = e->data.scalar.anchor;
      break;
    }
    case YAML_SEQUENCE_START_EVENT:
      n->kind = DNACL_Y_SEQ;
      anchor = e->data.sequence_start.anchor;
      st = build_collection(b, 0, depth, n);
      break;
    case YAML_MAPPING_START_EVENT:
      n->kind = DNACL_Y_MAP;
      anchor = e->data.mapping_start.anchor;
      st = build_collection(b, 1, depth, n);
      break;
    default:
      return dnacl_yerr_at(b->d->path, b->d->text, mark_line(e->start_mark), mark_col(e->start_mark),
                           "unexpected YAML event");
  }
  if (st) return st;
  /* Registered only once complete, so a node cannot contain an alias to itself: the tree
   * stays acyclic and every walk over it terminates. */
  DNACL_TRY(add_anchor(b, anchor, n));
  *out = n;
  return DNACL_OK;
}

static dnacl_status build_doc(builder *b) {
  yaml_event_t e;
  DNACL_TRY(next_event(b, &e)); /* STREAM-START */
  yaml_event_delete(&e);
  DNACL_TRY(next_event(b, &e));
  if (e.type == YAML_STREAM_END_EVENT) { /* empty input */
    yaml_event_delete(&e);
    return DNACL_OK;
  }
  yaml_event_delete(&e); /* DOCUMENT-START */
  DNACL_TRY(next_event(b, &e));
  dnacl_status st = build_node(b, &e, 0, &b->d->root);
  yaml_event_delete(&e);
  if (st) return st;
  DNACL_TRY(next_event(b, &e)); /* DOCUMENT-END */
  yaml_event_delete(&e);
  DNACL_TRY(next_event(b, &e));
  if (e.type == YAML_DOCUMENT_START_EVENT) {
    int line = mark_line(e.start_mark), col = mark_col(e.start_mark);
    yaml_event_delete(&e);
    return dnacl_yerr_at(b->d->path, b->d->text, line, col,
                         "a second YAML document starts here; a spec file holds exactly one");
  }
  yaml_event_delete(&e);
  /* A single plain null scalar ("~" or "null") is as empty as an empty file. */
  if (b->d->root && dnacl_ynode_is_null(b->d->root)) b->d->root = NULL;
  return DNACL_OK;
}

dnacl_status dnacl_ydoc_parse(const char *path, const char *text, size_t len, dnacl_ydoc *out) {
  memset(out, 0, sizeof *out);
  if (!text) return dnacl_fail(DNACL_ERR_ARG, "dnacl_ydoc_parse: text is NULL");
  builder b;
  memset(&b, 0, sizeof b);
  b.d = out;
  b.a = calloc(1, sizeof *b.a);
  out->path = strdup(path ? path : "<yaml>");
  out->text = malloc(len + 1);
  if (!b.a || !out->path || !out->text) {
    free(b.a);
    dnacl_ydoc_free(out);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  memcpy(out->text, text, len);
  out->text[len] = 0;
  out->len = len;
  out->arena_ = b.a;
  if (!yaml_parser_initialize(&b.parser)) {
    dnacl_ydoc_free(out);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  yaml_parser_set_input_string(&b.parser, (const unsigned char *)out->text, len);
  /* Fixed encoding: libyaml would otherwise guess from a BOM, and we index the text as
   * UTF-8 for error excerpts. */
  yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
  dnacl_status st = build_doc(&b);
  yaml_parser_delete(&b.parser);
  for (int i = 0; i < b.n_anchors; i++) free(b.anchors[i].name);
  free(b.anchors);
  if (st) dnacl_ydoc_free(out);
  return st;
}

dnacl_status dnacl_yread_file(const char *path, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  for (;;) {
    if (n + 1 >= cap) {
      /* Spec files are small; refuse something that is clearly not one. */
      if (cap >= (64u << 20)) {
        free(buf);
        fclose(f);
        return dnacl_fail(DNACL_ERR_IO, "'%s' is larger than 64 MiB; not a spec file", path);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - 1 - n, f);
    n += r;
    if (r == 0) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return dnacl_fail(DNACL_ERR_IO, "cannot read '%s'", path);
  }
  buf[n] = 0;
  *text = buf;
  *len = n;
  return DNACL_OK;
}

dnacl_status dnacl_ydoc_load(const char *path, dnacl_ydoc *out) {
  memset(out, 0, sizeof *out);
  char *text;
  size_t len;
  DNACL_TRY(dnacl_yread_file(path, &text, &len));
  dnacl_status st = dnacl_ydoc_parse(path, text, len, out);
  free(text);
  return st;
}

void dnacl_ydoc_free(dnacl_ydoc *d) {
  if (!d) return;
  arena_free(d->arena_);
  free(d->path);
  free(d->text);
  memset(d, 0, sizeof *d);
}

/* ---- node helpers ------------------------------------------------------------ */

int dnacl_ynode_is_null(const dnacl_ynode *n) {
  if (!n || n->kind != DNACL_Y_SCALAR || n->quoted) return 0;
  const char *v = n->value;
  return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

const char *dnacl_ynode_describe(const dnacl_ynode *n) {
  if (!n) return "nothing";
  switch (n->kind) {
    case DNACL_Y_SEQ: return "a list";
    case DNACL_Y_MAP: return "a mapping";
    case DNACL_Y_SCALAR: break;
  }
  if (dnacl_ynode_is_null(n)) return "nothing (null)";
  if (n->quoted) return "a string";
  char *end;
  errno = 0;
  (void)strtod(n->value, &end);
  if (end != n->value && !*end) return "a number";
  return "a string";
}

const dnacl_ynode *dnacl_ymap_get(const dnacl_ynode *map, const char *key) {
  if (!map || map->kind != DNACL_Y_MAP) return NULL;
  for (int i = 0; i < map->n; i++)
    if (strcmp(map->keys[i]->value, key) == 0) return map->items[i];
  return NULL;
}

const dnacl_ynode *dnacl_ymap_key(const dnacl_ynode *map, const char *key) {
  if (!map || map->kind != DNACL_Y_MAP) return NULL;
  for (int i = 0; i < map->n; i++)
    if (strcmp(map->keys[i]->value, key) == 0) return map->keys[i];
  return NULL;
}

/* Edit distance, to suggest "filters" for "filter". Short strings only. */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int prev[64], cur[64];
  for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int ca = a[i - 1], cb = b[j - 1];
      if (ca >= 'A' && ca <= 'Z') ca += 32;
      if (cb >= 'A' && cb <= 'Z') cb += 32;
      int sub = prev[j - 1] + (ca != cb);
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, (lb + 1) * sizeof *prev);
  }
  return prev[lb];
}

/* Suggest only what is close enough to be a likely typo. */
const char *dnacl_ysuggest(const char *s, const char *const *choices) {
  const char *best = NULL;
  int bd = 99;
  for (int i = 0; choices[i]; i++) {
    int dd = edit_distance(s, choices[i]);
    if (dd < bd) {
      bd = dd;
      best = choices[i];
    }
  }
  size_t l = strlen(s);
  int limit = l <= 3 ? 1 : (l <= 6 ? 2 : 3);
  return bd <= limit ? best : NULL;
}

static void join(char *buf, size_t size, const char *const *items) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; items[i] && k + 1 < size; i++)
    k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? ", " : "", items[i]);
}

dnacl_status dnacl_ycheck_keys(const dnacl_ydoc *d, const dnacl_ynode *map,
                               const char *const *allowed, const char *what) {
  if (!map || map->kind != DNACL_Y_MAP) return DNACL_OK;
  for (int i = 0; i < map->n; i++) {
    const char *k = map->keys[i]->value;
    int ok = 0;
    for (int j = 0; allowed[j] && !ok; j++) ok = strcmp(k, allowed[j]) == 0;
    if (ok) continue;
    char list[1024];
    join(list, sizeof list, allowed);
    const char *s = dnacl_ysuggest(k, allowed);
    if (s)
      return dnacl_yerr(d, map->keys[i], "unknown key '%s' in %s (did you mean '%s'?); allowed: %s",
                        k, what, s, list);
    return dnacl_yerr(d, map->keys[i], "unknown key '%s' in %s; allowed: %s", k, what, list);
  }
  return DNACL_OK;
}

/* A scalar that can be a number, or an error naming what it is instead. */
static dnacl_status want_scalar(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                                const char *expected) {
  if (!n) return dnacl_fail(DNACL_ERR_ARG, "no value for '%s'", name);
  if (n->kind != DNACL_Y_SCALAR)
    return dnacl_yerr(d, n, "expected %s for '%s', got %s", expected, name, dnacl_ynode_describe(n));
  if (dnacl_ynode_is_null(n)) return dnacl_yerr(d, n, "expected %s for '%s', got nothing", expected, name);
  return DNACL_OK;
}

static dnacl_status not_a(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                          const char *expected) {
  if (n->quoted)
    return dnacl_yerr(d, n, "expected %s for '%s', got the quoted string \"%s\" (remove the quotes)",
                      expected, name, n->value);
  return dnacl_yerr(d, n, "expected %s for '%s', got '%s'", expected, name, n->value);
}

dnacl_status dnacl_yget_int(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name, long *out) {
  DNACL_TRY(want_scalar(d, n, name, "an integer"));
  const char *v = n->value;
  const char *p = v;
  if (*p == '+' || *p == '-') p++;
  int digits = 0;
  while (*p >= '0' && *p <= '9') p++, digits++;
  if (n->quoted || !digits || *p) return not_a(d, n, name, "an integer");
  errno = 0;
  long x = strtol(v, NULL, 10);
  if (errno == ERANGE) return dnacl_yerr(d, n, "'%s' is out of range: %s", name, v);
  *out = x;
  return DNACL_OK;
}

dnacl_status dnacl_yget_float(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                              double *out) {
  DNACL_TRY(want_scalar(d, n, name, "a number"));
  const char *v = n->value;
  /* Decimal notation only: strtod would also take "nan", "inf" and hex floats, none of
   * which belong in a spec file. */
  int ok = !n->quoted && strspn(v, "0123456789+-.eE") == strlen(v);
  char *end = NULL;
  double x = 0;
  if (ok) {
    errno = 0;
    x = strtod(v, &end);
    ok = end != v && !*end;
  }
  if (!ok) return not_a(d, n, name, "a number");
  if (!isfinite(x) || errno == ERANGE) return dnacl_yerr(d, n, "'%s' is out of range: %s", name, v);
  *out = x;
  return DNACL_OK;
}

dnacl_status dnacl_yget_bool(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name, int *out) {
  DNACL_TRY(want_scalar(d, n, name, "true or false"));
  const char *v = n->value;
  if (!n->quoted) {
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
      *out = 1;
      return DNACL_OK;
    }
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
      *out = 0;
      return DNACL_OK;
    }
  }
  return not_a(d, n, name, "true or false");
}

dnacl_status dnacl_yget_str(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                            const char **out) {
  DNACL_TRY(want_scalar(d, n, name, "a string"));
  *out = n->value;
  return DNACL_OK;
}

dnacl_status dnacl_yget_enum(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                             const char *const *choices, int *out) {
  DNACL_TRY(want_scalar(d, n, name, "a string"));
  for (int i = 0; choices[i]; i++)
    if (strcmp(n->value, choices[i]) == 0) {
      *out = i;
      return DNACL_OK;
    }
  char list[512];
  join(list, sizeof list, choices);
  const char *s = dnacl_ysuggest(n->value, choices);
  if (s)
    return dnacl_yerr(d, n, "'%s' must be one of %s, got '%s' (did you mean '%s'?)", name, list,
                      n->value, s);
  return dnacl_yerr(d, n, "'%s' must be one of %s, got '%s'", name, list, n->value);
}

/* ---- table-driven reader ---------------------------------------------------------- */

static dnacl_status check_range(const dnacl_ydoc *d, const dnacl_ynode *n, const dnacl_yfield *f,
                                double x) {
  unsigned r = f->range;
  int lo_bad = (r & DNACL_YF_MIN) && ((r & DNACL_YF_MIN_OPEN) ? !(x > f->min) : !(x >= f->min));
  int hi_bad = (r & DNACL_YF_MAX) && ((r & DNACL_YF_MAX_OPEN) ? !(x < f->max) : !(x <= f->max));
  if (!lo_bad && !hi_bad) return DNACL_OK;
  /* An interval reads best for fractions ("[0, 1)"); integer bounds are mostly a floor of 1
   * plus a sanity ceiling, so name only the bound that was crossed. */
  if (f->type != DNACL_YF_INT && (r & DNACL_YF_MIN) && (r & DNACL_YF_MAX))
    return dnacl_yerr(d, n, "'%s' must be in %c%.10g, %.10g%c, got %s", f->key,
                      (r & DNACL_YF_MIN_OPEN) ? '(' : '[', f->min, f->max,
                      (r & DNACL_YF_MAX_OPEN) ? ')' : ']', n->value);
  if (lo_bad)
    return dnacl_yerr(d, n, "'%s' must be %s %.10g, got %s", f->key,
                      (r & DNACL_YF_MIN_OPEN) ? ">" : ">=", f->min, n->value);
  return dnacl_yerr(d, n, "'%s' must be %s %.10g, got %s", f->key,
                    (r & DNACL_YF_MAX_OPEN) ? "<" : "<=", f->max, n->value);
}

dnacl_status dnacl_yread_value(const dnacl_ydoc *d, const dnacl_ynode *n, const dnacl_yfield *f,
                               void *target) {
  char *dst = (char *)target + f->offset;
  switch (f->type) {
    case DNACL_YF_INT: {
      long x = 0;
      DNACL_TRY(dnacl_yget_int(d, n, f->key, &x));
      DNACL_TRY(check_range(d, n, f, (double)x));
      if (x > INT_MAX || x < INT_MIN) return dnacl_yerr(d, n, "'%s' is out of range: %s", f->key, n->value);
      int v = (int)x;
      memcpy(dst, &v, sizeof v);
      return DNACL_OK;
    }
    case DNACL_YF_FLOAT:
    case DNACL_YF_DOUBLE: {
      double x = 0;
      DNACL_TRY(dnacl_yget_float(d, n, f->key, &x));
      DNACL_TRY(check_range(d, n, f, x));
      if (f->type == DNACL_YF_FLOAT) {
        float v = (float)x;
        memcpy(dst, &v, sizeof v);
      } else {
        memcpy(dst, &x, sizeof x);
      }
      return DNACL_OK;
    }
    case DNACL_YF_BOOL: {
      int v = 0;
      DNACL_TRY(dnacl_yget_bool(d, n, f->key, &v));
      memcpy(dst, &v, sizeof v);
      return DNACL_OK;
    }
    case DNACL_YF_STR: {
      const char *v = NULL;
      DNACL_TRY(dnacl_yget_str(d, n, f->key, &v));
      memcpy(dst, &v, sizeof v);
      return DNACL_OK;
    }
    case DNACL_YF_ENUM: {
      int v = 0;
      DNACL_TRY(dnacl_yget_enum(d, n, f->key, f->choices, &v));
      memcpy(dst, &v, sizeof v);
      return DNACL_OK;
    }
    case DNACL_YF_NODE:
      memcpy(dst, &n, sizeof n);
      return DNACL_OK;
    case DNACL_YF_CUSTOM:
      return f->parse(d, n, f->key, dst);
  }
  return dnacl_fail(DNACL_ERR_ARG, "field '%s' has an unknown type", f->key);
}

dnacl_status dnacl_yread(const dnacl_ydoc *d, const dnacl_ynode *map, const dnacl_ynode *anchor,
                         const dnacl_yfield *fields, int n_fields, const char *const *extra_keys,
                         void *target, const char *what) {
  if (map && !dnacl_ynode_is_null(map) && map->kind != DNACL_Y_MAP)
    return dnacl_yerr(d, map, "expected a mapping of options for %s, got %s", what,
                      map->kind == DNACL_Y_SCALAR ? "a single value" : dnacl_ynode_describe(map));
  if (map && map->kind != DNACL_Y_MAP) map = NULL;
  const char *allowed[96];
  int na = 0;
  for (int i = 0; i < n_fields && na < 94; i++) allowed[na++] = fields[i].key;
  for (int i = 0; extra_keys && extra_keys[i] && na < 95; i++) allowed[na++] = extra_keys[i];
  allowed[na] = NULL;
  DNACL_TRY(dnacl_ycheck_keys(d, map, allowed, what));
  for (int i = 0; i < n_fields; i++) {
    const dnacl_yfield *f = &fields[i];
    const dnacl_ynode *v = dnacl_ymap_get(map, f->key);
    if (!v) {
      if (f->required) {
        const dnacl_ynode *at = anchor ? anchor : map;
        if (f->help) return dnacl_yerr(d, at, "%s is missing '%s' (%s)", what, f->key, f->help);
        return dnacl_yerr(d, at, "%s is missing '%s'", what, f->key);
      }
      continue;
    }
    DNACL_TRY(dnacl_yread_value(d, v, f, target));
  }
  return DNACL_OK;
}

/* ---- writing spec files ---------------------------------------------------------- */

void dnacl_ybuf_printf(dnacl_ybuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 2048;
    while (cap <= b->len + (size_t)n) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
}

void dnacl_ypath_stem(const char *path, char out[64]) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strcspn(b, ".");
  if (n == 0) n = strlen(b);
  if (n > 63) n = 63;
  memcpy(out, b, n);
  out[n] = 0;
}
