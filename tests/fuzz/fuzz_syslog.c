/* libFuzzer target for the syslog parser (ingestor/parse/syslog*.c,
 * auth_*.c). Every input goes through the normalizer with --format syslog
 * and with auto-detection, line by line on one stream (so sshd's
 * per-connection memory carries from line to line, as in a real file) and
 * then whole. Each line is copied into a buffer of exactly its size, so
 * AddressSanitizer sees any read past a record's end (records are not
 * NUL-terminated). Every event must be writable as canonical JSON and read
 * back; anything else aborts and libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "parry/codec.h"
#include "parry/config.h"
#include "parse/syslog_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  parry_buf_t *b = opaque;
  char why[512];
  parry_buf_reset(b);
  if (parry_event_to_json(ev, b, why, sizeof why) != PARRY_OK) {
    fprintf(stderr, "fuzz_syslog: the parser built an event the codec cannot write: %s\n", why);
    abort();
  }
  Parry__V1__Event *back = NULL;
  if (parry_event_from_json(b->data, b->len, &back, why, sizeof why) != PARRY_OK) {
    fprintf(stderr, "fuzz_syslog: an event does not read back: %s\n%.*s\n", why, (int)b->len,
            b->data);
    abort();
  }
  parry__v1__event__free_unpacked(back, NULL);
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec,
                      size_t len, const char *reason) {
  if (!reason || !*reason) {
    fprintf(stderr, "fuzz_syslog: a reject without a reason\n");
    abort();
  }
}

static const parry_normalize_sink_t sink = {on_event, on_reject};

static void feed(parry_stream_t *s, const char *p, size_t len, uint64_t seq) {
  char *copy = malloc(len ? len : 1);
  memcpy(copy, p, len);
  parry_stream_record(s, copy, len, seq, 1700000000LL * PARRY_NS_PER_SEC);
  free(copy);
}

static void run(parry_normalizer_t *n, const uint8_t *data, size_t size) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_stream_t *s = parry_stream_new(n, "file:/fuzz/auth.log", &sink, &b);
  const char *p = (const char *)data, *end = p + size;
  uint64_t seq = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    feed(s, p, len, ++seq);
    p += len + (nl ? 1 : 0);
  }
  feed(s, (const char *)data, size, ++seq);
  parry_stream_destroy(s);
  parry_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static parry_config_t *cfg;
  static parry_normalizer_t *forced, *autod;
  if (!cfg) {
    char err[256];
    cfg = parry_config_new();
    if (parry_normalizer_new(cfg, "syslog", &forced, err, sizeof err) ||
        parry_normalizer_new(cfg, NULL, &autod, err, sizeof err)) {
      fprintf(stderr, "fuzz_syslog: %s\n", err);
      abort();
    }
  }
  /* detection must agree with itself on an exact-size copy */
  char *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  (void)parry_syslog_detect(copy, size);
  free(copy);
  run(forced, data, size);
  run(autod, data, size);
  return 0;
}
