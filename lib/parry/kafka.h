/* Kafka client setup shared by every service: one place that turns the
 * configuration into librdkafka producers and consumers, routes librdkafka's
 * logs, errors and statistics into our logger and metrics, and creates topics.
 *
 * Clients are plain rd_kafka_t handles: produce, poll, commit and so on with
 * librdkafka's own API. Two rules follow from the handle carrying our state
 * in its opaque (rd_kafka_opaque(), which callers must not use):
 *
 *   - end a client with parry_kafka_destroy(), never rd_kafka_destroy();
 *   - user callbacks get their own opaque through the opts structs below.
 *
 * Properties, in the order they are applied (later wins):
 *
 *   1. our defaults: producer enable.idempotence=true, acks=all, linger.ms=5,
 *      max.in.flight.requests.per.connection=1 (more can lose messages that
 *      librdkafka reports delivered: see ingestor/publish.c);
 *      consumer enable.auto.commit=false, auto.offset.reset=earliest,
 *      enable.partition.eof=false; client.id and statistics.interval.ms from
 *      the opts; the opts' `defaults` pairs;
 *   2. every kafka.* setting of the configuration, passed through as is
 *      (bootstrap.servers, TLS, SASL, tuning...);
 *   3. what the code depends on: the consumer's group id when given, the
 *      producer's transactional id, and the opts' `required` pairs. A user
 *      setting that contradicts one of these is an error, not a silent
 *      override.
 *
 * Errors name the property and where it was set ("kafka.acks from
 * /etc/parry.yaml:12").
 *
 * Metrics (registered in the `metrics` registry given at creation; none when
 * it is NULL). Labels: client_id is the client.id property; client is
 * librdkafka's unique handle name ("parry-ingestor#producer-1"), so that two
 * clients of one process do not overwrite each other's gauges.
 *
 *   Delivery reports (producers), labels client_id, topic:
 *     parry_kafka_delivered_total        counter  messages acknowledged
 *     parry_kafka_delivery_errors_total  counter  messages that failed for good
 *
 *   Statistics (only when statistics.interval.ms > 0, from the opts or the
 *   configuration), labels client_id, client:
 *     parry_kafka_msgs_in_queue          gauge    messages waiting in the client
 *     parry_kafka_msg_bytes_in_queue     gauge    their size in bytes
 *     parry_kafka_tx_msgs_total          counter  messages sent to brokers
 *     parry_kafka_tx_bytes_total         counter  their payload bytes
 *     parry_kafka_rx_msgs_total          counter  messages received from brokers
 *     parry_kafka_rx_bytes_total         counter  their payload bytes
 *   ... plus label broker (the broker's node id):
 *     parry_kafka_broker_up              gauge    1 when the connection is up
 *     parry_kafka_broker_rtt_avg_us      gauge    request round trip, microseconds
 *   ... consumers only:
 *     parry_kafka_assigned_partitions    gauge    partitions assigned to this member
 *     parry_kafka_rebalances_total       counter  rebalances seen by this member
 *     parry_kafka_consumer_lag           gauge    labels topic, partition: messages
 *                                                 behind the partition's end; 0 for
 *                                                 partitions not assigned here, so
 *                                                 a sum over members is the
 *                                                 group's lag
 *
 * Threads: a producer's delivery reports, errors and statistics are served by
 * whichever thread calls rd_kafka_poll() or rd_kafka_flush(); a consumer's
 * main queue is forwarded to its consumer queue, so rd_kafka_consumer_poll()
 * serves all of them. Log lines come from librdkafka's own threads. Our
 * callbacks are safe to run from several threads at once.
 */
#ifndef PARRY_KAFKA_H
#define PARRY_KAFKA_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"

/* Called for each delivery report after our accounting; the signature of
 * rd_kafka_conf_set_dr_msg_cb's callback, with the caller's own opaque. */
typedef void parry_kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg,
                               void *opaque);

/* Called on each rebalance after we log it. It must (un)assign, as with
 * rd_kafka_conf_set_rebalance_cb (incrementally under the COOPERATIVE
 * protocol). Without one, we do the assignment ourselves. */
typedef void parry_kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t *partitions,
                                      void *opaque);

typedef struct {
  /* client.id; NULL means "parry". kafka.client.id in the configuration
   * replaces it. */
  const char *client_id;
  /* Makes the producer transactional (rd_kafka_init_transactions and so on
   * are then the caller's). Unique per producer instance, which is why the
   * configuration may not set it. NULL: not transactional. */
  const char *transactional_id;
  /* > 0: emit statistics into the metrics this often. The configuration's
   * kafka.statistics.interval.ms replaces it. */
  int stats_interval_ms;
  /* NULL-terminated name, value pairs: defaults of this service, applied
   * before the configuration; and requirements, applied after it (a
   * configuration value that differs is an error). Either may be NULL. */
  const char *const *defaults;
  const char *const *required;
  parry_kafka_dr_cb *dr_cb; /* optional */
  void *dr_opaque;
} parry_kafka_producer_opts_t;

typedef struct {
  const char *client_id;      /* as for producers */
  int stats_interval_ms;      /* as for producers */
  const char *const *defaults; /* as for producers */
  const char *const *required; /* as for producers */
  parry_kafka_rebalance_cb *rebalance_cb; /* optional */
  void *rebalance_opaque;
} parry_kafka_consumer_opts_t;

/* A producer configured from cfg. metrics may be NULL; it must outlive the
 * producer, and so must opts' callbacks and opaques (the opts struct itself
 * and its strings are copied or applied at once). opts may be NULL.
 * On error returns NULL and writes errstr. Free with parry_kafka_destroy(). */
rd_kafka_t *parry_kafka_producer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                     const parry_kafka_producer_opts_t *opts,
                                     char *errstr, size_t errstr_size);

/* A high-level (group) consumer. group_id non-NULL is the group; the
 * configuration's kafka.group.id, when set, replaces it (two fleets can share
 * a cluster). group_id NULL: kafka.group.id is required. Subscribe with
 * rd_kafka_subscribe(); free with parry_kafka_destroy() (after
 * rd_kafka_consumer_close() for a prompt leave of the group). */
rd_kafka_t *parry_kafka_consumer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                     const char *group_id,
                                     const parry_kafka_consumer_opts_t *opts,
                                     char *errstr, size_t errstr_size);

/* rd_kafka_destroy() and our per-client state. Accepts NULL. Messages still
 * queued in a producer are not flushed: call rd_kafka_flush() first. */
void parry_kafka_destroy(rd_kafka_t *rk);

/* True once the client hit a fatal error (e.g. a fenced transactional or
 * idempotent producer); it cannot be used any more and should be destroyed
 * and, if the process can, recreated. The reason goes to errstr when
 * non-NULL. */
bool parry_kafka_fatal(rd_kafka_t *rk, char *errstr, size_t errstr_size);

/* Messages acknowledged and failed so far through our delivery report
 * callback, over all topics (for tests and shutdown summaries). */
void parry_kafka_delivery_counts(rd_kafka_t *rk, unsigned long long *delivered,
                                 unsigned long long *failed);

typedef struct {
  const char *name;
  int partitions;          /* > 0 */
  int replication_factor;  /* > 0, or -1 for the broker's default */
  const char *const *config; /* NULL-terminated name, value pairs, e.g.
                                {"cleanup.policy", "compact", NULL}; may be NULL */
} parry_kafka_topic_spec_t;

/* Create topics through the admin API of any client (producer or consumer)
 * and wait for the controller's answer, at most timeout_ms. A topic that
 * already exists counts as created (its partitions and settings are left as
 * they are). All topics are attempted; errstr names the first failure. */
parry_err_t parry_kafka_create_topics(rd_kafka_t *rk, const parry_kafka_topic_spec_t *specs,
                                      size_t n, int timeout_ms, char *errstr,
                                      size_t errstr_size);

/* Wait until the metadata shows every topic in `topics` (n names) with all
 * its partitions led by a broker, at most timeout_ms. PARRY_ERR_TIMEOUT names
 * the first topic still not ready and why. */
parry_err_t parry_kafka_wait_topics(rd_kafka_t *rk, const char *const *topics, size_t n,
                                    int timeout_ms, char *errstr, size_t errstr_size);

#endif
