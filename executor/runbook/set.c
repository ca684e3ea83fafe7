/* The runbook set: ownership, lookup, matching alerts to runbooks, and the
 * small run-time helpers (levels, severity, backoff, group keys). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "runbook/rb_int.h"
#include "runbook/rb_set.h"

parry_runbook_set_t *rb_set_new(void) {
  parry_runbook_set_t *s = parry_xnew(parry_runbook_set_t, 1);
  return s;
}

void rb_set_keep_expr(parry_runbook_set_t *s, parry_expr_t *e) {
  s->exprs = parry_xreallocarray(s->exprs, s->n_exprs + 1, sizeof *s->exprs);
  s->exprs[s->n_exprs++] = e;
}

void rb_set_keep_template(parry_runbook_set_t *s, parry_template_t *t) {
  s->tmpls = parry_xreallocarray(s->tmpls, s->n_tmpls + 1, sizeof *s->tmpls);
  s->tmpls[s->n_tmpls++] = t;
}

void rb_set_add(parry_runbook_set_t *s, parry_runbook_t *rb) {
  s->runbooks = parry_xreallocarray(s->runbooks, s->n + 1, sizeof *s->runbooks);
  s->runbooks[s->n++] = rb;
}

void rb_set_note_name(parry_runbook_set_t *s, const parry_runbook_t *rb) {
  s->names = parry_xreallocarray(s->names, s->n_names + 1, sizeof *s->names);
  s->names[s->n_names++] = rb;
}

const parry_runbook_t *rb_set_find_any(const parry_runbook_set_t *s, const char *name) {
  for (size_t i = 0; i < s->n_names; i++)
    if (!strcmp(s->names[i]->name, name)) return s->names[i];
  return NULL;
}

static int rb_cmp(const void *x, const void *y) {
  const parry_runbook_t *a = *(parry_runbook_t *const *)x, *b = *(parry_runbook_t *const *)y;
  return strcmp(a->name, b->name);
}

void rb_set_finish(parry_runbook_set_t *s) {
  if (s->n) qsort(s->runbooks, s->n, sizeof *s->runbooks, rb_cmp);
  for (size_t i = 0; i < s->n; i++) s->runbooks[i]->index = i;
  free(s->names);
  s->names = NULL;
  s->n_names = 0;
}

void parry_runbook_set_destroy(parry_runbook_set_t *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_exprs; i++) parry_expr_destroy(s->exprs[i]);
  for (size_t i = 0; i < s->n_tmpls; i++) parry_template_destroy(s->tmpls[i]);
  free(s->exprs);
  free(s->tmpls);
  free(s->runbooks);
  free(s->names);
  parry_arena_free(&s->arena);
  free(s);
}

size_t parry_runbook_set_count(const parry_runbook_set_t *s) { return s ? s->n : 0; }

const parry_runbook_t *parry_runbook_set_get(const parry_runbook_set_t *s, size_t i) {
  return s && i < s->n ? s->runbooks[i] : NULL;
}

const parry_runbook_t *parry_runbook_find(const parry_runbook_set_t *s, const char *name) {
  size_t lo = 0, hi = s ? s->n : 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->runbooks[mid]->name, name);
    if (!c) return s->runbooks[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

const parry_step_t *parry_runbook_step(const parry_runbook_t *rb, const char *step_id) {
  for (size_t i = 0; i < rb->n_steps; i++)
    if (!strcmp(rb->steps[i].id, step_id)) return &rb->steps[i];
  return NULL;
}

const parry_with_t *parry_with_get(const parry_with_t *map, const char *key) {
  if (!map || map->kind != PARRY_WITH_MAP) return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (!strcmp(map->keys[i], key)) return &map->items[i];
  return NULL;
}

/* ---- levels and matching ---- */

static const char *const level_names[] = {"", "informational", "low", "medium", "high", "critical"};

parry_level_t parry_level_parse(const char *s) {
  for (int l = PARRY_LEVEL_INFORMATIONAL; s && l <= PARRY_LEVEL_CRITICAL; l++)
    if (!strcasecmp(s, level_names[l])) return (parry_level_t)l;
  return PARRY_LEVEL_NONE;
}

const char *parry_level_name(parry_level_t level) {
  return level <= PARRY_LEVEL_CRITICAL ? level_names[level] : "";
}

bool parry_runbook_matches(const parry_runbook_t *rb, const Parry__V1__Alert *alert) {
  if (rb->match.n_rules) {
    bool hit = false;
    for (size_t i = 0; i < rb->match.n_rules && !hit; i++)
      hit = alert->rule_id && !strcmp(rb->match.rules[i], alert->rule_id);
    if (!hit) return false;
  }
  if (rb->match.n_tags) {
    bool hit = false;
    for (size_t i = 0; i < rb->match.n_tags && !hit; i++)
      for (size_t t = 0; t < alert->n_rule_tags && !hit; t++)
        hit = alert->rule_tags[t] && !strcasecmp(rb->match.tags[i], alert->rule_tags[t]);
    if (!hit) return false;
  }
  if (rb->match.min_level && parry_level_parse(alert->rule_level) < rb->match.min_level)
    return false;
  return true;
}

size_t parry_runbooks_match(const parry_runbook_set_t *set, const Parry__V1__Alert *alert,
                            const parry_runbook_t **out, size_t max) {
  size_t k = 0;
  for (size_t i = 0; set && i < set->n; i++) {
    if (!parry_runbook_matches(set->runbooks[i], alert)) continue;
    if (k < max) out[k] = set->runbooks[i];
    k++;
  }
  return k;
}

const char *parry_runbook_severity(const parry_runbook_t *rb, const char *alert_level) {
  parry_level_t l = parry_level_parse(alert_level);
  if (rb->severity[l]) return rb->severity[l];
  return l ? level_names[l] : "medium";
}

int64_t parry_step_backoff_ns(const parry_step_t *step, uint32_t retry, double rand01) {
  const parry_retry_policy_t *r = &step->retries;
  if (retry == 0) return 0;
  int64_t d = r->initial_backoff_ns;
  for (uint32_t i = 1; i < retry && d < r->max_backoff_ns; i++)
    d = d > INT64_MAX / 2 ? INT64_MAX : d * 2;
  if (d > r->max_backoff_ns) d = r->max_backoff_ns;
  if (rand01 < 0) rand01 = 0;
  if (rand01 >= 1) rand01 = 1;
  return (int64_t)((double)d * (1.0 - r->jitter * rand01));
}

/* ---- context ---- */

struct json_object *parry_runbook_context_new(const parry_runbook_t *rb,
                                              const Parry__V1__Alert *alert,
                                              struct json_object *case_obj, char *errstr,
                                              size_t n) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  struct json_object *aj = NULL;
  if (parry_alert_to_json(alert, &b, errstr, n) != PARRY_OK ||
      parry_codec_parse_json(b.data, b.len, &aj, errstr, n) != PARRY_OK) {
    parry_buf_free(&b);
    json_object_put(case_obj);
    return NULL;
  }
  parry_buf_free(&b);
  struct json_object *ctx = json_object_new_object();
  json_object_object_add(ctx, "alert", aj);
  json_object_object_add(ctx, "case", case_obj ? case_obj : json_object_new_object());
  json_object_object_add(ctx, "steps", json_object_new_object());
  struct json_object *r = json_object_new_object();
  json_object_object_add(r, "name", json_object_new_string(rb ? rb->name : ""));
  json_object_object_add(ctx, "runbook", r);
  return ctx;
}

void parry_runbook_context_set_step(struct json_object *ctx, const char *step_id,
                                    const char *status, struct json_object *outputs) {
  struct json_object *steps = NULL;
  if (!json_object_object_get_ex(ctx, "steps", &steps) ||
      !json_object_is_type(steps, json_type_object)) {
    steps = json_object_new_object();
    json_object_object_add(ctx, "steps", steps);
  }
  struct json_object *s = json_object_new_object();
  json_object_object_add(s, "status", json_object_new_string(status ? status : ""));
  json_object_object_add(s, "outputs", outputs ? outputs : json_object_new_object());
  json_object_object_add(steps, step_id, s);
}

parry_err_t parry_runbook_group_key(const parry_runbook_t *rb, struct json_object *alert_json,
                                    parry_buf_t *out, char *errstr, size_t n) {
  struct json_object *arr = json_object_new_array();
  for (size_t i = 0; i < rb->group.n_fields; i++) {
    rb_path_t p;
    struct json_object *v = NULL;
    if (rb_path_from_text(rb->group.fields[i], &p, NULL)) {
      v = rb_path_resolve(&p, 0, alert_json);
      rb_path_free(&p);
    }
    json_object_array_add(arr, v ? json_object_get(v) : NULL);
  }
  const char *t =
      json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  parry_err_t err = parry_buf_append_str(out, t);
  json_object_put(arr);
  if (err) return parry_fail(errstr, n, err, "group key of runbook %s too large", rb->name);
  return PARRY_OK;
}

parry_err_t parry_step_when(const parry_step_t *step, struct json_object *ctx, bool *out,
                            char *errstr, size_t n) {
  if (!step->when) {
    *out = true;
    return PARRY_OK;
  }
  return parry_expr_eval(step->when, ctx, out, errstr, n);
}
