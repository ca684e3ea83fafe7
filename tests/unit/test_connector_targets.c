/* The named connectors (Slack, Teams, Jira, ServiceNow, SMS, the response
 * actions, threat intel) against the loopback stand-in, as configured in a
 * connectors YAML: each request is checked field by field. */
#include "test_connector_util.h"

static standin_t srv;
static parry_conn_engine_t *eng;
static char feed_path[PATH_MAX];

static int setup(void **state) {
  (void)state;
  standin_start(&srv, "http", NULL, NULL);
  tc_temp_path("ti-feed.csv", feed_path, sizeof feed_path);
  FILE *f = fopen(feed_path, "w");
  assert_non_null(f);
  fputs("ip,type,score,source\n# comment\n203.0.113.66,scanner,90,abuse-feed\n"
        "198.51.100.9,proxy,45,internal\nnot,a,line\n",
        f);
  fclose(f);
  char yaml[16384];
  int w = snprintf(yaml, sizeof yaml,
           "targets:\n"
           "  slack: {url: %s/services/T0/B0/XYZsecret}\n"
           "  teams: {url: %s/webhookb2/abc}\n"
           "  jira:\n"
           "    base_url: %s/jira/\n"
           "    auth: {type: basic, user: parry, password: jira-pass-123}\n"
           "  servicenow:\n"
           "    base_url: %s/sn\n"
           "    auth: {type: bearer, token: sn-token-456}\n"
           "  sms: {url: %s/sms/send, auth: {type: header, header: X-Api-Key, token: sms-key-789}}\n"
           "  firewall: {base_url: %s/fw, auth: {type: bearer, token: fw-token-000}}\n"
           "  idp: {base_url: %s/idp}\n"
           "  ti: {base_url: %s/ti}\n"
           "actions:\n"
           "  block_ip:\n"
           "    target: firewall\n"
           "    method: POST\n"
           "    path: /api/v1/blocks/{{ip}}\n"
           "    body: {address: \"{{ip}}\", ttl: \"{{duration}}\", note: \"blocked: {{reason}}\", "
           "fixed: 7}\n"
           "    outputs: {rule_id: $.id}\n"
           "  disable_account:\n"
           "    target: idp\n"
           "    method: PATCH\n"
           "    path: /users/{{user}}\n"
           "    body: {active: false}\n"
           "threat_intel:\n"
           "  feed: %s\n"
           "  providers:\n"
           "    - {name: testti, target: ti, path: \"/v1/{{type}}/{{indicator}}\", score: $.data.score, "
           "verdict: $.data.verdict}\n"
           "    - {name: backup, target: ti, path: \"/v2/{{indicator}}\", score: $.data.score}\n",
           srv.base, srv.base, srv.base, srv.base, srv.base, srv.base, srv.base, srv.base, feed_path);
  assert_true(w > 0 && (size_t)w < sizeof yaml);
  eng = tc_engine(yaml);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  parry_conn_engine_destroy(eng);
  standin_stop(&srv);
  unlink(feed_path);
  return 0;
}

static struct json_object *records;

static struct json_object *last(void) {
  json_object_put(records);
  records = standin_records(&srv);
  size_t n = json_object_array_length(records);
  assert_true(n > 0);
  return json_object_array_get_idx(records, n - 1);
}

static struct json_object *last_body(void) {
  struct json_object *b = json_tokener_parse(tc_get(last(), "body"));
  assert_non_null(b);
  return b;
}

static void test_slack(void **state) {
  (void)state;
  standin_control(&srv, "{\"reset\":true}");
  tc_result_t r;
  tc_run(eng, "slack", "{\"text\":\"Blocked *1.2.3.4* \\\"quoted\\\"\",\"channel\":\"#soc\"}",
         "case-1/notify", 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  struct json_object *rec = last();
  assert_string_equal(tc_get(rec, "method"), "POST");
  assert_string_equal(tc_get(rec, "path"), "/services/T0/B0/XYZsecret");
  assert_string_equal(tc_get(rec, "headers.Idempotency-Key"), "case-1/notify");
  struct json_object *b = last_body();
  assert_string_equal(tc_get(b, "text"), "Blocked *1.2.3.4* \"quoted\"");
  assert_string_equal(tc_get(b, "channel"), "#soc");
  json_object_put(b);
  /* blocks as JSON text: sent as an array */
  tc_run(eng, "slack",
         "{\"blocks\":\"[{\\\"type\\\":\\\"section\\\",\\\"text\\\":{\\\"type\\\":\\\"mrkdwn\\\","
         "\\\"text\\\":\\\"*x*\\\"}}]\"}",
         NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  b = last_body();
  assert_string_equal(tc_get(b, "blocks.0.type"), "section");
  assert_string_equal(tc_get(b, "blocks.0.text.text"), "*x*");
  json_object_put(b);
  tc_run(eng, "slack", "{\"blocks\":\"[{broken\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
  /* neither text nor blocks: permanent failure */
  tc_run(eng, "slack", "{\"channel\":\"#soc\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
}

static void test_teams(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "teams", "{\"text\":\"hello\",\"title\":\"Brute force\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  assert_string_equal(tc_get(last(), "path"), "/webhookb2/abc");
  struct json_object *b = last_body();
  assert_string_equal(tc_get(b, "@type"), "MessageCard");
  assert_string_equal(tc_get(b, "title"), "Brute force");
  assert_string_equal(tc_get(b, "text"), "hello");
  json_object_put(b);
}

static void test_jira(void **state) {
  (void)state;
  standin_control(&srv, "{\"status\":201,\"times\":1,\"body\":{\"id\":\"10001\",\"key\":\"SEC-42\","
                        "\"self\":\"http://jira/rest/api/2/issue/10001\"}}");
  tc_result_t r;
  tc_run(eng, "jira",
         "{\"project\":\"SEC\",\"summary\":\"SSH brute force from 203.0.113.7\","
         "\"description\":\"line1\\nline2\",\"labels\":[\"parry\",\"ssh\"],\"priority\":\"High\"}",
         "k-jira", 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "key"), "SEC-42");
  assert_string_equal(tc_get(r.outputs, "id"), "10001");
  tc_result_free(&r);
  struct json_object *rec = last();
  assert_string_equal(tc_get(rec, "path"), "/jira/rest/api/2/issue");
  assert_string_equal(tc_get(rec, "headers.Authorization"), "Basic cGFycnk6amlyYS1wYXNzLTEyMw==");
  assert_string_equal(tc_get(rec, "headers.Idempotency-Key"), "k-jira");
  struct json_object *b = last_body();
  assert_string_equal(tc_get(b, "fields.project.key"), "SEC");
  assert_string_equal(tc_get(b, "fields.summary"), "SSH brute force from 203.0.113.7");
  assert_string_equal(tc_get(b, "fields.description"), "line1\nline2");
  assert_string_equal(tc_get(b, "fields.issuetype.name"), "Task");
  assert_string_equal(tc_get(b, "fields.labels.1"), "ssh");
  assert_string_equal(tc_get(b, "fields.priority.name"), "High");
  json_object_put(b);
  /* 400 from Jira: permanent */
  standin_control(&srv, "{\"status\":400,\"times\":1,\"body\":{\"errors\":{\"project\":\"bad\"}}}");
  tc_run(eng, "jira", "{\"project\":\"NOPE\",\"summary\":\"x\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_int_equal(r.http_status, 400);
  tc_result_free(&r);
}

static void test_servicenow(void **state) {
  (void)state;
  standin_control(&srv, "{\"status\":201,\"times\":1,\"body\":{\"result\":{\"sys_id\":\"abc123\","
                        "\"number\":\"INC0010001\"}}}");
  tc_result_t r;
  tc_run(eng, "servicenow", "{\"short_description\":\"Password spray\",\"urgency\":\"1\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "sys_id"), "abc123");
  assert_string_equal(tc_get(r.outputs, "number"), "INC0010001");
  tc_result_free(&r);
  struct json_object *rec = last();
  assert_string_equal(tc_get(rec, "path"), "/sn/api/now/table/incident");
  assert_string_equal(tc_get(rec, "headers.Authorization"), "Bearer sn-token-456");
  assert_string_equal(tc_get(rec, "headers.Accept"), "application/json");
  struct json_object *b = last_body();
  assert_string_equal(tc_get(b, "short_description"), "Password spray");
  assert_string_equal(tc_get(b, "urgency"), "1");
  json_object_put(b);
}

static void test_sms(void **state) {
  (void)state;
  standin_control(&srv, "{\"times\":1,\"body\":{\"message_id\":\"m-9\"}}");
  tc_result_t r;
  tc_run(eng, "sms", "{\"to\":\"+33600000000\",\"text\":\"Alert: brute force\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "message_id"), "m-9");
  tc_result_free(&r);
  struct json_object *rec = last();
  assert_string_equal(tc_get(rec, "path"), "/sms/send");
  assert_string_equal(tc_get(rec, "headers.X-Api-Key"), "sms-key-789");
  struct json_object *b = last_body();
  assert_string_equal(tc_get(b, "to"), "+33600000000");
  assert_string_equal(tc_get(b, "text"), "Alert: brute force");
  json_object_put(b);
}

static void test_block_ip_action(void **state) {
  (void)state;
  standin_control(&srv, "{\"times\":1,\"body\":{\"id\":\"rule-5\"}}");
  tc_result_t r;
  tc_run(eng, "block_ip",
         "{\"ip\":\"203.0.113.7\",\"duration\":3600,\"reason\":\"ssh \\\"brute\\\" {{x}}\"}",
         "run-9/block", 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "rule_id"), "rule-5");
  tc_result_free(&r);
  struct json_object *rec = last();
  assert_string_equal(tc_get(rec, "method"), "POST");
  assert_string_equal(tc_get(rec, "path"), "/fw/api/v1/blocks/203.0.113.7");
  assert_string_equal(tc_get(rec, "headers.Authorization"), "Bearer fw-token-000");
  assert_string_equal(tc_get(rec, "headers.Idempotency-Key"), "run-9/block");
  struct json_object *b = last_body();
  assert_string_equal(tc_get(b, "address"), "203.0.113.7");
  struct json_object *ttl;
  assert_true(json_object_object_get_ex(b, "ttl", &ttl));
  assert_true(json_object_is_type(ttl, json_type_int)); /* a whole-leaf placeholder keeps its type */
  assert_int_equal(json_object_get_int(ttl), 3600);
  assert_string_equal(tc_get(b, "note"), "blocked: ssh \"brute\" {{x}}");
  assert_string_equal(tc_get(b, "fixed"), "7");
  json_object_put(b);
  /* not an IP: refused before any request */
  size_t before = json_object_array_length(records);
  tc_run(eng, "block_ip", "{\"ip\":\"1.2.3.4; rm -rf /\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
  tc_run(eng, "block_ip", "{\"ip\":\"10.0.0.0/8\",\"duration\":1,\"reason\":\"r\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  assert_string_equal(tc_get(last(), "path"), "/fw/api/v1/blocks/10.0.0.0%2F8");
  assert_int_equal(json_object_array_length(records), before + 1);
}

static void test_disable_account_escapes_path(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "disable_account", "{\"user\":\"../admin?x=1#frag evil\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  struct json_object *rec = last();
  assert_string_equal(tc_get(rec, "method"), "PATCH");
  assert_string_equal(tc_get(rec, "path"), "/idp/users/..%2Fadmin%3Fx%3D1%23frag%20evil");
  assert_string_equal(tc_get(rec, "query"), "");
  struct json_object *b = last_body();
  assert_string_equal(tc_get(b, "active"), "false");
  json_object_put(b);
  /* an action missing from the configuration fails permanently */
  tc_run(eng, "quarantine_host", "{\"host\":\"ws-1\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_non_null(strstr(r.error, "actions.quarantine_host"));
  tc_result_free(&r);
}

static void test_threat_intel_feed_and_provider(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "threat_intel", "{\"indicator\":\"203.0.113.66\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "found"), "true");
  assert_string_equal(tc_get(r.outputs, "verdict"), "malicious");
  assert_string_equal(tc_get(r.outputs, "source"), "abuse-feed");
  assert_string_equal(tc_get(r.outputs, "type"), "scanner");
  assert_int_equal(json_object_get_int(json_object_object_get(r.outputs, "score")), 90);
  tc_result_free(&r);
  tc_run(eng, "threat_intel", "{\"indicator\":\"198.51.100.9\"}", NULL, 0, &r);
  assert_string_equal(tc_get(r.outputs, "verdict"), "suspicious");
  tc_result_free(&r);
  /* not in the feed: the provider is asked */
  standin_control(&srv, "{\"times\":1,\"body\":{\"data\":{\"score\":12,\"verdict\":\"benign\"}}}");
  tc_run(eng, "threat_intel", "{\"indicator\":\"192.0.2.1\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "verdict"), "benign");
  assert_string_equal(tc_get(r.outputs, "source"), "testti");
  assert_string_equal(tc_get(r.outputs, "found"), "true");
  tc_result_free(&r);
  struct json_object *rec = last();
  assert_string_equal(tc_get(rec, "method"), "GET");
  assert_string_equal(tc_get(rec, "path"), "/ti/v1/ip/192.0.2.1");
  /* 404: unknown, not a failure */
  standin_control(&srv, "{\"status\":404,\"times\":1}");
  tc_run(eng, "threat_intel", "{\"indicator\":\"a/b?c\",\"type\":\"domain\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "verdict"), "unknown");
  assert_string_equal(tc_get(r.outputs, "found"), "false");
  tc_result_free(&r);
  /* both providers were asked, in order; neither knew it */
  size_t n;
  assert_string_equal(tc_get(last(), "path"), "/ti/v2/a%2Fb%3Fc");
  n = json_object_array_length(records);
  assert_string_equal(tc_get(json_object_array_get_idx(records, n - 2), "path"),
                      "/ti/v1/domain/a%2Fb%3Fc");
  /* the first does not know, the second does */
  standin_control(&srv, "[{\"path\":\"/ti/v1/\",\"status\":404,\"times\":1},"
                        "{\"path\":\"/ti/v2/\",\"times\":1,\"body\":{\"data\":{\"score\":80}}}]");
  tc_run(eng, "threat_intel", "{\"indicator\":\"192.0.2.77\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "source"), "backup");
  assert_string_equal(tc_get(r.outputs, "verdict"), "malicious");
  assert_string_equal(tc_get(r.outputs, "found"), "true");
  tc_result_free(&r);
  /* a provider failing (5xx) fails the lookup as retryable */
  standin_control(&srv, "{\"path\":\"/ti/v1/\",\"status\":503,\"times\":1}");
  tc_run(eng, "threat_intel", "{\"indicator\":\"192.0.2.78\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_RETRYABLE);
  tc_result_free(&r);
  /* the feed file changes: reloaded (checked at most once a second) */
  struct timespec ts = {1, 100 * 1000000L};
  nanosleep(&ts, NULL);
  FILE *f = fopen(feed_path, "w");
  assert_non_null(f);
  fputs("192.0.2.1,c2,99,new-feed\n", f);
  fclose(f);
  tc_run(eng, "threat_intel", "{\"indicator\":\"192.0.2.1\"}", NULL, 0, &r);
  assert_string_equal(tc_get(r.outputs, "source"), "new-feed");
  assert_string_equal(tc_get(r.outputs, "verdict"), "malicious");
  tc_result_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slack),
      cmocka_unit_test(test_teams),
      cmocka_unit_test(test_jira),
      cmocka_unit_test(test_servicenow),
      cmocka_unit_test(test_sms),
      cmocka_unit_test(test_block_ip_action),
      cmocka_unit_test(test_disable_account_escapes_path),
      cmocka_unit_test(test_threat_intel_feed_and_provider),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  json_object_put(records);
  return rc;
}
