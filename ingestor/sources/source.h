/* What every ingestor source shares.
 *
 * A source is one thread (the HTTP source: libmicrohttpd's threads) that
 * reads records, normalizes them with its own parry_stream_t per input (the
 * normalizer itself is read-only and shared; streams are not thread-safe)
 * and queues the results through an emitter (publish.h). Each source has
 * the same life: *_start binds or opens what it reads and starts its thread,
 * failing with an error that names the setting; *_port tells the bound port;
 * *_stop stops reading, joins, and frees (accepting NULL).
 */
#ifndef PARRY_SOURCES_SOURCE_H
#define PARRY_SOURCES_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "normalize.h"
#include "parry/config.h"
#include "parry/error.h"
#include "parry/metrics.h"
#include "publish.h"

/* Read-only for the sources; everything here outlives them. */
typedef struct {
  const parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_normalizer_t *normalizer;
  parry_publisher_t *pub;
  size_t max_record; /* ingestor.max_record_size */
} parry_source_env_t;

/* Log lines a peer can cause (a refused sender, a failed handshake) are
 * limited per source thread, so a port scan or a misconfigured relay
 * cannot flood the log: at most PARRY_RATELIMIT_BURST lines per window, and
 * the next line says how many were held back. Counters have the full count.
 * Not thread-safe: one per thread. */
#define PARRY_RATELIMIT_BURST 5
#define PARRY_RATELIMIT_WINDOW_MS 10000

typedef struct {
  int64_t window_start;
  unsigned in_window;
  unsigned long suppressed;
} parry_ratelimit_t;

/* True if a line may be written now; *suppressed gets the number held back
 * since the last line written (and is reset). */
bool parry_ratelimit(parry_ratelimit_t *rl, unsigned long *suppressed);

/* Bind a socket of `type` (SOCK_STREAM listens with a backlog) to the
 * "IP:PORT" of `setting` (its name goes into errors), non-blocking, with
 * SO_REUSEADDR; IPv6 sockets accept IPv4 too. Returns the fd or -1. */
int parry_source_bind(const char *setting, const char *address, int type, char *errstr,
                      size_t errstr_size);
/* The port a socket is bound to. */
uint16_t parry_source_bound_port(int fd);

/* strerror(err) in the lower case of our messages ("permission denied"). */
void parry_source_os_error(int err, char *out, size_t out_size);

/* The reason text of a frame the framer could not deliver whole. */
void parry_source_frame_reason(char *out, size_t out_size, int kind, size_t total,
                               size_t declared, size_t max_record);

#endif
