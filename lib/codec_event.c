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
  return strcmp(slots[s].key, key) == 0 ? s : SLOT_NONE;
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

parry_err_t parry_event_to_json(const Parry__V1__Event *ev, parry_buf_t *out, char *errstr,
                                size_t errstr_size) {
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
