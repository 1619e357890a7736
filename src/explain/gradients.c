/* Gradient explainers: saliency, grad x input, integrated gradients, and the gradient
 * correction. They are the model's own backward pass to the input (DESIGN.md, "the core
 * contract"): dnacl_model_backward with input_grad = 1 and param_grads = 0, from an upstream
 * gradient that is 1 at the target output (sigmoid' of the logit when the probability is
 * explained) and 0 elsewhere. Every layer with a backward pass is supported, transformer
 * blocks included.
 *
 * Host work is only what is linear in the input size (building interpolated rows, the
 * weighted sum over steps, products with the input); every pass through the network runs
 * in the layers' kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/explain.h"

#define DEFAULT_BATCH 64

/* One batch of rows through the model: host staging and the device input and upstream
 * gradient, sized once so the model's buffers are planned once per call. */
typedef struct grad_pass {
  int B, T, row;     /* rows per pass, outputs per row, floats per row (4 * L) */
  dnacl_tensor x, dout;
  float *hx, *hdout, *logits, *grad;
} grad_pass;

static void pass_free(grad_pass *p) {
  dnacl_tensor_free(&p->x);
  dnacl_tensor_free(&p->dout);
  free(p->hx);
  free(p->hdout);
  free(p->logits);
  free(p->grad);
  memset(p, 0, sizeof *p);
}

static dnacl_status check_args(const char *what, const dnacl_model *m, int n, const dnacl_explain_opts *o) {
  if (!o) return dnacl_fail(DNACL_ERR_ARG, "%s: options are required", what);
  if (n < 0) return dnacl_fail(DNACL_ERR_ARG, "%s: negative sequence count %d", what, n);
  if (m->in_channels != 4)
    return dnacl_fail(DNACL_ERR_ARG, "%s: model %s takes %d input channels; explainers need one-hot DNA (4)", what,
                      m->spec.name, m->in_channels);
  if (o->target < 0 || o->target >= m->spec.tasks)
    return dnacl_fail(DNACL_ERR_ARG, "%s: target %d is out of range; model %s has %d output(s) (0..%d)", what, o->target,
                      m->spec.name, m->spec.tasks, m->spec.tasks - 1);
  if (o->batch < 0) return dnacl_fail(DNACL_ERR_ARG, "%s: negative batch %d", what, o->batch);
  return DNACL_OK;
}

static int rows_per_pass(const dnacl_explain_opts *o, size_t total) {
  size_t b = o->batch > 0 ? (size_t)o->batch : DEFAULT_BATCH;
  if (total < b) b = total;
  return b ? (int)b : 1;
}

static dnacl_status pass_init(dnacl_ctx *ctx, const dnacl_model *m, int B, grad_pass *p) {
  memset(p, 0, sizeof *p);
  p->B = B;
  p->T = m->spec.tasks;
  p->row = 4 * m->length;
  p->hx = calloc((size_t)B * p->row, sizeof *p->hx);
  p->grad = malloc((size_t)B * p->row * sizeof *p->grad);
  p->hdout = calloc((size_t)B * p->T, sizeof *p->hdout);
  p->logits = malloc((size_t)B * p->T * sizeof *p->logits);
  if (!p->hx || !p->grad || !p->hdout || !p->logits) {
    pass_free(p);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory for explainer buffers (%d rows of length %d)", B, m->length);
  }
  dnacl_status s = dnacl_tensor_new(ctx, &p->x, B, 4, m->length);
  if (s == DNACL_OK) s = dnacl_tensor_new(ctx, &p->dout, B, p->T, 0);
  if (s != DNACL_OK) pass_free(p);
  return s;
}

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* The explained value of a logit. */
static double explained(const dnacl_explain_opts *o, double z) {
  return o->output == DNACL_EXPLAIN_PROB ? sigmoid(z) : z;
}

/* Rows 0..used of p->hx (the rest are zero padding) forward in eval mode; logits of the
 * target to p->logits; with backward, the input gradient of the explained output to
 * p->grad (rows past `used` get a zero upstream gradient). */
static dnacl_status pass_run(dnacl_ctx *ctx, dnacl_model *m, grad_pass *p, int used, const dnacl_explain_opts *o,
                             int backward) {
  if (used < p->B) memset(p->hx + (size_t)used * p->row, 0, (size_t)(p->B - used) * p->row * sizeof *p->hx);
  DNACL_TRY(dnacl_tensor_write(ctx, &p->x, p->hx));
  DNACL_TRY(dnacl_model_forward(ctx, m, &p->x, 0));
  DNACL_TRY(dnacl_tensor_read(ctx, dnacl_model_output(m), p->logits));
  if (!backward) return DNACL_OK;
  memset(p->hdout, 0, (size_t)p->B * p->T * sizeof *p->hdout);
  for (int b = 0; b < used; b++) {
    double z = p->logits[(size_t)b * p->T + o->target];
    double s = sigmoid(z);
    p->hdout[(size_t)b * p->T + o->target] = o->output == DNACL_EXPLAIN_PROB ? (float)(s * (1.0 - s)) : 1.0f;
  }
  DNACL_TRY(dnacl_tensor_write(ctx, &p->dout, p->hdout));
  DNACL_TRY(dnacl_model_backward(ctx, m, &p->dout, 1, 0));
  return dnacl_tensor_read(ctx, &m->grads[0], p->grad);
}

void dnacl_gradient_correct(float *g, int n, int L) {
  for (size_t i = 0; i < (size_t)n; i++) {
    float *r = g + i * 4 * (size_t)L;
    for (int p = 0; p < L; p++) {
      float mean = 0.25f * (r[p] + r[L + p] + r[2 * L + p] + r[3 * L + p]);
      for (int c = 0; c < 4; c++) r[c * L + p] -= mean;
    }
  }
}

dnacl_status dnacl_saliency(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, const dnacl_explain_opts *o,
                            int times_input, float *out) {
  const char *what = times_input ? "gradxinput" : "saliency";
  DNACL_TRY(check_args(what, m, n, o));
  if (n == 0) return DNACL_OK;
  grad_pass p;
  DNACL_TRY(pass_init(ctx, m, rows_per_pass(o, (size_t)n), &p));
  dnacl_status s = DNACL_OK;
  const size_t row = (size_t)p.row;
  for (int i0 = 0; s == DNACL_OK && i0 < n; i0 += p.B) {
    int used = n - i0 < p.B ? n - i0 : p.B;
    memcpy(p.hx, x + (size_t)i0 * row, (size_t)used * row * sizeof *x);
    s = pass_run(ctx, m, &p, used, o, 1);
    if (s != DNACL_OK) break;
    if (o->correct) dnacl_gradient_correct(p.grad, used, m->length);
    float *dst = out + (size_t)i0 * row;
    const float *xi = x + (size_t)i0 * row;
    for (size_t k = 0; k < (size_t)used * row; k++) dst[k] = times_input ? p.grad[k] * xi[k] : p.grad[k];
  }
  pass_free(&p);
  return s;
}

/* Gauss-Legendre nodes on [-1, 1] by Newton's method on P_n from the Chebyshev-like
 * initial guesses (Numerical Recipes' gauleg), mapped to [0, 1]. Converges to double
 * precision in a few iterations for any n used here. */
static void gauss_legendre(int n, double *alpha, double *weight) {
  for (int i = 0; i < (n + 1) / 2; i++) {
    double z = cos(3.14159265358979323846 * (i + 0.75) / (n + 0.5)), pp = 0;
    for (int it = 0; it < 100; it++) {
      double p1 = 1, p2 = 0;
      for (int j = 1; j <= n; j++) {
        double p3 = p2;
        p2 = p1;
        p1 = ((2.0 * j - 1.0) * z * p2 - (j - 1.0) * p3) / j;
      }
      pp = n * (z * p1 - p2) / (z * z - 1.0);
      double z1 = z;
      z = z1 - p1 / pp;
      if (fabs(z - z1) < 1e-15) break;
    }
    /* On [-1, 1]: nodes -z and z with weight 2 / ((1 - z^2) P'^2); on [0, 1] halve it. */
    double w = 1.0 / ((1.0 - z * z) * pp * pp);
    alpha[i] = 0.5 * (1.0 - z);
    alpha[n - 1 - i] = 0.5 * (1.0 + z);
    weight[i] = weight[n - 1 - i] = w;
  }
}

dnacl_status dnacl_quadrature_points(dnacl_quadrature q, int steps, double *alpha, double *weight) {
  if (steps < 1 || steps > 100000)
    return dnacl_fail(DNACL_ERR_ARG, "integrated gradients: steps must be between 1 and 100000, got %d", steps);
  if (q == DNACL_QUAD_RIEMANN) {
    for (int k = 0; k < steps; k++) {
      alpha[k] = (k + 0.5) / steps;
      weight[k] = 1.0 / steps;
    }
  } else if (q == DNACL_QUAD_GAUSS) {
    if (steps > 1000)
      return dnacl_fail(DNACL_ERR_ARG, "integrated gradients: Gauss-Legendre with %d nodes; more than 1000 gains nothing in float32",
                        steps);
    gauss_legendre(steps, alpha, weight);
  } else {
    return dnacl_fail(DNACL_ERR_ARG, "integrated gradients: unknown quadrature %d", (int)q);
  }
  return DNACL_OK;
}

dnacl_status dnacl_integrated_gradients(dnacl_ctx *ctx, dnacl_model *m, const float *x, const float *baselines, int n,
                                        const dnacl_explain_opts *o, int steps, dnacl_quadrature q, float *out,
                                        float *delta, double *worst) {
  DNACL_TRY(check_args("ig", m, n, o));
  if (worst) *worst = 0;
  double *alpha = malloc((size_t)(steps > 0 ? steps : 1) * sizeof *alpha);
  double *weight = malloc((size_t)(steps > 0 ? steps : 1) * sizeof *weight);
  if (!alpha || !weight) {
    free(alpha);
    free(weight);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  }
  dnacl_status s = dnacl_quadrature_points(q, steps, alpha, weight);
  if (s != DNACL_OK || n == 0) {
    free(alpha);
    free(weight);
    return s;
  }
  const size_t row = (size_t)4 * m->length, total = (size_t)n * steps;
  grad_pass p;
  s = pass_init(ctx, m, rows_per_pass(o, total), &p);
  /* The path-averaged gradient is accumulated in double: 50+ terms of mixed sign. */
  double *avg = s == DNACL_OK ? calloc((size_t)n * row, sizeof *avg) : NULL;
  double *fvals = s == DNACL_OK ? malloc((size_t)2 * n * sizeof *fvals) : NULL;
  if (s == DNACL_OK && (!avg || !fvals)) s = dnacl_fail(DNACL_ERR_NOMEM, "out of memory for integrated gradients");
  /* Rows in order (sequence, step): consecutive passes cover the steps of one sequence or
   * several, whatever the batch; each row's gradient is added into its sequence's sum. */
  for (size_t r0 = 0; s == DNACL_OK && r0 < total; r0 += (size_t)p.B) {
    int used = total - r0 < (size_t)p.B ? (int)(total - r0) : p.B;
    for (int b = 0; b < used; b++) {
      size_t i = (r0 + b) / steps, k = (r0 + b) % steps;
      const float *xi = x + i * row, *bi = baselines ? baselines + i * row : NULL;
      float *dst = p.hx + (size_t)b * row;
      double a = alpha[k];
      for (size_t e = 0; e < row; e++) {
        double base = bi ? bi[e] : 0.0;
        dst[e] = (float)(base + a * (xi[e] - base));
      }
    }
    s = pass_run(ctx, m, &p, used, o, 1);
    for (int b = 0; s == DNACL_OK && b < used; b++) {
      size_t i = (r0 + b) / steps, k = (r0 + b) % steps;
      double w = weight[k], *acc = avg + i * row;
      const float *g = p.grad + (size_t)b * row;
      for (size_t e = 0; e < row; e++) acc[e] += w * g[e];
    }
  }
  /* f(x) and f(baseline) for the completeness check: forward-only rows x_0, b_0, x_1, ... */
  for (size_t r0 = 0; s == DNACL_OK && r0 < (size_t)2 * n; r0 += (size_t)p.B) {
    int used = (size_t)2 * n - r0 < (size_t)p.B ? (int)((size_t)2 * n - r0) : p.B;
    for (int b = 0; b < used; b++) {
      size_t i = (r0 + b) / 2;
      float *dst = p.hx + (size_t)b * row;
      if ((r0 + b) % 2 == 0) memcpy(dst, x + i * row, row * sizeof *dst);
      else if (baselines) memcpy(dst, baselines + i * row, row * sizeof *dst);
      else memset(dst, 0, row * sizeof *dst);
    }
    s = pass_run(ctx, m, &p, used, o, 0);
    for (int b = 0; s == DNACL_OK && b < used; b++) fvals[r0 + b] = explained(o, p.logits[(size_t)b * p.T + o->target]);
  }
  for (size_t i = 0; s == DNACL_OK && i < (size_t)n; i++) {
    double *acc = avg + i * row;
    const int L = m->length;
    if (o->correct)
      for (int pos = 0; pos < L; pos++) {
        double mean = 0.25 * (acc[pos] + acc[L + pos] + acc[2 * L + pos] + acc[3 * L + pos]);
        for (int c = 0; c < 4; c++) acc[c * L + pos] -= mean;
      }
    double sum = 0;
    for (size_t e = 0; e < row; e++) {
      double d = (double)x[i * row + e] - (baselines ? baselines[i * row + e] : 0.0);
      out[i * row + e] = (float)(d * acc[e]);
      sum += d * acc[e];
    }
    double err = sum - (fvals[2 * i] - fvals[2 * i + 1]);
    if (delta) delta[i] = (float)err;
    if (worst && fabs(err) > *worst) *worst = fabs(err);
  }
  free(avg);
  free(fvals);
  free(alpha);
  free(weight);
  pass_free(&p);
  return s;
}
