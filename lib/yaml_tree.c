/* YAML text to parry_yaml_node_t trees through libyaml's event parser (see
 * parry/yaml_tree.h for why not libyaml's own document loader).
 *
 * Open collections sit on a stack of frames, each collecting its children in
 * a malloc'd array; when a collection closes its children move into the
 * arena, so the finished tree holds no heap pointers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "parry/mem.h"
#include "parry/yaml_tree.h"

typedef struct {
  parry_yaml_node_t *node;
  parry_yaml_node_t **kids; /* malloc'd while open */
  size_t n, cap;
} frame_t;

static bool all_of(const char *s, size_t len, const char *set) {
  for (size_t i = 0; i < len; i++)
    if (!strchr(set, s[i])) return false;
  return len > 0;
}

/* YAML 1.2 core schema for plain scalars; `core` adds 0x, 0o, .inf and .nan
 * (parry_yaml_options_t.core_schema). */
static parry_yaml_scalar_t resolve_plain(const char *s, size_t len, bool core) {
  if (len == 0 || (len == 1 && s[0] == '~') || !strcmp(s, "null") || !strcmp(s, "Null") ||
      !strcmp(s, "NULL"))
    return PARRY_YAML_NULL;
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
      !strcmp(s, "False") || !strcmp(s, "FALSE"))
    return PARRY_YAML_BOOL;
  const char *p = s;
  size_t n = len;
  if (*p == '+' || *p == '-') p++, n--;
  if (all_of(p, n, "0123456789")) return PARRY_YAML_INT;
  if (core && p == s && n > 2 && p[0] == '0' && p[1] == 'x' &&
      all_of(p + 2, n - 2, "0123456789abcdefABCDEF"))
    return PARRY_YAML_INT;
  if (core && p == s && n > 2 && p[0] == '0' && p[1] == 'o' && all_of(p + 2, n - 2, "01234567"))
    return PARRY_YAML_INT;
  /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
  size_t i = 0, digits = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
  if (i < n && p[i] == '.') {
    i++;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
  }
  if (digits == 0) {
    if (core && (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF") ||
                 (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN")))))
      return PARRY_YAML_FLOAT;
    return PARRY_YAML_STRING;
  }
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < n && (p[i] == '+' || p[i] == '-')) i++;
    size_t e0 = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    if (i == e0) return PARRY_YAML_STRING;
  }
  return i == n ? PARRY_YAML_FLOAT : PARRY_YAML_STRING;
}

/* A scalar with an explicit tag (core schema): the tag's type when the text
 * is one, else a string. */
static parry_yaml_scalar_t resolve_tagged(const char *tag, const char *s, size_t len) {
  if (!strcmp(tag, YAML_NULL_TAG)) return PARRY_YAML_NULL;
  if (!strcmp(tag, YAML_BOOL_TAG) && resolve_plain(s, len, true) == PARRY_YAML_BOOL)
    return PARRY_YAML_BOOL;
  if (!strcmp(tag, YAML_INT_TAG) && resolve_plain(s, len, true) == PARRY_YAML_INT)
    return PARRY_YAML_INT;
  if (!strcmp(tag, YAML_FLOAT_TAG) && resolve_plain(s, len, true) >= PARRY_YAML_INT)
    return PARRY_YAML_FLOAT;
  return PARRY_YAML_STRING;
}

static parry_yaml_scalar_t resolve(const parry_yaml_node_t *n, const char *tag, bool core) {
  bool non_specific = tag && !strcmp(tag, "!"); /* `! 12`: a string by definition */
  if (core) {
    if (tag && !non_specific) return resolve_tagged(tag, n->text, n->len);
    if (n->quoted || non_specific) return PARRY_YAML_STRING;
    return resolve_plain(n->text, n->len, true);
  }
  if (n->quoted || non_specific || (tag && !strcmp(tag, YAML_STR_TAG))) return PARRY_YAML_STRING;
  return resolve_plain(n->text, n->len, false);
}

static parry_yaml_style_t style_of(yaml_scalar_style_t s) {
  switch (s) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: return PARRY_YAML_SINGLE_QUOTED;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return PARRY_YAML_DOUBLE_QUOTED;
    case YAML_LITERAL_SCALAR_STYLE: return PARRY_YAML_LITERAL;
    case YAML_FOLDED_SCALAR_STYLE: return PARRY_YAML_FOLDED;
    default: return PARRY_YAML_PLAIN;
  }
}

static parry_yaml_node_t *new_node(parry_arena_t *a, parry_yaml_kind_t kind,
                                   const yaml_mark_t *m) {
  parry_yaml_node_t *n = parry_arena_new(a, parry_yaml_node_t, 1);
  n->kind = kind;
  n->line = (uint32_t)m->line + 1;
  n->column = (uint32_t)m->column + 1;
  return n;
}

static bool fail(parry_yaml_error_t *e, parry_yaml_errcode_t code, uint32_t line, uint32_t column,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static bool fail(parry_yaml_error_t *e, parry_yaml_errcode_t code, uint32_t line, uint32_t column,
                 const char *fmt, ...) {
  e->code = code;
  e->line = line;
  e->column = column;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return false;
}

/* Same length first: cheap, and equal keys still end up next to each other
 * (ties by line, so the first of a pair comes first). */
static int key_cmp(const void *x, const void *y) {
  const parry_yaml_node_t *a = *(parry_yaml_node_t *const *)x;
  const parry_yaml_node_t *b = *(parry_yaml_node_t *const *)y;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  int c = memcmp(a->text, b->text, a->len);
  if (c) return c;
  return a->line < b->line ? -1 : a->line > b->line;
}

/* unique_keys: scalar keys, each once. Sorting a copy keeps a mapping of n
 * keys at n log n; the tree keeps document order. */
static bool check_keys(const parry_yaml_node_t *m, parry_yaml_error_t *e) {
  for (size_t i = 0; i < m->n; i++) {
    const parry_yaml_node_t *k = m->items[2 * i];
    if (k->kind != PARRY_YAML_SCALAR)
      return fail(e, PARRY_YAML_ERR_KEY, k->line, k->column,
                  "a mapping key that is not a scalar is not supported");
  }
  if (m->n < 2) return true;
  const parry_yaml_node_t **keys = parry_xnew(const parry_yaml_node_t *, m->n);
  for (size_t i = 0; i < m->n; i++) keys[i] = m->items[2 * i];
  qsort(keys, m->n, sizeof *keys, key_cmp);
  bool ok = true;
  for (size_t i = 1; i < m->n && ok; i++)
    if (keys[i]->len == keys[i - 1]->len && !memcmp(keys[i]->text, keys[i - 1]->text, keys[i]->len))
      ok = fail(e, PARRY_YAML_ERR_DUP_KEY, keys[i]->line, keys[i]->column,
                "duplicate key \"%.80s\" (first on line %u)", keys[i]->text, keys[i - 1]->line);
  free(keys);
  return ok;
}

static void *grow(void *arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return arr;
  *cap = *cap ? *cap * 2 : 8;
  return parry_xreallocarray(arr, *cap, elem);
}

bool parry_yaml_parse(parry_arena_t *a, const char *text, size_t len,
                      const parry_yaml_options_t *opt, parry_yaml_docs_t *out,
                      parry_yaml_error_t *e) {
  yaml_parser_t parser;
  yaml_event_t ev;
  frame_t *stack = NULL;
  size_t depth = 0, cap_frames = 0, nodes = 0, events = 0, cap_docs = 0;
  parry_yaml_node_t *root = NULL;
  bool ok = false, have_event = false;

  memset(out, 0, sizeof *out);
  memset(e, 0, sizeof *e);
  if (!yaml_parser_initialize(&parser))
    return fail(e, PARRY_YAML_ERR_INIT, 0, 0, "could not initialise the YAML parser");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  for (;;) {
    if (!yaml_parser_parse(&parser, &ev)) {
      fail(e, PARRY_YAML_ERR_SYNTAX, (uint32_t)parser.problem_mark.line + 1,
           (uint32_t)parser.problem_mark.column + 1, "invalid YAML: %s%s%s",
           parser.problem ? parser.problem : "error", parser.context ? " " : "",
           parser.context ? parser.context : "");
      goto out;
    }
    have_event = true;
    uint32_t line = (uint32_t)ev.start_mark.line + 1, column = (uint32_t)ev.start_mark.column + 1;
    if (opt->max_events && ++events > opt->max_events) {
      fail(e, PARRY_YAML_ERR_NODES, line, column, "more than %zu YAML events in one file",
           opt->max_events);
      goto out;
    }
    parry_yaml_node_t *done = NULL;
    switch (ev.type) {
      case YAML_STREAM_END_EVENT: ok = true; goto out;
      case YAML_DOCUMENT_START_EVENT: root = NULL; break;
      case YAML_DOCUMENT_END_EVENT:
        if (!root) { /* an empty document */
          root = new_node(a, PARRY_YAML_SCALAR, &ev.start_mark);
          root->text = "";
          root->scalar = PARRY_YAML_NULL;
        }
        out->docs = grow(out->docs, &cap_docs, out->n_docs, sizeof *out->docs);
        out->docs[out->n_docs++] = root;
        break;
      case YAML_ALIAS_EVENT:
        fail(e, PARRY_YAML_ERR_ALIAS, line, column, "YAML aliases are not supported");
        goto out;
      case YAML_SCALAR_EVENT:
        done = new_node(a, PARRY_YAML_SCALAR, &ev.start_mark);
        done->len = ev.data.scalar.length;
        done->text = parry_arena_strndup(a, (const char *)ev.data.scalar.value, done->len);
        done->style = style_of(ev.data.scalar.style);
        done->quoted = done->style != PARRY_YAML_PLAIN;
        done->has_nul = memchr(done->text, '\0', done->len) != NULL;
        done->scalar = resolve(done, (const char *)ev.data.scalar.tag, opt->core_schema);
        break;
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        if (depth == opt->max_depth) {
          fail(e, PARRY_YAML_ERR_DEPTH, line, column, "YAML nested deeper than %u levels",
               (unsigned)opt->max_depth);
          goto out;
        }
        stack = grow(stack, &cap_frames, depth, sizeof *stack);
        stack[depth++] = (frame_t){
            new_node(a, ev.type == YAML_SEQUENCE_START_EVENT ? PARRY_YAML_SEQUENCE : PARRY_YAML_MAPPING,
                     &ev.start_mark),
            NULL, 0, 0};
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        frame_t *f = &stack[--depth];
        done = f->node;
        done->items = parry_arena_new(a, parry_yaml_node_t *, f->n ? f->n : 1);
        if (f->n) memcpy(done->items, f->kids, f->n * sizeof *f->kids);
        done->n = done->kind == PARRY_YAML_MAPPING ? f->n / 2 : f->n;
        free(f->kids);
        f->kids = NULL;
        if (done->kind == PARRY_YAML_MAPPING && opt->unique_keys && !check_keys(done, e)) goto out;
        break;
      }
      default: break;
    }
    if (done) {
      if (opt->max_nodes && ++nodes > opt->max_nodes) {
        fail(e, PARRY_YAML_ERR_NODES, done->line, done->column,
             "more than %zu YAML nodes in one file", opt->max_nodes);
        goto out;
      }
      if (depth) {
        frame_t *f = &stack[depth - 1];
        f->kids = grow(f->kids, &f->cap, f->n, sizeof *f->kids);
        f->kids[f->n++] = done;
      } else {
        root = done;
      }
    }
    yaml_event_delete(&ev);
    have_event = false;
  }
out:
  if (have_event) yaml_event_delete(&ev);
  while (depth) free(stack[--depth].kids);
  free(stack);
  yaml_parser_delete(&parser);
  return ok;
}

const parry_yaml_node_t *parry_yaml_get(const parry_yaml_node_t *map, const char *key) {
  if (!map || map->kind != PARRY_YAML_MAPPING) return NULL;
  for (size_t i = 0; i < map->n; i++) {
    const parry_yaml_node_t *k = map->items[2 * i];
    if (k->kind == PARRY_YAML_SCALAR && !strcmp(k->text, key)) return map->items[2 * i + 1];
  }
  return NULL;
}
