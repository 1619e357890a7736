/* dnacl model show: the layers of a model file with their output shapes and parameters.
 *
 * The model is built on the device (dnacl_model_build) rather than inferred here, so the
 * shapes printed are the ones training will use and every shape error is the builder's
 * own file:line:col message. Parameter shapes are printed twice: dnacl's layout (PyTorch's:
 * conv (Cout, Cin, K), dense (Out, In)) and Flax's (conv (K, Cin, Cout), dense (In, Out)),
 * because the chapter and the papers quote Flax/Keras shapes and a reader should be able to
 * check a model file against them without transposing in their head. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "nn/model.h"

static const char *usage =
    "usage: dnacl model show FILE.yaml [--length L] [--device INDEX|NAME] [--verbose]\n"
    "  every layer with its output shape (without the batch) and parameter count, each\n"
    "  parameter's shape as dnacl/PyTorch store it and as Flax does, and the totals.\n"
    "  --length L   build for input length L instead of the file's `length:`\n";

/* "(a,b,c)" of dims [from, nd) of d, reversed when rev is set. */
static const char *dims_str(const int *d, int from, int nd, int rev, char *buf, size_t n) {
  size_t u = (size_t)snprintf(buf, n, "(");
  for (int k = 0; k < nd - from && u < n; k++) {
    int v = rev ? d[nd - 1 - k] : d[from + k];
    u += (size_t)snprintf(buf + u, n - u, "%s%d", k ? "," : "", v);
  }
  if (u < n) snprintf(buf + u, n - u, ")");
  return buf;
}


static int show(dnacl_ctx *ctx, const char *path, int length) {
  dnacl_model_spec spec;
  if (dnacl_model_spec_load(path, &spec) != DNACL_OK) {
    fprintf(stderr, "%s\n", dnacl_last_error());
    return 1;
  }
  /* The override goes into the spec before building, so every downstream shape (and a
   * dense layer's input width) follows from it exactly as if the file had said so. */
  if (length > 0) spec.length = length;
  dnacl_model *m;
  if (dnacl_model_build(ctx, &spec, &m) != DNACL_OK) {
    fprintf(stderr, "%s\n", dnacl_last_error());
    return 1;
  }
  char a[96], b[96], c[96], q[160];
  printf("model %s (%s): input %s, %d task%s\n", m->spec.name, path,
         dims_str(m->shapes[0].d, 1, m->shapes[0].ndim, 0, a, sizeof a), m->spec.tasks,
         m->spec.tasks == 1 ? "" : "s");
  if (m->spec.description) printf("  %s\n", m->spec.description);
  printf("\n%-4s %-18s %-12s %-14s %10s   %-22s %-16s %s\n", "#", "layer", "kind", "output", "params",
         "parameter", "dnacl/PyTorch", "flax");
  size_t total = 0, trainable = 0;
  for (int i = 0; i < m->n_nodes; i++) {
    const dnacl_node *nd = &m->nodes[i];
    const dnacl_layer *l = nd->layer;
    const dnacl_layer_spec *ls = &m->spec.layers[i];
    size_t np = 0;
    for (int k = 0; l && k < l->n_params; k++) np += l->params[k].value.n;
    total += np;
    const char *kind = l ? l->ops->kind : dnacl_layer_kind_name(nd->kind);
    const dnacl_shape *o = &m->shapes[i + 1];
    printf("%-4d %-18s %-12s %-14s %10s", i + 1, ls->name, kind, dims_str(o->d, 1, o->ndim, 0, a, sizeof a),
           np ? dnacl_count_str(np, b, sizeof b) : "-");
    if (!l || l->n_params == 0) printf("\n");
    for (int k = 0; l && k < l->n_params; k++) {
      const dnacl_param *p = &l->params[k];
      if (p->trainable) trainable += p->value.n;
      if (k > 0) printf("%-4s %-18s %-12s %-14s %10s", "", "", "", "", "");
      snprintf(q, sizeof q, "%s.%s%s", l->name, p->name, p->trainable ? "" : " *");
      /* Flax's kernels are dnacl's dims reversed: conv (Cout,Cin,K) -> (K,Cin,Cout),
       * dense and attention projections (Out,In) -> (In,Out); vectors are unchanged. */
      printf("   %-22s %-16s %s\n", q, dims_str(p->value.shape, 0, p->value.ndim, 0, b, sizeof b),
             dims_str(p->value.shape, 0, p->value.ndim, 1, c, sizeof c));
    }
  }
  const dnacl_shape *o = &m->shapes[m->n_nodes];
  printf("\noutput %s (logits)\n", dims_str(o->d, 1, o->ndim, 0, a, sizeof a));
  printf("total %s parameters: %s trainable", dnacl_count_str(total, a, sizeof a), dnacl_count_str(trainable, b, sizeof b));
  if (total > trainable) printf(", %s non-trainable (*: batchnorm running statistics)", dnacl_count_str(total - trainable, c, sizeof c));
  printf("\n");
  dnacl_model_free(m);
  return 0;
}

int cmd_model(int argc, char **argv) {
  cli_common cc = {0};
  const char *sub = NULL, *file = NULL;
  int length = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &cc);
    if (r < 0) return 2;
    if (r) continue;
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--length")) {
      char *end = NULL;
      long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
      if (i + 1 >= argc || *end || end == argv[i + 1] || v < 1 || v > 100000000) {
        fprintf(stderr, "dnacl model: --length expects a positive integer\n");
        return 2;
      }
      length = (int)v;
      i++;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "dnacl model: unknown option '%s'\n%s", a, usage);
      return 2;
    } else if (!sub) {
      sub = a;
    } else if (!file) {
      file = a;
    } else {
      fprintf(stderr, "dnacl model: unexpected argument '%s'\n%s", a, usage);
      return 2;
    }
  }
  if (!sub || strcmp(sub, "show") || !file) {
    if (sub && strcmp(sub, "show")) fprintf(stderr, "dnacl model: unknown subcommand '%s'\n", sub);
    fputs(usage, stderr);
    return 2;
  }
  dnacl_ctx *ctx;
  if (dnacl_ctx_create(cc.device, cc.verbose, &ctx) != DNACL_OK) {
    fprintf(stderr, "dnacl model: %s\n", dnacl_last_error());
    return 1;
  }
  int rc = show(ctx, file, length);
  dnacl_ctx_release(ctx);
  return rc;
}
