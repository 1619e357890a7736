/* The training loop: see loop.h for the run directory it keeps. */
#include "train/loop.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "train/curves.h"
#include "train/metrics.h"
#include "train/schedule.h"
#include "train/trainer.h"

static volatile sig_atomic_t interrupted;
void dnacl_train_interrupt(void) { interrupted = 1; }

dnacl_train_cfg dnacl_train_defaults(void) {
  dnacl_train_cfg c;
  memset(&c, 0, sizeof c);
  c.load = dnacl_load_opts_default();
  c.lr = 1e-3f;
  c.alpha = 0.0f;
  c.epochs = 10;
  c.batch = 32;
  c.seed = 1;
  c.monitor = "auroc";
  c.plateau_patience = 3;
  return c;
}

/* ---- small file helpers -------------------------------------------------------------- */

static void join(char *out, size_t n, const char *dir, const char *name) {
  snprintf(out, n, "%s/%s", dir, name);
}

static dnacl_status write_atomic(const char *path, const char *text) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "%s: cannot open for writing: %s", tmp, strerror(errno));
  int ok = fputs(text, f) >= 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return dnacl_fail(DNACL_ERR_IO, "%s: write failed", path);
  }
  return DNACL_OK;
}

/* ---- batches ------------------------------------------------------------------------- */

/* Fisher-Yates permutation of [0, n) for one epoch, from the run seed and the epoch, so a
 * resumed run sees the same order without saving generator state. */
static void epoch_order(int *idx, int n, uint32_t seed, int epoch) {
  for (int i = 0; i < n; i++) idx[i] = i;
  uint32_t s = dnacl_mix32(seed ^ dnacl_mix32(0xA5A5u + (uint32_t)epoch));
  for (int i = n - 1; i > 0; i--) {
    s = dnacl_mix32(s + 0x9E3779B9u);
    int j = (int)(s % (uint32_t)(i + 1));
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/* Copy rows idx[0..b) of the set into hx/hy; rc: reverse-complement a row when the hash of
 * (seed, step, row) says so (A<->T, C<->G is channel c -> 3 - c, positions reversed). */
static void gather(const dnacl_seqset *s, const int *idx, int b, float *hx, float *hy, int rc,
                   uint32_t seed, long step) {
  size_t row = (size_t)4 * s->length;
  for (int i = 0; i < b; i++) {
    const float *src = s->x + (size_t)idx[i] * row;
    float *dst = hx + (size_t)i * row;
    int flip = rc && (dnacl_mix32(seed ^ dnacl_mix32((uint32_t)step * 2654435761u + (uint32_t)i)) & 1);
    if (!flip) {
      memcpy(dst, src, row * sizeof *dst);
    } else {
      for (int c = 0; c < 4; c++)
        for (int j = 0; j < s->length; j++)
          dst[(size_t)c * s->length + j] = src[(size_t)(3 - c) * s->length + (s->length - 1 - j)];
    }
    memcpy(hy + (size_t)i * s->n_tasks, s->y + (size_t)idx[i] * s->n_tasks, (size_t)s->n_tasks * sizeof *hy);
  }
}

dnacl_status dnacl_predict_logits(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, int batch,
                                  float *logits) {
  int T = m->spec.tasks;
  if (set->length != m->length)
    return dnacl_fail(DNACL_ERR_SHAPE, "the model takes sequences of length %d; the data has length %d (see --pad/--crop)",
                      m->length, set->length);
  size_t row = (size_t)4 * set->length;
  float *hx = calloc((size_t)batch * row, sizeof *hx), *out = malloc((size_t)batch * T * sizeof *out);
  dnacl_tensor x = {0};
  dnacl_status s = (hx && out) ? dnacl_tensor_new(ctx, &x, batch, 4, set->length)
                               : dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  for (int i0 = 0; s == DNACL_OK && i0 < set->n; i0 += batch) {
    int b = set->n - i0 < batch ? set->n - i0 : batch;
    memcpy(hx, set->x + (size_t)i0 * row, (size_t)b * row * sizeof *hx);
    if (b < batch) memset(hx + (size_t)b * row, 0, (size_t)(batch - b) * row * sizeof *hx); /* padding rows */
    s = dnacl_tensor_write(ctx, &x, hx);
    if (s == DNACL_OK) s = dnacl_model_forward(ctx, m, &x, 0);
    if (s == DNACL_OK) s = dnacl_tensor_read(ctx, dnacl_model_output(m), out);
    if (s == DNACL_OK) memcpy(logits + (size_t)i0 * T, out, (size_t)b * T * sizeof *out);
  }
  dnacl_tensor_free(&x);
  free(hx);
  free(out);
  return s;
}

/* ---- the metrics log ------------------------------------------------------------------- */

typedef struct eval_row {
  long step;
  int epoch;
  double lr, train_loss, loss, accuracy, auroc, aupr;
} eval_row;

static const char *metrics_header = "step\tepoch\tlr\ttrain_loss\tvalid_loss\tvalid_accuracy\tvalid_auroc\tvalid_aupr\n";

static dnacl_status write_metrics(const char *dir, const eval_row *rows, int n) {
  size_t cap = 128 + (size_t)n * 160;
  char *buf = malloc(cap);
  if (!buf) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  size_t u = (size_t)snprintf(buf, cap, "%s", metrics_header);
  for (int i = 0; i < n; i++)
    u += (size_t)snprintf(buf + u, cap - u, "%ld\t%d\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\n", rows[i].step, rows[i].epoch,
                          rows[i].lr, rows[i].train_loss, rows[i].loss, rows[i].accuracy, rows[i].auroc, rows[i].aupr);
  char path[4096];
  join(path, sizeof path, dir, "metrics.tsv");
  dnacl_status s = write_atomic(path, buf);
  free(buf);
  return s;
}

static int read_metrics(const char *dir, long upto, eval_row *rows, int cap) {
  char path[4096], line[512];
  join(path, sizeof path, dir, "metrics.tsv");
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int n = 0;
  while (fgets(line, sizeof line, f) && n < cap) {
    eval_row r;
    if (sscanf(line, "%ld\t%d\t%lf\t%lf\t%lf\t%lf\t%lf\t%lf", &r.step, &r.epoch, &r.lr, &r.train_loss, &r.loss,
               &r.accuracy, &r.auroc, &r.aupr) == 8 && r.step <= upto)
      rows[n++] = r;
  }
  fclose(f);
  return n;
}

static dnacl_status write_curves(const char *dir, const char *title, const eval_row *rows, int n) {
  double *v = malloc((size_t)(n ? n : 1) * 5 * sizeof *v);
  if (!v) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n; i++) {
    v[i] = (double)rows[i].step;
    v[n + i] = rows[i].train_loss;
    v[2 * n + i] = rows[i].loss;
    v[3 * n + i] = rows[i].auroc;
    v[4 * n + i] = rows[i].aupr;
  }
  dnacl_learning_curves c;
  memset(&c, 0, sizeof c);
  c.title = title;
  c.train_step = v;
  c.train_loss = v + n;
  c.n_train = (size_t)n;
  c.valid_step = v;
  c.valid_loss = v + 2 * n;
  c.valid_auroc = v + 3 * n;
  c.valid_aupr = v + 4 * n;
  c.n_valid = (size_t)n;
  char path[4096];
  join(path, sizeof path, dir, "curves.svg");
  dnacl_status s = dnacl_learning_curves_svg(path, &c);
  free(v);
  return s;
}

/* ---- configuration -------------------------------------------------------------------- */

static char *config_text(const dnacl_train_cfg *c, long total_steps, long steps_per_epoch, long eval_every,
                         const char *device) {
  char *buf = malloc(4096);
  if (!buf) return NULL;
  snprintf(buf, 4096,
           "model\t%s\ndata\t%s\nvalid_data\t%s\noptimizer\t%s\nlr\t%g\nweight_decay\t%g\nschedule\t%s\n"
           "cosine_alpha\t%g\nwarmup\t%ld\nsteps\t%ld\nsteps_per_epoch\t%ld\nbatch\t%d\nseed\t%u\neval_every\t%ld\n"
           "monitor\t%s\npatience\t%d\nplateau_factor\t%g\nplateau_patience\t%d\nrc_augment\t%d\nn_value\t%g\n"
           "pad_to\t%d\ncrop_to\t%d\ndevice\t%s\n",
           c->model_path, c->data_path, c->valid_path ? c->valid_path : "(valid split of data)",
           c->adamw ? "adamw" : "adam", (double)c->lr, (double)c->weight_decay, c->cosine ? "cosine" : "constant",
           (double)c->alpha, c->warmup, total_steps, steps_per_epoch, c->batch, (unsigned)c->seed, eval_every,
           c->monitor, c->patience, (double)c->plateau_factor, c->plateau_patience, c->rc_augment,
           (double)c->load.n_value, c->load.pad_to, c->load.crop_to, device);
  return buf;
}

/* A resumed run must be the run that was interrupted: every setting in config.tsv has to
 * match the one given now, or the result would be neither run. */
static dnacl_status check_resume_config(const char *dir, const char *now) {
  char path[4096], line[1024];
  join(path, sizeof path, dir, "config.tsv");
  FILE *f = fopen(path, "r");
  if (!f) return dnacl_fail(DNACL_ERR_IO, "--resume: %s is missing", path);
  dnacl_status s = DNACL_OK;
  while (s == DNACL_OK && fgets(line, sizeof line, f)) {
    /* The device may differ: the same seed on another device is still the same run. */
    if (strncmp(line, "device\t", 7) != 0 && !strstr(now, line)) {
      line[strcspn(line, "\n")] = 0;
      char *tab = strchr(line, '\t');
      if (tab) *tab = 0;
      s = dnacl_fail(DNACL_ERR_ARG, "--resume: setting '%s' differs from %s (was '%s'); resume with the same options",
                     line, path, tab ? tab + 1 : "");
    }
  }
  fclose(f);
  return s;
}

static double monitored(const eval_row *r, const char *monitor) {
  return !strcmp(monitor, "aupr") ? r->aupr : r->auroc;
}

/* ---- checkpoints with the loop's state ------------------------------------------------ */

typedef struct loop_state {
  long step;
  double loss_acc;  /* training losses summed since the last evaluation, and their count: */
  long loss_n;      /* saved so a resumed run logs the same train_loss as an uninterrupted one */
  double best;      /* best monitored value so far */
  long best_step;
  dnacl_plateau plateau;
  dnacl_early_stop stop;
} loop_state;

static dnacl_status save_last(dnacl_ctx *ctx, dnacl_model *m, dnacl_optimizer *opt, const char *dir,
                              const loop_state *st) {
  char vals[8][64];
  snprintf(vals[0], 64, "%ld", st->step);
  snprintf(vals[1], 64, "%.17g", st->best);
  snprintf(vals[2], 64, "%ld", st->best_step);
  snprintf(vals[3], 64, "%.17g %.17g %d %d %d", st->plateau.lr, st->plateau.best, st->plateau.num_bad,
           st->plateau.cooldown_left, st->plateau.n_reductions);
  snprintf(vals[4], 64, "%.17g %ld %d", st->stop.best, st->stop.best_step, st->stop.wait);
  snprintf(vals[5], 64, "%d", opt->step);
  snprintf(vals[6], 64, "%.17g %ld", st->loss_acc, st->loss_n);
  const char *keys[7] = {"dnacl.step", "dnacl.best", "dnacl.best_step", "dnacl.plateau", "dnacl.early_stop",
                         "dnacl.adam_step", "dnacl.train_loss_sum"};
  const char *v[7] = {vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6]};
  char path[4096];
  join(path, sizeof path, dir, "last.safetensors");
  return dnacl_checkpoint_save(ctx, m, opt, path, keys, v, 7);
}

static dnacl_status load_last(dnacl_ctx *ctx, dnacl_model *m, dnacl_optimizer *opt, const char *dir,
                              loop_state *st) {
  char path[4096];
  join(path, sizeof path, dir, "last.safetensors");
  dnacl_safetensors f;
  DNACL_TRY(dnacl_st_load(path, &f));
  dnacl_status s = dnacl_model_load_params(ctx, m, &f, "", 1);
  if (s == DNACL_OK) s = dnacl_checkpoint_load_optimizer(ctx, m, opt, &f);
  const char *step = dnacl_st_meta(&f, "dnacl.step"), *best = dnacl_st_meta(&f, "dnacl.best"),
             *bstep = dnacl_st_meta(&f, "dnacl.best_step"), *pl = dnacl_st_meta(&f, "dnacl.plateau"),
             *es = dnacl_st_meta(&f, "dnacl.early_stop"), *astep = dnacl_st_meta(&f, "dnacl.adam_step");
  if (s == DNACL_OK && !(step && best && bstep && pl && es && astep))
    s = dnacl_fail(DNACL_ERR_PARSE, "%s: not a dnacl run checkpoint (training state missing)", path);
  if (s == DNACL_OK) {
    st->step = atol(step);
    st->best = atof(best);
    st->best_step = atol(bstep);
    sscanf(pl, "%lf %lf %d %d %d", &st->plateau.lr, &st->plateau.best, &st->plateau.num_bad,
           &st->plateau.cooldown_left, &st->plateau.n_reductions);
    sscanf(es, "%lf %ld %d", &st->stop.best, &st->stop.best_step, &st->stop.wait);
    opt->step = atoi(astep);
    const char *tl = dnacl_st_meta(&f, "dnacl.train_loss_sum");
    if (tl) sscanf(tl, "%lf %ld", &st->loss_acc, &st->loss_n);
  }
  dnacl_st_free(&f);
  return s;
}

/* ---- the loop --------------------------------------------------------------------------- */

static void progress_line(int bar, long step, long total, double loss, double sps) {
  if (bar) {
    int w = 30, done = total ? (int)(w * step / total) : w;
    fprintf(stderr, "\r  [%.*s%*s] step %ld/%ld  loss %.4f  %.0f seq/s ", done, "==============================",
            w - done, "", step, total, loss, sps);
    fflush(stderr);
  }
}

static dnacl_status evaluate(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *v, int batch, eval_row *r) {
  float *logits = malloc((size_t)v->n * v->n_tasks * sizeof *logits);
  if (!logits) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  dnacl_status s = dnacl_predict_logits(ctx, m, v, batch, logits);
  dnacl_task_metrics sum;
  if (s == DNACL_OK) s = dnacl_metrics_tasks(v->y, logits, (size_t)v->n, v->n_tasks, NULL, &sum);
  if (s == DNACL_OK) {
    r->loss = sum.loss;
    r->accuracy = sum.accuracy;
    r->auroc = sum.auroc;
    r->aupr = sum.aupr;
  }
  free(logits);
  return s;
}

static dnacl_status check_tasks(const dnacl_model *m, const dnacl_seqset *s, const char *path) {
  if (s->n_tasks != m->spec.tasks)
    return dnacl_fail(DNACL_ERR_SHAPE, "%s has %d label column(s) but model %s predicts %d task(s)", path, s->n_tasks,
                      m->spec.name, m->spec.tasks);
  if (s->length != m->length)
    return dnacl_fail(DNACL_ERR_SHAPE, "%s has sequences of length %d but model %s takes length %d (use --crop/--pad)",
                      path, s->length, m->spec.name, m->length);
  return DNACL_OK;
}

typedef struct run_res {
  dnacl_model *m;
  dnacl_seqset train, valid;
  dnacl_optimizer opt;
  dnacl_step_buffers buf;
  dnacl_tensor x, y;
  float *hx, *hy;
  int *order;
  eval_row *rows;
} run_res;

static void release(run_res *r) {
  dnacl_optimizer_free(&r->opt);
  dnacl_step_buffers_free(&r->buf);
  dnacl_tensor_free(&r->x);
  dnacl_tensor_free(&r->y);
  dnacl_model_free(r->m);
  dnacl_seqset_free(&r->train);
  dnacl_seqset_free(&r->valid);
  free(r->hx);
  free(r->hy);
  free(r->order);
  free(r->rows);
}

/* Load and check everything that can be wrong with the user's input, before RUN/ exists. */
static dnacl_status prepare(dnacl_ctx *ctx, const dnacl_train_cfg *c, run_res *r) {
  if (c->batch < 1) return dnacl_fail(DNACL_ERR_ARG, "--batch must be at least 1");
  if (strcmp(c->monitor, "auroc") && strcmp(c->monitor, "aupr"))
    return dnacl_fail(DNACL_ERR_ARG, "--monitor must be auroc or aupr, got '%s'", c->monitor);
  dnacl_model_spec spec;
  DNACL_TRY(dnacl_model_spec_load(c->model_path, &spec));
  DNACL_TRY(dnacl_model_build(ctx, &spec, &r->m));
  dnacl_load_opts lo = c->load;
  int has_split = 0;
  DNACL_TRY(dnacl_seqset_has_split(c->data_path, "train", &has_split));
  lo.split = has_split ? "train" : NULL;
  DNACL_TRY(dnacl_seqset_load(c->data_path, &lo, &r->train));
  DNACL_TRY(check_tasks(r->m, &r->train, c->data_path));
  const char *vpath = c->valid_path ? c->valid_path : c->data_path;
  int vsplit = 0;
  DNACL_TRY(dnacl_seqset_has_split(vpath, "valid", &vsplit));
  if (!c->valid_path && !vsplit)
    return dnacl_fail(DNACL_ERR_ARG, "%s has no valid split; give validation data with --valid FILE", c->data_path);
  lo.split = vsplit ? "valid" : NULL;
  DNACL_TRY(dnacl_seqset_load(vpath, &lo, &r->valid));
  DNACL_TRY(check_tasks(r->m, &r->valid, vpath));
  if (r->train.n < c->batch)
    return dnacl_fail(DNACL_ERR_ARG, "%s has %d training sequences, fewer than one batch of %d", c->data_path,
                      r->train.n, c->batch);
  return DNACL_OK;
}

dnacl_status dnacl_train_run(dnacl_ctx *ctx, const dnacl_train_cfg *c) {
  run_res r;
  memset(&r, 0, sizeof r);
  interrupted = 0;
  dnacl_status s = prepare(ctx, c, &r);
  if (s != DNACL_OK) {
    release(&r);
    return s;
  }
  long per_epoch = r.train.n / c->batch; /* the incomplete last batch of an epoch is dropped */
  long total = c->steps > 0 ? c->steps : (long)c->epochs * per_epoch;
  long eval_every = c->eval_every > 0 ? c->eval_every : per_epoch;
  char path[4096];
  if (c->resume) {
    join(path, sizeof path, c->out_dir, "last.safetensors");
    if (access(path, R_OK) != 0) {
      release(&r);
      return dnacl_fail(DNACL_ERR_IO, "--resume: %s does not exist", path);
    }
  } else if (mkdir(c->out_dir, 0755) != 0 && errno != EEXIST) {
    release(&r);
    return dnacl_fail(DNACL_ERR_IO, "%s: cannot create the run directory: %s", c->out_dir, strerror(errno));
  }

  dnacl_model *m = r.m;
  m->seed = c->seed;
  dnacl_adam_cfg ac = dnacl_adam_defaults();
  ac.lr = c->lr;
  ac.weight_decay = c->weight_decay;
  ac.decoupled = c->adamw;
  dnacl_lr_schedule sched;
  s = c->cosine ? dnacl_lr_cosine(&sched, c->lr, total, c->alpha, c->warmup) : dnacl_lr_constant(&sched, c->lr);
  loop_state st;
  memset(&st, 0, sizeof st);
  st.best = -INFINITY;
  st.best_step = -1;
  if (s == DNACL_OK) s = dnacl_plateau_init(&st.plateau, 1.0, DNACL_MODE_MAX, c->plateau_factor > 0 ? c->plateau_factor : 0.5,
                                            c->plateau_patience, 0.0);
  if (s == DNACL_OK) s = dnacl_early_stop_init(&st.stop, DNACL_MODE_MAX, c->patience, 0.0);
  if (s == DNACL_OK) s = dnacl_optimizer_init(ctx, m, &ac, &r.opt);
  if (s == DNACL_OK) s = dnacl_model_init(ctx, m, c->seed);
  r.rows = calloc((size_t)(total / eval_every + 4), sizeof *r.rows);
  r.order = malloc((size_t)r.train.n * sizeof *r.order);
  r.hx = malloc((size_t)c->batch * 4 * r.train.length * sizeof *r.hx);
  r.hy = malloc((size_t)c->batch * r.train.n_tasks * sizeof *r.hy);
  if (s == DNACL_OK && (!r.rows || !r.order || !r.hx || !r.hy)) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s == DNACL_OK) s = dnacl_tensor_new(ctx, &r.x, c->batch, 4, r.train.length);
  if (s == DNACL_OK) s = dnacl_tensor_new(ctx, &r.y, c->batch, r.train.n_tasks, 0);
  int n_rows = 0;
  char *cfg_now = s == DNACL_OK ? config_text(c, total, per_epoch, eval_every, dnacl_ctx_device(ctx)->name) : NULL;
  if (s == DNACL_OK && !cfg_now) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  if (s == DNACL_OK && c->resume) s = check_resume_config(c->out_dir, cfg_now);
  if (s == DNACL_OK && c->resume) {
    s = load_last(ctx, m, &r.opt, c->out_dir, &st);
    n_rows = read_metrics(c->out_dir, st.step, r.rows, (int)(total / eval_every + 4));
    if (s == DNACL_OK) fprintf(stderr, "dnacl train: resuming %s at step %ld\n", c->out_dir, st.step);
  }
  if (s == DNACL_OK && !c->resume) {
    join(path, sizeof path, c->out_dir, "config.tsv");
    s = write_atomic(path, cfg_now);
    join(path, sizeof path, c->out_dir, "model.yaml");
    if (s == DNACL_OK) s = write_atomic(path, m->spec.text ? m->spec.text : "");
  }
  m->step = (uint32_t)st.step;
  int cur_epoch = -1;
  double t0 = dnacl_now_s();
  long t0_step = st.step;
  int stopped_early = 0;
  while (s == DNACL_OK && st.step < total && !interrupted) {
    int epoch = (int)(st.step / per_epoch);
    if (epoch != cur_epoch) {
      epoch_order(r.order, r.train.n, c->seed, epoch);
      cur_epoch = epoch;
    }
    long pos = st.step % per_epoch;
    gather(&r.train, r.order + pos * c->batch, c->batch, r.hx, r.hy, c->rc_augment, c->seed, st.step);
    s = dnacl_tensor_write(ctx, &r.x, r.hx);
    if (s == DNACL_OK) s = dnacl_tensor_write(ctx, &r.y, r.hy);
    float lr = (float)(dnacl_lr_at(&sched, st.step) * (c->plateau_factor > 0 ? st.plateau.lr : 1.0));
    float loss = 0;
    if (s == DNACL_OK) s = dnacl_train_step(ctx, m, &r.opt, &r.buf, &r.x, &r.y, lr, &loss);
    if (s != DNACL_OK) break;
    if (!isfinite(loss)) {
      s = dnacl_fail(DNACL_ERR_ARG, "training diverged at step %ld (loss %g); lower --lr", st.step, (double)loss);
      break;
    }
    st.step++;
    st.loss_acc += loss;
    st.loss_n++;
    double sps = (double)(st.step - t0_step) * c->batch / (dnacl_now_s() - t0);
    progress_line(c->progress, st.step, total, st.loss_acc / st.loss_n, sps);
    if (st.step % eval_every == 0 || st.step == total) {
      eval_row row = {st.step, epoch + 1, lr, st.loss_acc / st.loss_n, 0, 0, 0, 0};
      s = evaluate(ctx, m, &r.valid, c->batch, &row);
      if (s != DNACL_OK) break;
      st.loss_acc = 0;
      st.loss_n = 0;
      r.rows[n_rows++] = row;
      if (c->progress) fprintf(stderr, "\n");
      fprintf(stderr, "step %ld epoch %d: train loss %.4f  valid loss %.4f acc %.4f auroc %.4f aupr %.4f  (%.0f seq/s)\n",
              st.step, row.epoch, row.train_loss, row.loss, row.accuracy, row.auroc, row.aupr, sps);
      double v = monitored(&row, c->monitor);
      if (c->plateau_factor > 0 && dnacl_plateau_update(&st.plateau, v))
        fprintf(stderr, "  valid %s has not improved for %d evaluations: learning rate x%.3g\n", c->monitor,
                c->plateau_patience, st.plateau.lr);
      if (v > st.best || st.best_step < 0) {
        st.best = v;
        st.best_step = st.step;
        join(path, sizeof path, c->out_dir, "best.safetensors");
        char sv[32];
        snprintf(sv, sizeof sv, "%ld", st.step);
        const char *k[1] = {"dnacl.step"}, *vv[1] = {sv};
        s = dnacl_checkpoint_save(ctx, m, NULL, path, k, vv, 1);
      }
      if (s == DNACL_OK) s = save_last(ctx, m, &r.opt, c->out_dir, &st);
      if (s == DNACL_OK) s = write_metrics(c->out_dir, r.rows, n_rows);
      if (s == DNACL_OK) s = write_curves(c->out_dir, m->spec.name, r.rows, n_rows);
      if (s == DNACL_OK && c->patience > 0 && dnacl_early_stop_update(&st.stop, v, st.step)) {
        fprintf(stderr, "early stop: valid %s has not improved for %d evaluations (best %.4f at step %ld)\n",
                c->monitor, c->patience, st.best, st.best_step);
        stopped_early = 1;
        break;
      }
    }
  }
  (void)stopped_early;
  free(cfg_now);
  if (s == DNACL_OK && interrupted) {
    s = save_last(ctx, m, &r.opt, c->out_dir, &st);
    /* Rows past the checkpoint's step would be repeated on resume: keep the log in step. */
    if (s == DNACL_OK) s = write_metrics(c->out_dir, r.rows, n_rows);
    if (s == DNACL_OK)
      s = dnacl_fail(DNACL_ERR_INTERRUPTED, "interrupted at step %ld; %s/last.safetensors is complete: continue with --resume",
                     st.step, c->out_dir);
  }
  release(&r);
  return s;
}

dnacl_status dnacl_run_load(dnacl_ctx *ctx, const char *run_dir, const char *which, dnacl_model **out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.safetensors", run_dir, which);
  dnacl_safetensors f;
  DNACL_TRY(dnacl_st_load(path, &f));
  const char *yaml = dnacl_st_meta(&f, "dnacl.model_yaml");
  dnacl_status s = DNACL_OK;
  if (!yaml || !*yaml) s = dnacl_fail(DNACL_ERR_PARSE, "%s: no model YAML in the checkpoint's metadata", path);
  dnacl_model_spec spec;
  char label[4200];
  snprintf(label, sizeof label, "%s[dnacl.model_yaml]", path);
  if (s == DNACL_OK) s = dnacl_model_spec_parse(label, yaml, &spec);
  if (s == DNACL_OK) s = dnacl_model_build(ctx, &spec, out);
  if (s == DNACL_OK) {
    s = dnacl_model_load_params(ctx, *out, &f, "", 1);
    if (s != DNACL_OK) {
      dnacl_model_free(*out);
      *out = NULL;
    }
  }
  dnacl_st_free(&f);
  return s;
}
