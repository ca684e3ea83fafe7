#include "correlator.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parry/log.h"
#include "parry/service.h"

static const char usage[] =
    "usage: parry-correlator [--config FILE] [--set key=value]...\n"
    "\n"
    "Consumes Events from topics.events, evaluates the Sigma rules of\n"
    "correlator.rules and produces Alerts to topics.alerts (undecodable\n"
    "messages go to topics.dlq). Offsets are committed after the alerts are\n"
    "acknowledged (at-least-once; alert ids are deterministic).\n"
    "\n"
    "Settings: `parry config --reference` or docs/configuration.md.\n"
    "Environment: PARRY_CONFIG names the file; PARRY_<KEY> sets a key.\n";

int parry_correlator_main(int argc, char **argv, char **envp) {
  char err[1024];
  parry_service_t *svc = NULL;
  parry_correlator_t *c = NULL;
  int early = parry_service_open("correlator", usage, argc, argv, envp, &svc);
  if (early >= 0) return early;
  parry_log_action("starting");
  parry_service_set_ready(svc, false, "loading rules");
  if (parry_correlator_start(svc->config, svc->metrics, &c, err, sizeof err)) {
    LOG_ERROR("could not start: %s", err);
    fprintf(stderr, "parry-correlator: %s\n", err);
    parry_service_destroy(svc);
    return 2;
  }
  parry_log_action("running");
  bool was_ready = false;
  while (!parry_service_stopping()) {
    char why[512] = "";
    if (parry_correlator_failed(c, why, sizeof why)) break;
    bool ready = parry_correlator_ready(c, why, sizeof why);
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
  int rc = parry_correlator_stop(c);
  if (rc) LOG_ERROR("stopped with undelivered alerts; their events will be re-read on restart");
  else LOG_INFO("stopped; every alert delivered and its offsets committed");
  parry_service_destroy(svc);
  return rc ? 1 : 0;
}
