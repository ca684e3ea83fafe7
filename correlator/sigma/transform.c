/* Transformations of Sigma token strings: the position modifiers, windash,
 * the encoders (base64, base64offset, utf16*) and placeholder expansion.
 * Each is a pure function from token strings to token strings in the
 * ruleset arena; modifiers.c applies them in the order a rule writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

/* ---- small encoders ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = b64[(v >> 18) & 63];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? b64[v & 63] : '=';
  }
  return o;
}

/* Decode one UTF-8 code point; invalid bytes stand for themselves (Latin-1). */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *i) {
  uint8_t c = s[*i];
  size_t w = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (w <= 1 || *i + w > n) {
    (*i)++;
    return c;
  }
  uint32_t cp = c & (0xFF >> (w + 1));
  for (size_t k = 1; k < w; k++) {
    if ((s[*i + k] & 0xC0) != 0x80) {
      (*i)++;
      return c;
    }
    cp = (cp << 6) | (s[*i + k] & 0x3F);
  }
  *i += w;
  return cp;
}

/* ---- token strings ---- */

void sg_sstrs_push(sg_sstrs_t *l, sg_sstr_t s) {
  l->v = sg_grow(l->v, &l->cap, l->n, sizeof *l->v);
  l->v[l->n++] = s;
}

static sg_sstr_t sstr_new(parry_arena_t *a, size_t cap) {
  return (sg_sstr_t){parry_arena_new(a, uint16_t, cap + 1), 0};
}

static bool is_word_tok(uint16_t t) {
  return t < 256 && ((t >= '0' && t <= '9') || (t >= 'a' && t <= 'z') || (t >= 'A' && t <= 'Z') ||
                     t == '_');
}

static bool is_multibyte_dash(const sg_sstr_t *s, size_t i) {
  return i + 2 < s->n && s->t[i] == 0xE2 && s->t[i + 1] == 0x80 && s->t[i + 2] >= 0x93 &&
         s->t[i + 2] <= 0x95;
}

/* A dash that starts a word becomes the windash class. */
sg_sstr_t sg_tr_windash(parry_arena_t *a, const sg_sstr_t *s) {
  sg_sstr_t r = sstr_new(a, s->n);
  for (size_t i = 0; i < s->n; i++) {
    size_t w = (s->t[i] == '-' || s->t[i] == '/') ? 1 : is_multibyte_dash(s, i) ? 3 : 0;
    bool prev_ok = i == 0 || !is_word_tok(s->t[i - 1]);
    if (w && prev_ok && i + w < s->n && is_word_tok(s->t[i + w])) {
      r.t[r.n++] = SG_TOK_DASH;
      i += w - 1;
    } else {
      r.t[r.n++] = s->t[i];
    }
  }
  return r;
}

/* Replace each windash class by each of the five dashes (for encoders). */
int sg_tr_dash_forms(parry_arena_t *a, const sg_sstr_t *s, sg_sstrs_t *out, sg_err_t *e,
                         const parry_sigma_node_t *at) {
  static const char *const dashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) k += s->t[i] == SG_TOK_DASH;
  size_t forms = 1;
  for (size_t i = 0; i < k; i++)
    if ((forms *= 5) > SG_MAX_WINDASH_FORMS)
      return sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at,
                     "windash before an encoder would make more than %d forms", SG_MAX_WINDASH_FORMS);
  for (size_t f = 0; f < forms; f++) {
    sg_sstr_t r = sstr_new(a, s->n * 3);
    size_t sel = f;
    for (size_t i = 0; i < s->n; i++) {
      if (s->t[i] != SG_TOK_DASH) {
        r.t[r.n++] = s->t[i];
        continue;
      }
      for (const char *d = dashes[sel % 5]; *d; d++) r.t[r.n++] = (uint8_t)*d;
      sel /= 5;
    }
    sg_sstrs_push(out, r);
  }
  return 0;
}

sg_sstr_t sg_tr_stars(parry_arena_t *a, const sg_sstr_t *s, bool lead, bool trail) {
  sg_sstr_t r = sstr_new(a, s->n + 2);
  if (lead && !(s->n && s->t[0] == SG_TOK_STAR)) r.t[r.n++] = SG_TOK_STAR;
  memcpy(r.t + r.n, s->t, s->n * sizeof *s->t);
  r.n += s->n;
  if (trail && !(r.n && r.t[r.n - 1] == SG_TOK_STAR)) r.t[r.n++] = SG_TOK_STAR;
  return r;
}

uint8_t *sg_sstr_bytes(parry_arena_t *a, const sg_sstr_t *s) {
  uint8_t *b = parry_arena_alloc(a, s->n + 1);
  for (size_t i = 0; i < s->n; i++) b[i] = (uint8_t)s->t[i];
  return b;
}

/* UTF-16 of the literal runs; wildcards stay wildcards. */
sg_sstr_t sg_tr_utf16(parry_arena_t *a, const sg_sstr_t *s, bool be, bool bom) {
  sg_sstr_t r = sstr_new(a, s->n * 4 + 2);
  if (bom) r.t[r.n++] = 0xFF, r.t[r.n++] = 0xFE;
  uint8_t *bytes = sg_sstr_bytes(a, s);
  for (size_t i = 0; i < s->n;) {
    if (s->t[i] > 255) {
      r.t[r.n++] = s->t[i++];
      continue;
    }
    size_t j = i;
    while (j < s->n && s->t[j] < 256) j++;
    for (size_t k = i; k < j;) {
      uint32_t cp = utf8_next(bytes, j, &k);
      uint16_t units[2];
      size_t nu = 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        units[0] = (uint16_t)(0xD800 | (cp >> 10));
        units[1] = (uint16_t)(0xDC00 | (cp & 0x3FF));
        nu = 2;
      } else {
        units[0] = (uint16_t)cp;
      }
      for (size_t u = 0; u < nu; u++) {
        r.t[r.n++] = be ? units[u] >> 8 : units[u] & 0xFF;
        r.t[r.n++] = be ? units[u] & 0xFF : units[u] >> 8;
      }
    }
    i = j;
  }
  return r;
}

sg_sstr_t sg_tr_base64(parry_arena_t *a, const sg_sstr_t *s) {
  uint8_t *bytes = sg_sstr_bytes(a, s);
  char *enc = parry_arena_alloc(a, (s->n + 2) / 3 * 4 + 1);
  size_t len = base64_encode(bytes, s->n, enc);
  return sg_sstr_plain(a, enc, len);
}

/* The value at offsets 0, 1 and 2 of a Base64 stream: encode it after 0..2
 * filler bytes, drop the characters that depend on the filler (2 or 3 at
 * the start) and the one that depends on what follows the value (with the
 * padding), as the modifiers appendix describes. */
void sg_tr_base64offset(parry_arena_t *a, const sg_sstr_t *s, sg_sstrs_t *out) {
  static const size_t start[3] = {0, 2, 3}, end_cut[3] = {0, 3, 2};
  uint8_t *bytes = sg_sstr_bytes(a, s);
  for (size_t shift = 0; shift < 3; shift++) {
    uint8_t *shifted = parry_arena_alloc(a, s->n + 3);
    memset(shifted, 0, shift);
    memcpy(shifted + shift, bytes, s->n);
    size_t n = s->n + shift;
    char *enc = parry_arena_alloc(a, (n + 2) / 3 * 4 + 1);
    size_t len = base64_encode(shifted, n, enc);
    size_t cut = end_cut[n % 3];
    if (len >= start[shift] + cut)
      sg_sstrs_push(out, sg_sstr_plain(a, enc + start[shift], len - start[shift] - cut));
  }
}

static const parry_sigma_placeholder_t *find_placeholder(const parry_sigma_ruleset_t *rs,
                                                         const char *name, size_t len) {
  for (size_t i = 0; i < rs->n_placeholders; i++)
    if (strlen(rs->placeholders[i].name) == len && !strncasecmp(rs->placeholders[i].name, name, len))
      return &rs->placeholders[i];
  return NULL;
}

/* Append bytes to every raw text in the list. */
static void append_all(parry_arena_t *a, sg_sstrs_t *l, const char *add, size_t len) {
  if (!len) return;
  for (size_t c = 0; c < l->n; c++) {
    sg_sstr_t r = sstr_new(a, l->v[c].n + len);
    memcpy(r.t, l->v[c].t, l->v[c].n * sizeof *r.t);
    r.n = l->v[c].n;
    for (size_t k = 0; k < len; k++) r.t[r.n++] = (uint8_t)add[k];
    l->v[c] = r;
  }
}

/* Expand %name% placeholders in raw text into raw texts (token strings of
 * plain bytes). Returns -1 on error, 1 when the value matches nothing (the
 * no-match policy, or a placeholder with no values), else 0. */
int sg_tr_expand(sg_cc_t *cc, const parry_sigma_node_t *at, const char *s, size_t len,
                 sg_sstrs_t *raw, sg_err_t *e) {
  parry_arena_t *a = &cc->rs->arena;
  sg_sstrs_t cur = {0};
  sg_sstrs_push(&cur, sg_sstr_plain(a, "", 0));
  int rc = 0;
  size_t i = 0;
  while (i < len && rc == 0) {
    size_t j = i;
    while (j < len && s[j] != '%' && !(s[j] == '\\' && j + 1 < len && s[j + 1] == '%')) j++;
    append_all(a, &cur, s + i, j - i);
    i = j;
    if (i >= len) break;
    if (s[i] == '\\') { /* \% is a plain percent */
      append_all(a, &cur, "%", 1);
      i += 2;
      continue;
    }
    const char *end = memchr(s + i + 1, '%', len - i - 1);
    size_t nlen = end ? (size_t)(end - s) - i - 1 : 0;
    if (!end || nlen == 0) { /* a lone percent, or %% */
      append_all(a, &cur, "%", 1);
      i++;
      continue;
    }
    const parry_sigma_placeholder_t *ph = find_placeholder(cc->rs, s + i + 1, nlen);
    i += nlen + 2;
    if (!ph) {
      switch (cc->rs->unknown_placeholder) {
      case PARRY_SIGMA_PLACEHOLDER_REJECT:
        rc = sg_fail(e, PARRY_SIGMA_REJECT_PLACEHOLDER, at, "unknown placeholder %%%.*s%%",
                     (int)(nlen > 80 ? 80 : nlen), end - nlen);
        break;
      case PARRY_SIGMA_PLACEHOLDER_NO_MATCH: rc = 1; break;
      case PARRY_SIGMA_PLACEHOLDER_WILDCARD: append_all(a, &cur, "*", 1); break;
      }
      continue;
    }
    if (ph->n_values == 0) {
      rc = 1;
      break;
    }
    if (cur.n * ph->n_values > SG_MAX_EXPANSION) {
      rc = sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at, "placeholders expand to more than %d values",
                   SG_MAX_EXPANSION);
      break;
    }
    sg_sstrs_t next = {0};
    for (size_t v = 0; v < ph->n_values; v++) {
      sg_sstrs_t one = {0};
      for (size_t c = 0; c < cur.n; c++) sg_sstrs_push(&one, cur.v[c]);
      append_all(a, &one, ph->values[v], strlen(ph->values[v]));
      for (size_t c = 0; c < one.n; c++) sg_sstrs_push(&next, one.v[c]);
      free(one.v);
    }
    free(cur.v);
    cur = next;
  }
  if (rc == 0)
    for (size_t c = 0; c < cur.n; c++) sg_sstrs_push(raw, cur.v[c]);
  free(cur.v);
  return rc;
}

