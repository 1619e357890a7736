/* Pre-LN transformer block: forward and backward against the PyTorch goldens
 * (tests/golden/transformer_*.safetensors, float64 references, hash dropout with the
 * block's seed), finite differences of sum(y * dy), the sixteen params by name, eval mode,
 * determinism, shape errors, and a timing line for the chapter's size. */
#include "harness.h"
#include "nn/layer.h"

static const char *const PNAMES[16] = {"ln1_gamma", "ln1_beta", "wq", "bq", "wk", "bk",
                                       "wv", "bv", "wo", "bo", "ln2_gamma", "ln2_beta",
                                       "w1", "b1", "w2", "b2"};

static void golden_case(dnacl_ctx *ctx, const char *file) {
  printf("%s\n", file);
  dnacl_safetensors g = golden_load(file);
  int C = golden_int(&g, "C", 0), H = golden_int(&g, "H", 0), F = golden_int(&g, "mlp", 0);
  double p = golden_num(&g, "p", -1);
  uint32_t seed = (uint32_t)strtoul(golden_str(&g, "seed", "0"), NULL, 10);
  CHECK(golden_num(&g, "eps", 0) == 1e-5 && !strcmp(golden_str(&g, "act", ""), "gelu_tanh") &&
            !strcmp(golden_str(&g, "norm", ""), "pre"),
        "the golden is the block we build (pre-LN, gelu_tanh, eps 1e-5)");
  dnacl_layer *l;
  OK(dnacl_transformer_new(ctx, "block1", C, H, F, (float)p, &l));
  CHECK(l->n_params == 16, "the block exposes 16 params, got %d", l->n_params);
  for (int i = 0; i < 16 && i < l->n_params; i++) {
    const dnacl_param *q = &l->params[i];
    int is_w = q->name[0] == 'w';
    CHECK(!strcmp(q->name, PNAMES[i]) && q->trainable && q->grad.buf && q->decay == is_w,
          "param %d is %s (trainable, with grad, decay %d), got %s decay %d", i, PNAMES[i], is_w,
          q->name, q->decay);
  }
  golden_load_params(ctx, l, &g, PNAMES, 16);
  dnacl_tensor x, dy, y, dx;
  golden_same_shape_tensors(ctx, &g, l, "transformer block", &x, &dy, &y, &dx);

  l->seed = seed;
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  /* Tolerances: float32 against a float64 reference. y is O(1) and passes through two
   * layernorms, attention and a C -> F -> C MLP, each a few length-64..128 dot products:
   * ~1e-6 expected, observed at most 1.4e-6; 1e-5 absolute + 1e-4 relative is a ~7x margin
   * that no wrong term (O(0.01) or more) fits in. */
  compare_golden(ctx, "y", &y, &g, "y", 1e-5, 1e-4);
  /* Gradients go back through the same chain (layernorm backward divides by the token's
   * standard deviation) and the weight gradients sum over all B*L tokens, reaching ~10;
   * observed at most 8e-6 absolute, so 5e-5 + 1e-4 relative is a ~6x margin. */
  compare_golden(ctx, "dx", &dx, &g, "dx", 5e-5, 1e-4);
  /* dbk is zero by mathematics (softmax ignores a per-query shift): float32 cancellation
   * noise only, so an absolute bound (tools/README.md); observed ~1e-6. */
  compare_golden_grads(ctx, l, &g, PNAMES, 16, 5e-5, 1e-4, "bk", 1e-5);

  /* Determinism: the same seed gives the same bits. */
  float *y1 = read_host(ctx, &y), *dx1 = read_host(ctx, &dx);
  float *dw1 = read_host(ctx, &dnacl_layer_param(l, "w1")->grad);
  OK(l->ops->forward(l, ctx, &x, &y, 1));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  float *y2 = read_host(ctx, &y), *dx2 = read_host(ctx, &dx);
  float *dw2 = read_host(ctx, &dnacl_layer_param(l, "w1")->grad);
  CHECK(equal_bits(y1, y2, y.n) && equal_bits(dx1, dx2, dx.n) && equal_bits(dw1, dw2, (size_t)F * C),
        "forward+backward twice gives the same bits");
  free(y2), free(dx2), free(dw2);

  /* Whoever replaces a param's buffer (a checkpoint loader, say) is seen by the sub-layer
   * that borrows it, and the old buffer is not referenced any more. */
  {
    dnacl_param *wq = dnacl_layer_param(l, "wq"), *g2 = dnacl_layer_param(l, "ln2_gamma");
    dnacl_param *pp[2] = {wq, g2};
    for (int i = 0; i < 2; i++) {
      dnacl_tensor fresh;
      OK(dnacl_tensor_alloc(ctx, &fresh, pp[i]->value.ndim, pp[i]->value.shape));
      OK(dnacl_tensor_copy(ctx, &fresh, &pp[i]->value));
      dnacl_tensor_free(&pp[i]->value);
      pp[i]->value = fresh;
    }
    OK(l->ops->forward(l, ctx, &x, &y, 1));
    y2 = read_host(ctx, &y);
    CHECK(equal_bits(y1, y2, y.n), "replaced param buffers are used by the sub-layers");
    free(y2);
  }

  /* Param grads without dx (LN1's grads still need the attention's input gradient). */
  dnacl_param *g1 = dnacl_layer_param(l, "ln1_gamma");
  float *lg1 = read_host(ctx, &g1->grad);
  OK(dnacl_tensor_fill(ctx, &g1->grad, 0.0f));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, NULL, 1));
  float *lg2 = read_host(ctx, &g1->grad);
  CHECK(equal_bits(lg1, lg2, (size_t)C), "param grads without dx");
  free(lg1), free(lg2);

  if (p > 0) {
    /* The mask follows the seed: another seed, another output. */
    l->seed = seed + 1;
    OK(l->ops->forward(l, ctx, &x, &y, 1));
    y2 = read_host(ctx, &y);
    CHECK(!equal_bits(y1, y2, y.n), "a different seed draws a different dropout mask");
    free(y2);
    /* Eval mode is the block without dropout: the same bits as a p = 0 block in training. */
    OK(l->ops->forward(l, ctx, &x, &y, 0));
    float *ye = read_host(ctx, &y);
    dnacl_layer *l0;
    OK(dnacl_transformer_new(ctx, "block0", C, H, F, 0.0f, &l0));
    golden_load_params(ctx, l0, &g, PNAMES, 16);
    OK(l0->ops->forward(l0, ctx, &x, &y, 1));
    float *y0 = read_host(ctx, &y);
    CHECK(equal_bits(ye, y0, y.n), "eval mode applies no dropout");
    /* ... and so does its backward (what the explainers run). */
    OK(l->ops->forward(l, ctx, &x, &y, 0));
    OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 0));
    float *dxe = read_host(ctx, &dx);
    OK(l0->ops->forward(l0, ctx, &x, &y, 1));
    OK(l0->ops->backward(l0, ctx, &x, &y, &dy, &dx, 0));
    float *dx0 = read_host(ctx, &dx);
    CHECK(equal_bits(dxe, dx0, dx.n), "eval-mode backward applies no dropout mask");
    free(ye), free(y0), free(dxe), free(dx0);
    dnacl_layer_free(l0);
    l->seed = seed;
  }

  /* Finite differences of L = sum(y * dy) in train mode, central, eps 1e-2, in float32: the
   * dropout mask is a function of the (fixed) seed, so L is a smooth function of x and the
   * params. The noise is the
   * forward's own float32 error (~5e-7 per output, see y above) summed over B*C*L terms of
   * random sign: ~3e-5 in L, ~1.5e-3 after dividing by 2 eps (observed worst 1.9e-3, and it
   * scales as 1/eps as noise should); the truncation error eps^2 f'''/6 is ~1e-4 (checked
   * on the float64 reference). So 5e-3 + 1e-2 relative: it cannot fail from noise, and
   * still catches any missing or doubled term of these O(0.1..5) gradients. */
  fd_forward u = {ctx, l, &x, &y, &x, read_host(ctx, &x), golden_get(&g, "dy")->data, 1};
  fd_check_forward("dx", &u, dx1, 24, 1e-2f, 5e-3, 1e-2);
  const char *const probe[5] = {"ln1_gamma", "wk", "ln2_beta", "w1", "b2"};
  fd_check_params(&u, &dy, &dx, probe, 5, 12, 1e-2f, 5e-3, 1e-2);
  free(u.host);
  free(y1), free(dx1), free(dw1);
  free_layer_tensors(&x, &y, &dy, &dx);
  dnacl_layer_free(l); /* the block owns the shared param buffers: freed once, here */
  dnacl_st_free(&g);
}

static void errors(dnacl_ctx *ctx) {
  dnacl_layer *l;
  dnacl_shape in = {3, {2, 6, 5}}, out;
  OK(dnacl_transformer_new(ctx, "tblock", 6, 4, 8, 0.1f, &l));
  dnacl_status s = l->ops->infer(l, &in, &out);
  CHECK(s == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "tblock"),
        "C %% H != 0 is a shape error naming the block: %s", dnacl_last_error());
  CHECK(!strcmp(l->ops->kind, "transformer") && l->ops->deeplift == DNACL_DEEPLIFT_NONE,
        "no DeepLIFT rule: explainers refuse the block by name");
  dnacl_layer_free(l);
  OK(dnacl_transformer_new(ctx, "tblock0", 6, 0, 8, 0.1f, &l));
  CHECK(l->ops->infer(l, &in, &out) == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "tblock0"),
        "zero heads: %s", dnacl_last_error());
  dnacl_layer_free(l);
  OK(dnacl_transformer_new(ctx, "tblock2", 8, 2, 8, 0.0f, &l));
  CHECK(l->ops->infer(l, &in, &out) == DNACL_ERR_SHAPE && strstr(dnacl_last_error(), "tblock2"),
        "wrong channel count: %s", dnacl_last_error());
  dnacl_tensor x, y;
  OK(dnacl_tensor_new(ctx, &x, 2, 8, 5));
  OK(dnacl_tensor_new(ctx, &y, 2, 8, 5));
  CHECK(l->ops->backward(l, ctx, &x, &y, &y, &x, 1) == DNACL_ERR_ARG,
        "backward before any forward is refused");
  dnacl_tensor_free(&x), dnacl_tensor_free(&y);
  dnacl_layer_free(l);
  CHECK(dnacl_transformer_new(ctx, "tb", 8, 2, 8, 1.0f, &l) == DNACL_ERR_ARG &&
            strstr(dnacl_last_error(), "tb"),
        "dropout 1 is refused");
  CHECK(dnacl_transformer_new(ctx, "tb", 8, 2, 0, 0.0f, &l) == DNACL_ERR_ARG, "mlp 0 is refused");
}

/* Speed at the chapter's size (B 32, C 64, L 50, H 4, F 128): printed, never asserted. */
static void timing(dnacl_ctx *ctx) {
  int B = 32, C = 64, L = 50, H = 4, F = 128;
  dnacl_layer *l;
  OK(dnacl_transformer_new(ctx, "block", C, H, F, 0.1f, &l));
  l->seed = 1234;
  double fb, f;
  time_layer(ctx, l, B, C, L, &fb, &f);
  printf("timing: transformer block B=%d C=%d L=%d H=%d F=%d p=0.1: %.2f ms forward+backward, "
         "%.2f ms forward (best of 5 rounds)\n",
         B, C, L, H, F, fb, f);
  dnacl_layer_free(l);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  golden_case(ctx, "transformer_b5_c32_l13_h4_f64");
  golden_case(ctx, "transformer_b1_c64_l50_h4_f128");
  errors(ctx);
  timing(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
