/* Exactly-once plumbing shared by both correlator stages: one consumer group
 * member and one transactional producer, and a batch of consumed messages
 * whose outputs and offsets commit together in one Kafka transaction
 * (consume-transform-produce, KIP-98 and KIP-447).
 *
 * A batch: parry_txn_begin() (lazily, at the first message), then produce
 * with parry_txn_produce() and record each consumed message with
 * parry_txn_note(); parry_txn_commit() sends the offsets to the transaction
 * with the consumer's group metadata (so a member fenced by a rebalance
 * cannot commit: its generation is stale) and commits.
 *
 * Failure handling follows librdkafka's transactional guide:
 *   - retriable errors are retried a few times;
 *   - abortable errors: the producer is flushed first (librdkafka 2.0.2 with
 *     Kafka 4.x answered INVALID_TXN_STATE to an abort with sends still in
 *     flight), the transaction aborted, and PARRY_TXN_ABORTED returned: the
 *     caller then rewinds the consumer (parry_txn_rewind) and rebuilds what
 *     it derived from the aborted messages;
 *   - fatal errors (e.g. fenced by a newer producer with the same
 *     transactional.id): PARRY_TXN_FATAL; the producer is unusable.
 */
#ifndef PARRY_CORRELATOR_TXN_H
#define PARRY_CORRELATOR_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/kafka.h"
#include "parry/metrics.h"

typedef enum { PARRY_TXN_OK, PARRY_TXN_ABORTED, PARRY_TXN_FATAL } parry_txn_result_t;

typedef struct {
  rd_kafka_t *producer, *consumer; /* not owned */
  int timeout_ms;                  /* bound of init, commit, abort and flush */
  bool open;
  bool produce_failed; /* a message was refused: the transaction must abort */
  size_t consumed;     /* messages noted in the open transaction */
  int64_t opened_ms;   /* monotonic time of begin */
  rd_kafka_topic_partition_list_t *offsets; /* next offsets to commit */
} parry_txn_t;

void parry_txn_init(parry_txn_t *t, rd_kafka_t *producer, rd_kafka_t *consumer, int timeout_ms);
void parry_txn_free(parry_txn_t *t);

/* rd_kafka_init_transactions: fences older producers with the same
 * transactional.id and aborts what they left open. */
parry_err_t parry_txn_start(parry_txn_t *t, char *errstr, size_t errstr_size);

/* Begin a transaction unless one is open. false (with why) on a fatal error. */
bool parry_txn_begin(parry_txn_t *t, char *why, size_t why_size);

/* Produce a copy of value inside the open transaction. partition may be
 * RD_KAFKA_PARTITION_UA. hdrs (may be NULL) become the producer's. While the
 * queue is full, serves delivery reports and retries up to timeout_ms; a
 * message that cannot be queued marks the transaction for abort. */
void parry_txn_produce(parry_txn_t *t, const char *topic, int32_t partition, const void *key,
                       size_t key_len, const void *value, size_t len, rd_kafka_headers_t *hdrs);

/* Record a consumed message: its offset + 1 commits with the transaction. */
void parry_txn_note(parry_txn_t *t, const rd_kafka_message_t *msg);

/* Send the noted offsets and commit. Nothing open: PARRY_TXN_OK. */
parry_txn_result_t parry_txn_commit(parry_txn_t *t, char *why, size_t why_size);

/* Flush, then abort the open transaction (nothing open: PARRY_TXN_OK). */
parry_txn_result_t parry_txn_abort(parry_txn_t *t, char *why, size_t why_size);

/* At a revocation: commit what was done while the partitions were ours,
 * unless the assignment was lost (the group moved on without us: a member
 * that stalled past its session). Then abort without trying: once the
 * client has forgotten its generation, the broker could no longer fence
 * the commit, and the next owner re-reads anyway (PARRY_TXN_ABORTED, with
 * why). */
parry_txn_result_t parry_txn_end_at_revocation(parry_txn_t *t, char *why, size_t why_size);

/* Seek every assigned partition of the consumer back to its committed
 * offset (the beginning when nothing was committed), dropping what was
 * fetched past it. Waits for stable offsets (an open transaction of another
 * member that committed offsets for these partitions must end first). */
parry_err_t parry_txn_rewind(rd_kafka_t *consumer, int timeout_ms, char *errstr,
                             size_t errstr_size);

/* Milliseconds on a monotonic clock. */
int64_t parry_txn_now_ms(void);

/* The transactional.id of one stage of this replica:
 * "parry-correlator.<group>.<instance>.<stage>", where instance is
 * correlator.instance_id or, when empty, the host name. Stable per replica
 * identity, so a restarted replica fences its own zombie. */
void parry_txn_id(const parry_config_t *cfg, const char *group, const char *stage, char *out,
                  size_t out_size);

/* The transactional producer of one stage: transactional.id from
 * parry_txn_id (left in txn_id), transaction.timeout.ms set to
 * correlator.transaction_timeout (message and socket timeouts default to it,
 * the socket one at most 60 s) plus the NULL-terminated name/value pairs of
 * extra_required (may be NULL). NULL with errstr. */
rd_kafka_t *parry_txn_producer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                   const char *group, const char *stage, const char *client_id,
                                   const char *const *extra_required, char *txn_id,
                                   size_t txn_id_size, char *errstr, size_t errstr_size);

/* The read_committed consumer of one stage in group, with eager assignment
 * (range/roundrobin): rebalance_cb assigns and revokes whole sets. NULL with
 * errstr. */
rd_kafka_t *parry_txn_consumer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                   const char *group, const char *client_id,
                                   parry_kafka_rebalance_cb *rebalance_cb,
                                   void *rebalance_opaque, char *errstr, size_t errstr_size);

/* Subscribe consumer to topic (the value of setting, named in the error). */
parry_err_t parry_txn_subscribe(rd_kafka_t *consumer, const char *setting, const char *topic,
                                char *errstr, size_t errstr_size);

#endif
