/* The case store: alerts, cases, the case timeline, runs and step runs in
 * PostgreSQL (schema and guarantees: docs/case-store.md; migrations:
 * executor/store/sql/NNNN_name.sql).
 *
 * Guarantees the executor builds on:
 *   - an alert is stored once, by its deterministic id: ingesting it again
 *     changes nothing (no row, no timeline entry, no run);
 *   - the alert insert, the case join/open, the timeline entry and the run
 *     creation commit in ONE transaction (per batch), before the caller
 *     commits its Kafka offsets;
 *   - alerts of one runbook with equal grouping values join the case that is
 *     accepting alerts for them; a case accepts alerts whose time is before
 *     its window end, fixed when it opened (first alert time + the runbook's
 *     window); a later alert closes the grouping of that case and opens a new
 *     one. Replicas ingesting the same group at once never open two cases
 *     (transaction-scoped advisory lock per group, plus a unique index);
 *   - a run is created only when a case opens (1,000 alerts = 1 case = 1 run);
 *   - runs are claimed with FOR UPDATE SKIP LOCKED and a lease; a run whose
 *     lease expired is claimable by any replica; every step transition is
 *     fenced by the lease (a replica that lost it cannot record anything);
 *   - step_started is recorded BEFORE the connector is called, with the
 *     idempotency key "<alert id>:<step id>" (the same on every attempt and
 *     after a crash); a recorded success is never lost;
 *   - the timeline is append-only (a trigger rejects UPDATE and DELETE);
 *     inputs and outputs are masked before they are stored.
 *
 * Threads: a parry_store_t is one PostgreSQL connection and is used by one
 * thread at a time; give each thread its own store. Results returned by the
 * store are owned by the caller and freed with the matching _free function.
 *
 * Errors: functions return PARRY_OK or an error with errstr filled.
 * parry_store_error_kind() then says whether the failure was transient
 * (PARRY_PG_RETRY, PARRY_PG_CONNECTION: try again later; the store
 * reconnects by itself on the next call) or permanent. Transactions that
 * fail on a deadlock or serialization failure are retried inside the store a
 * few times before that is reported. PARRY_ERR_NOT_FOUND: no such case/run,
 * or (step transitions, releases) the caller no longer holds the lease.
 *
 * Times are int64 nanoseconds since the epoch in C and timestamptz
 * (microseconds) in PostgreSQL; durations are nanoseconds.
 */
#ifndef PARRY_STORE_H
#define PARRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/pg.h"
#include "proto/parry.pb-c.h"

struct json_object;

typedef struct parry_store parry_store_t;

/* ------------------------------------------------------------------------ */
/* Opening, migrations */

/* Connect (lib/parry/pg.h parry_pg_connect; application_name "parry-executor"
 * unless the DSN names one) and prepare the statements. Does not migrate.
 * NULL on failure with errstr set (never showing the password). */
parry_store_t *parry_store_open(const char *dsn, char *errstr, size_t errstr_size);

/* As parry_store_open, with search_path set to `schema` (quoted as an
 * identifier) for the whole session: tests put each store in its own schema.
 * schema NULL = parry_store_open. */
parry_store_t *parry_store_open_schema(const char *dsn, const char *schema,
                                       char *errstr, size_t errstr_size);

void parry_store_close(parry_store_t *s); /* accepts NULL */

/* The folder of the shipped migrations: the setting executor.db.migrations
 * when not empty (pass its value, or NULL), else the executor/store/sql
 * folder of the source tree this binary was built from. */
const char *parry_store_migrations_dir(const char *setting);

/* Apply the migrations of `dir` (NULL: parry_store_migrations_dir(NULL)) with
 * parry_pg_migrate: idempotent, safe with several replicas at once. */
parry_err_t parry_store_migrate(parry_store_t *s, const char *dir, char *errstr,
                                size_t errstr_size);

/* Readiness: the connection works (reconnecting if it was lost) and the
 * schema is migrated (the store's statements prepare). One round trip when
 * all is well. */
parry_err_t parry_store_ping(parry_store_t *s, char *errstr, size_t errstr_size);

/* Classification of the last failure of this store (PARRY_PG_OK after a
 * success). */
parry_pg_kind_t parry_store_error_kind(const parry_store_t *s);

/* The connection, for tests and diagnostics only (same thread rules). */
PGconn *parry_store_conn(parry_store_t *s);

/* ------------------------------------------------------------------------ */
/* Secrets */

/* Register a secret value (a connector token, a password read from a file):
 * any occurrence of it in a string stored as step inputs, outputs or errors
 * is replaced by "****". Values shorter than 4 bytes are ignored (masking
 * "a" everywhere would destroy the timeline and hide nothing). Copied. */
void parry_store_add_secret(parry_store_t *s, const char *value);

/* Register every secret of the connectors configuration named by the
 * setting executor.connectors (parry_conn_config_secret: tokens, passwords,
 * webhook URLs, `*_env` and `*_file` values, read now), so that one echoed
 * into any stored text (an answer kept as an output, an error, an input
 * rendered from alert data) is masked there too. No such setting or an
 * empty one registers nothing. Fails (errstr, secrets never in it) when the
 * file cannot be loaded: the caller must not store without its secrets. */
parry_err_t parry_store_add_connector_secrets(parry_store_t *s, const parry_config_t *settings,
                                              char *errstr, size_t errstr_size);

/* A deep copy of v with secrets masked: the value of every member whose key
 * names a secret (contains, case-insensitively, token, password, passwd,
 * secret, authorization, api_key, apikey, api-key, cookie, credential,
 * private_key) becomes "****" whatever its type, and every occurrence of
 * each of the n secret values in any string (keys included) becomes "****".
 * v NULL gives NULL. The caller owns the result (json_object_put). */
struct json_object *parry_store_mask_json(const struct json_object *v,
                                          const char *const *secrets, size_t n);

/* The same masking for plain text (an error message): a malloc'd copy. */
char *parry_store_mask_text(const char *text, const char *const *secrets, size_t n);

/* ------------------------------------------------------------------------ */
/* Ingest */

/* Most runbooks one alert may match in one ingest. */
#define PARRY_STORE_MAX_MATCHES 32

typedef struct {
  const char *key;   /* grouping field as the runbook names it, e.g. "source.ip" */
  const char *value; /* its value in the alert; NULL = absent (JSON null) */
} parry_store_label_t;

/* One runbook the alert matched. The case's group key is the compact JSON
 * object of the group values by field in this order, e.g.
 * {"source.ip":"203.0.113.7"}; the same text for equal values, and no
 * separator a value could forge. */
typedef struct {
  const char *runbook;           /* runbook name */
  const char *runbook_version;   /* e.g. a hash of the file; NULL = "" */
  const parry_store_label_t *group; /* grouping fields in the runbook's order */
  size_t n_group;                /* 0: one case per runbook for all alerts */
  int64_t window_ns;             /* grouping window (capped at ten years); <= 0: every
                                    alert opens its own case */
  const char *severity;          /* severity of a new case; NULL = the alert's rule level;
                                    anything but informational..critical: medium */
} parry_store_match_t;

typedef struct {
  const Parry__V1__Alert *alert; /* id, timestamp, rule, group_by, events read */
  const char *alert_json;        /* canonical JSON (parry_alert_to_json), stored as jsonb */
  const parry_store_match_t *matches;
  size_t n_matches;              /* 0: stored for history, no case, no run */
} parry_store_alert_in_t;

typedef enum {
  PARRY_STORE_NO_CASE = 0, /* no runbook matched: alert stored only */
  PARRY_STORE_ATTACHED,    /* joined an existing case */
  PARRY_STORE_OPENED,      /* opened a case and created its run */
} parry_store_case_outcome_t;

typedef struct {
  parry_store_case_outcome_t outcome;
  int64_t case_id; /* 0 with NO_CASE */
  int64_t run_id;  /* OPENED only, else 0 */
} parry_store_case_result_t;

typedef struct {
  bool duplicate; /* the alert id was stored already: nothing changed, n_cases 0 */
  size_t n_cases; /* = n_matches of a new alert */
  parry_store_case_result_t cases[PARRY_STORE_MAX_MATCHES]; /* in match order */
} parry_store_ingest_result_t;

/* Store one alert in one transaction (one round trip). */
parry_err_t parry_store_ingest_alert(parry_store_t *s, const parry_store_alert_in_t *in,
                                     parry_store_ingest_result_t *result, char *errstr,
                                     size_t errstr_size);

/* Store n alerts in ONE transaction (one statement, one round trip for the
 * batch), results[i] for in[i]. Alerts are applied in the order given (an
 * alert id twice in a batch: the second is a duplicate). On error nothing of
 * the batch is stored (the caller may then store them one by one to find
 * the alert at fault). */
parry_err_t parry_store_ingest_batch(parry_store_t *s, const parry_store_alert_in_t *in,
                                     size_t n, parry_store_ingest_result_t *results,
                                     char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------------ */
/* Runs */

typedef enum {
  PARRY_STEP_NONE = 0,  /* no row: never started */
  PARRY_STEP_RUNNING,   /* started, outcome not recorded: in flight or lost in a crash */
  PARRY_STEP_SUCCEEDED,
  PARRY_STEP_FAILED,    /* permanently (or retries exhausted) */
  PARRY_STEP_RETRYING,  /* failed retryably, next attempt at next_attempt_ns */
  PARRY_STEP_SKIPPED,
} parry_step_state_t;

const char *parry_step_state_str(parry_step_state_t st); /* "running", ... */

/* The recorded state of one step of a run (its latest attempt). */
typedef struct {
  char *step_id;
  parry_step_state_t state;
  int attempt;                 /* latest attempt, 1-based */
  char *idempotency_key;       /* "<alert id>:<step id>" */
  struct json_object *inputs;  /* masked, as recorded; may be NULL */
  struct json_object *outputs; /* SUCCEEDED: masked outputs; else NULL */
  char *error;                 /* FAILED / RETRYING: reason; else NULL */
  int64_t next_attempt_ns;     /* RETRYING: when; else 0 */
  int64_t started_ns, finished_ns;
} parry_step_record_t;

typedef enum {
  PARRY_RUN_PENDING = 0, /* created, never claimed */
  PARRY_RUN_RUNNING,
  PARRY_RUN_WAITING,     /* released until next_attempt_ns (backoff, approval) */
  PARRY_RUN_SUCCEEDED,
  PARRY_RUN_FAILED,
} parry_run_state_t;

const char *parry_run_state_str(parry_run_state_t st);

typedef struct {
  int64_t id, case_id;
  char *runbook, *runbook_version;
  char *alert_id;              /* the alert that opened the case */
  struct json_object *alert;   /* that alert's JSON */
  struct json_object *case_obj; /* the case as parry_store_case_get gives it */
  parry_run_state_t state;     /* as claimed (a claimed PENDING run is RUNNING) */
  int claims;                  /* times claimed, this one included: > 1 = resumed */
  int64_t lease_until_ns;
  parry_step_record_t *steps;  /* one per step that has a row, by first start */
  size_t n_steps;
} parry_run_t;

void parry_run_free(parry_run_t *run); /* accepts NULL; frees the struct too */
void parry_runs_free(parry_run_t **runs, size_t n); /* each, and the array */
/* The record of step_id, or NULL if it never started. */
const parry_step_record_t *parry_run_step(const parry_run_t *run, const char *step_id);

/* Claim up to max runnable runs: state pending/running/waiting, next attempt
 * due, and no live lease (never leased, released, or expired: a crashed
 * replica's runs). Locked with FOR UPDATE SKIP LOCKED, so concurrent
 * claimers get different runs; each gets lease (owner, now + lease_ns).
 * Returns the runs fully loaded (*out: array the caller frees with
 * parry_runs_free; *n may be 0). Two round trips. */
parry_err_t parry_store_claim_runs(parry_store_t *s, const char *owner, int64_t lease_ns,
                                   size_t max, parry_run_t ***out, size_t *n,
                                   char *errstr, size_t errstr_size);

/* parry_store_ingest_batch, and in the same transaction a lease (owner,
 * now + lease_ns) on the first max_lease runs the batch creates, returned
 * as a claim returns them (*leased: array the caller frees with
 * parry_runs_free; claims 1, no steps; the alert as in[i].json gives it):
 * the ingesting executor runs them without claiming them back. The lease
 * is an ordinary one: renewed, released and expiring like a claimed run's.
 * Runs created beyond max_lease stay pending for any claimer. On error
 * nothing is stored and nothing leased. Works for n == 1 too. */
parry_err_t parry_store_ingest_batch_leased(parry_store_t *s, const parry_store_alert_in_t *in,
                                            size_t n, parry_store_ingest_result_t *results,
                                            const char *owner, int64_t lease_ns,
                                            size_t max_lease, parry_run_t ***leased,
                                            size_t *n_leased, char *errstr,
                                            size_t errstr_size);

/* Extend the lease of every unfinished run `owner` holds to now + lease_ns;
 * *renewed (may be NULL) = how many. A run claimed away after its lease
 * expired is not renewed (its transitions then fail with NOT_FOUND). */
parry_err_t parry_store_renew_leases(parry_store_t *s, const char *owner, int64_t lease_ns,
                                     size_t *renewed, char *errstr, size_t errstr_size);

/* Give a run back: state WAITING until next_attempt_ns (0 = now, e.g. on
 * shutdown), lease cleared. NOT_FOUND if owner does not hold it. */
parry_err_t parry_store_run_release(parry_store_t *s, int64_t run_id, const char *owner,
                                    int64_t next_attempt_ns, char *errstr, size_t errstr_size);

/* Finish a run: SUCCEEDED or FAILED (reason in error, may be NULL), lease
 * cleared; timeline row run_succeeded / run_failed. NOT_FOUND if owner does
 * not hold it. */
parry_err_t parry_store_run_finish(parry_store_t *s, int64_t run_id, const char *owner,
                                   parry_run_state_t final_state, const char *error,
                                   char *errstr, size_t errstr_size);

/* Runs any replica could claim now, fleet-wide (unfinished, due, no live
 * lease): a gauge for backpressure and metrics. One indexed count. */
parry_err_t parry_store_runs_runnable(parry_store_t *s, int64_t *count, char *errstr,
                                      size_t errstr_size);

/* Many finishes in one statement (one round trip, one transaction): runs[i]
 * with states[i] and errors[i] (errors may be NULL, or hold NULLs). ok[i]
 * (may be NULL): whether runs[i] was finished (false: not leased by owner,
 * or not a final state). */
parry_err_t parry_store_runs_finish(parry_store_t *s, const char *owner, const int64_t *runs,
                                    const parry_run_state_t *states,
                                    const char *const *errors, size_t n, bool *ok,
                                    char *errstr, size_t errstr_size);

/* Load one run (without claiming it): for inspection and tests. */
parry_err_t parry_store_run_load(parry_store_t *s, int64_t run_id, parry_run_t **out,
                                 char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------------ */
/* Step transitions */

typedef enum {
  PARRY_STEP_EV_STARTED = 0, /* before the call: attempt row, inputs */
  PARRY_STEP_EV_SUCCEEDED,   /* outputs */
  PARRY_STEP_EV_FAILED,      /* error; retryable + next_attempt_ns: RETRYING (timeline
                                step_retried), else FAILED (timeline step_failed) */
  PARRY_STEP_EV_SKIPPED,     /* `when` false or a need failed; reason in error */
} parry_step_event_kind_t;

typedef struct {
  parry_step_event_kind_t kind;
  int64_t run_id;
  const char *step_id;
  const char *connector;             /* STARTED: the `uses`; else may be NULL */
  int attempt;                       /* 1-based; STARTED: the new attempt; others: the
                                        attempt they finish (0 = the latest) */
  const struct json_object *inputs;  /* STARTED (masked by the store); may be NULL */
  const struct json_object *outputs; /* SUCCEEDED (masked by the store); may be NULL */
  const char *error;                 /* FAILED / SKIPPED reason (masked); may be NULL */
  bool retryable;                    /* FAILED */
  int64_t next_attempt_ns;           /* FAILED + retryable: when to try again */
} parry_step_event_t;

/* Record one transition in step_runs and the case timeline, in one
 * transaction, fenced by the lease (owner must hold the run: else
 * PARRY_ERR_NOT_FOUND and nothing is written). STARTED for an attempt that
 * already has a row is accepted and changes nothing (a replay). */
parry_err_t parry_store_step(parry_store_t *s, const char *owner, const parry_step_event_t *ev,
                             char *errstr, size_t errstr_size);

/* n transitions (any runs of owner), applied in order, in one statement:
 * one round trip and one transaction (one commit for all). ok[i] (may be
 * NULL) tells which were recorded (false: lease lost, a start of a step that
 * succeeded already, an attempt that never started). If the server refuses
 * one of them, the batch is sent again (pipelined) with a transaction per
 * transition, so that only that one is lost. Returns an error when the
 * connection or the server failed (ok[] then says which got through) or an
 * event is malformed (INVALID, nothing sent). */
parry_err_t parry_store_steps(parry_store_t *s, const char *owner,
                              const parry_step_event_t *ev, size_t n, bool *ok,
                              char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------------ */
/* Cases */

/* A change to a case; NULL / -1 members are left as they are. Every change
 * appends one case_updated timeline row with {field: {"from", "to"}}. */
typedef struct {
  const char *status;     /* "open", "acknowledged", "investigating", "resolved",
                             "closed"; a resolved or closed case stops accepting
                             alerts */
  const char *severity;   /* informational, low, medium, high, critical */
  const char *assignee;   /* "" clears */
  const char *resolution; /* outcome, e.g. "true_positive", "false_positive", "benign" */
  const char *const *add_tags;
  size_t n_add_tags;
  const char *const *remove_tags;
  size_t n_remove_tags;
  int escalated;          /* -1 unchanged, 0 / 1 */
  const char *note;       /* free text recorded in the timeline row; may be NULL */
  const char *actor;      /* who: "runbook:<name>/<step>", "cli:<user>"; NULL = "parry" */
} parry_case_update_t;

#define PARRY_CASE_UPDATE_INIT {NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, -1, NULL, NULL}

/* Apply u in one transaction. *changed (may be NULL): whether anything
 * changed (no timeline row when nothing did). NOT_FOUND: no such case;
 * INVALID: a status or severity outside the lists above. */
parry_err_t parry_store_case_update(parry_store_t *s, int64_t case_id,
                                    const parry_case_update_t *u, bool *changed,
                                    char *errstr, size_t errstr_size);

/* The case as a JSON object: {"id", "runbook", "group_key", "group": {..},
 * "status", "severity", "assignee", "tags": [..], "resolution", "escalated",
 * "alert_count", "first_seen", "last_seen", "window_end", "accepting",
 * "created", "updated"} (times RFC 3339 UTC). NOT_FOUND if absent. */
parry_err_t parry_store_case_get(parry_store_t *s, int64_t case_id, struct json_object **out,
                                 char *errstr, size_t errstr_size);

typedef struct {
  const char *status;  /* NULL: any */
  const char *runbook; /* NULL: any */
  const char *severity; /* NULL: any */
  int64_t since_ns;    /* last_seen >= since; 0: any */
  size_t limit;        /* 0: 100 */
} parry_case_filter_t;

/* Cases matching f, newest last_seen first: a JSON array of case objects. */
parry_err_t parry_store_case_list(parry_store_t *s, const parry_case_filter_t *f,
                                  struct json_object **out, char *errstr, size_t errstr_size);

/* The case's timeline, oldest first: a JSON array of {"id", "at", "kind",
 * "step_id", "attempt", "run_id", "data"}. Up to limit rows (0: all). */
parry_err_t parry_store_case_timeline(parry_store_t *s, int64_t case_id, size_t limit,
                                      struct json_object **out, char *errstr,
                                      size_t errstr_size);

/* ------------------------------------------------------------------------ */
/* Entity history */

typedef enum {
  PARRY_ENTITY_IP = 0,
  PARRY_ENTITY_USER,
  PARRY_ENTITY_HOST,
} parry_entity_kind_t;

const char *parry_entity_kind_str(parry_entity_kind_t k); /* "ip", "user", "host" */
bool parry_entity_kind_parse(const char *s, parry_entity_kind_t *out);

/* What the store knows of an entity. Which alert fields index which entity:
 * docs/case-store.md (group_by fields and the typed fields of the alert's
 * events: source/destination ip, user name, host name). */
typedef struct {
  int64_t first_seen_ns, last_seen_ns; /* 0 when never seen */
  int64_t alert_count;
  int64_t case_count;
  int64_t last_case_id;      /* 0 when none */
  char last_case_status[32]; /* "" when none */
  char last_case_resolution[64];
  char last_run_state[16];   /* state of the last case's run; "" when none */
} parry_entity_history_t;

/* History of kind/value, leaving out case exclude_case_id (the case asking,
 * so "earlier" means other cases; 0 = none) and its alerts. */
parry_err_t parry_store_entity_history(parry_store_t *s, parry_entity_kind_t kind,
                                       const char *value, int64_t exclude_case_id,
                                       parry_entity_history_t *out, char *errstr,
                                       size_t errstr_size);

#endif
