/* The syslog parser, case by case, through the normalizer: headers (RFC
 * 3164, 5424, ISO, journal, audit), the year rule, repeats, hostile text,
 * sshd/PAM/sudo/su/Dropbear messages, detection and rejects. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "parry/codec.h"
#include "parse/parser.h"
#include "parse/syslog_header.h"
#include "test_support.h"

#define MAX_EVENTS 1100

typedef struct {
  char *json[MAX_EVENTS];
  json_object *obj[MAX_EVENTS];
  size_t n;
  char reject[1024];
  size_t n_rejects;
} coll_t;

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  coll_t *c = opaque;
  parry_buf_t b = PARRY_BUF_INIT(0);
  char why[256];
  if (parry_event_to_json(ev, &b, why, sizeof why) != PARRY_OK) fail_msg("unencodable event: %s", why);
  assert_true(c->n < MAX_EVENTS);
  /* every event must read back with the strict reader */
  json_object *obj = NULL;
  if (parry_codec_parse_json(b.data, b.len, &obj, why, sizeof why) != PARRY_OK)
    fail_msg("event is not valid JSON: %s: %.200s", why, b.data);
  c->json[c->n] = strndup(b.data, b.len);
  c->obj[c->n++] = obj;
  parry_buf_free(&b);
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  coll_t *c = opaque;
  snprintf(c->reject, sizeof c->reject, "%s", reason);
  c->n_rejects++;
}

static const parry_normalize_sink_t sink = {on_event, on_reject};

static void clear(coll_t *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->json[i]);
    json_object_put(c->obj[i]);
  }
  c->n = 0;
  c->n_rejects = 0;
  c->reject[0] = '\0';
}

typedef struct {
  parry_config_t *cfg;
  parry_normalizer_t *n;
  parry_stream_t *s;
  coll_t c;
} fixture_t;

/* 2025-06-15T12:00:00Z: the default time records are read at */
#define READ_AT (1749988800LL * PARRY_NS_PER_SEC)

static fixture_t *open_fx(const char *format, const char *set) {
  fixture_t *f = calloc(1, sizeof *f);
  char err[256];
  f->cfg = parry_config_new();
  if (set && parry_config_set(f->cfg, set, "test", err, sizeof err)) fail_msg("%s", err);
  if (parry_normalizer_new(f->cfg, format, &f->n, err, sizeof err)) fail_msg("%s", err);
  f->s = parry_stream_new(f->n, "test", &sink, &f->c);
  return f;
}

static void close_fx(fixture_t *f) {
  clear(&f->c);
  parry_stream_destroy(f->s);
  parry_normalizer_destroy(f->n);
  parry_config_destroy(f->cfg);
  free(f);
}

static coll_t *feed_at(fixture_t *f, const char *line, size_t len, int64_t at) {
  static uint64_t seq;
  clear(&f->c);
  parry_stream_record(f->s, line, len, ++seq, at);
  return &f->c;
}

static coll_t *feed(fixture_t *f, const char *line) {
  return feed_at(f, line, strlen(line), READ_AT);
}

/* A value at a dotted path as text ("" for absent, numbers as JSON). */
static const char *get(coll_t *c, size_t i, const char *path) {
  static char buf[8][4096];
  static int slot;
  if (i >= c->n) return "";
  json_object *o = c->obj[i];
  char copy[512];
  snprintf(copy, sizeof copy, "%s", path);
  char *save = NULL;
  for (char *k = strtok_r(copy, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
    json_object *next = NULL;
    o = json_object_object_get_ex(o, k, &next) ? next : NULL;
  }
  if (!o) return "";
  char *out = buf[slot++ % 8];
  snprintf(out, 4096, "%s",
           json_object_is_type(o, json_type_string) ? json_object_get_string(o)
                                                    : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  return out;
}

static bool has(coll_t *c, size_t i, const char *path) {
  json_object *o = c->obj[i];
  char copy[512];
  snprintf(copy, sizeof copy, "%s", path);
  char *save = NULL;
  for (char *k = strtok_r(copy, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
    json_object *next = NULL;
    o = json_object_object_get_ex(o, k, &next) ? next : NULL;
  }
  return o != NULL;
}

static int64_t rfc(const char *s) {
  int64_t ns = 0;
  if (parry_time_parse_rfc3339(s, strlen(s), &ns) != PARRY_OK) fail_msg("bad time %s", s);
  return ns;
}

/* ---- headers -------------------------------------------------------------------- */

static void test_rfc3164_header(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "Feb  7 16:01:07 web-1 sshd[5106]: Server listening on 0.0.0.0 port 22.");
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "@timestamp"), "2025-02-07T16:01:07Z");
  assert_string_equal(get(c, 0, "host.name"), "web-1");
  assert_string_equal(get(c, 0, "process.name"), "sshd");
  assert_string_equal(get(c, 0, "process.pid"), "5106");
  assert_string_equal(get(c, 0, "message"),
                      "Feb  7 16:01:07 web-1 sshd[5106]: Server listening on 0.0.0.0 port 22.");
  assert_string_equal(get(c, 0, "logsource.product"), "linux");
  assert_string_equal(get(c, 0, "logsource.service"), "sshd");
  assert_string_equal(get(c, 0, "event.kind"), "event");
  assert_false(has(c, 0, "event.action")); /* not a message we give a meaning */
  /* unpadded day, zero-padded day, year, fraction */
  c = feed(f, "Feb 7 16:01:07 h sshd[1]: x");
  assert_string_equal(get(c, 0, "@timestamp"), "2025-02-07T16:01:07Z");
  c = feed(f, "Mar 05 18:22:44 h sshd[1]: x");
  assert_string_equal(get(c, 0, "@timestamp"), "2025-03-05T18:22:44Z");
  c = feed(f, "Jul 05 18:22:44 h sshd[1]: x"); /* after the read time: last year's */
  assert_string_equal(get(c, 0, "@timestamp"), "2024-07-05T18:22:44Z");
  c = feed(f, "Jan 05 2021 10:00:00 h sshd[1]: x");
  assert_string_equal(get(c, 0, "@timestamp"), "2021-01-05T10:00:00Z");
  c = feed(f, "Mar 15 09:20:57.123456 h sshd[1]: x");
  assert_string_equal(get(c, 0, "@timestamp"), "2025-03-15T09:20:57.123456Z");
  /* no host; [prog]; prog(pam_unix)[pid]; kernel */
  c = feed(f, "Feb 17 17:40:17 sshd[19725]: Connection from 192.0.2.10 port 62004 on 192.0.2.10 port 22");
  assert_string_equal(get(c, 0, "host.name"), "");
  assert_string_equal(get(c, 0, "process.name"), "sshd");
  assert_string_equal(get(c, 0, "event.action"), "ssh-connection-opened");
  assert_string_equal(get(c, 0, "destination.ip"), "192.0.2.10");
  assert_string_equal(get(c, 0, "destination.port"), "22");
  c = feed(f, "Jun 25 23:53:34 [sshd] User root from 1.2.3.4 not allowed because not listed in AllowUsers");
  assert_string_equal(get(c, 0, "process.name"), "sshd");
  assert_string_equal(get(c, 0, "event.action"), "ssh-user-not-allowed");
  assert_string_equal(get(c, 0, "ssh.reason"), "not listed in AllowUsers");
  c = feed(f, "Jun 21 16:47:50 machine kernel: [  970.699396] usb 1-1: new device");
  assert_string_equal(get(c, 0, "process.name"), "kernel");
  assert_string_equal(get(c, 0, "logsource.service"), "syslog");
  /* a daemon relayed through the kernel log (fail2ban's __prefix_line) */
  c = feed(f, "Jun 21 16:55:01 <auth.info> machine kernel: [  970.699396] @vserver_demo "
              "sshd(pam_unix)[13709] [ID 255 test] authentication failure; logname= uid=0 "
              "euid=0 tty=ssh ruser= rhost=192.0.2.3  user=root");
  assert_string_equal(get(c, 0, "process.name"), "sshd");
  assert_string_equal(get(c, 0, "process.pid"), "13709");
  assert_string_equal(get(c, 0, "event.action"), "pam-auth-failed");
  assert_string_equal(get(c, 0, "source.ip"), "192.0.2.3");
  /* BSD verbose priority */
  c = feed(f, "Apr  2 17:51:27 <4.3> pancake sshd[55624]: error: PAM: authentication error for nick from example.com");
  assert_string_equal(get(c, 0, "log.syslog.facility.name"), "auth");
  assert_string_equal(get(c, 0, "log.syslog.severity.code"), "3");
  assert_string_equal(get(c, 0, "host.name"), "pancake");
  assert_string_equal(get(c, 0, "source.address"), "example.com");
  assert_false(has(c, 0, "source.ip"));
  close_fx(f);
}

static void test_pri_decoding(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "<38>Jan  5 01:31:41 www sshd[1643]: x");
  assert_string_equal(get(c, 0, "log.syslog.priority"), "38");
  assert_string_equal(get(c, 0, "log.syslog.facility.code"), "4");
  assert_string_equal(get(c, 0, "log.syslog.facility.name"), "auth");
  assert_string_equal(get(c, 0, "log.syslog.severity.code"), "6");
  assert_string_equal(get(c, 0, "log.syslog.severity.name"), "informational");
  c = feed(f, "<0>Jan  5 01:31:41 www kernel: panic");
  assert_string_equal(get(c, 0, "log.syslog.facility.name"), "kern");
  assert_string_equal(get(c, 0, "log.syslog.severity.name"), "emergency");
  c = feed(f, "<191>Jan  5 01:31:41 www app: x");
  assert_string_equal(get(c, 0, "log.syslog.facility.name"), "local7");
  assert_string_equal(get(c, 0, "log.syslog.severity.name"), "debug");
  c = feed(f, "<192>Jan  5 01:31:41 www app: x");
  assert_int_equal(c->n, 0);
  assert_non_null(strstr(c->reject, "invalid <PRI> at offset 0"));
  c = feed(f, "<13>2024-01-02T03:04:05.123+01:00 host prog[7]: ISO after PRI");
  assert_string_equal(get(c, 0, "@timestamp"), "2024-01-02T02:04:05.123Z");
  assert_string_equal(get(c, 0, "log.syslog.priority"), "13");
  close_fx(f);
}

static void test_rfc5424(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  /* RFC 5424's own examples, with a BOM and escapes in SD values */
  static const char line[] =
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
      "[examplePriority@32473 class=\"high\" note=\"a \\\"quoted\\\" \\] \\\\ \\x\"] "
      "\xEF\xBB\xBF" "An application event log entry...";
  coll_t *c = feed(f, line);
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "@timestamp"), "2003-10-11T22:14:15.003Z");
  assert_string_equal(get(c, 0, "host.name"), "mymachine.example.com");
  assert_string_equal(get(c, 0, "process.name"), "evntslog");
  assert_false(has(c, 0, "process.pid"));
  assert_string_equal(get(c, 0, "log.syslog.version"), "1");
  assert_string_equal(get(c, 0, "log.syslog.appname"), "evntslog");
  assert_string_equal(get(c, 0, "log.syslog.msgid"), "ID47");
  assert_string_equal(get(c, 0, "log.syslog.facility.name"), "local4");
  assert_string_equal(get(c, 0, "log.syslog.severity.name"), "notice");
  assert_string_equal(get(c, 0, "log.syslog.structured_data.exampleSDID@32473.eventID"), "1011");
  assert_string_equal(get(c, 0, "log.syslog.structured_data.examplePriority@32473.class"), "high");
  /* \" \] \\ are unescaped; other backslashes stay */
  assert_string_equal(get(c, 0, "log.syslog.structured_data.examplePriority@32473.note"),
                      "a \"quoted\" ] \\ \\x");
  assert_string_equal(get(c, 0, "message"), line); /* BOM included: it is the record */

  /* the message split: the BOM is not message text */
  parry_syslog_header_t h;
  parry_syslog_time_rule_t rule = {0, 86400 * PARRY_NS_PER_SEC};
  char err[256];
  assert_int_equal(parry_syslog_header_parse(line, strlen(line), &rule, READ_AT, NULL, &h, err, sizeof err), PARRY_OK);
  assert_int_equal(h.msg.n, strlen("An application event log entry..."));
  assert_memory_equal(h.msg.p, "An application", 14);

  /* all nil, numeric PROCID, no MSG */
  c = feed(f, "<34>1 - - - 1234 - -");
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "process.pid"), "1234");
  assert_string_equal(get(c, 0, "@timestamp"), "2025-06-15T12:00:00Z"); /* read time */
  c = feed(f, "<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710-a - - %% It's time to make the do-nuts.");
  assert_string_equal(get(c, 0, "@timestamp"), "2003-08-24T12:14:15.000003Z");
  assert_string_equal(get(c, 0, "log.syslog.procid"), "8710-a");
  assert_false(has(c, 0, "process.pid"));
  /* errors name what and where */
  c = feed(f, "<34>1 2003-13-24T05:14:15Z host app - - - bad month");
  assert_non_null(strstr(c->reject, "RFC 5424 TIMESTAMP at offset 6 is not an RFC 3339 time"));
  c = feed(f, "<34>1 2003-08-24T05:14:15Z host app - - [id x=\"1] msg");
  assert_non_null(strstr(c->reject, "unterminated PARAM-VALUE"));
  c = feed(f, "<34>1 2003-08-24T05:14:15Z host app - - [id x=1] msg");
  assert_non_null(strstr(c->reject, "expected PARAM-NAME=\"value\""));
  c = feed(f, "<34>1 2003-08-24T05:14:15Z host app");
  assert_non_null(strstr(c->reject, "RFC 5424 header ends at offset"));
  close_fx(f);
}

static void test_iso_journal_audit(void **state) {
  fixture_t *f = open_fx(NULL, NULL); /* auto-detection */
  coll_t *c = feed(f, "2015-04-16T18:02:50.321974+00:00 host sshd[2716]: Connection closed by 192.0.2.112 [preauth]");
  assert_string_equal(get(c, 0, "@timestamp"), "2015-04-16T18:02:50.321974Z");
  assert_string_equal(get(c, 0, "event.action"), "ssh-preauth-disconnect");
  assert_string_equal(get(c, 0, "event.outcome"), "failure");
  /* a zone-less ISO time uses the syslog offset */
  fixture_t *g = open_fx("syslog", "time.syslog_utc_offset=+02:00");
  c = feed(g, "2005-06-21 16:55:09 machine prog[1]: x");
  assert_string_equal(get(c, 0, "@timestamp"), "2005-06-21T14:55:09Z");
  c = feed(g, "2005-06-21 14:55:10 UTC machine prog[1]: x");
  assert_string_equal(get(c, 0, "@timestamp"), "2005-06-21T14:55:10Z");
  c = feed(g, "Jun 11 16:47:48 host prog[1]: x");
  assert_string_equal(get(c, 0, "@timestamp"), "2025-06-11T14:47:48Z");
  close_fx(g);
  /* journal export: no time (the read time is used) */
  c = feed(f, "srv sshd[31602]: Failed password for invalid user ROOT from 194.117.26.69 port 50273 ssh2");
  assert_string_equal(get(c, 0, "@timestamp"), "2025-06-15T12:00:00Z");
  assert_string_equal(get(c, 0, "host.name"), "srv");
  assert_string_equal(get(c, 0, "user.name"), "ROOT");
  assert_string_equal(get(c, 0, "ssh.invalid_user"), "true");
  /* a Linux audit record */
  c = feed(f, "type=USER_AUTH msg=audit(1373129280.000:9): user pid=1277 uid=0 auid=4294967295 "
              "msg='op=pubkey acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr=194.228.20.113 "
              "terminal=ssh res=failed'");
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "@timestamp"), "2013-07-06T16:48:00Z");
  assert_string_equal(get(c, 0, "event.action"), "audit-user-auth");
  assert_string_equal(get(c, 0, "event.outcome"), "failure");
  assert_string_equal(get(c, 0, "user.name"), "root");
  assert_string_equal(get(c, 0, "source.ip"), "194.228.20.113");
  assert_string_equal(get(c, 0, "type"), "USER_AUTH");
  assert_string_equal(get(c, 0, "exe"), "/usr/sbin/sshd");
  assert_string_equal(get(c, 0, "process.executable"), "/usr/sbin/sshd");
  assert_string_equal(get(c, 0, "process.pid"), "1277");
  assert_string_equal(get(c, 0, "logsource.service"), "auditd");
  /* hex-encoded acct */
  c = feed(f, "type=USER_LOGIN msg=audit(1373330717.000:4068): pid=12000 uid=0 msg='op=login "
              "acct=28756E6B6E6F776E207573657229 exe=\"/usr/sbin/sshd\" hostname=? addr=173.242.116.187 "
              "terminal=ssh res=failed'");
  assert_string_equal(get(c, 0, "user.name"), "(unknown user)");
  close_fx(f);
}

/* A "Dec 31" line read early on Jan 1 is last year's; one read in June is
 * this year's; the rule's max_future decides (time.syslog_max_future). */
static void test_year_rule(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  static const char dec[] = "Dec 31 23:59:59 host sshd[1]: x";
  coll_t *c = feed_at(f, dec, strlen(dec), rfc("2025-01-01T00:10:00Z"));
  assert_string_equal(get(c, 0, "@timestamp"), "2024-12-31T23:59:59Z");
  c = feed_at(f, dec, strlen(dec), rfc("2025-12-31T23:00:00Z"));
  assert_string_equal(get(c, 0, "@timestamp"), "2025-12-31T23:59:59Z");
  static const char feb29[] = "Feb 29 12:00:00 host sshd[1]: x";
  c = feed_at(f, feb29, strlen(feb29), rfc("2025-03-01T00:00:00Z"));
  assert_string_equal(get(c, 0, "@timestamp"), "2024-02-29T12:00:00Z");
  close_fx(f);
}

static void test_rejects(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "hello world, this is not syslog");
  assert_int_equal(c->n, 0);
  assert_non_null(strstr(c->reject, "syslog: no syslog timestamp at offset 0"));
  c = feed(f, "Feb 30 10:00:00 host prog: no such day");
  assert_non_null(strstr(c->reject, "invalid RFC 3164 timestamp at offset 0"));
  c = feed(f, "Jan  5 25:00:00 host prog: no such hour");
  assert_non_null(strstr(c->reject, "invalid RFC 3164 timestamp at offset 0"));
  c = feed(f, "2024-02-30T10:00:00Z host prog[1]: no such day");
  assert_non_null(strstr(c->reject, "invalid ISO 8601 timestamp at offset 0"));
  c = feed(f, "[Jun 21 16:55:03 machine prog: unclosed");
  assert_non_null(strstr(c->reject, "expected ']' after the bracketed timestamp"));
  close_fx(f);
}

/* Shapes auto-detection must leave alone (other parsers', or nobody's). */
static void test_detection(void **state) {
  static const char *const no[] = {
      "hello world",
      "2024-01-02T03:04:05Z INFO starting server on :8080",
      "2024-01-02 03:04:05,123 ERROR [main] something failed",
      "GET /index.html HTTP/1.1",
      "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1",
      "1331901000.000000\tCHEEdK1Ph3Z1yIsMJ9\t192.168.202.79\t50465\t192.168.229.251\t80",
      "#separator \\x09",
      "type=lowercase msg=audit(1.000:1): x",
      "Error in foo: something happened",
      "<html><body>",
      "Janitor 12 12:00:00 x",
      "",
  };
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (parry_syslog_detect(no[i], strlen(no[i]))) fail_msg("claimed: %s", no[i]);
  static const char *const yes[] = {
      "Jan  5 01:31:41 www sshd[1643]: x",
      "Feb 7 16:01:07 linux-m899 sshd[5106]: x",
      "<38>Jan  5 01:31:41 www sshd[1643]: x",
      "<38>1 2019-07-08T17:40:16.954167-04:00 hostname sshd 57915 - - x",
      "2015-04-16T18:02:50.321974+00:00 host sshd[2716]: x",
      "srv sshd[13709]: error: PAM: Authentication failure for x from 1.2.3.4",
      "type=USER_AUTH msg=audit(1373129280.000:9): pid=1277",
      "node=web1 type=SYSCALL msg=audit(1373129280.000:9): arch=c000003e",
      "[Jun 21 16:55:03] <auth.info> machine kernel: x",
  };
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (!parry_syslog_detect(yes[i], strlen(yes[i]))) fail_msg("not claimed: %s", yes[i]);
  /* and through the normalizer: CEF goes to the CEF parser, syslog-wrapped
   * CEF comes here and is handed on */
  fixture_t *f = open_fx(NULL, NULL);
  coll_t *c = feed(f, "Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232");
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "host.name"), "host");
  assert_string_equal(get(c, 0, "source.ip"), "10.0.0.1");
  close_fx(f);
}

/* ---- repeats ---------------------------------------------------------------------- */

static void test_message_repeated(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 3 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]");
  assert_int_equal(c->n, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_string_equal(get(c, i, "event.action"), "ssh-password-failed");
    assert_string_equal(get(c, i, "source.ip"), "5.36.59.76");
    assert_string_equal(get(c, i, "user.name"), "root");
    assert_string_equal(get(c, i, "syslog.repeat_count"), "3");
  }
  assert_string_not_equal(get(c, 0, "event.id"), get(c, 1, "event.id"));
  assert_string_not_equal(get(c, 1, "event.id"), get(c, 2, "event.id"));
  assert_string_not_equal(get(c, 0, "event.id"), get(c, 2, "event.id"));
  /* a hostile count is capped; the count field keeps the claim */
  c = feed(f, "Dec 10 07:13:56 h sshd[1]: message repeated 4000000000 times: [ Failed password for root from 1.2.3.4 port 1 ssh2]");
  assert_int_equal(c->n, 1000);
  assert_string_equal(get(c, 0, "syslog.repeat_count"), "4000000000");
  c = feed(f, "Dec 10 07:13:56 h sshd[1]: message repeated 5000 times: [ Invalid user a from 1.2.3.4]");
  assert_int_equal(c->n, 1000);
  assert_string_equal(get(c, 999, "syslog.repeat_count"), "5000");
  /* rsyslog's own marker names no message: one event that says so */
  c = feed(f, "Dec 10 07:13:57 LabSZ last message repeated 2 times");
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "event.action"), "syslog-repeat-marker");
  assert_string_equal(get(c, 0, "syslog.repeat_count"), "2");
  assert_string_equal(get(c, 0, "host.name"), "LabSZ");
  c = feed(f, "Dec 10 07:13:57 LabSZ --- last message repeated 4 times ---");
  assert_string_equal(get(c, 0, "syslog.repeat_count"), "4");
  close_fx(f);
}

/* ---- hostile and odd text ------------------------------------------------------------ */

static void test_invalid_utf8_and_control_chars(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  static const char line[] = "Jan  1 00:00:00 h\xff sshd[1]: Invalid user r\xc3\x28oot\x01\x7f from 1.2.3.4 port 22";
  coll_t *c = feed_at(f, line, sizeof line - 1, READ_AT);
  assert_int_equal(c->n, 1); /* and on_event checked that it is strict JSON */
  assert_string_equal(get(c, 0, "user.name"), "r\xEF\xBF\xBD(oot\x01\x7f");
  assert_string_equal(get(c, 0, "host.name"), "h\xEF\xBF\xBD");
  /* a NUL byte inside the record */
  static const char nul[] = "Jan  1 00:00:00 h sshd[1]: Invalid user a\0b from 1.2.3.4";
  c = feed_at(f, nul, sizeof nul - 1, READ_AT);
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "user.name"), "a\xEF\xBF\xBD" "b");
  close_fx(f);
}

/* User names as attackers send them round-trip through JSON exactly. */
static void test_user_names(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  static const struct {
    const char *user;
  } cases[] = {{"John Smith"}, {"g\xC3\xB6ran"}, {"\xE7\x94\xA8\xE6\x88\xB7"}, {"a\"b"},
               {"back\\slash"}, {"tab\there"}, {"x from 9.9.9.9 port 1"}, {"{\"json\":1}"},
               {"\x1b[31mred"}, {"' OR 1=1 --"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char line[512];
    snprintf(line, sizeof line, "Jan  1 00:00:00 h sshd[1]: Invalid user %s from 1.2.3.4 port 22",
             cases[i].user);
    coll_t *c = feed(f, line);
    assert_int_equal(c->n, 1);
    assert_string_equal(get(c, 0, "user.name"), cases[i].user);
    assert_string_equal(get(c, 0, "source.ip"), "1.2.3.4");
    /* and back through the codec's reader */
    Parry__V1__Event *ev = NULL;
    char err[256];
    assert_int_equal(parry_event_from_json(c->json[0], strlen(c->json[0]), &ev, err, sizeof err), PARRY_OK);
    assert_string_equal(ev->user_name, cases[i].user);
    parry__v1__event__free_unpacked(ev, NULL);
  }
  /* an empty user name is kept (as an untyped "" the typed field cannot hold) */
  coll_t *c = feed(f, "Jun  6 04:17:04 host sshd[1189074]: Invalid user  from 192.0.2.68 port 34916");
  assert_true(has(c, 0, "user.name"));
  assert_string_equal(get(c, 0, "user.name"), "");
  assert_string_equal(get(c, 0, "source.ip"), "192.0.2.68");
  close_fx(f);
}

static void test_ipv6_sources(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "Feb 25 14:34:10 belka sshd[31603]: Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1 port 50273 ssh2");
  assert_string_equal(get(c, 0, "source.ip"), "aaaa:bbbb:cccc:1234::1:1");
  assert_string_equal(get(c, 0, "source.port"), "50273");
  c = feed(f, "Feb 25 14:34:10 belka sshd[1]: Accepted publickey for git from 2001:DB8:0:0::1 port 2 ssh2: ED25519 SHA256:abc");
  assert_string_equal(get(c, 0, "source.ip"), "2001:db8::1"); /* canonical */
  assert_string_equal(get(c, 0, "event.outcome"), "success");
  assert_string_equal(get(c, 0, "event.type"), "[\"start\"]");
  c = feed(f, "Jan  5 01:31:41 www sshd[1643]: ROOT LOGIN REFUSED FROM ::ffff:1.2.3.4");
  assert_string_equal(get(c, 0, "source.ip"), "1.2.3.4"); /* mapped IPv4 is IPv4 */
  c = feed(f, "Feb 11 15:23:17 dropbear[1252]: login attempt for nonexistent user from ::ffff:198.51.100.215:60495");
  assert_string_equal(get(c, 0, "source.ip"), "198.51.100.215");
  assert_string_equal(get(c, 0, "source.port"), "60495");
  c = feed(f, "Jan  1 00:00:00 h sshd[1]: Received disconnect from 2001:db8::7: 11: Bye Bye [preauth]");
  assert_string_equal(get(c, 0, "source.ip"), "2001:db8::7");
  assert_string_equal(get(c, 0, "ssh.disconnect.code"), "11");
  close_fx(f);
}

/* The address sshd wrote, not one an attacker put in the user name. */
static void test_injection(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "Jan  1 00:00:00 h sshd[1]: Failed password for invalid user a from 1.2.3.4 port 22 ssh2: b from 5.6.7.8 port 33 ssh2");
  assert_string_equal(get(c, 0, "source.ip"), "5.6.7.8");
  assert_string_equal(get(c, 0, "user.name"), "a from 1.2.3.4 port 22 ssh2: b");
  c = feed(f, "Jan  1 00:00:00 h sshd[1]: Failed publickey for git from 5.6.7.8 port 33 ssh2: RSA SHA256:abc");
  assert_string_equal(get(c, 0, "source.ip"), "5.6.7.8");
  c = feed(f, "Jan  1 00:00:00 h sshd[1]: Invalid user x from 1.2.3.4 from 5.6.7.8 port 9");
  assert_string_equal(get(c, 0, "source.ip"), "5.6.7.8");
  c = feed(f, "Jan  1 00:00:00 h sshd[1]: Connection closed by authenticating user test 127.0.0.1 port 12345 192.0.2.11 port 46039 [preauth]");
  assert_string_equal(get(c, 0, "source.ip"), "192.0.2.11");
  assert_string_equal(get(c, 0, "user.name"), "test 127.0.0.1 port 12345");
  c = feed(f, "Jan  1 00:00:00 h daemon: pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser= rhost=192.0.2.2 user=test rhost=192.0.2.152");
  assert_string_equal(get(c, 0, "source.ip"), "192.0.2.2");
  assert_string_equal(get(c, 0, "user.name"), "test rhost=192.0.2.152");
  close_fx(f);
}

static void test_long_line(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  size_t n = 1 << 20;
  char *line = malloc(n + 1);
  static const char head[] = "Jan  1 00:00:00 h sshd[1]: Invalid user ";
  static const char tail[] = " from 1.2.3.4 port 22";
  memcpy(line, head, sizeof head - 1);
  memset(line + sizeof head - 1, 'a', n - (sizeof head - 1) - (sizeof tail - 1));
  memcpy(line + n - (sizeof tail - 1), tail, sizeof tail - 1);
  line[n] = '\0';
  coll_t *c = feed_at(f, line, n, READ_AT);
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "source.ip"), "1.2.3.4");
  assert_int_equal(strlen(json_object_get_string(json_object_object_get(c->obj[0], "message"))), n);
  /* a 1 MiB message of a program we have no parser for */
  memcpy(line, "Jan  1 00:00:00 h app[1]: ", 26);
  c = feed_at(f, line, n, READ_AT);
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "process.name"), "app");
  free(line);
  close_fx(f);
}

/* ---- messages ------------------------------------------------------------------------ */

static void test_sshd_messages(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  static const struct {
    const char *msg, *action, *outcome, *source, *user;
  } cases[] = {
      {"Failed password for root from 1.2.3.4 port 22 ssh2", "ssh-password-failed", "failure", "1.2.3.4", "root"},
      {"Failed none for invalid user ftp from 1.2.3.4 port 22 ssh2", "ssh-auth-failed", "failure", "1.2.3.4", "ftp"},
      {"Failed keyboard-interactive/pam for invalid user r00t from 192.0.2.100 port 46050 ssh2", "ssh-keyboard-interactive-failed", "failure", "192.0.2.100", "r00t"},
      {"Accepted password for alice from 10.0.0.5 port 51000 ssh2", "ssh-accepted", "success", "10.0.0.5", "alice"},
      {"Invalid user webmaster from 173.234.31.186", "ssh-invalid-user", "failure", "173.234.31.186", "webmaster"},
      {"input_userauth_request: invalid user webmaster [preauth]", "ssh-invalid-user-request", "unknown", NULL, "webmaster"},
      {"error: PAM: Authentication failure for illegal user kevin from 193.168.0.128", "ssh-pam-auth-failed", "failure", "193.168.0.128", "kevin"},
      {"error: maximum authentication attempts exceeded for invalid user xxx from 192.0.2.7 port 49941 ssh2 [preauth]", "ssh-max-auth-attempts", "failure", "192.0.2.7", "xxx"},
      {"Disconnecting: Too many authentication failures for admin [preauth]", "ssh-too-many-auth-failures", "failure", NULL, "admin"},
      {"Did not receive identification string from 69.61.56.114", "ssh-no-identification", "failure", "69.61.56.114", NULL},
      {"Connection closed by 118.27.24.104 port 33594 [preauth]", "ssh-preauth-disconnect", "failure", "118.27.24.104", NULL},
      {"Connection closed by 10.0.0.5 port 51000", "ssh-connection-closed", "unknown", "10.0.0.5", NULL},
      {"Received disconnect from 139.59.209.18: 11: disconnected by user", "ssh-received-disconnect", "unknown", "139.59.209.18", NULL},
      {"error: Received disconnect from 103.99.0.122: 14: No more user authentication methods available. [preauth]", "ssh-received-disconnect", "failure", "103.99.0.122", NULL},
      {"reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!", "ssh-reverse-mapping-failed", "unknown", "173.234.31.186", NULL},
      {"refused connect from example.com (192.168.1.1)", "ssh-refused-connect", "failure", "192.168.1.1", NULL},
      {"Unable to negotiate with 192.0.2.1 port 55419: no matching cipher found. Their offer: aes256-cbc [preauth]", "ssh-kex-failed", "failure", "192.0.2.1", NULL},
      {"fatal: Timeout before authentication for 192.168.9.212 port 47056", "ssh-auth-timeout", "failure", "192.168.9.212", NULL},
      {"ssh_dispatch_run_fatal: Connection from 192.168.9.213 port 48680: message authentication code incorrect [preauth]", "ssh-protocol-error", "failure", "192.168.9.213", NULL},
      {"PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=183.62.140.253  user=root", "pam-more-auth-failures", "failure", "183.62.140.253", "root"},
      {"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.36.59.76  user=root", "pam-auth-failed", "failure", "5.36.59.76", "root"},
      {"pam_unix(sshd:auth): check pass; user unknown", "pam-user-unknown", "unknown", NULL, NULL},
      {"pam_unix(sshd:session): session opened for user alice by (uid=0)", "pam-session-opened", "success", NULL, "alice"},
      {"Server listening on :: port 22.", NULL, NULL, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char line[512];
    snprintf(line, sizeof line, "Dec 10 06:55:46 LabSZ sshd[%zu]: %s", 1000 + i, cases[i].msg);
    coll_t *c = feed(f, line);
    assert_int_equal(c->n, 1);
    if (strcmp(get(c, 0, "event.action"), cases[i].action ? cases[i].action : "") != 0 ||
        strcmp(get(c, 0, "event.outcome"), cases[i].outcome ? cases[i].outcome : "") != 0 ||
        strcmp(get(c, 0, "source.address"), cases[i].source ? cases[i].source : "") != 0 ||
        strcmp(get(c, 0, "user.name"), cases[i].user ? cases[i].user : "") != 0)
      fail_msg("%s\n  -> %s", cases[i].msg, c->json[0]);
    assert_string_equal(get(c, 0, "logsource.service"), "sshd");
  }
  close_fx(f);
}

/* Lines that name no client get the address sshd gave earlier for the
 * same process; a failure before any address marks the connection. */
static void test_connection_memory(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "Feb 12 04:09:18 h sshd[26713]: Connection from 115.249.163.77 port 51353 on 127.0.0.1 port 22");
  c = feed(f, "Feb 12 04:09:21 h sshd[26713]: Disconnecting: Too many authentication failures [preauth]");
  assert_string_equal(get(c, 0, "source.ip"), "115.249.163.77");
  assert_string_equal(get(c, 0, "source.port"), "51353");
  c = feed(f, "Feb 12 04:09:21 h sshd[26714]: Disconnecting: Too many authentication failures [preauth]");
  assert_false(has(c, 0, "source")); /* another process */
  c = feed(f, "Feb 12 04:09:21 other sshd[26713]: Disconnecting: Too many authentication failures [preauth]");
  assert_false(has(c, 0, "source")); /* another host */
  /* a failure without an address, then the close that names it */
  c = feed(f, "Jun  7 04:10:35 host sshd[424228]: error: kex_exchange_identification: Connection closed by remote host");
  assert_string_equal(get(c, 0, "event.outcome"), "failure");
  assert_false(has(c, 0, "source"));
  c = feed(f, "Jun  7 04:10:35 host sshd[424228]: Connection closed by 192.0.2.15 port 35352");
  assert_string_equal(get(c, 0, "event.action"), "ssh-preauth-disconnect");
  assert_string_equal(get(c, 0, "event.outcome"), "failure");
  /* ... but not twice */
  c = feed(f, "Jun  7 04:10:36 host sshd[424228]: Connection closed by 192.0.2.15 port 35352");
  assert_string_equal(get(c, 0, "event.action"), "ssh-connection-closed");
  /* the session lines of an accepted login get its address */
  feed(f, "Mar  7 18:53:20 bar sshd[1556]: Accepted password for rda from 192.0.2.113 port 52100 ssh2");
  c = feed(f, "Mar  7 18:53:20 bar sshd[1556]: pam_unix(sshd:session): session opened for user rda by (uid=0)");
  assert_string_equal(get(c, 0, "source.ip"), "192.0.2.113");
  assert_string_equal(get(c, 0, "user.name"), "rda");
  close_fx(f);
}

static void test_pam_sudo_su(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "Jul 19 18:11:26 srv2 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=an8767 rhost=www.google.com");
  assert_string_equal(get(c, 0, "event.action"), "pam-auth-failed");
  assert_string_equal(get(c, 0, "source.address"), "www.google.com");
  assert_string_equal(get(c, 0, "user.name"), "an8767");
  assert_string_equal(get(c, 0, "logsource.service"), "vsftpd");
  assert_string_equal(get(c, 0, "pam.service"), "vsftpd");
  c = feed(f, "Nov 25 17:12:13 webmail pop(pam_unix)[4920]: authentication failure; logname= uid=0 euid=0 tty= ruser= rhost=192.168.10.3 user=mailuser");
  assert_string_equal(get(c, 0, "event.action"), "pam-auth-failed");
  assert_string_equal(get(c, 0, "process.name"), "pop");
  assert_string_equal(get(c, 0, "pam.module"), "pam_unix");
  assert_string_equal(get(c, 0, "logsource.service"), "auth");
  c = feed(f, "Dec  7 14:53:04 vskub1master01p sudo: pam_tally2(sudo:auth): user zbadguy (4001) tally 6, deny 5");
  assert_string_equal(get(c, 0, "event.action"), "pam-account-locked");
  assert_string_equal(get(c, 0, "user.name"), "zbadguy");
  assert_string_equal(get(c, 0, "logsource.service"), "sudo");
  /* sudo */
  c = feed(f, "Jan  1 10:00:00 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh -c 'a ; b'");
  assert_string_equal(get(c, 0, "event.action"), "sudo-command");
  assert_string_equal(get(c, 0, "event.outcome"), "success");
  assert_string_equal(get(c, 0, "user.name"), "alice");
  assert_string_equal(get(c, 0, "user.target.name"), "root");
  assert_string_equal(get(c, 0, "process.command_line"), "/bin/sh -c 'a ; b'");
  assert_string_equal(get(c, 0, "USER"), "root");
  assert_string_equal(get(c, 0, "TTY"), "pts/0");
  assert_string_equal(get(c, 0, "logsource.service"), "sudo");
  c = feed(f, "Jan  1 10:00:00 h sudo[42]: bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id");
  assert_string_equal(get(c, 0, "event.action"), "sudo-auth-failed");
  assert_string_equal(get(c, 0, "event.outcome"), "failure");
  assert_string_equal(get(c, 0, "sudo.incorrect_attempts"), "3");
  c = feed(f, "Jan  1 10:00:00 h sudo: mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/ ; USER=#-1 ; COMMAND=/bin/bash");
  assert_string_equal(get(c, 0, "event.action"), "sudo-not-in-sudoers");
  assert_string_equal(get(c, 0, "USER"), "#-1");
  c = feed(f, "Jan  1 10:00:00 h sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)");
  assert_string_equal(get(c, 0, "event.action"), "pam-session-opened");
  assert_string_equal(get(c, 0, "user.name"), "alice");
  assert_string_equal(get(c, 0, "user.target.name"), "root");
  /* su */
  c = feed(f, "Jan  1 10:00:00 h su: FAILED su for root by alice");
  assert_string_equal(get(c, 0, "event.action"), "su-failed");
  assert_string_equal(get(c, 0, "user.name"), "alice");
  assert_string_equal(get(c, 0, "user.target.name"), "root");
  assert_string_equal(get(c, 0, "logsource.service"), "su");
  c = feed(f, "Jan  1 10:00:00 h su[99]: (to root) alice on pts/0");
  assert_string_equal(get(c, 0, "event.action"), "su-accepted");
  assert_string_equal(get(c, 0, "user.name"), "alice");
  assert_string_equal(get(c, 0, "su.tty"), "pts/0");
  c = feed(f, "Jan  1 10:00:00 h su: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/0 ruser=alice rhost=  user=root");
  assert_string_equal(get(c, 0, "event.action"), "pam-auth-failed");
  assert_string_equal(get(c, 0, "user.name"), "alice");
  assert_string_equal(get(c, 0, "user.target.name"), "root");
  assert_false(has(c, 0, "source"));
  c = feed(f, "Jan  1 10:00:00 h su: - pts/3 alice:root");
  assert_string_equal(get(c, 0, "event.action"), "su-failed");
  /* Dropbear */
  c = feed(f, "Jul 10 23:53:52 fail2ban-test dropbear[825]: [825] Jul 10 23:53:52 Bad password attempt for 'root' from 1.2.3.4:52289");
  assert_string_equal(get(c, 0, "event.action"), "ssh-password-failed");
  assert_string_equal(get(c, 0, "user.name"), "root");
  assert_string_equal(get(c, 0, "source.port"), "52289");
  assert_string_equal(get(c, 0, "logsource.service"), "dropbear");
  /* generic programs keep a Sigma service where one exists */
  c = feed(f, "Jan  1 10:00:01 h CRON[7]: (root) CMD (run-parts /etc/cron.hourly)");
  assert_string_equal(get(c, 0, "logsource.service"), "cron");
  assert_false(has(c, 0, "event.action"));
  close_fx(f);
}

/* Regressions found by fuzz_syslog. */

/* A reject's reason quoted the bad timestamp with "%.20s", reading past
 * the end of a record that is not NUL-terminated (ASan: heap overflow). */
static void test_regress_reject_reason_stays_in_record(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  static const char text[] = "Feb 30 10:00:00 ";
  char *exact = malloc(sizeof text - 1); /* no NUL after it */
  memcpy(exact, text, sizeof text - 1);
  coll_t *c = feed_at(f, exact, sizeof text - 1, READ_AT);
  assert_int_equal(c->n, 0);
  assert_non_null(strstr(c->reject, "invalid RFC 3164 timestamp at offset 0: \"Feb 30 10:00:00 \""));
  free(exact);
  close_fx(f);
}

/* A port over 65535 became source.port, which the codec wrote but its own
 * reader refuses: such a number is not a port, and the line is not one we
 * can attribute. */
static void test_regress_port_over_65535(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "srv sshd[2]: Failed keyboard-interactive for x from 2001:db8::1 port 427422");
  assert_int_equal(c->n, 1);
  assert_false(has(c, 0, "source"));
  Parry__V1__Event *ev = NULL;
  char err[256];
  assert_int_equal(parry_event_from_json(c->json[0], strlen(c->json[0]), &ev, err, sizeof err), PARRY_OK);
  parry__v1__event__free_unpacked(ev, NULL);
  c = feed(f, "Jan  1 00:00:00 h sshd[1]: Received disconnect from 1.2.3.4 port 70000:11: Bye");
  assert_false(has(c, 0, "source"));
  close_fx(f);
}

/* An audit time past 2262 overflowed int64 nanoseconds (UBSan); times the
 * parsers accept but the codec cannot write (2262, 1677) made unencodable
 * events. */
static void test_regress_time_range(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "type=USER_AUTH msg=audit(13731292880.000:9): pid=1 res=failed");
  assert_int_equal(c->n, 0);
  assert_non_null(strstr(c->reject, "audit record: time 13731292880 at offset 25 is outside"));
  c = feed(f, "type=USER_AUTH msg=audit(9223372035.000:9): pid=1 res=failed");
  assert_non_null(strstr(c->reject, "outside the years 1678..2261"));
  c = feed(f, "type=USER_AUTH msg=audit(9214646399.999:9): pid=1 res=failed");
  assert_int_equal(c->n, 1);
  assert_string_equal(get(c, 0, "@timestamp"), "2261-12-31T23:59:59.999Z");
  c = feed(f, "Jan 05 2262 10:00:00 h sshd[1]: x");
  assert_non_null(strstr(c->reject, "outside the years 1678..2261"));
  c = feed(f, "<34>1 2262-01-05T10:00:00Z h app - - - x");
  assert_non_null(strstr(c->reject, "outside the years 1678..2261"));
  c = feed(f, "1677-12-31T10:00:00Z h app[1]: x");
  assert_non_null(strstr(c->reject, "outside the years 1678..2261"));
  close_fx(f);
}

/* "message repeated N" without " times: [...]" is not a repeat, but its N
 * still multiplied the line, past the cap (fuzz_syslog timeout). */
static void test_regress_not_a_repeat_is_one_event(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  coll_t *c = feed(f, "Jan  1 00:00:00 h last message repeated 51353");
  assert_int_equal(c->n, 1);
  c = feed(f, "Jan  1 00:00:08 h sshd[1]: message repeated 200:00:00 h last message ]");
  assert_int_equal(c->n, 1);
  assert_false(has(c, 0, "syslog"));
  close_fx(f);
}

/* Dropbear's "[pid] Mmm dd hh:mm:ss " prefix check read one byte past a
 * message that ends inside it (ASan). */
static void test_regress_dropbear_prefix_at_end(void **state) {
  fixture_t *f = open_fx("syslog", NULL);
  static const char text[] = "Jul 10 23:53:52 t dropbear[825]: [825] Jn 21 16:55:03]";
  char *exact = malloc(sizeof text - 1);
  memcpy(exact, text, sizeof text - 1);
  coll_t *c = feed_at(f, exact, sizeof text - 1, READ_AT);
  assert_int_equal(c->n, 1);
  assert_false(has(c, 0, "event.action"));
  free(exact);
  close_fx(f);
}

/* Dropbear's "Exit before auth from <A:P>: (user '" with the quote at the
 * very end gave a user-name length of -1, read as "use strlen": a heap
 * over-read (found by fuzz_syslog). Such a line now has no user name. */
static void test_regress_dropbear_user_quote_at_end(void **state) {
  (void)state;
  fixture_t *f = open_fx("syslog", NULL);
  static const char text[] =
      "Jul 10 23:53:52 t dropbear[825]: Exit before auth from <192.0.2.3:52289>: (user '";
  char *exact = malloc(sizeof text - 1);
  memcpy(exact, text, sizeof text - 1);
  coll_t *c = feed_at(f, exact, sizeof text - 1, READ_AT);
  assert_int_equal(c->n, 1);
  assert_false(has(c, 0, "user.name"));
  free(exact);
  close_fx(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc3164_header),
      cmocka_unit_test(test_pri_decoding),
      cmocka_unit_test(test_rfc5424),
      cmocka_unit_test(test_iso_journal_audit),
      cmocka_unit_test(test_year_rule),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_detection),
      cmocka_unit_test(test_message_repeated),
      cmocka_unit_test(test_invalid_utf8_and_control_chars),
      cmocka_unit_test(test_user_names),
      cmocka_unit_test(test_ipv6_sources),
      cmocka_unit_test(test_injection),
      cmocka_unit_test(test_long_line),
      cmocka_unit_test(test_sshd_messages),
      cmocka_unit_test(test_connection_memory),
      cmocka_unit_test(test_pam_sudo_su),
      cmocka_unit_test(test_regress_reject_reason_stays_in_record),
      cmocka_unit_test(test_regress_port_over_65535),
      cmocka_unit_test(test_regress_time_range),
      cmocka_unit_test(test_regress_not_a_repeat_is_one_event),
      cmocka_unit_test(test_regress_dropbear_prefix_at_end),
      cmocka_unit_test(test_regress_dropbear_user_quote_at_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
