/* A detection section into one expression tree.
 *
 * Each search identifier compiles once (a mapping is an AND of its items, a
 * list an OR of its elements, a list of plain values one keyword test);
 * the condition's references share those subtrees, so `all of selection_*`
 * costs nothing extra. AND/OR chains are flattened so evaluation depth is
 * the condition's bracket depth, not its length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

static void slot_keys(parry_sigma_ruleset_t *rs, sg_slot_t *s) {
  s->cand_hash = parry_arena_new(&rs->arena, uint32_t, s->n_cands + 1);
  s->cand_len = parry_arena_new(&rs->arena, uint32_t, s->n_cands + 1);
  for (uint32_t c = 0; c < s->n_cands; c++) s->cand_hash[c] = sg_evkey(s->cands[c], &s->cand_len[c]);
}

uint32_t sg_slot_intern(parry_sigma_ruleset_t *rs, const char *name, size_t len) {
  uint32_t idx;
  if (!rs->slot_index) rs->slot_index = sg_hash_new();
  if (sg_hash_get(rs->slot_index, name, len, &idx)) return idx;
  rs->slots = sg_grow(rs->slots, &rs->cap_slots, rs->n_slots, sizeof *rs->slots);
  idx = (uint32_t)rs->n_slots++;
  sg_slot_t *s = &rs->slots[idx];
  memset(s, 0, sizeof *s);
  s->name = parry_arena_strndup(&rs->arena, name, len);
  sg_hash_put(rs->slot_index, &rs->arena, name, len, idx);
  for (size_t i = 0; i < rs->n_field_map; i++) {
    const parry_sigma_field_map_t *m = &rs->field_map[i];
    if (strlen(m->field) != len || memcmp(m->field, name, len)) continue;
    s->cands = (const char **)m->targets;
    s->n_cands = (uint32_t)m->n_targets;
    slot_keys(rs, s);
    return idx;
  }
  s->cands = parry_arena_new(&rs->arena, const char *, 1 + rs->n_prefixes);
  s->cands[s->n_cands++] = s->name;
  for (size_t i = 0; i < rs->n_prefixes; i++) {
    size_t pl = strlen(rs->prefixes[i]);
    char *c = parry_arena_alloc(&rs->arena, pl + len + 1);
    memcpy(c, rs->prefixes[i], pl);
    memcpy(c + pl, name, len);
    c[pl + len] = 0;
    s->cands[s->n_cands++] = c;
  }
  slot_keys(rs, s);
  return idx;
}

static sg_expr_t *mk(parry_arena_t *a, uint8_t op, size_t n) {
  sg_expr_t *x = parry_arena_new(a, sg_expr_t, 1);
  x->op = op;
  x->n = (uint32_t)n;
  if (n) x->kids = parry_arena_new(a, sg_expr_t *, n);
  return x;
}

static sg_expr_t *leaf(parry_arena_t *a, sg_test_t *t) {
  sg_expr_t *x = mk(a, SG_E_TEST, 0);
  x->test = t;
  return x;
}

static sg_expr_t *compile_map(sg_cc_t *cc, const parry_sigma_node_t *map, const char *ident,
                              sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  if (map->n == 0) {
    sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, map, "detection.%.80s: empty mapping", ident);
    return NULL;
  }
  sg_expr_t *x = mk(a, SG_E_AND, map->n);
  for (size_t i = 0; i < map->n; i++) {
    const parry_sigma_node_t *k = map->items[2 * i];
    sg_test_t *t = sg_compile_item(cc, k, k->text, map->items[2 * i + 1], e);
    if (!t) {
      sg_err_prefix(e, "detection.%.60s.%.80s: ", ident, k->text);
      return NULL;
    }
    x->kids[i] = leaf(a, t);
  }
  return map->n == 1 ? x->kids[0] : x;
}

static sg_expr_t *compile_ident(sg_cc_t *cc, const char *name, const parry_sigma_node_t *v,
                                sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  if (v->kind == PARRY_SIGMA_NODE_MAPPING) return compile_map(cc, v, name, e);
  if (v->kind == PARRY_SIGMA_NODE_SCALAR && v->scalar == PARRY_SIGMA_SCALAR_NULL && !v->quoted) {
    sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, v, "detection.%.80s: empty search identifier", name);
    return NULL;
  }
  sg_test_t *t;
  if (v->kind == PARRY_SIGMA_NODE_SCALAR) goto keywords;
  if (v->n == 0) {
    sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, v, "detection.%.80s: empty list", name);
    return NULL;
  }
  bool all_scalars = true;
  for (size_t i = 0; i < v->n; i++) all_scalars &= v->items[i]->kind == PARRY_SIGMA_NODE_SCALAR;
  if (all_scalars) goto keywords;
  sg_expr_t *x = mk(a, SG_E_OR, v->n);
  for (size_t i = 0; i < v->n; i++) {
    const parry_sigma_node_t *it = v->items[i];
    if (it->kind == PARRY_SIGMA_NODE_MAPPING) {
      x->kids[i] = compile_map(cc, it, name, e);
    } else if (it->kind == PARRY_SIGMA_NODE_SCALAR) {
      t = sg_compile_item(cc, NULL, "", it, e);
      x->kids[i] = t ? leaf(a, t) : NULL;
    } else {
      sg_fail(e, PARRY_SIGMA_REJECT_UNSUPPORTED, it, "detection.%.80s: a list inside a list is not supported",
              name);
      return NULL;
    }
    if (!x->kids[i]) return NULL;
  }
  return v->n == 1 ? x->kids[0] : x;
keywords:
  t = sg_compile_item(cc, NULL, "", v, e);
  if (!t) {
    sg_err_prefix(e, "detection.%.80s: ", name);
    return NULL;
  }
  return leaf(a, t);
}

typedef struct {
  const char **names;
  sg_expr_t **exprs;
  size_t n;
} idents_t;

static sg_expr_t *from_cond(sg_cc_t *cc, const sg_cond_t *c, const idents_t *ids,
                            const parry_sigma_node_t *at, sg_err_t *e);

/* Collect the operands of a chain of the same operator, iteratively: the
 * parser builds left-deep trees as long as the condition. */
static sg_expr_t *chain(sg_cc_t *cc, const sg_cond_t *c, const idents_t *ids,
                        const parry_sigma_node_t *at, sg_err_t *e) {
  uint8_t op = c->op;
  size_t n = 0, cap = 0;
  const sg_cond_t **ops = NULL;
  const sg_cond_t *cur = c;
  while (cur->op == op) {
    ops = sg_grow(ops, &cap, n, sizeof *ops);
    ops[n++] = cur->b;
    cur = cur->a;
  }
  ops = sg_grow(ops, &cap, n, sizeof *ops);
  ops[n++] = cur;
  sg_expr_t *x = mk(&cc->rs->arena, op == SG_C_AND ? SG_E_AND : SG_E_OR, n);
  for (size_t i = 0; i < n; i++) {
    /* restore written order: the last collected is the leftmost */
    x->kids[i] = from_cond(cc, ops[n - 1 - i], ids, at, e);
    if (!x->kids[i]) {
      free(ops);
      return NULL;
    }
  }
  free(ops);
  return x;
}

static sg_expr_t *from_cond(sg_cc_t *cc, const sg_cond_t *c, const idents_t *ids,
                            const parry_sigma_node_t *at, sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  switch (c->op) {
  case SG_C_AND:
  case SG_C_OR: return chain(cc, c, ids, at, e);
  case SG_C_NOT: {
    sg_expr_t *x = mk(a, SG_E_NOT, 1);
    x->kids[0] = from_cond(cc, c->a, ids, at, e);
    return x->kids[0] ? x : NULL;
  }
  case SG_C_ID:
    for (size_t i = 0; i < ids->n; i++)
      if (!strcmp(ids->names[i], c->name)) return ids->exprs[i];
    sg_fail(e, PARRY_SIGMA_REJECT_CONDITION, at,
            "detection.condition: unknown search identifier \"%.80s\" at column %u", c->name,
            c->column);
    return NULL;
  default: {
    size_t n = 0;
    for (size_t i = 0; i < ids->n; i++)
      n += c->name ? sg_name_glob(c->name, ids->names[i]) : ids->names[i][0] != '_';
    if (n == 0) {
      sg_fail(e, PARRY_SIGMA_REJECT_CONDITION, at,
              "detection.condition: \"%s of %.80s\" at column %u matches no search identifier",
              c->op == SG_C_ALL_OF ? "all" : "1", c->name ? c->name : "them", c->column);
      return NULL;
    }
    sg_expr_t *x = mk(a, c->op == SG_C_ALL_OF ? SG_E_AND : SG_E_OR, n);
    n = 0;
    for (size_t i = 0; i < ids->n; i++)
      if (c->name ? sg_name_glob(c->name, ids->names[i]) : ids->names[i][0] != '_')
        x->kids[n++] = ids->exprs[i];
    return x;
  }
  }
}

/* Flatten nested AND/OR and drop one-child nodes (new nodes; subtrees are
 * shared between identifiers and must not change). */
static sg_expr_t *simplify(parry_arena_t *a, sg_expr_t *x, int depth) {
  if (depth > 2 * SG_MAX_COND_DEPTH + 8) return x;
  if (x->op == SG_E_NOT) {
    sg_expr_t *k = simplify(a, x->kids[0], depth + 1);
    if (k->op == SG_E_NOT) return k->kids[0];
    if (k == x->kids[0]) return x;
    sg_expr_t *y = mk(a, SG_E_NOT, 1);
    y->kids[0] = k;
    return y;
  }
  if (x->op != SG_E_AND && x->op != SG_E_OR) return x;
  size_t n = 0;
  sg_expr_t **kids = parry_xnew(sg_expr_t *, 1);
  size_t cap = 1;
  bool changed = false;
  for (size_t i = 0; i < x->n; i++) {
    sg_expr_t *k = simplify(a, x->kids[i], depth + 1);
    changed |= k != x->kids[i];
    if (k->op == x->op) {
      changed = true;
      for (size_t j = 0; j < k->n; j++) {
        kids = sg_grow(kids, &cap, n, sizeof *kids);
        kids[n++] = k->kids[j];
      }
    } else {
      kids = sg_grow(kids, &cap, n, sizeof *kids);
      kids[n++] = k;
    }
  }
  sg_expr_t *r = x;
  if (n == 1) {
    r = kids[0];
  } else if (changed) {
    r = mk(a, x->op, n);
    memcpy(r->kids, kids, n * sizeof *kids);
  }
  free(kids);
  return r;
}

sg_expr_t *sg_compile_detection(sg_cc_t *cc, const parry_sigma_node_t *det,
                                const parry_sigma_node_t *cond, const char *const *skip,
                                size_t n_skip, sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  idents_t ids = {0};
  sg_expr_t *result = NULL;
  ids.names = parry_arena_new(a, const char *, det->n + 1);
  ids.exprs = parry_arena_new(a, sg_expr_t *, det->n + 1);
  for (size_t i = 0; i < det->n; i++) {
    const char *name = det->items[2 * i]->text;
    bool skipped = false;
    for (size_t k = 0; k < n_skip; k++) skipped |= !strcmp(name, skip[k]);
    if (skipped) continue;
    sg_expr_t *x = compile_ident(cc, name, det->items[2 * i + 1], e);
    if (!x) return NULL;
    ids.names[ids.n] = name;
    ids.exprs[ids.n++] = x;
  }
  if (!cond) {
    sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, det, "detection: missing condition");
    return NULL;
  }
  const parry_sigma_node_t *const *conds = (const parry_sigma_node_t *const *)&cond;
  size_t n_cond = 1;
  if (cond->kind == PARRY_SIGMA_NODE_SEQUENCE) {
    conds = (const parry_sigma_node_t *const *)cond->items;
    n_cond = cond->n;
    if (!n_cond) {
      sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, cond, "detection.condition: empty list");
      return NULL;
    }
  }
  sg_expr_t *any = mk(a, SG_E_OR, n_cond);
  for (size_t i = 0; i < n_cond; i++) {
    const parry_sigma_node_t *c = conds[i];
    if (c->kind != PARRY_SIGMA_NODE_SCALAR || c->scalar == PARRY_SIGMA_SCALAR_NULL) {
      sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, c, "detection.condition: expected a string");
      return NULL;
    }
    char err[256];
    sg_cond_t *ast = sg_cond_parse(a, c->text, c->len, err, sizeof err);
    if (!ast) {
      sg_fail(e, PARRY_SIGMA_REJECT_CONDITION, c, "detection.condition: %s", err);
      if (strstr(err, "aggregation")) e->reason = PARRY_SIGMA_REJECT_UNSUPPORTED;
      if (strstr(err, "longer than") || strstr(err, "too deeply")) e->reason = PARRY_SIGMA_REJECT_LIMIT;
      return NULL;
    }
    any->kids[i] = from_cond(cc, ast, &ids, c, e);
    if (!any->kids[i]) return NULL;
  }
  result = simplify(a, any, 0);
  return result;
}

void sg_cc_commit(sg_cc_t *cc) {
  parry_sigma_ruleset_t *rs = cc->rs;
  for (size_t i = 0; i < cc->n_regexes; i++) {
    rs->regexes = sg_grow(rs->regexes, &rs->cap_regexes, rs->n_regexes, sizeof *rs->regexes);
    rs->regexes[rs->n_regexes++] = cc->regexes[i];
  }
  free(cc->regexes);
  cc->regexes = NULL;
  cc->n_regexes = cc->cap_regexes = 0;
  cc->n_values = 0;
}

void sg_cc_abort(sg_cc_t *cc) {
  for (size_t i = 0; i < cc->n_regexes; i++) sg_regex_free(cc->regexes[i]);
  free(cc->regexes);
  cc->regexes = NULL;
  cc->n_regexes = cc->cap_regexes = 0;
  cc->n_values = 0;
}
