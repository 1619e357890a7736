/* In silico saturation mutagenesis (the contract is in explain.h).
 *
 * Variants. Position p of a sequence holds reference base b0 when its column is exactly
 * one-hot (1 at b0, 0 elsewhere); the variants there are the other bases, and out at b0 is
 * 0. A column that is not one-hot (an N, however it was encoded) has no reference base:
 * all bases are variants there, each written as a one-hot column.
 *
 * Naive method. Every variant and the reference go through the model's own eval-mode
 * forward in batches of up to DNACL_ISM_BATCH (default 256) rows; sequences of a chunk
 * share batches, and the batch size is balanced so that the last batch is not mostly
 * padding. The rows are written on the device from the reference (ism_build_rows), so per
 * batch only 3 ints per row cross the bus, not 4L floats.
 *
 * Incremental method. A base change at p alters activation i of the convolutional part
 * only inside its receptive field, the window [A_i[p], A_i[p] + W_i) (tables computed once
 * per model in inc_analyse). Per variant, only that window is kept, (V, C_i, W_i); outside
 * it the variant equals the reference, whose activations come from one ordinary forward
 * per chunk of sequences. Through the layers:
 *   conv1d     only the change of the input window, d = win - ref, is multiplied: for the
 *              chapter's second conv, 6 input columns instead of the 24 a recompute of the
 *              15-wide output window would read, and only the columns the change reaches
 *              (half the positions change 5 of those 6: a sixth of the block's
 *              multiply-adds skipped). On the CPU, when the window is short, one pass
 *              keeps a block's partial outputs in registers (ism_conv_win), with even
 *              windows and tap counts as Karatsuba products of column pairs by tap pairs
 *              (3 multiply-adds per pair of pairs instead of 4; docs/ism.md); otherwise
 *              ONE GEMM for all variants of a batch gives every tap's products,
 *              T[(o,k), (v,j)] = sum_c w[o,c,k] d[c,(v,j)] (M = Cout*K, N = V*W, K = Cin),
 *              and each output is the reference plus the products that reach it
 *              (ism_conv_gather).
 *   batchnorm  eval mode: a per-channel affine, applied by whichever kernel reads the
 *              window next (or by the layer's own forward when a layer reads it).
 *   after a convolution, on the one-pass path: its batch norm, activation, a batch norm
 *              after that and a max pooling are applied in the convolution's epilogue, so
 *              the chapter's conv -> bn -> gelu -> pool block is one kernel. The activation
 *              is act_f of cl/include/act_formulas.cl (the layer's own formulas) on 16
 *              lanes (as a separate scalar pass it once took a third of this method's
 *              time at L=200). Tests put every activation through both. When the window
 *              is read by another one-pass convolution or by the dense update, the kernel
 *              writes its change (window - reference) instead, position-major (V, W, C),
 *              so the reader subtracts nothing and 16 channels go out as one vector.
 *   activations, layernorm (per position) elsewhere: the layer's own forward on the window.
 *   maxpool    elsewhere: ism_pool, window-aligned, first maximum and NaN as cl/pool.cl.
 *   dropout, flatten, linear: identity in eval mode (the window is shared, no copy;
 *              dropout after the dense layer and in the reference forward too).
 *   residual   the sum over the union of the branch's and the skip's windows.
 * The first dense layer is updated by the change of its input,
 *   y = y_ref + W[:, changed features] (win - ref)   (ism_dense),
 * with an activation right after it applied in the same pass (act_f again). The dense
 * layers after it go through ism_dense too (a window of their whole input, changed from a
 * zero reference whose output is the bias; an activation right after them again in the
 * pass), and everything else there (activations, batchnorm) runs on the V rows with the
 * layers' own forwards. Transformer blocks mix all positions, so a model with one
 * before its first dense layer (or with layers after flatten that are not elementwise)
 * uses the naive method; *used_incremental says which ran.
 *
 * Batches hold up to DNACL_ISM_BATCH (default 1024) variants, fewer when the windows would
 * not fit in the memory budget. Variants are ordered by sequence, position, base, so the
 * variants sharing a dense window (3 bases x neighbouring positions once the pools have
 * shrunk the window) are adjacent and ism_dense loads each weight row once for all of them.
 * DNACL_ISM_CONV=gemm forces the GEMM path, DNACL_ISM_CONV=direct the one-pass kernel without
 * Karatsuba, and DNACL_ISM_FUSE=0 keeps the layers after a
 * convolution out of its epilogue and the activations after dense layers out of
 * ism_dense (tests cover all paths on the CPU).
 *
 * Between calls the model keeps the plan, the index tables and the device buffers
 * (m->ism_cache): they follow from its layers, the device, the two settings above and the
 * batch sizes alone, and making them again cost ~1 ms per call on PoCL, most of it page
 * faults on the buffers' first use. What the parameters give (the convolutions' weights
 * in the layout of their path, the batch norms' affines, the dense weights transposed) is
 * never kept: kernels rearrange it again at the start of every call, queued, ~0.15 ms of
 * device time for the baseline, so a change of the parameters between calls (a training
 * step, a checkpoint, a write by the caller) can never meet a stale copy.
 * A call queues each chunk of sequences whole (reference forward, batches, each batch's
 * outputs read without waiting) behind a gate, opens it and waits once; nothing inside
 * may wait for the queue itself.
 *
 * Differences: the incremental method computes f(variant) - f(ref) from exact changes
 * (y_ref + delta) and the naive one as the difference of two separately rounded forwards;
 * in tests/test_ism.c they agree to better than 5e-5 of the map's largest entry. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/explain.h"
#include "nn/gemm.h"
#include "nn/ops.h"

enum {
  CHUNK = 64,          /* reference sequences per chunk: one reference forward per chunk */
  NAIVE_BATCH = 256,   /* rows per naive forward */
  INC_BATCH = 1024,    /* variants per incremental batch */
};
/* Device memory the incremental windows of one batch may take (floats): 256 MiB. */
#define INC_BUDGET_FLOATS (64.0 * 1024 * 1024)

/* ---- small helpers ---------------------------------------------------------------- */

static int env_int(const char *name, int dflt) {
  const char *v = getenv(name);
  int x = v ? atoi(v) : 0;
  return x > 0 ? x : dflt;
}

static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int ceil_div(int a, int b) { return -floor_div(-a, b); }
static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* The first `rows` rows of t (a batch-major tensor) as a tensor of its own. */
static dnacl_tensor rows_view(const dnacl_tensor *t, int rows) {
  dnacl_tensor v = *t;
  v.n = t->n / (size_t)t->shape[0] * (size_t)rows;
  v.shape[0] = rows;
  return v;
}

/* A buffer of n ints, filled from h when h is not NULL. Filled at creation, not by a
 * queued write: each transfer queued is a round trip to PoCL's worker threads, and the
 * set-up of an incremental call spent ~0.5 ms on its 20 tables that way. */
static dnacl_status int_buffer(dnacl_ctx *ctx, size_t n, const int *h, cl_mem *out) {
  cl_int err;
  *out = clCreateBuffer(ctx->context, CL_MEM_READ_ONLY | (h ? CL_MEM_COPY_HOST_PTR : 0),
                        (n ? n : 1) * sizeof(int), (void *)h, &err);
  if (err != CL_SUCCESS) {
    *out = NULL;
    return dnacl_fail(DNACL_ERR_OPENCL, "ism: clCreateBuffer of %zu ints failed with %s", n,
                      dnacl_cl_error_name(err));
  }
  return DNACL_OK;
}

static dnacl_status write_ints(dnacl_ctx *ctx, cl_mem b, const int *h, size_t n) {
  DNACL_CL(clEnqueueWriteBuffer(ctx->queue, b, CL_TRUE, 0, n * sizeof(int), h, 0, NULL, NULL));
  return DNACL_OK;
}

/* Without waiting: h must not change or be freed until the queue has run the transfer (a
 * blocking read after it, or clFinish). */
static dnacl_status write_ints_queued(dnacl_ctx *ctx, cl_mem b, const int *h, size_t n) {
  DNACL_CL(clEnqueueWriteBuffer(ctx->queue, b, CL_FALSE, 0, n * sizeof(int), h, 0, NULL, NULL));
  return DNACL_OK;
}

static dnacl_status write_floats(dnacl_ctx *ctx, const dnacl_tensor *t, const float *h, size_t n) {
  DNACL_CL(clEnqueueWriteBuffer(ctx->queue, t->buf, CL_TRUE, 0, n * sizeof(float), h, 0, NULL, NULL));
  return DNACL_OK;
}

/* Work-groups for the window kernels, whose first dimensions are short (a window of 1 to
 * ~50 positions, a few dozen channels): about 128 work-items per group. Left to itself
 * PoCL made groups of a handful of items there, and ran pooling 10x slower on the
 * per-group overhead. */
static const size_t *groups_of(size_t *l, const size_t *g, int dims) {
  size_t left = 128;
  for (int d = 0; d < dims; d++) {
    l[d] = g[d] < left ? g[d] : left;
    if (l[d] < 1) l[d] = 1;
    left /= l[d];
    if (left < 1) left = 1;
  }
  return l;
}

/* An OpenCL call's failure as a status, where the caller must not return at once. */
#define CL_STATUS(call) cl_status((call), #call, __FILE__, __LINE__)
static dnacl_status cl_status(cl_int err, const char *call, const char *file, int line) {
  return err == CL_SUCCESS ? DNACL_OK : dnacl_cl_fail(err, call, file, line);
}

static void release(cl_mem *b) {
  if (*b) clReleaseMemObject(*b);
  *b = NULL;
}

/* The base of a one-hot column p of x (C, L), or -1 when the column is not one-hot. */
static int ref_base(const float *x, int C, int L, int p) {
  int b = -1;
  for (int c = 0; c < C; c++) {
    float v = x[(size_t)c * L + p];
    if (v == 1.0f && b < 0)
      b = c;
    else if (v != 0.0f)
      return -1;
  }
  return b;
}

static int n_variants(const float *x, int C, int L) {
  int k = 0;
  for (int p = 0; p < L; p++) k += ref_base(x, C, L, p) >= 0 ? C - 1 : C;
  return k;
}

/* Append (r, p, b) for every variant of sequence x (row r of its chunk). */
static int list_variants(const float *x, int C, int L, int r, int *list) {
  int k = 0;
  for (int p = 0; p < L; p++) {
    int b0 = ref_base(x, C, L, p);
    for (int b = 0; b < C; b++) {
      if (b == b0) continue;
      list[3 * k] = r;
      list[3 * k + 1] = p;
      list[3 * k + 2] = b;
      k++;
    }
  }
  return k;
}

static double explained(const float *logits, int T, int target, dnacl_explain_output output) {
  double z = logits[target];
  (void)T;
  return output == DNACL_EXPLAIN_PROB ? 1.0 / (1.0 + exp(-z)) : z;
}

/* Batches of at most bmax rows for `total` rows, balanced: ceil(total / ceil(total/bmax)). */
static int balanced(long total, int bmax) {
  if (total < 1) return 1;
  long nb = (total + bmax - 1) / bmax;
  return (int)((total + nb - 1) / nb);
}

/* ---- activations owned here, run with the layers' own forwards ------------------------ */

/* Nodes whose eval-mode output is their input: no buffer, no pass. */
static int passes_through(const dnacl_node *nd) {
  return nd->kind == DNACL_L_RESIDUAL_BEGIN || nd->kind == DNACL_L_DROPOUT;
}

typedef struct act_set {
  dnacl_tensor *t;  /* t[i] for i in [from, to]; residual-begin and dropout outputs alias
                     * their input */
  unsigned char *own;
  int n;
} act_set;

static void acts_free(act_set *a) {
  if (a->t)
    for (int i = 0; i < a->n; i++)
      if (a->own[i]) dnacl_tensor_free(&a->t[i]);
  free(a->t);
  free(a->own);
  memset(a, 0, sizeof *a);
}

static dnacl_status acts_alloc(dnacl_ctx *ctx, const dnacl_model *m, int batch, int from, int to,
                               act_set *a) {
  a->n = m->n_nodes + 1;
  a->t = calloc((size_t)a->n, sizeof *a->t);
  a->own = calloc((size_t)a->n, 1);
  if (!a->t || !a->own) return dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory");
  for (int i = from; i <= to; i++) {
    if (i > from && passes_through(&m->nodes[i - 1])) {
      a->t[i] = a->t[i - 1];
      continue;
    }
    const dnacl_shape *s = &m->shapes[i];
    int shape[DNACL_MAX_DIMS];
    for (int d = 0; d < s->ndim; d++) shape[d] = d == 0 ? batch : s->d[d];
    DNACL_TRY(dnacl_tensor_alloc(ctx, &a->t[i], s->ndim, shape));
    a->own[i] = 1;
  }
  return DNACL_OK;
}

/* Nodes [from, to) in eval mode on the first `rows` rows, as dnacl_model_forward does
 * (dropout is the identity there: its output is its input's buffer). */
static dnacl_status run_nodes(dnacl_ctx *ctx, dnacl_model *m, act_set *a, int from, int to, int rows) {
  for (int i = from; i < to; i++) {
    const dnacl_node *nd = &m->nodes[i];
    if (passes_through(nd)) continue;
    dnacl_tensor x = rows_view(&a->t[i], rows), y = rows_view(&a->t[i + 1], rows);
    if (nd->kind == DNACL_L_RESIDUAL_END) {
      dnacl_tensor s = rows_view(&a->t[nd->residual_begin], rows);
      DNACL_TRY(dnacl_op_add(ctx, &x, &s, &y));
      continue;
    }
    DNACL_TRY(nd->layer->ops->forward(nd->layer, ctx, &x, &y, 0));
  }
  return DNACL_OK;
}

/* ---- naive -------------------------------------------------------------------------- */

static dnacl_status naive(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int target,
                          dnacl_explain_output output, float *out) {
  const int C = m->in_channels, L = m->length, T = m->spec.tasks;
  const size_t xs = (size_t)C * L;
  const int R = imin(n, CHUNK);
  long rows0 = 0;
  for (int i = 0; i < R; i++) rows0 += 1 + n_variants(x + i * xs, C, L);
  const int B = balanced(rows0, env_int("DNACL_ISM_BATCH", NAIVE_BATCH));
  const size_t max_rows = (size_t)R * (1 + xs);
  dnacl_tensor xd = {0}, rows = {0};
  cl_mem vl = NULL;
  int *list = malloc(3 * max_rows * sizeof *list), *hv = malloc(3 * (size_t)B * sizeof *hv);
  int *ref_row = malloc((size_t)R * sizeof *ref_row);
  double *f = malloc(max_rows * sizeof *f);
  float *logits = malloc((size_t)B * T * sizeof *logits);
  dnacl_status s = !list || !hv || !ref_row || !f || !logits
                       ? dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory")
                       : DNACL_OK;
  if (s == DNACL_OK) s = dnacl_tensor_new(ctx, &xd, R, C, L);
  if (s == DNACL_OK) s = dnacl_tensor_new(ctx, &rows, B, C, L);
  if (s == DNACL_OK) s = int_buffer(ctx, 3 * (size_t)B, NULL, &vl);
  cl_kernel kb = NULL;
  if (s == DNACL_OK) s = dnacl_kernel(ctx, "ism", "", "ism_build_rows", &kb);
  for (int c0 = 0; s == DNACL_OK && c0 < n; c0 += R) {
    const int rc = imin(R, n - c0);
    s = write_floats(ctx, &xd, x + c0 * xs, rc * xs);
    int nrows = 0;
    for (int r = 0; r < rc; r++) {
      ref_row[r] = nrows;
      list[3 * nrows] = r, list[3 * nrows + 1] = -1, list[3 * nrows + 2] = 0;
      nrows++;
      nrows += list_variants(x + (c0 + r) * xs, C, L, r, list + 3 * nrows);
    }
    for (int k0 = 0; s == DNACL_OK && k0 < nrows; k0 += B) {
      const int cnt = imin(B, nrows - k0);
      /* Padding rows repeat the batch's first row; their outputs are not used. */
      for (int i = 0; i < B; i++) memcpy(hv + 3 * i, list + 3 * (k0 + (i < cnt ? i : 0)), 3 * sizeof *hv);
      s = write_ints(ctx, vl, hv, 3 * (size_t)B);
      size_t g = (size_t)B * C;
      if (s == DNACL_OK) s = dnacl_run(ctx, kb, 1, &g, NULL, "miimim", xd.buf, C, L, vl, B, rows.buf);
      if (s == DNACL_OK) s = dnacl_model_forward(ctx, m, &rows, 0);
      if (s == DNACL_OK) s = dnacl_tensor_read(ctx, dnacl_model_output(m), logits);
      for (int i = 0; s == DNACL_OK && i < cnt; i++) f[k0 + i] = explained(logits + (size_t)i * T, T, target, output);
    }
    if (s != DNACL_OK) break;
    memset(out + c0 * xs, 0, rc * xs * sizeof *out);
    for (int k = 0; k < nrows; k++) {
      int r = list[3 * k], p = list[3 * k + 1], b = list[3 * k + 2];
      if (p >= 0) out[(c0 + r) * xs + (size_t)b * L + p] = (float)(f[k] - f[ref_row[r]]);
    }
  }
  release(&vl);
  dnacl_tensor_free(&xd);
  dnacl_tensor_free(&rows);
  free(list);
  free(hv);
  free(ref_row);
  free(f);
  free(logits);
  return s;
}

/* ---- incremental: analysis ---------------------------------------------------------- */

typedef struct inc_plan {
  int F;      /* node index of the first dense layer: activations 0..F are windowed */
  int L0;     /* input length */
  int *gC;    /* activation i as (channels, length); flatten keeps its input's geometry */
  int *gL;
  int *W;     /* window width of activation i */
  int *A;     /* (F+1) x L0: window start of activation i for a change at position p */
  int *J;     /* (F+1) x L0 x 2: the window's columns [J0, J1) the change at p reaches; the
               * others hold the reference (a window is as wide as the widest change) */
  int *alias; /* activation i+1 is activation i (dropout, flatten, linear, residual begin) */
} inc_plan;

static void plan_free(inc_plan *P) {
  free(P->gC);
  free(P->gL);
  free(P->W);
  free(P->A);
  free(P->J);
  free(P->alias);
  memset(P, 0, sizeof *P);
}

/* Whether the incremental method applies; if so, fill P. A refusal is not an error: the
 * caller falls back to the naive method. */
static dnacl_status inc_analyse(const dnacl_model *m, inc_plan *P, int *ok) {
  memset(P, 0, sizeof *P);
  *ok = 0;
  int F = -1, flat = 0;
  for (int i = 0; i < m->n_nodes && F < 0; i++) {
    switch (m->nodes[i].kind) {
      case DNACL_L_DENSE: F = i; break;
      case DNACL_L_TRANSFORMER: return DNACL_OK; /* attention mixes every position */
      case DNACL_L_ACTIVATION:
      case DNACL_L_DROPOUT: break;               /* elementwise, also after flatten */
      case DNACL_L_FLATTEN:
        if (flat) return DNACL_OK;
        flat = 1;
        break;
      default:                                    /* per-channel or positional: 3-D only */
        if (flat || m->shapes[i].ndim != 3) return DNACL_OK;
    }
  }
  if (F < 0 || m->shapes[0].ndim != 3) return DNACL_OK;
  for (int i = F + 1; i < m->n_nodes; i++)
    if (m->nodes[i].kind == DNACL_L_RESIDUAL_END && m->nodes[i].residual_begin <= F) return DNACL_OK;
  const int L0 = m->length, na = F + 1;
  P->F = F;
  P->L0 = L0;
  P->gC = calloc((size_t)na, sizeof *P->gC);
  P->gL = calloc((size_t)na, sizeof *P->gL);
  P->W = calloc((size_t)na, sizeof *P->W);
  P->alias = calloc((size_t)na, sizeof *P->alias);
  P->A = calloc((size_t)na * L0, sizeof *P->A);
  P->J = calloc((size_t)na * L0 * 2, sizeof *P->J);
  int *lo = calloc((size_t)na * L0, sizeof *lo), *hi = calloc((size_t)na * L0, sizeof *hi);
  if (!P->gC || !P->gL || !P->W || !P->alias || !P->A || !P->J || !lo || !hi) {
    free(lo);
    free(hi);
    plan_free(P);
    return dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory");
  }
  P->gC[0] = m->shapes[0].d[1];
  P->gL[0] = m->shapes[0].d[2];
  for (int p = 0; p < L0; p++) lo[p] = p, hi[p] = p + 1;
  for (int i = 0; i < F; i++) {
    const dnacl_layer_spec *ls = &m->spec.layers[i];
    const dnacl_shape *so = &m->shapes[i + 1];
    P->gC[i + 1] = so->ndim == 3 ? so->d[1] : P->gC[i];
    P->gL[i + 1] = so->ndim == 3 ? so->d[2] : P->gL[i];
    const int Lout = P->gL[i + 1];
    const int kind = m->nodes[i].kind;
    P->alias[i] = kind == DNACL_L_DROPOUT || kind == DNACL_L_FLATTEN || kind == DNACL_L_RESIDUAL_BEGIN ||
                  (kind == DNACL_L_ACTIVATION && ls->act == DNACL_ACT_LINEAR);
    for (int p = 0; p < L0; p++) {
      int a = lo[(size_t)i * L0 + p], b = hi[(size_t)i * L0 + p];
      if (kind == DNACL_L_CONV1D) {
        /* y[q] reads x[q + k*dil - left], k < K: input j reaches q in [j - span + left, j + left]. */
        int span = ls->dilation * (ls->kernel - 1), left = ls->same_padding ? span / 2 : 0;
        a = a - span + left;
        b = b + left;
      } else if (kind == DNACL_L_MAXPOOL) {
        /* output o reads inputs [o*S, o*S + Wp). */
        int Wp = ls->window, S = ls->stride;
        a = ceil_div(a - Wp + 1, S);
        b = floor_div(b - 1, S) + 1;
      } else if (kind == DNACL_L_RESIDUAL_END) {
        int bg = m->nodes[i].residual_begin;
        a = imin(a, lo[(size_t)bg * L0 + p]);
        b = imax(b, hi[(size_t)bg * L0 + p]);
      }
      a = imax(0, imin(a, Lout));
      b = imax(a, imin(b, Lout)); /* a pool whose stride skips inputs can leave none changed */
      lo[(size_t)(i + 1) * L0 + p] = a;
      hi[(size_t)(i + 1) * L0 + p] = b;
    }
  }
  /* Windows of one width per activation, shifted inside the activation near its ends. */
  for (int i = 0; i < na; i++) {
    int w = 1;
    for (int p = 0; p < L0; p++) w = imax(w, hi[(size_t)i * L0 + p] - lo[(size_t)i * L0 + p]);
    P->W[i] = w = imin(w, P->gL[i]);
    for (int p = 0; p < L0; p++) {
      const size_t ip = (size_t)i * L0 + p;
      P->A[ip] = imin(lo[ip], P->gL[i] - w);
      P->J[2 * ip] = lo[ip] - P->A[ip];
      P->J[2 * ip + 1] = hi[ip] - P->A[ip];
    }
  }
  for (int i = 0; i < F; i++)
    if (P->alias[i] && (P->W[i + 1] != P->W[i] || P->gC[i + 1] != P->gC[i])) P->alias[i] = 0;
  free(lo);
  free(hi);
  *ok = 1;
  return DNACL_OK;
}

/* ---- incremental: device state ------------------------------------------------------ */

typedef struct inc_state {
  int V;                /* variants in the batch being queued (<= Vcap) */
  int Vcap, R;          /* the buffers' capacity: variants per batch, reference rows */
  int GM, UB;           /* ism_dense: variants and 16-unit blocks per work-item */
  act_set ref;          /* reference activations, batch R; ref.t[0] the chunk's sequences */
  dnacl_tensor *refT;   /* the ones one-pass convolutions read, transposed to (R, L, C) */
  act_set tail;         /* activations after the first dense layer, batch V */
  dnacl_tensor *win;    /* win[i]: (V, gC[i], W[i]); aliases share the buffer */
  unsigned char *win_own;
  dnacl_tensor *buf;    /* per batch: the buffer holding activation i's window ... */
  int *pend;            /* ... before the affine of batch norm node pend[i] (-1: none) */
  int fuse;             /* activation and pooling after a one-pass convolution applied by it */
  cl_mem *A, *J;        /* per activation: the window-start and changed-column tables */
  cl_mem vl, groups;
  int *fused;           /* per conv node: 1 = ism_conv_win, 0 = GEMM and gather */
  unsigned char *dout;  /* per conv node: its window holds the change, not the values (its
                         * reader is a one-pass convolution or the dense update) */
  unsigned char *din;   /* per conv node: its input window holds the change */
  int dense_din;        /* the dense update reads the change as written (no ism_delta pass) */
  int xin;              /* the first node is a one-pass convolution that builds its input
                         * change from the variant list (no ism_window_input pass) */
  int dense_act;        /* the activation after the dense layer, applied by the update (-1: none) */
  dnacl_tensor *wc;     /* per conv node: weights as (Cin, K, C16) (fused) or (Cout*K, Cin) */
  dnacl_tensor *bn_s, *bn_t; /* per batch norm node: the eval-mode affine */
  dnacl_tensor d, t;    /* GEMM path: the input change and the tap products */
  dnacl_tensor dd;      /* the change of the first dense layer's input, (V, C*W) */
  dnacl_tensor wt;      /* first dense layer's weights transposed, (In, U16) */
  int U, U16;
  /* The dense layers after it, through ism_dense too: a window of the whole input (one
   * column, C = In) changed from a zero reference whose output is the bias. */
  dnacl_tensor *tw;     /* per tail dense node: weights transposed, (In, U16) */
  dnacl_tensor *tzb;    /* ... a zero bias, when the layer has none */
  cl_mem tzero;         /* 3V zeros: a variant list and window-start table of that */
  cl_mem tgroups;       /* runs of GM consecutive rows */
  int tng;
} inc_state;

static int gemm_ld(int n) {
  /* Row strides that are multiples of 256 floats make the GEMM transpose first (gemm.c). */
  int ld = (n + 15) / 16 * 16;
  return ld % 256 == 0 ? ld + 16 : ld;
}

static void state_free(inc_state *S, const inc_plan *P, int nn) {
  acts_free(&S->ref);
  acts_free(&S->tail);
  if (S->win && S->win_own)
    for (int i = 0; i <= P->F; i++)
      if (S->win_own[i]) dnacl_tensor_free(&S->win[i]);
  if (S->A)
    for (int i = 0; i <= P->F; i++) release(&S->A[i]);
  if (S->J)
    for (int i = 0; i <= P->F; i++) release(&S->J[i]);
  for (int i = 0; i < nn; i++) {
    if (S->wc) dnacl_tensor_free(&S->wc[i]);
    if (S->bn_s) dnacl_tensor_free(&S->bn_s[i]);
    if (S->bn_t) dnacl_tensor_free(&S->bn_t[i]);
  }
  if (S->refT)
    for (int i = 0; i <= P->F; i++) dnacl_tensor_free(&S->refT[i]);
  free(S->refT);
  free(S->win);
  free(S->win_own);
  free(S->buf);
  free(S->pend);
  free(S->A);
  free(S->J);
  free(S->fused);
  free(S->dout);
  free(S->din);
  free(S->wc);
  free(S->bn_s);
  free(S->bn_t);
  release(&S->vl);
  release(&S->groups);
  dnacl_tensor_free(&S->d);
  dnacl_tensor_free(&S->t);
  dnacl_tensor_free(&S->dd);
  dnacl_tensor_free(&S->wt);
  for (int i = 0; i < nn; i++) {
    if (S->tw) dnacl_tensor_free(&S->tw[i]);
    if (S->tzb) dnacl_tensor_free(&S->tzb[i]);
  }
  free(S->tw);
  free(S->tzb);
  release(&S->tzero);
  release(&S->tgroups);
  memset(S, 0, sizeof *S);
}

/* The one-pass convolution keeps WIN + (K-1)*dil vectors of partial outputs and WIN input
 * changes in registers; beyond 28 of the 32 AVX-512 registers it would spill, and a GPU
 * has no registers to spare for them at all, so those take the GEMM (CLBlast there).
 * DNACL_ISM_CONV=gemm forces the GEMM path (tests cover both). */
static int conv_fused(const dnacl_ctx *ctx, const dnacl_layer_spec *ls, int win) {
  const char *e = getenv("DNACL_ISM_CONV");
  if (e && !strcmp(e, "gemm")) return 0;
  return ctx->is_cpu && 2 * win + ls->dilation * (ls->kernel - 1) <= 28;
}

/* The one-pass convolution multiplies pairs of columns by pairs of taps with three
 * multiply-adds instead of four (Karatsuba, cl/ism.cl KARA) where both counts are even
 * and the taps adjacent: the chapter's second convolution, most of the method's time,
 * takes 25 % fewer. DNACL_ISM_CONV=direct keeps the four (tests cover both). */
static int conv_karatsuba(int dil, int K, int win) {
  const char *e = getenv("DNACL_ISM_CONV");
  if (e && !strcmp(e, "direct")) return 0;
  return dil == 1 && K % 2 == 0 && win % 2 == 0;
}

/* Floats of window state per variant, to size the batch. */
static double per_variant_floats(const dnacl_model *m, const inc_plan *P) {
  double w = 0, dmax = 0, tmax = 0;
  for (int i = 0; i <= P->F; i++) w += (double)P->gC[i] * P->W[i];
  for (int i = 0; i < P->F; i++) {
    if (m->nodes[i].kind != DNACL_L_CONV1D) continue;
    dmax = fmax(dmax, (double)P->gC[i] * P->W[i]);
    tmax = fmax(tmax, (double)P->gC[i + 1] * m->spec.layers[i].kernel * P->W[i]);
  }
  return w + dmax + tmax + (double)P->gC[P->F] * P->W[P->F] + 64;
}

/* A host array copied into a new tensor of n floats (as int_buffer does; the host array is
 * freed). */
static dnacl_status upload(dnacl_ctx *ctx, float *h, int n, dnacl_tensor *t) {
  memset(t, 0, sizeof *t);
  cl_int err;
  t->buf = clCreateBuffer(ctx->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)n * sizeof *h, h, &err);
  free(h);
  if (err != CL_SUCCESS) {
    t->buf = NULL;
    return dnacl_fail(DNACL_ERR_OPENCL, "ism: clCreateBuffer of %d floats failed with %s", n,
                      dnacl_cl_error_name(err));
  }
  t->ndim = 1;
  t->shape[0] = n;
  t->n = (size_t)n;
  return DNACL_OK;
}

/* Weights of conv node i in the layout of its path (ism_conv_weights): one-pass
 * (Cin, K, C16), 16 output channels per vector load, zero past Cout; GEMM (Cout*K, Cin),
 * the GEMM's A, a row per (channel, tap). Queued. */
static dnacl_status conv_weights(dnacl_ctx *ctx, dnacl_model *m, const inc_plan *P, inc_state *S, int i) {
  const int Cin = P->gC[i], Cout = P->gC[i + 1], K = m->spec.layers[i].kernel;
  const int C16 = S->fused[i] ? (Cout + 15) / 16 * 16 : Cout;
  const dnacl_param *pw = dnacl_layer_param(m->nodes[i].layer, "w");
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_conv_weights", &k));
  size_t g = (size_t)Cin * K, l1;
  return dnacl_run(ctx, k, 1, &g, groups_of(&l1, &g, 1), "miiiiim", pw->value.buf, Cout, Cin, K, C16, S->fused[i],
                   S->wc[i].buf);
}

/* Eval-mode batch norm of node i as y = x * s + t, from the layer's running statistics
 * (ism_bn_affine). Queued. */
static dnacl_status bn_affine(dnacl_ctx *ctx, dnacl_model *m, inc_state *S, int i) {
  dnacl_layer *l = m->nodes[i].layer;
  const dnacl_param *g = dnacl_layer_param(l, "gamma"), *b = dnacl_layer_param(l, "beta");
  const dnacl_param *mu = dnacl_layer_param(l, "rmean"), *var = dnacl_layer_param(l, "rvar");
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_bn_affine", &k));
  size_t gs = g->value.n, l1;
  return dnacl_run(ctx, k, 1, &gs, groups_of(&l1, &gs, 1), "mmmmfimm", g->value.buf, b->value.buf, mu->value.buf,
                   var->value.buf, (double)m->spec.layers[i].eps, (int)g->value.n, S->bn_s[i].buf, S->bn_t[i].buf);
}

/* The next node at or after i that is not an identity, or F. */
static int next_op(const inc_plan *P, int i) {
  while (i < P->F && P->alias[i]) i++;
  return i;
}

/* The nodes a convolution at node i applies itself (-1: none): a batch norm right after
 * it (identities between), and on the one-pass path an activation, a batch norm after
 * that and a max pooling (conv -> bn -> act -> pool in CNN-deep, conv -> act -> bn ->
 * pool in the chapter's second block). Returns the last of them (or i). */
typedef struct conv_chain {
  int bn, act, bn2, pool;
} conv_chain;
static int chain_of(const dnacl_model *m, const inc_plan *P, const inc_state *S, int i, conv_chain *c) {
  const int F = P->F;
  int last = i, j = next_op(P, i + 1);
  *c = (conv_chain){-1, -1, -1, -1};
  if (j < F && m->nodes[j].kind == DNACL_L_BATCHNORM) last = c->bn = j, j = next_op(P, j + 1);
  if (!S->fused[i] || !S->fuse) return last;
  if (j < F && m->nodes[j].kind == DNACL_L_ACTIVATION) {
    last = c->act = j, j = next_op(P, j + 1);
    if (j < F && m->nodes[j].kind == DNACL_L_BATCHNORM) last = c->bn2 = j, j = next_op(P, j + 1);
  }
  if (j < F && m->nodes[j].kind == DNACL_L_MAXPOOL) last = c->pool = j;
  return last;
}

/* wt[(p*C + c)*U16 + u] = w[u, c*L + p] (ism_dense_weights), zero for U <= u < U16.
 * Queued. */
static dnacl_status dense_weights(dnacl_ctx *ctx, const dnacl_tensor *w, int U, int C, int L, int U16,
                                  const dnacl_tensor *wt) {
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_dense_weights", &k));
  size_t g[2] = {(size_t)(C * L + 15) / 16, (size_t)U16 / 16}, l2[2];
  return dnacl_run(ctx, k, 2, g, groups_of(l2, g, 2), "miiiim", w->buf, U, C, L, U16, wt->buf);
}

/* Everything but the parameters' values: buffers for R reference rows and batches of up
 * to V variants, the index tables, the path of each layer. Nothing is queued. */
static dnacl_status state_alloc(dnacl_ctx *ctx, dnacl_model *m, const inc_plan *P, int R, int V,
                                inc_state *S) {
  const int F = P->F, L0 = P->L0, nn = m->n_nodes;
  S->V = S->Vcap = V;
  S->R = R;
  /* On the CPU a work-item takes 12 variants x 32 units: 24 accumulators, and each
   * broadcast input feeds 2 multiply-adds (0.50 -> 0.38 ms per sequence, baseline at L=200,
   * against 12 x 16). */
  S->GM = ctx->is_cpu ? 12 : 4;
  S->UB = ctx->is_cpu ? 2 : 1;
  const char *fa = getenv("DNACL_ISM_FUSE");
  S->fuse = !(fa && !strcmp(fa, "0"));
  S->dense_act = S->fuse && F + 1 < nn && m->nodes[F + 1].kind == DNACL_L_ACTIVATION
                     ? (int)m->spec.layers[F + 1].act
                     : -1;
  S->win = calloc((size_t)F + 1, sizeof *S->win);
  S->refT = calloc((size_t)F + 1, sizeof *S->refT);
  S->win_own = calloc((size_t)F + 1, 1);
  S->buf = calloc((size_t)F + 1, sizeof *S->buf);
  S->pend = calloc((size_t)F + 1, sizeof *S->pend);
  S->A = calloc((size_t)F + 1, sizeof *S->A);
  S->J = calloc((size_t)F + 1, sizeof *S->J);
  S->fused = calloc((size_t)nn, sizeof *S->fused);
  S->dout = calloc((size_t)nn, 1);
  S->din = calloc((size_t)nn, 1);
  S->wc = calloc((size_t)nn, sizeof *S->wc);
  S->bn_s = calloc((size_t)nn, sizeof *S->bn_s);
  S->bn_t = calloc((size_t)nn, sizeof *S->bn_t);
  S->tw = calloc((size_t)nn, sizeof *S->tw);
  S->tzb = calloc((size_t)nn, sizeof *S->tzb);
  if (!S->win || !S->refT || !S->win_own || !S->buf || !S->pend || !S->A || !S->J || !S->fused || !S->dout ||
      !S->din || !S->wc || !S->bn_s || !S->bn_t || !S->tw || !S->tzb)
    return dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory");
  DNACL_TRY(acts_alloc(ctx, m, R, 0, nn, &S->ref));
  DNACL_TRY(acts_alloc(ctx, m, V, F + 1, nn, &S->tail));
  DNACL_TRY(int_buffer(ctx, 3 * (size_t)V, NULL, &S->vl));
  DNACL_TRY(int_buffer(ctx, 2 * (size_t)V, NULL, &S->groups));
  for (int i = 0; i <= F; i++) {
    DNACL_TRY(int_buffer(ctx, (size_t)L0, P->A + (size_t)i * L0, &S->A[i]));
    DNACL_TRY(int_buffer(ctx, 2 * (size_t)L0, P->J + 2 * (size_t)i * L0, &S->J[i]));
    if (i > 0 && P->alias[i - 1]) {
      S->win[i] = S->win[i - 1];
      continue;
    }
    DNACL_TRY(dnacl_tensor_new(ctx, &S->win[i], V, P->gC[i], P->W[i]));
    S->win_own[i] = 1;
  }
  for (int i = 0; i < F; i++)
    if (m->nodes[i].kind == DNACL_L_CONV1D) S->fused[i] = conv_fused(ctx, &m->spec.layers[i], P->W[i]);
  S->xin = F > 0 && m->nodes[0].kind == DNACL_L_CONV1D && S->fused[0];
  size_t dmax = 1, tmax = 1;
  for (int i = 0; i < F; i++) {
    const dnacl_layer_spec *ls = &m->spec.layers[i];
    if (m->nodes[i].kind == DNACL_L_BATCHNORM) {
      const int C = (int)dnacl_layer_param(m->nodes[i].layer, "gamma")->value.n;
      DNACL_TRY(dnacl_tensor_new(ctx, &S->bn_s[i], C, 0, 0));
      DNACL_TRY(dnacl_tensor_new(ctx, &S->bn_t[i], C, 0, 0));
    }
    if (m->nodes[i].kind != DNACL_L_CONV1D) continue;
    const int Cin = P->gC[i], Cout = P->gC[i + 1];
    DNACL_TRY(dnacl_tensor_new(ctx, &S->wc[i], Cin * ls->kernel * (S->fused[i] ? (Cout + 15) / 16 * 16 : Cout), 0, 0));
    if (S->fused[i]) {
      conv_chain ch;
      const int o = chain_of(m, P, S, i, &ch) + 1, co = ch.pool >= 0 ? ch.pool : o;
      /* Its reader only needs the change when that is the dense update or another one-pass
       * convolution (identities between, but no residual branch point: the skip's add
       * reads values). */
      const int j = next_op(P, o);
      int branch = 0;
      for (int n = o; n < j; n++) branch |= m->nodes[n].kind == DNACL_L_RESIDUAL_BEGIN;
      if (!branch && (j == F || (m->nodes[j].kind == DNACL_L_CONV1D && S->fused[j]))) {
        S->dout[i] = 1;
        if (j == F) S->dense_din = 1;
        else S->din[j] = 1;
      }
      const int need[3] = {ch.act >= 0 ? ch.act : co, co, o};
      for (int n = 0; n < (S->dout[i] ? 3 : 2); n++)
        if (!S->refT[need[n]].buf) DNACL_TRY(dnacl_tensor_new(ctx, &S->refT[need[n]], R, P->gL[need[n]], P->gC[need[n]]));
      continue;
    }
    const size_t ld = (size_t)gemm_ld(V * P->W[i]);
    if ((size_t)P->gC[i] * ld > dmax) dmax = (size_t)P->gC[i] * ld;
    if ((size_t)P->gC[i + 1] * ls->kernel * ld > tmax) tmax = (size_t)P->gC[i + 1] * ls->kernel * ld;
  }
  DNACL_TRY(dnacl_tensor_new(ctx, &S->d, (int)dmax, 0, 0));
  DNACL_TRY(dnacl_tensor_new(ctx, &S->t, (int)tmax, 0, 0));
  if (!S->dense_din) DNACL_TRY(dnacl_tensor_new(ctx, &S->dd, V * P->gC[F] * P->W[F], 0, 0));
  /* wt[p*C + c, u] = w[u, c*L + p] (the input is (C, L) flattened channel-major): the rows
   * a window reads, all channels at W consecutive positions, are one contiguous block
   * (2.3 -> 2.0 ms per sequence for the update at L=1000, where the rows of one channel
   * are 256 KB apart). Rows padded with zeros to whole work-items (16 * UB units). */
  const dnacl_param *wd = dnacl_layer_param(m->nodes[F].layer, "w");
  const int U = wd->value.shape[0], In = wd->value.shape[1], ub = 16 * S->UB, U16 = (U + ub - 1) / ub * ub;
  if (In != P->gC[F] * P->gL[F])
    return dnacl_fail(DNACL_ERR_SHAPE, "ism: dense layer %s has %d inputs, expected %d x %d",
                      m->nodes[F].layer->name, In, P->gC[F], P->gL[F]);
  S->U = U;
  S->U16 = U16;
  DNACL_TRY(dnacl_tensor_new(ctx, &S->wt, In * U16, 0, 0));
  /* The dense layers after it. */
  int *h = calloc(3 * (size_t)V, sizeof *h);
  if (!h) return dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory");
  dnacl_status s = int_buffer(ctx, 3 * (size_t)V, h, &S->tzero);
  S->tng = (V + S->GM - 1) / S->GM;
  for (int g = 0; g < S->tng; g++) h[2 * g] = g * S->GM, h[2 * g + 1] = imin(S->GM, V - g * S->GM);
  if (s == DNACL_OK) s = int_buffer(ctx, 2 * (size_t)S->tng, h, &S->tgroups);
  free(h);
  for (int i = F + 1; s == DNACL_OK && i < nn; i++) {
    if (m->nodes[i].kind != DNACL_L_DENSE) continue;
    const dnacl_param *pw = dnacl_layer_param(m->nodes[i].layer, "w");
    const int Ui = pw->value.shape[0], Ki = pw->value.shape[1];
    s = dnacl_tensor_new(ctx, &S->tw[i], Ki * ((Ui + ub - 1) / ub * ub), 0, 0);
    if (s == DNACL_OK && !dnacl_layer_param(m->nodes[i].layer, "b")) {
      float *z = calloc((size_t)Ui, sizeof *z);
      s = z ? upload(ctx, z, Ui, &S->tzb[i]) : dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory");
    }
  }
  return s;
}

/* What the parameters' values give, rewritten on every call (queued, no wait): the
 * convolutions' weights in the layout of their path, the batch norms' affines, the dense
 * layers' weights transposed. Never kept from an earlier call, so nothing can be stale
 * whatever changed the parameters in between (a training step, a checkpoint, a write by
 * the caller); it costs ~0.15 ms of device time per call for the baseline. */
static dnacl_status state_params(dnacl_ctx *ctx, dnacl_model *m, const inc_plan *P, inc_state *S) {
  const int F = P->F, nn = m->n_nodes;
  for (int i = 0; i < F; i++) {
    if (m->nodes[i].kind == DNACL_L_BATCHNORM) DNACL_TRY(bn_affine(ctx, m, S, i));
    if (m->nodes[i].kind == DNACL_L_CONV1D) DNACL_TRY(conv_weights(ctx, m, P, S, i));
  }
  const dnacl_param *wd = dnacl_layer_param(m->nodes[F].layer, "w");
  DNACL_TRY(dense_weights(ctx, &wd->value, S->U, P->gC[F], P->gL[F], S->U16, &S->wt));
  const int ub = 16 * S->UB;
  for (int i = F + 1; i < nn; i++) {
    if (m->nodes[i].kind != DNACL_L_DENSE) continue;
    const dnacl_param *pw = dnacl_layer_param(m->nodes[i].layer, "w");
    const int Ui = pw->value.shape[0], Ki = pw->value.shape[1];
    DNACL_TRY(dense_weights(ctx, &pw->value, Ui, Ki, 1, (Ui + ub - 1) / ub * ub, &S->tw[i]));
  }
  return DNACL_OK;
}

/* ---- incremental: one batch --------------------------------------------------------- */

/* Kernel arguments of activation i's pending affine: scale, shift, flag. Without one the
 * pointers are a valid dummy (never read). */
typedef struct affine_arg {
  cl_mem s, t;
  int on;
} affine_arg;
static affine_arg pending(const inc_state *S, int i) {
  int j = S->pend[i];
  if (j < 0) return (affine_arg){S->vl, S->vl, 0};
  return (affine_arg){S->bn_s[j].buf, S->bn_t[j].buf, 1};
}

/* Apply activation i's pending batch norm with the layer's own forward, for readers that
 * are layers themselves (activations, layer norm, another batch norm) or the residual
 * add. */
static dnacl_status materialise(dnacl_ctx *ctx, dnacl_model *m, inc_state *S, int i) {
  const int j = S->pend[i];
  if (j < 0) return DNACL_OK;
  dnacl_layer *l = m->nodes[j].layer;
  dnacl_tensor x = rows_view(&S->buf[i], S->V), y = rows_view(&S->win[j + 1], S->V);
  DNACL_TRY(l->ops->forward(l, ctx, &x, &y, 0));
  for (int k = j + 1; k <= i; k++)
    if (S->pend[k] == j) S->buf[k] = S->win[j + 1], S->pend[k] = -1;
  return DNACL_OK;
}

/* Conv node i. A batch norm right after it (identities between) is applied to the change
 * as the convolution writes it, and on the one-pass path an activation, a batch norm
 * after it and a max pooling after those too (conv -> bn -> act -> pool in CNN-deep,
 * conv -> act -> bn -> pool in the chapter's second block). *o: the activation index
 * written. */
static dnacl_status conv_step(dnacl_ctx *ctx, dnacl_model *m, const inc_plan *P, inc_state *S, int i,
                              int *o) {
  const dnacl_layer_spec *ls = &m->spec.layers[i];
  const int V = S->V, Cin = P->gC[i], Cout = P->gC[i + 1], K = ls->kernel, dil = ls->dilation;
  const int span = dil * (K - 1), left = ls->same_padding ? span / 2 : 0;
  conv_chain ch;
  *o = chain_of(m, P, S, i, &ch) + 1;
  const int bn = ch.bn, act = ch.act, bn2 = ch.bn2, pool = ch.pool;
  const int co = pool >= 0 ? pool : *o; /* the convolution's window, after batch norm and activation */
  const int Win = P->W[i], Wout = P->W[*o];
  const affine_arg in = pending(S, i);
  cl_mem osc = bn >= 0 ? S->bn_s[bn].buf : S->vl;
  /* The reference before the activation, and after it (transposed for the one-pass path). */
  const dnacl_tensor *ref_pre = &S->ref.t[act >= 0 ? act : co], *ref_mid = &S->ref.t[co];
  if (S->fused[i]) ref_pre = &S->refT[act >= 0 ? act : co], ref_mid = &S->refT[co];
  cl_kernel k;
  size_t l2[2];
  if (S->fused[i]) {
    char opts[128];
    int u = snprintf(opts, sizeof opts, "-DWIN=%d -DKK=%d -DDIL=%d", Win, K, dil);
    if (act >= 0) u += snprintf(opts + u, sizeof opts - (size_t)u, " -DFACT=%d", (int)m->spec.layers[act].act);
    if (bn2 >= 0) u += snprintf(opts + u, sizeof opts - (size_t)u, " -DAFF2");
    if (S->dout[i]) u += snprintf(opts + u, sizeof opts - (size_t)u, " -DDOUT");
    if (S->din[i]) u += snprintf(opts + u, sizeof opts - (size_t)u, " -DDIN");
    if (i == 0 && S->xin) u += snprintf(opts + u, sizeof opts - (size_t)u, " -DXIN");
    if (conv_karatsuba(dil, K, Win)) u += snprintf(opts + u, sizeof opts - (size_t)u, " -DKARA");
    if (pool >= 0)
      snprintf(opts + u, sizeof opts - (size_t)u, " -DPW=%d -DPS=%d", m->spec.layers[pool].window,
               m->spec.layers[pool].stride);
    DNACL_TRY(dnacl_kernel(ctx, "ism", opts, "ism_conv_win", &k));
    size_t g[2] = {(size_t)(Cout + 15) / 16, (size_t)V};
    cl_mem sc2 = bn2 >= 0 ? S->bn_s[bn2].buf : S->vl, sh2 = bn2 >= 0 ? S->bn_t[bn2].buf : S->vl;
    const dnacl_tensor *ref_o = S->dout[i] ? &S->refT[*o] : ref_mid;
    return dnacl_run(ctx, k, 2, g, groups_of(l2, g, 2), "mmiimmmmimiimmimiimimmmimimim", S->buf[i].buf,
                     S->ref.t[i].buf, Cin, P->gL[i], S->A[i], S->J[i], in.s, in.t, in.on, S->wc[i].buf,
                     Cout, (Cout + 15) / 16 * 16, ref_pre->buf, ref_mid->buf, P->gL[co], S->A[co],
                     P->W[co], left, osc, bn >= 0, sc2, sh2, S->A[*o], Wout, ref_o->buf, P->gL[*o], S->vl,
                     V, S->win[*o].buf);
  }
  const int ld = gemm_ld(V * Win);
  DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_delta", &k));
  size_t g[2] = {(size_t)Cin, (size_t)V};
  DNACL_TRY(dnacl_run(ctx, k, 2, g, groups_of(l2, g, 2), "mmiiimmmmiiiim", S->buf[i].buf, S->ref.t[i].buf, Cin,
                      P->gL[i], Win, S->vl, S->A[i], in.s, in.t, in.on, V, ld, Win, S->d.buf));
  dnacl_gemm_args ga = {0};
  ga.M = Cout * K;
  ga.N = V * Win;
  ga.K = Cin;
  ga.lda = Cin;
  ga.ldb = ld;
  ga.ldc = ld;
  ga.alpha = 1.0f;
  DNACL_TRY(dnacl_gemm(ctx, S->wc[i].buf, S->d.buf, S->t.buf, &ga));
  DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_conv_gather", &k));
  size_t g2[2] = {(size_t)Cout, (size_t)V};
  return dnacl_run(ctx, k, 2, g2, groups_of(l2, g2, 2), "mimiiimiiiimmimim", S->t.buf, ld, ref_mid->buf, Cout,
                   P->gL[*o], Wout, S->A[*o], K, dil, left, Win, S->A[i], osc, bn >= 0, S->vl, V,
                   S->win[*o].buf);
}

static dnacl_status pool_step(dnacl_ctx *ctx, dnacl_model *m, const inc_plan *P, inc_state *S, int i) {
  const dnacl_layer_spec *ls = &m->spec.layers[i];
  const int V = S->V, C = P->gC[i];
  const affine_arg in = pending(S, i);
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_pool", &k));
  size_t g[2] = {(size_t)C, (size_t)V}, l2[2];
  return dnacl_run(ctx, k, 2, g, groups_of(l2, g, 2), "mmiiimmmiiimimim", S->buf[i].buf, S->ref.t[i].buf, C,
                   P->gL[i], P->W[i], S->A[i], in.s, in.t, in.on, ls->window, ls->stride, S->A[i + 1],
                   P->W[i + 1], S->vl, V, S->win[i + 1].buf);
}

static dnacl_status resadd_step(dnacl_ctx *ctx, dnacl_model *m, const inc_plan *P, inc_state *S, int i) {
  const int b = m->nodes[i].residual_begin, V = S->V, C = P->gC[i];
  DNACL_TRY(materialise(ctx, m, S, i));
  DNACL_TRY(materialise(ctx, m, S, b));
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_resadd", &k));
  size_t g[2] = {(size_t)C, (size_t)V}, l2[2];
  return dnacl_run(ctx, k, 2, g, groups_of(l2, g, 2), "mimmmimmiimmiim", S->buf[i].buf, P->W[i], S->A[i],
                   S->ref.t[i].buf, S->buf[b].buf, P->W[b], S->A[b], S->ref.t[b].buf, C, P->gL[i],
                   S->vl, S->A[i + 1], P->W[i + 1], V, S->win[i + 1].buf);
}

/* Queues the outputs of the V <= Vcap variants of hv (3 ints each) into
 * S->tail.t[n_nodes]. hv and hg (room for 2V ints) are read by queued transfers: they must
 * stay as they are until the queue has run them. */
static dnacl_status run_batch(dnacl_ctx *ctx, dnacl_model *m, const inc_plan *P, inc_state *S,
                              const int *hv, int V, int *hg) {
  const int F = P->F, L0 = P->L0;
  S->V = V;
  /* Runs of variants with the same reference row and dense window, at most GM long. */
  int ng = 0;
  for (int v = 0; v < V; v++) {
    const int *a = hv + 3 * v, *g0 = ng ? hv + 3 * hg[2 * (ng - 1)] : NULL;
    if (ng && hg[2 * ng - 1] < S->GM && a[0] == g0[0] &&
        P->A[(size_t)F * L0 + a[1]] == P->A[(size_t)F * L0 + g0[1]]) {
      hg[2 * ng - 1]++;
    } else {
      hg[2 * ng] = v;
      hg[2 * ng + 1] = 1;
      ng++;
    }
  }
  DNACL_TRY(write_ints_queued(ctx, S->vl, hv, 3 * (size_t)V));
  DNACL_TRY(write_ints_queued(ctx, S->groups, hg, 2 * (size_t)ng));
  cl_kernel k;
  size_t l2[2];
  if (!S->xin) {
    DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_window_input", &k));
    size_t g[2] = {(size_t)P->gC[0], (size_t)V};
    DNACL_TRY(dnacl_run(ctx, k, 2, g, groups_of(l2, g, 2), "miimmiim", S->ref.t[0].buf, P->gC[0], L0, S->vl,
                        S->A[0], P->W[0], V, S->win[0].buf));
  }
  S->buf[0] = S->win[0];
  S->pend[0] = -1;
  for (int i = 0; i < F; i++) {
    const dnacl_node *nd = &m->nodes[i];
    if (P->alias[i]) {
      S->buf[i + 1] = S->buf[i];
      S->pend[i + 1] = S->pend[i];
      continue;
    }
    int o = i + 1;
    switch (nd->kind) {
      case DNACL_L_CONV1D: DNACL_TRY(conv_step(ctx, m, P, S, i, &o)); break;
      case DNACL_L_BATCHNORM:
        /* Deferred: the next reader applies it (or materialise does, for layers). */
        DNACL_TRY(materialise(ctx, m, S, i));
        S->buf[i + 1] = S->buf[i];
        S->pend[i + 1] = i;
        continue;
      case DNACL_L_MAXPOOL: DNACL_TRY(pool_step(ctx, m, P, S, i)); break;
      case DNACL_L_RESIDUAL_END: DNACL_TRY(resadd_step(ctx, m, P, S, i)); break;
      default: { /* activations, layer norm: the layer itself on the window */
        DNACL_TRY(materialise(ctx, m, S, i));
        dnacl_tensor x = rows_view(&S->buf[i], V), y = rows_view(&S->win[i + 1], V);
        DNACL_TRY(nd->layer->ops->forward(nd->layer, ctx, &x, &y, 0));
      }
    }
    S->buf[o] = S->win[o];
    S->pend[o] = -1;
    i = o - 1; /* nodes a convolution applied itself are done */
  }
  /* The change of the dense layer's input, variant-major, then the update. */
  const dnacl_tensor *dd = &S->buf[F];
  if (!S->dense_din) {
    const affine_arg in = pending(S, F);
    const int CW = P->gC[F] * P->W[F];
    DNACL_TRY(dnacl_kernel(ctx, "ism", "", "ism_delta", &k));
    size_t g2[2] = {(size_t)P->gC[F], (size_t)V};
    DNACL_TRY(dnacl_run(ctx, k, 2, g2, groups_of(l2, g2, 2), "mmiiimmmmiiiim", S->buf[F].buf, S->ref.t[F].buf,
                        P->gC[F], P->gL[F], P->W[F], S->vl, S->A[F], in.s, in.t, in.on, V, P->W[F], CW,
                        S->dd.buf));
    dd = &S->dd;
  }
  char opts[64];
  int u = snprintf(opts, sizeof opts, "-DGM=%d -DUB=%d", S->GM, S->UB);
  if (S->dense_act >= 0) snprintf(opts + u, sizeof opts - (size_t)u, " -DFACT=%d", S->dense_act);
  const int t0 = S->dense_act >= 0 ? F + 2 : F + 1; /* the first activation the layers compute */
  DNACL_TRY(dnacl_kernel(ctx, "ism", opts, "ism_dense", &k));
  size_t gd[2] = {(size_t)(S->U16 / 16 + S->UB - 1) / S->UB, (size_t)ng}, ld[2] = {gd[0], 1};
  const int cs = S->dense_din ? 1 : P->W[F], js = S->dense_din ? P->gC[F] : 1;
  DNACL_TRY(dnacl_run(ctx, k, 2, gd, ld, "miiiiimmmiimiimm", dd->buf, cs, js, P->gC[F], P->gL[F], P->W[F], S->A[F],
                      S->vl, S->groups, ng, V, S->wt.buf, S->U, S->U16, S->ref.t[F + 1].buf,
                      S->tail.t[t0].buf));
  /* The rest on the V rows: dense layers (with an activation right after them) through
   * ism_dense, as a one-column window changed from a zero reference whose output is the
   * bias; the others with the layers' own forwards. Against the layer's bias pass and
   * GEMM plus the activation's pass, one pass instead of three (the chapter's dense2 and
   * dense3 and their activation: 0.25 -> 0.09 ms of CPU per sequence at L=200). */
  for (int i = t0; i < m->n_nodes; i++) {
    if (m->nodes[i].kind != DNACL_L_DENSE || !S->tw[i].buf) {
      DNACL_TRY(run_nodes(ctx, m, &S->tail, i, i + 1, V));
      continue;
    }
    const int act = S->fuse && i + 1 < m->n_nodes && m->nodes[i + 1].kind == DNACL_L_ACTIVATION
                        ? (int)m->spec.layers[i + 1].act
                        : -1;
    const dnacl_param *pw = dnacl_layer_param(m->nodes[i].layer, "w"), *pb = dnacl_layer_param(m->nodes[i].layer, "b");
    const int Ui = pw->value.shape[0], Ki = pw->value.shape[1], U16i = (int)(S->tw[i].n / (size_t)Ki);
    u = snprintf(opts, sizeof opts, "-DGM=%d -DUB=%d", S->GM, S->UB);
    if (act >= 0) snprintf(opts + u, sizeof opts - (size_t)u, " -DFACT=%d", act);
    DNACL_TRY(dnacl_kernel(ctx, "ism", opts, "ism_dense", &k));
    /* The first ceil(V / GM) groups of GM rows cover the batch (ism_dense stops at V). */
    const int tng = (V + S->GM - 1) / S->GM;
    size_t gt[2] = {(size_t)(U16i / 16 + S->UB - 1) / S->UB, (size_t)tng}, lt[2] = {gt[0], 1};
    DNACL_TRY(dnacl_run(ctx, k, 2, gt, lt, "miiiiimmmiimiimm", S->tail.t[i].buf, 1, 0, Ki, 1, 1, S->tzero, S->tzero,
                        S->tgroups, tng, V, S->tw[i].buf, Ui, U16i, pb ? pb->value.buf : S->tzb[i].buf,
                        S->tail.t[act >= 0 ? i + 2 : i + 1].buf));
    if (act >= 0) i++;
  }
  return DNACL_OK;
}

/* ---- incremental: what is kept between calls ------------------------------------------ */

/* Incremental ISM keeps its plan and its device buffers on the model between calls
 * (m->ism_cache): they follow from the model's layers, the device, two settings and the
 * batch sizes, never from parameter values, which state_params reads again on every call.
 * Allocating the buffers afresh cost ~1 ms per call on PoCL, most of it in page faults on
 * their first use. Made again with other settings or a larger batch; dropped after a
 * failed call. */
typedef struct ism_cache {
  /* The context's queue, retained: the cache belongs to the context whose queue this is
   * (held, so no later queue can have its address), and it is waited for when the cache
   * is freed, even after the context itself was released. */
  cl_command_queue queue;
  int fuse, gemm; /* DNACL_ISM_FUSE=0 and DNACL_ISM_CONV=gemm were not / were set */
  int nn;
  inc_plan P;
  inc_state S;    /* S.Vcap == 0 until the first call allocates it */
} ism_cache;

static void cache_free(void *p) {
  ism_cache *c = p;
  if (!c) return;
  clFinish(c->queue); /* nothing queued may still use the buffers or the tables */
  state_free(&c->S, &c->P, c->nn);
  plan_free(&c->P);
  clReleaseCommandQueue(c->queue);
  free(c);
}

static void cache_drop(dnacl_model *m) {
  if (m->ism_cache_free) m->ism_cache_free(m->ism_cache);
  m->ism_cache = NULL;
  m->ism_cache_free = NULL;
}

static int env_is(const char *name, const char *value) {
  const char *e = getenv(name);
  return e && !strcmp(e, value);
}

/* The model's cache for this context and settings, made (without buffers) when there is
 * none; *c is NULL when the model cannot take the incremental method. */
static dnacl_status cache_get(dnacl_ctx *ctx, dnacl_model *m, ism_cache **c) {
  const int fuse = !env_is("DNACL_ISM_FUSE", "0"), gemm = env_is("DNACL_ISM_CONV", "gemm");
  ism_cache *h = m->ism_cache_free == cache_free ? m->ism_cache : NULL;
  if (h && h->queue == ctx->queue && h->fuse == fuse && h->gemm == gemm) {
    *c = h;
    return DNACL_OK;
  }
  cache_drop(m);
  *c = NULL;
  inc_plan P;
  int ok = 0;
  DNACL_TRY(inc_analyse(m, &P, &ok));
  if (!ok) return DNACL_OK;
  h = calloc(1, sizeof *h);
  if (!h) {
    plan_free(&P);
    return dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory");
  }
  if (clRetainCommandQueue(ctx->queue) != CL_SUCCESS) {
    plan_free(&P);
    free(h);
    return dnacl_fail(DNACL_ERR_OPENCL, "ism: clRetainCommandQueue failed");
  }
  h->queue = ctx->queue;
  h->fuse = fuse;
  h->gemm = gemm;
  h->nn = m->n_nodes;
  h->P = P;
  m->ism_cache = h;
  m->ism_cache_free = cache_free;
  *c = h;
  return DNACL_OK;
}

/* ---- incremental: a call ------------------------------------------------------------ */

/* Every chunk of up to CHUNK sequences is queued whole (its reference forward, then its
 * batches, each batch's outputs read without waiting) and waited for once: a blocking read
 * per batch left both cores idle while the host prepared the next one, and every wait is a
 * round trip to PoCL's worker threads. */
static dnacl_status incremental(dnacl_ctx *ctx, dnacl_model *m, ism_cache *cache, const float *x,
                                int n, int target, dnacl_explain_output output, float *out) {
  const inc_plan *P = &cache->P;
  inc_state *S = &cache->S;
  const int C = m->in_channels, L = m->length, T = m->spec.tasks;
  const size_t xs = (size_t)C * L;
  const int R = imin(n, CHUNK);
  long v0 = 0;
  for (int i = 0; i < R; i++) v0 += n_variants(x + i * xs, C, L);
  int vmax = env_int("DNACL_ISM_BATCH", INC_BATCH);
  double fit = INC_BUDGET_FLOATS / per_variant_floats(m, P);
  if (fit < vmax) vmax = fit < 16 ? 16 : (int)fit;
  const int V = balanced(v0, vmax);
  dnacl_status s = DNACL_OK;
  if (S->Vcap < V || S->R < R) {
    /* Room for what this call needs and what earlier calls needed, so that calls of
     * different sizes do not make the buffers again and again. */
    const int Vn = imax(V, S->Vcap), Rn = imax(R, S->R);
    clFinish(ctx->queue);
    state_free(S, P, cache->nn);
    s = state_alloc(ctx, m, P, Rn, Vn, S);
  }
  const size_t maxv = (size_t)R * xs; /* variants of a chunk, at most */
  int *list = malloc(3 * maxv * sizeof *list), *hg = malloc(2 * maxv * sizeof *hg);
  double *fref = malloc((size_t)R * sizeof *fref);
  float *lref = malloc((size_t)R * T * sizeof *lref), *logits = malloc(maxv * T * sizeof *logits);
  if (s == DNACL_OK && (!list || !hg || !fref || !lref || !logits)) s = dnacl_fail(DNACL_ERR_NOMEM, "ism: out of memory");
  for (int c0 = 0; s == DNACL_OK && c0 < n; c0 += R) {
    const int rc = imin(R, n - c0);
    /* The chunk's commands wait behind a gate until all are queued: the host thread
     * queueing while PoCL's two workers run is three threads on two cores, and the
     * workers then often ended up sharing one core for the rest of the call (1 sequence,
     * 25 runs: 6 at ~1.8 ms and the rest ~2.8 ms, as long as their CPU time; with the gate
     * 16 at ~1.65 ms). Nothing queued inside the gate may wait for the queue (a blocking
     * read there would never return): layers' forwards and ours only queue, and the
     * runtime's blocking calls fail while ctx->gated is set. */
    cl_int err = CL_SUCCESS;
    cl_event gate = clCreateUserEvent(ctx->context, &err);
    s = cl_status(err, "clCreateUserEvent", __FILE__, __LINE__);
    if (s == DNACL_OK && gate) s = CL_STATUS(clEnqueueBarrierWithWaitList(ctx->queue, 1, &gate, NULL));
    ctx->gated = gate != NULL; /* a layer that blocked here would fail, not hang */
    if (s == DNACL_OK && c0 == 0) s = state_params(ctx, m, P, S);
    /* Queued: the caller's x stays as it is during the call. */
    if (s == DNACL_OK)
      s = CL_STATUS(clEnqueueWriteBuffer(ctx->queue, S->ref.t[0].buf, CL_FALSE, 0, rc * xs * sizeof(float),
                                         x + c0 * xs, 0, NULL, NULL));
    if (s == DNACL_OK) s = run_nodes(ctx, m, &S->ref, 0, m->n_nodes, rc);
    for (int i = 0; s == DNACL_OK && i <= P->F; i++) {
      if (!S->refT[i].buf) continue;
      cl_kernel k;
      s = dnacl_kernel(ctx, "ism", "", "ism_transpose", &k);
      size_t g[2] = {(size_t)P->gL[i], (size_t)rc};
      if (s == DNACL_OK)
        s = dnacl_run(ctx, k, 2, g, NULL, "miiim", S->ref.t[i].buf, rc, P->gC[i], P->gL[i], S->refT[i].buf);
    }
    if (s == DNACL_OK)
      s = CL_STATUS(clEnqueueReadBuffer(ctx->queue, S->ref.t[m->n_nodes].buf, CL_FALSE, 0,
                                              (size_t)rc * T * sizeof *lref, lref, 0, NULL, NULL));
    int nv = 0;
    for (int r = 0; r < rc; r++) nv += list_variants(x + (c0 + r) * xs, C, L, r, list + 3 * nv);
    for (int k0 = 0; s == DNACL_OK && k0 < nv; k0 += V) {
      const int cnt = imin(V, nv - k0);
      s = run_batch(ctx, m, P, S, list + 3 * k0, cnt, hg + 2 * k0);
      if (s == DNACL_OK)
        s = CL_STATUS(clEnqueueReadBuffer(ctx->queue, S->tail.t[m->n_nodes].buf, CL_FALSE, 0,
                                                (size_t)cnt * T * sizeof *logits, logits + (size_t)k0 * T, 0,
                                                NULL, NULL));
    }
    ctx->gated = 0;
    if (gate) {
      /* Opened also after an error: clFinish would wait for it forever. */
      clSetUserEventStatus(gate, CL_COMPLETE);
      clReleaseEvent(gate);
    }
    /* One wait per chunk (also after an error: queued transfers may still use the host
     * arrays). */
    err = clFinish(ctx->queue);
    if (s == DNACL_OK) s = cl_status(err, "clFinish", __FILE__, __LINE__);
    if (s != DNACL_OK) break;
    for (int r = 0; r < rc; r++) fref[r] = explained(lref + (size_t)r * T, T, target, output);
    memset(out + c0 * xs, 0, rc * xs * sizeof *out);
    for (int i = 0; i < nv; i++) {
      const int *e = list + 3 * i;
      out[(c0 + e[0]) * xs + (size_t)e[2] * L + e[1]] =
          (float)(explained(logits + (size_t)i * T, T, target, output) - fref[e[0]]);
    }
  }
  clFinish(ctx->queue); /* after an error, a queued transfer may still use the host arrays */
  free(list);
  free(hg);
  free(fref);
  free(lref);
  free(logits);
  return s;
}

/* ---- entry point -------------------------------------------------------------------- */

dnacl_status dnacl_ism(dnacl_ctx *ctx, dnacl_model *m, const float *x, int n, int target,
                       dnacl_explain_output output, int incremental_wanted, float *out,
                       int *used_incremental) {
  if (used_incremental) *used_incremental = 0;
  if (!ctx || !m) return dnacl_fail(DNACL_ERR_ARG, "dnacl_ism: no context or model");
  if (n < 0) return dnacl_fail(DNACL_ERR_ARG, "dnacl_ism: %d sequences", n);
  if (n > 0 && (!x || !out)) return dnacl_fail(DNACL_ERR_ARG, "dnacl_ism: input or output is NULL");
  if (target < 0 || target >= m->spec.tasks)
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_ism: target %d, but model %s has %d output(s) (0..%d)",
                      target, m->spec.name, m->spec.tasks, m->spec.tasks - 1);
  if (output != DNACL_EXPLAIN_LOGIT && output != DNACL_EXPLAIN_PROB)
    return dnacl_fail(DNACL_ERR_ARG, "dnacl_ism: unknown output kind %d", (int)output);
  const size_t xs = (size_t)m->in_channels * m->length;
  for (size_t i = 0; i < (size_t)n * xs; i++)
    if (!isfinite(x[i]))
      return dnacl_fail(DNACL_ERR_ARG, "dnacl_ism: sequence %zu has a non-finite value at channel %zu, position %zu",
                        i / xs, i % xs / m->length, i % m->length);
  if (n == 0) return DNACL_OK;
  if (incremental_wanted) {
    ism_cache *c;
    DNACL_TRY(cache_get(ctx, m, &c));
    if (c) {
      dnacl_status s = incremental(ctx, m, c, x, n, target, output, out);
      if (s != DNACL_OK) cache_drop(m); /* never reuse what a failed call left */
      if (s == DNACL_OK && used_incremental) *used_incremental = 1;
      return s;
    }
  }
  return naive(ctx, m, x, n, target, output, out);
}
