#include "parry/pg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parry/log.h"
#include "parry/mem.h"

/* The key of the advisory lock that serializes migrations: "parry" in ASCII.
 * Advisory locks are per database, so replicas migrating one database wait
 * for each other and nothing else does. */
#define MIGRATION_LOCK_KEY "482671227513"

/* A migration is code we ship; anything this large is a mistake. */
#define MIGRATION_MAX_BYTES (16u * 1024 * 1024)

/* ------------------------------------------------------------------------ */
/* Messages */

/* Copy a libpq message into dst as one line for errstr or a log: each run of
 * white space (libpq's messages span lines) becomes one space, trailing white
 * space goes, and every occurrence of secret (if non-empty) becomes "****". */
static void copy_message(char *dst, size_t dst_size, const char *src,
                         const char *secret) {
  size_t secret_len = secret ? strlen(secret) : 0;
  size_t n = 0;
  if (dst_size == 0) return;
  while (*src && n + 1 < dst_size) {
    if (secret_len && strncmp(src, secret, secret_len) == 0) {
      for (const char *m = "****"; *m && n + 1 < dst_size; m++) dst[n++] = *m;
      src += secret_len;
    } else if (isspace((unsigned char)*src)) {
      while (isspace((unsigned char)*src)) src++;
      if (*src) dst[n++] = ' ';
    } else {
      dst[n++] = *src++;
    }
  }
  dst[n] = '\0';
}

/* The server's message for a failed result, "primary (SQLSTATE xxxxx)", or
 * libpq's own message when the error did not come from the server. */
static void describe_error(const PGconn *conn, const PGresult *res, char *buf,
                           size_t size) {
  const char *primary =
      res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  if (primary && sqlstate) {
    snprintf(buf, size, "%s%s%s (SQLSTATE %s)", primary, detail ? ": " : "",
             detail ? detail : "", sqlstate);
    return;
  }
  const char *text = res ? PQresultErrorMessage(res) : "";
  if (!*text) text = PQerrorMessage(conn);
  copy_message(buf, size, *text ? text : "unknown error", NULL);
}

/* Server notices (e.g. "relation already exists, skipping") would otherwise
 * go to stderr unformatted, between our JSON log lines. */
static void log_notice(void *arg, const PGresult *res) {
  (void)arg;
  const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  parry_log_level_t level = PARRY_LOG_DEBUG;
  if (severity && strcmp(severity, "WARNING") == 0) level = PARRY_LOG_WARN;
  if (!parry_log_enabled(level)) return;
  char lower[16] = "notice";
  if (severity) {
    size_t i = 0;
    for (; severity[i] && i + 1 < sizeof lower; i++)
      lower[i] = (char)tolower((unsigned char)severity[i]);
    lower[i] = '\0';
  }
  parry_log_write(level, "postgresql %s: %s", lower, primary ? primary : "");
}

/* ------------------------------------------------------------------------ */
/* Connecting */

parry_err_t parry_pg_connect(const char *dsn, const char *application_name,
                             PGconn **out, char *errstr, size_t errstr_size) {
  parry_err_t err = PARRY_OK;
  char *parse_error = NULL;
  char *password = NULL;
  PQconninfoOption *options = NULL;
  PGconn *conn = NULL;

  *out = NULL;
  if (!dsn) {
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "no PostgreSQL connection string given");
  }
  /* libpq's parse errors quote pieces of the string, which may be the
   * password, so they are not passed on. */
  options = PQconninfoParse(dsn, &parse_error);
  if (!options) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "could not parse the PostgreSQL connection string (not "
                     "shown, as it may hold a password): check its syntax and "
                     "option names");
    goto out;
  }
  for (const PQconninfoOption *o = options; o->keyword; o++) {
    if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
      password = parry_xstrdup(o->val);
  }

  /* expand_dbname: the DSN is expanded in place of "dbname", and the keywords
   * after it override it, so the client encoding is always UTF-8. */
  const char *const keywords[] = {"dbname", "fallback_application_name",
                                  "client_encoding", NULL};
  const char *const values[] = {
      dsn, application_name ? application_name : "parry", "UTF8", NULL};
  conn = PQconnectdbParams(keywords, values, 1);
  if (!conn) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_NOMEM,
                     "could not allocate a PostgreSQL connection");
    goto out;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    char reason[1024];
    copy_message(reason, sizeof reason, PQerrorMessage(conn), password);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not connect to PostgreSQL: %s", reason);
    goto out;
  }
  PQsetNoticeReceiver(conn, log_notice, NULL);
  *out = conn;
  conn = NULL;

out:
  PQfinish(conn);
  PQconninfoFree(options);
  PQfreemem(parse_error);
  if (password) {
    /* Not a guarantee (copies live in libpq), but no need to leave one more. */
    memset(password, 0, strlen(password));
    free(password);
  }
  return err;
}

/* ------------------------------------------------------------------------ */
/* Classifying errors */

parry_pg_kind_t parry_pg_sqlstate_kind(const char *s) {
  if (!s || strlen(s) != 5) return PARRY_PG_PERMANENT;
  if (strncmp(s, "00", 2) == 0) return PARRY_PG_OK;
  if (strcmp(s, "23505") == 0) return PARRY_PG_UNIQUE_VIOLATION;

  /* The session is over or about to be: connection_exception (class 08),
   * admin_shutdown, crash_shutdown, cannot_connect_now (starting up),
   * idle_in_transaction_session_timeout, idle_session_timeout, and
   * too_many_connections (at connect time). */
  if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 ||
      strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0 ||
      strcmp(s, "25P03") == 0 || strcmp(s, "57P05") == 0 ||
      strcmp(s, "53300") == 0)
    return PARRY_PG_CONNECTION;

  /* Conflicts with other transactions that a second attempt usually does not
   * meet: serialization_failure, deadlock_detected, lock_not_available
   * (NOWAIT, lock_timeout); query_canceled (statement_timeout) and the rest of
   * insufficient_resources (out of memory, disk full) may pass when the
   * server is less busy. Callers retry with backoff and a bound. */
  if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
      strcmp(s, "55P03") == 0 || strcmp(s, "57014") == 0 ||
      strncmp(s, "53", 2) == 0)
    return PARRY_PG_RETRY;

  return PARRY_PG_PERMANENT;
}

parry_pg_kind_t parry_pg_result_kind(const PGconn *conn, const PGresult *res) {
  if (!res) {
    /* libpq returns no result when it could not send the query or ran out of
     * memory; a bad connection is the usual reason. */
    return !conn || PQstatus(conn) == CONNECTION_BAD ? PARRY_PG_CONNECTION
                                                     : PARRY_PG_PERMANENT;
  }
  switch (PQresultStatus(res)) {
  case PGRES_FATAL_ERROR:
  case PGRES_BAD_RESPONSE:
    break;
  case PGRES_PIPELINE_ABORTED:
    /* Not run because an earlier statement of the pipeline failed: that
     * statement's result carries the classification. */
    return PARRY_PG_PERMANENT;
  default:
    return PARRY_PG_OK;
  }
  const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  if (sqlstate) return parry_pg_sqlstate_kind(sqlstate);
  /* Raised by libpq itself (lost connection, protocol error): no SQLSTATE. */
  return conn && PQstatus(conn) == CONNECTION_OK ? PARRY_PG_PERMANENT
                                                 : PARRY_PG_CONNECTION;
}

bool parry_pg_kind_is_retriable(parry_pg_kind_t kind) {
  return kind == PARRY_PG_RETRY || kind == PARRY_PG_CONNECTION;
}

const char *parry_pg_kind_str(parry_pg_kind_t kind) {
  switch (kind) {
  case PARRY_PG_OK: return "ok";
  case PARRY_PG_RETRY: return "retry";
  case PARRY_PG_CONNECTION: return "connection";
  case PARRY_PG_UNIQUE_VIOLATION: return "unique violation";
  case PARRY_PG_PERMANENT: return "permanent";
  }
  return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Migrations */

typedef struct {
  int version;
  char *file; /* file name within the directory, e.g. "0001_create_cases.sql" */
  char *name; /* the part between the underscore and ".sql" */
} migration_t;

typedef struct {
  migration_t *items;
  size_t count;
} migration_list_t;

static void migration_list_free(migration_list_t *list) {
  for (size_t i = 0; i < list->count; i++) {
    free(list->items[i].file);
    free(list->items[i].name);
  }
  free(list->items);
  list->items = NULL;
  list->count = 0;
}

static int migration_cmp(const void *a, const void *b) {
  const migration_t *x = a, *y = b;
  return (x->version > y->version) - (x->version < y->version);
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Parse "NNNN_name.sql". Returns false if the name does not follow it;
 * *version is -1 if the number is over INT_MAX. */
static bool parse_migration_name(const char *file, int *version, char **name) {
  const char *p = file;
  long long v = 0;
  if (!isdigit((unsigned char)*p)) return false;
  for (; isdigit((unsigned char)*p); p++) {
    if (v <= INT_MAX) v = v * 10 + (*p - '0');
  }
  if (*p != '_') return false;
  p++;
  size_t len = strlen(p) - strlen(".sql");
  if (len == 0) return false;
  *version = v > INT_MAX ? -1 : (int)v;
  *name = parry_xstrndup(p, len);
  return true;
}

static parry_err_t list_migrations(const char *dir, migration_list_t *list,
                                   char *errstr, size_t errstr_size) {
  parry_err_t err = PARRY_OK;
  size_t alloc = 0;
  DIR *d = opendir(dir);
  if (!d) {
    return parry_fail(errstr, errstr_size,
                      errno == ENOENT ? PARRY_ERR_NOT_FOUND : PARRY_ERR_IO,
                      "could not open migration directory \"%s\": %s", dir,
                      strerror(errno));
  }
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) {
        err = parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                         "could not read migration directory \"%s\": %s", dir,
                         strerror(errno));
      }
      break;
    }
    /* Hidden files (editor backups) and anything not SQL are not ours. */
    if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".sql")) continue;
    int version = 0;
    char *name = NULL;
    if (!parse_migration_name(de->d_name, &version, &name)) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "migration file name \"%s/%s\" does not match "
                       "NNNN_name.sql",
                       dir, de->d_name);
      break;
    }
    if (version < 0) {
      free(name);
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "migration \"%s/%s\" has a version number over %d",
                       dir, de->d_name, INT_MAX);
      break;
    }
    if (list->count == alloc) {
      alloc = alloc ? alloc * 2 : 16;
      list->items = parry_xreallocarray(list->items, alloc, sizeof *list->items);
    }
    list->items[list->count++] =
        (migration_t){version, parry_xstrdup(de->d_name), name};
  }
  closedir(d);
  if (err != PARRY_OK) return err;

  if (list->count > 0)
    qsort(list->items, list->count, sizeof *list->items, migration_cmp);
  for (size_t i = 1; i < list->count; i++) {
    if (list->items[i].version == list->items[i - 1].version) {
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "migrations \"%s/%s\" and \"%s/%s\" have the same "
                        "version %d",
                        dir, list->items[i - 1].file, dir, list->items[i].file,
                        list->items[i].version);
    }
  }
  return PARRY_OK;
}

/* Read a whole migration file into a NUL-terminated string (caller frees). */
static parry_err_t read_migration(const char *path, char **out, char *errstr,
                                  size_t errstr_size) {
  parry_err_t err = PARRY_OK;
  char *text = NULL;
  struct stat st;
  FILE *f = fopen(path, "rb");

  *out = NULL;
  if (!f) {
    return parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                      "could not open migration \"%s\": %s", path,
                      strerror(errno));
  }
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                     "could not read migration \"%s\": not a regular file",
                     path);
    goto out;
  }
  if ((uintmax_t)st.st_size > MIGRATION_MAX_BYTES) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_TOO_LARGE,
                     "migration \"%s\" is larger than %u bytes", path,
                     MIGRATION_MAX_BYTES);
    goto out;
  }
  size_t size = (size_t)st.st_size;
  text = parry_xmalloc(size + 1);
  size_t got = fread(text, 1, size, f);
  if (got != size || ferror(f)) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                     "could not read migration \"%s\"", path);
    goto out;
  }
  text[size] = '\0';
  /* PQexec takes a C string: a NUL would silently cut the migration short. */
  if (memchr(text, '\0', size)) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "migration \"%s\" contains a NUL byte", path);
    goto out;
  }
  *out = text;
  text = NULL;

out:
  free(text);
  fclose(f);
  return err;
}

/* The line of sql at which the server's error position (PG_DIAG_STATEMENT_
 * POSITION: 1-based, in characters of the UTF-8 text) points; 0 if none. */
static int error_line(const PGresult *res, const char *sql) {
  const char *pos_text = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
  if (!pos_text) return 0;
  long pos = strtol(pos_text, NULL, 10);
  if (pos <= 0) return 0;
  int line = 1;
  long chars = 0;
  for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
    if ((*p & 0xC0) == 0x80) continue; /* UTF-8 continuation byte */
    if (++chars == pos) break;
    if (*p == '\n') line++;
  }
  return line;
}

/* Run a statement with one or two text parameters; the caller clears the
 * result. */
static PGresult *exec_params(PGconn *conn, const char *sql, int n,
                             const char *p1, const char *p2) {
  const char *const params[2] = {p1, p2};
  return PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
}

static bool result_ok(const PGresult *res) {
  ExecStatusType st = PQresultStatus(res);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Run a statement without parameters and data (transaction control). */
static parry_err_t exec_command(PGconn *conn, const char *sql,
                                const char *doing, char *errstr,
                                size_t errstr_size) {
  PGresult *res = PQexec(conn, sql);
  parry_err_t err = PARRY_OK;
  if (!result_ok(res)) {
    char reason[1024];
    describe_error(conn, res, reason, sizeof reason);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not %s: %s",
                     doing, reason);
  }
  PQclear(res);
  return err;
}

/* BEGIN and take the migration lock: from here until COMMIT or ROLLBACK no
 * other migrator in this database runs. */
static parry_err_t begin_locked(PGconn *conn, char *errstr, size_t errstr_size) {
  parry_err_t err = exec_command(conn, "BEGIN", "begin a migration transaction",
                                 errstr, errstr_size);
  if (err != PARRY_OK) return err;
  PGresult *res = exec_params(conn, "SELECT pg_advisory_xact_lock($1::bigint)",
                              1, MIGRATION_LOCK_KEY, NULL);
  if (!result_ok(res)) {
    char reason[1024];
    describe_error(conn, res, reason, sizeof reason);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not take the migration lock: %s", reason);
  }
  PQclear(res);
  return err;
}

static void rollback_if_in_transaction(PGconn *conn) {
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) PQclear(PQexec(conn, "ROLLBACK"));
}

static parry_err_t ensure_migrations_table(PGconn *conn, char *errstr,
                                           size_t errstr_size) {
  /* Checked first so that the usual start (table present) takes no lock and
   * draws no "already exists" notice; created under the lock because two
   * concurrent CREATE TABLE IF NOT EXISTS can still collide. */
  PGresult *res = PQexec(conn, "SELECT to_regclass('parry_schema_migrations')");
  parry_err_t err = PARRY_OK;
  if (!result_ok(res)) {
    char reason[1024];
    describe_error(conn, res, reason, sizeof reason);
    PQclear(res);
    return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                      "could not look for parry_schema_migrations: %s", reason);
  }
  bool exists = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
  PQclear(res);
  if (exists) return PARRY_OK;

  err = begin_locked(conn, errstr, errstr_size);
  if (err == PARRY_OK) {
    err = exec_command(conn,
                       "CREATE TABLE IF NOT EXISTS parry_schema_migrations ("
                       " version integer PRIMARY KEY,"
                       " name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       "create parry_schema_migrations", errstr, errstr_size);
  }
  if (err == PARRY_OK)
    err = exec_command(conn, "COMMIT", "create parry_schema_migrations", errstr,
                       errstr_size);
  rollback_if_in_transaction(conn);
  return err;
}

/* Apply one migration unless another migrator has applied it meanwhile. */
static parry_err_t apply_migration(PGconn *conn, const char *dir,
                                   const migration_t *m, bool *applied,
                                   char *errstr, size_t errstr_size) {
  parry_err_t err = PARRY_OK;
  PGresult *res = NULL;
  char *sql = NULL;
  char path[4096];
  char version[16];
  char reason[1024];

  *applied = false;
  snprintf(path, sizeof path, "%s/%s", dir, m->file);
  snprintf(version, sizeof version, "%d", m->version);
  err = read_migration(path, &sql, errstr, errstr_size);
  if (err != PARRY_OK) goto out;

  err = begin_locked(conn, errstr, errstr_size);
  if (err != PARRY_OK) goto out;
  res = exec_params(conn,
                    "SELECT 1 FROM parry_schema_migrations WHERE version = $1",
                    1, version, NULL);
  if (!result_ok(res)) {
    describe_error(conn, res, reason, sizeof reason);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not read parry_schema_migrations: %s", reason);
    goto out;
  }
  if (PQntuples(res) > 0) {
    err = exec_command(conn, "COMMIT", "release the migration lock", errstr,
                       errstr_size);
    goto out;
  }
  PQclear(res);

  /* The file is executed as one multi-statement PQexec. That is safe only
   * because migrations are source code shipped with Parry, never data: data
   * always goes through PQexecParams. */
  res = PQexec(conn, sql);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
    int line = error_line(res, sql);
    describe_error(conn, res, reason, sizeof reason);
    if (line > 0) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                       "could not apply migration %s:%d: %s", path, line, reason);
    } else {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                       "could not apply migration %s: %s", path, reason);
    }
    goto out;
  }
  if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "could not apply migration %s: it ends the transaction "
                     "(migrations must not contain BEGIN, COMMIT or ROLLBACK)",
                     path);
    goto out;
  }
  PQclear(res);

  res = exec_params(conn,
                    "INSERT INTO parry_schema_migrations (version, name) "
                    "VALUES ($1, $2)",
                    2, version, m->name);
  if (!result_ok(res)) {
    describe_error(conn, res, reason, sizeof reason);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not record migration %s: %s", path, reason);
    goto out;
  }
  /* COMMIT can fail too (deferred constraints): then nothing was applied. */
  PQclear(res);
  res = PQexec(conn, "COMMIT");
  if (!result_ok(res)) {
    describe_error(conn, res, reason, sizeof reason);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not commit migration %s: %s", path, reason);
    goto out;
  }
  *applied = true;

out:
  PQclear(res);
  free(sql);
  rollback_if_in_transaction(conn);
  return err;
}

parry_err_t parry_pg_migrate(PGconn *conn, const char *dir, char *errstr,
                             size_t errstr_size) {
  parry_err_t err = PARRY_OK;
  migration_list_t list = {NULL, 0};
  PGresult *done = NULL;
  int applied_count = 0;
  const char *previous_action = parry_log_action("migrating the database schema");

  if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "cannot migrate: the connection is %s",
                     PQstatus(conn) == CONNECTION_OK ? "inside a transaction"
                                                     : "not open");
    goto out;
  }
  err = list_migrations(dir, &list, errstr, errstr_size);
  if (err != PARRY_OK) goto out;
  err = ensure_migrations_table(conn, errstr, errstr_size);
  if (err != PARRY_OK) goto out;

  /* Versions applied earlier are skipped without a lock; the rest are
   * checked again under the lock, as another replica may be applying them. */
  done = PQexec(conn,
                "SELECT version, name FROM parry_schema_migrations ORDER BY version");
  if (!result_ok(done)) {
    char reason[1024];
    describe_error(conn, done, reason, sizeof reason);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not read parry_schema_migrations: %s", reason);
    goto out;
  }
  int ndone = PQntuples(done), j = 0;
  for (size_t i = 0; i < list.count; i++) {
    const migration_t *m = &list.items[i];
    while (j < ndone && atoi(PQgetvalue(done, j, 0)) < m->version) j++;
    if (j < ndone && atoi(PQgetvalue(done, j, 0)) == m->version) {
      const char *name = PQgetvalue(done, j, 1);
      if (strcmp(name, m->name) != 0) {
        LOG_WARN("migration %d was applied as \"%s\" but its file is now %s/%s",
                 m->version, name, dir, m->file);
      }
      continue;
    }
    bool applied = false;
    err = apply_migration(conn, dir, m, &applied, errstr, errstr_size);
    if (err != PARRY_OK) goto out;
    if (applied) {
      applied_count++;
      LOG_INFO("applied migration %s/%s", dir, m->file);
    }
  }
  if (applied_count == 0) LOG_DEBUG("schema is up to date (%s)", dir);

out:
  PQclear(done);
  migration_list_free(&list);
  parry_log_action(previous_action);
  return err;
}
