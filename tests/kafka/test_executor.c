/* parry-executor's intake against a real broker and PostgreSQL
 * (KAFKA_BOOTSTRAP and PARRY_PG_DSN; skipped when either is unset unless
 * PARRY_REQUIRE_SERVICES=1). The executor runs in-process (parry_worker_*)
 * on topics, a consumer group and a PostgreSQL schema of each test's own:
 *
 *   - grouping: 1,000 alerts for one IP make one case with alert_count
 *     1,000 and one run, which runs its step once;
 *   - redelivery: the same alerts produced twice, then re-read from the
 *     beginning by a new consumer group, change no row of the store; a
 *     restart in the same group reads only what is new (offsets committed);
 *   - dead letters: garbage, a too-new schema_version and an alert without
 *     id go to topics.dlq with reason, source and origin; an alert no
 *     runbook matches is stored without a case;
 *   - backpressure: with executor.max_in_flight 4 and slow steps, the
 *     consumer pauses (runs in flight stay bounded) and every run finishes;
 *   - handler and history: a failing step runs its on_failure handler (a
 *     case update), the run goes on, and the `history` step sees the other
 *     case of the same address;
 *   - lease renewal skips runs another transaction has locked instead of
 *     waiting for them (it used to deadlock with the step writers). */
#include "test_executor_support.h"

#include "store/store.h"

#define RULE_GROUP "R-GROUP"

static const char group_runbook[] =
    "name: group-test\n"
    "match:\n"
    "  rules: [" RULE_GROUP "]\n"
    "group:\n"
    "  fields: [group_by.source.ip]\n"
    "  window: 1h\n"
    "steps:\n"
    "  - id: tag\n"
    "    uses: case_update\n"
    "    with:\n"
    "      tags: [grouped]\n"
    "      note: 'opened by {{ alert.id }}'\n";

static void test_grouping(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  ex_runbook(f, "group.yml", group_runbook);
  ex_start(f);
  char json[1024], id[64];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "g-%04d", i);
    ex_alert_json(json, sizeof json, id, RULE_GROUP, "high", "203.0.113.7", i * 2);
    ex_produce_alert(f, "203.0.113.7", json);
  }
  ex_flush(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM alerts", 1000, EX_WAIT_MS));
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state = 'succeeded'", 1, EX_WAIT_MS));
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases", NULL), 1);
  assert_int_equal(ex_q_int(f, "SELECT alert_count FROM cases", NULL), 1000);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM runs", NULL), 1);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_alerts", NULL), 1000);
  /* The step ran once, and did what it says. */
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs", NULL), 1);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases WHERE 'grouped' = ANY(tags)", NULL), 1);
  char *opener = ex_q_text(f, "SELECT alert_id FROM runs", NULL);
  assert_non_null(opener);
  char *note = ex_q_text(f, "SELECT inputs->>'note' FROM step_runs", NULL);
  assert_non_null(note);
  char want[128];
  snprintf(want, sizeof want, "opened by %s", opener);
  assert_string_equal(note, want);
  free(opener);
  free(note);
  assert_int_equal(ex_metric(f, "parry_executor_alerts_total", NULL, NULL, NULL, NULL), 1000);
  assert_int_equal(ex_metric(f, "parry_executor_cases_opened_total", NULL, NULL, NULL, NULL), 1);
  assert_int_equal(ex_metric(f, "parry_executor_runs_total", "status", "succeeded", NULL, NULL), 1);
  assert_int_equal(ex_metric(f, "parry_executor_steps_total", "connector", "case_update", "status",
                             "succeeded"), 1);
  ex_stop(f);
}

/* Row counts of every table, and the sums that grouping changes. */
static char *snapshot(ex_fixture_t *f) {
  return ex_q_text(f,
                   "SELECT (SELECT count(*) FROM alerts) || '/' || (SELECT count(*) FROM cases) "
                   "|| '/' || (SELECT sum(alert_count) FROM cases) || '/' || (SELECT count(*) "
                   "FROM case_alerts) || '/' || (SELECT count(*) FROM runs) || '/' || (SELECT "
                   "count(*) FROM step_runs) || '/' || (SELECT count(*) FROM case_timeline) || "
                   "'/' || (SELECT string_agg(state, ',' ORDER BY id) FROM runs)",
                   NULL);
}

static void produce_set(ex_fixture_t *f) {
  char json[1024], id[64], ip[32];
  for (int i = 0; i < 50; i++) {
    snprintf(id, sizeof id, "r-%02d", i);
    snprintf(ip, sizeof ip, "198.51.100.%d", i % 5);
    ex_alert_json(json, sizeof json, id, RULE_GROUP, "high", ip, i);
    ex_produce_alert(f, ip, json);
  }
  ex_flush(f);
}

static void test_redelivery(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  ex_runbook(f, "group.yml", group_runbook);
  ex_start(f);
  produce_set(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM alerts", 50, EX_WAIT_MS));
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state = 'succeeded'", 5, EX_WAIT_MS));
  char *before = snapshot(f);
  /* alerts/cases/sum of counts/case_alerts/runs/step runs/timeline/run states */
  if (strncmp(before, "50/5/50/50/5/5/", 15) != 0) fail_msg("store after one delivery: %s", before);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases WHERE alert_count = 10", NULL), 5);
  /* The same alerts again, on the same group. */
  produce_set(f);
  assert_true(ex_wait_metric(f, "parry_executor_alerts_duplicate_total", NULL, NULL, 50, EX_WAIT_MS));
  usleep(300000); /* a run created by mistake would have been claimed by now */
  char *after = snapshot(f);
  assert_string_equal(before, after);
  free(after);
  ex_stop(f);
  /* A new group re-reads all 100 from the beginning: still nothing new. */
  char group[160];
  parry_test_unique_name("parry-exec-regroup", group, sizeof group);
  ex_set(f->cfg, "executor.group=%s", group);
  ex_start(f);
  assert_true(ex_wait_metric(f, "parry_executor_alerts_duplicate_total", NULL, NULL, 100, EX_WAIT_MS));
  usleep(300000);
  after = snapshot(f);
  assert_string_equal(before, after);
  free(after);
  free(before);
  assert_int_equal(ex_metric(f, "parry_executor_cases_opened_total", NULL, NULL, NULL, NULL), 0);
  ex_stop(f);
  /* The stop committed the group's offsets (batches commit asynchronously,
   * the stop waits for the broker): a restart in the same group reads only
   * what is new. */
  ex_start(f);
  char json[1024];
  ex_alert_json(json, sizeof json, "r-new", RULE_GROUP, "high", "198.51.100.77", 1);
  ex_produce_alert(f, "198.51.100.77", json);
  ex_flush(f);
  assert_true(ex_wait_metric(f, "parry_executor_alerts_total", NULL, NULL, 1, EX_WAIT_MS));
  usleep(300000);
  assert_int_equal(ex_metric(f, "parry_executor_alerts_total", NULL, NULL, NULL, NULL), 1);
  assert_int_equal(ex_metric(f, "parry_executor_alerts_duplicate_total", NULL, NULL, NULL, NULL), 0);
  ex_stop(f);
}

typedef struct {
  char *value, *reason, *source, *origin;
} dlq_msg_t;

static size_t read_dlq(ex_fixture_t *f, dlq_msg_t *out, size_t want) {
  char group[160], err[512];
  parry_test_unique_name("parry-exec-dlq-reader", group, sizeof group);
  parry_config_t *cfg = parry_test_kafka_config(f->bootstrap, NULL);
  rd_kafka_t *rk = parry_kafka_consumer_new(cfg, NULL, group, NULL, err, sizeof err);
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, f->dlq, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  size_t n = 0;
  int64_t deadline = parry_test_now_ms() + EX_WAIT_MS, extra_until = 0;
  for (;;) {
    int64_t now = parry_test_now_ms();
    if (!extra_until && n >= want) extra_until = now + 1000;
    if ((extra_until && now > extra_until) || now > deadline) break;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err && n < want + 4) {
      out[n++] = (dlq_msg_t){parry_test_dup_bytes(m->payload, m->len),
                             parry_test_kafka_header(m, "parry.reason"),
                             parry_test_kafka_header(m, "parry.source"),
                             parry_test_kafka_header(m, "parry.origin")};
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
  return n;
}

static void produce_modified(ex_fixture_t *f, const char *json, uint32_t schema_version,
                             const char *id) {
  Parry__V1__Alert *a = NULL;
  char err[512];
  if (parry_alert_from_json(json, strlen(json), &a, err, sizeof err)) fail_msg("%s", err);
  a->schema_version = schema_version;
  char *old = a->id;
  a->id = (char *)id;
  size_t n = protobuf_c_message_get_packed_size(&a->base);
  uint8_t *buf = parry_xmalloc(n ? n : 1);
  protobuf_c_message_pack(&a->base, buf);
  a->id = old;
  ex_produce_bytes(f, "k", buf, n);
  free(buf);
  parry__v1__alert__free_unpacked(a, NULL);
}

static void test_dead_letters_and_unmatched(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  ex_runbook(f, "group.yml", group_runbook);
  /* One partition keeps the order, so the origins are predictable. */
  parry_test_unique_name("parry-exec-alerts1", f->alerts, sizeof f->alerts);
  parry_test_kafka_create_topic(f->producer, f->alerts, 1);
  ex_set(f->cfg, "topics.alerts=%s", f->alerts);
  ex_start(f);
  char json[1024];
  ex_produce_bytes(f, "k", "\xff\x01garbage", 9);                          /* offset 0 */
  ex_alert_json(json, sizeof json, "d-1", RULE_GROUP, "high", "192.0.2.1", 1);
  produce_modified(f, json, 99, "d-1");                                   /* offset 1 */
  produce_modified(f, json, 1, "");                                       /* offset 2 */
  ex_alert_json(json, sizeof json, "d-other", "R-NOBODY", "low", "192.0.2.2", 2);
  ex_produce_alert(f, "192.0.2.2", json);                                 /* offset 3 */
  ex_alert_json(json, sizeof json, "d-ok", RULE_GROUP, "high", "192.0.2.3", 3);
  ex_produce_alert(f, "192.0.2.3", json);                                 /* offset 4 */
  ex_flush(f);
  dlq_msg_t d[8];
  size_t n = read_dlq(f, d, 3);
  assert_int_equal(n, 3);
  const char *want_reason[] = {"not a protobuf Alert", "unsupported schema_version 99",
                               "alert without id"};
  for (size_t i = 0; i < 3; i++) {
    assert_non_null(d[i].reason);
    if (!strstr(d[i].reason, want_reason[i])) fail_msg("dlq %zu: reason \"%s\"", i, d[i].reason);
    assert_string_equal(d[i].source, "executor");
    char origin[256];
    snprintf(origin, sizeof origin, "%s/0/%zu", f->alerts, i);
    assert_string_equal(d[i].origin, origin);
  }
  assert_memory_equal(d[0].value, "\xff\x01garbage", 9); /* unchanged */
  for (size_t i = 0; i < n; i++) free(d[i].value), free(d[i].reason), free(d[i].source), free(d[i].origin);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM alerts", 2, EX_WAIT_MS));
  /* The unmatched alert is kept for history, without a case. */
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM alerts WHERE id = 'd-other' AND case_id IS NULL",
                            NULL), 1);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases", NULL), 1);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state = 'succeeded'", 1, EX_WAIT_MS));
  assert_int_equal(ex_metric(f, "parry_executor_alerts_unmatched_total", NULL, NULL, NULL, NULL), 1);
  assert_int_equal(ex_metric(f, "parry_executor_dlq_total", "reason", "decode", NULL, NULL), 1);
  assert_int_equal(ex_metric(f, "parry_executor_dlq_total", "reason", "schema_version", NULL, NULL), 1);
  assert_int_equal(ex_metric(f, "parry_executor_dlq_total", "reason", "no_id", NULL, NULL), 1);
  ex_stop(f);
}

static const char slow_runbook[] =
    "name: slow\n"
    "match:\n"
    "  rules: [R-SLOW]\n"
    "group:\n"
    "  fields: [group_by.source.ip]\n"
    "  window: 1h\n"
    "steps:\n"
    "  - id: wait\n"
    "    uses: exec\n"
    "    with:\n"
    "      argv: [/bin/sleep, '0.3']\n";

static void test_backpressure(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  ex_runbook(f, "slow.yml", slow_runbook);
  ex_set(f->cfg, "executor.max_in_flight=4");
  ex_set(f->cfg, "executor.resume_in_flight=1");
  ex_set(f->cfg, "executor.batch_size=2");
  ex_start(f);
  char json[1024], id[64], ip[32];
  for (int i = 0; i < 24; i++) {
    snprintf(id, sizeof id, "b-%02d", i);
    snprintf(ip, sizeof ip, "10.9.0.%d", i);
    ex_alert_json(json, sizeof json, id, "R-SLOW", "medium", ip, i);
    ex_produce_alert(f, ip, json);
  }
  ex_flush(f);
  /* Runs not finished stay within the high-water mark plus one batch. */
  parry_metric_t *paused = parry_metrics_gauge(f->metrics, "parry_executor_consumer_paused", "", NULL);
  bool saw_pause = false;
  long long most = 0;
  int64_t deadline = parry_test_now_ms() + EX_WAIT_MS;
  for (;;) {
    if (parry_metric_value(paused)) saw_pause = true;
    long long open = ex_has_tables(f)
                         ? ex_q_int(f, "SELECT count(*) FROM runs WHERE state NOT IN ('succeeded', 'failed')", NULL)
                         : 0;
    if (open > most) most = open;
    if (ex_q_int(f, "SELECT count(*) FROM runs WHERE state = 'succeeded'", NULL) == 24) break;
    if (parry_test_now_ms() > deadline) fail_msg("runs did not all finish");
    usleep(10000);
  }
  assert_true(saw_pause);
  if (most > 4 + 2) fail_msg("%lld runs were in flight at once (max_in_flight 4, batch 2)", most);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM alerts", NULL), 24);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE state = 'succeeded'", NULL), 24);
  /* Nothing in flight any more: the consumer resumes (checked per poll). */
  deadline = parry_test_now_ms() + 5000;
  while (parry_metric_value(paused) && parry_test_now_ms() < deadline) usleep(10000);
  assert_int_equal(parry_metric_value(paused), 0);
  ex_stop(f);
}

static const char handler_runbook[] =
    "name: handler\n"
    "match:\n  rules: [R-H]\n"
    "group:\n  fields: [group_by.source.ip]\n  window: 1m\n"
    "steps:\n"
    "  - id: past\n    uses: history\n"
    "    with: {entity: ip, value: '{{ alert.group_by.source.ip }}'}\n"
    "  - id: contain\n    uses: exec\n    needs: [past]\n"
    "    with: {argv: [/bin/false]}\n"
    "    retries: {max: 0}\n"
    "    on_failure: escalate\n"
    "  - id: escalate\n    uses: case_update\n"
    "    with: {escalate: 'true', severity: critical, note: containment failed}\n"
    "  - id: after\n    uses: case_update\n    needs: [contain]\n"
    "    with: {tags: ['after-{{ steps.contain.status }}']}\n";

static void test_handler_and_history(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  ex_runbook(f, "handler.yml", handler_runbook);
  ex_start(f);
  char json[1024];
  /* Two alerts of one address five minutes apart: two cases (window 1m). */
  ex_alert_json(json, sizeof json, "h-1", "R-H", "medium", "192.0.2.50", 0);
  ex_produce_alert(f, "192.0.2.50", json);
  ex_alert_json(json, sizeof json, "h-2", "R-H", "medium", "192.0.2.50", 300);
  ex_produce_alert(f, "192.0.2.50", json);
  ex_flush(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state IN ('succeeded', 'failed')", 2,
                            EX_WAIT_MS));
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases", NULL), 2);
  /* on_failure <handler>: the handler ran, then the run went on and succeeded. */
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM runs WHERE state = 'succeeded'", NULL), 2);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE step_id = 'contain' AND state = 'failed'", NULL), 2);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE step_id = 'escalate' AND state = 'succeeded'", NULL), 2);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases WHERE escalated AND severity = 'critical' "
                               "AND 'after-failed' = ANY(tags)", NULL), 2);
  /* History of the second case: the first case's alert. */
  char *seen = ex_q_text(f, "SELECT (outputs->>'seen_before') || '/' || (outputs->>'alert_count') "
                            "|| '/' || (outputs->>'case_count') FROM step_runs s JOIN runs r ON "
                            "r.id = s.run_id WHERE s.step_id = 'past' AND r.alert_id = 'h-2'", NULL);
  assert_non_null(seen);
  assert_string_equal(seen, "true/1/1");
  free(seen);
  ex_stop(f);
}

/* Lease renewal against rows another transaction holds: the scheduler's
 * renewal must skip them, not wait. It used to wait (an UPDATE of every run
 * of the owner, locking them in scan order), and with a writer holding FOR
 * SHARE on several runs in event order the two deadlocked under load
 * ("deadlock detected", SQLSTATE 40P01). statement_timeout turns a wait
 * into a failure instead of a hang. */
static void test_renew_skips_locked_runs(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  char err[512];
  parry_store_t *s = parry_store_open(f->schema_dsn, err, sizeof err);
  if (!s) fail_msg("%s", err);
  if (parry_store_migrate(s, NULL, err, sizeof err)) fail_msg("%s", err);
  const parry_store_match_t m = {"renew-test", NULL, NULL, 0, 0, NULL};
  for (int i = 0; i < 3; i++) {
    char json[1024], id[16], ip[32];
    snprintf(id, sizeof id, "rn-%d", i);
    snprintf(ip, sizeof ip, "198.51.100.%d", i);
    ex_alert_json(json, sizeof json, id, "R-RENEW", "high", ip, i);
    Parry__V1__Alert *a = NULL;
    if (parry_alert_from_json(json, strlen(json), &a, err, sizeof err)) fail_msg("%s", err);
    parry_store_alert_in_t in = {a, json, &m, 1};
    parry_store_ingest_result_t r;
    if (parry_store_ingest_alert(s, &in, &r, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(r.cases[0].outcome, PARRY_STORE_OPENED);
    parry__v1__alert__free_unpacked(a, NULL);
  }
  parry_run_t **runs = NULL;
  size_t n = 0;
  if (parry_store_claim_runs(s, "owner-1", 30 * 1000000000LL, 10, &runs, &n, err, sizeof err))
    fail_msg("%s", err);
  assert_int_equal(n, 3);
  char locked[24];
  snprintf(locked, sizeof locked, "%lld", (long long)runs[1]->id);
  parry_runs_free(runs, n);
  ex_pg_exec(parry_store_conn(s), "SET statement_timeout = '3s'");
  /* Another transaction holds one run, as a writer recording its steps does. */
  ex_pg_exec(f->pg, "BEGIN");
  const char *params[1] = {locked};
  PGresult *res = PQexecParams(f->pg, "SELECT 1 FROM runs WHERE id = $1::bigint FOR SHARE", 1,
                               NULL, params, NULL, NULL, 0);
  assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  size_t renewed = 0;
  int64_t t0 = parry_test_now_ms();
  if (parry_store_renew_leases(s, "owner-1", 120 * 1000000000LL, &renewed, err, sizeof err))
    fail_msg("renewal waited for the locked run: %s", err);
  assert_true(parry_test_now_ms() - t0 < 2000);
  assert_int_equal(renewed, 2);
  /* The holder can go on locking the other runs: nothing of the renewal is
   * left holding them. */
  ex_pg_exec(f->pg, "SET LOCAL lock_timeout = '2s'");
  ex_pg_exec(f->pg, "SELECT 1 FROM runs FOR SHARE");
  ex_pg_exec(f->pg, "COMMIT");
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM runs WHERE lease_until > now() + interval "
                               "'90 seconds' AND id <> $1::bigint", locked), 2);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM runs WHERE lease_until < now() + interval "
                               "'31 seconds' AND id = $1::bigint", locked), 1);
  /* Unlocked, the next renewal takes it too. */
  if (parry_store_renew_leases(s, "owner-1", 120 * 1000000000LL, &renewed, err, sizeof err))
    fail_msg("%s", err);
  assert_int_equal(renewed, 3);
  parry_store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_renew_skips_locked_runs, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_grouping, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_redelivery, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_dead_letters_and_unmatched, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_backpressure, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_handler_and_history, ex_setup, ex_teardown),
  };
  return cmocka_run_group_tests(tests, ex_group_setup, NULL);
}
