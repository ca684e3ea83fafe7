/* parry runbooks check: load runbooks exactly as the executor does and list
 * every mistake with its file, line, column and field. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runbook/runbook.h"

static const char usage[] =
    "usage: parry runbooks check PATH...\n"
    "\n"
    "Loads every runbook under PATH (files or folders, .yml/.yaml) and checks it the\n"
    "way the executor does at start-up: keys and types, step ids, needs, on_failure,\n"
    "durations, `when` expressions, templates, connectors and their inputs.\n"
    "Prints each mistake as FILE:LINE:COLUMN: FIELD: MESSAGE, then a summary line\n"
    "`files=N runbooks=R steps=S errors=E`. Exit 0 when there is no mistake, 1 when\n"
    "there is one, 2 on usage errors. See docs/runbooks.md.\n";

int parry_cmd_runbooks(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  (void)envp;
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))) {
    fputs(usage, out);
    return 0;
  }
  if (argc < 2 || strcmp(argv[1], "check") != 0) {
    fprintf(err, "parry runbooks: expected `check`\n%s", usage);
    return 2;
  }
  const char **paths = calloc((size_t)argc, sizeof *paths);
  size_t n_paths = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--help")) {
      fputs(usage, out);
      free(paths);
      return 0;
    }
    if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(err, "parry runbooks check: unknown option \"%s\"\n%s", argv[i], usage);
      free(paths);
      return 2;
    }
    paths[n_paths++] = argv[i];
  }
  if (!n_paths) {
    fprintf(err, "parry runbooks check: no PATH given\n%s", usage);
    free(paths);
    return 2;
  }
  parry_runbook_report_t rep = {0};
  char errstr[512];
  parry_runbook_set_t *set = parry_runbooks_load(paths, n_paths, &rep, errstr, sizeof errstr);
  int rc = 0;
  if (!set) {
    fprintf(err, "parry runbooks check: %s\n", errstr);
    rc = 1;
  } else {
    parry_runbook_report_print(&rep, out);
    fprintf(out, "files=%zu runbooks=%zu steps=%zu errors=%zu\n", rep.files, rep.runbooks,
            rep.steps, rep.n_errors);
    if (rep.n_errors) rc = 1;
  }
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  free(paths);
  return rc;
}
