/* CSV/TSV sequences as in the chapter's dataset: a header row, columns found by name.
 * Read line by line (one row in memory), twice: see the builder in seqdata_impl.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "io/seqdata_impl.h"
#include "runtime/runtime.h"

typedef struct csv_cols {
  int n;                    /* fields in the header */
  int seq, id, subset, tf;  /* column index or -1 */
  int n_label;
  int *label;
  char **names;             /* header fields, for messages and task names */
} csv_cols;

typedef struct csv_reader {
  const char *path;
  char delim;
  FILE *f;
  char *line;
  size_t cap;
  long lineno;
  char **fields;
  int n_fields, cap_fields;
  csv_cols cols;
} csv_reader;

static void csv_close(csv_reader *r) {
  if (r->f) fclose(r->f);
  free(r->line);
  free(r->fields);
  free(r->cols.label);
  if (r->cols.names)
    for (int i = 0; i < r->cols.n; i++) free(r->cols.names[i]);
  free(r->cols.names);
  memset(r, 0, sizeof *r);
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  return s;
}

/* Split r->line in place. A field that starts with a double quote runs to the closing
 * quote ("" inside is one quote), so quoted fields may hold the delimiter. */
static dnacl_status split_line(csv_reader *r) {
  r->n_fields = 0;
  char *p = r->line;
  for (;;) {
    if (r->n_fields == r->cap_fields) {
      int cap = r->cap_fields ? 2 * r->cap_fields : 16;
      char **g = realloc(r->fields, (size_t)cap * sizeof *g);
      if (!g) return seq_nomem(r->path);
      r->fields = g;
      r->cap_fields = cap;
    }
    char *start = p;
    while (*p == ' ' || (*p == '\t' && r->delim != '\t')) p++;
    if (*p == '"') {
      char *w = start;
      p++;
      for (;;) {
        if (!*p)
          return dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: unterminated quoted field", r->path, r->lineno);
        if (*p == '"') {
          if (p[1] == '"') { *w++ = '"'; p += 2; continue; }
          p++;
          break;
        }
        *w++ = *p++;
      }
      while (*p && *p != r->delim) {
        if (!isspace((unsigned char)*p))
          return dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: text after a closing quote", r->path, r->lineno);
        p++;
      }
      char *end = p;
      *w = 0;
      r->fields[r->n_fields++] = start;
      if (!*end) break;
      p = end + 1;
    } else {
      p = start;
      while (*p && *p != r->delim) p++;
      int last = !*p;
      *p = 0;
      r->fields[r->n_fields++] = trim(start);
      if (last) break;
      p++;
    }
  }
  return DNACL_OK;
}

/* The next line that is not blank; 0 at end of file. */
static dnacl_status next_line(csv_reader *r, int *got) {
  for (;;) {
    ssize_t n = seq_getline(&r->line, &r->cap, r->f);
    if (n < 0) {
      if (ferror(r->f)) return dnacl_fail(DNACL_ERR_IO, "%s: read error", r->path);
      *got = 0;
      return DNACL_OK;
    }
    r->lineno++;
    const char *p = r->line;
    /* A UTF-8 byte order mark (spreadsheet exports) is not part of the first field. */
    if (r->lineno == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
      memmove(r->line, r->line + 3, strlen(r->line + 3) + 1);
    while (isspace((unsigned char)*p)) p++;
    if (*p) {
      *got = 1;
      return DNACL_OK;
    }
  }
}

static int is_label_name(const char *s) {
  return !strncmp(s, "label", 5) || !strncmp(s, "Label", 5) || !strncmp(s, "LABEL", 5);
}

static void list_columns(const csv_reader *r, char *buf, size_t size) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < r->cols.n && k + 4 < size; i++) {
    int m = snprintf(buf + k, size - k, "%s'%s'", i ? ", " : "", r->cols.names[i]);
    if (m < 0) break;
    k += (size_t)m;
  }
}

static dnacl_status open_csv(csv_reader *r, const char *path, char delim) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->delim = delim;
  DNACL_TRY(seq_open(path, &r->f));
  int got;
  DNACL_TRY(next_line(r, &got));
  if (!got) return dnacl_fail(DNACL_ERR_PARSE, "%s: the file is empty", path);
  DNACL_TRY(split_line(r));
  csv_cols *c = &r->cols;
  c->seq = c->id = c->subset = c->tf = -1;
  c->names = calloc((size_t)r->n_fields, sizeof *c->names);
  c->label = calloc((size_t)r->n_fields, sizeof *c->label);
  if (!c->names || !c->label) return seq_nomem(path);
  c->n = r->n_fields;
  for (int i = 0; i < r->n_fields; i++) {
    const char *h = r->fields[i];
    if (!(c->names[i] = seq_strdup(h))) return seq_nomem(path);
    if (seq_ieq(h, "sequence") || seq_ieq(h, "seq")) {
      if (c->seq < 0) c->seq = i;
    } else if (is_label_name(h)) c->label[c->n_label++] = i;
    else if (seq_ieq(h, "subset") || seq_ieq(h, "split")) {
      if (c->subset < 0) c->subset = i;
    } else if (seq_ieq(h, "transcription_factor") || seq_ieq(h, "tf")) {
      if (c->tf < 0) c->tf = i;
    } else if (seq_ieq(h, "id") || seq_ieq(h, "name")) {
      if (c->id < 0) c->id = i;
    }
  }
  if (c->seq < 0) {
    char cols[1024];
    list_columns(r, cols, sizeof cols);
    return dnacl_fail(DNACL_ERR_PARSE,
                      "%s:%ld: the header has no 'sequence' column (columns: %s)%s", path,
                      r->lineno, cols,
                      delim == ',' && strchr(r->line, '\t') ? "; is it tab-separated? name it .tsv" : "");
  }
  return DNACL_OK;
}

/* One pass over the rows into the builder. */
static dnacl_status csv_pass(seq_builder *b, char delim, char **tf_seen, long *tf_line) {
  const dnacl_load_opts *o = &b->o;
  csv_reader r;
  dnacl_status s = open_csv(&r, b->path, delim);
  if (s != DNACL_OK) { csv_close(&r); return s; }
  csv_cols *c = &r.cols;
  float *labels = NULL;

#define CSV_FAIL(expr) do { s = (expr); goto done; } while (0)
  if (o->split && c->subset < 0)
    CSV_FAIL(dnacl_fail(DNACL_ERR_ARG, "%s: split '%s' was asked for but the file has no "
                        "'subset' column", b->path, o->split));
  if (o->tf && c->tf < 0)
    CSV_FAIL(dnacl_fail(DNACL_ERR_ARG, "%s: transcription factor '%s' was asked for but the "
                        "file has no 'transcription_factor' column", b->path, o->tf));
  if (c->n_label == 0 && !o->allow_unlabelled) {
    char cols[1024];
    list_columns(&r, cols, sizeof cols);
    CSV_FAIL(dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: the header has no label column ('label' or "
                        "'label_<task>'; columns: %s)", b->path, r.lineno, cols));
  }
  {
    const char **names = malloc((size_t)(c->n_label ? c->n_label : 1) * sizeof *names);
    if (!names) CSV_FAIL(seq_nomem(b->path));
    for (int t = 0; t < c->n_label; t++) names[t] = c->names[c->label[t]];
    s = seqb_tasks(b, c->n_label, names);
    free(names);
    if (s != DNACL_OK) goto done;
  }
  labels = malloc((size_t)(c->n_label ? c->n_label : 1) * sizeof *labels);
  if (!labels) CSV_FAIL(seq_nomem(b->path));
  const char *want_split = o->split ? seq_split_canon(o->split) : NULL;

  for (int row = 1;; row++) {
    int got;
    s = next_line(&r, &got);
    if (s != DNACL_OK || !got) break;
    if ((s = split_line(&r)) != DNACL_OK) break;
    char idbuf[32];
    snprintf(idbuf, sizeof idbuf, "row%d", row);
    const char *id = c->id >= 0 && c->id < r.n_fields && *r.fields[c->id] ? r.fields[c->id] : idbuf;
    if (r.n_fields > c->n)
      CSV_FAIL(seq_fail_rec(DNACL_ERR_PARSE, b->path, r.lineno, row, id, 0,
                            "%d fields but the header has %d%s", r.n_fields, c->n,
                            delim == ',' ? " (an unquoted comma?)" : ""));
    if (c->subset >= 0 && want_split) {
      if (c->subset >= r.n_fields || !seq_ieq(seq_split_canon(r.fields[c->subset]), want_split))
        continue;
    }
    if (c->tf >= 0) {
      const char *tf = c->tf < r.n_fields ? r.fields[c->tf] : "";
      if (o->tf) {
        if (strcmp(tf, o->tf)) continue;
      } else if (!*tf_seen) {
        if (!(*tf_seen = seq_strdup(tf))) CSV_FAIL(seq_nomem(b->path));
        *tf_line = r.lineno;
      } else if (strcmp(tf, *tf_seen)) {
        CSV_FAIL(dnacl_fail(DNACL_ERR_ARG,
                            "%s: rows of several transcription factors ('%s' at line %ld, '%s' "
                            "at line %ld); choose one (the tf option, --tf)",
                            b->path, *tf_seen, *tf_line, tf, r.lineno));
      }
    }
    if (c->seq >= r.n_fields)
      CSV_FAIL(seq_fail_rec(DNACL_ERR_PARSE, b->path, r.lineno, row, id, 0,
                            "no sequence (%d fields, the header has %d)", r.n_fields, c->n));
    const char *seq = r.fields[c->seq];
    int len = (int)strlen(seq);
    int bad = seq_check_bases(seq, len);
    if (bad) CSV_FAIL(seq_bad_char(b->path, r.lineno, row, id, bad, seq[bad - 1]));
    for (int t = 0; t < c->n_label; t++) {
      const char *name = c->names[c->label[t]];
      if (c->label[t] >= r.n_fields || !*r.fields[c->label[t]])
        CSV_FAIL(seq_fail_rec(DNACL_ERR_PARSE, b->path, r.lineno, row, id, 0,
                              "missing label '%s'", name));
      if (!seq_parse_label(r.fields[c->label[t]], &labels[t]))
        CSV_FAIL(seq_fail_rec(DNACL_ERR_PARSE, b->path, r.lineno, row, id, 0,
                              "label '%s' is not a number: '%s'", name, r.fields[c->label[t]]));
    }
    seq_record rec = {row, r.lineno, id, seq, len, labels};
    if ((s = seqb_add(b, &rec)) != DNACL_OK) break;
  }
#undef CSV_FAIL
done:
  free(labels);
  csv_close(&r);
  return s;
}

dnacl_status seq_read_csv(seq_builder *b, char delim) {
  char *tf_seen = NULL, what[600];
  long tf_line = 0;
  const dnacl_load_opts *o = &b->o;
  what[0] = 0;
  if (o->split && o->tf) snprintf(what, sizeof what, "with subset '%s' and transcription factor '%s'", o->split, o->tf);
  else if (o->split) snprintf(what, sizeof what, "with subset '%s'", o->split);
  else if (o->tf) snprintf(what, sizeof what, "for transcription factor '%s'", o->tf);
  dnacl_status s = csv_pass(b, delim, &tf_seen, &tf_line);
  if (s == DNACL_OK) s = seqb_end_pass(b, what[0] ? what : NULL);
  if (s == DNACL_OK) {
    /* In the chapter's long format one file holds one TF's task: name the task after it. */
    const char *tf = o->tf ? o->tf : tf_seen;
    if (tf && *tf && b->n_tasks == 1) {
      char *name = seq_strdup(tf);
      if (!name) s = seq_nomem(b->path);
      else {
        free(b->task_names[0]);
        b->task_names[0] = name;
      }
    }
  }
  free(tf_seen);
  tf_seen = NULL;
  if (s == DNACL_OK) s = csv_pass(b, delim, &tf_seen, &tf_line);
  free(tf_seen);
  if (s == DNACL_OK) s = seqb_end_pass(b, NULL);
  return s;
}

dnacl_status seq_csv_has_split(const char *path, char delim, const char *split, int *has) {
  csv_reader r;
  *has = 0;
  dnacl_status s = open_csv(&r, path, delim);
  const char *want = seq_split_canon(split);
  while (s == DNACL_OK && r.cols.subset >= 0) {
    int got;
    s = next_line(&r, &got);
    if (s != DNACL_OK || !got) break;
    if ((s = split_line(&r)) != DNACL_OK) break;
    if (r.cols.subset < r.n_fields && seq_ieq(seq_split_canon(r.fields[r.cols.subset]), want)) {
      *has = 1;
      break;
    }
  }
  csv_close(&r);
  return s;
}
