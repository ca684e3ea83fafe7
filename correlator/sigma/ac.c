/* Aho-Corasick over bytes, compiled to a dense DFA.
 *
 * Bytes that occur in no literal share one input class, so a row has only
 * as many cells as the literals have distinct bytes (about 60 for
 * lower-cased command lines, paths and registry keys), not 256; see
 * make_classes for bytes >= 0x80. Cells hold
 * the next state's row offset (premultiplied, so the scan loop has no
 * multiply) with the top bit set when that state ends a literal directly
 * or through its suffix chain; only then does the scan leave its tight
 * loop. States are numbered breadth-first, so the shallow states the scan
 * visits most sit together at the start of the table.
 *
 * Scans run over the original text when the automaton folds case (see
 * make_classes), and skip, at the root, the bytes that lead straight back
 * to it (stay0) without the dependent table load. Automata under 2^15
 * cells use 16-bit cells (delta16).
 */
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

#define NONE UINT32_MAX
#define HIT 0x80000000u
#define HIT16 0x8000u

typedef struct {
  uint32_t child, sibling, out_head;
  uint8_t label; /* input class */
} tnode_t;

typedef struct {
  const char *lit;
  size_t len;
  uint32_t id;
} pending_t;

struct sg_ac_builder {
  pending_t *lits;
  size_t n, cap;
};

struct sg_ac {
  uint32_t n_states, n_classes;
  bool folds; /* 'A'..'Z' share the classes of 'a'..'z' (no literal has upper case) */
  uint8_t cls[256];
  uint8_t stay0[256]; /* 1: from the root, this byte leads back to the root */
  uint32_t *delta;    /* n_states * n_classes */
  uint16_t *delta16;  /* the same in 16 bits (HIT16), when it fits, else NULL */
  uint32_t *out_off;  /* outputs of state s: ids[out_off[s] .. out_off[s + 1]) */
  uint32_t *ids;
  uint32_t *dict;     /* next state on the suffix chain with outputs, or NONE */
};

sg_ac_builder_t *sg_ac_builder_new(void) { return parry_xnew(sg_ac_builder_t, 1); }

/* The literal pointer must stay valid until sg_ac_build. */
void sg_ac_builder_add(sg_ac_builder_t *b, const char *lit, size_t len, uint32_t id) {
  if (!len) return;
  b->lits = sg_grow(b->lits, &b->cap, b->n, sizeof *b->lits);
  b->lits[b->n++] = (pending_t){lit, len, id};
}

/* Input classes: each ASCII byte some literal uses gets its own; bytes from
 * 0x80 share four classes by UTF-8 role (continuation, 2-, 3-, 4-byte lead).
 * Merging bytes only makes the automaton report a superset of the true
 * hits, which is all a prefilter needs, and keeps rows short when rules
 * list emoji or other non-ASCII text. */
static void make_classes(sg_ac_t *ac, const sg_ac_builder_t *b) {
  bool used[256] = {false};
  for (size_t i = 0; i < b->n; i++)
    for (size_t k = 0; k < b->lits[i].len; k++) used[(uint8_t)b->lits[i].lit[k]] = true;
  uint32_t nc = 1;
  uint8_t high[4] = {0, 0, 0, 0};
  for (int c = 0; c < 256; c++) {
    if (c < 0x80) {
      ac->cls[c] = used[c] ? (uint8_t)nc++ : 0;
      continue;
    }
    int g = c < 0xC0 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (used[c] && !high[g]) high[g] = (uint8_t)nc++;
  }
  for (int c = 0x80; c < 256; c++) ac->cls[c] = high[c < 0xC0 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3];
  ac->n_classes = nc;
  /* Literals are lower-cased (ASCII only, as sg_lower), so when none has
   * an upper-case byte, giving 'A'..'Z' the classes of 'a'..'z' makes a
   * scan of the original text walk exactly the states a scan of its
   * lowered copy would: callers then skip making that copy. */
  bool upper = false;
  for (int c = 'A'; c <= 'Z'; c++) upper |= used[c];
  ac->folds = !upper;
  if (ac->folds)
    for (int c = 'A'; c <= 'Z'; c++) ac->cls[c] = ac->cls[c + 32];
}

bool sg_ac_folds(const sg_ac_t *ac) { return ac->folds; }

sg_ac_t *sg_ac_build(sg_ac_builder_t *b) {
  sg_ac_t *ac = parry_xnew(sg_ac_t, 1);
  make_classes(ac, b);
  uint32_t nc = ac->n_classes;

  /* the trie over classes; outputs chained through `next_out` */
  tnode_t *t = NULL;
  size_t n = 0, cap = 0;
  uint32_t *next_out = parry_xnew(uint32_t, b->n + 1);
  t = sg_grow(t, &cap, n, sizeof *t);
  t[n++] = (tnode_t){NONE, NONE, NONE, 0};
  for (size_t i = 0; i < b->n; i++) {
    uint32_t s = 0;
    for (size_t k = 0; k < b->lits[i].len; k++) {
      uint8_t c = ac->cls[(uint8_t)b->lits[i].lit[k]];
      uint32_t kid = t[s].child;
      while (kid != NONE && t[kid].label != c) kid = t[kid].sibling;
      if (kid == NONE) {
        t = sg_grow(t, &cap, n, sizeof *t);
        kid = (uint32_t)n++;
        t[kid] = (tnode_t){NONE, t[s].child, NONE, c};
        t[s].child = kid;
      }
      s = kid;
    }
    next_out[i] = t[s].out_head;
    t[s].out_head = (uint32_t)i;
  }
  ac->n_states = (uint32_t)n;
  if ((uint64_t)n * nc >= HIT) abort(); /* caps keep automata far below 2^31 cells */

  /* breadth-first numbering */
  uint32_t *order = parry_xnew(uint32_t, n), *num = parry_xnew(uint32_t, n);
  size_t head = 0, tail = 0;
  order[tail++] = 0;
  while (head < tail) {
    uint32_t s = order[head++];
    for (uint32_t k = t[s].child; k != NONE; k = t[k].sibling) order[tail++] = k;
  }
  for (size_t i = 0; i < n; i++) num[order[i]] = (uint32_t)i;

  /* outputs, by new number */
  ac->out_off = parry_xnew(uint32_t, n + 1);
  ac->ids = parry_xnew(uint32_t, b->n + 1);
  uint32_t k_out = 0;
  for (size_t i = 0; i < n; i++) {
    ac->out_off[i] = k_out;
    for (uint32_t o = t[order[i]].out_head; o != NONE; o = next_out[o]) ac->ids[k_out++] = b->lits[o].id;
  }
  ac->out_off[n] = k_out;

  ac->delta = parry_xnew(uint32_t, (size_t)n * nc);
  ac->dict = parry_xnew(uint32_t, n);
  uint32_t *fail = parry_xnew(uint32_t, n);
  for (size_t i = 0; i < n; i++) {
    uint32_t s = order[i];
    uint32_t *row = ac->delta + i * nc;
    const uint32_t *frow = i ? ac->delta + (size_t)fail[i] * nc : NULL;
    for (uint32_t c = 0; c < nc; c++) row[c] = frow ? frow[c] : 0;
    for (uint32_t k = t[s].child; k != NONE; k = t[k].sibling) {
      uint32_t kn = num[k];
      fail[kn] = i ? frow[t[k].label] / nc : 0;
      row[t[k].label] = kn * nc;
    }
    uint32_t f = fail[i];
    bool f_out = ac->out_off[f + 1] > ac->out_off[f];
    ac->dict[i] = i == 0 ? NONE : f_out ? f : ac->dict[f];
  }
  for (size_t i = 0; i < (size_t)n * nc; i++) {
    uint32_t st = ac->delta[i] / nc;
    if (ac->out_off[st + 1] > ac->out_off[st] || ac->dict[st] != NONE) ac->delta[i] |= HIT;
  }
  /* NUL never stays: sg_ac_scan_cstr's skip loop then stops at the end */
  for (int c = 1; c < 256; c++) ac->stay0[c] = ac->delta[ac->cls[c]] == 0;
  /* small automata (most fields' are) get half-size cells: rows of a
   * quarter of the cache lines */
  if ((uint64_t)n * nc < HIT16) {
    ac->delta16 = parry_xnew(uint16_t, (size_t)n * nc);
    for (size_t i = 0; i < (size_t)n * nc; i++)
      ac->delta16[i] = (uint16_t)((ac->delta[i] & ~HIT) | (ac->delta[i] & HIT ? HIT16 : 0));
  }
  free(fail);
  free(order);
  free(num);
  free(next_out);
  free(t);
  free(b->lits);
  free(b);
  return ac;
}

void sg_ac_free(sg_ac_t *ac) {
  if (!ac) return;
  free(ac->delta);
  free(ac->delta16);
  free(ac->out_off);
  free(ac->ids);
  free(ac->dict);
  free(ac);
}

size_t sg_ac_memory(const sg_ac_t *ac) {
  if (!ac) return 0;
  size_t cells = (size_t)ac->n_states * ac->n_classes;
  return (cells + (size_t)ac->n_states * 3) * sizeof(uint32_t) + (ac->delta16 ? cells * sizeof(uint16_t) : 0);
}

static void report(const sg_ac_t *ac, uint32_t cur, sg_ac_hit_fn fn, void *ctx) {
  uint32_t s = cur / ac->n_classes;
  for (uint32_t k = ac->out_off[s]; k < ac->out_off[s + 1]; k++) fn(ctx, ac->ids[k]);
  for (uint32_t d = ac->dict[s]; d != NONE; d = ac->dict[d])
    for (uint32_t k = ac->out_off[d]; k < ac->out_off[d + 1]; k++) fn(ctx, ac->ids[k]);
}

void sg_ac_scan(const sg_ac_t *ac, const char *text, size_t len, sg_ac_hit_fn fn, void *ctx) {
  const uint8_t *cls = ac->cls;
  const uint8_t *p = (const uint8_t *)text, *end = p + len;
  uint32_t cur = 0;
  if (ac->delta16) {
    const uint16_t *delta = ac->delta16;
    while (p < end) {
      if (!cur)
        while (ac->stay0[*p])
          if (++p == end) return;
      uint32_t nx = delta[cur + cls[*p++]];
      cur = nx & ~HIT16;
      if (nx & HIT16) report(ac, cur, fn, ctx);
    }
    return;
  }
  const uint32_t *delta = ac->delta;
  while (p < end) {
    if (!cur)
      while (ac->stay0[*p])
        if (++p == end) return;
    uint32_t nx = delta[cur + cls[*p++]];
    cur = nx & ~HIT;
    if (nx & HIT) report(ac, cur, fn, ctx);
  }
}

/* sg_ac_scan over a NUL-terminated string, without measuring it first */
void sg_ac_scan_cstr(const sg_ac_t *ac, const char *text, sg_ac_hit_fn fn, void *ctx) {
  const uint8_t *cls = ac->cls;
  const uint8_t *p = (const uint8_t *)text;
  uint32_t cur = 0;
  if (ac->delta16) {
    const uint16_t *delta = ac->delta16;
    for (uint8_t c;;) {
      if (!cur)
        while (ac->stay0[*p]) p++;
      if ((c = *p++) == 0) break;
      uint32_t nx = delta[cur + cls[c]];
      cur = nx & ~HIT16;
      if (nx & HIT16) report(ac, cur, fn, ctx);
    }
    return;
  }
  const uint32_t *delta = ac->delta;
  for (uint8_t c;;) {
    if (!cur)
      while (ac->stay0[*p]) p++;
    if ((c = *p++) == 0) break;
    uint32_t nx = delta[cur + cls[c]];
    cur = nx & ~HIT;
    if (nx & HIT) report(ac, cur, fn, ctx);
  }
}
