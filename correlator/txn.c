#include "txn.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parry/kafka.h"
#include "parry/log.h"

#define RETRIES 5 /* of a retriable send-offsets or commit */

int64_t parry_txn_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void parry_txn_init(parry_txn_t *t, rd_kafka_t *producer, rd_kafka_t *consumer, int timeout_ms) {
  memset(t, 0, sizeof *t);
  t->producer = producer;
  t->consumer = consumer;
  t->timeout_ms = timeout_ms;
  t->offsets = rd_kafka_topic_partition_list_new(8);
}

void parry_txn_free(parry_txn_t *t) {
  if (t->offsets) rd_kafka_topic_partition_list_destroy(t->offsets);
  t->offsets = NULL;
}

static void reset(parry_txn_t *t) {
  t->open = false;
  t->produce_failed = false;
  t->consumed = 0;
  rd_kafka_topic_partition_list_destroy(t->offsets);
  t->offsets = rd_kafka_topic_partition_list_new(8);
}

/* Takes the error. */
static void describe(rd_kafka_error_t *e, const char *what, char *why, size_t why_size) {
  snprintf(why, why_size, "%s: %s%s", what, rd_kafka_error_string(e),
           rd_kafka_error_is_fatal(e) ? " (fatal)" : "");
  rd_kafka_error_destroy(e);
}

parry_err_t parry_txn_start(parry_txn_t *t, char *errstr, size_t errstr_size) {
  rd_kafka_error_t *e = rd_kafka_init_transactions(t->producer, t->timeout_ms);
  if (!e) return PARRY_OK;
  char why[512];
  describe(e, "init transactions", why, sizeof why);
  return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "%s", why);
}

bool parry_txn_begin(parry_txn_t *t, char *why, size_t why_size) {
  if (t->open) return true;
  rd_kafka_error_t *e = rd_kafka_begin_transaction(t->producer);
  if (e) {
    describe(e, "begin transaction", why, why_size);
    return false;
  }
  t->open = true;
  t->opened_ms = parry_txn_now_ms();
  return true;
}

void parry_txn_produce(parry_txn_t *t, const char *topic, int32_t partition, const void *key,
                       size_t key_len, const void *value, size_t len, rd_kafka_headers_t *hdrs) {
  if (t->produce_failed) {
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    return;
  }
  for (int waited_ms = 0;; waited_ms += 50) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        t->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return; /* the headers are the producer's now */
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && waited_ms < t->timeout_ms) {
      rd_kafka_poll(t->producer, 50);
      continue;
    }
    LOG_ERROR("could not produce to %s: %s; the transaction will be aborted", topic,
              rd_kafka_err2str(err));
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    t->produce_failed = true;
    return;
  }
}

void parry_txn_note(parry_txn_t *t, const rd_kafka_message_t *msg) {
  const char *topic = rd_kafka_topic_name(msg->rkt);
  rd_kafka_topic_partition_t *p =
      rd_kafka_topic_partition_list_find(t->offsets, topic, msg->partition);
  if (!p) p = rd_kafka_topic_partition_list_add(t->offsets, topic, msg->partition);
  if (msg->offset + 1 > p->offset) p->offset = msg->offset + 1;
  t->consumed++;
}

parry_txn_result_t parry_txn_abort(parry_txn_t *t, char *why, size_t why_size) {
  if (!t->open) return PARRY_TXN_OK;
  /* Flush first: what is in flight must be answered before the abort. */
  rd_kafka_flush(t->producer, t->timeout_ms);
  rd_kafka_error_t *e = NULL;
  for (int i = 0; i < RETRIES; i++) {
    e = rd_kafka_abort_transaction(t->producer, t->timeout_ms);
    if (!e || !rd_kafka_error_is_retriable(e)) break;
    LOG_WARN("abort transaction: %s; retrying", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    e = NULL;
  }
  reset(t);
  if (!e) return PARRY_TXN_OK;
  describe(e, "abort transaction", why, why_size);
  return PARRY_TXN_FATAL;
}

/* After an error of send-offsets or commit: abort when it says so. */
static parry_txn_result_t on_error(parry_txn_t *t, rd_kafka_error_t *e, const char *what,
                                   char *why, size_t why_size) {
  bool abortable = rd_kafka_error_txn_requires_abort(e);
  describe(e, what, why, why_size);
  if (!abortable) return PARRY_TXN_FATAL;
  LOG_WARN("%s; aborting the transaction", why);
  char abort_why[512];
  if (parry_txn_abort(t, abort_why, sizeof abort_why) != PARRY_TXN_OK) {
    snprintf(why, why_size, "%s", abort_why);
    return PARRY_TXN_FATAL;
  }
  return PARRY_TXN_ABORTED;
}

parry_txn_result_t parry_txn_commit(parry_txn_t *t, char *why, size_t why_size) {
  if (!t->open) return PARRY_TXN_OK;
  if (t->produce_failed) {
    snprintf(why, why_size, "a message could not be produced");
    return parry_txn_abort(t, why, why_size) == PARRY_TXN_OK ? PARRY_TXN_ABORTED
                                                              : PARRY_TXN_FATAL;
  }
  rd_kafka_error_t *e = NULL;
  if (t->offsets->cnt) {
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(t->consumer);
    for (int i = 0; i < RETRIES; i++) {
      e = rd_kafka_send_offsets_to_transaction(t->producer, t->offsets, md, t->timeout_ms);
      if (!e || !rd_kafka_error_is_retriable(e)) break;
      LOG_WARN("send offsets to transaction: %s; retrying", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
      e = NULL;
    }
    rd_kafka_consumer_group_metadata_destroy(md);
    if (e) return on_error(t, e, "send offsets to transaction", why, why_size);
  }
  for (int i = 0; i < RETRIES; i++) {
    e = rd_kafka_commit_transaction(t->producer, t->timeout_ms);
    if (!e || !rd_kafka_error_is_retriable(e)) break;
    LOG_WARN("commit transaction: %s; retrying", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    e = NULL;
  }
  if (e) return on_error(t, e, "commit transaction", why, why_size);
  reset(t);
  return PARRY_TXN_OK;
}

parry_txn_result_t parry_txn_end_at_revocation(parry_txn_t *t, char *why, size_t why_size) {
  if (!t->open) return PARRY_TXN_OK;
  if (!t->consumer || !rd_kafka_assignment_lost(t->consumer))
    return parry_txn_commit(t, why, why_size);
  char abort_why[512];
  if (parry_txn_abort(t, abort_why, sizeof abort_why) != PARRY_TXN_OK) {
    snprintf(why, why_size, "%s", abort_why);
    return PARRY_TXN_FATAL;
  }
  snprintf(why, why_size, "partitions lost: the group moved on while this member was away");
  return PARRY_TXN_ABORTED;
}

parry_err_t parry_txn_rewind(rd_kafka_t *consumer, int timeout_ms, char *errstr,
                             size_t errstr_size) {
  rd_kafka_topic_partition_list_t *a = NULL;
  rd_kafka_resp_err_t err = rd_kafka_assignment(consumer, &a);
  if (err)
    return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "rewind: assignment: %s",
                      rd_kafka_err2str(err));
  parry_err_t rc = PARRY_OK;
  if (a->cnt) {
    /* Read committed and require_stable: waits for pending offsets. */
    err = rd_kafka_committed(consumer, a, timeout_ms);
    if (err) {
      rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                      "rewind: committed offsets: %s", rd_kafka_err2str(err));
      goto out;
    }
    for (int i = 0; i < a->cnt; i++)
      if (a->elems[i].offset < 0) a->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(consumer, a, timeout_ms);
    if (e) {
      rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "rewind: seek: %s",
                      rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
      goto out;
    }
    for (int i = 0; i < a->cnt; i++)
      if (a->elems[i].err) {
        rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                        "rewind: seek %s[%d]: %s", a->elems[i].topic,
                        (int)a->elems[i].partition, rd_kafka_err2str(a->elems[i].err));
        goto out;
      }
  }
out:
  rd_kafka_topic_partition_list_destroy(a);
  return rc;
}

void parry_txn_id(const parry_config_t *cfg, const char *group, const char *stage, char *out,
                  size_t out_size) {
  const char *instance = parry_config_str(cfg, "correlator.instance_id");
  char host[256] = "";
  if (!*instance) {
    if (gethostname(host, sizeof host - 1) != 0 || !*host) snprintf(host, sizeof host, "local");
    instance = host;
  }
  snprintf(out, out_size, "parry-correlator.%s.%s.%s", group, instance, stage);
}

rd_kafka_t *parry_txn_producer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                   const char *group, const char *stage, const char *client_id,
                                   const char *const *extra_required, char *txn_id,
                                   size_t txn_id_size, char *errstr, size_t errstr_size) {
  char txn_timeout[32], sock_timeout[32];
  parry_txn_id(cfg, group, stage, txn_id, txn_id_size);
  int64_t tt = parry_config_int(cfg, "correlator.transaction_timeout");
  snprintf(txn_timeout, sizeof txn_timeout, "%" PRId64, tt);
  snprintf(sock_timeout, sizeof sock_timeout, "%" PRId64, tt < 60000 ? tt : 60000);
  const char *const pdefaults[] = {"socket.timeout.ms", sock_timeout, "message.timeout.ms",
                                   txn_timeout, NULL};
  const char *prequired[16] = {"transaction.timeout.ms", txn_timeout};
  size_t n = 2;
  for (size_t i = 0; extra_required && extra_required[i] && n + 2 < 16; i += 2) {
    prequired[n++] = extra_required[i];
    prequired[n++] = extra_required[i + 1];
  }
  prequired[n] = NULL;
  const parry_kafka_producer_opts_t popts = {.client_id = client_id,
                                             .transactional_id = txn_id,
                                             .defaults = pdefaults,
                                             .required = prequired};
  return parry_kafka_producer_new(cfg, metrics, &popts, errstr, errstr_size);
}

rd_kafka_t *parry_txn_consumer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                   const char *group, const char *client_id,
                                   parry_kafka_rebalance_cb *rebalance_cb,
                                   void *rebalance_opaque, char *errstr, size_t errstr_size) {
  static const char *const crequired[] = {"isolation.level", "read_committed",
                                          "partition.assignment.strategy", "range,roundrobin",
                                          NULL};
  const parry_kafka_consumer_opts_t copts = {.client_id = client_id,
                                             .required = crequired,
                                             .rebalance_cb = rebalance_cb,
                                             .rebalance_opaque = rebalance_opaque};
  return parry_kafka_consumer_new(cfg, metrics, group, &copts, errstr, errstr_size);
}

parry_err_t parry_txn_subscribe(rd_kafka_t *consumer, const char *setting, const char *topic,
                                char *errstr, size_t errstr_size) {
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t kerr = rd_kafka_subscribe(consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (!kerr) return PARRY_OK;
  return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "%s: subscribe to \"%s\": %s",
                    setting, topic, rd_kafka_err2str(kerr));
}
