/* bench_executor: parry-executor's own figures against a real broker and
 * PostgreSQL (bench/executor.sh runs it).
 *
 *   bench_executor throughput N   N alerts pre-produced (one case and run
 *                                 each, three HTTP steps per run), then one
 *                                 executor (in-process) takes them: alerts/s
 *                                 from the first alert consumed to the last
 *                                 run finished (cases, runs and every step
 *                                 committed in PostgreSQL)
 *   bench_executor latency RATE S alerts produced at RATE/s for S seconds
 *                                 to a running executor: p50/p99 from
 *                                 produce() to the first request received
 *   bench_executor memory N S     N alerts pre-produced (a backlog), the
 *                                 executor runs S seconds: RSS every second
 *
 * The HTTP targets are a loopback server in this process (libmicrohttpd, one
 * epoll thread and a timer) that answers 200 after 20 ms, as a slow API would.
 * Each mode uses fresh topics, a fresh consumer group and its own
 * PostgreSQL schema (dropped at the end). Environment: KAFKA_BOOTSTRAP,
 * PARRY_PG_DSN. */
#include <ctype.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parry/codec.h"
#include "parry/config.h"
#include "parry/kafka.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parry/metrics.h"
#include "parry/pg.h"
#include "parry/timefmt.h"
#include "worker/worker.h"

#define DELAY_MS 20

static atomic_llong g_requests;
static int64_t *g_produced_ns;   /* per alert number */
static _Atomic int64_t *g_first_ns; /* first request per alert number */
static size_t g_n;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_executor: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

/* ---- the slow loopback API ----
 *
 * One epoll thread serves every connection; a request is suspended when it
 * is complete and resumed DELAY_MS later by a timer thread (all delays are
 * equal, so the pending requests form a FIFO). The API is the harness, not
 * the worker: a thread per connection, each sleeping through its delay,
 * cost the machine about as much CPU as a third of the executor. */

enum { REQ_HEADERS = 1, REQ_WAITING, REQ_DUE };

typedef struct {
  struct MHD_Connection *c;
  int64_t due_ns;
} delayed_t;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  delayed_t *q;
  size_t head, len, cap;
  bool stop;
  pthread_t thread;
} g_delay = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void delay_push(struct MHD_Connection *c, int64_t due_ns) {
  pthread_mutex_lock(&g_delay.lock);
  if (g_delay.len == g_delay.cap) {
    size_t cap = g_delay.cap ? g_delay.cap * 2 : 1024;
    delayed_t *q = parry_xnew(delayed_t, cap);
    for (size_t i = 0; i < g_delay.len; i++)
      q[i] = g_delay.q[(g_delay.head + i) % g_delay.cap];
    free(g_delay.q);
    g_delay.q = q;
    g_delay.cap = cap;
    g_delay.head = 0;
  }
  g_delay.q[(g_delay.head + g_delay.len++) % g_delay.cap] = (delayed_t){c, due_ns};
  pthread_cond_signal(&g_delay.cond);
  pthread_mutex_unlock(&g_delay.lock);
}

static void *delay_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&g_delay.lock);
  while (!g_delay.stop) {
    if (!g_delay.len) {
      pthread_cond_wait(&g_delay.cond, &g_delay.lock);
      continue;
    }
    delayed_t d = g_delay.q[g_delay.head];
    int64_t now = now_ns();
    if (d.due_ns > now) {
      struct timespec ts = {(time_t)(d.due_ns / 1000000000), (long)(d.due_ns % 1000000000)};
      pthread_cond_timedwait(&g_delay.cond, &g_delay.lock, &ts); /* CLOCK_REALTIME, as now_ns */
      continue;
    }
    g_delay.head = (g_delay.head + 1) % g_delay.cap;
    g_delay.len--;
    pthread_mutex_unlock(&g_delay.lock);
    MHD_resume_connection(d.c);
    pthread_mutex_lock(&g_delay.lock);
  }
  pthread_mutex_unlock(&g_delay.lock);
  return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  (void)cls, (void)url, (void)method, (void)version, (void)upload;
  if (!*con_cls) {
    /* Headers are in: this is when the request was received. */
    *con_cls = (void *)(intptr_t)REQ_HEADERS;
    int64_t t = now_ns();
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    const char *p = key ? strstr(key, "bench-") : NULL;
    if (p) {
      size_t n = strtoull(p + 6, NULL, 10);
      int64_t zero = 0;
      if (n < g_n) atomic_compare_exchange_strong(&g_first_ns[n], &zero, t);
    }
    atomic_fetch_add(&g_requests, 1);
    return MHD_YES;
  }
  if (*upload_size) {
    *upload_size = 0;
    return MHD_YES;
  }
  if ((intptr_t)*con_cls == REQ_HEADERS) {
    /* The whole request is in: answer DELAY_MS from now. */
    *con_cls = (void *)(intptr_t)REQ_WAITING;
    MHD_suspend_connection(c);
    delay_push(c, now_ns() + DELAY_MS * 1000000LL);
    return MHD_YES;
  }
  static const char body[] = "{\"ok\":true}";
  struct MHD_Response *r =
      MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(r, "Content-Type", "application/json");
  enum MHD_Result rc = MHD_queue_response(c, 200, r);
  MHD_destroy_response(r);
  return rc;
}

static struct MHD_Daemon *start_api(int *port) {
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
          MHD_USE_ERROR_LOG,
      0, NULL, NULL, on_request, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
  if (!d) die("could not start the loopback API");
  if (pthread_create(&g_delay.thread, NULL, delay_main, NULL)) die("could not start the timer");
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  *port = info->port;
  return d;
}

static void stop_api(struct MHD_Daemon *d) {
  pthread_mutex_lock(&g_delay.lock);
  g_delay.stop = true;
  pthread_cond_signal(&g_delay.cond);
  pthread_mutex_unlock(&g_delay.lock);
  pthread_join(g_delay.thread, NULL);
  /* Requests still waiting get their answer now, so the daemon can stop. */
  for (size_t i = 0; i < g_delay.len; i++)
    MHD_resume_connection(g_delay.q[(g_delay.head + i) % g_delay.cap].c);
  g_delay.len = 0;
  MHD_stop_daemon(d);
  free(g_delay.q);
  g_delay.q = NULL;
  g_delay.cap = 0;
}

/* ---- world ---- */

typedef struct {
  const char *bootstrap, *dsn;
  char alerts[128], dlq[128], group[128], schema[128], dir[256];
  char *schema_dsn;
  rd_kafka_t *producer;
  parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_worker_t *w;
  int port;
} world_t;

static void set(parry_config_t *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set(parry_config_t *cfg, const char *fmt, ...) {
  char kv[4096], err[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(kv, sizeof kv, fmt, ap);
  va_end(ap);
  if (parry_config_set(cfg, kv, "bench", err, sizeof err)) die("%s: %s", kv, err);
}

static void pg_exec(const char *dsn, const char *sql) {
  PGconn *c = NULL;
  char err[512];
  if (parry_pg_connect(dsn, "parry-bench", &c, err, sizeof err)) die("%s", err);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) die("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

static void world_open(world_t *w, const char *tag) {
  w->bootstrap = getenv("KAFKA_BOOTSTRAP");
  w->dsn = getenv("PARRY_PG_DSN");
  if (!w->bootstrap || !w->dsn) die("KAFKA_BOOTSTRAP and PARRY_PG_DSN are required");
  long stamp = (long)time(NULL);
  snprintf(w->alerts, sizeof w->alerts, "parry-bench-exec-%s-%ld-%d", tag, stamp, getpid());
  snprintf(w->dlq, sizeof w->dlq, "parry-bench-exec-dlq-%s-%ld-%d", tag, stamp, getpid());
  snprintf(w->group, sizeof w->group, "parry-bench-exec-%s-%ld-%d", tag, stamp, getpid());
  snprintf(w->schema, sizeof w->schema, "parry_bench_%s_%ld_%d", tag, stamp, getpid());
  char sql[256];
  snprintf(sql, sizeof sql, "CREATE SCHEMA %s", w->schema);
  pg_exec(w->dsn, sql);
  size_t n = strlen(w->dsn) + 128;
  w->schema_dsn = parry_xmalloc(n);
  snprintf(w->schema_dsn, n, "%s options='-c search_path=%s'", w->dsn, w->schema);
  snprintf(w->dir, sizeof w->dir, "/tmp/parry-bench-exec-XXXXXX");
  if (!mkdtemp(w->dir)) die("mkdtemp");
  w->cfg = parry_config_new();
  set(w->cfg, "kafka.bootstrap.servers=%s", w->bootstrap);
  char err[512];
  const parry_kafka_producer_opts_t popts = {.client_id = "parry-bench",
                                             .defaults = (const char *const[]){"linger.ms", "1",
                                                                               NULL}};
  w->producer = parry_kafka_producer_new(w->cfg, NULL, &popts, err, sizeof err);
  if (!w->producer) die("%s", err);
  parry_kafka_topic_spec_t specs[] = {{w->alerts, 6, -1, NULL}, {w->dlq, 1, -1, NULL}};
  if (parry_kafka_create_topics(w->producer, specs, 2, 30000, err, sizeof err)) die("%s", err);
  const char *names[] = {w->alerts, w->dlq};
  if (parry_kafka_wait_topics(w->producer, names, 2, 30000, err, sizeof err)) die("%s", err);
  /* Runbook: three HTTP steps, one after the other, on the loopback API. */
  char path[512], conn_path[512], text[2048];
  snprintf(path, sizeof path, "%s/bench.yml", w->dir);
  snprintf(text, sizeof text,
           "name: bench\n"
           "match:\n  rules: [R-BENCH]\n"
           "group:\n  fields: [group_by.source.ip]\n  window: 1h\n"
           "steps:\n"
           "  - id: enrich\n    uses: http\n"
           "    with: {url: 'http://127.0.0.1:%d/enrich/{{ alert.group_by.source.ip }}', "
           "method: GET}\n"
           "  - id: block\n    uses: http\n    needs: [enrich]\n"
           "    with: {url: 'http://127.0.0.1:%d/block', body: {ip: '{{ alert.group_by.source.ip }}'}}\n"
           "  - id: notify\n    uses: http\n    needs: [block]\n"
           "    with: {url: 'http://127.0.0.1:%d/notify', body: {text: 'blocked {{ "
           "alert.group_by.source.ip }}'}}\n",
           w->port, w->port, w->port);
  FILE *fp = fopen(path, "w");
  fputs(text, fp);
  fclose(fp);
  snprintf(conn_path, sizeof conn_path, "%s/connectors.yml", w->dir);
  fp = fopen(conn_path, "w");
  fputs("defaults:\n  max_concurrency: 256\n  timeout: 30s\n", fp);
  fclose(fp);
  set(w->cfg, "topics.alerts=%s", w->alerts);
  set(w->cfg, "topics.dlq=%s", w->dlq);
  set(w->cfg, "executor.group=%s", w->group);
  set(w->cfg, "pg.dsn=%s", w->schema_dsn);
  set(w->cfg, "executor.runbooks=%s", path);
  if (parry_setting_find("executor.connectors")) set(w->cfg, "executor.connectors=%s", conn_path);
  set(w->cfg, "executor.max_in_flight=%s", getenv("BENCH_MAX_IN_FLIGHT") ? getenv("BENCH_MAX_IN_FLIGHT") : "2000");
  set(w->cfg, "executor.resume_in_flight=%s", getenv("BENCH_RESUME_IN_FLIGHT") ? getenv("BENCH_RESUME_IN_FLIGHT") : "1000");
  set(w->cfg, "executor.claim_batch=500");
  set(w->cfg, "executor.poll_interval=20ms");
  set(w->cfg, "http.enabled=false");
  /* BENCH_SET="key=value;key=value": extra settings to try. */
  const char *extra = getenv("BENCH_SET");
  if (extra && *extra) {
    char *copy = parry_xstrdup(extra);
    for (char *save = NULL, *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
      set(w->cfg, "%s", t);
    free(copy);
  }
}

/* The bench's topics hold up to a million alerts: delete them at the end so
 * that repeated runs do not fill the broker's disk. */
static void delete_topics(world_t *w) {
  const char *names[] = {w->alerts, w->dlq};
  rd_kafka_DeleteTopic_t *del[2];
  for (int i = 0; i < 2; i++) del[i] = rd_kafka_DeleteTopic_new(names[i]);
  rd_kafka_queue_t *q = rd_kafka_queue_new(w->producer);
  rd_kafka_DeleteTopics(w->producer, del, 2, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
  if (!ev || rd_kafka_event_error(ev))
    fprintf(stderr, "bench_executor: could not delete topics %s, %s: %s\n", w->alerts, w->dlq,
            ev ? rd_kafka_event_error_string(ev) : "timed out");
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_DeleteTopic_destroy_array(del, 2);
}

static void world_close(world_t *w) {
  if (w->w) parry_worker_stop(w->w);
  if (w->metrics) parry_metrics_destroy(w->metrics);
  delete_topics(w);
  parry_kafka_destroy(w->producer);
  parry_config_destroy(w->cfg);
  char sql[256];
  snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", w->schema);
  pg_exec(w->dsn, sql);
  free(w->schema_dsn);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "%s/bench.yml", w->dir);
  unlink(cmd);
  snprintf(cmd, sizeof cmd, "%s/connectors.yml", w->dir);
  unlink(cmd);
  rmdir(w->dir);
}

static void start_executor(world_t *w) {
  w->metrics = parry_metrics_new();
  char err[1024];
  if (parry_worker_start(w->cfg, w->metrics, &w->w, err, sizeof err)) die("%s", err);
  char why[512];
  while (!parry_worker_ready(w->w, why, sizeof why)) usleep(10000);
}

static int64_t metric(world_t *w, const char *name, const char *k, const char *v) {
  return parry_metric_value(k ? parry_metrics_counter(w->metrics, name, "", k, v, NULL)
                              : parry_metrics_counter(w->metrics, name, "", NULL));
}

/* One alert for its own IP (so its own case and run). */
static void produce(world_t *w, size_t i) {
  char json[768], ip[32];
  snprintf(ip, sizeof ip, "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
  snprintf(json, sizeof json,
           "{\"@timestamp\":\"2026-12-04T10:00:00Z\",\"id\":\"bench-%zu\",\"rule\":{\"id\":"
           "\"R-BENCH\",\"title\":\"bench\",\"level\":\"high\"},\"group_by\":{\"source.ip\":\"%s\"},"
           "\"count\":5}",
           i, ip);
  Parry__V1__Alert *a = NULL;
  char err[256];
  if (parry_alert_from_json(json, strlen(json), &a, err, sizeof err)) die("%s", err);
  uint8_t buf[1024];
  size_t n = protobuf_c_message_pack(&a->base, buf);
  parry__v1__alert__free_unpacked(a, NULL);
  if (g_produced_ns) g_produced_ns[i] = now_ns();
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        w->producer, RD_KAFKA_V_TOPIC(w->alerts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(ip, strlen(ip)), RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(w->producer, 10);
      continue;
    }
    if (e) die("produce: %s", rd_kafka_err2str(e));
    break;
  }
  rd_kafka_poll(w->producer, 0);
}

static long rss_kib(void) {
  FILE *fp = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (fp && fgets(line, sizeof line, fp))
    if (strncmp(line, "VmRSS:", 6) == 0) v = atol(line + 6);
  if (fp) fclose(fp);
  return v;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void throughput(world_t *w, size_t n) {
  for (size_t i = 0; i < n; i++) produce(w, i);
  if (rd_kafka_flush(w->producer, 120000)) die("flush");
  start_executor(w);
  while (metric(w, "parry_executor_alerts_total", NULL, NULL) == 0) sleep_ms(1);
  int64_t t0 = now_ns();
  int64_t last_print = t0;
  for (;;) {
    int64_t done = metric(w, "parry_executor_runs_total", "status", "succeeded");
    int64_t failed = metric(w, "parry_executor_runs_total", "status", "failed");
    if (done + failed >= (int64_t)n) break;
    if (now_ns() - last_print > 5000000000LL) {
      last_print = now_ns();
      fprintf(stderr, "  %" PRId64 " runs finished, %lld requests\n", done + failed,
              (long long)atomic_load(&g_requests));
    }
    sleep_ms(5);
  }
  double s = (double)(now_ns() - t0) / 1e9;
  int64_t failed = metric(w, "parry_executor_runs_total", "status", "failed");
  printf("executor throughput: %zu alerts -> %zu cases, runs and %lld HTTP requests (20 ms "
         "each) in %.2f s: %.0f alerts/s per worker (%" PRId64 " runs failed)\n",
         n, n, (long long)atomic_load(&g_requests), s, (double)n / s, failed);
}

static void latency(world_t *w, int rate, int seconds) {
  size_t n = (size_t)rate * (size_t)seconds;
  start_executor(w);
  int64_t t0 = now_ns(), period = 1000000000LL / rate;
  for (size_t i = 0; i < n; i++) {
    int64_t due = t0 + (int64_t)i * period;
    int64_t t;
    while ((t = now_ns()) < due) {
      int64_t left = due - t;
      if (left > 200000) {
        struct timespec ts = {0, left - 100000};
        nanosleep(&ts, NULL);
      }
    }
    produce(w, i);
  }
  rd_kafka_flush(w->producer, 30000);
  int64_t deadline = now_ns() + 60000000000LL;
  for (;;) {
    size_t got = 0;
    for (size_t i = 0; i < n; i++) got += atomic_load(&g_first_ns[i]) != 0;
    if (got == n || now_ns() > deadline) break;
    sleep_ms(50);
  }
  int64_t *lat = parry_xnew(int64_t, n);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t f = atomic_load(&g_first_ns[i]);
    if (f) lat[m++] = f - g_produced_ns[i];
  }
  qsort(lat, m, sizeof *lat, cmp_i64);
  if (!m) die("no request received");
  printf("executor latency at %d alerts/s for %d s: alert produced -> first request received: "
         "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu of %zu alerts)\n",
         rate, seconds, (double)lat[m / 2] / 1e6, (double)lat[(m * 99) / 100] / 1e6,
         (double)lat[m - 1] / 1e6, m, n);
  /* Where the time goes: produced -> stored (alerts.received, the intake's
   * transaction) and stored -> first request (claim, step_started, call). */
  PGconn *c = NULL;
  char err[512];
  if (parry_pg_connect(w->schema_dsn, "parry-bench", &c, err, sizeof err) == PARRY_OK) {
    PGresult *r = PQexec(c, "SELECT substr(a.id, 7)::bigint, (extract(epoch FROM a.received) * "
                            "1000000)::bigint, (extract(epoch FROM min(s.started)) * 1000000)::bigint "
                            "FROM alerts a LEFT JOIN runs r ON r.alert_id = a.id LEFT JOIN step_runs s "
                            "ON s.run_id = r.id GROUP BY a.id, a.received");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      int64_t *a = parry_xnew(int64_t, n), *b = parry_xnew(int64_t, n), *c2 = parry_xnew(int64_t, n);
      size_t k = 0;
      for (int i = 0; i < PQntuples(r); i++) {
        size_t idx = strtoull(PQgetvalue(r, i, 0), NULL, 10);
        int64_t recv = atoll(PQgetvalue(r, i, 1)) * 1000;
        int64_t started = PQgetisnull(r, i, 2) ? 0 : atoll(PQgetvalue(r, i, 2)) * 1000;
        int64_t first = idx < n ? atomic_load(&g_first_ns[idx]) : 0;
        if (idx >= n || !first || !started) continue;
        a[k] = recv - g_produced_ns[idx];
        b[k] = started - recv;
        c2[k] = first - started;
        k++;
      }
      qsort(a, k, sizeof *a, cmp_i64);
      qsort(b, k, sizeof *b, cmp_i64);
      qsort(c2, k, sizeof *c2, cmp_i64);
      /* received and started are the transactions' start times (now()). */
      if (k)
        printf("  of which produced -> alert stored (ingest transaction): p50 %.1f ms, p99 %.1f ms;"
               " stored -> first step_started (claim, writer): p50 %.1f ms, p99 %.1f ms;"
               " step_started -> request received: p50 %.1f ms, p99 %.1f ms\n",
               (double)a[k / 2] / 1e6, (double)a[(k * 99) / 100] / 1e6, (double)b[k / 2] / 1e6,
               (double)b[(k * 99) / 100] / 1e6, (double)c2[k / 2] / 1e6,
               (double)c2[(k * 99) / 100] / 1e6);
      free(a);
      free(b);
      free(c2);
    }
    PQclear(r);
    PQfinish(c);
  }
  free(lat);
}

static void memory(world_t *w, size_t n, int seconds) {
  int64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) produce(w, i);
  if (rd_kafka_flush(w->producer, 300000)) die("flush");
  fprintf(stderr, "  %zu alerts produced in %.1f s\n", n, (double)(now_ns() - t0) / 1e9);
  long before = rss_kib();
  start_executor(w);
  long lo = 0, hi = 0, first = 0, last = 0;
  printf("executor memory under a backlog of %zu alerts: RSS before start %ld KiB; every 5 s:", n,
         before);
  for (int s = 1; s <= seconds; s++) {
    sleep_ms(1000);
    long r = rss_kib();
    if (s == 5) first = lo = hi = r;
    if (s >= 5) {
      if (r < lo) lo = r;
      if (r > hi) hi = r;
    }
    last = r;
    if (s % 5 == 0) printf(" %ld", r);
    fflush(stdout);
  }
  printf(" KiB\n");
  printf("executor memory: %" PRId64 " alerts taken, %" PRId64 " runs finished in %d s; RSS from "
         "5 s on: first %ld, min %ld, max %ld, last %ld KiB (max-min %.1f MiB)\n",
         metric(w, "parry_executor_alerts_total", NULL, NULL),
         metric(w, "parry_executor_runs_total", "status", "succeeded"), seconds, first, lo, hi,
         last, (double)(hi - lo) / 1024.0);
}

int main(int argc, char **argv) {
  if (argc < 3) die("usage: bench_executor throughput N | latency RATE SECONDS | memory N SECONDS");
  parry_log_init("bench-executor", PARRY_LOG_WARN);
  world_t w = {0};
  struct MHD_Daemon *api = start_api(&w.port);
  const char *mode = argv[1];
  size_t n = strtoull(argv[2], NULL, 10);
  if (strcmp(mode, "latency") == 0) {
    int rate = (int)n, secs = argc > 3 ? atoi(argv[3]) : 10;
    g_n = (size_t)rate * (size_t)secs;
  } else {
    g_n = n;
  }
  g_produced_ns = parry_xnew(int64_t, g_n);
  g_first_ns = parry_xcalloc(g_n, sizeof *g_first_ns);
  world_open(&w, mode);
  if (strcmp(mode, "throughput") == 0) throughput(&w, n);
  else if (strcmp(mode, "latency") == 0) latency(&w, (int)n, argc > 3 ? atoi(argv[3]) : 10);
  else if (strcmp(mode, "memory") == 0) memory(&w, n, argc > 3 ? atoi(argv[3]) : 60);
  else die("unknown mode %s", mode);
  fflush(stdout);
  world_close(&w);
  stop_api(api);
  free(g_produced_ns);
  free((void *)g_first_ns);
  return 0;
}
