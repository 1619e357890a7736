/* DeepLIFT (rescale rule) and DeepSHAP on the model's own layers.
 *
 * DESIGN.md's contract: DeepLIFT is the ordinary backward pass with each nonlinearity's
 * local gradient replaced by its multiplier against the reference. So for a batch of
 * (input, reference) pairs:
 *   1. forward the references (eval mode) and keep a copy of every node's activation;
 *   2. forward the inputs (the model's own buffers now hold the input's activations);
 *   3. walk the nodes backwards from a 1 at the target output (the sigmoid's own rescale
 *      multiplier when the probability is explained): linear layers run their ordinary
 *      backward, which for an affine map is exactly the multiplier; elementwise
 *      activations and maxpool run backward_rescale with the input's and the reference's
 *      activations; residual edges add as in dnacl_model_backward.
 * The input gradient is then the multiplier m, and m * (x - ref) the contributions.
 *
 * Each layer kind states its rule in ops->deeplift (src/nn/layer.h): linear (affine in eval
 * mode: conv1d, dense, batch norm, flatten, dropout, the linear activation), rescale
 * (the other activations, maxpool) or none (transformer, attention, layernorm), and a
 * model with a layer of the last kind is refused by name before anything runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/explain.h"
#include "nn/ops.h"

#define DEFAULT_BATCH 64

dnacl_status dnacl_deeplift_supported(const dnacl_model *m) {
  for (int i = 0; i < m->n_nodes; i++) {
    const dnacl_layer *l = m->nodes[i].layer;
    if (!l || l->ops->deeplift == DNACL_DEEPLIFT_LINEAR) continue;
    if (l->ops->deeplift == DNACL_DEEPLIFT_RESCALE && l->ops->backward_rescale) continue;
    const char *kind = l->ops->kind;
    const char *why = !strcmp(kind, "transformer") ? "its attention and layer norms are not elementwise, so no rescale multiplier exists"
                      : !strcmp(kind, "attention") ? "attention is not elementwise, so no rescale multiplier exists"
                      : !strcmp(kind, "layernorm") ? "layer norm divides by a statistic of its input, so no rescale multiplier exists"
                                                   : "the layer defines no DeepLIFT rule";
    char where[512] = "";
    if (m->nodes[i].line > 0)
      snprintf(where, sizeof where, " at %s:%d", m->spec.path ? m->spec.path : m->spec.name, m->nodes[i].line);
    return dnacl_fail(DNACL_ERR_UNSUPPORTED,
                      "DeepLIFT cannot explain model %s: layer %s (%s)%s has no DeepLIFT rule: %s. "
                      "Use saliency, gradxinput, ig or ism for this model",
                      m->spec.name, l->name, kind, where, why);
  }
  return DNACL_OK;
}

/* Device and host state of one call: B (input, reference) rows per pass. */
typedef struct dl_pass {
  int B, T, row, n_ref_acts;
  dnacl_tensor x;
  dnacl_tensor *ref;  /* ref[i]: node i's input on the reference pass; ref[n_nodes] its output */
  float *hx, *hr, *hdout, *fx, *fr, *mult;
} dl_pass;

static void dl_free(dl_pass *p) {
  dnacl_tensor_free(&p->x);
  for (int i = 0; i < p->n_ref_acts; i++) dnacl_tensor_free(&p->ref[i]);
  free(p->ref);
  free(p->hx);
  free(p->hr);
  free(p->hdout);
  free(p->fx);
  free(p->fr);
  free(p->mult);
  memset(p, 0, sizeof *p);
}

static dnacl_status dl_init(dnacl_ctx *ctx, dnacl_model *m, int B, dl_pass *p) {
  memset(p, 0, sizeof *p);
  p->B = B;
  p->T = m->spec.tasks;
  p->row = 4 * m->length;
  size_t rows = (size_t)B * p->row;
  p->hx = calloc(rows, sizeof *p->hx);
  p->hr = calloc(rows, sizeof *p->hr);
  p->mult = malloc(rows * sizeof *p->mult);
  p->hdout = calloc((size_t)B * p->T, sizeof *p->hdout);
  p->fx = malloc((size_t)B * p->T * sizeof *p->fx);
  p->fr = malloc((size_t)B * p->T * sizeof *p->fr);
  p->ref = calloc((size_t)m->n_nodes + 1, sizeof *p->ref);
  if (!p->hx || !p->hr || !p->mult || !p->hdout || !p->fx || !p->fr || !p->ref) {
    dl_free(p);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory for DeepLIFT buffers (%d rows of length %d)", B, m->length);
  }
  dnacl_status s = dnacl_tensor_new(ctx, &p->x, B, 4, m->length);
  /* The model's buffers for this batch size, whose shapes the reference copies take. */
  if (s == DNACL_OK) s = dnacl_model_plan(ctx, m, B);
  for (int i = 0; s == DNACL_OK && i <= m->n_nodes; i++) {
    s = dnacl_tensor_alloc(ctx, &p->ref[i], m->acts[i].ndim, m->acts[i].shape);
    p->n_ref_acts = i + 1;
  }
  if (s != DNACL_OK) dl_free(p);
  return s;
}

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* The rescale multiplier of a final sigmoid, as the activation kernels define it: the
 * secant, or the derivative at the midpoint when the logits (nearly) coincide. */
static double sigmoid_rescale(double z, double zr) {
  if (fabs(z - zr) < 1e-6) {
    double s = sigmoid(0.5 * (z + zr));
    return s * (1.0 - s);
  }
  return (sigmoid(z) - sigmoid(zr)) / (z - zr);
}

/* The backward walk with multipliers (step 3 above); m->grads[0] ends up holding them. */
static dnacl_status dl_backward(dnacl_ctx *ctx, dnacl_model *m, dl_pass *p) {
  int n = m->n_nodes;
  for (int i = n - 1; i >= 0; i--) {
    dnacl_node *nd = &m->nodes[i];
    if (nd->kind == DNACL_L_RESIDUAL_END) {
      DNACL_TRY(dnacl_tensor_copy(ctx, &m->grads[i], &m->grads[i + 1]));
      continue;
    }
    if (nd->kind == DNACL_L_RESIDUAL_BEGIN) {
      int end = -1;
      for (int j = i + 1; j < n && end < 0; j++)
        if (m->nodes[j].kind == DNACL_L_RESIDUAL_END && m->nodes[j].residual_begin == i) end = j;
      DNACL_TRY(dnacl_op_add(ctx, &m->grads[i + 1], &m->grads[end + 1], &m->grads[i]));
      continue;
    }
    dnacl_layer *l = nd->layer;
    if (l->ops->deeplift == DNACL_DEEPLIFT_LINEAR) {
      DNACL_TRY(l->ops->backward(l, ctx, &m->acts[i], &m->acts[i + 1], &m->grads[i + 1], &m->grads[i], 0));
    } else {
      DNACL_TRY(l->ops->backward_rescale(l, ctx, &m->acts[i], &p->ref[i], &m->acts[i + 1], &p->ref[i + 1],
                                         &m->grads[i + 1], &m->grads[i]));
    }
  }
  return DNACL_OK;
}

/* Rows 0..used of p->hx / p->hr (the rest zero): multipliers to p->mult, target outputs of
 * inputs and references to p->fx / p->fr (logits). */
static dnacl_status dl_run(dnacl_ctx *ctx, dnacl_model *m, dl_pass *p, int used, const dnacl_explain_opts *o) {
  size_t rest = (size_t)(p->B - used) * p->row;
  if (rest) {
    memset(p->hx + (size_t)used * p->row, 0, rest * sizeof *p->hx);
    memset(p->hr + (size_t)used * p->row, 0, rest * sizeof *p->hr);
  }
  DNACL_TRY(dnacl_tensor_write(ctx, &p->x, p->hr));
  DNACL_TRY(dnacl_model_forward(ctx, m, &p->x, 0));
  for (int i = 0; i <= m->n_nodes; i++) DNACL_TRY(dnacl_tensor_copy(ctx, &p->ref[i], &m->acts[i]));
  DNACL_TRY(dnacl_tensor_read(ctx, dnacl_model_output(m), p->fr));
  DNACL_TRY(dnacl_tensor_write(ctx, &p->x, p->hx));
  DNACL_TRY(dnacl_model_forward(ctx, m, &p->x, 0));
  DNACL_TRY(dnacl_tensor_read(ctx, dnacl_model_output(m), p->fx));
  memset(p->hdout, 0, (size_t)p->B * p->T * sizeof *p->hdout);
  for (int b = 0; b < used; b++) {
    size_t k = (size_t)b * p->T + o->target;
    p->hdout[k] = o->output == DNACL_EXPLAIN_PROB ? (float)sigmoid_rescale(p->fx[k], p->fr[k]) : 1.0f;
  }
  /* The upstream multiplier goes straight into the model's output-gradient buffer. */
  DNACL_TRY(dnacl_tensor_write(ctx, &m->grads[m->n_nodes], p->hdout));
  DNACL_TRY(dl_backward(ctx, m, p));
  return dnacl_tensor_read(ctx, &m->grads[0], p->mult);
}

dnacl_status dnacl_deeplift(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, const float *refs, int n_refs,
                            const dnacl_explain_opts *o, int hypothetical, float *out, float *delta, double *worst) {
  if (worst) *worst = 0;
  if (!o) return dnacl_fail(DNACL_ERR_ARG, "deeplift: options are required");
  if (n < 0 || n_refs < 1)
    return dnacl_fail(DNACL_ERR_ARG, "deeplift: need n >= 0 sequences and at least one reference each (got %d, %d)", n,
                      n_refs);
  if (m->in_channels != 4)
    return dnacl_fail(DNACL_ERR_ARG, "deeplift: model %s takes %d input channels; explainers need one-hot DNA (4)",
                      m->spec.name, m->in_channels);
  if (o->target < 0 || o->target >= m->spec.tasks)
    return dnacl_fail(DNACL_ERR_ARG, "deeplift: target %d is out of range; model %s has %d output(s) (0..%d)", o->target,
                      m->spec.name, m->spec.tasks, m->spec.tasks - 1);
  DNACL_TRY(dnacl_deeplift_supported(m));
  if (n == 0) return DNACL_OK;
  const int L = m->length;
  const size_t row = (size_t)4 * L, total = (size_t)n * n_refs;
  size_t b0 = o->batch > 0 ? (size_t)o->batch : DEFAULT_BATCH;
  dl_pass p;
  DNACL_TRY(dl_init(ctx, m, (int)(total < b0 ? total : b0), &p));
  double *acc = calloc((size_t)n * row, sizeof *acc);
  dnacl_status s = acc ? DNACL_OK : dnacl_fail(DNACL_ERR_NOMEM, "out of memory for DeepLIFT");
  /* Pairs in order (sequence, reference); a pass holds B of them. */
  for (size_t r0 = 0; s == DNACL_OK && r0 < total; r0 += (size_t)p.B) {
    int used = total - r0 < (size_t)p.B ? (int)(total - r0) : p.B;
    for (int b = 0; b < used; b++) {
      size_t i = (r0 + b) / n_refs;
      memcpy(p.hx + (size_t)b * row, x + i * row, row * sizeof *x);
      memcpy(p.hr + (size_t)b * row, refs + (r0 + b) * row, row * sizeof *refs);
    }
    s = dl_run(ctx, m, &p, used, o);
    if (s != DNACL_OK) break;
    if (o->correct) dnacl_gradient_correct(p.mult, used, L);
    for (int b = 0; b < used; b++) {
      size_t i = (r0 + b) / n_refs;
      const float *mu = p.mult + (size_t)b * row, *xr = x + i * row, *rr = refs + (r0 + b) * row;
      double *a = acc + i * row, sum = 0;
      for (size_t e = 0; e < row; e++) sum += (double)mu[e] * ((double)xr[e] - rr[e]);
      if (hypothetical) {
        /* hyp[c, p] = m[c, p] - sum_c' ref[c', p] m[c', p]: the contribution of position p
         * were its base c (one-hot e_c), i.e. sum_c' (e_c - ref)[c'] m[c', p]. */
        for (int pos = 0; pos < L; pos++) {
          double dot = 0;
          for (int c = 0; c < 4; c++) dot += (double)rr[c * L + pos] * mu[c * L + pos];
          for (int c = 0; c < 4; c++) a[c * L + pos] += mu[c * L + pos] - dot;
        }
      } else {
        for (size_t e = 0; e < row; e++) a[e] += (double)mu[e] * ((double)xr[e] - rr[e]);
      }
      size_t k = (size_t)b * p.T + o->target;
      double fx = p.fx[k], fr = p.fr[k];
      if (o->output == DNACL_EXPLAIN_PROB) fx = sigmoid(fx), fr = sigmoid(fr);
      double err = sum - (fx - fr);
      if (delta) delta[r0 + b] = (float)err;
      if (worst && fabs(err) > *worst) *worst = fabs(err);
    }
  }
  for (size_t e = 0; s == DNACL_OK && e < (size_t)n * row; e++) out[e] = (float)(acc[e] / n_refs);
  free(acc);
  dl_free(&p);
  return s;
}

dnacl_status dnacl_deepshap(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int n_refs, const uint64_t *seeds,
                            const dnacl_explain_opts *o, int hypothetical, float *out, float *delta, double *worst) {
  if (worst) *worst = 0;
  if (n_refs < 1) return dnacl_fail(DNACL_ERR_ARG, "deepshap: need at least one reference per sequence, got %d", n_refs);
  if (n < 0) return dnacl_fail(DNACL_ERR_ARG, "deepshap: negative sequence count %d", n);
  DNACL_TRY(dnacl_deeplift_supported(m));
  const int L = m->length;
  const size_t row = (size_t)4 * L;
  /* Sequences in groups so the references of a group (group * n_refs rows) stay small
   * whatever n is; results do not depend on the grouping (each sequence has its seed). */
  int group = 64;
  float *refs = malloc((size_t)group * n_refs * row * sizeof *refs);
  if (!refs) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory for DeepSHAP references");
  dnacl_status s = DNACL_OK;
  for (int i0 = 0; s == DNACL_OK && i0 < n; i0 += group) {
    int k = n - i0 < group ? n - i0 : group;
    for (int i = 0; s == DNACL_OK && i < k; i++) {
      uint64_t seed = seeds ? seeds[i0 + i] : (uint64_t)(i0 + i);
      for (int r = 0; s == DNACL_OK && r < n_refs; r++)
        s = dnacl_dinuc_shuffle_onehot(x + (size_t)(i0 + i) * row, L, dnacl_seed_mix(seed, (uint64_t)r, 0x5EED),
                                       refs + ((size_t)i * n_refs + r) * row);
    }
    double w = 0;
    if (s == DNACL_OK)
      s = dnacl_deeplift(ctx, m, x + (size_t)i0 * row, k, refs, n_refs, o, hypothetical, out + (size_t)i0 * row,
                         delta ? delta + (size_t)i0 * n_refs : NULL, &w);
    if (worst && w > *worst) *worst = w;
  }
  free(refs);
  return s;
}
