/* Explainers: attributions of a model's output to its one-hot input. They reuse the
 * layers' own forward and backward passes (DESIGN.md, "the core contract"); a layer
 * without a rule for a method is refused by name, never silently.
 *
 * Common conventions: inputs x are host arrays (n, 4, L) one-hot; outputs are host arrays
 * (n, 4, L) of float; `target` is the output task index; `output` selects what is
 * explained: the logit (default) or the sigmoid probability. */
#ifndef DNACL_EXPLAIN_H
#define DNACL_EXPLAIN_H
#include "nn/model.h"

typedef enum dnacl_explain_output { DNACL_EXPLAIN_LOGIT = 0, DNACL_EXPLAIN_PROB = 1 } dnacl_explain_output;

/* In silico saturation mutagenesis: out[i, b, p] = f(x with base b at position p) - f(x)
 * for every alternative base b at every position p, and 0 at the reference base.
 * incremental = 0: a full forward per variant (batched). incremental = 1: only the
 * receptive field of the changed base is recomputed through the convolution stack and the
 * first dense layer is updated by the change of its input; models with layers that break
 * locality (attention, transformer blocks) fall back to the naive method (*used_incremental
 * says which ran; may be NULL). Both agree to 1e-4 relative. */
dnacl_status dnacl_ism(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int target,
                       dnacl_explain_output output, int incremental, float *out, int *used_incremental);
#endif
