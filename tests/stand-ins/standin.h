/* parry-standin internals: the shared recorder and the two servers. */
#ifndef PARRY_STANDIN_H
#define PARRY_STANDIN_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

/* Append one NDJSON line to the record file and flush it (thread-safe). */
void standin_record(struct json_object *line);
/* Wall-clock time as RFC 3339 with microseconds. */
void standin_now(char *out, size_t n);

typedef struct {
  uint16_t port;
  const char *token;    /* guards /_control and /_stats when set */
  const char *user;     /* smtp: required AUTH credentials when set */
  const char *password;
  const char *cert_out; /* smtp: where to write the generated certificate */
  int threads;
} standin_opts_t;

/* Start serving; print "listening 127.0.0.1:PORT"; return when SIGTERM or
 * SIGINT arrives (blocked in every thread, taken with sigwait). */
int standin_http_run(const standin_opts_t *o);
int standin_smtp_run(const standin_opts_t *o);

#endif
