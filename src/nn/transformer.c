/* Pre-LN transformer block on a (B, C, L) activation (tools/reference_model.py:
 * transformer_block):
 *   h = x + MHA(LN1(x))
 *   y = h + W2 dropout(gelu_tanh(W1 LN2(h) + b1)) + b2      (W1: C -> F, W2: F -> C per token)
 *
 * The block is composed of the library's own layers, called through their ops tables:
 * layernorm (ln1, ln2), attention, a gelu_tanh activation and a dropout; the residual adds
 * are dnacl_op_add. Only the two per-token dense products are done here, directly with
 * dnacl_gemm (a dense layer takes (B, In), not tokens of a (B, C, L) tensor).
 *
 * Parameters. The block's params[] exposes all sixteen under the names the optimiser,
 * the initialiser and checkpoints see: ln1_gamma ln1_beta wq bq wk bk wv bv wo bo ln2_gamma
 * ln2_beta w1 b1 w2 b2. The block OWNS every buffer: at construction the sub-layers' param
 * structs are moved into the block (renamed), and the sub-layers keep only borrowed copies,
 * refreshed from the block before each call (so whoever replaces a param tensor of the
 * block — a checkpoint loader, say — is seen by the sub-layers too). destroy() clears the
 * borrowed copies before freeing the sub-layers, so each buffer is released exactly once,
 * by dnacl_layer_free of the block.
 *
 * Dropout draws keep(l->seed, i) over the flat C-order index i of the (B, F, L) hidden
 * tensor, exactly as tools/make_goldens.py does: the dropout sub-layer gets the block's seed.
 *
 * DeepLIFT: no rescale rule (backward_rescale NULL); explainers refuse the block by name. */
#include <stdio.h>
#include <string.h>

#include "nn/attention.h"
#include "nn/gemm.h"
#include "nn/layer.h"
#include "nn/ops.h"


enum { SUB_LN1, SUB_ATTN, SUB_LN2, SUB_ACT, SUB_DROP, N_SUB };

/* Backward-only buffers, owned by the block's cfg (l->saved holds the forward's). */
enum {
  W_F0,  /* (B, F, L): dD, then dZ */
  W_F1,  /* (B, F, L): dG, or dZ when there is no dropout */
  W_PC,  /* (C, B*L): a (B, C, L) tensor token-major, for a weight gradient */
  W_PF,  /* (F, B*L): likewise for a hidden tensor */
  W_C0,  /* (B, C, L): dU, then dA */
  W_C1,  /* (B, C, L): dH */
  N_WORK
};

typedef struct tf_cfg {
  int channels, heads, mlp;
  float p;
  dnacl_layer *sub[N_SUB];
  int moved;        /* the sub-layers' params have been moved into the block */
  dnacl_param *lent[12]; /* where block params 0..11 live in the sub-layers (borrowed) */
  int dropped;      /* the latest forward applied dropout (train and p > 0) */
  dnacl_tensor work[N_WORK];
} tf_cfg;

/* Forward scratch, in l->saved. */
enum {
  S_A, /* LN1(x) (B, C, L) */
  S_M, /* MHA(LN1(x)) */
  S_H, /* h = x + MHA(LN1(x)) */
  S_U, /* LN2(h) */
  S_Z, /* W1 LN2(h) + b1 (B, F, L) */
  S_G, /* gelu_tanh(z) */
  S_D  /* dropout(g); unused (g stands in) when no dropout was applied */
};

/* Block param i is sub-layer `sub`'s param `from` (or the block's own: sub < 0). */
static const struct {
  const char *name;
  int sub;
  const char *from;
} PMAP[16] = {
    {"ln1_gamma", SUB_LN1, "gamma"}, {"ln1_beta", SUB_LN1, "beta"}, {"wq", SUB_ATTN, "wq"},
    {"bq", SUB_ATTN, "bq"},          {"wk", SUB_ATTN, "wk"},        {"bk", SUB_ATTN, "bk"},
    {"wv", SUB_ATTN, "wv"},          {"bv", SUB_ATTN, "bv"},        {"wo", SUB_ATTN, "wo"},
    {"bo", SUB_ATTN, "bo"},          {"ln2_gamma", SUB_LN2, "gamma"}, {"ln2_beta", SUB_LN2, "beta"},
    {"w1", -1, NULL},                {"b1", -1, NULL},              {"w2", -1, NULL},
    {"b2", -1, NULL},
};
enum { N_LENT = 12, P_W1 = 12, P_B1, P_W2, P_B2 };
_Static_assert(sizeof(((tf_cfg *)0)->lent) == N_LENT * sizeof(dnacl_param *), "lent[] size");

/* Refresh the sub-layers' borrowed param tensors from the block's. */
static void lend_params(dnacl_layer *l) {
  tf_cfg *c = l->cfg;
  for (int i = 0; i < N_LENT; i++) {
    c->lent[i]->value = l->params[i].value;
    c->lent[i]->grad = l->params[i].grad;
  }
}

static dnacl_status tf_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const tf_cfg *c = l->cfg;
  if (c->heads < 1 || c->channels % c->heads)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "layer %s (transformer): channels %d must be a multiple of heads %d >= 1",
                      l->name, c->channels, c->heads);
  if (in->ndim != 3 || in->d[1] != c->channels)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "layer %s (transformer): expects input (batch, %d, length), got a rank-%d "
                      "input with %d channels",
                      l->name, c->channels, in->ndim, in->ndim >= 2 ? in->d[1] : 0);
  *out = *in;
  return DNACL_OK;
}

static dnacl_status check_io(const dnacl_layer *l, const dnacl_tensor *x, const dnacl_tensor *y,
                             const char *what) {
  const tf_cfg *c = l->cfg;
  dnacl_shape in = dnacl_tensor_shape(x), out, ys = dnacl_tensor_shape(y);
  DNACL_TRY(tf_infer(l, &in, &out));
  if (!dnacl_shape_equal(&out, &ys))
    return dnacl_fail(DNACL_ERR_SHAPE, "layer %s (transformer): %s has the wrong shape", l->name,
                      what);
  /* The kernels index with int: the hidden tensor (B, F, L) must fit. */
  if ((double)x->shape[0] * x->shape[2] * (c->mlp > c->channels ? c->mlp : c->channels) > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "layer %s (transformer): batch too large for int indexing",
                      l->name);
  return DNACL_OK;
}

/* (Re)allocate a cfg-owned work buffer unless it already has this shape. */
static dnacl_status work(dnacl_ctx *ctx, dnacl_tensor *t, int ndim, const int *shape) {
  if (t->buf && t->ndim == ndim) {
    int same = 1;
    for (int d = 0; d < ndim; d++) same &= t->shape[d] == shape[d];
    if (same) return DNACL_OK;
  }
  dnacl_tensor_free(t);
  return dnacl_tensor_alloc(ctx, t, ndim, shape);
}

/* out_b (M, L) = W (M, K) in_b (K, L) for every b: the per-token dense product in the
 * (B, C, L) layout, batched over b with the weight shared (stride 0). beta 1 accumulates. */
static dnacl_status token_dense(dnacl_ctx *ctx, cl_mem w, cl_mem in, cl_mem out, int B, int M,
                                int K, int L, int trans_w, float beta) {
  dnacl_gemm_args g = {.trans_a = trans_w, .M = M, .N = L, .K = K, .lda = trans_w ? M : K,
                       .ldb = L, .ldc = L, .batch = B, .stride_a = 0,
                       .stride_b = (size_t)K * L, .stride_c = (size_t)M * L, .alpha = 1.0f,
                       .beta = beta};
  return dnacl_gemm(ctx, w, in, out, &g);
}

/* dW (M, N) = sum over tokens of d (B, M, L) times in (B, N, L): both are made token-major
 * first (into dt (M, B*L) and it (N, B*L)) so that the contraction over all B*L tokens is
 * one GEMM, with no cross-batch sum. */
static dnacl_status weight_grad(dnacl_ctx *ctx, cl_mem d, cl_mem dt, int M, cl_mem in, cl_mem it,
                                int N, int B, int L, cl_mem dw) {
  DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, d, dt, 0, B, M, L));
  DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, in, it, 0, B, N, L));
  const int T = B * L;
  dnacl_gemm_args g = {.trans_b = 1, .M = M, .N = N, .K = T, .lda = T, .ldb = T, .ldc = N,
                       .alpha = 1.0f, .beta = 0.0f};
  return dnacl_gemm(ctx, dt, it, dw, &g);
}

static dnacl_status tf_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                               dnacl_tensor *y, int train) {
  DNACL_TRY(check_io(l, x, y, "the output"));
  tf_cfg *c = l->cfg;
  const int B = x->shape[0], C = c->channels, L = x->shape[2], F = c->mlp;
  const int bcl[3] = {B, C, L}, bfl[3] = {B, F, L};
  for (int i = S_A; i <= S_U; i++) DNACL_TRY(dnacl_layer_scratch(l, ctx, i, 3, bcl));
  for (int i = S_Z; i <= S_G; i++) DNACL_TRY(dnacl_layer_scratch(l, ctx, i, 3, bfl));
  c->dropped = train && c->p > 0.0f;
  if (c->dropped) DNACL_TRY(dnacl_layer_scratch(l, ctx, S_D, 3, bfl));
  lend_params(l);
  dnacl_layer **s = c->sub;
  dnacl_tensor *a = &l->saved[S_A], *m = &l->saved[S_M], *h = &l->saved[S_H],
               *u = &l->saved[S_U], *z = &l->saved[S_Z], *g = &l->saved[S_G];
  dnacl_tensor *d = c->dropped ? &l->saved[S_D] : g;

  DNACL_TRY(s[SUB_LN1]->ops->forward(s[SUB_LN1], ctx, x, a, train));
  DNACL_TRY(s[SUB_ATTN]->ops->forward(s[SUB_ATTN], ctx, a, m, train));
  DNACL_TRY(dnacl_op_add(ctx, x, m, h));
  DNACL_TRY(s[SUB_LN2]->ops->forward(s[SUB_LN2], ctx, h, u, train));
  DNACL_TRY(token_dense(ctx, l->params[P_W1].value.buf, u->buf, z->buf, B, F, C, L, 0, 0.0f));
  DNACL_TRY(dnacl_attn_add_bias(ctx, z->buf, 0, l->params[P_B1].value.buf, B, F, L));
  DNACL_TRY(s[SUB_ACT]->ops->forward(s[SUB_ACT], ctx, z, g, train));
  if (c->dropped) {
    s[SUB_DROP]->seed = l->seed;
    DNACL_TRY(s[SUB_DROP]->ops->forward(s[SUB_DROP], ctx, g, d, train));
  }
  /* y = h + W2 d + b2: the residual is the GEMM's accumulator (beta 1). */
  DNACL_TRY(dnacl_tensor_copy(ctx, y, h));
  DNACL_TRY(token_dense(ctx, l->params[P_W2].value.buf, d->buf, y->buf, B, C, F, L, 0, 1.0f));
  return dnacl_attn_add_bias(ctx, y->buf, 0, l->params[P_B2].value.buf, B, C, L);
}

static dnacl_status tf_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                int param_grads) {
  (void)y; /* the block's intermediate values are in l->saved */
  DNACL_TRY(check_io(l, x, dy, "the upstream gradient"));
  if (dx) DNACL_TRY(check_io(l, x, dx, "the input gradient"));
  tf_cfg *c = l->cfg;
  const int B = x->shape[0], C = c->channels, L = x->shape[2], F = c->mlp, T = B * L;
  if (!l->saved[S_Z].buf || l->saved[S_Z].shape[0] != B || l->saved[S_Z].shape[2] != L)
    return dnacl_fail(DNACL_ERR_ARG,
                      "layer %s (transformer): backward needs a forward of the same shape first",
                      l->name);
  if (!dx && !param_grads) return DNACL_OK;
  const int bcl[3] = {B, C, L}, bfl[3] = {B, F, L}, ct[2] = {C, T}, ft[2] = {F, T};
  DNACL_TRY(work(ctx, &c->work[W_F0], 3, bfl));
  DNACL_TRY(work(ctx, &c->work[W_F1], 3, bfl));
  DNACL_TRY(work(ctx, &c->work[W_C0], 3, bcl));
  DNACL_TRY(work(ctx, &c->work[W_C1], 3, bcl));
  if (param_grads) {
    DNACL_TRY(work(ctx, &c->work[W_PC], 2, ct));
    DNACL_TRY(work(ctx, &c->work[W_PF], 2, ft));
  }
  lend_params(l);
  dnacl_layer **s = c->sub;
  dnacl_param *P = l->params;
  dnacl_tensor *a = &l->saved[S_A], *m = &l->saved[S_M], *h = &l->saved[S_H],
               *u = &l->saved[S_U], *z = &l->saved[S_Z], *g = &l->saved[S_G];
  dnacl_tensor *d = c->dropped ? &l->saved[S_D] : g;
  dnacl_tensor *dD = &c->work[W_F0], *dG = c->dropped ? &c->work[W_F1] : dD;
  dnacl_tensor *dZ = c->dropped ? &c->work[W_F0] : &c->work[W_F1]; /* never aliases dG */
  dnacl_tensor *dU = &c->work[W_C0], *dH = &c->work[W_C1], *dA = &c->work[W_C0];
  cl_mem pc = c->work[W_PC].buf, pf = c->work[W_PF].buf; /* NULL unless param_grads */

  /* MLP branch, from y = h + W2 d + b2. */
  if (param_grads) {
    DNACL_TRY(weight_grad(ctx, dy->buf, pc, C, d->buf, pf, F, B, L, P[P_W2].grad.buf));
    DNACL_TRY(dnacl_attn_channel_sum(ctx, dy->buf, 0, P[P_B2].grad.buf, B, C, L));
  }
  DNACL_TRY(token_dense(ctx, P[P_W2].value.buf, dy->buf, dD->buf, B, F, C, L, 1, 0.0f));
  if (c->dropped) DNACL_TRY(s[SUB_DROP]->ops->backward(s[SUB_DROP], ctx, g, d, dD, dG, 0));
  DNACL_TRY(s[SUB_ACT]->ops->backward(s[SUB_ACT], ctx, z, g, dG, dZ, 0));
  if (param_grads) {
    DNACL_TRY(weight_grad(ctx, dZ->buf, pf, F, u->buf, pc, C, B, L, P[P_W1].grad.buf));
    DNACL_TRY(dnacl_attn_channel_sum(ctx, dZ->buf, 0, P[P_B1].grad.buf, B, F, L));
  }
  DNACL_TRY(token_dense(ctx, P[P_W1].value.buf, dZ->buf, dU->buf, B, C, F, L, 1, 0.0f));
  DNACL_TRY(s[SUB_LN2]->ops->backward(s[SUB_LN2], ctx, h, u, dU, dH, param_grads));
  DNACL_TRY(dnacl_op_add(ctx, dH, dy, dH)); /* the residual path of h */

  /* Attention branch, from h = x + MHA(LN1(x)). dA is needed even without dx, for LN1's
   * parameter gradients. */
  DNACL_TRY(s[SUB_ATTN]->ops->backward(s[SUB_ATTN], ctx, a, m, dH, dA, param_grads));
  DNACL_TRY(s[SUB_LN1]->ops->backward(s[SUB_LN1], ctx, x, a, dA, dx, param_grads));
  if (dx) DNACL_TRY(dnacl_op_add(ctx, dx, dH, dx));
  return DNACL_OK;
}

static void tf_destroy(dnacl_layer *l) {
  tf_cfg *c = l->cfg;
  if (!c) return;
  for (int i = 0; i < N_SUB; i++) {
    if (!c->sub[i]) continue;
    /* Borrowed copies: the block releases these buffers (dnacl_layer_free frees l->params
     * after destroy), so the sub-layer must not. */
    if (c->moved)
      for (int j = 0; j < c->sub[i]->n_params; j++) {
        memset(&c->sub[i]->params[j].value, 0, sizeof(dnacl_tensor));
        memset(&c->sub[i]->params[j].grad, 0, sizeof(dnacl_tensor));
      }
    dnacl_layer_free(c->sub[i]);
    c->sub[i] = NULL;
  }
  for (int i = 0; i < N_WORK; i++) dnacl_tensor_free(&c->work[i]);
}

static const dnacl_layer_ops transformer_ops = {
    .kind = "transformer",
    .infer = tf_infer,
    .forward = tf_forward,
    .backward = tf_backward,
    .destroy = tf_destroy,
    .deeplift = DNACL_DEEPLIFT_NONE, /* attention and layernorm have no rescale rule */
};

static dnacl_status build(dnacl_layer *l, dnacl_ctx *ctx) {
  tf_cfg *c = l->cfg;
  char sub[96];
  /* Sub-layer names extend the block's so that their own errors say where they are. */
#define SUBNAME(suffix) (snprintf(sub, sizeof sub, "%.50s." suffix, l->name), sub)
  DNACL_TRY(dnacl_layernorm_new(ctx, SUBNAME("ln1"), c->channels, 1e-5f, &c->sub[SUB_LN1]));
  DNACL_TRY(dnacl_attention_new(ctx, SUBNAME("attn"), c->channels, c->heads, &c->sub[SUB_ATTN]));
  DNACL_TRY(dnacl_layernorm_new(ctx, SUBNAME("ln2"), c->channels, 1e-5f, &c->sub[SUB_LN2]));
  DNACL_TRY(dnacl_act_new(ctx, SUBNAME("gelu"), DNACL_ACT_GELU_TANH, &c->sub[SUB_ACT]));
  DNACL_TRY(dnacl_dropout_new(ctx, SUBNAME("dropout"), c->p, &c->sub[SUB_DROP]));
#undef SUBNAME
  /* Move the sub-layers' params into the block, renamed; from here on the block owns them.
   * Looked up by name, so a sub-layer's parameter order does not matter. */
  for (int i = 0; i < N_LENT; i++) {
    c->lent[i] = dnacl_layer_param(c->sub[PMAP[i].sub], PMAP[i].from);
    if (!c->lent[i])
      return dnacl_fail(DNACL_ERR_ARG, "layer %s (transformer): sub-layer %s has no param %s",
                        l->name, c->sub[PMAP[i].sub]->name, PMAP[i].from);
  }
  for (int i = 0; i < N_LENT; i++) {
    l->params[i] = *c->lent[i];
    snprintf(l->params[i].name, sizeof l->params[i].name, "%s", PMAP[i].name);
  }
  l->n_params = N_LENT;
  c->moved = 1;
  const int wshape[2][2] = {{c->mlp, c->channels}, {c->channels, c->mlp}};
  for (int k = 0; k < 2; k++) {
    DNACL_TRY(dnacl_layer_add_param(l, ctx, PMAP[P_W1 + 2 * k].name, 2, wshape[k], 1, 1, NULL));
    DNACL_TRY(dnacl_layer_add_param(l, ctx, PMAP[P_B1 + 2 * k].name, 1, wshape[k], 1, 0, NULL));
  }
  return DNACL_OK;
}

dnacl_status dnacl_transformer_new(dnacl_ctx *ctx, const char *name, int channels, int heads,
                                   int mlp, float dropout, dnacl_layer **out) {
  /* heads is checked by infer (a model-file error then points at the layer's line). */
  if (channels < 1 || mlp < 1)
    return dnacl_fail(DNACL_ERR_ARG,
                      "layer %s (transformer): channels and mlp must be at least 1, got %d, %d",
                      name, channels, mlp);
  if (!(dropout >= 0.0f && dropout < 1.0f))
    return dnacl_fail(DNACL_ERR_ARG, "layer %s (transformer): dropout %g is not in [0, 1)", name,
                      (double)dropout);
  tf_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.channels = channels;
  cfg.heads = heads;
  cfg.mlp = mlp;
  cfg.p = dropout;
  dnacl_layer *l;
  DNACL_TRY(dnacl_layer_alloc(&transformer_ops, name, &cfg, sizeof cfg, &l));
  dnacl_status s = build(l, ctx);
  if (s != DNACL_OK) {
    dnacl_layer_free(l);
    return s;
  }
  *out = l;
  return DNACL_OK;
}
