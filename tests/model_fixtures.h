/* Small models and one-hot sequences made by hand, for the suites whose answers are known
 * because the test planted them (test_filters, test_score, test_model): layer and model
 * specs without a YAML file, setting a node's parameter, and seeded random sequences.
 * Header-only, like harness.h (which it includes). */
#ifndef DNACL_TEST_MODEL_FIXTURES_H
#define DNACL_TEST_MODEL_FIXTURES_H

#include <stdint.h>

#include "harness.h"
#include "io/model_spec.h"
#include "nn/model.h"

/* A layer spec with what the YAML parser fills in when a file says nothing: batchnorm's
 * PyTorch eps and momentum, "same" padding, dilation 1, a bias. The caller sets the rest. */
static inline dnacl_layer_spec spec_layer(dnacl_layer_kind k, const char *name) {
  dnacl_layer_spec s;
  memset(&s, 0, sizeof s);
  s.kind = k;
  snprintf(s.name, sizeof s.name, "%s", name);
  s.eps = 1e-5f;
  s.momentum = 0.1f;
  s.same_padding = 1;
  s.dilation = 1;
  s.bias = 1;
  return s;
}

/* An empty model spec over DNA (alphabet 4) with room for max_layers layers; the caller
 * fills spec.layers and sets n_layers. dnacl_model_build takes the layers over. */
static inline dnacl_model_spec spec_model(const char *name, int length, int tasks, int max_layers) {
  dnacl_model_spec m;
  memset(&m, 0, sizeof m);
  snprintf(m.name, sizeof m.name, "%s", name);
  m.alphabet = 4;
  m.tasks = tasks;
  m.length = length;
  m.layers = calloc((size_t)max_layers, sizeof *m.layers);
  return m;
}

/* Build a model from a spec (which it takes over) and initialise its weights from seed. */
static inline dnacl_model *build_model(dnacl_ctx *ctx, dnacl_model_spec *spec, uint64_t seed) {
  dnacl_model *m;
  OK(dnacl_model_build(ctx, spec, &m));
  OK(dnacl_model_init(ctx, m, seed));
  return m;
}

/* Overwrite parameter `name` of node `node` with host values; a missing parameter ends
 * the test program, since every check after it would be about another model. */
static inline void set_node_param(dnacl_ctx *ctx, dnacl_model *m, int node, const char *name, const float *v) {
  dnacl_param *p = dnacl_layer_param(m->nodes[node].layer, name);
  if (!p) {
    printf("FAIL no parameter %s in node %d\n", name, node);
    exit(1);
  }
  OK(dnacl_tensor_write(ctx, &p->value, v));
}

/* A uniform double in [0, 1) from a splitmix64 stream. Each suite keeps its own state, so
 * its draws do not move when another suite draws more or fewer. */
static inline double splitmix_unit(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* n one-hot sequences (n, 4, L) of uniformly drawn bases. */
static inline void random_onehot(float *x, int n, int L, uint64_t *state) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < L; j++) {
      int b = (int)(splitmix_unit(state) * 4);
      for (int c = 0; c < 4; c++) x[((size_t)i * 4 + c) * L + j] = c == b ? 1.0f : 0.0f;
    }
}

/* Write the bases of s (ACGT) one-hot into a (4, L) sequence from position pos on. */
static inline void put_seq(float *x, int L, int pos, const char *s) {
  for (int j = 0; s[j]; j++)
    for (int c = 0; c < 4; c++) x[(size_t)c * L + pos + j] = "ACGT"[c] == s[j] ? 1.0f : 0.0f;
}

#endif
