/* The parry command: dispatch, pending commands, and `parry config`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "test_support.h"

typedef struct {
  int rc;
  char out[16384];
  char err[4096];
} run_t;

static run_t *run(char **envp, int argc, char **argv) {
  static run_t r;
  memset(&r, 0, sizeof r);
  FILE *out = fmemopen(r.out, sizeof r.out - 1, "w");
  FILE *err = fmemopen(r.err, sizeof r.err - 1, "w");
  r.rc = parry_cli_main(argc, argv, envp, out, err);
  fclose(out);
  fclose(err);
  return &r;
}

static void test_usage_and_unknown(void **state) {
  char *none[] = {NULL};
  run_t *r = run(none, 2, (char *[]){"parry", "--help", NULL});
  assert_int_equal(r->rc, 0);
  assert_non_null(strstr(r->out, "config"));
  r = run(none, 2, (char *[]){"parry", "frobnicate", NULL});
  assert_int_equal(r->rc, 2);
  assert_non_null(strstr(r->err, "unknown command \"frobnicate\""));
  r = run(none, 1, (char *[]){"parry", NULL});
  assert_int_equal(r->rc, 2);
}

static void test_pending_command_says_so(void **state) {
  char *none[] = {NULL};
  run_t *r = run(none, 2, (char *[]){"parry", "approve", NULL});
  assert_int_equal(r->rc, 2);
  assert_non_null(strstr(r->err, "parry approve: not available yet"));
}

static void test_config_masks_secrets(void **state) {
  char *envp[] = {"PARRY_KAFKA_SASL_PASSWORD=s3cr3t", NULL};
  run_t *r;
  r = run(envp, 5,
          (char *[]){"parry", "config", "--set", "pg.dsn=host=db password=hunter2",
                     "--set=log.level=debug", NULL});
  assert_int_equal(r->rc, 0);
  assert_non_null(strstr(r->out, "log.level = debug  (--set)"));
  assert_non_null(strstr(r->out, "pg.dsn = ********  (--set)"));
  assert_non_null(strstr(r->out, "kafka.sasl.password = ********  (environment variable PARRY_KAFKA_SASL_PASSWORD)"));
  assert_null(strstr(r->out, "hunter2"));
  assert_null(strstr(r->out, "s3cr3t"));
}

static void test_config_errors_exit_nonzero(void **state) {
  char *envp[] = {NULL};
  run_t *r = run(envp, 4, (char *[]){"parry", "config", "--set", "log.level=loud", NULL});
  assert_int_equal(r->rc, 1);
  assert_non_null(strstr(r->err, "invalid value \"loud\" for log.level from --set"));
  r = run(envp, 3, (char *[]){"parry", "config", "--bogus", NULL});
  assert_int_equal(r->rc, 2);
}

static void test_config_reference(void **state) {
  char *envp[] = {NULL};
  run_t *r = run(envp, 3, (char *[]){"parry", "config", "--reference", NULL});
  assert_int_equal(r->rc, 0);
  assert_non_null(strstr(r->out, "time.syslog_max_future"));
  assert_non_null(strstr(r->out, "environment: PARRY_LOG_LEVEL"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_usage_and_unknown),
      cmocka_unit_test(test_pending_command_says_so),
      cmocka_unit_test(test_config_masks_secrets),
      cmocka_unit_test(test_config_errors_exit_nonzero),
      cmocka_unit_test(test_config_reference),
  };
  return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
