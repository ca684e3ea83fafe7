/* The connector registry (names, declared inputs, the escaping the runbook
 * renderer applies) and the connectors YAML (keys, secrets indirection,
 * errors that name the key). */
#include <sys/stat.h>

#include "test_connector_util.h"

static void test_every_connector_is_registered(void **state) {
  (void)state;
  const char *names[] = {"http", "slack", "teams", "jira", "servicenow", "sms", "email",
                         "block_ip", "quarantine_host", "disable_account",
                         "force_password_reset", "threat_intel", "geoip", "exec",
                         "case_update", "history", "approval"};
  size_t n = sizeof names / sizeof names[0];
  assert_int_equal(parry_connector_count(), n);
  for (size_t i = 0; i < n; i++) {
    const parry_connector_t *c = parry_connector_find(names[i]);
    assert_non_null(c);
    assert_string_equal(parry_connector_name(c), names[i]);
    assert_true(parry_connector_input_count(c) > 0);
    bool internal = i >= n - 3;
    assert_int_equal(parry_connector_is_internal(c), internal);
  }
  assert_null(parry_connector_find("shell"));
  assert_null(parry_connector_find(NULL));
}

static void test_escape_for(void **state) {
  (void)state;
  const parry_connector_t *http = parry_connector_find("http");
  assert_int_equal(parry_connector_escape_for(http, "url"), PARRY_CONN_ESCAPE_URL);
  assert_int_equal(parry_connector_escape_for(http, "headers.Authorization"), PARRY_CONN_ESCAPE_HEADER);
  assert_int_equal(parry_connector_escape_for(http, "headers"), PARRY_CONN_ESCAPE_NONE);
  assert_int_equal(parry_connector_escape_for(http, "query.q"), PARRY_CONN_ESCAPE_NONE);
  assert_int_equal(parry_connector_escape_for(http, "body"), PARRY_CONN_ESCAPE_JSON);
  assert_int_equal(parry_connector_escape_for(http, "body.ip"), PARRY_CONN_ESCAPE_NONE);
  assert_int_equal(parry_connector_escape_for(http, "body.list[2].x"), PARRY_CONN_ESCAPE_NONE);
  assert_int_equal(parry_connector_escape_for(http, "method"), PARRY_CONN_ESCAPE_NONE);
  assert_int_equal(parry_connector_escape_for(http, "nope"), PARRY_CONN_ESCAPE_NONE);
  const parry_connector_t *email = parry_connector_find("email");
  assert_int_equal(parry_connector_escape_for(email, "subject"), PARRY_CONN_ESCAPE_HEADER);
  assert_int_equal(parry_connector_escape_for(email, "to.0"), PARRY_CONN_ESCAPE_HEADER);
  assert_int_equal(parry_connector_escape_for(email, "to[1]"), PARRY_CONN_ESCAPE_HEADER);
  assert_int_equal(parry_connector_escape_for(email, "body"), PARRY_CONN_ESCAPE_NONE);
  const parry_connector_t *exec = parry_connector_find("exec");
  assert_int_equal(parry_connector_escape_for(exec, "argv.3"), PARRY_CONN_ESCAPE_NONE);
  assert_int_equal(parry_connector_input_find(exec, "argv[0]")->kind, PARRY_CONN_IN_ARGV);
  assert_int_equal(parry_connector_escape_for(parry_connector_find("slack"), "blocks"),
                   PARRY_CONN_ESCAPE_JSON);
}

static void test_check_inputs(void **state) {
  (void)state;
  char err[512];
  const parry_connector_t *jira = parry_connector_find("jira");
  const char *ok[] = {"project", "summary", "labels"};
  assert_int_equal(parry_connector_check_inputs(jira, ok, 3, err, sizeof err), PARRY_OK);
  const char *unknown[] = {"project", "summary", "sumary"};
  assert_int_equal(parry_connector_check_inputs(jira, unknown, 3, err, sizeof err), PARRY_ERR_INVALID);
  assert_non_null(strstr(err, "\"sumary\""));
  const char *missing[] = {"project"};
  assert_int_equal(parry_connector_check_inputs(jira, missing, 1, err, sizeof err), PARRY_ERR_INVALID);
  assert_non_null(strstr(err, "\"summary\""));
  const char *hist[] = {"entity", "value"};
  assert_int_equal(parry_connector_check_inputs(parry_connector_find("history"), hist, 2, err,
                                                sizeof err),
                   PARRY_OK);
}

static void test_internal_connectors_are_not_started(void **state) {
  (void)state;
  parry_conn_engine_t *e = tc_engine("");
  tc_result_t r = {0};
  struct json_object *in = json_object_new_object();
  assert_int_equal(parry_conn_start(e, parry_connector_find("case_update"), in, NULL, 0, tc_done, &r),
                   PARRY_ERR_UNSUPPORTED);
  assert_int_equal(parry_conn_in_flight(e), 0);
  /* inputs that are not an object: a FAILED result, through the callback */
  struct json_object *arr = json_object_new_array();
  assert_int_equal(parry_conn_start(e, parry_connector_find("http"), arr, NULL, 0, tc_done, &r),
                   PARRY_OK);
  tc_drain(e, 1000);
  assert_int_equal(r.done, 1);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
  json_object_put(arr);
  json_object_put(in);
  parry_conn_engine_destroy(e);
}

static void expect_config_error(const char *yaml, const char *needle) {
  char err[512] = "";
  parry_conn_config_t *cfg = parry_conn_config_parse(yaml, strlen(yaml), "c.yml", NULL, err, sizeof err);
  if (cfg) fail_msg("accepted: %s", yaml);
  if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_config_errors(void **state) {
  (void)state;
  expect_config_error("targets:\n  a: {url: http://x, colour: red}\n", "targets.a: unknown key \"colour\"");
  expect_config_error("targets:\n  a: {}\n", "needs url or base_url");
  expect_config_error("unknown: 1\n", "unknown key \"unknown\"");
  expect_config_error("targets:\n  a: {url: http://x, auth: {type: bearer, token_env: PARRY_NO_SUCH_VAR_X}}\n",
                      "PARRY_NO_SUCH_VAR_X is not set");
  expect_config_error("targets:\n  a: {url: http://x, auth: {type: basic, user: u, password_file: /nonexistent/pw}}\n",
                      "password_file");
  expect_config_error("actions:\n  block_ip: {target: nowhere, path: /x}\n", "no such target");
  expect_config_error("defaults: {timeout: soon}\n", "defaults.timeout");
  expect_config_error("exec: {allow: [relative/tool]}\n", "absolute path");
  expect_config_error("targets: [1, 2\n", "c.yml:");
}

static void test_config_secrets_from_file_and_env(void **state) {
  (void)state;
  standin_t srv;
  standin_start(&srv, "http", NULL, NULL);
  char path[PATH_MAX];
  tc_temp_path("secret", path, sizeof path);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("file-secret-abc\n", f);
  fclose(f);
  chmod(path, 0600);
  char url[256];
  snprintf(url, sizeof url, "%s/hooks/env-secret-def", srv.base);
  setenv("PARRY_TEST_HOOK_URL", url, 1);
  char yaml[PATH_MAX + 512];
  int w = snprintf(yaml, sizeof yaml,
                   "targets:\n"
                   "  jira: {base_url: %s, auth: {type: basic, user: u, password_file: %s}}\n"
                   "  slack: {url_env: PARRY_TEST_HOOK_URL}\n",
                   srv.base, path);
  assert_true(w > 0 && (size_t)w < sizeof yaml);
  parry_conn_engine_t *e = tc_engine(yaml);
  /* the password came from the file, without its newline */
  tc_result_t r;
  tc_run(e, "jira", "{\"project\":\"P\",\"summary\":\"s\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  struct json_object *all = standin_records(&srv);
  assert_string_equal(tc_get(json_object_array_get_idx(all, 0), "headers.Authorization"),
                      "Basic dTpmaWxlLXNlY3JldC1hYmM=");
  json_object_put(all);
  /* the webhook URL from the environment is a secret: an error quoting it is masked */
  standin_control(&srv, "{\"status\":502,\"body\":\"no route to /hooks/env-secret-def\"}");
  tc_run(e, "slack", "{\"text\":\"x\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_RETRYABLE);
  assert_null(strstr(r.error, "env-secret-def"));
  assert_non_null(strstr(r.error, "no route to ***"));
  tc_result_free(&r);
  parry_conn_engine_destroy(e);
  unlink(path);
  standin_stop(&srv);
}

static void test_example_config_loads(void **state) {
  (void)state;
  static const char *const vars[] = {"SOC_JIRA_TOKEN", "SOC_SERVICENOW_PASSWORD", "SOC_SMS_KEY",
                                     "SOC_FIREWALL_TOKEN", "SOC_EDR_TOKEN", "SOC_IDP_TOKEN",
                                     "SOC_TI_KEY", "SOC_SMTP_PASSWORD"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) setenv(vars[i], "example-secret", 1);
  char path[PATH_MAX];
  int w = snprintf(path, sizeof path, "%s/examples/connectors.yml", parry_test_source_dir());
  assert_true(w > 0 && (size_t)w < sizeof path);
  /* through the settings, as the executor does */
  parry_config_t *settings = parry_config_new();
  char assign[PATH_MAX + 32], err[512] = "";
  snprintf(assign, sizeof assign, "executor.connectors=%s", path);
  assert_int_equal(parry_config_set(settings, assign, "--set", err, sizeof err), PARRY_OK);
  assert_int_equal(parry_config_set(settings, "executor.connector.max_concurrency=7", "--set", err,
                                    sizeof err),
                   PARRY_OK);
  parry_conn_config_t *cfg = parry_conn_config_from_settings(settings, err, sizeof err);
  if (!cfg) fail_msg("examples/connectors.yml: %s", err);
  parry_conn_engine_t *e = parry_conn_engine_new(cfg, NULL, err, sizeof err);
  assert_non_null(e);
  parry_conn_engine_destroy(e);
  parry_config_destroy(settings);
  /* a missing secret stops the start-up, naming the variable */
  unsetenv("SOC_FIREWALL_TOKEN");
  cfg = parry_conn_config_load(path, NULL, err, sizeof err);
  assert_null(cfg);
  assert_non_null(strstr(err, "SOC_FIREWALL_TOKEN"));
}

static void test_metrics_and_wakeup(void **state) {
  (void)state;
  parry_metrics_t *m = parry_metrics_new();
  char err[256];
  parry_conn_engine_t *e = parry_conn_engine_new(parry_conn_config_parse("", 0, "x", NULL, err, sizeof err),
                                                 m, err, sizeof err);
  assert_non_null(e);
  tc_result_t r;
  tc_run(e, "exec", "{\"argv\":[\"/bin/true\"]}", NULL, 0, &r);
  tc_result_free(&r);
  tc_run(e, "exec", "{\"argv\":[\"/bin/false\"]}", NULL, 0, &r);
  tc_result_free(&r);
  parry_buf_t out = PARRY_BUF_INIT(0);
  parry_metrics_render(m, &out);
  assert_non_null(strstr(out.data, "parry_connector_calls_total{connector=\"exec\",status=\"ok\"} 1"));
  assert_non_null(strstr(out.data, "parry_connector_calls_total{connector=\"exec\",status=\"failed\"} 1"));
  parry_buf_free(&out);
  /* a wake-up cuts a long poll short */
  parry_conn_engine_wakeup(e);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  parry_conn_engine_poll(e, 5000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  assert_true(t1.tv_sec - t0.tv_sec < 2);
  parry_conn_engine_destroy(e);
  parry_metrics_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_connector_is_registered),
      cmocka_unit_test(test_escape_for),
      cmocka_unit_test(test_check_inputs),
      cmocka_unit_test(test_internal_connectors_are_not_started),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_config_secrets_from_file_and_env),
      cmocka_unit_test(test_example_config_loads),
      cmocka_unit_test(test_metrics_and_wakeup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
