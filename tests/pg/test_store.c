/* executor/store against a real PostgreSQL (PARRY_PG_DSN): migrations,
 * ingest (redelivery, grouping, windows, concurrency), claims and leases,
 * step transitions, the append-only timeline, masking, hostile strings,
 * case updates and entity history. Each test works in a schema of its own.
 * test_ingest_throughput prints alerts/s (not asserted). */
#include "pg_support.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parry/buf.h"
#include "parry/codec.h"
#include "parry/log.h"
#include "parry/pg.h"
#include "store/store.h"

#define SEC 1000000000LL
#define T0 (1764806400LL * SEC) /* 2025-12-04T00:00:00Z */
#define HOUR (3600LL * SEC)

typedef struct {
  const char *dsn;
  char schema[128];
  parry_store_t *store; /* migrated, search_path = schema */
} fixture_t;

/* ------------------------------------------------------------------------ */
/* Helpers */

static PGconn *conn_of(fixture_t *f) { return parry_store_conn(f->store); }

/* An alert built by hand, with its canonical JSON. */
typedef struct {
  Parry__V1__Alert a;
  Parry__V1__Label labels[2];
  Parry__V1__Label *label_ptrs[2];
  char id[64];
  char *json;
} test_alert_t;

static void alert_make(test_alert_t *t, const char *id, int64_t ts_ns, const char *ip,
                       const char *user, const char *title) {
  memset(t, 0, sizeof *t);
  parry__v1__alert__init(&t->a);
  snprintf(t->id, sizeof t->id, "%s", id);
  t->a.schema_version = 1;
  t->a.id = t->id;
  t->a.timestamp_ns = ts_ns;
  t->a.rule_id = "ssh-brute-force";
  t->a.rule_title = (char *)(title ? title : "SSH brute force");
  t->a.rule_level = "high";
  size_t n = 0;
  parry__v1__label__init(&t->labels[n]);
  t->labels[n].key = "source.ip";
  t->labels[n].value = (char *)ip;
  n++;
  if (user) {
    parry__v1__label__init(&t->labels[n]);
    t->labels[n].key = "user.name";
    t->labels[n].value = (char *)user;
    n++;
  }
  for (size_t i = 0; i < n; i++) t->label_ptrs[i] = &t->labels[i];
  t->a.group_by = t->label_ptrs;
  t->a.n_group_by = n;
  t->a.count = 5;
  parry_buf_t b = PARRY_BUF_INIT(0);
  char errstr[256];
  if (parry_alert_to_json(&t->a, &b, errstr, sizeof errstr)) fail_msg("alert json: %s", errstr);
  t->json = parry_buf_steal(&b);
}

static void alert_free(test_alert_t *t) {
  free(t->json);
  t->json = NULL;
}

/* The standard match: runbook "ssh-block", grouped by source.ip. */
typedef struct {
  parry_store_label_t group[1];
  parry_store_match_t match;
  parry_store_alert_in_t in;
} test_in_t;

static void in_make(test_in_t *in, test_alert_t *t, const char *runbook, int64_t window_ns) {
  memset(in, 0, sizeof *in);
  in->group[0].key = "source.ip";
  in->group[0].value = t->labels[0].value;
  in->match.runbook = runbook;
  in->match.runbook_version = "v1";
  in->match.group = in->group;
  in->match.n_group = 1;
  in->match.window_ns = window_ns;
  in->in.alert = &t->a;
  in->in.alert_json = t->json;
  in->in.matches = &in->match;
  in->in.n_matches = runbook ? 1 : 0;
}

static parry_store_ingest_result_t ingest(fixture_t *f, const char *id, int64_t ts,
                                          const char *ip, const char *runbook,
                                          int64_t window) {
  test_alert_t t;
  test_in_t in;
  alert_make(&t, id, ts, ip, "root", NULL);
  in_make(&in, &t, runbook, window);
  parry_store_ingest_result_t r;
  char errstr[512];
  if (parry_store_ingest_alert(f->store, &in.in, &r, errstr, sizeof errstr))
    fail_msg("ingest %s: %s", id, errstr);
  alert_free(&t);
  return r;
}

static long long count(fixture_t *f, const char *table) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  return parry_test_pg_int(conn_of(f), sql, NULL);
}

/* Row counts of every table plus the sum of alert counts: a fingerprint
 * of everything ingest may change. */
static void snapshot(fixture_t *f, long long out[7]) {
  static const char *const tables[] = {"alerts", "cases", "case_timeline", "runs",
                                       "case_alerts", "alert_entities"};
  for (int i = 0; i < 6; i++) out[i] = count(f, tables[i]);
  out[6] = parry_test_pg_int(conn_of(f), "SELECT coalesce(sum(alert_count), 0) FROM cases", NULL);
}

static char *timeline_kinds(fixture_t *f, int64_t case_id) {
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)case_id);
  return parry_test_pg_text(
      conn_of(f),
      "SELECT string_agg(kind || coalesce(':' || step_id, ''), ',' ORDER BY id) "
      "FROM case_timeline WHERE case_id = $1::bigint",
      id);
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
  f->store = NULL;
  if (!f->dsn) return 0;
  parry_test_unique_name("parry_store", f->schema, sizeof f->schema);
  parry_test_pg_schema(f->dsn, "CREATE", f->schema);
  char errstr[1024] = "";
  f->store = parry_store_open_schema(f->dsn, f->schema, errstr, sizeof errstr);
  if (!f->store) {
    print_error("%s\n", errstr);
    return -1;
  }
  if (parry_store_migrate(f->store, NULL, errstr, sizeof errstr)) {
    print_error("migrate: %s\n", errstr);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  if (!f->store) return 0;
  PGconn *conn = conn_of(f);
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) PQclear(PQexec(conn, "ROLLBACK"));
  parry_test_pg_schema_sql(conn, "DROP", f->schema);
  parry_store_close(f->store);
  f->store = NULL;
  return 0;
}

#define NEED_SERVER(f)                                                         \
  do {                                                                         \
    if (!(f)->store) skip();                                                   \
  } while (0)

static parry_store_t *open_other(fixture_t *f) {
  char errstr[512];
  parry_store_t *s = parry_store_open_schema(f->dsn, f->schema, errstr, sizeof errstr);
  if (!s) fail_msg("%s", errstr);
  return s;
}

/* ------------------------------------------------------------------------ */
/* Migrations */

static void test_migrations_idempotent(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char errstr[512];
  const char *sql = "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) "
                    "FROM parry_schema_migrations";
  char *before = parry_test_pg_text(conn_of(f), sql, NULL);
  assert_non_null(before);
  /* Again, and from a second store (a replica starting): nothing applied. */
  assert_int_equal(parry_store_migrate(f->store, NULL, errstr, sizeof errstr), PARRY_OK);
  parry_store_t *other = open_other(f);
  if (parry_store_migrate(other, NULL, errstr, sizeof errstr)) fail_msg("%s", errstr);
  parry_store_close(other);
  char *after = parry_test_pg_text(conn_of(f), sql, NULL);
  assert_string_equal(before, after);
  free(before);
  free(after);
  assert_true(parry_test_pg_int(conn_of(f), "SELECT count(*) FROM parry_schema_migrations", NULL) >=
              1);
  /* The tables the store uses are there, and usable right away. */
  parry_store_ingest_result_t r = ingest(f, "a1", T0, "198.51.100.1", "ssh-block", HOUR);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
}

/* ------------------------------------------------------------------------ */
/* Ingest */

static void test_redelivery_changes_nothing(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  parry_store_ingest_result_t r = ingest(f, "alert-1", T0, "203.0.113.7", "ssh-block", HOUR);
  assert_false(r.duplicate);
  assert_int_equal(r.n_cases, 1);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
  assert_true(r.cases[0].case_id > 0);
  assert_true(r.cases[0].run_id > 0);
  r = ingest(f, "alert-2", T0 + SEC, "203.0.113.7", "ssh-block", HOUR);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_ATTACHED);
  assert_int_equal(r.cases[0].run_id, 0);

  long long before[7], after[7];
  snapshot(f, before);
  char *tl_before = parry_test_pg_text(conn_of(f),
                                       "SELECT string_agg(id || kind || data::text, ',' "
                                       "ORDER BY id) FROM case_timeline",
                                       NULL);
  /* The same alerts again, one by one and as a batch. */
  r = ingest(f, "alert-1", T0, "203.0.113.7", "ssh-block", HOUR);
  assert_true(r.duplicate);
  assert_int_equal(r.n_cases, 0);
  r = ingest(f, "alert-2", T0 + 5 * SEC, "203.0.113.99", "ssh-block", HOUR);
  assert_true(r.duplicate);

  test_alert_t t[2];
  test_in_t in[2];
  parry_store_alert_in_t batch[2];
  parry_store_ingest_result_t res[2];
  alert_make(&t[0], "alert-2", T0 + SEC, "203.0.113.7", "root", NULL);
  alert_make(&t[1], "alert-1", T0, "203.0.113.7", "root", NULL);
  for (int i = 0; i < 2; i++) {
    in_make(&in[i], &t[i], "ssh-block", HOUR);
    batch[i] = in[i].in;
  }
  char errstr[512];
  if (parry_store_ingest_batch(f->store, batch, 2, res, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_true(res[0].duplicate);
  assert_true(res[1].duplicate);
  for (int i = 0; i < 2; i++) alert_free(&t[i]);

  snapshot(f, after);
  assert_memory_equal(before, after, sizeof before);
  char *tl_after = parry_test_pg_text(conn_of(f),
                                      "SELECT string_agg(id || kind || data::text, ',' "
                                      "ORDER BY id) FROM case_timeline",
                                      NULL);
  assert_string_equal(tl_before, tl_after);
  free(tl_before);
  free(tl_after);
  assert_int_equal(after[3], 1); /* one run */
  assert_int_equal(after[6], 2); /* alert_count */
}

static void test_grouping_thousand_alerts(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  enum { N = 1000, BATCH = 100 };
  test_alert_t *t = calloc(N, sizeof *t);
  test_in_t *in = calloc(N, sizeof *in);
  parry_store_alert_in_t *batch = calloc(N, sizeof *batch);
  parry_store_ingest_result_t *res = calloc(N, sizeof *res);
  /* One alert per second for 1,000 s: well inside a one-hour window. */
  for (int i = 0; i < N; i++) {
    char id[32];
    snprintf(id, sizeof id, "brute-%04d", i);
    alert_make(&t[i], id, T0 + (int64_t)i * SEC, "192.0.2.10", "root", NULL);
    in_make(&in[i], &t[i], "ssh-block", HOUR);
    batch[i] = in[i].in;
  }
  char errstr[512];
  for (int i = 0; i < N; i += BATCH)
    if (parry_store_ingest_batch(f->store, batch + i, BATCH, res + i, errstr, sizeof errstr))
      fail_msg("%s", errstr);
  int64_t case_id = res[0].cases[0].case_id;
  assert_int_equal(res[0].cases[0].outcome, PARRY_STORE_OPENED);
  for (int i = 1; i < N; i++) {
    assert_false(res[i].duplicate);
    assert_int_equal(res[i].cases[0].outcome, PARRY_STORE_ATTACHED);
    assert_int_equal(res[i].cases[0].case_id, case_id);
  }
  assert_int_equal(count(f, "cases"), 1);
  assert_int_equal(count(f, "runs"), 1);
  assert_int_equal(count(f, "alerts"), N);
  struct json_object *c = NULL;
  if (parry_store_case_get(f->store, case_id, &c, errstr, sizeof errstr)) fail_msg("%s", errstr);
  assert_int_equal(json_object_get_int64(json_object_object_get(c, "alert_count")), N);
  assert_string_equal(json_object_get_string(json_object_object_get(c, "first_seen")),
                      "2025-12-04T00:00:00.000000Z");
  assert_string_equal(json_object_get_string(json_object_object_get(c, "last_seen")),
                      "2025-12-04T00:16:39.000000Z");
  assert_string_equal(json_object_get_string(json_object_object_get(c, "window_end")),
                      "2025-12-04T01:00:00.000000Z");
  assert_string_equal(json_object_get_string(json_object_object_get(c, "severity")), "high");
  assert_string_equal(json_object_get_string(json_object_object_get(c, "group_key")),
                      "{\"source.ip\":\"192.0.2.10\"}");
  json_object_put(c);
  assert_int_equal(parry_test_pg_int(conn_of(f),
                                     "SELECT count(*) FROM case_timeline WHERE kind = "
                                     "'alert_attached'",
                                     NULL),
                   N);

  /* Another IP: another case, and its own run. */
  parry_store_ingest_result_t r = ingest(f, "other-ip", T0 + 10 * SEC, "192.0.2.11",
                                         "ssh-block", HOUR);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
  assert_true(r.cases[0].case_id != case_id);
  /* The first IP after its window: a new case; the old one stops accepting. */
  r = ingest(f, "late", T0 + HOUR + SEC, "192.0.2.10", "ssh-block", HOUR);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
  assert_true(r.cases[0].case_id != case_id);
  assert_int_equal(count(f, "runs"), 3);
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)case_id);
  assert_int_equal(
      parry_test_pg_int(conn_of(f), "SELECT accepting::int FROM cases WHERE id = $1::bigint", id),
      0);
  assert_int_equal(
      parry_test_pg_int(conn_of(f), "SELECT alert_count FROM cases WHERE id = $1::bigint", id), N);
  assert_int_equal(parry_test_pg_int(conn_of(f),
                                     "SELECT count(*) FROM case_timeline WHERE case_id = "
                                     "$1::bigint AND kind = 'grouping_closed'",
                                     id),
                   1);
  /* And an alert of the old window arriving late joins the new case (the
   * accepting one), not the closed grouping. */
  r = ingest(f, "late-2", T0 + HOUR + 2 * SEC, "192.0.2.10", "ssh-block", HOUR);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_ATTACHED);

  for (int i = 0; i < N; i++) alert_free(&t[i]);
  free(t);
  free(in);
  free(batch);
  free(res);
}

static void test_no_match_and_multi_match(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  parry_store_ingest_result_t r = ingest(f, "unmatched", T0, "192.0.2.50", NULL, 0);
  assert_false(r.duplicate);
  assert_int_equal(r.n_cases, 0);
  assert_int_equal(count(f, "alerts"), 1);
  assert_int_equal(count(f, "cases"), 0);

  /* Two runbooks: one case each, one run each; the alert row names the first. */
  test_alert_t t;
  alert_make(&t, "two", T0, "192.0.2.51", "alice", NULL);
  parry_store_label_t g1[1] = {{"source.ip", "192.0.2.51"}};
  parry_store_label_t g2[2] = {{"user.name", "alice"}, {"source.ip", "192.0.2.51"}};
  parry_store_match_t m[2] = {
      {"block", "v1", g1, 1, HOUR, NULL},
      {"notify", "v7", g2, 2, 0, "low"}, /* no window: one case per alert */
  };
  parry_store_alert_in_t in = {&t.a, t.json, m, 2};
  char errstr[512];
  if (parry_store_ingest_alert(f->store, &in, &r, errstr, sizeof errstr)) fail_msg("%s", errstr);
  assert_int_equal(r.n_cases, 2);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
  assert_int_equal(r.cases[1].outcome, PARRY_STORE_OPENED);
  char *first =
      parry_test_pg_text(conn_of(f), "SELECT case_id::text FROM alerts WHERE id = 'two'", NULL);
  char expect[24];
  snprintf(expect, sizeof expect, "%lld", (long long)r.cases[0].case_id);
  assert_string_equal(first, expect);
  free(first);
  char *sev = parry_test_pg_text(conn_of(f),
                                 "SELECT severity || '/' || group_key || '/' || "
                                 "accepting::text FROM cases WHERE runbook = 'notify'",
                                 NULL);
  assert_string_equal(sev, "low/{\"user.name\":\"alice\",\"source.ip\":\"192.0.2.51\"}/false");
  free(sev);
  alert_free(&t);
  /* A window of 0 never groups. */
  alert_make(&t, "three", T0 + 1, "192.0.2.51", "alice", NULL);
  in.alert = &t.a;
  in.alert_json = t.json;
  if (parry_store_ingest_alert(f->store, &in, &r, errstr, sizeof errstr)) fail_msg("%s", errstr);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_ATTACHED);
  assert_int_equal(r.cases[1].outcome, PARRY_STORE_OPENED);
  alert_free(&t);

  /* An absurd window is capped (ten years), not an overflow that would fail
   * every alert of the runbook. */
  r = ingest(f, "forever-1", T0, "192.0.2.52", "forever", INT64_MAX);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
  r = ingest(f, "forever-2", T0 + 9 * 365 * 24 * HOUR, "192.0.2.52", "forever", INT64_MAX);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_ATTACHED);
}

typedef struct {
  fixture_t *f;
  int thread;
  bool same_ids; /* both threads send the same alert ids */
  int64_t window; /* grouping window of the runbook */
  pthread_barrier_t *start;
  int opened, attached, duplicate;
  char errstr[512];
  parry_err_t err;
} ingester_t;

static void *run_ingester(void *arg) {
  ingester_t *g = arg;
  char errstr[512];
  parry_store_t *s = parry_store_open_schema(g->f->dsn, g->f->schema, errstr, sizeof errstr);
  if (!s) {
    g->err = PARRY_ERR_EXTERNAL;
    snprintf(g->errstr, sizeof g->errstr, "%s", errstr);
    return NULL;
  }
  enum { N = 200 };
  pthread_barrier_wait(g->start);
  /* Batches of 10 and single alerts, interleaved with the other thread. */
  for (int i = 0; i < N && !g->err; i += 10) {
    test_alert_t t[10];
    test_in_t in[10];
    parry_store_alert_in_t batch[10];
    parry_store_ingest_result_t res[10];
    for (int j = 0; j < 10; j++) {
      char id[48];
      snprintf(id, sizeof id, "c-%d-%d", g->same_ids ? 0 : g->thread, i + j);
      alert_make(&t[j], id, T0 + (i + j) * SEC, "198.51.100.77", "root", NULL);
      in_make(&in[j], &t[j], "ssh-block", g->window);
      batch[j] = in[j].in;
    }
    if ((i / 10) % 2)
      g->err = parry_store_ingest_batch(s, batch, 10, res, g->errstr, sizeof g->errstr);
    else
      for (int j = 0; j < 10 && !g->err; j++)
        g->err = parry_store_ingest_alert(s, &batch[j], &res[j], g->errstr, sizeof g->errstr);
    for (int j = 0; j < 10 && !g->err; j++) {
      if (res[j].duplicate) g->duplicate++;
      else if (res[j].cases[0].outcome == PARRY_STORE_OPENED) g->opened++;
      else g->attached++;
    }
    for (int j = 0; j < 10; j++) alert_free(&t[j]);
  }
  parry_store_close(s);
  return NULL;
}

static void concurrent_ingest(fixture_t *f, bool same_ids, int64_t window) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  ingester_t g[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    memset(&g[i], 0, sizeof g[i]);
    g[i].f = f;
    g[i].thread = i;
    g[i].same_ids = same_ids;
    g[i].window = window;
    g[i].start = &start;
    assert_int_equal(pthread_create(&th[i], NULL, run_ingester, &g[i]), 0);
  }
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < 2; i++)
    if (g[i].err) fail_msg("thread %d: %s", i, g[i].errstr);
  if (window < HOUR) {
    /* Alerts over 200 s with a 30 s window, from two threads in any order:
     * how many cases depends on the order they arrive in, but never are two
     * cases of the group accepting at once, every alert is counted once, and
     * every case has exactly one run. */
    long long cases = count(f, "cases");
    assert_true(cases >= 2);
    assert_int_equal(g[0].opened + g[1].opened, cases);
    assert_int_equal(count(f, "runs"), cases);
    assert_int_equal(
        parry_test_pg_int(conn_of(f), "SELECT count(*) FROM cases WHERE accepting", NULL), 1);
    assert_int_equal(parry_test_pg_int(conn_of(f), "SELECT sum(alert_count) FROM cases", NULL),
                     400);
    assert_int_equal(parry_test_pg_int(conn_of(f),
                                       "SELECT count(*) FROM cases c WHERE alert_count <> "
                                       "(SELECT count(*) FROM case_alerts a WHERE a.case_id = "
                                       "c.id)",
                                       NULL),
                     0);
    print_message("# 400 alerts over 200 s, 30 s window, two threads: %lld cases\n", cases);
    return;
  }
  assert_int_equal(g[0].opened + g[1].opened, 1);
  assert_int_equal(count(f, "cases"), 1);
  assert_int_equal(count(f, "runs"), 1);
  long long expect = same_ids ? 200 : 400;
  assert_int_equal(parry_test_pg_int(conn_of(f), "SELECT alert_count FROM cases", NULL), expect);
  assert_int_equal(count(f, "alerts"), expect);
  assert_int_equal(g[0].duplicate + g[1].duplicate, same_ids ? 200 : 0);
  assert_int_equal(parry_test_pg_int(conn_of(f),
                                     "SELECT count(*) FROM case_timeline WHERE kind = "
                                     "'alert_attached'",
                                     NULL),
                   expect);
}

static void test_concurrent_ingest_one_case(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  concurrent_ingest(f, false, HOUR);
}

static void test_concurrent_ingest_across_windows(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  concurrent_ingest(f, false, 30 * SEC);
}

static void test_concurrent_redelivery(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  concurrent_ingest(f, true, HOUR);
}

static void test_hostile_strings_round_trip(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  static const char *const hostile[] = {
      "'; DROP TABLE cases; --",
      "O'Reilly \"quoted\" back\\slash \\\\ \\'",
      "$$; DROP TABLE alerts; $$ $1 %s %n {{ .x }} ${x}",
      "line1\nline2\r\n\ttab \x01\x1f\x7f",
      "ünïcödé — 日本語 🛡️ \U0001F600 עברית",
  };
  char errstr[512];
  for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
    test_alert_t t;
    char id[64];
    snprintf(id, sizeof id, "h'%zu\"\\", i);
    alert_make(&t, id, T0 + (int64_t)i, hostile[i], hostile[i], hostile[i]);
    test_in_t in;
    in_make(&in, &t, hostile[i], HOUR);
    parry_store_ingest_result_t r;
    if (parry_store_ingest_alert(f->store, &in.in, &r, errstr, sizeof errstr))
      fail_msg("%zu: %s", i, errstr);
    assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
    /* Stored verbatim, found by value. */
    char *title = parry_test_pg_text(conn_of(f), "SELECT rule_title FROM alerts WHERE id = $1", id);
    assert_string_equal(title, hostile[i]);
    free(title);
    struct json_object *c = NULL;
    if (parry_store_case_get(f->store, r.cases[0].case_id, &c, errstr, sizeof errstr))
      fail_msg("%s", errstr);
    assert_string_equal(json_object_get_string(json_object_object_get(c, "runbook")), hostile[i]);
    struct json_object *group = json_object_object_get(c, "group");
    assert_string_equal(json_object_get_string(json_object_object_get(group, "source.ip")),
                        hostile[i]);
    json_object_put(c);
    /* Again: the same group, attached. */
    alert_free(&t);
    snprintf(id, sizeof id, "h'%zu\"\\-again", i);
    alert_make(&t, id, T0 + (int64_t)i + 1, hostile[i], hostile[i], hostile[i]);
    in_make(&in, &t, hostile[i], HOUR);
    if (parry_store_ingest_alert(f->store, &in.in, &r, errstr, sizeof errstr))
      fail_msg("%zu: %s", i, errstr);
    assert_int_equal(r.cases[0].outcome, PARRY_STORE_ATTACHED);
    alert_free(&t);
    /* Entity history by the same hostile value. */
    parry_entity_history_t h;
    if (parry_store_entity_history(f->store, PARRY_ENTITY_USER, hostile[i], 0, &h, errstr,
                                   sizeof errstr))
      fail_msg("%s", errstr);
    assert_int_equal(h.alert_count, 2);
  }
  assert_int_equal(count(f, "cases"), 5);

  /* Invalid UTF-8 in a group value (protobuf strings are not checked): the
   * store replaces the bad bytes instead of failing the whole batch. */
  test_alert_t t;
  alert_make(&t, "bad-utf8", T0, "192.0.2.1", "root", NULL);
  test_in_t in;
  in_make(&in, &t, "ssh-block", HOUR);
  in.group[0].value = "bad \xff\xfe byte";
  parry_store_ingest_result_t r;
  if (parry_store_ingest_alert(f->store, &in.in, &r, errstr, sizeof errstr)) fail_msg("%s", errstr);
  char *key = parry_test_pg_text(conn_of(f),
                                 "SELECT group_key FROM cases WHERE id = "
                                 "(SELECT case_id FROM alerts WHERE id = 'bad-utf8')",
                                 NULL);
  assert_string_equal(key, "{\"source.ip\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD byte\"}");
  free(key);
  alert_free(&t);
}

/* ------------------------------------------------------------------------ */
/* Runs */

/* n runs, one per group. */
static void make_runs(fixture_t *f, int n) {
  for (int i = 0; i < n; i++) {
    char id[32], ip[32];
    snprintf(id, sizeof id, "run-alert-%d", i);
    snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
    parry_store_ingest_result_t r = ingest(f, id, T0, ip, "ssh-block", HOUR);
    assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
  }
}

static void test_claim_skip_locked(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  make_runs(f, 10);
  char errstr[512];
  int64_t runnable = -1;
  assert_int_equal(parry_store_runs_runnable(f->store, &runnable, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(runnable, 10);
  assert_int_equal(parry_store_ping(f->store, errstr, sizeof errstr), PARRY_OK);
  /* Another session holds three runs locked (as a claimer mid-transaction
   * would): a claim skips them instead of waiting. */
  parry_store_t *other = open_other(f);
  PGconn *oc = parry_store_conn(other);
  parry_test_pg_exec(oc, "BEGIN");
  parry_test_pg_exec(oc, "SELECT id FROM runs ORDER BY id LIMIT 3 FOR UPDATE");
  parry_run_t **a = NULL, **b = NULL;
  size_t na = 0, nb = 0;
  if (parry_store_claim_runs(f->store, "replica-a", 30 * SEC, 4, &a, &na, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(na, 4);
  for (size_t i = 0; i < na; i++) assert_true(a[i]->id > 3);
  parry_test_pg_exec(oc, "COMMIT");
  /* The other replica gets the rest, all different. */
  if (parry_store_claim_runs(other, "replica-b", 30 * SEC, 100, &b, &nb, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(nb, 6);
  for (size_t i = 0; i < na; i++)
    for (size_t j = 0; j < nb; j++) assert_true(a[i]->id != b[j]->id);
  /* A claimed run comes with what a scheduler needs. */
  assert_int_equal(a[0]->state, PARRY_RUN_RUNNING);
  assert_int_equal(a[0]->claims, 1);
  assert_string_equal(a[0]->runbook, "ssh-block");
  assert_string_equal(a[0]->runbook_version, "v1");
  assert_non_null(a[0]->alert);
  assert_string_equal(json_object_get_string(json_object_object_get(a[0]->alert, "id")),
                      a[0]->alert_id);
  assert_int_equal(json_object_get_int64(json_object_object_get(a[0]->case_obj, "id")),
                   a[0]->case_id);
  assert_int_equal(a[0]->n_steps, 0);
  assert_true(a[0]->lease_until_ns > (int64_t)time(NULL) * SEC);
  /* Nothing left: leases are live. */
  parry_run_t **c = NULL;
  size_t nc = 99;
  if (parry_store_claim_runs(f->store, "replica-c", 30 * SEC, 100, &c, &nc, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(nc, 0);
  parry_runs_free(c, nc);
  assert_int_equal(parry_store_runs_runnable(f->store, &runnable, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(runnable, 0);
  /* Renewal counts what each holds. */
  size_t renewed = 0;
  assert_int_equal(parry_store_renew_leases(f->store, "replica-a", 30 * SEC, &renewed, errstr,
                                            sizeof errstr), PARRY_OK);
  assert_int_equal(renewed, 4);
  /* Release one: claimable again at once, by anybody. */
  assert_int_equal(parry_store_run_release(f->store, a[0]->id, "replica-a", 0, errstr,
                                           sizeof errstr), PARRY_OK);
  assert_int_equal(parry_store_run_release(f->store, a[1]->id, "replica-b", 0, errstr,
                                           sizeof errstr), PARRY_ERR_NOT_FOUND);
  if (parry_store_claim_runs(other, "replica-b", 30 * SEC, 100, &c, &nc, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(nc, 1);
  assert_int_equal(c[0]->id, a[0]->id);
  assert_int_equal(c[0]->claims, 2);
  parry_runs_free(c, nc);
  /* A release with a later time: not claimable before it. */
  assert_int_equal(parry_store_run_release(other, a[0]->id, "replica-b",
                                           (int64_t)time(NULL) * SEC + HOUR, errstr,
                                           sizeof errstr), PARRY_OK);
  if (parry_store_claim_runs(other, "replica-b", 30 * SEC, 100, &c, &nc, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(nc, 0);
  parry_runs_free(c, nc);
  parry_runs_free(a, na);
  parry_runs_free(b, nb);
  parry_store_close(other);
}

typedef struct {
  fixture_t *f;
  char owner[16];
  pthread_barrier_t *start;
  int64_t ids[64];
  size_t n;
  char errstr[512];
} claimer_t;

static void *run_claimer(void *arg) {
  claimer_t *c = arg;
  char errstr[512];
  parry_store_t *s = parry_store_open_schema(c->f->dsn, c->f->schema, errstr, sizeof errstr);
  if (!s) {
    snprintf(c->errstr, sizeof c->errstr, "%s", errstr);
    return NULL;
  }
  pthread_barrier_wait(c->start);
  for (int round = 0; round < 20 && c->n < 64; round++) {
    parry_run_t **runs = NULL;
    size_t n = 0;
    if (parry_store_claim_runs(s, c->owner, 60 * SEC, 3, &runs, &n, c->errstr, sizeof c->errstr))
      break;
    for (size_t i = 0; i < n && c->n < 64; i++) c->ids[c->n++] = runs[i]->id;
    parry_runs_free(runs, n);
  }
  parry_store_close(s);
  return NULL;
}

static void test_concurrent_claims_disjoint(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  make_runs(f, 40);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 4);
  claimer_t c[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    memset(&c[i], 0, sizeof c[i]);
    c[i].f = f;
    snprintf(c[i].owner, sizeof c[i].owner, "claimer-%d", i);
    c[i].start = &start;
    assert_int_equal(pthread_create(&th[i], NULL, run_claimer, &c[i]), 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  size_t total = 0;
  bool seen[64] = {false};
  for (int i = 0; i < 4; i++) {
    if (c[i].errstr[0]) fail_msg("claimer %d: %s", i, c[i].errstr);
    for (size_t j = 0; j < c[i].n; j++) {
      assert_true(c[i].ids[j] >= 1 && c[i].ids[j] <= 40);
      assert_false(seen[c[i].ids[j]]); /* claimed once */
      seen[c[i].ids[j]] = true;
      total++;
    }
  }
  assert_int_equal(total, 40);
  assert_int_equal(parry_test_pg_int(conn_of(f),
                                     "SELECT count(*) FROM runs WHERE lease_owner LIKE "
                                     "'claimer-%' AND claims = 1",
                                     NULL),
                   40);
}

static parry_err_t step(fixture_t *f, const char *owner, parry_step_event_kind_t kind,
                        int64_t run, const char *step_id, int attempt,
                        struct json_object *io, const char *error, bool retryable,
                        char *errstr, size_t n) {
  parry_step_event_t ev = {.kind = kind, .run_id = run, .step_id = step_id,
                           .connector = "http", .attempt = attempt, .error = error,
                           .retryable = retryable};
  if (kind == PARRY_STEP_EV_STARTED) ev.inputs = io;
  if (kind == PARRY_STEP_EV_SUCCEEDED) ev.outputs = io;
  if (kind == PARRY_STEP_EV_FAILED && retryable)
    ev.next_attempt_ns = (int64_t)time(NULL) * SEC + 2 * SEC;
  return parry_store_step(f->store, owner, &ev, errstr, n);
}

/* parry_step_events straight, with its answers, on a batch in the
 * scheduler's shape over several runs (per run: ends, then skips, then
 * starts): retries, skips, a start given twice, a start of a step already
 * succeeded, an end of an attempt never started, a run held by another
 * owner; then the same batch again, which must change nothing. */
static char *step_events(fixture_t *f, const char *owner, const char *events);

static void test_step_batch_mixed(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char errstr[512];
  int64_t run[5], kase[5];
  for (int i = 0; i < 5; i++) {
    char id[32], ip[32];
    snprintf(id, sizeof id, "set-based-%d", i);
    snprintf(ip, sizeof ip, "10.7.0.%d", i + 1);
    parry_store_ingest_result_t r = ingest(f, id, T0, ip, "ssh-block", HOUR);
    run[i] = r.cases[0].run_id;
    kase[i] = r.cases[0].case_id;
  }
  parry_run_t **runs = NULL;
  size_t n = 0;
  /* w1 holds runs 0-3; run 4 is w2's. */
  if (parry_store_claim_runs(f->store, "w1", 30 * SEC, 4, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 4);
  parry_runs_free(runs, n);
  if (parry_store_claim_runs(f->store, "w2", 30 * SEC, 4, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  assert_int_equal(runs[0]->id, run[4]);
  parry_runs_free(runs, n);

  char ev[4096];
  snprintf(ev, sizeof ev,
           "[{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":1,"
           "\"inputs\":{\"u\":1}},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":1}]",
           (long long)run[0], (long long)run[1], (long long)run[2], (long long)run[2],
           (long long)run[3]);
  char *answers = step_events(f, "w1", ev);
  assert_string_equal(answers, "ok,ok,ok,replay,ok"); /* the same start twice: once */
  free(answers);

  long long next_us = (long long)(T0 / 1000) + 5000000;
  snprintf(ev, sizeof ev,
           "[{\"run\":%lld,\"kind\":\"succeeded\",\"step\":\"a\",\"attempt\":1,"
           "\"outputs\":{\"country\":\"NL\"}},"
           "{\"run\":%lld,\"kind\":\"failed\",\"step\":\"a\",\"attempt\":1,\"error\":\"HTTP 500\","
           "\"retryable\":true,\"next_us\":%lld},"
           "{\"run\":%lld,\"kind\":\"succeeded\",\"step\":\"a\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"succeeded\",\"step\":\"q\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"skipped\",\"step\":\"z\",\"connector\":\"http\",\"error\":\"when false\"},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"b\",\"connector\":\"http\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":2},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":2},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"a\",\"connector\":\"http\",\"attempt\":1}]",
           (long long)run[0], (long long)run[1], next_us, (long long)run[3], (long long)run[2],
           (long long)run[2], (long long)run[0], (long long)run[1], (long long)run[3],
           (long long)run[4]);
  answers = step_events(f, "w1", ev);
  assert_string_equal(answers, "ok,ok,ok,no_attempt,ok,ok,ok,already_succeeded,lease_lost");
  free(answers);
  long long rows = count(f, "case_timeline");

  /* What was written, per case, in order. */
  static const char *const want[4] = {
      "case_opened,alert_attached,step_started:a,step_succeeded:a,step_started:b",
      "case_opened,alert_attached,step_started:a,step_retried:a,step_started:a",
      "case_opened,alert_attached,step_started:a,step_skipped:z",
      "case_opened,alert_attached,step_started:a,step_succeeded:a",
  };
  for (int i = 0; i < 4; i++) {
    char *kinds = timeline_kinds(f, kase[i]);
    assert_string_equal(kinds, want[i]);
    free(kinds);
  }
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)run[1]);
  char *states = parry_test_pg_text(
      conn_of(f),
      "SELECT string_agg(attempt || ':' || state || ':' || (next_attempt_at IS NOT NULL) || ':' "
      "|| coalesce(error, '-'), ',' ORDER BY attempt) FROM step_runs WHERE run_id = $1::bigint",
      id);
  assert_string_equal(states, "1:retrying:true:HTTP 500,2:running:false:-");
  free(states);
  snprintf(id, sizeof id, "%lld", (long long)run[0]);
  char *out = parry_test_pg_text(conn_of(f),
                                 "SELECT outputs->>'country' || ':' || idempotency_key FROM "
                                 "step_runs WHERE run_id = $1::bigint AND step_id = 'a'",
                                 id);
  assert_string_equal(out, "NL:set-based-0:a");
  free(out);

  /* The same batch again changes nothing and says so. */
  answers = step_events(f, "w1", ev);
  assert_string_equal(answers,
                      "replay,replay,replay,no_attempt,replay,replay,replay,already_succeeded,"
                      "lease_lost");
  free(answers);
  assert_int_equal(count(f, "case_timeline"), rows);
}

static void test_expired_lease_reclaimed(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  make_runs(f, 1);
  char errstr[512];
  parry_run_t **runs = NULL;
  size_t n = 0;
  /* Replica A claims with a short lease, starts a step, and "dies". */
  if (parry_store_claim_runs(f->store, "replica-a", 200 * 1000000LL, 10, &runs, &n, errstr,
                             sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  int64_t run = runs[0]->id;
  parry_runs_free(runs, n);
  struct json_object *inputs = json_tokener_parse("{\"url\":\"http://fw/block\"}");
  assert_int_equal(step(f, "replica-a", PARRY_STEP_EV_STARTED, run, "block", 1, inputs, NULL,
                        false, errstr, sizeof errstr), PARRY_OK);
  json_object_put(inputs);

  parry_store_t *b = open_other(f);
  if (parry_store_claim_runs(b, "replica-b", 30 * SEC, 10, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 0); /* lease still live */
  parry_runs_free(runs, n);
  usleep(300 * 1000);
  if (parry_store_claim_runs(b, "replica-b", 30 * SEC, 10, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  assert_int_equal(runs[0]->id, run);
  assert_int_equal(runs[0]->claims, 2);
  /* The step in flight is visible with its idempotency key, to be retried
   * with the same key. */
  const parry_step_record_t *rec = parry_run_step(runs[0], "block");
  assert_non_null(rec);
  assert_int_equal(rec->state, PARRY_STEP_RUNNING);
  assert_int_equal(rec->attempt, 1);
  assert_string_equal(rec->idempotency_key, "run-alert-0:block");
  assert_string_equal(json_object_get_string(json_object_object_get(rec->inputs, "url")),
                      "http://fw/block");
  parry_runs_free(runs, n);

  /* A is fenced off: nothing it records lands. */
  assert_int_equal(step(f, "replica-a", PARRY_STEP_EV_SUCCEEDED, run, "block", 1, NULL, NULL,
                        false, errstr, sizeof errstr), PARRY_ERR_NOT_FOUND);
  assert_int_equal(parry_store_run_finish(f->store, run, "replica-a", PARRY_RUN_SUCCEEDED, NULL,
                                          errstr, sizeof errstr), PARRY_ERR_NOT_FOUND);
  {
    parry_run_state_t states[2] = {PARRY_RUN_SUCCEEDED, PARRY_RUN_RUNNING};
    int64_t ids[2] = {run, run};
    const char *errors[2] = {"done", NULL};
    bool done[2] = {true, true};
    assert_int_equal(parry_store_runs_finish(f->store, "replica-a", ids, states, errors, 2, done,
                                             errstr, sizeof errstr), PARRY_OK);
    assert_false(done[0]); /* lease lost */
    assert_false(done[1]); /* not a final state */
  }
  size_t renewed = 9;
  assert_int_equal(parry_store_renew_leases(f->store, "replica-a", 30 * SEC, &renewed, errstr,
                                            sizeof errstr), PARRY_OK);
  assert_int_equal(renewed, 0);
  /* B retries the step (attempt 2, same key) and finishes. */
  parry_store_t *keep = f->store;
  f->store = b;
  assert_int_equal(step(f, "replica-b", PARRY_STEP_EV_STARTED, run, "block", 2, NULL, NULL,
                        false, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "replica-b", PARRY_STEP_EV_SUCCEEDED, run, "block", 2, NULL, NULL,
                        false, errstr, sizeof errstr), PARRY_OK);
  f->store = keep;
  char *keys = parry_test_pg_text(conn_of(f),
                                  "SELECT string_agg(attempt || '=' || idempotency_key || '/' "
                                  "|| state, ',' ORDER BY attempt) FROM step_runs",
                                  NULL);
  assert_string_equal(keys, "1=run-alert-0:block/running,2=run-alert-0:block/succeeded");
  free(keys);
  assert_int_equal(parry_store_run_finish(b, run, "replica-b", PARRY_RUN_SUCCEEDED, NULL, errstr,
                                          sizeof errstr), PARRY_OK);
  parry_run_t *loaded = NULL;
  assert_int_equal(parry_store_run_load(f->store, run, &loaded, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(loaded->state, PARRY_RUN_SUCCEEDED);
  parry_run_free(loaded);
  char *kinds = timeline_kinds(f, 1);
  assert_string_equal(kinds, "case_opened,alert_attached,step_started:block,run_resumed,"
                             "step_started:block,step_succeeded:block,run_succeeded");
  free(kinds);
  /* Finished runs are never claimed again. */
  if (parry_store_claim_runs(b, "replica-b", 30 * SEC, 10, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 0);
  parry_runs_free(runs, n);
  parry_store_close(b);
}

/* Runs leased by the ingest transaction itself: returned loaded, held by
 * the owner's lease (no claimer gets them, the owner's step events land),
 * the rest left pending; a short lease expires like a claimed run's. */
static void test_ingest_leased(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char errstr[512];
  test_alert_t t[4];
  test_in_t ti[4];
  parry_store_alert_in_t in[4];
  static const char *const ips[4] = {"10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4"};
  for (int i = 0; i < 4; i++) {
    char id[32];
    snprintf(id, sizeof id, "leased-%d", i);
    alert_make(&t[i], id, T0, ips[i], "root", NULL); /* copies the id, keeps ips[i] */
    in_make(&ti[i], &t[i], "ssh-block", HOUR);
    in[i] = ti[i].in;
  }
  parry_store_ingest_result_t res[3];
  parry_run_t **runs = NULL;
  size_t n = 0;
  if (parry_store_ingest_batch_leased(f->store, in, 3, res, "w-ingest", 30 * SEC, 2, &runs, &n,
                                      errstr, sizeof errstr))
    fail_msg("%s", errstr);
  for (int i = 0; i < 3; i++) {
    assert_false(res[i].duplicate);
    assert_int_equal(res[i].n_cases, 1);
    assert_int_equal(res[i].cases[0].outcome, PARRY_STORE_OPENED);
  }
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(runs[i]->id, res[i].cases[0].run_id);
    assert_int_equal(runs[i]->case_id, res[i].cases[0].case_id);
    assert_int_equal(runs[i]->state, PARRY_RUN_RUNNING);
    assert_int_equal(runs[i]->claims, 1);
    assert_string_equal(runs[i]->runbook, "ssh-block");
    assert_string_equal(runs[i]->runbook_version, "v1");
    assert_string_equal(runs[i]->alert_id, t[i].a.id);
    assert_true(runs[i]->lease_until_ns > T0);
    assert_int_equal(runs[i]->n_steps, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(runs[i]->alert, "id")),
                        t[i].a.id);
    assert_int_equal(json_object_get_int64(json_object_object_get(runs[i]->case_obj, "id")),
                     runs[i]->case_id);
  }
  int64_t leased0 = runs[0]->id;
  parry_runs_free(runs, n);
  /* Another replica claims only the run left pending. */
  parry_store_t *b = open_other(f);
  if (parry_store_claim_runs(b, "replica-b", 30 * SEC, 10, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  assert_int_equal(runs[0]->id, res[2].cases[0].run_id);
  parry_runs_free(runs, n);
  /* The owner's step events land; the other's are fenced off. */
  assert_int_equal(step(f, "w-ingest", PARRY_STEP_EV_STARTED, leased0, "block", 1, NULL, NULL,
                        false, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "replica-b", PARRY_STEP_EV_SUCCEEDED, leased0, "block", 1, NULL,
                        NULL, false, errstr, sizeof errstr), PARRY_ERR_NOT_FOUND);
  /* Redelivered: all duplicates, nothing leased. */
  if (parry_store_ingest_batch_leased(f->store, in, 3, res, "w-ingest", 30 * SEC, 5, &runs, &n,
                                      errstr, sizeof errstr))
    fail_msg("%s", errstr);
  for (int i = 0; i < 3; i++) assert_true(res[i].duplicate);
  assert_int_equal(n, 0);
  parry_runs_free(runs, n);
  /* One alert alone, a short lease: the owner "dies", the lease expires
   * and another replica resumes the run. */
  if (parry_store_ingest_batch_leased(f->store, &in[3], 1, res, "w-dies", 200 * 1000000LL, 5,
                                      &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  int64_t dying = runs[0]->id;
  parry_runs_free(runs, n);
  if (parry_store_claim_runs(b, "replica-b", 30 * SEC, 10, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 0); /* lease still live */
  parry_runs_free(runs, n);
  usleep(300 * 1000);
  if (parry_store_claim_runs(b, "replica-b", 30 * SEC, 10, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  assert_int_equal(runs[0]->id, dying);
  assert_int_equal(runs[0]->claims, 2);
  parry_runs_free(runs, n);
  parry_store_close(b);
  for (int i = 0; i < 4; i++) alert_free(&t[i]);
}

/* parry_step_events on a batch of several runs: every answer
 * parry_step_event gives, and the timeline rows in event order. */
static char *step_events(fixture_t *f, const char *owner, const char *events) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT array_to_string(parry_step_events('%s', $1::jsonb), ',')",
           owner);
  return parry_test_pg_text(conn_of(f), sql, events);
}

static void test_step_events_answers(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  make_runs(f, 3);
  char errstr[512];
  parry_run_t **runs = NULL;
  size_t n = 0;
  if (parry_store_claim_runs(f->store, "w1", 30 * SEC, 2, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 2);
  long long a = runs[0]->id, b = runs[1]->id, case_a = runs[0]->case_id;
  parry_runs_free(runs, n);
  if (parry_store_claim_runs(f->store, "w2", 30 * SEC, 5, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  long long c = runs[0]->id;
  parry_runs_free(runs, n);
  char ev[1024];
  snprintf(ev, sizeof ev,
           "[{\"run\":%lld,\"kind\":\"started\",\"step\":\"s1\",\"attempt\":1,"
           "\"connector\":\"http\",\"inputs\":{\"u\":1}},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"s1\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"s1\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"succeeded\",\"step\":\"s0\",\"attempt\":1}]",
           a, b, c, a);
  char *got = step_events(f, "w1", ev);
  assert_string_equal(got, "ok,ok,lease_lost,no_attempt");
  free(got);
  snprintf(ev, sizeof ev,
           "[{\"run\":%lld,\"kind\":\"succeeded\",\"step\":\"s1\",\"attempt\":1,"
           "\"outputs\":{\"x\":2}},"
           "{\"run\":%lld,\"kind\":\"succeeded\",\"step\":\"s1\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"s2\",\"attempt\":1}]",
           a, b, a);
  got = step_events(f, "w1", ev);
  assert_string_equal(got, "ok,ok,ok");
  free(got);
  snprintf(ev, sizeof ev,
           "[{\"run\":%lld,\"kind\":\"started\",\"step\":\"s1\",\"attempt\":2},"
           "{\"run\":%lld,\"kind\":\"succeeded\",\"step\":\"s1\",\"attempt\":1},"
           "{\"run\":%lld,\"kind\":\"started\",\"step\":\"s2\",\"attempt\":1}]",
           a, b, a);
  got = step_events(f, "w1", ev);
  assert_string_equal(got, "already_succeeded,replay,replay");
  free(got);
  char *kinds = timeline_kinds(f, case_a);
  assert_string_equal(kinds, "case_opened,alert_attached,step_started:s1,step_succeeded:s1,"
                             "step_started:s2");
  free(kinds);
  char id[24];
  snprintf(id, sizeof id, "%lld", a);
  char *rows = parry_test_pg_text(
      conn_of(f),
      "SELECT string_agg(step_id || '/' || attempt || '/' || state || '/' || idempotency_key "
      "|| '/' || coalesce(inputs::text, '-') || '/' || coalesce(outputs::text, '-'), ',' "
      "ORDER BY step_id) FROM step_runs WHERE run_id = $1::bigint",
      id);
  assert_string_equal(rows, "s1/1/succeeded/run-alert-0:s1/{\"u\": 1}/{\"x\": 2},"
                            "s2/1/running/run-alert-0:s2/-/-");
  free(rows);
  char *data = parry_test_pg_text(
      conn_of(f),
      "SELECT string_agg(data::text, ';' ORDER BY id) FROM case_timeline "
      "WHERE run_id = $1::bigint AND kind LIKE 'step_%'",
      id);
  assert_string_equal(data, "{\"inputs\": {\"u\": 1}, \"connector\": \"http\", "
                            "\"idempotency_key\": \"run-alert-0:s1\"};"
                            "{\"outputs\": {\"x\": 2}};"
                            "{\"inputs\": null, \"connector\": null, "
                            "\"idempotency_key\": \"run-alert-0:s2\"}");
  free(data);
}

static void test_step_transitions_and_timeline(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  make_runs(f, 1);
  char errstr[512];
  parry_run_t **runs = NULL;
  size_t n = 0;
  if (parry_store_claim_runs(f->store, "w1", 30 * SEC, 1, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  int64_t run = runs[0]->id;
  parry_runs_free(runs, n);

  struct json_object *in1 = json_tokener_parse("{\"ip\":\"10.0.0.1\"}");
  struct json_object *out1 = json_tokener_parse("{\"country\":\"NL\",\"asn\":64500}");
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_STARTED, run, "enrich", 1, in1, NULL, false,
                        errstr, sizeof errstr), PARRY_OK);
  /* A replayed start changes nothing. */
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_STARTED, run, "enrich", 1, in1, NULL, false,
                        errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_SUCCEEDED, run, "enrich", 1, out1, NULL, false,
                        errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_STARTED, run, "block", 1, in1, NULL, false,
                        errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_FAILED, run, "block", 1, NULL, "HTTP 503", true,
                        errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_STARTED, run, "block", 2, in1, NULL, false,
                        errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_FAILED, run, "block", 0, NULL, "HTTP 400", false,
                        errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_SKIPPED, run, "notify", 0, NULL,
                        "needs block, which failed", false, errstr, sizeof errstr), PARRY_OK);
  /* A recorded success is never started again. */
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_STARTED, run, "enrich", 2, in1, NULL, false,
                        errstr, sizeof errstr), PARRY_ERR_INVALID);
  /* Finishing an attempt that never started. */
  assert_int_equal(step(f, "w1", PARRY_STEP_EV_SUCCEEDED, run, "ticket", 1, NULL, NULL, false,
                        errstr, sizeof errstr), PARRY_ERR_NOT_FOUND);
  json_object_put(in1);
  json_object_put(out1);

  parry_run_t *r = NULL;
  assert_int_equal(parry_store_run_load(f->store, run, &r, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(r->n_steps, 3);
  const parry_step_record_t *e = parry_run_step(r, "enrich");
  assert_int_equal(e->state, PARRY_STEP_SUCCEEDED);
  assert_int_equal(e->attempt, 1);
  assert_int_equal(json_object_get_int(json_object_object_get(e->outputs, "asn")), 64500);
  assert_true(e->finished_ns >= e->started_ns && e->started_ns > 0);
  const parry_step_record_t *b = parry_run_step(r, "block");
  assert_int_equal(b->state, PARRY_STEP_FAILED);
  assert_int_equal(b->attempt, 2);
  assert_string_equal(b->error, "HTTP 400");
  assert_null(b->outputs);
  const parry_step_record_t *s = parry_run_step(r, "notify");
  assert_int_equal(s->state, PARRY_STEP_SKIPPED);
  assert_null(parry_run_step(r, "ticket"));
  parry_run_free(r);
  char *retry = parry_test_pg_text(conn_of(f),
                                   "SELECT state || ',' || retryable || ',' || "
                                   "(next_attempt_at > now()) FROM step_runs WHERE step_id = "
                                   "'block' AND attempt = 1",
                                   NULL);
  assert_string_equal(retry, "retrying,true,true");
  free(retry);

  assert_int_equal(parry_store_run_finish(f->store, run, "w1", PARRY_RUN_FAILED,
                                          "step block failed", errstr, sizeof errstr), PARRY_OK);
  char *kinds = timeline_kinds(f, 1);
  assert_string_equal(kinds,
                      "case_opened,alert_attached,step_started:enrich,step_succeeded:enrich,"
                      "step_started:block,step_retried:block,step_started:block,"
                      "step_failed:block,step_skipped:notify,run_failed");
  free(kinds);
  struct json_object *tl = NULL;
  assert_int_equal(parry_store_case_timeline(f->store, 1, 0, &tl, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(json_object_array_length(tl), 10);
  struct json_object *third = json_object_array_get_idx(tl, 3);
  struct json_object *data = json_object_object_get(third, "data");
  assert_string_equal(json_object_get_string(json_object_object_get(
                          json_object_object_get(data, "outputs"), "country")), "NL");
  json_object_put(tl);

  /* Batched transitions: each its own transaction; a foreign owner's fails
   * alone. */
  parry_store_ingest_result_t ir = ingest(f, "batch-run", T0, "10.9.9.9", "ssh-block", HOUR);
  if (parry_store_claim_runs(f->store, "w1", 30 * SEC, 1, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 1);
  assert_int_equal(runs[0]->id, ir.cases[0].run_id);
  parry_runs_free(runs, n);
  parry_step_event_t ev[4] = {
      {.kind = PARRY_STEP_EV_STARTED, .run_id = ir.cases[0].run_id, .step_id = "a", .attempt = 1},
      {.kind = PARRY_STEP_EV_STARTED, .run_id = run, .step_id = "x", .attempt = 1},
      {.kind = PARRY_STEP_EV_SUCCEEDED, .run_id = ir.cases[0].run_id, .step_id = "a"},
      {.kind = PARRY_STEP_EV_STARTED, .run_id = ir.cases[0].run_id, .step_id = "b", .attempt = 1},
  };
  bool ok[4];
  assert_int_equal(parry_store_steps(f->store, "w1", ev, 4, ok, errstr, sizeof errstr), PARRY_OK);
  assert_true(ok[0]);
  assert_false(ok[1]); /* run finished: no lease */
  assert_true(ok[2]);
  assert_true(ok[3]);
  kinds = timeline_kinds(f, ir.cases[0].case_id);
  assert_string_equal(kinds, "case_opened,alert_attached,step_started:a,step_succeeded:a,"
                             "step_started:b");
  free(kinds);

  /* A transition the server refuses (a test trigger stands in for any
   * failure) costs only itself: the batch is redone a transaction each. */
  parry_test_pg_exec(conn_of(f),
                     "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF NEW.step_id = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; "
                     "RETURN NEW; END $$");
  parry_test_pg_exec(conn_of(f),
                     "CREATE TRIGGER boom BEFORE INSERT ON step_runs FOR EACH ROW "
                     "EXECUTE FUNCTION boom()");
  parry_step_event_t ev2[3] = {
      {.kind = PARRY_STEP_EV_SUCCEEDED, .run_id = ir.cases[0].run_id, .step_id = "b"},
      {.kind = PARRY_STEP_EV_STARTED, .run_id = ir.cases[0].run_id, .step_id = "boom", .attempt = 1},
      {.kind = PARRY_STEP_EV_STARTED, .run_id = ir.cases[0].run_id, .step_id = "c", .attempt = 1},
  };
  assert_int_equal(parry_store_steps(f->store, "w1", ev2, 3, ok, errstr, sizeof errstr), PARRY_OK);
  assert_true(ok[0]);
  assert_false(ok[1]);
  assert_true(ok[2]);
  assert_int_equal(PQtransactionStatus(conn_of(f)), PQTRANS_IDLE);
  kinds = timeline_kinds(f, ir.cases[0].case_id);
  assert_string_equal(kinds, "case_opened,alert_attached,step_started:a,step_succeeded:a,"
                             "step_started:b,step_succeeded:b,step_started:c");
  free(kinds);
}

static void test_timeline_append_only(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  make_runs(f, 1);
  long long rows = count(f, "case_timeline");
  assert_true(rows >= 2);
  static const char *const sql[] = {
      "UPDATE case_timeline SET kind = 'case_updated'",
      "UPDATE case_timeline SET data = '{}' WHERE id = 1",
      "DELETE FROM case_timeline",
      "DELETE FROM case_timeline WHERE id = 1",
      "TRUNCATE case_timeline CASCADE",
  };
  for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
    PGresult *res = PQexec(conn_of(f), sql[i]);
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23001");
    assert_non_null(strstr(PQresultErrorMessage(res), "append-only"));
    PQclear(res);
  }
  assert_int_equal(count(f, "case_timeline"), rows);
}

/* ------------------------------------------------------------------------ */
/* Masking */

static void test_masking(void **state) {
  fixture_t *f = *state;
  static const char *const secrets[] = {"s3cr3t-t0ken-value", "abc"};
  struct json_object *v = json_tokener_parse(
      "{\"url\":\"https://fw/api?key=s3cr3t-t0ken-value&x=1\","
      "\"headers\":{\"Authorization\":\"Bearer xyz\",\"X-Api-Key\":\"k\",\"Accept\":\"json\"},"
      "\"password\":{\"nested\":1},\"list\":[\"s3cr3t-t0ken-value\",2,true,null,1.5],"
      "\"body\":{\"db_PASSWD\":\"p\",\"note\":\"abc stays: short secrets are ignored\"},"
      "\"s3cr3t-t0ken-value\":\"as a key\",\"count\":18446744073709551615}");
  assert_non_null(v);
  struct json_object *m = parry_store_mask_json(v, secrets, 2);
  const char *text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
  assert_string_equal(
      text,
      "{\"url\":\"https:\\/\\/fw\\/api?key=****&x=1\","
      "\"headers\":{\"Authorization\":\"****\",\"X-Api-Key\":\"****\",\"Accept\":\"json\"},"
      "\"password\":\"****\",\"list\":[\"****\",2,true,null,1.5],"
      "\"body\":{\"db_PASSWD\":\"****\",\"note\":\"abc stays: short secrets are ignored\"},"
      "\"****\":\"as a key\",\"count\":18446744073709551615}");
  json_object_put(m);
  json_object_put(v);
  char *t = parry_store_mask_text("error: token s3cr3t-t0ken-values rejected", secrets, 2);
  assert_string_equal(t, "error: token ****s rejected");
  free(t);
  assert_null(parry_store_mask_json(NULL, secrets, 2));

  /* Through the store: nothing secret reaches step_runs or the timeline. */
  NEED_SERVER(f);
  make_runs(f, 1);
  parry_store_add_secret(f->store, "s3cr3t-t0ken-value");
  char errstr[512];
  parry_run_t **runs = NULL;
  size_t n = 0;
  if (parry_store_claim_runs(f->store, "w", 30 * SEC, 1, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  int64_t run = runs[0]->id;
  parry_runs_free(runs, n);
  struct json_object *in = json_tokener_parse(
      "{\"url\":\"https://fw/?t=s3cr3t-t0ken-value\",\"headers\":{\"Authorization\":"
      "\"Basic dXNlcjpwYXNz\"}}");
  struct json_object *out = json_tokener_parse("{\"session_token\":\"zzz-top-secret\"}");
  assert_int_equal(step(f, "w", PARRY_STEP_EV_STARTED, run, "a", 1, in, NULL, false, errstr,
                        sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w", PARRY_STEP_EV_FAILED, run, "a", 1, NULL,
                        "401 for s3cr3t-t0ken-value", true, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w", PARRY_STEP_EV_STARTED, run, "a", 2, in, NULL, false, errstr,
                        sizeof errstr), PARRY_OK);
  assert_int_equal(step(f, "w", PARRY_STEP_EV_SUCCEEDED, run, "a", 2, out, NULL, false, errstr,
                        sizeof errstr), PARRY_OK);
  json_object_put(in);
  json_object_put(out);
  char *all = parry_test_pg_text(conn_of(f),
                                 "SELECT (SELECT string_agg(data::text, ' ') FROM case_timeline)"
                                 " || (SELECT string_agg(coalesce(inputs::text, '') || "
                                 "coalesce(outputs::text, '') || coalesce(error, ''), ' ') "
                                 "FROM step_runs)",
                                 NULL);
  assert_null(strstr(all, "s3cr3t"));
  assert_null(strstr(all, "dXNlcjpwYXNz"));
  assert_null(strstr(all, "zzz-top-secret"));
  assert_non_null(strstr(all, "https://fw/?t=****"));
  assert_non_null(strstr(all, "401 for ****"));
  free(all);
}

/* ------------------------------------------------------------------------ */
/* Cases and history */

static void test_case_update(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  parry_store_ingest_result_t r = ingest(f, "u1", T0, "10.1.1.1", "ssh-block", HOUR);
  int64_t id = r.cases[0].case_id;
  char errstr[512];
  bool changed = false;
  const char *add[] = {"brute-force", "ssh", "brute-force"};
  parry_case_update_t u = PARRY_CASE_UPDATE_INIT;
  u.severity = "critical";
  u.assignee = "alice";
  u.add_tags = add;
  u.n_add_tags = 3;
  u.escalated = 1;
  u.actor = "runbook:ssh-block/escalate";
  u.note = "escalated to IR";
  assert_int_equal(parry_store_case_update(f->store, id, &u, &changed, errstr, sizeof errstr),
                   PARRY_OK);
  assert_true(changed);
  /* The same again: nothing changes, no row. */
  u.note = NULL;
  assert_int_equal(parry_store_case_update(f->store, id, &u, &changed, errstr, sizeof errstr),
                   PARRY_OK);
  assert_false(changed);
  parry_case_update_t v = PARRY_CASE_UPDATE_INIT;
  const char *rm[] = {"ssh"};
  v.remove_tags = rm;
  v.n_remove_tags = 1;
  v.status = "closed";
  v.resolution = "true_positive";
  v.assignee = "";
  assert_int_equal(parry_store_case_update(f->store, id, &v, &changed, errstr, sizeof errstr),
                   PARRY_OK);
  assert_true(changed);
  struct json_object *c = NULL;
  assert_int_equal(parry_store_case_get(f->store, id, &c, errstr, sizeof errstr), PARRY_OK);
  assert_string_equal(json_object_to_json_string_ext(json_object_object_get(c, "tags"),
                                                     JSON_C_TO_STRING_PLAIN),
                      "[\"brute-force\"]");
  assert_string_equal(json_object_get_string(json_object_object_get(c, "status")), "closed");
  assert_string_equal(json_object_get_string(json_object_object_get(c, "severity")), "critical");
  assert_true(json_object_get_boolean(json_object_object_get(c, "escalated")));
  struct json_object *assignee = json_object_object_get(c, "assignee");
  assert_true(assignee == NULL || json_object_get_type(assignee) == json_type_null);
  assert_false(json_object_get_boolean(json_object_object_get(c, "accepting")));
  json_object_put(c);
  char *kinds = timeline_kinds(f, id);
  assert_string_equal(kinds, "case_opened,alert_attached,case_updated,case_updated");
  free(kinds);
  char *changes = parry_test_pg_text(conn_of(f),
                                     "SELECT data->'changes'->'severity'->>'from' || '>' || "
                                     "(data->'changes'->'severity'->>'to') || ' ' || actor || ' '"
                                     " || (data->>'note') FROM case_timeline WHERE kind = "
                                     "'case_updated' ORDER BY id LIMIT 1",
                                     NULL);
  assert_string_equal(changes, "high>critical runbook:ssh-block/escalate escalated to IR");
  free(changes);
  /* A closed case takes no more alerts: the group opens a new one. */
  r = ingest(f, "u2", T0 + SEC, "10.1.1.1", "ssh-block", HOUR);
  assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
  assert_true(r.cases[0].case_id != id);
  /* Bad values and unknown cases. */
  parry_case_update_t bad = PARRY_CASE_UPDATE_INIT;
  bad.status = "deleted";
  assert_int_equal(parry_store_case_update(f->store, id, &bad, NULL, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  bad.status = "open";
  assert_int_equal(parry_store_case_update(f->store, 9999, &bad, NULL, errstr, sizeof errstr),
                   PARRY_ERR_NOT_FOUND);
  assert_int_equal(parry_store_case_get(f->store, 9999, &c, errstr, sizeof errstr),
                   PARRY_ERR_NOT_FOUND);

  /* Listing with filters, newest first. */
  struct json_object *list = NULL;
  parry_case_filter_t filter = {.status = "open"};
  assert_int_equal(parry_store_case_list(f->store, &filter, &list, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(json_object_array_length(list), 1);
  json_object_put(list);
  assert_int_equal(parry_store_case_list(f->store, NULL, &list, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(json_object_array_length(list), 2);
  assert_int_equal(json_object_get_int64(json_object_object_get(json_object_array_get_idx(list, 0),
                                                                "id")), r.cases[0].case_id);
  json_object_put(list);
}

static void test_entity_history(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  char errstr[512];
  parry_entity_history_t h;
  assert_int_equal(parry_store_entity_history(f->store, PARRY_ENTITY_IP, "203.0.113.50", 0, &h,
                                              errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(h.alert_count, 0);
  assert_int_equal(h.case_count, 0);
  assert_int_equal(h.first_seen_ns, 0);
  assert_string_equal(h.last_case_status, "");

  /* Case 1: three alerts in the first hour; closed as a false positive.
   * Case 2: two alerts two hours later. Plus one alert no runbook matched. */
  parry_store_ingest_result_t r1 = ingest(f, "e1", T0, "203.0.113.50", "ssh-block", HOUR);
  ingest(f, "e2", T0 + 60 * SEC, "203.0.113.50", "ssh-block", HOUR);
  ingest(f, "e3", T0 + 120 * SEC, "203.0.113.50", "ssh-block", HOUR);
  parry_case_update_t u = PARRY_CASE_UPDATE_INIT;
  u.status = "resolved";
  u.resolution = "false_positive";
  assert_int_equal(parry_store_case_update(f->store, r1.cases[0].case_id, &u, NULL, errstr,
                                           sizeof errstr), PARRY_OK);
  parry_store_ingest_result_t r2 = ingest(f, "e4", T0 + 2 * HOUR, "203.0.113.50", "ssh-block",
                                          HOUR);
  ingest(f, "e5", T0 + 2 * HOUR + SEC, "203.0.113.50", "ssh-block", HOUR);
  ingest(f, "e6", T0 + 3 * HOUR, "203.0.113.50", NULL, 0);
  ingest(f, "other", T0, "203.0.113.51", "ssh-block", HOUR);

  assert_int_equal(parry_store_entity_history(f->store, PARRY_ENTITY_IP, "203.0.113.50", 0, &h,
                                              errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(h.alert_count, 6);
  assert_int_equal(h.case_count, 2);
  assert_int_equal(h.first_seen_ns, T0);
  assert_int_equal(h.last_seen_ns, T0 + 3 * HOUR);
  assert_int_equal(h.last_case_id, r2.cases[0].case_id);
  assert_string_equal(h.last_case_status, "open");
  assert_string_equal(h.last_run_state, "pending");
  /* Asked from case 2: the earlier case only. */
  assert_int_equal(parry_store_entity_history(f->store, PARRY_ENTITY_IP, "203.0.113.50",
                                              r2.cases[0].case_id, &h, errstr, sizeof errstr),
                   PARRY_OK);
  assert_int_equal(h.alert_count, 4);
  assert_int_equal(h.case_count, 1);
  assert_int_equal(h.last_case_id, r1.cases[0].case_id);
  assert_string_equal(h.last_case_status, "resolved");
  assert_string_equal(h.last_case_resolution, "false_positive");
  /* The user of the group_by ("user.name": root) is indexed too. */
  assert_int_equal(parry_store_entity_history(f->store, PARRY_ENTITY_USER, "root", 0, &h,
                                              errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(h.alert_count, 7);
  assert_int_equal(h.case_count, 3);
  parry_entity_kind_t k;
  assert_true(parry_entity_kind_parse("host", &k));
  assert_int_equal(k, PARRY_ENTITY_HOST);
  assert_false(parry_entity_kind_parse("mac", &k));
}

/* The server ends the store's session (a restart, a failover, an admin):
 * the failure is classified as a connection loss, and the next call
 * reconnects, restores the schema and the prepared statements. */
static void test_reconnects(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  ingest(f, "before", T0, "10.7.7.7", "ssh-block", HOUR);
  parry_store_t *admin = open_other(f);
  char pid[16], errstr[512];
  for (int round = 0; round < 2; round++) {
    snprintf(pid, sizeof pid, "%d", PQbackendPID(conn_of(f)));
    assert_int_equal(parry_test_pg_int(parry_store_conn(admin),
                                       "SELECT pg_terminate_backend($1::int, 5000)::int", pid),
                     1);
    test_alert_t t[2];
    test_in_t in[2];
    parry_store_alert_in_t batch[2];
    parry_store_ingest_result_t res[2];
    for (int i = 0; i < 2; i++) {
      char id[32];
      snprintf(id, sizeof id, "after-%d-%d", round, i);
      alert_make(&t[i], id, T0 + SEC, "10.7.7.7", "root", NULL);
      in_make(&in[i], &t[i], "ssh-block", HOUR);
      batch[i] = in[i].in;
    }
    /* Round 0 loses the connection on a single ingest, round 1 in a batch
     * (pipeline mode). */
    parry_err_t err = round == 0
                          ? parry_store_ingest_alert(f->store, &batch[0], &res[0], errstr, sizeof errstr)
                          : parry_store_ingest_batch(f->store, batch, 2, res, errstr, sizeof errstr);
    assert_int_equal(err, PARRY_ERR_EXTERNAL);
    print_message("# expected error: %s\n", errstr);
    assert_int_equal(parry_store_error_kind(f->store), PARRY_PG_CONNECTION);
    if (parry_store_ingest_batch(f->store, batch, 2, res, errstr, sizeof errstr))
      fail_msg("after reconnecting: %s", errstr);
    assert_int_equal(parry_store_error_kind(f->store), PARRY_PG_OK);
    assert_int_equal(res[0].cases[0].outcome, PARRY_STORE_ATTACHED);
    assert_int_equal(res[1].cases[0].outcome, PARRY_STORE_ATTACHED);
    for (int i = 0; i < 2; i++) alert_free(&t[i]);
  }
  parry_store_close(admin);
  assert_int_equal(parry_test_pg_int(conn_of(f), "SELECT alert_count FROM cases", NULL), 5);
}

/* ------------------------------------------------------------------------ */
/* Throughput (printed, not asserted) */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_ingest_throughput(void **state) {
  fixture_t *f = *state;
  NEED_SERVER(f);
  enum { N = 4000, BATCH = 100, GROUPS = 200 };
  test_alert_t *t = calloc(N, sizeof *t);
  test_in_t *in = calloc(N, sizeof *in);
  parry_store_alert_in_t *batch = calloc(N, sizeof *batch);
  parry_store_ingest_result_t *res = calloc(N, sizeof *res);
  char ips[GROUPS][32];
  for (int g = 0; g < GROUPS; g++) snprintf(ips[g], sizeof ips[g], "10.%d.%d.1", g / 250, g % 250);
  for (int i = 0; i < N; i++) {
    char id[32];
    snprintf(id, sizeof id, "tp-%05d", i);
    alert_make(&t[i], id, T0 + i * 1000000LL, ips[i % GROUPS], "root", NULL);
    in_make(&in[i], &t[i], i < N / 2 ? "rb-single" : "rb-batch", HOUR);
    batch[i] = in[i].in;
  }
  char errstr[512];
  double t0 = now_s();
  for (int i = 0; i < N / 2; i++)
    if (parry_store_ingest_alert(f->store, &batch[i], &res[i], errstr, sizeof errstr))
      fail_msg("%s", errstr);
  double single = (N / 2) / (now_s() - t0);
  t0 = now_s();
  for (int i = N / 2; i < N; i += BATCH)
    if (parry_store_ingest_batch(f->store, &batch[i], BATCH, &res[i], errstr, sizeof errstr))
      fail_msg("%s", errstr);
  double batched = (N / 2) / (now_s() - t0);
  /* Redelivery of the whole batched half. */
  t0 = now_s();
  for (int i = N / 2; i < N; i += BATCH)
    if (parry_store_ingest_batch(f->store, &batch[i], BATCH, &res[i], errstr, sizeof errstr))
      fail_msg("%s", errstr);
  double dup = (N / 2) / (now_s() - t0);
  for (int i = N / 2; i < N; i++) assert_true(res[i].duplicate);
  assert_int_equal(count(f, "cases"), 2 * GROUPS);
  print_message("# ingest throughput: %.0f alerts/s one per transaction, %.0f alerts/s in "
                "batches of %d, %.0f alerts/s redelivered (%d groups, 1 connection)\n",
                single, batched, BATCH, dup, GROUPS);

  /* Step transitions, one at a time vs pipelined. */
  parry_run_t **runs = NULL;
  size_t n = 0;
  if (parry_store_claim_runs(f->store, "tp", 60 * SEC, 400, &runs, &n, errstr, sizeof errstr))
    fail_msg("%s", errstr);
  assert_int_equal(n, 2 * GROUPS);
  t0 = now_s();
  for (size_t i = 0; i < n / 2; i++) {
    parry_step_event_t ev = {.kind = PARRY_STEP_EV_STARTED, .run_id = runs[i]->id,
                             .step_id = "s", .attempt = 1};
    if (parry_store_step(f->store, "tp", &ev, errstr, sizeof errstr)) fail_msg("%s", errstr);
  }
  double steps_single = (double)(n / 2) / (now_s() - t0);
  parry_step_event_t *evs = calloc(n, sizeof *evs);
  bool *ok = calloc(n, sizeof *ok);
  size_t m = 0;
  for (size_t i = n / 2; i < n; i++)
    evs[m++] = (parry_step_event_t){.kind = PARRY_STEP_EV_STARTED, .run_id = runs[i]->id,
                                    .step_id = "s", .attempt = 1};
  t0 = now_s();
  if (parry_store_steps(f->store, "tp", evs, m, ok, errstr, sizeof errstr)) fail_msg("%s", errstr);
  double steps_piped = (double)m / (now_s() - t0);
  for (size_t i = 0; i < m; i++) assert_true(ok[i]);
  print_message("# step transitions: %.0f/s one at a time, %.0f/s in one statement (%zu)\n",
                steps_single, steps_piped, m);
  free(evs);
  free(ok);
  parry_runs_free(runs, n);

  /* The executor benchmark's shape: every alert opens its own case and run
   * (distinct IPs), whose three steps each start and succeed, transitions
   * pipelined 600 at a time (100 runs). */
  enum { OPEN = 1000 };
  char(*open_ips)[32] = calloc(OPEN, sizeof *open_ips); /* the alerts' labels point here */
  for (int i = 0; i < OPEN; i++) {
    char id[32];
    alert_free(&t[i]);
    snprintf(id, sizeof id, "open-%05d", i);
    snprintf(open_ips[i], sizeof open_ips[i], "172.%d.%d.%d", 16 + i / 65536, (i / 256) % 256,
             i % 256);
    alert_make(&t[i], id, T0 + i * 1000000LL, open_ips[i], "root", NULL);
    in_make(&in[i], &t[i], "rb-open", HOUR);
    batch[i] = in[i].in;
  }
  t0 = now_s();
  for (int i = 0; i < OPEN; i += BATCH)
    if (parry_store_ingest_batch(f->store, &batch[i], BATCH, &res[i], errstr, sizeof errstr))
      fail_msg("%s", errstr);
  double opened = OPEN / (now_s() - t0);
  for (int i = 0; i < OPEN; i++) assert_int_equal(res[i].cases[0].outcome, PARRY_STORE_OPENED);
  static const char *const step_ids[3] = {"enrich", "block", "notify"};
  struct json_object *io = json_tokener_parse("{\"url\":\"http://127.0.0.1/x\",\"status\":200}");
  evs = calloc(600, sizeof *evs);
  ok = calloc(600, sizeof *ok);
  size_t steps_done = 0;
  double finishing = 0, finishing_many = 0;
  int batches = 0;
  t0 = now_s();
  for (;;) {
    if (parry_store_claim_runs(f->store, "bench", 60 * SEC, 100, &runs, &n, errstr, sizeof errstr))
      fail_msg("%s", errstr);
    if (n == 0) break;
    for (int k = 0; k < 2; k++) { /* starts, then successes */
      m = 0;
      for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 3; j++)
          evs[m++] = (parry_step_event_t){
              .kind = k == 0 ? PARRY_STEP_EV_STARTED : PARRY_STEP_EV_SUCCEEDED,
              .run_id = runs[i]->id, .step_id = step_ids[j], .connector = "http",
              .attempt = 1, .inputs = k == 0 ? io : NULL, .outputs = k == 1 ? io : NULL};
      if (parry_store_steps(f->store, "bench", evs, m, ok, errstr, sizeof errstr))
        fail_msg("%s", errstr);
      for (size_t i = 0; i < m; i++) assert_true(ok[i]);
      steps_done += m;
    }
    double f0 = now_s();
    if (batches++ % 2) {
      for (size_t i = 0; i < n; i++)
        if (parry_store_run_finish(f->store, runs[i]->id, "bench", PARRY_RUN_SUCCEEDED, NULL,
                                   errstr, sizeof errstr))
          fail_msg("%s", errstr);
      finishing += now_s() - f0;
    } else {
      int64_t ids[100];
      parry_run_state_t states[100];
      for (size_t i = 0; i < n; i++) {
        ids[i] = runs[i]->id;
        states[i] = PARRY_RUN_SUCCEEDED;
      }
      if (parry_store_runs_finish(f->store, "bench", ids, states, NULL, n, ok, errstr,
                                  sizeof errstr))
        fail_msg("%s", errstr);
      for (size_t i = 0; i < n; i++) assert_true(ok[i]);
      finishing_many += now_s() - f0;
    }
    parry_runs_free(runs, n);
  }
  double total = now_s() - t0;
  assert_int_equal(steps_done, OPEN * 6);
  print_message("# one case per alert: %.0f alerts/s opened (batches of %d); claim + 3 steps "
                "(6 transitions in one statement per 100 runs): %.0f runs/s; finish: %.0f "
                "runs/s one at a time, %.0f runs/s 100 per statement\n",
                opened, BATCH, OPEN / (total - finishing - finishing_many),
                OPEN / 2 / finishing, OPEN / 2 / finishing_many);
  assert_int_equal(parry_test_pg_int(conn_of(f),
                                     "SELECT count(*) FROM runs WHERE runbook = 'rb-open' AND "
                                     "state = 'succeeded' AND lease_owner IS NULL",
                                     NULL),
                   OPEN);
  assert_int_equal(parry_test_pg_int(conn_of(f),
                                     "SELECT count(*) FROM case_timeline WHERE kind = "
                                     "'run_succeeded'",
                                     NULL),
                   OPEN);
  json_object_put(io);
  free(evs);
  free(ok);
  free(open_ips);
  for (int i = 0; i < N; i++) alert_free(&t[i]);
  free(t);
  free(in);
  free(batch);
  free(res);
}

int main(void) {
  parry_log_init("test_store", PARRY_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_migrations_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redelivery_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_grouping_thousand_alerts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_match_and_multi_match, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_ingest_one_case, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_ingest_across_windows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_redelivery, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_strings_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_claim_skip_locked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_claims_disjoint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expired_lease_reclaimed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ingest_leased, setup, teardown),
      cmocka_unit_test_setup_teardown(test_step_events_answers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_step_transitions_and_timeline, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeline_append_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_masking, setup, teardown),
      cmocka_unit_test_setup_teardown(test_case_update, setup, teardown),
      cmocka_unit_test_setup_teardown(test_entity_history, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reconnects, setup, teardown),
      cmocka_unit_test_setup_teardown(test_step_batch_mixed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ingest_throughput, setup, teardown),
  };
  return cmocka_run_group_tests_name("store", tests, group_setup, NULL);
}
