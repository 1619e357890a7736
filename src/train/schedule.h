/* Learning-rate schedules, reduce-on-plateau and early stopping: plain structs updated by
 * the training loop, with no hidden state, clocks or randomness, so a resumed run that
 * restores these structs (they are plain values) continues exactly.
 *
 * Steps are 0-based counts of optimiser updates already taken: the loop asks for
 * dnacl_lr_at(&s, step) before update number step+1, as optax evaluates a schedule at its
 * update count. */
#ifndef DNACL_SCHEDULE_H
#define DNACL_SCHEDULE_H
#include "runtime/runtime.h"

/* ---- schedules over steps ------------------------------------------------------------ */

typedef enum dnacl_lr_kind { DNACL_LR_CONSTANT = 0, DNACL_LR_COSINE = 1 } dnacl_lr_kind;

typedef struct dnacl_lr_schedule {
  dnacl_lr_kind kind;
  double lr;           /* the constant, or the peak of the cosine */
  long decay_steps;    /* cosine: steps from 0 to the end of the decay, warmup included */
  double alpha;        /* cosine: final lr as a fraction of lr (optax's alpha) */
  long warmup_steps;   /* linear warmup from 0 to lr over this many steps; 0 for none */
} dnacl_lr_schedule;

/* A constant learning rate (warmup_steps may still be set afterwards; with a constant
 * schedule it ramps linearly to lr as for the cosine). */
dnacl_status dnacl_lr_constant(dnacl_lr_schedule *s, double lr);

/* Cosine decay. Without warmup this is optax.cosine_decay_schedule(lr, decay_steps, alpha):
 *   lr * (alpha + (1-alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))),
 * held at lr*alpha after decay_steps. With warmup_steps = w > 0 it is
 * optax.warmup_cosine_decay_schedule(0, lr, w, decay_steps, lr*alpha): lr * step / w for
 * step < w, then the cosine above over the remaining decay_steps - w steps (step - w in
 * place of step). Errors: lr < 0, decay_steps <= 0, alpha outside [0, 1], warmup outside
 * [0, decay_steps). */
dnacl_status dnacl_lr_cosine(dnacl_lr_schedule *s, double lr, long decay_steps, double alpha,
                             long warmup_steps);

/* The learning rate for 0-based step (negative steps count as 0). */
double dnacl_lr_at(const dnacl_lr_schedule *s, long step);

/* ---- monitored metrics ------------------------------------------------------------- */

/* Whether a larger (AUROC, AUPR, accuracy) or smaller (loss) value is better. */
typedef enum dnacl_metric_mode { DNACL_MODE_MIN = 0, DNACL_MODE_MAX = 1 } dnacl_metric_mode;

/* torch.optim.lr_scheduler.ReduceLROnPlateau with threshold_mode "rel", called once per
 * evaluation. A value counts as an improvement if it beats the best so far by the relative
 * threshold (mode max: v > best * (1 + threshold); mode min: v < best * (1 - threshold));
 * otherwise it is a bad evaluation. After more than `patience` bad evaluations in a row the
 * lr becomes max(lr * factor, min_lr) (skipped when that changes it by no more than eps),
 * the count restarts, and `cooldown` evaluations follow in which bad ones are not counted.
 * A NaN value is never an improvement, as in PyTorch. */
typedef struct dnacl_plateau {
  /* settings */
  dnacl_metric_mode mode;
  double factor;      /* in (0, 1) */
  int patience;       /* >= 0 */
  double threshold;   /* relative; PyTorch's default 1e-4 */
  int cooldown;       /* PyTorch's default 0 */
  double min_lr;      /* >= 0 */
  double eps;         /* PyTorch's default 1e-8 */
  /* state */
  double initial_lr;
  double lr;          /* the current learning rate */
  double best;        /* best value seen; -inf (max) or +inf (min) before the first */
  int num_bad;        /* bad evaluations since the last improvement or reduction */
  int cooldown_left;
  int n_reductions;
} dnacl_plateau;

/* Settings as PyTorch's defaults except the ones given: threshold 1e-4 (rel), cooldown 0,
 * eps 1e-8. */
dnacl_status dnacl_plateau_init(dnacl_plateau *p, double lr, dnacl_metric_mode mode,
                                double factor, int patience, double min_lr);
/* Feed one evaluation; returns 1 if the learning rate was reduced by it, else 0. */
int dnacl_plateau_update(dnacl_plateau *p, double value);
/* p->lr / p->initial_lr: the factor to multiply a step schedule by when plateau reduction
 * is combined with one (e.g. cosine decay); 1 when initial_lr is 0. */
double dnacl_plateau_scale(const dnacl_plateau *p);

/* Early stopping on a monitored metric, as keras.callbacks.EarlyStopping(patience,
 * min_delta, mode): a value improves on the best if it beats it by more than min_delta
 * (mode max: v - min_delta > best); the best value and the step it was seen at are kept;
 * stop is set once `patience` evaluations in a row have not improved (patience 0 stops at
 * the first that does not) and stays set. NaN never improves. */
typedef struct dnacl_early_stop {
  dnacl_metric_mode mode;
  int patience;       /* >= 0 */
  double min_delta;   /* >= 0 */
  double best;        /* -inf (max) or +inf (min) before the first improvement */
  long best_step;     /* step of the best value; -1 before the first improvement */
  int wait;           /* evaluations since the last improvement */
  int improved;       /* whether the last update improved the best (save a checkpoint) */
  int stop;           /* training should stop */
} dnacl_early_stop;

dnacl_status dnacl_early_stop_init(dnacl_early_stop *e, dnacl_metric_mode mode, int patience,
                                   double min_delta);
/* Feed the value seen at step; returns e->stop. */
int dnacl_early_stop_update(dnacl_early_stop *e, double value, long step);

#endif
