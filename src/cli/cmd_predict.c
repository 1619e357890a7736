/* dnacl predict: the probability (sigmoid of the logit) of every task for every sequence,
 * as TSV "id<TAB>task...", written batch by batch as the forward passes finish.
 *
 * With --out F the rows go to F.tmp, renamed to F only when every row is written, so an
 * error or Ctrl-C never leaves a half-written F (the temporary file is removed). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "train/loop.h"

static const char *usage =
    "usage: dnacl predict --run RUN/ --data D [options]\n"
    "  --split S             train|valid|test|all (default all of D)\n"
    "  --out F.tsv           write to F.tsv (default: standard output)\n"
    "  --which best|last     the checkpoint (default best)\n"
    "  --batch N             sequences per forward pass (default 256)\n"
    "  --n-value X, --pad L, --crop L   default: as RUN/config.tsv says training used\n"
    "  --labels TSV          FASTA labels from a side table (labels are not needed)\n"
    "  --device INDEX|NAME   --verbose\n"
    "Output: a header \"id<TAB>task names\", then one row per sequence with probabilities.\n";

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* An id is one TSV field: tabs and line breaks inside it (possible in a quoted CSV id)
 * would shift the columns, so they become blanks. */
static void put_id(FILE *f, const char *id) {
  for (; *id; id++) fputc(*id == '\t' || *id == '\n' || *id == '\r' ? ' ' : *id, f);
}

int cmd_predict(int argc, char **argv) {
  cli_run_opts o;
  int rc = cli_run_parse("predict", usage, 0, 1, argc, argv, &o);
  if (rc >= 0) return rc;
  dnacl_ctx *ctx;
  dnacl_model *m;
  dnacl_seqset set;
  /* Labels are not needed to predict: an unlabelled FASTA/CSV is fine. */
  if ((rc = cli_run_open("predict", &o, NULL, 1, &ctx, &m, &set))) return rc;
  int T = m->spec.tasks;
  char tmp[4200];
  FILE *f = stdout;
  if (o.out) {
    snprintf(tmp, sizeof tmp, "%s.tmp", o.out);
    if (!(f = fopen(tmp, "w"))) {
      fprintf(stderr, "dnacl predict: %s: cannot open for writing: %s\n", tmp, strerror(errno));
      rc = 1;
    }
  }
  float *logits = malloc((size_t)o.batch * T * sizeof *logits);
  if (!rc && !logits) {
    fprintf(stderr, "dnacl predict: out of memory\n");
    rc = 1;
  }
  stop_requested = 0;
  void (*old_int)(int) = signal(SIGINT, on_signal), (*old_term)(int) = signal(SIGTERM, on_signal);
  if (!rc) {
    /* The data's task names when its labels match the model's tasks, else generic ones. */
    fputs("id", f);
    for (int t = 0; t < T; t++) {
      if (set.n_tasks == T) fprintf(f, "\t%s", set.task_names[t]);
      else if (T == 1) fputs("\tprob", f);
      else fprintf(f, "\ttask%d", t);
    }
    fputc('\n', f);
  }
  size_t row = (size_t)4 * set.length;
  for (int i0 = 0; !rc && i0 < set.n; i0 += o.batch) {
    if (stop_requested) {
      fprintf(stderr, "dnacl predict: interrupted after %d of %d sequences%s\n", i0, set.n,
              o.out ? "; nothing written" : "");
      rc = 130;
      break;
    }
    /* A view of the next batch: dnacl_predict_logits reads only n, length and x. */
    dnacl_seqset view = set;
    view.n = set.n - i0 < o.batch ? set.n - i0 : o.batch;
    view.x = set.x + (size_t)i0 * row;
    if (dnacl_predict_logits(ctx, m, &view, o.batch, logits) != DNACL_OK) {
      fprintf(stderr, "dnacl predict: %s\n", dnacl_last_error());
      rc = 1;
      break;
    }
    for (int i = 0; i < view.n; i++) {
      put_id(f, set.ids[i0 + i]);
      for (int t = 0; t < T; t++) fprintf(f, "\t%.6g", 1.0 / (1.0 + exp(-(double)logits[(size_t)i * T + t])));
      fputc('\n', f);
    }
    if (ferror(f)) {
      fprintf(stderr, "dnacl predict: write error on %s: %s\n", o.out ? tmp : "standard output", strerror(errno));
      rc = 1;
    }
  }
  signal(SIGINT, old_int);
  signal(SIGTERM, old_term);
  if (o.out && f) {
    int closed = fclose(f) == 0;
    if (!rc && !closed) {
      fprintf(stderr, "dnacl predict: %s: write failed: %s\n", tmp, strerror(errno));
      rc = 1;
    }
    if (!rc && rename(tmp, o.out) != 0) {
      fprintf(stderr, "dnacl predict: cannot rename %s to %s: %s\n", tmp, o.out, strerror(errno));
      rc = 1;
    }
    if (rc) remove(tmp);
    else fprintf(stderr, "dnacl predict: %d sequences written to %s\n", set.n, o.out);
  } else if (!rc && fflush(stdout) != 0) {
    fprintf(stderr, "dnacl predict: write error on standard output: %s\n", strerror(errno));
    rc = 1;
  }
  free(logits);
  dnacl_seqset_free(&set);
  dnacl_model_free(m);
  dnacl_ctx_release(ctx);
  return rc;
}
