/* Tests and expressions: does a value match a field of the current event,
 * does a rule's condition hold. Patterns whose literal the field's
 * automaton did not see are skipped without touching the text. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "parry/timefmt.h"
#include "sigma/match_int.h"

/* Could this pattern match at all? Its literal must have been seen. */
static inline bool lit_seen(const parry_sigma_matcher_t *m, uint32_t id) {
  return id == SG_NO_LIT || m->lit_gen[id] == m->gen;
}

static bool regex_match(parry_sigma_matcher_t *m, void *re, const char *s, size_t len) {
  int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, m->md, m->mctx);
  if (rc >= 0) return true;
  if (rc != PCRE2_ERROR_NOMATCH) m->stats.regex_errors++;
  return false;
}

static bool cidr_match(const sg_value_t *v, const char *s, size_t len) {
  char buf[64];
  uint8_t addr[16];
  if (len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = 0;
  const uint8_t *a = addr;
  if (inet_pton(AF_INET, buf, addr) == 1) {
    if (v->family != 4) return false;
  } else if (inet_pton(AF_INET6, buf, addr) == 1) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (v->family == 4) {
      if (memcmp(addr, mapped, 12)) return false;
      a = addr + 12;
    }
  } else {
    return false;
  }
  unsigned full = v->prefix / 8, rest = v->prefix % 8;
  if (memcmp(a, v->addr, full)) return false;
  if (rest && ((a[full] & (uint8_t)(0xFF << (8 - rest))) != v->addr[full])) return false;
  return true;
}

static bool cmp_num(const sg_value_t *v, bool is_int, int64_t i, double d) {
  int c;
  if (is_int && v->is_int)
    c = i < v->i ? -1 : i > v->i;
  else {
    double rv = v->is_int ? (double)v->i : v->d;
    c = d < rv ? -1 : d > rv;
  }
  switch (v->cmp) {
  case SG_CMP_LT: return c < 0;
  case SG_CMP_LTE: return c <= 0;
  case SG_CMP_GT: return c > 0;
  case SG_CMP_GTE: return c >= 0;
  default: return c == 0;
  }
}

static int iso_weeks(int64_t y) {
  int64_t p = (y + y / 4 - y / 100 + y / 400) % 7;
  int64_t q = ((y - 1) + (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400) % 7;
  return 52 + (p == 4 || q == 3);
}

/* A part of a time value; false when the value is not a time. */
static bool time_part(fval_t *f, uint8_t part, int64_t *out) {
  int64_t ns;
  if (f->type == FV_TIME)
    ns = f->i;
  else if (f->type == FV_STR && parry_time_parse_rfc3339(f->s, f->len, &ns) == PARRY_OK)
    ;
  else
    return false;
  int64_t sec = ns / PARRY_NS_PER_SEC - (ns % PARRY_NS_PER_SEC < 0);
  time_t t = (time_t)sec;
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return false;
  switch (part) {
  case SG_TIME_MINUTE: *out = tm.tm_min; break;
  case SG_TIME_HOUR: *out = tm.tm_hour; break;
  case SG_TIME_DAY: *out = tm.tm_mday; break;
  case SG_TIME_MONTH: *out = tm.tm_mon + 1; break;
  case SG_TIME_YEAR: *out = (int64_t)tm.tm_year + 1900; break;
  default: {
    int64_t year = (int64_t)tm.tm_year + 1900;
    int wd = (tm.tm_wday + 6) % 7 + 1; /* Monday 1 .. Sunday 7 */
    int w = (tm.tm_yday + 1 - wd + 10) / 7;
    if (w < 1) w = iso_weeks(year - 1);
    else if (w > iso_weeks(year)) w = 1;
    *out = w;
  }
  }
  return true;
}

static bool text_pos(uint8_t pos, const char *s, size_t n, const char *r, size_t rn) {
  switch (pos) {
  case SG_PAT_PREFIX: return n >= rn && !memcmp(s, r, rn);
  case SG_PAT_SUFFIX: return n >= rn && !memcmp(s + n - rn, r, rn);
  case SG_PAT_CONTAINS: return n >= rn && (!rn || memmem(s, n, r, rn));
  default: return n == rn && !memcmp(s, r, n);
  }
}

/* Does value v match element f (a scalar of the field)? */
static bool elem_match(parry_sigma_matcher_t *m, const sg_test_t *t, const sg_value_t *v, fval_t *f) {
  size_t n;
  const char *s;
  switch (v->kind) {
  case SG_V_PATTERN:
    for (uint32_t a = 0; a < v->n_alts; a++) {
      if (!lit_seen(m, v->alts[a].lit_id)) continue;
      /* the automaton scanned every element of this field: for a plain
       * substring test its hit is the answer for the field as a whole */
      if (v->alts[a].lit_decides) return true;
      s = v->alts[a].cased ? sg_m_text(m, f, &n) : sg_m_low(m, f, &n);
      if (s && sg_pattern_match(&v->alts[a], s, n)) return true;
    }
    return false;
  case SG_V_REGEX:
    if (!lit_seen(m, v->lit_id)) return false;
    s = sg_m_text(m, f, &n);
    return s && regex_match(m, v->re, s, n);
  case SG_V_CIDR:
    s = f->type == FV_STR ? f->s : NULL;
    return s && cidr_match(v, s, f->len);
  case SG_V_NUM: {
    bool is_int = true;
    int64_t i = 0;
    double d = 0;
    if (t->time_part) {
      if (!time_part(f, t->time_part, &i)) return false;
      d = (double)i;
    } else if (!sg_m_num(f, &is_int, &i, &d)) {
      if (v->cmp != SG_CMP_EQ || f->type != FV_STR) return false;
      s = sg_m_low(m, f, &n);
      return s && n == v->text_len && !memcmp(s, v->text, n);
    }
    if (cmp_num(v, is_int, i, d)) return true;
    if (v->cmp == SG_CMP_EQ && f->type == FV_STR) {
      s = sg_m_low(m, f, &n);
      return s && n == v->text_len && !memcmp(s, v->text, n);
    }
    return false;
  }
  case SG_V_BOOL:
    if (f->type == FV_BOOL) return f->val->bool_value == v->b;
    if (f->type != FV_STR) return false;
    return !strcasecmp(f->s, v->b ? "true" : "false") && f->len == (v->b ? 4u : 5u);
  case SG_V_FIELDREF: {
    fslot_t *o = sg_m_field(m, v->ref_slot);
    for (uint32_t k = 0; k < o->n; k++) {
      size_t rn;
      const char *r = v->cased ? sg_m_text(m, &o->v[k], &rn) : sg_m_low(m, &o->v[k], &rn);
      s = v->cased ? sg_m_text(m, f, &n) : sg_m_low(m, f, &n);
      if (r && s && text_pos(v->ref_pos, s, n, r, rn)) return true;
    }
    return false;
  }
  default: return false;
  }
}

static bool value_match(parry_sigma_matcher_t *m, const sg_test_t *t, const sg_value_t *v,
                        fslot_t *fs) {
  if (v->kind == SG_V_NULL) return !fs->present || (fs->n == 1 && fs->v[0].type == FV_NULL);
  if (v->kind == SG_V_NEVER) return false;
  if (v->kind == SG_V_PATTERN || v->kind == SG_V_REGEX) sg_m_ensure_scanned(m, t->slot);
  for (uint32_t k = 0; k < fs->n; k++)
    if (elem_match(m, t, v, &fs->v[k])) return true;
  return false;
}

static bool keyword_test(parry_sigma_matcher_t *m, const sg_test_t *t) {
  sg_m_keywords(m);
  fslot_t fs = {.present = true, .n = (uint32_t)m->n_kw, .v = m->kw};
  bool all = t->flags & SG_T_ALL;
  for (uint32_t i = 0; i < t->n_values; i++) {
    bool hit = value_match(m, t, &t->values[i], &fs);
    if (all && !hit) return false;
    if (!all && hit) return true;
  }
  return all;
}

static bool eval_test(parry_sigma_matcher_t *m, const sg_test_t *t) {
  if (t->slot == SG_SLOT_KEYWORD) return keyword_test(m, t);
  fslot_t *fs = sg_m_field(m, t->slot);
  if (t->exists >= 0) return fs->present == (bool)t->exists;
  bool all = t->flags & SG_T_ALL;
  bool r = all;
  if ((t->flags & SG_T_NEQ) && !fs->present) return false;
  for (uint32_t i = 0; i < t->n_values; i++) {
    bool hit = value_match(m, t, &t->values[i], fs);
    if (all && !hit) {
      r = false;
      break;
    }
    if (!all && hit) {
      r = true;
      break;
    }
  }
  return t->flags & SG_T_NEQ ? !r : r;
}

bool sg_m_eval(parry_sigma_matcher_t *m, const sg_expr_t *x) {
  switch (x->op) {
  case SG_E_TEST: return eval_test(m, x->test);
  case SG_E_AND:
    for (uint32_t i = 0; i < x->n; i++)
      if (!sg_m_eval(m, x->kids[i])) return false;
    return true;
  case SG_E_OR:
    for (uint32_t i = 0; i < x->n; i++)
      if (sg_m_eval(m, x->kids[i])) return true;
    return false;
  case SG_E_NOT: return !sg_m_eval(m, x->kids[0]);
  case SG_E_TRUE: return true;
  default: return false;
  }
}

