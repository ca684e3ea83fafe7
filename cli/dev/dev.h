/* `parry dev`: the whole fleet on one machine. One module per job:
 *
 *   proc.c     child processes: spawn (optionally as another user), watch,
 *              stop by PID (SIGTERM, then SIGKILL after a grace period)
 *   pgtmp.c    a temporary PostgreSQL cluster (initdb + postgres) on a
 *              private port and socket directory, password-protected
 *   mock.c     librdkafka's mock cluster hosted in this process, with
 *              Parry's topics
 *   net.c      loopback plumbing: free ports, HTTP GET/POST (libcurl),
 *              Prometheus text sums, syslog over TCP
 *   connectors.c  examples/connectors.yml pointed at the stand-ins
 *   mmdb.c     a small GeoIP database (MaxMind DB) for the demo's addresses
 *   expected.c the alerts the fleet must produce, from `parry detect`
 *   report.c   what happened: progress from /metrics and the case store,
 *              the final per-case summary and the expectations check
 *   cmd_dev.c  the order of things, options, signals
 */
#ifndef PARRY_DEV_H
#define PARRY_DEV_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "generate/gen.h"
#include "parry/buf.h"

/* Set by SIGINT/SIGTERM: every wait loop checks it. */
extern volatile sig_atomic_t dev_interrupted;

/* ---- proc.c ---- */
typedef struct {
  bool drop;          /* run as uid/gid instead of ours (root starting postgres) */
  uid_t uid;
  gid_t gid;
} dev_user_t;

/* Start argv[0] (a path) with envp, stdout and stderr appended to log_path
 * (stdin from /dev/null), in its own process group. -1 + errstr on failure. */
pid_t dev_spawn(char *const argv[], char *const envp[], const char *log_path,
                const dev_user_t *as, char *errstr, size_t errstr_size);
/* Non-blocking: true while pid runs; when it has ended, *status gets the
 * waitpid status (if status is non-NULL). */
bool dev_running(pid_t pid, int *status);
/* Wait for pid to end, up to timeout_ms; true when it did. */
bool dev_wait(pid_t pid, int timeout_ms, int *status);
/* Send sig, wait grace_ms, then SIGKILL and reap. Idempotent for pid <= 0. */
void dev_stop(pid_t pid, int sig, int grace_ms);
/* Last `lines` lines of a log file, indented, to f. */
void dev_tail(FILE *f, const char *path, int lines);
/* Sleep ms, waking early on interruption. */
void dev_sleep_ms(int ms);
/* Remove a directory tree we created (no symlinks followed). */
void dev_rmtree(const char *path);

/* ---- pgtmp.c ---- */
typedef struct dev_pg dev_pg_t;
/* A new cluster under dir/pg. NULL + errstr when PostgreSQL is not
 * installed or does not start (errstr says which). */
dev_pg_t *dev_pg_start(const char *dir, char *errstr, size_t errstr_size);
const char *dev_pg_dsn(const dev_pg_t *pg); /* holds the password: never print */
const char *dev_pg_describe(const dev_pg_t *pg); /* "127.0.0.1:PORT (data in ...)" */
void dev_pg_stop(dev_pg_t *pg); /* stops the server; accepts NULL */
/* Where initdb lives, or NULL (then PostgreSQL is not installed). */
const char *dev_pg_bindir(void);

/* ---- mock.c ---- */
typedef struct dev_kafka dev_kafka_t;
typedef struct {
  const char *topics[8];
  size_t n_topics;
  int partitions;
} dev_kafka_topics_t;
dev_kafka_t *dev_kafka_start(const dev_kafka_topics_t *t, char *errstr, size_t errstr_size);
const char *dev_kafka_bootstrap(const dev_kafka_t *k);
void dev_kafka_stop(dev_kafka_t *k); /* accepts NULL */

/* ---- net.c ---- */
/* A free TCP port on 127.0.0.1 (bound, read, closed). 0 on failure. */
int dev_free_port(void);
/* GET http://127.0.0.1:port/path: HTTP status (0 when unreachable), body
 * into out (if non-NULL). */
long dev_http_get(int port, const char *path, parry_buf_t *out, int timeout_ms);
/* POST body to url with a bearer token; HTTP status, 0 when unreachable. */
long dev_http_post(const char *url, const char *token, const char *body, size_t len,
                   parry_buf_t *answer, int timeout_ms);
/* Sum of every sample of a metric family (any labels) in Prometheus text;
 * -1 when the family is absent. */
double dev_metric_sum(const char *text, const char *name);
/* A TCP connection to 127.0.0.1:port, or -1. */
int dev_tcp_connect(int port);
/* Write all of buf; false on error. */
bool dev_write_all(int fd, const char *buf, size_t len);

/* ---- connectors.c ---- */
/* The connectors YAML text with every http(s):// authority replaced by
 * http://127.0.0.1:http_port and every smtp(s):// one by
 * smtp://127.0.0.1:smtp_port (a port of 0 leaves those alone), and every
 * `*_env: NAME` secret outside comments replaced by `*_file: "DIR/secret-NAME"`,
 * a 0600 file holding $NAME when set, else a random value. */
bool dev_connectors_rewrite(const char *yaml, size_t len, int http_port, int smtp_port,
                            const char *secret_dir, parry_buf_t *out, char *errstr,
                            size_t errstr_size);

/* ---- mmdb.c ---- */
/* One IPv4 network of a GeoIP database and what a lookup in it answers
 * (GeoLite2-City names; asn 0 and NULL strings are left out). */
typedef struct {
  const char *cidr; /* "203.0.113.0/24" */
  const char *iso_code, *country, *city;
  double latitude, longitude;
  uint32_t asn;
  const char *org;
} dev_geo_net_t;
/* The demo's: the documentation ranges (RFC 5737) the generator's attackers
 * and internet scanners come from, placed in invented cities. The internal
 * 10.66.0.0/16 scanner is left out, as a real database leaves private
 * space out. */
extern const dev_geo_net_t dev_geo_demo_networks[];
extern const size_t dev_geo_demo_count;
/* Write a MaxMind DB (IPv4, 24-bit records) of these disjoint networks to
 * path. false + errstr on a bad or overlapping network or a write error. */
bool dev_mmdb_write(const char *path, const dev_geo_net_t *nets, size_t n, char *errstr,
                    size_t errstr_size);

/* ---- report.c ---- */
typedef struct {
  int64_t events_in;   /* ingestor, -1 unknown */
  int64_t rejects;
  int64_t alerts;      /* correlator (detection + correlation) */
  int64_t signals;     /* correlator: signals stage 2 consumed */
  int64_t cases;       /* case store, -1 no store */
  int64_t steps_done;  /* step runs succeeded */
  int64_t steps_failed;
  int64_t runs_open;   /* pending/running/waiting */
  int64_t standin_requests; /* lines in the stand-ins' record files, -1 none */
} dev_progress_t;

typedef struct {
  int ingestor_http, correlator_http, executor_http;
  PGconn *pg;          /* may be NULL */
  const char *record_files[4];
  size_t n_record_files;
} dev_sources_t;

/* What the fleet should produce, from `parry detect` (the same rules and
 * engine, offline) over the same traffic: per attacker of the manifest, the
 * ids of its alerts (deterministic, so the fleet's must be the same). */
typedef struct {
  bool known;      /* offline detection ran */
  size_t n_ids[8];
  char **ids[8];   /* per attacker index */
  size_t other;    /* alerts for no attacker (background): must be 0 */
} dev_expected_t;

/* Run `parry detect --rules RULES TRAFFIC` in this process and fill exp. */
bool dev_expected_offline(dev_expected_t *exp, const parry_gen_t *g, const char *rules,
                          const char *traffic, char *errstr, size_t errstr_size);
void dev_expected_free(dev_expected_t *exp);

void dev_progress_read(dev_sources_t *src, dev_progress_t *p);
void dev_progress_line(FILE *f, const dev_progress_t *p, size_t sent, size_t total, bool tty);
/* The per-case summary and the expectations: returns true when every
 * attacker of the manifest got the outcome it should. */
bool dev_report(FILE *out, dev_sources_t *src, const parry_gen_t *g, const dev_progress_t *p,
                const dev_expected_t *exp);
/* Whether each expected case, alert and block is there already (to stop
 * waiting early). */
bool dev_expected_cases_present(PGconn *pg, const parry_gen_t *g, const dev_expected_t *exp);

#endif
