/* Signal and Alert <-> canonical JSON.
 *
 * Unlike events these have no `fields`: every key is typed, so an unknown key
 * is a mistake (a typo, or a newer producer that forgot to bump the version)
 * and is rejected rather than dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "parry/mem.h"

typedef struct {
  char *errstr;
  size_t errstr_size;
} ctx_t;

static parry_err_t expected(ctx_t *c, const codec_path_t *p, const char *what, json_object *o) {
  char got[64];
  codec_describe(o, got, sizeof got);
  return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, p, "expected %s, got %s", what,
                    got);
}

static parry_err_t unknown_key(ctx_t *c, const codec_path_t *p, const char *key,
                               const char *what) {
  char shown[80];
  codec_path_t k = CODEC_KEY(NULL, key);
  codec_path_render(&k, shown, sizeof shown); /* sanitized */
  if (p)
    return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, p, "unknown key \"%s\"",
                      shown);
  return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, NULL,
                    "unknown key \"%s\" in %s", shown, what);
}

static parry_err_t read_string(ctx_t *c, json_object *o, const codec_path_t *p, char **out) {
  const char *s;
  size_t len;
  if (json_object_get_type(o) != json_type_string) return expected(c, p, "a string", o);
  parry_err_t err = codec_json_string(o, p, &s, &len, c->errstr, c->errstr_size);
  if (err) return err;
  *out = parry_xstrndup(s, len);
  return PARRY_OK;
}

static parry_err_t read_strings(ctx_t *c, json_object *o, const codec_path_t *p, char ***out,
                                size_t *n_out) {
  if (json_object_get_type(o) != json_type_array)
    return expected(c, p, "an array of strings", o);
  size_t n = json_object_array_length(o);
  char **arr = parry_xnew(char *, n ? n : 1);
  *out = arr;
  *n_out = 0;
  for (size_t i = 0; i < n; i++) {
    codec_path_t here = CODEC_INDEX(p, i);
    parry_err_t err = read_string(c, json_object_array_get_idx(o, i), &here, &arr[i]);
    if (err) return err;
    (*n_out)++;
  }
  return PARRY_OK;
}

/* An object of known string members: "rule", "correlation". */
typedef struct {
  const char *key;
  char **str;
  char ***strs; /* with n: an array of strings */
  size_t *n;
} string_member_t;

static parry_err_t read_members(ctx_t *c, json_object *o, const codec_path_t *p,
                                const string_member_t *members, size_t n_members) {
  if (json_object_get_type(o) != json_type_object) return expected(c, p, "an object", o);
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
    const char *key = json_object_iter_peek_name(&it);
    json_object *val = json_object_iter_peek_value(&it);
    codec_path_t here = CODEC_KEY(p, key);
    const string_member_t *m = NULL;
    for (size_t i = 0; i < n_members && !m; i++)
      if (strcmp(members[i].key, key) == 0) m = &members[i];
    if (!m) return unknown_key(c, p, key, NULL);
    parry_err_t err = m->str ? read_string(c, val, &here, m->str)
                             : read_strings(c, val, &here, m->strs, m->n);
    if (err) return err;
  }
  return PARRY_OK;
}

static parry_err_t read_group_by(ctx_t *c, json_object *o, const codec_path_t *p,
                                 Parry__V1__Label ***out, size_t *n_out) {
  if (json_object_get_type(o) != json_type_object)
    return expected(c, p, "an object of strings", o);
  size_t n = (size_t)json_object_object_length(o);
  Parry__V1__Label **labels = parry_xnew(Parry__V1__Label *, n ? n : 1);
  *out = labels;
  *n_out = 0;
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
    const char *key = json_object_iter_peek_name(&it);
    codec_path_t here = CODEC_KEY(p, key);
    if (!codec_utf8_valid(key, strlen(key)))
      return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, &here,
                        "invalid UTF-8 in key");
    Parry__V1__Label *l = parry_xmalloc(sizeof *l);
    parry__v1__label__init(l);
    labels[(*n_out)++] = l;
    l->key = parry_xstrdup(key);
    parry_err_t err = read_string(c, json_object_iter_peek_value(&it), &here, &l->value);
    if (err) return err;
  }
  return PARRY_OK;
}

static parry_err_t read_u64(ctx_t *c, json_object *o, const codec_path_t *p, uint64_t *out) {
  if (codec_json_uint64(o, out)) return PARRY_OK;
  return expected(c, p, "an integer 0..18446744073709551615", o);
}

static parry_err_t check_object(ctx_t *c, json_object *o, const char *what) {
  if (json_object_get_type(o) == json_type_object) return PARRY_OK;
  char got[64];
  codec_describe(o, got, sizeof got);
  return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, NULL,
                    "expected %s as a JSON object, got %s", what, got);
}

static parry_err_t missing(ctx_t *c, const codec_path_t *p, const char *key) {
  return codec_fail(c->errstr, c->errstr_size, PARRY_ERR_INVALID, p,
                    "missing required key \"%s\"", key);
}

/* ---- Signal ---- */

parry_err_t parry_signal_from_json_object(json_object *o, Parry__V1__Signal **out, char *errstr,
                                          size_t errstr_size) {
  ctx_t c = {errstr, errstr_size};
  parry_err_t err = check_object(&c, o, "a signal");
  if (err) return err;
  Parry__V1__Signal *sig = parry_xmalloc(sizeof *sig);
  parry__v1__signal__init(sig);
  bool have_time = false;
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !err && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
    const char *key = json_object_iter_peek_name(&it);
    json_object *val = json_object_iter_peek_value(&it);
    codec_path_t here = CODEC_KEY(NULL, key);
    if (strcmp(key, "schema_version") == 0) {
      err = codec_schema_version(val, &here, &sig->schema_version, errstr, errstr_size);
    } else if (strcmp(key, "@timestamp") == 0) {
      err = codec_time_parse(val, &here, &sig->timestamp_ns, errstr, errstr_size);
      have_time = true;
    } else if (strcmp(key, "correlation") == 0) {
      const string_member_t m[] = {{"id", &sig->correlation_id, NULL, NULL}};
      err = read_members(&c, val, &here, m, 1);
    } else if (strcmp(key, "rule") == 0) {
      const string_member_t m[] = {{"id", &sig->rule_id, NULL, NULL},
                                   {"title", &sig->rule_title, NULL, NULL}};
      err = read_members(&c, val, &here, m, 2);
    } else if (strcmp(key, "group_by") == 0) {
      err = read_group_by(&c, val, &here, &sig->group_by, &sig->n_group_by);
    } else if (strcmp(key, "value") == 0) {
      err = codec_value_from_json(val, &here, 1, &sig->value, errstr, errstr_size);
    } else if (strcmp(key, "event") == 0) {
      err = codec_event_from_json(val, &here, 1, true, &sig->event, errstr, errstr_size);
    } else {
      err = unknown_key(&c, NULL, key, "a signal");
    }
  }
  if (!err && !have_time) err = missing(&c, NULL, "@timestamp");
  if (!err && !sig->schema_version) sig->schema_version = PARRY_SCHEMA_VERSION;
  if (err) {
    parry__v1__signal__free_unpacked(sig, NULL);
    return err;
  }
  *out = sig;
  return PARRY_OK;
}

parry_err_t parry_signal_from_json(const char *json, size_t len, Parry__V1__Signal **out,
                                   char *errstr, size_t errstr_size) {
  json_object *obj = NULL;
  parry_err_t err = parry_codec_parse_json(json, len, &obj, errstr, errstr_size);
  if (err) return err;
  err = parry_signal_from_json_object(obj, out, errstr, errstr_size);
  json_object_put(obj);
  return err;
}

static bool nonempty(const char *s) { return s && *s; }

/* "key":"value" when value is not empty. */
static void w_opt_string(codec_writer_t *w, bool *first, const char *key, const char *value,
                         const codec_path_t *p) {
  if (!nonempty(value)) return;
  codec_path_t here = CODEC_KEY(p, key);
  codec_w_key(w, first, key, &here);
  codec_w_string(w, value, &here);
}

static void w_group_by(codec_writer_t *w, bool *first, Parry__V1__Label *const *labels,
                       size_t n) {
  codec_path_t p = CODEC_KEY(NULL, "group_by");
  if (n == 0) return;
  for (size_t i = 1; i < n; i++)
    for (size_t j = 0; j < i; j++) {
      const char *a = labels[i]->key ? labels[i]->key : "";
      const char *b = labels[j]->key ? labels[j]->key : "";
      if (strcmp(a, b) == 0) {
        codec_path_t here = CODEC_KEY(&p, a);
        codec_w_fail(w, PARRY_ERR_INVALID, &here, "duplicate key");
        return;
      }
    }
  bool inner = true;
  codec_w_key(w, first, "group_by", &p);
  codec_w_lit(w, "{");
  for (size_t i = 0; i < n; i++) {
    codec_path_t here = CODEC_KEY(&p, labels[i]->key ? labels[i]->key : "");
    codec_w_key(w, &inner, labels[i]->key, &here);
    codec_w_string(w, labels[i]->value, &here);
  }
  codec_w_lit(w, "}");
}

parry_err_t parry_signal_to_json(const Parry__V1__Signal *sig, parry_buf_t *out, char *errstr,
                                 size_t errstr_size) {
  codec_writer_t w;
  bool first = true;
  codec_path_t ts = CODEC_KEY(NULL, "@timestamp");
  codec_writer_init(&w, out, errstr, errstr_size);
  codec_w_lit(&w, "{");
  codec_w_key(&w, &first, "schema_version", NULL);
  codec_w_uint(&w, sig->schema_version ? sig->schema_version : PARRY_SCHEMA_VERSION);
  codec_w_key(&w, &first, "@timestamp", &ts);
  codec_w_time(&w, sig->timestamp_ns, &ts);
  if (nonempty(sig->correlation_id)) {
    bool inner = true;
    codec_path_t p = CODEC_KEY(NULL, "correlation");
    codec_w_key(&w, &first, "correlation", &p);
    codec_w_lit(&w, "{");
    w_opt_string(&w, &inner, "id", sig->correlation_id, &p);
    codec_w_lit(&w, "}");
  }
  if (nonempty(sig->rule_id) || nonempty(sig->rule_title)) {
    bool inner = true;
    codec_path_t p = CODEC_KEY(NULL, "rule");
    codec_w_key(&w, &first, "rule", &p);
    codec_w_lit(&w, "{");
    w_opt_string(&w, &inner, "id", sig->rule_id, &p);
    w_opt_string(&w, &inner, "title", sig->rule_title, &p);
    codec_w_lit(&w, "}");
  }
  w_group_by(&w, &first, sig->group_by, sig->n_group_by);
  if (sig->value) {
    codec_path_t p = CODEC_KEY(NULL, "value");
    codec_w_key(&w, &first, "value", &p);
    codec_w_value(&w, sig->value, &p, 1);
  }
  if (sig->event) {
    codec_path_t p = CODEC_KEY(NULL, "event");
    codec_w_key(&w, &first, "event", &p);
    codec_w_event(&w, sig->event, &p, 1, true);
  }
  codec_w_lit(&w, "}");
  return codec_writer_finish(&w);
}

/* ---- Alert ---- */

static parry_err_t read_window(ctx_t *c, json_object *o, const codec_path_t *p,
                               Parry__V1__Alert *a) {
  if (json_object_get_type(o) != json_type_object) return expected(c, p, "an object", o);
  bool have_start = false, have_end = false;
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
    const char *key = json_object_iter_peek_name(&it);
    codec_path_t here = CODEC_KEY(p, key);
    parry_err_t err;
    if (strcmp(key, "start") == 0) {
      err = codec_time_parse(json_object_iter_peek_value(&it), &here, &a->window_start_ns,
                             c->errstr, c->errstr_size);
      have_start = true;
    } else if (strcmp(key, "end") == 0) {
      err = codec_time_parse(json_object_iter_peek_value(&it), &here, &a->window_end_ns,
                             c->errstr, c->errstr_size);
      have_end = true;
    } else {
      err = unknown_key(c, p, key, NULL);
    }
    if (err) return err;
  }
  if (!have_start) return missing(c, p, "start");
  if (!have_end) return missing(c, p, "end");
  a->has_window = 1;
  return PARRY_OK;
}

static parry_err_t read_events(ctx_t *c, json_object *o, const codec_path_t *p,
                               Parry__V1__Alert *a) {
  if (json_object_get_type(o) != json_type_array)
    return expected(c, p, "an array of events", o);
  size_t n = json_object_array_length(o);
  a->events = parry_xnew(Parry__V1__Event *, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    codec_path_t here = CODEC_INDEX(p, i);
    parry_err_t err = codec_event_from_json(json_object_array_get_idx(o, i), &here, 2, true,
                                            &a->events[i], c->errstr, c->errstr_size);
    if (err) return err;
    a->n_events++;
  }
  return PARRY_OK;
}

parry_err_t parry_alert_from_json_object(json_object *o, Parry__V1__Alert **out, char *errstr,
                                         size_t errstr_size) {
  ctx_t c = {errstr, errstr_size};
  parry_err_t err = check_object(&c, o, "an alert");
  if (err) return err;
  Parry__V1__Alert *a = parry_xmalloc(sizeof *a);
  parry__v1__alert__init(a);
  bool have_time = false;
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !err && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
    const char *key = json_object_iter_peek_name(&it);
    json_object *val = json_object_iter_peek_value(&it);
    codec_path_t here = CODEC_KEY(NULL, key);
    if (strcmp(key, "schema_version") == 0) {
      err = codec_schema_version(val, &here, &a->schema_version, errstr, errstr_size);
    } else if (strcmp(key, "id") == 0) {
      err = read_string(&c, val, &here, &a->id);
    } else if (strcmp(key, "@timestamp") == 0) {
      err = codec_time_parse(val, &here, &a->timestamp_ns, errstr, errstr_size);
      have_time = true;
    } else if (strcmp(key, "rule") == 0) {
      const string_member_t m[] = {
          {"id", &a->rule_id, NULL, NULL},
          {"title", &a->rule_title, NULL, NULL},
          {"level", &a->rule_level, NULL, NULL},
          {"tags", NULL, &a->rule_tags, &a->n_rule_tags},
          {"description", &a->rule_description, NULL, NULL},
      };
      err = read_members(&c, val, &here, m, sizeof m / sizeof m[0]);
    } else if (strcmp(key, "group_by") == 0) {
      err = read_group_by(&c, val, &here, &a->group_by, &a->n_group_by);
    } else if (strcmp(key, "count") == 0) {
      err = read_u64(&c, val, &here, &a->count);
    } else if (strcmp(key, "suppressed") == 0) {
      err = read_u64(&c, val, &here, &a->suppressed);
    } else if (strcmp(key, "window") == 0) {
      err = read_window(&c, val, &here, a);
    } else if (strcmp(key, "events") == 0) {
      err = read_events(&c, val, &here, a);
    } else {
      err = unknown_key(&c, NULL, key, "an alert");
    }
  }
  if (!err && !have_time) err = missing(&c, NULL, "@timestamp");
  if (!err && !a->schema_version) a->schema_version = PARRY_SCHEMA_VERSION;
  if (err) {
    parry__v1__alert__free_unpacked(a, NULL);
    return err;
  }
  *out = a;
  return PARRY_OK;
}

parry_err_t parry_alert_from_json(const char *json, size_t len, Parry__V1__Alert **out,
                                  char *errstr, size_t errstr_size) {
  json_object *obj = NULL;
  parry_err_t err = parry_codec_parse_json(json, len, &obj, errstr, errstr_size);
  if (err) return err;
  err = parry_alert_from_json_object(obj, out, errstr, errstr_size);
  json_object_put(obj);
  return err;
}

parry_err_t parry_alert_to_json(const Parry__V1__Alert *a, parry_buf_t *out, char *errstr,
                                size_t errstr_size) {
  codec_writer_t w;
  bool first = true;
  codec_path_t ts = CODEC_KEY(NULL, "@timestamp");
  codec_writer_init(&w, out, errstr, errstr_size);
  codec_w_lit(&w, "{");
  codec_w_key(&w, &first, "schema_version", NULL);
  codec_w_uint(&w, a->schema_version ? a->schema_version : PARRY_SCHEMA_VERSION);
  w_opt_string(&w, &first, "id", a->id, NULL);
  codec_w_key(&w, &first, "@timestamp", &ts);
  codec_w_time(&w, a->timestamp_ns, &ts);
  if (nonempty(a->rule_id) || nonempty(a->rule_title) || nonempty(a->rule_level) ||
      a->n_rule_tags || nonempty(a->rule_description)) {
    bool inner = true;
    codec_path_t p = CODEC_KEY(NULL, "rule");
    codec_w_key(&w, &first, "rule", &p);
    codec_w_lit(&w, "{");
    w_opt_string(&w, &inner, "id", a->rule_id, &p);
    w_opt_string(&w, &inner, "title", a->rule_title, &p);
    w_opt_string(&w, &inner, "level", a->rule_level, &p);
    if (a->n_rule_tags) {
      codec_path_t tp = CODEC_KEY(&p, "tags");
      codec_w_key(&w, &inner, "tags", &tp);
      codec_w_lit(&w, "[");
      for (size_t i = 0; i < a->n_rule_tags; i++) {
        codec_path_t here = CODEC_INDEX(&tp, i);
        if (i) codec_w_lit(&w, ",");
        codec_w_string(&w, a->rule_tags[i], &here);
      }
      codec_w_lit(&w, "]");
    }
    w_opt_string(&w, &inner, "description", a->rule_description, &p);
    codec_w_lit(&w, "}");
  }
  w_group_by(&w, &first, a->group_by, a->n_group_by);
  if (a->count) {
    codec_w_key(&w, &first, "count", NULL);
    codec_w_uint(&w, a->count);
  }
  if (a->suppressed) {
    codec_w_key(&w, &first, "suppressed", NULL);
    codec_w_uint(&w, a->suppressed);
  }
  if (a->has_window) {
    bool inner = true;
    codec_path_t p = CODEC_KEY(NULL, "window");
    codec_path_t ps = CODEC_KEY(&p, "start"), pe = CODEC_KEY(&p, "end");
    codec_w_key(&w, &first, "window", &p);
    codec_w_lit(&w, "{");
    codec_w_key(&w, &inner, "start", &ps);
    codec_w_time(&w, a->window_start_ns, &ps);
    codec_w_key(&w, &inner, "end", &pe);
    codec_w_time(&w, a->window_end_ns, &pe);
    codec_w_lit(&w, "}");
  }
  if (a->n_events) {
    codec_path_t p = CODEC_KEY(NULL, "events");
    codec_w_key(&w, &first, "events", &p);
    codec_w_lit(&w, "[");
    for (size_t i = 0; i < a->n_events && !w.err; i++) {
      codec_path_t here = CODEC_INDEX(&p, i);
      if (i) codec_w_lit(&w, ",");
      codec_w_event(&w, a->events[i], &here, 2, true);
    }
    codec_w_lit(&w, "]");
  }
  codec_w_lit(&w, "}");
  return codec_writer_finish(&w);
}
