/* The connector engine: one thread, thousands of calls in flight.
 *
 * HTTP and SMTP run as libcurl easy handles in one multi handle (connections
 * are reused across calls through the multi's cache); exec children are
 * watched through pidfds passed to curl_multi_poll as extra descriptors, so
 * one wait covers both. Each target (a configured one, or the scheme://host:port
 * of a bare URL) has a concurrency limit, with a FIFO queue beyond it, and a
 * circuit breaker:
 *
 *   closed --N consecutive retryable failures--> open --cooldown--> half-open
 *   half-open --trial succeeds--> closed;  --trial fails--> open
 *
 * Only retryable outcomes (5xx, 429, timeouts, connection errors) count as
 * failures: a 4xx says the target is alive and our request is wrong.
 * Completed calls wait on a done list; parry_conn_engine_poll fires their
 * callbacks, so a callback never runs inside parry_conn_start. */
#include <errno.h>
#include <maxminddb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connectors/conn_internal.h"
#include "parry/log.h"
#include "parry/mem.h"

enum { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct conn_target {
  char *name;
  const conn_target_cfg_t *cfg;
  uint32_t max_concurrency, breaker_failures;
  int64_t breaker_cooldown_ns;
  uint32_t in_flight;
  conn_call_t *qhead, *qtail;
  size_t qlen;
  int breaker;
  uint32_t consecutive_failures;
  int64_t opened_at_ns;
  bool trial_out;
};

struct parry_conn_engine {
  parry_conn_config_t *cfg;
  CURLM *multi;
  conn_target_t **targets;
  size_t ntargets;
  size_t in_flight; /* started, callback not fired */
  size_t queued;
  int64_t queue_deadline_ns; /* no queued call expires before this (may be early) */
  conn_call_t *done_head, *done_tail;
  conn_call_t *active; /* transfers in the multi handle */
  conn_call_t **execs; /* children running */
  size_t nexecs;
  /* local lookups, opened on first use */
  MMDB_s geo, asn;
  int geo_state, asn_state; /* 0 untried, 1 open, -1 failed */
  conn_ti_feed_t *feed;
  /* metrics */
  parry_metrics_t *metrics;
  parry_metric_t *m_in_flight, *m_queued, *m_breaker_open, *m_circuit_rejects;
  parry_metric_t **m_calls; /* [connector index * 3 + status] */
};

int64_t conn_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const parry_conn_config_t *conn_call_config(const conn_call_t *call) { return call->e->cfg; }

/* ---- calls ---- */

static void call_free(conn_call_t *call) {
  if (call->easy) {
    curl_multi_remove_handle(call->e->multi, call->easy);
    curl_easy_cleanup(call->easy);
  }
  curl_slist_free_all(call->req.headers);
  curl_slist_free_all(call->req.rcpt);
  free(call->req.method);
  free(call->req.url);
  free(call->req.mail_from);
  free(call->req.idem_header);
  parry_buf_free(&call->req.body);
  json_object_put(call->req.extract);
  parry_buf_free(&call->resp);
  parry_buf_free(&call->out);
  parry_buf_free(&call->err);
  if (call->pidfd >= 0) close(call->pidfd);
  if (call->out_fd >= 0) close(call->out_fd);
  if (call->err_fd >= 0) close(call->err_fd);
  if (call->priv_free) call->priv_free(call->priv);
  json_object_put(call->inputs);
  json_object_put(call->outputs);
  free(call->idem_key);
  free(call->error);
  free(call);
}

static void done_push(parry_conn_engine_t *e, conn_call_t *call) {
  call->state = CONN_CALL_DONE;
  call->next = NULL;
  if (e->done_tail) e->done_tail->next = call;
  else e->done_head = call;
  e->done_tail = call;
}

void conn_call_ok(conn_call_t *call) {
  call->status = PARRY_CONN_OK;
  done_push(call->e, call);
}

void conn_call_fail(conn_call_t *call, parry_conn_status_t status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  free(call->error);
  call->error = conn_mask(call->e->cfg, msg);
  call->status = status;
  done_push(call->e, call);
}

/* ---- targets and breaker ---- */

static conn_target_t *target_get(parry_conn_engine_t *e, const char *name,
                                 const conn_target_cfg_t *cfg) {
  for (size_t i = 0; i < e->ntargets; i++)
    if (strcmp(e->targets[i]->name, name) == 0) return e->targets[i];
  conn_target_t *t = parry_xnew(conn_target_t, 1);
  t->name = parry_xstrdup(name);
  t->cfg = cfg;
  const parry_conn_limits_t *l = &e->cfg->limits;
  t->max_concurrency = cfg && cfg->max_concurrency ? cfg->max_concurrency : l->max_concurrency;
  t->breaker_failures = cfg && cfg->breaker_failures ? cfg->breaker_failures : l->breaker_failures;
  t->breaker_cooldown_ns =
      cfg && cfg->breaker_cooldown_ns ? cfg->breaker_cooldown_ns : l->breaker_cooldown_ns;
  e->targets = parry_xreallocarray(e->targets, e->ntargets + 1, sizeof *e->targets);
  e->targets[e->ntargets++] = t;
  return t;
}

/* scheme://host:port of a URL: the implicit target of a bare URL. */
static char *url_origin(const char *url) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  parry_buf_t b = PARRY_BUF_INIT(0);
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
    parry_buf_printf(&b, "%s://%s:%s", scheme, host, port);
  else
    parry_buf_append_str(&b, "invalid");
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return parry_buf_steal(&b);
}

static void breaker_result(parry_conn_engine_t *e, conn_target_t *t, bool failure) {
  int64_t now = conn_now_ns();
  if (!failure) {
    if (t->breaker != BREAKER_CLOSED) LOG_INFO("connector target %s: circuit closed", t->name);
    t->breaker = BREAKER_CLOSED;
    t->consecutive_failures = 0;
    return;
  }
  t->consecutive_failures++;
  if (t->breaker == BREAKER_HALF_OPEN ||
      (t->breaker == BREAKER_CLOSED && t->consecutive_failures >= t->breaker_failures)) {
    if (t->breaker == BREAKER_CLOSED) {
      LOG_WARN("connector target %s: circuit open after %u consecutive failures", t->name,
               t->consecutive_failures);
      if (e->m_breaker_open) parry_metric_add(e->m_breaker_open, 1);
    }
    t->breaker = BREAKER_OPEN;
    t->opened_at_ns = now;
  }
}

/* May this call go to the target now? false: it was failed fast. */
static bool breaker_admit(parry_conn_engine_t *e, conn_call_t *call) {
  conn_target_t *t = call->target;
  if (t->breaker == BREAKER_OPEN && conn_now_ns() - t->opened_at_ns >= t->breaker_cooldown_ns) {
    t->breaker = BREAKER_HALF_OPEN;
    t->trial_out = false;
  }
  if (t->breaker == BREAKER_CLOSED) return true;
  if (t->breaker == BREAKER_HALF_OPEN && !t->trial_out) {
    t->trial_out = true;
    call->trial = true;
    return true;
  }
  if (e->m_circuit_rejects) parry_metric_add(e->m_circuit_rejects, 1);
  conn_call_fail(call, PARRY_CONN_RETRYABLE, "circuit open for target %s", t->name);
  return false;
}

/* ---- HTTP / SMTP through curl ---- */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *opaque) {
  conn_call_t *call = opaque;
  size_t n = size * nmemb;
  if (call->resp.len + n > call->e->cfg->limits.max_response_bytes) return 0; /* fails the transfer */
  if (parry_buf_append(&call->resp, data, n) != PARRY_OK) return 0;
  return n;
}

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *opaque) {
  conn_call_t *call = opaque;
  size_t room = size * nmemb;
  size_t left = call->req.body.len - call->req.read_off;
  size_t n = left < room ? left : room;
  if (n) memcpy(dst, call->req.body.data + call->req.read_off, n);
  call->req.read_off += n;
  return n;
}

static void dispatch(parry_conn_engine_t *e, conn_call_t *call) {
  conn_target_t *t = call->target;
  const conn_target_cfg_t *tc = call->tcfg;
  int64_t left_ms = (call->deadline_ns - conn_now_ns()) / 1000000;
  if (left_ms <= 0) {
    conn_call_fail(call, PARRY_CONN_RETRYABLE, "timed out after %lld ms waiting for target %s",
                   (long long)(call->timeout_ns / 1000000), t->name);
    if (call->trial) t->trial_out = false;
    return;
  }
  CURL *h = curl_easy_init();
  if (!h) {
    conn_call_fail(call, PARRY_CONN_RETRYABLE, "could not create a curl handle");
    return;
  }
  call->easy = h;
  parry_buf_reset(&call->resp);
  call->req.read_off = 0;
  call->curl_err[0] = 0;
  curl_easy_setopt(h, CURLOPT_PRIVATE, call);
  curl_easy_setopt(h, CURLOPT_URL, call->req.url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->curl_err);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
  /* Only the protocols connectors speak: a URL from a template can never
   * reach file://, gopher:// or a redirect elsewhere. */
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, call->req.smtp ? "smtp,smtps" : "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (tc && tc->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, tc->ca_file);
  if (tc && tc->insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (tc && tc->auth.type == CONN_AUTH_BASIC) {
    curl_easy_setopt(h, CURLOPT_USERNAME, tc->auth.user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, tc->auth.password);
    if (!call->req.smtp) curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  }
  if (call->req.smtp) {
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, call->req.mail_from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, call->req.rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, call);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->req.body.len);
    long ssl = CURLUSESSL_NONE;
    if (tc && tc->starttls == 1) ssl = CURLUSESSL_TRY;
    if (tc && tc->starttls == 2) ssl = CURLUSESSL_ALL;
    curl_easy_setopt(h, CURLOPT_USE_SSL, ssl);
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->req.headers);
    if (call->req.has_body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->req.body.data ? call->req.body.data : "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->req.body.len);
    }
    if (strcmp(call->req.method, "GET") == 0 && !call->req.has_body)
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(call->req.method, "HEAD") == 0)
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(call->req.method, "POST") != 0 || !call->req.has_body)
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->req.method);
  }
  call->state = CONN_CALL_HTTP;
  t->in_flight++;
  call->counted = true;
  call->aprev = NULL;
  call->anext = e->active;
  if (e->active) e->active->aprev = call;
  e->active = call;
  curl_multi_add_handle(e->multi, h);
}

static void pump_target(parry_conn_engine_t *e, conn_target_t *t) {
  while (t->qhead && t->in_flight < t->max_concurrency) {
    conn_call_t *call = t->qhead;
    t->qhead = call->next;
    if (!t->qhead) t->qtail = NULL;
    t->qlen--;
    e->queued--;
    call->next = NULL;
    if (breaker_admit(e, call)) dispatch(e, call);
  }
}

/* Queue a prepared request on its target, or fail it fast. */
static void submit(parry_conn_engine_t *e, conn_call_t *call) {
  if (!call->target) {
    if (call->tcfg) {
      call->target = target_get(e, call->tcfg->name, call->tcfg);
    } else {
      char *origin = url_origin(call->req.url);
      call->target = target_get(e, origin, NULL);
      free(origin);
    }
  }
  conn_target_t *t = call->target;
  if (t->in_flight < t->max_concurrency && !t->qhead) {
    if (breaker_admit(e, call)) dispatch(e, call);
    return;
  }
  if (t->breaker == BREAKER_OPEN && conn_now_ns() - t->opened_at_ns < t->breaker_cooldown_ns) {
    breaker_admit(e, call); /* fails it fast */
    return;
  }
  if (e->queued >= e->cfg->limits.max_queued) {
    conn_call_fail(call, PARRY_CONN_RETRYABLE, "connector queue full (%zu calls waiting)",
                   e->queued);
    return;
  }
  call->state = CONN_CALL_QUEUED;
  if (!e->queued || call->deadline_ns < e->queue_deadline_ns) e->queue_deadline_ns = call->deadline_ns;
  call->next = NULL;
  if (t->qtail) t->qtail->next = call;
  else t->qhead = call;
  t->qtail = call;
  t->qlen++;
  e->queued++;
}

/* The headers every HTTP request gets, then the target's queue. */
static void prepare_and_submit(parry_conn_engine_t *e, conn_call_t *call) {
  char err[256];
  if (call->idem_key && !call->req.smtp) {
    const char *hn = call->req.idem_header ? call->req.idem_header
                     : call->tcfg && call->tcfg->idempotency_header ? call->tcfg->idempotency_header
                                                                     : "Idempotency-Key";
    if (*hn && conn_req_header(call, hn, call->idem_key, err, sizeof err) != PARRY_OK) {
      conn_call_fail(call, PARRY_CONN_FAILED, "%s: %s", call->conn->name, err);
      return;
    }
  }
  /* curl would otherwise wait a second for "100 Continue" on large bodies. */
  if (!call->req.smtp) call->req.headers = curl_slist_append(call->req.headers, "Expect:");
  submit(e, call);
}

void conn_req_again(conn_call_t *call) {
  curl_slist_free_all(call->req.headers);
  call->req.headers = NULL;
  parry_buf_reset(&call->req.body);
  call->req.has_body = false;
  call->req.nexpect = 0;
  json_object_put(call->req.extract);
  call->req.extract = NULL;
  call->tcfg = NULL;
  call->target = NULL;
  call->trial = false;
  call->http_status = 0;
  call->resubmit = true;
}

static bool status_expected(const conn_call_t *call, long code) {
  if (!call->req.nexpect) return code >= 200 && code <= 299;
  for (size_t i = 0; i < call->req.nexpect; i++)
    if (code >= call->req.expect[i].lo && code <= call->req.expect[i].hi) return true;
  return false;
}

/* A short, printable excerpt of the response for error texts. */
static void excerpt(const conn_call_t *call, char *out, size_t n) {
  size_t len = call->resp.len < n - 1 ? call->resp.len : n - 1;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)call->resp.data[i];
    out[i] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
  }
  out[len] = 0;
}

static void transfer_done(parry_conn_engine_t *e, conn_call_t *call, CURLcode rc) {
  conn_target_t *t = call->target;
  long code = 0;
  curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
  curl_multi_remove_handle(e->multi, call->easy);
  curl_easy_cleanup(call->easy);
  call->easy = NULL;
  call->counted = false;
  if (call->aprev) call->aprev->anext = call->anext;
  else e->active = call->anext;
  if (call->anext) call->anext->aprev = call->aprev;
  call->aprev = call->anext = NULL;
  t->in_flight--;
  if (call->trial) t->trial_out = false;
  call->http_status = code;
  char ex[160];
  excerpt(call, ex, sizeof ex);
  bool failure = false; /* for the breaker */
  if (rc == CURLE_OK && !call->req.smtp && !status_expected(call, code)) {
    if (code >= 500 || code == 429 || code == 408) {
      failure = true;
      conn_call_fail(call, PARRY_CONN_RETRYABLE, "%s answered HTTP %ld: %s", t->name, code, ex);
    } else {
      conn_call_fail(call, PARRY_CONN_FAILED, "%s answered HTTP %ld: %s", t->name, code, ex);
    }
  } else if (rc != CURLE_OK) {
    const char *why = call->curl_err[0] ? call->curl_err : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      failure = true;
      conn_call_fail(call, PARRY_CONN_RETRYABLE, "%s: timed out after %lld ms", t->name,
                     (long long)(call->timeout_ns / 1000000));
      break;
    case CURLE_WRITE_ERROR:
      conn_call_fail(call, PARRY_CONN_FAILED, "%s: response larger than %zu bytes", t->name,
                     e->cfg->limits.max_response_bytes);
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_LOGIN_DENIED:
    case CURLE_SSL_CACERT_BADFILE:
      conn_call_fail(call, PARRY_CONN_FAILED, "%s: %s", t->name, why);
      break;
    default:
      if (call->req.smtp && code >= 500 && code < 600) {
        conn_call_fail(call, PARRY_CONN_FAILED, "%s: SMTP %ld: %s", t->name, code, why);
      } else {
        failure = true;
        conn_call_fail(call, PARRY_CONN_RETRYABLE, "%s: %s", t->name, why);
      }
    }
  } else {
    if (call->conn->response) call->conn->response(call);
    else conn_extract_outputs(call, call->req.extract);
    if (call->state != CONN_CALL_DONE && !call->resubmit) conn_call_ok(call);
  }
  breaker_result(e, t, failure);
  pump_target(e, t);
  if (call->resubmit && call->state != CONN_CALL_DONE) {
    call->resubmit = false;
    call->state = CONN_CALL_NEW;
    prepare_and_submit(e, call);
  }
}

/* ---- exec children ---- */

void conn_exec_started(conn_call_t *call) {
  parry_conn_engine_t *e = call->e;
  call->state = CONN_CALL_EXEC;
  e->execs = parry_xreallocarray(e->execs, e->nexecs + 1, sizeof *e->execs);
  e->execs[e->nexecs++] = call;
}

static void drain(int fd, parry_buf_t *b, size_t cap, bool *trunc) {
  char chunk[8192];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r <= 0) return;
    size_t keep = (size_t)r;
    if (b->len + keep > cap) {
      keep = cap > b->len ? cap - b->len : 0;
      *trunc = true; /* keep reading so the child never blocks on a full pipe */
    }
    if (keep) parry_buf_append(b, chunk, keep);
  }
}

static void exec_finish(parry_conn_engine_t *e, conn_call_t *call, int wstatus, bool timed_out) {
  size_t cap = e->cfg->limits.exec_max_output;
  drain(call->out_fd, &call->out, cap, &call->out_trunc);
  drain(call->err_fd, &call->err, cap, &call->err_trunc);
  struct json_object *o = call->outputs;
  json_object_object_add(o, "stdout", conn_text_value(call->out.data, call->out.len));
  json_object_object_add(o, "stderr", conn_text_value(call->err.data, call->err.len));
  json_object_object_add(o, "stdout_truncated", json_object_new_boolean(call->out_trunc));
  json_object_object_add(o, "stderr_truncated", json_object_new_boolean(call->err_trunc));
  if (timed_out) {
    json_object_object_add(o, "timed_out", json_object_new_boolean(1));
    conn_call_fail(call, PARRY_CONN_RETRYABLE, "exec: timed out after %lld ms, killed",
                   (long long)(call->timeout_ns / 1000000));
  } else if (WIFEXITED(wstatus)) {
    json_object_object_add(o, "exit_code", json_object_new_int(WEXITSTATUS(wstatus)));
    if (WEXITSTATUS(wstatus) == 0) conn_call_ok(call);
    else conn_call_fail(call, PARRY_CONN_FAILED, "exec: exit status %d", WEXITSTATUS(wstatus));
  } else {
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    json_object_object_add(o, "signal", json_object_new_int(sig));
    conn_call_fail(call, PARRY_CONN_FAILED, "exec: killed by signal %d", sig);
  }
}

static void exec_check(parry_conn_engine_t *e) {
  int64_t now = conn_now_ns();
  size_t cap = e->cfg->limits.exec_max_output;
  for (size_t i = 0; i < e->nexecs;) {
    conn_call_t *call = e->execs[i];
    drain(call->out_fd, &call->out, cap, &call->out_trunc);
    drain(call->err_fd, &call->err, cap, &call->err_trunc);
    int ws = 0;
    bool timed_out = false;
    pid_t r = waitpid(call->pid, &ws, WNOHANG);
    if (r == 0 && now >= call->deadline_ns) {
      kill(-call->pid, SIGKILL); /* its process group: helpers it started die too */
      kill(call->pid, SIGKILL);
      r = waitpid(call->pid, &ws, 0);
      timed_out = true;
    }
    if (r == 0) {
      i++;
      continue;
    }
    e->execs[i] = e->execs[--e->nexecs];
    if (r < 0) {
      /* ECHILD: someone set SIGCHLD to SIG_IGN, so the status is lost. */
      int err = errno;
      kill(-call->pid, SIGKILL);
      conn_call_fail(call, PARRY_CONN_FAILED, "exec: could not collect the exit status: %s",
                     strerror(err));
      continue;
    }
    exec_finish(e, call, ws, timed_out);
  }
}

/* ---- public ---- */

parry_conn_engine_t *parry_conn_engine_new(parry_conn_config_t *cfg, parry_metrics_t *metrics,
                                           char *errstr, size_t errstr_size) {
  if (!cfg) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "no connector configuration");
    return NULL;
  }
  static bool curl_ready = false; /* curl_global_init is idempotent but not thread-safe */
  if (!curl_ready) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_ready = true;
  }
  parry_conn_engine_t *e = parry_xnew(parry_conn_engine_t, 1);
  e->cfg = cfg;
  e->multi = curl_multi_init();
  if (!e->multi) {
    parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL, "could not create a curl multi handle");
    parry_conn_engine_destroy(e);
    return NULL;
  }
  e->metrics = metrics;
  if (metrics) {
    e->m_in_flight = parry_metrics_gauge(metrics, "parry_connector_in_flight",
                                         "Connector calls started and not finished", NULL);
    e->m_queued = parry_metrics_gauge(metrics, "parry_connector_queued",
                                      "Connector calls waiting for a target's concurrency slot",
                                      NULL);
    e->m_breaker_open = parry_metrics_counter(metrics, "parry_connector_breaker_opened_total",
                                              "Times a target's circuit breaker opened", NULL);
    e->m_circuit_rejects =
        parry_metrics_counter(metrics, "parry_connector_circuit_rejected_total",
                              "Calls failed fast because their target's circuit was open", NULL);
    size_t n = parry_connector_count();
    e->m_calls = parry_xnew(parry_metric_t *, n * 3);
    for (size_t i = 0; i < n; i++)
      for (int s = 0; s < 3; s++)
        e->m_calls[i * 3 + (size_t)s] = parry_metrics_counter(
            metrics, "parry_connector_calls_total", "Connector calls by outcome", "connector",
            parry_connector_name(parry_connector_at(i)), "status",
            parry_conn_status_str((parry_conn_status_t)s), NULL);
  }
  if (cfg->ti_feed) e->feed = conn_ti_feed_new(cfg->ti_feed);
  return e;
}

void parry_conn_engine_destroy(parry_conn_engine_t *e) {
  if (!e) return;
  for (size_t i = 0; i < e->nexecs; i++) {
    conn_call_t *call = e->execs[i];
    kill(-call->pid, SIGKILL);
    kill(call->pid, SIGKILL);
    waitpid(call->pid, NULL, 0);
    call_free(call);
  }
  free(e->execs);
  for (size_t i = 0; i < e->ntargets; i++) {
    conn_target_t *t = e->targets[i];
    while (t->qhead) {
      conn_call_t *c = t->qhead;
      t->qhead = c->next;
      call_free(c);
    }
    free(t->name);
    free(t);
  }
  free(e->targets);
  while (e->active) {
    conn_call_t *c = e->active;
    e->active = c->anext;
    call_free(c);
  }
  if (e->multi) curl_multi_cleanup(e->multi);
  while (e->done_head) {
    conn_call_t *c = e->done_head;
    e->done_head = c->next;
    call_free(c);
  }
  if (e->geo_state == 1) MMDB_close(&e->geo);
  if (e->asn_state == 1) MMDB_close(&e->asn);
  conn_ti_feed_destroy(e->feed);
  free(e->m_calls);
  parry_conn_config_destroy(e->cfg);
  free(e);
}

parry_err_t parry_conn_start(parry_conn_engine_t *e, const parry_connector_t *c,
                             const struct json_object *inputs, const char *idempotency_key,
                             int64_t timeout_ns, parry_conn_done_cb done_cb, void *opaque) {
  if (!e || !c || !done_cb) return PARRY_ERR_INVALID;
  if (c->internal || !c->start) return PARRY_ERR_UNSUPPORTED;
  conn_call_t *call = parry_xnew(conn_call_t, 1);
  call->e = e;
  call->conn = c;
  call->pidfd = call->out_fd = call->err_fd = -1;
  call->cb = done_cb;
  call->opaque = opaque;
  call->outputs = json_object_new_object();
  parry_buf_init(&call->req.body, 0);
  parry_buf_init(&call->resp, 0);
  parry_buf_init(&call->out, 0);
  parry_buf_init(&call->err, 0);
  if (idempotency_key && *idempotency_key) call->idem_key = parry_xstrdup(idempotency_key);
  call->start_ns = conn_now_ns();
  call->timeout_ns = timeout_ns > 0 ? timeout_ns : e->cfg->limits.timeout_ns;
  e->in_flight++;
  if (inputs && json_object_is_type((struct json_object *)inputs, json_type_object)) {
    /* A private copy: the caller may free or change its tree at once. */
    if (json_object_deep_copy((struct json_object *)inputs, &call->inputs, NULL) != 0) {
      json_object_put(call->inputs);
      call->inputs = json_object_new_object();
      conn_call_fail(call, PARRY_CONN_FAILED, "%s: could not copy the inputs", c->name);
      return PARRY_OK;
    }
  } else {
    call->inputs = json_object_new_object();
    if (inputs) {
      conn_call_fail(call, PARRY_CONN_FAILED, "%s: inputs must be an object", c->name);
      return PARRY_OK;
    }
  }
  char err[512] = "";
  parry_err_t rc = c->start(call, err, sizeof err);
  if (rc != PARRY_OK) {
    if (call->state != CONN_CALL_DONE)
      conn_call_fail(call, PARRY_CONN_FAILED, "%s: %s", c->name, err);
    return PARRY_OK;
  }
  if (call->state == CONN_CALL_NEW) {
    /* A prepared request: the target's timeout applies when the step gave none. */
    if (timeout_ns <= 0 && call->tcfg && call->tcfg->timeout_ns > 0)
      call->timeout_ns = call->tcfg->timeout_ns;
    call->deadline_ns = call->start_ns + call->timeout_ns;
    prepare_and_submit(e, call);
  }
  return PARRY_OK;
}

static int next_timer_ms(parry_conn_engine_t *e, int timeout_ms) {
  int64_t now = conn_now_ns();
  int64_t best = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
  for (size_t i = 0; i < e->nexecs; i++)
    if (e->execs[i]->deadline_ns < best) best = e->execs[i]->deadline_ns;
  if (e->queued && e->queue_deadline_ns < best) best = e->queue_deadline_ns;
  if (e->nexecs && best > now + 50 * 1000000LL) best = now + 50 * 1000000LL;
  if (best == INT64_MAX) return -1;
  int64_t ms = (best - now + 999999) / 1000000;
  return ms < 0 ? 0 : (int)(ms > 60000 ? 60000 : ms);
}

/* Calls that waited in a queue past their deadline. The scan runs only once
 * the earliest deadline is due, and finds the next one on the way, so a long
 * queue costs nothing per poll. */
static void expire_queued(parry_conn_engine_t *e) {
  int64_t now = conn_now_ns();
  if (now < e->queue_deadline_ns) return;
  e->queue_deadline_ns = INT64_MAX;
  for (size_t i = 0; i < e->ntargets; i++) {
    conn_target_t *t = e->targets[i];
    conn_call_t **pp = &t->qhead, *prev = NULL;
    while (*pp) {
      conn_call_t *c = *pp;
      if (c->deadline_ns <= now) {
        *pp = c->next;
        if (t->qtail == c) t->qtail = prev;
        t->qlen--;
        e->queued--;
        conn_call_fail(c, PARRY_CONN_RETRYABLE, "timed out after %lld ms waiting for target %s",
                       (long long)(c->timeout_ns / 1000000), t->name);
      } else {
        if (c->deadline_ns < e->queue_deadline_ns) e->queue_deadline_ns = c->deadline_ns;
        prev = c;
        pp = &c->next;
      }
    }
  }
}

int parry_conn_engine_poll(parry_conn_engine_t *e, int timeout_ms) {
  int running = 0;
  curl_multi_perform(e->multi, &running);
  int wait = e->done_head ? 0 : next_timer_ms(e, timeout_ms);
  if (wait < 0) wait = 1000;
  struct curl_waitfd *extra = NULL;
  unsigned nextra = 0;
  if (e->nexecs) {
    extra = parry_xnew(struct curl_waitfd, e->nexecs * 3);
    for (size_t i = 0; i < e->nexecs; i++) {
      int fds[3] = {e->execs[i]->pidfd, e->execs[i]->out_fd, e->execs[i]->err_fd};
      for (int k = 0; k < 3; k++)
        if (fds[k] >= 0) extra[nextra++] = (struct curl_waitfd){fds[k], CURL_WAIT_POLLIN, 0};
    }
  }
  if (wait > 0) curl_multi_poll(e->multi, extra, nextra, wait, NULL);
  free(extra);
  curl_multi_perform(e->multi, &running);
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    conn_call_t *call = NULL;
    CURL *h = msg->easy_handle;
    CURLcode rc = msg->data.result;
    curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&call);
    if (call) transfer_done(e, call, rc);
  }
  if (e->nexecs) exec_check(e);
  if (e->queued) expire_queued(e);
  /* Fire what is done now; calls completed by these callbacks wait for the
   * next poll, so one poll always ends. */
  conn_call_t *list = e->done_head;
  e->done_head = e->done_tail = NULL;
  int fired = 0;
  while (list) {
    conn_call_t *call = list;
    list = call->next;
    parry_conn_result_t res = {0};
    res.status = call->status;
    res.error = call->status == PARRY_CONN_OK ? NULL : (call->error ? call->error : "failed");
    conn_mask_json(e->cfg, call->outputs);
    if (call->http_status)
      json_object_object_add(call->outputs, "status", json_object_new_int((int)call->http_status));
    res.outputs = call->outputs;
    res.http_status = call->http_status;
    res.duration_ns = conn_now_ns() - call->start_ns;
    e->in_flight--;
    if (e->m_calls) {
      for (size_t i = 0; i < parry_connector_count(); i++)
        if (parry_connector_at(i) == call->conn)
          parry_metric_add(e->m_calls[i * 3 + (size_t)call->status], 1);
    }
    call->cb(call->opaque, &res);
    call_free(call);
    fired++;
  }
  if (e->m_in_flight) parry_metric_set(e->m_in_flight, (int64_t)e->in_flight);
  if (e->m_queued) parry_metric_set(e->m_queued, (int64_t)e->queued);
  return fired;
}

void parry_conn_engine_wakeup(parry_conn_engine_t *e) {
  if (e && e->multi) curl_multi_wakeup(e->multi);
}

size_t parry_conn_in_flight(const parry_conn_engine_t *e) { return e ? e->in_flight : 0; }

const char *parry_conn_breaker_state(const parry_conn_engine_t *e, const char *target) {
  for (size_t i = 0; i < e->ntargets; i++) {
    const conn_target_t *t = e->targets[i];
    if (strcmp(t->name, target) != 0) continue;
    if (t->breaker == BREAKER_OPEN && conn_now_ns() - t->opened_at_ns >= t->breaker_cooldown_ns)
      return "half-open";
    return t->breaker == BREAKER_CLOSED ? "closed" : t->breaker == BREAKER_OPEN ? "open" : "half-open";
  }
  return NULL;
}

/* ---- local lookups ---- */

struct MMDB_s *conn_engine_geoip(parry_conn_engine_t *e, bool asn, char *errstr, size_t n) {
  const char *path = asn ? e->cfg->geoip_asn_db : e->cfg->geoip_db;
  int *state = asn ? &e->asn_state : &e->geo_state;
  MMDB_s *db = asn ? &e->asn : &e->geo;
  if (!path) {
    parry_fail(errstr, n, PARRY_ERR_NOT_FOUND, "no %s configured (geoip.%s)",
               asn ? "ASN database" : "GeoIP database", asn ? "asn_database" : "database");
    return NULL;
  }
  if (*state == 0) {
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);
    *state = rc == MMDB_SUCCESS ? 1 : -1;
    if (rc != MMDB_SUCCESS) {
      LOG_ERROR("could not open GeoIP database %s: %s", path, MMDB_strerror(rc));
      parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "could not open GeoIP database %s: %s", path,
                 MMDB_strerror(rc));
      return NULL;
    }
  }
  if (*state < 0) {
    parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "GeoIP database %s could not be opened", path);
    return NULL;
  }
  return db;
}

conn_ti_feed_t *conn_engine_ti_feed(parry_conn_engine_t *e) { return e->feed; }
