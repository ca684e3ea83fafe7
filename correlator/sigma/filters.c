/* Sigma filters (sigma-filters-specification.md), with pySigma's semantics:
 * a filter applies to a rule when the filter's logsource contains the
 * rule's and `rules` names the rule (id or name) or is any/all/empty; the
 * rule then also needs the filter's condition to hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

static int opt_scalar(const parry_sigma_node_t *map, const char *key, const char *where,
                      const char **out, sg_err_t *e) {
  const parry_sigma_node_t *n = parry_sigma_node_get(map, key);
  *out = NULL;
  if (n && n->kind != PARRY_SIGMA_NODE_SCALAR)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, n, "%s%s: expected a string", where, key);
  *out = sg_scalar_or_null(n);
  return 0;
}

int sg_filter_load(sg_cc_t *cc, const parry_sigma_node_t *doc, const char *file, sg_err_t *e) {
  parry_sigma_ruleset_t *rs = cc->rs;
  parry_arena_t *a = &rs->arena;
  sg_filter_t f = {0};
  f.file = file;
  f.line = doc->line;
  f.document = doc;
  if (opt_scalar(doc, "title", "", &f.title, e) < 0 || opt_scalar(doc, "id", "", &f.id, e) < 0 ||
      opt_scalar(doc, "name", "", &f.name, e) < 0)
    return -1;
  if (!f.title) return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, doc, "title: missing");
  const parry_sigma_node_t *ls = parry_sigma_node_get(doc, "logsource");
  if (!ls || ls->kind != PARRY_SIGMA_NODE_MAPPING)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, ls ? ls : doc,
                   ls ? "logsource: expected a mapping" : "logsource: missing");
  if (opt_scalar(ls, "product", "logsource.", &f.product, e) < 0 ||
      opt_scalar(ls, "service", "logsource.", &f.service, e) < 0 ||
      opt_scalar(ls, "category", "logsource.", &f.category, e) < 0)
    return -1;
  const parry_sigma_node_t *flt = parry_sigma_node_get(doc, "filter");
  if (!flt || flt->kind != PARRY_SIGMA_NODE_MAPPING)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, flt ? flt : doc,
                   flt ? "filter: expected a mapping" : "filter: missing");
  const parry_sigma_node_t *rules = parry_sigma_node_get(flt, "rules");
  if (!rules)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, flt,
                   "filter.rules: missing (use \"any\" to apply to every rule of the logsource)");
  if (rules->kind == PARRY_SIGMA_NODE_SCALAR) {
    const char *r = sg_scalar_or_null(rules);
    if (!r || !strcasecmp(r, "any") || !strcasecmp(r, "all")) {
      f.any_rule = true;
    } else {
      f.refs = parry_arena_new(a, const char *, 1);
      f.refs[f.n_refs++] = r;
    }
  } else if (rules->kind == PARRY_SIGMA_NODE_SEQUENCE) {
    f.any_rule = rules->n == 0;
    f.refs = parry_arena_new(a, const char *, rules->n + 1);
    for (size_t i = 0; i < rules->n; i++) {
      const char *r = sg_scalar_or_null(rules->items[i]);
      if (!r)
        return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, rules->items[i],
                       "filter.rules: expected rule ids or names");
      f.refs[f.n_refs++] = r;
    }
  } else {
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, rules, "filter.rules: expected a list of rule ids");
  }
  static const char *const skip[] = {"condition", "rules"};
  f.expr = sg_compile_detection(cc, flt, parry_sigma_node_get(flt, "condition"), skip, 2, e);
  if (!f.expr) {
    if (!strncmp(e->msg, "detection", 9)) {
      memmove(e->msg, e->msg + 9, strlen(e->msg + 9) + 1);
      sg_err_prefix(e, "filter");
    }
    return -1;
  }
  rs->filters = sg_grow(rs->filters, &rs->cap_filters, rs->n_filters, sizeof *rs->filters);
  rs->filters[rs->n_filters++] = f;
  return 0;
}

static bool applies(const sg_filter_t *f, const sg_rule_t *r) {
  const parry_sigma_rule_info_t *i = &r->info;
  return sg_logsource_fits(f->product, i->logsource.product, false) &&
         sg_logsource_fits(f->service, i->logsource.service, false) &&
         sg_logsource_fits(f->category, i->logsource.category, true);
}

void sg_filters_attach(parry_sigma_ruleset_t *rs, parry_sigma_report_t *report) {
  if (!rs->n_filters) return;
  /* pairs (rule, filter), then grouped per rule */
  uint32_t *pairs = NULL;
  size_t n = 0, cap = 0;
  for (size_t fi = 0; fi < rs->n_filters; fi++) {
    const sg_filter_t *f = &rs->filters[fi];
    if (f->any_rule) {
      for (size_t r = 0; r < rs->n_rules; r++) {
        if (!applies(f, &rs->rules[r])) continue;
        pairs = sg_grow(pairs, &cap, n + 1, 2 * sizeof *pairs);
        pairs[2 * n] = (uint32_t)r, pairs[2 * n + 1] = (uint32_t)fi, n++;
      }
      continue;
    }
    for (size_t k = 0; k < f->n_refs; k++) {
      uint32_t r;
      if (!sg_hash_get(rs->rule_index, f->refs[k], strlen(f->refs[k]), &r)) {
        if (report) report->filter_refs_unresolved++;
        continue;
      }
      if (!applies(f, &rs->rules[r])) continue;
      pairs = sg_grow(pairs, &cap, n + 1, 2 * sizeof *pairs);
      pairs[2 * n] = r, pairs[2 * n + 1] = (uint32_t)fi, n++;
    }
  }
  for (size_t p = 0; p < n; p++) rs->rules[pairs[2 * p]].n_filters++;
  for (size_t r = 0; r < rs->n_rules; r++) {
    sg_rule_t *rule = &rs->rules[r];
    rule->info.n_filters = rule->n_filters;
    if (rule->n_filters) rule->filters = parry_arena_new(&rs->arena, uint32_t, rule->n_filters);
    rule->n_filters = 0;
  }
  for (size_t p = 0; p < n; p++) {
    sg_rule_t *rule = &rs->rules[pairs[2 * p]];
    bool dup = false;
    for (size_t k = 0; k < rule->n_filters; k++) dup |= rule->filters[k] == pairs[2 * p + 1];
    if (!dup) rule->filters[rule->n_filters++] = pairs[2 * p + 1];
  }
  for (size_t r = 0; r < rs->n_rules; r++) rs->rules[r].info.n_filters = rs->rules[r].n_filters;
  free(pairs);
}
