/* The event builder's field paths: the one-load segment scan (a path whose
 * segments end at the last byte of a page followed by an unmapped page
 * must not fault, and must build the same maps as the strchr scan), and
 * the keys kept as literals (known_key): the same text as a copy, and a
 * later put of the same key replaces, whichever spelling built it; and
 * the IPv4 check of source.ip against inet_pton on many near-addresses. */
#include "test_support.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parry/arena.h"
#include "parry/codec.h"
#include "parse/event_builder.h"

static const Parry__V1__Value *lookup(const Parry__V1__Event *ev, const char *path) {
  parry_field_t f;
  if (parry_event_get(ev, path, &f) == PARRY_FIELD_ABSENT) return NULL;
  return f.value;
}

/* Paths of every length up to 40 whose terminating NUL is the last byte of
 * a readable page: each segment scan near the end loads up to the page's
 * end and no further. */
static void test_path_at_page_end(void **state) {
  (void)state;
  long page = sysconf(_SC_PAGESIZE);
  char *two = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  assert_true(two != MAP_FAILED);
  assert_int_equal(mprotect(two + page, (size_t)page, PROT_NONE), 0);
  for (size_t len = 1; len <= 40; len++) {
    char *path = two + page - 1 - len; /* the NUL is the page's last byte */
    /* "a.bb.c..." : dots every few bytes, never first or last */
    for (size_t i = 0; i < len; i++) path[i] = (char)('a' + i % 26);
    for (size_t i = 2; i + 1 < len; i += 3) path[i] = '.';
    path[len] = '\0';
    parry_arena_t arena = PARRY_ARENA_INIT;
    parry_evb_t b;
    parry_evb_init(&b, &arena);
    parry_evb_field_str(&b, path, "v", 1);
    parry_evb_field_int(&b, path, 7); /* the same path again: replaces */
    const Parry__V1__Value *v = lookup(b.ev, path);
    assert_non_null(v);
    assert_int_equal(v->kind_case, PARRY__V1__VALUE__KIND_INT_VALUE);
    assert_int_equal(v->int_value, 7);
    /* one entry per level: the second put found the maps of the first */
    const Parry__V1__ValueMap *m = b.ev->fields;
    assert_int_equal(m->n_entries, 1);
    parry_arena_free(&arena);
  }
  munmap(two, (size_t)page * 2);
}

/* Keys the builder keeps as literals next to ones it copies: same JSON as
 * the keys' text says, and a put through a copied spelling (from a buffer)
 * replaces the entry a literal spelling made. */
static void test_known_keys(void **state) {
  (void)state;
  parry_arena_t arena = PARRY_ARENA_INIT;
  parry_evb_t b;
  parry_evb_init(&b, &arena);
  parry_evb_field_str(&b, "ssh.invalid_user", "x", 1);
  parry_evb_field_str(&b, "ssh.disconnect.code", "1", 1);
  parry_evb_field_str(&b, "ssh.somethingelse", "y", 1);
  char buf[] = "ssh.disconnect.code";
  parry_evb_field_int(&b, buf, 11); /* replaces the string */
  memcpy(buf, "ssh.disconnect.codf", sizeof buf); /* the buffer changes: keys were not taken from it */
  assert_true(parry_evb_set_source_address(&b, "10.1.2.3", (size_t)-1));
  parry_evb_field_str(&b, "source.domain", "example.org", 11);
  parry_buf_t out = PARRY_BUF_INIT(0);
  char err[256];
  assert_int_equal(parry_event_to_json(b.ev, &out, err, sizeof err), PARRY_OK);
  assert_non_null(strstr(out.data, "\"source\":{\"ip\":\"10.1.2.3\",\"address\":\"10.1.2.3\","
                                   "\"domain\":\"example.org\"}"));
  assert_non_null(strstr(out.data, "\"ssh\":{\"invalid_user\":\"x\",\"disconnect\":{\"code\":11},"
                                   "\"somethingelse\":\"y\"}"));
  parry_buf_free(&out);
  parry_arena_free(&arena);
}

/* parry_evb_set_source_address says "an IP" exactly when glibc's
 * inet_pton does (for text without ':' only IPv4 can be), and keeps the
 * text as source.ip: every edge by hand, then 200,000 random strings of
 * digits and dots (and a few other bytes) of lengths 0..17. */
static void check_ip(const char *text, size_t len) {
  char c[32];
  memcpy(c, text, len);
  c[len] = '\0';
  unsigned char bin[16];
  bool want = memchr(text, '\0', len) == NULL && inet_pton(AF_INET, c, bin) == 1;
  parry_arena_t arena = PARRY_ARENA_INIT;
  parry_evb_t b;
  parry_evb_init(&b, &arena);
  bool got = parry_evb_set_source_address(&b, text, len);
  if (got != want)
    fail_msg("\"%.*s\" (%zu bytes): builder says %d, inet_pton %d", (int)len, text, len, got,
             want);
  if (got) assert_string_equal(b.ev->source_ip, c);
  parry_arena_free(&arena);
}

static void test_ipv4_like_inet_pton(void **state) {
  (void)state;
  static const char *const edges[] = {
      "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.256", "01.2.3.4",
      "1.02.3.4", "1.2.3.04", "1.2.3.0", "10.20.30.40", "199.199.199.199", "249.250.251.252",
      "260.1.1.1", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "1234.1.1.1",
      "1.2.3.a", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "100.100.100.100", "255.255.255.256",
      "299.1.1.1", "2.55.255.25", "9.9.9.9", "1.1.1.1x", "0.1.2.3", "00.1.2.3",
  };
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) check_ip(edges[i], strlen(edges[i]));
  check_ip("1.2.3.4\0", 8); /* a NUL inside is never an address */
  check_ip("1.2\0.3.4", 8);
  srandom(7);
  static const char alphabet[] = "0123456789.0123456789....12525x: ";
  for (int round = 0; round < 200000; round++) {
    char t[20];
    size_t len = (size_t)(random() % 18);
    for (size_t i = 0; i < len; i++) t[i] = alphabet[random() % (sizeof alphabet - 1)];
    if (memchr(t, ':', len)) continue; /* IPv6 has its own path */
    check_ip(t, len);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_at_page_end),
      cmocka_unit_test(test_known_keys),
      cmocka_unit_test(test_ipv4_like_inet_pton),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
