/* The dnacl program: dispatches to one subcommand per file (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const dnacl_command commands[] = {
    {"devices", "list OpenCL devices; the chosen one is marked", cmd_devices},
    {"selftest", "build every kernel family on the chosen device", cmd_selftest},
    {"train", "train a model file on sequences into a run directory", cmd_train},
    {"bench", "training and inference throughput of a model", cmd_bench},
    {"model", "show a model file's layers, shapes and parameters", cmd_model},
    {"eval", "loss, accuracy, AUROC, AUPR of a trained run on data", cmd_eval},
    {"predict", "probabilities of a trained run for every sequence, as TSV", cmd_predict},
    {"sweep", "run a sweep file's grid of trainings and evaluations; collect shards", cmd_sweep},
    {"explain", "attributions (saliency, IG, DeepLIFT/SHAP, ISM) as NPY, TSV and SVG logos", cmd_explain},
    {"simulate", "synthetic data with planted motifs and ground truth (Koo & Ploenzke)", cmd_simulate},
    {"filters", "first-layer filters as MEME motifs, logos and database matches", cmd_filters},
    {"gia", "global importance analysis: effects of embedded motifs, spacings, occlusion", cmd_gia},
    {"report", "one self-contained HTML page of a run: curves, metrics, filters, attributions", cmd_report},
    {"score", "interpretability metrics against simulated ground truth: filter match, attribution AUROC/AUPR", cmd_score},
};

static void usage(FILE *f) {
  fprintf(f, "usage: dnacl COMMAND [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\ncommon options: --device INDEX|NAME (or DNACL_DEVICE), --verbose\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "dnacl: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
