/* Record framing (parry_read_records) and the dead-letter encoding of every
 * record, on arbitrary bytes: the framer must account for every byte (the
 * records' total lengths add up to the input, but for whitespace between
 * documents), never exceed the cap, and the
 * reject JSON must always be valid JSON that keeps the bytes. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "records.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

typedef struct {
  size_t max, total, records;
  int document;
} seen_t;

static void on_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                      size_t total) {
  seen_t *s = opaque;
  if (len > s->max || (oversize && len != s->max) || (!oversize && len != total)) abort();
  s->total += total;
  s->records++;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_reject_to_json(&b, "fuzz", "src", seq, 0, rec, len);
  json_object *obj = NULL;
  char err[128];
  if (parry_codec_parse_json(b.data, b.len, &obj, err, sizeof err) != PARRY_OK) abort();
  json_object_put(obj);
  parry_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size == 0) return 0;
  seen_t s = {.max = 1 + data[0] % 64};
  FILE *f = fmemopen((void *)(data + 1), size - 1, "rb");
  if (!f) return 0;
  char err[128];
  if (parry_read_records(f, s.max, on_record, &s, err, sizeof err) != PARRY_OK) abort();
  fclose(f);
  /* Every byte belongs to exactly one record, except the whitespace that
   * separates pretty-printed documents, which belongs to none. */
  if (s.total > size - 1) abort();
  if (s.total < size - 1) {
    size_t blanks = 0;
    for (size_t i = 1; i < size; i++)
      blanks += data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n';
    if (size - 1 - s.total > blanks) abort();
  }
  return 0;
}
