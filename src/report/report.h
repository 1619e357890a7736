/* The HTML report of a training run (`dnacl report RUN`): one self-contained file a lab can
 * mail around or open from a shared drive, with everything it shows inline: SVG figures
 * drawn in memory with io/svg.h, CSS in a <style> block, no scripts, no links to other
 * files or to the network.
 *
 * Sections, in order:
 *   1. Run summary        model name and description, the layers table (as `dnacl model
 *                         show`), the settings of RUN/config.tsv, the training device and
 *                         the device the report was computed on, the checkpoint's step.
 *   2. Learning curves    RUN/curves.svg inlined when it is one dnacl wrote (checked, since
 *                         it is copied into the page verbatim), else redrawn from
 *                         RUN/metrics.tsv.
 *   3. Test metrics       loss, accuracy, AUROC and AUPR per task and their mean on the data
 *                         (src/train/metrics.h), and ROC / precision-recall curves.
 *   4. First-layer filters  the filters as motifs by activation-based alignment on the same
 *                         sequences (src/explain/filters.h, threshold 0.5, pseudocount 0.1 as
 *                         `dnacl filters`), each logo above its best database match (TomTom-
 *                         style, src/explain/tomtom.h) with p- and E-value.
 *   5. Attributions       logos of the K sequences with the highest predicted probability of
 *                         task 0, the whole sequence and a zoom on its strongest 40 bp.
 *
 * A section that cannot be produced says why in the page instead of disappearing: no data
 * (none given and none in config.tsv, or the file config.tsv names is gone), unlabelled data
 * (no metrics), no motif database, a model the chosen explainer refuses (DeepLIFT/SHAP on a
 * transformer block: the refusal is quoted and corrected saliency is shown instead).
 *
 * The page holds no time stamp, so the same run, data and device give the same bytes. It is
 * written to OUT.tmp and renamed. */
#ifndef DNACL_REPORT_H
#define DNACL_REPORT_H

#include "runtime/runtime.h"

/* The motif database used when none is given, relative to the working directory (the
 * repository's copy of JASPAR CORE 2016 vertebrates); skipped with a note when absent. */
#define DNACL_REPORT_DEFAULT_DB "data/JASPAR_CORE_2016_vertebrates.meme"

/* pad_to / crop_to / n_value not given: take them from RUN/config.tsv, as training saw
 * the data. */
#define DNACL_REPORT_FROM_RUN (-1000)

typedef struct dnacl_report_opts {
  const char *run_dir;
  const char *which;     /* checkpoint: "best" (NULL) or "last" */
  const char *data;      /* NULL: config.tsv's data; an explicit file that fails to load is an error */
  const char *split;     /* NULL: test when the data has it, else all of it; "all": the whole file */
  const char *db;        /* NULL: DNACL_REPORT_DEFAULT_DB if it exists; "none": no matching */
  const char *method;    /* saliency | gradxinput | ig | deeplift | deepshap | ism; NULL: deepshap
                          * when the model supports it, else saliency */
  int top;               /* sequences explained; 0: 5 */
  int batch;             /* rows per forward pass; 0: 256 (explainers: 64) */
  int pad_to, crop_to;   /* DNACL_REPORT_FROM_RUN or a value as dnacl_load_opts */
  double n_value;        /* DNACL_REPORT_FROM_RUN or the N encoding */
  const char *out;       /* NULL: RUN/report.html */
} dnacl_report_opts;

/* Every field NULL / 0 except pad_to, crop_to and n_value (DNACL_REPORT_FROM_RUN). */
dnacl_report_opts dnacl_report_defaults(void);

typedef struct dnacl_report_info {
  char path[4096];       /* the file written */
  size_t bytes;
  int sections_missing;  /* sections that say in the page why they are not there */
  char summary[1024];    /* one line: what the page holds, for the command to print */
} dnacl_report_info;

/* Write the report of o->run_dir. ctx is the device that predictions, filters and
 * attributions run on. Errors (no checkpoint, an explicit --data, --split or --db that
 * cannot be used, an unknown method, a write failure) return a status with the message in
 * dnacl_last_error() and leave nothing at the output path. info may be NULL. */
dnacl_status dnacl_report_write(dnacl_ctx *ctx, const dnacl_report_opts *o, dnacl_report_info *info);

#endif
