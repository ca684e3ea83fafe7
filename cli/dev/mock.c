/* Kafka for `parry dev`: librdkafka's mock cluster, hosted by a dummy
 * producer handle in this process and served over loopback TCP to the
 * services, which see an ordinary broker. It serves produce, fetch,
 * metadata, consumer groups and transactions, but not admin calls: topics
 * are created here (rd_kafka_mock_topic_create). No TLS or SASL, so it
 * listens on 127.0.0.1 only and lives as long as this process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "dev.h"
#include "parry/mem.h"

struct dev_kafka {
  rd_kafka_t *rk;
  rd_kafka_mock_cluster_t *mc;
  char *bootstrap;
};

/* The dummy handle has no broker of its own to talk to; its complaints
 * about that are noise. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  (void)level;
  (void)fac;
  (void)buf;
}

dev_kafka_t *dev_kafka_start(const dev_kafka_topics_t *t, char *errstr, size_t errstr_size) {
  dev_kafka_t *k = parry_xnew(dev_kafka_t, 1);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
  if (!k->rk) {
    rd_kafka_conf_destroy(conf);
    free(k);
    return NULL;
  }
  k->mc = rd_kafka_mock_cluster_new(k->rk, 1);
  if (!k->mc) {
    snprintf(errstr, errstr_size, "librdkafka could not create its mock cluster");
    dev_kafka_stop(k);
    return NULL;
  }
  for (size_t i = 0; i < t->n_topics; i++) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(k->mc, t->topics[i], t->partitions, 1);
    if (err) {
      snprintf(errstr, errstr_size, "mock topic %s: %s", t->topics[i], rd_kafka_err2str(err));
      dev_kafka_stop(k);
      return NULL;
    }
  }
  k->bootstrap = parry_xstrdup(rd_kafka_mock_cluster_bootstraps(k->mc));
  return k;
}

const char *dev_kafka_bootstrap(const dev_kafka_t *k) { return k->bootstrap; }

void dev_kafka_stop(dev_kafka_t *k) {
  if (!k) return;
  if (k->mc) rd_kafka_mock_cluster_destroy(k->mc);
  if (k->rk) rd_kafka_destroy(k->rk);
  free(k->bootstrap);
  free(k);
}
