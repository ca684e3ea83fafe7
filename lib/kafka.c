#include "parry/kafka.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/buf.h"
#include "parry/log.h"
#include "parry/mem.h"

/* A delivery failure is logged the first time and then once per this many, so
 * that a broker outage (every queued message times out) cannot flood the log;
 * the counter metric has the full count. */
#define DR_LOG_EVERY 1000
/* The same client error within this many seconds of the last one is counted
 * rather than logged: librdkafka reports every failed reconnect. */
#define ERR_LOG_INTERVAL_S 10
/* Delivery metrics are cached per topic, up to this many topics; beyond it
 * every report looks its metric up in the registry (slower, still right). */
#define TOPIC_CACHE_MAX 256

#define CTX_MAGIC 0x50524b41u

typedef struct {
  char *topic;
  parry_metric_t *delivered;
  parry_metric_t *failed;
} topic_metrics_t;

/* Everything the callbacks need, reached through the conf opaque: librdkafka
 * hands it to every callback, so there is no global state and any number of
 * clients can live in one process. Freed by parry_kafka_destroy() after
 * rd_kafka_destroy() has returned, i.e. after the last callback. */
typedef struct {
  unsigned magic;
  rd_kafka_type_t type;
  char *client_id;
  parry_metrics_t *metrics; /* may be NULL; not owned */

  parry_kafka_dr_cb *dr_cb;
  void *dr_opaque;
  parry_kafka_rebalance_cb *rebalance_cb;
  void *rebalance_opaque;

  atomic_ullong delivered;
  atomic_ullong failed;
  atomic_ullong dr_logged; /* failures that count for log sampling */
  atomic_bool fatal;

  /* Callbacks of one client may run on several threads (two threads polling
   * one producer, or flush() beside poll()): the lock guards what follows. */
  pthread_mutex_t lock;
  topic_metrics_t *topics;
  size_t topics_len;
  char fatal_reason[512];
  rd_kafka_resp_err_t last_err;
  time_t last_err_time;
  unsigned long suppressed_errs;
  /* Last absolute values of librdkafka's cumulative statistics, turned into
   * counter increments. */
  int64_t last_txmsgs, last_txbytes, last_rxmsgs, last_rxbytes, last_rebalances;
} kafka_ctx_t;

static kafka_ctx_t *ctx_new(rd_kafka_type_t type, parry_metrics_t *metrics) {
  kafka_ctx_t *ctx = parry_xnew(kafka_ctx_t, 1);
  ctx->magic = CTX_MAGIC;
  ctx->type = type;
  ctx->metrics = metrics;
  atomic_init(&ctx->delivered, 0);
  atomic_init(&ctx->failed, 0);
  atomic_init(&ctx->dr_logged, 0);
  atomic_init(&ctx->fatal, false);
  pthread_mutex_init(&ctx->lock, NULL);
  return ctx;
}

static void ctx_free(kafka_ctx_t *ctx) {
  if (!ctx) return;
  for (size_t i = 0; i < ctx->topics_len; i++) free(ctx->topics[i].topic);
  free(ctx->topics);
  free(ctx->client_id);
  pthread_mutex_destroy(&ctx->lock);
  ctx->magic = 0;
  free(ctx);
}

/* Our state of a client made by this module; NULL for any other handle. */
static kafka_ctx_t *ctx_of(const rd_kafka_t *rk) {
  kafka_ctx_t *ctx = rk ? rd_kafka_opaque(rk) : NULL;
  return ctx && ctx->magic == CTX_MAGIC ? ctx : NULL;
}

static const char *type_name(rd_kafka_type_t type) {
  return type == RD_KAFKA_PRODUCER ? "producer" : "consumer";
}

/* ------------------------------------------------------------------ logs */

/* syslog(3) levels, which librdkafka uses (0 emerg .. 7 debug). Nothing a
 * client says is fatal to the process, so emerg..err all map to error. */
static parry_log_level_t map_syslog_level(int level) {
  if (level <= 3) return PARRY_LOG_ERROR;
  if (level == 4) return PARRY_LOG_WARN;
  if (level <= 6) return PARRY_LOG_INFO;
  return PARRY_LOG_DEBUG;
}

/* Runs on librdkafka's internal threads: only our thread-safe logger here. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  parry_log_level_t ours = map_syslog_level(level);
  /* Every kafka.* setting goes to every client, so a consumer-only property
   * reaching a producer (and the reverse) is expected, not worth a warning. */
  if (ours == PARRY_LOG_WARN && strcmp(fac, "CONFWARN") == 0 &&
      strstr(buf, "property and will be ignored by this"))
    ours = PARRY_LOG_DEBUG;
  if (!parry_log_enabled(ours)) return;
  const char *prev = parry_log_action("running a Kafka client");
  parry_log_write(ours, "%s: %s: %s", rk ? rd_kafka_name(rk) : "kafka", fac, buf);
  parry_log_action(prev);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  kafka_ctx_t *ctx = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char why[400];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
    pthread_mutex_lock(&ctx->lock);
    snprintf(ctx->fatal_reason, sizeof ctx->fatal_reason, "%s: %s", rd_kafka_err2name(orig),
             why);
    pthread_mutex_unlock(&ctx->lock);
    atomic_store(&ctx->fatal, true);
    LOG_ERROR("Kafka %s %s hit a fatal error and cannot be used any more: %s: %s",
              type_name(ctx->type), rd_kafka_name(rk), rd_kafka_err2name(orig), why);
    return;
  }

  /* librdkafka's own FAIL log line already reports each failed connection
   * (with its own repeat suppression); keep that one. */
  if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
    LOG_DEBUG("Kafka %s %s: %s", type_name(ctx->type), rd_kafka_name(rk), reason);
    return;
  }

  time_t now = time(NULL);
  unsigned long suppressed = 0;
  pthread_mutex_lock(&ctx->lock);
  if ((rd_kafka_resp_err_t)err == ctx->last_err && now - ctx->last_err_time < ERR_LOG_INTERVAL_S) {
    ctx->suppressed_errs++;
    pthread_mutex_unlock(&ctx->lock);
    return;
  }
  suppressed = ctx->suppressed_errs;
  ctx->suppressed_errs = 0;
  ctx->last_err = (rd_kafka_resp_err_t)err;
  ctx->last_err_time = now;
  pthread_mutex_unlock(&ctx->lock);

  if (suppressed)
    LOG_WARN("Kafka %s %s: %s: %s (%lu repeated errors not logged)", type_name(ctx->type),
             rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason, suppressed);
  else
    LOG_WARN("Kafka %s %s: %s: %s", type_name(ctx->type), rd_kafka_name(rk),
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* ------------------------------------------------------ delivery reports */

/* The delivered and failed counters of a topic, registered on first use. */
static void topic_metrics(kafka_ctx_t *ctx, const char *topic, parry_metric_t **delivered,
                          parry_metric_t **failed) {
  pthread_mutex_lock(&ctx->lock);
  for (size_t i = 0; i < ctx->topics_len; i++) {
    if (strcmp(ctx->topics[i].topic, topic) == 0) {
      *delivered = ctx->topics[i].delivered;
      *failed = ctx->topics[i].failed;
      pthread_mutex_unlock(&ctx->lock);
      return;
    }
  }
  *delivered = parry_metrics_counter(ctx->metrics, "parry_kafka_delivered_total",
                                     "Messages acknowledged by Kafka", "client_id",
                                     ctx->client_id, "topic", topic, NULL);
  *failed = parry_metrics_counter(ctx->metrics, "parry_kafka_delivery_errors_total",
                                  "Messages Kafka could not take, after all retries",
                                  "client_id", ctx->client_id, "topic", topic, NULL);
  if (ctx->topics_len < TOPIC_CACHE_MAX) {
    ctx->topics = parry_xreallocarray(ctx->topics, ctx->topics_len + 1, sizeof *ctx->topics);
    ctx->topics[ctx->topics_len++] = (topic_metrics_t){parry_xstrdup(topic), *delivered, *failed};
  }
  pthread_mutex_unlock(&ctx->lock);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  kafka_ctx_t *ctx = opaque;
  const char *topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : "";
  parry_metric_t *delivered = NULL, *failed = NULL;
  if (ctx->metrics) topic_metrics(ctx, topic, &delivered, &failed);

  if (msg->err) {
    unsigned long long n = atomic_fetch_add(&ctx->failed, 1) + 1;
    if (failed) parry_metric_add(failed, 1);
    /* Purged messages were dropped on the application's request (an aborted
     * transaction, rd_kafka_purge): counted, as they were not delivered, but
     * neither logged nor allowed to use up the sampled error lines. */
    bool purged = msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                  msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
    unsigned long long seq = purged ? 0 : atomic_fetch_add(&ctx->dr_logged, 1) + 1;
    if (seq == 1 || (seq && seq % DR_LOG_EVERY == 0))
      LOG_ERROR("could not deliver a message to topic %s partition %d: %s "
                "(%llu delivery errors so far; 1 in %d is logged)",
                topic, (int)msg->partition, rd_kafka_err2str(msg->err), n, DR_LOG_EVERY);
    else if (purged)
      LOG_DEBUG("message to topic %s purged: %s", topic, rd_kafka_err2str(msg->err));
  } else {
    atomic_fetch_add(&ctx->delivered, 1);
    if (delivered) parry_metric_add(delivered, 1);
  }
  if (ctx->dr_cb) ctx->dr_cb(rk, msg, ctx->dr_opaque);
}

/* ------------------------------------------------------------ rebalances */

/* "parry.events[0,1,2] parry.alerts[5]", capped: the line is for humans. */
static void describe_partitions(const rd_kafka_topic_partition_list_t *parts, parry_buf_t *out) {
  const char *topic = NULL;
  for (int i = 0; parts && i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t *p = &parts->elems[i];
    if (!topic || strcmp(topic, p->topic) != 0) {
      if (topic) parry_buf_append_str(out, "] ");
      topic = p->topic;
      parry_buf_printf(out, "%s[%d", p->topic, (int)p->partition);
    } else {
      parry_buf_printf(out, ",%d", (int)p->partition);
    }
  }
  if (topic) parry_buf_append_char(out, ']');
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  kafka_ctx_t *ctx = opaque;
  parry_buf_t desc = PARRY_BUF_INIT(1024);
  describe_partitions(parts, &desc); /* a truncated list is fine */
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
    LOG_INFO("consumer %s: assigned %d partitions: %s", rd_kafka_name(rk), parts ? parts->cnt : 0,
             desc.data ? desc.data : "");
  else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
    LOG_INFO("consumer %s: %s %d partitions: %s", rd_kafka_name(rk),
             rd_kafka_assignment_lost(rk) ? "lost" : "revoked", parts ? parts->cnt : 0,
             desc.data ? desc.data : "");
  else
    LOG_WARN("consumer %s: rebalance failed: %s", rd_kafka_name(rk), rd_kafka_err2str(err));
  parry_buf_free(&desc);

  if (ctx->rebalance_cb) {
    ctx->rebalance_cb(rk, err, parts, ctx->rebalance_opaque);
    return;
  }

  /* What librdkafka does without a callback, for either protocol. */
  bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) error = rd_kafka_incremental_assign(rk, parts);
    else aerr = rd_kafka_assign(rk, parts);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && cooperative) {
    error = rd_kafka_incremental_unassign(rk, parts);
  } else {
    aerr = rd_kafka_assign(rk, NULL);
  }
  if (error) {
    LOG_ERROR("consumer %s: could not apply the new assignment: %s", rd_kafka_name(rk),
              rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  } else if (aerr) {
    LOG_ERROR("consumer %s: could not apply the new assignment: %s", rd_kafka_name(rk),
              rd_kafka_err2str(aerr));
  }
}

/* ------------------------------------------------------------ statistics */

static bool jint(json_object *obj, const char *key, int64_t *out) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, key, &v)) return false;
  if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
    return false;
  *out = json_object_get_int64(v);
  return true;
}

/* Turn an absolute cumulative value into a counter increment. Caller holds
 * ctx->lock. A value going backwards (it cannot, within one client) only
 * resets the baseline. */
static void advance(parry_metric_t *counter, int64_t *last, int64_t now) {
  if (now > *last) parry_metric_add(counter, now - *last);
  *last = now;
}

static void stats_brokers(kafka_ctx_t *ctx, const char *client, json_object *brokers) {
  if (!brokers || !json_object_is_type(brokers, json_type_object)) return;
  struct json_object_iter it;
  json_object_object_foreachC(brokers, it) {
    int64_t nodeid, rtt = 0;
    /* Logical entries (bootstrap servers, the group coordinator) have no
     * node id of their own. */
    if (!jint(it.val, "nodeid", &nodeid) || nodeid < 0) continue;
    char node[24];
    snprintf(node, sizeof node, "%lld", (long long)nodeid);
    json_object *state = NULL, *rttobj = NULL;
    json_object_object_get_ex(it.val, "state", &state);
    bool up = state && strcmp(json_object_get_string(state), "UP") == 0;
    parry_metric_set(parry_metrics_gauge(ctx->metrics, "parry_kafka_broker_up",
                                         "1 when the client's connection to the broker is up",
                                         "client_id", ctx->client_id, "client", client,
                                         "broker", node, NULL),
                     up);
    if (json_object_object_get_ex(it.val, "rtt", &rttobj) && jint(rttobj, "avg", &rtt))
      parry_metric_set(parry_metrics_gauge(ctx->metrics, "parry_kafka_broker_rtt_avg_us",
                                           "Average request round trip to the broker, "
                                           "microseconds (last statistics window)",
                                           "client_id", ctx->client_id, "client", client,
                                           "broker", node, NULL),
                       rtt);
  }
}

static void stats_lag(kafka_ctx_t *ctx, const char *client, json_object *topics) {
  if (!topics || !json_object_is_type(topics, json_type_object)) return;
  struct json_object_iter t;
  json_object_object_foreachC(topics, t) {
    json_object *parts = NULL;
    if (!json_object_object_get_ex(t.val, "partitions", &parts) ||
        !json_object_is_type(parts, json_type_object))
      continue;
    struct json_object_iter p;
    json_object_object_foreachC(parts, p) {
      int64_t partition, lag;
      /* Partition -1 is librdkafka's holder of not yet partitioned messages. */
      if (!jint(p.val, "partition", &partition) || partition < 0) continue;
      json_object *desired = NULL;
      bool assigned = json_object_object_get_ex(p.val, "desired", &desired) &&
                      json_object_get_boolean(desired);
      if (!jint(p.val, "consumer_lag", &lag)) continue;
      /* Unassigned partitions read 0 (their owner reports them); an assigned
       * partition whose lag is not known yet (-1) keeps its last value. */
      if (assigned && lag < 0) continue;
      char num[24];
      snprintf(num, sizeof num, "%lld", (long long)partition);
      parry_metric_set(parry_metrics_gauge(ctx->metrics, "parry_kafka_consumer_lag",
                                           "Messages between this member's position and the "
                                           "end of the partition",
                                           "client_id", ctx->client_id, "client", client,
                                           "topic", t.key, "partition", num, NULL),
                       assigned ? lag : 0);
    }
  }
}

/* Served on the polling thread every statistics.interval.ms. Returns 0: the
 * JSON is librdkafka's to free. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque) {
  kafka_ctx_t *ctx = opaque;
  if (!ctx->metrics) return 0;
  json_tokener *tok = json_tokener_new();
  json_object *root = NULL;
  if (!tok) goto out;
  root = json_tokener_parse_ex(tok, json, json_len > INT32_MAX ? INT32_MAX : (int)json_len);
  if (!root || !json_object_is_type(root, json_type_object)) {
    LOG_DEBUG("Kafka %s %s: could not parse statistics: %s", type_name(ctx->type),
              rd_kafka_name(rk), json_tokener_error_desc(json_tokener_get_error(tok)));
    goto out;
  }

  const char *client = rd_kafka_name(rk);
  int64_t v;
  if (jint(root, "msg_cnt", &v))
    parry_metric_set(parry_metrics_gauge(ctx->metrics, "parry_kafka_msgs_in_queue",
                                         "Messages waiting in the client's queues",
                                         "client_id", ctx->client_id, "client", client, NULL),
                     v);
  if (jint(root, "msg_size", &v))
    parry_metric_set(parry_metrics_gauge(ctx->metrics, "parry_kafka_msg_bytes_in_queue",
                                         "Bytes of the messages waiting in the client's queues",
                                         "client_id", ctx->client_id, "client", client, NULL),
                     v);

  parry_metric_t *txm = parry_metrics_counter(ctx->metrics, "parry_kafka_tx_msgs_total",
                                              "Messages sent to brokers", "client_id",
                                              ctx->client_id, "client", client, NULL);
  parry_metric_t *txb = parry_metrics_counter(ctx->metrics, "parry_kafka_tx_bytes_total",
                                              "Message bytes sent to brokers", "client_id",
                                              ctx->client_id, "client", client, NULL);
  parry_metric_t *rxm = parry_metrics_counter(ctx->metrics, "parry_kafka_rx_msgs_total",
                                              "Messages received from brokers", "client_id",
                                              ctx->client_id, "client", client, NULL);
  parry_metric_t *rxb = parry_metrics_counter(ctx->metrics, "parry_kafka_rx_bytes_total",
                                              "Message bytes received from brokers",
                                              "client_id", ctx->client_id, "client", client,
                                              NULL);
  json_object *cgrp = NULL;
  json_object_object_get_ex(root, "cgrp", &cgrp);

  pthread_mutex_lock(&ctx->lock);
  if (jint(root, "txmsgs", &v)) advance(txm, &ctx->last_txmsgs, v);
  if (jint(root, "txmsg_bytes", &v)) advance(txb, &ctx->last_txbytes, v);
  if (jint(root, "rxmsgs", &v)) advance(rxm, &ctx->last_rxmsgs, v);
  if (jint(root, "rxmsg_bytes", &v)) advance(rxb, &ctx->last_rxbytes, v);
  if (cgrp && jint(cgrp, "rebalance_cnt", &v))
    advance(parry_metrics_counter(ctx->metrics, "parry_kafka_rebalances_total",
                                  "Consumer group rebalances seen by this member", "client_id",
                                  ctx->client_id, "client", client, NULL),
            &ctx->last_rebalances, v);
  pthread_mutex_unlock(&ctx->lock);

  if (cgrp && jint(cgrp, "assignment_size", &v))
    parry_metric_set(parry_metrics_gauge(ctx->metrics, "parry_kafka_assigned_partitions",
                                         "Partitions assigned to this consumer group member",
                                         "client_id", ctx->client_id, "client", client, NULL),
                     v);

  json_object *brokers = NULL, *topics = NULL;
  json_object_object_get_ex(root, "brokers", &brokers);
  stats_brokers(ctx, client, brokers);
  if (ctx->type == RD_KAFKA_CONSUMER && json_object_object_get_ex(root, "topics", &topics))
    stats_lag(ctx, client, topics);

out:
  json_object_put(root);
  if (tok) json_tokener_free(tok);
  return 0;
}

/* ------------------------------------------------------- configuration */

typedef struct {
  const char *name;
  const char *value;
  const char *source;
} user_prop_t;

typedef struct {
  user_prop_t *v;
  size_t len;
} user_props_t;

static void collect_prop(const char *name, const char *value, const char *source,
                         void *opaque) {
  user_props_t *props = opaque;
  props->v = parry_xreallocarray(props->v, props->len + 1, sizeof *props->v);
  props->v[props->len++] = (user_prop_t){name, value, source};
}

static const char *prop_source(const user_props_t *props, const char *name) {
  for (size_t i = 0; i < props->len; i++)
    if (strcmp(props->v[i].name, name) == 0) return props->v[i].source;
  return "the configuration";
}

/* The effective value of a property ("" when unset or unreadable). */
static void conf_value(rd_kafka_conf_t *conf, const char *name, char *out, size_t out_size) {
  size_t size = out_size;
  if (rd_kafka_conf_get(conf, name, out, &size) != RD_KAFKA_CONF_OK) out[0] = '\0';
}

/* Our own settings: a failure is a bug in the calling code, but still an
 * error message rather than an abort. */
static parry_err_t set_own(rd_kafka_conf_t *conf, const char *name, const char *value,
                           const char *origin, char *errstr, size_t errstr_size) {
  char why[512];
  if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "could not set Kafka property %s (%s): %s", name, origin, why);
  return PARRY_OK;
}

static parry_err_t set_pairs(rd_kafka_conf_t *conf, const char *const *pairs,
                             const char *origin, char *errstr, size_t errstr_size) {
  for (size_t i = 0; pairs && pairs[i]; i += 2) {
    if (!pairs[i + 1])
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "Kafka property %s (%s) has no value", pairs[i], origin);
    parry_err_t err = set_own(conf, pairs[i], pairs[i + 1], origin, errstr, errstr_size);
    if (err) return err;
  }
  return PARRY_OK;
}

/* rd_kafka_new's complaints name librdkafka properties ("`acks` must be set to
 * `all` when `enable.idempotence` is true"); say where the user set those. */
static void explain_sources(const char *msg, const user_props_t *props, parry_buf_t *out) {
  bool any = false;
  for (size_t i = 0; i < props->len; i++) {
    const char *name = props->v[i].name;
    size_t len = strlen(name);
    for (const char *p = strstr(msg, name); p; p = strstr(p + 1, name)) {
      char before = p == msg ? ' ' : p[-1], after = p[len];
      bool word_before = before == '.' || before == '_' || (before >= 'a' && before <= 'z');
      bool word_after = after == '.' || after == '_' || (after >= 'a' && after <= 'z');
      if (word_before || word_after) continue;
      parry_buf_printf(out, "%skafka.%s from %s", any ? ", " : " (set: ", name,
                       props->v[i].source);
      any = true;
      break;
    }
  }
  if (any) parry_buf_append_char(out, ')');
}

typedef struct {
  rd_kafka_type_t type;
  const char *client_id;
  int stats_interval_ms;
  const char *const *defaults;
  const char *const *required;
  const char *transactional_id; /* producers */
  const char *group_id;         /* consumers */
} build_opts_t;

/* The one path both constructors share. On success the new client owns conf
 * and ctx is reachable through rd_kafka_opaque(). */
static rd_kafka_t *client_new(const parry_config_t *cfg, const build_opts_t *o,
                              kafka_ctx_t *ctx, char *errstr, size_t errstr_size) {
  rd_kafka_t *rk = NULL;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  user_props_t props = {NULL, 0};
  char **before = NULL;
  size_t nreq = 0;
  char why[512], value[512], tx_before[512];
  parry_err_t err = PARRY_OK;
  const char *kind = type_name(o->type);

  /* Callbacks first: rd_kafka_new() already logs configuration warnings. */
  rd_kafka_conf_set_opaque(conf, ctx);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_stats_cb(conf, stats_cb);
  if (o->type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
  else rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);

  /* 1. Our defaults. Idempotence gives ordered, duplicate-free retries at
   * the price of acks=all, which durability wants anyway; 5 ms of linger
   * batches a busy producer without slowing a quiet one. One produce
   * request in flight per broker: with more, librdkafka can report messages
   * delivered that were never written, when an earlier request fails with a
   * retriable error and a later one is the first write to a partition (see
   * producer_required in ingestor/publish.c, which requires it). A consumer
   * commits only what its service has acted on, and a new group starts from
   * the oldest data so that nothing produced before its first start is
   * lost. */
  static const char *const producer_defaults[] = {
      "enable.idempotence", "true",
      "acks", "all",
      "linger.ms", "5",
      "max.in.flight.requests.per.connection", "1",
      NULL,
  };
  static const char *const consumer_defaults[] = {
      "enable.auto.commit", "false", "auto.offset.reset", "earliest",
      "enable.partition.eof", "false", NULL};
  err = set_pairs(conf, o->type == RD_KAFKA_PRODUCER ? producer_defaults : consumer_defaults,
                  "Parry default", errstr, errstr_size);
  if (err) goto out;
  err = set_own(conf, "client.id", o->client_id ? o->client_id : "parry", "client id",
                errstr, errstr_size);
  if (err) goto out;
  if (o->stats_interval_ms > 0) {
    snprintf(value, sizeof value, "%d", o->stats_interval_ms);
    err = set_own(conf, "statistics.interval.ms", value, "statistics interval", errstr,
                  errstr_size);
    if (err) goto out;
  }
  err = set_pairs(conf, o->defaults, "service default", errstr, errstr_size);
  if (err) goto out;

  /* Remember what the required properties were before the user's settings,
   * to tell later whether the user changed them. */
  for (size_t i = 0; o->required && o->required[i]; i += 2, nreq++)
    if (!o->required[i + 1]) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "Kafka property %s (service requirement) has no value", o->required[i]);
      goto out;
    }
  before = parry_xnew(char *, nreq + 1);
  for (size_t i = 0; i < nreq; i++) {
    conf_value(conf, o->required[2 * i], value, sizeof value);
    before[i] = parry_xstrdup(value);
  }
  conf_value(conf, "transactional.id", tx_before, sizeof tx_before);

  /* 2. Every kafka.* setting, as given. */
  if (cfg) parry_config_foreach_kafka(cfg, collect_prop, &props);
  for (size_t i = 0; i < props.len; i++) {
    const user_prop_t *p = &props.v[i];
    if (rd_kafka_conf_set(conf, p->name, p->value, why, sizeof why) != RD_KAFKA_CONF_OK) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "invalid Kafka property kafka.%s from %s: %s", p->name, p->source, why);
      goto out;
    }
  }

  conf_value(conf, "bootstrap.servers", value, sizeof value);
  if (!value[0]) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "no Kafka brokers configured: set kafka.bootstrap.servers "
                     "(in the configuration file, as PARRY_KAFKA_BOOTSTRAP_SERVERS, or "
                     "with --set kafka.bootstrap.servers=HOST:PORT)");
    goto out;
  }

  /* 3. What the code depends on. */
  if (o->type == RD_KAFKA_CONSUMER) {
    conf_value(conf, "group.id", value, sizeof value);
    if (!value[0]) {
      if (!o->group_id || !o->group_id[0]) {
        err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                         "no consumer group configured: set kafka.group.id");
        goto out;
      }
      err = set_own(conf, "group.id", o->group_id, "consumer group", errstr, errstr_size);
      if (err) goto out;
    }
  }
  if (o->type == RD_KAFKA_PRODUCER) {
    conf_value(conf, "transactional.id", value, sizeof value);
    if (strcmp(value, tx_before) != 0) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "kafka.transactional.id from %s cannot be set: each producer "
                       "instance needs its own transactional id, which the service chooses",
                       prop_source(&props, "transactional.id"));
      goto out;
    }
    if (o->transactional_id) {
      err = set_own(conf, "transactional.id", o->transactional_id, "transactional id", errstr,
                    errstr_size);
      if (err) goto out;
    }
  }
  for (size_t i = 0; i < nreq; i++) {
    const char *name = o->required[2 * i], *want = o->required[2 * i + 1];
    char user[512], norm[512];
    conf_value(conf, name, user, sizeof user);
    err = set_own(conf, name, want, "service requirement", errstr, errstr_size);
    if (err) goto out;
    conf_value(conf, name, norm, sizeof norm);
    if (strcmp(user, before[i]) != 0 && strcmp(user, norm) != 0) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "kafka.%s from %s is \"%s\", but this service requires \"%s\"", name,
                       prop_source(&props, name), user, want);
      goto out;
    }
  }

  /* The effective client.id labels this client's metrics. */
  conf_value(conf, "client.id", value, sizeof value);
  ctx->client_id = parry_xstrdup(value);

  rk = rd_kafka_new(o->type, conf, why, sizeof why);
  if (!rk) {
    parry_buf_t msg = PARRY_BUF_INIT(4096);
    parry_buf_printf(&msg, "could not create Kafka %s: %s", kind, why);
    explain_sources(why, &props, &msg);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", msg.data);
    parry_buf_free(&msg);
    goto out;
  }
  conf = NULL; /* owned by rk from here */

out:
  if (conf) rd_kafka_conf_destroy(conf);
  for (size_t i = 0; before && i < nreq; i++) free(before[i]);
  free(before);
  free(props.v);
  return err ? NULL : rk;
}

rd_kafka_t *parry_kafka_producer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                     const parry_kafka_producer_opts_t *opts, char *errstr,
                                     size_t errstr_size) {
  static const parry_kafka_producer_opts_t none;
  if (!opts) opts = &none;
  kafka_ctx_t *ctx = ctx_new(RD_KAFKA_PRODUCER, metrics);
  ctx->dr_cb = opts->dr_cb;
  ctx->dr_opaque = opts->dr_opaque;

  build_opts_t o = {RD_KAFKA_PRODUCER, opts->client_id, opts->stats_interval_ms,
                    opts->defaults, opts->required, opts->transactional_id, NULL};
  rd_kafka_t *rk = client_new(cfg, &o, ctx, errstr, errstr_size);
  if (!rk) {
    ctx_free(ctx);
    return NULL;
  }
  LOG_INFO("created Kafka producer %s%s%s", rd_kafka_name(rk),
           opts->transactional_id ? " with transactional id " : "",
           opts->transactional_id ? opts->transactional_id : "");
  return rk;
}

rd_kafka_t *parry_kafka_consumer_new(const parry_config_t *cfg, parry_metrics_t *metrics,
                                     const char *group_id,
                                     const parry_kafka_consumer_opts_t *opts, char *errstr,
                                     size_t errstr_size) {
  static const parry_kafka_consumer_opts_t none;
  if (!opts) opts = &none;
  kafka_ctx_t *ctx = ctx_new(RD_KAFKA_CONSUMER, metrics);
  ctx->rebalance_cb = opts->rebalance_cb;
  ctx->rebalance_opaque = opts->rebalance_opaque;

  build_opts_t o = {RD_KAFKA_CONSUMER, opts->client_id, opts->stats_interval_ms,
                    opts->defaults, opts->required, NULL, group_id};
  rd_kafka_t *rk = client_new(cfg, &o, ctx, errstr, errstr_size);
  if (!rk) {
    ctx_free(ctx);
    return NULL;
  }
  /* One queue to poll: rd_kafka_consumer_poll() then also serves errors,
   * statistics and rebalances, so a consumer needs no rd_kafka_poll(). */
  rd_kafka_poll_set_consumer(rk);
  LOG_INFO("created Kafka consumer %s", rd_kafka_name(rk));
  return rk;
}

void parry_kafka_destroy(rd_kafka_t *rk) {
  if (!rk) return;
  kafka_ctx_t *ctx = ctx_of(rk);
  rd_kafka_destroy(rk); /* may still run callbacks, which need ctx */
  ctx_free(ctx);
}

bool parry_kafka_fatal(rd_kafka_t *rk, char *errstr, size_t errstr_size) {
  kafka_ctx_t *ctx = ctx_of(rk);
  if (ctx && atomic_load(&ctx->fatal)) {
    if (errstr && errstr_size) {
      pthread_mutex_lock(&ctx->lock);
      snprintf(errstr, errstr_size, "%s", ctx->fatal_reason);
      pthread_mutex_unlock(&ctx->lock);
    }
    return true;
  }
  /* The error callback runs only when someone polls; ask librdkafka too. */
  char why[400];
  rd_kafka_resp_err_t err = rk ? rd_kafka_fatal_error(rk, why, sizeof why) : 0;
  if (!err) return false;
  if (errstr && errstr_size)
    snprintf(errstr, errstr_size, "%s: %s", rd_kafka_err2name(err), why);
  return true;
}

void parry_kafka_delivery_counts(rd_kafka_t *rk, unsigned long long *delivered,
                                 unsigned long long *failed) {
  kafka_ctx_t *ctx = ctx_of(rk);
  if (delivered) *delivered = ctx ? atomic_load(&ctx->delivered) : 0;
  if (failed) *failed = ctx ? atomic_load(&ctx->failed) : 0;
}

/* ------------------------------------------------------------- topics */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static parry_err_t classify(rd_kafka_resp_err_t err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
  case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
  case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
  case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
  case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    return PARRY_ERR_INVALID;
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
    return PARRY_ERR_TIMEOUT;
  default:
    return PARRY_ERR_EXTERNAL;
  }
}

parry_err_t parry_kafka_create_topics(rd_kafka_t *rk, const parry_kafka_topic_spec_t *specs,
                                      size_t n, int timeout_ms, char *errstr,
                                      size_t errstr_size) {
  parry_err_t err = PARRY_OK;
  rd_kafka_NewTopic_t **topics = NULL;
  rd_kafka_AdminOptions_t *options = NULL;
  rd_kafka_queue_t *queue = NULL;
  rd_kafka_event_t *ev = NULL;
  char why[512];

  if (n == 0) return PARRY_OK;
  if (timeout_ms <= 0)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "could not create topics: timeout must be positive");

  topics = parry_xnew(rd_kafka_NewTopic_t *, n);
  for (size_t i = 0; i < n; i++) {
    const parry_kafka_topic_spec_t *s = &specs[i];
    if (!s->name || !s->name[0] || s->partitions <= 0 ||
        (s->replication_factor <= 0 && s->replication_factor != -1)) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "could not create topic %s: need a name, partitions > 0 and a "
                       "replication factor > 0 (or -1)",
                       s->name ? s->name : "(null)");
      goto out;
    }
    topics[i] = rd_kafka_NewTopic_new(s->name, s->partitions, s->replication_factor, why,
                                      sizeof why);
    if (!topics[i]) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "could not create topic %s: %s",
                       s->name, why);
      goto out;
    }
    for (size_t j = 0; s->config && s->config[j]; j += 2) {
      rd_kafka_resp_err_t e = s->config[j + 1]
                                  ? rd_kafka_NewTopic_set_config(topics[i], s->config[j],
                                                                 s->config[j + 1])
                                  : RD_KAFKA_RESP_ERR__INVALID_ARG;
      if (e) {
        err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                         "could not create topic %s: bad setting %s: %s", s->name,
                         s->config[j], rd_kafka_err2str(e));
        goto out;
      }
    }
  }

  /* The broker waits for the creation to finish (operation timeout) a little
   * less than we wait for its answer (request timeout), so a slow controller
   * yields its own error rather than our timeout. */
  options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  int op_timeout = timeout_ms > 2000 ? timeout_ms - 1000 : timeout_ms / 2;
  if (rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, why, sizeof why) ||
      rd_kafka_AdminOptions_set_operation_timeout(options, op_timeout, why, sizeof why)) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "could not create topics: %s", why);
    goto out;
  }
  queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, topics, n, options, queue);
  /* librdkafka answers by itself when the request times out; the extra
   * second only guards against that answer never coming. */
  ev = rd_kafka_queue_poll(queue, timeout_ms + 1000);
  if (!ev) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_TIMEOUT,
                     "could not create topics: no answer within %d ms", timeout_ms);
    goto out;
  }
  if (rd_kafka_event_error(ev)) {
    err = parry_fail(errstr, errstr_size, classify(rd_kafka_event_error(ev)),
                     "could not create topics: %s", rd_kafka_event_error_string(ev));
    goto out;
  }
  const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
  size_t cnt = 0;
  const rd_kafka_topic_result_t **results =
      res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
  for (size_t i = 0; i < cnt; i++) {
    const char *name = rd_kafka_topic_result_name(results[i]);
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      LOG_INFO("created topic %s", name);
    } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      LOG_DEBUG("topic %s already exists", name);
    } else {
      const char *msg = rd_kafka_topic_result_error_string(results[i]);
      LOG_ERROR("could not create topic %s: %s", name, msg ? msg : rd_kafka_err2str(e));
      if (!err)
        err = parry_fail(errstr, errstr_size, classify(e), "could not create topic %s: %s",
                         name, msg ? msg : rd_kafka_err2str(e));
    }
  }
  if (!err && cnt != n)
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not create topics: %zu results for %zu topics", cnt, n);

out:
  if (ev) rd_kafka_event_destroy(ev);
  if (queue) rd_kafka_queue_destroy(queue);
  if (options) rd_kafka_AdminOptions_destroy(options);
  for (size_t i = 0; topics && i < n; i++)
    if (topics[i]) rd_kafka_NewTopic_destroy(topics[i]);
  free(topics);
  return err;
}

/* Whether one topic is fully led; `why` says what is missing when not. */
static bool topic_ready(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int timeout_ms, char *why,
                        size_t why_size) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  bool ready = false;
  if (e) {
    snprintf(why, why_size, "metadata request failed: %s", rd_kafka_err2str(e));
    return false;
  }
  if (md->topic_cnt != 1) {
    snprintf(why, why_size, "not in the metadata");
  } else if (md->topics[0].err) {
    snprintf(why, why_size, "%s", rd_kafka_err2str(md->topics[0].err));
  } else if (md->topics[0].partition_cnt <= 0) {
    snprintf(why, why_size, "no partitions yet");
  } else {
    ready = true;
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
      const rd_kafka_metadata_partition_t *p = &md->topics[0].partitions[i];
      if (p->err || p->leader < 0) {
        snprintf(why, why_size, "partition %d has no leader%s%s", (int)p->id,
                 p->err ? ": " : "", p->err ? rd_kafka_err2str(p->err) : "");
        ready = false;
        break;
      }
    }
  }
  rd_kafka_metadata_destroy(md);
  return ready;
}

parry_err_t parry_kafka_wait_topics(rd_kafka_t *rk, const char *const *topics, size_t n,
                                    int timeout_ms, char *errstr, size_t errstr_size) {
  parry_err_t err = PARRY_OK;
  rd_kafka_topic_t **rkts = parry_xnew(rd_kafka_topic_t *, n ? n : 1);
  int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  char why[256] = "";

  for (size_t i = 0; i < n; i++) {
    rkts[i] = rd_kafka_topic_new(rk, topics[i], NULL);
    if (!rkts[i]) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "could not look up topic %s: %s",
                       topics[i], rd_kafka_err2str(rd_kafka_last_error()));
      goto out;
    }
  }
  /* Topics found ready stay ready: only the first pending one is asked for
   * at each round. */
  size_t next = 0;
  while (next < n) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_TIMEOUT,
                       "topic %s was not ready within %d ms: %s", topics[next], timeout_ms,
                       why[0] ? why : "no answer");
      goto out;
    }
    if (topic_ready(rk, rkts[next], left > 5000 ? 5000 : (int)left, why, sizeof why)) {
      next++;
      continue;
    }
    left = deadline - now_ms();
    sleep_ms(left > 100 ? 100 : left > 0 ? (int)left : 0);
  }

out:
  for (size_t i = 0; i < n; i++)
    if (rkts[i]) rd_kafka_topic_destroy(rkts[i]);
  free(rkts);
  return err;
}
