/* Runbooks: what the executor does about an alert.
 *
 * A runbook is one YAML document in a .yml/.yaml file (several per file with
 * `---`; docs/runbooks.md is the user's guide). Paths given to parry_runbooks_load are files or
 * folders; folders are walked recursively in name order, entries starting with '.' skipped, files
 * ending in .yml or .yaml taken.
 *
 *   name: ssh-brute-force            # required, unique across the set
 *   description: ...                  # optional
 *   match:                            # at least one criterion; all given must hold
 *     rules: [rule ids]               #   alert rule.id is one of them
 *     tags: [tags]                    #   alert has one of them (ASCII case-insensitive)
 *     level: medium                   #   alert level at least this
 *   group:                            # optional: which alerts share one case
 *     fields: [group_by.source.ip]    #   paths into the alert JSON (no "alert.")
 *     window: 1h                      #   a case stays open for joining this long
 *   severity: high | {informational: low, ..., critical: critical}   # optional
 *   steps:                            # at least one
 *     - id: geo                       # [A-Za-z0-9_-]+, unique in the runbook
 *       uses: geoip                   # a connector (executor/connectors)
 *       with: {ip: "{{ alert.group_by.source.ip }}"}  # any YAML; strings are templates
 *       when: 'alert.rule.level == "high"'            # expr.h; absent = always
 *       needs: [other step ids]       # each must be an earlier step
 *       retries: {max: 3, backoff: {initial: 1s, max: 1m}, jitter: 0.2}
 *       timeout: 30s                  # per attempt; absent = the connector's default
 *       on_failure: stop | continue | <step id>
 *
 * Run semantics (the worker implements them; see docs/runbooks.md):
 *   - A step becomes ready when every step in its `needs` has finished
 *     (succeeded, failed with on_failure continue/<id>, or skipped). Steps
 *     without needs are ready at once; several ready steps may run at the same
 *     time; file order breaks ties. `needs` orders, it does not gate on
 *     success: a step that wants success checks steps.<id>.status in `when`.
 *   - `when` is evaluated when the step becomes ready; false = "skipped".
 *   - Statuses seen in the context: pending, running, succeeded, failed, skipped.
 *   - An attempt that the connector reports RETRYABLE, or that exceeds
 *     `timeout`, is retried up to retries.max more times after
 *     parry_step_backoff_ns; FAILED (permanent) is not retried.
 *   - When a step finally fails: stop = no further step starts (steps already
 *     running finish) and the run is failed; continue = the run goes on;
 *     <step id> = that handler step runs (its `when` still applies), then the
 *     run goes on as with continue. A step named by some on_failure is a
 *     handler: it never runs in the normal flow, only as a handler (flag
 *     `handler`); a handler may not have `needs` nor be needed, and handler
 *     chains do not loop (all checked at load).
 *   - A step may read steps.<id> in `when`/`with` only for steps it depends
 *     on (needs, transitively) -- checked at load; a handler may read any
 *     normal step.
 *
 * Errors: loading collects EVERY mistake into the report as
 * "file:line:col: field: message" (field is a path like steps[2].retries.max),
 * and leaves out runbooks that have any. The executor refuses to start on any
 * error; `parry runbooks check` prints them.
 */
#ifndef PARRY_RUNBOOK_H
#define PARRY_RUNBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parry/buf.h"
#include "parry/error.h"
#include "proto/parry.pb-c.h"
#include "runbook/expr.h"
#include "runbook/template.h"

struct json_object;

#define PARRY_RUNBOOK_MAX_FILE       (1u << 20) /* bytes per runbook file */
#define PARRY_RUNBOOK_MAX_STEPS      256
#define PARRY_RUNBOOK_MAX_YAML_DEPTH 32
#define PARRY_RUNBOOK_MAX_YAML_NODES 20000 /* parser events: a bound on work per file */

/* Alert levels, ordered (0 = unknown / not set). */
typedef enum {
  PARRY_LEVEL_NONE = 0,
  PARRY_LEVEL_INFORMATIONAL,
  PARRY_LEVEL_LOW,
  PARRY_LEVEL_MEDIUM,
  PARRY_LEVEL_HIGH,
  PARRY_LEVEL_CRITICAL,
} parry_level_t;
/* "informational".."critical" (ASCII case-insensitive) or PARRY_LEVEL_NONE. */
parry_level_t parry_level_parse(const char *s);
const char *parry_level_name(parry_level_t level); /* "" for NONE */

/* ---- the `with` tree: YAML as written, string scalars compiled as templates ---- */
typedef enum {
  PARRY_WITH_NULL,
  PARRY_WITH_BOOL,
  PARRY_WITH_INT,
  PARRY_WITH_FLOAT,
  PARRY_WITH_STRING, /* quoted, or plain text that is not another type */
  PARRY_WITH_LIST,
  PARRY_WITH_MAP,
} parry_with_kind_t;

typedef struct parry_with parry_with_t;
struct parry_with {
  parry_with_kind_t kind;
  uint32_t line, column;        /* of the node in its file (1-based) */
  bool b;                       /* BOOL */
  int64_t i;                    /* INT */
  double d;                     /* FLOAT */
  const char *text;             /* STRING: the template text (also INT/FLOAT literal) */
  const parry_template_t *tmpl; /* STRING */
  size_t n;                     /* LIST, MAP: item count */
  const char *const *keys;      /* MAP: keys[i] names items[i] */
  const parry_with_t *items;    /* LIST, MAP */
};
/* The MAP item named key, or NULL. */
const parry_with_t *parry_with_get(const parry_with_t *map, const char *key);

/* ---- steps and runbooks (read-only; owned by the set) ---- */
typedef enum {
  PARRY_ON_FAILURE_STOP = 0, /* default */
  PARRY_ON_FAILURE_CONTINUE,
  PARRY_ON_FAILURE_RUN, /* run the handler step `step` */
} parry_on_failure_kind_t;

typedef struct {
  uint32_t max; /* retries after the first attempt */
  int64_t initial_backoff_ns;
  int64_t max_backoff_ns;
  double jitter; /* 0..1: each delay shortened by up to this fraction */
} parry_retry_policy_t;

/* Defaults when a step does not say. */
#define PARRY_STEP_DEFAULT_RETRIES            3
#define PARRY_STEP_DEFAULT_BACKOFF_INITIAL_NS (1LL * 1000000000LL)
#define PARRY_STEP_DEFAULT_BACKOFF_MAX_NS     (60LL * 1000000000LL)
#define PARRY_STEP_DEFAULT_JITTER             0.2
/* 0: the connector engine's default (the target's timeout, else the setting
 * executor.connector.timeout) -- parry_conn_start's timeout_ns <= 0. */
#define PARRY_STEP_DEFAULT_TIMEOUT_NS 0

typedef struct parry_step {
  const char *id;
  const char *uses;          /* connector name */
  const parry_with_t *with;  /* a MAP (empty when `with` is absent) */
  const parry_expr_t *when;  /* NULL = always */
  const char *const *needs;  /* step ids, each an earlier step */
  const size_t *needs_index; /* their indexes in the runbook's steps */
  size_t n_needs;
  parry_retry_policy_t retries;
  int64_t timeout_ns; /* per attempt; 0 = the connector's default */
  struct {
    parry_on_failure_kind_t kind;
    const char *step;  /* RUN: handler step id */
    size_t step_index; /* RUN: its index */
  } on_failure;
  bool handler;          /* named by some on_failure: runs only as a handler */
  bool reads_outputs;    /* when/with read steps.<id> (any step) */
  size_t index;          /* in the runbook's steps */
  uint32_t line, column; /* of the step's mapping */
} parry_step_t;

typedef struct parry_runbook {
  const char *name;
  const char *description; /* "" when absent */
  const char *file;        /* as given / found while walking */
  uint32_t line;           /* of the document */
  struct {
    const char *const *rules;
    size_t n_rules;
    const char *const *tags;
    size_t n_tags;
    parry_level_t min_level; /* NONE = any */
  } match;
  struct {
    const char *const *fields; /* paths into the alert JSON, e.g. group_by.source.ip */
    size_t n_fields;           /* 0 = every alert opens its own case */
    int64_t window_ns;         /* 0 when no group */
  } group;
  /* Case severity per alert level (index parry_level_t); NULL entries mean
   * "the alert's level". */
  const char *severity[PARRY_LEVEL_CRITICAL + 1];
  const parry_step_t *steps;
  size_t n_steps;
  size_t index; /* in the set (sorted by name) */
} parry_runbook_t;

/* ---- load report ---- */
typedef struct {
  char *file;
  uint32_t line, column; /* 0 when not known (e.g. a file that cannot be read) */
  char *field;           /* e.g. "steps[1].when"; "" for the document */
  char *message;
} parry_runbook_error_t;

typedef struct {
  parry_runbook_error_t *errors;
  size_t n_errors;
  size_t files;    /* files read */
  size_t runbooks; /* valid runbooks loaded */
  size_t steps;    /* their steps */
} parry_runbook_report_t;

void parry_runbook_report_free(parry_runbook_report_t *r); /* the struct is the caller's */
/* One line per error: "file:line:col: field: message". */
void parry_runbook_report_print(const parry_runbook_report_t *r, FILE *out);

/* ---- the set ---- */
typedef struct parry_runbook_set parry_runbook_set_t;

/* Load and validate every runbook under paths[0..n_paths). Mistakes go to
 * report (may be NULL; reset first) and leave the affected runbook out; the
 * set is still returned. NULL + errstr only when nothing can proceed. */
parry_runbook_set_t *parry_runbooks_load(const char *const *paths, size_t n_paths,
                                         parry_runbook_report_t *report, char *errstr, size_t n);
/* The same from text in memory (tests, fuzzing); `file` names it in errors. */
parry_runbook_set_t *parry_runbooks_load_text(const char *file, const char *text, size_t len,
                                              parry_runbook_report_t *report, char *errstr,
                                              size_t n);
void parry_runbook_set_destroy(parry_runbook_set_t *set);
size_t parry_runbook_set_count(const parry_runbook_set_t *set);
const parry_runbook_t *parry_runbook_set_get(const parry_runbook_set_t *set, size_t i);
const parry_runbook_t *parry_runbook_find(const parry_runbook_set_t *set, const char *name);
const parry_step_t *parry_runbook_step(const parry_runbook_t *rb, const char *step_id);

/* Runbooks whose match holds for alert, sorted by name (deterministic).
 * Writes at most max into out; returns how many match (may exceed max). */
size_t parry_runbooks_match(const parry_runbook_set_t *set, const Parry__V1__Alert *alert,
                            const parry_runbook_t **out, size_t max);
bool parry_runbook_matches(const parry_runbook_t *rb, const Parry__V1__Alert *alert);

/* Case severity for an alert of this level under rb's mapping. */
const char *parry_runbook_severity(const parry_runbook_t *rb, const char *alert_level);

/* ---- run context (json-c) ---- */
/* A new context {"alert": <alert JSON>, "case": case_obj or {}, "steps": {},
 * "runbook": {"name": ...}}. case_obj (may be NULL) is taken over. The
 * caller json_object_put()s the result. NULL + errstr if the alert cannot be
 * written as JSON. */
struct json_object *parry_runbook_context_new(const parry_runbook_t *rb,
                                              const Parry__V1__Alert *alert,
                                              struct json_object *case_obj, char *errstr, size_t n);
/* Set ctx.steps.<step_id> = {"status": status, "outputs": outputs or {}};
 * outputs (may be NULL) is taken over. */
void parry_runbook_context_set_step(struct json_object *ctx, const char *step_id,
                                    const char *status, struct json_object *outputs);

/* The values of rb's group fields in the alert JSON, as a canonical key
 * (a compact JSON array of the values; missing fields are null), appended to
 * out: alerts with equal keys join one case within the window. alert_json is
 * the alert as parry_alert_to_json writes it (ctx "alert" works). */
parry_err_t parry_runbook_group_key(const parry_runbook_t *rb, struct json_object *alert_json,
                                    parry_buf_t *out, char *errstr, size_t n);

/* ---- steps at run time ---- */
/* Whether the step's `when` holds (true when it has none). */
parry_err_t parry_step_when(const parry_step_t *step, struct json_object *ctx, bool *out,
                            char *errstr, size_t n);

/* How input paths are escaped: called with the dotted path of each string
 * leaf ("url", "headers.Authorization", "argv.0": list items by index). */
typedef parry_escape_t (*parry_escape_for_fn)(void *opaque, const char *input_path);

/* Render the step's `with` into a new json-c object (*inputs, caller puts):
 * string leaves through their templates, escaped as escape_for says (NULL =
 * NONE everywhere); other scalars keep their type. On error *inputs is NULL
 * and errstr names the input path. */
parry_err_t parry_runbook_render_with(const parry_step_t *step, struct json_object *ctx,
                                      parry_escape_for_fn escape_for, void *opaque,
                                      struct json_object **inputs, char *errstr, size_t n);

/* An escape_for that asks the connector registry how step->uses escapes
 * each input: pass the step (const parry_step_t *) as opaque. */
parry_escape_t parry_step_escape_for(void *step, const char *input_path);

/* Delay before retry number `retry` (1 = the first retry):
 * min(max, initial * 2^(retry-1)) * (1 - jitter * rand01), rand01 in [0,1). */
int64_t parry_step_backoff_ns(const parry_step_t *step, uint32_t retry, double rand01);

#endif
