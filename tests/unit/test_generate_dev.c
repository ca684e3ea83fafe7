/* The parts of `parry dev` that need no service: the connectors file
 * rewrite (targets to the stand-ins, secrets from the environment to
 * private files) and the Prometheus text sums of the progress line. The
 * whole command runs in tests/e2e/test_dev.c. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev/dev.h"

static char *read_all(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *b = calloc(1, 4096);
  size_t n = fread(b, 1, 4095, f);
  b[n] = '\0';
  fclose(f);
  return b;
}

static void test_connectors_rewrite(void **state) {
  (void)state;
  char dir[] = "/tmp/parry-dev-unit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  setenv("PARRY_DEV_UNIT_TOKEN", "from-the-environment", 1);
  unsetenv("PARRY_DEV_UNIT_UNSET");
  const char yaml[] =
      "# the stand-ins listen on http://127.0.0.1:18090; token_env: NOT_THIS\n"
      "targets:\n"
      "  slack:\n"
      "    url: https://hooks.slack.example:443/services/T0/B0/x?y=1  # webhook\n"
      "  jira:\n"
      "    base_url: \"http://jira.example\"\n"
      "    auth: {type: basic, user: bot, password_env: PARRY_DEV_UNIT_TOKEN}\n"
      "  firewall:\n"
      "    auth: {type: bearer, token_env: \"PARRY_DEV_UNIT_UNSET\"}\n"
      "  email:\n"
      "    url: smtps://mail.example:465\n";
  parry_buf_t out = PARRY_BUF_INIT(0);
  char errstr[256];
  assert_true(dev_connectors_rewrite(yaml, strlen(yaml), 4242, 2525, dir, &out, errstr,
                                     sizeof errstr));
  const char *o = out.data;
  /* comments untouched, URLs and secrets rewritten */
  assert_non_null(strstr(o, "# the stand-ins listen on http://127.0.0.1:18090; token_env: NOT_THIS\n"));
  assert_non_null(strstr(o, "url: http://127.0.0.1:4242/services/T0/B0/x?y=1  # webhook\n"));
  assert_non_null(strstr(o, "base_url: \"http://127.0.0.1:4242\"\n"));
  assert_non_null(strstr(o, "url: smtp://127.0.0.1:2525\n"));
  assert_null(strstr(o, "example"));
  char want[256];
  snprintf(want, sizeof want, "password_file: \"%s/secret-PARRY_DEV_UNIT_TOKEN\"}", dir);
  assert_non_null(strstr(o, want));
  snprintf(want, sizeof want, "token_file: \"%s/secret-PARRY_DEV_UNIT_UNSET\"}", dir);
  assert_non_null(strstr(o, want));
  /* the only _env left is the comment's */
  const char *first = strstr(o, "_env:");
  assert_true(first == strstr(o, "token_env: NOT_THIS") + 5);
  assert_null(strstr(first + 1, "_env:"));

  /* the files: the variable's value, or a random one; private */
  char path[256];
  snprintf(path, sizeof path, "%s/secret-PARRY_DEV_UNIT_TOKEN", dir);
  char *v = read_all(path);
  assert_non_null(v);
  assert_string_equal(v, "from-the-environment");
  free(v);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 077, 0);
  unlink(path);
  snprintf(path, sizeof path, "%s/secret-PARRY_DEV_UNIT_UNSET", dir);
  v = read_all(path);
  assert_non_null(v);
  assert_int_equal(strlen(v), 48);
  free(v);
  unlink(path);
  rmdir(dir);

  /* port 0: that kind of target is left alone */
  parry_buf_reset(&out);
  const char y2[] = "url: smtp://mail.example:25\nurl: http://a.example/x\n";
  assert_true(dev_connectors_rewrite(y2, strlen(y2), 4242, 0, "/nonexistent", &out, errstr,
                                     sizeof errstr));
  assert_string_equal(out.data, "url: smtp://mail.example:25\nurl: http://127.0.0.1:4242/x\n");
  parry_buf_free(&out);
  unsetenv("PARRY_DEV_UNIT_TOKEN");
}

static void test_metric_sum(void **state) {
  (void)state;
  const char text[] =
      "# HELP parry_x_total things\n"
      "# TYPE parry_x_total counter\n"
      "parry_x_total{level=\"low\"} 3\n"
      "parry_x_total{level=\"high\",rule=\"a}b\"} 4\n"
      "parry_x_total_more 100\n"
      "parry_y 2.5\n";
  assert_true(dev_metric_sum(text, "parry_x_total") == 7);
  assert_true(dev_metric_sum(text, "parry_y") == 2.5);
  assert_true(dev_metric_sum(text, "parry_z") == -1);
  assert_true(dev_metric_sum(NULL, "parry_y") == -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connectors_rewrite),
      cmocka_unit_test(test_metric_sum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
