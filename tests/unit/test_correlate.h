/* Shared harness of the correlation suites (test_correlate*.c): load rules,
 * turn JSON events into Signals through real Sigma matching and
 * parry_corr_signals, feed engines, record alerts and changelog state. */
#ifndef TEST_CORRELATE_H
#define TEST_CORRELATE_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "sigma/sigma.h"
#include "test_support.h"
#include "window/correlate.h"

#define SEC 1000000000LL
#define T0 1700000000LL /* 2023-11-14T22:13:20Z */

typedef struct {
  Parry__V1__Signal *sig;
  char *key;
} tsig_t;

typedef struct {
  char **lines; /* one line per alert: what the tests compare */
  size_t n;
  Parry__V1__Alert **alerts; /* copies */
  /* changelog: key -> latest bytes */
  char **keys;
  uint8_t **bytes;
  size_t *lens;
  size_t n_state;
  size_t tombstones, state_writes;
} tout_t;

typedef struct {
  parry_sigma_ruleset_t *rs;
  parry_sigma_report_t rep;
  parry_corr_set_t *set;
  parry_sigma_matcher_t *m;
  tsig_t *sigs;
  size_t n_sigs;
  parry_corr_signal_stats_t sst;
} th_t;

static inline void tout_alert(void *o, const Parry__V1__Alert *a) {
  tout_t *t = o;
  char line[2048];
  int w = snprintf(line, sizeof line, "%s count=%" PRIu64 " sup=%" PRIu64 " win=%" PRId64 "..%" PRId64
                   " events=%zu",
                   a->rule_id, a->count, a->suppressed, (int64_t)((a->window_start_ns / SEC) - T0),
                   (int64_t)((a->window_end_ns / SEC) - T0), a->n_events);
  for (size_t i = 0; i < a->n_group_by && w < (int)sizeof line - 64; i++)
    w += snprintf(line + w, sizeof line - (size_t)w, " %s=%s", a->group_by[i]->key,
                  a->group_by[i]->value);
  w += snprintf(line + w, sizeof line - (size_t)w, " id=%s", a->id);
  /* the references too, so that order and restore tests compare them */
  for (size_t i = 0; i < a->n_events && w < (int)sizeof line - 200; i++)
    w += snprintf(line + w, sizeof line - (size_t)w, "%s%s@%" PRId64, i ? "," : " refs=",
                  a->events[i]->id, (int64_t)(a->events[i]->timestamp_ns / SEC - T0));
  t->lines = parry_xreallocarray(t->lines, t->n + 1, sizeof *t->lines);
  t->alerts = parry_xreallocarray(t->alerts, t->n + 1, sizeof *t->alerts);
  t->lines[t->n] = parry_xstrdup(line);
  size_t len = parry__v1__alert__get_packed_size(a);
  uint8_t *buf = parry_xmalloc(len ? len : 1);
  parry__v1__alert__pack(a, buf);
  t->alerts[t->n] = parry__v1__alert__unpack(NULL, len, buf);
  free(buf);
  t->n++;
}

static inline void tout_state(void *o, const char *key, const uint8_t *bytes, size_t len) {
  tout_t *t = o;
  size_t i = 0;
  while (i < t->n_state && strcmp(t->keys[i], key)) i++;
  if (!bytes) {
    t->tombstones++;
    if (i < t->n_state) {
      free(t->keys[i]);
      free(t->bytes[i]);
      t->keys[i] = t->keys[t->n_state - 1];
      t->bytes[i] = t->bytes[t->n_state - 1];
      t->lens[i] = t->lens[t->n_state - 1];
      t->n_state--;
    }
    return;
  }
  t->state_writes++;
  if (i == t->n_state) {
    t->keys = parry_xreallocarray(t->keys, t->n_state + 1, sizeof *t->keys);
    t->bytes = parry_xreallocarray(t->bytes, t->n_state + 1, sizeof *t->bytes);
    t->lens = parry_xreallocarray(t->lens, t->n_state + 1, sizeof *t->lens);
    t->keys[i] = parry_xstrdup(key);
    t->bytes[i] = NULL;
    t->n_state++;
  }
  free(t->bytes[i]);
  t->bytes[i] = parry_xmalloc(len ? len : 1);
  memcpy(t->bytes[i], bytes, len);
  t->lens[i] = len;
}

static inline void tout_free(tout_t *t) {
  for (size_t i = 0; i < t->n; i++) {
    free(t->lines[i]);
    parry__v1__alert__free_unpacked(t->alerts[i], NULL);
  }
  free(t->lines);
  free(t->alerts);
  for (size_t i = 0; i < t->n_state; i++) {
    free(t->keys[i]);
    free(t->bytes[i]);
  }
  free(t->keys);
  free(t->bytes);
  free(t->lens);
  memset(t, 0, sizeof *t);
}

static inline parry_corr_sink_t tout_sink(tout_t *t) {
  parry_corr_sink_t s = {tout_alert, tout_state, t, NULL};
  return s;
}

static inline void th_load(th_t *h, const char *yaml) {
  char err[256] = "";
  memset(h, 0, sizeof *h);
  h->rs = parry_sigma_load_text("corr.yml", yaml, strlen(yaml), NULL, &h->rep, err, sizeof err);
  if (!h->rs) fail_msg("load: %s", err);
  h->set = parry_corr_compile(h->rs, &h->rep, err, sizeof err);
  if (!h->set) fail_msg("compile: %s", err);
  h->m = parry_sigma_matcher_new(h->rs);
}

static inline void th_free(th_t *h) {
  for (size_t i = 0; i < h->n_sigs; i++) {
    parry__v1__signal__free_unpacked(h->sigs[i].sig, NULL);
    free(h->sigs[i].key);
  }
  free(h->sigs);
  parry_sigma_matcher_destroy(h->m);
  parry_corr_set_destroy(h->set);
  parry_sigma_ruleset_destroy(h->rs);
  parry_sigma_report_free(&h->rep);
}

static inline void th_collect(void *o, const Parry__V1__Signal *sig, const char *key) {
  th_t *h = o;
  size_t len = parry__v1__signal__get_packed_size(sig);
  uint8_t *buf = parry_xmalloc(len ? len : 1);
  parry__v1__signal__pack(sig, buf);
  h->sigs = parry_xreallocarray(h->sigs, h->n_sigs + 1, sizeof *h->sigs);
  h->sigs[h->n_sigs].sig = parry__v1__signal__unpack(NULL, len, buf);
  h->sigs[h->n_sigs].key = parry_xstrdup(key);
  h->n_sigs++;
  free(buf);
}

/* Match one JSON event (fields at the top level; "@timestamp" given as
 * seconds after T0, id "e<sec>" unless `id` given) and append its signals. */
static inline size_t th_event(th_t *h, int64_t sec, const char *id, const char *fields) {
  char json[4096];
  char idbuf[64];
  if (!id) {
    snprintf(idbuf, sizeof idbuf, "e%" PRId64 "-%zu", sec, h->n_sigs);
    id = idbuf;
  }
  /* RFC 3339 time */
  time_t tt = (time_t)(T0 + sec);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char ts[64];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  snprintf(json, sizeof json, "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"%s\"}%s%s}", ts, id,
           *fields ? "," : "", fields);
  Parry__V1__Event *ev = NULL;
  char err[256];
  if (parry_event_from_json(json, strlen(json), &ev, err, sizeof err) != PARRY_OK)
    fail_msg("event %s: %s", json, err);
  const parry_sigma_match_t *mt;
  size_t nm = parry_sigma_match(h->m, ev, &mt), before = h->n_sigs;
  for (size_t i = 0; i < nm; i++)
    parry_corr_signals_ex(h->set, h->rs, mt[i].rule, ev, th_collect, h, &h->sst);
  parry__v1__event__free_unpacked(ev, NULL);
  return h->n_sigs - before;
}

/* Feed signals [from, to) in the order given by idx (NULL: natural). */
static inline void th_feed(th_t *h, parry_corr_engine_t *e, tout_t *out, const size_t *idx,
                           size_t from, size_t to) {
  parry_corr_sink_t sink = tout_sink(out);
  for (size_t i = from; i < to; i++) {
    char err[256];
    size_t k = idx ? idx[i] : i;
    if (parry_corr_engine_feed(e, h->sigs[k].sig, &sink, err, sizeof err) != PARRY_OK)
      fail_msg("feed %zu: %s", k, err);
  }
}

/* Run all signals through a fresh engine, finish, return the alerts. */
static inline void th_run(th_t *h, const parry_corr_options_t *opt, tout_t *out) {
  parry_corr_engine_t *e = parry_corr_engine_new(h->set, opt);
  th_feed(h, e, out, NULL, 0, h->n_sigs);
  parry_corr_sink_t sink = tout_sink(out);
  parry_corr_engine_finish(e, &sink);
  parry_corr_engine_destroy(e);
}

static inline void th_expect(const tout_t *out, size_t n, const char *const *needles) {
  bool ok = out->n == n;
  for (size_t i = 0; ok && i < n; i++) ok = strstr(out->lines[i], needles[i]) != NULL;
  if (!ok) {
    for (size_t i = 0; i < out->n; i++) print_message("  got: %s\n", out->lines[i]);
    for (size_t i = 0; i < n; i++) print_message("  want: %s\n", needles[i]);
    fail_msg("alerts differ");
  }
}

static inline void tout_same(const tout_t *a, const tout_t *b) {
  bool ok = a->n == b->n;
  for (size_t i = 0; ok && i < a->n; i++) ok = strcmp(a->lines[i], b->lines[i]) == 0;
  if (!ok) {
    for (size_t i = 0; i < a->n; i++) print_message("  a: %s\n", a->lines[i]);
    for (size_t i = 0; i < b->n; i++) print_message("  b: %s\n", b->lines[i]);
    fail_msg("alert sequences differ");
  }
}

/* Sort alert lines (for comparisons where only the set matters). */
static inline int th_cmpstr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}
static inline void tout_sort(tout_t *t) { qsort(t->lines, t->n, sizeof *t->lines, th_cmpstr); }

/* Read a whole file from the shared data, or NULL (the test skips). */
static inline char *th_data_file(const char *rel) {
  const char *dir = parry_test_data_dir();
  if (!dir) return NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  FILE *f = fopen(path, "rb");
  if (!f) {
    print_message("skip: %s not found\n", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = parry_xmalloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = 0;
  fclose(f);
  return buf;
}

/* The fenced code block of the correlation specification that contains
 * `needle` (first one), or NULL (the test skips). */
static inline char *th_spec_block(const char *needle) {
  char *md = th_data_file("sigma-specification/specification/sigma-correlation-rules-specification.md");
  if (!md) return NULL;
  char *out = NULL;
  for (char *p = strstr(md, "```"); p && !out;) {
    char *body = strchr(p, '\n');
    if (!body) break;
    body++;
    char *end = strstr(body, "```");
    if (!end) break;
    if (memmem(body, (size_t)(end - body), needle, strlen(needle)))
      out = parry_xstrndup(body, (size_t)(end - body));
    p = strstr(end + 3, "```");
  }
  free(md);
  if (!out) print_message("skip: no block with \"%s\" in the specification\n", needle);
  return out;
}

/* a + b as a new string */
static inline char *th_cat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = parry_xmalloc(la + lb + 1);
  memcpy(s, a, la);
  memcpy(s + la, b, lb + 1);
  return s;
}

/* s with the first `from` replaced by `to` (new string) */
static inline char *th_replace(const char *s, const char *from, const char *to) {
  const char *p = strstr(s, from);
  if (!p) fail_msg("'%s' not in text", from);
  size_t a = (size_t)(p - s), lf = strlen(from), lt = strlen(to), ls = strlen(s);
  char *r = parry_xmalloc(ls - lf + lt + 1);
  memcpy(r, s, a);
  memcpy(r + a, to, lt);
  memcpy(r + a + lt, p + lf, ls - a - lf + 1);
  return r;
}

#endif
