/* Protobuf encoding in one pass, written back to front.
 *
 * protobuf-c packs a message in two walks (sizes, then bytes) and asks
 * every nested message for its size again at each level above it: for an
 * Event with a few nested maps that was two thirds of the ingestor's
 * service path (raw line to encoded Event). Written from the end backwards,
 * a nested message's length is known the moment its content is written,
 * so one walk suffices.
 *
 * The walk follows the same descriptors, in reverse field order, and makes
 * protobuf-c's choices (proto3 fields that are zero or empty are left out,
 * a oneof member is written when its case is set and, for a string or a
 * message, its pointer is not NULL), so the bytes are the same: a unit test
 * and the codec fuzz target compare them with protobuf_c_message_pack. What
 * it does not know (proto2 labels, packed repeated scalars, unknown fields,
 * field types Parry's schema does not use) it leaves to protobuf-c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"

enum { PB_MAX_DEPTH = 100 };

typedef struct {
  parry_buf_t *b;
  uint8_t *start, *p, *end; /* p: the first byte written; [p, end) is the output */
} rev_t;

/* Room for n more bytes before p, growing the buffer (the output moves to
 * the end of the new one). */
static bool grow(rev_t *w, size_t n);
static inline bool room(rev_t *w, size_t n) {
  return (size_t)(w->p - w->start) >= n || grow(w, n);
}

static bool grow(rev_t *w, size_t n) {
  if (!w->b) return false; /* a fixed buffer (parry_pb_pack_into) */
  size_t used = (size_t)(w->end - w->p), at = (size_t)(w->p - w->start);
  size_t want = (used + n) * 2 + 256;
  if (parry_buf_reserve(w->b, want) != PARRY_OK) return false;
  uint8_t *start = (uint8_t *)w->b->data, *end = start + w->b->alloc - 1;
  memmove(end - used, start + at, used);
  w->start = start;
  w->end = end;
  w->p = end - used;
  return true;
}

static inline bool put_varint(rev_t *w, uint64_t v) {
  if (v < 0x80 && w->p > w->start) { /* tags and most lengths: one byte */
    *--w->p = (uint8_t)v;
    return true;
  }
  uint8_t tmp[10];
  size_t n = 0;
  do {
    tmp[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    v >>= 7;
  } while (v);
  if (!room(w, n)) return false;
  w->p -= n;
  memcpy(w->p, tmp, n);
  return true;
}

static bool put_bytes(rev_t *w, const void *data, size_t n) {
  if (!room(w, n)) return false;
  w->p -= n;
  if (n) memcpy(w->p, data, n);
  return true;
}

static bool put_tag(rev_t *w, uint32_t id, unsigned wire) {
  return put_varint(w, (uint64_t)id << 3 | wire);
}

enum { WIRE_VARINT = 0, WIRE_64 = 1, WIRE_LEN = 2, WIRE_32 = 5 };

static bool rev_message(rev_t *w, const ProtobufCMessage *m, int depth);

/* One value of field f at member (not a repeated array): its bytes, then
 * its tag before them. */
static bool rev_value(rev_t *w, const ProtobufCFieldDescriptor *f, const void *member,
                      int depth) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_BOOL:
    return put_varint(w, *(const protobuf_c_boolean *)member ? 1 : 0) &&
           put_tag(w, f->id, WIRE_VARINT);
  case PROTOBUF_C_TYPE_UINT32:
    return put_varint(w, *(const uint32_t *)member) && put_tag(w, f->id, WIRE_VARINT);
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_ENUM: /* negative: ten bytes, sign-extended */
    return put_varint(w, (uint64_t)(int64_t)*(const int32_t *)member) &&
           put_tag(w, f->id, WIRE_VARINT);
  case PROTOBUF_C_TYPE_SINT32: {
    int32_t v = *(const int32_t *)member;
    return put_varint(w, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31))) &&
           put_tag(w, f->id, WIRE_VARINT);
  }
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_UINT64:
    return put_varint(w, *(const uint64_t *)member) && put_tag(w, f->id, WIRE_VARINT);
  case PROTOBUF_C_TYPE_SINT64: {
    int64_t v = *(const int64_t *)member;
    return put_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)) &&
           put_tag(w, f->id, WIRE_VARINT);
  }
  case PROTOBUF_C_TYPE_DOUBLE: {
    uint64_t bits;
    memcpy(&bits, member, 8);
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(bits >> (8 * i));
    return put_bytes(w, le, 8) && put_tag(w, f->id, WIRE_64);
  }
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)member;
    size_t n = s ? strlen(s) : 0;
    return put_bytes(w, s, n) && put_varint(w, n) && put_tag(w, f->id, WIRE_LEN);
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
    size_t after = (size_t)(w->end - w->p);
    if (sub && !rev_message(w, sub, depth + 1)) return false;
    size_t len = (size_t)(w->end - w->p) - after;
    return put_varint(w, len) && put_tag(w, f->id, WIRE_LEN);
  }
  default: return false; /* not in Parry's schema: protobuf-c packs it */
  }
}

/* protobuf-c's field_is_zeroish: a proto3 field left out. */
static bool zeroish(const ProtobufCFieldDescriptor *f, const void *member) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)member == 0;
  case PROTOBUF_C_TYPE_ENUM:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_FIXED32: return *(const uint32_t *)member == 0;
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)member == 0;
  case PROTOBUF_C_TYPE_FLOAT: return *(const float *)member == 0;
  case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)member == 0;
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)member;
    return !s || !*s;
  }
  case PROTOBUF_C_TYPE_BYTES:
  case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)member == NULL;
  default: return true;
  }
}

static bool rev_message(rev_t *w, const ProtobufCMessage *m, int depth) {
  if (depth > PB_MAX_DEPTH || m->n_unknown_fields) return false;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = d->n_fields; i-- > 0;) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *base = (const char *)m;
    const void *member = base + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      /* strings and messages only: repeated scalars are packed in proto3 */
      if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) return false;
      size_t n = *(const size_t *)(base + f->quantifier_offset);
      const char *arr = *(char *const *)member;
      for (size_t k = n; k-- > 0;)
        if (!rev_value(w, f, arr + k * sizeof(void *), depth)) return false;
    } else if (f->label == PROTOBUF_C_LABEL_NONE && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
      if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) continue;
      if ((f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) &&
          *(void *const *)member == NULL)
        continue;
      if (!rev_value(w, f, member, depth)) return false;
    } else if (f->label == PROTOBUF_C_LABEL_NONE) {
      if (zeroish(f, member)) continue;
      if (!rev_value(w, f, member, depth)) return false;
    } else {
      return false; /* proto2 required/optional: not in Parry's schema */
    }
  }
  return true;
}

const uint8_t *parry_pb_pack(const ProtobufCMessage *m, parry_buf_t *scratch, size_t *len) {
  if (!scratch->data && parry_buf_reserve(scratch, 4096) != PARRY_OK) return NULL;
  rev_t w = {scratch, (uint8_t *)scratch->data, NULL, NULL};
  w.end = w.start + scratch->alloc - 1;
  w.p = w.end;
  if (rev_message(&w, m, 0)) {
    *len = (size_t)(w.end - w.p);
    return w.p;
  }
  /* Something it leaves to protobuf-c: the same bytes, two walks. */
  size_t n = protobuf_c_message_get_packed_size(m);
  parry_buf_reset(scratch);
  if (parry_buf_reserve(scratch, n + 1) != PARRY_OK) return NULL;
  protobuf_c_message_pack(m, (uint8_t *)scratch->data);
  *len = n;
  return (const uint8_t *)scratch->data;
}

const uint8_t *parry_pb_pack_into(const ProtobufCMessage *m, uint8_t *buf, size_t cap,
                                  size_t *len) {
  rev_t w = {NULL, buf, buf + cap, buf + cap};
  if (!rev_message(&w, m, 0)) return NULL;
  *len = (size_t)(w.end - w.p);
  return w.p;
}
