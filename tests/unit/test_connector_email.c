/* The email connector against the SMTP stand-in: STARTTLS with a verified
 * certificate, AUTH, the envelope and the headers as recorded, and header
 * injection refused. */
#include "test_connector_util.h"

static standin_t smtp;
static parry_conn_engine_t *eng;

static int setup(void **state) {
  (void)state;
  standin_start(&smtp, "smtp", "parry", "smtp-pass-xyz");
  char yaml[4096];
  int w = snprintf(yaml, sizeof yaml,
                   "targets:\n"
                   "  email:\n"
                   "    url: smtp://127.0.0.1:%d\n"
                   "    from: soc@example.org\n"
                   "    starttls: required\n"
                   "    ca_file: %s\n"
                   "    auth: {type: basic, user: parry, password: smtp-pass-xyz}\n"
                   "  plain:\n"
                   "    url: smtp://127.0.0.1:%d\n"
                   "    from: soc@example.org\n"
                   "    auth: {type: basic, user: parry, password: wrong-pass}\n",
                   smtp.port, smtp.cert, smtp.port);
  assert_true(w > 0 && (size_t)w < sizeof yaml);
  eng = tc_engine(yaml);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  parry_conn_engine_destroy(eng);
  standin_stop(&smtp);
  return 0;
}

static void test_message_recorded(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "email",
         "{\"to\":[\"oncall@example.org\",\"lead@example.org\"],\"cc\":\"audit@example.org\","
         "\"subject\":\"[Parry] SSH brute force from 203.0.113.7\","
         "\"body\":\"Case 12 opened.\\n.\\nA line with a dot above.\\n\"}",
         "run-3/mail", 0, &r);
  if (r.status != PARRY_CONN_OK) fail_msg("email failed: %s", r.error);
  assert_string_equal(tc_get(r.outputs, "sent"), "true");
  tc_result_free(&r);
  struct json_object *all = standin_records(&smtp);
  assert_int_equal(json_object_array_length(all), 1);
  struct json_object *m = json_object_array_get_idx(all, 0);
  assert_string_equal(tc_get(m, "tls"), "true");
  assert_string_equal(tc_get(m, "auth_user"), "parry");
  assert_string_equal(tc_get(m, "auth_password"), "smtp-pass-xyz");
  assert_string_equal(tc_get(m, "mail_from"), "<soc@example.org>");
  assert_string_equal(tc_get(m, "rcpt_to.0"), "<oncall@example.org>");
  assert_string_equal(tc_get(m, "rcpt_to.1"), "<lead@example.org>");
  assert_string_equal(tc_get(m, "rcpt_to.2"), "<audit@example.org>");
  const char *data = tc_get(m, "data");
  assert_non_null(strstr(data, "\r\nFrom: soc@example.org\r\n"));
  assert_non_null(strstr(data, "\r\nTo: oncall@example.org, lead@example.org\r\n"));
  assert_non_null(strstr(data, "\r\nCc: audit@example.org\r\n"));
  assert_non_null(strstr(data, "\r\nSubject: [Parry] SSH brute force from 203.0.113.7\r\n"));
  assert_non_null(strstr(data, "\r\nMessage-ID: <run-3mail@parry.invalid>\r\n"));
  assert_non_null(strstr(data, "Content-Type: text/plain; charset=utf-8\r\n"));
  /* the lone dot survived the transfer (dot-stuffed, then unstuffed) */
  assert_non_null(strstr(data, "\r\n\r\nCase 12 opened.\r\n.\r\nA line with a dot above.\r\n"));
  json_object_put(all);
}

static void test_non_ascii_subject_encoded(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "email",
         "{\"to\":\"oncall@example.org\",\"subject\":\"Alerte : tentative \\u00e9chou\\u00e9e\","
         "\"body\":\"x\"}",
         NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  struct json_object *all = standin_records(&smtp);
  const char *data = tc_get(json_object_array_get_idx(all, json_object_array_length(all) - 1), "data");
  assert_non_null(strstr(data, "Subject: =?UTF-8?B?"));
  assert_null(strstr(data, "\xc3\xa9"));
  json_object_put(all);
}

static void test_header_injection_refused(void **state) {
  (void)state;
  struct json_object *before = standin_records(&smtp);
  size_t n = json_object_array_length(before);
  json_object_put(before);
  const char *bad[] = {
      "{\"to\":\"a@example.org\",\"subject\":\"hi\\r\\nBcc: victim@example.org\",\"body\":\"x\"}",
      "{\"to\":\"a@example.org\\r\\nRCPT TO:<x@y.org>\",\"subject\":\"hi\",\"body\":\"x\"}",
      "{\"to\":\"a@example.org, b@example.org\",\"subject\":\"hi\",\"body\":\"x\"}",
      "{\"to\":\"Name <a@example.org>\",\"subject\":\"hi\",\"body\":\"x\"}",
      "{\"to\":\"a@example.org\",\"from\":\"x@y.org>\\r\\nDATA\",\"subject\":\"hi\",\"body\":\"x\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tc_result_t r;
    tc_run(eng, "email", bad[i], NULL, 0, &r);
    assert_int_equal(r.status, PARRY_CONN_FAILED);
    tc_result_free(&r);
  }
  struct json_object *after = standin_records(&smtp);
  assert_int_equal(json_object_array_length(after), n);
  json_object_put(after);
}

static void test_bad_credentials_fail(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "email",
         "{\"target\":\"plain\",\"to\":\"a@example.org\",\"subject\":\"hi\",\"body\":\"x\"}", NULL, 0,
         &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_null(strstr(r.error, "wrong-pass"));
  tc_result_free(&r);
}

static void test_smtp_failure_classes(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "email", "{\"to\":\"fail-451@example.org\",\"subject\":\"s\",\"body\":\"x\"}", NULL,
         0, &r);
  assert_int_equal(r.status, PARRY_CONN_RETRYABLE);
  assert_int_equal(r.http_status, 451);
  tc_result_free(&r);
  tc_run(eng, "email", "{\"to\":\"fail-550@example.org\",\"subject\":\"s\",\"body\":\"x\"}", NULL,
         0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_int_equal(r.http_status, 550);
  tc_result_free(&r);
  tc_run(eng, "email", "{\"to\":\"hang@example.org\",\"subject\":\"s\",\"body\":\"x\"}", NULL,
         400LL * 1000000, &r);
  assert_int_equal(r.status, PARRY_CONN_RETRYABLE);
  assert_non_null(strstr(r.error, "timed out"));
  tc_result_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_message_recorded),
      cmocka_unit_test(test_non_ascii_subject_encoded),
      cmocka_unit_test(test_header_injection_refused),
      cmocka_unit_test(test_bad_credentials_fail),
      cmocka_unit_test(test_smtp_failure_classes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
