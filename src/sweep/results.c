/* results.tsv and the file helpers the sweep needs (sweep.h).
 *
 * The table is small (one row per cell), so it is kept in memory and rewritten whole after
 * every cell: PATH.tmp is written, fsync'ed and renamed over PATH, then the directory is
 * fsync'ed so the rename itself survives a power cut. A reader therefore only ever sees
 * a complete old or a complete new table. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep/sweep.h"

/* ---- files ---------------------------------------------------------------------------- */

void dnacl_hash_hex(const char *text, size_t len, char out[17]) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)text[i];
    h *= 0x100000001b3ull;
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

dnacl_status dnacl_mkdirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return dnacl_fail(DNACL_ERR_IO, "%s: path too long", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      return dnacl_fail(DNACL_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST)
    return dnacl_fail(DNACL_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return dnacl_fail(DNACL_ERR_IO, "%s is not a directory", buf);
  return DNACL_OK;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT ? -1 : 0;
}

dnacl_status dnacl_rmtree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? DNACL_OK : dnacl_fail(DNACL_ERR_IO, "%s: %s", path, strerror(errno));
  /* FTW_PHYS: never follow a symlink out of the run directory. */
  if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
    return dnacl_fail(DNACL_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
  return DNACL_OK;
}

static void sync_dir_of(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = 0;
  else snprintf(dir, sizeof dir, ".");
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    fsync(fd); /* best effort: some file systems refuse fsync on directories */
    close(fd);
  }
}

dnacl_status dnacl_write_file_atomic(const char *path, const char *text, size_t len) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return dnacl_fail(DNACL_ERR_IO, "%s: cannot open for writing: %s", tmp, strerror(errno));
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, text + done, len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    done += (size_t)w;
  }
  int ok = done == len && fsync(fd) == 0;
  int err = errno;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    if (ok) err = errno;
    unlink(tmp);
    return dnacl_fail(DNACL_ERR_IO, "%s: write failed: %s", path, strerror(err));
  }
  sync_dir_of(path);
  return DNACL_OK;
}

/* ---- TSV ---------------------------------------------------------------------------------- */

int dnacl_tsv_field(const char *line, int k, char *buf, size_t cap) {
  const char *p = line;
  for (int i = 0; i < k; i++) {
    p = strchr(p, '\t');
    if (!p) return 0;
    p++;
  }
  size_t n = strcspn(p, "\t\n");
  if (n >= cap) n = cap - 1;
  memcpy(buf, p, n);
  buf[n] = 0;
  return 1;
}

void dnacl_results_free(dnacl_results *r) {
  if (!r) return;
  free(r->header);
  for (int i = 0; i < r->n; i++) free(r->rows[i].line);
  free(r->rows);
  memset(r, 0, sizeof *r);
}

int dnacl_results_find(const dnacl_results *r, int cell) {
  int lo = 0, hi = r->n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (r->rows[mid].cell == cell) return mid;
    if (r->rows[mid].cell < cell) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

dnacl_status dnacl_results_put(dnacl_results *r, int cell, const char *line) {
  char *copy = strdup(line);
  if (!copy) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  copy[strcspn(copy, "\n")] = 0;
  int at = dnacl_results_find(r, cell);
  if (at >= 0) {
    free(r->rows[at].line);
    r->rows[at].line = copy;
    return DNACL_OK;
  }
  if (r->n == r->cap) {
    int cap = r->cap ? 2 * r->cap : 64;
    dnacl_result_row *nr = realloc(r->rows, (size_t)cap * sizeof *nr);
    if (!nr) {
      free(copy);
      return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    }
    r->rows = nr;
    r->cap = cap;
  }
  int pos = r->n;
  while (pos > 0 && r->rows[pos - 1].cell > cell) pos--;
  memmove(r->rows + pos + 1, r->rows + pos, (size_t)(r->n - pos) * sizeof *r->rows);
  r->rows[pos].cell = cell;
  r->rows[pos].line = copy;
  r->n++;
  return DNACL_OK;
}

dnacl_status dnacl_results_load(const char *path, dnacl_results *r) {
  memset(r, 0, sizeof *r);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return DNACL_OK;
    return dnacl_fail(DNACL_ERR_IO, "%s: %s", path, strerror(errno));
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int lineno = 0;
  dnacl_status s = DNACL_OK;
  while (s == DNACL_OK && (len = getline(&line, &cap, f)) > 0) {
    lineno++;
    /* A line without its newline is a write that was cut short (a table appended to by
     * hand, or a copy interrupted): that row never finished, so it does not count. */
    if (line[len - 1] != '\n') break;
    line[len - 1] = 0;
    if (len > 1 && line[len - 2] == '\r') line[len - 2] = 0;
    if (lineno == 1) {
      if (strncmp(line, "cell\tid\t", 8) != 0) {
        s = dnacl_fail(DNACL_ERR_PARSE, "%s:1: not a dnacl sweep results table (its header does not begin with cell, id)",
                       path);
        break;
      }
      if (!(r->header = strdup(line))) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
      continue;
    }
    if (!*line) continue;
    char *end;
    long cell = strtol(line, &end, 10);
    if (end == line || *end != '\t' || cell < 0 || cell > 100000000) {
      s = dnacl_fail(DNACL_ERR_PARSE, "%s:%d: a row must begin with its cell index, got '%.40s'", path, lineno, line);
      break;
    }
    s = dnacl_results_put(r, (int)cell, line);
  }
  free(line);
  fclose(f);
  if (s != DNACL_OK) dnacl_results_free(r);
  return s;
}

dnacl_status dnacl_results_save(const char *path, const dnacl_results *r) {
  size_t len = (r->header ? strlen(r->header) : 0) + 2;
  for (int i = 0; i < r->n; i++) len += strlen(r->rows[i].line) + 1;
  char *buf = malloc(len);
  if (!buf) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  size_t u = 0;
  if (r->header) u += (size_t)snprintf(buf + u, len - u, "%s\n", r->header);
  for (int i = 0; i < r->n; i++) u += (size_t)snprintf(buf + u, len - u, "%s\n", r->rows[i].line);
  dnacl_status s = dnacl_write_file_atomic(path, buf, u);
  free(buf);
  return s;
}
