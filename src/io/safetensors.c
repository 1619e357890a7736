/* safetensors reader/writer with a small JSON parser for exactly the header's grammar. */
#include "io/safetensors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

typedef struct json {
  const char *p, *end, *path;
} json;

static void skip_ws(json *j) {
  while (j->p < j->end && isspace((unsigned char)*j->p)) j->p++;
}

static dnacl_status bad(json *j, const char *what) {
  return dnacl_fail(DNACL_ERR_PARSE, "%s: malformed safetensors header: %s", j->path, what);
}

static dnacl_status expect(json *j, char c) {
  skip_ws(j);
  if (j->p >= j->end || *j->p != c) {
    char msg[64];
    snprintf(msg, sizeof msg, "expected '%c'", c);
    return bad(j, msg);
  }
  j->p++;
  return DNACL_OK;
}

/* Strings in headers are names and metadata; escapes are decoded for \" \\ \/ \n \t only. */
static dnacl_status parse_string(json *j, char **out) {
  DNACL_TRY(expect(j, '"'));
  size_t cap = 32, n = 0;
  char *s = malloc(cap);
  if (!s) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  while (j->p < j->end && *j->p != '"') {
    char c = *j->p++;
    if (c == '\\' && j->p < j->end) {
      c = *j->p++;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
    }
    if (n + 2 > cap) {
      char *g = realloc(s, cap *= 2);
      if (!g) { free(s); return dnacl_fail(DNACL_ERR_NOMEM, "out of memory"); }
      s = g;
    }
    s[n++] = c;
  }
  s[n] = 0;
  if (j->p >= j->end) { free(s); return bad(j, "unterminated string"); }
  j->p++;
  *out = s;
  return DNACL_OK;
}

static dnacl_status parse_int(json *j, int64_t *v) {
  skip_ws(j);
  char *e;
  long long x = strtoll(j->p, &e, 10);
  if (e == j->p) return bad(j, "expected an integer");
  j->p = e;
  *v = x;
  return DNACL_OK;
}

static dnacl_status parse_int_array(json *j, int64_t *v, int max, int *n) {
  DNACL_TRY(expect(j, '['));
  *n = 0;
  skip_ws(j);
  if (j->p < j->end && *j->p == ']') { j->p++; return DNACL_OK; }
  for (;;) {
    if (*n >= max) return bad(j, "too many dimensions");
    DNACL_TRY(parse_int(j, &v[(*n)++]));
    skip_ws(j);
    if (j->p < j->end && *j->p == ',') { j->p++; continue; }
    return expect(j, ']');
  }
}

static dnacl_status parse_metadata(json *j, dnacl_safetensors *f) {
  DNACL_TRY(expect(j, '{'));
  skip_ws(j);
  if (j->p < j->end && *j->p == '}') { j->p++; return DNACL_OK; }
  for (;;) {
    char *k, *v;
    DNACL_TRY(parse_string(j, &k));
    if (expect(j, ':') != DNACL_OK || parse_string(j, &v) != DNACL_OK) { free(k); return bad(j, "metadata values must be strings"); }
    char **nk = realloc(f->meta_keys, (size_t)(f->n_meta + 1) * sizeof *nk);
    if (nk) f->meta_keys = nk;
    char **nv = realloc(f->meta_vals, (size_t)(f->n_meta + 1) * sizeof *nv);
    if (nv) f->meta_vals = nv;
    if (!nk || !nv) { free(k); free(v); return dnacl_fail(DNACL_ERR_NOMEM, "out of memory"); }
    f->meta_keys[f->n_meta] = k;
    f->meta_vals[f->n_meta++] = v;
    skip_ws(j);
    if (j->p < j->end && *j->p == ',') { j->p++; continue; }
    return expect(j, '}');
  }
}

/* One tensor entry: {"dtype": "F32", "shape": [...], "data_offsets": [a, b]} in any order. */
static dnacl_status parse_entry(json *j, dnacl_st_tensor *t, int64_t off[2]) {
  DNACL_TRY(expect(j, '{'));
  int have = 0;
  for (;;) {
    char *key;
    DNACL_TRY(parse_string(j, &key));
    dnacl_status s = expect(j, ':');
    if (s == DNACL_OK && !strcmp(key, "dtype")) {
      char *dt;
      s = parse_string(j, &dt);
      if (s == DNACL_OK && strcmp(dt, "F32") != 0)
        s = dnacl_fail(DNACL_ERR_PARSE, "%s: tensor '%s' has dtype %s; dnacl reads F32 only", j->path,
                       t->name, dt);
      if (s == DNACL_OK) free(dt);
      have |= 1;
    } else if (s == DNACL_OK && !strcmp(key, "shape")) {
      s = parse_int_array(j, t->shape, DNACL_ST_MAX_DIMS, &t->ndim);
      have |= 2;
    } else if (s == DNACL_OK && !strcmp(key, "data_offsets")) {
      int n;
      s = parse_int_array(j, off, 2, &n);
      if (s == DNACL_OK && n != 2) s = bad(j, "data_offsets needs two numbers");
      have |= 4;
    } else if (s == DNACL_OK) {
      s = bad(j, "unknown key in a tensor entry");
    }
    free(key);
    DNACL_TRY(s);
    skip_ws(j);
    if (j->p < j->end && *j->p == ',') { j->p++; continue; }
    DNACL_TRY(expect(j, '}'));
    break;
  }
  if (have != 7) return bad(j, "a tensor entry lacks dtype, shape or data_offsets");
  t->n = 1;
  for (int i = 0; i < t->ndim; i++) t->n *= (size_t)t->shape[i];
  return DNACL_OK;
}

dnacl_status dnacl_st_load(const char *path, dnacl_safetensors *out) {
  memset(out, 0, sizeof *out);
  FILE *fp = fopen(path, "rb");
  if (!fp) return dnacl_fail(DNACL_ERR_IO, "%s: cannot open for reading", path);
  unsigned char lenb[8];
  if (fread(lenb, 1, 8, fp) != 8) { fclose(fp); return dnacl_fail(DNACL_ERR_PARSE, "%s: too short for a safetensors file", path); }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | lenb[i];
  fseek(fp, 0, SEEK_END);
  long total = ftell(fp);
  if (hlen > (uint64_t)total - 8) { fclose(fp); return dnacl_fail(DNACL_ERR_PARSE, "%s: header length %llu exceeds the file", path, (unsigned long long)hlen); }
  size_t data_len = (size_t)total - 8 - (size_t)hlen;
  char *hdr = malloc(hlen + 1);
  char *data = malloc(data_len ? data_len : 1);
  if (!hdr || !data) { free(hdr); free(data); fclose(fp); return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory", path); }
  fseek(fp, 8, SEEK_SET);
  size_t got = fread(hdr, 1, hlen, fp) + fread(data, 1, data_len, fp);
  fclose(fp);
  if (got != hlen + data_len) { free(hdr); free(data); return dnacl_fail(DNACL_ERR_IO, "%s: short read", path); }
  hdr[hlen] = 0;
  json j = {hdr, hdr + hlen, path};
  dnacl_status s = expect(&j, '{');
  skip_ws(&j);
  int empty = s == DNACL_OK && j.p < j.end && *j.p == '}';
  while (s == DNACL_OK && !empty) {
    char *name;
    s = parse_string(&j, &name);
    if (s != DNACL_OK) break;
    s = expect(&j, ':');
    if (s == DNACL_OK && !strcmp(name, "__metadata__")) {
      free(name);
      s = parse_metadata(&j, out);
    } else if (s == DNACL_OK) {
      dnacl_st_tensor *g = realloc(out->t, (size_t)(out->n + 1) * sizeof *g);
      if (!g) { free(name); s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory"); break; }
      out->t = g;
      dnacl_st_tensor *t = &out->t[out->n++];
      memset(t, 0, sizeof *t);
      t->name = name;
      int64_t off[2];
      s = parse_entry(&j, t, off);
      if (s == DNACL_OK && (off[0] < 0 || off[1] < off[0] || (uint64_t)off[1] > data_len ||
                            (uint64_t)(off[1] - off[0]) != t->n * 4))
        s = dnacl_fail(DNACL_ERR_PARSE, "%s: tensor '%s' has data_offsets [%lld, %lld] that do not fit its shape or the file",
                       path, name, (long long)off[0], (long long)off[1]);
      if (s == DNACL_OK) {
        t->data = malloc(t->n ? t->n * 4 : 4);
        if (!t->data) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
        else memcpy(t->data, data + off[0], t->n * 4); /* little-endian hosts only */
      }
    } else {
      free(name);
    }
    if (s != DNACL_OK) break;
    skip_ws(&j);
    if (j.p < j.end && *j.p == ',') { j.p++; continue; }
    s = expect(&j, '}');
    break;
  }
  free(hdr);
  free(data);
  if (s != DNACL_OK) dnacl_st_free(out);
  return s;
}

void dnacl_st_free(dnacl_safetensors *f) {
  for (int i = 0; i < f->n; i++) { free(f->t[i].name); free(f->t[i].data); }
  for (int i = 0; i < f->n_meta; i++) { free(f->meta_keys[i]); free(f->meta_vals[i]); }
  free(f->t);
  free(f->meta_keys);
  free(f->meta_vals);
  memset(f, 0, sizeof *f);
}

const dnacl_st_tensor *dnacl_st_get(const dnacl_safetensors *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(f->t[i].name, name)) return &f->t[i];
  return NULL;
}

const char *dnacl_st_meta(const dnacl_safetensors *f, const char *key) {
  for (int i = 0; i < f->n_meta; i++)
    if (!strcmp(f->meta_keys[i], key)) return f->meta_vals[i];
  return NULL;
}

static void put_json_string(FILE *fp, const char *s) {
  fputc('"', fp);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', fp);
    if (*s == '\n') { fputs("\\n", fp); continue; }
    if (*s == '\t') { fputs("\\t", fp); continue; }
    fputc(*s, fp);
  }
  fputc('"', fp);
}

dnacl_status dnacl_st_save(const char *path, const dnacl_st_tensor *t, int n,
                           const char *const *meta_keys, const char *const *meta_vals, int n_meta) {
  /* The header is built in memory first so its length is known. */
  char *hbuf = NULL;
  size_t hsize = 0;
  FILE *h = open_memstream(&hbuf, &hsize);
  if (!h) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory writing %s", path);
  fputc('{', h);
  if (n_meta > 0) {
    fputs("\"__metadata__\":{", h);
    for (int i = 0; i < n_meta; i++) {
      if (i) fputc(',', h);
      put_json_string(h, meta_keys[i]);
      fputc(':', h);
      put_json_string(h, meta_vals[i]);
    }
    fputc('}', h);
  }
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    if (i || n_meta > 0) fputc(',', h);
    put_json_string(h, t[i].name);
    fputs(":{\"dtype\":\"F32\",\"shape\":[", h);
    for (int d = 0; d < t[i].ndim; d++) fprintf(h, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
    fprintf(h, "],\"data_offsets\":[%zu,%zu]}", off, off + t[i].n * 4);
    off += t[i].n * 4;
  }
  fputc('}', h);
  while ((ftell(h) + 8) % 8) fputc(' ', h); /* keep the data 8-byte aligned */
  fclose(h);

  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *fp = fopen(tmp, "wb");
  if (!fp) { free(hbuf); return dnacl_fail(DNACL_ERR_IO, "%s: cannot open for writing", tmp); }
  unsigned char lenb[8];
  for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)((uint64_t)hsize >> (8 * i));
  int ok = fwrite(lenb, 1, 8, fp) == 8 && fwrite(hbuf, 1, hsize, fp) == hsize;
  for (int i = 0; ok && i < n; i++) ok = fwrite(t[i].data, 4, t[i].n, fp) == t[i].n;
  free(hbuf);
  ok = (fflush(fp) == 0) && ok;
  ok = (fclose(fp) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return dnacl_fail(DNACL_ERR_IO, "%s: write failed", path);
  }
  return DNACL_OK;
}
