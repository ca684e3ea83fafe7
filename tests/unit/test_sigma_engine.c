/* The engine around the values: logsource gating, keywords, field lookup
 * and mapping, filters, minimum level, results and statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "test_support.h"

static parry_sigma_ruleset_t *load(const char *yaml, const parry_sigma_options_t *o,
                                   parry_sigma_report_t *rep) {
  char err[256] = "";
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("e.yml", yaml, strlen(yaml), o, rep, err, sizeof err);
  if (!rs) fail_msg("load failed: %s", err);
  if (rep && rep->rejected) {
    parry_sigma_report_print(rep, stdout, true);
    fail_msg("unexpected rejections");
  }
  return rs;
}

/* Match `json` and write the matched rule indices as "0,2," into out. */
static size_t run(parry_sigma_ruleset_t *rs, const char *json, char *out, size_t out_size,
                  const parry_sigma_match_t **matches) {
  Parry__V1__Event *ev = NULL;
  char err[256];
  if (parry_event_from_json(json, strlen(json), &ev, err, sizeof err) != PARRY_OK)
    fail_msg("bad event: %s", err);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  const parry_sigma_match_t *res;
  size_t n = parry_sigma_match(m, ev, &res);
  out[0] = 0;
  for (size_t i = 0; i < n; i++)
    snprintf(out + strlen(out), out_size - strlen(out), "%u%s,", res[i].rule,
             res[i].flags & PARRY_SIGMA_MATCH_BELOW_MIN_LEVEL ? "L"
             : res[i].flags & PARRY_SIGMA_MATCH_FILTERED       ? "F"
                                                               : "");
  if (matches) *matches = NULL;
  parry_sigma_matcher_destroy(m);
  parry__v1__event__free_unpacked(ev, NULL);
  return n;
}

static char *hits(parry_sigma_ruleset_t *rs, const char *json) {
  static char out[256];
  run(rs, json, out, sizeof out, NULL);
  return out;
}

static void test_logsource_gating(void **state) {
  const char *yaml =
      "title: proc windows\nlogsource: {category: process_creation, product: windows}\n"
      "detection: {sel: {Image|endswith: '\\x.exe'}, condition: sel}\n"
      "---\n"
      "title: any windows\nlogsource: {product: windows}\n"
      "detection: {sel: {Image|endswith: '\\x.exe'}, condition: sel}\n"
      "---\n"
      "title: sysmon only\nlogsource: {product: windows, service: sysmon}\n"
      "detection: {sel: {Image|endswith: '\\x.exe'}, condition: sel}\n"
      "---\n"
      "title: linux\nlogsource: {product: linux, category: process_creation}\n"
      "detection: {sel: {Image|endswith: '\\x.exe'}, condition: sel}\n"
      "---\n"
      "title: no logsource attributes\nlogsource: {definition: anything}\n"
      "detection: {sel: {Image|endswith: '\\x.exe'}, condition: sel}\n"
      "---\n"
      "title: registry umbrella\nlogsource: {product: windows, category: registry_event}\n"
      "detection: {sel: {Image|endswith: '\\x.exe'}, condition: sel}\n";
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(yaml, NULL, &rep);
  assert_int_equal(parry_sigma_rule_count(rs), 6);
  const char *img = "\"Image\": \"C:\\\\x.exe\"";
  char ev[512];
  snprintf(ev, sizeof ev,
           "{\"logsource\": {\"product\": \"windows\", \"service\": \"sysmon\", \"category\": "
           "\"process_creation\"}, %s}", img);
  assert_string_equal(hits(rs, ev), "0,1,2,4,");
  /* attributes compare ignoring case; a rule's unnamed attributes are wildcards */
  snprintf(ev, sizeof ev,
           "{\"logsource\": {\"product\": \"Windows\", \"category\": \"PROCESS_CREATION\"}, %s}", img);
  assert_string_equal(hits(rs, ev), "0,1,4,");
  /* an event without the category a rule names does not reach it */
  snprintf(ev, sizeof ev, "{\"logsource\": {\"product\": \"windows\"}, %s}", img);
  assert_string_equal(hits(rs, ev), "1,4,");
  snprintf(ev, sizeof ev, "{%s}", img);
  assert_string_equal(hits(rs, ev), "4,");
  snprintf(ev, sizeof ev, "{\"logsource\": {\"product\": \"linux\", \"category\": \"process_creation\"}, %s}", img);
  assert_string_equal(hits(rs, ev), "3,4,");
  /* the taxonomy's umbrella: registry_event covers registry_add/_delete/_set/_rename */
  snprintf(ev, sizeof ev, "{\"logsource\": {\"product\": \"windows\", \"category\": \"registry_set\"}, %s}", img);
  assert_string_equal(hits(rs, ev), "1,4,5,");
  snprintf(ev, sizeof ev, "{\"logsource\": {\"product\": \"windows\", \"category\": \"registry_event\"}, %s}", img);
  assert_string_equal(hits(rs, ev), "1,4,5,");
  snprintf(ev, sizeof ev, "{\"logsource\": {\"product\": \"windows\", \"category\": \"file_event\"}, %s}", img);
  assert_string_equal(hits(rs, ev), "1,4,");
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  /* ignore_logsource: every rule meets every event */
  parry_sigma_options_t o = {.ignore_logsource = true};
  rs = load(yaml, &o, NULL);
  snprintf(ev, sizeof ev, "{%s}", img);
  assert_string_equal(hits(rs, ev), "0,1,2,3,4,5,");
  parry_sigma_ruleset_destroy(rs);
}

static void test_keywords(void **state) {
  const char *yaml =
      "title: kw\nlogsource: {product: linux}\n"
      "detection:\n  keywords: ['event::clear', 'event::drop']\n  condition: keywords\n"
      "---\n"
      "title: kw all\nlogsource: {product: linux}\n"
      "detection:\n  keywords:\n    '|all': [OabVirtualDirectory, ' -ExternalUrl ']\n"
      "  condition: keywords\n"
      "---\n"
      "title: kw re\nlogsource: {product: linux}\n"
      "detection:\n  keywords:\n    '|re': 'fail(ed|ure) for [a-z]+'\n  condition: keywords\n";
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(yaml, NULL, &rep);
  /* keywords search the message ... */
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"message\": \"mimikatz EVENT::Clear done\"}"),
      "0,");
  /* ... and every other string of the event, at any depth */
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"data\": {\"x\": [\"a\", \"event::drop\"]}}"),
      "0,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"user\": {\"name\": \"event::drop\"}}"),
      "0,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"message\": \"Set-OabVirtualDirectory -ExternalUrl x\"}"),
      "1,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"message\": \"Set-OabVirtualDirectory\", "
               "\"cmd\": \"a -ExternalUrl b\"}"),
      "1,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"message\": \"OabVirtualDirectory only\"}"), "");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"message\": \"auth failure for root\"}"), "2,");
  assert_string_equal(hits(rs, "{\"logsource\": {\"product\": \"linux\"}, \"message\": \"nothing\"}"), "");
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
}

static void test_field_lookup_and_mapping(void **state) {
  const char *yaml =
      "title: vendor\nlogsource: {product: windows}\n"
      "detection: {sel: {TargetUserName: admin}, condition: sel}\n"
      "---\n"
      "title: ecs\nlogsource: {product: windows}\n"
      "detection: {sel: {user.name: admin}, condition: sel}\n"
      "---\n"
      "title: nested vendor path\nlogsource: {product: windows}\n"
      "detection: {sel: {winlog.event_data.LogonType: 3}, condition: sel}\n"
      "---\n"
      "title: mapped\nlogsource: {product: windows}\n"
      "detection: {sel: {Image|endswith: '\\evil.exe'}, condition: sel}\n";
  const char *img_targets[] = {"process.executable", "Image"};
  parry_sigma_field_map_t map[] = {{"Image", img_targets, 2}};
  parry_sigma_options_t o = {.field_map = map, .n_field_map = 1};
  parry_sigma_ruleset_t *rs = load(yaml, &o, NULL);
  assert_string_equal(hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"TargetUserName\": \"Admin\"}"), "0,");
  assert_string_equal(hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"user\": {\"name\": \"admin\"}}"), "1,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"winlog\": {\"event_data\": {\"LogonType\": 3}}}"), "2,");
  /* a flat dotted key answers the dotted name too */
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"winlog.event_data.LogonType\": \"3\"}"), "2,");
  /* the map tries its targets in order: the first present one is used */
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"process\": {\"executable\": \"C:\\\\evil.exe\"}}"), "3,");
  assert_string_equal(hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"Image\": \"C:\\\\evil.exe\"}"), "3,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"process\": {\"executable\": \"C:\\\\ok.exe\"}, "
               "\"Image\": \"C:\\\\evil.exe\"}"), "");
  parry_sigma_ruleset_destroy(rs);

  /* the same from a YAML file, and fallback prefixes */
  char path[] = "/tmp/parry-sigma-map-XXXXXX";
  int fd = mkstemp(path);
  const char *file = "fieldmappings:\n  TargetUserName: user.name\n  Image: [process.executable]\n";
  assert_int_equal(write(fd, file, strlen(file)), (ssize_t)strlen(file));
  close(fd);
  const char *prefixes[] = {"winlog.event_data."};
  parry_sigma_options_t f = {.field_map_path = path, .field_prefixes = prefixes, .n_field_prefixes = 1};
  const char *y2 = "title: prefixed\nlogsource: {product: windows}\n"
                   "detection: {sel: {LogonType: 3, TargetUserName: admin}, condition: sel}\n";
  rs = load(y2, &f, NULL);
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"windows\"}, \"user\": {\"name\": \"admin\"}, "
               "\"winlog\": {\"event_data\": {\"LogonType\": 3}}}"), "0,");
  parry_sigma_ruleset_destroy(rs);
  /* a bad options file fails the load with a reason */
  const char *bad = "fieldmappings:\n  Image: {a: b}\n";
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
  close(fd);
  char err[256];
  assert_null(parry_sigma_load_text("x", y2, strlen(y2), &f, NULL, err, sizeof err));
  assert_non_null(strstr(err, "Image"));
  unlink(path);
}

static void test_list_fields(void **state) {
  const char *yaml = "title: l\nlogsource: {product: x}\n"
                     "detection: {sel: {event.category: authentication, Tags|contains: bad}, condition: sel}\n";
  parry_sigma_ruleset_t *rs = load(yaml, NULL, NULL);
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"x\"}, \"event\": {\"category\": [\"network\", \"authentication\"]}, "
               "\"Tags\": [\"ok\", \"very-bad\"]}"), "0,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"x\"}, \"event\": {\"category\": [\"network\"]}, \"Tags\": [\"bad\"]}"), "");
  parry_sigma_ruleset_destroy(rs);
}

static const char *filter_rules =
    "title: whoami\nid: 11111111-1111-1111-1111-111111111111\nname: whoami_exec\nlevel: high\n"
    "logsource: {category: process_creation, product: windows}\n"
    "detection: {sel: {Image|endswith: '\\whoami.exe'}, condition: sel}\n"
    "---\n"
    "title: net\nid: 22222222-2222-2222-2222-222222222222\nlevel: medium\n"
    "logsource: {category: process_creation, product: windows}\n"
    "detection: {sel: {Image|endswith: '\\net.exe'}, condition: sel}\n"
    "---\n"
    "title: dns\nid: 33333333-3333-3333-3333-333333333333\nlevel: low\n"
    "logsource: {category: dns, product: windows}\n"
    "detection: {sel: {QueryName|contains: 'evil'}, condition: sel}\n";

static const char *proc(const char *image, const char *user) {
  static char buf[512];
  snprintf(buf, sizeof buf,
           "{\"logsource\": {\"product\": \"windows\", \"category\": \"process_creation\"}, "
           "\"Image\": \"C:\\\\Windows\\\\%s\", \"User\": \"%s\"}", image, user);
  return buf;
}

static void test_filters_per_rule(void **state) {
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           "%s---\ntitle: admins run whoami\nlogsource: {category: process_creation, product: windows}\n"
           "filter:\n  rules: [whoami_exec]\n  selection: {User|startswith: 'adm_'}\n"
           "  condition: not selection\n", filter_rules);
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(yaml, NULL, &rep);
  assert_int_equal(rep.filters_loaded, 1);
  assert_int_equal(parry_sigma_rule_info(rs, 0)->n_filters, 1);
  assert_int_equal(parry_sigma_rule_info(rs, 1)->n_filters, 0);
  assert_string_equal(hits(rs, proc("whoami.exe", "bob")), "0,");
  assert_string_equal(hits(rs, proc("whoami.exe", "adm_bob")), "");   /* known good */
  assert_string_equal(hits(rs, proc("net.exe", "adm_bob")), "1,");    /* another rule */
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  /* by id, with report_filtered: the match comes back flagged */
  snprintf(yaml, sizeof yaml,
           "%s---\ntitle: f\nlogsource: {product: windows}\n"
           "filter:\n  rules: 11111111-1111-1111-1111-111111111111\n  sel: {User: 'adm_bob'}\n"
           "  condition: not sel\n", filter_rules);
  parry_sigma_options_t o = {.report_filtered = true};
  rs = load(yaml, &o, NULL);
  assert_string_equal(hits(rs, proc("whoami.exe", "adm_bob")), "0F,");
  parry_sigma_ruleset_destroy(rs);
}

static void test_filters_per_logsource(void **state) {
  /* rules: any -> every rule of the logsource; a filter on dns leaves
   * process rules alone */
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           "%s---\ntitle: no service accounts\nlogsource: {category: process_creation, product: windows}\n"
           "filter:\n  rules: any\n  svc: {User|endswith: '$'}\n  condition: not svc\n"
           "---\ntitle: dns noise\nlogsource: {category: dns}\n"
           "filter:\n  rules: []\n  sel: {QueryName|endswith: '.corp'}\n  condition: not sel\n",
           filter_rules);
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(yaml, NULL, &rep);
  assert_int_equal(rep.filters_loaded, 2);
  assert_string_equal(hits(rs, proc("whoami.exe", "HOST$")), "");
  assert_string_equal(hits(rs, proc("net.exe", "HOST$")), "");
  assert_string_equal(hits(rs, proc("net.exe", "alice")), "1,");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"windows\", \"category\": \"dns\"}, \"QueryName\": \"evil.corp\"}"), "");
  assert_string_equal(
      hits(rs, "{\"logsource\": {\"product\": \"windows\", \"category\": \"dns\"}, \"QueryName\": \"evil.com\"}"), "2,");
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  /* filters from options.filter_paths, and a filter naming no rule */
  char path[] = "/tmp/parry-sigma-filter-XXXXXX.yml";
  int fd = mkstemps(path, 4);
  const char *flt = "title: f\nlogsource: {product: windows}\n"
                    "filter: {rules: [nope, whoami_exec], s: {User: x}, condition: not s}\n";
  assert_int_equal(write(fd, flt, strlen(flt)), (ssize_t)strlen(flt));
  close(fd);
  const char *fp[] = {path};
  parry_sigma_options_t o = {.filter_paths = fp, .n_filter_paths = 1};
  rs = load(filter_rules, &o, &rep);
  assert_int_equal(rep.filters_loaded, 1);
  assert_int_equal(rep.filter_refs_unresolved, 1);
  assert_string_equal(hits(rs, proc("whoami.exe", "x")), "");
  assert_string_equal(hits(rs, proc("whoami.exe", "y")), "0,");
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  unlink(path);
}

static void test_min_level(void **state) {
  const char *yaml =
      "title: info\nlevel: informational\nlogsource: {product: x}\ndetection: {s: {A: '1'}, condition: s}\n"
      "---\ntitle: low\nlevel: low\nlogsource: {product: x}\ndetection: {s: {A: '1'}, condition: s}\n"
      "---\ntitle: high\nlevel: high\nlogsource: {product: x}\ndetection: {s: {A: '1'}, condition: s}\n"
      "---\ntitle: none\nlogsource: {product: x}\ndetection: {s: {A: '1'}, condition: s}\n";
  const char *ev = "{\"logsource\": {\"product\": \"x\"}, \"A\": \"1\"}";
  parry_sigma_ruleset_t *rs = load(yaml, NULL, NULL);
  assert_string_equal(hits(rs, ev), "0,1,2,3,"); /* default: everything alerts */
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_options_t o = {.min_level = PARRY_SIGMA_LEVEL_MEDIUM};
  rs = load(yaml, &o, NULL);
  assert_string_equal(hits(rs, ev), "0L,1L,2,3L,"); /* counted and flagged, not dropped */
  assert_false(parry_sigma_rule_info(rs, 1)->alerting);
  assert_true(parry_sigma_rule_info(rs, 2)->alerting);
  assert_int_equal(parry_sigma_rule_info(rs, 2)->level, PARRY_SIGMA_LEVEL_HIGH);
  parry_sigma_ruleset_destroy(rs);
  o.min_level = PARRY_SIGMA_LEVEL_INFORMATIONAL;
  rs = load(yaml, &o, NULL);
  assert_string_equal(hits(rs, ev), "0,1,2,3,");
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_level_t l;
  assert_true(parry_sigma_level_parse("critical", &l));
  assert_int_equal(l, PARRY_SIGMA_LEVEL_CRITICAL);
  assert_false(parry_sigma_level_parse("urgent", &l));
  assert_string_equal(parry_sigma_level_str(PARRY_SIGMA_LEVEL_LOW), "low");
}

static void test_results_and_stats(void **state) {
  const char *yaml =
      "title: a\nlogsource: {product: x}\ndetection: {s: {A|contains: 'needle'}, condition: s}\n"
      "---\ntitle: b\nlogsource: {product: x}\ndetection: {s: {B: 1}, condition: s}\n"
      "---\ntitle: c\nlogsource: {product: x}\ndetection: {s: {A|contains: 'other'}, condition: s}\n";
  parry_sigma_ruleset_t *rs = load(yaml, NULL, NULL);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  const char *json = "{\"logsource\": {\"product\": \"x\"}, \"A\": \"a NEEDLE\", \"B\": 1}";
  Parry__V1__Event *ev = NULL;
  char err[128];
  assert_int_equal(parry_event_from_json(json, strlen(json), &ev, err, sizeof err), PARRY_OK);
  const parry_sigma_match_t *out;
  for (int round = 0; round < 3; round++) {
    assert_int_equal(parry_sigma_match(m, ev, &out), 2);
    assert_int_equal(out[0].rule, 0);
    assert_int_equal(out[1].rule, 1);
    assert_int_equal(out[0].flags, 0);
  }
  parry_sigma_stats_t st;
  parry_sigma_matcher_stats(m, &st);
  assert_int_equal(st.events, 3);
  assert_int_equal(st.matches, 6);
  /* the prefilter kept rule c (literal "other" absent) from being evaluated */
  assert_int_equal(st.rules_evaluated, 6);
  assert_int_equal(parry_sigma_match(m, NULL, &out), 0);
  parry__v1__event__free_unpacked(ev, NULL);
  parry_sigma_matcher_destroy(m);
  parry_sigma_ruleset_destroy(rs);
}

static void test_rule_metadata(void **state) {
  const char *yaml =
      "title: Meta\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nname: meta_rule\nstatus: test\n"
      "description: d\nlicense: MIT\nauthor: A, B\nreferences: [https://x]\ndate: 2024-01-02\n"
      "modified: 2024-02-03\ntags: [attack.t1234, attack.execution]\nlevel: critical\n"
      "related:\n  - {id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9, type: derived}\n"
      "taxonomy: sigma\nscope: [server]\nfields: [CommandLine]\nfalsepositives: Admins\n"
      "logsource: {category: process_creation, product: windows, definition: sysmon}\n"
      "detection: {s: {A: '1'}, condition: s}\ncustom_field: {nested: [1, 2]}\n";
  parry_sigma_ruleset_t *rs = load(yaml, NULL, NULL);
  const parry_sigma_rule_info_t *i = parry_sigma_rule_info(rs, 0);
  assert_string_equal(i->title, "Meta");
  assert_string_equal(i->id, "929a690e-bef0-4204-a928-ef5e620d6fcc");
  assert_string_equal(i->name, "meta_rule");
  assert_string_equal(i->status, "test");
  assert_string_equal(i->license, "MIT");
  assert_string_equal(i->author, "A, B");
  assert_string_equal(i->date, "2024-01-02");
  assert_string_equal(i->modified, "2024-02-03");
  assert_string_equal(i->taxonomy, "sigma");
  assert_int_equal(i->tags.n, 2);
  assert_string_equal(i->tags.items[1], "attack.execution");
  assert_int_equal(i->references.n, 1);
  assert_int_equal(i->falsepositives.n, 1); /* a scalar is a list of one */
  assert_string_equal(i->scope.items[0], "server");
  assert_string_equal(i->fields.items[0], "CommandLine");
  assert_int_equal(i->n_related, 1);
  assert_string_equal(i->related[0].type, "derived");
  assert_int_equal(i->level, PARRY_SIGMA_LEVEL_CRITICAL);
  assert_string_equal(i->logsource.definition, "sysmon");
  assert_int_equal(i->line, 1);
  const parry_sigma_node_t *custom = parry_sigma_node_get(i->document, "custom_field");
  assert_non_null(custom);
  const parry_sigma_node_t *nested = parry_sigma_node_get(custom, "nested");
  assert_int_equal(nested->n, 2);
  assert_int_equal(nested->items[1]->scalar, PARRY_SIGMA_SCALAR_INT);
  uint32_t idx;
  assert_true(parry_sigma_rule_find(rs, "meta_rule", &idx));
  assert_true(parry_sigma_rule_find(rs, "929a690e-bef0-4204-a928-ef5e620d6fcc", &idx));
  assert_false(parry_sigma_rule_find(rs, "nope", &idx));
  parry_sigma_ruleset_destroy(rs);
}

static void test_correlations_kept(void **state) {
  const char *yaml =
      "title: Many failed logins\nid: c1\ncorrelation:\n  type: event_count\n  rules: [failed]\n"
      "  group-by: [IpAddress]\n  timespan: 5m\n  condition: {gte: 10}\nlevel: high\n"
      "---\n"
      "title: Failed logon\nname: failed\nlogsource: {product: windows, service: security}\n"
      "detection: {s: {EventID: 4625}, condition: s}\n";
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(yaml, NULL, &rep);
  assert_int_equal(rep.correlations, 1);
  assert_int_equal(rep.rules_loaded, 1);
  assert_int_equal(parry_sigma_correlation_count(rs), 1);
  const parry_sigma_correlation_t *c = parry_sigma_correlation(rs, 0);
  assert_string_equal(c->id, "c1");
  assert_string_equal(c->title, "Many failed logins");
  const parry_sigma_node_t *corr = parry_sigma_node_get(c->document, "correlation");
  assert_string_equal(parry_sigma_node_get(corr, "type")->text, "event_count");
  uint32_t idx;
  assert_true(parry_sigma_rule_find(rs, "failed", &idx));
  assert_int_equal(idx, 0);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logsource_gating),
      cmocka_unit_test(test_keywords),
      cmocka_unit_test(test_field_lookup_and_mapping),
      cmocka_unit_test(test_list_fields),
      cmocka_unit_test(test_filters_per_rule),
      cmocka_unit_test(test_filters_per_logsource),
      cmocka_unit_test(test_min_level),
      cmocka_unit_test(test_results_and_stats),
      cmocka_unit_test(test_rule_metadata),
      cmocka_unit_test(test_correlations_kept),
  };
  return cmocka_run_group_tests_name("sigma_engine", tests, NULL, NULL);
}
