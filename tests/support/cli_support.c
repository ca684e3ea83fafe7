#include "cli_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

parry_test_run_t parry_test_cli_argc(int argc, char **argv) {
  parry_test_run_t r = {0};
  char *envp[] = {NULL};
  FILE *out = open_memstream(&r.out, &r.out_len);
  FILE *err = open_memstream(&r.err, &r.err_len);
  r.rc = parry_cli_main(argc, argv, envp, out, err);
  fclose(out);
  fclose(err);
  return r;
}

parry_test_run_t parry_test_cli(char **argv) {
  int argc = 0;
  while (argv[argc]) argc++;
  return parry_test_cli_argc(argc, argv);
}

void parry_test_run_free(parry_test_run_t *r) {
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

size_t parry_test_count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}
