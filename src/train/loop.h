/* The training loop behind `dnacl train`: epochs of shuffled batches, schedules,
 * evaluation on the validation split, early stopping, checkpoints, the metrics log and the
 * learning-curve figure, all in a run directory:
 *
 *   RUN/model.yaml        the model file as given
 *   RUN/config.tsv        every setting of the run (key<TAB>value)
 *   RUN/metrics.tsv       one row per evaluation (deterministic: no wall times)
 *   RUN/best.safetensors  parameters at the best validation metric
 *   RUN/last.safetensors  parameters + optimiser state at the latest evaluation (resumable)
 *   RUN/curves.svg        train/valid loss and valid AUROC/AUPR over steps
 *
 * Every file is written to a temporary name and renamed; inputs are all loaded and
 * checked before RUN/ is created, so bad input leaves nothing behind. */
#ifndef DNACL_LOOP_H
#define DNACL_LOOP_H
#include "io/seqdata.h"
#include "nn/model.h"

typedef struct dnacl_train_cfg {
  const char *model_path;
  const char *data_path;     /* train split from here */
  const char *valid_path;    /* NULL: the valid split of data_path (if it has one) */
  const char *out_dir;
  dnacl_load_opts load;      /* split is set per use */
  int adamw;                 /* 0 Adam (weight_decay is an L2 term in the gradient), 1 AdamW */
  float lr, weight_decay;
  int cosine;                /* 0 constant, 1 cosine decay to lr*alpha over the run */
  float alpha;
  long warmup;
  long steps;                /* total steps; 0: epochs * steps per epoch */
  int epochs;
  int batch;
  uint32_t seed;
  long eval_every;           /* steps; 0: once per epoch */
  const char *monitor;       /* "auroc" or "aupr": early stopping, plateau, best checkpoint */
  int patience;              /* early stopping; 0 off */
  float plateau_factor;      /* reduce-on-plateau; 0 off */
  int plateau_patience;
  int rc_augment;            /* random reverse complement of training sequences */
  int resume;
  int progress;              /* 1: a progress bar (terminal), 0: plain lines */
} dnacl_train_cfg;

dnacl_train_cfg dnacl_train_defaults(void);

/* Run (or resume) training. Returns DNACL_OK also when stopped early by the metric;
 * an interrupt (SIGINT/SIGTERM, see dnacl_train_interrupt) saves RUN/last.safetensors and
 * returns DNACL_ERR_INTERRUPTED with a message saying how to resume. */
dnacl_status dnacl_train_run(dnacl_ctx *ctx, const dnacl_train_cfg *cfg);

/* Ask a running dnacl_train_run to stop after the current step (signal-safe). */
void dnacl_train_interrupt(void);

/* Forward the whole set in eval mode in batches of `batch` (the last one padded); writes
 * n * tasks logits. */
dnacl_status dnacl_predict_logits(dnacl_ctx *ctx, dnacl_model *m, const dnacl_seqset *set, int batch,
                                  float *logits);

/* Load a run's model (from the YAML embedded in the checkpoint) and its parameters;
 * which = "best" or "last". */
dnacl_status dnacl_run_load(dnacl_ctx *ctx, const char *run_dir, const char *which, dnacl_model **out);
#endif
