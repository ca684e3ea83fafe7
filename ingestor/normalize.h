/* The normalizer: raw records in, normalized Events (or rejects) out. The
 * same code serves `parry normalize` and every ingestor source.
 *
 *   normalizer  one per process: configuration and the chosen format
 *   stream      one per input (a file, a TCP connection, a UDP socket, a
 *               Kafka partition): parser state such as a Zeek TSV header,
 *               counts, and the per-record arena
 *
 * Per record: trailing CR/LF are dropped and blank records ignored; a record
 * that starts with '{' or '[' is decoded as JSON once (an array is a batch:
 * each element is normalized on its own), anything else is text. The format
 * named at creation, or else the first parser whose detect function accepts
 * the record, parses it. Every record ends as events, as exactly one reject
 * with a reason, or (only when a parser says so by succeeding without an
 * event: Zeek's '#fields' header) as a counted skip; nothing is dropped in
 * silence.
 *
 * Events passed to the sink live in the stream's arena until the next
 * record: a sink that keeps them must encode or copy them.
 */
#ifndef PARRY_NORMALIZE_H
#define PARRY_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parse/parser.h"

typedef struct parry_normalizer parry_normalizer_t;
typedef struct parry_stream parry_stream_t;

typedef struct {
  void (*event)(void *opaque, const Parry__V1__Event *ev);
  /* rec/len: the record's original bytes; reason: why it was rejected. */
  void (*reject)(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                 const char *reason);
} parry_normalize_sink_t;

typedef struct {
  uint64_t records;  /* non-blank records seen */
  uint64_t parsed;   /* records that gave at least one event */
  uint64_t rejected; /* records rejected */
  uint64_t events;   /* events emitted */
  uint64_t skipped;  /* records a parser consumed without an event (headers) */
} parry_stream_counts_t;

/* format: a parser name, or NULL / "auto" for detection per record.
 * The configuration is read now (ingestor.* and time.* settings). */
parry_err_t parry_normalizer_new(const parry_config_t *cfg, const char *format,
                                 parry_normalizer_t **out, char *errstr, size_t errstr_size);
void parry_normalizer_destroy(parry_normalizer_t *n);
/* The parse configuration in effect (for tests and tools). */
const parry_parse_config_t *parry_normalizer_parse_config(const parry_normalizer_t *n);

/* source names the input in event ids and rejects (copied). The sink and its
 * opaque must outlive the stream. */
parry_stream_t *parry_stream_new(parry_normalizer_t *n, const char *source,
                                 const parry_normalize_sink_t *sink, void *opaque);
void parry_stream_destroy(parry_stream_t *s);

/* Normalize one record. seq is its position in the stream (line number or
 * byte offset), part of each event's id; received_ns is when it was read. */
void parry_stream_record(parry_stream_t *s, const char *rec, size_t len, uint64_t seq,
                         int64_t received_ns);

/* Reject a record without parsing it (framing found it too large, say):
 * counted and passed to the sink like any other reject. */
void parry_stream_reject(parry_stream_t *s, const char *rec, size_t len, uint64_t seq,
                         const char *reason);

const parry_stream_counts_t *parry_stream_counts(const parry_stream_t *s);

#endif
