#ifndef DNACL_CLI_COMMANDS_H
#define DNACL_CLI_COMMANDS_H
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

int cmd_devices(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
#endif
