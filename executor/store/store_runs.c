/* Runs and step runs: claim with a lease, renew, release, finish, load the
 * recorded state, and step transitions (fenced by the lease). */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/buf.h"
#include "parry/mem.h"

#define STORE_TX_ATTEMPTS 5

static const char *const step_state_names[] = {"none",     "running", "succeeded",
                                               "failed",   "retrying", "skipped"};
static const char *const run_state_names[] = {"pending", "running", "waiting", "succeeded",
                                              "failed"};

const char *parry_step_state_str(parry_step_state_t st) {
  return (unsigned)st < sizeof step_state_names / sizeof *step_state_names
             ? step_state_names[st]
             : "unknown";
}

const char *parry_run_state_str(parry_run_state_t st) {
  return (unsigned)st < sizeof run_state_names / sizeof *run_state_names
             ? run_state_names[st]
             : "unknown";
}

static parry_step_state_t step_state_parse(const char *s) {
  for (size_t i = 1; i < sizeof step_state_names / sizeof *step_state_names; i++)
    if (strcmp(s, step_state_names[i]) == 0) return (parry_step_state_t)i;
  return PARRY_STEP_NONE;
}

static parry_run_state_t run_state_parse(const char *s) {
  for (size_t i = 0; i < sizeof run_state_names / sizeof *run_state_names; i++)
    if (strcmp(s, run_state_names[i]) == 0) return (parry_run_state_t)i;
  return PARRY_RUN_PENDING;
}

/* ------------------------------------------------------------------------ */
/* Freeing and lookup */

static void step_record_clear(parry_step_record_t *r) {
  free(r->step_id);
  free(r->idempotency_key);
  json_object_put(r->inputs);
  json_object_put(r->outputs);
  free(r->error);
  memset(r, 0, sizeof *r);
}

void parry_run_free(parry_run_t *run) {
  if (!run) return;
  free(run->runbook);
  free(run->runbook_version);
  free(run->alert_id);
  json_object_put(run->alert);
  json_object_put(run->case_obj);
  for (size_t i = 0; i < run->n_steps; i++) step_record_clear(&run->steps[i]);
  free(run->steps);
  free(run);
}

void parry_runs_free(parry_run_t **runs, size_t n) {
  if (!runs) return;
  for (size_t i = 0; i < n; i++) parry_run_free(runs[i]);
  free(runs);
}

const parry_step_record_t *parry_run_step(const parry_run_t *run, const char *step_id) {
  for (size_t i = 0; i < run->n_steps; i++)
    if (strcmp(run->steps[i].step_id, step_id) == 0) return &run->steps[i];
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Loading */

/* "{1,2,3}": a bigint[] literal (digits only, nothing to escape). */
static char *id_array(const int64_t *ids, size_t n) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append(&b, "{", 1);
  for (size_t i = 0; i < n; i++) {
    char num[24];
    int len = snprintf(num, sizeof num, "%s%lld", i ? "," : "", (long long)ids[i]);
    parry_buf_append(&b, num, (size_t)len);
  }
  parry_buf_append(&b, "}", 1);
  return parry_buf_steal(&b);
}

static void fill_step(parry_step_record_t *r, const PGresult *res, int row) {
  step_record_clear(r);
  r->step_id = store_get_str(res, row, 1);
  r->attempt = (int)store_get_i64(res, row, 2);
  r->state = step_state_parse(PQgetvalue(res, row, 3));
  r->idempotency_key = store_get_str(res, row, 4);
  r->inputs = store_json_parse(PQgetisnull(res, row, 5) ? NULL : PQgetvalue(res, row, 5));
  if (r->state == PARRY_STEP_SUCCEEDED)
    r->outputs = store_json_parse(PQgetisnull(res, row, 6) ? NULL : PQgetvalue(res, row, 6));
  r->error = store_get_str(res, row, 7);
  r->next_attempt_ns = store_get_i64(res, row, 8) * 1000;
  r->started_ns = store_get_i64(res, row, 9) * 1000;
  r->finished_ns = store_get_i64(res, row, 10) * 1000;
}

/* Load runs by id (two statements, one round trip); *out in the order of
 * ids, those that no longer exist left out. */
static parry_err_t load_runs(parry_store_t *s, const int64_t *ids, size_t n,
                             parry_run_t ***out, size_t *n_out, char *errstr,
                             size_t errstr_size) {
  *out = NULL;
  *n_out = 0;
  if (n == 0) return PARRY_OK;
  char *array = id_array(ids, n);
  const char *values[1] = {array};
  PGresult *runs_res = NULL, *steps_res = NULL;
  parry_err_t err = store_pipeline_begin(s, errstr, errstr_size);
  if (err) goto out;
  bool sent = PQsendQueryPrepared(s->conn, "load_runs", 1, values, NULL, NULL, 0) &&
              PQsendQueryPrepared(s->conn, "load_steps", 1, values, NULL, NULL, 0) &&
              PQpipelineSync(s->conn);
  if (!sent) {
    s->last_kind = PARRY_PG_CONNECTION;
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not load runs: %s",
                     PQerrorMessage(s->conn));
    store_pipeline_end(s);
    goto out;
  }
  err = store_pipeline_flush(s, errstr, errstr_size);
  if (!err) {
    runs_res = store_pipeline_result(s);
    steps_res = runs_res ? store_pipeline_result(s) : NULL;
    if (PQresultStatus(runs_res) != PGRES_TUPLES_OK)
      err = store_fail_res(s, runs_res, "load runs", errstr, errstr_size);
    else if (PQresultStatus(steps_res) != PGRES_TUPLES_OK)
      err = store_fail_res(s, steps_res, "load step runs", errstr, errstr_size);
    store_pipeline_drain_sync(s);
  }
  store_pipeline_end(s);
  if (err) goto out;
  store_ok(s);

  int rows = PQntuples(runs_res);
  parry_run_t **runs = parry_xnew(parry_run_t *, rows > 0 ? (size_t)rows : 1);
  for (int i = 0; i < rows; i++) {
    parry_run_t *r = parry_xnew(parry_run_t, 1);
    r->id = store_get_i64(runs_res, i, 0);
    r->case_id = store_get_i64(runs_res, i, 1);
    r->runbook = store_get_str(runs_res, i, 2);
    r->runbook_version = store_get_str(runs_res, i, 3);
    r->alert_id = store_get_str(runs_res, i, 4);
    r->state = run_state_parse(PQgetvalue(runs_res, i, 5));
    r->claims = (int)store_get_i64(runs_res, i, 6);
    r->lease_until_ns = store_get_i64(runs_res, i, 7) * 1000;
    r->alert = store_json_parse(PQgetvalue(runs_res, i, 8));
    r->case_obj = store_json_parse(PQgetvalue(runs_res, i, 9));
    runs[i] = r;
  }
  /* Steps come ordered by run, first start: one record per step id, the
   * latest attempt winning. */
  int step_rows = PQntuples(steps_res);
  for (int j = 0, i = 0; j < step_rows; j++) {
    int64_t run_id = store_get_i64(steps_res, j, 0);
    if (i >= rows || runs[i]->id != run_id) {
      for (i = 0; i < rows && runs[i]->id != run_id; i++) {}
      if (i >= rows) continue;
    }
    parry_run_t *r = runs[i];
    const char *step_id = PQgetvalue(steps_res, j, 1);
    int attempt = (int)store_get_i64(steps_res, j, 2);
    parry_step_record_t *rec = (parry_step_record_t *)parry_run_step(r, step_id);
    if (!rec) {
      r->steps = parry_xreallocarray(r->steps, r->n_steps + 1, sizeof *r->steps);
      rec = &r->steps[r->n_steps++];
      memset(rec, 0, sizeof *rec);
    } else if (rec->attempt > attempt) {
      continue;
    }
    fill_step(rec, steps_res, j);
  }
  /* In the order the caller asked for. */
  parry_run_t **ordered = parry_xnew(parry_run_t *, n);
  size_t k = 0;
  for (size_t q = 0; q < n; q++)
    for (int i = 0; i < rows; i++)
      if (runs[i] && runs[i]->id == ids[q]) {
        ordered[k++] = runs[i];
        runs[i] = NULL;
        break;
      }
  for (int i = 0; i < rows; i++) parry_run_free(runs[i]); /* duplicates in ids */
  free(runs);
  *out = ordered;
  *n_out = k;
out:
  PQclear(runs_res);
  PQclear(steps_res);
  free(array);
  return err;
}

parry_err_t parry_store_runs_runnable(parry_store_t *s, int64_t *count, char *errstr,
                                      size_t errstr_size) {
  *count = 0;
  /* The same condition as the claim, so the partial index runs_runnable
   * answers it. */
  PGresult *res = store_exec(s,
                             "SELECT count(*) FROM runs WHERE state IN ('pending', 'running', "
                             "'waiting') AND next_attempt_at <= now()",
                             0, NULL, PGRES_TUPLES_OK, "count runnable runs", errstr,
                             errstr_size);
  if (!res) return PARRY_ERR_EXTERNAL;
  *count = store_get_i64(res, 0, 0);
  PQclear(res);
  return PARRY_OK;
}

parry_err_t parry_store_run_load(parry_store_t *s, int64_t run_id, parry_run_t **out,
                                 char *errstr, size_t errstr_size) {
  parry_run_t **runs = NULL;
  size_t n = 0;
  *out = NULL;
  parry_err_t err = load_runs(s, &run_id, 1, &runs, &n, errstr, errstr_size);
  if (err) return err;
  if (n == 0) {
    free(runs);
    return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND, "no run %lld",
                      (long long)run_id);
  }
  *out = runs[0];
  free(runs);
  return PARRY_OK;
}

/* ------------------------------------------------------------------------ */
/* Claims and leases */

parry_err_t parry_store_claim_runs(parry_store_t *s, const char *owner, int64_t lease_ns,
                                   size_t max, parry_run_t ***out, size_t *n,
                                   char *errstr, size_t errstr_size) {
  *out = NULL;
  *n = 0;
  if (!owner || !*owner)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "claim without an owner");
  if (max == 0) return PARRY_OK;
  char limit[24], lease[24];
  snprintf(limit, sizeof limit, "%zu", max);
  snprintf(lease, sizeof lease, "%lld", (long long)(lease_ns > 0 ? lease_ns / 1000 : 1));
  const char *values[3] = {owner, limit, lease};
  PGresult *res = NULL;
  for (int attempt = 1; !res; attempt++) {
    res = store_exec_prepared(s, "claim", 3, values, PGRES_TUPLES_OK, "claim runs", errstr,
                              errstr_size);
    if (!res && (s->last_kind != PARRY_PG_RETRY || attempt >= STORE_TX_ATTEMPTS))
      return PARRY_ERR_EXTERNAL;
  }
  int rows = PQntuples(res);
  int64_t *ids = parry_xnew(int64_t, rows > 0 ? (size_t)rows : 1);
  for (int i = 0; i < rows; i++) ids[i] = store_get_i64(res, i, 0);
  PQclear(res);
  parry_err_t err = PARRY_OK;
  if (rows > 0) err = load_runs(s, ids, (size_t)rows, out, n, errstr, errstr_size);
  free(ids);
  /* A load failure leaves the runs leased: they become claimable again when
   * the lease expires, so nothing is lost. */
  return err;
}

parry_err_t parry_store_renew_leases(parry_store_t *s, const char *owner, int64_t lease_ns,
                                     size_t *renewed, char *errstr, size_t errstr_size) {
  char lease[24];
  snprintf(lease, sizeof lease, "%lld", (long long)(lease_ns > 0 ? lease_ns / 1000 : 1));
  const char *values[2] = {owner, lease};
  /* Never waits for a row lock, so it can never be part of a deadlock: step
   * transitions hold FOR SHARE on their runs in event order and batched
   * finishes lock theirs in batch order, while a plain UPDATE by owner
   * locked them in scan order ("deadlock detected" under load). A run
   * locked right now is skipped (it is being written by its own owner);
   * *renewed tells the caller, who renews again soon. */
  static const char sql[] =
      "UPDATE runs r SET lease_until = now() + $2::bigint * interval '1 microsecond', "
      "next_attempt_at = now() + $2::bigint * interval '1 microsecond', updated = now() "
      "FROM (SELECT id FROM runs WHERE lease_owner = $1::text "
      "  AND state IN ('pending', 'running', 'waiting') "
      "  ORDER BY id FOR NO KEY UPDATE SKIP LOCKED) l WHERE r.id = l.id";
  PGresult *res = store_exec(s, sql, 2, values, PGRES_COMMAND_OK, "renew leases", errstr,
                             errstr_size);
  if (!res) return PARRY_ERR_EXTERNAL;
  if (renewed) *renewed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return PARRY_OK;
}

parry_err_t parry_store_run_release(parry_store_t *s, int64_t run_id, const char *owner,
                                    int64_t next_attempt_ns, char *errstr,
                                    size_t errstr_size) {
  char id[24], next[24];
  snprintf(id, sizeof id, "%lld", (long long)run_id);
  snprintf(next, sizeof next, "%lld", (long long)(next_attempt_ns / 1000));
  const char *values[3] = {id, owner, next_attempt_ns > 0 ? next : NULL};
  PGresult *res = store_exec_prepared(s, "release", 3, values, PGRES_COMMAND_OK,
                                      "release a run", errstr, errstr_size);
  if (!res) return PARRY_ERR_EXTERNAL;
  bool done = strcmp(PQcmdTuples(res), "1") == 0;
  PQclear(res);
  if (!done)
    return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                      "could not release run %lld: not leased by %s", (long long)run_id, owner);
  return PARRY_OK;
}

parry_err_t parry_store_run_finish(parry_store_t *s, int64_t run_id, const char *owner,
                                   parry_run_state_t final_state, const char *error,
                                   char *errstr, size_t errstr_size) {
  if (final_state != PARRY_RUN_SUCCEEDED && final_state != PARRY_RUN_FAILED)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "a run finishes as succeeded or failed, not %s",
                      parry_run_state_str(final_state));
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)run_id);
  char *masked = error ? parry_store_mask_text(error, (const char *const *)s->secrets,
                                               s->n_secrets)
                       : NULL;
  char *clean = masked ? store_utf8_clean(masked) : NULL;
  const char *values[4] = {id, owner, parry_run_state_str(final_state),
                           clean ? clean : masked};
  PGresult *res = store_exec_prepared(s, "finish", 4, values, PGRES_TUPLES_OK,
                                      "finish a run", errstr, errstr_size);
  free(masked);
  free(clean);
  if (!res) return PARRY_ERR_EXTERNAL;
  bool done = PQntuples(res) == 1;
  PQclear(res);
  if (!done)
    return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                      "could not finish run %lld: not leased by %s", (long long)run_id, owner);
  return PARRY_OK;
}

parry_err_t parry_store_runs_finish(parry_store_t *s, const char *owner, const int64_t *runs,
                                    const parry_run_state_t *states,
                                    const char *const *errors, size_t n, bool *ok,
                                    char *errstr, size_t errstr_size) {
  if (ok)
    for (size_t i = 0; i < n; i++) ok[i] = false;
  if (n == 0) return PARRY_OK;
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append(&b, "[", 1);
  size_t sent = 0;
  for (size_t i = 0; i < n; i++) {
    if (states[i] != PARRY_RUN_SUCCEEDED && states[i] != PARRY_RUN_FAILED) continue;
    parry_buf_printf(&b, "%s{\"run\":%lld,\"state\":\"%s\"", sent++ ? "," : "",
                     (long long)runs[i], parry_run_state_str(states[i]));
    if (errors && errors[i]) {
      char *masked = parry_store_mask_text(errors[i], (const char *const *)s->secrets,
                                           s->n_secrets);
      char *clean = store_utf8_clean(masked);
      parry_buf_append(&b, ",\"error\":", 9);
      store_json_string(&b, clean ? clean : masked);
      free(clean);
      free(masked);
    }
    parry_buf_append(&b, "}", 1);
  }
  parry_buf_append(&b, "]", 1);
  parry_err_t err = PARRY_OK;
  if (sent > 0) {
    const char *values[2] = {owner, b.data};
    PGresult *res = store_exec_prepared(s, "finish_many", 2, values, PGRES_TUPLES_OK,
                                        "finish runs", errstr, errstr_size);
    if (!res) {
      err = PARRY_ERR_EXTERNAL;
    } else {
      for (int r = 0; ok && r < PQntuples(res); r++) {
        int64_t id = store_get_i64(res, r, 0);
        for (size_t i = 0; i < n; i++)
          if (runs[i] == id) ok[i] = true;
      }
      PQclear(res);
    }
  }
  parry_buf_free(&b);
  return err;
}

/* ------------------------------------------------------------------------ */
/* Step transitions */

static const char *const step_kind_names[] = {"started", "succeeded", "failed", "skipped"};

/* The parameters of one parry_step_event call, owning their text. */
typedef struct {
  char run[24], attempt[24], next[24];
  char *step_id, *connector, *inputs, *outputs, *error;
  const char *values[11];
} step_params_t;

static void step_params_free(step_params_t *p) {
  free(p->step_id);
  free(p->connector);
  free(p->inputs);
  free(p->outputs);
  free(p->error);
}

static char *masked_json_text(parry_store_t *s, const struct json_object *v) {
  if (!v) return NULL;
  struct json_object *m =
      parry_store_mask_json(v, (const char *const *)s->secrets, s->n_secrets);
  const char *text = store_json_text(m);
  char *clean = store_utf8_clean(text);
  char *out = clean ? clean : parry_xstrdup(text);
  json_object_put(m);
  return out;
}

static char *clean_or_dup(const char *s) {
  if (!s) return NULL;
  char *c = store_utf8_clean(s);
  return c ? c : parry_xstrdup(s);
}

static parry_err_t step_params(parry_store_t *s, const char *owner,
                               const parry_step_event_t *ev, step_params_t *p,
                               char *errstr, size_t errstr_size) {
  memset(p, 0, sizeof *p);
  if ((unsigned)ev->kind >= sizeof step_kind_names / sizeof *step_kind_names)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "unknown step event kind %d",
                      (int)ev->kind);
  if (!ev->step_id || !*ev->step_id)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "step event without a step id");
  if (ev->kind == PARRY_STEP_EV_STARTED && ev->attempt < 1)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "step %s started with attempt %d (attempts count from 1)", ev->step_id,
                      ev->attempt);
  snprintf(p->run, sizeof p->run, "%lld", (long long)ev->run_id);
  snprintf(p->attempt, sizeof p->attempt, "%d", ev->attempt > 0 ? ev->attempt : 0);
  p->step_id = clean_or_dup(ev->step_id);
  p->connector = clean_or_dup(ev->connector);
  if (ev->kind == PARRY_STEP_EV_STARTED) p->inputs = masked_json_text(s, ev->inputs);
  if (ev->kind == PARRY_STEP_EV_SUCCEEDED) p->outputs = masked_json_text(s, ev->outputs);
  if (ev->error) {
    char *m = parry_store_mask_text(ev->error, (const char *const *)s->secrets, s->n_secrets);
    p->error = clean_or_dup(m);
    free(m);
  }
  bool retry = ev->kind == PARRY_STEP_EV_FAILED && ev->retryable && ev->next_attempt_ns > 0;
  if (retry) snprintf(p->next, sizeof p->next, "%lld", (long long)(ev->next_attempt_ns / 1000));
  p->values[0] = p->run;
  p->values[1] = owner;
  p->values[2] = step_kind_names[ev->kind];
  p->values[3] = p->step_id;
  p->values[4] = p->connector;
  p->values[5] = p->attempt;
  p->values[6] = p->inputs;
  p->values[7] = p->outputs;
  p->values[8] = p->error;
  p->values[9] = ev->kind == PARRY_STEP_EV_FAILED ? (ev->retryable ? "true" : "false") : NULL;
  p->values[10] = retry ? p->next : NULL;
  return PARRY_OK;
}

/* parry_step_event's answer as an error (or PARRY_OK). */
static parry_err_t step_answer(const char *answer, const char *owner,
                               const parry_step_event_t *ev, char *errstr,
                               size_t errstr_size) {
  if (strcmp(answer, "ok") == 0 || strcmp(answer, "replay") == 0) return PARRY_OK;
  if (strcmp(answer, "lease_lost") == 0)
    return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                      "could not record step %s of run %lld: not leased by %s", ev->step_id,
                      (long long)ev->run_id, owner);
  if (strcmp(answer, "already_succeeded") == 0)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "step %s of run %lld succeeded already: not started again",
                      ev->step_id, (long long)ev->run_id);
  if (strcmp(answer, "no_attempt") == 0)
    return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                      "could not record step %s of run %lld: attempt %d never started",
                      ev->step_id, (long long)ev->run_id, ev->attempt);
  return parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                    "could not record step %s: unexpected answer \"%s\"", ev->step_id, answer);
}

parry_err_t parry_store_step(parry_store_t *s, const char *owner, const parry_step_event_t *ev,
                             char *errstr, size_t errstr_size) {
  step_params_t p;
  parry_err_t err = step_params(s, owner, ev, &p, errstr, errstr_size);
  if (err) return err;
  PGresult *res = NULL;
  for (int attempt = 1; !res; attempt++) {
    res = store_exec_prepared(s, "step", 11, p.values, PGRES_TUPLES_OK,
                              "record a step transition", errstr, errstr_size);
    if (!res && (s->last_kind != PARRY_PG_RETRY || attempt >= STORE_TX_ATTEMPTS)) break;
  }
  if (res) {
    err = step_answer(PQgetvalue(res, 0, 0), owner, ev, errstr, errstr_size);
    PQclear(res);
  } else {
    err = PARRY_ERR_EXTERNAL;
  }
  step_params_free(&p);
  return err;
}

static void json_member(parry_buf_t *b, const char *key, const char *string_value,
                        const char *raw_value) {
  if (!string_value && !raw_value) return;
  parry_buf_printf(b, ",\"%s\":", key);
  if (raw_value) parry_buf_append(b, raw_value, strlen(raw_value));
  else store_json_string(b, string_value);
}

/* All n transitions in ONE statement (parry_step_events): one round trip,
 * one transaction, one commit. Any failure fails them all (ok[] false). */
static parry_err_t steps_one_statement(parry_store_t *s, const char *owner,
                                       const parry_step_event_t *ev, step_params_t *p,
                                       size_t n, bool *ok, char *errstr, size_t errstr_size) {
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append(&b, "[", 1);
  for (size_t i = 0; i < n; i++) {
    parry_buf_printf(&b, "%s{\"run\":%s,\"kind\":\"%s\",\"attempt\":%s", i ? "," : "",
                     p[i].values[0], p[i].values[2], p[i].values[5]);
    json_member(&b, "step", p[i].step_id, NULL);
    json_member(&b, "connector", p[i].connector, NULL);
    json_member(&b, "inputs", NULL, p[i].inputs);
    json_member(&b, "outputs", NULL, p[i].outputs);
    json_member(&b, "error", p[i].error, NULL);
    json_member(&b, "retryable", NULL, p[i].values[9]);
    json_member(&b, "next_us", NULL, p[i].values[10]);
    parry_buf_append(&b, "}", 1);
  }
  parry_buf_append(&b, "]", 1);
  const char *values[2] = {owner, b.data};
  PGresult *res = NULL;
  parry_err_t err = PARRY_OK;
  for (int attempt = 1; !res; attempt++) {
    res = store_exec_prepared(s, "steps", 2, values, PGRES_TUPLES_OK,
                              "record step transitions", errstr, errstr_size);
    if (!res && (s->last_kind != PARRY_PG_RETRY || attempt >= STORE_TX_ATTEMPTS)) break;
  }
  parry_buf_free(&b);
  if (!res) return PARRY_ERR_EXTERNAL;
  if ((size_t)PQntuples(res) != n) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not record step transitions: %d answers for %zu", PQntuples(res),
                     n);
  } else if (ok) {
    for (size_t i = 0; i < n; i++) {
      char why[256];
      ok[i] = step_answer(PQgetvalue(res, (int)i, 0), owner, &ev[i], why, sizeof why) ==
              PARRY_OK;
    }
  }
  PQclear(res);
  return err;
}

/* Send n prepared transitions in one pipeline, each in its own transaction
 * (a sync after each), so that a failure costs only its own. */
static parry_err_t steps_pipeline(parry_store_t *s, const char *owner,
                                  const parry_step_event_t *ev, step_params_t *p, size_t n,
                                  bool *ok, char *errstr, size_t errstr_size) {
  if (ok)
    for (size_t i = 0; i < n; i++) ok[i] = false;
  parry_err_t err = store_pipeline_begin(s, errstr, errstr_size);
  if (err) return err;
  bool sent = true;
  for (size_t i = 0; sent && i < n; i++)
    sent = PQsendQueryPrepared(s->conn, "step", 11, p[i].values, NULL, NULL, 0) &&
           PQpipelineSync(s->conn);
  if (!sent) {
    s->last_kind = PARRY_PG_CONNECTION;
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "could not send step transitions: %s", PQerrorMessage(s->conn));
    store_pipeline_end(s);
    return err;
  }
  err = store_pipeline_flush(s, errstr, errstr_size);
  if (err) {
    store_pipeline_end(s);
    return err;
  }
  for (size_t i = 0; i < n && PQstatus(s->conn) == CONNECTION_OK; i++) {
    PGresult *res = store_pipeline_result(s);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
      char why[256];
      if (step_answer(PQgetvalue(res, 0, 0), owner, &ev[i], why, sizeof why) == PARRY_OK &&
          ok)
        ok[i] = true;
    } else if (!err) {
      err = store_fail_res(s, res, "record a step transition", errstr, errstr_size);
      /* Only that one failed, unless the connection is gone. */
      if (s->last_kind != PARRY_PG_CONNECTION) err = PARRY_OK;
    }
    PQclear(res);
    if (!res) break;
    store_pipeline_drain_sync(s);
  }
  store_pipeline_end(s);
  if (!err) store_ok(s);
  return err;
}

parry_err_t parry_store_steps(parry_store_t *s, const char *owner,
                              const parry_step_event_t *ev, size_t n, bool *ok,
                              char *errstr, size_t errstr_size) {
  if (ok)
    for (size_t i = 0; i < n; i++) ok[i] = false;
  if (n == 0) return PARRY_OK;
  if (n == 1) {
    char why[256];
    parry_err_t err = parry_store_step(s, owner, ev, why, sizeof why);
    if (!err && ok) ok[0] = true;
    if (err == PARRY_ERR_EXTERNAL) {
      snprintf(errstr, errstr_size, "%s", why);
      return err;
    }
    return PARRY_OK;
  }
  step_params_t *p = parry_xnew(step_params_t, n);
  parry_err_t err = PARRY_OK;
  size_t built = 0;
  for (; built < n; built++) {
    err = step_params(s, owner, &ev[built], &p[built], errstr, errstr_size);
    if (err) goto out;
  }
  /* First all in one statement (one transaction, one commit: the usual
   * case, as lease loss is an answer, not an error); if the server refuses
   * it after all, again with a transaction per transition (pipelined), so
   * that one bad transition does not hold back the others. */
  err = steps_one_statement(s, owner, ev, p, n, ok, errstr, errstr_size);
  if (err && s->last_kind != PARRY_PG_CONNECTION)
    err = steps_pipeline(s, owner, ev, p, n, ok, errstr, errstr_size);
out:
  for (size_t i = 0; i < built; i++) step_params_free(&p[i]);
  free(p);
  return err;
}
