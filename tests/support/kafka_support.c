#include "kafka_support.h"

#include "parry/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *parry_test_kafka_bootstrap(void) {
  return parry_test_service("KAFKA_BOOTSTRAP",
                            "a Kafka broker, e.g. from scripts/kafka.sh start");
}

parry_config_t *parry_test_kafka_config(const char *bootstrap, const char *const *kafka_props) {
  parry_config_t *cfg = parry_config_new();
  char assignment[1024], err[512];
  if (bootstrap) {
    snprintf(assignment, sizeof assignment, "kafka.bootstrap.servers=%s", bootstrap);
    if (parry_config_set(cfg, assignment, "KAFKA_BOOTSTRAP", err, sizeof err))
      fail_msg("could not configure the broker address: %s", err);
  }
  for (size_t i = 0; kafka_props && kafka_props[i]; i++) {
    snprintf(assignment, sizeof assignment, "kafka.%s", kafka_props[i]);
    if (parry_config_set(cfg, assignment, "test", err, sizeof err))
      fail_msg("could not set %s: %s", assignment, err);
  }
  return cfg;
}

void parry_test_config_set(parry_config_t *cfg, const char *fmt, ...) {
  char kv[1024], err[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(kv, sizeof kv, fmt, ap);
  va_end(ap);
  if (parry_config_set(cfg, kv, "test", err, sizeof err)) fail_msg("%s: %s", kv, err);
}

rd_kafka_t *parry_test_kafka_admin(const char *bootstrap, const char *client_id) {
  parry_config_t *cfg = parry_test_kafka_config(bootstrap, NULL);
  char err[512];
  const parry_kafka_producer_opts_t opts = {.client_id = client_id};
  rd_kafka_t *rk = parry_kafka_producer_new(cfg, NULL, &opts, err, sizeof err);
  parry_config_destroy(cfg);
  if (!rk) fail_msg("%s", err);
  return rk;
}

void parry_test_kafka_create_topic(rd_kafka_t *rk, const char *topic, int partitions) {
  char err[512];
  parry_kafka_topic_spec_t spec = {topic, partitions, -1, NULL}; /* broker default */
  if (parry_kafka_create_topics(rk, &spec, 1, 30000, err, sizeof err))
    fail_msg("%s", err);
  const char *names[] = {topic};
  if (parry_kafka_wait_topics(rk, names, 1, 30000, err, sizeof err))
    fail_msg("%s", err);
}

int64_t parry_test_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *parry_test_dup_bytes(const void *p, size_t n) {
  char *s = parry_xmalloc(n + 1);
  if (n) memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

char *parry_test_kafka_header(const rd_kafka_message_t *m, const char *name) {
  rd_kafka_headers_t *h = NULL;
  const void *v;
  size_t n;
  if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, &n)) return NULL;
  return parry_test_dup_bytes(v, n);
}
