/* The `parry` command: offline tools and operations over the component
 * libraries. One function per subcommand, dispatched by parry_cli_main. */
#ifndef PARRY_CLI_H
#define PARRY_CLI_H

#include <stdio.h>

/* Runs `parry ARGS...`; output goes to out/err so tests can capture it.
 * Returns the process exit code: 0 success, 1 failure, 2 usage error. */
int parry_cli_main(int argc, char **argv, char **envp, FILE *out, FILE *err);

int parry_cmd_config(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_topics(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_normalize(int argc, char **argv, char **envp, FILE *out, FILE *err);

#endif
