/* The executor's run scheduler: one thread, many runs in flight. See
 * worker/worker.h for what it guarantees; the comments here say how.
 *
 * Every step transition goes through one ordered queue of store events
 * (`pending`), written in pipelined batches (parry_store_steps). A STARTED
 * event carries the call it precedes: the connector is called only once its
 * row is committed, so a crash can lose a call's outcome but never hide that
 * the call may have happened. Outcomes are queued from the engine's done
 * callbacks; a queue that cannot be written (PostgreSQL away) is kept and
 * retried in order, and runs finish only when their events are written. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "worker/internal.h"

#define NS_PER_MS ((int64_t)1000000)
/* A run that only waits for retries this far away goes back to the store
 * (state waiting) instead of holding a slot and a lease. */
#define RELEASE_AFTER_NS (2000 * NS_PER_MS)
#define MAX_POLL_MS 50

typedef enum {
  S_PENDING = 0, /* not started (first attempt still ahead) */
  S_RUNNING,     /* STARTED queued or recorded; the call runs */
  S_WAIT,        /* a retry is due at next_ns (also: resumed after a crash) */
  S_SUCCEEDED,
  S_FAILED,
  S_SKIPPED,
} sstate_t;

typedef struct run run_t;

typedef struct {
  run_t *run;
  const parry_step_t *def;
  const parry_connector_t *conn;
  sstate_t state;
  int attempt;     /* of the latest start */
  int64_t next_ns; /* S_WAIT */
  bool triggered;  /* handler: a failure asked for it */
} step_t;

struct run {
  parry_scheduler_t *s;
  parry_run_t *rec;
  const parry_runbook_t *rb;
  struct json_object *ctx;
  step_t *steps;
  size_t n_steps;
  int in_flight;      /* calls started, callback not fired yet */
  int queued;         /* events of this run not yet written */
  bool stopping;      /* a step failed with on_failure stop */
  bool dropped;       /* lease lost or released: forget when in_flight is 0 */
  bool dirty;         /* advance() should look at it */
  char *fail_reason;  /* first final failure, for the run */
};

typedef enum { A_NONE = 0, A_CALL } action_t;

typedef struct {
  parry_step_event_t ev;
  step_t *step;
  action_t action;
  struct json_object *inputs, *outputs; /* owned references */
  char *error;
} pev_t;

struct parry_scheduler {
  parry_worker_t *w;
  parry_store_t *store;
  parry_finisher_t *finisher;
  _Atomic(parry_claimer_t *) claimer; /* set by the scheduler thread, kicked by the intake */
  parry_writer_t *writer;
  size_t n_writers;
  parry_conn_engine_t *engine;
  pthread_t thread;
  bool thread_started;
  int64_t lease_ns, poll_ns, shutdown_ns;
  size_t claim_batch, capacity;
  run_t **runs;
  size_t n_runs, cap_runs;
  pev_t **q; /* not yet handed to the writer */
  size_t q_len, q_cap;
  uint64_t rng;
  int64_t next_renew_ns;
};

/* ---- small helpers ---- */

static double rand01(parry_scheduler_t *s) {
  /* xorshift64*: jitter only, not security. */
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return (double)((s->rng * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

static const char *status_name(sstate_t st) {
  switch (st) {
  case S_PENDING: return "pending";
  case S_RUNNING: return "running";
  case S_WAIT: return "pending";
  case S_SUCCEEDED: return "succeeded";
  case S_FAILED: return "failed";
  case S_SKIPPED: return "skipped";
  }
  return "pending";
}

static bool finished(sstate_t st) {
  return st == S_SUCCEEDED || st == S_FAILED || st == S_SKIPPED;
}

static void count_step(parry_scheduler_t *s, const step_t *st, const char *status) {
  parry_metric_add(parry_worker_step_metric(s->w, st->def->uses, status), 1);
}

static void set_ctx_step(run_t *r, step_t *st, struct json_object *outputs) {
  parry_runbook_context_set_step(r->ctx, st->def->id, status_name(st->state), outputs);
}

static char *idempotency_key(const run_t *r, const step_t *st) {
  size_t n = strlen(r->rec->alert_id) + strlen(st->def->id) + 2;
  char *k = parry_xmalloc(n);
  snprintf(k, n, "%s:%s", r->rec->alert_id, st->def->id);
  return k;
}

/* ---- the event queue ---- */

static pev_t *enqueue(parry_scheduler_t *s, run_t *r, step_t *st, parry_step_event_kind_t kind) {
  if (s->q_len == s->q_cap) {
    s->q_cap = s->q_cap ? s->q_cap * 2 : 256;
    s->q = parry_xreallocarray(s->q, s->q_cap, sizeof *s->q);
  }
  pev_t *e = parry_xnew(pev_t, 1);
  s->q[s->q_len++] = e;
  e->ev.kind = kind;
  e->ev.run_id = r->rec->id;
  e->ev.step_id = st->def->id;
  e->ev.connector = st->def->uses;
  e->ev.attempt = st->attempt;
  e->step = st;
  r->queued++;
  return e;
}

static void pev_free(pev_t *e) {
  if (e->inputs) json_object_put(e->inputs);
  if (e->outputs) json_object_put(e->outputs);
  free(e->error);
  free(e);
}

static void run_free(run_t *r) {
  json_object_put(r->ctx);
  parry_run_free(r->rec);
  free(r->steps);
  free(r->fail_reason);
  free(r);
}

/* Forget a run whose lease is gone (or that was released/finished); its
 * memory waits for calls still in flight. */
static void drop(run_t *r) { r->dropped = true; }

/* ---- step outcomes ---- */

static void final_failure(run_t *r, step_t *st, const char *why) {
  switch (st->def->on_failure.kind) {
  case PARRY_ON_FAILURE_STOP:
    /* The run fails, for this reason. */
    r->stopping = true;
    if (!r->fail_reason) {
      size_t n = strlen(st->def->id) + strlen(why) + 16;
      r->fail_reason = parry_xmalloc(n);
      snprintf(r->fail_reason, n, "step %s: %s", st->def->id, why);
    }
    break;
  case PARRY_ON_FAILURE_CONTINUE: break;
  case PARRY_ON_FAILURE_RUN: r->steps[st->def->on_failure.step_index].triggered = true; break;
  }
}

/* Record a failed attempt: a retry when the policy allows, else final. */
static void attempt_failed(parry_scheduler_t *s, run_t *r, step_t *st, bool retryable,
                           const char *why) {
  pev_t *e = enqueue(s, r, st, PARRY_STEP_EV_FAILED);
  if (retryable && st->attempt <= (int)st->def->retries.max) {
    int64_t delay = parry_step_backoff_ns(st->def, (uint32_t)st->attempt, rand01(s));
    st->state = S_WAIT;
    st->next_ns = parry_time_now_ns() + delay;
    e->ev.retryable = true;
    e->ev.next_attempt_ns = st->next_ns;
    e->error = parry_xstrdup(why);
    count_step(s, st, "retried");
    LOG_DEBUG("run %" PRId64 " step %s attempt %d: %s; retry in %" PRId64 " ms", r->rec->id,
              st->def->id, st->attempt, why, delay / NS_PER_MS);
  } else {
    size_t n = strlen(why) + 64;
    e->error = parry_xmalloc(n);
    if (retryable) snprintf(e->error, n, "%s (gave up after %d attempts)", why, st->attempt);
    else snprintf(e->error, n, "%s", why);
    st->state = S_FAILED;
    count_step(s, st, "failed");
    final_failure(r, st, e->error);
    LOG_INFO("run %" PRId64 " step %s failed: %s", r->rec->id, st->def->id, e->error);
  }
  e->ev.error = e->error;
  set_ctx_step(r, st, NULL);
  r->dirty = true;
}

static void succeeded(parry_scheduler_t *s, run_t *r, step_t *st, struct json_object *outputs) {
  pev_t *e = enqueue(s, r, st, PARRY_STEP_EV_SUCCEEDED);
  if (!outputs) outputs = json_object_new_object();
  /* The writer thread serializes its own copy: json-c caches a rendering
   * inside the object, so the context's one is never shared across threads. */
  if (json_object_deep_copy(outputs, &e->outputs, NULL) != 0) e->outputs = json_object_new_object();
  e->ev.outputs = e->outputs;
  st->state = S_SUCCEEDED;
  count_step(s, st, "succeeded");
  set_ctx_step(r, st, outputs);
  r->dirty = true;
}

static void on_done(void *opaque, const parry_conn_result_t *res) {
  step_t *st = opaque;
  run_t *r = st->run;
  parry_scheduler_t *s = r->s;
  r->in_flight--;
  if (r->dropped) return;
  if (res->status == PARRY_CONN_OK) {
    succeeded(s, r, st, json_object_get(res->outputs));
    return;
  }
  char why[1024];
  if (res->http_status)
    snprintf(why, sizeof why, "%s (status %ld)", res->error ? res->error : "failed",
             res->http_status);
  else snprintf(why, sizeof why, "%s", res->error ? res->error : "failed");
  attempt_failed(s, r, st, res->status == PARRY_CONN_RETRYABLE, why);
}

/* ---- internal connectors: the case store itself ---- */

static const char *in_str(struct json_object *in, const char *key) {
  struct json_object *v;
  if (!json_object_object_get_ex(in, key, &v) || json_object_is_type(v, json_type_null))
    return NULL;
  return json_object_get_string(v);
}

/* Tags as a list of strings, or one string of comma-separated tags. */
static size_t in_list(struct json_object *in, const char *key, const char **out, size_t max) {
  struct json_object *v;
  if (!json_object_object_get_ex(in, key, &v)) return 0;
  size_t n = 0;
  if (json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v) && n < max; i++)
      out[n++] = json_object_get_string(json_object_array_get_idx(v, i));
  } else if (json_object_is_type(v, json_type_string) && *json_object_get_string(v)) {
    out[n++] = json_object_get_string(v);
  }
  return n;
}

static void refresh_case(parry_scheduler_t *s, run_t *r) {
  struct json_object *c = NULL;
  char err[256];
  if (parry_store_case_get(s->store, r->rec->case_id, &c, err, sizeof err) == PARRY_OK)
    json_object_object_add(r->ctx, "case", c);
}

static void run_case_update(parry_scheduler_t *s, run_t *r, step_t *st,
                            struct json_object *in) {
  parry_case_update_t u = PARRY_CASE_UPDATE_INIT;
  u.status = in_str(in, "status");
  u.severity = in_str(in, "severity");
  u.assignee = in_str(in, "assignee");
  u.resolution = in_str(in, "resolution");
  u.note = in_str(in, "note");
  const char *add[64], *rem[64];
  u.n_add_tags = in_list(in, "tags", add, 64);
  u.add_tags = add;
  u.n_remove_tags = in_list(in, "remove_tags", rem, 64);
  u.remove_tags = rem;
  /* Rendered templates are text: "true"/"false" as well as booleans. */
  struct json_object *esc;
  if (json_object_object_get_ex(in, "escalate", &esc) && !json_object_is_type(esc, json_type_null)) {
    if (json_object_is_type(esc, json_type_string)) {
      const char *t = json_object_get_string(esc);
      u.escalated = strcmp(t, "true") == 0 || strcmp(t, "yes") == 0 || strcmp(t, "1") == 0;
    } else {
      u.escalated = json_object_get_boolean(esc);
    }
  }
  char actor[256];
  snprintf(actor, sizeof actor, "runbook:%s/%s", r->rb->name, st->def->id);
  u.actor = actor;
  bool changed = false;
  char err[512];
  if (parry_store_case_update(s->store, r->rec->case_id, &u, &changed, err, sizeof err)) {
    bool transient = parry_pg_kind_is_retriable(parry_store_error_kind(s->store));
    attempt_failed(s, r, st, transient, err);
    return;
  }
  refresh_case(s, r);
  struct json_object *out = json_object_new_object();
  json_object_object_add(out, "changed", json_object_new_boolean(changed));
  succeeded(s, r, st, out);
}

static void run_history(parry_scheduler_t *s, run_t *r, step_t *st, struct json_object *in) {
  const char *kind_s = in_str(in, "entity"), *value = in_str(in, "value");
  if (!kind_s) kind_s = in_str(in, "kind");
  parry_entity_kind_t kind = PARRY_ENTITY_IP;
  if (kind_s && !parry_entity_kind_parse(kind_s, &kind)) {
    attempt_failed(s, r, st, false, "entity: expected ip, user or host");
    return;
  }
  if (!value || !*value) {
    attempt_failed(s, r, st, false, "value: the entity to look up is empty");
    return;
  }
  parry_entity_history_t h;
  char err[512];
  if (parry_store_entity_history(s->store, kind, value, r->rec->case_id, &h, err, sizeof err)) {
    attempt_failed(s, r, st, parry_pg_kind_is_retriable(parry_store_error_kind(s->store)), err);
    return;
  }
  struct json_object *out = json_object_new_object();
  char t[64];
  json_object_object_add(out, "seen_before", json_object_new_boolean(h.alert_count > 0));
  json_object_object_add(out, "alert_count", json_object_new_int64(h.alert_count));
  json_object_object_add(out, "case_count", json_object_new_int64(h.case_count));
  if (h.first_seen_ns) {
    parry_time_format_rfc3339(h.first_seen_ns, t);
    json_object_object_add(out, "first_seen", json_object_new_string(t));
    parry_time_format_rfc3339(h.last_seen_ns, t);
    json_object_object_add(out, "last_seen", json_object_new_string(t));
  }
  if (h.last_case_id) {
    json_object_object_add(out, "last_case_id", json_object_new_int64(h.last_case_id));
    json_object_object_add(out, "last_case_status", json_object_new_string(h.last_case_status));
    json_object_object_add(out, "last_case_resolution",
                           json_object_new_string(h.last_case_resolution));
    json_object_object_add(out, "last_run_state", json_object_new_string(h.last_run_state));
  }
  succeeded(s, r, st, out);
}

/* The call a recorded STARTED precedes. */
static void launch(parry_scheduler_t *s, step_t *st, struct json_object *inputs) {
  run_t *r = st->run;
  if (r->dropped) return;
  if (parry_connector_is_internal(st->conn)) {
    const char *name = parry_connector_name(st->conn);
    if (strcmp(name, "case_update") == 0) run_case_update(s, r, st, inputs);
    else if (strcmp(name, "history") == 0) run_history(s, r, st, inputs);
    else {
      char why[256];
      snprintf(why, sizeof why, "connector %s is not supported by this executor", name);
      attempt_failed(s, r, st, false, why);
    }
    return;
  }
  char *key = idempotency_key(r, st);
  parry_err_t rc = parry_conn_start(s->engine, st->conn, inputs, key, st->def->timeout_ns,
                                    on_done, st);
  free(key);
  if (rc) {
    attempt_failed(s, r, st, false, "the connector refused the call");
    return;
  }
  r->in_flight++;
}

/* Hand the queue to the writer (in order: one run's events always go to the
 * same writer thread), then act on what was written: a recorded STARTED
 * releases its call; an event refused means the lease is lost and the run is
 * dropped. `calls` false (stopping): recorded starts are not called; the
 * next executor retries them with the same idempotency key. */
static void flush_calls(parry_scheduler_t *s, bool calls) {
  for (size_t i = 0; i < s->q_len; i++)
    parry_writer_submit(s->writer, s->q[i]->ev.run_id, &s->q[i]->ev, s->q[i]);
  if (s->q_len) parry_writer_kick(s->writer);
  s->q_len = 0;
  parry_writer_done_t *done = NULL;
  size_t n = parry_writer_take_done(s->writer, &done);
  for (size_t i = 0; i < n; i++) {
    pev_t *e = done[i].tag;
    run_t *r = e->step->run;
    r->queued--;
    r->dirty = true;
    if (!done[i].ok && !r->dropped) {
      LOG_WARN("run %" PRId64 ": lease lost (another executor has it); dropping it", r->rec->id);
      drop(r);
    }
    if (done[i].ok && calls && e->action == A_CALL) launch(s, e->step, e->inputs);
    pev_free(e);
  }
  free(done);
}

static void flush(parry_scheduler_t *s) { flush_calls(s, true); }

/* ---- walking the step graph ---- */

static bool need_done(const run_t *r, size_t idx) {
  const step_t *n = &r->steps[idx];
  if (finished(n->state)) return true;
  if (!n->def->handler || n->triggered) return false;
  /* An untriggered handler: done once no step that names it can still fail. */
  for (size_t i = 0; i < r->n_steps; i++) {
    const step_t *x = &r->steps[i];
    if (x->def->on_failure.kind == PARRY_ON_FAILURE_RUN && x->def->on_failure.step_index == idx &&
        !finished(x->state))
      return false;
  }
  return true;
}

static parry_escape_t escape_for(void *opaque, const char *path) {
  return (parry_escape_t)parry_connector_escape_for(opaque, path);
}

/* Start what can start in r; returns the earliest retry time still ahead
 * (0: none). */
static int64_t advance(parry_scheduler_t *s, run_t *r, int64_t now) {
  int64_t wake = 0;
  r->dirty = false;
  if (r->dropped || r->stopping) return 0;
  for (bool progress = true; progress && !r->stopping;) {
    progress = false;
    for (size_t i = 0; i < r->n_steps && !r->stopping; i++) {
      step_t *st = &r->steps[i];
      if (st->state != S_PENDING && st->state != S_WAIT) continue;
      if (st->state == S_WAIT && st->next_ns > now) {
        if (!wake || st->next_ns < wake) wake = st->next_ns;
        continue;
      }
      if (st->def->handler && !st->triggered) continue;
      bool ready = true;
      for (size_t k = 0; k < st->def->n_needs && ready; k++)
        ready = need_done(r, st->def->needs_index[k]);
      if (!ready) continue;
      char err[512];
      if (st->state == S_PENDING) {
        bool run_it = true;
        if (parry_step_when(st->def, r->ctx, &run_it, err, sizeof err)) {
          st->attempt = 1;
          pev_t *e = enqueue(s, r, st, PARRY_STEP_EV_STARTED);
          (void)e;
          attempt_failed(s, r, st, false, err);
          progress = true;
          continue;
        }
        if (!run_it) {
          pev_t *e = enqueue(s, r, st, PARRY_STEP_EV_SKIPPED);
          e->error = parry_xstrdup("`when` is false");
          e->ev.error = e->error;
          st->state = S_SKIPPED;
          count_step(s, st, "skipped");
          set_ctx_step(r, st, NULL);
          progress = true;
          continue;
        }
      }
      struct json_object *inputs = NULL;
      st->attempt++;
      if (!st->conn) {
        char why[300];
        snprintf(why, sizeof why, "no connector named \"%s\"", st->def->uses);
        enqueue(s, r, st, PARRY_STEP_EV_STARTED);
        attempt_failed(s, r, st, false, why);
        progress = true;
        continue;
      }
      if (parry_runbook_render_with(st->def, r->ctx, escape_for, (void *)st->conn, &inputs, err,
                                    sizeof err)) {
        char why[600];
        snprintf(why, sizeof why, "inputs: %s", err);
        enqueue(s, r, st, PARRY_STEP_EV_STARTED);
        attempt_failed(s, r, st, false, why);
        progress = true;
        continue;
      }
      pev_t *e = enqueue(s, r, st, PARRY_STEP_EV_STARTED);
      e->inputs = inputs;
      e->ev.inputs = inputs;
      e->action = A_CALL;
      st->state = S_RUNNING;
      set_ctx_step(r, st, NULL);
      progress = true;
    }
  }
  return wake;
}

/* Whether nothing more will happen in r: nothing in flight or queued, and
 * every step finished or unreachable. */
static bool complete(const run_t *r) {
  if (r->in_flight || r->queued) return false;
  for (size_t i = 0; i < r->n_steps; i++) {
    const step_t *st = &r->steps[i];
    if (st->state == S_RUNNING) return false;
    if (r->stopping) continue;
    if (finished(st->state)) continue;
    if (st->def->handler && !st->triggered) continue;
    return false;
  }
  return true;
}

/* ---- claiming ---- */

static run_t *adopt(parry_scheduler_t *s, parry_run_t *rec) {
  run_t *r = parry_xnew(run_t, 1);
  r->s = s;
  r->rec = rec;
  r->rb = parry_runbook_find(s->w->runbooks, rec->runbook);
  if (!r->rb) return r; /* finished as failed by the caller */
  r->ctx = json_object_new_object();
  json_object_object_add(r->ctx, "alert", json_object_get(rec->alert));
  json_object_object_add(r->ctx, "case",
                         rec->case_obj ? json_object_get(rec->case_obj) : json_object_new_object());
  json_object_object_add(r->ctx, "steps", json_object_new_object());
  struct json_object *rbj = json_object_new_object();
  json_object_object_add(rbj, "name", json_object_new_string(r->rb->name));
  json_object_object_add(r->ctx, "runbook", rbj);
  r->n_steps = r->rb->n_steps;
  r->steps = parry_xnew(step_t, r->n_steps);
  for (size_t i = 0; i < r->n_steps; i++) {
    step_t *st = &r->steps[i];
    st->run = r;
    st->def = &r->rb->steps[i];
    st->conn = parry_connector_find(st->def->uses);
    st->state = S_PENDING;
  }
  /* Resume from what the store recorded. */
  for (size_t i = 0; i < rec->n_steps; i++) {
    const parry_step_record_t *sr = &rec->steps[i];
    const parry_step_t *def = parry_runbook_step(r->rb, sr->step_id);
    if (!def) continue;
    step_t *st = &r->steps[def->index];
    st->attempt = sr->attempt;
    switch (sr->state) {
    case PARRY_STEP_NONE: break;
    case PARRY_STEP_SUCCEEDED:
      st->state = S_SUCCEEDED;
      set_ctx_step(r, st, sr->outputs ? json_object_get(sr->outputs) : NULL);
      break;
    case PARRY_STEP_SKIPPED:
      st->state = S_SKIPPED;
      set_ctx_step(r, st, NULL);
      break;
    case PARRY_STEP_FAILED:
      st->state = S_FAILED;
      set_ctx_step(r, st, NULL);
      final_failure(r, st, sr->error ? sr->error : "failed");
      break;
    case PARRY_STEP_RETRYING:
      st->state = S_WAIT;
      st->next_ns = sr->next_attempt_ns;
      break;
    case PARRY_STEP_RUNNING:
      /* Started before a crash, outcome unknown: call again now, with the
       * same idempotency key, as a new attempt. */
      st->state = S_WAIT;
      st->next_ns = 0;
      LOG_INFO("run %" PRId64 " step %s: attempt %d was in flight when its executor stopped; "
               "retrying with the same idempotency key", rec->id, sr->step_id, sr->attempt);
      break;
    }
  }
  r->dirty = true;
  return r;
}

static void add_run(parry_scheduler_t *s, run_t *r) {
  if (s->n_runs == s->cap_runs) {
    s->cap_runs = s->cap_runs ? s->cap_runs * 2 : 64;
    s->runs = parry_xreallocarray(s->runs, s->cap_runs, sizeof *s->runs);
  }
  s->runs[s->n_runs++] = r;
  /* At once, not at the next publish(): the intake counts claimed runs out
   * of "created, not claimed" as soon as they are claimed. */
  atomic_fetch_add(&s->w->runs_in_flight, 1);
}

/* Adopt what the claimer claimed meanwhile, and tell it how much room is
 * left. */
static void take_claimed(parry_scheduler_t *s) {
  size_t room = s->capacity > s->n_runs ? s->capacity - s->n_runs : 0;
  parry_run_t **recs = NULL;
  size_t n = parry_claimer_take(s->claimer, room, &recs);
  char err[512];
  for (size_t i = 0; i < n; i++) {
    parry_run_t *rec = recs[i];
    run_t *r = adopt(s, rec);
    if (r->rb) add_run(s, r);
    if (rec->claims <= 1) atomic_fetch_add(&s->w->runs_claimed_new, 1);
    else LOG_INFO("run %" PRId64 " resumed (claim %d)", rec->id, rec->claims);
    if (!r->rb) {
      char why[300];
      snprintf(why, sizeof why, "runbook \"%s\" is not loaded in this executor", rec->runbook);
      LOG_ERROR("run %" PRId64 ": %s", rec->id, why);
      parry_store_run_finish(s->store, rec->id, s->w->instance, PARRY_RUN_FAILED, why, err,
                             sizeof err);
      parry_metric_add(s->w->m_runs_failed, 1);
      run_free(r);
      continue;
    }
  }
  free(recs); /* the runs themselves are ours now */
}

/* Finish, release or forget runs; returns the earliest wake-up ahead. */
static int64_t sweep(parry_scheduler_t *s, int64_t now, bool flushed) {
  int64_t wake = 0;
  char err[512];
  for (size_t i = 0; i < s->n_runs;) {
    run_t *r = s->runs[i];
    bool remove = false;
    if (r->dropped) {
      /* Its queued events still point at it until written (and refused). */
      remove = r->in_flight == 0 && r->queued == 0;
    } else if (r->dirty || (r->in_flight == 0 && r->queued == 0)) {
      int64_t w = advance(s, r, now);
      if (flushed && complete(r)) {
        bool ok = !r->stopping;
        parry_finisher_push(s->finisher, r->rec->id, ok, ok ? NULL : r->fail_reason);
        parry_metric_add(ok ? s->w->m_runs_succeeded : s->w->m_runs_failed, 1);
        remove = true;
      } else if (w && r->in_flight == 0 && r->queued == 0 && w - now > RELEASE_AFTER_NS) {
        /* Only retries far ahead: hand the run back to the store. */
        if (parry_store_run_release(s->store, r->rec->id, s->w->instance, w, err, sizeof err) ==
                PARRY_OK ||
            parry_store_error_kind(s->store) == PARRY_PG_OK)
          remove = true;
      } else if (w && (!wake || w < wake)) {
        wake = w;
      }
    }
    if (remove) {
      s->runs[i] = s->runs[--s->n_runs];
      atomic_fetch_sub(&s->w->runs_in_flight, 1);
      if (r->in_flight == 0) run_free(r);
      else r->dropped = true; /* cannot happen: removal waits for in_flight 0 */
      continue;
    }
    i++;
  }
  return wake;
}

/* Extend the leases of the runs held here. The store skips runs whose rows
 * are locked at that moment (a writer recording their transitions) rather
 * than wait for them, so that renewing can never deadlock with the writers
 * or the finisher; when fewer were renewed than are held, try again in a
 * second, well before any lease runs out. */
static void renew(parry_scheduler_t *s, int64_t now) {
  size_t held = 0;
  for (size_t i = 0; i < s->n_runs; i++) held += !s->runs[i]->dropped;
  s->next_renew_ns = now + s->lease_ns / 3;
  if (!held) return;
  char err[512];
  size_t renewed = 0;
  if (parry_store_renew_leases(s->store, s->w->instance, s->lease_ns, &renewed, err, sizeof err)) {
    atomic_store(&s->w->pg_ok, !parry_pg_kind_is_retriable(parry_store_error_kind(s->store)));
    LOG_WARN("renewing leases: %s; retrying in 1 s", err);
    s->next_renew_ns = now + 1000 * NS_PER_MS;
    return;
  }
  atomic_store(&s->w->pg_ok, true);
  if (renewed < held) {
    LOG_DEBUG("renewed %zu of %zu leases (the others were being written); again in 1 s", renewed,
              held);
    s->next_renew_ns = now + 1000 * NS_PER_MS;
  }
}

static void publish(parry_scheduler_t *s) {
  parry_worker_t *w = s->w;
  parry_metric_set(w->m_runs_in_flight, (int64_t)s->n_runs);
  parry_metric_set(w->m_steps_in_flight, (int64_t)parry_conn_in_flight(s->engine));
  long long pending = atomic_load(&w->runs_runnable);
  if (pending < 0) pending = atomic_load(&w->runs_created) - atomic_load(&w->runs_claimed_new);
  parry_metric_set(w->m_runs_pending, pending > 0 ? pending : 0);
}

static void wake_engine(void *engine) { parry_conn_engine_wakeup(engine); }

static void *scheduler_main(void *arg) {
  parry_scheduler_t *s = arg;
  parry_worker_t *w = s->w;
  parry_log_action("running runbooks");
  s->store = parry_worker_store_open(w);
  if (!s->store) return NULL;
  s->writer = parry_writer_start(w, s->n_writers, wake_engine, s->engine);
  parry_store_t *fstore = parry_worker_store_open(w);
  if (!fstore) return NULL;
  s->finisher = parry_finisher_start(w, fstore);
  parry_store_t *cstore = parry_worker_store_open(w);
  if (!cstore) return NULL;
  atomic_store(&s->claimer, parry_claimer_start(w, cstore, s->lease_ns, s->poll_ns, s->claim_batch,
                                                s->capacity, wake_engine, s->engine));
  int64_t stop_deadline = 0;
  for (;;) {
    int64_t now = parry_time_now_ns();
    bool stopping = atomic_load(&w->stop);
    if (stopping && !stop_deadline) {
      stop_deadline = now + s->shutdown_ns;
      /* No new work; what is queued gets written, calls in flight finish. */
      for (size_t i = 0; i < s->n_runs; i++) s->runs[i]->stopping = true;
      /* Runs claimed but never started go straight back. */
      parry_run_t **left;
      size_t n_left;
      parry_claimer_stop(atomic_load(&s->claimer), &left, &n_left);
      char err[512];
      for (size_t i = 0; i < n_left; i++)
        parry_store_run_release(s->store, left[i]->id, w->instance, 0, err, sizeof err);
      parry_runs_free(left, n_left);
    }
    if (stopping && ((parry_conn_in_flight(s->engine) == 0 && s->q_len == 0 &&
                      parry_writer_outstanding(s->writer) == 0) ||
                     now > stop_deadline))
      break;
    if (!stopping) take_claimed(s);
    if (now >= s->next_renew_ns) renew(s, now);
    int64_t wake = stopping ? 0 : sweep(s, now, false);
    flush(s);
    if (!stopping) {
      int64_t w2 = sweep(s, now, true);
      if (w2 && (!wake || w2 < wake)) wake = w2;
      flush(s);
    }
    publish(s);
    int timeout_ms = MAX_POLL_MS;
    if (s->q_len) timeout_ms = 0;
    if (wake) {
      int64_t ahead = (wake - parry_time_now_ns()) / NS_PER_MS;
      if (ahead < timeout_ms) timeout_ms = ahead < 0 ? 0 : (int)ahead;
    }
    for (size_t i = 0; i < s->n_runs && timeout_ms; i++)
      if (s->runs[i]->dirty) timeout_ms = 0;
    parry_conn_engine_poll(s->engine, timeout_ms);
  }
  /* Stopping: write what is left, and give the runs back at once so that
   * another executor need not wait for the leases to expire. */
  for (size_t i = 0; i < s->q_len; i++)
    parry_writer_submit(s->writer, s->q[i]->ev.run_id, &s->q[i]->ev, s->q[i]);
  s->q_len = 0;
  parry_writer_kick(s->writer);
  parry_writer_stop(s->writer, stop_deadline ? stop_deadline : parry_time_now_ns());
  flush_calls(s, false); /* what was written: bookkeeping only, no new calls */
  parry_writer_destroy(s->writer);
  s->writer = NULL;
  char err[512];
  for (size_t i = 0; i < s->n_runs; i++) {
    run_t *r = s->runs[i];
    if (!r->dropped && r->in_flight == 0 && r->queued == 0)
      parry_store_run_release(s->store, r->rec->id, w->instance, 0, err, sizeof err);
  }
  publish(s);
  parry_finisher_stop(s->finisher);
  s->finisher = NULL;
  return NULL;
}

void parry_scheduler_kick(parry_scheduler_t *s) {
  parry_claimer_t *c = atomic_load(&s->claimer);
  if (c) parry_claimer_kick(c); /* else not started yet: it claims at once when it starts */
}

size_t parry_scheduler_reserve(parry_scheduler_t *s, size_t max) {
  parry_claimer_t *c = atomic_load(&s->claimer);
  return c ? parry_claimer_reserve(c, max) : 0;
}

void parry_scheduler_give(parry_scheduler_t *s, size_t reserved, parry_run_t **runs, size_t n) {
  parry_claimer_t *c = atomic_load(&s->claimer);
  if (c) {
    parry_claimer_give(c, reserved, runs, n);
    return;
  }
  /* Nobody to run them: their leases expire and any replica claims them. */
  for (size_t i = 0; i < n; i++) parry_run_free(runs[i]);
}

parry_err_t parry_scheduler_start(parry_worker_t *w, parry_scheduler_t **out, char *errstr,
                                  size_t n) {
  const parry_config_t *cfg = w->cfg;
  parry_scheduler_t *s = parry_xnew(parry_scheduler_t, 1);
  s->w = w;
  s->lease_ns = parry_config_int(cfg, "executor.lease") * NS_PER_MS;
  s->poll_ns = parry_config_int(cfg, "executor.poll_interval") * NS_PER_MS;
  s->shutdown_ns = parry_config_int(cfg, "executor.shutdown_timeout") * NS_PER_MS;
  s->claim_batch = (size_t)parry_config_int(cfg, "executor.claim_batch");
  s->capacity = (size_t)parry_config_int(cfg, "executor.max_in_flight");
  s->n_writers = (size_t)parry_config_int(cfg, "executor.store_writers");
  s->rng = (uint64_t)parry_time_now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
  char err[512];
  parry_conn_config_t *cc;
  if (parry_setting_find("executor.connectors"))
    cc = parry_conn_config_from_settings(cfg, err, sizeof err);
  else cc = parry_conn_config_load(NULL, NULL, err, sizeof err);
  if (!cc) {
    free(s);
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "executor.connectors: %s", err);
  }
  s->engine = parry_conn_engine_new(cc, w->metrics, err, sizeof err);
  if (!s->engine) {
    free(s);
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "connector engine: %s", err);
  }
  /* The engine is used by the scheduler thread only from here on. */
  if (pthread_create(&s->thread, NULL, scheduler_main, s)) {
    parry_conn_engine_destroy(s->engine);
    free(s);
    return parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "could not start the scheduler thread");
  }
  s->thread_started = true;
  *out = s;
  return PARRY_OK;
}

void parry_scheduler_stop(parry_scheduler_t *s) {
  if (!s) return;
  atomic_store(&s->w->stop, true);
  parry_conn_engine_wakeup(s->engine);
  if (s->thread_started) pthread_join(s->thread, NULL);
  parry_claimer_destroy(atomic_load(&s->claimer));
  parry_conn_engine_destroy(s->engine);
  for (size_t i = 0; i < s->q_len; i++) pev_free(s->q[i]);
  free(s->q);
  for (size_t i = 0; i < s->n_runs; i++) run_free(s->runs[i]);
  free(s->runs);
  parry_store_close(s->store);
  free(s);
}
