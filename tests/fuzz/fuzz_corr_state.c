/* libFuzzer target for restoring correlation state (correlator/window/
 * state.c): the bytes of a compacted changelog record.
 *
 * Input: one selector byte (which rule's key to restore into: every kind of
 * window is represented), then the state bytes. Restoring must never crash
 * or leak; what restores must then survive more signals, expiry and
 * finish, and its own serialization must restore again. Broken promises
 * abort so the fuzzer records the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigma/sigma.h"
#include "window/correlate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RULES[] =
    "title: burst\nid: burst\ncorrelation: {type: event_count, rules: [hit], group-by: [h], "
    "timespan: 60s, condition: {gte: 3}}\n"
    "---\ntitle: users\nid: users\ncorrelation: {type: value_count, rules: [hit], group-by: [h], "
    "timespan: 2m, condition: {gte: 3, field: u}}\n"
    "---\ntitle: avg\nid: avg\ncorrelation: {type: value_avg, rules: [hit], group-by: [h], "
    "timespan: 90s, condition: {gt: 50, field: n}}\n"
    "---\ntitle: sum\nid: sum\ncorrelation: {type: value_sum, rules: [hit], group-by: [h], "
    "timespan: 30s, condition: {gte: 200, field: n}}\n"
    "---\ntitle: pct\nid: pct\ncorrelation: {type: value_percentile, rules: [hit], group-by: [h], "
    "timespan: 5m, condition: {lt: 20, field: u}}\n"
    "---\ntitle: few\nid: few\ncorrelation: {type: event_count, rules: [hit], group-by: [h], "
    "timespan: 45s, condition: {lte: 1}}\n"
    "---\ntitle: seq\nid: seq\ncorrelation: {type: temporal_ordered, rules: [burst, other], "
    "group-by: [h], timespan: 2m}\n"
    "---\ntitle: both\nid: both\ncorrelation: {type: temporal, rules: [hit, other], group-by: [h], "
    "timespan: 20s}\n"
    "---\ntitle: many\nid: many\ncorrelation: {type: value_count, rules: [hit], group-by: [h], "
    "timespan: 20s, condition: {lt: 3, field: u}}\n"
    "---\ntitle: hit\nname: hit\nlogsource: {product: t}\ndetection: {s: {k: hit}, condition: s}\n"
    "---\ntitle: other\nname: other\nlogsource: {product: t}\ndetection: {s: {k: o}, condition: s}\n";

static const char *const KEYS[] = {"burst|a", "users|a", "avg|a", "sum|a", "pct|a",
                                   "few|a",   "seq|a",   "both|a", "many|a"};
#define NKEYS (sizeof KEYS / sizeof *KEYS)

static parry_sigma_ruleset_t *rs;
static parry_corr_set_t *set;

static void die(const char *what) {
  fprintf(stderr, "fuzz_corr_state: %s\n", what);
  abort();
}

static void nop_alert(void *o, const Parry__V1__Alert *a) {
  (void)o;
  if (!a->id || strlen(a->id) != 32) die("alert id");
}

typedef struct {
  uint8_t *bytes;
  size_t len;
  char key[64];
} last_t;

static void keep_state(void *o, const char *key, const uint8_t *b, size_t len) {
  last_t *l = o;
  if (!b || strcmp(key, l->key)) return;
  free(l->bytes);
  l->bytes = malloc(len ? len : 1);
  memcpy(l->bytes, b, len);
  l->len = len;
}

static void init(void) {
  char err[256];
  parry_sigma_report_t rep = {0};
  rs = parry_sigma_load_text("f.yml", RULES, strlen(RULES), NULL, &rep, err, sizeof err);
  if (!rs) die(err);
  set = parry_corr_compile(rs, &rep, err, sizeof err);
  if (!set || parry_corr_set_count(set) != NKEYS) die("rules do not compile");
  parry_sigma_report_free(&rep);
}

static void feed(parry_corr_engine_t *e, const char *corr, const char *rule, int64_t t,
                 const char *val, const parry_corr_sink_t *sink) {
  Parry__V1__Label l = PARRY__V1__LABEL__INIT, *lp = &l;
  l.key = "h";
  l.value = "a";
  Parry__V1__Value v = PARRY__V1__VALUE__INIT;
  v.kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
  v.string_value = (char *)val;
  Parry__V1__Event ev = PARRY__V1__EVENT__INIT;
  ev.id = "0123456789abcdef0123456789abcdef";
  Parry__V1__Signal s = PARRY__V1__SIGNAL__INIT;
  s.correlation_id = (char *)corr;
  s.rule_id = (char *)rule;
  s.n_group_by = 1;
  s.group_by = &lp;
  s.timestamp_ns = t;
  s.value = &v;
  s.event = &ev;
  char err[256];
  (void)parry_corr_engine_feed(e, &s, sink, err, sizeof err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!set) init();
  if (size < 1) return 0;
  const char *key = KEYS[data[0] % NKEYS];
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.allowed_lateness_ns = (data[0] & 0x80) ? 5000000000LL : 0;
  o.default_suppress_ns = 10000000000LL;
  parry_corr_engine_t *e = parry_corr_engine_new(set, &o);
  char err[256] = "";
  parry_err_t rc = parry_corr_engine_restore(e, key, data + 1, size - 1, err, sizeof err);
  if (rc != PARRY_OK && !err[0]) die("error without a message");
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  if (rc == PARRY_OK && st.keys != 1) die("restored but no key");
  if (rc != PARRY_OK && st.keys != 0) die("failed restore left a key");
  last_t last = {NULL, 0, ""};
  snprintf(last.key, sizeof last.key, "%s", key);
  parry_corr_sink_t sink = {nop_alert, keep_state, &last, NULL};
  /* more signals for the restored key, around its times */
  char corr[16];
  snprintf(corr, sizeof corr, "%.*s", (int)(strchr(key, '|') - key), key);
  const char *rule = strcmp(corr, "seq") == 0 ? "other" : "hit";
  int64_t base = 1700000000LL * 1000000000LL;
  for (int i = 0; i < 6; i++) feed(e, corr, i == 3 && !strcmp(corr, "both") ? "other" : rule,
                                   base + (int64_t)i * 7000000000LL, i & 1 ? "12" : "x", &sink);
  /* what the engine wrote must restore */
  if (last.bytes) {
    parry_corr_engine_t *e2 = parry_corr_engine_new(set, &o);
    if (parry_corr_engine_restore(e2, key, last.bytes, last.len, err, sizeof err) != PARRY_OK)
      die("own state does not restore");
    parry_corr_engine_destroy(e2);
  }
  parry_corr_engine_expire(e, base + 86400LL * 1000000000LL, &sink);
  parry_corr_engine_finish(e, &sink);
  parry_corr_engine_destroy(e);
  free(last.bytes);
  return 0;
}
