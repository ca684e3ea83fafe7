/* `parry detect` with correlation rules: detection and correlation alerts in
 * one output, the correlation flags (--allowed-lateness, --suppress,
 * --memory-cap, --threads) and their validation, min-level, rejected
 * correlation rules, stdin, and the summary line. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_support.h"
#include "test_support.h"

/* A number from the summary line: "name=N" (the line starts "events="). */
static long summary(const parry_test_run_t *r, const char *name) {
  const char *line = strstr(r->err, "events=");
  if (!line) fail_msg("no summary line in: %s", r->err);
  char pat[64];
  snprintf(pat, sizeof pat, "%s=", name);
  for (const char *p = line; (p = strstr(p, pat)); p++)
    if (p == line || p[-1] == ' ') return strtol(p + strlen(pat), NULL, 10);
  fail_msg("no %s= in: %s", name, line);
  return -1;
}

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  return parry_test_tmpdir_make(tmpdir, sizeof tmpdir, "/tmp/parry-test-corr-cli-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  return parry_test_tmpdir_remove(tmpdir);
}

static void write_file(const char *name, const char *text, char *path, size_t size) {
  parry_test_write_file(tmpdir, name, text, path, size);
}

/* A failed sshd password from ip at second s of 10:00 (s < 3600). */
static void failure(FILE *f, const char *ip, int s) {
  fprintf(f,
          "Dec  4 10:%02d:%02d lab sshd[%d]: Failed password for root from %s port %d ssh2\n",
          s / 60, s % 60, 1000 + s, ip, 30000 + s);
}

static const char *rules_text =
    "title: sshd failure\nid: 5e0c2d1a-0000-4000-8000-000000000001\nname: fail\nlevel: low\n"
    "logsource: {product: linux, service: sshd}\n"
    "detection: {sel: {event.action: ssh-password-failed}, condition: sel}\n"
    "---\n"
    "title: root targeted\nid: 5e0c2d1a-0000-4000-8000-000000000002\nlevel: medium\n"
    "logsource: {product: linux, service: sshd}\n"
    "detection: {sel: {user.name: root, event.action: ssh-password-failed}, condition: sel}\n"
    "---\n"
    "title: ten failures\nid: 5e0c2d1a-0000-4000-8000-000000000003\n"
    "correlation: {type: event_count, rules: [fail], group-by: [source.ip], timespan: 5m,\n"
    "  condition: {gte: 10}}\n"
    "level: high\n";

static char rules[512];

static void write_rules(void) { write_file("rules.yml", rules_text, rules, sizeof rules); }

/* Detection alerts of a rule no correlation uses and correlation alerts come
 * out together; the used rule stays silent; --threads 0 and 1 and stdin give
 * the same bytes; the summary line counts everything. */
static void test_detection_and_correlation_output(void **state) {
  (void)state;
  write_rules();
  char log[512];
  snprintf(log, sizeof log, "%s/a.log", tmpdir);
  FILE *f = fopen(log, "w");
  for (int i = 0; i < 12; i++) failure(f, "192.0.2.1", 10 * i);
  fclose(f);
  parry_test_run_t r = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules",
                                                 rules, "--threads", "1", log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(parry_test_count_lines(r.out), 13); /* 12 "root targeted", 1 correlation */
  assert_int_equal(summary(&r, "events"), 12);
  assert_int_equal(summary(&r, "alerts"), 13);
  assert_int_equal(summary(&r, "rules"), 2);
  assert_int_equal(summary(&r, "correlations"), 1);
  assert_int_equal(summary(&r, "signals"), 12);
  assert_int_equal(summary(&r, "correlation_alerts"), 1);
  assert_int_equal(summary(&r, "late"), 0);
  assert_null(strstr(r.out, "5e0c2d1a-0000-4000-8000-000000000001")); /* silent */
  const char *corr = strstr(r.out, "\"id\":\"5e0c2d1a-0000-4000-8000-000000000003\"");
  assert_non_null(corr);
  /* the correlation alert, as the codec reads it back */
  const char *line = corr;
  while (line > r.out && line[-1] != '\n') line--;
  const char *nl = strchr(line, '\n');
  char *text = strndup(line, (size_t)(nl - line));
  json_object *a = json_tokener_parse(text);
  free(text);
  assert_non_null(a);
  json_object *gb, *ip, *count, *window;
  assert_true(json_object_object_get_ex(a, "group_by", &gb));
  assert_true(json_object_object_get_ex(gb, "source.ip", &ip));
  assert_string_equal(json_object_get_string(ip), "192.0.2.1");
  assert_true(json_object_object_get_ex(a, "count", &count));
  assert_int_equal(json_object_get_int(count), 10);
  assert_true(json_object_object_get_ex(a, "window", &window));
  json_object_put(a);

  parry_test_run_t r0 = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog",
                                                  "--rules", rules, "--threads=0", log, NULL});
  assert_int_equal(r0.rc, 0);
  assert_string_equal(r0.out, r.out);
  assert_string_equal(r0.err, r.err);
  parry_test_run_free(&r0);

  /* the same lines on stdin */
  FILE *saved = stdin;
  stdin = fopen(log, "r");
  parry_test_run_t rs =
      parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules", rules, NULL});
  fclose(stdin);
  stdin = saved;
  assert_int_equal(rs.rc, 0);
  assert_int_equal(parry_test_count_lines(rs.out), 13);
  assert_non_null(strstr(rs.out, "\"id\":\"5e0c2d1a-0000-4000-8000-000000000003\""));
  parry_test_run_free(&rs);

  /* --min-level above the correlation's level: nothing of it is written,
   * though its signals were still counted */
  parry_test_run_t rm =
      parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules", rules,
                                "--min-level", "critical", log, NULL});
  assert_int_equal(rm.rc, 0);
  assert_string_equal(rm.out, "");
  assert_int_equal(summary(&rm, "signals"), 12);
  assert_int_equal(summary(&rm, "alerts"), 0);
  parry_test_run_free(&rm);
  parry_test_run_free(&r);
}

/* --suppress: after an alert, the same rule and address raise none for the
 * suppression time; they are counted as suppressed. */
static void test_suppress(void **state) {
  (void)state;
  write_rules();
  char log[512];
  snprintf(log, sizeof log, "%s/s.log", tmpdir);
  FILE *f = fopen(log, "w");
  for (int i = 0; i < 30; i++) failure(f, "192.0.2.2", 5 * i); /* 30 in 150 s */
  fclose(f);
  parry_test_run_t r = parry_test_cli(
      (char *[]){"parry", "detect", "--format", "syslog", "--rules", rules, log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(summary(&r, "correlation_alerts"), 3); /* at the 10th, 20th, 30th */
  assert_int_equal(summary(&r, "suppressed"), 0);
  parry_test_run_free(&r);
  r = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules", rules,
                                "--suppress", "1h", log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(summary(&r, "correlation_alerts"), 1);
  assert_int_equal(summary(&r, "suppressed"), 2);
  parry_test_run_free(&r);
  /* the same through the setting the service reads */
  r = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules", rules, "--set",
                                "correlator.default_suppression=1h", log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(summary(&r, "correlation_alerts"), 1);
  parry_test_run_free(&r);
}

/* --allowed-lateness: a failure 100 s older than the address's newest one is
 * late under the default (1 minute) and counted in; with 5 minutes it is
 * put back in order and makes the tenth. */
static void test_allowed_lateness(void **state) {
  (void)state;
  write_rules();
  char log[512];
  snprintf(log, sizeof log, "%s/l.log", tmpdir);
  FILE *f = fopen(log, "w");
  for (int i = 0; i < 9; i++) failure(f, "192.0.2.3", 100 + i);
  failure(f, "192.0.2.3", 8); /* 100 s before the newest */
  fclose(f);
  parry_test_run_t r = parry_test_cli(
      (char *[]){"parry", "detect", "--format", "syslog", "--rules", rules, log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(summary(&r, "late"), 1);
  assert_int_equal(summary(&r, "correlation_alerts"), 0);
  parry_test_run_free(&r);
  r = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules", rules,
                                "--allowed-lateness=5m", log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(summary(&r, "late"), 0);
  assert_int_equal(summary(&r, "correlation_alerts"), 1);
  parry_test_run_free(&r);
}

/* --memory-cap: with room for very little state, windows are evicted (and
 * counted); without a cap, none are. */
static void test_memory_cap(void **state) {
  (void)state;
  write_rules();
  char log[512];
  snprintf(log, sizeof log, "%s/m.log", tmpdir);
  FILE *f = fopen(log, "w");
  for (int s = 0; s < 2000; s++) {
    char ip[32];
    snprintf(ip, sizeof ip, "10.0.%d.%d", s / 250, s % 250);
    failure(f, ip, s);
  }
  fclose(f);
  parry_test_run_t r = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules",
                                                 rules, "--memory-cap", "0", log, NULL});
  assert_int_equal(r.rc, 0);
  assert_int_equal(summary(&r, "evicted"), 0);
  assert_int_equal(summary(&r, "signals"), 2000);
  parry_test_run_free(&r);
  r = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules", rules,
                                "--memory-cap", "16KiB", log, NULL});
  assert_int_equal(r.rc, 0);
  assert_true(summary(&r, "evicted") > 0);
  parry_test_run_free(&r);
}

/* Bad values are usage errors naming the flag; nothing is read. */
static void test_flag_validation(void **state) {
  (void)state;
  write_rules();
  struct {
    const char *flag, *value, *says;
  } bad[] = {
      {"--allowed-lateness", "soon", "--allowed-lateness"},
      {"--suppress", "-5s", "--suppress"},
      {"--memory-cap", "lots", "--memory-cap"},
      {"--threads", "2", "--threads"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    parry_test_run_t r =
        parry_test_cli((char *[]){"parry", "detect", "--rules", rules, (char *)bad[i].flag,
                                  (char *)bad[i].value, "/nonexistent", NULL});
    assert_int_equal(r.rc, 2);
    if (!strstr(r.err, bad[i].says)) fail_msg("%s %s: %s", bad[i].flag, bad[i].value, r.err);
    assert_string_equal(r.out, "");
    parry_test_run_free(&r);
  }
  /* a flag without its value */
  parry_test_run_t r =
      parry_test_cli((char *[]){"parry", "detect", "--rules", rules, "--suppress", NULL});
  assert_int_equal(r.rc, 2);
  parry_test_run_free(&r);
  /* --help names the flags */
  r = parry_test_cli((char *[]){"parry", "detect", "--help", NULL});
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out, "--allowed-lateness"));
  assert_non_null(strstr(r.out, "--memory-cap"));
  parry_test_run_free(&r);
}

/* A correlation rule that cannot work is listed (file:line:col: reason:
 * message) and left out; the rest runs. */
static void test_rejected_correlation_reported(void **state) {
  (void)state;
  char bad[512], log[512];
  write_file("bad.yml",
             "title: sshd failure\nid: 5e0c2d1a-0000-4000-8000-000000000011\nname: fail\n"
             "level: low\nlogsource: {product: linux, service: sshd}\n"
             "detection: {sel: {event.action: ssh-password-failed}, condition: sel}\n"
             "---\n"
             "title: names a rule that is not there\nid: 5e0c2d1a-0000-4000-8000-000000000012\n"
             "correlation: {type: event_count, rules: [no_such_rule], group-by: [source.ip],\n"
             "  timespan: 5m, condition: {gte: 2}}\n"
             "level: high\n"
             "---\n"
             "title: two failures\nid: 5e0c2d1a-0000-4000-8000-000000000013\n"
             "correlation: {type: event_count, rules: [fail], group-by: [source.ip],\n"
             "  timespan: 5m, condition: {gte: 2}}\n"
             "level: high\n",
             bad, sizeof bad);
  snprintf(log, sizeof log, "%s/r.log", tmpdir);
  FILE *f = fopen(log, "w");
  failure(f, "192.0.2.4", 1);
  failure(f, "192.0.2.4", 2);
  fclose(f);
  parry_test_run_t r = parry_test_cli(
      (char *[]){"parry", "detect", "--format", "syslog", "--rules", bad, log, NULL});
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.err, "1 rule documents rejected"));
  char where[600];
  snprintf(where, sizeof where, "%s:", bad);
  const char *at = strstr(r.err, where);
  if (!at) fail_msg("no %s in: %s", where, r.err);
  assert_true(strtol(at + strlen(where), NULL, 10) >= 8); /* the second document */
  assert_non_null(strstr(r.err, "no_such_rule"));
  assert_int_equal(summary(&r, "correlations"), 1);
  assert_int_equal(summary(&r, "correlation_alerts"), 1);
  assert_non_null(strstr(r.out, "5e0c2d1a-0000-4000-8000-000000000013"));
  parry_test_run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detection_and_correlation_output),
      cmocka_unit_test(test_suppress),
      cmocka_unit_test(test_allowed_lateness),
      cmocka_unit_test(test_memory_cap),
      cmocka_unit_test(test_flag_validation),
      cmocka_unit_test(test_rejected_correlation_reported),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
