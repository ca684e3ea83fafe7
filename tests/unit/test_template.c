/* Templates: substitution, filters, every escape context, hostile data
 * (shell metacharacters, quotes, CR/LF, NUL, "{{") that must not change the
 * structure of what is rendered, and compile errors with their offsets. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook/template.h"
#include "test_support.h"

static struct json_object *ctx;

static const char *const hostile = "a'b\"c;$(rm -rf /)`id`|&<>\\ {{ alert.secret }}\r\nX-Evil: 1";

static int setup(void **state) {
  (void)state;
  ctx = json_tokener_parse(
      "{\"alert\": {\"id\": \"a1\", \"count\": 12, \"score\": 0.5, \"flag\": false, \"none\": null,"
      " \"secret\": \"LEAKED\", \"rule\": {\"title\": \"SSH Brute Force\", \"level\": \"high\","
      " \"tags\": [\"a\", \"b\"]}, \"group_by\": {\"source.ip\": \"203.0.113.7\"},"
      " \"space\": \"  padded  \", \"utf8\": \"caf\\u00e9\"},"
      " \"steps\": {\"geo\": {\"status\": \"succeeded\", \"outputs\": {\"country\": \"NL\"}}}}");
  json_object_object_add(json_object_object_get(ctx, "alert"), "evil",
                         json_object_new_string(hostile));
  /* a value with an embedded NUL byte */
  json_object_object_add(json_object_object_get(ctx, "alert"), "nul",
                         json_object_new_string_len("a\0b", 3));
  return ctx ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  json_object_put(ctx);
  return 0;
}

/* Render text with esc; returns a malloc'd result, or NULL with err set. */
static char *render(const char *text, parry_escape_t esc, char *err, size_t n) {
  parry_template_t *t = parry_template_compile(text, strlen(text), NULL, err, n);
  if (!t) fail_msg("compile \"%s\": %s", text, err);
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, "");
  char *out = NULL;
  if (parry_template_render(t, ctx, esc, &b, err, n) == PARRY_OK) out = parry_buf_steal(&b);
  parry_buf_free(&b);
  parry_template_destroy(t);
  return out;
}

#define assert_render(text, esc, want)                      \
  do {                                                      \
    char err_[256];                                         \
    char *got_ = render((text), (esc), err_, sizeof err_);  \
    if (!got_) fail_msg("render \"%s\": %s", (text), err_); \
    assert_string_equal(got_, (want));                      \
    free(got_);                                             \
  } while (0)

static void test_substitution(void **state) {
  (void)state;
  assert_render("plain text", PARRY_ESCAPE_NONE, "plain text");
  assert_render("{{alert.id}}", PARRY_ESCAPE_NONE, "a1");
  assert_render("id={{ alert.id }} n={{ alert.count }} s={{ alert.score }} f={{ alert.flag }}",
                PARRY_ESCAPE_NONE, "id=a1 n=12 s=0.5 f=false");
  assert_render("[{{ alert.none }}][{{ alert.missing.deep }}]", PARRY_ESCAPE_NONE, "[][]");
  assert_render("{{ alert.rule.tags }}", PARRY_ESCAPE_NONE, "[\"a\",\"b\"]");
  assert_render("{{ alert.rule.tags.1 }}{{ alert.rule.tags[0] }}", PARRY_ESCAPE_NONE, "ba");
  assert_render("{{ alert.group_by.source.ip }}/{{ alert.group_by[\"source.ip\"] }}",
                PARRY_ESCAPE_NONE, "203.0.113.7/203.0.113.7");
  assert_render("{{ steps.geo.outputs.country }}", PARRY_ESCAPE_NONE, "NL");
  assert_render("{{ \"{{\" }} x }}", PARRY_ESCAPE_NONE, "{{ x }}");
  assert_render("a } b }} c {", PARRY_ESCAPE_NONE, "a } b }} c {");
}

static void test_filters(void **state) {
  (void)state;
  assert_render("{{ alert.none | default(\"n/a\") }}", PARRY_ESCAPE_NONE, "n/a");
  assert_render("{{ alert.missing | default('x') | upper }}", PARRY_ESCAPE_NONE, "X");
  assert_render("{{ alert.id | default(\"n/a\") }}", PARRY_ESCAPE_NONE, "a1");
  assert_render("{{ alert.rule.title | upper }}", PARRY_ESCAPE_NONE, "SSH BRUTE FORCE");
  assert_render("{{ alert.rule.title | lower }}", PARRY_ESCAPE_NONE, "ssh brute force");
  assert_render("[{{ alert.space | trim }}]", PARRY_ESCAPE_NONE, "[padded]");
  assert_render("{{ alert.id | json }}", PARRY_ESCAPE_NONE, "\"a1\"");
  assert_render("{{ alert.missing | json }}", PARRY_ESCAPE_NONE, "null");
  char err[256];
  char *out = render("x {{ alert.missing | required }}", PARRY_ESCAPE_NONE, err, sizeof err);
  assert_null(out);
  assert_non_null(strstr(err, "alert.missing"));
  assert_render("{{ alert.id | required }}", PARRY_ESCAPE_NONE, "a1");
}

static void test_escape_url(void **state) {
  (void)state;
  assert_render(
      "https://fw.example/api/block?ip={{ alert.group_by.source.ip }}&r={{ alert.rule.title }}",
      PARRY_ESCAPE_URL, "https://fw.example/api/block?ip=203.0.113.7&r=SSH%20Brute%20Force");
  char err[256];
  char *out = render("https://x.example/q?v={{ alert.evil }}", PARRY_ESCAPE_URL, err, sizeof err);
  assert_non_null(out);
  /* nothing from the data can end the component: no raw & ? # / = space quote CR LF */
  const char *v = out + strlen("https://x.example/q?v=");
  assert_null(strpbrk(v, "&?#/= '\"\r\n;$`|<>\\{}"));
  assert_string_equal(
      v,
      "a%27b%22c%3B%24%28rm%20-rf%20%2F%29%60id%60%7C%26%3C%3E%5C%20%7B%7B%20alert.secret"
      "%20%7D%7D%0D%0AX-Evil%3A%201");
  free(out);
  assert_render("{{ alert.utf8 }}", PARRY_ESCAPE_URL, "caf%C3%A9");
  assert_render("{{ alert.nul }}", PARRY_ESCAPE_URL, "a%00b");
  assert_render("-._~", PARRY_ESCAPE_URL, "-._~");
}

static void test_escape_header(void **state) {
  (void)state;
  assert_render("Bearer {{ alert.id }}", PARRY_ESCAPE_HEADER, "Bearer a1");
  char err[256];
  /* CR/LF in data is refused, never stripped */
  char *out = render("X {{ alert.evil }}", PARRY_ESCAPE_HEADER, err, sizeof err);
  assert_null(out);
  assert_non_null(strstr(err, "CR"));
  out = render("{{ alert.nul }}", PARRY_ESCAPE_HEADER, err, sizeof err);
  assert_null(out);
  assert_non_null(strstr(err, "NUL"));
  /* the literal part is checked too */
  out = render("a\nb", PARRY_ESCAPE_HEADER, err, sizeof err);
  assert_null(out);
  assert_non_null(strstr(err, "LF"));
  /* out is left as it was on error */
  parry_template_t *t = parry_template_compile("v={{ alert.evil }}", 18, NULL, err, sizeof err);
  assert_non_null(t);
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, "before");
  assert_int_not_equal(parry_template_render(t, ctx, PARRY_ESCAPE_HEADER, &b, err, sizeof err),
                       PARRY_OK);
  assert_string_equal(b.data, "before");
  assert_int_equal(b.len, 6);
  parry_buf_free(&b);
  parry_template_destroy(t);
}

static void test_escape_json(void **state) {
  (void)state;
  char err[256];
  const char *tmpl = "{\"text\": \"{{ alert.evil }}\", \"n\": \"{{ alert.count }}\"}";
  char *out = render(tmpl, PARRY_ESCAPE_JSON, err, sizeof err);
  assert_non_null(out);
  /* the result is one JSON object with exactly the two keys, and the data
   * came through unchanged */
  struct json_object *j = json_tokener_parse(out);
  assert_non_null(j);
  assert_int_equal(json_object_object_length(j), 2);
  assert_string_equal(json_object_get_string(json_object_object_get(j, "text")), hostile);
  assert_string_equal(json_object_get_string(json_object_object_get(j, "n")), "12");
  json_object_put(j);
  free(out);
  assert_render("\"{{ alert.utf8 }}\"", PARRY_ESCAPE_JSON, "\"caf\xc3\xa9\"");
  out = render("\"{{ alert.nul }}\"", PARRY_ESCAPE_JSON, err, sizeof err);
  assert_non_null(out);
  assert_string_equal(out, "\"a\\u0000b\"");
  free(out);
}

static void test_escape_none_no_reexpansion(void **state) {
  (void)state;
  /* data containing {{ ... }} is text, rendered once, never expanded */
  char err[256];
  char *out = render("{{ alert.evil }}", PARRY_ESCAPE_NONE, err, sizeof err);
  assert_non_null(out);
  assert_string_equal(out, hostile);
  assert_null(strstr(out, "LEAKED"));
  free(out);
}

static void test_compile_errors(void **state) {
  (void)state;
  static const struct {
    const char *text;
    size_t offset;
    const char *msg;
  } cases[] = {
      {"abc {{ alert.id", 4, "unterminated"},
      {"abc {{ alert.id | upper", 4, "unterminated"},
      {"{{ }}", 3, "empty"},
      {"x {{ alrt.id }}", 5, "alrt"},
      {"{{ alert.id | shout }}", 14, "unknown filter"},
      {"{{ alert.id | default }}", 22, "default"},
      {"{{ alert.id | default(3) }}", 22, "quoted"},
      {"{{ alert.id alert.x }}", 12, "expected '|'"},
      {"{{ alert.id[ }}", 13, "["},
      {"{{ 'abc }}", 3, "unterminated"},
  };
  /* a NUL byte: refused where it is (a regression found by fuzz_template:
   * the text was copied only up to the NUL, then scanned to its full length) */
  size_t nul_off = 0;
  char nul_err[128];
  assert_null(parry_template_compile("ab\0{{ alert.id }}", 17, &nul_off, nul_err, sizeof nul_err));
  assert_int_equal(nul_off, 2);
  assert_non_null(strstr(nul_err, "NUL"));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[256];
    size_t off = 999;
    parry_template_t *t =
        parry_template_compile(cases[i].text, strlen(cases[i].text), &off, err, sizeof err);
    if (t) fail_msg("\"%s\" compiled", cases[i].text);
    if (off != cases[i].offset || !strstr(err, cases[i].msg))
      fail_msg("\"%s\": offset %zu (want %zu), \"%s\" (want \"%s\")", cases[i].text, off,
               cases[i].offset, err, cases[i].msg);
  }
}

static void test_literal_and_refs(void **state) {
  (void)state;
  char err[128];
  parry_template_t *t = parry_template_compile("no substitutions", 16, NULL, err, sizeof err);
  assert_true(parry_template_is_literal(t));
  parry_template_destroy(t);
  const char *text = "{{ steps.geo.outputs.country }} and {{ steps.block.status }} {{ alert.id }}";
  t = parry_template_compile(text, strlen(text), NULL, err, sizeof err);
  assert_false(parry_template_is_literal(t));
  assert_string_equal(parry_template_text(t), text);
  parry_template_destroy(t);
  assert_string_equal(parry_escape_name(PARRY_ESCAPE_URL), "url");
  assert_string_equal(parry_escape_name(PARRY_ESCAPE_HEADER), "header");
}

static void test_output_cap(void **state) {
  (void)state;
  char err[256];
  parry_template_t *t = parry_template_compile("{{ alert.evil }}", 16, NULL, err, sizeof err);
  parry_buf_t b = PARRY_BUF_INIT(16);
  assert_int_equal(parry_template_render(t, ctx, PARRY_ESCAPE_URL, &b, err, sizeof err),
                   PARRY_ERR_TOO_LARGE);
  assert_int_equal(b.len, 0);
  parry_buf_free(&b);
  parry_template_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_substitution),   cmocka_unit_test(test_filters),
      cmocka_unit_test(test_escape_url),     cmocka_unit_test(test_escape_header),
      cmocka_unit_test(test_escape_json),    cmocka_unit_test(test_escape_none_no_reexpansion),
      cmocka_unit_test(test_compile_errors), cmocka_unit_test(test_literal_and_refs),
      cmocka_unit_test(test_output_cap),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
