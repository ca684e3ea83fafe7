/* The ingestor service: sources -> normalizer -> Kafka.
 *
 *   syslog UDP/TCP/TLS, HTTP, raw Kafka topics, files
 *     -> parry_stream_t per input (ingestor/normalize.h)
 *     -> Events to topics.events (protobuf, keyed by entity), rejects to
 *        topics.dlq (ingestor/publish.h)
 *
 * Threads (each source's file says more):
 *   main            start, readiness, shutdown
 *   syslog-udp      one, its socket loop
 *   syslog-tcp/tls  one per listener, a poll loop over its connections
 *   http            libmicrohttpd's listener and a thread per connection
 *   kafka           one, the raw-topic consumer
 *   files           one, reading ingestor.files in order
 *   publisher       one, serving the producer's delivery reports
 *   (librdkafka's own threads)
 * Every source thread owns its streams; the normalizer and the
 * configuration are read-only; the producer and metrics are thread-safe.
 *
 * The library API below is what parry-ingestor's main() runs, and what the
 * tests start in-process on ephemeral ports.
 */
#ifndef PARRY_INGESTOR_H
#define PARRY_INGESTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"

typedef struct parry_ingestor parry_ingestor_t;

/* The ports the enabled listeners are bound to (0: not enabled). */
typedef struct {
  uint16_t syslog_udp;
  uint16_t syslog_tcp;
  uint16_t syslog_tls;
  uint16_t http;
} parry_ingestor_ports_t;

/* Start every source the configuration enables, and the producer. Returns
 * once the listeners are bound and the threads run; Kafka need not be
 * reachable yet (see parry_ingestor_ready). cfg and metrics must outlive the
 * ingestor. On error nothing is left running and errstr names the setting
 * at fault. */
parry_err_t parry_ingestor_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                                 parry_ingestor_t **out, char *errstr, size_t errstr_size);

void parry_ingestor_ports(const parry_ingestor_t *ing, parry_ingestor_ports_t *out);

/* Ready to take traffic: the listeners are up and the producer has
 * metadata for topics.events and topics.dlq. Otherwise `why` says what is
 * missing. */
bool parry_ingestor_ready(parry_ingestor_t *ing, char *why, size_t why_size);

/* With ingestor.files: true once every file is read and acknowledged. */
bool parry_ingestor_files_done(parry_ingestor_t *ing);

/* Kafka's delivery reports so far, over every source: acknowledged (written,
 * acks=all) and failed, per topic, and messages produced but not yet
 * reported. The same figures end the log at shutdown ("Kafka deliveries:
 * ..."). */
typedef struct {
  unsigned long long events_acked, events_failed;
  unsigned long long dlq_acked, dlq_failed;
  int in_flight;
} parry_ingestor_delivery_counts_t;

void parry_ingestor_delivery_counts(parry_ingestor_t *ing, parry_ingestor_delivery_counts_t *out);

/* Stop accepting (listeners closed, consumers stopped), wait for Kafka to
 * acknowledge what is queued until ingestor.shutdown_timeout, and free.
 * Returns the number of messages that were lost (0: none). Accepts NULL. */
int parry_ingestor_stop(parry_ingestor_t *ing);

/* parry-ingestor: the service around the above. */
int parry_ingestor_main(int argc, char **argv, char **envp);

#endif
