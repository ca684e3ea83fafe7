/* libFuzzer target for the `when` expression language.
 *
 * The input is an expression. It is compiled; if it compiles it is evaluated
 * against a fixed context (and a NULL one), and its step references walked.
 * Checks: compile errors put the offset inside the text (or at its end), and
 * evaluation is deterministic (the same verdict twice) -- the sanitizers and
 * the fuzzer's timeout check that nothing reads out of bounds or runs away.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct json_object *ctx;

static void on_ref(void *opaque, const char *id, size_t offset) {
  size_t len = *(size_t *)opaque;
  if (offset >= len || !*id) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ctx)
    ctx = json_tokener_parse(
        "{\"alert\": {\"id\": \"a\", \"count\": 12, \"rule\": {\"level\": \"high\", \"tags\": "
        "[\"x\", \"y\"]},"
        " \"group_by\": {\"source.ip\": \"10.1.2.3\", \"v6\": \"2001:db8::1\"}, \"f\": 1.5, \"n\": "
        "null,"
        " \"b\": true}, \"case\": {}, \"steps\": {\"geo\": {\"status\": \"succeeded\", \"outputs\":"
        " {\"country\": \"NL\", \"list\": [1, \"2\", null]}}}, \"runbook\": {\"name\": \"r\"}}");
  char msg[256];
  size_t off = 0;
  parry_expr_t *e = parry_expr_compile_at((const char *)data, size, &off, msg, sizeof msg);
  if (!e) {
    if (off > size) abort();
    return 0;
  }
  bool a = false, b = false, c = false;
  if (parry_expr_eval(e, ctx, &a, msg, sizeof msg) != PARRY_OK) abort();
  if (parry_expr_eval(e, ctx, &b, msg, sizeof msg) != PARRY_OK) abort();
  if (a != b) abort();
  if (parry_expr_eval(e, NULL, &c, msg, sizeof msg) != PARRY_OK) abort();
  parry_expr_step_refs(e, on_ref, &size);
  if (strlen(parry_expr_text(e)) != size) abort();
  parry_expr_destroy(e);
  return 0;
}
