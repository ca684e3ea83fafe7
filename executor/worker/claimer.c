/* Claiming runs off the scheduler's path. parry_store_claim_runs is two
 * round trips and loads each run's alert and case; done by the scheduler
 * itself, it stalled every call completion and every step transition
 * behind it. This thread, with its own PostgreSQL connection, claims as
 * soon as the intake created runs (parry_claimer_kick), or every
 * executor.poll_interval for runs released, retried or left by a dead
 * replica, and hands the claimed runs over through a list the scheduler
 * takes (parry_claimer_take) when the engine wakes it.
 *
 * Most new runs never need a claim: the intake leases them in its ingest
 * transaction (parry_store_ingest_batch_leased) within a share of the
 * scheduler's room it reserved here (parry_claimer_reserve) and hands them
 * over through the same list (parry_claimer_give).
 *
 * It never claims more than the scheduler has room for (room, set by the
 * scheduler): a claimed run holds a lease, and runs that only wait in a
 * list would keep other replicas from them. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "worker/internal.h"

struct parry_claimer {
  parry_worker_t *w;
  parry_store_t *store;
  pthread_t thread;
  bool thread_started;
  int64_t lease_ns, poll_ns;
  size_t batch;
  void (*wake)(void *);
  void *wake_opaque;
  pthread_mutex_t lock; /* guards what follows */
  pthread_cond_t cond;
  parry_run_t **ready; /* claimed, not taken yet */
  size_t n_ready, cap_ready;
  size_t room;  /* runs the scheduler can still take (besides ready) */
  size_t reserved; /* of room: promised to the intake, which leases them at ingest */
  bool kick;    /* new runs: claim now */
  bool hungry;  /* the last claim was full: more are waiting */
  bool stop;
};

static void *claimer_main(void *arg) {
  parry_claimer_t *c = arg;
  parry_log_action("claiming runs");
  pthread_mutex_lock(&c->lock);
  while (!c->stop) {
    size_t want = c->room > c->n_ready + c->reserved ? c->room - c->n_ready - c->reserved : 0;
    if (want > c->batch) want = c->batch;
    if (!want || (!c->kick && !c->hungry)) {
      /* Nothing to do until kicked, given room, or the poll interval. */
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      int64_t ns = until.tv_nsec + c->poll_ns;
      until.tv_sec += ns / 1000000000;
      until.tv_nsec = ns % 1000000000;
      /* Woken by a kick, by room for a hungry claimer, or by the poll
       * interval: each is a reason to claim if there is room. */
      pthread_cond_timedwait(&c->cond, &c->lock, &until);
      if (c->stop) break;
      want = c->room > c->n_ready + c->reserved ? c->room - c->n_ready - c->reserved : 0;
      if (want > c->batch) want = c->batch;
      if (!want) continue;
    }
    c->kick = false;
    pthread_mutex_unlock(&c->lock);
    parry_run_t **runs = NULL;
    size_t n = 0;
    char err[512];
    parry_err_t rc = parry_store_claim_runs(c->store, c->w->instance, c->lease_ns, want, &runs,
                                            &n, err, sizeof err);
    if (rc) {
      atomic_store(&c->w->pg_ok, false);
      LOG_WARN("claiming runs: %s", err);
    } else {
      atomic_store(&c->w->pg_ok, true);
    }
    pthread_mutex_lock(&c->lock);
    c->hungry = !rc && n == want;
    if (n) {
      if (c->n_ready + n > c->cap_ready) {
        c->cap_ready = (c->n_ready + n) * 2;
        c->ready = parry_xreallocarray(c->ready, c->cap_ready, sizeof *c->ready);
      }
      memcpy(c->ready + c->n_ready, runs, n * sizeof *runs);
      c->n_ready += n;
    }
    free(runs); /* the runs themselves are in ready now */
    if (n) {
      pthread_mutex_unlock(&c->lock);
      c->wake(c->wake_opaque);
      pthread_mutex_lock(&c->lock);
    }
    if (rc) {
      /* PostgreSQL away: wait a poll interval before the next try. */
      c->hungry = false;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

parry_claimer_t *parry_claimer_start(parry_worker_t *w, parry_store_t *store, int64_t lease_ns,
                                     int64_t poll_ns, size_t batch, size_t room,
                                     void (*wake)(void *), void *wake_opaque) {
  parry_claimer_t *c = parry_xnew(parry_claimer_t, 1);
  c->w = w;
  c->store = store;
  c->lease_ns = lease_ns;
  c->poll_ns = poll_ns > 0 ? poll_ns : 1000000;
  c->batch = batch ? batch : 1;
  c->room = room;
  c->wake = wake;
  c->wake_opaque = wake_opaque;
  c->kick = true; /* runs left from before a restart: at once */
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);
  if (pthread_create(&c->thread, NULL, claimer_main, c) == 0) c->thread_started = true;
  else LOG_ERROR("could not start the claiming thread; no run will be claimed");
  return c;
}

size_t parry_claimer_reserve(parry_claimer_t *c, size_t max) {
  pthread_mutex_lock(&c->lock);
  size_t free_slots =
      c->room > c->n_ready + c->reserved ? c->room - c->n_ready - c->reserved : 0;
  size_t n = max < free_slots ? max : free_slots;
  c->reserved += n;
  pthread_mutex_unlock(&c->lock);
  return n;
}

void parry_claimer_give(parry_claimer_t *c, size_t reserved, parry_run_t **runs, size_t n) {
  pthread_mutex_lock(&c->lock);
  c->reserved = c->reserved > reserved ? c->reserved - reserved : 0;
  if (n) {
    if (c->n_ready + n > c->cap_ready) {
      c->cap_ready = (c->n_ready + n) * 2;
      c->ready = parry_xreallocarray(c->ready, c->cap_ready, sizeof *c->ready);
    }
    memcpy(c->ready + c->n_ready, runs, n * sizeof *runs);
    c->n_ready += n;
  }
  /* Room given back that runs may be waiting for: the claimer may use it. */
  if (c->hungry && reserved > n) pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
  if (n) c->wake(c->wake_opaque);
}

void parry_claimer_kick(parry_claimer_t *c) {
  pthread_mutex_lock(&c->lock);
  c->kick = true;
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

size_t parry_claimer_take(parry_claimer_t *c, size_t room, parry_run_t ***out) {
  pthread_mutex_lock(&c->lock);
  *out = c->ready;
  size_t n = c->n_ready;
  c->ready = NULL;
  c->n_ready = c->cap_ready = 0;
  size_t before = c->room;
  c->room = room > n ? room - n : 0;
  /* Room that opened while more runs wait: claim them now, not at the poll. */
  if (c->hungry && c->room > before) pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
  return n;
}

void parry_claimer_stop(parry_claimer_t *c, parry_run_t ***left, size_t *n_left) {
  *left = NULL;
  *n_left = 0;
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  c->stop = true;
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
  if (c->thread_started) pthread_join(c->thread, NULL);
  c->thread_started = false;
  pthread_mutex_lock(&c->lock);
  *left = c->ready;
  *n_left = c->n_ready;
  c->ready = NULL;
  c->n_ready = c->cap_ready = 0;
  pthread_mutex_unlock(&c->lock);
}

void parry_claimer_destroy(parry_claimer_t *c) {
  if (!c) return;
  parry_run_t **left;
  size_t n;
  parry_claimer_stop(c, &left, &n);
  parry_runs_free(left, n); /* not released: their leases expire */
  parry_store_close(c->store);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  free(c);
}
