/* Parsers turn one input record into zero or more normalized Events.
 *
 * A record is one line of a log, one syslog message, or one JSON value. The
 * normalizer (ingestor/normalize.h) frames input into records, decodes JSON
 * records once, picks a parser (auto-detected per record, or named with
 * --format), and hands it a parry_parse_t. The parser fills Events with the
 * event builder and emits them; when it cannot make sense of the record it
 * returns an error with a reason, and the record goes to the dead-letter
 * topic (or --rejects) with its original bytes. A record may yield several
 * Events ("message repeated 3 times" is three).
 *
 * Output contract (see proto/parry.proto and the canonical JSON in README):
 * ECS fields filled where the source has the information, the vendor's own
 * fields kept (for Sigma rules written against them), `message` holding the
 * original text for text records, and the Sigma logsource recorded.
 *
 * Parsers keep no global state; per-stream state (a Zeek TSV header seen
 * earlier in the same file) lives in parry_parse_t.stream_state.
 */
#ifndef PARRY_PARSER_H
#define PARRY_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_builder.h"
#include "parry/arena.h"
#include "parry/error.h"
#include "parry/timefmt.h"

struct json_object;
typedef struct parry_parse parry_parse_t;

/* The part of event ids that depends on the source name alone: computed
 * once per stream (parry_parse_source_hash), not per event. */
typedef struct {
  uint64_t a, b;
} parry_source_hash_t;
void parry_parse_source_hash(const char *source, parry_source_hash_t *out);
typedef struct parry_parser parry_parser_t;

/* Settings the parsers read, taken from configuration once. */
typedef struct {
  parry_syslog_time_rule_t syslog_time; /* year and zone rule for RFC 3164 */
  /* Generic JSON: "ecs.path=source.path" pairs, comma separated (from
   * ingestor.json.mapping). Parsed by the json parser's stream_new. */
  const char *json_mapping;
  const char *json_timestamp_field; /* where generic JSON keeps its time */
} parry_parse_config_t;

struct parry_parse {
  /* In */
  const parry_parse_config_t *config;
  parry_arena_t *arena;       /* reset after each record by the caller */
  int64_t received_ns;        /* when the record was read: year rule, fallback time */
  const char *source;         /* "file:/var/log/auth.log", "syslog-udp:10.0.0.1" */
  const parry_source_hash_t *source_hash; /* of source, or NULL: computed per event */
  const char *record;         /* the raw record (text form, also for JSON) */
  size_t record_len;
  uint64_t record_seq;        /* position in the stream (line number, offset) */
  void *stream_state;         /* the parser's, from stream_new; NULL if none */

  /* Out: parsers call parry_parse_emit for each finished Event. */
  void (*emit)(void *opaque, Parry__V1__Event *ev);
  void *emit_opaque;
  unsigned emitted;           /* events emitted for this record, by parry_parse_emit */
};

struct parry_parser {
  const char *name;    /* --format name: "syslog", "windows", "suricata", ... */
  const char *summary; /* one line for --help */
  /* Text records (lines, syslog messages): parse_text. JSON records: the
   * normalizer decodes them and calls parse_json. A parser may have both
   * (Zeek: TSV lines and JSON objects). */
  /* Cheap checks for auto-detection. stream_state is this parser's state
   * for the stream (NULL if it has none), so a parser can claim the data
   * lines that follow a header it saw. */
  bool (*detect_text)(void *stream_state, const char *rec, size_t len);
  bool (*detect_json)(struct json_object *obj);
  parry_err_t (*parse_text)(parry_parse_t *p, const char *rec, size_t len, char *errstr,
                            size_t errstr_size);
  parry_err_t (*parse_json)(parry_parse_t *p, struct json_object *obj, char *errstr,
                            size_t errstr_size);
  /* Optional per-stream state. */
  void *(*stream_new)(const parry_parse_config_t *config);
  void (*stream_free)(void *state);
};

/* Finish an Event and pass it on: fills event.id (a stable hash of source,
 * sequence, the record bytes and the index of this event within the record,
 * so a replay of the same input gives the same ids) and @timestamp from
 * received_ns when the parser found none. */
void parry_parse_emit(parry_parse_t *p, parry_evb_t *b);
/* The same for an Event allocated with malloc (for example by the codec,
 * parry_event_from_json_object); it is freed after it has been passed on. */
void parry_parse_emit_owned(parry_parse_t *p, Parry__V1__Event *ev);

/* Every parser, in the order auto-detection tries them. NULL-terminated. */
extern const parry_parser_t *const parry_parsers[];
const parry_parser_t *parry_parser_find(const char *name);

/* The parsers themselves (ingestor/parse/<name>.c). */
extern const parry_parser_t parry_parser_syslog;   /* RFC 3164/5424: sshd, PAM, sudo, su, other */
extern const parry_parser_t parry_parser_cef;      /* ArcSight CEF, bare or inside syslog */
extern const parry_parser_t parry_parser_windows;  /* Windows Security/Sysmon JSON, 3 shapes */
extern const parry_parser_t parry_parser_suricata; /* Suricata EVE JSON */
extern const parry_parser_t parry_parser_zeek;     /* Zeek logs, JSON and TSV */
extern const parry_parser_t parry_parser_json;     /* any JSON, with a field mapping */

/* CEF inside a syslog message: the syslog parser calls this with the
 * message part starting at "CEF:" and an Event that already carries the
 * syslog header's fields. */
parry_err_t parry_cef_parse_into(parry_parse_t *p, parry_evb_t *b, const char *msg, size_t len,
                                 char *errstr, size_t errstr_size);

#endif
