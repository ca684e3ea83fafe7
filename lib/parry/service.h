/* What every service binary does around its real work: read configuration
 * (file, environment, --set), set up logging, a metrics registry and the
 * health endpoint, and turn SIGINT/SIGTERM into a stop request.
 *
 *   parry_service_t *svc;
 *   if (parry_service_start("ingestor", &argc, argv, environ, &svc, err, sizeof err)) ...
 *   while (!parry_service_stopping()) { ...work... }
 *   parry_service_destroy(svc);
 */
#ifndef PARRY_SERVICE_H
#define PARRY_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/config.h"
#include "parry/error.h"
#include "parry/http.h"
#include "parry/metrics.h"

typedef struct {
  const char *component;
  parry_config_t *config;
  parry_metrics_t *metrics;
  parry_http_t *http; /* NULL when http.enabled is false */
} parry_service_t;

/* Consumes --config/--set from argv (see parry_config_from_args). On error,
 * nothing is left running and errstr says what is wrong. */
parry_err_t parry_service_start(const char *component, int *argc, char **argv,
                                char *const *envp, parry_service_t **out, char *errstr,
                                size_t errstr_size);

/* The start of every service main(): `--help` prints usage (returns 0),
 * then parry_service_start, then a check that argv held nothing but our
 * flags. Returns -1 when the service should run (*out is set); otherwise the
 * process exit code (0 after --help, 2 on a usage or configuration error,
 * already reported on stderr). */
int parry_service_open(const char *component, const char *usage, int argc, char **argv,
                       char *const *envp, parry_service_t **out);

/* Readiness shown on /readyz; `why` (copied) says what is missing. */
void parry_service_set_ready(parry_service_t *svc, bool ready, const char *why);

/* True once SIGINT or SIGTERM arrived (or parry_service_request_stop). */
bool parry_service_stopping(void);
void parry_service_request_stop(void);
/* Block until a stop is requested. */
void parry_service_wait(void);

void parry_service_destroy(parry_service_t *svc); /* accepts NULL */

#endif
