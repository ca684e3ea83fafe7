/* The condition grammar: precedence, brackets, `x of` forms, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "sigma/sigma_int.h"
#include "test_support.h"

/* Three identifiers a, b, c, each true when the event's field of that name
 * is "1"; `extra` adds identifiers. */
static char *rule(const char *cond, const char *extra) {
  static char buf[65536];
  snprintf(buf, sizeof buf,
           "title: t\nlogsource: {product: x}\ndetection:\n  a: {A: '1'}\n  b: {B: '1'}\n"
           "  c: {C: '1'}\n%s  condition: %s\n",
           extra ? extra : "", cond);
  return buf;
}

static parry_sigma_ruleset_t *load(const char *yaml, parry_sigma_report_t *rep) {
  char err[256];
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("c.yml", yaml, strlen(yaml), NULL, rep, err, sizeof err);
  assert_non_null(rs);
  return rs;
}

/* Evaluate `cond` for all 8 assignments of a, b, c; bit i of the result is
 * the outcome for a = i&1, b = i&2, c = i&4. */
static unsigned truth(const char *cond, const char *extra) {
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(rule(cond, extra), &rep);
  if (parry_sigma_rule_count(rs) != 1) {
    parry_sigma_report_print(&rep, stdout, true);
    fail_msg("condition \"%s\" rejected", cond);
  }
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  unsigned bits = 0;
  for (unsigned i = 0; i < 8; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"logsource\": {\"product\": \"x\"}, \"A\": \"%d\", \"B\": \"%d\", \"C\": \"%d\"}",
             (i & 1) != 0, (i & 2) != 0, (i & 4) != 0);
    Parry__V1__Event *ev = NULL;
    char err[128];
    assert_int_equal(parry_event_from_json(json, strlen(json), &ev, err, sizeof err), PARRY_OK);
    const parry_sigma_match_t *out;
    if (parry_sigma_match(m, ev, &out)) bits |= 1u << i;
    parry__v1__event__free_unpacked(ev, NULL);
  }
  parry_sigma_matcher_destroy(m);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  return bits;
}

/* The condition's truth table must equal the C expression's over a, b, c. */
#define EXPECT(cond, extra, expr)                 \
  do {                                            \
    unsigned t_ = 0;                              \
    for (unsigned i = 0; i < 8; i++) {            \
      bool a = i & 1, b = i & 2, c = i & 4;       \
      (void)a, (void)b, (void)c;                  \
      if (expr) t_ |= 1u << i;                    \
    }                                             \
    assert_int_equal(truth(cond, extra), t_);     \
  } while (0)

static void rejected(const char *cond, const char *extra, parry_sigma_reject_reason_t reason,
                     const char *needle) {
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(rule(cond, extra), &rep);
  assert_int_equal(parry_sigma_rule_count(rs), 0);
  assert_int_equal(rep.n_rejections, 1);
  if (rep.rejections[0].reason != reason || !strstr(rep.rejections[0].message, needle)) {
    parry_sigma_report_print(&rep, stdout, true);
    fail_msg("condition \"%s\": expected %s with \"%s\"", cond,
             parry_sigma_reject_reason_str(reason), needle);
  }
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
}

static void test_and_or_not(void **state) {
  EXPECT("a", NULL, a);
  EXPECT("a and b", NULL, a && b);
  EXPECT("a or b", NULL, a || b);
  EXPECT("not a", NULL, !a);
  EXPECT("not not a", NULL, a);
  EXPECT("a AND NOT b", NULL, a && !b); /* keywords ignore case */
}

static void test_precedence(void **state) {
  EXPECT("a or b and c", NULL, a || (b && c));
  EXPECT("a and b or c", NULL, (a && b) || c);
  EXPECT("not a and b", NULL, !a && b);
  EXPECT("not a or b", NULL, !a || b);
  EXPECT("a or not b and c", NULL, a || (!b && c));
  EXPECT("a and b and c or not a", NULL, (a && b && c) || !a);
}

static void test_brackets(void **state) {
  EXPECT("(a or b) and c", NULL, (a || b) && c);
  EXPECT("not (a or b)", NULL, !(a || b));
  EXPECT("((a))", NULL, a);
  EXPECT("a and (b or (c and not a))", NULL, a && (b || (c && !a)));
  EXPECT("(a)and(b)", NULL, a && b);
}

static void test_of_forms(void **state) {
  const char *sel = "  selection_x: {A: '1'}\n  selection_y: {B: '1'}\n  filter_z: {C: '1'}\n";
  EXPECT("1 of selection_*", sel, a || b);
  EXPECT("any of selection_*", sel, a || b);
  EXPECT("all of selection_*", sel, a && b);
  EXPECT("all of selection_* and not 1 of filter_*", sel, a && b && !c);
  EXPECT("1 of sel*_y", sel, b);
  EXPECT("1 of selection_x", sel, a); /* a pattern without a star */
  EXPECT("not 1 of selection_* or c", sel, !(a || b) || c);
  /* them: every identifier not starting with _ */
  const char *under = "  _hidden: {C: '0'}\n"; /* true when c is false */
  EXPECT("1 of them", under, a || b || c); /* a, b, c; not _hidden */
  EXPECT("all of them", under, a && b && c);
  EXPECT("_hidden", under, !c);   /* but it can be named */
  EXPECT("1 of _*", under, !c);
}

static void test_condition_list_is_or(void **state) {
  EXPECT("[a and b, c]", NULL, (a && b) || c);
}

static void test_errors(void **state) {
  rejected("1 of selection_*", NULL, PARRY_SIGMA_REJECT_CONDITION, "matches no search identifier");
  rejected("all of nothing*", NULL, PARRY_SIGMA_REJECT_CONDITION, "matches no search identifier");
  rejected("a and d", NULL, PARRY_SIGMA_REJECT_CONDITION, "unknown search identifier \"d\"");
  rejected("a and", NULL, PARRY_SIGMA_REJECT_CONDITION, "end of condition");
  rejected("(a or b", NULL, PARRY_SIGMA_REJECT_CONDITION, "expected \")\"");
  rejected("a b", NULL, PARRY_SIGMA_REJECT_CONDITION, "after a complete condition");
  rejected("a | count() > 5", NULL, PARRY_SIGMA_REJECT_UNSUPPORTED, "aggregation");
  rejected("2 of them", NULL, PARRY_SIGMA_REJECT_CONDITION, "only \"1 of\"");
  rejected("1 of and", NULL, PARRY_SIGMA_REJECT_CONDITION, "expected \"them\" or a pattern");
  rejected("''", NULL, PARRY_SIGMA_REJECT_CONDITION, "empty condition");
  /* nesting past the cap is a limit, not a crash */
  char deep[512] = "";
  for (int i = 0; i < 100; i++) strcat(deep, "(");
  strcat(deep, "a");
  for (int i = 0; i < 100; i++) strcat(deep, ")");
  rejected(deep, NULL, PARRY_SIGMA_REJECT_LIMIT, "nested too deeply");
  char nots[1024] = "";
  for (int i = 0; i < 100; i++) strcat(nots, "not ");
  strcat(nots, "a");
  rejected(nots, NULL, PARRY_SIGMA_REJECT_LIMIT, "nested too deeply");
}

static void test_long_chains(void **state) {
  /* a condition as long as the cap allows, flattened, evaluates fine */
  size_t cap = 15000;
  char *cond = malloc(cap + 16);
  strcpy(cond, "a");
  while (strlen(cond) + 6 < cap) strcat(cond, " or a");
  strcat(cond, " or b");
  EXPECT(cond, NULL, a || b);
  free(cond);
}

static void test_parser_directly(void **state) {
  parry_arena_t a = PARRY_ARENA_INIT;
  char err[256];
  sg_cond_t *c = sg_cond_parse(&a, "x or y and not z", 16, err, sizeof err);
  assert_non_null(c);
  assert_int_equal(c->op, SG_C_OR);
  assert_int_equal(c->a->op, SG_C_ID);
  assert_string_equal(c->a->name, "x");
  assert_int_equal(c->b->op, SG_C_AND);
  assert_int_equal(c->b->b->op, SG_C_NOT);
  c = sg_cond_parse(&a, "all of them", 11, err, sizeof err);
  assert_non_null(c);
  assert_int_equal(c->op, SG_C_ALL_OF);
  assert_null(c->name);
  assert_null(sg_cond_parse(&a, "x or", 4, err, sizeof err));
  assert_non_null(strstr(err, "column 5"));
  assert_true(sg_name_glob("sel*", "selection"));
  assert_true(sg_name_glob("*tion", "selection"));
  assert_true(sg_name_glob("s*l*n", "selection"));
  assert_false(sg_name_glob("sel*x", "selection"));
  assert_true(sg_name_glob("*", ""));
  parry_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_and_or_not),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_brackets),
      cmocka_unit_test(test_of_forms),
      cmocka_unit_test(test_condition_list_is_or),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_long_chains),
      cmocka_unit_test(test_parser_directly),
  };
  return cmocka_run_group_tests_name("sigma_condition", tests, NULL, NULL);
}
