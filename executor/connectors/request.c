/* Helpers connectors share to build requests safely: headers refuse CR/LF,
 * configured templates substitute URL-escaped, bodies are serialized by
 * json-c; plus JSON paths for outputs and the masking of secrets. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/conn_internal.h"
#include "parry/mem.h"

struct json_object *conn_in(const conn_call_t *call, const char *name) {
  struct json_object *v = NULL;
  if (!call->inputs || !json_object_object_get_ex(call->inputs, name, &v)) return NULL;
  return v;
}

const char *conn_in_str(const conn_call_t *call, const char *name) {
  struct json_object *v = conn_in(call, name);
  if (!v) return NULL;
  if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
    return NULL;
  return json_object_get_string(v);
}

static bool header_name_ok(const char *name) {
  if (!*name) return false;
  for (const char *p = name; *p; p++)
    if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p))) return false;
  return true;
}

parry_err_t conn_req_header(conn_call_t *call, const char *name, const char *value, char *errstr,
                            size_t n) {
  if (!header_name_ok(name))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "invalid header name \"%s\"", name);
  if (strpbrk(value, "\r\n"))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "header %s: value contains CR or LF", name);
  parry_buf_t b = PARRY_BUF_INIT(0);
  /* "Name:" with nothing after it would tell curl to remove the header;
   * "Name;" is curl's way to send it empty. */
  if (*value) parry_buf_printf(&b, "%s: %s", name, value);
  else parry_buf_printf(&b, "%s;", name);
  call->req.headers = curl_slist_append(call->req.headers, b.data);
  parry_buf_free(&b);
  return PARRY_OK;
}

parry_err_t conn_req_begin(conn_call_t *call, const conn_target_cfg_t *tcfg, const char *method,
                           const char *url, char *errstr, size_t n) {
  call->tcfg = tcfg;
  free(call->req.method);
  free(call->req.url);
  call->req.method = parry_xstrdup(method ? method : "POST");
  call->req.url = parry_xstrdup(url);
  for (const char *p = call->req.method; *p; p++)
    if (!isupper((unsigned char)*p))
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "invalid HTTP method \"%s\"",
                        call->req.method);
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 &&
      strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "URL must be http(s) (got \"%.40s\")", url);
  if (strpbrk(url, "\r\n \t"))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "URL contains whitespace or CR/LF");
  if (!tcfg) return PARRY_OK;
  if (tcfg->headers) {
    json_object_object_foreach(tcfg->headers, k, v) {
      if (conn_req_header(call, k, v ? json_object_get_string(v) : "", errstr, n) != PARRY_OK)
        return PARRY_ERR_INVALID;
    }
  }
  const conn_auth_t *a = &tcfg->auth;
  if (a->type == CONN_AUTH_BEARER) {
    parry_buf_t b = PARRY_BUF_INIT(0);
    parry_buf_printf(&b, "Bearer %s", a->token);
    parry_err_t err = conn_req_header(call, "Authorization", b.data, errstr, n);
    parry_buf_free(&b);
    if (err != PARRY_OK) return err;
  } else if (a->type == CONN_AUTH_HEADER) {
    if (conn_req_header(call, a->header, a->token, errstr, n) != PARRY_OK)
      return PARRY_ERR_INVALID;
  }
  return PARRY_OK;
}

void conn_req_json_body(conn_call_t *call, struct json_object *body) {
  parry_buf_reset(&call->req.body);
  const char *s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE);
  parry_buf_append_str(&call->req.body, s);
  call->req.has_body = true;
  call->req.headers = curl_slist_append(call->req.headers, "Content-Type: application/json");
}

void conn_req_text_body(conn_call_t *call, const char *body, size_t len, const char *ctype) {
  parry_buf_reset(&call->req.body);
  parry_buf_append(&call->req.body, body, len);
  call->req.has_body = true;
  if (ctype) {
    parry_buf_t b = PARRY_BUF_INIT(0);
    parry_buf_printf(&b, "Content-Type: %s", ctype);
    call->req.headers = curl_slist_append(call->req.headers, b.data);
    parry_buf_free(&b);
  }
}

char *conn_join_url(const char *base, const char *path) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  size_t bl = strlen(base);
  while (bl && base[bl - 1] == '/') bl--;
  parry_buf_append(&b, base, bl);
  if (*path && *path != '/') parry_buf_append_char(&b, '/');
  parry_buf_append_str(&b, path);
  return parry_buf_steal(&b);
}

parry_err_t conn_req_begin_at(conn_call_t *call, const conn_target_cfg_t *t, const char *method,
                              const char *path, char *errstr, size_t n) {
  char *url = conn_join_url(t->base_url ? t->base_url : t->url, path);
  parry_err_t err = conn_req_begin(call, t, method, url, errstr, n);
  free(url);
  return err;
}

parry_err_t conn_req_begin_subst(conn_call_t *call, const conn_target_cfg_t *t,
                                 const char *method, const char *path_tmpl, char *errstr,
                                 size_t n) {
  parry_buf_t path = PARRY_BUF_INIT(0);
  if (conn_subst(call, path_tmpl, true, &path, errstr, n) != PARRY_OK) {
    parry_buf_free(&path);
    return PARRY_ERR_INVALID;
  }
  parry_err_t err = conn_req_begin_at(call, t, method, path.data ? path.data : "", errstr, n);
  parry_buf_free(&path);
  return err;
}

static void url_escape(parry_buf_t *out, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      parry_buf_append_char(out, (char)*p);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      parry_buf_append(out, e, 3);
    }
  }
}

/* Find "{{ name }}" at s; returns the length of the whole placeholder and
 * the name bounds, or 0. */
static size_t placeholder(const char *s, const char **name, size_t *nlen) {
  if (s[0] != '{' || s[1] != '{') return 0;
  const char *end = strstr(s + 2, "}}");
  if (!end) return 0;
  const char *a = s + 2, *b = end;
  while (a < b && *a == ' ') a++;
  while (b > a && b[-1] == ' ') b--;
  *name = a;
  *nlen = (size_t)(b - a);
  return (size_t)(end + 2 - s);
}

static struct json_object *input_n(const conn_call_t *call, const char *name, size_t len) {
  char key[128];
  if (len >= sizeof key) return NULL;
  memcpy(key, name, len);
  key[len] = 0;
  return conn_in(call, key);
}

parry_err_t conn_subst(const conn_call_t *call, const char *tmpl, bool url, parry_buf_t *out,
                       char *errstr, size_t n) {
  for (const char *p = tmpl; *p;) {
    const char *name;
    size_t nlen;
    size_t len = placeholder(p, &name, &nlen);
    if (!len) {
      parry_buf_append_char(out, *p++);
      continue;
    }
    struct json_object *v = input_n(call, name, nlen);
    if (!v)
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "template needs input \"%.*s\"", (int)nlen,
                        name);
    const char *s = json_object_get_string(v);
    if (url) url_escape(out, s);
    else parry_buf_append_str(out, s);
    p += len;
  }
  return PARRY_OK;
}

parry_err_t conn_subst_json(const conn_call_t *call, struct json_object *tmpl,
                            struct json_object **out, char *errstr, size_t n) {
  *out = NULL;
  if (!tmpl) return PARRY_OK;
  switch (json_object_get_type(tmpl)) {
  case json_type_object: {
    struct json_object *o = json_object_new_object();
    json_object_object_foreach(tmpl, k, v) {
      struct json_object *c = NULL;
      if (conn_subst_json(call, v, &c, errstr, n) != PARRY_OK) {
        json_object_put(o);
        return PARRY_ERR_INVALID;
      }
      json_object_object_add(o, k, c);
    }
    *out = o;
    return PARRY_OK;
  }
  case json_type_array: {
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(tmpl); i++) {
      struct json_object *c = NULL;
      if (conn_subst_json(call, json_object_array_get_idx(tmpl, i), &c, errstr, n) != PARRY_OK) {
        json_object_put(a);
        return PARRY_ERR_INVALID;
      }
      json_object_array_add(a, c);
    }
    *out = a;
    return PARRY_OK;
  }
  case json_type_string: {
    const char *s = json_object_get_string(tmpl);
    const char *name;
    size_t nlen;
    size_t len = placeholder(s, &name, &nlen);
    if (len && len == strlen(s)) { /* the whole leaf: keep the input's type */
      struct json_object *v = input_n(call, name, nlen);
      if (!v)
        return parry_fail(errstr, n, PARRY_ERR_INVALID, "body template needs input \"%.*s\"",
                          (int)nlen, name);
      *out = json_object_get(v);
      return PARRY_OK;
    }
    parry_buf_t b = PARRY_BUF_INIT(0);
    parry_err_t err = conn_subst(call, s, false, &b, errstr, n);
    if (err == PARRY_OK) *out = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
    parry_buf_free(&b);
    return err;
  }
  default:
    *out = json_object_get(tmpl);
    return PARRY_OK;
  }
}

struct json_object *conn_json_path(struct json_object *root, const char *path) {
  const char *p = path;
  if (*p == '$') p++;
  struct json_object *cur = root;
  while (*p && cur) {
    if (*p == '.') {
      p++;
      continue;
    }
    if (*p == '[') {
      char *end = NULL;
      long idx = strtol(p + 1, &end, 10);
      if (!end || *end != ']' || !json_object_is_type(cur, json_type_array) || idx < 0)
        return NULL;
      cur = json_object_array_get_idx(cur, (size_t)idx);
      p = end + 1;
      continue;
    }
    size_t len = strcspn(p, ".[");
    char key[256];
    if (len >= sizeof key) return NULL;
    memcpy(key, p, len);
    key[len] = 0;
    if (json_object_is_type(cur, json_type_array)) {
      char *end = NULL;
      long idx = strtol(key, &end, 10);
      if (*end || idx < 0) return NULL;
      cur = json_object_array_get_idx(cur, (size_t)idx);
    } else if (!json_object_object_get_ex(cur, key, &cur)) {
      return NULL;
    }
    p += len;
  }
  return cur;
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left) {
  unsigned char c = s[0];
  size_t n;
  unsigned min;
  unsigned cp;
  if (c < 0x80) return c ? 1 : 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  if (left < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

struct json_object *conn_text_value(const char *s, size_t len) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_reserve(&b, len);
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq(p + i, len - i);
    if (n) {
      parry_buf_append(&b, p + i, n);
      i += n;
    } else {
      parry_buf_append(&b, "\xEF\xBF\xBD", 3);
      i++;
    }
  }
  struct json_object *o = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
  parry_buf_free(&b);
  return o;
}

struct json_object *conn_response_json(const conn_call_t *call) {
  if (!call->resp.len) return NULL;
  struct json_tokener *tok = json_tokener_new_ex(64);
  /* Invalid UTF-8 makes it text (conn_text_value cleans that up). */
  json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
  struct json_object *o = json_tokener_parse_ex(tok, call->resp.data, (int)call->resp.len);
  if (json_tokener_get_error(tok) != json_tokener_success) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  return o;
}

/* outputs[name] = the value at path in doc, when there is one. */
static void extract_one(conn_call_t *call, struct json_object *doc, const char *name,
                        const char *path) {
  struct json_object *v = conn_json_path(doc, path);
  if (v) json_object_object_add(call->outputs, name, json_object_get(v));
}

void conn_extract_outputs(conn_call_t *call, struct json_object *extract) {
  if (!extract || !json_object_is_type(extract, json_type_object)) return;
  struct json_object *doc = conn_response_json(call);
  if (!doc) return;
  json_object_object_foreach(extract, name, pathv) {
    extract_one(call, doc, name, json_object_get_string(pathv));
  }
  json_object_put(doc);
}

void conn_extract_list(conn_call_t *call, const char *const *pairs) {
  struct json_object *doc = conn_response_json(call);
  if (!doc) return;
  for (; pairs[0]; pairs += 2) extract_one(call, doc, pairs[0], pairs[1]);
  json_object_put(doc);
}

static parry_err_t parse_range(const char *s, conn_range_t *r) {
  char *end = NULL;
  if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
      (s[2] == 'x' || s[2] == 'X')) {
    r->lo = (s[0] - '0') * 100;
    r->hi = r->lo + 99;
    return PARRY_OK;
  }
  long lo = strtol(s, &end, 10);
  long hi = lo;
  if (end == s) return PARRY_ERR_INVALID;
  if (*end == '-') {
    const char *h = end + 1;
    hi = strtol(h, &end, 10);
    if (end == h) return PARRY_ERR_INVALID;
  }
  if (*end || lo < 100 || hi > 599 || lo > hi) return PARRY_ERR_INVALID;
  r->lo = (int)lo;
  r->hi = (int)hi;
  return PARRY_OK;
}

parry_err_t conn_parse_expect(struct json_object *v, conn_range_t *out, size_t max, size_t *n,
                              char *errstr, size_t errstr_size) {
  *n = 0;
  if (!v) return PARRY_OK;
  size_t count = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
  for (size_t i = 0; i < count; i++) {
    struct json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
    if (*n >= max)
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "expect: at most %zu entries", max);
    if (!e || parse_range(json_object_get_string(e), &out[*n]) != PARRY_OK)
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "expect: \"%s\" is not a status, range (200-299) or class (2xx)",
                        e ? json_object_get_string(e) : "null");
    (*n)++;
  }
  return PARRY_OK;
}

char *conn_mask(const parry_conn_config_t *cfg, const char *s) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, s ? s : "");
  for (size_t i = 0; cfg && i < cfg->nsecrets; i++) {
    const char *sec = cfg->secrets[i];
    size_t sl = strlen(sec);
    char *hit;
    while (b.data && (hit = strstr(b.data, sec)) != NULL) {
      size_t off = (size_t)(hit - b.data);
      parry_buf_t nb = PARRY_BUF_INIT(0);
      parry_buf_append(&nb, b.data, off);
      parry_buf_append_str(&nb, "***");
      parry_buf_append_str(&nb, hit + sl);
      parry_buf_free(&b);
      b = nb;
    }
  }
  return parry_buf_steal(&b);
}

/* Member names hold secrets too (an answer keyed by the token it was
 * sent): rename those members to their masked names. Renaming while
 * iterating would break the iteration, so the names are collected first. */
static void mask_keys(const parry_conn_config_t *cfg, struct json_object *obj) {
  char **names = NULL;
  size_t n = 0;
  json_object_object_foreach(obj, k, v) {
    (void)v;
    char *m = conn_mask(cfg, k);
    bool same = strcmp(m, k) == 0;
    free(m);
    if (same) continue;
    names = parry_xreallocarray(names, n + 1, sizeof *names);
    names[n++] = parry_xstrdup(k);
  }
  for (size_t i = 0; i < n; i++) {
    struct json_object *val = json_object_get(json_object_object_get(obj, names[i]));
    json_object_object_del(obj, names[i]);
    char *m = conn_mask(cfg, names[i]);
    json_object_object_add(obj, m, val);
    free(m);
    free(names[i]);
  }
  free(names);
}

void conn_mask_json(const parry_conn_config_t *cfg, struct json_object *obj) {
  if (!cfg || !cfg->nsecrets || !obj) return;
  if (json_object_is_type(obj, json_type_object)) {
    mask_keys(cfg, obj);
    json_object_object_foreach(obj, k, v) {
      if (json_object_is_type(v, json_type_string)) {
        char *m = conn_mask(cfg, json_object_get_string(v));
        if (strcmp(m, json_object_get_string(v)) != 0)
          json_object_object_add(obj, k, json_object_new_string(m));
        free(m);
      } else {
        conn_mask_json(cfg, v);
      }
    }
  } else if (json_object_is_type(obj, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(obj); i++) {
      struct json_object *v = json_object_array_get_idx(obj, i);
      if (json_object_is_type(v, json_type_string)) {
        char *m = conn_mask(cfg, json_object_get_string(v));
        if (strcmp(m, json_object_get_string(v)) != 0)
          json_object_array_put_idx(obj, i, json_object_new_string(m));
        free(m);
      } else {
        conn_mask_json(cfg, v);
      }
    }
  }
}

const conn_target_cfg_t *conn_named_target(const conn_call_t *call, const char *default_name,
                                           char *errstr, size_t n) {
  const char *name = conn_in_str(call, "target");
  if (!name) name = default_name;
  const conn_target_cfg_t *t = conn_config_target(conn_call_config(call), name);
  if (!t)
    parry_fail(errstr, n, PARRY_ERR_NOT_FOUND,
               "no target \"%s\" in the connectors configuration (targets.%s)", name, name);
  return t;
}

void conn_copy_input(const conn_call_t *call, const char *name, struct json_object *obj,
                     const char *key) {
  struct json_object *v = conn_in(call, name);
  if (!v) return;
  struct json_object *copy = NULL;
  json_object_deep_copy(v, &copy, NULL);
  json_object_object_add(obj, key, copy);
}
