/* The RFC 6587 framer (ingestor/sources/framing.h) on arbitrary byte
 * streams cut into arbitrary reads. Input: one byte choosing the frame cap
 * (1..64, small so that oversize paths run), two bytes seeding the cuts, then
 * the stream. Invariants, checked with abort() so the fuzzer reports them:
 *
 *   - the frames do not depend on how the stream is cut into reads;
 *   - no frame is longer than the cap; RECORD len == total; OVERSIZE total >
 *     cap and len == cap; TRUNCATED and GARBAGE keep min(total, cap) bytes;
 *     TRUNCATED has fewer bytes than it declared;
 *   - offsets increase and lie inside the stream; a frame's bytes are the
 *     stream's bytes at its offset (after the length and the space in octet
 *     counting); a newline-framed record holds no LF;
 *   - the counters agree with the frames seen. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/framing.h"

typedef struct {
  parry_frame_kind_t kind;
  size_t len, total, declared;
  uint64_t offset;
  uint64_t hash; /* FNV-1a of the bytes */
} seen_t;

typedef struct {
  const uint8_t *stream;
  size_t stream_len, max;
  seen_t *v;
  size_t n, cap;
  uint64_t counts[4];
} run_t;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_framing: invariant broken: %s\n", what);
    abort();
  }
}

static uint64_t fnv(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
  return h;
}

static void on_frame(void *opaque, const parry_frame_t *fr) {
  run_t *r = opaque;
  check(fr->len <= r->max, "frame longer than the cap");
  check(fr->offset < r->stream_len, "offset outside the stream");
  check(r->n == 0 || fr->offset > r->v[r->n - 1].offset, "offsets not increasing");
  switch (fr->kind) {
  case PARRY_FRAME_RECORD: check(fr->len == fr->total, "record len != total"); break;
  case PARRY_FRAME_OVERSIZE:
    check(fr->total > r->max && fr->len == r->max, "oversize frame not cut at the cap");
    break;
  case PARRY_FRAME_TRUNCATED:
    check(fr->len == (fr->total < r->max ? fr->total : r->max), "truncated frame size");
    check(fr->declared > fr->total, "truncated frame has all its bytes");
    break;
  case PARRY_FRAME_GARBAGE:
    check(fr->len == (fr->total < r->max ? fr->total : r->max), "garbage frame size");
    check(fr->declared == 0 && fr->total > 0, "garbage frame fields");
    break;
  }
  /* The bytes are the stream's own. */
  size_t at = (size_t)fr->offset;
  if (fr->declared) {
    char digits[24];
    int nd = snprintf(digits, sizeof digits, "%zu ", fr->declared);
    check(at + (size_t)nd <= r->stream_len && memcmp(r->stream + at, digits, (size_t)nd) == 0,
          "octet-counted frame does not start with its length");
    at += (size_t)nd;
  }
  check(at + fr->len <= r->stream_len && memcmp(r->stream + at, fr->data, fr->len) == 0,
        "frame bytes differ from the stream");
  if (fr->kind == PARRY_FRAME_RECORD && !fr->declared)
    check(memchr(fr->data, '\n', fr->len) == NULL, "newline-framed record holds an LF");
  r->counts[fr->kind]++;
  check(r->n < r->cap, "more frames than bytes");
  r->v[r->n++] = (seen_t){fr->kind, fr->len, fr->total, fr->declared, fr->offset,
                            fnv(fr->data, fr->len)};
}

static void run(run_t *r, const uint8_t *data, size_t len, size_t max, uint32_t seed) {
  memset(r, 0, sizeof *r);
  r->stream = data;
  r->stream_len = len;
  r->max = max;
  /* Every frame has at least one byte of its own: len + 1 slots suffice. */
  r->cap = len + 1;
  r->v = calloc(r->cap, sizeof *r->v);
  parry_framer_t *f = parry_framer_new(max, on_frame, r);
  size_t at = 0;
  while (at < len) {
    size_t piece = len - at;
    if (seed) {
      seed = seed * 1103515245u + 12345u;
      piece = 1 + (seed >> 16) % 17;
      if (piece > len - at) piece = len - at;
    }
    /* A copy of just this piece: reading past it is an ASan error. */
    char *copy = malloc(piece);
    memcpy(copy, data + at, piece);
    parry_framer_feed(f, copy, piece);
    free(copy);
    at += piece;
  }
  parry_framer_finish(f);
  const parry_framer_counts_t *c = parry_framer_counts(f);
  check(c->bytes == len, "byte count");
  check(c->records == r->counts[PARRY_FRAME_RECORD] &&
            c->oversize == r->counts[PARRY_FRAME_OVERSIZE] &&
            c->truncated == r->counts[PARRY_FRAME_TRUNCATED] &&
            c->garbage == r->counts[PARRY_FRAME_GARBAGE],
        "counters disagree with the frames");
  parry_framer_destroy(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  size_t max = (size_t)(data[0] % 64) + 1;
  uint32_t seed = ((uint32_t)data[1] << 8 | data[2]) | 1u;
  data += 3, size -= 3;

  run_t whole, cut;
  run(&whole, data, size, max, 0);
  run(&cut, data, size, max, seed);
  check(whole.n == cut.n, "frame count depends on the cuts");
  for (size_t i = 0; i < whole.n; i++) {
    const seen_t *a = &whole.v[i], *b = &cut.v[i];
    check(a->kind == b->kind && a->len == b->len && a->total == b->total &&
              a->declared == b->declared && a->offset == b->offset && a->hash == b->hash,
          "frames depend on the cuts");
  }
  free(whole.v);
  free(cut.v);
  return 0;
}
