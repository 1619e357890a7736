/* Schedules: worked examples of cosine decay (with and without warmup), reduce-on-plateau
 * and early stopping, each value derived by hand in the comments from the formulas that
 * optax, PyTorch and Keras document. */
#include "harness.h"
#include "train/schedule.h"

#define NEAR(got, want, ...) CHECK(fabs((got) - (want)) <= 1e-12 * (1 + fabs(want)), __VA_ARGS__)

static void test_constant(void) {
  dnacl_lr_schedule s;
  OK(dnacl_lr_constant(&s, 3e-4));
  NEAR(dnacl_lr_at(&s, 0), 3e-4, "constant at 0");
  NEAR(dnacl_lr_at(&s, 123456), 3e-4, "constant later");
  s.warmup_steps = 4; /* a warmup may be put in front of a constant rate */
  NEAR(dnacl_lr_at(&s, 1), 0.75e-4, "constant with warmup, step 1");
  NEAR(dnacl_lr_at(&s, 4), 3e-4, "constant after warmup");
  CHECK(dnacl_lr_constant(&s, -1) == DNACL_ERR_ARG, "negative lr refused");
  CHECK(dnacl_lr_constant(&s, NAN) == DNACL_ERR_ARG, "NaN lr refused");
}

static void test_cosine(void) {
  dnacl_lr_schedule s;
  /* optax.cosine_decay_schedule(0.01, 100, alpha=0) */
  OK(dnacl_lr_cosine(&s, 0.01, 100, 0.0, 0));
  NEAR(dnacl_lr_at(&s, 0), 0.01, "step 0 is the full rate");
  NEAR(dnacl_lr_at(&s, 25), 0.01 * 0.5 * (1 + sqrt(0.5)), "step 25: cos(pi/4)");
  NEAR(dnacl_lr_at(&s, 50), 0.005, "halfway is half");
  NEAR(dnacl_lr_at(&s, 100), 0.0, "end of decay");
  NEAR(dnacl_lr_at(&s, 1000), 0.0, "held after decay_steps");
  NEAR(dnacl_lr_at(&s, -5), 0.01, "negative step counts as 0");
  /* alpha 0.1: lr * (0.1 + 0.9 * cosine) */
  OK(dnacl_lr_cosine(&s, 0.01, 100, 0.1, 0));
  NEAR(dnacl_lr_at(&s, 50), 0.01 * (0.1 + 0.9 * 0.5), "alpha: halfway 0.0055");
  NEAR(dnacl_lr_at(&s, 100), 0.001, "alpha: floor 0.001");
  NEAR(dnacl_lr_at(&s, 500), 0.001, "alpha: held at floor");
  /* optax.warmup_cosine_decay_schedule(0, 1e-3, 10, 110, 0): ramp over 10 steps, then a
   * cosine over the other 100. */
  OK(dnacl_lr_cosine(&s, 1e-3, 110, 0.0, 10));
  NEAR(dnacl_lr_at(&s, 0), 0.0, "warmup starts at 0");
  NEAR(dnacl_lr_at(&s, 5), 5e-4, "warmup halfway");
  NEAR(dnacl_lr_at(&s, 10), 1e-3, "peak after warmup");
  NEAR(dnacl_lr_at(&s, 60), 5e-4, "cosine halfway after warmup");
  NEAR(dnacl_lr_at(&s, 110), 0.0, "end");
  /* Monotone decay after warmup. */
  int mono = 1;
  for (long k = 11; k <= 120; k++) mono &= dnacl_lr_at(&s, k) <= dnacl_lr_at(&s, k - 1);
  CHECK(mono, "cosine decays monotonically");

  CHECK(dnacl_lr_cosine(&s, 0.01, 0, 0, 0) == DNACL_ERR_ARG, "decay_steps 0 refused");
  CHECK(dnacl_lr_cosine(&s, 0.01, 10, 1.5, 0) == DNACL_ERR_ARG, "alpha > 1 refused");
  CHECK(dnacl_lr_cosine(&s, 0.01, 10, 0, 10) == DNACL_ERR_ARG &&
            strstr(dnacl_last_error(), "warmup"),
        "warmup as long as the decay refused: %s", dnacl_last_error());
}

static void test_plateau(void) {
  dnacl_plateau p;
  /* Mode max (validation AUROC), lr 1, factor 0.5, patience 2, min_lr 0.3. */
  OK(dnacl_plateau_init(&p, 1.0, DNACL_MODE_MAX, 0.5, 2, 0.3));
  struct { double v; int reduced; double lr; } steps[] = {
      {0.50, 0, 1.0},    /* first value improves on -inf */
      {0.60, 0, 1.0},    /* improves */
      {0.60005, 0, 1.0}, /* below 0.6 * (1 + 1e-4) = 0.60006: bad 1 */
      {0.60, 0, 1.0},    /* bad 2 */
      {0.59, 1, 0.5},    /* bad 3 > patience 2: halve; count restarts */
      {0.70, 0, 0.5},    /* improves */
      {0.70, 0, 0.5},    /* bad 1 */
      {NAN, 0, 0.5},     /* NaN is bad 2 */
      {0.70, 1, 0.3},    /* bad 3: 0.25 is below min_lr, so 0.3 */
      {0.1, 0, 0.3}, {0.1, 0, 0.3},
      {0.1, 0, 0.3},     /* bad 3 again, but already at min_lr: no change, not reported */
  };
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    int r = dnacl_plateau_update(&p, steps[i].v);
    CHECK(r == steps[i].reduced && p.lr == steps[i].lr, "plateau eval %zu (value %g): reduced %d lr %g, want %d %g",
          i, steps[i].v, r, p.lr, steps[i].reduced, steps[i].lr);
  }
  CHECK(p.n_reductions == 2 && p.best == 0.70, "two reductions, best 0.7 (%d, %g)", p.n_reductions, p.best);
  NEAR(dnacl_plateau_scale(&p), 0.3, "scale for combining with a schedule");

  /* Mode min (validation loss), patience 0: every non-improvement reduces. */
  OK(dnacl_plateau_init(&p, 0.1, DNACL_MODE_MIN, 0.1, 0, 0));
  CHECK(dnacl_plateau_update(&p, 1.0) == 0, "first loss improves");
  CHECK(dnacl_plateau_update(&p, 0.5) == 0, "lower loss improves");
  CHECK(dnacl_plateau_update(&p, 0.49999) == 1, "not below 0.5*(1-1e-4): reduce");
  NEAR(p.lr, 0.01, "lr 0.1 -> 0.01");
  /* Cooldown: after a reduction, bad evaluations are not counted for `cooldown` calls. */
  OK(dnacl_plateau_init(&p, 1.0, DNACL_MODE_MIN, 0.5, 0, 0));
  p.cooldown = 2;
  dnacl_plateau_update(&p, 1.0);
  CHECK(dnacl_plateau_update(&p, 2.0) == 1, "reduce");
  CHECK(dnacl_plateau_update(&p, 2.0) == 0 && dnacl_plateau_update(&p, 2.0) == 0, "cooldown");
  CHECK(dnacl_plateau_update(&p, 2.0) == 1 && p.lr == 0.25, "after cooldown");

  CHECK(dnacl_plateau_init(&p, 1.0, DNACL_MODE_MAX, 1.0, 2, 0) == DNACL_ERR_ARG, "factor 1 refused");
  CHECK(dnacl_plateau_init(&p, 1.0, DNACL_MODE_MAX, 0.5, -1, 0) == DNACL_ERR_ARG, "negative patience");
}

static void test_early_stop(void) {
  dnacl_early_stop e;
  OK(dnacl_early_stop_init(&e, DNACL_MODE_MAX, 3, 0.0));
  CHECK(e.best_step == -1 && isinf(e.best) && e.best < 0, "initial state");
  struct { long step; double v; int improved, stop; } ev[] = {
      {100, 0.70, 1, 0}, {200, 0.80, 1, 0}, {300, 0.79, 0, 0}, {400, 0.80, 0, 0}, /* equal is not better */
      {500, 0.81, 1, 0}, {600, 0.80, 0, 0}, {700, NAN, 0, 0}, {800, 0.805, 0, 1},  /* 3rd without improvement */
  };
  for (size_t i = 0; i < sizeof ev / sizeof *ev; i++) {
    int stop = dnacl_early_stop_update(&e, ev[i].v, ev[i].step);
    CHECK(stop == ev[i].stop && e.improved == ev[i].improved,
          "early stop at step %ld: stop %d improved %d, want %d %d", ev[i].step, stop, e.improved,
          ev[i].stop, ev[i].improved);
  }
  CHECK(e.best == 0.81 && e.best_step == 500, "best 0.81 at 500 (got %g at %ld)", e.best, e.best_step);

  /* Mode min with min_delta: a loss must fall by more than 0.01 to count. */
  OK(dnacl_early_stop_init(&e, DNACL_MODE_MIN, 1, 0.01));
  dnacl_early_stop_update(&e, 1.0, 1);
  CHECK(!dnacl_early_stop_update(&e, 0.98, 2) && e.improved, "0.98 < 1 - 0.01");
  CHECK(dnacl_early_stop_update(&e, 0.975, 3) && !e.improved, "0.975 is within min_delta: stop");
  CHECK(e.best == 0.98 && e.best_step == 2, "best kept");

  /* patience 0: the first evaluation that does not improve stops. */
  OK(dnacl_early_stop_init(&e, DNACL_MODE_MAX, 0, 0));
  CHECK(!dnacl_early_stop_update(&e, 0.5, 10), "first improves");
  CHECK(dnacl_early_stop_update(&e, 0.5, 20), "patience 0 stops at once");
  CHECK(dnacl_early_stop_init(&e, DNACL_MODE_MAX, 1, -0.1) == DNACL_ERR_ARG, "negative min_delta");
}

int main(void) {
  test_constant();
  test_cosine();
  test_plateau();
  test_early_stop();
  return harness_summary();
}
