/* parry_pb_pack (one walk, back to front) against protobuf_c_message_pack:
 * the same bytes for Events built every way (the normalizer on sshd, JSON
 * and the shared data's logs; the JSON codec; by hand, with the oneof and
 * proto3 edge cases protobuf-c decides: empty strings, NULL members, -0.0,
 * negative numbers), for Signals and Alerts, and for a message larger than
 * the scratch buffer. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "parry/codec.h"
#include "parry/config.h"
#include "records.h"
#include "test_support.h"

static parry_buf_t scratch = PARRY_BUF_INIT(0);
static size_t compared;

static void same_bytes(const ProtobufCMessage *m) {
  size_t want_len = protobuf_c_message_get_packed_size(m);
  uint8_t *want = malloc(want_len ? want_len : 1);
  protobuf_c_message_pack(m, want);
  size_t len = 0;
  const uint8_t *got = parry_pb_pack(m, &scratch, &len);
  assert_non_null(got);
  if (len != want_len || memcmp(got, want, len) != 0) {
    size_t at = 0;
    while (at < len && at < want_len && got[at] == want[at]) at++;
    fail_msg("%s: %zu bytes, protobuf-c %zu; first difference at %zu", m->descriptor->name, len,
             want_len, at);
  }
  free(want);
  compared++;
}

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  (void)opaque;
  same_bytes(&ev->base);
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  (void)opaque, (void)source, (void)seq, (void)rec, (void)len, (void)reason;
}

static const parry_normalize_sink_t sink = {on_event, on_reject};

static void normalize_text(parry_stream_t *s, const char *text) {
  const char *p = text;
  uint64_t seq = 1;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    parry_stream_record(s, p, n, seq++, 1700000000LL * PARRY_NS_PER_SEC);
    p += n + (nl ? 1 : 0);
  }
}

static void test_normalized_events(void **state) {
  (void)state;
  parry_config_t *cfg = parry_config_new();
  parry_normalizer_t *n = NULL;
  char err[256];
  if (parry_normalizer_new(cfg, NULL, &n, err, sizeof err)) fail_msg("%s", err);
  parry_stream_t *s = parry_stream_new(n, "file:/var/log/auth.log", &sink, NULL);
  normalize_text(s,
                 "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= "
                 "uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4\n"
                 "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user webmaster "
                 "from 173.234.31.186 port 38926 ssh2\n"
                 "Dec 10 07:07:38 LabSZ sshd[24206]: message repeated 3 times: [ Failed password "
                 "for root from 52.80.34.196 port 36060 ssh2]\n"
                 "<34>1 2024-05-01T10:00:00.123Z host app 42 ID7 [x@1 a=\"b\"] hello\n"
                 "{\"a\":\"\",\"b\":null,\"c\":-0.0,\"d\":-5,\"e\":[1,2.5,\"x\",[],{}],\"f\":{\"g\":"
                 "{\"h\":true,\"i\":false}},\"n\":12345678901234567890,\"@timestamp\":\"2024-05-01T"
                 "10:00:00Z\",\"source\":{\"ip\":\"10.0.0.1\",\"port\":22}}\n"
                 "CEF:0|Vendor|Product|1.0|100|Name|5|src=10.0.0.2 suser=bob msg=hi\n");
  /* Every file of the shared data's sshd, PAM and CEF logs, when present. */
  const char *data = parry_test_data_dir();
  static const char *const files[] = {"fail2ban/logs/sshd", "fail2ban/logs/pam-generic",
                                      "crowdsec-hub/cef-logs/cef-logs.log",
                                      "crowdsec-hub/suricata-logs-evelog/suricata-logs-evelog.log",
                                      "loghub/OpenSSH/OpenSSH_2k.log"};
  for (size_t i = 0; data && i < sizeof files / sizeof files[0]; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data, files[i]);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    char line[65536];
    uint64_t seq = 1;
    while (fgets(line, sizeof line, f))
      parry_stream_record(s, line, strlen(line), seq++, 1700000000LL * PARRY_NS_PER_SEC);
    fclose(f);
  }
  printf("events compared: %zu%s\n", compared, data ? "" : " (no shared test data)");
  assert_true(compared >= 8);
  parry_stream_destroy(s);
  parry_normalizer_destroy(n);
  parry_config_destroy(cfg);
}

/* protobuf-c's own choices at the edges of proto3 and oneofs. */
static void test_edges_by_hand(void **state) {
  (void)state;
  Parry__V1__Value v = PARRY__V1__VALUE__INIT;
  same_bytes(&v.base); /* no kind */
  v.kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
  v.string_value = "";
  same_bytes(&v.base); /* oneof: an empty string is written */
  v.string_value = NULL;
  same_bytes(&v.base); /* oneof: a NULL string is not */
  v.kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
  v.double_value = -0.0;
  same_bytes(&v.base);
  v.kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
  v.int_value = INT64_MIN;
  same_bytes(&v.base);
  v.int_value = 0;
  same_bytes(&v.base); /* oneof: zero is written */
  v.kind_case = PARRY__V1__VALUE__KIND_BOOL_VALUE;
  v.bool_value = 0;
  same_bytes(&v.base);
  v.kind_case = PARRY__V1__VALUE__KIND_MAP_VALUE;
  v.map_value = NULL;
  same_bytes(&v.base); /* oneof: a NULL message is not written */

  Parry__V1__Event ev = PARRY__V1__EVENT__INIT;
  same_bytes(&ev.base); /* all defaults: nothing */
  char *cats[] = {"authentication", "", "network"};
  ev.event_category = cats;
  ev.n_event_category = 3; /* repeated: an empty string is written */
  ev.id = "";              /* proto3: an empty string is not */
  ev.event_severity = -3;
  ev.source_port = 65535;
  ev.timestamp_ns = -1;
  ev.has_timestamp = 1;
  Parry__V1__Logsource ls = PARRY__V1__LOGSOURCE__INIT;
  ev.logsource = &ls; /* an empty message is written, length 0 */
  same_bytes(&ev.base);

  /* Larger than the scratch buffer's first 4 KiB: it grows mid-walk. */
  char *big = malloc(300000);
  memset(big, 'x', 299999);
  big[299999] = '\0';
  ev.message = big;
  same_bytes(&ev.base);
  free(big);
}

static void test_signals_and_alerts(void **state) {
  (void)state;
  char err[512];
  static const char *const events[] = {
      "{\"@timestamp\":\"2024-05-01T10:00:00Z\",\"event\":{\"id\":\"e1\"},\"source\":{\"ip\":"
      "\"10.0.0.1\"},\"user\":{\"name\":\"root\"},\"k\":{\"l\":[1,\"2\",null]}}",
      "{\"@timestamp\":\"2024-05-01T10:00:01.5Z\",\"event\":{\"id\":\"e2\",\"category\":[\"a\","
      "\"b\"]},\"message\":\"m\"}",
  };
  Parry__V1__Event *evs[2];
  for (int i = 0; i < 2; i++) {
    if (parry_event_from_json(events[i], strlen(events[i]), &evs[i], err, sizeof err))
      fail_msg("%s", err);
    same_bytes(&evs[i]->base);
  }
  Parry__V1__Label l1 = PARRY__V1__LABEL__INIT, l2 = PARRY__V1__LABEL__INIT;
  l1.key = "source.ip";
  l1.value = "10.0.0.1";
  l2.key = "user.name";
  l2.value = "";
  Parry__V1__Label *labels[] = {&l1, &l2};
  Parry__V1__Alert a = PARRY__V1__ALERT__INIT;
  a.schema_version = 1;
  a.id = "abc";
  a.rule_id = "r";
  a.count = 10;
  a.group_by = labels;
  a.n_group_by = 2;
  a.events = evs;
  a.n_events = 2;
  a.window_start_ns = -5;
  a.has_window = 1;
  same_bytes(&a.base);
  Parry__V1__Signal sig = PARRY__V1__SIGNAL__INIT;
  sig.correlation_id = "c";
  sig.group_by = labels;
  sig.n_group_by = 2;
  sig.event = evs[0];
  same_bytes(&sig.base);
  for (int i = 0; i < 2; i++) parry__v1__event__free_unpacked(evs[i], NULL);
}

static int teardown(void **state) {
  (void)state;
  parry_buf_free(&scratch);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normalized_events),
      cmocka_unit_test(test_edges_by_hand),
      cmocka_unit_test(test_signals_and_alerts),
  };
  return cmocka_run_group_tests_name("pb_pack", tests, NULL, teardown);
}
