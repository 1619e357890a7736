/* The evaluations a sweep can run on each cell's trained model: a registry, so adding one
 * is one entry in the table of evals.c (name, options parser, metric columns, run).
 *
 * An evaluation whose implementation has not landed yet keeps its entry with run = NULL
 * and `waiting` saying what it waits for: its options are still checked, and then sweep
 * validation refuses it by name, so a sweep never silently leaves a metric out. */
#ifndef DNACL_SWEEP_EVALS_H
#define DNACL_SWEEP_EVALS_H

#include <stdio.h>

#include "io/seqdata.h"
#include "nn/model.h"
#include "sweep/sweep.h"

typedef struct dnacl_eval_env {
  dnacl_ctx *ctx;
  dnacl_model *model;          /* the cell's best checkpoint */
  const dnacl_seqset *test;    /* test sequences, loaded as training loaded its data */
  const char *test_path;       /* the file and split they came from */
  const char *test_split;      /* "test", or NULL for a whole file */
  const char *truth_path;      /* test_path when it holds dnacl simulate's ground truth, else NULL */
  const char *run_dir;         /* the cell's run directory: evaluations may write files */
  const dnacl_sweep *sw;
  FILE *log;                   /* notes for the user (a method refused), may be NULL */
} dnacl_eval_env;

typedef struct dnacl_eval_def {
  const char *name;
  const char *what;            /* one line for messages and the README */
  const char *waiting;         /* NULL: available; else why it is not yet */
  int needs_test;              /* reads env->test */
  int needs_truth;             /* 0 no; 1 uses it when the data has it; 2 requires it */
  /* Read the options (opts is NULL when the entry is the bare name) into e. */
  dnacl_status (*parse)(const dnacl_sweep *sw, const dnacl_ydoc *d, const dnacl_ynode *key,
                        const dnacl_ynode *opts, dnacl_sweep_eval *e);
  /* Append the metric column names; returns how many (<= cap). */
  int (*columns)(const dnacl_sweep_eval *e, char (*names)[64], int cap);
  /* Fill values[0..columns) (NaN for a metric without a value). */
  dnacl_status (*run)(const dnacl_eval_env *env, const dnacl_sweep_eval *e, double *values);
} dnacl_eval_def;

/* The entry of a name, or NULL. */
const dnacl_eval_def *dnacl_eval_find(const char *name);
/* All names, NULL-terminated (for messages). */
const char *const *dnacl_eval_names(void);
/* Attribution methods by bit: saliency, ism, ig, deepshap; NULL-terminated. */
extern const char *const dnacl_attr_methods[];

#endif
