/* parry dev: the whole fleet on one machine (see cli/dev/dev.h for the
 * modules). In order: a work folder, the generator's traffic, Kafka (the
 * mock cluster, hosted here), a temporary PostgreSQL, the loopback
 * stand-ins, one configuration file, parry-ingestor, parry-correlator and
 * parry-executor as child processes; then the traffic through the syslog
 * TCP and HTTP sources, a progress line, a summary of every case, and the
 * expectations check. Everything started is stopped at the end or on
 * Ctrl-C/SIGTERM, by PID, services first. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "dev/dev.h"
#include "parry/config.h"
#include "parry/mem.h"
#include "parry/pg.h"
#include "parry/timefmt.h"

static const char usage[] =
    "usage: parry dev [--seed N] [--duration 10m] [--rate EPS] [--send-time 10s]\n"
    "                 [--wait 90s] [--keep] [--source DIR] [--kafka HOST:PORT]\n"
    "                 [--config FILE] [--set k=v]...\n"
    "\n"
    "Runs the whole pipeline on this machine: Kafka (librdkafka's mock cluster, in\n"
    "this process), a temporary PostgreSQL, the loopback stand-ins (parry-standin),\n"
    "and parry-ingestor, parry-correlator and parry-executor as child processes with\n"
    "the example rules, runbooks and connectors of the source tree. `parry generate`'s\n"
    "traffic (--seed, --duration of event time ending now, --rate) goes through the\n"
    "ingestor's syslog TCP and HTTP sources within --send-time; a progress line\n"
    "follows events, alerts, cases and steps; at the end each case is shown with its\n"
    "timeline. Exit 0 only when every attacker got the case (and block, or no block\n"
    "when allowlisted) it should; 1 otherwise. --wait bounds the wait for cases after\n"
    "sending. --keep leaves the fleet running after the summary, until Ctrl-C, so\n"
    "that `parry cases ...` can look further, and keeps the work folder. --config and\n"
    "--set choose topic names and partitions (topics.*) and reach the services\n"
    "(e.g. --set correlator.idle_release=2s). --kafka uses that broker\n"
    "instead of the mock, with topics and consumer groups named for this run.\n";

#define SERVICE_GRACE_MS 10000

typedef struct {
  const char *name;
  pid_t pid;
  int http_port;
  char log[160];
  bool ready;
} service_t;

enum { SVC_INGESTOR, SVC_CORRELATOR, SVC_EXECUTOR, SVC_STANDIN_HTTP, SVC_STANDIN_SMTP, SVC_N };

typedef struct {
  FILE *out, *err;
  char dir[64], bindir[PATH_MAX], source[PATH_MAX], config[128];
  char token[64], standin_token[64];
  service_t svc[SVC_N];
  int standin_port[SVC_N];
  char record[SVC_N][160];
  dev_kafka_t *kafka;
  const char *bootstrap; /* the mock's, or --kafka */
  dev_pg_t *pg;
  PGconn *conn;
  parry_gen_t *gen;
  dev_expected_t expected;
  char **child_env;
  int syslog_port, ingest_port;
} dev_run_t;

static void on_signal(int sig) {
  (void)sig;
  dev_interrupted = 1;
}

static bool opt(int argc, char **argv, int *i, const char *name, const char **v) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return false;
  if (argv[*i][n] == '=') {
    *v = argv[*i] + n + 1;
    return true;
  }
  if (argv[*i][n] == '\0' && *i + 1 < argc) {
    *v = argv[++*i];
    return true;
  }
  return false;
}

/* The environment for the services: ours without PARRY_* (their settings
 * come from the file this command writes, nothing else). */
static char **service_env(void) {
  extern char **environ;
  size_t n = 0;
  for (char **e = environ; *e; e++) n++;
  char **out = parry_xnew(char *, n + 1);
  size_t k = 0;
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "PARRY_", 6) != 0) out[k++] = *e;
  return out;
}

static bool random_token(char out[49]) {
  unsigned char b[24];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = read(fd, b, sizeof b) == (ssize_t)sizeof b;
  close(fd);
  for (int i = 0; i < 24; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
  return ok;
}

static bool write_private(const char *path, const char *text, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = write(fd, text, len) == (ssize_t)len;
  return close(fd) == 0 && ok;
}

/* ---- configuration ------------------------------------------------------ */

/* key: "value" in YAML, only for settings this build knows (the services
 * are the same build), so a setting another part has not added yet is
 * reported instead of stopping every service with "unknown setting". */
static void setting(dev_run_t *d, parry_buf_t *y, const char *key, const char *value) {
  if (strncmp(key, "kafka.", 6) != 0 && !parry_setting_find(key)) {
    fprintf(d->out, "  note: this build has no setting %s: left out\n", key);
    return;
  }
  parry_buf_printf(y, "%s: \"", key);
  for (const char *p = value; *p; p++) {
    if (*p == '"' || *p == '\\') parry_buf_append_char(y, '\\');
    parry_buf_append_char(y, *p);
  }
  parry_buf_append_str(y, "\"\n");
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* examples/connectors.yml, made to point at this run's stand-ins (see
 * dev_connectors_rewrite). */
static bool write_connectors(dev_run_t *d, const char *dst) {
  char src[PATH_MAX + 32], errstr[256];
  snprintf(src, sizeof src, "%s/examples/connectors.yml", d->source);
  FILE *f = fopen(src, "r");
  if (!f) return false;
  parry_buf_t in = PARRY_BUF_INIT(0), out = PARRY_BUF_INIT(0);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) parry_buf_append(&in, chunk, n);
  fclose(f);
  bool ok = dev_connectors_rewrite(in.data ? in.data : "", in.len,
                                   d->standin_port[SVC_STANDIN_HTTP],
                                   d->standin_port[SVC_STANDIN_SMTP], d->dir, &out, errstr,
                                   sizeof errstr);
  /* The example configures no GeoIP database (none ships with Parry): give
   * the geo steps one for the demo's address ranges, unless it has one. */
  bool has_geoip =
      out.data && (strncmp(out.data, "geoip:", 6) == 0 || strstr(out.data, "\ngeoip:"));
  if (ok && !has_geoip) {
    char db[PATH_MAX + 32], geo_err[256];
    snprintf(db, sizeof db, "%s/geoip-demo.mmdb", d->dir);
    if (dev_mmdb_write(db, dev_geo_demo_networks, dev_geo_demo_count, geo_err, sizeof geo_err)) {
      parry_buf_printf(&out, "\n# added by parry dev: invented places for the demo's addresses\n"
                             "geoip:\n  database: \"%s\"\n", db);
      fprintf(d->out, "  geoip            %s (%zu networks, invented places)\n", db,
              dev_geo_demo_count);
    } else {
      fprintf(d->out, "  note: no GeoIP database (%s): geo steps will fail\n", geo_err);
    }
  }
  ok = ok && write_private(dst, out.data ? out.data : "", out.len);
  if (!ok) fprintf(d->out, "  note: connectors: %s\n", errstr);
  parry_buf_free(&in);
  parry_buf_free(&out);
  return ok;
}

static bool write_config(dev_run_t *d, parry_config_t *cfg) {
  parry_buf_t y = PARRY_BUF_INIT(0);
  char v[PATH_MAX + 64];
  parry_buf_append_str(&y, "# written by parry dev for this run\n");
  setting(d, &y, "log.level", "info");
  setting(d, &y, "kafka.bootstrap.servers", d->bootstrap);
  static const char *const topics[] = {"topics.events", "topics.signals", "topics.state",
                                       "topics.alerts", "topics.dlq"};
  for (size_t i = 0; i < 5; i++) setting(d, &y, topics[i], parry_config_str(cfg, topics[i]));
  snprintf(v, sizeof v, "%" PRId64, parry_config_int(cfg, "topics.partitions"));
  setting(d, &y, "topics.partitions", v);
  /* consumer groups of this run only (a shared broker with --kafka) */
  static const char *const groups[] = {"correlator.group", "correlator.correlate_group",
                                       "executor.group"};
  for (size_t i = 0; i < 3; i++)
    if (parry_setting_find(groups[i]) &&
        strcmp(parry_config_source(cfg, groups[i]), "default") != 0)
      setting(d, &y, groups[i], parry_config_str(cfg, groups[i]));
  if (d->pg) setting(d, &y, "pg.dsn", dev_pg_dsn(d->pg));
  setting(d, &y, "ingestor.syslog.tcp.enabled", "true");
  snprintf(v, sizeof v, "127.0.0.1:%d", d->syslog_port);
  setting(d, &y, "ingestor.syslog.tcp.listen", v);
  setting(d, &y, "ingestor.http.enabled", "true");
  snprintf(v, sizeof v, "127.0.0.1:%d", d->ingest_port);
  setting(d, &y, "ingestor.http.listen", v);
  snprintf(v, sizeof v, "%s/ingest-token", d->dir);
  setting(d, &y, "ingestor.http.token_file", v);
  snprintf(v, sizeof v, "%s/examples/rules", d->source);
  setting(d, &y, "correlator.rules", v);
  snprintf(v, sizeof v, "%s/examples/runbooks", d->source);
  if (exists(v)) setting(d, &y, "executor.runbooks", v);
  else fprintf(d->out, "  note: no %s: the executor runs without runbooks\n", v);
  snprintf(v, sizeof v, "%s/connectors.yml", d->dir);
  if (write_connectors(d, v)) setting(d, &y, "executor.connectors", v);
  else fprintf(d->out, "  note: no examples/connectors.yml: the executor has no connectors\n");
  /* what the user set for the services (--config FILE, --set), e.g.
   * correlator.allowed_lateness; not the environment, which is ambient */
  for (size_t i = 0; i < parry_settings_count; i++) {
    const char *key = parry_settings[i].key, *src = parry_config_source(cfg, key);
    if (strcmp(src, "default") == 0 || strncmp(src, "environment", 11) == 0) continue;
    char quoted[160];
    snprintf(quoted, sizeof quoted, "\n%s: \"", key);
    if (strstr(y.data, quoted)) continue; /* this run's own value wins */
    setting(d, &y, key, parry_config_str(cfg, key));
  }
  snprintf(d->config, sizeof d->config, "%s/parry.yaml", d->dir);
  bool ok = write_private(d->config, y.data, y.len);
  parry_buf_free(&y);
  return ok;
}

/* ---- processes ---------------------------------------------------------- */

static bool start_service(dev_run_t *d, int which, const char *binary, const char *name) {
  service_t *s = &d->svc[which];
  s->name = name;
  s->http_port = dev_free_port();
  snprintf(s->log, sizeof s->log, "%s/%s.log", d->dir, name);
  char path[PATH_MAX + 64], listen[64], cfgarg[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", d->bindir, binary);
  snprintf(listen, sizeof listen, "http.listen=127.0.0.1:%d", s->http_port);
  snprintf(cfgarg, sizeof cfgarg, "%s", d->config);
  char *argv[] = {path, "--config", cfgarg, "--set", listen, NULL};
  char errstr[512];
  s->pid = dev_spawn(argv, d->child_env, s->log, NULL, errstr, sizeof errstr);
  if (s->pid < 0) {
    fprintf(d->err, "parry dev: %s: %s\n", name, errstr);
    return false;
  }
  fprintf(d->out, "  %-16s pid %d, health and metrics on 127.0.0.1:%d, log %s\n", name,
          (int)s->pid, s->http_port, s->log);
  return true;
}

/* A stand-in prints "listening 127.0.0.1:PORT" once it accepts. */
static void start_standin(dev_run_t *d, int which, const char *kind) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/parry-standin", d->bindir);
  service_t *s = &d->svc[which];
  s->name = which == SVC_STANDIN_HTTP ? "standin-http" : "standin-smtp";
  if (access(path, X_OK) != 0) {
    if (which == SVC_STANDIN_HTTP)
      fprintf(d->out, "  stand-ins        none: %s is not built, steps have no target\n", path);
    return;
  }
  snprintf(s->log, sizeof s->log, "%s/%s.log", d->dir, s->name);
  snprintf(d->record[which], sizeof d->record[which], "%s/%s.ndjson", d->dir, s->name);
  /* --token guards the stand-in's control endpoints (make it fail, hang) */
  char *argv[] = {path,      (char *)kind, "--port", "0", "--record", d->record[which],
                  "--token", d->standin_token, NULL};
  if (which == SVC_STANDIN_SMTP) argv[6] = NULL; /* smtp takes no token */
  char errstr[512];
  s->pid = dev_spawn(argv, d->child_env, s->log, NULL, errstr, sizeof errstr);
  if (s->pid < 0) {
    fprintf(d->err, "parry dev: %s: %s\n", s->name, errstr);
    return;
  }
  for (int i = 0; i < 100 && !dev_interrupted && dev_running(s->pid, NULL); i++) {
    FILE *f = fopen(s->log, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
      const char *p = strstr(line, "listening 127.0.0.1:");
      if (p) d->standin_port[which] = atoi(p + 20);
    }
    if (f) fclose(f);
    if (d->standin_port[which]) break;
    dev_sleep_ms(50);
  }
  if (d->standin_port[which])
    fprintf(d->out, "  %-16s pid %d, 127.0.0.1:%d, records %s\n", s->name, (int)s->pid,
            d->standin_port[which], d->record[which]);
  else
    fprintf(d->out, "  %-16s did not say where it listens (log %s)\n", s->name, s->log);
}

/* Wait for /readyz of the three services: the ingestor is required (nothing
 * flows without it); the others are waited for, and their absence shown. */
static bool wait_ready(dev_run_t *d, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms && !dev_interrupted; waited += 250) {
    bool all = true;
    for (int i = SVC_INGESTOR; i <= SVC_EXECUTOR; i++) {
      service_t *s = &d->svc[i];
      if (s->ready || s->pid <= 0) continue;
      int st;
      if (!dev_running(s->pid, &st)) {
        fprintf(d->out, "  %s exited (status %d) before it was ready; its log ends:\n", s->name,
                WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        dev_tail(d->out, s->log, 12);
        s->pid = 0;
        continue;
      }
      if (dev_http_get(s->http_port, "/readyz", NULL, 500) == 200) {
        s->ready = true;
        fprintf(d->out, "  %-16s ready\n", s->name);
      } else {
        all = false;
      }
    }
    if (all) break;
    dev_sleep_ms(250);
  }
  for (int i = SVC_INGESTOR; i <= SVC_EXECUTOR; i++) {
    service_t *s = &d->svc[i];
    if (s->ready || s->pid <= 0) continue;
    parry_buf_t b = PARRY_BUF_INIT(0);
    dev_http_get(s->http_port, "/readyz", &b, 500);
    fprintf(d->out, "  %-16s not ready: %s\n", s->name, b.data ? b.data : "no answer");
    parry_buf_free(&b);
  }
  return d->svc[SVC_INGESTOR].ready;
}

static void stop_all(dev_run_t *d) {
  /* downstream first would strand work upstream; upstream first lets each
   * service finish what it holds */
  static const int order[] = {SVC_INGESTOR, SVC_CORRELATOR, SVC_EXECUTOR, SVC_STANDIN_HTTP,
                              SVC_STANDIN_SMTP};
  for (size_t i = 0; i < SVC_N; i++) {
    service_t *s = &d->svc[order[i]];
    if (s->pid > 0) dev_stop(s->pid, SIGTERM, SERVICE_GRACE_MS);
    s->pid = 0;
  }
  if (d->conn) PQfinish(d->conn);
  d->conn = NULL;
  dev_pg_stop(d->pg);
  d->pg = NULL;
  dev_kafka_stop(d->kafka);
  d->kafka = NULL;
}

/* ---- traffic ------------------------------------------------------------ */

static void progress(dev_run_t *d, dev_sources_t *src, dev_progress_t *p, size_t sent, bool tty) {
  dev_progress_read(src, p);
  dev_progress_line(d->out, p, sent, parry_gen_count(d->gen), tty);
}

/* Send everything in slices of event time spread over send_ms of wall
 * time: syslog lines over one TCP connection, Windows events as NDJSON
 * POSTs. Returns false when the ingestor stopped taking them. */
static bool send_traffic(dev_run_t *d, dev_sources_t *src, int64_t send_ms, bool tty) {
  const int slices = 20;
  size_t total = parry_gen_count(d->gen), i = 0;
  int fd = dev_tcp_connect(d->syslog_port);
  if (fd < 0) {
    fprintf(d->out, "parry dev: cannot connect to the ingestor's syslog port %d\n", d->syslog_port);
    return false;
  }
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/events", d->ingest_port);
  int64_t first = total ? parry_gen_record(d->gen, 0)->ts_ns : 0;
  int64_t last = total ? parry_gen_record(d->gen, total - 1)->ts_ns : 0;
  parry_buf_t sys = PARRY_BUF_INIT(0), win = PARRY_BUF_INIT(0), answer = PARRY_BUF_INIT(0);
  bool ok = true;
  dev_progress_t p;
  for (int s = 1; s <= slices && ok && !dev_interrupted; s++) {
    int64_t upto = s == slices ? INT64_MAX : first + (last - first) * s / slices;
    parry_buf_reset(&sys);
    parry_buf_reset(&win);
    for (; i < total && parry_gen_record(d->gen, i)->ts_ns <= upto; i++) {
      const parry_gen_record_t *r = parry_gen_record(d->gen, i);
      parry_buf_t *b = r->kind == PARRY_GEN_SYSLOG ? &sys : &win;
      parry_buf_append(b, r->text, r->len);
      parry_buf_append_char(b, '\n');
    }
    if (sys.len && !dev_write_all(fd, sys.data, sys.len)) {
      fprintf(d->out, "\nparry dev: the ingestor closed the syslog connection\n");
      ok = false;
    }
    for (int attempt = 0; ok && win.len; attempt++) {
      parry_buf_reset(&answer);
      long code = dev_http_post(url, d->token, win.data, win.len, &answer, 60000);
      if (code == 200) break;
      if ((code == 503 || code == 0) && attempt < 20 && !dev_interrupted) {
        dev_sleep_ms(500); /* backpressure: resending is safe, event ids are stable */
        continue;
      }
      fprintf(d->out, "\nparry dev: the ingestor answered %ld to a batch: %.200s\n", code,
              answer.data ? answer.data : "");
      ok = false;
    }
    progress(d, src, &p, i, tty);
    dev_sleep_ms((int)(send_ms / slices));
  }
  close(fd);
  parry_buf_free(&sys);
  parry_buf_free(&win);
  parry_buf_free(&answer);
  return ok && i == total;
}

/* --kafka: an existing broker. Topics and consumer groups get names of this
 * run (so earlier runs' messages and offsets do not count), created with
 * `parry topics create`. */
static bool use_broker(dev_run_t *d, parry_config_t *cfg, const char *bootstrap) {
  char errstr[512], run[64], set[256];
  snprintf(run, sizeof run, "parry-dev-%d-%lld", (int)getpid(),
           (long long)(parry_time_now_ns() / PARRY_NS_PER_SEC));
  static const char *const keys[] = {"topics.events", "topics.signals", "topics.state",
                                     "topics.alerts", "topics.dlq", "correlator.group",
                                     "correlator.correlate_group", "executor.group"};
  static const char *const suffix[] = {"events", "signals", "state", "alerts", "dlq",
                                       "correlator", "correlator-windows", "executor"};
  snprintf(set, sizeof set, "kafka.bootstrap.servers=%s", bootstrap);
  if (parry_config_set(cfg, set, "--kafka", errstr, sizeof errstr)) goto bad;
  for (size_t i = 0; i < 8; i++) {
    if (!parry_setting_find(keys[i])) continue;
    snprintf(set, sizeof set, "%s=%s.%s", keys[i], run, suffix[i]);
    if (parry_config_set(cfg, set, "parry dev", errstr, sizeof errstr)) goto bad;
  }
  char *argv[20] = {"parry", "topics", "create"};
  char sets[7][256];
  int n = 3;
  snprintf(sets[0], sizeof sets[0], "kafka.bootstrap.servers=%s", bootstrap);
  for (size_t i = 0; i < 5; i++)
    snprintf(sets[i + 1], sizeof sets[i + 1], "%s=%s", keys[i], parry_config_str(cfg, keys[i]));
  snprintf(sets[6], sizeof sets[6], "topics.partitions=%lld",
           (long long)parry_config_int(cfg, "topics.partitions"));
  for (int i = 0; i < 7; i++) {
    argv[n++] = "--set";
    argv[n++] = sets[i];
  }
  argv[n] = NULL;
  char *envp[] = {NULL};
  if (parry_cli_main(n, argv, envp, d->out, d->out) != 0) {
    fprintf(d->out, "parry dev: could not create topics on %s\n", bootstrap);
    return false;
  }
  d->bootstrap = bootstrap;
  fprintf(d->out, "  kafka            %s (--kafka), topics %s.*\n", bootstrap, run);
  return true;
bad:
  fprintf(d->out, "parry dev: --kafka: %s\n", errstr);
  return false;
}

/* ---- main --------------------------------------------------------------- */

static bool find_dirs(dev_run_t *d, const char *source) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return false;
  self[n] = '\0';
  snprintf(d->bindir, sizeof d->bindir, "%s", dirname(self));
  const char *env = getenv("PARRY_SOURCE_DIR");
  char guess[PATH_MAX + 16];
  snprintf(guess, sizeof guess, "%s/../..", d->bindir);
  const char *candidates[] = {source, env, guess, "."};
  for (size_t i = 0; i < 4; i++) {
    if (!candidates[i] || !*candidates[i]) continue;
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/examples/rules", candidates[i]);
    if (exists(probe) && realpath(candidates[i], d->source)) return true;
  }
  return false;
}

int parry_cmd_dev(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  parry_config_t *cfg = parry_config_new();
  char errstr[1024];
  int rc = 1;
  dev_run_t *d = parry_xnew(dev_run_t, 1);
  d->out = out;
  d->err = err;
  parry_gen_options_t go;
  parry_gen_options_default(&go);
  int64_t send_ns = 10LL * PARRY_NS_PER_SEC, wait_ns = 90LL * PARRY_NS_PER_SEC;
  bool keep = false, tty = isatty(fileno(out));
  const char *source = NULL, *kafka = NULL, *v;
  struct sigaction sa, old_int, old_term;
  bool handlers = false;

  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry dev: %s\n", errstr);
    rc = 2;
    goto done;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, out);
      rc = 0;
      goto done;
    } else if (strcmp(argv[i], "--keep") == 0) {
      keep = true;
    } else if (opt(argc, argv, &i, "--seed", &v)) {
      char *end;
      go.seed = strtoull(v, &end, 10);
      if (end == v || *end) goto bad;
    } else if (opt(argc, argv, &i, "--duration", &v)) {
      if (!parry_gen_parse_duration(v, &go.duration_ns)) goto bad;
    } else if (opt(argc, argv, &i, "--rate", &v)) {
      char *end;
      go.rate = strtod(v, &end);
      if (end == v || *end) goto bad;
    } else if (opt(argc, argv, &i, "--send-time", &v)) {
      if (!parry_gen_parse_duration(v, &send_ns)) goto bad;
    } else if (opt(argc, argv, &i, "--wait", &v)) {
      if (!parry_gen_parse_duration(v, &wait_ns)) goto bad;
    } else if (opt(argc, argv, &i, "--source", &v)) {
      source = v;
    } else if (opt(argc, argv, &i, "--kafka", &v)) {
      kafka = v;
    } else {
      fprintf(err, "parry dev: unknown or incomplete option \"%s\"\n%s", argv[i], usage);
      rc = 2;
      goto done;
    }
    continue;
  bad:
    fprintf(err, "parry dev: bad value \"%s\"\n", v);
    rc = 2;
    goto done;
  }

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: waits wake up */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  handlers = true;
  dev_interrupted = 0;

  if (!find_dirs(d, source)) {
    fprintf(err, "parry dev: cannot find the source tree's examples/rules (use --source DIR or "
                 "PARRY_SOURCE_DIR)\n");
    goto done;
  }
  snprintf(d->dir, sizeof d->dir, "/tmp/parry-dev-XXXXXX");
  if (!mkdtemp(d->dir)) {
    fprintf(err, "parry dev: mkdtemp: %s\n", strerror(errno));
    d->dir[0] = '\0';
    goto done;
  }
  d->child_env = service_env();
  fprintf(out, "parry dev: work folder %s\n", d->dir);

  /* 1. the traffic, ending now */
  int64_t now = parry_time_now_ns() / PARRY_NS_PER_SEC * PARRY_NS_PER_SEC;
  go.start_ns = now - go.duration_ns;
  d->gen = parry_gen_new(&go, errstr, sizeof errstr);
  if (!d->gen) {
    fprintf(err, "parry dev: %s\n", errstr);
    rc = 2;
    goto done;
  }
  {
    parry_buf_t m = PARRY_BUF_INIT(0);
    parry_gen_manifest(d->gen, &m);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/manifest.json", d->dir);
    write_private(path, m.data, m.len);
    parry_buf_free(&m);
    fprintf(out, "\n== traffic: seed %" PRIu64 ", %zu sshd lines and %zu Windows events, "
                 "manifest %s\n",
            go.seed, parry_gen_count_kind(d->gen, PARRY_GEN_SYSLOG),
            parry_gen_count_kind(d->gen, PARRY_GEN_WINDOWS), path);
    /* the same traffic offline: the alerts the fleet must produce */
    char traffic[PATH_MAX + 32], rules[PATH_MAX + 32];
    snprintf(traffic, sizeof traffic, "%s/traffic.log", d->dir);
    snprintf(rules, sizeof rules, "%s/examples/rules", d->source);
    FILE *tf = fopen(traffic, "w");
    for (size_t i = 0; tf && i < parry_gen_count(d->gen); i++) {
      const parry_gen_record_t *r = parry_gen_record(d->gen, i);
      fwrite(r->text, 1, r->len, tf);
      fputc('\n', tf);
    }
    if (!tf || fclose(tf) ||
        !dev_expected_offline(&d->expected, d->gen, rules, traffic, errstr, sizeof errstr))
      fprintf(out, "  offline detection did not run (%s): alert counts will not be checked\n",
              tf ? errstr : strerror(errno));
    for (size_t i = 0; i < parry_gen_attacker_count(d->gen); i++) {
      const parry_gen_attacker_t *a = parry_gen_attacker(d->gen, i);
      char alerts[48] = "";
      if (d->expected.known && i < 8)
        snprintf(alerts, sizeof alerts, ", %zu alert%s offline", d->expected.n_ids[i],
                 d->expected.n_ids[i] == 1 ? "" : "s");
      fprintf(out, "  %-27s %-15s %u failures, %u user%s%s -> %s\n", a->name, a->source_ip,
              a->failures, a->users, a->users == 1 ? "" : "s", alerts,
              a->expect_block ? "case + block" : "case, no block");
    }
  }

  /* 2. Kafka and PostgreSQL */
  fprintf(out, "\n== infrastructure\n");
  dev_kafka_topics_t t = {.partitions = (int)parry_config_int(cfg, "topics.partitions")};
  static const char *const topic_keys[] = {"topics.events", "topics.signals", "topics.state",
                                           "topics.alerts", "topics.dlq"};
  if (kafka) {
    if (!use_broker(d, cfg, kafka)) goto done;
  } else {
    for (size_t i = 0; i < 5; i++) t.topics[t.n_topics++] = parry_config_str(cfg, topic_keys[i]);
    d->kafka = dev_kafka_start(&t, errstr, sizeof errstr);
    if (!d->kafka) {
      fprintf(err, "parry dev: Kafka mock cluster: %s\n", errstr);
      goto done;
    }
    d->bootstrap = dev_kafka_bootstrap(d->kafka);
    fprintf(out, "  kafka (mock)     %s, %zu topics x %d partitions\n", d->bootstrap, t.n_topics,
            t.partitions);
  }
  d->pg = dev_pg_start(d->dir, errstr, sizeof errstr);
  if (!d->pg) {
    fprintf(err, "parry dev: PostgreSQL: %s\n", errstr);
    goto done;
  }
  fprintf(out, "  postgresql       %s\n", dev_pg_describe(d->pg));
  if (!random_token(d->token) || !random_token(d->standin_token)) goto done;
  start_standin(d, SVC_STANDIN_HTTP, "http");
  if (d->svc[SVC_STANDIN_HTTP].pid > 0) start_standin(d, SVC_STANDIN_SMTP, "smtp");
  if (dev_interrupted) goto done;

  /* 3. configuration and services */
  {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/ingest-token", d->dir);
    if (!write_private(path, d->token, strlen(d->token))) goto done;
  }
  d->syslog_port = dev_free_port();
  d->ingest_port = dev_free_port();
  if (!write_config(d, cfg)) {
    fprintf(err, "parry dev: could not write %s/parry.yaml\n", d->dir);
    goto done;
  }
  fprintf(out, "\n== services (configuration %s)\n", d->config);
  if (!start_service(d, SVC_INGESTOR, "parry-ingestor", "parry-ingestor") ||
      !start_service(d, SVC_CORRELATOR, "parry-correlator", "parry-correlator") ||
      !start_service(d, SVC_EXECUTOR, "parry-executor", "parry-executor"))
    goto done;
  if (!wait_ready(d, 60000)) {
    fprintf(out, "parry dev: the ingestor is not ready: nothing can flow\n");
    goto done;
  }
  if (parry_pg_connect(dev_pg_dsn(d->pg), "parry-dev", &d->conn, errstr, sizeof errstr)) {
    fprintf(err, "parry dev: case store: %s\n", errstr);
    d->conn = NULL;
  }

  /* 4. traffic through the sources, progress, then wait for the cases */
  dev_sources_t src = {.ingestor_http = d->svc[SVC_INGESTOR].http_port,
                       .correlator_http = d->svc[SVC_CORRELATOR].http_port,
                       .executor_http = d->svc[SVC_EXECUTOR].http_port,
                       .pg = d->conn};
  for (int i = SVC_STANDIN_HTTP; i <= SVC_STANDIN_SMTP; i++)
    if (d->standin_port[i]) src.record_files[src.n_record_files++] = d->record[i];
  fprintf(out, "\n== sending: syslog over TCP 127.0.0.1:%d, Windows events over HTTP "
               "127.0.0.1:%d (bearer token)\n",
          d->syslog_port, d->ingest_port);
  bool sent = send_traffic(d, &src, send_ns / 1000000, tty);
  dev_progress_t p;
  int64_t deadline = parry_time_now_ns() + wait_ns;
  int quiet = 0;
  while (!dev_interrupted && parry_time_now_ns() < deadline) {
    progress(d, &src, &p, sent ? parry_gen_count(d->gen) : 0, tty);
    /* done when every expected case (and block) is there and nothing moves */
    if (d->conn && dev_expected_cases_present(d->conn, d->gen, &d->expected) && p.runs_open == 0) {
      if (++quiet >= 6) break;
    } else {
      quiet = 0;
    }
    dev_sleep_ms(tty ? 500 : 2000);
  }
  progress(d, &src, &p, sent ? parry_gen_count(d->gen) : 0, tty);
  if (tty) fputc('\n', out);

  /* 5. the summary */
  bool ok = dev_report(out, &src, d->gen, &p, &d->expected) && sent;
  fprintf(out, "\n== look further\n");
  if (keep) {
    fprintf(out,
            "  the fleet keeps running until Ctrl-C; in another shell:\n"
            "    export PARRY_CONFIG=%s\n"
            "    parry cases list\n    parry cases show ID\n"
            "  logs, manifest and traffic are in %s\n",
            d->config, d->dir);
  } else {
    fprintf(out,
            "  parry dev --keep leaves the fleet running after this summary, so that\n"
            "  `PARRY_CONFIG=<work folder>/parry.yaml parry cases list` and `parry cases show ID`\n"
            "  can look at the cases; `parry generate --seed %" PRIu64
            " --manifest -` shows the traffic.\n",
            go.seed);
  }
  fprintf(out, "\nparry dev: %s\n",
          dev_interrupted ? "interrupted"
          : ok ? "every expected case appeared"
               : "the expected cases did not all appear (see above)");
  fflush(out);
  /* interrupted before the verdict: 130; --keep ends by a signal, after it */
  rc = dev_interrupted ? 130 : ok ? 0 : 1;
  if (keep)
    while (!dev_interrupted) dev_sleep_ms(500);

done:
  if (d->svc[SVC_INGESTOR].pid || d->pg || d->kafka) fprintf(out, "parry dev: stopping\n");
  stop_all(d);
  if (d->dir[0]) {
    if (rc == 0 && !keep) dev_rmtree(d->dir);
    else fprintf(out, "parry dev: logs kept in %s\n", d->dir);
  }
  if (handlers) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  parry_gen_destroy(d->gen);
  dev_expected_free(&d->expected);
  free(d->child_env);
  free(d);
  parry_config_destroy(cfg);
  return rc;
}
