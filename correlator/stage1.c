#include "stage1.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "detect.h"
#include "dlq.h"
#include "parry/codec.h"
#include "txn.h"
#include "window/correlate.h"
#include "parry/kafka.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "sigma/sigma.h"

#define MAX_LOGGED_REJECTIONS 20 /* then a summary line */
#define POLL_MS 200

struct parry_correlator {
  const parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_sigma_ruleset_t *rs;
  parry_sigma_matcher_t *m;
  parry_corr_set_t *set; /* NULL: no correlation rule, no signals */
  rd_kafka_t *consumer, *producer;
  parry_txn_t txn;
  char *events_topic, *alerts_topic, *dlq_topic, *signals_topic;
  int batch_size;
  int commit_interval_ms;
  int flush_timeout_ms;
  pthread_t thread;
  bool thread_started;
  atomic_bool stop;
  atomic_bool assigned;
  atomic_bool failed;
  pthread_mutex_t lock; /* guards fail_why */
  char fail_why[512];
  uint64_t below_seen; /* matcher stats already counted */
  parry_metric_t *events, *below, *dlq_decode, *dlq_schema, *signals, *aborted;
  parry_metric_t *alerts[PARRY_SIGMA_LEVEL_CRITICAL + 1];
};

static void set_failed(parry_correlator_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_failed(parry_correlator_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&c->lock);
  vsnprintf(c->fail_why, sizeof c->fail_why, fmt, ap);
  LOG_ERROR("%s", c->fail_why);
  pthread_mutex_unlock(&c->lock);
  va_end(ap);
  atomic_store(&c->failed, true);
}

static void produce(parry_correlator_t *c, const char *topic, const void *key, size_t key_len,
                    const void *value, size_t len, rd_kafka_headers_t *hdrs) {
  parry_txn_produce(&c->txn, topic, RD_KAFKA_PARTITION_UA, key, key_len, value, len, hdrs);
}

/* The entity of an event: source.ip, else host.name, else user.name. */
static const char *entity(const Parry__V1__Event *ev, char *buf, size_t buf_size, size_t *len) {
  static const char *const paths[] = {"source.ip", "host.name", "user.name"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    parry_field_t f;
    if (parry_event_get(ev, paths[i], &f) == PARRY_FIELD_ABSENT) continue;
    const char *t = parry_field_text(&f, buf, buf_size, len);
    if (t && *len) return t;
  }
  *len = 0;
  return "";
}

typedef struct {
  parry_correlator_t *c;
  const Parry__V1__Event *ev;
} alert_ctx_t;

static void on_alert(void *opaque, const Parry__V1__Alert *alert) {
  alert_ctx_t *x = opaque;
  parry_correlator_t *c = x->c;
  size_t n = protobuf_c_message_get_packed_size(&alert->base);
  uint8_t *buf = parry_xmalloc(n ? n : 1);
  protobuf_c_message_pack(&alert->base, buf);
  char ebuf[PARRY_FIELD_TEXT_MAX];
  size_t elen;
  const char *ent = entity(x->ev, ebuf, sizeof ebuf, &elen);
  size_t rlen = strlen(alert->rule_id);
  char *key = parry_xmalloc(rlen + 1 + elen + 1);
  memcpy(key, alert->rule_id, rlen);
  key[rlen] = '|';
  memcpy(key + rlen + 1, ent, elen);
  key[rlen + 1 + elen] = '\0';
  produce(c, c->alerts_topic, key, rlen + 1 + elen, buf, n, NULL);
  free(key);
  free(buf);
  parry_sigma_level_t level = PARRY_SIGMA_LEVEL_NONE;
  parry_sigma_level_parse(alert->rule_level, &level);
  parry_metric_add(c->alerts[level], 1);
}

/* A correlation Signal to topics.signals, keyed by correlation rule and
 * group-by values: the producer's consistent partitioner (required at
 * start) sends every signal of a key to one partition, which stage 2 relies
 * on for its changelog. */
static void on_signal(void *opaque, const Parry__V1__Signal *sig, const char *key) {
  parry_correlator_t *c = ((alert_ctx_t *)opaque)->c;
  size_t n = protobuf_c_message_get_packed_size(&sig->base);
  uint8_t *buf = parry_xmalloc(n ? n : 1);
  protobuf_c_message_pack(&sig->base, buf);
  produce(c, c->signals_topic, key, strlen(key), buf, n, NULL);
  free(buf);
}

static void dead_letter(parry_correlator_t *c, const rd_kafka_message_t *msg,
                        const char *reason, parry_metric_t *counter) {
  parry_dlq_send(&c->txn, c->dlq_topic, msg, reason, "");
  parry_metric_add(counter, 1);
}

static void handle(parry_correlator_t *c, const rd_kafka_message_t *msg) {
  Parry__V1__Event *ev = parry__v1__event__unpack(NULL, msg->len, msg->payload);
  if (!ev) {
    dead_letter(c, msg, "not a protobuf Event", c->dlq_decode);
    return;
  }
  char too_new[128];
  if (parry_dlq_schema_too_new(ev->schema_version, too_new, sizeof too_new)) {
    dead_letter(c, msg, too_new, c->dlq_schema);
    parry__v1__event__free_unpacked(ev, NULL);
    return;
  }
  parry_metric_add(c->events, 1);
  alert_ctx_t x = {c, ev};
  size_t n_signals = 0;
  parry_detect_event_full(c->m, c->rs, c->set, ev, on_alert, c->set ? on_signal : NULL, &x,
                          &n_signals);
  parry_metric_add(c->signals, (int64_t)n_signals);
  parry_sigma_stats_t st;
  parry_sigma_matcher_stats(c->m, &st);
  if (st.below_min_level > c->below_seen) {
    parry_metric_add(c->below, (int64_t)(st.below_min_level - c->below_seen));
    c->below_seen = st.below_min_level;
  }
  parry__v1__event__free_unpacked(ev, NULL);
}

static void update_assigned(parry_correlator_t *c) {
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(c->consumer, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
    atomic_store(&c->assigned, a->cnt > 0);
    rd_kafka_topic_partition_list_destroy(a);
  }
}

/* Commit the open transaction: its alerts, signals and dead letters with the
 * offsets of its events. Aborted: re-read from the committed offsets (the
 * same events give the same output). false: stop. */
static bool finish_batch(parry_correlator_t *c) {
  char why[512];
  switch (parry_txn_commit(&c->txn, why, sizeof why)) {
  case PARRY_TXN_OK:
    return true;
  case PARRY_TXN_ABORTED:
    parry_metric_add(c->aborted, 1);
    LOG_WARN("stage 1: transaction aborted (%s); re-reading from the committed offsets", why);
    if (parry_txn_rewind(c->consumer, c->flush_timeout_ms, why, sizeof why)) {
      set_failed(c, "after an aborted transaction: %s", why);
      return false;
    }
    return true;
  case PARRY_TXN_FATAL:
  default:
    set_failed(c, "stage 1 transaction: %s", why);
    return false;
  }
}

/* Revocation: what was done while the partitions were ours commits now
 * (under the old generation); a lost assignment aborts, and the next owner
 * re-reads. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  parry_correlator_t *c = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    if (aerr) set_failed(c, "could not assign partitions: %s", rd_kafka_err2str(aerr));
    atomic_store(&c->assigned, parts && parts->cnt > 0);
    return;
  }
  if (c->txn.open) {
    char why[512];
    parry_txn_result_t r = parry_txn_end_at_revocation(&c->txn, why, sizeof why);
    if (r == PARRY_TXN_ABORTED) {
      parry_metric_add(c->aborted, 1);
      LOG_WARN("stage 1: transaction aborted at revocation (%s); the next owner re-reads", why);
    } else if (r == PARRY_TXN_FATAL) {
      set_failed(c, "stage 1 transaction at revocation: %s", why);
    }
  }
  rd_kafka_assign(rk, NULL);
  atomic_store(&c->assigned, false);
}

static void *worker(void *arg) {
  parry_correlator_t *c = arg;
  parry_log_action("correlating");
  while (!atomic_load(&c->stop) && !atomic_load(&c->failed)) {
    int timeout = POLL_MS;
    if (c->txn.open) {
      int64_t left = c->txn.opened_ms + c->commit_interval_ms - parry_txn_now_ms();
      timeout = left > 0 ? (int)(left < POLL_MS ? left : POLL_MS) : 0;
    }
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->consumer, timeout);
    if (msg && (atomic_load(&c->stop) || atomic_load(&c->failed))) {
      rd_kafka_message_destroy(msg);
      break;
    }
    if (msg && msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        LOG_WARN("consumer: %s", rd_kafka_message_errstr(msg));
      rd_kafka_message_destroy(msg);
      msg = NULL;
    }
    if (msg) {
      char why[512];
      if (!parry_txn_begin(&c->txn, why, sizeof why)) {
        rd_kafka_message_destroy(msg);
        set_failed(c, "stage 1: %s", why);
        break;
      }
      handle(c, msg);
      parry_txn_note(&c->txn, msg);
      rd_kafka_message_destroy(msg);
    }
    update_assigned(c);
    /* Commit when the batch is full or its time is up (the poll above waits
     * no longer than that): commit_interval bounds an alert's latency. */
    if (c->txn.open && (c->txn.consumed >= (size_t)c->batch_size ||
                        parry_txn_now_ms() - c->txn.opened_ms >= c->commit_interval_ms))
      if (!finish_batch(c)) break;
    char why[256];
    if (parry_kafka_fatal(c->producer, why, sizeof why) ||
        parry_kafka_fatal(c->consumer, why, sizeof why)) {
      set_failed(c, "fatal Kafka client error: %s", why);
      break;
    }
  }
  return NULL;
}

static void log_report(const parry_sigma_report_t *rep, const parry_sigma_ruleset_t *rs) {
  LOG_INFO("rules: %zu files, %zu documents, %zu rules and %zu filters loaded, %zu rejected, "
           "%zu correlation rules",
           rep->files, rep->documents, rep->rules_loaded, rep->filters_loaded, rep->rejected,
           rs ? parry_sigma_correlation_count(rs) : 0);
  for (size_t i = 0; i < rep->n_rejections; i++) {
    if (i == MAX_LOGGED_REJECTIONS) {
      LOG_WARN("... and %zu more rejected rules (see `parry rules check`)",
               rep->n_rejections - i);
      break;
    }
    const parry_sigma_rejection_t *x = &rep->rejections[i];
    LOG_WARN("rule rejected: %s:%u:%u %s: %s: %s", x->file ? x->file : "?", x->line, x->column,
             x->rule_id ? x->rule_id : "(no id)", parry_sigma_reject_reason_str(x->reason),
             x->message ? x->message : "");
  }
}

parry_sigma_ruleset_t *parry_correlator_load_rules(const parry_config_t *cfg,
                                                   parry_metrics_t *metrics, char *errstr,
                                                   size_t errstr_size) {
  const char *rules = parry_config_str(cfg, "correlator.rules");
  char *copy = parry_xstrdup(rules);
  const char **paths = NULL;
  size_t n = 0;
  parry_sigma_ruleset_t *rs = NULL;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ' || *tok == '\t') tok++;
    char *end = tok + strlen(tok);
    while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
    if (!*tok) continue;
    paths = parry_xreallocarray(paths, n + 1, sizeof *paths);
    paths[n++] = tok;
  }
  if (!n) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
               "correlator.rules: no rule path given (comma-separated files or folders)");
    goto out;
  }
  parry_sigma_options_t opt = {0};
  const char *lvl = parry_config_str(cfg, "correlator.min_level");
  if (strcmp(lvl, "none") != 0 && !parry_sigma_level_parse(lvl, &opt.min_level)) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "correlator.min_level: \"%s\"", lvl);
    goto out;
  }
  const char *ph = parry_config_str(cfg, "correlator.placeholders");
  const char *fm = parry_config_str(cfg, "correlator.field_map");
  if (*ph) opt.placeholders_path = ph;
  if (*fm) opt.field_map_path = fm;
  parry_sigma_report_t rep = {0};
  char err[512];
  rs = parry_sigma_load(paths, n, &opt, &rep, err, sizeof err);
  if (!rs) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "correlator.rules: %s", err);
    parry_sigma_report_free(&rep);
    goto out;
  }
  if (metrics) {
    log_report(&rep, rs);
    parry_metric_set(parry_metrics_gauge(metrics, "parry_correlator_rules_loaded",
                                         "Sigma detection rules loaded", NULL),
                     (int64_t)parry_sigma_rule_count(rs));
    parry_metric_set(parry_metrics_gauge(metrics, "parry_correlator_rules_rejected",
                                         "Sigma rule documents rejected at load", NULL),
                     (int64_t)rep.rejected);
  }
  size_t loaded = parry_sigma_rule_count(rs);
  parry_sigma_report_free(&rep);
  if (!loaded) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
               "correlator.rules: no detection rule loaded from \"%s\"", rules);
    parry_sigma_ruleset_destroy(rs);
    rs = NULL;
  }
out:
  free(paths);
  free(copy);
  return rs;
}

/* The correlation rules, when there are any: their detection rules then
 * give signals, and alert only if a rule says `generate: true`. */
static parry_err_t compile_correlations(parry_correlator_t *c, char *errstr,
                                        size_t errstr_size) {
  if (!parry_sigma_correlation_count(c->rs)) return PARRY_OK;
  parry_sigma_report_t rep = {0};
  char err[512];
  c->set = parry_corr_compile(c->rs, &rep, err, sizeof err);
  for (size_t i = 0; i < rep.n_rejections && i < MAX_LOGGED_REJECTIONS; i++) {
    const parry_sigma_rejection_t *x = &rep.rejections[i];
    LOG_WARN("correlation rule rejected: %s:%u:%u %s: %s", x->file ? x->file : "?", x->line,
             x->column, x->rule_id ? x->rule_id : "(no id)", x->message ? x->message : "");
  }
  parry_sigma_report_free(&rep);
  if (!c->set)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "correlation rules: %s", err);
  LOG_INFO("stage 1: %zu correlation rules; their signals go to %s",
           parry_corr_set_count(c->set), c->signals_topic);
  if (!parry_corr_set_count(c->set)) {
    parry_corr_set_destroy(c->set);
    c->set = NULL;
  }
  return PARRY_OK;
}

static void destroy(parry_correlator_t *c) {
  if (c->consumer) parry_kafka_destroy(c->consumer);
  if (c->producer) parry_kafka_destroy(c->producer);
  parry_txn_free(&c->txn);
  if (c->m) parry_sigma_matcher_destroy(c->m);
  if (c->set) parry_corr_set_destroy(c->set);
  if (c->rs) parry_sigma_ruleset_destroy(c->rs);
  free(c->events_topic);
  free(c->signals_topic);
  free(c->alerts_topic);
  free(c->dlq_topic);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

parry_err_t parry_correlator_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                                   parry_correlator_t **out, char *errstr, size_t errstr_size) {
  parry_correlator_t *c = parry_xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  c->cfg = cfg;
  c->metrics = metrics;
  c->events_topic = parry_xstrdup(parry_config_str(cfg, "topics.events"));
  c->alerts_topic = parry_xstrdup(parry_config_str(cfg, "topics.alerts"));
  c->dlq_topic = parry_xstrdup(parry_config_str(cfg, "topics.dlq"));
  c->signals_topic = parry_xstrdup(parry_config_str(cfg, "topics.signals"));
  c->batch_size = (int)parry_config_int(cfg, "correlator.batch_size");
  c->commit_interval_ms = (int)parry_config_int(cfg, "correlator.commit_interval");
  c->flush_timeout_ms = (int)parry_config_int(cfg, "correlator.flush_timeout");
  c->signals = parry_metrics_counter(metrics, "parry_correlator_signals_produced_total",
                                     "Correlation signals produced to topics.signals", NULL);
  c->aborted = parry_metrics_counter(metrics, "parry_correlator_transactions_aborted_total",
                                     "Transactions aborted (their input is re-read)", "stage",
                                     "detect", NULL);
  c->events = parry_metrics_counter(metrics, "parry_correlator_events_total",
                                    "Events decoded and evaluated", NULL);
  c->below = parry_metrics_counter(metrics, "parry_correlator_below_min_level_total",
                                   "Matches below correlator.min_level (no alert)", NULL);
  c->dlq_decode = parry_metrics_counter(metrics, "parry_correlator_dlq_total",
                                        "Messages of topics.events sent to topics.dlq",
                                        "reason", "decode", NULL);
  c->dlq_schema = parry_metrics_counter(metrics, "parry_correlator_dlq_total",
                                        "Messages of topics.events sent to topics.dlq",
                                        "reason", "schema_version", NULL);
  for (int l = PARRY_SIGMA_LEVEL_NONE; l <= PARRY_SIGMA_LEVEL_CRITICAL; l++) {
    const char *name = parry_sigma_level_str((parry_sigma_level_t)l);
    c->alerts[l] = parry_metrics_counter(metrics, "parry_correlator_alerts_total",
                                         "Alerts produced to topics.alerts, by rule level",
                                         "level", *name ? name : "none", NULL);
  }
  parry_err_t rc = PARRY_OK;
  char err[1024];
  c->rs = parry_correlator_load_rules(cfg, metrics, err, sizeof err);
  if (!c->rs) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  c->m = parry_sigma_matcher_new(c->rs);
  rc = compile_correlations(c, errstr, errstr_size);
  if (rc) goto fail;

  /* Transactional: alerts, signals and dead letters of a batch commit with
   * its offsets. The consistent partitioner puts every signal of one key on
   * one partition of topics.signals (stage 2 computes the same). */
  const char *group = parry_config_str(cfg, "correlator.group");
  char txn_id[512];
  static const char *const partitioner[] = {"partitioner", "consistent_random", NULL};
  c->producer = parry_txn_producer_new(cfg, metrics, group, "detect", "parry-correlator",
                                       partitioner, txn_id, sizeof txn_id, err, sizeof err);
  if (!c->producer) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  /* Eager assignment: the rebalance callback assigns and revokes whole sets. */
  c->consumer = parry_txn_consumer_new(cfg, metrics, group, "parry-correlator", on_rebalance, c,
                                       err, sizeof err);
  if (!c->consumer) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  parry_txn_init(&c->txn, c->producer, c->consumer, c->flush_timeout_ms);
  if (parry_txn_start(&c->txn, err, sizeof err)) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "transactional id %s: %s", txn_id,
                    err);
    goto fail;
  }
  rc = parry_txn_subscribe(c->consumer, "topics.events", c->events_topic, errstr, errstr_size);
  if (rc) goto fail;
  if (pthread_create(&c->thread, NULL, worker, c)) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not start the worker thread");
    goto fail;
  }
  c->thread_started = true;
  *out = c;
  return PARRY_OK;
fail:
  if (c->consumer) rd_kafka_consumer_close(c->consumer);
  if (c->txn.open) {
    char why[256];
    parry_txn_abort(&c->txn, why, sizeof why);
  }
  destroy(c);
  return rc;
}

bool parry_correlator_ready(parry_correlator_t *c, char *why, size_t why_size) {
  if (atomic_load(&c->failed)) {
    parry_correlator_failed(c, why, why_size);
    return false;
  }
  if (!atomic_load(&c->assigned)) {
    snprintf(why, why_size, "no partition of %s assigned yet (group %s)", c->events_topic,
             parry_config_str(c->cfg, "correlator.group"));
    return false;
  }
  return true;
}

bool parry_correlator_failed(parry_correlator_t *c, char *why, size_t why_size) {
  if (!atomic_load(&c->failed)) return false;
  if (why) {
    pthread_mutex_lock(&c->lock);
    snprintf(why, why_size, "%s", c->fail_why);
    pthread_mutex_unlock(&c->lock);
  }
  return true;
}

int parry_correlator_stop(parry_correlator_t *c) {
  if (!c) return 0;
  atomic_store(&c->stop, true);
  if (c->thread_started) pthread_join(c->thread, NULL);
  /* The worker may have left a batch open: commit it (the worker is gone,
   * this thread owns the clients now). */
  if (!atomic_load(&c->failed) && c->txn.open) {
    char why[512];
    if (parry_txn_commit(&c->txn, why, sizeof why) != PARRY_TXN_OK)
      LOG_WARN("stage 1: last transaction not committed (%s); its events will be re-read", why);
  }
  int rc = atomic_load(&c->failed) ? 1 : 0;
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->consumer);
  if (err) LOG_WARN("closing the consumer: %s", rd_kafka_err2str(err));
  if (c->txn.open) {
    char why[256];
    parry_txn_abort(&c->txn, why, sizeof why);
  }
  destroy(c);
  return rc;
}
