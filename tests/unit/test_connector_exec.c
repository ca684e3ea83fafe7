/* The exec connector: argv passed verbatim (no shell), a clean environment,
 * timeout with SIGKILL, capped output, exit status as output. */
#include "test_connector_util.h"

static parry_conn_engine_t *eng;

static int setup(void **state) {
  (void)state;
  eng = tc_engine("defaults: {exec_max_output: 1000}\n"
                  "exec:\n  env: {PATH: /usr/bin:/bin, LANG: C}\n");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  parry_conn_engine_destroy(eng);
  return 0;
}

static void test_argv_is_not_a_shell(void **state) {
  (void)state;
  tc_result_t r;
  /* every argument arrives as one argv element, metacharacters and all */
  tc_run(eng, "exec",
         "{\"argv\":[\"/usr/bin/printf\",\"[%s]\\n\",\"a b\",\"$(id)\",\"`id`;rm -rf /\","
         "\"x\\\"y'z\",\"{{alert.x}}\",\"l1\\r\\nl2\",\"|&>\"]}",
         NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "stdout"),
                      "[a b]\n[$(id)]\n[`id`;rm -rf /]\n[x\"y'z]\n[{{alert.x}}]\n[l1\r\nl2]\n[|&>]\n");
  assert_string_equal(tc_get(r.outputs, "exit_code"), "0");
  assert_string_equal(tc_get(r.outputs, "stdout_truncated"), "false");
  tc_result_free(&r);
}

static void test_clean_environment(void **state) {
  (void)state;
  setenv("PARRY_TEST_LEAK", "must-not-leak", 1);
  tc_result_t r;
  tc_run(eng, "exec", "{\"argv\":[\"/usr/bin/env\"],\"env\":{\"CASE_ID\":\"c-1; echo x\"}}", NULL, 0,
         &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  const char *out = tc_get(r.outputs, "stdout");
  assert_non_null(strstr(out, "PATH=/usr/bin:/bin\n"));
  assert_non_null(strstr(out, "LANG=C\n"));
  assert_non_null(strstr(out, "CASE_ID=c-1; echo x\n"));
  assert_null(strstr(out, "PARRY_TEST_LEAK"));
  assert_null(strstr(out, "HOME="));
  /* exactly three variables */
  int lines = 0;
  for (const char *p = out; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 3);
  tc_result_free(&r);
  /* a bad variable name is refused */
  tc_run(eng, "exec", "{\"argv\":[\"/usr/bin/env\"],\"env\":{\"A=B\":\"x\"}}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
}

static void test_timeout_kills(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "exec", "{\"argv\":[\"/bin/sleep\",\"30\"]}", NULL, 300LL * 1000000, &r);
  assert_int_equal(r.status, PARRY_CONN_RETRYABLE);
  assert_non_null(strstr(r.error, "timed out"));
  assert_string_equal(tc_get(r.outputs, "timed_out"), "true");
  assert_true(r.duration_ns >= 290LL * 1000000 && r.duration_ns < 3000LL * 1000000);
  tc_result_free(&r);
  /* a child of the child dies with it (process group) */
  tc_run(eng, "exec", "{\"argv\":[\"/bin/sh\",\"-c\",\"sleep 30 & sleep 30\"]}", NULL,
         200LL * 1000000, &r);
  assert_int_equal(r.status, PARRY_CONN_RETRYABLE);
  assert_true(r.duration_ns < 3000LL * 1000000);
  tc_result_free(&r);
}

static void test_output_cap(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "exec", "{\"argv\":[\"/bin/sh\",\"-c\",\"yes | head -c 1000000\"]}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK); /* the child was never blocked on a full pipe */
  assert_string_equal(tc_get(r.outputs, "stdout_truncated"), "true");
  struct json_object *out = json_object_object_get(r.outputs, "stdout");
  assert_int_equal(json_object_get_string_len(out), 1000);
  tc_result_free(&r);
}

static void test_binary_output_is_valid_text(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "exec", "{\"argv\":[\"/usr/bin/printf\",\"\\\\377\\\\000a\\\\303\\\\251\"]}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  /* FF and NUL become U+FFFD; the valid "é" stays */
  assert_string_equal(tc_get(r.outputs, "stdout"), "\xEF\xBF\xBD\xEF\xBF\xBD" "a\xC3\xA9");
  tc_result_free(&r);
}

static void test_exit_status_and_refusals(void **state) {
  (void)state;
  tc_result_t r;
  tc_run(eng, "exec", "{\"argv\":[\"/bin/sh\",\"-c\",\"echo oops >&2; exit 3\"]}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_string_equal(tc_get(r.outputs, "exit_code"), "3");
  assert_string_equal(tc_get(r.outputs, "stderr"), "oops\n");
  tc_result_free(&r);
  tc_run(eng, "exec", "{\"argv\":[\"sh\",\"-c\",\"true\"]}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_non_null(strstr(r.error, "absolute"));
  tc_result_free(&r);
  tc_run(eng, "exec", "{\"argv\":\"/bin/true; reboot\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
  tc_run(eng, "exec", "{\"argv\":[\"/nonexistent/tool\"]}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
}

static void test_allowlist(void **state) {
  (void)state;
  parry_conn_engine_t *e = tc_engine("exec:\n  allow: [/bin/true]\n");
  tc_result_t r;
  tc_run(e, "exec", "{\"argv\":[\"/bin/true\"]}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  tc_result_free(&r);
  tc_run(e, "exec", "{\"argv\":[\"/bin/false\"]}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_non_null(strstr(r.error, "exec.allow"));
  tc_result_free(&r);
  parry_conn_engine_destroy(e);
}

static void test_many_children_at_once(void **state) {
  (void)state;
  enum { N = 20 };
  tc_result_t r[N];
  memset(r, 0, sizeof r);
  struct json_object *in = json_tokener_parse("{\"argv\":[\"/bin/sleep\",\"0.2\"]}");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < N; i++)
    assert_int_equal(parry_conn_start(eng, parry_connector_find("exec"), in, NULL, 0, tc_done, &r[i]),
                     PARRY_OK);
  json_object_put(in);
  tc_drain(eng, 10000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  for (int i = 0; i < N; i++) {
    assert_int_equal(r[i].status, PARRY_CONN_OK);
    tc_result_free(&r[i]);
  }
  assert_true(secs < 2.0); /* in parallel, not 20 x 0.2 s */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_argv_is_not_a_shell),
      cmocka_unit_test(test_clean_environment),
      cmocka_unit_test(test_timeout_kills),
      cmocka_unit_test(test_output_cap),
      cmocka_unit_test(test_binary_output_is_valid_text),
      cmocka_unit_test(test_exit_status_and_refusals),
      cmocka_unit_test(test_allowlist),
      cmocka_unit_test(test_many_children_at_once),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
