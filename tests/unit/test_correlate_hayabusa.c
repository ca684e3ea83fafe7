/* The three Hayabusa correlation rules (production rules written by another
 * project), read from the shared data, with hand-made Security events. */
#include "test_correlate.h"

#define WS "\"logsource\":{\"product\":\"windows\",\"service\":\"security\"},\"Channel\":\"Security\""

static bool load_file(th_t *h, const char *rel) {
  char *text = th_data_file(rel);
  if (!text) return false;
  th_load(h, text);
  free(text);
  if (h->rep.rejected) {
    parry_sigma_report_print(&h->rep, stdout, true);
    fail_msg("%s: rejected", rel);
  }
  assert_int_equal(parry_corr_set_count(h->set), 1);
  return true;
}

static size_t logon_fail(th_t *h, int64_t sec, const char *substatus, const char *user,
                         const char *ip, const char *extra) {
  char f[1024];
  snprintf(f, sizeof f,
           WS ",\"EventID\":4625,\"SubStatus\":\"%s\",\"TargetUserName\":\"%s\","
              "\"TargetDomainName\":\"CORP\",\"IpAddress\":\"%s\",\"LogonType\":3,"
              "\"ProcessName\":\"-\",\"LogonProcessName\":\"NtLmSsp\",\"WorkstationName\":\"WS1\"%s",
           substatus, user, ip, extra);
  return th_event(h, sec, NULL, f);
}

/* PW Guessing: event_count gte 5 in 5 min, grouped by six fields. */
static void test_hayabusa_pw_guessing(void **state) {
  (void)state;
  th_t h;
  if (!load_file(&h, "hayabusa-rules/Sec_4625_Med_LogonFail_WrongPW_PW-Guessing_Correlation.yml"))
    skip();
  /* 5 wrong passwords for Administrator within exactly 5 min: fires */
  for (int i = 0; i < 4; i++) assert_int_equal(logon_fail(&h, i, "0xc000006a", "Administrator", "192.168.198.149", ""), 1);
  logon_fail(&h, 300, "0xC000006A", "Administrator", "192.168.198.149", "");
  /* 4 + 1 after 5 min + 1 s: no */
  for (int i = 0; i < 4; i++) logon_fail(&h, i, "0xc000006a", "bob", "10.0.0.5", "");
  logon_fail(&h, 304, "0xc000006a", "bob", "10.0.0.5", "");
  /* the rule's filters: no IpAddress ("-") and machine accounts ($) */
  assert_int_equal(logon_fail(&h, 10, "0xc000006a", "eve", "-", ""), 0);
  assert_int_equal(logon_fail(&h, 10, "0xc000006a", "HOST$", "10.0.0.6", ""), 0);
  /* wrong user name (another SubStatus): another rule */
  assert_int_equal(logon_fail(&h, 10, "0xc0000064", "bob", "10.0.0.5", ""), 0);
  /* the same user from another address: another key */
  for (int i = 0; i < 3; i++) logon_fail(&h, i, "0xc000006a", "Administrator", "192.168.198.150", "");
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"23179f25-6fce-4827-bae1-b219deaf563e count=5 sup=0 win=0..300 events=5 "
                        "TargetUserName=Administrator TargetDomainName=CORP IpAddress=192.168.198.149 "
                        "LogonType=3 ProcessName=- LogonProcessName=NtLmSsp"};
  th_expect(&out, 1, want);
  assert_string_equal(out.alerts[0]->rule_level, "medium");
  assert_string_equal(out.alerts[0]->rule_title, "PW Guessing");
  assert_int_equal(out.alerts[0]->n_rule_tags, 2);
  tout_free(&out);
  th_free(&h);
}

/* User Guessing: value_count of TargetUserName gt 3 in 5 min. */
static void test_hayabusa_user_guessing(void **state) {
  (void)state;
  th_t h;
  if (!load_file(&h, "hayabusa-rules/Sec_4625_Med_LogonFail_UserGuessing_Correlation.yml")) skip();
  static const char *const users[] = {"admin", "root", "test", "guest"};
  /* three names, many times: not more than 3 */
  for (int i = 0; i < 12; i++)
    assert_int_equal(logon_fail(&h, i, "0xc0000064", users[i % 3], "10.1.1.1", ""), 1);
  /* a fourth within the window: gt 3 holds */
  logon_fail(&h, 20, "0xc0000064", users[3], "10.1.1.1", "");
  /* another source: four names but the first slid out */
  for (int i = 0; i < 3; i++) logon_fail(&h, i * 100, "0xc0000064", users[i], "10.2.2.2", "");
  logon_fail(&h, 301, "0xc0000064", users[3], "10.2.2.2", "");
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"0ae09af3-f30f-47c2-a31c-83e0b918eeee count=4 sup=0 win=9..20 events=10 "
                        "IpAddress=10.1.1.1"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
}

/* PW Spray: value_count of TargetUserName gte 5 for 4648, by IpAddress and
 * Computer. */
static void test_hayabusa_pw_spray(void **state) {
  (void)state;
  th_t h;
  if (!load_file(&h, "hayabusa-rules/Sec_4648_Med_ExplicitLogon_PW-Spray_Correlation.yml")) skip();
  char f[512];
  for (int i = 0; i < 5; i++) {
    snprintf(f, sizeof f, WS ",\"EventID\":4648,\"TargetUserName\":\"user%d\",\"IpAddress\":\"10.9.9.9\","
             "\"Computer\":\"DC01\"", i);
    assert_int_equal(th_event(&h, i * 60, NULL, f), 1);
  }
  /* the same five names on another computer, one of them twice: only 4 */
  for (int i = 0; i < 5; i++) {
    snprintf(f, sizeof f, WS ",\"EventID\":4648,\"TargetUserName\":\"user%d\",\"IpAddress\":\"10.9.9.9\","
             "\"Computer\":\"DC02\"", i == 4 ? 3 : i);
    th_event(&h, i, NULL, f);
  }
  /* no Computer: the group-by field is missing, no signal */
  snprintf(f, sizeof f, WS ",\"EventID\":4648,\"TargetUserName\":\"x\",\"IpAddress\":\"10.9.9.9\"");
  assert_int_equal(th_event(&h, 0, NULL, f), 0);
  assert_int_equal(h.sst.missing_group_by, 1);
  tout_t out = {0};
  th_run(&h, NULL, &out);
  const char *want[] = {"49d15187-4203-4e11-8acd-8736f25b6608 count=5 sup=0 win=0..240 events=5 "
                        "IpAddress=10.9.9.9 Computer=DC01"};
  th_expect(&out, 1, want);
  tout_free(&out);
  th_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hayabusa_pw_guessing),
      cmocka_unit_test(test_hayabusa_user_guessing),
      cmocka_unit_test(test_hayabusa_pw_spray),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
