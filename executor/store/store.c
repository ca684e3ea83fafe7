/* The case store: connection, statements, migrations, and alert ingest.
 * Runs and steps: store_runs.c; cases and history: store_cases.c; masking:
 * store_mask.c. */
#include "store_internal.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/buf.h"
#include "parry/log.h"
#include "parry/mem.h"

/* Transactions that meet a deadlock or serialization failure are run again
 * this many times in all before the caller hears of it. */
#define STORE_TX_ATTEMPTS 5

/* Entities indexed per alert at most (group_by and events together). */
#define STORE_MAX_ENTITIES 64

/* Longest grouping window honoured (ten years, in microseconds): a larger
 * one would only overflow the window end and fail every ingest of the
 * runbook. */
#define STORE_MAX_WINDOW_US (10LL * 366 * 24 * 3600 * 1000000)

/* ------------------------------------------------------------------------ */
/* Statements prepared on every connection (the hot paths). */

typedef struct {
  const char *name;
  const char *sql;
} statement_t;

static const statement_t statements[] = {
    {"ingest",
     "SELECT outcome, case_id, run_id FROM parry_ingest_alert($1::text, $2::text, "
     "$3::text, $4::text, $5::jsonb, parry_from_us($6::bigint), parry_from_us($7::bigint), "
     "parry_from_us($8::bigint), $9::jsonb, $10::jsonb, $11::jsonb)"},
    {"ingest_batch",
     "SELECT idx, outcome, case_id, run_id FROM parry_ingest_alerts($1::jsonb, $2::jsonb)"},
    {"ingest_leased",
     "SELECT idx, outcome, case_id, run_id, runbook, runbook_version, alert_id, claims, "
     "lease_until_us, case_json FROM parry_ingest_alerts_leased($1::jsonb, $2::jsonb, "
     "$3::text, $4::bigint, $5::integer)"},
    {"steps", "SELECT a FROM unnest(parry_step_events($1::text, $2::jsonb)) a"},
    {"step",
     "SELECT parry_step_event($1::bigint, $2::text, $3::text, $4::text, $5::text, "
     "$6::integer, $7::jsonb, $8::jsonb, $9::text, $10::boolean, "
     "parry_from_us($11::bigint))"},
    /* A claim moves next_attempt_at to the end of the lease: runs held by a
     * live lease are then simply "not due", and the runnable ones are one
     * range of the partial index runs_runnable. A claimed run whose previous
     * lease was never released (its executor died) gets a run_resumed row. */
    {"claim",
     "WITH c AS (SELECT id, lease_owner AS prev_owner FROM runs "
     "  WHERE state IN ('pending', 'running', 'waiting') AND next_attempt_at <= now() "
     "  ORDER BY next_attempt_at LIMIT $2::bigint FOR UPDATE SKIP LOCKED), "
     "u AS (UPDATE runs r SET lease_owner = $1::text, "
     "  lease_until = now() + $3::bigint * interval '1 microsecond', "
     "  next_attempt_at = now() + $3::bigint * interval '1 microsecond', "
     "  state = 'running', claims = r.claims + 1, updated = now() "
     "  FROM c WHERE r.id = c.id RETURNING r.id, r.case_id, r.claims, c.prev_owner), "
     "t AS (INSERT INTO case_timeline (case_id, kind, run_id, actor, data) "
     "  SELECT u.case_id, 'run_resumed', u.id, $1::text, "
     "  jsonb_build_object('previous_owner', u.prev_owner, 'claims', u.claims) "
     "  FROM u WHERE u.prev_owner IS NOT NULL RETURNING 1) "
     "SELECT u.id FROM u ORDER BY u.id"},
    {"renew",
     "UPDATE runs SET lease_until = now() + $2::bigint * interval '1 microsecond', "
     "next_attempt_at = now() + $2::bigint * interval '1 microsecond', updated = now() "
     "WHERE lease_owner = $1::text AND state IN ('pending', 'running', 'waiting')"},
    {"release",
     "UPDATE runs SET state = 'waiting', lease_owner = NULL, lease_until = NULL, "
     "next_attempt_at = coalesce(parry_from_us($3::bigint), now()), updated = now() "
     "WHERE id = $1::bigint AND lease_owner = $2::text "
     "AND state IN ('pending', 'running', 'waiting')"},
    {"finish",
     "WITH u AS (UPDATE runs SET state = $3::text, error = $4::text, lease_owner = NULL, "
     "  lease_until = NULL, finished = now(), updated = now() "
     "  WHERE id = $1::bigint AND lease_owner = $2::text "
     "  AND state IN ('pending', 'running', 'waiting') RETURNING id, case_id) "
     "INSERT INTO case_timeline (case_id, kind, run_id, actor, data) "
     "SELECT u.case_id, CASE WHEN $3::text = 'succeeded' THEN 'run_succeeded' "
     "  ELSE 'run_failed' END, u.id, $2::text, jsonb_build_object('error', $4::text) "
     "FROM u RETURNING run_id"},
    {"finish_many",
     "WITH f AS (SELECT (e->>'run')::bigint AS id, e->>'state' AS state, e->>'error' AS error "
     "  FROM jsonb_array_elements($2::jsonb) e), "
     "u AS (UPDATE runs r SET state = f.state, error = f.error, lease_owner = NULL, "
     "  lease_until = NULL, finished = now(), updated = now() FROM f "
     "  WHERE r.id = f.id AND r.lease_owner = $1::text "
     "  AND r.state IN ('pending', 'running', 'waiting') RETURNING r.id, r.case_id, "
     "  f.state, f.error) "
     "INSERT INTO case_timeline (case_id, kind, run_id, actor, data) "
     "SELECT u.case_id, CASE WHEN u.state = 'succeeded' THEN 'run_succeeded' "
     "  ELSE 'run_failed' END, u.id, $1::text, jsonb_build_object('error', u.error) "
     "FROM u RETURNING run_id"},
    {"load_runs",
     "SELECT r.id, r.case_id, r.runbook, r.runbook_version, r.alert_id, r.state, "
     "r.claims, parry_us(r.lease_until), a.alert::text, parry_case_json(c)::text "
     "FROM runs r JOIN alerts a ON a.id = r.alert_id JOIN cases c ON c.id = r.case_id "
     "WHERE r.id = ANY($1::bigint[]) ORDER BY r.id"},
    {"load_steps",
     "SELECT s.run_id, s.step_id, s.attempt, s.state, s.idempotency_key, s.inputs::text, "
     "s.outputs::text, s.error, parry_us(s.next_attempt_at), parry_us(s.started), "
     "parry_us(s.finished) FROM step_runs s WHERE s.run_id = ANY($1::bigint[]) "
     "ORDER BY s.run_id, s.started, s.step_id, s.attempt"},
};

/* ------------------------------------------------------------------------ */
/* Errors and results */

parry_err_t store_fail_res(parry_store_t *s, const PGresult *res, const char *doing,
                           char *errstr, size_t errstr_size) {
  s->last_kind = parry_pg_result_kind(s->conn, res);
  if (s->last_kind == PARRY_PG_OK) s->last_kind = PARRY_PG_PERMANENT;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  if (primary && sqlstate)
    return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not %s: %s (SQLSTATE %s)",
                      doing, primary, sqlstate);
  /* libpq's own message (no server error): one line. */
  char msg[512];
  const char *text = PQerrorMessage(s->conn);
  size_t n = 0;
  for (; *text && n + 1 < sizeof msg; text++) {
    bool space = *text == '\n' || *text == '\r' || *text == '\t' || *text == ' ';
    if (space && (n == 0 || msg[n - 1] == ' ')) continue; /* runs of white space: one */
    msg[n++] = space ? ' ' : *text;
  }
  while (n > 0 && msg[n - 1] == ' ') n--;
  msg[n] = '\0';
  if (res && PQresultStatus(res) == PGRES_PIPELINE_ABORTED && !n)
    snprintf(msg, sizeof msg, "an earlier statement of the pipeline failed");
  return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not %s: %s", doing,
                    n || msg[0] ? msg : "unknown error");
}

/* res when its status is the expected one (the connection is then known
 * good), else NULL with errstr (res cleared). */
static PGresult *store_checked(parry_store_t *s, PGresult *res, ExecStatusType expect,
                               const char *doing, char *errstr, size_t errstr_size) {
  if (PQresultStatus(res) != expect) {
    store_fail_res(s, res, doing, errstr, errstr_size);
    PQclear(res);
    return NULL;
  }
  store_ok(s);
  return res;
}

PGresult *store_exec(parry_store_t *s, const char *sql, int n, const char *const *params,
                     ExecStatusType expect, const char *doing, char *errstr,
                     size_t errstr_size) {
  if (store_ensure(s, errstr, errstr_size)) return NULL;
  PGresult *res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
  return store_checked(s, res, expect, doing, errstr, errstr_size);
}

PGresult *store_exec_prepared(parry_store_t *s, const char *name, int n,
                              const char *const *params, ExecStatusType expect,
                              const char *doing, char *errstr, size_t errstr_size) {
  if (store_ensure(s, errstr, errstr_size)) return NULL;
  PGresult *res = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
  return store_checked(s, res, expect, doing, errstr, errstr_size);
}

int64_t store_get_i64(const PGresult *res, int row, int col) {
  if (PQgetisnull(res, row, col)) return 0;
  return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

char *store_get_str(const PGresult *res, int row, int col) {
  if (PQgetisnull(res, row, col)) return NULL;
  return parry_xstrdup(PQgetvalue(res, row, col));
}

const char *store_json_text(struct json_object *v) {
  return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE);
}

struct json_object *store_json_parse(const char *text) {
  if (!text) return NULL;
  return json_tokener_parse(text);
}

/* Append s as a JSON string (s is valid UTF-8: cleaned before). */
void store_json_string(parry_buf_t *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  parry_buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char esc[2] = {'\\', (char)*p};
      parry_buf_append(b, esc, 2);
    } else if (*p < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
      parry_buf_append(b, esc, 6);
    } else {
      parry_buf_append(b, p, 1);
    }
  }
  parry_buf_append(b, "\"", 1);
}

/* ------------------------------------------------------------------------ */
/* UTF-8 */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p) {
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4
                                                                                        : 0;
  }
  return 0;
}

char *store_utf8_clean(const char *s) {
  if (!s) return NULL;
  const unsigned char *p = (const unsigned char *)s;
  size_t k;
  while (*p && (k = utf8_seq(p)) != 0) p += k;
  if (!*p) return NULL; /* valid: no copy */
  /* Every invalid byte becomes 3 bytes at most. */
  size_t len = strlen(s);
  char *out = parry_xmalloc(len * 3 + 1), *o = out;
  for (p = (const unsigned char *)s; *p;) {
    k = utf8_seq(p);
    if (k) {
      memcpy(o, p, k);
      o += k;
      p += k;
    } else {
      memcpy(o, "\xEF\xBF\xBD", 3);
      o += 3;
      p++;
    }
  }
  *o = '\0';
  return out;
}

/* ------------------------------------------------------------------------ */
/* Pipelines */

parry_err_t store_pipeline_begin(parry_store_t *s, char *errstr, size_t errstr_size) {
  if (store_ensure(s, errstr, errstr_size)) return PARRY_ERR_EXTERNAL;
  if (!PQenterPipelineMode(s->conn) || PQsetnonblocking(s->conn, 1) != 0) {
    s->last_kind = PARRY_PG_CONNECTION;
    return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                      "could not enter pipeline mode: %s", PQerrorMessage(s->conn));
  }
  return PARRY_OK;
}

parry_err_t store_pipeline_flush(parry_store_t *s, char *errstr, size_t errstr_size) {
  int fd = PQsocket(s->conn);
  for (;;) {
    int r = PQflush(s->conn);
    if (r == 0) return PARRY_OK;
    if (r < 0) break;
    /* The server may be blocked writing results we have not read: read
     * them into libpq's buffer while our queries drain. */
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&pfd, 1, -1) < 0 && errno != EINTR) break;
    if ((pfd.revents & POLLIN) && !PQconsumeInput(s->conn)) break;
  }
  s->last_kind = PARRY_PG_CONNECTION;
  return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                    "could not send to PostgreSQL: %s", PQerrorMessage(s->conn));
}

PGresult *store_pipeline_result(parry_store_t *s) {
  PGresult *res = PQgetResult(s->conn);
  if (res && PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
    /* Each statement's results end with a NULL. */
    PGresult *extra;
    while ((extra = PQgetResult(s->conn)) != NULL) PQclear(extra);
  }
  return res;
}

void store_pipeline_drain_sync(parry_store_t *s) {
  for (int nulls = 0; nulls < 1000000;) {
    PGresult *res = PQgetResult(s->conn);
    if (!res) {
      if (PQstatus(s->conn) == CONNECTION_BAD) return;
      nulls++;
      continue;
    }
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    if (st == PGRES_PIPELINE_SYNC) return;
  }
}

void store_pipeline_end(parry_store_t *s) {
  PQsetnonblocking(s->conn, 0);
  if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(s->conn)) {
    /* Results left unread (an error path): drain what is there. */
    PGresult *res;
    for (int i = 0; i < 1000000 && PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF; i++) {
      while ((res = PQgetResult(s->conn)) != NULL) PQclear(res);
      if (PQexitPipelineMode(s->conn)) break;
      if (PQstatus(s->conn) == CONNECTION_BAD) break;
    }
  }
  /* A failed transaction of the pipeline is still open: end it. */
  if (PQtransactionStatus(s->conn) == PQTRANS_INERROR ||
      PQtransactionStatus(s->conn) == PQTRANS_INTRANS)
    PQclear(PQexec(s->conn, "ROLLBACK"));
}

/* ------------------------------------------------------------------------ */
/* Opening */

static parry_err_t session_setup(parry_store_t *s, char *errstr, size_t errstr_size) {
  PGresult *res;
  /* Times are rendered in UTC by parry_ts; this keeps any other output and
   * date arithmetic independent of the server's zone too. */
  PQclear(PQexec(s->conn, "SET TIME ZONE 'UTC'"));
  if (s->schema) {
    char *ident = PQescapeIdentifier(s->conn, s->schema, strlen(s->schema));
    if (!ident)
      return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                        "could not quote the schema name: %s", PQerrorMessage(s->conn));
    const char *params[1] = {ident};
    res = PQexecParams(s->conn, "SELECT set_config('search_path', $1, false)", 1, NULL,
                       params, NULL, NULL, 0);
    PQfreemem(ident);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      parry_err_t err = store_fail_res(s, res, "set the search path", errstr, errstr_size);
      PQclear(res);
      return err;
    }
    PQclear(res);
  }
  return PARRY_OK;
}

/* Prepare the hot statements. They call functions of the migrations, so a
 * store opened before `parry migrate` prepares them at first use. */
static parry_err_t store_prepare(parry_store_t *s, char *errstr, size_t errstr_size) {
  for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
    PGresult *res = PQprepare(s->conn, statements[i].name, statements[i].sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      /* 42P05: prepared already (a second call after a partial failure). */
      if (!(state && strcmp(state, "42P05") == 0)) {
        char doing[96];
        snprintf(doing, sizeof doing, "prepare statement \"%s\" (are the migrations "
                 "applied? `parry migrate`)", statements[i].name);
        parry_err_t err = store_fail_res(s, res, doing, errstr, errstr_size);
        PQclear(res);
        return err;
      }
    }
    PQclear(res);
  }
  s->prepared = true;
  return PARRY_OK;
}

parry_err_t store_ensure(parry_store_t *s, char *errstr, size_t errstr_size) {
  if (PQstatus(s->conn) == CONNECTION_BAD) {
    s->prepared = false; /* they lived in the lost session */
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK) {
      s->last_kind = PARRY_PG_CONNECTION;
      return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                        "could not reconnect to PostgreSQL");
    }
    PARRY_LOG(PARRY_LOG_WARN, "case store: reconnected to PostgreSQL");
    parry_err_t err = session_setup(s, errstr, errstr_size);
    if (err) return err;
  }
  if (!s->prepared) return store_prepare(s, errstr, errstr_size);
  return PARRY_OK;
}

parry_store_t *parry_store_open_schema(const char *dsn, const char *schema, char *errstr,
                                       size_t errstr_size) {
  PGconn *conn = NULL;
  if (parry_pg_connect(dsn, "parry-executor", &conn, errstr, errstr_size) != PARRY_OK)
    return NULL;
  parry_store_t *s = parry_xnew(parry_store_t, 1);
  s->conn = conn;
  s->dsn = parry_xstrdup(dsn);
  s->schema = schema ? parry_xstrdup(schema) : NULL;
  if (session_setup(s, errstr, errstr_size) != PARRY_OK) {
    parry_store_close(s);
    return NULL;
  }
  return s;
}

parry_store_t *parry_store_open(const char *dsn, char *errstr, size_t errstr_size) {
  return parry_store_open_schema(dsn, NULL, errstr, errstr_size);
}

void parry_store_close(parry_store_t *s) {
  if (!s) return;
  PQfinish(s->conn);
  free(s->dsn);
  free(s->schema);
  for (size_t i = 0; i < s->n_secrets; i++) {
    memset(s->secrets[i], 0, strlen(s->secrets[i]));
    free(s->secrets[i]);
  }
  free(s->secrets);
  free(s);
}

parry_pg_kind_t parry_store_error_kind(const parry_store_t *s) { return s->last_kind; }

parry_err_t parry_store_ping(parry_store_t *s, char *errstr, size_t errstr_size) {
  PGresult *res = store_exec(s, "SELECT 1", 0, NULL, PGRES_TUPLES_OK, "reach PostgreSQL",
                             errstr, errstr_size);
  if (!res) return PARRY_ERR_EXTERNAL;
  PQclear(res);
  return PARRY_OK;
}

PGconn *parry_store_conn(parry_store_t *s) { return s->conn; }

void parry_store_add_secret(parry_store_t *s, const char *value) {
  if (!value || strlen(value) < 4) return;
  for (size_t i = 0; i < s->n_secrets; i++)
    if (strcmp(s->secrets[i], value) == 0) return;
  s->secrets = parry_xreallocarray(s->secrets, s->n_secrets + 1, sizeof *s->secrets);
  s->secrets[s->n_secrets++] = parry_xstrdup(value);
}

/* ------------------------------------------------------------------------ */
/* Migrations */

/* The sql/ folder beside this file, computed once. __FILE__ is this file's
 * path as the build gave it (absolute with CMake). */
static char default_dir[4096];
static pthread_once_t default_dir_once = PTHREAD_ONCE_INIT;

static void find_default_dir(void) {
  static const char here[] = __FILE__;
  const char *slash = strrchr(here, '/');
  size_t len = slash ? (size_t)(slash - here) : 0;
  if (len == 0 || len + sizeof "/sql" > sizeof default_dir) {
    snprintf(default_dir, sizeof default_dir, "executor/store/sql");
    return;
  }
  memcpy(default_dir, here, len);
  memcpy(default_dir + len, "/sql", sizeof "/sql");
}

const char *parry_store_migrations_dir(const char *setting) {
  /* Installed copies set executor.db.migrations; a build tree finds its
   * sources. */
  if (setting && *setting) return setting;
  pthread_once(&default_dir_once, find_default_dir);
  return default_dir;
}

parry_err_t parry_store_migrate(parry_store_t *s, const char *dir, char *errstr,
                                size_t errstr_size) {
  if (PQstatus(s->conn) == CONNECTION_BAD) {
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK) {
      s->last_kind = PARRY_PG_CONNECTION;
      return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                        "could not reconnect to PostgreSQL");
    }
    s->prepared = false;
    parry_err_t err = session_setup(s, errstr, errstr_size);
    if (err) return err;
  }
  parry_err_t err = parry_pg_migrate(s->conn, dir ? dir : parry_store_migrations_dir(NULL),
                                     errstr, errstr_size);
  if (err) {
    s->last_kind = PQstatus(s->conn) == CONNECTION_BAD ? PARRY_PG_CONNECTION
                                                       : PARRY_PG_PERMANENT;
    return err;
  }
  err = store_prepare(s, errstr, errstr_size);
  if (!err) store_ok(s);
  return err;
}

/* ------------------------------------------------------------------------ */
/* Ingest */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Which entity a group_by field names, or -1. Keys are compared in lower
 * case: ECS names (source.ip, user.name, host.name) and the common vendor
 * spellings (IpAddress, TargetUserName, src_ip, Computer). */
static int entity_of_key(const char *key) {
  char k[128];
  size_t n = 0;
  for (; key[n] && n + 1 < sizeof k; n++) k[n] = (char)tolower((unsigned char)key[n]);
  k[n] = '\0';
  if (strcmp(k, "ip") == 0 || ends_with(k, ".ip") || ends_with(k, "_ip") ||
      ends_with(k, "ipaddress") || ends_with(k, ".address") || strcmp(k, "address") == 0)
    return PARRY_ENTITY_IP;
  if (strcmp(k, "user") == 0 || ends_with(k, "user.name") || ends_with(k, "username") ||
      ends_with(k, "_user") || ends_with(k, ".user"))
    return PARRY_ENTITY_USER;
  if (strcmp(k, "host") == 0 || ends_with(k, "host.name") || ends_with(k, "hostname") ||
      strcmp(k, "computer") == 0 || strcmp(k, "computername") == 0 ||
      ends_with(k, ".host"))
    return PARRY_ENTITY_HOST;
  return -1;
}

static void add_entity(struct json_object *arr, int kind, const char *value) {
  if (kind < 0 || !value || !*value) return;
  if (json_object_array_length(arr) >= STORE_MAX_ENTITIES) return;
  char *clean = store_utf8_clean(value);
  struct json_object *pair = json_object_new_array();
  json_object_array_add(pair, json_object_new_string(parry_entity_kind_str(kind)));
  json_object_array_add(pair, json_object_new_string(clean ? clean : value));
  json_object_array_add(arr, pair);
  free(clean);
}

static struct json_object *new_clean_string(const char *s) {
  if (!s) return NULL;
  char *clean = store_utf8_clean(s);
  struct json_object *o = json_object_new_string(clean ? clean : s);
  free(clean);
  return o;
}

/* The parameters of one parry_ingest_alert call, owning their text. */
typedef struct {
  char *text[11];
  char us[3][24];
  struct json_object *group_by, *entities, *matches, *lock_keys;
} ingest_params_t;

static void ingest_params_free(ingest_params_t *p) {
  for (size_t i = 0; i < 11; i++) free(p->text[i]);
  json_object_put(p->group_by);
  json_object_put(p->entities);
  json_object_put(p->matches);
  memset(p, 0, sizeof *p);
}

static char *clean_dup(const char *s) {
  char *clean = store_utf8_clean(s ? s : "");
  return clean ? clean : parry_xstrdup(s ? s : "");
}

/* Build the parameters; lock_keys (may be NULL) gets "runbook\x1fgroup_key"
 * of every match, as parry_ingest_alert hashes them. */
static parry_err_t ingest_params(const parry_store_alert_in_t *in, ingest_params_t *p,
                                 struct json_object *lock_keys, char *errstr,
                                 size_t errstr_size) {
  const Parry__V1__Alert *a = in->alert;
  memset(p, 0, sizeof *p);
  if (!a || !a->id || !*a->id)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "alert without an id");
  if (!in->alert_json)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "alert %s without its JSON",
                      a->id);
  if (in->n_matches > PARRY_STORE_MAX_MATCHES)
    return parry_fail(errstr, errstr_size, PARRY_ERR_TOO_LARGE,
                      "alert %s matches %zu runbooks, more than %d", a->id, in->n_matches,
                      PARRY_STORE_MAX_MATCHES);

  p->group_by = json_object_new_object();
  p->entities = json_object_new_array();
  for (size_t i = 0; i < a->n_group_by; i++) {
    const Parry__V1__Label *l = a->group_by[i];
    if (!l || !l->key) continue;
    char *k = store_utf8_clean(l->key);
    json_object_object_add(p->group_by, k ? k : l->key,
                           new_clean_string(l->value ? l->value : ""));
    free(k);
    add_entity(p->entities, entity_of_key(l->key), l->value);
  }
  for (size_t i = 0; i < a->n_events; i++) {
    const Parry__V1__Event *ev = a->events[i];
    if (!ev) continue;
    add_entity(p->entities, PARRY_ENTITY_IP, ev->source_ip);
    add_entity(p->entities, PARRY_ENTITY_IP, ev->destination_ip);
    add_entity(p->entities, PARRY_ENTITY_USER, ev->user_name);
    add_entity(p->entities, PARRY_ENTITY_HOST, ev->host_name);
  }

  p->matches = json_object_new_array();
  for (size_t i = 0; i < in->n_matches; i++) {
    const parry_store_match_t *m = &in->matches[i];
    if (!m->runbook || !*m->runbook) {
      ingest_params_free(p);
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "alert %s: match %zu without a runbook name", a->id, i);
    }
    struct json_object *group = json_object_new_object();
    for (size_t j = 0; j < m->n_group; j++) {
      char *k = store_utf8_clean(m->group[j].key ? m->group[j].key : "");
      json_object_object_add(group, k ? k : (m->group[j].key ? m->group[j].key : ""),
                             new_clean_string(m->group[j].value));
      free(k);
    }
    /* The group key is the compact JSON of the values by field, in the
     * runbook's order: unambiguous (no separator a value could contain)
     * and readable in listings. */
    const char *group_key = store_json_text(group);
    char *runbook = clean_dup(m->runbook);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "runbook", json_object_new_string(runbook));
    json_object_object_add(o, "version",
                           new_clean_string(m->runbook_version ? m->runbook_version : ""));
    json_object_object_add(o, "group_key", json_object_new_string(group_key));
    int64_t window_us = m->window_ns > 0 ? m->window_ns / 1000 + (m->window_ns % 1000 != 0) : 0;
    if (window_us > STORE_MAX_WINDOW_US) window_us = STORE_MAX_WINDOW_US;
    json_object_object_add(o, "window_us", json_object_new_int64(window_us));
    json_object_object_add(o, "severity", new_clean_string(m->severity));
    if (lock_keys && m->window_ns > 0) {
      size_t n = strlen(runbook) + 1 + strlen(group_key) + 1;
      char *key = parry_xmalloc(n);
      snprintf(key, n, "%s\x1f%s", runbook, group_key);
      json_object_array_add(lock_keys, json_object_new_string(key));
      free(key);
    }
    json_object_object_add(o, "group", group);
    json_object_array_add(p->matches, o);
    free(runbook);
  }

  p->text[0] = clean_dup(a->id);
  p->text[1] = clean_dup(a->rule_id);
  p->text[2] = clean_dup(a->rule_title);
  p->text[3] = clean_dup(a->rule_level);
  p->text[4] = parry_xstrdup(store_json_text(p->group_by));
  snprintf(p->us[0], sizeof p->us[0], "%lld", (long long)(a->timestamp_ns / 1000));
  if (a->has_window) {
    snprintf(p->us[1], sizeof p->us[1], "%lld", (long long)(a->window_start_ns / 1000));
    snprintf(p->us[2], sizeof p->us[2], "%lld", (long long)(a->window_end_ns / 1000));
  }
  p->text[8] = parry_xstrdup(in->alert_json);
  p->text[9] = parry_xstrdup(store_json_text(p->entities));
  p->text[10] = parry_xstrdup(store_json_text(p->matches));
  return PARRY_OK;
}

static void ingest_param_values(const ingest_params_t *p, const char *values[11]) {
  for (int i = 0; i < 11; i++) values[i] = p->text[i];
  values[5] = p->us[0];
  values[6] = p->us[1][0] ? p->us[1] : NULL;
  values[7] = p->us[2][0] ? p->us[2] : NULL;
}

/* Read parry_ingest_alert's rows into r. */
static parry_err_t ingest_read(const PGresult *res, const char *alert_id,
                               parry_store_ingest_result_t *r, char *errstr,
                               size_t errstr_size) {
  memset(r, 0, sizeof *r);
  int rows = PQntuples(res);
  if (rows < 1)
    return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                      "could not store alert %s: no result", alert_id);
  const char *first = PQgetvalue(res, 0, 0);
  if (strcmp(first, "duplicate") == 0) {
    r->duplicate = true;
    return PARRY_OK;
  }
  if (strcmp(first, "stored") == 0) return PARRY_OK;
  for (int i = 0; i < rows && i < PARRY_STORE_MAX_MATCHES; i++) {
    const char *outcome = PQgetvalue(res, i, 0);
    parry_store_case_result_t *c = &r->cases[r->n_cases++];
    c->outcome = strcmp(outcome, "opened") == 0 ? PARRY_STORE_OPENED : PARRY_STORE_ATTACHED;
    c->case_id = store_get_i64(res, i, 1);
    c->run_id = store_get_i64(res, i, 2);
  }
  return PARRY_OK;
}

parry_err_t parry_store_ingest_alert(parry_store_t *s, const parry_store_alert_in_t *in,
                                     parry_store_ingest_result_t *result, char *errstr,
                                     size_t errstr_size) {
  ingest_params_t p;
  parry_err_t err = ingest_params(in, &p, NULL, errstr, errstr_size);
  if (err) return err;
  const char *values[11];
  ingest_param_values(&p, values);
  for (int attempt = 1;; attempt++) {
    /* One statement: its own transaction, one round trip. */
    PGresult *res = store_exec_prepared(s, "ingest", 11, values, PGRES_TUPLES_OK,
                                        "store an alert", errstr, errstr_size);
    if (res) {
      err = ingest_read(res, in->alert->id, result, errstr, errstr_size);
      PQclear(res);
      break;
    }
    err = PARRY_ERR_EXTERNAL;
    if (s->last_kind != PARRY_PG_RETRY || attempt >= STORE_TX_ATTEMPTS) break;
  }
  ingest_params_free(&p);
  return err;
}

/* The batch as parry_ingest_alerts' JSON array. Every text in p is valid
 * UTF-8 (cleaned), and the JSON members are json-c's output or the
 * caller's canonical alert JSON. */
static char *batch_json(const ingest_params_t *p, size_t n) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  static const char *const names[4] = {"id", "rule_id", "rule_title", "rule_level"};
  parry_buf_append(&b, "[", 1);
  for (size_t i = 0; i < n; i++) {
    parry_buf_append(&b, i ? ",{" : "{", i ? 2 : 1);
    for (int k = 0; k < 4; k++) {
      parry_buf_printf(&b, "%s\"%s\":", k ? "," : "", names[k]);
      store_json_string(&b, p[i].text[k]);
    }
    parry_buf_printf(&b, ",\"group_by\":%s,\"at_us\":%s", p[i].text[4], p[i].us[0]);
    if (p[i].us[1][0])
      parry_buf_printf(&b, ",\"window_start_us\":%s,\"window_end_us\":%s", p[i].us[1],
                       p[i].us[2]);
    parry_buf_printf(&b, ",\"alert\":%s,\"entities\":%s,\"matches\":%s}", p[i].text[8],
                     p[i].text[9], p[i].text[10]);
  }
  parry_buf_append(&b, "]", 1);
  return parry_buf_steal(&b);
}

/* Rows (idx, outcome, case_id, run_id) of parry_ingest_alerts into results. */
static parry_err_t batch_read(const PGresult *res, const parry_store_alert_in_t *in, size_t n,
                              parry_store_ingest_result_t *results, char *errstr,
                              size_t errstr_size) {
  for (size_t i = 0; i < n; i++) memset(&results[i], 0, sizeof results[i]);
  bool *seen = parry_xnew(bool, n);
  int rows = PQntuples(res);
  parry_err_t err = PARRY_OK;
  for (int r = 0; r < rows && !err; r++) {
    long long idx = store_get_i64(res, r, 0);
    if (idx < 1 || (size_t)idx > n) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                       "could not store a batch of alerts: answer for alert %lld of %zu", idx,
                       n);
      break;
    }
    parry_store_ingest_result_t *out = &results[idx - 1];
    seen[idx - 1] = true;
    const char *outcome = PQgetvalue(res, r, 1);
    if (strcmp(outcome, "duplicate") == 0) {
      out->duplicate = true;
    } else if (strcmp(outcome, "stored") != 0 && out->n_cases < PARRY_STORE_MAX_MATCHES) {
      parry_store_case_result_t *c = &out->cases[out->n_cases++];
      c->outcome = strcmp(outcome, "opened") == 0 ? PARRY_STORE_OPENED : PARRY_STORE_ATTACHED;
      c->case_id = store_get_i64(res, r, 2);
      c->run_id = store_get_i64(res, r, 3);
    }
  }
  for (size_t i = 0; i < n && !err; i++)
    if (!seen[i])
      err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                       "could not store alert %s: no answer in its batch", in[i].alert->id);
  free(seen);
  return err;
}

/* What parry_store_ingest_batch_leased asks for besides the batch. */
typedef struct {
  const char *owner;
  int64_t lease_ns;
  size_t max;
  parry_run_t **runs; /* out */
  size_t n_runs;
} lease_req_t;

/* The runs parry_ingest_alerts_leased leased (rows with a runbook), as a
 * claim loads them: no step rows yet, the alert from the caller's JSON. */
static void leased_read(const PGresult *res, const parry_store_alert_in_t *in, size_t n,
                        lease_req_t *lease) {
  int rows = PQntuples(res);
  lease->runs = parry_xnew(parry_run_t *, rows > 0 ? (size_t)rows : 1);
  lease->n_runs = 0;
  for (int r = 0; r < rows; r++) {
    long long idx = store_get_i64(res, r, 0);
    if (PQgetisnull(res, r, 4) || idx < 1 || (size_t)idx > n) continue;
    parry_run_t *run = parry_xnew(parry_run_t, 1);
    run->id = store_get_i64(res, r, 3);
    run->case_id = store_get_i64(res, r, 2);
    run->runbook = store_get_str(res, r, 4);
    run->runbook_version = store_get_str(res, r, 5);
    run->alert_id = store_get_str(res, r, 6);
    run->state = PARRY_RUN_RUNNING;
    run->claims = (int)store_get_i64(res, r, 7);
    run->lease_until_ns = store_get_i64(res, r, 8) * 1000;
    run->alert = store_json_parse(in[idx - 1].alert_json);
    run->case_obj = store_json_parse(PQgetisnull(res, r, 9) ? NULL : PQgetvalue(res, r, 9));
    lease->runs[lease->n_runs++] = run;
  }
}

static parry_err_t ingest_batch(parry_store_t *s, const parry_store_alert_in_t *in, size_t n,
                                parry_store_ingest_result_t *results, lease_req_t *lease,
                                char *errstr, size_t errstr_size) {
  ingest_params_t *p = parry_xnew(ingest_params_t, n);
  struct json_object *lock_keys = json_object_new_array();
  parry_err_t err = PARRY_OK;
  size_t built = 0;
  for (; built < n; built++) {
    err = ingest_params(&in[built], &p[built], lock_keys, errstr, errstr_size);
    if (err) goto out;
  }
  char *keys = parry_xstrdup(store_json_text(lock_keys));
  char *alerts = batch_json(p, n);
  char lease_us[24], max[24];
  snprintf(lease_us, sizeof lease_us, "%lld",
           (long long)(lease && lease->lease_ns > 0 ? lease->lease_ns / 1000 : 1));
  snprintf(max, sizeof max, "%zu", lease ? (lease->max > 1000000 ? 1000000 : lease->max) : 0);
  const char *values[5] = {alerts, keys, lease ? lease->owner : NULL, lease_us, max};
  /* One statement: its own transaction, one round trip for the batch. */
  for (int attempt = 1;; attempt++) {
    char doing[64];
    snprintf(doing, sizeof doing, "store a batch of %zu alerts", n);
    PGresult *res = store_exec_prepared(s, lease ? "ingest_leased" : "ingest_batch",
                                        lease ? 5 : 2, values, PGRES_TUPLES_OK, doing, errstr,
                                        errstr_size);
    if (res) {
      err = batch_read(res, in, n, results, errstr, errstr_size);
      if (!err && lease) leased_read(res, in, n, lease);
      PQclear(res);
      break;
    }
    err = PARRY_ERR_EXTERNAL;
    if (s->last_kind != PARRY_PG_RETRY || attempt >= STORE_TX_ATTEMPTS) break;
    PARRY_LOG(PARRY_LOG_INFO, "case store: batch of %zu alerts retried: %s", n, errstr);
  }
  free(alerts);
  free(keys);
out:
  for (size_t i = 0; i < built; i++) ingest_params_free(&p[i]);
  free(p);
  json_object_put(lock_keys);
  return err;
}

parry_err_t parry_store_ingest_batch(parry_store_t *s, const parry_store_alert_in_t *in,
                                     size_t n, parry_store_ingest_result_t *results,
                                     char *errstr, size_t errstr_size) {
  if (n == 0) return PARRY_OK;
  if (n == 1) return parry_store_ingest_alert(s, in, results, errstr, errstr_size);
  return ingest_batch(s, in, n, results, NULL, errstr, errstr_size);
}

parry_err_t parry_store_ingest_batch_leased(parry_store_t *s, const parry_store_alert_in_t *in,
                                            size_t n, parry_store_ingest_result_t *results,
                                            const char *owner, int64_t lease_ns,
                                            size_t max_lease, parry_run_t ***leased,
                                            size_t *n_leased, char *errstr,
                                            size_t errstr_size) {
  *leased = NULL;
  *n_leased = 0;
  if (n == 0) return PARRY_OK;
  if (!owner || !*owner)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "lease without an owner");
  lease_req_t lease = {owner, lease_ns, max_lease, NULL, 0};
  parry_err_t err = ingest_batch(s, in, n, results, &lease, errstr, errstr_size);
  if (err) {
    parry_runs_free(lease.runs, lease.n_runs);
    return err;
  }
  *leased = lease.runs;
  *n_leased = lease.n_runs;
  return PARRY_OK;
}
