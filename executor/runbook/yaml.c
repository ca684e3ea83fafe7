/* YAML text to a small tree with positions (line, column of every node),
 * through libyaml's event parser. Same approach as correlator/sigma/yaml.c:
 * our own tree so depth and node count are capped while building, aliases
 * are refused (no expansion bombs), and every node keeps where it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "parry/mem.h"
#include "runbook/rb_yaml.h"

static bool all_of(const char *s, size_t len, const char *set) {
  for (size_t i = 0; i < len; i++)
    if (!strchr(set, s[i])) return false;
  return len > 0;
}

/* YAML 1.2 core schema for plain scalars. */
static ry_scalar_t resolve_plain(const char *s, size_t len) {
  if (len == 0 || (len == 1 && s[0] == '~') || !strcmp(s, "null") || !strcmp(s, "Null") ||
      !strcmp(s, "NULL"))
    return RY_NULL;
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
      !strcmp(s, "False") || !strcmp(s, "FALSE"))
    return RY_BOOL;
  const char *p = s;
  size_t n = len;
  if (*p == '+' || *p == '-') p++, n--;
  if (all_of(p, n, "0123456789")) return RY_INT;
  size_t i = 0, digits = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
  if (i < n && p[i] == '.') {
    i++;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
  }
  if (digits == 0) return RY_STRING;
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < n && (p[i] == '+' || p[i] == '-')) i++;
    size_t e0 = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    if (i == e0) return RY_STRING;
  }
  return i == n ? RY_FLOAT : RY_STRING;
}

typedef struct {
  ry_node_t *node;
  ry_node_t **kids;
  size_t n, cap;
} frame_t;

static ry_node_t *new_node(parry_arena_t *a, ry_kind_t kind, const yaml_mark_t *m) {
  ry_node_t *n = parry_arena_new(a, ry_node_t, 1);
  n->kind = kind;
  n->line = (uint32_t)m->line + 1;
  n->column = (uint32_t)m->column + 1;
  return n;
}

static void push_kid(frame_t *f, ry_node_t *kid) {
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 8;
    f->kids = parry_xreallocarray(f->kids, f->cap, sizeof *f->kids);
  }
  f->kids[f->n++] = kid;
}

static bool fail_at(ry_error_t *e, const yaml_mark_t *m, const char *msg) {
  e->line = (uint32_t)m->line + 1;
  e->column = (uint32_t)m->column + 1;
  snprintf(e->msg, sizeof e->msg, "%s", msg);
  return false;
}

bool ry_parse(parry_arena_t *a, const char *text, size_t len, ry_node_t ***docs, size_t *n_docs,
              ry_error_t *e) {
  yaml_parser_t parser;
  yaml_event_t ev;
  frame_t stack[RY_MAX_DEPTH + 1];
  size_t depth = 0, nodes = 0, cap_docs = 0;
  ry_node_t *root = NULL;
  bool ok = false, have_event = false;

  *docs = NULL;
  *n_docs = 0;
  memset(e, 0, sizeof *e);
  if (!yaml_parser_initialize(&parser)) {
    snprintf(e->msg, sizeof e->msg, "could not initialise the YAML parser");
    return false;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  for (;;) {
    if (!yaml_parser_parse(&parser, &ev)) {
      e->line = (uint32_t)parser.problem_mark.line + 1;
      e->column = (uint32_t)parser.problem_mark.column + 1;
      snprintf(e->msg, sizeof e->msg, "invalid YAML: %s%s%s",
               parser.problem ? parser.problem : "error", parser.context ? " " : "",
               parser.context ? parser.context : "");
      goto out;
    }
    have_event = true;
    ry_node_t *done = NULL;
    if (++nodes > RY_MAX_NODES) {
      fail_at(e, &ev.start_mark, "YAML has too many nodes");
      goto out;
    }
    switch (ev.type) {
      case YAML_STREAM_END_EVENT: ok = true; goto out;
      case YAML_DOCUMENT_START_EVENT: root = NULL; break;
      case YAML_DOCUMENT_END_EVENT:
        if (!root) {
          root = new_node(a, RY_SCALAR, &ev.start_mark);
          root->text = "";
          root->scalar = RY_NULL;
        }
        if (*n_docs == cap_docs) {
          cap_docs = cap_docs ? cap_docs * 2 : 4;
          *docs = parry_xreallocarray(*docs, cap_docs, sizeof **docs);
        }
        (*docs)[(*n_docs)++] = root;
        break;
      case YAML_ALIAS_EVENT: fail_at(e, &ev.start_mark, "YAML aliases are not supported"); goto out;
      case YAML_SCALAR_EVENT: {
        done = new_node(a, RY_SCALAR, &ev.start_mark);
        done->len = ev.data.scalar.length;
        done->text = parry_arena_strndup(a, (const char *)ev.data.scalar.value, done->len);
        done->style = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE   ? RY_SINGLE
                      : ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ? RY_DOUBLE
                      : ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE       ? RY_LITERAL
                      : ev.data.scalar.style == YAML_FOLDED_SCALAR_STYLE        ? RY_FOLDED
                                                                                : RY_PLAIN;
        done->has_nul = memchr(done->text, '\0', done->len) != NULL;
        const char *tag = (const char *)ev.data.scalar.tag;
        if (done->style != RY_PLAIN || (tag && !strcmp(tag, "!")) ||
            (tag && !strcmp(tag, YAML_STR_TAG)))
          done->scalar = RY_STRING;
        else done->scalar = resolve_plain(done->text, done->len);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        if (depth == RY_MAX_DEPTH) {
          fail_at(e, &ev.start_mark, "YAML nested too deeply");
          goto out;
        }
        stack[depth] = (frame_t){
            new_node(a, ev.type == YAML_SEQUENCE_START_EVENT ? RY_SEQ : RY_MAP, &ev.start_mark),
            NULL, 0, 0};
        depth++;
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        frame_t *f = &stack[--depth];
        done = f->node;
        done->items = parry_arena_new(a, ry_node_t *, f->n ? f->n : 1);
        if (f->n) memcpy(done->items, f->kids, f->n * sizeof *f->kids);
        done->n = done->kind == RY_MAP ? f->n / 2 : f->n;
        free(f->kids);
        f->kids = NULL;
        break;
      }
      default: break;
    }
    if (done) {
      if (depth > 0) push_kid(&stack[depth - 1], done);
      else root = done;
    }
    yaml_event_delete(&ev);
    have_event = false;
  }
out:
  if (have_event) yaml_event_delete(&ev);
  while (depth > 0) free(stack[--depth].kids);
  yaml_parser_delete(&parser);
  return ok;
}

const ry_node_t *ry_get(const ry_node_t *map, const char *key) {
  if (!map || map->kind != RY_MAP) return NULL;
  for (size_t i = 0; i < map->n; i++) {
    const ry_node_t *k = map->items[2 * i];
    if (k->kind == RY_SCALAR && !strcmp(k->text, key)) return map->items[2 * i + 1];
  }
  return NULL;
}
