/* Model parameters to and from safetensors files. Tensor names are "<layer>.<param>"
 * ("conv1.w", "bn1.rmean"), the same names tools/reference_model.py uses, so a checkpoint
 * loads into the PyTorch reference and back. */
#ifndef DNACL_CHECKPOINT_H
#define DNACL_CHECKPOINT_H
#include "io/safetensors.h"
#include "nn/model.h"

/* Copy every model parameter from f (name prefix + qualified name). strict: a parameter
 * missing from f is an error; otherwise it is left as it is. Shapes must agree. */
dnacl_status dnacl_model_load_params(dnacl_ctx *ctx, dnacl_model *m, const dnacl_safetensors *f,
                                     const char *prefix, int strict);
#endif
