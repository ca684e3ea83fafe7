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
#include <stddef.h>
#include <string.h>

#include "parry/error.h"

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

#endif
