/* The `when` expression language: every operator, cidr over IPv4 and IPv6,
 * missing paths, compile errors with their column, and the caps. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook/expr.h"
#include "test_support.h"

static struct json_object *ctx;

static int setup(void **state) {
  (void)state;
  const char *text =
      "{\"alert\": {\"id\": \"a1\", \"count\": 12, \"score\": 7.5, \"rule\": {\"id\": \"r-1\","
      " \"level\": \"high\", \"title\": \"SSH Brute Force\", \"tags\": [\"attack.t1110\", "
      "\"ssh\"]},"
      " \"group_by\": {\"source.ip\": \"203.0.113.7\", \"v6\": \"2001:db8::1\", \"user\": "
      "\"Admin\"},"
      " \"flag\": true, \"none\": null, \"empty\": \"\", \"list\": [1, 2, 3], \"obj\": {}},"
      " \"case\": {\"count\": 3}, \"steps\": {\"geo\": {\"status\": \"succeeded\","
      " \"outputs\": {\"country\": \"NL\"}}}, \"runbook\": {\"name\": \"rb\"}}";
  ctx = json_tokener_parse(text);
  return ctx ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  json_object_put(ctx);
  return 0;
}

/* Compile and evaluate; fails the test on a compile error. */
static bool ev(const char *text) {
  char err[256];
  parry_expr_t *e = parry_expr_compile(text, err, sizeof err);
  if (!e) fail_msg("compile \"%s\": %s", text, err);
  bool out = false;
  assert_int_equal(parry_expr_eval(e, ctx, &out, err, sizeof err), PARRY_OK);
  parry_expr_destroy(e);
  return out;
}

/* The compile error of text: its 0-based offset and message. */
static size_t bad(const char *text, char *msg, size_t n) {
  size_t off = 12345;
  parry_expr_t *e = parry_expr_compile_at(text, strlen(text), &off, msg, n);
  if (e) fail_msg("\"%s\" compiled", text);
  return off;
}

static void test_comparisons(void **state) {
  (void)state;
  assert_true(ev("alert.count == 12"));
  assert_false(ev("alert.count == 13"));
  assert_true(ev("alert.count != 13"));
  assert_true(ev("alert.count >= 12"));
  assert_false(ev("alert.count > 12"));
  assert_true(ev("alert.count < 12.5"));
  assert_true(ev("alert.score <= 7.5"));
  assert_true(ev("alert.score > 7"));
  assert_true(ev("alert.count == 12.0")); /* numbers by value */
  assert_true(ev("alert.rule.level == \"high\""));
  assert_true(ev("alert.rule.level == 'high'"));
  assert_false(ev("alert.rule.level == \"High\""));
  assert_true(ev("alert.rule.title < \"Z\"")); /* strings byte-wise */
  assert_false(ev("alert.count == \"12\""));   /* different types are unequal */
  assert_true(ev("alert.count != \"12\""));
  assert_false(ev("alert.count < \"13\"")); /* and unordered */
  assert_true(ev("alert.flag == true"));
  assert_true(ev("alert.none == null"));
  assert_true(ev("alert.list == [1, 2, 3]"));
  assert_true(ev("-1 < 0"));
}

static void test_logic(void **state) {
  (void)state;
  assert_true(ev("alert.flag and alert.count > 1"));
  assert_false(ev("alert.flag and alert.count > 100"));
  assert_true(ev("alert.count > 100 or alert.flag"));
  assert_true(ev("not alert.none"));
  assert_true(ev("!alert.empty"));
  assert_true(ev("alert.flag && !(alert.count > 100) || false"));
  assert_false(ev("not (alert.flag or false)"));
  assert_true(ev("not not alert.flag"));
  /* truthiness */
  assert_false(ev("alert.empty"));
  assert_false(ev("alert.obj"));
  assert_true(ev("alert.list"));
  assert_false(ev("0"));
  assert_true(ev("'x'"));
  /* precedence: and binds tighter than or */
  assert_true(ev("true or false and false"));
  assert_false(ev("(true or false) and false"));
}

static void test_membership(void **state) {
  (void)state;
  assert_true(ev("alert.rule.level in [\"high\", \"critical\"]"));
  assert_false(ev("alert.rule.level in [\"low\"]"));
  assert_true(ev("alert.rule.level not in [\"low\"]"));
  assert_true(ev("\"ssh\" in alert.rule.tags"));
  assert_true(ev("\"Brute\" in alert.rule.title")); /* substring */
  assert_true(ev("alert.rule.tags contains \"attack.t1110\""));
  assert_false(ev("alert.rule.tags contains \"attack\""));
  assert_true(ev("alert.rule.title contains \"Force\""));
  assert_true(ev("alert.list contains 2"));
  assert_false(ev("alert.none contains 2"));
  assert_true(ev("alert.rule.title matches \"SSH*\""));
  assert_true(ev("alert.rule.title matches \"*Brute?Force\""));
  assert_false(ev("alert.rule.title matches \"Brute*\""));
  assert_false(ev("alert.count matches \"1*\""));
}

static void test_functions(void **state) {
  (void)state;
  assert_true(ev("exists(alert.rule.id)"));
  assert_false(ev("exists(alert.none)"));
  assert_false(ev("exists(alert.nothing.deeper)"));
  assert_true(ev("level(alert.rule.level) >= level(\"medium\")"));
  assert_false(ev("level(alert.rule.level) >= level(\"critical\")"));
  assert_true(ev("level(\"bogus\") == null"));
  assert_true(ev("lower(alert.group_by.user) == \"admin\""));
  assert_true(ev("len(alert.rule.tags) == 2"));
  assert_true(ev("len(alert.rule.title) == 15"));
  assert_true(ev("len(alert.nothing) == null"));
}

static void test_cidr(void **state) {
  (void)state;
  assert_true(ev("cidr(alert.group_by.source.ip, \"203.0.113.0/24\")"));
  assert_false(ev("cidr(alert.group_by.source.ip, \"203.0.114.0/24\")"));
  assert_true(ev("cidr(alert.group_by.source.ip, \"203.0.113.7\")")); /* a single address */
  assert_true(ev("cidr(alert.group_by.source.ip, \"0.0.0.0/0\")"));
  assert_false(ev("cidr(alert.group_by.source.ip, [\"10.0.0.0/8\", \"192.168.0.0/16\"])"));
  assert_true(ev("cidr(alert.group_by.source.ip, [\"10.0.0.0/8\", \"203.0.0.0/8\"])"));
  assert_true(ev("cidr(alert.group_by.source.ip, \"203.0.113.6/31\")"));
  assert_false(ev("cidr(alert.group_by.source.ip, \"203.0.113.4/31\")"));
  /* IPv6 */
  assert_true(ev("cidr(alert.group_by.v6, \"2001:db8::/32\")"));
  assert_false(ev("cidr(alert.group_by.v6, \"2001:db9::/32\")"));
  assert_false(ev("cidr(alert.group_by.v6, \"10.0.0.0/8\")"));
  assert_false(ev("cidr(alert.group_by.source.ip, \"2001:db8::/32\")"));
  /* IPv4-mapped IPv6 against IPv4 ranges, both ways */
  assert_true(ev("cidr(\"::ffff:10.1.2.3\", \"10.0.0.0/8\")"));
  assert_true(ev("cidr(\"10.1.2.3\", \"::ffff:10.0.0.0/104\")"));
  /* the range may come from the context; bad data is false, not an error */
  assert_false(ev("cidr(alert.group_by.user, \"10.0.0.0/8\")"));
  assert_false(ev("cidr(alert.nothing, \"10.0.0.0/8\")"));
  assert_false(ev("cidr(alert.group_by.source.ip, alert.rule.title)"));
  assert_true(ev("cidr(\"203.0.113.9\", steps.geo.outputs.country) == false"));
}

static void test_paths(void **state) {
  (void)state;
  assert_true(ev("alert.group_by[\"source.ip\"] == \"203.0.113.7\""));
  assert_true(ev("alert.group_by.source.ip == \"203.0.113.7\"")); /* dotted key found by joining */
  assert_true(ev("alert.rule.tags[1] == \"ssh\""));
  assert_true(ev("alert.rule.tags[5] == null"));
  assert_true(ev("steps.geo.outputs.country == \"NL\""));
  assert_true(ev("steps.geo.status == \"succeeded\""));
  assert_true(ev("case.count == 3"));
  assert_true(ev("runbook.name == \"rb\""));
  /* missing paths are null, never an error, at any depth */
  assert_true(ev("steps.block.outputs.id == null"));
  assert_false(ev("steps.block.outputs.id == \"x\""));
  assert_true(ev("alert.count.deeper == null"));
  assert_true(ev("alert.list.x == null"));
  /* a NULL context: everything is null */
  char err[128];
  parry_expr_t *e = parry_expr_compile("alert.x == null and not exists(steps.a)", err, sizeof err);
  assert_non_null(e);
  bool out = false;
  assert_int_equal(parry_expr_eval(e, NULL, &out, err, sizeof err), PARRY_OK);
  assert_true(out);
  parry_expr_destroy(e);
}

static void test_errors(void **state) {
  (void)state;
  char msg[256];
  assert_int_equal(bad("alert.count ==", msg, sizeof msg), 14);
  assert_non_null(strstr(msg, "ends"));
  assert_int_equal(bad("alert.count = 3", msg, sizeof msg), 12);
  assert_non_null(strstr(msg, "=="));
  assert_int_equal(bad("alrt.count == 3", msg, sizeof msg), 0);
  assert_non_null(strstr(msg, "alrt"));
  assert_int_equal(bad("cidr(alert.ip, \"10.0.0.0/33\")", msg, sizeof msg), 15);
  assert_non_null(strstr(msg, "10.0.0.0/33"));
  assert_int_equal(bad("cidr(alert.ip, \"nope\")", msg, sizeof msg), 15);
  assert_int_equal(bad("cidr(alert.ip)", msg, sizeof msg), 13);
  assert_int_equal(bad("(alert.a == 1", msg, sizeof msg), 13);
  assert_non_null(strstr(msg, "column 1"));
  assert_int_equal(bad("alert.a == 'x", msg, sizeof msg), 11);
  assert_non_null(strstr(msg, "unterminated"));
  assert_int_equal(bad("frobnicate(alert.a)", msg, sizeof msg), 0);
  assert_non_null(strstr(msg, "unknown function"));
  assert_int_equal(bad("alert.a == 1 alert.b", msg, sizeof msg), 13);
  assert_int_equal(bad("alert.a in [alert.b]", msg, sizeof msg), 12);
  assert_int_equal(bad("", msg, sizeof msg), 0);
  assert_int_equal(bad("alert.a matches 3", msg, sizeof msg), 16);
  assert_int_equal(bad("alert.a == 'a\\q'", msg, sizeof msg), 13);
  assert_int_equal(bad("alert. == 1", msg, sizeof msg), 6);
  assert_int_equal(bad("alert.a == 1.", msg, sizeof msg), 13);
  /* the plain form puts the column first (1-based) */
  parry_expr_t *e = parry_expr_compile("alert.count ==", msg, sizeof msg);
  assert_null(e);
  assert_non_null(strstr(msg, "column 15:"));
}

static void test_caps(void **state) {
  (void)state;
  char msg[256];
  /* nesting */
  char deep[200];
  size_t k = 0;
  for (int i = 0; i < 40; i++) deep[k++] = '(';
  deep[k++] = '1';
  for (int i = 0; i < 40; i++) deep[k++] = ')';
  deep[k] = '\0';
  bad(deep, msg, sizeof msg);
  assert_non_null(strstr(msg, "deeper"));
  /* nesting within the cap is fine */
  assert_true(ev("((((((((((alert.flag))))))))))"));
  /* not not not ... counts as nesting */
  char nots[400] = "";
  for (int i = 0; i < 60; i++) strcat(nots, "not ");
  strcat(nots, "true");
  bad(nots, msg, sizeof msg);
  assert_non_null(strstr(msg, "deeper"));
  /* length */
  char *big = malloc(PARRY_EXPR_MAX_LEN + 10);
  memset(big, ' ', PARRY_EXPR_MAX_LEN + 9);
  big[0] = '1';
  big[PARRY_EXPR_MAX_LEN + 9] = '\0';
  bad(big, msg, sizeof msg);
  assert_non_null(strstr(msg, "longer"));
  free(big);
  /* node count: a long flat chain stays shallow but hits the node cap */
  size_t cap = 8 * (PARRY_EXPR_MAX_NODES + 10);
  char *chain = malloc(cap);
  chain[0] = '\0';
  for (int i = 0; i < PARRY_EXPR_MAX_NODES + 5; i++) strcat(chain, i ? " or 1" : "1");
  if (strlen(chain) <= PARRY_EXPR_MAX_LEN) {
    bad(chain, msg, sizeof msg);
    assert_non_null(strstr(msg, "parts"));
  }
  free(chain);
  /* a long chain within the caps evaluates without deep recursion */
  char chain2[4000] = "false";
  for (int i = 0; i < 300; i++) strcat(chain2, " or false");
  strcat(chain2, " or alert.flag");
  assert_true(ev(chain2));
}

typedef struct {
  char ids[4][16];
  size_t off[4];
  int n;
} refs_t;

static void on_ref(void *o, const char *id, size_t off) {
  refs_t *g = o;
  if (g->n < 4) {
    snprintf(g->ids[g->n], 16, "%s", id);
    g->off[g->n++] = off;
  }
}

static void test_step_refs(void **state) {
  (void)state;
  char err[128];
  parry_expr_t *e = parry_expr_compile(
      "steps.geo.outputs.country == 'NL' and steps.intel.status == 'x' "
      "and alert.x",
      err, sizeof err);
  assert_non_null(e);
  refs_t got = {0};
  parry_expr_step_refs(e, on_ref, &got);
  assert_int_equal(got.n, 2);
  assert_string_equal(got.ids[0], "geo");
  assert_int_equal(got.off[0], 0);
  assert_string_equal(got.ids[1], "intel");
  assert_int_equal(got.off[1], 38);
  assert_string_equal(
      parry_expr_text(e),
      "steps.geo.outputs.country == 'NL' and steps.intel.status == 'x' and alert.x");
  parry_expr_destroy(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_comparisons), cmocka_unit_test(test_logic),
      cmocka_unit_test(test_membership),  cmocka_unit_test(test_functions),
      cmocka_unit_test(test_cidr),        cmocka_unit_test(test_paths),
      cmocka_unit_test(test_errors),      cmocka_unit_test(test_caps),
      cmocka_unit_test(test_step_refs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
