/* The health endpoint and the metrics registry, over real loopback HTTP. */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "parry/buf.h"
#include "parry/http.h"
#include "parry/metrics.h"
#include "test_support.h"

static size_t collect(char *data, size_t size, size_t n, void *opaque) {
  parry_buf_append(opaque, data, size * n);
  return size * n;
}

static long get(uint16_t port, const char *path, const char *method, parry_buf_t *body) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  CURL *c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
  if (method) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  long status = 0;
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status;
}

static bool ready_flag;
static bool is_ready(void *opaque, char *why, size_t why_size) {
  if (!ready_flag) snprintf(why, why_size, "%s", (const char *)opaque);
  return ready_flag;
}

static void test_endpoints(void **state) {
  parry_metrics_t *reg = parry_metrics_new();
  parry_metric_t *c = parry_metrics_counter(reg, "parry_test_total", "Things counted", "kind",
                                            "a\"b\\c\nd", NULL);
  parry_metric_add(c, 41);
  parry_metric_add(c, 1);
  parry_metric_t *g = parry_metrics_gauge(reg, "parry_test_queue", "Queue depth", NULL);
  parry_metric_set(g, -3);
  /* registering the same name and labels again finds the same metric */
  assert_ptr_equal(parry_metrics_counter(reg, "parry_test_total", "x", "kind", "a\"b\\c\nd", NULL), c);

  parry_http_t *http = NULL;
  char err[256];
  ready_flag = false;
  assert_int_equal(parry_http_start("127.0.0.1:0", reg, is_ready, "consumer not assigned", &http,
                                    err, sizeof err), PARRY_OK);
  uint16_t port = parry_http_port(http);
  assert_true(port > 0);

  parry_buf_t body = PARRY_BUF_INIT(0);
  assert_int_equal(get(port, "/healthz", NULL, &body), 200);
  assert_string_equal(body.data, "ok\n");

  parry_buf_reset(&body);
  assert_int_equal(get(port, "/readyz", NULL, &body), 503);
  assert_string_equal(body.data, "not ready: consumer not assigned\n");
  ready_flag = true;
  parry_buf_reset(&body);
  assert_int_equal(get(port, "/readyz", NULL, &body), 200);

  parry_buf_reset(&body);
  assert_int_equal(get(port, "/metrics", NULL, &body), 200);
  assert_non_null(strstr(body.data, "# HELP parry_test_total Things counted\n# TYPE parry_test_total counter\n"));
  assert_non_null(strstr(body.data, "parry_test_total{kind=\"a\\\"b\\\\c\\nd\"} 42\n"));
  assert_non_null(strstr(body.data, "# TYPE parry_test_queue gauge\nparry_test_queue -3\n"));

  parry_buf_reset(&body);
  assert_int_equal(get(port, "/nope", NULL, &body), 404);
  parry_buf_reset(&body);
  assert_int_equal(get(port, "/metrics", "POST", &body), 405);

  parry_buf_free(&body);
  parry_http_stop(http);
  parry_metrics_destroy(reg);
}

static void test_listen_errors(void **state) {
  parry_metrics_t *reg = parry_metrics_new();
  parry_http_t *http = NULL;
  char err[256];
  assert_int_equal(parry_http_start("localhost:80", reg, NULL, NULL, &http, err, sizeof err),
                   PARRY_ERR_INVALID);
  assert_non_null(strstr(err, "invalid listen address \"localhost:80\""));
  /* a port already taken */
  parry_http_t *first = NULL;
  assert_int_equal(parry_http_start("127.0.0.1:0", reg, NULL, NULL, &first, err, sizeof err), PARRY_OK);
  char taken[64];
  snprintf(taken, sizeof taken, "127.0.0.1:%u", parry_http_port(first));
  assert_int_equal(parry_http_start(taken, reg, NULL, NULL, &http, err, sizeof err), PARRY_ERR_IO);
  assert_non_null(strstr(err, "could not start the health endpoint"));
  parry_http_stop(first);
  parry_metrics_destroy(reg);
}

static void *count_many(void *opaque) {
  for (int i = 0; i < 100000; i++) parry_metric_add(opaque, 1);
  return NULL;
}

static void test_counters_are_thread_safe(void **state) {
  parry_metrics_t *reg = parry_metrics_new();
  parry_metric_t *c = parry_metrics_counter(reg, "parry_race_total", "", NULL);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, count_many, c);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  assert_int_equal(parry_metric_value(c), 400000);
  parry_metrics_destroy(reg);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_endpoints),
      cmocka_unit_test(test_listen_errors),
      cmocka_unit_test(test_counters_are_thread_safe),
  };
  int rc = cmocka_run_group_tests_name("http_metrics", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
