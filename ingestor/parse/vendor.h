/* Vendor fields: what the windows, suricata, zeek and cef parsers share to
 * keep a source's own fields in an Event next to the ECS ones.
 *
 * Vendor fields live at the top level of `fields` under the names the
 * source uses, so Sigma rules written against those names match. A few
 * top-level names belong to the canonical JSON itself: the typed ECS
 * objects (event, source, destination, user, host, process, logsource),
 * @timestamp, message and schema_version. A vendor key spelled like one of
 * them (Zeek's "host" column, OTRF's "host" collector name, Suricata's
 * "host" sensor name) cannot stay there -- the codec would refuse to write
 * the event, or write one that does not read back -- so it moves under the
 * parser's namespace: "host" becomes "zeek.host", "suricata.host",
 * "winlog.host". Callers handle the keys they give a meaning first (Zeek's
 * "message" column becomes the ECS message).
 *
 * Everything is copied into the record's arena through the event builder;
 * nothing here allocates with malloc on the common path (see
 * parry_vendor_value for the one exception).
 */
#ifndef PARRY_PARSE_VENDOR_H
#define PARRY_PARSE_VENDOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_builder.h"

struct json_object;

/* Most top-level vendor fields one record may have. Putting a field
 * searches the fields already there, so a record costs the square of its
 * width: parsers refuse wider records (no real event comes near). */
#define PARRY_VENDOR_MAX_FIELDS 4096

/* True for the top-level names a vendor key may not take (see above). */
bool parry_vendor_reserved(const char *key, size_t len);

/* Copy the JSON value o into v. `depth` is the nesting v will have in the
 * event (1 for a top-level field); false when o nests deeper than the codec
 * writes (PARRY_CODEC_MAX_DEPTH). Strings, integers, booleans, null, arrays
 * and objects are copied straight into the arena; other numbers go through
 * the codec's rule (parry_evb_value_from_json) so they keep their text. */
bool parry_vendor_value(parry_evb_t *b, Parry__V1__Value *v, struct json_object *o, int depth);

/* The entry `key` (any bytes: made valid UTF-8 first, so that two keys
 * that clean up to the same text replace each other instead of colliding)
 * in map. */
Parry__V1__Value *parry_vendor_put(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key,
                                   size_t len);

/* The same for a key the caller knows is not in map yet (a member of a JSON
 * object, whose keys are distinct): appended without searching. */
Parry__V1__Value *parry_vendor_append(parry_evb_t *b, Parry__V1__ValueMap *map, const char *key,
                                      size_t len);

/* The top-level entry for a vendor key: `key` itself, or `ns`.`key` when
 * the key is reserved. */
Parry__V1__Value *parry_vendor_top(parry_evb_t *b, const char *ns, const char *key, size_t len);

/* parry_vendor_top + parry_vendor_value. False when o nests too deep. */
bool parry_vendor_top_json(parry_evb_t *b, const char *ns, const char *key, size_t len,
                           struct json_object *o);

/* Fill v as an integer / a null. */
void parry_vendor_int(Parry__V1__Value *v, int64_t i);
void parry_vendor_null(Parry__V1__Value *v);

/* A date and time as vendors write them, into nanoseconds since the epoch:
 * RFC 3339, and the near misses seen in the wild -- "+0000" / "-0600"
 * offsets without a colon (Suricata), and no zone at all, which is taken as
 * UTC (Windows SystemTime and Sysmon UtcTime are UTC). */
bool parry_vendor_time(const char *s, size_t len, int64_t *out_ns);

/* Decimal seconds since the epoch as a number's text -- "1521911799.739898",
 * "-1418429426.887384", "2.385616957e+09" -- read exactly (as decimal
 * digits, never through a double) into nanoseconds, digits past the
 * nanosecond truncated. False outside years 1678..2261. */
bool parry_vendor_epoch(const char *s, size_t len, int64_t *out_ns);

/* A non-negative decimal integer, or hexadecimal with 0x (Windows process
 * ids), into *out. The whole text must be the number. */
bool parry_vendor_uint(const char *s, size_t len, uint64_t *out);

/* A port 1..65535 in text form; false for anything else, 0 included. */
bool parry_vendor_port(const char *s, size_t len, uint32_t *out);

/* At most 64 bytes of s for an error message, quoted: bytes outside
 * printable ASCII and the quote itself become '?', so the reason is plain
 * text whatever the input held. Returns out. */
const char *parry_vendor_quote(char out[72], const char *s, size_t len);

/* A scalar Value as text (strings as they are, integers and booleans
 * written out into buf, 32 bytes); NULL for anything else. */
const char *parry_vendor_text(const Parry__V1__Value *v, char buf[32], size_t *len);

#endif
