/* Model parameters to and from safetensors files. Tensor names are "<layer>.<param>"
 * ("conv1.w", "bn1.rmean"), the same names tools/reference_model.py uses, so a checkpoint
 * loads into the PyTorch reference and back. */
#ifndef DNACL_CHECKPOINT_H
#define DNACL_CHECKPOINT_H
#include "io/safetensors.h"
#include "nn/model.h"
#include "train/trainer.h"

/* Copy every model parameter from f (name prefix + qualified name). strict: a parameter
 * missing from f is an error; otherwise it is left as it is. Shapes must agree. */
dnacl_status dnacl_model_load_params(dnacl_ctx *ctx, dnacl_model *m, const dnacl_safetensors *f,
                                     const char *prefix, int strict);

/* A run checkpoint: parameters under their qualified names, Adam moments as
 * "adam.m.<name>"/"adam.v.<name>" (opt may be NULL), the model YAML as metadata
 * "dnacl.model_yaml" and the given extra metadata. Written to path.tmp and renamed. */
dnacl_status dnacl_checkpoint_save(dnacl_ctx *ctx, dnacl_model *m, const dnacl_optimizer *opt,
                                   const char *path, const char *const *keys,
                                   const char *const *vals, int n_meta);
/* Restore Adam moments written by dnacl_checkpoint_save. */
dnacl_status dnacl_checkpoint_load_optimizer(dnacl_ctx *ctx, dnacl_model *m, dnacl_optimizer *opt,
                                             const dnacl_safetensors *f);
#endif
