/* libFuzzer target for the configuration file reader (lib/config.c through
 * parry/yaml_tree.h): the input is a configuration file. Whatever it holds,
 * loading must not crash, hang or leak; a refused file always says why and
 * names itself ("fuzz.yml:" and a line), and loading the same text into a
 * fresh configuration gives the same answer (determinism). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static parry_err_t load(const uint8_t *data, size_t size, char *err, size_t n) {
  parry_config_t *cfg = parry_config_new();
  err[0] = '\0';
  parry_err_t rc = parry_config_load_yaml(cfg, (const char *)data, size, "fuzz.yml", err, n);
  parry_config_destroy(cfg);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char err[1024], again[1024];
  parry_err_t rc = load(data, size, err, sizeof err);
  if (rc != PARRY_OK && !strstr(err, "fuzz.yml:")) {
    fprintf(stderr, "fuzz_config: refused without naming the file: \"%s\"\n", err);
    abort();
  }
  if (load(data, size, again, sizeof again) != rc || strcmp(err, again) != 0) {
    fprintf(stderr, "fuzz_config: two loads differ: \"%s\" / \"%s\"\n", err, again);
    abort();
  }
  return 0;
}
