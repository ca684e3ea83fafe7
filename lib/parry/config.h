/* Configuration: one declarative table of every setting (lib/settings.def),
 * filled from three sources in increasing order of precedence:
 *
 *   1. a YAML file (--config FILE, or PARRY_CONFIG): nested maps flatten to
 *      dotted keys, so `log: {level: debug}` and `log.level: debug` are equal;
 *   2. environment variables: PARRY_LOG_LEVEL sets log.level (upper case,
 *      dots become underscores); PARRY_KAFKA_* sets a kafka.* property;
 *   3. --set key=value flags, in the order given.
 *
 * Keys under `kafka.` are librdkafka properties passed through to every
 * Kafka client (TLS and SASL included); they are checked against librdkafka
 * when loaded. Any other key must be in the table. Unknown keys and bad values
 * are errors that name the key and where it came from (file:line, variable,
 * flag). The table also generates `parry config --reference` and
 * docs/configuration.md.
 *
 * A parry_config_t is filled by one thread at start-up and read-only after.
 */
#ifndef PARRY_CONFIG_H
#define PARRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/buf.h"
#include "parry/error.h"

typedef enum {
  PARRY_SETTING_STRING,
  PARRY_SETTING_SECRET,   /* a string never printed: logs and references mask it */
  PARRY_SETTING_INT,
  PARRY_SETTING_BOOL,     /* true/false, yes/no, on/off, 1/0 */
  PARRY_SETTING_DURATION, /* "250ms", "30s", "5m", "2h", "1d"; stored in ms */
  PARRY_SETTING_SIZE,     /* "512", "64KiB", "16MiB", "1GiB"; stored in bytes */
  PARRY_SETTING_ENUM,     /* one of `choices` ("a|b|c") */
  PARRY_SETTING_ADDRESS,  /* "IP:PORT" or "[IPv6]:PORT" */
  PARRY_SETTING_UTC_OFFSET, /* "+HH:MM", "-HH:MM" or "Z" */
} parry_setting_type_t;

typedef struct {
  const char *key;           /* dotted name, e.g. "log.level" */
  parry_setting_type_t type;
  const char *default_value; /* as text, parsed like any other source */
  int64_t min, max;          /* for INT, DURATION (ms) and SIZE (bytes) */
  const char *choices;       /* for ENUM: "debug|info|warn|error" */
  const char *components;    /* who reads it: "all" or "ingestor correlator" */
  const char *help;
} parry_setting_t;

/* The table, in the order of lib/settings.def. */
extern const parry_setting_t parry_settings[];
extern const size_t parry_settings_count;
const parry_setting_t *parry_setting_find(const char *key);

typedef struct parry_config parry_config_t;

parry_config_t *parry_config_new(void);
void parry_config_destroy(parry_config_t *cfg); /* accepts NULL */

/* Each loader applies its source on top of what is there. On error nothing
 * after the faulty entry is applied and errstr names key and source. */
parry_err_t parry_config_load_file(parry_config_t *cfg, const char *path,
                                   char *errstr, size_t errstr_size);
/* The same for a file's text already in memory (text[0..len), no NUL
 * needed); `path` names it in sources and errors. One YAML document; aliases,
 * nesting deeper than 32 and more than 100000 nodes are refused with
 * PATH:LINE:COLUMN. */
parry_err_t parry_config_load_yaml(parry_config_t *cfg, const char *text, size_t len,
                                   const char *path, char *errstr, size_t errstr_size);
/* envp: NULL-terminated "NAME=value" strings (environ). Variables outside the
 * PARRY_ prefix are ignored; PARRY_CONFIG and PARRY_TESTDATA are not settings. */
parry_err_t parry_config_load_env(parry_config_t *cfg, char *const *envp,
                                  char *errstr, size_t errstr_size);
/* Apply "key=value"; `source` names where it came from (e.g. "--set"). */
parry_err_t parry_config_set(parry_config_t *cfg, const char *assignment,
                             const char *source, char *errstr,
                             size_t errstr_size);

/* The usual start-up: take --config FILE and --set key=value (also
 * --config=FILE, --set=key=value) out of argv, compacting argv and *argc, and
 * apply file, then environment, then the --set flags. PARRY_CONFIG names the
 * file when --config is absent. */
parry_err_t parry_config_from_args(parry_config_t *cfg, int *argc, char **argv,
                                   char *const *envp, char *errstr,
                                   size_t errstr_size);

/* Effective values. The key must be in the table (a typo is a programming
 * error and aborts). INT, DURATION and SIZE read as int64 (ms and bytes). */
const char *parry_config_str(const parry_config_t *cfg, const char *key);
int64_t parry_config_int(const parry_config_t *cfg, const char *key);
bool parry_config_bool(const parry_config_t *cfg, const char *key);
/* Where the effective value came from: "default", "FILE:LINE",
 * "environment variable PARRY_X" or "--set". */
const char *parry_config_source(const parry_config_t *cfg, const char *key);

/* Visit every kafka.* property that was set, without the "kafka." prefix, in
 * the order set (later settings of the same property replace earlier ones). */
typedef void (*parry_config_kv_cb)(const char *name, const char *value,
                                   const char *source, void *opaque);
void parry_config_foreach_kafka(const parry_config_t *cfg, parry_config_kv_cb cb,
                                void *opaque);

/* The reference of every setting: plain text, or Markdown for the docs. */
void parry_config_reference(parry_buf_t *out, bool markdown);

#endif
