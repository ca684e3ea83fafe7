/* The executor service: start, readiness, stop. The work is in intake.c and
 * scheduler.c; see worker/worker.h. */
#include "worker/worker.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "worker/internal.h"

#define MAX_LOGGED_ERRORS 20
#define PING_EVERY_NS (1000 * (int64_t)1000000)

void parry_worker_set_failed(parry_worker_t *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&w->lock);
  vsnprintf(w->fail_why, sizeof w->fail_why, fmt, ap);
  LOG_ERROR("%s", w->fail_why);
  pthread_mutex_unlock(&w->lock);
  va_end(ap);
  atomic_store(&w->failed, true);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

parry_store_t *parry_worker_store_open(parry_worker_t *w) {
  int backoff = 100;
  for (;;) {
    char err[512];
    parry_store_t *s = parry_store_open(w->dsn, err, sizeof err);
    /* Connector secrets are masked wherever they turn up in what is stored. */
    if (s && parry_store_add_connector_secrets(s, w->cfg, err, sizeof err) != PARRY_OK) {
      parry_store_close(s);
      s = NULL;
    }
    if (s) {
      atomic_store(&w->pg_ok, true);
      return s;
    }
    atomic_store(&w->pg_ok, false);
    LOG_WARN("case store: %s; retrying in %d ms", err, backoff);
    for (int waited = 0; waited < backoff; waited += 100) {
      if (atomic_load(&w->stop)) return NULL;
      sleep_ms(100);
    }
    backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
  }
}

parry_metric_t *parry_worker_step_metric(parry_worker_t *w, const char *connector,
                                         const char *status) {
  return parry_metrics_counter(w->metrics, "parry_executor_steps_total",
                               "Step outcomes, by connector and status (succeeded, failed, "
                               "retried, skipped)",
                               "connector", connector, "status", status, NULL);
}

static void register_metrics(parry_worker_t *w) {
  parry_metrics_t *m = w->metrics;
  w->m_alerts = parry_metrics_counter(m, "parry_executor_alerts_total",
                                      "Alerts decoded from topics.alerts", NULL);
  w->m_duplicates = parry_metrics_counter(m, "parry_executor_alerts_duplicate_total",
                                          "Alerts already in the store (redelivered)", NULL);
  w->m_unmatched = parry_metrics_counter(m, "parry_executor_alerts_unmatched_total",
                                         "Alerts no runbook matched (stored without a case)",
                                         NULL);
  w->m_cases_opened = parry_metrics_counter(m, "parry_executor_cases_opened_total",
                                            "Cases opened", NULL);
  const char *runs_help = "Runs created, succeeded and failed";
  w->m_runs_created = parry_metrics_counter(m, "parry_executor_runs_total", runs_help, "status",
                                            "created", NULL);
  w->m_runs_succeeded = parry_metrics_counter(m, "parry_executor_runs_total", runs_help,
                                              "status", "succeeded", NULL);
  w->m_runs_failed = parry_metrics_counter(m, "parry_executor_runs_total", runs_help, "status",
                                           "failed", NULL);
  w->m_runs_in_flight = parry_metrics_gauge(m, "parry_executor_runs_in_flight",
                                            "Runs claimed by this executor", NULL);
  w->m_steps_in_flight = parry_metrics_gauge(m, "parry_executor_steps_in_flight",
                                             "Connector calls in progress", NULL);
  w->m_runs_pending = parry_metrics_gauge(m, "parry_executor_runs_pending",
                                          "Runs any executor could claim now (fleet-wide, from the store)", NULL);
  w->m_paused = parry_metrics_gauge(m, "parry_executor_consumer_paused",
                                    "1 while the alert consumer is paused (backpressure)", NULL);
  const char *dlq_help = "Messages of topics.alerts sent to topics.dlq";
  w->m_dlq_decode = parry_metrics_counter(m, "parry_executor_dlq_total", dlq_help, "reason",
                                          "decode", NULL);
  w->m_dlq_schema = parry_metrics_counter(m, "parry_executor_dlq_total", dlq_help, "reason",
                                          "schema_version", NULL);
  w->m_dlq_noid = parry_metrics_counter(m, "parry_executor_dlq_total", dlq_help, "reason",
                                        "no_id", NULL);
  w->m_dlq_store = parry_metrics_counter(m, "parry_executor_dlq_total", dlq_help, "reason",
                                         "store", NULL);
}

static parry_err_t load_runbooks(parry_worker_t *w, char *errstr, size_t n) {
  const char *spec = parry_config_str(w->cfg, "executor.runbooks");
  char *copy = parry_xstrdup(spec);
  const char **paths = NULL;
  size_t np = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ' || *tok == '\t') tok++;
    char *end = tok + strlen(tok);
    while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
    if (!*tok) continue;
    paths = parry_xreallocarray(paths, np + 1, sizeof *paths);
    paths[np++] = tok;
  }
  parry_err_t rc = PARRY_OK;
  parry_runbook_report_t rep = {0};
  if (!np) {
    rc = parry_fail(errstr, n, PARRY_ERR_INVALID,
                    "executor.runbooks: no runbook path given (comma-separated files or "
                    "folders)");
    goto out;
  }
  char err[512];
  w->runbooks = parry_runbooks_load(paths, np, &rep, err, sizeof err);
  if (!w->runbooks) {
    rc = parry_fail(errstr, n, PARRY_ERR_INVALID, "executor.runbooks: %s", err);
    goto out;
  }
  for (size_t i = 0; i < rep.n_errors && i < MAX_LOGGED_ERRORS; i++) {
    const parry_runbook_error_t *e = &rep.errors[i];
    LOG_ERROR("runbook: %s:%u:%u: %s: %s", e->file, e->line, e->column, e->field, e->message);
  }
  if (rep.n_errors) {
    const parry_runbook_error_t *e = &rep.errors[0];
    rc = parry_fail(errstr, n, PARRY_ERR_INVALID,
                    "executor.runbooks: %zu error(s), first: %s:%u:%u: %s: %s (`parry "
                    "runbooks check` lists them all)",
                    rep.n_errors, e->file, e->line, e->column, e->field, e->message);
    goto out;
  }
  if (!parry_runbook_set_count(w->runbooks)) {
    rc = parry_fail(errstr, n, PARRY_ERR_INVALID, "executor.runbooks: no runbook found in \"%s\"",
                    spec);
    goto out;
  }
  LOG_INFO("runbooks: %zu loaded (%zu steps) from %zu files", rep.runbooks, rep.steps, rep.files);
out:
  parry_runbook_report_free(&rep);
  free(paths);
  free(copy);
  return rc;
}

static const char *migrations_setting(const parry_config_t *cfg) {
  /* Declared by the store's settings; tolerate a build without it. */
  if (!parry_setting_find("executor.db.migrations")) return NULL;
  const char *v = parry_config_str(cfg, "executor.db.migrations");
  return *v ? v : NULL;
}

/* The highest NNNN of dir's NNNN_name.sql files (0 when none). */
static long latest_migration(const char *dir) {
  DIR *d = opendir(dir);
  long best = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    char *end;
    long v = strtol(de->d_name, &end, 10);
    size_t len = strlen(de->d_name);
    if (end != de->d_name && *end == '_' && len > 4 && strcmp(de->d_name + len - 4, ".sql") == 0 &&
        v > best)
      best = v;
  }
  if (d) closedir(d);
  return best;
}

/* executor.migrate off: the schema must already be at the newest migration. */
static parry_err_t check_migrated(parry_store_t *s, const char *dir, char *errstr, size_t n) {
  long want = latest_migration(dir);
  PGresult *res = PQexec(parry_store_conn(s),
                         "SELECT coalesce(max(version), 0) FROM parry_schema_migrations");
  parry_err_t rc = PARRY_OK;
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = parry_fail(errstr, n, PARRY_ERR_EXTERNAL,
                    "case store schema missing (executor.migrate is off; run `parry migrate`): %s",
                    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                        ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                        : PQerrorMessage(parry_store_conn(s)));
  else if (atol(PQgetvalue(res, 0, 0)) < want)
    rc = parry_fail(errstr, n, PARRY_ERR_EXTERNAL,
                    "case store schema at migration %s, %s has %ld (executor.migrate is off; run "
                    "`parry migrate`)",
                    PQgetvalue(res, 0, 0), dir, want);
  PQclear(res);
  return rc;
}

/* Apply the migrations, or (executor.migrate off) check that they are. */
static parry_err_t prepare_store(parry_worker_t *w, char *errstr, size_t n) {
  char err[512];
  parry_store_t *s = parry_store_open(w->dsn, err, sizeof err);
  if (!s) return parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "pg.dsn: %s", err);
  parry_err_t rc = PARRY_OK;
  const char *dir = parry_store_migrations_dir(migrations_setting(w->cfg));
  if (parry_config_bool(w->cfg, "executor.migrate")) {
    if (parry_store_migrate(s, dir, err, sizeof err))
      rc = parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "migrations of %s: %s", dir, err);
    else LOG_INFO("case store schema up to date (%s)", dir);
  } else {
    rc = check_migrated(s, dir, errstr, n);
  }
  parry_store_close(s);
  if (!rc) {
    atomic_store(&w->pg_ok, true);
    atomic_store(&w->migrated, true);
  }
  return rc;
}

static void destroy(parry_worker_t *w) {
  parry_store_close(w->ping_store);
  if (w->runbooks) parry_runbook_set_destroy(w->runbooks);
  free(w->dsn);
  free(w->instance);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

parry_err_t parry_worker_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                               parry_worker_t **out, char *errstr, size_t errstr_size) {
  parry_worker_t *w = parry_xnew(parry_worker_t, 1);
  pthread_mutex_init(&w->lock, NULL);
  w->cfg = cfg;
  w->metrics = metrics;
  w->dsn = parry_xstrdup(parry_config_str(cfg, "pg.dsn"));
  char host[128] = "";
  gethostname(host, sizeof host - 1);
  char inst[256];
  snprintf(inst, sizeof inst, "%s/%ld/%08lx", host, (long)getpid(),
           (unsigned long)(parry_time_now_ns() & 0xffffffff));
  w->instance = parry_xstrdup(inst);
  atomic_store(&w->runs_runnable, -1);
  register_metrics(w);
  parry_err_t rc;
  if (!*w->dsn) {
    rc = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                    "pg.dsn: the case store's connection string is required");
    goto fail;
  }
  if ((rc = load_runbooks(w, errstr, errstr_size))) goto fail;
  if ((rc = prepare_store(w, errstr, errstr_size))) goto fail;
  if ((rc = parry_scheduler_start(w, &w->scheduler, errstr, errstr_size))) goto fail;
  if ((rc = parry_intake_start(w, &w->intake, errstr, errstr_size))) {
    atomic_store(&w->stop, true);
    parry_scheduler_stop(w->scheduler);
    goto fail;
  }
  LOG_INFO("executor %s started", w->instance);
  *out = w;
  return PARRY_OK;
fail:
  destroy(w);
  return rc;
}

bool parry_worker_failed(parry_worker_t *w, char *why, size_t why_size) {
  if (!atomic_load(&w->failed)) return false;
  if (why) {
    pthread_mutex_lock(&w->lock);
    snprintf(why, why_size, "%s", w->fail_why);
    pthread_mutex_unlock(&w->lock);
  }
  return true;
}

/* parry_store_ping on the probe's own connection (reconnecting as needed),
 * at most every PING_EVERY_NS: a readiness probe polled every 200 ms must
 * not become PostgreSQL load. */
static bool ping(parry_worker_t *w, char *why, size_t why_size) {
  pthread_mutex_lock(&w->lock);
  int64_t now = parry_time_now_ns();
  if (now >= w->next_ping_ns) {
    w->next_ping_ns = now + PING_EVERY_NS;
    char err[256] = "";
    if (!w->ping_store) w->ping_store = parry_store_open(w->dsn, err, sizeof err);
    w->ping_ok = w->ping_store && parry_store_ping(w->ping_store, err, sizeof err) == PARRY_OK;
    if (!w->ping_ok) snprintf(w->ping_why, sizeof w->ping_why, "case store: %s", err);
  }
  bool ok = w->ping_ok;
  if (!ok) snprintf(why, why_size, "%s", w->ping_why);
  pthread_mutex_unlock(&w->lock);
  return ok;
}

bool parry_worker_ready(parry_worker_t *w, char *why, size_t why_size) {
  if (parry_worker_failed(w, why, why_size)) return false;
  if (!atomic_load(&w->migrated)) {
    snprintf(why, why_size, "case store migrations not applied");
    return false;
  }
  if (!ping(w, why, why_size)) return false;
  if (!atomic_load(&w->assigned)) {
    snprintf(why, why_size, "no partition of %s assigned yet (group %s)",
             parry_config_str(w->cfg, "topics.alerts"), parry_config_str(w->cfg, "executor.group"));
    return false;
  }
  return true;
}

int parry_worker_stop(parry_worker_t *w) {
  if (!w) return 0;
  atomic_store(&w->stop, true);
  parry_intake_stop(w->intake);
  parry_scheduler_stop(w->scheduler);
  int rc = atomic_load(&w->failed) ? 1 : 0;
  destroy(w);
  return rc;
}
