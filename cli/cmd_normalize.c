/* parry normalize: raw logs to NDJSON events, the offline face of the
 * ingestor (the same normalizer, parsers and record framing). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "normalize.h"
#include "parry/codec.h"
#include "parry/config.h"
#include "parry/timefmt.h"
#include "records.h"

static const char usage[] =
    "usage: parry normalize [--format F] [--output json|protobuf] [--rejects FILE]\n"
    "                       [--received-at TIME] [--set key=value]... [FILE|-]...\n"
    "\n"
    "Reads logs (stdin when no FILE or for -), writes one normalized event per line\n"
    "(canonical JSON) to stdout, and a final `parsed=N rejected=M` line to stderr.\n"
    "Records are lines, or one JSON document spread over several lines. --format\n"
    "names a parser (default: auto, chosen per record); --rejects FILE writes each\n"
    "rejected record with its reason as a JSON line. --output protobuf writes the\n"
    "Events as the ingestor publishes them (each a varint length, then the encoded\n"
    "Event). --received-at (RFC 3339, e.g. 2024-06-01T00:00:00Z) is when the\n"
    "records count as read (default: now): the time of records without one, and\n"
    "the reference of the syslog year rule when replaying old logs. Exit 0 when every input was\n"
    "read (rejects are reported, not fatal), 1 on an unreadable input, 2 on usage.\n";

typedef struct {
  FILE *out, *err, *rejects;
  parry_buf_t line;
  parry_stream_t *stream;
  size_t max_record;
  int64_t now_ns;
  uint64_t encode_errors;
  bool protobuf;
} normalize_run_t;

/* The service path's encoding, length-delimited as protobuf streams are. */
static void write_protobuf(normalize_run_t *run, const Parry__V1__Event *ev) {
  size_t size = 0;
  const uint8_t *packed = parry_pb_pack(&ev->base, &run->line, &size);
  if (!packed) {
    run->encode_errors++;
    fprintf(run->err, "parry normalize: an event is too large to encode\n");
    return;
  }
  unsigned char prefix[10];
  size_t n = 0;
  for (size_t v = size; ; v >>= 7) {
    prefix[n++] = (unsigned char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    if (v < 0x80) break;
  }
  fwrite(prefix, 1, n, run->out);
  fwrite(packed, 1, size, run->out);
}

enum { FLUSH_AT = 64 * 1024 };

/* The JSON lines collected so far, to out. */
static void flush_lines(normalize_run_t *run) {
  if (run->protobuf || !run->line.len) return;
  fwrite(run->line.data, 1, run->line.len, run->out);
  parry_buf_reset(&run->line);
}

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  normalize_run_t *run = opaque;
  if (run->protobuf) {
    write_protobuf(run, ev);
    return;
  }
  char why[256];
  /* Lines collect in run->line and go out FLUSH_AT bytes at a time: one
   * fwrite per event cost as much as a tenth of writing its JSON. On an
   * error the codec leaves the buffer as it was. */
  if (parry_event_to_json(ev, &run->line, why, sizeof why) != PARRY_OK) {
    /* A parser built an Event the codec refuses: a bug, reported loudly. */
    run->encode_errors++;
    fprintf(run->err, "parry normalize: could not encode an event: %s\n", why);
    return;
  }
  parry_buf_append_char(&run->line, '\n');
  if (run->line.len >= FLUSH_AT) flush_lines(run);
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  normalize_run_t *run = opaque;
  if (!run->rejects) return;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_reject_to_json(&b, reason, source, seq, run->now_ns, rec, len);
  parry_buf_append_char(&b, '\n');
  fwrite(b.data, 1, b.len, run->rejects);
  parry_buf_free(&b);
}

static void on_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                      size_t total) {
  normalize_run_t *run = opaque;
  if (oversize) {
    /* Counted and dead-lettered like any reject, with the bytes we kept. */
    char why[160];
    snprintf(why, sizeof why, "record of %zu bytes exceeds ingestor.max_record_size (%zu)", total,
             run->max_record);
    parry_stream_reject(run->stream, rec, len, seq, why);
    return;
  }
  parry_stream_record(run->stream, rec, len, seq, run->now_ns);
}

int parry_cmd_normalize(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  parry_config_t *cfg = parry_config_new();
  parry_normalizer_t *n = NULL;
  const char *format = NULL, *rejects_path = NULL;
  char errstr[1024];
  int rc = 0;
  normalize_run_t run = {.out = out, .err = err, .line = PARRY_BUF_INIT(0)};
  const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
  size_t n_inputs = 0;
  uint64_t parsed = 0, rejected = 0, events = 0;
  int64_t received_at = 0;
  bool have_received_at = false;

  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry normalize: %s\n", errstr);
    rc = 2;
    goto out;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, out);
      goto out;
    } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
      format = argv[++i];
    } else if (strncmp(argv[i], "--format=", 9) == 0) {
      format = argv[i] + 9;
    } else if ((strcmp(argv[i], "--output") == 0 && i + 1 < argc) ||
               strncmp(argv[i], "--output=", 9) == 0) {
      const char *o = argv[i][8] == '=' ? argv[i] + 9 : argv[++i];
      if (strcmp(o, "protobuf") == 0) run.protobuf = true;
      else if (strcmp(o, "json") != 0) {
        fprintf(err, "parry normalize: --output must be json or protobuf, not \"%s\"\n", o);
        rc = 2;
        goto out;
      }
    } else if (strcmp(argv[i], "--rejects") == 0 && i + 1 < argc) {
      rejects_path = argv[++i];
    } else if (strncmp(argv[i], "--rejects=", 10) == 0) {
      rejects_path = argv[i] + 10;
    } else if ((strcmp(argv[i], "--received-at") == 0 && i + 1 < argc) ||
               strncmp(argv[i], "--received-at=", 14) == 0) {
      const char *t = argv[i][13] == '=' ? argv[i] + 14 : argv[++i];
      if (parry_time_parse_rfc3339(t, strlen(t), &received_at) != PARRY_OK) {
        fprintf(err,
                "parry normalize: --received-at must be an RFC 3339 time such as "
                "2024-06-01T00:00:00Z, not \"%s\"\n",
                t);
        rc = 2;
        goto out;
      }
      have_received_at = true;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(err, "parry normalize: unknown option \"%s\"\n%s", argv[i], usage);
      rc = 2;
      goto out;
    } else {
      inputs[n_inputs++] = argv[i];
    }
  }
  if (!n_inputs) inputs[n_inputs++] = "-";
  if (parry_normalizer_new(cfg, format, &n, errstr, sizeof errstr)) {
    fprintf(err, "parry normalize: %s\n", errstr);
    rc = 2;
    goto out;
  }
  if (rejects_path && !(run.rejects = fopen(rejects_path, "w"))) {
    fprintf(err, "parry normalize: could not open %s: %s\n", rejects_path, strerror(errno));
    rc = 1;
    goto out;
  }
  run.max_record = (size_t)parry_config_int(cfg, "ingestor.max_record_size");
  run.now_ns = have_received_at ? received_at : parry_time_now_ns();
  static const parry_normalize_sink_t sink = {on_event, on_reject};

  for (size_t i = 0; i < n_inputs; i++) {
    bool is_stdin = strcmp(inputs[i], "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(inputs[i], "rb");
    if (!f) {
      fprintf(err, "parry normalize: could not open %s: %s\n", inputs[i], strerror(errno));
      rc = 1;
      continue;
    }
    char source[4200];
    snprintf(source, sizeof source, "file:%s", is_stdin ? "stdin" : inputs[i]);
    run.stream = parry_stream_new(n, source, &sink, &run);
    parry_err_t read_err =
        parry_read_records(f, run.max_record, on_record, &run, errstr, sizeof errstr);
    flush_lines(&run);
    if (read_err) {
      fprintf(err, "parry normalize: %s: %s\n", inputs[i], errstr);
      rc = 1;
    }
    const parry_stream_counts_t *c = parry_stream_counts(run.stream);
    parsed += c->parsed;
    rejected += c->rejected;
    events += c->events;
    parry_stream_destroy(run.stream);
    run.stream = NULL;
    if (!is_stdin) fclose(f);
  }
  fflush(out);
  fprintf(err, "parsed=%llu rejected=%llu events=%llu\n", (unsigned long long)parsed,
          (unsigned long long)rejected, (unsigned long long)events);
  if (run.encode_errors) rc = 1;
out:
  if (run.rejects) fclose(run.rejects);
  parry_buf_free(&run.line);
  parry_normalizer_destroy(n);
  parry_config_destroy(cfg);
  free(inputs);
  return rc;
}
