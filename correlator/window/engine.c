/* Stage 2 of correlation: per-key windows. See correlate.h for the
 * contract and docs/correlation.md for the exact semantics.
 *
 * Layout: an open-addressing table (linear probing, backward-shift deletion)
 * of pointers to one allocation per key that holds the header, the key and
 * the window entries (engine_int.h). No allocation per update once a key's
 * entries have grown to what its rule needs. */
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "parry/codec.h"
#include "parry/mem.h"
#include "window/engine_int.h"

#define MALLOC_OVERHEAD 16 /* what we charge per allocation on top of its size */

/* Eight bytes as a little-endian word, whatever the host order. */
static inline uint64_t load_le64(const void *p) {
  uint64_t w;
  memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

#define REP8(b) (0x0101010101010101ULL * (uint64_t)(b))

/* A chained signal waiting to be processed (an alert of rule A for rule B). */
typedef struct {
  Parry__V1__Signal sig;
  Parry__V1__Event ev;
  Parry__V1__Value val;
  Parry__V1__Label *labels;
  Parry__V1__Label **lp;
  char *key;
  char *strs; /* owns every string above */
} chain_sig_t;

struct parry_corr_engine {
  const parry_corr_set_t *set;
  parry_corr_options_t opt;
  uintptr_t *slots; /* tagged record pointers (slot_of / REC), 0 = empty */
  size_t cap, count;
  size_t bytes;
  size_t sweep, evict_cursor;
  int64_t *now;     /* per clock: newest signal time seen (idle expiry) */
  uint32_t n_clocks; /* at least 1 */
  parry_corr_stats_t st;
  parry_buf_t keybuf, statebuf;
  chain_sig_t *queue;
  size_t n_queue, cap_queue;
  bool in_queue;
  bool finishing; /* no eviction or expiry while finish() walks the keys */
  /* the previous signal's rule and input: consecutive signals mostly
   * share them, and a string compare is cheaper than hashing the id */
  uint32_t last_ri, last_input;
};

void parry_corr_options_default(parry_corr_options_t *o) {
  memset(o, 0, sizeof *o);
  o->allowed_lateness_ns = 0;
  o->default_suppress_ns = 0;
  o->memory_cap_bytes = 0;
  o->idle_expiry_ns = 3600LL * 1000000000LL;
  o->max_event_refs = 10;
}

size_t corr_entry_size(const corr_rule_t *r) {
  if (r->eager) {
    switch (r->type) {
    case CT_EVENT_COUNT: return sizeof(int64_t);
    case CT_VALUE_COUNT: return sizeof(corr_vc_t);
    case CT_TEMPORAL:
    case CT_TEMPORAL_ORDERED: return sizeof(int64_t);
    case CT_VALUE_SUM: return sizeof(corr_sum_t);
    default: return 0;
    }
  }
  if (r->type == CT_VALUE_COUNT) return sizeof(uint64_t);
  if (r->type == CT_VALUE_PERCENTILE) return sizeof(corr_pct_t);
  return 0;
}

size_t corr_rec_bytes(const corr_rec_t *rec) {
  const corr_extra_t *x = rec->x;
  size_t b = MALLOC_OVERHEAD;
  if (x) {
    b += sizeof *x + x->refs_cap + MALLOC_OVERHEAD;
    if (x->pend) b += x->cap_pend * sizeof(corr_pend_t) + MALLOC_OVERHEAD;
    for (uint32_t i = 0; i < x->n_pend; i++) b += corr_pend_heap(corr_pend_at(x, i));
  }
  return b;
}

void corr_rec_free(corr_rec_t *rec) {
  if (!rec) return;
  if (rec->x) {
    for (uint32_t i = 0; i < rec->x->n_pend; i++) corr_pend_free_id(corr_pend_at(rec->x, i));
    free(rec->x->pend);
    free(rec->x);
  }
  free(rec);
}

static const corr_rule_t *rule_of(const parry_corr_engine_t *e, const corr_rec_t *rec) {
  return &e->set->rules[rec->rule];
}

static size_t rec_size(const parry_corr_engine_t *e, const corr_rec_t *rec) {
  return corr_rec_bytes(rec) + corr_rec_head(rec->keylen) +
         (size_t)rec->cap * corr_entry_size(rule_of(e, rec));
}

/* ---- table ---- */

/* Slots hold the record pointer with 16 bits of its key's hash in the top
 * bits (user-space pointers on Linux use 47): a probe compares the tag and
 * touches the record only on a likely match, which saves a cache miss per
 * collision at millions of keys. */
#define TAG_SHIFT 48
#define PTR_MASK ((UINT64_C(1) << TAG_SHIFT) - 1)
static inline corr_rec_t *REC(uintptr_t s) { return (corr_rec_t *)(s & PTR_MASK); }
static inline uintptr_t tag_of32(uint32_t h32) { return (uintptr_t)(h32 >> 16) << TAG_SHIFT; }
static inline uintptr_t slot_of(const corr_rec_t *r) {
  if ((uintptr_t)r & ~PTR_MASK) abort(); /* cannot happen with Linux user addresses */
  return (uintptr_t)r | tag_of32(r->hash);
}

static size_t probe_start(const parry_corr_engine_t *e, uint64_t h) {
  return (size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (e->cap - 1);
}

static size_t find_slot(const parry_corr_engine_t *e, const char *key, size_t len, uint64_t h,
                        bool *found) {
  size_t i = probe_start(e, h);
  uint32_t h32 = (uint32_t)h;
  uintptr_t tag = tag_of32(h32);
  for (;; i = (i + 1) & (e->cap - 1)) {
    uintptr_t sl = e->slots[i];
    if (!sl) {
      *found = false;
      return i;
    }
    if ((sl & ~PTR_MASK) != tag) continue;
    corr_rec_t *r = REC(sl);
    if (r->hash == h32 && r->keylen == len && memcmp(r->key, key, len) == 0) {
      *found = true;
      return i;
    }
  }
}

/* The table's hash: eight bytes at a time with a final avalanche (the low
 * 32 bits are kept in the record and the slot tag). Only in memory, never
 * written anywhere, so it may change between builds. */
static uint64_t key_hash(const char *key, size_t len) {
  size_t total = len;
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len;
  while (len >= 8) {
    uint64_t w = load_le64(key);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    key += 8;
    len -= 8;
  }
  uint64_t w = 0;
  if (len && total >= 8) {
    w = load_le64(key + len - 8) >> (8 * (8 - len)); /* the last len bytes, overlapping */
  } else {
    for (size_t i = 0; i < len; i++) w |= (uint64_t)(unsigned char)key[i] << (8 * i);
  }
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

static void table_grow(parry_corr_engine_t *e) {
  size_t ocap = e->cap;
  uintptr_t *old = e->slots;
  e->cap = ocap ? ocap * 2 : 1024;
  e->slots = parry_xnew(uintptr_t, e->cap);
  for (size_t i = 0; i < ocap; i++) {
    corr_rec_t *r = REC(old[i]);
    if (!r) continue;
    bool f;
    size_t s = find_slot(e, r->key, r->keylen, key_hash(r->key, r->keylen), &f);
    e->slots[s] = slot_of(r);
  }
  free(old);
  e->bytes += (e->cap - ocap) * sizeof(uintptr_t);
}

/* Remove slot i (backward-shift deletion keeps probe chains intact). */
static void table_remove(parry_corr_engine_t *e, size_t i) {
  size_t j = i;
  e->slots[i] = 0;
  for (;;) {
    j = (j + 1) & (e->cap - 1);
    corr_rec_t *r = REC(e->slots[j]);
    if (!r) break;
    size_t k = probe_start(e, key_hash(r->key, r->keylen));
    /* r may move to i when i lies cyclically in [k, j) */
    bool move = (i <= j) ? (k <= i || k > j) : (k <= i && k > j);
    if (move) {
      e->slots[i] = slot_of(r);
      e->slots[j] = 0;
      i = j;
    }
  }
  e->count--;
}

/* Drop the record in slot i: charge, tombstone (when sink), free. */
static void rec_delete(parry_corr_engine_t *e, size_t i, const parry_corr_sink_t *sink) {
  corr_rec_t *r = REC(e->slots[i]);
  e->bytes -= rec_size(e, r);
  if (sink && sink->state) sink->state(sink->opaque, r->key, NULL, 0);
  table_remove(e, i);
  corr_rec_free(r);
}

static corr_rec_t *rec_new(parry_corr_engine_t *e, uint32_t rule, const char *key, size_t len,
                           uint64_t h) {
  const corr_rule_t *r = &e->set->rules[rule];
  uint32_t cap = 0;
  if (r->eager && (r->type == CT_TEMPORAL || r->type == CT_TEMPORAL_ORDERED))
    cap = (uint32_t)r->n_inputs;
  else if (corr_entry_size(r))
    cap = r->unbounded || r->cap > 4 ? 4 : r->cap;
  corr_rec_t *rec = parry_xcalloc(1, corr_rec_head(len) + (size_t)cap * corr_entry_size(r));
  rec->hash = (uint32_t)h;
  rec->rule = (uint16_t)rule;
  rec->keylen = (uint16_t)len;
  rec->cap = cap;
  rec->max_ts = CORR_NONE;
  rec->suppress_until = CORR_NONE;
  rec->win_start = CORR_NONE;
  memcpy(rec->key, key, len);
  rec->key[len] = 0;
  if (r->eager && (r->type == CT_TEMPORAL || r->type == CT_TEMPORAL_ORDERED)) {
    int64_t *t = corr_entries(rec);
    for (uint32_t i = 0; i < cap; i++) t[i] = CORR_NONE;
    rec->n = cap;
  }
  return rec;
}

/* Make room for one more entry (doubling, up to the rule's cap when it has
 * one); linearizes rings. Returns the record, which may have moved. */
static corr_rec_t *rec_reserve(parry_corr_engine_t *e, size_t slot, corr_rec_t *rec) {
  if (rec->n < rec->cap) return rec;
  const corr_rule_t *r = rule_of(e, rec);
  if (!r->unbounded && rec->cap >= r->cap) return rec; /* at the rule's bound: caller copes */
  size_t es = corr_entry_size(r);
  /* 4 entries first (most keys see few signals), then straight to 16 */
  uint32_t ncap = rec->cap < 4 ? 4 : rec->cap == 4 ? 16 : rec->cap * 2;
  if (!r->unbounded && ncap > r->cap) ncap = r->cap;
  size_t before = rec_size(e, rec);
  /* linearize a ring first so the new space is at the end */
  if (rec->head) {
    char *ent = corr_entries(rec);
    char *tmp = parry_xmalloc((size_t)rec->n * es);
    size_t first = (size_t)(rec->cap - rec->head);
    memcpy(tmp, ent + (size_t)rec->head * es, first * es);
    memcpy(tmp + first * es, ent, (size_t)(rec->n - first) * es);
    memcpy(ent, tmp, (size_t)rec->n * es);
    free(tmp);
    rec->head = 0;
  }
  rec = parry_xrealloc(rec, corr_rec_head(rec->keylen) + (size_t)ncap * es);
  rec->cap = ncap;
  e->slots[slot] = slot_of(rec);
  e->bytes += rec_size(e, rec) - before;
  return rec;
}

/* ---- references ---- */

static corr_extra_t *extra(parry_corr_engine_t *e, corr_rec_t *rec) {
  if (!rec->x) {
    rec->x = parry_xcalloc(1, sizeof *rec->x);
    e->bytes += sizeof *rec->x + MALLOC_OVERHEAD;
  }
  return rec->x;
}


/* Whether all 8 bytes of w are lower-case hex digits. For bytes below 0x80
 * (checked first) x + (0x80 - lo) has its top bit set iff x >= lo, and
 * x + (0x7f - hi) iff x > hi; no carry crosses a byte. */
static inline bool hex8_ok(uint64_t w) {
  const uint64_t H = REP8(0x80);
  if (w & H) return false;
  uint64_t digit = (w + REP8(0x80 - '0')) & ~(w + REP8(0x7f - '9'));
  uint64_t lower = (w + REP8(0x80 - 'a')) & ~(w + REP8(0x7f - 'f'));
  return ((digit | lower) & H) == H;
}

/* 8 valid hex digits (as a little-endian word) -> 4 bytes. */
static inline void hex8(uint64_t w, uint8_t *out) {
  /* digit value per byte: '0'..'9' -> low nibble; 'a'..'f' (0x61..) -> low
   * nibble + 9 */
  uint64_t v = (w & REP8(0x0f)) + 9 * ((w >> 6) & REP8(0x01));
  uint64_t t = ((v << 4) | (v >> 8)) & 0x00ff00ff00ff00ffULL; /* pairs in even bytes */
  t = (t | (t >> 8)) & 0x0000ffff0000ffffULL;
  t = (t | (t >> 16)) & 0xffffffffULL;
  uint32_t t32 = (uint32_t)t;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  t32 = __builtin_bswap32(t32);
#endif
  memcpy(out, &t32, 4);
}

const uint8_t *corr_id_pack(const char *id, size_t len, uint8_t hexbuf[16], uint8_t *idlen) {
  /* every signal's id goes through here: a word at a time */
  if (len == 32) {
    uint64_t w0 = load_le64(id), w1 = load_le64(id + 8), w2 = load_le64(id + 16),
             w3 = load_le64(id + 24);
    if (hex8_ok(w0) && hex8_ok(w1) && hex8_ok(w2) && hex8_ok(w3)) {
      hex8(w0, hexbuf);
      hex8(w1, hexbuf + 4);
      hex8(w2, hexbuf + 8);
      hex8(w3, hexbuf + 12);
      *idlen = (uint8_t)(CORR_ID_HEX | 16);
      return hexbuf;
    }
  }
  *idlen = (uint8_t)(len > CORR_REF_ID_MAX ? CORR_REF_ID_MAX : len);
  return (const uint8_t *)id;
}

/* byte b -> its two hex digits at HEX2 + 2 * b */
static const char HEX2[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

char *corr_id_text(uint8_t idlen, const uint8_t *b, char *buf) {
  size_t l = CORR_ID_LEN(idlen);
  if (idlen & CORR_ID_HEX) {
    for (size_t i = 0; i < l; i++) memcpy(buf + 2 * i, HEX2 + 2 * b[i], 2);
    buf[2 * l] = 0;
  } else {
    memcpy(buf, b, l);
    buf[l] = 0;
  }
  return buf;
}

int corr_id_cmp(uint8_t alen, const uint8_t *a, uint8_t blen, const uint8_t *b) {
  if ((alen & CORR_ID_HEX) && alen == blen) /* hex digits sort as their nibbles */
    return memcmp(a, b, CORR_ID_LEN(alen));
  char x[CORR_REF_ID_MAX + 1], y[CORR_REF_ID_MAX + 1];
  return strcmp(corr_id_text(alen, a, x), corr_id_text(blen, b, y));
}

void corr_pend_set_id(corr_pend_t *p, uint8_t idlen, const uint8_t *bytes) {
  size_t l = CORR_ID_LEN(idlen);
  p->idlen = idlen;
  if (corr_pend_on_heap(p)) {
    p->id.heap = parry_xmalloc(l + 1);
    memcpy(p->id.heap, bytes, l);
    p->id.heap[l] = 0;
  } else if (l) {
    memcpy(p->id.raw, bytes, l);
  }
}

void corr_pend_free_id(corr_pend_t *p) {
  if (corr_pend_on_heap(p)) free(p->id.heap);
  p->idlen = 0;
}

size_t corr_pend_heap(const corr_pend_t *p) {
  return corr_pend_on_heap(p) ? (size_t)p->idlen + 1 + MALLOC_OVERHEAD : 0;
}

/* A reference: [int64 ts][u8 idlen][id bytes] (engine_int.h). */
static size_t ref_len_at(const uint8_t *p) { return 9 + CORR_ID_LEN(p[8]); }

/* The id of the reference at p into out (CORR_REF_ID_MAX + 1 bytes at least). */
static void ref_id(const uint8_t *p, char *out) { corr_id_text(p[8], p + 9, out); }

static int64_t ref_ts_at(const uint8_t *p) {
  int64_t t;
  memcpy(&t, p, 8);
  return t;
}

static void refs_drop_front(corr_rec_t *rec, size_t k) {
  corr_extra_t *x = rec->x;
  size_t off = 0;
  for (size_t i = 0; i < k; i++) off += ref_len_at(x->refs + off);
  memmove(x->refs, x->refs + off, x->refs_len - off);
  x->refs_len -= (uint32_t)off;
  x->n_refs -= (uint32_t)k;
}

/* Drop references older than `from`. */
static void refs_expire(corr_rec_t *rec, int64_t from) {
  corr_extra_t *x = rec->x;
  if (!x || !x->n_refs) return;
  size_t k = 0, off = 0;
  while (k < x->n_refs && ref_ts_at(x->refs + off) < from) {
    off += ref_len_at(x->refs + off);
    k++;
  }
  if (k) refs_drop_front(rec, k);
}

static void refs_clear(corr_rec_t *rec) {
  if (rec->x) {
    rec->x->refs_len = 0;
    rec->x->n_refs = 0;
  }
}

/* Add a reference (packed id). May move rec->x. The block grows to what
 * is needed, rounded so that the allocation fills malloc's 16-byte chunk
 * exactly (chunk = request + 8, rounded up to 16): at most a few
 * reallocations per key while its first window fills, none after (the
 * room is kept when the window clears), and no slack a key does not use. */
static void refs_add(parry_corr_engine_t *e, corr_rec_t *rec, int64_t ts, uint8_t idlen,
                     const uint8_t *idb) {
  size_t maxr = e->opt.max_event_refs;
  if (maxr == 0) return;
  corr_extra_t *x = extra(e, rec);
  size_t stored = CORR_ID_LEN(idlen);
  if (x->n_refs >= maxr) refs_drop_front(rec, x->n_refs - maxr + 1);
  size_t need = x->refs_len + 9 + stored;
  if (need > x->refs_cap) {
    size_t chunk = (sizeof *x + need + 8 + 31) & ~(size_t)31;
    size_t ncap = chunk - 8 - sizeof *x;
    if (ncap > UINT32_MAX) abort(); /* max_event_refs is bounded far below */
    e->bytes += ncap - x->refs_cap;
    x = parry_xrealloc(x, sizeof *x + ncap);
    x->refs_cap = (uint32_t)ncap;
    rec->x = x;
  }
  uint8_t *p = x->refs + x->refs_len;
  memcpy(p, &ts, 8);
  p[8] = idlen;
  if (stored) memcpy(p + 9, idb, stored);
  x->refs_len += (uint32_t)(9 + stored);
  x->n_refs++;
}

/* ---- alerts and chains ---- */

/* hash of (rule key, "corr|<key>|<start>"); the text built by hand: an
 * alert every few updates makes printf show in profiles */
static void alert_id(const char *rule_key, const char *key, size_t keylen, int64_t start,
                     char *out) {
  char stack[512], *buf = stack;
  size_t need = 5 + keylen + 1 + 21;
  if (need > sizeof stack) buf = parry_xmalloc(need);
  memcpy(buf, "corr|", 5);
  memcpy(buf + 5, key, keylen);
  char *w = buf + 5 + keylen;
  *w++ = '|';
  uint64_t u = start < 0 ? 0 - (uint64_t)start : (uint64_t)start;
  if (start < 0) *w++ = '-';
  char digits[20];
  int nd = 0;
  do {
    digits[nd++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  while (nd) *w++ = digits[--nd];
  *w = 0;
  parry_detect_alert_id(rule_key, buf, out);
  if (buf != stack) free(buf);
}

static void enqueue_chain(parry_corr_engine_t *e, const corr_rule_t *r, uint32_t rule_idx,
                          const char *const *parts, const char *alert_id_s, int64_t ts) {
  for (size_t p = 0; p < r->n_parents; p++) {
    const corr_rule_t *up = &e->set->rules[r->parents[p]];
    uint32_t in = UINT32_MAX;
    for (size_t k = 0; k < up->n_inputs; k++)
      if (up->inputs[k].is_corr && up->inputs[k].index == rule_idx) in = (uint32_t)k;
    if (in == UINT32_MAX) continue;
    const corr_input_t *inp = &up->inputs[in];
    /* the parent's group-by values come from this alert's group-by labels */
    const char *vals[CORR_MAX_GROUP_BY];
    bool ok = true;
    for (size_t g = 0; g < up->n_group_by && ok; g++) {
      vals[g] = NULL;
      for (size_t m = 0; m < r->n_group_by; m++)
        if (strcmp(r->group_by[m], inp->gb_field[g]) == 0) vals[g] = parts[1 + m];
      if (!vals[g]) ok = false;
    }
    const char *value = NULL;
    if (ok && up->n_fields) {
      for (size_t m = 0; m < r->n_group_by; m++)
        if (strcmp(r->group_by[m], inp->val_field[0]) == 0) value = parts[1 + m];
      if (!value) ok = false;
    }
    if (!ok) continue; /* the parent groups by a field this alert does not carry */
    if (e->n_queue == e->cap_queue) {
      e->cap_queue = e->cap_queue ? e->cap_queue * 2 : 8;
      e->queue = parry_xreallocarray(e->queue, e->cap_queue, sizeof *e->queue);
    }
    chain_sig_t *c = &e->queue[e->n_queue++];
    memset(c, 0, sizeof *c);
    /* strings: the key alone; values, the alert id and the value in one block */
    parry_buf_t k;
    parry_buf_init(&k, 0);
    corr_key_part(&k, up->info.key, strlen(up->info.key), true);
    for (size_t g = 0; g < up->n_group_by; g++) corr_key_part(&k, vals[g], strlen(vals[g]), false);
    c->key = parry_buf_steal(&k);
    parry_buf_free(&k);
    c->labels = parry_xnew(Parry__V1__Label, up->n_group_by ? up->n_group_by : 1);
    c->lp = parry_xnew(Parry__V1__Label *, up->n_group_by ? up->n_group_by : 1);
    size_t total = strlen(alert_id_s) + 1 + (value ? strlen(value) + 1 : 0);
    for (size_t g = 0; g < up->n_group_by; g++) total += strlen(vals[g]) + 1;
    c->strs = parry_xmalloc(total);
    char *w = c->strs;
    for (size_t g = 0; g < up->n_group_by; g++) {
      parry__v1__label__init(&c->labels[g]);
      c->labels[g].key = up->group_by[g];
      size_t l = strlen(vals[g]) + 1;
      memcpy(w, vals[g], l);
      c->labels[g].value = w;
      w += l;
      c->lp[g] = &c->labels[g];
    }
    size_t l = strlen(alert_id_s) + 1;
    memcpy(w, alert_id_s, l);
    char *idp = w;
    w += l;
    parry__v1__event__init(&c->ev);
    c->ev.schema_version = PARRY_SCHEMA_VERSION;
    c->ev.id = idp;
    c->ev.timestamp_ns = ts;
    c->ev.has_timestamp = true;
    parry__v1__value__init(&c->val);
    if (value) {
      memcpy(w, value, strlen(value) + 1);
      c->val.kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
      c->val.string_value = w;
    }
    parry__v1__signal__init(&c->sig);
    c->sig.schema_version = PARRY_SCHEMA_VERSION;
    c->sig.correlation_id = (char *)up->info.key;
    c->sig.rule_id = (char *)r->info.key;
    c->sig.rule_title = (char *)r->info.title;
    c->sig.n_group_by = up->n_group_by;
    c->sig.group_by = c->lp;
    c->sig.timestamp_ns = ts;
    c->sig.value = value ? &c->val : NULL;
    c->sig.event = &c->ev;
  }
}

static void chain_free(chain_sig_t *c) {
  free(c->labels);
  free(c->lp);
  free(c->key);
  free(c->strs);
}

/* The window of rec fired over [start, end] with aggregate `count`. */
static void fire(parry_corr_engine_t *e, corr_rec_t *rec, int64_t start, int64_t end,
                 uint64_t count, const parry_corr_sink_t *sink) {
  const corr_rule_t *r = rule_of(e, rec);
  char id[PARRY_ALERT_ID_LEN + 1];
  alert_id(r->info.key, rec->key, rec->keylen, start, id);
  char split[4096];
  const char *parts[CORR_MAX_GROUP_BY + 1];
  char *heap = NULL;
  char *sb = split;
  size_t sbn = sizeof split;
  if ((size_t)rec->keylen + 1 > sbn) {
    heap = parry_xmalloc((size_t)rec->keylen + 1);
    sb = heap;
    sbn = (size_t)rec->keylen + 1;
  }
  int np = parry_corr_key_split(rec->key, sb, sbn, parts, CORR_MAX_GROUP_BY + 1);
  if (np < 0 || (size_t)np != 1 + r->n_group_by) { /* cannot happen: keys are built from the rule */
    free(heap);
    return;
  }
  if (r->n_parents) enqueue_chain(e, r, rec->rule, parts, id, end);
  if (!r->info.generates) {
    free(heap);
    return;
  }
  if (rec->suppress_until != CORR_NONE && end < rec->suppress_until) {
    rec->suppressed++;
    e->st.suppressed++;
    free(heap);
    return;
  }
  Parry__V1__Label labels[CORR_MAX_GROUP_BY], *lp[CORR_MAX_GROUP_BY];
  for (size_t g = 0; g < r->n_group_by; g++) {
    parry__v1__label__init(&labels[g]);
    labels[g].key = r->group_by[g];
    labels[g].value = (char *)parts[1 + g];
    lp[g] = &labels[g];
  }
  size_t nref = rec->x ? rec->x->n_refs : 0;
  /* up to FIRE_STACK references on the stack: no allocation per alert in
   * the usual case; ids as text in one buffer sized by what they need */
  enum { FIRE_STACK = 16 };
  Parry__V1__Event evs_s[FIRE_STACK], *evp_s[FIRE_STACK];
  char ids_s[FIRE_STACK * 33];
  size_t ids_need = 0;
  for (size_t i = 0, off = 0; i < nref; i++) {
    const uint8_t *p = rec->x->refs + off;
    ids_need += (p[8] & CORR_ID_HEX ? 2 * CORR_ID_LEN(p[8]) : CORR_ID_LEN(p[8])) + 1;
    off += ref_len_at(p);
  }
  bool big = nref > FIRE_STACK;
  Parry__V1__Event *evs = big ? parry_xnew(Parry__V1__Event, nref) : evs_s;
  Parry__V1__Event **evp = big ? parry_xnew(Parry__V1__Event *, nref) : evp_s;
  char *ids = ids_need > sizeof ids_s ? parry_xmalloc(ids_need) : ids_s;
  Parry__V1__Event ev0 = PARRY__V1__EVENT__INIT;
  char *w = ids;
  for (size_t i = 0, off = 0; i < nref; i++) {
    const uint8_t *p = rec->x->refs + off;
    evs[i] = ev0;
    evs[i].timestamp_ns = ref_ts_at(p);
    evs[i].has_timestamp = true;
    evs[i].id = w;
    ref_id(p, w);
    w += strlen(w) + 1;
    off += ref_len_at(p);
    evp[i] = &evs[i];
  }
  Parry__V1__Alert a = PARRY__V1__ALERT__INIT;
  a.schema_version = PARRY_SCHEMA_VERSION;
  a.id = id;
  a.timestamp_ns = end;
  a.rule_id = (char *)r->info.key;
  a.rule_title = (char *)r->info.title;
  a.rule_level = (char *)r->level;
  a.n_rule_tags = r->n_tags;
  a.rule_tags = (char **)r->tags;
  a.rule_description = (char *)r->description;
  a.n_group_by = r->n_group_by;
  a.group_by = r->n_group_by ? lp : NULL;
  a.count = count;
  a.suppressed = rec->suppressed;
  a.window_start_ns = start;
  a.window_end_ns = end;
  a.has_window = true;
  a.n_events = nref;
  a.events = nref ? evp : NULL;
  if (sink && sink->alert) sink->alert(sink->opaque, &a);
  e->st.alerts++;
  rec->suppressed = 0;
  int64_t sup = r->info.suppress_ns >= 0 ? r->info.suppress_ns : e->opt.default_suppress_ns;
  rec->suppress_until = sup > 0 ? end + sup : CORR_NONE;
  if (big) {
    free(evs);
    free(evp);
  }
  if (ids != ids_s) free(ids);
  free(heap);
}

/* ---- window logic ---- */

/* A signal on its way into the window logic; its id packed (engine_int.h). */
typedef struct {
  int64_t ts;
  uint32_t input;
  uint8_t idlen;
  const uint8_t *idb;
  union {
    double num;  /* value_sum / value_avg */
    uint64_t vh; /* value_count / value_percentile */
  } v;
} rel_t;

static void clear_window(corr_rec_t *rec, const corr_rule_t *r) {
  if (r->eager && (r->type == CT_TEMPORAL || r->type == CT_TEMPORAL_ORDERED)) {
    int64_t *t = corr_entries(rec);
    for (uint32_t i = 0; i < rec->n; i++) t[i] = CORR_NONE;
  } else {
    rec->n = 0;
    rec->head = 0;
  }
  rec->a.sum = 0;
  rec->a.mask = 0;
  rec->total = 0;
  rec->win_start = CORR_NONE;
  refs_clear(rec);
}

/* Close the open window of a closing rule: evaluate, maybe alert, reset. */
static void close_window(parry_corr_engine_t *e, corr_rec_t *rec, const parry_corr_sink_t *sink) {
  const corr_rule_t *r = rule_of(e, rec);
  if (r->eager || rec->win_start == CORR_NONE) return;
  int64_t start = rec->win_start, end = start + r->info.timespan_ns;
  double x = 0;
  uint64_t count = rec->total;
  bool holds;
  switch (r->type) {
  case CT_EVENT_COUNT: x = (double)rec->total; break;
  case CT_VALUE_COUNT: x = (double)rec->n; count = rec->n; break;
  case CT_TEMPORAL: x = (double)__builtin_popcountll(rec->a.mask); count = (uint64_t)x; break;
  case CT_VALUE_SUM: x = rec->a.sum; break;
  case CT_VALUE_AVG: x = rec->total ? rec->a.sum / (double)rec->total : 0; break;
  default: break;
  }
  if (r->type == CT_VALUE_PERCENTILE) {
    /* a value whose share of the window's signals meets the condition */
    const corr_pct_t *p = corr_entries(rec);
    count = 0;
    for (uint32_t i = 0; i < rec->n; i++)
      if (rec->total && corr_cond_holds(r, 100.0 * (double)p[i].count / (double)rec->total))
        count += p[i].count;
    holds = count > 0;
  } else if (r->type == CT_VALUE_AVG && rec->total == 0) {
    holds = false;
  } else {
    holds = corr_cond_holds(r, x);
  }
  if (holds) fire(e, rec, start, end, count, sink);
  clear_window(rec, r);
}

static corr_rec_t *release(parry_corr_engine_t *e, size_t slot, corr_rec_t *rec, const rel_t *s,
                           const parry_corr_sink_t *sink) {
  const corr_rule_t *r = rule_of(e, rec);
  int64_t T = r->info.timespan_ns, t = s->ts, from = t - T;
  if (!r->eager) {
    if (rec->win_start != CORR_NONE && t > rec->win_start + T) close_window(e, rec, sink);
    if (rec->win_start == CORR_NONE) {
      clear_window(rec, r);
      rec->win_start = t;
    }
    rec->total++;
    switch (r->type) {
    case CT_VALUE_COUNT: {
      uint64_t *v = corr_entries(rec);
      bool seen = false;
      for (uint32_t i = 0; i < rec->n && !seen; i++) seen = v[i] == s->v.vh;
      if (!seen && rec->n < r->cap) {
        rec = rec_reserve(e, slot, rec);
        ((uint64_t *)corr_entries(rec))[rec->n++] = s->v.vh;
      }
      break;
    }
    case CT_TEMPORAL: rec->a.mask |= 1ULL << s->input; break;
    case CT_VALUE_SUM:
    case CT_VALUE_AVG: rec->a.sum += s->v.num; break;
    case CT_VALUE_PERCENTILE: {
      corr_pct_t *p = corr_entries(rec);
      uint32_t i = 0;
      while (i < rec->n && p[i].vh != s->v.vh) i++;
      if (i < rec->n) {
        p[i].count++;
      } else if (rec->n < r->cap) {
        rec = rec_reserve(e, slot, rec);
        p = corr_entries(rec);
        p[rec->n].vh = s->v.vh;
        p[rec->n].count = 1;
        rec->n++;
      }
      break;
    }
    default: break;
    }
    refs_add(e, rec, t, s->idlen, s->idb);
    return rec;
  }

  refs_expire(rec, from);
  refs_add(e, rec, t, s->idlen, s->idb);
  switch (r->type) {
  case CT_EVENT_COUNT: {
    int64_t *ring = corr_entries(rec);
    while (rec->n && ring[rec->head] < from) {
      rec->head = rec->head + 1 == rec->cap ? 0 : rec->head + 1;
      rec->n--;
    }
    if (rec->n == 0) rec->head = 0;
    /* the count with this signal; it fires before it would need storing */
    uint64_t count = (uint64_t)rec->n + 1;
    if (corr_cond_holds(r, (double)count)) {
      fire(e, rec, rec->n ? ring[rec->head] : t, t, count, sink);
      clear_window(rec, r);
      break;
    }
    if (rec->n == rec->cap) {
      rec = rec_reserve(e, slot, rec);
      ring = corr_entries(rec);
    }
    if (rec->n == rec->cap) { /* cannot happen with a valid state: keep the newest */
      if (rec->cap == 0) break;
      rec->head = rec->head + 1 == rec->cap ? 0 : rec->head + 1;
      rec->n--;
    }
    ring[(rec->head + rec->n) % rec->cap] = t;
    rec->n++;
    break;
  }
  case CT_VALUE_COUNT: {
    corr_vc_t *v = corr_entries(rec);
    uint32_t w = 0;
    bool seen = false;
    int64_t start = t;
    for (uint32_t i = 0; i < rec->n; i++) {
      if (v[i].ts < from) continue;
      if (v[i].vh == s->v.vh) {
        v[i].ts = t;
        seen = true;
      }
      if (v[i].ts < start) start = v[i].ts;
      v[w++] = v[i];
    }
    rec->n = w;
    uint64_t count = (uint64_t)rec->n + (seen ? 0 : 1);
    if (corr_cond_holds(r, (double)count)) {
      fire(e, rec, start, t, count, sink);
      clear_window(rec, r);
      break;
    }
    if (!seen) {
      rec = rec_reserve(e, slot, rec);
      v = corr_entries(rec);
      if (rec->n < rec->cap) v[rec->n++] = (corr_vc_t){s->v.vh, t};
    }
    break;
  }
  case CT_TEMPORAL: {
    int64_t *last = corr_entries(rec);
    last[s->input] = t;
    uint32_t k = 0;
    int64_t start = t;
    for (uint32_t i = 0; i < rec->n; i++)
      if (last[i] != CORR_NONE && last[i] >= from) {
        k++;
        if (last[i] < start) start = last[i];
      }
    if (corr_cond_holds(r, (double)k)) {
      fire(e, rec, start, t, k, sink);
      clear_window(rec, r);
    }
    break;
  }
  case CT_TEMPORAL_ORDERED: {
    /* chain[i]: latest start of an in-order chain rules[0..i] seen so far */
    int64_t *chain = corr_entries(rec);
    uint32_t i = s->input;
    for (uint32_t j = 0; j < rec->n; j++)
      if (chain[j] != CORR_NONE && chain[j] < from) chain[j] = CORR_NONE;
    if (i == 0) {
      chain[0] = t;
    } else if (chain[i - 1] != CORR_NONE && (chain[i] == CORR_NONE || chain[i - 1] > chain[i])) {
      chain[i] = chain[i - 1];
    }
    uint32_t k = 0;
    while (k < rec->n && chain[k] != CORR_NONE) k++;
    if (k && corr_cond_holds(r, (double)k)) {
      fire(e, rec, chain[k - 1], t, k, sink);
      clear_window(rec, r);
    }
    break;
  }
  case CT_VALUE_SUM: {
    corr_sum_t *ring = corr_entries(rec);
    while (rec->n && ring[rec->head].ts < from) {
      rec->a.sum -= ring[rec->head].v;
      rec->head = rec->head + 1 == rec->cap ? 0 : rec->head + 1;
      rec->n--;
    }
    if (rec->n == 0) {
      rec->head = 0;
      rec->a.sum = 0; /* no drift carried across empty windows */
    }
    rec = rec_reserve(e, slot, rec);
    ring = corr_entries(rec);
    uint32_t pos = (rec->head + rec->n) % rec->cap;
    ring[pos] = (corr_sum_t){t, s->v.num};
    rec->n++;
    rec->a.sum += s->v.num;
    if (corr_cond_holds(r, rec->a.sum)) {
      fire(e, rec, ring[rec->head].ts, t, rec->n, sink);
      clear_window(rec, r);
    }
    break;
  }
  default: break;
  }
  return rec;
}

/* Release pending signals with ts <= limit, in (ts, input, id) order. */
static corr_rec_t *release_pending(parry_corr_engine_t *e, size_t slot, corr_rec_t *rec,
                                   int64_t limit, const parry_corr_sink_t *sink) {
  /* release() may move rec and rec->x (references grow): reread both */
  if (rec->x && rec->x->n_pend && corr_pend_at(rec->x, 0)->ts <= limit) rec->x->pend_wall = 0;
  while (rec->x && rec->x->n_pend && corr_pend_at(rec->x, 0)->ts <= limit) {
    corr_extra_t *x = rec->x;
    corr_pend_t p = *corr_pend_at(x, 0);
    x->pend_head = (x->pend_head + 1) & (x->cap_pend - 1);
    if (--x->n_pend == 0) x->pend_head = 0;
    rel_t s = {p.ts, p.input, p.idlen, corr_pend_bytes(&p), {.vh = p.v.vh}};
    rec = release(e, slot, rec, &s, sink);
    e->bytes -= corr_pend_heap(&p);
    corr_pend_free_id(&p);
  }
  return rec;
}

/* a after b in release order? */
static bool pend_after(const corr_pend_t *a, const corr_pend_t *b) {
  if (a->ts != b->ts) return a->ts > b->ts;
  if (a->input != b->input) return a->input > b->input;
  return corr_id_cmp(a->idlen, corr_pend_bytes(a), b->idlen, corr_pend_bytes(b)) > 0;
}

static void pend_grow(parry_corr_engine_t *e, corr_extra_t *x) {
  uint32_t ncap = x->cap_pend ? x->cap_pend * 2 : 4;
  corr_pend_t *np = parry_xnew(corr_pend_t, ncap);
  for (uint32_t i = 0; i < x->n_pend; i++) np[i] = *corr_pend_at(x, i);
  e->bytes += (ncap - x->cap_pend) * sizeof(corr_pend_t) + (x->pend ? 0 : MALLOC_OVERHEAD);
  free(x->pend);
  x->pend = np;
  x->cap_pend = ncap;
  x->pend_head = 0;
}

/* Queue s in rec's reorder buffer. A signal not older than the newest
 * pending one (in-order arrival) appends at the ring's end: O(1), no
 * allocation once the ring has grown to the key's lateness. Older ones
 * shift the newer entries by one. */
static void pend_insert(parry_corr_engine_t *e, corr_rec_t *rec, const rel_t *s) {
  corr_extra_t *x = extra(e, rec);
  if (x->n_pend == x->cap_pend) pend_grow(e, x);
  corr_pend_t p = {.ts = s->ts, .v = {.vh = s->v.vh}, .input = (uint8_t)s->input};
  corr_pend_set_id(&p, s->idlen, s->idb);
  uint32_t mask = x->cap_pend - 1, pos = x->n_pend;
  while (pos > 0) {
    corr_pend_t *prev = &x->pend[(x->pend_head + pos - 1) & mask];
    if (!pend_after(prev, &p)) break;
    x->pend[(x->pend_head + pos) & mask] = *prev;
    pos--;
  }
  x->pend[(x->pend_head + pos) & mask] = p;
  x->n_pend++;
  e->bytes += corr_pend_heap(&p);
}

static int64_t sat_sub(int64_t a, int64_t b) {
  if (a == CORR_NONE) return CORR_NONE;
  return a < INT64_MIN + b ? INT64_MIN + 1 : a - b;
}

static void emit_state(parry_corr_engine_t *e, const corr_rec_t *rec,
                       const parry_corr_sink_t *sink) {
  if (!sink || !sink->state) return;
  parry_buf_reset(&e->statebuf);
  corr_state_write(rule_of(e, rec), rec, &e->statebuf);
  sink->state(sink->opaque, rec->key, (const uint8_t *)e->statebuf.data, e->statebuf.len);
}

/* ---- engine ---- */

parry_corr_engine_t *parry_corr_engine_new(const parry_corr_set_t *set,
                                           const parry_corr_options_t *opt) {
  if (!set) return NULL;
  parry_corr_engine_t *e = parry_xnew(parry_corr_engine_t, 1);
  e->set = set;
  if (opt)
    e->opt = *opt;
  else
    parry_corr_options_default(&e->opt);
  /* clamp durations so that time arithmetic cannot overflow (CORR_TS_MAX) */
  const int64_t dmax = INT64_MAX / 8;
  if (e->opt.allowed_lateness_ns < 0) e->opt.allowed_lateness_ns = 0;
  if (e->opt.allowed_lateness_ns > dmax) e->opt.allowed_lateness_ns = dmax;
  if (e->opt.default_suppress_ns < 0) e->opt.default_suppress_ns = 0;
  if (e->opt.default_suppress_ns > dmax) e->opt.default_suppress_ns = dmax;
  if (e->opt.idle_expiry_ns < 0) e->opt.idle_expiry_ns = 0;
  if (e->opt.idle_expiry_ns > dmax) e->opt.idle_expiry_ns = dmax;
  e->n_clocks = e->opt.n_clocks > 1 && e->opt.clock_of ? e->opt.n_clocks : 1;
  e->now = parry_xnew(int64_t, e->n_clocks);
  for (uint32_t c = 0; c < e->n_clocks; c++) e->now[c] = CORR_NONE;
  e->last_ri = e->last_input = UINT32_MAX;
  parry_buf_init(&e->keybuf, 0);
  parry_buf_init(&e->statebuf, 0);
  table_grow(e);
  return e;
}

static void clear_all(parry_corr_engine_t *e) {
  for (size_t i = 0; i < e->cap; i++)
    if (REC(e->slots[i])) {
      e->bytes -= rec_size(e, REC(e->slots[i]));
      corr_rec_free(REC(e->slots[i]));
      e->slots[i] = 0;
    }
  e->count = 0;
}

void parry_corr_engine_destroy(parry_corr_engine_t *e) {
  if (!e) return;
  clear_all(e);
  free(e->slots);
  free(e->now);
  for (size_t i = 0; i < e->n_queue; i++) chain_free(&e->queue[i]);
  free(e->queue);
  parry_buf_free(&e->keybuf);
  parry_buf_free(&e->statebuf);
  free(e);
}

/* The clock of key (options.clock_of; 0 with one clock). */
static uint32_t clock_of(const parry_corr_engine_t *e, const char *key, size_t klen) {
  if (e->n_clocks == 1) return 0;
  uint32_t c = e->opt.clock_of(e->opt.clock_opaque, key, klen);
  return c < e->n_clocks ? c : 0;
}

/* Clock c has seen time ts. */
static void clock_advance(parry_corr_engine_t *e, uint32_t c, int64_t ts) {
  if (e->now[c] == CORR_NONE || ts > e->now[c]) e->now[c] = ts;
}

static int64_t expiry_of(const parry_corr_engine_t *e, const corr_rule_t *r) {
  int64_t x = r->info.timespan_ns + e->opt.allowed_lateness_ns;
  return e->opt.idle_expiry_ns > x ? e->opt.idle_expiry_ns : x;
}

/* Release everything pending and close open windows, as end of input. */
static corr_rec_t *flush_rec(parry_corr_engine_t *e, size_t slot, corr_rec_t *rec,
                             const parry_corr_sink_t *sink) {
  rec = release_pending(e, slot, rec, INT64_MAX, sink);
  close_window(e, rec, sink);
  return rec;
}

static void evict(parry_corr_engine_t *e, const corr_rec_t *keep, const parry_corr_sink_t *sink) {
  while (!e->finishing && e->opt.memory_cap_bytes && e->bytes > e->opt.memory_cap_bytes && e->count > 1) {
    /* approximate LRU: the least recently updated of the next 16 keys */
    size_t best = SIZE_MAX, seen = 0;
    for (size_t n = 0; n < e->cap && seen < 16; n++) {
      size_t i = (e->evict_cursor + n) & (e->cap - 1);
      corr_rec_t *r = REC(e->slots[i]);
      if (!r || r == keep) continue;
      seen++;
      if (best == SIZE_MAX || r->max_ts < REC(e->slots[best])->max_ts) best = i;
    }
    if (best == SIZE_MAX) break;
    e->evict_cursor = (best + 1) & (e->cap - 1);
    rec_delete(e, best, sink);
    e->st.evicted++;
  }
}

static void process_queue(parry_corr_engine_t *e, const parry_corr_sink_t *sink);

/* Look at a few slots for idle keys (incremental idle expiry). */
static void sweep(parry_corr_engine_t *e, const corr_rec_t *keep, const parry_corr_sink_t *sink,
                  size_t n) {
  for (size_t k = 0; k < n && e->count && !e->finishing; k++) {
    size_t i = e->sweep & (e->cap - 1);
    corr_rec_t *r = REC(e->slots[i]);
    if (r && r != keep && r->max_ts != CORR_NONE &&
        r->max_ts < sat_sub(e->now[clock_of(e, r->key, r->keylen)],
                            expiry_of(e, rule_of(e, r)))) {
      flush_rec(e, i, r, sink);
      rec_delete(e, i, sink);
      e->st.expired++;
      continue; /* slot i now holds the next record (backward shift): look again */
    }
    e->sweep = i + 1;
  }
}

static parry_err_t feed_one(parry_corr_engine_t *e, const Parry__V1__Signal *sig,
                            const parry_corr_sink_t *sink, char *errstr, size_t n) {
  if (!sig || !sig->correlation_id || !sig->rule_id)
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "signal: correlation.id and rule.id required");
  uint32_t ri = e->last_ri;
  const corr_rule_t *r = NULL;
  if (ri < e->set->n_rules && strcmp(e->set->rules[ri].info.key, sig->correlation_id) == 0)
    r = &e->set->rules[ri];
  else
    r = corr_set_find(e->set, sig->correlation_id, strlen(sig->correlation_id), &ri);
  if (!r)
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "signal: unknown correlation rule \"%s\"",
                      sig->correlation_id);
  uint32_t input = e->last_input;
  if (ri != e->last_ri || input >= r->n_inputs || !r->inputs[input].key ||
      strcmp(r->inputs[input].key, sig->rule_id) != 0)
    input = corr_input_find(r, sig->rule_id);
  e->last_ri = ri;
  e->last_input = input;
  if (input == UINT32_MAX)
    return parry_fail(errstr, n, PARRY_ERR_INVALID,
                      "signal: rule \"%s\" is not used by correlation rule \"%s\"", sig->rule_id,
                      sig->correlation_id);
  parry_buf_t *kb = &e->keybuf;
  parry_buf_reset(kb);
  corr_key_part(kb, r->info.key, strlen(r->info.key), true);
  for (size_t g = 0; g < r->n_group_by; g++) {
    const Parry__V1__Label *l = NULL;
    if (g < sig->n_group_by && sig->group_by[g]->key && strcmp(sig->group_by[g]->key, r->group_by[g]) == 0)
      l = sig->group_by[g];
    for (size_t k = 0; !l && k < sig->n_group_by; k++)
      if (sig->group_by[k]->key && strcmp(sig->group_by[k]->key, r->group_by[g]) == 0)
        l = sig->group_by[k];
    if (!l || !l->value)
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "signal: group_by.%s missing for \"%s\"",
                        r->group_by[g], r->info.key);
    corr_key_part(kb, l->value, strlen(l->value), false);
  }
  if (kb->len > UINT16_MAX)
    return parry_fail(errstr, n, PARRY_ERR_TOO_LARGE, "signal: group key over %d bytes",
                      UINT16_MAX);
  if (sig->timestamp_ns < -CORR_TS_MAX || sig->timestamp_ns > CORR_TS_MAX)
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "signal: @timestamp out of range");
  const char *id = sig->event && sig->event->id ? sig->event->id : "";
  uint8_t hexbuf[16];
  rel_t s = {sig->timestamp_ns, input, 0, NULL, {.vh = 0}};
  s.idb = corr_id_pack(id, strlen(id), hexbuf, &s.idlen);
  if (r->type == CT_VALUE_COUNT || r->type == CT_VALUE_PERCENTILE) {
    bool ok;
    s.v.vh = corr_value_hash(sig->value, &ok);
    if (!ok)
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "signal: value missing for \"%s\"",
                        r->info.key);
  } else if (r->type == CT_VALUE_SUM || r->type == CT_VALUE_AVG) {
    if (!corr_value_number(sig->value, &s.v.num))
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "signal: value is not a number for \"%s\"",
                        r->info.key);
  }

  const char *key = kb->data;
  size_t klen = kb->len;
  uint64_t h = key_hash(key, klen);
  bool found;
  size_t slot = find_slot(e, key, klen, h, &found);
  corr_rec_t *rec;
  if (found) {
    rec = REC(e->slots[slot]);
  } else {
    if ((e->count + 1) * 4 > e->cap * 3) {
      table_grow(e);
      slot = find_slot(e, key, klen, h, &found);
    }
    rec = rec_new(e, ri, key, klen, h);
    e->slots[slot] = slot_of(rec);
    e->count++;
    e->bytes += rec_size(e, rec);
  }
  e->st.updates++;
  clock_advance(e, clock_of(e, key, klen), s.ts);
  int64_t L = e->opt.allowed_lateness_ns;
  if (rec->max_ts != CORR_NONE && s.ts < sat_sub(rec->max_ts, L)) {
    e->st.late++;
  } else {
    if (rec->max_ts == CORR_NONE || s.ts > rec->max_ts) rec->max_ts = s.ts;
    if (L == 0) {
      rec = release(e, slot, rec, &s, sink);
    } else {
      pend_insert(e, rec, &s);
      rec = release_pending(e, slot, rec, sat_sub(rec->max_ts, L), sink);
    }
    emit_state(e, rec, sink);
  }
  evict(e, rec, sink);
  /* idle expiry walks one slot every 4 updates: cheap (one likely cache
   * miss), and a table of S slots is covered every 4 S updates */
  if ((e->st.updates & 3) == 0) sweep(e, rec, sink, 1);
  return PARRY_OK;
}

static void process_queue(parry_corr_engine_t *e, const parry_corr_sink_t *sink) {
  if (e->in_queue) return;
  e->in_queue = true;
  for (size_t i = 0; i < e->n_queue; i++) {
    chain_sig_t c = e->queue[i]; /* copy: the queue may grow (realloc) below */
    c.sig.group_by = c.lp;
    c.sig.event = &c.ev;
    c.sig.value = c.sig.value ? &c.val : NULL;
    if (sink && sink->resignal) {
      sink->resignal(sink->opaque, &c.sig, c.key);
    } else {
      char err[256];
      (void)feed_one(e, &c.sig, sink, err, sizeof err); /* built from the rule: cannot fail */
    }
    chain_free(&c);
  }
  e->n_queue = 0;
  e->in_queue = false;
}

parry_err_t parry_corr_engine_feed(parry_corr_engine_t *e, const Parry__V1__Signal *sig,
                                   const parry_corr_sink_t *sink, char *errstr, size_t n) {
  parry_err_t err = feed_one(e, sig, sink, errstr, n);
  process_queue(e, sink);
  return err;
}

void parry_corr_engine_expire(parry_corr_engine_t *e, int64_t now_ns,
                              const parry_corr_sink_t *sink) {
  for (uint32_t c = 0; c < e->n_clocks; c++) clock_advance(e, c, now_ns);
  size_t saved = e->sweep;
  e->sweep = 0;
  /* one full pass; sweep() advances only past slots it keeps */
  while (e->sweep < e->cap && e->count) sweep(e, NULL, sink, 1);
  e->sweep = saved;
  process_queue(e, sink);
}

void parry_corr_engine_tick(parry_corr_engine_t *e, int64_t wall_ns,
                            const parry_corr_sink_t *sink) {
  if (e->opt.idle_release_ns <= 0 || wall_ns <= 0) return;
  /* release() only queues chained signals (process_queue feeds them after
   * the pass), so the table does not change shape while it is walked */
  for (size_t i = 0; i < e->cap; i++) {
    corr_rec_t *rec = REC(e->slots[i]);
    if (!rec || !rec->x || !rec->x->n_pend) continue;
    if (rec->x->pend_wall == 0) {
      rec->x->pend_wall = wall_ns;
      continue;
    }
    if (wall_ns - rec->x->pend_wall < e->opt.idle_release_ns) continue;
    int64_t newest = corr_pend_at(rec->x, rec->x->n_pend - 1)->ts;
    rec = release_pending(e, i, rec, INT64_MAX, sink);
    /* everything up to `newest` is decided: from now on an older signal is
     * late (the lateness check compares with max_ts - allowed lateness) */
    int64_t ref = newest > INT64_MAX - e->opt.allowed_lateness_ns
                      ? INT64_MAX
                      : newest + e->opt.allowed_lateness_ns;
    if (rec->max_ts == CORR_NONE || rec->max_ts < ref) rec->max_ts = ref;
    e->st.released++;
    emit_state(e, rec, sink);
  }
  process_queue(e, sink);
}

static int cmp_rec(const void *a, const void *b) {
  const corr_rec_t *x = *(corr_rec_t *const *)a, *y = *(corr_rec_t *const *)b;
  return strcmp(x->key, y->key);
}

void parry_corr_engine_finish(parry_corr_engine_t *e, const parry_corr_sink_t *sink) {
  /* closing a key can feed chained keys (deeper): go depth by depth */
  uint32_t maxd = 0;
  for (size_t i = 0; i < e->set->n_rules; i++)
    if (e->set->rules[i].depth > maxd) maxd = e->set->rules[i].depth;
  parry_corr_sink_t quiet = sink ? *sink : (parry_corr_sink_t){0};
  quiet.state = NULL; /* end of input writes no changelog */
  e->finishing = true;
  for (uint32_t d = 0; d <= maxd; d++) {
    size_t m = 0;
    corr_rec_t **list = parry_xnew(corr_rec_t *, e->count ? e->count : 1);
    for (size_t i = 0; i < e->cap; i++)
      if (e->slots[i] && rule_of(e, REC(e->slots[i]))->depth == d) list[m++] = REC(e->slots[i]);
    qsort(list, m, sizeof *list, cmp_rec);
    for (size_t k = 0; k < m; k++) {
      bool f;
      size_t slot = find_slot(e, list[k]->key, list[k]->keylen,
                              key_hash(list[k]->key, list[k]->keylen), &f);
      flush_rec(e, slot, REC(e->slots[slot]), &quiet);
      process_queue(e, &quiet);
    }
    free(list);
  }
  clear_all(e);
  e->finishing = false;
}

void parry_corr_engine_drop(parry_corr_engine_t *e, bool (*drop)(void *opaque, const char *key),
                            void *opaque) {
  size_t ocap = e->cap;
  uintptr_t *old = e->slots;
  e->slots = parry_xnew(uintptr_t, ocap);
  e->count = 0;
  for (size_t i = 0; i < ocap; i++) {
    corr_rec_t *r = REC(old[i]);
    if (!r) continue;
    if (drop(opaque, r->key)) {
      e->bytes -= rec_size(e, r);
      corr_rec_free(r);
      continue;
    }
    bool f;
    size_t s = find_slot(e, r->key, r->keylen, key_hash(r->key, r->keylen), &f);
    e->slots[s] = slot_of(r);
    e->count++;
  }
  free(old);
}

parry_err_t parry_corr_engine_restore(parry_corr_engine_t *e, const char *key,
                                      const uint8_t *bytes, size_t len, char *errstr, size_t n) {
  if (!key) return parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: no key");
  char buf[1024];
  const char *parts[CORR_MAX_GROUP_BY + 2];
  size_t klen = strlen(key);
  if (klen > UINT16_MAX || klen >= sizeof buf)
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: key too long");
  int np = parry_corr_key_split(key, buf, sizeof buf, parts, CORR_MAX_GROUP_BY + 2);
  if (np < 1) return parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: malformed key");
  uint32_t ri;
  const corr_rule_t *r = corr_set_find(e->set, parts[0], strlen(parts[0]), &ri);
  if (!r)
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: key \"%s\": unknown correlation rule",
                      key);
  if ((size_t)np != 1 + r->n_group_by)
    return parry_fail(errstr, n, PARRY_ERR_INVALID,
                      "restore: key \"%s\": %d group-by values, rule has %zu", key, np - 1,
                      r->n_group_by);
  /* the key must be in canonical form, as the engine builds it */
  parry_buf_t kb;
  parry_buf_init(&kb, 0);
  for (int i = 0; i < np; i++) corr_key_part(&kb, parts[i], strlen(parts[i]), i == 0);
  bool canon = kb.len == klen && memcmp(kb.data, key, klen) == 0;
  parry_buf_free(&kb);
  if (!canon) return parry_fail(errstr, n, PARRY_ERR_INVALID, "restore: key not canonical");
  corr_rec_t *rec = corr_state_read(r, key, klen, bytes, len, errstr, n);
  if (!rec) return PARRY_ERR_INVALID;
  uint64_t h = key_hash(key, klen);
  rec->hash = (uint32_t)h;
  rec->rule = (uint16_t)ri;
  bool found;
  size_t slot = find_slot(e, key, klen, h, &found);
  if (found) {
    e->bytes -= rec_size(e, REC(e->slots[slot]));
    corr_rec_free(REC(e->slots[slot]));
  } else {
    if ((e->count + 1) * 4 > e->cap * 3) {
      table_grow(e);
      slot = find_slot(e, key, klen, h, &found);
    }
    e->count++;
  }
  e->slots[slot] = slot_of(rec);
  e->bytes += rec_size(e, rec);
  if (rec->max_ts != CORR_NONE) clock_advance(e, clock_of(e, key, klen), rec->max_ts);
  return PARRY_OK;
}

void parry_corr_engine_stats(const parry_corr_engine_t *e, parry_corr_stats_t *out) {
  *out = e->st;
  out->keys = e->count;
  out->bytes = e->bytes;
}
