/* 1-D convolution (PyTorch's conv1d, cross-correlation): x (B, Cin, L) -> y (B, Cout, Lout)
 *   y[b, o, p] = b[o] + sum_{c, k} w[o, c, k] * x[b, c, p + k*dilation - left]
 * with padding "same" (left = dilation*(K-1)/2, right = the rest, Lout = L, as PyTorch's
 * padding='same') or "valid" (no padding, Lout = L - dilation*(K-1)).
 * Parameters: "w" (Cout, Cin, K), weight decay; "b" (Cout), no decay, if bias.
 *
 * Every pass is an implicit GEMM on zero-padded copies (cl/conv1d.cl says why):
 *   forward  y  = conv(pad(x), w)
 *   dx          = conv(pad(dy), w with Cin and Cout swapped, taps taken backwards),
 *                 evaluated only at the input's positions (an offset into the padded rows)
 *   dw, db      = sums over length and batch of dy times x shifted (of dy alone for db):
 *                 partial sums over blocks of sequences, then the blocks in a fixed order
 * Scratch (l->saved, reallocated only when the batch shape changes):
 *   saved[0] padded x (B, Cin, xrow)
 *   saved[1] padded dy (B, Cout, dyrow), for dx (dw reads it too then)
 *   saved[2] partial weight and bias gradients (blocks, Cout, Cin*K + bias)
 * The padded x is rebuilt in backward from the x it is given, so backward does not depend
 * on forward having kept anything. */
#include <stdio.h>

#include "nn/layer.h"

typedef struct conv1d_cfg {
  int cin, cout, K, same, dilation, bias;
} conv1d_cfg;

/* Geometry of one call, derived from the input shape. */
typedef struct conv_geom {
  int B, L, Lout, left, span; /* span = dilation*(K-1) */
  int xrow, dyrow, nchunks;   /* padded row lengths; 16-element chunks covering Lout */
  int dylead;                 /* zeros before dy in its padded row: span rounded up to 16 */
} conv_geom;

static int max_i(int a, int b) { return a > b ? a : b; }
static int round16(int a) { return (a + 15) / 16 * 16; }

static dnacl_status check_cfg(const char *name, const conv1d_cfg *c) {
  if (c->cin < 1 || c->cout < 1)
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: channels %d -> %d must both be >= 1", name,
                      c->cin, c->cout);
  if (c->K < 1)
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: kernel size %d must be >= 1", name, c->K);
  if (c->dilation < 1)
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: dilation %d must be >= 1", name, c->dilation);
  return DNACL_OK;
}

static dnacl_status conv1d_infer(const dnacl_layer *l, const dnacl_shape *in, dnacl_shape *out) {
  const conv1d_cfg *c = l->cfg;
  DNACL_TRY(check_cfg(l->name, c));
  if (in->ndim != 3)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "conv1d %s: input must be (batch, channels, length), got rank %d", l->name,
                      in->ndim);
  if (in->d[1] != c->cin)
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: input has %d channels, the layer expects %d",
                      l->name, in->d[1], c->cin);
  long span = (long)c->dilation * (c->K - 1);
  if (!c->same && span >= in->d[2])
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "conv1d %s: valid convolution spanning %ld positions (kernel %d, dilation "
                      "%d) is longer than the input length %d",
                      l->name, span + 1, c->K, c->dilation, in->d[2]);
  if (span > 1 << 20)
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: kernel span %ld is too large", l->name, span + 1);
  *out = *in;
  out->d[1] = c->cout;
  out->d[2] = c->same ? in->d[2] : in->d[2] - (int)span;
  return DNACL_OK;
}

/* Check x against the layer and t (y or dy) against the output shape; fill g. */
static dnacl_status geometry(const dnacl_layer *l, const dnacl_tensor *x, const dnacl_tensor *t,
                             const char *what, conv_geom *g) {
  const conv1d_cfg *c = l->cfg;
  dnacl_shape in = dnacl_tensor_shape(x), out;
  DNACL_TRY(conv1d_infer(l, &in, &out));
  if (t->n != dnacl_shape_count(&out))
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: %s has %zu elements, expected (%d, %d, %d)",
                      l->name, what, t->n, out.d[0], out.d[1], out.d[2]);
  g->B = in.d[0];
  g->L = in.d[2];
  g->Lout = out.d[2];
  g->span = c->dilation * (c->K - 1);
  g->left = c->same ? g->span / 2 : 0;
  g->nchunks = (g->Lout + 15) / 16;
  /* Padded x: [left zeros | x | zeros]. Forward tiles read positions up to
   * max(Lout, 16) - 1 + span, dw reads up to 16*nchunks - 1 + span. */
  g->xrow = round16(max_i(g->left + g->L, 16 * g->nchunks + g->span));
  /* Padded dy: [dylead zeros | dy | zeros], dylead >= span. dx tiles read from
   * dylead - span + left up to dylead + left + max(L, 16) - 1; dw reads dy in whole chunks
   * from dylead up to dylead + 16*nchunks - 1 (zeros past Lout). Rows are whole multiples
   * of 16 floats and dy starts at a multiple of 16, so dw's vector loads of dy are aligned
   * (unaligned 64-byte loads straddle two cache lines; dw ran 2-3x slower with them). */
  g->dylead = round16(g->span);
  g->dyrow = round16(max_i(g->dylead + g->left + max_i(g->L, 16), g->dylead + 16 * g->nchunks));
  size_t big = (size_t)g->B * (size_t)max_i(c->cin, c->cout) * (size_t)max_i(g->xrow, g->dyrow);
  if (big > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: %zu elements exceed the int index range",
                      l->name, big);
  return DNACL_OK;
}

/* Register blocks per device class.
 * conv1d_igemm: MR output channels x 16 positions x NB sequences per work-item. CPU: MR 8
 * divides the chapter's 64 channels; NB 2 makes each broadcast weight feed two
 * multiply-adds (16 float16 accumulators, 2 loaded rows). With NB 1 the inner loop issued
 * 9 loads per 8 multiply-adds and ran at about 60% of the two cores' peak: on the chapter's
 * conv2 NB 2 took 20% less time (batch 256, forward 6.1 -> 4.9 ms), and fma instead of mad
 * (which PoCL compiles to a multiply and an add) another 4% of CPU time. 4 x 4 measured
 * as 8 x 2, 6 x 2 and 12 x 1 slower. MR is 4 when there are at most 4 output channels (dx
 * of the one-hot first layer), where 8 would compute half a block for nothing.
 * conv1d_dw: DM x DN dot products of 16 lanes per work-item (DM output channels, DN
 * columns of Cin*K): 4 x 6 on the CPU, 24 accumulators + 4 loaded rows of dy + 1 of x in
 * the 32 registers. On the chapter's conv2, 4 x 6 took 4% less time than 4 x 4 and 6 x 4,
 * 4 x 5 about 2%; 2 x 10 (a column block per input channel) and 3 x 8 took 30% more.
 * A GPU gets MR 4, NB 1 and DM x DN 2 x 2 to keep register pressure moderate. */
static int mr(const dnacl_ctx *ctx, int O) { return ctx->is_cpu && O > 4 ? 8 : 4; }
static int seqs_per_item(const dnacl_ctx *ctx) { return ctx->is_cpu ? 2 : 1; }
static int dw_rows(const dnacl_ctx *ctx) { return ctx->is_cpu ? 4 : 2; }
static int dw_cols(const dnacl_ctx *ctx) { return ctx->is_cpu ? 6 : 2; }
/* Program options for a kernel with O output rows; the small kernels (pad, dw, dw_sum) live
 * in the same program as the main ones, so they ask for the common O of 8. */
static const char *opts(const dnacl_ctx *ctx, int O) {
  if (!ctx->is_cpu) return "-DMR=4 -DNB=1 -DDM=2 -DDN=2";
  return mr(ctx, O) == 8 ? "-DMR=8 -DNB=2 -DDM=4 -DDN=6" : "-DMR=4 -DNB=2 -DDM=4 -DDN=6";
}
/* Work-group size along the first dimension: on the CPU, 4 tiles along the length share
 * their input rows in cache; a GPU chooses for itself (NULL local size). */
static const size_t *local_size(const dnacl_ctx *ctx, size_t *loc, size_t g0) {
  if (!ctx->is_cpu) return NULL;
  loc[0] = g0 < 4 ? g0 : 4;
  loc[1] = loc[2] = 1;
  return loc;
}

static dnacl_status pad_rows(dnacl_ctx *ctx, cl_mem src, int rows, int slen, cl_mem dst, int drow,
                             int left) {
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "conv1d", opts(ctx, 8), "conv1d_pad", &k));
  size_t g = (size_t)rows;
  return dnacl_run(ctx, k, 1, &g, NULL, "miimii", src, rows, slen, dst, drow, left);
}

/* out[b, o, p] = bias[o] + sum_{c<C, k<K} wt[o*w_os + c*w_cs + k] * in[b, c, off + p + k*xstep],
 * in rows of in_row floats, C of them per sequence. */
static dnacl_status igemm(dnacl_ctx *ctx, int B, int O, int C, int K, int xstep, int P, cl_mem in,
                          int in_row, int off, cl_mem wt, int w_os, int w_cs, cl_mem bias,
                          cl_mem out) {
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "conv1d", opts(ctx, O), "conv1d_igemm", &k));
  int m = mr(ctx, O), nb = seqs_per_item(ctx);
  size_t g[3] = {(size_t)(P + 15) / 16, (size_t)(O + m - 1) / (size_t)m, (size_t)(B + nb - 1) / (size_t)nb}, loc[3];
  return dnacl_run(ctx, k, 3, g, local_size(ctx, loc, g[0]), "iiiiiimiiimiimim", O, C, K, xstep, P, B, in,
                   C * in_row, in_row, off, wt, w_os, w_cs, bias ? bias : wt, bias ? 1 : 0, out);
}

static dnacl_status conv1d_forward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                   dnacl_tensor *y, int train) {
  (void)train;
  const conv1d_cfg *c = l->cfg;
  conv_geom g = {0};
  DNACL_TRY(geometry(l, x, y, "output", &g));
  int xs[3] = {g.B, c->cin, g.xrow};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, 0, 3, xs));
  DNACL_TRY(pad_rows(ctx, x->buf, g.B * c->cin, g.L, l->saved[0].buf, g.xrow, g.left));
  return igemm(ctx, g.B, c->cout, c->cin, c->K, c->dilation, g.Lout, l->saved[0].buf, g.xrow, 0,
               l->params[0].value.buf, c->cin * c->K, c->K, c->bias ? l->params[1].value.buf : NULL, y->buf);
}

static dnacl_status conv1d_backward(dnacl_layer *l, dnacl_ctx *ctx, const dnacl_tensor *x,
                                    const dnacl_tensor *y, const dnacl_tensor *dy, dnacl_tensor *dx,
                                    int param_grads) {
  (void)y;
  const conv1d_cfg *c = l->cfg;
  conv_geom g = {0};
  DNACL_TRY(geometry(l, x, dy, "upstream gradient", &g));
  if (dx && dx->n != x->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "conv1d %s: input gradient has %zu elements, input %zu",
                      l->name, dx->n, x->n);
  if (!dx && !param_grads) return DNACL_OK;
  const int K = c->K, d = c->dilation;
  /* The padded dy feeds dx and, when it exists, dw. Without dx (the first layer) and with
   * few columns of dw (Cin*K <= 128: the copy is then a large part of the work) dw reads dy
   * itself: padding it took a third of the chapter's first layer's backward (4 -> 64
   * channels, K 10, L 200: 0.5 of 1.5 ms at batch 256), while on its second layer's shape
   * (640 columns, L 100) reading dy unpadded, with a partial chunk per row, took 30% more
   * CPU time than the padded copy saved. Rows shorter than 16 are always padded: a vector
   * load from one would reach past the end of the buffer from more than the last row. */
  const int padded = dx != NULL || g.Lout < 16 || c->cin * K > 128;
  cl_mem dyp = NULL;
  if (padded) {
    int dys[3] = {g.B, c->cout, g.dyrow};
    DNACL_TRY(dnacl_layer_scratch(l, ctx, 1, 3, dys));
    dyp = l->saved[1].buf;
    DNACL_TRY(pad_rows(ctx, dy->buf, g.B * c->cout, g.Lout, dyp, g.dyrow, g.dylead));
  }
  cl_mem w = l->params[0].value.buf;
  if (dx) {
    /* dx[b, c, p] = sum_{o, k} w[o, c, k] * dy[b, o, p + left - k*d] and dy[b, o, i] is
     * dyp[b, o, dylead + i]: a convolution of the padded dy with w transposed (strides K
     * and Cin*K) whose input steps back by d per tap, from dylead + left. There is no
     * flipped copy of w: its kernel took about 7% of dx's time at batch 32. Reading w
     * flipped instead (a stride of -1 along k) made the compiler step eight weight pointers
     * in the inner loop; stepping the input backwards keeps one index. */
    DNACL_TRY(igemm(ctx, g.B, c->cin, c->cout, K, -d, g.L, dyp, g.dyrow, g.dylead + g.left, w, K,
                    c->cin * K, NULL, dx->buf));
  }
  if (!param_grads) return DNACL_OK;
  int xs[3] = {g.B, c->cin, g.xrow};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, 0, 3, xs));
  DNACL_TRY(pad_rows(ctx, x->buf, g.B * c->cin, g.L, l->saved[0].buf, g.xrow, g.left));
  /* Sequences per block of the partial sums: about 512 KB of padded dy and x rows, half
   * of a core's L2, so a block stays there while every tile of dw reads it (conv1d_dw).
   * On the chapter's conv2 at batch 256, blocks of 256 KB, 512 KB, 1 MB and the whole
   * batch took 6.4, 6.1, 6.8 and 8.1 ms (best of many runs, summing the blocks included). */
  size_t per_seq = ((size_t)c->cout * g.dyrow + (size_t)c->cin * g.xrow) * sizeof(float);
  int BB = (int)(((size_t)512 << 10) / per_seq);
  if (BB < 1) BB = 1;
  if (BB > g.B) BB = g.B;
  int nblk = (g.B + BB - 1) / BB;
  /* Columns of the partial sums: Cin*K of dw, then one of db. */
  int CK = c->cin * K, N = CK + (c->bias ? 1 : 0), dm = dw_rows(ctx), dn = dw_cols(ctx);
  int ps[3] = {nblk, c->cout, N};
  DNACL_TRY(dnacl_layer_scratch(l, ctx, 2, 3, ps));
  cl_mem part = l->saved[2].buf;
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "conv1d", opts(ctx, 8), padded ? "conv1d_dw" : "conv1d_dw_tail", &k));
  size_t gd[3] = {(size_t)(CK + dn - 1) / (size_t)dn + (size_t)(N - CK), (size_t)(c->cout + dm - 1) / (size_t)dm,
                  (size_t)nblk}, ld[3];
  /* Chunks of l: whole ones over the padded dy (zeros past Lout); over dy itself whole
   * ones and a last one read in part (conv1d_dw). */
  const int nfull = padded ? g.nchunks : g.Lout / 16, tail = padded ? 0 : g.Lout % 16;
  cl_mem dys = padded ? dyp : dy->buf;
  const int dy_row = padded ? g.dyrow : g.Lout, dy_off = padded ? g.dylead : 0;
  DNACL_TRY(dnacl_run(ctx, k, 3, gd, local_size(ctx, ld, gd[0]), "iiiiiiiimiiimiiim", c->cout, c->cin, K, d,
                      g.B, BB, nfull, tail, dys, c->cout * dy_row, dy_row, dy_off, l->saved[0].buf,
                      c->cin * g.xrow, g.xrow, N, part));
  DNACL_TRY(dnacl_kernel(ctx, "conv1d", opts(ctx, 8), "conv1d_dw_sum", &k));
  size_t gs[2] = {(size_t)(N + 15) / 16, (size_t)c->cout};
  cl_mem dw = l->params[0].grad.buf;
  DNACL_TRY(dnacl_run(ctx, k, 2, gs, NULL, "iiiimmm", c->cout, CK, N, nblk, part, dw,
                      c->bias ? l->params[1].grad.buf : dw));
  return DNACL_OK;
}

static const dnacl_layer_ops conv1d_ops = {
    .kind = "conv1d",
    .infer = conv1d_infer,
    .forward = conv1d_forward,
    .backward = conv1d_backward,
    .destroy = NULL, /* scratch lives in l->saved */
    .deeplift = DNACL_DEEPLIFT_LINEAR,
};

dnacl_status dnacl_conv1d_new(dnacl_ctx *ctx, const char *name, int cin, int cout, int kernel,
                              int same_padding, int dilation, int bias, dnacl_layer **out) {
  *out = NULL;
  conv1d_cfg cfg = {cin, cout, kernel, same_padding ? 1 : 0, dilation, bias ? 1 : 0};
  DNACL_TRY(check_cfg(name, &cfg));
  dnacl_layer *l;
  DNACL_TRY(dnacl_layer_alloc(&conv1d_ops, name, &cfg, sizeof cfg, &l));
  int ws[3] = {cout, cin, kernel};
  dnacl_status s = dnacl_layer_add_param(l, ctx, "w", 3, ws, 1, 1, NULL);
  if (s == DNACL_OK && bias) s = dnacl_layer_add_param(l, ctx, "b", 1, &cout, 1, 0, NULL);
  if (s != DNACL_OK) {
    dnacl_layer_free(l);
    return s;
  }
  *out = l;
  return DNACL_OK;
}
