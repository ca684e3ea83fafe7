/* Inside the connector engine: the callback table every connector fills, the
 * per-call state, and the helpers connectors share. Not for other modules.
 *
 * A call's life: parry_conn_start copies the inputs and asks the connector's
 * `start` to prepare it. `start` either
 *   - fills call->req (an HTTP or SMTP request on a target) and returns OK:
 *     the engine queues it on the target (concurrency limit, breaker), runs it
 *     through libcurl multi, classifies the response (expected status, 5xx,
 *     timeout) and, when it succeeded, hands it to the connector's `response`
 *     to extract outputs (it may also issue a follow-up request);
 *   - or spawns a child (exec) and sets call->kind = CONN_CALL_EXEC;
 *   - or completes the call at once (conn_call_ok / conn_call_fail: local
 *     lookups such as GeoIP, bad inputs).
 * Completion never fires the callback directly: the call moves to the done
 * list, and parry_conn_engine_poll fires it.
 */
#ifndef PARRY_CONN_INTERNAL_H
#define PARRY_CONN_INTERNAL_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "connectors/connector.h"
#include "parry/buf.h"

typedef struct parry_conn_call conn_call_t;
typedef struct conn_target_cfg conn_target_cfg_t;
typedef struct conn_target conn_target_t;

struct parry_connector {
  const char *name;
  const char *help;
  const parry_conn_input_t *inputs;
  size_t ninputs;
  bool internal;
  /* Prepare or complete the call (see above). Returning an error completes it
   * as FAILED with errstr. */
  parry_err_t (*start)(conn_call_t *call, char *errstr, size_t errstr_size);
  /* The HTTP/SMTP request succeeded (expected status): fill call->outputs,
   * or complete otherwise. NULL: the outputs are status and, for JSON
   * answers, the body's fields named by `outputs`. */
  void (*response)(conn_call_t *call);
};

typedef enum { CONN_AUTH_NONE = 0, CONN_AUTH_BASIC, CONN_AUTH_BEARER, CONN_AUTH_HEADER } conn_auth_type_t;

typedef struct {
  conn_auth_type_t type;
  char *user;     /* basic */
  char *password; /* basic (secret) */
  char *token;    /* bearer, header (secret) */
  char *header;   /* header: name of the header carrying token */
} conn_auth_t;

/* An action (block_ip, ...) described in the configuration. */
typedef struct {
  char *name;
  char *target;
  char *method;
  char *path;               /* template: {{input}} substituted URL-escaped */
  struct json_object *body; /* template tree: "{{input}}" leaves substituted */
  struct json_object *outputs; /* name -> JSON path, may be NULL */
} conn_action_cfg_t;

struct conn_target_cfg {
  char *name;
  char *url;      /* full URL (webhooks, SMS gateway, SMTP server) */
  char *base_url; /* prefix for paths (Jira, ServiceNow, REST APIs) */
  conn_auth_t auth;
  struct json_object *headers; /* extra headers, name -> value */
  char *idempotency_header;    /* default "Idempotency-Key"; "" disables */
  char *ca_file;
  bool insecure;               /* skip TLS verification (loopback tests only) */
  /* limits, 0 = engine default */
  int64_t timeout_ns;
  uint32_t max_concurrency;
  uint32_t breaker_failures;
  int64_t breaker_cooldown_ns;
  /* SMTP */
  char *mail_from;
  int starttls; /* 0 none, 1 try, 2 required */
};

typedef struct {
  char *name;
  char *target;
  char *path;      /* template with {{indicator}} and {{type}} */
  char *score;     /* JSON path of the score in the answer */
  char *verdict;   /* JSON path of the verdict */
  bool not_found_ok; /* 404 means "unknown", not a failure */
} conn_ti_provider_t;

struct parry_conn_config {
  parry_conn_limits_t limits;
  conn_target_cfg_t *targets;
  size_t ntargets;
  conn_action_cfg_t *actions;
  size_t nactions;
  conn_ti_provider_t *providers;
  size_t nproviders;
  char *ti_feed;       /* CSV path */
  char *geoip_db;
  char *geoip_asn_db;
  char **exec_allow;   /* absolute paths allowed as argv[0]; NULL = any absolute */
  size_t nexec_allow;
  char **exec_env;     /* NAME=value always given to children (e.g. PATH) */
  size_t nexec_env;
  char **secrets;      /* every secret value read, for masking */
  size_t nsecrets;
};

typedef enum { CONN_CALL_NEW = 0, CONN_CALL_QUEUED, CONN_CALL_HTTP, CONN_CALL_EXEC, CONN_CALL_DONE } conn_call_state_t;

typedef struct {
  int lo, hi;
} conn_range_t;

/* One HTTP or SMTP request, filled by a connector's start. */
typedef struct {
  bool smtp;
  char *method;
  char *url;
  struct curl_slist *headers;
  parry_buf_t body;
  bool has_body;
  conn_range_t expect[8]; /* empty: 2xx */
  size_t nexpect;
  struct json_object *extract; /* outputs: name -> "$.path" (reference held) */
  char *idem_header;           /* overrides the target's idempotency header */
  /* SMTP */
  char *mail_from;
  struct curl_slist *rcpt;
  size_t read_off;
} conn_req_t;

struct parry_conn_call {
  parry_conn_engine_t *e;
  const parry_connector_t *conn;
  struct json_object *inputs; /* deep copy */
  char *idem_key;
  int64_t timeout_ns;
  int64_t start_ns, deadline_ns;
  parry_conn_done_cb cb;
  void *opaque;
  conn_call_state_t state;
  conn_call_t *next; /* queue or done list */
  conn_call_t *aprev, *anext; /* engine's list of running transfers */
  /* request */
  const conn_target_cfg_t *tcfg; /* NULL: implicit target from the URL */
  conn_target_t *target;
  bool counted;    /* holds one of target's concurrency slots */
  bool trial;      /* the half-open breaker's trial call */
  conn_req_t req;
  CURL *easy;
  parry_buf_t resp;
  char curl_err[CURL_ERROR_SIZE];
  void *priv;                /* connector's follow-up state */
  void (*priv_free)(void *);
  bool resubmit;             /* set by conn_req_again: send call->req again */
  /* exec */
  pid_t pid;
  int pidfd, out_fd, err_fd;
  parry_buf_t out, err;
  bool out_trunc, err_trunc;
  /* result */
  parry_conn_status_t status;
  char *error;
  struct json_object *outputs;
  long http_status;
};

/* Registry entries (one file each). */
extern const parry_connector_t parry_connector_http;
extern const parry_connector_t parry_connector_slack;
extern const parry_connector_t parry_connector_teams;
extern const parry_connector_t parry_connector_jira;
extern const parry_connector_t parry_connector_servicenow;
extern const parry_connector_t parry_connector_sms;
extern const parry_connector_t parry_connector_block_ip;
extern const parry_connector_t parry_connector_quarantine_host;
extern const parry_connector_t parry_connector_disable_account;
extern const parry_connector_t parry_connector_force_password_reset;
extern const parry_connector_t parry_connector_threat_intel;
extern const parry_connector_t parry_connector_geoip;
extern const parry_connector_t parry_connector_email;
extern const parry_connector_t parry_connector_exec;
extern const parry_connector_t parry_connector_case_update;
extern const parry_connector_t parry_connector_history;
extern const parry_connector_t parry_connector_approval;

/* ---- shared by connectors ---- */
const parry_conn_config_t *conn_call_config(const conn_call_t *call);
int64_t conn_now_ns(void);
/* Complete a call. fail: error is formatted, masked, and becomes res.error. */
void conn_call_ok(conn_call_t *call);
void conn_call_fail(conn_call_t *call, parry_conn_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const conn_target_cfg_t *conn_config_target(const parry_conn_config_t *cfg, const char *name);
const conn_action_cfg_t *conn_config_action(const parry_conn_config_t *cfg, const char *name);

/* Inputs. conn_in_str: string (or number/bool as text) or NULL when absent. */
const char *conn_in_str(const conn_call_t *call, const char *name);
struct json_object *conn_in(const conn_call_t *call, const char *name);

/* The configured target named by input `target`, else `default_name`;
 * NULL with errstr when not configured. */
const conn_target_cfg_t *conn_named_target(const conn_call_t *call, const char *default_name,
                                           char *errstr, size_t n);
/* Copy an optional input into obj under `key` (deep copy). */
void conn_copy_input(const conn_call_t *call, const char *name, struct json_object *obj,
                     const char *key);

/* Request building. Set the request on target `tcfg` (may be NULL) with the
 * target's auth, headers and idempotency header applied. */
parry_err_t conn_req_begin(conn_call_t *call, const conn_target_cfg_t *tcfg, const char *method,
                           const char *url, char *errstr, size_t n);
/* Add "Name: value"; refuses CR/LF/NUL and bad names. */
parry_err_t conn_req_header(conn_call_t *call, const char *name, const char *value, char *errstr,
                            size_t n);
/* Body from a json-c tree (serialized) with Content-Type application/json. */
void conn_req_json_body(conn_call_t *call, struct json_object *body);
void conn_req_text_body(conn_call_t *call, const char *body, size_t len, const char *content_type);
/* From a connector's `response`: forget the request just answered so that
 * a follow-up can be built with conn_req_begin (perhaps on another target);
 * the engine sends it when `response` returns, within the same deadline. */
void conn_req_again(conn_call_t *call);

/* base + "/" + path without doubling the slash. */
char *conn_join_url(const char *base, const char *path);
/* conn_req_begin on target t (not NULL) for its base_url (else url) joined
 * with path. */
parry_err_t conn_req_begin_at(conn_call_t *call, const conn_target_cfg_t *t, const char *method,
                              const char *path, char *errstr, size_t n);
/* The same with path_tmpl a template whose {{name}} are replaced by
 * URL-escaped inputs (conn_subst); PARRY_ERR_INVALID when that fails. */
parry_err_t conn_req_begin_subst(conn_call_t *call, const conn_target_cfg_t *t,
                                 const char *method, const char *path_tmpl, char *errstr,
                                 size_t n);
/* Replace {{name}} in tmpl by inputs[name]: URL-component escaped when url,
 * else raw. Unknown names are an error. */
parry_err_t conn_subst(const conn_call_t *call, const char *tmpl, bool url, parry_buf_t *out,
                       char *errstr, size_t n);
/* Deep-copy a body template, replacing string leaves: a leaf that is exactly
 * "{{name}}" becomes the input's JSON value, others are interpolated. */
parry_err_t conn_subst_json(const conn_call_t *call, struct json_object *tmpl,
                            struct json_object **out, char *errstr, size_t n);

/* A JSON string of captured text (program output, a non-JSON answer):
 * invalid UTF-8 and NUL bytes become U+FFFD, so the case store (jsonb) can
 * always keep it. New reference. */
struct json_object *conn_text_value(const char *s, size_t len);

/* JSON path: "$.a.b[0].c" or "a.b.0.c"; NULL when absent. Borrowed. */
struct json_object *conn_json_path(struct json_object *root, const char *path);
/* Parse the response body as JSON; NULL when it is not JSON. New reference. */
struct json_object *conn_response_json(const conn_call_t *call);
/* Copy each `extract` entry found in the response JSON into outputs. */
void conn_extract_outputs(conn_call_t *call, struct json_object *extract);
/* The same for a connector's fixed list {output name, JSON path, ..., NULL}. */
void conn_extract_list(conn_call_t *call, const char *const *pairs);

/* Parse "200", "2xx", "200-299", 201 or a list of those into ranges. */
parry_err_t conn_parse_expect(struct json_object *v, conn_range_t *out, size_t max, size_t *n,
                              char *errstr, size_t errstr_size);

/* Local connectors' shared state in the engine (lazily opened). */
struct MMDB_s;
struct MMDB_s *conn_engine_geoip(parry_conn_engine_t *e, bool asn, char *errstr, size_t n);
typedef struct conn_ti_feed conn_ti_feed_t;
conn_ti_feed_t *conn_engine_ti_feed(parry_conn_engine_t *e);

/* Exec: register a spawned child with the engine. */
void conn_exec_started(conn_call_t *call);

/* Feed (threat_intel.c) */
conn_ti_feed_t *conn_ti_feed_new(const char *path);
void conn_ti_feed_destroy(conn_ti_feed_t *f);
/* Look up an indicator; reloads the file when its mtime/size changed
 * (checked at most once a second). Returns false when absent. */
bool conn_ti_feed_lookup(conn_ti_feed_t *f, const char *indicator, char *type, size_t type_n,
                         double *score, char *source, size_t source_n);

/* Masking: replace every configured secret in s (new string). */
char *conn_mask(const parry_conn_config_t *cfg, const char *s);
void conn_mask_json(const parry_conn_config_t *cfg, struct json_object *obj);

#endif
