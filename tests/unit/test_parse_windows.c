/* The Windows parser (ingestor/parse/windows.c): the shared corpora in all
 * their shapes, CrowdSec's expectations for 4625 brute force, and the edge
 * cases of each shape. */
#include "parse/vendor.h"
#include "test_parse_util.h"

/* ---- corpora ---------------------------------------------------------- */

/* Every file: zero rejects, one event per record, each with its own time,
 * EventID an integer, logsource product windows. */
static void check_corpus(char **files, size_t n, const char *format, size_t *events) {
  for (size_t i = 0; i < n; i++) {
    pt_run_t *r = pt_open(format, files[i]);
    pt_feed_file(r, files[i]);
    const parry_stream_counts_t *c = pt_counts(r);
    printf("  %-8s %6llu records %6llu events %llu rejects  %s\n", format ? format : "auto",
           (unsigned long long)c->records, (unsigned long long)c->events,
           (unsigned long long)c->rejected, files[i] + strlen(parry_test_data_dir()) + 1);
    for (size_t k = 0; k < r->sink.n_rejects && k < 3; k++)
      printf("    reject: %.300s\n", r->sink.rejects[k]);
    assert_int_equal(c->rejected, 0);
    assert_int_equal(c->events, c->records);
    for (size_t k = 0; k < r->sink.n_events; k++) {
      json_object *ev = pt_event(r, k);
      if (!json_object_is_type(pt_at(ev, "EventID"), json_type_int) ||
          strcmp(pt_str(ev, "logsource.product"), "windows") != 0 ||
          strcmp(pt_str(ev, "@timestamp"), PT_RECEIVED_TEXT) == 0)
        fail_msg("%s: event %zu lacks EventID, logsource or its time: %.400s", files[i], k,
                 r->sink.events[k]);
      json_object_put(ev);
    }
    *events += c->events;
    pt_close(r);
  }
}

static void test_evtx_samples(void **state) {
  char *dir = pt_data("evtx-samples");
  if (!dir) skip();
  static const char *const jsonl[] = {".jsonl", NULL};
  char **files;
  size_t n = pt_list(dir, jsonl, &files), events = 0;
  assert_true(n > 250);
  check_corpus(files, n, "windows", &events);
  printf("evtx-samples: %zu files, %zu events, 0 rejects (--format windows)\n", n, events);
  events = 0;
  check_corpus(files, n, NULL, &events);
  printf("evtx-samples: %zu files, %zu events, 0 rejects (auto)\n", n, events);
  pt_free_list(files, n);
  free(dir);
}

static void test_otrf(void **state) {
  char *dir = pt_data("otrf-security-datasets/windows-host");
  if (!dir) skip();
  static const char *const json[] = {".json", NULL};
  char **files;
  size_t n = pt_list(dir, json, &files), events = 0;
  assert_int_equal(n, 5);
  check_corpus(files, n, "windows", &events);
  check_corpus(files, n, NULL, &events);
  printf("otrf windows-host: %zu files, %zu events (both runs), 0 rejects\n", n, events);
  pt_free_list(files, n);
  free(dir);
}

/* SigmaHQ's regression events: pretty-printed, sometimes several
 * documents in one file, so each document is fed as one record here. */
static void test_sigma_regression_data(void **state) {
  char *dir = pt_data("sigmahq/regression_data");
  if (!dir) skip();
  static const char *const json[] = {".json", NULL};
  char **files;
  size_t n = pt_list(dir, json, &files), docs = 0;
  pt_run_t *r = pt_open(NULL, "regression");
  for (size_t i = 0; i < n; i++) {
    size_t len;
    char *text = pt_slurp(files[i], &len);
    json_tokener *tok = json_tokener_new();
    size_t at = 0;
    while (at < len) {
      while (at < len && (text[at] == ' ' || text[at] == '\n' || text[at] == '\r')) at++;
      if (at == len) break;
      json_object *o = json_tokener_parse_ex(tok, text + at, (int)(len - at));
      size_t used = (size_t)json_tokener_get_parse_end(tok);
      assert_non_null(o);
      json_object_put(o);
      pt_feed_n(r, text + at, used);
      json_tokener_reset(tok);
      at += used;
      docs++;
    }
    json_tokener_free(tok);
    free(text);
  }
  const parry_stream_counts_t *c = pt_counts(r);
  printf("sigmahq regression_data: %zu files, %zu documents, %llu events, %llu rejects\n", n,
         docs, (unsigned long long)c->events, (unsigned long long)c->rejected);
  assert_int_equal(c->rejected, 0);
  assert_int_equal(c->events, docs);
  for (size_t k = 0; k < r->sink.n_events; k++) {
    json_object *ev = pt_event(r, k);
    assert_string_equal(pt_str(ev, "logsource.product"), "windows");
    json_object_put(ev);
  }
  pt_close(r);
  pt_free_list(files, n);
  free(dir);
}

/* CrowdSec's windows-bf test: six 4625 events as one-line XML, with the
 * fields its scenario.assert expects, mapped onto ours:
 *   source_ip -> source.ip, username -> user.name, logon_type -> LogonType,
 *   status -> Status, sub_status -> SubStatus, timestamp -> @timestamp,
 *   log_type windows_failed_auth -> a failed authentication (4625). */
static void test_crowdsec_windows_bf(void **state) {
  char *log = pt_data("crowdsec-hub/windows-bf/windows-bf.log");
  char *assert_file = pt_data("crowdsec-hub/windows-bf/scenario.assert");
  if (!log || !assert_file) skip();
  pt_run_t *r = pt_open(NULL, "windows-bf.log");
  pt_feed_file(r, log);
  assert_int_equal(pt_counts(r)->rejected, 0);
  char *text = pt_slurp(assert_file, NULL);
  static const struct {
    const char *meta, *ours;
  } map[] = {{"source_ip", "source.ip"},   {"username", "user.name"},
             {"logon_type", "LogonType"},  {"status", "Status"},
             {"sub_status", "SubStatus"}, {"timestamp", "@timestamp"},
             {"log_type", NULL}};
  int checked = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    int idx;
    char key[64], value[128];
    if (sscanf(line, "results[0].Overflow.Alert.Events[%d].GetMeta(\"%63[^\"]\") == \"%127[^\"]\"",
               &idx, key, value) != 3)
      continue;
    for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
      if (strcmp(map[m].meta, key) != 0) continue;
      assert_true((size_t)idx < r->sink.n_events);
      json_object *ev = pt_event(r, (size_t)idx);
      if (!map[m].ours) {
        assert_string_equal(value, "windows_failed_auth");
        assert_string_equal(pt_str(ev, "event.code"), "4625");
        assert_string_equal(pt_str(ev, "event.outcome"), "failure");
        assert_string_equal(pt_str(ev, "event.category"), "[ \"authentication\" ]");
      } else if (strcmp(key, "timestamp") == 0) {
        int64_t want, got;
        const char *t = pt_str(ev, "@timestamp");
        assert_int_equal(parry_time_parse_rfc3339(value, strlen(value), &want), PARRY_OK);
        assert_int_equal(parry_time_parse_rfc3339(t, strlen(t), &got), PARRY_OK);
        assert_int_equal(want, got);
      } else {
        assert_string_equal(pt_str(ev, map[m].ours), value);
      }
      json_object_put(ev);
      checked++;
    }
  }
  printf("crowdsec windows-bf: %d expectations checked on %zu events\n", checked,
         r->sink.n_events);
  assert_true(checked >= 6 * 7);
  free(text);
  pt_close(r);
  free(log);
  free(assert_file);
}

/* ---- the EVTX JSON shape ------------------------------------------------ */

#define SYS_SECURITY                                                                         \
  "\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Security-Auditing\"}},"      \
  "\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"2024-05-01T10:00:00.5Z\"}},"         \
  "\"Channel\":\"Security\",\"Computer\":\"DC01\""

static json_object *one_event(const char *format, const char *rec) {
  pt_run_t *r = pt_open(format, "test");
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

static void test_event_id_forms(void **state) {
  static const char *const forms[] = {
      "4624", "\"4624\"", "{\"#text\":4624}", "{\"#attributes\":{\"Qualifiers\":\"0\"},\"#text\":4624}",
      "{\"@Qualifiers\":\"0\",\"#text\":\"4624\"}", "\" 4624 \""};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char rec[512];
    snprintf(rec, sizeof rec, "{\"Event\":{\"System\":{" SYS_SECURITY ",\"EventID\":%s}}}",
             forms[i]);
    json_object *ev = one_event(NULL, rec);
    assert_true(json_object_is_type(pt_at(ev, "EventID"), json_type_int));
    assert_int_equal(json_object_get_int64(pt_at(ev, "EventID")), 4624);
    assert_string_equal(pt_str(ev, "event.code"), "4624");
    if (i == 3 || i == 4) assert_string_equal(pt_str(ev, "EventID_Qualifiers"), "0");
    json_object_put(ev);
  }
  expect_reject(NULL, "{\"Event\":{\"System\":{\"EventID\":\"abc\"}}}",
                "windows: EventID is not an integer: \"abc\"");
  expect_reject(NULL, "{\"Event\":{\"System\":{\"EventID\":4624.5}}}",
                "windows: EventID is not an integer: \"4624.5\"");
  expect_reject(NULL, "{\"Event\":{\"System\":{\"EventID\":-1}}}",
                "windows: EventID is out of range: -1");
  expect_reject(NULL, "{\"Event\":{\"System\":{\"EventID\":{\"#attributes\":{}}}}}",
                "windows: EventID has no value");
  expect_reject(NULL, "{\"Event\":{\"System\":{\"Channel\":\"Security\"}}}",
                "windows: Event.System has no EventID");
  expect_reject(NULL, "{\"Event\":{\"System\":[1]}}", "windows: Event.System is not an object");
  expect_reject("windows", "{\"Event\":5}", "windows: Event is not an object");
  expect_reject("windows", "{\"hello\":1}",
                "windows: no Event, winlog or EventID member: not a Windows event");
  expect_reject("windows", "[1]", "element 0: windows: a Windows event is a JSON object, not int");
}

static void test_attribute_variants_and_system(void **state) {
  /* #attributes and xmltodict's @-members; numeric System text becomes
   * integers; empty elements are dropped */
  json_object *a = one_event(
      NULL, "{\"Event\":{\"#attributes\":{\"xmlns\":\"x\"},\"System\":{"
            "\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Security-Auditing\","
            "\"Guid\":\"{54849625}\"}},\"EventID\":4624,\"Level\":\"0\",\"Task\":12544,"
            "\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"2024-05-01T10:00:00.123456Z\"}},"
            "\"Correlation\":null,\"Execution\":{\"#attributes\":{\"ProcessID\":\"648\","
            "\"ThreadID\":3388}},\"Channel\":\"Security\",\"Computer\":\"DC01\","
            "\"Security\":{\"#attributes\":{\"UserID\":\"S-1-5-18\"}}}}}");
  json_object *b = one_event(
      NULL, "{\"Event\":{\"System\":{\"Provider\":{\"@Name\":\"Microsoft-Windows-Security-Auditing\","
            "\"@Guid\":\"{54849625}\"},\"EventID\":{\"#text\":\"4624\"},\"Level\":0,\"Task\":\"12544\","
            "\"TimeCreated\":{\"@SystemTime\":\"2024-05-01T10:00:00.123456Z\"},"
            "\"Execution\":{\"@ProcessID\":648,\"@ThreadID\":\"3388\"},\"Channel\":\"Security\","
            "\"Computer\":\"DC01\",\"Security\":{\"@UserID\":\"S-1-5-18\"}}}}");
  json_object *both[] = {a, b};
  for (int i = 0; i < 2; i++) {
    json_object *ev = both[i];
    assert_string_equal(pt_str(ev, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
    assert_string_equal(pt_str(ev, "Provider_Guid"), "{54849625}");
    assert_string_equal(pt_str(ev, "TimeCreated"), "2024-05-01T10:00:00.123456Z");
    assert_string_equal(pt_str(ev, "@timestamp"), "2024-05-01T10:00:00.123456Z");
    assert_true(json_object_is_type(pt_at(ev, "Level"), json_type_int));
    assert_true(json_object_is_type(pt_at(ev, "Task"), json_type_int));
    assert_true(json_object_is_type(pt_at(ev, "Execution_ProcessID"), json_type_int));
    assert_true(json_object_is_type(pt_at(ev, "Execution_ThreadID"), json_type_int));
    assert_string_equal(pt_str(ev, "Security_UserID"), "S-1-5-18");
    assert_string_equal(pt_str(ev, "host.name"), "DC01");
    assert_string_equal(pt_str(ev, "event.provider"), "Microsoft-Windows-Security-Auditing");
    assert_string_equal(pt_str(ev, "Correlation"), "<absent>");
    assert_string_equal(pt_str(ev, "logsource.service"), "security");
    assert_string_equal(pt_str(ev, "event.dataset"), "windows.security");
    json_object_put(ev);
  }
}

static void test_event_data_forms(void **state) {
  static const char *const forms[] = {
      "{\"TargetUserName\":\"alice\",\"IpAddress\":\"10.0.0.9\",\"IpPort\":\"5050\"}",
      "{\"Data\":[{\"#attributes\":{\"Name\":\"TargetUserName\"},\"#text\":\"alice\"},"
      "{\"#attributes\":{\"Name\":\"IpAddress\"},\"#text\":\"10.0.0.9\"},"
      "{\"@Name\":\"IpPort\",\"#text\":\"5050\"}]}",
  };
  for (size_t i = 0; i < 2; i++) {
    char rec[1024];
    snprintf(rec, sizeof rec,
             "{\"Event\":{\"System\":{" SYS_SECURITY ",\"EventID\":4625},\"EventData\":%s}}",
             forms[i]);
    json_object *ev = one_event(NULL, rec);
    assert_string_equal(pt_str(ev, "TargetUserName"), "alice");
    assert_string_equal(pt_str(ev, "user.name"), "alice");
    assert_string_equal(pt_str(ev, "source.ip"), "10.0.0.9");
    assert_string_equal(pt_str(ev, "source.port"), "5050");
    assert_string_equal(pt_str(ev, "event.outcome"), "failure");
    assert_string_equal(pt_str(ev, "event.action"), "logon-failed");
    json_object_put(ev);
  }
  /* one Data item as an object, unnamed items as a list, a named item
   * without text as null, a plain string */
  json_object *ev = one_event(
      NULL, "{\"Event\":{\"System\":{" SYS_SECURITY ",\"EventID\":1},\"EventData\":{\"Data\":"
            "{\"#attributes\":{\"Name\":\"Only\"},\"#text\":\"one\"}}}}");
  assert_string_equal(pt_str(ev, "Only"), "one");
  json_object_put(ev);
  ev = one_event(NULL, "{\"Event\":{\"System\":{" SYS_SECURITY ",\"EventID\":7036},\"EventData\":"
                       "{\"Data\":[\"a\",{\"#text\":\"b\"},{\"#attributes\":{\"Name\":\"X\"}}]}}}");
  assert_string_equal(pt_str(ev, "Data"), "[ \"a\", \"b\" ]");
  assert_string_equal(pt_str(ev, "X"), "null");
  json_object_put(ev);
  ev = one_event(NULL, "{\"Event\":{\"System\":{" SYS_SECURITY ",\"EventID\":33205},"
                       "\"EventData\":{\"Data\":\"<string>text</string>\",\"Binary\":null}}}");
  assert_string_equal(pt_str(ev, "Data"), "<string>text</string>");
  assert_string_equal(pt_str(ev, "Binary"), "null");
  json_object_put(ev);
}

static void test_name_collisions(void **state) {
  /* an EventData item named like a System field keeps the System one; one
   * named like a typed ECS object moves under winlog. */
  json_object *ev = one_event(
      NULL, "{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"OpenSSH\"}},"
            "\"EventID\":4,\"Channel\":\"OpenSSH/Operational\",\"Computer\":\"fs01\"},"
            "\"EventData\":{\"process\":\"sshd\",\"payload\":\"Failed password\","
            "\"EventID\":\"999\",\"Channel\":\"x\"}}}");
  assert_int_equal(json_object_get_int64(pt_at(ev, "EventID")), 4);
  assert_string_equal(pt_str(ev, "Channel"), "OpenSSH/Operational");
  assert_string_equal(pt_str(ev, "EventData.EventID"), "999");
  assert_string_equal(pt_str(ev, "EventData.Channel"), "x");
  assert_string_equal(pt_str(ev, "winlog.process"), "sshd");
  assert_string_equal(pt_str(ev, "payload"), "Failed password");
  assert_string_equal(pt_str(ev, "logsource.service"), "openssh");
  json_object_put(ev);
}

static void test_user_data(void **state) {
  json_object *ev = one_event(
      NULL, "{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":"
            "\"Microsoft-Windows-Eventlog\"}},\"EventID\":1102,\"Channel\":\"Security\","
            "\"Computer\":\"PC\"},\"UserData\":{\"LogFileCleared\":{\"#attributes\":{\"xmlns\":\"u\"},"
            "\"SubjectUserName\":\"jwrig\",\"SubjectDomainName\":\"PC\"}}}}");
  assert_string_equal(pt_str(ev, "SubjectUserName"), "jwrig");
  assert_string_equal(pt_str(ev, "user.name"), "jwrig");
  assert_string_equal(pt_str(ev, "user.domain"), "PC");
  assert_string_equal(pt_str(ev, "xmlns"), "<absent>");
  json_object_put(ev);
}

/* ---- ECS and logsource ----------------------------------------------------- */

static json_object *security(int id, const char *data) {
  char rec[2048];
  snprintf(rec, sizeof rec, "{\"Event\":{\"System\":{" SYS_SECURITY ",\"EventID\":%d},\"EventData\":{%s}}}",
           id, data);
  return one_event(NULL, rec);
}

static void test_logon_events(void **state) {
  json_object *ev = security(4624, "\"TargetUserName\":\"bob\",\"TargetDomainName\":\"CORP\","
                                   "\"IpAddress\":\"::1\",\"IpPort\":\"0\",\"LogonType\":\"3\","
                                   "\"WorkstationName\":\"WS7\"");
  assert_string_equal(pt_str(ev, "event.category"), "[ \"authentication\" ]");
  assert_string_equal(pt_str(ev, "event.type"), "[ \"start\" ]");
  assert_string_equal(pt_str(ev, "event.outcome"), "success");
  assert_string_equal(pt_str(ev, "event.action"), "logged-in");
  assert_string_equal(pt_str(ev, "user.name"), "bob");
  assert_string_equal(pt_str(ev, "user.domain"), "CORP");
  assert_string_equal(pt_str(ev, "source.ip"), "::1"); /* loopback is kept */
  assert_string_equal(pt_str(ev, "source.port"), "<absent>"); /* 0 is no port */
  assert_string_equal(pt_str(ev, "source.domain"), "WS7");
  assert_string_equal(pt_str(ev, "LogonType"), "3");
  json_object_put(ev);

  ev = security(4625, "\"TargetUserName\":\"bob\",\"IpAddress\":\"-\",\"IpPort\":\"-\"");
  assert_string_equal(pt_str(ev, "source"), "<absent>");
  assert_string_equal(pt_str(ev, "event.outcome"), "failure");
  json_object_put(ev);

  ev = security(4776, "\"TargetUserName\":\"bob\",\"Status\":\"0x0\"");
  assert_string_equal(pt_str(ev, "event.outcome"), "success");
  assert_string_equal(pt_str(ev, "event.action"), "credential-validated");
  json_object_put(ev);
  ev = security(4776, "\"TargetUserName\":\"bob\",\"Status\":\"0xc000006a\"");
  assert_string_equal(pt_str(ev, "event.outcome"), "failure");
  json_object_put(ev);
  static const struct {
    int id;
    const char *action, *outcome;
  } more[] = {{4634, "logged-out", "success"},
              {4648, "logged-in-explicit", "success"},
              {4740, "locked-out-user-account", "success"},
              {4771, "kerberos-preauth-failed", "failure"}};
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
    ev = security(more[i].id, "\"TargetUserName\":\"bob\"");
    assert_string_equal(pt_str(ev, "event.action"), more[i].action);
    assert_string_equal(pt_str(ev, "event.outcome"), more[i].outcome);
    assert_string_equal(pt_str(ev, "user.name"), "bob");
    json_object_put(ev);
  }
  /* not a logon: the actor is the subject */
  ev = security(4720, "\"SubjectUserName\":\"admin\",\"TargetUserName\":\"newbie\"");
  assert_string_equal(pt_str(ev, "user.name"), "admin");
  assert_string_equal(pt_str(ev, "event.category"), "<absent>");
  json_object_put(ev);
}

static void test_process_creation(void **state) {
  json_object *ev = security(4688, "\"SubjectUserName\":\"alice\",\"NewProcessId\":\"0x1a4\","
                                   "\"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\","
                                   "\"ProcessId\":\"0x2c0\",\"CommandLine\":\"cmd /c whoami\","
                                   "\"ParentProcessName\":\"C:\\\\Windows\\\\explorer.exe\"");
  assert_string_equal(pt_str(ev, "logsource.category"), "process_creation");
  assert_string_equal(pt_str(ev, "process.name"), "cmd.exe");
  assert_string_equal(pt_str(ev, "process.executable"), "C:\\Windows\\System32\\cmd.exe");
  assert_int_equal(json_object_get_int64(pt_at(ev, "process.pid")), 0x1a4);
  assert_string_equal(pt_str(ev, "process.command_line"), "cmd /c whoami");
  assert_int_equal(json_object_get_int64(pt_at(ev, "process.parent.pid")), 0x2c0);
  assert_string_equal(pt_str(ev, "process.parent.name"), "explorer.exe");
  assert_string_equal(pt_str(ev, "user.name"), "alice");
  assert_string_equal(pt_str(ev, "event.category"), "[ \"process\" ]");
  json_object_put(ev);
}

static json_object *sysmon(int id, const char *data) {
  char rec[2048];
  snprintf(rec, sizeof rec,
           "{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Sysmon\"}},"
           "\"EventID\":%d,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"WS\"},"
           "\"EventData\":{\"UtcTime\":\"2024-01-02 03:04:05.678\"%s%s}}}",
           id, *data ? "," : "", data);
  return one_event(NULL, rec);
}

static void test_sysmon_categories(void **state) {
  static const struct {
    int id;
    const char *data, *category;
  } cases[] = {
      {1, "", "process_creation"},          {3, "", "network_connection"},
      {5, "", "process_termination"},       {7, "", "image_load"},
      {10, "", "process_access"},           {11, "", "file_event"},
      {12, "\"EventType\":\"CreateKey\"", "registry_add"},
      {12, "\"EventType\":\"DeleteKey\"", "registry_delete"},
      {13, "", "registry_set"},             {14, "", "registry_rename"},
      {17, "", "pipe_created"},             {22, "", "dns_query"},
      {23, "", "file_delete"},              {255, "", "sysmon_error"},
      {9999, "", "<absent>"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_object *ev = sysmon(cases[i].id, cases[i].data);
    assert_string_equal(pt_str(ev, "logsource.service"), "sysmon");
    assert_string_equal(pt_str(ev, "logsource.category"), cases[i].category);
    /* no TimeCreated: Sysmon's UtcTime gives the time */
    assert_string_equal(pt_str(ev, "@timestamp"), "2024-01-02T03:04:05.678Z");
    json_object_put(ev);
  }
  json_object *ev = sysmon(3, "\"SourceIp\":\"10.1.1.1\",\"SourcePort\":\"50000\","
                              "\"DestinationIp\":\"8.8.8.8\",\"DestinationPort\":\"53\","
                              "\"Image\":\"C:\\\\x\\\\y.exe\",\"ProcessId\":\"42\","
                              "\"User\":\"CORP\\\\carol\"");
  assert_string_equal(pt_str(ev, "source.ip"), "10.1.1.1");
  assert_string_equal(pt_str(ev, "source.port"), "50000");
  assert_string_equal(pt_str(ev, "destination.ip"), "8.8.8.8");
  assert_string_equal(pt_str(ev, "destination.port"), "53");
  assert_string_equal(pt_str(ev, "process.name"), "y.exe");
  assert_string_equal(pt_str(ev, "process.pid"), "42");
  assert_string_equal(pt_str(ev, "user.name"), "carol");
  assert_string_equal(pt_str(ev, "user.domain"), "CORP");
  assert_string_equal(pt_str(ev, "event.category"), "[ \"network\" ]");
  json_object_put(ev);
}

static void test_channels(void **state) {
  static const struct {
    const char *channel;
    int id;
    const char *service, *category;
  } cases[] = {
      {"security", 4688, "security", "process_creation"}, /* OTRF writes it in lower case */
      {"System", 7045, "system", "<absent>"},
      {"Windows PowerShell", 800, "powershell-classic", "ps_classic_script"},
      {"Microsoft-Windows-PowerShell/Operational", 4104, "powershell", "ps_script"},
      {"PowerShellCore/Operational", 4103, "<absent>", "ps_module"},
      {"Microsoft-Windows-TaskScheduler/Operational", 106, "taskscheduler", "<absent>"},
      {"Microsoft-Windows-Windows Defender/Operational", 1116, "windefend", "<absent>"},
      {"Some-Custom/Channel", 1, "<absent>", "<absent>"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char rec[512];
    snprintf(rec, sizeof rec, "{\"EventID\":%d,\"Channel\":\"%s\",\"Hostname\":\"h\"}",
             cases[i].id, cases[i].channel);
    json_object *ev = one_event(NULL, rec);
    assert_string_equal(pt_str(ev, "logsource.product"), "windows");
    assert_string_equal(pt_str(ev, "logsource.service"), cases[i].service);
    assert_string_equal(pt_str(ev, "logsource.category"), cases[i].category);
    json_object_put(ev);
  }
}

/* ---- the flattened and Winlogbeat shapes ------------------------------------ */

static void test_flat_shape(void **state) {
  json_object *ev = one_event(
      NULL, "{\"SourceName\":\"Microsoft-Windows-Security-Auditing\",\"Channel\":\"Security\","
            "\"Hostname\":\"WS5.corp\",\"TimeCreated\":\"2020-10-18 07:50:06.220\","
            "\"@timestamp\":\"2020-10-18T07:50:09.000Z\",\"EventID\":4625,\"Task\":\"12544\","
            "\"host\":\"wec.internal\",\"port\":64545,\"tags\":[\"a\"],\"TargetUserName\":\"eve\","
            "\"IpAddress\":\"192.0.2.7\",\"IpPort\":\"4444\"}");
  assert_string_equal(pt_str(ev, "@timestamp"), "2020-10-18T07:50:06.220Z");
  assert_string_equal(pt_str(ev, "event.ingested"), "2020-10-18T07:50:09.000Z");
  assert_string_equal(pt_str(ev, "Computer"), "WS5.corp");
  assert_string_equal(pt_str(ev, "Hostname"), "WS5.corp");
  assert_string_equal(pt_str(ev, "host.name"), "WS5.corp");
  assert_string_equal(pt_str(ev, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
  assert_string_equal(pt_str(ev, "winlog.host"), "wec.internal");
  assert_true(json_object_is_type(pt_at(ev, "Task"), json_type_int));
  assert_string_equal(pt_str(ev, "source.ip"), "192.0.2.7");
  assert_string_equal(pt_str(ev, "source.port"), "4444");
  assert_string_equal(pt_str(ev, "user.name"), "eve");
  json_object_put(ev);
  /* only Logstash's time: it is the event's */
  ev = one_event(NULL, "{\"EventID\":1,\"Channel\":\"Application\",\"@timestamp\":\"2020-09-22T08:28:23.382Z\"}");
  assert_string_equal(pt_str(ev, "@timestamp"), "2020-09-22T08:28:23.382Z");
  assert_string_equal(pt_str(ev, "event.ingested"), "<absent>");
  json_object_put(ev);
  expect_reject("windows", "{\"EventID\":\"4624x\",\"Channel\":\"Security\"}",
                "windows: EventID is not an integer: \"4624x\"");
}

static void test_winlogbeat_shape(void **state) {
  json_object *ev = one_event(
      NULL, "{\"@timestamp\":\"2024-03-01T12:00:00.000Z\",\"message\":\"An account failed to log on.\","
            "\"event\":{\"code\":\"4625\",\"kind\":\"event\",\"provider\":\"Microsoft-Windows-Security-Auditing\","
            "\"outcome\":\"failure\",\"action\":\"logon-failed\",\"category\":[\"authentication\"]},"
            "\"host\":{\"name\":\"dc01.corp\"},\"source\":{\"ip\":\"203.0.113.5\",\"port\":51515},"
            "\"winlog\":{\"channel\":\"Security\",\"event_id\":\"4625\",\"computer_name\":\"dc01.corp\","
            "\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"record_id\":\"12345\","
            "\"event_data\":{\"TargetUserName\":\"administrator\",\"LogonType\":\"3\","
            "\"IpAddress\":\"203.0.113.5\",\"IpPort\":\"51515\"}}}");
  assert_string_equal(pt_str(ev, "@timestamp"), "2024-03-01T12:00:00Z");
  assert_int_equal(json_object_get_int64(pt_at(ev, "EventID")), 4625);
  assert_string_equal(pt_str(ev, "Channel"), "Security");
  assert_string_equal(pt_str(ev, "Computer"), "dc01.corp");
  assert_string_equal(pt_str(ev, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
  assert_true(json_object_is_type(pt_at(ev, "EventRecordID"), json_type_int));
  assert_string_equal(pt_str(ev, "TargetUserName"), "administrator");
  assert_string_equal(pt_str(ev, "winlog.event_data"), "<absent>");
  assert_string_equal(pt_str(ev, "winlog.channel"), "Security");
  assert_string_equal(pt_str(ev, "user.name"), "administrator");
  assert_string_equal(pt_str(ev, "source.ip"), "203.0.113.5");
  assert_string_equal(pt_str(ev, "message"), "An account failed to log on.");
  assert_string_equal(pt_str(ev, "logsource.service"), "security");
  json_object_put(ev);
  expect_reject("windows", "{\"winlog\":{\"channel\":\"Security\"}}",
                "windows: winlog has no event_id");
  expect_reject("windows", "{\"winlog\":{\"event_id\":\"x1\"}}",
                "windows: winlog.event_id is not an integer: \"x1\"");
  expect_reject("windows", "{\"winlog\":{\"event_id\":1},\"source\":{\"ip\":\"nope\"}}",
                "windows: source.ip: expected an IPv4 or IPv6 address, got \"nope\"");
}

/* ---- XML -------------------------------------------------------------------- */

static void test_xml(void **state) {
  json_object *ev = one_event(
      NULL, "<?xml version=\"1.0\"?><Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">"
            "<System><Provider Name=\"Microsoft-Windows-Security-Auditing\" Guid=\"{5484}\"/>"
            "<EventID Qualifiers=\"\">4625</EventID><Level>0</Level><Task>12544</Task>"
            "<TimeCreated SystemTime=\"2022-04-29T12:36:01.9027913Z\"/><EventRecordID>2559</EventRecordID>"
            "<Correlation/><Execution ProcessID=\"712\" ThreadID=\"20372\"/><Channel>Security</Channel>"
            "<Computer>exchange-1</Computer><Security/></System><EventData>"
            "<Data Name=\"TargetUserName\">a&amp;b &lt;x&gt; &#x41;&#66;</Data>"
            "<Data Name=\"IpAddress\">192.168.9.212</Data><Data Name=\"IpPort\">0</Data>"
            "<Data Name=\"Empty\"/><Data Name=\"Cdata\"><![CDATA[<raw> & stuff]]></Data>"
            "<!-- a comment --></EventData>"
            "<RenderingInfo Culture=\"en-US\"><Message>An account failed to log on.</Message></RenderingInfo>"
            "</Event>");
  assert_int_equal(json_object_get_int64(pt_at(ev, "EventID")), 4625);
  assert_true(json_object_is_type(pt_at(ev, "Level"), json_type_int));
  assert_true(json_object_is_type(pt_at(ev, "EventRecordID"), json_type_int));
  assert_true(json_object_is_type(pt_at(ev, "Execution_ProcessID"), json_type_int));
  assert_string_equal(pt_str(ev, "EventID_Qualifiers"), "<absent>");
  assert_string_equal(pt_str(ev, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
  assert_string_equal(pt_str(ev, "TargetUserName"), "a&b <x> AB");
  assert_string_equal(pt_str(ev, "user.name"), "a&b <x> AB");
  assert_string_equal(pt_str(ev, "Empty"), "null");
  assert_string_equal(pt_str(ev, "Cdata"), "<raw> & stuff");
  assert_string_equal(pt_str(ev, "RenderingInfo.Message"), "An account failed to log on.");
  assert_string_equal(pt_str(ev, "source.ip"), "192.168.9.212");
  assert_string_equal(pt_str(ev, "@timestamp"), "2022-04-29T12:36:01.902791300Z");
  assert_non_null(strstr(pt_str(ev, "message"), "<EventID Qualifiers=\"\">4625</EventID>"));
  json_object_put(ev);

  /* unnamed Data, UserData, a namespace prefix, invalid UTF-8 */
  ev = one_event("windows", "<evt:Event xmlns:evt=\"e\"><evt:System><evt:EventID>7036</evt:EventID>"
                            "<evt:Channel>System</evt:Channel></evt:System><evt:EventData>"
                            "<evt:Data>one</evt:Data><evt:Data>tw\xffo</evt:Data></evt:EventData>"
                            "</evt:Event>");
  assert_string_equal(pt_str(ev, "Data"), "[ \"one\", \"tw\xEF\xBF\xBDo\" ]");
  assert_string_equal(pt_str(ev, "logsource.service"), "system");
  json_object_put(ev);
  ev = one_event(NULL, "<Event><System><EventID>1102</EventID></System><UserData>"
                       "<LogFileCleared xmlns=\"u\"><SubjectUserName>jwrig</SubjectUserName>"
                       "</LogFileCleared></UserData></Event>");
  assert_string_equal(pt_str(ev, "SubjectUserName"), "jwrig");
  json_object_put(ev);

  expect_reject(NULL, "<Event><System><EventID>4625</EventID></System>",
                "windows: the XML ends inside an element (at byte 47)");
  expect_reject(NULL, "<Event><System><EventID>4625</EventID></Sys></Event>",
                "windows: an XML end tag does not match its start tag (at byte 43)");
  expect_reject(NULL, "<Event><System><EventID>x</EventID></System></Event>",
                "windows: EventID is not an integer: \"x\"");
  expect_reject(NULL, "<Event><EventData/></Event>", "windows: Event has no System");
  expect_reject("windows", "<Events><Event/></Events>",
                "windows: the XML element is <\"Events\">, not <Event>");
  expect_reject("windows", "<Event a=b/>", "windows: an XML attribute value is not quoted (at byte 9)");
  expect_reject("windows", "plain text", "windows: the record is not an XML element");
  expect_reject("windows", "<Event><System><EventID>1</EventID></System></Event>junk",
                "windows: data after the XML element (at byte 52)");
  /* nesting is bounded */
  char deep[2048] = "<Event>";
  for (int i = 0; i < 40; i++) strcat(deep, "<a>");
  expect_reject("windows", deep, "windows: the XML nests deeper than 32 elements (at byte 100)");
}

static void test_detection(void **state) {
  /* each shape is claimed by windows in auto mode; other JSON is not */
  pt_run_t *r = pt_open(NULL, "test");
  pt_feed(r, "{\"Event\":{\"System\":{\"EventID\":1}}}");
  pt_feed(r, "{\"winlog\":{\"event_id\":1}}");
  pt_feed(r, "{\"EventID\":1,\"Channel\":\"Security\"}");
  pt_feed(r, "  <Event><System><EventID>1</EventID></System></Event>");
  pt_feed(r, "{\"EventID\":1}");          /* no Channel/Computer/...: generic JSON */
  pt_feed(r, "{\"Event\":\"not windows\"}"); /* generic JSON */
  assert_int_equal(r->sink.n_events, 6);
  for (size_t i = 0; i < 6; i++) {
    json_object *ev = pt_event(r, i);
    assert_string_equal(pt_str(ev, "logsource.product"), i < 4 ? "windows" : "<absent>");
    json_object_put(ev);
  }
  pt_close(r);
}

static void test_too_wide(void **state) {
  /* records wider than PARRY_VENDOR_MAX_FIELDS are refused, cheaply */
  size_t n = PARRY_VENDOR_MAX_FIELDS + 10;
  char *rec = malloc(n * 24 + 200);
  size_t o = (size_t)sprintf(rec, "{\"EventID\":1,\"Channel\":\"Security\"");
  for (size_t i = 0; i < n; i++) o += (size_t)sprintf(rec + o, ",\"k%zu\":1", i);
  strcpy(rec + o, "}");
  expect_reject(NULL, rec, "windows: the event has 4108 fields, more than 4096");
  free(rec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_evtx_samples),
      cmocka_unit_test(test_otrf),
      cmocka_unit_test(test_sigma_regression_data),
      cmocka_unit_test(test_crowdsec_windows_bf),
      cmocka_unit_test(test_event_id_forms),
      cmocka_unit_test(test_attribute_variants_and_system),
      cmocka_unit_test(test_event_data_forms),
      cmocka_unit_test(test_name_collisions),
      cmocka_unit_test(test_user_data),
      cmocka_unit_test(test_logon_events),
      cmocka_unit_test(test_process_creation),
      cmocka_unit_test(test_sysmon_categories),
      cmocka_unit_test(test_channels),
      cmocka_unit_test(test_flat_shape),
      cmocka_unit_test(test_winlogbeat_shape),
      cmocka_unit_test(test_xml),
      cmocka_unit_test(test_detection),
      cmocka_unit_test(test_too_wide),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
