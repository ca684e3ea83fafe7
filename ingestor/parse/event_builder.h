/* Building an Event in an arena, for parsers.
 *
 * Every string and submessage lives in the record's arena (parry/arena.h),
 * so an Event built here is never freed on its own: it dies with the next
 * parry_arena_reset. Never pass one to parry__v1__event__free_unpacked.
 *
 * Text from the input may be any bytes; the setters copy it as valid UTF-8,
 * replacing each invalid byte with U+FFFD, because every Event must be
 * writable as JSON. (The raw bytes of a record are never lost: rejects keep
 * them on the dead-letter topic.)
 */
#ifndef PARRY_EVENT_BUILDER_H
#define PARRY_EVENT_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/arena.h"
#include "proto/parry.pb-c.h"

typedef struct {
  parry_arena_t *arena;
  Parry__V1__Event *ev;
} parry_evb_t;

/* A zeroed Event (schema_version set) in the arena. */
void parry_evb_init(parry_evb_t *b, parry_arena_t *arena);

/* A UTF-8-clean, NUL-terminated arena copy of s[0..len). */
char *parry_evb_text(parry_evb_t *b, const char *s, size_t len);

/* Typed ECS fields. `s` is copied; len may be (size_t)-1 for strlen. */
void parry_evb_set_timestamp(parry_evb_t *b, int64_t ns);
void parry_evb_add_category(parry_evb_t *b, const char *category); /* static strings */
void parry_evb_add_type(parry_evb_t *b, const char *type);          /* static strings */
void parry_evb_set_kind(parry_evb_t *b, const char *kind);          /* static strings */
void parry_evb_set_action(parry_evb_t *b, const char *s, size_t len);
/* The same for an action that outlives the event and is plain ASCII (a
 * literal, or text of this builder): kept as it is, not copied. */
void parry_evb_set_action_static(parry_evb_t *b, const char *action);
void parry_evb_set_outcome(parry_evb_t *b, const char *outcome);    /* "success"|"failure"|"unknown" */
void parry_evb_set_dataset(parry_evb_t *b, const char *s, size_t len);
void parry_evb_set_severity(parry_evb_t *b, int64_t severity);
/* Sets source.ip when s is an IPv4/IPv6 address (returns true); otherwise
 * leaves source.ip unset and returns false. Either way source.address gets
 * the text (ECS: an address is an IP or a host name). For a plain IPv4
 * address both point at the same arena text (which nothing changes). */
bool parry_evb_set_source_address(parry_evb_t *b, const char *s, size_t len);
void parry_evb_set_source_port(parry_evb_t *b, uint32_t port);
bool parry_evb_set_destination_address(parry_evb_t *b, const char *s, size_t len);
void parry_evb_set_destination_port(parry_evb_t *b, uint32_t port);
void parry_evb_set_user(parry_evb_t *b, const char *s, size_t len);
void parry_evb_set_host(parry_evb_t *b, const char *s, size_t len);
void parry_evb_set_process_name(parry_evb_t *b, const char *s, size_t len);
void parry_evb_set_process_pid(parry_evb_t *b, int64_t pid);
void parry_evb_set_command_line(parry_evb_t *b, const char *s, size_t len);
void parry_evb_set_message(parry_evb_t *b, const char *s, size_t len);
/* Static strings (or arena copies); NULL leaves a part empty. */
void parry_evb_set_logsource(parry_evb_t *b, const char *product, const char *service,
                             const char *category);

/* Untyped fields, at a dotted path: each dot is one level of nesting
 * ("log.syslog.facility.code" creates log -> syslog -> facility -> code).
 * A path whose first segment is a typed ECS object ("source.geo") is fine:
 * the codec merges it into the same JSON object. Setting a path again
 * replaces the value. For vendor keys that contain dots themselves, use
 * parry_evb_map_put on the map returned by parry_evb_map_at. */
void parry_evb_field_str(parry_evb_t *b, const char *path, const char *s, size_t len);
void parry_evb_field_int(parry_evb_t *b, const char *path, int64_t v);
void parry_evb_field_bool(parry_evb_t *b, const char *path, bool v);
/* (The three above are macros below: a literal path's length and first dot
 * are found by the compiler, not at run time. These take them.) */
void parry_evb_field_str_at(parry_evb_t *b, const char *path, size_t path_len, size_t first_len,
                            const char *s, size_t len);
void parry_evb_field_int_at(parry_evb_t *b, const char *path, size_t path_len, size_t first_len,
                            int64_t v);
void parry_evb_field_bool_at(parry_evb_t *b, const char *path, size_t path_len, size_t first_len,
                             bool v);
/* Length of the path and of its first segment; constants for a literal. */
#define PARRY_EVB_PATH_(path)                                                           \
  (path), __builtin_strlen(path),                                                        \
      (__builtin_strchr((path), '.') ? (size_t)(__builtin_strchr((path), '.') - (path))   \
                                     : __builtin_strlen(path))
/* (Variadic: an argument may be a macro that gives two, LIT("x").) */
#define parry_evb_field_str(b, path, ...)                                               \
  parry_evb_field_str_at((b), PARRY_EVB_PATH_(path), __VA_ARGS__)
#define parry_evb_field_int(b, path, ...)                                               \
  parry_evb_field_int_at((b), PARRY_EVB_PATH_(path), __VA_ARGS__)
#define parry_evb_field_bool(b, path, ...)                                              \
  parry_evb_field_bool_at((b), PARRY_EVB_PATH_(path), __VA_ARGS__)
/* The map at path (created as needed; "" is the top level of `fields`). */
Parry__V1__ValueMap *parry_evb_map_at(parry_evb_t *b, const char *path);
/* A new or replaced entry `key` (copied) in map; fill the returned Value. */
Parry__V1__Value *parry_evb_map_put(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key,
                                    size_t key_len);
/* Fill v as a string / new empty map / new empty list. */
void parry_evb_value_str(parry_evb_t *b, Parry__V1__Value *v, const char *s, size_t len);
Parry__V1__ValueMap *parry_evb_value_map(parry_evb_t *b, Parry__V1__Value *v);
/* Append to a list value (v must be a list, or unset: it becomes one). */
Parry__V1__Value *parry_evb_list_append(parry_evb_t *b, Parry__V1__Value *list);

/* The whole JSON value `obj` (a json-c tree) as a Value, copied into the
 * arena: for parsers that keep vendor JSON as it is. Numbers keep their
 * exact text (see parry/codec.h). Returns false if obj holds something an
 * Event cannot (nesting over the codec's cap). */
struct json_object;
bool parry_evb_value_from_json(parry_evb_t *b, Parry__V1__Value *v, struct json_object *obj);

#endif
