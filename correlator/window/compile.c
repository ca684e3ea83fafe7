/* Compile Sigma correlation rules (the YAML trees the Sigma loader keeps)
 * into corr_rule_t: type, referenced rules (detection rules or other
 * correlations, by id or name), group-by with aliases, timespan, condition,
 * value field, `generate`, and our custom `suppress`. Every problem rejects
 * the rule into the load report naming the file, the line and the field.
 *
 * Chains are resolved after every document is parsed: a correlation that
 * references a rejected one, or a cycle, is rejected too. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "parry/mem.h"
#include "sigma/sigma_int.h"
#include "window/corr_int.h"

static const char *const type_names[CT_N] = {
    "event_count", "value_count", "temporal", "temporal_ordered",
    "value_sum",   "value_avg",   "value_percentile"};
static const char *const op_names[] = {"gt", "gte", "lt", "lte", "eq", "neq"};

uint64_t corr_hash(const void *data, size_t len) {
  /* FNV-1a 64 with a final mix: keys are short; stable across builds */
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

bool corr_cond_holds(const corr_rule_t *r, double x) {
  for (size_t i = 0; i < r->n_conds; i++) {
    double v = r->conds[i].v;
    bool ok = false;
    switch (r->conds[i].op) {
    case OP_GT: ok = x > v; break;
    case OP_GTE: ok = x >= v; break;
    case OP_LT: ok = x < v; break;
    case OP_LTE: ok = x <= v; break;
    case OP_EQ: ok = x == v; break;
    case OP_NEQ: ok = x != v; break;
    }
    if (!ok) return false;
  }
  return true;
}

/* ---- the work area of one compilation ---- */

typedef struct {
  corr_rule_t r;
  bool ok;
  const parry_sigma_correlation_t *src;
  sg_err_t err;
  uint32_t *ref_corr; /* per input: correlation document index, or UINT32_MAX */
  const parry_sigma_node_t *aliases;
  const parry_sigma_node_t **input_nodes;
} doc_t;

typedef struct {
  const parry_sigma_ruleset_t *rs;
  doc_t *docs;
  size_t n;
} cc_t;

static char *dupnode(const parry_sigma_node_t *n) { return parry_xstrndup(n->text, n->len); }

/* "30s", "5m", "1h", "2d", "1w" -> ns; false when malformed or too big. */
static bool parse_timespan(const char *s, int64_t *out) {
  if (!s || !isdigit((unsigned char)*s)) return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end[0] == 0 || end[1] != 0) return false;
  int64_t unit;
  switch (*end) {
  case 's': unit = 1000000000LL; break;
  case 'm': unit = 60LL * 1000000000LL; break;
  case 'h': unit = 3600LL * 1000000000LL; break;
  case 'd': unit = 86400LL * 1000000000LL; break;
  case 'w': unit = 7LL * 86400LL * 1000000000LL; break;
  default: return false;
  }
  if (v > (unsigned long long)(INT64_MAX / 8 / unit)) return false;
  *out = (int64_t)v * unit;
  return true;
}

/* A list of strings given as a sequence or as one scalar. */
static int strings(sg_err_t *e, const parry_sigma_node_t *n, const char *what, char ***out,
                   size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (!n || (n->kind == PARRY_SIGMA_NODE_SCALAR && n->scalar == PARRY_SIGMA_SCALAR_NULL))
    return 0;
  if (n->kind == PARRY_SIGMA_NODE_SCALAR) {
    *out = parry_xnew(char *, 1);
    (*out)[0] = dupnode(n);
    *n_out = 1;
    return 0;
  }
  if (n->kind != PARRY_SIGMA_NODE_SEQUENCE)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, n, "%s: must be a list of strings", what);
  *out = parry_xnew(char *, n->n ? n->n : 1);
  for (size_t i = 0; i < n->n; i++) {
    const parry_sigma_node_t *it = n->items[i];
    if (it->kind != PARRY_SIGMA_NODE_SCALAR || it->len == 0 ||
        it->scalar == PARRY_SIGMA_SCALAR_NULL)
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, it, "%s: item %zu must be a non-empty string",
                     what, i + 1);
    for (size_t j = 0; j < *n_out; j++)
      if (strcmp((*out)[j], it->text) == 0)
        return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, it, "%s: '%s' listed twice", what,
                       it->text);
    (*out)[(*n_out)++] = dupnode(it);
  }
  return 0;
}

static void free_strings(char **s, size_t n) {
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

/* Candidate event paths for a rule field, as the Sigma matcher resolves it:
 * the field map when it names the field, else the name and each prefix. */
static void cands_for(const parry_sigma_ruleset_t *rs, const char *field, const char ***out,
                      uint32_t *n_out) {
  for (size_t i = 0; i < rs->n_field_map; i++) {
    const parry_sigma_field_map_t *m = &rs->field_map[i];
    if (strcmp(m->field, field)) continue;
    *out = parry_xnew(const char *, m->n_targets ? m->n_targets : 1);
    for (size_t j = 0; j < m->n_targets; j++) (*out)[j] = parry_xstrdup(m->targets[j]);
    *n_out = (uint32_t)m->n_targets;
    return;
  }
  *out = parry_xnew(const char *, 1 + rs->n_prefixes);
  (*out)[0] = parry_xstrdup(field);
  *n_out = 1;
  for (size_t i = 0; i < rs->n_prefixes; i++) {
    size_t pl = strlen(rs->prefixes[i]), fl = strlen(field);
    char *c = parry_xmalloc(pl + fl + 1);
    memcpy(c, rs->prefixes[i], pl);
    memcpy(c + pl, field, fl + 1);
    (*out)[(*n_out)++] = c;
  }
}

static void free_cands(const char **c, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) free((char *)c[i]);
  free(c);
}

static void free_input(corr_input_t *in, size_t n_gb, size_t n_fields) {
  for (size_t g = 0; g < n_gb; g++) {
    if (in->gb_cands) free_cands(in->gb_cands[g], in->gb_n_cands[g]);
    if (in->gb_field) free((char *)in->gb_field[g]);
  }
  for (size_t f = 0; f < n_fields; f++) {
    if (in->val_cands) free_cands(in->val_cands[f], in->val_n_cands[f]);
    if (in->val_field) free((char *)in->val_field[f]);
  }
  free(in->gb_cands);
  free(in->gb_n_cands);
  free(in->gb_field);
  free(in->val_cands);
  free(in->val_n_cands);
  free(in->val_field);
}

static void free_rule(corr_rule_t *r) {
  for (size_t i = 0; i < r->n_inputs; i++) free_input(&r->inputs[i], r->n_group_by, r->n_fields);
  free(r->inputs);
  free_strings(r->group_by, r->n_group_by);
  free_strings(r->fields, r->n_fields);
  free(r->tags);
  free(r->parents);
}

/* The condition map: gt..neq with numbers, and `field`. */
static int parse_condition(sg_err_t *e, doc_t *d, const parry_sigma_node_t *c) {
  corr_rule_t *r = &d->r;
  if (c->kind != PARRY_SIGMA_NODE_MAPPING)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, c, "correlation.condition: must be a map");
  for (size_t i = 0; i < c->n; i++) {
    const parry_sigma_node_t *k = c->items[2 * i], *v = c->items[2 * i + 1];
    if (strcmp(k->text, "field") == 0) {
      if (strings(e, v, "correlation.condition.field", &r->fields, &r->n_fields) < 0) return -1;
      if (r->n_fields == 0)
        return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, v, "correlation.condition.field: empty");
      continue;
    }
    size_t op = 0;
    while (op < 6 && strcmp(op_names[op], k->text)) op++;
    if (op == 6)
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, k,
                     "correlation.condition: unknown operator '%s' (gt, gte, lt, lte, eq, neq, "
                     "field)",
                     k->text);
    if (v->kind != PARRY_SIGMA_NODE_SCALAR ||
        (v->scalar != PARRY_SIGMA_SCALAR_INT && v->scalar != PARRY_SIGMA_SCALAR_FLOAT))
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, v,
                     "correlation.condition.%s: must be a number", k->text);
    char *end;
    double x = strtod(v->text, &end);
    if (v->scalar == PARRY_SIGMA_SCALAR_INT) x = (double)strtoll(v->text, &end, 0);
    if (!isfinite(x))
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, v, "correlation.condition.%s: not a finite number",
                     k->text);
    r->conds[r->n_conds].op = (corr_op_t)op;
    r->conds[r->n_conds].v = x;
    r->n_conds++;
  }
  return 0;
}

/* Decide eager vs window-close and the sizes windows need. */
static int plan_condition(sg_err_t *e, doc_t *d, const parry_sigma_node_t *at) {
  corr_rule_t *r = &d->r;
  bool lower = false, upper = false;
  double maxv = 0;
  for (size_t i = 0; i < r->n_conds; i++) {
    corr_op_t op = r->conds[i].op;
    if (op == OP_GT || op == OP_GTE) lower = true;
    if (op == OP_LT || op == OP_LTE || op == OP_EQ) upper = true;
    if (fabs(r->conds[i].v) > maxv) maxv = fabs(r->conds[i].v);
  }
  bool counting = r->type == CT_EVENT_COUNT || r->type == CT_VALUE_COUNT ||
                  r->type == CT_TEMPORAL || r->type == CT_TEMPORAL_ORDERED;
  r->eager = lower && !upper && r->type != CT_VALUE_AVG && r->type != CT_VALUE_PERCENTILE;
  if (r->type == CT_TEMPORAL_ORDERED && !r->eager)
    return sg_fail(e, PARRY_SIGMA_REJECT_UNSUPPORTED, at,
                   "correlation.condition: temporal_ordered supports only gt/gte (the length of "
                   "the in-order chain)");
  if (counting && r->eager) {
    uint64_t n = 1;
    while (n <= CORR_MAX_CAP && !corr_cond_holds(r, (double)n)) n++;
    if (n > CORR_MAX_CAP)
      return sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at,
                     "correlation.condition: threshold over %u", CORR_MAX_CAP);
    r->nstar = (uint32_t)n;
    /* event_count / value_count keep nstar - 1 entries: the signal that
     * would be the nstar-th fires without being stored */
    r->cap = (uint32_t)n - 1;
    if ((r->type == CT_TEMPORAL || r->type == CT_TEMPORAL_ORDERED) && n > r->n_inputs)
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, at,
                     "correlation.condition: needs %u rules but `rules` lists %zu", (unsigned)n,
                     r->n_inputs);
  } else if (r->type == CT_VALUE_COUNT) {
    if (maxv + 2 > CORR_MAX_CAP)
      return sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at,
                     "correlation.condition: value over %u", CORR_MAX_CAP);
    r->cap = (uint32_t)maxv + 2;
  } else if (r->type == CT_VALUE_PERCENTILE) {
    r->cap = CORR_MAX_DISTINCT;
  }
  return 0;
}

static int parse_doc(cc_t *cc, size_t di) {
  doc_t *d = &cc->docs[di];
  sg_err_t *e = &d->err;
  corr_rule_t *r = &d->r;
  const parry_sigma_node_t *doc = d->src->document;
  const parry_sigma_node_t *c = parry_sigma_node_get(doc, "correlation");
  if (!c || c->kind != PARRY_SIGMA_NODE_MAPPING)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, c ? c : doc, "correlation: must be a map");

  r->info.key = d->src->id && *d->src->id     ? d->src->id
                : d->src->name && *d->src->name ? d->src->name
                : d->src->title                 ? d->src->title
                                                : "";
  r->info.title = d->src->title ? d->src->title : "";
  r->info.file = d->src->file;
  r->info.line = d->src->line;
  r->info.suppress_ns = -1;
  r->name = d->src->name;
  if (!d->src->title || !*d->src->title)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, doc, "title: missing");

  const parry_sigma_node_t *t = parry_sigma_node_get(c, "type");
  if (!t || t->kind != PARRY_SIGMA_NODE_SCALAR)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, t ? t : c, "correlation.type: missing");
  size_t ty = 0;
  while (ty < CT_N && strcmp(type_names[ty], t->text)) ty++;
  if (ty == CT_N)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, t, "correlation.type: unknown type '%s'",
                   t->text);
  r->type = (corr_type_t)ty;
  r->info.type = type_names[ty];

  /* rules */
  const parry_sigma_node_t *rn = parry_sigma_node_get(c, "rules");
  char **refs = NULL;
  size_t n_refs = 0;
  if (!rn) return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, c, "correlation.rules: missing");
  if (strings(e, rn, "correlation.rules", &refs, &n_refs) < 0) {
    free_strings(refs, n_refs);
    return -1;
  }
  if (n_refs == 0) {
    free(refs);
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, rn, "correlation.rules: empty");
  }
  if (n_refs > CORR_MAX_INPUTS) {
    free_strings(refs, n_refs);
    return sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, rn, "correlation.rules: more than %d rules",
                   CORR_MAX_INPUTS);
  }
  r->inputs = parry_xnew(corr_input_t, n_refs);
  r->n_inputs = n_refs;
  d->ref_corr = parry_xnew(uint32_t, n_refs);
  int rc = 0;
  for (size_t i = 0; i < n_refs && rc == 0; i++) {
    d->ref_corr[i] = UINT32_MAX;
    /* correlations first: a chain names another correlation by id or name */
    for (size_t j = 0; j < cc->n; j++) {
      const parry_sigma_correlation_t *o = cc->docs[j].src;
      if ((o->id && strcmp(o->id, refs[i]) == 0) || (o->name && strcmp(o->name, refs[i]) == 0)) {
        d->ref_corr[i] = (uint32_t)j;
        break;
      }
    }
    uint32_t idx;
    if (d->ref_corr[i] != UINT32_MAX) {
      r->inputs[i].is_corr = true;
    } else if (parry_sigma_rule_find(cc->rs, refs[i], &idx)) {
      r->inputs[i].index = idx;
      r->inputs[i].key = parry_detect_rule_key(parry_sigma_rule_info(cc->rs, idx));
    } else {
      const parry_sigma_node_t *at = rn->kind == PARRY_SIGMA_NODE_SEQUENCE ? rn->items[i] : rn;
      rc = sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, at,
                   "correlation.rules: '%s' names no loaded rule (id or name)", refs[i]);
    }
  }
  free_strings(refs, n_refs);
  if (rc < 0) return -1;

  if (strings(e, parry_sigma_node_get(c, "group-by"), "correlation.group-by", &r->group_by,
              &r->n_group_by) < 0)
    return -1;
  if (r->n_group_by > CORR_MAX_GROUP_BY)
    return sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, c, "correlation.group-by: more than %d fields",
                   CORR_MAX_GROUP_BY);

  const parry_sigma_node_t *ts = parry_sigma_node_get(c, "timespan");
  if (!ts) return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, c, "correlation.timespan: missing");
  if (ts->kind != PARRY_SIGMA_NODE_SCALAR || !parse_timespan(ts->text, &r->info.timespan_ns) ||
      r->info.timespan_ns <= 0)
    return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, ts,
                   "correlation.timespan: '%s' is not a number followed by s, m, h, d or w",
                   ts->kind == PARRY_SIGMA_NODE_SCALAR ? ts->text : "");

  const parry_sigma_node_t *cond = parry_sigma_node_get(c, "condition");
  if (cond && parse_condition(e, d, cond) < 0) return -1;
  bool temporal = r->type == CT_TEMPORAL || r->type == CT_TEMPORAL_ORDERED;
  if (r->n_conds == 0) {
    if (!temporal)
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, cond ? cond : c,
                     "correlation.condition: %s needs a condition (gt, gte, lt, lte, eq, neq)",
                     type_names[r->type]);
    r->conds[0].op = OP_GTE; /* temporal: every listed rule */
    r->conds[0].v = (double)r->n_inputs;
    r->n_conds = 1;
  }
  bool needs_field = r->type == CT_VALUE_COUNT || r->type == CT_VALUE_SUM ||
                     r->type == CT_VALUE_AVG || r->type == CT_VALUE_PERCENTILE;
  if (needs_field && r->n_fields == 0)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, cond ? cond : c,
                   "correlation.condition.field: %s needs a field", type_names[r->type]);
  if (!needs_field && r->n_fields)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, cond,
                   "correlation.condition.field: not used by %s", type_names[r->type]);
  if (r->n_fields > 8)
    return sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, cond, "correlation.condition.field: more than 8 fields");
  if (needs_field && r->type != CT_VALUE_COUNT && r->n_fields != 1)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, cond,
                   "correlation.condition.field: %s takes exactly one field", type_names[r->type]);
  if (r->type == CT_VALUE_PERCENTILE) {
    for (size_t i = 0; i < r->n_conds; i++)
      if (r->conds[i].v < 0 || r->conds[i].v > 100)
        return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, cond,
                       "correlation.condition.%s: a percentage between 0 and 100",
                       op_names[r->conds[i].op]);
  }
  if (plan_condition(e, d, cond ? cond : c) < 0) return -1;
  r->unbounded = r->eager && r->type == CT_VALUE_SUM;

  const parry_sigma_node_t *al = parry_sigma_node_get(c, "aliases");
  if (al) {
    if (al->kind != PARRY_SIGMA_NODE_MAPPING)
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, al, "correlation.aliases: must be a map");
    for (size_t i = 0; i < al->n; i++) {
      const parry_sigma_node_t *m = al->items[2 * i + 1];
      if (m->kind != PARRY_SIGMA_NODE_MAPPING)
        return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, m,
                       "correlation.aliases.%s: must map rule names to fields",
                       al->items[2 * i]->text);
      for (size_t j = 0; j < m->n; j++)
        if (m->items[2 * j + 1]->kind != PARRY_SIGMA_NODE_SCALAR || !m->items[2 * j + 1]->len)
          return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, m->items[2 * j + 1],
                         "correlation.aliases.%s.%s: must be a field name",
                         al->items[2 * i]->text, m->items[2 * j]->text);
    }
    d->aliases = al;
  }

  /* top level: level, tags, description, generate, suppress */
  const parry_sigma_node_t *lv = parry_sigma_node_get(doc, "level");
  r->level = "";
  if (lv && lv->kind == PARRY_SIGMA_NODE_SCALAR && lv->scalar != PARRY_SIGMA_SCALAR_NULL) {
    parry_sigma_level_t l;
    if (!parry_sigma_level_parse(lv->text, &l))
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, lv, "level: unknown level '%s'", lv->text);
    r->level = parry_sigma_level_str(l);
  }
  const parry_sigma_node_t *tg = parry_sigma_node_get(doc, "tags");
  if (tg && tg->kind == PARRY_SIGMA_NODE_SEQUENCE) {
    r->tags = parry_xnew(const char *, tg->n ? tg->n : 1);
    for (size_t i = 0; i < tg->n; i++)
      if (tg->items[i]->kind == PARRY_SIGMA_NODE_SCALAR) r->tags[r->n_tags++] = tg->items[i]->text;
  }
  const parry_sigma_node_t *de = parry_sigma_node_get(doc, "description");
  r->description = de && de->kind == PARRY_SIGMA_NODE_SCALAR ? de->text : "";
  const parry_sigma_node_t *ge = parry_sigma_node_get(doc, "generate");
  if (ge) {
    if (ge->kind != PARRY_SIGMA_NODE_SCALAR || ge->scalar != PARRY_SIGMA_SCALAR_BOOL)
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, ge, "generate: must be true or false");
    r->generate = ge->text[0] == 't' || ge->text[0] == 'T';
  }
  const parry_sigma_node_t *su = parry_sigma_node_get(doc, "suppress");
  if (su) {
    int64_t ns = 0;
    if (su->kind != PARRY_SIGMA_NODE_SCALAR ||
        !(strcmp(su->text, "0") == 0 || parse_timespan(su->text, &ns)))
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, su,
                     "suppress: '%s' is not 0 or a number followed by s, m, h, d or w",
                     su->kind == PARRY_SIGMA_NODE_SCALAR ? su->text : "");
    r->info.suppress_ns = ns;
  }
  return 0;
}

/* Field names per input after aliases, and their event paths. */
static void bind_fields(cc_t *cc, doc_t *d) {
  corr_rule_t *r = &d->r;
  for (size_t i = 0; i < r->n_inputs; i++) {
    corr_input_t *in = &r->inputs[i];
    const char *names[3] = {NULL, NULL, NULL};
    if (in->is_corr) {
      const parry_sigma_correlation_t *o = cc->docs[d->ref_corr[i]].src;
      names[0] = o->name;
      names[1] = o->id;
    } else {
      const parry_sigma_rule_info_t *ri = parry_sigma_rule_info(cc->rs, in->index);
      names[0] = ri->name;
      names[1] = ri->id;
      names[2] = ri->title;
    }
    /* aliases: alias -> {rule name (or id, or title): field} */
    size_t ng = r->n_group_by, nf = r->n_fields;
    in->gb_field = parry_xnew(const char *, ng ? ng : 1);
    in->val_field = parry_xnew(const char *, nf ? nf : 1);
    for (size_t k = 0; k < ng + nf; k++) {
      const char *f = k < ng ? r->group_by[k] : r->fields[k - ng];
      const char *mapped = f;
      const parry_sigma_node_t *m = d->aliases ? parry_sigma_node_get(d->aliases, f) : NULL;
      for (size_t x = 0; m && x < 3 && mapped == f; x++) {
        if (!names[x]) continue;
        const parry_sigma_node_t *v = parry_sigma_node_get(m, names[x]);
        if (v && v->kind == PARRY_SIGMA_NODE_SCALAR) mapped = v->text;
      }
      if (k < ng)
        in->gb_field[k] = parry_xstrdup(mapped);
      else
        in->val_field[k - ng] = parry_xstrdup(mapped);
    }
    if (in->is_corr) continue;
    in->gb_cands = parry_xnew(const char **, ng ? ng : 1);
    in->gb_n_cands = parry_xnew(uint32_t, ng ? ng : 1);
    in->val_cands = parry_xnew(const char **, nf ? nf : 1);
    in->val_n_cands = parry_xnew(uint32_t, nf ? nf : 1);
    for (size_t k = 0; k < ng; k++)
      cands_for(cc->rs, in->gb_field[k], &in->gb_cands[k], &in->gb_n_cands[k]);
    for (size_t k = 0; k < nf; k++)
      cands_for(cc->rs, in->val_field[k], &in->val_cands[k], &in->val_n_cands[k]);
  }
}

static void reject(parry_sigma_report_t *report, doc_t *d) {
  d->ok = false;
  if (!report) return;
  sg_report_reject(report, d->src->file, d->r.info.key && *d->r.info.key ? d->r.info.key : NULL,
                   &d->err);
}

static uint32_t fingerprint(const corr_rule_t *r) {
  uint64_t v[8] = {(uint64_t)r->type, (uint64_t)r->info.timespan_ns, r->eager, r->nstar, r->cap,
                   r->n_inputs, r->n_fields, r->n_group_by};
  return (uint32_t)corr_hash(v, sizeof v);
}

static uint32_t depth_of(cc_t *cc, size_t di, int guard) {
  doc_t *d = &cc->docs[di];
  if (guard > CORR_MAX_DEPTH) return UINT32_MAX;
  uint32_t dep = 0;
  for (size_t i = 0; i < d->r.n_inputs; i++) {
    if (d->ref_corr[i] == UINT32_MAX) continue;
    uint32_t x = depth_of(cc, d->ref_corr[i], guard + 1);
    if (x == UINT32_MAX) return UINT32_MAX;
    if (x + 1 > dep) dep = x + 1;
  }
  return dep;
}

parry_corr_set_t *parry_corr_compile(const parry_sigma_ruleset_t *rs,
                                     parry_sigma_report_t *report, char *errstr, size_t n) {
  if (!rs) {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "correlation: no ruleset");
    return NULL;
  }
  cc_t cc = {.rs = rs, .n = parry_sigma_correlation_count(rs)};
  cc.docs = parry_xnew(doc_t, cc.n ? cc.n : 1);
  for (size_t i = 0; i < cc.n; i++) cc.docs[i].src = parry_sigma_correlation(rs, i);
  for (size_t i = 0; i < cc.n; i++) cc.docs[i].ok = parse_doc(&cc, i) == 0;

  /* rule keys (id, else name, else title) name alerts and signals: unique */
  for (size_t i = 0; i < cc.n; i++) {
    doc_t *d = &cc.docs[i];
    for (size_t j = 0; d->ok && j < i; j++) {
      if (!cc.docs[j].ok || strcmp(cc.docs[j].r.info.key, d->r.info.key)) continue;
      sg_fail(&d->err, PARRY_SIGMA_REJECT_DUPLICATE, d->src->document,
              "id: '%s' already names another correlation rule (a rule without id or name is "
              "known by its title)",
              d->r.info.key);
      d->ok = false;
    }
  }

  /* chains: cycles, too deep, or a rejected link reject the user (fixpoint) */
  for (size_t i = 0; i < cc.n; i++) {
    doc_t *d = &cc.docs[i];
    if (!d->ok) continue;
    uint32_t dep = depth_of(&cc, i, 0);
    if (dep == UINT32_MAX) {
      sg_fail(&d->err, PARRY_SIGMA_REJECT_STRUCTURE, parry_sigma_node_get(d->src->document, "correlation"),
              "correlation.rules: the chain of correlations loops or is deeper than %d",
              CORR_MAX_DEPTH);
      d->ok = false;
      d->err.line = d->err.line ? d->err.line : d->src->line;
    }
    d->r.depth = dep;
  }
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = 0; i < cc.n; i++) {
      doc_t *d = &cc.docs[i];
      if (!d->ok) continue;
      for (size_t k = 0; k < d->r.n_inputs; k++) {
        uint32_t j = d->ref_corr[k];
        if (j == UINT32_MAX || cc.docs[j].ok) continue;
        sg_fail(&d->err, PARRY_SIGMA_REJECT_STRUCTURE,
                parry_sigma_node_get(parry_sigma_node_get(d->src->document, "correlation"), "rules"),
                "correlation.rules: '%s' is a rejected correlation rule",
                cc.docs[j].src->id ? cc.docs[j].src->id : cc.docs[j].src->title);
        d->ok = false;
        changed = true;
        break;
      }
    }
  }
  for (size_t i = 0; i < cc.n; i++)
    if (!cc.docs[i].ok) reject(report, &cc.docs[i]);

  /* compact accepted rules into the set, remapping chain references */
  parry_corr_set_t *set = parry_xnew(parry_corr_set_t, 1);
  uint32_t *remap = parry_xnew(uint32_t, cc.n ? cc.n : 1);
  set->rules = parry_xnew(corr_rule_t, cc.n ? cc.n : 1);
  for (size_t i = 0; i < cc.n; i++) {
    remap[i] = UINT32_MAX;
    if (cc.docs[i].ok) remap[i] = (uint32_t)set->n_rules++;
  }
  for (size_t i = 0; i < cc.n; i++) {
    doc_t *d = &cc.docs[i];
    if (d->ok) {
      bind_fields(&cc, d);
      for (size_t k = 0; k < d->r.n_inputs; k++)
        if (d->ref_corr[k] != UINT32_MAX) d->r.inputs[k].index = remap[d->ref_corr[k]];
      d->r.fingerprint = fingerprint(&d->r);
      set->rules[remap[i]] = d->r;
    } else {
      free_rule(&d->r);
    }
    free(d->ref_corr);
  }
  for (size_t i = 0; i < set->n_rules; i++) {
    corr_rule_t *r = &set->rules[i];
    for (size_t k = 0; k < r->n_inputs; k++)
      if (r->inputs[k].is_corr) r->inputs[k].key = set->rules[r->inputs[k].index].info.key;
  }
  free(remap);
  free(cc.docs);

  /* detection rule -> users; generate; chain parents; key index */
  set->n_det = parry_sigma_rule_count(rs);
  size_t nd = set->n_det ? set->n_det : 1;
  set->uses = parry_xnew(corr_use_t *, nd);
  set->n_uses = parry_xnew(uint32_t, nd);
  set->generates = parry_xnew(bool, nd);
  set->used = parry_xnew(bool, nd);
  bool *referenced = parry_xnew(bool, nd);
  bool *corr_ref = parry_xnew(bool, set->n_rules ? set->n_rules : 1);
  bool *corr_gen = parry_xnew(bool, set->n_rules ? set->n_rules : 1);
  for (size_t i = 0; i < set->n_rules; i++) {
    corr_rule_t *r = &set->rules[i];
    for (size_t k = 0; k < r->n_inputs; k++) {
      corr_input_t *in = &r->inputs[k];
      if (in->is_corr) {
        corr_rule_t *up = &set->rules[in->index];
        up->parents = parry_xreallocarray(up->parents, up->n_parents + 1, sizeof *up->parents);
        up->parents[up->n_parents++] = (uint32_t)i;
        corr_ref[in->index] = true;
        if (r->generate) corr_gen[in->index] = true;
        continue;
      }
      uint32_t di = in->index;
      set->uses[di] = parry_xreallocarray(set->uses[di], set->n_uses[di] + 1, sizeof(corr_use_t));
      set->uses[di][set->n_uses[di]++] = (corr_use_t){(uint32_t)i, (uint32_t)k};
      set->used[di] = true;
      referenced[di] = true;
      if (r->generate) set->generates[di] = true;
    }
  }
  for (size_t i = 0; i < set->n_det; i++)
    if (!referenced[i]) set->generates[i] = true;
  for (size_t i = 0; i < set->n_rules; i++)
    set->rules[i].info.generates = !corr_ref[i] || corr_gen[i];
  free(referenced);
  free(corr_ref);
  free(corr_gen);

  set->kcap = 16;
  while (set->kcap < set->n_rules * 2) set->kcap *= 2;
  set->kidx = parry_xnew(uint32_t, set->kcap);
  memset(set->kidx, 0xff, set->kcap * sizeof *set->kidx);
  for (size_t i = 0; i < set->n_rules; i++) {
    const char *k = set->rules[i].info.key;
    size_t h = (size_t)corr_hash(k, strlen(k)) & (set->kcap - 1);
    while (set->kidx[h] != UINT32_MAX) h = (h + 1) & (set->kcap - 1);
    set->kidx[h] = (uint32_t)i;
  }
  return set;
}

const corr_rule_t *corr_set_find(const parry_corr_set_t *set, const char *key, size_t len,
                                 uint32_t *index) {
  size_t h = (size_t)corr_hash(key, len) & (set->kcap - 1);
  for (; set->kidx[h] != UINT32_MAX; h = (h + 1) & (set->kcap - 1)) {
    const corr_rule_t *r = &set->rules[set->kidx[h]];
    if (strncmp(r->info.key, key, len) == 0 && r->info.key[len] == 0) {
      if (index) *index = set->kidx[h];
      return r;
    }
  }
  return NULL;
}

uint32_t corr_input_find(const corr_rule_t *r, const char *rule_id) {
  for (size_t i = 0; i < r->n_inputs; i++)
    if (r->inputs[i].key && strcmp(r->inputs[i].key, rule_id) == 0) return (uint32_t)i;
  return UINT32_MAX;
}

void parry_corr_set_destroy(parry_corr_set_t *set) {
  if (!set) return;
  for (size_t i = 0; i < set->n_rules; i++) free_rule(&set->rules[i]);
  free(set->rules);
  for (size_t i = 0; i < set->n_det; i++) free(set->uses[i]);
  free(set->uses);
  free(set->n_uses);
  free(set->generates);
  free(set->used);
  free(set->kidx);
  free(set);
}

size_t parry_corr_set_count(const parry_corr_set_t *set) { return set ? set->n_rules : 0; }

bool parry_corr_rule_generates(const parry_corr_set_t *set, uint32_t rule_index) {
  if (!set || rule_index >= set->n_det) return true;
  return set->generates[rule_index];
}

bool parry_corr_rule_used(const parry_corr_set_t *set, uint32_t rule_index) {
  return set && rule_index < set->n_det && set->used[rule_index];
}

const parry_corr_rule_info_t *parry_corr_rule_info(const parry_corr_set_t *set, size_t i) {
  return set && i < set->n_rules ? &set->rules[i].info : NULL;
}
