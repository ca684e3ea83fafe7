/* The executor's intake thread: topics.alerts -> case store, offsets after
 * the PostgreSQL commit. See worker/worker.h. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "parry/buf.h"
#include "parry/codec.h"
#include "parry/kafka.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "store/store.h"
#include "worker/internal.h"
#include "worker/paths.h"

#define POLL_MS 100
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
#define RUNNABLE_EVERY_NS (250 * (int64_t)1000000)

/* One alert of the batch in hand, with everything the store input points to. */
typedef struct {
  Parry__V1__Alert *alert;
  char *json;
  const parry_runbook_t *rb[PARRY_STORE_MAX_MATCHES];
  parry_store_match_t matches[PARRY_STORE_MAX_MATCHES];
  parry_store_label_t *labels; /* all matches' labels, one array */
  char **values;               /* label values, owned */
  size_t n_values;
  size_t n_matches;
  /* where it came from, for dead letters */
  char *topic;
  int32_t partition;
  int64_t offset;
  void *key, *payload;
  size_t key_len, len;
} item_t;

struct parry_intake {
  parry_worker_t *w;
  rd_kafka_t *consumer, *producer;
  parry_store_t *store;
  char *alerts_topic, *dlq_topic;
  int batch_size;
  int flush_timeout_ms;
  int64_t lease_ns; /* executor.lease: for the runs leased at ingest */
  long long max_in_flight, resume_in_flight;
  bool paused;
  int64_t next_count_ns; /* next parry_store_runs_runnable */
  pthread_t thread;
  bool thread_started;
  atomic_ullong delivery_failures;
  bool produce_error;
  rd_kafka_topic_partition_list_t *offsets;   /* of the batch in hand */
  rd_kafka_topic_partition_list_t *committed; /* highest committed, for commit_final */
  item_t *items;
  size_t n_items;
  parry_store_alert_in_t *in;
  parry_store_ingest_result_t *results;
};

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  (void)rk;
  parry_intake_t *in = opaque;
  if (msg->err) {
    atomic_fetch_add(&in->delivery_failures, 1);
    LOG_ERROR("could not deliver to %s: %s", rd_kafka_topic_name(msg->rkt),
              rd_kafka_err2str(msg->err));
  }
}

/* As correlator/stage1.c: while the producer's queue is full, wait (serving
 * delivery reports) up to the flush timeout. */
static void produce(parry_intake_t *in, const char *topic, const void *key, size_t key_len,
                    const void *value, size_t len, rd_kafka_headers_t *hdrs) {
  for (int waited_ms = 0;; waited_ms += 100) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(in->producer, RD_KAFKA_V_TOPIC(topic),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
                          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return; /* the headers are the producer's now */
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && waited_ms < in->flush_timeout_ms) {
      rd_kafka_poll(in->producer, 100);
      continue;
    }
    LOG_ERROR("could not produce to %s: %s", topic, rd_kafka_err2str(err));
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    in->produce_error = true;
    return;
  }
}

static void dead_letter(parry_intake_t *in, const char *topic, int32_t partition, int64_t offset,
                        const void *key, size_t key_len, const void *value, size_t len,
                        const char *reason, parry_metric_t *counter) {
  char origin[512];
  snprintf(origin, sizeof origin, "%s/%" PRId32 "/%" PRId64, topic, partition, offset);
  LOG_WARN("dead letter from %s: %s", origin, reason);
  rd_kafka_headers_t *h = rd_kafka_headers_new(3);
  rd_kafka_header_add(h, "parry.reason", -1, reason, -1);
  rd_kafka_header_add(h, "parry.source", -1, "executor", -1);
  rd_kafka_header_add(h, "parry.origin", -1, origin, -1);
  produce(in, in->dlq_topic, key, key_len, value, len, h);
  parry_metric_add(counter, 1);
}

static void dead_letter_msg(parry_intake_t *in, const rd_kafka_message_t *msg, const char *reason,
                            parry_metric_t *counter) {
  dead_letter(in, rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset, msg->key,
              msg->key_len, msg->payload, msg->len, reason, counter);
}

static void item_free(item_t *it) {
  if (it->alert) parry__v1__alert__free_unpacked(it->alert, NULL);
  free(it->json);
  for (size_t i = 0; i < it->n_values; i++) free(it->values[i]);
  free(it->values);
  free(it->labels);
  free(it->topic);
  free(it->key);
  free(it->payload);
  memset(it, 0, sizeof *it);
}

static void batch_reset(parry_intake_t *in) {
  for (size_t i = 0; i < in->n_items; i++) item_free(&in->items[i]);
  in->n_items = 0;
}

/* A label's key as the runbook's users think of it: "group_by.source.ip"
 * is the grouping field "source.ip". */
static const char *label_key(const char *field) {
  return strncmp(field, "group_by.", 9) == 0 ? field + 9 : field;
}

/* Fill the store input of one decoded alert: its JSON, the runbooks it
 * matches and their grouping values. false (reason written): dead letter. */
static bool prepare(parry_intake_t *in, item_t *it, char *reason, size_t reason_size) {
  parry_worker_t *w = in->w;
  parry_buf_t b = PARRY_BUF_INIT(0);
  char err[256];
  if (parry_alert_to_json(it->alert, &b, err, sizeof err)) {
    snprintf(reason, reason_size, "alert cannot be written as JSON: %s", err);
    parry_buf_free(&b);
    return false;
  }
  it->json = parry_buf_steal(&b);
  const parry_runbook_t *rbs[PARRY_STORE_MAX_MATCHES];
  size_t n = parry_runbooks_match(w->runbooks, it->alert, rbs, PARRY_STORE_MAX_MATCHES);
  if (n > PARRY_STORE_MAX_MATCHES) {
    LOG_WARN("alert %s matches %zu runbooks; only the first %d (by name) run", it->alert->id, n,
             PARRY_STORE_MAX_MATCHES);
    n = PARRY_STORE_MAX_MATCHES;
  }
  if (n == 0) {
    it->n_matches = 0;
    return true;
  }
  struct json_object *doc = NULL;
  if (parry_codec_parse_json(it->json, strlen(it->json), &doc, err, sizeof err)) {
    snprintf(reason, reason_size, "alert JSON does not read back: %s", err);
    return false;
  }
  size_t n_labels = 0;
  for (size_t i = 0; i < n; i++) n_labels += rbs[i]->group.n_fields;
  it->labels = parry_xnew(parry_store_label_t, n_labels ? n_labels : 1);
  it->values = parry_xnew(char *, n_labels ? n_labels : 1);
  size_t l = 0;
  for (size_t i = 0; i < n; i++) {
    const parry_runbook_t *rb = rbs[i];
    it->rb[i] = rb;
    parry_store_match_t *m = &it->matches[i];
    m->runbook = rb->name;
    m->runbook_version = NULL;
    m->group = it->labels + l;
    m->n_group = rb->group.n_fields;
    m->window_ns = rb->group.window_ns;
    m->severity = parry_runbook_severity(rb, it->alert->rule_level);
    for (size_t f = 0; f < rb->group.n_fields; f++, l++) {
      char *v = parry_json_path_text(doc, rb->group.fields[f]);
      it->values[it->n_values++] = v;
      it->labels[l] = (parry_store_label_t){label_key(rb->group.fields[f]), v};
    }
  }
  json_object_put(doc);
  it->n_matches = n;
  return true;
}

static void note_offset(parry_intake_t *in, const char *topic, int32_t partition,
                        int64_t offset) {
  rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(in->offsets, topic, partition);
  if (!p) p = rd_kafka_topic_partition_list_add(in->offsets, topic, partition);
  if (offset + 1 > p->offset) p->offset = offset + 1;
}

/* Decode one message into the batch, or dead-letter it. */
static void take(parry_intake_t *in, const rd_kafka_message_t *msg) {
  parry_worker_t *w = in->w;
  note_offset(in, rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset);
  Parry__V1__Alert *a = parry__v1__alert__unpack(NULL, msg->len, msg->payload);
  if (!a) {
    dead_letter_msg(in, msg, "not a protobuf Alert", w->m_dlq_decode);
    return;
  }
  if (a->schema_version > PARRY_SCHEMA_VERSION) {
    char reason[128];
    snprintf(reason, sizeof reason, "unsupported schema_version %" PRIu32 " (newest known: %d)",
             a->schema_version, PARRY_SCHEMA_VERSION);
    dead_letter_msg(in, msg, reason, w->m_dlq_schema);
    parry__v1__alert__free_unpacked(a, NULL);
    return;
  }
  if (!a->id || !*a->id) {
    /* Without its deterministic id an alert cannot be stored idempotently. */
    dead_letter_msg(in, msg, "alert without id", w->m_dlq_noid);
    parry__v1__alert__free_unpacked(a, NULL);
    return;
  }
  item_t *it = &in->items[in->n_items];
  memset(it, 0, sizeof *it);
  it->alert = a;
  char reason[512];
  if (!prepare(in, it, reason, sizeof reason)) {
    dead_letter_msg(in, msg, reason, w->m_dlq_decode);
    item_free(it);
    return;
  }
  it->topic = parry_xstrdup(rd_kafka_topic_name(msg->rkt));
  it->partition = msg->partition;
  it->offset = msg->offset;
  /* Kept for a dead letter should the store refuse this one alert. */
  if (msg->key_len) it->key = parry_xmalloc(msg->key_len), memcpy(it->key, msg->key, msg->key_len);
  it->key_len = msg->key_len;
  it->payload = parry_xmalloc(msg->len ? msg->len : 1);
  if (msg->len) memcpy(it->payload, msg->payload, msg->len);
  it->len = msg->len;
  parry_metric_add(w->m_alerts, 1);
  in->n_items++;
}

/* The batch in one transaction that also leases, for this executor's
 * scheduler, as many of the runs it creates as the scheduler has room for
 * (reserved from its claimer): the scheduler gets them in memory, without
 * the claim's round trips. Runs beyond that stay pending for any claimer. */
static parry_err_t ingest_leased(parry_intake_t *in, size_t *unleased, char *err, size_t n) {
  parry_worker_t *w = in->w;
  size_t may_create = 0;
  for (size_t i = 0; i < in->n_items; i++) may_create += in->items[i].n_matches;
  size_t reserved = may_create ? parry_scheduler_reserve(w->scheduler, may_create) : 0;
  parry_run_t **runs = NULL;
  size_t n_runs = 0;
  parry_err_t rc;
  if (reserved)
    rc = parry_store_ingest_batch_leased(in->store, in->in, in->n_items, in->results,
                                         w->instance, in->lease_ns, reserved, &runs, &n_runs,
                                         err, n);
  else
    rc = parry_store_ingest_batch(in->store, in->in, in->n_items, in->results, err, n);
  if (reserved) parry_scheduler_give(w->scheduler, reserved, runs, n_runs);
  free(runs); /* the runs themselves are the scheduler's now */
  size_t created = 0;
  if (!rc)
    for (size_t i = 0; i < in->n_items; i++)
      for (size_t c = 0; c < in->results[i].n_cases; c++)
        created += in->results[i].cases[c].outcome == PARRY_STORE_OPENED;
  *unleased = created > n_runs ? created - n_runs : 0;
  return rc;
}

static void account(parry_intake_t *in, const parry_store_ingest_result_t *r, size_t n_matches) {
  parry_worker_t *w = in->w;
  if (r->duplicate) {
    parry_metric_add(w->m_duplicates, 1);
    return;
  }
  if (n_matches == 0) parry_metric_add(w->m_unmatched, 1);
  for (size_t c = 0; c < r->n_cases; c++) {
    if (r->cases[c].outcome != PARRY_STORE_OPENED) continue;
    parry_metric_add(w->m_cases_opened, 1);
    parry_metric_add(w->m_runs_created, 1);
    atomic_fetch_add(&w->runs_created, 1);
  }
}

/* Store the batch in one transaction; transient failures are retried until
 * they pass or the worker stops (then false: nothing committed). A
 * permanent failure falls back to one transaction per alert, so that one
 * alert the database refuses goes to the DLQ instead of blocking the rest. */
static bool store_batch(parry_intake_t *in) {
  parry_worker_t *w = in->w;
  if (!in->n_items) return true;
  for (size_t i = 0; i < in->n_items; i++) {
    item_t *it = &in->items[i];
    in->in[i] = (parry_store_alert_in_t){it->alert, it->json, it->matches, it->n_matches};
  }
  char err[512];
  int backoff = PG_BACKOFF_MIN_MS;
  for (;;) {
    if (!in->store) {
      in->store = parry_worker_store_open(w);
      if (!in->store) return false; /* stopping */
    }
    size_t unleased = 0;
    if (ingest_leased(in, &unleased, err, sizeof err) == PARRY_OK) {
      atomic_store(&w->pg_ok, true);
      for (size_t i = 0; i < in->n_items; i++) account(in, &in->results[i], in->items[i].n_matches);
      /* Only runs left pending need a claim. */
      if (unleased) parry_scheduler_kick(w->scheduler);
      return true;
    }
    parry_pg_kind_t kind = parry_store_error_kind(in->store);
    if (!parry_pg_kind_is_retriable(kind)) break;
    atomic_store(&w->pg_ok, false);
    LOG_WARN("storing %zu alerts: %s; retrying in %d ms", in->n_items, err, backoff);
    if (atomic_load(&w->stop)) return false;
    sleep_ms(backoff);
    backoff = backoff * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : backoff * 2;
  }
  LOG_WARN("storing a batch of %zu alerts failed (%s); storing them one by one", in->n_items, err);
  for (size_t i = 0; i < in->n_items; i++) {
    item_t *it = &in->items[i];
    backoff = PG_BACKOFF_MIN_MS;
    for (;;) {
      if (parry_store_ingest_alert(in->store, &in->in[i], &in->results[i], err, sizeof err) ==
          PARRY_OK) {
        account(in, &in->results[i], it->n_matches);
        break;
      }
      parry_pg_kind_t kind = parry_store_error_kind(in->store);
      if (!parry_pg_kind_is_retriable(kind)) {
        char reason[700];
        snprintf(reason, sizeof reason, "case store refused the alert: %s", err);
        dead_letter(in, it->topic, it->partition, it->offset, it->key, it->key_len, it->payload,
                    it->len, reason, w->m_dlq_store);
        break;
      }
      atomic_store(&w->pg_ok, false);
      if (atomic_load(&w->stop)) return false;
      sleep_ms(backoff);
      backoff = backoff * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : backoff * 2;
    }
  }
  atomic_store(&w->pg_ok, true);
  parry_scheduler_kick(w->scheduler);
  return true;
}

/* After the store committed: dead letters acknowledged, then offsets.
 * false: the worker must stop (nothing committed). */
static bool finish_batch(parry_intake_t *in) {
  parry_worker_t *w = in->w;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (rd_kafka_outq_len(in->producer) > 0) err = rd_kafka_flush(in->producer, in->flush_timeout_ms);
  if (err) {
    parry_worker_set_failed(w, "dead letters not acknowledged within %d ms: %s; offsets not "
                               "committed", in->flush_timeout_ms, rd_kafka_err2str(err));
    return false;
  }
  if (atomic_load(&in->delivery_failures) || in->produce_error) {
    parry_worker_set_failed(w, "dead letters could not be delivered; offsets not committed");
    return false;
  }
  if (in->offsets->cnt) {
    /* Asynchronous: the batch is committed in PostgreSQL already, so a
     * commit that is late or lost only means a redelivery, which the store
     * ignores; waiting for the broker here would add its round trip to
     * every batch. The stop commits synchronously (commit_final). */
    err = rd_kafka_commit(in->consumer, in->offsets, 1);
    if (err)
      /* e.g. revoked partitions: their new owner re-reads, the store drops
       * the duplicates. */
      LOG_WARN("could not commit offsets: %s", rd_kafka_err2str(err));
    for (int i = 0; i < in->offsets->cnt; i++) {
      const rd_kafka_topic_partition_t *p = &in->offsets->elems[i];
      rd_kafka_topic_partition_t *q =
          rd_kafka_topic_partition_list_find(in->committed, p->topic, p->partition);
      if (!q) q = rd_kafka_topic_partition_list_add(in->committed, p->topic, p->partition);
      if (p->offset > q->offset) q->offset = p->offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(in->offsets);
  in->offsets = rd_kafka_topic_partition_list_new(8);
  return true;
}

/* At stop: every offset committed so far, once more and waiting for the
 * broker, so that the next owner of the partitions starts where this one
 * stopped (not a batch or two earlier). */
static void commit_final(parry_intake_t *in) {
  if (!in->committed || !in->committed->cnt) return;
  /* Only partitions still assigned: a revoked one's new owner may be ahead. */
  rd_kafka_topic_partition_list_t *a = NULL, *mine = rd_kafka_topic_partition_list_new(8);
  if (rd_kafka_assignment(in->consumer, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
    for (int i = 0; i < in->committed->cnt; i++) {
      const rd_kafka_topic_partition_t *p = &in->committed->elems[i];
      if (rd_kafka_topic_partition_list_find(a, p->topic, p->partition))
        rd_kafka_topic_partition_list_add(mine, p->topic, p->partition)->offset = p->offset;
    }
    rd_kafka_topic_partition_list_destroy(a);
  }
  if (mine->cnt) {
    rd_kafka_resp_err_t err = rd_kafka_commit(in->consumer, mine, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      LOG_WARN("could not commit offsets at stop: %s", rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(mine);
}

static void update_assigned(parry_intake_t *in) {
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(in->consumer, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
    atomic_store(&in->w->assigned, a->cnt > 0);
    /* A partition assigned while paused (rebalance) must be paused too. */
    if (in->paused && a->cnt) rd_kafka_pause_partitions(in->consumer, a);
    rd_kafka_topic_partition_list_destroy(a);
  }
}

long long parry_worker_in_flight(parry_worker_t *w) {
  long long created = atomic_load(&w->runs_created);
  long long claimed = atomic_load(&w->runs_claimed_new);
  long long pending = created - claimed;
  if (pending < 0) pending = 0;
  long long fleet = atomic_load(&w->runs_runnable);
  if (fleet > pending) pending = fleet;
  return atomic_load(&w->runs_in_flight) + pending;
}

/* Refresh the fleet-wide count of runnable runs (one indexed count), at
 * most every RUNNABLE_EVERY_NS: runs other replicas created and nobody
 * claimed yet hold this intake back too. */
static void count_runnable(parry_intake_t *in) {
  int64_t now = parry_time_now_ns();
  if (now < in->next_count_ns || !in->store) return;
  in->next_count_ns = now + RUNNABLE_EVERY_NS;
  int64_t n = 0;
  char err[512];
  if (parry_store_runs_runnable(in->store, &n, err, sizeof err)) {
    LOG_DEBUG("counting runnable runs: %s", err);
    return; /* the local estimate stands meanwhile */
  }
  atomic_store(&in->w->runs_runnable, n);
}

/* Backpressure: pause every assigned partition above the high-water mark,
 * resume at the low one. Paused messages stay in Kafka; none is dropped. */
static void backpressure(parry_intake_t *in) {
  count_runnable(in);
  long long n = parry_worker_in_flight(in->w);
  bool want = in->paused ? n > in->resume_in_flight : n > in->max_in_flight;
  if (want == in->paused) return;
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(in->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a) return;
  rd_kafka_resp_err_t err = want ? rd_kafka_pause_partitions(in->consumer, a)
                                 : rd_kafka_resume_partitions(in->consumer, a);
  rd_kafka_topic_partition_list_destroy(a);
  if (err) {
    LOG_WARN("could not %s the consumer: %s", want ? "pause" : "resume", rd_kafka_err2str(err));
    return;
  }
  in->paused = want;
  parry_metric_set(in->w->m_paused, want);
  if (want) LOG_INFO("%lld runs in flight (executor.max_in_flight %lld): consumer paused", n,
                     in->max_in_flight);
  else LOG_INFO("%lld runs in flight: consumer resumed", n);
}

static void *intake_main(void *arg) {
  parry_intake_t *in = arg;
  parry_worker_t *w = in->w;
  parry_log_action("taking alerts");
  while (!atomic_load(&w->stop)) {
    backpressure(in);
    int n = 0;
    while (n < in->batch_size && !atomic_load(&w->stop)) {
      rd_kafka_message_t *msg = rd_kafka_consumer_poll(in->consumer, n ? 0 : POLL_MS);
      if (!msg) break;
      if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          LOG_WARN("consumer: %s", rd_kafka_message_errstr(msg));
        rd_kafka_message_destroy(msg);
        if (n == 0) break;
        continue;
      }
      take(in, msg);
      rd_kafka_message_destroy(msg);
      n++;
    }
    update_assigned(in);
    rd_kafka_poll(in->producer, 0);
    if (n) {
      if (!store_batch(in)) break; /* stopping: the batch is re-read after restart */
      batch_reset(in);
      if (!finish_batch(in)) break;
    }
    char why[256];
    if (parry_kafka_fatal(in->producer, why, sizeof why) ||
        parry_kafka_fatal(in->consumer, why, sizeof why)) {
      parry_worker_set_failed(w, "fatal Kafka client error: %s", why);
      break;
    }
  }
  batch_reset(in);
  return NULL;
}

static void intake_destroy(parry_intake_t *in) {
  if (in->consumer) parry_kafka_destroy(in->consumer);
  if (in->producer) parry_kafka_destroy(in->producer);
  parry_store_close(in->store);
  if (in->offsets) rd_kafka_topic_partition_list_destroy(in->offsets);
  if (in->committed) rd_kafka_topic_partition_list_destroy(in->committed);
  free(in->items);
  free(in->in);
  free(in->results);
  free(in->alerts_topic);
  free(in->dlq_topic);
  free(in);
}

parry_err_t parry_intake_start(parry_worker_t *w, parry_intake_t **out, char *errstr, size_t n) {
  const parry_config_t *cfg = w->cfg;
  parry_intake_t *in = parry_xnew(parry_intake_t, 1);
  in->w = w;
  in->alerts_topic = parry_xstrdup(parry_config_str(cfg, "topics.alerts"));
  in->dlq_topic = parry_xstrdup(parry_config_str(cfg, "topics.dlq"));
  in->batch_size = (int)parry_config_int(cfg, "executor.batch_size");
  in->flush_timeout_ms = 30000;
  in->lease_ns = parry_config_int(cfg, "executor.lease") * (int64_t)1000000;
  in->max_in_flight = parry_config_int(cfg, "executor.max_in_flight");
  in->resume_in_flight = parry_config_int(cfg, "executor.resume_in_flight");
  if (in->resume_in_flight >= in->max_in_flight) in->resume_in_flight = in->max_in_flight / 2;
  in->offsets = rd_kafka_topic_partition_list_new(8);
  in->committed = rd_kafka_topic_partition_list_new(8);
  in->items = parry_xnew(item_t, (size_t)in->batch_size);
  in->in = parry_xnew(parry_store_alert_in_t, (size_t)in->batch_size);
  in->results = parry_xnew(parry_store_ingest_result_t, (size_t)in->batch_size);
  char err[512];
  parry_err_t rc;
  const parry_kafka_producer_opts_t popts = {
      .client_id = "parry-executor", .dr_cb = on_delivery, .dr_opaque = in};
  in->producer = parry_kafka_producer_new(cfg, w->metrics, &popts, err, sizeof err);
  if (!in->producer) {
    rc = parry_fail(errstr, n, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  /* Alerts come from the correlator's transactions: only committed ones. */
  static const char *const required[] = {"isolation.level", "read_committed", NULL};
  /* A bounded prefetch: under a backlog the client would otherwise hold up
   * to 64 MiB of alerts per fetch queue; the intake takes a batch at a time
   * anyway. kafka.* settings may change these. */
  static const char *const defaults[] = {"queued.min.messages", "10000",
                                         "queued.max.messages.kbytes", "8192", NULL};
  const parry_kafka_consumer_opts_t copts = {
      .client_id = "parry-executor", .defaults = defaults, .required = required};
  in->consumer = parry_kafka_consumer_new(cfg, w->metrics, parry_config_str(cfg, "executor.group"),
                                          &copts, err, sizeof err);
  if (!in->consumer) {
    rc = parry_fail(errstr, n, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, in->alerts_topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t kerr = rd_kafka_subscribe(in->consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (kerr) {
    rc = parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "topics.alerts: subscribe to \"%s\": %s",
                    in->alerts_topic, rd_kafka_err2str(kerr));
    goto fail;
  }
  if (pthread_create(&in->thread, NULL, intake_main, in)) {
    rc = parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "could not start the intake thread");
    goto fail;
  }
  in->thread_started = true;
  *out = in;
  return PARRY_OK;
fail:
  if (in->consumer) rd_kafka_consumer_close(in->consumer);
  intake_destroy(in);
  return rc;
}

void parry_intake_stop(parry_intake_t *in) {
  if (!in) return;
  if (in->thread_started) pthread_join(in->thread, NULL);
  commit_final(in);
  if (rd_kafka_flush(in->producer, in->flush_timeout_ms))
    LOG_ERROR("stop: %d dead letters not acknowledged", rd_kafka_outq_len(in->producer));
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(in->consumer);
  if (err) LOG_WARN("closing the consumer: %s", rd_kafka_err2str(err));
  intake_destroy(in);
}
