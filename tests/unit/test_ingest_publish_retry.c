/* The ingestor's publisher never reports a message delivered that Kafka did
 * not write, even when a produce request fails with a retriable error while
 * the next one is on its way. Runs against librdkafka's mock cluster (no
 * service needed), which, like a real broker facing a producer it has no
 * state for on a partition, takes a batch whatever its first sequence.
 *
 * The regression: bench/correlate_kafka.sh once saw 200,800 events
 * acknowledged and 200,796 in the topic, whose partition's first batch on
 * disk started at sequence 4. With several requests in flight, librdkafka
 * (2.0.2) retries a request that failed with NOT_LEADER_OR_FOLLOWER, but
 * when the request after it succeeds first it "implicitly acknowledges" the
 * failed one's messages: delivery reports without error for messages that
 * were never written. Here: a broker answering slowly (so that several
 * requests of 4 messages are in flight), one Produce request refused, and
 * every acknowledged event must then be in the partition, once, in order.
 * With max.in.flight.requests.per.connection=5 this test loses exactly the
 * refused batch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "parry/config.h"
#include "parry/metrics.h"
#include "proto/parry.pb-c.h"
#include "publish.h"

#define EVENTS_TOPIC "ingest-retry.events"
#define DLQ_TOPIC "ingest-retry.dlq"
#define N_EVENTS 40
#define WAIT_MS 20000
/* The API key of Produce requests (rdkafka_proto.h, not a public header). */
#define PRODUCE_API_KEY 0

typedef struct {
  rd_kafka_t *host; /* hosts the mock cluster */
  rd_kafka_mock_cluster_t *mc;
  parry_config_t *cfg;
  parry_metrics_t *metrics;
} fixture_t;

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  (void)level;
  (void)fac;
  (void)buf;
}

static void set(parry_config_t *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set(parry_config_t *cfg, const char *fmt, ...) {
  char kv[512], err[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(kv, sizeof kv, fmt, ap);
  va_end(ap);
  if (parry_config_set(cfg, kv, "test", err, sizeof err)) fail_msg("%s: %s", kv, err);
}

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  f->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  assert_non_null(f->host);
  f->mc = rd_kafka_mock_cluster_new(f->host, 1);
  assert_non_null(f->mc);
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, EVENTS_TOPIC, 1, 1), 0);
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, DLQ_TOPIC, 1, 1), 0);
  f->cfg = parry_config_new();
  set(f->cfg, "kafka.bootstrap.servers=%s", rd_kafka_mock_cluster_bootstraps(f->mc));
  set(f->cfg, "topics.events=%s", EVENTS_TOPIC);
  set(f->cfg, "topics.dlq=%s", DLQ_TOPIC);
  /* Small batches sent at once: one event stream makes many requests. */
  set(f->cfg, "kafka.batch.num.messages=4");
  set(f->cfg, "kafka.linger.ms=0");
  f->metrics = parry_metrics_new();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  parry_metrics_destroy(f->metrics);
  parry_config_destroy(f->cfg);
  rd_kafka_mock_cluster_destroy(f->mc);
  rd_kafka_destroy(f->host);
  free(f);
  return 0;
}

static void event_id(int i, char *out, size_t size) { snprintf(out, size, "retry-event-%03d", i); }

static void emit(parry_emitter_t *em, int i) {
  char id[32];
  event_id(i, id, sizeof id);
  Parry__V1__Event ev = PARRY__V1__EVENT__INIT;
  ev.schema_version = 1;
  ev.id = id;
  ev.source_ip = "10.1.2.3"; /* one key: one partition, one order */
  assert_int_equal(parry_emit_event(em, &ev), PARRY_OK);
}

static void wait_delivered(parry_delivery_t *d) {
  assert_int_equal(parry_delivery_wait(d, parry_now_ms() + WAIT_MS), PARRY_OK);
}

/* The ids in the events topic, in offset order; returns how many. */
static size_t read_back(fixture_t *f, char ids[][32], size_t max) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                     rd_kafka_mock_cluster_bootstraps(f->mc), err, sizeof err),
                   RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(conf, "group.id", "ingest-retry-reader", err, sizeof err),
                   RD_KAFKA_CONF_OK);
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  assert_non_null(c);
  int64_t lo = 0, hi = 0;
  assert_int_equal(rd_kafka_query_watermark_offsets(c, EVENTS_TOPIC, 0, &lo, &hi, 5000), 0);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, EVENTS_TOPIC, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(c, parts), 0);
  rd_kafka_topic_partition_list_destroy(parts);
  size_t n = 0;
  int64_t next = lo, deadline = parry_now_ms() + WAIT_MS;
  while (next < hi && parry_now_ms() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
    if (!m) continue;
    if (!m->err) {
      Parry__V1__Event *ev = parry__v1__event__unpack(NULL, m->len, m->payload);
      assert_non_null(ev);
      assert_true(n < max);
      snprintf(ids[n++], 32, "%s", ev->id);
      parry__v1__event__free_unpacked(ev, NULL);
      next = m->offset + 1;
    }
    rd_kafka_message_destroy(m);
  }
  assert_int_equal(next, hi); /* read to the end */
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return n;
}

static void test_refused_request_loses_nothing(void **state) {
  fixture_t *f = *state;
  char err[1024];
  parry_publisher_t *pub = NULL;
  if (parry_publisher_new(f->cfg, f->metrics, &pub, err, sizeof err)) fail_msg("%s", err);
  char why[256];
  int64_t deadline = parry_now_ms() + WAIT_MS;
  while (!parry_publisher_ready(pub, why, sizeof why)) {
    if (parry_now_ms() > deadline) fail_msg("publisher not ready: %s", why);
    usleep(20000);
  }
  parry_source_metrics_t sm;
  parry_source_metrics_init(&sm, f->metrics, "test");
  parry_delivery_t *d = parry_delivery_new();
  parry_emitter_t em = {.pub = pub, .metrics = &sm, .delivery = d};

  /* The producer id first, so that what follows is only produce requests. */
  emit(&em, 0);
  wait_delivered(d);

  /* A slow broker keeps requests in flight; the next Produce is refused
   * as by a broker that does not lead the partition (yet). */
  assert_int_equal(rd_kafka_mock_broker_set_rtt(f->mc, 1, 100), 0);
  rd_kafka_mock_push_request_errors(f->mc, PRODUCE_API_KEY, 1,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  for (int i = 1; i < N_EVENTS; i++) emit(&em, i);
  wait_delivered(d);
  if (parry_delivery_failed(d))
    fail_msg("%u deliveries failed, the first with: %s", parry_delivery_failed(d),
             rd_kafka_err2str(parry_delivery_error(d)));
  assert_int_equal(parry_delivery_delivered(d), N_EVENTS);
  assert_int_equal(parry_delivery_delivered_dlq(d), 0);
  parry_publish_counts_t c;
  parry_publisher_counts(pub, &c);
  assert_int_equal(c.events_acked, N_EVENTS);
  assert_int_equal(c.events_failed, 0);
  assert_int_equal(c.in_flight, 0);

  /* Everything acknowledged is in the partition, once, in order. */
  char ids[2 * N_EVENTS][32];
  size_t n = read_back(f, ids, 2 * N_EVENTS);
  assert_int_equal(n, N_EVENTS);
  for (int i = 0; i < N_EVENTS; i++) {
    char want[32];
    event_id(i, want, sizeof want);
    assert_string_equal(ids[i], want);
  }
  parry_delivery_release(d);
  assert_int_equal(parry_publisher_close(pub, parry_now_ms() + 5000), 0);
}

/* The setting that makes the above hold cannot be configured away. */
static void test_in_flight_cannot_be_raised(void **state) {
  fixture_t *f = *state;
  set(f->cfg, "kafka.max.in.flight.requests.per.connection=5");
  char err[1024] = "";
  parry_publisher_t *pub = NULL;
  assert_int_not_equal(parry_publisher_new(f->cfg, f->metrics, &pub, err, sizeof err), PARRY_OK);
  assert_null(pub);
  assert_non_null(strstr(err, "max.in.flight.requests.per.connection"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_refused_request_loses_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_in_flight_cannot_be_raised, setup, teardown),
  };
  return cmocka_run_group_tests_name("ingest_publish_retry", tests, NULL, NULL);
}
