/* Simulated datasets in HDF5: X/Y through the io writer (Koo's layout, so dnacl's loader
 * and Koo's own scripts read them as they are), then the ground truth appended to the
 * same temporary file before it is renamed into place. Layout in simulate.h. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5_quiet.h"
#include "runtime/runtime.h"
#include "sim/simulate.h"
#include "sim/truth_h5.h"

/* ---- writing ------------------------------------------------------------------------- */

/* One dataset. Object modification times are off so that the same dataset gives the same
 * bytes; 2-D datasets are chunked by records and deflated like X and Y. */
static dnacl_status put(hid_t f, const char *path, const char *name, hid_t ftype, hid_t mtype, int rank,
                        const hsize_t *dims, const void *data) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (dcpl >= 0) H5Pset_obj_track_times(dcpl, 0);
  if (dcpl >= 0 && rank == 2 && dims[0] > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    hsize_t chunk[2] = {dims[0] < 256 ? dims[0] : 256, dims[1]};
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 4);
  }
  hid_t ds = space >= 0 && dcpl >= 0 ? H5Dcreate2(f, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
  herr_t e = ds >= 0 ? H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
  if (ds >= 0 && H5Dclose(ds) < 0) e = -1;
  if (dcpl >= 0) H5Pclose(dcpl);
  if (space >= 0) H5Sclose(space);
  if (e < 0) return dnacl_fail(DNACL_ERR_IO, "%s: cannot write dataset '%s'", path, name);
  return DNACL_OK;
}

/* n strings as a fixed-length, NUL-terminated string dataset (h5py reads bytes). */
static dnacl_status put_strings(hid_t f, const char *path, const char *name, char *const *s, int n) {
  size_t w = 1;
  for (int i = 0; i < n; i++)
    if (strlen(s[i]) + 1 > w) w = strlen(s[i]) + 1;
  char *buf = calloc((size_t)n, w);
  if (!buf) return dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory", path);
  for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * w, s[i], strlen(s[i]));
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, w);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  hsize_t d = (hsize_t)n;
  dnacl_status st = put(f, path, name, t, t, 1, &d, buf);
  H5Tclose(t);
  free(buf);
  return st;
}

static dnacl_status put_attr(hid_t f, const char *path, const char *name, hid_t ftype, hid_t mtype,
                             const void *v) {
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = sp >= 0 ? H5Acreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
  herr_t e = a >= 0 ? H5Awrite(a, mtype, v) : -1;
  if (a >= 0 && H5Aclose(a) < 0) e = -1;
  if (sp >= 0) H5Sclose(sp);
  if (e < 0) return dnacl_fail(DNACL_ERR_IO, "%s: cannot write attribute '%s'", path, name);
  return DNACL_OK;
}

static dnacl_status put_attr_str(hid_t f, const char *path, const char *name, const char *v) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(v) + 1);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  dnacl_status s = put_attr(f, path, name, t, t, v);
  H5Tclose(t);
  return s;
}

dnacl_status sim_truth_h5_append(const char *path, const char *file, const dnacl_sim_data *d) {
  hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) return dnacl_fail(DNACL_ERR_IO, "%s: cannot reopen %s to add the ground truth", path, file);
  dnacl_status s = DNACL_OK;
  char name[64];
  for (int k = 0; k < 3 && s == DNACL_OK; k++) {
    const dnacl_truth *t = &d->truth[k];
    const char *sp = dnacl_sim_splits[k];
    hsize_t md[2] = {(hsize_t)t->n, (hsize_t)t->length}, kd = (hsize_t)t->k;
    snprintf(name, sizeof name, "M_%s", sp);
    s = put(f, path, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, 2, md, t->mask);
    static const char *const col[3] = {"seq", "motif", "pos"};
    const int *v[3] = {t->seq, t->motif, t->pos};
    for (int c = 0; c < 3 && s == DNACL_OK; c++) {
      snprintf(name, sizeof name, "truth_%s_%s", sp, col[c]);
      s = put(f, path, name, H5T_STD_I32LE, H5T_NATIVE_INT, 1, &kd, v[c]);
    }
    snprintf(name, sizeof name, "truth_%s_strand", sp);
    if (s == DNACL_OK) s = put(f, path, name, H5T_STD_I8LE, H5T_NATIVE_INT8, 1, &kd, t->strand);
  }
  const dnacl_sim_motifs *m = &d->motifs;
  hsize_t nm = (hsize_t)m->n;
  hsize_t pd[2] = {(hsize_t)(m->n ? m->offset[m->n - 1] + m->width[m->n - 1] : 0), 4};
  if (s == DNACL_OK) s = put_strings(f, path, "motif_names", m->names, m->n);
  if (s == DNACL_OK) s = put_strings(f, path, "motif_ids", m->ids, m->n);
  if (s == DNACL_OK) s = put(f, path, "motif_role", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &nm, m->role);
  if (s == DNACL_OK) s = put(f, path, "motif_width", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &nm, m->width);
  if (s == DNACL_OK) s = put(f, path, "motif_offset", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &nm, m->offset);
  if (s == DNACL_OK) s = put(f, path, "motif_pwm", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, pd, m->pwm);
  if (s == DNACL_OK) s = put_attr_str(f, path, "task", dnacl_sim_task_name(d->task));
  if (s == DNACL_OK) s = put_attr_str(f, path, "motif_file", d->motifs_path);
  if (s == DNACL_OK)
    s = put_attr_str(f, path, "generator", "dnacl simulate: the synthetic tasks of Koo & Ploenzke (2021), "
                     "see src/sim/simulate.h");
  int32_t iv[3] = {d->n, d->length, d->n_background};
  if (s == DNACL_OK) s = put_attr(f, path, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &d->seed);
  if (s == DNACL_OK) s = put_attr(f, path, "n", H5T_STD_I32LE, H5T_NATIVE_INT32, &iv[0]);
  if (s == DNACL_OK) s = put_attr(f, path, "length", H5T_STD_I32LE, H5T_NATIVE_INT32, &iv[1]);
  if (s == DNACL_OK) s = put_attr(f, path, "n_background", H5T_STD_I32LE, H5T_NATIVE_INT32, &iv[2]);
  if (s == DNACL_OK)
    s = put_attr(f, path, "info_threshold", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &d->info_threshold);
  if (H5Fclose(f) < 0 && s == DNACL_OK) s = dnacl_fail(DNACL_ERR_IO, "%s: cannot finish writing %s", path, file);
  return s;
}

dnacl_status dnacl_sim_save(const dnacl_sim_data *d, const char *path) {
  if (!d || !path || !*path) return dnacl_fail(DNACL_ERR_ARG, "dnacl_sim_save: nothing to write");
  /* X/Y go to our temporary file through the io writer (which itself writes under a
   * temporary name and renames onto ours); the truth is appended; only then is the file
   * renamed to path, so path is either the old file or the complete new one. */
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.sim%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
    return dnacl_fail(DNACL_ERR_ARG, "%s: path too long", path);
  /* The io writer's message would name our temporary file; a missing directory is the
   * usual cause, so say it in the user's terms first. */
  const char *slash = strrchr(path, '/');
  if (slash) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) > 0 ? (int)(slash - path) : 1, path);
    if (access(dir, W_OK) != 0)
      return dnacl_fail(DNACL_ERR_IO, "%s: cannot write: directory %s does not exist or is not writable", path, dir);
  }
  const dnacl_seqset *sets[3] = {&d->sets[0], &d->sets[1], &d->sets[2]};
  dnacl_status s = dnacl_seqset_save_h5(tmp, sets, dnacl_sim_splits, 3);
  if (s != DNACL_OK) {
    char why[1024];
    snprintf(why, sizeof why, "%s", dnacl_last_error());
    remove(tmp);
    return dnacl_fail(s, "%s: cannot write the dataset (%s)", path, why);
  }
  h5_quiet q;
  quiet_on(&q);
  s = sim_truth_h5_append(path, tmp, d);
  quiet_off(&q);
  if (s == DNACL_OK && rename(tmp, path) != 0)
    s = dnacl_fail(DNACL_ERR_IO, "%s: cannot rename %s to it", path, tmp);
  if (s != DNACL_OK) remove(tmp);
  return s;
}

/* ---- reading ------------------------------------------------------------------------- */

/* Open dataset name and check it is 1-D or 2-D; dims[1] is 1 for 1-D. */
static dnacl_status get_ds(hid_t f, const char *path, const char *name, int rank, hsize_t *dims, hid_t *ds) {
  if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
    return dnacl_fail(DNACL_ERR_PARSE, "%s: no dataset '%s' (not a file written by dnacl simulate?)", path, name);
  *ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (*ds < 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: cannot open dataset '%s'", path, name);
  hid_t sp = H5Dget_space(*ds);
  int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  dims[0] = 0;
  dims[1] = 1;
  if (r == rank) H5Sget_simple_extent_dims(sp, dims, NULL);
  if (sp >= 0) H5Sclose(sp);
  if (r != rank) return dnacl_fail(DNACL_ERR_SHAPE, "%s: dataset '%s' has rank %d, expected %d", path, name, r, rank);
  if (dims[0] > (1u << 30) || dims[1] > (1u << 24))
    return dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s: dataset '%s' is too large", path, name);
  return DNACL_OK;
}

/* Read a whole 1-D/2-D numeric dataset with `want` elements in dim 0 (0: any) into a new
 * buffer of mtype. */
static dnacl_status read_all(hid_t f, const char *path, const char *name, int rank, hid_t mtype, size_t esize,
                             hsize_t want0, hsize_t *dims, void **out) {
  hid_t ds = -1;
  dnacl_status s = get_ds(f, path, name, rank, dims, &ds);
  if (s == DNACL_OK && want0 && dims[0] != want0)
    s = dnacl_fail(DNACL_ERR_SHAPE, "%s: dataset '%s' has %llu rows, expected %llu", path, name,
                   (unsigned long long)dims[0], (unsigned long long)want0);
  if (s == DNACL_OK) {
    size_t n = (size_t)dims[0] * (size_t)dims[1];
    *out = malloc((n ? n : 1) * esize);
    if (!*out) s = dnacl_fail(DNACL_ERR_NOMEM, "%s: cannot allocate dataset '%s'", path, name);
    else if (n && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
      s = dnacl_fail(DNACL_ERR_IO, "%s: cannot read dataset '%s'", path, name);
  }
  if (ds >= 0) H5Dclose(ds);
  return s;
}

static dnacl_status read_strings(hid_t f, const char *path, const char *name, hsize_t want, char ***out) {
  hid_t ds = -1;
  hsize_t dims[2];
  dnacl_status s = get_ds(f, path, name, 1, dims, &ds);
  hid_t ft = s == DNACL_OK ? H5Dget_type(ds) : -1;
  if (s == DNACL_OK && dims[0] != want)
    s = dnacl_fail(DNACL_ERR_SHAPE, "%s: dataset '%s' has %llu names, expected %llu", path, name,
                   (unsigned long long)dims[0], (unsigned long long)want);
  if (s == DNACL_OK && (ft < 0 || H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0))
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: dataset '%s' is not a fixed-length string dataset", path, name);
  char *buf = NULL;
  size_t w = s == DNACL_OK ? H5Tget_size(ft) : 0;
  if (s == DNACL_OK && (w == 0 || w > 4096))
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: dataset '%s' has strings of %zu bytes", path, name, w);
  if (s == DNACL_OK) {
    buf = calloc((size_t)want + 1, w + 1);
    *out = calloc((size_t)want + 1, sizeof **out);
    if (!buf || !*out) s = dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory", path);
  }
  if (s == DNACL_OK && want) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, w);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
      s = dnacl_fail(DNACL_ERR_IO, "%s: cannot read dataset '%s'", path, name);
    H5Tclose(mt);
  }
  for (hsize_t i = 0; s == DNACL_OK && i < want; i++) {
    char *e = malloc(w + 1);
    if (!e) {
      s = dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory", path);
      break;
    }
    memcpy(e, buf + i * w, w);
    e[w] = 0;
    (*out)[i] = e;
  }
  free(buf);
  if (ft >= 0) H5Tclose(ft);
  if (ds >= 0) H5Dclose(ds);
  return s;
}

static dnacl_status open_ro(const char *path, hid_t *f) {
  if (access(path, R_OK) != 0) return dnacl_fail(DNACL_ERR_IO, "%s: cannot open (no such file or not readable)", path);
  *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (*f < 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: not an HDF5 file (or a damaged one)", path);
  return DNACL_OK;
}

static dnacl_status load_motifs(hid_t f, const char *path, dnacl_sim_motifs *m) {
  hsize_t d[2];
  void *buf = NULL;
  DNACL_TRY(read_all(f, path, "motif_width", 1, H5T_NATIVE_INT, sizeof(int), 0, d, &buf));
  m->width = buf;
  hsize_t nm = d[0];
  if (nm > 100000) return dnacl_fail(DNACL_ERR_PARSE, "%s: %llu motifs in 'motif_width'", path, (unsigned long long)nm);
  m->n = (int)nm; /* the free function copes with names/ids not (or partly) read */
  if (nm == 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: %llu motifs in 'motif_width'", path, (unsigned long long)nm);
  DNACL_TRY(read_all(f, path, "motif_offset", 1, H5T_NATIVE_INT, sizeof(int), nm, d, &buf));
  m->offset = buf;
  DNACL_TRY(read_all(f, path, "motif_role", 1, H5T_NATIVE_UINT8, 1, nm, d, &buf));
  m->role = buf;
  DNACL_TRY(read_all(f, path, "motif_pwm", 2, H5T_NATIVE_FLOAT, sizeof(float), 0, d, &buf));
  m->pwm = buf;
  if (d[1] != 4) return dnacl_fail(DNACL_ERR_SHAPE, "%s: 'motif_pwm' has %llu columns, expected 4 (A C G T)", path, (unsigned long long)d[1]);
  long rows = (long)d[0];
  for (hsize_t i = 0; i < nm; i++)
    if (m->width[i] < 1 || m->offset[i] < 0 || (long)m->offset[i] + m->width[i] > rows)
      return dnacl_fail(DNACL_ERR_PARSE, "%s: motif %llu has width %d at row %d of 'motif_pwm' (%ld rows)", path,
                        (unsigned long long)i, m->width[i], m->offset[i], rows);
  DNACL_TRY(read_strings(f, path, "motif_names", nm, &m->names));
  return read_strings(f, path, "motif_ids", nm, &m->ids);
}

dnacl_status dnacl_sim_motifs_load(const char *path, dnacl_sim_motifs *out) {
  memset(out, 0, sizeof *out);
  h5_quiet q;
  quiet_on(&q);
  hid_t f = -1;
  dnacl_status s = open_ro(path, &f);
  if (s == DNACL_OK) {
    s = load_motifs(f, path, out);
    H5Fclose(f);
  }
  quiet_off(&q);
  if (s != DNACL_OK) dnacl_sim_motifs_free(out);
  return s;
}

static dnacl_status load_truth(hid_t f, const char *path, const char *sp, dnacl_truth *t) {
  char name[64];
  hsize_t d[2];
  void *buf = NULL;
  snprintf(name, sizeof name, "M_%s", sp);
  DNACL_TRY(read_all(f, path, name, 2, H5T_NATIVE_UINT8, 1, 0, d, &buf));
  t->mask = buf;
  t->n = (int)d[0];
  t->length = (int)d[1];
  hsize_t md[2];
  void *wbuf = NULL;
  DNACL_TRY(read_all(f, path, "motif_width", 1, H5T_NATIVE_INT, sizeof(int), 0, md, &wbuf));
  int *width = wbuf, n_motifs = (int)md[0];
  static const char *const col[3] = {"seq", "motif", "pos"};
  int **dst[3] = {&t->seq, &t->motif, &t->pos};
  hsize_t k = 0;
  dnacl_status s = DNACL_OK;
  for (int c = 0; c < 3 && s == DNACL_OK; c++) {
    snprintf(name, sizeof name, "truth_%s_%s", sp, col[c]);
    s = read_all(f, path, name, 1, H5T_NATIVE_INT, sizeof(int), k, d, &buf);
    if (s == DNACL_OK) *dst[c] = buf;
    k = d[0];
  }
  snprintf(name, sizeof name, "truth_%s_strand", sp);
  if (s == DNACL_OK) s = read_all(f, path, name, 1, H5T_NATIVE_INT8, 1, k, d, &buf);
  if (s == DNACL_OK) t->strand = buf;
  if (s == DNACL_OK && k > (1u << 30)) s = dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s: too many planted motifs", path);
  t->k = (int)k;
  if (s == DNACL_OK) {
    t->first = calloc((size_t)t->n + 1, sizeof *t->first);
    if (!t->first) s = dnacl_fail(DNACL_ERR_NOMEM, "%s: out of memory", path);
  }
  /* Rows are checked so that a scorer can index with them without its own checks. */
  for (int i = 0; s == DNACL_OK && i < t->k; i++) {
    int m = t->motif[i];
    if (t->seq[i] < 0 || t->seq[i] >= t->n || (i && t->seq[i] < t->seq[i - 1]) || m < 0 || m >= n_motifs ||
        (t->strand[i] != 1 && t->strand[i] != -1) || t->pos[i] < 0 || (long)t->pos[i] + width[m] > t->length)
      s = dnacl_fail(DNACL_ERR_PARSE, "%s: row %d of truth_%s_* (record %d, motif %d, position %d, strand %d) "
                     "is out of range or out of order", path, i, sp, t->seq[i], m, t->pos[i], t->strand[i]);
    else
      t->first[t->seq[i] + 1]++;
  }
  for (int i = 0; s == DNACL_OK && i < t->n; i++) t->first[i + 1] += t->first[i];
  free(width);
  return s;
}

dnacl_status dnacl_truth_load(const char *path, const char *split, dnacl_truth *out) {
  memset(out, 0, sizeof *out);
  const char *sp = NULL;
  if (split && !strcmp(split, "train")) sp = "train";
  else if (split && (!strcmp(split, "valid") || !strcmp(split, "validation") || !strcmp(split, "val"))) sp = "valid";
  else if (split && !strcmp(split, "test")) sp = "test";
  else return dnacl_fail(DNACL_ERR_ARG, "%s: unknown split '%s' (train, valid or test)", path, split ? split : "");
  h5_quiet q;
  quiet_on(&q);
  hid_t f = -1;
  dnacl_status s = open_ro(path, &f);
  if (s == DNACL_OK) {
    s = load_truth(f, path, sp, out);
    H5Fclose(f);
  }
  quiet_off(&q);
  if (s != DNACL_OK) dnacl_truth_free(out);
  return s;
}
