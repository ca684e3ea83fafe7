/* Raw records from Kafka topics, as Fluent Bit, Vector or Beats write them:
 * each message value is one record, handed to the normalizer as it is (a
 * Beats/Vector JSON envelope with "message" is kept whole by the generic
 * JSON parser, or recognised by a specific one).
 *
 * At least once: a consumed message's offset is committed only after
 * everything made from it (events and dead letters) is acknowledged by
 * Kafka. Each message gets a delivery tracker, kept per partition in offset
 * order; the head of each queue is retired as its tracker completes, and the
 * next offset to commit moves with it. Commits go out every second
 * (asynchronously), and synchronously when partitions are revoked and at
 * shutdown, after waiting for what is in flight.
 *
 * A delivery that failed with a retriable error rewinds the partition to the
 * failed message (rd_kafka_seek_partitions) and drops the queue behind it:
 * those messages are consumed again, and their events get the same ids
 * (source "kafka:TOPIC/PARTITION", seq = offset), so copies are recognisable.
 * A permanent failure (a message too large for the broker) cannot succeed
 * by retrying: it is logged and counted, and the offset moves on.
 *
 * Thread: one, polling the consumer; rebalance callbacks run inside its poll
 * (and, at shutdown, inside rd_kafka_consumer_close on the stopping thread,
 * once this one has been joined). Streams and queues are this thread's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/kafka.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "sources/sources.h"

#define POLL_MS 100
#define COMMIT_EVERY_MS 1000
#define RETIRE_EVERY 256

typedef struct pending {
  struct pending *next;
  int64_t offset;
  parry_delivery_t *d;
  bool unqueued;  /* some of its output could not even be queued... */
  bool retriable; /* ...for want of room (shutdown), or a delivery failed retriably */
} pending_t;

typedef struct {
  char *topic;
  int32_t partition;
  parry_stream_t *stream;
  pending_t *head, *tail;
  size_t queued;
  int64_t next_commit; /* offset to commit: all before it are done; -1: none yet */
  int64_t committed;   /* last offset committed; -1: none */
} part_t;

struct parry_kafka_source {
  const parry_source_env_t *env;
  rd_kafka_t *rk;
  pthread_t thread;
  bool started;
  atomic_bool stop;
  part_t **parts;
  size_t n_parts;
  parry_emitter_t em;
  parry_source_metrics_t m;
  parry_metric_t *consumer_errors, *rewinds, *given_up;
  parry_ratelimit_t log_limit;
  int64_t last_commit_ms;
  int64_t drain_deadline; /* for revocations: how long to wait for deliveries */
};

/* --------------------------------------------------------------- parts */

static part_t *part_find(parry_kafka_source_t *s, const char *topic, int32_t partition,
                         bool create) {
  for (size_t i = 0; i < s->n_parts; i++)
    if (s->parts[i]->partition == partition && strcmp(s->parts[i]->topic, topic) == 0)
      return s->parts[i];
  if (!create) return NULL;
  part_t *p = parry_xnew(part_t, 1);
  p->topic = parry_xstrdup(topic);
  p->partition = partition;
  p->next_commit = p->committed = -1;
  char source[512];
  snprintf(source, sizeof source, "kafka:%s/%d", topic, (int)partition);
  p->stream = parry_stream_new(s->env->normalizer, source, &parry_emitter_sink, &s->em);
  s->parts = parry_xreallocarray(s->parts, s->n_parts + 1, sizeof *s->parts);
  s->parts[s->n_parts++] = p;
  return p;
}

static void queue_clear(part_t *p) {
  for (pending_t *n = p->head, *next; n; n = next) {
    next = n->next;
    parry_delivery_release(n->d);
    free(n);
  }
  p->head = p->tail = NULL;
  p->queued = 0;
}

static void part_free(part_t *p) {
  queue_clear(p);
  parry_stream_destroy(p->stream);
  free(p->topic);
  free(p);
}

static void part_remove(parry_kafka_source_t *s, part_t *p) {
  for (size_t i = 0; i < s->n_parts; i++) {
    if (s->parts[i] == p) {
      s->parts[i] = s->parts[--s->n_parts];
      break;
    }
  }
  part_free(p);
}

/* Errors that retrying cannot fix. */
static bool permanent(rd_kafka_resp_err_t e) {
  switch (e) {
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_INVALID_MSG:
  case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
  case RD_KAFKA_RESP_ERR_INVALID_RECORD:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    return true;
  default:
    return false;
  }
}

/* Retire finished messages at the head of a partition's queue. */
static void retire(parry_kafka_source_t *s, part_t *p) {
  while (p->head && parry_delivery_pending(p->head->d) == 0) {
    pending_t *n = p->head;
    bool failed = parry_delivery_failed(n->d) > 0 || n->unqueued;
    rd_kafka_resp_err_t e = parry_delivery_error(n->d);
    bool retriable = n->unqueued ? n->retriable : !permanent(e);
    if (failed && retriable) {
      /* Consume it again, and everything after it. */
      parry_metric_add(s->rewinds, 1);
      LOG_WARN("ingestor.kafka: events from %s/%d offset %lld were not delivered (%s); "
               "consuming again from there",
               p->topic, (int)p->partition, (long long)n->offset,
               n->unqueued ? "no room in the producer queue" : rd_kafka_err2str(e));
      rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = n->offset;
      rd_kafka_error_t *err = rd_kafka_seek_partitions(s->rk, list, 5000);
      if (err) {
        LOG_ERROR("ingestor.kafka: could not rewind %s/%d to offset %lld: %s", p->topic,
                  (int)p->partition, (long long)n->offset, rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
      }
      rd_kafka_topic_partition_list_destroy(list);
      queue_clear(p);
      return;
    }
    if (failed) {
      parry_metric_add(s->given_up, 1);
      LOG_ERROR("ingestor.kafka: events from %s/%d offset %lld could not be written to Kafka "
                "(%s); retrying cannot help, moving on",
                p->topic, (int)p->partition, (long long)n->offset,
                n->unqueued ? s->em.errstr : rd_kafka_err2str(e));
    }
    p->next_commit = n->offset + 1;
    p->head = n->next;
    if (!p->head) p->tail = NULL;
    p->queued--;
    parry_delivery_release(n->d);
    free(n);
  }
}

/* Commit the retired offsets of every partition (or of one). */
static void commit(parry_kafka_source_t *s, part_t *only, bool sync) {
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
  for (size_t i = 0; i < s->n_parts; i++) {
    part_t *p = s->parts[i];
    if (only && p != only) continue;
    if (p->next_commit < 0 || p->next_commit == p->committed) continue;
    rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = p->next_commit;
    p->committed = p->next_commit;
  }
  if (list->cnt > 0) {
    rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, list, sync ? 0 : 1);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
      LOG_WARN("ingestor.kafka: could not commit offsets: %s", rd_kafka_err2str(e));
  }
  rd_kafka_topic_partition_list_destroy(list);
}

/* Wait until a partition's (or every partition's) queue is done, or the
 * deadline; delivery reports are served by the publisher's thread. */
static void drain(parry_kafka_source_t *s, part_t *only, int64_t deadline_ms) {
  for (;;) {
    size_t left = 0;
    for (size_t i = 0; i < s->n_parts; i++) {
      if (only && s->parts[i] != only) continue;
      retire(s, s->parts[i]);
      left += s->parts[i]->queued;
    }
    if (!left) return;
    if (parry_now_ms() >= deadline_ms) {
      LOG_WARN("ingestor.kafka: %zu consumed messages still had undelivered events at the "
               "deadline; they will be consumed again",
               left);
      return;
    }
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

/* ------------------------------------------------------------ rebalances */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  parry_kafka_source_t *s = opaque;
  bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) error = rd_kafka_incremental_assign(rk, parts);
    else e = rd_kafka_assign(rk, parts);
  } else {
    /* Revoked: finish and commit what was consumed before another member
     * takes over, unless the partitions are already lost (then the commit
     * would be refused and the other member starts from the last one). */
    bool lost = rd_kafka_assignment_lost(rk);
    for (int i = 0; i < parts->cnt; i++) {
      part_t *p = part_find(s, parts->elems[i].topic, parts->elems[i].partition, false);
      if (!p) continue;
      if (!lost) {
        drain(s, p, s->drain_deadline ? s->drain_deadline : parry_now_ms() + 10000);
        commit(s, p, true);
      }
      part_remove(s, p);
    }
    if (cooperative) error = rd_kafka_incremental_unassign(rk, parts);
    else e = rd_kafka_assign(rk, NULL);
  }
  if (error) {
    LOG_ERROR("ingestor.kafka: could not change the assignment: %s", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  } else if (e) {
    LOG_ERROR("ingestor.kafka: could not change the assignment: %s", rd_kafka_err2str(e));
  }
}

/* ------------------------------------------------------------ consuming */

static void consume(parry_kafka_source_t *s, rd_kafka_message_t *msg) {
  if (msg->err) {
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    parry_metric_add(s->consumer_errors, 1);
    unsigned long held;
    if (parry_ratelimit(&s->log_limit, &held))
      LOG_WARN("ingestor.kafka: consumer error%s%s: %s (%lu more not logged)",
               msg->rkt ? " on topic " : "", msg->rkt ? rd_kafka_topic_name(msg->rkt) : "",
               rd_kafka_message_errstr(msg), held);
    return;
  }
  part_t *p = part_find(s, rd_kafka_topic_name(msg->rkt), msg->partition, true);
  parry_delivery_t *d = parry_delivery_new();
  uint64_t unqueued_before = s->em.failed;
  s->em.err = PARRY_OK; /* per message: why this one's output was not queued */
  int64_t now_ns = parry_time_now_ns();
  s->em.delivery = d;
  s->em.received_ns = now_ns;
  parry_metric_add(s->m.records, 1);
  const char *value = msg->payload ? msg->payload : "";
  size_t len = msg->len;
  size_t max = s->env->max_record;
  if (len > max) {
    char why[256];
    parry_source_frame_reason(why, sizeof why, 1 /* OVERSIZE */, len, 0, max);
    parry_stream_reject(p->stream, value, max, (uint64_t)msg->offset, why);
  } else {
    parry_stream_record(p->stream, value, len, (uint64_t)msg->offset, now_ns);
  }
  s->em.delivery = NULL;

  pending_t *n = parry_xnew(pending_t, 1);
  n->offset = msg->offset;
  n->d = d; /* the creator's reference moves to the queue */
  n->unqueued = s->em.failed != unqueued_before;
  n->retriable = s->em.err == PARRY_ERR_TIMEOUT;
  if (p->tail) p->tail->next = n;
  else p->head = n;
  p->tail = n;
  p->queued++;
}

static void *kafka_main(void *opaque) {
  parry_kafka_source_t *s = opaque;
  parry_log_action("consuming raw Kafka topics");
  pthread_setname_np(pthread_self(), "parry-kafka-in");
  unsigned since_retire = 0;
  while (!atomic_load(&s->stop)) {
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(s->rk, POLL_MS);
    if (msg) {
      consume(s, msg);
      rd_kafka_message_destroy(msg);
    }
    if (!msg || ++since_retire >= RETIRE_EVERY) {
      since_retire = 0;
      for (size_t i = 0; i < s->n_parts; i++) retire(s, s->parts[i]);
    }
    int64_t now = parry_now_ms();
    if (now - s->last_commit_ms >= COMMIT_EVERY_MS) {
      commit(s, NULL, false);
      s->last_commit_ms = now;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------ life */

parry_err_t parry_kafka_source_start(const parry_source_env_t *env, parry_kafka_source_t **out,
                                     char *errstr, size_t errstr_size) {
  const parry_config_t *cfg = env->cfg;
  parry_kafka_source_t *s = parry_xnew(parry_kafka_source_t, 1);
  parry_err_t err = PARRY_OK;
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(4);
  s->env = env;
  atomic_init(&s->stop, false);
  parry_source_metrics_init(&s->m, env->metrics, "kafka");
  s->consumer_errors = parry_metrics_counter(env->metrics, "parry_ingestor_kafka_errors_total",
                                             "Errors reported by the raw-topic consumer", NULL);
  s->rewinds = parry_metrics_counter(env->metrics, "parry_ingestor_kafka_rewinds_total",
                                     "Times a raw partition was consumed again after a "
                                     "delivery failure",
                                     NULL);
  s->given_up = parry_metrics_counter(env->metrics, "parry_ingestor_kafka_given_up_total",
                                      "Raw messages whose output Kafka refused for good", NULL);
  s->em = (parry_emitter_t){.pub = env->pub, .metrics = &s->m};

  char *spec = parry_xstrdup(parry_config_str(cfg, "ingestor.kafka.topics")), *save = NULL;
  for (char *t = strtok_r(spec, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
    rd_kafka_topic_partition_list_add(topics, t, RD_KAFKA_PARTITION_UA);
  free(spec);
  if (topics->cnt == 0) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "ingestor.kafka.enabled is true but ingestor.kafka.topics is empty: name "
                     "the raw topics to consume");
    goto out;
  }
  parry_kafka_consumer_opts_t opts = {
      .client_id = "parry-ingestor",
      .stats_interval_ms = 15000,
      .rebalance_cb = on_rebalance,
      .rebalance_opaque = s,
  };
  char why[1024];
  s->rk = parry_kafka_consumer_new(cfg, env->metrics,
                                   parry_config_str(cfg, "ingestor.kafka.group"), &opts, why,
                                   sizeof why);
  if (!s->rk) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "ingestor.kafka: %s", why);
    goto out;
  }
  rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, topics);
  if (e) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "ingestor.kafka.topics: could not subscribe: %s", rd_kafka_err2str(e));
    goto out;
  }
  s->last_commit_ms = parry_now_ms();
  if (pthread_create(&s->thread, NULL, kafka_main, s) != 0) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                     "ingestor.kafka: could not start its thread");
    goto out;
  }
  s->started = true;
  LOG_INFO("consuming raw records from %d topic%s (ingestor.kafka.topics=%s, group %s)",
           topics->cnt, topics->cnt == 1 ? "" : "s",
           parry_config_str(cfg, "ingestor.kafka.topics"),
           parry_config_str(cfg, "ingestor.kafka.group"));
out:
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    parry_kafka_source_stop(s, parry_now_ms());
    return err;
  }
  *out = s;
  return PARRY_OK;
}

void parry_kafka_source_stop(parry_kafka_source_t *s, int64_t deadline_ms) {
  if (!s) return;
  atomic_store(&s->stop, true);
  if (s->started) pthread_join(s->thread, NULL);
  if (s->rk) {
    /* This thread owns the state from here. */
    s->drain_deadline = deadline_ms;
    drain(s, NULL, deadline_ms);
    commit(s, NULL, true);
    rd_kafka_consumer_close(s->rk); /* leaves the group; revocation runs on_rebalance */
    parry_kafka_destroy(s->rk);
  }
  while (s->n_parts) part_remove(s, s->parts[0]);
  free(s->parts);
  free(s);
}
