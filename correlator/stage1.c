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
#include "parry/codec.h"
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
  rd_kafka_t *consumer, *producer;
  char *events_topic, *alerts_topic, *dlq_topic;
  int batch_size;
  int flush_timeout_ms;
  pthread_t thread;
  bool thread_started;
  atomic_bool stop;
  atomic_bool assigned;
  atomic_bool failed;
  atomic_ullong delivery_failures;
  pthread_mutex_t lock; /* guards fail_why */
  char fail_why[512];
  uint64_t below_seen; /* matcher stats already counted */
  parry_metric_t *events, *below, *dlq_decode, *dlq_schema;
  parry_metric_t *alerts[PARRY_SIGMA_LEVEL_CRITICAL + 1];
  /* per batch */
  rd_kafka_topic_partition_list_t *offsets;
  bool produce_error;
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

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  (void)rk;
  parry_correlator_t *c = opaque;
  if (msg->err) {
    atomic_fetch_add(&c->delivery_failures, 1);
    LOG_ERROR("could not deliver to %s: %s", rd_kafka_topic_name(msg->rkt),
              rd_kafka_err2str(msg->err));
  }
}

/* Produce a copy of value; while the producer's queue is full, waits
 * (serving delivery reports) up to correlator.flush_timeout. */
static void produce(parry_correlator_t *c, const char *topic, const void *key, size_t key_len,
                    const void *value, size_t len, rd_kafka_headers_t *hdrs) {
  for (int waited_ms = 0;; waited_ms += 100) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(c->producer, RD_KAFKA_V_TOPIC(topic),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
                          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return; /* the headers are the producer's now */
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && waited_ms < c->flush_timeout_ms) {
      rd_kafka_poll(c->producer, 100);
      continue;
    }
    LOG_ERROR("could not produce to %s: %s", topic, rd_kafka_err2str(err));
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    c->produce_error = true;
    return;
  }
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

static void dead_letter(parry_correlator_t *c, const rd_kafka_message_t *msg,
                        const char *reason, parry_metric_t *counter) {
  char origin[512];
  snprintf(origin, sizeof origin, "%s/%" PRId32 "/%" PRId64, rd_kafka_topic_name(msg->rkt),
           msg->partition, msg->offset);
  LOG_WARN("dead letter from %s: %s", origin, reason);
  rd_kafka_headers_t *h = rd_kafka_headers_new(3);
  rd_kafka_header_add(h, "parry.reason", -1, reason, -1);
  rd_kafka_header_add(h, "parry.source", -1, "correlator", -1);
  rd_kafka_header_add(h, "parry.origin", -1, origin, -1);
  produce(c, c->dlq_topic, msg->key, msg->key_len, msg->payload, msg->len, h);
  parry_metric_add(counter, 1);
}

static void handle(parry_correlator_t *c, const rd_kafka_message_t *msg) {
  Parry__V1__Event *ev = parry__v1__event__unpack(NULL, msg->len, msg->payload);
  if (!ev) {
    dead_letter(c, msg, "not a protobuf Event", c->dlq_decode);
    return;
  }
  if (ev->schema_version > PARRY_SCHEMA_VERSION) {
    char reason[128];
    snprintf(reason, sizeof reason, "unsupported schema_version %" PRIu32 " (newest known: %d)",
             ev->schema_version, PARRY_SCHEMA_VERSION);
    dead_letter(c, msg, reason, c->dlq_schema);
    parry__v1__event__free_unpacked(ev, NULL);
    return;
  }
  parry_metric_add(c->events, 1);
  alert_ctx_t x = {c, ev};
  parry_detect_event(c->m, c->rs, ev, on_alert, &x);
  parry_sigma_stats_t st;
  parry_sigma_matcher_stats(c->m, &st);
  if (st.below_min_level > c->below_seen) {
    parry_metric_add(c->below, (int64_t)(st.below_min_level - c->below_seen));
    c->below_seen = st.below_min_level;
  }
  parry__v1__event__free_unpacked(ev, NULL);
}

static void note_offset(parry_correlator_t *c, const rd_kafka_message_t *msg) {
  const char *topic = rd_kafka_topic_name(msg->rkt);
  rd_kafka_topic_partition_t *p =
      rd_kafka_topic_partition_list_find(c->offsets, topic, msg->partition);
  if (!p) p = rd_kafka_topic_partition_list_add(c->offsets, topic, msg->partition);
  if (msg->offset + 1 > p->offset) p->offset = msg->offset + 1;
}

static void update_assigned(parry_correlator_t *c) {
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(c->consumer, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
    atomic_store(&c->assigned, a->cnt > 0);
    rd_kafka_topic_partition_list_destroy(a);
  }
}

/* Flush what the batch produced and commit its offsets. false: stop. */
static bool finish_batch(parry_correlator_t *c) {
  rd_kafka_resp_err_t err = rd_kafka_flush(c->producer, c->flush_timeout_ms);
  if (err) {
    set_failed(c, "alerts not acknowledged within correlator.flush_timeout (%d ms): %s; "
                  "offsets not committed",
               c->flush_timeout_ms, rd_kafka_err2str(err));
    return false;
  }
  if (atomic_load(&c->delivery_failures) || c->produce_error) {
    set_failed(c, "messages could not be delivered; offsets not committed");
    return false;
  }
  if (c->offsets->cnt) {
    err = rd_kafka_commit(c->consumer, c->offsets, 0);
    if (err)
      /* e.g. the partitions were revoked: another member re-reads them and
       * produces the same alert ids, which downstream deduplicates. */
      LOG_WARN("could not commit offsets: %s", rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(c->offsets);
  c->offsets = rd_kafka_topic_partition_list_new(8);
  return true;
}

static void *worker(void *arg) {
  parry_correlator_t *c = arg;
  parry_log_action("correlating");
  while (!atomic_load(&c->stop)) {
    int n = 0;
    while (n < c->batch_size && !atomic_load(&c->stop)) {
      rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->consumer, n ? 0 : POLL_MS);
      if (!msg) break;
      if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          LOG_WARN("consumer: %s", rd_kafka_message_errstr(msg));
        rd_kafka_message_destroy(msg);
        if (n == 0) break;
        continue;
      }
      handle(c, msg);
      note_offset(c, msg);
      rd_kafka_message_destroy(msg);
      n++;
    }
    update_assigned(c);
    rd_kafka_poll(c->producer, 0);
    if (n && !finish_batch(c)) break;
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
           "%zu correlation rules kept (not evaluated until correlator part 2)",
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

static parry_err_t load_rules(parry_correlator_t *c, char *errstr, size_t errstr_size) {
  const char *rules = parry_config_str(c->cfg, "correlator.rules");
  char *copy = parry_xstrdup(rules);
  const char **paths = NULL;
  size_t n = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ' || *tok == '\t') tok++;
    char *end = tok + strlen(tok);
    while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
    if (!*tok) continue;
    paths = parry_xreallocarray(paths, n + 1, sizeof *paths);
    paths[n++] = tok;
  }
  parry_err_t rc = PARRY_OK;
  if (!n) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                    "correlator.rules: no rule path given (comma-separated files or folders)");
    goto out;
  }
  parry_sigma_options_t opt = {0};
  const char *lvl = parry_config_str(c->cfg, "correlator.min_level");
  if (strcmp(lvl, "none") != 0 && !parry_sigma_level_parse(lvl, &opt.min_level)) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "correlator.min_level: \"%s\"", lvl);
    goto out;
  }
  const char *ph = parry_config_str(c->cfg, "correlator.placeholders");
  const char *fm = parry_config_str(c->cfg, "correlator.field_map");
  if (*ph) opt.placeholders_path = ph;
  if (*fm) opt.field_map_path = fm;
  parry_sigma_report_t rep = {0};
  char err[512];
  c->rs = parry_sigma_load(paths, n, &opt, &rep, err, sizeof err);
  if (!c->rs) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "correlator.rules: %s", err);
    parry_sigma_report_free(&rep);
    goto out;
  }
  log_report(&rep, c->rs);
  parry_metric_set(parry_metrics_gauge(c->metrics, "parry_correlator_rules_loaded",
                                       "Sigma detection rules loaded", NULL),
                   (int64_t)parry_sigma_rule_count(c->rs));
  parry_metric_set(parry_metrics_gauge(c->metrics, "parry_correlator_rules_rejected",
                                       "Sigma rule documents rejected at load", NULL),
                   (int64_t)rep.rejected);
  size_t loaded = parry_sigma_rule_count(c->rs);
  parry_sigma_report_free(&rep);
  if (!loaded) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                    "correlator.rules: no detection rule loaded from \"%s\"", rules);
    goto out;
  }
  c->m = parry_sigma_matcher_new(c->rs);
out:
  free(paths);
  free(copy);
  return rc;
}

static void destroy(parry_correlator_t *c) {
  if (c->consumer) parry_kafka_destroy(c->consumer);
  if (c->producer) parry_kafka_destroy(c->producer);
  if (c->m) parry_sigma_matcher_destroy(c->m);
  if (c->rs) parry_sigma_ruleset_destroy(c->rs);
  if (c->offsets) rd_kafka_topic_partition_list_destroy(c->offsets);
  free(c->events_topic);
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
  c->batch_size = (int)parry_config_int(cfg, "correlator.batch_size");
  c->flush_timeout_ms = (int)parry_config_int(cfg, "correlator.flush_timeout");
  c->offsets = rd_kafka_topic_partition_list_new(8);
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
  parry_err_t rc = load_rules(c, errstr, errstr_size);
  if (rc) goto fail;

  char err[512];
  const parry_kafka_producer_opts_t popts = {
      .client_id = "parry-correlator", .dr_cb = on_delivery, .dr_opaque = c};
  c->producer = parry_kafka_producer_new(cfg, metrics, &popts, err, sizeof err);
  if (!c->producer) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  const parry_kafka_consumer_opts_t copts = {.client_id = "parry-correlator"};
  c->consumer = parry_kafka_consumer_new(cfg, metrics, parry_config_str(cfg, "correlator.group"),
                                         &copts, err, sizeof err);
  if (!c->consumer) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, c->events_topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t kerr = rd_kafka_subscribe(c->consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (kerr) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "topics.events: subscribe to \"%s\": %s",
                    c->events_topic, rd_kafka_err2str(kerr));
    goto fail;
  }
  if (pthread_create(&c->thread, NULL, worker, c)) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not start the worker thread");
    goto fail;
  }
  c->thread_started = true;
  *out = c;
  return PARRY_OK;
fail:
  if (c->consumer) rd_kafka_consumer_close(c->consumer);
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
  int rc = atomic_load(&c->failed) ? 1 : 0;
  /* The worker finished its last batch; anything still queued (after a
   * failure) gets one more bounded chance, but its offsets stay uncommitted. */
  if (rd_kafka_flush(c->producer, c->flush_timeout_ms)) {
    LOG_ERROR("stop: %d messages not acknowledged", rd_kafka_outq_len(c->producer));
    rc = 1;
  }
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->consumer);
  if (err) LOG_WARN("closing the consumer: %s", rd_kafka_err2str(err));
  destroy(c);
  return rc;
}
