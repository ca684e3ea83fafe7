/* Runbook loading: a valid runbook's structure, and for each kind of mistake
 * the exact file:line:column, field and message -- all mistakes of a file
 * reported, not just the first -- plus the shipped examples loading clean. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runbook/runbook.h"
#include "test_support.h"

static const char good[] =
    "name: brute\n"                                        /* 1 */
    "description: test runbook\n"                          /* 2 */
    "match:\n"                                             /* 3 */
    "  rules: [r-1, r-2]\n"                                /* 4 */
    "  tags: attack.t1110\n"                               /* 5 */
    "  level: medium\n"                                    /* 6 */
    "group:\n"                                             /* 7 */
    "  fields: [group_by.source.ip, rule.id]\n"            /* 8 */
    "  window: 1h30m\n"                                    /* 9 */
    "severity: {high: critical}\n"                         /* 10 */
    "steps:\n"                                             /* 11 */
    "  - id: geo\n"                                        /* 12 */
    "    uses: geoip\n"                                    /* 13 */
    "    with: {ip: \"{{ alert.group_by.source.ip }}\"}\n" /* 14 */
    "    retries: 0\n"                                     /* 15 */
    "    timeout: 2s\n"                                    /* 16 */
    "    on_failure: continue\n"                           /* 17 */
    "  - id: block\n"                                      /* 18 */
    "    uses: block_ip\n"                                 /* 19 */
    "    needs: [geo]\n"                                   /* 20 */
    "    when: steps.geo.outputs.country != 'NL' and not cidr(alert.group_by.source.ip, "
    "'10.0.0.0/8')\n"
    "    with:\n"                                    /* 22 */
    "      ip: \"{{ alert.group_by.source.ip }}\"\n" /* 23 */
    "      duration: 3600\n"                         /* 24 */
    "      reason: blocked\n"                        /* 25 */
    "    retries: {max: 5, backoff: {initial: 500ms, max: 10s}, jitter: 0.5}\n"
    "    on_failure: escalate\n" /* 27 */
    "  - id: escalate\n"         /* 28 */
    "    uses: case_update\n"    /* 29 */
    "    with: {escalate: true, note: 'block failed'}\n";

static parry_runbook_set_t *load(const char *text, parry_runbook_report_t *rep) {
  char err[256];
  parry_runbook_set_t *set =
      parry_runbooks_load_text("t.yml", text, strlen(text), rep, err, sizeof err);
  assert_non_null(set);
  return set;
}

static void print_report(const parry_runbook_report_t *rep) {
  parry_runbook_report_print(rep, stderr);
}

static void test_good(void **state) {
  (void)state;
  parry_runbook_report_t rep = {0};
  parry_runbook_set_t *set = load(good, &rep);
  if (rep.n_errors) print_report(&rep);
  assert_int_equal(rep.n_errors, 0);
  assert_int_equal(rep.runbooks, 1);
  assert_int_equal(rep.steps, 3);
  assert_int_equal(parry_runbook_set_count(set), 1);
  const parry_runbook_t *rb = parry_runbook_find(set, "brute");
  assert_non_null(rb);
  assert_string_equal(rb->file, "t.yml");
  assert_string_equal(rb->description, "test runbook");
  assert_int_equal(rb->match.n_rules, 2);
  assert_string_equal(rb->match.rules[1], "r-2");
  assert_int_equal(rb->match.n_tags, 1);
  assert_int_equal(rb->match.min_level, PARRY_LEVEL_MEDIUM);
  assert_int_equal(rb->group.n_fields, 2);
  assert_string_equal(rb->group.fields[0], "group_by.source.ip");
  assert_int_equal(rb->group.window_ns, 5400LL * 1000000000LL);
  assert_string_equal(parry_runbook_severity(rb, "high"), "critical");
  assert_string_equal(parry_runbook_severity(rb, "low"), "low");
  assert_int_equal(rb->n_steps, 3);
  const parry_step_t *geo = &rb->steps[0], *block = &rb->steps[1], *esc = &rb->steps[2];
  assert_string_equal(geo->id, "geo");
  assert_string_equal(geo->uses, "geoip");
  assert_int_equal(geo->retries.max, 0);
  assert_int_equal(geo->timeout_ns, 2000000000LL);
  assert_int_equal(geo->on_failure.kind, PARRY_ON_FAILURE_CONTINUE);
  assert_null(geo->when);
  assert_false(geo->reads_outputs);
  assert_int_equal(geo->line, 12);
  assert_int_equal(geo->column, 5);
  assert_non_null(block->when);
  assert_true(block->reads_outputs);
  assert_int_equal(block->n_needs, 1);
  assert_string_equal(block->needs[0], "geo");
  assert_int_equal(block->needs_index[0], 0);
  assert_int_equal(block->retries.max, 5);
  assert_int_equal(block->retries.initial_backoff_ns, 500000000LL);
  assert_int_equal(block->retries.max_backoff_ns, 10000000000LL);
  assert_true(block->retries.jitter == 0.5);
  assert_int_equal(block->timeout_ns, PARRY_STEP_DEFAULT_TIMEOUT_NS);
  assert_int_equal(block->on_failure.kind, PARRY_ON_FAILURE_RUN);
  assert_string_equal(block->on_failure.step, "escalate");
  assert_int_equal(block->on_failure.step_index, 2);
  assert_false(block->handler);
  assert_true(esc->handler);
  assert_int_equal(esc->on_failure.kind, PARRY_ON_FAILURE_STOP); /* the default */
  assert_int_equal(esc->retries.max, PARRY_STEP_DEFAULT_RETRIES);
  /* the with tree keeps YAML types; strings are templates */
  const parry_with_t *ip = parry_with_get(block->with, "ip"),
                     *d = parry_with_get(block->with, "duration");
  assert_int_equal(ip->kind, PARRY_WITH_STRING);
  assert_non_null(ip->tmpl);
  assert_int_equal(ip->line, 23);
  assert_int_equal(d->kind, PARRY_WITH_INT);
  assert_int_equal(d->i, 3600);
  assert_int_equal(parry_with_get(esc->with, "escalate")->kind, PARRY_WITH_BOOL);
  assert_null(parry_with_get(esc->with, "nope"));
  assert_ptr_equal(parry_runbook_step(rb, "block"), block);
  assert_null(parry_runbook_step(rb, "zzz"));
  /* backoff: doubling from initial, capped at max, jitter shortens */
  assert_int_equal(parry_step_backoff_ns(block, 1, 0), 500000000LL);
  assert_int_equal(parry_step_backoff_ns(block, 2, 0), 1000000000LL);
  assert_int_equal(parry_step_backoff_ns(block, 5, 0), 8000000000LL);
  assert_int_equal(parry_step_backoff_ns(block, 6, 0), 10000000000LL);
  assert_int_equal(parry_step_backoff_ns(block, 60, 0), 10000000000LL);
  assert_int_equal(parry_step_backoff_ns(block, 1, 0.5), 375000000LL);
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
}

/* Replace the first occurrence of `from` in good with `to`. */
static char *mutate(const char *from, const char *to) {
  const char *at = strstr(good, from);
  if (!at) fail_msg("\"%s\" not in the good runbook", from);
  size_t n = strlen(good) - strlen(from) + strlen(to) + 1;
  char *s = malloc(n);
  snprintf(s, n, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
  return s;
}

/* The report holds an error at line:col for field whose message has `msg`. */
static void expect(const parry_runbook_report_t *rep, unsigned line, unsigned col,
                   const char *field, const char *msg) {
  for (size_t i = 0; i < rep->n_errors; i++) {
    const parry_runbook_error_t *e = &rep->errors[i];
    if (e->line == line && e->column == col && !strcmp(e->field, field) &&
        strstr(e->message, msg)) {
      assert_string_equal(e->file, "t.yml");
      return;
    }
  }
  print_report(rep);
  fail_msg("no error %u:%u: %s: ...%s...", line, col, field, msg);
}

/* One mistake: the runbook is rejected with exactly that error. */
static void one(const char *from, const char *to, unsigned line, unsigned col, const char *field,
                const char *msg) {
  char *text = mutate(from, to);
  parry_runbook_report_t rep = {0};
  parry_runbook_set_t *set = load(text, &rep);
  expect(&rep, line, col, field, msg);
  if (rep.n_errors != 1) {
    print_report(&rep);
    fail_msg("%zu errors for %s -> %s", rep.n_errors, from, to);
  }
  assert_int_equal(parry_runbook_set_count(set), 0);
  assert_int_equal(rep.runbooks, 0);
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  free(text);
}

static void test_top_level_mistakes(void **state) {
  (void)state;
  one("description: test runbook\n", "descripton: x\n", 2, 1, "", "unknown key \"descripton\"");
  one("name: brute\n", "name: [a]\n", 1, 7, "name", "must be a string");
  one("  rules: [r-1, r-2]\n", "  rules: []\n", 4, 10, "match.rules", "empty list");
  one("  level: medium\n", "  level: severe\n", 6, 10, "match.level", "unknown level");
  one("  tags: attack.t1110\n", "  tag: attack.t1110\n", 5, 3, "match", "unknown key \"tag\"");
  one("  window: 1h30m\n", "  window: 90\n", 9, 11, "group.window", "needs a unit");
  one("  window: 1h30m\n", "  window: 1x\n", 9, 11, "group.window", "not a duration");
  one("  window: 1h30m\n", "  window: 0s\n", 9, 11, "group.window", "more than zero");
  one("  fields: [group_by.source.ip, rule.id]\n", "  fields: [group_by.source.ip, rule..id]\n", 8,
      37, "group.fields[1]", "expected a name");
  one("  fields: [group_by.source.ip, rule.id]\n",
      "  fields: [alert.group_by.source.ip, rule.id]\n", 8, 12, "group.fields[0]",
      "write group_by.source.ip, not alert.group_by.source.ip");
  one("  fields: [group_by.source.ip, rule.id]\n", "  fields: [group_by.source.ip, source.ip]\n", 8,
      32, "group.fields[1]", "\"source\" is not part of an alert");
  one("severity: {high: critical}\n", "severity: {high: urgent}\n", 10, 18, "severity.high",
      "unknown severity");
  one("severity: {high: critical}\n", "severity: {hi: critical}\n", 10, 12, "severity",
      "unknown key \"hi\"");
  one("name: brute\n", "name: brute\nname: again\n", 2, 1, "",
      "duplicate key \"name\" (first on line 1)");
  one("name: brute\n", "name: &a brute\nother: *a\n", 2, 8, "", "aliases");
}

static void test_missing_required(void **state) {
  (void)state;
  {
    /* a YAML syntax error: one error with libyaml's position, nothing loaded */
    char *bad = mutate("name: brute\n", "name: 'brute\n");
    parry_runbook_report_t r = {0};
    parry_runbook_set_t *s = load(bad, &r);
    assert_int_equal(r.n_errors, 1);
    assert_non_null(strstr(r.errors[0].message, "invalid YAML"));
    assert_true(r.errors[0].line > 0 && r.errors[0].column > 0);
    assert_int_equal(parry_runbook_set_count(s), 0);
    parry_runbook_set_destroy(s);
    parry_runbook_report_free(&r);
    free(bad);
  }
  char *text = mutate("name: brute\n", "");
  parry_runbook_report_t rep = {0};
  parry_runbook_set_t *set = load(text, &rep);
  expect(&rep, 1, 1, "name", "is required");
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  free(text);
  set = load("name: x\nsteps: []\n", &rep);
  expect(&rep, 1, 1, "match", "is required");
  expect(&rep, 2, 8, "steps", "at least one step");
  assert_int_equal(rep.n_errors, 2);
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  set = load("name: x\nmatch: {}\n", &rep);
  expect(&rep, 2, 8, "match", "at least one of");
  expect(&rep, 1, 1, "steps", "is required");
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  set = load("- a\n- b\n", &rep);
  expect(&rep, 1, 1, "", "must be a mapping");
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  set = load("# nothing\n", &rep);
  expect(&rep, 1, 1, "", "no runbook");
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
}

static void test_step_mistakes(void **state) {
  (void)state;
  one("  - id: block\n", "  - id: geo\n", 18, 9, "steps[1].id", "duplicate step id \"geo\"");
  one("  - id: block\n", "  - id: 'bl ock'\n", 18, 9, "steps[1].id", "not a valid step id");
  one("    uses: block_ip\n", "    uses: block_ip\n    usess: x\n", 20, 5, "steps[1]",
      "unknown key \"usess\"");
  one("    uses: block_ip\n", "    uses: blok_ip\n", 19, 11, "steps[1].uses",
      "unknown connector \"blok_ip\"");
  one("    uses: block_ip\n", "", 18, 5, "steps[1]", "needs `uses`");
  one("    needs: [geo]\n", "    needs: [geo, nope]\n", 20, 18, "steps[1].needs[1]",
      "unknown step \"nope\"");
  one("    needs: [geo]\n", "    needs: [geo, block]\n", 20, 18, "steps[1].needs[1]",
      "needs itself");
  one("    needs: [geo]\n", "    needs: [geo, {x: 1}]\n", 20, 18, "steps[1].needs[1]",
      "must be a string");
  one("    retries: 0\n", "    needs: [block]\n", 15, 13, "steps[0].needs[0]", "comes later");
  one("    retries: 0\n", "    retries: many\n", 15, 14, "steps[0].retries", "must be an integer");
  one("    retries: 0\n", "    retries: 1000\n", 15, 14, "steps[0].retries", "from 0 to 100");
  one("{max: 5,", "{max: -1,", 26, 20, "steps[1].retries.max", "from 0 to 100");
  one("jitter: 0.5}", "jitter: 2}", 26, 68, "steps[1].retries.jitter", "from 0 to 1");
  one("max: 10s}", "max: 100ms}", 26, 54, "steps[1].retries.backoff.max",
      "shorter than the initial");
  one("{initial: 500ms,", "{initial: 500,", 26, 42, "steps[1].retries.backoff.initial",
      "needs a unit");
  one("    timeout: 2s\n", "    timeout: soon\n", 16, 14, "steps[0].timeout", "not a duration");
  one("    on_failure: continue\n", "    on_failure: retry\n", 17, 17, "steps[0].on_failure",
      "neither stop, continue nor a step id");
  one("    on_failure: escalate\n", "    on_failure: block\n", 27, 17, "steps[1].on_failure",
      "its own on_failure handler");
  one("    with: {escalate: true, note: 'block failed'}\n",
      "    needs: [geo]\n    with: {escalate: true, note: 'block failed'}\n", 30, 12,
      "steps[2].needs", "a handler may not have needs");
  one("    with: {ip: \"{{ alert.group_by.source.ip }}\"}\n", "    with: [ip]\n", 14, 11,
      "steps[0].with", "must be a mapping");
}

static void test_expression_and_template_positions(void **state) {
  (void)state;
  /* the column points inside the expression: line 21, "when: " is 10 columns */
  one("!= 'NL' and", "!= 'NL' an", 21, 45, "steps[1].when", "unexpected text");
  one("cidr(alert.group_by.source.ip, '10.0.0.0/8')",
      "cidr(alert.group_by.source.ip, '10.0.0.0/99')", 21, 84, "steps[1].when",
      "not an IPv4 or IPv6");
  one("    when: steps.geo", "    when: stepz.geo", 21, 11, "steps[1].when",
      "unknown name \"stepz\"");
  one("    when: steps.geo.outputs.country != 'NL' and not cidr(alert.group_by.source.ip, "
      "'10.0.0.0/8')\n",
      "    when: [1]\n", 21, 11, "steps[1].when", "must be an expression");
  /* a template error inside a quoted scalar: the column of the problem */
  one("      ip: \"{{ alert.group_by.source.ip }}\"\n",
      "      ip: \"{{ alert.group_by.source.ip | shout }}\"\n", 23, 42, "steps[1].with.ip",
      "unknown filter");
  one("      reason: blocked\n", "      reason: blocked {{ alert.id\n", 25, 23,
      "steps[1].with.reason", "unterminated");
  /* a template in a block scalar: line and column within the block */
  one("      reason: blocked\n",
      "      reason: |\n        first line\n        second {{ nope.x }}\n", 27, 19,
      "steps[1].with.reason", "unknown name \"nope\"");
  /* multi-line expressions: folded block, literal block, plain continuation */
  one("    when: steps.geo.outputs.country != 'NL' and not cidr(alert.group_by.source.ip, "
      "'10.0.0.0/8')\n",
      "    when: >\n      steps.geo.outputs.country != 'NL'\n\n      and not cidr(alert.x, "
      "'10.0.0.0/99')\n",
      24, 29, "steps[1].when", "not an IPv4 or IPv6");
  one("    when: steps.geo.outputs.country != 'NL' and not cidr(alert.group_by.source.ip, "
      "'10.0.0.0/8')\n",
      "    when: |\n      steps.geo.outputs.country != 'NL'\n\n      and not cidr(alert.x, "
      "'10.0.0.0/99')\n",
      24, 29, "steps[1].when", "not an IPv4 or IPv6");
  one("    when: steps.geo.outputs.country != 'NL' and not cidr(alert.group_by.source.ip, "
      "'10.0.0.0/8')\n",
      "    when: steps.geo.outputs.country != 'NL'\n          and not cidr(alert.x, "
      "'10.0.0.0/99')\n",
      22, 33, "steps[1].when", "not an IPv4 or IPv6");
  one("    when: steps.geo.outputs.country != 'NL' and not cidr(alert.group_by.source.ip, "
      "'10.0.0.0/8')\n",
      "    when: \"steps.geo.outputs.country != 'NL'\n      and not cidr(alert.x, "
      "'10.0.0.0/99')\"\n",
      22, 29, "steps[1].when", "not an IPv4 or IPv6");
  /* a list inside with: the index names the field */
  one("      reason: blocked\n", "      reason: [ok, \"{{ }}\"]\n", 25, 24,
      "steps[1].with.reason[1]", "empty");
}

static void test_step_references(void **state) {
  (void)state;
  /* reading a step that is not a (transitive) need */
  one("    needs: [geo]\n", "", 20, 11, "steps[1].when", "not in this step's needs");
  one("      reason: blocked\n", "      reason: \"{{ steps.escalate.status }}\"\n", 25, 19,
      "steps[1].with.reason", "not in this step's needs");
  one("      reason: blocked\n", "      reason: \"{{ steps.ghost.status }}\"\n", 25, 19,
      "steps[1].with.reason", "no step \"ghost\"");
  one("      reason: blocked\n", "      reason: \"{{ steps.block.status }}\"\n", 25, 19,
      "steps[1].with.reason", "its own");
  /* a backoff bound given alone moves the default other bound */
  {
    const char *t =
        "name: b\nmatch: {level: low}\nsteps:\n"
        "  - {id: a, uses: geoip, with: {ip: x}, retries: {backoff: {max: 200ms}}}\n"
        "  - {id: b, uses: geoip, with: {ip: x}, retries: {backoff: {initial: 5m}}}\n"
        "  - {id: c, uses: geoip, with: {ip: x}, retries: {backoff: 90s}}\n";
    parry_runbook_report_t r = {0};
    parry_runbook_set_t *s = load(t, &r);
    assert_int_equal(r.n_errors, 0);
    const parry_runbook_t *rb = parry_runbook_set_get(s, 0);
    assert_int_equal(rb->steps[0].retries.initial_backoff_ns, 200000000LL);
    assert_int_equal(rb->steps[0].retries.max_backoff_ns, 200000000LL);
    assert_int_equal(rb->steps[1].retries.initial_backoff_ns, 300000000000LL);
    assert_int_equal(rb->steps[1].retries.max_backoff_ns, 300000000000LL);
    assert_int_equal(rb->steps[2].retries.initial_backoff_ns, 90000000000LL);
    assert_int_equal(rb->steps[2].retries.max_backoff_ns, 90000000000LL);
    assert_int_equal(rb->steps[2].retries.max, PARRY_STEP_DEFAULT_RETRIES);
    parry_runbook_set_destroy(s);
    parry_runbook_report_free(&r);
  }
  /* transitive needs are enough */
  const char *chain =
      "name: c\nmatch: {level: low}\nsteps:\n"
      "  - {id: a, uses: geoip, with: {ip: 1.2.3.4}}\n"
      "  - {id: b, uses: geoip, needs: [a], with: {ip: 1.2.3.4}}\n"
      "  - {id: c, uses: geoip, needs: [b], when: 'steps.a.status == \"succeeded\"', with: {ip: "
      "1.2.3.4}}\n";
  parry_runbook_report_t rep = {0};
  parry_runbook_set_t *set = load(chain, &rep);
  if (rep.n_errors) print_report(&rep);
  assert_int_equal(rep.n_errors, 0);
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
}

static void test_connector_inputs(void **state) {
  (void)state;
  one("      reason: blocked\n", "      reason: blocked\n      color: red\n", 26, 7,
      "steps[1].with.color", "has no input \"color\"");
  one("      ip: \"{{ alert.group_by.source.ip }}\"\n", "", 22, 5, "steps[1].with",
      "needs input \"ip\"");
  one("    with: {ip: \"{{ alert.group_by.source.ip }}\"}\n", "", 12, 5, "steps[0]",
      "needs input \"ip\"");
}

static void test_input_shapes(void **state) {
  (void)state;
  const char *text =
      "name: shapes\n"
      "match: {level: low}\n"
      "steps:\n"
      "  - id: a\n"
      "    uses: http\n"
      "    with:\n"
      "      url: [https://x.example/]\n"
      "      headers: 'X-A: b'\n"
      "  - id: b\n"
      "    uses: exec\n"
      "    with: {argv: /bin/true, env: {A: [1]}}\n"
      "  - id: c\n"
      "    uses: email\n"
      "    with: {to: [a@x.example, {b: c}], subject: s, body: b}\n"
      "  - id: d\n"
      "    uses: exec\n"
      "    with: {argv: []}\n"
      "  - id: ok\n"
      "    uses: http\n"
      "    with: {url: 'https://x.example/{{ alert.id }}', headers: {X-A: b}, body: {k: [1, {x: "
      "y}]},\n"
      "           outputs: {id: $.id}, expect: [200, 201]}\n";
  parry_runbook_report_t rep = {0};
  parry_runbook_set_t *set = load(text, &rep);
  expect(&rep, 7, 12, "steps[0].with.url", "must be a string");
  expect(&rep, 8, 16, "steps[0].with.headers", "must be a mapping");
  expect(&rep, 11, 18, "steps[1].with.argv", "non-empty list");
  expect(&rep, 11, 38, "steps[1].with.env", "values must be strings");
  expect(&rep, 14, 30, "steps[2].with.to", "list items must be strings");
  expect(&rep, 17, 18, "steps[3].with.argv", "an empty list");
  assert_int_equal(rep.n_errors, 6);
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
}

static void test_all_errors_collected(void **state) {
  (void)state;
  const char *text =
      "name: many\n"
      "match: {level: extreme}\n"
      "group: {fields: [x], window: forever}\n"
      "steps:\n"
      "  - id: a\n"
      "    uses: nothing\n"
      "    when: alert.x ==\n"
      "  - id: a\n"
      "    uses: geoip\n"
      "    with: {ip: '{{ alert.ip'}\n"
      "    timeout: 5\n"
      "    on_failure: ghost\n"
      "---\n"
      "name: many\n"
      "match: {rules: r}\n"
      "steps:\n"
      "  - {id: ok, uses: geoip, with: {ip: 1.2.3.4}}\n";
  parry_runbook_report_t rep = {0};
  parry_runbook_set_t *set = load(text, &rep);
  expect(&rep, 2, 16, "match.level", "unknown level");
  expect(&rep, 3, 18, "group.fields[0]", "\"x\" is not part of an alert");
  expect(&rep, 3, 30, "group.window", "not a duration");
  expect(&rep, 6, 11, "steps[0].uses", "unknown connector");
  expect(&rep, 7, 21, "steps[0].when", "ends");
  expect(&rep, 8, 9, "steps[1].id", "duplicate step id");
  expect(&rep, 10, 17, "steps[1].with.ip", "unterminated");
  expect(&rep, 11, 14, "steps[1].timeout", "needs a unit");
  expect(&rep, 12, 17, "steps[1].on_failure", "neither");
  expect(&rep, 14, 7, "name", "already defined in t.yml:1");
  assert_int_equal(rep.n_errors, 10);
  /* in the order of the file */
  for (size_t i = 1; i < rep.n_errors; i++)
    assert_true(rep.errors[i - 1].line < rep.errors[i].line ||
                (rep.errors[i - 1].line == rep.errors[i].line &&
                 rep.errors[i - 1].column <= rep.errors[i].column));
  assert_int_equal(parry_runbook_set_count(set),
                   0); /* the second, duplicate-named, is rejected too */
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
}

static void test_files_and_folders(void **state) {
  (void)state;
  char dir[] = "/tmp/parry-test-runbooks-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[512], sub[512];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  const char *files[][2] = {
      {"b.yml", "name: b\nmatch: {level: high}\nsteps: [{id: s, uses: geoip, with: {ip: x}}]\n"},
      {"sub/a.yaml",
       "name: a\nmatch: {level: high}\nsteps: [{id: s, uses: geoip, with: {ip: x}}]\n"},
      {"notes.txt", "not a runbook"},
      {".hidden.yml", "garbage: ["},
      {"c.yml", "name: c\nmatch: {level: high}\nsteps: [{id: s, uses: nope}]\n"},
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(files[i][1], f);
    fclose(f);
  }
  parry_runbook_report_t rep = {0};
  char err[256];
  const char *paths[] = {dir, "/nonexistent/parry-runbooks"};
  parry_runbook_set_t *set = parry_runbooks_load(paths, 2, &rep, err, sizeof err);
  assert_non_null(set);
  assert_int_equal(rep.files, 3);
  assert_int_equal(rep.runbooks, 2);
  assert_int_equal(rep.n_errors, 2);
  snprintf(path, sizeof path, "%s/c.yml", dir);
  assert_string_equal(rep.errors[0].file, path);
  assert_int_equal(rep.errors[0].line, 3);
  assert_string_equal(rep.errors[1].file, "/nonexistent/parry-runbooks");
  assert_non_null(strstr(rep.errors[1].message, "could not open"));
  /* sorted by name */
  assert_string_equal(parry_runbook_set_get(set, 0)->name, "a");
  assert_string_equal(parry_runbook_set_get(set, 1)->name, "b");
  assert_null(parry_runbook_set_get(set, 2));
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
    unlink(path);
  }
  rmdir(sub);
  rmdir(dir);
}

static void test_examples_load(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/examples/runbooks", parry_test_source_dir());
  const char *paths[] = {path};
  parry_runbook_report_t rep = {0};
  char err[256];
  parry_runbook_set_t *set = parry_runbooks_load(paths, 1, &rep, err, sizeof err);
  assert_non_null(set);
  if (rep.n_errors) print_report(&rep);
  assert_int_equal(rep.n_errors, 0);
  assert_true(rep.runbooks >= 2);
  assert_non_null(parry_runbook_find(set, "ssh-brute-force"));
  const parry_runbook_t *win = parry_runbook_find(set, "windows-password-guessing");
  assert_non_null(win);
  /* a single severity applies to every level */
  assert_string_equal(parry_runbook_severity(win, "low"), "high");
  assert_string_equal(parry_runbook_severity(win, "critical"), "high");
  assert_string_equal(parry_runbook_severity(win, ""), "high");
  const parry_runbook_t *ssh = parry_runbook_find(set, "ssh-brute-force");
  assert_string_equal(parry_runbook_severity(ssh, "high"), "high");
  assert_string_equal(parry_runbook_severity(ssh, ""), "medium"); /* unknown level, unmapped */
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
}

/* The YAML blocks of docs/runbooks.md and the README's runbook section are
 * runbooks that load; the documented `runbooks check` output is what the
 * loader reports for the documented broken file (lines compared up to a
 * shortened " (known: ..." list). */
static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&buf, &n);
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, got, m);
  fclose(f);
  fclose(m);
  return buf;
}

static void check_doc(const char *rel, size_t *good_blocks, size_t *broken_blocks) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", parry_test_source_dir(), rel);
  char *doc = read_all(path);
  assert_non_null(doc);
  char *p = doc;
  while ((p = strstr(p, "```yaml\n"))) {
    p += 8;
    char *end = strstr(p, "```\n");
    assert_non_null(end);
    if (strncmp(p, "name:", 5) != 0) { /* a fragment, not a runbook */
      p = end + 4;
      continue;
    }
    bool broken = !strncmp(p, "name: broken", 12);
    parry_runbook_report_t rep = {0};
    char err[256];
    parry_runbook_set_t *set =
        parry_runbooks_load_text("broken.yml", p, (size_t)(end - p), &rep, err, sizeof err);
    if (!broken) {
      if (rep.n_errors) print_report(&rep);
      assert_int_equal(rep.n_errors, 0);
      (*good_blocks)++;
    } else {
      /* the next ``` block holds the command, the report and the summary */
      const char *out = strstr(end + 4, "```\n$ parry runbooks check broken.yml\n");
      assert_non_null(out);
      out = strchr(out + 4, '\n') + 1;
      char *printed = NULL;
      size_t plen = 0;
      FILE *m = open_memstream(&printed, &plen);
      parry_runbook_report_print(&rep, m);
      fclose(m);
      const char *line = printed;
      for (size_t i = 0; i < rep.n_errors; i++) {
        const char *nl = strchr(line, '\n'), *dnl = strchr(out, '\n');
        size_t a = (size_t)(nl - line), b = (size_t)(dnl - out);
        const char *k = strstr(out, " (known: ");
        if (k && k < dnl) b = (size_t)(k - out), a = b;
        if (a != b || memcmp(line, out, a))
          fail_msg("doc: %.*s\nreal: %.*s", (int)b, out, (int)a, line);
        line = nl + 1;
        out = dnl + 1;
      }
      char summary[128];
      snprintf(summary, sizeof summary, "files=1 runbooks=0 steps=0 errors=%zu\n", rep.n_errors);
      assert_memory_equal(out, summary, strlen(summary));
      free(printed);
      (*broken_blocks)++;
    }
    parry_runbook_set_destroy(set);
    parry_runbook_report_free(&rep);
    p = end + 4;
  }
  free(doc);
}

static void test_docs_examples(void **state) {
  (void)state;
  size_t good_blocks = 0, broken_blocks = 0;
  check_doc("docs/runbooks.md", &good_blocks, &broken_blocks);
  assert_true(good_blocks >= 1);
  assert_int_equal(broken_blocks, 1);
  good_blocks = broken_blocks = 0;
  check_doc("README.md", &good_blocks, &broken_blocks);
  assert_true(good_blocks >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_top_level_mistakes),
      cmocka_unit_test(test_missing_required),
      cmocka_unit_test(test_step_mistakes),
      cmocka_unit_test(test_expression_and_template_positions),
      cmocka_unit_test(test_step_references),
      cmocka_unit_test(test_connector_inputs),
      cmocka_unit_test(test_input_shapes),
      cmocka_unit_test(test_all_errors_collected),
      cmocka_unit_test(test_files_and_folders),
      cmocka_unit_test(test_examples_load),
      cmocka_unit_test(test_docs_examples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
