/* What the parser fuzz targets (fuzz_cef, fuzz_zeek, fuzz_windows) share:
 * an input goes through the normalizer twice, with the target's format
 * forced and with auto-detection, fed line by line as a file would be (so
 * a Zeek header reaches the data lines after it) and then whole (so a
 * multi-line JSON document is one record). Every event must be writable as
 * canonical JSON and read back; every reject must be writable as a
 * dead-letter record. Anything else aborts, and libFuzzer keeps the input.
 *
 * Header-only: each target is one translation unit. */
#ifndef PARRY_FUZZ_PARSE_COMMON_H
#define PARRY_FUZZ_PARSE_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "parry/codec.h"
#include "parry/config.h"
#include "records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_on_event(void *opaque, const Parry__V1__Event *ev) {
  parry_buf_t *b = opaque;
  char why[512];
  parry_buf_reset(b);
  if (parry_event_to_json(ev, b, why, sizeof why) != PARRY_OK) {
    fprintf(stderr, "parser built an event the codec cannot write: %s\n", why);
    abort();
  }
  Parry__V1__Event *back = NULL;
  if (parry_event_from_json(b->data, b->len, &back, why, sizeof why) != PARRY_OK) {
    fprintf(stderr, "an event does not read back: %s\n%.*s\n", why, (int)b->len, b->data);
    abort();
  }
  parry__v1__event__free_unpacked(back, NULL);
}

static void fuzz_on_reject(void *opaque, const char *source, uint64_t seq, const char *rec,
                           size_t len, const char *reason) {
  parry_buf_t *b = opaque;
  parry_buf_reset(b);
  parry_reject_to_json(b, reason, source, seq, 0, rec, len);
}

static const parry_normalize_sink_t fuzz_sink = {fuzz_on_event, fuzz_on_reject};

static void fuzz_run(parry_normalizer_t *n, const uint8_t *data, size_t size) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_stream_t *s = parry_stream_new(n, "file:/fuzz/conn.log", &fuzz_sink, &b);
  const char *p = (const char *)data, *end = p + size;
  uint64_t seq = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    parry_stream_record(s, p, len, ++seq, 1700000000LL * PARRY_NS_PER_SEC);
    p += len + (nl ? 1 : 0);
  }
  parry_stream_record(s, (const char *)data, size, ++seq, 0);
  parry_stream_destroy(s);
  parry_buf_free(&b);
}

/* Run data through `format` and through auto-detection. */
static void fuzz_parse(const char *format, const uint8_t *data, size_t size) {
  static parry_config_t *cfg;
  static parry_normalizer_t *forced, *autod;
  if (!cfg) {
    char err[256];
    cfg = parry_config_new();
    if (parry_normalizer_new(cfg, format, &forced, err, sizeof err) ||
        parry_normalizer_new(cfg, NULL, &autod, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      abort();
    }
  }
  fuzz_run(forced, data, size);
  fuzz_run(autod, data, size);
}

#endif
