#include "event_builder.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parry/buf.h"
#include "parry/codec.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Length of the valid UTF-8 sequence at s (1..4), or 0. Overlongs,
 * surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) n = 3;
  else if (c >= 0xF0 && c <= 0xF4) n = 4;
  else return 0;
  if (avail < n) return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
  if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
  if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
  if (c == 0xF4 && s[1] >= 0x90) return 0; /* > U+10FFFF */
  return n;
}

/* Whether the 8 bytes of v are all ASCII and none is NUL. The NUL test may
 * report a byte that is fine (after a real one), never miss one, so a false
 * answer only sends the text down the byte-by-byte path. */
static inline bool word_plain(uint64_t v) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  return ((v | ((v - ones) & ~v)) & highs) == 0;
}

/* Whether s[0..len) is ASCII without NUL: a word at a time, the last
 * partial word as an overlapping load, short texts as two overlapping
 * halves (padded with spaces), never a read outside s[0..len). */
static inline bool plain_ascii(const unsigned char *u, size_t len) {
#if defined(__SSE2__)
  if (len >= 16) { /* messages: 16 bytes a step, high bits or zeros */
    const __m128i zero = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
      if (_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)))) return false;
    }
    if (i < len) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + len - 16));
      if (_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)))) return false;
    }
    return true;
  }
#endif
  if (len >= 8) {
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      uint64_t v;
      memcpy(&v, u + i, 8);
      if (!word_plain(v)) return false;
    }
    if (i < len) {
      uint64_t v;
      memcpy(&v, u + len - 8, 8);
      if (!word_plain(v)) return false;
    }
    return true;
  }
  if (len >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, u, 4);
    memcpy(&hi, u + len - 4, 4);
    return word_plain((uint64_t)lo | (uint64_t)hi << 32);
  }
  if (len == 0) return true;
  uint64_t v = (uint64_t)u[0] | (uint64_t)u[len / 2] << 8 | (uint64_t)u[len - 1] << 16 |
               0x2020202020000000ULL;
  return word_plain(v);
}

/* A NUL-terminated arena copy of s[0..len); short texts (most of them:
 * names, keys, addresses) without a call to memcpy. */
static inline char *arena_copy(parry_arena_t *a, const char *s, size_t len) {
  char *p = parry_arena_alloc(a, len + 1);
  if (len >= 8 && len <= 16) {
    uint64_t x, y;
    memcpy(&x, s, 8);
    memcpy(&y, s + len - 8, 8);
    memcpy(p, &x, 8);
    memcpy(p + len - 8, &y, 8);
  } else if (len >= 4 && len < 8) {
    uint32_t x, y;
    memcpy(&x, s, 4);
    memcpy(&y, s + len - 4, 4);
    memcpy(p, &x, 4);
    memcpy(p + len - 4, &y, 4);
  } else {
    memcpy(p, s, len);
  }
  p[len] = '\0';
  return p;
}

/* Everything but the short plain texts: long ones, and any with a byte to
 * replace. Out of line, so the short path saves no registers. */
static __attribute__((noinline)) char *text_general(parry_evb_t *b, const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i;
#if defined(__SSE2__)
  /* Long texts (messages): checked and copied in the same pass, 16 bytes a
   * step, the last step overlapping; on the first byte to replace, the
   * byte path below starts over (the partial copy is left unused). */
  if (len >= 16) {
    char *p = parry_arena_alloc(b->arena, len + 1);
    const __m128i zero = _mm_setzero_si128();
    size_t k = 0;
    bool plain = true;
    for (; k + 16 <= len; k += 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + k));
      if (_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)))) {
        plain = false;
        break;
      }
      _mm_storeu_si128((__m128i *)(void *)(p + k), v);
    }
    if (plain && k < len) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + len - 16));
      if (_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)))) plain = false;
      else _mm_storeu_si128((__m128i *)(void *)(p + len - 16), v);
    }
    if (plain) {
      p[len] = '\0';
      return p;
    }
  }
#endif
  /* Fast path: plain ASCII without NUL is copied as it is. */
  if (plain_ascii(u, len)) return arena_copy(b->arena, s, len);
  /* Worst case every byte becomes the 3-byte U+FFFD. */
  char *out = parry_arena_alloc(b->arena, len * 3 + 1);
  size_t o = 0;
  for (i = 0; i < len;) {
    size_t n = u[i] ? utf8_seq(u + i, len - i) : 0;
    if (n) {
      memcpy(out + o, s + i, n);
      o += n;
      i += n;
    } else { /* invalid byte, or NUL, which protobuf strings cannot hold */
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    }
  }
  out[o] = '\0';
  return out;
}

char *parry_evb_text(parry_evb_t *b, const char *s, size_t len) {
  if (len == (size_t)-1) len = strlen(s);
  /* Most texts (names, keys, addresses) are 4..16 bytes: checked and
   * copied from the same two overlapping loads. */
  if (len - 8 <= 8) {
    uint64_t x, y;
    memcpy(&x, s, 8);
    memcpy(&y, s + len - 8, 8);
    if (word_plain(x) && word_plain(y)) {
      char *p = parry_arena_alloc(b->arena, len + 1);
      memcpy(p, &x, 8);
      memcpy(p + len - 8, &y, 8);
      p[len] = '\0';
      return p;
    }
  } else if (len - 4 < 4) {
    uint32_t x, y;
    memcpy(&x, s, 4);
    memcpy(&y, s + len - 4, 4);
    if (word_plain((uint64_t)x | (uint64_t)y << 32)) {
      char *p = parry_arena_alloc(b->arena, len + 1);
      memcpy(p, &x, 4);
      memcpy(p + len - 4, &y, 4);
      p[len] = '\0';
      return p;
    }
  }
  return text_general(b, s, len);
}

void parry_evb_init(parry_evb_t *b, parry_arena_t *arena) {
  static const Parry__V1__Event init = PARRY__V1__EVENT__INIT;
  b->arena = arena;
  b->ev = parry_arena_alloc(arena, sizeof *b->ev);
  *b->ev = init;
  b->ev->schema_version = PARRY_SCHEMA_VERSION;
}

static char *text(parry_evb_t *b, const char *s, size_t len) { return parry_evb_text(b, s, len); }

void parry_evb_set_timestamp(parry_evb_t *b, int64_t ns) {
  b->ev->timestamp_ns = ns;
  b->ev->has_timestamp = 1;
}

/* Categories and types are few (ECS allows a handful): grow by copying. */
static void append_static(parry_evb_t *b, char ***list, size_t *n, const char *s) {
  for (size_t i = 0; i < *n; i++) {
    const char *had = (*list)[i]; /* usually a literal: the same pointer, or another word */
    if (had == s || (had[0] == s[0] && strcmp(had, s) == 0)) return;
  }
  char **grown = parry_arena_alloc(b->arena, (*n + 1) * sizeof *grown);
  if (*n) memcpy(grown, *list, *n * sizeof *grown);
  grown[(*n)++] = (char *)s;
  *list = grown;
}

void parry_evb_add_category(parry_evb_t *b, const char *c) {
  append_static(b, &b->ev->event_category, &b->ev->n_event_category, c);
}
void parry_evb_add_type(parry_evb_t *b, const char *t) {
  append_static(b, &b->ev->event_type, &b->ev->n_event_type, t);
}
void parry_evb_set_kind(parry_evb_t *b, const char *kind) { b->ev->event_kind = (char *)kind; }
void parry_evb_set_action(parry_evb_t *b, const char *s, size_t len) {
  b->ev->event_action = text(b, s, len);
}
void parry_evb_set_action_static(parry_evb_t *b, const char *action) {
  b->ev->event_action = (char *)action;
}
void parry_evb_set_outcome(parry_evb_t *b, const char *o) { b->ev->event_outcome = (char *)o; }
void parry_evb_set_dataset(parry_evb_t *b, const char *s, size_t len) {
  b->ev->event_dataset = text(b, s, len);
}
void parry_evb_set_severity(parry_evb_t *b, int64_t s) {
  b->ev->event_severity = s;
  b->ev->has_event_severity = 1;
}

/* Whether s[0..len) is an IPv4 address glibc's inet_pton accepts: four
 * decimal octets of at most 255, dots between, no leading zero, nothing
 * else. Same rules as glibc's inet_pton4, without the copy and the call:
 * nearly every sshd line names one, so it is on the hot path. */
static bool plain_ipv4(const char *s, size_t len) {
  if (len < 7 || len > 15) return false;
  const char *p = s, *end = s + len;
  for (int octet = 0; octet < 4; octet++) {
    if (p == end || *p < '0' || *p > '9') return false;
    unsigned v = (unsigned)(*p++ - '0');
    if (p < end && *p >= '0' && *p <= '9') {
      if (v == 0) return false; /* leading zero */
      v = v * 10 + (unsigned)(*p++ - '0');
      if (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p++ - '0');
        if (v > 255) return false;
      }
    }
    if (octet < 3) {
      if (p == end || *p != '.') return false;
      p++;
    }
  }
  return p == end;
}

/* The canonical text of an IP address into out, or false. glibc's
 * inet_pton refuses IPv4 with leading zeros ("010.1.1.1", whose meaning
 * differs between tools) and anything but four dotted decimals, so an IPv4
 * it accepts is already canonical and is copied as it is; IPv6 goes through
 * inet_ntop for lower case and "::" compression. */
static bool canonical_ip(const char *s, size_t len, char out[INET6_ADDRSTRLEN], size_t *out_len) {
  char tmp[INET6_ADDRSTRLEN + 8];
  if (len == 0 || len >= sizeof tmp) return false;
  if (plain_ipv4(s, len)) { /* canonical as it is (see above) */
    memcpy(out, s, len);
    out[len] = '\0';
    *out_len = len;
    return true;
  }
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  /* inet_pton stops at a NUL: "1.2.3.4\0junk" must not pass for an address
   * (and its length must not be trusted for the copy below). */
  if (strlen(tmp) != len) return false;
  unsigned char bin[16];
  if (inet_pton(AF_INET, tmp, bin) == 1) {
    memcpy(out, tmp, len + 1);
    *out_len = len;
    return true;
  }
  if (inet_pton(AF_INET6, tmp, bin) == 1 && inet_ntop(AF_INET6, bin, out, INET6_ADDRSTRLEN)) {
    *out_len = strlen(out);
    return true;
  }
  return false;
}

static Parry__V1__ValueMap *new_map(parry_evb_t *b);
static inline Parry__V1__Value *map_put(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key,
                                        size_t key_len);
static Parry__V1__ValueMap *child_map(parry_evb_t *b, Parry__V1__ValueMap *map, const char *seg,
                                      size_t len);

static bool set_address(parry_evb_t *b, char **ip_field, const char *object, size_t object_len,
                        const char *s, size_t len) {
  if (len == (size_t)-1) len = strlen(s);
  /* object is one segment ("source", "destination"): its map straight
   * under fields, without map_at_n's search for dots. */
  if (!b->ev->fields) b->ev->fields = new_map(b);
  Parry__V1__ValueMap *parent = child_map(b, b->ev->fields, object, object_len);
  Parry__V1__Value *v = map_put(b, parent, "address", 7);
  parry_evb_value_str(b, v, s, len);
  if (plain_ipv4(s, len)) {
    /* Canonical as it is (see canonical_ip) and plain ASCII, so the
     * address's copy serves both: arena text is never changed in place. */
    *ip_field = v->string_value;
    return true;
  }
  char canon[INET6_ADDRSTRLEN];
  size_t canon_len;
  if (!canonical_ip(s, len, canon, &canon_len)) return false;
  *ip_field = parry_arena_strndup(b->arena, canon, canon_len);
  return true;
}

bool parry_evb_set_source_address(parry_evb_t *b, const char *s, size_t len) {
  return set_address(b, &b->ev->source_ip, "source", 6, s, len);
}
void parry_evb_set_source_port(parry_evb_t *b, uint32_t port) { b->ev->source_port = port; }
bool parry_evb_set_destination_address(parry_evb_t *b, const char *s, size_t len) {
  return set_address(b, &b->ev->destination_ip, "destination", 11, s, len);
}
void parry_evb_set_destination_port(parry_evb_t *b, uint32_t p) { b->ev->destination_port = p; }
void parry_evb_set_user(parry_evb_t *b, const char *s, size_t len) { b->ev->user_name = text(b, s, len); }
void parry_evb_set_host(parry_evb_t *b, const char *s, size_t len) { b->ev->host_name = text(b, s, len); }
void parry_evb_set_process_name(parry_evb_t *b, const char *s, size_t len) {
  b->ev->process_name = text(b, s, len);
}
void parry_evb_set_process_pid(parry_evb_t *b, int64_t pid) {
  b->ev->process_pid = pid;
  b->ev->has_process_pid = 1;
}
void parry_evb_set_command_line(parry_evb_t *b, const char *s, size_t len) {
  b->ev->process_command_line = text(b, s, len);
}
void parry_evb_set_message(parry_evb_t *b, const char *s, size_t len) { b->ev->message = text(b, s, len); }

void parry_evb_set_logsource(parry_evb_t *b, const char *product, const char *service,
                             const char *category) {
  static const Parry__V1__Logsource init = PARRY__V1__LOGSOURCE__INIT;
  Parry__V1__Logsource *ls = b->ev->logsource;
  if (!ls) {
    ls = parry_arena_alloc(b->arena, sizeof *ls);
    *ls = init;
    b->ev->logsource = ls;
  }
  if (product) ls->product = (char *)product;
  if (service) ls->service = (char *)service;
  if (category) ls->category = (char *)category;
}

/* ---- untyped fields ---------------------------------------------------- */

static Parry__V1__ValueMap *new_map(parry_evb_t *b) {
  static const Parry__V1__ValueMap init = PARRY__V1__VALUE_MAP__INIT;
  Parry__V1__ValueMap *m = parry_arena_alloc(b->arena, sizeof *m);
  *m = init;
  return m;
}

/* Whether the NUL-terminated key k is s[0..n) (which may hold a NUL: then
 * never). Keys are short: a byte loop beats strlen + memcmp calls. */
static inline bool key_is(const char *k, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (k[i] != s[i] || !k[i]) return false;
  return k[n] == '\0';
}

/* The keys the parsers put most (ECS objects and their members), as
 * literals: a key equal to one of them points at the literal instead of an
 * arena copy (evb text is never changed in place, and literals outlive
 * every event). Nearly every event has several; the copy was most of the
 * cost of putting them. Unknown keys are copied as before. */
static const char *known_key(const char *k, size_t n) {
#define KK(lit)                                                                \
  if (memcmp(k, lit, sizeof(lit) - 1) == 0) return lit
  switch (n) {
  case 3:
    KK("ssh");
    KK("pam");
    break;
  case 4:
    KK("code");
    KK("type");
    KK("user");
    KK("name");
    KK("port");
    break;
  case 6:
    KK("source");
    KK("domain");
    KK("module");
    KK("reason");
    KK("target");
    KK("syslog");
    break;
  case 7:
    KK("address");
    KK("service");
    break;
  case 10: KK("disconnect"); break;
  case 11:
    KK("auth_method");
    KK("destination");
    break;
  case 12:
    KK("invalid_user");
    KK("repeat_count");
    break;
  case 13: KK("more_failures"); break;
  }
#undef KK
  return NULL;
}

/* parry_evb_map_put, inline in the builder's own paths (child_map,
 * put_path, set_address: several per event). */
static inline __attribute__((always_inline)) Parry__V1__Value *
map_put(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key, size_t key_len) {
  static const Parry__V1__Value vinit = PARRY__V1__VALUE__INIT;
  static const Parry__V1__Entry einit = PARRY__V1__ENTRY__INIT;
  if (key_len == (size_t)-1) key_len = strlen(key);
  for (size_t i = 0; i < map->n_entries; i++) {
    Parry__V1__Entry *e = map->entries[i];
    if (key_is(e->key, key, key_len)) {
      *e->value = vinit;
      return e->value;
    }
  }
  /* Capacity doubles at powers of two (4, 8, 16...): the arena cannot
   * realloc in place. Maps are small: a loop, not a memcpy call. */
  size_t n = map->n_entries;
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
    Parry__V1__Entry **grown = parry_arena_alloc(b->arena, (n ? 2 * n : 4) * sizeof *grown);
    for (size_t i = 0; i < n; i++) grown[i] = map->entries[i];
    map->entries = grown;
  }
  /* The entry and its value in one allocation (arena memory is never
   * freed piece by piece). */
  struct entry_value {
    Parry__V1__Entry e;
    Parry__V1__Value v;
  } *ev = parry_arena_alloc(b->arena, sizeof *ev);
  ev->e = einit;
  ev->v = vinit;
  ev->e.value = &ev->v;
  const char *known = known_key(key, key_len);
  ev->e.key = known ? (char *)known : parry_evb_text(b, key, key_len);
  map->entries[map->n_entries++] = &ev->e;
  return &ev->v;
}

Parry__V1__Value *parry_evb_map_put(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key,
                                    size_t key_len) {
  return map_put(b, map, key, key_len);
}

Parry__V1__ValueMap *parry_evb_value_map(parry_evb_t *b, Parry__V1__Value *v) {
  v->kind_case = PARRY__V1__VALUE__KIND_MAP_VALUE;
  v->map_value = new_map(b);
  return v->map_value;
}

void parry_evb_value_str(parry_evb_t *b, Parry__V1__Value *v, const char *s, size_t len) {
  v->kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
  v->string_value = parry_evb_text(b, s, len);
}

Parry__V1__Value *parry_evb_list_append(parry_evb_t *b, Parry__V1__Value *list) {
  static const Parry__V1__ValueList linit = PARRY__V1__VALUE_LIST__INIT;
  static const Parry__V1__Value vinit = PARRY__V1__VALUE__INIT;
  if (list->kind_case != PARRY__V1__VALUE__KIND_LIST_VALUE) {
    list->kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
    list->list_value = parry_arena_alloc(b->arena, sizeof *list->list_value);
    *list->list_value = linit;
  }
  Parry__V1__ValueList *l = list->list_value;
  size_t n = l->n_items;
  if (n == 0 || (n & (n - 1)) == 0) {
    Parry__V1__Value **grown = parry_arena_alloc(b->arena, (n ? 2 * n : 4) * sizeof *grown);
    if (n) memcpy(grown, l->items, n * sizeof *grown);
    l->items = grown;
  }
  Parry__V1__Value *v = parry_arena_alloc(b->arena, sizeof *v);
  *v = vinit;
  l->items[l->n_items++] = v;
  return v;
}

/* The map under key seg[0..len) of map, created (or made a map) as needed. */
static Parry__V1__ValueMap *child_map(parry_evb_t *b, Parry__V1__ValueMap *map, const char *seg,
                                      size_t len) {
  for (size_t i = 0; i < map->n_entries; i++) {
    Parry__V1__Entry *e = map->entries[i];
    if (e->value->kind_case == PARRY__V1__VALUE__KIND_MAP_VALUE && key_is(e->key, seg, len))
      return e->value->map_value;
  }
  return parry_evb_value_map(b, map_put(b, map, seg, len));
}

/* The map at path[0..plen), one dot-separated segment per level (an empty
 * segment is the key ""), created as needed. */
static Parry__V1__ValueMap *map_at_n(parry_evb_t *b, const char *path, size_t plen) {
  if (!b->ev->fields) b->ev->fields = new_map(b);
  Parry__V1__ValueMap *map = b->ev->fields;
  size_t at = 0;
  while (at < plen) {
    const char *seg = path + at;
    size_t len = 0;
    while (at + len < plen && seg[len] != '.') len++;
    map = child_map(b, map, seg, len);
    at += len + 1; /* past the dot (or the end) */
  }
  return map;
}

Parry__V1__ValueMap *parry_evb_map_at(parry_evb_t *b, const char *path) {
  return map_at_n(b, path, strlen(path));
}

/* Split "a.b.c" into the map at "a.b" and the key "c". (A parent path is
 * cut at 255 bytes, as it always was.) */
static Parry__V1__Value *put_path_long(parry_evb_t *b, const char *path) {
  size_t n = strlen(path), dot = n;
  while (dot > 0 && path[dot - 1] != '.') dot--;
  if (dot == 0) return map_put(b, map_at_n(b, path, 0), path, n);
  size_t plen = dot - 1; /* the parent, without the last dot */
  return map_put(b, map_at_n(b, path, plen < 256 ? plen : 255), path + dot, n - dot);
}

/* The same in one pass forward: path[0..n), its first segment first_len
 * bytes (n without a dot), both usually constants from the macros in the
 * header. Later dots are searched for (only three-level paths have them).
 * A path with a dot at byte 255 or later is left to put_path_long and its
 * cut: the maps made so far lie before that and are the ones it makes
 * first. */
static Parry__V1__Value *put_path(parry_evb_t *b, const char *path, size_t n, size_t first_len) {
  if (!b->ev->fields) b->ev->fields = new_map(b);
  Parry__V1__ValueMap *map = b->ev->fields;
  const char *seg = path, *end = path + n;
  size_t seg_len = first_len;
  for (;;) {
    if (seg + seg_len == end) return map_put(b, map, seg, seg_len);
    if (seg + seg_len - path >= 255) return put_path_long(b, path);
    map = child_map(b, map, seg, seg_len);
    seg += seg_len + 1;
    const char *dot = memchr(seg, '.', (size_t)(end - seg));
    seg_len = dot ? (size_t)(dot - seg) : (size_t)(end - seg);
  }
}

#undef parry_evb_field_str
#undef parry_evb_field_int
#undef parry_evb_field_bool

void parry_evb_field_str_at(parry_evb_t *b, const char *path, size_t path_len, size_t first_len,
                            const char *s, size_t len) {
  parry_evb_value_str(b, put_path(b, path, path_len, first_len), s, len);
}

void parry_evb_field_int_at(parry_evb_t *b, const char *path, size_t path_len, size_t first_len,
                            int64_t v) {
  Parry__V1__Value *val = put_path(b, path, path_len, first_len);
  val->kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
  val->int_value = v;
}

void parry_evb_field_bool_at(parry_evb_t *b, const char *path, size_t path_len, size_t first_len,
                             bool v) {
  Parry__V1__Value *val = put_path(b, path, path_len, first_len);
  val->kind_case = PARRY__V1__VALUE__KIND_BOOL_VALUE;
  val->bool_value = v;
}

/* The functions behind the macros, for callers that take their address or
 * pass a path that is not a literal. */
void parry_evb_field_str(parry_evb_t *b, const char *path, const char *s, size_t len) {
  parry_evb_field_str_at(b, PARRY_EVB_PATH_(path), s, len);
}

void parry_evb_field_int(parry_evb_t *b, const char *path, int64_t v) {
  parry_evb_field_int_at(b, PARRY_EVB_PATH_(path), v);
}

void parry_evb_field_bool(parry_evb_t *b, const char *path, bool v) {
  parry_evb_field_bool_at(b, PARRY_EVB_PATH_(path), v);
}

/* Deep copy of a malloc'd Value into the arena. */
static void copy_value(parry_evb_t *b, Parry__V1__Value *dst, const Parry__V1__Value *src) {
  switch (src->kind_case) {
  case PARRY__V1__VALUE__KIND_STRING_VALUE:
    parry_evb_value_str(b, dst, src->string_value, (size_t)-1);
    return;
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT:
    dst->kind_case = src->kind_case;
    dst->number_text = parry_arena_strdup(b->arena, src->number_text);
    return;
  case PARRY__V1__VALUE__KIND_LIST_VALUE:
    dst->kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
    dst->list_value = NULL;
    {
      static const Parry__V1__ValueList linit = PARRY__V1__VALUE_LIST__INIT;
      dst->list_value = parry_arena_alloc(b->arena, sizeof *dst->list_value);
      *dst->list_value = linit;
    }
    for (size_t i = 0; i < src->list_value->n_items; i++)
      copy_value(b, parry_evb_list_append(b, dst), src->list_value->items[i]);
    return;
  case PARRY__V1__VALUE__KIND_MAP_VALUE: {
    Parry__V1__ValueMap *m = parry_evb_value_map(b, dst);
    for (size_t i = 0; i < src->map_value->n_entries; i++) {
      const Parry__V1__Entry *e = src->map_value->entries[i];
      copy_value(b, map_put(b, m, e->key, (size_t)-1), e->value);
    }
    return;
  }
  default:
    *dst = *src; /* scalars: null, bool, int, double */
    return;
  }
}

bool parry_evb_value_from_json(parry_evb_t *b, Parry__V1__Value *v, struct json_object *obj) {
  /* One conversion rule for numbers and strings, the codec's; copied into
   * the arena so the Event has one owner. */
  Parry__V1__Value *tmp = NULL;
  char err[64];
  if (parry_value_from_json_object(obj, &tmp, err, sizeof err) != PARRY_OK) return false;
  copy_value(b, v, tmp);
  parry__v1__value__free_unpacked(tmp, NULL);
  return true;
}
