#include "parry/config.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/arena.h"
#include "parry/http.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "parry/yaml_tree.h"

#define PARRY_SETTING(key, type, def, min, max, choices, components, help) \
  {key, PARRY_SETTING_##type, def, min, max, choices, components, help},
const parry_setting_t parry_settings[] = {
#include "settings.def"
};
#undef PARRY_SETTING
const size_t parry_settings_count = sizeof parry_settings / sizeof parry_settings[0];

/* Variables with our prefix that are not settings: where the config file is,
 * and knobs of the test harness and scripts. */
static const char *const reserved_env[] = {
    "PARRY_CONFIG", "PARRY_TESTDATA", "PARRY_REQUIRE_SERVICES", "PARRY_SOURCE_DIR",
    "PARRY_RUN_DIR", NULL};

typedef struct {
  char *value;  /* NULL: default applies */
  char *source;
  int64_t number; /* parsed INT, DURATION (ms) or SIZE (bytes) */
  bool flag;      /* parsed BOOL */
} setting_value_t;

typedef struct {
  char *name; /* librdkafka property, without "kafka." */
  char *value;
  char *source;
} kafka_prop_t;

struct parry_config {
  setting_value_t *values; /* parallel to parry_settings */
  setting_value_t *defaults;
  kafka_prop_t *kafka;
  size_t kafka_len;
};

const parry_setting_t *parry_setting_find(const char *key) {
  for (size_t i = 0; i < parry_settings_count; i++)
    if (strcmp(parry_settings[i].key, key) == 0) return &parry_settings[i];
  return NULL;
}

static size_t setting_index(const parry_setting_t *s) { return (size_t)(s - parry_settings); }

/* ---- value parsing ---------------------------------------------------- */

static bool parse_int64(const char *text, int64_t *out, const char **rest) {
  errno = 0;
  char *end;
  long long v = strtoll(text, &end, 10);
  if (end == text || errno == ERANGE || isspace((unsigned char)*text)) return false;
  *out = v;
  *rest = end;
  return true;
}

typedef struct {
  const char *suffix;
  int64_t factor;
} unit_t;

static const unit_t duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {NULL, 0}};
static const unit_t size_units[] = {
    {"", 1}, {"B", 1}, {"KiB", 1024}, {"K", 1024}, {"MiB", 1 << 20}, {"M", 1 << 20},
    {"GiB", 1 << 30}, {"G", 1 << 30}, {NULL, 0}};

static bool parse_with_unit(const char *text, const unit_t *units, int64_t *out) {
  int64_t n;
  const char *rest;
  if (!parse_int64(text, &n, &rest) || n < 0) return false;
  /* A bare 0 needs no unit: "0" is zero in any unit. */
  if (*rest == '\0' && n == 0) { *out = 0; return true; }
  for (const unit_t *u = units; u->suffix; u++) {
    if (strcmp(rest, u->suffix) == 0) {
      if (n > INT64_MAX / u->factor) return false;
      *out = n * u->factor;
      return true;
    }
  }
  return false;
}

static bool parse_bool(const char *text, bool *out) {
  static const char *const yes[] = {"true", "yes", "on", "1", NULL};
  static const char *const no[] = {"false", "no", "off", "0", NULL};
  for (int i = 0; yes[i]; i++) if (strcasecmp(text, yes[i]) == 0) { *out = true; return true; }
  for (int i = 0; no[i]; i++) if (strcasecmp(text, no[i]) == 0) { *out = false; return true; }
  return false;
}

static bool enum_has(const char *choices, const char *text) {
  size_t len = strlen(text);
  for (const char *p = choices; *p;) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (n == len && strncmp(p, text, n) == 0) return true;
    if (!bar) break;
    p = bar + 1;
  }
  return false;
}

static const char *type_name(parry_setting_type_t type) {
  switch (type) {
  case PARRY_SETTING_STRING: return "string";
  case PARRY_SETTING_SECRET: return "secret";
  case PARRY_SETTING_INT: return "integer";
  case PARRY_SETTING_BOOL: return "boolean";
  case PARRY_SETTING_DURATION: return "duration";
  case PARRY_SETTING_SIZE: return "size";
  case PARRY_SETTING_ENUM: return "enum";
  case PARRY_SETTING_ADDRESS: return "address (IP:PORT)";
  case PARRY_SETTING_UTC_OFFSET: return "UTC offset (+HH:MM)";
  }
  return "?";
}

/* Check text against the setting's type; fill v's parsed fields. `what` is
 * written with the reason on failure. */
static bool parse_value(const parry_setting_t *s, const char *text, setting_value_t *v,
                        char *why, size_t why_size) {
  int64_t n = 0;
  const char *rest;
  switch (s->type) {
  case PARRY_SETTING_STRING:
  case PARRY_SETTING_SECRET:
    return true;
  case PARRY_SETTING_ENUM:
    if (enum_has(s->choices, text)) return true;
    snprintf(why, why_size, "expected one of %s", s->choices);
    return false;
  case PARRY_SETTING_ADDRESS: {
    struct sockaddr_storage addr;
    if (parry_parse_listen(text, &addr, NULL, 0) == PARRY_OK) return true;
    snprintf(why, why_size, "expected IP:PORT or [IPv6]:PORT");
    return false;
  }
  case PARRY_SETTING_UTC_OFFSET: {
    int32_t offset;
    if (parry_time_parse_utc_offset(text, &offset) == PARRY_OK) {
      v->number = offset;
      return true;
    }
    snprintf(why, why_size, "expected a UTC offset such as +00:00 or -05:00");
    return false;
  }
  case PARRY_SETTING_BOOL:
    if (parse_bool(text, &v->flag)) return true;
    snprintf(why, why_size, "expected true or false");
    return false;
  case PARRY_SETTING_INT:
    if (!parse_int64(text, &n, &rest) || *rest) {
      snprintf(why, why_size, "expected an integer");
      return false;
    }
    break;
  case PARRY_SETTING_DURATION:
    if (!parse_with_unit(text, duration_units, &n)) {
      snprintf(why, why_size, "expected a duration such as 250ms, 30s, 5m, 2h or 1d");
      return false;
    }
    break;
  case PARRY_SETTING_SIZE:
    if (!parse_with_unit(text, size_units, &n)) {
      snprintf(why, why_size, "expected a size such as 512, 64KiB, 16MiB or 1GiB");
      return false;
    }
    break;
  }
  if (n < s->min || n > s->max) {
    snprintf(why, why_size, "out of range %lld..%lld%s", (long long)s->min, (long long)s->max,
             s->type == PARRY_SETTING_DURATION ? " ms" : s->type == PARRY_SETTING_SIZE ? " bytes" : "");
    return false;
  }
  v->number = n;
  return true;
}

/* ---- construction ----------------------------------------------------- */

parry_config_t *parry_config_new(void) {
  parry_config_t *cfg = parry_xnew(parry_config_t, 1);
  cfg->values = parry_xnew(setting_value_t, parry_settings_count);
  cfg->defaults = parry_xnew(setting_value_t, parry_settings_count);
  for (size_t i = 0; i < parry_settings_count; i++) {
    char why[128];
    const parry_setting_t *s = &parry_settings[i];
    cfg->defaults[i].value = (char *)s->default_value;
    cfg->defaults[i].source = "default";
    /* A default that fails its own type is a bug in settings.def. */
    if (!parse_value(s, s->default_value, &cfg->defaults[i], why, sizeof why)) {
      fprintf(stderr, "settings.def: default of %s is invalid: %s\n", s->key, why);
      abort();
    }
  }
  return cfg;
}

void parry_config_destroy(parry_config_t *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < parry_settings_count; i++) {
    free(cfg->values[i].value);
    free(cfg->values[i].source);
  }
  for (size_t i = 0; i < cfg->kafka_len; i++) {
    free(cfg->kafka[i].name);
    free(cfg->kafka[i].value);
    free(cfg->kafka[i].source);
  }
  free(cfg->kafka);
  free(cfg->values);
  free(cfg->defaults);
  free(cfg);
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 99;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static const char *closest_key(const char *key) {
  const char *best = NULL;
  size_t best_d = 4; /* suggest only near misses */
  for (size_t i = 0; i < parry_settings_count; i++) {
    size_t d = edit_distance(key, parry_settings[i].key);
    if (d < best_d) { best_d = d; best = parry_settings[i].key; }
  }
  return best;
}

static parry_err_t set_kafka(parry_config_t *cfg, const char *name, const char *value,
                             const char *source, char *errstr, size_t errstr_size) {
  /* Ask librdkafka now, so a typo fails at start-up naming its source rather
   * than when the first client is built. */
  char why[512];
  rd_kafka_conf_t *probe = rd_kafka_conf_new();
  rd_kafka_conf_res_t res = rd_kafka_conf_set(probe, name, value, why, sizeof why);
  rd_kafka_conf_destroy(probe);
  if (res != RD_KAFKA_CONF_OK)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "invalid Kafka property kafka.%s from %s: %s", name, source, why);
  for (size_t i = 0; i < cfg->kafka_len; i++) {
    if (strcmp(cfg->kafka[i].name, name) == 0) {
      free(cfg->kafka[i].value);
      free(cfg->kafka[i].source);
      cfg->kafka[i].value = parry_xstrdup(value);
      cfg->kafka[i].source = parry_xstrdup(source);
      return PARRY_OK;
    }
  }
  cfg->kafka = parry_xreallocarray(cfg->kafka, cfg->kafka_len + 1, sizeof *cfg->kafka);
  cfg->kafka[cfg->kafka_len++] = (kafka_prop_t){parry_xstrdup(name), parry_xstrdup(value),
                                                parry_xstrdup(source)};
  return PARRY_OK;
}

/* Set one key from one source; the single place where values are checked. */
static parry_err_t set_key(parry_config_t *cfg, const char *key, const char *value,
                           const char *source, char *errstr, size_t errstr_size) {
  if (strncmp(key, "kafka.", 6) == 0 && key[6])
    return set_kafka(cfg, key + 6, value, source, errstr, errstr_size);
  const parry_setting_t *s = parry_setting_find(key);
  if (!s) {
    const char *hint = closest_key(key);
    return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                      "unknown setting \"%s\" from %s%s%s%s", key, source,
                      hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
  }
  setting_value_t parsed = {0};
  char why[160];
  if (!parse_value(s, value, &parsed, why, sizeof why)) {
    /* Secrets are never echoed, not even in an error. */
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "invalid value %s%s%s for %s from %s: %s",
                      s->type == PARRY_SETTING_SECRET ? "" : "\"",
                      s->type == PARRY_SETTING_SECRET ? "(hidden)" : value,
                      s->type == PARRY_SETTING_SECRET ? "" : "\"", key, source, why);
  }
  setting_value_t *v = &cfg->values[setting_index(s)];
  free(v->value);
  free(v->source);
  parsed.value = parry_xstrdup(value);
  parsed.source = parry_xstrdup(source);
  *v = parsed;
  return PARRY_OK;
}

parry_err_t parry_config_set(parry_config_t *cfg, const char *assignment, const char *source,
                             char *errstr, size_t errstr_size) {
  const char *eq = strchr(assignment, '=');
  if (!eq || eq == assignment)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "invalid assignment \"%s\" from %s: expected key=value", assignment,
                      source);
  char *key = parry_xstrndup(assignment, (size_t)(eq - assignment));
  parry_err_t err = set_key(cfg, key, eq + 1, source, errstr, errstr_size);
  free(key);
  return err;
}

/* ---- environment ------------------------------------------------------ */

/* "log.level" -> "PARRY_LOG_LEVEL" */
static void env_name(const char *key, char *out, size_t out_size) {
  size_t n = (size_t)snprintf(out, out_size, "PARRY_");
  for (const char *p = key; *p && n + 1 < out_size; p++)
    out[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
  out[n] = '\0';
}

parry_err_t parry_config_load_env(parry_config_t *cfg, char *const *envp, char *errstr,
                                  size_t errstr_size) {
  for (; envp && *envp; envp++) {
    const char *entry = *envp;
    if (strncmp(entry, "PARRY_", 6) != 0) continue;
    const char *eq = strchr(entry, '=');
    if (!eq) continue;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(eq - entry), entry);
    bool reserved = false;
    for (int i = 0; reserved_env[i]; i++) reserved |= strcmp(name, reserved_env[i]) == 0;
    if (reserved) continue;

    char source[300];
    snprintf(source, sizeof source, "environment variable %s", name);
    const char *key = NULL;
    char candidate[256];
    for (size_t i = 0; i < parry_settings_count && !key; i++) {
      env_name(parry_settings[i].key, candidate, sizeof candidate);
      if (strcmp(candidate, name) == 0) key = parry_settings[i].key;
    }
    char kafka_key[256];
    if (!key && strncmp(name, "PARRY_KAFKA_", 12) == 0 && name[12]) {
      /* librdkafka properties are lower case with dots */
      size_t n = (size_t)snprintf(kafka_key, sizeof kafka_key, "kafka.");
      for (const char *p = name + 12; *p && n + 1 < sizeof kafka_key; p++)
        kafka_key[n++] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
      kafka_key[n] = '\0';
      key = kafka_key;
    }
    if (!key)
      return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                        "unknown setting in %s (see `parry config --reference`)", source);
    parry_err_t err = set_key(cfg, key, eq + 1, source, errstr, errstr_size);
    if (err) return err;
  }
  return PARRY_OK;
}

/* ---- YAML file -------------------------------------------------------- */

/* Read through the shared tree reader (parry/yaml_tree.h): aliases are
 * refused there, so a small file cannot expand into a huge tree ("billion
 * laughs"), and the caps below stop a broken or hostile file early. Real
 * files are a few levels deep and a few hundred nodes. Every scalar is used
 * as its text (set_key checks it against the setting's type), so the
 * reader's scalar resolution does not matter here. */
#define CONFIG_MAX_BYTES ((size_t)16 << 20)
static const parry_yaml_options_t config_yaml = {
    .max_depth = 32,
    .max_nodes = 100000,
};

typedef struct {
  parry_config_t *cfg;
  const char *path;
  char *errstr;
  size_t errstr_size;
  /* keys set by this file, to reject duplicates */
  char **seen;
  size_t seen_len;
} yaml_walk_t;

static parry_err_t walk_node(yaml_walk_t *w, const parry_yaml_node_t *node, const char *prefix) {
  /* `source` is what parry_config_source reports (FILE:LINE); errors about
   * the file's shape also give the column. */
  char source[512], at[540];
  snprintf(source, sizeof source, "%s:%u", w->path, node->line);
  snprintf(at, sizeof at, "%s:%u", source, node->column);
  switch (node->kind) {
  case PARRY_YAML_SCALAR: {
    if (!*prefix)
      return parry_fail(w->errstr, w->errstr_size, PARRY_ERR_INVALID,
                        "%s: expected a mapping of settings, found a scalar", at);
    /* "\0" in a quoted scalar: the C string would silently stop there. */
    if (node->has_nul)
      return parry_fail(w->errstr, w->errstr_size, PARRY_ERR_INVALID,
                        "%s: the value of %s holds a NUL byte", at, prefix);
    for (size_t i = 0; i < w->seen_len; i++)
      if (strcmp(w->seen[i], prefix) == 0)
        return parry_fail(w->errstr, w->errstr_size, PARRY_ERR_INVALID,
                          "%s: setting \"%s\" is given twice in this file", source, prefix);
    w->seen = parry_xreallocarray(w->seen, w->seen_len + 1, sizeof *w->seen);
    w->seen[w->seen_len++] = parry_xstrdup(prefix);
    return set_key(w->cfg, prefix, node->text, source, w->errstr, w->errstr_size);
  }
  case PARRY_YAML_SEQUENCE:
    return parry_fail(w->errstr, w->errstr_size, PARRY_ERR_INVALID,
                      "%s: %s expects a single value, found a list", at,
                      *prefix ? prefix : "the top level");
  case PARRY_YAML_MAPPING:
    for (size_t i = 0; i < node->n; i++) {
      const parry_yaml_node_t *k = node->items[2 * i], *v = node->items[2 * i + 1];
      if (k->kind != PARRY_YAML_SCALAR || k->has_nul)
        return parry_fail(w->errstr, w->errstr_size, PARRY_ERR_INVALID,
                          "%s:%u:%u: keys must be plain strings", w->path, k->line, k->column);
      size_t len = strlen(prefix) + k->len + 2;
      char *key = parry_xmalloc(len);
      snprintf(key, len, "%s%s%s", prefix, *prefix ? "." : "", k->text);
      parry_err_t err = walk_node(w, v, key);
      free(key);
      if (err) return err;
    }
    return PARRY_OK;
  }
  return PARRY_OK;
}

parry_err_t parry_config_load_yaml(parry_config_t *cfg, const char *text, size_t len,
                                   const char *path, char *errstr, size_t errstr_size) {
  parry_arena_t arena = PARRY_ARENA_INIT;
  parry_yaml_docs_t docs;
  parry_yaml_error_t ye;
  yaml_walk_t walk = {cfg, path, errstr, errstr_size, NULL, 0};
  parry_err_t err = PARRY_OK;

  if (!parry_yaml_parse(&arena, text, len, &config_yaml, &docs, &ye)) {
    err = ye.code == PARRY_YAML_ERR_INIT
              ? parry_fail(errstr, errstr_size, PARRY_ERR_NOMEM, "%s: %s", path, ye.msg)
              : parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s:%u:%u: %s", path, ye.line,
                           ye.column, ye.msg);
    goto out;
  }
  /* A second document would be settings silently ignored. */
  if (docs.n_docs > 1) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "%s:%u:%u: a second YAML document; a configuration file holds one", path,
                     docs.docs[1]->line, docs.docs[1]->column);
    goto out;
  }
  const parry_yaml_node_t *root = docs.n_docs ? docs.docs[0] : NULL;
  /* An empty file (or one of comments only) sets nothing. */
  if (root && !(root->kind == PARRY_YAML_SCALAR && root->len == 0))
    err = walk_node(&walk, root, "");
out:
  for (size_t i = 0; i < walk.seen_len; i++) free(walk.seen[i]);
  free(walk.seen);
  free(docs.docs);
  parry_arena_free(&arena);
  return err;
}

parry_err_t parry_config_load_file(parry_config_t *cfg, const char *path, char *errstr,
                                   size_t errstr_size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return parry_fail(errstr, errstr_size, errno == ENOENT ? PARRY_ERR_NOT_FOUND : PARRY_ERR_IO,
                      "could not open configuration file %s: %s", path, strerror(errno));
  parry_buf_t b = PARRY_BUF_INIT(CONFIG_MAX_BYTES);
  char chunk[8192];
  size_t got;
  parry_err_t err = PARRY_OK;
  while (err == PARRY_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
    err = parry_buf_append(&b, chunk, got);
  if (err != PARRY_OK)
    err = parry_fail(errstr, errstr_size, PARRY_ERR_TOO_LARGE,
                     "configuration file %s is larger than %zu MiB", path, CONFIG_MAX_BYTES >> 20);
  else if (ferror(f))
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO, "could not read configuration file %s: %s",
                     path, strerror(errno));
  fclose(f);
  if (err == PARRY_OK)
    err = parry_config_load_yaml(cfg, b.data ? b.data : "", b.len, path, errstr, errstr_size);
  parry_buf_free(&b);
  return err;
}

/* ---- command line ----------------------------------------------------- */

parry_err_t parry_config_from_args(parry_config_t *cfg, int *argc, char **argv,
                                   char *const *envp, char *errstr, size_t errstr_size) {
  const char *file = NULL;
  const char **sets = parry_xnew(const char *, (size_t)*argc + 1);
  size_t nsets = 0;
  int kept = 1;
  parry_err_t err = PARRY_OK;

  for (int i = 1; i < *argc; i++) {
    const char *arg = argv[i];
    const char *value = NULL;
    if (strcmp(arg, "--") == 0) { /* the rest is not ours */
      while (i < *argc) argv[kept++] = argv[i++];
      break;
    }
    if (strcmp(arg, "--config") == 0 || strcmp(arg, "--set") == 0) {
      if (i + 1 >= *argc) {
        err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s needs a value", arg);
        goto out;
      }
      value = argv[++i];
    } else if (strncmp(arg, "--config=", 9) == 0) {
      value = arg + 9;
      arg = "--config";
    } else if (strncmp(arg, "--set=", 6) == 0) {
      value = arg + 6;
      arg = "--set";
    } else {
      argv[kept++] = argv[i];
      continue;
    }
    if (strcmp(arg, "--config") == 0) file = value;
    else sets[nsets++] = value;
  }
  argv[kept] = NULL;
  *argc = kept;

  if (!file) {
    for (char *const *e = envp; e && *e; e++)
      if (strncmp(*e, "PARRY_CONFIG=", 13) == 0 && (*e)[13]) file = *e + 13;
  }
  if (file && (err = parry_config_load_file(cfg, file, errstr, errstr_size))) goto out;
  if ((err = parry_config_load_env(cfg, envp, errstr, errstr_size))) goto out;
  for (size_t i = 0; i < nsets; i++)
    if ((err = parry_config_set(cfg, sets[i], "--set", errstr, errstr_size))) goto out;
out:
  free(sets);
  return err;
}

/* ---- getters ---------------------------------------------------------- */

static const setting_value_t *effective(const parry_config_t *cfg, const char *key,
                                        const parry_setting_t **setting) {
  const parry_setting_t *s = parry_setting_find(key);
  if (!s) {
    fprintf(stderr, "bug: setting \"%s\" is not in settings.def\n", key);
    abort();
  }
  if (setting) *setting = s;
  size_t i = setting_index(s);
  return cfg->values[i].value ? &cfg->values[i] : &cfg->defaults[i];
}

const char *parry_config_str(const parry_config_t *cfg, const char *key) {
  return effective(cfg, key, NULL)->value;
}

int64_t parry_config_int(const parry_config_t *cfg, const char *key) {
  return effective(cfg, key, NULL)->number;
}

bool parry_config_bool(const parry_config_t *cfg, const char *key) {
  return effective(cfg, key, NULL)->flag;
}

const char *parry_config_source(const parry_config_t *cfg, const char *key) {
  return effective(cfg, key, NULL)->source;
}

void parry_config_foreach_kafka(const parry_config_t *cfg, parry_config_kv_cb cb, void *opaque) {
  for (size_t i = 0; i < cfg->kafka_len; i++)
    cb(cfg->kafka[i].name, cfg->kafka[i].value, cfg->kafka[i].source, opaque);
}

/* ---- reference -------------------------------------------------------- */

static void describe_type(const parry_setting_t *s, parry_buf_t *out) {
  if (s->type == PARRY_SETTING_ENUM) parry_buf_printf(out, "one of %s", s->choices);
  else parry_buf_append_str(out, type_name(s->type));
  if (s->type == PARRY_SETTING_INT)
    parry_buf_printf(out, ", %lld..%lld", (long long)s->min, (long long)s->max);
}

void parry_config_reference(parry_buf_t *out, bool markdown) {
  char env[256];
  if (markdown) {
    parry_buf_append_str(out,
        "# Configuration reference\n\n"
        "<!-- Generated by `parry config --reference --markdown` from lib/settings.def; "
        "do not edit. A unit test fails when this file is out of date. -->\n\n"
        "Settings come from a YAML file (`--config FILE` or `PARRY_CONFIG`), then\n"
        "environment variables, then `--set key=value` flags; each later source wins.\n"
        "In YAML, nested maps flatten to dotted keys: `log: {level: debug}` is `log.level`.\n"
        "Durations take `ms`, `s`, `m`, `h`, `d`; sizes take `KiB`, `MiB`, `GiB`.\n\n"
        "Keys under `kafka.` are librdkafka properties, passed to every Kafka client\n"
        "(for example `kafka.bootstrap.servers`, `kafka.security.protocol`,\n"
        "`kafka.sasl.mechanisms`, `kafka.ssl.ca.location`); as variables they are\n"
        "`PARRY_KAFKA_*` with dots as underscores (`PARRY_KAFKA_BOOTSTRAP_SERVERS`).\n"
        "Unknown keys and invalid values stop the service with an error naming the\n"
        "key and where it was set.\n\n"
        "| key | type | default | used by | environment | description |\n"
        "|---|---|---|---|---|---|\n");
  }
  for (size_t i = 0; i < parry_settings_count; i++) {
    const parry_setting_t *s = &parry_settings[i];
    env_name(s->key, env, sizeof env);
    const char *def = *s->default_value ? s->default_value : "(empty)";
    if (markdown) {
      parry_buf_printf(out, "| `%s` | ", s->key);
      describe_type(s, out);
      parry_buf_printf(out, " | `%s` | %s | `%s` | %s |\n", def, s->components, env, s->help);
    } else {
      parry_buf_printf(out, "%s (", s->key);
      describe_type(s, out);
      parry_buf_printf(out, ", default %s)\n    %s\n    used by: %s; environment: %s\n\n", def,
                       s->help, s->components, env);
    }
  }
}
