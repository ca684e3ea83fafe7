/* Syslog source allowlists (ingestor/sources/allow.h): CIDR parsing,
 * matching IPv4, IPv6 and IPv4-mapped peers, and errors naming the setting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sources/allow.h"

static bool allows(const parry_allowlist_t *list, const char *ip) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    v6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
  } else {
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    v4->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &v4->sin_addr), 1);
  }
  return parry_allowlist_allows(list, (struct sockaddr *)&ss);
}

static parry_allowlist_t *parse(const char *spec) {
  parry_allowlist_t *list = NULL;
  char err[256] = "";
  assert_int_equal(parry_allowlist_parse(spec, "ingestor.syslog.allow", &list, err, sizeof err),
                   PARRY_OK);
  return list;
}

static void test_default_is_loopback(void **state) {
  (void)state;
  parry_allowlist_t *list = parse("127.0.0.0/8,::1/128");
  assert_int_equal(parry_allowlist_size(list), 2);
  assert_true(allows(list, "127.0.0.1"));
  assert_true(allows(list, "127.0.0.2"));
  assert_true(allows(list, "127.255.255.255"));
  assert_true(allows(list, "::1"));
  assert_true(allows(list, "::ffff:127.0.0.1")); /* a dual-stack socket's view of IPv4 */
  assert_false(allows(list, "128.0.0.1"));
  assert_false(allows(list, "10.0.0.1"));
  assert_false(allows(list, "::2"));
  assert_false(allows(list, "::ffff:10.0.0.1"));
  parry_allowlist_destroy(list);
}

static void test_blocks_and_single_addresses(void **state) {
  (void)state;
  parry_allowlist_t *list = parse(" 10.1.0.0/16 , 192.0.2.7,2001:db8::/33,, 172.16.0.0/12 ");
  assert_int_equal(parry_allowlist_size(list), 4);
  assert_true(allows(list, "10.1.255.3"));
  assert_false(allows(list, "10.2.0.1"));
  assert_true(allows(list, "192.0.2.7"));
  assert_false(allows(list, "192.0.2.8"));
  assert_true(allows(list, "2001:db8:7fff::1"));
  assert_false(allows(list, "2001:db8:8000::1"));
  assert_true(allows(list, "172.31.255.255"));
  assert_false(allows(list, "172.32.0.0"));
  parry_allowlist_destroy(list);

  list = parse("0.0.0.0/0");
  assert_true(allows(list, "203.0.113.9"));
  assert_false(allows(list, "2001:db8::1")); /* IPv4 blocks do not cover IPv6 */
  parry_allowlist_destroy(list);

  list = parse("::ffff:10.0.0.0/104"); /* a mapped block is its IPv4 block */
  assert_true(allows(list, "10.200.0.1"));
  assert_false(allows(list, "11.0.0.1"));
  parry_allowlist_destroy(list);

  list = parse("");
  assert_int_equal(parry_allowlist_size(list), 0);
  assert_false(allows(list, "127.0.0.1"));
  parry_allowlist_destroy(list);
  parry_allowlist_destroy(NULL);
}

static void test_errors_name_setting_and_entry(void **state) {
  (void)state;
  const char *bad[] = {"10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "host.example", "::1/129",
                       "10.0.0.0/8x", "1.2.3.4/-1", "/8"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    parry_allowlist_t *list = NULL;
    char err[256] = "";
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1,%s", bad[i]);
    assert_int_equal(parry_allowlist_parse(spec, "ingestor.syslog.allow", &list, err, sizeof err),
                     PARRY_ERR_INVALID);
    assert_null(list);
    assert_non_null(strstr(err, "ingestor.syslog.allow"));
    assert_non_null(strstr(err, bad[i]));
  }
}

static void test_peer_text(void **state) {
  (void)state;
  struct sockaddr_in6 v6;
  memset(&v6, 0, sizeof v6);
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.0.2.1", &v6.sin6_addr);
  char out[64];
  parry_sockaddr_ip((struct sockaddr *)&v6, out, sizeof out);
  assert_string_equal(out, "192.0.2.1");
  inet_pton(AF_INET6, "2001:db8::5", &v6.sin6_addr);
  parry_sockaddr_ip((struct sockaddr *)&v6, out, sizeof out);
  assert_string_equal(out, "2001:db8::5");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_is_loopback),
      cmocka_unit_test(test_blocks_and_single_addresses),
      cmocka_unit_test(test_errors_name_setting_and_entry),
      cmocka_unit_test(test_peer_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
