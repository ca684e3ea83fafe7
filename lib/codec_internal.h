/* Shared by lib/codec_*.c only; the public interface is parry/codec.h. */
#ifndef PARRY_CODEC_INTERNAL_H
#define PARRY_CODEC_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parry/buf.h"
#include "parry/codec.h"
#include "parry/error.h"

/* Where in the document we are: a chain of frames on the C stack, rendered
 * only when an error message needs it, so the happy path pays nothing. */
typedef struct codec_path {
  const struct codec_path *up;
  const char *key; /* NULL: an array element */
  size_t index;
} codec_path_t;

#define CODEC_KEY(up_, key_) {(up_), (key_), 0}
#define CODEC_INDEX(up_, i_) {(up_), NULL, (i_)}

/* "source.geo.city", "events[2].user.name"; "" for the root. */
void codec_path_render(const codec_path_t *p, char *out, size_t size);

/* errstr = "<path>: <message>" (just the message at the root). */
parry_err_t codec_fail(char *errstr, size_t errstr_size, parry_err_t err, const codec_path_t *p,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

bool codec_utf8_valid(const char *s, size_t len);
/* Length (2..4) of the valid multi-byte UTF-8 sequence at s, 0 if none. */
size_t codec_utf8_sequence(const char *s, size_t avail);
/* RFC 8259 number grammar, the whole of s. */
bool codec_number_valid(const char *s, size_t len);
/* Writes the canonical text of a finite double (see codec.h) into buf[32]. */
size_t codec_format_double(double d, char buf[32]);

/* "null", "boolean", "integer", "number", "string", "array", "object". */
const char *codec_json_type_name(struct json_object *o);
/* For "expected X, got Y": numbers as their literal, other values by type. */
void codec_describe(struct json_object *o, char *out, size_t size);

/* Exact integer readers over json-c numbers (int64, uint64 and the literal
 * text the reader keeps for integers past int64). */
bool codec_json_int64(struct json_object *o, int64_t *out);
bool codec_json_uint64(struct json_object *o, uint64_t *out);

/* A string member checked for UTF-8 and U+0000 (json-c trees may hold both). */
parry_err_t codec_json_string(struct json_object *o, const codec_path_t *p, const char **out,
                              size_t *len, char *errstr, size_t errstr_size);

/* RFC 3339 <-> ns, within the range both directions accept (codec.h). */
parry_err_t codec_time_parse(struct json_object *o, const codec_path_t *p, int64_t *out,
                             char *errstr, size_t errstr_size);
bool codec_time_in_range(int64_t ns);
/* The RFC 3339 text of ns (in range) into out[PARRY_TIME_MAX_LEN]; its length. */
size_t codec_time_text(int64_t ns, char *out);

/* json-c value -> Value; depth is that of the enclosing container. */
parry_err_t codec_value_from_json(struct json_object *o, const codec_path_t *p, int depth,
                                  Parry__V1__Value **out, char *errstr, size_t errstr_size);

/* The writer keeps the first error and ignores everything after it, so the
 * emitting code reads straight through; callers check w->err at the end. */
typedef struct {
  parry_buf_t *out;
  size_t start;
  parry_err_t err;
  char *errstr;
  size_t errstr_size;
} codec_writer_t;

void codec_writer_init(codec_writer_t *w, parry_buf_t *out, char *errstr, size_t errstr_size);
/* Finish: on error, truncate out back to where it started. */
parry_err_t codec_writer_finish(codec_writer_t *w);
void codec_w_raw_slow(codec_writer_t *w, const char *s, size_t len);
/* Inline: the writers call it for every few bytes. When there is room it is a
 * bounds check and a copy; growth, the cap and errors go the slow way. */
static inline void codec_w_raw(codec_writer_t *w, const char *s, size_t len) {
  parry_buf_t *b = w->out;
  if (!w->err && b->alloc - b->len > len && (b->cap == 0 || b->cap - b->len >= len)) {
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
    return;
  }
  codec_w_raw_slow(w, s, len);
}
#define codec_w_lit(w, lit) codec_w_raw((w), (lit), sizeof(lit) - 1)
void codec_w_fail(codec_writer_t *w, parry_err_t err, const codec_path_t *p, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
void codec_w_string(codec_writer_t *w, const char *s, const codec_path_t *p);
/* ",\"key\":" (comma unless *first); key validated and escaped. */
void codec_w_key(codec_writer_t *w, bool *first, const char *key, const codec_path_t *p);
void codec_w_int(codec_writer_t *w, int64_t v);
void codec_w_uint(codec_writer_t *w, uint64_t v);
void codec_w_time(codec_writer_t *w, int64_t ns, const codec_path_t *p);
void codec_w_value(codec_writer_t *w, const Parry__V1__Value *v, const codec_path_t *p, int depth);
/* The entries of a map, without braces: for objects whose typed members come
 * first. `reserved`, if not NULL, is a NULL-terminated list of keys already
 * written by the caller; meeting one is an error, not a second key. */
void codec_w_map_entries(codec_writer_t *w, const Parry__V1__ValueMap *m, bool *first,
                         const char *const *reserved, const codec_path_t *p, int depth);
/* "null", "string", "map"... for messages. */
const char *codec_value_kind_name(const Parry__V1__Value *v);
/* true if two entries share a key; *dup names it. */
bool codec_map_has_duplicate(const Parry__V1__ValueMap *m, const char **dup);

/* Shared by the event, signal and alert readers. */
Parry__V1__Value *codec_value_new(void);
Parry__V1__Entry *codec_entry_new(const char *key, Parry__V1__Value *value);
parry_err_t codec_schema_version(struct json_object *o, const codec_path_t *p, uint32_t *out,
                                 char *errstr, size_t errstr_size);

/* Events are also nested in signals and alerts; `depth` as above. */
parry_err_t codec_event_from_json(struct json_object *o, const codec_path_t *p, int depth,
                                  bool nested, Parry__V1__Event **out, char *errstr,
                                  size_t errstr_size);
void codec_w_event(codec_writer_t *w, const Parry__V1__Event *ev, const codec_path_t *p,
                   int depth, bool nested);

#endif
