#include "vendor.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/timefmt.h"

bool parry_vendor_reserved(const char *key, size_t len) {
  static const struct {
    const char *name;
    size_t len;
  } reserved[] = {{"@timestamp", 10}, {"event", 5},   {"source", 6},    {"destination", 11},
                  {"user", 4},        {"host", 4},    {"process", 7},   {"message", 7},
                  {"logsource", 9},   {"schema_version", 14}};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (reserved[i].len == len && memcmp(reserved[i].name, key, len) == 0) return true;
  return false;
}

void parry_vendor_int(Parry__V1__Value *v, int64_t i) {
  v->kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
  v->int_value = i;
}

void parry_vendor_null(Parry__V1__Value *v) {
  v->kind_case = PARRY__V1__VALUE__KIND_NULL_VALUE;
  v->null_value = 1;
}

/* Printable ASCII without NUL: copied as it is. */
static bool plain(const char *key, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!key[i] || (unsigned char)key[i] >= 0x80) return false;
  return true;
}

Parry__V1__Value *parry_vendor_put(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key,
                                   size_t len) {
  if (plain(key, len)) return parry_evb_map_put(b, map, key, len);
  const char *clean = parry_evb_text(b, key, len);
  return parry_evb_map_put(b, map, clean, strlen(clean));
}

Parry__V1__Value *parry_vendor_append(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key,
                                      size_t len) {
  static const Parry__V1__Entry einit = PARRY__V1__ENTRY__INIT;
  static const Parry__V1__Value vinit = PARRY__V1__VALUE__INIT;
  if (!plain(key, len)) return parry_vendor_put(b, map, key, len);
  /* the same growth as parry_evb_map_put, so the two can be mixed */
  size_t n = map->n_entries;
  if (n == 0 || (n & (n - 1)) == 0) {
    Parry__V1__Entry **grown = parry_arena_alloc(b->arena, (n ? 2 * n : 4) * sizeof *grown);
    if (n) memcpy(grown, map->entries, n * sizeof *grown);
    map->entries = grown;
  }
  Parry__V1__Entry *e = parry_arena_alloc(b->arena, sizeof *e);
  *e = einit;
  e->key = parry_arena_strndup(b->arena, key, len);
  e->value = parry_arena_alloc(b->arena, sizeof *e->value);
  *e->value = vinit;
  map->entries[map->n_entries++] = e;
  return e->value;
}

Parry__V1__Value *parry_vendor_top(parry_evb_t *b, const char *ns, const char *key, size_t len) {
  if (parry_vendor_reserved(key, len)) return parry_vendor_put(b, parry_evb_map_at(b, ns), key, len);
  return parry_vendor_put(b, parry_evb_map_at(b, ""), key, len);
}

/* A number the codec's reader kept as text: a double when the codec writes
 * that double back as the same text, else the text itself (the rule in
 * parry/codec.h), so vendor numbers are written out exactly as read. */
static bool number_value(parry_evb_t *b, Parry__V1__Value *v, json_object *o) {
  const char *text = json_object_get_userdata(o);
  if (!text) return false;
  size_t len = strlen(text);
  double d = strtod(text, NULL);
  if (isfinite(d)) {
    Parry__V1__Value tmp = PARRY__V1__VALUE__INIT;
    tmp.kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
    tmp.double_value = d;
    parry_field_t f = {.kind = PARRY_FIELD_VALUE, .value = &tmp};
    char buf[PARRY_FIELD_TEXT_MAX];
    size_t n = 0;
    const char *canon = parry_field_text(&f, buf, sizeof buf, &n);
    if (canon && n == len && memcmp(canon, text, len) == 0) {
      v->kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
      v->double_value = d;
      return true;
    }
  }
  /* Only the codec's own reader sets this text, and it checks the syntax. */
  v->kind_case = PARRY__V1__VALUE__KIND_NUMBER_TEXT;
  v->number_text = parry_arena_strndup(b->arena, text, len);
  return true;
}

bool parry_vendor_value(parry_evb_t *b, Parry__V1__Value *v, json_object *o, int depth) {
  switch (json_object_get_type(o)) {
  case json_type_null: parry_vendor_null(v); return true;
  case json_type_boolean:
    v->kind_case = PARRY__V1__VALUE__KIND_BOOL_VALUE;
    v->bool_value = json_object_get_boolean(o) ? 1 : 0;
    return true;
  case json_type_int: {
    int64_t i = json_object_get_int64(o);
    /* json-c saturates integers past INT64_MAX: let the codec keep the text */
    if (i == INT64_MAX && json_object_get_uint64(o) != (uint64_t)INT64_MAX) break;
    parry_vendor_int(v, i);
    return true;
  }
  case json_type_double:
    if (number_value(b, v, o)) return true;
    break;
  case json_type_string:
    parry_evb_value_str(b, v, json_object_get_string(o), (size_t)json_object_get_string_len(o));
    return true;
  case json_type_array: {
    if (depth >= PARRY_CODEC_MAX_DEPTH) return false;
    size_t n = json_object_array_length(o);
    static const Parry__V1__ValueList empty = PARRY__V1__VALUE_LIST__INIT;
    v->kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
    v->list_value = parry_arena_alloc(b->arena, sizeof *v->list_value);
    *v->list_value = empty;
    for (size_t i = 0; i < n; i++)
      if (!parry_vendor_value(b, parry_evb_list_append(b, v), json_object_array_get_idx(o, i),
                              depth + 1))
        return false;
    return true;
  }
  case json_type_object: {
    if (depth >= PARRY_CODEC_MAX_DEPTH) return false;
    /* A JSON object's keys are distinct (the codec's reader refuses
     * duplicates), so members are appended without parry_evb_map_put's
     * search for an existing key, which would make a wide object cost its
     * width squared. Keys that are not plain ASCII take the searching path:
     * cleaning invalid UTF-8 could make two of them equal. */
    static const Parry__V1__Entry einit = PARRY__V1__ENTRY__INIT;
    static const Parry__V1__Value vinit = PARRY__V1__VALUE__INIT;
    Parry__V1__ValueMap *m = parry_evb_value_map(b, v);
    /* parry_evb_map_put grows arrays at powers of two (at least 4); an
     * array sized that way lets later puts into this map (a parser adding
     * "network.transport" next to a vendor "network" object) grow it. */
    size_t cap = 4;
    while (cap < (size_t)json_object_object_length(o)) cap *= 2;
    m->entries = parry_arena_alloc(b->arena, cap * sizeof *m->entries);
    json_object_object_foreach(o, key, val) {
      size_t klen = strlen(key);
      Parry__V1__Value *child;
      if (!plain(key, klen)) {
        child = parry_vendor_put(b, m, key, klen);
      } else {
        Parry__V1__Entry *e = parry_arena_alloc(b->arena, sizeof *e);
        *e = einit;
        e->key = parry_arena_strndup(b->arena, key, klen);
        e->value = parry_arena_alloc(b->arena, sizeof *e->value);
        *e->value = vinit;
        m->entries[m->n_entries++] = e;
        child = e->value;
      }
      if (!parry_vendor_value(b, child, val, depth + 1)) return false;
    }
    return true;
  }
  }
  return parry_evb_value_from_json(b, v, o);
}

bool parry_vendor_top_json(parry_evb_t *b, const char *ns, const char *key, size_t len,
                           json_object *o) {
  bool nested = parry_vendor_reserved(key, len);
  return parry_vendor_value(b, parry_vendor_top(b, ns, key, len), o, nested ? 2 : 1);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool parry_vendor_time(const char *s, size_t len, int64_t *out_ns) {
  if (parry_time_parse_rfc3339(s, len, out_ns) == PARRY_OK) return true;
  /* "YYYY-MM-DDTHH:MM:SS" then an optional fraction, then the zone */
  if (len < 19 || len > 60) return false;
  size_t i = 19;
  if (i < len && s[i] == '.') {
    i++;
    while (i < len && is_digit(s[i])) i++;
  }
  char buf[72];
  memcpy(buf, s, i);
  size_t n = i, rest = len - i;
  const char *z = s + i;
  if (rest == 0) {
    buf[n++] = 'Z';
  } else if (rest == 5 && (z[0] == '+' || z[0] == '-') && is_digit(z[1]) && is_digit(z[2]) &&
             is_digit(z[3]) && is_digit(z[4])) {
    buf[n++] = z[0];
    buf[n++] = z[1];
    buf[n++] = z[2];
    buf[n++] = ':';
    buf[n++] = z[3];
    buf[n++] = z[4];
  } else {
    return false;
  }
  return parry_time_parse_rfc3339(buf, n, out_ns) == PARRY_OK;
}

bool parry_vendor_epoch(const char *s, size_t len, int64_t *out_ns) {
  /* value = digits * 10^exp10, read exactly as decimal text */
  size_t i = 0;
  bool neg = false;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  char digits[40];
  size_t nd = 0, seen = 0;
  int exp10 = 0;
  bool dot = false;
  for (; i < len && (is_digit(s[i]) || (s[i] == '.' && !dot)); i++) {
    if (s[i] == '.') {
      dot = true;
      continue;
    }
    seen++;
    if (nd == 0 && s[i] == '0') { /* leading zeros carry no digits */
      if (dot) exp10--;
      continue;
    }
    if (nd < sizeof digits) {
      digits[nd++] = s[i];
      if (dot) exp10--;
    } else if (!dot) {
      exp10++; /* digits past what we keep: only their magnitude counts */
    }
  }
  if (seen == 0) return false;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    if (i == len || !is_digit(s[i])) return false;
    int e = 0;
    for (; i < len && is_digit(s[i]); i++)
      if (e < 1000) e = e * 10 + (s[i] - '0');
    exp10 += eneg ? -e : e;
  }
  if (i != len) return false;
  /* nanoseconds: digits * 10^(exp10 + 9), truncated toward zero */
  int shift = exp10 + 9;
  int keep = (int)nd + (shift < 0 ? shift : 0); /* leading digits that stay */
  if (nd == 0 || keep <= 0) {
    *out_ns = 0;
    return true;
  }
  uint64_t v = 0;
  for (int k = 0; k < keep; k++) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(digits[k] - '0');
  }
  for (int k = 0; k < shift; k++) {
    if (v > UINT64_MAX / 10) return false;
    v *= 10;
  }
  /* the int64 nanosecond range, a little inside (years 1678..2261) */
  if (v > 9000000000LL * PARRY_NS_PER_SEC) return false;
  *out_ns = neg ? -(int64_t)v : (int64_t)v;
  return true;
}

bool parry_vendor_uint(const char *s, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    if (len > 18) return false;
    for (size_t i = 2; i < len; i++) {
      char c = s[i];
      int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                   : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + (uint64_t)d;
    }
    *out = v;
    return true;
  }
  if (len == 0 || len > 19) return false;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(s[i])) return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return true;
}

bool parry_vendor_port(const char *s, size_t len, uint32_t *out) {
  uint64_t v;
  if (len > 5 || !parry_vendor_uint(s, len, &v) || (len > 1 && s[1] == 'x') || v == 0 ||
      v > 65535)
    return false;
  *out = (uint32_t)v;
  return true;
}

const char *parry_vendor_quote(char out[72], const char *s, size_t len) {
  size_t n = 0;
  out[n++] = '"';
  for (size_t i = 0; i < len && i < 64; i++) {
    unsigned char c = (unsigned char)s[i];
    out[n++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
  }
  if (len > 64) {
    out[n - 1] = '.';
    out[n - 2] = '.';
  }
  out[n++] = '"';
  out[n] = '\0';
  return out;
}

const char *parry_vendor_text(const Parry__V1__Value *v, char buf[32], size_t *len) {
  if (!v) return NULL;
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_STRING_VALUE: *len = strlen(v->string_value); return v->string_value;
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT: *len = strlen(v->number_text); return v->number_text;
  case PARRY__V1__VALUE__KIND_INT_VALUE:
    *len = (size_t)snprintf(buf, 32, "%lld", (long long)v->int_value);
    return buf;
  case PARRY__V1__VALUE__KIND_BOOL_VALUE:
    *len = v->bool_value ? 4 : 5;
    return v->bool_value ? "true" : "false";
  default: return NULL;
  }
}
