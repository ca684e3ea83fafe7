/* The ingestor's sources end to end against a real broker (KAFKA_BOOTSTRAP;
 * skipped when unset unless PARRY_REQUIRE_SERVICES=1): the ingestor runs
 * in-process on ephemeral loopback ports, test clients send known records,
 * and a consumer reads topics.events and topics.dlq back and checks that
 * exactly what was sent arrived -- each event decoded from protobuf, keyed by
 * its entity, each dead letter with its reason, source and bytes -- and
 * nothing more. Every test has its own topics.
 *
 *   syslog UDP      allowlisted and refused peers (127.0.0.2 plays the
 *                   stranger), an oversize datagram
 *   syslog TCP      newline and octet-counted connections written in odd
 *                   pieces, an oversize frame, garbage, a refused peer
 *   syslog TLS      a TLS client (allowlist), and mutual TLS: a signed client
 *                   certificate from any address, none, and a stranger's
 *   HTTP            401, NDJSON with a bad line, a JSON array, gzip, 413 over
 *                   the body and the decompressed caps, the answer only after
 *                   delivery
 *   Kafka raw topic Beats-style JSON messages, offsets committed after delivery
 *   files           a replay file: events, a dead letter with its line number
 *   backpressure    a UDP burst past the receive buffer: every datagram is an
 *                   event or a counted kernel drop
 *
 * sshd lines are the syslog payload. Until the syslog parser is registered,
 * they are expected on the dead-letter topic instead (the test says so); JSON
 * records over the same transports check the event path meanwhile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include "ingestor.h"
#include "kafka_support.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parse/parser.h"

#define PARTITIONS 3
#define WAIT_MS 20000 /* every wait below is bounded by this */
#define TOKEN "t0ken-for-tests"

static const char *g_bootstrap;
static rd_kafka_t *g_admin; /* creates topics */
static char g_tmp[256];     /* certificates */
static bool g_have_syslog;  /* is the syslog parser registered? */

/* ------------------------------------------------------------- fixture */

typedef struct {
  char events[160], dlq[160];
  parry_config_t *cfg;
  parry_metrics_t *metrics;
  parry_ingestor_t *ing;
  parry_ingestor_ports_t ports;
} fixture_t;

static void set(parry_config_t *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set(parry_config_t *cfg, const char *fmt, ...) {
  char kv[1024], err[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(kv, sizeof kv, fmt, ap);
  va_end(ap);
  if (parry_config_set(cfg, kv, "test", err, sizeof err)) fail_msg("%s: %s", kv, err);
}

/* Fresh topics and an ingestor with `settings` ("key=value", NULL-ended). */
static void start(fixture_t *f, const char *const *settings) {
  memset(f, 0, sizeof *f);
  parry_test_unique_name("parry-ing-events", f->events, sizeof f->events);
  parry_test_unique_name("parry-ing-dlq", f->dlq, sizeof f->dlq);
  parry_test_kafka_create_topic(g_admin, f->events, PARTITIONS);
  parry_test_kafka_create_topic(g_admin, f->dlq, PARTITIONS);
  f->cfg = parry_test_kafka_config(g_bootstrap, NULL);
  set(f->cfg, "topics.events=%s", f->events);
  set(f->cfg, "topics.dlq=%s", f->dlq);
  set(f->cfg, "ingestor.syslog.allow=127.0.0.1/32"); /* 127.0.0.2 is a stranger */
  for (size_t i = 0; settings && settings[i]; i++) set(f->cfg, "%s", settings[i]);
  f->metrics = parry_metrics_new();
  char err[1024];
  if (parry_ingestor_start(f->cfg, f->metrics, &f->ing, err, sizeof err))
    fail_msg("could not start the ingestor: %s", err);
  parry_ingestor_ports(f->ing, &f->ports);
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  char why[256];
  while (!parry_ingestor_ready(f->ing, why, sizeof why)) {
    if (parry_test_now_ms() > deadline) fail_msg("ingestor not ready: %s", why);
    usleep(20000);
  }
}

static void stop(fixture_t *f) {
  assert_int_equal(parry_ingestor_stop(f->ing), 0); /* nothing lost */
  parry_metrics_destroy(f->metrics);
  parry_config_destroy(f->cfg);
}

static int64_t metric(fixture_t *f, const char *name, const char *k1, const char *v1,
                      const char *k2, const char *v2) {
  parry_metric_t *m = k2 ? parry_metrics_counter(f->metrics, name, "", k1, v1, k2, v2, NULL)
                      : k1 ? parry_metrics_counter(f->metrics, name, "", k1, v1, NULL)
                           : parry_metrics_counter(f->metrics, name, "", NULL);
  return parry_metric_value(m);
}

/* ------------------------------------------------------------ read back */

typedef struct {
  char *key;
  Parry__V1__Event *ev;
} got_event_t;

typedef struct {
  char *key, *value, *reason, *source;
} got_dlq_t;

typedef struct {
  got_event_t *ev;
  size_t n_ev;
  got_dlq_t *dlq;
  size_t n_dlq;
} got_t;

/* Read both topics from the start until the wanted counts arrived, then a
 * little longer so that anything extra shows. */
static void collect(fixture_t *f, size_t want_ev, size_t want_dlq, got_t *got) {
  memset(got, 0, sizeof *got);
  char group[160], err[512];
  parry_test_unique_name("parry-ing-reader", group, sizeof group);
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  rd_kafka_t *rk = parry_kafka_consumer_new(cfg, NULL, group, NULL, err, sizeof err);
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(2 * PARTITIONS);
  for (int p = 0; p < PARTITIONS; p++) {
    rd_kafka_topic_partition_list_add(parts, f->events, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_topic_partition_list_add(parts, f->dlq, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  int64_t deadline = parry_test_now_ms() + WAIT_MS, extra_until = 0;
  for (;;) {
    int64_t now = parry_test_now_ms();
    if (!extra_until && got->n_ev >= want_ev && got->n_dlq >= want_dlq) extra_until = now + 700;
    if ((extra_until && now > extra_until) || now > deadline) break;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err) {
      rd_kafka_message_destroy(m);
      continue;
    }
    char *key = m->key ? parry_test_dup_bytes(m->key, m->key_len) : NULL;
    if (strcmp(rd_kafka_topic_name(m->rkt), f->events) == 0) {
      got->ev = parry_xreallocarray(got->ev, got->n_ev + 1, sizeof *got->ev);
      got->ev[got->n_ev].key = key;
      got->ev[got->n_ev].ev = parry__v1__event__unpack(NULL, m->len, m->payload);
      assert_non_null(got->ev[got->n_ev].ev);
      got->n_ev++;
    } else {
      got->dlq = parry_xreallocarray(got->dlq, got->n_dlq + 1, sizeof *got->dlq);
      got->dlq[got->n_dlq] = (got_dlq_t){key, parry_test_dup_bytes(m->payload, m->len),
                                         parry_test_kafka_header(m, "parry.reason"), parry_test_kafka_header(m, "parry.source")};
      got->n_dlq++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  parry_kafka_destroy(rk);
  parry_config_destroy(cfg);
  if (got->n_ev != want_ev || got->n_dlq != want_dlq) {
    for (size_t i = 0; i < got->n_dlq; i++) printf("# dead letter: %s\n", got->dlq[i].value);
    for (size_t i = 0; i < got->n_ev; i++)
      printf("# event: %s\n", got->ev[i].ev->message ? got->ev[i].ev->message : "");
    fail_msg("expected %zu events and %zu dead letters, got %zu and %zu", want_ev, want_dlq,
             got->n_ev, got->n_dlq);
  }
}

static void got_free(got_t *got) {
  for (size_t i = 0; i < got->n_ev; i++) {
    free(got->ev[i].key);
    parry__v1__event__free_unpacked(got->ev[i].ev, NULL);
  }
  for (size_t i = 0; i < got->n_dlq; i++) {
    free(got->dlq[i].key);
    free(got->dlq[i].value);
    free(got->dlq[i].reason);
    free(got->dlq[i].source);
  }
  free(got->ev);
  free(got->dlq);
}

/* The one event whose message contains `marker`; its source.ip and key. */
static const got_event_t *event_with(const got_t *got, const char *marker) {
  const got_event_t *found = NULL;
  for (size_t i = 0; i < got->n_ev; i++) {
    const char *msg = got->ev[i].ev->message;
    if (msg && strstr(msg, marker)) {
      if (found) fail_msg("two events carry \"%s\"", marker);
      found = &got->ev[i];
    }
  }
  if (!found) fail_msg("no event carries \"%s\"", marker);
  return found;
}

static const got_dlq_t *dead_letter_with(const got_t *got, const char *marker) {
  const got_dlq_t *found = NULL;
  for (size_t i = 0; i < got->n_dlq; i++) {
    if (strstr(got->dlq[i].value, marker)) {
      if (found) fail_msg("two dead letters carry \"%s\"", marker);
      found = &got->dlq[i];
    }
  }
  if (!found) fail_msg("no dead letter carries \"%s\"", marker);
  return found;
}

static void assert_keyed_event(const got_t *got, const char *marker, const char *ip) {
  const got_event_t *e = event_with(got, marker);
  assert_non_null(e->ev->source_ip);
  assert_string_equal(e->ev->source_ip, ip);
  assert_non_null(e->key); /* keyed by the entity: the first of source.ip, host.name */
  assert_string_equal(e->key, ip);
}

/* A dead letter's JSON: reason, source and the record's bytes. */
static void assert_dead_letter(const got_dlq_t *d, const char *record, const char *reason_part,
                               const char *source_prefix) {
  json_object *o = json_tokener_parse(d->value);
  assert_non_null(o);
  json_object *v;
  assert_true(json_object_object_get_ex(o, "record", &v));
  if (record) assert_string_equal(json_object_get_string(v), record);
  assert_true(json_object_object_get_ex(o, "reason", &v));
  if (!strstr(json_object_get_string(v), reason_part))
    fail_msg("reason \"%s\" lacks \"%s\"", json_object_get_string(v), reason_part);
  assert_non_null(d->reason);
  assert_string_equal(d->reason, json_object_get_string(v)); /* the parry.reason header */
  assert_true(json_object_object_get_ex(o, "source", &v));
  assert_non_null(d->source);
  assert_string_equal(d->source, json_object_get_string(v)); /* the parry.source header */
  assert_int_equal(strncmp(d->source, source_prefix, strlen(source_prefix)), 0);
  json_object_put(o);
}

/* ---------------------------------------------------------------- senders */

/* An sshd line with a unique marker (the invalid user) and source address. */
static void sshd_line(char *out, size_t size, const char *marker, const char *ip) {
  snprintf(out, size,
           "<38>Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user %s from %s "
           "port 38926 ssh2",
           marker, ip);
}

/* What sending n sshd lines should give: events, or (no parser yet) dead
 * letters. */
static size_t sshd_events(size_t n) { return g_have_syslog ? n : 0; }
static size_t sshd_rejects(size_t n) { return g_have_syslog ? 0 : n; }

static void check_sshd(const got_t *got, const char *marker, const char *ip, const char *src) {
  if (g_have_syslog) {
    assert_keyed_event(got, marker, ip);
  } else {
    assert_dead_letter(dead_letter_with(got, marker), NULL, "no parser recognises", src);
  }
}

static int client_socket(int type, const char *bind_ip) {
  int fd = socket(AF_INET, type, 0);
  assert_true(fd >= 0);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (bind_ip) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, bind_ip, &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  }
  return fd;
}

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  return a;
}

static void udp_send(uint16_t port, const char *bind_ip, const void *data, size_t len) {
  int fd = client_socket(SOCK_DGRAM, bind_ip);
  struct sockaddr_in a = loopback(port);
  assert_int_equal(sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)len);
  close(fd);
}

static int tcp_connect(uint16_t port, const char *bind_ip) {
  int fd = client_socket(SOCK_STREAM, bind_ip);
  struct sockaddr_in a = loopback(port);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

static void send_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) fail_msg("send failed: %s", strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

/* Close only after the ingestor has read everything (it closes on EOF):
 * shutdown our side and wait for its close. */
static void tcp_finish(int fd) {
  shutdown(fd, SHUT_WR);
  char c;
  struct pollfd p = {fd, POLLIN, 0};
  poll(&p, 1, WAIT_MS);
  (void)!read(fd, &c, 1);
  close(fd);
}

/* ---------------------------------------------------------------- setup */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd);
}

/* A CA, a server certificate and a client certificate it signed, and a
 * stranger's self-signed client certificate, all throwaway. */
static void make_certs(void) {
  snprintf(g_tmp, sizeof g_tmp, "/tmp/parry-ingestor-test-XXXXXX");
  assert_non_null(mkdtemp(g_tmp));
  const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  int rc = sh("(cd %s && "
              "openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=parry-test-ca && "
              "openssl req %s -keyout server.key -out server.csr -subj /CN=localhost && "
              "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
              "-out server.pem -days 2 && "
              "openssl req %s -keyout client.key -out client.csr -subj /CN=relay-1 && "
              "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
              "-out client.pem -days 2 && "
              "openssl req -x509 %s -keyout rogue.key -out rogue.pem -days 2 -subj /CN=rogue"
              ") >/dev/null 2>&1",
              g_tmp, ec, ec, ec, ec);
  if (rc != 0) fail_msg("could not make test certificates with the openssl command (rc %d)", rc);
}

static int group_setup(void **state) {
  (void)state;
  g_bootstrap = parry_test_kafka_bootstrap();
  if (!g_bootstrap) return 0;
  parry_log_init("test", PARRY_LOG_WARN);
  signal(SIGPIPE, SIG_IGN); /* TLS clients write to sockets the server closed */
  g_have_syslog = parry_parser_find("syslog") != NULL;
  if (!g_have_syslog)
    printf("# the syslog parser is not registered yet: sshd lines are expected on the "
           "dead-letter topic, not as events\n");
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  char err[512];
  const parry_kafka_producer_opts_t opts = {.client_id = "test-ingestor-admin"};
  g_admin = parry_kafka_producer_new(cfg, NULL, &opts, err, sizeof err);
  parry_config_destroy(cfg);
  if (!g_admin) fail_msg("%s", err);
  make_certs();
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  parry_kafka_destroy(g_admin);
  if (g_tmp[0]) sh("rm -rf %s", g_tmp);
  return 0;
}

/* ------------------------------------------------------------ syslog UDP */

static void test_syslog_udp(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f;
  const char *settings[] = {"ingestor.syslog.udp.enabled=true",
                            "ingestor.syslog.udp.listen=127.0.0.1:0",
                            "ingestor.max_record_size=2048", NULL};
  start(&f, settings);
  char line[512], marker[32], ip[32];
  for (int i = 0; i < 10; i++) {
    snprintf(marker, sizeof marker, "udp%d", i);
    snprintf(ip, sizeof ip, "10.1.0.%d", i + 1);
    sshd_line(line, sizeof line, marker, ip);
    udp_send(f.ports.syslog_udp, "127.0.0.1", line, strlen(line));
  }
  const char *json = "{\"message\":\"json over udp\",\"source\":{\"ip\":\"10.1.1.1\"}}";
  udp_send(f.ports.syslog_udp, "127.0.0.1", json, strlen(json));
  const char *junk = "this is no log line at all: udp-junk";
  udp_send(f.ports.syslog_udp, "127.0.0.1", junk, strlen(junk));
  char big[3000];
  memset(big, 'B', sizeof big);
  memcpy(big, "udp-oversize", 12);
  udp_send(f.ports.syslog_udp, "127.0.0.1", big, sizeof big);
  /* A stranger: refused and counted, never delivered. */
  for (int i = 0; i < 3; i++) {
    sshd_line(line, sizeof line, "stranger", "10.66.0.1");
    udp_send(f.ports.syslog_udp, "127.0.0.2", line, strlen(line));
  }

  got_t got;
  collect(&f, sshd_events(10) + 1, sshd_rejects(10) + 2, &got);
  for (int i = 0; i < 10; i++) {
    snprintf(marker, sizeof marker, "user udp%d ", i);
    snprintf(ip, sizeof ip, "10.1.0.%d", i + 1);
    check_sshd(&got, marker, ip, "syslog-udp:127.0.0.1");
  }
  assert_keyed_event(&got, "json over udp", "10.1.1.1");
  assert_dead_letter(dead_letter_with(&got, "udp-junk"), junk, "no parser recognises",
                     "syslog-udp:127.0.0.1");
  const got_dlq_t *d = dead_letter_with(&got, "udp-oversize");
  assert_dead_letter(d, NULL, "3000 bytes exceeds ingestor.max_record_size (2048)",
                     "syslog-udp:127.0.0.1");
  json_object *o = json_tokener_parse(d->value), *rec;
  json_object_object_get_ex(o, "record", &rec);
  assert_int_equal(json_object_get_string_len(rec), 2048); /* the first bytes, kept */
  json_object_put(o);
  assert_int_equal(metric(&f, "parry_ingestor_auth_failures_total", "source", "syslog-udp",
                          "reason", "allowlist"),
                   3);
  assert_int_equal(metric(&f, "parry_ingestor_records_total", "source", "syslog-udp", NULL, NULL),
                   13);
  assert_int_equal(metric(&f, "parry_ingestor_udp_drops_total", NULL, NULL, NULL, NULL), 0);
  got_free(&got);
  stop(&f);
}

/* Backpressure over UDP: with a producer that holds one message at a time,
 * a burst overflows the socket's receive buffer. Every datagram is then
 * either an event or a kernel drop counted in parry_ingestor_udp_drops_total:
 * records + drops == sent, and exactly the records arrive. */
static void test_syslog_udp_drops_are_counted(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f;
  const char *settings[] = {"ingestor.syslog.udp.enabled=true",
                            "ingestor.syslog.udp.listen=127.0.0.1:0",
                            "ingestor.syslog.udp.receive_buffer=64KiB",
                            "kafka.queue.buffering.max.messages=1", "kafka.linger.ms=0", NULL};
  start(&f, settings);
  const int sent = 3000;
  int fd = client_socket(SOCK_DGRAM, "127.0.0.1");
  struct sockaddr_in a = loopback(f.ports.syslog_udp);
  char msg[160];
  for (int i = 0; i < sent; i++) {
    int n = snprintf(msg, sizeof msg,
                     "{\"message\":\"flood %d\",\"source\":{\"ip\":\"10.8.%d.%d\"}}", i, i / 250,
                     i % 250 + 1);
    assert_int_equal(sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&a, sizeof a), n);
  }
  /* Once the burst is worked off, one more datagram brings the kernel's
   * drop count with it. */
  int64_t deadline = parry_test_now_ms() + WAIT_MS, last = -1;
  for (;;) {
    usleep(300000);
    int64_t now = metric(&f, "parry_ingestor_records_total", "source", "syslog-udp", NULL, NULL);
    if (now == last || parry_test_now_ms() > deadline) break;
    last = now;
  }
  int n = snprintf(msg, sizeof msg, "%s",
                   "{\"message\":\"flood last\",\"source\":{\"ip\":\"10.8.99.1\"}}");
  assert_int_equal(sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&a, sizeof a), n);
  close(fd);
  int64_t records = 0, drops = 0;
  while (parry_test_now_ms() < deadline) {
    records = metric(&f, "parry_ingestor_records_total", "source", "syslog-udp", NULL, NULL);
    drops = metric(&f, "parry_ingestor_udp_drops_total", NULL, NULL, NULL, NULL);
    if (records + drops == sent + 1) break;
    usleep(20000);
  }
  printf("# %d datagrams: %lld read, %lld dropped by the kernel\n", sent + 1, (long long)records,
         (long long)drops);
  assert_int_equal(records + drops, sent + 1);
  assert_true(drops > 0);
  assert_true(metric(&f, "parry_ingestor_backpressure_waits_total", "source", "syslog-udp", NULL,
                     NULL) > 0);
  got_t got;
  collect(&f, (size_t)records, 0, &got);
  event_with(&got, "flood last");
  got_free(&got);
  stop(&f);
}

/* ------------------------------------------------------------ syslog TCP */

static void test_syslog_tcp_both_framings(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f;
  const char *settings[] = {"ingestor.syslog.tcp.enabled=true",
                            "ingestor.syslog.tcp.listen=127.0.0.1:0",
                            "ingestor.max_record_size=1024", NULL};
  start(&f, settings);
  char line[512], marker[32], ip[32];

  /* Newline framing, written in 7-byte pieces. */
  parry_buf_t nl = PARRY_BUF_INIT(0);
  for (int i = 0; i < 8; i++) {
    snprintf(marker, sizeof marker, "nl%d", i);
    snprintf(ip, sizeof ip, "10.2.0.%d", i + 1);
    sshd_line(line, sizeof line, marker, ip);
    parry_buf_printf(&nl, "%s\n", line);
  }
  parry_buf_append_str(&nl, "{\"message\":\"json over tcp\",\"source\":{\"ip\":\"10.2.1.1\"}}\r\n");
  int a = tcp_connect(f.ports.syslog_tcp, "127.0.0.1");
  for (size_t at = 0; at < nl.len; at += 7) {
    send_all(a, nl.data + at, nl.len - at < 7 ? nl.len - at : 7);
    if (at % 70 == 0) usleep(1000); /* let reads split the stream */
  }

  /* Octet counting on a second connection, at the same time, with an
   * oversize frame and garbage between frames. */
  parry_buf_t oc = PARRY_BUF_INIT(0);
  for (int i = 0; i < 8; i++) {
    snprintf(marker, sizeof marker, "oc%d", i);
    snprintf(ip, sizeof ip, "10.3.0.%d", i + 1);
    sshd_line(line, sizeof line, marker, ip);
    parry_buf_printf(&oc, "%zu %s", strlen(line), line);
    if (i == 3) {
      parry_buf_printf(&oc, "1500 tcp-oversize");
      for (int k = 0; k < 1500 - 12; k++) parry_buf_append_char(&oc, 'x');
    }
    if (i == 5) parry_buf_append_str(&oc, "tcp-garbage here\n");
  }
  int b = tcp_connect(f.ports.syslog_tcp, "127.0.0.1");
  for (size_t at = 0; at < oc.len; at += 13)
    send_all(b, oc.data + at, oc.len - at < 13 ? oc.len - at : 13);
  tcp_finish(a);
  tcp_finish(b);

  /* A stranger's connection is closed before anything is read. */
  int c = tcp_connect(f.ports.syslog_tcp, "127.0.0.2");
  sshd_line(line, sizeof line, "stranger", "10.66.0.1");
  (void)!send(c, line, strlen(line), MSG_NOSIGNAL);
  char buf[16];
  struct pollfd p = {c, POLLIN, 0};
  poll(&p, 1, WAIT_MS);
  assert_true(read(c, buf, sizeof buf) <= 0); /* closed on us */
  close(c);

  got_t got;
  collect(&f, sshd_events(16) + 1, sshd_rejects(16) + 2, &got);
  for (int i = 0; i < 8; i++) {
    snprintf(marker, sizeof marker, "user nl%d ", i);
    snprintf(ip, sizeof ip, "10.2.0.%d", i + 1);
    check_sshd(&got, marker, ip, "syslog-tcp:127.0.0.1");
    snprintf(marker, sizeof marker, "user oc%d ", i);
    snprintf(ip, sizeof ip, "10.3.0.%d", i + 1);
    check_sshd(&got, marker, ip, "syslog-tcp:127.0.0.1");
  }
  assert_keyed_event(&got, "json over tcp", "10.2.1.1");
  assert_dead_letter(dead_letter_with(&got, "tcp-oversize"), NULL,
                     "1500 bytes exceeds ingestor.max_record_size (1024)", "syslog-tcp:127.0.0.1");
  assert_dead_letter(dead_letter_with(&got, "tcp-garbage"), "tcp-garbage here",
                     "octet-counting framing", "syslog-tcp:127.0.0.1");
  assert_int_equal(metric(&f, "parry_ingestor_auth_failures_total", "source", "syslog-tcp",
                          "reason", "allowlist"),
                   1);
  assert_int_equal(metric(&f, "parry_ingestor_connections_total", "source", "syslog-tcp", NULL,
                          NULL),
                   2);
  got_free(&got);
  parry_buf_free(&nl);
  parry_buf_free(&oc);
  stop(&f);
}

/* ------------------------------------------------------------ syslog TLS */

typedef struct {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
} tls_client_t;

/* A TLS client (with a client certificate when `cert` is given); false if
 * the handshake fails. Trusts the test CA. */
static bool tls_connect(tls_client_t *c, uint16_t port, const char *bind_ip, const char *cert) {
  char path[400], key[400];
  c->fd = tcp_connect(port, bind_ip);
  c->ctx = SSL_CTX_new(TLS_client_method());
  snprintf(path, sizeof path, "%s/ca.pem", g_tmp);
  assert_int_equal(SSL_CTX_load_verify_locations(c->ctx, path, NULL), 1);
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
  if (cert) {
    snprintf(path, sizeof path, "%s/%s.pem", g_tmp, cert);
    snprintf(key, sizeof key, "%s/%s.key", g_tmp, cert);
    assert_int_equal(SSL_CTX_use_certificate_file(c->ctx, path, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM), 1);
  }
  c->ssl = SSL_new(c->ctx);
  SSL_set_fd(c->ssl, c->fd);
  SSL_set_tlsext_host_name(c->ssl, "localhost");
  if (SSL_connect(c->ssl) != 1) return false;
  /* Under TLS 1.3 the server checks the client certificate after the
   * client's handshake is done: a refusal shows on the first read. */
  return true;
}

static void tls_send(tls_client_t *c, const char *data, size_t len) {
  assert_int_equal(SSL_write(c->ssl, data, (int)len), (int)len);
}

/* Closed by the server? Reads until EOF or an error. */
static bool tls_refused(tls_client_t *c) {
  char buf[64];
  return SSL_read(c->ssl, buf, sizeof buf) <= 0;
}

static void tls_close(tls_client_t *c, bool wait_for_server) {
  if (wait_for_server) {
    SSL_shutdown(c->ssl);
    shutdown(c->fd, SHUT_WR);
    char buf[64];
    while (SSL_read(c->ssl, buf, sizeof buf) > 0) {
    }
  }
  SSL_free(c->ssl);
  SSL_CTX_free(c->ctx);
  close(c->fd);
  ERR_clear_error();
}

static void test_syslog_tls(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f;
  char cert[400], key[400];
  snprintf(cert, sizeof cert, "ingestor.syslog.tls.cert_file=%s/server.pem", g_tmp);
  snprintf(key, sizeof key, "ingestor.syslog.tls.key_file=%s/server.key", g_tmp);
  const char *settings[] = {"ingestor.syslog.tls.enabled=true",
                            "ingestor.syslog.tls.listen=127.0.0.1:0", cert, key, NULL};
  start(&f, settings);
  tls_client_t c;
  assert_true(tls_connect(&c, f.ports.syslog_tls, "127.0.0.1", NULL));
  char line[512], marker[32], ip[32], frame[600];
  for (int i = 0; i < 6; i++) {
    snprintf(marker, sizeof marker, "tls%d", i);
    snprintf(ip, sizeof ip, "10.4.0.%d", i + 1);
    sshd_line(line, sizeof line, marker, ip);
    int n = snprintf(frame, sizeof frame, "%zu %s", strlen(line), line);
    tls_send(&c, frame, (size_t)n);
  }
  const char *json = "{\"message\":\"json over tls\",\"source\":{\"ip\":\"10.4.1.1\"}}";
  int n = snprintf(frame, sizeof frame, "%zu %s", strlen(json), json);
  tls_send(&c, frame, (size_t)n);
  tls_close(&c, true);

  /* The allowlist still applies without client certificates. */
  tls_client_t s;
  if (tls_connect(&s, f.ports.syslog_tls, "127.0.0.2", NULL)) assert_true(tls_refused(&s));
  tls_close(&s, false);

  got_t got;
  collect(&f, sshd_events(6) + 1, sshd_rejects(6), &got);
  for (int i = 0; i < 6; i++) {
    snprintf(marker, sizeof marker, "user tls%d ", i);
    snprintf(ip, sizeof ip, "10.4.0.%d", i + 1);
    check_sshd(&got, marker, ip, "syslog-tls:127.0.0.1");
  }
  assert_keyed_event(&got, "json over tls", "10.4.1.1");
  assert_int_equal(metric(&f, "parry_ingestor_auth_failures_total", "source", "syslog-tls",
                          "reason", "allowlist"),
                   1);
  got_free(&got);
  stop(&f);
}

static void test_syslog_mutual_tls(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f;
  char cert[400], key[400], ca[400];
  snprintf(cert, sizeof cert, "ingestor.syslog.tls.cert_file=%s/server.pem", g_tmp);
  snprintf(key, sizeof key, "ingestor.syslog.tls.key_file=%s/server.key", g_tmp);
  snprintf(ca, sizeof ca, "ingestor.syslog.tls.client_ca_file=%s/ca.pem", g_tmp);
  const char *settings[] = {"ingestor.syslog.tls.enabled=true",
                            "ingestor.syslog.tls.listen=127.0.0.1:0", cert, key, ca, NULL};
  start(&f, settings);

  /* A relay with a signed certificate, from an address outside the
   * allowlist: the certificate is the authentication. */
  tls_client_t c;
  assert_true(tls_connect(&c, f.ports.syslog_tls, "127.0.0.2", "client"));
  char line[512], frame[600];
  sshd_line(line, sizeof line, "mtls0", "10.5.0.1");
  int n = snprintf(frame, sizeof frame, "%s\n", line); /* newline framing */
  tls_send(&c, frame, (size_t)n);
  const char *json = "{\"message\":\"json over mtls\",\"source\":{\"ip\":\"10.5.1.1\"}}\n";
  tls_send(&c, json, strlen(json));
  tls_close(&c, true);

  /* No certificate, and a certificate the CA did not sign: refused. */
  const char *who[] = {NULL, "rogue"};
  for (int i = 0; i < 2; i++) {
    tls_client_t r;
    if (tls_connect(&r, f.ports.syslog_tls, "127.0.0.1", who[i])) {
      SSL_write(r.ssl, "5 hello", 7);
      assert_true(tls_refused(&r));
    }
    tls_close(&r, false);
  }

  got_t got;
  collect(&f, sshd_events(1) + 1, sshd_rejects(1), &got);
  check_sshd(&got, "user mtls0 ", "10.5.0.1", "syslog-tls:127.0.0.2");
  assert_keyed_event(&got, "json over mtls", "10.5.1.1");
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  while (metric(&f, "parry_ingestor_auth_failures_total", "source", "syslog-tls", "reason",
                "client_certificate") < 2 &&
         parry_test_now_ms() < deadline)
    usleep(20000);
  assert_int_equal(metric(&f, "parry_ingestor_auth_failures_total", "source", "syslog-tls",
                          "reason", "client_certificate"),
                   2);
  got_free(&got);
  stop(&f);
}

/* ------------------------------------------------------------------ HTTP */

typedef struct {
  int status;
  char head[4096];
  char body[16384];
} http_resp_t;

/* One request over a fresh connection. body_len beyond len: a declared
 * Content-Length with only len bytes sent (the server should answer before
 * wanting the rest). chunked: Transfer-Encoding: chunked. */
static void http_post(uint16_t port, const char *headers, const void *body, size_t len,
                      size_t declared, bool chunked, http_resp_t *r) {
  int fd = tcp_connect(port, "127.0.0.1");
  char head[2048];
  int n = snprintf(head, sizeof head,
                   "POST /v1/events HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s", headers);
  if (chunked)
    n += snprintf(head + n, sizeof head - (size_t)n, "Transfer-Encoding: chunked\r\n\r\n");
  else
    n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n\r\n",
                  declared ? declared : len);
  send_all(fd, head, (size_t)n);
  const char *p = body;
  if (chunked) {
    for (size_t at = 0; at < len;) {
      size_t k = len - at < 4096 ? len - at : 4096;
      char sz[32];
      int m = snprintf(sz, sizeof sz, "%zx\r\n", k);
      if (send(fd, sz, (size_t)m, MSG_NOSIGNAL) < 0 || send(fd, p + at, k, MSG_NOSIGNAL) < 0 ||
          send(fd, "\r\n", 2, MSG_NOSIGNAL) < 0)
        break; /* the server may answer and close early */
      at += k;
    }
    (void)!send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
  } else if (len) {
    (void)!send(fd, body, len, MSG_NOSIGNAL);
  }
  char resp[sizeof r->head + sizeof r->body];
  size_t got = 0;
  for (;;) {
    ssize_t k = recv(fd, resp + got, sizeof resp - 1 - got, 0);
    if (k <= 0) break;
    got += (size_t)k;
  }
  resp[got] = '\0';
  close(fd);
  memset(r, 0, sizeof *r);
  if (sscanf(resp, "HTTP/1.1 %d", &r->status) != 1) fail_msg("no HTTP response: \"%s\"", resp);
  char *sep = strstr(resp, "\r\n\r\n");
  assert_non_null(sep);
  snprintf(r->head, sizeof r->head, "%.*s", (int)(sep - resp), resp);
  snprintf(r->body, sizeof r->body, "%s", sep + 4);
}

static int64_t json_int(const char *json, const char *key) {
  json_object *o = json_tokener_parse(json), *v;
  if (!o || !json_object_object_get_ex(o, key, &v)) fail_msg("no \"%s\" in %s", key, json);
  int64_t n = json_object_get_int64(v);
  json_object_put(o);
  return n;
}

static void gzip_bytes(const void *in, size_t len, parry_buf_t *out) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  unsigned char chunk[16384];
  zs.next_in = (unsigned char *)in;
  zs.avail_in = (uInt)len;
  int z;
  do {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    z = deflate(&zs, Z_FINISH);
    parry_buf_append(out, chunk, sizeof chunk - zs.avail_out);
  } while (z == Z_OK);
  assert_int_equal(z, Z_STREAM_END);
  deflateEnd(&zs);
}

static void test_http(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  fixture_t f;
  const char *settings[] = {"ingestor.http.enabled=true", "ingestor.http.listen=127.0.0.1:0",
                            "ingestor.http.token=" TOKEN, "ingestor.http.max_body_size=64KiB",
                            "ingestor.http.max_decompressed_size=128KiB", NULL};
  start(&f, settings);
  uint16_t port = f.ports.http;
  const char *auth = "Authorization: Bearer " TOKEN "\r\n";
  http_resp_t r;

  /* 401: no token, a wrong one, another scheme. Nothing is read. */
  const char *one = "{\"message\":\"never\",\"source\":{\"ip\":\"10.9.9.9\"}}\n";
  http_post(port, "", one, strlen(one), 0, false, &r);
  assert_int_equal(r.status, 401);
  assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
  http_post(port, "Authorization: Bearer " TOKEN "x\r\n", one, strlen(one), 0, false, &r);
  assert_int_equal(r.status, 401);
  http_post(port, "Authorization: Basic dTpw\r\n", one, strlen(one), 0, false, &r);
  assert_int_equal(r.status, 401);

  /* NDJSON with a bad line in the middle, and an sshd line: partial
   * success, counted, the bad line's number and reason in the answer. */
  char line[512];
  sshd_line(line, sizeof line, "http0", "10.6.0.9");
  parry_buf_t body = PARRY_BUF_INIT(0);
  parry_buf_append_str(&body, "{\"message\":\"http a\",\"source\":{\"ip\":\"10.6.0.1\"}}\n");
  parry_buf_append_str(&body, "{\"message\":\"http b\",\"host\":{\"name\":\"web-7\"}}\n");
  parry_buf_append_str(&body, "{\"message\":\"http-bad\", oops}\n");
  parry_buf_append_str(&body, "\n");
  parry_buf_printf(&body, "%s\n", line);
  parry_buf_append_str(&body, "{\"message\":\"http c\",\"source\":{\"ip\":\"10.6.0.3\"}}");
  http_post(port, auth, body.data, body.len, 0, false, &r);
  assert_int_equal(r.status, 200);
  /* The answer came after Kafka acknowledged the request's messages. */
  int64_t delivered =
      metric(&f, "parry_kafka_delivered_total", "client_id", "parry-ingestor", "topic", f.events) +
      metric(&f, "parry_kafka_delivered_total", "client_id", "parry-ingestor", "topic", f.dlq);
  assert_int_equal(delivered, 5);
  assert_int_equal(json_int(r.body, "records"), 5);
  assert_int_equal(json_int(r.body, "rejected"), 1 + (int)sshd_rejects(1));
  assert_int_equal(json_int(r.body, "accepted"), 4 - (int)sshd_rejects(1));
  assert_int_equal(json_int(r.body, "events"), 3 + (int)sshd_events(1));
  assert_non_null(strstr(r.body, "{\"line\":3,\"reason\":\"invalid JSON"));
  parry_buf_free(&body);

  /* A JSON array, gzip-compressed. */
  parry_buf_t arr = PARRY_BUF_INIT(0), gz = PARRY_BUF_INIT(0);
  parry_buf_append_str(&arr, "[{\"message\":\"http d\",\"source\":{\"ip\":\"10.6.0.4\"}},"
                             " {\"message\":\"http e\",\"source\":{\"ip\":\"10.6.0.5\"}},\n 42]");
  gzip_bytes(arr.data, arr.len, &gz);
  http_post(port, "Authorization: bearer " TOKEN "\r\nContent-Encoding: gzip\r\n", gz.data,
            gz.len, 0, false, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(json_int(r.body, "records"), 3);
  assert_int_equal(json_int(r.body, "events"), 2);
  assert_int_equal(json_int(r.body, "rejected"), 1);
  if (!strstr(r.body, "{\"element\":2,\"reason\":\"no parser recognises"))
    fail_msg("unexpected answer: %s", r.body);
  parry_buf_free(&arr);
  parry_buf_free(&gz);

  /* 413: a declared length over the cap (answered before the body), a
   * chunked body over it, and a small gzip that inflates past its cap. */
  http_post(port, auth, "", 0, 70000, false, &r);
  assert_int_equal(r.status, 413);
  char *big = parry_xmalloc(100000);
  memset(big, 'a', 100000);
  http_post(port, auth, big, 100000, 0, true, &r);
  assert_int_equal(r.status, 413);
  memset(big, ' ', 100000);
  parry_buf_t bomb = PARRY_BUF_INIT(0), bomb_gz = PARRY_BUF_INIT(0);
  for (int i = 0; i < 3; i++) parry_buf_append(&bomb, big, 100000);
  gzip_bytes(bomb.data, bomb.len, &bomb_gz);
  assert_true(bomb_gz.len < 4096);
  http_post(port, "Authorization: Bearer " TOKEN "\r\nContent-Encoding: gzip\r\n", bomb_gz.data,
            bomb_gz.len, 0, false, &r);
  assert_int_equal(r.status, 413);
  assert_non_null(strstr(r.body, "ingestor.http.max_decompressed_size"));
  free(big);
  parry_buf_free(&bomb);
  parry_buf_free(&bomb_gz);

  got_t got;
  collect(&f, 5 + sshd_events(1), 2 + sshd_rejects(1), &got);
  assert_keyed_event(&got, "http a", "10.6.0.1");
  assert_keyed_event(&got, "http c", "10.6.0.3");
  assert_keyed_event(&got, "http d", "10.6.0.4");
  assert_keyed_event(&got, "http e", "10.6.0.5");
  const got_event_t *b = event_with(&got, "http b");
  assert_non_null(b->key);
  assert_string_equal(b->key, "web-7"); /* no source.ip: host.name */
  check_sshd(&got, "user http0 ", "10.6.0.9", "http:127.0.0.1");
  assert_dead_letter(dead_letter_with(&got, "http-bad"), "{\"message\":\"http-bad\", oops}",
                     "invalid JSON", "http:127.0.0.1");
  assert_dead_letter(dead_letter_with(&got, "\"record\":\"42\""), "42", "no parser recognises",
                     "http:127.0.0.1");
  assert_int_equal(metric(&f, "parry_ingestor_auth_failures_total", "source", "http", "reason",
                          "token"),
                   3);
  assert_int_equal(metric(&f, "parry_ingestor_http_responses_total", "code", "401", NULL, NULL), 3);
  assert_int_equal(metric(&f, "parry_ingestor_http_responses_total", "code", "413", NULL, NULL), 3);
  assert_int_equal(metric(&f, "parry_ingestor_http_responses_total", "code", "200", NULL, NULL), 2);
  got_free(&got);
  stop(&f);
}

/* ------------------------------------------------------- Kafka raw topic */

static void test_kafka_raw_topic(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  char raw[160], group[160], topics[200], grp[200];
  parry_test_unique_name("parry-ing-raw", raw, sizeof raw);
  parry_test_unique_name("parry-ing-group", group, sizeof group);
  parry_test_kafka_create_topic(g_admin, raw, 2);
  /* What Beats and Vector write: the log line inside a JSON envelope. */
  const int n = 20;
  for (int i = 0; i < n; i++) {
    char line[512], msg[1024];
    char marker[32], ip[32];
    snprintf(marker, sizeof marker, "raw%d", i);
    snprintf(ip, sizeof ip, "10.7.0.%d", i + 1);
    sshd_line(line, sizeof line, marker, ip);
    int len = snprintf(msg, sizeof msg,
                       "{\"@timestamp\":\"2026-12-04T10:00:00Z\",\"message\":\"%s\","
                       "\"host\":{\"name\":\"LabSZ\"},\"source\":{\"ip\":\"%s\"},"
                       "\"agent\":{\"type\":\"filebeat\"}}",
                       line, ip);
    assert_int_equal(rd_kafka_producev(g_admin, RD_KAFKA_V_TOPIC(raw),
                                       RD_KAFKA_V_PARTITION(i % 2),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_VALUE(msg, (size_t)len), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  const char *bad = "{\"message\": raw-broken";
  assert_int_equal(rd_kafka_producev(g_admin, RD_KAFKA_V_TOPIC(raw), RD_KAFKA_V_PARTITION(0),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_VALUE((void *)bad, strlen(bad)), RD_KAFKA_V_END),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(rd_kafka_flush(g_admin, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);

  fixture_t f;
  snprintf(topics, sizeof topics, "ingestor.kafka.topics=%s", raw);
  snprintf(grp, sizeof grp, "ingestor.kafka.group=%s", group);
  const char *settings[] = {"ingestor.kafka.enabled=true", topics, grp,
                            "kafka.session.timeout.ms=6000", NULL};
  start(&f, settings);
  got_t got;
  collect(&f, (size_t)n, 1, &got);
  for (int i = 0; i < n; i++) {
    char marker[32], ip[32];
    snprintf(marker, sizeof marker, "user raw%d ", i);
    snprintf(ip, sizeof ip, "10.7.0.%d", i + 1);
    assert_keyed_event(&got, marker, ip);
  }
  assert_dead_letter(dead_letter_with(&got, "raw-broken"), bad, "invalid JSON",
                     "kafka:parry-ing-raw");

  /* Offsets are committed once the events are delivered: the group's
   * committed offsets reach the end of both partitions. */
  parry_config_t *cfg = parry_test_kafka_config(g_bootstrap, NULL);
  char err[512];
  rd_kafka_t *probe = parry_kafka_consumer_new(cfg, NULL, group, NULL, err, sizeof err);
  assert_non_null(probe);
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  int64_t sum = 0;
  while (parry_test_now_ms() < deadline) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(l, raw, 0);
    rd_kafka_topic_partition_list_add(l, raw, 1);
    sum = 0;
    if (rd_kafka_committed(probe, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
      for (int i = 0; i < 2; i++) sum += l->elems[i].offset > 0 ? l->elems[i].offset : 0;
    rd_kafka_topic_partition_list_destroy(l);
    if (sum == n + 1) break;
    usleep(100000);
  }
  assert_int_equal(sum, n + 1);
  parry_kafka_destroy(probe);
  parry_config_destroy(cfg);
  assert_int_equal(metric(&f, "parry_ingestor_records_total", "source", "kafka", NULL, NULL),
                   n + 1);
  got_free(&got);
  stop(&f);
}

/* ------------------------------------------------------------------ files */

static void test_files(void **state) {
  (void)state;
  if (!g_bootstrap) skip();
  char path[300], setting[340];
  snprintf(path, sizeof path, "%s/replay.log", g_tmp);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  char line[512], marker[32], ip[32];
  for (int i = 0; i < 5; i++) {
    snprintf(marker, sizeof marker, "file%d", i);
    snprintf(ip, sizeof ip, "10.10.0.%d", i + 1);
    sshd_line(line, sizeof line, marker, ip);
    fprintf(fp, "%s\n", line);
  }
  fprintf(fp, "file-junk: no format at all\n");
  fclose(fp);
  snprintf(setting, sizeof setting, "ingestor.files=%s", path);
  fixture_t f;
  const char *settings[] = {setting, NULL};
  start(&f, settings);
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  while (!parry_ingestor_files_done(f.ing) && parry_test_now_ms() < deadline) usleep(20000);
  assert_true(parry_ingestor_files_done(f.ing)); /* read, and acknowledged */
  got_t got;
  collect(&f, sshd_events(5), sshd_rejects(5) + 1, &got);
  char source[340];
  snprintf(source, sizeof source, "file:%s", path);
  for (int i = 0; i < 5; i++) {
    snprintf(marker, sizeof marker, "user file%d ", i);
    snprintf(ip, sizeof ip, "10.10.0.%d", i + 1);
    check_sshd(&got, marker, ip, source);
  }
  const got_dlq_t *d = dead_letter_with(&got, "file-junk");
  assert_dead_letter(d, "file-junk: no format at all", "no parser recognises", source);
  assert_non_null(strstr(d->value, "\"seq\":6,")); /* the line number */
  got_free(&got);
  stop(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_syslog_udp),
      cmocka_unit_test(test_syslog_udp_drops_are_counted),
      cmocka_unit_test(test_syslog_tcp_both_framings),
      cmocka_unit_test(test_syslog_tls),
      cmocka_unit_test(test_syslog_mutual_tls),
      cmocka_unit_test(test_http),
      cmocka_unit_test(test_kafka_raw_topic),
      cmocka_unit_test(test_files),
  };
  return cmocka_run_group_tests_name("ingestor_sources", tests, group_setup, group_teardown);
}
