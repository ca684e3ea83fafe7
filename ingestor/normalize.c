#include "normalize.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"

struct parry_normalizer {
  const parry_parser_t *forced; /* NULL: detect per record */
  size_t forced_index;          /* its place in parry_parsers */
  parry_parse_config_t parse;
  char *json_mapping;
  char *json_timestamp_field;
  size_t n_parsers;
};

struct parry_stream {
  parry_normalizer_t *n;
  char *source;
  parry_source_hash_t source_hash; /* of source, for event ids */
  const parry_normalize_sink_t *sink;
  void *opaque;
  void **states; /* per parser, parallel to parry_parsers; lazily created */
  parry_arena_t arena;
  parry_stream_counts_t counts;
};

parry_err_t parry_normalizer_new(const parry_config_t *cfg, const char *format,
                                 parry_normalizer_t **out, char *errstr, size_t errstr_size) {
  const parry_parser_t *forced = NULL;
  if (format && *format && strcmp(format, "auto") != 0) {
    forced = parry_parser_find(format);
    if (!forced) {
      char names[256] = "";
      for (const parry_parser_t *const *p = parry_parsers; *p; p++) {
        strncat(names, " ", sizeof names - strlen(names) - 1);
        strncat(names, (*p)->name, sizeof names - strlen(names) - 1);
      }
      return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                        "unknown format \"%s\" (known: auto%s)", format, names);
    }
  }
  parry_normalizer_t *n = parry_xnew(parry_normalizer_t, 1);
  n->forced = forced;
  while (forced && parry_parsers[n->forced_index] != forced) n->forced_index++;
  n->parse.syslog_time.utc_offset_s = (int32_t)parry_config_int(cfg, "time.syslog_utc_offset");
  n->parse.syslog_time.max_future_ns =
      parry_config_int(cfg, "time.syslog_max_future") * 1000000LL;
  n->json_mapping = parry_xstrdup(parry_config_str(cfg, "ingestor.json.mapping"));
  n->json_timestamp_field = parry_xstrdup(parry_config_str(cfg, "ingestor.json.timestamp_field"));
  n->parse.json_mapping = n->json_mapping;
  n->parse.json_timestamp_field = n->json_timestamp_field;
  while (parry_parsers[n->n_parsers]) n->n_parsers++;
  *out = n;
  return PARRY_OK;
}

void parry_normalizer_destroy(parry_normalizer_t *n) {
  if (!n) return;
  free(n->json_mapping);
  free(n->json_timestamp_field);
  free(n);
}

const parry_parse_config_t *parry_normalizer_parse_config(const parry_normalizer_t *n) {
  return &n->parse;
}

parry_stream_t *parry_stream_new(parry_normalizer_t *n, const char *source,
                                 const parry_normalize_sink_t *sink, void *opaque) {
  parry_stream_t *s = parry_xnew(parry_stream_t, 1);
  s->n = n;
  s->source = parry_xstrdup(source ? source : "");
  parry_parse_source_hash(s->source, &s->source_hash);
  s->sink = sink;
  s->opaque = opaque;
  s->states = parry_xnew(void *, n->n_parsers);
  parry_arena_t empty = PARRY_ARENA_INIT;
  s->arena = empty;
  return s;
}

void parry_stream_destroy(parry_stream_t *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n->n_parsers; i++)
    if (s->states[i] && parry_parsers[i]->stream_free) parry_parsers[i]->stream_free(s->states[i]);
  free(s->states);
  parry_arena_free(&s->arena);
  free(s->source);
  free(s);
}

const parry_stream_counts_t *parry_stream_counts(const parry_stream_t *s) { return &s->counts; }

/* The stream state of parry_parsers[i], created on first use. */
static void *state_at(parry_stream_t *s, size_t i) {
  const parry_parser_t *parser = parry_parsers[i];
  if (!parser->stream_new) return NULL;
  if (!s->states[i]) s->states[i] = parser->stream_new(&s->n->parse);
  return s->states[i];
}

static void *state_of(parry_stream_t *s, const parry_parser_t *parser) {
  if (!parser->stream_new) return NULL;
  if (parser == s->n->forced) return state_at(s, s->n->forced_index);
  size_t i = 0;
  while (parry_parsers[i] != parser) i++;
  return state_at(s, i);
}

static void on_event(void *opaque, Parry__V1__Event *ev) {
  parry_stream_t *s = opaque;
  s->counts.events++;
  s->sink->event(s->opaque, ev);
}

static void reject(parry_stream_t *s, const char *rec, size_t len, uint64_t seq,
                   const char *reason) {
  s->counts.rejected++;
  s->sink->reject(s->opaque, s->source, seq, rec, len, reason);
}

void parry_stream_reject(parry_stream_t *s, const char *rec, size_t len, uint64_t seq,
                         const char *reason) {
  s->counts.records++;
  reject(s, rec, len, seq, reason);
}

/* One JSON value (a record, or an element of a batch). */
static bool parse_json_value(parry_stream_t *s, parry_parse_t *p, json_object *obj, char *why,
                             size_t why_size) {
  const parry_parser_t *parser = s->n->forced;
  if (!parser) {
    for (const parry_parser_t *const *c = parry_parsers; *c && !parser; c++)
      if ((*c)->detect_json && (*c)->detect_json(obj)) parser = *c;
  }
  if (!parser) {
    snprintf(why, why_size, "no parser recognises this JSON %s",
             json_object_is_type(obj, json_type_object) ? "object" : "value");
    return false;
  }
  if (!parser->parse_json) {
    snprintf(why, why_size, "format %s does not read JSON records", parser->name);
    return false;
  }
  p->stream_state = state_of(s, parser);
  char err[512];
  err[0] = '\0'; /* not = "": that zeroes all 512 bytes per record */
  if (parser->parse_json(p, obj, err, sizeof err) != PARRY_OK) {
    snprintf(why, why_size, "%s: %s", parser->name, err[0] ? err : "could not parse");
    return false;
  }
  return true;
}

static bool parse_text(parry_stream_t *s, parry_parse_t *p, const char *rec, size_t len,
                       char *why, size_t why_size) {
  const parry_parser_t *parser = s->n->forced;
  void *state = NULL;
  if (parser) {
    state = state_at(s, s->n->forced_index);
  } else {
    for (size_t i = 0; parry_parsers[i] && !parser; i++) {
      const parry_parser_t *c = parry_parsers[i];
      if (c->detect_text && c->detect_text(state = state_at(s, i), rec, len)) parser = c;
    }
  }
  if (!parser) {
    snprintf(why, why_size, "no parser recognises this record");
    return false;
  }
  if (!parser->parse_text) {
    snprintf(why, why_size, "format %s does not read text records", parser->name);
    return false;
  }
  p->stream_state = state;
  char err[512];
  err[0] = '\0'; /* not = "": that zeroes all 512 bytes per record */
  if (parser->parse_text(p, rec, len, err, sizeof err) != PARRY_OK) {
    snprintf(why, why_size, "%s: %s", parser->name, err[0] ? err : "could not parse");
    return false;
  }
  return true;
}

void parry_stream_record(parry_stream_t *s, const char *rec, size_t len, uint64_t seq,
                         int64_t received_ns) {
  while (len && (rec[len - 1] == '\n' || rec[len - 1] == '\r')) len--;
  size_t start = 0;
  while (start < len && (rec[start] == ' ' || rec[start] == '\t')) start++;
  if (start == len) return; /* blank: not a record */
  s->counts.records++;
  parry_arena_reset(&s->arena);

  parry_parse_t p = {
      .config = &s->n->parse,
      .arena = &s->arena,
      .received_ns = received_ns,
      .source = s->source,
      .source_hash = &s->source_hash,
      .record = rec,
      .record_len = len,
      .record_seq = seq,
      .emit = on_event,
      .emit_opaque = s,
  };
  char why[640];
  why[0] = '\0'; /* (as err above) */
  bool ok;
  bool is_json = rec[start] == '{' || rec[start] == '[';
  /* A named text format reads JSON-looking lines as text. */
  if (is_json && s->n->forced && !s->n->forced->parse_json) is_json = false;
  if (is_json) {
    json_object *obj = NULL;
    char err[512];
    if (parry_codec_parse_json(rec + start, len - start, &obj, err, sizeof err) != PARRY_OK) {
      /* Not JSON after all: "[2024-01-02 ...] sshd ..." lines start with a
       * bracket too. A text parser may claim it; if none does, the JSON
       * error is the more useful reason. */
      ok = false;
      if (!s->n->forced || s->n->forced->parse_text) {
        char text_why[640];
        ok = parse_text(s, &p, rec, len, text_why, sizeof text_why);
        if (!ok && strcmp(text_why, "no parser recognises this record") != 0)
          snprintf(why, sizeof why, "%s", text_why);
      }
      if (!ok && !why[0]) snprintf(why, sizeof why, "invalid JSON: %s", err);
    } else if (json_object_is_type(obj, json_type_array)) {
      /* A batch: each element on its own; one bad element rejects the
       * batch's record once, naming the element, after the good ones. */
      ok = true;
      size_t n = json_object_array_length(obj);
      for (size_t i = 0; i < n; i++) {
        char elem_why[600];
        if (!parse_json_value(s, &p, json_object_array_get_idx(obj, i), elem_why,
                              sizeof elem_why)) {
          if (ok) snprintf(why, sizeof why, "element %zu: %s", i, elem_why);
          ok = false;
        }
      }
    } else {
      ok = parse_json_value(s, &p, obj, why, sizeof why);
    }
    json_object_put(obj);
  } else {
    ok = parse_text(s, &p, rec, len, why, sizeof why);
  }
  if (!ok) reject(s, rec, len, seq, why);
  else if (p.emitted) s->counts.parsed++;
  else s->counts.skipped++; /* a header or comment the parser consumed */
}
