/* parry rules check: load Sigma rules with the engine and report what it
 * would reject, the way `parry detect` and the correlator load them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sigma/sigma.h"

static const char usage[] =
    "usage: parry rules check [--placeholders FILE] [--field-map FILE]\n"
    "                         [--unknown-placeholder reject|no-match|wildcard] PATH...\n"
    "\n"
    "Loads every Sigma rule under PATH (files or folders, .yml/.yaml) and prints the\n"
    "load report: counts, then each rejected rule as FILE:LINE:COLUMN: reason: message.\n"
    "Exit 0 when nothing was rejected, 1 when a rule was rejected or a path or option\n"
    "file could not be read, 2 on usage errors.\n";

/* Shared option parsing for rules/detect: returns 1 if argv[*i] was one of
 * the engine options (consuming its value), 0 if not, -1 on a bad value. */
int parry_cli_sigma_option(int argc, char **argv, int *i, parry_sigma_options_t *opt,
                           const char *cmd, FILE *err) {
  static const char *const names[] = {"--placeholders", "--field-map", "--unknown-placeholder"};
  for (int k = 0; k < 3; k++) {
    size_t n = strlen(names[k]);
    const char *val;
    if (strcmp(argv[*i], names[k]) == 0) {
      if (*i + 1 >= argc) {
        fprintf(err, "parry %s: %s needs a value\n", cmd, names[k]);
        return -1;
      }
      val = argv[++*i];
    } else if (strncmp(argv[*i], names[k], n) == 0 && argv[*i][n] == '=') {
      val = argv[*i] + n + 1;
    } else {
      continue;
    }
    if (k == 0) opt->placeholders_path = val;
    else if (k == 1) opt->field_map_path = val;
    else if (strcmp(val, "reject") == 0) opt->unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_REJECT;
    else if (strcmp(val, "no-match") == 0) opt->unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_NO_MATCH;
    else if (strcmp(val, "wildcard") == 0) opt->unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_WILDCARD;
    else {
      fprintf(err, "parry %s: --unknown-placeholder must be reject, no-match or wildcard, not \"%s\"\n",
              cmd, val);
      return -1;
    }
    return 1;
  }
  return 0;
}

int parry_cmd_rules(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  (void)envp;
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
    fputs(usage, out);
    return 0;
  }
  if (argc < 2 || strcmp(argv[1], "check") != 0) {
    fprintf(err, "parry rules: expected `check`\n%s", usage);
    return 2;
  }
  parry_sigma_options_t opt = {0};
  const char **paths = calloc((size_t)argc + 1, sizeof *paths);
  size_t n_paths = 0;
  int rc = 0;
  for (int i = 2; i < argc; i++) {
    int r = parry_cli_sigma_option(argc, argv, &i, &opt, "rules check", err);
    if (r < 0) {
      rc = 2;
      goto out;
    }
    if (r) continue;
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, out);
      goto out;
    }
    if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(err, "parry rules check: unknown option \"%s\"\n%s", argv[i], usage);
      rc = 2;
      goto out;
    }
    paths[n_paths++] = argv[i];
  }
  if (!n_paths) {
    fprintf(err, "parry rules check: no PATH given\n%s", usage);
    rc = 2;
    goto out;
  }
  parry_sigma_report_t rep = {0};
  char errstr[1024] = "";
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, n_paths, &opt, &rep, errstr, sizeof errstr);
  if (!rs) {
    fprintf(err, "parry rules check: %s\n", errstr);
    parry_sigma_report_free(&rep);
    rc = 1;
    goto out;
  }
  parry_sigma_report_print(&rep, out, true);
  if (rep.correlations)
    fprintf(out, "note: %zu correlation rules loaded but not evaluated yet (correlator part 2)\n",
            rep.correlations);
  rc = rep.rejected || rep.n_rejections ? 1 : 0;
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
out:
  free(paths);
  return rc;
}
