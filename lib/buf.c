#include "parry/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

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

parry_err_t parry_buf_append(parry_buf_t *b, const void *data, size_t len) {
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

parry_err_t parry_buf_append_json_string(parry_buf_t *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t start = 0, i = 0;
  parry_err_t err = PARRY_OK;
  /* Copy runs of plain bytes in one append; escape the rest one by one. */
  while (i < len && !err) {
    unsigned char c = p[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { i++; continue; }
    size_t n = c >= 0x80 ? utf8_sequence_length(p + i, len - i) : 0;
    if (n) { i += n; continue; }
    err = parry_buf_append(b, s + start, i - start);
    if (err) break;
    char esc[7];
    size_t esc_len = 2;
    esc[0] = '\\';
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default:
      if (c < 0x20) {
        esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
        esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
        esc_len = 6;
      } else { /* invalid UTF-8 byte: U+FFFD */
        memcpy(esc, "\xEF\xBF\xBD", 3);
        esc_len = 3;
      }
    }
    err = parry_buf_append(b, esc, esc_len);
    start = ++i;
  }
  if (!err) err = parry_buf_append(b, s + start, len - start);
  return err;
}
