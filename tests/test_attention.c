/* Multi-head self-attention: forward and backward against the PyTorch goldens
 * (tests/golden/attention_*.safetensors, float64 references), finite differences of the
 * loss sum(y * dy), determinism, shape errors, and a timing line for the chapter's size. */
#include "harness.h"
#include "nn/layer.h"

static const char *const PNAMES[8] = {"wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo"};

static void golden_case(dnacl_ctx *ctx, const char *file) {
  const char *forced = getenv("DNACL_ATTN_KERNELS");
  printf("%s%s%s\n", file, forced ? ", bias kernels forced to the form for " : "", forced ? forced : "");
  dnacl_safetensors g = golden_load(file);
  int B = golden_int(&g, "B", 0), C = golden_int(&g, "C", 0), L = golden_int(&g, "L", 0),
      H = golden_int(&g, "H", 0);
  dnacl_layer *l;
  OK(dnacl_attention_new(ctx, "attn", C, H, &l));
  CHECK(l->n_params == 8, "attention has 8 params, got %d", l->n_params);
  for (int i = 0; i < 8; i++) {
    dnacl_param *p = dnacl_layer_param(l, PNAMES[i]);
    CHECK(p && p->trainable && p->decay == (PNAMES[i][0] == 'w'), "param %s (decay %d)", PNAMES[i],
          p ? p->decay : -1);
  }
  golden_load_params(ctx, l, &g, PNAMES, 8);
  dnacl_tensor x, dy, y, dx;
  golden_same_shape_tensors(ctx, &g, l, "attention", &x, &dy, &y, &dx);
  CHECK(x.ndim == 3 && x.shape[0] == B && x.shape[1] == C && x.shape[2] == L, "x is (B, C, L)");

  OK(l->ops->forward(l, ctx, &x, &y, 1));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  /* Tolerances. The reference is float64; we compute in float32. y is O(1) and each entry
   * passes through three length-C dot products, a length-L softmax and a length-L weighted
   * sum, so float32 rounding leaves ~1e-6 absolute error (observed 4.8e-7 on both cases);
   * 1e-5 + 1e-4 relative is a 20x margin that no wrong term (O(0.1) or more) fits in. */
  compare_golden(ctx, "y", &y, &g, "y", 1e-5, 1e-4);
  /* Gradients add one more contraction, the weight gradients one over all B*L tokens, and
   * reach ~10 in magnitude; observed errors are at most 5e-6 (dwk), so 3e-5 absolute +
   * 1e-4 relative is a ~6x margin. */
  compare_golden(ctx, "dx", &dx, &g, "dx", 3e-5, 1e-4);
  /* dbk is zero by mathematics (softmax ignores a per-query shift; the reference holds
   * ~1e-17): ours is float32 cancellation noise of a sum of T terms of size ~|dK|, so an
   * absolute bound only (tools/README.md); observed 1.4e-6. */
  compare_golden_grads(ctx, l, &g, PNAMES, 8, 3e-5, 1e-4, "bk", 1e-5);

  /* Determinism: a second forward+backward gives the same bits (no atomics, fixed
   * reduction trees). */
  float *y1 = read_host(ctx, &y), *dx1 = read_host(ctx, &dx);
  float *dw1 = read_host(ctx, &dnacl_layer_param(l, "wq")->grad);
  float *db1 = read_host(ctx, &dnacl_layer_param(l, "bo")->grad);
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  float *y2 = read_host(ctx, &y), *dx2 = read_host(ctx, &dx);
  float *dw2 = read_host(ctx, &dnacl_layer_param(l, "wq")->grad);
  float *db2 = read_host(ctx, &dnacl_layer_param(l, "bo")->grad);
  CHECK(equal_bits(y1, y2, y.n) && equal_bits(dx1, dx2, dx.n) && equal_bits(dw1, dw2, (size_t)C * C) &&
            equal_bits(db1, db2, (size_t)C),
        "forward+backward twice gives the same bits");
  free(y2), free(dx2), free(dw2), free(db2);

  /* Backward without dx, and without param grads: the other outputs are unchanged. */
  OK(dnacl_tensor_fill(ctx, &dnacl_layer_param(l, "wq")->grad, 0.0f));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, NULL, 1));
  dw2 = read_host(ctx, &dnacl_layer_param(l, "wq")->grad);
  CHECK(equal_bits(dw1, dw2, (size_t)C * C), "param grads without dx");
  free(dw2);
  OK(dnacl_tensor_fill(ctx, &dx, 0.0f));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 0));
  dx2 = read_host(ctx, &dx);
  CHECK(equal_bits(dx1, dx2, dx.n), "dx without param grads");
  free(dx2);

  /* Finite differences of L = sum(y * dy) through the whole layer, central, eps 1e-2.
   * L is a sum of B*C*L O(1) float32 terms (in double), so its rounding noise is about
   * 1e-7 * sqrt(B*C*L) ~ 1e-5, i.e. ~5e-4 after dividing by 2 eps; the truncation error
   * eps^2 f''' / 6 is ~1e-5. Gradients are O(1), so 3e-3 + 1e-2 relative is a tight check
   * that still cannot fail from noise. */
  fd_forward u = {ctx, l, &x, &y, &x, read_host(ctx, &x), golden_get(&g, "dy")->data, 1};
  fd_check_forward("dx", &u, dx1, 24, 1e-2f, 3e-3, 1e-2);
  const char *const probe[4] = {"wq", "bq", "wv", "wo"};
  fd_check_params(&u, &dy, &dx, probe, 4, 16, 1e-2f, 3e-3, 1e-2);
  free(u.host);
  free(y1), free(dx1), free(dw1), free(db1);
  free_layer_tensors(&x, &y, &dy, &dx);
  dnacl_layer_free(l);
  dnacl_st_free(&g);
}

/* Double-precision host reference of the forward (tools/reference_model.py: mha). */
static void mha_host(const float *x, float *const P[8], int B, int C, int L, int H, double *y) {
  const int D = C / H;
  double *q = malloc(sizeof(double) * 3 * C * L), *o = malloc(sizeof(double) * C * L),
         *sc = malloc(sizeof(double) * L);
  for (int b = 0; b < B; b++) {
    const float *xb = x + (size_t)b * C * L;
    for (int m = 0; m < 3; m++) /* q, k, v */
      for (int c = 0; c < C; c++)
        for (int t = 0; t < L; t++) {
          double a = P[2 * m + 1][c];
          for (int i = 0; i < C; i++) a += (double)P[2 * m][c * C + i] * xb[i * L + t];
          q[(m * C + c) * L + t] = a;
        }
    for (int h = 0; h < H; h++)
      for (int i = 0; i < L; i++) {
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < L; j++) {
          double a = 0;
          for (int d = 0; d < D; d++) a += q[(h * D + d) * L + i] * q[(C + h * D + d) * L + j];
          sc[j] = a / sqrt((double)D);
          if (sc[j] > mx) mx = sc[j];
        }
        for (int j = 0; j < L; j++) sum += (sc[j] = exp(sc[j] - mx));
        for (int d = 0; d < D; d++) {
          double a = 0;
          for (int j = 0; j < L; j++) a += sc[j] / sum * q[(2 * C + h * D + d) * L + j];
          o[(h * D + d) * L + i] = a;
        }
      }
    for (int c = 0; c < C; c++)
      for (int t = 0; t < L; t++) {
        double a = P[7][c];
        for (int i = 0; i < C; i++) a += (double)P[6][c * C + i] * o[i * L + t];
        y[((size_t)b * C + c) * L + t] = a;
      }
  }
  free(q), free(o), free(sc);
}

/* Shapes the goldens do not cover: one token, one head, one channel per head, rows shorter
 * than, equal to and just past the softmax's eight lanes, odd everything. Forward against
 * the host reference, backward by finite differences. */
static void odd_shapes(dnacl_ctx *ctx) {
  const int shapes[][4] = {{2, 4, 1, 1}, {3, 6, 7, 3}, {1, 8, 8, 8}, {2, 5, 9, 5}, {1, 12, 17, 2},
                           {2, 16, 33, 4}};
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    const int B = shapes[si][0], C = shapes[si][1], L = shapes[si][2], H = shapes[si][3];
    printf("odd shape B=%d C=%d L=%d H=%d\n", B, C, L, H);
    dnacl_layer *l;
    OK(dnacl_attention_new(ctx, "attn_odd", C, H, &l));
    float *P[8];
    uint32_t r = 12345u + (uint32_t)si;
    for (int i = 0; i < 8; i++) {
      size_t n = l->params[i].value.n;
      P[i] = malloc(n * sizeof(float));
      /* weights ~ U(-1, 1)/sqrt(C) x 2 so that the softmax is far from uniform */
      for (size_t j = 0; j < n; j++) {
        r = dnacl_mix32(r + 1);
        P[i][j] = ((float)(r >> 8) / 16777216.0f * 2.0f - 1.0f) * (i % 2 ? 0.2f : 2.0f / sqrtf((float)C));
      }
      OK(dnacl_tensor_write(ctx, &l->params[i].value, P[i]));
    }
    size_t n = (size_t)B * C * L;
    float *xh = malloc(n * sizeof *xh), *dyh = malloc(n * sizeof *dyh);
    for (size_t j = 0; j < n; j++) {
      r = dnacl_mix32(r + 7);
      xh[j] = (float)(r >> 8) / 16777216.0f * 4.0f - 2.0f;
      r = dnacl_mix32(r + 3);
      dyh[j] = (float)(r >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    dnacl_tensor x, y, dy, dx;
    new_bcl_tensors(ctx, B, C, L, xh, dyh, &x, &y, &dy, &dx);
    OK(l->ops->forward(l, ctx, &x, &y, 0));
    OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
    double *yr = malloc(n * sizeof *yr);
    float *yw = malloc(n * sizeof *yw);
    mha_host(xh, P, B, C, L, H, yr);
    for (size_t j = 0; j < n; j++) yw[j] = (float)yr[j];
    float *yg = read_host(ctx, &y);
    /* Same float32-vs-float64 reasoning as the goldens: ~1e-6 expected. */
    compare_host("y vs host reference", yg, yw, n, 1e-5, 1e-4);
    float *dxg = read_host(ctx, &dx);
    /* As in the golden cases, with L = sum(y * dy) over fewer terms (less noise). */
    fd_forward u = {ctx, l, &x, &y, &x, xh, dyh, 1};
    fd_check_forward("dx", &u, dxg, 12, 1e-2f, 3e-3, 1e-2);
    const char *const wk[1] = {"wk"};
    fd_check_params(&u, &dy, &dx, wk, 1, 8, 1e-2f, 3e-3, 1e-2);
    free(dxg), free(yg), free(yw), free(yr), free(xh), free(dyh);
    for (int i = 0; i < 8; i++) free(P[i]);
    free_layer_tensors(&x, &y, &dy, &dx);
    dnacl_layer_free(l);
  }
}

static void shape_errors(dnacl_ctx *ctx) {
  dnacl_shape in = {3, {2, 6, 5}}, out;
  dnacl_layer *l;
  OK(dnacl_attention_new(ctx, "mha_bad", 6, 4, &l));
  dnacl_status s = l->ops->infer(l, &in, &out);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "mha_bad") &&
            strstr(dnacl_last_error(), "divisible"),
        "C %% H != 0 is a shape error naming the layer: %s", dnacl_last_error());
  /* forward refuses too, before any kernel runs */
  dnacl_tensor x, y;
  OK(dnacl_tensor_new(ctx, &x, 2, 6, 5));
  OK(dnacl_tensor_new(ctx, &y, 2, 6, 5));
  CHECK(l->ops->forward(l, ctx, &x, &y, 0) == DNACL_ERR_SHAPE, "forward with C %% H != 0");
  dnacl_layer_free(l);
  for (int h = 0; h >= -1; h--) {
    OK(dnacl_attention_new(ctx, "mha_noheads", 6, h, &l));
    s = l->ops->infer(l, &in, &out);
    CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "mha_noheads"),
          "heads %d is a shape error naming the layer: %s", h, dnacl_last_error());
    dnacl_layer_free(l);
  }
  OK(dnacl_attention_new(ctx, "mha_ch", 8, 2, &l));
  s = l->ops->infer(l, &in, &out);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "mha_ch"), "wrong channel count: %s",
        dnacl_last_error());
  dnacl_shape flat = {2, {2, 8}};
  CHECK(l->ops->infer(l, &flat, &out) == DNACL_ERR_SHAPE, "rank-2 input");
  CHECK(!strcmp(l->ops->kind, "attention") && l->ops->deeplift == DNACL_DEEPLIFT_NONE,
        "no DeepLIFT rule: explainers refuse attention by name");
  dnacl_layer_free(l);
  CHECK(dnacl_attention_new(ctx, "mha_zero", 0, 1, &l) == DNACL_ERR_ARG, "zero channels");
  dnacl_tensor_free(&x), dnacl_tensor_free(&y);
}

/* Speed at the chapter's size (B 32, C 64, L 50, H 4): printed, never asserted. */
static void timing(dnacl_ctx *ctx) {
  int B = 32, C = 64, L = 50, H = 4;
  dnacl_layer *l;
  OK(dnacl_attention_new(ctx, "attn", C, H, &l));
  double fb, f;
  time_layer(ctx, l, B, C, L, &fb, &f);
  printf("timing: attention B=%d C=%d L=%d H=%d: %.2f ms forward+backward, %.2f ms forward (best of 5 rounds)\n", B,
         C, L, H, fb, f);
  dnacl_layer_free(l);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  golden_case(ctx, "attention_b1_c64_l50_h4");
  golden_case(ctx, "attention_b5_c32_l13_h2");
  /* The bias add and bias-gradient kernels have a CPU and a GPU form; run the goldens
   * through the form this device does not use by default as well. */
  setenv("DNACL_ATTN_KERNELS", ctx->is_cpu ? "gpu" : "cpu", 1);
  golden_case(ctx, "attention_b1_c64_l50_h4");
  golden_case(ctx, "attention_b5_c32_l13_h2");
  unsetenv("DNACL_ATTN_KERNELS");
  odd_shapes(ctx);
  shape_errors(ctx);
  timing(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
