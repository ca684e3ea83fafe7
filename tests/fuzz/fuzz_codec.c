/* libFuzzer target for the canonical JSON codec (lib/codec_*.c).
 *
 * Every input is read as an Event, a Signal, an Alert and a bare JSON value.
 * Whatever is accepted must then keep the codec's promises, and any broken
 * promise aborts so the fuzzer records the input:
 *   - what was read can be written (the writer accepts all the reader makes);
 *   - the written JSON reads back to a byte-identical protobuf encoding;
 *   - writing that again gives the same text;
 *   - packing and unpacking through protobuf-c changes nothing either;
 *   - parry_pb_pack (one walk, back to front) writes protobuf-c's bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "parry/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef parry_err_t (*from_fn)(const char *, size_t, ProtobufCMessage **, char *, size_t);
typedef parry_err_t (*to_fn)(const ProtobufCMessage *, parry_buf_t *, char *, size_t);

#define ADAPT(kind, type)                                                                   \
  static parry_err_t kind##_from(const char *j, size_t n, ProtobufCMessage **out, char *e,   \
                                 size_t es) {                                               \
    type *m = NULL;                                                                         \
    parry_err_t err = parry_##kind##_from_json(j, n, &m, e, es);                            \
    *out = m ? &m->base : NULL;                                                             \
    return err;                                                                             \
  }                                                                                         \
  static parry_err_t kind##_to(const ProtobufCMessage *m, parry_buf_t *b, char *e,          \
                               size_t es) {                                                 \
    return parry_##kind##_to_json((const type *)m, b, e, es);                               \
  }

ADAPT(event, Parry__V1__Event)
ADAPT(signal, Parry__V1__Signal)
ADAPT(alert, Parry__V1__Alert)

static void die(const char *what, const char *kind, const char *detail) {
  fprintf(stderr, "fuzz_codec: %s: %s: %s\n", kind, what, detail);
  abort();
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *out = malloc(*len + 1);
  protobuf_c_message_pack(m, out);
  return out;
}

static void check(const char *kind, from_fn from, to_fn to, const uint8_t *data, size_t size) {
  char err[512];
  ProtobufCMessage *p1 = NULL, *p2 = NULL, *p3 = NULL;
  parry_buf_t j1 = PARRY_BUF_INIT(0), j2 = PARRY_BUF_INIT(0), j3 = PARRY_BUF_INIT(0);
  uint8_t *b1 = NULL, *b2 = NULL;
  size_t n1, n2;

  if (from((const char *)data, size, &p1, err, sizeof err) != PARRY_OK) return;
  if (to(p1, &j1, err, sizeof err) != PARRY_OK) die("cannot write what was read", kind, err);
  if (from(j1.data, j1.len, &p2, err, sizeof err) != PARRY_OK)
    die("cannot read what was written", kind, err);
  b1 = pack(p1, &n1);
  b2 = pack(p2, &n2);
  if (n1 != n2 || memcmp(b1, b2, n1) != 0) die("protobuf differs after a round trip", kind, j1.data);
  {
    parry_buf_t scratch = PARRY_BUF_INIT(0);
    size_t n = 0;
    const uint8_t *mine = parry_pb_pack(p1, &scratch, &n);
    if (!mine || n != n1 || memcmp(mine, b1, n) != 0)
      die("parry_pb_pack differs from protobuf-c", kind, j1.data);
    parry_buf_free(&scratch);
  }
  if (to(p2, &j2, err, sizeof err) != PARRY_OK) die("cannot write the second time", kind, err);
  if (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len) != 0)
    die("JSON differs after a round trip", kind, j1.data);

  p3 = protobuf_c_message_unpack(p1->descriptor, NULL, n1, b1);
  if (!p3) die("protobuf-c cannot unpack the encoding", kind, j1.data);
  if (to(p3, &j3, err, sizeof err) != PARRY_OK) die("cannot write the unpacked copy", kind, err);
  if (j1.len != j3.len || memcmp(j1.data, j3.data, j1.len) != 0)
    die("JSON differs after protobuf pack and unpack", kind, j1.data);

  protobuf_c_message_free_unpacked(p1, NULL);
  protobuf_c_message_free_unpacked(p2, NULL);
  protobuf_c_message_free_unpacked(p3, NULL);
  free(b1);
  free(b2);
  parry_buf_free(&j1);
  parry_buf_free(&j2);
  parry_buf_free(&j3);
}

/* Any JSON value through Value: the written text must read back to itself. */
static void check_value(const uint8_t *data, size_t size) {
  char err[512];
  json_object *o1 = NULL, *o2 = NULL;
  Parry__V1__Value *v1 = NULL, *v2 = NULL;
  parry_buf_t j1 = PARRY_BUF_INIT(0), j2 = PARRY_BUF_INIT(0);
  if (parry_codec_parse_json((const char *)data, size, &o1, err, sizeof err) != PARRY_OK) return;
  if (parry_value_from_json_object(o1, &v1, err, sizeof err) != PARRY_OK)
    die("cannot convert what was parsed", "value", err);
  if (parry_value_to_json(v1, &j1, err, sizeof err) != PARRY_OK)
    die("cannot write what was read", "value", err);
  if (parry_codec_parse_json(j1.data, j1.len, &o2, err, sizeof err) != PARRY_OK)
    die("cannot parse what was written", "value", err);
  if (!json_object_equal(o1, o2)) die("document differs after a round trip", "value", j1.data);
  if (parry_value_from_json_object(o2, &v2, err, sizeof err) != PARRY_OK)
    die("cannot convert the second time", "value", err);
  if (parry_value_to_json(v2, &j2, err, sizeof err) != PARRY_OK)
    die("cannot write the second time", "value", err);
  if (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len) != 0)
    die("JSON differs after a round trip", "value", j1.data);
  json_object_put(o1);
  json_object_put(o2);
  parry__v1__value__free_unpacked(v1, NULL);
  parry__v1__value__free_unpacked(v2, NULL);
  parry_buf_free(&j1);
  parry_buf_free(&j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check("event", event_from, event_to, data, size);
  check("signal", signal_from, signal_to, data, size);
  check("alert", alert_from, alert_to, data, size);
  check_value(data, size);
  return 0;
}
