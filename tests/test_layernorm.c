/* LayerNorm over channels against PyTorch (tests/golden/layernorm_*, LayerNorm(C) on
 * x.transpose(1, 2)): forward and backward, finite differences of every backward, (B, C)
 * inputs against a host reference, determinism, the param_grads flag, defaults and errors. */
#include "harness.h"
#include "nn/layer.h"

/* Host reference in double of forward and backward, layout (B, C, L). */
static void ln_ref(const float *x, const float *gamma, const float *beta, const float *dy, int B,
                   int C, int L, double eps, float *y, float *dx, float *dgamma, float *dbeta) {
  for (int c = 0; c < C; c++) dgamma[c] = dbeta[c] = 0;
  double *dg = calloc((size_t)C, sizeof *dg), *db = calloc((size_t)C, sizeof *db);
  for (int b = 0; b < B; b++)
    for (int l = 0; l < L; l++) {
      const size_t base = (size_t)b * C * L + l;
      double m = 0, v = 0, sg = 0, sgx = 0;
      for (int c = 0; c < C; c++) m += x[base + (size_t)c * L];
      m /= C;
      for (int c = 0; c < C; c++) v += (x[base + (size_t)c * L] - m) * (x[base + (size_t)c * L] - m);
      const double r = 1.0 / sqrt(v / C + eps);
      for (int c = 0; c < C; c++) {
        const size_t k = base + (size_t)c * L;
        const double xh = (x[k] - m) * r, gg = (double)dy[k] * gamma[c];
        y[k] = (float)(xh * gamma[c] + beta[c]);
        sg += gg;
        sgx += gg * xh;
        dg[c] += (double)dy[k] * xh;
        db[c] += dy[k];
      }
      for (int c = 0; c < C; c++) {
        const size_t k = base + (size_t)c * L;
        const double xh = (x[k] - m) * r;
        dx[k] = (float)(r * ((double)dy[k] * gamma[c] - sg / C - xh * sgx / C));
      }
    }
  for (int c = 0; c < C; c++) {
    dgamma[c] = (float)dg[c];
    dbeta[c] = (float)db[c];
  }
  free(dg);
  free(db);
}

/* Forward, backward and checks for one layer and input; want_* NULL means "use the host
 * reference". Returns the worst absolute error against the reference. */
static double ln_check(dnacl_ctx *ctx, dnacl_layer *l, dnacl_tensor *x, dnacl_tensor *dy,
                       const float *xh, const float *gh, const float *bh, const float *dyh,
                       const float *want_y, const float *want_dx, const float *want_dg,
                       const float *want_db) {
  const int C = x->shape[1];
  dnacl_tensor y, dx;
  dnacl_shape in = dnacl_tensor_shape(x), out;
  OK(l->ops->infer(l, &in, &out));
  CHECK(dnacl_shape_equal(&in, &out), "output shape is the input shape");
  OK(dnacl_tensor_alloc(ctx, &y, out.ndim, out.d));
  OK(dnacl_tensor_alloc(ctx, &dx, x->ndim, x->shape));
  OK(l->ops->forward(l, ctx, x, &y, 1));
  OK(l->ops->backward(l, ctx, x, &y, dy, &dx, 1));
  dnacl_param *gamma = dnacl_layer_param(l, "gamma"), *beta = dnacl_layer_param(l, "beta");

  double worst = 0, w;
  float *got = read_host(ctx, &y);
  /* y = xhat * gamma + beta, |y| <= ~5: the statistics of <= 64 values are accurate to a
   * few 1e-7 relative (two passes; OpenCL's sqrt within 3 ulp), so 5e-6 absolute. */
  w = compare_host("y", got, want_y, y.n, 5e-6, 1e-5);
  if (w > worst) worst = w;
  free(got);
  /* dx = invstd (g - mean(g) - xhat mean(g xhat)) cancels terms of size |dy gamma| <= ~6
   * with invstd <= ~3: ~1e-6 absolute expected, 1e-5 allowed. */
  float *dx1 = read_host(ctx, &dx);
  w = compare_host("dx", dx1, want_dx, dx.n, 1e-5, 1e-5);
  if (w > worst) worst = w;
  /* dgamma, dbeta: sums over B*L <= 1650 terms of size ~4, results up to ~40: float32 sums
   * are within a few ulp of the partial sums (< 1e3), so 5e-5 absolute. */
  float *dg1 = read_host(ctx, &gamma->grad), *db1 = read_host(ctx, &beta->grad);
  w = compare_host("dgamma", dg1, want_dg, (size_t)C, 5e-5, 1e-5);
  if (w > worst) worst = w;
  w = compare_host("dbeta", db1, want_db, (size_t)C, 5e-5, 1e-5);
  if (w > worst) worst = w;

  /* Deterministic. */
  OK(l->ops->forward(l, ctx, x, &y, 0));
  OK(l->ops->backward(l, ctx, x, &y, dy, &dx, 1));
  float *dx2 = read_host(ctx, &dx), *dg2 = read_host(ctx, &gamma->grad);
  CHECK(!memcmp(dx1, dx2, dx.n * 4) && !memcmp(dg1, dg2, (size_t)C * 4), "not bitwise reproducible");
  /* param_grads = 0 leaves the gradients alone; dx = NULL still gives the parameter grads. */
  OK(dnacl_tensor_fill(ctx, &gamma->grad, 7.0f));
  OK(dnacl_tensor_fill(ctx, &beta->grad, 7.0f));
  OK(l->ops->backward(l, ctx, x, &y, dy, &dx, 0));
  float *gg = read_host(ctx, &gamma->grad), *gb = read_host(ctx, &beta->grad);
  int untouched = 1;
  for (int c = 0; c < C; c++) untouched &= gg[c] == 7.0f && gb[c] == 7.0f;
  CHECK(untouched, "param_grads = 0 must not write gradients");
  OK(l->ops->backward(l, ctx, x, &y, dy, NULL, 1));
  float *dg3 = read_host(ctx, &gamma->grad);
  CHECK(!memcmp(dg1, dg3, (size_t)C * 4), "dgamma differs with dx = NULL");

  /* Finite differences of L = sum(y * dy): rounding of ~1e-7 per y (|y| ~ 1) with random dy
   * adds up over <= 5115 terms to ~1e-5 of noise in L. For x, the curvature of y in one
   * x_i is O(invstd^2 / C) ~ 0.1, so h = 2e-2 keeps truncation near 1e-5 and the noise
   * divided by 2h near 3e-4: 1e-3 + 1e-2 relative. gamma and beta enter linearly: h = 0.25,
   * noise ~2e-5. */
  fd_forward u = {ctx, l, x, &y, x, malloc(x->n * 4), dyh, 1};
  memcpy(u.host, xh, x->n * 4);
  fd_check("dL/dx", u.host, x->n, dx1, fd_forward_loss, &u, 24, 2e-2f, 1e-3, 1e-2);
  OK(dnacl_tensor_write(ctx, x, xh));
  free(u.host);
  const float *ph[2] = {gh, bh};
  float *pg[2] = {dg1, db1};
  dnacl_param *pp[2] = {gamma, beta};
  for (int k = 0; k < 2; k++) {
    fd_forward up = {ctx, l, x, &y, &pp[k]->value, malloc((size_t)C * 4), dyh, 1};
    memcpy(up.host, ph[k], (size_t)C * 4);
    fd_check(k ? "dL/dbeta" : "dL/dgamma", up.host, (size_t)C, pg[k], fd_forward_loss, &up, 16, 0.25f, 5e-4, 1e-3);
    OK(dnacl_tensor_write(ctx, &pp[k]->value, ph[k]));
    free(up.host);
  }
  float *bufs[] = {dx1, dg1, db1, dx2, dg2, gg, gb, dg3};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
  dnacl_tensor_free(&y);
  dnacl_tensor_free(&dx);
  return worst;
}

static double ln_case(dnacl_ctx *ctx, const char *name) {
  printf("%s\n", name);
  dnacl_safetensors g = golden_load(name);
  const int C = golden_int(&g, "C", 0);
  dnacl_layer *l;
  OK(dnacl_layernorm_new(ctx, "ln1", C, (float)golden_num(&g, "eps", 0), &l));
  OK(dnacl_tensor_write(ctx, &dnacl_layer_param(l, "gamma")->value, golden_get(&g, "gamma")->data));
  OK(dnacl_tensor_write(ctx, &dnacl_layer_param(l, "beta")->value, golden_get(&g, "beta")->data));
  dnacl_tensor x, dy;
  golden_upload(ctx, &g, "x", &x);
  golden_upload(ctx, &g, "dy", &dy);
  double w = ln_check(ctx, l, &x, &dy, golden_get(&g, "x")->data, golden_get(&g, "gamma")->data,
                      golden_get(&g, "beta")->data, golden_get(&g, "dy")->data,
                      golden_get(&g, "y")->data, golden_get(&g, "dx")->data,
                      golden_get(&g, "dgamma")->data, golden_get(&g, "dbeta")->data);
  printf("  worst abs err against the golden file: %.3g\n", w);
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&dy);
  dnacl_layer_free(l);
  dnacl_st_free(&g);
  return w;
}

/* A (B, C) input (normalised over C per row) against the double host reference, which is
 * itself first checked against a golden file's forward and backward. */
static void test_2d(dnacl_ctx *ctx) {
  printf("(B, C) input vs host reference\n");
  {
    dnacl_safetensors g = golden_load("layernorm_b5_c31_l33");
    const int B = 5, C = 31, L = 33;
    size_t n = (size_t)B * C * L;
    float *y = malloc(n * 4), *dx = malloc(n * 4), dg[31], db[31];
    ln_ref(golden_get(&g, "x")->data, golden_get(&g, "gamma")->data, golden_get(&g, "beta")->data,
           golden_get(&g, "dy")->data, B, C, L, 1e-5, y, dx, dg, db);
    /* Double on both sides, rounded to float: within an ulp or two. */
    compare_host("host reference y vs golden", y, golden_get(&g, "y")->data, n, 1e-6, 1e-6);
    compare_host("host reference dx vs golden", dx, golden_get(&g, "dx")->data, n, 1e-6, 1e-6);
    compare_host("host reference dgamma vs golden", dg, golden_get(&g, "dgamma")->data, 31, 1e-5, 1e-6);
    free(y);
    free(dx);
    dnacl_st_free(&g);
  }
  const int B = 7, C = 65;
  const size_t n = (size_t)B * C;
  float x[7 * 65], dy[7 * 65], gamma[65], beta[65], y[7 * 65], dx[7 * 65], dg[65], db[65];
  for (size_t i = 0; i < n; i++) {
    x[i] = (float)(1.5 * sin(0.7 * i) + 0.3 * (i / C)); /* a per-row offset */
    dy[i] = (float)cos(1.1 * i);
  }
  for (int c = 0; c < C; c++) {
    gamma[c] = 1.0f + 0.2f * (float)sin(c);
    beta[c] = 0.2f * (float)cos(c);
  }
  ln_ref(x, gamma, beta, dy, B, C, 1, 1e-5, y, dx, dg, db);
  dnacl_layer *l;
  OK(dnacl_layernorm_new(ctx, "ln2", C, 1e-5f, &l));
  OK(dnacl_tensor_write(ctx, &dnacl_layer_param(l, "gamma")->value, gamma));
  OK(dnacl_tensor_write(ctx, &dnacl_layer_param(l, "beta")->value, beta));
  dnacl_tensor tx, tdy;
  OK(dnacl_tensor_new(ctx, &tx, B, C, 0));
  OK(dnacl_tensor_new(ctx, &tdy, B, C, 0));
  OK(dnacl_tensor_write(ctx, &tx, x));
  OK(dnacl_tensor_write(ctx, &tdy, dy));
  double w = ln_check(ctx, l, &tx, &tdy, x, gamma, beta, dy, y, dx, dg, db);
  printf("  worst abs err against the host reference: %.3g\n", w);
  dnacl_tensor_free(&tx);
  dnacl_tensor_free(&tdy);
  dnacl_layer_free(l);
}

static void test_defaults_and_errors(dnacl_ctx *ctx) {
  printf("defaults and errors\n");
  dnacl_layer *l;
  OK(dnacl_layernorm_new(ctx, "ln", 6, 1e-5f, &l));
  CHECK(!strcmp(l->ops->kind, "layernorm") && l->n_params == 2, "kind and two params");
  CHECK(l->ops->deeplift == DNACL_DEEPLIFT_NONE, "layer norm has no DeepLIFT rule");
  const char *names[2] = {"gamma", "beta"};
  for (int i = 0; i < 2; i++) {
    dnacl_param *p = dnacl_layer_param(l, names[i]);
    CHECK(p && p->value.n == 6 && p->trainable && !p->decay && p->grad.buf, "param %s", names[i]);
    if (!p) continue;
    float *v = read_host(ctx, &p->value);
    CHECK(v[0] == (i ? 0.0f : 1.0f) && v[5] == v[0], "%s initialised to %d", names[i], !i);
    free(v);
  }
  dnacl_shape bad = {3, {2, 4, 9}}, out;
  CHECK(l->ops->infer(l, &bad, &out) == DNACL_ERR_SHAPE, "wrong channel count");
  CHECK(strstr(dnacl_last_error(), "ln") && strstr(dnacl_last_error(), "6"), "error names the layer: %s",
        dnacl_last_error());
  dnacl_tensor x, y, dy;
  OK(dnacl_tensor_new(ctx, &x, 2, 6, 3));
  OK(dnacl_tensor_new(ctx, &y, 2, 6, 3));
  OK(dnacl_tensor_new(ctx, &dy, 2, 6, 3));
  CHECK(l->ops->backward(l, ctx, &x, &y, &dy, NULL, 1) == DNACL_ERR_ARG, "backward before forward");
  dnacl_tensor_free(&x);
  dnacl_tensor_free(&y);
  dnacl_tensor_free(&dy);
  dnacl_layer_free(l);
  CHECK(dnacl_layernorm_new(ctx, "ln", 8, 0.0f, &l) == DNACL_ERR_ARG, "eps must be positive");
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  ln_case(ctx, "layernorm_b1_c64_l50");
  ln_case(ctx, "layernorm_b5_c31_l33");
  test_2d(ctx);
  test_defaults_and_errors(ctx);
  dnacl_ctx_release(ctx);
  ctx = harness_other_class_ctx();
  ln_case(ctx, "layernorm_b1_c64_l50");
  ln_case(ctx, "layernorm_b5_c31_l33");
  test_2d(ctx);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
