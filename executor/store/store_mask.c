/* Masking secrets before anything reaches step_runs or the timeline: by key
 * name (token, password, ...) and by value (registered secret values). */
#include "store_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "parry/buf.h"
#include "parry/mem.h"

#define MASK "****"

/* Deeper trees are cut here (a JSON bomb must not blow the stack). */
#define MASK_MAX_DEPTH 64

/* Key fragments that mark a value as secret, lower case. */
static const char *const secret_keys[] = {
    "token",  "password", "passwd",     "secret",      "authorization", "api_key",
    "apikey", "api-key",  "credential", "private_key", "cookie",        "passphrase",
};

static bool contains_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++) {
    size_t i = 0;
    while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle[i]) i++;
    if (i == n) return true;
  }
  return false;
}

static bool is_secret_key(const char *key) {
  for (size_t i = 0; i < sizeof secret_keys / sizeof *secret_keys; i++)
    if (contains_ci(key, secret_keys[i])) return true;
  return false;
}

char *parry_store_mask_text(const char *text, const char *const *secrets, size_t n) {
  if (!text) return NULL;
  /* Most text holds no secret: a search per secret (glibc's strstr is fast)
   * settles that without the byte-by-byte walk below. */
  bool any = false;
  for (size_t i = 0; i < n && !any; i++)
    any = secrets[i] && strlen(secrets[i]) >= 4 && strstr(text, secrets[i]) != NULL;
  if (!any) return parry_xstrdup(text);
  parry_buf_t b = PARRY_BUF_INIT(0);
  const char *p = text;
  while (*p) {
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) {
      size_t len = secrets[i] ? strlen(secrets[i]) : 0;
      if (len >= 4 && strncmp(p, secrets[i], len) == 0 && len > hit) hit = len;
    }
    if (hit) {
      parry_buf_append(&b, MASK, sizeof MASK - 1);
      p += hit;
    } else {
      parry_buf_append(&b, p, 1);
      p++;
    }
  }
  return parry_buf_steal(&b);
}

static struct json_object *mask_string(const char *s, const char *const *secrets, size_t n) {
  char *m = parry_store_mask_text(s, secrets, n);
  struct json_object *o = json_object_new_string(m);
  free(m);
  return o;
}

static struct json_object *mask(struct json_object *v, const char *const *secrets, size_t n,
                                int depth) {
  if (!v) return NULL;
  if (depth >= MASK_MAX_DEPTH) return json_object_new_string(MASK);
  switch (json_object_get_type(v)) {
  case json_type_object: {
    struct json_object *out = json_object_new_object();
    json_object_object_foreach(v, key, val) {
      char *k = parry_store_mask_text(key, secrets, n);
      struct json_object *mv = is_secret_key(key) ? json_object_new_string(MASK)
                                                  : mask(val, secrets, n, depth + 1);
      json_object_object_add(out, k, mv);
      free(k);
    }
    return out;
  }
  case json_type_array: {
    size_t len = json_object_array_length(v);
    struct json_object *out = json_object_new_array_ext((int)len);
    for (size_t i = 0; i < len; i++)
      json_object_array_add(out, mask(json_object_array_get_idx(v, i), secrets, n, depth + 1));
    return out;
  }
  case json_type_string:
    return mask_string(json_object_get_string(v), secrets, n);
  case json_type_boolean:
  case json_type_int:
  case json_type_double: {
    /* A copy keeps the number exactly as it was (uint64, the double's text). */
    struct json_object *out = NULL;
    if (json_object_deep_copy(v, &out, NULL) != 0) return NULL;
    return out;
  }
  case json_type_null:
  default:
    return NULL;
  }
}

struct json_object *parry_store_mask_json(const struct json_object *v,
                                          const char *const *secrets, size_t n) {
  /* json-c's getters take non-const pointers; nothing here modifies v. */
  return mask((struct json_object *)v, secrets, n, 0);
}

parry_err_t parry_store_add_connector_secrets(parry_store_t *s, const parry_config_t *settings,
                                              char *errstr, size_t errstr_size) {
  /* Tolerate a build without the setting, as the connector engine does. */
  if (!settings || !parry_setting_find("executor.connectors")) return PARRY_OK;
  char err[512];
  parry_conn_config_t *cc = parry_conn_config_from_settings(settings, err, sizeof err);
  if (!cc)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "executor.connectors: %s", err);
  for (size_t i = 0; i < parry_conn_config_secret_count(cc); i++)
    parry_store_add_secret(s, parry_conn_config_secret(cc, i));
  parry_conn_config_destroy(cc); /* wipes its copies */
  return PARRY_OK;
}
