/* The health and metrics endpoint every service serves (libmicrohttpd):
 *
 *   GET /healthz  200 while the process runs (liveness)
 *   GET /readyz   200 when the service says it is ready, else 503 and why
 *   GET /metrics  the metrics registry in Prometheus text format
 *
 * These endpoints accept no data and change nothing, so they carry no
 * authentication; bind them where the scraper can reach them.
 */
#ifndef PARRY_HTTP_H
#define PARRY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parry/error.h"
#include "parry/metrics.h"

typedef struct parry_http parry_http_t;

/* Called from the HTTP thread: return true if ready; otherwise write why. */
typedef bool (*parry_ready_fn)(void *opaque, char *why, size_t why_size);

/* listen: "HOST:PORT" or "[v6]:PORT"; port 0 picks a free one. metrics and
 * ready (may be NULL: always ready) must outlive the server. */
parry_err_t parry_http_start(const char *listen, parry_metrics_t *metrics, parry_ready_fn ready,
                             void *ready_opaque, parry_http_t **out, char *errstr,
                             size_t errstr_size);
uint16_t parry_http_port(const parry_http_t *http);
void parry_http_stop(parry_http_t *http); /* accepts NULL */

/* Split "HOST:PORT" / "[v6]:PORT" into a socket address. */
parry_err_t parry_parse_listen(const char *listen, struct sockaddr_storage *addr,
                               char *errstr, size_t errstr_size);

#endif
