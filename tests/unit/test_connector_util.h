/* Shared by the connector suites: start parry-standin (the loopback servers
 * of tests/stand-ins), talk to its control endpoint, read what it recorded,
 * and drive a connector engine until its calls are done. Only processes
 * started here are stopped, by their pid. */
#ifndef PARRY_TEST_CONNECTOR_UTIL_H
#define PARRY_TEST_CONNECTOR_UTIL_H

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "test_support.h"

extern char **environ;

typedef struct {
  pid_t pid;
  int port;
  char record[PATH_MAX];
  char token[64];
  char cert[PATH_MAX];
  char base[128]; /* http://127.0.0.1:PORT */
} standin_t;

/* The build's bin folder: tests live in BUILD/tests, binaries in BUILD/bin. */
static inline const char *tc_build_dir(void) {
  static char dir[PATH_MAX];
  if (dir[0]) return dir;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = 0;
  char *d = dirname(exe); /* BUILD/tests */
  int w = snprintf(dir, sizeof dir, "%s/..", d);
  assert_true(w > 0 && (size_t)w < sizeof dir);
  return dir;
}

static inline void tc_temp_path(const char *name, char *out, size_t n) {
  char unique[128];
  parry_test_unique_name(name, unique, sizeof unique);
  int w = snprintf(out, n, "%s/tests/%s", tc_build_dir(), unique);
  assert_true(w > 0 && (size_t)w < n);
}

/* Start `parry-standin KIND` and wait for its "listening" line. */
static inline void standin_start(standin_t *s, const char *kind, const char *user,
                                 const char *password) {
  memset(s, 0, sizeof *s);
  char bin[PATH_MAX + 32];
  const char *env = getenv("PARRY_STANDIN");
  int w = env && *env ? snprintf(bin, sizeof bin, "%s", env)
                      : snprintf(bin, sizeof bin, "%s/bin/parry-standin", tc_build_dir());
  assert_true(w > 0 && (size_t)w < sizeof bin);
  tc_temp_path("standin-record", s->record, sizeof s->record);
  snprintf(s->token, sizeof s->token, "tok-%ld-%ld", (long)getpid(), (long)time(NULL));
  const char *argv[20];
  int a = 0;
  argv[a++] = bin;
  argv[a++] = kind;
  argv[a++] = "--port";
  argv[a++] = "0";
  argv[a++] = "--record";
  argv[a++] = s->record;
  argv[a++] = "--exit-with-parent"; /* a failed assertion leaves no server behind */
  argv[a++] = "yes";
  if (strcmp(kind, "http") == 0) {
    argv[a++] = "--token";
    argv[a++] = s->token;
  } else {
    tc_temp_path("standin-cert.pem", s->cert, sizeof s->cert);
    argv[a++] = "--cert-out";
    argv[a++] = s->cert;
    if (user) {
      argv[a++] = "--user";
      argv[a++] = user;
      argv[a++] = "--password";
      argv[a++] = password;
    }
  }
  argv[a] = NULL;
  int pipefd[2];
  assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  int rc = posix_spawn(&s->pid, bin, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (rc != 0) fail_msg("could not start %s: %s", bin, strerror(rc));
  char line[128] = {0};
  size_t len = 0;
  while (len < sizeof line - 1) {
    ssize_t r = read(pipefd[0], line + len, 1);
    if (r <= 0 || line[len] == '\n') break;
    len++;
  }
  line[len] = 0;
  close(pipefd[0]);
  if (sscanf(line, "listening 127.0.0.1:%d", &s->port) != 1) fail_msg("stand-in said \"%s\"", line);
  snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
}

static inline void standin_stop(standin_t *s) {
  if (s->pid <= 0) return;
  kill(s->pid, SIGTERM);
  int st = 0;
  waitpid(s->pid, &st, 0);
  s->pid = 0;
  /* a clean shutdown, hung and delayed requests included */
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  unlink(s->record);
  if (s->cert[0]) unlink(s->cert);
}

static inline size_t tc_sink(char *p, size_t size, size_t n, void *opaque) {
  parry_buf_t *b = opaque;
  parry_buf_append(b, p, size * n);
  return size * n;
}

/* POST /_control (body JSON) or GET /_stats; returns the answer (caller frees). */
static inline char *standin_request(const standin_t *s, const char *path, const char *body) {
  CURL *h = curl_easy_init();
  char url[256], tok[128];
  snprintf(url, sizeof url, "%s%s", s->base, path);
  snprintf(tok, sizeof tok, "X-Standin-Token: %s", s->token);
  struct curl_slist *hdr = curl_slist_append(NULL, tok);
  parry_buf_t out = PARRY_BUF_INIT(0);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tc_sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  assert_int_equal(rc, CURLE_OK);
  assert_int_equal(code, 200);
  return parry_buf_steal(&out);
}

static inline void standin_control(const standin_t *s, const char *json) {
  free(standin_request(s, "/_control", json));
}

static inline long standin_stat(const standin_t *s, const char *field) {
  char *txt = standin_request(s, "/_stats", NULL);
  struct json_object *o = json_tokener_parse(txt);
  free(txt);
  struct json_object *v;
  assert_true(json_object_object_get_ex(o, field, &v));
  long r = (long)json_object_get_int64(v);
  json_object_put(o);
  return r;
}

/* Every line recorded so far, as a JSON array (caller puts). */
static inline struct json_object *standin_records(const standin_t *s) {
  struct json_object *arr = json_object_new_array();
  FILE *f = fopen(s->record, "r");
  if (!f) return arr;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    struct json_object *o = json_tokener_parse(line);
    assert_non_null(o);
    json_object_array_add(arr, o);
  }
  free(line);
  fclose(f);
  return arr;
}

static inline const char *tc_get(struct json_object *o, const char *path) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  struct json_object *cur = o;
  for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
    if (json_object_is_type(cur, json_type_array)) cur = json_object_array_get_idx(cur, (size_t)atoi(tok));
    else if (!json_object_object_get_ex(cur, tok, &cur)) return NULL;
    if (!cur) return NULL;
  }
  return json_object_get_string(cur);
}

/* ---- engine driving ---- */

typedef struct {
  int done;
  parry_conn_status_t status;
  char error[512];
  long http_status;
  struct json_object *outputs;
  int64_t duration_ns;
} tc_result_t;

static inline void tc_done(void *opaque, const parry_conn_result_t *res) {
  tc_result_t *r = opaque;
  r->done++;
  r->status = res->status;
  snprintf(r->error, sizeof r->error, "%s", res->error ? res->error : "");
  r->http_status = res->http_status;
  json_object_put(r->outputs);
  r->outputs = json_object_get(res->outputs);
  r->duration_ns = res->duration_ns;
}

static inline void tc_result_free(tc_result_t *r) {
  json_object_put(r->outputs);
  r->outputs = NULL;
}

/* Poll until nothing is in flight (fails the test after timeout_ms). */
static inline void tc_drain(parry_conn_engine_t *e, int timeout_ms) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (parry_conn_in_flight(e) > 0) {
    parry_conn_engine_poll(e, 50);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (ms > timeout_ms) fail_msg("calls still in flight after %d ms", timeout_ms);
  }
}

/* Start one call with inputs given as JSON text and run it to completion. */
static inline void tc_run(parry_conn_engine_t *e, const char *connector, const char *inputs,
                          const char *idem, int64_t timeout_ns, tc_result_t *r) {
  const parry_connector_t *c = parry_connector_find(connector);
  assert_non_null(c);
  struct json_object *in = json_tokener_parse(inputs);
  if (!in) fail_msg("bad test inputs: %s", inputs);
  memset(r, 0, sizeof *r);
  assert_int_equal(parry_conn_start(e, c, in, idem, timeout_ns, tc_done, r), PARRY_OK);
  json_object_put(in);
  assert_int_equal(r->done, 0); /* never from inside start */
  tc_drain(e, 20000);
  assert_int_equal(r->done, 1);
}

static inline parry_conn_engine_t *tc_engine(const char *yaml) {
  char err[512] = "";
  parry_conn_config_t *cfg = parry_conn_config_parse(yaml, strlen(yaml), "test.yml", NULL, err,
                                                     sizeof err);
  if (!cfg) fail_msg("config: %s", err);
  parry_conn_engine_t *e = parry_conn_engine_new(cfg, NULL, err, sizeof err);
  if (!e) fail_msg("engine: %s", err);
  return e;
}

#endif
