#include "correlator.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parry/log.h"
#include "parry/service.h"
#include "sigma/sigma.h"

static const char usage[] =
    "usage: parry-correlator [--config FILE] [--set key=value]...\n"
    "\n"
    "Stage 1 (detect) consumes Events from topics.events, evaluates the Sigma\n"
    "rules of correlator.rules and produces Alerts to topics.alerts and\n"
    "correlation Signals to topics.signals. Stage 2 (correlate) consumes\n"
    "topics.signals, keeps the correlation windows of its partitions (changelog\n"
    "in topics.state) and produces correlation Alerts. Both commit their output\n"
    "with their offsets in Kafka transactions (exactly-once for read_committed\n"
    "readers). correlator.stages picks both (default), detect or correlate.\n"
    "\n"
    "Settings: `parry config --reference` or docs/configuration.md.\n"
    "Environment: PARRY_CONFIG names the file; PARRY_<KEY> sets a key.\n";

/* Whether the rules hold correlation rules (for stages=both: no stage 2
 * without them). Loading twice is cheap next to a process lifetime. */
static bool has_correlations(const parry_config_t *cfg) {
  char err[512];
  parry_sigma_ruleset_t *rs = parry_correlator_load_rules(cfg, NULL, err, sizeof err);
  bool yes = rs && parry_sigma_correlation_count(rs) > 0;
  parry_sigma_ruleset_destroy(rs);
  return yes;
}

int parry_correlator_main(int argc, char **argv, char **envp) {
  char err[1024];
  parry_service_t *svc = NULL;
  parry_correlator_t *c = NULL;
  parry_corr_stage2_t *s2 = NULL;
  int early = parry_service_open("correlator", usage, argc, argv, envp, &svc);
  if (early >= 0) return early;
  parry_log_action("starting");
  parry_service_set_ready(svc, false, "loading rules");
  const char *stages = parry_config_str(svc->config, "correlator.stages");
  bool detect = strcmp(stages, "correlate") != 0;
  bool correlate = strcmp(stages, "detect") != 0;
  if (detect && correlate && !has_correlations(svc->config)) {
    LOG_INFO("no correlation rule in correlator.rules: stage 2 not started");
    correlate = false;
  }
  if (detect && parry_correlator_start(svc->config, svc->metrics, &c, err, sizeof err)) {
    LOG_ERROR("could not start stage 1: %s", err);
    fprintf(stderr, "parry-correlator: %s\n", err);
    parry_service_destroy(svc);
    return 2;
  }
  if (correlate && parry_corr_stage2_start(svc->config, svc->metrics, &s2, err, sizeof err)) {
    LOG_ERROR("could not start stage 2: %s", err);
    fprintf(stderr, "parry-correlator: %s\n", err);
    parry_correlator_stop(c);
    parry_service_destroy(svc);
    return 2;
  }
  parry_log_action("running");
  bool was_ready = false;
  while (!parry_service_stopping()) {
    char why[512] = "";
    if ((c && parry_correlator_failed(c, why, sizeof why)) ||
        (s2 && parry_corr_stage2_failed(s2, why, sizeof why)))
      break;
    bool ready = (!c || parry_correlator_ready(c, why, sizeof why)) &&
                 (!s2 || parry_corr_stage2_ready(s2, why, sizeof why));
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
  rc |= parry_corr_stage2_stop(s2);
  if (rc) LOG_ERROR("stopped after a failure; uncommitted input will be re-read");
  else LOG_INFO("stopped; every transaction committed");
  parry_service_destroy(svc);
  return rc ? 1 : 0;
}
