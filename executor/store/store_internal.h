/* Shared by the store's source files; not part of the interface. */
#ifndef PARRY_STORE_INTERNAL_H
#define PARRY_STORE_INTERNAL_H

#include <json-c/json.h>

#include "parry/buf.h"
#include "store/store.h"

struct parry_store {
  PGconn *conn;
  char *dsn;
  char *schema;               /* NULL: the server's search_path */
  bool prepared;              /* the hot statements exist in this session */
  parry_pg_kind_t last_kind;  /* of the last failure; PARRY_PG_OK after success */
  char **secrets;             /* values masked in stored text */
  size_t n_secrets;
};

/* Reconnect when the connection is gone (search_path and prepared
 * statements again). PARRY_OK when the connection is usable. */
parry_err_t store_ensure(parry_store_t *s, char *errstr, size_t errstr_size);

/* Fail with the server's message for res (or libpq's), recording its kind. */
parry_err_t store_fail_res(parry_store_t *s, const PGresult *res, const char *doing,
                           char *errstr, size_t errstr_size);

/* Record success. */
static inline void store_ok(parry_store_t *s) { s->last_kind = PARRY_PG_OK; }

/* Run a parameterized statement; NULL result on failure (errstr filled,
 * the result cleared). expect: PGRES_TUPLES_OK or PGRES_COMMAND_OK. */
PGresult *store_exec(parry_store_t *s, const char *sql, int n, const char *const *params,
                     ExecStatusType expect, const char *doing, char *errstr,
                     size_t errstr_size);
PGresult *store_exec_prepared(parry_store_t *s, const char *name, int n,
                              const char *const *params, ExecStatusType expect,
                              const char *doing, char *errstr, size_t errstr_size);

/* Pipelines: enter (nonblocking, so that a long pipeline never deadlocks on
 * full socket buffers), flush everything queued, leave. */
parry_err_t store_pipeline_begin(parry_store_t *s, char *errstr, size_t errstr_size);
parry_err_t store_pipeline_flush(parry_store_t *s, char *errstr, size_t errstr_size);
void store_pipeline_end(parry_store_t *s);
/* Read one statement's result in a pipeline (consumes the NULL after it). */
PGresult *store_pipeline_result(parry_store_t *s);
/* Consume up to and including the next PGRES_PIPELINE_SYNC. */
void store_pipeline_drain_sync(parry_store_t *s);

/* A copy of s where invalid UTF-8 became U+FFFD, or NULL when s is valid
 * (use s itself then). PostgreSQL refuses invalid UTF-8 in any text. */
char *store_utf8_clean(const char *s);

/* Compact JSON of v (never NULL: "null"); valid until v changes. */
const char *store_json_text(struct json_object *v);

/* Append s (valid UTF-8) as a JSON string literal. */
void store_json_string(parry_buf_t *b, const char *s);

/* Parse text from the server into a json-c tree (NULL for NULL/invalid). */
struct json_object *store_json_parse(const char *text);

/* int64 from a decimal column; 0 for NULL. */
int64_t store_get_i64(const PGresult *res, int row, int col);
/* strdup of a column, NULL for SQL NULL. */
char *store_get_str(const PGresult *res, int row, int col);

#endif
