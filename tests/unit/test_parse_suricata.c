/* The Suricata EVE parser (ingestor/parse/suricata.c): every EVE file in
 * the shared data, CrowdSec's parser expectations, and edge cases. */
#include "parse/vendor.h"
#include "test_parse_util.h"

static void test_corpus(void **state) {
  char *dir = pt_data("suricata");
  if (!dir) skip();
  static const char *const eve[] = {".json", ".ndjson", NULL};
  char **files;
  size_t n = pt_list(dir, eve, &files), total = 0;
  assert_true(n >= 30);
  static const char *const formats[] = {"suricata", NULL};
  for (int f = 0; f < 2; f++) {
    for (size_t i = 0; i < n; i++) {
      pt_run_t *r = pt_open(formats[f], files[i]);
      pt_feed_file(r, files[i]);
      const parry_stream_counts_t *c = pt_counts(r);
      printf("  %-8s %5llu records %5llu events %llu rejects  %s\n",
             formats[f] ? formats[f] : "auto", (unsigned long long)c->records,
             (unsigned long long)c->events, (unsigned long long)c->rejected,
             files[i] + strlen(parry_test_data_dir()) + 1);
      for (size_t k = 0; k < r->sink.n_rejects && k < 3; k++)
        printf("    reject: %.300s\n", r->sink.rejects[k]);
      assert_int_equal(c->rejected, 0);
      assert_true(c->events >= c->records);
      for (size_t k = 0; k < r->sink.n_events; k++) {
        json_object *ev = pt_event(r, k);
        const char *et = pt_str(ev, "event_type");
        char ds[128];
        snprintf(ds, sizeof ds, "suricata.%s", et);
        assert_string_equal(pt_str(ev, "logsource.product"), "suricata");
        assert_string_equal(pt_str(ev, "logsource.service"), et);
        assert_string_equal(pt_str(ev, "event.dataset"), ds);
        assert_string_not_equal(pt_str(ev, "@timestamp"), PT_RECEIVED_TEXT);
        assert_string_equal(pt_str(ev, "source.address"), pt_str(ev, "src_ip"));
        assert_string_equal(pt_str(ev, "event.kind"), strcmp(et, "alert") == 0 ? "alert" : "event");
        json_object_put(ev);
      }
      total += c->events;
      pt_close(r);
    }
  }
  printf("suricata: %zu files, %zu events over both runs, 0 rejects\n", n, total);
  pt_free_list(files, n);
  free(dir);
}

/* CrowdSec's suricata-evelogs parser test. Its parser.assert names, per
 * line of the log, the fields CrowdSec's parser extracts; those we produce
 * too are compared, mapped as:
 *   Meta source_ip -> source.ip        Parsed dest_ip -> destination.ip
 *   Parsed dest_port -> destination.port   Parsed proto -> proto
 *   Parsed suricata_alert_signature -> rule.name (and alert.signature)
 *   Meta suricata_alert_signature_id -> rule.id
 *   Parsed suricata_alert_signature_rev -> alert.rev
 *   Meta suricata_rule_severity -> event.severity
 *   Meta suricata_flow_id -> flow_id
 *   Meta timestamp, Enriched MarshaledTime -> @timestamp (as an instant)
 *   Parsed time -> @timestamp (CrowdSec drops the offset, which is +0000
 *                 or -0000 in this log, so the local time is UTC)
 *   Meta log_type suricata_alert -> event.kind alert
 *   Meta service suricata -> logsource.product
 * CrowdSec's own bookkeeping (program, datasource_*, sub_log_type, the raw
 * message) has no counterpart. Lines CrowdSec's parser skips (flow, stats:
 * Success == false) are events for us; nothing is asserted on them. */
static void test_crowdsec_parser_assert(void **state) {
  char *log = pt_data("crowdsec-hub/suricata-logs-evelog/suricata-logs-evelog.log");
  char *asserts = pt_data("crowdsec-hub/suricata-logs-evelog/parser.assert");
  if (!log || !asserts) skip();
  pt_run_t *r = pt_open(NULL, "eve");
  pt_feed_file(r, log);
  assert_int_equal(pt_counts(r)->rejected, 0);
  assert_int_equal(r->sink.n_events, 8);
  static const struct {
    const char *theirs, *ours;
  } map[] = {
      {"source_ip", "source.ip"},
      {"dest_ip", "destination.ip"},
      {"dest_port", "destination.port"},
      {"proto", "proto"},
      {"suricata_alert_signature", "rule.name"},
      {"suricata_alert_signature_id", "rule.id"},
      {"suricata_alert_signature_rev", "alert.rev"},
      {"suricata_rule_severity", "event.severity"},
      {"suricata_flow_id", "flow_id"},
      {"timestamp", "@timestamp"},
      {"MarshaledTime", "@timestamp"},
      {"time", "@timestamp"},
      {"log_type", "event.kind"},
      {"service", "logsource.product"},
  };
  char *text = pt_slurp(asserts, NULL);
  int checked = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    int idx;
    char stage[32], kind[16], key[64], value[256];
    if (sscanf(line, "results[\"%31[^\"]\"][\"crowdsecurity/suricata-evelogs\"][%d].Evt.%15[A-Za-z][\"%63[^\"]\"] == \"%255[^\"]\"",
               stage, &idx, kind, key, value) != 5 &&
        sscanf(line, "results[\"%31[^\"]\"][\"crowdsecurity/dateparse-enrich\"][%d].Evt.%15[A-Za-z][\"%63[^\"]\"] == \"%255[^\"]\"",
               stage, &idx, kind, key, value) != 5)
      continue;
    /* dateparse-enrich numbers only the records that reached it: alerts */
    size_t ev_index = (size_t)idx;
    if (strstr(line, "dateparse-enrich")) {
      static const size_t alerts[] = {0, 1, 4, 7};
      assert_true(idx < 4);
      ev_index = alerts[idx];
    }
    for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
      if (strcmp(map[m].theirs, key) != 0) continue;
      json_object *ev = pt_event(r, ev_index);
      const char *ours = pt_str(ev, map[m].ours);
      if (strcmp(map[m].ours, "@timestamp") == 0) {
        int64_t want, got;
        char buf[300];
        snprintf(buf, sizeof buf, "%s%s", value, strchr(value, 'Z') ? "" : "Z");
        assert_int_equal(parry_time_parse_rfc3339(buf, strlen(buf), &want), PARRY_OK);
        assert_int_equal(parry_time_parse_rfc3339(ours, strlen(ours), &got), PARRY_OK);
        assert_int_equal(want, got);
      } else if (strcmp(key, "log_type") == 0) {
        assert_string_equal(value, "suricata_alert");
        assert_string_equal(ours, "alert");
      } else {
        if (strcmp(ours, value) != 0)
          fail_msg("record %zu: %s is \"%s\", CrowdSec's %s is \"%s\"", ev_index, map[m].ours,
                   ours, key, value);
      }
      if (strcmp(key, "suricata_alert_signature") == 0)
        assert_string_equal(pt_str(ev, "alert.signature"), value);
      json_object_put(ev);
      checked++;
    }
  }
  printf("crowdsec suricata-logs-evelog: %d expectations checked\n", checked);
  assert_true(checked >= 80);
  free(text);
  pt_close(r);
  free(log);
  free(asserts);
}

static json_object *one(const char *rec) {
  pt_run_t *r = pt_open(NULL, "test");
  pt_feed(r, rec);
  if (r->sink.n_rejects) fail_msg("rejected: %s", r->sink.rejects[0]);
  assert_int_equal(r->sink.n_events, 1);
  json_object *ev = pt_event(r, 0);
  pt_close(r);
  return ev;
}

static void expect_reject(const char *format, const char *rec, const char *reason) {
  pt_run_t *r = pt_open(format, "test");
  pt_feed(r, rec);
  assert_int_equal(r->sink.n_events, 0);
  assert_int_equal(r->sink.n_rejects, 1);
  const char *got = pt_reject(r, 0);
  if (strncmp(got, reason, strlen(reason)) != 0 || got[strlen(reason)] != '\t')
    fail_msg("reason: got \"%s\", want \"%s\"", got, reason);
  pt_close(r);
}

static void test_alert(void **state) {
  json_object *ev = one(
      "{\"timestamp\":\"2017-03-25T16:49:58.856335-0600\",\"flow_id\":1127398650588751,"
      "\"event_type\":\"alert\",\"src_ip\":\"84.92.227.177\",\"src_port\":6668,"
      "\"dest_ip\":\"2001:DB8::1\",\"dest_port\":57966,\"proto\":\"TCP\",\"host\":\"sensor-1\","
      "\"community_id\":\"1:abc=\",\"app_proto\":\"ftp\",\"alert\":{\"action\":\"blocked\","
      "\"gid\":1,\"signature_id\":2000355,\"rev\":5,\"signature\":\"ET CHAT IRC\","
      "\"category\":\"Misc activity\",\"severity\":3},\"flow\":{\"bytes_toserver\":1.5e3}}");
  assert_string_equal(pt_str(ev, "@timestamp"), "2017-03-25T22:49:58.856335Z");
  assert_string_equal(pt_str(ev, "timestamp"), "2017-03-25T16:49:58.856335-0600");
  assert_string_equal(pt_str(ev, "event.kind"), "alert");
  assert_string_equal(pt_str(ev, "event.category"), "[ \"network\", \"intrusion_detection\" ]");
  assert_string_equal(pt_str(ev, "event.type"), "[ \"denied\" ]");
  assert_string_equal(pt_str(ev, "event.severity"), "3");
  assert_string_equal(pt_str(ev, "event.dataset"), "suricata.alert");
  assert_string_equal(pt_str(ev, "source.ip"), "84.92.227.177");
  assert_string_equal(pt_str(ev, "source.port"), "6668");
  assert_string_equal(pt_str(ev, "destination.ip"), "2001:db8::1"); /* canonical */
  assert_string_equal(pt_str(ev, "destination.address"), "2001:DB8::1");
  assert_string_equal(pt_str(ev, "dest_ip"), "2001:DB8::1");
  assert_string_equal(pt_str(ev, "network.transport"), "tcp");
  assert_string_equal(pt_str(ev, "network.protocol"), "ftp");
  assert_string_equal(pt_str(ev, "network.community_id"), "1:abc=");
  assert_string_equal(pt_str(ev, "rule.name"), "ET CHAT IRC");
  assert_string_equal(pt_str(ev, "rule.id"), "2000355");
  assert_string_equal(pt_str(ev, "rule.category"), "Misc activity");
  assert_string_equal(pt_str(ev, "suricata.host"), "sensor-1");
  assert_string_equal(pt_str(ev, "host"), "<absent>");
  assert_string_equal(pt_str(ev, "flow.bytes_toserver"), "1.5e3"); /* the number's text */
  assert_int_equal(json_object_get_int64(pt_at(ev, "flow_id")), 1127398650588751LL);
  assert_string_equal(pt_str(ev, "logsource.service"), "alert");
  json_object_put(ev);
}

static void test_event_types(void **state) {
  static const struct {
    const char *type, *kind, *category, *etype;
  } cases[] = {
      {"flow", "event", "[ \"network\" ]", "[ \"connection\" ]"},
      {"dns", "event", "[ \"network\" ]", "[ \"protocol\" ]"},
      {"http", "event", "[ \"network\" ]", "[ \"protocol\" ]"},
      {"tls", "event", "[ \"network\" ]", "[ \"protocol\" ]"},
      {"fileinfo", "event", "[ \"network\", \"file\" ]", "[ \"info\" ]"},
      {"anomaly", "event", "[ \"network\" ]", "[ \"info\" ]"},
      {"drop", "event", "[ \"network\" ]", "[ \"denied\" ]"},
      {"stats", "metric", "<absent>", "<absent>"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char rec[256];
    snprintf(rec, sizeof rec,
             "{\"timestamp\":\"2022-07-11T05:52:18.378379+0000\",\"event_type\":\"%s\","
             "\"app_proto\":\"failed\"}",
             cases[i].type);
    json_object *ev = one(rec);
    assert_string_equal(pt_str(ev, "event.kind"), cases[i].kind);
    assert_string_equal(pt_str(ev, "event.category"), cases[i].category);
    assert_string_equal(pt_str(ev, "event.type"), cases[i].etype);
    assert_string_equal(pt_str(ev, "network.protocol"), "<absent>");
    assert_string_equal(pt_str(ev, "@timestamp"), "2022-07-11T05:52:18.378379Z");
    json_object_put(ev);
  }
}

static void test_rejects(void **state) {
  expect_reject(NULL, "{\"timestamp\":\"yesterday\",\"event_type\":\"dns\"}",
                "suricata: timestamp is not a time: \"yesterday\"");
  expect_reject(NULL, "{\"timestamp\":12,\"event_type\":\"dns\"}",
                "suricata: timestamp is not a time: \"12\"");
  expect_reject(NULL, "{\"timestamp\":\"2022-07-11T05:52:18Z\",\"event_type\":\"dns\",\"src_port\":\"abc\"}",
                "suricata: src_port is not a port: \"abc\"");
  expect_reject(NULL, "{\"timestamp\":\"2022-07-11T05:52:18Z\",\"event_type\":\"dns\",\"dest_port\":70000}",
                "suricata: dest_port is not a port: \"70000\"");
  expect_reject("suricata", "{\"timestamp\":\"2022-07-11T05:52:18Z\"}",
                "suricata: event_type is missing or not a non-empty string");
  expect_reject("suricata", "{\"event_type\":\"\"}",
                "suricata: event_type is missing or not a non-empty string");
  expect_reject("suricata", "[3]", "element 0: suricata: an EVE record is an object, not int");
  /* the sensor name moves one level down: nesting that fits the record
   * can then be one level too deep for an event */
  char deep[512] = "{\"timestamp\":\"2022-07-11T05:52:18Z\",\"event_type\":\"x\",\"host\":";
  for (int i = 0; i < 63; i++) strcat(deep, "[");
  for (int i = 0; i < 63; i++) strcat(deep, "]");
  strcat(deep, "}");
  expect_reject(NULL, deep, "suricata: host nests deeper than 64 levels");
  /* JSON that is not UTF-8 never reaches the parser: the normalizer's
   * strict reader rejects it, naming where */
  pt_run_t *bad = pt_open("suricata", "test");
  pt_feed(bad, "{\"timestamp\":\"2022-07-11T05:52:18Z\",\"event_type\":\"dns\",\"x\":\"\xff\"}");
  assert_int_equal(bad->sink.n_rejects, 1);
  assert_non_null(strstr(pt_reject(bad, 0), "invalid JSON"));
  assert_non_null(strstr(pt_reject(bad, 0), "UTF-8"));
  pt_close(bad);
  /* not EVE: no event_type, or not a string */
  pt_run_t *r = pt_open(NULL, "test");
  pt_feed(r, "{\"timestamp\":\"2022-07-11T05:52:18Z\",\"event_type\":7}");
  json_object *ev = pt_event(r, 0);
  assert_string_equal(pt_str(ev, "logsource.product"), "<absent>");
  json_object_put(ev);
  pt_close(r);
}

static void test_missing_parts(void **state) {
  /* no timestamp: the time it was read; null ports; no addresses */
  json_object *ev = one("{\"event_type\":\"stats\",\"timestamp\":null,\"src_port\":null,"
                        "\"stats\":{\"uptime\":5}}");
  assert_string_equal(pt_str(ev, "@timestamp"), PT_RECEIVED_TEXT);
  assert_string_equal(pt_str(ev, "source"), "<absent>");
  assert_string_equal(pt_str(ev, "stats.uptime"), "5");
  json_object_put(ev);
  /* a src_ip that is not an IP stays an address */
  ev = one("{\"event_type\":\"dns\",\"timestamp\":\"2022-07-11T05:52:18Z\",\"src_ip\":\"sensor\"}");
  assert_string_equal(pt_str(ev, "source.ip"), "<absent>");
  assert_string_equal(pt_str(ev, "source.address"), "sensor");
  json_object_put(ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_corpus),
      cmocka_unit_test(test_crowdsec_parser_assert),
      cmocka_unit_test(test_alert),
      cmocka_unit_test(test_event_types),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_missing_parts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
