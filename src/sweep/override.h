/* Changing one setting of a parsed model spec (a sweep cell's "conv1.filters: 48" or
 * "activation: exponential"), and writing a spec back out as a model file.
 *
 * Why write YAML back: training reads a model file and embeds its text in every
 * checkpoint, and `dnacl eval/predict/score` rebuild the model from that text. A changed
 * struct alone would train one network and explain another, so after an override the
 * spec's text is regenerated from the struct (dnacl_spec_refresh_text) and the cell's run
 * trains from that file. The generated file names every layer explicitly, writes every
 * option (defaults included) and keeps residual blocks; `repeat` blocks come out expanded.
 * Parsing it gives back the same layers (tests/test_sweep.c checks the round trip on every
 * shipped model). */
#ifndef DNACL_SWEEP_OVERRIDE_H
#define DNACL_SWEEP_OVERRIDE_H

#include "io/model_spec.h"

/* Set `key` of the layer named `layer` to the text `value` ("48", "valid", "false",
 * "0.2"), checked against the same types and ranges as model files. Errors are
 * DNACL_ERR_ARG naming the model, the layer and the allowed keys or values (no file
 * position: the caller knows where the value came from and adds it). A maxpool's stride
 * follows its window when it equalled it, so a non-overlapping pool stays one. */
dnacl_status dnacl_spec_set_param(dnacl_model_spec *s, const char *layer, const char *key,
                                  const char *value);

/* Replace the function of the activation marked `ablate: true`. DNACL_ERR_ARG when the
 * model has none or the name is unknown. */
dnacl_status dnacl_spec_set_ablation(dnacl_model_spec *s, const char *fn);

/* "activation" -> dnacl_spec_set_ablation, "<layer>.<key>" -> dnacl_spec_set_param. */
dnacl_status dnacl_spec_override(dnacl_model_spec *s, const char *target, const char *value);

/* The option keys a layer kind accepts (NULL-terminated; empty for flatten and residual
 * markers). */
const char *const *dnacl_spec_param_keys(dnacl_layer_kind k);

/* Deep copy (path, text, layers, description). */
dnacl_status dnacl_spec_copy(const dnacl_model_spec *src, dnacl_model_spec *dst);

/* The spec as a model file. `comment` (may be NULL; may span lines) goes first, each line
 * prefixed with "# ". *text is malloc'ed. */
dnacl_status dnacl_spec_to_yaml(const dnacl_model_spec *s, const char *comment, char **text);

/* Replace s->text by dnacl_spec_to_yaml(s, comment), after checking that the text parses
 * back to the same layers (so a value the model parser would refuse never reaches
 * training). */
dnacl_status dnacl_spec_refresh_text(dnacl_model_spec *s, const char *comment);

/* 1 if the two specs have the same name, sizes and layers (positions ignored). */
int dnacl_spec_same_layers(const dnacl_model_spec *a, const dnacl_model_spec *b);

#endif
