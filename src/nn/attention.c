/* Multi-head self-attention over the L positions of a (B, C, L) activation: L tokens of
 * width C, H heads of width D = C/H, scores scaled by 1/sqrt(D), softmax over keys, no
 * mask, heads concatenated in channel order before the output projection
 * (tools/reference_model.py: mha).
 *
 * Layout. Inside the layer every token-wise tensor is kept as (C, T) with T = B*L tokens:
 * X' = x permuted from (B, C, L) to (C, B, L). Then each projection is ONE GEMM over all
 * tokens (W (C,C) times X' (C,T)), and the weight gradients dW = dY' X'^T are one GEMM
 * with the contraction over all B*L tokens, so no cross-batch reduction (and no atomics)
 * is needed. The slice of head h, batch b of Q' is the D x L block at row h*D, column b*L
 * with row stride T: for a fixed head the B blocks are L apart, so the per-head products
 * QK^T and PV are batched GEMMs over b (stride L), one call per head.
 *
 * Forward:  X' = perm(x); [Q';K';V'] = W X' + b; S_bh = Q_bh^T K_bh / sqrt(D);
 *           P = softmax_rows(S); O'_bh = V_bh P_bh^T; y = perm(Wo O') + bo.
 * Backward: dY' = perm(dy); dWo = dY' O'^T; dbo = rowsum dY'; dO' = Wo^T dY';
 *           dP_bh = dO_bh^T V_bh; dV_bh = dO_bh P_bh; dS = P*(dP - rowsum(P*dP));
 *           dQ_bh = K_bh dS_bh^T / sqrt(D); dK_bh = Q_bh dS_bh / sqrt(D);
 *           dW{q,k,v} = d{Q,K,V}' X'^T; db = rowsum; dX' = sum Wq^T dQ' + ...; dx = perm(dX').
 *
 * The layer is not elementwise, so it has no DeepLIFT rescale rule (backward_rescale NULL):
 * explainers refuse it by name. */
#include <math.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/layer.h"

/* Shared with src/nn/transformer.c, which uses the same layout helpers for its per-token
 * dense layers (declared there too: the kernel family is cl/attention.cl). */
dnacl_status dnacl_attn_bcl_to_cbl(dnacl_ctx *ctx, cl_mem src, cl_mem dst, int B, int C, int L);
dnacl_status dnacl_attn_cbl_to_bcl(dnacl_ctx *ctx, cl_mem src, cl_mem dst, cl_mem bias, int B,
                                   int C, int L);
dnacl_status dnacl_attn_add_bias(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem bias, int B, int C,
                                 int N);
dnacl_status dnacl_attn_channel_sum(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem out, int B, int C,
                                    int L);

typedef struct attn_cfg {
  int channels, heads;
} attn_cfg;

/* Parameter order, fixed by the constructor. */
enum { P_WQ, P_BQ, P_WK, P_BK, P_WV, P_BV, P_WO, P_BO, P_COUNT };
static const char *const param_names[P_COUNT] = {"wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo"};

/* Scratch kept from forward for backward (S_*) and backward-only work buffers (W_*). */
enum {
  S_X,    /* X' (C, T): the input, token-major */
  S_QKV,  /* [Q'; K'; V'] (3C, T) */
  S_P,    /* softmax probabilities (B*H, L, L), row = query, column = key */
  S_O,    /* O' (C, T): head outputs, concatenated by channel */
  W_Y,    /* forward: Wo O' before the bias/permutation; backward: dY' */
  W_DO,   /* dO' (C, T), later reused for dX' */
  W_DP,   /* dP, turned into dS in place (B*H, L, L) */
  W_DQKV  /* [dQ'; dK'; dV'] (3C, T) */
};

static dnacl_status get_kernel(dnacl_ctx *ctx, const char *name, cl_kernel *k) {
  return dnacl_kernel(ctx, "attention", "", name, k);
}

/* ---- helpers shared with the transformer block ----------------------------------------- */

dnacl_status dnacl_attn_bcl_to_cbl(dnacl_ctx *ctx, cl_mem src, cl_mem dst, int B, int C, int L) {
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_bcl_to_cbl", &k));
  size_t g[3] = {(size_t)L, (size_t)C, (size_t)B};
  return dnacl_run(ctx, k, 3, g, NULL, "mmiii", src, dst, B, C, L);
}

/* bias may be NULL (no bias). */
dnacl_status dnacl_attn_cbl_to_bcl(dnacl_ctx *ctx, cl_mem src, cl_mem dst, cl_mem bias, int B,
                                   int C, int L) {
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_cbl_to_bcl", &k));
  size_t g[3] = {(size_t)L, (size_t)C, (size_t)B};
  /* Without a bias the kernel never reads that argument; src stands in so that no NULL
   * buffer argument is passed (some OpenCL 1.2 drivers reject those). */
  return dnacl_run(ctx, k, 3, g, NULL, "mmmiiii", src, dst, bias ? bias : src, bias != NULL, B, C,
                   L);
}

/* x (B, C, N) at element off += bias[c]. */
dnacl_status dnacl_attn_add_bias(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem bias, int B, int C,
                                 int N) {
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_add_bias", &k));
  size_t g[3] = {(size_t)N, (size_t)C, (size_t)B};
  return dnacl_run(ctx, k, 3, g, NULL, "mimii", x, (int)off, bias, C, N);
}

dnacl_status dnacl_attn_channel_sum(dnacl_ctx *ctx, cl_mem x, size_t off, cl_mem out, int B, int C,
                                    int L) {
  cl_kernel k;
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
  return DNACL_OK;
}

static dnacl_status attn_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                 dnacl_tensor *y, int train) {
  (void)train; /* no dropout, no batch statistics: train and eval are the same */
  DNACL_TRY(check_io(l, x, y));
  const attn_cfg *cfg = l->cfg;
  const int B = x->shape[0], C = cfg->channels, L = x->shape[2], H = cfg->heads, D = C / H;
  const size_t T = (size_t)B * L, CT = (size_t)C * T;
  const int ct[2] = {C, (int)T}, qkv[2] = {3 * C, (int)T}, bhll[3] = {B * H, L, L};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_X, 2, ct));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_QKV, 2, qkv));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_P, 3, bhll));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, S_O, 2, ct));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_Y, 2, ct));
  cl_mem X = l->saved[S_X].buf, QKV = l->saved[S_QKV].buf, P = l->saved[S_P].buf,
         O = l->saved[S_O].buf, Y = l->saved[W_Y].buf;
  const dnacl_param *p = l->params;

  DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, x->buf, X, B, C, L));
  for (int i = 0; i < 3; i++) { /* Q', K', V' = W X' + b, all tokens at once */
    dnacl_gemm_args g = {.M = C, .N = (int)T, .K = C, .lda = C, .ldb = (int)T, .ldc = (int)T,
                         .off_c = i * CT, .alpha = 1.0f, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, p[P_WQ + 2 * i].value.buf, X, QKV, &g));
    DNACL_TRY(dnacl_attn_add_bias(ctx, QKV, i * CT, p[P_BQ + 2 * i].value.buf, 1, C, (int)T));
  }
  const float scale = 1.0f / sqrtf((float)D);
  for (int h = 0; h < H; h++) { /* S_bh (L, L) = Q_bh^T K_bh * scale, batched over b */
    dnacl_gemm_args g = {.trans_a = 1, .M = L, .N = L, .K = D, .lda = (int)T, .ldb = (int)T,
                         .ldc = L, .batch = B, .stride_a = (size_t)L, .stride_b = (size_t)L,
                         .stride_c = (size_t)H * L * L, .off_a = (size_t)h * D * T,
                         .off_b = CT + (size_t)h * D * T, .off_c = (size_t)h * L * L,
                         .alpha = scale, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, QKV, QKV, P, &g));
  }
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_softmax", &k));
  size_t rows = (size_t)B * H * L;
  DNACL_TRY(dnacl_run(ctx, k, 1, &rows, NULL, "mii", P, (int)rows, L));
  for (int h = 0; h < H; h++) { /* O'_bh (D, L) = V_bh P_bh^T */
    dnacl_gemm_args g = {.trans_b = 1, .M = D, .N = L, .K = L, .lda = (int)T, .ldb = L,
                         .ldc = (int)T, .batch = B, .stride_a = (size_t)L,
                         .stride_b = (size_t)H * L * L, .stride_c = (size_t)L,
                         .off_a = 2 * CT + (size_t)h * D * T, .off_b = (size_t)h * L * L,
                         .off_c = (size_t)h * D * T, .alpha = 1.0f, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, QKV, P, O, &g));
  }
  dnacl_gemm_args g = {.M = C, .N = (int)T, .K = C, .lda = C, .ldb = (int)T, .ldc = (int)T,
                       .alpha = 1.0f, .beta = 0.0f};
  DNACL_TRY(dnacl_gemm(ctx, p[P_WO].value.buf, O, Y, &g));
  return dnacl_attn_cbl_to_bcl(ctx, Y, y->buf, p[P_BO].value.buf, B, C, L);
}

static dnacl_status attn_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                  const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                  int param_grads) {
  (void)y; /* everything needed is in the scratch of the latest forward */
  DNACL_TRY(check_io(l, x, dy));
  if (dx) DNACL_TRY(check_io(l, x, dx));
  const attn_cfg *cfg = l->cfg;
  const int B = x->shape[0], C = cfg->channels, L = x->shape[2], H = cfg->heads, D = C / H;
  const size_t T = (size_t)B * L, CT = (size_t)C * T;
  if (!l->saved[S_P].buf || l->saved[S_X].shape[1] != (int)T || l->saved[S_P].shape[0] != B * H ||
      l->saved[S_P].shape[1] != L)
    return dnacl_fail(DNACL_ERR_ARG,
                      "layer %s (attention): backward needs a forward of the same shape first",
                      l->name);
  const int ct[2] = {C, (int)T}, qkv[2] = {3 * C, (int)T}, bhll[3] = {B * H, L, L};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_Y, 2, ct));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_DO, 2, ct));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_DP, 3, bhll));
  DNACL_TRY(dnacl_layer_scratch(l, ctx, W_DQKV, 2, qkv));
  cl_mem X = l->saved[S_X].buf, QKV = l->saved[S_QKV].buf, P = l->saved[S_P].buf,
         O = l->saved[S_O].buf, dY = l->saved[W_Y].buf, dO = l->saved[W_DO].buf,
         dP = l->saved[W_DP].buf, dQKV = l->saved[W_DQKV].buf;
  dnacl_param *p = l->params;

  DNACL_TRY(dnacl_attn_bcl_to_cbl(ctx, dy->buf, dY, B, C, L));
  if (param_grads) { /* dWo = dY' O'^T over all tokens; dbo = sum over tokens of dY' */
    dnacl_gemm_args g = {.trans_b = 1, .M = C, .N = C, .K = (int)T, .lda = (int)T, .ldb = (int)T,
                         .ldc = C, .alpha = 1.0f, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, dY, O, p[P_WO].grad.buf, &g));
    DNACL_TRY(dnacl_attn_channel_sum(ctx, dY, 0, p[P_BO].grad.buf, 1, C, (int)T));
  }
  { /* dO' = Wo^T dY' */
    dnacl_gemm_args g = {.trans_a = 1, .M = C, .N = (int)T, .K = C, .lda = C, .ldb = (int)T,
                         .ldc = (int)T, .alpha = 1.0f, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, p[P_WO].value.buf, dY, dO, &g));
  }
  for (int h = 0; h < H; h++) {
    const size_t hd = (size_t)h * D * T, hll = (size_t)h * L * L, sll = (size_t)H * L * L;
    /* dP_bh (L, L) = dO_bh^T V_bh */
    dnacl_gemm_args g1 = {.trans_a = 1, .M = L, .N = L, .K = D, .lda = (int)T, .ldb = (int)T,
                          .ldc = L, .batch = B, .stride_a = (size_t)L, .stride_b = (size_t)L,
                          .stride_c = sll, .off_a = hd, .off_b = 2 * CT + hd, .off_c = hll,
                          .alpha = 1.0f, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, dO, QKV, dP, &g1));
    /* dV_bh (D, L) = dO_bh P_bh */
    dnacl_gemm_args g2 = {.M = D, .N = L, .K = L, .lda = (int)T, .ldb = L, .ldc = (int)T,
                          .batch = B, .stride_a = (size_t)L, .stride_b = sll,
                          .stride_c = (size_t)L, .off_a = hd, .off_b = hll, .off_c = 2 * CT + hd,
                          .alpha = 1.0f, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, dO, P, dQKV, &g2));
  }
  cl_kernel k;
  DNACL_TRY(get_kernel(ctx, "attn_softmax_backward", &k));
  size_t rows = (size_t)B * H * L;
  DNACL_TRY(dnacl_run(ctx, k, 1, &rows, NULL, "mmii", P, dP, (int)rows, L));
  const float scale = 1.0f / sqrtf((float)D);
  for (int h = 0; h < H; h++) {
    const size_t hd = (size_t)h * D * T, hll = (size_t)h * L * L, sll = (size_t)H * L * L;
    /* dQ_bh (D, L) = K_bh dS_bh^T * scale */
    dnacl_gemm_args g1 = {.trans_b = 1, .M = D, .N = L, .K = L, .lda = (int)T, .ldb = L,
                          .ldc = (int)T, .batch = B, .stride_a = (size_t)L, .stride_b = sll,
                          .stride_c = (size_t)L, .off_a = CT + hd, .off_b = hll, .off_c = hd,
                          .alpha = scale, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, QKV, dP, dQKV, &g1));
    /* dK_bh (D, L) = Q_bh dS_bh * scale */
    dnacl_gemm_args g2 = {.M = D, .N = L, .K = L, .lda = (int)T, .ldb = L, .ldc = (int)T,
                          .batch = B, .stride_a = (size_t)L, .stride_b = sll,
                          .stride_c = (size_t)L, .off_a = hd, .off_b = hll, .off_c = CT + hd,
                          .alpha = scale, .beta = 0.0f};
    DNACL_TRY(dnacl_gemm(ctx, QKV, dP, dQKV, &g2));
  }
  if (param_grads)
    for (int i = 0; i < 3; i++) { /* dW = d{Q,K,V}' X'^T, db = token sums */
      dnacl_gemm_args g = {.trans_b = 1, .M = C, .N = C, .K = (int)T, .lda = (int)T,
                           .ldb = (int)T, .ldc = C, .off_a = i * CT, .alpha = 1.0f, .beta = 0.0f};
      DNACL_TRY(dnacl_gemm(ctx, dQKV, X, p[P_WQ + 2 * i].grad.buf, &g));
      DNACL_TRY(dnacl_attn_channel_sum(ctx, dQKV, i * CT, p[P_BQ + 2 * i].grad.buf, 1, C, (int)T));
    }
  if (dx) { /* dX' = Wq^T dQ' + Wk^T dK' + Wv^T dV' (accumulated by beta), into dO's buffer */
    for (int i = 0; i < 3; i++) {
      dnacl_gemm_args g = {.trans_a = 1, .M = C, .N = (int)T, .K = C, .lda = C, .ldb = (int)T,
                           .ldc = (int)T, .off_b = i * CT, .alpha = 1.0f,
                           .beta = i ? 1.0f : 0.0f};
      DNACL_TRY(dnacl_gemm(ctx, p[P_WQ + 2 * i].value.buf, dQKV, dO, &g));
    }
    DNACL_TRY(dnacl_attn_cbl_to_bcl(ctx, dO, dx->buf, NULL, B, C, L));
  }
  return DNACL_OK;
}

static const dnacl_layer_ops attention_ops = {
    .kind = "attention",
    .infer = attn_infer,
    .forward = attn_forward,
    .backward = attn_backward,
    .backward_rescale = NULL, /* softmax and products of activations: no rescale rule */
    .destroy = NULL,
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
  *out = l;
  return DNACL_OK;
}
