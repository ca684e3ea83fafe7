/* Cases (update, get, list, timeline) and entity history. Not hot paths:
 * plain parameterized statements, JSON built by the server. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

static const char *const statuses[] = {"open",     "acknowledged", "investigating",
                                       "resolved", "closed",       NULL};
static const char *const severities[] = {"informational", "low", "medium", "high",
                                         "critical", NULL};
static const char *const entity_kinds[] = {"ip", "user", "host"};

static bool in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0) return true;
  return false;
}

const char *parry_entity_kind_str(parry_entity_kind_t k) {
  return (unsigned)k < 3 ? entity_kinds[k] : "unknown";
}

bool parry_entity_kind_parse(const char *s, parry_entity_kind_t *out) {
  for (unsigned i = 0; i < 3; i++)
    if (s && strcmp(s, entity_kinds[i]) == 0) {
      *out = (parry_entity_kind_t)i;
      return true;
    }
  return false;
}

/* A JSON array of strings, text owned by the caller; NULL when n is 0. */
static char *string_array_json(const char *const *items, size_t n) {
  if (n == 0) return NULL;
  struct json_object *a = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    if (!items[i]) continue;
    char *clean = store_utf8_clean(items[i]);
    json_object_array_add(a, json_object_new_string(clean ? clean : items[i]));
    free(clean);
  }
  char *text = parry_xstrdup(store_json_text(a));
  json_object_put(a);
  return text;
}

static char *dup_clean(const char *s) {
  if (!s) return NULL;
  char *c = store_utf8_clean(s);
  return c ? c : parry_xstrdup(s);
}

parry_err_t parry_store_case_update(parry_store_t *s, int64_t case_id,
                                    const parry_case_update_t *u, bool *changed,
                                    char *errstr, size_t errstr_size) {
  if (changed) *changed = false;
  if (u->status && !in_list(u->status, statuses))
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "unknown case status \"%s\" (open, acknowledged, investigating, "
                      "resolved, closed)",
                      u->status);
  if (u->severity && !in_list(u->severity, severities))
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "unknown severity \"%s\" (informational, low, medium, high, critical)",
                      u->severity);
  char id[24], esc[8];
  snprintf(id, sizeof id, "%lld", (long long)case_id);
  snprintf(esc, sizeof esc, "%d", u->escalated < 0 ? -1 : u->escalated > 0);
  char *add = string_array_json(u->add_tags, u->n_add_tags);
  char *remove = string_array_json(u->remove_tags, u->n_remove_tags);
  char *assignee = dup_clean(u->assignee), *resolution = dup_clean(u->resolution);
  char *note = u->note ? parry_store_mask_text(u->note, (const char *const *)s->secrets,
                                               s->n_secrets)
                       : NULL;
  char *note_clean = dup_clean(note);
  char *actor = dup_clean(u->actor ? u->actor : "parry");
  const char *values[10] = {id,  u->status, u->severity, assignee, resolution, add,
                            remove, esc,    note_clean,  actor};
  PGresult *res = store_exec(
      s,
      "SELECT parry_case_update($1::bigint, $2::text, $3::text, $4::text, $5::text, "
      "$6::jsonb, $7::jsonb, $8::integer, $9::text, $10::text)",
      10, values, PGRES_TUPLES_OK, "update a case", errstr, errstr_size);
  parry_err_t err = PARRY_OK;
  if (!res) {
    err = PARRY_ERR_EXTERNAL;
  } else {
    const char *answer = PQgetvalue(res, 0, 0);
    if (strcmp(answer, "not_found") == 0)
      err = parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND, "no case %lld",
                       (long long)case_id);
    else if (changed)
      *changed = strcmp(answer, "changed") == 0;
    PQclear(res);
  }
  free(add);
  free(remove);
  free(assignee);
  free(resolution);
  free(note);
  free(note_clean);
  free(actor);
  return err;
}

/* One text value of JSON from the server, parsed. */
static parry_err_t json_query(parry_store_t *s, const char *sql, int n,
                              const char *const *values, const char *doing,
                              struct json_object **out, char *errstr, size_t errstr_size) {
  *out = NULL;
  PGresult *res = store_exec(s, sql, n, values, PGRES_TUPLES_OK, doing, errstr, errstr_size);
  if (!res) return PARRY_ERR_EXTERNAL;
  parry_err_t err = PARRY_OK;
  if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
    err = PARRY_ERR_NOT_FOUND;
  } else {
    *out = store_json_parse(PQgetvalue(res, 0, 0));
    if (!*out)
      err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                       "could not %s: the server sent JSON json-c cannot read", doing);
  }
  PQclear(res);
  return err;
}

parry_err_t parry_store_case_get(parry_store_t *s, int64_t case_id, struct json_object **out,
                                 char *errstr, size_t errstr_size) {
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)case_id);
  const char *values[1] = {id};
  parry_err_t err =
      json_query(s, "SELECT parry_case_json(c)::text FROM cases c WHERE c.id = $1::bigint", 1,
                 values, "read a case", out, errstr, errstr_size);
  if (err == PARRY_ERR_NOT_FOUND)
    return parry_fail(errstr, errstr_size, err, "no case %lld", (long long)case_id);
  return err;
}

parry_err_t parry_store_case_list(parry_store_t *s, const parry_case_filter_t *f,
                                  struct json_object **out, char *errstr, size_t errstr_size) {
  static const parry_case_filter_t none = {0};
  if (!f) f = &none;
  char since[24], limit[24];
  snprintf(since, sizeof since, "%lld", (long long)(f->since_ns / 1000));
  snprintf(limit, sizeof limit, "%zu", f->limit ? f->limit : 100);
  const char *values[5] = {f->status, f->runbook, f->severity, f->since_ns ? since : NULL,
                           limit};
  return json_query(
      s,
      "SELECT coalesce(jsonb_agg(x.j ORDER BY x.ls DESC, x.id DESC), '[]')::text FROM ("
      "  SELECT parry_case_json(c) AS j, c.last_seen AS ls, c.id FROM cases c"
      "  WHERE ($1::text IS NULL OR c.status = $1::text)"
      "    AND ($2::text IS NULL OR c.runbook = $2::text)"
      "    AND ($3::text IS NULL OR c.severity = $3::text)"
      "    AND ($4::bigint IS NULL OR c.last_seen >= parry_from_us($4::bigint))"
      "  ORDER BY c.last_seen DESC, c.id DESC LIMIT $5::bigint) x",
      5, values, "list cases", out, errstr, errstr_size);
}

parry_err_t parry_store_case_timeline(parry_store_t *s, int64_t case_id, size_t limit,
                                      struct json_object **out, char *errstr,
                                      size_t errstr_size) {
  char id[24], lim[24];
  snprintf(id, sizeof id, "%lld", (long long)case_id);
  snprintf(lim, sizeof lim, "%zu", limit);
  const char *values[2] = {id, limit ? lim : NULL};
  return json_query(
      s,
      "SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'at', parry_ts(t.at), "
      "'kind', t.kind, 'run_id', t.run_id, 'step_id', t.step_id, 'attempt', t.attempt, "
      "'alert_id', t.alert_id, 'actor', t.actor, 'data', t.data) ORDER BY t.id), "
      "'[]')::text FROM (SELECT * FROM case_timeline WHERE case_id = $1::bigint "
      "ORDER BY id LIMIT $2::bigint) t",
      2, values, "read a case timeline", out, errstr, errstr_size);
}

parry_err_t parry_store_entity_history(parry_store_t *s, parry_entity_kind_t kind,
                                       const char *value, int64_t exclude_case_id,
                                       parry_entity_history_t *out, char *errstr,
                                       size_t errstr_size) {
  memset(out, 0, sizeof *out);
  if ((unsigned)kind > PARRY_ENTITY_HOST || !value)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "bad entity lookup");
  char exclude[24];
  snprintf(exclude, sizeof exclude, "%lld", (long long)exclude_case_id);
  char *clean = store_utf8_clean(value);
  const char *values[3] = {parry_entity_kind_str(kind), clean ? clean : value, exclude};
  PGresult *res = store_exec(
      s,
      "WITH e AS (SELECT ae.alert_id, ae.at FROM alert_entities ae"
      "  WHERE ae.kind = $1::text AND ae.value = $2::text AND NOT EXISTS ("
      "    SELECT 1 FROM case_alerts x WHERE x.alert_id = ae.alert_id"
      "    AND x.case_id = $3::bigint)),"
      " cs AS (SELECT DISTINCT ca.case_id FROM e JOIN case_alerts ca"
      "  ON ca.alert_id = e.alert_id),"
      " last AS (SELECT c.id, c.status, c.resolution, (SELECT r.state FROM runs r"
      "  WHERE r.case_id = c.id ORDER BY r.id DESC LIMIT 1) AS run_state"
      "  FROM cases c JOIN cs ON cs.case_id = c.id"
      "  ORDER BY c.last_seen DESC, c.id DESC LIMIT 1)"
      " SELECT parry_us(min(e.at)), parry_us(max(e.at)), count(*),"
      "  (SELECT count(*) FROM cs), (SELECT id FROM last), (SELECT status FROM last),"
      "  (SELECT resolution FROM last), (SELECT run_state FROM last) FROM e",
      3, values, PGRES_TUPLES_OK, "read entity history", errstr, errstr_size);
  free(clean);
  if (!res) return PARRY_ERR_EXTERNAL;
  out->first_seen_ns = store_get_i64(res, 0, 0) * 1000;
  out->last_seen_ns = store_get_i64(res, 0, 1) * 1000;
  out->alert_count = store_get_i64(res, 0, 2);
  out->case_count = store_get_i64(res, 0, 3);
  out->last_case_id = store_get_i64(res, 0, 4);
  snprintf(out->last_case_status, sizeof out->last_case_status, "%s", PQgetvalue(res, 0, 5));
  snprintf(out->last_case_resolution, sizeof out->last_case_resolution, "%s",
           PQgetvalue(res, 0, 6));
  snprintf(out->last_run_state, sizeof out->last_run_state, "%s", PQgetvalue(res, 0, 7));
  PQclear(res);
  return PARRY_OK;
}
