#include "parry/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static size_t effective_cap(const parry_buf_t *b) {
  return b->cap ? b->cap : SIZE_MAX / 2;
}

void parry_buf_init(parry_buf_t *b, size_t cap) {
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
  b->cap = cap;
}

void parry_buf_free(parry_buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->alloc = 0;
}

void parry_buf_reset(parry_buf_t *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

char *parry_buf_steal(parry_buf_t *b) {
  char *data = b->data ? b->data : parry_xstrdup("");
  b->data = NULL;
  b->len = b->alloc = 0;
  return data;
}

/* Make room for `extra` more bytes plus the terminator, within the cap. */
parry_err_t parry_buf_reserve(parry_buf_t *b, size_t extra) {
  if (extra > effective_cap(b) - b->len) return PARRY_ERR_TOO_LARGE;
  size_t need = b->len + extra + 1;
  if (need <= b->alloc) return PARRY_OK;
  size_t alloc = b->alloc ? b->alloc : 64;
  while (alloc < need) alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
  b->data = parry_xrealloc(b->data, alloc);
  b->alloc = alloc;
  return PARRY_OK;
}

parry_err_t parry_buf_append_slow(parry_buf_t *b, const void *data, size_t len) {
  parry_err_t err = parry_buf_reserve(b, len);
  if (err) return err;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return PARRY_OK;
}

parry_err_t parry_buf_append_str(parry_buf_t *b, const char *s) {
  return parry_buf_append(b, s, strlen(s));
}

parry_err_t parry_buf_append_char(parry_buf_t *b, char c) {
  return parry_buf_append(b, &c, 1);
}

parry_err_t parry_buf_vprintf(parry_buf_t *b, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0) return PARRY_ERR_INVALID;
  parry_err_t err = parry_buf_reserve(b, (size_t)n);
  if (err) return err;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return PARRY_OK;
}

parry_err_t parry_buf_printf(parry_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  parry_err_t err = parry_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return err;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one.
 * Rejects overlong forms, surrogates and code points past U+10FFFF. */
static size_t utf8_sequence_length(const unsigned char *s, size_t len) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (len < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/* True when none of the 8 bytes needs attention: all ASCII, none a control
 * character, '"' or '\\'. The tests may report a byte that is fine (borrows
 * spill into the next byte), never miss one, so a false result only sends
 * the word down the byte-by-byte path. */
static inline bool word_is_plain(uint64_t v) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t quote = v ^ (ones * '"'), backslash = v ^ (ones * '\\');
  uint64_t bad = (v & highs) | ((v - ones * 0x20) & ~v) | ((quote - ones) & ~quote) |
                 ((backslash - ones) & ~backslash);
  return (bad & highs) == 0;
}

/* The k (1..7) bytes at p as the low bytes of a word, the rest spaces:
 * overlapping loads instead of a loop or a memcpy call. */
static inline uint64_t load_short(const unsigned char *p, size_t k) {
  uint64_t v;
  if (k >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + k - 4, 4);
    v = (uint64_t)lo | (uint64_t)hi << (8 * (k - 4));
  } else {
    v = (uint64_t)p[0] | (uint64_t)p[k / 2] << (8 * (k / 2)) | (uint64_t)p[k - 1] << (8 * (k - 1));
  }
  return v | (0x2020202020202020ULL << (8 * k)); /* k < 8: a defined shift */
}

static inline void copy_short(char *out, const unsigned char *p, size_t k) {
  if (k >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + k - 4, 4);
    memcpy(out, &lo, 4);
    memcpy(out + k - 4, &hi, 4);
  } else {
    out[0] = (char)p[0];
    out[k / 2] = (char)p[k / 2];
    out[k - 1] = (char)p[k - 1];
  }
}

/* One pass: find runs of plain bytes a word at a time, escape the specials,
 * check multi-byte sequences. Writes straight into reserved room (at most 6
 * bytes out per byte in). strict: invalid UTF-8 fails; else U+FFFD. */
static parry_err_t escape_json(parry_buf_t *b, const char *s, size_t len, bool strict,
                               bool quoted) {
  static const char hex[] = "0123456789abcdef";
  if (len > (SIZE_MAX / 2) / 6) return PARRY_ERR_TOO_LARGE;
  /* parry_buf_reserve's answer when the room is already there, inline. */
  size_t room = len * 6 + (quoted ? 2 : 0);
  parry_err_t err = b->alloc - b->len > room && (b->cap == 0 || b->cap - b->len >= room)
                        ? PARRY_OK
                        : parry_buf_reserve(b, room);
  if (err) {
    /* Near the cap, reserve what the output really needs before failing. */
    size_t need = quoted ? 2 : 0;
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)s[i];
      need += c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
                      c == '\f' ? 2 : c < 0x20 ? 6 : c >= 0x80 ? 3 : 1;
    }
    if ((err = parry_buf_reserve(b, need))) return err;
  }
  const unsigned char *p = (const unsigned char *)s;
  char *out = b->data + b->len;
  size_t i = 0;
  if (quoted) *out++ = '"';
  while (i < len) {
#if defined(__SSE2__)
    /* 16 bytes a round: a byte needs attention when it is below 0x20 or at
     * or above 0x80 (one signed compare), or is '"' or '\\'. The plain prefix
     * of a round is kept; the stored tail past it is overwritten next. Room:
     * the output is never shorter than the input left, so 16 bytes fit. */
    while (i + 16 <= len) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
      __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
      unsigned mask = (unsigned)_mm_movemask_epi8(bad);
      _mm_storeu_si128((__m128i *)(void *)out, v);
      if (mask) {
        unsigned k = (unsigned)__builtin_ctz(mask);
        out += k;
        i += k;
        break;
      }
      out += 16;
      i += 16;
    }
#endif
    while (i + 8 <= len) {
      uint64_t v;
      memcpy(&v, p + i, 8);
      if (!word_is_plain(v)) break;
      memcpy(out, p + i, 8);
      out += 8;
      i += 8;
    }
    if (i >= len) break;
    if (len - i < 8) {
      /* The last few bytes as one word, padded with plain spaces. */
      size_t k = len - i;
      uint64_t v = load_short(p + i, k);
      if (word_is_plain(v)) {
        copy_short(out, p + i, k);
        out += k;
        break;
      }
    }
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      *out++ = (char)c;
      i++;
      continue;
    }
    if (c >= 0x80) {
      size_t n = utf8_sequence_length(p + i, len - i);
      if (n) {
        memcpy(out, p + i, n);
        out += n;
        i += n;
        continue;
      }
      if (strict) {
        b->data[b->len] = '\0';
        return PARRY_ERR_INVALID;
      }
      memcpy(out, "\xEF\xBF\xBD", 3);
      out += 3;
      i++;
      continue;
    }
    *out++ = '\\';
    switch (c) {
    case '"': *out++ = '"'; break;
    case '\\': *out++ = '\\'; break;
    case '\n': *out++ = 'n'; break;
    case '\r': *out++ = 'r'; break;
    case '\t': *out++ = 't'; break;
    case '\b': *out++ = 'b'; break;
    case '\f': *out++ = 'f'; break;
    default:
      memcpy(out, "u00", 3);
      out[3] = hex[c >> 4];
      out[4] = hex[c & 15];
      out += 5;
    }
    i++;
  }
  if (quoted) *out++ = '"';
  size_t written = (size_t)(out - (b->data + b->len));
  if (b->cap && written > b->cap - b->len) {
    b->data[b->len] = '\0';
    return PARRY_ERR_TOO_LARGE;
  }
  b->len += written;
  b->data[b->len] = '\0';
  return PARRY_OK;
}

parry_err_t parry_buf_append_json_string(parry_buf_t *b, const char *s, size_t len) {
  return escape_json(b, s, len, false, false);
}

parry_err_t parry_buf_append_json_string_strict(parry_buf_t *b, const char *s, size_t len) {
  return escape_json(b, s, len, true, false);
}

parry_err_t parry_buf_append_json_quoted_strict(parry_buf_t *b, const char *s, size_t len) {
  /* Short plain strings with room to spare (and within the cap): quotes and
   * bytes written straight in. Same output as escape_json's. */
  if (len >= 1 && len <= 32 && b->alloc - b->len > len + 2 &&
      (b->cap == 0 || b->cap - b->len >= len + 2)) {
    char *out = b->data + b->len;
    if (parry_json_copy_plain_short(out + 1, s, len)) {
      out[0] = '"';
      out[len + 1] = '"';
      out[len + 2] = '\0';
      b->len += len + 2;
      return PARRY_OK;
    }
  }
  return escape_json(b, s, len, true, true);
}
