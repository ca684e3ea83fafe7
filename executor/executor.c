#include "executor.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parry/log.h"
#include "parry/service.h"
#include "worker/worker.h"

static const char usage[] =
    "usage: parry-executor [--config FILE] [--set key=value]...\n"
    "\n"
    "Consumes Alerts from topics.alerts, stores them with their cases and runs\n"
    "in PostgreSQL (pg.dsn), and runs the runbooks of executor.runbooks through\n"
    "the connectors of executor.connectors. Offsets are committed after the\n"
    "PostgreSQL transaction (at-least-once into an idempotent store); step\n"
    "calls carry the idempotency key <alert id>:<step id>. Undecodable alerts\n"
    "go to topics.dlq.\n"
    "\n"
    "Settings: `parry config --reference` or docs/configuration.md.\n"
    "Environment: PARRY_CONFIG names the file; PARRY_<KEY> sets a key.\n";

int parry_executor_main(int argc, char **argv, char **envp) {
  char err[1024];
  parry_service_t *svc = NULL;
  parry_worker_t *w = NULL;
  int early = parry_service_open("executor", usage, argc, argv, envp, &svc);
  if (early >= 0) return early;
  parry_log_action("starting");
  parry_service_set_ready(svc, false, "loading runbooks and migrating the case store");
  if (parry_worker_start(svc->config, svc->metrics, &w, err, sizeof err)) {
    LOG_ERROR("could not start: %s", err);
    fprintf(stderr, "parry-executor: %s\n", err);
    parry_service_destroy(svc);
    return 2;
  }
  parry_log_action("running");
  bool was_ready = false;
  while (!parry_service_stopping()) {
    char why[512] = "";
    if (parry_worker_failed(w, why, sizeof why)) break;
    bool ready = parry_worker_ready(w, why, sizeof why);
    parry_service_set_ready(svc, ready, why);
    if (ready != was_ready) {
      if (ready) LOG_INFO("ready");
      else LOG_WARN("not ready: %s", why);
    }
    was_ready = ready;
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
  }
  parry_service_set_ready(svc, false, "shutting down");
  parry_log_action("stopping");
  int rc = parry_worker_stop(w);
  if (rc) LOG_ERROR("stopped after a failure; unfinished work resumes on restart");
  else LOG_INFO("stopped; runs in progress were handed back to the store");
  parry_service_destroy(svc);
  return rc ? 1 : 0;
}
