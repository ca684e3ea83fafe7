/* File replay -> consumer reads back exactly the same events, count and
 * content, against a real broker (KAFKA_BOOTSTRAP; skipped when unset
 * unless PARRY_REQUIRE_SERVICES=1).
 *
 * A replay file of sshd lines (the loghub OpenSSH sample from the shared
 * data, several times over, else generated lines), with `message repeated N
 * times` lines (one record, N events), junk, blank lines and an oversize
 * line, goes through an in-process parry-ingestor (ingestor.files) into
 * fresh topics created just before, as bench/correlate_kafka.sh does. Then:
 *
 *   - what the ingestor counts as acknowledged (its per-topic counts and
 *     parry_kafka_delivered_total) equals the number of records in each
 *     topic, and nothing failed or was left in flight;
 *   - topics.events holds, byte for byte, the protobuf Events that the
 *     normalizer makes of the same file (each once, keyed by its entity,
 *     in file order within each partition), and topics.dlq one dead letter
 *     per rejected record, with its line number, reason and bytes.
 *
 * This is the check that would have caught bench/correlate_kafka.sh's
 * 200,800 acknowledged vs 200,796 stored (tests/unit/test_ingest_publish_retry.c
 * reproduces that cause deterministically on the mock cluster).
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingestor.h"
#include "kafka_support.h"
#include "normalize.h"
#include "parry/codec.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "records.h"

#define PARTITIONS 6
#define WAIT_MS 60000
#define MAX_RECORD 4096
#define SAMPLE_REPEATS 5        /* the 2,000-line sample, 10,000 lines */
#define GENERATED_LINES 10000   /* when the shared data is absent */

static const char *g_bootstrap;
static rd_kafka_t *g_admin;
static char g_tmp[256];

/* ------------------------------------------------------------ messages */

typedef struct {
  char *key; /* NULL: none */
  size_t key_len;
  uint8_t *value;
  size_t len;
  int32_t partition;
  int64_t offset;
  size_t index; /* expected: position in the file's order */
} msg_t;

typedef struct {
  msg_t *v;
  size_t n, cap;
} msgs_t;

static void msgs_add(msgs_t *m, const void *key, size_t key_len, const void *value, size_t len) {
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 1024;
    m->v = parry_xreallocarray(m->v, m->cap, sizeof *m->v);
  }
  msg_t *x = &m->v[m->n];
  memset(x, 0, sizeof *x);
  if (key) {
    x->key = parry_xmalloc(key_len + 1);
    memcpy(x->key, key, key_len);
    x->key[key_len] = '\0';
    x->key_len = key_len;
  }
  x->value = parry_xmalloc(len ? len : 1);
  memcpy(x->value, value, len);
  x->len = len;
  x->index = m->n++;
}

static void msgs_free(msgs_t *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->v[i].key);
    free(m->v[i].value);
  }
  free(m->v);
  memset(m, 0, sizeof *m);
}

static int by_value(const void *a, const void *b) {
  const msg_t *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->value, y->value, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int by_place(const void *a, const void *b) {
  const msg_t *x = a, *y = b;
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

/* ------------------------------------------------------------ expected */

typedef struct {
  parry_stream_t *stream;
  msgs_t events;
  msgs_t rejects; /* value: the record's bytes; key: the reason */
  uint64_t *reject_seq;
} expect_t;

/* The key the ingestor gives an event: the first of ingestor.key_fields
 * (source.ip, host.name by default) the event has. */
static void expect_event(void *opaque, const Parry__V1__Event *ev) {
  expect_t *x = opaque;
  static const char *const fields[] = {"source.ip", "host.name"};
  char buf[512];
  const char *key = NULL;
  size_t key_len = 0;
  for (size_t i = 0; i < 2 && !key; i++) {
    parry_field_t f;
    if (parry_event_get(ev, fields[i], &f) == PARRY_FIELD_ABSENT) continue;
    key = parry_field_text(&f, buf, sizeof buf, &key_len);
    if (key && !key_len) key = NULL;
  }
  size_t len = parry__v1__event__get_packed_size(ev);
  uint8_t *value = parry_xmalloc(len ? len : 1);
  parry__v1__event__pack(ev, value);
  msgs_add(&x->events, key, key_len, value, len);
  free(value);
}

static void expect_reject(void *opaque, const char *source, uint64_t seq, const char *rec,
                          size_t len, const char *reason) {
  (void)source;
  expect_t *x = opaque;
  msgs_add(&x->rejects, reason, strlen(reason), rec, len);
  x->reject_seq = parry_xreallocarray(x->reject_seq, x->rejects.cap, sizeof *x->reject_seq);
  x->reject_seq[x->rejects.n - 1] = seq;
}

static const parry_normalize_sink_t expect_sink = {expect_event, expect_reject};

static void expect_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                          size_t total) {
  expect_t *x = opaque;
  if (oversize) {
    char why[160];
    snprintf(why, sizeof why, "oversize record of %zu bytes", total);
    parry_stream_reject(x->stream, rec, len, seq, why);
    return;
  }
  /* When a record was read matters only for the year of syslog
   * timestamps without one: the replay ran moments ago. */
  parry_stream_record(x->stream, rec, len, seq, parry_time_now_ns());
}

/* What the normalizer makes of the file, read as the files source reads it. */
static void expected(const parry_config_t *cfg, const char *path, expect_t *x) {
  memset(x, 0, sizeof *x);
  char err[512], source[400];
  parry_normalizer_t *n = NULL;
  if (parry_normalizer_new(cfg, parry_config_str(cfg, "ingestor.format"), &n, err, sizeof err))
    fail_msg("normalizer: %s", err);
  snprintf(source, sizeof source, "file:%s", path);
  x->stream = parry_stream_new(n, source, &expect_sink, x);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(parry_read_records(f, MAX_RECORD, expect_record, x, err, sizeof err), PARRY_OK);
  fclose(f);
  parry_stream_destroy(x->stream);
  parry_normalizer_destroy(n);
}

/* ------------------------------------------------------------ read back */

/* Every record of topic, from the start to its end offsets now. */
static void read_topic(const char *topic, msgs_t *out) {
  memset(out, 0, sizeof *out);
  char group[160], err[512];
  parry_test_unique_name("parry-ingest-replay-reader", group, sizeof group);
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  rd_kafka_t *rk = parry_kafka_consumer_new(cfg, NULL, group, NULL, err, sizeof err);
  assert_non_null(rk);
  int64_t end[PARTITIONS], next[PARTITIONS];
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
  for (int p = 0; p < PARTITIONS; p++) {
    int64_t lo = 0;
    assert_int_equal(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &end[p], 10000), 0);
    assert_int_equal(lo, 0); /* a fresh topic: nothing deleted */
    next[p] = 0;
    rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  for (;;) {
    bool done = true;
    for (int p = 0; p < PARTITIONS; p++) done = done && next[p] >= end[p];
    if (done) break;
    if (parry_test_now_ms() > deadline) fail_msg("%s: could not read to its end offsets", topic);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if (!m) continue;
    if (!m->err) {
      assert_int_equal(m->offset, next[m->partition]); /* no gaps */
      next[m->partition] = m->offset + 1;
      msgs_add(out, m->key, m->key_len, m->payload, m->len);
      out->v[out->n - 1].partition = m->partition;
      out->v[out->n - 1].offset = m->offset;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
}

/* ------------------------------------------------------------ the input */

/* Line i of the generated sshd traffic (four shapes; the last is one record
 * that makes three events). */
static void generated_line(FILE *out, int i) {
  int pid = 1000 + i % 5000, user = i % 97, a = i % 7, b = (i / 7) % 250, c = 1 + i % 250;
  switch (i % 4) {
  case 0:
    fprintf(out, "Dec 10 06:55:46 LabSZ sshd[%d]: Invalid user user%d from 10.%d.%d.%d\n", pid,
            user, a, b, c);
    break;
  case 1:
    fprintf(out,
            "Dec 10 06:55:48 LabSZ sshd[%d]: Failed password for invalid user user%d from "
            "10.%d.%d.%d port 22 ssh2\n",
            pid, user, a, b, c);
    break;
  case 2:
    fprintf(out,
            "Dec 10 06:55:49 LabSZ sshd[%d]: Accepted password for user%d from 10.%d.%d.%d "
            "port 22 ssh2\n",
            pid, user, a, b, c);
    break;
  default:
    fprintf(out,
            "Dec 10 06:55:50 LabSZ sshd[%d]: message repeated 3 times: [ Failed password for "
            "user%d from 10.%d.%d.%d port 22 ssh2]\n",
            pid, user, a, b, c);
  }
}

/* The replay file: real sshd lines when the shared data has them, then
 * lines that every format refuses, a blank line and an oversize line. */
static void write_input(const char *path) {
  FILE *out = fopen(path, "w");
  assert_non_null(out);
  char sample[600];
  const char *data = parry_test_data_dir();
  snprintf(sample, sizeof sample, "%s/loghub/OpenSSH/OpenSSH_2k.log", data ? data : "");
  FILE *in = data ? fopen(sample, "rb") : NULL;
  if (in) {
    char buf[65536];
    size_t n;
    for (int r = 0; r < SAMPLE_REPEATS; r++) {
      rewind(in);
      while ((n = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
  } else {
    printf("# %s not found: generated sshd lines instead\n", sample);
  }
  for (int i = 0; i < GENERATED_LINES; i++) {
    generated_line(out, i);
    if (i % 1000 == 999) fprintf(out, "replay-junk %d: no format at all\n\n", i);
  }
  for (int i = 0; i < MAX_RECORD + 100; i++) fputc('x', out);
  fputc('\n', out);
  assert_int_equal(fclose(out), 0);
}

/* ------------------------------------------------------------ the test */

static int64_t delivered_metric(parry_metrics_t *m, const char *topic) {
  return parry_metric_value(parry_metrics_counter(m, "parry_kafka_delivered_total", "",
                                                  "client_id", "parry-ingestor", "topic",
                                                  topic, NULL));
}

static void test_file_replay_reads_back_exactly(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  char path[300], events[160], dlq[160], setting[400];
  snprintf(path, sizeof path, "%s/replay.log", g_tmp);
  write_input(path);

  /* Fresh topics, created right before the ingestor starts producing. */
  parry_test_unique_name("parry-ingest-replay-events", events, sizeof events);
  parry_test_unique_name("parry-ingest-replay-dlq", dlq, sizeof dlq);
  parry_test_kafka_create_topic(g_admin, events, PARTITIONS);
  parry_test_kafka_create_topic(g_admin, dlq, PARTITIONS);
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  parry_test_config_set(cfg, "topics.events=%s", events);
  parry_test_config_set(cfg, "topics.dlq=%s", dlq);
  parry_test_config_set(cfg, "ingestor.max_record_size=%d", MAX_RECORD);
  snprintf(setting, sizeof setting, "ingestor.files=%s", path);
  parry_test_config_set(cfg, "%s", setting);
  parry_metrics_t *metrics = parry_metrics_new();
  char err[1024];
  parry_ingestor_t *ing = NULL;
  if (parry_ingestor_start(cfg, metrics, &ing, err, sizeof err)) fail_msg("%s", err);
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  while (!parry_ingestor_files_done(ing) && parry_test_now_ms() < deadline) usleep(20000);
  assert_true(parry_ingestor_files_done(ing)); /* read, and every message reported */

  parry_ingestor_delivery_counts_t c;
  parry_ingestor_delivery_counts(ing, &c);
  assert_int_equal(c.events_failed, 0);
  assert_int_equal(c.dlq_failed, 0);
  assert_int_equal(c.in_flight, 0);
  assert_int_equal(delivered_metric(metrics, events), (int64_t)c.events_acked);
  assert_int_equal(delivered_metric(metrics, dlq), (int64_t)c.dlq_acked);

  expect_t x;
  expected(cfg, path, &x);
  msgs_t got_ev, got_dlq;
  read_topic(events, &got_ev);
  read_topic(dlq, &got_dlq);
  printf("# %zu events and %zu dead letters expected; %llu and %llu acknowledged; %zu and %zu "
         "read back\n",
         x.events.n, x.rejects.n, c.events_acked, c.dlq_acked, got_ev.n, got_dlq.n);

  /* Counts: acknowledged = in the topic = what the file makes. */
  assert_true(x.events.n > 10000);
  assert_int_equal(got_ev.n, c.events_acked);
  assert_int_equal(got_ev.n, x.events.n);
  assert_int_equal(got_dlq.n, c.dlq_acked);
  assert_int_equal(got_dlq.n, x.rejects.n);

  /* Content: the same protobuf bytes under the same keys, each once... */
  qsort(x.events.v, x.events.n, sizeof *x.events.v, by_value);
  qsort(got_ev.v, got_ev.n, sizeof *got_ev.v, by_value);
  for (size_t i = 0; i < got_ev.n; i++) {
    const msg_t *want = &x.events.v[i], *got = &got_ev.v[i];
    if (by_value(want, got) != 0)
      fail_msg("event %zu of the file (sorted %zu) is not in %s, or differs", want->index, i,
               events);
    if (i > 0) assert_int_not_equal(by_value(&got_ev.v[i - 1], got), 0); /* no duplicate */
    assert_int_equal(got->key_len, want->key_len);
    if (want->key) assert_memory_equal(got->key, want->key, want->key_len);
    got_ev.v[i].index = want->index; /* its place in the file */
  }
  /* ...and in file order within each partition. */
  qsort(got_ev.v, got_ev.n, sizeof *got_ev.v, by_place);
  for (size_t i = 1; i < got_ev.n; i++)
    if (got_ev.v[i].partition == got_ev.v[i - 1].partition &&
        got_ev.v[i].index <= got_ev.v[i - 1].index)
      fail_msg("%s[%d] offset %lld holds event %zu of the file after event %zu", events,
               (int)got_ev.v[i].partition, (long long)got_ev.v[i].offset, got_ev.v[i].index,
               got_ev.v[i - 1].index);

  /* Dead letters: one per rejected record, with its line and bytes. */
  for (size_t i = 0; i < got_dlq.n; i++) {
    char *json = parry_test_dup_bytes(got_dlq.v[i].value, got_dlq.v[i].len);
    json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    json_object *seq = NULL, *rec = NULL, *reason = NULL;
    assert_true(json_object_object_get_ex(o, "seq", &seq));
    assert_true(json_object_object_get_ex(o, "reason", &reason));
    assert_true(json_object_object_get_ex(o, "record", &rec));
    size_t j = 0;
    while (j < x.rejects.n && x.reject_seq[j] != (uint64_t)json_object_get_int64(seq)) j++;
    if (j == x.rejects.n) fail_msg("unexpected dead letter %s", json);
    const msg_t *want = &x.rejects.v[j];
    assert_int_equal(json_object_get_string_len(rec), want->len);
    assert_memory_equal(json_object_get_string(rec), want->value, want->len);
    if (want->len < MAX_RECORD)
      assert_string_equal(json_object_get_string(reason), want->key);
    else
      assert_non_null(strstr(json_object_get_string(reason), "max_record_size"));
    x.reject_seq[j] = UINT64_MAX; /* each once */
    json_object_put(o);
    free(json);
  }

  msgs_free(&got_ev);
  msgs_free(&got_dlq);
  msgs_free(&x.events);
  msgs_free(&x.rejects);
  free(x.reject_seq);
  assert_int_equal(parry_ingestor_stop(ing), 0); /* nothing lost */
  parry_metrics_destroy(metrics);
  parry_config_destroy(cfg);
}

static int group_setup(void **state) {
  (void)state;
  g_bootstrap = parry_test_kafka_bootstrap();
  if (!g_bootstrap) return 0;
  parry_log_init("test", PARRY_LOG_WARN);
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  char err[512];
  const parry_kafka_producer_opts_t opts = {.client_id = "test-ingest-replay-admin"};
  g_admin = parry_kafka_producer_new(cfg, NULL, &opts, err, sizeof err);
  parry_config_destroy(cfg);
  if (!g_admin) fail_msg("%s", err);
  return parry_test_tmpdir_make(g_tmp, sizeof g_tmp, "/tmp/parry-ingest-replay-XXXXXX");
}

static int group_teardown(void **state) {
  (void)state;
  parry_kafka_destroy(g_admin);
  return g_tmp[0] ? parry_test_tmpdir_remove(g_tmp) : 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_replay_reads_back_exactly),
  };
  return cmocka_run_group_tests_name("ingest_replay", tests, group_setup, group_teardown);
}
