/* parry plan and parry runbooks check through the CLI: the shipped example
 * runbooks over alerts made here, one line per step with `when` evaluated and
 * inputs rendered, hostile alert data that must come through verbatim, and
 * the errors for bad input lines and broken runbooks. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_support.h"
#include "test_support.h"

static char tmpdir[256], examples[1024];

static int setup(void **state) {
  (void)state;
  snprintf(examples, sizeof examples, "%s/examples/runbooks", parry_test_source_dir());
  return parry_test_tmpdir_make(tmpdir, sizeof tmpdir, "/tmp/parry-test-plan-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  return parry_test_tmpdir_remove(tmpdir);
}

static void write_file(const char *name, const char *text, char *path, size_t size) {
  parry_test_write_file(tmpdir, name, text, path, size);
}

/* The plan's lines as json-c objects (an array). */
static struct json_object *lines_of(const char *out) {
  struct json_object *arr = json_object_new_array();
  const char *p = out;
  while (*p) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    char *text = strndup(p, (size_t)(nl - p));
    struct json_object *j = json_tokener_parse(text);
    free(text);
    if (!j) fail_msg("not JSON: %.*s", (int)(nl - p), p);
    json_object_array_add(arr, j);
    p = nl + 1;
  }
  return arr;
}

/* The line for (alert, step), or fail. */
static struct json_object *line_for(struct json_object *lines, const char *alert,
                                    const char *step) {
  for (size_t i = 0; i < json_object_array_length(lines); i++) {
    struct json_object *l = json_object_array_get_idx(lines, i);
    if (!strcmp(json_object_get_string(json_object_object_get(l, "alert")), alert) &&
        !strcmp(json_object_get_string(json_object_object_get(l, "step")), step))
      return l;
  }
  fail_msg("no line for alert %s step %s", alert, step);
  return NULL;
}

static const char *str(struct json_object *o, const char *k) {
  return json_object_get_string(json_object_object_get(o, k));
}

static const char alerts[] =
    /* an outside attacker: the block step runs */
    "{\"id\":\"a-outside\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"1bb80dc9-"
    "fe2a-4e58-b74c-"
    "2a4c5a3aa0d3\",\"title\":\"SSH Brute Force From One "
    "Source\",\"level\":\"high\"},\"group_by\":{\"source.ip\":"
    "\"203.0.113.7\"},\"count\":25}\n"
    "\n"
    /* one of ours (allowlisted range): no block */
    "{\"id\":\"a-inside\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"1bb80dc9-fe2a-"
    "4e58-b74c-"
    "2a4c5a3aa0d3\",\"title\":\"SSH Brute Force From One "
    "Source\",\"level\":\"high\"},\"group_by\":{\"source.ip\":"
    "\"192.168.10.5\"},\"count\":12}\n"
    /* IPv6 in the allowlist */
    "{\"id\":\"a-v6\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"1bb80dc9-fe2a-"
    "4e58-b74c-"
    "2a4c5a3aa0d3\",\"level\":\"high\"},\"group_by\":{\"source.ip\":\"fd00::17\"},\"count\":12}\n"
    /* Windows guessing for a person, then for a service account */
    "{\"id\":\"w-alice\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"b6186b61-1faf-"
    "4da4-b419-"
    "7dcc9ef13ef6\",\"title\":\"Windows Password Guessing Against One "
    "Account\",\"level\":\"high\",\"tags\":["
    "\"attack.t1110\"]},\"group_by\":{\"Computer\":\"DC01\",\"TargetUserName\":\"alice\"},"
    "\"count\":30}\n"
    "{\"id\":\"w-svc\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"b6186b61-1faf-"
    "4da4-b419-"
    "7dcc9ef13ef6\",\"level\":\"high\",\"tags\":[\"attack.t1110\"]},\"group_by\":{\"Computer\":"
    "\"DC01\","
    "\"TargetUserName\":\"SVC_Backup\"},\"count\":30}\n"
    /* matches nothing */
    "{\"id\":\"nothing\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"other\","
    "\"level\":\"low\"}}\n";

static void test_plan_examples(void **state) {
  (void)state;
  char path[512];
  write_file("alerts.ndjson", alerts, path, sizeof path);
  char *argv[] = {"parry", "plan", "--runbooks", examples, path, NULL};
  parry_test_run_t r = parry_test_cli_argc(5, argv);
  if (r.rc != 0) fail_msg("rc %d: %s", r.rc, r.err);
  struct json_object *lines = lines_of(r.out);
  /* 9 steps of ssh-brute-force for each of 3 alerts, 7 windows steps for 2 */
  assert_int_equal(json_object_array_length(lines), 3 * 9 + 2 * 7);
  assert_non_null(strstr(r.err, "alerts=6 matched=5 steps=41 bad=0"));

  struct json_object *l = line_for(lines, "a-outside", "block");
  assert_string_equal(str(l, "runbook"), "ssh-brute-force");
  assert_string_equal(str(l, "uses"), "block_ip");
  assert_true(json_object_get_boolean(json_object_object_get(l, "when")));
  assert_true(json_object_get_boolean(json_object_object_get(l, "depends_on_outputs")));
  struct json_object *in = json_object_object_get(l, "inputs");
  assert_string_equal(str(in, "ip"), "203.0.113.7");
  assert_non_null(strstr(str(in, "reason"), "25 failed sshd logins"));
  assert_false(json_object_get_boolean(
      json_object_object_get(line_for(lines, "a-inside", "block"), "when")));
  assert_false(
      json_object_get_boolean(json_object_object_get(line_for(lines, "a-v6", "block"), "when")));
  /* steps without outputs of others carry no depends_on_outputs */
  l = line_for(lines, "a-outside", "geo");
  assert_null(json_object_object_get(l, "depends_on_outputs"));
  assert_string_equal(str(json_object_object_get(l, "inputs"), "ip"), "203.0.113.7");
  /* the handler is listed, not run */
  l = line_for(lines, "a-outside", "escalate");
  assert_non_null(strstr(str(l, "when"), "on_failure handler"));
  /* windows */
  assert_true(json_object_get_boolean(
      json_object_object_get(line_for(lines, "w-alice", "reset_password"), "when")));
  assert_string_equal(
      str(json_object_object_get(line_for(lines, "w-alice", "reset_password"), "inputs"), "user"),
      "alice");
  assert_false(json_object_get_boolean(
      json_object_object_get(line_for(lines, "w-svc", "reset_password"), "when")));
  assert_false(
      json_object_get_boolean(json_object_object_get(line_for(lines, "w-alice", "block"), "when")));
  assert_false(
      json_object_get_boolean(json_object_object_get(line_for(lines, "w-alice", "intel"), "when")));
  for (size_t i = 0; i < json_object_array_length(lines); i++)
    assert_string_not_equal(str(json_object_array_get_idx(lines, i), "alert"), "nothing");
  json_object_put(lines);
  parry_test_run_free(&r);
}

static void test_plan_hostile_data(void **state) {
  (void)state;
  /* an alert whose fields are full of shell metacharacters, quotes, CR/LF and
   * template syntax: they arrive in the inputs exactly as they were, nothing
   * expanded, the structure unchanged */
  const char *evil_ip = "1.2.3.4; rm -rf / #\\\"'$(id)`id`\\r\\n{{ alert.id }}";
  const char *evil_ip_decoded = "1.2.3.4; rm -rf / #\"'$(id)`id`\r\n{{ alert.id }}";
  char text[1024], path[512];
  snprintf(text, sizeof text,
           "{\"id\":\"evil\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"1bb80dc9-"
           "fe2a-4e58-b74c-"
           "2a4c5a3aa0d3\",\"title\":\"t{{ alert.count "
           "}}\",\"level\":\"high\"},\"group_by\":{\"source.ip\":\"%s\"},"
           "\"count\":11}\n",
           evil_ip);
  write_file("evil.ndjson", text, path, sizeof path);
  char *argv[] = {"parry", "plan", "--runbooks", examples, path, NULL};
  parry_test_run_t r = parry_test_cli_argc(5, argv);
  if (r.rc != 0) fail_msg("rc %d: %s", r.rc, r.err);
  struct json_object *lines = lines_of(r.out);
  assert_int_equal(json_object_array_length(lines), 9);
  struct json_object *l = line_for(lines, "evil", "block");
  struct json_object *in = json_object_object_get(l, "inputs");
  assert_int_equal(json_object_object_length(in), 3);
  assert_string_equal(str(in, "ip"), evil_ip_decoded);
  assert_non_null(strstr(str(in, "reason"), "(t{{ alert.count }})")); /* not expanded */
  /* not an address: cidr() is false, so `not cidr(...)` lets the block through */
  assert_true(json_object_get_boolean(json_object_object_get(l, "when")));
  /* the e-mail subject is a header: CR/LF from the data is refused, the step
   * reports the error instead of sending a message with an injected header */
  l = line_for(lines, "evil", "notify_email");
  assert_null(json_object_object_get(l, "inputs"));
  assert_non_null(strstr(str(l, "error"), "input subject"));
  assert_non_null(strstr(str(l, "error"), "CR"));
  /* Jira fields are JSON values: the data goes through verbatim */
  l = line_for(lines, "evil", "ticket");
  char want[256];
  snprintf(want, sizeof want, "SSH brute force from %s", evil_ip_decoded);
  assert_string_equal(str(json_object_object_get(l, "inputs"), "summary"), want);
  json_object_put(lines);
  parry_test_run_free(&r);
}

static void test_plan_bad_input(void **state) {
  (void)state;
  char path[512];
  write_file("bad.ndjson",
             "{\"id\":\"ok\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"x\"}}\n"
             "{not json}\n"
             "{\"id\":\"no-time\",\"rule\":{\"id\":\"x\"}}\n",
             path, sizeof path);
  char *argv[] = {"parry", "plan", "--runbooks", examples, path, "/nonexistent/alerts.ndjson",
                  NULL};
  parry_test_run_t r = parry_test_cli_argc(6, argv);
  assert_int_equal(r.rc, 1);
  char want[600];
  snprintf(want, sizeof want, "%s:2: not an alert", path);
  assert_non_null(strstr(r.err, want));
  snprintf(want, sizeof want, "%s:3: not an alert", path);
  assert_non_null(strstr(r.err, want));
  assert_non_null(strstr(r.err, "could not open /nonexistent/alerts.ndjson"));
  assert_non_null(strstr(r.err, "alerts=1 matched=0 steps=0 bad=2"));
  assert_string_equal(r.out, "");
  parry_test_run_free(&r);
}

static const char broken[] =
    "name: broken\n"
    "match: {rules: [x]}\n"
    "steps:\n"
    "  - id: a\n"
    "    uses: slak\n"
    "    when: alert.count >> 3\n";

static void test_runbooks_check(void **state) {
  (void)state;
  char *ok_argv[] = {"parry", "runbooks", "check", examples, NULL};
  parry_test_run_t r = parry_test_cli_argc(4, ok_argv);
  if (r.rc != 0) fail_msg("rc %d: %s%s", r.rc, r.out, r.err);
  assert_non_null(strstr(r.out, "files=2 runbooks=2 steps=16 errors=0"));
  parry_test_run_free(&r);

  char path[512];
  write_file("broken.yml", broken, path, sizeof path);
  char *bad_argv[] = {"parry", "runbooks", "check", path, NULL};
  r = parry_test_cli_argc(4, bad_argv);
  assert_int_equal(r.rc, 1);
  char want[700];
  snprintf(want, sizeof want, "%s:5:11: steps[0].uses: unknown connector \"slak\"", path);
  assert_non_null(strstr(r.out, want));
  snprintf(want, sizeof want, "%s:6:24: steps[0].when: bad expression", path);
  assert_non_null(strstr(r.out, want));
  assert_non_null(strstr(r.out, "files=1 runbooks=0 steps=0 errors=2"));
  parry_test_run_free(&r);

  /* plan refuses to plan with broken runbooks, and says why */
  char alerts_path[512];
  write_file("one.ndjson",
             "{\"id\":\"1\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"x\"}}\n",
             alerts_path, sizeof alerts_path);
  char *plan_argv[] = {"parry", "plan", "--runbooks", path, alerts_path, NULL};
  r = parry_test_cli_argc(5, plan_argv);
  assert_int_equal(r.rc, 1);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "unknown connector \"slak\""));
  parry_test_run_free(&r);

  /* usage */
  char *u1[] = {"parry", "runbooks", NULL};
  r = parry_test_cli_argc(2, u1);
  assert_int_equal(r.rc, 2);
  parry_test_run_free(&r);
  char *u2[] = {"parry", "runbooks", "check", NULL};
  r = parry_test_cli_argc(3, u2);
  assert_int_equal(r.rc, 2);
  parry_test_run_free(&r);
  char *u3[] = {"parry", "plan", alerts_path, NULL};
  r = parry_test_cli_argc(3, u3);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "--runbooks"));
  parry_test_run_free(&r);
  char *u4[] = {"parry", "plan", "--help", NULL};
  r = parry_test_cli_argc(3, u4);
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out, "depends_on_outputs"));
  parry_test_run_free(&r);
}

/* The whole offline path over the seeded generator's attackers: `parry
 * generate` -> `parry detect` with examples/rules -> `parry plan` with
 * examples/runbooks. Every attacker the manifest says must be blocked gets a
 * block step whose `when` is true for its address, and the allowlisted one
 * only false ones. */
static void test_plan_generated_attacks(void **state) {
  (void)state;
  char syslog[512], windows[512], manifest[512], rules[1024], alerts_path[512];
  snprintf(syslog, sizeof syslog, "%s/gen.syslog", tmpdir);
  snprintf(windows, sizeof windows, "%s/gen.windows", tmpdir);
  snprintf(manifest, sizeof manifest, "%s/manifest.json", tmpdir);
  snprintf(rules, sizeof rules, "%s/examples/rules", parry_test_source_dir());
  char *gen[] = {"parry", "generate",   "--seed", "1", "--out-syslog", syslog, "--out-windows",
                 windows, "--manifest", manifest, NULL};
  parry_test_run_t r = parry_test_cli_argc(10, gen);
  if (r.rc) fail_msg("generate: %s", r.err);
  parry_test_run_free(&r);
  /* detect each format into one alerts file */
  snprintf(alerts_path, sizeof alerts_path, "%s/gen.alerts", tmpdir);
  FILE *af = fopen(alerts_path, "w");
  assert_non_null(af);
  const char *inputs[][2] = {{"syslog", syslog}, {"windows", windows}};
  for (size_t i = 0; i < 2; i++) {
    char *det[] = {"parry",   "detect", "--format",           (char *)inputs[i][0],
                   "--rules", rules,    (char *)inputs[i][1], NULL};
    r = parry_test_cli_argc(7, det);
    if (r.rc) fail_msg("detect: %s", r.err);
    fputs(r.out, af);
    parry_test_run_free(&r);
  }
  fclose(af);
  char *plan[] = {"parry", "plan", "--runbooks", examples, alerts_path, NULL};
  r = parry_test_cli_argc(5, plan);
  if (r.rc) fail_msg("plan: %s", r.err);
  struct json_object *lines = lines_of(r.out);
  struct json_object *man = json_object_from_file(manifest);
  assert_non_null(man);
  struct json_object *attackers = json_object_object_get(man, "attackers");
  assert_true(json_object_array_length(attackers) >= 3);
  for (size_t a = 0; a < json_object_array_length(attackers); a++) {
    struct json_object *at = json_object_array_get_idx(attackers, a);
    const char *ip = str(at, "source_ip");
    bool want = json_object_get_boolean(
        json_object_object_get(json_object_object_get(at, "expect"), "block"));
    size_t yes = 0, no = 0;
    for (size_t i = 0; i < json_object_array_length(lines); i++) {
      struct json_object *l = json_object_array_get_idx(lines, i);
      if (strcmp(str(l, "step"), "block") != 0) continue;
      struct json_object *in = json_object_object_get(l, "inputs");
      if (!in || strcmp(str(in, "ip"), ip) != 0) continue;
      if (json_object_get_boolean(json_object_object_get(l, "when"))) yes++;
      else no++;
    }
    if (want ? (yes == 0) : (yes != 0 || no == 0))
      fail_msg("attacker %s (%s): block wanted %d, planned true %zu false %zu", str(at, "name"), ip,
               want, yes, no);
  }
  json_object_put(man);
  json_object_put(lines);
  parry_test_run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_examples),          cmocka_unit_test(test_plan_hostile_data),
      cmocka_unit_test(test_plan_bad_input),         cmocka_unit_test(test_runbooks_check),
      cmocka_unit_test(test_plan_generated_attacks),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
