#include "publish.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/buf.h"
#include "parry/codec.h"
#include "parry/kafka.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "records.h"

/* Throughput defaults (bench/ingest_kafka.sh): lz4 is cheap on CPU and
 * shrinks syslog text about 4x; batches of up to 1 MB amortise requests;
 * a short linger costs HTTP clients little latency. The queue bound is what
 * turns a slow broker into backpressure: 200,000 messages of ~500 bytes. Any
 * kafka.* setting replaces these. */
static const char *const producer_defaults[] = {
    "linger.ms", "10",
    "batch.num.messages", "20000",
    "batch.size", "1000000",
    "compression.codec", "lz4",
    "queue.buffering.max.messages", "200000",
    "queue.buffering.max.kbytes", "262144",
    NULL,
};

/* The ingestor's correctness depends on these (no loss, no duplicates from
 * retries): a configuration that disagrees is an error, not an override.
 *
 * One produce request in flight per broker connection: with more,
 * librdkafka (2.0.2, and master as of this writing) can report messages
 * delivered that Kafka never wrote. Seen in bench/correlate_kafka.sh: 4
 * events of a fresh topic's partition were acknowledged, the topic lacked
 * them, and its first batch on disk starts at sequence 4. How: request R1
 * (sequence 0..3) fails with a retriable error (NOT_LEADER_OR_FOLLOWER:
 * the broker's metadata named the leader before the partition existed on
 * it) while R2 (4..) is already in flight; the broker takes R2 as the
 * first batch of a producer it has no state for (any sequence is accepted
 * then); R2's success makes librdkafka "implicitly acknowledge" R1's
 * messages waiting for their retry. With one request in flight R2 is only
 * built after R1 is answered, and a retried R1 goes first.
 * tests/unit/test_ingest_publish_retry.c reproduces it on the mock
 * cluster; the cost measured on bench/ingest_kafka.sh is within noise
 * (batches are up to 1 MB). */
static const char *const producer_required[] = {
    "enable.idempotence", "true",
    "acks", "all",
    "max.in.flight.requests.per.connection", "1",
    NULL,
};

#define READY_RECHECK_MS 2000
/* Events up to this size are packed on the stack (an sshd event is ~400 bytes). */
#define PACK_STACK_MAX 8192
#define POLL_MS 100

struct parry_delivery {
  atomic_uint refs;
  atomic_uint pending;
  atomic_uint delivered;
  atomic_uint delivered_dlq; /* of delivered, those to topics.dlq */
  atomic_uint failed;
  atomic_int first_error;
  pthread_mutex_t lock; /* only for waiters: see delivery_report */
  pthread_cond_t cond;
};

struct parry_publisher {
  rd_kafka_t *rk;
  rd_kafka_topic_t *events, *dlq;
  char *events_topic, *dlq_topic;
  char **key_fields;
  size_t n_key_fields;
  int queue_max;        /* queue.buffering.max.messages */
  int queue_high_water; /* congested above this */

  pthread_t poller;
  bool poller_started;
  atomic_bool stop_poller;
  atomic_llong shutdown_deadline; /* 0: none */

  /* Readiness, written by the poll thread. */
  pthread_mutex_t lock;
  bool ready;
  char why[256];

  parry_metric_t *queue_depth;
  parry_metric_t *events_failed, *dlq_failed;

  /* Delivery reports so far, [0] topics.events, [1] topics.dlq. */
  atomic_ullong acked[2], failed[2];
  atomic_ullong produced; /* handed to librdkafka, counted before the call */
};

int64_t parry_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ deliveries */

parry_delivery_t *parry_delivery_new(void) {
  parry_delivery_t *d = parry_xnew(parry_delivery_t, 1);
  atomic_init(&d->refs, 1);
  atomic_init(&d->pending, 0);
  atomic_init(&d->delivered, 0);
  atomic_init(&d->delivered_dlq, 0);
  atomic_init(&d->failed, 0);
  atomic_init(&d->first_error, RD_KAFKA_RESP_ERR_NO_ERROR);
  pthread_mutex_init(&d->lock, NULL);
  /* Waits use the monotonic clock, like every deadline here. */
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&d->cond, &attr);
  pthread_condattr_destroy(&attr);
  return d;
}

void parry_delivery_release(parry_delivery_t *d) {
  if (!d || atomic_fetch_sub(&d->refs, 1) != 1) return;
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->cond);
  free(d);
}

unsigned parry_delivery_pending(const parry_delivery_t *d) { return atomic_load(&d->pending); }
unsigned parry_delivery_delivered(const parry_delivery_t *d) { return atomic_load(&d->delivered); }
unsigned parry_delivery_delivered_dlq(const parry_delivery_t *d) {
  return atomic_load(&d->delivered_dlq);
}
unsigned parry_delivery_failed(const parry_delivery_t *d) { return atomic_load(&d->failed); }
rd_kafka_resp_err_t parry_delivery_error(const parry_delivery_t *d) {
  return (rd_kafka_resp_err_t)atomic_load(&d->first_error);
}

/* A message of d was reported (from a delivery report callback). The lock
 * is taken only for the last one, to wake a waiter: a waiter checks
 * `pending` under the lock, so it either sees 0 or is asleep when the
 * broadcast comes. */
static void delivery_report(parry_delivery_t *d, rd_kafka_resp_err_t err, bool dlq) {
  if (err) {
    int none = RD_KAFKA_RESP_ERR_NO_ERROR;
    atomic_compare_exchange_strong(&d->first_error, &none, (int)err);
    atomic_fetch_add(&d->failed, 1);
  } else {
    /* The part before the total: a reader that loads delivered_dlq first
     * never sees more dead letters than deliveries. */
    if (dlq) atomic_fetch_add(&d->delivered_dlq, 1);
    atomic_fetch_add(&d->delivered, 1);
  }
  if (atomic_fetch_sub(&d->pending, 1) == 1) {
    pthread_mutex_lock(&d->lock);
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
  }
  parry_delivery_release(d);
}

parry_err_t parry_delivery_wait(parry_delivery_t *d, int64_t deadline_ms) {
  parry_err_t err = PARRY_OK;
  pthread_mutex_lock(&d->lock);
  while (atomic_load(&d->pending) > 0) {
    int64_t now = parry_now_ms();
    if (now >= deadline_ms) {
      err = PARRY_ERR_TIMEOUT;
      break;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t wait_ms = deadline_ms - now;
    ts.tv_sec += (time_t)(wait_ms / 1000);
    ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&d->cond, &d->lock, &ts);
  }
  pthread_mutex_unlock(&d->lock);
  return err;
}

/* ------------------------------------------------------------ publisher */

/* Runs on whichever thread serves the producer's queue (see publish.h). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  parry_publisher_t *pub = opaque;
  bool dlq = msg->rkt == pub->dlq;
  if (msg->err) {
    parry_metric_add(dlq ? pub->dlq_failed : pub->events_failed, 1);
    unsigned long long n = atomic_fetch_add(&pub->failed[dlq], 1) + 1;
    /* Counted always; said with its reason for the first ones and then
     * every 10,000th, so that an outage does not flood the log. */
    if (n <= 10 || n % 10000 == 0)
      LOG_WARN("Kafka did not take %s message %llu (%s partition %d): %s",
               dlq ? "dead-letter" : "event", n, rd_kafka_topic_name(msg->rkt),
               (int)msg->partition, rd_kafka_err2str(msg->err));
  } else {
    atomic_fetch_add(&pub->acked[dlq], 1);
  }
  if (msg->_private) delivery_report(msg->_private, msg->err, dlq);
}

static bool topic_ready(parry_publisher_t *pub, rd_kafka_topic_t *rkt, const char *name,
                        char *why, size_t why_size) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(pub->rk, 0, rkt, &md, 1000);
  if (e) {
    snprintf(why, why_size, "no metadata for topic %s from Kafka: %s", name, rd_kafka_err2str(e));
    return false;
  }
  bool ok = false;
  if (md->topic_cnt != 1 || md->topics[0].err) {
    snprintf(why, why_size, "topic %s: %s", name,
             md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not in the metadata");
  } else if (md->topics[0].partition_cnt <= 0) {
    snprintf(why, why_size, "topic %s has no partitions yet", name);
  } else {
    ok = true;
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
      if (md->topics[0].partitions[i].leader < 0) {
        snprintf(why, why_size, "topic %s partition %d has no leader", name,
                 (int)md->topics[0].partitions[i].id);
        ok = false;
        break;
      }
    }
  }
  rd_kafka_metadata_destroy(md);
  return ok;
}

/* The poll thread: delivery reports, the queue gauge, and readiness until
 * it is reached (a metadata request blocks for up to a second, so it is only
 * asked every couple of seconds while not ready, and never after). */
static void *poller_main(void *opaque) {
  parry_publisher_t *pub = opaque;
  parry_log_action("serving Kafka delivery reports");
  pthread_setname_np(pthread_self(), "parry-publish");
  int64_t next_check = 0;
  bool ready = false;
  while (!atomic_load(&pub->stop_poller)) {
    rd_kafka_poll(pub->rk, POLL_MS);
    parry_metric_set(pub->queue_depth, rd_kafka_outq_len(pub->rk));
    if (!ready && parry_now_ms() >= next_check) {
      char why[256] = "";
      ready = topic_ready(pub, pub->events, pub->events_topic, why, sizeof why) &&
              topic_ready(pub, pub->dlq, pub->dlq_topic, why, sizeof why);
      pthread_mutex_lock(&pub->lock);
      bool was = pub->ready;
      pub->ready = ready;
      snprintf(pub->why, sizeof pub->why, "%s", why);
      pthread_mutex_unlock(&pub->lock);
      if (ready && !was)
        LOG_INFO("Kafka producer ready: topics %s and %s are led", pub->events_topic,
                 pub->dlq_topic);
      next_check = parry_now_ms() + READY_RECHECK_MS;
    }
  }
  return NULL;
}

static void split_fields(parry_publisher_t *pub, const char *spec) {
  char *copy = parry_xstrdup(spec), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    size_t n = strlen(tok);
    while (n && tok[n - 1] == ' ') tok[--n] = '\0';
    if (!n) continue;
    pub->key_fields = parry_xreallocarray(pub->key_fields, pub->n_key_fields + 1,
                                          sizeof *pub->key_fields);
    pub->key_fields[pub->n_key_fields++] = parry_xstrdup(tok);
  }
  free(copy);
}

static int conf_int(rd_kafka_t *rk, const char *name, int fallback) {
  char value[64];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, value, &size) != RD_KAFKA_CONF_OK)
    return fallback;
  int v = atoi(value);
  return v > 0 ? v : fallback;
}

parry_err_t parry_publisher_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                parry_publisher_t **out, char *errstr, size_t errstr_size) {
  parry_publisher_t *pub = parry_xnew(parry_publisher_t, 1);
  parry_err_t err = PARRY_OK;
  pthread_mutex_init(&pub->lock, NULL);
  snprintf(pub->why, sizeof pub->why, "waiting for Kafka metadata");
  atomic_init(&pub->stop_poller, false);
  atomic_init(&pub->shutdown_deadline, 0);
  for (int i = 0; i < 2; i++) {
    atomic_init(&pub->acked[i], 0);
    atomic_init(&pub->failed[i], 0);
  }
  atomic_init(&pub->produced, 0);
  pub->events_topic = parry_xstrdup(parry_config_str(cfg, "topics.events"));
  pub->dlq_topic = parry_xstrdup(parry_config_str(cfg, "topics.dlq"));
  split_fields(pub, parry_config_str(cfg, "ingestor.key_fields"));

  pub->queue_depth = parry_metrics_gauge(metrics, "parry_ingestor_queue_depth",
                                         "Messages in the Kafka producer not yet acknowledged",
                                         NULL);
  pub->events_failed = parry_metrics_counter(
      metrics, "parry_ingestor_delivery_errors_total",
      "Messages Kafka did not take after all retries", "topic", "events", NULL);
  pub->dlq_failed = parry_metrics_counter(metrics, "parry_ingestor_delivery_errors_total",
                                          "Messages Kafka did not take after all retries",
                                          "topic", "dlq", NULL);

  parry_kafka_producer_opts_t opts = {
      .client_id = "parry-ingestor",
      .stats_interval_ms = 15000,
      .defaults = producer_defaults,
      .required = producer_required,
      .dr_cb = on_delivery,
      .dr_opaque = pub,
  };
  char why[1024];
  pub->rk = parry_kafka_producer_new(cfg, metrics, &opts, why, sizeof why);
  if (!pub->rk) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "ingestor: %s", why);
    goto out;
  }
  pub->events = rd_kafka_topic_new(pub->rk, pub->events_topic, NULL);
  pub->dlq = rd_kafka_topic_new(pub->rk, pub->dlq_topic, NULL);
  if (!pub->events || !pub->dlq) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "topics.events / topics.dlq: could not use topic \"%s\" or \"%s\": %s",
                     pub->events_topic, pub->dlq_topic,
                     rd_kafka_err2str(rd_kafka_last_error()));
    goto out;
  }
  pub->queue_max = conf_int(pub->rk, "queue.buffering.max.messages", 100000);
  pub->queue_high_water = (int)((int64_t)pub->queue_max * 8 / 10);
  if (pub->queue_high_water < 1) pub->queue_high_water = 1;
  if (pthread_create(&pub->poller, NULL, poller_main, pub) != 0) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                     "ingestor: could not start the Kafka poll thread");
    goto out;
  }
  pub->poller_started = true;
out:
  if (err) {
    parry_publisher_close(pub, 0);
    return err;
  }
  *out = pub;
  return PARRY_OK;
}

bool parry_publisher_ready(parry_publisher_t *pub, char *why, size_t why_size) {
  pthread_mutex_lock(&pub->lock);
  bool ready = pub->ready;
  if (!ready) snprintf(why, why_size, "%s", pub->why);
  pthread_mutex_unlock(&pub->lock);
  return ready;
}

int parry_publisher_queue_length(parry_publisher_t *pub) { return rd_kafka_outq_len(pub->rk); }

bool parry_publisher_congested(parry_publisher_t *pub) {
  return rd_kafka_outq_len(pub->rk) >= pub->queue_high_water;
}

void parry_publisher_shutdown_deadline(parry_publisher_t *pub, int64_t deadline_ms) {
  atomic_store(&pub->shutdown_deadline, deadline_ms > 0 ? deadline_ms : 1);
}

int64_t parry_publisher_shutdown_at(parry_publisher_t *pub) {
  return atomic_load(&pub->shutdown_deadline);
}

rd_kafka_t *parry_publisher_producer(parry_publisher_t *pub) { return pub->rk; }

void parry_publisher_counts(parry_publisher_t *pub, parry_publish_counts_t *out) {
  out->events_acked = atomic_load(&pub->acked[0]);
  out->events_failed = atomic_load(&pub->failed[0]);
  out->dlq_acked = atomic_load(&pub->acked[1]);
  out->dlq_failed = atomic_load(&pub->failed[1]);
  /* Messages only (librdkafka's queue length also counts requests, e.g. a
   * metadata refresh). Reports first: each counted one was counted
   * produced before, so this is never negative. */
  unsigned long long reported = out->events_acked + out->events_failed + out->dlq_acked +
                                out->dlq_failed;
  unsigned long long produced = atomic_load(&pub->produced);
  out->in_flight = produced > reported ? (int)(produced - reported) : 0;
}

int parry_publisher_close(parry_publisher_t *pub, int64_t deadline_ms) {
  if (!pub) return 0;
  int left = 0;
  if (pub->poller_started) {
    atomic_store(&pub->stop_poller, true);
    pthread_join(pub->poller, NULL);
  }
  if (pub->rk) {
    int64_t wait = deadline_ms - parry_now_ms();
    parry_log_action("flushing the Kafka producer");
    rd_kafka_flush(pub->rk, wait > 0 ? (int)wait : 0);
    left = rd_kafka_outq_len(pub->rk);
    /* The final tally, before the purge below turns what is left into
     * failures: acknowledged means a delivery report without error. */
    parry_publish_counts_t c;
    parry_publisher_counts(pub, &c);
    PARRY_LOG(left || c.events_failed || c.dlq_failed ? PARRY_LOG_WARN : PARRY_LOG_INFO,
              "Kafka deliveries: %llu events acknowledged to %s, %llu failed; %llu dead "
              "letters acknowledged to %s, %llu failed; %d in flight at exit",
              c.events_acked, pub->events_topic, c.events_failed, c.dlq_acked,
              pub->dlq_topic, c.dlq_failed, left);
    if (left > 0) {
      LOG_ERROR("%d messages were not acknowledged by Kafka before the shutdown deadline "
                "and are lost (HTTP clients were answered 503; syslog senders cannot be told; "
                "raw-topic offsets were not committed past them)",
                left);
      /* Their delivery reports (purged) still release what they hold. */
      rd_kafka_purge(pub->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(pub->rk, 0);
    }
    if (pub->events) rd_kafka_topic_destroy(pub->events);
    if (pub->dlq) rd_kafka_topic_destroy(pub->dlq);
    parry_kafka_destroy(pub->rk);
  }
  for (size_t i = 0; i < pub->n_key_fields; i++) free(pub->key_fields[i]);
  free(pub->key_fields);
  free(pub->events_topic);
  free(pub->dlq_topic);
  pthread_mutex_destroy(&pub->lock);
  free(pub);
  return left;
}

/* -------------------------------------------------------------- emitting */

void parry_source_metrics_init(parry_source_metrics_t *m, parry_metrics_t *reg,
                               const char *source) {
  m->records = parry_metrics_counter(reg, "parry_ingestor_records_total",
                                     "Records read from a source, before parsing", "source",
                                     source, NULL);
  m->events = parry_metrics_counter(reg, "parry_ingestor_events_total",
                                    "Events queued to topics.events", "source", source, NULL);
  m->rejects = parry_metrics_counter(reg, "parry_ingestor_rejects_total",
                                     "Records that could not be parsed, queued to topics.dlq",
                                     "source", source, NULL);
  m->waits = parry_metrics_counter(reg, "parry_ingestor_backpressure_waits_total",
                                   "Times a source found the Kafka producer queue full and "
                                   "stopped reading until there was room",
                                   "source", source, NULL);
  m->wait_ms = parry_metrics_counter(reg, "parry_ingestor_backpressure_wait_ms_total",
                                     "Milliseconds sources spent waiting for room in the "
                                     "Kafka producer queue",
                                     "source", source, NULL);
  m->lost = parry_metrics_counter(reg, "parry_ingestor_unqueued_total",
                                  "Events or dead letters that could not be queued to Kafka "
                                  "(no room by the deadline, shutdown, or a producer error)",
                                  "source", source, NULL);
}

static parry_err_t emit_fail(parry_emitter_t *em, parry_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static parry_err_t emit_fail(parry_emitter_t *em, parry_err_t err, const char *fmt, ...) {
  em->failed++;
  if (em->metrics) parry_metric_add(em->metrics->lost, 1);
  if (em->err == PARRY_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(em->errstr, sizeof em->errstr, fmt, ap);
    va_end(ap);
    em->err = err;
  }
  return err;
}

/* Produce one message, waiting for room as the emitter allows. flags is
 * RD_KAFKA_MSG_F_FREE (value was malloc'd and is handed to librdkafka on
 * success, freed here on failure) or RD_KAFKA_MSG_F_COPY (librdkafka copies
 * it). Headers are handed over on success, freed here on failure. */
static parry_err_t produce(parry_emitter_t *em, rd_kafka_topic_t *rkt, const void *key,
                           size_t key_len, void *value, size_t len, int flags,
                           rd_kafka_headers_t *hdrs) {
  parry_publisher_t *pub = em->pub;
  parry_delivery_t *d = em->delivery;
  int64_t wait_start = 0;
  parry_err_t err = PARRY_OK;
  if (d) {
    atomic_fetch_add(&d->refs, 1);
    atomic_fetch_add(&d->pending, 1);
  }
  for (;;) {
    /* Counted before the call: its delivery report may come first. */
    atomic_fetch_add(&pub->produced, 1);
    rd_kafka_resp_err_t e =
        hdrs ? rd_kafka_producev(pub->rk, RD_KAFKA_V_RKT(rkt),
                                 RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                 RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_VALUE(value, len),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_OPAQUE(d),
                                 RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END)
             : rd_kafka_producev(pub->rk, RD_KAFKA_V_RKT(rkt),
                                 RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                 RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_VALUE(value, len),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_OPAQUE(d),
                                 RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      value = NULL;
      hdrs = NULL;
      break;
    }
    atomic_fetch_sub(&pub->produced, 1);
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      err = emit_fail(em, PARRY_ERR_EXTERNAL, "could not queue a message to topic %s: %s",
                      rd_kafka_topic_name(rkt), rd_kafka_err2str(e));
      break;
    }
    /* Full: this thread stops reading its input until there is room. */
    int64_t now = parry_now_ms();
    if (!wait_start) {
      wait_start = now;
      if (em->metrics) parry_metric_add(em->metrics->waits, 1);
    }
    int64_t shutdown = atomic_load(&pub->shutdown_deadline);
    int64_t limit = em->deadline_ms;
    if (shutdown && (!limit || shutdown < limit)) limit = shutdown;
    if (limit && now >= limit) {
      err = emit_fail(em, PARRY_ERR_TIMEOUT,
                      "the Kafka producer queue stayed full (%d messages waiting)%s",
                      rd_kafka_outq_len(pub->rk),
                      shutdown && limit == shutdown ? " until shutdown" : "");
      break;
    }
    /* Serve delivery reports while waiting: that is what makes room. */
    rd_kafka_poll(pub->rk, 5);
  }
  if (wait_start && em->metrics)
    parry_metric_add(em->metrics->wait_ms, parry_now_ms() - wait_start);
  if (err && d) {
    atomic_fetch_sub(&d->pending, 1);
    parry_delivery_release(d);
  }
  if (flags == RD_KAFKA_MSG_F_FREE) free(value);
  if (hdrs) rd_kafka_headers_destroy(hdrs);
  return err;
}

parry_err_t parry_emit_event(parry_emitter_t *em, const Parry__V1__Event *ev) {
  parry_publisher_t *pub = em->pub;
  /* The key: the first of ingestor.key_fields the event has. */
  char keybuf[PARRY_FIELD_TEXT_MAX];
  const char *key = NULL;
  size_t key_len = 0;
  for (size_t i = 0; i < pub->n_key_fields && !key; i++) {
    parry_field_t f;
    if (parry_event_get(ev, pub->key_fields[i], &f) == PARRY_FIELD_ABSENT) continue;
    key = parry_field_text(&f, keybuf, sizeof keybuf, &key_len);
    if (key && !key_len) key = NULL;
  }
  /* Packed on the stack and copied by librdkafka into the one allocation
   * it makes for the message anyway: a buffer malloc'd here would be freed
   * by librdkafka's threads, and glibc's arena lock then bounces between
   * threads (measured: a tenth of the producing thread's time). */
  uint8_t stack[PACK_STACK_MAX];
  size_t len = 0;
  /* One walk, back to front (parry_pb_pack_into): protobuf-c's two walks
   * were most of the service path's time. */
  uint8_t *value = (uint8_t *)parry_pb_pack_into(&ev->base, stack, sizeof stack, &len);
  bool small = value != NULL;
  if (!small) {
    len = parry__v1__event__get_packed_size(ev);
    value = parry_xmalloc(len ? len : 1);
    parry__v1__event__pack(ev, value);
  }
  parry_err_t err = produce(em, pub->events, key, key_len, value, len,
                            small ? RD_KAFKA_MSG_F_COPY : RD_KAFKA_MSG_F_FREE, NULL);
  if (!err && em->metrics) parry_metric_add(em->metrics->events, 1);
  return err;
}

parry_err_t parry_emit_reject(parry_emitter_t *em, const char *source, uint64_t seq,
                              const char *rec, size_t len, const char *reason) {
  parry_publisher_t *pub = em->pub;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_reject_to_json(&b, reason, source, seq, em->received_ns, rec, len);
  size_t vlen = b.len;
  char *value = parry_buf_steal(&b);
  rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
  rd_kafka_header_add(hdrs, "parry.reason", -1, reason, -1);
  rd_kafka_header_add(hdrs, "parry.source", -1, source, -1);
  /* Keyed by source: one sender's dead letters stay in order. */
  parry_err_t err =
      produce(em, pub->dlq, source, strlen(source), value, vlen, RD_KAFKA_MSG_F_FREE, hdrs);
  if (!err && em->metrics) parry_metric_add(em->metrics->rejects, 1);
  return err;
}

static void sink_event(void *opaque, const Parry__V1__Event *ev) {
  parry_emit_event(opaque, ev);
}

static void sink_reject(void *opaque, const char *source, uint64_t seq, const char *rec,
                        size_t len, const char *reason) {
  parry_emitter_t *em = opaque;
  parry_emit_reject(em, source, seq, rec, len, reason);
  if (em->on_reject) em->on_reject(em->on_reject_opaque, seq, reason);
}

const parry_normalize_sink_t parry_emitter_sink = {sink_event, sink_reject};
