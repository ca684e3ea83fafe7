/* Correlation rules: every example of the Sigma correlation specification
 * (read from the shared data at test time), each with hand-made events that
 * hit exact window boundaries and condition edges. The detection rules the
 * examples reference are written here (the specification leaves them out). */
#include "test_correlate.h"

#define LS "\"logsource\":{\"product\":\"test\"}"

/* detection rules: the ids and names the spec examples reference */
static const char *const DET =
    "\n---\ntitle: failed\nid: 5638f7c0-ac70-491d-8465-2a65075e0d86\nlogsource: {product: test}\n"
    "detection: {sel: {EventID: 4625}, condition: sel}\n"
    "---\ntitle: recon a\nname: recon_cmd_a\nlogsource: {product: test}\n"
    "detection: {sel: {cmd: a}, condition: sel}\n"
    "---\ntitle: recon b\nname: recon_cmd_b\nlogsource: {product: test}\n"
    "detection: {sel: {cmd: b}, condition: sel}\n"
    "---\ntitle: recon c\nname: recon_cmd_c\nlogsource: {product: test}\n"
    "detection: {sel: {cmd: c}, condition: sel}\n"
    "---\ntitle: many failed\nname: many_failed_logins\nlogsource: {product: test}\n"
    "detection: {sel: {EventID: 4625}, condition: sel}\n"
    "---\ntitle: success\nname: successful_login\nlogsource: {product: test}\n"
    "detection: {sel: {EventID: 4624}, condition: sel}\n"
    "---\ntitle: web\nname: website_access\nlogsource: {product: test}\n"
    "detection: {sel: {kind: web}, condition: sel}\n"
    "---\ntitle: rule a\nid: rule_a_id\nlogsource: {product: test}\n"
    "detection: {sel: {kind: net}, condition: sel}\n"
    "---\ntitle: procs\nname: process_creation\nlogsource: {product: test}\n"
    "detection: {sel: {kind: proc}, condition: sel}\n";

typedef struct {
  tout_t out;
  th_t *h;
} fleet_t;
static void fl_alert(void *o, const Parry__V1__Alert *a) { tout_alert(&((fleet_t *)o)->out, a); }
static void fl_resig(void *o, const Parry__V1__Signal *s, const char *k) {
  th_collect(((fleet_t *)o)->h, s, k);
}

static bool load_example(th_t *h, const char *needle, const char *title, const char *from,
                         const char *to) {
  char *block = th_spec_block(needle);
  if (!block) return false;
  char *text = title ? th_cat(title, block) : parry_xstrdup(block);
  if (from) {
    char *x = th_replace(text, from, to);
    free(text);
    text = x;
  }
  char *all = th_cat(text, DET);
  th_load(h, all);
  if (h->rep.rejected) {
    parry_sigma_report_print(&h->rep, stdout, true);
    fail_msg("example rejected");
  }
  assert_int_equal(parry_corr_set_count(h->set), 1);
  free(block);
  free(text);
  free(all);
  return true;
}

static void ec(th_t *h, int64_t sec, const char *host) {
  char f[256];
  snprintf(f, sizeof f, LS ",\"EventID\":4625,\"ComputerName\":\"%s\"", host);
  assert_int_equal(th_event(h, sec, NULL, f), 1);
}

/* event_count, gte 100 in 1h by ComputerName: the 100th event inside the
 * window fires, one alert per burst; the window includes both ends. */
static void test_spec_event_count(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: event_count\n    rules:\n        - 5638f7c0", NULL, NULL, NULL))
    skip();
  /* A: 99 at t=0, the 100th exactly 1h later: inside [t-1h, t] */
  for (int i = 0; i < 99; i++) ec(&h, 0, "A");
  ec(&h, 3600, "A");
  /* B: the 100th 1h + 1s later: the first 99 slid out */
  for (int i = 0; i < 99; i++) ec(&h, 0, "B");
  ec(&h, 3601, "B");
  /* C: 250 events in a burst: alerts at the 100th and 200th (state cleared
   * after each alert), not one per event */
  for (int i = 0; i < 250; i++) ec(&h, 10 + i, "C");
  /* no ComputerName: no signal */
  assert_int_equal(th_event(&h, 5, NULL, LS ",\"EventID\":4625"), 0);
  assert_int_equal(h.sst.missing_group_by, 1);
  tout_t out = {0};
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  th_run(&h, &o, &out);
  tout_sort(&out);
  const char *want[] = {
      "0e95725d-7320-415d-80f7-004da920fc11 count=100 sup=0 win=0..3600 events=10 ComputerName=A",
      "0e95725d-7320-415d-80f7-004da920fc11 count=100 sup=0 win=10..109 events=10 ComputerName=C",
      "0e95725d-7320-415d-80f7-004da920fc11 count=100 sup=0 win=110..209 events=10 ComputerName=C",
  };
  th_expect(&out, 3, want);
  /* the alert carries the references of the newest events */
  bool saw = false;
  for (size_t i = 0; i < out.n; i++) {
    const Parry__V1__Alert *a = out.alerts[i];
    assert_string_equal(a->rule_id, "0e95725d-7320-415d-80f7-004da920fc11");
    assert_string_equal(a->rule_title, "Many failed logins");
    assert_true(a->has_window);
    assert_int_equal(strlen(a->id), 32);
    if (a->window_start_ns == (T0 + 10) * SEC) {
      assert_int_equal(a->n_events, 10);
      assert_int_equal(a->events[9]->timestamp_ns, (T0 + 109) * SEC);
      saw = true;
    }
  }
  assert_true(saw);
  /* detection rules referenced (generate absent) raise no alert of their own */
  uint32_t idx;
  assert_true(parry_sigma_rule_find(h.rs, "5638f7c0-ac70-491d-8465-2a65075e0d86", &idx));
  assert_false(parry_corr_rule_generates(h.set, idx));
  assert_true(parry_corr_rule_used(h.set, idx));
  assert_true(parry_sigma_rule_find(h.rs, "recon_cmd_a", &idx));
  assert_true(parry_corr_rule_generates(h.set, idx));
  tout_free(&out);
  th_free(&h);
}

/* gt 100 instead of gte 100: 100 events are not enough, 101 are. */
static void test_spec_event_count_gt(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: event_count\n    rules:\n        - 5638f7c0", NULL, "gte: 100",
                    "gt: 100"))
    skip();
  for (int i = 0; i < 100; i++) ec(&h, i, "A");
  for (int i = 0; i < 101; i++) ec(&h, i, "B");
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"count=101 sup=0 win=0..100 events=10 ComputerName=B"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
}

/* lt: decided when the window closes (anchored at the first event). */
static void test_spec_event_count_lt(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: event_count\n    rules:\n        - 5638f7c0", NULL, "gte: 100",
                    "lt: 3"))
    skip();
  ec(&h, 0, "A");
  ec(&h, 3600, "A"); /* window [0, 3600]: 2 events */
  ec(&h, 3601, "A"); /* closes it: next window starts here */
  ec(&h, 3602, "A");
  ec(&h, 3603, "A"); /* 3 in [3601, 7201]: no alert at finish */
  ec(&h, 0, "B");    /* 1 event: closed by finish */
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"count=2 sup=0 win=0..3600 events=2 ComputerName=A",
                        "count=1 sup=0 win=0..3600 events=1 ComputerName=B"};
  th_expect(&out, 2, want);
  tout_free(&out);
  th_free(&h);
}

/* ranges: gt 2 and lte 4 is decided at window close too */
static void test_spec_event_count_range(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: event_count\n    rules:\n        - 5638f7c0", NULL, "gte: 100",
                    "gt: 2\n        lte: 4"))
    skip();
  for (int i = 0; i < 2; i++) ec(&h, i, "A"); /* 2: no */
  for (int i = 0; i < 3; i++) ec(&h, i, "B"); /* 3: yes */
  for (int i = 0; i < 4; i++) ec(&h, i, "C"); /* 4: yes */
  for (int i = 0; i < 5; i++) ec(&h, i, "D"); /* 5: no */
  tout_t out = {0};
  th_run(&h, NULL, &out);
  tout_sort(&out);
  const char *want[] = {"count=3 sup=0 win=0..3600 events=3 ComputerName=B",
                        "count=4 sup=0 win=0..3600 events=4 ComputerName=C"};
  th_expect(&out, 2, want);
  tout_free(&out);
  th_free(&h);
}

/* eq and neq */
static void test_spec_event_count_eq_neq(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: event_count\n    rules:\n        - 5638f7c0", NULL, "gte: 100",
                    "eq: 2"))
    skip();
  for (int i = 0; i < 2; i++) ec(&h, i, "A");
  for (int i = 0; i < 3; i++) ec(&h, i, "B");
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"count=2 sup=0 win=0..3600 events=2 ComputerName=A"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
  if (!load_example(&h, "type: event_count\n    rules:\n        - 5638f7c0", NULL, "gte: 100",
                    "neq: 2"))
    skip();
  for (int i = 0; i < 2; i++) ec(&h, i, "A");
  for (int i = 0; i < 3; i++) ec(&h, i, "B");
  memset(&out, 0, sizeof out);
  th_run(&h, NULL, &out);
  const char *want2[] = {"count=3 sup=0 win=0..3600 events=3 ComputerName=B"};
  th_expect(&out, 1, want2);
  tout_free(&out);
  th_free(&h);
}

/* value_count: distinct User per (ComputerName, WorkstationName) in 1d */
static void test_spec_value_count(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: value_count\n    rules:\n        - 5638f7c0", NULL, NULL, NULL))
    skip();
  char f[256];
  /* 99 distinct users, each twice: no alert */
  for (int i = 0; i < 198; i++) {
    snprintf(f, sizeof f, LS ",\"EventID\":4625,\"ComputerName\":\"A\",\"WorkstationName\":\"W\","
             "\"User\":\"u%d\"", i % 99);
    th_event(&h, i, NULL, f);
  }
  /* the 100th distinct user, exactly 1d after the first: fires */
  snprintf(f, sizeof f, LS ",\"EventID\":4625,\"ComputerName\":\"A\",\"WorkstationName\":\"W\","
           "\"User\":\"new\"");
  th_event(&h, 86400, NULL, f);
  /* other workstation, 100 distinct but the first slid out (1d + 1s) */
  for (int i = 0; i < 99; i++) {
    snprintf(f, sizeof f, LS ",\"EventID\":4625,\"ComputerName\":\"A\",\"WorkstationName\":\"X\","
             "\"User\":\"u%d\"", i);
    th_event(&h, i == 0 ? 0 : 100, NULL, f);
  }
  snprintf(f, sizeof f, LS ",\"EventID\":4625,\"ComputerName\":\"A\",\"WorkstationName\":\"X\","
           "\"User\":\"late\"");
  th_event(&h, 86401, NULL, f);
  /* no User: counted as missing value */
  th_event(&h, 5, NULL, LS ",\"EventID\":4625,\"ComputerName\":\"A\",\"WorkstationName\":\"W\"");
  assert_int_equal(h.sst.missing_value, 1);
  tout_t out = {0};
  th_run(&h, NULL, &out);
  /* the 99 users of W were last seen at 99..197, so the window starts at 99 */
  const char *want[] = {"count=100 sup=0 win=99..86400 events=10 ComputerName=A WorkstationName=W"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
}

static void cmd(th_t *h, int64_t sec, const char *c, const char *host, const char *user) {
  char f[256];
  snprintf(f, sizeof f, LS ",\"cmd\":\"%s\",\"ComputerName\":\"%s\",\"User\":\"%s\"", c, host, user);
  assert_int_equal(th_event(h, sec, NULL, f), 1);
}

/* temporal: a, b, c in any order within 5 min, same ComputerName and User.
 * The spec's snippet has no title (mandatory): rejected as is. */
static void test_spec_temporal(void **state) {
  (void)state;
  th_t h;
  char *block = th_spec_block("type: temporal\n    rules:\n        - recon_cmd_a");
  if (!block) skip();
  char *all = th_cat(block, DET);
  th_load(&h, all);
  assert_int_equal(parry_corr_set_count(h.set), 0);
  assert_int_equal(h.rep.n_rejections, 1);
  assert_non_null(strstr(h.rep.rejections[0].message, "title"));
  th_free(&h);
  free(all);
  free(block);

  if (!load_example(&h, "type: temporal\n    rules:\n        - recon_cmd_a", "title: recon\n",
                    NULL, NULL))
    skip();
  cmd(&h, 0, "c", "H", "u");
  cmd(&h, 100, "a", "H", "u");
  cmd(&h, 300, "b", "H", "u"); /* c at exactly t - 5m: fires */
  cmd(&h, 1000, "c", "H", "u");
  cmd(&h, 1100, "a", "H", "u");
  cmd(&h, 1301, "b", "H", "u"); /* c slid out */
  cmd(&h, 1302, "c", "H", "u"); /* a, b, c within [1002, 1302]: fires */
  cmd(&h, 2000, "a", "H", "u");
  cmd(&h, 2001, "b", "H", "other"); /* other user: another key */
  cmd(&h, 2002, "c", "H", "u");
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"recon count=3 sup=0 win=0..300 events=3 ComputerName=H User=u",
                        "recon count=3 sup=0 win=1100..1302 events=3 ComputerName=H User=u"};
  th_expect(&out, 2, want);
  tout_free(&out);
  th_free(&h);
}

/* temporal_ordered: the rules in the order listed */
static void test_spec_temporal_ordered(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: temporal_ordered\n    rules:\n        - many_failed_logins",
                    "title: ordered\n", NULL, NULL))
    skip();
  char f[256];
#define LOGIN(sec, id, user)                                                                 \
  do {                                                                                       \
    snprintf(f, sizeof f, LS ",\"EventID\":%d,\"User\":\"%s\"", id, user);                  \
    th_event(&h, sec, NULL, f);                                                              \
  } while (0)
  LOGIN(0, 4624, "a"); /* success first, then failure: not in order */
  LOGIN(10, 4625, "a");
  LOGIN(0, 4625, "b"); /* failure, success exactly 1h later: fires */
  LOGIN(3600, 4624, "b");
  LOGIN(0, 4625, "c"); /* 1h + 1s: too late */
  LOGIN(3601, 4624, "c");
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"ordered count=2 sup=0 win=0..3600 events=2 User=b"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
}

/* value_sum: bytes_sent over 1h, gt 1000000 */
static void test_spec_value_sum(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: value_sum", NULL, NULL, NULL)) skip();
  char f[256];
#define WEB(sec, ip, n)                                                                      \
  do {                                                                                       \
    snprintf(f, sizeof f, LS ",\"kind\":\"web\",\"SourceIP\":\"%s\",\"User\":\"u\","         \
             "\"bytes_sent\":%d", ip, n);                                                    \
    th_event(&h, sec, NULL, f);                                                              \
  } while (0)
  WEB(0, "1.1.1.1", 500000);
  WEB(3600, "1.1.1.1", 500000); /* exactly 1000000: gt needs more */
  WEB(3600, "1.1.1.1", 1);      /* 1000001: fires */
  WEB(0, "2.2.2.2", 600000);
  WEB(3601, "2.2.2.2", 600000); /* first one slid out */
  /* a numeric string counts too */
  snprintf(f, sizeof f, LS ",\"kind\":\"web\",\"SourceIP\":\"3.3.3.3\",\"User\":\"u\","
           "\"bytes_sent\":\"2000000\"");
  th_event(&h, 0, NULL, f);
  /* not a number: no signal */
  snprintf(f, sizeof f, LS ",\"kind\":\"web\",\"SourceIP\":\"3.3.3.3\",\"User\":\"u\","
           "\"bytes_sent\":\"lots\"");
  assert_int_equal(th_event(&h, 0, NULL, f), 0);
  tout_t out = {0};
  th_run(&h, NULL, &out);
  tout_sort(&out);
  const char *want[] = {"count=1 sup=0 win=0..0 events=1 SourceIP=3.3.3.3 User=u",
                        "count=3 sup=0 win=0..3600 events=3 SourceIP=1.1.1.1 User=u"};
  th_expect(&out, 2, want);
  tout_free(&out);
  th_free(&h);
}

/* value_avg: decided when the 24h window closes */
static void test_spec_value_avg(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: value_avg", NULL, NULL, NULL)) skip();
  char f[256];
#define NET(sec, ip, n)                                                                      \
  do {                                                                                       \
    snprintf(f, sizeof f, LS ",\"kind\":\"net\",\"SourceIP\":\"%s\",\"User\":\"u\","         \
             "\"BytesOut\":%d", ip, n);                                                      \
    th_event(&h, sec, NULL, f);                                                              \
  } while (0)
  NET(0, "a", 400);
  NET(86400, "a", 700); /* avg 550 over [0, 86400] */
  NET(86401, "a", 100); /* closes the window (alert), opens the next */
  NET(0, "b", 500);
  NET(10, "b", 500); /* avg 500: not gt 500 */
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"Suspicious average network traffic count=2 sup=0 win=0..86400 events=2 "
                        "SourceIP=a User=u"};
  /* the rule has no id: its title is its key */
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
}

/* value_percentile: a value whose share of the window is <= 1 % */
static void test_spec_value_percentile(void **state) {
  (void)state;
  th_t h;
  if (!load_example(&h, "type: value_percentile", NULL, NULL, NULL)) skip();
  char f[256];
#define PROC(sec, host, img)                                                                 \
  do {                                                                                       \
    snprintf(f, sizeof f, LS ",\"kind\":\"proc\",\"ComputerName\":\"%s\",\"image\":\"%s\"",   \
             host, img);                                                                     \
    th_event(&h, sec, NULL, f);                                                              \
  } while (0)
  for (int i = 0; i < 99; i++) PROC(i, "A", "svchost.exe");
  PROC(200, "A", "rare.exe"); /* 1 of 100 = 1 %: lte 1 holds */
  for (int i = 0; i < 50; i++) PROC(i, "B", "svchost.exe");
  PROC(60, "B", "rare.exe"); /* 1 of 51: no */
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"count=1 sup=0 win=0..86400 events=10 ComputerName=A"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
}

/* aliases: the same address as destination in one rule and as source in
 * the other. The spec's detection rules have no title or logsource, so
 * this test writes its own with the same names. */
static void test_spec_aliases(void **state) {
  (void)state;
  char *block = th_spec_block("internal_ip:\n            internal_error");
  if (!block) skip();
  char *rules = th_cat(block,
                       "\n---\ntitle: internal error\nname: internal_error\nlogsource: {product: test}\n"
                       "detection: {sel: {http.response.status_code: 500}, condition: sel}\n"
                       "---\ntitle: new connection\nname: new_network_connection\n"
                       "logsource: {product: test}\ndetection:\n  sel:\n    event.category: network\n"
                       "    event.type: connection\n    event.outcome: success\n  condition: sel\n");
  th_t h;
  th_load(&h, rules);
  assert_int_equal(h.rep.rejected, 0);
  assert_int_equal(parry_corr_set_count(h.set), 1);
  const char *err500 = LS ",\"http\":{\"response\":{\"status_code\":500}},"
                          "\"source\":{\"ip\":\"10.0.0.9\"},\"destination\":{\"ip\":\"10.0.0.1\"}";
  const char *conn = LS ",\"event\":{\"id\":\"x\",\"category\":[\"network\"],\"type\":[\"connection\"],"
                        "\"outcome\":\"success\"},"
                        "\"source\":{\"ip\":\"10.0.0.1\"},\"destination\":{\"ip\":\"10.0.0.9\"}";
  assert_int_equal(th_event(&h, 0, NULL, err500), 1);
  (void)conn;
  /* the connection event: id comes from its own event object */
  char json[1024];
  snprintf(json, sizeof json,
           "{\"@timestamp\":\"2023-11-14T22:13:30Z\",\"event\":{\"id\":\"c1\",\"category\":[\"network\"],"
           "\"type\":[\"connection\"],\"outcome\":\"success\"}," LS ","
           "\"source\":{\"ip\":\"10.0.0.1\"},\"destination\":{\"ip\":\"10.0.0.9\"}}");
  Parry__V1__Event *ev = NULL;
  char err[256];
  assert_int_equal(parry_event_from_json(json, strlen(json), &ev, err, sizeof err), PARRY_OK);
  const parry_sigma_match_t *mt;
  size_t nm = parry_sigma_match(h.m, ev, &mt);
  assert_int_equal(nm, 1);
  assert_int_equal(parry_corr_signals(h.set, h.rs, mt[0].rule, ev, th_collect, &h), 1);
  parry__v1__event__free_unpacked(ev, NULL);
  /* both signals land on the same key: internal_ip=10.0.0.1, remote_ip=10.0.0.9 */
  assert_string_equal(h.sigs[0].key, h.sigs[1].key);
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"count=2 sup=0 win=0..10 events=2 internal_ip=10.0.0.1 remote_ip=10.0.0.9"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
  free(rules);
  free(block);
}

/* The complete example: event_count chained into temporal_ordered, rules by
 * name, several documents in one file. */
static void test_spec_full_example(void **state) {
  (void)state;
  char *block = th_spec_block("Correlation - Multiple Failed Logins Followed by Successful Login");
  if (!block) skip();
  char *text = th_replace(block, "service: security", "service: security"); /* as is */
  th_t h;
  th_load(&h, text);
  assert_int_equal(h.rep.rejected, 0);
  assert_int_equal(parry_corr_set_count(h.set), 2);
  char f[256];
#define WIN(sec, id, user)                                                                   \
  do {                                                                                       \
    snprintf(f, sizeof f, "\"logsource\":{\"product\":\"windows\",\"service\":\"security\"},"  \
             "\"EventID\":%d,\"User\":\"%s\"", id, user);                                    \
    th_event(&h, sec, NULL, f);                                                              \
  } while (0)
  /* bob: 10 failures in 9 s, success 10 min after the 10th failure */
  for (int i = 0; i < 10; i++) WIN(i, 4625, "bob");
  WIN(609, 4624, "bob");
  /* eve: 9 failures and a success: no */
  for (int i = 0; i < 9; i++) WIN(i, 4625, "eve");
  WIN(20, 4624, "eve");
  /* joe: success before the failures */
  WIN(0, 4624, "joe");
  for (int i = 0; i < 10; i++) WIN(1 + i, 4625, "joe");
  /* ann: success 10 min + 1 s after the 10th failure */
  for (int i = 0; i < 10; i++) WIN(i, 4625, "ann");
  WIN(610, 4624, "ann");
  tout_t out = {0};
  th_run(&h, NULL, &out);
  /* only the outer rule alerts (the inner one is used with generate: false) */
  const char *want[] = {
      "b180ead8-d58f-40b2-ae54-c8940995b9b6 count=2 sup=0 win=9..609 events=2 User=bob"};
  th_expect(&out, 1, want);
  assert_string_equal(out.alerts[0]->rule_level, "high");
  assert_string_equal(out.alerts[0]->rule_title,
                      "Correlation - Multiple Failed Logins Followed by Successful Login");
  uint32_t idx;
  assert_true(parry_sigma_rule_find(h.rs, "failed_login", &idx));
  assert_false(parry_corr_rule_generates(h.set, idx));
  /* the inner rule is not generating */
  for (size_t i = 0; i < parry_corr_set_count(h.set); i++) {
    const parry_corr_rule_info_t *ri = parry_corr_rule_info(h.set, i);
    assert_int_equal(ri->generates, strcmp(ri->key, "b180ead8-d58f-40b2-ae54-c8940995b9b6") == 0);
  }

  /* fleet mode: the chained signal goes out through resignal, keyed for the
   * outer rule; fed (with the outer rule's own signals, in time order) to
   * the engine that owns that key, it gives the same alert */
  const char *outer = "b180ead8-d58f-40b2-ae54-c8940995b9b6";
  th_t back = {0};
  fleet_t fl = {{0}, &back};
  parry_corr_sink_t fsink = {fl_alert, NULL, &fl, fl_resig};
  parry_corr_engine_t *e = parry_corr_engine_new(h.set, NULL);
  for (size_t i = 0; i < h.n_sigs; i++) {
    char err[256];
    assert_int_equal(parry_corr_engine_feed(e, h.sigs[i].sig, &fsink, err, sizeof err), PARRY_OK);
  }
  parry_corr_engine_finish(e, &fsink);
  parry_corr_engine_destroy(e);
  assert_int_equal(fl.out.n, 0);
  assert_int_equal(back.n_sigs, 3); /* bob, joe and ann had 10 failures */
  bool bob = false;
  for (size_t i = 0; i < back.n_sigs; i++) {
    assert_string_equal(back.sigs[i].sig->correlation_id, outer);
    assert_string_equal(back.sigs[i].sig->rule_id, "a8418a5a-5fc4-46b5-b23b-6c73beb19d41");
    if (strcmp(back.sigs[i].key, "b180ead8-d58f-40b2-ae54-c8940995b9b6|bob") == 0) bob = true;
  }
  assert_true(bob);
  /* the outer key's signals: successes from stage 1 plus the chained ones */
  tsig_t *mine = parry_xnew(tsig_t, h.n_sigs + back.n_sigs);
  size_t nm = 0;
  for (size_t i = 0; i < h.n_sigs; i++)
    if (strcmp(h.sigs[i].sig->correlation_id, outer) == 0) mine[nm++] = h.sigs[i];
  for (size_t i = 0; i < back.n_sigs; i++) mine[nm++] = back.sigs[i];
  for (size_t i = 1; i < nm; i++) /* stable insertion sort by time */
    for (size_t j = i; j > 0 && mine[j - 1].sig->timestamp_ns > mine[j].sig->timestamp_ns; j--) {
      tsig_t t = mine[j];
      mine[j] = mine[j - 1];
      mine[j - 1] = t;
    }
  tout_t out2 = {0};
  parry_corr_sink_t s2 = tout_sink(&out2);
  e = parry_corr_engine_new(h.set, NULL);
  for (size_t i = 0; i < nm; i++) {
    char err[256];
    assert_int_equal(parry_corr_engine_feed(e, mine[i].sig, &s2, err, sizeof err), PARRY_OK);
  }
  parry_corr_engine_finish(e, &s2);
  parry_corr_engine_destroy(e);
  th_expect(&out2, 1, want);
  assert_string_equal(out2.alerts[0]->id, out.alerts[0]->id);
  free(mine);
  tout_free(&out2);
  tout_free(&out);
  tout_free(&fl.out);
  th_free(&back);
  th_free(&h);
  free(text);
  free(block);
}

/* The specification's schema test examples (tests/schema/correlation/, every
 * file) compile, with their type and timespan. */
static void test_schema_examples(void **state) {
  (void)state;
  const char *dir = parry_test_data_dir();
  if (!dir) skip();
  static const char *const files[] = {"event_count.yml", "event_count_ecs.yml", "temporal.yml",
                                      "temporal_ordered.yml", "value_avg.yml", "value_count.yml",
                                      "value_percentile.yml", "value_sum.yml"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char rel[256];
    snprintf(rel, sizeof rel, "sigma-specification/tests/schema/correlation/%s", files[i]);
    char *text = th_data_file(rel);
    if (!text) skip();
    char *all = th_cat(text, DET);
    th_t h;
    th_load(&h, all);
    if (h.rep.rejected || parry_corr_set_count(h.set) != 1) {
      parry_sigma_report_print(&h.rep, stdout, true);
      fail_msg("%s does not compile", files[i]);
    }
    const parry_corr_rule_info_t *ri = parry_corr_rule_info(h.set, 0);
    assert_true(ri->timespan_ns >= 300 * SEC);
    assert_non_null(strstr(text, ri->type));
    th_free(&h);
    free(all);
    free(text);
  }
}

/* Group-by fields are found like a Sigma rule's fields: here through the
 * fallback prefix; and alerts and signals encode as canonical JSON. */
static void test_field_lookup_and_json(void **state) {
  (void)state;
  const char *yaml =
      "title: c\nid: c\ncorrelation: {type: value_count, rules: [r], group-by: [IpAddress], "
      "timespan: 1m, condition: {gte: 2, field: TargetUserName}}\n"
      "---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection: {s: {EventID: 4625}, condition: s}\n";
  const char *const prefixes[] = {"winlog.event_data."};
  parry_sigma_options_t so = {0};
  so.field_prefixes = prefixes;
  so.n_field_prefixes = 1;
  th_t h;
  memset(&h, 0, sizeof h);
  char err[256];
  h.rs = parry_sigma_load_text("corr.yml", yaml, strlen(yaml), &so, &h.rep, err, sizeof err);
  assert_non_null(h.rs);
  h.set = parry_corr_compile(h.rs, &h.rep, err, sizeof err);
  h.m = parry_sigma_matcher_new(h.rs);
  assert_int_equal(parry_corr_set_count(h.set), 1);
  for (int i = 0; i < 2; i++) {
    char f[512];
    snprintf(f, sizeof f, LS ",\"winlog\":{\"event_data\":{\"EventID\":4625,\"IpAddress\":\"10.0.0.7\","
             "\"TargetUserName\":\"user%d\"}}", i);
    assert_int_equal(th_event(&h, i, "0123456789abcdef0123456789abcdef", f), 1);
  }
  assert_string_equal(h.sigs[0].key, "c|10.0.0.7");
  assert_string_equal(h.sigs[0].sig->value->string_value, "user0");
  parry_buf_t b;
  parry_buf_init(&b, 0);
  assert_int_equal(parry_signal_to_json(h.sigs[0].sig, &b, err, sizeof err), PARRY_OK);
  assert_non_null(strstr(b.data, "\"group_by\":{\"IpAddress\":\"10.0.0.7\"}"));
  tout_t out = {0};
  th_run(&h, NULL, &out);
  assert_int_equal(out.n, 1);
  parry_buf_reset(&b);
  if (parry_alert_to_json(out.alerts[0], &b, err, sizeof err) != PARRY_OK) fail_msg("alert json: %s", err);
  assert_non_null(strstr(b.data, "\"window\":{"));
  /* the packed 32-hex event id comes back as written */
  assert_string_equal(out.alerts[0]->events[0]->id, "0123456789abcdef0123456789abcdef");
  parry_buf_free(&b);
  tout_free(&out);
  th_free(&h);
}

/* `generate: true` keeps the referenced rules alerting */
static void test_generate(void **state) {
  (void)state;
  th_t h;
  th_load(&h, "title: c\nid: c1\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [r]\n"
              "  group-by: [host]\n  timespan: 1m\n  condition: {gte: 2}\n"
              "---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection: {s: {a: 1}, condition: s}\n");
  assert_int_equal(parry_corr_set_count(h.set), 1);
  uint32_t idx;
  assert_true(parry_sigma_rule_find(h.rs, "r", &idx));
  assert_true(parry_corr_rule_generates(h.set, idx));
  th_free(&h);
}

/* Rejections name the file, the line and the field. */
static void rejected(const char *corr, uint32_t line, const char *needle) {
  char *all = th_cat(corr, "---\ntitle: r\nname: r\nlogsource: {product: test}\n"
                           "detection: {s: {a: 1}, condition: s}\n");
  th_t h;
  th_load(&h, all);
  if (h.rep.n_rejections != 1 || !strstr(h.rep.rejections[0].message, needle) ||
      (line && h.rep.rejections[0].line != line)) {
    parry_sigma_report_print(&h.rep, stdout, true);
    fail_msg("expected one rejection at line %u with \"%s\"", line, needle);
  }
  assert_string_equal(h.rep.rejections[0].file, "corr.yml");
  assert_int_equal(parry_corr_set_count(h.set), 0);
  th_free(&h);
  free(all);
}

static void test_rejections(void **state) {
  (void)state;
  /* the spec's "Related rules" snippet has no type */
  char *block = th_spec_block("title: login brute force\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n  rules:");
  if (block) {
    char *b2 = th_cat(block, "---\n");
    rejected(b2, 0, "correlation.type: missing");
    free(b2);
    free(block);
  }
  rejected("title: x\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n"
           "  condition: {gte: 1}\n---\n",
           4, "correlation.rules: 'nope' names no loaded rule");
  rejected("title: x\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5x\n"
           "  condition: {gte: 1}\n---\n",
           5, "correlation.timespan");
  rejected("title: x\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5m\n---\n", 3,
           "correlation.condition: event_count needs a condition");
  rejected("title: x\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5m\n"
           "  condition: {above: 3}\n---\n",
           6, "unknown operator 'above'");
  rejected("title: x\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5m\n"
           "  condition: {gte: many}\n---\n",
           6, "correlation.condition.gte: must be a number");
  rejected("title: x\ncorrelation:\n  type: value_count\n  rules: [r]\n  timespan: 5m\n"
           "  condition: {gte: 3}\n---\n",
           6, "correlation.condition.field: value_count needs a field");
  rejected("title: x\ncorrelation:\n  type: nearby\n  rules: [r]\n  timespan: 5m\n---\n", 3,
           "correlation.type: unknown type 'nearby'");
  rejected("title: x\ncorrelation:\n  type: temporal_ordered\n  rules: [r]\n  timespan: 5m\n"
           "  condition: {lt: 2}\n---\n",
           6, "temporal_ordered supports only gt/gte");
  rejected("title: x\ncorrelation:\n  type: temporal\n  rules: [r]\n  timespan: 5m\n"
           "  condition: {gte: 2}\n---\n",
           6, "needs 2 rules");
  rejected("title: x\ncorrelation:\n  type: event_count\n  rules: [r, r]\n  timespan: 5m\n"
           "  condition: {gte: 2}\n---\n",
           4, "'r' listed twice");
  rejected("title: x\nsuppress: soon\ncorrelation:\n  type: event_count\n  rules: [r]\n"
           "  timespan: 5m\n  condition: {gte: 2}\n---\n",
           2, "suppress: 'soon'");
  rejected("title: x\ngenerate: maybe\ncorrelation:\n  type: event_count\n  rules: [r]\n"
           "  timespan: 5m\n  condition: {gte: 2}\n---\n",
           2, "generate: must be true or false");
  rejected("title: x\ncorrelation:\n  type: value_percentile\n  rules: [r]\n  timespan: 5m\n"
           "  condition: {field: f, lte: 101}\n---\n",
           6, "a percentage between 0 and 100");
  /* two rules known by the same title: the second is rejected (found by fuzzing) */
  th_t d;
  th_load(&d, "title: same\ncorrelation: {type: event_count, rules: [r], timespan: 5m, condition: {gte: 2}}\n"
              "---\ntitle: same\ncorrelation: {type: event_count, rules: [r], timespan: 1m, condition: {gte: 2}}\n"
              "---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection: {s: {a: 1}, condition: s}\n");
  assert_int_equal(d.rep.n_rejections, 1);
  assert_int_equal(d.rep.rejections[0].line, 4);
  assert_non_null(strstr(d.rep.rejections[0].message, "'same' already names another correlation rule"));
  assert_int_equal(parry_corr_set_count(d.set), 1);
  th_free(&d);
  /* a loop of correlations */
  th_t h;
  th_load(&h, "title: a\nname: ca\ncorrelation:\n  type: temporal\n  rules: [cb]\n  timespan: 5m\n"
              "---\ntitle: b\nname: cb\ncorrelation:\n  type: temporal\n  rules: [ca]\n  timespan: 5m\n");
  assert_int_equal(h.rep.n_rejections, 2);
  assert_non_null(strstr(h.rep.rejections[0].message, "loops"));
  assert_int_equal(parry_corr_set_count(h.set), 0);
  th_free(&h);
  /* a rule using a rejected correlation is rejected too */
  th_load(&h, "title: a\nname: ca\ncorrelation:\n  type: temporal\n  rules: [cb]\n  timespan: 5m\n"
              "---\ntitle: b\nname: cb\ncorrelation:\n  type: temporal\n  rules: [r]\n  timespan: 5\n"
              "---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection: {s: {a: 1}, condition: s}\n");
  assert_int_equal(h.rep.n_rejections, 2);
  assert_int_equal(parry_corr_set_count(h.set), 0);
  th_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_event_count),    cmocka_unit_test(test_spec_event_count_gt),
      cmocka_unit_test(test_spec_event_count_lt), cmocka_unit_test(test_spec_event_count_range),
      cmocka_unit_test(test_spec_event_count_eq_neq), cmocka_unit_test(test_spec_value_count),
      cmocka_unit_test(test_spec_temporal),       cmocka_unit_test(test_spec_temporal_ordered),
      cmocka_unit_test(test_spec_value_sum),      cmocka_unit_test(test_spec_value_avg),
      cmocka_unit_test(test_spec_value_percentile), cmocka_unit_test(test_spec_aliases),
      cmocka_unit_test(test_spec_full_example),   cmocka_unit_test(test_schema_examples),
      cmocka_unit_test(test_generate),           cmocka_unit_test(test_field_lookup_and_json),
      cmocka_unit_test(test_rejections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
