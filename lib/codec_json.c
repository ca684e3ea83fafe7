/* The codec's strict JSON reader (why not json-c's tokener: see codec.h).
 *
 * Recursive descent over a bounded depth, building a json-c tree. Numbers
 * that are not canonical int64 literals become json-c doubles that carry
 * their literal text (json_object_new_double_s), which is what lets the
 * converter keep 20-digit integers, "-0" and "1e400" exactly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "parry/mem.h"

typedef struct {
  const char *s;
  size_t len;
  size_t pos;
  int depth;
  parry_buf_t scratch; /* unescaped strings, number text */
  char *errstr;
  size_t errstr_size;
} reader_t;

static parry_err_t rd_fail(reader_t *r, const codec_path_t *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static parry_err_t rd_fail(reader_t *r, const codec_path_t *p, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return codec_fail(r->errstr, r->errstr_size, PARRY_ERR_INVALID, p, "%s (at offset %zu)", msg,
                    r->pos);
}

static parry_err_t rd_unexpected(reader_t *r, const codec_path_t *p, const char *expected) {
  if (r->pos >= r->len) return rd_fail(r, p, "unexpected end of input, expected %s", expected);
  unsigned char c = (unsigned char)r->s[r->pos];
  if (c >= 0x20 && c < 0x7f) return rd_fail(r, p, "unexpected '%c', expected %s", c, expected);
  return rd_fail(r, p, "unexpected byte 0x%02x, expected %s", c, expected);
}

static void skip_ws(reader_t *r) {
  while (r->pos < r->len) {
    char c = r->s[r->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    r->pos++;
  }
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool read_hex4(reader_t *r, unsigned *out) {
  if (r->len - r->pos < 4) return false;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(r->s[r->pos + (size_t)i]);
    if (d < 0) return false;
    v = v << 4 | (unsigned)d;
  }
  r->pos += 4;
  *out = v;
  return true;
}

static void put_utf8(parry_buf_t *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | cp >> 6);
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | cp >> 12);
    u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | cp >> 18);
    u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  parry_buf_append(b, u, n); /* scratch has no cap */
}

/* One escape after the backslash, appended to scratch as UTF-8. */
static parry_err_t read_escape(reader_t *r, const codec_path_t *p) {
  if (r->pos >= r->len) return rd_unexpected(r, p, "an escape");
  char c = r->s[r->pos++];
  char plain;
  switch (c) {
  case '"': plain = '"'; break;
  case '\\': plain = '\\'; break;
  case '/': plain = '/'; break;
  case 'b': plain = '\b'; break;
  case 'f': plain = '\f'; break;
  case 'n': plain = '\n'; break;
  case 'r': plain = '\r'; break;
  case 't': plain = '\t'; break;
  case 'u': {
    unsigned cp;
    if (!read_hex4(r, &cp)) return rd_fail(r, p, "invalid \\u escape");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return rd_fail(r, p, "invalid UTF-8: lone surrogate \\u%04x", cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      unsigned lo;
      if (r->len - r->pos < 2 || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u')
        return rd_fail(r, p, "invalid UTF-8: lone surrogate \\u%04x", cp);
      r->pos += 2;
      if (!read_hex4(r, &lo)) return rd_fail(r, p, "invalid \\u escape");
      if (lo < 0xDC00 || lo > 0xDFFF)
        return rd_fail(r, p, "invalid UTF-8: lone surrogate \\u%04x", cp);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) return rd_fail(r, p, "U+0000 is not supported in strings");
    put_utf8(&r->scratch, cp);
    return PARRY_OK;
  }
  default:
    r->pos--;
    return rd_fail(r, p, "invalid escape '\\%c'", c >= 0x20 && c < 0x7f ? c : '?');
  }
  parry_buf_append_char(&r->scratch, plain);
  return PARRY_OK;
}

/* A string starting at the opening quote. The result is either a slice of
 * the input (no escapes, *str not NUL-terminated) or scratch; with
 * `terminated`, always scratch, NUL-terminated. Valid until the next read. */
static parry_err_t read_string(reader_t *r, const codec_path_t *p, bool terminated,
                               const char **str, size_t *len) {
  size_t start = ++r->pos, run = start;
  bool copied = terminated;
  parry_buf_reset(&r->scratch);
  for (;;) {
    if (r->pos >= r->len) return rd_fail(r, p, "unterminated string");
    unsigned char c = (unsigned char)r->s[r->pos];
    if (c == '"') break;
    if (c == '\\') {
      parry_buf_append(&r->scratch, r->s + run, r->pos - run);
      r->pos++;
      parry_err_t err = read_escape(r, p);
      if (err) return err;
      run = r->pos;
      copied = true;
    } else if (c < 0x20) {
      return rd_fail(r, p, "unescaped control character 0x%02x in string", c);
    } else if (c < 0x80) {
      r->pos++;
    } else {
      size_t n = codec_utf8_sequence(r->s + r->pos, r->len - r->pos);
      if (!n) return rd_fail(r, p, "invalid UTF-8 in string");
      r->pos += n;
    }
  }
  if (copied) {
    parry_buf_append(&r->scratch, r->s + run, r->pos - run);
    *str = r->scratch.data ? r->scratch.data : "";
    *len = r->scratch.len;
  } else {
    *str = r->s + start;
    *len = r->pos - start;
  }
  r->pos++; /* closing quote */
  return PARRY_OK;
}

static size_t digits(reader_t *r) {
  size_t n = 0;
  while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') r->pos++, n++;
  return n;
}

static parry_err_t read_number(reader_t *r, const codec_path_t *p, json_object **out) {
  size_t start = r->pos;
  bool integer = true;
  if (r->s[r->pos] == '-') r->pos++;
  if (r->pos < r->len && r->s[r->pos] == '0') {
    r->pos++;
  } else if (digits(r) == 0) {
    return rd_fail(r, p, "invalid number");
  }
  if (r->pos < r->len && r->s[r->pos] == '.') {
    r->pos++;
    integer = false;
    if (digits(r) == 0) return rd_fail(r, p, "invalid number: no digits after '.'");
  }
  if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
    r->pos++;
    integer = false;
    if (r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-')) r->pos++;
    if (digits(r) == 0) return rd_fail(r, p, "invalid number: no digits in exponent");
  }
  parry_buf_reset(&r->scratch);
  parry_buf_append(&r->scratch, r->s + start, r->pos - start);
  const char *text = r->scratch.data;
  if (integer && strcmp(text, "-0") != 0) {
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == 0) {
      *out = json_object_new_int64(v);
      return PARRY_OK;
    }
  }
  *out = json_object_new_double_s(strtod(text, NULL), text);
  return PARRY_OK;
}

static parry_err_t read_literal(reader_t *r, const codec_path_t *p, json_object **out) {
  static const struct {
    const char *text;
    size_t len;
  } lits[] = {{"true", 4}, {"false", 5}, {"null", 4}};
  for (size_t i = 0; i < 3; i++) {
    if (r->len - r->pos >= lits[i].len && memcmp(r->s + r->pos, lits[i].text, lits[i].len) == 0) {
      r->pos += lits[i].len;
      *out = i == 2 ? NULL : json_object_new_boolean(i == 0);
      return PARRY_OK;
    }
  }
  return rd_unexpected(r, p, "a value");
}

static parry_err_t read_value(reader_t *r, const codec_path_t *p, json_object **out);

static parry_err_t read_object(reader_t *r, const codec_path_t *p, json_object **out) {
  json_object *obj = json_object_new_object();
  char *key = NULL;
  parry_err_t err = PARRY_OK;
  r->pos++;
  skip_ws(r);
  if (r->pos < r->len && r->s[r->pos] == '}') {
    r->pos++;
    goto out;
  }
  for (;;) {
    if (r->pos >= r->len || r->s[r->pos] != '"') {
      err = rd_unexpected(r, p, "a string key");
      goto out;
    }
    const char *k;
    size_t klen;
    err = read_string(r, p, true, &k, &klen);
    if (err) goto out;
    key = parry_xstrndup(k, klen);
    if (json_object_object_get_ex(obj, key, NULL)) {
      err = rd_fail(r, p, "duplicate key \"%s\"", key);
      goto out;
    }
    skip_ws(r);
    if (r->pos >= r->len || r->s[r->pos] != ':') {
      err = rd_unexpected(r, p, "':'");
      goto out;
    }
    r->pos++;
    codec_path_t here = CODEC_KEY(p, key);
    json_object *val = NULL;
    err = read_value(r, &here, &val);
    if (err) goto out;
    json_object_object_add_ex(obj, key, val, JSON_C_OBJECT_ADD_KEY_IS_NEW);
    free(key);
    key = NULL;
    skip_ws(r);
    if (r->pos < r->len && r->s[r->pos] == ',') {
      r->pos++;
      skip_ws(r);
      continue;
    }
    if (r->pos < r->len && r->s[r->pos] == '}') {
      r->pos++;
      break;
    }
    err = rd_unexpected(r, p, "',' or '}'");
    goto out;
  }
out:
  free(key);
  if (err) {
    json_object_put(obj);
    return err;
  }
  *out = obj;
  return PARRY_OK;
}

static parry_err_t read_array(reader_t *r, const codec_path_t *p, json_object **out) {
  json_object *arr = json_object_new_array();
  parry_err_t err = PARRY_OK;
  r->pos++;
  skip_ws(r);
  if (r->pos < r->len && r->s[r->pos] == ']') {
    r->pos++;
    goto out;
  }
  for (size_t i = 0;; i++) {
    codec_path_t here = CODEC_INDEX(p, i);
    json_object *val = NULL;
    err = read_value(r, &here, &val);
    if (err) goto out;
    json_object_array_add(arr, val);
    skip_ws(r);
    if (r->pos < r->len && r->s[r->pos] == ',') {
      r->pos++;
      continue;
    }
    if (r->pos < r->len && r->s[r->pos] == ']') {
      r->pos++;
      break;
    }
    err = rd_unexpected(r, p, "',' or ']'");
    goto out;
  }
out:
  if (err) {
    json_object_put(arr);
    return err;
  }
  *out = arr;
  return PARRY_OK;
}

static parry_err_t read_value(reader_t *r, const codec_path_t *p, json_object **out) {
  skip_ws(r);
  if (r->pos >= r->len) return rd_unexpected(r, p, "a value");
  char c = r->s[r->pos];
  if (c == '{' || c == '[') {
    if (r->depth >= PARRY_CODEC_MAX_DEPTH)
      return rd_fail(r, p, "nesting deeper than %d levels", PARRY_CODEC_MAX_DEPTH);
    r->depth++;
    parry_err_t err = c == '{' ? read_object(r, p, out) : read_array(r, p, out);
    r->depth--;
    return err;
  }
  if (c == '"') {
    const char *s;
    size_t len;
    parry_err_t err = read_string(r, p, false, &s, &len);
    if (err) return err;
    *out = json_object_new_string_len(s, (int)len);
    return PARRY_OK;
  }
  if (c == '-' || (c >= '0' && c <= '9')) return read_number(r, p, out);
  return read_literal(r, p, out);
}

parry_err_t parry_codec_parse_json(const char *json, size_t len, json_object **out, char *errstr,
                                   size_t errstr_size) {
  /* json-c stores string lengths as int. */
  if (len > INT32_MAX)
    return parry_fail(errstr, errstr_size, PARRY_ERR_TOO_LARGE,
                      "JSON input of %zu bytes is too large", len);
  reader_t r = {.s = json, .len = len, .errstr = errstr, .errstr_size = errstr_size};
  parry_buf_init(&r.scratch, 0);
  json_object *obj = NULL;
  parry_err_t err = read_value(&r, NULL, &obj);
  if (!err) {
    skip_ws(&r);
    if (r.pos < r.len) err = rd_fail(&r, NULL, "unexpected data after the JSON value");
  }
  parry_buf_free(&r.scratch);
  if (err) {
    json_object_put(obj);
    return err;
  }
  *out = obj;
  return PARRY_OK;
}
