/* BatchNorm against PyTorch (tests/golden/batchnorm_*): forward, running statistics,
 * backward in train and eval mode; finite differences of every backward; determinism;
 * the param_grads flag; constructor defaults and shape errors. */
#include "harness.h"
#include "nn/layer.h"

static void set_param(dnacl_ctx *ctx, dnacl_layer *l, const dnacl_safetensors *g, const char *name) {
  dnacl_param *p = dnacl_layer_param(l, name);
  CHECK(p != NULL, "batchnorm has no param %s", name);
  const dnacl_st_tensor *t = golden_get(g, name);
  CHECK(t->n == p->value.n, "param %s: %zu values in the golden file, %zu in the layer", name, t->n,
        p->value.n);
  OK(dnacl_tensor_write(ctx, &p->value, t->data));
}

/* Returns the worst absolute error of the comparisons against the golden file. */
static double bn_case(dnacl_ctx *ctx, const char *name) {
  printf("%s\n", name);
  dnacl_safetensors g = golden_load(name);
  const int train = !strcmp(golden_str(&g, "mode", "?"), "train");
  const int C = golden_int(&g, "C", 0);
  const float eps = (float)golden_num(&g, "eps", 0), mom = (float)golden_num(&g, "momentum", 0);
  CHECK(!strcmp(golden_str(&g, "var_update", "?"), "unbiased"), "%s: running variance update", name);
  dnacl_layer *l;
  OK(dnacl_batchnorm_new(ctx, "bn1", C, eps, mom, &l));
  const char *pn[] = {"gamma", "beta", "rmean", "rvar"};
  for (int i = 0; i < 4; i++) set_param(ctx, l, &g, pn[i]);
  dnacl_tensor x, y, dy, dx;
  golden_upload(ctx, &g, "x", &x);
  golden_upload(ctx, &g, "dy", &dy);
  dnacl_shape in = dnacl_tensor_shape(&x), out;
  OK(l->ops->infer(l, &in, &out));
  CHECK(dnacl_shape_equal(&in, &out), "%s: output shape is the input shape", name);
  OK(dnacl_tensor_alloc(ctx, &y, out.ndim, out.d));
  OK(dnacl_tensor_alloc(ctx, &dx, x.ndim, x.shape));
  OK(l->ops->forward(l, ctx, &x, &y, train));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));

  double worst = 0, w;
  /* Forward: y = xhat * gamma + beta with |y| <= ~8. The float32 mean and variance over
   * <= 2310 values have relative errors of a few 1e-7 (two-pass, tree summed), invstd too,
   * and OpenCL's sqrt may be 3 ulp off, so y is off by ~4e-7 * |xhat * gamma| (<= ~8) plus
   * an ulp: 5e-6 absolute + 1e-5 relative (seen on PoCL: 9.5e-7). */
  w = compare_golden(ctx, "y", &y, &g, "y", 5e-6, 1e-5);
  if (w > worst) worst = w;
  if (train) {
    /* r = 0.9 r + 0.1 stat with stat accurate to a few 1e-7 relative; values <= 2. */
    w = compare_golden(ctx, "rmean_out", &dnacl_layer_param(l, "rmean")->value, &g, "rmean_out", 1e-6, 1e-6);
    if (w > worst) worst = w;
    w = compare_golden(ctx, "rvar_out", &dnacl_layer_param(l, "rvar")->value, &g, "rvar_out", 1e-6, 1e-6);
    if (w > worst) worst = w;
  }
  /* dx: in train mode dy - mean(dy) - xhat mean(dy xhat) cancels terms of size |dy| <= 4, so
   * the error is ~5e-7 of |dy| times gamma*invstd (<= ~2): 5e-6 absolute (seen: 4.8e-7).
   * Eval mode is one product per element, and shares the tolerance. */
  w = compare_golden(ctx, "dx", &dx, &g, "dx", 5e-6, 1e-5);
  if (w > worst) worst = w;
  /* dgamma, dbeta: sums of B*L <= 2310 terms of size ~4 with results up to ~55; float32
   * strided-then-tree sums have errors of a few ulp of the partial sums (~1e3 at most):
   * 5e-5 absolute (seen: 3.8e-6). */
  w = compare_golden(ctx, "dgamma", &dnacl_layer_param(l, "gamma")->grad, &g, "dgamma", 5e-5, 1e-5);
  if (w > worst) worst = w;
  w = compare_golden(ctx, "dbeta", &dnacl_layer_param(l, "beta")->grad, &g, "dbeta", 5e-5, 1e-5);
  if (w > worst) worst = w;

  /* Deterministic: the same inputs give the same bits (running stats reset first). */
  float *y1 = read_host(ctx, &y), *dx1 = read_host(ctx, &dx);
  float *dg1 = read_host(ctx, &dnacl_layer_param(l, "gamma")->grad);
  set_param(ctx, l, &g, "rmean");
  set_param(ctx, l, &g, "rvar");
  OK(l->ops->forward(l, ctx, &x, &y, train));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 1));
  float *y2 = read_host(ctx, &y), *dx2 = read_host(ctx, &dx);
  float *dg2 = read_host(ctx, &dnacl_layer_param(l, "gamma")->grad);
  CHECK(!memcmp(y1, y2, y.n * 4) && !memcmp(dx1, dx2, dx.n * 4) && !memcmp(dg1, dg2, (size_t)C * 4),
        "%s: not bitwise reproducible", name);

  /* param_grads = 0 leaves the gradients alone and gives the same dx; dx = NULL with
   * param_grads gives the same parameter gradients. */
  dnacl_param *gamma = dnacl_layer_param(l, "gamma"), *beta = dnacl_layer_param(l, "beta");
  OK(dnacl_tensor_fill(ctx, &gamma->grad, 7.0f));
  OK(dnacl_tensor_fill(ctx, &beta->grad, 7.0f));
  OK(dnacl_tensor_fill(ctx, &dx, 0.0f));
  OK(l->ops->backward(l, ctx, &x, &y, &dy, &dx, 0));
  float *dx3 = read_host(ctx, &dx), *gg = read_host(ctx, &gamma->grad), *gb = read_host(ctx, &beta->grad);
  int untouched = 1;
  for (int c = 0; c < C; c++) untouched &= gg[c] == 7.0f && gb[c] == 7.0f;
  CHECK(untouched, "%s: param_grads = 0 must not write gradients", name);
  CHECK(!memcmp(dx1, dx3, dx.n * 4), "%s: dx differs with param_grads = 0", name);
  OK(l->ops->backward(l, ctx, &x, &y, &dy, NULL, 1));
  float *dg3 = read_host(ctx, &gamma->grad);
  CHECK(!memcmp(dg1, dg3, (size_t)C * 4), "%s: dgamma differs with dx = NULL", name);

  /* Finite differences of L = sum(y * dy). Each y carries float32 rounding of ~1e-7 * |y|
   * (|y| ~ 1), which adds up over <= 10^4 terms with random dy (|dy| ~ 1) to noise of
   * ~1e-7 * sqrt(10^4) = 1e-5 in L; central differences with step h divide that by 2h.
   * y is affine in one x_i except through the batch statistics, whose curvature is
   * O(1/(B*L)), so a large step is safe: h = 5e-2 for x (|x| ~ 1.5) leaves ~1e-4 of noise
   * (seen: 3.4e-5), checked to 5e-4 + 1e-2 relative; gamma and beta enter linearly, so
   * h = 0.25 costs no truncation error and the noise is ~4e-5. */
  const float *dyh = golden_get(&g, "dy")->data;
  fd_forward u = {ctx, l, &x, &y, &x, malloc(x.n * 4), dyh, train};
  memcpy(u.host, golden_get(&g, "x")->data, x.n * 4);
  fd_check("dL/dx", u.host, x.n, dx1, fd_forward_loss, &u, 24, 5e-2f, 5e-4, 1e-2);
  OK(dnacl_tensor_write(ctx, &x, golden_get(&g, "x")->data));
  free(u.host);
  const char *fdp[2] = {"gamma", "beta"};
  for (int k = 0; k < 2; k++) {
    dnacl_param *p = dnacl_layer_param(l, fdp[k]);
    float *grad = read_host(ctx, &p->grad);
    if (k == 0) memcpy(grad, dg1, (size_t)C * 4); /* the golden-checked dgamma */
    fd_forward up = {ctx, l, &x, &y, &p->value, malloc((size_t)C * 4), dyh, train};
    memcpy(up.host, golden_get(&g, fdp[k])->data, (size_t)C * 4);
    char label[32];
    snprintf(label, sizeof label, "dL/d%s", fdp[k]);
    fd_check(label, up.host, (size_t)C, grad, fd_forward_loss, &up, 16, 0.25f, 5e-4, 1e-3);
    OK(dnacl_tensor_write(ctx, &p->value, up.host));
    free(up.host);
    free(grad);
  }
  printf("  worst abs err against the golden file: %.3g\n", worst);

  float *bufs[] = {y1, dx1, dg1, y2, dx2, dg2, dx3, gg, gb, dg3};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_tensor_free(&dy);
  dnacl_tensor_free(&dx);
  dnacl_layer_free(l);
  dnacl_st_free(&g);
  return worst;
}

static void test_defaults_and_errors(dnacl_ctx *ctx) {
  printf("defaults and errors\n");
  dnacl_layer *l;
  OK(dnacl_batchnorm_new(ctx, "bn", 5, 1e-5f, 0.1f, &l));
  CHECK(!strcmp(l->ops->kind, "batchnorm") && l->ops->deeplift == DNACL_DEEPLIFT_LINEAR, "kind, linear for DeepLIFT");
  const char *names[4] = {"gamma", "beta", "rmean", "rvar"};
  const float init[4] = {1, 0, 0, 1};
  const int trainable[4] = {1, 1, 0, 0};
  for (int i = 0; i < 4; i++) {
    dnacl_param *p = dnacl_layer_param(l, names[i]);
    CHECK(p && p->value.n == 5 && p->trainable == trainable[i] && p->decay == 0, "param %s", names[i]);
    if (!p) continue;
    CHECK((p->grad.buf != NULL) == trainable[i], "%s: a gradient exactly when trainable", names[i]);
    float *v = read_host(ctx, &p->value);
    CHECK(v[0] == init[i] && v[4] == init[i], "%s initialised to %g", names[i], (double)init[i]);
    free(v);
  }
  dnacl_shape bad = {3, {2, 4, 9}}, out;
  CHECK(l->ops->infer(l, &bad, &out) == DNACL_ERR_SHAPE, "wrong channel count");
  CHECK(strstr(dnacl_last_error(), "bn") && strstr(dnacl_last_error(), "5"), "error names the layer: %s",
        dnacl_last_error());
  dnacl_shape bad1 = {1, {5}};
  CHECK(l->ops->infer(l, &bad1, &out) == DNACL_ERR_SHAPE, "rank 1 input");
  /* One value per channel: train mode is refused (unbiased variance undefined), eval works. */
  dnacl_tensor x, y;
  OK(dnacl_tensor_new(ctx, &x, 1, 5, 1));
  OK(dnacl_tensor_new(ctx, &y, 1, 5, 1));
  OK(dnacl_tensor_fill(ctx, &x, 2.0f));
  CHECK(l->ops->forward(l, ctx, &x, &y, 1) == DNACL_ERR_SHAPE, "train with one value per channel");
  OK(l->ops->forward(l, ctx, &x, &y, 0));
  float *yh = read_host(ctx, &y);
  /* Defaults in eval mode: y = x / sqrt(1 + eps). */
  CHECK(fabsf(yh[3] - 2.0f / sqrtf(1.0f + 1e-5f)) < 1e-6f, "eval with default stats: %g", (double)yh[3]);
  free(yh);
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_layer_free(l);
  CHECK(dnacl_batchnorm_new(ctx, "bn", 0, 1e-5f, 0.1f, &l) == DNACL_ERR_ARG, "zero channels");
  CHECK(dnacl_batchnorm_new(ctx, "bn", 4, 1e-5f, 1.5f, &l) == DNACL_ERR_ARG, "momentum > 1");
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  bn_case(ctx, "batchnorm_train_b5_c31_l33");
  bn_case(ctx, "batchnorm_train_b33_c64_l7");
  bn_case(ctx, "batchnorm_train_b33_c65");
  bn_case(ctx, "batchnorm_eval_b5_c64_l33");
  test_defaults_and_errors(ctx);
  dnacl_ctx_release(ctx);
  ctx = harness_other_class_ctx();
  bn_case(ctx, "batchnorm_train_b5_c31_l33");
  bn_case(ctx, "batchnorm_train_b33_c64_l7");
  bn_case(ctx, "batchnorm_train_b33_c65");
  bn_case(ctx, "batchnorm_eval_b5_c64_l33");
  dnacl_ctx_release(ctx);
  return harness_summary();
}
