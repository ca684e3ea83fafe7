/* Capped buffers and JSON string escaping. */
#include <stdlib.h>
#include <string.h>

#include "parry/buf.h"
#include "test_support.h"

static void test_cap_is_enforced(void **state) {
  parry_buf_t b = PARRY_BUF_INIT(8);
  assert_int_equal(parry_buf_append_str(&b, "12345678"), PARRY_OK);
  assert_int_equal(parry_buf_append_char(&b, '9'), PARRY_ERR_TOO_LARGE);
  assert_int_equal(parry_buf_printf(&b, "%d", 1), PARRY_ERR_TOO_LARGE);
  /* a refused append leaves the contents intact */
  assert_int_equal(b.len, 8);
  assert_string_equal(b.data, "12345678");
  parry_buf_reset(&b);
  assert_int_equal(parry_buf_printf(&b, "%s-%d", "ab", 42), PARRY_OK);
  assert_string_equal(b.data, "ab-42");
  char *owned = parry_buf_steal(&b);
  assert_string_equal(owned, "ab-42");
  assert_null(b.data);
  free(owned);
  parry_buf_free(&b);
}

static void test_growth(void **state) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  for (int i = 0; i < 10000; i++) assert_int_equal(parry_buf_append(&b, "xy", 2), PARRY_OK);
  assert_int_equal(b.len, 20000);
  assert_int_equal(b.data[b.len], '\0');
  parry_buf_free(&b);
}

static void assert_escaped(const char *in, size_t len, const char *expected) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  assert_int_equal(parry_buf_append_json_string(&b, in, len), PARRY_OK);
  assert_string_equal(b.data ? b.data : "", expected);
  parry_buf_free(&b);
}

static void test_json_escaping(void **state) {
  assert_escaped("plain", 5, "plain");
  assert_escaped("a\"b\\c", 5, "a\\\"b\\\\c");
  assert_escaped("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
  assert_escaped("\x01\x1f", 2, "\\u0001\\u001f");
  assert_escaped("nul\0byte", 8, "nul\\u0000byte");
  assert_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92");
  /* invalid UTF-8 becomes U+FFFD: a lone continuation byte, a truncated
   * sequence, an overlong '/', an encoded surrogate */
  assert_escaped("a\x80z", 3, "a\xef\xbf\xbdz");
  assert_escaped("a\xe2\x82", 3, "a\xef\xbf\xbd\xef\xbf\xbd");
  assert_escaped("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");
  assert_escaped("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  assert_escaped("", 0, "");
}

/* The word-at-a-time fast path must notice a special byte at every position
 * of a word and in the tail, and strict mode must refuse invalid UTF-8
 * without appending anything. */
static void test_json_escaping_every_position(void **state) {
  static const char specials[] = {'"', '\\', '\n', '\x01', '\x7f', '\x80'};
  for (size_t len = 1; len <= 24; len++) {
    for (size_t pos = 0; pos < len; pos++) {
      for (size_t k = 0; k < sizeof specials; k++) {
        char in[32];
        memset(in, 'a', len);
        in[pos] = specials[k];
        parry_buf_t lenient = PARRY_BUF_INIT(0), strict = PARRY_BUF_INIT(0);
        assert_int_equal(parry_buf_append_json_string(&lenient, in, len), PARRY_OK);
        parry_err_t err = parry_buf_append_json_string_strict(&strict, in, len);
        const char *expect = specials[k] == '"' ? "\\\"" : specials[k] == '\\' ? "\\\\"
                           : specials[k] == '\n' ? "\\n" : specials[k] == 1 ? "\\u0001"
                           : specials[k] == 0x7f ? "\x7f" : "\xef\xbf\xbd";
        size_t elen = strlen(expect);
        assert_int_equal(lenient.len, len - 1 + elen);
        assert_memory_equal(lenient.data + pos, expect, elen);
        if ((unsigned char)specials[k] == 0x80) {
          assert_int_equal(err, PARRY_ERR_INVALID);
          assert_int_equal(strict.len, 0);
        } else {
          assert_int_equal(err, PARRY_OK);
          assert_string_equal(strict.data, lenient.data);
        }
        parry_buf_free(&lenient);
        parry_buf_free(&strict);
      }
    }
  }
}

static void test_json_escaping_near_cap(void **state) {
  /* 10 plain bytes fit a cap of 12 even though the worst case (60) does not */
  parry_buf_t b = PARRY_BUF_INIT(12);
  assert_int_equal(parry_buf_append_json_string(&b, "0123456789", 10), PARRY_OK);
  assert_int_equal(b.len, 10);
  assert_int_equal(parry_buf_append_json_string(&b, "\"\"", 2), PARRY_ERR_TOO_LARGE);
  assert_int_equal(b.len, 10);
  assert_string_equal(b.data, "0123456789");
  parry_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cap_is_enforced),
      cmocka_unit_test(test_growth),
      cmocka_unit_test(test_json_escaping),
      cmocka_unit_test(test_json_escaping_every_position),
      cmocka_unit_test(test_json_escaping_near_cap),
  };
  return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
