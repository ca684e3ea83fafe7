/* Time parsing: RFC 3339 and year-less syslog timestamps. */
#include <string.h>

#include "parry/timefmt.h"
#include "test_support.h"

static int64_t rfc(const char *s) {
  int64_t ns = 0;
  if (parry_time_parse_rfc3339(s, strlen(s), &ns) != PARRY_OK) fail_msg("rejected %s", s);
  return ns;
}

static void assert_rfc_rejected(const char *s) {
  int64_t ns;
  if (parry_time_parse_rfc3339(s, strlen(s), &ns) == PARRY_OK) fail_msg("accepted %s", s);
}

static void test_rfc3339_parse(void **state) {
  assert_int_equal(rfc("1970-01-01T00:00:00Z"), 0);
  assert_int_equal(rfc("2026-12-04T20:39:41Z"), 1796416781LL * PARRY_NS_PER_SEC);
  assert_int_equal(rfc("2026-12-04t20:39:41z"), rfc("2026-12-04T20:39:41Z"));
  assert_int_equal(rfc("2026-12-04 20:39:41Z"), rfc("2026-12-04T20:39:41Z"));
  assert_int_equal(rfc("2026-12-04T22:39:41+02:00"), rfc("2026-12-04T20:39:41Z"));
  assert_int_equal(rfc("2026-12-04T15:09:41-05:30"), rfc("2026-12-04T20:39:41Z"));
  assert_int_equal(rfc("1970-01-01T00:00:00.5Z"), 500000000);
  assert_int_equal(rfc("1970-01-01T00:00:00.123456789Z"), 123456789);
  /* digits past nanoseconds are truncated, not rounded */
  assert_int_equal(rfc("1970-01-01T00:00:00.1234567899Z"), 123456789);
  assert_int_equal(rfc("1969-12-31T23:59:59Z"), -PARRY_NS_PER_SEC);
  assert_int_equal(rfc("2024-02-29T00:00:00Z"), rfc("2024-02-28T00:00:00Z") + 86400 * PARRY_NS_PER_SEC);
  assert_int_equal(rfc("2000-02-29T12:00:00Z") % PARRY_NS_PER_SEC, 0);
}

static void test_rfc3339_rejects(void **state) {
  assert_rfc_rejected("");
  assert_rfc_rejected("2026-12-04");
  assert_rfc_rejected("2026-12-04T20:39:41");       /* no zone */
  assert_rfc_rejected("2026-13-04T20:39:41Z");
  assert_rfc_rejected("2023-02-29T00:00:00Z");      /* not a leap year */
  assert_rfc_rejected("1900-02-29T00:00:00Z");
  assert_rfc_rejected("2026-04-31T00:00:00Z");
  assert_rfc_rejected("2026-12-04T24:00:00Z");
  assert_rfc_rejected("2026-12-04T20:60:00Z");
  assert_rfc_rejected("2026-12-04T20:39:41.Z");     /* empty fraction */
  assert_rfc_rejected("2026-12-04T20:39:41+0200");
  assert_rfc_rejected("2026-12-04T20:39:41Z ");     /* trailing bytes */
  assert_rfc_rejected("2026-12-04T20:39:41+24:00");
  assert_rfc_rejected("２０２６-12-04T20:39:41Z");
  /* outside int64 nanoseconds: rejected, not overflowed (UBSan would abort) */
  assert_rfc_rejected("9999-12-31T23:59:59Z");
  assert_rfc_rejected("0001-01-01T00:00:00Z");
  assert_rfc_rejected("2262-04-12T00:00:00Z");
}

static void assert_format(int64_t ns, const char *expected) {
  char out[PARRY_TIME_MAX_LEN];
  size_t n = parry_time_format_rfc3339(ns, out);
  assert_string_equal(out, expected);
  assert_int_equal(n, strlen(expected));
  /* and it parses back to the same instant */
  assert_int_equal(rfc(out), ns);
}

static void test_rfc3339_format_shortest_exact_fraction(void **state) {
  assert_format(0, "1970-01-01T00:00:00Z");
  assert_format(500000000, "1970-01-01T00:00:00.500Z");
  assert_format(123456000, "1970-01-01T00:00:00.123456Z");
  assert_format(123456789, "1970-01-01T00:00:00.123456789Z");
  assert_format(-1, "1969-12-31T23:59:59.999999999Z");
  assert_format(-PARRY_NS_PER_SEC, "1969-12-31T23:59:59Z");
  assert_format(rfc("2024-02-29T23:59:59.001Z"), "2024-02-29T23:59:59.001Z");
  assert_format(rfc("2262-04-11T23:47:16Z"), "2262-04-11T23:47:16Z");
}

static const parry_syslog_time_rule_t utc_one_day = {0, 86400 * PARRY_NS_PER_SEC};

static int64_t syslog_at(const char *s, const parry_syslog_time_rule_t *rule, const char *reference,
                         size_t *consumed) {
  int64_t ns = 0;
  size_t used = 0;
  if (parry_time_parse_syslog(s, strlen(s), rule, rfc(reference), &ns, &used) != PARRY_OK)
    fail_msg("rejected syslog time %s", s);
  if (consumed) *consumed = used;
  return ns;
}

static void test_syslog_same_year(void **state) {
  size_t used;
  assert_int_equal(syslog_at("Dec  4 20:39:41 host sshd[1]: x", &utc_one_day, "2026-12-04T21:00:00Z", &used),
                   rfc("2026-12-04T20:39:41Z"));
  assert_int_equal(used, 15);
  assert_int_equal(syslog_at("Jun 09 06:06:20", &utc_one_day, "2026-12-04T21:00:00Z", NULL),
                   rfc("2026-06-09T06:06:20Z"));
  /* an unpadded day, as some senders write it */
  assert_int_equal(syslog_at("Feb 7 16:01:07 host x", &utc_one_day, "2026-12-04T21:00:00Z", &used),
                   rfc("2026-02-07T16:01:07Z"));
  assert_int_equal(used, 14);
}

static void test_syslog_year_rule_rolls_back(void **state) {
  /* a December line read on January 1st is from last year */
  assert_int_equal(syslog_at("Dec 31 23:59:59", &utc_one_day, "2027-01-01T00:00:05Z", NULL),
                   rfc("2026-12-31T23:59:59Z"));
  /* within the allowed future: same year (a clock slightly ahead) */
  assert_int_equal(syslog_at("Jan  1 00:10:00", &utc_one_day, "2027-01-01T00:00:05Z", NULL),
                   rfc("2027-01-01T00:10:00Z"));
  /* just past the allowed future: previous year */
  assert_int_equal(syslog_at("Jan  2 00:00:06", &utc_one_day, "2027-01-01T00:00:05Z", NULL),
                   rfc("2026-01-02T00:00:06Z"));
  /* a January line read just before the new year, within the allowed
   * future: next year's */
  assert_int_equal(syslog_at("Jan  1 00:00:01", &utc_one_day, "2026-12-31T23:59:59Z", NULL),
                   rfc("2027-01-01T00:00:01Z"));
  /* Feb 29 picks the latest leap year not in the future */
  assert_int_equal(syslog_at("Feb 29 12:00:00", &utc_one_day, "2026-03-01T00:00:00Z", NULL),
                   rfc("2024-02-29T12:00:00Z"));
}

static void test_syslog_zone_fraction_and_year(void **state) {
  parry_syslog_time_rule_t plus_two = {2 * 3600, 86400 * PARRY_NS_PER_SEC};
  assert_int_equal(syslog_at("Dec  4 22:39:41", &plus_two, "2026-12-05T00:00:00Z", NULL),
                   rfc("2026-12-04T20:39:41Z"));
  size_t used;
  assert_int_equal(syslog_at("Dec  4 20:39:41.250 host", &utc_one_day, "2026-12-05T00:00:00Z", &used),
                   rfc("2026-12-04T20:39:41.250Z"));
  assert_int_equal(used, 19);
  assert_int_equal(syslog_at("Mar 07 2019 10:00:00 fw", &utc_one_day, "2026-12-05T00:00:00Z", &used),
                   rfc("2019-03-07T10:00:00Z"));
  assert_int_equal(used, 20);
  int64_t ns;
  assert_int_not_equal(parry_time_parse_syslog("Mar 07 9999 10:00:00", 20, &utc_one_day, 0, &ns, &used),
                       PARRY_OK);
}

static void test_syslog_rejects(void **state) {
  static const char *const bad[] = {"", "Dec", "Foo  4 20:39:41", "Dec 32 20:39:41", "Dec  4 25:00:00",
                                    "Dec  4 20:39", "dec  4 20:39:41", "Apr 31 10:00:00",
                                    "Feb 30 2024 00:00:00"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t ns;
    size_t used;
    if (parry_time_parse_syslog(bad[i], strlen(bad[i]), &utc_one_day, 0, &ns, &used) == PARRY_OK)
      fail_msg("accepted syslog time \"%s\"", bad[i]);
  }
}

static void test_utc_offset(void **state) {
  int32_t s;
  assert_int_equal(parry_time_parse_utc_offset("+05:30", &s), PARRY_OK);
  assert_int_equal(s, 19800);
  assert_int_equal(parry_time_parse_utc_offset("-08:00", &s), PARRY_OK);
  assert_int_equal(s, -28800);
  assert_int_equal(parry_time_parse_utc_offset("Z", &s), PARRY_OK);
  assert_int_equal(s, 0);
  assert_int_not_equal(parry_time_parse_utc_offset("+5:30", &s), PARRY_OK);
  assert_int_not_equal(parry_time_parse_utc_offset("05:30", &s), PARRY_OK);
  assert_int_not_equal(parry_time_parse_utc_offset("+05:60", &s), PARRY_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc3339_parse),
      cmocka_unit_test(test_rfc3339_rejects),
      cmocka_unit_test(test_rfc3339_format_shortest_exact_fraction),
      cmocka_unit_test(test_syslog_same_year),
      cmocka_unit_test(test_syslog_year_rule_rolls_back),
      cmocka_unit_test(test_syslog_zone_fraction_and_year),
      cmocka_unit_test(test_syslog_rejects),
      cmocka_unit_test(test_utc_offset),
  };
  return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
