/* Publishing to Kafka: normalized Events to topics.events (protobuf, keyed by
 * entity) and rejected records to topics.dlq (the JSON of
 * parry_reject_to_json, with headers parry.reason and parry.source).
 *
 *   publisher  one per process: the idempotent producer (acks=all, one
 *              request in flight: see producer_required in publish.c), the
 *              poll thread that serves its delivery reports, readiness
 *   emitter    one per stream of records (a connection, a request, a
 *              partition): where that stream's events go, how long it may
 *              wait for room, and who hears about deliveries
 *   delivery   a tracker of a group of messages (an HTTP request, a consumed
 *              Kafka message): how many are still unacknowledged, how many
 *              failed and why
 *
 * Backpressure, not loss. When the producer's queue is full, producing
 * waits for room (serving delivery reports meanwhile) until the emitter's
 * deadline: sources that can stop reading (UDP, TCP, files, the Kafka
 * consumer) wait as long as it takes, so their kernel buffers fill and
 * senders slow down; the HTTP source has a deadline and answers 503 when it
 * passes. During shutdown every wait ends at the shutdown deadline.
 *
 * Threads: parry_emit_* may be called from any number of threads at once,
 * each with its own emitter. Delivery reports run on the publisher's poll
 * thread (or on a producing thread that waits for room); they only touch a
 * delivery's atomics and, when its last message is reported, its condition
 * variable.
 */
#ifndef PARRY_PUBLISH_H
#define PARRY_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "normalize.h"
#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"
#include "proto/parry.pb-c.h"

typedef struct parry_publisher parry_publisher_t;
typedef struct parry_delivery parry_delivery_t;

/* The producer (parry_kafka_producer_new with our throughput defaults:
 * lz4, larger batches; any kafka.* setting overrides them) and its poll
 * thread. Reads topics.events, topics.dlq and ingestor.key_fields. metrics
 * must outlive the publisher. */
parry_err_t parry_publisher_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                parry_publisher_t **out, char *errstr, size_t errstr_size);

/* True once the producer has metadata for both topics (each exists and every
 * partition has a leader); otherwise `why` says what is missing. Checked by
 * the poll thread in the background; this only reads the result. */
bool parry_publisher_ready(parry_publisher_t *pub, char *why, size_t why_size);

/* True when the producer's queue is above its high-water mark (80% of
 * queue.buffering.max.messages): the HTTP source answers 503 at once rather
 * than take a body it would have to wait to queue. */
bool parry_publisher_congested(parry_publisher_t *pub);

/* Messages produced and not yet acknowledged. */
int parry_publisher_queue_length(parry_publisher_t *pub);

/* From now on no wait for room lasts beyond deadline_ms (monotonic, see
 * parry_now_ms): sources being stopped do not hang on a dead broker. */
void parry_publisher_shutdown_deadline(parry_publisher_t *pub, int64_t deadline_ms);
/* That deadline, or 0 while the service runs. */
int64_t parry_publisher_shutdown_at(parry_publisher_t *pub);

/* Stop the poll thread, wait for every queued message to be acknowledged
 * until deadline_ms, and destroy. Returns the number of messages given up
 * (0 when all were delivered or failed for good), logging them. Accepts NULL. */
int parry_publisher_close(parry_publisher_t *pub, int64_t deadline_ms);

/* The underlying producer, for tests. */
rd_kafka_t *parry_publisher_producer(parry_publisher_t *pub);

/* Delivery reports so far, per topic. Acknowledged: Kafka reported the
 * message written (acks=all); failed: reported with an error, including
 * messages purged at shutdown. Messages that could not be queued at all are
 * the sources' parry_ingestor_unqueued_total. in_flight: produced and not
 * yet reported. parry_publisher_close logs these as its last line. */
typedef struct {
  unsigned long long events_acked, events_failed;
  unsigned long long dlq_acked, dlq_failed;
  int in_flight;
} parry_publish_counts_t;

void parry_publisher_counts(parry_publisher_t *pub, parry_publish_counts_t *out);

/* Milliseconds on the monotonic clock. */
int64_t parry_now_ms(void);

/* ----------------------------------------------------------- deliveries */

/* A tracker starts with one reference, its creator's; each message produced
 * with it holds another until its delivery report. */
parry_delivery_t *parry_delivery_new(void);
void parry_delivery_release(parry_delivery_t *d); /* accepts NULL */

/* Messages produced with d and not yet reported. */
unsigned parry_delivery_pending(const parry_delivery_t *d);
unsigned parry_delivery_delivered(const parry_delivery_t *d);
/* Of the delivered, those to topics.dlq (the rest went to topics.events).
 * Read it before parry_delivery_delivered when reports may still come. */
unsigned parry_delivery_delivered_dlq(const parry_delivery_t *d);
unsigned parry_delivery_failed(const parry_delivery_t *d);
/* The first failure (RD_KAFKA_RESP_ERR_NO_ERROR if none). */
rd_kafka_resp_err_t parry_delivery_error(const parry_delivery_t *d);

/* Wait until nothing is pending, at most until deadline_ms (monotonic).
 * PARRY_OK or PARRY_ERR_TIMEOUT. */
parry_err_t parry_delivery_wait(parry_delivery_t *d, int64_t deadline_ms);

/* ------------------------------------------------------------- emitters */

/* Per-source counters (label source="syslog-udp", "http", ...). */
typedef struct {
  parry_metric_t *records;      /* records read, before parsing */
  parry_metric_t *events;       /* events queued to topics.events */
  parry_metric_t *rejects;      /* records queued to topics.dlq */
  parry_metric_t *waits;        /* times the producer queue was full */
  parry_metric_t *wait_ms;      /* time spent waiting for room */
  parry_metric_t *lost;         /* records not queued: no room by the deadline, or an error */
} parry_source_metrics_t;

void parry_source_metrics_init(parry_source_metrics_t *m, parry_metrics_t *reg,
                               const char *source);

typedef struct {
  parry_publisher_t *pub;
  const parry_source_metrics_t *metrics;
  /* Messages are produced with this tracker; NULL when nobody waits. */
  parry_delivery_t *delivery;
  /* When the records were read: the dead-letter record's "received". */
  int64_t received_ns;
  /* Wait for room in the queue at most until this (monotonic ms); 0 means
   * as long as it takes (until the shutdown deadline). */
  int64_t deadline_ms;
  /* Called for each reject after it is queued (HTTP collects reasons). */
  void (*on_reject)(void *opaque, uint64_t seq, const char *reason);
  void *on_reject_opaque;

  /* Out: the first failure to queue a message, and how many failed. */
  parry_err_t err;
  char errstr[256];
  uint64_t failed;
} parry_emitter_t;

/* A normalizer sink over an emitter (the stream's opaque is the emitter). */
extern const parry_normalize_sink_t parry_emitter_sink;

/* Queue one event / one dead letter. On failure the emitter's err and
 * errstr say why (PARRY_ERR_TIMEOUT: no room by the deadline). */
parry_err_t parry_emit_event(parry_emitter_t *em, const Parry__V1__Event *ev);
parry_err_t parry_emit_reject(parry_emitter_t *em, const char *source, uint64_t seq,
                              const char *rec, size_t len, const char *reason);

#endif
