/* The shared YAML tree (lib/yaml_tree.c): positions, scalar resolution with
 * and without the full core schema, unique keys, the caps on depth, nodes and
 * events (exactly at the boundary), aliases, documents, and errors with
 * their positions. The Sigma and runbook loaders' own tests check the
 * messages those readers build on top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/yaml_tree.h"
#include "test_support.h"

static const parry_yaml_options_t lax = {.max_depth = 8};
static const parry_yaml_options_t strict = {.max_depth = 8, .core_schema = true, .unique_keys = true};

typedef struct {
  parry_arena_t arena;
  parry_yaml_docs_t docs;
  parry_yaml_error_t err;
  bool ok;
} parsed_t;

static void parse(parsed_t *p, const char *text, const parry_yaml_options_t *opt) {
  p->arena = (parry_arena_t)PARRY_ARENA_INIT;
  p->ok = parry_yaml_parse(&p->arena, text, strlen(text), opt, &p->docs, &p->err);
}

static void done(parsed_t *p) {
  free(p->docs.docs);
  parry_arena_free(&p->arena);
}

/* The one document of a text that must parse. */
static const parry_yaml_node_t *doc(parsed_t *p, const char *text, const parry_yaml_options_t *opt) {
  parse(p, text, opt);
  if (!p->ok) fail_msg("unexpected error %u:%u %s", p->err.line, p->err.column, p->err.msg);
  assert_int_equal(p->docs.n_docs, 1);
  return p->docs.docs[0];
}

static void expect_error(const char *text, const parry_yaml_options_t *opt,
                         parry_yaml_errcode_t code, uint32_t line, uint32_t column,
                         const char *msg) {
  parsed_t p;
  parse(&p, text, opt);
  assert_false(p.ok);
  assert_int_equal(p.err.code, code);
  assert_int_equal(p.err.line, line);
  assert_int_equal(p.err.column, column);
  assert_string_equal(p.err.msg, msg);
  done(&p);
}

static void test_tree_and_positions(void **state) {
  parsed_t p;
  const parry_yaml_node_t *d =
      doc(&p, "name: brute\nlist: [1, 'two']\nbody: |\n  line\nnested:\n  k: \"v\"\n", &lax);
  assert_int_equal(d->kind, PARRY_YAML_MAPPING);
  assert_int_equal(d->n, 4);
  assert_int_equal(d->line, 1);
  assert_int_equal(d->column, 1);

  const parry_yaml_node_t *name = parry_yaml_get(d, "name");
  assert_non_null(name);
  assert_int_equal(name->kind, PARRY_YAML_SCALAR);
  assert_string_equal(name->text, "brute");
  assert_int_equal(name->len, 5);
  assert_int_equal(name->style, PARRY_YAML_PLAIN);
  assert_false(name->quoted);
  assert_int_equal(name->line, 1);
  assert_int_equal(name->column, 7);

  const parry_yaml_node_t *list = parry_yaml_get(d, "list");
  assert_int_equal(list->kind, PARRY_YAML_SEQUENCE);
  assert_int_equal(list->n, 2);
  assert_int_equal(list->column, 7);
  assert_int_equal(list->items[0]->scalar, PARRY_YAML_INT);
  assert_int_equal(list->items[1]->style, PARRY_YAML_SINGLE_QUOTED);
  assert_int_equal(list->items[1]->scalar, PARRY_YAML_STRING);
  assert_true(list->items[1]->quoted);
  assert_int_equal(list->items[1]->line, 2);
  assert_int_equal(list->items[1]->column, 11);

  const parry_yaml_node_t *body = parry_yaml_get(d, "body");
  assert_int_equal(body->style, PARRY_YAML_LITERAL);
  assert_string_equal(body->text, "line\n");
  assert_int_equal(body->line, 3);

  const parry_yaml_node_t *k = parry_yaml_get(parry_yaml_get(d, "nested"), "k");
  assert_int_equal(k->style, PARRY_YAML_DOUBLE_QUOTED);
  assert_int_equal(k->line, 6);
  assert_int_equal(k->column, 6);

  /* keys stay in document order, key i at 2i */
  assert_string_equal(d->items[0]->text, "name");
  assert_string_equal(d->items[6]->text, "nested");
  assert_null(parry_yaml_get(d, "missing"));
  assert_null(parry_yaml_get(name, "name")); /* not a mapping */
  assert_null(parry_yaml_get(NULL, "name"));
  done(&p);
}

static void test_nul_in_scalar(void **state) {
  parsed_t p;
  const parry_yaml_node_t *d = doc(&p, "a: \"x\\0y\"\nb: xy\n", &lax);
  const parry_yaml_node_t *a = parry_yaml_get(d, "a");
  assert_int_equal(a->len, 3);
  assert_true(a->has_nul);
  assert_false(parry_yaml_get(d, "b")->has_nul);
  done(&p);
}

/* Values whose type depends on core_schema, and those that do not. */
static void test_scalar_resolution(void **state) {
  static const struct {
    const char *text;
    parry_yaml_scalar_t lax, strict;
  } cases[] = {
      {"~", PARRY_YAML_NULL, PARRY_YAML_NULL},
      {"", PARRY_YAML_NULL, PARRY_YAML_NULL},
      {"Null", PARRY_YAML_NULL, PARRY_YAML_NULL},
      {"TRUE", PARRY_YAML_BOOL, PARRY_YAML_BOOL},
      {"yes", PARRY_YAML_STRING, PARRY_YAML_STRING}, /* YAML 1.1 only */
      {"-12", PARRY_YAML_INT, PARRY_YAML_INT},
      {"1.5e3", PARRY_YAML_FLOAT, PARRY_YAML_FLOAT},
      {".5", PARRY_YAML_FLOAT, PARRY_YAML_FLOAT},
      {"1e", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"1_000", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"0x1F", PARRY_YAML_STRING, PARRY_YAML_INT},
      {"-0x1F", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"0o17", PARRY_YAML_STRING, PARRY_YAML_INT},
      {"0o19", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"-.inf", PARRY_YAML_STRING, PARRY_YAML_FLOAT},
      {".NaN", PARRY_YAML_STRING, PARRY_YAML_FLOAT},
      {"-.nan", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"'12'", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"! 12", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"!!str 12", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"!!int \"12\"", PARRY_YAML_STRING, PARRY_YAML_INT},
      {"!!int abc", PARRY_YAML_STRING, PARRY_YAML_STRING},
      {"!!float 12", PARRY_YAML_INT, PARRY_YAML_FLOAT},
      {"!!null x", PARRY_YAML_STRING, PARRY_YAML_NULL},
      {"!!bool true", PARRY_YAML_BOOL, PARRY_YAML_BOOL},
      {"!custom 12", PARRY_YAML_INT, PARRY_YAML_STRING},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char text[64];
    snprintf(text, sizeof text, "v: %s\n", cases[i].text);
    parsed_t p;
    const parry_yaml_node_t *v = parry_yaml_get(doc(&p, text, &lax), "v");
    if (v->scalar != cases[i].lax) fail_msg("lax %s: got %d", cases[i].text, (int)v->scalar);
    done(&p);
    v = parry_yaml_get(doc(&p, text, &strict), "v");
    if (v->scalar != cases[i].strict) fail_msg("strict %s: got %d", cases[i].text, (int)v->scalar);
    done(&p);
  }
}

static void test_unique_keys(void **state) {
  expect_error("a: 1\nb:\n  x: 1\n  x: 2\n", &strict, PARRY_YAML_ERR_DUP_KEY, 4, 3,
               "duplicate key \"x\" (first on line 3)");
  expect_error("'a': 1\n\"a\": 2\n", &strict, PARRY_YAML_ERR_DUP_KEY, 2, 1,
               "duplicate key \"a\" (first on line 1)");
  expect_error("? [a]\n: 1\n", &strict, PARRY_YAML_ERR_KEY, 1, 3,
               "a mapping key that is not a scalar is not supported");
  /* without unique_keys both stay, and get finds the first */
  parsed_t p;
  const parry_yaml_node_t *d = doc(&p, "x: 1\nx: 2\n[k]: 3\n", &lax);
  assert_int_equal(d->n, 3);
  assert_string_equal(parry_yaml_get(d, "x")->text, "1");
  assert_int_equal(d->items[4]->kind, PARRY_YAML_SEQUENCE);
  done(&p);
}

static void test_depth_cap(void **state) {
  parry_yaml_options_t o = {.max_depth = 3};
  parsed_t p;
  doc(&p, "[[[1]]]\n", &o); /* exactly 3 */
  done(&p);
  expect_error("a: [[{b: 1}]]\n", &o, PARRY_YAML_ERR_DEPTH, 1, 6, "YAML nested deeper than 3 levels");
}

/* max_nodes counts scalars and collections; max_events also counts the
 * stream, document and collection-end markers. "[1, 2]" is 3 nodes and 7
 * events (stream start, document start, sequence start, 2 scalars,
 * sequence end, document end; stream end makes 8). */
static void test_node_and_event_caps(void **state) {
  parsed_t p;
  parry_yaml_options_t o = {.max_depth = 8, .max_nodes = 3};
  doc(&p, "[1, 2]\n", &o);
  done(&p);
  o.max_nodes = 2;
  expect_error("[1, 2]\n", &o, PARRY_YAML_ERR_NODES, 1, 1, "more than 2 YAML nodes in one file");
  o = (parry_yaml_options_t){.max_depth = 8, .max_events = 8};
  doc(&p, "[1, 2]\n", &o);
  done(&p);
  o.max_events = 7;
  expect_error("[1, 2]\n", &o, PARRY_YAML_ERR_NODES, 2, 1, "more than 7 YAML events in one file");
}

static void test_aliases_refused(void **state) {
  expect_error("a: &x 1\nb: *x\n", &lax, PARRY_YAML_ERR_ALIAS, 2, 4, "YAML aliases are not supported");
  parsed_t p;
  doc(&p, "a: &x 1\n", &lax); /* an anchor alone is harmless */
  done(&p);
}

static void test_documents_and_syntax_errors(void **state) {
  parsed_t p;
  parse(&p, "---\n---\na: 1\n", &lax);
  assert_true(p.ok);
  assert_int_equal(p.docs.n_docs, 2);
  assert_int_equal(p.docs.docs[0]->kind, PARRY_YAML_SCALAR); /* empty: a null */
  assert_int_equal(p.docs.docs[0]->scalar, PARRY_YAML_NULL);
  assert_string_equal(p.docs.docs[0]->text, "");
  assert_int_equal(p.docs.docs[1]->kind, PARRY_YAML_MAPPING);
  done(&p);

  parse(&p, "", &lax);
  assert_true(p.ok);
  assert_int_equal(p.docs.n_docs, 0);
  done(&p);

  /* the documents before an error are kept */
  parse(&p, "a: 1\n---\nb: [1, 2\n", &lax);
  assert_false(p.ok);
  assert_int_equal(p.docs.n_docs, 1);
  assert_int_equal(p.err.code, PARRY_YAML_ERR_SYNTAX);
  assert_int_equal(p.err.line, 4);
  assert_int_equal(p.err.column, 1);
  assert_string_equal(p.err.msg, "invalid YAML: did not find expected ',' or ']' while parsing a "
                                 "flow sequence");
  done(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tree_and_positions),
      cmocka_unit_test(test_nul_in_scalar),
      cmocka_unit_test(test_scalar_resolution),
      cmocka_unit_test(test_unique_keys),
      cmocka_unit_test(test_depth_cap),
      cmocka_unit_test(test_node_and_event_caps),
      cmocka_unit_test(test_aliases_refused),
      cmocka_unit_test(test_documents_and_syntax_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
