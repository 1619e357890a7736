/* dnacl bench: inference and training-step throughput of a model on the chosen device,
 * in sequences/s and GFLOP/s. tools/bench.sh runs it beside PyTorch and OpenBLAS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "nn/model.h"
#include "train/trainer.h"

/* Seconds per call of the step, after one warm-up, over at least min_s and 3 calls. */
typedef dnacl_status (*step_fn)(void *);
static dnacl_status timed(step_fn f, void *u, dnacl_ctx *ctx, double min_s, double *per) {
  DNACL_TRY(f(u));
  DNACL_TRY(dnacl_finish(ctx));
  int n = 0;
  double t0 = dnacl_now_s(), dt;
  do {
    DNACL_TRY(f(u));
    DNACL_TRY(dnacl_finish(ctx));
    n++;
    dt = dnacl_now_s() - t0;
  } while (dt < min_s || n < 3);
  *per = dt / n;
  return DNACL_OK;
}

typedef struct bench_state {
  dnacl_ctx *ctx;
  dnacl_model *m;
  dnacl_optimizer opt;
  dnacl_step_buffers buf;
  dnacl_tensor x, y;
} bench_state;

static dnacl_status infer(void *u) {
  bench_state *b = u;
  return dnacl_model_forward(b->ctx, b->m, &b->x, 0);
}
static dnacl_status train(void *u) {
  bench_state *b = u;
  return dnacl_train_step(b->ctx, b->m, &b->opt, &b->buf, &b->x, &b->y, 1e-3f, NULL);
}

static dnacl_status run(bench_state *b, int batch, double seconds, int json) {
  dnacl_model *m = b->m;
  int L = m->length, T = m->spec.tasks;
  float *hx = calloc((size_t)batch * 4 * L, sizeof *hx), *hy = calloc((size_t)batch * T, sizeof *hy);
  if (!hx || !hy) return dnacl_fail(DNACL_ERR_NOMEM, "out of memory");
  uint32_t r = 12345;
  for (int i = 0; i < batch; i++) {
    for (int j = 0; j < L; j++) {
      r = r * 1664525u + 1013904223u;
      hx[((size_t)i * 4 + (r >> 30)) * L + j] = 1.0f;
    }
    for (int t = 0; t < T; t++) hy[i * T + t] = (float)((i + t) & 1);
  }
  dnacl_status s = dnacl_tensor_new(b->ctx, &b->x, batch, 4, L);
  if (s == DNACL_OK) s = dnacl_tensor_new(b->ctx, &b->y, batch, T, 0);
  if (s == DNACL_OK) s = dnacl_tensor_write(b->ctx, &b->x, hx);
  if (s == DNACL_OK) s = dnacl_tensor_write(b->ctx, &b->y, hy);
  free(hx);
  free(hy);
  double t_inf = 0, t_train = 0;
  if (s == DNACL_OK) s = timed(infer, b, b->ctx, seconds, &t_inf);
  if (s == DNACL_OK) s = timed(train, b, b->ctx, seconds, &t_train);
  if (s == DNACL_OK) {
    double f = dnacl_model_forward_flops(m);
    const char *dev = dnacl_ctx_device(b->ctx)->name;
    double ti[2] = {t_inf, t_train}, mult[2] = {1, 3};
    const char *mode[2] = {"infer", "train"};
    for (int k = 0; k < 2; k++) {
      double sps = batch / ti[k], gf = sps * f * mult[k] * 1e-9;
      if (json)
        printf("{\"peer\": \"dnacl\", \"device\": \"%s\", \"model\": \"%s\", \"batch\": %d, \"mode\": \"%s\", "
               "\"seq_per_s\": %.1f, \"ms_per_batch\": %.3f, \"gflops\": %.2f}\n",
               dev, m->spec.name, batch, mode[k], sps, ti[k] * 1e3, gf);
      else
        printf("%-6s batch %4d: %9.1f seq/s  %8.3f ms/batch  %6.1f GFLOP/s\n", mode[k], batch, sps, ti[k] * 1e3, gf);
    }
  }
  dnacl_tensor_free(&b->x);
  dnacl_tensor_free(&b->y);
  return s;
}

/* Per-layer share of the time of all calls of run() (inference and training together). */
static void print_profile(const dnacl_model *m) {
  double total = 0;
  for (int i = 0; i < m->n_nodes; i++) total += m->fwd_s[i] + m->bwd_s[i];
  printf("  %-12s %-12s %10s %10s %7s\n", "layer", "kind", "fwd ms", "bwd ms", "share");
  for (int i = 0; i < m->n_nodes; i++) {
    const dnacl_layer *l = m->nodes[i].layer;
    printf("  %-12s %-12s %10.1f %10.1f %6.1f%%\n", l ? l->name : m->spec.layers[i].name, l ? l->ops->kind : "residual",
           m->fwd_s[i] * 1e3, m->bwd_s[i] * 1e3, total > 0 ? 100 * (m->fwd_s[i] + m->bwd_s[i]) / total : 0);
  }
}

int cmd_bench(int argc, char **argv) {
  cli_common c = {0};
  const char *model = "yaml/models/baseline.yaml", *batches = "32,256";
  double seconds = 3.0;
  int json = 0, profile = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &c);
    if (r < 0) return 2;
    if (r) continue;
    if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batches = argv[++i];
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(argv[i], "--profile")) profile = 1;
    else {
      fprintf(stderr, "dnacl bench: unknown option '%s'\nusage: dnacl bench [--model M.yaml] [--batch 32,256] [--seconds S] [--json] [--profile]\n", argv[i]);
      return 2;
    }
  }
  bench_state b;
  memset(&b, 0, sizeof b);
  dnacl_model_spec spec;
  if (dnacl_ctx_create(c.device, c.verbose, &b.ctx) != DNACL_OK || dnacl_model_spec_load(model, &spec) != DNACL_OK ||
      dnacl_model_build(b.ctx, &spec, &b.m) != DNACL_OK || dnacl_model_init(b.ctx, b.m, 1) != DNACL_OK) {
    fprintf(stderr, "dnacl bench: %s\n", dnacl_last_error());
    dnacl_ctx_release(b.ctx);
    return 1;
  }
  dnacl_adam_cfg cfg = dnacl_adam_defaults();
  dnacl_status s = dnacl_optimizer_init(b.ctx, b.m, &cfg, &b.opt);
  if (!json && s == DNACL_OK)
    printf("model %s (L=%d), %.2f MFLOP/sequence forward, device %s\n", b.m->spec.name, b.m->length,
           dnacl_model_forward_flops(b.m) * 1e-6, dnacl_ctx_device(b.ctx)->name);
  for (const char *p = batches; s == DNACL_OK && *p;) {
    int batch = atoi(p);
    if (batch < 1) {
      s = dnacl_fail(DNACL_ERR_ARG, "--batch wants a comma-separated list of positive sizes, got '%s'", batches);
      break;
    }
    if (profile) s = dnacl_model_profile(b.m, 1);
    if (s == DNACL_OK) s = run(&b, batch, seconds, json);
    if (s == DNACL_OK && profile) print_profile(b.m);
    p = strchr(p, ',');
    if (!p) break;
    p++;
  }
  if (s != DNACL_OK) fprintf(stderr, "dnacl bench: %s\n", dnacl_last_error());
  dnacl_optimizer_free(&b.opt);
  dnacl_step_buffers_free(&b.buf);
  dnacl_model_free(b.m);
  dnacl_ctx_release(b.ctx);
  return s == DNACL_OK ? 0 : 1;
}
