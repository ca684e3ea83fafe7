/* The connectors YAML: targets, actions, threat intel, GeoIP, exec policy.
 *
 * The file is read once at start into json-c (through the shared YAML tree
 * reader, parry/yaml_tree.h), then into plain structs. Secrets are resolved
 * here (`password_env`, `token_file`, ...) so that a missing one stops the
 * start-up, and every secret value is remembered for masking. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/conn_internal.h"
#include "parry/arena.h"
#include "parry/mem.h"
#include "parry/yaml_tree.h"

void parry_conn_limits_default(parry_conn_limits_t *l) {
  l->timeout_ns = 10LL * 1000000000;
  l->max_concurrency = 64;
  l->breaker_failures = 5;
  l->breaker_cooldown_ns = 30LL * 1000000000;
  l->max_response_bytes = 1 << 20;
  l->exec_max_output = 64 << 10;
  l->max_queued = 100000;
}

/* ---- YAML -> json-c ---- */

/* Through the shared tree reader (parry/yaml_tree.h): aliases are refused
 * there, so a small file cannot expand into a huge tree ("billion laughs"),
 * and these caps stop a broken file early. A real connectors file is a few
 * levels deep (action bodies add a few more) and a few thousand nodes. */
#define CONN_YAML_MAX_DEPTH 64
#define CONN_YAML_MAX_NODES 200000
static const parry_yaml_options_t conn_yaml = {
    .max_depth = CONN_YAML_MAX_DEPTH,
    .max_nodes = CONN_YAML_MAX_NODES,
};

/* This file's own scalar resolution, not the reader's: only plain scalars
 * are typed, and only null ("", ~, null), true, false and decimal integers
 * that fit int64 (tags are ignored; True, 0x1F or +5 stay strings). */
static struct json_object *yaml_scalar(const parry_yaml_node_t *n) {
  const char *s = n->text;
  size_t len = n->len;
  if (n->style == PARRY_YAML_PLAIN) {
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0) return NULL;
    if (strcmp(s, "true") == 0) return json_object_new_boolean(1);
    if (strcmp(s, "false") == 0) return json_object_new_boolean(0);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == 0 && end != s && *end == '\0' && (isdigit((unsigned char)s[0]) || s[0] == '-'))
      return json_object_new_int64(v);
  }
  return json_object_new_string_len(s, (int)len);
}

/* Where a value was in the file, for error messages (loc below): the
 * userdata of each object yaml_to_json makes. */
typedef struct {
  uint32_t line, column;         /* the value's */
  uint32_t key_line, key_column; /* its key's, in a mapping (else the value's) */
} conn_yaml_pos_t;

static void free_pos(struct json_object *o, void *pos) {
  (void)o;
  free(pos);
}

static struct json_object *with_pos(struct json_object *o, const parry_yaml_node_t *n,
                                    const parry_yaml_node_t *key) {
  if (!o) return NULL;
  conn_yaml_pos_t *pos = parry_xmalloc(sizeof *pos);
  pos->line = n->line;
  pos->column = n->column;
  pos->key_line = key ? key->line : n->line;
  pos->key_column = key ? key->column : n->column;
  json_object_set_userdata(o, pos, free_pos);
  return o;
}

/* Recursion is bounded by CONN_YAML_MAX_DEPTH. Keys that are not scalars are
 * skipped; a key given twice keeps its last value. Every object keeps its
 * node's position (with_pos). */
static struct json_object *yaml_to_json(const parry_yaml_node_t *n,
                                        const parry_yaml_node_t *key) {
  switch (n->kind) {
  case PARRY_YAML_SCALAR: return with_pos(yaml_scalar(n), n, key);
  case PARRY_YAML_SEQUENCE: {
    struct json_object *a = with_pos(json_object_new_array(), n, key);
    for (size_t i = 0; i < n->n; i++) json_object_array_add(a, yaml_to_json(n->items[i], NULL));
    return a;
  }
  case PARRY_YAML_MAPPING: {
    struct json_object *o = with_pos(json_object_new_object(), n, key);
    for (size_t i = 0; i < n->n; i++) {
      const parry_yaml_node_t *k = n->items[2 * i];
      if (k->kind != PARRY_YAML_SCALAR) continue;
      json_object_object_add(o, k->text, yaml_to_json(n->items[2 * i + 1], k));
    }
    return o;
  }
  }
  return NULL;
}

/* ---- durations and sizes ---- */

static bool parse_duration_ns(struct json_object *v, int64_t *out) {
  if (json_object_is_type(v, json_type_int)) {
    int64_t secs = json_object_get_int64(v);
    if (secs < 0 || secs > INT64_MAX / 1000000000LL) return false;
    *out = secs * 1000000000LL;
    return true;
  }
  if (!json_object_is_type(v, json_type_string)) return false;
  const char *s = json_object_get_string(v);
  char *end = NULL;
  double d = strtod(s, &end);
  if (end == s) return false;
  double mul;
  if (strcmp(end, "ms") == 0) mul = 1e6;
  else if (strcmp(end, "s") == 0 || *end == '\0') mul = 1e9;
  else if (strcmp(end, "m") == 0) mul = 60e9;
  else if (strcmp(end, "h") == 0) mul = 3600e9;
  else return false;
  double ns = d * mul;
  if (!(ns >= 0 && ns < 9e18)) return false; /* also NaN and infinities */
  *out = (int64_t)ns;
  return true;
}

static bool parse_size(struct json_object *v, size_t *out) {
  if (json_object_is_type(v, json_type_int)) {
    int64_t i = json_object_get_int64(v);
    if (i < 0) return false;
    *out = (size_t)i;
    return true;
  }
  if (!json_object_is_type(v, json_type_string)) return false;
  const char *s = json_object_get_string(v);
  char *end = NULL;
  unsigned long long n = strtoull(s, &end, 10);
  if (end == s) return false;
  unsigned long long mul = 1;
  if (strcmp(end, "KiB") == 0) mul = 1ULL << 10;
  else if (strcmp(end, "MiB") == 0) mul = 1ULL << 20;
  else if (strcmp(end, "GiB") == 0) mul = 1ULL << 30;
  else if (*end) return false;
  if (s[0] == '-' || n > SIZE_MAX / mul) return false;
  *out = (size_t)(n * mul);
  return true;
}

/* ---- secrets ---- */

typedef struct {
  parry_conn_config_t *cfg;
  const char *name;
  char *errstr;
  size_t n;
  char at[4200]; /* loc()'s answer */
} ctx_t;

/* "FILE:LINE:COLUMN" of the node o was read from (yaml_to_json keeps each
 * node's position in its userdata), or "FILE" when o has none (a YAML
 * null becomes no object). For the one error message being built. */
static const char *loc_of(ctx_t *c, struct json_object *o, bool key) {
  const conn_yaml_pos_t *pos = o ? json_object_get_userdata(o) : NULL;
  if (pos)
    snprintf(c->at, sizeof c->at, "%s:%u:%u", c->name, key ? pos->key_line : pos->line,
             key ? pos->key_column : pos->column);
  else snprintf(c->at, sizeof c->at, "%s", c->name);
  return c->at;
}
static const char *loc(ctx_t *c, struct json_object *o) { return loc_of(c, o, false); }
/* The position of the key that o is the value of (an unknown key's). */
static const char *loc_key(ctx_t *c, struct json_object *o) { return loc_of(c, o, true); }

static void remember_secret(parry_conn_config_t *cfg, const char *s) {
  if (!s || strlen(s) < 4) return; /* masking "abc" everywhere would garble outputs */
  for (size_t i = 0; i < cfg->nsecrets; i++)
    if (strcmp(cfg->secrets[i], s) == 0) return;
  cfg->secrets = parry_xreallocarray(cfg->secrets, cfg->nsecrets + 1, sizeof *cfg->secrets);
  cfg->secrets[cfg->nsecrets++] = parry_xstrdup(s);
}

/* base64 (RFC 4648, padded) of s, as HTTP Basic sends user:password. */
static char *base64(const char *s) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(s);
  char *out = parry_xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    *o++ = tab[v >> 18 & 63];
    *o++ = tab[v >> 12 & 63];
    *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
    *o++ = i + 2 < n ? tab[v & 63] : '=';
  }
  *o = '\0';
  return out;
}

static int longer_first(const void *a, const void *b) {
  size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
  return la < lb ? 1 : la > lb ? -1 : strcmp(*(char *const *)a, *(char *const *)b);
}

size_t parry_conn_config_secret_count(const parry_conn_config_t *cfg) {
  return cfg ? cfg->nsecrets : 0;
}

const char *parry_conn_config_secret(const parry_conn_config_t *cfg, size_t i) {
  return cfg && i < cfg->nsecrets ? cfg->secrets[i] : NULL;
}

static char *read_secret_file(const char *path, char *errstr, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    parry_fail(errstr, n, PARRY_ERR_NOT_FOUND, "could not open secret file %s: %s", path,
               strerror(errno));
    return NULL;
  }
  parry_buf_t b = PARRY_BUF_INIT(1 << 20);
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (parry_buf_append(&b, chunk, got) != PARRY_OK) {
      fclose(f);
      parry_buf_free(&b);
      parry_fail(errstr, n, PARRY_ERR_TOO_LARGE, "secret file %s is too large", path);
      return NULL;
    }
  }
  fclose(f);
  /* A trailing newline is how editors and `echo` write files, never part of a token. */
  while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) b.data[--b.len] = 0;
  return parry_buf_steal(&b);
}

/* Value of `key` in obj, or of key_env (environment) or key_file (file).
 * *out NULL when none is given. secret: the value is masked everywhere. */
static parry_err_t get_value(ctx_t *c, struct json_object *obj, const char *where, const char *key,
                             bool secret, char **out) {
  *out = NULL;
  char k[128];
  struct json_object *v = NULL;
  if (json_object_object_get_ex(obj, key, &v) && v) {
    if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s.%s: expected a string",
                        loc(c, v), where, key);
    *out = parry_xstrdup(json_object_get_string(v));
    if (secret) remember_secret(c->cfg, *out);
    return PARRY_OK;
  }
  snprintf(k, sizeof k, "%s_env", key);
  if (json_object_object_get_ex(obj, k, &v) && v) {
    const char *var = json_object_get_string(v);
    const char *val = getenv(var);
    if (!val)
      return parry_fail(c->errstr, c->n, PARRY_ERR_NOT_FOUND,
                        "%s: %s.%s: environment variable %s is not set", loc(c, v), where, k, var);
    *out = parry_xstrdup(val);
    remember_secret(c->cfg, *out);
    return PARRY_OK;
  }
  snprintf(k, sizeof k, "%s_file", key);
  if (json_object_object_get_ex(obj, k, &v) && v) {
    char err[256];
    *out = read_secret_file(json_object_get_string(v), err, sizeof err);
    if (!*out)
      return parry_fail(c->errstr, c->n, PARRY_ERR_NOT_FOUND, "%s: %s.%s: %s", loc(c, v), where, k,
                        err);
    remember_secret(c->cfg, *out);
    return PARRY_OK;
  }
  return PARRY_OK;
}

static parry_err_t check_keys(ctx_t *c, struct json_object *obj, const char *where,
                              const char *const *allowed) {
  if (!json_object_is_type(obj, json_type_object))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s: expected a map", loc(c, obj),
                      where);
  json_object_object_foreach(obj, key, val) {
    (void)val;
    bool ok = false;
    for (size_t i = 0; allowed[i] && !ok; i++) {
      size_t al = strlen(allowed[i]);
      ok = strcmp(key, allowed[i]) == 0 ||
           (strncmp(key, allowed[i], al) == 0 &&
            (strcmp(key + al, "_env") == 0 || strcmp(key + al, "_file") == 0));
    }
    if (!ok)
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s: unknown key \"%s\"",
                        val ? loc_key(c, val) : loc(c, obj), where, key);
  }
  return PARRY_OK;
}

static parry_err_t limits_from(ctx_t *c, struct json_object *obj, const char *where,
                               int64_t *timeout, uint32_t *conc, uint32_t *bfail,
                               int64_t *bcool) {
  struct json_object *v;
  if (json_object_object_get_ex(obj, "timeout", &v) && !parse_duration_ns(v, timeout))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s.timeout: bad duration", loc(c, v),
                      where);
  if (json_object_object_get_ex(obj, "breaker_cooldown", &v) && !parse_duration_ns(v, bcool))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                      "%s: %s.breaker_cooldown: bad duration", loc(c, v), where);
  if (json_object_object_get_ex(obj, "max_concurrency", &v)) {
    int64_t i = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || i < 1 || i > 1000000)
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                        "%s: %s.max_concurrency: expected 1..1000000", loc(c, v), where);
    *conc = (uint32_t)i;
  }
  if (json_object_object_get_ex(obj, "breaker_failures", &v)) {
    int64_t i = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || i < 1 || i > 1000000)
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                        "%s: %s.breaker_failures: expected 1..1000000", loc(c, v), where);
    *bfail = (uint32_t)i;
  }
  return PARRY_OK;
}

static parry_err_t parse_defaults(ctx_t *c, struct json_object *d) {
  static const char *const keys[] = {"timeout", "max_concurrency", "breaker_failures",
                                     "breaker_cooldown", "max_response", "exec_max_output",
                                     "max_queued", NULL};
  parry_conn_limits_t *l = &c->cfg->limits;
  if (check_keys(c, d, "defaults", keys) != PARRY_OK) return PARRY_ERR_INVALID;
  if (limits_from(c, d, "defaults", &l->timeout_ns, &l->max_concurrency, &l->breaker_failures,
                  &l->breaker_cooldown_ns) != PARRY_OK)
    return PARRY_ERR_INVALID;
  struct json_object *v;
  if (json_object_object_get_ex(d, "max_response", &v) && !parse_size(v, &l->max_response_bytes))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: defaults.max_response: bad size",
                      loc(c, v));
  if (json_object_object_get_ex(d, "exec_max_output", &v) && !parse_size(v, &l->exec_max_output))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                      "%s: defaults.exec_max_output: bad size", loc(c, v));
  if (json_object_object_get_ex(d, "max_queued", &v) && !parse_size(v, &l->max_queued))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: defaults.max_queued: bad number",
                      loc(c, v));
  return PARRY_OK;
}

static parry_err_t parse_auth(ctx_t *c, struct json_object *a, const char *where,
                              conn_auth_t *auth) {
  static const char *const keys[] = {"type", "user", "password", "token", "header", NULL};
  if (check_keys(c, a, where, keys) != PARRY_OK) return PARRY_ERR_INVALID;
  struct json_object *t;
  const char *type = json_object_object_get_ex(a, "type", &t) && t ? json_object_get_string(t) : "";
  if (strcmp(type, "basic") == 0) auth->type = CONN_AUTH_BASIC;
  else if (strcmp(type, "bearer") == 0) auth->type = CONN_AUTH_BEARER;
  else if (strcmp(type, "header") == 0) auth->type = CONN_AUTH_HEADER;
  else if (strcmp(type, "none") == 0) auth->type = CONN_AUTH_NONE;
  else
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                      "%s: %s.type: expected basic, bearer, header or none", loc(c, t ? t : a), where);
  if (get_value(c, a, where, "user", false, &auth->user) ||
      get_value(c, a, where, "password", true, &auth->password) ||
      get_value(c, a, where, "token", true, &auth->token) ||
      get_value(c, a, where, "header", false, &auth->header))
    return PARRY_ERR_INVALID;
  if (auth->type == CONN_AUTH_BASIC && (!auth->user || !auth->password))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s: basic needs user and password",
                      loc(c, a), where);
  if (auth->type == CONN_AUTH_BASIC) {
    /* What goes on the wire is base64(user:password): an upstream echoing
     * the Authorization header back must not slip it past the masking. */
    parry_buf_t b = PARRY_BUF_INIT(0);
    parry_buf_printf(&b, "%s:%s", auth->user, auth->password);
    char *enc = base64(b.data);
    remember_secret(c->cfg, enc);
    memset(b.data, 0, b.len);
    memset(enc, 0, strlen(enc));
    parry_buf_free(&b);
    free(enc);
  }
  if ((auth->type == CONN_AUTH_BEARER || auth->type == CONN_AUTH_HEADER) && !auth->token)
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s: %s needs a token", loc(c, a),
                      where, type);
  if (auth->type == CONN_AUTH_HEADER && !auth->header)
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s: header auth needs `header`",
                      loc(c, a), where);
  return PARRY_OK;
}

static parry_err_t parse_target(ctx_t *c, const char *name, struct json_object *o,
                                conn_target_cfg_t *t) {
  static const char *const keys[] = {"url", "base_url", "auth", "headers", "idempotency_header",
                                     "ca_file", "insecure", "timeout", "max_concurrency",
                                     "breaker_failures", "breaker_cooldown", "from", "starttls",
                                     NULL};
  char where[160];
  snprintf(where, sizeof where, "targets.%s", name);
  t->name = parry_xstrdup(name);
  if (check_keys(c, o, where, keys) != PARRY_OK) return PARRY_ERR_INVALID;
  /* Webhook URLs carry their secret in the path: masked like a token. */
  if (get_value(c, o, where, "url", true, &t->url) ||
      get_value(c, o, where, "base_url", false, &t->base_url) ||
      get_value(c, o, where, "idempotency_header", false, &t->idempotency_header) ||
      get_value(c, o, where, "ca_file", false, &t->ca_file) ||
      get_value(c, o, where, "from", false, &t->mail_from))
    return PARRY_ERR_INVALID;
  if (limits_from(c, o, where, &t->timeout_ns, &t->max_concurrency, &t->breaker_failures,
                  &t->breaker_cooldown_ns) != PARRY_OK)
    return PARRY_ERR_INVALID;
  /* A webhook's secret is its path: an answer or error quoting only the
   * path must be masked too. */
  const char *scheme_end = t->url ? strstr(t->url, "://") : NULL;
  const char *path = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
  if (path && strlen(path) >= 8) remember_secret(c->cfg, path);
  struct json_object *v;
  if (json_object_object_get_ex(o, "insecure", &v)) t->insecure = json_object_get_boolean(v);
  if (json_object_object_get_ex(o, "starttls", &v)) {
    const char *s = v ? json_object_get_string(v) : "";
    if (strcmp(s, "none") == 0) t->starttls = 0;
    else if (strcmp(s, "try") == 0) t->starttls = 1;
    else if (strcmp(s, "required") == 0) t->starttls = 2;
    else
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                        "%s: %s.starttls: expected none, try or required", loc(c, v), where);
  }
  if (json_object_object_get_ex(o, "auth", &v)) {
    char w[200];
    snprintf(w, sizeof w, "%s.auth", where);
    if (parse_auth(c, v, w, &t->auth) != PARRY_OK) return PARRY_ERR_INVALID;
  }
  if (json_object_object_get_ex(o, "headers", &v)) {
    if (!json_object_is_type(v, json_type_object))
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s.headers: expected a map",
                        loc(c, v), where);
    t->headers = json_object_get(v);
  }
  if (!t->url && !t->base_url)
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s: needs url or base_url",
                      loc(c, o), where);
  return PARRY_OK;
}

/* The `target` value of o, or o itself when it has none (for loc). */
static struct json_object *target_at(struct json_object *o) {
  struct json_object *t = NULL;
  return json_object_object_get_ex(o, "target", &t) && t ? t : o;
}

static parry_err_t parse_action(ctx_t *c, const char *name, struct json_object *o,
                                conn_action_cfg_t *a) {
  static const char *const keys[] = {"target", "method", "path", "body", "outputs", NULL};
  char where[160];
  snprintf(where, sizeof where, "actions.%s", name);
  a->name = parry_xstrdup(name);
  if (check_keys(c, o, where, keys) != PARRY_OK) return PARRY_ERR_INVALID;
  if (get_value(c, o, where, "target", false, &a->target) ||
      get_value(c, o, where, "method", false, &a->method) ||
      get_value(c, o, where, "path", false, &a->path))
    return PARRY_ERR_INVALID;
  if (!a->target || !conn_config_target(c->cfg, a->target))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s.target: no such target \"%s\"",
                      loc(c, target_at(o)), where, a->target ? a->target : "");
  if (!a->method) a->method = parry_xstrdup("POST");
  if (!a->path) a->path = parry_xstrdup("");
  struct json_object *v;
  if (json_object_object_get_ex(o, "body", &v) && v) a->body = json_object_get(v);
  if (json_object_object_get_ex(o, "outputs", &v) && v) a->outputs = json_object_get(v);
  return PARRY_OK;
}

static parry_err_t parse_ti(ctx_t *c, struct json_object *o) {
  static const char *const keys[] = {"feed", "providers", NULL};
  if (check_keys(c, o, "threat_intel", keys) != PARRY_OK) return PARRY_ERR_INVALID;
  if (get_value(c, o, "threat_intel", "feed", false, &c->cfg->ti_feed)) return PARRY_ERR_INVALID;
  struct json_object *p;
  if (!json_object_object_get_ex(o, "providers", &p) || !p) return PARRY_OK;
  if (!json_object_is_type(p, json_type_array))
    return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                      "%s: threat_intel.providers: expected a list", loc(c, p));
  size_t n = json_object_array_length(p);
  c->cfg->providers = parry_xnew(conn_ti_provider_t, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    static const char *const pk[] = {"name", "target", "path", "score", "verdict", "not_found_ok",
                                     NULL};
    struct json_object *e = json_object_array_get_idx(p, i);
    conn_ti_provider_t *pr = &c->cfg->providers[c->cfg->nproviders++];
    char where[64];
    snprintf(where, sizeof where, "threat_intel.providers[%zu]", i);
    if (check_keys(c, e, where, pk) != PARRY_OK) return PARRY_ERR_INVALID;
    if (get_value(c, e, where, "name", false, &pr->name) ||
        get_value(c, e, where, "target", false, &pr->target) ||
        get_value(c, e, where, "path", false, &pr->path) ||
        get_value(c, e, where, "score", false, &pr->score) ||
        get_value(c, e, where, "verdict", false, &pr->verdict))
      return PARRY_ERR_INVALID;
    struct json_object *v;
    pr->not_found_ok = true;
    if (json_object_object_get_ex(e, "not_found_ok", &v)) pr->not_found_ok = json_object_get_boolean(v);
    if (!pr->target || !conn_config_target(c->cfg, pr->target))
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: %s.target: no such target",
                        loc(c, e), where);
    if (!pr->name) pr->name = parry_xstrdup(pr->target);
    if (!pr->path) pr->path = parry_xstrdup("/{{indicator}}");
  }
  return PARRY_OK;
}

static parry_err_t parse_exec(ctx_t *c, struct json_object *o) {
  static const char *const keys[] = {"allow", "env", NULL};
  if (check_keys(c, o, "exec", keys) != PARRY_OK) return PARRY_ERR_INVALID;
  struct json_object *v;
  if (json_object_object_get_ex(o, "allow", &v) && v) {
    if (!json_object_is_type(v, json_type_array))
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: exec.allow: expected a list",
                        loc(c, v));
    size_t n = json_object_array_length(v);
    c->cfg->exec_allow = parry_xnew(char *, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
      const char *p = json_object_get_string(json_object_array_get_idx(v, i));
      if (!p || p[0] != '/')
        return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID,
                          "%s: exec.allow[%zu]: expected an absolute path", loc(c, json_object_array_get_idx(v, i)), i);
      c->cfg->exec_allow[c->cfg->nexec_allow++] = parry_xstrdup(p);
    }
  }
  if (json_object_object_get_ex(o, "env", &v) && v) {
    if (!json_object_is_type(v, json_type_object))
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: exec.env: expected a map",
                        loc(c, v));
    c->cfg->exec_env = parry_xnew(char *, (size_t)json_object_object_length(v) + 1);
    json_object_object_foreach(v, k, val) {
      parry_buf_t b = PARRY_BUF_INIT(0);
      parry_buf_printf(&b, "%s=%s", k, val ? json_object_get_string(val) : "");
      c->cfg->exec_env[c->cfg->nexec_env++] = parry_buf_steal(&b);
    }
  }
  return PARRY_OK;
}

static parry_err_t parse_root(ctx_t *c, struct json_object *root) {
  static const char *const keys[] = {"defaults", "targets", "actions", "threat_intel", "geoip",
                                     "exec", NULL};
  if (!root) return PARRY_OK; /* an empty file */
  if (check_keys(c, root, "top level", keys) != PARRY_OK) return PARRY_ERR_INVALID;
  struct json_object *v;
  if (json_object_object_get_ex(root, "defaults", &v) && v && parse_defaults(c, v) != PARRY_OK)
    return PARRY_ERR_INVALID;
  if (json_object_object_get_ex(root, "targets", &v) && v) {
    if (!json_object_is_type(v, json_type_object))
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: targets: expected a map",
                        loc(c, v));
    c->cfg->targets = parry_xnew(conn_target_cfg_t, (size_t)json_object_object_length(v) + 1);
    json_object_object_foreach(v, name, t) {
      if (parse_target(c, name, t, &c->cfg->targets[c->cfg->ntargets++]) != PARRY_OK)
        return PARRY_ERR_INVALID;
    }
  }
  if (json_object_object_get_ex(root, "actions", &v) && v) {
    if (!json_object_is_type(v, json_type_object))
      return parry_fail(c->errstr, c->n, PARRY_ERR_INVALID, "%s: actions: expected a map",
                        loc(c, v));
    c->cfg->actions = parry_xnew(conn_action_cfg_t, (size_t)json_object_object_length(v) + 1);
    json_object_object_foreach(v, name, a) {
      if (parse_action(c, name, a, &c->cfg->actions[c->cfg->nactions++]) != PARRY_OK)
        return PARRY_ERR_INVALID;
    }
  }
  if (json_object_object_get_ex(root, "threat_intel", &v) && v && parse_ti(c, v) != PARRY_OK)
    return PARRY_ERR_INVALID;
  if (json_object_object_get_ex(root, "geoip", &v) && v) {
    static const char *const gk[] = {"database", "asn_database", NULL};
    if (check_keys(c, v, "geoip", gk) != PARRY_OK ||
        get_value(c, v, "geoip", "database", false, &c->cfg->geoip_db) ||
        get_value(c, v, "geoip", "asn_database", false, &c->cfg->geoip_asn_db))
      return PARRY_ERR_INVALID;
  }
  if (json_object_object_get_ex(root, "exec", &v) && v && parse_exec(c, v) != PARRY_OK)
    return PARRY_ERR_INVALID;
  return PARRY_OK;
}

parry_conn_config_t *parry_conn_config_parse(const char *yaml, size_t len, const char *name,
                                             const parry_conn_limits_t *limits, char *errstr,
                                             size_t errstr_size) {
  parry_conn_config_t *cfg = parry_xnew(parry_conn_config_t, 1);
  if (limits) cfg->limits = *limits;
  else parry_conn_limits_default(&cfg->limits);
  if (!yaml || len == 0) return cfg;
  parry_arena_t arena = PARRY_ARENA_INIT;
  parry_yaml_docs_t docs;
  parry_yaml_error_t ye;
  bool parsed = parry_yaml_parse(&arena, yaml, len, &conn_yaml, &docs, &ye);
  if (parsed && docs.n_docs > 1) {
    /* A second document would be targets and actions silently ignored. */
    parsed = false;
    ye.line = docs.docs[1]->line;
    ye.column = docs.docs[1]->column;
    snprintf(ye.msg, sizeof ye.msg, "a second YAML document; the connectors file holds one");
  }
  struct json_object *root = parsed && docs.n_docs ? yaml_to_json(docs.docs[0], NULL) : NULL;
  free(docs.docs);
  parry_arena_free(&arena);
  if (!parsed) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s:%u:%u: %s", name, ye.line, ye.column,
               ye.msg);
    parry_conn_config_destroy(cfg);
    return NULL;
  }
  ctx_t c = {cfg, name, errstr, errstr_size, {0}};
  parry_err_t err = parse_root(&c, root);
  json_object_put(root);
  if (err != PARRY_OK) {
    parry_conn_config_destroy(cfg);
    return NULL;
  }
  /* Longest first: a secret inside another (a webhook's path inside its
   * URL, a short token inside a longer one) must not be masked first and
   * leave the rest of the longer one readable. */
  if (cfg->nsecrets > 1) qsort(cfg->secrets, cfg->nsecrets, sizeof *cfg->secrets, longer_first);
  return cfg;
}

parry_conn_config_t *parry_conn_config_load(const char *path, const parry_conn_limits_t *limits,
                                            char *errstr, size_t errstr_size) {
  if (!path || !*path) return parry_conn_config_parse(NULL, 0, "", limits, errstr, errstr_size);
  FILE *f = fopen(path, "rb");
  if (!f) {
    parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND, "could not open %s: %s", path,
               strerror(errno));
    return NULL;
  }
  parry_buf_t b = PARRY_BUF_INIT(16 << 20);
  char chunk[8192];
  size_t got;
  parry_err_t err = PARRY_OK;
  while (err == PARRY_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
    err = parry_buf_append(&b, chunk, got);
  fclose(f);
  if (err != PARRY_OK) {
    parry_buf_free(&b);
    parry_fail(errstr, errstr_size, err, "could not read %s: too large", path);
    return NULL;
  }
  parry_conn_config_t *cfg = parry_conn_config_parse(b.data, b.len, path, limits, errstr,
                                                     errstr_size);
  parry_buf_free(&b);
  return cfg;
}

parry_conn_config_t *parry_conn_config_from_settings(const parry_config_t *settings,
                                                     char *errstr, size_t errstr_size) {
  parry_conn_limits_t l;
  parry_conn_limits_default(&l);
  l.timeout_ns = parry_config_int(settings, "executor.connector.timeout") * 1000000LL;
  l.max_concurrency = (uint32_t)parry_config_int(settings, "executor.connector.max_concurrency");
  l.max_queued = (size_t)parry_config_int(settings, "executor.connector.max_queued");
  l.breaker_failures = (uint32_t)parry_config_int(settings, "executor.connector.breaker_failures");
  l.breaker_cooldown_ns =
      parry_config_int(settings, "executor.connector.breaker_cooldown") * 1000000LL;
  l.max_response_bytes = (size_t)parry_config_int(settings, "executor.connector.max_response");
  l.exec_max_output = (size_t)parry_config_int(settings, "executor.connector.exec_max_output");
  return parry_conn_config_load(parry_config_str(settings, "executor.connectors"), &l, errstr,
                                errstr_size);
}

static void free_auth(conn_auth_t *a) {
  free(a->user);
  free(a->password);
  free(a->token);
  free(a->header);
}

void parry_conn_config_destroy(parry_conn_config_t *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cfg->ntargets; i++) {
    conn_target_cfg_t *t = &cfg->targets[i];
    free(t->name);
    free(t->url);
    free(t->base_url);
    free_auth(&t->auth);
    json_object_put(t->headers);
    free(t->idempotency_header);
    free(t->ca_file);
    free(t->mail_from);
  }
  free(cfg->targets);
  for (size_t i = 0; i < cfg->nactions; i++) {
    conn_action_cfg_t *a = &cfg->actions[i];
    free(a->name);
    free(a->target);
    free(a->method);
    free(a->path);
    json_object_put(a->body);
    json_object_put(a->outputs);
  }
  free(cfg->actions);
  for (size_t i = 0; i < cfg->nproviders; i++) {
    conn_ti_provider_t *p = &cfg->providers[i];
    free(p->name);
    free(p->target);
    free(p->path);
    free(p->score);
    free(p->verdict);
  }
  free(cfg->providers);
  free(cfg->ti_feed);
  free(cfg->geoip_db);
  free(cfg->geoip_asn_db);
  for (size_t i = 0; i < cfg->nexec_allow; i++) free(cfg->exec_allow[i]);
  free(cfg->exec_allow);
  for (size_t i = 0; i < cfg->nexec_env; i++) free(cfg->exec_env[i]);
  free(cfg->exec_env);
  for (size_t i = 0; i < cfg->nsecrets; i++) {
    /* Wipe secrets before giving the memory back. */
    memset(cfg->secrets[i], 0, strlen(cfg->secrets[i]));
    free(cfg->secrets[i]);
  }
  free(cfg->secrets);
  free(cfg);
}

const conn_target_cfg_t *conn_config_target(const parry_conn_config_t *cfg, const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < cfg->ntargets; i++)
    if (strcmp(cfg->targets[i].name, name) == 0) return &cfg->targets[i];
  return NULL;
}

const conn_action_cfg_t *conn_config_action(const parry_conn_config_t *cfg, const char *name) {
  for (size_t i = 0; i < cfg->nactions; i++)
    if (strcmp(cfg->actions[i].name, name) == 0) return &cfg->actions[i];
  return NULL;
}
