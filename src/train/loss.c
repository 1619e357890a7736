/* Losses: host wrappers of cl/loss.cl. */
#include "train/loss.h"

dnacl_status dnacl_bce_logits_dev(dnacl_ctx *ctx, const dnacl_tensor *logits,
                                  const dnacl_tensor *targets, dnacl_tensor *loss_dev,
                                  dnacl_tensor *dlogits) {
  if (!logits || !targets || !loss_dev || !logits->buf || !targets->buf || !loss_dev->buf)
    return dnacl_fail(DNACL_ERR_ARG, "bce_logits: logits, targets and the loss tensor are required");
  if (targets->n != logits->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "bce_logits: %zu logits but %zu targets", logits->n,
                      targets->n);
  if (dlogits && dlogits->n != logits->n)
    return dnacl_fail(DNACL_ERR_SHAPE, "bce_logits: %zu logits but a gradient of %zu elements",
                      logits->n, dlogits->n);
  if (logits->n > 0x7fffffff)
    return dnacl_fail(DNACL_ERR_SHAPE, "bce_logits: %zu elements is too many", logits->n);
  cl_kernel k;
  DNACL_TRY(dnacl_kernel(ctx, "loss", "", "bce_logits", &k));
  size_t wg = dnacl_pow2_group(ctx, k, 256);
  /* Without a gradient the kernel never touches dx, but OpenCL wants a valid buffer there. */
  cl_mem dx = dlogits ? dlogits->buf : logits->buf;
  return dnacl_run(ctx, k, 1, &wg, &wg, "mmifmmil", logits->buf, targets->buf, (int)logits->n,
                   1.0 / (double)logits->n, loss_dev->buf, dx, dlogits ? 1 : 0, (int)wg);
}

dnacl_status dnacl_bce_logits(dnacl_ctx *ctx, const dnacl_tensor *logits,
                              const dnacl_tensor *targets, float *loss_host,
                              dnacl_tensor *dlogits) {
  dnacl_tensor loss;
  DNACL_TRY(dnacl_tensor_new(ctx, &loss, 1, 0, 0));
  dnacl_status s = dnacl_bce_logits_dev(ctx, logits, targets, &loss, dlogits);
  if (s == DNACL_OK && loss_host) s = dnacl_tensor_read(ctx, &loss, loss_host);
  /* Releasing the buffer is safe while the kernel is queued: OpenCL keeps it alive. */
  dnacl_tensor_free(&loss);
  return s;
}
