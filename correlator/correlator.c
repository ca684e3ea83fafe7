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
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("%s", usage);
      return 0;
    }
  }
  char err[1024];
  parry_service_t *svc = NULL;
  parry_correlator_t *c = NULL;
  if (parry_service_start("correlator", &argc, argv, envp, &svc, err, sizeof err)) {
    fprintf(stderr, "parry-correlator: %s\n", err);
    return 2;
  }
  if (argc > 1) {
    fprintf(stderr, "parry-correlator: unexpected argument \"%s\" (see --help)\n", argv[1]);
    parry_service_destroy(svc);
    return 2;
  }
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
