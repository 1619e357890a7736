/* Test harness shared by the ctest suites: golden files, device-vs-reference comparison
 * with stated tolerances, finite differences, the checks every layer suite runs the same
 * way, and a closing summary line. Header-only: each test_*.c is its own executable. */
#ifndef DNACL_TEST_HARNESS_H
#define DNACL_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/safetensors.h"
#include "nn/layer.h"
#include "runtime/runtime.h"

static int h_checks, h_failed;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    h_checks++;                                            \
    if (!(cond)) {                                         \
      h_failed++;                                          \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
      printf(__VA_ARGS__);                                 \
      printf("\n");                                        \
    }                                                      \
  } while (0)

/* Abort the test program on a library error: the suite cannot go on meaningfully. */
#define OK(expr)                                                                        \
  do {                                                                                  \
    dnacl_status s_ = (expr);                                                           \
    if (s_ != DNACL_OK) {                                                               \
      printf("FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr, dnacl_status_name(s_), \
             dnacl_last_error());                                                       \
      exit(1);                                                                          \
    }                                                                                   \
  } while (0)

static inline int harness_summary(void) {
  printf("%d checks, %d failed\n", h_checks, h_failed);
  return h_failed ? 1 : 0;
}

static inline dnacl_ctx *harness_ctx(void) {
  dnacl_ctx *ctx;
  OK(dnacl_ctx_create(NULL, 0, &ctx));
  printf("device: %s\n", dnacl_ctx_device(ctx)->name);
  return ctx;
}

/* A second context on the same device whose kernels are built with the other device
 * class's macros (DNACL_GPU on a CPU, DNACL_CPU on a GPU) and launched with that class's
 * work split, so both variants of every kernel are checked on whatever device runs the
 * tests. Only the calling test's kernels run on it. */
static inline dnacl_ctx *harness_other_class_ctx(void) {
  dnacl_ctx *ctx = harness_ctx();
  ctx->is_cpu = !ctx->is_cpu;
  printf("-- again with the %s work split --\n", ctx->is_cpu ? "CPU" : "GPU");
  return ctx;
}

/* tests/golden/<name>.safetensors; the test runs from the source root (see CMakeLists). */
static inline dnacl_safetensors golden_load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "tests/golden/%s.safetensors", name);
  dnacl_safetensors g;
  OK(dnacl_st_load(path, &g));
  return g;
}

static inline const dnacl_st_tensor *golden_get(const dnacl_safetensors *g, const char *name) {
  const dnacl_st_tensor *t = dnacl_st_get(g, name);
  if (!t) {
    printf("FAIL golden file lacks tensor '%s'\n", name);
    exit(1);
  }
  return t;
}

static inline int golden_int(const dnacl_safetensors *g, const char *key, int dflt) {
  const char *v = dnacl_st_meta(g, key);
  return v ? atoi(v) : dflt;
}
static inline double golden_num(const dnacl_safetensors *g, const char *key, double dflt) {
  const char *v = dnacl_st_meta(g, key);
  return v ? atof(v) : dflt;
}
static inline const char *golden_str(const dnacl_safetensors *g, const char *key, const char *dflt) {
  const char *v = dnacl_st_meta(g, key);
  return v ? v : dflt;
}

/* Allocate a device tensor shaped like the golden tensor and upload it. */
static inline void golden_upload(dnacl_ctx *ctx, const dnacl_safetensors *g, const char *name,
                                 dnacl_tensor *t) {
  const dnacl_st_tensor *s = golden_get(g, name);
  int shape[DNACL_MAX_DIMS];
  int nd = s->ndim ? s->ndim : 1;
  for (int i = 0; i < nd; i++) shape[i] = s->ndim ? (int)s->shape[i] : 1;
  OK(dnacl_tensor_alloc(ctx, t, nd, shape));
  OK(dnacl_tensor_write(ctx, t, s->data));
}

/* Compare host values against a reference: passes if every element satisfies
 * |got - want| <= atol + rtol * |want|. Prints the worst absolute and relative error so
 * the note can quote it. Returns the worst absolute error. */
static inline double compare_host(const char *label, const float *got, const float *want, size_t n,
                                  double atol, double rtol) {
  double worst_abs = 0, worst_rel = 0;
  size_t bad = 0, first_bad = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)want[i]);
    if (!(d <= atol + rtol * fabs((double)want[i]))) {
      if (!bad) first_bad = i;
      bad++;
    }
    if (!(d <= worst_abs)) worst_abs = d;
    double r = d / (fabs((double)want[i]) + 1e-30);
    if (fabs((double)want[i]) > 1e-3 && r > worst_rel) worst_rel = r;
  }
  printf("  %-40s max abs err %.3g  max rel err %.3g  (atol %.0e rtol %.0e)%s\n", label, worst_abs,
         worst_rel, atol, rtol, bad ? "  FAILED" : "");
  CHECK(bad == 0, "%s: %zu of %zu elements out of tolerance; first at %zu: got %g want %g", label,
        bad, n, first_bad, (double)got[first_bad], (double)want[first_bad]);
  return worst_abs;
}

/* Read a device tensor back and compare it with a golden tensor of the same size. */
static inline double compare_golden(dnacl_ctx *ctx, const char *label, const dnacl_tensor *t,
                                    const dnacl_safetensors *g, const char *name, double atol,
                                    double rtol) {
  const dnacl_st_tensor *want = golden_get(g, name);
  if (want->n != t->n) {
    CHECK(0, "%s: device tensor has %zu elements, golden '%s' has %zu", label, t->n, name, want->n);
    return INFINITY;
  }
  float *got = malloc(t->n * sizeof *got);
  OK(dnacl_tensor_read(ctx, t, got));
  double w = compare_host(label, got, want->data, t->n, atol, rtol);
  free(got);
  return w;
}

static inline float *read_host(dnacl_ctx *ctx, const dnacl_tensor *t) {
  float *h = malloc(t->n * sizeof *h);
  OK(dnacl_tensor_read(ctx, t, h));
  return h;
}

/* Bit-for-bit equality of two float arrays (determinism checks: -0 and NaN payloads count). */
static inline int equal_bits(const float *a, const float *b, size_t n) { return !memcmp(a, b, n * sizeof *a); }

/* Four (B, C, L) tensors for a layer that keeps its input's shape: x and dy uploaded from
 * the host arrays xh and dyh, y and dx for the layer to write. */
static inline void new_bcl_tensors(dnacl_ctx *ctx, int B, int C, int L, const float *xh, const float *dyh,
                                   dnacl_tensor *x, dnacl_tensor *y, dnacl_tensor *dy, dnacl_tensor *dx) {
  OK(dnacl_tensor_new(ctx, x, B, C, L));
  OK(dnacl_tensor_new(ctx, y, B, C, L));
  OK(dnacl_tensor_new(ctx, dy, B, C, L));
  OK(dnacl_tensor_new(ctx, dx, B, C, L));
  OK(dnacl_tensor_write(ctx, x, xh));
  OK(dnacl_tensor_write(ctx, dy, dyh));
}

/* The tensors of a golden case for a layer that keeps its input's shape: x and dy uploaded
 * from the golden, y and dx allocated like x; infer must agree that the shape is kept. */
static inline void golden_same_shape_tensors(dnacl_ctx *ctx, const dnacl_safetensors *g, dnacl_layer *l,
                                             const char *label, dnacl_tensor *x, dnacl_tensor *dy,
                                             dnacl_tensor *y, dnacl_tensor *dx) {
  golden_upload(ctx, g, "x", x);
  golden_upload(ctx, g, "dy", dy);
  OK(dnacl_tensor_alloc(ctx, y, x->ndim, x->shape));
  OK(dnacl_tensor_alloc(ctx, dx, x->ndim, x->shape));
  dnacl_shape in = dnacl_tensor_shape(x), out;
  OK(l->ops->infer(l, &in, &out));
  CHECK(dnacl_shape_equal(&in, &out), "%s: output shape is the input's", label);
}

/* Free the four tensors that new_bcl_tensors or golden_same_shape_tensors made. */
static inline void free_layer_tensors(dnacl_tensor *x, dnacl_tensor *y, dnacl_tensor *dy, dnacl_tensor *dx) {
  dnacl_tensor_free(x);
  dnacl_tensor_free(y);
  dnacl_tensor_free(dy);
  dnacl_tensor_free(dx);
}

/* forward from x (B, C, L) into y (B, C, Ly), the wrong size for y: a shape error that
 * names the layer, found before any kernel runs. */
static inline void check_forward_refuses_size(dnacl_ctx *ctx, dnacl_layer *l, int B, int C, int L, int Ly) {
  dnacl_tensor x, y;
  OK(dnacl_tensor_new(ctx, &x, B, C, L));
  OK(dnacl_tensor_new(ctx, &y, B, C, Ly));
  dnacl_status s = l->ops->forward(l, ctx, &x, &y, 1);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), l->name),
        "%s: forward from (%d, %d, %d) into (%d, %d, %d) must be a shape error naming the layer: %s", l->name, B, C,
        L, B, C, Ly, dnacl_last_error());
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
}

/* Write each named param's value from the golden tensor of the same name. */
static inline void golden_load_params(dnacl_ctx *ctx, dnacl_layer *l, const dnacl_safetensors *g,
                                      const char *const *names, int n) {
  for (int i = 0; i < n; i++) {
    dnacl_param *p = dnacl_layer_param(l, names[i]);
    const dnacl_st_tensor *t = golden_get(g, names[i]);
    CHECK(p && p->value.n == t->n, "param %s missing or of the wrong size", names[i]);
    if (p && p->value.n == t->n) OK(dnacl_tensor_write(ctx, &p->value, t->data));
  }
}

/* Each named param's gradient against the golden's "d<name>", to atol + rtol |want|; the
 * one named zero_by_math (NULL: none) is zero by mathematics, so the reference holds
 * rounding noise and ours float32 cancellation noise: an absolute bound zero_atol only. */
static inline void compare_golden_grads(dnacl_ctx *ctx, dnacl_layer *l, const dnacl_safetensors *g,
                                        const char *const *names, int n, double atol, double rtol,
                                        const char *zero_by_math, double zero_atol) {
  for (int i = 0; i < n; i++) {
    char gname[80], label[112];
    snprintf(gname, sizeof gname, "d%s", names[i]);
    dnacl_param *p = dnacl_layer_param(l, names[i]);
    if (!p) {
      CHECK(0, "no param %s", names[i]);
      continue;
    }
    if (zero_by_math && !strcmp(names[i], zero_by_math)) {
      snprintf(label, sizeof label, "%s (zero by mathematics)", gname);
      compare_golden(ctx, label, &p->grad, g, gname, zero_atol, 0);
    } else {
      compare_golden(ctx, gname, &p->grad, g, gname, atol, rtol);
    }
  }
}

/* Finite-difference check of an analytic gradient. loss(user) must evaluate the scalar
 * L(x) on the device from the host array x (which this function perturbs in place,
 * restoring it afterwards). Checks n_probe elements spread over x with central differences
 * of step eps, in float32, so the tolerance must allow for O(eps^2) truncation and
 * rounding of about 1e-7 * |L| / eps. */
typedef double (*fd_loss_fn)(void *user);
static inline void fd_check(const char *label, float *x, size_t n, const float *grad, fd_loss_fn loss,
                            void *user, int n_probe, float eps, double atol, double rtol) {
  int bad = 0;
  double worst = 0;
  for (int k = 0; k < n_probe; k++) {
    size_t i = (size_t)((k * 2654435761u) % (unsigned)n);
    float keep = x[i];
    x[i] = keep + eps;
    double lp = loss(user);
    x[i] = keep - eps;
    double lm = loss(user);
    x[i] = keep;
    double num = (lp - lm) / (2.0 * eps);
    double d = fabs(num - grad[i]);
    if (d > worst) worst = d;
    if (!(d <= atol + rtol * fabs(num))) {
      if (!bad) printf("  %s: element %zu analytic %g numeric %g\n", label, i, (double)grad[i], num);
      bad++;
    }
  }
  printf("  %-40s finite differences: %d probes, max abs diff %.3g%s\n", label, n_probe, worst,
         bad ? "  FAILED" : "");
  CHECK(bad == 0, "%s: %d of %d finite-difference probes out of tolerance", label, bad, n_probe);
}

/* A loss closure for fd_check on a layer: L = sum(y * dy) of forward(x) (in train mode when
 * train is set), as a function of the host array `host`, uploaded into `target` (x itself
 * or one of the layer's parameters) before each forward. In train mode batch statistics
 * are recomputed at every evaluation, so the differences see their gradient too. */
typedef struct fd_forward {
  dnacl_ctx *ctx;
  dnacl_layer *l;
  dnacl_tensor *x, *y, *target;
  float *host;
  const float *dy;
  int train;
} fd_forward;

static inline double fd_forward_loss(void *user) {
  fd_forward *u = user;
  OK(dnacl_tensor_write(u->ctx, u->target, u->host));
  OK(u->l->ops->forward(u->l, u->ctx, u->x, u->y, u->train));
  float *y = read_host(u->ctx, u->y);
  double s = 0;
  for (size_t i = 0; i < u->y->n; i++) s += (double)y[i] * u->dy[i];
  free(y);
  return s;
}

/* fd_check of `grad` against u's loss, perturbing u->host; then the target is uploaded
 * from u->host again, so whatever runs next starts from the unperturbed point rather than
 * from fd_check's last perturbation. */
static inline void fd_check_forward(const char *label, fd_forward *u, const float *grad, int n_probe, float eps,
                                    double atol, double rtol) {
  fd_check(label, u->host, u->target->n, grad, fd_forward_loss, u, n_probe, eps, atol, rtol);
  OK(dnacl_tensor_write(u->ctx, u->target, u->host));
}

/* The input gradient of a layer by finite differences (u->target is u->x): uploads u->dy
 * into dy, runs forward at u->host and backward into dx (no param grads), and checks dx
 * with fd_check_forward. Returns the analytic gradient (malloc'ed). */
static inline float *fd_check_input_grad(const char *label, fd_forward *u, dnacl_tensor *dy, dnacl_tensor *dx,
                                         int n_probe, float eps, double atol, double rtol) {
  OK(dnacl_tensor_write(u->ctx, dy, u->dy));
  fd_forward_loss(u);
  OK(u->l->ops->backward(u->l, u->ctx, u->x, u->y, dy, dx, 0));
  float *grad = read_host(u->ctx, dx);
  fd_check_forward(label, u, grad, n_probe, eps, atol, rtol);
  return grad;
}

/* Calls each(user, file) for every case of `family` in tests/golden/index.txt (lines
 * "family case file.safetensors"; file passed without its extension). Returns the number
 * of cases; an unreadable index is a failed check and 0. */
static inline int golden_files(const char *family, void (*each)(void *user, const char *file), void *user) {
  FILE *f = fopen("tests/golden/index.txt", "r");
  CHECK(f != NULL, "tests/golden/index.txt is readable");
  if (!f) return 0;
  char line[512], fam[64], cas[256], file[256];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || sscanf(line, "%63s %255s %255s", fam, cas, file) != 3) continue;
    if (strcmp(fam, family)) continue;
    char *dot = strstr(file, ".safetensors");
    if (dot) *dot = 0;
    each(user, file);
    n++;
  }
  fclose(f);
  return n;
}

/* The worst absolute errors of a layer with weights and bias over its golden cases. */
typedef struct golden_worst {
  double y, dx, dw, db;
} golden_worst;
typedef struct golden_run {
  dnacl_ctx *ctx;
  void (*test)(dnacl_ctx *ctx, const char *file, golden_worst *w);
  golden_worst w;
} golden_run;
static inline void golden_run_one(void *user, const char *file) {
  golden_run *g = user;
  g->test(g->ctx, file, &g->w);
}
/* test(ctx, file, &worst) on every golden case of `family`; prints the worst errors and
 * checks that there are at least min_cases. Returns the number of cases. */
static inline int golden_cases_of(dnacl_ctx *ctx, const char *family,
                                  void (*test)(dnacl_ctx *ctx, const char *file, golden_worst *w),
                                  int min_cases) {
  golden_run g = {ctx, test, {0, 0, 0, 0}};
  int n = golden_files(family, golden_run_one, &g);
  printf("  worst abs error over %d golden cases: y %.3g  dx %.3g  dw %.3g  db %.3g\n", n, g.w.y, g.w.dx,
         g.w.dw, g.w.db);
  CHECK(n >= min_cases, "found %d %s golden cases", n, family);
  return n;
}

/* Forward then backward (train mode, param grads) with y, dx and the grads of w and b
 * NaN-filled first, so an element the kernels forget to write fails the comparison. */
static inline void forward_backward_nan_filled(dnacl_ctx *ctx, dnacl_layer *l, const dnacl_tensor *x,
                                               dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx) {
  dnacl_param *pw = dnacl_layer_param(l, "w"), *pb = dnacl_layer_param(l, "b");
  OK(dnacl_tensor_fill(ctx, y, NAN));
  OK(dnacl_tensor_fill(ctx, dx, NAN));
  OK(dnacl_tensor_fill(ctx, &pw->grad, NAN));
  if (pb) OK(dnacl_tensor_fill(ctx, &pb->grad, NAN));
  OK(l->ops->forward(l, ctx, x, y, 1));
  OK(l->ops->backward(l, ctx, x, y, dy, dx, 1));
}

/* dx (already on the device) and the grad of w of a layer linear in x and in w (conv1d,
 * dense), against finite differences of L = sum(y * dy) (fd_forward). Linearity means
 * central differences have no truncation error and the step can be large (0.25): what
 * remains is the float32 rounding of the outputs the probed element touches (~|y| 2^-24
 * each, times |dy| <= 4) over 2 eps, well under 1e-3, and of x +- eps itself; outputs it
 * does not touch are bitwise identical in both runs (the kernels are deterministic) and
 * cancel. Tolerance atol 2e-3, rtol 1e-3. xh, wh: host copies of x and w as they are on
 * the device; dyh: dy on the host. */
static inline void fd_check_linear_layer(const char *name, dnacl_ctx *ctx, dnacl_layer *l, dnacl_tensor *x,
                                         dnacl_tensor *y, const dnacl_tensor *dx, float *xh, float *wh,
                                         const float *dyh) {
  char label[320];
  dnacl_param *pw = dnacl_layer_param(l, "w");
  float *gx = read_host(ctx, dx), *gw = read_host(ctx, &pw->grad);
  fd_forward u = {ctx, l, x, y, x, xh, dyh, 1};
  snprintf(label, sizeof label, "%s dx", name);
  fd_check_forward(label, &u, gx, 24, 0.25f, 2e-3, 1e-3);
  u.target = &pw->value;
  u.host = wh;
  snprintf(label, sizeof label, "%s dw", name);
  fd_check_forward(label, &u, gw, 24, 0.25f, 2e-3, 1e-3);
  free(gx);
  free(gw);
}

/* The gradients of the named params by finite differences of u's loss (labelled
 * "d<name>"), one param at a time; dy holds u->dy on the device. Each gradient is taken
 * from a fresh forward and backward (into dx) at the unperturbed point, and each value is
 * restored afterwards. */
static inline void fd_check_params(const fd_forward *u, dnacl_tensor *dy, dnacl_tensor *dx,
                                   const char *const *names, int n, int n_probe, float eps, double atol,
                                   double rtol) {
  for (int i = 0; i < n; i++) {
    dnacl_param *p = dnacl_layer_param(u->l, names[i]);
    if (!p) {
      CHECK(0, "no param %s", names[i]);
      continue;
    }
    fd_forward up = *u;
    up.target = &p->value;
    up.host = read_host(u->ctx, &p->value);
    fd_forward_loss(&up);
    OK(u->l->ops->backward(u->l, u->ctx, u->x, u->y, dy, dx, 1));
    float *grad = read_host(u->ctx, &p->grad);
    char label[80];
    snprintf(label, sizeof label, "d%s", names[i]);
    fd_check_forward(label, &up, grad, n_probe, eps, atol, rtol);
    free(grad);
    free(up.host);
  }
}

/* ---- timing: printed by the suites, never asserted ---------------------------------- */

static inline double harness_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* Forward+backward and forward alone of a shape-keeping layer on (B, C, L) inputs, in ms:
 * the best of 5 rounds of 5 runs each, since the machine may be shared and the minimum is
 * the estimate least disturbed by other work. Params get fixed values around 0 (gammas
 * around 1), after a warm-up run that builds the kernels and buffers. */
static inline void time_layer(dnacl_ctx *ctx, dnacl_layer *l, int B, int C, int L, double *fb_ms,
                              double *f_ms) {
  for (int i = 0; i < l->n_params; i++) {
    dnacl_param *p = &l->params[i];
    float *v = malloc(p->value.n * sizeof *v);
    for (size_t j = 0; j < p->value.n; j++)
      v[j] = (float)(((j + 7 * i) * 40503u) % 1000) / 4000.0f - 0.125f + (strstr(p->name, "gamma") ? 1.0f : 0.0f);
    OK(dnacl_tensor_write(ctx, &p->value, v));
    free(v);
  }
  size_t n = (size_t)B * C * L;
  float *h = malloc(n * sizeof *h);
  for (size_t i = 0; i < n; i++) h[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  dnacl_tensor x, y, dy, dx;
  new_bcl_tensors(ctx, B, C, L, h, h, &x, &y, &dy, &dx);
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  OK(dnacl_finish(ctx));
  *fb_ms = *f_ms = INFINITY;
  for (int round = 0; round < 5; round++) {
    const int reps = 5;
    double t0 = harness_now_ms();
    for (int r = 0; r < reps; r++) {
      OK(l->ops->forward(l, ctx, &x, &y, 1));
      OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
    }
    OK(dnacl_finish(ctx));
    double t1 = harness_now_ms();
    for (int r = 0; r < reps; r++) OK(l->ops->forward(l, ctx, &x, &y, 1));
    OK(dnacl_finish(ctx));
    double t2 = harness_now_ms();
    if ((t1 - t0) / reps < *fb_ms) *fb_ms = (t1 - t0) / reps;
    if ((t2 - t1) / reps < *f_ms) *f_ms = (t2 - t1) / reps;
  }
  free(h);
  free_layer_tensors(&x, &y, &dy, &dx);
}

#endif
