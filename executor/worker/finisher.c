/* Finishing runs off the scheduler's path: the scheduler, which must keep
 * driving thousands of calls, hands finished runs to this thread (its own
 * PostgreSQL connection), which finishes all that arrived meanwhile in one
 * statement (parry_store_runs_finish). Safe because a run is pushed here
 * only once every step transition of it is written: if the process dies
 * before the finish commits, the run's lease expires, another executor
 * claims it, finds every step recorded, and finishes it without calling
 * anything. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "worker/internal.h"

typedef struct {
  int64_t run_id;
  bool ok;
  char *error;
} fin_t;

struct parry_finisher {
  parry_worker_t *w;
  parry_store_t *store;
  pthread_t thread;
  bool thread_started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  fin_t *q;
  size_t len, cap;
  bool stop; /* guarded by lock */
};

void parry_finisher_push(parry_finisher_t *f, int64_t run_id, bool ok, const char *error) {
  pthread_mutex_lock(&f->lock);
  if (f->len == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 256;
    f->q = parry_xreallocarray(f->q, f->cap, sizeof *f->q);
  }
  f->q[f->len++] = (fin_t){run_id, ok, error ? parry_xstrdup(error) : NULL};
  pthread_cond_signal(&f->cond);
  pthread_mutex_unlock(&f->lock);
}

#define FINISH_BATCH 500

/* Finish batch[0..n) in as few statements as possible
 * (parry_store_runs_finish: one round trip per FINISH_BATCH runs). Returns
 * how many are done with (finished, or no longer ours: another executor
 * finishes them); the rest failed transiently and are tried again. */
static size_t finish_some(parry_finisher_t *f, const fin_t *batch, size_t n) {
  size_t done = 0;
  while (done < n) {
    size_t k = n - done < FINISH_BATCH ? n - done : FINISH_BATCH;
    int64_t ids[FINISH_BATCH];
    parry_run_state_t states[FINISH_BATCH];
    const char *errors[FINISH_BATCH];
    bool ok[FINISH_BATCH];
    for (size_t i = 0; i < k; i++) {
      ids[i] = batch[done + i].run_id;
      states[i] = batch[done + i].ok ? PARRY_RUN_SUCCEEDED : PARRY_RUN_FAILED;
      errors[i] = batch[done + i].error;
      ok[i] = false;
    }
    char err[512];
    if (parry_store_runs_finish(f->store, f->w->instance, ids, states, errors, k, ok, err,
                                sizeof err)) {
      if (parry_pg_kind_is_retriable(parry_store_error_kind(f->store))) {
        atomic_store(&f->w->pg_ok, false);
        LOG_WARN("finishing %zu runs: %s; retrying", k, err);
        return done;
      }
      /* Refused for good (nothing of the statement applied): one by one, so
       * that only the run at fault is left. */
      LOG_WARN("finishing %zu runs: %s; finishing them one by one", k, err);
      for (size_t i = 0; i < k; i++) {
        if (parry_store_run_finish(f->store, ids[i], f->w->instance, states[i], errors[i], err,
                                   sizeof err) == PARRY_OK)
          continue;
        if (parry_pg_kind_is_retriable(parry_store_error_kind(f->store))) return done + i;
        LOG_WARN("finishing run %" PRId64 ": %s", ids[i], err);
      }
    } else {
      atomic_store(&f->w->pg_ok, true);
      for (size_t i = 0; i < k; i++)
        if (!ok[i])
          LOG_WARN("run %" PRId64 " not finished here: its lease moved to another executor",
                   ids[i]);
    }
    done += k;
  }
  return done;
}

static void *finisher_main(void *arg) {
  parry_finisher_t *f = arg;
  parry_log_action("finishing runs");
  int64_t give_up = 0; /* after a stop: bounded retries */
  for (;;) {
    pthread_mutex_lock(&f->lock);
    while (!f->len && !f->stop) pthread_cond_wait(&f->cond, &f->lock);
    if (!f->len && f->stop) {
      pthread_mutex_unlock(&f->lock);
      break;
    }
    fin_t *batch = f->q;
    size_t n = f->len;
    f->q = NULL;
    f->len = f->cap = 0;
    bool stopping = f->stop;
    pthread_mutex_unlock(&f->lock);
    if (stopping && !give_up)
      give_up = parry_time_now_ns() + parry_config_int(f->w->cfg, "executor.shutdown_timeout") *
                                          (int64_t)1000000;
    size_t i = finish_some(f, batch, n);
    if (i < n && !(give_up && parry_time_now_ns() > give_up)) {
      /* Put the rest back in front, in order, and wait a little. */
      pthread_mutex_lock(&f->lock);
      size_t rest = n - i;
      fin_t *merged = parry_xnew(fin_t, rest + f->len + 1);
      memcpy(merged, batch + i, rest * sizeof *merged);
      memcpy(merged + rest, f->q, f->len * sizeof *merged);
      free(f->q);
      f->q = merged;
      f->len += rest;
      f->cap = f->len + 1;
      pthread_mutex_unlock(&f->lock);
      for (size_t j = 0; j < i; j++) free(batch[j].error);
      free(batch);
      struct timespec ts = {0, 200 * 1000000L};
      nanosleep(&ts, NULL);
      continue;
    }
    if (i < n) LOG_ERROR("%zu runs not finished at shutdown; the next executor finishes them", n - i);
    for (size_t j = 0; j < n; j++) free(batch[j].error);
    free(batch);
  }
  return NULL;
}

parry_finisher_t *parry_finisher_start(parry_worker_t *w, parry_store_t *store) {
  parry_finisher_t *f = parry_xnew(parry_finisher_t, 1);
  f->w = w;
  f->store = store;
  pthread_mutex_init(&f->lock, NULL);
  pthread_cond_init(&f->cond, NULL);
  if (pthread_create(&f->thread, NULL, finisher_main, f) == 0) f->thread_started = true;
  return f;
}

void parry_finisher_stop(parry_finisher_t *f) {
  if (!f) return;
  pthread_mutex_lock(&f->lock);
  f->stop = true;
  pthread_cond_signal(&f->cond);
  pthread_mutex_unlock(&f->lock);
  if (f->thread_started) pthread_join(f->thread, NULL);
  else finish_some(f, f->q, f->len);
  for (size_t i = 0; i < f->len; i++) free(f->q[i].error);
  free(f->q);
  parry_store_close(f->store);
  pthread_cond_destroy(&f->cond);
  pthread_mutex_destroy(&f->lock);
  free(f);
}
