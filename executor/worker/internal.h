/* State shared by the executor's threads (worker.c, intake.c, scheduler.c).
 * Not a public header. */
#ifndef PARRY_EXECUTOR_WORKER_INTERNAL_H
#define PARRY_EXECUTOR_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "parry/config.h"
#include "parry/metrics.h"
#include "runbook/runbook.h"
#include "store/store.h"
#include "worker/worker.h"

typedef struct parry_intake parry_intake_t;
typedef struct parry_scheduler parry_scheduler_t;

struct parry_worker {
  const parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_runbook_set_t *runbooks;
  parry_intake_t *intake;
  parry_scheduler_t *scheduler;
  char *dsn;           /* pg.dsn (a secret: never logged) */
  char *instance;      /* lease owner: host/pid/random */
  atomic_bool stop;
  atomic_bool failed;
  atomic_bool pg_ok;     /* last statement of each thread reached the server */
  atomic_bool migrated;  /* schema up to date */
  atomic_bool assigned;  /* the consumer holds partitions */
  /* Backpressure, written by the scheduler, read by the intake. */
  atomic_llong runs_in_flight;   /* claimed by this scheduler */
  atomic_llong runs_created;     /* by this intake */
  atomic_llong runs_claimed_new; /* claimed here for the first time (claims == 1) */
  atomic_llong runs_runnable;    /* fleet-wide, from the store (parry_store_runs_runnable),
                                    refreshed by the intake; -1 before the first count */
  pthread_mutex_t lock;        /* guards fail_why and the ping members */
  char fail_why[512];
  /* Readiness probe (parry_worker_ready): its own connection, pinged at
   * most every PING_EVERY_NS, the outcome kept in between. */
  parry_store_t *ping_store;
  int64_t next_ping_ns;
  bool ping_ok;
  char ping_why[256];
  /* metrics */
  parry_metric_t *m_alerts, *m_duplicates, *m_unmatched, *m_cases_opened;
  parry_metric_t *m_runs_created, *m_runs_succeeded, *m_runs_failed;
  parry_metric_t *m_runs_in_flight, *m_steps_in_flight, *m_runs_pending, *m_paused;
  parry_metric_t *m_dlq_decode, *m_dlq_schema, *m_dlq_noid, *m_dlq_store;
};

void parry_worker_set_failed(parry_worker_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Open a store on pg.dsn, retrying with backoff until connected or
 * stopping; NULL only when stopping. */
parry_store_t *parry_worker_store_open(parry_worker_t *w);

/* Runs in flight for backpressure: claimed here, plus runs waiting to be
 * claimed: the fleet-wide count of runnable runs in the store, or the runs
 * this process created that no scheduler claimed yet if that is more (the
 * count lags by up to its refresh interval). */
long long parry_worker_in_flight(parry_worker_t *w);

/* Step counter by connector and status, registered on first use. */
parry_metric_t *parry_worker_step_metric(parry_worker_t *w, const char *connector,
                                         const char *status);

parry_err_t parry_intake_start(parry_worker_t *w, parry_intake_t **out, char *errstr, size_t n);
void parry_intake_stop(parry_intake_t *in); /* accepts NULL */

parry_err_t parry_scheduler_start(parry_worker_t *w, parry_scheduler_t **out, char *errstr,
                                  size_t n);
void parry_scheduler_stop(parry_scheduler_t *s); /* accepts NULL */
/* The thread that finishes runs for the scheduler (worker/finisher.c):
 * takes over store (its own connection); push after every step transition
 * of the run is written. stop drains what is queued (bounded by
 * executor.shutdown_timeout) and closes the store. */
typedef struct parry_finisher parry_finisher_t;
parry_finisher_t *parry_finisher_start(parry_worker_t *w, parry_store_t *store);
void parry_finisher_push(parry_finisher_t *f, int64_t run_id, bool ok, const char *error);
void parry_finisher_stop(parry_finisher_t *f); /* accepts NULL */

/* The pool that writes step transitions (worker/writer.c): n threads, each
 * with its own store, events of one run always through the same thread in
 * submission order. wake(opaque) is called (from a writer thread) when
 * results are ready; take_done returns them (array the caller frees), per
 * run in submission order. ok false: not recorded (lease lost, or abandoned
 * at stop). stop: writes what it can until give_up_ns, then abandons. */
typedef struct parry_writer parry_writer_t;
typedef struct {
  void *tag;
  bool ok;
} parry_writer_done_t;
parry_writer_t *parry_writer_start(parry_worker_t *w, size_t n, void (*wake)(void *),
                                   void *wake_opaque);
void parry_writer_submit(parry_writer_t *p, int64_t run_id, const parry_step_event_t *ev,
                         void *tag);
void parry_writer_kick(parry_writer_t *p); /* after submits: wake the threads */
size_t parry_writer_take_done(parry_writer_t *p, parry_writer_done_t **out);
size_t parry_writer_outstanding(parry_writer_t *p);
/* Join the threads (take_done still works afterwards); then destroy. */
void parry_writer_stop(parry_writer_t *p, int64_t give_up_ns); /* accepts NULL */
void parry_writer_destroy(parry_writer_t *p);                  /* accepts NULL */

/* New runs were created: claim them now rather than at the next poll.
 * Safe from any thread. */
void parry_scheduler_kick(parry_scheduler_t *s);
/* parry_claimer_reserve / parry_claimer_give of the scheduler's claimer;
 * reserve returns 0 (and give frees the runs) before it started or after it
 * stopped. */
size_t parry_scheduler_reserve(parry_scheduler_t *s, size_t max);
void parry_scheduler_give(parry_scheduler_t *s, size_t reserved, parry_run_t **runs, size_t n);

/* The thread that claims runs for the scheduler (worker/claimer.c): takes
 * over store; claims at most `room` runs ahead (the scheduler's free
 * slots), batch at a time, when kicked or every poll_ns; wake(opaque) when
 * runs are ready. take: the runs claimed so far (array the caller frees;
 * the runs are the caller's) and the scheduler's free slots now. stop:
 * joins the thread and returns the runs claimed but never taken (the
 * caller releases them). */
typedef struct parry_claimer parry_claimer_t;
parry_claimer_t *parry_claimer_start(parry_worker_t *w, parry_store_t *store, int64_t lease_ns,
                                     int64_t poll_ns, size_t batch, size_t room,
                                     void (*wake)(void *), void *wake_opaque);
void parry_claimer_kick(parry_claimer_t *c);
/* The intake leases new runs in its ingest transaction
 * (parry_store_ingest_batch_leased) for the scheduler: reserve promises it
 * up to max of the scheduler's free slots (returns how many; the claimer
 * does not claim into them), give hands over the runs leased (n <= reserved)
 * and returns the rest of the reservation. Safe from any thread. */
size_t parry_claimer_reserve(parry_claimer_t *c, size_t max);
void parry_claimer_give(parry_claimer_t *c, size_t reserved, parry_run_t **runs, size_t n);
size_t parry_claimer_take(parry_claimer_t *c, size_t room, parry_run_t ***out);
void parry_claimer_stop(parry_claimer_t *c, parry_run_t ***left, size_t *n_left); /* NULL ok */
/* After stop (kicks stay safe until then); accepts NULL. */
void parry_claimer_destroy(parry_claimer_t *c);

#endif
