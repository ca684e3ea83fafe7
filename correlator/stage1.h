/* Correlator stage 1: topics.events -> Sigma detection -> topics.alerts and
 * topics.signals, exactly-once.
 *
 * One worker thread runs a consumer in group correlator.group on
 * topics.events (read_committed) and a transactional producer
 * (transactional.id parry-correlator.GROUP.INSTANCE.detect, see
 * correlator.instance_id):
 *
 *   - each message is a protobuf Event (parry.proto); one that does not
 *     decode, or whose schema_version is newer than PARRY_SCHEMA_VERSION,
 *     goes unchanged (same key and value) to topics.dlq with the headers
 *     parry.reason, parry.source ("correlator") and parry.origin
 *     ("topic/partition/offset"), counted in parry_correlator_dlq_total;
 *   - matching is parry_detect_event_full (correlator/detect.h), as in
 *     `parry detect`: every alerting match of a rule that still generates
 *     alerts (a rule no correlation rule uses, or one whose correlation says
 *     `generate: true`) becomes an Alert, so `parry detect`
 *     and the fleet give the same alert ids (a hash of rule and event id);
 *     the Kafka key is "RULE|ENTITY", where RULE is the alert's rule_id and
 *     ENTITY is the event's source.ip, else host.name, else user.name, else
 *     empty ("RULE|");
 *   - every match (whatever its level; filtered matches excepted) of a rule
 *     that correlation rules use becomes one Signal per such correlation
 *     rule (window/correlate.h parry_corr_signals) on topics.signals, keyed
 *     by correlation rule + group-by values. The producer must use the
 *     consistent partitioner (required): all signals of a key land on one
 *     partition, which stage 2 (stage2.h) owns.
 *
 * Transactions: messages are handled in transactions of up to
 * correlator.batch_size events or correlator.commit_interval; alerts,
 * signals and dead letters are produced inside, the offsets sent with the
 * consumer's group metadata, then committed. An aborted transaction rewinds
 * the consumer to the committed offsets (the same events give the same
 * output, committed once); a fatal error (fenced) stops the worker
 * (parry_correlator_failed) and the service exits non-zero.
 *
 * Metrics:
 *   parry_correlator_events_total              counter  Events decoded and evaluated
 *   parry_correlator_alerts_total{level}       counter  alerts produced, by rule level
 *   parry_correlator_signals_produced_total    counter  signals produced
 *   parry_correlator_dlq_total{reason}         counter  messages sent to topics.dlq
 *                                                       (reason: decode, schema_version)
 *   parry_correlator_below_min_level_total     counter  matches below correlator.min_level
 *   parry_correlator_rules_loaded              gauge    detection rules loaded
 *   parry_correlator_rules_rejected            gauge    rule documents rejected
 *   parry_correlator_transactions_aborted_total{stage="detect"} counter
 */
#ifndef PARRY_CORRELATOR_STAGE1_H
#define PARRY_CORRELATOR_STAGE1_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"
#include "sigma/sigma.h"

typedef struct parry_correlator parry_correlator_t;

/* The rules of correlator.rules with correlator.min_level, .placeholders and
 * .field_map, as both stages load them. With metrics non-NULL the load
 * report is logged and the rules_loaded/rules_rejected gauges set. NULL with
 * errstr when no path is given, loading fails or no detection rule loads. */
parry_sigma_ruleset_t *parry_correlator_load_rules(const parry_config_t *cfg,
                                                   parry_metrics_t *metrics, char *errstr,
                                                   size_t errstr_size);

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
