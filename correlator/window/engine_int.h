/* The engine's per-key records, shared by engine.c (window logic) and
 * state.c (serialization). */
#ifndef PARRY_WINDOW_ENGINE_INT_H
#define PARRY_WINDOW_ENGINE_INT_H

#include "window/corr_int.h"

/* Event ids are kept "packed" everywhere (reorder buffer, references,
 * changelog): a length byte and the bytes. An id of exactly 32 lower-case
 * hex digits (what Parry's normalizer writes) is kept as its 16 binary
 * bytes with length byte CORR_ID_HEX | 16; any other id as its text, cut to
 * CORR_REF_ID_MAX bytes (length byte 0..127). Converting once at feed time
 * and never again on the hot path is what keeps the reorder buffer cheap. */
#define CORR_ID_HEX 0x80u
#define CORR_ID_LEN(b) ((size_t)((b) & 0x7fu))

/* Pack id (len bytes of text): sets *idlen and returns the bytes (hexbuf or
 * id itself). */
const uint8_t *corr_id_pack(const char *id, size_t len, uint8_t hexbuf[16], uint8_t *idlen);
/* A packed id as text into buf (CORR_REF_ID_MAX + 1 bytes); returns buf. */
char *corr_id_text(uint8_t idlen, const uint8_t *bytes, char *buf);
/* Order of two packed ids as the order of their texts (strcmp). */
int corr_id_cmp(uint8_t alen, const uint8_t *a, uint8_t blen, const uint8_t *b);

/* A signal waiting in a key's reorder buffer (allowed lateness > 0): 40
 * bytes. Its id is inline when packed hex or at most 16 bytes, else on the
 * heap. `v` is the value the rule uses: value_count / value_percentile the
 * hash of the value text, value_sum / value_avg the number. */
typedef struct {
  int64_t ts;
  union {
    double num;
    uint64_t vh;
  } v;
  uint8_t input; /* < CORR_MAX_INPUTS */
  uint8_t idlen; /* packed id length byte */
  union {
    char *heap;      /* CORR_ID_LEN(idlen) > 16, not hex */
    uint8_t raw[16]; /* otherwise */
  } id;
} corr_pend_t;

/* Set p's id from a packed id. */
void corr_pend_set_id(corr_pend_t *p, uint8_t idlen, const uint8_t *bytes);
static inline bool corr_pend_on_heap(const corr_pend_t *p) {
  return !(p->idlen & CORR_ID_HEX) && p->idlen > 16;
}
static inline const uint8_t *corr_pend_bytes(const corr_pend_t *p) {
  return corr_pend_on_heap(p) ? (const uint8_t *)p->id.heap : p->id.raw;
}
void corr_pend_free_id(corr_pend_t *p);
size_t corr_pend_heap(const corr_pend_t *p); /* heap bytes charged for the id */

/* Rarely needed parts of a key, one allocation made on first use: the
 * reorder buffer's pointer and the event references inline after the
 * header (the block is reallocated as references grow). */
typedef struct {
  /* ring of pending signals, sorted by (ts, input, id):
   * pend[(pend_head + i) & (cap_pend - 1)] for i < n_pend; cap_pend is 0 or
   * a power of two. In-order signals (the common case) append in O(1). */
  corr_pend_t *pend;
  uint32_t n_pend, cap_pend, pend_head;
  /* parry_corr_engine_tick's clock when it first saw the buffer waiting
   * (0: not seen yet, or something was released since) */
  int64_t pend_wall;
  /* event references of the current window, oldest first, packed:
   * [int64 ts][u8 idlen][id bytes] */
  uint32_t refs_len, refs_cap, n_refs;
  uint8_t refs[];
} corr_extra_t;

static inline corr_pend_t *corr_pend_at(const corr_extra_t *x, uint32_t i) {
  return &x->pend[(x->pend_head + i) & (x->cap_pend - 1)];
}

/* One (correlation rule, group key). The entries follow the key:
 *   eager event_count     int64 ts ring (cap <= nstar)
 *   eager value_count     {uint64 vh; int64 ts} set
 *   eager temporal(_ord.) int64 per input (latest time / chain start)
 *   eager value_sum       {int64 ts; double v} ring
 *   closing value_count   uint64 vh set (cap)
 *   value_percentile      {uint64 vh; uint64 count} (cap)
 *   other closing rules   none (counters in the header) */
typedef struct {
  uint32_t hash; /* low bits of the key's hash */
  uint16_t rule;
  uint16_t keylen;
  uint32_t n, cap, head; /* entries used / allocated; ring start */
  uint32_t suppressed;   /* alerts suppressed since the last alert */
  int64_t max_ts;        /* newest signal time (lateness reference) */
  int64_t suppress_until;
  int64_t win_start;     /* closing rules: the open window's start, or CORR_NONE */
  union {
    double sum;
    uint64_t mask;
  } a;
  uint64_t total;        /* closing rules: signals in the window */
  corr_extra_t *x;
  char key[];            /* keylen + 1 bytes, then entries at an 8-byte boundary */
} corr_rec_t;

typedef struct {
  uint64_t vh;
  int64_t ts;
} corr_vc_t;
typedef struct {
  int64_t ts;
  double v;
} corr_sum_t;
typedef struct {
  uint64_t vh;
  uint64_t count;
} corr_pct_t;

static inline size_t corr_rec_head(size_t keylen) {
  return (sizeof(corr_rec_t) + keylen + 1 + 7) & ~(size_t)7;
}
static inline void *corr_entries(corr_rec_t *r) {
  return (char *)r + corr_rec_head(r->keylen);
}
size_t corr_entry_size(const corr_rule_t *r);

/* state.c */
void corr_state_write(const corr_rule_t *rule, const corr_rec_t *rec, parry_buf_t *out);
/* Parse bytes into a fresh record for rule (validated); NULL + errstr. */
corr_rec_t *corr_state_read(const corr_rule_t *rule, const char *key, size_t keylen,
                            const uint8_t *b, size_t len, char *errstr, size_t n);
void corr_rec_free(corr_rec_t *rec);
/* bytes charged for a record (allocations + an estimate of malloc's overhead) */
size_t corr_rec_bytes(const corr_rec_t *rec);

#endif
