/* A growable byte buffer with a hard cap (curl's dynbuf): anything whose size
 * input controls is built in one of these, so a hostile or broken input hits a
 * clear PARRY_ERR_TOO_LARGE instead of exhausting memory.
 *
 * The contents are always NUL-terminated (not counted in len), so a buffer of
 * text can be used as a C string.
 */
#ifndef PARRY_BUF_H
#define PARRY_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parry/error.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
  char *data;    /* NULL until the first append */
  size_t len;
  size_t alloc;
  size_t cap;    /* maximum len; 0 means SIZE_MAX/2 */
} parry_buf_t;

#define PARRY_BUF_INIT(cap_) {NULL, 0, 0, (cap_)}

void parry_buf_init(parry_buf_t *b, size_t cap);
void parry_buf_free(parry_buf_t *b);
void parry_buf_reset(parry_buf_t *b); /* len = 0, memory kept */
/* Transfer ownership of the data to the caller (NUL-terminated, never NULL);
 * the buffer is empty afterwards. */
char *parry_buf_steal(parry_buf_t *b);

/* Make room for `extra` more bytes after len (plus the terminator) without
 * changing len: for writers that fill data + len directly. */
parry_err_t parry_buf_reserve(parry_buf_t *b, size_t extra);
parry_err_t parry_buf_append_slow(parry_buf_t *b, const void *data, size_t len);

/* Inline because writers call it for every few bytes: when the room is there
 * (the common case once a buffer is warm) it is a bounds check and a memcpy. */
static inline parry_err_t parry_buf_append(parry_buf_t *b, const void *data, size_t len) {
  if (b->alloc - b->len > len && (b->cap == 0 || b->cap - b->len >= len)) {
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return PARRY_OK;
  }
  return parry_buf_append_slow(b, data, len);
}
parry_err_t parry_buf_append_str(parry_buf_t *b, const char *s);
parry_err_t parry_buf_append_char(parry_buf_t *b, char c);
parry_err_t parry_buf_printf(parry_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
parry_err_t parry_buf_vprintf(parry_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s as the inside of a JSON string: quotes, backslashes and control
 * characters escaped; bytes that are not valid UTF-8 become U+FFFD. */
parry_err_t parry_buf_append_json_string(parry_buf_t *b, const char *s, size_t len);
/* The same, but input that is not valid UTF-8 is refused: PARRY_ERR_INVALID
 * and nothing appended (the codec, which must not change data). */
parry_err_t parry_buf_append_json_string_strict(parry_buf_t *b, const char *s, size_t len);
/* The same with the surrounding quotes, in one reservation: a whole JSON
 * string value, or nothing appended on error. */
parry_err_t parry_buf_append_json_quoted_strict(parry_buf_t *b, const char *s, size_t len);

/* For writers that lay out short JSON text themselves: when s[0..len) is 1..32
 * bytes that need no escaping (printable ASCII but '"' and '\\'), copies
 * them to out[0..len) and returns true; else writes nothing, returns false
 * (the caller then takes the general escaping path).
 *
 * Inline, without a loop: most strings and keys of an event (ids, ECS
 * keywords, names, addresses) are this short, and the general path's setup
 * cost more than the copy. Overlapping loads of the first and last bytes;
 * never reads outside s[0..len). */
#if defined(__SSE2__)
static inline unsigned parry_json_special_mask_(__m128i v) {
  /* signed compare: bytes >= 0x80 are negative, so "below space" too */
  __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  return (unsigned)_mm_movemask_epi8(bad);
}
#endif

static inline __attribute__((always_inline)) bool parry_json_copy_plain_short(char *out,
                                                                             const char *s,
                                                                             size_t len) {
#if defined(__SSE2__)
  const unsigned char *p = (const unsigned char *)s;
  if (len - 1 >= 32) return false; /* 0 or more than 32 */
  if (len < 8) {
    /* first, middle and last bytes (or two overlapping halves) as one word */
    uint64_t v;
    if (len >= 4) {
      uint32_t lo, hi;
      memcpy(&lo, p, 4);
      memcpy(&hi, p + len - 4, 4);
      if (parry_json_special_mask_(_mm_set_epi32(0, 0, (int)hi, (int)lo)) & 0xFF) return false;
      memcpy(out, &lo, 4);
      memcpy(out + len - 4, &hi, 4);
      return true;
    }
    v = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
    if (parry_json_special_mask_(_mm_cvtsi32_si128((int)v)) & 0x7) return false;
    out[0] = (char)p[0];
    out[len / 2] = (char)p[len / 2];
    out[len - 1] = (char)p[len - 1];
    return true;
  }
  if (len <= 16) {
    uint64_t a, z;
    memcpy(&a, p, 8);
    memcpy(&z, p + len - 8, 8);
    if (parry_json_special_mask_(_mm_set_epi64x((long long)z, (long long)a))) return false;
    memcpy(out, &a, 8);
    memcpy(out + len - 8, &z, 8);
    return true;
  }
  __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i z = _mm_loadu_si128((const __m128i *)(const void *)(p + len - 16));
  if (parry_json_special_mask_(a) | parry_json_special_mask_(z)) return false;
  _mm_storeu_si128((__m128i *)(void *)out, a);
  _mm_storeu_si128((__m128i *)(void *)(out + len - 16), z);
  return true;
#else
  (void)out;
  (void)s;
  (void)len;
  return false;
#endif
}

#endif
