/* The parser list and what every parser shares: finishing an Event. */
#include <stdio.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "parser.h"

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

/* A 128-bit hash (two 64-bit lanes with different seeds, mixed with the
 * SplitMix64 finalizer). Not cryptographic: event ids only need to be
 * stable and practically unique. */
static uint64_t mix(uint64_t x) {
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

static void hash_bytes(hash128_t *h, const void *data, size_t len) {
  const unsigned char *p = data;
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h->a = mix(h->a ^ w);
    h->b = mix(h->b + w + 0x9e3779b97f4a7c15ULL);
    p += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  memcpy(&tail, p, len);
  h->a = mix(h->a ^ tail ^ ((uint64_t)len << 56));
  h->b = mix(h->b + tail + 0x9e3779b97f4a7c15ULL + len);
}

static void event_id(const parry_parse_t *p, char out[33]) {
  hash128_t h = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL};
  const char *source = p->source ? p->source : "";
  hash_bytes(&h, source, strlen(source) + 1);
  uint64_t pos[2] = {p->record_seq, p->emitted};
  hash_bytes(&h, pos, sizeof pos);
  hash_bytes(&h, p->record, p->record_len);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    out[i] = hex[(h.a >> (60 - 4 * i)) & 15];
    out[16 + i] = hex[(h.b >> (60 - 4 * i)) & 15];
  }
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
