/* libFuzzer target for the connector engine's parsers
 * (executor/connectors/): the connectors YAML, and the small languages
 * inside it and inside step inputs: output JSON paths ("$.a.b[0]") and
 * expected-status lists ("2xx", "200-204"). Whatever the input, parsing
 * must not crash, hang or leak; a rejected configuration always says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/conn_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct json_object *doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  if (!doc)
    doc = json_tokener_parse("{\"a\":{\"b\":[1,{\"c\":\"x\"},[true,null]]},\"key\":\"SEC-1\","
                             "\"0\":{\"\":2},\"result\":{\"sys_id\":\"s\"}}");
  char err[512] = "";
  parry_conn_config_t *cfg = parry_conn_config_parse((const char *)data, size, "fuzz.yml", NULL,
                                                     err, sizeof err);
  if (!cfg && !err[0]) {
    fprintf(stderr, "fuzz_connector_config: rejected without a reason\n");
    abort();
  }
  parry_conn_config_destroy(cfg);
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  (void)conn_json_path(doc, text);
  struct json_object *s = json_object_new_string(text);
  conn_range_t ranges[8];
  size_t n = 0;
  if (conn_parse_expect(s, ranges, 8, &n, err, sizeof err) == PARRY_OK) {
    for (size_t i = 0; i < n; i++)
      if (ranges[i].lo < 100 || ranges[i].hi > 599 || ranges[i].lo > ranges[i].hi) abort();
  }
  json_object_put(s);
  struct json_object *arr = json_tokener_parse(text);
  if (arr) {
    (void)conn_parse_expect(arr, ranges, 8, &n, err, sizeof err);
    json_object_put(arr);
  }
  free(text);
  return 0;
}
