/* Checkpoints across the two implementations and through a save/load cycle.
 *
 * tests/golden/checkpoint_fewer_conv_channels.safetensors is a checkpoint written by
 * `dnacl train` (30 steps of yaml/models/fewer_conv_channels.yaml on ZBED2, cropped to 200
 * bp); tests/golden/checkpoint_predictions.safetensors holds the first 64 test sequences
 * (cropped as dnacl's loader crops) and the probabilities PyTorch's ConvModelV2 gives for
 * them after load_dnacl of that checkpoint (tools/make_checkpoint_golden.py). So:
 *
 *   1. the checkpoint loads the way `dnacl eval/predict` load a run (dnacl_run_load: the
 *      model from the YAML in the metadata, every parameter strictly) and dnacl's
 *      predictions equal PyTorch's — the checkpoint means the same network in both;
 *   2. parameters go to the device and back bit for bit;
 *   3. dnacl_checkpoint_save -> dnacl_st_load gives back every parameter and both Adam
 *      moments bit for bit, with the model YAML and the caller's metadata, and no temporary
 *      file is left; the saved run loads again and predicts the same bits;
 *   4. a checkpoint missing a tensor is refused, naming the tensor. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/trainer.h"

#define GOLDEN_DIR "tests/golden"
#define GOLDEN_CKPT "checkpoint_fewer_conv_channels"

/* Read a device tensor into a new host array. */
static float *read_back(dnacl_ctx *ctx, const dnacl_tensor *t) {
  float *h = malloc((t->n ? t->n : 1) * sizeof *h);
  if (!h) {
    printf("FAIL out of memory\n");
    exit(1);
  }
  OK(dnacl_tensor_read(ctx, t, h));
  return h;
}

/* Bitwise equality of a device tensor with host floats (memcmp: -0.0 vs 0.0 or NaN
 * payloads would differ too, which is the point of a bit-exact round trip). */
static int same_bits(dnacl_ctx *ctx, const dnacl_tensor *t, const float *want, size_t n) {
  if (t->n != n) return 0;
  float *h = read_back(ctx, t);
  int same = memcmp(h, want, n * sizeof *h) == 0;
  free(h);
  return same;
}

static dnacl_seqset view_of(const dnacl_st_tensor *x) {
  dnacl_seqset s;
  memset(&s, 0, sizeof s);
  s.n = (int)x->shape[0];
  s.length = (int)x->shape[2];
  s.x = x->data;
  return s;
}

int main(void) {
  dnacl_ctx *ctx = harness_ctx();
  dnacl_safetensors pred = golden_load("checkpoint_predictions");
  dnacl_safetensors ck = golden_load(GOLDEN_CKPT);
  const dnacl_st_tensor *x = golden_get(&pred, "x"), *probs = golden_get(&pred, "probs");
  CHECK(x->ndim == 3 && x->shape[0] == 64 && x->shape[1] == 4 && x->shape[2] == 200, "x is (64, 4, 200)");
  CHECK(probs->n == 64, "probs has 64 values");

  /* 1. Load as a run and predict. */
  printf("golden checkpoint vs PyTorch ConvModelV2:\n");
  dnacl_model *m;
  OK(dnacl_run_load(ctx, GOLDEN_DIR, GOLDEN_CKPT, &m));
  CHECK(!strcmp(m->spec.name, "fewer_conv_channels"), "model name %s", m->spec.name);
  CHECK(m->length == 200 && m->spec.tasks == 1, "length %d tasks %d", m->length, m->spec.tasks);
  CHECK(dnacl_model_param_count(m, 0) == 60689, "parameters %zu, want 60689", dnacl_model_param_count(m, 0));
  dnacl_seqset set = view_of(x);
  float logits[64], logits5[64], p[64];
  /* Batch 64 (one full batch) and 5 (13 batches, the last padded with zero rows): eval
   * mode uses running statistics, so the batch size must not change the result. */
  OK(dnacl_predict_logits(ctx, m, &set, 64, logits));
  OK(dnacl_predict_logits(ctx, m, &set, 5, logits5));
  for (int i = 0; i < 64; i++) p[i] = (float)(1.0 / (1.0 + exp(-(double)logits[i])));
  /* Probabilities lie in (0.26, 0.64) and come from float32 logits of ~60k-term sums
   * against a float64 reference: errors are ~1e-7; 1e-5 absolute leaves room for other
   * devices' summation orders while catching any real mismatch (a wrong crop, a swapped
   * layout or batchnorm in training mode moves them by > 1e-2). */
  compare_host("probabilities (batch 64)", p, probs->data, 64, 1e-5, 0);
  const dnacl_st_tensor *want_logits = golden_get(&pred, "logits");
  compare_host("logits (batch 64)", logits, want_logits->data, 64, 4e-5, 0);
  compare_host("logits (batch 5, padded)", logits5, want_logits->data, 64, 4e-5, 0);

  /* 2. Every parameter on the device has the golden file's bits. */
  char q[128];
  dnacl_param *prm;
  int n_params = 0, bit_ok = 0;
  for (int i = 0; (prm = dnacl_model_param(m, i, q, sizeof q)); i++, n_params++) {
    const dnacl_st_tensor *t = dnacl_st_get(&ck, q);
    int ok = t && same_bits(ctx, &prm->value, t->data, t->n);
    bit_ok += ok;
    CHECK(ok, "parameter %s differs from the golden file after upload", q);
  }
  CHECK(n_params == ck.n, "model has %d parameters, golden file %d tensors", n_params, ck.n);
  printf("  %d of %d parameters bit-identical after upload and read-back\n", bit_ok, n_params);

  /* 3. Save with optimiser state and load back. One training step makes the Adam moments
   * non-zero (and changes every trainable parameter), so a dropped or swapped tensor
   * cannot hide behind zeros. */
  printf("checkpoint save -> load:\n");
  dnacl_optimizer opt;
  dnacl_adam_cfg ac = dnacl_adam_defaults();
  OK(dnacl_optimizer_init(ctx, m, &ac, &opt));
  dnacl_step_buffers buf;
  memset(&buf, 0, sizeof buf);
  dnacl_tensor tx, ty;
  float hy[32];
  for (int i = 0; i < 32; i++) hy[i] = (float)(i % 2);
  OK(dnacl_tensor_new(ctx, &tx, 32, 4, 200));
  OK(dnacl_tensor_new(ctx, &ty, 32, 1, 0));
  OK(dnacl_tensor_write(ctx, &tx, x->data));
  OK(dnacl_tensor_write(ctx, &ty, hy));
  float loss = 0;
  OK(dnacl_train_step(ctx, m, &opt, &buf, &tx, &ty, 1e-3f, &loss));
  CHECK(isfinite(loss), "training step loss %g", (double)loss);

  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/checkpoint_roundtrip", DNACL_TEST_TMPDIR);
  CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
  snprintf(path, sizeof path, "%s/saved.safetensors", dir);
  const char *keys[2] = {"dnacl.step", "test.note"}, *vals[2] = {"1", "tab\there \"quoted\" ünïcode"};
  OK(dnacl_checkpoint_save(ctx, m, &opt, path, keys, vals, 2));
  char tmp[640];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(access(tmp, F_OK) != 0, "temporary file %s left behind", tmp);

  dnacl_safetensors f;
  OK(dnacl_st_load(path, &f));
  int n_trainable = 0, exact = 0, checked = 0;
  for (int i = 0; (prm = dnacl_model_param(m, i, q, sizeof q)); i++) {
    const dnacl_st_tensor *t = dnacl_st_get(&f, q);
    CHECK(t != NULL, "saved file lacks %s", q);
    if (t) {
      int ok = t->ndim == prm->value.ndim;
      for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == prm->value.shape[d];
      CHECK(ok, "%s saved with another shape", q);
      ok = ok && same_bits(ctx, &prm->value, t->data, t->n);
      CHECK(ok, "%s not bit-identical after save/load", q);
      exact += ok;
      checked++;
    }
    if (!prm->trainable) continue;
    n_trainable++;
    for (int k = 0; k < 2; k++) {
      char name[160];
      snprintf(name, sizeof name, "adam.%c.%s", k ? 'v' : 'm', q);
      const dnacl_st_tensor *mt = dnacl_st_get(&f, name);
      int ok = mt && same_bits(ctx, k ? &opt.v[i] : &opt.m[i], mt->data, mt->n);
      CHECK(ok, "%s missing or not bit-identical", name);
      exact += ok;
      checked++;
    }
  }
  CHECK(f.n == checked, "saved file has %d tensors, expected %d", f.n, checked);
  printf("  %d of %d tensors (%d parameters, %d Adam moment pairs) bit-identical\n", exact, checked,
         n_params, n_trainable);
  const char *yaml = dnacl_st_meta(&f, "dnacl.model_yaml");
  CHECK(yaml && m->spec.text && !strcmp(yaml, m->spec.text), "model YAML metadata differs from the spec text");
  CHECK(dnacl_st_meta(&f, "test.note") && !strcmp(dnacl_st_meta(&f, "test.note"), vals[1]),
        "metadata with a tab, quotes and UTF-8 did not round-trip");

  /* The saved run loads again (YAML from metadata), with the same optimiser state, and
   * predicts the same bits as the model it was saved from (same device, same batch). */
  dnacl_model *m2;
  OK(dnacl_run_load(ctx, dir, "saved", &m2));
  dnacl_optimizer opt2;
  OK(dnacl_optimizer_init(ctx, m2, &ac, &opt2));
  OK(dnacl_checkpoint_load_optimizer(ctx, m2, &opt2, &f));
  int moments_ok = 1;
  for (int i = 0; (prm = dnacl_model_param(m2, i, q, sizeof q)); i++) {
    if (!prm->trainable) continue;
    float *a = read_back(ctx, &opt.m[i]), *b = read_back(ctx, &opt.v[i]);
    moments_ok &= same_bits(ctx, &opt2.m[i], a, prm->value.n) && same_bits(ctx, &opt2.v[i], b, prm->value.n);
    free(a);
    free(b);
  }
  CHECK(moments_ok, "Adam moments differ after dnacl_checkpoint_load_optimizer");
  float l1[64], l2[64];
  OK(dnacl_predict_logits(ctx, m, &set, 64, l1));
  OK(dnacl_predict_logits(ctx, m2, &set, 64, l2));
  CHECK(!memcmp(l1, l2, sizeof l1), "reloaded model predicts different bits");
  printf("  reloaded run: Adam moments %s, logits %s\n", moments_ok ? "identical" : "DIFFER",
         memcmp(l1, l2, sizeof l1) ? "DIFFER" : "bit-identical");

  /* 4. A checkpoint without conv2.b: strict loading names the missing tensor. */
  dnacl_st_tensor *keep = calloc((size_t)ck.n, sizeof *keep);
  int nk = 0;
  for (int i = 0; i < ck.n; i++)
    if (strcmp(ck.t[i].name, "conv2.b")) keep[nk++] = ck.t[i];
  const char *mk[1] = {"dnacl.model_yaml"}, *mv[1] = {dnacl_st_meta(&ck, "dnacl.model_yaml")};
  snprintf(path, sizeof path, "%s/partial.safetensors", dir);
  OK(dnacl_st_save(path, keep, nk, mk, mv, 1));
  dnacl_model *m3 = NULL;
  dnacl_status s = dnacl_run_load(ctx, dir, "partial", &m3);
  CHECK(s != DNACL_OK && strstr(dnacl_last_error(), "conv2.b"), "missing conv2.b: got %s: %s",
        dnacl_status_name(s), dnacl_last_error());
  CHECK(m3 == NULL, "a failed load returns no model");
  printf("  missing tensor: %s\n", dnacl_last_error());
  free(keep);

  dnacl_optimizer_free(&opt);
  dnacl_optimizer_free(&opt2);
  dnacl_step_buffers_free(&buf);
  dnacl_tensor_free(&tx);
  dnacl_tensor_free(&ty);
  dnacl_model_free(m);
  dnacl_model_free(m2);
  dnacl_st_free(&f);
  dnacl_st_free(&ck);
  dnacl_st_free(&pred);
  dnacl_ctx_release(ctx);
  return harness_summary();
}
