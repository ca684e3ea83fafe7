#include "cli.h"

#include <string.h>

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv, char **envp, FILE *out, FILE *err);
  const char *summary;
  const char *pending; /* non-NULL: not built yet, and where it arrives */
} command_t;

static const command_t commands[] = {
    {"config", parry_cmd_config, "check configuration; --reference prints every setting", NULL},
    {"topics", parry_cmd_topics, "create Parry's Kafka topics (`parry topics create`)", NULL},
    {"normalize", parry_cmd_normalize, "raw logs to NDJSON events", NULL},
    {"detect", parry_cmd_detect, "NDJSON events (or raw logs) to alerts with Sigma rules", NULL},
    {"rules", parry_cmd_rules, "validate Sigma rules (`parry rules check PATH`)", NULL},
    {"plan", parry_cmd_plan, "NDJSON alerts to the runbook steps that would run", NULL},
    {"runbooks", parry_cmd_runbooks, "validate runbooks (`parry runbooks check PATH`)", NULL},
    {"migrate", parry_cmd_migrate, "apply the case store's PostgreSQL migrations", NULL},
    {"generate", parry_cmd_generate, "seeded sshd and Windows logon traffic with attackers", NULL},
    {"dev", parry_cmd_dev, "the whole fleet on one machine (embedded Kafka, temporary PostgreSQL)", NULL},
    {"cases", parry_cmd_cases, "list and show cases (reads PostgreSQL directly)", NULL},
    {"approve", NULL, "decide a pending approval", "the executor issue"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: parry COMMAND [ARGS...]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s%s\n", commands[i].name, commands[i].summary,
            commands[i].pending ? " (not yet)" : "");
  fprintf(f, "\n`parry COMMAND --help` describes one command.\n");
}

int parry_cli_main(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  if (argc < 2) {
    usage(err);
    return 2;
  }
  const char *name = argv[1];
  if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    usage(out);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (strcmp(commands[i].name, name) != 0) continue;
    if (commands[i].pending) {
      fprintf(err, "parry %s: not available yet (arrives with %s)\n", name, commands[i].pending);
      return 2;
    }
    return commands[i].run(argc - 1, argv + 1, envp, out, err);
  }
  fprintf(err, "parry: unknown command \"%s\"\n\n", name);
  usage(err);
  return 2;
}
