/* The ingestor's sources, one file each (see source.h for their common
 * life cycle):
 *
 *   syslog_udp.c  syslog datagrams                 one thread, one stream
 *   syslog_tcp.c  syslog over TCP or TLS (RFC 6587) one thread per listener,
 *                                                  a stream per connection
 *   http.c        POST /v1/events                  libmicrohttpd, a thread and
 *                                                  a stream per connection
 *   kafka.c       raw topics (Fluent Bit, Vector)  one consumer thread, a
 *                                                  stream per partition
 *   files.c       files and stdin, read once       one thread, a stream per file
 */
#ifndef PARRY_SOURCES_H
#define PARRY_SOURCES_H

#include <stdbool.h>
#include <stdint.h>

#include "sources/allow.h"
#include "sources/source.h"

/* Syslog over UDP on ingestor.syslog.udp.listen; allow must outlive it. */
typedef struct parry_udp_source parry_udp_source_t;
parry_err_t parry_udp_source_start(const parry_source_env_t *env, const parry_allowlist_t *allow,
                                   parry_udp_source_t **out, char *errstr, size_t errstr_size);
uint16_t parry_udp_source_port(const parry_udp_source_t *s);
void parry_udp_source_stop(parry_udp_source_t *s);

/* Syslog over TCP (ingestor.syslog.tcp.*) or TLS (ingestor.syslog.tls.*). */
typedef struct parry_tcp_source parry_tcp_source_t;
parry_err_t parry_tcp_source_start(const parry_source_env_t *env, bool tls,
                                   const parry_allowlist_t *allow, parry_tcp_source_t **out,
                                   char *errstr, size_t errstr_size);
uint16_t parry_tcp_source_port(const parry_tcp_source_t *s);
void parry_tcp_source_stop(parry_tcp_source_t *s);

/* POST /v1/events on ingestor.http.listen. */
typedef struct parry_http_source parry_http_source_t;
parry_err_t parry_http_source_start(const parry_source_env_t *env, parry_http_source_t **out,
                                    char *errstr, size_t errstr_size);
uint16_t parry_http_source_port(const parry_http_source_t *s);
void parry_http_source_stop(parry_http_source_t *s);

/* Raw Kafka topics (ingestor.kafka.*). */
typedef struct parry_kafka_source parry_kafka_source_t;
parry_err_t parry_kafka_source_start(const parry_source_env_t *env, parry_kafka_source_t **out,
                                     char *errstr, size_t errstr_size);
/* Stop consuming, wait (until deadline_ms) for what was produced from
 * consumed messages, commit, leave the group, free. */
void parry_kafka_source_stop(parry_kafka_source_t *s, int64_t deadline_ms);

/* ingestor.files, read once. Files are opened by _start (an unreadable
 * path is an error then); done turns true when all are read and their
 * events acknowledged (or given up). */
typedef struct parry_files_source parry_files_source_t;
parry_err_t parry_files_source_start(const parry_source_env_t *env, parry_files_source_t **out,
                                     char *errstr, size_t errstr_size);
bool parry_files_source_done(parry_files_source_t *s);
/* Once done: messages that failed or were never acknowledged. */
unsigned parry_files_source_failed(parry_files_source_t *s);
void parry_files_source_stop(parry_files_source_t *s);

#endif
