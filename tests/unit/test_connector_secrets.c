/* Connector secrets: what the configuration reports as secret
 * (parry_conn_config_secret: the values the case store registers), and the
 * engine's own masking of answers that echo them back, against the HTTP
 * stand-in:
 *
 *   - every resolved secret is listed: inline and `*_env` / `*_file`
 *     passwords and tokens, target URLs and their paths, and the Basic
 *     credentials as sent (base64 of user:password); longest first, so a
 *     secret inside another never leaves the rest of the longer one;
 *   - an answer echoing the token as a member name, the Basic credentials
 *     as a value, or the token in an error answer reaches no output or
 *     error unmasked. */
#include "test_connector_util.h"

#define TOKEN "tok-4f1e9a7c2b"
#define PASS "pw-8d2c5e1a90"
#define BASIC "Ym90OnB3LThkMmM1ZTFhOTA=" /* base64("bot:pw-8d2c5e1a90") */

static bool listed(const parry_conn_config_t *cfg, const char *value) {
  for (size_t i = 0; i < parry_conn_config_secret_count(cfg); i++)
    if (strcmp(parry_conn_config_secret(cfg, i), value) == 0) return true;
  return false;
}

static void test_secrets_listed(void **state) {
  (void)state;
  char path[PATH_MAX];
  tc_temp_path("conn-secret", path, sizeof path);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("file-secret-77aa\n", f);
  fclose(f);
  setenv("TEST_CONN_SECRETS_TOKEN", TOKEN, 1);
  char yaml[PATH_MAX + 1024];
  snprintf(yaml, sizeof yaml,
           "targets:\n"
           "  a: {base_url: http://127.0.0.1:1/a, auth: {type: bearer, token_env: "
           "TEST_CONN_SECRETS_TOKEN}}\n"
           "  b: {base_url: http://127.0.0.1:1/b, auth: {type: basic, user: bot, password: " PASS
           "}}\n"
           "  c: {base_url: http://127.0.0.1:1/c, auth: {type: header, header: X-Key, "
           "token_file: %s}}\n"
           "  hook: {url: http://127.0.0.1:1/services/T0/B0/hooksecret}\n"
           "  short: {base_url: http://127.0.0.1:1/s, auth: {type: bearer, token: abc}}\n",
           path);
  char err[512] = "";
  parry_conn_config_t *cfg = parry_conn_config_parse(yaml, strlen(yaml), "t.yml", NULL, err,
                                                     sizeof err);
  if (!cfg) fail_msg("%s", err);
  assert_true(listed(cfg, TOKEN));
  assert_true(listed(cfg, PASS));
  assert_true(listed(cfg, BASIC));
  assert_true(listed(cfg, "file-secret-77aa")); /* the trailing newline dropped */
  assert_true(listed(cfg, "http://127.0.0.1:1/services/T0/B0/hooksecret"));
  assert_true(listed(cfg, "/services/T0/B0/hooksecret"));
  assert_false(listed(cfg, "abc")); /* too short to mask anywhere */
  assert_false(listed(cfg, "bot")); /* a user name is not a secret */
  assert_int_equal(parry_conn_config_secret_count(cfg), 6);
  for (size_t i = 1; i < parry_conn_config_secret_count(cfg); i++)
    assert_true(strlen(parry_conn_config_secret(cfg, i - 1)) >=
                strlen(parry_conn_config_secret(cfg, i)));
  assert_null(parry_conn_config_secret(cfg, 6));
  assert_int_equal(parry_conn_config_secret_count(NULL), 0);
  parry_conn_config_destroy(cfg);
  unlink(path);
  unsetenv("TEST_CONN_SECRETS_TOKEN");
}

static void test_echoes_masked(void **state) {
  (void)state;
  standin_t s;
  standin_start(&s, "http", NULL, NULL);
  char rules[1024];
  snprintf(rules, sizeof rules,
           "[{\"path\":\"/a/echo\",\"body\":{\"" TOKEN "\":{\"" TOKEN "-x\":1},"
           "\"list\":[\"Bearer " TOKEN "\"],\"hook\":\"%s/services/T0/B0/hooksecret\"}},"
           "{\"path\":\"/b/echo\",\"body\":{\"seen\":\"Basic " BASIC "\"}},"
           "{\"path\":\"/a/deny\",\"status\":403,\"body\":\"token " TOKEN " is not valid\"}]",
           s.base);
  standin_control(&s, rules);
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "targets:\n"
           "  a: {base_url: %s/a, auth: {type: bearer, token: " TOKEN "}}\n"
           "  b: {base_url: %s/b, auth: {type: basic, user: bot, password: " PASS "}}\n"
           "  hook: {url: %s/services/T0/B0/hooksecret}\n",
           s.base, s.base, s.base);
  parry_conn_engine_t *e = tc_engine(yaml);
  tc_result_t r;

  tc_run(e, "http", "{\"target\":\"a\",\"url\":\"/echo\",\"method\":\"GET\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  const char *out = json_object_to_json_string(r.outputs);
  if (strstr(out, TOKEN) || strstr(out, "hooksecret")) fail_msg("outputs: %s", out);
  /* Member names masked too, their values kept. */
  struct json_object *body = json_object_object_get(r.outputs, "body");
  assert_non_null(json_object_object_get(body, "***"));
  assert_int_equal(json_object_get_int(json_object_object_get(
                       json_object_object_get(body, "***"), "***-x")), 1);
  assert_string_equal(tc_get(r.outputs, "body.list.0"), "Bearer ***");
  assert_string_equal(tc_get(r.outputs, "body.hook"), "***");
  tc_result_free(&r);

  tc_run(e, "http", "{\"target\":\"b\",\"url\":\"/echo\",\"method\":\"GET\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "body.seen"), "Basic ***");
  tc_result_free(&r);
  /* ... which is what the stand-in received. */
  struct json_object *recs = standin_records(&s);
  bool basic_sent = false;
  for (size_t i = 0; i < json_object_array_length(recs); i++) {
    const char *auth = tc_get(json_object_array_get_idx(recs, i), "headers.Authorization");
    if (auth && strcmp(auth, "Basic " BASIC) == 0) basic_sent = true;
  }
  json_object_put(recs);
  assert_true(basic_sent);

  tc_run(e, "http", "{\"target\":\"a\",\"url\":\"/deny\",\"method\":\"GET\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_non_null(strstr(r.error, "403"));
  assert_non_null(strstr(r.error, "token *** is not valid"));
  assert_null(strstr(r.error, TOKEN));
  tc_result_free(&r);

  parry_conn_engine_destroy(e);
  standin_stop(&s);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_secrets_listed),
      cmocka_unit_test(test_echoes_masked),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
