/* Optimisers: Adam / AdamW steps against torch.optim trajectories (tests/golden/adam_*),
 * the L2-penalty helper against a host computation, and their agreement with Adam's own
 * weight decay. */
#include "harness.h"
#include "train/optim.h"

/* Run the golden gradient sequence through dnacl_adam_step and compare the parameter after
 * every step. Returns the worst absolute error over all steps. */
static double adam_case(dnacl_ctx *ctx, const char *name) {
  printf("%s\n", name);
  dnacl_safetensors g = golden_load(name);
  const char *opt = golden_str(&g, "opt", "?");
  const double lr = golden_num(&g, "lr", 0), b1 = golden_num(&g, "beta1", 0),
               b2 = golden_num(&g, "beta2", 0), eps = golden_num(&g, "eps", 0),
               wd = golden_num(&g, "wd", 0);
  const int decoupled = !strcmp(opt, "adamw");
  CHECK(decoupled || !strcmp(opt, "adam"), "%s: unknown opt '%s'", name, opt);
  CHECK(!strcmp(golden_str(&g, "wd_mode", "?"), decoupled ? "decoupled" : "l2"),
        "%s: wd_mode does not match opt", name);
  dnacl_tensor p, gt, m, v;
  golden_upload(ctx, &g, "p0", &p);
  const dnacl_st_tensor *gs = golden_get(&g, "g"), *ps = golden_get(&g, "p");
  const int S = (int)gs->shape[0];
  const size_t n = p.n;
  CHECK(gs->n == (size_t)S * n && ps->n == (size_t)S * n, "%s: g/p shapes", name);
  OK(dnacl_tensor_alloc(ctx, &gt, p.ndim, p.shape));
  OK(dnacl_tensor_alloc(ctx, &m, p.ndim, p.shape));
  OK(dnacl_tensor_alloc(ctx, &v, p.ndim, p.shape));
  OK(dnacl_tensor_fill(ctx, &m, 0.0f));
  OK(dnacl_tensor_fill(ctx, &v, 0.0f));
  float *got = malloc(n * sizeof *got), *gback = malloc(n * sizeof *gback);
  double worst = 0;
  for (int s = 0; s < S; s++) {
    OK(dnacl_tensor_write(ctx, &gt, gs->data + (size_t)s * n));
    OK(dnacl_adam_step(ctx, &p, &gt, &m, &v, s + 1, (float)lr, (float)b1, (float)b2, (float)eps,
                       (float)wd, decoupled));
    OK(dnacl_tensor_read(ctx, &p, got));
    char label[96];
    snprintf(label, sizeof label, "%s p after step %d", opt, s + 1);
    /* The reference is float64 rounded to float32. Each float32 step rounds p (|p| < 4, so
     * half an ulp is 1.2e-7) and the update (|update| <= ~lr, relative error ~1e-6), so after
     * 5 steps the error is a few ulp of p: atol 1e-6 is ~4 ulp at |p| in [2, 4), and rtol
     * 1e-6 covers larger |p|. */
    double w = compare_host(label, got, ps->data + (size_t)s * n, n, 1e-6, 1e-6);
    if (w > worst) worst = w;
    /* Adam's L2 term is added to a copy: the caller's gradient is left alone. */
    OK(dnacl_tensor_read(ctx, &gt, gback));
    CHECK(!memcmp(gback, gs->data + (size_t)s * n, n * sizeof(float)), "%s: grad was modified",
          name);
  }
  printf("  worst abs err over %d steps: %.3g\n", S, worst);
  free(got);
  free(gback);
  dnacl_tensor_free(&p);
  dnacl_tensor_free(&gt);
  dnacl_tensor_free(&m);
  dnacl_tensor_free(&v);
  dnacl_st_free(&g);
  return worst;
}

/* The L2 helper: penalty = lambda/2 sum p^2 and grad += lambda p; and "helper + Adam with
 * no decay" takes the same step as "Adam with weight_decay = lambda". */
static void test_l2(dnacl_ctx *ctx) {
  printf("l2 penalty\n");
  enum { N = 100003 }; /* odd, and many elements per work-item */
  float *p = malloc(N * sizeof *p), *gr = malloc(N * sizeof *gr), *out = malloc(N * sizeof *out),
        *want = malloc(N * sizeof *want);
  double ss = 0;
  for (int i = 0; i < N; i++) {
    p[i] = (float)sin(0.37 * i) * 1.5f;
    gr[i] = (float)cos(0.11 * i);
    ss += (double)p[i] * p[i];
  }
  const float lambda = 0.03f;
  dnacl_tensor tp, tg, tm, tv, tp2, tg2, tm2, tv2;
  OK(dnacl_tensor_new(ctx, &tp, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tg, N, 0, 0));
  OK(dnacl_tensor_write(ctx, &tp, p));
  OK(dnacl_tensor_write(ctx, &tg, gr));
  float pen = -1;
  OK(dnacl_l2_penalty(ctx, &tp, &tg, lambda, &pen));
  double want_pen = 0.5 * lambda * ss;
  /* A float32 sum of 1e5 positive terms in ~400-term slices then a tree: relative error of
   * order 1e-6 (sqrt(n) * 2^-24 would be 2e-5 in the worst case; 1e-5 is ample). */
  printf("  penalty %.9g want %.9g rel err %.3g\n", pen, want_pen, fabs(pen - want_pen) / want_pen);
  CHECK(fabs(pen - want_pen) <= 1e-5 * want_pen, "penalty %g want %g", (double)pen, want_pen);
  OK(dnacl_tensor_read(ctx, &tg, out));
  for (int i = 0; i < N; i++) want[i] = (float)((double)gr[i] + (double)lambda * p[i]);
  /* One multiply-add per element, fused or not: |g + lambda p| <= 1.05 here, so one ulp is
   * at most 1.2e-7; allow two. */
  compare_host("grad + lambda p (with penalty)", out, want, N, 2.4e-7, 0);
  /* Without the penalty read-back: the gradient-only launch across work-groups. */
  OK(dnacl_tensor_write(ctx, &tg, gr));
  OK(dnacl_l2_penalty(ctx, &tp, &tg, lambda, NULL));
  OK(dnacl_tensor_read(ctx, &tg, out));
  compare_host("grad + lambda p (grad only)", out, want, N, 2.4e-7, 0);

  /* Deterministic: the same penalty bits again. */
  float pen2 = -2;
  OK(dnacl_tensor_write(ctx, &tg, gr));
  OK(dnacl_l2_penalty(ctx, &tp, &tg, lambda, &pen2));
  CHECK(!memcmp(&pen, &pen2, sizeof pen), "penalty not bitwise reproducible: %.9g vs %.9g",
        (double)pen, (double)pen2);

  /* Adam(weight_decay = lambda) vs l2_penalty then Adam(0), three steps. */
  OK(dnacl_tensor_new(ctx, &tm, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tv, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tp2, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tg2, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tm2, N, 0, 0));
  OK(dnacl_tensor_new(ctx, &tv2, N, 0, 0));
  OK(dnacl_tensor_write(ctx, &tp, p));
  OK(dnacl_tensor_write(ctx, &tp2, p));
  OK(dnacl_tensor_fill(ctx, &tm, 0));
  OK(dnacl_tensor_fill(ctx, &tv, 0));
  OK(dnacl_tensor_fill(ctx, &tm2, 0));
  OK(dnacl_tensor_fill(ctx, &tv2, 0));
  for (int s = 1; s <= 3; s++) {
    OK(dnacl_tensor_write(ctx, &tg, gr));
    OK(dnacl_adam_step(ctx, &tp, &tg, &tm, &tv, s, 1e-3f, 0.9f, 0.999f, 1e-8f, lambda, 0));
    OK(dnacl_tensor_write(ctx, &tg2, gr));
    OK(dnacl_l2_penalty(ctx, &tp2, &tg2, lambda, NULL));
    OK(dnacl_adam_step(ctx, &tp2, &tg2, &tm2, &tv2, s, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0));
  }
  OK(dnacl_tensor_read(ctx, &tp, out));
  OK(dnacl_tensor_read(ctx, &tp2, want));
  /* Same arithmetic up to multiply-add fusion: a couple of ulp of |p| <= 1.5. */
  compare_host("Adam(wd) == l2_penalty + Adam(0)", out, want, N, 5e-7, 0);

  /* Errors, not crashes. */
  dnacl_tensor small;
  OK(dnacl_tensor_new(ctx, &small, 7, 0, 0));
  CHECK(dnacl_l2_penalty(ctx, &tp, &small, lambda, NULL) == DNACL_ERR_SHAPE, "size mismatch");
  CHECK(dnacl_adam_step(ctx, &tp, &small, &tm, &tv, 1, 1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0) ==
            DNACL_ERR_SHAPE,
        "adam size mismatch");
  CHECK(dnacl_adam_step(ctx, &tp, &tg, &tm, &tv, 0, 1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0) == DNACL_ERR_ARG,
        "step 0 is refused: steps are 1-based");
  CHECK(strstr(dnacl_last_error(), "1-based") != NULL, "error names the problem: %s",
        dnacl_last_error());
  dnacl_tensor *all[] = {&tp, &tg, &tm, &tv, &tp2, &tg2, &tm2, &tv2, &small};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) dnacl_tensor_free(all[i]);
  free(p);
  free(gr);
  free(out);
  free(want);
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  adam_case(ctx, "adam_adam");
  adam_case(ctx, "adam_adam_wd");
  adam_case(ctx, "adam_adamw");
  test_l2(ctx);
  dnacl_ctx_release(ctx);
  ctx = harness_other_class_ctx();
  adam_case(ctx, "adam_adam");
  adam_case(ctx, "adam_adam_wd");
  adam_case(ctx, "adam_adamw");
  dnacl_ctx_release(ctx);
  return harness_summary();
}
