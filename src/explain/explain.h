/* Explainers: attributions of a model's output to its one-hot input. They reuse the
 * layers' own forward and backward passes (DESIGN.md, "the core contract"); a layer
 * without a rule for a method is refused by name, never silently.
 *
 * Common conventions: inputs x are host arrays (n, 4, L) one-hot; outputs are host arrays
 * (n, 4, L) of float; `target` is the output task index; `output` selects what is
 * explained: the logit (default) or the sigmoid probability. */
#ifndef DNACL_EXPLAIN_H
#define DNACL_EXPLAIN_H
#include <stdint.h>

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

/* ---- gradients, integrated gradients, DeepLIFT / DeepSHAP ----------------------------
 * (src/explain/gradients.c, src/explain/deeplift.c)
 *
 * All run the model in eval mode (batch norm uses its running statistics, dropout is the
 * identity) and explain one output: options.target of the logit, or of its sigmoid when
 * options.output is DNACL_EXPLAIN_PROB. Rows are pushed through the model options.batch at
 * a time (0: 64); the last pass is padded to the same size, so the model's buffers are
 * planned once per call. Results do not depend on the batch size beyond float rounding. */
typedef struct dnacl_explain_opts {
  int target;                   /* output task index */
  dnacl_explain_output output;  /* logit (default) or probability */
  /* The gradient correction of Majdandzic, Rajesh & Koo (2023): at every position subtract
   * the mean over the 4 bases from the gradient (IG: from the path-averaged gradient;
   * DeepLIFT/SHAP: from the multipliers) before it is multiplied by anything. One-hot
   * inputs live on the simplex, so the component of the gradient along (1,1,1,1) is
   * off-simplex noise; removing it changes nothing for a difference of two one-hot inputs
   * (whose channels sum to 0), so completeness against one-hot references still holds. */
  int correct;
  int batch;                    /* rows per forward/backward pass; 0 = 64 */
} dnacl_explain_opts;

/* Input gradients. out[i] = d f(x_i) / d x_i (saliency) or, with times_input, that
 * gradient times x_i (grad x input). One forward and one backward per row. */
dnacl_status dnacl_saliency(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n,
                            const dnacl_explain_opts *o, int times_input, float *out);

/* Subtract the per-position mean over the 4 channels from g (n, 4, L) in place. */
void dnacl_gradient_correct(float *g, int n, int L);

typedef enum dnacl_quadrature {
  /* Midpoint Riemann sum: alpha_k = (k + 1/2) / steps, weights 1/steps. Exact for paths
   * along which the gradient is linear, and error O(1/steps^2) for smooth ones (the left
   * and right sums are O(1/steps)). */
  DNACL_QUAD_RIEMANN = 0,
  /* Gauss-Legendre on [0, 1]: `steps` nodes and weights, exact for polynomial gradients
   * of degree < 2 * steps; much better per step on smooth (gelu, sigmoid) models, no
   * better across relu kinks. */
  DNACL_QUAD_GAUSS = 1
} dnacl_quadrature;

/* The nodes alpha[0..steps) in (0, 1) and weights (summing to 1) of a rule. */
dnacl_status dnacl_quadrature_points(dnacl_quadrature q, int steps, double *alpha, double *weight);

/* Integrated gradients (Sundararajan et al. 2017):
 *   out[i] = (x_i - b_i) * sum_k w_k * grad f(b_i + alpha_k (x_i - b_i))
 * with `steps` nodes of rule q; all steps * n interpolated inputs are batched together.
 * baselines: (n, 4, L), one per sequence (NULL: all zeros). delta (n, may be NULL):
 * the signed completeness error sum(out[i]) - (f(x_i) - f(b_i)); *worst (may be NULL):
 * its largest magnitude. */
dnacl_status dnacl_integrated_gradients(dnacl_ctx *ctx, dnacl_model *m, const float *x,
                                        const float *baselines, int n, const dnacl_explain_opts *o,
                                        int steps, dnacl_quadrature q, float *out, float *delta,
                                        double *worst);

/* 0 if every layer of m has a DeepLIFT rule, else DNACL_ERR_UNSUPPORTED naming the first
 * layer that has none. Linear layers (conv1d, dense, flatten, dropout and batchnorm, which
 * are affine in eval mode, and the linear activation) need none: their backward pass is
 * exact. Elementwise activations use the rescale rule and maxpool the rule of
 * src/nn/maxpool.c (SHAP's and captum's: each window's change is split between the
 * argmaxes of input and reference, so it sums exactly). Everything
 * else, transformer blocks (attention, layernorm) included, is refused by name. */
dnacl_status dnacl_deeplift_supported(const dnacl_model *m);

/* DeepLIFT with the rescale rule (Shrikumar et al. 2017) against n_refs references per
 * sequence, refs (n, n_refs, 4, L) (reference r of sequence i at refs[(i*n_refs+r)*4L]).
 * For each pair the reference and the input are run forward, every node's activations of
 * the reference pass are kept, and the backward pass replaces each nonlinearity's local
 * gradient by its multiplier (layer backward_rescale). With m_r the input multipliers
 * against reference r:
 *   hypothetical = 0: out = mean_r m_r * (x - ref_r)  (contributions; n_refs > 1 with
 *                      shuffled references is DeepSHAP)
 *   hypothetical = 1: out[c, p] = mean_r (m_r[c, p] - sum_c' ref_r[c', p] m_r[c', p]),
 *                      the hypothetical contributions TF-MoDISco reads: the contribution
 *                      position p would have if its base were c (the DeepExplainer genomics
 *                      example's combine_mult_and_diffref). At the observed base they equal
 *                      the position's total actual contribution, so hyp * x is the
 *                      contribution map projected onto the sequence.
 * Completeness is checked for every pair: delta (n * n_refs, may be NULL) receives
 * sum(m_r * (x - ref_r)) - (f(x) - f(ref_r)) and *worst (may be NULL) its largest
 * magnitude. It is exact up to float rounding (~1e-6) for every supported layer. */
dnacl_status dnacl_deeplift(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, const float *refs,
                            int n_refs, const dnacl_explain_opts *o, int hypothetical, float *out,
                            float *delta, double *worst);

/* DeepSHAP as in the genomics practice: n_refs dinucleotide shuffles of each sequence as its
 * references (dnacl_dinuc_shuffle_onehot; the references of sequence i are drawn from
 * seeds[i], or from seed i when seeds is NULL), contributions averaged over them. Arguments
 * otherwise as dnacl_deeplift. */
dnacl_status dnacl_deepshap(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int n_refs,
                            const uint64_t *seeds, const dnacl_explain_opts *o, int hypothetical,
                            float *out, float *delta, double *worst);

/* ---- shuffles (src/explain/shuffle.c) -------------------------------------------------
 * Seeded and deterministic on every platform (splitmix64 streams, no libc rand). */

/* A seed for stream (a, b) of seed: e.g. reference b of sequence a. */
uint64_t dnacl_seed_mix(uint64_t seed, uint64_t a, uint64_t b);

/* Dinucleotide shuffle of a symbol sequence (values 0..alphabet-1, alphabet <= 16): a
 * uniformly random sequence among those with exactly the same counts of every ordered pair
 * of adjacent symbols, hence the same symbol counts and the same first and last symbol
 * (Altschul & Erickson 1985; the random Eulerian walk of Kandel et al. 1996 / uShuffle).
 * The last exit of every vertex is drawn as a random arborescence towards the last symbol
 * (Wilson's algorithm), the other exits are permuted uniformly, then the walk from the
 * first symbol uses them in order. Sequences shorter than 3 have only themselves. in and
 * out may not overlap. */
dnacl_status dnacl_dinuc_shuffle(const uint8_t *in, int L, int alphabet, uint64_t seed, uint8_t *out);

/* The same on a one-hot (4, L) column layout (L contiguous). Each column is a symbol: a
 * one-hot base, an N (four equal positive values, the loader's n_value) or padding (four
 * zeros); N and padding are two more letters, so their runs and every dinucleotide with
 * them are kept too, and an N column is written back with the sequence's N value.
 * Padding of a padded record stays a run at each end (one edge enters it and one leaves
 * it), though the two runs may trade length. Any other column is DNACL_ERR_ARG naming the
 * position. */
dnacl_status dnacl_dinuc_shuffle_onehot(const float *x, int L, uint64_t seed, float *out);

/* A uniform permutation of the columns (mononucleotide shuffle: base counts kept). */
dnacl_status dnacl_shuffle_onehot(const float *x, int L, uint64_t seed, float *out);
#endif
