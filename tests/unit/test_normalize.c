/* The normalizer, record framing, event builder and generic JSON parser:
 * the machinery every parser and source relies on. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "parry/codec.h"
#include "records.h"
#include "test_support.h"

typedef struct {
  char events[16][2048];
  int n_events;
  char rejects[16][512];
  int n_rejects;
} collected_t;

static void collect_event(void *opaque, const Parry__V1__Event *ev) {
  collected_t *c = opaque;
  parry_buf_t b = PARRY_BUF_INIT(0);
  char why[256];
  if (parry_event_to_json(ev, &b, why, sizeof why) != PARRY_OK) fail_msg("unencodable event: %s", why);
  assert_true(c->n_events < 16);
  snprintf(c->events[c->n_events++], sizeof c->events[0], "%s", b.data);
  parry_buf_free(&b);
}

static void collect_reject(void *opaque, const char *source, uint64_t seq, const char *rec,
                           size_t len, const char *reason) {
  collected_t *c = opaque;
  assert_true(c->n_rejects < 16);
  snprintf(c->rejects[c->n_rejects++], sizeof c->rejects[0], "%s#%llu %s: %.*s", source,
           (unsigned long long)seq, reason, (int)len, rec);
}

static const parry_normalize_sink_t sink = {collect_event, collect_reject};

typedef struct {
  parry_config_t *cfg;
  parry_normalizer_t *n;
  parry_stream_t *s;
  collected_t c;
} fixture_t;

static fixture_t *fixture(const char *format, const char *const *sets) {
  static fixture_t f;
  memset(&f, 0, sizeof f);
  char err[512];
  f.cfg = parry_config_new();
  for (; sets && *sets; sets++)
    if (parry_config_set(f.cfg, *sets, "test", err, sizeof err)) fail_msg("%s", err);
  if (parry_normalizer_new(f.cfg, format, &f.n, err, sizeof err)) fail_msg("%s", err);
  f.s = parry_stream_new(f.n, "test", &sink, &f.c);
  return &f;
}

static void teardown(fixture_t *f) {
  parry_stream_destroy(f->s);
  parry_normalizer_destroy(f->n);
  parry_config_destroy(f->cfg);
}

static void feed(fixture_t *f, const char *rec, uint64_t seq) {
  parry_stream_record(f->s, rec, strlen(rec), seq, 1700000000LL * PARRY_NS_PER_SEC);
}

static void test_json_record_and_batch(void **state) {
  fixture_t *f = fixture(NULL, NULL);
  feed(f, "{\"user\":{\"name\":\"alice\"},\"@timestamp\":\"2024-05-01T10:00:00Z\",\"k\":[1,2]}\r\n", 1);
  feed(f, "   \n", 2); /* blank: not a record */
  feed(f, "[{\"a\":1},{\"b\":2}]", 3);
  const parry_stream_counts_t *c = parry_stream_counts(f->s);
  assert_int_equal(c->records, 2);
  assert_int_equal(c->parsed, 2);
  assert_int_equal(c->events, 3);
  assert_int_equal(c->rejected, 0);
  assert_non_null(strstr(f->c.events[0], "\"@timestamp\":\"2024-05-01T10:00:00Z\""));
  assert_non_null(strstr(f->c.events[0], "\"user\":{\"name\":\"alice\"}"));
  assert_non_null(strstr(f->c.events[0], "\"k\":[1,2]"));
  /* no time in the record: the time it was read */
  assert_non_null(strstr(f->c.events[1], "\"@timestamp\":\"2023-11-14T22:13:20Z\""));
  teardown(f);
}

static void test_event_ids_are_stable_and_distinct(void **state) {
  char first[2][2048];
  for (int round = 0; round < 2; round++) {
    fixture_t *f = fixture(NULL, NULL);
    feed(f, "[{\"a\":1},{\"a\":1}]", 7);
    assert_int_equal(f->c.n_events, 2);
    /* two identical elements of one record still get distinct ids */
    assert_string_not_equal(f->c.events[0], f->c.events[1]);
    if (round == 0) {
      memcpy(first[0], f->c.events[0], sizeof first[0]);
      memcpy(first[1], f->c.events[1], sizeof first[1]);
    } else { /* a replay gives the same ids */
      assert_string_equal(first[0], f->c.events[0]);
      assert_string_equal(first[1], f->c.events[1]);
    }
    teardown(f);
  }
}

/* Ids of many near-identical records: every record length from 0 to 99
 * bytes of content, each with one byte changed at every position, and the
 * same record at other sequence numbers. All distinct; and one fixed
 * input's id, so that a change to the id function is a decision (replays
 * and resent HTTP batches rely on ids staying the same). */
#define MAX_IDS 12000
typedef struct {
  char (*ids)[33];
  int n;
} ids_t;

static void collect_id(void *opaque, const Parry__V1__Event *ev) {
  ids_t *c = opaque;
  assert_true(c->n < MAX_IDS);
  assert_int_equal(strlen(ev->id), 32);
  memcpy(c->ids[c->n++], ev->id, 33);
}

static void no_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  fail_msg("record %llu rejected: %s", (unsigned long long)seq, reason);
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 33); }

static void test_event_ids_spread(void **state) {
  parry_config_t *cfg = parry_config_new();
  parry_normalizer_t *n = NULL;
  char err[256];
  if (parry_normalizer_new(cfg, "json", &n, err, sizeof err)) fail_msg("%s", err);
  static const parry_normalize_sink_t id_sink = {collect_id, no_reject};
  ids_t c = {calloc(MAX_IDS, 33), 0};
  parry_stream_t *s = parry_stream_new(n, "file:/var/log/auth.log", &id_sink, &c);
  char rec[160];
  uint64_t seq = 0;
  for (int len = 0; len < 100; len++) {
    int head = snprintf(rec, sizeof rec, "{\"k\":\"");
    memset(rec + head, 'x', (size_t)len);
    snprintf(rec + head + len, sizeof rec - (size_t)(head + len), "\"}");
    size_t total = strlen(rec);
    parry_stream_record(s, rec, total, seq, 0);
    parry_stream_record(s, rec, total, seq + 1, 0); /* same bytes, next position */
    for (int at = 0; at < len; at++) {
      rec[head + at] = 'y';
      parry_stream_record(s, rec, total, seq, 0);
      rec[head + at] = 'x';
    }
    seq += 2;
  }
  assert_int_equal(c.n, 100 * 2 + 99 * 100 / 2);
  qsort(c.ids, (size_t)c.n, 33, cmp_id);
  for (int i = 1; i < c.n; i++)
    if (memcmp(c.ids[i - 1], c.ids[i], 33) == 0) fail_msg("two records share id %s", c.ids[i]);
  parry_stream_destroy(s);

  /* The fixed input: another source name gives another id. */
  c.n = 0;
  s = parry_stream_new(n, "test", &id_sink, &c);
  parry_stream_record(s, "{\"a\":1}", 7, 7, 0);
  parry_stream_destroy(s);
  s = parry_stream_new(n, "test2", &id_sink, &c);
  parry_stream_record(s, "{\"a\":1}", 7, 7, 0);
  parry_stream_destroy(s);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.ids[0], "204860fd4ea1469dbb1e72348e5797fb");
  assert_string_not_equal(c.ids[0], c.ids[1]);
  free(c.ids);
  parry_normalizer_destroy(n);
  parry_config_destroy(cfg);
}

static void test_rejects_name_the_reason(void **state) {
  fixture_t *f = fixture(NULL, NULL);
  feed(f, "{\"a\":", 1);
  feed(f, "{\"source\":{\"port\":\"ssh\"}}", 2);
  feed(f, "[{\"ok\":1},{\"source\":{\"ip\":\"not-an-ip\"}}]", 3);
  feed(f, "\"just a string\"", 4);
  const parry_stream_counts_t *c = parry_stream_counts(f->s);
  assert_int_equal(c->rejected, 4);
  assert_non_null(strstr(f->c.rejects[0], "test#1 invalid JSON"));
  assert_non_null(strstr(f->c.rejects[1], "test#2 json: source.port: expected an integer"));
  /* a batch with one bad element: the good one is kept, the record is
   * rejected once naming the element */
  assert_int_equal(f->c.n_events, 1);
  assert_non_null(strstr(f->c.rejects[2], "test#3 element 1: json: source.ip"));
  /* a bare JSON string is not a JSON record, and no text parser claims it */
  assert_non_null(strstr(f->c.rejects[3], "test#4 no parser recognises this record"));
  teardown(f);
}

static void test_unknown_format(void **state) {
  parry_config_t *cfg = parry_config_new();
  parry_normalizer_t *n = NULL;
  char err[512];
  assert_int_equal(parry_normalizer_new(cfg, "klingon", &n, err, sizeof err), PARRY_ERR_NOT_FOUND);
  assert_non_null(strstr(err, "unknown format \"klingon\" (known: auto"));
  assert_non_null(strstr(err, "json"));
  parry_config_destroy(cfg);
}

static void test_json_mapping_and_timestamp_field(void **state) {
  static const char *const sets[] = {
      "ingestor.json.mapping=source.ip=client.addr, user.name=usr,source.port=client.port",
      "ingestor.json.timestamp_field=when", NULL};
  fixture_t *f = fixture("json", sets);
  feed(f, "{\"client\":{\"addr\":\"2001:db8::1\",\"port\":\"2222\"},\"usr\":\"bob\",\"when\":1700000001}", 1);
  feed(f, "{\"client\":{\"addr\":\"nope\"}}", 2);
  feed(f, "{\"when\":\"2024-02-29T12:00:00.5+01:00\"}", 3);
  assert_int_equal(f->c.n_events, 2);
  assert_non_null(strstr(f->c.events[0], "\"@timestamp\":\"2023-11-14T22:13:21Z\""));
  assert_non_null(strstr(f->c.events[0], "\"source\":{\"ip\":\"2001:db8::1\",\"port\":2222}"));
  assert_non_null(strstr(f->c.events[0], "\"user\":{\"name\":\"bob\"}"));
  assert_non_null(strstr(f->c.rejects[0], "client.addr (mapped to source.ip) is not an IP address"));
  assert_non_null(strstr(f->c.events[1], "\"@timestamp\":\"2024-02-29T11:00:00.500Z\""));
  teardown(f);

  static const char *const bad[] = {"ingestor.json.mapping=color=shade", NULL};
  f = fixture("json", bad);
  feed(f, "{}", 1);
  assert_non_null(strstr(f->c.rejects[0], "ingestor.json.mapping: \"color\" is not ECS=SOURCE"));
  teardown(f);
}

/* ---- record framing ---------------------------------------------------- */

typedef struct {
  char recs[8][256];
  uint64_t seqs[8];
  bool oversize[8];
  size_t totals[8];
  size_t lens[8];
  int n;
} records_t;

static void on_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                      size_t total) {
  records_t *r = opaque;
  assert_true(r->n < 8);
  memcpy(r->recs[r->n], rec, len < 255 ? len : 255);
  r->lens[r->n] = len;
  r->seqs[r->n] = seq;
  r->oversize[r->n] = oversize;
  r->totals[r->n++] = total;
}

static records_t *read_all(const char *data, size_t len, size_t max) {
  static records_t r;
  memset(&r, 0, sizeof r);
  FILE *f = fmemopen((void *)data, len, "rb");
  char err[128];
  assert_int_equal(parry_read_records(f, max, on_record, &r, err, sizeof err), PARRY_OK);
  fclose(f);
  return &r;
}

static void test_records_lines(void **state) {
  static const char data[] = "one\r\ntwo\n\nfour";
  records_t *r = read_all(data, sizeof data - 1, 1024);
  assert_int_equal(r->n, 4);
  assert_string_equal(r->recs[0], "one\r\n");
  assert_string_equal(r->recs[2], "\n");
  assert_string_equal(r->recs[3], "four"); /* no final newline */
  assert_int_equal(r->seqs[3], 4);
}

static void test_records_nul_bytes_are_data(void **state) {
  static const char data[] = "a\0b\nc\n";
  records_t *r = read_all(data, sizeof data - 1, 1024);
  assert_int_equal(r->n, 2);
  assert_int_equal(r->lens[0], 4);
  assert_memory_equal(r->recs[0], "a\0b\n", 4);
}

static void test_records_oversize_line_is_capped_not_lost(void **state) {
  size_t big = 3 * 1024 * 1024 + 17;
  char *data = malloc(big + 8);
  memset(data, 'x', big);
  memcpy(data + big, "\nnext\n", 6);
  records_t *r = read_all(data, big + 6, 100);
  assert_int_equal(r->n, 2);
  assert_true(r->oversize[0]);
  assert_int_equal(r->lens[0], 100);
  assert_int_equal(r->totals[0], big + 1);
  assert_false(r->oversize[1]);
  assert_string_equal(r->recs[1], "next\n");
  assert_int_equal(r->seqs[1], 2);
  free(data);
}

/* Regression (found by fuzz_records): a line longer than the cap whose
 * newline was already in the read buffer came back whole, over the cap. */
static void test_records_short_oversize_line_in_buffer(void **state) {
  static const char data[] = "0123456789\nok\n";
  records_t *r = read_all(data, sizeof data - 1, 5);
  assert_int_equal(r->n, 2);
  assert_true(r->oversize[0]);
  assert_int_equal(r->lens[0], 5);
  assert_int_equal(r->totals[0], 11);
  assert_false(r->oversize[1]);
  static const char last[] = "ok\n0123456789";
  r = read_all(last, sizeof last - 1, 5); /* also without a final newline */
  assert_true(r->oversize[1]);
  assert_int_equal(r->lens[1], 5);
  assert_int_equal(r->totals[1], 10);
}

static void test_records_multiline_document(void **state) {
  static const char pretty[] = "{\n  \"a\": 1,\n  \"b\": [1,\n 2]\n}\n";
  records_t *r = read_all(pretty, sizeof pretty - 1, 1024);
  assert_int_equal(r->n, 1);
  assert_int_equal(r->lens[0], sizeof pretty - 2); /* the document, without the final newline */
  /* several pretty documents in a row, with braces inside strings */
  static const char series[] = "{\n \"a\": \"}{\\\"\"\n}\n\n[1,\n {\"b\": 2}]\n{\n";
  r = read_all(series, sizeof series - 1, 1024);
  assert_int_equal(r->n, 3);
  assert_string_equal(r->recs[0], "{\n \"a\": \"}{\\\"\"\n}");
  assert_int_equal(r->seqs[1], 5);
  assert_string_equal(r->recs[1], "[1,\n {\"b\": 2}]");
  assert_string_equal(r->recs[2], "{\n"); /* unterminated: the parser will say so */
  /* a log whose lines start with a bracket is a log, not a document */
  static const char bracketed[] = "[Tue Feb 25 14:34:10 2005] sshd: a\n[Tue Feb 25 14:34:11 2005] b\n";
  r = read_all(bracketed, sizeof bracketed - 1, 1024);
  assert_int_equal(r->n, 2);
  static const char ndjson[] = "{\"a\":1}\n{\"b\":2}\n";
  r = read_all(ndjson, sizeof ndjson - 1, 1024);
  assert_int_equal(r->n, 2);
}

static void test_reject_json_keeps_every_byte(void **state) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_reject_to_json(&b, "bad \"x\"", "file:a", 3, 0, "ok\ttext", 7);
  assert_string_equal(b.data, "{\"reason\":\"bad \\\"x\\\"\",\"source\":\"file:a\",\"seq\":3,"
                              "\"received\":\"1970-01-01T00:00:00Z\",\"record\":\"ok\\ttext\"}");
  parry_buf_reset(&b);
  parry_reject_to_json(&b, "r", "s", 1, 0, "\xff\x00z", 3);
  assert_non_null(strstr(b.data, "\"record_base64\":\"/wB6\""));
  parry_buf_free(&b);
}

/* ---- event builder ----------------------------------------------------- */

static void test_builder_text_and_fields(void **state) {
  parry_arena_t arena = PARRY_ARENA_INIT;
  parry_evb_t b;
  parry_evb_init(&b, &arena);
  parry_evb_set_user(&b, "r\xc3\xa9mi\xff", 6); /* invalid byte replaced */
  assert_string_equal(b.ev->user_name, "r\xc3\xa9mi\xef\xbf\xbd");
  assert_true(parry_evb_set_source_address(&b, "::FFFF:10.0.0.1", (size_t)-1));
  assert_string_equal(b.ev->source_ip, "::ffff:10.0.0.1");
  assert_false(parry_evb_set_destination_address(&b, "example.com", (size_t)-1));
  parry_evb_field_int(&b, "log.syslog.facility.code", 4);
  /* Regression (fuzz_cef): bytes after a NUL behind a valid IPv4 address
   * overflowed the canonical copy; such text is an address, not an IP. */
  static const char nul_ip[] = "1.2.3.4\0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
  assert_false(parry_evb_set_destination_address(&b, nul_ip, sizeof nul_ip - 1));
  assert_false(parry_evb_set_destination_address(&b, "example.com", (size_t)-1));
  parry_evb_field_str(&b, "log.syslog.appname", "sshd", 4);
  parry_evb_field_int(&b, "log.syslog.facility.code", 10); /* replaces */
  parry_evb_add_category(&b, "authentication");
  parry_evb_add_category(&b, "authentication"); /* once */
  parry_evb_set_timestamp(&b, 0);
  /* a port past 65535 cannot be written (the reader would refuse it) */
  parry_evb_set_source_port(&b, 70000);
  parry_buf_t bad = PARRY_BUF_INIT(0);
  char bad_why[128];
  assert_int_equal(parry_event_to_json(b.ev, &bad, bad_why, sizeof bad_why), PARRY_ERR_INVALID);
  assert_non_null(strstr(bad_why, "source.port: port 70000 is out of range"));
  parry_buf_free(&bad);
  parry_evb_set_source_port(&b, 0);
  parry_buf_t out = PARRY_BUF_INIT(0);
  char why[128];
  assert_int_equal(parry_event_to_json(b.ev, &out, why, sizeof why), PARRY_OK);
  assert_non_null(strstr(out.data, "\"event\":{\"category\":[\"authentication\"]}"));
  assert_non_null(strstr(out.data, "\"source\":{\"ip\":\"::ffff:10.0.0.1\",\"address\":\"::FFFF:10.0.0.1\"}"));
  assert_non_null(strstr(out.data, "\"destination\":{\"address\":\"example.com\"}"));
  assert_non_null(strstr(out.data, "\"log\":{\"syslog\":{\"facility\":{\"code\":10},\"appname\":\"sshd\"}}"));
  parry_buf_free(&out);
  parry_arena_free(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_record_and_batch),
      cmocka_unit_test(test_event_ids_are_stable_and_distinct),
      cmocka_unit_test(test_event_ids_spread),
      cmocka_unit_test(test_rejects_name_the_reason),
      cmocka_unit_test(test_unknown_format),
      cmocka_unit_test(test_json_mapping_and_timestamp_field),
      cmocka_unit_test(test_records_lines),
      cmocka_unit_test(test_records_nul_bytes_are_data),
      cmocka_unit_test(test_records_oversize_line_is_capped_not_lost),
      cmocka_unit_test(test_records_short_oversize_line_in_buffer),
      cmocka_unit_test(test_records_multiline_document),
      cmocka_unit_test(test_reject_json_keeps_every_byte),
      cmocka_unit_test(test_builder_text_and_fields),
  };
  return cmocka_run_group_tests_name("normalize", tests, NULL, NULL);
}
