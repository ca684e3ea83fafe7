/* Shared by the executor suites (test_executor*.c): a fixture with its own
 * Kafka topics, consumer group, PostgreSQL schema and temporary folder, the
 * executor in-process (parry_worker_*) or as a child process, alerts built
 * from JSON, SQL probes and bounded waits. Functions are static inline so
 * that each suite uses what it needs. */
#ifndef PARRY_TEST_EXECUTOR_SUPPORT_H
#define PARRY_TEST_EXECUTOR_SUPPORT_H

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kafka_support.h"
#include "parry/codec.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parry/metrics.h"
#include "parry/pg.h"
#include "worker/worker.h"

#define EX_WAIT_MS 60000

typedef struct {
  const char *bootstrap, *dsn; /* NULL: the tests skip */
  char alerts[160], dlq[160], group[160], schema[160], tmpdir[256];
  char *schema_dsn;            /* dsn with search_path = schema */
  PGconn *pg;                  /* search_path = schema */
  rd_kafka_t *producer;        /* the test's own */
  parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_worker_t *w;
  pid_t child;                 /* executor as a process, 0 if none */
  pid_t helpers[8];            /* stand-ins: stopped by the teardown */
  int n_helpers;
} ex_fixture_t;

static inline void ex_set(parry_config_t *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void ex_set(parry_config_t *cfg, const char *fmt, ...) {
  char kv[4096], err[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(kv, sizeof kv, fmt, ap);
  va_end(ap);
  if (parry_config_set(cfg, kv, "test", err, sizeof err)) fail_msg("%s: %s", kv, err);
}

static inline void ex_pg_exec(PGconn *c, const char *sql) {
  PGresult *res = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQresultErrorMessage(res));
  PQclear(res);
}

/* The single value of a query (one optional text parameter) as int64; SQL
 * NULL is -1. */
static inline long long ex_q_int(ex_fixture_t *f, const char *sql, const char *param) {
  const char *params[1] = {param};
  PGresult *res = PQexecParams(f->pg, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQresultErrorMessage(res));
  if (PQntuples(res) != 1) fail_msg("%s: %d rows", sql, PQntuples(res));
  long long v = PQgetisnull(res, 0, 0) ? -1 : atoll(PQgetvalue(res, 0, 0));
  PQclear(res);
  return v;
}

/* The single text value of a query, malloc'd; NULL for SQL NULL or no row. */
static inline char *ex_q_text(ex_fixture_t *f, const char *sql, const char *param) {
  const char *params[1] = {param};
  PGresult *res = PQexecParams(f->pg, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQresultErrorMessage(res));
  char *v = PQntuples(res) && !PQgetisnull(res, 0, 0) ? parry_xstrdup(PQgetvalue(res, 0, 0)) : NULL;
  PQclear(res);
  return v;
}

/* Whether the schema's tables exist yet (the executor migrates on start). */
static inline bool ex_has_tables(ex_fixture_t *f) {
  char *oid = ex_q_text(f, "SELECT to_regclass('runs')::oid::text", NULL);
  bool ok = oid != NULL;
  free(oid);
  return ok;
}

/* Poll a count query until it equals want (true) or the time is up (false). */
static inline bool ex_wait_count(ex_fixture_t *f, const char *sql, long long want, int ms) {
  int64_t deadline = parry_test_now_ms() + ms;
  for (;;) {
    long long v = ex_has_tables(f) ? ex_q_int(f, sql, NULL) : -1;
    if (v == want) return true;
    if (parry_test_now_ms() > deadline) {
      print_error("waited %d ms for `%s` = %lld, last %lld\n", ms, sql, want, v);
      return false;
    }
    usleep(50000);
  }
}

static inline size_t ex_discard(char *p, size_t size, size_t n, void *u) {
  (void)p, (void)u;
  return size * n;
}

/* POST json to a running parry-standin http's /_control (rules: see
 * tests/stand-ins/standin_http.c), authenticated with token. */
static inline void ex_standin_control(int port, const char *token, const char *json) {
  CURL *c = curl_easy_init();
  char url[128], auth[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/_control", port);
  snprintf(auth, sizeof auth, "X-Standin-Token: %s", token);
  struct curl_slist *h = curl_slist_append(NULL, auth);
  h = curl_slist_append(h, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ex_discard);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  assert_int_equal(status, 200);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static inline void ex_remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char path[1024];
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static inline void ex_write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  if (!fp) fail_msg("could not write %s", path);
  fputs(text, fp);
  fclose(fp);
}

static inline int ex_group_setup(void **state) {
  static ex_fixture_t fixture;
  memset(&fixture, 0, sizeof fixture);
  fixture.bootstrap = parry_test_kafka_bootstrap();
  fixture.dsn = parry_test_service("PARRY_PG_DSN", "a PostgreSQL server (scripts/pg.sh start)");
  *state = &fixture;
  return 0;
}

/* A fresh world per test: topics, group, schema, folder, configuration. */
static inline int ex_setup(void **state) {
  ex_fixture_t *f = *state;
  f->w = NULL;
  f->child = 0;
  f->n_helpers = 0;
  f->pg = NULL;
  f->producer = NULL;
  f->cfg = NULL;
  f->metrics = NULL;
  f->schema_dsn = NULL;
  f->tmpdir[0] = '\0';
  if (!f->bootstrap || !f->dsn) return 0;
  parry_test_unique_name("parry-exec-alerts", f->alerts, sizeof f->alerts);
  parry_test_unique_name("parry-exec-dlq", f->dlq, sizeof f->dlq);
  parry_test_unique_name("parry-exec-group", f->group, sizeof f->group);
  parry_test_unique_name("parry_exec", f->schema, sizeof f->schema);
  for (char *p = f->schema; *p; p++) *p = *p == '-' ? '_' : (char)tolower((unsigned char)*p);
  char err[512];
  parry_config_t *pcfg = parry_test_kafka_config(f->bootstrap, NULL);
  f->producer = parry_kafka_producer_new(pcfg, NULL, NULL, err, sizeof err);
  parry_config_destroy(pcfg);
  if (!f->producer) fail_msg("%s", err);
  parry_test_kafka_create_topic(f->producer, f->alerts, 3);
  parry_test_kafka_create_topic(f->producer, f->dlq, 1);
  PGconn *admin = NULL;
  if (parry_pg_connect(f->dsn, "parry-test", &admin, err, sizeof err)) fail_msg("%s", err);
  char sql[300];
  snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->schema);
  ex_pg_exec(admin, sql);
  PQfinish(admin);
  /* The executor reaches its schema through the DSN, as a deployment would
   * (a libpq `options` search_path). */
  size_t n = strlen(f->dsn) + strlen(f->schema) + 64;
  f->schema_dsn = parry_xmalloc(n);
  snprintf(f->schema_dsn, n, "%s options='-c search_path=%s'", f->dsn, f->schema);
  if (parry_pg_connect(f->schema_dsn, "parry-test", &f->pg, err, sizeof err)) fail_msg("%s", err);
  snprintf(f->tmpdir, sizeof f->tmpdir, "/tmp/parry-test-exec-XXXXXX");
  if (!mkdtemp(f->tmpdir)) fail_msg("mkdtemp");
  f->cfg = parry_test_kafka_config(f->bootstrap, NULL);
  ex_set(f->cfg, "topics.alerts=%s", f->alerts);
  ex_set(f->cfg, "topics.dlq=%s", f->dlq);
  ex_set(f->cfg, "executor.group=%s", f->group);
  ex_set(f->cfg, "pg.dsn=%s", f->schema_dsn);
  ex_set(f->cfg, "executor.poll_interval=50ms");
  ex_set(f->cfg, "http.enabled=false");
  return 0;
}

static inline void ex_stop(ex_fixture_t *f) {
  if (f->w) {
    assert_int_equal(parry_worker_stop(f->w), 0);
    f->w = NULL;
  }
  if (f->metrics) parry_metrics_destroy(f->metrics);
  f->metrics = NULL;
}

static inline void ex_kill_child(ex_fixture_t *f) {
  if (f->child > 0) {
    kill(f->child, SIGKILL);
    waitpid(f->child, NULL, 0);
    f->child = 0;
  }
}

static inline int ex_teardown(void **state) {
  ex_fixture_t *f = *state;
  if (f->w) parry_worker_stop(f->w);
  f->w = NULL;
  ex_kill_child(f);
  for (int i = 0; i < f->n_helpers; i++) {
    kill(f->helpers[i], SIGTERM);
    waitpid(f->helpers[i], NULL, 0);
  }
  f->n_helpers = 0;
  if (f->metrics) parry_metrics_destroy(f->metrics);
  f->metrics = NULL;
  if (f->pg) {
    char sql[300];
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", f->schema);
    PQclear(PQexec(f->pg, sql));
    PQfinish(f->pg);
    f->pg = NULL;
  }
  if (f->producer) parry_kafka_destroy(f->producer);
  f->producer = NULL;
  parry_config_destroy(f->cfg);
  f->cfg = NULL;
  free(f->schema_dsn);
  f->schema_dsn = NULL;
  if (f->tmpdir[0]) ex_remove_dir(f->tmpdir);
  f->tmpdir[0] = '\0';
  return 0;
}

#define EX_NEED_SERVICES(f)                                                    \
  do {                                                                         \
    if (!(f)->bootstrap || !(f)->dsn) skip();                                  \
  } while (0)

/* Write runbook text to the fixture's folder and point executor.runbooks at it. */
static inline void ex_runbook(ex_fixture_t *f, const char *name, const char *yaml) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", f->tmpdir, name);
  ex_write_file(path, yaml);
  ex_set(f->cfg, "executor.runbooks=%s", path);
}

/* Start the executor in this process and wait until it is ready. */
static inline void ex_start(ex_fixture_t *f) {
  f->metrics = parry_metrics_new();
  char err[1024];
  if (parry_worker_start(f->cfg, f->metrics, &f->w, err, sizeof err))
    fail_msg("could not start the executor: %s", err);
  int64_t deadline = parry_test_now_ms() + EX_WAIT_MS;
  char why[512];
  while (!parry_worker_ready(f->w, why, sizeof why)) {
    if (parry_test_now_ms() > deadline) fail_msg("executor not ready: %s", why);
    usleep(20000);
  }
}

static inline int64_t ex_metric(ex_fixture_t *f, const char *name, const char *k1, const char *v1,
                                const char *k2, const char *v2) {
  parry_metric_t *m;
  if (k2) m = parry_metrics_counter(f->metrics, name, "", k1, v1, k2, v2, NULL);
  else if (k1) m = parry_metrics_counter(f->metrics, name, "", k1, v1, NULL);
  else m = parry_metrics_counter(f->metrics, name, "", NULL);
  return parry_metric_value(m);
}

static inline bool ex_wait_metric(ex_fixture_t *f, const char *name, const char *k1,
                                  const char *v1, int64_t want, int ms) {
  int64_t deadline = parry_test_now_ms() + ms;
  for (;;) {
    int64_t v = ex_metric(f, name, k1, v1, NULL, NULL);
    if (v >= want) return v == want;
    if (parry_test_now_ms() > deadline) {
      print_error("waited %d ms for %s = %lld, last %lld\n", ms, name, (long long)want,
                  (long long)v);
      return false;
    }
    usleep(20000);
  }
}

/* An alert from JSON (the codec's canonical form), produced with key. */
static inline void ex_produce_bytes(ex_fixture_t *f, const char *key, const void *v, size_t n) {
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        f->producer, RD_KAFKA_V_TOPIC(f->alerts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE((void *)v, n), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(f->producer, 50);
      continue;
    }
    assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    return;
  }
}

static inline void ex_produce_alert(ex_fixture_t *f, const char *key, const char *json) {
  Parry__V1__Alert *a = NULL;
  char err[512];
  if (parry_alert_from_json(json, strlen(json), &a, err, sizeof err)) fail_msg("%s: %s", json, err);
  size_t n = protobuf_c_message_get_packed_size(&a->base);
  uint8_t *buf = parry_xmalloc(n ? n : 1);
  protobuf_c_message_pack(&a->base, buf);
  ex_produce_bytes(f, key, buf, n);
  free(buf);
  parry__v1__alert__free_unpacked(a, NULL);
}

static inline void ex_flush(ex_fixture_t *f) { assert_int_equal(rd_kafka_flush(f->producer, 30000), 0); }

/* A brute-force style alert: id, rule, level, source.ip, time (seconds
 * after 2026-12-04T10:00:00Z). */
static inline void ex_alert_json(char *out, size_t n, const char *id, const char *rule,
                                 const char *level, const char *ip, int sec) {
  snprintf(out, n,
           "{\"@timestamp\":\"2026-12-04T10:%02d:%02dZ\",\"id\":\"%s\",\"rule\":{\"id\":\"%s\","
           "\"title\":\"SSH brute force\",\"level\":\"%s\",\"tags\":[\"attack.credential_access\"]},"
           "\"group_by\":{\"source.ip\":\"%s\"},\"count\":10}",
           sec / 60 % 60, sec % 60, id, rule, level, ip);
}

#endif
