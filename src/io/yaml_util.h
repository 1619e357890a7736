/* Generic YAML support for dnacl's spec files (models, sweeps): a document tree built from
 * libyaml's event parser that keeps every node's file position, typed getters, and a
 * table-driven reader that turns a mapping into a C struct.
 *
 * Every error is DNACL_ERR_PARSE with the message
 *     file:line:col: message
 *     <the offending line>
 *     <spaces>^
 * so a user sees exactly where the problem is (netplan does the same). Lines and columns
 * are 1-based here; libyaml's marks are 0-based and are converted once, when the tree is
 * built.
 *
 * The tree is read-only after parsing. Anchors and aliases are supported: an alias points
 * at the anchored node (errors then point at the anchor's definition). */
#ifndef DNACL_YAML_UTIL_H
#define DNACL_YAML_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#include "dnacl.h"

typedef enum dnacl_ykind {
  DNACL_Y_SCALAR,  /* includes the plain null scalars "", "~", "null" (see dnacl_ynode_is_null) */
  DNACL_Y_SEQ,
  DNACL_Y_MAP
} dnacl_ykind;

typedef struct dnacl_ynode dnacl_ynode;
struct dnacl_ynode {
  dnacl_ykind kind;
  int line, col;        /* 1-based start of the node in the file */
  /* scalar */
  const char *value;    /* NUL-terminated text (YAML escapes already resolved) */
  int quoted;           /* 1 if written quoted, as a block scalar, or tagged !!str: never a number */
  /* sequence: items[0..n); mapping: keys[i] -> items[i] (keys are scalars, unique) */
  dnacl_ynode **items;
  dnacl_ynode **keys;
  int n;
};

typedef struct dnacl_ydoc {
  char *path;           /* for messages */
  char *text;           /* the whole file, NUL-terminated (error excerpts come from it) */
  size_t len;
  dnacl_ynode *root;    /* NULL when the document is empty (only comments or whitespace) */
  void *arena_;         /* all nodes and strings; freed at once */
} dnacl_ydoc;

/* Parse text (len bytes, need not be NUL-terminated; copied). path is used in messages.
 * Syntax errors, several documents, non-scalar or duplicate mapping keys and undefined
 * aliases are DNACL_ERR_PARSE with file:line:col. */
dnacl_status dnacl_ydoc_parse(const char *path, const char *text, size_t len, dnacl_ydoc *out);
/* Read a whole (small) text file into a malloc'ed, NUL-terminated buffer; *len excludes
 * the NUL. An unreadable file is DNACL_ERR_IO naming it. */
dnacl_status dnacl_yread_file(const char *path, char **text, size_t *len);
/* Read a file and parse it; an unreadable file is DNACL_ERR_IO naming it. */
dnacl_status dnacl_ydoc_load(const char *path, dnacl_ydoc *out);
void dnacl_ydoc_free(dnacl_ydoc *d);

/* ---- errors -------------------------------------------------------------- */

/* Format "path:line:col: message", then the line of text and a caret under col, into
 * dnacl_last_error() and return DNACL_ERR_PARSE. text may be NULL (no excerpt). */
dnacl_status dnacl_yerr_at(const char *path, const char *text, int line, int col, const char *fmt,
                           ...) __attribute__((format(printf, 5, 6)));
dnacl_status dnacl_yerr_vat(const char *path, const char *text, int line, int col, const char *fmt,
                            va_list ap);
/* The same at a node of d. */
dnacl_status dnacl_yerr(const dnacl_ydoc *d, const dnacl_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- node helpers ---------------------------------------------------------- */

/* A plain (unquoted) "", "~", "null", "Null" or "NULL": YAML's null. */
int dnacl_ynode_is_null(const dnacl_ynode *n);
/* "a mapping", "a list", "a string", "a number", "null": for messages. */
const char *dnacl_ynode_describe(const dnacl_ynode *n);
/* The value of key in a mapping, or NULL (also when map is not a mapping). */
const dnacl_ynode *dnacl_ymap_get(const dnacl_ynode *map, const char *key);
/* The key node of key in a mapping (for error positions), or NULL. */
const dnacl_ynode *dnacl_ymap_key(const dnacl_ynode *map, const char *key);

/* The entry of choices (NULL-terminated) within a small edit distance of s (a likely typo),
 * or NULL. */
const char *dnacl_ysuggest(const char *s, const char *const *choices);

/* Check that every key of map is one of allowed (NULL-terminated). An unknown key is an
 * error at the key naming it, listing the allowed keys and suggesting a close one.
 * `what` names the mapping in the message ("conv1d", "the model"). */
dnacl_status dnacl_ycheck_keys(const dnacl_ydoc *d, const dnacl_ynode *map,
                               const char *const *allowed, const char *what);

/* Typed getters. `name` is the key the value belongs to, used in messages such as
 *   expected an integer for 'filters', got 'abc'                                          */
dnacl_status dnacl_yget_int(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name, long *out);
dnacl_status dnacl_yget_float(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                              double *out);
dnacl_status dnacl_yget_bool(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name, int *out);
/* Any scalar but null; quoted or not. */
dnacl_status dnacl_yget_str(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                            const char **out);
/* One of choices (NULL-terminated); *out is its index. */
dnacl_status dnacl_yget_enum(const dnacl_ydoc *d, const dnacl_ynode *n, const char *name,
                             const char *const *choices, int *out);

/* ---- table-driven mapping reader -------------------------------------------- */

typedef enum dnacl_yftype {
  DNACL_YF_INT,     /* int at offset */
  DNACL_YF_FLOAT,   /* float at offset */
  DNACL_YF_DOUBLE,  /* double at offset */
  DNACL_YF_BOOL,    /* int 0/1 at offset */
  DNACL_YF_STR,     /* const char * at offset, pointing into the tree (valid while d lives) */
  DNACL_YF_ENUM,    /* int index into choices at offset */
  DNACL_YF_NODE,    /* const dnacl_ynode * at offset: the caller interprets it */
  DNACL_YF_CUSTOM   /* parse(d, node, key, target + offset) */
} dnacl_yftype;

/* Range flags for INT/FLOAT/DOUBLE. */
#define DNACL_YF_MIN 1u        /* value >= min */
#define DNACL_YF_MAX 2u        /* value <= max */
#define DNACL_YF_MIN_OPEN 4u   /* value > min (with DNACL_YF_MIN) */
#define DNACL_YF_MAX_OPEN 8u   /* value < max (with DNACL_YF_MAX) */

typedef dnacl_status (*dnacl_yparse_fn)(const dnacl_ydoc *d, const dnacl_ynode *n, const char *key,
                                        void *dst);

typedef struct dnacl_yfield {
  const char *key;
  dnacl_yftype type;
  size_t offset;            /* offsetof(target struct, member) */
  int required;             /* 1: missing is an error, naming `help` */
  unsigned range;           /* DNACL_YF_MIN | ... */
  double min, max;
  const char *const *choices; /* ENUM */
  dnacl_yparse_fn parse;    /* CUSTOM */
  const char *help;         /* what the field means, for "missing" messages */
} dnacl_yfield;

/* Read one value node as field f into target (type and range checked). */
dnacl_status dnacl_yread_value(const dnacl_ydoc *d, const dnacl_ynode *n, const dnacl_yfield *f,
                               void *target);

/* Read map (a mapping, or NULL/null meaning "no options") into target: unknown keys are
 * errors listing fields' keys plus extra_keys (keys the caller handles itself, may be
 * NULL); each present field is type- and range-checked and stored; fields not present are
 * left untouched (set defaults first). A missing required field is reported at `anchor`
 * (e.g. the key naming the layer) or, when anchor is NULL, at map. `what` names the
 * mapping in messages. A map that is neither a mapping nor null is an error. */
dnacl_status dnacl_yread(const dnacl_ydoc *d, const dnacl_ynode *map, const dnacl_ynode *anchor,
                         const dnacl_yfield *fields, int n_fields, const char *const *extra_keys,
                         void *target, const char *what);

/* ---- writing spec files ---------------------------------------------------------- */

/* A growing text buffer for writing YAML and canonical spec text. Start it as {0}; after
 * the last dnacl_ybuf_printf, oom says whether anything was lost (then free p and fail). */
typedef struct dnacl_ybuf {
  char *p;
  size_t len, cap;
  int oom;
} dnacl_ybuf;
void dnacl_ybuf_printf(dnacl_ybuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The file name of path without folders and extension, at most 63 characters, the default
 * name of a spec: "yaml/models/cnn_deep.yaml" -> "cnn_deep". */
void dnacl_ypath_stem(const char *path, char out[64]);

#endif
