/* Per-key state as bytes for the compacted changelog, and back.
 *
 * Format version 2, little-endian, no padding:
 *   "PC" u8 version=2 u8 type u32 rule-fingerprint u8 flags(bit0 eager)
 *   i64 max_ts  i64 suppress_until  u32 suppressed  i64 win_start
 *   u64 aggregate (sum as IEEE-754 bits, or temporal bitmask)  u64 total
 *   u32 n, then n entries (oldest first), each 1 or 2 u64/i64 words by type
 *   u32 n_refs, then n_refs x (i64 ts, u8 len, id bytes): a packed id
 *       (engine_int.h): len 0x80|16 = the id was 32 lower-case hex digits,
 *       kept as 16 bytes; else len <= 127 bytes of id text
 *   u32 n_pend, then n_pend x (i64 ts, [u8 input: only when the rule has
 *                              several], [u64 value word: value_* rules only;
 *                              the value hash or the number's bits], u8 len,
 *                              id bytes packed as in references)
 *       (a key with lateness writes its whole reorder buffer on every
 *       update: every byte of a pending record counts)
 * Version 1 (read only, so changelogs written before the upgrade restore)
 * differs in the pending records: i64 ts, u32 input, u64 number bits, u64
 * value hash, u8 len, id text.
 * The fingerprint covers what the layout depends on (type, timespan,
 * thresholds, rule counts): state written for a different version of a rule
 * is refused rather than misread. Everything is bounds-checked on reading;
 * corrupt bytes are an error, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "window/engine_int.h"

#define STATE_VERSION 2
#define STATE_VERSION_MIN 1 /* oldest version still read */

/* Writers into room reserved beforehand: a key with lateness serializes
 * its whole reorder buffer on every update, so this is on the hot path. */
static inline uint8_t *w8(uint8_t *p, uint8_t v) {
  *p = v;
  return p + 1;
}
static inline uint8_t *w32(uint8_t *p, uint32_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  memcpy(p, &v, 4);
  return p + 4;
}
static inline uint8_t *w64(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  memcpy(p, &v, 8);
  return p + 8;
}

static bool ts_ok(int64_t t) { return t == CORR_NONE || (t >= -CORR_TS_MAX && t <= CORR_TS_MAX); }

/* words per entry */
static size_t entry_words(const corr_rule_t *r) { return corr_entry_size(r) / 8; }

/* Whether pending signals of rule carry a value (value_* rules). */
static bool pend_has_value(const corr_rule_t *rule) {
  return rule->type == CT_VALUE_COUNT || rule->type == CT_VALUE_PERCENTILE ||
         rule->type == CT_VALUE_SUM || rule->type == CT_VALUE_AVG;
}

void corr_state_write(const corr_rule_t *rule, const corr_rec_t *rec, parry_buf_t *out) {
  size_t w = entry_words(rule);
  const corr_extra_t *x = rec->x;
  size_t size = 53 + 4 + (size_t)rec->n * w * 8 + 4 + (x ? x->refs_len : 0) + 4;
  bool multi = rule->n_inputs > 1, valued = pend_has_value(rule);
  size_t fixed = 9 + (multi ? 1 : 0) + (valued ? 8 : 0);
  for (uint32_t i = 0; x && i < x->n_pend; i++) size += fixed + CORR_ID_LEN(corr_pend_at(x, i)->idlen);
  if (parry_buf_reserve(out, size) != PARRY_OK) abort(); /* the state buffer has no cap */
  uint8_t *p = (uint8_t *)out->data + out->len;
  p = w8(p, 'P');
  p = w8(p, 'C');
  p = w8(p, STATE_VERSION);
  p = w8(p, (uint8_t)rule->type);
  p = w32(p, rule->fingerprint);
  p = w8(p, rule->eager ? 1 : 0);
  p = w64(p, (uint64_t)rec->max_ts);
  p = w64(p, (uint64_t)rec->suppress_until);
  p = w32(p, rec->suppressed);
  p = w64(p, (uint64_t)rec->win_start);
  p = w64(p, rec->a.mask);
  p = w64(p, rec->total);
  p = w32(p, rec->n);
  const uint64_t *ent = (const uint64_t *)corr_entries((corr_rec_t *)rec);
  for (uint32_t i = 0; i < rec->n; i++) {
    size_t at = rec->cap ? (size_t)((rec->head + i) % rec->cap) : i;
    for (size_t k = 0; k < w; k++) p = w64(p, ent[at * w + k]);
  }
  p = w32(p, x ? x->n_refs : 0);
  if (x && x->refs_len) {
    memcpy(p, x->refs, x->refs_len);
    p += x->refs_len;
  }
  p = w32(p, x ? x->n_pend : 0);
  for (uint32_t i = 0; x && i < x->n_pend; i++) {
    const corr_pend_t *q = corr_pend_at(x, i);
    size_t l = CORR_ID_LEN(q->idlen);
    p = w64(p, (uint64_t)q->ts);
    if (multi) p = w8(p, q->input);
    if (valued) p = w64(p, q->v.vh);
    p = w8(p, q->idlen);
    if (q->idlen == (CORR_ID_HEX | 16))
      memcpy(p, q->id.raw, 16); /* the usual id: a fixed-size copy */
    else
      memcpy(p, corr_pend_bytes(q), l);
    p += l;
  }
  out->len = (size_t)(p - (uint8_t *)out->data);
  out->data[out->len] = 0;
}

typedef struct {
  const uint8_t *p;
  size_t left;
  bool bad;
} rd_t;

static uint64_t get(rd_t *r, int bytes) {
  if (r->bad || r->left < (size_t)bytes) {
    r->bad = true;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[i] << (8 * i);
  r->p += bytes;
  r->left -= (size_t)bytes;
  return v;
}

corr_rec_t *corr_state_read(const corr_rule_t *rule, const char *key, size_t keylen,
                            const uint8_t *b, size_t len, char *errstr, size_t n) {
  rd_t r = {b, len, false};
  if (!b) {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: no bytes");
    return NULL;
  }
  if (get(&r, 1) != 'P' || get(&r, 1) != 'C') {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: not correlation state");
    return NULL;
  }
  uint64_t ver = get(&r, 1);
  if (r.bad || ver < STATE_VERSION_MIN || ver > STATE_VERSION) {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: state version %u, expected %d",
               (unsigned)ver, STATE_VERSION);
    return NULL;
  }
  uint64_t type = get(&r, 1), fp = get(&r, 4), flags = get(&r, 1);
  if (r.bad || type != (uint64_t)rule->type || fp != rule->fingerprint ||
      flags != (rule->eager ? 1u : 0u)) {
    parry_fail(errstr, n, PARRY_ERR_INVALID,
               "restore: state written for another version of rule \"%s\"", rule->info.key);
    return NULL;
  }
  int64_t max_ts = (int64_t)get(&r, 8), sup_until = (int64_t)get(&r, 8);
  uint32_t suppressed = (uint32_t)get(&r, 4);
  int64_t win_start = (int64_t)get(&r, 8);
  uint64_t agg = get(&r, 8), total = get(&r, 8);
  uint32_t cnt = (uint32_t)get(&r, 4);
  size_t w = entry_words(rule);
  bool temporal = rule->eager && (rule->type == CT_TEMPORAL || rule->type == CT_TEMPORAL_ORDERED);
  uint64_t maxn = temporal ? rule->n_inputs : w == 0 ? 0 : rule->unbounded ? UINT32_MAX : rule->cap;
  if (r.bad || cnt > maxn || (temporal && cnt != rule->n_inputs) ||
      (w && (uint64_t)cnt * w * 8 > r.left)) {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: %u entries do not fit rule \"%s\"", cnt,
               rule->info.key);
    return NULL;
  }
  if (!rule->eager && rule->type == CT_TEMPORAL && rule->n_inputs < 64 &&
      (agg >> rule->n_inputs) != 0) {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: temporal mask names unknown rules");
    return NULL;
  }
  corr_rec_t *rec = parry_xcalloc(1, corr_rec_head(keylen) + (size_t)cnt * w * 8);
  rec->keylen = (uint16_t)keylen;
  memcpy(rec->key, key, keylen);
  rec->key[keylen] = 0;
  rec->n = rec->cap = cnt;
  rec->max_ts = max_ts;
  rec->suppress_until = sup_until;
  rec->suppressed = suppressed;
  rec->win_start = win_start;
  rec->a.mask = agg;
  rec->total = total;
  uint64_t *ent = corr_entries(rec);
  for (size_t i = 0; i < (size_t)cnt * w; i++) ent[i] = get(&r, 8);
  /* times must be in the range feed() accepts, so arithmetic stays defined */
  bool times_ok = ts_ok(max_ts) && ts_ok(sup_until) && ts_ok(win_start);
  int ts_word = -1;
  if (rule->eager) ts_word = rule->type == CT_VALUE_COUNT ? 1 : 0;
  for (uint32_t i = 0; ts_word >= 0 && i < cnt; i++)
    times_ok = times_ok && ts_ok((int64_t)ent[(size_t)i * w + (size_t)ts_word]);
  if (!times_ok) {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: time out of range in state of \"%s\"", key);
    corr_rec_free(rec);
    return NULL;
  }

  uint32_t nref = (uint32_t)get(&r, 4);
  if (!r.bad && nref) {
    const uint8_t *start = r.p;
    for (uint32_t i = 0; i < nref && !r.bad; i++) {
      get(&r, 8);
      size_t l = (size_t)get(&r, 1);
      if ((l & 0x80) && l != (0x80 | 16)) r.bad = true; /* packed hex ids are 16 bytes */
      l &= 0x7f;
      if (r.left < l) r.bad = true;
      else {
        r.p += l;
        r.left -= l;
      }
    }
    if (!r.bad) {
      size_t rl = (size_t)(r.p - start);
      corr_extra_t *x = parry_xcalloc(1, sizeof *x + rl);
      rec->x = x;
      x->refs_len = x->refs_cap = (uint32_t)rl;
      memcpy(x->refs, start, rl);
      x->n_refs = nref;
    }
  }
  uint32_t npend = (uint32_t)get(&r, 4);
  bool multi = rule->n_inputs > 1, valued = pend_has_value(rule);
  /* bytes of the smallest pending record */
  size_t smallest = ver == 1 ? 29 : 9 + (multi ? 1 : 0) + (valued ? 8 : 0);
  if (!r.bad && npend) {
    if ((uint64_t)npend * smallest > r.left || npend > (1u << 30)) r.bad = true;
  }
  if (!r.bad && npend) {
    if (!rec->x) rec->x = parry_xcalloc(1, sizeof *rec->x);
    corr_extra_t *x = rec->x;
    uint32_t cap = 4;
    while (cap < npend) cap *= 2; /* npend <= 2^30: no overflow */
    x->pend = parry_xnew(corr_pend_t, cap);
    x->cap_pend = cap;
    bool num_rule = rule->type == CT_VALUE_SUM || rule->type == CT_VALUE_AVG;
    for (uint32_t i = 0; i < npend && !r.bad; i++) {
      corr_pend_t p = {0};
      p.ts = (int64_t)get(&r, 8);
      uint64_t input = 0;
      if (ver == 1) {
        input = get(&r, 4);
        uint64_t num = get(&r, 8), vh = get(&r, 8);
        p.v.vh = num_rule ? num : vh;
      } else {
        if (multi) input = get(&r, 1);
        if (valued) p.v.vh = get(&r, 8);
      }
      uint8_t idlen = (uint8_t)get(&r, 1);
      size_t l = CORR_ID_LEN(idlen);
      bool packed = (idlen & CORR_ID_HEX) != 0;
      if (ver == 1 && packed) r.bad = true; /* version 1 kept text here */
      if (packed && l != 16) r.bad = true;
      if (r.bad || r.left < l || input >= rule->n_inputs || !ts_ok(p.ts) || p.ts == CORR_NONE ||
          (!packed && memchr(r.p, 0, l))) { /* id text never holds NUL */
        r.bad = true;
        break;
      }
      p.input = (uint8_t)input;
      uint8_t hexbuf[16];
      const uint8_t *idb = r.p;
      if (ver == 1) idb = corr_id_pack((const char *)r.p, l, hexbuf, &idlen);
      corr_pend_set_id(&p, idlen, idb);
      r.p += l;
      r.left -= l;
      x->pend[x->n_pend++] = p;
    }
    /* must be in release order, as the engine keeps them */
    for (uint32_t i = 1; i < x->n_pend && !r.bad; i++) {
      const corr_pend_t *pa = &x->pend[i - 1], *pb = &x->pend[i];
      int c = pa->ts != pb->ts ? (pa->ts < pb->ts ? -1 : 1)
              : pa->input != pb->input ? (pa->input < pb->input ? -1 : 1)
              : corr_id_cmp(pa->idlen, corr_pend_bytes(pa), pb->idlen, corr_pend_bytes(pb));
      if (c > 0) r.bad = true;
    }
  }
  if (r.bad || r.left) {
    parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: state of \"%s\" is truncated or corrupt",
               key);
    corr_rec_free(rec);
    return NULL;
  }
  return rec;
}
