/* Stage 1 in full (correlator/detect.h parry_detect_event_full): which
 * detection matches still alert on their own (Sigma `generate`), which
 * become correlation Signals and what those carry; and the example rules in
 * examples/rules: they load without a rejection and do what their comments
 * say on hand-made events, through the whole `parry detect` path. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_support.h"
#include "detect.h"
#include "parry/codec.h"
#include "test_support.h"
#include "window/correlate.h"

/* ---- helpers ------------------------------------------------------------ */

static parry_sigma_ruleset_t *load(const char *yaml, const parry_sigma_options_t *o,
                                   parry_sigma_report_t *rep) {
  char err[256] = "";
  parry_sigma_ruleset_t *rs =
      parry_sigma_load_text("t.yml", yaml, strlen(yaml), o, rep, err, sizeof err);
  if (!rs) fail_msg("load failed: %s", err);
  if (rep && rep->rejected) {
    parry_sigma_report_print(rep, stdout, true);
    fail_msg("unexpected rejections");
  }
  return rs;
}

static parry_corr_set_t *compile(parry_sigma_ruleset_t *rs) {
  parry_sigma_report_t rep = {0};
  char err[256] = "";
  parry_corr_set_t *set = parry_corr_compile(rs, &rep, err, sizeof err);
  if (!set) fail_msg("compile failed: %s", err);
  if (rep.rejected) {
    parry_sigma_report_print(&rep, stdout, true);
    fail_msg("unexpected correlation rejections");
  }
  parry_sigma_report_free(&rep);
  return set;
}

static Parry__V1__Event *event(const char *json) {
  Parry__V1__Event *ev = NULL;
  char err[256];
  if (parry_event_from_json(json, strlen(json), &ev, err, sizeof err) != PARRY_OK)
    fail_msg("bad event: %s", err);
  return ev;
}

/* What the callbacks saw, in order: "A:<rule id>" per alert, "S:<key>" per
 * signal, with the last signal's fields kept for inspection. */
typedef struct {
  char log[2048];
  size_t alerts, signals;
  char alert_ids[4][40];
  char corr_id[128], rule_id[128], gb_key[64], gb_value[128];
  size_t n_group_by;
  int64_t ts;
  char event_id[64];
} seen_t;

static void seen_alert(void *opaque, const Parry__V1__Alert *a) {
  seen_t *s = opaque;
  snprintf(s->log + strlen(s->log), sizeof s->log - strlen(s->log), "A:%s;", a->rule_id);
  if (s->alerts < 4) snprintf(s->alert_ids[s->alerts], sizeof s->alert_ids[0], "%s", a->id);
  s->alerts++;
}

static void seen_signal(void *opaque, const Parry__V1__Signal *sig, const char *key) {
  seen_t *s = opaque;
  snprintf(s->log + strlen(s->log), sizeof s->log - strlen(s->log), "S:%s;", key);
  s->signals++;
  snprintf(s->corr_id, sizeof s->corr_id, "%s", sig->correlation_id);
  snprintf(s->rule_id, sizeof s->rule_id, "%s", sig->rule_id);
  s->n_group_by = sig->n_group_by;
  if (sig->n_group_by) {
    snprintf(s->gb_key, sizeof s->gb_key, "%s", sig->group_by[0]->key);
    snprintf(s->gb_value, sizeof s->gb_value, "%s", sig->group_by[0]->value);
  }
  s->ts = sig->timestamp_ns;
  snprintf(s->event_id, sizeof s->event_id, "%s", sig->event ? sig->event->id : "");
}

static const char *base_rules =
    "title: used, no generate\nid: aaaaaaaa-0000-4000-8000-000000000001\nlevel: low\n"
    "tags: [attack.t1110]\n"
    "logsource: {product: linux, service: sshd}\n"
    "detection: {sel: {event.outcome: failure}, condition: sel}\n"
    "---\n"
    "title: used, generate\nid: aaaaaaaa-0000-4000-8000-000000000002\nlevel: medium\n"
    "logsource: {product: linux, service: sshd}\n"
    "detection: {sel: {user.name: root}, condition: sel}\n"
    "---\n"
    "title: not used\nid: aaaaaaaa-0000-4000-8000-000000000003\nlevel: high\n"
    "logsource: {product: linux, service: sshd}\n"
    "detection: {sel: {source.ip: 203.0.113.7}, condition: sel}\n"
    "---\n"
    "title: count failures\nid: cccccccc-0000-4000-8000-000000000001\n"
    "correlation: {type: event_count, rules: [aaaaaaaa-0000-4000-8000-000000000001],\n"
    "  group-by: [source.ip], timespan: 5m, condition: {gte: 3}}\n"
    "level: high\n"
    "---\n"
    "title: count root\nid: cccccccc-0000-4000-8000-000000000002\n"
    "correlation: {type: event_count, rules: [aaaaaaaa-0000-4000-8000-000000000002],\n"
    "  group-by: [source.ip], timespan: 5m, condition: {gte: 3}}\n"
    "generate: true\nlevel: high\n";

static const char *failed_root =
    "{\"@timestamp\": \"2026-01-02T03:04:05Z\", \"event\": {\"id\": \"ev-1\", "
    "\"outcome\": \"failure\"}, \"source\": {\"ip\": \"203.0.113.7\"}, "
    "\"user\": {\"name\": \"root\"}, \"logsource\": {\"product\": \"linux\", "
    "\"service\": \"sshd\"}}";

/* ---- parry_detect_event_full -------------------------------------------- */

/* Without a correlation set, the full call is parry_detect_event: every
 * matching rule alerts, with the same ids, and nothing signals. */
static void test_full_without_set_is_detect_event(void **state) {
  (void)state;
  parry_sigma_ruleset_t *rs = load(base_rules, NULL, NULL);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  Parry__V1__Event *ev = event(failed_root);
  seen_t a = {0}, b = {0};
  size_t n1 = parry_detect_event(m, rs, ev, seen_alert, &a);
  size_t sig = 99;
  size_t n2 = parry_detect_event_full(m, rs, NULL, ev, seen_alert, seen_signal, &b, &sig);
  assert_int_equal(n1, 3);
  assert_int_equal(n2, 3);
  assert_int_equal(sig, 0);
  assert_string_equal(a.log, b.log);
  for (int i = 0; i < 3; i++) assert_string_equal(a.alert_ids[i], b.alert_ids[i]);
  /* and the id is the documented hash of (rule id, event id) */
  char id[PARRY_ALERT_ID_LEN + 1];
  parry_detect_alert_id("aaaaaaaa-0000-4000-8000-000000000001", "ev-1", id);
  assert_string_equal(a.alert_ids[0], id);
  parry__v1__event__free_unpacked(ev, NULL);
  parry_sigma_matcher_destroy(m);
  parry_sigma_ruleset_destroy(rs);
}

/* With the set: a rule used by a correlation without `generate` is silent
 * but signals; one used by a correlation with `generate: true` alerts and
 * signals (alert first); an unused one alerts only. */
static void test_generate_and_signals(void **state) {
  (void)state;
  parry_sigma_ruleset_t *rs = load(base_rules, NULL, NULL);
  parry_corr_set_t *set = compile(rs);
  assert_int_equal(parry_corr_set_count(set), 2);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  Parry__V1__Event *ev = event(failed_root);
  seen_t s = {0};
  size_t sig = 0;
  size_t alerts = parry_detect_event_full(m, rs, set, ev, seen_alert, seen_signal, &s, &sig);
  assert_int_equal(alerts, 2);
  assert_int_equal(sig, 2);
  assert_int_equal(s.alerts, 2);
  assert_int_equal(s.signals, 2);
  assert_string_equal(s.log, "S:cccccccc-0000-4000-8000-000000000001|203.0.113.7;"
                             "A:aaaaaaaa-0000-4000-8000-000000000002;"
                             "S:cccccccc-0000-4000-8000-000000000002|203.0.113.7;"
                             "A:aaaaaaaa-0000-4000-8000-000000000003;");
  /* the last signal's fields */
  assert_string_equal(s.corr_id, "cccccccc-0000-4000-8000-000000000002");
  assert_string_equal(s.rule_id, "aaaaaaaa-0000-4000-8000-000000000002");
  assert_int_equal(s.n_group_by, 1);
  assert_string_equal(s.gb_key, "source.ip");
  assert_string_equal(s.gb_value, "203.0.113.7");
  assert_int_equal(s.ts, ev->timestamp_ns);
  assert_string_equal(s.event_id, "ev-1");

  /* counting without reporting: NULL callbacks */
  size_t sig2 = 0;
  assert_int_equal(parry_detect_event_full(m, rs, set, ev, NULL, NULL, NULL, &sig2), 2);
  assert_int_equal(sig2, 0);

  /* an event without the group-by field signals nothing (and the rule that
   * does not generate stays silent) */
  Parry__V1__Event *noip = event(
      "{\"@timestamp\": \"2026-01-02T03:04:05Z\", \"event\": {\"id\": \"ev-2\", "
      "\"outcome\": \"failure\"}, \"logsource\": {\"product\": \"linux\", \"service\": \"sshd\"}}");
  seen_t s2 = {0};
  assert_int_equal(parry_detect_event_full(m, rs, set, noip, seen_alert, seen_signal, &s2, &sig2),
                   0);
  assert_int_equal(sig2, 0);
  assert_string_equal(s2.log, "");
  parry__v1__event__free_unpacked(noip, NULL);
  parry__v1__event__free_unpacked(ev, NULL);
  parry_sigma_matcher_destroy(m);
  parry_corr_set_destroy(set);
  parry_sigma_ruleset_destroy(rs);
}

/* Below the minimum level: no alert of its own, but its signals still count
 * (the correlation rule has its own level). A match a Sigma filter removed
 * neither alerts nor signals, even when the matcher reports it flagged. */
static void test_min_level_and_filters(void **state) {
  (void)state;
  parry_sigma_options_t o = {.min_level = PARRY_SIGMA_LEVEL_CRITICAL};
  parry_sigma_ruleset_t *rs = load(base_rules, &o, NULL);
  parry_corr_set_t *set = compile(rs);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  Parry__V1__Event *ev = event(failed_root);
  seen_t s = {0};
  size_t sig = 0;
  assert_int_equal(parry_detect_event_full(m, rs, set, ev, seen_alert, seen_signal, &s, &sig), 0);
  assert_int_equal(sig, 2);
  assert_string_equal(s.log, "S:cccccccc-0000-4000-8000-000000000001|203.0.113.7;"
                             "S:cccccccc-0000-4000-8000-000000000002|203.0.113.7;");
  parry_sigma_matcher_destroy(m);
  parry_corr_set_destroy(set);
  parry_sigma_ruleset_destroy(rs);

  char yaml[8192];
  snprintf(yaml, sizeof yaml,
           "%s---\ntitle: lab address is fine\nlogsource: {product: linux, service: sshd}\n"
           "filter:\n  rules: [aaaaaaaa-0000-4000-8000-000000000001]\n"
           "  lab: {source.ip: 203.0.113.7}\n  condition: not lab\n",
           base_rules);
  for (int flagged = 0; flagged < 2; flagged++) {
    parry_sigma_options_t fo = {.report_filtered = flagged};
    parry_sigma_report_t rep = {0};
    rs = load(yaml, &fo, &rep);
    assert_int_equal(rep.filters_loaded, 1);
    set = compile(rs);
    m = parry_sigma_matcher_new(rs);
    seen_t f = {0};
    assert_int_equal(parry_detect_event_full(m, rs, set, ev, seen_alert, seen_signal, &f, &sig),
                     2);
    assert_int_equal(sig, 1); /* only the root rule's */
    assert_string_equal(f.log, "A:aaaaaaaa-0000-4000-8000-000000000002;"
                               "S:cccccccc-0000-4000-8000-000000000002|203.0.113.7;"
                               "A:aaaaaaaa-0000-4000-8000-000000000003;");
    parry_sigma_matcher_destroy(m);
    parry_corr_set_destroy(set);
    parry_sigma_ruleset_destroy(rs);
    parry_sigma_report_free(&rep);
  }
  parry__v1__event__free_unpacked(ev, NULL);
}

/* ---- examples/rules ------------------------------------------------------ */

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  return parry_test_tmpdir_make(tmpdir, sizeof tmpdir, "/tmp/parry-test-corr-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  return parry_test_tmpdir_remove(tmpdir);
}

static void example_path(const char *rel, char *out, size_t size) {
  snprintf(out, size, "%s/examples/rules%s%s", parry_test_source_dir(), *rel ? "/" : "", rel);
}

/* The alerts of a `parry detect` output, one json-c object per line. */
static size_t parse_alerts(const char *out, json_object **alerts, size_t max) {
  size_t n = 0;
  const char *p = out;
  while (*p) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    assert_true(n < max);
    char *line = strndup(p, (size_t)(nl - p));
    assert_non_null(line);
    alerts[n] = json_tokener_parse(line);
    free(line);
    assert_non_null(alerts[n]);
    n++;
    p = nl + 1;
  }
  return n;
}

static const char *jstr(json_object *o, const char *a, const char *b) {
  json_object *x = NULL, *y = NULL;
  if (!json_object_object_get_ex(o, a, &x)) return NULL;
  if (!b) return json_object_get_string(x);
  if (!json_object_object_get_ex(x, b, &y)) return NULL;
  return json_object_get_string(y);
}

/* The alert of rule `id` among alerts[0..n): alerts of different keys come
 * in the engine's order (key order at end of input), not input order. */
static json_object *find_alert(json_object **alerts, size_t n, const char *id) {
  json_object *found = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *rid = jstr(alerts[i], "rule", "id");
    if (rid && strcmp(rid, id) == 0) {
      assert_null(found); /* exactly one */
      found = alerts[i];
    }
  }
  assert_non_null(found);
  return found;
}

static int64_t jint(json_object *o, const char *a) {
  json_object *x = NULL;
  if (!json_object_object_get_ex(o, a, &x)) return -1;
  return json_object_get_int64(x);
}

/* Every example loads: no rejected document, every rule and correlation
 * with a stable id, a title, a level and tags, and every correlation
 * compiles against the detection rules of its file. */
static void test_examples_load(void **state) {
  (void)state;
  char dir[1024];
  example_path("", dir, sizeof dir);
  const char *paths[] = {dir};
  parry_sigma_report_t rep = {0};
  char err[256] = "";
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, 1, NULL, &rep, err, sizeof err);
  assert_non_null(rs);
  if (rep.rejected) parry_sigma_report_print(&rep, stdout, true);
  assert_int_equal(rep.rejected, 0);
  assert_true(parry_sigma_rule_count(rs) >= 4);
  assert_true(parry_sigma_correlation_count(rs) >= 3);
  for (size_t i = 0; i < parry_sigma_rule_count(rs); i++) {
    const parry_sigma_rule_info_t *r = parry_sigma_rule_info(rs, i);
    assert_non_null(r->id);
    assert_int_equal(strlen(r->id), 36);
    assert_non_null(r->name);
    assert_non_null(r->title);
    assert_true(r->level != PARRY_SIGMA_LEVEL_NONE);
    assert_true(r->tags.n >= 1);
  }
  parry_corr_set_t *set = parry_corr_compile(rs, &rep, err, sizeof err);
  assert_non_null(set);
  if (rep.rejected) parry_sigma_report_print(&rep, stdout, true);
  assert_int_equal(rep.rejected, 0);
  assert_int_equal(parry_corr_set_count(set), parry_sigma_correlation_count(rs));
  for (size_t i = 0; i < parry_sigma_correlation_count(rs); i++) {
    const parry_sigma_correlation_t *c = parry_sigma_correlation(rs, i);
    assert_non_null(c->id);
    assert_int_equal(strlen(c->id), 36);
    assert_non_null(c->title);
    const parry_sigma_node_t *level = parry_sigma_node_get(c->document, "level");
    const parry_sigma_node_t *tags = parry_sigma_node_get(c->document, "tags");
    assert_non_null(level);
    assert_non_null(tags);
    assert_true(tags->n >= 1);
  }
  /* every detection rule of the examples feeds a correlation and does not
   * alert on its own */
  for (uint32_t i = 0; i < parry_sigma_rule_count(rs); i++) {
    assert_true(parry_corr_rule_used(set, i));
    assert_false(parry_corr_rule_generates(set, i));
  }
  parry_corr_set_destroy(set);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
}

/* "Dec  4 10:MM:SS" sshd failure lines from ip, one per `step` seconds. */
static void sshd_failures(FILE *f, const char *ip, int first_s, int step, int n) {
  for (int i = 0; i < n; i++) {
    int t = first_s + i * step;
    fprintf(f,
            "Dec  4 10:%02d:%02d lab sshd[%d]: Failed password for invalid user u%d from %s "
            "port %d ssh2\n",
            t / 60, t % 60, 4000 + i, i, ip, 40000 + i);
  }
}

/* The sshd example over raw syslog lines: 10 failures from one address
 * within 5 minutes alert once, at the 10th, naming the address; 9 do not;
 * 10 spread over more than 5 minutes do not; and a success does not count. */
static void test_example_sshd_brute_force(void **state) {
  (void)state;
  char rules[1024], log[512];
  example_path("linux/sshd-brute-force.yml", rules, sizeof rules);
  snprintf(log, sizeof log, "%s/auth.log", tmpdir);
  FILE *f = fopen(log, "w");
  assert_non_null(f);
  sshd_failures(f, "198.51.100.1", 0, 20, 10);   /* 10 in 180 s: alert */
  sshd_failures(f, "198.51.100.2", 0, 20, 9);    /* 9: none */
  sshd_failures(f, "198.51.100.3", 0, 40, 10);   /* 10 in 360 s: none */
  fprintf(f, "Dec  4 10:05:00 lab sshd[9]: Accepted password for bob from 198.51.100.2 port 1 "
             "ssh2\n");
  fclose(f);
  /* grouped by address, not in time order overall: each address (key) is in
   * order, and keys do not affect each other */
  parry_test_run_t r = parry_test_cli(
      (char *[]){"parry", "detect", "--format", "syslog", "--rules", rules, log, NULL});
  assert_int_equal(r.rc, 0);
  json_object *alerts[8];
  size_t n = parse_alerts(r.out, alerts, 8);
  assert_int_equal(n, 1);
  assert_string_equal(jstr(alerts[0], "rule", "id"), "1bb80dc9-fe2a-4e58-b74c-2a4c5a3aa0d3");
  assert_string_equal(jstr(alerts[0], "rule", "level"), "high");
  assert_string_equal(jstr(alerts[0], "group_by", "source.ip"), "198.51.100.1");
  assert_int_equal(jint(alerts[0], "count"), 10);
  assert_non_null(strstr(r.err, "events=30 alerts=1 "));
  assert_non_null(strstr(r.err, "signals=29 correlation_alerts=1"));
  json_object_put(alerts[0]);
  parry_test_run_free(&r);
}

/* One Windows Security event as the EVTX JSON the shared samples use. */
static void win_event(FILE *f, int id, int second, const char *user, const char *ip,
                      const char *computer) {
  fprintf(f,
          "{\"Event\":{\"System\":{\"Provider\":{\"Name\":\"Microsoft-Windows-Security-Auditing\"},"
          "\"EventID\":%d,\"TimeCreated\":{\"SystemTime\":\"2024-03-01T10:%02d:%02d.000Z\"},"
          "\"EventRecordID\":%d,\"Channel\":\"Security\",\"Computer\":\"%s\"},"
          "\"EventData\":{\"TargetUserName\":\"%s\",\"TargetDomainName\":\"CORP\","
          "\"Status\":\"0xc000006d\",\"SubStatus\":\"0xc000006a\",\"LogonType\":\"3\","
          "\"IpAddress\":\"%s\",\"IpPort\":\"50000\"}}}\n",
          id, second / 60, second % 60, 1000 + second, computer, user, ip);
}

/* The Windows examples: guessing (5 failures of one account on one host in
 * 5 minutes, local or not) and spraying (5 distinct accounts from one
 * address, through 4625 or 4648). */
static void test_example_windows(void **state) {
  (void)state;
  char rules[1024], log[512];
  example_path("windows/password-guessing.yml", rules, sizeof rules);
  snprintf(log, sizeof log, "%s/security.jsonl", tmpdir);
  FILE *f = fopen(log, "w");
  assert_non_null(f);
  int t = 0;
  for (int i = 0; i < 5; i++) win_event(f, 4625, t++, "alice", "-", "WS1"); /* guessing */
  for (int i = 0; i < 4; i++) win_event(f, 4625, t++, "bob", "-", "WS1");   /* 4: none */
  const char *users[] = {"u1", "u2", "u3", "u4", "u5", "u6"};
  for (int i = 0; i < 5; i++) win_event(f, 4625, t++, users[i], "192.0.2.9", "DC1"); /* spray */
  /* 4648 from another address: 4 distinct accounts, one repeated: none */
  for (int i = 0; i < 5; i++) win_event(f, 4648, t++, users[i % 4], "192.0.2.10", "WS2");
  /* machine accounts are left out of spraying */
  for (int i = 0; i < 5; i++) {
    char m[16];
    snprintf(m, sizeof m, "HOST%d$", i);
    win_event(f, 4648, t++, m, "192.0.2.11", "WS2");
  }
  fclose(f);
  parry_test_run_t r = parry_test_cli(
      (char *[]){"parry", "detect", "--format", "windows", "--rules", rules, log, NULL});
  assert_int_equal(r.rc, 0);
  json_object *alerts[8];
  size_t n = parse_alerts(r.out, alerts, 8);
  assert_int_equal(n, 2);
  json_object *g = find_alert(alerts, n, "b6186b61-1faf-4da4-b419-7dcc9ef13ef6");
  assert_string_equal(jstr(g, "group_by", "TargetUserName"), "alice");
  assert_string_equal(jstr(g, "group_by", "Computer"), "WS1");
  assert_int_equal(jint(g, "count"), 5);
  json_object *s = find_alert(alerts, n, "60310566-ab43-43cb-9d86-f998b662241a");
  assert_string_equal(jstr(s, "group_by", "IpAddress"), "192.0.2.9");
  assert_string_equal(jstr(s, "group_by", "Computer"), "DC1");
  assert_string_equal(jstr(s, "rule", "level"), "high");
  for (size_t i = 0; i < n; i++) json_object_put(alerts[i]);
  parry_test_run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_without_set_is_detect_event),
      cmocka_unit_test(test_generate_and_signals),
      cmocka_unit_test(test_min_level_and_filters),
      cmocka_unit_test(test_examples_load),
      cmocka_unit_test(test_example_sshd_brute_force),
      cmocka_unit_test(test_example_windows),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
