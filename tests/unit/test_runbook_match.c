/* Matching alerts to runbooks (rule ids, tags, level; several matches in name
 * order), the run context, group keys, and rendering a step's `with` tree
 * with per-input escaping over hostile alert data. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "runbook/runbook.h"
#include "test_support.h"

static const char runbooks[] =
    "name: zeta-by-tag\n"
    "match: {tags: [Attack.T1110]}\n"
    "steps: [{id: s, uses: geoip, with: {ip: x}}]\n"
    "---\n"
    "name: alpha-by-rule\n"
    "match: {rules: [r-ssh, r-other]}\n"
    "group: {fields: [group_by.source.ip, rule.id, group_by.nothing], window: 1h}\n"
    "steps: [{id: s, uses: geoip, with: {ip: x}}]\n"
    "---\n"
    "name: mid-by-level\n"
    "match: {level: high}\n"
    "steps: [{id: s, uses: geoip, with: {ip: x}}]\n"
    "---\n"
    "name: all-three\n"
    "match: {rules: [r-ssh], tags: [ssh], level: medium}\n"
    "steps:\n"
    "  - id: call\n"
    "    uses: http\n"
    "    with:\n"
    "      url: 'https://fw.example/block/{{ alert.group_by.source.ip }}?note={{ alert.rule.title "
    "}}'\n"
    "      method: POST\n"
    "      headers: {X-Note: '{{ alert.rule.title }}', Authorization: 'Bearer fixed'}\n"
    "      body: '{\"ip\": \"{{ alert.group_by.source.ip }}\", \"title\": \"{{ alert.rule.title "
    "}}\"}'\n"
    "      expect: 200\n"
    "  - id: obj\n"
    "    uses: http\n"
    "    with:\n"
    "      url: https://x.example/\n"
    "      body: {ip: '{{ alert.group_by.source.ip }}', n: 3, f: 1.5, t: true, z: null, l: ['{{ "
    "alert.count }}', 2]}\n"
    "  - id: run\n"
    "    uses: exec\n"
    "    with:\n"
    "      argv: [/usr/bin/printf, '%s', '{{ alert.group_by.source.ip }}']\n";

static parry_runbook_set_t *set;

static int setup(void **state) {
  (void)state;
  parry_runbook_report_t rep = {0};
  char err[256];
  set = parry_runbooks_load_text("m.yml", runbooks, strlen(runbooks), &rep, err, sizeof err);
  if (rep.n_errors) parry_runbook_report_print(&rep, stderr);
  int bad = set == NULL || rep.n_errors != 0 || parry_runbook_set_count(set) != 4;
  parry_runbook_report_free(&rep);
  return bad ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  parry_runbook_set_destroy(set);
  return 0;
}

static Parry__V1__Alert *alert_from(const char *json) {
  Parry__V1__Alert *a = NULL;
  char err[256];
  if (parry_alert_from_json(json, strlen(json), &a, err, sizeof err) != PARRY_OK)
    fail_msg("alert: %s", err);
  return a;
}

static void names(const Parry__V1__Alert *a, char *out, size_t n) {
  const parry_runbook_t *m[8];
  size_t k = parry_runbooks_match(set, a, m, 8);
  out[0] = '\0';
  for (size_t i = 0; i < k && i < 8; i++) {
    strncat(out, m[i]->name, n - strlen(out) - 2);
    strncat(out, ",", n - strlen(out) - 1);
  }
}

static void test_match(void **state) {
  (void)state;
  char got[256];
  Parry__V1__Alert *a = alert_from(
      "{\"id\":\"1\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"r-ssh\","
      "\"level\":\"high\",\"tags\":[\"ssh\",\"attack.t1110\"]}}");
  names(a, got, sizeof got);
  assert_string_equal(got, "all-three,alpha-by-rule,mid-by-level,zeta-by-tag,"); /* name order */
  /* max smaller than the count: the count is still returned */
  const parry_runbook_t *m[1];
  assert_int_equal(parry_runbooks_match(set, a, m, 1), 4);
  assert_string_equal(m[0]->name, "all-three");
  parry__v1__alert__free_unpacked(a, NULL);

  a = alert_from(
      "{\"id\":\"2\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"r-ssh\",\"level\":"
      "\"low\","
      "\"tags\":[\"ssh\"]}}");
  names(a, got, sizeof got);
  assert_string_equal(got, "alpha-by-rule,"); /* level too low for all-three and mid-by-level */
  parry__v1__alert__free_unpacked(a, NULL);

  a = alert_from(
      "{\"id\":\"3\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"r-x\",\"level\":"
      "\"critical\"}}");
  names(a, got, sizeof got);
  assert_string_equal(got, "mid-by-level,");
  parry__v1__alert__free_unpacked(a, NULL);

  a = alert_from(
      "{\"id\":\"4\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"r-x\",\"level\":"
      "\"bogus\","
      "\"tags\":[\"other\"]}}");
  names(a, got, sizeof got);
  assert_string_equal(got, "");
  assert_int_equal(parry_runbooks_match(set, a, NULL, 0), 0);
  parry__v1__alert__free_unpacked(a, NULL);
  assert_int_equal(parry_level_parse("HIGH"), PARRY_LEVEL_HIGH);
  assert_int_equal(parry_level_parse("nope"), PARRY_LEVEL_NONE);
  assert_string_equal(parry_level_name(PARRY_LEVEL_LOW), "low");
}

static const char hostile_alert[] =
    "{\"id\":\"abc\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"count\":7,"
    "\"rule\":{\"id\":\"r-ssh\",\"level\":\"high\",\"tags\":[\"ssh\"],"
    "\"title\":\"x\\\"}, \\\"evil\\\": 1, \\\"y\\\": {\\\"a\\\": \\\"$(reboot); `id` | {{ alert.id "
    "}}\"},"
    "\"group_by\":{\"source.ip\":\"1.2.3.4/../../admin?x=1&y=2#f\"}}";

static void test_context_and_group_key(void **state) {
  (void)state;
  Parry__V1__Alert *a = alert_from(hostile_alert);
  const parry_runbook_t *rb = parry_runbook_find(set, "alpha-by-rule");
  char err[256];
  struct json_object *ctx = parry_runbook_context_new(rb, a, NULL, err, sizeof err);
  assert_non_null(ctx);
  assert_string_equal(json_object_get_string(
                          json_object_object_get(json_object_object_get(ctx, "runbook"), "name")),
                      "alpha-by-rule");
  assert_true(json_object_is_type(json_object_object_get(ctx, "case"), json_type_object));
  parry_buf_t key = PARRY_BUF_INIT(0);
  assert_int_equal(
      parry_runbook_group_key(rb, json_object_object_get(ctx, "alert"), &key, err, sizeof err),
      PARRY_OK);
  assert_string_equal(key.data, "[\"1.2.3.4/../../admin?x=1&y=2#f\",\"r-ssh\",null]");
  parry_buf_free(&key);
  /* steps appear in the context as the worker records them */
  parry_runbook_context_set_step(ctx, "geo", "succeeded",
                                 json_tokener_parse("{\"country\": \"NL\"}"));
  struct json_object *geo = json_object_object_get(json_object_object_get(ctx, "steps"), "geo");
  assert_string_equal(json_object_get_string(json_object_object_get(geo, "status")), "succeeded");
  assert_string_equal(json_object_get_string(json_object_object_get(
                          json_object_object_get(geo, "outputs"), "country")),
                      "NL");
  parry_runbook_context_set_step(ctx, "x", "skipped", NULL);
  json_object_put(ctx);
  parry__v1__alert__free_unpacked(a, NULL);
}

static void test_render_with(void **state) {
  (void)state;
  Parry__V1__Alert *a = alert_from(hostile_alert);
  const parry_runbook_t *rb = parry_runbook_find(set, "all-three");
  char err[256];
  struct json_object *ctx = parry_runbook_context_new(rb, a, NULL, err, sizeof err);
  const char *title = a->rule_title;

  /* the http step with its connector's escaping: the header with a quote and
   * no CR/LF renders; the URL keeps its structure; the JSON body parses to
   * exactly the keys the runbook wrote */
  struct json_object *in = NULL;
  const parry_step_t *call = &rb->steps[0];
  assert_int_equal(parry_runbook_render_with(call, ctx, parry_step_escape_for, (void *)call, &in,
                                             err, sizeof err),
                   PARRY_OK);
  const char *url = json_object_get_string(json_object_object_get(in, "url"));
  assert_string_equal(
      url,
      "https://fw.example/block/1.2.3.4%2F..%2F..%2Fadmin%3Fx%3D1%26y%3D2%23f?note=x%22%7D%2C%20"
      "%22evil%22%3A%201%2C%20%22y%22%3A%20%7B%22a%22%3A%20%22%24%28reboot%29%3B%20%60id%60%20"
      "%7C%20%7B%7B%20alert.id%20%7D%7D");
  struct json_object *headers = json_object_object_get(in, "headers");
  assert_string_equal(json_object_get_string(json_object_object_get(headers, "X-Note")), title);
  assert_string_equal(json_object_get_string(json_object_object_get(headers, "Authorization")),
                      "Bearer fixed");
  struct json_object *body =
      json_tokener_parse(json_object_get_string(json_object_object_get(in, "body")));
  assert_non_null(body);
  assert_int_equal(json_object_object_length(body), 2);
  assert_string_equal(json_object_get_string(json_object_object_get(body, "title")), title);
  assert_string_equal(json_object_get_string(json_object_object_get(body, "ip")),
                      "1.2.3.4/../../admin?x=1&y=2#f");
  json_object_put(body);
  assert_int_equal(json_object_get_int(json_object_object_get(in, "expect")),
                   200); /* YAML int stays an int */
  json_object_put(in);

  /* an object body: leaves are values, YAML types kept, strings unescaped */
  const parry_step_t *obj = &rb->steps[1];
  assert_int_equal(
      parry_runbook_render_with(obj, ctx, parry_step_escape_for, (void *)obj, &in, err, sizeof err),
      PARRY_OK);
  const char *want =
      "{\"url\":\"https://x.example/\",\"body\":{\"ip\":\"1.2.3.4/../../admin?x=1&y=2#f\",\"n\":3,"
      "\"f\":1.5,\"t\":true,\"z\":null,\"l\":[\"7\",2]}}";
  struct json_object *w = json_tokener_parse(want);
  if (!json_object_equal(in, w)) fail_msg("got %s", json_object_to_json_string(in));
  json_object_put(w);
  json_object_put(in);

  /* exec: each argv element one string, data not split or interpreted */
  const parry_step_t *run = &rb->steps[2];
  assert_int_equal(
      parry_runbook_render_with(run, ctx, parry_step_escape_for, (void *)run, &in, err, sizeof err),
      PARRY_OK);
  struct json_object *argv = json_object_object_get(in, "argv");
  assert_int_equal(json_object_array_length(argv), 3);
  assert_string_equal(json_object_get_string(json_object_array_get_idx(argv, 2)),
                      "1.2.3.4/../../admin?x=1&y=2#f");
  json_object_put(in);

  json_object_put(ctx);
  parry__v1__alert__free_unpacked(a, NULL);
}

/* An escape_for that records the paths it is asked about. */
typedef struct {
  char paths[16][64];
  int n;
} seen_t;

static parry_escape_t record(void *opaque, const char *path) {
  seen_t *s = opaque;
  if (s->n < 16) snprintf(s->paths[s->n++], 64, "%s", path);
  return strstr(path, "headers.") == path ? PARRY_ESCAPE_HEADER : PARRY_ESCAPE_NONE;
}

static void test_render_paths_and_header_injection(void **state) {
  (void)state;
  const parry_runbook_t *rb = parry_runbook_find(set, "all-three");
  /* CR/LF in data headed for a header: an error naming the input, no output */
  Parry__V1__Alert *a = alert_from(
      "{\"id\":\"abc\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"r-ssh\","
      "\"title\":\"ok\\r\\nX-Injected: yes\"},\"group_by\":{\"source.ip\":\"1.2.3.4\"}}");
  char err[256];
  struct json_object *ctx = parry_runbook_context_new(rb, a, NULL, err, sizeof err);
  struct json_object *in = (struct json_object *)1;
  seen_t seen = {0};
  assert_int_not_equal(
      parry_runbook_render_with(&rb->steps[0], ctx, record, &seen, &in, err, sizeof err), PARRY_OK);
  assert_null(in);
  assert_non_null(strstr(err, "headers.X-Note"));
  assert_non_null(strstr(err, "CR"));
  /* the paths asked, in order, up to the failing one */
  assert_int_equal(seen.n, 3);
  assert_string_equal(seen.paths[0], "url");
  assert_string_equal(seen.paths[1], "method");
  assert_string_equal(seen.paths[2], "headers.X-Note");
  /* and for lists: the index */
  seen.n = 0;
  assert_int_equal(
      parry_runbook_render_with(&rb->steps[2], ctx, record, &seen, &in, err, sizeof err), PARRY_OK);
  assert_int_equal(seen.n, 3);
  assert_string_equal(seen.paths[0], "argv.0");
  assert_string_equal(seen.paths[2], "argv.2");
  json_object_put(in);
  /* NULL escape_for: everything as is */
  assert_int_equal(parry_runbook_render_with(&rb->steps[0], ctx, NULL, NULL, &in, err, sizeof err),
                   PARRY_OK);
  assert_non_null(
      strstr(json_object_get_string(json_object_object_get(in, "url")), "ok\r\nX-Injected"));
  json_object_put(in);
  json_object_put(ctx);
  parry__v1__alert__free_unpacked(a, NULL);
}

static void test_when(void **state) {
  (void)state;
  const char *text =
      "name: w\nmatch: {level: low}\nsteps:\n"
      "  - {id: a, uses: geoip, with: {ip: x}}\n"
      "  - {id: b, uses: geoip, needs: [a], with: {ip: x},\n"
      "     when: 'steps.a.status == \"succeeded\" and steps.a.outputs.country in [\"NL\", "
      "\"BE\"]'}\n";
  parry_runbook_report_t rep = {0};
  char err[256];
  parry_runbook_set_t *s =
      parry_runbooks_load_text("w.yml", text, strlen(text), &rep, err, sizeof err);
  assert_int_equal(rep.n_errors, 0);
  const parry_runbook_t *rb = parry_runbook_set_get(s, 0);
  Parry__V1__Alert *a =
      alert_from("{\"id\":\"1\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"r\"}}");
  struct json_object *ctx = parry_runbook_context_new(rb, a, NULL, err, sizeof err);
  bool run = true;
  assert_int_equal(parry_step_when(&rb->steps[0], ctx, &run, err, sizeof err), PARRY_OK);
  assert_true(run); /* no when: always */
  assert_int_equal(parry_step_when(&rb->steps[1], ctx, &run, err, sizeof err), PARRY_OK);
  assert_false(run); /* outputs absent */
  parry_runbook_context_set_step(ctx, "a", "succeeded",
                                 json_tokener_parse("{\"country\": \"BE\"}"));
  assert_int_equal(parry_step_when(&rb->steps[1], ctx, &run, err, sizeof err), PARRY_OK);
  assert_true(run);
  parry_runbook_context_set_step(ctx, "a", "failed", NULL);
  assert_int_equal(parry_step_when(&rb->steps[1], ctx, &run, err, sizeof err), PARRY_OK);
  assert_false(run);
  json_object_put(ctx);
  parry__v1__alert__free_unpacked(a, NULL);
  parry_runbook_set_destroy(s);
  parry_runbook_report_free(&rep);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_match),       cmocka_unit_test(test_context_and_group_key),
      cmocka_unit_test(test_render_with), cmocka_unit_test(test_render_paths_and_header_injection),
      cmocka_unit_test(test_when),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
