/* The ingestor without a broker: start-up errors that name the setting at
 * fault, and the HTTP source's answers that need no Kafka -- 401, 404, 405,
 * 413, 415, HTTPS, and 503 when Kafka does not acknowledge in time or its
 * queue is full. The producer points at a port where nothing listens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingestor.h"
#include "parry/buf.h"
#include "parry/config.h"
#include "parry/log.h"
#include "parry/metrics.h"
#include "publish.h"
#include "test_support.h"

#define NO_BROKER "127.0.0.1:1"
#define TOKEN "s3cret-token"

static char g_tmp[256];

static parry_config_t *config(const char *const *settings) {
  parry_config_t *cfg = parry_config_new();
  char err[512];
  const char *base[] = {"kafka.bootstrap.servers=" NO_BROKER, "ingestor.shutdown_timeout=0",
                        NULL};
  for (size_t i = 0; base[i]; i++)
    if (parry_config_set(cfg, base[i], "test", err, sizeof err)) fail_msg("%s", err);
  for (size_t i = 0; settings && settings[i]; i++)
    if (parry_config_set(cfg, settings[i], "test", err, sizeof err))
      fail_msg("%s: %s", settings[i], err);
  return cfg;
}

/* Starting with these settings fails, and the error mentions each of
 * `wants` (NULL-terminated). */
static void expect_start_error(const char *const *settings, const char *want1, const char *want2) {
  parry_config_t *cfg = config(settings);
  parry_metrics_t *m = parry_metrics_new();
  parry_ingestor_t *ing = NULL;
  char err[1024] = "";
  assert_int_not_equal(parry_ingestor_start(cfg, m, &ing, err, sizeof err), PARRY_OK);
  printf("# %s\n", err);
  assert_null(ing);
  if (!strstr(err, want1)) fail_msg("\"%s\" lacks \"%s\"", err, want1);
  if (want2 && !strstr(err, want2)) fail_msg("\"%s\" lacks \"%s\"", err, want2);
  parry_metrics_destroy(m);
  parry_config_destroy(cfg);
}

static void test_startup_errors_name_the_setting(void **state) {
  (void)state;
  expect_start_error(NULL, "no source is enabled", "ingestor.http.enabled");

  const char *no_token[] = {"ingestor.http.enabled=true", "ingestor.http.listen=127.0.0.1:0",
                            NULL};
  expect_start_error(no_token, "ingestor.http.token", "ingestor.http.token_file");
  const char *both[] = {"ingestor.http.enabled=true", "ingestor.http.token=a",
                        "ingestor.http.token_file=/etc/hostname", NULL};
  expect_start_error(both, "ingestor.http.token and ingestor.http.token_file", NULL);
  char empty_file[300], token_file[340];
  snprintf(empty_file, sizeof empty_file, "%s/empty-token", g_tmp);
  FILE *f = fopen(empty_file, "w");
  fputs(" \n", f);
  fclose(f);
  snprintf(token_file, sizeof token_file, "ingestor.http.token_file=%s", empty_file);
  const char *empty[] = {"ingestor.http.enabled=true", token_file, NULL};
  expect_start_error(empty, "ingestor.http.token_file", "empty");
  const char *missing[] = {"ingestor.http.enabled=true",
                           "ingestor.http.token_file=/nonexistent/token", NULL};
  expect_start_error(missing, "ingestor.http.token_file", "/nonexistent/token");

  const char *bad_allow[] = {"ingestor.syslog.udp.enabled=true",
                             "ingestor.syslog.udp.listen=127.0.0.1:0",
                             "ingestor.syslog.allow=10.0.0.0/40", NULL};
  expect_start_error(bad_allow, "ingestor.syslog.allow", "10.0.0.0/40");
  const char *no_allow[] = {"ingestor.syslog.tcp.enabled=true",
                            "ingestor.syslog.tcp.listen=127.0.0.1:0", "ingestor.syslog.allow=",
                            NULL};
  expect_start_error(no_allow, "ingestor.syslog.allow is empty", NULL);
  const char *no_cert[] = {"ingestor.syslog.tls.enabled=true",
                           "ingestor.syslog.tls.listen=127.0.0.1:0", NULL};
  expect_start_error(no_cert, "ingestor.syslog.tls.cert_file", NULL);
  const char *bad_cert[] = {"ingestor.syslog.tls.enabled=true",
                            "ingestor.syslog.tls.listen=127.0.0.1:0",
                            "ingestor.syslog.tls.cert_file=/nonexistent.pem",
                            "ingestor.syslog.tls.key_file=/nonexistent.key", NULL};
  expect_start_error(bad_cert, "ingestor.syslog.tls.cert_file", "/nonexistent.pem");
  const char *no_file[] = {"ingestor.files=/nonexistent/log", NULL};
  expect_start_error(no_file, "ingestor.files: could not open /nonexistent/log", NULL);
  const char *exit_alone[] = {"ingestor.syslog.udp.enabled=true",
                              "ingestor.syslog.udp.listen=127.0.0.1:0",
                              "ingestor.exit_after_files=true", NULL};
  expect_start_error(exit_alone, "ingestor.exit_after_files", NULL);
  const char *no_topics[] = {"ingestor.kafka.enabled=true", NULL};
  expect_start_error(no_topics, "ingestor.kafka.topics", NULL);
  const char *format[] = {"ingestor.files=/dev/null", "ingestor.format=nosuch", NULL};
  expect_start_error(format, "ingestor.format", "nosuch");

  /* A port that is taken: the error names the setting, the address and why. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 1), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  char listen_at[64], want[96];
  snprintf(listen_at, sizeof listen_at, "ingestor.syslog.tcp.listen=127.0.0.1:%u",
           ntohs(a.sin_port));
  snprintf(want, sizeof want, "could not bind 127.0.0.1:%u: address already in use",
           ntohs(a.sin_port));
  const char *taken[] = {"ingestor.syslog.tcp.enabled=true", listen_at, NULL};
  expect_start_error(taken, "ingestor.syslog.tcp.listen", want);
  close(fd);
}

/* ------------------------------------------------------------------ HTTP */

typedef struct {
  long status;
  parry_buf_t body;
  parry_buf_t head;
} resp_t;

static size_t on_data(char *p, size_t size, size_t n, void *opaque) {
  parry_buf_append(opaque, p, size * n);
  return size * n;
}

/* method "POST" or "GET"; headers NULL-terminated; https: trust the test CA. */
static void request(uint16_t port, bool https, const char *method, const char *path,
                    const char *const *headers, const char *body, size_t len, resp_t *r) {
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof url, "%s://localhost:%u%s", https ? "https" : "http", port, path);
  struct curl_slist *h = NULL;
  for (size_t i = 0; headers && headers[i]; i++) h = curl_slist_append(h, headers[i]);
  h = curl_slist_append(h, "Expect:"); /* send bodies at once */
  memset(r, 0, sizeof *r);
  parry_buf_init(&r->body, 0);
  parry_buf_init(&r->head, 0);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  char pin[64];
  snprintf(pin, sizeof pin, "localhost:%u:127.0.0.1", port);
  struct curl_slist *resolve = curl_slist_append(NULL, pin);
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  char ca[300];
  if (https) {
    snprintf(ca, sizeof ca, "%s/server.pem", g_tmp);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_cleanup(c);
  curl_slist_free_all(h);
  curl_slist_free_all(resolve);
}

static void resp_free(resp_t *r) {
  parry_buf_free(&r->body);
  parry_buf_free(&r->head);
}

static parry_ingestor_t *start(parry_config_t *cfg, parry_metrics_t *m, uint16_t *port) {
  parry_ingestor_t *ing = NULL;
  char err[1024];
  if (parry_ingestor_start(cfg, m, &ing, err, sizeof err)) fail_msg("%s", err);
  parry_ingestor_ports_t ports;
  parry_ingestor_ports(ing, &ports);
  *port = ports.http;
  char why[256];
  assert_false(parry_ingestor_ready(ing, why, sizeof why)); /* no broker: not ready */
  return ing;
}

static int64_t responses(parry_metrics_t *m, const char *code) {
  return parry_metric_value(
      parry_metrics_counter(m, "parry_ingestor_http_responses_total", "", "code", code, NULL));
}

static void test_http_answers_without_kafka(void **state) {
  (void)state;
  const char *settings[] = {"ingestor.http.enabled=true", "ingestor.http.listen=127.0.0.1:0",
                            "ingestor.http.token=" TOKEN, "ingestor.http.max_body_size=4KiB",
                            "ingestor.http.delivery_timeout=300ms", NULL};
  parry_config_t *cfg = config(settings);
  parry_metrics_t *m = parry_metrics_new();
  uint16_t port;
  parry_ingestor_t *ing = start(cfg, m, &port);
  const char *auth[] = {"Authorization: Bearer " TOKEN, NULL};
  const char *wrong[] = {"Authorization: Bearer " TOKEN "-", NULL};
  const char *short_token[] = {"Authorization: Bearer s3cret", NULL};
  const char *zstd[] = {"Authorization: Bearer " TOKEN, "Content-Encoding: zstd", NULL};
  const char *line = "{\"message\":\"x\"}\n";
  resp_t r;

  request(port, false, "POST", "/v1/events", NULL, line, strlen(line), &r);
  assert_int_equal(r.status, 401);
  resp_free(&r);
  request(port, false, "POST", "/v1/events", wrong, line, strlen(line), &r);
  assert_int_equal(r.status, 401);
  resp_free(&r);
  request(port, false, "POST", "/v1/events", short_token, line, strlen(line), &r);
  assert_int_equal(r.status, 401);
  resp_free(&r);
  request(port, false, "GET", "/v1/events", auth, NULL, 0, &r);
  assert_int_equal(r.status, 405);
  resp_free(&r);
  request(port, false, "POST", "/v1/other", auth, line, strlen(line), &r);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  request(port, false, "POST", "/v1/events", zstd, line, strlen(line), &r);
  assert_int_equal(r.status, 415);
  resp_free(&r);
  char big[5000];
  memset(big, 'x', sizeof big);
  request(port, false, "POST", "/v1/events", auth, big, sizeof big, &r);
  assert_int_equal(r.status, 413);
  assert_non_null(strstr(r.body.data, "ingestor.http.max_body_size"));
  resp_free(&r);
  const char *gzip[] = {"Authorization: Bearer " TOKEN, "Content-Encoding: gzip", NULL};
  request(port, false, "POST", "/v1/events", gzip, "not gzip at all", 15, &r);
  assert_int_equal(r.status, 400);
  resp_free(&r);

  /* Kafka never acknowledges: 503 after the delivery timeout, and the
   * answer says so; it is not a 200. */
  int64_t t0 = parry_now_ms();
  request(port, false, "POST", "/v1/events", auth, line, strlen(line), &r);
  assert_int_equal(r.status, 503);
  assert_true(parry_now_ms() - t0 >= 300);
  assert_non_null(strstr(r.body.data, "did not acknowledge 1 of this request's messages"));
  assert_non_null(strstr(r.head.data, "Retry-After: 1"));
  resp_free(&r);

  /* A JSON array is split into its elements in place: brackets and commas
   * inside strings do not count; an empty element is rejected. The answer
   * is a 503 (no broker) but still counts the records. */
  const char *array = "\n [ {\"message\":\"a,]\\\"b[{\"}, {\"message\":\"c\",\"n\":[1,{}]} , 42,, "
                      "\"str\" ] \n";
  request(port, false, "POST", "/v1/events", auth, array, strlen(array), &r);
  assert_int_equal(r.status, 503);
  if (!strstr(r.body.data, "\"records\":5,\"accepted\":2,\"rejected\":3,\"events\":2") ||
      !strstr(r.body.data, "{\"element\":2,") || !strstr(r.body.data, "{\"element\":3,") ||
      !strstr(r.body.data, "{\"element\":4,"))
    fail_msg("unexpected answer: %s", r.body.data);
  resp_free(&r);
  /* Not one array (two lines, each an array): lines. */
  const char *two = "[1]\n[{\"message\":\"d\"}]";
  request(port, false, "POST", "/v1/events", auth, two, strlen(two), &r);
  assert_int_equal(r.status, 503);
  if (!strstr(r.body.data, "\"records\":2,\"accepted\":1,\"rejected\":1,\"events\":1") ||
      !strstr(r.body.data, "{\"line\":1,"))
    fail_msg("unexpected answer: %s", r.body.data);
  resp_free(&r);

  assert_int_equal(responses(m, "401"), 3);
  assert_int_equal(responses(m, "413"), 1);
  assert_int_equal(responses(m, "503"), 3);
  assert_int_equal(parry_metric_value(parry_metrics_counter(m, "parry_ingestor_auth_failures_total",
                                                            "", "source", "http", "reason",
                                                            "token", NULL)),
                   3);
  /* The undelivered messages are lost at shutdown (no broker), and said so:
   * 1 event, then 2 events and 3 dead letters, then 1 event and 1. */
  assert_int_equal(parry_ingestor_stop(ing), 8);
  parry_metrics_destroy(m);
  parry_config_destroy(cfg);
}

static void test_http_backpressure(void **state) {
  (void)state;
  /* A producer queue of 4 messages that never drains. */
  const char *settings[] = {"ingestor.http.enabled=true", "ingestor.http.listen=127.0.0.1:0",
                            "ingestor.http.token=" TOKEN, "ingestor.http.delivery_timeout=300ms",
                            "kafka.queue.buffering.max.messages=4", NULL};
  parry_config_t *cfg = config(settings);
  parry_metrics_t *m = parry_metrics_new();
  uint16_t port;
  parry_ingestor_t *ing = start(cfg, m, &port);
  const char *auth[] = {"Authorization: Bearer " TOKEN, NULL};
  parry_buf_t body = PARRY_BUF_INIT(0);
  for (int i = 0; i < 10; i++) parry_buf_printf(&body, "{\"message\":\"m%d\"}\n", i);
  resp_t r;
  /* Four fit, the fifth finds no room before the deadline. */
  request(port, false, "POST", "/v1/events", auth, body.data, body.len, &r);
  assert_int_equal(r.status, 503);
  assert_non_null(strstr(r.body.data, "Kafka cannot keep up"));
  assert_non_null(strstr(r.body.data, "\"records\":10"));
  resp_free(&r);
  /* Now over the high-water mark: refused before the body is read. */
  request(port, false, "POST", "/v1/events", auth, body.data, body.len, &r);
  assert_int_equal(r.status, 503);
  assert_non_null(strstr(r.body.data, "retry later"));
  resp_free(&r);
  assert_int_equal(responses(m, "503"), 2);
  assert_true(parry_metric_value(parry_metrics_counter(
                  m, "parry_ingestor_backpressure_waits_total", "", "source", "http", NULL)) >= 1);
  assert_int_equal(parry_ingestor_stop(ing), 4);
  parry_buf_free(&body);
  parry_metrics_destroy(m);
  parry_config_destroy(cfg);
}

static void test_https(void **state) {
  (void)state;
  char cert[320], key[320];
  snprintf(cert, sizeof cert, "ingestor.http.tls.cert_file=%s/server.pem", g_tmp);
  snprintf(key, sizeof key, "ingestor.http.tls.key_file=%s/server.key", g_tmp);
  const char *settings[] = {"ingestor.http.enabled=true", "ingestor.http.listen=127.0.0.1:0",
                            "ingestor.http.token=" TOKEN, cert, key, NULL};
  parry_config_t *cfg = config(settings);
  parry_metrics_t *m = parry_metrics_new();
  uint16_t port;
  parry_ingestor_t *ing = start(cfg, m, &port);
  resp_t r;
  request(port, true, "POST", "/v1/events", NULL, "{}", 2, &r);
  assert_int_equal(r.status, 401);
  resp_free(&r);
  assert_int_equal(parry_ingestor_stop(ing), 0);
  parry_metrics_destroy(m);
  parry_config_destroy(cfg);
}

static int setup(void **state) {
  (void)state;
  parry_log_init("test", PARRY_LOG_FATAL); /* librdkafka cannot reach NO_BROKER, and says so */
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  snprintf(g_tmp, sizeof g_tmp, "/tmp/parry-source-http-XXXXXX");
  assert_non_null(mkdtemp(g_tmp));
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-keyout server.key -out server.pem -days 2 -subj /CN=localhost "
           "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
           g_tmp);
  if (system(cmd) != 0) fail_msg("could not make a test certificate with the openssl command");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
  (void)!system(cmd);
  curl_global_cleanup();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_startup_errors_name_the_setting),
      cmocka_unit_test(test_http_answers_without_kafka),
      cmocka_unit_test(test_http_backpressure),
      cmocka_unit_test(test_https),
  };
  return cmocka_run_group_tests_name("source_http", tests, setup, teardown);
}
