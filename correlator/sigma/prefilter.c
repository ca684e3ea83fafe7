/* The prefilter: for each rule, a set of (field, literal) pairs at least one
 * of which must occur in the event's lower-cased field text for the rule to
 * match -- a necessary condition, never a sufficient one.
 *
 *   test (positive)   OR over values: the union of each value's literal
 *                     (its longest run of literal bytes; every alternative
 *                     of the value contributes one); with `all`, the best
 *                     single value's set
 *   AND               the best child's set (lowest estimated hit rate)
 *   OR                the union of the children's sets
 *   NOT, neq, exists, null, numbers, cidr, fieldref, time parts, a value
 *   with no literal   no requirement ("top")
 *
 * A rule whose set is top, or larger than SG_MAX_PREFILTER_LITS, is always
 * evaluated for its logsource. The literals of one field -- those of every
 * pattern on it, not only the required ones -- build one Aho-Corasick
 * automaton; keyword literals build one that scans every string of the
 * event. Evaluation then skips any pattern whose literal the scan did not
 * see (match.c).
 */
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

typedef struct {
  bool top;
  uint32_t *ids;
  size_t n, cap;
  double score;
} lset_t;

static void lset_free(lset_t *s) {
  free(s->ids);
  memset(s, 0, sizeof *s);
}

static lset_t top(void) { return (lset_t){.top = true}; }

/* Literals are cut to their last SG_LIT_MAX bytes: still a necessary
 * substring, and the tail of a path or a hash is its most selective part,
 * while the automata stay a few megabytes instead of a hundred. */
static uint32_t lit_intern(parry_sigma_ruleset_t *rs, uint32_t slot, const char *lit, size_t len) {
  if (len > SG_LIT_MAX) {
    lit += len - SG_LIT_MAX;
    len = SG_LIT_MAX;
  }
  if (!rs->lit_index) rs->lit_index = sg_hash_new();
  char *key = parry_xmalloc(len + 4);
  memcpy(key, &slot, 4);
  memcpy(key + 4, lit, len);
  uint32_t id;
  if (!sg_hash_get(rs->lit_index, key, len + 4, &id)) {
    rs->lits = sg_grow(rs->lits, &rs->cap_lits, rs->n_lits, sizeof *rs->lits);
    id = (uint32_t)rs->n_lits++;
    sg_lit_t *l = &rs->lits[id];
    memset(l, 0, sizeof *l);
    l->slot = slot;
    l->bytes = parry_arena_strndup(&rs->arena, lit, len);
    l->len = (uint32_t)len;
    sg_hash_put(rs->lit_index, &rs->arena, key, len + 4, id);
  }
  free(key);
  return id;
}

static void lset_add(lset_t *s, uint32_t id, size_t len) {
  for (size_t i = 0; i < s->n; i++)
    if (s->ids[i] == id) return;
  s->ids = sg_grow(s->ids, &s->cap, s->n, sizeof *s->ids);
  s->ids[s->n++] = id;
  s->score += 1.0 / ((double)len * (double)len);
}

/* a |= b; b is consumed */
static void lset_union(parry_sigma_ruleset_t *rs, lset_t *a, lset_t *b) {
  if (a->top || b->top) {
    lset_free(a);
    lset_free(b);
    *a = top();
    return;
  }
  for (size_t i = 0; i < b->n; i++) lset_add(a, b->ids[i], rs->lits[b->ids[i]].len);
  lset_free(b);
  if (a->n > SG_MAX_PREFILTER_LITS) {
    lset_free(a);
    *a = top();
  }
}

/* keep the better of a and b in a; b is consumed */
static void lset_best(lset_t *a, lset_t *b) {
  if (b->top || (!a->top && a->score <= b->score)) {
    lset_free(b);
    return;
  }
  lset_free(a);
  *a = *b;
  memset(b, 0, sizeof *b);
}

static lset_t value_set(parry_sigma_ruleset_t *rs, const sg_value_t *v) {
  lset_t s = {0};
  switch (v->kind) {
  case SG_V_NEVER: return s; /* matches nothing: no literal can make it match */
  case SG_V_PATTERN:
    for (uint32_t i = 0; i < v->n_alts; i++) {
      uint32_t id = v->alts[i].lit_id;
      if (id == SG_NO_LIT) {
        lset_free(&s);
        return top();
      }
      lset_add(&s, id, rs->lits[id].len);
    }
    return s;
  case SG_V_REGEX:
    if (v->lit_id == SG_NO_LIT) return top();
    lset_add(&s, v->lit_id, rs->lits[v->lit_id].len);
    return s;
  default: return top();
  }
}

/* Give every pattern (and regex) its literal id, wherever it sits -- under
 * NOT, in filters, in keywords: "the literal is absent, so this pattern
 * cannot match" holds whatever the polarity, and lets evaluation skip most
 * values of long lists without touching the text. */
static void assign_literals(parry_sigma_ruleset_t *rs, sg_expr_t *x, int depth) {
  if (depth > 4 * SG_MAX_COND_DEPTH) return;
  if (x->op != SG_E_TEST) {
    for (uint32_t i = 0; i < x->n; i++) assign_literals(rs, x->kids[i], depth + 1);
    return;
  }
  sg_test_t *t = x->test;
  for (uint32_t i = 0; i < t->n_values; i++) {
    sg_value_t *v = &t->values[i];
    if (v->kind == SG_V_PATTERN) {
      for (uint32_t a = 0; a < v->n_alts; a++) {
        if (v->alts[a].lit_id != SG_NO_LIT) continue;
        const char *lit;
        size_t len;
        sg_pattern_t *p = &v->alts[a];
        sg_pattern_best_literal(p, &lit, &len, &rs->arena);
        if (!len) continue;
        p->lit_id = lit_intern(rs, t->slot, lit, len);
        bool ascii = true;
        for (size_t k = 0; k < len; k++) ascii &= (uint8_t)lit[k] < 0x80;
        p->lit_decides = p->kind == SG_PAT_CONTAINS && !p->cased && len <= SG_LIT_MAX && ascii;
      }
    } else if (v->kind == SG_V_REGEX && v->text_len && v->lit_id == SG_NO_LIT) {
      v->lit_id = lit_intern(rs, t->slot, v->text, v->text_len);
    }
  }
}

static lset_t test_set(parry_sigma_ruleset_t *rs, const sg_test_t *t) {
  if ((t->flags & SG_T_NEQ) || t->exists >= 0 || t->time_part || t->n_values == 0) return top();
  lset_t acc = t->flags & SG_T_ALL ? top() : (lset_t){0};
  for (uint32_t i = 0; i < t->n_values; i++) {
    lset_t v = value_set(rs, &t->values[i]);
    if (t->flags & SG_T_ALL)
      lset_best(&acc, &v);
    else
      lset_union(rs, &acc, &v);
  }
  return acc;
}

static lset_t expr_set(parry_sigma_ruleset_t *rs, const sg_expr_t *x, int depth) {
  if (depth > 4 * SG_MAX_COND_DEPTH) return top();
  switch (x->op) {
  case SG_E_TEST: return test_set(rs, x->test);
  case SG_E_FALSE: return (lset_t){0};
  case SG_E_AND: {
    lset_t acc = top();
    for (uint32_t i = 0; i < x->n; i++) {
      lset_t k = expr_set(rs, x->kids[i], depth + 1);
      lset_best(&acc, &k);
    }
    return acc;
  }
  case SG_E_OR: {
    lset_t acc = {0};
    for (uint32_t i = 0; i < x->n && !acc.top; i++) {
      lset_t k = expr_set(rs, x->kids[i], depth + 1);
      lset_union(rs, &acc, &k);
    }
    return acc;
  }
  default: return top();
  }
}

static void lit_add_rule(sg_lit_t *l, uint32_t rule) {
  if (l->n_rules && l->rules[l->n_rules - 1] == rule) return;
  size_t cap = l->cap_rules;
  l->rules = sg_grow(l->rules, &cap, l->n_rules, sizeof *l->rules);
  l->cap_rules = (uint32_t)cap;
  l->rules[l->n_rules++] = rule;
}

void sg_prefilter_build(parry_sigma_ruleset_t *rs) {
  /* no_prefilter is the plain evaluator the prefilter is checked against
   * (tests, fuzzing): no literals at all, every pattern tried */
  for (size_t r = 0; r < rs->n_rules && !rs->no_prefilter; r++)
    assign_literals(rs, rs->rules[r].expr, 0);
  for (size_t f = 0; f < rs->n_filters && !rs->no_prefilter; f++)
    assign_literals(rs, rs->filters[f].expr, 0);
  for (size_t r = 0; r < rs->n_rules; r++) {
    sg_rule_t *rule = &rs->rules[r];
    lset_t s = rs->no_prefilter ? top() : expr_set(rs, rule->expr, 0);
    rule->always = s.top;
    if (!s.top) {
      rule->n_lits = (uint32_t)s.n;
      rule->lits = parry_arena_new(&rs->arena, uint32_t, s.n + 1);
      if (s.n) memcpy(rule->lits, s.ids, s.n * sizeof *s.ids);
      for (size_t i = 0; i < s.n; i++) lit_add_rule(&rs->lits[s.ids[i]], (uint32_t)r);
    }
    lset_free(&s);
  }
  /* one automaton per field, over every literal of that field */
  sg_ac_builder_t **b = parry_xnew(sg_ac_builder_t *, rs->n_slots + 1);
  sg_ac_builder_t *kw = NULL;
  for (size_t i = 0; i < rs->n_lits; i++) {
    sg_lit_t *l = &rs->lits[i];
    sg_ac_builder_t **bb = l->slot == SG_SLOT_KEYWORD ? &kw : &b[l->slot];
    if (!*bb) *bb = sg_ac_builder_new();
    sg_ac_builder_add(*bb, l->bytes, l->len, (uint32_t)i);
  }
  for (size_t s = 0; s < rs->n_slots; s++)
    if (b[s]) rs->slots[s].ac = sg_ac_build(b[s]);
  if (kw) rs->kw_ac = sg_ac_build(kw);
  free(b);

  /* per bucket: always-evaluated rules and the fields to scan */
  uint32_t *seen = parry_xnew(uint32_t, rs->n_slots + 1);
  for (size_t bi = 0; bi < rs->n_buckets; bi++) {
    sg_bucket_t *bk = &rs->buckets[bi];
    size_t cap_a = 0, cap_s = 0;
    for (uint32_t k = 0; k < bk->n_rules; k++) {
      const sg_rule_t *rule = &rs->rules[bk->rules[k]];
      if (rule->always) {
        bk->always = sg_grow(bk->always, &cap_a, bk->n_always, sizeof *bk->always);
        bk->always[bk->n_always++] = bk->rules[k];
        continue;
      }
      for (uint32_t j = 0; j < rule->n_lits; j++) {
        uint32_t slot = rs->lits[rule->lits[j]].slot;
        if (slot == SG_SLOT_KEYWORD) {
          bk->scan_keywords = true;
          continue;
        }
        if (seen[slot] == bi + 1) continue;
        seen[slot] = (uint32_t)bi + 1;
        bk->scan_slots = sg_grow(bk->scan_slots, &cap_s, bk->n_scan_slots, sizeof *bk->scan_slots);
        bk->scan_slots[bk->n_scan_slots++] = slot;
      }
    }
  }
  free(seen);
}
