/* Learning-rate schedules, reduce-on-plateau and early stopping; see schedule.h. */
#include "train/schedule.h"

#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

dnacl_status dnacl_lr_constant(dnacl_lr_schedule *s, double lr) {
  if (!s) return dnacl_fail(DNACL_ERR_ARG, "lr schedule: no schedule to fill");
  if (!(lr >= 0) || isinf(lr))
    return dnacl_fail(DNACL_ERR_ARG, "lr schedule: learning rate %g must be finite and >= 0", lr);
  memset(s, 0, sizeof *s);
  s->kind = DNACL_LR_CONSTANT;
  s->lr = lr;
  s->alpha = 1;
  return DNACL_OK;
}

dnacl_status dnacl_lr_cosine(dnacl_lr_schedule *s, double lr, long decay_steps, double alpha,
                             long warmup_steps) {
  DNACL_TRY(dnacl_lr_constant(s, lr));
  /* optax raises on decay_steps <= 0; a zero-length decay has no cosine to follow. */
  if (decay_steps <= 0)
    return dnacl_fail(DNACL_ERR_ARG, "cosine decay: decay_steps %ld must be > 0", decay_steps);
  if (!(alpha >= 0 && alpha <= 1))
    return dnacl_fail(DNACL_ERR_ARG, "cosine decay: alpha %g must be in [0, 1]", alpha);
  if (warmup_steps < 0 || warmup_steps >= decay_steps)
    return dnacl_fail(DNACL_ERR_ARG,
                      "cosine decay: warmup_steps %ld must be in [0, decay_steps %ld)",
                      warmup_steps, decay_steps);
  s->kind = DNACL_LR_COSINE;
  s->decay_steps = decay_steps;
  s->alpha = alpha;
  s->warmup_steps = warmup_steps;
  return DNACL_OK;
}

double dnacl_lr_at(const dnacl_lr_schedule *s, long step) {
  if (step < 0) step = 0;
  if (s->warmup_steps > 0 && step < s->warmup_steps)
    return s->lr * (double)step / (double)s->warmup_steps;
  if (s->kind == DNACL_LR_CONSTANT) return s->lr;
  long t = step - s->warmup_steps, len = s->decay_steps - s->warmup_steps;
  if (t > len) t = len;
  double cosine = 0.5 * (1.0 + cos(M_PI * (double)t / (double)len));
  return s->lr * (s->alpha + (1.0 - s->alpha) * cosine);
}

dnacl_status dnacl_plateau_init(dnacl_plateau *p, double lr, dnacl_metric_mode mode,
                                double factor, int patience, double min_lr) {
  if (!p) return dnacl_fail(DNACL_ERR_ARG, "reduce on plateau: nothing to fill");
  if (!(lr >= 0) || isinf(lr))
    return dnacl_fail(DNACL_ERR_ARG, "reduce on plateau: learning rate %g must be finite and >= 0", lr);
  /* PyTorch rejects factor >= 1; a factor <= 0 would zero or flip the learning rate. */
  if (!(factor > 0 && factor < 1))
    return dnacl_fail(DNACL_ERR_ARG, "reduce on plateau: factor %g must be in (0, 1)", factor);
  if (patience < 0)
    return dnacl_fail(DNACL_ERR_ARG, "reduce on plateau: patience %d must be >= 0", patience);
  if (!(min_lr >= 0))
    return dnacl_fail(DNACL_ERR_ARG, "reduce on plateau: min_lr %g must be >= 0", min_lr);
  if (mode != DNACL_MODE_MIN && mode != DNACL_MODE_MAX)
    return dnacl_fail(DNACL_ERR_ARG, "reduce on plateau: unknown mode %d", (int)mode);
  memset(p, 0, sizeof *p);
  p->mode = mode;
  p->factor = factor;
  p->patience = patience;
  p->threshold = 1e-4;
  p->cooldown = 0;
  p->min_lr = min_lr;
  p->eps = 1e-8;
  p->initial_lr = p->lr = lr;
  p->best = mode == DNACL_MODE_MAX ? -INFINITY : INFINITY;
  return DNACL_OK;
}

/* PyTorch's "rel" comparison. With best = +-inf the product stays infinite, so the first
 * finite value always improves; NaN compares false and never does. */
static int plateau_better(const dnacl_plateau *p, double v) {
  if (p->mode == DNACL_MODE_MAX) return v > p->best * (1.0 + p->threshold);
  return v < p->best * (1.0 - p->threshold);
}

int dnacl_plateau_update(dnacl_plateau *p, double value) {
  if (plateau_better(p, value)) {
    p->best = value;
    p->num_bad = 0;
  } else {
    p->num_bad++;
  }
  if (p->cooldown_left > 0) {
    p->cooldown_left--;
    p->num_bad = 0;
  }
  if (p->num_bad > p->patience) {
    /* The count restarts even when min_lr stops the reduction, as in PyTorch. */
    p->cooldown_left = p->cooldown;
    p->num_bad = 0;
    double next = fmax(p->lr * p->factor, p->min_lr);
    if (p->lr - next > p->eps) {
      p->lr = next;
      p->n_reductions++;
      return 1;
    }
  }
  return 0;
}

double dnacl_plateau_scale(const dnacl_plateau *p) {
  return p->initial_lr > 0 ? p->lr / p->initial_lr : 1.0;
}

dnacl_status dnacl_early_stop_init(dnacl_early_stop *e, dnacl_metric_mode mode, int patience,
                                   double min_delta) {
  if (!e) return dnacl_fail(DNACL_ERR_ARG, "early stopping: nothing to fill");
  if (patience < 0)
    return dnacl_fail(DNACL_ERR_ARG, "early stopping: patience %d must be >= 0", patience);
  if (!(min_delta >= 0))
    return dnacl_fail(DNACL_ERR_ARG, "early stopping: min_delta %g must be >= 0", min_delta);
  if (mode != DNACL_MODE_MIN && mode != DNACL_MODE_MAX)
    return dnacl_fail(DNACL_ERR_ARG, "early stopping: unknown mode %d", (int)mode);
  memset(e, 0, sizeof *e);
  e->mode = mode;
  e->patience = patience;
  e->min_delta = min_delta;
  e->best = mode == DNACL_MODE_MAX ? -INFINITY : INFINITY;
  e->best_step = -1;
  return DNACL_OK;
}

int dnacl_early_stop_update(dnacl_early_stop *e, double value, long step) {
  int better = e->mode == DNACL_MODE_MAX ? value - e->min_delta > e->best
                                         : value + e->min_delta < e->best;
  e->improved = better;
  if (better) {
    e->best = value;
    e->best_step = step;
    e->wait = 0;
  } else if (++e->wait >= e->patience) {
    e->stop = 1;
  }
  return e->stop;
}
