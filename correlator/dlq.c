#include "dlq.h"

#include <inttypes.h>
#include <stdio.h>

#include "parry/codec.h"
#include "parry/log.h"

void parry_dlq_send(parry_txn_t *t, const char *dlq_topic, const rd_kafka_message_t *msg,
                    const char *reason, const char *log_prefix) {
  char origin[512];
  snprintf(origin, sizeof origin, "%s/%" PRId32 "/%" PRId64, rd_kafka_topic_name(msg->rkt),
           msg->partition, msg->offset);
  LOG_WARN("%sdead letter from %s: %s", log_prefix, origin, reason);
  rd_kafka_headers_t *h = rd_kafka_headers_new(3);
  rd_kafka_header_add(h, "parry.reason", -1, reason, -1);
  rd_kafka_header_add(h, "parry.source", -1, "correlator", -1);
  rd_kafka_header_add(h, "parry.origin", -1, origin, -1);
  parry_txn_produce(t, dlq_topic, RD_KAFKA_PARTITION_UA, msg->key, msg->key_len, msg->payload,
                    msg->len, h);
}

bool parry_dlq_schema_too_new(uint32_t schema_version, char *reason, size_t reason_size) {
  if (schema_version <= PARRY_SCHEMA_VERSION) return false;
  snprintf(reason, reason_size, "unsupported schema_version %" PRIu32 " (newest known: %d)",
           schema_version, PARRY_SCHEMA_VERSION);
  return true;
}
