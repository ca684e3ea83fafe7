/* The canonical JSON form of Event, Signal and Alert (proto/parry.proto), in
 * both directions, losslessly.
 *
 * Reading JSON
 * ------------
 * Text goes through the codec's own strict reader (parry_codec_parse_json),
 * not json-c's tokener, because json-c silently drops duplicate keys, rounds
 * 20-digit integers to 2^64-1, turns "-0" into 0, replaces lone surrogates
 * with U+FFFD and accepts non-JSON such as `1.` and raw tabs in strings. The
 * reader builds a json-c tree (so the *_from_json_object variants share one
 * converter) and rejects, with an error naming the JSON path and byte offset:
 *   - anything RFC 8259 does not allow, and data after the value;
 *   - invalid UTF-8, raw or in escapes (lone surrogates such as "\ud800");
 *   - U+0000 in strings and keys (protobuf-c strings are NUL-terminated);
 *   - a key repeated within one object ("duplicate key");
 *   - nesting deeper than PARRY_CODEC_MAX_DEPTH.
 * Trees given to *_from_json_object are checked the same way (UTF-8, U+0000,
 * depth) except for what json-c's tokener has already lost by then: a
 * repeated key (last one wins), integers past 2^64-1 (saturated), "-0" (0)
 * and lone surrogates (U+FFFD). Non-integers keep their literal text in
 * json-c trees, so those stay exact. Pass trees from parry_codec_parse_json
 * where any of that matters.
 *
 * Numbers in `fields` (and any Value) keep their exact JSON text:
 *   - an integer literal that fits int64 and is written canonically (so not
 *     "-0") becomes int_value;
 *   - a literal with a fraction or exponent becomes double_value when the
 *     double, written back by the codec, gives the same text. The codec
 *     writes a double like Python's repr: the fewest significant digits that
 *     read back to the same double, in fixed notation with at least one
 *     decimal when the exponent is -4..15, else as C's %e
 *     ("0.1", "100.0", "-0.0", "0.30000000000000004", "1e+21", "1.5e-300");
 *   - every other literal ("-0", "1.50", "1E5", "1e400", 20-digit integers)
 *     becomes number_text, written back verbatim.
 * So every number is written out exactly as it was read. Non-finite doubles
 * cannot be written: to_json fails naming the field. (The codec formats and
 * parses numbers with the C library, so LC_NUMERIC must stay "C".)
 *
 * Events
 * ------
 * The JSON paths named in parry.proto go to typed fields and must have the
 * type stated there, else the error names the path and what was expected
 * ("source.port: expected an integer 0..65535, got string"):
 *   strings: event.id .kind .action .outcome .dataset, user.name, host.name,
 *            process.name .command_line, message, logsource.product .service
 *            .category; source.ip and destination.ip must be IPv4 or IPv6
 *   arrays of strings: event.category, event.type (a single string is taken
 *            as a one-element array)
 *   integers: event.severity, process.pid (int64), source.port and
 *            destination.port (0..65535)
 *   "@timestamp": an RFC 3339 string (see Timestamps)
 * A typed path whose value means "absent" in the typed field -- null, "", []
 * or port 0 -- is kept in `fields` as it was, so it survives the round trip.
 * Everything else, at any depth, including untyped members of typed objects
 * ("source": {"ip": typed, "geo": {...}}), goes to `fields` with its order and
 * nesting. Unknown keys are never errors in an Event.
 *
 * An Event is written as: schema_version, @timestamp, event, source,
 * destination, user, host, process, message, logsource, then the rest of
 * `fields` in order. The untyped part of a typed object is merged into the
 * same JSON object after its typed members. The reader stores `fields` in
 * that same order (typed-object keys first), so JSON -> proto -> JSON ->
 * proto gives byte-identical protobuf on both trips.
 *
 * Signals and alerts
 * ------------------
 * Every key is typed (see parry.proto); unknown keys are errors naming them,
 * at any level ("rule: unknown key \"x\""). "@timestamp" is required (the
 * proto has no presence flag for it); "window" needs both "start" and "end".
 * Members equal to their default ("", 0, [], {}) are not written, and an
 * object left empty ("rule") is not written either. "group_by" values are
 * strings. Events inside them follow the Event rules, except that
 * schema_version is optional there (absent: 0, inherit the envelope's) and is
 * written only when not 0.
 *
 * schema_version (top level): absent means the current version, written
 * back explicitly; it must be an integer >= 1; a version newer than
 * PARRY_SCHEMA_VERSION is PARRY_ERR_UNSUPPORTED naming it. A proto with
 * schema_version 0 is written as the current version.
 *
 * Timestamps ("@timestamp", "window.start", "window.end"): RFC 3339, any
 * offset, 'T' or 't' or ' ', 'Z' or 'z', up to 9 fraction digits, leap second
 * :60 read as the next second; years 1678..2261 (int64 nanoseconds end in
 * 2262). Written in UTC with 'Z' and the shortest of 0, 3, 6 or 9 fraction
 * digits that is exact.
 *
 * Normalizations: the only ways a JSON -> proto -> JSON trip changes the
 * document (json_object_equal) are the timestamp format, a top-level
 * schema_version being added, a string event.category/event.type becoming an
 * array, and default members of signals and alerts being dropped.
 *
 * Writing JSON
 * ------------
 * *_to_json append one line of compact JSON (no newline) to a parry_buf, and
 * never write invalid JSON: a string that is not valid UTF-8, a non-finite
 * double, a malformed number_text, a duplicate key in a map, a `fields` entry
 * that collides with a typed field, or a time outside the range above is an
 * error naming the field, and `out` is left as it was. A proto is written
 * back to the identical protobuf when it is canonical, as every proto read
 * from JSON is: `fields` entries named after typed keys (@timestamp, event,
 * source, destination, user, host, process, message, logsource) come first in
 * that order (parry_event_canonicalize), such an entry is there only when it
 * has untyped members or the typed object has no typed member set,
 * number_text holds only literals that are neither int_value nor double_value
 * by the rule above, null_value is true, and unset has_* flags go with zero
 * values.
 *
 * Memory: everything *_from_json* returns is allocated with malloc, string by
 * string and submessage by submessage, so protobuf-c's generated free frees it
 * all: parry__v1__event__free_unpacked(ev, NULL) (and signal, alert, value).
 * Out of memory aborts (parry/mem.h). On error *out is left untouched.
 *
 * All functions are reentrant; nothing here keeps state.
 */
#ifndef PARRY_CODEC_H
#define PARRY_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "parry/buf.h"
#include "parry/error.h"
#include "proto/parry.pb-c.h"

struct json_object;

#define PARRY_SCHEMA_VERSION 1
#define PARRY_CODEC_MAX_DEPTH 64 /* nested objects and arrays, root included */

/* Strictly parse one JSON value (the rules above) into a json-c tree that
 * the caller frees with json_object_put(). Whitespace around it is allowed,
 * anything else after it is not. */
parry_err_t parry_codec_parse_json(const char *json, size_t len, struct json_object **out,
                                   char *errstr, size_t errstr_size);

parry_err_t parry_event_from_json(const char *json, size_t len, Parry__V1__Event **out,
                                  char *errstr, size_t errstr_size);
parry_err_t parry_event_from_json_object(struct json_object *obj, Parry__V1__Event **out,
                                         char *errstr, size_t errstr_size);
parry_err_t parry_event_to_json(const Parry__V1__Event *ev, parry_buf_t *out, char *errstr,
                                size_t errstr_size);

parry_err_t parry_signal_from_json(const char *json, size_t len, Parry__V1__Signal **out,
                                   char *errstr, size_t errstr_size);
parry_err_t parry_signal_from_json_object(struct json_object *obj, Parry__V1__Signal **out,
                                          char *errstr, size_t errstr_size);
parry_err_t parry_signal_to_json(const Parry__V1__Signal *sig, parry_buf_t *out, char *errstr,
                                 size_t errstr_size);

parry_err_t parry_alert_from_json(const char *json, size_t len, Parry__V1__Alert **out,
                                  char *errstr, size_t errstr_size);
parry_err_t parry_alert_from_json_object(struct json_object *obj, Parry__V1__Alert **out,
                                         char *errstr, size_t errstr_size);
parry_err_t parry_alert_to_json(const Parry__V1__Alert *alert, parry_buf_t *out, char *errstr,
                                size_t errstr_size);

/* Any JSON value as a Value tree (numbers by the rule above); parsers that
 * keep vendor JSON build `fields` with it. Free: parry__v1__value__free_unpacked. */
parry_err_t parry_value_from_json_object(struct json_object *obj, Parry__V1__Value **out,
                                         char *errstr, size_t errstr_size);
/* A Value tree, or a ValueMap as a JSON object, appended as compact JSON. */
parry_err_t parry_value_to_json(const Parry__V1__Value *v, parry_buf_t *out, char *errstr,
                                size_t errstr_size);
parry_err_t parry_value_map_to_json(const Parry__V1__ValueMap *map, parry_buf_t *out,
                                    char *errstr, size_t errstr_size);

/* The protobuf encoding of m -- byte for byte what protobuf_c_message_pack
 * writes -- in one walk (lib/pb_pack.c), in scratch: a pointer into it and
 * *len, valid until scratch is used again; NULL when scratch hits its cap.
 * scratch's len is ignored and its contents replaced. */
const uint8_t *parry_pb_pack(const ProtobufCMessage *m, parry_buf_t *scratch, size_t *len);
/* The same into buf[0..cap) (a stack buffer): the encoding's start within
 * buf, or NULL when it does not fit or holds something left to protobuf-c
 * (then pack it with protobuf-c). */
const uint8_t *parry_pb_pack_into(const ProtobufCMessage *m, uint8_t *buf, size_t cap,
                                  size_t *len);

/* Reorder ev->fields into the canonical order above (stable otherwise), for
 * parsers that build Events by hand. Writing JSON does not need it; byte-
 * identical protobuf round trips do. */
void parry_event_canonicalize(Parry__V1__Event *ev);

/* Field lookup by name, for the Sigma engine.
 *
 * `path` is an ECS dotted name ("source.ip", "winlog.event_data.LogonType")
 * or a plain vendor name ("TargetUserName"). A typed path that is set answers
 * from the typed field. Otherwise `fields` is searched: at each level a key
 * equal to the rest of the path wins, else a key followed by '.' descends
 * into that key's map, so both nested objects and flat dotted keys (Zeek's
 * "id.orig_h") are found. Lists are returned as they are, not searched.
 *
 * The result borrows from ev and lives as long as ev is unchanged. */
typedef enum {
  PARRY_FIELD_ABSENT = 0,
  PARRY_FIELD_STRING,  /* typed string: str, len */
  PARRY_FIELD_STRINGS, /* event.category, event.type: strs, n_strs */
  PARRY_FIELD_INT,     /* event.severity, ports, process.pid: i */
  PARRY_FIELD_TIME,    /* @timestamp: i, nanoseconds since the epoch */
  PARRY_FIELD_VALUE,   /* anything in fields: value */
} parry_field_kind_t;

typedef struct {
  parry_field_kind_t kind;
  const char *str;
  size_t len;
  char *const *strs;
  size_t n_strs;
  int64_t i;
  const Parry__V1__Value *value;
} parry_field_t;

parry_field_kind_t parry_event_get(const Parry__V1__Event *ev, const char *path,
                                   parry_field_t *out);

/* A scalar field as text: a string as it is, a number as the codec writes it
 * in JSON, a time in RFC 3339, true/false. NULL for absent fields, null,
 * lists, maps and event.category/type (look at strs). The text points into
 * the event or into buf (64 bytes are always enough); *len gets its length. */
#define PARRY_FIELD_TEXT_MAX 64
const char *parry_field_text(const parry_field_t *f, char *buf, size_t buf_size, size_t *len);

#endif
