/* parry_event_to_json's fast writer against the general one (codec_w_event):
 * the same bytes for every event, and for every event the general writer
 * refuses, the same refusal with the same message and the buffer as it was.
 * Strings are placed at every alignment and length the fast writer's scans
 * distinguish, and against an unmapped page, since the scan reads aligned
 * blocks up to the one holding the terminating NUL. */
#include "test_support.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codec_internal.h"
#include "parry/codec.h"

/* Both writers on ev, appended after `prefix` in fresh buffers of cap
 * `cap`; their results must match. Returns the fast writer's error. */
static parry_err_t compare_cap(const Parry__V1__Event *ev, const char *prefix, size_t cap) {
  parry_buf_t fast = PARRY_BUF_INIT(cap), general = PARRY_BUF_INIT(cap);
  char fast_err[512] = "", general_err[512] = "";
  if (prefix) {
    assert_int_equal(parry_buf_append_str(&fast, prefix), PARRY_OK);
    assert_int_equal(parry_buf_append_str(&general, prefix), PARRY_OK);
  }
  parry_err_t ef = parry_event_to_json(ev, &fast, fast_err, sizeof fast_err);
  codec_writer_t w;
  codec_writer_init(&w, &general, general_err, sizeof general_err);
  codec_w_event(&w, ev, NULL, 0, false);
  parry_err_t eg = codec_writer_finish(&w);
  if (ef != eg || fast.len != general.len ||
      (fast.len && memcmp(fast.data, general.data, fast.len) != 0) ||
      strcmp(fast_err, general_err) != 0)
    fail_msg("writers differ (err %d vs %d)\n  fast:    %s %s\n  general: %s %s", ef, eg,
             fast.data ? fast.data : "", fast_err, general.data ? general.data : "", general_err);
  if (fast.data) assert_int_equal(fast.data[fast.len], '\0');
  if (ef) assert_int_equal(fast.len, prefix ? strlen(prefix) : 0);
  parry_buf_free(&fast);
  parry_buf_free(&general);
  return ef;
}

static parry_err_t compare(const Parry__V1__Event *ev) { return compare_cap(ev, NULL, 0); }

static Parry__V1__Event base_event(void) {
  Parry__V1__Event ev = PARRY__V1__EVENT__INIT;
  static char *category[] = {"authentication"}, *type[] = {"start", "info"};
  ev.schema_version = 1;
  ev.timestamp_ns = 1764880000123000000LL;
  ev.has_timestamp = 1;
  ev.id = "52028ccc9862b5bd6921b8ce5f3b04a7";
  ev.event_kind = "event";
  ev.event_category = category;
  ev.n_event_category = 1;
  ev.event_type = type;
  ev.n_event_type = 2;
  ev.event_action = "ssh-login";
  ev.event_outcome = "success";
  ev.source_ip = "10.0.0.1";
  ev.source_port = 22;
  ev.user_name = "root";
  ev.host_name = "web-1";
  ev.process_name = "sshd";
  ev.process_pid = 4242;
  ev.has_process_pid = 1;
  ev.message = "Accepted password for root from 10.0.0.1 port 22 ssh2";
  return ev;
}

/* ---- values for `fields` ---- */

static Parry__V1__Value v_str(const char *s) {
  Parry__V1__Value v = PARRY__V1__VALUE__INIT;
  v.kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
  v.string_value = (char *)s;
  return v;
}

static Parry__V1__Value v_int(int64_t i) {
  Parry__V1__Value v = PARRY__V1__VALUE__INIT;
  v.kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
  v.int_value = i;
  return v;
}

static Parry__V1__Value v_map(Parry__V1__ValueMap *m) {
  Parry__V1__Value v = PARRY__V1__VALUE__INIT;
  v.kind_case = PARRY__V1__VALUE__KIND_MAP_VALUE;
  v.map_value = m;
  return v;
}

/* A map of n entries with keys keys[i] and values vals[i] (storage given). */
static void make_map(Parry__V1__ValueMap *m, Parry__V1__Entry *es, Parry__V1__Entry **ptrs,
                     const char *const *keys, Parry__V1__Value *vals, size_t n) {
  Parry__V1__ValueMap init = PARRY__V1__VALUE_MAP__INIT;
  *m = init;
  for (size_t i = 0; i < n; i++) {
    Parry__V1__Entry e = PARRY__V1__ENTRY__INIT;
    e.key = (char *)keys[i];
    e.value = &vals[i];
    es[i] = e;
    ptrs[i] = &es[i];
  }
  m->entries = ptrs;
  m->n_entries = n;
}

/* ---- tests ---- */

static void test_typical_events(void **state) {
  (void)state;
  Parry__V1__Event ev = base_event();
  assert_int_equal(compare(&ev), PARRY_OK);
  assert_int_equal(compare_cap(&ev, "{\"earlier\":1}\n", 0), PARRY_OK);
  /* sshd's shape: source leftovers merged after the typed members */
  Parry__V1__Value addr = v_str("10.0.0.1"), dom = v_str("host.example");
  Parry__V1__ValueMap src;
  Parry__V1__Entry src_e[2], *src_p[2];
  const char *src_k[] = {"address", "domain"};
  Parry__V1__Value src_v[] = {addr, dom};
  make_map(&src, src_e, src_p, src_k, src_v, 2);
  Parry__V1__Value inv = PARRY__V1__VALUE__INIT;
  inv.kind_case = PARRY__V1__VALUE__KIND_BOOL_VALUE;
  inv.bool_value = 1;
  Parry__V1__ValueMap ssh;
  Parry__V1__Entry ssh_e[1], *ssh_p[1];
  const char *ssh_k[] = {"invalid_user"};
  make_map(&ssh, ssh_e, ssh_p, ssh_k, &inv, 1);
  Parry__V1__ValueMap top;
  Parry__V1__Entry top_e[2], *top_p[2];
  const char *top_k[] = {"source", "ssh"};
  Parry__V1__Value top_v[] = {v_map(&src), v_map(&ssh)};
  make_map(&top, top_e, top_p, top_k, top_v, 2);
  ev.fields = &top;
  Parry__V1__Logsource ls = PARRY__V1__LOGSOURCE__INIT;
  ls.product = "linux";
  ls.service = "sshd";
  ev.logsource = &ls;
  assert_int_equal(compare(&ev), PARRY_OK);
  /* every typed member unset but the leftovers: written as they are */
  Parry__V1__Event bare = PARRY__V1__EVENT__INIT;
  bare.fields = &top;
  assert_int_equal(compare(&bare), PARRY_OK);
  Parry__V1__Event empty = PARRY__V1__EVENT__INIT;
  assert_int_equal(compare(&empty), PARRY_OK);
  /* nanoseconds, microseconds, whole seconds, and a second change */
  for (int64_t t = 1764880000000000000LL; t < 1764880002000000000LL; t += 333333337) {
    ev.timestamp_ns = t;
    assert_int_equal(compare(&ev), PARRY_OK);
  }
}

/* Every string length 0..80 at every offset 0..15 from an aligned block,
 * with a plain byte, an escaped one or a multi-byte one at each place. */
static void test_string_alignments(void **state) {
  (void)state;
  static const char *fills[] = {"a", "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xff"};
  char *block = aligned_alloc(16, 256);
  for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++)
    for (size_t off = 0; off < 16; off++)
      for (size_t len = 0; len <= 80; len++) {
        memset(block, 0, 256);
        char *s = block + off;
        for (size_t i = 0; i < len; i++) s[i] = (char)('a' + i % 26);
        size_t fl = strlen(fills[f]);
        if (len >= fl) memcpy(s + (len - fl) / 2, fills[f], fl);
        s[len] = '\0';
        /* garbage after the NUL must not matter */
        memset(s + len + 1, '"', 256 - off - len - 1);
        Parry__V1__Event ev = base_event();
        ev.user_name = s;
        ev.message = s;
        Parry__V1__Value v = v_str(s);
        Parry__V1__ValueMap m;
        Parry__V1__Entry e[1], *p[1];
        const char *k[] = {s[0] ? s : "k"};
        make_map(&m, e, p, k, &v, 1);
        ev.fields = &m;
        compare(&ev);
      }
  free(block);
}

/* A string that ends at the last byte of a page followed by an unmapped
 * page: the scans must not read past the NUL's block. */
static void test_string_at_page_end(void **state) {
  (void)state;
  long page = sysconf(_SC_PAGESIZE);
  char *two = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  assert_true(two != MAP_FAILED);
  assert_int_equal(mprotect(two + page, (size_t)page, PROT_NONE), 0);
  for (size_t len = 0; len <= 70; len++) {
    char *s = two + page - 1 - len; /* the NUL is the page's last byte */
    memset(s, 'x', len);
    s[len] = '\0';
    Parry__V1__Event ev = base_event();
    ev.host_name = s;
    ev.message = len ? s : "m";
    Parry__V1__Value v = v_str(s);
    Parry__V1__ValueMap m;
    Parry__V1__Entry e[1], *p[1];
    const char *k[] = {len ? s : "k"};
    make_map(&m, e, p, k, &v, 1);
    ev.fields = &m;
    assert_int_equal(compare(&ev), PARRY_OK);
  }
  munmap(two, (size_t)page * 2);
}

/* Everything the general writer refuses, and the values the fast writer
 * leaves to it: the same bytes or the same error. */
static void test_refusals_and_rare_values(void **state) {
  (void)state;
  Parry__V1__Event ev = base_event();
  /* invalid UTF-8 in a typed string, in a key, in a value */
  ev.user_name = "bad\xc3";
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  ev = base_event();
  Parry__V1__Value s1 = v_str("x"), bad = v_str("\xe0\x80\x80");
  Parry__V1__ValueMap m;
  Parry__V1__Entry e[12], *p[12];
  const char *badkey[] = {"k\xff"};
  make_map(&m, e, p, badkey, &s1, 1);
  ev.fields = &m;
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  const char *k1[] = {"k"};
  make_map(&m, e, p, k1, &bad, 1);
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  /* duplicates: small map and hashed map */
  const char *dup2[] = {"a", "a"};
  Parry__V1__Value two[] = {v_str("1"), v_str("2")};
  make_map(&m, e, p, dup2, two, 2);
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  const char *many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "c"};
  Parry__V1__Value vals[12];
  for (int i = 0; i < 12; i++) vals[i] = v_int(i - 5);
  make_map(&m, e, p, many, vals, 12);
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  many[11] = "l"; /* now unique: written, through the hashed check */
  make_map(&m, e, p, many, vals, 12);
  assert_int_equal(compare(&ev), PARRY_OK);
  /* schema_version and typed keys in fields */
  const char *sv[] = {"schema_version"};
  make_map(&m, e, p, sv, vals, 1);
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  const char *msg[] = {"message"};
  make_map(&m, e, p, msg, &s1, 1);
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  ev.message = NULL; /* no typed message: the field is written */
  assert_int_equal(compare(&ev), PARRY_OK);
  ev = base_event();
  ev.fields = &m;
  Parry__V1__ValueMap inner;
  Parry__V1__Entry ie[1], *ip[1];
  const char *ipk[] = {"ip"};
  make_map(&inner, ie, ip, ipk, &s1, 1);
  Parry__V1__Value inner_v = v_map(&inner);
  const char *src[] = {"source"};
  make_map(&m, e, p, src, &inner_v, 1);
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID); /* source.ip twice */
  make_map(&m, e, p, src, &s1, 1);
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID); /* a string where source has members */
  ev.source_ip = NULL;
  ev.source_port = 0;
  assert_int_equal(compare(&ev), PARRY_OK); /* nothing typed: the string is written */
  /* rare values: doubles, number_text, null, lists, a value without kind */
  ev = base_event();
  Parry__V1__Value rare[6];
  memset(rare, 0, sizeof rare);
  for (int i = 0; i < 6; i++) {
    Parry__V1__Value init = PARRY__V1__VALUE__INIT;
    rare[i] = init;
  }
  rare[0].kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
  rare[0].double_value = 0.1;
  rare[1].kind_case = PARRY__V1__VALUE__KIND_NUMBER_TEXT;
  rare[1].number_text = "1.50";
  rare[2].kind_case = PARRY__V1__VALUE__KIND_NULL_VALUE;
  rare[2].null_value = 1;
  Parry__V1__Value items[2] = {v_int(-9223372036854775807LL - 1), v_str("q\"")};
  Parry__V1__Value *item_p[2] = {&items[0], &items[1]};
  Parry__V1__ValueList list = PARRY__V1__VALUE_LIST__INIT;
  list.items = item_p;
  list.n_items = 2;
  rare[3].kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
  rare[3].list_value = &list;
  rare[4].kind_case = PARRY__V1__VALUE__KIND_BOOL_VALUE;
  rare[5] = v_int(0);
  const char *rk[] = {"d", "n", "z", "l", "b", "i"};
  make_map(&m, e, p, rk, rare, 6);
  ev.fields = &m;
  assert_int_equal(compare(&ev), PARRY_OK);
  rare[1].number_text = "1.5.0";
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  rare[1].number_text = "2";
  rare[0].double_value = INFINITY;
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  rare[0].kind_case = PARRY__V1__VALUE__KIND__NOT_SET;
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  /* ports, severity, times */
  ev = base_event();
  ev.destination_port = 70000;
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
  ev = base_event();
  ev.event_severity = -3;
  ev.has_event_severity = 1;
  ev.timestamp_ns = -1;
  assert_int_equal(compare(&ev), PARRY_OK);
  ev.timestamp_ns = INT64_MAX;
  assert_int_equal(compare(&ev), PARRY_ERR_INVALID);
}

/* Nesting up to and past what the fast writer takes, and past the cap. */
static void test_deep_nesting(void **state) {
  (void)state;
  enum { DEPTH = 70 };
  Parry__V1__ValueMap maps[DEPTH];
  Parry__V1__Entry es[DEPTH], *ps[DEPTH];
  Parry__V1__Value vs[DEPTH + 1];
  for (int depth = 1; depth < DEPTH; depth++) {
    vs[depth] = v_str("leaf");
    for (int i = depth - 1; i >= 0; i--) {
      const char *k[] = {"n"};
      make_map(&maps[i], &es[i], &ps[i], k, &vs[i + 1], 1);
      vs[i] = v_map(&maps[i]);
    }
    Parry__V1__Event ev = base_event();
    ev.fields = &maps[0];
    compare(&ev); /* depth >= 63 or so: refused by both */
  }
}

/* A buffer cap the event does not fit in: refused the general way. */
static void test_buffer_cap(void **state) {
  (void)state;
  Parry__V1__Event ev = base_event();
  for (size_t cap = 1; cap < 400; cap += 7) compare_cap(&ev, NULL, cap);
  assert_int_equal(compare_cap(&ev, "x", 50), PARRY_ERR_TOO_LARGE);
  /* a long message: the buffer grows past its first reservation */
  char *big = malloc(100000);
  memset(big, 'm', 99999);
  big[99999] = '\0';
  ev.message = big;
  assert_int_equal(compare(&ev), PARRY_OK);
  /* ... and through the escaper, which grows the buffer itself */
  for (size_t i = 0; i < 99999; i += 7) big[i] = '"';
  ev.user_name = big;
  ev.source_ip = NULL; /* typed objects left empty around it */
  ev.source_port = 0;
  assert_int_equal(compare(&ev), PARRY_OK);
  free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_typical_events),
      cmocka_unit_test(test_string_alignments),
      cmocka_unit_test(test_string_at_page_end),
      cmocka_unit_test(test_refusals_and_rare_values),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_buffer_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
