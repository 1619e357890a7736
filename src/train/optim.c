/* Optimisers: host wrappers of cl/optim.cl. */
#include "train/optim.h"

#include <math.h>
#include <stdio.h>

/* Elements per work-item of adam_step (OPT_VEC in cl/optim.cl): 16 on CPUs, 1 on GPUs. */
static int opt_vec(const dnacl_ctx *ctx) { return ctx->is_cpu ? 16 : 1; }

dnacl_status dnacl_adam_step(dnacl_ctx *ctx, dnacl_tensor *param, const dnacl_tensor *grad,
                             dnacl_tensor *m, dnacl_tensor *v, int step, float lr, float beta1,
                             float beta2, float eps, float weight_decay, int decoupled) {
  if (!param || !grad || !m || !v || !param->buf || !grad->buf || !m->buf || !v->buf)
    return dnacl_fail(DNACL_ERR_ARG, "adam: param, grad, m and v tensors are required");
  if (grad->n != param->n || m->n != param->n || v->n != param->n)
    return dnacl_fail(DNACL_ERR_SHAPE,
                      "adam: param has %zu elements but grad %zu, m %zu, v %zu", param->n,
                      grad->n, m->n, v->n);
  if (param->n > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "adam: %zu elements is too many", param->n);
  if (step < 1) return dnacl_fail(DNACL_ERR_ARG, "adam: step is 1-based, got %d", step);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) || !(lr >= 0) ||
      !(weight_decay >= 0))
    return dnacl_fail(DNACL_ERR_ARG,
                      "adam: needs 0 <= beta1, beta2 < 1 and lr, eps, weight_decay >= 0 (got "
                      "beta1 %g beta2 %g lr %g eps %g weight_decay %g)",
                      (double)beta1, (double)beta2, (double)lr, (double)eps, (double)weight_decay);
  /* Bias corrections in double on the host: beta2^t for t in the thousands loses digits in
   * float, and PyTorch computes these scalars in double too. */
  const double bc1 = 1.0 - pow((double)beta1, step);
  const double bc2 = 1.0 - pow((double)beta2, step);
  const double step_size = (double)lr / bc1;
  const double bc2_sqrt = sqrt(bc2);
  const double wd_grad = decoupled ? 0.0 : (double)weight_decay;
  const double p_scale = decoupled ? 1.0 - (double)lr * weight_decay : 1.0;
  cl_kernel k;
  char opts[32];
  snprintf(opts, sizeof opts, "-DOPT_VEC=%d", opt_vec(ctx));
  DNACL_TRY(dnacl_kernel(ctx, "optim", opts, "adam_step", &k));
  const size_t vec = (size_t)opt_vec(ctx), g = (param->n + vec - 1) / vec;
  return dnacl_run(ctx, k, 1, &g, NULL, "mmmmifffffff", param->buf, grad->buf, m->buf, v->buf,
                   (int)param->n, (double)beta1, (double)beta2, step_size, bc2_sqrt, (double)eps,
                   wd_grad, p_scale);
}

dnacl_status dnacl_l2_penalty(dnacl_ctx *ctx, const dnacl_tensor *param, dnacl_tensor *grad,
                              float lambda, float *penalty_host) {
  if (!param || !grad || !param->buf || !grad->buf)
    return dnacl_fail(DNACL_ERR_ARG, "l2_penalty: param and grad tensors are required");
  if (grad->n != param->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "l2_penalty: param has %zu elements, grad %zu", param->n,
                      grad->n);
  if (param->n > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "l2_penalty: %zu elements is too many", param->n);
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "optim", "", "l2_penalty", &k));
  size_t wg = dnacl_pow2_group(ctx, k, 256);
  if (!penalty_host) {
    /* Only the gradient: spread over the whole device. The sum buffer is never written. */
    size_t g = param->n;
    return dnacl_run(ctx, k, 1, &g, &wg, "mmifmil", param->buf, grad->buf, (int)param->n,
                     (double)lambda, grad->buf, 0, (int)wg);
  }
  dnacl_tensor sum;
  DNACL_TRY(dnacl_tensor_new(ctx, &sum, 1, 0, 0));
  float s2 = 0.0f;
  dnacl_status s = dnacl_run(ctx, k, 1, &wg, &wg, "mmifmil", param->buf, grad->buf,
                             (int)param->n, (double)lambda, sum.buf, 1, (int)wg);
  if (s == DNACL_OK) s = dnacl_tensor_read(ctx, &sum, &s2);
  dnacl_tensor_free(&sum);
  if (s == DNACL_OK) *penalty_host = (float)(0.5 * (double)lambda * (double)s2);
  return s;
}
