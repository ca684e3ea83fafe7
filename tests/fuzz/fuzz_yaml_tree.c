/* libFuzzer target for the shared YAML tree reader (lib/yaml_tree.c).
 *
 * The input is YAML text, read twice: the Sigma way (core schema, unique
 * keys) and the runbook way (neither), with small caps so the limit paths
 * are reached. Every tree must hold: positions from 1 and within the text's
 * lines, NUL-terminated scalar text whose has_nul and quoted agree with it,
 * depth and node count within the caps, and, with unique keys, scalar keys
 * each once (parry_yaml_get then finds every value). Every error must have a
 * message, and a position unless libyaml could not start. What the strict
 * reading accepts, the lax one accepts with the same documents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parry/yaml_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const parry_yaml_options_t strict = {
    .max_depth = 16, .max_nodes = 2000, .core_schema = true, .unique_keys = true};
/* 2000 nodes are at most 4000 events, plus 2 per document and 2 per stream */
static const parry_yaml_options_t lax = {.max_depth = 16, .max_events = 5000};

typedef struct {
  const parry_yaml_options_t *opt;
  size_t lines, nodes;
} walk_t;

static void check(walk_t *w, const parry_yaml_node_t *n, size_t depth) {
  w->nodes++;
  if (n->line < 1 || n->column < 1 || n->line > w->lines) abort();
  if (n->kind == PARRY_YAML_SCALAR) {
    if (!n->text || n->text[n->len] != '\0') abort();
    if (n->has_nul != (memchr(n->text, '\0', n->len) != NULL)) abort();
    if (n->quoted != (n->style != PARRY_YAML_PLAIN)) abort();
    if (!w->opt->core_schema && n->quoted && n->scalar != PARRY_YAML_STRING) abort();
    return;
  }
  if (depth >= w->opt->max_depth || !n->items) abort();
  bool map = n->kind == PARRY_YAML_MAPPING;
  for (size_t i = 0; i < (map ? 2 * n->n : n->n); i++) check(w, n->items[i], depth + 1);
  if (!map || !w->opt->unique_keys) return;
  bool any_nul = false;
  for (size_t i = 0; i < n->n; i++) {
    if (n->items[2 * i]->kind != PARRY_YAML_SCALAR) abort();
    any_nul = any_nul || n->items[2 * i]->has_nul;
  }
  for (size_t i = 0; i < n->n; i++) {
    const parry_yaml_node_t *k = n->items[2 * i];
    /* unique, so (when no key hides a NUL byte from strcmp) get finds each
     * key's own value */
    if (!any_nul && parry_yaml_get(n, k->text) != n->items[2 * i + 1]) abort();
    for (size_t j = 0; j < i; j++) {
      const parry_yaml_node_t *o = n->items[2 * j];
      if (o->len == k->len && !memcmp(o->text, k->text, k->len)) abort();
    }
  }
}

static bool read_as(const parry_yaml_options_t *opt, const char *text, size_t size, size_t lines,
                    size_t *n_docs) {
  parry_arena_t a = PARRY_ARENA_INIT;
  parry_yaml_docs_t docs;
  parry_yaml_error_t e;
  bool ok = parry_yaml_parse(&a, text, size, opt, &docs, &e);
  if (!ok && (!e.msg[0] || (e.code != PARRY_YAML_ERR_INIT && (e.line < 1 || e.line > lines))))
    abort();
  walk_t w = {opt, lines, 0};
  for (size_t i = 0; i < docs.n_docs; i++) check(&w, docs.docs[i], 0);
  if (opt->max_nodes && w.nodes > opt->max_nodes + docs.n_docs) abort(); /* + empty docs */
  *n_docs = docs.n_docs;
  free(docs.docs);
  parry_arena_free(&a);
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  /* an upper bound of the lines libyaml counts: it also breaks lines at CR,
   * NEL (C2 85) and LS/PS (E2 80 A8/A9); +1 for a position past the end */
  size_t lines = 2;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xE2;
  size_t n_strict, n_lax;
  bool strict_ok = read_as(&strict, (const char *)data, size, lines, &n_strict);
  bool lax_ok = read_as(&lax, (const char *)data, size, lines, &n_lax);
  /* below 500 documents the lax event cap cannot be what stops it */
  if (strict_ok && n_strict < 500 && (!lax_ok || n_lax != n_strict)) abort();
  return 0;
}
