/* Multiply-add work of a model, for throughput reports. Only the matrix products are
 * counted (convolutions, dense layers, attention); elementwise work is ignored, as
 * benchmarks conventionally do. Training is counted as 3x the forward pass (forward, input
 * gradient, weight gradient). */
#include "nn/model.h"

double dnacl_model_forward_flops(const dnacl_model *m) {
  double f = 0;
  for (int i = 0; i < m->n_nodes; i++) {
    const dnacl_layer_spec *s = &m->spec.layers[i];
    const dnacl_shape *in = &m->shapes[i], *out = &m->shapes[i + 1];
    switch (s->kind) {
      case DNACL_L_CONV1D:
        f += 2.0 * out->d[1] * out->d[2] * in->d[1] * s->kernel;
        break;
      case DNACL_L_DENSE:
        f += 2.0 * (double)dnacl_shape_count(in) * out->d[1];
        break;
      case DNACL_L_TRANSFORMER: {
        double C = in->d[1], Lt = in->d[2];
        /* q,k,v,o projections, scores and weighted sums, the two MLP products. */
        f += 2.0 * Lt * C * C * 4 + 2.0 * Lt * Lt * C * 2 + 2.0 * Lt * C * s->mlp * 2;
        break;
      }
      default:
        break;
    }
  }
  return f;
}
