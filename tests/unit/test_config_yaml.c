/* The configuration file's YAML: read through the shared tree reader, so
 * aliases (expansion bombs, self-references), deep nesting, huge files and
 * second documents are refused with FILE:LINE:COLUMN, and what the file
 * sets (values, sources, errors) is what it was with libyaml's loader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parry/buf.h"
#include "parry/config.h"
#include "test_support.h"

static char errstr[1024];

static const char *temp_path(void) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/parry-test-config-yaml-%d.yaml", (int)getpid());
  return path;
}

static const char *write_temp(const char *text, size_t len) {
  const char *path = temp_path();
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  return path;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static parry_err_t load(parry_config_t *cfg, const char *text, size_t len, const char *name) {
  return parry_config_load_yaml(cfg, text, len, name, errstr, sizeof errstr);
}

/* errstr must hold every needle. */
static void expect_error(const char *what, const char *needle1, const char *needle2) {
  if (!strstr(errstr, needle1) || (needle2 && !strstr(errstr, needle2)))
    fail_msg("%s: error \"%s\" lacks \"%s\"%s%s", what, errstr, needle1, needle2 ? " or " : "",
             needle2 ? needle2 : "");
}

/* Nine levels of ten aliases each: 10^9 leaves once expanded. */
static void alias_bomb(parry_buf_t *b, const char *indent_key) {
  parry_buf_printf(b, "%sl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
                   indent_key);
  for (int i = 1; i < 9; i++) {
    parry_buf_printf(b, "%sl%d: &l%d [", indent_key, i, i);
    for (int j = 0; j < 10; j++) parry_buf_printf(b, "%s*l%d", j ? ", " : "", i - 1);
    parry_buf_append_str(b, "]\n");
  }
}

static void test_alias_bomb_refused_quickly(void **state) {
  (void)state;
  parry_buf_t text = PARRY_BUF_INIT(0);
  alias_bomb(&text, "");
  const char *path = write_temp(text.data, text.len);
  parry_config_t *cfg = parry_config_new();
  double t0 = now_s();
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_INVALID);
  double took = now_s() - t0;
  /* the first alias: line 2, after "l1: &l1 [" */
  char where[128];
  snprintf(where, sizeof where, "%s:2:10: ", path);
  expect_error("alias bomb", where, "YAML aliases are not supported");
  if (took > 2.0) fail_msg("refusing the alias bomb took %.2f s", took);
  unlink(path);
  parry_config_destroy(cfg);
  parry_buf_free(&text);
}

/* libyaml's loader made `&a {x: *a}` a cycle; walking it recursed until the
 * stack ran out. */
static void test_self_referential_alias_refused(void **state) {
  (void)state;
  static const char text[] = "log: &a {level: *a}\n";
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(load(cfg, text, strlen(text), "cyc.yml"), PARRY_ERR_INVALID);
  expect_error("cycle", "cyc.yml:1:17: YAML aliases are not supported", NULL);
  parry_config_destroy(cfg);
}

static void test_any_alias_refused_anchor_alone_accepted(void **state) {
  (void)state;
  static const char alias[] = "log: &l {level: debug}\ntopics:\n  alerts: *l\n";
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(load(cfg, alias, strlen(alias), "a.yml"), PARRY_ERR_INVALID);
  expect_error("alias", "a.yml:3:11: YAML aliases are not supported", NULL);
  /* the file was refused as a whole: nothing before the alias was applied */
  assert_string_equal(parry_config_source(cfg, "log.level"), "default");

  /* an anchor that nothing refers to is harmless and was always accepted */
  static const char anchor[] = "log: &l {level: debug}\n";
  assert_int_equal(load(cfg, anchor, strlen(anchor), "b.yml"), PARRY_OK);
  assert_string_equal(parry_config_str(cfg, "log.level"), "debug");
  assert_string_equal(parry_config_source(cfg, "log.level"), "b.yml:1");
  parry_config_destroy(cfg);
}

static void nested(parry_buf_t *b, int levels) {
  for (int i = 0; i < levels; i++) parry_buf_append_str(b, "a: {");
  parry_buf_append_str(b, "a: 1");
  for (int i = 0; i < levels; i++) parry_buf_append_char(b, '}');
  parry_buf_append_char(b, '\n');
}

static void test_depth_capped(void **state) {
  (void)state;
  parry_config_t *cfg = parry_config_new();
  parry_buf_t text = PARRY_BUF_INIT(0);
  nested(&text, 32); /* 33 mappings with the top level */
  assert_int_equal(load(cfg, text.data, text.len, "deep.yml"), PARRY_ERR_INVALID);
  /* the 32nd "{" opens level 33, at column 4 + 31 * 4 */
  expect_error("depth", "deep.yml:1:128: ", "YAML nested deeper than 32 levels");
  text.len = 0;
  nested(&text, 31); /* 32 levels: read, then refused for its meaning */
  assert_int_equal(load(cfg, text.data, text.len, "deep.yml"), PARRY_ERR_NOT_FOUND);
  expect_error("depth 32", "unknown setting \"a.a.a.", NULL);
  parry_buf_free(&text);
  parry_config_destroy(cfg);
}

static void test_node_count_capped(void **state) {
  (void)state;
  parry_config_t *cfg = parry_config_new();
  parry_buf_t text = PARRY_BUF_INIT(0);
  parry_buf_append_str(&text, "topics.alerts: [");
  for (int i = 0; i < 100000; i++) parry_buf_append_str(&text, i ? ",1" : "1");
  parry_buf_append_str(&text, "]\n");
  double t0 = now_s();
  assert_int_equal(load(cfg, text.data, text.len, "big.yml"), PARRY_ERR_INVALID);
  if (now_s() - t0 > 5.0) fail_msg("refusing 100000 nodes took too long");
  /* collections count when they close: the key and 100000 items overflow */
  char where[64];
  snprintf(where, sizeof where, "big.yml:1:%d: ", 17 + 2 * 99999);
  expect_error("nodes", where, "more than 100000 YAML nodes in one file");
  parry_buf_free(&text);
  parry_config_destroy(cfg);
}

/* With libyaml's loader everything after "---" was silently ignored. */
static void test_second_document_refused(void **state) {
  (void)state;
  static const char text[] = "log.level: debug\n---\nhttp.enabled: false\n";
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(load(cfg, text, strlen(text), "two.yml"), PARRY_ERR_INVALID);
  expect_error("second document", "two.yml:3:1: a second YAML document", NULL);
  assert_string_equal(parry_config_source(cfg, "log.level"), "default");
  /* one document with its markers is fine */
  static const char one[] = "%YAML 1.1\n---\nlog.level: warn\n...\n";
  assert_int_equal(load(cfg, one, strlen(one), "one.yml"), PARRY_OK);
  assert_string_equal(parry_config_str(cfg, "log.level"), "warn");
  assert_string_equal(parry_config_source(cfg, "log.level"), "one.yml:3");
  parry_config_destroy(cfg);
}

/* A "\0" escape would have cut the value short (a DSN or secret silently
 * truncated). */
static void test_nul_in_value_refused(void **state) {
  (void)state;
  static const char text[] = "pg:\n  dsn: \"host=x\\0password=y\"\n";
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(load(cfg, text, strlen(text), "nul.yml"), PARRY_ERR_INVALID);
  expect_error("nul", "nul.yml:2:8: the value of pg.dsn holds a NUL byte", NULL);
  assert_null(strstr(errstr, "password=y"));
  assert_string_equal(parry_config_source(cfg, "pg.dsn"), "default");
  parry_config_destroy(cfg);
}

static void test_errors_name_file_line_column(void **state) {
  (void)state;
  parry_config_t *cfg = parry_config_new();
  static const char syntax[] = "log: {level: debug\n";
  const char *path = write_temp(syntax, strlen(syntax));
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_INVALID);
  char where[128];
  snprintf(where, sizeof where, "%s:2:1: invalid YAML: ", path);
  expect_error("syntax", where, NULL);
  unlink(path);

  static const char list[] = "log:\n  level: [debug, info]\n";
  assert_int_equal(load(cfg, list, strlen(list), "l.yml"), PARRY_ERR_INVALID);
  expect_error("list", "l.yml:2:10: log.level expects a single value, found a list", NULL);
  static const char key[] = "log:\n  ? [level]\n  : debug\n";
  assert_int_equal(load(cfg, key, strlen(key), "k.yml"), PARRY_ERR_INVALID);
  expect_error("key", "k.yml:2:5: keys must be plain strings", NULL);
  parry_config_destroy(cfg);
}

/* Scalars are used as their text, whatever their style or tag, as with
 * libyaml's loader; sources stay FILE:LINE. */
static void test_values_and_sources_unchanged(void **state) {
  (void)state;
  static const char text[] = "http:\n  enabled: !!bool NO\n"
                             "topics: {partitions: 007, alerts: 'a: b'}\n"
                             "pg.dsn: |\n  host=x\n"
                             "kafka:\n  security:\n    protocol: sasl_ssl\n"
                             "log.level:\n";
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(load(cfg, text, strlen(text), "v.yml"), PARRY_ERR_INVALID);
  /* an empty value is the empty text, which log.level refuses */
  expect_error("empty", "invalid value \"\" for log.level from v.yml:9", NULL);
  assert_false(parry_config_bool(cfg, "http.enabled"));
  assert_string_equal(parry_config_source(cfg, "http.enabled"), "v.yml:2");
  assert_int_equal(parry_config_int(cfg, "topics.partitions"), 7);
  assert_string_equal(parry_config_str(cfg, "topics.alerts"), "a: b");
  assert_string_equal(parry_config_source(cfg, "topics.alerts"), "v.yml:3");
  assert_string_equal(parry_config_str(cfg, "pg.dsn"), "host=x\n");
  parry_config_destroy(cfg);

  /* empty, comment-only and empty-document files set nothing */
  static const char *const empty[] = {"", "# nothing\n", "---\n", "--- ''\n"};
  for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
    cfg = parry_config_new();
    if (load(cfg, empty[i], strlen(empty[i]), "e.yml"))
      fail_msg("\"%s\" refused: %s", empty[i], errstr);
    assert_string_equal(parry_config_source(cfg, "log.level"), "default");
    parry_config_destroy(cfg);
  }
}

static void test_file_too_large(void **state) {
  (void)state;
  const char *path = temp_path();
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  static char line[4096];
  memset(line, '#', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  for (int i = 0; i < 4097; i++) assert_int_equal(fwrite(line, 1, sizeof line, f), sizeof line);
  assert_int_equal(fclose(f), 0);
  parry_config_t *cfg = parry_config_new();
  assert_int_equal(parry_config_load_file(cfg, path, errstr, sizeof errstr), PARRY_ERR_TOO_LARGE);
  expect_error("large", path, "is larger than 16 MiB");
  unlink(path);
  parry_config_destroy(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alias_bomb_refused_quickly),
      cmocka_unit_test(test_self_referential_alias_refused),
      cmocka_unit_test(test_any_alias_refused_anchor_alone_accepted),
      cmocka_unit_test(test_depth_capped),
      cmocka_unit_test(test_node_count_capped),
      cmocka_unit_test(test_second_document_refused),
      cmocka_unit_test(test_nul_in_value_refused),
      cmocka_unit_test(test_errors_name_file_line_column),
      cmocka_unit_test(test_values_and_sources_unchanged),
      cmocka_unit_test(test_file_too_large),
  };
  return cmocka_run_group_tests_name("config_yaml", tests, NULL, NULL);
}
