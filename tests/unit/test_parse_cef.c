/* The CEF parser (ingestor/parse/cef.c): jc's CEF samples against jc's
 * expected parse, CrowdSec's cef-logs expectations, and the format's edge
 * cases. */
#include <ctype.h>

#include "test_parse_util.h"

/* ---- jc's samples ----------------------------------------------------- */

/* jc (github.com/kellyjonbrazil/jc, parsers/cef.py, built on pycef) writes
 * one object per line of cef.out into cef.json. To compare, we undo what jc
 * does on top of parsing:
 *   - header fields are deviceVendor, deviceProduct, deviceVersion,
 *     deviceEventClassId, name, agentSeverity, CEFVersion;
 *   - keys are rewritten: every character outside [A-Za-z0-9] becomes '_',
 *     then '_' is trimmed at both ends ("Auth.NAS-Port" -> "Auth_NAS_Port");
 *   - a custom field with a label (cs1 + cs1Label) appears under the
 *     label's rewritten text, which is our cef.custom.<label>;
 *   - values are trimmed, and jc unescapes \" \] \% \# as well as the CEF
 *     escapes (we keep those backslashes: they are not CEF escapes);
 *   - numbers: the extension keys CEF types as integers (cn1, in, dpt, ...)
 *     and floats (cfp1) are converted, and derived keys are added
 *     (agentSeverityString/Num, deviceEventClassIdNum, <key>_epoch...).
 * Where jc's key pattern ([^=\s]+=) finds keys that CEF's does not (letters,
 * digits and _.-[] after a space), we differ; those cases are listed in
 * `deviations` and must be exactly the ones seen. */
static void jc_key(const char *in, size_t len, char *out, size_t size) {
  size_t o = 0;
  for (size_t i = 0; i < len && o + 1 < size; i++)
    out[o++] = isalnum((unsigned char)in[i]) ? in[i] : '_';
  out[o] = '\0';
  size_t a = 0;
  while (out[a] == '_') a++;
  memmove(out, out + a, strlen(out + a) + 1);
  size_t z = strlen(out);
  while (z && out[z - 1] == '_') out[--z] = '\0';
}

static void jc_value(const char *in, char *out, size_t size) {
  size_t o = 0;
  for (size_t i = 0; in[i] && o + 1 < size; i++) {
    if (in[i] == '\\' && in[i + 1] && strchr("\"]%#", in[i + 1])) i++;
    out[o++] = in[i];
  }
  out[o] = '\0';
}

/* Our value for jc's key: an extension whose rewritten key matches, or a
 * labelled custom field. */
static const char *ours_for(json_object *ev, const char *jkey, char *buf, size_t size) {
  static const char *const maps[] = {"cef.extensions", "cef.custom"};
  for (int m = 0; m < 2; m++) {
    json_object *map = pt_at(ev, maps[m]);
    if (!map) continue;
    json_object_object_foreach(map, k, v) {
      char rk[256];
      jc_key(k, strlen(k), rk, sizeof rk);
      if (strcmp(rk, jkey) == 0) {
        jc_value(json_object_get_string(v), buf, size);
        return buf;
      }
    }
  }
  return NULL;
}

static bool derived(const char *key) {
  static const char *const names[] = {"deviceVendor", "deviceProduct", "deviceVersion",
                                      "deviceEventClassId", "name", "agentSeverity", "CEFVersion",
                                      "agentSeverityString", "agentSeverityNum",
                                      "deviceEventClassIdNum", NULL};
  for (int i = 0; names[i]; i++)
    if (strcmp(names[i], key) == 0) return true;
  return pt_has_suffix(key, "_epoch") || pt_has_suffix(key, "_epoch_utc");
}

static void test_jc_samples(void **state) {
  char *out_path = pt_data("cef/jc/cef.out");
  char *json_path = pt_data("cef/jc/cef.json");
  if (!out_path || !json_path) skip();
  json_object *expected = json_object_from_file(json_path);
  assert_non_null(expected);
  size_t n_expected = json_object_array_length(expected);
  /* jc reads every line with "CEF:" in it, whatever comes before; so does
   * --format cef */
  pt_run_t *r = pt_open("cef", "cef.out");
  pt_feed_file(r, out_path);
  const parry_stream_counts_t *c = pt_counts(r);
  printf("jc cef.out: %llu records, %llu events, %llu rejects\n", (unsigned long long)c->records,
         (unsigned long long)c->events, (unsigned long long)c->rejected);
  assert_int_equal(c->records, n_expected);
  static const char *const deviations[] = {
      /* msg="EventID=..." : jc takes `"EventID` for a key; in CEF a key
       * follows a space, so EventID=... stays inside msg */
      "0:EventID", "1:EventID",
      /* ...TargetType=N/TrendMicroDsFileMD5=44D8...: '/' is not a key
       * character, the MD5 stays inside TrendMicroDsMalwareTargetType */
      "3:N_TrendMicroDsFileMD5",
  };
  size_t n_dev = sizeof deviations / sizeof deviations[0], seen_dev = 0;
  size_t ev_i = 0, values = 0;
  for (size_t i = 0; i < n_expected; i++) {
    json_object *want = json_object_array_get_idx(expected, i);
    if (pt_at(want, "unparsable")) {
      /* jc's "unparsable": our one reject */
      assert_int_equal(c->rejected, 1);
      assert_non_null(strstr(pt_reject(r, 0), "cef: no CEF header"));
      continue;
    }
    json_object *ev = pt_event(r, ev_i++);
    static const struct {
      const char *jc, *ours;
    } header[] = {{"deviceVendor", "cef.device_vendor"},     {"deviceProduct", "cef.device_product"},
                  {"deviceVersion", "cef.device_version"},   {"deviceEventClassId", "cef.signature_id"},
                  {"name", "cef.name"},                      {"agentSeverity", "cef.severity"},
                  {"CEFVersion", "cef.version"}};
    for (size_t h = 0; h < sizeof header / sizeof header[0]; h++) {
      assert_string_equal(pt_str(want, header[h].jc), pt_str(ev, header[h].ours));
      values++;
    }
    json_object_object_foreach(want, key, val) {
      if (derived(key)) continue;
      char buf[4096], wantbuf[4096];
      const char *ours = ours_for(ev, key, buf, sizeof buf);
      snprintf(wantbuf, sizeof wantbuf, "%s", json_object_get_string(val));
      if (ours && strcmp(ours, wantbuf) == 0) {
        values++;
        continue;
      }
      char tag[300];
      snprintf(tag, sizeof tag, "%zu:%s", i, key);
      bool known = false;
      for (size_t d = 0; d < n_dev; d++) known |= strcmp(deviations[d], tag) == 0;
      printf("  %s line %zu: %s: jc \"%.200s\", ours %s%.200s%s\n",
             known ? "known difference" : "DIFFERS", i, key, wantbuf, ours ? "\"" : "",
             ours ? ours : "(none)", ours ? "\"" : "");
      if (!known) fail_msg("line %zu: %s differs from jc's parse", i, key);
      seen_dev++;
    }
    /* the ECS side of a few */
    if (strcmp(pt_str(want, "deviceVendor"), "Incapsula") == 0) {
      assert_string_equal(pt_str(ev, "source.ip"), "12.12.12.12");
      assert_string_equal(pt_str(ev, "event.severity"), pt_str(want, "agentSeverity"));
    }
    json_object_put(ev);
  }
  printf("jc: %zu header and extension values agree, %zu known differences\n", values, seen_dev);
  assert_int_equal(seen_dev, n_dev);
  assert_true(values > 250);
  json_object_put(expected);
  pt_close(r);
  free(out_path);
  free(json_path);
}

/* CrowdSec's cef-logs parser test: header fields by their names there.
 * Line 4 is CEF inside a BSD syslog line; its syslog part (hostname,
 * timestamp) is the syslog parser's business, so only the CEF part is
 * checked here, with --format cef. Lines 1-3 are also checked through
 * auto-detection (bare "CEF:", "CEF: 0|" and the version alone). */
static void test_crowdsec_cef_logs(void **state) {
  char *log = pt_data("crowdsec-hub/cef-logs/cef-logs.log");
  char *asserts = pt_data("crowdsec-hub/cef-logs/parser.assert");
  if (!log || !asserts) skip();
  static const struct {
    const char *theirs, *ours;
  } map[] = {{"cef_device_product", "cef.device_product"}, {"cef_device_vendor", "cef.device_vendor"},
             {"cef_device_version", "cef.device_version"}, {"cef_event_name", "cef.name"},
             {"cef_severity", "cef.severity"},             {"cef_signature_id", "cef.signature_id"},
             {"cef_version", "cef.version"},               {"logsource", "logsource.product"}};
  for (int pass = 0; pass < 2; pass++) {
    pt_run_t *r = pt_open(pass == 0 ? "cef" : NULL, "cef-logs.log");
    pt_feed_file(r, log);
    char *text = pt_slurp(asserts, NULL);
    int checked = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      int idx;
      char key[64], value[256];
      if (sscanf(line, "results[\"s00-raw\"][\"crowdsecurity/cef-logs\"][%d].Evt.Parsed[\"%63[^\"]\"] == \"%255[^\"]\"",
                 &idx, key, value) != 3)
        continue;
      if (pass == 1 && idx == 3) continue;
      for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
        if (strcmp(map[m].theirs, key) != 0) continue;
        assert_true((size_t)idx < r->sink.n_events);
        json_object *ev = pt_event(r, (size_t)idx);
        assert_string_equal(pt_str(ev, map[m].ours), value);
        json_object_put(ev);
        checked++;
      }
    }
    printf("crowdsec cef-logs (%s): %d expectations checked\n", pass == 0 ? "--format cef" : "auto",
           checked);
    assert_int_equal(checked, pass == 0 ? 4 * 8 : 3 * 8);
    free(text);
    pt_close(r);
  }
  free(log);
  free(asserts);
}

/* ---- edge cases ------------------------------------------------------------ */

static json_object *one(const char *format, const char *rec) {
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

static void test_escapes(void **state) {
  json_object *ev = one(NULL, "CEF:0|Ven\\|dor|Pro\\\\duct|1.0|100|Name with \\| pipe|5|"
                              "msg=a \\= b \\\\ c\\nd\\re cs1=C:\\Users\\x cs1Label=Path "
                              "act=blocked and logged   dst=10.0.0.1");
  assert_string_equal(pt_str(ev, "cef.device_vendor"), "Ven|dor");
  assert_string_equal(pt_str(ev, "cef.device_product"), "Pro\\duct");
  assert_string_equal(pt_str(ev, "cef.name"), "Name with | pipe");
  assert_string_equal(pt_str(ev, "cef.extensions.msg"), "a = b \\ c\nd\re");
  assert_string_equal(pt_str(ev, "cef.extensions.cs1"), "C:\\Users\\x");
  assert_string_equal(pt_str(ev, "cef.extensions.cs1Label"), "Path");
  assert_string_equal(pt_str(ev, "cef.custom.Path"), "C:\\Users\\x");
  assert_string_equal(pt_str(ev, "cef.extensions.act"), "blocked and logged");
  assert_string_equal(pt_str(ev, "event.action"), "blocked and logged");
  assert_string_equal(pt_str(ev, "destination.ip"), "10.0.0.1");
  assert_string_equal(pt_str(ev, "observer.vendor"), "Ven|dor");
  assert_string_equal(pt_str(ev, "event.code"), "100");
  assert_string_equal(pt_str(ev, "logsource.product"), "cef");
  assert_non_null(strstr(pt_str(ev, "message"), "CEF:0|Ven\\|dor"));
  json_object_put(ev);
  /* an escaped '=' does not start a key, nor does one after no space */
  ev = one(NULL, "CEF:0|V|P|1|1|N|1|request=http://x/?a\\=1&b=2 suser=bob");
  assert_string_equal(pt_str(ev, "cef.extensions.request"), "http://x/?a=1&b=2");
  assert_string_equal(pt_str(ev, "url.original"), "http://x/?a=1&b=2");
  assert_string_equal(pt_str(ev, "user.name"), "bob");
  json_object_put(ev);
}

static void test_empty_and_missing_extension(void **state) {
  static const char *const recs[] = {"CEF:0|V|P|1|100|N|5|", "CEF:0|V|P|1|100|N|5",
                                     "CEF:0|V|P|1|100|N|5|   "};
  for (size_t i = 0; i < 3; i++) {
    json_object *ev = one(NULL, recs[i]);
    assert_string_equal(pt_str(ev, "cef.severity"), "5");
    assert_string_equal(pt_str(ev, "event.severity"), "5");
    assert_string_equal(pt_str(ev, "cef.extensions"), "<absent>");
    json_object_put(ev);
  }
  /* text that is not key=value is kept, not lost */
  json_object *ev = one(NULL, "CEF:0|V|P|1|100|N|5|free text here src=1.2.3.4");
  assert_string_equal(pt_str(ev, "cef.extension_text"), "free text here");
  assert_string_equal(pt_str(ev, "source.ip"), "1.2.3.4");
  json_object_put(ev);
  ev = one(NULL, "CEF:0|V|P|1|100|N|5|no pairs at all");
  assert_string_equal(pt_str(ev, "cef.extension_text"), "no pairs at all");
  json_object_put(ev);
}

static void test_rejects(void **state) {
  expect_reject(NULL, "CEF:0|V|P|1|100", "cef: CEF header has 5 of its 7 '|'-separated fields");
  expect_reject(NULL, "CEF:0|V|P|1|100|", "cef: CEF header has 5 of its 7 '|'-separated fields");
  expect_reject(NULL, "CEF:x|V|P|1|100|N|5|", "cef: CEF version is not a number: \"x\"");
  expect_reject(NULL, "CEF:", "cef: CEF header has 0 of its 7 '|'-separated fields");
  expect_reject("cef", "hello world", "cef: no CEF header: the record has no \"CEF:\"");
  expect_reject("cef", "7|not|enough", "cef: no CEF header: the record has no \"CEF:\"");
  /* more keys than an event may have */
  char *rec = malloc(1100 * 12 + 64);
  size_t o = (size_t)sprintf(rec, "CEF:0|V|P|1|1|N|1|");
  for (int i = 0; i < 1100; i++) o += (size_t)sprintf(rec + o, "k%d=v ", i);
  expect_reject(NULL, rec, "cef: CEF extension has more than 1024 keys");
  free(rec);
}

static void test_severity_and_time(void **state) {
  static const struct {
    const char *sev, *want;
  } sev[] = {{"0", "0"},          {"10", "10"},        {"Low", "0"},       {"medium", "4"},
             {"High", "7"},       {"Very-High", "9"},  {"11", "<absent>"}, {"Unknown", "<absent>"},
             {"%SEV%", "<absent>"}};
  for (size_t i = 0; i < sizeof sev / sizeof sev[0]; i++) {
    char rec[128];
    snprintf(rec, sizeof rec, "CEF:0|V|P|1|1|N|%s|", sev[i].sev);
    json_object *ev = one(NULL, rec);
    assert_string_equal(pt_str(ev, "event.severity"), sev[i].want);
    assert_string_equal(pt_str(ev, "cef.severity"), sev[i].sev);
    json_object_put(ev);
  }
  static const struct {
    const char *ext, *want;
  } times[] = {
      {"rt=1453290121336", "2016-01-20T11:42:01.336Z"},
      {"rt=1453290121", "2016-01-20T11:42:01Z"},
      {"end=Nov 08 2020 12:30:00.111 UTC", "2020-11-08T12:30:00.111Z"},
      {"start=Nov 08 2020 12:30:00 +02:00", "2020-11-08T10:30:00Z"},
      {"start=Nov 08 2020 12:30:00 +0200", "2020-11-08T10:30:00Z"},
      {"rt=2021-06-18T10:55:50.000003Z", "2021-06-18T10:55:50.000003Z"},
      {"rt=Nov 08 2020 12:30:00", "2020-11-08T12:30:00Z"}, /* time.syslog_utc_offset +00:00 */
      {"rt=Nov 08 2020 12:30:00 IST", PT_RECEIVED_TEXT},   /* a zone we cannot place */
      {"rt=Nov 19, 2014 18:21:13 IST", PT_RECEIVED_TEXT},
      {"rt=soon end=1453290121336", "2016-01-20T11:42:01.336Z"}, /* rt, else end, else start */
  };
  for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
    char rec[256];
    snprintf(rec, sizeof rec, "CEF:0|V|P|1|1|N|1|%s", times[i].ext);
    json_object *ev = one(NULL, rec);
    if (strcmp(pt_str(ev, "@timestamp"), times[i].want) != 0)
      fail_msg("%s: @timestamp %s, want %s", times[i].ext, pt_str(ev, "@timestamp"), times[i].want);
    json_object_put(ev);
  }
}

static void test_ecs(void **state) {
  json_object *ev = one(
      NULL, "CEF:1|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 "
            "spt=1232 dst=2.1.2.2 dpt=80 shost=a.example dhost=b.example suser=alice duser=root "
            "proto=TCP app=HTTP outcome=Failure act=blocked dvchost=fw01 fname=x.exe "
            "filePath=C:\\x.exe requestMethod=GET requestClientApplication=Mozilla/5.0 (X11)");
  assert_string_equal(pt_str(ev, "cef.version"), "1");
  assert_string_equal(pt_str(ev, "source.ip"), "10.0.0.1");
  assert_string_equal(pt_str(ev, "source.port"), "1232");
  assert_string_equal(pt_str(ev, "source.domain"), "a.example");
  assert_string_equal(pt_str(ev, "destination.ip"), "2.1.2.2");
  assert_string_equal(pt_str(ev, "destination.port"), "80");
  assert_string_equal(pt_str(ev, "destination.domain"), "b.example");
  assert_string_equal(pt_str(ev, "user.name"), "alice");
  assert_string_equal(pt_str(ev, "user.target.name"), "root");
  assert_string_equal(pt_str(ev, "network.transport"), "tcp");
  assert_string_equal(pt_str(ev, "network.protocol"), "HTTP");
  assert_string_equal(pt_str(ev, "event.outcome"), "failure");
  assert_string_equal(pt_str(ev, "event.action"), "blocked");
  assert_string_equal(pt_str(ev, "host.name"), "fw01");
  assert_string_equal(pt_str(ev, "file.name"), "x.exe");
  assert_string_equal(pt_str(ev, "file.path"), "C:\\x.exe");
  assert_string_equal(pt_str(ev, "http.request.method"), "GET");
  assert_string_equal(pt_str(ev, "user_agent.original"), "Mozilla/5.0 (X11)");
  assert_string_equal(pt_str(ev, "event.severity"), "10");
  assert_string_equal(pt_str(ev, "event.dataset"), "cef");
  assert_string_equal(pt_str(ev, "event.kind"), "event");
  json_object_put(ev);
  /* duser alone is the user; a src that is not an IP is an address only;
   * outcomes */
  ev = one(NULL, "CEF:0|V|P|1|1|N|1|duser=admin src=Test Role 10 outcome=/Success spt=0");
  assert_string_equal(pt_str(ev, "user.name"), "admin");
  assert_string_equal(pt_str(ev, "source.ip"), "<absent>");
  assert_string_equal(pt_str(ev, "source.address"), "Test Role 10");
  assert_string_equal(pt_str(ev, "source.port"), "<absent>");
  assert_string_equal(pt_str(ev, "event.outcome"), "success");
  json_object_put(ev);
  ev = one(NULL, "CEF:0|V|P|1|1|N|1|outcome=maybe");
  assert_string_equal(pt_str(ev, "event.outcome"), "unknown");
  json_object_put(ev);
}

static void test_invalid_utf8_and_duplicates(void **state) {
  /* bytes that are not UTF-8 become U+FFFD; keys are ASCII by the key
   * rule, so "k\xfe=" is text, not a key */
  json_object *ev = one(NULL, "CEF:0|V\xff|P|1|1|N|1|k\xfe=v a=1 a=2 cs1=x cs1Label=\xff "
                              "cs2=y cs2Label=\xfe");
  assert_string_equal(pt_str(ev, "cef.device_vendor"), "V\xef\xbf\xbd");
  assert_string_equal(pt_str(ev, "cef.extension_text"), "k\xef\xbf\xbd=v");
  assert_string_equal(pt_str(ev, "cef.extensions.a"), "2"); /* the later one wins */
  /* two labels that clean up to the same text: one key, the later value */
  assert_string_equal(pt_str(ev, "cef.custom.\xef\xbf\xbd"), "y");
  json_object_put(ev);
}

/* The syslog parser's entry point: an event that already has the syslog
 * header's fields keeps them where CEF has nothing better. */
static void test_parse_into(void **state) {
  parry_arena_t arena = PARRY_ARENA_INIT;
  parry_parse_config_t config = {.syslog_time = {0, 7LL * 86400 * PARRY_NS_PER_SEC}};
  parry_parse_t p = {.config = &config, .arena = &arena, .received_ns = PT_RECEIVED_NS};
  parry_evb_t b;
  parry_evb_init(&b, &arena);
  parry_evb_set_host(&b, "udm-gent", (size_t)-1);
  parry_evb_set_timestamp(&b, 42);
  parry_evb_set_message(&b, "Sep  8 08:32:20 udm-gent CEF:0|...", (size_t)-1);
  parry_evb_set_logsource(&b, "linux", "syslog", NULL);
  static const char msg[] = "CEF: 0|Ubiquiti|UniFi Network|9.4.19|201|Threat|9|src=1.2.3.4 dvchost=x";
  char err[256];
  assert_int_equal(parry_cef_parse_into(&p, &b, msg, sizeof msg - 1, err, sizeof err), PARRY_OK);
  assert_string_equal(b.ev->host_name, "udm-gent");
  assert_int_equal(b.ev->timestamp_ns, 42);
  assert_string_equal(b.ev->message, "Sep  8 08:32:20 udm-gent CEF:0|...");
  assert_string_equal(b.ev->source_ip, "1.2.3.4");
  assert_string_equal(b.ev->logsource->product, "cef");
  assert_string_equal(b.ev->logsource->service, "");
  parry_buf_t out = PARRY_BUF_INIT(0);
  b.ev->id = "x";
  assert_int_equal(parry_event_to_json(b.ev, &out, err, sizeof err), PARRY_OK);
  assert_non_null(strstr(out.data, "\"device_product\":\"UniFi Network\""));
  parry_buf_free(&out);
  assert_int_equal(parry_cef_parse_into(&p, &b, "Sep 8 CEF", 9, err, sizeof err), PARRY_ERR_INVALID);
  assert_string_equal(err, "not CEF: the message does not start with \"CEF:\"");
  parry_arena_free(&arena);
}

static void test_detection(void **state) {
  pt_run_t *r = pt_open(NULL, "test");
  pt_feed(r, "CEF:0|V|P|1|1|N|1|a=b");
  pt_feed(r, "  CEF: 0|V|P|1|1|N|1|a=b");
  pt_feed(r, "0|Ubiquiti|UniFi Network|9.3.45|201|Threat|7|src=1.2.3.4");
  pt_feed(r, "0|only|three|pipes");  /* not CEF: no parser */
  assert_int_equal(r->sink.n_events, 3);
  assert_int_equal(r->sink.n_rejects, 1);
  pt_close(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jc_samples),
      cmocka_unit_test(test_crowdsec_cef_logs),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_empty_and_missing_extension),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_severity_and_time),
      cmocka_unit_test(test_ecs),
      cmocka_unit_test(test_invalid_utf8_and_duplicates),
      cmocka_unit_test(test_parse_into),
      cmocka_unit_test(test_detection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
