/* dnacl train: fit a model file to sequences; see src/train/loop.h for the run directory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "train/loop.h"

static const char *usage =
    "usage: dnacl train --model M.yaml --data D --out RUN/ [options]\n"
    "  --valid FILE          validation data (default: the valid split of --data)\n"
    "  --optimizer adam|adamw  (default adam)   --lr X (1e-3)   --weight-decay X (0; Adam: L2 term, AdamW: decoupled)\n"
    "  --schedule constant|cosine (constant)    --cosine-alpha X (0)   --warmup N (0)\n"
    "  --epochs N (10) | --steps N              --batch N (32)         --seed N (1)\n"
    "  --eval-every N (steps; default once per epoch)   --monitor auroc|aupr (auroc)\n"
    "  --early-stop P (patience in evaluations; 0 off)  --plateau F (reduce lr by F on a plateau)  --plateau-patience P (3)\n"
    "  --rc-augment          random reverse complements of training sequences\n"
    "  --n-value X           encoding of N in each channel (0.25 Koo; 1 the chapter)\n"
    "  --pad L | --crop L    fit sequences of different lengths\n"
    "  --labels TSV          FASTA labels from a side table\n"
    "  --resume              continue RUN/ from its last checkpoint\n"
    "  --device INDEX|NAME   --verbose\n";

static void on_signal(int sig) {
  (void)sig;
  dnacl_train_interrupt();
}

/* Parse a number option; a missing or malformed value is an error naming the option. */
static int num_arg(int argc, char **argv, int *i, double *out) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "dnacl train: %s needs a value\n", argv[*i]);
    return 0;
  }
  char *end;
  *out = strtod(argv[*i + 1], &end);
  if (*end || end == argv[*i + 1]) {
    fprintf(stderr, "dnacl train: %s expects a number, got '%s'\n", argv[*i], argv[*i + 1]);
    return 0;
  }
  (*i)++;
  return 1;
}

int cmd_train(int argc, char **argv) {
  cli_common cc = {0};
  dnacl_train_cfg c = dnacl_train_defaults();
  c.progress = isatty(2);
  for (int i = 1; i < argc; i++) {
    int r = cli_common_option(argc, argv, &i, &cc);
    if (r < 0) return 2;
    if (r) continue;
    const char *a = argv[i];
    double v;
    int has_val = i + 1 < argc;
#define STR(opt, field) else if (!strcmp(a, opt) && has_val) c.field = argv[++i];
#define NUM(opt, field, type) else if (!strcmp(a, opt)) { if (!num_arg(argc, argv, &i, &v)) return 2; c.field = (type)v; }
    if (0) {}
    STR("--model", model_path) STR("--data", data_path) STR("--valid", valid_path) STR("--out", out_dir)
    STR("--monitor", monitor) STR("--labels", load.labels_tsv)
    NUM("--lr", lr, float) NUM("--weight-decay", weight_decay, float) NUM("--cosine-alpha", alpha, float)
    NUM("--warmup", warmup, long) NUM("--epochs", epochs, int) NUM("--steps", steps, long) NUM("--batch", batch, int)
    NUM("--seed", seed, uint32_t) NUM("--eval-every", eval_every, long) NUM("--early-stop", patience, int)
    NUM("--plateau", plateau_factor, float) NUM("--plateau-patience", plateau_patience, int)
    NUM("--n-value", load.n_value, float) NUM("--pad", load.pad_to, int) NUM("--crop", load.crop_to, int)
    else if (!strcmp(a, "--rc-augment")) c.rc_augment = 1;
    else if (!strcmp(a, "--resume")) c.resume = 1;
    else if (!strcmp(a, "--optimizer") && has_val) {
      const char *o = argv[++i];
      if (!strcmp(o, "adam")) c.adamw = 0;
      else if (!strcmp(o, "adamw")) c.adamw = 1;
      else { fprintf(stderr, "dnacl train: --optimizer is adam or adamw, got '%s'\n", o); return 2; }
    } else if (!strcmp(a, "--schedule") && has_val) {
      const char *o = argv[++i];
      if (!strcmp(o, "cosine")) c.cosine = 1;
      else if (!strcmp(o, "constant")) c.cosine = 0;
      else { fprintf(stderr, "dnacl train: --schedule is constant or cosine, got '%s'\n", o); return 2; }
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else {
      fprintf(stderr, "dnacl train: unknown option or missing value: '%s'\n%s", a, usage);
      return 2;
    }
#undef STR
#undef NUM
  }
  if (!c.model_path || !c.data_path || !c.out_dir) {
    fprintf(stderr, "dnacl train: --model, --data and --out are required\n%s", usage);
    return 2;
  }
  dnacl_ctx *ctx;
  if (dnacl_ctx_create(cc.device, cc.verbose, &ctx) != DNACL_OK) {
    fprintf(stderr, "dnacl train: %s\n", dnacl_last_error());
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  dnacl_status s = dnacl_train_run(ctx, &c);
  dnacl_ctx_release(ctx);
  if (s != DNACL_OK) {
    fprintf(stderr, "dnacl train: %s\n", dnacl_last_error());
    return s == DNACL_ERR_INTERRUPTED ? 130 : 1;
  }
  printf("run written to %s/ (model.yaml, config.tsv, metrics.tsv, best/last.safetensors, curves.svg)\n", c.out_dir);
  return 0;
}
