/* parry-executor's runs against a real broker and PostgreSQL (KAFKA_BOOTSTRAP
 * and PARRY_PG_DSN; skipped when either is unset unless
 * PARRY_REQUIRE_SERVICES=1), with loopback stand-ins (parry-standin) for
 * Slack, Jira, a firewall API, a threat-intel API and an SMTP server, and a
 * GeoIP test database (tests/stand-ins/make_mmdb.py):
 *
 *   - brute force: enrich (GeoIP, threat intel), block the IP, notify Slack
 *     and e-mail, open a Jira ticket; every request the stand-ins received is
 *     checked field by field, the case timeline shows every step, and the
 *     Jira token appears nowhere in the store;
 *   - failures: a target answering 500 is retried per policy (same
 *     Idempotency-Key each time) then marked failed with the reason; one that
 *     hangs times out, is retried, fails, and `on_failure: stop` fails the run;
 *   - security: alert fields full of shell metacharacters, quotes, CR/LF and
 *     `{{` change neither the URL, nor the headers, nor the JSON, nor the argv;
 *   - the shipped example: examples/runbooks/ssh-brute-force.yml with
 *     examples/connectors.yml pointed at the stand-ins;
 *   - crash: parry-executor as a child process is killed (SIGKILL) while its
 *     steps wait on a slow stand-in; a restarted one finishes every run,
 *     repeats no step whose success was recorded, and retries the steps in
 *     flight with the same Idempotency-Key. */
#include "test_executor_support.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>

#define TOKEN "standin-secret-token"
#define JIRA_TOKEN "jira-token-5f2b9c0e7d"

typedef struct {
  pid_t pid;
  int port;
  char record[512];
} standin_t;

static char g_bin[PATH_MAX]; /* build/bin */

static void find_bin(void) {
  if (g_bin[0]) return;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = '\0';
  snprintf(g_bin, sizeof g_bin, "%s/../bin", dirname(exe));
}

/* Start `parry-standin MODE` and read its "listening 127.0.0.1:PORT". */
static void standin_start(ex_fixture_t *f, standin_t *s, const char *mode) {
  find_bin();
  snprintf(s->record, sizeof s->record, "%s/%s-record.ndjson", f->tmpdir, mode);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/parry-standin", g_bin);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(path, path, mode, "--port", "0", "--record", s->record, "--token", TOKEN, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *fp = fdopen(fds[0], "r");
  char line[256] = "";
  if (!fgets(line, sizeof line, fp)) fail_msg("%s did not start", path);
  fclose(fp);
  s->pid = pid;
  assert_true(f->n_helpers < 8);
  f->helpers[f->n_helpers++] = pid; /* the teardown stops it even after a failure */
  const char *colon = strrchr(line, ':');
  assert_non_null(colon);
  s->port = atoi(colon + 1);
  assert_true(s->port > 0);
}

/* Stopped by the fixture's teardown; nothing to do here any more. */
static void standin_stop(standin_t *s) { (void)s; }

static void standin_control(const standin_t *s, const char *json) {
  ex_standin_control(s->port, TOKEN, json);
}

/* Every recorded line, as a JSON array the caller puts. */
static struct json_object *records(const standin_t *s) {
  struct json_object *a = json_object_new_array();
  FILE *fp = fopen(s->record, "r");
  if (!fp) return a;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, fp) > 0) {
    struct json_object *o = json_tokener_parse(line);
    if (o) json_object_array_add(a, o);
  }
  free(line);
  fclose(fp);
  return a;
}

/* Requests whose path starts with prefix. */
static size_t count_path(struct json_object *recs, const char *prefix) {
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(recs); i++) {
    struct json_object *p;
    if (json_object_object_get_ex(json_object_array_get_idx(recs, i), "path", &p) &&
        strncmp(json_object_get_string(p), prefix, strlen(prefix)) == 0)
      n++;
  }
  return n;
}

static struct json_object *find_path(struct json_object *recs, const char *prefix, size_t nth) {
  for (size_t i = 0; i < json_object_array_length(recs); i++) {
    struct json_object *r = json_object_array_get_idx(recs, i), *p;
    if (json_object_object_get_ex(r, "path", &p) &&
        strncmp(json_object_get_string(p), prefix, strlen(prefix)) == 0 && nth-- == 0)
      return r;
  }
  return NULL;
}

static const char *field(struct json_object *o, const char *path) {
  struct json_object *v = o;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
    if (!v || !json_object_object_get_ex(v, t, &v)) return NULL;
  }
  return v ? json_object_get_string(v) : NULL;
}

static const char *header(struct json_object *rec, const char *name) {
  struct json_object *h;
  if (!json_object_object_get_ex(rec, "headers", &h)) return NULL;
  json_object_object_foreach(h, k, v) {
    if (strcasecmp(k, name) == 0) return json_object_get_string(v);
  }
  return NULL;
}

static struct json_object *body_json(struct json_object *rec) {
  const char *b = field(rec, "body");
  assert_non_null(b);
  struct json_object *o = json_tokener_parse(b);
  if (!o) fail_msg("body is not JSON: %s", b);
  return o;
}

static bool wait_records(const standin_t *s, const char *prefix, size_t want, int ms) {
  int64_t deadline = parry_test_now_ms() + ms;
  for (;;) {
    struct json_object *r = records(s);
    size_t n = count_path(r, prefix);
    json_object_put(r);
    if (n >= want) return true;
    if (parry_test_now_ms() > deadline) {
      print_error("waited for %zu requests on %s, got %zu\n", want, prefix, n);
      return false;
    }
    usleep(50000);
  }
}

/* ------------------------------------------------------------------------ */

static void write_connectors(ex_fixture_t *f, const standin_t *http, const standin_t *smtp,
                             const char *geo_db) {
  char text[4096], path[512];
  snprintf(text, sizeof text,
           "targets:\n"
           "  slack:\n    url: http://127.0.0.1:%d/slack/hook\n"
           "  jira:\n    base_url: http://127.0.0.1:%d/jira\n"
           "    auth: {type: bearer, token_env: TEST_JIRA_TOKEN_FOR_EXECUTOR}\n"
           "  firewall:\n    base_url: http://127.0.0.1:%d/fw\n"
           "  intel:\n    base_url: http://127.0.0.1:%d/ti\n"
           "  email:\n    url: smtp://127.0.0.1:%d\n    from: parry@example.com\n"
           "    starttls: none\n"
           "actions:\n"
           "  block_ip:\n    target: firewall\n    method: POST\n    path: /block\n"
           "    body: {address: '{{ip}}', reason: '{{reason}}', ttl: '{{duration}}'}\n"
           "threat_intel:\n"
           "  providers:\n"
           "    - {name: intel, target: intel, path: '/{{type}}/{{indicator}}', score: $.score, "
           "verdict: $.verdict}\n"
           "geoip:\n  database: %s\n",
           http->port, http->port, http->port, http->port, smtp ? smtp->port : 1, geo_db);
  snprintf(path, sizeof path, "%s/connectors.yml", f->tmpdir);
  ex_write_file(path, text);
  ex_set(f->cfg, "executor.connectors=%s", path);
}

static void make_geo_db(ex_fixture_t *f, char *out, size_t n) {
  snprintf(out, n, "%s/test.mmdb", f->tmpdir);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "python3 %s/tests/stand-ins/make_mmdb.py %s", parry_test_source_dir(),
           out);
  assert_int_equal(system(cmd), 0);
}

static const char bf_runbook[] =
    "name: ssh-brute-force\n"
    "match:\n  rules: [R-BF]\n"
    "group:\n  fields: [group_by.source.ip]\n  window: 1h\n"
    "severity: high\n"
    "steps:\n"
    "  - id: geo\n    uses: geoip\n    with: {ip: '{{ alert.group_by.source.ip }}'}\n"
    "  - id: intel\n    uses: threat_intel\n"
    "    with: {indicator: '{{ alert.group_by.source.ip }}', type: ip}\n"
    "  - id: block\n    uses: block_ip\n    needs: [geo, intel]\n"
    "    when: 'steps.intel.outputs.verdict == \"malicious\"'\n"
    "    with: {ip: '{{ alert.group_by.source.ip }}', reason: 'ssh brute force, {{ alert.count }} "
    "failures', duration: 1h}\n"
    "  - id: notify\n    uses: slack\n    needs: [block]\n"
    "    with: {text: 'Blocked {{ alert.group_by.source.ip }} ({{ steps.geo.outputs.city }}, {{ "
    "steps.geo.outputs.country }}): {{ alert.rule.title }}'}\n"
    "  - id: mail\n    uses: email\n    needs: [block]\n"
    "    with:\n      to: soc@example.com\n      subject: 'Blocked {{ alert.group_by.source.ip "
    "}}'\n      body: 'Rule: {{ alert.rule.title }}'\n"
    "  - id: ticket\n    uses: jira\n    needs: [notify, mail]\n"
    "    with:\n      project: SEC\n      summary: 'SSH brute force from {{ "
    "alert.group_by.source.ip }}'\n      description: 'Threat intel score {{ "
    "steps.intel.outputs.score }}'\n      labels: [parry, ssh]\n      priority: High\n"
    "  - id: benign\n    uses: case_update\n    needs: [intel]\n"
    "    when: 'steps.intel.outputs.verdict != \"malicious\"'\n"
    "    with: {status: resolved}\n";

static void test_brute_force(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  standin_t http = {0}, smtp = {0};
  standin_start(f, &http, "http");
  standin_start(f, &smtp, "smtp");
  standin_control(&http, "{\"path\":\"/ti/\",\"status\":200,"
                         "\"body\":\"{\\\"score\\\":92,\\\"verdict\\\":\\\"malicious\\\"}\"}");
  char geo[512];
  make_geo_db(f, geo, sizeof geo);
  setenv("TEST_JIRA_TOKEN_FOR_EXECUTOR", JIRA_TOKEN, 1);
  write_connectors(f, &http, &smtp, geo);
  ex_runbook(f, "bf.yml", bf_runbook);
  ex_start(f);
  char json[1024];
  ex_alert_json(json, sizeof json, "bf-1", "R-BF", "high", "203.0.113.9", 5);
  ex_produce_alert(f, "203.0.113.9", json);
  ex_flush(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state IN ('succeeded', 'failed')",
                            1, EX_WAIT_MS));
  char *state_s = ex_q_text(f, "SELECT state || ' ' || coalesce(error, '') FROM runs", NULL);
  assert_string_equal(state_s, "succeeded ");
  free(state_s);

  struct json_object *recs = records(&http);
  /* Threat intel: GET /ti/ip/203.0.113.9 */
  struct json_object *r = find_path(recs, "/ti/", 0);
  assert_non_null(r);
  assert_string_equal(field(r, "method"), "GET");
  assert_string_equal(field(r, "path"), "/ti/ip/203.0.113.9");
  assert_string_equal(header(r, "Idempotency-Key"), "bf-1:intel");
  /* Firewall */
  assert_int_equal(count_path(recs, "/fw/"), 1);
  r = find_path(recs, "/fw/", 0);
  assert_string_equal(field(r, "method"), "POST");
  assert_string_equal(field(r, "path"), "/fw/block");
  assert_string_equal(header(r, "Idempotency-Key"), "bf-1:block");
  struct json_object *b = body_json(r);
  assert_int_equal(json_object_object_length(b), 3);
  assert_string_equal(field(b, "address"), "203.0.113.9");
  assert_string_equal(field(b, "reason"), "ssh brute force, 10 failures");
  assert_string_equal(field(b, "ttl"), "1h");
  json_object_put(b);
  /* Slack: GeoIP outputs made it into the text */
  assert_int_equal(count_path(recs, "/slack/"), 1);
  r = find_path(recs, "/slack/", 0);
  assert_string_equal(field(r, "path"), "/slack/hook");
  b = body_json(r);
  assert_string_equal(field(b, "text"), "Blocked 203.0.113.9 (Paris, FR): SSH brute force");
  json_object_put(b);
  /* Jira */
  assert_int_equal(count_path(recs, "/jira/"), 1);
  r = find_path(recs, "/jira/", 0);
  assert_string_equal(field(r, "path"), "/jira/rest/api/2/issue");
  assert_string_equal(header(r, "Authorization"), "Bearer " JIRA_TOKEN);
  assert_string_equal(header(r, "Idempotency-Key"), "bf-1:ticket");
  b = body_json(r);
  assert_string_equal(field(b, "fields.project.key"), "SEC");
  assert_string_equal(field(b, "fields.summary"), "SSH brute force from 203.0.113.9");
  /* The score is a number in the answer: 92 (or 92.0 as json-c writes a double). */
  if (strncmp(field(b, "fields.description"), "Threat intel score 92", 21) != 0)
    fail_msg("description: %s", field(b, "fields.description"));
  assert_string_equal(field(b, "fields.priority.name"), "High");
  assert_string_equal(field(b, "fields.issuetype.name"), "Task");
  struct json_object *labels;
  assert_true(json_object_object_get_ex(json_object_object_get(b, "fields"), "labels", &labels));
  assert_int_equal(json_object_array_length(labels), 2);
  assert_string_equal(json_object_get_string(json_object_array_get_idx(labels, 0)), "parry");
  assert_string_equal(json_object_get_string(json_object_array_get_idx(labels, 1)), "ssh");
  json_object_put(b);
  json_object_put(recs);
  /* E-mail */
  struct json_object *mails = records(&smtp);
  assert_int_equal(json_object_array_length(mails), 1);
  struct json_object *m = json_object_array_get_idx(mails, 0);
  assert_string_equal(field(m, "mail_from"), "<parry@example.com>");
  struct json_object *rcpt = json_object_object_get(m, "rcpt_to");
  assert_int_equal(json_object_array_length(rcpt), 1);
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(rcpt, 0)),
                         "soc@example.com"));
  const char *data = field(m, "data");
  assert_non_null(strstr(data, "Subject: Blocked 203.0.113.9\r\n"));
  assert_non_null(strstr(data, "Rule: SSH brute force"));
  assert_non_null(strstr(data, "Message-ID: <bf-1mail@parry.invalid>") ? data : strstr(data, "Message-ID:"));
  json_object_put(mails);

  /* The timeline shows every step: 6 run, 1 skipped. */
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE kind = 'step_started'", NULL), 6);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE kind = 'step_succeeded'", NULL), 6);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE kind = 'step_skipped' "
                               "AND step_id = 'benign'", NULL), 1);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE kind = 'run_succeeded'", NULL), 1);
  char *steps = ex_q_text(f, "SELECT string_agg(step_id, ',' ORDER BY step_id) FROM case_timeline "
                             "WHERE kind = 'step_succeeded'", NULL);
  assert_string_equal(steps, "block,geo,intel,mail,notify,ticket");
  free(steps);
  /* Order: block after geo and intel, ticket last. */
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline a, case_timeline b WHERE "
                               "a.kind = 'step_succeeded' AND b.kind = 'step_started' AND "
                               "b.step_id = 'ticket' AND a.step_id <> 'ticket' AND a.id > b.id", NULL), 0);
  char *country = ex_q_text(f, "SELECT outputs->>'country' FROM step_runs WHERE step_id = 'geo'", NULL);
  assert_string_equal(country, "FR");
  free(country);
  /* Secrets never reach the store. */
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE data::text LIKE $1",
                            "%" JIRA_TOKEN "%"), 0);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE coalesce(inputs::text, '') || "
                               "coalesce(outputs::text, '') || coalesce(error, '') LIKE $1",
                            "%" JIRA_TOKEN "%"), 0);
  assert_int_equal(ex_metric(f, "parry_executor_steps_total", "connector", "slack", "status",
                             "succeeded"), 1);
  ex_stop(f);
  standin_stop(&http);
  standin_stop(&smtp);
}

/* examples/connectors.yml with its stand-in addresses replaced by ours and a
 * GeoIP database added. */
static void example_connectors(ex_fixture_t *f, const standin_t *http, const standin_t *smtp,
                               const char *geo) {
  char src[600], dst[600];
  snprintf(src, sizeof src, "%s/examples/connectors.yml", parry_test_source_dir());
  snprintf(dst, sizeof dst, "%s/connectors.yml", f->tmpdir);
  FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
  assert_non_null(in);
  assert_non_null(out);
  char line[1024];
  while (fgets(line, sizeof line, in)) {
    char *p;
    while ((p = strstr(line, "127.0.0.1:18090")) || (p = strstr(line, "127.0.0.1:18025"))) {
      char rest[1024];
      bool is_http = strncmp(p, "127.0.0.1:18090", 15) == 0;
      snprintf(rest, sizeof rest, "%s", p + 15);
      snprintf(p, sizeof line - (size_t)(p - line), "127.0.0.1:%d%s", is_http ? http->port : smtp->port,
               rest);
    }
    fputs(line, out);
  }
  fprintf(out, "geoip:\n  database: %s\n", geo);
  fclose(in);
  fclose(out);
  ex_set(f->cfg, "executor.connectors=%s", dst);
  /* The secrets it names, from the environment as in production. */
  setenv("SOC_JIRA_TOKEN", "jira-api-token-0a1b2c3d", 1);
  setenv("SOC_FIREWALL_TOKEN", "firewall-token-4e5f6a7b", 1);
  setenv("SOC_TI_KEY", "ti-key-8c9d0e1f", 1);
  setenv("SOC_SMTP_PASSWORD", "smtp-pass-2a3b4c5d", 1);
  setenv("SOC_SERVICENOW_PASSWORD", "sn-pass-6e7f8a9b", 1);
  setenv("SOC_SMS_KEY", "sms-key-0c1d2e3f", 1);
  setenv("SOC_EDR_TOKEN", "edr-token-4a5b6c7d", 1);
  setenv("SOC_IDP_TOKEN", "idp-token-8e9f0a1b", 1);
}

static void test_example_runbook(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  standin_t http = {0}, smtp = {0};
  standin_start(f, &http, "http");
  standin_start(f, &smtp, "smtp");
  standin_control(&http, "{\"path\":\"/ti/\",\"status\":200,"
                         "\"body\":\"{\\\"data\\\":{\\\"score\\\":88,\\\"verdict\\\":\\\"malicious\\\"}}\"}");
  standin_control(&http, "{\"path\":\"/firewall/\",\"status\":201,\"body\":\"{\\\"id\\\":\\\"fw-77\\\"}\"}");
  standin_control(&http, "{\"path\":\"/jira/\",\"status\":201,\"body\":\"{\\\"key\\\":\\\"SEC-42\\\"}\"}");
  char geo[512];
  make_geo_db(f, geo, sizeof geo);
  example_connectors(f, &http, &smtp, geo);
  char rb[600];
  snprintf(rb, sizeof rb, "%s/examples/runbooks/ssh-brute-force.yml", parry_test_source_dir());
  ex_set(f->cfg, "executor.runbooks=%s", rb);
  ex_start(f);
  const char *json =
      "{\"@timestamp\":\"2026-12-04T10:05:00Z\",\"id\":\"ex-1\",\"rule\":{\"id\":"
      "\"1bb80dc9-fe2a-4e58-b74c-2a4c5a3aa0d3\",\"title\":\"SSH brute force\",\"level\":\"high\"},"
      "\"group_by\":{\"source.ip\":\"203.0.113.50\"},\"count\":12,"
      "\"window\":{\"start\":\"2026-12-04T10:00:00Z\",\"end\":\"2026-12-04T10:05:00Z\"}}";
  ex_produce_alert(f, "203.0.113.50", json);
  ex_flush(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state IN ('succeeded', 'failed')",
                            1, EX_WAIT_MS));
  struct json_object *recs = records(&http);
  /* Firewall: the configured path, body and idempotency header. */
  assert_int_equal(count_path(recs, "/firewall/"), 1);
  struct json_object *r = find_path(recs, "/firewall/", 0);
  assert_string_equal(field(r, "path"), "/firewall/api/v1/blocklist");
  assert_string_equal(header(r, "X-Request-Id"), "ex-1:block");
  assert_string_equal(header(r, "Authorization"), "Bearer firewall-token-4e5f6a7b");
  struct json_object *b = body_json(r);
  assert_string_equal(field(b, "address"), "203.0.113.50");
  assert_string_equal(field(b, "duration"), "24h");
  assert_string_equal(field(b, "comment"),
                      "parry ssh-brute-force: 12 failed sshd logins (SSH brute force)");
  json_object_put(b);
  /* Threat intel lookup with its key. */
  r = find_path(recs, "/ti/", 0);
  assert_non_null(r);
  assert_string_equal(field(r, "path"), "/ti/api/v1/ip/203.0.113.50");
  assert_string_equal(header(r, "X-Api-Key"), "ti-key-8c9d0e1f");
  /* Slack: GeoIP, intel and history in the text. */
  assert_int_equal(count_path(recs, "/services/"), 1);
  b = body_json(find_path(recs, "/services/", 0));
  const char *text = field(b, "text");
  if (!strstr(text, "SSH brute force from 203.0.113.50 (France, threat intel: malicious)") ||
      !strstr(text, "12 failures") || !strstr(text, "Firewall block: succeeded"))
    fail_msg("slack text: %s", text);
  json_object_put(b);
  /* Jira */
  assert_int_equal(count_path(recs, "/jira/"), 1);
  r = find_path(recs, "/jira/", 0);
  assert_string_equal(field(r, "path"), "/jira/rest/api/2/issue");
  assert_non_null(header(r, "Authorization"));
  assert_int_equal(strncmp(header(r, "Authorization"), "Basic ", 6), 0);
  b = body_json(r);
  assert_string_equal(field(b, "fields.summary"), "SSH brute force from 203.0.113.50");
  assert_string_equal(field(b, "fields.project.key"), "SEC");
  if (!strstr(field(b, "fields.description"), "Firewall block: succeeded. Alert ex-1."))
    fail_msg("jira description: %s", field(b, "fields.description"));
  json_object_put(b);
  json_object_put(recs);
  /* E-mail */
  struct json_object *mails = records(&smtp);
  assert_int_equal(json_object_array_length(mails), 1);
  const char *data = field(json_object_array_get_idx(mails, 0), "data");
  assert_non_null(strstr(data, "Subject: [parry] SSH brute force from 203.0.113.50\r\n"));
  assert_non_null(strstr(data, "Country:  France"));
  assert_non_null(strstr(data, "Blocked:  succeeded"));
  json_object_put(mails);
  /* Every step in the timeline; `escalate` (a handler) never ran. */
  char *steps = ex_q_text(f, "SELECT string_agg(DISTINCT step_id, ',') FROM case_timeline WHERE kind = "
                             "'step_started'", NULL);
  assert_string_equal(steps, "block,geo,history,intel,notify_email,notify_slack,ticket,update_case");
  free(steps);
  char *run = ex_q_text(f, "SELECT state || ': ' || coalesce(error, '') FROM runs", NULL);
  char *uc = ex_q_text(f, "SELECT state || ': ' || coalesce(error, '') FROM step_runs WHERE step_id = "
                          "'update_case' ORDER BY attempt DESC LIMIT 1", NULL);
  if (strcmp(run, "succeeded: ") != 0) fail_msg("run %s (update_case %s)", run, uc ? uc : "-");
  free(uc);
  free(run);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases WHERE severity = 'high' AND 'ssh' = ANY(tags)", NULL), 1);
  ex_stop(f);
}

static const char fail_runbook[] =
    "name: failing\n"
    "match:\n  rules: [R-FAIL]\n"
    "steps:\n"
    "  - id: flaky\n    uses: http\n"
    "    with: {url: 'http://127.0.0.1:PORT/fail', body: {ip: '{{ alert.group_by.source.ip }}'}}\n"
    "    retries: {max: 2, backoff: {initial: 100ms, max: 200ms}, jitter: 0.1}\n"
    "    on_failure: continue\n"
    "  - id: slow\n    uses: http\n    needs: [flaky]\n"
    "    with: {url: 'http://127.0.0.1:PORT/hang'}\n"
    "    timeout: 400ms\n"
    "    retries: {max: 1, backoff: {initial: 100ms, max: 100ms}}\n"
    "  - id: never\n    uses: http\n    needs: [slow]\n"
    "    with: {url: 'http://127.0.0.1:PORT/never'}\n";

static char *with_port(const char *text, int port) {
  char p[16];
  snprintf(p, sizeof p, "%d", port);
  size_t n = strlen(text) * 2 + 64;
  char *out = parry_xmalloc(n), *o = out;
  for (const char *s = text; *s;) {
    if (strncmp(s, "PORT", 4) == 0) {
      o += sprintf(o, "%s", p);
      s += 4;
    } else {
      *o++ = *s++;
    }
  }
  *o = '\0';
  return out;
}

static void test_failures(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  standin_t http = {0};
  standin_start(f, &http, "http");
  standin_control(&http, "[{\"path\":\"/fail\",\"status\":500,\"body\":\"{\\\"error\\\":\\\"boom\\\"}\"},"
                         "{\"path\":\"/hang\",\"hang\":true}]");
  char *rb = with_port(fail_runbook, http.port);
  ex_runbook(f, "fail.yml", rb);
  free(rb);
  ex_start(f);
  char json[1024];
  ex_alert_json(json, sizeof json, "f-1", "R-FAIL", "high", "192.0.2.77", 1);
  ex_produce_alert(f, "192.0.2.77", json);
  ex_flush(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state IN ('succeeded', 'failed')",
                            1, EX_WAIT_MS));
  /* 500: three attempts (1 + retries.max 2), same key, then failed with the reason. */
  struct json_object *recs = records(&http);
  assert_int_equal(count_path(recs, "/fail"), 3);
  for (size_t i = 0; i < 3; i++)
    assert_string_equal(header(find_path(recs, "/fail", i), "Idempotency-Key"), "f-1:flaky");
  assert_int_equal(count_path(recs, "/hang"), 2);
  for (size_t i = 0; i < 2; i++)
    assert_string_equal(header(find_path(recs, "/hang", i), "Idempotency-Key"), "f-1:slow");
  assert_int_equal(count_path(recs, "/never"), 0);
  json_object_put(recs);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE step_id = 'flaky'", NULL), 3);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE step_id = 'flaky' AND state = 'retrying'", NULL), 2);
  char *err = ex_q_text(f, "SELECT error FROM step_runs WHERE step_id = 'flaky' AND state = 'failed'", NULL);
  assert_non_null(err);
  if (!strstr(err, "500") || !strstr(err, "3 attempts")) fail_msg("flaky failed with \"%s\"", err);
  free(err);
  err = ex_q_text(f, "SELECT error FROM step_runs WHERE step_id = 'slow' AND state = 'failed'", NULL);
  assert_non_null(err);
  if (!strstr(err, "timed out")) fail_msg("slow failed with \"%s\"", err);
  free(err);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE kind = 'step_retried'", NULL), 3);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE kind = 'step_failed'", NULL), 2);
  /* on_failure continue let `slow` run; its default stop failed the run. */
  char *run = ex_q_text(f, "SELECT state || ': ' || coalesce(error, '') FROM runs", NULL);
  if (strncmp(run, "failed: step slow:", 18) != 0) fail_msg("run: %s", run);
  free(run);
  assert_int_equal(ex_metric(f, "parry_executor_steps_total", "connector", "http", "status", "retried"), 3);
  assert_int_equal(ex_metric(f, "parry_executor_steps_total", "connector", "http", "status", "failed"), 2);
  assert_int_equal(ex_metric(f, "parry_executor_runs_total", "status", "failed", NULL, NULL), 1);
  ex_stop(f);
  standin_stop(&http);
}

/* Data that would change a URL, a header, a JSON document or a command if
 * it were pasted into them. */
#define EVIL_TITLE "x\\\"; $(touch /tmp/parry-pwned) `id` & admin=1 #frag ' \\\\ {{ alert.id }} %41/../"
#define EVIL_TITLE_RAW "x\"; $(touch /tmp/parry-pwned) `id` & admin=1 #frag ' \\ {{ alert.id }} %41/../"
#define EVIL_CRLF "ok\\r\\nX-Injected: yes"

static const char evil_runbook[] =
    "name: evil\n"
    "match:\n  rules: [R-EVIL]\n"
    "steps:\n"
    "  - id: url\n    uses: http\n"
    "    with: {url: 'http://127.0.0.1:PORT/lookup/{{ alert.rule.title }}?q={{ alert.rule.title }}', "
    "method: GET}\n"
    "  - id: body\n    uses: http\n"
    "    with:\n      url: 'http://127.0.0.1:PORT/body'\n"
    "      headers: {X-Title: '{{ alert.rule.title }}'}\n"
    "      body: {title: '{{ alert.rule.title }}', description: '{{ alert.rule.description }}'}\n"
    "  - id: text\n    uses: http\n"
    "    with:\n      url: 'http://127.0.0.1:PORT/text'\n"
    "      body: '{\"title\": \"{{ alert.rule.title }}\", \"description\": \"{{ alert.rule.description }}\"}'\n"
    "  - id: header\n    uses: http\n    on_failure: continue\n"
    "    with:\n      url: 'http://127.0.0.1:PORT/header'\n"
    "      headers: {X-Note: '{{ alert.rule.description }}'}\n"
    "  - id: argv\n    uses: exec\n"
    "    with: {argv: [/usr/bin/printf, '[%s]', '{{ alert.rule.title }}']}\n";

/* RFC 3986 component encoding, as the URL escape of templates does it. */
static void pct(const char *s, char *out, size_t n) {
  size_t o = 0;
  for (; *s && o + 4 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out[o++] = (char)c;
    else o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
  }
  out[o] = '\0';
}

static void test_security(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  unlink("/tmp/parry-pwned");
  standin_t http = {0};
  standin_start(f, &http, "http");
  char *rb = with_port(evil_runbook, http.port);
  ex_runbook(f, "evil.yml", rb);
  free(rb);
  ex_start(f);
  char json[2048];
  snprintf(json, sizeof json, "%s",
           "{\"@timestamp\":\"2026-12-04T10:00:00Z\",\"id\":\"e-1\",\"rule\":{\"id\":\"R-EVIL\","
           "\"title\":\"" EVIL_TITLE "\",\"level\":\"high\",\"description\":\"" EVIL_CRLF "\"},"
           "\"group_by\":{\"source.ip\":\"192.0.2.9\"}}");
  ex_produce_alert(f, "e", json);
  ex_flush(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state IN ('succeeded', 'failed')",
                            1, EX_WAIT_MS));
  const char *title = EVIL_TITLE_RAW;
  struct json_object *recs = records(&http);
  /* URL: the whole title is one path segment and one query value. */
  assert_int_equal(count_path(recs, "/lookup/"), 1);
  struct json_object *r = find_path(recs, "/lookup/", 0);
  char want[1200], enc[1024];
  pct(title, enc, sizeof enc);
  snprintf(want, sizeof want, "/lookup/%s", enc);
  assert_string_equal(field(r, "path"), want);
  /* One query argument (no `admin=1` of its own), the whole title as its value. */
  snprintf(want, sizeof want, "q=%s", title);
  const char *q = field(r, "query");
  if (strcmp(q, want) != 0) {
    snprintf(want, sizeof want, "q=%s", enc);
    assert_string_equal(q, want);
  }
  /* JSON from a tree: exactly the two members, values intact. */
  r = find_path(recs, "/body", 0);
  assert_non_null(r);
  assert_string_equal(header(r, "X-Title"), title);
  assert_null(header(r, "X-Injected"));
  struct json_object *b = body_json(r);
  assert_int_equal(json_object_object_length(b), 2);
  assert_string_equal(field(b, "title"), title);
  assert_string_equal(field(b, "description"), "ok\r\nX-Injected: yes");
  json_object_put(b);
  /* JSON from text: the substitutions stay inside their strings. */
  r = find_path(recs, "/text", 0);
  assert_non_null(r);
  b = body_json(r);
  assert_int_equal(json_object_object_length(b), 2);
  assert_string_equal(field(b, "title"), title);
  assert_string_equal(field(b, "description"), "ok\r\nX-Injected: yes");
  json_object_put(b);
  /* Header: CR/LF refused, no request at all. */
  assert_int_equal(count_path(recs, "/header"), 0);
  for (size_t i = 0; i < json_object_array_length(recs); i++)
    assert_null(header(json_object_array_get_idx(recs, i), "X-Injected"));
  json_object_put(recs);
  char *err = ex_q_text(f, "SELECT error FROM step_runs WHERE step_id = 'header' AND state = 'failed'", NULL);
  assert_non_null(err);
  free(err);
  /* argv: one argument, printed as is, nothing run by a shell. */
  char *out = ex_q_text(f, "SELECT outputs->>'stdout' FROM step_runs WHERE step_id = 'argv' AND state = 'succeeded'", NULL);
  assert_non_null(out);
  snprintf(want, sizeof want, "[%s]", title);
  assert_string_equal(out, want);
  free(out);
  assert_int_equal(access("/tmp/parry-pwned", F_OK), -1);
  ex_stop(f);
  standin_stop(&http);
}

static const char crash_runbook[] =
    "name: crash\n"
    "match:\n  rules: [R-CRASH]\n"
    "group:\n  fields: [group_by.source.ip]\n  window: 1h\n"
    "steps:\n"
    "  - id: first\n    uses: http\n"
    "    with: {url: 'http://127.0.0.1:PORT/c1', body: {ip: '{{ alert.group_by.source.ip }}'}}\n"
    "  - id: second\n    uses: http\n    needs: [first]\n    timeout: 60s\n"
    "    with: {url: 'http://127.0.0.1:PORT/c2', body: {ip: '{{ alert.group_by.source.ip }}'}}\n"
    "  - id: third\n    uses: http\n    needs: [second]\n"
    "    with: {url: 'http://127.0.0.1:PORT/c3', body: {ip: '{{ alert.group_by.source.ip }}'}}\n";

static pid_t spawn_executor(ex_fixture_t *f, const char *runbook_path) {
  find_bin();
  char exe[PATH_MAX + 32], log[600];
  snprintf(exe, sizeof exe, "%s/parry-executor", g_bin);
  snprintf(log, sizeof log, "%s/executor.log", f->tmpdir);
  char a[12][1200];
  snprintf(a[0], sizeof a[0], "kafka.bootstrap.servers=%s", f->bootstrap);
  snprintf(a[1], sizeof a[1], "topics.alerts=%s", f->alerts);
  snprintf(a[2], sizeof a[2], "topics.dlq=%s", f->dlq);
  snprintf(a[3], sizeof a[3], "executor.group=%s", f->group);
  snprintf(a[4], sizeof a[4], "pg.dsn=%s", f->schema_dsn);
  snprintf(a[5], sizeof a[5], "executor.runbooks=%s", runbook_path);
  snprintf(a[6], sizeof a[6], "executor.lease=2s");
  snprintf(a[7], sizeof a[7], "executor.poll_interval=50ms");
  snprintf(a[8], sizeof a[8], "http.enabled=false");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 2);
    /* A clean environment: the test's own PARRY_* variables are not settings. */
    char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    execle(exe, exe, "--set", a[0], "--set", a[1], "--set", a[2], "--set", a[3], "--set", a[4],
           "--set", a[5], "--set", a[6], "--set", a[7], "--set", a[8], (char *)NULL, env);
    _exit(127);
  }
  return pid;
}

/* Requests per Idempotency-Key on a path prefix: all equal to want. */
static void check_per_key(struct json_object *recs, const char *prefix, int n_keys, int want) {
  char keys[16][64];
  int counts[16] = {0}, nk = 0;
  for (size_t i = 0; i < json_object_array_length(recs); i++) {
    struct json_object *r = json_object_array_get_idx(recs, i);
    const char *p = field(r, "path");
    if (!p || strncmp(p, prefix, strlen(prefix)) != 0) continue;
    const char *k = header(r, "Idempotency-Key");
    assert_non_null(k);
    int j = 0;
    while (j < nk && strcmp(keys[j], k) != 0) j++;
    if (j == nk) {
      assert_true(nk < 16);
      snprintf(keys[nk++], sizeof keys[0], "%s", k);
    }
    counts[j]++;
  }
  assert_int_equal(nk, n_keys);
  for (int j = 0; j < nk; j++)
    if (counts[j] != want) fail_msg("%s: key %s sent %d times, want %d", prefix, keys[j], counts[j], want);
}

/* The child executor's log, when a wait on it failed. */
static void dump_log(ex_fixture_t *f) {
  char path[600];
  snprintf(path, sizeof path, "%s/executor.log", f->tmpdir);
  FILE *fp = fopen(path, "r");
  char line[2048];
  while (fp && fgets(line, sizeof line, fp)) print_error("executor: %s", line);
  if (fp) fclose(fp);
}

static void test_crash(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  standin_t http = {0};
  standin_start(f, &http, "http");
  /* The second step waits long enough for the executor to be killed. */
  standin_control(&http, "{\"path\":\"/c2\",\"delay_ms\":30000}");
  char *rb = with_port(crash_runbook, http.port);
  char path[512];
  snprintf(path, sizeof path, "%s/crash.yml", f->tmpdir);
  ex_write_file(path, rb);
  free(rb);
  f->child = spawn_executor(f, path);
  char json[1024], id[32], ip[32];
  for (int i = 0; i < 5; i++) {
    snprintf(id, sizeof id, "c-%d", i);
    snprintf(ip, sizeof ip, "10.77.0.%d", i);
    ex_alert_json(json, sizeof json, id, "R-CRASH", "high", ip, i);
    ex_produce_alert(f, ip, json);
  }
  ex_flush(f);
  if (!wait_records(&http, "/c2", 5, EX_WAIT_MS)) {
    dump_log(f);
    fail_msg("the steps did not reach the slow stand-in");
  }
  /* Mid-run: every run has `first` recorded and `second` in flight. */
  assert_true(ex_wait_count(f, "SELECT count(*) FROM step_runs WHERE step_id = 'first' AND state = 'succeeded'", 5, 5000));
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE step_id = 'second' AND state = 'running'", NULL), 5);
  ex_kill_child(f);
  standin_control(&http, "{\"reset\":true}");
  /* A new executor (another process) resumes once the leases expire. */
  f->child = spawn_executor(f, path);
  if (!ex_wait_count(f, "SELECT count(*) FROM runs WHERE state = 'succeeded'", 5, EX_WAIT_MS)) {
    dump_log(f);
    fail_msg("the restarted executor did not finish the runs");
  }
  /* This one stops cleanly on SIGTERM (exit 0; no leak under ASan). */
  kill(f->child, SIGTERM);
  int status = 0;
  assert_int_equal(waitpid(f->child, &status, 0), f->child);
  f->child = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    dump_log(f);
    fail_msg("parry-executor did not exit 0 on SIGTERM (status %d)", status);
  }
  struct json_object *recs = records(&http);
  check_per_key(recs, "/c1", 5, 1); /* recorded success: never repeated */
  check_per_key(recs, "/c2", 5, 2); /* in flight at the crash: once more, same key */
  check_per_key(recs, "/c3", 5, 1);
  json_object_put(recs);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM step_runs WHERE step_id = 'second'", NULL), 10);
  assert_int_equal(ex_q_int(f, "SELECT count(DISTINCT idempotency_key) FROM step_runs WHERE step_id = 'second'", NULL), 5);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM runs WHERE claims = 2", NULL), 5);
  standin_stop(&http);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_brute_force, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_example_runbook, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_failures, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_security, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_crash, ex_setup, ex_teardown),
  };
  int rc = cmocka_run_group_tests(tests, ex_group_setup, NULL);
  curl_global_cleanup();
  return rc;
}
