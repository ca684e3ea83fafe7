/* One detection item -- `field|mod|mod: value(s)` -- into a test.
 *
 * The modifier chain is parsed and checked first (unknown names and
 * combinations that make no sense reject the rule, naming the modifier),
 * then each value runs through the chain in the order written. String
 * values travel as token strings (sg_sstr_t) so that wildcards survive the
 * position modifiers and windash becomes a character class instead of an
 * exponential set of permutations. `expand` runs first, on the raw text,
 * because placeholders are spelled in the raw text; position modifiers
 * commute with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

typedef enum {
  M_CONTAINS, M_STARTSWITH, M_ENDSWITH, M_ALL, M_BASE64, M_BASE64OFFSET, M_UTF16LE, M_UTF16BE,
  M_UTF16, M_WINDASH, M_RE, M_RE_I, M_RE_M, M_RE_S, M_CASED, M_EXISTS, M_NEQ, M_LT, M_LTE, M_GT,
  M_GTE, M_CIDR, M_EXPAND, M_FIELDREF, M_MINUTE, M_HOUR, M_DAY, M_WEEK, M_MONTH, M_YEAR,
} mod_t;

static const struct {
  const char *name;
  mod_t mod;
} mod_names[] = {
    {"contains", M_CONTAINS},   {"startswith", M_STARTSWITH}, {"endswith", M_ENDSWITH},
    {"all", M_ALL},             {"base64", M_BASE64},         {"base64offset", M_BASE64OFFSET},
    {"utf16le", M_UTF16LE},     {"wide", M_UTF16LE},          {"utf16be", M_UTF16BE},
    {"utf16", M_UTF16},         {"windash", M_WINDASH},       {"re", M_RE},
    {"i", M_RE_I},              {"ignorecase", M_RE_I},       {"m", M_RE_M},
    {"multiline", M_RE_M},      {"s", M_RE_S},                {"dotall", M_RE_S},
    {"cased", M_CASED},         {"exists", M_EXISTS},         {"neq", M_NEQ},
    {"lt", M_LT},               {"lte", M_LTE},               {"gt", M_GT},
    {"gte", M_GTE},             {"cidr", M_CIDR},             {"expand", M_EXPAND},
    {"fieldref", M_FIELDREF},   {"minute", M_MINUTE},         {"hour", M_HOUR},
    {"day", M_DAY},             {"week", M_WEEK},             {"month", M_MONTH},
    {"year", M_YEAR},
};

#define MAX_MODS 16

typedef struct {
  mod_t mods[MAX_MODS];
  size_t n;
  bool all, cased, neq, re, cidr, fieldref, expand, exists, pos;
  uint32_t re_flags;
  int cmp;       /* -1 none */
  int time_part; /* SG_TIME_* */
  int ref_pos;
  bool transforms; /* encoders, windash, position */
} chain_t;

/* ---- values ---- */

bool sg_parse_number(const char *s, size_t len, bool *is_int, int64_t *i, double *d) {
  if (!len || len > 64 || !strchr("+-.0123456789", s[0]) || !s[0]) return false;
  char buf[80];
  memcpy(buf, s, len);
  buf[len] = 0;
  char *end;
  errno = 0;
  const char *p = buf + (buf[0] == '+' || buf[0] == '-');
  int base = 10;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16;
  else if (p[0] == '0' && p[1] == 'o') base = 8;
  if (base != 10) {
    long long v = strtoll(p + 2, &end, base);
    if (*end || errno || end == p + 2) return false;
    *is_int = true;
    *i = buf[0] == '-' ? -v : v;
    *d = (double)*i;
    return true;
  }
  long long v = strtoll(buf, &end, 10);
  if (!*end && !errno && end != buf) {
    *is_int = true;
    *i = v;
    *d = (double)v;
    return true;
  }
  errno = 0;
  double f = strtod(buf, &end);
  if (*end || end == buf || !isfinite(f)) return false;
  *is_int = false;
  *d = f;
  return true;
}

static int parse_cidr(const char *s, sg_value_t *v) {
  char buf[80];
  size_t len = strlen(s);
  if (len >= sizeof buf) return -1;
  memcpy(buf, s, len + 1);
  char *slash = strchr(buf, '/');
  long prefix = -1;
  if (slash) {
    *slash = 0;
    char *end;
    if (!slash[1] || strlen(slash + 1) > 3) return -1;
    prefix = strtol(slash + 1, &end, 10);
    if (*end || slash[1] < '0' || slash[1] > '9') return -1;
  }
  if (inet_pton(AF_INET, buf, v->addr) == 1) {
    v->family = 4;
    if (prefix < 0) prefix = 32;
    if (prefix > 32) return -1;
  } else if (inet_pton(AF_INET6, buf, v->addr) == 1) {
    v->family = 6;
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return -1;
  } else {
    return -1;
  }
  v->prefix = (uint8_t)prefix;
  size_t bytes = v->family == 4 ? 4 : 16;
  for (size_t b = 0; b < bytes; b++) {
    long keep = prefix - (long)b * 8;
    uint8_t mask = keep >= 8 ? 0xFF : keep <= 0 ? 0 : (uint8_t)(0xFF << (8 - keep));
    v->addr[b] &= mask;
  }
  return 0;
}

static int parse_chain(const char *key, const parry_sigma_node_t *at, chain_t *c, sg_err_t *e) {
  memset(c, 0, sizeof *c);
  c->cmp = -1;
  c->ref_pos = SG_PAT_EXACT;
  const char *p = strchr(key, '|');
  bool saw_re = false;
  while (p) {
    const char *name = p + 1;
    p = strchr(name, '|');
    size_t len = p ? (size_t)(p - name) : strlen(name);
    size_t k = 0;
    for (; k < sizeof mod_names / sizeof *mod_names; k++)
      if (strlen(mod_names[k].name) == len && !memcmp(mod_names[k].name, name, len)) break;
    if (k == sizeof mod_names / sizeof *mod_names)
      return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at, "unknown modifier \"%.*s\"",
                     (int)(len > 60 ? 60 : len), name);
    if (c->n == MAX_MODS)
      return sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at, "more than %d modifiers", MAX_MODS);
    mod_t m = mod_names[k].mod;
    c->mods[c->n++] = m;
    switch (m) {
    case M_ALL: c->all = true; break;
    case M_CASED: c->cased = true; break;
    case M_NEQ: c->neq = true; break;
    case M_EXISTS: c->exists = true; break;
    case M_CIDR: c->cidr = true; break;
    case M_EXPAND: c->expand = true; break;
    case M_FIELDREF: c->fieldref = true; break;
    case M_RE: c->re = saw_re = true; break;
    case M_RE_I: case M_RE_M: case M_RE_S:
      if (!saw_re)
        return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at,
                       "modifier \"%.*s\" is a flag of \"re\" and must follow it", (int)len, name);
      c->re_flags |= m == M_RE_I ? SG_RE_I : m == M_RE_M ? SG_RE_M : SG_RE_S;
      break;
    case M_LT: case M_LTE: case M_GT: case M_GTE:
      if (c->cmp >= 0)
        return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at, "more than one comparison modifier");
      c->cmp = m == M_LT ? SG_CMP_LT : m == M_LTE ? SG_CMP_LTE : m == M_GT ? SG_CMP_GT : SG_CMP_GTE;
      break;
    case M_MINUTE: case M_HOUR: case M_DAY: case M_WEEK: case M_MONTH: case M_YEAR:
      if (c->time_part)
        return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at, "more than one time modifier");
      c->time_part = SG_TIME_MINUTE + (int)(m - M_MINUTE);
      break;
    case M_CONTAINS: case M_STARTSWITH: case M_ENDSWITH:
      c->pos = true;
      c->transforms = true;
      c->ref_pos = m == M_CONTAINS ? SG_PAT_CONTAINS : m == M_STARTSWITH ? SG_PAT_PREFIX : SG_PAT_SUFFIX;
      break;
    default: c->transforms = true; break;
    }
  }
  /* combinations */
  bool numeric = c->cmp >= 0 || c->time_part;
  if (c->exists && c->n > 1)
    return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at, "\"exists\" cannot be combined with other modifiers");
  if (c->re && (c->transforms || c->cidr || numeric || c->fieldref || c->expand))
    return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at,
                   "\"re\" cannot be combined with string, encoding, cidr, numeric or fieldref modifiers");
  if (c->cidr && (c->transforms || numeric || c->fieldref || c->expand))
    return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at, "\"cidr\" cannot be combined with string or numeric modifiers");
  if (numeric && (c->transforms || c->fieldref || c->expand || c->cased))
    return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at,
                   "numeric and time modifiers cannot be combined with string modifiers");
  if (c->fieldref) {
    for (size_t i = 0; i < c->n; i++)
      if (c->mods[i] != M_FIELDREF && c->mods[i] != M_CONTAINS && c->mods[i] != M_STARTSWITH &&
          c->mods[i] != M_ENDSWITH && c->mods[i] != M_NEQ && c->mods[i] != M_CASED &&
          c->mods[i] != M_ALL)
        return sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at,
                       "\"fieldref\" combines only with contains, startswith, endswith, cased, neq and all");
  }
  return 0;
}

static void values_push(sg_value_t **vals, size_t *n, size_t *cap, sg_value_t v) {
  *vals = sg_grow(*vals, cap, *n, sizeof **vals);
  (*vals)[(*n)++] = v;
}

/* A string value through the chain into pattern alternatives. */
static int string_value(sg_cc_t *cc, const chain_t *c, const parry_sigma_node_t *at, bool keyword,
                        sg_value_t *out, sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  sg_sstrs_t cur = {0}, raw = {0};
  int rc = 0;
  if (c->expand) {
    rc = sg_tr_expand(cc, at, at->text, at->len, &raw, e);
    if (rc) {
      free(raw.v);
      if (rc == 1) out->kind = SG_V_NEVER;
      return rc < 0 ? -1 : 0;
    }
    for (size_t i = 0; i < raw.n; i++) {
      char *txt = (char *)sg_sstr_bytes(a, &raw.v[i]);
      sg_sstrs_push(&cur, sg_sstr_parse(a, txt, raw.v[i].n));
    }
    free(raw.v);
  } else {
    sg_sstrs_push(&cur, sg_sstr_parse(a, at->text, at->len));
  }
  for (size_t m = 0; m < c->n && rc == 0; m++) {
    mod_t mod = c->mods[m];
    sg_sstrs_t next = {0};
    for (size_t i = 0; i < cur.n && rc == 0; i++) {
      sg_sstr_t *s = &cur.v[i];
      switch (mod) {
      case M_CONTAINS: sg_sstrs_push(&next, sg_tr_stars(a, s, true, true)); break;
      case M_STARTSWITH: sg_sstrs_push(&next, sg_tr_stars(a, s, false, true)); break;
      case M_ENDSWITH: sg_sstrs_push(&next, sg_tr_stars(a, s, true, false)); break;
      case M_WINDASH: sg_sstrs_push(&next, sg_tr_windash(a, s)); break;
      case M_BASE64:
      case M_BASE64OFFSET:
      case M_UTF16LE:
      case M_UTF16BE:
      case M_UTF16: {
        sg_sstrs_t forms = {0};
        rc = sg_tr_dash_forms(a, s, &forms, e, at);
        for (size_t f = 0; f < forms.n && rc == 0; f++) {
          sg_sstr_t *x = &forms.v[f];
          if (mod == M_UTF16LE || mod == M_UTF16BE || mod == M_UTF16) {
            sg_sstrs_push(&next, sg_tr_utf16(a, x, mod == M_UTF16BE, mod == M_UTF16));
            continue;
          }
          if (sg_sstr_has_special(x)) {
            rc = sg_fail(e, PARRY_SIGMA_REJECT_VALUE, at,
                         "%s of a value with wildcards is not supported (apply contains after it)",
                         mod == M_BASE64 ? "base64" : "base64offset");
            break;
          }
          if (mod == M_BASE64)
            sg_sstrs_push(&next, sg_tr_base64(a, x));
          else
            sg_tr_base64offset(a, x, &next);
        }
        free(forms.v);
        break;
      }
      default: sg_sstrs_push(&next, *s); break;
      }
      if (next.n > SG_MAX_EXPANSION && rc == 0)
        rc = sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at, "value expands to more than %d forms",
                     SG_MAX_EXPANSION);
    }
    free(cur.v);
    cur = next;
  }
  if (rc == 0) {
    cc->n_values += cur.n;
    if (cc->n_values > SG_MAX_VALUES)
      rc = sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at, "more than %d values in one rule", SG_MAX_VALUES);
  }
  if (rc == 0) {
    out->kind = SG_V_PATTERN;
    out->n_alts = (uint32_t)cur.n;
    out->alts = parry_arena_new(a, sg_pattern_t, cur.n ? cur.n : 1);
    for (size_t i = 0; i < cur.n; i++) {
      sg_sstr_t s = cur.v[i];
      if (keyword && !c->pos) s = sg_tr_stars(a, &s, true, true);
      out->alts[i] = sg_pattern_compile(a, &s, c->cased);
    }
  }
  free(cur.v);
  return rc;
}

static int one_value(sg_cc_t *cc, const chain_t *c, const parry_sigma_node_t *v, bool keyword,
                     sg_value_t *out, sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  memset(out, 0, sizeof *out);
  out->lit_id = SG_NO_LIT;
  if (v->kind != PARRY_SIGMA_NODE_SCALAR)
    return sg_fail(e, PARRY_SIGMA_REJECT_UNSUPPORTED, v,
                   "a %s inside a list of values is not supported",
                   v->kind == PARRY_SIGMA_NODE_MAPPING ? "mapping" : "list");
  if (v->scalar == PARRY_SIGMA_SCALAR_NULL && !v->quoted) {
    if (c->n > (size_t)(c->all + c->neq))
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, v, "null takes no modifiers");
    if (keyword) return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, v, "null is not a keyword");
    out->kind = SG_V_NULL;
    return 0;
  }
  if (c->re) {
    out->kind = SG_V_REGEX;
    out->re = sg_regex_compile(cc, v, v->text, v->len, c->re_flags, e);
    if (!out->re) return -1;
    const char *lit;
    size_t lit_len;
    sg_regex_literal(a, v->text, v->len, &lit, &lit_len);
    out->text = lit;
    out->text_len = lit_len;
    return 0;
  }
  if (c->cidr) {
    out->kind = SG_V_CIDR;
    if (memchr(v->text, 0, v->len) || parse_cidr(v->text, out) < 0)
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, v, "\"%.60s\" is not an IPv4 or IPv6 network",
                     v->text);
    return 0;
  }
  if (c->cmp >= 0 || c->time_part) {
    out->kind = SG_V_NUM;
    out->cmp = (uint8_t)(c->cmp >= 0 ? c->cmp : SG_CMP_EQ);
    if (v->scalar == PARRY_SIGMA_SCALAR_BOOL ||
        !sg_parse_number(v->text, v->len, &out->is_int, &out->i, &out->d))
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, v, "\"%.60s\" is not a number", v->text);
    out->text = v->text;
    out->text_len = v->len;
    return 0;
  }
  if (c->fieldref) {
    sg_sstr_t s = sg_sstr_parse(a, v->text, v->len);
    if (sg_sstr_has_special(&s) || v->len == 0 || memchr(v->text, 0, v->len))
      return sg_fail(e, PARRY_SIGMA_REJECT_VALUE, v, "a field reference must be a plain field name");
    out->kind = SG_V_FIELDREF;
    out->ref_slot = sg_slot_intern(cc->rs, v->text, v->len);
    out->ref_pos = (uint8_t)c->ref_pos;
    out->cased = c->cased;
    return 0;
  }
  if (!keyword && !c->transforms && !c->expand && !c->cased) {
    if (v->scalar == PARRY_SIGMA_SCALAR_BOOL) {
      out->kind = SG_V_BOOL;
      out->b = v->text[0] == 't' || v->text[0] == 'T';
      return 0;
    }
    if ((v->scalar == PARRY_SIGMA_SCALAR_INT || v->scalar == PARRY_SIGMA_SCALAR_FLOAT) &&
        sg_parse_number(v->text, v->len, &out->is_int, &out->i, &out->d)) {
      out->kind = SG_V_NUM;
      out->cmp = SG_CMP_EQ;
      char *low = parry_arena_strndup(a, v->text, v->len);
      for (char *p = low; *p; p++) *p = sg_lower(*p);
      out->text = low;
      out->text_len = v->len;
      return 0;
    }
  }
  return string_value(cc, c, v, keyword, out, e);
}

sg_test_t *sg_compile_item(sg_cc_t *cc, const parry_sigma_node_t *key_node, const char *key,
                           const parry_sigma_node_t *values, sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  const parry_sigma_node_t *at = key_node ? key_node : values;
  chain_t c;
  if (parse_chain(key, at, &c, e) < 0) return NULL;
  const char *bar = strchr(key, '|');
  size_t field_len = bar ? (size_t)(bar - key) : strlen(key);
  bool keyword = field_len == 0;
  if (keyword && (c.exists || c.fieldref || c.cidr || c.cmp >= 0 || c.time_part || c.neq)) {
    sg_fail(e, PARRY_SIGMA_REJECT_MODIFIER, at,
            "keywords (values without a field) take no exists, fieldref, cidr, neq, numeric or "
            "time modifier");
    return NULL;
  }
  sg_test_t *t = parry_arena_new(a, sg_test_t, 1);
  t->slot = keyword ? SG_SLOT_KEYWORD : sg_slot_intern(cc->rs, key, field_len);
  t->flags = (uint8_t)((c.all ? SG_T_ALL : 0) | (c.neq ? SG_T_NEQ : 0));
  t->time_part = (uint8_t)c.time_part;
  t->exists = -1;
  t->any_cased = c.cased;

  if (values->kind == PARRY_SIGMA_NODE_MAPPING) {
    sg_fail(e, PARRY_SIGMA_REJECT_UNSUPPORTED, values, "a mapping as the value of \"%.80s\" is not supported",
            key);
    return NULL;
  }
  if (c.exists) {
    if (values->kind != PARRY_SIGMA_NODE_SCALAR || values->scalar != PARRY_SIGMA_SCALAR_BOOL) {
      sg_fail(e, PARRY_SIGMA_REJECT_VALUE, values, "\"exists\" takes true or false");
      return NULL;
    }
    t->exists = values->text[0] == 't' || values->text[0] == 'T';
    return t;
  }
  const parry_sigma_node_t *const *items;
  size_t n;
  const parry_sigma_node_t *single = values;
  if (values->kind == PARRY_SIGMA_NODE_SEQUENCE) {
    items = (const parry_sigma_node_t *const *)values->items;
    n = values->n;
    if (n == 0) {
      sg_fail(e, PARRY_SIGMA_REJECT_VALUE, values, "empty list of values for \"%.80s\"", key);
      return NULL;
    }
  } else {
    items = &single;
    n = 1;
  }
  sg_value_t *vals = NULL;
  size_t nv = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    sg_value_t v;
    if (one_value(cc, &c, items[i], keyword, &v, e) < 0) {
      free(vals);
      return NULL;
    }
    values_push(&vals, &nv, &cap, v);
  }
  t->values = parry_arena_new(a, sg_value_t, nv);
  memcpy(t->values, vals, nv * sizeof *vals);
  t->n_values = (uint32_t)nv;
  free(vals);
  return t;
}
