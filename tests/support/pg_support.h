/* Helpers for the suites that talk to a real PostgreSQL (tests/pg and any
 * service's store tests). The server comes from PARRY_PG_DSN; every test works
 * in a schema of its own so runs sharing a database never meet.
 *
 * Failures inside these helpers fail the calling test (cmocka fail_msg). */
#ifndef PARRY_PG_SUPPORT_H
#define PARRY_PG_SUPPORT_H

#include "parry/pg.h"
#include "test_support.h"

/* $PARRY_PG_DSN, or NULL after printing why (the caller then skips); fails
 * instead under PARRY_REQUIRE_SERVICES=1. */
const char *parry_test_pg_dsn(void);

/* Runs a statement without data (the test's own DDL, BEGIN, ...) and expects
 * success. */
void parry_test_pg_exec(PGconn *conn, const char *sql);

/* The single value of a query with at most one text parameter (param NULL:
 * none): a malloc'd copy, NULL for SQL NULL. */
char *parry_test_pg_text(PGconn *conn, const char *sql, const char *param);

/* The same as a number; -1 for SQL NULL. */
long long parry_test_pg_int(PGconn *conn, const char *sql, const char *param);

/* verb ("CREATE" or "DROP", the latter with CASCADE) the schema on conn;
 * notices (what CASCADE drops) are silenced for the session. */
void parry_test_pg_schema_sql(PGconn *conn, const char *verb, const char *schema);

/* The same over a connection of its own to dsn. */
void parry_test_pg_schema(const char *dsn, const char *verb, const char *schema);

#endif
