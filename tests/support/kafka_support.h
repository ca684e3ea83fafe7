/* Helpers for the suites that talk to a real Kafka broker (tests/kafka and
 * any service's Kafka tests). The broker comes from KAFKA_BOOTSTRAP, e.g.
 *
 *   export KAFKA_BOOTSTRAP=$(scripts/kafka.sh start)
 *
 * Failures inside these helpers fail the calling test (cmocka fail_msg). */
#ifndef PARRY_KAFKA_SUPPORT_H
#define PARRY_KAFKA_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "parry/config.h"
#include "parry/kafka.h"
#include "test_support.h"

/* $KAFKA_BOOTSTRAP, or NULL after printing why (the caller then calls skip());
 * fails instead under PARRY_REQUIRE_SERVICES=1. */
const char *parry_test_kafka_bootstrap(void);

/* A configuration with kafka.bootstrap.servers=bootstrap (unless NULL) and
 * the NULL-terminated "name=value" kafka properties in `kafka_props`
 * (without the "kafka." prefix; may be NULL), each applied with source
 * "test". The caller destroys it. */
parry_config_t *parry_test_kafka_config(const char *bootstrap, const char *const *kafka_props);

/* Applies one "name=value" setting (printf-style) with source "test"; a
 * refused setting fails the test. */
void parry_test_config_set(parry_config_t *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A producer on bootstrap named client_id, for a suite's own topic creation
 * and test input; failing to make it fails the test. */
rd_kafka_t *parry_test_kafka_admin(const char *bootstrap, const char *client_id);

/* Create a topic through parry_kafka_create_topics and wait until all its
 * partitions have leaders. */
void parry_test_kafka_create_topic(rd_kafka_t *rk, const char *topic, int partitions);

/* A NUL-terminated malloc'd copy of n bytes (message payloads, keys). */
char *parry_test_dup_bytes(const void *p, size_t n);

/* The last value of header `name` of a message, as a malloc'd string, or
 * NULL when the message has no such header. */
char *parry_test_kafka_header(const rd_kafka_message_t *m, const char *name);

/* Milliseconds on a monotonic clock, for bounded waits. */
int64_t parry_test_now_ms(void);

#endif
