/* FASTA sequences with labels in the header or in a side table (rules in seqdata.h).
 * Read line by line, holding one record, twice: see the builder in seqdata_impl.h. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/seqdata_impl.h"
#include "runtime/runtime.h"

/* ---- the side table: id -> labels, an open-addressing hash ------------------------- */

typedef struct label_table {
  const char *path;
  int n, n_tasks;
  size_t slots;       /* power of two, > 2n */
  int *slot;          /* index into ids/values or -1 */
  char **ids;
  float *values;      /* n * n_tasks */
  char **names;       /* n_tasks, or NULL for the default names */
  int cap;
} label_table;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;  /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void table_free(label_table *t) {
  for (int i = 0; i < t->n; i++) free(t->ids[i]);
  if (t->names)
    for (int k = 0; k < t->n_tasks; k++) free(t->names[k]);
  free(t->names);
  free(t->ids);
  free(t->values);
  free(t->slot);
  memset(t, 0, sizeof *t);
}

static int table_find(const label_table *t, const char *id) {
  if (!t->slots) return -1;
  for (size_t h = hash_str(id) & (t->slots - 1);; h = (h + 1) & (t->slots - 1)) {
    if (t->slot[h] < 0) return -1;
    if (!strcmp(t->ids[t->slot[h]], id)) return t->slot[h];
  }
}

static int table_rehash(label_table *t, size_t slots) {
  int *s = malloc(slots * sizeof *s);
  if (!s) return 0;
  for (size_t i = 0; i < slots; i++) s[i] = -1;
  for (int i = 0; i < t->n; i++) {
    size_t h = hash_str(t->ids[i]) & (slots - 1);
    while (s[h] >= 0) h = (h + 1) & (slots - 1);
    s[h] = i;
  }
  free(t->slot);
  t->slot = s;
  t->slots = slots;
  return 1;
}

/* Split a line on tabs in place, trimming blanks around each field. */
static int split_tabs(char *line, char **f, int max) {
  int n = 0;
  char *p = line;
  for (;;) {
    char *start = p;
    while (*p && *p != '\t') p++;
    int last = !*p;
    *p = 0;
    while (isspace((unsigned char)*start)) start++;
    char *e = start + strlen(start);
    while (e > start && isspace((unsigned char)e[-1])) *--e = 0;
    if (n < max) f[n] = start;
    n++;
    if (last) return n;
    p++;
  }
}

#define MAX_TSV_FIELDS 4096

static dnacl_status table_load(const char *path, label_table *t) {
  memset(t, 0, sizeof *t);
  t->path = path;
  FILE *f;
  DNACL_TRY(seq_open(path, &f));
  char *line = NULL;
  size_t cap = 0;
  long lineno = 0;
  char **fields = malloc(MAX_TSV_FIELDS * sizeof *fields);
  dnacl_status s = fields ? DNACL_OK : seq_nomem(path);
  ssize_t len;
  while (s == DNACL_OK && (len = seq_getline(&line, &cap, f)) >= 0) {
    lineno++;
    const char *q = line;
    while (isspace((unsigned char)*q)) q++;
    if (!*q || *q == '#') continue;
    int nf = split_tabs(line, fields, MAX_TSV_FIELDS);
    if (nf > MAX_TSV_FIELDS) {
      s = dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s:%ld: more than %d columns", path, lineno, MAX_TSV_FIELDS);
      break;
    }
    if (nf < 2) {
      s = dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: expected 'id<TAB>label[<TAB>label...]'", path, lineno);
      break;
    }
    if (t->n_tasks == 0) {
      /* The first line fixes the number of tasks; if its label fields are not all numbers
       * it is a header naming them. */
      t->n_tasks = nf - 1;
      int numeric = 1;
      float v;
      for (int k = 1; k < nf; k++) numeric &= seq_parse_label(fields[k], &v);
      if (!numeric) {
        t->names = calloc((size_t)t->n_tasks, sizeof *t->names);
        if (!t->names) { s = seq_nomem(path); break; }
        for (int k = 0; k < t->n_tasks; k++)
          if (!(t->names[k] = seq_strdup(fields[k + 1]))) { s = seq_nomem(path); break; }
        continue;
      }
    }
    if (nf != t->n_tasks + 1) {
      s = dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: id '%s' has %d labels, the first line has %d",
                     path, lineno, fields[0], nf - 1, t->n_tasks);
      break;
    }
    if (table_find(t, fields[0]) >= 0) {
      s = dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: id '%s' appears twice", path, lineno, fields[0]);
      break;
    }
    if (t->n == t->cap) {
      int c = t->cap ? 2 * t->cap : 1024;
      char **ids = realloc(t->ids, (size_t)c * sizeof *ids);
      if (ids) t->ids = ids;
      float *vals = ids ? realloc(t->values, (size_t)c * t->n_tasks * sizeof *vals) : NULL;
      if (!vals) { s = seq_nomem(path); break; }
      t->values = vals;
      t->cap = c;
    }
    for (int k = 1; k < nf; k++)
      if (!seq_parse_label(fields[k], &t->values[(size_t)t->n * t->n_tasks + k - 1])) {
        s = dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: id '%s': label %d is not a number: '%s'", path,
                       lineno, fields[0], k, fields[k]);
        break;
      }
    if (s != DNACL_OK) break;
    if (!(t->ids[t->n] = seq_strdup(fields[0]))) { s = seq_nomem(path); break; }
    t->n++;
    /* Keep the load under one half: grow (re-inserting everything) or insert the new id. */
    if ((size_t)t->n * 2 >= t->slots) {
      if (!table_rehash(t, t->slots ? 2 * t->slots : 4096)) {
        s = seq_nomem(path);
        break;
      }
    } else {
      size_t h = hash_str(t->ids[t->n - 1]) & (t->slots - 1);
      while (t->slot[h] >= 0) h = (h + 1) & (t->slots - 1);
      t->slot[h] = t->n - 1;
    }
  }
  if (s == DNACL_OK && ferror(f)) s = dnacl_fail(DNACL_ERR_IO, "%s: read error", path);
  if (s == DNACL_OK && t->n == 0)
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: the label table has no rows", path);
  free(fields);
  free(line);
  fclose(f);
  if (s != DNACL_OK) table_free(t);
  return s;
}

/* ---- labels in the header ----------------------------------------------------------- */

typedef enum { LABELS_UNKNOWN, LABELS_TABLE, LABELS_KEYS, LABELS_WORDS, LABELS_NONE } label_mode;

typedef struct fasta_state {
  seq_builder *b;
  label_table *table;
  label_mode mode;
  int n_tasks;
  char **keys;         /* LABELS_KEYS: the label keys of record 1 */
  float *labels;
  int cap_labels;
} fasta_state;

static int is_label_key(const char *tok, size_t keylen) {
  return keylen >= 5 && !strncmp(tok, "label", 5);
}

static dnacl_status grow_labels(fasta_state *st, int n) {
  if (n <= st->cap_labels) return DNACL_OK;
  float *g = realloc(st->labels, (size_t)n * sizeof *g);
  if (!g) return seq_nomem(st->b->path);
  st->labels = g;
  st->cap_labels = n;
  return DNACL_OK;
}

/* Decide, from record 1's description, how labels are given, and tell the builder. */
static dnacl_status first_record_mode(fasta_state *st, char **tok, int ntok, int record,
                                      const char *id, long line) {
  seq_builder *b = st->b;
  int nkeys = 0;
  for (int i = 0; i < ntok; i++) {
    char *eq = strchr(tok[i], '=');
    if (eq && is_label_key(tok[i], (size_t)(eq - tok[i]))) nkeys++;
  }
  if (nkeys) {
    st->mode = LABELS_KEYS;
    st->keys = calloc((size_t)nkeys, sizeof *st->keys);
    if (!st->keys) return seq_nomem(b->path);
    for (int i = 0; i < ntok; i++) {
      char *eq = strchr(tok[i], '=');
      if (eq && is_label_key(tok[i], (size_t)(eq - tok[i]))) {
        char *k = malloc((size_t)(eq - tok[i]) + 1);
        if (!k) return seq_nomem(b->path);
        memcpy(k, tok[i], (size_t)(eq - tok[i]));
        k[eq - tok[i]] = 0;
        st->keys[st->n_tasks++] = k;
      }
    }
    return seqb_tasks(b, st->n_tasks, (const char *const *)st->keys);
  }
  float v;
  if (ntok == 0 || (b->o.allow_unlabelled && !seq_parse_label(tok[0], &v))) {
    if (!b->o.allow_unlabelled)
      return seq_fail_rec(DNACL_ERR_PARSE, b->path, line, record, id, 0,
                          "missing label: put it in the header ('>%s 1' or '>%s label=1') or "
                          "give a label table (id<TAB>label)", id, id);
    st->mode = LABELS_NONE;
    st->n_tasks = 0;
    return seqb_tasks(b, 0, NULL);
  }
  st->mode = LABELS_WORDS;
  st->n_tasks = ntok;
  return seqb_tasks(b, ntok, NULL);
}

/* Fill st->labels for one record from its header (hdr: the text after '>', modified). */
static dnacl_status record_labels(fasta_state *st, char *hdr, int record, const char **id_out,
                                  long line, char *idbuf) {
  seq_builder *b = st->b;
  /* Tokens: the id, then the description's words. */
  char *tok[256];
  int ntok = 0, ntok_all = 0;
  char *p = hdr, *id = NULL;
  while (*p) {
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) break;
    char *start = p;
    while (*p && !isspace((unsigned char)*p)) p++;
    if (*p) *p++ = 0;
    if (!id) { id = start; continue; }
    if (ntok < 256) tok[ntok++] = start;
    ntok_all++;
  }
  if (!id) id = idbuf;
  *id_out = id;
  if (st->mode == LABELS_TABLE) {
    int k = table_find(st->table, id);
    if (k < 0)
      return seq_fail_rec(DNACL_ERR_PARSE, b->path, line, record, id, 0,
                          "missing label: id '%s' is not in the label table %s", id,
                          st->table->path);
    memcpy(st->labels, st->table->values + (size_t)k * st->n_tasks, (size_t)st->n_tasks * sizeof(float));
    return DNACL_OK;
  }
  if (ntok_all > 256)
    return seq_fail_rec(DNACL_ERR_UNSUPPORTED, b->path, line, record, id, 0,
                        "more than 256 words in the header");
  if (st->mode == LABELS_UNKNOWN) {
    DNACL_TRY(first_record_mode(st, tok, ntok, record, id, line));
    DNACL_TRY(grow_labels(st, st->n_tasks ? st->n_tasks : 1));
  }
  if (st->mode == LABELS_NONE) return DNACL_OK;
  if (st->mode == LABELS_KEYS) {
    for (int t = 0; t < st->n_tasks; t++) {
      const char *val = NULL;
      size_t klen = strlen(st->keys[t]);
      for (int i = 0; i < ntok && !val; i++)
        if (!strncmp(tok[i], st->keys[t], klen) && tok[i][klen] == '=') val = tok[i] + klen + 1;
      if (!val || !*val)
        return seq_fail_rec(DNACL_ERR_PARSE, b->path, line, record, id, 0,
                            "missing label '%s' (record 1 has '%s=')", st->keys[t], st->keys[t]);
      if (!seq_parse_label(val, &st->labels[t]))
        return seq_fail_rec(DNACL_ERR_PARSE, b->path, line, record, id, 0,
                            "label '%s' is not a number: '%s'", st->keys[t], val);
    }
    return DNACL_OK;
  }
  /* LABELS_WORDS: the words after the id, as many as record 1 has. */
  if (ntok < st->n_tasks)
    return seq_fail_rec(DNACL_ERR_PARSE, b->path, line, record, id, 0,
                        "missing label: %d label%s after the id, record 1 has %d",
                        ntok, ntok == 1 ? "" : "s", st->n_tasks);
  if (ntok > st->n_tasks)
    return seq_fail_rec(DNACL_ERR_PARSE, b->path, line, record, id, 0,
                        "%d words after the id, but record 1 has %d labels", ntok, st->n_tasks);
  for (int t = 0; t < st->n_tasks; t++)
    if (!seq_parse_label(tok[t], &st->labels[t]))
      return seq_fail_rec(DNACL_ERR_PARSE, b->path, line, record, id, 0,
                          "label is not a number: '%s' (labels go after the id: '>id 1' or "
                          "'>id label=1')", tok[t]);
  return DNACL_OK;
}

/* ---- the records ------------------------------------------------------------------ */

typedef struct fasta_rec {
  char *hdr;          /* the header line without '>' */
  size_t hdr_cap;
  long hdr_line;
  char *seq;
  int len;
  size_t cap;
} fasta_rec;

static dnacl_status finish_record(fasta_state *st, fasta_rec *r, int record) {
  char idbuf[32];
  snprintf(idbuf, sizeof idbuf, "record%d", record);
  const char *id;
  DNACL_TRY(record_labels(st, r->hdr, record, &id, r->hdr_line, idbuf));
  seq_record rec = {record, r->hdr_line, id, r->seq ? r->seq : "", r->len, st->labels};
  return seqb_add(st->b, &rec);
}

static dnacl_status fasta_pass(fasta_state *st) {
  seq_builder *b = st->b;
  FILE *f;
  DNACL_TRY(seq_open(b->path, &f));
  fasta_rec r;
  memset(&r, 0, sizeof r);
  char *line = NULL;
  size_t cap = 0;
  long lineno = 0;
  int record = 0;
  dnacl_status s = DNACL_OK;
  ssize_t n;
  while ((n = seq_getline(&line, &cap, f)) >= 0) {
    lineno++;
    if (line[0] == '>') {
      if (record && (s = finish_record(st, &r, record)) != DNACL_OK) break;
      record++;
      if ((size_t)n > r.hdr_cap) {
        char *g = realloc(r.hdr, (size_t)n + 1);
        if (!g) { s = seq_nomem(b->path); break; }
        r.hdr = g;
        r.hdr_cap = (size_t)n;
      }
      memcpy(r.hdr, line + 1, (size_t)n);
      r.hdr_line = lineno;
      r.len = 0;
      continue;
    }
    if (line[0] == ';') continue; /* old-style comment lines */
    if (!record) {
      const char *q = line;
      while (isspace((unsigned char)*q)) q++;
      if (!*q) continue;
      s = dnacl_fail(DNACL_ERR_PARSE, "%s:%ld: sequence text before the first '>' header line",
                     b->path, lineno);
      break;
    }
    if ((size_t)r.len + (size_t)n + 1 > r.cap) {
      size_t c = r.cap ? r.cap : 1024;
      while (c < (size_t)r.len + (size_t)n + 1) c *= 2;
      if (c > (size_t)INT32_MAX) {
        s = seq_fail_rec(DNACL_ERR_UNSUPPORTED, b->path, r.hdr_line, record, NULL, 0,
                         "the sequence is longer than 2^31 bases");
        break;
      }
      char *g = realloc(r.seq, c);
      if (!g) { s = seq_nomem(b->path); break; }
      r.seq = g;
      r.cap = c;
    }
    for (ssize_t i = 0; i < n; i++) {
      char c = line[i];
      if (c == ' ' || c == '\t' || c == '\r') continue;
      if (seq_check_bases(&c, 1)) {
        /* Name the record by its id: the header's first word. */
        char id[256];
        const char *h = r.hdr + strspn(r.hdr, " \t");
        size_t k = strcspn(h, " \t");
        if (k >= sizeof id) k = sizeof id - 1;
        memcpy(id, h, k);
        id[k] = 0;
        if (!k) snprintf(id, sizeof id, "record%d", record);
        s = seq_bad_char(b->path, lineno, record, id, r.len + 1, c);
        break;
      }
      r.seq[r.len++] = c;
    }
    if (s != DNACL_OK) break;
  }
  if (s == DNACL_OK && ferror(f)) s = dnacl_fail(DNACL_ERR_IO, "%s: read error", b->path);
  if (s == DNACL_OK && record) s = finish_record(st, &r, record);
  if (s == DNACL_OK && !record)
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: no '>' header lines: not a FASTA file, or empty", b->path);
  free(line);
  free(r.hdr);
  free(r.seq);
  fclose(f);
  return s;
}

dnacl_status seq_read_fasta(seq_builder *b) {
  fasta_state st;
  label_table table;
  memset(&st, 0, sizeof st);
  memset(&table, 0, sizeof table);
  st.b = b;
  dnacl_status s = DNACL_OK;
  if (b->o.labels_tsv) {
    s = table_load(b->o.labels_tsv, &table);
    if (s == DNACL_OK) {
      st.table = &table;
      st.mode = LABELS_TABLE;
      st.n_tasks = table.n_tasks;
      s = seqb_tasks(b, table.n_tasks, (const char *const *)table.names);
    }
    if (s == DNACL_OK) s = grow_labels(&st, st.n_tasks);
  }
  if (s == DNACL_OK) s = fasta_pass(&st);
  if (s == DNACL_OK) s = seqb_end_pass(b, NULL);
  if (s == DNACL_OK) s = fasta_pass(&st);
  if (s == DNACL_OK) s = seqb_end_pass(b, NULL);
  if (st.keys)
    for (int t = 0; t < st.n_tasks; t++) free(st.keys[t]);
  free(st.keys);
  free(st.labels);
  table_free(&table);
  return s;
}
