/* Connectors: what a runbook step `uses` (Slack, Jira, block_ip, exec, ...),
 * and the asynchronous engine that runs them.
 *
 * A connector is a table of callbacks (one file each in executor/connectors/)
 * that declares its inputs, each with a kind. The kind says how the runbook
 * template renderer must escape what it substitutes into that input
 * (parry_connector_escape_for), so an alert field full of quotes, CR/LF or
 * shell metacharacters cannot change a URL, a header, a JSON body or an argv.
 *
 * The engine runs calls on one thread, thousands at a time, without a thread
 * per call: libcurl multi for HTTP and SMTP, pidfds for child processes. The
 * caller drives it with parry_conn_engine_poll() from its own loop; every
 * started call ends with exactly one done callback, fired from poll.
 *
 * Targets (Slack webhook, Jira base URL, firewall API, tokens) come from the
 * connectors YAML named by the setting `executor.connectors` (docs/connectors.md).
 * Secrets read from it (`*_env`, `*_file` indirection) are never logged and
 * are masked ("***") in outputs and error texts.
 *
 * Threading: a parry_conn_engine_t and everything it owns belong to the
 * thread that created it; only parry_conn_engine_wakeup may be called from
 * another thread. The registry (parry_connector_find, escape_for,
 * check_inputs) is immutable and may be used from any thread.
 */
#ifndef PARRY_CONNECTOR_H
#define PARRY_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"

struct json_object;

/* ---- Registry ------------------------------------------------------------ */

typedef struct parry_connector parry_connector_t;

/* How a declared input is used, hence how templates feeding it are escaped. */
typedef enum {
  PARRY_CONN_IN_TEXT = 0, /* a scalar (or list of scalars) the connector places
                             safely itself (JSON-serialized, SMTP-encoded ...) */
  PARRY_CONN_IN_URL,      /* a URL: substitutions are URL-component escaped */
  PARRY_CONN_IN_HEADER,   /* a header value (or list of them): CR/LF/NUL refused */
  PARRY_CONN_IN_JSON,     /* a body: an object/array whose leaves are values
                             (serialized by json-c, no escaping), or a string
                             of JSON text (substitutions JSON-string escaped) */
  PARRY_CONN_IN_ARGV,     /* an array of strings, one argv element each, never
                             through a shell */
  PARRY_CONN_IN_MAP,      /* an object whose members have kind `member_kind`
                             (headers: HEADER, query: TEXT, env: TEXT) */
} parry_conn_input_kind_t;

/* Escaping the template renderer applies to one rendered leaf. Same names and
 * order as parry_escape_t in executor/runbook/template.h (NONE, URL, HEADER,
 * JSON), so a value converts with a plain cast; kept separate so that this
 * header compiles on its own. */
typedef enum {
  PARRY_CONN_ESCAPE_NONE = 0,
  PARRY_CONN_ESCAPE_URL,    /* URL component (RFC 3986 unreserved kept) */
  PARRY_CONN_ESCAPE_HEADER, /* header value: CR, LF and NUL refused */
  PARRY_CONN_ESCAPE_JSON,   /* inside of a JSON string */
} parry_conn_escape_t;

typedef struct {
  const char *name;                    /* top-level key of `with` */
  parry_conn_input_kind_t kind;
  parry_conn_input_kind_t member_kind; /* for PARRY_CONN_IN_MAP */
  bool required;
  const char *help;                    /* one line, for docs and errors */
} parry_conn_input_t;

/* Look a connector up by the name a step `uses`; NULL if there is none. */
const parry_connector_t *parry_connector_find(const char *name);
/* Every connector, for listings: index 0..count-1. */
size_t parry_connector_count(void);
const parry_connector_t *parry_connector_at(size_t i);

const char *parry_connector_name(const parry_connector_t *c);
const char *parry_connector_help(const parry_connector_t *c);
/* Internal connectors (case_update, history, approval) are carried out by the
 * executor worker against the case store; they declare inputs for validation
 * but cannot be started on the engine. */
bool parry_connector_is_internal(const parry_connector_t *c);
size_t parry_connector_input_count(const parry_connector_t *c);
const parry_conn_input_t *parry_connector_input(const parry_connector_t *c, size_t i);
/* The declared input named by the first component of a dotted path
 * ("headers.Authorization" -> headers); NULL if undeclared. */
const parry_conn_input_t *parry_connector_input_find(const parry_connector_t *c,
                                                     const char *path);

/* Escaping for the template rendered at `input_path`, a dotted path into the
 * step's `with` tree; array elements are numbered ("argv.0") or bracketed
 * ("argv[0]"). Examples for `http`: "url" -> URL, "headers.X-Y" -> HEADER,
 * "body" (a string of JSON text) -> JSON, "body.ip" (a leaf of an object
 * body) -> NONE. Undeclared inputs -> NONE (check_inputs rejects them). */
parry_conn_escape_t parry_connector_escape_for(const parry_connector_t *c,
                                               const char *input_path);

/* Load-time validation of a step: `keys` are the top-level keys of its `with`
 * map. Fails (PARRY_ERR_INVALID, errstr names the key) on an undeclared key
 * or a missing required one. */
parry_err_t parry_connector_check_inputs(const parry_connector_t *c,
                                         const char *const *keys, size_t nkeys,
                                         char *errstr, size_t errstr_size);

/* ---- Configuration (the connectors YAML plus engine limits) ------------- */

typedef struct parry_conn_config parry_conn_config_t;

/* Engine-wide limits; every target may override the first five. */
typedef struct {
  int64_t timeout_ns;          /* per call when the step gives none */
  uint32_t max_concurrency;    /* calls in flight per target; more wait in a queue */
  uint32_t breaker_failures;   /* consecutive failures that open a target's breaker */
  int64_t breaker_cooldown_ns; /* open -> half-open (one trial call) after this */
  size_t max_response_bytes;   /* HTTP response body kept; larger fails the call */
  size_t exec_max_output;      /* captured stdout and stderr of exec, each */
  size_t max_queued;           /* calls waiting across all targets; beyond, RETRYABLE */
} parry_conn_limits_t;
void parry_conn_limits_default(parry_conn_limits_t *l);

/* Parse the connectors YAML (path NULL or "" gives an empty configuration:
 * only `http`, `exec` and the local connectors are usable). Secrets named by
 * `*_env` / `*_file` are resolved here, so a missing one is a start-up error.
 * `limits` may be NULL (defaults); the YAML's `defaults:` map overrides it. */
parry_conn_config_t *parry_conn_config_load(const char *path, const parry_conn_limits_t *limits,
                                            char *errstr, size_t errstr_size);
/* The same from text (tests); `name` is used in error messages. */
parry_conn_config_t *parry_conn_config_parse(const char *yaml, size_t len, const char *name,
                                             const parry_conn_limits_t *limits,
                                             char *errstr, size_t errstr_size);
/* Limits from the executor.connector.* settings, then the file named by
 * executor.connectors. */
parry_conn_config_t *parry_conn_config_from_settings(const parry_config_t *settings,
                                                     char *errstr, size_t errstr_size);
void parry_conn_config_destroy(parry_conn_config_t *cfg); /* accepts NULL */

/* Every secret value the configuration resolved, for masking where else the
 * values may turn up (the case store: parry_store_add_secret): passwords and
 * tokens, every value read through `*_env` / `*_file`, target `url`s and
 * their paths, and the `Authorization: Basic` credentials as sent (base64 of
 * user:password), longest first. Index 0..count-1; valid while cfg lives. */
size_t parry_conn_config_secret_count(const parry_conn_config_t *cfg);
const char *parry_conn_config_secret(const parry_conn_config_t *cfg, size_t i);

/* ---- Engine -------------------------------------------------------------- */

typedef struct parry_conn_engine parry_conn_engine_t;

typedef enum {
  PARRY_CONN_OK = 0,
  PARRY_CONN_FAILED,    /* permanent: retrying the same call cannot help (4xx,
                           bad inputs, exec exit status != 0 when checked) */
  PARRY_CONN_RETRYABLE, /* transient: 5xx, 429, timeout, connection refused,
                           circuit open, queue full */
} parry_conn_status_t;
const char *parry_conn_status_str(parry_conn_status_t s); /* "ok", "failed", "retryable" */

typedef struct {
  parry_conn_status_t status;
  const char *error;           /* NULL when OK; secrets masked */
  struct json_object *outputs; /* an object, never NULL; secrets masked; owned by the
                                  engine: take a reference (json_object_get) to keep it */
  long http_status;            /* last HTTP (or SMTP) response code, 0 if none */
  int64_t duration_ns;         /* from start (including queueing) to done */
} parry_conn_result_t;

/* Fired once per started call from parry_conn_engine_poll (never from inside
 * parry_conn_start). `res` is valid during the call only. The callback may
 * start new calls; it must not destroy the engine. */
typedef void (*parry_conn_done_cb)(void *opaque, const parry_conn_result_t *res);

/* cfg: ownership passes to the engine, on success and on failure. metrics may
 * be NULL; else it must outlive the engine. */
parry_conn_engine_t *parry_conn_engine_new(parry_conn_config_t *cfg, parry_metrics_t *metrics,
                                           char *errstr, size_t errstr_size);
/* Calls still in flight are abandoned without their callbacks (children are
 * killed and reaped). Accepts NULL. */
void parry_conn_engine_destroy(parry_conn_engine_t *e);

/* Start one call. inputs: the step's rendered `with` object (borrowed; the
 * engine copies what it needs). idempotency_key: sent in the target's
 * idempotency header (default `Idempotency-Key`) on every HTTP attempt; NULL
 * for none. timeout_ns <= 0: the target's, else the engine's default.
 * Returns PARRY_OK and then done_cb fires exactly once, later, from poll (bad
 * inputs included: they end FAILED). Returns an error and never fires done_cb
 * only for misuse: NULL arguments or an internal connector. */
parry_err_t parry_conn_start(parry_conn_engine_t *e, const parry_connector_t *c,
                             const struct json_object *inputs, const char *idempotency_key,
                             int64_t timeout_ns, parry_conn_done_cb done_cb, void *opaque);

/* Make progress: wait up to timeout_ms (0: do not wait) for network or child
 * activity, then run transfers, reap children, expire timeouts and fire done
 * callbacks. Returns how many callbacks fired. */
int parry_conn_engine_poll(parry_conn_engine_t *e, int timeout_ms);
/* Interrupt a poll that is waiting; safe from any thread. */
void parry_conn_engine_wakeup(parry_conn_engine_t *e);
/* Calls started whose callback has not fired yet (queued ones included). */
size_t parry_conn_in_flight(const parry_conn_engine_t *e);

/* Circuit breaker state of a target (tests, metrics): "closed", "open",
 * "half-open", or NULL for a target the engine has not seen. */
const char *parry_conn_breaker_state(const parry_conn_engine_t *e, const char *target);

#endif
