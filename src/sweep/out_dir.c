/* The output directory's lock, identity and results placement (out_dir.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep/out_dir.h"

/* The line between the shared content and the record in sweep.id. */
#define RECORD_MARK                                                                                              \
  "# not in the id: the models' layers and the grid's values by name (a sweep may grow in place), and where the " \
  "input files were read\n"

/* ---- lock -------------------------------------------------------------------------------- */

/* One process per output directory: two sweeps writing one results.tsv would each rewrite
 * it without the other's rows. A POSIX record lock (released by the kernel when the
 * process dies, kill -9 included) rather than a pid file that a crash leaves behind. */
dnacl_status dnacl_sweep_lock(const char *dir, int *fd_out) {
  char path[4200];
  snprintf(path, sizeof path, "%s/.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0) return dnacl_fail(DNACL_ERR_IO, "%s: cannot create the lock file: %s", path, strerror(errno));
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &fl) != 0) {
    /* A file system without record locks (ENOLCK on some NFS setups) cannot tell us; go
     * on unlocked rather than refuse to run there at all. */
    if (errno != EACCES && errno != EAGAIN) {
      *fd_out = fd;
      return DNACL_OK;
    }
    close(fd);
    return dnacl_fail(DNACL_ERR_IO, "another dnacl sweep is working in %s (it holds %s); wait for it, or give another --out",
                      dir, path);
  }
  *fd_out = fd;
  return DNACL_OK;
}

char *dnacl_sweep_read_text(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  size_t r;
  while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 == cap) {
      char *nb = realloc(b, cap *= 2);
      if (!nb) {
        free(b);
        b = NULL;
      } else {
        b = nb;
      }
    }
  }
  fclose(f);
  if (b) b[n] = 0;
  return b;
}

/* ---- sweep.id ------------------------------------------------------------------------------- */

void dnacl_idfile_free(dnacl_idfile *f) {
  free(f->text);
  memset(f, 0, sizeof *f);
}

dnacl_status dnacl_idfile_read(const char *dir, dnacl_idfile *f) {
  memset(f, 0, sizeof *f);
  char path[4200];
  snprintf(path, sizeof path, "%s/sweep.id", dir);
  char *t = dnacl_sweep_read_text(path);
  if (!t) return DNACL_OK;
  f->text = t;
  const char *v = strstr(t, "\ndnacl sweep v");
  if (strncmp(t, "dnacl-sweep-id\t", 15) || strspn(t + 15, "0123456789abcdef") != 16 || !v) {
    dnacl_idfile_free(f);
    return dnacl_fail(DNACL_ERR_PARSE, "%s is not a dnacl sweep id file", path);
  }
  memcpy(f->id, t + 15, 16);
  f->version = atoi(v + 14);
  const char *p = strstr(t, "\ncells\t");
  f->cells = p ? atoi(p + 7) : 0;
  snprintf(f->name, sizeof f->name, "sweep");
  if ((p = strstr(t, "\nname\t"))) {
    snprintf(f->name, sizeof f->name, "%s", p + 6);
    f->name[strcspn(f->name, "\n")] = 0;
  }
  f->shared = v + 1;
  const char *mark = strstr(f->shared, "\n" RECORD_MARK);
  f->shared_len = mark ? (size_t)(mark + 1 - f->shared) : strlen(f->shared);
  f->record = mark ? mark + 1 + strlen(RECORD_MARK) : "";
  return DNACL_OK;
}

int dnacl_idfile_lookup(const char *record, const char *kind, const char *key, char *out, size_t cap) {
  size_t lk = strlen(kind), lkey = strlen(key);
  for (const char *l = record; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    if (strncmp(l, kind, lk) || l[lk] != '\t' || strncmp(l + lk + 1, key, lkey) || l[lk + 1 + lkey] != '\t') continue;
    const char *val = l + lk + lkey + 2;
    size_t n = strcspn(val, "\n");
    if (n >= cap) n = cap - 1;
    memcpy(out, val, n);
    out[n] = 0;
    return 1;
  }
  return 0;
}

/* The line of `key` in shared content ("key<TAB>value", the key being all before the last
 * tab): a pointer to its value and the value's length, or NULL. */
static const char *shared_value(const char *text, size_t len, const char *key, size_t *vlen) {
  size_t lk = strlen(key);
  const char *end = text + len;
  for (const char *l = text; l < end;) {
    const char *nl = memchr(l, '\n', (size_t)(end - l));
    if (!nl) nl = end;
    const char *tab = NULL;
    for (const char *q = l; q < nl; q++)
      if (*q == '\t') tab = q;
    if (tab && (size_t)(tab - l) == lk && !strncmp(l, key, lk)) {
      *vlen = (size_t)(nl - tab - 1);
      return tab + 1;
    }
    l = nl + 1;
  }
  return NULL;
}

/* One change between the shared content DIR was made with (old) and this sweep's (new),
 * in words, appended to msg. A data file's content names its path. */
static void describe(const char *key, const char *ov, size_t ol, const char *nv, size_t nl, const char *old_record,
                     const char *new_record, char *msg, size_t cap) {
  size_t u = strlen(msg);
  if (u + 1 >= cap) return;
  char shown[300];
  snprintf(shown, sizeof shown, "%s", key);
  for (char *p = shown; *p; p++)
    if (*p == '\t') *p = ' ';
  char op[4096] = "", np[4096] = "";
  int is_file = (ov && ol > 6 && !strncmp(ov, "xxh64 ", 6)) || (nv && nl > 6 && !strncmp(nv, "xxh64 ", 6));
  if (is_file) {
    dnacl_idfile_lookup(old_record, "file", key, op, sizeof op);
    dnacl_idfile_lookup(new_record, "file", key, np, sizeof np);
  }
  if (is_file && ov && nv && !strcmp(op, np))
    snprintf(msg + u, cap - u, "\n  %s: the content of %s changed (%.*s when the directory was made; %.*s now)", shown,
             np, (int)ol, ov, (int)nl, nv);
  else if (is_file && ov && nv)
    snprintf(msg + u, cap - u, "\n  %s: %s (%.*s) has other content than %s had (%.*s)", shown, np, (int)nl, nv, op,
             (int)ol, ov);
  else if (ov && nv)
    snprintf(msg + u, cap - u, "\n  %s: was '%.*s', now '%.*s'", shown, (int)ol, ov, (int)nl, nv);
  else if (ov)
    snprintf(msg + u, cap - u, "\n  %s: was '%.*s', now not set", shown, (int)ol, ov);
  else
    snprintf(msg + u, cap - u, "\n  %s: now '%.*s', not set then", shown, (int)nl, nv);
}

/* Every line whose value differs, or that only one side has. */
static int diff_shared(const dnacl_idfile *f, const dnacl_sweep *sw, char *msg, size_t cap) {
  int n = 0;
  const char *ot = f->shared, *nt = sw->canonical;
  size_t olen = f->shared_len, nlen = strlen(nt);
  for (int pass = 0; pass < 2; pass++) {
    const char *text = pass ? nt : ot, *end = text + (pass ? nlen : olen);
    for (const char *l = text; l < end;) {
      const char *e = memchr(l, '\n', (size_t)(end - l));
      if (!e) e = end;
      const char *tab = NULL;
      for (const char *q = l; q < e; q++)
        if (*q == '\t') tab = q;
      char key[256];
      if (tab && (size_t)(tab - l) < sizeof key) {
        snprintf(key, sizeof key, "%.*s", (int)(tab - l), l);
        size_t ol = 0, nl = 0;
        const char *ov = shared_value(ot, olen, key, &ol), *nv = shared_value(nt, nlen, key, &nl);
        int differs = !ov || !nv || ol != nl || memcmp(ov, nv, ol);
        /* Pass 0 reports changed and removed lines, pass 1 the added ones. */
        if (differs && (pass == 0 || !ov)) {
          describe(key, ov, ol, nv, nl, f->record, sw->record, msg, cap);
          n++;
        }
      }
      l = e + 1;
    }
  }
  return n;
}

/* Models whose layers changed under the same name. */
static int diff_models(const dnacl_idfile *f, const dnacl_sweep *sw, char *msg, size_t cap) {
  int n = 0;
  for (int m = 0; m < sw->n_models; m++) {
    char was[64], now[64];
    if (!dnacl_idfile_lookup(f->record, "model", sw->models[m].name, was, sizeof was)) continue;
    if (!dnacl_idfile_lookup(sw->record, "model", sw->models[m].name, now, sizeof now) || !strcmp(was, now)) continue;
    size_t u = strlen(msg);
    snprintf(msg + u, cap - u, "\n  model %s (%s): its layers differ from those the directory's cells were trained with",
             sw->models[m].name, sw->models[m].path ? sw->models[m].path : "?");
    n++;
  }
  return n;
}

dnacl_status dnacl_sweep_check_dir(const dnacl_sweep *sw, const char *dir, int *exists) {
  dnacl_idfile f;
  *exists = 0;
  DNACL_TRY(dnacl_idfile_read(dir, &f));
  if (!f.text) return DNACL_OK;
  *exists = 1;
  if (f.version != 2) {
    dnacl_idfile_free(&f);
    return dnacl_fail(DNACL_ERR_ARG,
                      "%s was made by an older dnacl, whose sweep id recorded the data files' paths but not their "
                      "contents, so its finished cells cannot be checked against the data %s names now; run the sweep "
                      "into another --out",
                      dir, sw->path);
  }
  char changes[6144] = "";
  int n = strcmp(f.id, sw->id) ? diff_shared(&f, sw, changes, sizeof changes) : 0;
  if (strcmp(f.id, sw->id) && n == 0) /* the same lines, another hash: another dnacl's normal form */
    snprintf(changes, sizeof changes, "\n  the sweep id: %s then, %s now", f.id, sw->id);
  n += diff_models(&f, sw, changes, sizeof changes);
  dnacl_idfile_free(&f);
  if (!changes[0]) return DNACL_OK;
  return dnacl_fail(DNACL_ERR_ARG,
                    "%s was made from other inputs than %s has now:%s\nIts finished cells were computed from the old "
                    "inputs and must not be mixed with results of the new ones. Give another --out for this sweep (or "
                    "undo the change to continue %s; %s/sweep.id lists what it was made from). Nothing was written.",
                    dir, sw->path, changes, dir, dir);
}

/* ---- writing the identity ----------------------------------------------------------------------- */

/* Write path unless it already holds exactly text. */
static dnacl_status write_if_changed(const char *path, const char *text, size_t len) {
  char *old = dnacl_sweep_read_text(path);
  int same = old && strlen(old) == len && !memcmp(old, text, len);
  free(old);
  return same ? DNACL_OK : dnacl_write_file_atomic(path, text, len);
}

dnacl_status dnacl_sweep_write_identity(const dnacl_sweep *sw, const char *dir) {
  char path[4200];
  size_t cap = strlen(sw->canonical) + strlen(sw->record) + strlen(sw->path) + strlen(RECORD_MARK) + 256;
  char *b = malloc(cap);
  if (!b) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  size_t n = (size_t)snprintf(b, cap, "dnacl-sweep-id\t%s\nname\t%s\ncells\t%d\nsource\t%s\n%s%s%s", sw->id, sw->name,
                              sw->n_cells, sw->path, sw->canonical, RECORD_MARK, sw->record);
  snprintf(path, sizeof path, "%s/sweep.id", dir);
  dnacl_status s = write_if_changed(path, b, n);
  free(b);
  if (s != DNACL_OK) return s;

  /* The sweep file as given, for the record, under a header naming the id. */
  cap = strlen(sw->doc.text) + strlen(sw->path) + 256;
  if (!(b = malloc(cap))) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  n = (size_t)snprintf(b, cap, "# dnacl sweep id %s, copied from %s\n%s", sw->id, sw->path, sw->doc.text);
  snprintf(path, sizeof path, "%s/sweep.yaml", dir);
  s = write_if_changed(path, b, n);
  free(b);
  if (s != DNACL_OK) return s;

  /* Every cell, what --dry-run lists: a shard's directory still tells the whole grid. */
  cap = 256 + (size_t)sw->n_cells * 512;
  if (!(b = malloc(cap))) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  n = 0;
  for (int c = 0; c < sw->first_metric - 1; c++) n += (size_t)snprintf(b + n, cap - n, "%s%s", c ? "\t" : "", sw->columns[c]);
  n += (size_t)snprintf(b + n, cap - n, "\n");
  for (int i = 0; i < sw->n_cells && s == DNACL_OK; i++) {
    dnacl_sweep_cell cell;
    s = dnacl_sweep_cell_at(sw, i, &cell);
    if (s == DNACL_OK) {
      dnacl_sweep_cell_params(sw, &cell, b + n, cap - n);
      n += strlen(b + n);
      n += (size_t)snprintf(b + n, cap - n, "\n");
    }
  }
  snprintf(path, sizeof path, "%s/cells.tsv", dir);
  if (s == DNACL_OK) s = write_if_changed(path, b, n);
  free(b);
  return s;
}

/* ---- results placed into the grid ----------------------------------------------------------------- */

static void header_line(const dnacl_sweep *sw, char *buf, size_t cap) {
  size_t u = 0;
  buf[0] = 0;
  for (int c = 0; c < sw->n_columns && u < cap; c++)
    u += (size_t)snprintf(buf + u, cap - u, "%s%s", c ? "\t" : "", sw->columns[c]);
}

/* The index of the row's cell in this sweep's grid, from its grid values (fields 2..),
 * checked against its id and seed; -1 if the grid has no such cell. */
static int cell_of_row(const dnacl_sweep *sw, const char *line) {
  char buf[512];
  long index = 0;
  for (int a = 0; a < sw->n_axes; a++) {
    const dnacl_sweep_axis *ax = &sw->axes[a];
    if (!dnacl_tsv_field(line, 2 + a, buf, sizeof buf)) return -1;
    int v = 0;
    while (v < ax->n && strcmp(ax->values[v], buf)) v++;
    if (v == ax->n) return -1;
    index = index * ax->n + v;
  }
  dnacl_sweep_cell c;
  if (dnacl_sweep_cell_at(sw, (int)index, &c) != DNACL_OK) return -1;
  char seed[32];
  if (!dnacl_tsv_field(line, 1, buf, sizeof buf) || strcmp(buf, c.id) ||
      !dnacl_tsv_field(line, 2 + sw->n_axes, seed, sizeof seed) || strtoul(seed, NULL, 10) != c.seed)
    return -1;
  return (int)index;
}

dnacl_status dnacl_row_set_cell(char **line, int cell) {
  const char *rest = strchr(*line, '\t');
  size_t n = (rest ? strlen(rest) : 0) + 16;
  char *b = malloc(n);
  if (!b) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  snprintf(b, n, "%d%s", cell, rest ? rest : "");
  free(*line);
  *line = b;
  return DNACL_OK;
}

dnacl_status dnacl_sweep_load_placed(const dnacl_sweep *sw, const char *dir, dnacl_results *r, int *renumbered) {
  char path[4200], header[8192];
  if (renumbered) *renumbered = 0;
  snprintf(path, sizeof path, "%s/results.tsv", dir);
  dnacl_results old;
  DNACL_TRY(dnacl_results_load(path, &old));
  header_line(sw, header, sizeof header);
  memset(r, 0, sizeof *r);
  if (old.header && strcmp(old.header, header)) {
    dnacl_results_free(&old);
    return dnacl_fail(DNACL_ERR_PARSE, "%s: the columns differ from this sweep's (made by another dnacl version?)", path);
  }
  dnacl_status s = DNACL_OK;
  if (!(r->header = strdup(header))) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  int lost = 0, moved = 0;
  char lost_ids[1024] = "";
  for (int i = 0; s == DNACL_OK && i < old.n; i++) {
    int cell = cell_of_row(sw, old.rows[i].line);
    if (cell < 0) {
      char id[256] = "?";
      dnacl_tsv_field(old.rows[i].line, 1, id, sizeof id);
      size_t u = strlen(lost_ids);
      if (lost < 3 && u + 1 < sizeof lost_ids) snprintf(lost_ids + u, sizeof lost_ids - u, "%s%s", lost ? "; " : "", id);
      lost++;
      continue;
    }
    if (cell != old.rows[i].cell) {
      s = dnacl_row_set_cell(&old.rows[i].line, cell);
      moved++;
    }
    if (s == DNACL_OK && dnacl_results_find(r, cell) >= 0) {
      char id[256] = "?";
      dnacl_tsv_field(old.rows[i].line, 1, id, sizeof id);
      s = dnacl_fail(DNACL_ERR_PARSE, "%s: cell %s has two rows", path, id);
    }
    if (s == DNACL_OK) s = dnacl_results_put(r, cell, old.rows[i].line);
  }
  dnacl_results_free(&old);
  if (s == DNACL_OK && lost)
    s = dnacl_fail(DNACL_ERR_ARG,
                   "%s holds %d finished cell(s) that %s does not have (%s%s): a sweep may grow in place (more "
                   "trials, grid values or models) but not lose finished cells, whose rows would be dropped; put the "
                   "values back in the file, or give another --out. Nothing was written.",
                   path, lost, sw->path, lost_ids, lost > 3 ? "; ..." : "");
  if (s != DNACL_OK) {
    dnacl_results_free(r);
    return s;
  }
  if (renumbered) *renumbered = moved;
  return DNACL_OK;
}
