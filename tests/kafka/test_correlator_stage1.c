/* Correlator stage 1 end to end against a real broker (KAFKA_BOOTSTRAP;
 * skipped when unset unless PARRY_REQUIRE_SERVICES=1): Events (protobuf) and
 * a garbage message go to a fresh topics.events, the correlator runs
 * in-process with a tiny Sigma ruleset, and a reader checks topics.alerts and
 * topics.dlq: exactly the expected alerts, with the ids, rule and key that
 * correlator/detect.c gives for the same events (as `parry detect` would),
 * and the garbage and a too-new schema_version on the DLQ with reasons. Then
 * the correlator is restarted in the same group: nothing is re-read (offsets
 * were committed) and a new event still alerts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "kafka_support.h"
#include "parry/codec.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "sigma/sigma.h"
#include "stage1.h"

#define WAIT_MS 20000
#define RULE_ID "5b7a0c1e-3d4f-4e5a-9b6c-7d8e9f0a1b2c"

static const char *g_bootstrap;
static rd_kafka_t *g_admin;
static char g_dir[256], g_rule_path[300];

static const char rules_yaml[] =
    "title: SSH failed password\n"
    "id: " RULE_ID "\n"
    "level: medium\n"
    "logsource:\n"
    "  product: linux\n"
    "  service: sshd\n"
    "detection:\n"
    "  selection:\n"
    "    message|contains: 'Failed password'\n"
    "  condition: selection\n"
    "---\n"
    "title: SSH accepted password\n"
    "id: 6c8b1d2f-4e50-4f6b-8c7d-8e9fa0b1c2d3\n"
    "level: low\n"
    "logsource:\n"
    "  product: linux\n"
    "  service: sshd\n"
    "detection:\n"
    "  selection:\n"
    "    message|contains: 'Accepted password'\n"
    "  condition: selection\n"
    "---\n"
    "title: broken\n"
    "id: 7d9c2e30-5f61-4a7c-9d8e-9fa0b1c2d3e4\n"
    "logsource:\n"
    "  product: linux\n"
    "detection:\n"
    "  selection:\n"
    "    message|nosuchmodifier: x\n"
    "  condition: selection\n";

#define LS "\"logsource\":{\"product\":\"linux\",\"service\":\"sshd\"}"
static const char *const events_json[] = {
    "{\"@timestamp\":\"2026-12-04T10:00:00Z\",\"event\":{\"id\":\"e1\"},\"source\":{\"ip\":\"10.0.0.1\"},"
    "\"host\":{\"name\":\"web1\"},\"message\":\"Failed password for root from 10.0.0.1\"," LS "}",
    "{\"@timestamp\":\"2026-12-04T10:00:01Z\",\"event\":{\"id\":\"e2\"},\"host\":{\"name\":\"web2\"},"
    "\"user\":{\"name\":\"bob\"},\"message\":\"Failed password for bob\"," LS "}",
    "{\"@timestamp\":\"2026-12-04T10:00:02Z\",\"event\":{\"id\":\"e3\"},\"source\":{\"ip\":\"10.0.0.3\"},"
    "\"message\":\"Accepted password for carol\"," LS "}",
    "{\"@timestamp\":\"2026-12-04T10:00:03Z\",\"event\":{\"id\":\"e4\"},\"message\":\"session opened\"," LS "}",
    "{\"@timestamp\":\"2026-12-04T10:00:04Z\",\"event\":{\"id\":\"e5\"},\"user\":{\"name\":\"alice\"},"
    "\"message\":\"Failed password for alice\"," LS "}",
};
static const char *const expected_keys[] = {RULE_ID "|10.0.0.1", RULE_ID "|web2", NULL, NULL,
                                            RULE_ID "|alice"};
static const char late_json[] =
    "{\"@timestamp\":\"2026-12-04T10:01:00Z\",\"event\":{\"id\":\"e6\"},\"source\":{\"ip\":\"10.0.0.6\"},"
    "\"message\":\"Failed password for root\"," LS "}";

typedef struct {
  char events[160], alerts[160], dlq[160], group[160];
  parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_correlator_t *cor;
} fixture_t;

static Parry__V1__Event *event(const char *json) {
  Parry__V1__Event *ev = NULL;
  char err[512];
  if (parry_event_from_json(json, strlen(json), &ev, err, sizeof err)) fail_msg("%s: %s", json, err);
  return ev;
}

static void produce_raw(const char *topic, const void *value, size_t len) {
  assert_int_equal(rd_kafka_producev(g_admin, RD_KAFKA_V_TOPIC(topic),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_END),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void produce_event(const char *topic, Parry__V1__Event *ev) {
  size_t n = protobuf_c_message_get_packed_size(&ev->base);
  uint8_t *buf = parry_xmalloc(n ? n : 1);
  protobuf_c_message_pack(&ev->base, buf);
  produce_raw(topic, buf, n);
  free(buf);
}

static void flush_admin(void) { assert_int_equal(rd_kafka_flush(g_admin, WAIT_MS), 0); }

static void start(fixture_t *f) {
  f->metrics = parry_metrics_new();
  char err[1024];
  if (parry_correlator_start(f->cfg, f->metrics, &f->cor, err, sizeof err))
    fail_msg("could not start the correlator: %s", err);
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  char why[512];
  while (!parry_correlator_ready(f->cor, why, sizeof why)) {
    if (parry_test_now_ms() > deadline) fail_msg("correlator not ready: %s", why);
    usleep(20000);
  }
}

static void stop(fixture_t *f) {
  assert_int_equal(parry_correlator_stop(f->cor), 0);
  f->cor = NULL;
  parry_metrics_destroy(f->metrics);
  f->metrics = NULL;
}

static int64_t counter(fixture_t *f, const char *name, const char *k, const char *v) {
  parry_metric_t *m = k ? parry_metrics_counter(f->metrics, name, "", k, v, NULL)
                        : parry_metrics_counter(f->metrics, name, "", NULL);
  return parry_metric_value(m);
}

typedef struct {
  char *key;
  Parry__V1__Alert *alert;
} got_alert_t;

typedef struct {
  char *value, *reason, *source;
} got_dlq_t;

typedef struct {
  got_alert_t a[32];
  size_t n_a;
  got_dlq_t d[32];
  size_t n_d;
} got_t;

/* Read alerts and dlq from the start until the wanted counts, then 1 s more. */
static void collect(fixture_t *f, size_t want_a, size_t want_d, got_t *got) {
  memset(got, 0, sizeof *got);
  char group[160], err[512];
  parry_test_unique_name("parry-cor-reader", group, sizeof group);
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  rd_kafka_t *rk = parry_kafka_consumer_new(cfg, NULL, group, NULL, err, sizeof err);
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < 3; p++)
    rd_kafka_topic_partition_list_add(parts, f->alerts, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_topic_partition_list_add(parts, f->dlq, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  int64_t deadline = parry_test_now_ms() + WAIT_MS, extra_until = 0;
  for (;;) {
    int64_t now = parry_test_now_ms();
    if (!extra_until && got->n_a >= want_a && got->n_d >= want_d) extra_until = now + 1000;
    if ((extra_until && now > extra_until) || now > deadline) break;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err) {
      rd_kafka_message_destroy(m);
      continue;
    }
    if (strcmp(rd_kafka_topic_name(m->rkt), f->alerts) == 0) {
      assert_true(got->n_a < 32);
      got->a[got->n_a].key = m->key ? parry_test_dup_bytes(m->key, m->key_len) : NULL;
      got->a[got->n_a].alert = parry__v1__alert__unpack(NULL, m->len, m->payload);
      assert_non_null(got->a[got->n_a].alert);
      got->n_a++;
    } else {
      assert_true(got->n_d < 32);
      got->d[got->n_d] = (got_dlq_t){parry_test_dup_bytes(m->payload, m->len),
                                     parry_test_kafka_header(m, "parry.reason"),
                                     parry_test_kafka_header(m, "parry.source")};
      got->n_d++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
  if (got->n_a != want_a || got->n_d != want_d) {
    for (size_t i = 0; i < got->n_a; i++)
      printf("# alert %s key %s\n", got->a[i].alert->id, got->a[i].key ? got->a[i].key : "");
    for (size_t i = 0; i < got->n_d; i++) printf("# dead letter: %s\n", got->d[i].reason);
    fail_msg("expected %zu alerts and %zu dead letters, got %zu and %zu", want_a, want_d,
             got->n_a, got->n_d);
  }
}

static void got_free(got_t *got) {
  for (size_t i = 0; i < got->n_a; i++) {
    free(got->a[i].key);
    parry__v1__alert__free_unpacked(got->a[i].alert, NULL);
  }
  for (size_t i = 0; i < got->n_d; i++) {
    free(got->d[i].value);
    free(got->d[i].reason);
    free(got->d[i].source);
  }
}

/* What correlator/detect.c (and so `parry detect`) makes of an event. */
typedef struct {
  char id[PARRY_ALERT_ID_LEN + 1];
  char rule[64];
  size_t n;
} expect_t;

static void on_expected(void *opaque, const Parry__V1__Alert *a) {
  expect_t *x = opaque;
  x->n++;
  snprintf(x->id, sizeof x->id, "%s", a->id);
  snprintf(x->rule, sizeof x->rule, "%s", a->rule_id);
}

static const got_alert_t *find_alert(const got_t *got, const char *id) {
  for (size_t i = 0; i < got->n_a; i++)
    if (strcmp(got->a[i].alert->id, id) == 0) return &got->a[i];
  return NULL;
}

static void test_stage1(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f = {0};
  parry_test_unique_name("parry-cor-events", f.events, sizeof f.events);
  parry_test_unique_name("parry-cor-alerts", f.alerts, sizeof f.alerts);
  parry_test_unique_name("parry-cor-dlq", f.dlq, sizeof f.dlq);
  parry_test_unique_name("parry-cor-group", f.group, sizeof f.group);
  parry_test_kafka_create_topic(g_admin, f.events, 3);
  parry_test_kafka_create_topic(g_admin, f.alerts, 3);
  parry_test_kafka_create_topic(g_admin, f.dlq, 1);
  f.cfg = parry_test_kafka_config(g_bootstrap, NULL);
  parry_test_config_set(f.cfg, "topics.events=%s", f.events);
  parry_test_config_set(f.cfg, "topics.alerts=%s", f.alerts);
  parry_test_config_set(f.cfg, "topics.dlq=%s", f.dlq);
  parry_test_config_set(f.cfg, "correlator.group=%s", f.group);
  parry_test_config_set(f.cfg, "correlator.rules=%s", g_rule_path);
  parry_test_config_set(f.cfg, "correlator.min_level=medium");

  /* The expectations, from detect.c with the same rules and options. */
  parry_sigma_options_t opt = {.min_level = PARRY_SIGMA_LEVEL_MEDIUM};
  parry_sigma_report_t rep = {0};
  char err[512];
  const char *paths[] = {g_rule_path};
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, 1, &opt, &rep, err, sizeof err);
  assert_non_null(rs);
  assert_int_equal(parry_sigma_rule_count(rs), 2);
  assert_int_equal(rep.rejected, 1);
  parry_sigma_report_free(&rep);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  const size_t n_events = sizeof events_json / sizeof *events_json;
  expect_t want[8] = {0};
  size_t n_want = 0;
  for (size_t i = 0; i < n_events; i++) {
    Parry__V1__Event *ev = event(events_json[i]);
    parry_detect_event(m, rs, ev, on_expected, &want[i]);
    assert_int_equal(want[i].n, expected_keys[i] ? 1 : 0);
    n_want += want[i].n;
    produce_event(f.events, ev);
    parry__v1__event__free_unpacked(ev, NULL);
  }
  assert_int_equal(n_want, 3);
  /* A too-new schema and garbage: both dead letters. */
  Parry__V1__Event *future = event(events_json[0]);
  future->schema_version = PARRY_SCHEMA_VERSION + 1;
  produce_event(f.events, future);
  parry__v1__event__free_unpacked(future, NULL);
  produce_raw(f.events, "garbage", 7);
  flush_admin();

  start(&f);
  got_t got;
  collect(&f, 3, 2, &got);
  for (size_t i = 0; i < n_events; i++) {
    if (!expected_keys[i]) continue;
    const got_alert_t *a = find_alert(&got, want[i].id);
    if (!a) fail_msg("no alert with id %s (event %zu)", want[i].id, i + 1);
    assert_string_equal(a->alert->rule_id, RULE_ID);
    assert_string_equal(a->alert->rule_id, want[i].rule);
    assert_string_equal(a->alert->rule_level, "medium");
    assert_int_equal(a->alert->n_events, 1);
    assert_non_null(a->key);
    assert_string_equal(a->key, expected_keys[i]);
  }
  size_t garbage = 0, schema = 0;
  for (size_t i = 0; i < got.n_d; i++) {
    assert_non_null(got.d[i].reason);
    assert_string_equal(got.d[i].source, "correlator");
    if (strcmp(got.d[i].value, "garbage") == 0) garbage++;
    else if (strstr(got.d[i].reason, "schema_version")) schema++;
  }
  assert_int_equal(garbage, 1);
  assert_int_equal(schema, 1);
  got_free(&got);
  assert_int_equal(counter(&f, "parry_correlator_events_total", NULL, NULL), 5);
  assert_int_equal(counter(&f, "parry_correlator_alerts_total", "level", "medium"), 3);
  assert_int_equal(counter(&f, "parry_correlator_below_min_level_total", NULL, NULL), 1);
  assert_int_equal(counter(&f, "parry_correlator_dlq_total", "reason", "decode"), 1);
  assert_int_equal(counter(&f, "parry_correlator_dlq_total", "reason", "schema_version"), 1);
  stop(&f);

  /* Same group again: the committed offsets mean nothing is re-read; a new
   * event still alerts. */
  start(&f);
  Parry__V1__Event *late = event(late_json);
  expect_t late_want = {0};
  parry_detect_event(m, rs, late, on_expected, &late_want);
  assert_int_equal(late_want.n, 1);
  produce_event(f.events, late);
  parry__v1__event__free_unpacked(late, NULL);
  flush_admin();
  collect(&f, 4, 2, &got);
  const got_alert_t *a = find_alert(&got, late_want.id);
  assert_non_null(a);
  assert_string_equal(a->key, RULE_ID "|10.0.0.6");
  got_free(&got);
  assert_int_equal(counter(&f, "parry_correlator_events_total", NULL, NULL), 1);
  assert_int_equal(counter(&f, "parry_correlator_alerts_total", "level", "medium"), 1);
  stop(&f);

  parry_sigma_matcher_destroy(m);
  parry_sigma_ruleset_destroy(rs);
  parry_config_destroy(f.cfg);
}

static void test_refuses_without_rules(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  parry_metrics_t *metrics = parry_metrics_new();
  parry_correlator_t *c = NULL;
  char err[1024];
  assert_int_not_equal(parry_correlator_start(cfg, metrics, &c, err, sizeof err), PARRY_OK);
  assert_non_null(strstr(err, "correlator.rules"));
  /* Only broken rules: nothing loads, refused. */
  char path[320];
  snprintf(path, sizeof path, "%s/broken.yml", g_dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("title: broken\nlogsource: {product: linux}\ndetection:\n  sel:\n    a|nosuch: x\n"
        "  condition: sel\n",
        fp);
  fclose(fp);
  parry_test_config_set(cfg, "correlator.rules=%s", path);
  assert_int_not_equal(parry_correlator_start(cfg, metrics, &c, err, sizeof err), PARRY_OK);
  assert_non_null(strstr(err, "no detection rule loaded"));
  unlink(path);
  parry_metrics_destroy(metrics);
  parry_config_destroy(cfg);
}

static int group_setup(void **state) {
  (void)state;
  g_bootstrap = parry_test_kafka_bootstrap();
  if (!g_bootstrap) return 0;
  parry_log_init("test", PARRY_LOG_ERROR);
  if (parry_test_tmpdir_make(g_dir, sizeof g_dir, "/tmp/parry-cor-XXXXXX")) fail_msg("mkdtemp");
  parry_test_write_file(g_dir, "sshd.yml", rules_yaml, g_rule_path, sizeof g_rule_path);
  g_admin = parry_test_kafka_admin(g_bootstrap, "test-correlator-admin");
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
      cmocka_unit_test(test_stage1),
      cmocka_unit_test(test_refuses_without_rules),
  };
  return cmocka_run_group_tests_name("correlator_stage1", tests, group_setup, group_teardown);
}
