/* First-layer filters as motifs by activation-based alignment (Koo & Ploenzke, Nature
 * Machine Intelligence 3, 258-266 (2021); their activation_pwm): for every filter, every
 * place in a set of sequences where the filter's activation exceeds a threshold times its
 * largest activation over the whole set contributes the input window the filter saw there;
 * the windows, summed, are the filter's position frequency matrix.
 *
 * Which layer. The model's first node must be a conv1d (it sees the one-hot input). The
 * activation map is the output of the first activation node after it, with only batchnorm
 * and dropout nodes in between (conv -> [batchnorm] -> [dropout] -> activation, as in the
 * chapter's baseline and Koo's CNNs; dropout is the identity in eval mode). A conv followed
 * by anything else (say a max-pool) before an activation gives the map of the last conv /
 * batchnorm / dropout node of that run instead; dnacl_filter_layer_find says which node.
 * The model runs in eval mode (batch norm with running statistics) up to that node only.
 *
 * Windows. Output position p of a convolution with kernel K, dilation d and left padding
 * `left` (d * (K - 1) / 2 for "same", 0 for "valid"; src/nn/conv1d.c) saw input positions
 * p - left + k * d, k = 0..K-1, so that is the window (a dilated filter's motif is its K
 * sampled positions). Positions of a window that fall outside the sequence are the zero
 * padding the filter saw and add nothing (Koo's code drops such windows instead; keeping
 * them keeps the sites of filters that fire at the ends); each column is normalised by its
 * own total. N columns (the loader's n_value in all four channels) add n_value to each base.
 *
 * Threshold. A position counts when its activation is > threshold * max, max being the
 * filter's largest activation over all sequences and positions. A filter whose max is not
 * > 0 (a relu filter that never fires, a linear or tanh filter that is negative
 * everywhere) has no windows: no direction of "strong" activation is defined for it. */
#ifndef DNACL_FILTERS_H
#define DNACL_FILTERS_H

#include "io/meme.h"
#include "nn/model.h"

typedef struct dnacl_filter_layer {
  int conv_node;       /* always 0 */
  int map_node;        /* the node whose output is the activation map */
  int n_filters, kernel, dilation, left;
  int length_out;      /* positions of the map */
} dnacl_filter_layer;

/* Find the first-layer convolution and the node of its activation map (see above); a model
 * whose first node is not a conv1d is DNACL_ERR_UNSUPPORTED naming the first layer. */
dnacl_status dnacl_filter_layer_find(const dnacl_model *m, dnacl_filter_layer *out);

typedef struct dnacl_filter_counts {
  dnacl_filter_layer layer;
  int n_seqs;
  double threshold;
  double *counts;  /* n_filters * kernel * 4: counts[(f * kernel + k) * 4 + c], summed windows */
  long *nsites;    /* n_filters: windows counted */
  float *max_act;  /* n_filters: the largest activation over the set */
} dnacl_filter_counts;

/* Run the model's first layer on x (n, 4, L) host one-hot, batch rows at a time (0: 128),
 * and align the windows. Two passes over the data (the maxima, then the windows), so memory
 * does not grow with n. threshold in [0, 1). */
dnacl_status dnacl_filter_align(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, double threshold, int batch,
                                dnacl_filter_counts *out);
void dnacl_filter_counts_free(dnacl_filter_counts *c);

/* The probability matrix of filter f (kernel * 4 values): column k is
 *   p_c = (count_c + pseudocount) / (sum_c' count_c' + 4 * pseudocount),
 * a uniform column when the column has no counts and the pseudocount is 0. */
void dnacl_filter_pfm(const dnacl_filter_counts *c, int f, double pseudocount, double *p);

/* The motifs of the filters with at least one window, as MOTIF filter<f> (f 0-based, the
 * filter's channel in the conv weights) with nsites = windows and the pseudocount above,
 * appended to out (initialised by the caller). Filters without windows are left out: a
 * uniform matrix in their place would read as a motif that matches nothing. */
dnacl_status dnacl_filter_motifs(const dnacl_filter_counts *c, double pseudocount, dnacl_motif_set *out);
#endif
