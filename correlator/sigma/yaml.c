/* YAML text to parry_sigma_node_t trees, through libyaml's event parser.
 *
 * Why our own tree rather than yaml_document_t: it records resolved scalar
 * types the way Sigma needs them, lives in the ruleset arena (so rules keep
 * their documents for free), and lets us cap depth and node count while
 * building and refuse aliases -- libyaml's loader would expand neither
 * safely nor with line numbers we control.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

typedef struct {
  parry_sigma_node_t *node;
  parry_sigma_node_t **kids; /* malloc'd while open */
  size_t n, cap;
} frame_t;

static bool all_of(const char *s, size_t len, const char *set) {
  for (size_t i = 0; i < len; i++)
    if (!strchr(set, s[i])) return false;
  return len > 0;
}

/* YAML 1.2 core schema for plain scalars. */
static parry_sigma_scalar_t resolve_plain(const char *s, size_t len) {
  if (len == 0 || (len == 1 && s[0] == '~') || !strcmp(s, "null") || !strcmp(s, "Null") ||
      !strcmp(s, "NULL"))
    return PARRY_SIGMA_SCALAR_NULL;
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
      !strcmp(s, "False") || !strcmp(s, "FALSE"))
    return PARRY_SIGMA_SCALAR_BOOL;
  const char *p = s;
  size_t n = len;
  if (*p == '+' || *p == '-') p++, n--;
  if (all_of(p, n, "0123456789")) return PARRY_SIGMA_SCALAR_INT;
  if (p == s && n > 2 && p[0] == '0' && p[1] == 'x' && all_of(p + 2, n - 2, "0123456789abcdefABCDEF"))
    return PARRY_SIGMA_SCALAR_INT;
  if (p == s && n > 2 && p[0] == '0' && p[1] == 'o' && all_of(p + 2, n - 2, "01234567"))
    return PARRY_SIGMA_SCALAR_INT;
  /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
  size_t i = 0, digits = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
  if (i < n && p[i] == '.') {
    i++;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
  }
  if (digits == 0) goto special;
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < n && (p[i] == '+' || p[i] == '-')) i++;
    size_t e0 = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    if (i == e0) return PARRY_SIGMA_SCALAR_STRING;
  }
  return i == n ? PARRY_SIGMA_SCALAR_FLOAT : PARRY_SIGMA_SCALAR_STRING;
special:
  if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF") ||
      (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN"))))
    return PARRY_SIGMA_SCALAR_FLOAT;
  return PARRY_SIGMA_SCALAR_STRING;
}

static parry_sigma_scalar_t resolve_tagged(const char *tag, const char *s, size_t len) {
  if (!strcmp(tag, YAML_NULL_TAG)) return PARRY_SIGMA_SCALAR_NULL;
  if (!strcmp(tag, YAML_BOOL_TAG) && resolve_plain(s, len) == PARRY_SIGMA_SCALAR_BOOL)
    return PARRY_SIGMA_SCALAR_BOOL;
  if (!strcmp(tag, YAML_INT_TAG) && resolve_plain(s, len) == PARRY_SIGMA_SCALAR_INT)
    return PARRY_SIGMA_SCALAR_INT;
  if (!strcmp(tag, YAML_FLOAT_TAG) && resolve_plain(s, len) >= PARRY_SIGMA_SCALAR_INT)
    return PARRY_SIGMA_SCALAR_FLOAT;
  return PARRY_SIGMA_SCALAR_STRING;
}

static parry_sigma_node_t *new_node(parry_arena_t *a, parry_sigma_node_kind_t kind,
                                    const yaml_mark_t *m) {
  parry_sigma_node_t *n = parry_arena_new(a, parry_sigma_node_t, 1);
  n->kind = kind;
  n->line = (uint32_t)m->line + 1;
  n->column = (uint32_t)m->column + 1;
  return n;
}

static int key_cmp(const void *x, const void *y) {
  const parry_sigma_node_t *a = *(parry_sigma_node_t *const *)x;
  const parry_sigma_node_t *b = *(parry_sigma_node_t *const *)y;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  int c = memcmp(a->text, b->text, a->len);
  if (c) return c;
  return a->line < b->line ? -1 : a->line > b->line;
}

/* Keys must be scalars and unique. */
static int check_mapping(const parry_sigma_node_t *m, sg_err_t *e) {
  for (size_t i = 0; i < m->n; i++)
    if (m->items[2 * i]->kind != PARRY_SIGMA_NODE_SCALAR)
      return sg_fail(e, PARRY_SIGMA_REJECT_UNSUPPORTED, m->items[2 * i],
                     "a mapping key that is not a scalar is not supported");
  if (m->n < 2) return 0;
  const parry_sigma_node_t **keys = parry_xnew(const parry_sigma_node_t *, m->n);
  for (size_t i = 0; i < m->n; i++) keys[i] = m->items[2 * i];
  qsort(keys, m->n, sizeof *keys, key_cmp);
  int rc = 0;
  for (size_t i = 1; i < m->n && !rc; i++)
    if (keys[i]->len == keys[i - 1]->len && !memcmp(keys[i]->text, keys[i - 1]->text, keys[i]->len))
      rc = sg_fail(e, PARRY_SIGMA_REJECT_YAML, keys[i], "duplicate key \"%.80s\" (first on line %u)",
                   keys[i]->text, keys[i - 1]->line);
  free(keys);
  return rc;
}

static void push_kid(frame_t *f, parry_sigma_node_t *kid) {
  if (f->n == f->cap) f->kids = sg_grow(f->kids, &f->cap, f->n, sizeof *f->kids);
  f->kids[f->n++] = kid;
}

int sg_yaml_parse(parry_arena_t *a, const char *text, size_t len, sg_yaml_file_t *out,
                  sg_err_t *e) {
  yaml_parser_t parser;
  yaml_event_t ev;
  frame_t stack[SG_MAX_YAML_DEPTH + 1];
  size_t depth = 0, nodes = 0, cap_docs = 0;
  parry_sigma_node_t *root = NULL;
  int rc = -1;
  bool have_event = false;

  memset(out, 0, sizeof *out);
  if (!yaml_parser_initialize(&parser))
    return sg_fail(e, PARRY_SIGMA_REJECT_INTERNAL, NULL, "could not initialise the YAML parser");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  for (;;) {
    if (!yaml_parser_parse(&parser, &ev)) {
      e->reason = PARRY_SIGMA_REJECT_YAML;
      e->line = (uint32_t)parser.problem_mark.line + 1;
      e->column = (uint32_t)parser.problem_mark.column + 1;
      snprintf(e->msg, sizeof e->msg, "invalid YAML: %s%s%s", parser.problem ? parser.problem : "error",
               parser.context ? " " : "", parser.context ? parser.context : "");
      goto out;
    }
    have_event = true;
    parry_sigma_node_t *done = NULL;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT: rc = 0; goto out;
    case YAML_DOCUMENT_START_EVENT: root = NULL; break;
    case YAML_DOCUMENT_END_EVENT:
      if (!root) root = new_node(a, PARRY_SIGMA_NODE_SCALAR, &ev.start_mark), root->text = "",
      root->scalar = PARRY_SIGMA_SCALAR_NULL;
      if (out->n_docs == cap_docs) out->docs = sg_grow(out->docs, &cap_docs, out->n_docs, sizeof *out->docs);
      out->docs[out->n_docs++] = root;
      break;
    case YAML_ALIAS_EVENT:
      sg_fail(e, PARRY_SIGMA_REJECT_UNSUPPORTED, NULL, "YAML aliases are not supported");
      e->line = (uint32_t)ev.start_mark.line + 1, e->column = (uint32_t)ev.start_mark.column + 1;
      goto out;
    case YAML_SCALAR_EVENT: {
      done = new_node(a, PARRY_SIGMA_NODE_SCALAR, &ev.start_mark);
      done->len = ev.data.scalar.length;
      done->text = parry_arena_strndup(a, (const char *)ev.data.scalar.value, done->len);
      done->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
      const char *tag = (const char *)ev.data.scalar.tag;
      if (tag && strcmp(tag, "!") != 0)
        done->scalar = resolve_tagged(tag, done->text, done->len);
      else if (done->quoted || (tag && !strcmp(tag, "!")))
        done->scalar = PARRY_SIGMA_SCALAR_STRING;
      else
        done->scalar = resolve_plain(done->text, done->len);
      break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (depth == SG_MAX_YAML_DEPTH) {
        sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, NULL, "YAML nested deeper than %d levels",
                SG_MAX_YAML_DEPTH);
        e->line = (uint32_t)ev.start_mark.line + 1, e->column = (uint32_t)ev.start_mark.column + 1;
        goto out;
      }
      stack[depth] = (frame_t){new_node(a, ev.type == YAML_SEQUENCE_START_EVENT
                                               ? PARRY_SIGMA_NODE_SEQUENCE
                                               : PARRY_SIGMA_NODE_MAPPING,
                                        &ev.start_mark),
                               NULL, 0, 0};
      depth++;
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
      frame_t *f = &stack[--depth];
      done = f->node;
      done->items = parry_arena_new(a, parry_sigma_node_t *, f->n ? f->n : 1);
      if (f->n) memcpy(done->items, f->kids, f->n * sizeof *f->kids);
      done->n = done->kind == PARRY_SIGMA_NODE_MAPPING ? f->n / 2 : f->n;
      free(f->kids);
      f->kids = NULL;
      if (done->kind == PARRY_SIGMA_NODE_MAPPING && check_mapping(done, e) < 0) goto out;
      break;
    }
    default: break;
    }
    if (done) {
      if (++nodes > SG_MAX_YAML_NODES) {
        sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, done, "more than %d YAML nodes in one file",
                SG_MAX_YAML_NODES);
        goto out;
      }
      if (depth)
        push_kid(&stack[depth - 1], done);
      else
        root = done;
    }
    yaml_event_delete(&ev);
    have_event = false;
  }
out:
  if (have_event) yaml_event_delete(&ev);
  while (depth) free(stack[--depth].kids);
  yaml_parser_delete(&parser);
  return rc;
}

const parry_sigma_node_t *parry_sigma_node_get(const parry_sigma_node_t *map, const char *key) {
  if (!map || map->kind != PARRY_SIGMA_NODE_MAPPING) return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (!strcmp(map->items[2 * i]->text, key)) return map->items[2 * i + 1];
  return NULL;
}

bool sg_node_is(const parry_sigma_node_t *n, const char *text) {
  return n && n->kind == PARRY_SIGMA_NODE_SCALAR && !strcmp(n->text, text);
}

parry_sigma_node_t *sg_yaml_merge(parry_arena_t *a, const parry_sigma_node_t *base,
                                  const parry_sigma_node_t *over) {
  if (!base || base->kind != PARRY_SIGMA_NODE_MAPPING || !over ||
      over->kind != PARRY_SIGMA_NODE_MAPPING)
    return (parry_sigma_node_t *)over;
  parry_sigma_node_t *m = parry_arena_new(a, parry_sigma_node_t, 1);
  *m = *base;
  m->line = over->line;
  m->column = over->column;
  m->items = parry_arena_new(a, parry_sigma_node_t *, 2 * (base->n + over->n) + 1);
  size_t n = 0;
  for (size_t i = 0; i < base->n; i++) {
    const parry_sigma_node_t *k = base->items[2 * i];
    const parry_sigma_node_t *ov = parry_sigma_node_get(over, k->text);
    m->items[2 * n] = (parry_sigma_node_t *)k;
    m->items[2 * n + 1] = ov ? sg_yaml_merge(a, base->items[2 * i + 1], ov) : base->items[2 * i + 1];
    n++;
  }
  for (size_t i = 0; i < over->n; i++) {
    const parry_sigma_node_t *k = over->items[2 * i];
    if (parry_sigma_node_get(base, k->text)) continue;
    m->items[2 * n] = (parry_sigma_node_t *)k;
    m->items[2 * n + 1] = over->items[2 * i + 1];
    n++;
  }
  m->n = n;
  return m;
}

parry_sigma_node_t *sg_yaml_without(parry_arena_t *a, const parry_sigma_node_t *map,
                                    const char *key) {
  parry_sigma_node_t *m = parry_arena_new(a, parry_sigma_node_t, 1);
  *m = *map;
  m->items = parry_arena_new(a, parry_sigma_node_t *, 2 * map->n + 1);
  size_t n = 0;
  for (size_t i = 0; i < map->n; i++) {
    if (!strcmp(map->items[2 * i]->text, key)) continue;
    m->items[2 * n] = map->items[2 * i];
    m->items[2 * n + 1] = map->items[2 * i + 1];
    n++;
  }
  m->n = n;
  return m;
}
