/* HDF5 sequence sets in the layout of Koo's datasets: X_<split> one-hot, Y_<split> labels.
 * Read in slabs of records so that only the output is proportional to N, and written
 * (dnacl_seqset_save_h5) in the same layout. Rules in seqdata.h. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5_quiet.h"
#include "io/seqdata_impl.h"
#include "runtime/runtime.h"

static int has_link(hid_t f, const char *name) { return H5Lexists(f, name, H5P_DEFAULT) > 0; }

typedef struct name_list {
  char buf[1024];
  size_t k;
} name_list;

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  (void)g;
  (void)info;
  name_list *l = data;
  if (l->k + strlen(name) + 8 >= sizeof l->buf) return 1; /* enough for a message */
  int m = snprintf(l->buf + l->k, sizeof l->buf - l->k, "%s%s", l->k ? ", " : "", name);
  if (m > 0) l->k += (size_t)m;
  return 0;
}

/* "X_train, X_valid, ..." for error messages. */
static const char *list_datasets(hid_t f, name_list *l) {
  l->k = 0;
  l->buf[0] = 0;
  hsize_t idx = 0;
  H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, &idx, list_cb, l);
  if (!l->k) snprintf(l->buf, sizeof l->buf, "none");
  return l->buf;
}

/* The name of dataset <prefix>_<split> in f, accepting valid/validation/val for one
 * another; 0 if there is none. */
static int find_dataset(hid_t f, const char *prefix, const char *split, char *name, size_t size) {
  snprintf(name, size, "%s_%s", prefix, split);
  if (has_link(f, name)) return 1;
  static const char *const valid[] = {"valid", "validation", "val"};
  if (!strcmp(seq_split_canon(split), "valid"))
    for (int i = 0; i < 3; i++) {
      snprintf(name, size, "%s_%s", prefix, valid[i]);
      if (has_link(f, name)) return 1;
    }
  snprintf(name, size, "%s_%s", prefix, split); /* for the message */
  return 0;
}

typedef struct h5_split {
  char split[64], xname[80], yname[80];
  hid_t x, y;
  int n, len, channels_last, n_tasks;
} h5_split;

static dnacl_status numeric_type(const char *path, const char *name, hid_t ds) {
  hid_t t = H5Dget_type(ds);
  H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
  if (t >= 0) H5Tclose(t);
  if (c != H5T_INTEGER && c != H5T_FLOAT)
    return dnacl_fail(DNACL_ERR_PARSE, "%s: dataset '%s' is not numeric", path, name);
  return DNACL_OK;
}

/* Open X and Y of one split and check their shapes. */
static dnacl_status open_split(hid_t f, const char *path, const dnacl_load_opts *o, h5_split *sp) {
  name_list names;
  if (!find_dataset(f, "X", sp->split, sp->xname, sizeof sp->xname))
    return dnacl_fail(DNACL_ERR_PARSE, "%s: no dataset '%s' (datasets: %s)", path, sp->xname,
                      list_datasets(f, &names));
  /* Ids and messages use the split as the file names it (X_valid for "validation"). */
  size_t k = strlen(sp->xname + 2);
  if (k >= sizeof sp->split) k = sizeof sp->split - 1;
  memcpy(sp->split, sp->xname + 2, k);
  sp->split[k] = 0;
  sp->x = H5Dopen2(f, sp->xname, H5P_DEFAULT);
  if (sp->x < 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: cannot open dataset '%s'", path, sp->xname);
  DNACL_TRY(numeric_type(path, sp->xname, sp->x));
  hid_t space = H5Dget_space(sp->x);
  hsize_t d[3] = {0, 0, 0};
  int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank == 3) H5Sget_simple_extent_dims(space, d, NULL);
  if (space >= 0) H5Sclose(space);
  if (rank != 3 || (d[1] != 4 && d[2] != 4))
    return dnacl_fail(DNACL_ERR_SHAPE, "%s: dataset '%s' should be (N, 4, L) or (N, L, 4) one-hot, "
                      "but has rank %d%s", path, sp->xname, rank,
                      rank == 3 ? " and no axis of size 4" : "");
  if (d[0] == 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: dataset '%s' has no records", path, sp->xname);
  /* (N, 4, L) is Koo's layout and wins a tie (L = 4). */
  sp->channels_last = d[1] != 4;
  hsize_t L = sp->channels_last ? d[1] : d[2];
  if (d[0] > (hsize_t)(1 << 30) || L > (hsize_t)(1 << 28))
    return dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s: dataset '%s' is too large", path, sp->xname);
  sp->n = (int)d[0];
  sp->len = (int)L;

  if (!find_dataset(f, "Y", sp->split, sp->yname, sizeof sp->yname)) {
    if (o->allow_unlabelled) {
      sp->n_tasks = 0;
      return DNACL_OK;
    }
    return dnacl_fail(DNACL_ERR_PARSE, "%s: no dataset '%s' (the labels of '%s'; datasets: %s)",
                      path, sp->yname, sp->xname, list_datasets(f, &names));
  }
  sp->y = H5Dopen2(f, sp->yname, H5P_DEFAULT);
  if (sp->y < 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: cannot open dataset '%s'", path, sp->yname);
  DNACL_TRY(numeric_type(path, sp->yname, sp->y));
  space = H5Dget_space(sp->y);
  hsize_t yd[2] = {0, 1};
  rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank == 1 || rank == 2) H5Sget_simple_extent_dims(space, yd, NULL);
  if (space >= 0) H5Sclose(space);
  if (rank != 1 && rank != 2)
    return dnacl_fail(DNACL_ERR_SHAPE, "%s: dataset '%s' should be (N, tasks) or (N,), but has rank %d",
                      path, sp->yname, rank);
  if (yd[0] != d[0])
    return dnacl_fail(DNACL_ERR_SHAPE, "%s: '%s' has %llu records but '%s' has %llu", path,
                      sp->yname, (unsigned long long)yd[0], sp->xname, (unsigned long long)d[0]);
  if (yd[1] == 0 || yd[1] > 100000)
    return dnacl_fail(DNACL_ERR_SHAPE, "%s: dataset '%s' has %llu tasks", path, sp->yname,
                      (unsigned long long)yd[1]);
  sp->n_tasks = (int)yd[1];
  return DNACL_OK;
}

/* One slab of X (records r0 .. r0+count) as floats, in the file's layout. */
static dnacl_status read_slab(const char *path, const h5_split *sp, int r0, int count, float *buf) {
  hsize_t start[3] = {(hsize_t)r0, 0, 0};
  hsize_t cnt[3] = {(hsize_t)count, sp->channels_last ? (hsize_t)sp->len : 4,
                    sp->channels_last ? 4 : (hsize_t)sp->len};
  hid_t fs = H5Dget_space(sp->x);
  hid_t ms = H5Screate_simple(3, cnt, NULL);
  herr_t e = -1;
  if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0)
    e = H5Dread(sp->x, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf);
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  if (e < 0)
    return dnacl_fail(DNACL_ERR_IO, "%s: cannot read records %d-%d of '%s' (damaged file or a "
                      "missing compression filter?)", path, r0 + 1, r0 + count, sp->xname);
  return DNACL_OK;
}

/* Copy one split into out->x from record `first` on, checking every kept position. */
static dnacl_status copy_split(const char *path, const dnacl_load_opts *o, const h5_split *sp,
                               dnacl_seqset *out, int first) {
  enum { SLAB = 256 };
  int L = out->length, src0, dst0, count;
  seq_fit(sp->len, L, &src0, &dst0, &count);
  float *buf = malloc((size_t)SLAB * 4 * sp->len * sizeof *buf);
  if (!buf) return seq_nomem(path);
  dnacl_status s = DNACL_OK;
  /* Element (channel c, position p) of a record in the file's layout. */
  size_t cstride = sp->channels_last ? 1 : (size_t)sp->len, pstride = sp->channels_last ? 4 : 1;
  for (int r0 = 0; r0 < sp->n && s == DNACL_OK; r0 += SLAB) {
    int nr = sp->n - r0 < SLAB ? sp->n - r0 : SLAB;
    if ((s = read_slab(path, sp, r0, nr, buf)) != DNACL_OK) break;
    for (int r = 0; r < nr && s == DNACL_OK; r++) {
      const float *src = buf + (size_t)r * 4 * sp->len;
      float *dst = out->x + (size_t)(first + r0 + r) * 4 * L;
      for (int i = 0; i < count; i++) {
        int p = src0 + i;
        float v[4];
        int ones = 0, zeros = 0;
        for (int c = 0; c < 4; c++) {
          v[c] = src[c * cstride + p * pstride];
          ones += v[c] == 1.0f;
          zeros += v[c] == 0.0f;
        }
        int is_n = v[0] > 0 && v[0] == v[1] && v[0] == v[2] && v[0] == v[3] && isfinite(v[0]);
        if (!(ones == 1 && zeros == 3) && zeros != 4 && !is_n) {
          char id[96];
          snprintf(id, sizeof id, "%.48s:%d", sp->split, r0 + r);
          s = seq_fail_rec(DNACL_ERR_PARSE, path, 0, r0 + r + 1, id, p + 1,
                           "'%s' holds A,C,G,T = %g, %g, %g, %g: not one-hot, an N (four equal "
                           "values) or padding (zeros)", sp->xname, v[0], v[1], v[2], v[3]);
          break;
        }
        for (int c = 0; c < 4; c++) dst[(size_t)c * L + dst0 + i] = is_n ? o->n_value : v[c];
      }
    }
  }
  free(buf);
  return s;
}

static dnacl_status read_labels(const char *path, const h5_split *sp, dnacl_seqset *out, int first) {
  float *y = out->y + (size_t)first * out->n_tasks;
  if (H5Dread(sp->y, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) < 0)
    return dnacl_fail(DNACL_ERR_IO, "%s: cannot read dataset '%s'", path, sp->yname);
  for (size_t i = 0; i < (size_t)sp->n * out->n_tasks; i++)
    if (!isfinite(y[i])) {
      char id[96];
      snprintf(id, sizeof id, "%.48s:%zu", sp->split, i / out->n_tasks);
      return seq_fail_rec(DNACL_ERR_PARSE, path, 0, (int)(i / out->n_tasks) + 1, id, 0,
                          "label %d in '%s' is not a number", (int)(i % out->n_tasks) + 1, sp->yname);
    }
  return DNACL_OK;
}

/* The output length from the splits' lengths and the pad/crop options (as for text). */
static dnacl_status fit_length(const char *path, const dnacl_load_opts *o, const h5_split *sp,
                               int n_sp, int *L) {
  int mn = sp[0].len, mx = sp[0].len;
  for (int i = 1; i < n_sp; i++) {
    if (sp[i].len < mn) mn = sp[i].len;
    if (sp[i].len > mx) mx = sp[i].len;
  }
  int target = o->pad_to > 0 ? o->pad_to : o->crop_to > 0 ? o->crop_to
             : o->pad_to < 0 ? mx : o->crop_to < 0 ? mn : 0;
  for (int i = 0; i < n_sp; i++) {
    if (!target && sp[i].len != sp[0].len)
      return dnacl_fail(DNACL_ERR_PARSE, "%s: '%s' has length %d but '%s' has length %d; "
                        "sequences must all have the same length unless padding or cropping "
                        "is asked for", path, sp[i].xname, sp[i].len, sp[0].xname, sp[0].len);
    if (target && sp[i].len > target && !o->crop_to)
      return dnacl_fail(DNACL_ERR_PARSE, "%s: '%s' has length %d, longer than the padded "
                        "length %d (crop as well)", path, sp[i].xname, sp[i].len, target);
    if (target && sp[i].len < target && !o->pad_to)
      return dnacl_fail(DNACL_ERR_PARSE, "%s: '%s' has length %d, shorter than the cropped "
                        "length %d (pad as well)", path, sp[i].xname, sp[i].len, target);
  }
  *L = target ? target : sp[0].len;
  return DNACL_OK;
}

static dnacl_status open_file(const char *path, hid_t *f) {
  FILE *fp;
  DNACL_TRY(seq_open(path, &fp)); /* for a plain "cannot open: No such file" */
  fclose(fp);
  *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (*f < 0) return dnacl_fail(DNACL_ERR_PARSE, "%s: not an HDF5 file (or a damaged one)", path);
  return DNACL_OK;
}

static dnacl_status load_h5(hid_t f, const char *path, const dnacl_load_opts *o, h5_split *sp,
                            int *n_sp, dnacl_seqset *out) {
  static const char *const all[] = {"train", "valid", "test"};
  char xname[80];
  if (o->split) {
    if (strlen(o->split) > 40) return dnacl_fail(DNACL_ERR_ARG, "%s: split name too long", path);
    snprintf(sp[(*n_sp)++].split, sizeof sp->split, "%s", o->split);
  } else {
    for (int i = 0; i < 3; i++)
      if (find_dataset(f, "X", all[i], xname, sizeof xname))
        snprintf(sp[(*n_sp)++].split, sizeof sp->split, "%s", all[i]);
    if (!*n_sp) {
      name_list names;
      return dnacl_fail(DNACL_ERR_PARSE, "%s: no dataset X_train, X_valid or X_test (datasets: %s)",
                        path, list_datasets(f, &names));
    }
  }
  long n = 0;
  for (int i = 0; i < *n_sp; i++) {
    DNACL_TRY(open_split(f, path, o, &sp[i]));
    if (i && sp[i].n_tasks != sp[0].n_tasks)
      return dnacl_fail(DNACL_ERR_SHAPE, "%s: '%s' has %d tasks but '%s' has %d", path,
                        sp[i].yname, sp[i].n_tasks, sp[0].yname, sp[0].n_tasks);
    n += sp[i].n;
  }
  if (n > (1L << 30)) return dnacl_fail(DNACL_ERR_UNSUPPORTED, "%s: too many records", path);
  int L = 0;
  DNACL_TRY(fit_length(path, o, sp, *n_sp, &L));
  out->n = (int)n;
  out->length = L;
  out->n_tasks = sp[0].n_tasks;
  out->x = calloc((size_t)n * 4 * L, sizeof *out->x);
  out->ids = calloc((size_t)n, sizeof *out->ids);
  if (out->n_tasks) out->y = malloc((size_t)n * out->n_tasks * sizeof *out->y);
  out->task_names = calloc((size_t)(out->n_tasks ? out->n_tasks : 1), sizeof *out->task_names);
  if (!out->x || !out->ids || !out->task_names || (out->n_tasks && !out->y))
    return dnacl_fail(DNACL_ERR_NOMEM, "%s: cannot allocate %.1f MB for %ld sequences of length %d",
                      path, (double)n * 4 * L * sizeof(float) / 1e6, n, L);
  for (int t = 0; t < out->n_tasks; t++) {
    char name[32];
    if (out->n_tasks == 1) snprintf(name, sizeof name, "label");
    else snprintf(name, sizeof name, "task%d", t);
    if (!(out->task_names[t] = seq_strdup(name))) return seq_nomem(path);
  }
  int first = 0;
  for (int i = 0; i < *n_sp; i++) {
    DNACL_TRY(copy_split(path, o, &sp[i], out, first));
    if (out->n_tasks) DNACL_TRY(read_labels(path, &sp[i], out, first));
    for (int r = 0; r < sp[i].n; r++) {
      char id[96];
      snprintf(id, sizeof id, "%.48s:%d", sp[i].split, r);
      if (!(out->ids[first + r] = seq_strdup(id))) return seq_nomem(path);
    }
    first += sp[i].n;
  }
  return DNACL_OK;
}

dnacl_status seq_read_h5(const char *path, const dnacl_load_opts *o, dnacl_seqset *out) {
  h5_quiet q;
  quiet_on(&q);
  hid_t f;
  dnacl_status s = open_file(path, &f);
  if (s == DNACL_OK) {
    h5_split sp[3];
    int n_sp = 0;
    for (int i = 0; i < 3; i++) sp[i].x = sp[i].y = -1;
    s = load_h5(f, path, o, sp, &n_sp, out);
    for (int i = 0; i < 3; i++) {
      if (sp[i].x >= 0) H5Dclose(sp[i].x);
      if (sp[i].y >= 0) H5Dclose(sp[i].y);
    }
    H5Fclose(f);
  }
  quiet_off(&q);
  if (s != DNACL_OK) dnacl_seqset_free(out);
  return s;
}

dnacl_status seq_h5_has_split(const char *path, const char *split, int *has) {
  h5_quiet q;
  quiet_on(&q);
  hid_t f;
  dnacl_status s = open_file(path, &f);
  if (s == DNACL_OK) {
    char name[128];
    *has = find_dataset(f, "X", split, name, sizeof name);
    H5Fclose(f);
  }
  quiet_off(&q);
  return s;
}

/* ---- writing ------------------------------------------------------------------------ */

static dnacl_status write_dataset(hid_t f, const char *path, const char *name, int rank,
                                  const hsize_t *dims, const float *data) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  /* No modification times in the file: the same data must give the same bytes. */
  if (dcpl >= 0) H5Pset_obj_track_times(dcpl, 0);
  /* Chunked and deflated like Koo's files, when this HDF5 has the filter. */
  hsize_t chunk[3] = {dims[0] < 64 ? dims[0] : 64, dims[1], rank == 3 ? dims[2] : 0};
  if (dcpl >= 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_deflate(dcpl, 4);
  }
  hid_t ds = space >= 0 && dcpl >= 0
                 ? H5Dcreate2(f, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)
                 : -1;
  herr_t e = ds >= 0 ? H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
  if (ds >= 0 && H5Dclose(ds) < 0) e = -1;
  if (dcpl >= 0) H5Pclose(dcpl);
  if (space >= 0) H5Sclose(space);
  if (e < 0) return dnacl_fail(DNACL_ERR_IO, "%s: cannot write dataset '%s'", path, name);
  return DNACL_OK;
}

dnacl_status dnacl_seqset_save_h5(const char *path, const dnacl_seqset *const *sets,
                                  const char *const *splits, int n_sets) {
  if (!path || !sets || !splits || n_sets <= 0)
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_seqset_save_h5: nothing to write");
  for (int i = 0; i < n_sets; i++) {
    if (!sets[i] || !splits[i] || !*splits[i] || strlen(splits[i]) > 40 || strchr(splits[i], '/'))
      return dnacl_fail(DNACL_ERR_ARG, "%s: set %d needs a split name (a short word)", path, i);
    if (sets[i]->n <= 0 || sets[i]->length <= 0 || !sets[i]->x || (sets[i]->n_tasks && !sets[i]->y))
      return dnacl_fail(DNACL_ERR_ARG, "%s: set '%s' is empty", path, splits[i]);
    for (int j = 0; j < i; j++)
      if (!strcmp(splits[i], splits[j]))
        return dnacl_fail(DNACL_ERR_ARG, "%s: split '%s' given twice", path, splits[i]);
  }
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return dnacl_fail(DNACL_ERR_ARG, "%s: path too long", path);
  h5_quiet q;
  quiet_on(&q);
  dnacl_status s = DNACL_OK;
  hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) s = dnacl_fail(DNACL_ERR_IO, "%s: cannot create %s", path, tmp);
  for (int i = 0; i < n_sets && s == DNACL_OK; i++) {
    const dnacl_seqset *set = sets[i];
    char name[64];
    hsize_t xd[3] = {(hsize_t)set->n, 4, (hsize_t)set->length};
    snprintf(name, sizeof name, "X_%s", splits[i]);
    s = write_dataset(f, path, name, 3, xd, set->x);
    if (s == DNACL_OK && set->n_tasks) {
      hsize_t yd[2] = {(hsize_t)set->n, (hsize_t)set->n_tasks};
      snprintf(name, sizeof name, "Y_%s", splits[i]);
      s = write_dataset(f, path, name, 2, yd, set->y);
    }
  }
  if (f >= 0 && H5Fclose(f) < 0 && s == DNACL_OK)
    s = dnacl_fail(DNACL_ERR_IO, "%s: cannot finish writing %s", path, tmp);
  quiet_off(&q);
  if (s == DNACL_OK && rename(tmp, path) != 0)
    s = dnacl_fail(DNACL_ERR_IO, "%s: cannot rename %s to it", path, tmp);
  if (s != DNACL_OK) remove(tmp);
  return s;
}
