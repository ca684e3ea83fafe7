/* parry_time_parse_syslog keeps the last (month, day, reference, rule) and
 * that day's start in three candidate years: the answers must be the same
 * whatever came before, so each case here runs cold, then after other
 * references, rules and days have filled the cache, then again warm. */
#include "test_support.h"

#include <string.h>

#include "parry/timefmt.h"

static int64_t rfc(const char *s) {
  int64_t ns = 0;
  if (parry_time_parse_rfc3339(s, strlen(s), &ns) != PARRY_OK) fail_msg("bad reference %s", s);
  return ns;
}

typedef struct {
  const char *text;
  int32_t offset_s;
  int64_t max_future_s;
  const char *reference;
  const char *expect; /* RFC 3339, or NULL: rejected */
} time_case_t;

static const time_case_t cases[] = {
    /* the reference's year */
    {"Dec  5 10:00:00", 0, 86400, "2026-12-05T00:00:00Z", "2026-12-05T10:00:00Z"},
    /* past max_future: last year's */
    {"Dec  6 10:00:00", 0, 86400, "2026-12-05T00:00:00Z", "2025-12-06T10:00:00Z"},
    /* the same day with another rule: this year's again */
    {"Dec  6 10:00:00", 0, 2 * 86400, "2026-12-05T00:00:00Z", "2026-12-06T10:00:00Z"},
    /* the same day and rule, a later reference */
    {"Dec  6 10:00:00", 0, 86400, "2026-12-06T00:00:00Z", "2026-12-06T10:00:00Z"},
    /* the same day, the hour decides the year */
    {"Dec  6 23:59:59", 0, 86400, "2026-12-05T23:59:59Z", "2026-12-06T23:59:59Z"},
    {"Dec  7 00:00:00", 0, 86400, "2026-12-05T23:59:59Z", "2025-12-07T00:00:00Z"},
    /* next year's January, read on Dec 31 */
    {"Jan  1 00:30:00", 0, 3600, "2026-12-31T23:45:00Z", "2027-01-01T00:30:00Z"},
    {"Jan  1 01:30:00", 0, 3600, "2026-12-31T23:45:00Z", "2026-01-01T01:30:00Z"},
    /* a zone: the same text, another offset */
    {"Jan  1 00:30:00", 3600, 3600, "2026-12-31T23:45:00Z", "2026-12-31T23:30:00Z"},
    {"Jan  1 00:30:00", -3600, 3600, "2026-12-31T23:45:00Z", "2026-01-01T01:30:00Z"},
    /* a fraction and a leap second */
    {"Mar 10 12:00:00.250", 0, 86400, "2026-12-05T00:00:00Z", "2026-03-10T12:00:00.250Z"},
    {"Mar 10 23:59:60", 0, 86400, "2026-12-05T00:00:00Z", "2026-03-11T00:00:00Z"},
    /* Feb 29 (not cached: the nearest leap year) and days a month lacks */
    {"Feb 29 12:00:00", 0, 86400, "2026-12-05T00:00:00Z", "2024-02-29T12:00:00Z"},
    {"Feb 30 12:00:00", 0, 86400, "2026-12-05T00:00:00Z", NULL},
    {"Apr 31 12:00:00", 0, 86400, "2026-12-05T00:00:00Z", NULL},
    {"Apr 30 24:00:00", 0, 86400, "2026-12-05T00:00:00Z", NULL},
    {"Apr 30 23:60:00", 0, 86400, "2026-12-05T00:00:00Z", NULL},
    /* near the end of int64 nanoseconds: the day fits, the time may not */
    {"Apr 11 23:47:16", 0, 86400, "2262-04-10T00:00:00Z", "2261-04-11T23:47:16Z"},
    {"Apr 10 23:47:16", 0, 86400, "2262-04-10T00:00:00Z", "2262-04-10T23:47:16Z"},
};

static void check(const time_case_t *c, const char *when) {
  parry_syslog_time_rule_t rule = {c->offset_s, c->max_future_s * PARRY_NS_PER_SEC};
  int64_t ns = 0;
  size_t used = 0;
  parry_err_t err =
      parry_time_parse_syslog(c->text, strlen(c->text), &rule, rfc(c->reference), &ns, &used);
  if (!c->expect) {
    if (err == PARRY_OK) fail_msg("%s: %s accepted (%s)", when, c->text, c->reference);
    return;
  }
  if (err != PARRY_OK) fail_msg("%s: %s rejected (%s)", when, c->text, c->reference);
  char got[PARRY_TIME_MAX_LEN];
  parry_time_format_rfc3339(ns, got);
  if (strcmp(got, c->expect) != 0)
    fail_msg("%s: %s with reference %s, offset %d, future %llds: %s, expected %s", when, c->text,
             c->reference, c->offset_s, (long long)c->max_future_s, got, c->expect);
  assert_int_equal(used, strlen(c->text));
}

static void test_cases_in_any_order(void **state) {
  (void)state;
  size_t n = sizeof cases / sizeof cases[0];
  for (size_t i = 0; i < n; i++) check(&cases[i], "in order");
  for (size_t i = n; i-- > 0;) check(&cases[i], "reversed");
  for (size_t i = 0; i < n; i++) {
    check(&cases[i], "first");
    check(&cases[i], "warm");
    check(&cases[(i * 7 + 3) % n], "shuffled");
    check(&cases[i], "after another");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cases_in_any_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
