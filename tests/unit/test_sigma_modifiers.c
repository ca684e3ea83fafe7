/* Sigma values and modifiers (modifiers appendix, rules specification
 * "General", "Escape Character", "Special Field Values"): one test per
 * modifier with the edge cases the specification names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "test_support.h"

#define RULE(det) "title: t\nid: r1\nlogsource: {product: windows}\ndetection:\n" det

static parry_sigma_ruleset_t *load_opt(const char *yaml, const parry_sigma_options_t *o,
                                       parry_sigma_report_t *rep) {
  char err[256] = "";
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("t.yml", yaml, strlen(yaml), o, rep, err, sizeof err);
  if (!rs) fail_msg("load failed: %s", err);
  return rs;
}

/* Loads and asserts the rule is rejected for `reason`; returns the message. */
static void rejected(const char *yaml, const parry_sigma_options_t *o,
                     parry_sigma_reject_reason_t reason, const char *needle) {
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load_opt(yaml, o, &rep);
  if (parry_sigma_rule_count(rs) != 0 || rep.n_rejections != 1) {
    parry_sigma_report_print(&rep, stdout, true);
    fail_msg("expected one rejection");
  }
  if (rep.rejections[0].reason != reason || (needle && !strstr(rep.rejections[0].message, needle))) {
    parry_sigma_report_print(&rep, stdout, true);
    fail_msg("expected reason %s with \"%s\"", parry_sigma_reject_reason_str(reason),
             needle ? needle : "");
  }
  assert_true(rep.rejections[0].line > 0);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
}

static Parry__V1__Event *event(const char *json) {
  Parry__V1__Event *ev = NULL;
  char err[256];
  if (parry_event_from_json(json, strlen(json), &ev, err, sizeof err) != PARRY_OK)
    fail_msg("bad event %s: %s", json, err);
  return ev;
}

static bool rs_matches(parry_sigma_ruleset_t *rs, const char *json) {
  Parry__V1__Event *ev = event(json);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  const parry_sigma_match_t *out;
  size_t n = parry_sigma_match(m, ev, &out);
  parry_sigma_matcher_destroy(m);
  parry__v1__event__free_unpacked(ev, NULL);
  return n > 0;
}

/* Does the one rule in `yaml` match the event `json` (fields merged into
 * an event with logsource windows)? */
static bool matches_opt(const char *yaml, const char *fields, const parry_sigma_options_t *o) {
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load_opt(yaml, o, &rep);
  if (parry_sigma_rule_count(rs) != 1) {
    parry_sigma_report_print(&rep, stdout, true);
    fail_msg("rule did not load");
  }
  char json[8192];
  snprintf(json, sizeof json, "{\"logsource\": {\"product\": \"windows\"}, %s}", fields);
  bool r = rs_matches(rs, json);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  return r;
}

static bool matches(const char *yaml, const char *fields) { return matches_opt(yaml, fields, NULL); }

static void test_plain_value_whole_field_ignoring_case(void **state) {
  const char *r = RULE("  sel: {Image: 'C:\\Windows\\System32\\whoami.exe'}\n  condition: sel\n");
  assert_true(matches(r, "\"Image\": \"c:\\\\windows\\\\system32\\\\WHOAMI.EXE\""));
  assert_false(matches(r, "\"Image\": \"c:\\\\windows\\\\system32\\\\whoami.exe2\""));
  assert_false(matches(r, "\"Image\": \"x c:\\\\windows\\\\system32\\\\whoami.exe\""));
  assert_false(matches(r, "\"Other\": \"c:\\\\windows\\\\system32\\\\whoami.exe\""));
}

static void test_contains_startswith_endswith(void **state) {
  const char *c = RULE("  sel: {CommandLine|contains: 'mimikatz'}\n  condition: sel\n");
  assert_true(matches(c, "\"CommandLine\": \"run MimiKatz.exe now\""));
  assert_true(matches(c, "\"CommandLine\": \"mimikatz\""));
  assert_false(matches(c, "\"CommandLine\": \"mimi katz\""));
  const char *s = RULE("  sel: {CommandLine|startswith: 'net '}\n  condition: sel\n");
  assert_true(matches(s, "\"CommandLine\": \"NET user x\""));
  assert_false(matches(s, "\"CommandLine\": \"cmd /c net user\""));
  const char *e = RULE("  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel\n");
  assert_true(matches(e, "\"Image\": \"C:\\\\Windows\\\\CMD.EXE\""));
  assert_false(matches(e, "\"Image\": \"C:\\\\Windows\\\\xcmd.exe\""));
  assert_false(matches(e, "\"Image\": \"cmd.exe\""));
  /* wildcards inside a contains value stay wildcards */
  const char *w = RULE("  sel: {CommandLine|contains: 'a*c'}\n  condition: sel\n");
  assert_true(matches(w, "\"CommandLine\": \"xx abbbc yy\""));
  assert_false(matches(w, "\"CommandLine\": \"xx cba yy\""));
}

static void test_wildcards_and_escapes(void **state) {
  const char *q = RULE("  sel: {Image: 'prog?.exe'}\n  condition: sel\n");
  assert_true(matches(q, "\"Image\": \"progA.exe\""));
  assert_true(matches(q, "\"Image\": \"prog\xc3\xa9.exe\"")); /* ? is one character, not one byte */
  assert_false(matches(q, "\"Image\": \"prog.exe\""));
  assert_false(matches(q, "\"Image\": \"progAB.exe\""));
  const char *s = RULE("  sel: {Image: 'antivirus_V*.exe'}\n  condition: sel\n");
  assert_true(matches(s, "\"Image\": \"antivirus_V21.2.1.exe\""));
  assert_true(matches(s, "\"Image\": \"antivirus_V.exe\""));
  /* \* is a literal star */
  const char *lit = RULE("  sel: {Value: 'a\\*b'}\n  condition: sel\n");
  assert_true(matches(lit, "\"Value\": \"a*b\""));
  assert_false(matches(lit, "\"Value\": \"axxb\""));
  /* \? is a literal question mark */
  const char *litq = RULE("  sel: {Value: 'a\\?b'}\n  condition: sel\n");
  assert_true(matches(litq, "\"Value\": \"a?b\""));
  assert_false(matches(litq, "\"Value\": \"axb\""));
  /* \\* is a backslash followed by a wildcard */
  const char *bw = RULE("  sel: {Value: 'a\\\\*'}\n  condition: sel\n");
  assert_true(matches(bw, "\"Value\": \"a\\\\anything\""));
  assert_true(matches(bw, "\"Value\": \"a\\\\\""));
  assert_false(matches(bw, "\"Value\": \"a*\""));
  /* \\\* is a backslash followed by a literal star */
  const char *bs = RULE("  sel: {Value: 'a\\\\\\*'}\n  condition: sel\n");
  assert_true(matches(bs, "\"Value\": \"a\\\\*\""));
  assert_false(matches(bs, "\"Value\": \"a\\\\x\""));
  /* \\\\ is two backslashes; a single \ before a plain character is itself */
  const char *two = RULE("  sel: {Value: '\\\\\\\\srv'}\n  condition: sel\n");
  assert_true(matches(two, "\"Value\": \"\\\\\\\\srv\""));
  const char *one = RULE("  sel: {Value: 'C:\\Windows\\'}\n  condition: sel\n");
  assert_true(matches(one, "\"Value\": \"C:\\\\Windows\\\\\""));
  /* \\ before a plain character may be written either way: same value */
  const char *dbl = RULE("  sel: {Value: 'C:\\\\Windows'}\n  condition: sel\n");
  assert_true(matches(dbl, "\"Value\": \"C:\\\\Windows\""));
}

static void test_cased(void **state) {
  const char *r = RULE("  sel: {CommandLine|contains|cased: 'Invoke-'}\n  condition: sel\n");
  assert_true(matches(r, "\"CommandLine\": \"x Invoke-Expression\""));
  assert_false(matches(r, "\"CommandLine\": \"x invoke-expression\""));
  const char *plain = RULE("  sel: {CommandLine|cased: 'ABC'}\n  condition: sel\n");
  assert_true(matches(plain, "\"CommandLine\": \"ABC\""));
  assert_false(matches(plain, "\"CommandLine\": \"abc\""));
}

static void test_all_with_lists(void **state) {
  const char *r = RULE("  sel:\n    CommandLine|contains|all:\n      - ' -a '\n      - ' -b '\n"
                       "  condition: sel\n");
  assert_true(matches(r, "\"CommandLine\": \"x -b y -a z\""));
  assert_false(matches(r, "\"CommandLine\": \"x -a z\""));
  const char *any = RULE("  sel:\n    CommandLine|contains:\n      - ' -a '\n      - ' -b '\n"
                         "  condition: sel\n");
  assert_true(matches(any, "\"CommandLine\": \"x -a z\""));
  /* all with a single value means the same as without */
  const char *one = RULE("  sel: {CommandLine|contains|all: 'q'}\n  condition: sel\n");
  assert_true(matches(one, "\"CommandLine\": \"xqx\""));
  /* over a list field, each value may match a different element */
  const char *lst = RULE("  sel:\n    Tags|all: [a, b]\n  condition: sel\n");
  assert_true(matches(lst, "\"Tags\": [\"b\", \"x\", \"A\"]"));
  assert_false(matches(lst, "\"Tags\": [\"b\", \"x\"]"));
}

static void test_re(void **state) {
  const char *r = RULE("  sel: {CommandLine|re: 'ab+c\\d'}\n  condition: sel\n");
  assert_true(matches(r, "\"CommandLine\": \"xx abbbc7 yy\""));
  assert_false(matches(r, "\"CommandLine\": \"xx ABBBC7 yy\"")); /* case-sensitive by default */
  const char *i = RULE("  sel: {CommandLine|re|i: '^abc$'}\n  condition: sel\n");
  assert_true(matches(i, "\"CommandLine\": \"ABC\""));
  const char *noi = RULE("  sel: {CommandLine|re: '^abc$'}\n  condition: sel\n");
  assert_false(matches(noi, "\"CommandLine\": \"x\\nabc\\ny\""));
  const char *m = RULE("  sel: {CommandLine|re|m: '^abc$'}\n  condition: sel\n");
  assert_true(matches(m, "\"CommandLine\": \"x\\nabc\\ny\""));
  const char *nos = RULE("  sel: {CommandLine|re: 'a.b'}\n  condition: sel\n");
  assert_false(matches(nos, "\"CommandLine\": \"a\\nb\""));
  const char *s = RULE("  sel: {CommandLine|re|s: 'a.b'}\n  condition: sel\n");
  assert_true(matches(s, "\"CommandLine\": \"a\\nb\""));
  const char *alt = RULE("  sel: {CommandLine|re: '(foo|bar)baz'}\n  condition: sel\n");
  assert_true(matches(alt, "\"CommandLine\": \"barbaz\""));
  assert_false(matches(alt, "\"CommandLine\": \"bazbar\""));
  /* a regex that does not compile rejects the rule, naming the problem */
  rejected(RULE("  sel: {CommandLine|re: 'a(b'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_REGEX, "offset");
  rejected(RULE("  sel: {CommandLine|re|contains: 'a'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_MODIFIER, "re");
  rejected(RULE("  sel: {CommandLine|i: 'a'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_MODIFIER, "flag of \"re\"");
  /* catastrophic backtracking is cut off by the match limit: no hang */
  const char *bad = RULE("  sel: {CommandLine|re: '(a+)+$'}\n  condition: sel\n");
  char ev[600] = "\"CommandLine\": \"";
  for (int k = 0; k < 60; k++) strcat(ev, "a");
  strcat(ev, "!\"");
  assert_false(matches(bad, ev));
}

static void test_cidr(void **state) {
  const char *v4 = RULE("  sel: {SourceIp|cidr: '10.0.0.0/8'}\n  condition: sel\n");
  assert_true(matches(v4, "\"SourceIp\": \"10.0.0.0\""));
  assert_true(matches(v4, "\"SourceIp\": \"10.255.255.255\""));
  assert_false(matches(v4, "\"SourceIp\": \"11.0.0.0\""));
  assert_false(matches(v4, "\"SourceIp\": \"9.255.255.255\""));
  assert_false(matches(v4, "\"SourceIp\": \"::1\""));        /* other family */
  assert_false(matches(v4, "\"SourceIp\": \"not an ip\""));
  assert_true(matches(v4, "\"SourceIp\": \"::ffff:10.1.2.3\"")); /* IPv4-mapped */
  const char *any4 = RULE("  sel: {SourceIp|cidr: '0.0.0.0/0'}\n  condition: sel\n");
  assert_true(matches(any4, "\"SourceIp\": \"203.0.113.9\""));
  assert_false(matches(any4, "\"SourceIp\": \"2001:db8::1\""));
  const char *host = RULE("  sel: {SourceIp|cidr: '192.168.1.5/32'}\n  condition: sel\n");
  assert_true(matches(host, "\"SourceIp\": \"192.168.1.5\""));
  assert_false(matches(host, "\"SourceIp\": \"192.168.1.4\""));
  const char *odd = RULE("  sel: {SourceIp|cidr: '172.16.0.0/12'}\n  condition: sel\n");
  assert_true(matches(odd, "\"SourceIp\": \"172.31.255.255\""));
  assert_false(matches(odd, "\"SourceIp\": \"172.32.0.0\""));
  const char *v6 = RULE("  sel: {SourceIp|cidr: '2001:db8::/32'}\n  condition: sel\n");
  assert_true(matches(v6, "\"SourceIp\": \"2001:db8:ffff::1\""));
  assert_false(matches(v6, "\"SourceIp\": \"2001:db9::1\""));
  assert_false(matches(v6, "\"SourceIp\": \"10.0.0.1\""));
  const char *h6 = RULE("  sel: {SourceIp|cidr: '::1/128'}\n  condition: sel\n");
  assert_true(matches(h6, "\"SourceIp\": \"::1\""));
  assert_false(matches(h6, "\"SourceIp\": \"::2\""));
  const char *any6 = RULE("  sel: {SourceIp|cidr: '::/0'}\n  condition: sel\n");
  assert_true(matches(any6, "\"SourceIp\": \"fe80::1\""));
  /* the typed ECS field works the same */
  const char *ecs = RULE("  sel: {source.ip|cidr: ['10.0.0.0/8', '192.168.0.0/16']}\n  condition: sel\n");
  assert_true(matches(ecs, "\"source\": {\"ip\": \"192.168.3.4\"}"));
  rejected(RULE("  sel: {SourceIp|cidr: '10.0.0.0/33'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_VALUE, "network");
  rejected(RULE("  sel: {SourceIp|cidr: 'nope'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_VALUE, "network");
}

static void b64(const unsigned char *in, size_t n, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = 0;
}

static void test_base64(void **state) {
  const char *r = RULE("  sel: {CommandLine|base64: 'foobar'}\n  condition: sel\n");
  assert_true(matches(r, "\"CommandLine\": \"Zm9vYmFy\""));
  assert_false(matches(r, "\"CommandLine\": \"x Zm9vYmFy\""));
  const char *c = RULE("  sel: {CommandLine|base64|contains: 'foobar'}\n  condition: sel\n");
  assert_true(matches(c, "\"CommandLine\": \"x Zm9vYmFy y\""));
  rejected(RULE("  sel: {CommandLine|contains|base64: 'foo'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_VALUE, "wildcards");
}

static void test_base64offset_three_shifts(void **state) {
  const char *r = RULE("  sel: {CommandLine|base64offset|contains: 'foobar'}\n  condition: sel\n");
  /* the three forms pySigma documents for "foobar" */
  assert_true(matches(r, "\"CommandLine\": \"Zm9vYmFy\""));
  assert_true(matches(r, "\"CommandLine\": \"Zvb2Jhc\""));
  assert_true(matches(r, "\"CommandLine\": \"mb29iYX\""));
  /* and "foobar" at each offset inside a real encoded string */
  const char *prefixes[] = {"", "x", "xy", "xyz", "wxyz"};
  for (size_t p = 0; p < 5; p++) {
    char plain[64], enc[128], ev[256];
    snprintf(plain, sizeof plain, "%sfoobar!tail", prefixes[p]);
    b64((const unsigned char *)plain, strlen(plain), enc);
    snprintf(ev, sizeof ev, "\"CommandLine\": \"powershell -enc %s\"", enc);
    assert_true(matches(r, ev));
  }
  char enc[64], ev[128];
  b64((const unsigned char *)"fooba r", 7, enc);
  snprintf(ev, sizeof ev, "\"CommandLine\": \"%s\"", enc);
  assert_false(matches(r, ev));
}

static void test_utf16(void **state) {
  /* wide|base64offset: "cmd" as UTF-16LE, base64 at any offset */
  const char *r = RULE("  sel: {CommandLine|wide|base64offset|contains: 'cmd'}\n  condition: sel\n");
  const char *prefixes[] = {"", "a", "ab"};
  for (size_t p = 0; p < 3; p++) {
    unsigned char buf[64];
    size_t n = 0;
    char text[16];
    snprintf(text, sizeof text, "%scmd /c", prefixes[p]);
    for (size_t i = 0; text[i]; i++) buf[n++] = (unsigned char)text[i], buf[n++] = 0;
    char enc[128], ev[256];
    b64(buf, n, enc);
    snprintf(ev, sizeof ev, "\"CommandLine\": \"-e %s\"", enc);
    assert_true(matches(r, ev));
  }
  /* utf16le and utf16be differ; utf16 has the byte order mark */
  const char *le = RULE("  sel: {F|utf16le|base64: 'ab'}\n  condition: sel\n");
  assert_true(matches(le, "\"F\": \"YQBiAA==\""));
  const char *be = RULE("  sel: {F|utf16be|base64: 'ab'}\n  condition: sel\n");
  assert_true(matches(be, "\"F\": \"AGEAYg==\""));
  const char *bom = RULE("  sel: {F|utf16|base64: 'ab'}\n  condition: sel\n");
  assert_true(matches(bom, "\"F\": \"//5hAGIA\""));
  const char *wide = RULE("  sel: {F|wide|base64: 'ab'}\n  condition: sel\n");
  assert_true(matches(wide, "\"F\": \"YQBiAA==\""));
  /* non-ASCII: U+00E9 and a character outside the BMP (surrogate pair) */
  const char *u = RULE("  sel: {F|utf16le|base64: \"\xc3\xa9\xf0\x9f\x98\x80\"}\n  condition: sel\n");
  unsigned char w[] = {0xE9, 0x00, 0x3D, 0xD8, 0x00, 0xDE};
  char enc[32], ev[64];
  b64(w, sizeof w, enc);
  snprintf(ev, sizeof ev, "\"F\": \"%s\"", enc);
  assert_true(matches(u, ev));
}

static void test_windash(void **state) {
  const char *r = RULE("  sel: {CommandLine|contains|windash: ' -enc '}\n  condition: sel\n");
  assert_true(matches(r, "\"CommandLine\": \"powershell -enc AAA\""));
  assert_true(matches(r, "\"CommandLine\": \"powershell /enc AAA\""));
  assert_true(matches(r, "\"CommandLine\": \"powershell \xe2\x80\x93" "enc AAA\""));  /* en dash */
  assert_true(matches(r, "\"CommandLine\": \"powershell \xe2\x80\x94" "enc AAA\""));  /* em dash */
  assert_true(matches(r, "\"CommandLine\": \"powershell \xe2\x80\x95" "enc AAA\""));  /* horizontal bar */
  assert_false(matches(r, "\"CommandLine\": \"powershell xenc AAA\""));
  assert_false(matches(r, "\"CommandLine\": \"powershell \\\\enc AAA\""));
  /* two flags: every combination */
  const char *two = RULE("  sel: {CommandLine|contains|windash: '-a -b'}\n  condition: sel\n");
  assert_true(matches(two, "\"CommandLine\": \"x /a -b\""));
  assert_true(matches(two, "\"CommandLine\": \"x -a /b\""));
  assert_true(matches(two, "\"CommandLine\": \"x \xe2\x80\x94" "a \xe2\x80\x93" "b\""));
  /* a dash inside a word is not a flag and stays a dash */
  const char *word = RULE("  sel: {CommandLine|contains|windash: ' -foo-bar'}\n  condition: sel\n");
  assert_true(matches(word, "\"CommandLine\": \"x /foo-bar\""));
  assert_false(matches(word, "\"CommandLine\": \"x -foo/bar\""));
  /* windash before an encoder is expanded into the concrete forms */
  const char *enc = RULE("  sel: {F|windash|base64: '-x'}\n  condition: sel\n");
  assert_true(matches(enc, "\"F\": \"L3g=\"")); /* "/x" */
  assert_true(matches(enc, "\"F\": \"LXg=\"")); /* "-x" */
}

static void test_exists_null_empty(void **state) {
  const char *ex = RULE("  sel:\n    EventID: 4738\n    PasswordLastSet|exists: true\n  condition: sel\n");
  assert_true(matches(ex, "\"EventID\": 4738, \"PasswordLastSet\": \"x\""));
  assert_true(matches(ex, "\"EventID\": 4738, \"PasswordLastSet\": null")); /* present, even if null */
  assert_true(matches(ex, "\"EventID\": 4738, \"PasswordLastSet\": \"\""));
  assert_false(matches(ex, "\"EventID\": 4738"));
  const char *nex = RULE("  sel: {PasswordLastSet|exists: false}\n  condition: sel\n");
  assert_true(matches(nex, "\"EventID\": 4738"));
  assert_false(matches(nex, "\"PasswordLastSet\": null"));
  const char *nul = RULE("  sel: {PasswordLastSet: null}\n  condition: sel\n");
  assert_true(matches(nul, "\"EventID\": 1"));
  assert_true(matches(nul, "\"PasswordLastSet\": null"));
  assert_false(matches(nul, "\"PasswordLastSet\": \"\""));
  assert_false(matches(nul, "\"PasswordLastSet\": \"x\""));
  const char *notnull = RULE("  sel: {EventID: 4738}\n  f: {PasswordLastSet: null}\n"
                             "  condition: sel and not f\n");
  assert_true(matches(notnull, "\"EventID\": 4738, \"PasswordLastSet\": \"x\""));
  assert_false(matches(notnull, "\"EventID\": 4738"));
  const char *empty = RULE("  sel: {FieldB: ''}\n  condition: sel\n");
  assert_true(matches(empty, "\"FieldB\": \"\""));
  assert_false(matches(empty, "\"FieldC\": \"\""));
  assert_false(matches(empty, "\"FieldB\": \"x\""));
  rejected(RULE("  sel: {F|exists: 'yes'}\n  condition: sel\n"), NULL, PARRY_SIGMA_REJECT_VALUE,
           "true or false");
  rejected(RULE("  sel: {F|exists|contains: true}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_MODIFIER, "exists");
}

static void test_numbers_and_strings(void **state) {
  const char *num = RULE("  sel: {EventID: 4625}\n  condition: sel\n");
  assert_true(matches(num, "\"EventID\": 4625"));
  assert_true(matches(num, "\"EventID\": \"4625\""));
  assert_false(matches(num, "\"EventID\": 46250"));
  assert_false(matches(num, "\"EventID\": \"4625x\""));
  const char *str = RULE("  sel: {EventID: '4625'}\n  condition: sel\n");
  assert_true(matches(str, "\"EventID\": 4625"));
  assert_true(matches(str, "\"EventID\": \"4625\""));
  const char *list = RULE("  sel: {EventID: [517, 1102]}\n  condition: sel\n");
  assert_true(matches(list, "\"EventID\": 1102"));
  assert_false(matches(list, "\"EventID\": 4624"));
  /* hex as written in rules matches the hex text events carry */
  const char *hex = RULE("  sel: {Status: 0xC000006D}\n  condition: sel\n");
  assert_true(matches(hex, "\"Status\": \"0xc000006d\""));
  assert_true(matches(hex, "\"Status\": 3221225581"));
  const char *flt = RULE("  sel: {Score: 1.5}\n  condition: sel\n");
  assert_true(matches(flt, "\"Score\": 1.5"));
  assert_true(matches(flt, "\"Score\": \"1.5\""));
  const char *b = RULE("  sel: {Signed: true}\n  condition: sel\n");
  assert_true(matches(b, "\"Signed\": true"));
  assert_true(matches(b, "\"Signed\": \"True\""));
  assert_false(matches(b, "\"Signed\": false"));
  assert_false(matches(b, "\"Signed\": \"false\""));
  /* a typed integer field (process.pid) and a typed string (user.name) */
  const char *pid = RULE("  sel: {process.pid: 4}\n  condition: sel\n");
  assert_true(matches(pid, "\"process\": {\"pid\": 4}"));
  const char *un = RULE("  sel: {user.name: ROOT}\n  condition: sel\n");
  assert_true(matches(un, "\"user\": {\"name\": \"root\"}"));
}

static void test_numeric_comparisons(void **state) {
  const char *lt = RULE("  sel: {Count|lt: 10}\n  condition: sel\n");
  assert_true(matches(lt, "\"Count\": 9"));
  assert_false(matches(lt, "\"Count\": 10"));
  assert_true(matches(lt, "\"Count\": \"9\""));   /* a string holding a number */
  assert_true(matches(lt, "\"Count\": 9.5"));
  assert_false(matches(lt, "\"Count\": \"nine\""));
  assert_false(matches(lt, "\"Other\": 1"));
  const char *lte = RULE("  sel: {Count|lte: 10}\n  condition: sel\n");
  assert_true(matches(lte, "\"Count\": 10"));
  assert_false(matches(lte, "\"Count\": 11"));
  const char *gt = RULE("  sel: {Count|gt: 10}\n  condition: sel\n");
  assert_true(matches(gt, "\"Count\": 11"));
  assert_false(matches(gt, "\"Count\": 10"));
  assert_true(matches(gt, "\"Count\": \"1e3\""));
  const char *gte = RULE("  sel: {Count|gte: '10'}\n  condition: sel\n"); /* quoted number */
  assert_true(matches(gte, "\"Count\": 10"));
  assert_false(matches(gte, "\"Count\": -10"));
  const char *neg = RULE("  sel: {Count|gt: -1.5}\n  condition: sel\n");
  assert_true(matches(neg, "\"Count\": -1"));
  assert_false(matches(neg, "\"Count\": -2"));
  rejected(RULE("  sel: {Count|lt: ten}\n  condition: sel\n"), NULL, PARRY_SIGMA_REJECT_VALUE,
           "not a number");
  rejected(RULE("  sel: {Count|lt|gt: 1}\n  condition: sel\n"), NULL, PARRY_SIGMA_REJECT_MODIFIER,
           "comparison");
  rejected(RULE("  sel: {Count|lt|contains: 1}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_MODIFIER, "numeric");
}

static void test_neq(void **state) {
  const char *r = RULE("  sel: {LogonType|neq: 3}\n  condition: sel\n");
  assert_true(matches(r, "\"LogonType\": 2"));
  assert_false(matches(r, "\"LogonType\": 3"));
  assert_false(matches(r, "\"LogonType\": \"3\""));
  assert_false(matches(r, "\"Other\": 1")); /* absent: not "different" */
  const char *list = RULE("  sel: {User|neq: [alice, bob]}\n  condition: sel\n");
  assert_true(matches(list, "\"User\": \"carol\""));
  assert_false(matches(list, "\"User\": \"BOB\""));
  const char *c = RULE("  sel: {Image|neq|endswith: '.exe'}\n  condition: sel\n");
  assert_true(matches(c, "\"Image\": \"a.dll\""));
  assert_false(matches(c, "\"Image\": \"a.exe\""));
}

static void test_fieldref(void **state) {
  const char *r = RULE("  sel: {TargetFilename|fieldref: Image}\n  condition: sel\n");
  assert_true(matches(r, "\"TargetFilename\": \"C:\\\\a.exe\", \"Image\": \"c:\\\\A.EXE\""));
  assert_false(matches(r, "\"TargetFilename\": \"C:\\\\a.exe\", \"Image\": \"C:\\\\b.exe\""));
  assert_false(matches(r, "\"TargetFilename\": \"C:\\\\a.exe\""));
  const char *neq = RULE("  sel: {User|fieldref|neq: ParentUser}\n  condition: sel\n");
  assert_true(matches(neq, "\"User\": \"a\", \"ParentUser\": \"b\""));
  assert_false(matches(neq, "\"User\": \"a\", \"ParentUser\": \"A\""));
  const char *ends = RULE("  sel: {CommandLine|fieldref|endswith: Name}\n  condition: sel\n");
  assert_true(matches(ends, "\"CommandLine\": \"run evil.exe\", \"Name\": \"EVIL.exe\""));
  assert_false(matches(ends, "\"CommandLine\": \"evil.exe run\", \"Name\": \"evil.exe\""));
  const char *cased = RULE("  sel: {A|fieldref|cased: B}\n  condition: sel\n");
  assert_false(matches(cased, "\"A\": \"x\", \"B\": \"X\""));
  assert_true(matches(cased, "\"A\": \"X\", \"B\": \"X\""));
  rejected(RULE("  sel: {A|fieldref: 'B*'}\n  condition: sel\n"), NULL, PARRY_SIGMA_REJECT_VALUE,
           "field name");
}

static void test_expand(void **state) {
  const char *r = RULE("  sel: {User|expand: '%Admins%'}\n  condition: sel\n");
  const char *vals[] = {"root", "adm_*"};
  parry_sigma_placeholder_t ph = {"admins", vals, 2}; /* names ignore case */
  parry_sigma_options_t o = {.placeholders = &ph, .n_placeholders = 1};
  assert_true(matches_opt(r, "\"User\": \"root\"", &o));
  assert_true(matches_opt(r, "\"User\": \"adm_bob\"", &o));
  assert_false(matches_opt(r, "\"User\": \"bob\"", &o));
  /* inside a contains, and around other text */
  const char *c = RULE("  sel: {Attributes|contains|expand: 'host=%Admins%;'}\n  condition: sel\n");
  assert_true(matches_opt(c, "\"Attributes\": \"x host=root; y\"", &o));
  /* without expand a placeholder is literal text; \% is a plain percent */
  const char *lit = RULE("  sel: {User: '%Admins%'}\n  condition: sel\n");
  assert_true(matches_opt(lit, "\"User\": \"%admins%\"", &o));
  const char *esc = RULE("  sel: {User|expand: '\\%plain%Admins%'}\n  condition: sel\n");
  assert_true(matches_opt(esc, "\"User\": \"%plainroot\"", &o));
  /* unknown placeholder: rejected by default, naming it */
  rejected(RULE("  sel: {User|expand: '%Nope%'}\n  condition: sel\n"), &o,
           PARRY_SIGMA_REJECT_PLACEHOLDER, "%Nope%");
  /* or matches nothing, or becomes a wildcard */
  parry_sigma_options_t nm = {.unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_NO_MATCH};
  const char *u = RULE("  sel: {User|expand: 'a%Nope%'}\n  condition: sel\n");
  assert_false(matches_opt(u, "\"User\": \"a\"", &nm));
  parry_sigma_options_t wc = {.unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_WILDCARD};
  assert_true(matches_opt(u, "\"User\": \"anything\"", &wc));
  /* from a YAML file */
  char path[] = "/tmp/parry-sigma-ph-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *yaml = "placeholders:\n  Admins: [carol, dave]\n";
  assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
  close(fd);
  parry_sigma_options_t f = {.placeholders_path = path};
  assert_true(matches_opt(r, "\"User\": \"dave\"", &f));
  unlink(path);
}

static void test_time_parts(void **state) {
  const char *r = RULE("  sel: {'@timestamp|hour|gte': 22}\n  condition: sel\n");
  assert_true(matches(r, "\"@timestamp\": \"2024-01-02T23:10:00Z\""));
  assert_false(matches(r, "\"@timestamp\": \"2024-01-02T21:59:59Z\""));
  const char *m = RULE("  sel: {When|month: 2}\n  condition: sel\n");
  assert_true(matches(m, "\"When\": \"2024-02-29T00:00:00+00:00\""));
  assert_false(matches(m, "\"When\": \"not a time\""));
  const char *w = RULE("  sel: {When|week: 1}\n  condition: sel\n");
  assert_true(matches(w, "\"When\": \"2021-01-04T12:00:00Z\"")); /* ISO week 1 of 2021 */
  assert_false(matches(w, "\"When\": \"2021-01-03T12:00:00Z\"")); /* week 53 of 2020 */
}

static void test_unknown_and_invalid_modifiers(void **state) {
  rejected(RULE("  sel: {Image|endswithh: 'x'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_MODIFIER, "unknown modifier \"endswithh\"");
  rejected(RULE("  sel: {Image|cidr|contains: 'x'}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_MODIFIER, "cidr");
  rejected(RULE("  sel: {Image: {a: b}}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_UNSUPPORTED, "mapping");
  rejected(RULE("  sel: {Image: []}\n  condition: sel\n"), NULL, PARRY_SIGMA_REJECT_VALUE, "empty");
  rejected(RULE("  sel: {Image|contains: null}\n  condition: sel\n"), NULL,
           PARRY_SIGMA_REJECT_VALUE, "null");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_value_whole_field_ignoring_case),
      cmocka_unit_test(test_contains_startswith_endswith),
      cmocka_unit_test(test_wildcards_and_escapes),
      cmocka_unit_test(test_cased),
      cmocka_unit_test(test_all_with_lists),
      cmocka_unit_test(test_re),
      cmocka_unit_test(test_cidr),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_base64offset_three_shifts),
      cmocka_unit_test(test_utf16),
      cmocka_unit_test(test_windash),
      cmocka_unit_test(test_exists_null_empty),
      cmocka_unit_test(test_numbers_and_strings),
      cmocka_unit_test(test_numeric_comparisons),
      cmocka_unit_test(test_neq),
      cmocka_unit_test(test_fieldref),
      cmocka_unit_test(test_expand),
      cmocka_unit_test(test_time_parts),
      cmocka_unit_test(test_unknown_and_invalid_modifiers),
  };
  return cmocka_run_group_tests_name("sigma_modifiers", tests, NULL, NULL);
}
