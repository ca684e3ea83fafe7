/* The parry-executor service: topics.alerts -> cases and runs in PostgreSQL
 * -> runbook steps through the connectors.
 *
 * Threads, each with its own PostgreSQL connection: the intake, the
 * scheduler, a claimer (worker/claimer.c: claims runs the moment the intake
 * committed them, and every executor.poll_interval, never more than the
 * scheduler has room for), executor.store_writers writers (worker/writer.c:
 * step transitions, recorded in parallel off the scheduler's path, one run
 * always through the same writer so its transitions stay in order) and a
 * finisher (worker/finisher.c: marks runs succeeded/failed, in batches, once
 * all their transitions are recorded):
 *
 *   intake (worker/intake.c): a consumer in group executor.group on
 *     topics.alerts (isolation.level=read_committed). Each message is a
 *     protobuf Alert; one that does not decode, whose schema_version is newer
 *     than PARRY_SCHEMA_VERSION, or that has no id goes unchanged to
 *     topics.dlq with the headers parry.reason, parry.source ("executor") and
 *     parry.origin ("topic/partition/offset"), as the correlator does. Alerts
 *     are matched against the runbooks (executor.runbooks); for every match the
 *     grouping key is computed from the runbook's group fields, and a batch
 *     (executor.batch_size) is stored in ONE transaction: alert inserted by id
 *     (a redelivered one changes nothing), case joined or opened, run created.
 *     Offsets are committed only after that transaction committed and the dead
 *     letters of the batch were acknowledged: at-least-once into an idempotent
 *     store. An alert that no runbook matches is stored too, without a case or
 *     run, so that entity history sees it (it is counted as unmatched).
 *
 *   scheduler (worker/scheduler.c): takes the runs the claimer claimed
 *     (FOR UPDATE SKIP LOCKED with a lease of executor.lease, renewed every
 *     third of it without ever waiting for a locked row), walks each
 *     runbook's step graph (needs), evaluates `when`, renders `with` with the
 *     escaping of the step's connector, records step_started BEFORE calling
 *     the connector (idempotency key = alert id + ":" + step id; the call
 *     starts only once that row is committed), and drives
 *     thousands of steps at once through the connector engine. Retries use
 *     exponential backoff with jitter; the next attempt time is in the store,
 *     not in a sleeping thread. A run whose lease expired (its executor died)
 *     is claimed by any replica: steps whose success was recorded are never
 *     repeated, steps started but not finished are retried with the same
 *     idempotency key.
 *
 * Backpressure: when runs in flight (claimed here, or runnable in the store:
 * parry_store_runs_runnable, fleet-wide, every 250 ms) exceed
 * executor.max_in_flight, the intake pauses its partitions
 * (rd_kafka_pause_partitions) and resumes them at executor.resume_in_flight.
 * Nothing is dropped: paused alerts wait in Kafka.
 *
 * Metrics:
 *   parry_executor_alerts_total                 counter  alerts decoded from topics.alerts
 *   parry_executor_alerts_duplicate_total       counter  alerts already stored (redelivery)
 *   parry_executor_alerts_unmatched_total       counter  alerts no runbook matched
 *   parry_executor_cases_opened_total           counter  cases opened
 *   parry_executor_runs_total{status}           counter  runs created / succeeded / failed
 *   parry_executor_steps_total{connector,status} counter steps succeeded, failed, retried,
 *                                                        skipped
 *   parry_executor_runs_in_flight               gauge    runs claimed by this executor
 *   parry_executor_steps_in_flight              gauge    connector calls in progress
 *   parry_executor_runs_pending                 gauge    runnable runs waiting in the store
 *   parry_executor_consumer_paused              gauge    1 while the intake is paused
 *   parry_executor_dlq_total{reason}            counter  messages sent to topics.dlq
 *                                                        (decode, schema_version, no_id)
 */
#ifndef PARRY_EXECUTOR_WORKER_H
#define PARRY_EXECUTOR_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"

typedef struct parry_worker parry_worker_t;

/* Load the runbooks and connector configuration, connect to PostgreSQL
 * (pg.dsn), apply the migrations (executor.migrate), create the Kafka
 * clients, subscribe, and start both threads. cfg and metrics must outlive
 * the worker. On error nothing is left running and errstr says why. */
parry_err_t parry_worker_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                               parry_worker_t **out, char *errstr, size_t errstr_size);

/* Ready: PostgreSQL reachable with the migrations applied, and the consumer
 * has a partition assignment. Otherwise `why` says what is missing. */
bool parry_worker_ready(parry_worker_t *w, char *why, size_t why_size);

/* True once a thread stopped on an error it cannot recover from. */
bool parry_worker_failed(parry_worker_t *w, char *why, size_t why_size);

/* Stop: the intake finishes (stores and commits) the batch in hand; the
 * scheduler lets steps in flight finish for executor.shutdown_timeout and
 * records them, then releases its leases. Returns 0, or 1 after a failure.
 * Accepts NULL. */
int parry_worker_stop(parry_worker_t *w);

#endif
