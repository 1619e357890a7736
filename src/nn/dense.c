/* Dense (fully connected) layer, PyTorch's Linear: y = x w^T + b.
 * x (B, In), or (B, C, L) read as (B, C*L) in C-major order (what flatten gives);
 * y (B, Out). Parameters: "w" (Out, In), weight decay; "b" (Out), no decay, if bias.
 *
 * All three products are dnacl_gemm on the stored layouts, no transposed copies:
 *   y  = x w^T          M=B   N=Out K=In   (A^T-free, B transposed: the dot-product kernel)
 *   dx = dy w           M=B   N=In  K=Out
 *   dw = dy^T x         M=Out N=In  K=B    (the batch is the GEMM's K: summed in order)
 *   db = column sums of dy, in batch order (cl/dense.cl).
 * The bias is written into y first and the forward GEMM accumulates onto it (beta = 1). */
#include <stdio.h>

#include "nn/gemm.h"
#include "nn/layer.h"

typedef struct dense_cfg {
  int in, out, bias;
} dense_cfg;

static dnacl_status dense_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const dense_cfg *c = l->cfg;
  if (in->ndim < 2 || in->ndim > 3)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "dense %s: input must be (batch, features) or (batch, channels, length), "
                      "got rank %d",
                      l->name, in->ndim);
  long feat = in->d[1] * (long)(in->ndim == 3 ? in->d[2] : 1);
  if (feat != c->in)
    return dnacl_fail(DNACL_ERR_SHAPE, "dense %s: input has %ld features per sample, the layer expects %d",
                      l->name, feat, c->in);
  out->ndim = 2;
  out->d[0] = in->d[0];
  out->d[1] = c->out;
  out->d[2] = out->d[3] = 0;
  return DNACL_OK;
}

/* Check x and t (y or dy) against the layer; the batch size. */
static dnacl_status check(const dnacl_layer *l, const dnacl_tensor *x, const dnacl_tensor *t,
                          const char *what, int *batch) {
  dnacl_shape in = dnacl_tensor_shape(x), out;
  DNACL_TRY(dense_infer(l, &in, &out));
  if (t->n != dnacl_shape_count(&out))
    return dnacl_fail(DNACL_ERR_SHAPE, "dense %s: %s has %zu elements, expected (%d, %d)", l->name,
                      what, t->n, out.d[0], out.d[1]);
  *batch = in.d[0];
  return DNACL_OK;
}

static dnacl_status dense_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                  dnacl_tensor *y, int train) {
  (void)train;
  const dense_cfg *c = l->cfg;
  int B = 0;
  DNACL_TRY(check(l, x, y, "output", &B));
  if (c->bias) {
    cl_kernel k;
    DNACL_TRY(dnacl_kernel(ctx, "dense", "", "dense_bias_rows", &k));
    size_t g[2] = {(size_t)c->out, (size_t)B};
    DNACL_TRY(dnacl_run(ctx, k, 2, g, NULL, "miim", l->params[1].value.buf, B, c->out, y->buf));
  }
  dnacl_gemm_args g = {0};
  g.trans_b = 1;
  g.M = B;
  g.N = c->out;
  g.K = c->in;
  g.lda = c->in;
  g.ldb = c->in;
  g.ldc = c->out;
  g.alpha = 1.0f;
  g.beta = c->bias ? 1.0f : 0.0f;
  return dnacl_gemm(ctx, x->buf, l->params[0].value.buf, y->buf, &g);
}

static dnacl_status dense_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                   const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                   int param_grads) {
  (void)y;
  const dense_cfg *c = l->cfg;
  int B = 0;
  DNACL_TRY(check(l, x, dy, "upstream gradient", &B));
  if (dx) {
    if (dx->n != x->n)
      return dnacl_fail(DNACL_ERR_SHAPE, "dense %s: input gradient has %zu elements, input %zu",
                        l->name, dx->n, x->n);
    dnacl_gemm_args g = {0};
    g.M = B;
    g.N = c->in;
    g.K = c->out;
    g.lda = c->out;
    g.ldb = c->in;
    g.ldc = c->in;
    g.alpha = 1.0f;
    DNACL_TRY(dnacl_gemm(ctx, dy->buf, l->params[0].value.buf, dx->buf, &g));
  }
  if (!param_grads) return DNACL_OK;
  dnacl_gemm_args g = {0};
  g.trans_a = 1;
  g.M = c->out;
  g.N = c->in;
  g.K = B;
  g.lda = c->out;
  g.ldb = c->in;
  g.ldc = c->in;
  g.alpha = 1.0f;
  DNACL_TRY(dnacl_gemm(ctx, dy->buf, x->buf, l->params[0].grad.buf, &g));
  if (c->bias) {
    cl_kernel k;
    DNACL_TRY(dnacl_kernel(ctx, "dense", "", "dense_colsum", &k));
    size_t gs = (size_t)c->out;
    DNACL_TRY(dnacl_run(ctx, k, 1, &gs, NULL, "miim", dy->buf, B, c->out, l->params[1].grad.buf));
  }
  return DNACL_OK;
}

static const dnacl_layer_ops dense_ops = {
    .kind = "dense",
    .infer = dense_infer,
    .forward = dense_forward,
    .backward = dense_backward,
    .destroy = NULL,
    .deeplift = DNACL_DEEPLIFT_LINEAR,
};

dnacl_status dnacl_dense_new(dnacl_ctx *ctx, const char *name, int in, int out_features, int bias,
                             dnacl_layer **out) {
  *out = NULL;
  if (in < 1 || out_features < 1)
    return dnacl_fail(DNACL_ERR_SHAPE, "dense %s: features %d -> %d must both be >= 1", name, in,
                      out_features);
  dense_cfg cfg = {in, out_features, bias ? 1 : 0};
  dnacl_layer *l;
  DNACL_TRY(dnacl_layer_alloc(&dense_ops, name, &cfg, sizeof cfg, &l));
  int ws[2] = {out_features, in};
  dnacl_status s = dnacl_layer_add_param(l, ctx, "w", 2, ws, 1, 1, NULL);
  if (s == DNACL_OK && bias) s = dnacl_layer_add_param(l, ctx, "b", 1, &out_features, 1, 0, NULL);
  if (s != DNACL_OK) {
    dnacl_layer_free(l);
    return s;
  }
  *out = l;
  return DNACL_OK;
}
