/* Correlator stages 1 and 2 end to end against a real broker (KAFKA_BOOTSTRAP;
 * skipped when unset unless PARRY_REQUIRE_SERVICES=1).
 *
 * Brute-force bursts (failed SSH passwords from many source IPs, some above
 * the correlation threshold, some below, some twice) and a few accepted
 * logins go to a fresh topics.events; stage 1 and stage 2 run in-process
 * (library API, both transactional); a read_committed reader collects
 * topics.alerts. The expectation is built in the test from the same rules
 * through the same engine, offline: detection alerts of rules that still
 * generate (detect.c ids), and parry_corr_engine fed with parry_corr_signals
 * in event order. The alerts read back must be exactly those (same ids, no
 * duplicate, none missing, same counts and group-by).
 *
 * Then stage 2 is stopped and started again (a new member of the same group)
 * between two halves of the stream, with one IP's burst split across them:
 * its alert needs the window restored from topics.state. Every changelog
 * record must sit on the partition number its key's signals use.
 *
 * And idle expiry by partition: a partition running two hours ahead in
 * event time does not expire another partition's open window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parry/log.h"
#include "stage1.h"
#include "stage2.h"
#include "test_correlator_stage2_support.h"

static rd_kafka_t *g_admin;
static char g_dir[256];

/* ------------------------------------------------------------ fixture */

typedef struct {
  char events[160], signals[160], state[160], alerts[160], dlq[160], group[160], cgroup[160];
  parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_correlator_t *s1;
  parry_corr_stage2_t *s2;
} fixture_t;

static void produce_events(fixture_t *f, const evs_t *e, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    const Parry__V1__Event *ev = e->v[i].ev;
    size_t n = protobuf_c_message_get_packed_size(&ev->base);
    uint8_t *buf = parry_xmalloc(n ? n : 1);
    protobuf_c_message_pack(&ev->base, buf);
    /* Keyed by source IP as the ingestor does: one IP, one partition, in order. */
    assert_int_equal(rd_kafka_producev(g_admin, RD_KAFKA_V_TOPIC(f->events),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_KEY(e->v[i].ip, strlen(e->v[i].ip)),
                                       RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    free(buf);
  }
  assert_int_equal(rd_kafka_flush(g_admin, WAIT_MS), 0);
}

static void wait_ready_2(parry_corr_stage2_t *s2) {
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  char why[512];
  while (!parry_corr_stage2_ready(s2, why, sizeof why)) {
    if (parry_corr_stage2_failed(s2, why, sizeof why)) fail_msg("stage 2 failed: %s", why);
    if (parry_test_now_ms() > deadline) fail_msg("stage 2 not ready: %s", why);
    usleep(20000);
  }
}

static void start_stage2(fixture_t *f) {
  char err[1024];
  if (parry_corr_stage2_start(f->cfg, f->metrics, &f->s2, err, sizeof err))
    fail_msg("could not start stage 2: %s", err);
  wait_ready_2(f->s2);
}

static int64_t counter(fixture_t *f, const char *name) {
  return parry_metric_value(parry_metrics_counter(f->metrics, name, "", NULL));
}

/* Every changelog record on the partition its key's signals use. */
static void check_changelog(fixture_t *f, int partitions) {
  char group[160], err[512];
  parry_test_unique_name("parry-cor2-state", group, sizeof group);
  static const char *const props[] = {"isolation.level=read_committed",
                                      "enable.partition.eof=true", NULL};
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, props);
  rd_kafka_t *rk = parry_kafka_consumer_new(cfg, NULL, group, NULL, err, sizeof err);
  assert_non_null(rk);
  /* key -> partition, from topics.signals */
  char *keys[512];
  int32_t kpart[512];
  size_t nk = 0, records = 0;
  const char *topics[2] = {f->signals, f->state};
  for (int t = 0; t < 2; t++) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
      rd_kafka_topic_partition_list_add(parts, topics[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    int eofs = 0;
    int64_t deadline = parry_test_now_ms() + WAIT_MS;
    while (eofs < partitions && parry_test_now_ms() < deadline) {
      rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        eofs++;
      } else if (!m->err) {
        char *key = parry_test_dup_bytes(m->key, m->key_len);
        size_t k = 0;
        while (k < nk && strcmp(keys[k], key) != 0) k++;
        if (t == 0) {
          if (k == nk) {
            assert_true(nk < 512);
            keys[nk] = key;
            kpart[nk++] = m->partition;
            key = NULL;
          } else {
            assert_int_equal(kpart[k], m->partition); /* one key, one partition */
          }
        } else {
          if (k == nk) fail_msg("state key %s has no signal", key);
          assert_int_equal(kpart[k], m->partition);
          records++;
        }
        free(key);
      }
      rd_kafka_message_destroy(m);
    }
    assert_int_equal(eofs, partitions);
  }
  assert_true(records > 0);
  for (size_t k = 0; k < nk; k++) free(keys[k]);
  rd_kafka_consumer_close(rk);
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
}

/* Fresh topics (4 signal and state partitions) and a configuration for
 * both stages. */
static void fixture_open(fixture_t *f) {
  parry_test_unique_name("parry-cor2-events", f->events, sizeof f->events);
  parry_test_unique_name("parry-cor2-signals", f->signals, sizeof f->signals);
  parry_test_unique_name("parry-cor2-state", f->state, sizeof f->state);
  parry_test_unique_name("parry-cor2-alerts", f->alerts, sizeof f->alerts);
  parry_test_unique_name("parry-cor2-dlq", f->dlq, sizeof f->dlq);
  parry_test_unique_name("parry-cor2-group", f->group, sizeof f->group);
  parry_test_unique_name("parry-cor2-cgroup", f->cgroup, sizeof f->cgroup);
  parry_test_kafka_create_topic(g_admin, f->events, 3);
  parry_test_kafka_create_topic(g_admin, f->signals, 4);
  static const char *const compact[] = {"cleanup.policy", "compact", NULL};
  parry_kafka_topic_spec_t spec = {f->state, 4, 1, compact};
  char err[1024];
  if (parry_kafka_create_topics(g_admin, &spec, 1, 30000, err, sizeof err)) fail_msg("%s", err);
  parry_test_kafka_create_topic(g_admin, f->alerts, 3);
  parry_test_kafka_create_topic(g_admin, f->dlq, 1);

  f->cfg = parry_test_kafka_config(g_bootstrap, NULL);
  parry_test_config_set(f->cfg, "topics.events=%s", f->events);
  parry_test_config_set(f->cfg, "topics.signals=%s", f->signals);
  parry_test_config_set(f->cfg, "topics.state=%s", f->state);
  parry_test_config_set(f->cfg, "topics.alerts=%s", f->alerts);
  parry_test_config_set(f->cfg, "topics.dlq=%s", f->dlq);
  parry_test_config_set(f->cfg, "correlator.group=%s", f->group);
  parry_test_config_set(f->cfg, "correlator.correlate_group=%s", f->cgroup);
  parry_test_config_set(f->cfg, "correlator.rules=%s", g_rule_path);
  parry_test_config_set(f->cfg, "correlator.allowed_lateness=0");
  parry_test_config_set(f->cfg, "correlator.transaction_timeout=10s");
  parry_test_config_set(f->cfg, "correlator.instance_id=test");
  parry_test_config_set(f->cfg, "kafka.session.timeout.ms=6000");
}

static void test_stage2_end_to_end(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f = {0};
  fixture_open(&f);
  char err[1024];

  /* The stream: 16 IPs with 3..6 failures 5 s apart (>= 5 alerts), a second
   * burst of 6 ten minutes later for every third IP, an accepted login for
   * every fourth; and one IP whose 6 failures straddle the restart. */
  evs_t e = {0};
  for (int i = 0; i < 16; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "10.1.0.%d", i + 1);
    int n = 3 + i % 4;
    for (int k = 0; k < n; k++) add_event(&e, T0 + i * 2 + k * 5, ip, false);
    if (i % 3 == 0)
      for (int k = 0; k < 6; k++) add_event(&e, T0 + 600 + i * 2 + k * 5, ip, false);
    if (i % 4 == 0) add_event(&e, T0 + 100 + i, ip, true);
  }
  for (int k = 0; k < 6; k++) add_event(&e, T0 + 880 + k * 8, "10.2.0.1", false);
  finish_events(&e);
  size_t half = 0;
  while (half < e.n && e.v[half].t < T0 + 900) half++;
  assert_true(half > 0 && half < e.n);

  wants_t *w1 = parry_xcalloc(1, sizeof *w1), *w = parry_xcalloc(1, sizeof *w);
  offline(&e, half, w1);
  offline(&e, e.n, w);
  assert_true(w1->n >= 8);
  assert_true(w->n > w1->n);
  /* The straddling burst alerts only over both halves. */
  bool straddle = false;
  for (size_t i = 0; i < w->n; i++) straddle |= strcmp(w->v[i].group, "10.2.0.1") == 0;
  for (size_t i = 0; i < w1->n; i++) assert_string_not_equal(w1->v[i].group, "10.2.0.1");
  assert_true(straddle);

  f.metrics = parry_metrics_new();
  if (parry_correlator_start(f.cfg, f.metrics, &f.s1, err, sizeof err))
    fail_msg("could not start stage 1: %s", err);
  start_stage2(&f);
  produce_events(&f, &e, 0, half);
  gots_t *g = parry_xcalloc(1, sizeof *g);
  collect(f.alerts, 3, w1, g, NULL);
  compare(g, w1);
  gots_free(g);
  assert_true(counter(&f, "parry_correlator_signals_total") > 0);
  assert_true(counter(&f, "parry_correlator_state_records_total") > 0);

  /* A new stage-2 member: it restores the windows from the changelog. */
  assert_int_equal(parry_corr_stage2_stop(f.s2), 0);
  int64_t restored_before = counter(&f, "parry_correlator_restored_keys_total");
  start_stage2(&f);
  assert_true(counter(&f, "parry_correlator_restored_keys_total") > restored_before);
  produce_events(&f, &e, half, e.n);
  collect(f.alerts, 3, w, g, NULL);
  compare(g, w);
  gots_free(g);

  assert_int_equal(parry_corr_stage2_stop(f.s2), 0);
  assert_int_equal(parry_correlator_stop(f.s1), 0);
  check_changelog(&f, 4);
  parry_metrics_destroy(f.metrics);
  parry_config_destroy(f.cfg);
  free(g);
  free(w1);
  free(w);
  free_events(&e);
}

/* Until stage 2 has fed n signals in all. */
static void wait_fed(fixture_t *f, int64_t n) {
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  while (counter(f, "parry_correlator_signals_total") < n) {
    if (parry_test_now_ms() > deadline)
      fail_msg("stage 2 fed %lld of %lld signals",
               (long long)counter(f, "parry_correlator_signals_total"), (long long)n);
    usleep(20000);
  }
}

/* The signals partition of source IP ip's correlation key. */
static int32_t signals_partition(const char *ip) {
  char key[128];
  int n = snprintf(key, sizeof key, "%s|%s", CORR_RULE, ip);
  return rd_kafka_msg_partitioner_consistent(NULL, key, (size_t)n, 4, NULL, NULL);
}

/* Idle expiry keeps one clock per signals partition: IP A's burst begins
 * (3 failures), then 4,800 failures of 300 other IPs on other
 * partitions, two hours later in event time (a partition running ahead:
 * live traffic beside a replay), are processed; then A's burst goes on (2
 * more). A's window must still be there: its 5 failures in 20 s raise the
 * alert that the offline pipeline (event order) raises. With one clock
 * for all keys, A's key expired when the table sweep met it (the engine's
 * newest time was two hours past it) and the alert was lost. */
static void test_stage2_partition_clocks(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f = {0};
  fixture_open(&f);
  char err[1024];
  const char *a_ip = "10.4.0.1";
  int32_t pa = signals_partition(a_ip);
  evs_t e = {0};
  for (int k = 0; k < 5; k++) add_event(&e, T0 + k * 5, a_ip, false);
  /* 300 IPs with 16 failures 20 s apart (never 5 in a minute: no alert):
   * 4,800 updates, enough for the engine's incremental sweep (a slot every
   * 4 updates) to pass every slot of its first table (1,024) once. */
  int others = 0;
  for (int i = 0; others < 300 && i < 60000; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "10.5.%d.%d", i / 250, i % 250 + 1);
    if (signals_partition(ip) == pa) continue;
    for (int k = 0; k < 16; k++) add_event(&e, T0 + 7200 + others % 20 + k * 20, ip, false);
    others++;
  }
  assert_int_equal(others, 300);
  finish_events(&e); /* time order: A's five first, then the others */
  for (int k = 0; k < 5; k++) assert_string_equal(e.v[k].ip, a_ip);
  wants_t *w = parry_xcalloc(1, sizeof *w);
  offline(&e, e.n, w);
  assert_int_equal(w->n, 1);
  assert_string_equal(w->v[0].group, a_ip);

  f.metrics = parry_metrics_new();
  if (parry_correlator_start(f.cfg, f.metrics, &f.s1, err, sizeof err))
    fail_msg("could not start stage 1: %s", err);
  start_stage2(&f);
  /* Each step waits until stage 2 has fed what was produced: the order in
   * which it sees the partitions is the scenario. */
  produce_events(&f, &e, 0, 3); /* A: 3 failures */
  wait_fed(&f, 3);
  produce_events(&f, &e, 5, e.n); /* the others, two hours ahead */
  wait_fed(&f, (int64_t)e.n - 2);
  produce_events(&f, &e, 3, 5); /* A: 2 more */
  gots_t *g = parry_xcalloc(1, sizeof *g);
  collect(f.alerts, 3, w, g, NULL);
  compare(g, w);
  assert_int_equal(counter(&f, "parry_correlator_expired_keys_total"), 0);
  gots_free(g);
  assert_int_equal(parry_corr_stage2_stop(f.s2), 0);
  assert_int_equal(parry_correlator_stop(f.s1), 0);
  parry_metrics_destroy(f.metrics);
  parry_config_destroy(f.cfg);
  free(g);
  free(w);
  free_events(&e);
}

static int group_setup(void **state) {
  (void)state;
  g_bootstrap = parry_test_kafka_bootstrap();
  if (!g_bootstrap) return 0;
  parry_log_init("test", PARRY_LOG_ERROR);
  if (parry_test_tmpdir_make(g_dir, sizeof g_dir, "/tmp/parry-cor2-XXXXXX")) fail_msg("mkdtemp");
  parry_test_write_file(g_dir, "sshd.yml", rules_yaml, g_rule_path, sizeof g_rule_path);
  g_admin = parry_test_kafka_admin(g_bootstrap, "test-correlator2-admin");
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  if (g_admin) parry_kafka_destroy(g_admin);
  if (*g_rule_path) unlink(g_rule_path);
  if (*g_dir) rmdir(g_dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stage2_end_to_end),
      cmocka_unit_test(test_stage2_partition_clocks),
  };
  return cmocka_run_group_tests_name("correlator_stage2", tests, group_setup, group_teardown);
}
