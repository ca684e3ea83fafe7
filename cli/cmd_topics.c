/* parry topics create: create every topic Parry uses, through the Kafka admin
 * API, with the partition count and replication factor of the configuration.
 * The correlator's state changelog is compacted; the others keep the broker's
 * retention. Existing topics are left as they are. */
#include <string.h>

#include "cli.h"
#include "parry/config.h"
#include "parry/kafka.h"

static const char usage[] =
    "usage: parry topics create [--config FILE] [--set key=value]...\n"
    "\n"
    "Creates topics.events, topics.signals, topics.state (compacted), topics.alerts\n"
    "and topics.dlq with topics.partitions partitions and topics.replication_factor\n"
    "replicas on the cluster in kafka.bootstrap.servers, and waits until every\n"
    "partition has a leader. Topics that exist already are left unchanged.\n";

int parry_cmd_topics(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  parry_config_t *cfg = parry_config_new();
  rd_kafka_t *rk = NULL;
  char errstr[1024];
  int rc = 0;
  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry topics: %s\n", errstr);
    rc = 2;
    goto out;
  }
  if (argc == 2 && strcmp(argv[1], "--help") == 0) {
    fputs(usage, out);
    goto out;
  }
  if (argc != 2 || strcmp(argv[1], "create") != 0) {
    fprintf(err, "%s", usage);
    rc = 2;
    goto out;
  }
  const parry_kafka_producer_opts_t opts = {.client_id = "parry-topics"};
  rk = parry_kafka_producer_new(cfg, NULL, &opts, errstr, sizeof errstr);
  if (!rk) {
    fprintf(err, "parry topics: %s\n", errstr);
    rc = 1;
    goto out;
  }
  static const char *const compacted[] = {"cleanup.policy", "compact", NULL};
  int partitions = (int)parry_config_int(cfg, "topics.partitions");
  int replicas = (int)parry_config_int(cfg, "topics.replication_factor");
  const char *names[] = {
      parry_config_str(cfg, "topics.events"), parry_config_str(cfg, "topics.signals"),
      parry_config_str(cfg, "topics.state"),  parry_config_str(cfg, "topics.alerts"),
      parry_config_str(cfg, "topics.dlq"),
  };
  parry_kafka_topic_spec_t specs[5];
  for (int i = 0; i < 5; i++)
    specs[i] = (parry_kafka_topic_spec_t){names[i], partitions, replicas,
                                          i == 2 ? compacted : NULL};
  if (parry_kafka_create_topics(rk, specs, 5, 30000, errstr, sizeof errstr) ||
      parry_kafka_wait_topics(rk, names, 5, 30000, errstr, sizeof errstr)) {
    fprintf(err, "parry topics: %s\n", errstr);
    rc = 1;
    goto out;
  }
  for (int i = 0; i < 5; i++)
    fprintf(out, "%s: ready (%d partitions)%s\n", names[i], partitions,
            i == 2 ? ", compacted" : "");
out:
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
  return rc;
}
