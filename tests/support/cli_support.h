/* Running `parry` in-process from a test: the CLI entry point with its output
 * and error streams captured in memory. Scratch folders: test_support.h. */
#ifndef PARRY_CLI_SUPPORT_H
#define PARRY_CLI_SUPPORT_H

#include <stddef.h>

/* What one run of parry_cli_main left behind. */
typedef struct {
  int rc;
  char *out, *err;
  size_t out_len, err_len;
} parry_test_run_t;

/* Runs parry_cli_main(argc, argv) with an empty environment; out and err hold
 * everything written (NUL-terminated). Free with parry_test_run_free. */
parry_test_run_t parry_test_cli_argc(int argc, char **argv);

/* The same for a NULL-terminated argv. */
parry_test_run_t parry_test_cli(char **argv);

void parry_test_run_free(parry_test_run_t *r);

/* How many '\n' in s. */
size_t parry_test_count_lines(const char *s);

#endif
