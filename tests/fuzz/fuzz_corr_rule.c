/* libFuzzer target for compiling correlation rules (correlator/window/
 * compile.c) and running them.
 *
 * The input is a rule file appended to two fixed detection rules (names
 * `hit` and `other`). Whatever it holds, loading and compiling must not
 * crash or leak; every rejection must carry a message; the rules that
 * compile are then run over a few fixed events (signals, engine, state
 * round trip, finish). Broken promises abort. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "window/correlate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char BASE[] =
    "title: hit\nname: hit\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {product: t}\n"
    "detection: {s: {k: hit}, condition: s}\n"
    "---\ntitle: other\nname: other\nlogsource: {product: t}\ndetection: {s: {k: o}, condition: s}\n"
    "---\n";

static const char *const EVENTS[] = {
    "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"id\":\"a1\"},\"logsource\":{\"product\":\"t\"},"
    "\"k\":\"hit\",\"h\":\"x\",\"u\":\"bob\",\"n\":5,\"source\":{\"ip\":\"10.0.0.1\"}}",
    "{\"@timestamp\":\"2024-01-01T00:00:03Z\",\"event\":{\"id\":\"a2\"},\"logsource\":{\"product\":\"t\"},"
    "\"k\":\"hit\",\"h\":\"x\",\"u\":\"eve\",\"n\":\"70\",\"source\":{\"ip\":\"10.0.0.1\"}}",
    "{\"@timestamp\":\"2024-01-01T00:00:02Z\",\"event\":{\"id\":\"a3\"},\"logsource\":{\"product\":\"t\"},"
    "\"k\":\"o\",\"h\":\"x\",\"u\":\"bob\",\"n\":1.5,\"destination\":{\"ip\":\"10.0.0.1\"}}",
    "{\"@timestamp\":\"2024-01-01T00:09:00Z\",\"event\":{\"id\":\"a4\"},\"logsource\":{\"product\":\"t\"},"
    "\"k\":\"hit\",\"h\":\"y|z\\\\\",\"u\":\"bob\",\"n\":-3}",
};
#define NEV (sizeof EVENTS / sizeof *EVENTS)
static Parry__V1__Event *events[NEV];

static void die(const char *what) {
  fprintf(stderr, "fuzz_corr_rule: %s\n", what);
  abort();
}

typedef struct {
  parry_corr_engine_t *e;
  parry_corr_engine_t *mirror; /* restored from every state write */
} run_t;

static void on_alert(void *o, const Parry__V1__Alert *a) {
  (void)o;
  if (!a->id || strlen(a->id) != 32 || !a->rule_id) die("bad alert");
}
static void on_state(void *o, const char *key, const uint8_t *b, size_t len) {
  run_t *r = o;
  char err[256];
  if (b && parry_corr_engine_restore(r->mirror, key, b, len, err, sizeof err) != PARRY_OK)
    die("own state does not restore");
}
static void on_signal(void *o, const Parry__V1__Signal *sig, const char *key) {
  run_t *r = o;
  char err[256];
  (void)key;
  parry_corr_sink_t sink = {on_alert, on_state, r, NULL};
  if (parry_corr_engine_feed(r->e, sig, &sink, err, sizeof err) != PARRY_OK)
    die("a signal made by parry_corr_signals was refused");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!events[0]) {
    char err[256];
    for (size_t i = 0; i < NEV; i++)
      if (parry_event_from_json(EVENTS[i], strlen(EVENTS[i]), &events[i], err, sizeof err) != PARRY_OK)
        die(err);
  }
  if (size > 65536) return 0;
  size_t n = sizeof BASE - 1 + size;
  char *text = malloc(n + 1);
  memcpy(text, BASE, sizeof BASE - 1);
  memcpy(text + sizeof BASE - 1, data, size);
  text[n] = 0;
  char err[256];
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("f.yml", text, n, NULL, &rep, err, sizeof err);
  free(text);
  if (!rs) {
    parry_sigma_report_free(&rep);
    return 0;
  }
  size_t before = rep.n_rejections;
  parry_corr_set_t *set = parry_corr_compile(rs, &rep, err, sizeof err);
  if (!set) die("compile returned NULL");
  if (rep.n_rejections != rep.rejected) die("rejections != rejected");
  for (size_t i = before; i < rep.n_rejections; i++)
    if (!rep.rejections[i].message || !*rep.rejections[i].message) die("rejection without message");
  if (parry_corr_set_count(set) + (rep.n_rejections - before) > parry_sigma_correlation_count(rs))
    die("more rules than documents");
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.allowed_lateness_ns = 2000000000LL;
  run_t r = {parry_corr_engine_new(set, &o), parry_corr_engine_new(set, &o)};
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  for (size_t i = 0; i < NEV; i++) {
    const parry_sigma_match_t *mt;
    size_t nm = parry_sigma_match(m, events[i], &mt);
    for (size_t k = 0; k < nm; k++) parry_corr_signals(set, rs, mt[k].rule, events[i], on_signal, &r);
  }
  parry_corr_sink_t sink = {on_alert, NULL, &r, NULL};
  parry_corr_engine_finish(r.e, &sink);
  parry_corr_engine_finish(r.mirror, &sink);
  parry_sigma_matcher_destroy(m);
  parry_corr_engine_destroy(r.e);
  parry_corr_engine_destroy(r.mirror);
  parry_corr_set_destroy(set);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  return 0;
}
