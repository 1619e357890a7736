#ifndef DNACL_CLI_COMMANDS_H
#define DNACL_CLI_COMMANDS_H
#include "io/seqdata.h"
#include "nn/model.h"

typedef struct dnacl_command {
  const char *name, *help;
  int (*run)(int argc, char **argv);  /* argv[0] is the command name */
} dnacl_command;

/* Options every command shares. */
typedef struct cli_common {
  const char *device;
  int verbose;
} cli_common;
/* If argv[*i] is a common option, consume it (and its value) and return 1. */
int cli_common_option(int argc, char **argv, int *i, cli_common *c);
/* 1 if an option's value is there, else 0 after "dnacl CMD: OPT needs a value". */
int cli_need(const char *cmd, const char *opt, const char *val);
/* s as a JSON string on stdout (NULL prints ""). */
void cli_json_str(const char *s);

int cmd_devices(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_filters(int argc, char **argv);
int cmd_gia(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_score(int argc, char **argv);

/* eval and predict read a run on data the same way (cmd_eval.c). */
typedef struct cli_run_opts {
  cli_common cc;
  const char *run, *data, *split, *which, *out;
  int batch, json;
  dnacl_load_opts load;
  int n_value_given, pad_given, crop_given;
} cli_run_opts;
/* Parse the shared options (--run --data --split --which --batch --n-value --pad --crop
 * --labels, --json when json_ok, --out when out_ok). Returns -1 to go on, else the exit
 * code (0 after --help, 2 for a usage error). */
int cli_run_parse(const char *cmd, const char *usage, int json_ok, int out_ok, int argc, char **argv,
                  cli_run_opts *o);
/* Take the N encoding and pad/crop from RUN/config.tsv where not given (so the data is seen
 * as training saw it), load the checkpoint and the data and check they fit each other.
 * default_split: the split used when --split is not given and the file has it (NULL: all).
 * Returns 0 or an exit code after printing the error; on 0 the caller owns *ctx, *m, *set. */
int cli_run_open(const char *cmd, cli_run_opts *o, const char *default_split, int allow_unlabelled,
                 dnacl_ctx **ctx, dnacl_model **m, dnacl_seqset *set);
/* --target: an output index of the model or a task name of the data (NULL: output 0).
 * Returns 1 with *out set, or 0 after printing the error. */
int cli_resolve_target(const char *cmd, const char *t, const dnacl_model *m, const dnacl_seqset *set, int *out);
#endif
