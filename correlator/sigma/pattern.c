/* Sigma strings: parsing the spec's wildcard and escape syntax into tokens,
 * and compiling tokens into the cheapest matcher that fits (exact, prefix,
 * suffix, substring, or a general glob).
 *
 * Token widths are decided by the text alone -- a literal byte is one byte,
 * `?` one UTF-8 code point (by its lead byte), a windash class one dash
 * character (1 or 3 bytes) -- so the classic star-backtracking glob loop,
 * which only ever returns to the last `*`, is exact.
 */
#include <string.h>

#include "sigma/sigma_int.h"

sg_sstr_t sg_sstr_parse(parry_arena_t *a, const char *s, size_t len) {
  sg_sstr_t r = {parry_arena_new(a, uint16_t, len + 1), 0};
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '\\' && i + 1 < len && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
      r.t[r.n++] = (uint8_t)s[++i];
    } else if (c == '*') {
      r.t[r.n++] = SG_TOK_STAR;
    } else if (c == '?') {
      r.t[r.n++] = SG_TOK_QMARK;
    } else {
      r.t[r.n++] = (uint8_t)c;
    }
  }
  return r;
}

sg_sstr_t sg_sstr_plain(parry_arena_t *a, const char *s, size_t len) {
  sg_sstr_t r = {parry_arena_new(a, uint16_t, len + 1), len};
  for (size_t i = 0; i < len; i++) r.t[i] = (uint8_t)s[i];
  return r;
}

bool sg_sstr_has_special(const sg_sstr_t *s) {
  for (size_t i = 0; i < s->n; i++)
    if (s->t[i] > 255) return true;
  return false;
}

sg_pattern_t sg_pattern_compile(parry_arena_t *a, const sg_sstr_t *s, bool cased) {
  sg_pattern_t p = {0};
  p.cased = cased;
  p.lit_id = SG_NO_LIT;
  /* collapse runs of stars, lower literals */
  uint16_t *t = parry_arena_new(a, uint16_t, s->n + 1);
  size_t n = 0, stars = 0, others = 0;
  for (size_t i = 0; i < s->n; i++) {
    uint16_t c = s->t[i];
    if (c == SG_TOK_STAR && n && t[n - 1] == SG_TOK_STAR) continue;
    if (c < 256 && !cased) c = (uint8_t)sg_lower((char)c);
    if (c == SG_TOK_STAR) stars++;
    if (c == SG_TOK_QMARK || c == SG_TOK_DASH) others++;
    t[n++] = c;
  }
  p.tok = t;
  p.n_tok = n;
  bool lead = n && t[0] == SG_TOK_STAR, trail = n && t[n - 1] == SG_TOK_STAR;
  size_t inner_stars = stars - lead - (trail && n > 1);
  if (others == 0 && inner_stars == 0) {
    size_t from = lead, to = n - (trail && n > 1 ? 1 : 0);
    if (lead && n == 1) to = 1;
    char *lit = parry_arena_alloc(a, to > from ? to - from + 1 : 1);
    size_t len = 0;
    for (size_t i = from; i < to; i++) lit[len++] = (char)t[i];
    lit[len] = 0;
    p.lit = lit;
    p.lit_len = len;
    if (!lead && !trail) p.kind = SG_PAT_EXACT;
    else if (lead && trail && len == 0) p.kind = SG_PAT_ANY;
    else if (lead && trail) p.kind = SG_PAT_CONTAINS;
    else if (lead) p.kind = SG_PAT_SUFFIX;
    else p.kind = SG_PAT_PREFIX;
    return p;
  }
  p.kind = SG_PAT_GLOB;
  return p;
}

static size_t utf8_width(const char *s, size_t avail) {
  uint8_t c = (uint8_t)s[0];
  size_t w = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return w > avail ? avail : w;
}

/* Bytes the token consumes at s, or 0 if it does not match there. */
static size_t atom(uint16_t t, const char *s, size_t avail) {
  if (!avail) return 0;
  if (t < 256) return (uint8_t)s[0] == t ? 1 : 0;
  if (t == SG_TOK_QMARK) return utf8_width(s, avail);
  /* SG_TOK_DASH: - / en dash, em dash, horizontal bar (U+2013..U+2015) */
  if (s[0] == '-' || s[0] == '/') return 1;
  if (avail >= 3 && (uint8_t)s[0] == 0xE2 && (uint8_t)s[1] == 0x80 && (uint8_t)s[2] >= 0x93 &&
      (uint8_t)s[2] <= 0x95)
    return 3;
  return 0;
}

static bool glob(const uint16_t *tok, size_t nt, const char *s, size_t len) {
  size_t ti = 0, si = 0, star_t = SIZE_MAX, star_s = 0;
  while (si < len) {
    if (ti < nt) {
      if (tok[ti] == SG_TOK_STAR) {
        star_t = ti++;
        star_s = si;
        continue;
      }
      size_t w = atom(tok[ti], s + si, len - si);
      if (w) {
        ti++;
        si += w;
        continue;
      }
    }
    if (star_t == SIZE_MAX) return false;
    ti = star_t + 1;
    star_s += utf8_width(s + star_s, len - star_s);
    si = star_s;
  }
  while (ti < nt && tok[ti] == SG_TOK_STAR) ti++;
  return ti == nt;
}

bool sg_pattern_match(const sg_pattern_t *p, const char *text, size_t len) {
  switch (p->kind) {
  case SG_PAT_EXACT: return len == p->lit_len && !memcmp(text, p->lit, len);
  case SG_PAT_PREFIX: return len >= p->lit_len && !memcmp(text, p->lit, p->lit_len);
  case SG_PAT_SUFFIX:
    return len >= p->lit_len && !memcmp(text + len - p->lit_len, p->lit, p->lit_len);
  case SG_PAT_CONTAINS:
    return len >= p->lit_len && (p->lit_len == 0 || memmem(text, len, p->lit, p->lit_len));
  case SG_PAT_ANY: return true;
  default: return glob(p->tok, p->n_tok, text, len);
  }
}

void sg_pattern_best_literal(const sg_pattern_t *p, const char **lit, size_t *len,
                             parry_arena_t *a) {
  const uint16_t *t = p->tok;
  size_t best = 0, best_len = 0, run = 0;
  for (size_t i = 0; i <= p->n_tok; i++) {
    if (i < p->n_tok && t[i] < 256) {
      run++;
      continue;
    }
    if (run > best_len) best = i - run, best_len = run;
    run = 0;
  }
  char *out = parry_arena_alloc(a, best_len + 1);
  for (size_t i = 0; i < best_len; i++) out[i] = sg_lower((char)t[best + i]);
  out[best_len] = 0;
  *lit = out;
  *len = best_len;
}
