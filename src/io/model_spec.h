/* A model described in YAML (yaml/README.md documents the schema), parsed and validated
 * into a flat list of layer specs. Repeated blocks are already expanded. Every spec keeps
 * the file position it came from so later errors (e.g. impossible shapes found when the
 * model is built) can still point at file:line:col. */
#ifndef DNACL_MODEL_SPEC_H
#define DNACL_MODEL_SPEC_H

#include "nn/layer.h"

typedef enum dnacl_layer_kind {
  DNACL_L_CONV1D,
  DNACL_L_DENSE,
  DNACL_L_BATCHNORM,
  DNACL_L_LAYERNORM,
  DNACL_L_ACTIVATION,
  DNACL_L_MAXPOOL,
  DNACL_L_FLATTEN,
  DNACL_L_DROPOUT,
  DNACL_L_TRANSFORMER,
  DNACL_L_RESIDUAL_BEGIN, /* marks where a residual branch starts: its input is saved */
  DNACL_L_RESIDUAL_END    /* adds the saved input to the branch output */
} dnacl_layer_kind;

typedef struct dnacl_layer_spec {
  dnacl_layer_kind kind;
  char name[64];          /* unique; generated ("conv1", "bn2", ...) when the file gives none */
  int line, col;          /* where the layer is in the YAML file (1-based): its kind key; copies
                           * made by `repeat` share the line they were written on */
  /* conv1d */
  int filters, kernel, dilation, same_padding, bias;
  /* dense */
  int units;
  /* batchnorm / layernorm */
  float eps, momentum;
  /* activation */
  dnacl_act act;
  int ablation;           /* 1: the activation an ablation sweep may vary */
  /* maxpool */
  int window, stride;
  /* dropout, transformer */
  float p;
  /* transformer */
  int heads, mlp;
  /* residual begin/end: index of the matching END/BEGIN in the layer list */
  int match;
} dnacl_layer_spec;

typedef struct dnacl_model_spec {
  char name[64];
  char *path;             /* the file it came from */
  char *text;             /* the whole YAML text (checkpoints embed it) */
  int length;             /* input sequence length */
  int alphabet;           /* 4 */
  int tasks;              /* outputs */
  dnacl_layer_spec *layers;
  int n_layers;
  int ablation_layer;     /* index of the activation marked `ablate: true`, or -1 */
  char *description;      /* optional free text from the file, or NULL */
} dnacl_model_spec;

/* Parse and validate a model file. Errors are DNACL_ERR_PARSE with a message
 * "file:line:col: message", then the offending line and a caret under the column. */
dnacl_status dnacl_model_spec_load(const char *path, dnacl_model_spec *out);
/* The same from text in memory (path is used in messages only). */
dnacl_status dnacl_model_spec_parse(const char *path, const char *text, dnacl_model_spec *out);
void dnacl_model_spec_free(dnacl_model_spec *s);
/* Format "file:line:col: message\n<line>\n    ^" for a spec position; returns
 * DNACL_ERR_PARSE. */
dnacl_status dnacl_model_spec_error(const dnacl_model_spec *s, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same message with another status, e.g. DNACL_ERR_SHAPE for a layer whose shapes cannot
 * work, found when the model is built. */
dnacl_status dnacl_model_spec_fail(const dnacl_model_spec *s, dnacl_status status, int line, int col,
                                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The kind's YAML key ("conv1d", ...; "residual" and "residual_end" for the markers). */
const char *dnacl_layer_kind_name(dnacl_layer_kind k);
#endif
