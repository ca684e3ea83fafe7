/* Window semantics: out-of-order and late signals, suppression, the memory
 * cap, idle expiry, dropping keys, interleaving independence, and restore
 * from the changelog bytes at any point giving the same alerts. */
#include "test_correlate.h"

#define LS "\"logsource\":{\"product\":\"test\"}"

static const char *const RULES =
    "title: burst\nid: burst\ncorrelation:\n  type: event_count\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 60s\n  condition: {gte: 3}\nlevel: high\ntags: [t.a, t.b]\n"
    "---\ntitle: users\nid: users\ncorrelation:\n  type: value_count\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 2m\n  condition: {gte: 3, field: acct}\n"
    "---\ntitle: avg\nid: avg\ncorrelation:\n  type: value_avg\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 90s\n  condition: {gt: 50, field: n}\n"
    "---\ntitle: sum\nid: sum\ncorrelation:\n  type: value_sum\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 30s\n  condition: {gte: 200, field: n}\n"
    "---\ntitle: pct\nid: pct\ncorrelation:\n  type: value_percentile\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 5m\n  condition: {lt: 20, field: acct}\n"
    "---\ntitle: few\nid: few\ncorrelation:\n  type: event_count\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 45s\n  condition: {lte: 1}\n"
    "---\ntitle: seq\nid: seq\ngenerate: true\ncorrelation:\n  type: temporal_ordered\n"
    "  rules: [burst, other]\n  group-by: [hst]\n  timespan: 2m\n"
    "---\ntitle: both\nid: both\ncorrelation:\n  type: temporal\n  rules: [hit, other]\n"
    "  group-by: [hst]\n  timespan: 20s\n"
    "---\ntitle: hit\nname: hit\nlogsource: {product: test}\ndetection: {s: {k: hit}, condition: s}\n"
    "---\ntitle: other\nname: other\nlogsource: {product: test}\n"
    "detection: {s: {k: other}, condition: s}\n";

/* event ids of three shapes: 32 hex digits (kept packed), long (on the
 * heap in reorder buffers), short (inline) */
static const char *some_id(size_t i, char *buf, size_t n) {
  if (i % 3 == 0) {
    snprintf(buf, n, "%016zx%016zx", i * 7919u, i);
    return buf;
  }
  if (i % 3 == 1) {
    snprintf(buf, n, "event-with-a-rather-long-identifier-%zu", i);
    return buf;
  }
  return NULL;
}

static void hit(th_t *h, int64_t sec, const char *host, const char *user, int n) {
  char f[256], id[64];
  snprintf(f, sizeof f, LS ",\"k\":\"hit\",\"hst\":\"%s\",\"acct\":\"%s\",\"n\":%d", host, user, n);
  th_event(h, sec, some_id(h->n_sigs, id, sizeof id), f);
}
static void other(th_t *h, int64_t sec, const char *host) {
  char f[256];
  snprintf(f, sizeof f, LS ",\"k\":\"other\",\"hst\":\"%s\"", host);
  th_event(h, sec, NULL, f);
}

/* a mixed, partly out-of-order history over three hosts */
static void history(th_t *h) {
  static const char *const hosts[] = {"a", "b", "c|x"};
  uint32_t seed = 7;
  for (int i = 0; i < 120; i++) {
    seed = seed * 1103515245u + 12345u;
    const char *host = hosts[(seed >> 16) % 3];
    int64_t t = i * 4 - (int64_t)((seed >> 8) % 8); /* up to 7 s out of order */
    char user[16];
    snprintf(user, sizeof user, "u%u", (seed >> 4) % 5);
    if ((seed >> 20) % 7 == 0)
      other(h, t, host);
    else
      hit(h, t, host, user, (int)((seed >> 12) % 100));
  }
}

/* forget alert lines starting with prefix */
static void tout_drop_prefix(tout_t *t, const char *prefix) {
  size_t w = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (strncmp(t->lines[i], prefix, strlen(prefix)) == 0) {
      free(t->lines[i]);
      parry__v1__alert__free_unpacked(t->alerts[i], NULL);
      continue;
    }
    t->lines[w] = t->lines[i];
    t->alerts[w++] = t->alerts[i];
  }
  t->n = w;
}

static parry_corr_options_t opts(void) {
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.allowed_lateness_ns = 10 * SEC;
  o.default_suppress_ns = 50 * SEC;
  o.max_event_refs = 4;
  return o;
}

static void test_loads(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  if (h.rep.rejected) parry_sigma_report_print(&h.rep, stdout, true);
  assert_int_equal(h.rep.rejected, 0);
  assert_int_equal(parry_corr_set_count(h.set), 8);
  th_free(&h);
}

/* Signals within the allowed lateness give the same alerts in any order. */
static void test_out_of_order_within_lateness(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  for (int i = 0; i < 40; i++) hit(&h, i * 3, "a", i % 2 ? "x" : "y", i * 5);
  parry_corr_options_t o = opts();
  tout_t sorted = {0}, shuffled = {0};
  th_run(&h, &o, &sorted);
  assert_true(sorted.n > 3);
  /* reverse blocks of 3 signals (9 s of event time: within 10 s) */
  size_t n = h.n_sigs, *idx = parry_xnew(size_t, n);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  for (size_t b = 0; b + 3 <= n; b += 3) {
    size_t t = idx[b];
    idx[b] = idx[b + 2];
    idx[b + 2] = t;
  }
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  th_feed(&h, e, &shuffled, idx, 0, n);
  parry_corr_sink_t sink = tout_sink(&shuffled);
  parry_corr_engine_finish(e, &sink);
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.late, 0);
  parry_corr_engine_destroy(e);
  tout_same(&sorted, &shuffled);
  free(idx);
  tout_free(&sorted);
  tout_free(&shuffled);
  th_free(&h);
}

/* RULES without the chained one (a chained signal waits for its source
 * key's lateness, so chains are compared elsewhere). */
static const char *const FLAT_RULES =
    "title: burst\nid: burst\ncorrelation:\n  type: event_count\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 60s\n  condition: {gte: 3}\n"
    "---\ntitle: users\nid: users\ncorrelation:\n  type: value_count\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 2m\n  condition: {gte: 3, field: acct}\n"
    "---\ntitle: avg\nid: avg\ncorrelation:\n  type: value_avg\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 90s\n  condition: {gt: 50, field: n}\n"
    "---\ntitle: sum\nid: sum\ncorrelation:\n  type: value_sum\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 30s\n  condition: {gte: 200, field: n}\n"
    "---\ntitle: pct\nid: pct\ncorrelation:\n  type: value_percentile\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 5m\n  condition: {lt: 20, field: acct}\n"
    "---\ntitle: few\nid: few\ncorrelation:\n  type: event_count\n  rules: [hit]\n"
    "  group-by: [hst]\n  timespan: 45s\n  condition: {lte: 1}\n"
    "---\ntitle: both\nid: both\ncorrelation:\n  type: temporal\n  rules: [hit, other]\n"
    "  group-by: [hst]\n  timespan: 20s\n"
    "---\ntitle: ordered\nid: ordered\ncorrelation:\n  type: temporal_ordered\n"
    "  rules: [hit, other]\n  group-by: [hst]\n  timespan: 20s\n"
    "---\ntitle: hit\nname: hit\nlogsource: {product: test}\ndetection: {s: {k: hit}, condition: s}\n"
    "---\ntitle: other\nname: other\nlogsource: {product: test}\n"
    "detection: {s: {k: other}, condition: s}\n";

/* event ids of every stored shape: 32 lower-case hex digits (packed),
 * 32 characters that are not (upper case: text), short (inline in the
 * reorder buffer), long (on the heap), over 127 bytes (cut) */
static const char *shaped_id(uint32_t r, size_t i, char *buf, size_t n) {
  switch (r % 5) {
  case 0: snprintf(buf, n, "%08x%08x%016zx", r, r * 2654435761u, i); break;
  case 1: snprintf(buf, n, "%08X%08X%016zx", r | 0xa0000000u, r, i); break;
  case 2: snprintf(buf, n, "s%zu", i); break;
  case 3: snprintf(buf, n, "event-with-a-rather-long-identifier-%zu-%u", i, r); break;
  default: {
    int w = snprintf(buf, n, "%zu-", i);
    memset(buf + w, 'x', 150);
    buf[w + 150] = 0;
  }
  }
  return buf;
}

static th_t *cmp_h; /* qsort context */
static int cmp_event_order(const void *a, const void *b) {
  const Parry__V1__Signal *x = cmp_h->sigs[*(const size_t *)a].sig,
                          *y = cmp_h->sigs[*(const size_t *)b].sig;
  if (x->timestamp_ns != y->timestamp_ns) return x->timestamp_ns < y->timestamp_ns ? -1 : 1;
  int c = strcmp(x->rule_id, y->rule_id); /* "hit" < "other": their order in `rules` */
  if (c) return c;
  c = strcmp(x->event->id, y->event->id);
  if (c) return c;
  return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}
static const int64_t *cmp_arrival;
static int cmp_by_arrival(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  if (cmp_arrival[i] != cmp_arrival[j]) return cmp_arrival[i] < cmp_arrival[j] ? -1 : 1;
  return i < j ? -1 : 1;
}

/* The reorder buffer (in-order appends, out-of-order inserts, ties broken
 * by rule then event id across every id shape) gives exactly the alerts of
 * the same signals fed in event-time order without lateness, where no
 * buffer is used at all. Random histories, many equal times. */
static void test_reorder_matches_in_order(void **state) {
  (void)state;
  for (uint32_t seed = 1; seed <= 8; seed++) {
    th_t h;
    th_load(&h, FLAT_RULES);
    static const char *const hosts[] = {"a", "b", "c|x"};
    uint32_t r = seed * 2654435761u;
    for (size_t i = 0; i < 400; i++) {
      r = r * 1103515245u + 12345u;
      const char *host = hosts[(r >> 16) % 3];
      int64_t sec = (int64_t)(i / 3) + (int64_t)((r >> 9) % 3); /* many ties */
      char f[256], id[256];
      if ((r >> 20) % 5 == 0)
        snprintf(f, sizeof f, LS ",\"k\":\"other\",\"hst\":\"%s\"", host);
      else
        snprintf(f, sizeof f, LS ",\"k\":\"hit\",\"hst\":\"%s\",\"acct\":\"u%u\",\"n\":%u", host,
                 (r >> 4) % 6, (r >> 12) % 100);
      th_event(&h, sec, shaped_id(r >> 3, i, id, sizeof id), f);
    }
    size_t n = h.n_sigs, *ord = parry_xnew(size_t, n), *arr = parry_xnew(size_t, n);
    int64_t *arrival = parry_xnew(int64_t, n);
    for (size_t i = 0; i < n; i++) ord[i] = arr[i] = i;
    cmp_h = &h;
    qsort(ord, n, sizeof *ord, cmp_event_order);
    /* arrival = time + up to 20 s: never older than (newest - 30 s) */
    for (size_t i = 0; i < n; i++) {
      r = r * 1103515245u + 12345u;
      arrival[i] = h.sigs[i].sig->timestamp_ns + (int64_t)((r >> 8) % 21) * SEC;
    }
    cmp_arrival = arrival;
    qsort(arr, n, sizeof *arr, cmp_by_arrival);

    parry_corr_options_t o = opts();
    o.max_event_refs = seed % 2 ? 4 : 100;
    tout_t ref = {0}, buffered = {0}, shuffled = {0};
    o.allowed_lateness_ns = 0; /* in event-time order: the fast path */
    parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
    th_feed(&h, e, &ref, ord, 0, n);
    parry_corr_sink_t sink = tout_sink(&ref);
    parry_corr_engine_finish(e, &sink);
    parry_corr_engine_destroy(e);

    o.allowed_lateness_ns = 30 * SEC;
    const size_t *orders[2] = {ord, arr};
    tout_t *outs[2] = {&buffered, &shuffled};
    for (int k = 0; k < 2; k++) {
      e = parry_corr_engine_new(h.set, &o);
      th_feed(&h, e, outs[k], orders[k], 0, n);
      sink = tout_sink(outs[k]);
      parry_corr_engine_finish(e, &sink);
      parry_corr_stats_t st;
      parry_corr_engine_stats(e, &st);
      assert_int_equal(st.late, 0);
      assert_int_equal(st.updates, n);
      parry_corr_engine_destroy(e);
    }
    assert_true(ref.n > 10);
    tout_sort(&ref);
    tout_sort(&buffered);
    tout_sort(&shuffled);
    tout_same(&ref, &buffered);
    tout_same(&ref, &shuffled);
    free(ord);
    free(arr);
    free(arrival);
    tout_free(&ref);
    tout_free(&buffered);
    tout_free(&shuffled);
    th_free(&h);
  }
}

/* Older than (newest - lateness): counted as late and ignored. */
static void test_late(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  hit(&h, 100, "a", "u", 1);
  hit(&h, 89, "a", "u", 1); /* 11 s behind with 10 s allowed: late (x8 rules) */
  hit(&h, 90, "a", "u", 1); /* exactly at the limit: accepted */
  parry_corr_options_t o = opts();
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  tout_t out = {0};
  th_feed(&h, e, &out, NULL, 0, h.n_sigs);
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.late, 7); /* the seven rules that use `hit` */
  assert_int_equal(st.updates, h.n_sigs);
  parry_corr_sink_t sink = tout_sink(&out);
  parry_corr_engine_finish(e, &sink);
  parry_corr_engine_destroy(e);
  /* burst (gte 3) did not fire: only 2 accepted */
  for (size_t i = 0; i < out.n; i++) assert_null(strstr(out.lines[i], "burst count"));
  tout_free(&out);
  th_free(&h);

  /* lateness 0: anything older than the newest is late */
  th_load(&h, "title: c\nid: c\ncorrelation: {type: event_count, rules: [r], group-by: [hst], "
              "timespan: 1m, condition: {gte: 2}}\n---\ntitle: r\nname: r\nlogsource: {product: test}\n"
              "detection: {s: {k: hit}, condition: s}\n");
  hit(&h, 10, "a", "u", 1);
  hit(&h, 9, "a", "u", 1);
  hit(&h, 10, "a", "u", 1); /* same time as the newest: fine */
  parry_corr_options_default(&o);
  e = parry_corr_engine_new(h.set, &o);
  memset(&out, 0, sizeof out);
  th_feed(&h, e, &out, NULL, 0, h.n_sigs);
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.late, 1);
  assert_int_equal(out.n, 1);
  assert_non_null(strstr(out.lines[0], "count=2 sup=0 win=10..10"));
  parry_corr_engine_destroy(e);
  tout_free(&out);
  th_free(&h);
}

/* After an alert, the same rule and key is quiet for the suppression
 * period; what was suppressed is counted on the next alert. */
static void test_suppression(void **state) {
  (void)state;
  const char *rule =
      "title: c\nid: c\ncorrelation: {type: event_count, rules: [r], group-by: [hst], "
      "timespan: 1m, condition: {gte: 3}}\n---\ntitle: r\nname: r\nlogsource: {product: test}\n"
      "detection: {s: {k: hit}, condition: s}\n";
  th_t h;
  th_load(&h, rule);
  for (int i = 0; i < 30; i++) hit(&h, i, "a", "u", 1); /* fires every 3rd: 10 times */
  for (int i = 0; i < 3; i++) hit(&h, 700 + i, "a", "u", 1);
  for (int i = 0; i < 3; i++) hit(&h, i, "b", "u", 1); /* other key: own suppression */
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.default_suppress_ns = 600 * SEC;
  tout_t out = {0};
  th_run(&h, &o, &out);
  const char *want[] = {"c count=3 sup=0 win=0..2 events=3 hst=a",
                        "c count=3 sup=9 win=700..702 events=3 hst=a",
                        "c count=3 sup=0 win=0..2 events=3 hst=b"};
  th_expect(&out, 3, want);
  tout_free(&out);
  /* without suppression: one alert per 3 events, never one per event */
  parry_corr_options_default(&o);
  th_run(&h, &o, &out);
  assert_int_equal(out.n, 12);
  tout_free(&out);
  th_free(&h);

  /* the rule's own `suppress` wins over the default */
  char *r2 = th_replace(rule, "title: c\n", "title: c\nsuppress: 10s\n");
  th_load(&h, r2);
  for (int i = 0; i < 30; i++) hit(&h, i, "a", "u", 1);
  parry_corr_options_default(&o);
  o.default_suppress_ns = 600 * SEC;
  th_run(&h, &o, &out);
  /* fires at 2, 5, 8, ...: 2 alerts, 5 and 8 suppressed, 14 alerts (sup=3:
   * 5 8 11), ... */
  const char *want2[] = {"win=0..2 ", "sup=3 win=12..14 ", "sup=3 win=24..26 "};
  th_expect(&out, 3, want2);
  tout_free(&out);
  free(r2);
  th_free(&h);
}

/* At the memory cap the least recently updated keys go; counted,
 * tombstoned; the engine keeps working. */
static void test_memory_cap(void **state) {
  (void)state;
  th_t h;
  th_load(&h, "title: c\nid: c\ncorrelation: {type: event_count, rules: [r], group-by: [hst], "
              "timespan: 2h, condition: {gte: 3}}\n---\ntitle: r\nname: r\n"
              "logsource: {product: test}\ndetection: {s: {k: hit}, condition: s}\n");
  char host[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(host, sizeof host, "h%d", i);
    hit(&h, i, host, "u", 1);
  }
  for (int i = 0; i < 3; i++) hit(&h, 4000 + i, "last", "u", 1);
  /* the oldest keys are gone: h0 completing its burst now counts from 1 */
  hit(&h, 4010, "h0", "u", 1);
  hit(&h, 4011, "h0", "u", 1);
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.memory_cap_bytes = 64 * 1024;
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  tout_t out = {0};
  th_feed(&h, e, &out, NULL, 0, h.n_sigs);
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_true(st.evicted > 0);
  assert_true(st.bytes <= o.memory_cap_bytes);
  assert_int_equal(st.keys + st.evicted, 3002);
  assert_int_equal(out.tombstones, st.evicted);
  const char *want[] = {"c count=3 sup=0 win=4000..4002 events=3 hst=last"};
  th_expect(&out, 1, want);
  parry_corr_engine_destroy(e);
  tout_free(&out);
  /* without a cap, h0 has 3 events and fires at 4011 */
  o.memory_cap_bytes = 0;
  th_run(&h, &o, &out);
  assert_int_equal(out.n, 2);
  tout_free(&out);
  th_free(&h);
}

/* Split the history anywhere, restore every key's latest changelog bytes
 * into a fresh engine, continue: the same alerts as without the break. */
static void test_restore_anywhere(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  history(&h);
  parry_corr_options_t o = opts();
  tout_t whole = {0};
  th_run(&h, &o, &whole);
  assert_true(whole.n >= 10);
  /* every rule kind fired at least once in the history */
  const char *kinds[] = {"burst ", "users ", "avg ", "sum ", "pct ", "few ", "seq ", "both "};
  for (size_t k = 0; k < 8; k++) {
    bool seen = false;
    for (size_t i = 0; i < whole.n; i++) seen = seen || strncmp(whole.lines[i], kinds[k], strlen(kinds[k])) == 0;
    if (!seen) fail_msg("no alert of rule %s in the history", kinds[k]);
  }
  for (size_t split = 0; split <= h.n_sigs; split += 7) {
    tout_t a = {0}, b = {0};
    parry_corr_engine_t *e1 = parry_corr_engine_new(h.set, &o);
    th_feed(&h, e1, &a, NULL, 0, split);
    parry_corr_engine_destroy(e1);
    parry_corr_engine_t *e2 = parry_corr_engine_new(h.set, &o);
    for (size_t i = 0; i < a.n_state; i++) {
      char err[256];
      if (parry_corr_engine_restore(e2, a.keys[i], a.bytes[i], a.lens[i], err, sizeof err) != PARRY_OK)
        fail_msg("restore %s: %s", a.keys[i], err);
    }
    parry_corr_stats_t st;
    parry_corr_engine_stats(e2, &st);
    assert_int_equal(st.keys, a.n_state);
    th_feed(&h, e2, &b, NULL, split, h.n_sigs);
    parry_corr_sink_t sink = tout_sink(&b);
    parry_corr_engine_finish(e2, &sink);
    parry_corr_engine_stats(e2, &st);
    assert_int_equal(st.keys, 0);
    assert_true(st.bytes <= 64 * 1024); /* only the table is left: the accounting balances */
    parry_corr_engine_destroy(e2);
    /* a's alerts then b's */
    tout_t both = {0};
    for (size_t i = 0; i < a.n; i++) tout_alert(&both, a.alerts[i]);
    for (size_t i = 0; i < b.n; i++) tout_alert(&both, b.alerts[i]);
    tout_same(&whole, &both);
    tout_free(&a);
    tout_free(&b);
    tout_free(&both);
  }
  tout_free(&whole);
  th_free(&h);
}

/* Results depend only on each key's own signals. A chained rule (seq) is
 * the exception by construction: its key gets the upstream rule's alerts
 * and its own signals from two sources, so their relative order matters
 * beyond the allowed lateness (docs/correlation.md); it is left out here. */
static void test_interleaving(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  history(&h);
  parry_corr_options_t o = opts();
  tout_t mixed = {0}, bykey = {0};
  th_run(&h, &o, &mixed);
  /* all signals of one partition key, then the next: a different
   * interleaving of keys, the same per-key order */
  size_t n = h.n_sigs, *idx = parry_xnew(size_t, n), m = 0;
  bool *done = parry_xnew(bool, n);
  for (size_t i = 0; i < n; i++) {
    if (done[i]) continue;
    for (size_t j = i; j < n; j++)
      if (!done[j] && strcmp(h.sigs[j].key, h.sigs[i].key) == 0) {
        idx[m++] = j;
        done[j] = true;
      }
  }
  assert_int_equal(m, n);
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  th_feed(&h, e, &bykey, idx, 0, n);
  parry_corr_sink_t sink = tout_sink(&bykey);
  parry_corr_engine_finish(e, &sink);
  parry_corr_engine_destroy(e);
  tout_drop_prefix(&mixed, "seq ");
  tout_drop_prefix(&bykey, "seq ");
  assert_true(mixed.n > 10);
  tout_sort(&mixed);
  tout_sort(&bykey);
  tout_same(&mixed, &bykey);
  free(idx);
  free(done);
  tout_free(&mixed);
  tout_free(&bykey);
  th_free(&h);
}

/* Corrupt changelog bytes are errors, never crashes. */
static void test_corrupt_state(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  history(&h);
  parry_corr_options_t o = opts();
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  tout_t a = {0};
  th_feed(&h, e, &a, NULL, 0, h.n_sigs / 2);
  parry_corr_engine_destroy(e);
  assert_true(a.n_state > 5);
  parry_corr_engine_t *r = parry_corr_engine_new(h.set, &o);
  char err[256];
  size_t ok = 0, bad = 0;
  for (size_t k = 0; k < a.n_state; k++) {
    /* every truncation fails */
    for (size_t len = 0; len < a.lens[k]; len++) {
      err[0] = 0;
      assert_int_equal(parry_corr_engine_restore(r, a.keys[k], a.bytes[k], len, err, sizeof err),
                       PARRY_ERR_INVALID);
      assert_true(err[0] != 0);
    }
    /* trailing garbage fails */
    uint8_t *x = parry_xmalloc(a.lens[k] + 1);
    memcpy(x, a.bytes[k], a.lens[k]);
    x[a.lens[k]] = 0;
    assert_int_equal(parry_corr_engine_restore(r, a.keys[k], x, a.lens[k] + 1, err, sizeof err),
                     PARRY_ERR_INVALID);
    /* every single flipped byte: an error or a state; never a crash */
    for (size_t i = 0; i < a.lens[k]; i++) {
      memcpy(x, a.bytes[k], a.lens[k]);
      x[i] ^= 0xa5;
      if (parry_corr_engine_restore(r, a.keys[k], x, a.lens[k], err, sizeof err) == PARRY_OK)
        ok++;
      else
        bad++;
    }
    free(x);
  }
  assert_true(bad > 0);
  (void)ok;
  /* the engine still works after all that */
  tout_t b = {0};
  th_feed(&h, r, &b, NULL, h.n_sigs / 2, h.n_sigs);
  /* wrong version, wrong rule, malformed keys */
  uint8_t v[64];
  memcpy(v, a.bytes[0], a.lens[0] < 64 ? a.lens[0] : 64);
  v[2] = 9;
  assert_int_equal(parry_corr_engine_restore(r, a.keys[0], v, a.lens[0] < 64 ? a.lens[0] : 64, err,
                                             sizeof err),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(err, "version"));
  assert_int_equal(parry_corr_engine_restore(r, "nope|a", a.bytes[0], a.lens[0], err, sizeof err),
                   PARRY_ERR_INVALID);
  assert_int_equal(parry_corr_engine_restore(r, "burst|a|b", a.bytes[0], a.lens[0], err, sizeof err),
                   PARRY_ERR_INVALID);
  assert_int_equal(parry_corr_engine_restore(r, "burst|a\\", a.bytes[0], a.lens[0], err, sizeof err),
                   PARRY_ERR_INVALID);
  /* bytes of a value_count key restored under an event_count key */
  size_t users = a.n_state, burst = a.n_state;
  for (size_t k = 0; k < a.n_state; k++) {
    if (strncmp(a.keys[k], "users|", 6) == 0) users = k;
    if (strncmp(a.keys[k], "burst|", 6) == 0) burst = k;
  }
  assert_true(users < a.n_state && burst < a.n_state);
  assert_int_equal(parry_corr_engine_restore(r, a.keys[burst], a.bytes[users], a.lens[users], err,
                                             sizeof err),
                   PARRY_ERR_INVALID);
  parry_corr_engine_destroy(r);
  tout_free(&a);
  tout_free(&b);
  th_free(&h);
}

/* Version 2 state bytes of a key of RULES rewritten as version 1 (what
 * engines before the packed reorder buffer wrote): same header, entries and
 * references; pending records (i64 ts, u32 input, u64 number, u64 value
 * hash, u8 len, id text) where version 2 has (i64 ts, [u8 input], [u64
 * value word], u8 len, packed id). NULL when the bytes are not what the
 * test expects. */
static uint8_t *state_v2_to_v1(const char *key, const uint8_t *b, size_t len, size_t *out_len) {
  static const struct {
    const char *prefix;
    size_t words; /* per window entry */
    bool valued;  /* pending records carry a value word */
    bool num;     /* ... which is a number (else a value hash) */
    bool multi;   /* pending records carry the rule's index (several rules) */
  } kinds[] = {{"burst|", 1, false, false, false}, {"users|", 2, true, false, false},
               {"avg|", 0, true, true, false},     {"sum|", 2, true, true, false},
               {"pct|", 2, true, false, false},    {"few|", 0, false, false, false},
               {"seq|", 1, false, false, true},    {"both|", 1, false, false, true}};
  size_t words = SIZE_MAX;
  bool num = false, valued = false, multi = false;
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (strncmp(key, kinds[i].prefix, strlen(kinds[i].prefix)) == 0) {
      words = kinds[i].words;
      num = kinds[i].num;
      valued = kinds[i].valued;
      multi = kinds[i].multi;
    }
  if (words == SIZE_MAX || len < 57 || b[2] != 2) return NULL;
  size_t at = 53;
  uint32_t n;
  memcpy(&n, b + at, 4);
  at += 4 + (size_t)n * words * 8;
  uint32_t nref;
  if (at + 4 > len) return NULL;
  memcpy(&nref, b + at, 4);
  at += 4;
  for (uint32_t i = 0; i < nref; i++) {
    if (at + 9 > len) return NULL;
    at += 9 + (b[at + 8] & 0x7fu);
  }
  uint32_t npend;
  if (at + 4 > len) return NULL;
  memcpy(&npend, b + at, 4);
  at += 4;
  uint8_t *o = parry_xmalloc(at + (size_t)npend * (29 + 127));
  memcpy(o, b, at);
  o[2] = 1;
  size_t w = at;
  for (uint32_t i = 0; i < npend; i++) {
    size_t fixed = 9 + (multi ? 1 : 0) + (valued ? 8 : 0);
    if (at + fixed > len) {
      free(o);
      return NULL;
    }
    uint64_t word = 0, zero = 0;
    memcpy(o + w, b + at, 8); /* ts */
    at += 8;
    uint32_t input = multi ? b[at++] : 0;
    memcpy(o + w + 8, &input, 4);
    if (valued) {
      memcpy(&word, b + at, 8);
      at += 8;
    }
    memcpy(o + w + 12, num ? &word : &zero, 8);
    memcpy(o + w + 20, num ? &zero : &word, 8);
    uint8_t idlen = b[at++];
    size_t l = idlen & 0x7fu;
    if (at + l > len) {
      free(o);
      return NULL;
    }
    if (idlen & 0x80u) { /* packed hex: back to its 32 digits */
      o[w + 28] = 32;
      for (size_t k = 0; k < 16; k++) snprintf((char *)o + w + 29 + 2 * k, 3, "%02x", b[at + k]);
      w += 29 + 32;
    } else {
      o[w + 28] = (uint8_t)l;
      memcpy(o + w + 29, b + at, l);
      w += 29 + l;
    }
    at += l;
  }
  if (at != len) {
    free(o);
    return NULL;
  }
  *out_len = w;
  return o;
}

/* State written by the previous format version (1) still restores, and the
 * engine then gives the same alerts as from its own bytes. */
static void test_restore_version1(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  history(&h);
  parry_corr_options_t o = opts();
  size_t converted_pending = 0;
  for (size_t split = 10; split < h.n_sigs; split += 23) {
    tout_t a = {0}, b1 = {0}, b2 = {0};
    parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
    th_feed(&h, e, &a, NULL, 0, split);
    parry_corr_engine_destroy(e);
    parry_corr_engine_t *e1 = parry_corr_engine_new(h.set, &o), *e2 = parry_corr_engine_new(h.set, &o);
    for (size_t i = 0; i < a.n_state; i++) {
      char err[256];
      size_t l1 = 0;
      uint8_t *v1 = state_v2_to_v1(a.keys[i], a.bytes[i], a.lens[i], &l1);
      if (!v1) fail_msg("cannot rewrite the state of %s", a.keys[i]);
      if (l1 != a.lens[i]) converted_pending++;
      if (parry_corr_engine_restore(e1, a.keys[i], v1, l1, err, sizeof err) != PARRY_OK)
        fail_msg("restore v1 %s: %s", a.keys[i], err);
      if (parry_corr_engine_restore(e2, a.keys[i], a.bytes[i], a.lens[i], err, sizeof err) !=
          PARRY_OK)
        fail_msg("restore %s: %s", a.keys[i], err);
      /* a version 1 record with a pending record cut short is refused */
      if (l1 != a.lens[i])
        assert_int_equal(parry_corr_engine_restore(e1, a.keys[i], v1, l1 - 1, err, sizeof err),
                         PARRY_ERR_INVALID);
      free(v1);
    }
    tout_t *outs[2] = {&b1, &b2};
    parry_corr_engine_t *es[2] = {e1, e2};
    for (int k = 0; k < 2; k++) {
      th_feed(&h, es[k], outs[k], NULL, split, h.n_sigs);
      parry_corr_sink_t sink = tout_sink(outs[k]);
      parry_corr_engine_finish(es[k], &sink);
      parry_corr_engine_destroy(es[k]);
    }
    assert_true(b2.n > 0);
    tout_same(&b2, &b1);
    tout_free(&a);
    tout_free(&b1);
    tout_free(&b2);
  }
  assert_true(converted_pending > 0); /* reorder buffers were part of it */
  th_free(&h);
}

/* Event ids come back in alerts exactly as they came in, whether kept
 * packed (32 lower-case hex digits) or as text: every hex digit in every
 * position, and the characters next to the digit ranges, upper case and
 * non-ASCII bytes in any one position (which must not be packed). */
static void test_event_id_round_trip(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  static const char near[] = {'/', ':', '`', 'g', 'A', 'F', '~', '\x7f', '\xc3'};
  char ids[64][3][40];
  size_t groups = 0;
  for (size_t v = 0; v < 16 + sizeof near && groups < 64; v++) {
    for (size_t rep = 0; rep < 2 && groups < 64; rep++) {
      char id[3][40];
      for (size_t k = 0; k < 32; k++) id[0][k] = "0123456789abcdef"[(k + v + rep) % 16];
      id[0][32] = 0;
      /* 1: a valid id with digit v everywhere (v < 16), or one near miss */
      memcpy(id[1], id[0], 33);
      if (v < 16)
        memset(id[1], "0123456789abcdef"[v], 32);
      else
        id[1][(v * 7 + rep * 13) % 32] = near[v - 16];
      snprintf(id[2], sizeof id[2], "%.31s", id[0]); /* 31 digits: text */
      char host[16];
      snprintf(host, sizeof host, "g%zu", groups);
      for (int k = 0; k < 3; k++) {
        char f[256];
        snprintf(f, sizeof f, LS ",\"k\":\"hit\",\"hst\":\"%s\",\"acct\":\"u\",\"n\":1", host);
        /* JSON: the non-ASCII byte as a proper UTF-8 sequence */
        char jid[48];
        memcpy(jid, id[k], strlen(id[k]) + 1); /* at most 32 + 1 */
        char *c = strchr(jid, '\xc3');
        if (c) {
          memmove(c + 2, c + 1, strlen(c + 1) + 1);
          c[1] = '\xa9';
        }
        th_event(&h, (int64_t)groups * 100 + k, jid, f);
        memcpy(ids[groups][k], jid, strlen(jid) + 1); /* at most 33 + 1 */
      }
      groups++;
    }
  }
  parry_corr_options_t o = opts();
  tout_t out = {0};
  th_run(&h, &o, &out);
  size_t checked = 0;
  for (size_t i = 0; i < out.n; i++) {
    const Parry__V1__Alert *a = out.alerts[i];
    if (strcmp(a->rule_id, "burst") != 0) continue;
    size_t g = (size_t)atoi(a->group_by[0]->value + 1);
    assert_true(g < groups);
    assert_int_equal(a->n_events, 3);
    for (int k = 0; k < 3; k++) assert_string_equal(a->events[k]->id, ids[g][k]);
    checked++;
  }
  assert_int_equal(checked, groups);
  tout_free(&out);
  th_free(&h);
}

/* Idle keys expire: closing windows are decided, then a tombstone. */
static void test_idle_expiry(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  hit(&h, 0, "a", "u", 90);
  hit(&h, 7200, "b", "u", 10);
  parry_corr_options_t o = opts();
  o.idle_expiry_ns = 600 * SEC;
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  tout_t out = {0};
  th_feed(&h, e, &out, NULL, 0, h.n_sigs);
  parry_corr_sink_t sink = tout_sink(&out);
  size_t before = out.n;
  parry_corr_engine_expire(e, (T0 + 7200) * SEC, &sink);
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.expired, 7); /* a's seven keys */
  assert_int_equal(st.keys, 7);    /* b's */
  /* a's avg (90 > 50), few (1 <= 1) and pct windows were decided */
  bool avg = false, few = false;
  for (size_t i = before; i < out.n; i++) {
    if (strncmp(out.lines[i], "avg count=1", 11) == 0 && strstr(out.lines[i], "hst=a")) avg = true;
    if (strncmp(out.lines[i], "few count=1", 11) == 0 && strstr(out.lines[i], "hst=a")) few = true;
  }
  assert_true(avg && few);
  for (size_t i = 0; i < out.n_state; i++) assert_null(strstr(out.keys[i], "|a"));
  parry_corr_engine_destroy(e);
  tout_free(&out);
  th_free(&h);
}

/* Without explicit expire calls, feeding keeps walking the table: idle
 * keys go after a few table sweeps. */
static void test_incremental_expiry(void **state) {
  (void)state;
  th_t h;
  th_load(&h, "title: c\nid: c\ncorrelation: {type: event_count, rules: [r], group-by: [hst], "
              "timespan: 1m, condition: {gte: 3}}\n---\ntitle: r\nname: r\n"
              "logsource: {product: test}\ndetection: {s: {k: hit}, condition: s}\n");
  char host[32];
  for (int i = 0; i < 100; i++) {
    snprintf(host, sizeof host, "idle%d", i);
    hit(&h, 0, host, "u", 1);
  }
  for (int i = 0; i < 6000; i++) hit(&h, 7200 + i / 100, "busy", "u", 1);
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.idle_expiry_ns = 600 * SEC;
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  tout_t out = {0};
  th_feed(&h, e, &out, NULL, 0, h.n_sigs);
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.expired, 100);
  assert_int_equal(st.keys, 1);
  assert_int_equal(out.tombstones, 100);
  parry_corr_engine_destroy(e);
  tout_free(&out);
  th_free(&h);
}

/* Clocks (services: one per partition): keys expire by the newest time of
 * their own clock. 100 keys at t=0 on clock 0 stay while a busy key on
 * clock 1 runs two hours ahead; they go once clock 0 itself moves on. */
static uint32_t busy_clock(void *opaque, const char *key, size_t key_len) {
  (void)opaque;
  return memmem(key, key_len, "busy", 4) ? 1 : 0;
}

static void test_expiry_per_clock(void **state) {
  (void)state;
  th_t h;
  th_load(&h, "title: c\nid: c\ncorrelation: {type: event_count, rules: [r], group-by: [hst], "
              "timespan: 1m, condition: {gte: 3}}\n---\ntitle: r\nname: r\n"
              "logsource: {product: test}\ndetection: {s: {k: hit}, condition: s}\n");
  char host[32];
  for (int i = 0; i < 100; i++) {
    snprintf(host, sizeof host, "idle%d", i);
    hit(&h, 0, host, "u", 1);
  }
  for (int i = 0; i < 6000; i++) hit(&h, 7200 + i / 100, "busy", "u", 1);
  size_t first = h.n_sigs;
  for (int i = 0; i < 6000; i++) hit(&h, 7200 + i / 100, "late", "u", 1);
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.idle_expiry_ns = 600 * SEC;
  o.n_clocks = 2;
  o.clock_of = busy_clock;
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  tout_t out = {0};
  th_feed(&h, e, &out, NULL, 0, first);
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.expired, 0); /* with one clock, test_incremental_expiry: 100 */
  assert_int_equal(st.keys, 101);
  th_feed(&h, e, &out, NULL, first, h.n_sigs); /* clock 0 two hours on */
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.expired, 100);
  assert_int_equal(st.keys, 2);
  assert_int_equal(out.tombstones, 100);
  parry_corr_engine_destroy(e);
  tout_free(&out);
  th_free(&h);
}

/* Closing windows for the other types: temporal with lt, value_count with
 * lt, value_sum with lte. */
static void test_closing_variants(void **state) {
  (void)state;
  th_t h;
  th_load(&h, "title: t\nid: t\ncorrelation: {type: temporal, rules: [r, o], group-by: [hst], "
              "timespan: 1m, condition: {lt: 2}}\n"
              "---\ntitle: v\nid: v\ncorrelation: {type: value_count, rules: [r], group-by: [hst], "
              "timespan: 1m, condition: {lt: 3, field: acct}}\n"
              "---\ntitle: s\nid: s\ncorrelation: {type: value_sum, rules: [r], group-by: [hst], "
              "timespan: 1m, condition: {lte: 10, field: n}}\n"
              "---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection: {s: {k: hit}, condition: s}\n"
              "---\ntitle: o\nname: o\nlogsource: {product: test}\ndetection: {s: {k: other}, condition: s}\n");
  assert_int_equal(parry_corr_set_count(h.set), 3);
  /* a: only r, 2 accounts, sum 10 in [0, 60]: all three hold */
  hit(&h, 0, "a", "x", 4);
  hit(&h, 60, "a", "y", 6);
  /* b: r and o (temporal no), 3 accounts (no), sum 11 (no) */
  hit(&h, 0, "b", "x", 4);
  hit(&h, 1, "b", "y", 4);
  other(&h, 2, "b");
  hit(&h, 3, "b", "z", 3);
  /* c: the third account 61 s later opens a new window: both windows hold */
  hit(&h, 0, "c", "x", 20);
  hit(&h, 1, "c", "y", 20);
  hit(&h, 61, "c", "z", 1);
  tout_t out = {0};
  th_run(&h, NULL, &out);
  tout_sort(&out);
  const char *want[] = {
      "s count=1 sup=0 win=61..121 events=1 hst=c", "s count=2 sup=0 win=0..60 events=2 hst=a",
      "t count=1 sup=0 win=0..60 events=2 hst=a",   "t count=1 sup=0 win=0..60 events=2 hst=c",
      "t count=1 sup=0 win=61..121 events=1 hst=c", "v count=1 sup=0 win=61..121 events=1 hst=c",
      "v count=2 sup=0 win=0..60 events=2 hst=a",   "v count=2 sup=0 win=0..60 events=2 hst=c",
  };
  th_expect(&out, 8, want);
  tout_free(&out);
  th_free(&h);
}

static bool drop_a(void *o, const char *key) {
  (void)o;
  size_t n = strlen(key);
  return n >= 2 && strcmp(key + n - 2, "|a") == 0;
}

static void test_drop(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  hit(&h, 0, "a", "u", 1);
  hit(&h, 0, "b", "u", 1);
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, NULL);
  tout_t out = {0};
  th_feed(&h, e, &out, NULL, 0, h.n_sigs);
  size_t tomb = out.tombstones;
  parry_corr_engine_drop(e, drop_a, NULL);
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.keys, 7);
  assert_int_equal(out.tombstones, tomb); /* no tombstones: the new owner restores */
  parry_corr_engine_destroy(e);
  tout_free(&out);
  th_free(&h);
}

/* Keys: '|' and '\' in values are escaped; split gives them back. */
static void test_keys(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  hit(&h, 0, "p|q\\\\r", "u", 1);
  assert_true(h.n_sigs > 0);
  assert_string_equal(h.sigs[0].key, "burst|p\\|q\\\\r");
  char buf[128];
  const char *parts[4];
  assert_int_equal(parry_corr_key_split(h.sigs[0].key, buf, sizeof buf, parts, 4), 2);
  assert_string_equal(parts[0], "burst");
  assert_string_equal(parts[1], "p|q\\r");
  assert_int_equal(parry_corr_key_split("a\\x", buf, sizeof buf, parts, 4), -1);
  assert_int_equal(parry_corr_key_split("a|b|c", buf, sizeof buf, parts, 2), -1);
  th_free(&h);
}

/* Alert ids: hash of (rule, group key, window start); same input, same id. */
static void test_alert_ids(void **state) {
  (void)state;
  th_t h;
  th_load(&h, RULES);
  history(&h);
  parry_corr_options_t o = opts();
  tout_t a = {0}, b = {0};
  th_run(&h, &o, &a);
  th_run(&h, &o, &b);
  tout_same(&a, &b);
  for (size_t i = 0; i < a.n; i++)
    for (size_t j = i + 1; j < a.n; j++) assert_string_not_equal(a.alerts[i]->id, a.alerts[j]->id);
  /* the burst alerts carry level and tags */
  for (size_t i = 0; i < a.n; i++)
    if (strcmp(a.alerts[i]->rule_id, "burst") == 0) {
      assert_string_equal(a.alerts[i]->rule_level, "high");
      assert_int_equal(a.alerts[i]->n_rule_tags, 2);
      assert_true(a.alerts[i]->n_events <= 4);
    }
  tout_free(&a);
  tout_free(&b);
  th_free(&h);
}

/* A burst that stops: with allowed lateness its signals wait for later
 * ones that never come; the service's tick releases them after
 * idle_release of wall-clock time, and older signals are late afterwards.
 * Regression: before parry_corr_engine_tick the fleet never alerted on the
 * last burst of a key (found by `parry dev`). */
static void test_idle_release(void **state) {
  (void)state;
  th_t h;
  th_load(&h, "title: c\nid: c\ncorrelation: {type: event_count, rules: [r], group-by: [hst], "
              "timespan: 1m, condition: {gte: 3}}\n---\ntitle: r\nname: r\nlogsource: {product: test}\n"
              "detection: {s: {k: hit}, condition: s}\n");
  hit(&h, 10, "a", "u", 1);
  hit(&h, 11, "a", "u", 1);
  hit(&h, 12, "a", "u", 1);
  hit(&h, 11, "a", "u", 1); /* after the release: older than what was released */
  hit(&h, 70, "a", "u", 1); /* in order: accepted, waits */
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.allowed_lateness_ns = 60 * SEC;

  /* without idle release, ticks change nothing: the burst waits */
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, &o);
  tout_t out = {0};
  parry_corr_sink_t sink = tout_sink(&out);
  th_feed(&h, e, &out, NULL, 0, 3);
  parry_corr_engine_tick(e, 100 * SEC, &sink);
  parry_corr_engine_tick(e, 1000 * SEC, &sink);
  assert_int_equal(out.n, 0);
  parry_corr_engine_destroy(e);
  tout_free(&out);

  o.idle_release_ns = 5 * SEC;
  e = parry_corr_engine_new(h.set, &o);
  memset(&out, 0, sizeof out);
  sink = tout_sink(&out);
  th_feed(&h, e, &out, NULL, 0, 3);
  assert_int_equal(out.n, 0);
  parry_corr_engine_tick(e, 100 * SEC, &sink); /* first sight: starts the clock */
  parry_corr_engine_tick(e, 104 * SEC, &sink);
  assert_int_equal(out.n, 0);
  size_t writes = out.state_writes;
  parry_corr_engine_tick(e, 105 * SEC, &sink);
  assert_int_equal(out.n, 1);
  assert_non_null(strstr(out.lines[0], "count=3"));
  assert_true(out.state_writes > writes); /* the release reaches the changelog */
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.released, 1);
  th_feed(&h, e, &out, NULL, 3, 5);
  parry_corr_engine_stats(e, &st);
  assert_int_equal(st.late, 1);
  assert_int_equal(st.updates, 5);
  parry_corr_engine_destroy(e);
  tout_free(&out);
  th_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loads),        cmocka_unit_test(test_out_of_order_within_lateness),
      cmocka_unit_test(test_late),         cmocka_unit_test(test_suppression),
      cmocka_unit_test(test_memory_cap),   cmocka_unit_test(test_restore_anywhere),
      cmocka_unit_test(test_interleaving), cmocka_unit_test(test_corrupt_state),
      cmocka_unit_test(test_idle_expiry),  cmocka_unit_test(test_drop),
      cmocka_unit_test(test_keys),         cmocka_unit_test(test_alert_ids),
      cmocka_unit_test(test_incremental_expiry),
      cmocka_unit_test(test_expiry_per_clock), cmocka_unit_test(test_closing_variants),
      cmocka_unit_test(test_reorder_matches_in_order), cmocka_unit_test(test_restore_version1),
      cmocka_unit_test(test_event_id_round_trip), cmocka_unit_test(test_idle_release),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
