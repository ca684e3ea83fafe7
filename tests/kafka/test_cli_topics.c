/* parry topics create against the real broker: every Parry topic exists
 * afterwards with the configured partition count, and a second run is a
 * no-op that still succeeds. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kafka_support.h"

static int run_create(const char *bootstrap, const char *prefix, char *out, size_t out_size) {
  char sets[6][256];
  const char *keys[] = {"topics.events", "topics.signals", "topics.state", "topics.alerts",
                        "topics.dlq"};
  snprintf(sets[0], sizeof sets[0], "kafka.bootstrap.servers=%s", bootstrap);
  for (int i = 0; i < 5; i++) snprintf(sets[i + 1], sizeof sets[0], "%s=%s.%d", keys[i], prefix, i);
  char *argv[] = {"topics", "create", "--set", sets[0], "--set", sets[1], "--set", sets[2],
                  "--set", sets[3], "--set", sets[4], "--set", sets[5], "--set",
                  "topics.partitions=3", NULL};
  char *envp[] = {NULL};
  FILE *o = fmemopen(out, out_size - 1, "w");
  memset(out, 0, out_size);
  int rc = parry_cmd_topics(16, argv, envp, o, stderr);
  fclose(o);
  return rc;
}

static void test_topics_create(void **state) {
  const char *bootstrap = parry_test_kafka_bootstrap();
  if (!bootstrap) skip();
  char prefix[128], out[2048];
  parry_test_unique_name("parry-topics", prefix, sizeof prefix);
  assert_int_equal(run_create(bootstrap, prefix, out, sizeof out), 0);
  assert_non_null(strstr(out, ".2: ready (3 partitions), compacted"));
  assert_int_equal(run_create(bootstrap, prefix, out, sizeof out), 0); /* idempotent */

  parry_config_t *cfg = parry_test_kafka_config(bootstrap, NULL);
  char err[512];
  const parry_kafka_producer_opts_t opts = {.client_id = "test-topics"};
  rd_kafka_t *rk = parry_kafka_producer_new(cfg, NULL, &opts, err, sizeof err);
  assert_non_null(rk);
  for (int i = 0; i < 5; i++) {
    char topic[160];
    snprintf(topic, sizeof topic, "%s.%d", prefix, i);
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    assert_int_equal(rd_kafka_metadata(rk, 0, t, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(md->topic_cnt, 1);
    assert_int_equal(md->topics[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(md->topics[0].partition_cnt, 3);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
  }
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_topics_create)};
  return cmocka_run_group_tests_name("cli_topics", tests, NULL, NULL);
}
