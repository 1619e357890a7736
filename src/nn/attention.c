/* Multi-head self-attention over the L positions of a (B, C, L) activation: L tokens of
 * width C, H heads of width D = C/H, scores scaled by 1/sqrt(D), softmax over keys, no
 * mask, heads concatenated in channel order before the output projection
 * (tools/reference_model.py: mha).
 *
 * Layout. Q, K, V and the head outputs O stay in the activation layout (B, C, L): a
 * projection is then a GEMM batched over b with the weight shared (W (C,C) times x_b
 * (C,L)), and head h of batch b is the D x L block at ((b*H + h) * D) * L, so the
 * per-head products QK^T and PV over all B*H (batch, head) pairs are each ONE batched
 * GEMM with a uniform stride D*L. (An earlier token-major (C, B*L) layout needed one GEMM
 * call per head; batching all heads in one call was ~40% faster for those products on
 * PoCL.) Only the weight gradients want the token-major layout, dW = sum over all B*L
 * tokens of dY X^T as one GEMM with no cross-batch sum (and no atomics), so backward
 * transposes x, dy, O and [dQ;dK;dV] to (C, B*L) first.
 *
 * Forward:  [Q;K;V]_b = W x_b + b;  S_bh = Q_bh^T K_bh / sqrt(D);  P = softmax_rows(S);
 *           O_bh = V_bh P_bh^T;  y_b = Wo O_b + bo.
 * Backward: dO_b = Wo^T dy_b;  dWo = dY' O'^T;  dbo = sum dy;
 *           dP_bh = dO_bh^T V_bh;  dV_bh = dO_bh P_bh;  dS = P * (dP - rowsum(P * dP));
 *           dQ_bh = K_bh dS_bh^T / sqrt(D);  dK_bh = Q_bh dS_bh / sqrt(D);
 *           dW{q,k,v} = d{Q,K,V}' X'^T;  db = sums;  dx_b = sum_i W_i^T d{Q,K,V}_b.
 *
 * The layer is not elementwise, so it has no DeepLIFT rescale rule (backward_rescale NULL):
 * explainers refuse it by name. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/attention.h"
#include "nn/gemm.h"
#include "nn/layer.h"


typedef struct attn_cfg {
  int channels, heads;
} attn_cfg;

/* Parameter order, fixed by the constructor. */
enum { P_WQ, P_BQ, P_WK, P_BK, P_WV, P_BV, P_WO, P_BO, P_COUNT };
static const char *const param_names[P_COUNT] = {"wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo"};

/* Scratch kept from forward for backward (S_*) and backward-only work buffers (W_*). */
enum {
  S_QKV,  /* [Q; K; V] (3B, C, L): Q at 0, K at B*C*L, V at 2*B*C*L */
  S_P,    /* softmax probabilities (B*H, L, L), row = query, column = key */
  S_O,    /* head outputs (B, C, L), concatenated by channel */
  W_DO,   /* dO (B, C, L) */
  W_DP,   /* dP, turned into dS in place (B*H, L, L) */
  W_DQKV, /* [dQ; dK; dV] (3B, C, L) */
  W_TM,   /* token-major (C, 3*B*L): first [dY' | O'], then [dQ' | dK' | dV'] per row */
  W_TX    /* X' (C, B*L) */
};

static dnacl_status get_kernel(dnacl_ctx *ctx, const char *name, cl_kernel *k) {
  return dnacl_kernel(ctx, "attention", "", name, k);
}

/* The bias kernels come in a CPU form (a work-item per row) and a GPU form (a work-item
 * per element / a work-group per channel); see cl/attention.cl. DNACL_ATTN_KERNELS=cpu|gpu
 * forces one, so that tests exercise both forms on whatever device they have. */
static int row_kernels(const dnacl_ctx *ctx) {
  const char *e = getenv("DNACL_ATTN_KERNELS");
  if (e && !strcmp(e, "cpu")) return 1;
  if (e && !strcmp(e, "gpu")) return 0;
  return ctx->is_cpu;
}

/* ---- helpers shared with the transformer block ----------------------------------------- */

dnacl_status dnacl_attn_bcl_to_cbl(dnacl_ctx *ctx, cl_mem src, cl_mem dst, size_t dst_off, int B,
                                   int C, int L) {
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_bcl_to_cbl", &k));
  size_t g[3] = {(size_t)L, (size_t)C, (size_t)B};
  return dnacl_run(ctx, k, 3, g, NULL, "mmiiii", src, dst, (int)dst_off, B, C, L);
}

/* x (B, C, N) at element off += bias[c]; the kernel form suits the device class. */
dnacl_status dnacl_attn_add_bias(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem bias, int B, int C,
                                 int N) {
  cl_kernel k;
  if (row_kernels(ctx)) {
    DNACL_TRY(get_kernel(ctx, "attn_add_bias_rows", &k));
    size_t g = (size_t)B * C;
    return dnacl_run(ctx, k, 1, &g, NULL, "mimiii", x, (int)off, bias, C, N, B * C);
  }
  DNACL_TRY(get_kernel(ctx, "attn_add_bias", &k));
  size_t g[3] = {(size_t)N, (size_t)C, (size_t)B};
  return dnacl_run(ctx, k, 3, g, NULL, "mimii", x, (int)off, bias, C, N);
}

/* out[c] = sum over b, l of x (B, C, L) at element off: a bias gradient. */
dnacl_status dnacl_attn_channel_sum(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem out, int B, int C,
                                    int L) {
  cl_kernel k;
  if (row_kernels(ctx)) {
    DNACL_TRY(get_kernel(ctx, "attn_channel_sum_rows", &k));
    size_t g = (size_t)C;
    return dnacl_run(ctx, k, 1, &g, NULL, "mimiii", x, (int)off, out, B, C, L);
  }
  DNACL_TRY(get_kernel(ctx, "attn_channel_sum", &k));
  /* A fixed power-of-two group size gives the same reduction tree (and bits) on every run;
   * 64 fits every device we target, smaller only if the kernel cannot have it. */
  size_t kmax = 0;
  DNACL_CL(clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax,
                                    NULL));
  size_t wg = 64;
  while (wg > 1 && (wg > kmax || wg > ctx->max_wg)) wg /= 2;
  size_t g = (size_t)C * wg;
  return dnacl_run(ctx, k, 1, &g, &wg, "mimiiil", x, (int)off, out, B, C, L, (int)wg);
}

/* ---- the layer --------------------------------------------------------------------------- */

static dnacl_status attn_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const attn_cfg *cfg = l->cfg;
  if (cfg->heads < 1)
    return dnacl_fail(DNACL_ERR_SHAPE, "layer %s (attention): heads must be at least 1, got %d",
                      l->name, cfg->heads);
  if (cfg->channels % cfg->heads)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "layer %s (attention): channels %d are not divisible by heads %d",
                      l->name, cfg->channels, cfg->heads);
  if (in->ndim != 3 || in->d[1] != cfg->channels)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "layer %s (attention): expects input (batch, %d, length), got a rank-%d "
                      "input with %d channels",
                      l->name, cfg->channels, in->ndim, in->ndim >= 2 ? in->d[1] : 0);
  *out = *in;
  return DNACL_OK;
}

static dnacl_status check_io(const dnacl_layer *l, const dnacl_tensor *x, const dnacl_tensor *y) {
  dnacl_shape in = dnacl_tensor_shape(x), out, ys = dnacl_tensor_shape(y);
  DNACL_TRY(attn_infer(l, &in, &out));
  if (!dnacl_shape_equal(&out, &ys))
    return dnacl_fail(DNACL_ERR_SHAPE, "layer %s (attention): output tensor has the wrong shape",
                      l->name);
  if (x->n > 0x7fffffff / 3)
    return dnacl_fail(DNACL_ERR_SHAPE, "layer %s (attention): %zu elements exceed the int index range",
                      l->name, x->n);
  return DNACL_OK;
}

/* out_b (M, L) = op(W) in_b (K, L) for every b, W shared (stride 0); beta 1 accumulates. */
static dnacl_status per_batch(dnacl_ctx *ctx, cl_mem w, int trans_w, cl_mem in, size_t in_off,
                              cl_mem out, size_t out_off, int B, int M, int K, int L, float beta) {
  dnacl_gemm_args g = {.trans_a = trans_w, .M = M, .N = L, .K = K, .lda = trans_w ? M : K,
                       .ldb = L, .ldc = L, .batch = B, .stride_b = (size_t)K * L,
                       .stride_c = (size_t)M * L, .off_b = in_off, .off_c = out_off,
                       .alpha = 1.0f, .beta = beta};
  return dnacl_gemm(ctx, w, in, out, &g);
}

/* One GEMM over all B*H (batch, head) pairs. Head blocks of Q, K, V, O, dO are D x L with
 * row stride L, DL apart; score blocks are L x L, LL apart. */
static dnacl_status per_head(dnacl_ctx *ctx, int ta, int tb, int M, int N, int K, cl_mem a,
                             size_t off_a, size_t stride_a, cl_mem b, size_t off_b,
                             size_t stride_b, cl_mem c, size_t off_c, size_t stride_c, int BH,
                             int L, float alpha) {
  dnacl_gemm_args g = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .lda = L, .ldb = L,
                       .ldc = L, .batch = BH, .stride_a = stride_a, .stride_b = stride_b,
                       .stride_c = stride_c, .off_a = off_a, .off_b = off_b, .off_c = off_c,
                       .alpha = alpha, .beta = 0.0f};
  return dnacl_gemm(ctx, a, b, c, &g);
}

static dnacl_status attn_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                 dnacl_tensor *y, int train) {
  (void)train; /* no dropout, no batch statistics: train and eval are the same */
  DNACL_TRY(check_io(l, x, y));
  const attn_cfg *cfg = l->cfg;
  const int B = x->shape[0], C = cfg->channels, L = x->shape[2], H = cfg->heads, D = C / H;
  const size_t BCL = x->n, DL = (size_t)D * L, LL = (size_t)L * L;
  const int qkv[3] = {3 * B, C, L}, bhll[3] = {B * H, L, L};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_QKV, 3, qkv));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_P, 3, bhll));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_O, 3, x->shape));
  cl_mem QKV = l->saved[S_QKV].buf, P = l->saved[S_P].buf, O = l->saved[S_O].buf;
  const dnacl_param *p = l->params;

  for (int i = 0; i < 3; i++) { /* Q, K, V = W x_b + b */
    DNACL_TRY(per_batch(ctx, p[P_WQ + 2 * i].value.buf, 0, x->buf, 0, QKV, i * BCL, B, C, C, L,
                        0.0f));
    DNACL_TRY(dnacl_attn_add_bias(ctx, QKV, i * BCL, p[P_BQ + 2 * i].value.buf, B, C, L));
  }
  /* S_bh (L, L) = Q_bh^T K_bh / sqrt(D) */
  DNACL_TRY(per_head(ctx, 1, 0, L, L, D, QKV, 0, DL, QKV, BCL, DL, P, 0, LL, B * H, L,
                     1.0f / sqrtf((float)D)));
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_softmax", &k));
  size_t rows = (size_t)B * H * L;
  DNACL_TRY(dnacl_run(ctx, k, 1, &rows, NULL, "mii", P, (int)rows, L));
  /* O_bh (D, L) = V_bh P_bh^T */
  DNACL_TRY(per_head(ctx, 0, 1, D, L, L, QKV, 2 * BCL, DL, P, 0, LL, O, 0, DL, B * H, L, 1.0f));
  DNACL_TRY(per_batch(ctx, p[P_WO].value.buf, 0, O, 0, y->buf, 0, B, C, C, L, 0.0f));
  return dnacl_attn_add_bias(ctx, y->buf, 0, p[P_BO].value.buf, B, C, L);
}

static dnacl_status attn_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                  const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                  int param_grads) {
  (void)y; /* everything needed is in the scratch of the latest forward */
  DNACL_TRY(check_io(l, x, dy));
  if (dx) DNACL_TRY(check_io(l, x, dx));
  const attn_cfg *cfg = l->cfg;
  const int B = x->shape[0], C = cfg->channels, L = x->shape[2], H = cfg->heads, D = C / H;
  const size_t BCL = x->n, DL = (size_t)D * L, LL = (size_t)L * L, T = (size_t)B * L,
               CT = (size_t)C * T;
  if (!l->saved[S_P].buf || l->saved[S_P].shape[0] != B * H || l->saved[S_P].shape[1] != L)
    return dnacl_fail(DNACL_ERR_ARG,
                      "layer %s (attention): backward needs a forward of the same shape first",
                      l->name);
  if (!dx && !param_grads) return DNACL_OK;
  const int qkv[3] = {3 * B, C, L}, bhll[3] = {B * H, L, L}, tm[2] = {C, 3 * (int)T},
            tx[2] = {C, (int)T};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_DO, 3, x->shape));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_DP, 3, bhll));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_DQKV, 3, qkv));
  if (param_grads) {
    DNACL_TRY(dnacl_layer_scratch(l, ctx, W_TM, 2, tm));
    DNACL_TRY(dnacl_layer_scratch(l, ctx, W_TX, 2, tx));
  }
  cl_mem QKV = l->saved[S_QKV].buf, P = l->saved[S_P].buf, O = l->saved[S_O].buf,
         dO = l->saved[W_DO].buf, dP = l->saved[W_DP].buf, dQKV = l->saved[W_DQKV].buf,
         TM = l->saved[W_TM].buf, TX = l->saved[W_TX].buf;
  dnacl_param *p = l->params;

  DNACL_TRY(per_batch(ctx, p[P_WO].value.buf, 1, dy->buf, 0, dO, 0, B, C, C, L, 0.0f));
  if (param_grads) { /* dWo = dY' O'^T over all tokens; dbo = sum of dy */
    DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, dy->buf, TM, 0, B, C, L));
    DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, O, TM, CT, B, C, L));
    dnacl_gemm_args g = {.trans_b = 1, .M = C, .N = C, .K = (int)T, .lda = (int)T,
                         .ldb = (int)T, .ldc = C, .off_b = CT, .alpha = 1.0f, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, TM, TM, p[P_WO].grad.buf, &g));
    DNACL_TRY(dnacl_attn_channel_sum(ctx, dy->buf, 0, p[P_BO].grad.buf, B, C, L));
  }
  const int BH = B * H;
  /* dP_bh (L, L) = dO_bh^T V_bh;  dV_bh (D, L) = dO_bh P_bh */
  DNACL_TRY(per_head(ctx, 1, 0, L, L, D, dO, 0, DL, QKV, 2 * BCL, DL, dP, 0, LL, BH, L, 1.0f));
  DNACL_TRY(per_head(ctx, 0, 0, D, L, L, dO, 0, DL, P, 0, LL, dQKV, 2 * BCL, DL, BH, L, 1.0f));
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_softmax_backward", &k));
  size_t rows = (size_t)BH * L;
  DNACL_TRY(dnacl_run(ctx, k, 1, &rows, NULL, "mmii", P, dP, (int)rows, L));
  /* dQ_bh (D, L) = K_bh dS_bh^T / sqrt(D);  dK_bh (D, L) = Q_bh dS_bh / sqrt(D) */
  const float scale = 1.0f / sqrtf((float)D);
  DNACL_TRY(per_head(ctx, 0, 1, D, L, L, QKV, BCL, DL, dP, 0, LL, dQKV, 0, DL, BH, L, scale));
  DNACL_TRY(per_head(ctx, 0, 0, D, L, L, QKV, 0, DL, dP, 0, LL, dQKV, BCL, DL, BH, L, scale));
  if (param_grads) {
    /* [dQ;dK;dV] (3B, C, L) token-major is (C, 3T): row c holds dQ's T tokens, then dK's,
     * then dV's, so dW_i = (that row block at column i*T, ld 3T) X'^T. */
    DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, dQKV, TM, 0, 3 * B, C, L));
    DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, x->buf, TX, 0, B, C, L));
    for (int i = 0; i < 3; i++) {
      dnacl_gemm_args g = {.trans_b = 1, .M = C, .N = C, .K = (int)T, .lda = 3 * (int)T,
                           .ldb = (int)T, .ldc = C, .off_a = i * T, .alpha = 1.0f, .beta = 0.0f};
      DNACL_TRY(dnacl_gemm(ctx, TM, TX, p[P_WQ + 2 * i].grad.buf, &g));
      DNACL_TRY(dnacl_attn_channel_sum(ctx, dQKV, i * BCL, p[P_BQ + 2 * i].grad.buf, B, C, L));
    }
  }
  if (dx) /* dx_b = Wq^T dQ_b + Wk^T dK_b + Wv^T dV_b, accumulated by beta */
    for (int i = 0; i < 3; i++)
      DNACL_TRY(per_batch(ctx, p[P_WQ + 2 * i].value.buf, 1, dQKV, i * BCL, dx->buf, 0, B, C, C,
                          L, i ? 1.0f : 0.0f));
  return DNACL_OK;
}

static const dnacl_layer_ops attention_ops = {
    .kind = "attention",
    .infer = attn_infer,
    .forward = attn_forward,
    .backward = attn_backward,
    .destroy = NULL,
    .deeplift = DNACL_DEEPLIFT_NONE, /* softmax and products of activations: no rescale rule */
};

dnacl_status dnacl_attention_new(dnacl_ctx *ctx, const char *name, int channels, int heads,
                                 dnacl_layer **out) {
  /* heads is checked by infer (so a model file error points at the layer's line); the
   * channel count must be usable to size the parameters at all. */
  if (channels < 1)
    return dnacl_fail(DNACL_ERR_ARG, "layer %s (attention): channels must be at least 1, got %d",
                      name, channels);
  attn_cfg cfg = {channels, heads};
  dnacl_layer *l;
  DNACL_TRY(dnacl_layer_alloc(&attention_ops, name, &cfg, sizeof cfg, &l));
  for (int i = 0; i < P_COUNT; i++) {
    int is_w = param_names[i][0] == 'w';
    int shape[2] = {channels, channels};
    dnacl_status s = dnacl_layer_add_param(l, ctx, param_names[i], is_w ? 2 : 1,
                                           is_w ? shape : shape + 1, 1, is_w, NULL);
    if (s != DNACL_OK) {
      dnacl_layer_free(l);
      return s;
    }
  }
  /* Build the kernels now so a device that cannot compile them fails at construction,
   * naming the layer's family, rather than in the middle of training. */
  cl_kernel k;
  dnacl_status s = get_kernel(ctx, "attn_softmax", &k);
  if (s != DNACL_OK) {
    dnacl_layer_free(l);
    return s;
  }
  *out = l;
  return DNACL_OK;
}
