/* parry plan: which runbook steps would run for each alert, with `when`
 * evaluated and inputs rendered exactly as the executor would render them --
 * but nothing is called: no network, no database. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "parry/codec.h"
#include "runbook/runbook.h"

#define PLAN_MAX_LINE    (16u << 20)
#define PLAN_MAX_MATCHES 64

static const char usage[] =
    "usage: parry plan --runbooks PATH [FILE|-]...\n"
    "\n"
    "Reads NDJSON alerts (stdin when no FILE or for -), matches each against the\n"
    "runbooks under PATH (repeatable), and prints one JSON line per step of every\n"
    "matching runbook:\n"
    "  {\"alert\", \"runbook\", \"step\", \"uses\", \"when\", \"inputs\"}\n"
    "`when` is true or false, or a string saying why the step would not run in the\n"
    "normal flow (an on_failure handler). Steps that read steps.<id> are evaluated\n"
    "with those outputs absent and carry \"depends_on_outputs\": true. A step whose\n"
    "inputs cannot be rendered carries \"error\" instead of \"inputs\". Nothing is\n"
    "called. A summary `alerts=N matched=M steps=S bad=B` goes to stderr.\n"
    "Exit 0, or 1 when a runbook has a mistake (listed on stderr, nothing planned)\n"
    "or an input line is not an alert (FILE:LINE: reason on stderr), 2 on usage.\n";

typedef struct {
  const parry_runbook_set_t *set;
  FILE *out, *err;
  unsigned long long alerts, matched, steps, bad;
} plan_t;

static void emit(plan_t *p, struct json_object *line) {
  fputs(
      json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
      p->out);
  fputc('\n', p->out);
  p->steps++;
}

static void plan_runbook(plan_t *p, const Parry__V1__Alert *alert, const parry_runbook_t *rb) {
  char errstr[512];
  struct json_object *ctx = parry_runbook_context_new(rb, alert, NULL, errstr, sizeof errstr);
  if (!ctx) {
    fprintf(p->err, "parry plan: alert %s: %s\n", alert->id, errstr);
    p->bad++;
    return;
  }
  for (size_t i = 0; i < rb->n_steps; i++) {
    const parry_step_t *st = &rb->steps[i];
    struct json_object *line = json_object_new_object();
    json_object_object_add(line, "alert", json_object_new_string(alert->id ? alert->id : ""));
    json_object_object_add(line, "runbook", json_object_new_string(rb->name));
    json_object_object_add(line, "step", json_object_new_string(st->id));
    json_object_object_add(line, "uses", json_object_new_string(st->uses));
    if (st->handler) {
      json_object_object_add(
          line, "when",
          json_object_new_string("skipped: on_failure handler, runs only when a step fails"));
    } else {
      bool run = true;
      if (parry_step_when(st, ctx, &run, errstr, sizeof errstr) != PARRY_OK) {
        json_object_object_add(line, "when", json_object_new_string(errstr));
      } else {
        json_object_object_add(line, "when", json_object_new_boolean(run));
      }
    }
    if (st->reads_outputs)
      json_object_object_add(line, "depends_on_outputs", json_object_new_boolean(1));
    struct json_object *inputs = NULL;
    if (parry_runbook_render_with(st, ctx, parry_step_escape_for, (void *)st, &inputs, errstr,
                                  sizeof errstr) == PARRY_OK)
      json_object_object_add(line, "inputs", inputs);
    else json_object_object_add(line, "error", json_object_new_string(errstr));
    emit(p, line);
    json_object_put(line);
  }
  json_object_put(ctx);
}

static void plan_line(plan_t *p, const char *name, unsigned long long lineno, const char *text,
                      size_t len) {
  size_t a = 0;
  while (a < len && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r' || text[a] == '\n')) a++;
  if (a == len) return; /* blank line */
  Parry__V1__Alert *alert = NULL;
  char errstr[512];
  if (parry_alert_from_json(text, len, &alert, errstr, sizeof errstr) != PARRY_OK) {
    fprintf(p->err, "%s:%llu: not an alert: %s\n", name, lineno, errstr);
    p->bad++;
    return;
  }
  p->alerts++;
  const parry_runbook_t *m[PLAN_MAX_MATCHES];
  size_t n = parry_runbooks_match(p->set, alert, m, PLAN_MAX_MATCHES);
  if (n > PLAN_MAX_MATCHES) n = PLAN_MAX_MATCHES;
  if (n) p->matched++;
  for (size_t i = 0; i < n; i++) plan_runbook(p, alert, m[i]);
  parry__v1__alert__free_unpacked(alert, NULL);
}

static int plan_file(plan_t *p, FILE *f, const char *name) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t got;
  unsigned long long lineno = 0;
  int rc = 0;
  while ((got = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if ((size_t)got > PLAN_MAX_LINE) {
      fprintf(p->err, "%s:%llu: line longer than %u bytes\n", name, lineno, PLAN_MAX_LINE);
      p->bad++;
      continue;
    }
    plan_line(p, name, lineno, line, (size_t)got);
  }
  if (ferror(f)) {
    fprintf(p->err, "parry plan: could not read %s: %s\n", name, strerror(errno));
    rc = 1;
  }
  free(line);
  return rc;
}

int parry_cmd_plan(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  (void)envp;
  const char **rbpaths = calloc((size_t)argc + 1, sizeof *rbpaths);
  const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
  size_t n_rb = 0, n_in = 0;
  int rc = 0;
  parry_runbook_set_t *set = NULL;
  parry_runbook_report_t rep = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, out);
      goto out;
    } else if (!strcmp(a, "--runbooks")) {
      if (i + 1 >= argc) {
        fprintf(err, "parry plan: --runbooks needs a PATH\n");
        rc = 2;
        goto out;
      }
      rbpaths[n_rb++] = argv[++i];
    } else if (!strncmp(a, "--runbooks=", 11)) {
      rbpaths[n_rb++] = a + 11;
    } else if (a[0] == '-' && a[1]) {
      fprintf(err, "parry plan: unknown option \"%s\"\n%s", a, usage);
      rc = 2;
      goto out;
    } else {
      inputs[n_in++] = a;
    }
  }
  if (!n_rb) {
    fprintf(err, "parry plan: --runbooks PATH is required\n%s", usage);
    rc = 2;
    goto out;
  }
  if (!n_in) inputs[n_in++] = "-";
  char errstr[512];
  set = parry_runbooks_load(rbpaths, n_rb, &rep, errstr, sizeof errstr);
  if (!set) {
    fprintf(err, "parry plan: %s\n", errstr);
    rc = 1;
    goto out;
  }
  if (rep.n_errors) {
    fprintf(err, "parry plan: the runbooks have %zu mistakes:\n", rep.n_errors);
    parry_runbook_report_print(&rep, err);
    rc = 1;
    goto out;
  }
  plan_t p = {.set = set, .out = out, .err = err};
  for (size_t i = 0; i < n_in; i++) {
    bool is_stdin = !strcmp(inputs[i], "-");
    FILE *f = is_stdin ? stdin : fopen(inputs[i], "rb");
    if (!f) {
      fprintf(err, "parry plan: could not open %s: %s\n", inputs[i], strerror(errno));
      rc = 1;
      continue;
    }
    if (plan_file(&p, f, is_stdin ? "stdin" : inputs[i])) rc = 1;
    if (!is_stdin) fclose(f);
  }
  fflush(out);
  fprintf(err, "alerts=%llu matched=%llu steps=%llu bad=%llu\n", p.alerts, p.matched, p.steps,
          p.bad);
  if (p.bad) rc = 1;
out:
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  free(rbpaths);
  free(inputs);
  return rc;
}
