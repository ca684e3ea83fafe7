/* PostgreSQL helpers shared by every service: connecting, schema migrations,
 * and classifying errors so that callers know whether to retry.
 *
 * Rules for all SQL in Parry: statements that carry data use PQexecParams (or
 * PQsendQueryParams / prepared statements) with the data as parameters; SQL is
 * never assembled from strings that hold data. Identifiers that cannot be
 * parameters are quoted with PQescapeIdentifier.
 *
 * A PGconn is used by one thread at a time; libpq itself is thread-safe for
 * distinct connections.
 */
#ifndef PARRY_PG_H
#define PARRY_PG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "parry/error.h"

/* Connect with a libpq connection string ("host=... port=... dbname=...") or
 * URI ("postgresql://..."). application_name (NULL: "parry") is what
 * pg_stat_activity shows unless the DSN names one. The client encoding is
 * UTF-8 and server notices go to the Parry log instead of stderr.
 *
 * On success *out is a connection the caller owns (PQfinish); on failure
 * *out is NULL, and errstr holds libpq's reason. The password is never written
 * to errstr or logged: a DSN that does not parse is reported without quoting
 * it, and any occurrence of the password in libpq's message is masked. */
parry_err_t parry_pg_connect(const char *dsn, const char *application_name,
                             PGconn **out, char *errstr, size_t errstr_size);

/* Bring the schema up to date from the migration files in dir.
 *
 * Files are named NNNN_name.sql (digits, an underscore, a name) and applied in
 * numeric order of NNNN (so 10_x.sql comes after 9_y.sql). Other files are
 * ignored, except a *.sql file whose name does not follow the pattern or two
 * files with one number, which are errors (a migration that silently never
 * runs is worse than a failed start).
 *
 * Each migration runs in its own transaction together with the insertion of
 * its row in parry_schema_migrations(version, name, applied_at), created in the
 * current schema (search_path) if missing. Versions already in that table are
 * skipped, so running this at every start is cheap and applies only new files.
 * Every transaction first takes a transaction-scoped advisory lock and
 * re-checks the table under it, so several replicas starting at once apply each
 * migration exactly once; all migrations of a database share that one lock.
 *
 * A migration file is executed as a whole (several statements in one PQexec):
 * it is code shipped with Parry, never data. It must not contain transaction
 * control (BEGIN, COMMIT) nor statements that cannot run in a transaction
 * block (CREATE INDEX CONCURRENTLY).
 *
 * Stops at the first migration that fails: that one is rolled back, earlier
 * ones stay applied, and errstr names the file (with the line where the
 * server points) and the server's message. The connection must not be in a
 * transaction; it is idle again when this returns. */
parry_err_t parry_pg_migrate(PGconn *conn, const char *dir, char *errstr,
                             size_t errstr_size);

/* What a caller should do about a failed statement. */
typedef enum {
  PARRY_PG_OK = 0,           /* not an error */
  PARRY_PG_RETRY,            /* transient conflict: roll back and run the whole
                              * transaction again (serialization failure,
                              * deadlock, lock not available) */
  PARRY_PG_CONNECTION,       /* the connection is gone or the server is going
                              * away: reconnect (PQreset), then retry */
  PARRY_PG_UNIQUE_VIOLATION, /* 23505: the row exists already; often not an
                              * error at all (a redelivered alert) */
  PARRY_PG_PERMANENT,        /* anything else: the same statement fails again */
} parry_pg_kind_t;

/* Classify a five-character SQLSTATE. NULL or "" (an error raised by libpq
 * itself, which has no SQLSTATE) is PARRY_PG_PERMANENT here; use
 * parry_pg_result_kind when a connection is at hand. */
parry_pg_kind_t parry_pg_sqlstate_kind(const char *sqlstate);

/* Classify a result: PARRY_PG_OK for PGRES_COMMAND_OK, TUPLES_OK and the other
 * non-error statuses; otherwise by the result's SQLSTATE. A NULL result or an
 * error without SQLSTATE is PARRY_PG_CONNECTION when the connection is bad
 * (PQstatus), PARRY_PG_PERMANENT otherwise. Never looks at message text. */
parry_pg_kind_t parry_pg_result_kind(const PGconn *conn, const PGresult *res);

/* PARRY_PG_RETRY and PARRY_PG_CONNECTION. */
bool parry_pg_kind_is_retriable(parry_pg_kind_t kind);

/* Short stable name: "ok", "retry", "connection", "unique violation",
 * "permanent". */
const char *parry_pg_kind_str(parry_pg_kind_t kind);

#endif
