#include "ingestor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "normalize.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parry/service.h"
#include "publish.h"
#include "sources/sources.h"

static const char usage[] =
    "usage: parry-ingestor [--config FILE] [--set key=value]...\n"
    "\n"
    "Receives security logs (syslog over UDP, TCP and TLS; HTTP POST /v1/events;\n"
    "raw Kafka topics; files), normalizes them into events on topics.events and\n"
    "sends what cannot be parsed to topics.dlq. Enable sources with\n"
    "ingestor.syslog.{udp,tcp,tls}.enabled, ingestor.http.enabled,\n"
    "ingestor.kafka.enabled or ingestor.files.\n"
    "\n"
    "Settings: `parry config --reference` or docs/configuration.md.\n"
    "Environment: PARRY_CONFIG names the file; PARRY_<KEY> sets a key.\n"
    "Exit: 0 after SIGTERM/SIGINT (or, with ingestor.exit_after_files, once the\n"
    "files are delivered); 1 if a replay lost messages; 2 on a configuration error.\n";

struct parry_ingestor {
  const parry_config_t *cfg;
  parry_normalizer_t *normalizer;
  parry_publisher_t *pub;
  parry_allowlist_t *allow;
  parry_source_env_t env;
  parry_udp_source_t *udp;
  parry_tcp_source_t *tcp, *tls;
  parry_http_source_t *http;
  parry_kafka_source_t *kafka;
  parry_files_source_t *files;
  int64_t shutdown_timeout_ms;
};

/* The syslog listeners that rely on the allowlist: all but a TLS listener
 * with client certificates. */
static bool needs_allowlist(const parry_config_t *cfg) {
  return parry_config_bool(cfg, "ingestor.syslog.udp.enabled") ||
         parry_config_bool(cfg, "ingestor.syslog.tcp.enabled") ||
         (parry_config_bool(cfg, "ingestor.syslog.tls.enabled") &&
          !*parry_config_str(cfg, "ingestor.syslog.tls.client_ca_file"));
}

parry_err_t parry_ingestor_start(const parry_config_t *cfg, parry_metrics_t *metrics,
                                 parry_ingestor_t **out, char *errstr, size_t errstr_size) {
  parry_ingestor_t *ing = parry_xnew(parry_ingestor_t, 1);
  parry_err_t err = PARRY_OK;
  ing->cfg = cfg;
  ing->shutdown_timeout_ms = parry_config_int(cfg, "ingestor.shutdown_timeout");

  bool udp = parry_config_bool(cfg, "ingestor.syslog.udp.enabled");
  bool tcp = parry_config_bool(cfg, "ingestor.syslog.tcp.enabled");
  bool tls = parry_config_bool(cfg, "ingestor.syslog.tls.enabled");
  bool http = parry_config_bool(cfg, "ingestor.http.enabled");
  bool kafka = parry_config_bool(cfg, "ingestor.kafka.enabled");
  bool files = *parry_config_str(cfg, "ingestor.files") != '\0';
  if (!udp && !tcp && !tls && !http && !kafka && !files) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "no source is enabled: set one of ingestor.syslog.udp.enabled, "
                     "ingestor.syslog.tcp.enabled, ingestor.syslog.tls.enabled, "
                     "ingestor.http.enabled, ingestor.kafka.enabled or ingestor.files");
    goto out;
  }
  if (!files && parry_config_bool(cfg, "ingestor.exit_after_files")) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "ingestor.exit_after_files is true but ingestor.files is empty");
    goto out;
  }
  if (needs_allowlist(cfg)) {
    if ((err = parry_allowlist_parse(parry_config_str(cfg, "ingestor.syslog.allow"),
                                     "ingestor.syslog.allow", &ing->allow, errstr, errstr_size)))
      goto out;
    if (parry_allowlist_size(ing->allow) == 0) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "ingestor.syslog.allow is empty, so no peer could send syslog: list the "
                       "senders' addresses (CIDR blocks), or use TLS with client certificates "
                       "(ingestor.syslog.tls.client_ca_file) and only that listener");
      goto out;
    }
  }

  if ((err = parry_normalizer_new(cfg, parry_config_str(cfg, "ingestor.format"),
                                  &ing->normalizer, errstr, errstr_size))) {
    char why[512];
    snprintf(why, sizeof why, "%s", errstr);
    err = parry_fail(errstr, errstr_size, err, "ingestor.format: %s", why);
    goto out;
  }
  if ((err = parry_publisher_new(cfg, metrics, &ing->pub, errstr, errstr_size))) goto out;
  ing->env = (parry_source_env_t){
      .cfg = cfg,
      .metrics = metrics,
      .normalizer = ing->normalizer,
      .pub = ing->pub,
      .max_record = (size_t)parry_config_int(cfg, "ingestor.max_record_size"),
  };
  /* Listeners first, so a port conflict fails before anything is read. */
  if (udp && (err = parry_udp_source_start(&ing->env, ing->allow, &ing->udp, errstr, errstr_size)))
    goto out;
  if (tcp &&
      (err = parry_tcp_source_start(&ing->env, false, ing->allow, &ing->tcp, errstr, errstr_size)))
    goto out;
  if (tls &&
      (err = parry_tcp_source_start(&ing->env, true, ing->allow, &ing->tls, errstr, errstr_size)))
    goto out;
  if (http && (err = parry_http_source_start(&ing->env, &ing->http, errstr, errstr_size)))
    goto out;
  if (kafka && (err = parry_kafka_source_start(&ing->env, &ing->kafka, errstr, errstr_size)))
    goto out;
  if (files && (err = parry_files_source_start(&ing->env, &ing->files, errstr, errstr_size)))
    goto out;
out:
  if (err) {
    /* Nothing was acknowledged to anyone yet: no need to wait for Kafka. */
    ing->shutdown_timeout_ms = 0;
    parry_ingestor_stop(ing);
    return err;
  }
  *out = ing;
  return PARRY_OK;
}

void parry_ingestor_ports(const parry_ingestor_t *ing, parry_ingestor_ports_t *out) {
  memset(out, 0, sizeof *out);
  if (ing->udp) out->syslog_udp = parry_udp_source_port(ing->udp);
  if (ing->tcp) out->syslog_tcp = parry_tcp_source_port(ing->tcp);
  if (ing->tls) out->syslog_tls = parry_tcp_source_port(ing->tls);
  if (ing->http) out->http = parry_http_source_port(ing->http);
}

bool parry_ingestor_ready(parry_ingestor_t *ing, char *why, size_t why_size) {
  /* The listeners are bound by the time start returns. */
  return parry_publisher_ready(ing->pub, why, why_size);
}

bool parry_ingestor_files_done(parry_ingestor_t *ing) {
  return ing->files && parry_files_source_done(ing->files);
}

void parry_ingestor_delivery_counts(parry_ingestor_t *ing, parry_ingestor_delivery_counts_t *out) {
  parry_publish_counts_t c;
  parry_publisher_counts(ing->pub, &c);
  *out = (parry_ingestor_delivery_counts_t){c.events_acked, c.events_failed, c.dlq_acked,
                                            c.dlq_failed, c.in_flight};
}

int parry_ingestor_stop(parry_ingestor_t *ing) {
  if (!ing) return 0;
  int64_t deadline = parry_now_ms() + ing->shutdown_timeout_ms;
  /* Waits for room in the producer queue end at the deadline too. */
  if (ing->pub) parry_publisher_shutdown_deadline(ing->pub, deadline);
  const char *prev = parry_log_action("stopping the sources");
  /* Stop accepting; requests in flight finish and wait for their deliveries
   * (served by the publisher, which runs until the end). */
  parry_udp_source_stop(ing->udp);
  parry_tcp_source_stop(ing->tcp);
  parry_tcp_source_stop(ing->tls);
  parry_http_source_stop(ing->http);
  parry_kafka_source_stop(ing->kafka, deadline);
  unsigned files_failed = ing->files && parry_files_source_done(ing->files)
                              ? parry_files_source_failed(ing->files)
                              : 0;
  parry_files_source_stop(ing->files);
  int lost = parry_publisher_close(ing->pub, deadline);
  if (lost == 0 && files_failed) lost = (int)files_failed;
  parry_log_action(prev);
  parry_normalizer_destroy(ing->normalizer);
  parry_allowlist_destroy(ing->allow);
  free(ing);
  return lost;
}

/* ------------------------------------------------------------------ main */

int parry_ingestor_main(int argc, char **argv, char **envp) {
  char err[1024];
  parry_service_t *svc = NULL;
  parry_ingestor_t *ing = NULL;
  int early = parry_service_open("ingestor", usage, argc, argv, envp, &svc);
  if (early >= 0) return early;
  parry_log_action("starting");
  if (parry_ingestor_start(svc->config, svc->metrics, &ing, err, sizeof err)) {
    LOG_ERROR("could not start: %s", err);
    fprintf(stderr, "parry-ingestor: %s\n", err);
    parry_service_destroy(svc);
    return 2;
  }
  bool exit_after_files = parry_config_bool(svc->config, "ingestor.exit_after_files");
  parry_log_action("running");
  bool was_ready = false;
  while (!parry_service_stopping()) {
    char why[256] = "";
    bool ready = parry_ingestor_ready(ing, why, sizeof why);
    parry_service_set_ready(svc, ready, why);
    if (ready != was_ready && !ready) LOG_WARN("not ready: %s", why);
    was_ready = ready;
    if (exit_after_files && parry_ingestor_files_done(ing)) {
      LOG_INFO("ingestor.files delivered; exiting (ingestor.exit_after_files)");
      break;
    }
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
  }
  parry_service_set_ready(svc, false, "shutting down");
  parry_log_action("stopping");
  LOG_INFO("stopping: no new input; waiting up to %lld ms for Kafka to acknowledge what is "
           "queued",
           (long long)parry_config_int(svc->config, "ingestor.shutdown_timeout"));
  int lost = parry_ingestor_stop(ing);
  if (lost) LOG_ERROR("stopped; %d messages were not delivered", lost);
  else LOG_INFO("stopped; everything queued was delivered");
  parry_service_destroy(svc);
  /* A replay that lost messages must not look like a success; a service
   * told to stop has done what it was told. */
  return exit_after_files && lost ? 1 : 0;
}
