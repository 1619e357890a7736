/* Sequence data: one-hot encoding, format dispatch and the two-pass builder shared by the
 * text readers. The format rules are documented in seqdata.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/seqdata_impl.h"
#include "runtime/runtime.h"

/* ---- one-hot ---------------------------------------------------------------------- */

/* Channel of each byte: 0-3 for A,C,G,T, 4 for N, -1 for anything else. */
static signed char base_code(unsigned char c) {
  switch (c) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    case 'N': case 'n': return 4;
    default: return -1;
  }
}

int dnacl_onehot_encode(const char *seq, int len, float n_value, float *out, int stride) {
  for (int i = 0; i < len; i++) {
    int c = base_code((unsigned char)seq[i]);
    if (c < 0) return i + 1;
    for (int k = 0; k < 4; k++)
      out[(size_t)k * stride + i] = c == 4 ? n_value : (c == k ? 1.0f : 0.0f);
  }
  return 0;
}

void dnacl_onehot_decode(const float *x, int len, int stride, char *out) {
  static const char acgt[4] = {'A', 'C', 'G', 'T'};
  for (int i = 0; i < len; i++) {
    int best = 0, all_equal = 1;
    for (int k = 1; k < 4; k++) {
      float v = x[(size_t)k * stride + i];
      if (v > x[(size_t)best * stride + i]) best = k;
      if (v != x[i]) all_equal = 0;
    }
    /* Only a column whose four values are all equal is N (or padding): a tie between two
     * channels below a larger one still has a clear maximum. */
    out[i] = all_equal ? 'N' : acgt[best];
  }
}

int seq_check_bases(const char *s, int len) {
  for (int i = 0; i < len; i++)
    if (base_code((unsigned char)s[i]) < 0) return i + 1;
  return 0;
}

/* ---- small helpers ---------------------------------------------------------------- */

dnacl_status seq_fail_rec(dnacl_status s, const char *path, long line, int record, const char *id,
                          int pos, const char *fmt, ...) {
  char where[1024], msg[4096];
  int k = line > 0 ? snprintf(where, sizeof where, "%s:%ld: ", path, line)
                   : snprintf(where, sizeof where, "%s: ", path);
  if (k < 0 || k >= (int)sizeof where) k = (int)sizeof where - 1;
  if (record > 0) {
    int m = id ? snprintf(where + k, sizeof where - k, "record %d (%s)", record, id)
               : snprintf(where + k, sizeof where - k, "record %d", record);
    if (m > 0) k += m;
    if (k >= (int)sizeof where) k = (int)sizeof where - 1;
    if (pos > 0 && k < (int)sizeof where) {
      m = snprintf(where + k, sizeof where - k, ", position %d", pos);
      if (m > 0) k += m;
    }
    if (k < (int)sizeof where - 2) snprintf(where + k, sizeof where - k, ": ");
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return dnacl_fail(s, "%s%s", where, msg);
}

dnacl_status seq_bad_char(const char *path, long line, int record, const char *id, int pos, char c) {
  char shown[8];
  unsigned char u = (unsigned char)c;
  if (isprint(u)) snprintf(shown, sizeof shown, "'%c'", c);
  else snprintf(shown, sizeof shown, "'\\x%02X'", u);
  return seq_fail_rec(DNACL_ERR_PARSE, path, line, record, id, pos,
                      "invalid character %s (bases must be A, C, G, T or N, in any case)", shown);
}

dnacl_status seq_nomem(const char *path) {
  return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory while loading sequences", path);
}

int seq_parse_label(const char *s, float *v) {
  while (isspace((unsigned char)*s)) s++;
  if (!*s) return 0;
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s) return 0;
  while (isspace((unsigned char)*end)) end++;
  /* strtod also reads "nan" and "inf"; a label must be a usable number. */
  if (*end || !isfinite(d) || fabs(d) > 3.0e38) return 0;
  *v = (float)d;
  return 1;
}

int seq_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

const char *seq_split_canon(const char *s) {
  if (seq_ieq(s, "train") || seq_ieq(s, "training")) return "train";
  if (seq_ieq(s, "valid") || seq_ieq(s, "validation") || seq_ieq(s, "val")) return "valid";
  if (seq_ieq(s, "test") || seq_ieq(s, "testing")) return "test";
  return s;
}

char *seq_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

ssize_t seq_getline(char **buf, size_t *cap, FILE *f) {
  ssize_t n = getline(buf, cap, f);
  if (n < 0) return -1;
  while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r')) (*buf)[--n] = 0;
  return n;
}

dnacl_status seq_open(const char *path, FILE **f) {
  *f = fopen(path, "rb");
  if (!*f) return dnacl_fail(DNACL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  return DNACL_OK;
}

void seq_fit(int len, int L, int *src0, int *dst0, int *count) {
  if (len >= L) {
    *src0 = (len - L) / 2;
    *dst0 = 0;
    *count = L;
  } else {
    *src0 = 0;
    *dst0 = (L - len) / 2;
    *count = len;
  }
}

/* ---- the builder ------------------------------------------------------------------ */

dnacl_status seqb_init(seq_builder *b, const char *path, const dnacl_load_opts *o, dnacl_seqset *out) {
  memset(b, 0, sizeof *b);
  b->path = path;
  b->o = *o;
  b->pass = 1;
  b->n_tasks = -1;
  b->out = out;
  return DNACL_OK;
}

dnacl_status seqb_tasks(seq_builder *b, int n_tasks, const char *const *names) {
  if (b->n_tasks >= 0) {
    /* Pass 2 re-reads the same header; a different count means the file changed. */
    if (n_tasks != b->n_tasks)
      return dnacl_fail(DNACL_ERR_IO, "%s: the file changed while it was being read", b->path);
    return DNACL_OK;
  }
  b->n_tasks = n_tasks;
  if (!n_tasks) return DNACL_OK;
  b->task_names = calloc((size_t)n_tasks, sizeof *b->task_names);
  if (!b->task_names) return seq_nomem(b->path);
  for (int t = 0; t < n_tasks; t++) {
    char dflt[32];
    if (n_tasks == 1) snprintf(dflt, sizeof dflt, "label");
    else snprintf(dflt, sizeof dflt, "task%d", t);
    b->task_names[t] = seq_strdup(names ? names[t] : dflt);
    if (!b->task_names[t]) return seq_nomem(b->path);
  }
  return DNACL_OK;
}

static dnacl_status check_length(seq_builder *b, const seq_record *r) {
  const dnacl_load_opts *o = &b->o;
  if (r->len <= 0)
    return seq_fail_rec(DNACL_ERR_PARSE, b->path, r->line, r->record, r->id, 0, "empty sequence");
  int target = o->pad_to > 0 ? o->pad_to : o->crop_to > 0 ? o->crop_to : 0;
  if (target) {
    if (r->len > target && o->crop_to == 0)
      return seq_fail_rec(DNACL_ERR_PARSE, b->path, r->line, r->record, r->id, 0,
                          "length %d is longer than the padded length %d (crop as well to "
                          "keep the centre %d bases)", r->len, target, target);
    if (r->len < target && o->pad_to == 0)
      return seq_fail_rec(DNACL_ERR_PARSE, b->path, r->line, r->record, r->id, 0,
                          "length %d is shorter than the cropped length %d (pad as well to "
                          "centre it in zeros)", r->len, target);
  } else if (!o->pad_to && !o->crop_to && b->n > 0 && r->len != b->first_len) {
    return seq_fail_rec(DNACL_ERR_PARSE, b->path, r->line, r->record, r->id, 0,
                        "length %d differs from length %d of record %d (%s); sequences must "
                        "all have the same length unless padding or cropping is asked for",
                        r->len, b->first_len, b->first_record, b->first_id);
  }
  return DNACL_OK;
}

dnacl_status seqb_add(seq_builder *b, const seq_record *r) {
  if (b->pass == 1) {
    DNACL_TRY(check_length(b, r));
    if (b->n == 0) {
      b->first_len = b->min_len = b->max_len = r->len;
      b->first_record = r->record;
      b->first_id = seq_strdup(r->id);
      if (!b->first_id) return seq_nomem(b->path);
    }
    if (r->len < b->min_len) b->min_len = r->len;
    if (r->len > b->max_len) b->max_len = r->len;
    if (b->n == INT_MAX)
      return dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s: more than %d records", b->path, INT_MAX);
    b->n++;
    return DNACL_OK;
  }
  dnacl_seqset *s = b->out;
  if (b->n >= s->n)
    return dnacl_fail(DNACL_ERR_IO, "%s: the file changed while it was being read", b->path);
  int L = s->length, src0, dst0, count;
  float *row = s->x + (size_t)b->n * 4 * L;
  seq_fit(r->len, L, &src0, &dst0, &count);
  /* Rows are calloc'ed, so the padding is already zero. */
  int bad = dnacl_onehot_encode(r->seq + src0, count, b->o.n_value, row + dst0, L);
  if (bad) return seq_bad_char(b->path, r->line, r->record, r->id, src0 + bad, r->seq[src0 + bad - 1]);
  for (int t = 0; t < s->n_tasks; t++) s->y[(size_t)b->n * s->n_tasks + t] = r->labels[t];
  s->ids[b->n] = seq_strdup(r->id);
  if (!s->ids[b->n]) return seq_nomem(b->path);
  b->n++;
  return DNACL_OK;
}

dnacl_status seqb_end_pass(seq_builder *b, const char *what) {
  dnacl_seqset *s = b->out;
  if (b->pass == 2) {
    if (b->n != s->n)
      return dnacl_fail(DNACL_ERR_IO, "%s: the file changed while it was being read", b->path);
    s->task_names = b->task_names;
    b->task_names = NULL;
    free(b->first_id);
    b->first_id = NULL;
    return DNACL_OK;
  }
  if (b->n == 0) {
    if (what) return dnacl_fail(DNACL_ERR_PARSE, "%s: no records %s", b->path, what);
    return dnacl_fail(DNACL_ERR_PARSE, "%s: no sequence records", b->path);
  }
  const dnacl_load_opts *o = &b->o;
  int L = o->pad_to > 0 ? o->pad_to : o->crop_to > 0 ? o->crop_to
        : o->pad_to < 0 ? b->max_len : o->crop_to < 0 ? b->min_len : b->first_len;
  if (L > INT_MAX / 4)
    return dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s: sequences of length %d are too long", b->path, L);
  size_t nx = (size_t)b->n * 4 * (size_t)L;
  if (nx / 4 / (size_t)L != (size_t)b->n || nx > SIZE_MAX / sizeof(float))
    return dnacl_fail(DNACL_ERR_NOMEM, "%s: %d sequences of length %d do not fit in memory",
                      b->path, b->n, L);
  if (b->n_tasks < 0) b->n_tasks = 0;
  memset(s, 0, sizeof *s);
  s->n = b->n;
  s->length = L;
  s->n_tasks = b->n_tasks;
  s->x = calloc(nx, sizeof *s->x);
  s->ids = calloc((size_t)b->n, sizeof *s->ids);
  if (s->n_tasks) s->y = calloc((size_t)b->n * s->n_tasks, sizeof *s->y);
  if (!s->x || !s->ids || (s->n_tasks && !s->y))
    return dnacl_fail(DNACL_ERR_NOMEM, "%s: cannot allocate %.1f MB for %d sequences of length %d",
                      b->path, (double)nx * sizeof(float) / 1e6, b->n, L);
  b->n_pass1 = b->n;
  b->n = 0;
  b->pass = 2;
  return DNACL_OK;
}

void seqb_free(seq_builder *b) {
  if (b->task_names) {
    for (int t = 0; t < b->n_tasks; t++) free(b->task_names[t]);
    free(b->task_names);
    b->task_names = NULL;
  }
  free(b->first_id);
  b->first_id = NULL;
  if (b->out) dnacl_seqset_free(b->out);
}

/* ---- the API ---------------------------------------------------------------------- */

dnacl_load_opts dnacl_load_opts_default(void) {
  dnacl_load_opts o;
  memset(&o, 0, sizeof o);
  o.n_value = 0.25f;
  return o;
}

void dnacl_seqset_free(dnacl_seqset *s) {
  if (!s) return;
  if (s->ids)
    for (int i = 0; i < s->n; i++) free(s->ids[i]);
  if (s->task_names)
    for (int t = 0; t < s->n_tasks; t++) free(s->task_names[t]);
  free(s->ids);
  free(s->task_names);
  free(s->x);
  free(s->y);
  memset(s, 0, sizeof *s);
}

typedef enum { FMT_UNKNOWN, FMT_CSV, FMT_TSV, FMT_FASTA, FMT_H5 } seq_format;

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && seq_ieq(s + n - m, suffix);
}

/* The format from the extension, else from the first bytes. Reading a few bytes also
 * turns a missing or unreadable file and an empty file into clear errors up front. */
static dnacl_status detect_format(const char *path, seq_format *fmt) {
  if (ends_with(path, ".gz") || ends_with(path, ".bgz") || ends_with(path, ".bz2") ||
      ends_with(path, ".xz") || ends_with(path, ".zst"))
    return dnacl_fail(DNACL_ERR_UNSUPPORTED,
                      "%s: compressed files are not read; decompress it first", path);
  FILE *f;
  DNACL_TRY(seq_open(path, &f));
  unsigned char head[512];
  size_t got = fread(head, 1, sizeof head, f);
  int err = ferror(f);
  fclose(f);
  if (err) return dnacl_fail(DNACL_ERR_IO, "%s: read error", path);
  if (got == 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: the file is empty", path);
  size_t k = 0;
  while (k < got && isspace(head[k])) k++;
  if (k == got) return dnacl_fail(DNACL_ERR_PARSE, "%s: the file is empty (only blank lines)", path);

  if (ends_with(path, ".csv")) *fmt = FMT_CSV;
  else if (ends_with(path, ".tsv") || ends_with(path, ".txt")) *fmt = FMT_TSV;
  else if (ends_with(path, ".fa") || ends_with(path, ".fasta") || ends_with(path, ".fna") ||
           ends_with(path, ".fas") || ends_with(path, ".ffn"))
    *fmt = FMT_FASTA;
  else if (ends_with(path, ".h5") || ends_with(path, ".hdf5") || ends_with(path, ".hdf"))
    *fmt = FMT_H5;
  else *fmt = FMT_UNKNOWN;
  if (*fmt != FMT_UNKNOWN) return DNACL_OK;

  if (got >= 8 && !memcmp(head, "\x89HDF\r\n\x1a\n", 8)) *fmt = FMT_H5;
  else if (head[k] == '>') *fmt = FMT_FASTA;
  else {
    /* A header line naming a sequence column: tab-separated if it has tabs and no commas. */
    size_t e = k;
    int tabs = 0, commas = 0;
    char line[513];
    while (e < got && head[e] != '\n') {
      tabs += head[e] == '\t';
      commas += head[e] == ',';
      e++;
    }
    memcpy(line, head + k, e - k);
    line[e - k] = 0;
    for (char *p = line; *p; p++) *p = (char)tolower((unsigned char)*p);
    if (strstr(line, "seq") && (tabs || commas)) *fmt = tabs && !commas ? FMT_TSV : FMT_CSV;
  }
  if (*fmt == FMT_UNKNOWN)
    return dnacl_fail(DNACL_ERR_PARSE,
                      "%s: cannot tell the format: expected FASTA ('>' headers), CSV/TSV with a "
                      "'sequence' column, or HDF5 (or name the file .fa, .csv, .tsv or .h5)",
                      path);
  return DNACL_OK;
}

static dnacl_status check_opts(const char *path, const dnacl_load_opts *o) {
  if (o->pad_to < -1 || o->crop_to < -1)
    return dnacl_fail(DNACL_ERR_ARG, "%s: pad and crop lengths must be positive (or -1)", path);
  if (o->pad_to && o->crop_to && (o->pad_to != o->crop_to || o->pad_to < 0))
    return dnacl_fail(DNACL_ERR_ARG,
                      "%s: padding to %d and cropping to %d at once: both must be the same "
                      "positive length (fit every record to it)", path, o->pad_to, o->crop_to);
  if (!isfinite(o->n_value))
    return dnacl_fail(DNACL_ERR_ARG, "%s: the value for N must be a finite number", path);
  return DNACL_OK;
}

dnacl_status dnacl_seqset_load(const char *path, const dnacl_load_opts *opts, dnacl_seqset *out) {
  if (!out) return dnacl_fail(DNACL_ERR_ARG, "dnacl_seqset_load: out is NULL");
  memset(out, 0, sizeof *out);
  if (!path || !*path) return dnacl_fail(DNACL_ERR_ARG, "dnacl_seqset_load: no file name");
  dnacl_load_opts o = opts ? *opts : dnacl_load_opts_default();
  DNACL_TRY(check_opts(path, &o));
  seq_format fmt;
  DNACL_TRY(detect_format(path, &fmt));
  if (fmt != FMT_FASTA && o.labels_tsv)
    return dnacl_fail(DNACL_ERR_ARG, "%s: a label table (%s) goes with FASTA input only", path,
                      o.labels_tsv);
  if (fmt == FMT_FASTA && o.split)
    return dnacl_fail(DNACL_ERR_ARG,
                      "%s: FASTA files have no splits, so split '%s' cannot be selected; give "
                      "each split its own file", path, o.split);
  if (fmt != FMT_CSV && fmt != FMT_TSV && o.tf)
    return dnacl_fail(DNACL_ERR_ARG, "%s: selecting a transcription factor ('%s') needs a CSV "
                      "file with a transcription_factor column", path, o.tf);
  if (fmt == FMT_H5) return seq_read_h5(path, &o, out);

  seq_builder b;
  DNACL_TRY(seqb_init(&b, path, &o, out));
  dnacl_status s = fmt == FMT_FASTA ? seq_read_fasta(&b) : seq_read_csv(&b, fmt == FMT_TSV ? '\t' : ',');
  if (s != DNACL_OK) seqb_free(&b);
  return s;
}

dnacl_status dnacl_seqset_has_split(const char *path, const char *split, int *has) {
  if (!path || !split || !has) return dnacl_fail(DNACL_ERR_ARG, "dnacl_seqset_has_split: NULL argument");
  *has = 0;
  seq_format fmt;
  DNACL_TRY(detect_format(path, &fmt));
  switch (fmt) {
    case FMT_H5: return seq_h5_has_split(path, split, has);
    case FMT_CSV: return seq_csv_has_split(path, ',', split, has);
    case FMT_TSV: return seq_csv_has_split(path, '\t', split, has);
    default: return DNACL_OK;
  }
}
