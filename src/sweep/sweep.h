/* Sweeps: one YAML file (yaml/sweeps/README.md documents the schema) expands into a grid of
 * cells, each a training run plus evaluations; the results go to one table.
 *
 *   DIR/sweep.id       the sweep's identity: a hash of what every cell shares (the content
 *                      of the data files, settings, the grid's keys, evaluations), that
 *                      content, then what may grow in place (each model's layers, each grid
 *                      key's values) and the input files' paths (out_dir.c). A DIR is
 *                      bound to one sweep id: a run whose shared content differs is refused
 *                      naming what changed; more trials, grid values or models run only
 *                      the new cells.
 *   DIR/sweep.yaml     the sweep file as last run, for the record
 *   DIR/cells.tsv      every cell: index, id, parameters (what --dry-run prints)
 *   DIR/runs/<id>/     one training run directory per cell (src/train/loop.h), plus the
 *                      cell's model.yaml with its overrides and eval.tsv; after `collect`,
 *                      a link to the shard's directory
 *   DIR/results.tsv    one row per finished cell, ordered by cell index
 *   DIR/summary.svg    every metric per cell, grouped by architecture and activation
 *   DIR/data.h5        the generated data of a `simulate:` block
 *
 * A cell is known by its parameters (id, grid values, seed), not by its index: when the
 * grid grows, indices move and results.tsv is renumbered to the new grid, row contents
 * unchanged.
 *
 * Crash safety: results.tsv is rewritten whole to results.tsv.tmp, synced and renamed
 * after each cell, so it always holds complete rows; a cell is finished exactly when its
 * row is there. A killed sweep loses the cell in progress, whose run directory is removed
 * and started again on the next run. A lock file keeps two processes out of one DIR.
 *
 * Everything here returns dnacl_status; nothing exits. */
#ifndef DNACL_SWEEP_H
#define DNACL_SWEEP_H

#include <stdio.h>

#include "io/model_spec.h"
#include "io/yaml_util.h"
#include "train/loop.h"

#define DNACL_SWEEP_MAX_AXES 16
#define DNACL_SWEEP_MAX_EVALS 8
#define DNACL_SWEEP_MAX_COLS 96

/* ---- the file -------------------------------------------------------------------------- */

typedef enum dnacl_axis_kind {
  DNACL_AX_MODEL,  /* the `models` list: always axis 0 */
  DNACL_AX_ACT,    /* `activation`: the function of the layer marked `ablate: true` */
  DNACL_AX_LAYER,  /* `<layer>.<option>`, e.g. conv1.filters */
  DNACL_AX_TRAIN,  /* a training setting, e.g. lr, batch, seed */
  DNACL_AX_TRIAL   /* `trials: N`: 1..N, each a different seed (seed + trial - 1) */
} dnacl_axis_kind;

typedef struct dnacl_sweep_axis {
  dnacl_axis_kind kind;
  char key[80];                 /* column name: model, activation, conv1.filters, lr, trial */
  int n;                        /* number of values */
  char **values;                /* each value's text as written (cell ids use it) */
  const dnacl_ynode **nodes;    /* where each value is written (NULL entries for model, trial) */
  const dnacl_ynode *at;        /* the grid key */
  int field;                    /* DNACL_AX_TRAIN: index into the training settings table */
} dnacl_sweep_axis;

/* Training settings, named as dnacl train's options (--early-stop -> early_stop). */
typedef struct dnacl_sweep_train {
  int epochs, steps, batch, warmup, eval_every, early_stop, plateau_patience, rc_augment, seed;
  int optimizer;                /* 0 adam, 1 adamw */
  int schedule;                 /* 0 constant, 1 cosine */
  int monitor;                  /* 0 auroc, 1 aupr */
  double lr, weight_decay, cosine_alpha, plateau;
} dnacl_sweep_train;

typedef struct dnacl_sweep_data {
  char *file;                   /* resolved path; for `simulate`, set when the data is made */
  char *valid, *test;           /* resolved, or NULL: the file's valid/test splits */
  char *labels, *tf;            /* FASTA label table (resolved), CSV TF filter */
  int crop, pad;
  double n_value;
  int simulate;                 /* 1: generate the data (see `sim` below) into DIR/data.h5 */
  struct {
    const char *task;           /* koo-task1 | koo-task3 */
    int n, length, seed;
    char *motifs;               /* resolved MEME file, or NULL: the simulator's default */
  } sim;
  const dnacl_ynode *at;        /* the `data` key */
  const dnacl_ynode *sim_at;    /* the `simulate` key */
} dnacl_sweep_data;

struct dnacl_eval_def;
typedef struct dnacl_sweep_eval {
  const struct dnacl_eval_def *def;
  /* attribution (explain/score.h) */
  unsigned methods;             /* bit k: method k of dnacl_attr_methods */
  int n;                        /* positive test sequences scored */
  int output;                   /* 0 logit, 1 probability */
  int ig_steps, ig_refs, shap_refs;
  /* filter_match */
  char *database;               /* MEME file (resolved), or NULL: the simulation's motif file */
  const char *database_written; /* the same as written in the file (the sweep id uses it) */
  double evalue, threshold;     /* significance of a hit; activation alignment threshold */
  int max_seqs;                 /* align on at most this many test sequences (0: all) */
  const dnacl_ynode *at;        /* the evaluation's entry */
} dnacl_sweep_eval;

typedef struct dnacl_sweep {
  char *path;                   /* the sweep file */
  char *dir;                    /* its directory: relative paths in the file start here */
  dnacl_ydoc doc;               /* kept: axes and settings point into it */
  char name[64];
  char *description, *expected_time;
  dnacl_sweep_data data;
  int n_models;
  dnacl_model_spec *models;     /* as parsed from their files */
  dnacl_sweep_axis axes[DNACL_SWEEP_MAX_AXES];
  int n_axes;
  dnacl_sweep_train train;
  dnacl_sweep_eval evals[DNACL_SWEEP_MAX_EVALS];
  int n_evals;
  int n_cells;
  char *canonical;              /* what every cell shares, normalised: the id is its hash */
  char *record;                 /* models' layers and grid values by name (may grow), file paths */
  char id[17];                  /* 16 hex digits */
  double input_bytes, hash_s;   /* the input files hashed, and how long that took */
  /* results.tsv columns: cell, id, <axes>, seed, status, <metrics>, best_step, wall_s, device */
  char columns[DNACL_SWEEP_MAX_COLS][64];
  int n_columns, first_metric, n_metrics;
} dnacl_sweep;

/* Parse and validate a sweep file: every key, type and range, the model files, every
 * override against every model, the evaluations (one that this build cannot run yet is an
 * error naming it), and that the cell ids are unique. Errors are DNACL_ERR_PARSE with
 * file:line:col, the line and a caret. Then the input files (data, valid, test, labels,
 * motifs, databases) are hashed for the id, once: a file that cannot be read is an error
 * at the place it is named. No device is touched and no data is parsed. */
dnacl_status dnacl_sweep_load(const char *path, dnacl_sweep *out);
dnacl_status dnacl_sweep_parse(const char *path, const char *text, dnacl_sweep *out);
void dnacl_sweep_free(dnacl_sweep *sw);

/* ---- cells ------------------------------------------------------------------------------ */

typedef struct dnacl_sweep_cell {
  int index;                          /* 0-based, in the deterministic order below */
  int value[DNACL_SWEEP_MAX_AXES];    /* value index per axis (axis 0: the model) */
  uint32_t seed;                      /* the run's seed */
  char id[256];                       /* "model=cnn_dist,activation=relu,trial=3" */
} dnacl_sweep_cell;

/* Cell i of the grid: the cartesian product of the axes in file order, the models
 * outermost and the trials innermost (the last axis varies fastest). */
dnacl_status dnacl_sweep_cell_at(const dnacl_sweep *sw, int i, dnacl_sweep_cell *c);
/* Whether cell i belongs to shard k of n (1 <= k <= n): i % n == k - 1. */
int dnacl_sweep_in_shard(int i, int k, int n);
/* The cell's model: the model file with its overrides, text regenerated (override.h). */
dnacl_status dnacl_sweep_cell_spec(const dnacl_sweep *sw, const dnacl_sweep_cell *c, dnacl_model_spec *out);
/* The cell's training settings. Paths in *cfg point into sw and into the given strings. */
dnacl_status dnacl_sweep_cell_cfg(const dnacl_sweep *sw, const dnacl_sweep_cell *c, const char *model_path,
                                  const char *run_dir, dnacl_train_cfg *cfg);
/* The cell's row prefix "cell\tid\t<axis values>\tseed" (no newline) into buf. */
void dnacl_sweep_cell_params(const dnacl_sweep *sw, const dnacl_sweep_cell *c, char *buf, size_t cap);
/* "2 models x 7 activation x 10 trial" */
void dnacl_sweep_shape(const dnacl_sweep *sw, char *buf, size_t cap);

/* ---- running ------------------------------------------------------------------------------ */

typedef struct dnacl_sweep_opts {
  int shard, n_shards;          /* run the cells of shard `shard` of `n_shards` (1 of 1: all) */
  int retry_failed;             /* run cells again whose row says failed */
  FILE *log;                    /* progress lines; NULL: quiet */
} dnacl_sweep_opts;

typedef struct dnacl_sweep_report {
  int in_shard, already, ran, failed;
} dnacl_sweep_report;

/* Run (or continue) the sweep into out_dir. Cells whose training or evaluation fails
 * because of their own settings (the loss diverged, a layer an explainer refuses, shapes
 * that cannot work) get a row with status "failed" (the message in runs/<id>/error.txt)
 * and the sweep goes on; failures of the environment (files, memory, the device) stop
 * it, leaving the finished cells. An interrupt (dnacl_sweep_interrupt) stops after
 * saving the training state; that cell is rerun. */
dnacl_status dnacl_sweep_run(dnacl_ctx *ctx, const dnacl_sweep *sw, const char *out_dir,
                             const dnacl_sweep_opts *o, dnacl_sweep_report *rep);
/* Signal-safe: stop the running sweep (and its training) as soon as possible. */
void dnacl_sweep_interrupt(void);
int dnacl_sweep_interrupted(void);

/* Merge the results of shard directories into out_dir (which may be one of them; rows it
 * already holds are kept): refuses directories of different sweeps; rows placed in the
 * largest grid among them (a shard run with a grown sweep file) and ordered by its cell
 * index, a cell found twice kept once. out_dir/runs/<id> becomes a relative symbolic link
 * to the run directory of each row's shard (one already there as a real directory is left
 * alone), and out_dir/data.h5 one to a shard's simulated data, so `dnacl eval/report/score`
 * work from out_dir. Nothing is moved or deleted. *n_rows and *n_cells (may be NULL)
 * receive the rows merged and the sweep's cells. */
dnacl_status dnacl_sweep_collect(const char *const *dirs, int n_dirs, const char *out_dir, FILE *log,
                                 int *n_rows, int *n_cells);

/* State of each cell in out_dir's results (for --dry-run): 0 to do, 1 done, 2 failed.
 * state has sw->n_cells entries; an out_dir without results gives all 0. Refuses an
 * out_dir of another sweep, as dnacl_sweep_run would. */
dnacl_status dnacl_sweep_states(const dnacl_sweep *sw, const char *out_dir, int *state);

/* ---- results tables ------------------------------------------------------------------------ */

typedef struct dnacl_result_row {
  int cell;
  char *line;                   /* the whole row, no newline */
} dnacl_result_row;

typedef struct dnacl_results {
  char *header;                 /* NULL: no table yet */
  dnacl_result_row *rows;       /* sorted by cell */
  int n, cap;
} dnacl_results;

/* Load path: a missing file is an empty table; a last line without its newline (a write
 * cut short) is ignored; a complete line that is not a row is DNACL_ERR_PARSE naming
 * path:line. */
dnacl_status dnacl_results_load(const char *path, dnacl_results *r);
/* Write atomically (PATH.tmp, fsync, rename, fsync of the directory). */
dnacl_status dnacl_results_save(const char *path, const dnacl_results *r);
/* Insert or replace the row of a cell (kept sorted). */
dnacl_status dnacl_results_put(dnacl_results *r, int cell, const char *line);
/* Index of the cell's row, or -1. */
int dnacl_results_find(const dnacl_results *r, int cell);
void dnacl_results_free(dnacl_results *r);
/* Field k (0-based) of a tab-separated line into buf; 0 if the line has fewer fields. */
int dnacl_tsv_field(const char *line, int k, char *buf, size_t cap);

/* summary.svg from a results table (the columns are self-describing, see above). */
dnacl_status dnacl_sweep_summary_svg(const char *path, const char *title, const dnacl_results *r);

/* ---- helpers shared by the sweep files ------------------------------------------------------ */

/* mkdir -p */
dnacl_status dnacl_mkdirs(const char *path);
/* Remove a directory tree (a cell's run directory). */
dnacl_status dnacl_rmtree(const char *path);
/* Write text to path atomically (tmp + fsync + rename). */
dnacl_status dnacl_write_file_atomic(const char *path, const char *text, size_t len);
/* 64-bit FNV-1a as 16 hex digits. */
void dnacl_hash_hex(const char *text, size_t len, char out[17]);

#endif
