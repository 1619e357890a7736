/* dnacl sweep collect: the shard directories of one sweep merged into one (sweep.h,
 * docs/slurm.md).
 *
 * The merged directory must be usable like an unsplit sweep's: one results.tsv in cell
 * order, and runs/<cell id>/ for every row, so `dnacl eval/report/score` run on a cell
 * from there. The run directories hold the checkpoints, often most of the bytes, so they
 * are linked, not copied: OUT/runs/<id> is a relative symbolic link into the shard's
 * runs/, which keeps working when the whole tree (OUT with its shards below it, as
 * tools/slurm_sweep.sh lays it out) is moved or copied with its links. Nothing is moved or
 * deleted; `cp -rL OUT elsewhere` makes a copy that holds the run directories themselves.
 *
 * Shards may have run different sizes of the same sweep (one resubmitted after the sweep
 * grew): rows are placed by their parameters into the largest grid among the directories,
 * which must hold every row. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep/out_dir.h"

typedef struct source {
  const char *dir;
  dnacl_idfile id;
  int is_out;        /* the output directory itself: its run directories are already there */
} source;

/* A cell of the reference grid by its parameters: cells.tsv's line without the index. */
typedef struct keyed_cell {
  const char *key;
  size_t len;
  int index;
} keyed_cell;

static int cmp_key(const char *a, size_t la, const char *b, size_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  return c ? c : (la > lb) - (la < lb);
}

static int cmp_cells(const void *a, const void *b) {
  const keyed_cell *x = a, *y = b;
  return cmp_key(x->key, x->len, y->key, y->len);
}

/* The cells of a cells.tsv text, sorted by key; *n receives how many. Points into text. */
static keyed_cell *index_cells(const char *text, int *n, int *n_fields) {
  int cap = 0;
  *n = 0;
  *n_fields = 1;
  for (const char *p = text; *p && *p != '\n'; p++) *n_fields += *p == '\t';
  for (const char *p = text; *p; p++) cap += *p == '\n';
  keyed_cell *c = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *c);
  if (!c) return NULL;
  const char *line = strchr(text, '\n');
  while (line && *++line) {
    const char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
    if (!nl) nl = line + strlen(line);
    if (tab && tab < nl) {
      c[*n].key = tab + 1;
      c[*n].len = (size_t)(nl - tab - 1);
      c[*n].index = atoi(line);
      (*n)++;
    }
    line = *nl ? nl : NULL;
  }
  qsort(c, (size_t)*n, sizeof *c, cmp_cells);
  return c;
}

/* The row's parameters (fields 1 .. n_fields-1 of cells.tsv's layout) looked up. */
static int find_cell(const keyed_cell *cells, int n, const char *row, int n_fields) {
  const char *key = strchr(row, '\t');
  if (!key) return -1;
  key++;
  const char *end = key;
  for (int f = 1; f < n_fields && end; f++) {
    end = strchr(end, '\t');
    if (end && f < n_fields - 1) end++;
  }
  size_t len = end ? (size_t)(end - key) : strlen(key);
  int lo = 0, hi = n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    int c = cmp_key(cells[mid].key, cells[mid].len, key, len);
    if (!c) return cells[mid].index;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

static int same_dir(const char *a, const char *b) {
  struct stat x, y;
  return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* The path of `to` relative to the directory `from`, both real paths (absolute, no . or
 * .. or links): "/a/out/runs", "/a/shard_2/runs/x" -> "../../shard_2/runs/x". */
static void relative(const char *from, const char *to, char *out, size_t cap) {
  size_t lf = strlen(from), i = 0, common = 0;
  while (from[i] && from[i] == to[i]) {
    i++;
    if (from[i - 1] == '/') common = i;
  }
  if (i == lf && (to[i] == '/' || !to[i])) common = to[i] ? lf + 1 : lf; /* to lies in from */
  size_t u = 0;
  out[0] = 0;
  const char *rest = from + (common < lf ? common : lf);
  if (*rest == '/') rest++;
  if (*rest) {
    u += (size_t)snprintf(out, cap, "../");
    for (const char *p = rest; *p && u < cap; p++)
      if (*p == '/') u += (size_t)snprintf(out + u, cap - u, "../");
  }
  if (u < cap) snprintf(out + u, cap - u, "%s", to + common);
}

/* Make link_path a symbolic link to target (an existing link is replaced, atomically). */
static dnacl_status link_to(const char *target, const char *link_path) {
  char tmp[4400];
  snprintf(tmp, sizeof tmp, "%s.tmp", link_path);
  unlink(tmp);
  if (symlink(target, tmp) != 0 || rename(tmp, link_path) != 0) {
    int err = errno;
    unlink(tmp);
    return dnacl_fail(DNACL_ERR_IO, "%s: cannot make a link to %s: %s", link_path, target, strerror(err));
  }
  return DNACL_OK;
}

/* out/<name> -> the real path of target, relative to out's real path; a real file or
 * directory already at out/<name> is left as it is (*linked 0). */
static dnacl_status link_into(const char *out_real, const char *out_sub, const char *name, const char *target,
                              int *linked) {
  char dst[4300], target_real[PATH_MAX], rel[8192];
  struct stat st;
  *linked = 0;
  snprintf(dst, sizeof dst, "%s/%s", out_sub, name);
  if (lstat(dst, &st) == 0 && !S_ISLNK(st.st_mode)) return DNACL_OK;
  if (!realpath(target, target_real)) return dnacl_fail(DNACL_ERR_IO, "%s: %s", target, strerror(errno));
  relative(out_real, target_real, rel, sizeof rel);
  *linked = 1;
  return link_to(rel, dst);
}

/* Every directory's rows placed into the reference grid, a cell found twice kept once. */
typedef struct merged {
  dnacl_results all;
  int *from;         /* per reference cell: the source its row came from, or -1 */
  int dups, conflicts;
} merged;

static dnacl_status merge_rows(source *src, int n_src, const keyed_cell *cells, int n_cells, int n_fields,
                               const char *ref_dir, merged *m) {
  dnacl_status s = DNACL_OK;
  for (int d = 0; d < n_src && s == DNACL_OK; d++) {
    char path[4200];
    dnacl_results r1;
    snprintf(path, sizeof path, "%s/results.tsv", src[d].dir);
    s = dnacl_results_load(path, &r1);
    if (s != DNACL_OK) break;
    if (r1.header && m->all.header && strcmp(r1.header, m->all.header))
      s = dnacl_fail(DNACL_ERR_PARSE, "%s: its columns differ from %s/results.tsv", path, src[0].dir);
    if (s == DNACL_OK && r1.header && !m->all.header && !(m->all.header = strdup(r1.header)))
      s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
    for (int i = 0; s == DNACL_OK && i < r1.n; i++) {
      int cell = find_cell(cells, n_cells, r1.rows[i].line, n_fields);
      if (cell >= n_cells) {
        s = dnacl_fail(DNACL_ERR_PARSE, "%s/cells.tsv: a cell index beyond its %d cells", ref_dir, n_cells);
        break;
      }
      if (cell < 0) {
        char id[256] = "?";
        dnacl_tsv_field(r1.rows[i].line, 1, id, sizeof id);
        s = dnacl_fail(DNACL_ERR_ARG,
                       "%s has cell %s, which the grid of %s (the largest of these directories) lacks: they were run "
                       "with sweep files whose grids grew apart; run the latest sweep file into each of them (finished "
                       "cells are kept) and collect again",
                       path, id, ref_dir);
        break;
      }
      if (cell != r1.rows[i].cell && (s = dnacl_row_set_cell(&r1.rows[i].line, cell)) != DNACL_OK) break;
      int at = dnacl_results_find(&m->all, cell);
      if (at >= 0) {
        /* The same cell finished in two directories (overlapping shards, or a shard run
         * twice): keep the first; say so if the metrics differ. */
        m->dups++;
        int cols = 1;
        for (const char *p = m->all.header; p && *p; p++) cols += *p == '\t';
        char a[256], b[256];
        for (int k = 0; k < cols - 2; k++) /* every field but wall_s and device */
          if (dnacl_tsv_field(m->all.rows[at].line, k, a, sizeof a) && dnacl_tsv_field(r1.rows[i].line, k, b, sizeof b) &&
              strcmp(a, b)) {
            m->conflicts++;
            break;
          }
        continue;
      }
      s = dnacl_results_put(&m->all, cell, r1.rows[i].line);
      if (s == DNACL_OK) m->from[cell] = d;
    }
    dnacl_results_free(&r1);
  }
  return s;
}

/* Whether x can join the sources before it: the same sweep id, and no model whose layers
 * differ under the same name (its rows would mix two networks). */
static dnacl_status check_source(const source *src, int n, const source *x) {
  if (x->id.version != 2)
    return dnacl_fail(DNACL_ERR_ARG,
                      "%s was made by an older dnacl (its sweep id does not cover the data's content); collect it with "
                      "that version, or run the sweep again into a new directory",
                      x->dir);
  if (n > 0 && strcmp(x->id.id, src[0].id.id)) {
    if (x->is_out)
      return dnacl_fail(DNACL_ERR_ARG, "%s already holds another sweep (id %s, the shards are %s); give another --out",
                        x->dir, x->id.id, src[0].id.id);
    return dnacl_fail(DNACL_ERR_ARG,
                      "%s and %s hold different sweeps (ids %s and %s); collect only the shards of one sweep file",
                      src[0].dir, x->dir, src[0].id.id, x->id.id);
  }
  for (const char *l = x->id.record; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    char name[128], was[64], now[64];
    if (strncmp(l, "model\t", 6) || sscanf(l + 6, "%127[^\t]\t%63[^\n]", name, now) != 2) continue;
    for (int e = 0; e < n; e++)
      if (dnacl_idfile_lookup(src[e].id.record, "model", name, was, sizeof was) && strcmp(was, now))
        return dnacl_fail(DNACL_ERR_ARG, "%s and %s trained model %s with different layers; collect them separately",
                          src[e].dir, x->dir, name);
  }
  return DNACL_OK;
}

/* The directories to merge, checked to be one sweep: the given ones, then out_dir when it
 * already holds this sweep and is not among them (its rows are kept, not dropped). */
static dnacl_status open_sources(const char *const *dirs, int n_dirs, const char *out_dir, source *src, int *n_src) {
  int out_listed = 0;
  *n_src = 0;
  for (int d = 0; d <= n_dirs; d++) {
    if (d == n_dirs && out_listed) break;
    source *x = &src[*n_src];
    x->dir = d < n_dirs ? dirs[d] : out_dir;
    x->is_out = d == n_dirs || same_dir(x->dir, out_dir);
    out_listed |= x->is_out;
    dnacl_status s = dnacl_idfile_read(x->dir, &x->id);
    if (s != DNACL_OK && d == n_dirs)
      return dnacl_fail(DNACL_ERR_ARG, "%s already holds something else (%s); give another --out", out_dir,
                        dnacl_last_error());
    if (s != DNACL_OK) return s;
    if (!x->id.text) {
      if (d == n_dirs) break; /* a new output directory */
      return dnacl_fail(DNACL_ERR_ARG, "%s is not a sweep output directory (%s/sweep.id is missing)", x->dir, x->dir);
    }
    (*n_src)++;
    DNACL_TRY(check_source(src, *n_src - 1, x));
  }
  return DNACL_OK;
}

/* Link every collected row's run directory, and a shard's data.h5, into out_dir. */
typedef struct link_counts {
  int linked, there, missing;
} link_counts;

static dnacl_status link_runs(const merged *m, const source *src, int n_src, const char *out_dir, FILE *log,
                              link_counts *k) {
  char runs[4200], out_real[PATH_MAX], runs_real[PATH_MAX];
  snprintf(runs, sizeof runs, "%s/runs", out_dir);
  DNACL_TRY(dnacl_mkdirs(runs));
  if (!realpath(out_dir, out_real) || !realpath(runs, runs_real))
    return dnacl_fail(DNACL_ERR_IO, "%s: %s", out_dir, strerror(errno));
  int linked = 0, there = 0, missing = 0;
  dnacl_status s = DNACL_OK;
  memset(k, 0, sizeof *k);
  for (int i = 0; i < m->all.n && s == DNACL_OK; i++) {
    const source *x = &src[m->from[m->all.rows[i].cell]];
    char id[256], target[4600];
    struct stat st;
    dnacl_tsv_field(m->all.rows[i].line, 1, id, sizeof id);
    if (x->is_out) {
      there++;
      continue;
    }
    snprintf(target, sizeof target, "%s/runs/%s", x->dir, id);
    if (stat(target, &st) != 0 || !S_ISDIR(st.st_mode)) {
      if (log && missing < 5) fprintf(log, "note: %s is missing: cell %s has its row but no run directory\n", target, id);
      missing++;
      continue;
    }
    int made;
    s = link_into(runs_real, runs, id, target, &made);
    linked += made;
    there += !made;
  }
  /* A simulate block's data, which the cells' config.tsv name in their shard. */
  char data[4300], dst[4300];
  struct stat st;
  snprintf(dst, sizeof dst, "%s/data.h5", out_dir);
  for (int d = 0; s == DNACL_OK && d < n_src && lstat(dst, &st) != 0; d++) {
    snprintf(data, sizeof data, "%s/data.h5", src[d].dir);
    int made;
    if (!src[d].is_out && stat(data, &st) == 0) s = link_into(out_real, out_dir, "data.h5", data, &made);
  }
  k->linked = linked;
  k->there = there;
  k->missing = missing;
  return s;
}

static void report_missing(FILE *log, const merged *m, const char *cells, int total) {
  if (!log || m->all.n >= total || !cells) return;
  int shown = 0;
  fprintf(log, "missing:");
  const char *line = strchr(cells, '\n');
  while (line && *++line && shown < 20) {
    int cell = atoi(line);
    if (dnacl_results_find(&m->all, cell) < 0) {
      char idb[256];
      dnacl_tsv_field(line, 1, idb, sizeof idb);
      fprintf(log, "%s %d (%s)", shown ? "," : "", cell, idb);
      shown++;
    }
    line = strchr(line, '\n');
  }
  if (m->all.n + shown < total) fprintf(log, " ...");
  fprintf(log, "\n");
}

dnacl_status dnacl_sweep_collect(const char *const *dirs, int n_dirs, const char *out_dir, FILE *log, int *n_rows,
                                 int *n_cells) {
  if (n_dirs < 1) return dnacl_fail(DNACL_ERR_ARG, "collect: no directories given");
  source *src = calloc((size_t)n_dirs + 1, sizeof *src); /* the dirs, and out_dir */
  merged m;
  memset(&m, 0, sizeof m);
  char *cells = NULL, *yaml = NULL;
  keyed_cell *index = NULL;
  int n_src = 0, ref = 0, n_index = 0, n_fields = 0, lock = -1;
  char path[4200];
  dnacl_status s = src ? open_sources(dirs, n_dirs, out_dir, src, &n_src) : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  /* The reference grid: the largest (a shard resubmitted with a grown sweep file). */
  for (int d = 1; s == DNACL_OK && d < n_src; d++)
    if (src[d].id.cells > src[ref].id.cells) ref = d;
  if (s == DNACL_OK) {
    snprintf(path, sizeof path, "%s/cells.tsv", src[ref].dir);
    if (!(cells = dnacl_sweep_read_text(path))) s = dnacl_fail(DNACL_ERR_IO, "%s: cannot read", path);
    snprintf(path, sizeof path, "%s/sweep.yaml", src[ref].dir);
    yaml = dnacl_sweep_read_text(path);
  }
  if (s == DNACL_OK && !(index = index_cells(cells, &n_index, &n_fields))) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s == DNACL_OK && !(m.from = malloc((size_t)(n_index + 1) * sizeof *m.from)))
    s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  for (int i = 0; s == DNACL_OK && i <= n_index; i++) m.from[i] = -1;
  if (s == DNACL_OK) s = merge_rows(src, n_src, index, n_index, n_fields, src[ref].dir, &m);

  /* Everything is checked; now write. */
  if (s == DNACL_OK) s = dnacl_mkdirs(out_dir);
  if (s == DNACL_OK) s = dnacl_sweep_lock(out_dir, &lock);
  if (s == DNACL_OK) {
    snprintf(path, sizeof path, "%s/sweep.id", out_dir);
    s = dnacl_write_file_atomic(path, src[ref].id.text, strlen(src[ref].id.text));
  }
  if (s == DNACL_OK && yaml) {
    snprintf(path, sizeof path, "%s/sweep.yaml", out_dir);
    s = dnacl_write_file_atomic(path, yaml, strlen(yaml));
  }
  if (s == DNACL_OK) {
    snprintf(path, sizeof path, "%s/cells.tsv", out_dir);
    s = dnacl_write_file_atomic(path, cells, strlen(cells));
  }
  link_counts links = {0, 0, 0};
  if (s == DNACL_OK && m.all.header) s = link_runs(&m, src, n_src, out_dir, log, &links);
  if (s == DNACL_OK && m.all.header) {
    snprintf(path, sizeof path, "%s/results.tsv", out_dir);
    s = dnacl_results_save(path, &m.all);
  }
  if (s == DNACL_OK && m.all.header) {
    snprintf(path, sizeof path, "%s/summary.svg", out_dir);
    s = dnacl_sweep_summary_svg(path, src[ref].id.name, &m.all);
  }
  int total = s == DNACL_OK ? src[ref].id.cells : 0;
  if (s == DNACL_OK && log) {
    fprintf(log, "collected %d of %d cells from %d director%s into %s/results.tsv", m.all.n, total, n_dirs,
            n_dirs == 1 ? "y" : "ies", out_dir);
    if (n_src > n_dirs) fprintf(log, " (with the rows it held)");
    if (m.dups)
      fprintf(log, "; %d cell(s) found twice, the first kept%s", m.dups, m.conflicts ? " (their metrics differ!)" : "");
    fprintf(log, "\n");
    if (m.all.n)
      fprintf(log, "run directories: %d linked into %s/runs/, %d there already%s\n", links.linked, out_dir, links.there,
              links.missing ? ", some missing (notes above)" : "");
    report_missing(log, &m, cells, total);
  }
  if (n_rows) *n_rows = m.all.n;
  if (n_cells) *n_cells = total;
  if (lock >= 0) close(lock);
  for (int d = 0; src && d < n_src; d++) dnacl_idfile_free(&src[d].id);
  free(src);
  free(index);
  free(m.from);
  dnacl_results_free(&m.all);
  free(cells);
  free(yaml);
  return s;
}
