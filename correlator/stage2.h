/* Correlator stage 2: topics.signals -> correlation windows -> topics.alerts,
 * exactly-once, with the window state in a compacted changelog.
 *
 * One worker thread runs a member of consumer group correlator.correlate_group
 * on topics.signals (read_committed) and a transactional producer
 * (transactional.id parry-correlator.GROUP.INSTANCE.correlate, see
 * correlator.instance_id). Signals are keyed by correlation rule + group-by
 * values (stage 1), so every key lives on one partition and the replica that
 * owns the partition owns the key's windows (window/correlate.h).
 *
 * Per transaction (correlator.batch_size signals or correlator.commit_interval,
 * whichever first): the signals are fed to the engine; its alerts go to
 * topics.alerts (key "RULE|V1,V2..." from the correlation rule id and the
 * group-by values) and every state change of a key to topics.state, keyed by
 * the key, on the partition number of topics.signals that the key hashes to,
 * i.e. the partition its signals come from; then the offsets are sent to the
 * transaction with the group metadata (KIP-447: a member fenced by a
 * rebalance cannot commit) and the transaction commits.
 *
 * Assignment: before any signal of a newly assigned partition is handled,
 * the replica waits for the partition's committed offset to be stable (no
 * transaction of another member pending on it), reads the same partition of
 * topics.state from the beginning to its end (read_committed) and restores
 * the last value of each key. Revocation: the open transaction is committed
 * (or aborted) and the keys of the revoked partitions are dropped.
 *
 * An abortable transaction error: flush, abort, drop the keys of every owned
 * partition, restore them from the changelog and rewind the consumer to the
 * committed offsets: the engine sees exactly the committed history again. A
 * fatal error (fenced by a newer producer with the same transactional id)
 * stops the worker (parry_corr_stage2_failed).
 *
 * Correlation alerts whose rule level is below correlator.min_level are
 * dropped (counted in parry_correlator_below_min_level_total), as `parry
 * detect` does.
 *
 * topics.state must have as many partitions as topics.signals (checked at
 * start). Messages that are not a Signal, or that the engine refuses, go to
 * topics.dlq in the same transaction.
 *
 * Metrics:
 *   parry_correlator_signals_total                  counter  signals fed to the engine
 *   parry_correlator_correlation_alerts_total        counter  correlation alerts produced
 *   parry_correlator_suppressed_total               counter  alerts folded by suppression
 *   parry_correlator_late_signals_total             counter  signals past allowed lateness
 *   parry_correlator_evictions_total                counter  windows evicted at memory_cap
 *   parry_correlator_expired_keys_total             counter  keys forgotten after idle_expiry
 *   parry_correlator_state_records_total            counter  changelog records produced
 *   parry_correlator_window_keys                    gauge    keys held by this replica
 *   parry_correlator_window_bytes                   gauge    their state, bytes
 *   parry_correlator_restore_duration_ms            gauge    last changelog restore
 *   parry_correlator_restored_keys_total            counter  keys restored from the changelog
 *   parry_correlator_transactions_aborted_total{stage="correlate"}  counter
 *   parry_correlator_dlq_total{reason}              counter  (shared with stage 1)
 */
#ifndef PARRY_CORRELATOR_STAGE2_H
#define PARRY_CORRELATOR_STAGE2_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"

typedef struct parry_corr_stage2 parry_corr_stage2_t;

/* Load the rules, compile the correlation rules (none: an error), create the
 * clients, init transactions, subscribe and start the worker. cfg and
 * metrics must outlive the stage. On error nothing is left running. */
parry_err_t parry_corr_stage2_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                                    parry_corr_stage2_t **out, char *errstr, size_t errstr_size);

/* Ready: the group assigned this member its partitions (possibly none) and
 * their state is restored. */
bool parry_corr_stage2_ready(parry_corr_stage2_t *s, char *why, size_t why_size);

/* True once the worker stopped on an error. */
bool parry_corr_stage2_failed(parry_corr_stage2_t *s, char *why, size_t why_size);

/* Stop: the open transaction is committed, the group left. Returns 0, or 1
 * when the worker had failed. Accepts NULL. */
int parry_corr_stage2_stop(parry_corr_stage2_t *s);

#endif
