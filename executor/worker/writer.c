/* Step transitions written by a pool of threads, each with its own
 * PostgreSQL connection, so that the scheduler keeps driving calls while
 * PostgreSQL works, and so that several transactions run at once.
 *
 * Events are sharded by run id: all events of one run go through one thread,
 * in the order submitted, which is the order the store must see them in
 * (STARTED before SUCCEEDED, a step before the steps that need it). A batch
 * that fails on the connection is retried from the first unwritten event,
 * never reordered. Results come back to the scheduler through a done list
 * and a wake-up call. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "worker/internal.h"

typedef struct {
  parry_step_event_t ev;
  void *tag;
} item_t;

typedef struct {
  struct parry_writer *pool;
  parry_store_t *store;
  pthread_t thread;
  bool started;
  item_t *q; /* guarded by pool->lock */
  size_t len, cap;
} shard_t;

struct parry_writer {
  parry_worker_t *w;
  shard_t *shards;
  size_t n;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool stop;
  int64_t give_up_ns; /* after stop: unwritten events are abandoned then */
  parry_writer_done_t *done;
  size_t done_len, done_cap;
  size_t outstanding;
  void (*wake)(void *);
  void *wake_opaque;
};

static void push_done(parry_writer_t *p, const item_t *it, size_t n, const bool *ok) {
  pthread_mutex_lock(&p->lock);
  if (p->done_len + n > p->done_cap) {
    p->done_cap = (p->done_len + n) * 2;
    p->done = parry_xreallocarray(p->done, p->done_cap, sizeof *p->done);
  }
  for (size_t i = 0; i < n; i++) p->done[p->done_len++] = (parry_writer_done_t){it[i].tag, ok[i]};
  p->outstanding -= n;
  pthread_mutex_unlock(&p->lock);
  p->wake(p->wake_opaque);
}

static void *shard_main(void *arg) {
  shard_t *sh = arg;
  parry_writer_t *p = sh->pool;
  parry_log_action("recording step transitions");
  for (;;) {
    pthread_mutex_lock(&p->lock);
    while (!sh->len && !p->stop) pthread_cond_wait(&p->cond, &p->lock);
    if (!sh->len) {
      pthread_mutex_unlock(&p->lock);
      break;
    }
    item_t *batch = sh->q;
    size_t n = sh->len;
    sh->q = NULL;
    sh->len = sh->cap = 0;
    bool stopping = p->stop;
    int64_t give_up = p->give_up_ns;
    pthread_mutex_unlock(&p->lock);
    parry_step_event_t *evs = parry_xnew(parry_step_event_t, n);
    bool *ok = parry_xnew(bool, n);
    for (size_t i = 0; i < n; i++) evs[i] = batch[i].ev;
    char err[512];
    parry_err_t rc = parry_store_steps(sh->store, p->w->instance, evs, n, ok, err, sizeof err);
    free(evs);
    size_t written = n;
    if (rc) {
      written = 0;
      while (written < n && ok[written]) written++;
      atomic_store(&p->w->pg_ok, false);
      LOG_WARN("recording %zu step transitions: %s; %zu recorded, retrying", n, err, written);
    } else {
      atomic_store(&p->w->pg_ok, true);
    }
    if (written) push_done(p, batch, written, ok);
    if (written < n) {
      if (stopping && parry_time_now_ns() > give_up) {
        /* Abandoned: the runs' leases expire and another executor resumes them. */
        bool *no = parry_xnew(bool, n - written);
        push_done(p, batch + written, n - written, no);
        free(no);
      } else {
        /* Back in front of whatever came meanwhile, in order. */
        pthread_mutex_lock(&p->lock);
        size_t rest = n - written;
        item_t *merged = parry_xnew(item_t, rest + sh->len + 1);
        memcpy(merged, batch + written, rest * sizeof *merged);
        memcpy(merged + rest, sh->q, sh->len * sizeof *merged);
        free(sh->q);
        sh->q = merged;
        sh->len += rest;
        sh->cap = sh->len + 1;
        pthread_mutex_unlock(&p->lock);
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
      }
    }
    free(ok);
    free(batch);
  }
  return NULL;
}

parry_writer_t *parry_writer_start(parry_worker_t *w, size_t n, void (*wake)(void *),
                                   void *wake_opaque) {
  parry_writer_t *p = parry_xnew(parry_writer_t, 1);
  p->w = w;
  p->n = n ? n : 1;
  p->wake = wake;
  p->wake_opaque = wake_opaque;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->shards = parry_xnew(shard_t, p->n);
  for (size_t i = 0; i < p->n; i++) {
    shard_t *sh = &p->shards[i];
    sh->pool = p;
    sh->store = parry_worker_store_open(w);
    if (!sh->store) { /* stopping already */
      p->n = i;
      break;
    }
    sh->started = pthread_create(&sh->thread, NULL, shard_main, sh) == 0;
  }
  return p;
}

void parry_writer_submit(parry_writer_t *p, int64_t run_id, const parry_step_event_t *ev,
                         void *tag) {
  shard_t *sh = &p->shards[(uint64_t)run_id % p->n];
  pthread_mutex_lock(&p->lock);
  if (sh->len == sh->cap) {
    sh->cap = sh->cap ? sh->cap * 2 : 256;
    sh->q = parry_xreallocarray(sh->q, sh->cap, sizeof *sh->q);
  }
  sh->q[sh->len++] = (item_t){*ev, tag};
  p->outstanding++;
  pthread_mutex_unlock(&p->lock);
}

void parry_writer_kick(parry_writer_t *p) {
  pthread_mutex_lock(&p->lock);
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

size_t parry_writer_take_done(parry_writer_t *p, parry_writer_done_t **out) {
  pthread_mutex_lock(&p->lock);
  *out = p->done;
  size_t n = p->done_len;
  p->done = NULL;
  p->done_len = p->done_cap = 0;
  pthread_mutex_unlock(&p->lock);
  return n;
}

size_t parry_writer_outstanding(parry_writer_t *p) {
  pthread_mutex_lock(&p->lock);
  size_t n = p->outstanding;
  pthread_mutex_unlock(&p->lock);
  return n;
}

void parry_writer_stop(parry_writer_t *p, int64_t give_up_ns) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  p->stop = true;
  p->give_up_ns = give_up_ns;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  for (size_t i = 0; i < p->n; i++) {
    if (p->shards[i].started) pthread_join(p->shards[i].thread, NULL);
    p->shards[i].started = false;
  }
}

void parry_writer_destroy(parry_writer_t *p) {
  if (!p) return;
  parry_writer_stop(p, 0);
  for (size_t i = 0; i < p->n; i++) {
    free(p->shards[i].q);
    parry_store_close(p->shards[i].store);
  }
  free(p->shards);
  free(p->done);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  free(p);
}
