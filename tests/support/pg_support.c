#include "pg_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *parry_test_pg_dsn(void) {
  return parry_test_service("PARRY_PG_DSN", "a PostgreSQL server "
                            "(scripts/pg.sh start; PARRY_PG_DSN=\"$(scripts/pg.sh dsn)\")");
}

void parry_test_pg_exec(PGconn *conn, const char *sql) {
  PGresult *res = PQexec(conn, sql);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(res));
  PQclear(res);
}

/* The one-row result of sql, or fail. */
static PGresult *single_row(PGconn *conn, const char *sql, const char *param) {
  const char *params[1] = {param};
  PGresult *res = PQexecParams(conn, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQresultErrorMessage(res));
  assert_int_equal(PQntuples(res), 1);
  return res;
}

char *parry_test_pg_text(PGconn *conn, const char *sql, const char *param) {
  PGresult *res = single_row(conn, sql, param);
  char *v = PQgetisnull(res, 0, 0) ? NULL : strdup(PQgetvalue(res, 0, 0));
  PQclear(res);
  return v;
}

long long parry_test_pg_int(PGconn *conn, const char *sql, const char *param) {
  PGresult *res = single_row(conn, sql, param);
  long long v = PQgetisnull(res, 0, 0) ? -1 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return v;
}

void parry_test_pg_schema_sql(PGconn *conn, const char *verb, const char *schema) {
  /* Identifiers cannot be parameters: quoted by libpq. */
  char *ident = PQescapeIdentifier(conn, schema, strlen(schema));
  assert_non_null(ident);
  char sql[512];
  snprintf(sql, sizeof sql, "%s SCHEMA %s%s", verb, ident,
           strcmp(verb, "DROP") == 0 ? " CASCADE" : "");
  PQfreemem(ident);
  PQclear(PQexec(conn, "SET client_min_messages = warning"));
  parry_test_pg_exec(conn, sql);
}

void parry_test_pg_schema(const char *dsn, const char *verb, const char *schema) {
  char errstr[512];
  PGconn *conn = NULL;
  if (parry_pg_connect(dsn, "parry-test", &conn, errstr, sizeof errstr)) fail_msg("%s", errstr);
  parry_test_pg_schema_sql(conn, verb, schema);
  PQfinish(conn);
}
