/* NumPy .npy reader and atomic writer (format: numpy/lib/format.py, "NEP 1"). */
#include "io/npy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int host_little(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

static void swap_bytes(void *p, size_t n, size_t width) {
  uint8_t *b = p;
  for (size_t i = 0; i < n; i++, b += width)
    for (size_t k = 0; k < width / 2; k++) {
      uint8_t t = b[k];
      b[k] = b[width - 1 - k];
      b[width - 1 - k] = t;
    }
}

static char *dup_str(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 1);
  if (s) {
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
  }
  return s;
}

static void writer_release(dnacl_npy_writer *w, int remove_tmp) {
  if (w->f) fclose(w->f);
  if (remove_tmp && w->tmp) remove(w->tmp);
  free(w->path);
  free(w->tmp);
  memset(w, 0, sizeof *w);
}

dnacl_status dnacl_npy_writer_open(dnacl_npy_writer *w, const char *path, int ndim, const size_t *shape) {
  memset(w, 0, sizeof *w);
  if (ndim < 1 || ndim > DNACL_NPY_MAX_DIMS)
    return dnacl_fail(DNACL_ERR_ARG, "%s: an .npy array needs 1 to %d dimensions, got %d", path, DNACL_NPY_MAX_DIMS, ndim);
  /* The header dict, then spaces and a newline so that the data start at a multiple of 64
   * bytes (what numpy writes, and what lets a reader memory-map the data aligned). */
  char dict[512];
  size_t u = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
  size_t count = 1;
  for (int d = 0; d < ndim; d++) {
    u += (size_t)snprintf(dict + u, sizeof dict - u, "%s%zu", d ? ", " : "", shape[d]);
    count *= shape[d];
  }
  u += (size_t)snprintf(dict + u, sizeof dict - u, "%s), }", ndim == 1 ? "," : "");
  size_t total = 10 + u + 1, padded = (total + 63) / 64 * 64;
  char head[640];
  memcpy(head, "\x93NUMPY\x01\x00", 8);
  size_t hlen = padded - 10;
  head[8] = (char)(hlen & 0xff);
  head[9] = (char)(hlen >> 8);
  memcpy(head + 10, dict, u);
  memset(head + 10 + u, ' ', padded - total);
  head[padded - 1] = '\n';

  w->path = dup_str(path, "");
  w->tmp = dup_str(path, ".tmp");
  if (!w->path || !w->tmp) {
    writer_release(w, 0);
    return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory", path);
  }
  w->f = fopen(w->tmp, "wb");
  if (!w->f) {
    dnacl_status s = dnacl_fail(DNACL_ERR_IO, "%s: cannot open for writing", w->tmp);
    writer_release(w, 0);
    return s;
  }
  w->expected = count;
  if (fwrite(head, 1, padded, w->f) != padded) {
    dnacl_status s = dnacl_fail(DNACL_ERR_IO, "%s: write failed (disk full?)", w->tmp);
    writer_release(w, 1);
    return s;
  }
  return DNACL_OK;
}

dnacl_status dnacl_npy_writer_append(dnacl_npy_writer *w, const float *data, size_t count) {
  if (!w->f) return dnacl_fail(DNACL_ERR_ARG, "npy writer: not open");
  if (count > w->expected - w->written)
    return dnacl_fail(DNACL_ERR_ARG, "%s: %zu more elements than the header's shape holds", w->path,
                      count - (w->expected - w->written));
  if (host_little()) {
    if (count && fwrite(data, sizeof *data, count, w->f) != count)
      return dnacl_fail(DNACL_ERR_IO, "%s: write failed (disk full?)", w->tmp);
  } else {
    float buf[1024];
    for (size_t i = 0; i < count; i += 1024) {
      size_t k = count - i < 1024 ? count - i : 1024;
      memcpy(buf, data + i, k * sizeof *buf);
      swap_bytes(buf, k, sizeof *buf);
      if (fwrite(buf, sizeof *buf, k, w->f) != k) return dnacl_fail(DNACL_ERR_IO, "%s: write failed (disk full?)", w->tmp);
    }
  }
  w->written += count;
  return DNACL_OK;
}

dnacl_status dnacl_npy_writer_commit(dnacl_npy_writer *w) {
  if (!w->f) return dnacl_fail(DNACL_ERR_ARG, "npy writer: not open");
  dnacl_status s = DNACL_OK;
  if (w->written != w->expected)
    s = dnacl_fail(DNACL_ERR_ARG, "%s: %zu of %zu elements written; not saving a partial array", w->path, w->written,
                   w->expected);
  int bad = fclose(w->f) != 0;
  w->f = NULL;
  if (s == DNACL_OK && bad) s = dnacl_fail(DNACL_ERR_IO, "%s: write failed (disk full?)", w->tmp);
  if (s == DNACL_OK && rename(w->tmp, w->path) != 0) s = dnacl_fail(DNACL_ERR_IO, "%s: cannot rename to %s", w->tmp, w->path);
  writer_release(w, s != DNACL_OK);
  return s;
}

void dnacl_npy_writer_abort(dnacl_npy_writer *w) { writer_release(w, w->f != NULL); }

dnacl_status dnacl_npy_save(const char *path, int ndim, const size_t *shape, const float *data) {
  dnacl_npy_writer w;
  DNACL_TRY(dnacl_npy_writer_open(&w, path, ndim, shape));
  dnacl_status s = dnacl_npy_writer_append(&w, data, w.expected);
  if (s != DNACL_OK) {
    dnacl_npy_writer_abort(&w);
    return s;
  }
  return dnacl_npy_writer_commit(&w);
}

/* The value of 'key' in the header dict: a pointer just past "'key':" and blanks. */
static const char *dict_value(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) {
    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(h, pat);
  }
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

dnacl_status dnacl_npy_load(const char *path, int *ndim, size_t *shape, float **data) {
  *data = NULL;
  *ndim = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "%s: cannot open", path);
  dnacl_status s = DNACL_OK;
  uint8_t pre[12];
  char *h = NULL;
  void *raw = NULL;
  size_t hlen = 0, pre_len = 10;
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: not an .npy file (no \\x93NUMPY magic)", path);
    goto done;
  }
  if (pre[6] == 1) {
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else if (pre[6] == 2 || pre[6] == 3) {
    if (fread(pre + 10, 1, 2, f) != 2) {
      s = dnacl_fail(DNACL_ERR_PARSE, "%s: truncated header", path);
      goto done;
    }
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    pre_len = 12;
  } else {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: .npy format version %d.%d is not supported", path, pre[6], pre[7]);
    goto done;
  }
  (void)pre_len;
  if (hlen > (1u << 20) || !(h = malloc(hlen + 1)) || fread(h, 1, hlen, f) != hlen) {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: truncated or oversized header (%zu bytes)", path, hlen);
    goto done;
  }
  h[hlen] = 0;
  const char *d = dict_value(h, "descr"), *fo = dict_value(h, "fortran_order"), *sh = dict_value(h, "shape");
  if (!d || !fo || !sh) {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: header lacks descr, fortran_order or shape: %s", path, h);
    goto done;
  }
  int width = 0, little = 1;
  if (!strncmp(d, "'<f4'", 5) || !strncmp(d, "'=f4'", 5)) width = 4;
  else if (!strncmp(d, "'>f4'", 5)) width = 4, little = 0;
  else if (!strncmp(d, "'<f8'", 5) || !strncmp(d, "'=f8'", 5)) width = 8;
  else if (!strncmp(d, "'>f8'", 5)) width = 8, little = 0;
  if (!width) {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: dtype %.8s is not float32 or float64", path, d);
    goto done;
  }
  if (strncmp(fo, "False", 5)) {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: Fortran-order arrays are not supported", path);
    goto done;
  }
  if (*sh != '(') {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: malformed shape in header", path);
    goto done;
  }
  size_t count = 1;
  const char *p = sh + 1;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || *ndim >= DNACL_NPY_MAX_DIMS) {
      s = dnacl_fail(DNACL_ERR_PARSE, "%s: malformed or too many dimensions in shape", path);
      goto done;
    }
    shape[(*ndim)++] = (size_t)v;
    count *= (size_t)v;
    p = end;
  }
  raw = malloc(count * (size_t)width + 1);
  *data = malloc(count * sizeof **data + 1);
  if (!raw || !*data) {
    s = dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory for %zu elements", path, count);
    goto done;
  }
  if (fread(raw, (size_t)width, count, f) != count) {
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: truncated: fewer than the %zu elements the header promises", path, count);
    goto done;
  }
  if (little != host_little()) swap_bytes(raw, count, (size_t)width);
  if (width == 4) memcpy(*data, raw, count * sizeof **data);
  else
    for (size_t i = 0; i < count; i++) (*data)[i] = (float)((const double *)raw)[i];
done:
  fclose(f);
  free(h);
  free(raw);
  if (s != DNACL_OK) {
    free(*data);
    *data = NULL;
    *ndim = 0;
  }
  return s;
}
