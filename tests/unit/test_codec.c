/* The canonical JSON codec: round trips, normalizations, strictness. */
#include "test_support.h"

#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"

/* ---- helpers ---- */

static char errstr[512];

static json_object *parse(const char *json) {
  json_object *o = NULL;
  parry_err_t err = parry_codec_parse_json(json, strlen(json), &o, errstr, sizeof errstr);
  if (err) fail_msg("could not parse %s: %s", json, errstr);
  return o;
}

static void assert_same_packed(const ProtobufCMessage *a, const ProtobufCMessage *b) {
  size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
  assert_int_equal(na, nb);
  uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
  protobuf_c_message_pack(a, pa);
  protobuf_c_message_pack(b, pb);
  assert_memory_equal(pa, pb, na);
  free(pa);
  free(pb);
}

static Parry__V1__Event *event_ok(const char *json) {
  Parry__V1__Event *ev = NULL;
  parry_err_t err = parry_event_from_json(json, strlen(json), &ev, errstr, sizeof errstr);
  if (err) fail_msg("event rejected: %s\n  input: %s", errstr, json);
  return ev;
}

static char *event_json(const Parry__V1__Event *ev) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_err_t err = parry_event_to_json(ev, &b, errstr, sizeof errstr);
  if (err) fail_msg("event not written: %s", errstr);
  return parry_buf_steal(&b);
}

/* JSON -> proto -> JSON -> proto: both protos and both JSON texts identical,
 * and the documents equal (exact: no normalization expected). Returns the
 * written JSON. */
static char *event_roundtrip(const char *json, bool exact) {
  Parry__V1__Event *p1 = event_ok(json);
  char *j1 = event_json(p1);
  Parry__V1__Event *p2 = event_ok(j1);
  char *j2 = event_json(p2);
  assert_string_equal(j1, j2);
  assert_same_packed(&p1->base, &p2->base);
  if (exact) {
    json_object *a = parse(json), *b = parse(j1);
    if (!json_object_equal(a, b)) fail_msg("documents differ:\n  in:  %s\n  out: %s", json, j1);
    json_object_put(a);
    json_object_put(b);
  }
  parry__v1__event__free_unpacked(p1, NULL);
  parry__v1__event__free_unpacked(p2, NULL);
  free(j2);
  return j1;
}

static void event_fails(const char *json, parry_err_t code, const char *message) {
  Parry__V1__Event *ev = NULL;
  errstr[0] = '\0';
  parry_err_t err = parry_event_from_json(json, strlen(json), &ev, errstr, sizeof errstr);
  if (err == PARRY_OK) fail_msg("accepted: %s", json);
  assert_null(ev);
  assert_int_equal(err, code);
  if (!strstr(errstr, message))
    fail_msg("error for %s\n  is:       %s\n  expected: %s", json, errstr, message);
}

static Parry__V1__Alert *alert_ok(const char *json) {
  Parry__V1__Alert *a = NULL;
  if (parry_alert_from_json(json, strlen(json), &a, errstr, sizeof errstr))
    fail_msg("alert rejected: %s", errstr);
  return a;
}

static char *alert_json(const Parry__V1__Alert *a) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  if (parry_alert_to_json(a, &b, errstr, sizeof errstr)) fail_msg("alert not written: %s", errstr);
  return parry_buf_steal(&b);
}

static void alert_fails(const char *json, parry_err_t code, const char *message) {
  Parry__V1__Alert *a = NULL;
  errstr[0] = '\0';
  parry_err_t err = parry_alert_from_json(json, strlen(json), &a, errstr, sizeof errstr);
  if (err == PARRY_OK) fail_msg("accepted: %s", json);
  assert_null(a);
  assert_int_equal(err, code);
  if (!strstr(errstr, message))
    fail_msg("error for %s\n  is:       %s\n  expected: %s", json, errstr, message);
}

static Parry__V1__Signal *signal_ok(const char *json) {
  Parry__V1__Signal *s = NULL;
  if (parry_signal_from_json(json, strlen(json), &s, errstr, sizeof errstr))
    fail_msg("signal rejected: %s", errstr);
  return s;
}

static char *signal_json(const Parry__V1__Signal *s) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  if (parry_signal_to_json(s, &b, errstr, sizeof errstr)) fail_msg("signal not written: %s", errstr);
  return parry_buf_steal(&b);
}

/* ---- realistic content, written in canonical form so output == input ---- */

static const char windows_4625[] =
    "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:15:42.123Z\","
    "\"event\":{\"id\":\"evt-4625-0001\",\"kind\":\"event\",\"category\":[\"authentication\"],"
    "\"type\":[\"start\"],\"action\":\"logon-failed\",\"outcome\":\"failure\","
    "\"dataset\":\"windows.security\",\"severity\":3,\"code\":\"4625\","
    "\"provider\":\"Microsoft-Windows-Security-Auditing\"},"
    "\"source\":{\"ip\":\"203.0.113.7\",\"port\":51234,\"geo\":{\"country_iso_code\":\"NL\","
    "\"location\":{\"lat\":52.3676,\"lon\":4.9041}}},"
    "\"user\":{\"name\":\"Administrator\",\"domain\":\"CORP\"},"
    "\"host\":{\"name\":\"dc01.corp.example\",\"os\":{\"family\":\"windows\"}},"
    "\"process\":{\"name\":\"lsass.exe\",\"pid\":672},"
    "\"message\":\"An account failed to log on.\\r\\n\\r\\nSubject:\\r\\n\\tSecurity "
    "ID:\\t\\tS-1-0-0\\r\\n\\tAccount Name:\\t\\t\\\"-\\\"\","
    "\"logsource\":{\"product\":\"windows\",\"service\":\"security\"},"
    "\"EventID\":4625,\"Channel\":\"Security\",\"Computer\":\"dc01.corp.example\","
    "\"TargetUserName\":\"Administrator\",\"TargetDomainName\":\"CORP\","
    "\"IpAddress\":\"203.0.113.7\",\"IpPort\":\"51234\",\"LogonType\":3,"
    "\"Status\":\"0xc000006d\",\"SubStatus\":\"0xc000006a\",\"FailureReason\":\"%%2313\","
    "\"WorkstationName\":\"ATTACKER-PC\",\"AuthenticationPackageName\":\"NTLM\",\"KeyLength\":0,"
    "\"winlog\":{\"record_id\":1234567,\"event_data\":{\"TargetUserSid\":\"S-1-0-0\","
    "\"LmPackageName\":\"-\",\"ProcessId\":\"0x2a0\"},\"keywords\":[\"Audit Failure\"],"
    "\"elapsed\":1.5e-3,\"bignum\":123456789012345678901,\"ratio\":0.25,\"empty\":null,"
    "\"flag\":true,\"nothing\":{},\"none\":[],\"unicode\":\"J\xc3\xbcrgen \xf0\x9f\x98\x80\"}}";

static const char sshd_failure[] =
    "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:16:01Z\","
    "\"event\":{\"kind\":\"event\",\"category\":[\"authentication\"],\"type\":[\"start\"],"
    "\"action\":\"ssh_login\",\"outcome\":\"failure\",\"dataset\":\"system.auth\"},"
    "\"source\":{\"ip\":\"1.2.3.4\",\"port\":40222},\"user\":{\"name\":\"root\"},"
    "\"host\":{\"name\":\"bastion-1\"},\"process\":{\"name\":\"sshd\",\"pid\":1022},"
    "\"message\":\"Failed password for root from 1.2.3.4 port 40222 ssh2\","
    "\"logsource\":{\"product\":\"linux\",\"service\":\"sshd\"},"
    "\"system\":{\"auth\":{\"ssh\":{\"method\":\"password\",\"signature\":null}}}}";

/* ---- events ---- */

static void test_event_windows_4625(void **state) {
  (void)state;
  Parry__V1__Event *ev = event_ok(windows_4625);
  assert_int_equal(ev->schema_version, 1);
  assert_true(ev->has_timestamp);
  assert_int_equal(ev->timestamp_ns, 1709626542123000000LL);
  assert_string_equal(ev->id, "evt-4625-0001");
  assert_int_equal(ev->n_event_category, 1);
  assert_string_equal(ev->event_category[0], "authentication");
  assert_string_equal(ev->event_outcome, "failure");
  assert_true(ev->has_event_severity);
  assert_int_equal(ev->event_severity, 3);
  assert_string_equal(ev->source_ip, "203.0.113.7");
  assert_int_equal(ev->source_port, 51234);
  assert_string_equal(ev->user_name, "Administrator");
  assert_true(ev->has_process_pid);
  assert_int_equal(ev->process_pid, 672);
  assert_string_equal(ev->logsource->product, "windows");
  /* Untyped members of typed objects come first in fields, in slot order. */
  assert_string_equal(ev->fields->entries[0]->key, "event");
  assert_string_equal(ev->fields->entries[1]->key, "source");
  assert_string_equal(ev->fields->entries[0]->value->map_value->entries[0]->key, "code");
  parry__v1__event__free_unpacked(ev, NULL);

  char *out = event_roundtrip(windows_4625, true);
  assert_string_equal(out, windows_4625); /* canonical input comes back byte for byte */
  free(out);
}

static void test_event_sshd(void **state) {
  (void)state;
  char *out = event_roundtrip(sshd_failure, true);
  assert_string_equal(out, sshd_failure);
  free(out);
}

static void test_event_key_order_and_merge(void **state) {
  (void)state;
  const char *in = "{\"zeta\":1,\"source\":{\"geo\":{\"city\":\"Oslo\"},\"ip\":\"::1\"},"
                   "\"message\":\"m\",\"event\":{\"outcome\":\"success\",\"code\":7},"
                   "\"@timestamp\":\"2024-01-01T00:00:00Z\",\"alpha\":[1,2],"
                   "\"schema_version\":1}";
  char *out = event_roundtrip(in, true);
  assert_string_equal(out, "{\"schema_version\":1,\"@timestamp\":\"2024-01-01T00:00:00Z\","
                           "\"event\":{\"outcome\":\"success\",\"code\":7},"
                           "\"source\":{\"ip\":\"::1\",\"geo\":{\"city\":\"Oslo\"}},"
                           "\"message\":\"m\",\"zeta\":1,\"alpha\":[1,2]}");
  free(out);
}

/* null, "", [], port 0 mean "absent" to a typed field; they stay in fields. */
static void test_event_absent_values_survive(void **state) {
  (void)state;
  const char *in = "{\"schema_version\":1,\"@timestamp\":null,"
                   "\"event\":{\"kind\":\"\",\"category\":[],\"type\":null,\"severity\":null},"
                   "\"source\":{\"ip\":\"\",\"port\":0},\"destination\":null,\"user\":{},"
                   "\"host\":{\"name\":\"h\",\"id\":\"\"},\"process\":{\"pid\":0},"
                   "\"message\":\"\",\"logsource\":{\"product\":\"\",\"definition\":\"x\"}}";
  Parry__V1__Event *ev = event_ok(in);
  assert_false(ev->has_timestamp);
  assert_int_equal(ev->n_event_category, 0);
  assert_int_equal(ev->source_port, 0);
  assert_true(ev->has_process_pid); /* pid 0 is a value: it has a presence flag */
  assert_null(ev->logsource);
  parry__v1__event__free_unpacked(ev, NULL);
  char *out = event_roundtrip(in, true);
  assert_string_equal(out, in);
  free(out);
}

static void test_event_empty_and_missing(void **state) {
  (void)state;
  Parry__V1__Event *ev = event_ok("{}");
  assert_int_equal(ev->schema_version, PARRY_SCHEMA_VERSION);
  assert_null(ev->fields);
  assert_false(ev->has_timestamp);
  char *out = event_json(ev);
  assert_string_equal(out, "{\"schema_version\":1}");
  free(out);
  parry__v1__event__free_unpacked(ev, NULL);

  out = event_roundtrip(" {\"user\":{\"name\":\"alice\"}}\n", false);
  assert_string_equal(out, "{\"schema_version\":1,\"user\":{\"name\":\"alice\"}}");
  free(out);

  event_fails("[]", PARRY_ERR_INVALID, "expected an object, got array");
  event_fails("null", PARRY_ERR_INVALID, "expected an object, got null");
  event_fails("", PARRY_ERR_INVALID, "unexpected end of input");
  event_fails("   ", PARRY_ERR_INVALID, "unexpected end of input");
}

static void test_event_normalizations(void **state) {
  (void)state;
  const char *in = "{\"@timestamp\":\"2024-03-05t10:15:42.120000+02:00\","
                   "\"event\":{\"category\":\"network\",\"type\":\"connection\"}}";
  char *out = event_roundtrip(in, false);
  assert_string_equal(out, "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:15:42.120Z\","
                           "\"event\":{\"category\":[\"network\"],\"type\":[\"connection\"]}}");
  free(out);
}

static void test_event_timestamps(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
      {"2024-02-29T23:59:59.5z", "2024-02-29T23:59:59.500Z"},
      {"2024-02-29T23:59:59.000001Z", "2024-02-29T23:59:59.000001Z"},
      {"2024-02-29T23:59:59.123456789Z", "2024-02-29T23:59:59.123456789Z"},
      {"2024-02-29T23:59:59.100000000Z", "2024-02-29T23:59:59.100Z"},
      {"2024-01-01T00:30:00-01:00", "2024-01-01T01:30:00Z"},
      {"1969-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59.999999999Z"},
      {"1678-01-01T00:00:00Z", "1678-01-01T00:00:00Z"},
      {"2261-12-31T23:59:59.999999999Z", "2261-12-31T23:59:59.999999999Z"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char in[128], want[128];
    snprintf(in, sizeof in, "{\"@timestamp\":\"%s\"}", cases[i].in);
    snprintf(want, sizeof want, "{\"schema_version\":1,\"@timestamp\":\"%s\"}", cases[i].out);
    char *out = event_roundtrip(in, false);
    assert_string_equal(out, want);
    free(out);
  }
  event_fails("{\"@timestamp\":\"yesterday\"}", PARRY_ERR_INVALID,
              "@timestamp: expected an RFC 3339 time, got \"yesterday\"");
  event_fails("{\"@timestamp\":1709626542}", PARRY_ERR_INVALID,
              "@timestamp: expected an RFC 3339 time, got 1709626542");
  event_fails("{\"@timestamp\":\"2023-02-29T00:00:00Z\"}", PARRY_ERR_INVALID,
              "@timestamp: expected an RFC 3339 time");
  event_fails("{\"@timestamp\":\"2024-01-01T00:00:00\"}", PARRY_ERR_INVALID,
              "@timestamp: expected an RFC 3339 time");
  event_fails("{\"@timestamp\":\"2024-01-01T00:00:00.1234567891Z\"}", PARRY_ERR_INVALID,
              "@timestamp: expected an RFC 3339 time with at most 9 fraction digits");
  event_fails("{\"@timestamp\":\"9999-12-31T23:59:59Z\"}", PARRY_ERR_INVALID,
              "@timestamp: time \"9999-12-31T23:59:59Z\" is outside the years 1678..2261");
  event_fails("{\"@timestamp\":\"0000-01-01T00:00:00Z\"}", PARRY_ERR_INVALID, "outside the years");
  event_fails("{\"@timestamp\":\"2261-12-31T23:59:59-05:00\"}", PARRY_ERR_INVALID,
              "outside the years");

  /* The writer refuses what the reader would refuse. */
  Parry__V1__Event ev = PARRY__V1__EVENT__INIT;
  ev.has_timestamp = 1;
  ev.timestamp_ns = INT64_MAX;
  parry_buf_t b = PARRY_BUF_INIT(0);
  assert_int_equal(parry_event_to_json(&ev, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "@timestamp: time"));
  assert_int_equal(b.len, 0);
  parry_buf_free(&b);
}

static void test_event_wrong_types(void **state) {
  (void)state;
  static const struct {
    const char *json, *error;
  } cases[] = {
      {"{\"source\":{\"port\":\"x\"}}", "source.port: expected an integer 0..65535, got string"},
      {"{\"source\":{\"port\":70000}}", "source.port: expected an integer 0..65535, got 70000"},
      {"{\"source\":{\"port\":22.0}}", "source.port: expected an integer 0..65535, got 22.0"},
      {"{\"destination\":{\"port\":-1}}", "destination.port: expected an integer 0..65535, got -1"},
      {"{\"source\":{\"ip\":\"1.2.3.999\"}}",
       "source.ip: expected an IPv4 or IPv6 address, got \"1.2.3.999\""},
      {"{\"source\":{\"ip\":\"fe80::1%eth0\"}}", "source.ip: expected an IPv4 or IPv6 address"},
      {"{\"destination\":{\"ip\":16909060}}",
       "destination.ip: expected an IPv4 or IPv6 address, got 16909060"},
      {"{\"event\":{\"category\":5}}",
       "event.category: expected a string or an array of strings, got 5"},
      {"{\"event\":{\"category\":[\"a\",1]}}", "event.category[1]: expected a string, got 1"},
      {"{\"event\":{\"type\":{}}}", "event.type: expected a string or an array of strings, got object"},
      {"{\"event\":{\"id\":17}}", "event.id: expected a string, got 17"},
      {"{\"event\":{\"kind\":true}}", "event.kind: expected a string, got boolean"},
      {"{\"event\":{\"action\":[]}}", "event.action: expected a string, got array"},
      {"{\"event\":{\"outcome\":{}}}", "event.outcome: expected a string, got object"},
      {"{\"event\":{\"dataset\":1.5}}", "event.dataset: expected a string, got 1.5"},
      {"{\"event\":{\"severity\":\"high\"}}", "event.severity: expected a 64-bit integer, got string"},
      {"{\"event\":{\"severity\":1.5}}", "event.severity: expected a 64-bit integer, got 1.5"},
      {"{\"event\":{\"severity\":9223372036854775808}}",
       "event.severity: expected a 64-bit integer, got 9223372036854775808"},
      {"{\"user\":{\"name\":1}}", "user.name: expected a string, got 1"},
      {"{\"host\":{\"name\":[\"a\"]}}", "host.name: expected a string, got array"},
      {"{\"process\":{\"name\":false}}", "process.name: expected a string, got boolean"},
      {"{\"process\":{\"pid\":\"12\"}}", "process.pid: expected a 64-bit integer, got string"},
      {"{\"process\":{\"command_line\":{}}}", "process.command_line: expected a string, got object"},
      {"{\"message\":42}", "message: expected a string, got 42"},
      {"{\"logsource\":{\"product\":1}}", "logsource.product: expected a string, got 1"},
      {"{\"logsource\":[]}", "logsource: expected an object, got array"},
      {"{\"source\":\"1.2.3.4\"}", "source: expected an object, got string"},
      {"{\"event\":\"x\"}", "event: expected an object, got string"},
      {"{\"schema_version\":\"1\"}", "schema_version: expected an integer 1..1, got string"},
      {"{\"schema_version\":0}", "schema_version: expected an integer 1..1, got 0"},
      {"{\"schema_version\":-3}", "schema_version: expected an integer 1..1, got -3"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    event_fails(cases[i].json, PARRY_ERR_INVALID, cases[i].error);
}

static void test_event_newer_schema(void **state) {
  (void)state;
  event_fails("{\"schema_version\":2,\"message\":\"x\"}", PARRY_ERR_UNSUPPORTED,
              "schema_version 2 is newer than the supported version 1");
  event_fails("{\"schema_version\":18446744073709551616}", PARRY_ERR_INVALID,
              "schema_version: expected an integer 1..1");
}

static void test_event_unknown_keys_kept(void **state) {
  (void)state;
  char *out = event_roundtrip("{\"schema_version\":1,\"whatever\":{\"x\":[true,false,null]}}", true);
  free(out);
}

/* ---- UTF-8 ---- */

static void test_utf8_invalid_input(void **state) {
  (void)state;
  static const char *const bad[] = {
      "{\"message\":\"\xff\"}",              /* not a lead byte */
      "{\"message\":\"\xc3\"}",              /* truncated */
      "{\"message\":\"\xc0\xaf\"}",          /* overlong '/' */
      "{\"message\":\"\xed\xa0\x80\"}",      /* encoded surrogate */
      "{\"message\":\"\xf4\x90\x80\x80\"}",  /* past U+10FFFF */
      "{\"a\xff\":1}",                       /* in a key */
      "{\"x\":{\"y\":[\"ok\",\"\xe2\x82\"]}}", /* deep */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    event_fails(bad[i], PARRY_ERR_INVALID, "invalid UTF-8");
  event_fails("{\"message\":\"\\ud800\"}", PARRY_ERR_INVALID,
              "message: invalid UTF-8: lone surrogate \\ud800");
  event_fails("{\"message\":\"\\udc00x\"}", PARRY_ERR_INVALID, "lone surrogate \\udc00");
  event_fails("{\"message\":\"\\ud800\\u0041\"}", PARRY_ERR_INVALID, "lone surrogate \\ud800");
  event_fails("{\"x\":[\"\\ud800\"]}", PARRY_ERR_INVALID, "x[0]: invalid UTF-8: lone surrogate");
  event_fails("{\"message\":\"a\\u0000b\"}", PARRY_ERR_INVALID,
              "message: U+0000 is not supported in strings");
  event_fails("{\"message\":\"tab\there\"}", PARRY_ERR_INVALID, "unescaped control character 0x09");

  /* A valid pair and escapes come back as UTF-8. */
  Parry__V1__Event *ev = event_ok("{\"message\":\"\\ud83d\\ude00 \\u00e9\\/\"}");
  assert_string_equal(ev->message, "\xf0\x9f\x98\x80 \xc3\xa9/");
  parry__v1__event__free_unpacked(ev, NULL);
}

static void test_utf8_invalid_proto(void **state) {
  (void)state;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, "prefix ");
  Parry__V1__Event ev = PARRY__V1__EVENT__INIT;
  ev.user_name = "r\xffot";
  assert_int_equal(parry_event_to_json(&ev, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_string_equal(errstr, "user.name: invalid UTF-8 in string");
  assert_string_equal(b.data, "prefix "); /* left as it was */

  Parry__V1__Value str = PARRY__V1__VALUE__INIT;
  str.kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
  str.string_value = "\xc3";
  Parry__V1__Entry inner = PARRY__V1__ENTRY__INIT;
  inner.key = "Data";
  inner.value = &str;
  Parry__V1__Entry *inner_entries[] = {&inner};
  Parry__V1__ValueMap inner_map = PARRY__V1__VALUE_MAP__INIT;
  inner_map.n_entries = 1;
  inner_map.entries = inner_entries;
  Parry__V1__Value map = PARRY__V1__VALUE__INIT;
  map.kind_case = PARRY__V1__VALUE__KIND_MAP_VALUE;
  map.map_value = &inner_map;
  Parry__V1__Entry outer = PARRY__V1__ENTRY__INIT;
  outer.key = "EventData";
  outer.value = &map;
  Parry__V1__Entry *fields_entries[] = {&outer};
  Parry__V1__ValueMap fields = PARRY__V1__VALUE_MAP__INIT;
  fields.n_entries = 1;
  fields.entries = fields_entries;
  ev.user_name = "root";
  ev.fields = &fields;
  assert_int_equal(parry_event_to_json(&ev, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_string_equal(errstr, "EventData.Data: invalid UTF-8 in string");
  outer.key = "Event\x80";
  str.string_value = "fine";
  assert_int_equal(parry_event_to_json(&ev, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "invalid UTF-8 in key"));
  assert_string_equal(b.data, "prefix ");
  parry_buf_free(&b);
}

/* ---- numbers ---- */

static const Parry__V1__Value *field(const Parry__V1__Event *ev, const char *key) {
  for (size_t i = 0; ev->fields && i < ev->fields->n_entries; i++)
    if (strcmp(ev->fields->entries[i]->key, key) == 0) return ev->fields->entries[i]->value;
  fail_msg("no field %s", key);
  return NULL;
}

static void test_numbers(void **state) {
  (void)state;
  const char *in =
      "{\"schema_version\":1,\"big\":12345678901234567890,\"bigger\":123456789012345678901234,"
      "\"inf\":1e400,\"negzero\":-0,\"negzero_d\":-0.0,\"tiny\":1.5e-300,\"tenth\":0.1,"
      "\"trail\":1.50,\"exp\":1E5,\"hundred\":100.0,\"min\":-9223372036854775808,"
      "\"max\":9223372036854775807,\"over\":9223372036854775808,\"e21\":1e+21,"
      "\"neg\":-42,\"zero\":0,\"frac\":-0.000123}";
  Parry__V1__Event *ev = event_ok(in);
  assert_int_equal(field(ev, "big")->kind_case, PARRY__V1__VALUE__KIND_NUMBER_TEXT);
  assert_string_equal(field(ev, "big")->number_text, "12345678901234567890");
  assert_string_equal(field(ev, "bigger")->number_text, "123456789012345678901234");
  assert_string_equal(field(ev, "inf")->number_text, "1e400");
  assert_string_equal(field(ev, "negzero")->number_text, "-0");
  assert_int_equal(field(ev, "negzero_d")->kind_case, PARRY__V1__VALUE__KIND_DOUBLE_VALUE);
  assert_true(signbit(field(ev, "negzero_d")->double_value));
  assert_int_equal(field(ev, "tiny")->kind_case, PARRY__V1__VALUE__KIND_DOUBLE_VALUE);
  assert_true(field(ev, "tiny")->double_value == 1.5e-300);
  assert_int_equal(field(ev, "tenth")->kind_case, PARRY__V1__VALUE__KIND_DOUBLE_VALUE);
  assert_string_equal(field(ev, "trail")->number_text, "1.50");
  assert_string_equal(field(ev, "exp")->number_text, "1E5");
  assert_int_equal(field(ev, "hundred")->kind_case, PARRY__V1__VALUE__KIND_DOUBLE_VALUE);
  assert_int_equal(field(ev, "min")->kind_case, PARRY__V1__VALUE__KIND_INT_VALUE);
  assert_true(field(ev, "min")->int_value == INT64_MIN);
  assert_true(field(ev, "max")->int_value == INT64_MAX);
  assert_string_equal(field(ev, "over")->number_text, "9223372036854775808");
  assert_int_equal(field(ev, "e21")->kind_case, PARRY__V1__VALUE__KIND_DOUBLE_VALUE);
  assert_int_equal(field(ev, "neg")->int_value, -42);
  assert_int_equal(field(ev, "frac")->kind_case, PARRY__V1__VALUE__KIND_DOUBLE_VALUE);
  parry__v1__event__free_unpacked(ev, NULL);
  char *out = event_roundtrip(in, true);
  assert_string_equal(out, in); /* every literal written exactly as read */
  free(out);

  event_fails("{\"x\":01}", PARRY_ERR_INVALID, "unexpected '1', expected ',' or '}' (at offset 6)");
  event_fails("{\"x\":1.}", PARRY_ERR_INVALID, "x: invalid number: no digits after '.'");
  event_fails("{\"x\":1e}", PARRY_ERR_INVALID, "x: invalid number: no digits in exponent");
  event_fails("{\"x\":-}", PARRY_ERR_INVALID, "x: invalid number");
  event_fails("{\"x\":+1}", PARRY_ERR_INVALID, "x: unexpected '+', expected a value");
  event_fails("{\"x\":NaN}", PARRY_ERR_INVALID, "x: unexpected 'N', expected a value");
}

static void test_numbers_written(void **state) {
  (void)state;
  static const struct {
    double d;
    const char *text;
  } cases[] = {{0.1, "0.1"}, {100.0, "100.0"}, {-0.0, "-0.0"}, {1e21, "1e+21"},
               {1.0 / 3, "0.3333333333333333"}, {5e-324, "5e-324"}, {1.5, "1.5"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Parry__V1__Value v = PARRY__V1__VALUE__INIT;
    v.kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
    v.double_value = cases[i].d;
    parry_buf_t b = PARRY_BUF_INIT(0);
    assert_int_equal(parry_value_to_json(&v, &b, errstr, sizeof errstr), PARRY_OK);
    assert_string_equal(b.data, cases[i].text);
    parry_buf_free(&b);
  }
  Parry__V1__Value v = PARRY__V1__VALUE__INIT;
  parry_buf_t b = PARRY_BUF_INIT(0);
  v.kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
  v.double_value = INFINITY;
  assert_int_equal(parry_value_to_json(&v, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_string_equal(errstr, "cannot write a non-finite number in JSON");
  v.kind_case = PARRY__V1__VALUE__KIND_NUMBER_TEXT;
  v.number_text = "12abc";
  assert_int_equal(parry_value_to_json(&v, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_string_equal(errstr, "number_text is not a JSON number");
  v.kind_case = PARRY__V1__VALUE__KIND__NOT_SET;
  assert_int_equal(parry_value_to_json(&v, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_int_equal(b.len, 0);
  parry_buf_free(&b);
}

/* json-c wants the whole input to know a number has ended; ours must not
 * read past len either (ASan checks the exact-size copy). */
static void test_numbers_at_end_of_input(void **state) {
  (void)state;
  static const char *const texts[] = {"123", "-7", "1.5", "-0", "1e400", "0", "2e-3"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    size_t len = strlen(texts[i]);
    char *exact = malloc(len);
    memcpy(exact, texts[i], len);
    json_object *o = NULL;
    assert_int_equal(parry_codec_parse_json(exact, len, &o, errstr, sizeof errstr), PARRY_OK);
    Parry__V1__Value *v = NULL;
    assert_int_equal(parry_value_from_json_object(o, &v, errstr, sizeof errstr), PARRY_OK);
    parry_buf_t b = PARRY_BUF_INIT(0);
    assert_int_equal(parry_value_to_json(v, &b, errstr, sizeof errstr), PARRY_OK);
    assert_string_equal(b.data, texts[i]);
    parry_buf_free(&b);
    parry__v1__value__free_unpacked(v, NULL);
    json_object_put(o);
    free(exact);
  }
  /* A prefix of a longer text ends where len says. */
  json_object *o = NULL;
  assert_int_equal(parry_codec_parse_json("12345", 2, &o, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(json_object_get_int64(o), 12);
  json_object_put(o);
  assert_int_equal(parry_codec_parse_json("{\"a\":1}", 6, &o, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "unexpected end of input"));
}

/* ---- sizes and depth ---- */

static void test_huge_string(void **state) {
  (void)state;
  size_t n = 1 << 20;
  char *json = malloc(n + 64);
  size_t at = (size_t)sprintf(json, "{\"schema_version\":1,\"message\":\"");
  for (size_t i = 0; i < n; i++) json[at++] = (char)('a' + i % 26);
  strcpy(json + at, "\"}");
  Parry__V1__Event *ev = event_ok(json);
  assert_int_equal(strlen(ev->message), n);
  parry__v1__event__free_unpacked(ev, NULL);
  char *out = event_roundtrip(json, true);
  assert_string_equal(out, json);
  free(out);

  /* The caller's cap holds. */
  ev = event_ok(json);
  parry_buf_t b = PARRY_BUF_INIT(4096);
  assert_int_equal(parry_event_to_json(ev, &b, errstr, sizeof errstr), PARRY_ERR_TOO_LARGE);
  assert_non_null(strstr(errstr, "buffer cap of 4096 bytes"));
  assert_int_equal(b.len, 0);
  parry_buf_free(&b);
  parry__v1__event__free_unpacked(ev, NULL);
  free(json);
}

static char *nested(const char *head, int levels, const char *tail) {
  size_t n = strlen(head) + strlen(tail) + (size_t)levels * 8 + 16;
  char *s = malloc(n);
  size_t at = (size_t)sprintf(s, "%s", head);
  for (int i = 0; i < levels; i++) at += (size_t)sprintf(s + at, "{\"a\":");
  at += (size_t)sprintf(s + at, "1");
  for (int i = 0; i < levels; i++) s[at++] = '}';
  sprintf(s + at, "%s", tail);
  return s;
}

static void test_depth(void **state) {
  (void)state;
  /* The event object is level 1, so "d" may hold 63 levels, not 64. */
  char *ok = nested("{\"schema_version\":1,\"d\":", PARRY_CODEC_MAX_DEPTH - 1, "}");
  char *out = event_roundtrip(ok, true);
  free(out);
  char *deep = nested("{\"d\":", PARRY_CODEC_MAX_DEPTH, "}");
  event_fails(deep, PARRY_ERR_INVALID, "nesting deeper than 64 levels");
  free(ok);
  free(deep);

  char *arrays = malloc(100001);
  memset(arrays, '[', 100000);
  arrays[100000] = '\0';
  json_object *o = NULL;
  assert_int_equal(parry_codec_parse_json(arrays, 100000, &o, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "nesting deeper than 64 levels"));
  free(arrays);

  /* json-c trees built elsewhere are held to the same cap. */
  json_object *root = json_object_new_object(), *cur = root;
  for (int i = 0; i < 100; i++) {
    json_object *next = json_object_new_object();
    json_object_object_add(cur, "n", next);
    cur = next;
  }
  Parry__V1__Event *ev = NULL;
  assert_int_equal(parry_event_from_json_object(root, &ev, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "nesting deeper than 64 levels"));
  json_object_put(root);
}

/* ---- syntax ---- */

static void test_duplicate_keys(void **state) {
  (void)state;
  event_fails("{\"a\":1,\"a\":2}", PARRY_ERR_INVALID, "duplicate key \"a\"");
  event_fails("{\"x\":{\"geo\":{\"b\":1,\"b\":2}}}", PARRY_ERR_INVALID,
              "x.geo: duplicate key \"b\"");
  event_fails("{\"user\":{\"name\":\"a\",\"name\":\"b\"}}", PARRY_ERR_INVALID,
              "user: duplicate key \"name\"");
  event_fails("{\"a\":1,\"\\u0061\":2}", PARRY_ERR_INVALID, "duplicate key \"a\"");
  alert_fails("{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"count\":1,\"count\":2}",
              PARRY_ERR_INVALID, "duplicate key \"count\"");

  /* Written maps never repeat a key either. */
  Parry__V1__Value one = PARRY__V1__VALUE__INIT;
  one.kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
  Parry__V1__Entry entries[20];
  Parry__V1__Entry *ptrs[20];
  char keys[20][8];
  for (int i = 0; i < 20; i++) {
    parry__v1__entry__init(&entries[i]);
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    entries[i].key = keys[i];
    entries[i].value = &one;
    ptrs[i] = &entries[i];
  }
  Parry__V1__ValueMap map = PARRY__V1__VALUE_MAP__INIT;
  map.entries = ptrs;
  parry_buf_t b = PARRY_BUF_INIT(0);
  for (size_t n = 3; n <= 20; n += 17) { /* the pairwise and the sorted check */
    map.n_entries = n;
    assert_int_equal(parry_value_map_to_json(&map, &b, errstr, sizeof errstr), PARRY_OK);
    parry_buf_reset(&b);
    entries[n - 1].key = "k1";
    assert_int_equal(parry_value_map_to_json(&map, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
    assert_string_equal(errstr, "k1: duplicate key");
    assert_int_equal(b.len, 0);
    entries[n - 1].key = keys[n - 1];
  }
  parry_buf_free(&b);
}

static void test_trailing_garbage(void **state) {
  (void)state;
  event_fails("{} x", PARRY_ERR_INVALID, "unexpected data after the JSON value (at offset 3)");
  event_fails("{}}", PARRY_ERR_INVALID, "unexpected data after the JSON value");
  event_fails("{} {}", PARRY_ERR_INVALID, "unexpected data after the JSON value");
  Parry__V1__Event *ev = NULL;
  assert_int_equal(parry_event_from_json("{}\0junk", 7, &ev, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(errstr, "unexpected data after the JSON value"));
  ev = event_ok("\t{}\r\n ");
  parry__v1__event__free_unpacked(ev, NULL);
  event_fails("{\"a\":1,}", PARRY_ERR_INVALID, "unexpected '}', expected a string key");
  event_fails("[1,]", PARRY_ERR_INVALID, "unexpected ']', expected a value");
  event_fails("{'a':1}", PARRY_ERR_INVALID, "expected a string key");
  event_fails("{\"a\" 1}", PARRY_ERR_INVALID, "expected ':'");
  event_fails("{\"a\":tru}", PARRY_ERR_INVALID, "a: unexpected 't', expected a value");
  event_fails("{\"a\":\"unterminated}", PARRY_ERR_INVALID, "a: unterminated string");
  event_fails("{\"a\":\"\\x\"}", PARRY_ERR_INVALID, "a: invalid escape '\\x'");
  event_fails("{\"a\":\"\\u12G4\"}", PARRY_ERR_INVALID, "a: invalid \\u escape");
  event_fails("\xef\xbb\xbf{}", PARRY_ERR_INVALID, "unexpected byte 0xef, expected a value");
}

/* ---- alerts and signals ---- */

static const char alert_full[] =
    "{\"schema_version\":1,\"id\":\"a-7f3c\",\"@timestamp\":\"2024-03-05T08:20:00Z\","
    "\"rule\":{\"id\":\"0e95725d-7320-415d-80f7-004da920fc11\",\"title\":\"SSH brute force\","
    "\"level\":\"high\",\"tags\":[\"attack.credential_access\",\"attack.t1110\"],"
    "\"description\":\"Many failed logins from one source\"},"
    "\"group_by\":{\"source.ip\":\"1.2.3.4\",\"host.name\":\"bastion-1\"},\"count\":25,"
    "\"suppressed\":2,\"window\":{\"start\":\"2024-03-05T08:15:00Z\","
    "\"end\":\"2024-03-05T08:20:00Z\"},\"events\":[%s,"
    "{\"@timestamp\":\"2024-03-05T08:16:02.500Z\",\"event\":{\"id\":\"evt-2\"}}]}";

static void test_alert_roundtrip(void **state) {
  (void)state;
  char in[4096];
  snprintf(in, sizeof in, alert_full, sshd_failure);
  Parry__V1__Alert *a1 = alert_ok(in);
  assert_string_equal(a1->rule_level, "high");
  assert_int_equal(a1->n_rule_tags, 2);
  assert_int_equal(a1->n_group_by, 2);
  assert_string_equal(a1->group_by[0]->key, "source.ip");
  assert_string_equal(a1->group_by[1]->value, "bastion-1");
  assert_int_equal(a1->count, 25);
  assert_true(a1->has_window);
  assert_int_equal(a1->n_events, 2);
  assert_int_equal(a1->events[0]->schema_version, 1);
  assert_int_equal(a1->events[1]->schema_version, 0); /* a reference inherits */
  assert_string_equal(a1->events[1]->id, "evt-2");
  char *j1 = alert_json(a1);
  assert_string_equal(j1, in);
  Parry__V1__Alert *a2 = alert_ok(j1);
  assert_same_packed(&a1->base, &a2->base);
  free(j1);
  parry__v1__alert__free_unpacked(a1, NULL);
  parry__v1__alert__free_unpacked(a2, NULL);

  /* Members at their defaults are not written. */
  a1 = alert_ok("{\"@timestamp\":\"2024-03-05T08:20:00Z\",\"id\":\"\",\"count\":0,"
                "\"rule\":{\"title\":\"\",\"tags\":[]},\"group_by\":{},\"events\":[]}");
  j1 = alert_json(a1);
  assert_string_equal(j1, "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:20:00Z\"}");
  free(j1);
  parry__v1__alert__free_unpacked(a1, NULL);

  a1 = alert_ok("{\"@timestamp\":\"2024-03-05T08:20:00Z\",\"count\":18446744073709551615}");
  assert_true(a1->count == UINT64_MAX);
  j1 = alert_json(a1);
  assert_string_equal(j1, "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:20:00Z\","
                          "\"count\":18446744073709551615}");
  free(j1);
  parry__v1__alert__free_unpacked(a1, NULL);
}

static void test_alert_errors(void **state) {
  (void)state;
  const char *ts = "\"@timestamp\":\"2024-03-05T08:20:00Z\"";
  char in[512];
#define ALERT(fmt) (snprintf(in, sizeof in, fmt, ts), in)
  alert_fails(ALERT("{%s,\"severity\":3}"), PARRY_ERR_INVALID,
              "unknown key \"severity\" in an alert");
  alert_fails(ALERT("{%s,\"rule\":{\"id\":\"x\",\"author\":\"me\"}}"), PARRY_ERR_INVALID,
              "rule: unknown key \"author\"");
  alert_fails(ALERT("{%s,\"window\":{\"start\":\"2024-03-05T08:20:00Z\",\"end\":"
                    "\"2024-03-05T08:20:00Z\",\"size\":5}}"),
              PARRY_ERR_INVALID, "window: unknown key \"size\"");
  alert_fails(ALERT("{%s,\"window\":{\"start\":\"2024-03-05T08:20:00Z\"}}"), PARRY_ERR_INVALID,
              "window: missing required key \"end\"");
  alert_fails("{\"id\":\"x\"}", PARRY_ERR_INVALID, "missing required key \"@timestamp\"");
  alert_fails("{}", PARRY_ERR_INVALID, "missing required key \"@timestamp\"");
  alert_fails("[]", PARRY_ERR_INVALID, "expected an alert as a JSON object, got array");
  alert_fails(ALERT("{%s,\"count\":-1}"), PARRY_ERR_INVALID,
              "count: expected an integer 0..18446744073709551615, got -1");
  alert_fails(ALERT("{%s,\"count\":\"5\"}"), PARRY_ERR_INVALID, "count: expected an integer");
  alert_fails(ALERT("{%s,\"suppressed\":1.5}"), PARRY_ERR_INVALID, "suppressed: expected an integer");
  alert_fails(ALERT("{%s,\"rule\":{\"tags\":[\"a\",2]}}"), PARRY_ERR_INVALID,
              "rule.tags[1]: expected a string, got 2");
  alert_fails(ALERT("{%s,\"rule\":{\"level\":null}}"), PARRY_ERR_INVALID,
              "rule.level: expected a string, got null");
  alert_fails(ALERT("{%s,\"group_by\":{\"source.port\":22}}"), PARRY_ERR_INVALID,
              "group_by.source.port: expected a string, got 22");
  alert_fails(ALERT("{%s,\"events\":{}}"), PARRY_ERR_INVALID,
              "events: expected an array of events, got object");
  alert_fails(ALERT("{%s,\"events\":[{},{\"source\":{\"port\":\"x\"}}]}"), PARRY_ERR_INVALID,
              "events[1].source.port: expected an integer 0..65535, got string");
  alert_fails(ALERT("{%s,\"schema_version\":3}"), PARRY_ERR_UNSUPPORTED,
              "schema_version 3 is newer than the supported version 1");
  alert_fails(ALERT("{%s,\"events\":[{\"schema_version\":2}]}"), PARRY_ERR_UNSUPPORTED,
              "events[0].schema_version: schema_version 2 is newer");
  alert_fails("{\"@timestamp\":\"2024-03-05 08:20\"}", PARRY_ERR_INVALID,
              "@timestamp: expected an RFC 3339 time");
#undef ALERT
}

static void test_signal_roundtrip(void **state) {
  (void)state;
  char in[4096];
  snprintf(in, sizeof in,
           "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:16:01Z\","
           "\"correlation\":{\"id\":\"corr-ssh-brute-force\"},"
           "\"rule\":{\"id\":\"rule-ssh-failed\",\"title\":\"SSH failed login\"},"
           "\"group_by\":{\"source.ip\":\"1.2.3.4\"},\"value\":{\"user\":\"root\",\"n\":[1,2.5]},"
           "\"event\":%s}",
           sshd_failure);
  Parry__V1__Signal *s1 = signal_ok(in);
  assert_string_equal(s1->correlation_id, "corr-ssh-brute-force");
  assert_string_equal(s1->rule_title, "SSH failed login");
  assert_int_equal(s1->value->kind_case, PARRY__V1__VALUE__KIND_MAP_VALUE);
  assert_string_equal(s1->event->user_name, "root");
  char *j1 = signal_json(s1);
  assert_string_equal(j1, in);
  Parry__V1__Signal *s2 = signal_ok(j1);
  assert_same_packed(&s1->base, &s2->base);
  free(j1);
  parry__v1__signal__free_unpacked(s1, NULL);
  parry__v1__signal__free_unpacked(s2, NULL);

  /* A null value is a value; a missing one is not. */
  s1 = signal_ok("{\"@timestamp\":\"2024-03-05T08:16:01Z\",\"value\":null}");
  j1 = signal_json(s1);
  assert_string_equal(j1, "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:16:01Z\","
                          "\"value\":null}");
  free(j1);
  parry__v1__signal__free_unpacked(s1, NULL);

  Parry__V1__Signal *bad = NULL;
  const char *unknown = "{\"@timestamp\":\"2024-03-05T08:16:01Z\",\"rule_id\":\"x\"}";
  assert_int_equal(parry_signal_from_json(unknown, strlen(unknown), &bad, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_string_equal(errstr, "unknown key \"rule_id\" in a signal");
  const char *newer = "{\"schema_version\":2}";
  assert_int_equal(parry_signal_from_json(newer, strlen(newer), &bad, errstr, sizeof errstr),
                   PARRY_ERR_UNSUPPORTED);
  assert_null(bad);
}

/* ---- protobuf first ---- */

static void test_proto_roundtrip(void **state) {
  (void)state;
  Parry__V1__Event ev = PARRY__V1__EVENT__INIT;
  char *category[] = {"network", "intrusion_detection"};
  ev.schema_version = 1;
  ev.id = "zeek-CHhAvVGS1DHFjwGM9";
  ev.has_timestamp = 1;
  ev.timestamp_ns = 1709626542000123456LL;
  ev.event_kind = "alert";
  ev.n_event_category = 2;
  ev.event_category = category;
  ev.destination_ip = "2001:db8::1";
  ev.destination_port = 443;
  ev.has_event_severity = 1;
  ev.event_severity = -5;

  Parry__V1__Value vals[4];
  for (int i = 0; i < 4; i++) parry__v1__value__init(&vals[i]);
  vals[0].kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
  vals[0].string_value = "192.0.2.1";
  vals[1].kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
  vals[1].double_value = 0.1 + 0.2;
  vals[2].kind_case = PARRY__V1__VALUE__KIND_NULL_VALUE;
  vals[2].null_value = 1;
  vals[3].kind_case = PARRY__V1__VALUE__KIND_NUMBER_TEXT;
  vals[3].number_text = "1e999";
  Parry__V1__Entry entries[4];
  Parry__V1__Entry *ptrs[4];
  const char *keys[] = {"id.orig_h", "duration", "service", "big"};
  for (int i = 0; i < 4; i++) {
    parry__v1__entry__init(&entries[i]);
    entries[i].key = (char *)keys[i];
    entries[i].value = &vals[i];
    ptrs[i] = &entries[i];
  }
  Parry__V1__ValueMap fields = PARRY__V1__VALUE_MAP__INIT;
  fields.n_entries = 4;
  fields.entries = ptrs;
  ev.fields = &fields;

  char *j1 = event_json(&ev);
  assert_string_equal(j1, "{\"schema_version\":1,\"@timestamp\":\"2024-03-05T08:15:42.000123456Z\","
                          "\"event\":{\"id\":\"zeek-CHhAvVGS1DHFjwGM9\",\"kind\":\"alert\","
                          "\"category\":[\"network\",\"intrusion_detection\"],\"severity\":-5},"
                          "\"destination\":{\"ip\":\"2001:db8::1\",\"port\":443},"
                          "\"id.orig_h\":\"192.0.2.1\",\"duration\":0.30000000000000004,"
                          "\"service\":null,\"big\":1e999}");
  Parry__V1__Event *back = event_ok(j1);
  assert_same_packed(&ev.base, &back->base);
  parry__v1__event__free_unpacked(back, NULL);
  free(j1);
}

static void test_canonicalize(void **state) {
  (void)state;
  Parry__V1__Event *ev = event_ok("{\"source\":{\"geo\":{}},\"user\":{\"id\":1},\"zz\":2}");
  /* Shuffle fields the way a parser might build them. */
  Parry__V1__Entry **e = ev->fields->entries;
  Parry__V1__Entry *t = e[0];
  e[0] = e[2];
  e[2] = e[1];
  e[1] = t;
  assert_string_equal(e[0]->key, "zz");
  char *j1 = event_json(ev);
  Parry__V1__Event *back = event_ok(j1);
  parry_event_canonicalize(ev);
  assert_string_equal(ev->fields->entries[0]->key, "source");
  assert_string_equal(ev->fields->entries[1]->key, "user");
  assert_string_equal(ev->fields->entries[2]->key, "zz");
  assert_same_packed(&ev->base, &back->base);
  free(j1);
  parry__v1__event__free_unpacked(ev, NULL);
  parry__v1__event__free_unpacked(back, NULL);
}

static void test_write_collisions(void **state) {
  (void)state;
  Parry__V1__Event *ev = event_ok("{\"source\":{\"geo\":{\"city\":\"Oslo\"}}}");
  ev->source_ip = strdup("10.0.0.1");
  char *out = event_json(ev);
  assert_string_equal(out, "{\"schema_version\":1,\"source\":{\"ip\":\"10.0.0.1\","
                           "\"geo\":{\"city\":\"Oslo\"}}}");
  free(out);
  /* A fields entry with the typed member's own name would be a second key. */
  Parry__V1__Entry *geo = ev->fields->entries[0]->value->map_value->entries[0];
  free(geo->key);
  geo->key = strdup("ip");
  parry_buf_t b = PARRY_BUF_INIT(0);
  assert_int_equal(parry_event_to_json(ev, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_string_equal(errstr, "source.ip: in fields and also a typed field");
  parry__v1__event__free_unpacked(ev, NULL);

  ev = event_ok("{\"message\":null,\"source\":null}");
  ev->message = strdup("typed");
  assert_int_equal(parry_event_to_json(ev, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_string_equal(errstr, "message: in fields and also a typed field");
  free(ev->message);
  ev->message = strdup("");
  ev->source_port = 22;
  assert_int_equal(parry_event_to_json(ev, &b, errstr, sizeof errstr), PARRY_ERR_INVALID);
  assert_string_equal(errstr, "source: fields holds a null where typed source members are set");
  assert_int_equal(b.len, 0);
  parry__v1__event__free_unpacked(ev, NULL);
  parry_buf_free(&b);
}

/* ---- json-c trees ---- */

static void test_json_object_input(void **state) {
  (void)state;
  json_object *tree = json_tokener_parse(windows_4625);
  assert_non_null(tree);
  Parry__V1__Event *ev = NULL;
  assert_int_equal(parry_event_from_json_object(tree, &ev, errstr, sizeof errstr), PARRY_OK);
  char *out = event_json(ev);
  /* json-c keeps non-integer literals, so only the integer past uint64... */
  Parry__V1__Event *mine = event_ok(windows_4625);
  const Parry__V1__Value *big = field(ev, "winlog")->map_value->entries[4]->value;
  assert_string_equal(field(ev, "winlog")->map_value->entries[4]->key, "bignum");
  assert_string_equal(big->number_text, "18446744073709551615"); /* json-c saturated it */
  assert_string_equal(field(mine, "winlog")->map_value->entries[4]->value->number_text,
                      "123456789012345678901");
  free(out);
  parry__v1__event__free_unpacked(ev, NULL);
  parry__v1__event__free_unpacked(mine, NULL);
  json_object_put(tree);

  /* Strings with NUL or broken UTF-8 that json-c let through are refused. */
  tree = json_object_new_object();
  json_object_object_add(tree, "message", json_object_new_string_len("a\0b", 3));
  assert_int_equal(parry_event_from_json_object(tree, &ev, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_string_equal(errstr, "message: U+0000 is not supported in strings");
  json_object_put(tree);
  tree = json_object_new_object();
  json_object_object_add(tree, "x", json_object_new_string("\xfe"));
  assert_int_equal(parry_event_from_json_object(tree, &ev, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_string_equal(errstr, "x: invalid UTF-8 in string");
  json_object_put(tree);
  tree = json_object_new_object();
  json_object_object_add(tree, "x", json_object_new_double(NAN));
  assert_int_equal(parry_event_from_json_object(tree, &ev, errstr, sizeof errstr),
                   PARRY_ERR_INVALID);
  assert_string_equal(errstr, "x: not a finite number");
  json_object_put(tree);
}

/* ---- lookup ---- */

static void test_event_get(void **state) {
  (void)state;
  Parry__V1__Event *ev = event_ok(
      "{\"@timestamp\":\"2024-03-05T08:15:42.123Z\",\"event\":{\"category\":[\"authentication\"],"
      "\"code\":\"4625\"},\"source\":{\"ip\":\"1.2.3.4\",\"port\":22,\"geo\":{\"city\":\"Oslo\"}},"
      "\"user\":{\"name\":\"\"},\"logsource\":{\"product\":\"windows\"},"
      "\"TargetUserName\":\"admin\",\"id.orig_h\":\"10.0.0.1\",\"id\":{\"orig_h\":\"shadowed\","
      "\"resp_h\":\"10.0.0.2\"},\"winlog\":{\"event_data\":{\"LogonType\":3}},\"ratio\":0.5,"
      "\"tags\":[\"a\"]}");
  parry_field_t f;
  char buf[PARRY_FIELD_TEXT_MAX];
  size_t len;

  assert_int_equal(parry_event_get(ev, "source.ip", &f), PARRY_FIELD_STRING);
  assert_string_equal(f.str, "1.2.3.4");
  assert_int_equal(f.len, 7);
  assert_int_equal(parry_event_get(ev, "source.port", &f), PARRY_FIELD_INT);
  assert_int_equal(f.i, 22);
  assert_string_equal(parry_field_text(&f, buf, sizeof buf, &len), "22");
  assert_int_equal(parry_event_get(ev, "event.category", &f), PARRY_FIELD_STRINGS);
  assert_int_equal(f.n_strs, 1);
  assert_string_equal(f.strs[0], "authentication");
  assert_null(parry_field_text(&f, buf, sizeof buf, &len));
  assert_int_equal(parry_event_get(ev, "@timestamp", &f), PARRY_FIELD_TIME);
  assert_string_equal(parry_field_text(&f, buf, sizeof buf, &len), "2024-03-05T08:15:42.123Z");
  assert_int_equal(parry_event_get(ev, "logsource.product", &f), PARRY_FIELD_STRING);
  assert_string_equal(f.str, "windows");

  /* Untyped members of typed objects, vendor names, nested and flat dots. */
  assert_int_equal(parry_event_get(ev, "event.code", &f), PARRY_FIELD_VALUE);
  assert_string_equal(parry_field_text(&f, buf, sizeof buf, &len), "4625");
  assert_int_equal(parry_event_get(ev, "source.geo.city", &f), PARRY_FIELD_VALUE);
  assert_string_equal(f.value->string_value, "Oslo");
  assert_int_equal(parry_event_get(ev, "TargetUserName", &f), PARRY_FIELD_VALUE);
  assert_string_equal(f.value->string_value, "admin");
  assert_int_equal(parry_event_get(ev, "id.orig_h", &f), PARRY_FIELD_VALUE);
  assert_string_equal(f.value->string_value, "10.0.0.1");
  assert_int_equal(parry_event_get(ev, "id.resp_h", &f), PARRY_FIELD_VALUE);
  assert_string_equal(f.value->string_value, "10.0.0.2");
  assert_int_equal(parry_event_get(ev, "winlog.event_data.LogonType", &f), PARRY_FIELD_VALUE);
  assert_string_equal(parry_field_text(&f, buf, sizeof buf, &len), "3");
  assert_int_equal(len, 1);
  assert_int_equal(parry_event_get(ev, "ratio", &f), PARRY_FIELD_VALUE);
  assert_string_equal(parry_field_text(&f, buf, sizeof buf, &len), "0.5");
  assert_int_equal(parry_event_get(ev, "tags", &f), PARRY_FIELD_VALUE);
  assert_int_equal(f.value->kind_case, PARRY__V1__VALUE__KIND_LIST_VALUE);
  assert_null(parry_field_text(&f, buf, sizeof buf, &len));
  /* An empty typed value lives in fields and is found there. */
  assert_int_equal(parry_event_get(ev, "user.name", &f), PARRY_FIELD_VALUE);
  assert_string_equal(f.value->string_value, "");

  assert_int_equal(parry_event_get(ev, "destination.ip", &f), PARRY_FIELD_ABSENT);
  assert_int_equal(parry_event_get(ev, "process.pid", &f), PARRY_FIELD_ABSENT);
  assert_int_equal(parry_event_get(ev, "source.geo.country", &f), PARRY_FIELD_ABSENT);
  assert_int_equal(parry_event_get(ev, "winlog.event_data", &f), PARRY_FIELD_VALUE);
  assert_int_equal(parry_event_get(ev, "", &f), PARRY_FIELD_ABSENT);
  assert_int_equal(parry_event_get(ev, "message", &f), PARRY_FIELD_ABSENT);
  parry__v1__event__free_unpacked(ev, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_windows_4625),
      cmocka_unit_test(test_event_sshd),
      cmocka_unit_test(test_event_key_order_and_merge),
      cmocka_unit_test(test_event_absent_values_survive),
      cmocka_unit_test(test_event_empty_and_missing),
      cmocka_unit_test(test_event_normalizations),
      cmocka_unit_test(test_event_timestamps),
      cmocka_unit_test(test_event_wrong_types),
      cmocka_unit_test(test_event_newer_schema),
      cmocka_unit_test(test_event_unknown_keys_kept),
      cmocka_unit_test(test_utf8_invalid_input),
      cmocka_unit_test(test_utf8_invalid_proto),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_numbers_written),
      cmocka_unit_test(test_numbers_at_end_of_input),
      cmocka_unit_test(test_huge_string),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_trailing_garbage),
      cmocka_unit_test(test_alert_roundtrip),
      cmocka_unit_test(test_alert_errors),
      cmocka_unit_test(test_signal_roundtrip),
      cmocka_unit_test(test_proto_roundtrip),
      cmocka_unit_test(test_canonicalize),
      cmocka_unit_test(test_write_collisions),
      cmocka_unit_test(test_json_object_input),
      cmocka_unit_test(test_event_get),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
