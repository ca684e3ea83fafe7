/* The parser list and what every parser shares: finishing an Event. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "parser.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Auto-detection tries these in order: specific formats before the generic
 * JSON parser, which accepts any object. */
const parry_parser_t *const parry_parsers[] = {
    /* PARSERS: one line each, most specific first (helpers add theirs here) */
    &parry_parser_windows,
    &parry_parser_suricata,
    &parry_parser_zeek,
    &parry_parser_cef,
    &parry_parser_syslog,
    &parry_parser_json,
    NULL,
};

const parry_parser_t *parry_parser_find(const char *name) {
  for (const parry_parser_t *const *p = parry_parsers; *p; p++)
    if (strcmp((*p)->name, name) == 0) return *p;
  return NULL;
}

/* Event ids: a 128-bit hash of the source name, the record's position
 * (sequence number, event number within the record) and the record's
 * bytes. Not cryptographic: ids only need to be stable and practically
 * unique.
 *
 * Four 64-bit lanes each take one word of every 32 bytes, so their
 * dependency chains run side by side (one chain of a SplitMix64 finalizer
 * per 8 bytes made hashing a tenth of a line's time, waiting on
 * multiplications). Each lane step is a bijection of the lane for a given
 * word. The length and the position enter only at the end, each through
 * the finalizer of its own (computed beside the lanes, off their chains):
 * XORed raw into a lane, a change of one could cancel a change of the
 * data. */
static inline uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

typedef struct {
  uint64_t a, b;
} hash128_t;

/* Distinct odd constants (digits of pi, e, sqrt 2, sqrt 3). */
#define K0 0x243f6a8885a308d3ULL
#define K1 0xb7e151628aed2a6bULL
#define K2 0x6a09e667f3bcc909ULL
#define K3 0xbb67ae8584caa73bULL

static inline uint64_t load64(const unsigned char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* The last 1..7 bytes as memcpy(&w, p, len) would give them (little
 * endian), from overlapping loads instead of a byte loop. */
static inline uint64_t load_tail(const unsigned char *p, size_t len) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (len >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + len - 4, 4);
    return (uint64_t)lo | (uint64_t)hi << (8 * (len - 4));
  }
  return (uint64_t)p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
         (uint64_t)p[len - 1] << (8 * (len - 1));
#else
  uint64_t w = 0;
  memcpy(&w, p, len);
  return w;
#endif
}

static inline uint64_t rot32(uint64_t x) { return x << 32 | x >> 32; }

/* A lane's step: half of mix (one multiplication, then the high half
 * folded down), a bijection of the lane; the full mix comes at the end. */
static inline uint64_t step(uint64_t lane, uint64_t word, uint64_t k) {
  uint64_t x = (lane ^ word) * k;
  return x ^ x >> 32;
}

/* The hash of data[0..len) under seed, with two position words (0 for
 * none) folded in at the end. */
static hash128_t hash_bytes(hash128_t seed, const void *data, size_t len, uint64_t pos_a,
                            uint64_t pos_b) {
  const unsigned char *p = data;
  uint64_t l0 = seed.a, l1 = seed.b, l2 = seed.a + K2, l3 = seed.b + K3;
  size_t left = len;
  for (; left >= 32; p += 32, left -= 32) {
    l0 = step(l0, load64(p), K0);
    l1 = step(l1, load64(p + 8), K1);
    l2 = step(l2, load64(p + 16), K2);
    l3 = step(l3, load64(p + 24), K3);
  }
  /* 0..31 bytes left: whole words to lanes 0, 1, 2 in turn, the last
   * partial word to the next lane; every lane is mixed once more. */
  uint64_t w[4] = {0, 0, 0, 0};
  size_t k = 0;
  for (; left >= 8; p += 8, left -= 8) w[k++] = load64(p);
  if (left) w[k] = load_tail(p, left);
  l0 = step(l0, w[0], K1);
  l1 = step(l1, w[1], K2);
  l2 = step(l2, w[2], K3);
  l3 = step(l3, w[3], K0);
  /* Each half from three lanes (the rotation keeps l0 and l3 from
   * cancelling where both meet) and the length and position, then the
   * same bijective finalizer on both. */
  uint64_t x = l0 ^ (l2 + K2) ^ rot32(l3) ^ mix((uint64_t)len + K0) ^ mix(pos_a + K1);
  uint64_t y = l1 ^ (l3 + K3) ^ rot32(l0) ^ mix(pos_b + K2);
  hash128_t h = {mix(x), mix(y)};
  return h;
}

void parry_parse_source_hash(const char *source, parry_source_hash_t *out) {
  hash128_t seed = {K0, K1};
  hash128_t h = hash_bytes(seed, source, strlen(source), 0, 0);
  out->a = h.a;
  out->b = h.b;
}

static void event_id(const parry_parse_t *p, char out[33]) {
  parry_source_hash_t src;
  if (p->source_hash) src = *p->source_hash;
  else parry_parse_source_hash(p->source ? p->source : "", &src);
  hash128_t seed = {src.a, src.b};
  hash128_t h = hash_bytes(seed, p->record, p->record_len, p->record_seq, p->emitted);
#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* 32 hex digits from 16 bytes at once (the table loop below cost as much
   * as a tenth of an event's parsing): high nibbles and low nibbles
   * interleaved, then '0'..'9' or 'a'..'f' each. Same text as the loop. */
  uint64_t be[2] = {__builtin_bswap64(h.a), __builtin_bswap64(h.b)};
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)be);
  __m128i mask = _mm_set1_epi8(0x0f);
  __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask), lo = _mm_and_si128(v, mask);
  __m128i d1 = _mm_unpacklo_epi8(hi, lo), d2 = _mm_unpackhi_epi8(hi, lo);
  const __m128i nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
                gap = _mm_set1_epi8('a' - '0' - 10);
  d1 = _mm_add_epi8(_mm_add_epi8(d1, zero), _mm_and_si128(_mm_cmpgt_epi8(d1, nine), gap));
  d2 = _mm_add_epi8(_mm_add_epi8(d2, zero), _mm_and_si128(_mm_cmpgt_epi8(d2, nine), gap));
  _mm_storeu_si128((__m128i *)(void *)out, d1);
  _mm_storeu_si128((__m128i *)(void *)(out + 16), d2);
#else
  /* Two hex digits per byte from one table: every event gets an id. */
  static const char hex2[513] =
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
      "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
      "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
      "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
      "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
  for (int i = 0; i < 8; i++) {
    memcpy(out + 2 * i, hex2 + 2 * ((h.a >> (56 - 8 * i)) & 255), 2);
    memcpy(out + 16 + 2 * i, hex2 + 2 * ((h.b >> (56 - 8 * i)) & 255), 2);
  }
#endif
  out[32] = '\0';
}

static void finish(parry_parse_t *p, Parry__V1__Event *ev, char *id) {
  event_id(p, id);
  ev->id = id;
  if (!ev->has_timestamp) {
    ev->timestamp_ns = p->received_ns;
    ev->has_timestamp = 1;
  }
  p->emitted++;
  p->emit(p->emit_opaque, ev);
}

void parry_parse_emit(parry_parse_t *p, parry_evb_t *b) {
  finish(p, b->ev, parry_arena_alloc(p->arena, 33));
}

void parry_parse_emit_owned(parry_parse_t *p, Parry__V1__Event *ev) {
  if (ev->id && ev->id[0]) {
    /* The input named its own id (a replayed canonical event): keep it. */
    p->emitted++;
    if (!ev->has_timestamp) {
      ev->timestamp_ns = p->received_ns;
      ev->has_timestamp = 1;
    }
    p->emit(p->emit_opaque, ev);
  } else {
    finish(p, ev, parry_xmalloc(33));
  }
  parry__v1__event__free_unpacked(ev, NULL);
}
