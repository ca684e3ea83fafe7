/* libFuzzer target for templates.
 *
 * The first byte picks the escape context, the rest is the template. It is
 * compiled and rendered against a context whose strings are hostile (CR/LF,
 * quotes, "{{", bytes that are not UTF-8). Checks: error offsets lie inside
 * the text; a rendering error leaves the output buffer as it was; HEADER
 * output never holds CR, LF or NUL; and, as a fixed property beside whatever
 * the fuzzer found, the hostile value alone in URL context renders to nothing
 * but [A-Za-z0-9%._~-].
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct json_object *ctx;

static void check_escaped(parry_escape_t esc, const char *out, size_t len) {
  if (esc == PARRY_ESCAPE_HEADER)
    for (size_t i = 0; i < len; i++)
      if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ctx) {
    ctx = json_tokener_parse(
        "{\"alert\": {\"id\": \"a\", \"count\": 3, \"l\": [1, {\"k\": \"v\"}], \"o\": {\"x\": "
        "null},"
        " \"group_by\": {\"source.ip\": \"10.0.0.1\"}}, \"steps\": {}}");
    json_object_object_add(
        json_object_object_get(ctx, "alert"), "evil",
        json_object_new_string_len("a\"b\\c\r\nd{{ alert.id }}%&?#/ \x01\xff", 28));
  }
  if (size < 1) return 0;
  parry_escape_t esc = (parry_escape_t)(data[0] % 4);
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  char msg[256];
  size_t off = 0;
  parry_template_t *t = parry_template_compile(text, len, &off, msg, sizeof msg);
  if (!t) {
    if (off > len) abort();
    return 0;
  }
  parry_buf_t b = PARRY_BUF_INIT(1 << 20);
  parry_buf_append_str(&b, "prefix");
  if (parry_template_render(t, ctx, esc, &b, msg, sizeof msg) == PARRY_OK) {
    if (b.len < 6 || memcmp(b.data, "prefix", 6)) abort();
    check_escaped(esc, b.data + 6, b.len - 6);
  } else if (b.len != 6 || memcmp(b.data, "prefix", 6)) {
    abort(); /* an error leaves the buffer as it was */
  }
  parry_buf_free(&b);
  parry_template_destroy(t);

  /* the fixed properties of escaping, whatever the fuzzer found */
  static parry_template_t *evil;
  if (!evil) evil = parry_template_compile("{{ alert.evil }}", 16, NULL, msg, sizeof msg);
  parry_buf_t u = PARRY_BUF_INIT(0);
  if (parry_template_render(evil, ctx, PARRY_ESCAPE_URL, &u, msg, sizeof msg) != PARRY_OK) abort();
  for (size_t i = 0; i < u.len; i++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%._~-", u.data[i]))
      abort();
  parry_buf_free(&u);
  return 0;
}
