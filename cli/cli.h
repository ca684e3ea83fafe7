/* The `parry` command: offline tools and operations over the component
 * libraries. One function per subcommand, dispatched by parry_cli_main. */
#ifndef PARRY_CLI_H
#define PARRY_CLI_H

#include <stdio.h>

#include "sigma/sigma.h"

/* Runs `parry ARGS...`; output goes to out/err so tests can capture it.
 * Returns the process exit code: 0 success, 1 failure, 2 usage error. */
int parry_cli_main(int argc, char **argv, char **envp, FILE *out, FILE *err);

int parry_cmd_config(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_topics(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_normalize(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_detect(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_rules(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_runbooks(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_plan(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_generate(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_dev(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_migrate(int argc, char **argv, char **envp, FILE *out, FILE *err);
int parry_cmd_cases(int argc, char **argv, char **envp, FILE *out, FILE *err);

/* The Sigma engine options `rules check` and `detect` share (--placeholders,
 * --field-map, --unknown-placeholder): 1 when argv[*i] was one (its value
 * consumed), 0 when not, -1 after printing a usage error. */
int parry_cli_sigma_option(int argc, char **argv, int *i, parry_sigma_options_t *opt,
                           const char *cmd, FILE *err);

#endif
