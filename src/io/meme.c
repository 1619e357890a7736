/* MEME motif files: reader and writer (see meme.h for the accepted format). */
#include "io/meme.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_SUM_TOL 0.02
#define BG_SUM_TOL 0.01

static char *dup_str(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

void dnacl_motif_set_init(dnacl_motif_set *s) {
  memset(s, 0, sizeof *s);
  for (int c = 0; c < 4; c++) s->bg[c] = 0.25;
  s->strands = 2;
}

static void motif_free(dnacl_motif *m) {
  free(m->id);
  free(m->name);
  free(m->url);
  free(m->p);
}

void dnacl_motif_set_free(dnacl_motif_set *s) {
  if (!s) return;
  for (int i = 0; i < s->n; i++) motif_free(&s->motifs[i]);
  free(s->motifs);
  dnacl_motif_set_init(s);
}

/* Room for one more motif, zero-initialised; NULL when out of memory. */
static dnacl_motif *push(dnacl_motif_set *s) {
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 64;
    dnacl_motif *m = realloc(s->motifs, (size_t)cap * sizeof *m);
    if (!m) return NULL;
    s->motifs = m;
    s->cap = cap;
  }
  dnacl_motif *m = &s->motifs[s->n++];
  memset(m, 0, sizeof *m);
  return m;
}

dnacl_status dnacl_motif_set_add(dnacl_motif_set *s, const char *id, const char *name, const char *url,
                                 const double *p, int width, double nsites, double evalue) {
  if (!id || !*id || width < 1) return dnacl_fail(DNACL_ERR_ARG, "a motif needs an id and a width >= 1");
  dnacl_motif *m = push(s);
  if (!m) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory adding motif %s", id);
  m->id = dup_str(id);
  m->name = name && *name ? dup_str(name) : NULL;
  m->url = url && *url ? dup_str(url) : NULL;
  m->p = malloc((size_t)width * 4 * sizeof *m->p);
  m->width = width;
  m->nsites = nsites;
  m->evalue = evalue;
  if (!m->id || (name && *name && !m->name) || (url && *url && !m->url) || !m->p) {
    motif_free(m);
    s->n--;
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory adding motif %s", id);
  }
  memcpy(m->p, p, (size_t)width * 4 * sizeof *m->p);
  return DNACL_OK;
}

int dnacl_motif_find(const dnacl_motif_set *s, const char *key) {
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->motifs[i].id, key)) return i;
  int found = -1;
  for (int i = 0; i < s->n; i++)
    if (s->motifs[i].name && !strcmp(s->motifs[i].name, key)) {
      if (found >= 0) return -2;
      found = i;
    }
  return found;
}

void dnacl_motif_revcomp(const double *p, int width, double *out) {
  for (int i = 0; i < width; i++)
    for (int c = 0; c < 4; c++) out[i * 4 + c] = p[(width - 1 - i) * 4 + (3 - c)];
}

void dnacl_motif_consensus(const double *p, int width, char *out) {
  for (int i = 0; i < width; i++) {
    int best = 0;
    for (int c = 1; c < 4; c++)
      if (p[i * 4 + c] > p[i * 4 + best]) best = c;
    out[i] = "ACGT"[best];
  }
  out[width] = 0;
}

double dnacl_motif_column_ic(const double *p, int i) {
  double h = 0, sum = 0;
  for (int c = 0; c < 4; c++) sum += p[i * 4 + c] > 0 ? p[i * 4 + c] : 0;
  if (!(sum > 0)) return 0;
  for (int c = 0; c < 4; c++) {
    double q = p[i * 4 + c] / sum;
    if (q > 0) h -= q * log2(q);
  }
  double ic = 2 - h;
  return ic < 0 ? 0 : ic > 2 ? 2 : ic;
}

/* ---- reader ------------------------------------------------------------------------- */

typedef struct parser {
  const char *path;
  dnacl_motif_set *set;
  int line;
} parser;

static dnacl_status perr(const parser *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static dnacl_status perr(const parser *ps, int line, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return dnacl_fail(DNACL_ERR_PARSE, "%s:%d: %s", ps->path, line, msg);
}

static int starts_with(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* Whitespace-separated tokens of a line (modified in place); returns the count. */
static int tokens(char *s, char **tok, int max) {
  int n = 0;
  while (*s) {
    while (*s && isspace((unsigned char)*s)) s++;
    if (!*s) break;
    if (n < max) tok[n] = s;
    n++;
    while (*s && !isspace((unsigned char)*s)) s++;
    if (*s) *s++ = 0;
  }
  return n;
}

/* A whole token as a finite number. */
static int number(const char *t, double *v) {
  char *end;
  errno = 0;
  *v = strtod(t, &end);
  return end != t && !*end && isfinite(*v);
}

/* Is the line a row of numbers (its first token is a number)? */
static int is_row(const char *line) {
  char buf[64];
  const char *s = line;
  while (*s && isspace((unsigned char)*s)) s++;
  size_t n = strcspn(s, " \t\r\n");
  if (!n || n >= sizeof buf) return 0;
  memcpy(buf, s, n);
  buf[n] = 0;
  /* Not number(): "nan" and "inf" start a row too, so the row's own check names them. */
  char *end;
  (void)strtod(buf, &end);
  return end != buf && !*end;
}

typedef struct matrix_state {
  int active;      /* reading rows of a letter-probability matrix */
  int skipping;    /* reading rows of a log-odds matrix, to be dropped */
  int want;        /* rows declared by w=, or -1 for "until a line that is not a row" */
  int got;
  int start_line;  /* the matrix header line */
  double *rows;    /* got * 4 */
  int cap;
} matrix_state;

/* The matrix being read has ended (at line `line`, 0 for end of file): check its row count
 * and give it to the current motif. */
static dnacl_status finish_matrix(parser *ps, matrix_state *mx, int line) {
  if (mx->skipping) {
    mx->skipping = 0;
    return DNACL_OK;
  }
  if (!mx->active) return DNACL_OK;
  mx->active = 0;
  dnacl_motif *m = &ps->set->motifs[ps->set->n - 1];
  if (mx->want >= 0 && mx->got < mx->want)
    return perr(ps, line ? line : ps->line, "motif %s: the letter-probability matrix of line %d declares w= %d but has %d row%s",
                m->id, mx->start_line, mx->want, mx->got, mx->got == 1 ? "" : "s");
  if (mx->got == 0) return perr(ps, mx->start_line, "motif %s: the letter-probability matrix has no rows", m->id);
  m->p = malloc((size_t)mx->got * 4 * sizeof *m->p);
  if (!m->p) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", ps->path);
  memcpy(m->p, mx->rows, (size_t)mx->got * 4 * sizeof *m->p);
  m->width = mx->got;
  return DNACL_OK;
}

static dnacl_status matrix_row(parser *ps, matrix_state *mx, char *line) {
  dnacl_motif *m = &ps->set->motifs[ps->set->n - 1];
  char *tok[8];
  int nt = tokens(line, tok, 8);
  if (mx->skipping) {
    mx->got++;
    if (mx->want >= 0 && mx->got >= mx->want) mx->skipping = 0;
    return DNACL_OK;
  }
  if (nt != 4)
    return perr(ps, ps->line, "motif %s: row %d of the letter-probability matrix has %d value%s, expected 4 (A C G T)",
                m->id, mx->got + 1, nt, nt == 1 ? "" : "s");
  double v[4], sum = 0;
  for (int c = 0; c < 4; c++) {
    if (!number(tok[c], &v[c]))
      return perr(ps, ps->line, "motif %s: row %d: '%s' is not a number", m->id, mx->got + 1, tok[c]);
    if (v[c] < 0 || v[c] > 1)
      return perr(ps, ps->line, "motif %s: row %d: probability %s of %c is outside [0, 1]", m->id, mx->got + 1, tok[c],
                  "ACGT"[c]);
    sum += v[c];
  }
  if (fabs(sum - 1) > ROW_SUM_TOL)
    return perr(ps, ps->line, "motif %s: row %d: the probabilities sum to %.6g, not 1 (counts instead of probabilities?)",
                m->id, mx->got + 1, sum);
  if (mx->got == mx->cap) {
    int cap = mx->cap ? mx->cap * 2 : 32;
    double *r = realloc(mx->rows, (size_t)cap * 4 * sizeof *r);
    if (!r) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", ps->path);
    mx->rows = r;
    mx->cap = cap;
  }
  memcpy(mx->rows + (size_t)mx->got * 4, v, sizeof v);
  mx->got++;
  if (mx->want >= 0 && mx->got == mx->want) return finish_matrix(ps, mx, ps->line);
  return DNACL_OK;
}

/* "alength= 4 w= 11 nsites= 20 E= 0" (also "w=11"): the values of the keys present. */
static dnacl_status matrix_header(parser *ps, char *rest, int *alength, int *w, double *nsites, double *evalue) {
  char *tok[32];
  int nt = tokens(rest, tok, 32);
  if (nt > 32) nt = 32;
  for (int i = 0; i < nt; i++) {
    char *eq = strchr(tok[i], '=');
    if (!eq) continue;
    *eq = 0;
    const char *key = tok[i], *val = eq[1] ? eq + 1 : (i + 1 < nt ? tok[++i] : "");
    double v;
    int is_int = !strcmp(key, "alength") || !strcmp(key, "w");
    if (!strcmp(key, "alength") || !strcmp(key, "w") || !strcmp(key, "nsites") || !strcmp(key, "E")) {
      if (!number(val, &v) || (is_int && (v != floor(v) || v > 1e6)))
        return perr(ps, ps->line, "letter-probability matrix: %s= expects %s, got '%s'", key,
                    is_int ? "a whole number" : "a number", val);
      if (!strcmp(key, "alength")) *alength = (int)v;
      else if (!strcmp(key, "w")) *w = (int)v;
      else if (!strcmp(key, "nsites")) *nsites = v;
      else *evalue = v;
    }
  }
  return DNACL_OK;
}

static dnacl_status parse_line(parser *ps, matrix_state *mx, char *line, int *version, int *want_bg) {
  dnacl_motif_set *set = ps->set;
  /* Trim. */
  while (*line && isspace((unsigned char)*line)) line++;
  size_t n = strlen(line);
  while (n && isspace((unsigned char)line[n - 1])) line[--n] = 0;

  if (mx->active || mx->skipping) {
    if (!*line && mx->want >= 0) return DNACL_OK; /* blank lines between declared rows */
    if (*line && is_row(line)) return matrix_row(ps, mx, line);
    DNACL_TRY(finish_matrix(ps, mx, ps->line));
  }
  if (!*line) return DNACL_OK;

  if (*want_bg) {
    /* "A 0.25 C 0.25 G 0.25 T 0.25" */
    char *tok[16];
    int nt = tokens(line, tok, 16);
    double bg[4] = {-1, -1, -1, -1}, sum = 0;
    if (nt != 8) return perr(ps, ps->line, "background letter frequencies: expected 'A p C p G p T p', got %d fields", nt);
    for (int i = 0; i < 8; i += 2) {
      const char *pos = strlen(tok[i]) == 1 ? strchr("ACGT", toupper((unsigned char)tok[i][0])) : NULL;
      double v;
      if (!pos || !tok[i][0]) return perr(ps, ps->line, "background letter frequencies: '%s' is not one of A, C, G, T", tok[i]);
      if (!number(tok[i + 1], &v) || v < 0 || v > 1)
        return perr(ps, ps->line, "background letter frequencies: %s has '%s', not a probability", tok[i], tok[i + 1]);
      int c = (int)(pos - "ACGT");
      if (bg[c] >= 0) return perr(ps, ps->line, "background letter frequencies: %s is given twice", tok[i]);
      bg[c] = v;
      sum += v;
    }
    if (fabs(sum - 1) > BG_SUM_TOL)
      return perr(ps, ps->line, "background letter frequencies sum to %.6g, not 1", sum);
    memcpy(set->bg, bg, sizeof bg);
    *want_bg = 0;
    return DNACL_OK;
  }

  if (starts_with(line, "MEME version")) {
    double v;
    char buf[32];
    const char *s = line + strlen("MEME version");
    while (*s == ' ' || *s == '\t') s++;
    size_t k = strspn(s, "0123456789");
    if (!k || k >= sizeof buf) return perr(ps, ps->line, "'%s': expected 'MEME version 4' (or later)", line);
    memcpy(buf, s, k);
    buf[k] = 0;
    if (!number(buf, &v) || v < 4)
      return perr(ps, ps->line, "MEME version %s: only version 4 and later are supported", buf);
    *version = (int)v;
    return DNACL_OK;
  }
  int header = starts_with(line, "ALPHABET") || starts_with(line, "strands:") ||
               starts_with(line, "Background letter frequencies") || starts_with(line, "MOTIF") ||
               starts_with(line, "letter-probability matrix:");
  if (header && !*version)
    return perr(ps, ps->line, "'%.40s' before the 'MEME version' line: is this a MEME motif file?", line);

  if (starts_with(line, "ALPHABET")) {
    const char *s = line + strlen("ALPHABET");
    if (*s != '=') return perr(ps, ps->line, "only the DNA alphabet 'ALPHABET= ACGT' is supported, got '%s'", line);
    s++;
    while (*s == ' ' || *s == '\t') s++;
    if (strcmp(s, "ACGT") && strcmp(s, "acgt"))
      return perr(ps, ps->line, "alphabet '%s': only ACGT (DNA) is supported", s);
    return DNACL_OK;
  }
  if (starts_with(line, "strands:")) {
    char *tok[4];
    int nt = tokens(line + strlen("strands:"), tok, 4);
    if (nt == 1 && !strcmp(tok[0], "+")) set->strands = 1;
    else if (nt == 2 && !strcmp(tok[0], "+") && !strcmp(tok[1], "-")) set->strands = 2;
    else return perr(ps, ps->line, "strands: expected '+ -' or '+'");
    return DNACL_OK;
  }
  if (starts_with(line, "Background letter frequencies")) {
    *want_bg = 1;
    return DNACL_OK;
  }
  if (starts_with(line, "MOTIF") && (line[5] == ' ' || line[5] == '\t' || !line[5])) {
    char *tok[3];
    int nt = tokens(line + 5, tok, 3);
    if (nt < 1) return perr(ps, ps->line, "MOTIF without an id");
    if (set->n > 0 && !set->motifs[set->n - 1].p)
      return perr(ps, set->motifs[set->n - 1].line, "motif %s has no letter-probability matrix", set->motifs[set->n - 1].id);
    for (int i = 0; i < set->n; i++)
      if (!strcmp(set->motifs[i].id, tok[0]))
        return perr(ps, ps->line, "motif id %s repeats the motif of line %d", tok[0], set->motifs[i].line);
    dnacl_motif *m = push(set);
    if (!m) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", ps->path);
    m->line = ps->line;
    m->id = dup_str(tok[0]);
    m->name = nt > 1 ? dup_str(tok[1]) : NULL;
    if (!m->id || (nt > 1 && !m->name)) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", ps->path);
    return DNACL_OK;
  }
  if (starts_with(line, "letter-probability matrix:")) {
    if (set->n == 0) return perr(ps, ps->line, "letter-probability matrix outside a MOTIF");
    dnacl_motif *m = &set->motifs[set->n - 1];
    if (m->p) return perr(ps, ps->line, "motif %s has a second letter-probability matrix", m->id);
    int alength = 4, w = -1;
    double nsites = 0, evalue = 0;
    DNACL_TRY(matrix_header(ps, line + strlen("letter-probability matrix:"), &alength, &w, &nsites, &evalue));
    if (alength != 4) return perr(ps, ps->line, "motif %s: alength= %d; only DNA (alength= 4) is supported", m->id, alength);
    if (w == 0 || w < -1) return perr(ps, ps->line, "motif %s: w= %d; a motif needs at least one column", m->id, w);
    if (nsites < 0) return perr(ps, ps->line, "motif %s: nsites= %g is negative", m->id, nsites);
    m->nsites = nsites;
    m->evalue = evalue;
    mx->active = 1;
    mx->want = w;
    mx->got = 0;
    mx->start_line = ps->line;
    return DNACL_OK;
  }
  if (starts_with(line, "log-odds matrix:")) {
    int alength = 4, w = -1;
    double nsites = 0, evalue = 0;
    DNACL_TRY(matrix_header(ps, line + strlen("log-odds matrix:"), &alength, &w, &nsites, &evalue));
    mx->skipping = 1;
    mx->want = w;
    mx->got = 0;
    return DNACL_OK;
  }
  if (starts_with(line, "URL") && (line[3] == ' ' || line[3] == '\t') && set->n > 0) {
    dnacl_motif *m = &set->motifs[set->n - 1];
    const char *u = line + 3;
    while (*u == ' ' || *u == '\t') u++;
    free(m->url);
    m->url = dup_str(u);
    if (!m->url) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", ps->path);
    return DNACL_OK;
  }
  return DNACL_OK; /* prose of full MEME output, comments, ... */
}

dnacl_status dnacl_meme_parse(const char *path, const char *text, dnacl_motif_set *out) {
  dnacl_motif_set_init(out);
  parser ps = {path ? path : "(motifs)", out, 0};
  matrix_state mx;
  memset(&mx, 0, sizeof mx);
  int version = 0, want_bg = 0;
  dnacl_status s = DNACL_OK;
  size_t cap = 256;
  char *buf = malloc(cap);
  if (!buf) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", ps.path);
  const char *p = text;
  while (s == DNACL_OK && *p) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n + 1 > cap) {
      while (cap < n + 1) cap *= 2;
      char *b = realloc(buf, cap);
      if (!b) {
        s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", ps.path);
        break;
      }
      buf = b;
    }
    memcpy(buf, p, n);
    buf[n] = 0;
    ps.line++;
    if (memchr(buf, 0, n)) {
      s = perr(&ps, ps.line, "a NUL byte: this is not a text file");
      break;
    }
    s = parse_line(&ps, &mx, buf, &version, &want_bg);
    p = e ? e + 1 : p + n;
  }
  if (s == DNACL_OK) s = finish_matrix(&ps, &mx, 0);
  if (s == DNACL_OK && !version) s = perr(&ps, ps.line ? ps.line : 1, "no 'MEME version' line: not a MEME motif file");
  if (s == DNACL_OK && want_bg) s = perr(&ps, ps.line, "the background letter frequencies are missing at the end of the file");
  if (s == DNACL_OK && out->n > 0 && !out->motifs[out->n - 1].p)
    s = perr(&ps, out->motifs[out->n - 1].line, "motif %s has no letter-probability matrix", out->motifs[out->n - 1].id);
  if (s == DNACL_OK && out->n == 0) s = perr(&ps, ps.line ? ps.line : 1, "no MOTIF in the file");
  free(buf);
  free(mx.rows);
  if (s != DNACL_OK) dnacl_motif_set_free(out);
  return s;
}

dnacl_status dnacl_meme_load(const char *path, dnacl_motif_set *out) {
  dnacl_motif_set_init(out);
  FILE *f = fopen(path, "rb");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0, r;
  char *text = malloc(cap);
  while (text && (r = fread(text + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 == cap) {
      char *t = realloc(text, cap * 2);
      if (!t) {
        free(text);
        text = NULL;
        break;
      }
      text = t;
      cap *= 2;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (!text) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory reading %s", path);
  if (err) {
    free(text);
    return dnacl_fail(DNACL_ERR_IO, "%s: read error", path);
  }
  text[n] = 0;
  if (strlen(text) != n) {
    /* A NUL inside: find its line for the message. */
    int line = 1;
    for (size_t i = 0; text[i]; i++) line += text[i] == '\n';
    free(text);
    return dnacl_fail(DNACL_ERR_PARSE, "%s:%d: a NUL byte: this is not a text file", path, line);
  }
  dnacl_status s = dnacl_meme_parse(path, text, out);
  free(text);
  return s;
}

/* ---- writer ------------------------------------------------------------------------- */

static int bad_word(const char *s) {
  if (!s || !*s) return 1;
  for (; *s; s++)
    if (isspace((unsigned char)*s) || (unsigned char)*s < 0x20) return 1;
  return 0;
}

dnacl_status dnacl_meme_save(const char *path, const dnacl_motif_set *s) {
  for (int i = 0; i < s->n; i++) {
    const dnacl_motif *m = &s->motifs[i];
    /* An id or name with blanks would read back as other words: refuse it here. */
    if (bad_word(m->id) || (m->name && bad_word(m->name)))
      return dnacl_fail(DNACL_ERR_ARG, "%s: motif %d: id '%s' / name '%s' must be single words", path, i,
                        m->id ? m->id : "", m->name ? m->name : "");
    if (m->width < 1 || !m->p) return dnacl_fail(DNACL_ERR_ARG, "%s: motif %s has no columns", path, m->id);
    if (m->url && strpbrk(m->url, "\r\n")) return dnacl_fail(DNACL_ERR_ARG, "%s: motif %s: the URL has a line break", path, m->id);
  }
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return dnacl_fail(DNACL_ERR_ARG, "%s: path too long", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "%s: %s", tmp, strerror(errno));
  fprintf(f, "MEME version 4\n\nALPHABET= ACGT\n\nstrands: %s\n\n", s->strands == 1 ? "+" : "+ -");
  fprintf(f, "Background letter frequencies\nA %.5f C %.5f G %.5f T %.5f\n\n", s->bg[0], s->bg[1], s->bg[2], s->bg[3]);
  for (int i = 0; i < s->n; i++) {
    const dnacl_motif *m = &s->motifs[i];
    fprintf(f, "MOTIF %s%s%s\n\n", m->id, m->name ? " " : "", m->name ? m->name : "");
    fprintf(f, "letter-probability matrix: alength= 4 w= %d nsites= %.10g E= %.6g\n", m->width, m->nsites, m->evalue);
    for (int j = 0; j < m->width; j++)
      fprintf(f, "  %.6f\t  %.6f\t  %.6f\t  %.6f\n", m->p[j * 4], m->p[j * 4 + 1], m->p[j * 4 + 2], m->p[j * 4 + 3]);
    fprintf(f, "\n");
    if (m->url) fprintf(f, "URL %s\n\n", m->url);
  }
  int ok = !ferror(f);
  ok &= fclose(f) == 0;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return dnacl_fail(DNACL_ERR_IO, "%s: cannot write the motif file", path);
  }
  return DNACL_OK;
}
