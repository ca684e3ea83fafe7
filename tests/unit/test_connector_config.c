/* The connectors file's YAML: read through the shared tree reader, so
 * aliases (expansion bombs), deep nesting, huge files and second documents
 * are refused with FILE:LINE:COLUMN, and the values it gives the connectors
 * (this file's own scalar typing) are what they were with libyaml's loader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/conn_internal.h"
#include "parry/buf.h"
#include "test_support.h"

static char err[1024];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static parry_conn_config_t *parse(const char *text, size_t len) {
  err[0] = '\0';
  return parry_conn_config_parse(text, len, "c.yml", NULL, err, sizeof err);
}

static void expect_refused(const char *text, size_t len, const char *needle1, const char *needle2) {
  parry_conn_config_t *cfg = parse(text, len);
  if (cfg) {
    parry_conn_config_destroy(cfg);
    fail_msg("accepted: %.200s", text);
  }
  if (!strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
    fail_msg("error \"%s\" lacks \"%s\"%s%s", err, needle1, needle2 ? " or " : "",
             needle2 ? needle2 : "");
}

static const char target[] = "targets:\n  t: {base_url: http://127.0.0.1:9}\n";

/* An action body of nine levels of ten aliases each: 10^9 leaves once
 * expanded, which libyaml's loader and the json-c conversion did. */
static void test_alias_bomb_refused_quickly(void **state) {
  (void)state;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, target);
  parry_buf_append_str(&b, "actions:\n  boom:\n    target: t\n    body:\n"
                           "      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
  for (int i = 1; i < 9; i++) {
    parry_buf_printf(&b, "      l%d: &l%d [", i, i);
    for (int j = 0; j < 10; j++) parry_buf_printf(&b, "%s*l%d", j ? ", " : "", i - 1);
    parry_buf_append_str(&b, "]\n");
  }
  double t0 = now_s();
  /* the first alias: line 8, after "      l1: &l1 [" */
  expect_refused(b.data, b.len, "c.yml:8:16: ", "YAML aliases are not supported");
  double took = now_s() - t0;
  if (took > 2.0) fail_msg("refusing the alias bomb took %.2f s", took);
  parry_buf_free(&b);
}

/* A mapping that holds itself twice: 2^64 nodes to the old depth cap. */
static void test_self_referential_alias_refused(void **state) {
  (void)state;
  static const char text[] = "actions:\n  a: {target: t, body: &b {x: *b, y: *b}}\n";
  double t0 = now_s();
  expect_refused(text, strlen(text), "c.yml:2:31: YAML aliases are not supported", NULL);
  if (now_s() - t0 > 2.0) fail_msg("refusing a self-referential alias took too long");
}

static void test_any_alias_refused_anchor_alone_accepted(void **state) {
  (void)state;
  static const char alias[] = "targets:\n  a: &t {base_url: http://127.0.0.1:9}\n  b: *t\n";
  expect_refused(alias, strlen(alias), "c.yml:3:6: YAML aliases are not supported", NULL);
  static const char anchor[] = "targets:\n  a: &t {base_url: http://127.0.0.1:9}\n";
  parry_conn_config_t *cfg = parse(anchor, strlen(anchor));
  if (!cfg) fail_msg("refused: %s", err);
  assert_non_null(conn_config_target(cfg, "a"));
  parry_conn_config_destroy(cfg);
}

static void nested_body(parry_buf_t *b, int levels) {
  b->len = 0;
  parry_buf_append_str(b, target);
  parry_buf_append_str(b, "actions:\n  a:\n    target: t\n    body: ");
  for (int i = 0; i < levels; i++) parry_buf_append_char(b, '[');
  parry_buf_append_char(b, '1');
  for (int i = 0; i < levels; i++) parry_buf_append_char(b, ']');
  parry_buf_append_char(b, '\n');
}

/* libyaml's loader turned what lay deeper than 64 into null, silently. */
static void test_depth_capped(void **state) {
  (void)state;
  parry_buf_t b = PARRY_BUF_INIT(0);
  /* top level, actions, a: 3 mappings; 61 lists make 64 */
  nested_body(&b, 61);
  parry_conn_config_t *cfg = parse(b.data, b.len);
  if (!cfg) fail_msg("64 levels refused: %s", err);
  const conn_action_cfg_t *a = conn_config_action(cfg, "a");
  assert_non_null(a);
  struct json_object *v = a->body;
  for (int i = 0; i < 61; i++) {
    assert_true(json_object_is_type(v, json_type_array));
    v = json_object_array_get_idx(v, 0);
  }
  assert_true(json_object_is_type(v, json_type_int));
  parry_conn_config_destroy(cfg);
  /* the 62nd "[" is at column 11 + 61 */
  nested_body(&b, 62);
  expect_refused(b.data, b.len, "c.yml:6:72: ", "YAML nested deeper than 64 levels");
  parry_buf_free(&b);
}

static void test_node_count_capped(void **state) {
  (void)state;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, "exec:\n  allow: [");
  for (int i = 0; i < 200000; i++) parry_buf_append_str(&b, i ? ",/x" : "/x");
  parry_buf_append_str(&b, "]\n");
  double t0 = now_s();
  /* collections count when they close: after "exec" and "allow", item
   * 199999 is node 200001 */
  char where[64];
  snprintf(where, sizeof where, "c.yml:2:%d: ", 11 + 3 * 199998);
  expect_refused(b.data, b.len, where, "more than 200000 YAML nodes in one file");
  if (now_s() - t0 > 5.0) fail_msg("refusing 200000 nodes took too long");
  parry_buf_free(&b);
}

/* libyaml's loader read the first document and ignored the rest. */
static void test_second_document_refused(void **state) {
  (void)state;
  static const char text[] = "targets:\n  a: {base_url: http://127.0.0.1:9}\n---\n"
                             "exec: {allow: [/bin/true]}\n";
  expect_refused(text, strlen(text), "c.yml:4:1: a second YAML document", NULL);
  static const char one[] = "---\ntargets:\n  a: {base_url: http://127.0.0.1:9}\n...\n";
  parry_conn_config_t *cfg = parse(one, strlen(one));
  if (!cfg) fail_msg("refused: %s", err);
  parry_conn_config_destroy(cfg);
}

static void test_syntax_error_names_line_and_column(void **state) {
  (void)state;
  static const char text[] = "targets: [1, 2\n";
  expect_refused(text, strlen(text), "c.yml:2:1: invalid YAML: ", NULL);
}

/* Content errors (not syntax) name the line and column of the value they
 * are about, like syntax errors do. */
static void test_content_errors_name_line_and_column(void **state) {
  (void)state;
  static const char unknown[] = "targets:\n  t:\n    base_url: http://127.0.0.1:9\n"
                                "    timout: 5s\n";
  expect_refused(unknown, strlen(unknown), "c.yml:4:5: targets.t: unknown key \"timout\"", NULL);
  static const char duration[] = "defaults:\n  timeout: soon\n";
  expect_refused(duration, strlen(duration), "c.yml:2:12: defaults.timeout: bad duration", NULL);
  static const char conc[] = "targets:\n  t: {base_url: http://127.0.0.1:9, max_concurrency: 0}\n";
  expect_refused(conc, strlen(conc), "c.yml:2:54: targets.t.max_concurrency: expected", NULL);
  static const char action[] = "targets:\n  t: {base_url: http://127.0.0.1:9}\n"
                               "actions:\n  a:\n    target: nowhere\n";
  expect_refused(action, strlen(action), "c.yml:5:13: actions.a.target: no such target", NULL);
  static const char allow[] = "exec:\n  allow:\n    - /bin/true\n    - relative/script\n";
  expect_refused(allow, strlen(allow), "c.yml:4:7: exec.allow[1]: expected an absolute path",
                 NULL);
  /* an error about a whole map points at the map */
  static const char auth[] = "targets:\n  t: {base_url: http://127.0.0.1:9, auth: {type: basic}}\n";
  expect_refused(auth, strlen(auth), "c.yml:2:43: targets.t.auth: basic needs user and password",
                 NULL);
}

/* This file's typing of plain scalars: null, true, false and decimal
 * integers only; quoted scalars are strings; tags are ignored. */
static void test_scalar_typing_unchanged(void **state) {
  (void)state;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, target);
  parry_buf_append_str(&b, "actions:\n  a:\n    target: t\n    body:\n"
                           "      a: True\n      b: 0x1F\n      c: 007\n      d: ~\n"
                           "      e: \"12\"\n      f: true\n      g: -3\n      h: 1.5\n"
                           "      i: +5\n      j: null\n      k: ''\n"
                           "      l: 99999999999999999999\n      m: !!str 12\n      n: Null\n"
                           "      o:\n      p: false\n      q: [yes, -x, 1e3]\n"
                           "      r: |\n        block\n"
                           "    outputs:\n      x: 1\n      x: 2\n      ? [k]\n      : 3\n");
  parry_conn_config_t *cfg = parse(b.data, b.len);
  if (!cfg) fail_msg("refused: %s", err);
  const conn_action_cfg_t *a = conn_config_action(cfg, "a");
  assert_non_null(a);
  assert_string_equal(json_object_to_json_string_ext(a->body, JSON_C_TO_STRING_PLAIN),
                      "{\"a\":\"True\",\"b\":\"0x1F\",\"c\":7,\"d\":null,\"e\":\"12\",\"f\":true,"
                      "\"g\":-3,\"h\":\"1.5\",\"i\":\"+5\",\"j\":null,\"k\":\"\","
                      "\"l\":\"99999999999999999999\",\"m\":12,\"n\":\"Null\",\"o\":null,"
                      "\"p\":false,\"q\":[\"yes\",\"-x\",\"1e3\"],\"r\":\"block\\n\"}");
  /* a key given twice keeps its last value; a key that is not a scalar is
   * skipped */
  assert_string_equal(json_object_to_json_string_ext(a->outputs, JSON_C_TO_STRING_PLAIN),
                      "{\"x\":2}");
  parry_conn_config_destroy(cfg);
  parry_buf_free(&b);

  /* typed settings: an integer written as a number, not as a string */
  static const char ok[] = "defaults: {max_concurrency: 007, timeout: 5, max_response: 1KiB}\n";
  cfg = parse(ok, strlen(ok));
  if (!cfg) fail_msg("refused: %s", err);
  assert_int_equal(cfg->limits.max_concurrency, 7);
  assert_int_equal(cfg->limits.timeout_ns, 5000000000LL);
  assert_int_equal(cfg->limits.max_response_bytes, 1024);
  parry_conn_config_destroy(cfg);
  static const char quoted[] = "defaults: {max_concurrency: \"5\"}\n";
  expect_refused(quoted, strlen(quoted), "defaults.max_concurrency: expected 1..1000000", NULL);
  static const char plus[] = "defaults: {max_concurrency: +5}\n";
  expect_refused(plus, strlen(plus), "defaults.max_concurrency: expected 1..1000000", NULL);
}

static void test_empty_files_accepted(void **state) {
  (void)state;
  static const char *const empty[] = {"", "# nothing\n", "---\n", "~\n"};
  for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
    parry_conn_config_t *cfg = parse(empty[i], strlen(empty[i]));
    if (!cfg) fail_msg("\"%s\" refused: %s", empty[i], err);
    assert_int_equal(cfg->ntargets, 0);
    parry_conn_config_destroy(cfg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alias_bomb_refused_quickly),
      cmocka_unit_test(test_self_referential_alias_refused),
      cmocka_unit_test(test_any_alias_refused_anchor_alone_accepted),
      cmocka_unit_test(test_depth_capped),
      cmocka_unit_test(test_node_count_capped),
      cmocka_unit_test(test_second_document_refused),
      cmocka_unit_test(test_syntax_error_names_line_and_column),
      cmocka_unit_test(test_content_errors_name_line_and_column),
      cmocka_unit_test(test_scalar_typing_unchanged),
      cmocka_unit_test(test_empty_files_accepted),
  };
  return cmocka_run_group_tests_name("connector_config", tests, NULL, NULL);
}
