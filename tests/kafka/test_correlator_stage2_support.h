/* Shared by the correlator stage-2 and fleet tests (included, not a
 * runner): the rules, a generated sshd event stream, the offline
 * expectation through the same engine, and a read_committed alert reader.
 * Needs g_bootstrap and g_rule_path from the including test. */
#ifndef PARRY_TEST_CORRELATOR_STAGE2_SUPPORT_H
#define PARRY_TEST_CORRELATOR_STAGE2_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect.h"
#include "kafka_support.h"
#include "parry/codec.h"
#include "parry/mem.h"
#include "sigma/sigma.h"
#include "window/correlate.h"

#ifndef WAIT_MS
#define WAIT_MS 60000
#endif

static const char *g_bootstrap;
static char g_rule_path[300];

#define FAIL_RULE "5b7a0c1e-3d4f-4e5a-9b6c-7d8e9f0a1b2c"
#define OK_RULE "6c8b1d2f-4e50-4f6b-8c7d-8e9fa0b1c2d3"
#define CORR_RULE "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
#define T0 1796378400LL /* 2026-12-04T10:00:00Z */


static const char rules_yaml[] =
    "title: SSH failed password\n"
    "id: " FAIL_RULE "\n"
    "level: low\n"
    "logsource:\n"
    "  product: linux\n"
    "  service: sshd\n"
    "detection:\n"
    "  selection:\n"
    "    message|contains: 'Failed password'\n"
    "  condition: selection\n"
    "---\n"
    "title: SSH accepted password\n"
    "id: " OK_RULE "\n"
    "level: medium\n"
    "logsource:\n"
    "  product: linux\n"
    "  service: sshd\n"
    "detection:\n"
    "  selection:\n"
    "    message|contains: 'Accepted password'\n"
    "  condition: selection\n"
    "---\n"
    "title: SSH brute force\n"
    "id: " CORR_RULE "\n"
    "level: high\n"
    "correlation:\n"
    "  type: event_count\n"
    "  rules:\n"
    "    - " FAIL_RULE "\n"
    "  group-by:\n"
    "    - source.ip\n"
    "  timespan: 1m\n"
    "  condition:\n"
    "    gte: 5\n";

/* ------------------------------------------------------------ events */

typedef struct {
  int64_t t; /* seconds */
  char ip[32];
  bool ok;   /* accepted, else failed */
  char *json;
  Parry__V1__Event *ev;
} ev_t;

typedef struct {
  ev_t *v;
  size_t n, cap;
} evs_t;

static void add_event(evs_t *e, int64_t t, const char *ip, bool ok) {
  if (e->n == e->cap) {
    e->cap = e->cap ? 2 * e->cap : 64;
    e->v = parry_xreallocarray(e->v, e->cap, sizeof *e->v);
  }
  ev_t *x = &e->v[e->n++];
  memset(x, 0, sizeof *x);
  x->t = t;
  x->ok = ok;
  snprintf(x->ip, sizeof x->ip, "%s", ip);
}

static int ev_cmp(const void *a, const void *b) {
  const ev_t *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return strcmp(x->ip, y->ip);
}

/* Sort by time, then give each event its id and JSON and decode it. */
static void finish_events(evs_t *e) {
  qsort(e->v, e->n, sizeof *e->v, ev_cmp);
  for (size_t i = 0; i < e->n; i++) {
    ev_t *x = &e->v[i];
    char ts[64], json[1024], err[512];
    time_t tt = (time_t)x->t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(json, sizeof json,
             "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"ev-%zu\"},\"source\":{\"ip\":\"%s\"},"
             "\"host\":{\"name\":\"web1\"},\"message\":\"%s password for root from %s\","
             "\"logsource\":{\"product\":\"linux\",\"service\":\"sshd\"}}",
             ts, i, x->ip, x->ok ? "Accepted" : "Failed", x->ip);
    x->json = parry_xstrdup(json);
    if (parry_event_from_json(json, strlen(json), &x->ev, err, sizeof err))
      fail_msg("%s: %s", json, err);
  }
}

static void free_events(evs_t *e) {
  for (size_t i = 0; i < e->n; i++) {
    free(e->v[i].json);
    parry__v1__event__free_unpacked(e->v[i].ev, NULL);
  }
  free(e->v);
}

/* --------------------------------------------------------- expectation */

typedef struct {
  char id[64];
  char rule[64];
  char group[64]; /* first group-by value */
  uint64_t count;
} want_t;

typedef struct {
  want_t v[512];
  size_t n;
} wants_t;

static void want_add(wants_t *w, const Parry__V1__Alert *a) {
  assert_true(w->n < 512);
  want_t *x = &w->v[w->n++];
  snprintf(x->id, sizeof x->id, "%s", a->id);
  snprintf(x->rule, sizeof x->rule, "%s", a->rule_id);
  snprintf(x->group, sizeof x->group, "%s", a->n_group_by ? a->group_by[0]->value : "");
  x->count = a->count;
}

static void on_want(void *opaque, const Parry__V1__Alert *a) { want_add(opaque, a); }
static void on_state_ignored(void *opaque, const char *key, const uint8_t *b, size_t len) {
  (void)opaque, (void)key, (void)b, (void)len;
}

typedef struct {
  parry_corr_engine_t *e;
  wants_t *w;
} feed_ctx_t;

static void on_offline_signal(void *opaque, const Parry__V1__Signal *sig, const char *key) {
  (void)key;
  feed_ctx_t *f = opaque;
  const parry_corr_sink_t sink = {on_want, on_state_ignored, f->w, NULL};
  char err[512];
  if (parry_corr_engine_feed(f->e, sig, &sink, err, sizeof err)) fail_msg("feed: %s", err);
}

/* What the offline pipeline makes of events [0, n): detection alerts of
 * generating rules, and the engine's alerts over the signals in event order. */
static void offline(const evs_t *e, size_t n, wants_t *w) {
  w->n = 0;
  parry_sigma_report_t rep = {0};
  char err[512];
  const char *paths[] = {g_rule_path};
  parry_sigma_options_t sopt = {0};
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, 1, &sopt, &rep, err, sizeof err);
  assert_non_null(rs);
  parry_sigma_report_free(&rep);
  parry_corr_set_t *set = parry_corr_compile(rs, &rep, err, sizeof err);
  assert_non_null(set);
  assert_int_equal(rep.rejected, 0);
  parry_sigma_report_free(&rep);
  assert_int_equal(parry_corr_set_count(set), 1);
  parry_corr_options_t opt;
  parry_corr_options_default(&opt);
  opt.allowed_lateness_ns = 0;
  parry_corr_engine_t *eng = parry_corr_engine_new(set, &opt);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  feed_ctx_t f = {eng, w};
  for (size_t i = 0; i < n; i++) {
    const parry_sigma_match_t *matches;
    size_t nm = parry_sigma_match(m, e->v[i].ev, &matches);
    for (size_t k = 0; k < nm; k++) {
      uint32_t r = matches[k].rule;
      if (parry_corr_rule_used(set, r))
        parry_corr_signals(set, rs, r, e->v[i].ev, on_offline_signal, &f);
      if (parry_corr_rule_generates(set, r)) {
        const parry_sigma_rule_info_t *info = parry_sigma_rule_info(rs, r);
        Parry__V1__Alert a = PARRY__V1__ALERT__INIT;
        char id[PARRY_ALERT_ID_LEN + 1];
        parry_detect_alert_id(parry_detect_rule_key(info), e->v[i].ev->id, id);
        a.id = id;
        a.rule_id = (char *)parry_detect_rule_key(info);
        a.count = 1;
        want_add(w, &a);
      }
    }
  }
  parry_sigma_matcher_destroy(m);
  parry_corr_engine_destroy(eng);
  parry_corr_set_destroy(set);
  parry_sigma_ruleset_destroy(rs);
}

/* -------------------------------------------------------------- reading */

typedef struct {
  char *key;
  Parry__V1__Alert *alert;
} got_t;

typedef struct {
  got_t v[1024];
  size_t n;
} gots_t;

static void gots_free(gots_t *g) {
  for (size_t i = 0; i < g->n; i++) {
    free(g->v[i].key);
    parry__v1__alert__free_unpacked(g->v[i].alert, NULL);
  }
  g->n = 0;
}

static bool all_found(const gots_t *g, const wants_t *w) {
  for (size_t i = 0; i < w->n; i++) {
    bool found = false;
    for (size_t k = 0; k < g->n && !found; k++) found = strcmp(g->v[k].alert->id, w->v[i].id) == 0;
    if (!found) return false;
  }
  return true;
}

/* Read topics.alerts (read_committed, from the start) until every wanted
 * alert is there, then 2 s more for duplicates. */
static void collect(const char *topic, int partitions, const wants_t *w, gots_t *g,
                    void (*check)(void)) {
  g->n = 0;
  char group[160], err[512];
  parry_test_unique_name("parry-cor2-reader", group, sizeof group);
  static const char *const props[] = {"isolation.level=read_committed", NULL};
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, props);
  rd_kafka_t *rk = parry_kafka_consumer_new(cfg, NULL, group, NULL, err, sizeof err);
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++)
    rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  int64_t deadline = parry_test_now_ms() + WAIT_MS, extra_until = 0;
  for (;;) {
    int64_t now = parry_test_now_ms();
    if (!extra_until && all_found(g, w)) extra_until = now + 2000;
    if ((extra_until && now > extra_until) || now > deadline) break;
    if (check) check();
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) {
      assert_true(g->n < 1024);
      g->v[g->n].key = m->key ? parry_test_dup_bytes(m->key, m->key_len) : NULL;
      g->v[g->n].alert = parry__v1__alert__unpack(NULL, m->len, m->payload);
      assert_non_null(g->v[g->n].alert);
      g->n++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
}

/* Exactly the wanted alerts: each once, same rule, count and group. */
static void compare(const gots_t *g, const wants_t *w) {
  bool ok = g->n == w->n;
  for (size_t i = 0; i < w->n; i++) {
    size_t seen = 0;
    for (size_t k = 0; k < g->n; k++) {
      const Parry__V1__Alert *a = g->v[k].alert;
      if (strcmp(a->id, w->v[i].id) != 0) continue;
      seen++;
      assert_string_equal(a->rule_id, w->v[i].rule);
      assert_int_equal(a->count, w->v[i].count);
      if (w->v[i].group[0]) {
        assert_int_equal(a->n_group_by, 1);
        assert_string_equal(a->group_by[0]->key, "source.ip");
        assert_string_equal(a->group_by[0]->value, w->v[i].group);
        assert_true(a->has_window);
        char key[256];
        snprintf(key, sizeof key, "%s|%s", CORR_RULE, w->v[i].group);
        assert_string_equal(g->v[k].key, key);
      }
    }
    if (seen != 1) {
      printf("# alert %s (%s %s): seen %zu times\n", w->v[i].id, w->v[i].rule, w->v[i].group,
             seen);
      ok = false;
    }
  }
  if (!ok) {
    for (size_t k = 0; k < g->n; k++)
      printf("# got %s %s count %llu\n", g->v[k].alert->id, g->v[k].alert->rule_id,
             (unsigned long long)g->v[k].alert->count);
    fail_msg("expected %zu alerts, got %zu (see above)", w->n, g->n);
  }
}

#endif
