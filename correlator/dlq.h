/* Dead letters of both correlator stages: a consumed message that cannot be
 * processed goes, unchanged (key and value), to the stage's DLQ topic inside
 * the open transaction, so it commits with the offset that skips it. Headers
 * say why and where from:
 *   parry.reason  what was wrong
 *   parry.source  "correlator"
 *   parry.origin  <topic>/<partition>/<offset> of the message
 */
#ifndef PARRY_CORRELATOR_DLQ_H
#define PARRY_CORRELATOR_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "txn.h"

/* Produces msg to dlq_topic through t with the headers above and logs a
 * warning "<log_prefix>dead letter from <origin>: <reason>". */
void parry_dlq_send(parry_txn_t *t, const char *dlq_topic, const rd_kafka_message_t *msg,
                    const char *reason, const char *log_prefix);

/* Whether a message of schema_version is newer than this build reads; if so,
 * the dead-letter reason is written to reason. */
bool parry_dlq_schema_too_new(uint32_t schema_version, char *reason, size_t reason_size);

#endif
