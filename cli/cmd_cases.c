/* parry cases: list cases and show one with its timeline. Reads the case
 * store in PostgreSQL directly (pg.dsn / --dsn), not through a running
 * executor: it works whether or not one runs, and needs read access to the
 * database. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parry/config.h"
#include "store/store.h"

static const char usage[] =
    "usage: parry cases [list] [--status S] [--runbook NAME] [--severity S] [--limit N]\n"
    "                   [--dsn DSN] [--json] [--config FILE] [--set key=value]...\n"
    "       parry cases show ID [--limit N] [--dsn DSN] [--json]\n"
    "\n"
    "Reads the case store in PostgreSQL directly (--dsn, else pg.dsn / PARRY_PG_DSN).\n"
    "list: cases, most recently seen first (--limit, default 100).\n"
    "show: one case and its timeline (alerts attached, steps started, succeeded,\n"
    "failed, retried, skipped with their masked inputs and outputs, case updates).\n"
    "--json prints JSON (list: an array; show: {\"case\": ..., \"timeline\": [...]}).\n";

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *str(struct json_object *o, const char *key) {
  struct json_object *v = json_object_object_get(o, key);
  return v && json_object_get_type(v) != json_type_null ? json_object_get_string(v) : "";
}

/* Control characters (a hostile group value) would move the terminal's
 * cursor or forge lines: printed as '?'. */
static void print_safe(FILE *out, const char *s, int width) {
  int n = 0;
  for (; *s; s++, n++) fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
  for (; n < width; n++) fputc(' ', out);
}

static void print_list(FILE *out, struct json_object *list) {
  size_t n = json_object_array_length(list);
  fprintf(out, "%-8s %-12s %-13s %7s  %-20s %-20s %s\n", "ID", "STATUS", "SEVERITY", "ALERTS",
          "FIRST SEEN", "LAST SEEN", "RUNBOOK  GROUP");
  for (size_t i = 0; i < n; i++) {
    struct json_object *c = json_object_array_get_idx(list, i);
    fprintf(out, "%-8s %-12s %-13s %7s  %-20.19s %-20.19s ", str(c, "id"), str(c, "status"),
            str(c, "severity"), str(c, "alert_count"), str(c, "first_seen"),
            str(c, "last_seen"));
    print_safe(out, str(c, "runbook"), 0);
    fputs("  ", out);
    print_safe(out, str(c, "group_key"), 0);
    fputc('\n', out);
  }
  fprintf(out, "%zu case%s\n", n, n == 1 ? "" : "s");
}

static void print_case(FILE *out, struct json_object *c, struct json_object *timeline) {
  static const char *const fields[] = {"id", "runbook", "group_key", "status", "severity",
                                       "assignee", "resolution", "escalated", "alert_count",
                                       "first_seen", "last_seen", "window_end", "accepting",
                                       "created", "updated"};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    fprintf(out, "%-12s ", fields[i]);
    print_safe(out, str(c, fields[i]), 0);
    fputc('\n', out);
  }
  fprintf(out, "%-12s %s\n", "tags",
          json_object_to_json_string_ext(json_object_object_get(c, "tags"),
                                         JSON_C_TO_STRING_PLAIN));
  fprintf(out, "\ntimeline:\n");
  size_t n = json_object_array_length(timeline);
  for (size_t i = 0; i < n; i++) {
    struct json_object *t = json_object_array_get_idx(timeline, i);
    fprintf(out, "  %s  %-15s", str(t, "at"), str(t, "kind"));
    if (*str(t, "step_id")) {
      fputs(" step=", out);
      print_safe(out, str(t, "step_id"), 0);
      fprintf(out, " attempt=%s", str(t, "attempt"));
    }
    if (*str(t, "alert_id")) {
      fputs(" alert=", out);
      print_safe(out, str(t, "alert_id"), 0);
    }
    if (*str(t, "actor")) {
      fputs(" by=", out);
      print_safe(out, str(t, "actor"), 0);
    }
    fputs(" ", out);
    struct json_object *data = json_object_object_get(t, "data");
    print_safe(out, json_object_to_json_string_ext(data, JSON_FLAGS), 0);
    fputc('\n', out);
  }
}

static bool parse_count(const char *s, size_t *out) {
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || v <= 0) return false;
  *out = (size_t)v;
  return true;
}

int parry_cmd_cases(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  parry_config_t *cfg = parry_config_new();
  parry_store_t *store = NULL;
  struct json_object *a = NULL, *b = NULL;
  const char *dsn = NULL, *show = NULL;
  bool json = false;
  parry_case_filter_t filter = {0};
  size_t limit = 0;
  char errstr[1024];
  int rc = 0;
  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry cases: %s\n", errstr);
    rc = 2;
    goto out;
  }
  int i = 1;
  if (i < argc && strcmp(argv[i], "list") == 0) {
    i++;
  } else if (i < argc && strcmp(argv[i], "show") == 0) {
    if (i + 1 >= argc) {
      fprintf(err, "parry cases show: which case? (an id from `parry cases list`)\n");
      rc = 2;
      goto out;
    }
    show = argv[i + 1];
    i += 2;
  }
  for (; i < argc; i++) {
    const char *arg = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(arg, "--help") == 0) {
      fputs(usage, out);
      goto out;
    } else if (strcmp(arg, "--json") == 0) {
      json = true;
    } else if (strcmp(arg, "--dsn") == 0 && has_value) {
      dsn = argv[++i];
    } else if (strcmp(arg, "--status") == 0 && has_value) {
      filter.status = argv[++i];
    } else if (strcmp(arg, "--runbook") == 0 && has_value) {
      filter.runbook = argv[++i];
    } else if (strcmp(arg, "--severity") == 0 && has_value) {
      filter.severity = argv[++i];
    } else if (strcmp(arg, "--limit") == 0 && has_value) {
      if (!parse_count(argv[++i], &limit)) {
        fprintf(err, "parry cases: --limit needs a positive number, not \"%s\"\n", argv[i]);
        rc = 2;
        goto out;
      }
    } else {
      fprintf(err, "parry cases: unknown argument \"%s\"\n%s", arg, usage);
      rc = 2;
      goto out;
    }
  }
  if (!dsn) dsn = parry_config_str(cfg, "pg.dsn");
  if (!dsn || !*dsn) {
    fprintf(err, "parry cases: no database: give --dsn or set pg.dsn (PARRY_PG_DSN)\n");
    rc = 2;
    goto out;
  }
  int64_t case_id = 0;
  if (show) {
    char *end = NULL;
    long long v = strtoll(show, &end, 10);
    if (!*show || *end || v <= 0) {
      fprintf(err, "parry cases show: \"%s\" is not a case id\n", show);
      rc = 2;
      goto out;
    }
    case_id = v;
  }
  store = parry_store_open(dsn, errstr, sizeof errstr);
  if (!store) {
    fprintf(err, "parry cases: %s\n", errstr);
    rc = 1;
    goto out;
  }
  if (show) {
    parry_err_t e = parry_store_case_get(store, case_id, &a, errstr, sizeof errstr);
    if (!e) e = parry_store_case_timeline(store, case_id, limit, &b, errstr, sizeof errstr);
    if (e) {
      fprintf(err, "parry cases show: %s\n", errstr);
      rc = 1;
      goto out;
    }
    if (json) {
      struct json_object *both = json_object_new_object();
      json_object_object_add(both, "case", json_object_get(a));
      json_object_object_add(both, "timeline", json_object_get(b));
      fprintf(out, "%s\n", json_object_to_json_string_ext(both, JSON_FLAGS));
      json_object_put(both);
    } else {
      print_case(out, a, b);
    }
  } else {
    filter.limit = limit;
    if (parry_store_case_list(store, &filter, &a, errstr, sizeof errstr)) {
      fprintf(err, "parry cases: %s\n", errstr);
      rc = 1;
      goto out;
    }
    if (json)
      fprintf(out, "%s\n", json_object_to_json_string_ext(a, JSON_FLAGS));
    else
      print_list(out, a);
  }
out:
  json_object_put(a);
  json_object_put(b);
  parry_store_close(store);
  parry_config_destroy(cfg);
  return rc;
}
