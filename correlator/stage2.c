#include "stage2.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "dlq.h"
#include "parry/buf.h"
#include "parry/codec.h"
#include "parry/kafka.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "sigma/sigma.h"
#include "stage1.h"
#include "txn.h"
#include "window/correlate.h"

#define POLL_MS 100
#define TICK_MS 1000 /* how often idle reorder buffers are looked at */
/* A loop that did not come round for STALL_MS was stopped (SIGSTOP, a VM
 * pause, swapping): to this process every key then looks idle and the
 * commit interval is long past, while the group may have given its
 * partitions to another member already. For TICK_PAUSE_MS after that no
 * tick runs and nothing commits, so that the consumer reports the lost
 * assignment first (librdkafka sees the expired session at once) and the
 * open transaction is aborted, instead of stale state, alerts or offsets
 * being committed by a client that may have forgotten its generation. */
#define STALL_MS 2000
#define TICK_PAUSE_MS 5000

struct parry_corr_stage2 {
  const parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_sigma_ruleset_t *rs;
  parry_corr_set_t *set;
  parry_corr_engine_t *engine;
  rd_kafka_t *consumer, *producer, *restorer;
  parry_txn_t txn;
  char *signals_topic, *state_topic, *alerts_topic, *dlq_topic, *group;
  int32_t n_partitions;
  bool *owned; /* by partition number; worker thread only */
  int batch_size, commit_interval_ms, timeout_ms, restore_timeout_ms;
  parry_sigma_level_t min_level; /* correlation alerts below it are dropped */
  pthread_t thread;
  bool thread_started;
  atomic_bool stop, failed, ready;
  pthread_mutex_t lock; /* guards fail_why */
  char fail_why[512];
  parry_corr_stats_t seen; /* engine counters already added to metrics */
  int64_t last_tick_ms;
  int64_t last_loop_ms;    /* the worker's last time round (stall detection) */
  int64_t tick_paused_ms;  /* no tick before this (after a stall) */
  parry_metric_t *m_signals, *m_alerts, *m_suppressed, *m_late, *m_evicted, *m_expired,
      *m_state, *m_keys, *m_bytes, *m_restore_ms, *m_restored, *m_aborted, *m_dlq_decode,
      *m_dlq_schema, *m_dlq_engine, *m_below;
};

static void set_failed(parry_corr_stage2_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_failed(parry_corr_stage2_t *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&s->lock);
  vsnprintf(s->fail_why, sizeof s->fail_why, fmt, ap);
  LOG_ERROR("stage 2: %s", s->fail_why);
  pthread_mutex_unlock(&s->lock);
  va_end(ap);
  atomic_store(&s->failed, true);
  atomic_store(&s->stop, true);
}

/* The partition of topics.signals a key hashes to: librdkafka's
 * consistent partitioner (CRC32 of the key), which stage 1's producer is
 * required to use, so state records land beside their signals. */
static int32_t partition_of(const parry_corr_stage2_t *s, const char *key) {
  return rd_kafka_msg_partitioner_consistent(NULL, key, strlen(key), s->n_partitions, NULL, NULL);
}

/* The engine's idle-expiry clock of a key: its partition. */
static uint32_t partition_clock(void *opaque, const char *key, size_t key_len) {
  const parry_corr_stage2_t *s = opaque;
  return (uint32_t)rd_kafka_msg_partitioner_consistent(NULL, key, key_len, s->n_partitions, NULL,
                                                       NULL);
}

/* ----------------------------------------------------------- the sink */

static void on_alert(void *opaque, const Parry__V1__Alert *alert) {
  parry_corr_stage2_t *s = opaque;
  /* correlator.min_level applies to correlation alerts by their own rule's
   * level (stage 1 signals whatever the detection rule's level). */
  parry_sigma_level_t level = PARRY_SIGMA_LEVEL_NONE;
  parry_sigma_level_parse(alert->rule_level, &level);
  if (level < s->min_level) {
    parry_metric_add(s->m_below, 1);
    return;
  }
  size_t n = protobuf_c_message_get_packed_size(&alert->base);
  uint8_t *buf = parry_xmalloc(n ? n : 1);
  protobuf_c_message_pack(&alert->base, buf);
  parry_buf_t key = PARRY_BUF_INIT(128);
  parry_buf_append_str(&key, alert->rule_id ? alert->rule_id : "");
  parry_buf_append_char(&key, '|');
  for (size_t i = 0; i < alert->n_group_by; i++) {
    if (i) parry_buf_append_char(&key, ',');
    const Parry__V1__Label *l = alert->group_by[i];
    parry_buf_append_str(&key, l->value ? l->value : "");
  }
  parry_txn_produce(&s->txn, s->alerts_topic, RD_KAFKA_PARTITION_UA, key.data, key.len, buf, n,
                    NULL);
  parry_buf_free(&key);
  free(buf);
}

static void on_state(void *opaque, const char *key, const uint8_t *bytes, size_t len) {
  parry_corr_stage2_t *s = opaque;
  int32_t p = partition_of(s, key);
  if (!s->owned[p])
    LOG_WARN("stage 2: state of key %s belongs to partition %d, not owned here", key, (int)p);
  parry_txn_produce(&s->txn, s->state_topic, p, key, strlen(key), bytes, bytes ? len : 0, NULL);
  parry_metric_add(s->m_state, 1);
}

/* A chained correlation's signal (an alert of one correlation rule used by
 * another) under the other rule's key: back to topics.signals, in the same
 * transaction, for whichever replica owns that key. */
static void on_resignal(void *opaque, const Parry__V1__Signal *sig, const char *key) {
  parry_corr_stage2_t *s = opaque;
  size_t n = protobuf_c_message_get_packed_size(&sig->base);
  uint8_t *buf = parry_xmalloc(n ? n : 1);
  protobuf_c_message_pack(&sig->base, buf);
  parry_txn_produce(&s->txn, s->signals_topic, partition_of(s, key), key, strlen(key), buf, n,
                    NULL);
  free(buf);
}

/* ------------------------------------------------------------ metrics */

static void add_delta(parry_metric_t *m, uint64_t now, uint64_t *seen) {
  if (now > *seen) parry_metric_add(m, (int64_t)(now - *seen));
  *seen = now;
}

static void update_metrics(parry_corr_stage2_t *s) {
  parry_corr_stats_t st;
  parry_corr_engine_stats(s->engine, &st);
  add_delta(s->m_alerts, st.alerts, &s->seen.alerts);
  add_delta(s->m_suppressed, st.suppressed, &s->seen.suppressed);
  add_delta(s->m_late, st.late, &s->seen.late);
  add_delta(s->m_evicted, st.evicted, &s->seen.evicted);
  add_delta(s->m_expired, st.expired, &s->seen.expired);
  parry_metric_set(s->m_keys, (int64_t)st.keys);
  parry_metric_set(s->m_bytes, (int64_t)st.bytes);
}

/* ------------------------------------------------------ state restore */

typedef struct {
  char *key;
  uint8_t *value; /* NULL: tombstone */
  size_t len;
  size_t seq;
} record_t;

static int record_cmp(const void *a, const void *b) {
  const record_t *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct {
  const parry_corr_stage2_t *s;
  const bool *parts; /* by partition: drop keys hashing there */
} drop_ctx_t;

static bool drop_key(void *opaque, const char *key) {
  drop_ctx_t *d = opaque;
  return d->parts[partition_of(d->s, key)];
}

/* Forget the keys of the partitions flagged in parts. */
static void drop_partitions(parry_corr_stage2_t *s, const bool *parts) {
  drop_ctx_t d = {s, parts};
  parry_corr_engine_drop(s->engine, drop_key, &d);
}

/* Read partitions `parts` of topics.state from the beginning to their end
 * (last stable offset) and restore the last value of each key. The keys of
 * those partitions must have been dropped. */
static parry_err_t restore(parry_corr_stage2_t *s, const bool *parts, char *errstr,
                           size_t errstr_size) {
  int64_t t0 = parry_txn_now_ms();
  rd_kafka_topic_partition_list_t *sig = rd_kafka_topic_partition_list_new(s->n_partitions);
  rd_kafka_topic_partition_list_t *st = rd_kafka_topic_partition_list_new(s->n_partitions);
  int want = 0;
  for (int32_t p = 0; p < s->n_partitions; p++) {
    if (!parts[p]) continue;
    rd_kafka_topic_partition_list_add(sig, s->signals_topic, p);
    rd_kafka_topic_partition_list_add(st, s->state_topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    want++;
  }
  const int n_parts = want;
  record_t *recs = NULL;
  size_t n = 0, cap = 0, restored = 0;
  parry_err_t rc = PARRY_OK;
  if (!want) goto out;
  /* A member that lost these partitions may still have a transaction open
   * that wrote state and offsets for them: the committed offsets are stable
   * only once it ended (require_stable), and only then is the changelog's
   * end final. */
  rd_kafka_resp_err_t err = rd_kafka_committed(s->consumer, sig, s->restore_timeout_ms);
  for (int i = 0; !err && i < sig->cnt; i++) err = sig->elems[i].err;
  if (err) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "restore: committed offsets: %s",
                    rd_kafka_err2str(err));
    goto out;
  }
  err = rd_kafka_assign(s->restorer, st);
  if (err) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "restore: assign %s: %s",
                    s->state_topic, rd_kafka_err2str(err));
    goto out;
  }
  bool *done = parry_xcalloc((size_t)s->n_partitions, sizeof *done);
  int64_t deadline = t0 + s->restore_timeout_ms;
  while (want > 0) {
    if (parry_txn_now_ms() > deadline) {
      rc = parry_fail(errstr, errstr_size, PARRY_ERR_TIMEOUT,
                      "restore: %s not read to its end within correlator.restore_timeout",
                      s->state_topic);
      break;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->restorer, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->partition >= 0 && m->partition < s->n_partitions && !done[m->partition]) {
        done[m->partition] = true;
        want--;
      }
    } else if (m->err) {
      LOG_WARN("stage 2: restore: %s", rd_kafka_message_errstr(m));
    } else if (m->key && m->partition >= 0 && m->partition < s->n_partitions &&
               !done[m->partition]) {
      if (n == cap) {
        cap = cap ? 2 * cap : 256;
        recs = parry_xreallocarray(recs, cap, sizeof *recs);
      }
      recs[n].key = parry_xstrndup(m->key, m->key_len);
      recs[n].value = NULL;
      if (m->payload) {
        recs[n].value = parry_xmalloc(m->len ? m->len : 1);
        memcpy(recs[n].value, m->payload, m->len);
      }
      recs[n].len = m->payload ? m->len : 0;
      recs[n].seq = n;
      n++;
    }
    rd_kafka_message_destroy(m);
  }
  free(done);
  rd_kafka_assign(s->restorer, NULL);
  if (rc) goto out;
  /* The last record of each key wins (compaction keeps only it, in time). */
  if (n) qsort(recs, n, sizeof *recs, record_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i + 1 < n && strcmp(recs[i].key, recs[i + 1].key) == 0) continue;
    if (!recs[i].value) continue;
    char why[512];
    if (parry_corr_engine_restore(s->engine, recs[i].key, recs[i].value, recs[i].len, why,
                                  sizeof why)) {
      /* A record this version cannot read: the key starts afresh rather
       * than the whole partition stalling. */
      LOG_ERROR("stage 2: could not restore key %s: %s", recs[i].key, why);
      continue;
    }
    restored++;
  }
out:
  for (size_t i = 0; i < n; i++) {
    free(recs[i].key);
    free(recs[i].value);
  }
  free(recs);
  rd_kafka_topic_partition_list_destroy(sig);
  rd_kafka_topic_partition_list_destroy(st);
  int64_t ms = parry_txn_now_ms() - t0;
  parry_metric_set(s->m_restore_ms, ms);
  parry_metric_add(s->m_restored, (int64_t)restored);
  if (!rc && n_parts)
    LOG_INFO("stage 2: restored %zu keys of %d partitions from %zu changelog records in %" PRId64
             " ms",
             restored, n_parts, n, ms);
  update_metrics(s);
  return rc;
}

/* ------------------------------------------------------------ batches */

/* After an aborted transaction: the engine ran ahead of what is committed.
 * Forget every owned key, restore them from the changelog and rewind. */
static bool recover(parry_corr_stage2_t *s) {
  parry_metric_add(s->m_aborted, 1);
  drop_partitions(s, s->owned);
  char err[512];
  if (restore(s, s->owned, err, sizeof err) ||
      parry_txn_rewind(s->consumer, s->restore_timeout_ms, err, sizeof err)) {
    set_failed(s, "after an aborted transaction: %s", err);
    return false;
  }
  return true;
}

static bool finish_batch(parry_corr_stage2_t *s) {
  if (!s->txn.open) return true;
  char why[512];
  switch (parry_txn_commit(&s->txn, why, sizeof why)) {
  case PARRY_TXN_OK:
    update_metrics(s);
    return true;
  case PARRY_TXN_ABORTED:
    LOG_WARN("stage 2: transaction aborted (%s); restoring state and re-reading", why);
    return recover(s);
  case PARRY_TXN_FATAL:
  default:
    set_failed(s, "transaction: %s", why);
    return false;
  }
}

static void dead_letter(parry_corr_stage2_t *s, const rd_kafka_message_t *msg, const char *reason,
                        parry_metric_t *counter) {
  parry_dlq_send(&s->txn, s->dlq_topic, msg, reason, "stage 2: ");
  parry_metric_add(counter, 1);
}

static void handle(parry_corr_stage2_t *s, const rd_kafka_message_t *msg) {
  Parry__V1__Signal *sig = parry__v1__signal__unpack(NULL, msg->len, msg->payload);
  if (!sig) {
    dead_letter(s, msg, "not a protobuf Signal", s->m_dlq_decode);
    return;
  }
  char too_new[128];
  if (parry_dlq_schema_too_new(sig->schema_version, too_new, sizeof too_new)) {
    dead_letter(s, msg, too_new, s->m_dlq_schema);
    parry__v1__signal__free_unpacked(sig, NULL);
    return;
  }
  parry_metric_add(s->m_signals, 1);
  const parry_corr_sink_t sink = {on_alert, on_state, s, on_resignal};
  char why[512];
  if (parry_corr_engine_feed(s->engine, sig, &sink, why, sizeof why)) {
    char reason[600];
    snprintf(reason, sizeof reason, "correlation engine: %s", why);
    dead_letter(s, msg, reason, s->m_dlq_engine);
  }
  parry__v1__signal__free_unpacked(sig, NULL);
}

/* The engine's tick may release held signals of idle keys: its output
 * opens the transaction lazily, so a quiet tick writes nothing. */
static bool tick_begin(parry_corr_stage2_t *s) {
  char why[512];
  if (parry_txn_begin(&s->txn, why, sizeof why)) return true;
  set_failed(s, "%s", why);
  return false;
}
static void on_tick_alert(void *opaque, const Parry__V1__Alert *alert) {
  if (tick_begin(opaque)) on_alert(opaque, alert);
}
static void on_tick_state(void *opaque, const char *key, const uint8_t *bytes, size_t len) {
  if (tick_begin(opaque)) on_state(opaque, key, bytes, len);
}
static void on_tick_resignal(void *opaque, const Parry__V1__Signal *sig, const char *key) {
  if (tick_begin(opaque)) on_resignal(opaque, sig, key);
}

/* Called once per time round the worker loop: notices a stall. */
static void note_stall(parry_corr_stage2_t *s) {
  int64_t now = parry_txn_now_ms();
  if (s->last_loop_ms && now - s->last_loop_ms > STALL_MS) {
    LOG_WARN("stage 2: this process stood still for %lld ms; no idle release, expiry or commit "
             "for %d ms while the group settles",
             (long long)(now - s->last_loop_ms), TICK_PAUSE_MS);
    s->tick_paused_ms = now + TICK_PAUSE_MS;
  }
  s->last_loop_ms = now;
}

static bool paused(const parry_corr_stage2_t *s) {
  return parry_txn_now_ms() < s->tick_paused_ms;
}

static void tick(parry_corr_stage2_t *s) {
  int64_t now = parry_txn_now_ms();
  if (paused(s)) return;
  if (now - s->last_tick_ms < TICK_MS) return;
  s->last_tick_ms = now;
  const parry_corr_sink_t sink = {on_tick_alert, on_tick_state, s, on_tick_resignal};
  parry_corr_engine_tick(s->engine, now * 1000000, &sink);
}

/* ---------------------------------------------------------- rebalances */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  parry_corr_stage2_t *s = opaque;
  bool *flags = parry_xcalloc((size_t)s->n_partitions, sizeof *flags);
  for (int i = 0; parts && i < parts->cnt; i++)
    if (parts->elems[i].partition >= 0 && parts->elems[i].partition < s->n_partitions)
      flags[parts->elems[i].partition] = true;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    atomic_store(&s->ready, false);
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    if (aerr) {
      set_failed(s, "could not assign partitions: %s", rd_kafka_err2str(aerr));
    } else {
      for (int32_t p = 0; p < s->n_partitions; p++)
        if (flags[p]) s->owned[p] = true;
      /* Before any of their signals: the keys of these partitions as the
       * changelog has them (another member may have owned them until now). */
      drop_partitions(s, flags);
      char why[512];
      if (restore(s, flags, why, sizeof why)) set_failed(s, "%s", why);
      else atomic_store(&s->ready, true);
    }
  } else {
    /* Revoked (or lost): commit what was done while they were ours. A lost
     * assignment cannot commit (the generation is stale): it aborts, and the
     * next owner restores from the changelog. */
    if (s->txn.open) {
      char why[512];
      parry_txn_result_t r = parry_txn_end_at_revocation(&s->txn, why, sizeof why);
      if (r == PARRY_TXN_ABORTED) {
        parry_metric_add(s->m_aborted, 1);
        LOG_WARN("stage 2: transaction aborted at revocation (%s); the next owner re-reads", why);
      } else if (r == PARRY_TXN_FATAL) {
        set_failed(s, "transaction at revocation: %s", why);
      }
    }
    drop_partitions(s, flags);
    for (int32_t p = 0; p < s->n_partitions; p++)
      if (flags[p]) s->owned[p] = false;
    rd_kafka_assign(rk, NULL);
    update_metrics(s);
  }
  free(flags);
}

/* -------------------------------------------------------------- worker */

static void *worker(void *arg) {
  parry_corr_stage2_t *s = arg;
  parry_log_action("correlating windows");
  while (!atomic_load(&s->stop)) {
    int timeout = POLL_MS;
    if (s->txn.open && !paused(s)) {
      int64_t left = s->txn.opened_ms + s->commit_interval_ms - parry_txn_now_ms();
      timeout = left > 0 ? (int)(left < POLL_MS ? left : POLL_MS) : 0;
    }
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(s->consumer, timeout);
    note_stall(s);
    if (atomic_load(&s->stop)) {
      if (msg) rd_kafka_message_destroy(msg);
      break;
    }
    if (msg && msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        LOG_WARN("stage 2: consumer: %s", rd_kafka_message_errstr(msg));
      rd_kafka_message_destroy(msg);
      msg = NULL;
    }
    if (msg) {
      char why[512];
      if (!parry_txn_begin(&s->txn, why, sizeof why)) {
        rd_kafka_message_destroy(msg);
        set_failed(s, "%s", why);
        break;
      }
      handle(s, msg);
      parry_txn_note(&s->txn, msg);
      rd_kafka_message_destroy(msg);
    }
    tick(s);
    if (atomic_load(&s->failed)) break;
    /* Commit when the batch is full or its time is up (the poll above waits
     * no longer than that): commit_interval bounds an alert's latency. */
    if (s->txn.open && !paused(s) &&
        (s->txn.consumed >= (size_t)s->batch_size ||
         parry_txn_now_ms() - s->txn.opened_ms >= s->commit_interval_ms))
      if (!finish_batch(s)) break;
    char why[256];
    if (parry_kafka_fatal(s->producer, why, sizeof why) ||
        parry_kafka_fatal(s->consumer, why, sizeof why)) {
      set_failed(s, "fatal Kafka client error: %s", why);
      break;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------ start/stop */

static void destroy(parry_corr_stage2_t *s) {
  if (s->consumer) parry_kafka_destroy(s->consumer);
  if (s->restorer) parry_kafka_destroy(s->restorer);
  if (s->producer) parry_kafka_destroy(s->producer);
  parry_txn_free(&s->txn);
  if (s->engine) parry_corr_engine_destroy(s->engine);
  if (s->set) parry_corr_set_destroy(s->set);
  if (s->rs) parry_sigma_ruleset_destroy(s->rs);
  free(s->owned);
  free(s->signals_topic);
  free(s->state_topic);
  free(s->alerts_topic);
  free(s->dlq_topic);
  free(s->group);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static void register_metrics(parry_corr_stage2_t *s, parry_metrics_t *m) {
  s->m_signals = parry_metrics_counter(m, "parry_correlator_signals_total",
                                       "Signals fed to the correlation engine", NULL);
  s->m_alerts = parry_metrics_counter(m, "parry_correlator_correlation_alerts_total",
                                      "Correlation alerts produced to topics.alerts", NULL);
  s->m_suppressed = parry_metrics_counter(m, "parry_correlator_suppressed_total",
                                          "Correlation alerts folded by suppression", NULL);
  s->m_late = parry_metrics_counter(m, "parry_correlator_late_signals_total",
                                    "Signals older than correlator.allowed_lateness, ignored",
                                    NULL);
  s->m_evicted = parry_metrics_counter(m, "parry_correlator_evictions_total",
                                       "Windows evicted at correlator.memory_cap", NULL);
  s->m_expired = parry_metrics_counter(m, "parry_correlator_expired_keys_total",
                                       "Keys forgotten after correlator.idle_expiry", NULL);
  s->m_state = parry_metrics_counter(m, "parry_correlator_state_records_total",
                                     "Changelog records produced to topics.state", NULL);
  s->m_keys = parry_metrics_gauge(m, "parry_correlator_window_keys",
                                  "Correlation keys held by this replica", NULL);
  s->m_bytes = parry_metrics_gauge(m, "parry_correlator_window_bytes",
                                   "Bytes of window state held by this replica", NULL);
  s->m_restore_ms = parry_metrics_gauge(m, "parry_correlator_restore_duration_ms",
                                        "Duration of the last changelog restore, ms", NULL);
  s->m_restored = parry_metrics_counter(m, "parry_correlator_restored_keys_total",
                                        "Keys restored from topics.state", NULL);
  s->m_aborted = parry_metrics_counter(m, "parry_correlator_transactions_aborted_total",
                                       "Transactions aborted (their input is re-read)",
                                       "stage", "correlate", NULL);
  s->m_below = parry_metrics_counter(m, "parry_correlator_below_min_level_total",
                                     "Matches below correlator.min_level (no alert)", NULL);
  const char *dlq_help = "Messages sent to topics.dlq";
  s->m_dlq_decode = parry_metrics_counter(m, "parry_correlator_dlq_total", dlq_help, "reason",
                                          "signal_decode", NULL);
  s->m_dlq_schema = parry_metrics_counter(m, "parry_correlator_dlq_total", dlq_help, "reason",
                                          "signal_schema_version", NULL);
  s->m_dlq_engine = parry_metrics_counter(m, "parry_correlator_dlq_total", dlq_help, "reason",
                                          "signal_refused", NULL);
}

/* Partition count of a topic from the metadata; -1 with errstr. */
static int32_t partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                               size_t errstr_size) {
  const char *names[] = {topic};
  if (parry_kafka_wait_topics(rk, names, 1, timeout_ms, errstr, errstr_size)) return -1;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  int32_t n = -1;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  if (err) {
    parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "metadata of %s: %s", topic,
               rd_kafka_err2str(err));
  } else {
    if (md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
    else parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "metadata of %s: not found", topic);
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  return n;
}

parry_err_t parry_corr_stage2_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                                    parry_corr_stage2_t **out, char *errstr,
                                    size_t errstr_size) {
  parry_corr_stage2_t *s = parry_xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->cfg = cfg;
  s->metrics = metrics;
  s->signals_topic = parry_xstrdup(parry_config_str(cfg, "topics.signals"));
  s->state_topic = parry_xstrdup(parry_config_str(cfg, "topics.state"));
  s->alerts_topic = parry_xstrdup(parry_config_str(cfg, "topics.alerts"));
  s->dlq_topic = parry_xstrdup(parry_config_str(cfg, "topics.dlq"));
  s->group = parry_xstrdup(parry_config_str(cfg, "correlator.correlate_group"));
  s->batch_size = (int)parry_config_int(cfg, "correlator.batch_size");
  s->commit_interval_ms = (int)parry_config_int(cfg, "correlator.commit_interval");
  s->timeout_ms = (int)parry_config_int(cfg, "correlator.flush_timeout");
  s->restore_timeout_ms = (int)parry_config_int(cfg, "correlator.restore_timeout");
  register_metrics(s, metrics);
  parry_err_t rc = PARRY_OK;
  char err[1024];
  const char *lvl = parry_config_str(cfg, "correlator.min_level");
  s->min_level = PARRY_SIGMA_LEVEL_NONE;
  if (strcmp(lvl, "none") != 0) parry_sigma_level_parse(lvl, &s->min_level);

  s->rs = parry_correlator_load_rules(cfg, NULL, err, sizeof err);
  if (!s->rs) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  parry_sigma_report_t rep = {0};
  s->set = parry_corr_compile(s->rs, &rep, err, sizeof err);
  if (!s->set) {
    parry_sigma_report_free(&rep);
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "correlation rules: %s", err);
    goto fail;
  }
  for (size_t i = 0; i < rep.n_rejections; i++) {
    const parry_sigma_rejection_t *x = &rep.rejections[i];
    LOG_WARN("correlation rule rejected: %s:%u:%u %s: %s", x->file ? x->file : "?", x->line,
             x->column, x->rule_id ? x->rule_id : "(no id)", x->message ? x->message : "");
  }
  parry_sigma_report_free(&rep);
  if (!parry_corr_set_count(s->set)) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                    "correlator.rules: no correlation rule loaded (stage 2 has nothing to do; "
                    "run with correlator.stages=detect)");
    goto fail;
  }
  parry_corr_options_t opt;
  parry_corr_options_default(&opt);
  opt.allowed_lateness_ns = parry_config_int(cfg, "correlator.allowed_lateness") * 1000000;
  opt.default_suppress_ns = parry_config_int(cfg, "correlator.default_suppression") * 1000000;
  opt.memory_cap_bytes = (size_t)parry_config_int(cfg, "correlator.memory_cap");
  opt.idle_expiry_ns = parry_config_int(cfg, "correlator.idle_expiry") * 1000000;
  opt.max_event_refs = (size_t)parry_config_int(cfg, "correlator.max_event_refs");
  opt.idle_release_ns = parry_config_int(cfg, "correlator.idle_release") * 1000000;

  char txn_id[512];
  s->producer = parry_txn_producer_new(cfg, metrics, s->group, "correlate",
                                       "parry-correlator-correlate", NULL, txn_id, sizeof txn_id,
                                       err, sizeof err);
  if (!s->producer) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  s->n_partitions = partition_count(s->producer, s->signals_topic, 30000, err, sizeof err);
  int32_t n_state = s->n_partitions > 0
                        ? partition_count(s->producer, s->state_topic, 30000, err, sizeof err)
                        : -1;
  if (s->n_partitions <= 0 || n_state <= 0) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "%s (create the topics with "
                    "`parry topics create`)", err);
    goto fail;
  }
  if (n_state != s->n_partitions) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                    "topics.state %s has %d partitions, topics.signals %s has %d: they must be "
                    "equal (the changelog of a key lives on its signals' partition number)",
                    s->state_topic, (int)n_state, s->signals_topic, (int)s->n_partitions);
    goto fail;
  }
  /* One idle-expiry clock per partition: keys of a partition whose event
   * time lags the others' are not expired by the others' time. */
  opt.n_clocks = (uint32_t)s->n_partitions;
  opt.clock_of = partition_clock;
  opt.clock_opaque = s;
  s->engine = parry_corr_engine_new(s->set, &opt);
  s->owned = parry_xcalloc((size_t)s->n_partitions, sizeof *s->owned);

  /* Eager assignment: the rebalance callback restores and drops whole sets. */
  s->consumer = parry_txn_consumer_new(cfg, metrics, s->group, "parry-correlator-correlate",
                                       on_rebalance, s, err, sizeof err);
  if (!s->consumer) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  static const char *const rrequired[] = {"isolation.level", "read_committed",
                                          "enable.partition.eof", "true", NULL};
  /* The end of a partition is known when a fetch comes back empty: do not
   * let the broker hold that fetch (empty partitions restore at once). */
  static const char *const rdefaults[] = {"fetch.wait.max.ms", "10", NULL};
  const parry_kafka_consumer_opts_t ropts = {.client_id = "parry-correlator-restore",
                                             .defaults = rdefaults,
                                             .required = rrequired};
  char rgroup[600];
  snprintf(rgroup, sizeof rgroup, "%s.restore", s->group);
  s->restorer = parry_kafka_consumer_new(cfg, NULL, rgroup, &ropts, err, sizeof err);
  if (!s->restorer) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", err);
    goto fail;
  }
  parry_txn_init(&s->txn, s->producer, s->consumer, s->timeout_ms);
  if (parry_txn_start(&s->txn, err, sizeof err)) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "transactional id %s: %s", txn_id,
                    err);
    goto fail;
  }
  rc = parry_txn_subscribe(s->consumer, "topics.signals", s->signals_topic, errstr, errstr_size);
  if (rc) goto fail;
  if (pthread_create(&s->thread, NULL, worker, s)) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not start the worker thread");
    goto fail;
  }
  s->thread_started = true;
  LOG_INFO("stage 2: %zu correlation rules over %s (%d partitions), changelog %s, "
           "transactional id %s",
           parry_corr_set_count(s->set), s->signals_topic, (int)s->n_partitions, s->state_topic,
           txn_id);
  *out = s;
  return PARRY_OK;
fail:
  if (s->consumer) rd_kafka_consumer_close(s->consumer);
  destroy(s);
  return rc;
}

bool parry_corr_stage2_ready(parry_corr_stage2_t *s, char *why, size_t why_size) {
  if (parry_corr_stage2_failed(s, why, why_size)) return false;
  if (!atomic_load(&s->ready)) {
    snprintf(why, why_size, "stage 2: waiting for a partition assignment of %s (group %s) "
             "and its state restore",
             s->signals_topic, s->group);
    return false;
  }
  return true;
}

bool parry_corr_stage2_failed(parry_corr_stage2_t *s, char *why, size_t why_size) {
  if (!atomic_load(&s->failed)) return false;
  if (why) {
    pthread_mutex_lock(&s->lock);
    snprintf(why, why_size, "%s", s->fail_why);
    pthread_mutex_unlock(&s->lock);
  }
  return true;
}

int parry_corr_stage2_stop(parry_corr_stage2_t *s) {
  if (!s) return 0;
  bool failed_before = atomic_load(&s->failed);
  atomic_store(&s->stop, true);
  if (s->thread_started) pthread_join(s->thread, NULL);
  /* The worker left its batch open; commit it here (same thread rules: the
   * worker is gone). */
  if (!failed_before && !atomic_load(&s->failed) && s->txn.open) {
    char why[512];
    if (parry_txn_commit(&s->txn, why, sizeof why) != PARRY_TXN_OK)
      LOG_WARN("stage 2: last transaction not committed (%s); its signals will be re-read", why);
  }
  int rc = atomic_load(&s->failed) ? 1 : 0;
  /* Leaving the group revokes (our callback commits nothing more: the
   * transaction is closed) and drops the keys. */
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(s->consumer);
  if (err) LOG_WARN("stage 2: closing the consumer: %s", rd_kafka_err2str(err));
  if (s->txn.open) {
    char why[256];
    parry_txn_abort(&s->txn, why, sizeof why);
  }
  destroy(s);
  return rc;
}
