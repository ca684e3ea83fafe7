/* Value trees <-> JSON, and the pieces every codec file shares: error paths,
 * UTF-8, the number rule, times and the JSON writer. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "parry/mem.h"
#include "parry/timefmt.h"

/* ---- error paths ---- */

/* Keys come from input: keep control bytes and broken UTF-8 out of messages
 * that end up in logs. */
static size_t put_key(char *out, size_t size, size_t at, const char *key) {
  size_t len = strlen(key);
  bool utf8 = codec_utf8_valid(key, len);
  for (size_t i = 0; i < len && at + 1 < size; i++) {
    unsigned char c = (unsigned char)key[i];
    out[at++] = c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8) ? '?' : (char)c;
  }
  return at;
}

void codec_path_render(const codec_path_t *p, char *out, size_t size) {
  const codec_path_t *frames[PARRY_CODEC_MAX_DEPTH * 2 + 8];
  size_t n = 0, at = 0;
  bool cut = false;
  for (; p; p = p->up) {
    if (n == sizeof frames / sizeof frames[0]) {
      cut = true;
      break;
    }
    frames[n++] = p;
  }
  if (size == 0) return;
  out[0] = '\0';
  if (cut) at = (size_t)snprintf(out, size, "...");
  while (n-- > 0 && at + 1 < size) {
    const codec_path_t *f = frames[n];
    if (f->key) {
      if (at > 0) out[at++] = '.';
      at = put_key(out, size, at, f->key);
    } else {
      int w = snprintf(out + at, size - at, "[%zu]", f->index);
      at = w < 0 ? at : at + (size_t)w;
    }
    if (at >= size) at = size - 1;
  }
  out[at] = '\0';
}

parry_err_t codec_fail(char *errstr, size_t errstr_size, parry_err_t err, const codec_path_t *p,
                       const char *fmt, ...) {
  if (!errstr || errstr_size == 0) return err;
  char path[256], msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  codec_path_render(p, path, sizeof path);
  if (path[0])
    snprintf(errstr, errstr_size, "%s: %s", path, msg);
  else
    snprintf(errstr, errstr_size, "%s", msg);
  return err;
}

/* ---- UTF-8 and numbers ---- */

size_t codec_utf8_sequence(const char *s, size_t avail) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n;
  uint32_t cp;
  if (u[0] >= 0xC2 && u[0] <= 0xDF) {
    n = 2;
    cp = u[0] & 0x1Fu;
  } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
    n = 3;
    cp = u[0] & 0x0Fu;
  } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
    n = 4;
    cp = u[0] & 0x07u;
  } else {
    return 0;
  }
  if (avail < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((u[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (u[i] & 0x3Fu);
  }
  /* Overlong forms, surrogates and code points past U+10FFFF. */
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

bool codec_utf8_valid(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = codec_utf8_sequence(s + i, len - i);
    if (!n) return false;
    i += n;
  }
  return true;
}

bool codec_number_valid(const char *s, size_t len) {
  size_t i = 0;
  if (i < len && s[i] == '-') i++;
  if (i < len && s[i] == '0') {
    i++;
  } else {
    size_t d = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d || s[d] == '0') return false;
  }
  if (i < len && s[i] == '.') {
    size_t d = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return false;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return false;
  }
  return i == len;
}

size_t codec_format_double(double d, char buf[32]) {
  /* The fewest significant digits that read back to the same double (17
   * always do), laid out like Python's repr: fixed notation for decimal
   * exponents -4..15, exponent notation beyond. */
  char sci[32];
  /* Binary search on the digit count: reading back exactly is monotonic in
   * practice, and the writer and reader share this function, so the text is
   * canonical either way. */
  int lo = 1, hi = 17;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    snprintf(sci, sizeof sci, "%.*e", mid - 1, d);
    if (strtod(sci, NULL) == d)
      hi = mid;
    else
      lo = mid + 1;
  }
  int digits = lo;
  snprintf(sci, sizeof sci, "%.*e", digits - 1, d);
  int exp10 = atoi(strchr(sci, 'e') + 1);
  int n;
  if (exp10 >= -4 && exp10 < 16) {
    int decimals = digits - 1 - exp10;
    n = snprintf(buf, 32, "%.*f", decimals > 0 ? decimals : 0, d);
    if (!strchr(buf, '.')) {
      memcpy(buf + n, ".0", 3);
      n += 2;
    }
  } else {
    n = snprintf(buf, 32, "%s", sci);
  }
  return (size_t)n;
}

static bool is_integer_literal(const char *s) { return !strpbrk(s, ".eE"); }

/* The number rule of codec.h, for a literal already known to be valid. */
static void number_from_text(Parry__V1__Value *v, const char *text) {
  if (is_integer_literal(text)) {
    if (strcmp(text, "-0") != 0) {
      errno = 0;
      long long i = strtoll(text, NULL, 10);
      if (errno == 0) {
        v->kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
        v->int_value = i;
        return;
      }
    }
  } else {
    double d = strtod(text, NULL);
    char canon[32];
    if (isfinite(d)) {
      codec_format_double(d, canon);
      if (strcmp(canon, text) == 0) {
        v->kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
        v->double_value = d;
        return;
      }
    }
  }
  v->kind_case = PARRY__V1__VALUE__KIND_NUMBER_TEXT;
  v->number_text = parry_xstrdup(text);
}

/* ---- reading json-c values ---- */

const char *codec_json_type_name(json_object *o) {
  switch (json_object_get_type(o)) {
  case json_type_null: return "null";
  case json_type_boolean: return "boolean";
  case json_type_int: return "integer";
  case json_type_double: return "number";
  case json_type_string: return "string";
  case json_type_array: return "array";
  case json_type_object: return "object";
  }
  return "unknown";
}

/* The literal text the reader (or json-c's tokener) kept for a double. */
static const char *double_text(json_object *o) {
  const char *t = json_object_get_userdata(o);
  return t && codec_number_valid(t, strlen(t)) ? t : NULL;
}

void codec_describe(json_object *o, char *out, size_t size) {
  switch (json_object_get_type(o)) {
  case json_type_int: {
    int64_t i = json_object_get_int64(o);
    uint64_t u = json_object_get_uint64(o);
    if (i == INT64_MAX && u > (uint64_t)INT64_MAX)
      snprintf(out, size, "%llu", (unsigned long long)u);
    else
      snprintf(out, size, "%lld", (long long)i);
    return;
  }
  case json_type_double: {
    const char *t = double_text(o);
    if (t && strlen(t) <= 40)
      snprintf(out, size, "%s", t);
    else
      snprintf(out, size, "number %.17g", json_object_get_double(o));
    return;
  }
  default: snprintf(out, size, "%s", codec_json_type_name(o));
  }
}

bool codec_json_int64(json_object *o, int64_t *out) {
  if (json_object_get_type(o) != json_type_int) return false;
  int64_t i = json_object_get_int64(o);
  /* json-c saturates a uint64 past INT64_MAX when read as int64. */
  if (i == INT64_MAX && json_object_get_uint64(o) != (uint64_t)INT64_MAX) return false;
  *out = i;
  return true;
}

bool codec_json_uint64(json_object *o, uint64_t *out) {
  if (json_object_get_type(o) == json_type_int) {
    int64_t i = json_object_get_int64(o);
    if (i < 0) return false;
    *out = i == INT64_MAX ? json_object_get_uint64(o) : (uint64_t)i;
    return true;
  }
  /* The reader keeps integers past INT64_MAX as text. */
  const char *t = json_object_get_type(o) == json_type_double ? double_text(o) : NULL;
  if (!t || t[0] == '-' || !is_integer_literal(t)) return false;
  errno = 0;
  unsigned long long u = strtoull(t, NULL, 10);
  if (errno) return false;
  *out = u;
  return true;
}

parry_err_t codec_json_string(json_object *o, const codec_path_t *p, const char **out,
                              size_t *len, char *errstr, size_t errstr_size) {
  const char *s = json_object_get_string(o);
  size_t n = (size_t)json_object_get_string_len(o);
  if (strlen(s) != n)
    return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p,
                      "U+0000 is not supported in strings");
  if (!codec_utf8_valid(s, n))
    return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p, "invalid UTF-8 in string");
  *out = s;
  *len = n;
  return PARRY_OK;
}

/* ---- times ---- */

/* timefmt's arithmetic is exact only well inside int64 nanoseconds, and it
 * truncates fraction digits past 9; the codec wants neither, and wants the
 * reader and the writer to accept the same instants. */
#define CODEC_MIN_YEAR 1678
#define CODEC_MAX_YEAR 2261

bool codec_time_in_range(int64_t ns) {
  /* The bounds are constants, but days_from_civil is not a constant
   * expression: computed once per thread (every event's timestamp is
   * checked on the way out). */
  static _Thread_local int64_t lo, hi;
  static _Thread_local bool ready;
  if (!ready) {
    lo = parry_days_from_civil(CODEC_MIN_YEAR, 1, 1) * 86400 * PARRY_NS_PER_SEC;
    hi = parry_days_from_civil(CODEC_MAX_YEAR + 1, 1, 1) * 86400 * PARRY_NS_PER_SEC;
    ready = true;
  }
  return ns >= lo && ns < hi;
}

static bool printable_ascii(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] > 0x7e) return false;
  return true;
}

parry_err_t codec_time_parse(json_object *o, const codec_path_t *p, int64_t *out, char *errstr,
                             size_t errstr_size) {
  char got[64];
  if (json_object_get_type(o) != json_type_string) {
    codec_describe(o, got, sizeof got);
    return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p,
                      "expected an RFC 3339 time, got %s", got);
  }
  const char *s = json_object_get_string(o);
  size_t len = (size_t)json_object_get_string_len(o);
  bool shown = len <= 40 && printable_ascii(s, len);
  bool has_year = len >= 4;
  unsigned year = 0;
  for (size_t i = 0; i < 4 && has_year; i++) {
    has_year = s[i] >= '0' && s[i] <= '9';
    year = year * 10 + (unsigned)(s[i] - '0');
  }
  size_t frac = 0;
  if (len > 19 && s[19] == '.')
    while (20 + frac < len && s[20 + frac] >= '0' && s[20 + frac] <= '9') frac++;
  bool year_ok = has_year && year >= CODEC_MIN_YEAR && year <= CODEC_MAX_YEAR;
  int64_t ns = 0;
  bool parsed = year_ok && frac <= 9 && strlen(s) == len &&
                parry_time_parse_rfc3339(s, len, &ns) == PARRY_OK;
  if (parsed && codec_time_in_range(ns)) {
    *out = ns;
    return PARRY_OK;
  }
  if (parsed || (has_year && !year_ok))
    return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p,
                      "time \"%.*s\" is outside the years %d..%d", shown ? (int)len : 3,
                      shown ? s : "...", CODEC_MIN_YEAR, CODEC_MAX_YEAR);
  if (frac > 9)
    return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p,
                      "expected an RFC 3339 time with at most 9 fraction digits");
  if (shown)
    return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p,
                      "expected an RFC 3339 time, got \"%.*s\"", (int)len, s);
  return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p,
                    "expected an RFC 3339 time, got a string that is not one");
}

/* ---- json-c -> Value ---- */

Parry__V1__Value *codec_value_new(void) {
  Parry__V1__Value *v = parry_xmalloc(sizeof *v);
  parry__v1__value__init(v);
  return v;
}

Parry__V1__Entry *codec_entry_new(const char *key, Parry__V1__Value *value) {
  Parry__V1__Entry *e = parry_xmalloc(sizeof *e);
  parry__v1__entry__init(e);
  e->key = parry_xstrdup(key);
  e->value = value;
  return e;
}

static parry_err_t depth_check(int depth, const codec_path_t *p, char *errstr,
                               size_t errstr_size) {
  if (depth < PARRY_CODEC_MAX_DEPTH) return PARRY_OK;
  return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p, "nesting deeper than %d levels",
                    PARRY_CODEC_MAX_DEPTH);
}

parry_err_t codec_value_from_json(json_object *o, const codec_path_t *p, int depth,
                                  Parry__V1__Value **out, char *errstr, size_t errstr_size) {
  Parry__V1__Value *v = codec_value_new();
  parry_err_t err = PARRY_OK;
  switch (json_object_get_type(o)) {
  case json_type_null:
    v->kind_case = PARRY__V1__VALUE__KIND_NULL_VALUE;
    v->null_value = 1;
    break;
  case json_type_boolean:
    v->kind_case = PARRY__V1__VALUE__KIND_BOOL_VALUE;
    v->bool_value = json_object_get_boolean(o) ? 1 : 0;
    break;
  case json_type_int: {
    int64_t i;
    if (codec_json_int64(o, &i)) {
      v->kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
      v->int_value = i;
    } else {
      char text[24];
      snprintf(text, sizeof text, "%llu", (unsigned long long)json_object_get_uint64(o));
      number_from_text(v, text);
    }
    break;
  }
  case json_type_double: {
    const char *t = double_text(o);
    double d = json_object_get_double(o);
    if (t) {
      number_from_text(v, t);
    } else if (isfinite(d)) {
      v->kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
      v->double_value = d;
    } else {
      err = codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p, "not a finite number");
    }
    break;
  }
  case json_type_string: {
    const char *s;
    size_t len;
    err = codec_json_string(o, p, &s, &len, errstr, errstr_size);
    if (err) break;
    v->kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
    v->string_value = parry_xstrndup(s, len);
    break;
  }
  case json_type_array: {
    err = depth_check(depth, p, errstr, errstr_size);
    if (err) break;
    size_t n = json_object_array_length(o);
    Parry__V1__ValueList *list = parry_xmalloc(sizeof *list);
    parry__v1__value_list__init(list);
    v->kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
    v->list_value = list;
    list->items = parry_xnew(Parry__V1__Value *, n ? n : 1);
    for (size_t i = 0; i < n && !err; i++) {
      codec_path_t here = CODEC_INDEX(p, i);
      err = codec_value_from_json(json_object_array_get_idx(o, i), &here, depth + 1,
                                  &list->items[i], errstr, errstr_size);
      if (!err) list->n_items++;
    }
    break;
  }
  case json_type_object: {
    err = depth_check(depth, p, errstr, errstr_size);
    if (err) break;
    size_t n = (size_t)json_object_object_length(o);
    Parry__V1__ValueMap *map = parry_xmalloc(sizeof *map);
    parry__v1__value_map__init(map);
    v->kind_case = PARRY__V1__VALUE__KIND_MAP_VALUE;
    v->map_value = map;
    map->entries = parry_xnew(Parry__V1__Entry *, n ? n : 1);
    struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
    for (; !err && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
      const char *key = json_object_iter_peek_name(&it);
      codec_path_t here = CODEC_KEY(p, key);
      if (!codec_utf8_valid(key, strlen(key))) {
        err = codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, &here, "invalid UTF-8 in key");
        break;
      }
      Parry__V1__Value *child = NULL;
      err = codec_value_from_json(json_object_iter_peek_value(&it), &here, depth + 1, &child,
                                  errstr, errstr_size);
      if (!err) map->entries[map->n_entries++] = codec_entry_new(key, child);
    }
    break;
  }
  }
  if (err) {
    parry__v1__value__free_unpacked(v, NULL);
    return err;
  }
  *out = v;
  return PARRY_OK;
}

parry_err_t parry_value_from_json_object(json_object *obj, Parry__V1__Value **out, char *errstr,
                                         size_t errstr_size) {
  return codec_value_from_json(obj, NULL, 0, out, errstr, errstr_size);
}

parry_err_t codec_schema_version(json_object *o, const codec_path_t *p, uint32_t *out,
                                 char *errstr, size_t errstr_size) {
  uint64_t v;
  char got[64];
  if (codec_json_uint64(o, &v) && v > PARRY_SCHEMA_VERSION)
    return codec_fail(errstr, errstr_size, PARRY_ERR_UNSUPPORTED, p,
                      "schema_version %llu is newer than the supported version %d",
                      (unsigned long long)v, PARRY_SCHEMA_VERSION);
  if (codec_json_uint64(o, &v) && v >= 1) {
    *out = (uint32_t)v;
    return PARRY_OK;
  }
  codec_describe(o, got, sizeof got);
  return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p,
                    "expected an integer 1..%d, got %s", PARRY_SCHEMA_VERSION, got);
}

/* ---- the writer ---- */

void codec_writer_init(codec_writer_t *w, parry_buf_t *out, char *errstr, size_t errstr_size) {
  w->out = out;
  w->start = out->len;
  w->err = PARRY_OK;
  w->errstr = errstr;
  w->errstr_size = errstr_size;
}

parry_err_t codec_writer_finish(codec_writer_t *w) {
  if (w->err) {
    w->out->len = w->start;
    if (w->out->data) w->out->data[w->start] = '\0';
  }
  return w->err;
}

void codec_w_fail(codec_writer_t *w, parry_err_t err, const codec_path_t *p, const char *fmt,
                  ...) {
  if (w->err) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  w->err = codec_fail(w->errstr, w->errstr_size, err, p, "%s", msg);
}

static void buf_result(codec_writer_t *w, parry_err_t err) {
  if (err && !w->err)
    w->err = parry_fail(w->errstr, w->errstr_size, err,
                        "could not write JSON: output exceeds the buffer cap of %zu bytes",
                        w->out->cap);
}

void codec_w_raw_slow(codec_writer_t *w, const char *s, size_t len) {
  if (!w->err) buf_result(w, parry_buf_append(w->out, s, len));
}

void codec_w_string(codec_writer_t *w, const char *s, const codec_path_t *p) {
  if (w->err) return;
  if (!s) s = "";
  size_t len = strlen(s);
  /* Quotes, validation and escaping in one pass over the bytes. */
  parry_err_t err = parry_buf_append_json_quoted_strict(w->out, s, len);
  if (err == PARRY_ERR_INVALID) {
    codec_w_fail(w, PARRY_ERR_INVALID, p, "invalid UTF-8 in string");
    return;
  }
  buf_result(w, err);
}

void codec_w_key(codec_writer_t *w, bool *first, const char *key, const codec_path_t *p) {
  if (!key) key = "";
  if (w->err) return;
  /* Nearly every key is short, plain ASCII: with room (and within the cap)
   * the comma, quotes, key and colon go straight into the buffer. */
  {
    size_t klen = strlen(key), comma = *first ? 0 : 1, n = comma + klen + 3;
    parry_buf_t *b = w->out;
    if (klen >= 1 && klen <= 32 && b->alloc - b->len > n && (b->cap == 0 || b->cap - b->len >= n)) {
      char *o = b->data + b->len;
      if (parry_json_copy_plain_short(o + comma + 1, key, klen)) {
        o[0] = ',';
        o[comma] = '"';
        o[n - 2] = '"';
        o[n - 1] = ':';
        o[n] = '\0';
        b->len += n;
        *first = false;
        return;
      }
    }
  }
  /* Longer plain keys: one pass finds that and builds the output (comma,
   * quotes and colon) for a single append. */
  {
    char plain[64];
    size_t n = *first ? 0 : 1, i = 0;
    plain[0] = ',';
    plain[n++] = '"';
    for (; n < sizeof plain - 2; i++) {
      unsigned char c = (unsigned char)key[i];
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
      plain[n++] = (char)c;
    }
    if (key[i] == '\0') {
      *first = false;
      plain[n++] = '"';
      plain[n++] = ':';
      codec_w_raw(w, plain, n);
      return;
    }
  }
  size_t len = strlen(key);
  if (!codec_utf8_valid(key, len)) {
    codec_w_fail(w, PARRY_ERR_INVALID, p, "invalid UTF-8 in key");
    return;
  }
  /* Nearly every key is short and plain: write it with its quotes, colon and
   * comma in one append. */
  char plain[64];
  size_t n = 0;
  if (!*first) plain[n++] = ',';
  *first = false;
  plain[n++] = '"';
  for (size_t i = 0; i < len && n < sizeof plain - 2; i++) {
    unsigned char c = (unsigned char)key[i];
    if (c < 0x20 || c == '"' || c == '\\') break;
    plain[n++] = (char)c;
  }
  if (n - 1 - (plain[0] == ',') == len) {
    plain[n++] = '"';
    plain[n++] = ':';
    codec_w_raw(w, plain, n);
    return;
  }
  codec_w_raw(w, plain, (size_t)(plain[0] == ',') + 1);
  if (!w->err) buf_result(w, parry_buf_append_json_string(w->out, key, len));
  codec_w_lit(w, "\":");
}

void codec_w_uint(codec_writer_t *w, uint64_t v) {
  char buf[24];
  size_t i = sizeof buf;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  codec_w_raw(w, buf + i, sizeof buf - i);
}

void codec_w_int(codec_writer_t *w, int64_t v) {
  if (v < 0) {
    codec_w_lit(w, "-");
    codec_w_uint(w, (uint64_t)0 - (uint64_t)v);
  } else {
    codec_w_uint(w, (uint64_t)v);
  }
}

static char *put2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

static char *put_frac(char *p, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

/* parry_time_format_rfc3339's text, with the date part ("YYYY-MM-DDT", the
 * costly civil-from-days step) kept per thread for the last day seen, and
 * the whole "YYYY-MM-DDTHH:MM:SS" for the last second seen: events come in
 * time order, so it is nearly always the same day and often the same
 * second. The rest is laid out here exactly as timefmt.c does; any other
 * shape of date (a year outside 0..9999) takes the full formatter. */
size_t codec_time_text(int64_t ns, char *out) {
  static _Thread_local struct {
    bool valid, sec_valid;
    int64_t days, secs;
    char date[11];
    char sec[20]; /* "YYYY-MM-DDTHH:MM:SS" of secs */
  } day;
  int64_t secs = ns / PARRY_NS_PER_SEC, frac = ns % PARRY_NS_PER_SEC;
  if (frac < 0) {
    frac += PARRY_NS_PER_SEC;
    secs--;
  }
  char *p = out;
  if (day.sec_valid && day.secs == secs) {
    memcpy(p, day.sec, 19);
    p += 19;
  } else {
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
      rem += 86400;
      days--;
    }
    if (!day.valid || day.days != days) {
      char tmp[PARRY_TIME_MAX_LEN];
      size_t n = parry_time_format_rfc3339(days * 86400 * PARRY_NS_PER_SEC, tmp);
      if (n != 20 || tmp[10] != 'T') return parry_time_format_rfc3339(ns, out);
      memcpy(day.date, tmp, 11);
      day.days = days;
      day.valid = true;
    }
    memcpy(p, day.date, 11);
    p += 11;
    p = put2(p, (unsigned)(rem / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(rem / 60 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(rem % 60));
    memcpy(day.sec, out, 19);
    day.secs = secs;
    day.sec_valid = true;
  }
  if (frac) {
    *p++ = '.';
    if (frac % 1000000 == 0) p = put_frac(p, (uint64_t)(frac / 1000000), 3);
    else if (frac % 1000 == 0) p = put_frac(p, (uint64_t)(frac / 1000), 6);
    else p = put_frac(p, (uint64_t)frac, 9);
  }
  *p++ = 'Z';
  *p = '\0';
  return (size_t)(p - out);
}

void codec_w_time(codec_writer_t *w, int64_t ns, const codec_path_t *p) {
  if (!codec_time_in_range(ns)) {
    codec_w_fail(w, PARRY_ERR_INVALID, p, "time %lld ns is outside the years %d..%d",
                 (long long)ns, CODEC_MIN_YEAR, CODEC_MAX_YEAR);
    return;
  }
  char buf[PARRY_TIME_MAX_LEN + 2];
  buf[0] = '"';
  size_t n = codec_time_text(ns, buf + 1);
  buf[n + 1] = '"';
  codec_w_raw(w, buf, n + 2);
}

static const char *kind_name(const Parry__V1__Value *v) {
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_NULL_VALUE: return "null";
  case PARRY__V1__VALUE__KIND_BOOL_VALUE: return "boolean";
  case PARRY__V1__VALUE__KIND_INT_VALUE:
  case PARRY__V1__VALUE__KIND_DOUBLE_VALUE:
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT: return "number";
  case PARRY__V1__VALUE__KIND_STRING_VALUE: return "string";
  case PARRY__V1__VALUE__KIND_LIST_VALUE: return "list";
  case PARRY__V1__VALUE__KIND_MAP_VALUE: return "map";
  default: return "value without a kind";
  }
}

void codec_w_value(codec_writer_t *w, const Parry__V1__Value *v, const codec_path_t *p,
                   int depth) {
  if (w->err) return;
  if (!v || v->kind_case == PARRY__V1__VALUE__KIND__NOT_SET) {
    codec_w_fail(w, PARRY_ERR_INVALID, p, "value has no kind");
    return;
  }
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_NULL_VALUE: codec_w_lit(w, "null"); break;
  case PARRY__V1__VALUE__KIND_BOOL_VALUE:
    if (v->bool_value)
      codec_w_lit(w, "true");
    else
      codec_w_lit(w, "false");
    break;
  case PARRY__V1__VALUE__KIND_INT_VALUE: codec_w_int(w, v->int_value); break;
  case PARRY__V1__VALUE__KIND_DOUBLE_VALUE: {
    if (!isfinite(v->double_value)) {
      codec_w_fail(w, PARRY_ERR_INVALID, p, "cannot write a non-finite number in JSON");
      return;
    }
    char buf[32];
    size_t n = codec_format_double(v->double_value, buf);
    codec_w_raw(w, buf, n);
    break;
  }
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT: {
    const char *t = v->number_text ? v->number_text : "";
    size_t n = strlen(t);
    if (!codec_number_valid(t, n)) {
      codec_w_fail(w, PARRY_ERR_INVALID, p, "number_text is not a JSON number");
      return;
    }
    codec_w_raw(w, t, n);
    break;
  }
  case PARRY__V1__VALUE__KIND_STRING_VALUE: codec_w_string(w, v->string_value, p); break;
  case PARRY__V1__VALUE__KIND_LIST_VALUE: {
    if (depth >= PARRY_CODEC_MAX_DEPTH) {
      codec_w_fail(w, PARRY_ERR_INVALID, p, "nesting deeper than %d levels",
                   PARRY_CODEC_MAX_DEPTH);
      return;
    }
    const Parry__V1__ValueList *l = v->list_value;
    codec_w_lit(w, "[");
    for (size_t i = 0; l && i < l->n_items && !w->err; i++) {
      codec_path_t here = CODEC_INDEX(p, i);
      if (i) codec_w_lit(w, ",");
      codec_w_value(w, l->items[i], &here, depth + 1);
    }
    codec_w_lit(w, "]");
    break;
  }
  case PARRY__V1__VALUE__KIND_MAP_VALUE: {
    if (depth >= PARRY_CODEC_MAX_DEPTH) {
      codec_w_fail(w, PARRY_ERR_INVALID, p, "nesting deeper than %d levels",
                   PARRY_CODEC_MAX_DEPTH);
      return;
    }
    bool first = true;
    codec_w_lit(w, "{");
    codec_w_map_entries(w, v->map_value, &first, NULL, p, depth + 1);
    codec_w_lit(w, "}");
    break;
  }
  default: codec_w_fail(w, PARRY_ERR_INVALID, p, "value has an unknown kind %d", v->kind_case);
  }
}

static const char *entry_key(const Parry__V1__ValueMap *m, size_t i) {
  return m->entries[i] && m->entries[i]->key ? m->entries[i]->key : "";
}

bool codec_map_has_duplicate(const Parry__V1__ValueMap *m, const char **dup) {
  if (!m || m->n_entries < 2) return false;
  size_t n = m->n_entries;
  /* Small maps (most of them) are cheaper to compare pairwise than to hash. */
  if (n <= 8) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = 0; j < i; j++)
        if (entry_key(m, i)[0] == entry_key(m, j)[0] &&
            strcmp(entry_key(m, i), entry_key(m, j)) == 0) {
          *dup = entry_key(m, i);
          return true;
        }
    return false;
  }
  /* Open addressing over entry indexes + 1, at most half full. */
  uint32_t small[256];
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  uint32_t *slots = cap <= 256 ? small : parry_xnew(uint32_t, cap);
  memset(slots, 0, cap * sizeof *slots);
  bool found = false;
  for (size_t i = 0; i < n && !found; i++) {
    const char *key = entry_key(m, i);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = key; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    size_t at = h & (cap - 1);
    for (; slots[at]; at = (at + 1) & (cap - 1))
      if (strcmp(entry_key(m, slots[at] - 1), key) == 0) {
        *dup = key;
        found = true;
        break;
      }
    slots[at] = (uint32_t)i + 1;
  }
  if (slots != small) free(slots);
  return found;
}

/* An entry "key": "s" where both are short plain text, the common case:
 * written at once. False (nothing written) sends it the general way, which
 * writes the same bytes. */
static inline bool w_key_string_fast(codec_writer_t *w, bool *first, const char *key,
                                     const char *s) {
  size_t klen = strlen(key), len = strlen(s), comma = *first ? 0 : 1;
  size_t need = comma + klen + 3 + len + 2;
  parry_buf_t *b = w->out;
  if (w->err || b->alloc - b->len <= need || (b->cap != 0 && b->cap - b->len < need)) return false;
  char *o = b->data + b->len;
  if (!parry_json_copy_plain_short(o + comma + 1, key, klen) ||
      !parry_json_copy_plain_short(o + comma + klen + 4, s, len)) {
    o[0] = '\0'; /* the buffer stays as it was */
    return false;
  }
  o[0] = ',';
  o[comma] = '"';
  o[comma + 1 + klen] = '"';
  o[comma + 2 + klen] = ':';
  o[comma + 3 + klen] = '"';
  o[need - 1] = '"';
  o[need] = '\0';
  b->len += need;
  *first = false;
  return true;
}

void codec_w_map_entries(codec_writer_t *w, const Parry__V1__ValueMap *m, bool *first,
                         const char *const *reserved, const codec_path_t *p, int depth) {
  const char *dup;
  if (w->err || !m) return;
  if (codec_map_has_duplicate(m, &dup)) {
    codec_path_t here = CODEC_KEY(p, dup);
    codec_w_fail(w, PARRY_ERR_INVALID, &here, "duplicate key");
    return;
  }
  for (size_t i = 0; i < m->n_entries && !w->err; i++) {
    const Parry__V1__Entry *e = m->entries[i];
    const char *key = e && e->key ? e->key : "";
    codec_path_t here = CODEC_KEY(p, key);
    for (size_t r = 0; reserved && reserved[r]; r++)
      if (reserved[r][0] == key[0] && strcmp(reserved[r], key) == 0) {
        codec_w_fail(w, PARRY_ERR_INVALID, &here, "in fields and also a typed field");
        return;
      }
    if (e && e->value && e->value->kind_case == PARRY__V1__VALUE__KIND_STRING_VALUE &&
        e->value->string_value && w_key_string_fast(w, first, key, e->value->string_value))
      continue;
    codec_w_key(w, first, key, &here);
    codec_w_value(w, e ? e->value : NULL, &here, depth);
  }
}

parry_err_t parry_value_to_json(const Parry__V1__Value *v, parry_buf_t *out, char *errstr,
                                size_t errstr_size) {
  codec_writer_t w;
  codec_writer_init(&w, out, errstr, errstr_size);
  codec_w_value(&w, v, NULL, 0);
  return codec_writer_finish(&w);
}

parry_err_t parry_value_map_to_json(const Parry__V1__ValueMap *map, parry_buf_t *out,
                                    char *errstr, size_t errstr_size) {
  codec_writer_t w;
  bool first = true;
  codec_writer_init(&w, out, errstr, errstr_size);
  codec_w_lit(&w, "{");
  codec_w_map_entries(&w, map, &first, NULL, NULL, 1);
  codec_w_lit(&w, "}");
  return codec_writer_finish(&w);
}

const char *codec_value_kind_name(const Parry__V1__Value *v) {
  return v ? kind_name(v) : "value without a kind";
}
