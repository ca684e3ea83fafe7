/* parry detect: logs or NDJSON events through Sigma rules, alerts out. The
 * offline face of both correlator stages (correlator/detect.h for stage 1,
 * correlator/window/correlate.h for stage 2).
 *
 * Every record goes through the normalizer, exactly as `parry normalize`
 * would take it: raw logs (syslog, Windows EVTX JSON, CEF, Zeek, Suricata,
 * ...) are parsed, and a canonical Parry event (the NDJSON `parry normalize`
 * writes) is recognised by the generic JSON parser and kept as it is, its
 * event.id included. So one command serves both.
 *
 * Correlation runs by event time, as the fleet does: each matching event's
 * Signals (parry_detect_event_full) are fed, in input order, to one
 * correlation engine configured like the service (correlator.* settings,
 * overridable by flags); at end of input the engine is finished so windows
 * that only their end can decide are reported. The engine's results depend
 * only on each key's signals, so this gives the fleet's alerts.
 *
 * Two stages, one order. The producer reads and normalizes records; the
 * consumer runs each event through detection (parry_detect_event_full),
 * writes alerts and feeds signals to the engine. With --threads 0 both run
 * in the calling thread, event by event. With --threads 1 the producer is a
 * thread of its own: events are deep-copied out of the normalizer's
 * per-record memory into blocks of about a thousand records, which pass to
 * the consumer through a ring of RING blocks (bounded memory; the producer
 * waits when the consumer lags). Normalization stays sequential (parsers keep
 * per-stream state, e.g. sshd's per-connection memory) and the consumer
 * takes the same events in the same order either way, so the output is
 * byte-for-byte the same; error messages travel in the blocks too, so even
 * stderr keeps its order. */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "detect.h"
#include "normalize.h"
#include "parry/arena.h"
#include "parry/codec.h"
#include "parry/config.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "records.h"
#include "window/correlate.h"

static const char usage[] =
    "usage: parry detect --rules PATH [--rules PATH]... [--min-level LEVEL]\n"
    "                    [--format F] [--placeholders FILE] [--field-map FILE]\n"
    "                    [--unknown-placeholder reject|no-match|wildcard]\n"
    "                    [--allowed-lateness DURATION] [--suppress DURATION]\n"
    "                    [--memory-cap SIZE] [--threads 0|1]\n"
    "                    [--set key=value]... [FILE|-]...\n"
    "\n"
    "Reads logs or NDJSON events (stdin when no FILE or for -), normalizes each record\n"
    "as `parry normalize` does (--format names a parser, default auto; canonical\n"
    "events pass through unchanged), matches them against the Sigma rules under each\n"
    "--rules PATH, and writes alerts as canonical JSON lines to stdout: one per match\n"
    "of a detection rule that alerts on its own, and one per correlation rule whose\n"
    "condition holds (Sigma correlation rules, evaluated by event time as\n"
    "parry-correlator does; a detection rule that correlation rules use raises no\n"
    "alert of its own unless one of them says `generate: true`).\n"
    "A detection alert's id is a hash of (rule id, event id), a correlation alert's a\n"
    "hash of (rule id, group key, window start): the same input gives the same ids.\n"
    "Alerts of rules below --min-level (informational, low, medium, high, critical)\n"
    "are not written. Correlation options default to the service's settings:\n"
    "  --allowed-lateness  correlator.allowed_lateness   (signals older than a key's\n"
    "                      newest event time minus this are late and ignored)\n"
    "  --suppress          correlator.default_suppression (after an alert, the same\n"
    "                      rule and group raise none for this long)\n"
    "  --memory-cap        correlator.memory_cap          (window state; 0: no cap)\n"
    "and correlator.idle_expiry, correlator.max_event_refs through --set.\n"
    "At end of input every open window is closed and decided.\n"
    "The final stderr line is `events=N alerts=M rules=R rejected=K correlations=C\n"
    "signals=S correlation_alerts=A late=L suppressed=X evicted=E` (M: every alert\n"
    "written, A of them correlation alerts; K: records the normalizer rejected).\n"
    "Rules the engine rejects (detection or correlation) are listed on stderr with\n"
    "file, line and reason, and left out. --threads 1 normalizes in a second\n"
    "thread (same output; the default for files on more than one core, while pipes\n"
    "and terminals get --threads 0 so each alert comes as soon as its line).\n"
    "Exit 0 when every input was read, 1 on an unreadable input or rules that cannot\n"
    "be loaded at all, 2 on usage errors.\n";

/* ---- blocks: what the producer hands the consumer ----------------------- */

typedef enum { ITEM_EVENT, ITEM_ERR } item_kind_t;

typedef struct {
  item_kind_t kind;
  const Parry__V1__Event *ev; /* EVENT: a deep copy in block->arena */
  size_t off, len;            /* ERR: bytes of block->text */
} item_t;

enum { BLOCK_RECORDS = 2048, BLOCK_BYTES = 1 << 20, RING = 8 };

typedef struct {
  item_t *items;
  size_t n_items, cap_items;
  parry_buf_t text;
  parry_arena_t arena;
  size_t records, bytes;
  uint64_t rejected;
  bool failed; /* an input could not be opened or read */
} block_t;

static void block_reset(block_t *b) {
  b->n_items = 0;
  parry_buf_reset(&b->text);
  parry_arena_reset(&b->arena);
  b->records = b->bytes = 0;
  b->rejected = 0;
  b->failed = false;
}

static void block_free(block_t *b) {
  free(b->items);
  parry_buf_free(&b->text);
  parry_arena_free(&b->arena);
}

static item_t *block_item(block_t *b, item_kind_t kind) {
  if (b->n_items == b->cap_items) {
    b->cap_items = b->cap_items ? 2 * b->cap_items : 256;
    b->items = parry_xrealloc(b->items, b->cap_items * sizeof *b->items);
  }
  item_t *it = &b->items[b->n_items++];
  memset(it, 0, sizeof *it);
  it->kind = kind;
  return it;
}

/* ---- copying an Event out of the normalizer's per-record memory --------- */

/* A deep copy of any protobuf-c message into the arena, driven by its
 * descriptor, so a field added to parry.proto is copied without a change
 * here. Strings, bytes and sub-messages are copied; of a oneof, only the
 * member that is set. */
static void *copy_message(parry_arena_t *a, const ProtobufCMessage *m, size_t *bytes) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  char *c = parry_arena_alloc(a, d->sizeof_message);
  memcpy(c, m, d->sizeof_message);
  *bytes += d->sizeof_message;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE &&
        f->type != PROTOBUF_C_TYPE_BYTES)
      continue;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
      continue;
    void *slot = c + f->offset;
    size_t n = 1;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = *(const size_t *)((const char *)m + f->quantifier_offset);
      if (!n) continue;
      size_t elem = f->type == PROTOBUF_C_TYPE_BYTES ? sizeof(ProtobufCBinaryData) : sizeof(void *);
      void *arr = parry_arena_alloc(a, n * elem);
      memcpy(arr, *(void **)slot, n * elem);
      *(void **)slot = arr;
      slot = arr;
    }
    for (size_t k = 0; k < n; k++) {
      if (f->type == PROTOBUF_C_TYPE_STRING) {
        char **s = (char **)slot + k;
        if (*s && *s != protobuf_c_empty_string && *s != f->default_value) {
          size_t len = strlen(*s);
          *s = parry_arena_strndup(a, *s, len);
          *bytes += len + 1;
        }
      } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage **sub = (ProtobufCMessage **)slot + k;
        if (*sub) *sub = copy_message(a, *sub, bytes);
      } else {
        ProtobufCBinaryData *bd = (ProtobufCBinaryData *)slot + k;
        if (bd->len) {
          uint8_t *data = parry_arena_alloc(a, bd->len);
          memcpy(data, bd->data, bd->len);
          bd->data = data;
          *bytes += bd->len;
        }
      }
    }
  }
  return c;
}

/* The same for the messages an Event is made of, by hand: several times
 * cheaper than the descriptor walk (events cross threads at a million a
 * second), with a bump pointer of its own over arena chunks. Used while
 * parry.proto has the fields written here (checked once against the
 * descriptors, fast_copy_ok); else copy_message does it. */
typedef struct {
  parry_arena_t *arena;
  char *cur, *end;
  size_t *bytes;
} bump_t;

enum { BUMP_CHUNK = 64 * 1024 };

static void *bump_chunk(bump_t *m, size_t size) {
  size_t want = size > BUMP_CHUNK ? size : BUMP_CHUNK;
  m->cur = parry_arena_alloc(m->arena, want);
  m->end = m->cur + want;
  *m->bytes += want;
  void *p = m->cur;
  m->cur += size;
  return p;
}

static inline void *bump(bump_t *m, size_t size, size_t align) {
  uintptr_t p = ((uintptr_t)m->cur + align - 1) & ~(uintptr_t)(align - 1);
  if (__builtin_expect(!m->cur || p + size > (uintptr_t)m->end, 0)) return bump_chunk(m, size);
  m->cur = (char *)(p + size);
  return (void *)p;
}

#define BUMP_NEW(m, type, n) ((type *)bump((m), sizeof(type) * (n), _Alignof(type)))

static inline char *copy_str(bump_t *m, char *s) {
  if (!s || s == protobuf_c_empty_string) return s;
  size_t len = strlen(s) + 1;
  char *c = bump(m, len, 1);
  memcpy(c, s, len);
  return c;
}

static char **copy_strs(bump_t *m, char **v, size_t n) {
  if (!n) return v;
  char **c = BUMP_NEW(m, char *, n);
  for (size_t i = 0; i < n; i++) c[i] = copy_str(m, v[i]);
  return c;
}

static Parry__V1__Value *copy_value(bump_t *m, const Parry__V1__Value *v);

static Parry__V1__ValueMap *copy_map(bump_t *m, const Parry__V1__ValueMap *map) {
  if (!map) return NULL;
  Parry__V1__ValueMap *c = BUMP_NEW(m, Parry__V1__ValueMap, 1);
  *c = *map;
  if (map->n_entries) {
    c->entries = BUMP_NEW(m, Parry__V1__Entry *, map->n_entries);
    Parry__V1__Entry *e = BUMP_NEW(m, Parry__V1__Entry, map->n_entries);
    for (size_t i = 0; i < map->n_entries; i++) {
      e[i] = *map->entries[i];
      e[i].key = copy_str(m, e[i].key);
      e[i].value = copy_value(m, e[i].value);
      c->entries[i] = &e[i];
    }
  }
  return c;
}

static Parry__V1__Value *copy_value(bump_t *m, const Parry__V1__Value *v) {
  if (!v) return NULL;
  Parry__V1__Value *c = BUMP_NEW(m, Parry__V1__Value, 1);
  *c = *v;
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_STRING_VALUE: c->string_value = copy_str(m, v->string_value); break;
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT: c->number_text = copy_str(m, v->number_text); break;
  case PARRY__V1__VALUE__KIND_MAP_VALUE: c->map_value = copy_map(m, v->map_value); break;
  case PARRY__V1__VALUE__KIND_LIST_VALUE:
    if (v->list_value) {
      Parry__V1__ValueList *l = BUMP_NEW(m, Parry__V1__ValueList, 1);
      *l = *v->list_value;
      if (l->n_items) {
        l->items = BUMP_NEW(m, Parry__V1__Value *, l->n_items);
        for (size_t i = 0; i < l->n_items; i++) l->items[i] = copy_value(m, v->list_value->items[i]);
      }
      c->list_value = l;
    }
    break;
  default: break;
  }
  return c;
}

static Parry__V1__Event *copy_event_fast(bump_t *m, const Parry__V1__Event *ev) {
  Parry__V1__Event *c = BUMP_NEW(m, Parry__V1__Event, 1);
  *c = *ev;
  c->id = copy_str(m, ev->id);
  c->event_kind = copy_str(m, ev->event_kind);
  c->event_category = copy_strs(m, ev->event_category, ev->n_event_category);
  c->event_type = copy_strs(m, ev->event_type, ev->n_event_type);
  c->event_action = copy_str(m, ev->event_action);
  c->event_outcome = copy_str(m, ev->event_outcome);
  c->event_dataset = copy_str(m, ev->event_dataset);
  c->source_ip = copy_str(m, ev->source_ip);
  c->destination_ip = copy_str(m, ev->destination_ip);
  c->user_name = copy_str(m, ev->user_name);
  c->host_name = copy_str(m, ev->host_name);
  c->process_name = copy_str(m, ev->process_name);
  c->process_command_line = copy_str(m, ev->process_command_line);
  c->message = copy_str(m, ev->message);
  if (ev->logsource) {
    c->logsource = BUMP_NEW(m, Parry__V1__Logsource, 1);
    *c->logsource = *ev->logsource;
    c->logsource->product = copy_str(m, ev->logsource->product);
    c->logsource->service = copy_str(m, ev->logsource->service);
    c->logsource->category = copy_str(m, ev->logsource->category);
  }
  c->fields = copy_map(m, ev->fields);
  return c;
}

/* Fields that copying must follow (strings, bytes, messages); scalars come
 * with the struct copy. */
static unsigned pointer_fields(const ProtobufCMessageDescriptor *d) {
  unsigned n = 0;
  for (unsigned i = 0; i < d->n_fields; i++)
    n += d->fields[i].type == PROTOBUF_C_TYPE_STRING || d->fields[i].type == PROTOBUF_C_TYPE_BYTES ||
         d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE;
  return n;
}

/* Whether copy_event_fast knows every such field of these messages. */
static bool fast_copy_ok(void) {
  return pointer_fields(&parry__v1__event__descriptor) == 16 &&
         pointer_fields(&parry__v1__logsource__descriptor) == 3 &&
         pointer_fields(&parry__v1__value__descriptor) == 4 &&
         pointer_fields(&parry__v1__value_list__descriptor) == 1 &&
         pointer_fields(&parry__v1__value_map__descriptor) == 1 &&
         pointer_fields(&parry__v1__entry__descriptor) == 2;
}

/* ---- the run ------------------------------------------------------------- */

typedef struct run run_t;

struct run {
  FILE *out, *err;
  const char *const *inputs;
  size_t n_inputs;
  parry_normalizer_t *n;
  const parry_sigma_ruleset_t *rs;
  const parry_corr_set_t *corr;
  size_t max_record;
  int64_t now_ns;
  parry_sigma_level_t min_level;

  /* the producer */
  parry_stream_t *stream;
  bool fast_copy;
  block_t *b; /* being filled (threaded) */
  bump_t bump; /* copies into b->arena */

  /* the ring (threaded mode) */
  bool threaded;
  block_t ring[RING];
  size_t head, tail; /* head: next to consume; tail: next to fill (counts) */
  bool done;         /* producer finished */
  pthread_mutex_t mu;
  pthread_cond_t filled, freed;

  /* the consumer: detection, correlation, output */
  parry_sigma_matcher_t *m;
  parry_corr_engine_t *engine;
  parry_corr_sink_t sink;
  parry_buf_t line;
  char feed_err[512];
  uint64_t events, alerts, corr_alerts, signals, rejected, encode_errors, feed_errors;
  bool input_failed;
};

/* ---- the consumer: one event through detection and correlation ---------- */

static void write_alert(run_t *run, const Parry__V1__Alert *alert) {
  char why[256];
  parry_buf_reset(&run->line);
  if (parry_alert_to_json(alert, &run->line, why, sizeof why) != PARRY_OK) {
    run->encode_errors++;
    fprintf(run->err, "parry detect: could not encode an alert of rule %s: %s\n", alert->rule_id,
            why);
    return;
  }
  parry_buf_append_char(&run->line, '\n');
  fwrite(run->line.data, 1, run->line.len, run->out);
  run->alerts++;
}

static void on_alert(void *opaque, const Parry__V1__Alert *alert) { write_alert(opaque, alert); }

static bool level_at_least(const char *level, parry_sigma_level_t min) {
  if (min == PARRY_SIGMA_LEVEL_NONE) return true;
  parry_sigma_level_t l = PARRY_SIGMA_LEVEL_NONE;
  if (level && *level && !parry_sigma_level_parse(level, &l)) return true; /* unknown: keep */
  return l >= min;
}

/* Correlation alerts: the minimum level applies to the correlation rule's
 * own level (its detection rules' levels do not matter). */
static void on_corr_alert(void *opaque, const Parry__V1__Alert *alert) {
  run_t *run = opaque;
  if (!level_at_least(alert->rule_level, run->min_level)) return;
  uint64_t before = run->alerts;
  write_alert(run, alert);
  run->corr_alerts += run->alerts - before;
}

static void on_signal(void *opaque, const Parry__V1__Signal *sig, const char *key) {
  (void)key; /* the partition key: one engine offline */
  run_t *run = opaque;
  run->signals++;
  if (parry_corr_engine_feed(run->engine, sig, &run->sink, run->feed_err,
                             sizeof run->feed_err) != PARRY_OK &&
      run->feed_errors++ < 10)
    fprintf(run->err, "parry detect: signal of %s not counted: %s\n", sig->correlation_id,
            run->feed_err);
}

static void detect_one(run_t *run, const Parry__V1__Event *ev) {
  run->events++;
  parry_detect_event_full(run->m, run->rs, run->corr, ev, on_alert, on_signal, run, NULL);
}

static void consume(run_t *run, block_t *b) {
  for (size_t i = 0; i < b->n_items; i++) {
    const item_t *it = &b->items[i];
    if (it->kind == ITEM_EVENT) {
      detect_one(run, it->ev);
    } else {
      fflush(run->out);
      fwrite(b->text.data + it->off, 1, it->len, run->err);
    }
  }
  run->rejected += b->rejected;
  if (b->failed) run->input_failed = true;
}

/* Threaded: take blocks in order until the producer is done. */
static void consume_all(run_t *run) {
  for (;;) {
    pthread_mutex_lock(&run->mu);
    while (run->head == run->tail) pthread_cond_wait(&run->filled, &run->mu);
    block_t *b = &run->ring[run->head % RING];
    bool last = run->done && run->head + 1 == run->tail;
    pthread_mutex_unlock(&run->mu);
    consume(run, b);
    pthread_mutex_lock(&run->mu);
    run->head++;
    pthread_cond_signal(&run->freed);
    pthread_mutex_unlock(&run->mu);
    if (last) return;
  }
}

/* ---- the producer: records -> events ------------------------------------ */

static void input_error(run_t *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void input_error(run_t *run, const char *fmt, ...) {
  char msg[4600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
  if (!run->threaded) {
    fflush(run->out);
    fwrite(msg, 1, len, run->err);
    run->input_failed = true;
    return;
  }
  item_t *it = block_item(run->b, ITEM_ERR);
  it->off = run->b->text.len;
  it->len = len;
  parry_buf_append(&run->b->text, msg, len);
  run->b->failed = true;
}

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  run_t *run = opaque;
  if (!run->threaded) {
    detect_one(run, ev);
    return;
  }
  item_t *it = block_item(run->b, ITEM_EVENT);
  it->ev = run->fast_copy ? copy_event_fast(&run->bump, ev)
                          : copy_message(&run->b->arena, &ev->base, &run->b->bytes);
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  (void)source, (void)seq, (void)rec, (void)len, (void)reason;
  run_t *run = opaque;
  if (run->threaded) run->b->rejected++;
  else run->rejected++;
}

/* The block being filled is complete: hand it over, get the next one. */
static void push_block(run_t *run, bool last) {
  pthread_mutex_lock(&run->mu);
  run->tail++;
  if (last) run->done = true;
  pthread_cond_signal(&run->filled);
  while (!last && run->tail - run->head >= RING) pthread_cond_wait(&run->freed, &run->mu);
  if (!last) run->b = &run->ring[run->tail % RING];
  pthread_mutex_unlock(&run->mu);
  if (!last) {
    block_reset(run->b);
    run->bump = (bump_t){.arena = &run->b->arena, .bytes = &run->b->bytes};
  }
}

static void on_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                      size_t total) {
  run_t *run = opaque;
  if (oversize) {
    char why[160];
    snprintf(why, sizeof why, "record of %zu bytes exceeds ingestor.max_record_size (%zu)", total,
             run->max_record);
    parry_stream_reject(run->stream, rec, len, seq, why);
  } else {
    parry_stream_record(run->stream, rec, len, seq, run->now_ns);
  }
  if (run->threaded && (++run->b->records >= BLOCK_RECORDS || run->b->bytes >= BLOCK_BYTES))
    push_block(run, false);
}

static void produce(run_t *run) {
  static const parry_normalize_sink_t sink = {on_event, on_reject};
  char errstr[1024];
  for (size_t i = 0; i < run->n_inputs; i++) {
    const char *name = run->inputs[i];
    bool is_stdin = strcmp(name, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(name, "rb");
    if (!f) {
      input_error(run, "parry detect: could not open %s: %s\n", name, strerror(errno));
      continue;
    }
    char source[4200];
    snprintf(source, sizeof source, "file:%s", is_stdin ? "stdin" : name);
    run->stream = parry_stream_new(run->n, source, &sink, run);
    if (parry_read_records(f, run->max_record, on_record, run, errstr, sizeof errstr))
      input_error(run, "parry detect: %s: %s\n", name, errstr);
    parry_stream_destroy(run->stream);
    run->stream = NULL;
    if (!is_stdin) fclose(f);
  }
  if (run->threaded) push_block(run, true); /* the last block, possibly empty */
}

static void *producer_main(void *opaque) {
  produce(opaque);
  return NULL;
}

/* ---- options ---------------------------------------------------------- */

/* A correlation flag is a shorthand for --set of its service setting, so it
 * is validated (units, ranges) exactly like the configuration. */
static int set_from_flag(parry_config_t *cfg, const char *flag, const char *key, const char *v,
                         FILE *err) {
  char assignment[512], errstr[512];
  if (!parry_setting_find(key)) {
    fprintf(err, "parry detect: %s: this build has no setting %s\n", flag, key);
    return 2;
  }
  snprintf(assignment, sizeof assignment, "%s=%s", key, v);
  if (parry_config_set(cfg, assignment, flag, errstr, sizeof errstr)) {
    fprintf(err, "parry detect: %s\n", errstr);
    return 2;
  }
  return 0;
}

static void corr_options(const parry_config_t *cfg, parry_corr_options_t *o) {
  parry_corr_options_default(o);
  if (parry_setting_find("correlator.allowed_lateness"))
    o->allowed_lateness_ns = parry_config_int(cfg, "correlator.allowed_lateness") * 1000000LL;
  if (parry_setting_find("correlator.default_suppression"))
    o->default_suppress_ns = parry_config_int(cfg, "correlator.default_suppression") * 1000000LL;
  if (parry_setting_find("correlator.memory_cap"))
    o->memory_cap_bytes = (size_t)parry_config_int(cfg, "correlator.memory_cap");
  if (parry_setting_find("correlator.idle_expiry"))
    o->idle_expiry_ns = parry_config_int(cfg, "correlator.idle_expiry") * 1000000LL;
  if (parry_setting_find("correlator.max_event_refs"))
    o->max_event_refs = (size_t)parry_config_int(cfg, "correlator.max_event_refs");
}

static bool all_regular_files(const char *const *inputs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    int r = strcmp(inputs[i], "-") == 0 ? fstat(STDIN_FILENO, &st) : stat(inputs[i], &st);
    if (r != 0 || !S_ISREG(st.st_mode)) return false;
  }
  return true;
}

/* "--name VALUE" or "--name=VALUE": 1 and *v set (i advanced), else 0. */
static int flag_value(int argc, char **argv, int *i, const char *name, const char **v) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return 0;
  if (argv[*i][n] == '=') {
    *v = argv[*i] + n + 1;
    return 1;
  }
  if (argv[*i][n] == '\0' && *i + 1 < argc) {
    *v = argv[++*i];
    return 1;
  }
  return 0;
}

int parry_cmd_detect(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  parry_config_t *cfg = parry_config_new();
  parry_sigma_ruleset_t *rs = NULL;
  parry_corr_set_t *corr = NULL;
  parry_sigma_report_t rep = {0};
  parry_sigma_options_t opt = {0};
  const char *format = NULL, *v;
  char errstr[1024] = "";
  int rc = 0, threads = -1; /* -1: decide below */
  run_t *run = parry_xcalloc(1, sizeof *run);
  run->out = out;
  run->err = err;
  const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
  const char **rules = calloc((size_t)argc + 1, sizeof *rules);
  size_t n_inputs = 0, n_rules = 0;

  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry detect: %s\n", errstr);
    rc = 2;
    goto out;
  }
  for (int i = 1; i < argc; i++) {
    int r = parry_cli_sigma_option(argc, argv, &i, &opt, "detect", err);
    if (r < 0) {
      rc = 2;
      goto out;
    }
    if (r) continue;
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, out);
      goto out;
    } else if (flag_value(argc, argv, &i, "--format", &v)) {
      format = v;
    } else if (flag_value(argc, argv, &i, "--rules", &v)) {
      rules[n_rules++] = v;
    } else if (flag_value(argc, argv, &i, "--min-level", &v)) {
      if (!parry_sigma_level_parse(v, &opt.min_level)) {
        fprintf(err,
                "parry detect: --min-level must be informational, low, medium, high or "
                "critical, not \"%s\"\n",
                v);
        rc = 2;
        goto out;
      }
    } else if (flag_value(argc, argv, &i, "--allowed-lateness", &v)) {
      if ((rc = set_from_flag(cfg, "--allowed-lateness", "correlator.allowed_lateness", v, err)))
        goto out;
    } else if (flag_value(argc, argv, &i, "--suppress", &v)) {
      if ((rc = set_from_flag(cfg, "--suppress", "correlator.default_suppression", v, err)))
        goto out;
    } else if (flag_value(argc, argv, &i, "--memory-cap", &v)) {
      if ((rc = set_from_flag(cfg, "--memory-cap", "correlator.memory_cap", v, err))) goto out;
    } else if (flag_value(argc, argv, &i, "--threads", &v)) {
      if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
        fprintf(err, "parry detect: --threads must be 0 or 1, not \"%s\"\n", v);
        rc = 2;
        goto out;
      }
      threads = v[0] - '0';
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(err, "parry detect: unknown option or missing value \"%s\"\n%s", argv[i], usage);
      rc = 2;
      goto out;
    } else {
      inputs[n_inputs++] = argv[i];
    }
  }
  if (!n_rules) {
    fprintf(err, "parry detect: at least one --rules PATH is needed\n%s", usage);
    rc = 2;
    goto out;
  }
  if (!n_inputs) inputs[n_inputs++] = "-";
  if (parry_normalizer_new(cfg, format, &run->n, errstr, sizeof errstr)) {
    fprintf(err, "parry detect: %s\n", errstr);
    rc = 2;
    goto out;
  }
  rs = parry_sigma_load(rules, n_rules, &opt, &rep, errstr, sizeof errstr);
  if (!rs) {
    fprintf(err, "parry detect: %s\n", errstr);
    rc = 1;
    goto out;
  }
  corr = parry_corr_compile(rs, &rep, errstr, sizeof errstr);
  if (!corr) {
    fprintf(err, "parry detect: correlation rules: %s\n", errstr);
    rc = 1;
    goto out;
  }
  if (rep.n_rejections || rep.rejected) {
    fprintf(err, "parry detect: %zu rule documents rejected, left out:\n", rep.rejected);
    for (size_t i = 0; i < rep.n_rejections; i++) {
      const parry_sigma_rejection_t *x = &rep.rejections[i];
      fprintf(err, "%s:%u:%u: %s: %s\n", x->file, x->line, x->column,
              parry_sigma_reject_reason_str(x->reason), x->message ? x->message : "");
    }
  }
  parry_corr_options_t copt;
  corr_options(cfg, &copt);
  run->engine = parry_corr_engine_new(corr, &copt);
  run->sink = (parry_corr_sink_t){.alert = on_corr_alert, .opaque = run};
  run->inputs = inputs;
  run->n_inputs = n_inputs;
  run->rs = rs;
  run->corr = corr;
  run->min_level = opt.min_level;
  run->m = parry_sigma_matcher_new(rs);
  run->max_record = (size_t)parry_config_int(cfg, "ingestor.max_record_size");
  run->now_ns = parry_time_now_ns();
  /* The second thread hands events over in blocks of records, so it suits
   * files; a pipe or terminal (tail -f | parry detect) gets each alert as
   * soon as its line is read, in one thread. */
  if (threads < 0) threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 && all_regular_files(inputs, n_inputs);
  run->threaded = threads > 0;
  run->fast_copy = fast_copy_ok();

  if (run->threaded) {
    pthread_t tid;
    pthread_mutex_init(&run->mu, NULL);
    pthread_cond_init(&run->filled, NULL);
    pthread_cond_init(&run->freed, NULL);
    run->b = &run->ring[0];
    run->bump = (bump_t){.arena = &run->b->arena, .bytes = &run->b->bytes};
    if (pthread_create(&tid, NULL, producer_main, run) != 0) {
      run->threaded = false; /* no thread: do both here */
    } else {
      consume_all(run);
      pthread_join(tid, NULL);
    }
    pthread_mutex_destroy(&run->mu);
    pthread_cond_destroy(&run->filled);
    pthread_cond_destroy(&run->freed);
  }
  if (!run->threaded) produce(run);
  parry_corr_engine_finish(run->engine, &run->sink);
  parry_corr_stats_t st;
  parry_corr_engine_stats(run->engine, &st);
  fflush(out);
  fprintf(err,
          "events=%llu alerts=%llu rules=%zu rejected=%llu correlations=%zu signals=%llu "
          "correlation_alerts=%llu late=%llu suppressed=%llu evicted=%llu\n",
          (unsigned long long)run->events, (unsigned long long)run->alerts,
          parry_sigma_rule_count(rs), (unsigned long long)run->rejected,
          parry_corr_set_count(corr), (unsigned long long)run->signals,
          (unsigned long long)run->corr_alerts, (unsigned long long)st.late,
          (unsigned long long)st.suppressed, (unsigned long long)st.evicted);
  if (run->encode_errors || run->input_failed || run->feed_errors) rc = 1;
out:
  parry_corr_engine_destroy(run->engine);
  parry_sigma_matcher_destroy(run->m);
  parry_corr_set_destroy(corr);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  for (size_t i = 0; i < RING; i++) block_free(&run->ring[i]);
  parry_buf_free(&run->line);
  parry_normalizer_destroy(run->n);
  parry_config_destroy(cfg);
  free(run);
  free(inputs);
  free(rules);
  return rc;
}
