/* libFuzzer target for the zeek parser (ingestor/parse/zeek.c): see
 * fuzz_parse_common.h for what is checked. */
#include "fuzz_parse_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_parse("zeek", data, size);
  return 0;
}
