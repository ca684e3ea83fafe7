/* Correlator stage 1: topics.events -> Sigma detection -> topics.alerts.
 *
 * One worker thread runs a consumer in group correlator.group on
 * topics.events and a producer for topics.alerts and topics.dlq:
 *
 *   - each message is a protobuf Event (parry.proto); one that does not
 *     decode, or whose schema_version is newer than PARRY_SCHEMA_VERSION,
 *     goes unchanged (same key and value) to topics.dlq with the headers
 *     parry.reason, parry.source ("correlator") and parry.origin
 *     ("topic/partition/offset"), counted in parry_correlator_dlq_total;
 *   - every alerting match becomes an Alert built by correlator/detect.c,
 *     so `parry detect` and the fleet give the same alert ids (a hash of rule
 *     and event id); the Kafka key is "RULE|ENTITY", where RULE is the alert's
 *     rule_id and ENTITY is the event's source.ip, else host.name, else
 *     user.name, else empty ("RULE|").
 *
 * Offsets (at-least-once): messages are handled in batches of up to
 * correlator.batch_size. After a batch, the producer is flushed (bounded by
 * correlator.flush_timeout); only when everything produced from the batch is
 * acknowledged are the batch's offsets committed, synchronously. If a message
 * fails for good or the flush times out, nothing of the batch is committed
 * and the worker stops with an error (parry_correlator_failed): the service
 * exits non-zero and a restart re-reads the batch. Replays give the same
 * alert ids, so downstream deduplicates. Exactly-once (transactions) comes
 * with correlator part 2.
 *
 * Metrics:
 *   parry_correlator_events_total              counter  Events decoded and evaluated
 *   parry_correlator_alerts_total{level}       counter  alerts produced, by rule level
 *   parry_correlator_dlq_total{reason}         counter  messages sent to topics.dlq
 *                                                       (reason: decode, schema_version)
 *   parry_correlator_below_min_level_total     counter  matches below correlator.min_level
 *   parry_correlator_rules_loaded              gauge    detection rules loaded
 *   parry_correlator_rules_rejected            gauge    rule documents rejected
 */
#ifndef PARRY_CORRELATOR_STAGE1_H
#define PARRY_CORRELATOR_STAGE1_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"

typedef struct parry_correlator parry_correlator_t;

/* Load the rules (correlator.rules; an error when empty or when no rule
 * loads), create the clients, subscribe and start the worker. cfg and metrics
 * must outlive the correlator. On error nothing is left running and errstr
 * says why. */
parry_err_t parry_correlator_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                                   parry_correlator_t **out, char *errstr, size_t errstr_size);

/* Ready: rules loaded (always, once started) and the consumer has a
 * partition assignment. Otherwise `why` says what is missing. */
bool parry_correlator_ready(parry_correlator_t *c, char *why, size_t why_size);

/* True once the worker stopped on an error (delivery failure, flush
 * timeout, fatal client error); `why` gets the reason. */
bool parry_correlator_failed(parry_correlator_t *c, char *why, size_t why_size);

/* Stop the worker (the batch in hand is finished, flushed and committed),
 * close the consumer (leaving the group) and free. Returns 0, or 1 when the
 * worker had failed or the last flush did not complete. Accepts NULL. */
int parry_correlator_stop(parry_correlator_t *c);

#endif
