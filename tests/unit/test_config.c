/* Configuration: precedence, unknown keys, bad values, and errors that name
 * the key and the source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parry/config.h"
#include "test_support.h"

static char errstr[1024];

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *temp_yaml(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/parry-test-config-%d.yaml", (int)getpid());
  write_file(path, text);
  return path;
}

static void test_defaults(void **state) {
  parry_config_t *cfg = parry_config_new();
  assert_string_equal(parry_config_str(cfg, "log.level"), "info");
  assert_string_equal(parry_config_source(cfg, "log.level"), "default");
  assert_int_equal(parry_config_int(cfg, "topics.partitions"), 6);
  assert_int_equal(parry_config_int(cfg, "time.syslog_max_future"), 86400000);
  assert_true(parry_config_bool(cfg, "http.enabled"));
  parry_config_destroy(cfg);
}

static void test_precedence_file_env_flag(void **state) {
  char *path = temp_yaml("log:\n  level: debug\ntopics.partitions: 3\n"
                         "topics:\n  alerts: from-file\n");
  char *envp[] = {"PARRY_LOG_LEVEL=warn", "PARRY_TOPICS_ALERTS=from-env", "HOME=/x", NULL};
  char *argv[] = {"prog", "--set", "topics.alerts=from-flag", "keep", "--config", path, NULL};
  int argc = 6;
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr), PARRY_OK);
  /* file < env < --set, whatever the order on the command line */
  assert_int_equal(parry_config_int(cfg, "topics.partitions"), 3);
  assert_string_equal(parry_config_source(cfg, "topics.partitions"),
                      strcat(strcpy((char[128]){0}, path), ":3"));
  assert_string_equal(parry_config_str(cfg, "log.level"), "warn");
  assert_string_equal(parry_config_source(cfg, "log.level"), "environment variable PARRY_LOG_LEVEL");
  assert_string_equal(parry_config_str(cfg, "topics.alerts"), "from-flag");
  assert_string_equal(parry_config_source(cfg, "topics.alerts"), "--set");
  /* our flags are taken out of argv, the rest stays in order */
  assert_int_equal(argc, 2);
  assert_string_equal(argv[1], "keep");
  assert_null(argv[2]);
  parry_config_destroy(cfg);
  unlink(path);
}

static void test_config_file_from_environment(void **state) {
  char *path = temp_yaml("log.level: error\n");
  char assignment[128];
  snprintf(assignment, sizeof assignment, "PARRY_CONFIG=%s", path);
  char *envp[] = {assignment, NULL};
  char *argv[] = {"prog", NULL};
  int argc = 1;
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr), PARRY_OK);
  assert_string_equal(parry_config_str(cfg, "log.level"), "error");
  parry_config_destroy(cfg);
  unlink(path);
}

static void test_unknown_key_in_file_names_line(void **state) {
  char *path = temp_yaml("log:\n  level: info\n  levle: debug\n");
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_NOT_FOUND);
  char expected[256];
  snprintf(expected, sizeof expected, "unknown setting \"log.levle\" from %s:3", path);
  assert_non_null(strstr(errstr, expected));
  assert_non_null(strstr(errstr, "did you mean log.level?"));
  parry_config_destroy(cfg);
  unlink(path);
}

static void test_unknown_env_and_flag(void **state) {
  parry_config_t *cfg = parry_config_new();
  char *envp[] = {"PARRY_NO_SUCH_THING=1", NULL};
  assert_int_equal(parry_config_load_env(cfg, envp, errstr, sizeof errstr), PARRY_ERR_NOT_FOUND);
  assert_non_null(strstr(errstr, "environment variable PARRY_NO_SUCH_THING"));
  assert_int_equal(parry_config_set(cfg, "nope.key=1", "--set", errstr, sizeof errstr),
                   PARRY_ERR_NOT_FOUND);
  assert_non_null(strstr(errstr, "unknown setting \"nope.key\" from --set"));
  assert_int_equal(parry_config_set(cfg, "no-equals-sign", "--set", errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "expected key=value"));
  /* variables of the harness and the file location are not settings */
  char *reserved[] = {"PARRY_TESTDATA=/x", "PARRY_REQUIRE_SERVICES=1", "PARRY_CONFIG=", NULL};
  assert_int_equal(parry_config_load_env(cfg, reserved, errstr, sizeof errstr), PARRY_OK);
  parry_config_destroy(cfg);
}

typedef struct {
  const char *assignment;
  const char *reason;
} bad_value_t;

static void test_bad_values_name_key_source_and_reason(void **state) {
  static const bad_value_t cases[] = {
      {"log.level=verbose", "expected one of debug|info|warn|error"},
      {"http.enabled=maybe", "expected true or false"},
      {"topics.partitions=six", "expected an integer"},
      {"topics.partitions=6x", "expected an integer"},
      {"topics.partitions=0", "out of range 1..10000"},
      {"topics.partitions=99999999999999999999", "expected an integer"},
      {"time.syslog_max_future=5", "expected a duration"},
      {"time.syslog_max_future=-1s", "expected a duration"},
      {"time.syslog_max_future=400d", "out of range"},
      {"time.syslog_utc_offset=+25:00", "expected a UTC offset"},
      {"http.listen=localhost:80", "expected IP:PORT"},
      {"http.listen=127.0.0.1:65536", "expected IP:PORT"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    parry_config_t *cfg = parry_config_new();
    assert_int_equal(parry_config_set(cfg, cases[i].assignment, "--set", errstr, sizeof errstr),
                     PARRY_ERR_INVALID);
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(strchr(cases[i].assignment, '=') - cases[i].assignment),
             cases[i].assignment);
    if (!strstr(errstr, key) || !strstr(errstr, "from --set") || !strstr(errstr, cases[i].reason))
      fail_msg("%s: unexpected error \"%s\"", cases[i].assignment, errstr);
    /* the failed value did not replace the default */
    assert_string_equal(parry_config_source(cfg, key), "default");
    parry_config_destroy(cfg);
  }
}

static void test_good_values_parse(void **state) {
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(parry_config_set(cfg, "time.syslog_max_future=250ms", "t", errstr, sizeof errstr), 0);
  assert_int_equal(parry_config_int(cfg, "time.syslog_max_future"), 250);
  assert_int_equal(parry_config_set(cfg, "time.syslog_max_future=2h", "t", errstr, sizeof errstr), 0);
  assert_int_equal(parry_config_int(cfg, "time.syslog_max_future"), 7200000);
  assert_int_equal(parry_config_set(cfg, "http.enabled=OFF", "t", errstr, sizeof errstr), 0);
  assert_false(parry_config_bool(cfg, "http.enabled"));
  assert_int_equal(parry_config_set(cfg, "http.listen=[::1]:0", "t", errstr, sizeof errstr), 0);
  assert_int_equal(parry_config_set(cfg, "time.syslog_utc_offset=-05:30", "t", errstr, sizeof errstr), 0);
  assert_int_equal(parry_config_int(cfg, "time.syslog_utc_offset"), -(5 * 3600 + 30 * 60));
  /* a value may contain '=' */
  assert_int_equal(parry_config_set(cfg, "pg.dsn=host=x password=a=b", "t", errstr, sizeof errstr), 0);
  assert_string_equal(parry_config_str(cfg, "pg.dsn"), "host=x password=a=b");
  parry_config_destroy(cfg);
}

static void test_yaml_errors(void **state) {
  parry_config_t *cfg = parry_config_new();
  char *path = temp_yaml("log:\n  level: [debug, info]\n");
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, ":2"));
  assert_non_null(strstr(errstr, "log.level expects a single value"));

  path = temp_yaml("log.level: debug\nlog:\n  level: info\n");
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "given twice"));

  path = temp_yaml("log: {level: debug\n");
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "invalid YAML"));

  path = temp_yaml("just a scalar\n");
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "expected a mapping"));

  path = temp_yaml("");
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_OK);
  unlink(path);

  assert_int_equal(parry_config_load_file(cfg, "/nonexistent/parry.yaml", errstr, sizeof errstr),
                   PARRY_ERR_NOT_FOUND);
  assert_non_null(strstr(errstr, "could not open configuration file /nonexistent/parry.yaml"));
  parry_config_destroy(cfg);
}

typedef struct {
  char seen[8][128];
  int n;
} kafka_seen_t;

static void collect(const char *name, const char *value, const char *source, void *opaque) {
  kafka_seen_t *s = opaque;
  snprintf(s->seen[s->n++], sizeof s->seen[0], "%s=%s@%s", name, value, source);
}

static void test_kafka_passthrough(void **state) {
  char *path = temp_yaml("kafka:\n  bootstrap.servers: a:1\n  security.protocol: sasl_ssl\n");
  char *envp[] = {"PARRY_KAFKA_BOOTSTRAP_SERVERS=b:2", NULL};
  char *argv[] = {"prog", "--config", path, "--set=kafka.client.id=x", NULL};
  int argc = 4;
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr), PARRY_OK);
  kafka_seen_t seen = {0};
  parry_config_foreach_kafka(cfg, collect, &seen);
  assert_int_equal(seen.n, 3);
  assert_string_equal(seen.seen[0], "bootstrap.servers=b:2@environment variable PARRY_KAFKA_BOOTSTRAP_SERVERS");
  assert_non_null(strstr(seen.seen[1], "security.protocol=sasl_ssl@"));
  assert_string_equal(seen.seen[2], "client.id=x@--set");

  assert_int_equal(parry_config_set(cfg, "kafka.no.such.property=1", "--set", errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "kafka.no.such.property from --set"));
  assert_int_equal(parry_config_set(cfg, "kafka.acks=sometimes", "--set", errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "kafka.acks"));
  parry_config_destroy(cfg);
  unlink(path);
}

static void test_reference_lists_every_setting(void **state) {
  parry_buf_t text = PARRY_BUF_INIT(0), md = PARRY_BUF_INIT(0);
  parry_config_reference(&text, false);
  parry_config_reference(&md, true);
  for (size_t i = 0; i < parry_settings_count; i++) {
    char needle[128];
    snprintf(needle, sizeof needle, "| `%s` |", parry_settings[i].key);
    assert_non_null(strstr(md.data, needle));
    assert_non_null(strstr(text.data, parry_settings[i].key));
    assert_non_null(strstr(text.data, parry_settings[i].help));
  }
  parry_buf_free(&text);
  parry_buf_free(&md);
}

/* docs/configuration.md is generated; a stale copy is a failing test, so the
 * reference users read can never drift from the table. */
static void test_docs_configuration_md_is_current(void **state) {
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/configuration.md", parry_test_source_dir());
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("could not open %s: regenerate with `make docs`", path);
  parry_buf_t file = PARRY_BUF_INIT(0), md = PARRY_BUF_INIT(0);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) parry_buf_append(&file, chunk, n);
  fclose(f);
  parry_config_reference(&md, true);
  if (file.len != md.len || memcmp(file.data, md.data, md.len) != 0)
    fail_msg("docs/configuration.md is out of date: run `make docs`");
  parry_buf_free(&file);
  parry_buf_free(&md);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_precedence_file_env_flag),
      cmocka_unit_test(test_config_file_from_environment),
      cmocka_unit_test(test_unknown_key_in_file_names_line),
      cmocka_unit_test(test_unknown_env_and_flag),
      cmocka_unit_test(test_bad_values_name_key_source_and_reason),
      cmocka_unit_test(test_good_values_parse),
      cmocka_unit_test(test_yaml_errors),
      cmocka_unit_test(test_kafka_passthrough),
      cmocka_unit_test(test_reference_lists_every_setting),
      cmocka_unit_test(test_docs_configuration_md_is_current),
  };
  return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
