/* Event <-> canonical JSON, and field lookup by name.
 *
 * The typed ECS fields are described once, in the tables below, and both
 * directions and the lookup walk those tables: adding a typed field to the
 * proto means adding one line here.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "parry/mem.h"
#include "parry/timefmt.h"

typedef enum {
  M_STR,  /* char * */
  M_IP,   /* char *, an IPv4 or IPv6 address */
  M_STRS, /* char ** with count at aux */
  M_PORT, /* uint32_t, 0 = absent */
  M_I64,  /* int64_t with its has_ flag at aux */
} member_kind_t;

/* `lit`: the key as the writer emits it after a previous member, ",\"key\":",
 * precomputed so that writing a key is one fixed-size copy. */
#define KEY_LIT(k) sizeof(",\"" k "\":") - 1, ",\"" k "\":"
enum { KEY_LIT_SIZE = 24 };

typedef struct {
  const char *key;
  member_kind_t kind;
  size_t off;
  size_t aux;
  size_t lit_len;
  char lit[KEY_LIT_SIZE];
} member_t;

#define EV(f) offsetof(Parry__V1__Event, f)
#define LS(f) offsetof(Parry__V1__Logsource, f)

static const member_t event_members[] = {
    {"id", M_STR, EV(id), 0, KEY_LIT("id")},
    {"kind", M_STR, EV(event_kind), 0, KEY_LIT("kind")},
    {"category", M_STRS, EV(event_category), EV(n_event_category), KEY_LIT("category")},
    {"type", M_STRS, EV(event_type), EV(n_event_type), KEY_LIT("type")},
    {"action", M_STR, EV(event_action), 0, KEY_LIT("action")},
    {"outcome", M_STR, EV(event_outcome), 0, KEY_LIT("outcome")},
    {"dataset", M_STR, EV(event_dataset), 0, KEY_LIT("dataset")},
    {"severity", M_I64, EV(event_severity), EV(has_event_severity), KEY_LIT("severity")},
};
static const member_t source_members[] = {
    {"ip", M_IP, EV(source_ip), 0, KEY_LIT("ip")},
    {"port", M_PORT, EV(source_port), 0, KEY_LIT("port")},
};
static const member_t destination_members[] = {
    {"ip", M_IP, EV(destination_ip), 0, KEY_LIT("ip")},
    {"port", M_PORT, EV(destination_port), 0, KEY_LIT("port")},
};
static const member_t user_members[] = {{"name", M_STR, EV(user_name), 0, KEY_LIT("name")}};
static const member_t host_members[] = {{"name", M_STR, EV(host_name), 0, KEY_LIT("name")}};
static const member_t process_members[] = {
    {"name", M_STR, EV(process_name), 0, KEY_LIT("name")},
    {"pid", M_I64, EV(process_pid), EV(has_process_pid), KEY_LIT("pid")},
    {"command_line", M_STR, EV(process_command_line), 0, KEY_LIT("command_line")},
};
static const member_t logsource_members[] = {
    {"product", M_STR, LS(product), 0, KEY_LIT("product")},
    {"service", M_STR, LS(service), 0, KEY_LIT("service")},
    {"category", M_STR, LS(category), 0, KEY_LIT("category")},
};

/* The top-level keys with typed content, in the order they are written and
 * in which the reader stores their leftovers at the front of `fields`. */
enum {
  SLOT_TIMESTAMP,
  SLOT_EVENT,
  SLOT_SOURCE,
  SLOT_DESTINATION,
  SLOT_USER,
  SLOT_HOST,
  SLOT_PROCESS,
  SLOT_MESSAGE,
  SLOT_LOGSOURCE,
  N_SLOTS,
  SLOT_NONE = N_SLOTS,
};

typedef struct {
  const char *key;
  const member_t *members; /* NULL: a scalar slot (@timestamp, message) */
  size_t n_members;
  bool in_logsource; /* members live in ev->logsource, not in ev */
  size_t lit_len;
  char lit[KEY_LIT_SIZE];
} slot_t;

#define MEMBERS(a) (a), sizeof(a) / sizeof((a)[0])
static const slot_t slots[N_SLOTS] = {
    [SLOT_TIMESTAMP] = {"@timestamp", NULL, 0, false, KEY_LIT("@timestamp")},
    [SLOT_EVENT] = {"event", MEMBERS(event_members), false, KEY_LIT("event")},
    [SLOT_SOURCE] = {"source", MEMBERS(source_members), false, KEY_LIT("source")},
    [SLOT_DESTINATION] = {"destination", MEMBERS(destination_members), false, KEY_LIT("destination")},
    [SLOT_USER] = {"user", MEMBERS(user_members), false, KEY_LIT("user")},
    [SLOT_HOST] = {"host", MEMBERS(host_members), false, KEY_LIT("host")},
    [SLOT_PROCESS] = {"process", MEMBERS(process_members), false, KEY_LIT("process")},
    [SLOT_MESSAGE] = {"message", NULL, 0, false, KEY_LIT("message")},
    [SLOT_LOGSOURCE] = {"logsource", MEMBERS(logsource_members), true, KEY_LIT("logsource")},
};

/* Called for every top-level key on the hot path: the first byte rules out
 * nearly all of them before any strcmp. */
static int slot_of(const char *key) {
  int s;
  switch (key[0]) { /* the slot keys' first bytes are all different */
  case '@': s = SLOT_TIMESTAMP; break;
  case 'e': s = SLOT_EVENT; break;
  case 's': s = SLOT_SOURCE; break;
  case 'd': s = SLOT_DESTINATION; break;
  case 'u': s = SLOT_USER; break;
  case 'h': s = SLOT_HOST; break;
  case 'p': s = SLOT_PROCESS; break;
  case 'm': s = SLOT_MESSAGE; break;
  case 'l': s = SLOT_LOGSOURCE; break;
  default: return SLOT_NONE;
  }
  /* the second byte rules out most of the rest ("ssh", "pam", "syslog");
   * then a byte loop, which stops at the first difference (a shorter key's
   * NUL is one), cheaper than a strcmp call for these few bytes */
  const char *k = slots[s].key;
  if (k[1] != key[1]) return SLOT_NONE;
  for (size_t i = 2;; i++) {
    if (k[i] != key[i]) return SLOT_NONE;
    if (!k[i]) return s;
  }
}

/* lit is ",\"key\":": the key's length without a strlen. */
#define LIT_KEY_LEN(x) ((x)->lit_len - 4)

static const member_t *member_of(const slot_t *t, const char *key, size_t len) {
  for (size_t i = 0; i < t->n_members; i++) {
    const member_t *m = &t->members[i];
    if (LIT_KEY_LEN(m) == len && m->key[0] == key[0] && memcmp(m->key, key, len) == 0) return m;
  }
  return NULL;
}

static void *base_of(const Parry__V1__Event *ev, const slot_t *t) {
  return t->in_logsource ? (void *)ev->logsource : (void *)ev;
}

#define AT(base, off, type) ((type *)((char *)(base) + (off)))

static inline bool member_set(const void *base, const member_t *m) {
  switch (m->kind) {
  case M_STR:
  case M_IP: {
    const char *s = *AT(base, m->off, char *);
    return s && *s;
  }
  case M_STRS: return *AT(base, m->aux, size_t) > 0;
  case M_PORT: return *AT(base, m->off, uint32_t) != 0;
  case M_I64: return *AT(base, m->aux, protobuf_c_boolean) != 0;
  }
  return false;
}

/* ---- reading ---- */

typedef struct {
  char *errstr;
  size_t errstr_size;
} ctx_t;

enum { MEMBER_SET, MEMBER_KEEP };

static parry_err_t expected(ctx_t *c, const codec_path_t *p, const char *what, json_object *o) {
  char got[64];
  codec_describe(o, got, sizeof got);
  return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, p, "expected %s, got %s", what,
                    got);
}

static bool is_ip(const char *s) {
  unsigned char addr[16];
  return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* Logsource members live in a submessage, created by its first member. */
static void *store_base(Parry__V1__Event *ev, const slot_t *t) {
  if (t->in_logsource && !ev->logsource) {
    ev->logsource = parry_xmalloc(sizeof *ev->logsource);
    parry__v1__logsource__init(ev->logsource);
  }
  return base_of(ev, t);
}

/* Store one typed member. Values the typed field would read as absent are
 * MEMBER_KEEP: the caller keeps them in `fields` so they survive. */
static parry_err_t read_member(ctx_t *c, Parry__V1__Event *ev, const slot_t *t,
                               const member_t *m, json_object *o, const codec_path_t *p,
                               int *result) {
  *result = MEMBER_KEEP;
  if (json_object_get_type(o) == json_type_null) return PARRY_OK;
  const char *s;
  size_t len;
  parry_err_t err;
  void *base;
  switch (m->kind) {
  case M_STR:
  case M_IP:
    if (json_object_get_type(o) != json_type_string)
      return expected(c, p, m->kind == M_IP ? "an IPv4 or IPv6 address" : "a string", o);
    err = codec_json_string(o, p, &s, &len, c->errstr, c->errstr_size);
    if (err) return err;
    if (len == 0) return PARRY_OK;
    if (m->kind == M_IP && !is_ip(s))
      return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, p,
                        "expected an IPv4 or IPv6 address, got \"%.*s\"",
                        len > 64 ? 64 : (int)len, s);
    base = store_base(ev, t);
    *AT(base, m->off, char *) = parry_xstrndup(s, len);
    break;
  case M_STRS: {
    size_t n;
    bool single = json_object_get_type(o) == json_type_string;
    if (single) {
      n = 1;
    } else if (json_object_get_type(o) == json_type_array) {
      n = json_object_array_length(o);
    } else {
      return expected(c, p, "a string or an array of strings", o);
    }
    if (n == 0) return PARRY_OK;
    for (size_t i = 0; i < n; i++) {
      json_object *item = single ? o : json_object_array_get_idx(o, i);
      codec_path_t here = CODEC_INDEX(p, i);
      const codec_path_t *where = single ? p : &here;
      if (json_object_get_type(item) != json_type_string)
        return expected(c, where, "a string", item);
      err = codec_json_string(item, where, &s, &len, c->errstr, c->errstr_size);
      if (err) return err;
      if (single && len == 0) return PARRY_OK;
    }
    base = store_base(ev, t);
    char **arr = parry_xnew(char *, n);
    for (size_t i = 0; i < n; i++) {
      json_object *item = single ? o : json_object_array_get_idx(o, i);
      arr[i] = parry_xstrndup(json_object_get_string(item),
                              (size_t)json_object_get_string_len(item));
    }
    *AT(base, m->off, char **) = arr;
    *AT(base, m->aux, size_t) = n;
    break;
  }
  case M_PORT: {
    int64_t v;
    if (!codec_json_int64(o, &v) || v < 0 || v > 65535)
      return expected(c, p, "an integer 0..65535", o);
    if (v == 0) return PARRY_OK;
    base = store_base(ev, t);
    *AT(base, m->off, uint32_t) = (uint32_t)v;
    break;
  }
  case M_I64: {
    int64_t v;
    if (!codec_json_int64(o, &v)) return expected(c, p, "a 64-bit integer", o);
    base = store_base(ev, t);
    *AT(base, m->off, int64_t) = v;
    *AT(base, m->aux, protobuf_c_boolean) = 1;
    break;
  }
  }
  *result = MEMBER_SET;
  return PARRY_OK;
}

static parry_err_t check_key(ctx_t *c, const char *key, const codec_path_t *p) {
  if (codec_utf8_valid(key, strlen(key))) return PARRY_OK;
  return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, p, "invalid UTF-8 in key");
}

static Parry__V1__Value *map_value_new(size_t capacity) {
  Parry__V1__Value *v = codec_value_new();
  v->kind_case = PARRY__V1__VALUE__KIND_MAP_VALUE;
  v->map_value = parry_xmalloc(sizeof *v->map_value);
  parry__v1__value_map__init(v->map_value);
  v->map_value->entries = parry_xnew(Parry__V1__Entry *, capacity ? capacity : 1);
  return v;
}

/* A typed object such as "source": typed members into ev, the rest into
 * *keep, which is left NULL when the typed members say it all. `depth` is
 * that of the enclosing event object. */
static parry_err_t read_typed_object(ctx_t *c, Parry__V1__Event *ev, const slot_t *t,
                                     json_object *o, const codec_path_t *p, int depth,
                                     Parry__V1__Value **keep) {
  if (depth >= PARRY_CODEC_MAX_DEPTH)
    return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, p,
                      "nesting deeper than %d levels", PARRY_CODEC_MAX_DEPTH);
  Parry__V1__Value *rest = map_value_new((size_t)json_object_object_length(o));
  Parry__V1__ValueMap *map = rest->map_value;
  parry_err_t err = PARRY_OK;
  bool any = false;
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
    const char *key = json_object_iter_peek_name(&it);
    json_object *val = json_object_iter_peek_value(&it);
    codec_path_t here = CODEC_KEY(p, key);
    const member_t *m = member_of(t, key, strlen(key));
    if (m) {
      int result;
      err = read_member(c, ev, t, m, val, &here, &result);
      if (err) goto out;
      if (result == MEMBER_SET) {
        any = true;
        continue;
      }
    }
    err = check_key(c, key, &here);
    if (err) goto out;
    Parry__V1__Value *child = NULL;
    err = codec_value_from_json(val, &here, depth + 1, &child, c->errstr, c->errstr_size);
    if (err) goto out;
    map->entries[map->n_entries++] = codec_entry_new(key, child);
  }
out:
  if (err || (any && map->n_entries == 0)) {
    parry__v1__value__free_unpacked(rest, NULL);
    rest = NULL;
  }
  *keep = rest;
  return err;
}

parry_err_t codec_event_from_json(json_object *o, const codec_path_t *p, int depth, bool nested,
                                  Parry__V1__Event **out, char *errstr, size_t errstr_size) {
  ctx_t c = {errstr, errstr_size};
  if (json_object_get_type(o) != json_type_object) return expected(&c, p, "an object", o);
  if (depth >= PARRY_CODEC_MAX_DEPTH)
    return codec_fail(errstr, errstr_size, PARRY_ERR_INVALID, p, "nesting deeper than %d levels",
                      PARRY_CODEC_MAX_DEPTH);
  Parry__V1__Event *ev = parry_xmalloc(sizeof *ev);
  parry__v1__event__init(ev);
  Parry__V1__Value *kept[N_SLOTS] = {0};
  size_t n_keys = (size_t)json_object_object_length(o), n_rest = 0;
  Parry__V1__Entry **rest = parry_xnew(Parry__V1__Entry *, n_keys ? n_keys : 1);
  bool have_version = false;
  parry_err_t err = PARRY_OK;
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
    const char *key = json_object_iter_peek_name(&it);
    json_object *val = json_object_iter_peek_value(&it);
    codec_path_t here = CODEC_KEY(p, key);
    enum json_type type = json_object_get_type(val);
    if (strcmp(key, "schema_version") == 0) {
      err = codec_schema_version(val, &here, &ev->schema_version, errstr, errstr_size);
      if (err) goto out;
      have_version = true;
      continue;
    }
    int s = slot_of(key);
    if (s == SLOT_TIMESTAMP && type != json_type_null) {
      err = codec_time_parse(val, &here, &ev->timestamp_ns, errstr, errstr_size);
      if (err) goto out;
      ev->has_timestamp = 1;
    } else if (s == SLOT_MESSAGE && type != json_type_null) {
      const char *str;
      size_t len;
      if (type != json_type_string) {
        err = expected(&c, &here, "a string", val);
        goto out;
      }
      err = codec_json_string(val, &here, &str, &len, errstr, errstr_size);
      if (err) goto out;
      if (len == 0)
        err = codec_value_from_json(val, &here, depth + 1, &kept[s], errstr, errstr_size);
      else
        ev->message = parry_xstrndup(str, len);
      if (err) goto out;
    } else if (s != SLOT_NONE && slots[s].members && type != json_type_null) {
      if (type != json_type_object) {
        err = expected(&c, &here, "an object", val);
        goto out;
      }
      err = read_typed_object(&c, ev, &slots[s], val, &here, depth + 1, &kept[s]);
      if (err) goto out;
    } else if (s != SLOT_NONE) { /* null: kept as it is */
      err = codec_value_from_json(val, &here, depth + 1, &kept[s], errstr, errstr_size);
      if (err) goto out;
    } else {
      err = check_key(&c, key, &here);
      if (err) goto out;
      Parry__V1__Value *child = NULL;
      err = codec_value_from_json(val, &here, depth + 1, &child, errstr, errstr_size);
      if (err) goto out;
      rest[n_rest++] = codec_entry_new(key, child);
    }
  }
  if (!have_version && !nested) ev->schema_version = PARRY_SCHEMA_VERSION;

  size_t n_fields = n_rest;
  for (int s = 0; s < N_SLOTS; s++) n_fields += kept[s] != NULL;
  if (n_fields) {
    Parry__V1__ValueMap *fields = parry_xmalloc(sizeof *fields);
    parry__v1__value_map__init(fields);
    fields->entries = parry_xnew(Parry__V1__Entry *, n_fields);
    for (int s = 0; s < N_SLOTS; s++)
      if (kept[s]) {
        fields->entries[fields->n_entries++] = codec_entry_new(slots[s].key, kept[s]);
        kept[s] = NULL;
      }
    for (size_t i = 0; i < n_rest; i++) fields->entries[fields->n_entries++] = rest[i];
    n_rest = 0;
    ev->fields = fields;
  }
out:
  for (int s = 0; s < N_SLOTS; s++)
    if (kept[s]) parry__v1__value__free_unpacked(kept[s], NULL);
  for (size_t i = 0; i < n_rest; i++) parry__v1__entry__free_unpacked(rest[i], NULL);
  free(rest);
  if (err) {
    parry__v1__event__free_unpacked(ev, NULL);
    return err;
  }
  *out = ev;
  return PARRY_OK;
}

parry_err_t parry_event_from_json_object(json_object *obj, Parry__V1__Event **out, char *errstr,
                                         size_t errstr_size) {
  return codec_event_from_json(obj, NULL, 0, false, out, errstr, errstr_size);
}

parry_err_t parry_event_from_json(const char *json, size_t len, Parry__V1__Event **out,
                                  char *errstr, size_t errstr_size) {
  json_object *obj = NULL;
  parry_err_t err = parry_codec_parse_json(json, len, &obj, errstr, errstr_size);
  if (err) return err;
  err = parry_event_from_json_object(obj, out, errstr, errstr_size);
  json_object_put(obj);
  return err;
}

/* ---- writing ---- */

/* A key the codec itself names, from its precomputed ",\"key\":" (lit_len
 * bytes, at most KEY_LIT_SIZE): plain ASCII, no checks needed. With room for
 * KEY_LIT_SIZE bytes it is one fixed-size copy into the buffer. */
static inline void w_own_key(codec_writer_t *w, bool *first, const char *lit, size_t lit_len) {
  size_t skip = *first ? 1 : 0; /* the comma */
  *first = false;
  parry_buf_t *b = w->out;
  if (!w->err && b->alloc - b->len > KEY_LIT_SIZE &&
      (b->cap == 0 || b->cap - b->len >= KEY_LIT_SIZE)) {
    char *o = b->data + b->len;
    memcpy(o, lit + skip, KEY_LIT_SIZE - 1);
    b->len += lit_len - skip;
    b->data[b->len] = '\0';
    return;
  }
  codec_w_raw(w, lit + skip, lit_len - skip);
}

/* A string member whose value (s, set and non-empty) is short plain text,
 * the common case: key literal, quotes and value in one reservation check
 * and no calls. False (nothing written) sends it the general way, which
 * writes the same bytes. */
static inline bool w_string_member_fast(codec_writer_t *w, bool *first, const member_t *m,
                                        const char *s) {
  size_t len = strlen(s), skip = *first ? 1 : 0, klen = m->lit_len - skip;
  size_t need = klen + len + 2;
  parry_buf_t *b = w->out;
  if (w->err || len > 32 || b->alloc - b->len <= KEY_LIT_SIZE + len + 2 ||
      (b->cap != 0 && b->cap - b->len < need))
    return false;
  char *o = b->data + b->len;
  memcpy(o, m->lit + skip, KEY_LIT_SIZE - 1); /* fixed size: the tail is overwritten */
  o[klen] = '"';
  if (!parry_json_copy_plain_short(o + klen + 1, s, len)) {
    o[0] = '\0'; /* the buffer stays as it was */
    return false;
  }
  o[klen + 1 + len] = '"';
  o[need] = '\0';
  b->len += need;
  *first = false;
  return true;
}

static void w_member(codec_writer_t *w, const void *base, const member_t *m,
                     const codec_path_t *p) {
  switch (m->kind) {
  case M_STR:
  case M_IP: codec_w_string(w, *AT(base, m->off, char *), p); break;
  case M_STRS: {
    char **arr = *AT(base, m->off, char **);
    size_t n = *AT(base, m->aux, size_t);
    codec_w_lit(w, "[");
    for (size_t i = 0; i < n; i++) {
      codec_path_t here = CODEC_INDEX(p, i);
      if (i) codec_w_lit(w, ",");
      codec_w_string(w, arr[i], &here);
    }
    codec_w_lit(w, "]");
    break;
  }
  case M_PORT: {
    /* The reader refuses ports past 65535; the writer must not make them. */
    uint32_t port = *AT(base, m->off, uint32_t);
    if (port > 65535)
      codec_w_fail(w, PARRY_ERR_INVALID, p, "port %u is out of range 1..65535", port);
    else
      codec_w_uint(w, port);
    break;
  }
  case M_I64: codec_w_int(w, *AT(base, m->off, int64_t)); break;
  }
}

/* `depth`: that of the event object. */
static void w_typed_object(codec_writer_t *w, const Parry__V1__Event *ev, const slot_t *t,
                           const Parry__V1__Entry *extra, bool *first, const codec_path_t *p,
                           int depth) {
  const void *base = base_of(ev, t);
  const char *written[16];
  size_t n_written = 0;
  uint32_t set = 0; /* bit i: member i is set (tables have fewer than 16) */
  codec_path_t here = CODEC_KEY(p, t->key);
  for (size_t i = 0; base && i < t->n_members; i++)
    if (member_set(base, &t->members[i])) {
      set |= 1u << i;
      written[n_written++] = t->members[i].key;
    }
  written[n_written] = NULL;
  if (n_written == 0) {
    if (!extra) return;
    w_own_key(w, first, t->lit, t->lit_len);
    codec_w_value(w, extra->value, &here, depth);
    return;
  }
  const Parry__V1__Value *rest = extra ? extra->value : NULL;
  if (rest && rest->kind_case != PARRY__V1__VALUE__KIND_MAP_VALUE) {
    codec_w_fail(w, PARRY_ERR_INVALID, &here,
                 "fields holds a %s where typed %s members are set",
                 codec_value_kind_name(rest), t->key);
    return;
  }
  if (depth >= PARRY_CODEC_MAX_DEPTH) {
    codec_w_fail(w, PARRY_ERR_INVALID, &here, "nesting deeper than %d levels",
                 PARRY_CODEC_MAX_DEPTH);
    return;
  }
  bool inner_first = true;
  w_own_key(w, first, t->lit, t->lit_len);
  codec_w_lit(w, "{");
  for (size_t i = 0; i < t->n_members; i++) {
    const member_t *m = &t->members[i];
    if (!(set & (1u << i))) continue;
    if ((m->kind == M_STR || m->kind == M_IP) &&
        w_string_member_fast(w, &inner_first, m, *AT(base, m->off, const char *)))
      continue;
    codec_path_t mp = CODEC_KEY(&here, m->key);
    w_own_key(w, &inner_first, m->lit, m->lit_len);
    w_member(w, base, m, &mp);
  }
  if (rest) codec_w_map_entries(w, rest->map_value, &inner_first, written, &here, depth + 1);
  codec_w_lit(w, "}");
}

void codec_w_event(codec_writer_t *w, const Parry__V1__Event *ev, const codec_path_t *p,
                   int depth, bool nested) {
  const Parry__V1__Entry *slot_entry[N_SLOTS] = {0};
  const Parry__V1__ValueMap *fields = ev->fields;
  const char *dup;
  codec_path_t fields_path = CODEC_KEY(p, "fields");
  if (w->err) return;
  if (depth >= PARRY_CODEC_MAX_DEPTH) {
    codec_w_fail(w, PARRY_ERR_INVALID, p, "nesting deeper than %d levels",
                 PARRY_CODEC_MAX_DEPTH);
    return;
  }
  if (codec_map_has_duplicate(fields, &dup)) {
    codec_w_fail(w, PARRY_ERR_INVALID, &fields_path, "duplicate key \"%s\"", dup);
    return;
  }
  /* Each entry's slot, for the loop that writes the rest (the first 64). */
  unsigned char entry_slot[64];
  for (size_t i = 0; fields && i < fields->n_entries; i++) {
    const Parry__V1__Entry *e = fields->entries[i];
    const char *key = e && e->key ? e->key : "";
    if (strcmp(key, "schema_version") == 0) {
      codec_w_fail(w, PARRY_ERR_INVALID, &fields_path, "\"schema_version\" is not a field");
      return;
    }
    int s = slot_of(key);
    if (i < sizeof entry_slot) entry_slot[i] = (unsigned char)s;
    if (s != SLOT_NONE) slot_entry[s] = e;
  }

  bool first = true;
  /* 0 means "the current version" at the top, "the envelope's" when nested. */
  uint32_t version = (ev->schema_version || nested) ? ev->schema_version : PARRY_SCHEMA_VERSION;
  codec_w_lit(w, "{");
  if (version) {
    static const char version_lit[KEY_LIT_SIZE] = ",\"schema_version\":";
    w_own_key(w, &first, version_lit, sizeof(",\"schema_version\":") - 1);
    codec_w_uint(w, version);
  }
  for (int s = 0; s < N_SLOTS; s++) {
    const slot_t *t = &slots[s];
    codec_path_t here = CODEC_KEY(p, t->key);
    if (t->members) {
      w_typed_object(w, ev, t, slot_entry[s], &first, p, depth + 1);
      continue;
    }
    bool typed = s == SLOT_TIMESTAMP ? ev->has_timestamp : ev->message && *ev->message;
    if (typed && slot_entry[s]) {
      codec_w_fail(w, PARRY_ERR_INVALID, &here, "in fields and also a typed field");
      return;
    }
    if (typed) {
      w_own_key(w, &first, t->lit, t->lit_len);
      if (s == SLOT_TIMESTAMP)
        codec_w_time(w, ev->timestamp_ns, &here);
      else
        codec_w_string(w, ev->message, &here);
    } else if (slot_entry[s]) {
      w_own_key(w, &first, t->lit, t->lit_len);
      codec_w_value(w, slot_entry[s]->value, &here, depth + 1);
    }
  }
  for (size_t i = 0; fields && i < fields->n_entries && !w->err; i++) {
    const Parry__V1__Entry *e = fields->entries[i];
    const char *key = e && e->key ? e->key : "";
    if ((i < sizeof entry_slot ? entry_slot[i] : slot_of(key)) != SLOT_NONE) continue;
    codec_path_t here = CODEC_KEY(p, key);
    codec_w_key(w, &first, key, &here);
    codec_w_value(w, e ? e->value : NULL, &here, depth + 1);
  }
  codec_w_lit(w, "}");
}

/* ---- the fast writer ----
 *
 * parry_event_to_json runs for every event the normalizer writes, and the
 * general writer above (tables walked per member, a path frame and an error
 * check per value, every append bounds-checked on its own) cost as much as
 * parsing the line. The fast writer lays out the same bytes through a
 * cursor kept in a register (each step takes it and returns it, NULL when it
 * gives up), with the members open-coded and their key literals fixed.
 *
 * Room: every step that writes a string, and every typed object, first
 * makes sure FW_SLACK bytes stay free after it, so the short fixed parts
 * between them (keys, braces, integers: far fewer than FW_SLACK bytes
 * within one typed object) are written without checks. Generic values
 * check for each piece.
 *
 * It makes the same checks as the general writer (duplicate keys, keys in
 * `fields` that collide with typed ones, UTF-8, time range, ports) but does
 * not describe what it finds: on anything it does not handle -- an error of
 * any kind, a value without a kind, nesting past FW_MAX_DEPTH, the buffer's
 * cap -- it gives up, and parry_event_to_json starts over with the general
 * writer, which writes the identical bytes or names the error. */

typedef struct {
  parry_buf_t *b;
  char *end; /* the end of the room: writes stay below it */
} fw_t;

enum { FW_MAX_DEPTH = 32, FW_PAIRWISE = 8, FW_SLOTS_KEPT = 64, FW_SLACK = 1024 };

/* Room for n more bytes at o, growing the buffer: the new cursor, or NULL
 * at the cap. */
static char *fw_grow(fw_t *f, char *o, size_t n) {
  parry_buf_t *b = f->b;
  b->len = (size_t)(o - b->data);
  /* Ask for more than needed: growth is rare once the buffer is warm. */
  if (parry_buf_reserve(b, n + 4096) != PARRY_OK) return NULL;
  f->end = b->data + b->alloc - 1; /* the terminator's byte */
  if (b->cap && (size_t)(f->end - b->data) > b->cap) f->end = b->data + b->cap;
  o = b->data + b->len;
  return (size_t)(f->end - o) >= n ? o : NULL;
}

static inline __attribute__((always_inline)) char *fw_room(fw_t *f, char *o, size_t n) {
  return (size_t)(f->end - o) >= n ? o : fw_grow(f, o, n);
}

/* A key literal of constant length n, without its comma when first. Within
 * the slack: no check. */
#define FW_LIT(o, first, lit) fw_lit((o), (first), (lit), sizeof(lit) - 1)
static inline __attribute__((always_inline)) char *fw_lit(char *o, bool *first, const char *lit,
                                                           size_t n) {
  if (*first) {
    *first = false;
    memcpy(o, lit + 1, n - 1);
    return o + n - 1;
  }
  memcpy(o, lit, n);
  return o + n;
}

/* A slot's key from its table literal (KEY_LIT_SIZE bytes, the tail
 * overwritten later): one fixed-size copy, within the slack. */
static inline char *fw_slot_key(char *o, bool *first, const slot_t *t) {
  size_t skip = *first ? 1 : 0;
  *first = false;
  memcpy(o, t->lit + skip, KEY_LIT_SIZE - 1);
  return o + t->lit_len - skip;
}

/* s[0..len), len > 32: copied to out when none of it needs escaping or a
 * UTF-8 check (16 bytes a step, the last step overlapping), else false; out
 * may hold part of it either way. Never reads outside s[0..len). */
static bool fw_copy_plain_long(char *out, const char *s, size_t len) {
#if defined(__SSE2__)
  if (len <= 32) return false;
  size_t i = 0;
  for (; i + 16 < len; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    if (parry_json_special_mask_(v)) return false;
    _mm_storeu_si128((__m128i *)(void *)(out + i), v);
  }
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + len - 16));
  if (parry_json_special_mask_(v)) return false;
  _mm_storeu_si128((__m128i *)(void *)(out + len - 16), v);
  return true;
#else
  (void)out;
  (void)s;
  (void)len;
  return false;
#endif
}

/* s (may be NULL: "") as a JSON string, quotes included, then `tail` (0:
 * nothing; a key's ':'), leaving FW_SLACK bytes of room. Plain text is
 * copied as it is; anything that needs escaping or a UTF-8 check takes the
 * general escaper, the general writer's. */
static char *fw_str_slow(fw_t *f, char *o, const char *s, char tail) {
  if (!s) s = "";
  size_t len = strlen(s);
  if (!(o = fw_room(f, o, len + 3 + FW_SLACK))) return NULL;
  if (len == 0 || parry_json_copy_plain_short(o + 1, s, len) ||
      fw_copy_plain_long(o + 1, s, len)) {
    o[0] = '"';
    o[len + 1] = '"';
    o[len + 2] = tail;
    return o + len + 2 + (tail != 0);
  }
  parry_buf_t *b = f->b;
  b->len = (size_t)(o - b->data);
  if (parry_buf_append_json_quoted_strict(b, s, len) != PARRY_OK) return NULL;
  f->end = b->data + b->alloc - 1;
  if (b->cap && (size_t)(f->end - b->data) > b->cap) f->end = b->data + b->cap;
  o = b->data + b->len;
  if (!(o = fw_room(f, o, 1 + FW_SLACK))) return NULL;
  if (tail) *o++ = tail;
  return o;
}

/* Inline, the common case: a short plain string (most names, keywords and
 * keys), with room: copied straight in. */
static inline __attribute__((always_inline)) char *fw_str_tail(fw_t *f, char *o, const char *s,
                                                                char tail) {
  if (s && (size_t)(f->end - o) >= 35 + FW_SLACK) {
    size_t len = strlen(s);
    if (parry_json_copy_plain_short(o + 1, s, len)) { /* 1..32 plain bytes */
      o[0] = '"';
      o[len + 1] = '"';
      o[len + 2] = tail;
      return o + len + 2 + (tail != 0);
    }
  }
  return fw_str_slow(f, o, s, tail);
}

#define fw_str(f, o, s) fw_str_tail((f), (o), (s), 0)

/* ",\"key\":" for a key from `fields`: validated and escaped as a string. */
static inline __attribute__((always_inline)) char *fw_key(fw_t *f, char *o, bool *first,
                                                           const char *key) {
  if (!*first) *o++ = ','; /* within the slack */
  *first = false;
  return fw_str_tail(f, o, key, ':');
}

/* Integers, within the slack. */
static inline char *fw_uint(char *o, uint64_t v) {
  /* Two digits a step (pids and ports are 2..7 digits). */
  static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                 "25262728293031323334353637383940414243444546474849"
                                 "50515253545556575859606162636465666768697071727374"
                                 "75767778798081828384858687888990919293949596979899";
  /* Digits end at buf[24]; the copy out is a fixed 24 bytes from the
   * first digit (a variable-length memcpy was a libc call): the digits,
   * then zeros, within the caller's slack. */
  char buf[48] = {0};
  size_t i = 24;
  while (v >= 10) {
    i -= 2;
    memcpy(buf + i, pairs + 2 * (v % 100), 2);
    v /= 100;
  }
  if (v || i == 24) buf[--i] = (char)('0' + v);
  memcpy(o, buf + i, 24);
  return o + 24 - i;
}

static inline char *fw_int(char *o, int64_t v) {
  if (v >= 0) return fw_uint(o, (uint64_t)v);
  *o++ = '-';
  return fw_uint(o, (uint64_t)0 - (uint64_t)v);
}

/* strcmp(a, b) == 0 for short keys ("source", "ssh", "syslog": several
 * share a first byte), without the call. */
static inline bool fw_same_key(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/* Whether a map (not NULL) can be written: each entry with a key and a
 * value, no key twice and none of `reserved` (NULL-terminated, or NULL).
 * Maps of up to FW_PAIRWISE entries are checked as fw_entries writes them;
 * this is for the top of `fields`, whose keys are looked at first. */
static bool fw_map_ok(const Parry__V1__ValueMap *m, const char *const *reserved) {
  size_t n = m->n_entries;
  for (size_t i = 0; i < n; i++) {
    const Parry__V1__Entry *e = m->entries[i];
    if (!e || !e->key || !e->value) return false;
    /* Small maps (nearly all) pairwise; larger ones hashed, below. */
    for (size_t j = 0; n <= FW_PAIRWISE && j < i; j++)
      if (fw_same_key(m->entries[j]->key, e->key))
        return false;
    for (size_t r = 0; reserved && reserved[r]; r++)
      if (fw_same_key(reserved[r], e->key)) return false;
  }
  const char *dup;
  return n <= FW_PAIRWISE || !codec_map_has_duplicate(m, &dup);
}

static char *fw_value(fw_t *f, char *o, const Parry__V1__Value *v, int depth);

/* A map's entries, without braces, checked on the way as fw_map_ok checks
 * (a map found wrong halfway is given up like any other: nothing written
 * counts). `checked`: fw_map_ok has seen it already. */
static char *fw_entries(fw_t *f, char *o, const Parry__V1__ValueMap *m, bool *first, int depth,
                        const char *const *reserved, bool checked) {
  size_t n = m->n_entries;
  if (!checked && n > FW_PAIRWISE && !fw_map_ok(m, reserved)) return NULL;
  for (size_t i = 0; i < n; i++) {
    const Parry__V1__Entry *e = m->entries[i];
    if (!checked && n <= FW_PAIRWISE) {
      if (!e || !e->key || !e->value) return NULL;
      for (size_t j = 0; j < i; j++)
        if (fw_same_key(m->entries[j]->key, e->key))
          return NULL;
      for (size_t r = 0; reserved && reserved[r]; r++)
        if (fw_same_key(reserved[r], e->key)) return NULL;
    }
    if (!(o = fw_key(f, o, first, e->key))) return NULL;
    const Parry__V1__Value *v = e->value;
    /* Strings and booleans, the usual leaves, without a call. */
    if (v->kind_case == PARRY__V1__VALUE__KIND_STRING_VALUE) {
      o = fw_str(f, o, v->string_value);
    } else if (v->kind_case == PARRY__V1__VALUE__KIND_BOOL_VALUE) {
      memcpy(o, v->bool_value ? "true" : "false", v->bool_value ? 4 : 5); /* within the slack */
      o += v->bool_value ? 4 : 5;
    } else {
      o = fw_value(f, o, v, depth);
    }
    if (!o) return NULL;
  }
  return o;
}

/* Any Value; depth is that of its container, as the general writer counts. */
static char *fw_value(fw_t *f, char *o, const Parry__V1__Value *v, int depth) {
  if (!v || !(o = fw_room(f, o, 64 + FW_SLACK))) return NULL;
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_STRING_VALUE: return fw_str(f, o, v->string_value);
  case PARRY__V1__VALUE__KIND_INT_VALUE: return fw_int(o, v->int_value);
  case PARRY__V1__VALUE__KIND_BOOL_VALUE:
    memcpy(o, v->bool_value ? "true" : "false", v->bool_value ? 4 : 5);
    return o + (v->bool_value ? 4 : 5);
  case PARRY__V1__VALUE__KIND_NULL_VALUE:
    memcpy(o, "null", 4);
    return o + 4;
  case PARRY__V1__VALUE__KIND_DOUBLE_VALUE: {
    if (!isfinite(v->double_value)) return NULL;
    char buf[32];
    size_t n = codec_format_double(v->double_value, buf);
    memcpy(o, buf, n);
    return o + n;
  }
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT: {
    const char *t = v->number_text ? v->number_text : "";
    size_t n = strlen(t);
    if (!codec_number_valid(t, n) || !(o = fw_room(f, o, n + FW_SLACK))) return NULL;
    memcpy(o, t, n);
    return o + n;
  }
  case PARRY__V1__VALUE__KIND_MAP_VALUE: {
    const Parry__V1__ValueMap *m = v->map_value;
    bool first = true;
    if (depth >= FW_MAX_DEPTH) return NULL;
    *o++ = '{';
    if (m && !(o = fw_entries(f, o, m, &first, depth + 1, NULL, false))) return NULL;
    *o++ = '}'; /* within the slack the last step left */
    return o;
  }
  case PARRY__V1__VALUE__KIND_LIST_VALUE: {
    const Parry__V1__ValueList *l = v->list_value;
    if (depth >= FW_MAX_DEPTH) return NULL;
    *o++ = '[';
    for (size_t i = 0; l && i < l->n_items; i++) {
      if (i) *o++ = ',';
      if (!(o = fw_value(f, o, l->items[i], depth + 1))) return NULL;
    }
    *o++ = ']';
    return o;
  }
  default: return NULL; /* unset or unknown: the general writer names it */
  }
}

/* The untyped leftovers of typed object t, whose typed members are
 * written: `extra` must be a map, none of its keys a typed member that is
 * set (w_typed_object's errors). Its entries follow the members. */
static char *fw_rest(fw_t *f, char *o, const Parry__V1__Event *ev, const slot_t *t,
                     const Parry__V1__Entry *extra, bool *inner_first) {
  const Parry__V1__Value *rest = extra->value;
  if (rest->kind_case != PARRY__V1__VALUE__KIND_MAP_VALUE) return NULL;
  const Parry__V1__ValueMap *m = rest->map_value;
  if (!m) return o;
  const void *base = base_of(ev, t);
  const char *written[16];
  size_t n_written = 0;
  for (size_t i = 0; base && i < t->n_members; i++)
    if (member_set(base, &t->members[i])) written[n_written++] = t->members[i].key;
  written[n_written] = NULL;
  return fw_entries(f, o, m, inner_first, 2, written, false);
}

static inline __attribute__((always_inline)) char *fw_strs(fw_t *f, char *o, char *const *arr,
                                                             size_t n) {
  *o++ = '[';
  for (size_t k = 0; k < n && o; k++) {
    if (k) *o++ = ',';
    o = fw_str(f, o, arr[k]);
  }
  if (o) *o++ = ']';
  return o;
}

/* Typed members, open-coded in table order (the tables above are the
 * reference: the general writer and the reader walk them). Each writes
 * ",\"key\":value" when the member is set; `in` is true until one is. */
#define FW_STR_MEMBER(lit, val)                                                 \
  do {                                                                          \
    const char *s_ = (val);                                                     \
    if (s_ && *s_) {                                                            \
      o = FW_LIT(o, &in, ",\"" lit "\":");                                      \
      if (!(o = fw_str(f, o, s_))) return NULL;                                 \
    }                                                                           \
  } while (0)
#define FW_STRS_MEMBER(lit, arr, n)                                             \
  do {                                                                          \
    if (n) {                                                                    \
      o = FW_LIT(o, &in, ",\"" lit "\":");                                      \
      if (!(o = fw_strs(f, o, (arr), (n)))) return NULL;                        \
    }                                                                           \
  } while (0)
#define FW_PORT_MEMBER(lit, val)                                                \
  do {                                                                          \
    uint32_t p_ = (val);                                                        \
    if (p_) {                                                                   \
      if (p_ > 65535) return NULL;                                              \
      o = fw_uint(FW_LIT(o, &in, ",\"" lit "\":"), p_);                         \
    }                                                                           \
  } while (0)
#define FW_I64_MEMBER(lit, has, val)                                            \
  do {                                                                          \
    if (has) o = fw_int(FW_LIT(o, &in, ",\"" lit "\":"), (val));                \
  } while (0)

/* The members of slot s, after o; *in_first as `in` above. */
static inline __attribute__((always_inline)) char *fw_members(fw_t *f, char *o,
                                                               const Parry__V1__Event *ev, int s,
                                                               bool *in_first) {
  bool in = *in_first;
  switch (s) {
  case SLOT_EVENT:
    FW_STR_MEMBER("id", ev->id);
    FW_STR_MEMBER("kind", ev->event_kind);
    FW_STRS_MEMBER("category", ev->event_category, ev->n_event_category);
    FW_STRS_MEMBER("type", ev->event_type, ev->n_event_type);
    FW_STR_MEMBER("action", ev->event_action);
    FW_STR_MEMBER("outcome", ev->event_outcome);
    FW_STR_MEMBER("dataset", ev->event_dataset);
    FW_I64_MEMBER("severity", ev->has_event_severity, ev->event_severity);
    break;
  case SLOT_SOURCE:
    FW_STR_MEMBER("ip", ev->source_ip);
    FW_PORT_MEMBER("port", ev->source_port);
    break;
  case SLOT_DESTINATION:
    FW_STR_MEMBER("ip", ev->destination_ip);
    FW_PORT_MEMBER("port", ev->destination_port);
    break;
  case SLOT_USER: FW_STR_MEMBER("name", ev->user_name); break;
  case SLOT_HOST: FW_STR_MEMBER("name", ev->host_name); break;
  case SLOT_PROCESS:
    FW_STR_MEMBER("name", ev->process_name);
    FW_I64_MEMBER("pid", ev->has_process_pid, ev->process_pid);
    FW_STR_MEMBER("command_line", ev->process_command_line);
    break;
  case SLOT_LOGSOURCE:
    if (ev->logsource) {
      FW_STR_MEMBER("product", ev->logsource->product);
      FW_STR_MEMBER("service", ev->logsource->service);
      FW_STR_MEMBER("category", ev->logsource->category);
    }
    break;
  }
  *in_first = in;
  return o;
}

/* One typed object (event, source, ...) with its untyped leftovers from
 * `extra`, as w_typed_object writes it: "key":{members, leftovers} when a
 * member is set, else the leftovers as they are, else nothing. */
static inline __attribute__((always_inline)) char *fw_typed_object(
    fw_t *f, char *o, const Parry__V1__Event *ev, int s, const Parry__V1__Entry *extra,
    bool *first) {
  const slot_t *t = &slots[s];
  if (!(o = fw_room(f, o, FW_SLACK))) return NULL;
  size_t mark = (size_t)(o - f->b->data); /* an offset: the buffer may move */
  bool was_first = *first, in = true;
  o = fw_slot_key(o, first, t);
  *o++ = '{';
  if (!(o = fw_members(f, o, ev, s, &in))) return NULL;
  if (in) { /* no member set: take the key back */
    *first = was_first;
    o = f->b->data + mark;
    if (!extra) return o;
    return fw_value(f, fw_slot_key(o, first, t), extra->value, 1);
  }
  if (extra && !(o = fw_rest(f, o, ev, t, extra, &in))) return NULL;
  *o++ = '}';
  return o;
}

/* @timestamp or message: the typed value, or else the entry of `fields`
 * under that key, never both (the general writer's error). */
static inline __attribute__((always_inline)) char *fw_scalar_slot(
    fw_t *f, char *o, const Parry__V1__Event *ev, int s, const Parry__V1__Entry *extra,
    bool *first) {
  const slot_t *t = &slots[s];
  bool typed = s == SLOT_TIMESTAMP ? ev->has_timestamp : ev->message && *ev->message;
  if (typed && extra) return NULL;
  if (!(o = fw_room(f, o, PARRY_TIME_MAX_LEN + FW_SLACK))) return NULL;
  if (typed) {
    o = fw_slot_key(o, first, t);
    if (s == SLOT_TIMESTAMP) {
      if (!codec_time_in_range(ev->timestamp_ns)) return NULL;
      *o++ = '"';
      o += codec_time_text(ev->timestamp_ns, o);
      *o++ = '"';
      return o;
    }
    return fw_str(f, o, ev->message);
  }
  if (extra) return fw_value(f, fw_slot_key(o, first, t), extra->value, 1);
  return o;
}

/* The whole event, top level (not nested in a signal or alert), or false
 * with the buffer's length where it was. */
static bool fw_event(parry_buf_t *out, const Parry__V1__Event *ev) {
  const Parry__V1__Entry *slot_entry[N_SLOTS] = {0};
  const Parry__V1__ValueMap *fields = ev->fields;
  unsigned char entry_slot[FW_SLOTS_KEPT]; /* each entry's slot (the first 64) */
  size_t start = out->len;
  if (fields) {
    size_t n = fields->n_entries;
    if (n > FW_PAIRWISE && !fw_map_ok(fields, NULL)) return false;
    for (size_t i = 0; i < n; i++) {
      const Parry__V1__Entry *e = fields->entries[i];
      if (n <= FW_PAIRWISE) { /* fw_map_ok's checks, in the same pass */
        if (!e || !e->key || !e->value) return false;
        for (size_t j = 0; j < i; j++)
          if (fw_same_key(fields->entries[j]->key, e->key)) return false;
      }
      const char *key = e->key;
      int s = slot_of(key);
      if (s == SLOT_NONE && key[0] == 's' && key[1] == 'c' && strcmp(key, "schema_version") == 0)
        return false;
      if (i < FW_SLOTS_KEPT) entry_slot[i] = (unsigned char)s;
      if (s != SLOT_NONE) slot_entry[s] = fields->entries[i];
    }
  }
  if (!out->data && parry_buf_reserve(out, 4096) != PARRY_OK) return false;
  fw_t f = {out, out->data + out->alloc - 1};
  if (out->cap && out->cap < out->alloc - 1) f.end = out->data + out->cap;
  char *o = fw_room(&f, out->data + out->len, FW_SLACK);
  if (!o) goto fail;
  {
    static const char head[] = "{\"schema_version\":";
    uint64_t version = ev->schema_version ? ev->schema_version : PARRY_SCHEMA_VERSION;
    memcpy(o, head, sizeof head - 1);
    if (version < 10) { /* the usual one digit, without the division loop */
      o[sizeof head - 1] = (char)('0' + version);
      o += sizeof head;
    } else {
      o = fw_uint(o + sizeof head - 1, version);
    }
  }
  bool first = false;
  /* The slots in order, each a call with a constant slot, so that its
   * member code is laid out for it. */
  o = fw_scalar_slot(&f, o, ev, SLOT_TIMESTAMP, slot_entry[SLOT_TIMESTAMP], &first);
  if (o) o = fw_typed_object(&f, o, ev, SLOT_EVENT, slot_entry[SLOT_EVENT], &first);
  if (o) o = fw_typed_object(&f, o, ev, SLOT_SOURCE, slot_entry[SLOT_SOURCE], &first);
  if (o) o = fw_typed_object(&f, o, ev, SLOT_DESTINATION, slot_entry[SLOT_DESTINATION], &first);
  if (o) o = fw_typed_object(&f, o, ev, SLOT_USER, slot_entry[SLOT_USER], &first);
  if (o) o = fw_typed_object(&f, o, ev, SLOT_HOST, slot_entry[SLOT_HOST], &first);
  if (o) o = fw_typed_object(&f, o, ev, SLOT_PROCESS, slot_entry[SLOT_PROCESS], &first);
  if (o) o = fw_scalar_slot(&f, o, ev, SLOT_MESSAGE, slot_entry[SLOT_MESSAGE], &first);
  if (o) o = fw_typed_object(&f, o, ev, SLOT_LOGSOURCE, slot_entry[SLOT_LOGSOURCE], &first);
  for (size_t i = 0; fields && i < fields->n_entries && o; i++) {
    const Parry__V1__Entry *e = fields->entries[i];
    if ((i < FW_SLOTS_KEPT ? entry_slot[i] : slot_of(e->key)) != SLOT_NONE) continue;
    o = fw_key(&f, o, &first, e->key);
    if (o) o = fw_value(&f, o, e->value, 1);
  }
  if (!o) goto fail;
  *o++ = '}'; /* within the slack */
  out->len = (size_t)(o - out->data);
  out->data[out->len] = '\0';
  return true;
fail:
  out->len = start;
  if (out->data) out->data[start] = '\0';
  return false;
}

parry_err_t parry_event_to_json(const Parry__V1__Event *ev, parry_buf_t *out, char *errstr,
                                size_t errstr_size) {
  if (fw_event(out, ev)) return PARRY_OK;
  codec_writer_t w;
  codec_writer_init(&w, out, errstr, errstr_size);
  codec_w_event(&w, ev, NULL, 0, false);
  return codec_writer_finish(&w);
}

void parry_event_canonicalize(Parry__V1__Event *ev) {
  Parry__V1__ValueMap *fields = ev->fields;
  if (!fields || fields->n_entries < 2) return;
  size_t n = fields->n_entries, k = 0;
  Parry__V1__Entry **sorted = parry_xnew(Parry__V1__Entry *, n);
  for (int s = 0; s <= N_SLOTS; s++)
    for (size_t i = 0; i < n; i++) {
      const char *key = fields->entries[i] && fields->entries[i]->key ? fields->entries[i]->key : "";
      if (slot_of(key) == s) sorted[k++] = fields->entries[i];
    }
  free(fields->entries);
  fields->entries = sorted;
}

/* ---- lookup ---- */

/* A key equal to the whole rest of the path wins over descending, so a flat
 * "a.b" and a nested {"a": {"b"}} both answer "a.b", the flat one first. */
static const Parry__V1__Value *map_lookup(const Parry__V1__ValueMap *m, const char *path,
                                          size_t len) {
  if (!m) return NULL;
  for (size_t i = 0; i < m->n_entries; i++) {
    const Parry__V1__Entry *e = m->entries[i];
    if (e && e->key && strlen(e->key) == len && memcmp(e->key, path, len) == 0) return e->value;
  }
  for (size_t i = 0; i < m->n_entries; i++) {
    const Parry__V1__Entry *e = m->entries[i];
    if (!e || !e->key || !e->value) continue;
    size_t klen = strlen(e->key);
    if (klen < len && path[klen] == '.' && memcmp(e->key, path, klen) == 0 &&
        e->value->kind_case == PARRY__V1__VALUE__KIND_MAP_VALUE) {
      const Parry__V1__Value *v = map_lookup(e->value->map_value, path + klen + 1, len - klen - 1);
      if (v) return v;
    }
  }
  return NULL;
}

static parry_field_kind_t typed_lookup(const Parry__V1__Event *ev, const char *path,
                                       parry_field_t *out) {
  if (path[0] == '@' && strcmp(path, "@timestamp") == 0) {
    if (!ev->has_timestamp) return PARRY_FIELD_ABSENT;
    out->i = ev->timestamp_ns;
    return out->kind = PARRY_FIELD_TIME;
  }
  if (path[0] == 'm' && strcmp(path, "message") == 0) {
    if (!ev->message || !*ev->message) return PARRY_FIELD_ABSENT;
    out->str = ev->message;
    out->len = strlen(ev->message);
    return out->kind = PARRY_FIELD_STRING;
  }
  const char *dot = strchr(path, '.');
  if (!dot) return PARRY_FIELD_ABSENT;
  for (int s = 0; s < N_SLOTS; s++) {
    const slot_t *t = &slots[s];
    if (!t->members || LIT_KEY_LEN(t) != (size_t)(dot - path) || t->key[0] != path[0] ||
        memcmp(t->key, path, (size_t)(dot - path)) != 0)
      continue;
    const member_t *m = member_of(t, dot + 1, strlen(dot + 1));
    const void *base = base_of(ev, t);
    if (!m || !base || !member_set(base, m)) return PARRY_FIELD_ABSENT;
    switch (m->kind) {
    case M_STR:
    case M_IP:
      out->str = *AT(base, m->off, char *);
      out->len = strlen(out->str);
      return out->kind = PARRY_FIELD_STRING;
    case M_STRS:
      out->strs = *AT(base, m->off, char **);
      out->n_strs = *AT(base, m->aux, size_t);
      return out->kind = PARRY_FIELD_STRINGS;
    case M_PORT:
      out->i = *AT(base, m->off, uint32_t);
      return out->kind = PARRY_FIELD_INT;
    case M_I64:
      out->i = *AT(base, m->off, int64_t);
      return out->kind = PARRY_FIELD_INT;
    }
  }
  return PARRY_FIELD_ABSENT;
}

parry_field_kind_t parry_event_get(const Parry__V1__Event *ev, const char *path,
                                   parry_field_t *out) {
  memset(out, 0, sizeof *out);
  if (!ev || !path) return PARRY_FIELD_ABSENT;
  if (typed_lookup(ev, path, out) != PARRY_FIELD_ABSENT) return out->kind;
  const Parry__V1__Value *v = map_lookup(ev->fields, path, strlen(path));
  if (!v) return PARRY_FIELD_ABSENT;
  out->value = v;
  return out->kind = PARRY_FIELD_VALUE;
}

const char *parry_field_text(const parry_field_t *f, char *buf, size_t buf_size, size_t *len) {
  const char *text = NULL;
  size_t n = 0;
  if (buf_size < PARRY_FIELD_TEXT_MAX) return NULL;
  switch (f->kind) {
  case PARRY_FIELD_STRING:
    text = f->str;
    n = f->len;
    break;
  case PARRY_FIELD_INT:
    n = (size_t)snprintf(buf, buf_size, "%lld", (long long)f->i);
    text = buf;
    break;
  case PARRY_FIELD_TIME:
    if (!codec_time_in_range(f->i)) return NULL;
    n = parry_time_format_rfc3339(f->i, buf);
    text = buf;
    break;
  case PARRY_FIELD_VALUE: {
    const Parry__V1__Value *v = f->value;
    switch (v->kind_case) {
    case PARRY__V1__VALUE__KIND_STRING_VALUE:
      text = v->string_value;
      n = strlen(text);
      break;
    case PARRY__V1__VALUE__KIND_NUMBER_TEXT:
      text = v->number_text;
      n = strlen(text);
      break;
    case PARRY__V1__VALUE__KIND_INT_VALUE:
      n = (size_t)snprintf(buf, buf_size, "%lld", (long long)v->int_value);
      text = buf;
      break;
    case PARRY__V1__VALUE__KIND_DOUBLE_VALUE:
      if (!isfinite(v->double_value)) return NULL;
      n = codec_format_double(v->double_value, buf);
      text = buf;
      break;
    case PARRY__V1__VALUE__KIND_BOOL_VALUE:
      text = v->bool_value ? "true" : "false";
      n = strlen(text);
      break;
    default: return NULL;
    }
    break;
  }
  default: return NULL;
  }
  if (len) *len = n;
  return text;
}
