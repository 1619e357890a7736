/* Model container: building from a spec, initialisation, planning, forward and backward. */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"

static dnacl_status build_layer(dnacl_ctx *ctx, const dnacl_layer_spec *s, const dnacl_shape *in,
                                dnacl_layer **out) {
  int ch = in->d[1];
  switch (s->kind) {
    case DNACL_L_CONV1D:
      if (in->ndim != 3) return DNACL_ERR_SHAPE;
      return dnacl_conv1d_new(ctx, s->name, ch, s->filters, s->kernel, s->same_padding,
                              s->dilation, s->bias, out);
    case DNACL_L_DENSE: {
      int features = in->ndim == 3 ? in->d[1] * in->d[2] : in->d[1];
      return dnacl_dense_new(ctx, s->name, features, s->units, s->bias, out);
    }
    case DNACL_L_BATCHNORM: return dnacl_batchnorm_new(ctx, s->name, ch, s->eps, s->momentum, out);
    case DNACL_L_LAYERNORM: return dnacl_layernorm_new(ctx, s->name, ch, s->eps, out);
    case DNACL_L_ACTIVATION: return dnacl_act_new(ctx, s->name, s->act, out);
    case DNACL_L_MAXPOOL: return dnacl_maxpool_new(ctx, s->name, s->window, s->stride, out);
    case DNACL_L_FLATTEN: return dnacl_flatten_new(ctx, s->name, out);
    case DNACL_L_DROPOUT: return dnacl_dropout_new(ctx, s->name, s->p, out);
    case DNACL_L_TRANSFORMER:
      if (in->ndim != 3) return DNACL_ERR_SHAPE;
      return dnacl_transformer_new(ctx, s->name, ch, s->heads, s->mlp, s->p, out);
    case DNACL_L_RESIDUAL_BEGIN:
    case DNACL_L_RESIDUAL_END:
      *out = NULL;
      return DNACL_OK;
  }
  return dnacl_fail(DNACL_ERR_ARG, "layer %s: unknown kind %d", s->name, (int)s->kind);
}

static const char *shape_str(const dnacl_shape *s, char *buf, size_t n) {
  size_t u = (size_t)snprintf(buf, n, "(");
  for (int i = 1; i < s->ndim && u < n; i++) u += (size_t)snprintf(buf + u, n - u, "%s%d", i > 1 ? ", " : "", s->d[i]);
  if (u < n) snprintf(buf + u, n - u, ")");
  return buf;
}

dnacl_status dnacl_model_build(dnacl_ctx *ctx, dnacl_model_spec *spec, dnacl_model **out) {
  *out = NULL;
  dnacl_model *m = calloc(1, sizeof *m);
  if (!m) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory building a model");
  m->spec = *spec;
  memset(spec, 0, sizeof *spec); /* the model owns it now */
  int n = m->spec.n_layers;
  m->n_nodes = n;
  m->in_channels = m->spec.alphabet ? m->spec.alphabet : 4;
  m->length = m->spec.length;
  m->nodes = calloc((size_t)n + 1, sizeof *m->nodes);
  m->shapes = calloc((size_t)n + 1, sizeof *m->shapes);
  int *open = calloc((size_t)n + 1, sizeof *open);
  if (!m->nodes || !m->shapes || !open) {
    free(open);
    dnacl_model_free(m);
    return dnacl_fail(DNACL_ERR_NOMEM, "out of memory building a model");
  }
  int n_open = 0, n_dropout = 0;
  dnacl_status s = DNACL_OK;
  m->shapes[0] = (dnacl_shape){3, {1, m->in_channels, m->length, 0}};
  for (int i = 0; i < n && s == DNACL_OK; i++) {
    const dnacl_layer_spec *ls = &m->spec.layers[i];
    dnacl_node *nd = &m->nodes[i];
    nd->kind = ls->kind;
    nd->line = ls->line;
    nd->col = ls->col;
    nd->dropout_index = -1;
    nd->residual_begin = -1;
    const dnacl_shape *in = &m->shapes[i];
    char a[64], b[64];
    s = build_layer(ctx, ls, in, &nd->layer);
    if (s == DNACL_ERR_SHAPE && !nd->layer) {
      s = dnacl_model_spec_fail(&m->spec, DNACL_ERR_SHAPE, ls->line, ls->col, "layer %s needs an input (channels, length), got %s",
                                 ls->name, shape_str(in, a, sizeof a));
      break;
    }
    if (s != DNACL_OK) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", dnacl_last_error());
      s = dnacl_model_spec_fail(&m->spec, DNACL_ERR_SHAPE, ls->line, ls->col, "%s", msg);
      break;
    }
    if (ls->kind == DNACL_L_RESIDUAL_BEGIN) {
      open[n_open++] = i;
      m->shapes[i + 1] = *in;
    } else if (ls->kind == DNACL_L_RESIDUAL_END) {
      if (n_open == 0) {
        s = dnacl_model_spec_fail(&m->spec, DNACL_ERR_SHAPE, ls->line, ls->col, "residual end without a beginning");
        break;
      }
      int bgn = open[--n_open];
      nd->residual_begin = bgn;
      if (!dnacl_shape_equal(&m->shapes[bgn], in)) {
        s = dnacl_model_spec_fail(&m->spec, DNACL_ERR_SHAPE, ls->line, ls->col,
                                   "residual branch changes the shape from %s to %s; a residual add needs them equal",
                                   shape_str(&m->shapes[bgn], a, sizeof a), shape_str(in, b, sizeof b));
        break;
      }
      m->shapes[i + 1] = *in;
    } else {
      s = nd->layer->ops->infer(nd->layer, in, &m->shapes[i + 1]);
      if (s != DNACL_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", dnacl_last_error());
        s = dnacl_model_spec_fail(&m->spec, DNACL_ERR_SHAPE, ls->line, ls->col, "%s", msg);
        break;
      }
      if (ls->kind == DNACL_L_DROPOUT || ls->kind == DNACL_L_TRANSFORMER) nd->dropout_index = n_dropout++;
    }
  }
  free(open);
  if (s == DNACL_OK) {
    const dnacl_shape *o = &m->shapes[n];
    int outputs = o->ndim == 2 ? o->d[1] : -1;
    if (outputs != m->spec.tasks) {
      char a[64];
      s = dnacl_fail(DNACL_ERR_SHAPE, "%s: the model ends in shape %s but declares %d task(s); end with a dense layer of %d units",
                     m->spec.path ? m->spec.path : "model", shape_str(o, a, sizeof a), m->spec.tasks, m->spec.tasks);
    }
  }
  if (s != DNACL_OK) {
    dnacl_model_free(m);
    return s;
  }
  *out = m;
  return DNACL_OK;
}

/* acts[i] is a view of acts[i - 1] after a residual marker or a flatten, grads[i] a view
 * of grads[i - 1] after a flatten (dnacl_model_plan); only owned buffers are freed. */
static int act_is_view(const dnacl_model *m, int i) {
  return i > 0 && (m->nodes[i - 1].kind == DNACL_L_RESIDUAL_BEGIN || m->nodes[i - 1].kind == DNACL_L_FLATTEN);
}
static int grad_is_view(const dnacl_model *m, int i) { return i > 0 && m->nodes[i - 1].kind == DNACL_L_FLATTEN; }

static void free_buffers(dnacl_model *m) {
  if (m->acts)
    for (int i = 0; i <= m->n_nodes; i++)
      if (!act_is_view(m, i)) dnacl_tensor_free(&m->acts[i]);
  if (m->grads)
    for (int i = 0; i <= m->n_nodes; i++)
      if (!grad_is_view(m, i)) dnacl_tensor_free(&m->grads[i]);
  free(m->acts);
  free(m->grads);
  m->acts = m->grads = NULL;
  m->batch = 0;
}

void dnacl_model_free(dnacl_model *m) {
  if (!m) return;
  if (m->ism_cache_free) m->ism_cache_free(m->ism_cache);
  free_buffers(m);
  for (int i = 0; i < m->n_nodes; i++) dnacl_layer_free(m->nodes ? m->nodes[i].layer : NULL);
  free(m->nodes);
  free(m->shapes);
  free(m->fwd_s);
  free(m->bwd_s);
  dnacl_model_spec_free(&m->spec);
  free(m);
}

dnacl_tensor *dnacl_model_output(dnacl_model *m) { return &m->acts[m->n_nodes]; }

static dnacl_status alloc_like(dnacl_ctx *ctx, dnacl_tensor *t, const dnacl_shape *s, int batch) {
  int shape[DNACL_MAX_DIMS];
  for (int d = 0; d < s->ndim; d++) shape[d] = d == 0 ? batch : s->d[d];
  return dnacl_tensor_alloc(ctx, t, s->ndim, shape);
}

static dnacl_tensor view_like(const dnacl_tensor *t, const dnacl_shape *s, int batch) {
  int shape[DNACL_MAX_DIMS];
  for (int d = 0; d < s->ndim; d++) shape[d] = d == 0 ? batch : s->d[d];
  return dnacl_tensor_view(t, s->ndim, shape);
}

dnacl_status dnacl_model_plan(dnacl_ctx *ctx, dnacl_model *m, int batch) {
  if (m->batch == batch) return DNACL_OK;
  free_buffers(m);
  int n = m->n_nodes;
  m->acts = calloc((size_t)n + 1, sizeof *m->acts);
  m->grads = calloc((size_t)n + 1, sizeof *m->grads);
  if (!m->acts || !m->grads) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory planning a model");
  m->batch = batch;
  for (int i = 0; i <= n; i++) {
    /* acts[0] is a copy of the caller's input so the model never writes user tensors and
     * explainers can point it at interpolated inputs. */
    if (i > 0 && m->nodes[i - 1].kind == DNACL_L_RESIDUAL_BEGIN) {
      m->acts[i] = m->acts[i - 1];
      DNACL_TRY(alloc_like(ctx, &m->grads[i], &m->shapes[i], batch));
    } else if (i > 0 && m->nodes[i - 1].kind == DNACL_L_FLATTEN) {
      /* Flatten's output and its gradient are views of its input's buffers (the layout
       * already is the flattened order), so its forward and backward move nothing: the
       * copies cost 0.27 ms of a 34 ms training step of the baseline at batch 256. */
      m->acts[i] = view_like(&m->acts[i - 1], &m->shapes[i], batch);
      m->grads[i] = view_like(&m->grads[i - 1], &m->shapes[i], batch);
    } else {
      DNACL_TRY(alloc_like(ctx, &m->acts[i], &m->shapes[i], batch));
      DNACL_TRY(alloc_like(ctx, &m->grads[i], &m->shapes[i], batch));
    }
  }
  return DNACL_OK;
}

dnacl_status dnacl_model_profile(dnacl_model *m, int on) {
  free(m->fwd_s);
  free(m->bwd_s);
  m->fwd_s = m->bwd_s = NULL;
  m->profile = 0;
  if (!on) return DNACL_OK;
  m->fwd_s = calloc((size_t)m->n_nodes + 1, sizeof *m->fwd_s);
  m->bwd_s = calloc((size_t)m->n_nodes + 1, sizeof *m->bwd_s);
  if (!m->fwd_s || !m->bwd_s) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  m->profile = 1;
  return DNACL_OK;
}

/* With profiling on, wait for node i's work and charge the time since *t to acc[i]. */
static dnacl_status charge(dnacl_ctx *ctx, dnacl_model *m, double *acc, int i, double *t) {
  if (!m->profile) return DNACL_OK;
  DNACL_TRY(dnacl_finish(ctx));
  double n = dnacl_now_s();
  acc[i] += n - *t;
  *t = n;
  return DNACL_OK;
}

dnacl_status dnacl_model_forward(dnacl_ctx *ctx, dnacl_model *m, const dnacl_tensor *x, int train) {
  if (x->ndim != 3 || x->shape[1] != m->in_channels || x->shape[2] != m->length)
    return dnacl_fail(DNACL_ERR_SHAPE, "model %s expects input (batch, %d, %d), got a rank-%d tensor (%d, %d, %d)",
                      m->spec.name, m->in_channels, m->length, x->ndim, x->shape[0], x->shape[1], x->shape[2]);
  DNACL_TRY(dnacl_model_plan(ctx, m, x->shape[0]));
  DNACL_TRY(dnacl_tensor_copy(ctx, &m->acts[0], x));
  double t = m->profile ? dnacl_now_s() : 0;
  for (int i = 0; i < m->n_nodes; i++) {
    dnacl_node *nd = &m->nodes[i];
    if (nd->kind == DNACL_L_RESIDUAL_BEGIN) continue; /* aliases its input */
    if (nd->kind == DNACL_L_RESIDUAL_END) {
      DNACL_TRY(dnacl_op_add(ctx, &m->acts[i], &m->acts[nd->residual_begin], &m->acts[i + 1]));
    } else {
      if (nd->dropout_index >= 0)
        nd->layer->seed = dnacl_dropout_seed(m->seed, m->step, (uint32_t)nd->dropout_index);
      DNACL_TRY(nd->layer->ops->forward(nd->layer, ctx, &m->acts[i], &m->acts[i + 1], train));
    }
    DNACL_TRY(charge(ctx, m, m->fwd_s, i, &t));
  }
  return DNACL_OK;
}

dnacl_status dnacl_model_backward(dnacl_ctx *ctx, dnacl_model *m, const dnacl_tensor *dout,
                                  int input_grad, int param_grads) {
  int n = m->n_nodes;
  DNACL_TRY(dnacl_tensor_copy(ctx, &m->grads[n], dout));
  double t = m->profile ? dnacl_now_s() : 0;
  for (int i = n - 1; i >= 0; i--) {
    dnacl_node *nd = &m->nodes[i];
    dnacl_tensor *dx = (i > 0 || input_grad) ? &m->grads[i] : NULL;
    if (nd->kind == DNACL_L_RESIDUAL_END) {
      /* The branch gets the gradient unchanged; the skip path's share is added at BEGIN. */
      DNACL_TRY(dnacl_tensor_copy(ctx, &m->grads[i], &m->grads[i + 1]));
      DNACL_TRY(charge(ctx, m, m->bwd_s, i, &t));
      continue;
    }
    if (nd->kind == DNACL_L_RESIDUAL_BEGIN) {
      int end = -1;
      for (int j = i + 1; j < n && end < 0; j++)
        if (m->nodes[j].kind == DNACL_L_RESIDUAL_END && m->nodes[j].residual_begin == i) end = j;
      DNACL_TRY(dnacl_op_add(ctx, &m->grads[i + 1], &m->grads[end + 1], &m->grads[i]));
      DNACL_TRY(charge(ctx, m, m->bwd_s, i, &t));
      continue;
    }
    if (!dx && !param_grads) break; /* the first layer, and neither gradient wanted */
    DNACL_TRY(nd->layer->ops->backward(nd->layer, ctx, &m->acts[i], &m->acts[i + 1], &m->grads[i + 1],
                                       dx, param_grads));
    DNACL_TRY(charge(ctx, m, m->bwd_s, i, &t));
  }
  return DNACL_OK;
}

dnacl_param *dnacl_model_param(dnacl_model *m, int index, char *qualified, size_t qlen) {
  for (int i = 0; i < m->n_nodes; i++) {
    dnacl_layer *l = m->nodes[i].layer;
    if (!l) continue;
    if (index < l->n_params) {
      if (qualified) snprintf(qualified, qlen, "%s.%s", l->name, l->params[index].name);
      return &l->params[index];
    }
    index -= l->n_params;
  }
  return NULL;
}

size_t dnacl_model_param_count(dnacl_model *m, int trainable_only) {
  size_t total = 0;
  dnacl_param *p;
  for (int i = 0; (p = dnacl_model_param(m, i, NULL, 0)); i++)
    if (p->trainable || !trainable_only) total += p->value.n;
  return total;
}

const char *dnacl_count_str(size_t v, char *buf, size_t n) {
  char raw[32];
  int len = snprintf(raw, sizeof raw, "%zu", v);
  size_t u = 0;
  for (int i = 0; i < len && u + 2 < n; i++) {
    if (i > 0 && (len - i) % 3 == 0) buf[u++] = ',';
    buf[u++] = raw[i];
  }
  buf[u] = 0;
  return buf;
}

/* splitmix64: a small, well-mixed generator for initialisation. */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

dnacl_status dnacl_model_init(dnacl_ctx *ctx, dnacl_model *m, uint64_t seed) {
  uint64_t rng = seed;
  for (int i = 0; i < m->n_nodes; i++) {
    dnacl_layer *l = m->nodes[i].layer;
    if (!l) continue;
    /* Biases share the bound of the weight before them (PyTorch: 1/sqrt(fan_in)). */
    double bound = 0;
    for (int k = 0; k < l->n_params; k++) {
      dnacl_param *p = &l->params[k];
      const char *nm = p->name;
      float fill;
      int uniform = 0;
      if (!strcmp(nm, "gamma") || !strcmp(nm, "rvar") || strstr(nm, "_gamma")) {
        fill = 1.0f;
      } else if (!strcmp(nm, "beta") || !strcmp(nm, "rmean") || strstr(nm, "_beta")) {
        fill = 0.0f;
      } else if (nm[0] == 'w') {
        size_t fan_in = p->value.n / (size_t)p->value.shape[0];
        bound = 1.0 / sqrt((double)fan_in);
        uniform = 1;
        fill = 0;
      } else {
        uniform = bound > 0;
        fill = 0;
      }
      if (!uniform) {
        DNACL_TRY(dnacl_tensor_fill(ctx, &p->value, fill));
        continue;
      }
      float *h = malloc(p->value.n * sizeof *h);
      if (!h) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory initialising %s", l->name);
      for (size_t j = 0; j < p->value.n; j++) {
        double u = (double)(next_u64(&rng) >> 11) * (1.0 / 9007199254740992.0);
        h[j] = (float)((2.0 * u - 1.0) * bound);
      }
      dnacl_status s = dnacl_tensor_write(ctx, &p->value, h);
      free(h);
      DNACL_TRY(s);
    }
  }
  return DNACL_OK;
}
