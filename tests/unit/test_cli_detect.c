/* parry detect and parry rules check: hand-written rules over NDJSON events
 * (alerts, stable ids, min-level), the load report of a broken rule, and the
 * SigmaHQ regression cases through the whole path (normalizer with the
 * Windows parser -> Sigma engine -> alerts); parry normalize --received-at. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_support.h"
#include "parry/codec.h"
#include "test_support.h"

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  return parry_test_tmpdir_make(tmpdir, sizeof tmpdir, "/tmp/parry-test-detect-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  return parry_test_tmpdir_remove(tmpdir);
}

static const char rules_text[] =
    "title: SSH password failure\n"
    "id: 6a1f0c1e-0000-4000-8000-000000000001\n"
    "level: high\n"
    "tags: [attack.credential-access, attack.t1110]\n"
    "description: A failed SSH password.\n"
    "logsource: {product: linux, service: sshd}\n"
    "detection:\n"
    "  sel: {event.action: ssh-password-failed}\n"
    "  condition: sel\n"
    "---\n"
    "title: Any SSH login by root\n"
    "id: 6a1f0c1e-0000-4000-8000-000000000002\n"
    "level: low\n"
    "logsource: {product: linux, service: sshd}\n"
    "detection:\n"
    "  sel: {user.name: root}\n"
    "  condition: sel\n";

static const char events_text[] =
    "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"id\":\"ev1\",\"action\":\"ssh-password-failed\"},"
    "\"user\":{\"name\":\"root\"},\"logsource\":{\"product\":\"linux\",\"service\":\"sshd\"}}\n"
    "{\"@timestamp\":\"2026-01-02T03:04:06Z\",\"event\":{\"id\":\"ev2\",\"action\":\"ssh-password-failed\"},"
    "\"user\":{\"name\":\"bob\"},\"logsource\":{\"product\":\"linux\",\"service\":\"sshd\"}}\n"
    "{\"@timestamp\":\"2026-01-02T03:04:07Z\",\"event\":{\"id\":\"ev3\",\"action\":\"ssh-login\"},"
    "\"user\":{\"name\":\"alice\"},\"logsource\":{\"product\":\"linux\",\"service\":\"sshd\"}}\n"
    "{\"@timestamp\":\"2026-01-02T03:04:08Z\",\"event\":{\"id\":\"ev4\",\"action\":\"ssh-password-failed\"},"
    "\"user\":{\"name\":\"root\"},\"logsource\":{\"product\":\"windows\",\"service\":\"security\"}}\n";

/* Parse every output line as an Alert; returns how many. */
static size_t check_alerts(const char *out, Parry__V1__Alert **alerts, size_t max) {
  size_t n = 0;
  const char *p = out;
  while (*p) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    char err[256];
    Parry__V1__Alert *a = NULL;
    if (parry_alert_from_json(p, (size_t)(nl - p), &a, err, sizeof err) != PARRY_OK)
      fail_msg("not an alert (%s): %.*s", err, (int)(nl - p), p);
    if (n < max) alerts[n] = a;
    else parry__v1__alert__free_unpacked(a, NULL);
    n++;
    p = nl + 1;
  }
  return n;
}

static void test_detect_ndjson(void **state) {
  (void)state;
  char rules[512], events[512];
  parry_test_write_file(tmpdir, "ssh.yml", rules_text, rules, sizeof rules);
  parry_test_write_file(tmpdir, "events.ndjson", events_text, events, sizeof events);

  parry_test_run_t r =
      parry_test_cli_argc(5, (char *[]){"parry", "detect", "--rules", rules, events, NULL});
  assert_int_equal(r.rc, 0);
  Parry__V1__Alert *a[8] = {0};
  size_t n = check_alerts(r.out, a, 8);
  /* ev1: both rules; ev2: the failure rule; ev3: none; ev4: wrong logsource */
  assert_int_equal(n, 3);
  assert_string_equal(a[0]->rule_id, "6a1f0c1e-0000-4000-8000-000000000001");
  assert_string_equal(a[0]->rule_title, "SSH password failure");
  assert_string_equal(a[0]->rule_level, "high");
  assert_int_equal(a[0]->n_rule_tags, 2);
  assert_string_equal(a[0]->rule_tags[1], "attack.t1110");
  assert_string_equal(a[0]->rule_description, "A failed SSH password.");
  assert_int_equal(a[0]->count, 1);
  assert_int_equal(a[0]->n_events, 1);
  assert_string_equal(a[0]->events[0]->id, "ev1");
  assert_string_equal(a[0]->events[0]->user_name, "root");
  assert_true(a[0]->timestamp_ns == a[0]->events[0]->timestamp_ns);
  assert_int_equal(strlen(a[0]->id), 32);
  assert_string_equal(a[1]->rule_id, "6a1f0c1e-0000-4000-8000-000000000002");
  assert_string_equal(a[1]->events[0]->id, "ev1");
  assert_string_equal(a[2]->rule_id, "6a1f0c1e-0000-4000-8000-000000000001");
  assert_string_equal(a[2]->events[0]->id, "ev2");
  assert_string_not_equal(a[0]->id, a[1]->id);
  assert_string_not_equal(a[0]->id, a[2]->id);
  assert_non_null(strstr(r.err, "events=4 alerts=3 rules=2 rejected=0"));
  char *first = strdup(r.out);
  parry_test_run_free(&r);

  /* the same input gives the same alerts, ids included */
  r = parry_test_cli_argc(5, (char *[]){"parry", "detect", "--rules", rules, events, NULL});
  assert_int_equal(r.rc, 0);
  assert_string_equal(r.out, first);
  parry_test_run_free(&r);

  /* --min-level medium silences the low rule */
  r = parry_test_cli_argc(
      7, (char *[]){"parry", "detect", "--rules", rules, "--min-level", "medium", events, NULL});
  assert_int_equal(r.rc, 0);
  Parry__V1__Alert *b[8] = {0};
  assert_int_equal(check_alerts(r.out, b, 8), 2);
  assert_string_equal(b[0]->id, a[0]->id);
  assert_string_equal(b[1]->id, a[2]->id);
  assert_non_null(strstr(r.err, "events=4 alerts=2 rules=2"));
  parry_test_run_free(&r);
  r = parry_test_cli_argc(
      6, (char *[]){"parry", "detect", "--rules", rules, "--min-level=critical", events, NULL});
  assert_int_equal(r.rc, 0);
  assert_string_equal(r.out, "");
  parry_test_run_free(&r);

  /* usage errors */
  r = parry_test_cli_argc(4, (char *[]){"parry", "detect", "--min-level=loud", events, NULL});
  assert_int_equal(r.rc, 2);
  parry_test_run_free(&r);
  r = parry_test_cli_argc(3, (char *[]){"parry", "detect", events, NULL});
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "--rules"));
  parry_test_run_free(&r);

  for (size_t i = 0; i < 8; i++) {
    if (a[i]) parry__v1__alert__free_unpacked(a[i], NULL);
    if (b[i]) parry__v1__alert__free_unpacked(b[i], NULL);
  }
  free(first);
}

/* A raw log and the NDJSON `parry normalize` made of it give the same alert. */
static void test_detect_raw_log_and_correlation_note(void **state) {
  (void)state;
  char rules[512], log[512];
  parry_test_write_file(tmpdir, "raw.yml",
                        "title: SSH password failure (raw)\n"
                        "id: 6a1f0c1e-0000-4000-8000-000000000003\n"
                        "level: medium\n"
                        "logsource: {product: linux, service: sshd}\n"
                        "detection:\n"
                        "  sel: {message|contains: 'Failed password'}\n"
                        "  condition: sel\n"
                        "---\n"
                        "title: Many failures\n"
                        "id: 6a1f0c1e-0000-4000-8000-000000000004\n"
                        "correlation:\n"
                        "  type: event_count\n"
                        "  rules: [6a1f0c1e-0000-4000-8000-000000000003]\n"
                        "  group-by: [source.ip]\n"
                        "  timespan: 5m\n"
                        "  condition: {gte: 5}\n"
                        "generate: true\n", /* the detection rule keeps its own alerts */
                        rules, sizeof rules);
  parry_test_write_file(
      tmpdir, "auth.log",
      "Dec  4 10:00:00 host sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2\n"
      "Dec  4 10:00:01 host sshd[1]: Accepted password for bob from 1.2.3.5 port 22 ssh2\n",
      log, sizeof log);
  parry_test_run_t r =
      parry_test_cli_argc(5, (char *[]){"parry", "detect", "--rules", rules, log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(parry_test_count_lines(r.out), 1);
  assert_non_null(strstr(r.err, "correlations=1 signals=1 correlation_alerts=0"));
  assert_non_null(strstr(r.err, "events=2 alerts=1 rules=1 rejected=0"));
  char *raw = strdup(r.out);
  parry_test_run_free(&r);

  r = parry_test_cli_argc(3, (char *[]){"parry", "normalize", log, NULL});
  assert_int_equal(r.rc, 0);
  char events[512];
  parry_test_write_file(tmpdir, "auth.ndjson", r.out, events, sizeof events);
  parry_test_run_free(&r);
  r = parry_test_cli_argc(5, (char *[]){"parry", "detect", "--rules", rules, events, NULL});
  assert_int_equal(r.rc, 0);
  assert_string_equal(r.out, raw);
  parry_test_run_free(&r);
  free(raw);
}

static void test_rules_check(void **state) {
  (void)state;
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/check", tmpdir);
  assert_int_equal(mkdir(dir, 0700), 0);
  parry_test_write_file(dir, "good.yml", rules_text, path, sizeof path);
  parry_test_run_t r = parry_test_cli_argc(4, (char *[]){"parry", "rules", "check", dir, NULL});
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out, "rules=2"));
  parry_test_run_free(&r);

  parry_test_write_file(dir, "broken.yml",
                        "title: Broken\n"
                        "logsource: {product: linux}\n"
                        "detection:\n"
                        "  sel:\n"
                        "    message|frobnicate: x\n"
                        "  condition: sel\n",
                        path, sizeof path);
  r = parry_test_cli_argc(4, (char *[]){"parry", "rules", "check", dir, NULL});
  assert_int_equal(r.rc, 1);
  char where[700];
  snprintf(where, sizeof where, "%s:5:", path);
  if (!strstr(r.out, where)) fail_msg("expected %s in:\n%s", where, r.out);
  assert_non_null(strstr(r.out, "frobnicate"));
  assert_non_null(strstr(r.out, "rejected=1"));
  parry_test_run_free(&r);

  r = parry_test_cli_argc(3, (char *[]){"parry", "rules", "check", NULL});
  assert_int_equal(r.rc, 2);
  parry_test_run_free(&r);
  r = parry_test_cli_argc(3, (char *[]){"parry", "rules", "lint", NULL});
  assert_int_equal(r.rc, 2);
  parry_test_run_free(&r);
  snprintf(path, sizeof path, "%s/missing", tmpdir);
  r = parry_test_cli_argc(4, (char *[]){"parry", "rules", "check", path, NULL});
  assert_int_equal(r.rc, 1);
  parry_test_run_free(&r);
}

/* SigmaHQ's regression cases: each event file through `parry detect` with
 * only that case's rule. Unlike test_sigma_regression.c, the events are not
 * flattened by the test: the normalizer's Windows parser reads the EVTX JSON
 * and gives the logsource, so this checks the whole path. */
static void test_sigmahq_regression(void **state) {
  (void)state;
  const char *data = parry_test_data_dir();
  if (!data) skip();
  char index[1024];
  snprintf(index, sizeof index, "%s/sigmahq/regression_index.tsv", data);
  FILE *f = fopen(index, "r");
  if (!f) {
    printf("# skipping: no %s\n", index);
    skip();
  }
  char *line = NULL;
  size_t cap = 0, cases = 0, passed = 0, alerts = 0;
  while (getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\r\n")] = 0;
    char *col[6] = {0}, *p = line;
    for (int c = 0; c < 6 && p; c++) {
      col[c] = p;
      p = strchr(p, '\t');
      if (p) *p++ = 0;
    }
    if (!col[3] || !strcmp(col[0], "rule_id")) continue;
    char rule[1024], events[1024];
    snprintf(rule, sizeof rule, "%s/sigmahq/%s", data, col[2]);
    snprintf(events, sizeof events, "%s/sigmahq/%s", data, col[3]);
    /* A blank count means "at least one". The same two corrections as
     * test_sigma_regression.c, where they are explained: the index's counts
     * disagree with the rules' own logic on these events. */
    size_t want = col[5] && *col[5] ? strtoul(col[5], NULL, 10) : 0;
    if (!strcmp(col[0], "c7dcacd0-cc59-4004-b0a4-1d6cdebe6f3e")) want = 2;
    if (!strcmp(col[0], "0b9ad457-2554-44c1-82c2-d56a99c42377")) want = 3;
    parry_test_run_t r =
        parry_test_cli_argc(5, (char *[]){"parry", "detect", "--rules", rule, events, NULL});
    size_t hits = parry_test_count_lines(r.out);
    cases++;
    alerts += hits;
    if (r.rc == 0 && (want ? hits == want : hits >= 1) && strstr(r.err, "rules=1 rejected=0"))
      passed++;
    else
      printf("case %s (%s): rc=%d, %zu alerts, expected %zu; %s", col[0], col[1], r.rc, hits,
             want, r.err);
    parry_test_run_free(&r);
  }
  free(line);
  fclose(f);
  printf("sigmahq regression via parry detect: %zu of %zu cases pass, %zu alerts\n", passed,
         cases, alerts);
  assert_true(cases > 0);
  assert_int_equal(passed, cases);
}

/* --received-at: the time of records without one and the syslog year
 * rule's reference (a 2015 log replayed today gets 2015), so a replay is
 * reproducible; a value that is not RFC 3339 is refused, naming it. */
static void test_normalize_received_at(void **state) {
  (void)state;
  char log[512];
  parry_test_write_file(tmpdir, "old-auth.log",
                        "Jun 14 06:09:21 host sshd[7]: Invalid user x from 10.1.2.3\n"
                        "{\"a\":1}\n",
                        log, sizeof log);
  parry_test_run_t r = parry_test_cli_argc(
      5, (char *[]){"parry", "normalize", "--received-at", "2015-07-01T00:00:00Z", log, NULL});
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out, "\"@timestamp\":\"2015-06-14T06:09:21Z\""));
  assert_non_null(strstr(r.out, "\"@timestamp\":\"2015-07-01T00:00:00Z\",\"event\""));
  char *first = strdup(r.out);
  parry_test_run_free(&r);
  r = parry_test_cli_argc(4, (char *[]){"parry", "normalize", "--received-at=2015-07-01T00:00:00Z",
                                        log, NULL});
  assert_int_equal(r.rc, 0);
  assert_string_equal(r.out, first); /* same input, same time: same bytes */
  parry_test_run_free(&r);
  free(first);
  r = parry_test_cli_argc(5, (char *[]){"parry", "normalize", "--received-at", "yesterday", log,
                                        NULL});
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "--received-at"));
  assert_non_null(strstr(r.err, "\"yesterday\""));
  parry_test_run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detect_ndjson),
      cmocka_unit_test(test_detect_raw_log_and_correlation_note),
      cmocka_unit_test(test_rules_check),
      cmocka_unit_test(test_normalize_received_at),
      cmocka_unit_test(test_sigmahq_regression),
  };
  return cmocka_run_group_tests_name("cli_detect", tests, setup, teardown);
}
