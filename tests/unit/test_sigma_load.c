/* Loading: rule collections (action global/repeat/reset), files and
 * folders, and rejections that name the file, the line and the field. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "test_support.h"

static parry_sigma_ruleset_t *load(const char *yaml, parry_sigma_report_t *rep) {
  char err[256] = "";
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("l.yml", yaml, strlen(yaml), NULL, rep, err, sizeof err);
  if (!rs) fail_msg("load failed: %s", err);
  return rs;
}

/* Exactly one rejection, with this reason, line and message fragment. */
static void rejected(const char *yaml, parry_sigma_reject_reason_t reason, uint32_t line,
                     const char *needle) {
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(yaml, &rep);
  const parry_sigma_rejection_t *r = rep.n_rejections ? &rep.rejections[0] : NULL;
  if (rep.n_rejections != 1 || r->reason != reason || (line && r->line != line) ||
      !strstr(r->message, needle)) {
    parry_sigma_report_print(&rep, stdout, true);
    fail_msg("expected %s at line %u with \"%s\"", parry_sigma_reject_reason_str(reason), line, needle);
  }
  assert_string_equal(r->file, "l.yml");
  assert_int_equal(rep.by_reason[reason], 1);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
}

static bool hit(parry_sigma_ruleset_t *rs, size_t rule, const char *json) {
  Parry__V1__Event *ev = NULL;
  char err[128];
  assert_int_equal(parry_event_from_json(json, strlen(json), &ev, err, sizeof err), PARRY_OK);
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  const parry_sigma_match_t *out;
  size_t n = parry_sigma_match(m, ev, &out);
  bool found = false;
  for (size_t i = 0; i < n; i++) found |= out[i].rule == rule;
  parry_sigma_matcher_destroy(m);
  parry__v1__event__free_unpacked(ev, NULL);
  return found;
}

static void test_collection_actions(void **state) {
  const char *yaml =
      "action: global\ntitle: Shared\nlevel: high\ndetection:\n  sel: {Image|endswith: '\\x.exe'}\n"
      "  condition: sel\n"
      "---\n"
      "id: one\nlogsource: {product: windows, category: process_creation}\n"
      "---\n"
      "action: repeat\nid: two\nlogsource: {category: ignored_merge_keeps_product}\n"
      "---\n"
      "action: reset\n"
      "---\n"
      "title: Alone\nid: three\nlogsource: {product: linux}\n"
      "detection: {sel: {A: b}, condition: sel}\n";
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load(yaml, &rep);
  parry_sigma_report_print(&rep, stdout, true);
  assert_int_equal(rep.rejected, 0);
  assert_int_equal(parry_sigma_rule_count(rs), 3);
  const parry_sigma_rule_info_t *one = parry_sigma_rule_info(rs, 0);
  assert_string_equal(one->id, "one");
  assert_string_equal(one->title, "Shared");        /* from the global document */
  assert_int_equal(one->level, PARRY_SIGMA_LEVEL_HIGH);
  assert_string_equal(one->logsource.category, "process_creation");
  const parry_sigma_rule_info_t *two = parry_sigma_rule_info(rs, 1);
  assert_string_equal(two->id, "two");              /* repeat: previous + this one */
  assert_string_equal(two->title, "Shared");
  assert_string_equal(two->logsource.product, "windows"); /* maps merge key by key */
  assert_string_equal(two->logsource.category, "ignored_merge_keeps_product");
  const parry_sigma_rule_info_t *three = parry_sigma_rule_info(rs, 2);
  assert_int_equal(three->level, PARRY_SIGMA_LEVEL_NONE); /* the reset dropped the global */
  assert_true(hit(rs, 0, "{\"logsource\": {\"product\": \"windows\", \"category\": \"process_creation\"}, "
                         "\"Image\": \"C:\\\\x.exe\"}"));
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  rejected("action: repeat\ntitle: x\n", PARRY_SIGMA_REJECT_STRUCTURE, 1, "no document before");
  rejected("action: merge\ntitle: x\n", PARRY_SIGMA_REJECT_STRUCTURE, 1, "not global, reset or repeat");
}

static void test_structure_errors_name_line_and_field(void **state) {
  rejected("logsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n",
           PARRY_SIGMA_REJECT_STRUCTURE, 1, "title: missing");
  rejected("title: t\ndetection: {s: {A: b}, condition: s}\n", PARRY_SIGMA_REJECT_STRUCTURE, 1,
           "logsource: missing");
  rejected("title: t\nlogsource: {product: x}\n", PARRY_SIGMA_REJECT_STRUCTURE, 1, "detection: missing");
  rejected("title: t\nlogsource: {product: x}\ndetection:\n  s: {A: b}\n", PARRY_SIGMA_REJECT_STRUCTURE,
           4, "missing condition");
  rejected("title: t\nlevel: urgent\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n",
           PARRY_SIGMA_REJECT_STRUCTURE, 2, "level: \"urgent\"");
  rejected("title: t\nstatus: maybe\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n",
           PARRY_SIGMA_REJECT_STRUCTURE, 2, "status");
  rejected("title: t\ntags: {a: b}\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n",
           PARRY_SIGMA_REJECT_STRUCTURE, 2, "tags: expected a list");
  rejected("title: t\nlogsource:\n  product: [x]\ndetection: {s: {A: b}, condition: s}\n",
           PARRY_SIGMA_REJECT_STRUCTURE, 3, "logsource.product");
  rejected("title: t\nlogsource: {product: x}\ndetection: [a]\n", PARRY_SIGMA_REJECT_STRUCTURE, 3,
           "detection: expected a mapping");
  rejected("title: t\nlogsource: {product: x}\ndetection:\n  s:\n  condition: s\n",
           PARRY_SIGMA_REJECT_STRUCTURE, 4, "empty search identifier");
  rejected("title: t\nlogsource: {product: x}\ndetection:\n  condition: s\n  s:\n    Image|foo: x\n",
           PARRY_SIGMA_REJECT_MODIFIER, 6, "detection.s.Image|foo: unknown modifier \"foo\"");
  rejected("- a\n- b\n", PARRY_SIGMA_REJECT_STRUCTURE, 1, "must be a mapping");
}

static void test_yaml_errors(void **state) {
  rejected("title: t\nlogsource: {product: x\n", PARRY_SIGMA_REJECT_YAML, 0, "invalid YAML");
  rejected("title: t\ntitle: u\n", PARRY_SIGMA_REJECT_YAML, 2, "duplicate key \"title\"");
  rejected("title: &a t\nid: *a\n", PARRY_SIGMA_REJECT_UNSUPPORTED, 2, "aliases");
  /* documents before a syntax error still load */
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load("title: ok\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n"
                                   "---\ntitle: [\n", &rep);
  assert_int_equal(parry_sigma_rule_count(rs), 1);
  assert_int_equal(rep.by_reason[PARRY_SIGMA_REJECT_YAML], 1);
  assert_int_equal(rep.rejections[0].line, 6);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  /* empty input and empty documents are no rules and no errors */
  rs = load("", &rep);
  assert_int_equal(rep.rejected, 0);
  parry_sigma_ruleset_destroy(rs);
  rs = load("---\n---\n", &rep);
  assert_int_equal(rep.rejected, 0);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
}

static void test_duplicates(void **state) {
  rejected("title: a\nid: x\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n---\n"
           "title: b\nid: x\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n",
           PARRY_SIGMA_REJECT_DUPLICATE, 7, "already used by the rule at l.yml:1");
  rejected("title: a\nname: n\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n---\n"
           "title: b\nname: n\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n",
           PARRY_SIGMA_REJECT_DUPLICATE, 7, "name: \"n\"");
}

static void test_limits(void **state) {
  /* YAML nested past the cap */
  char deep[2048] = "title: t\nx: ";
  for (int i = 0; i < 100; i++) strcat(deep, "[");
  for (int i = 0; i < 100; i++) strcat(deep, "]");
  strcat(deep, "\n");
  rejected(deep, PARRY_SIGMA_REJECT_LIMIT, 2, "nested deeper");
  /* a windash before an encoder with too many dashes */
  rejected("title: t\nlogsource: {product: x}\ndetection:\n  s: {A|windash|base64: '-a -b -c -d -e'}\n"
           "  condition: s\n", PARRY_SIGMA_REJECT_LIMIT, 4, "windash");
  /* a regex past the length cap */
  size_t big = 20000;
  char *yaml = malloc(big + 256);
  strcpy(yaml, "title: t\nlogsource: {product: x}\ndetection:\n  s: {A|re: '");
  size_t off = strlen(yaml);
  memset(yaml + off, 'a', big);
  strcpy(yaml + off + big, "'}\n  condition: s\n");
  rejected(yaml, PARRY_SIGMA_REJECT_LIMIT, 4, "longer than");
  free(yaml);
  /* a text larger than the file cap */
  size_t huge = (4u << 20) + 1;
  char *h = calloc(1, huge + 1);
  memset(h, '#', huge);
  parry_sigma_report_t rep = {0};
  char err[128];
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("h.yml", h, huge, NULL, &rep, err, sizeof err);
  assert_non_null(rs);
  assert_int_equal(rep.by_reason[PARRY_SIGMA_REJECT_LIMIT], 1);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  free(h);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_files_and_folders(void **state) {
  char dir[] = "/tmp/parry-sigma-load-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char sub[600], hidden[600];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  snprintf(hidden, sizeof hidden, "%s/.git", dir);
  mkdir(sub, 0700);
  mkdir(hidden, 0700);
  const char *ok = "title: r\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n";
  write_file(dir, "b.yml", ok);
  write_file(sub, "a.yaml", "title: r2\nlogsource: {product: x}\ndetection: {s: {A: b}, condition: s}\n");
  write_file(dir, "notes.txt", "not yaml: [");
  write_file(hidden, "x.yml", "title: [");
  write_file(dir, "bad.yml", "title: t\nlogsource: {product: x}\ndetection: {s: {A|nope: b}, condition: s}\n");
  const char *paths[] = {dir};
  parry_sigma_report_t rep = {0};
  char err[256];
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, 1, NULL, &rep, err, sizeof err);
  assert_non_null(rs);
  parry_sigma_report_print(&rep, stdout, true);
  assert_int_equal(rep.files, 3);          /* .txt and hidden folders skipped */
  assert_int_equal(rep.rules_loaded, 2);
  assert_int_equal(rep.rejected, 1);
  char want[700];
  snprintf(want, sizeof want, "%s/bad.yml", dir);
  assert_string_equal(rep.rejections[0].file, want);
  assert_int_equal(rep.rejections[0].line, 3);
  /* folders are walked in name order: b.yml before sub/a.yaml */
  assert_string_equal(parry_sigma_rule_info(rs, 0)->title, "r");
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  /* a file named directly is read whatever its extension */
  char txt[700];
  snprintf(txt, sizeof txt, "%s/notes.txt", dir);
  const char *one[] = {txt};
  rs = parry_sigma_load(one, 1, NULL, &rep, err, sizeof err);
  assert_int_equal(rep.by_reason[PARRY_SIGMA_REJECT_YAML], 1);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  /* a path that does not exist fails the whole load */
  const char *missing[] = {"/nonexistent/parry/rules"};
  assert_null(parry_sigma_load(missing, 1, NULL, &rep, err, sizeof err));
  assert_non_null(strstr(err, "could not open /nonexistent/parry/rules"));
  /* the report prints counts and one line per rejection */
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_report_print(void **state) {
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = load("title: t\nlogsource: {product: x}\ndetection: {s: {A|nope: b}, condition: s}\n",
                                   &rep);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  parry_sigma_report_print(&rep, f, true);
  fclose(f);
  assert_non_null(strstr(buf, "rules=0"));
  assert_non_null(strstr(buf, "rejected modifier"));
  assert_non_null(strstr(buf, "l.yml:3:"));
  free(buf);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  parry_sigma_report_free(NULL);
  parry_sigma_ruleset_destroy(NULL);
  parry_sigma_matcher_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_collection_actions),
      cmocka_unit_test(test_structure_errors_name_line_and_field),
      cmocka_unit_test(test_yaml_errors),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_files_and_folders),
      cmocka_unit_test(test_report_print),
  };
  return cmocka_run_group_tests_name("sigma_load", tests, NULL, NULL);
}
