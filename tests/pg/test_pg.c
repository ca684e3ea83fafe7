/* lib/pg.c against a real PostgreSQL, named by PARRY_PG_DSN:
 *
 *   scripts/pg.sh start
 *   PARRY_PG_DSN="$(scripts/pg.sh dsn)" build/tests/pg_test_pg
 *
 * Without PARRY_PG_DSN the server tests skip (and fail with
 * PARRY_REQUIRE_SERVICES=1); the SQLSTATE table test always runs.
 *
 * Every test works in a schema of its own, made by the fixture and dropped
 * with everything in it afterwards, so runs sharing a database do not meet.
 */
#include "pg_support.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parry/log.h"
#include "parry/pg.h"

typedef struct {
  const char *dsn;    /* NULL: no server, tests skip */
  PGconn *conn;       /* search_path is the test's schema */
  char schema[128];
  char tmpdir[256];   /* for migration directories a test writes; "" if none */
} fixture_t;

/* ------------------------------------------------------------------------ */
/* Helpers */

static bool relation_exists(PGconn *conn, const char *name) {
  char *oid = parry_test_pg_text(conn, "SELECT to_regclass($1)::oid::text", name);
  bool exists = oid != NULL;
  free(oid);
  return exists;
}

/* "1:name,2:name" for the rows of parry_schema_migrations. */
static char *applied_versions(PGconn *conn) {
  return parry_test_pg_text(conn,
                            "SELECT coalesce(string_agg(version || ':' || name, ',' "
                            "ORDER BY version), '') FROM parry_schema_migrations",
                            NULL);
}

static PGconn *connect_to_schema(const char *dsn, const char *schema) {
  char errstr[512] = "";
  PGconn *conn = NULL;
  parry_err_t err = parry_pg_connect(dsn, "parry-test", &conn, errstr, sizeof errstr);
  if (err != PARRY_OK) fail_msg("%s", errstr);
  /* Identifiers cannot be parameters: quoted by libpq. */
  char *ident = PQescapeIdentifier(conn, schema, strlen(schema));
  assert_non_null(ident);
  const char *params[1] = {ident};
  PGresult *res = PQexecParams(conn, "SELECT set_config('search_path', $1, false)",
                               1, NULL, params, NULL, NULL, 0);
  assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  PQfreemem(ident);
  return conn;
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
  char path[512], text[8192];
  snprintf(path, sizeof path, "%s/%s", from_dir, name);
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("could not open %s", path);
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  write_file(to_dir, name, text);
}

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char path[512];
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static void good_migrations_dir(char *out, size_t size) {
  snprintf(out, size, "%s/tests/pg/migrations", parry_test_source_dir());
}

/* ------------------------------------------------------------------------ */
/* Fixtures */

static int group_setup(void **state) {
  static fixture_t fixture;
  fixture.dsn = parry_test_pg_dsn();
  *state = &fixture;
  return 0;
}

static int setup(void **state) {
  fixture_t *f = *state;
  f->conn = NULL;
  f->tmpdir[0] = '\0';
  if (!f->dsn) return 0;

  parry_test_unique_name("parry_test", f->schema, sizeof f->schema);
  parry_test_pg_schema(f->dsn, "CREATE", f->schema);

  f->conn = connect_to_schema(f->dsn, f->schema);
  snprintf(f->tmpdir, sizeof f->tmpdir, "/tmp/parry-test-pg-XXXXXX");
  if (!mkdtemp(f->tmpdir)) {
    print_error("could not create a temporary directory\n");
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  if (f->conn) {
    /* A test that failed mid-transaction leaves the connection in one. */
    if (PQtransactionStatus(f->conn) != PQTRANS_IDLE) PQclear(PQexec(f->conn, "ROLLBACK"));
    parry_test_pg_schema_sql(f->conn, "DROP", f->schema);
    PQfinish(f->conn);
    f->conn = NULL;
  }
  if (f->tmpdir[0]) remove_dir(f->tmpdir);
  return 0;
}

#define NEED_SERVER(f)                                                         \
  do {                                                                         \
    if (!(f)->conn) skip();                                                    \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Classification (no server needed) */

static void test_sqlstate_kinds(void **state) {
  (void)state;
  assert_int_equal(parry_pg_sqlstate_kind("23505"), PARRY_PG_UNIQUE_VIOLATION);
  assert_int_equal(parry_pg_sqlstate_kind("40001"), PARRY_PG_RETRY);
  assert_int_equal(parry_pg_sqlstate_kind("40P01"), PARRY_PG_RETRY);
  assert_int_equal(parry_pg_sqlstate_kind("55P03"), PARRY_PG_RETRY);
  assert_int_equal(parry_pg_sqlstate_kind("08000"), PARRY_PG_CONNECTION);
  assert_int_equal(parry_pg_sqlstate_kind("08006"), PARRY_PG_CONNECTION);
  assert_int_equal(parry_pg_sqlstate_kind("57P01"), PARRY_PG_CONNECTION);
  assert_int_equal(parry_pg_sqlstate_kind("57P03"), PARRY_PG_CONNECTION);
  assert_int_equal(parry_pg_sqlstate_kind("53300"), PARRY_PG_CONNECTION);
  assert_int_equal(parry_pg_sqlstate_kind("00000"), PARRY_PG_OK);
  /* Other integrity errors are not the benign duplicate. */
  assert_int_equal(parry_pg_sqlstate_kind("23503"), PARRY_PG_PERMANENT);
  assert_int_equal(parry_pg_sqlstate_kind("42601"), PARRY_PG_PERMANENT);
  assert_int_equal(parry_pg_sqlstate_kind("42P01"), PARRY_PG_PERMANENT);
  assert_int_equal(parry_pg_sqlstate_kind(NULL), PARRY_PG_PERMANENT);
  assert_int_equal(parry_pg_sqlstate_kind(""), PARRY_PG_PERMANENT);
  assert_int_equal(parry_pg_sqlstate_kind("4000"), PARRY_PG_PERMANENT);

  assert_true(parry_pg_kind_is_retriable(PARRY_PG_RETRY));
  assert_true(parry_pg_kind_is_retriable(PARRY_PG_CONNECTION));
  assert_false(parry_pg_kind_is_retriable(PARRY_PG_UNIQUE_VIOLATION));
  assert_false(parry_pg_kind_is_retriable(PARRY_PG_PERMANENT));
  assert_string_equal(parry_pg_kind_str(PARRY_PG_UNIQUE_VIOLATION), "unique violation");
  assert_int_equal(parry_pg_result_kind(NULL, NULL), PARRY_PG_CONNECTION);
}

/* ------------------------------------------------------------------------ */
/* Connecting */

static void test_connect(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char *one = parry_test_pg_text(f->conn, "SELECT $1::int + 1", "41");
  assert_string_equal(one, "42");
  free(one);
  assert_string_equal(pg_encoding_to_char(PQclientEncoding(f->conn)), "UTF8");
  char *path = parry_test_pg_text(f->conn, "SELECT current_schema()", NULL);
  assert_string_equal(path, f->schema);
  free(path);
}

#define SECRET "Sekr1t-Pa55w0rd"

static void assert_connect_fails_quietly(const char *dsn, parry_err_t expected) {
  char errstr[1024] = "";
  PGconn *conn = (PGconn *)1;
  parry_err_t err = parry_pg_connect(dsn, NULL, &conn, errstr, sizeof errstr);
  assert_int_equal(err, expected);
  assert_null(conn);
  assert_true(strlen(errstr) > 0);
  if (strstr(errstr, SECRET)) fail_msg("password in errstr: %s", errstr);
  assert_null(strchr(errstr, '\n'));
}

static void test_connect_errors_hide_password(void **state) {
  fixture_t *f = *state;
  /* Unparsable strings: libpq would quote the piece it stumbled on. */
  assert_connect_fails_quietly("host=127.0.0.1 password=" SECRET " 'unterminated",
                               PARRY_ERR_INVALID);
  assert_connect_fails_quietly("password=" SECRET " " SECRET "=1", PARRY_ERR_INVALID);
  assert_connect_fails_quietly("postgresql://u:" SECRET "@[::1/db", PARRY_ERR_INVALID);
  NEED_SERVER(f);
  if (strncmp(f->dsn, "postgres", 8) == 0) {
    print_message("# PARRY_PG_DSN is a URI: cannot append options, part skipped\n");
    return;
  }

  /* The server's own refusal, naming a user that happens to equal the
   * password: the message quotes the user, which must be masked. */
  char dsn[2048];
  snprintf(dsn, sizeof dsn, "%s user=" SECRET " password=" SECRET " connect_timeout=10",
           f->dsn);
  char errstr[1024] = "";
  PGconn *conn = NULL;
  parry_err_t err = parry_pg_connect(dsn, NULL, &conn, errstr, sizeof errstr);
  if (err == PARRY_OK) {
    PQfinish(conn);
    print_message("# the server accepted a wrong password (trust?): part skipped\n");
    return;
  }
  assert_int_equal(err, PARRY_ERR_EXTERNAL);
  print_message("# expected error: %s\n", errstr);
  assert_non_null(strstr(errstr, "could not connect to PostgreSQL"));
  if (strstr(errstr, SECRET)) fail_msg("password in errstr: %s", errstr);
  assert_non_null(strstr(errstr, "****"));
}

/* ------------------------------------------------------------------------ */
/* Migrations */

static void test_migrate_applies_in_order(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char dir[512], errstr[1024] = "";
  good_migrations_dir(dir, sizeof dir);

  parry_err_t err = parry_pg_migrate(f->conn, dir, errstr, sizeof errstr);
  if (err != PARRY_OK) fail_msg("%s", errstr);
  char *versions = applied_versions(f->conn);
  assert_string_equal(versions, "1:create_widgets,2:add_widget_color");
  free(versions);
  assert_int_equal(PQtransactionStatus(f->conn), PQTRANS_IDLE);

  /* Both applied: the column from 0002 is there. */
  parry_test_pg_exec(f->conn, "INSERT INTO widgets (id, label, color) VALUES (1, 'a', 'red')");
  char *applied_at = parry_test_pg_text(
      f->conn, "SELECT count(*) FROM parry_schema_migrations WHERE applied_at <= now()", NULL);
  assert_string_equal(applied_at, "2");
  free(applied_at);
}

static void test_migrate_twice_applies_nothing(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char dir[512], errstr[1024] = "";
  good_migrations_dir(dir, sizeof dir);
  const char *snapshot_sql =
      "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) "
      "FROM parry_schema_migrations";

  assert_int_equal(parry_pg_migrate(f->conn, dir, errstr, sizeof errstr), PARRY_OK);
  char *before = parry_test_pg_text(f->conn, snapshot_sql, NULL);
  /* 0001 has no IF NOT EXISTS: running it again would fail. */
  parry_err_t err = parry_pg_migrate(f->conn, dir, errstr, sizeof errstr);
  if (err != PARRY_OK) fail_msg("second run: %s", errstr);
  char *after = parry_test_pg_text(f->conn, snapshot_sql, NULL);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

static void test_migrate_numeric_order(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  /* By name, 10_ sorts before 2_ and would fail; by number it runs last. */
  write_file(f->tmpdir, "1_first.sql", "CREATE TABLE t (a int);\n");
  write_file(f->tmpdir, "2_second.sql", "ALTER TABLE t ADD COLUMN b int;\n");
  write_file(f->tmpdir, "10_tenth.sql", "ALTER TABLE t RENAME COLUMN b TO c;\n");
  write_file(f->tmpdir, "README.md", "not a migration\n");
  write_file(f->tmpdir, ".9_editor_swap.sql", "this is not SQL\n");

  char errstr[1024] = "";
  parry_err_t err = parry_pg_migrate(f->conn, f->tmpdir, errstr, sizeof errstr);
  if (err != PARRY_OK) fail_msg("%s", errstr);
  char *versions = applied_versions(f->conn);
  assert_string_equal(versions, "1:first,2:second,10:tenth");
  free(versions);
  parry_test_pg_exec(f->conn, "INSERT INTO t (a, c) VALUES (1, 2)");
}

static void test_migrate_broken_names_file(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char good[512], errstr[1024] = "";
  good_migrations_dir(good, sizeof good);
  copy_file(good, f->tmpdir, "0001_create_widgets.sql");
  copy_file(good, f->tmpdir, "0002_add_widget_color.sql");
  write_file(f->tmpdir, "0003_broken.sql",
             "CREATE TABLE gadgets (id int);\n"
             "\n"
             "SELEC 1;\n");
  write_file(f->tmpdir, "0004_after.sql", "CREATE TABLE after_broken (id int);\n");

  parry_err_t err = parry_pg_migrate(f->conn, f->tmpdir, errstr, sizeof errstr);
  assert_int_equal(err, PARRY_ERR_EXTERNAL);
  print_message("# expected error: %s\n", errstr);
  /* File and line, and the server's code. */
  assert_non_null(strstr(errstr, "0003_broken.sql:3"));
  assert_non_null(strstr(errstr, "42601"));
  assert_int_equal(PQtransactionStatus(f->conn), PQTRANS_IDLE);

  /* 0001 and 0002 stay; 0003 is rolled back whole; 0004 never ran. */
  char *versions = applied_versions(f->conn);
  assert_string_equal(versions, "1:create_widgets,2:add_widget_color");
  free(versions);
  assert_true(relation_exists(f->conn, "widgets"));
  assert_false(relation_exists(f->conn, "gadgets"));
  assert_false(relation_exists(f->conn, "after_broken"));

  /* Fixed, the next run picks up where it stopped. */
  write_file(f->tmpdir, "0003_broken.sql", "CREATE TABLE gadgets (id int);\n");
  err = parry_pg_migrate(f->conn, f->tmpdir, errstr, sizeof errstr);
  if (err != PARRY_OK) fail_msg("%s", errstr);
  versions = applied_versions(f->conn);
  assert_string_equal(versions,
                      "1:create_widgets,2:add_widget_color,3:broken,4:after");
  free(versions);
}

static void test_migrate_rejects_bad_directories(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char errstr[1024] = "", dir[512];

  snprintf(dir, sizeof dir, "%s/missing", f->tmpdir);
  assert_int_equal(parry_pg_migrate(f->conn, dir, errstr, sizeof errstr),
                   PARRY_ERR_NOT_FOUND);
  assert_non_null(strstr(errstr, dir));

  /* Two files, one version. */
  write_file(f->tmpdir, "1_one.sql", "SELECT 1;\n");
  write_file(f->tmpdir, "01_also_one.sql", "SELECT 1;\n");
  assert_int_equal(parry_pg_migrate(f->conn, f->tmpdir, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "1_one.sql"));
  assert_non_null(strstr(errstr, "01_also_one.sql"));

  /* A .sql file the pattern would never pick up. */
  remove_dir(f->tmpdir);
  assert_non_null(mkdtemp(strcpy(f->tmpdir, "/tmp/parry-test-pg-XXXXXX")));
  write_file(f->tmpdir, "add_users.sql", "SELECT 1;\n");
  assert_int_equal(parry_pg_migrate(f->conn, f->tmpdir, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "add_users.sql"));

  /* None of this touched the database. */
  assert_false(relation_exists(f->conn, "parry_schema_migrations"));
}

static void test_migrate_rejects_transaction_control(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char errstr[1024] = "";
  write_file(f->tmpdir, "1_commits.sql", "CREATE TABLE c (id int);\nCOMMIT;\n");
  assert_int_equal(parry_pg_migrate(f->conn, f->tmpdir, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "1_commits.sql"));
  assert_int_equal(PQtransactionStatus(f->conn), PQTRANS_IDLE);
  char *versions = applied_versions(f->conn);
  assert_string_equal(versions, "");
  free(versions);
}

typedef struct {
  const char *dsn, *schema, *dir;
  pthread_barrier_t *start;
  parry_err_t err;
  char errstr[1024];
} migrator_t;

static void *run_migrator(void *arg) {
  migrator_t *m = arg;
  PGconn *conn = connect_to_schema(m->dsn, m->schema);
  pthread_barrier_wait(m->start);
  m->err = parry_pg_migrate(conn, m->dir, m->errstr, sizeof m->errstr);
  PQfinish(conn);
  return NULL;
}

static void test_migrate_concurrent_replicas(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  /* The first migration holds its transaction open a while, so the second
   * replica arrives while it is being applied. Without the lock one of them
   * would fail on the duplicate table or version. */
  write_file(f->tmpdir, "1_slow.sql",
             "CREATE TABLE slow (id int);\nSELECT pg_sleep(0.3);\n");
  write_file(f->tmpdir, "2_next.sql", "ALTER TABLE slow ADD COLUMN v int;\n");

  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  migrator_t m[2];
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) {
    m[i] = (migrator_t){.dsn = f->dsn, .schema = f->schema, .dir = f->tmpdir,
                        .start = &start, .err = PARRY_OK, .errstr = ""};
    assert_int_equal(pthread_create(&threads[i], NULL, run_migrator, &m[i]), 0);
  }
  for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < 2; i++) {
    if (m[i].err != PARRY_OK) fail_msg("replica %d: %s", i, m[i].errstr);
  }
  char *versions = applied_versions(f->conn);
  assert_string_equal(versions, "1:slow,2:next");
  free(versions);
}

/* ------------------------------------------------------------------------ */
/* Parameters and error kinds */

static void test_hostile_strings_round_trip(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  parry_test_pg_exec(f->conn, "CREATE TABLE x (id int)");
  parry_test_pg_exec(f->conn, "CREATE TABLE notes (id int PRIMARY KEY, body text)");

  static char long_text[64 * 1024 + 1];
  for (size_t i = 0; i + 1 < sizeof long_text; i++) long_text[i] = "'\\\"$"[i % 4];

  const char *const values[] = {
      "it's",
      "O'Reilly said \"hi\"",
      "back\\slash \\' \\\\ trailing\\",
      "'; DROP TABLE x; --",
      "Robert'); DROP TABLE x;--",
      "$$; DROP TABLE x; $$",
      "$1 $2 %s %n %% E'\\x41' \\x00 :'var' ?",
      "line1\nline2\r\n\ttab \x01\x1f\x7f",
      "ünïcödé — 日本語 🛡️ עברית \u00e9\U0001F600 \xf0\x9f\x94\x92",
      "",
      long_text,
      NULL,
  };
  const size_t n = sizeof values / sizeof values[0];

  for (size_t i = 0; i < n; i++) {
    char id[16];
    snprintf(id, sizeof id, "%zu", i);
    const char *params[2] = {id, values[i]};
    PGresult *res = PQexecParams(f->conn, "INSERT INTO notes (id, body) VALUES ($1, $2)",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      fail_msg("insert %zu: %s", i, PQresultErrorMessage(res));
    PQclear(res);
  }
  for (size_t i = 0; i < n; i++) {
    char id[16];
    snprintf(id, sizeof id, "%zu", i);
    const char *params[1] = {id};
    PGresult *res = PQexecParams(f->conn, "SELECT body FROM notes WHERE id = $1", 1,
                                 NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    if (!values[i]) {
      assert_true(PQgetisnull(res, 0, 0));
    } else {
      assert_false(PQgetisnull(res, 0, 0));
      assert_int_equal((size_t)PQgetlength(res, 0, 0), strlen(values[i]));
      assert_memory_equal(PQgetvalue(res, 0, 0), values[i], strlen(values[i]));
      /* And as a parameter in a condition. */
      char *count =
          parry_test_pg_text(f->conn, "SELECT count(*) FROM notes WHERE body = $1", values[i]);
      assert_string_equal(count, "1");
      free(count);
    }
    PQclear(res);
  }
  assert_true(relation_exists(f->conn, "x"));
}

static void test_error_kinds_from_server(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  parry_test_pg_exec(f->conn, "CREATE TABLE u (id int PRIMARY KEY, v int)");
  const char *params[1] = {"7"};
  const char *insert = "INSERT INTO u (id, v) VALUES ($1, 0)";

  PGresult *res = PQexecParams(f->conn, insert, 1, NULL, params, NULL, NULL, 0);
  assert_int_equal(parry_pg_result_kind(f->conn, res), PARRY_PG_OK);
  PQclear(res);
  res = PQexecParams(f->conn, insert, 1, NULL, params, NULL, NULL, 0);
  assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
  assert_int_equal(parry_pg_result_kind(f->conn, res), PARRY_PG_UNIQUE_VIOLATION);
  assert_false(parry_pg_kind_is_retriable(parry_pg_result_kind(f->conn, res)));
  PQclear(res);

  res = PQexec(f->conn, "SELEC 1");
  assert_int_equal(parry_pg_result_kind(f->conn, res), PARRY_PG_PERMANENT);
  PQclear(res);

  /* A serialization failure: a repeatable-read transaction updates a row that
   * another session changed after its snapshot. */
  PGconn *other = connect_to_schema(f->dsn, f->schema);
  parry_test_pg_exec(f->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  parry_test_pg_exec(f->conn, "SELECT v FROM u");
  parry_test_pg_exec(other, "UPDATE u SET v = 1 WHERE id = 7");
  res = PQexec(f->conn, "UPDATE u SET v = 2 WHERE id = 7");
  assert_int_equal(parry_pg_result_kind(f->conn, res), PARRY_PG_RETRY);
  PQclear(res);
  parry_test_pg_exec(f->conn, "ROLLBACK");

  /* A session ended by the server (pg_terminate_backend waits until it is
   * gone): its next statement fails with a connection kind. */
  char pid[16];
  snprintf(pid, sizeof pid, "%d", PQbackendPID(other));
  char *terminated = parry_test_pg_text(f->conn, "SELECT pg_terminate_backend($1::int, 5000)", pid);
  assert_string_equal(terminated, "t");
  free(terminated);
  res = PQexec(other, "SELECT 1");
  parry_pg_kind_t kind = parry_pg_result_kind(other, res);
  assert_int_equal(kind, PARRY_PG_CONNECTION);
  assert_true(parry_pg_kind_is_retriable(kind));
  PQclear(res);
  PQfinish(other);
}

int main(void) {
  parry_log_init("test_pg", PARRY_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sqlstate_kinds),
      cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connect_errors_hide_password, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migrate_applies_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migrate_twice_applies_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migrate_numeric_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migrate_broken_names_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migrate_rejects_bad_directories, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migrate_rejects_transaction_control, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_migrate_concurrent_replicas, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_strings_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_error_kinds_from_server, setup, teardown),
  };
  return cmocka_run_group_tests_name("pg", tests, group_setup, NULL);
}
