/* The HTTP stand-in (libmicrohttpd, epoll thread pool).
 *
 * Every request but /_control and /_stats is recorded and answered per the
 * rules set through POST /_control:
 *   {"status": 500, "delay_ms": 20, "hang": true, "times": N, "body": "...",
 *    "path": "/prefix"}       add a rule (an array adds several)
 *   {"reset": true}           drop all rules and zero the statistics
 * The newest matching rule wins; `times` makes it apply to the next N
 * requests only. Without a rule: 200 {"ok":true}.
 * GET /_stats answers {"requests", "active", "max_active"}: active counts
 * requests received and not yet answered (hung ones excepted), so a
 * client's concurrency limit can be checked.
 *
 * Delays never hold a thread: the connection is suspended and a timer
 * thread resumes it when it is due, so thousands of slow requests per
 * second cost no more threads than fast ones. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "standin.h"

typedef struct rule {
  char *path;
  int status;
  int delay_ms;
  bool hang;
  long times; /* < 0: forever */
  char *body;
  struct rule *next;
} rule_t;

typedef struct {
  int state; /* 0 reading, 1 hung, 2 delayed (answer when resumed), 3 answered */
  char *body;
  size_t len, alloc;
  int status;
  char *answer;
} req_t;

typedef struct {
  int64_t due;
  struct MHD_Connection *conn;
} timer_t_;

static const standin_opts_t *opts;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static rule_t *rules;
static long n_requests, n_active, max_active;
static timer_t_ *heap;
static size_t nheap, aheap;
static struct MHD_Connection **hung;
static size_t nhung, ahung;
static bool stopping;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- timer heap (lock held) ---- */

static void heap_push(int64_t due, struct MHD_Connection *c) {
  if (nheap == aheap) {
    aheap = aheap ? aheap * 2 : 1024;
    heap = realloc(heap, aheap * sizeof *heap);
  }
  size_t i = nheap++;
  while (i > 0 && heap[(i - 1) / 2].due > due) {
    heap[i] = heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  heap[i] = (timer_t_){due, c};
}

static timer_t_ heap_pop(void) {
  timer_t_ top = heap[0];
  timer_t_ last = heap[--nheap];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    int64_t md = last.due;
    if (l < nheap && heap[l].due < md) {
      m = l;
      md = heap[l].due;
    }
    if (r < nheap && heap[r].due < md) m = r;
    if (m == i) break;
    heap[i] = heap[m];
    i = m;
  }
  if (nheap) heap[i] = last;
  return top;
}

static void *timer_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!stopping) {
    if (!nheap) {
      pthread_cond_wait(&cond, &lock);
      continue;
    }
    int64_t now = now_ns();
    if (heap[0].due <= now) {
      timer_t_ t = heap_pop();
      pthread_mutex_unlock(&lock);
      MHD_resume_connection(t.conn);
      pthread_mutex_lock(&lock);
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wait = heap[0].due - now;
    ts.tv_sec += wait / 1000000000LL;
    ts.tv_nsec += wait % 1000000000LL;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&cond, &lock, &ts);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* ---- rules ---- */

static void rules_clear(void) {
  while (rules) {
    rule_t *r = rules;
    rules = r->next;
    free(r->path);
    free(r->body);
    free(r);
  }
}

static void rule_add(struct json_object *o) {
  rule_t *r = calloc(1, sizeof *r);
  struct json_object *v;
  r->status = 200;
  r->times = -1;
  if (json_object_object_get_ex(o, "status", &v)) r->status = json_object_get_int(v);
  if (json_object_object_get_ex(o, "delay_ms", &v)) r->delay_ms = json_object_get_int(v);
  if (json_object_object_get_ex(o, "hang", &v)) r->hang = json_object_get_boolean(v);
  if (json_object_object_get_ex(o, "times", &v)) r->times = json_object_get_int64(v);
  if (json_object_object_get_ex(o, "path", &v)) r->path = strdup(json_object_get_string(v));
  if (json_object_object_get_ex(o, "body", &v)) {
    r->body = strdup(json_object_is_type(v, json_type_string)
                         ? json_object_get_string(v)
                         : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
  }
  r->next = rules;
  rules = r;
}

/* Pick the answer for a request (lock held). */
static void rule_apply(const char *path, int *status, int *delay_ms, bool *hang, char **body) {
  *status = 200;
  *delay_ms = 0;
  *hang = false;
  *body = NULL;
  for (rule_t **pp = &rules; *pp; pp = &(*pp)->next) {
    rule_t *r = *pp;
    if (r->path && strncmp(path, r->path, strlen(r->path)) != 0) continue;
    *status = r->status;
    *delay_ms = r->delay_ms;
    *hang = r->hang;
    *body = r->body ? strdup(r->body) : NULL;
    if (r->times > 0 && --r->times == 0) {
      *pp = r->next;
      free(r->path);
      free(r->body);
      free(r);
    }
    return;
  }
}

/* ---- requests ---- */

static size_t identity_unescape(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls;
  (void)c;
  return strlen(s); /* keep the path and query exactly as sent */
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
  (void)kind;
  json_object_object_add(cls, key, json_object_new_string(value ? value : ""));
  return MHD_YES;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
  (void)kind;
  struct json_object *a = cls;
  char *s = malloc(strlen(key) + (value ? strlen(value) : 0) + 2);
  sprintf(s, value ? "%s=%s" : "%s", key, value ? value : "");
  json_object_array_add(a, json_object_new_string(s));
  free(s);
  return MHD_YES;
}

static bool utf8_text(const char *s, size_t len) {
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0) return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!n || i + n > len) return false;
    for (size_t k = 1; k < n; k++)
      if (((unsigned char)s[i + k] >> 6) != 2) return false;
    i += n;
  }
  return true;
}

static void b64(const unsigned char *s, size_t len, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0) |
                 (i + 2 < len ? s[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? t[v & 63] : '=';
  }
  out[o] = 0;
}

static void record_request(struct MHD_Connection *c, const char *method, const char *url,
                           const req_t *r) {
  struct json_object *line = json_object_new_object();
  char ts[48];
  standin_now(ts, sizeof ts);
  json_object_object_add(line, "time", json_object_new_string(ts));
  json_object_object_add(line, "method", json_object_new_string(method));
  json_object_object_add(line, "path", json_object_new_string(url));
  struct json_object *args = json_object_new_array();
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, args);
  /* Rebuild the raw query (values are kept as sent: no unescaping). */
  size_t total = 1;
  for (size_t i = 0; i < json_object_array_length(args); i++)
    total += strlen(json_object_get_string(json_object_array_get_idx(args, i))) + 1;
  char *q = calloc(1, total);
  for (size_t i = 0; i < json_object_array_length(args); i++) {
    if (i) strcat(q, "&");
    strcat(q, json_object_get_string(json_object_array_get_idx(args, i)));
  }
  json_object_object_add(line, "query", json_object_new_string(q));
  free(q);
  json_object_put(args);
  struct json_object *hdrs = json_object_new_object();
  MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, hdrs);
  json_object_object_add(line, "headers", hdrs);
  if (r->len && !utf8_text(r->body, r->len)) {
    char *enc = malloc(r->len / 3 * 4 + 8);
    b64((const unsigned char *)r->body, r->len, enc);
    json_object_object_add(line, "body_base64", json_object_new_string(enc));
    free(enc);
  } else {
    json_object_object_add(line, "body", json_object_new_string_len(r->len ? r->body : "", (int)r->len));
  }
  standin_record(line);
  json_object_put(line);
}

static enum MHD_Result answer(struct MHD_Connection *c, int status, const char *body) {
  const char *b = body ? body : "{\"ok\":true}";
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(resp, "Content-Type", "application/json");
  enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static bool authorized(struct MHD_Connection *c) {
  if (!opts->token) return true;
  const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Standin-Token");
  return t && strcmp(t, opts->token) == 0;
}

static enum MHD_Result control(struct MHD_Connection *c, const char *url, req_t *r) {
  if (!authorized(c)) return answer(c, 401, "{\"error\":\"X-Standin-Token required\"}");
  char out[256];
  if (strcmp(url, "/_stats") == 0) {
    pthread_mutex_lock(&lock);
    snprintf(out, sizeof out, "{\"requests\":%ld,\"active\":%ld,\"max_active\":%ld}", n_requests,
             n_active, max_active);
    pthread_mutex_unlock(&lock);
    return answer(c, 200, out);
  }
  struct json_object *o = json_tokener_parse(r->body ? r->body : "");
  if (!o) return answer(c, 400, "{\"error\":\"expected JSON\"}");
  pthread_mutex_lock(&lock);
  struct json_object *v;
  if (json_object_is_type(o, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(o); i++)
      rule_add(json_object_array_get_idx(o, i));
  } else if (json_object_object_get_ex(o, "reset", &v) && json_object_get_boolean(v)) {
    rules_clear();
    n_requests = 0;
    max_active = n_active;
  } else {
    rule_add(o);
  }
  pthread_mutex_unlock(&lock);
  json_object_put(o);
  return answer(c, 200, NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
  (void)cls;
  (void)version;
  req_t *r = *con_cls;
  if (!r) {
    r = calloc(1, sizeof *r);
    *con_cls = r;
    return MHD_YES;
  }
  if (r->state == 0 && *upload_size) {
    if (r->len + *upload_size + 1 > r->alloc) {
      r->alloc = (r->len + *upload_size + 1) * 2;
      r->body = realloc(r->body, r->alloc);
    }
    memcpy(r->body + r->len, upload, *upload_size);
    r->len += *upload_size;
    r->body[r->len] = 0;
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->state == 2 || r->state == 1) {
    /* Resumed: answer now (or the server is stopping). */
    pthread_mutex_lock(&lock);
    if (r->state == 2) n_active--; /* hung ones left the count when they hung */
    bool stop = stopping;
    int was = r->state;
    r->state = 3; /* answered */
    pthread_mutex_unlock(&lock);
    return answer(c, stop && was == 1 ? 503 : r->status, r->answer);
  }
  if (strcmp(url, "/_control") == 0 || strcmp(url, "/_stats") == 0) return control(c, url, r);
  record_request(c, method, url, r);
  int delay;
  bool hang;
  pthread_mutex_lock(&lock);
  rule_apply(url, &r->status, &delay, &hang, &r->answer);
  n_requests++;
  if (++n_active > max_active) max_active = n_active;
  if (stopping) {
    n_active--;
    pthread_mutex_unlock(&lock);
    return answer(c, 503, NULL);
  }
  if (hang || delay > 0) {
    MHD_suspend_connection(c);
    if (hang) {
      r->state = 1;
      n_active--;
      if (nhung == ahung) {
        ahung = ahung ? ahung * 2 : 64;
        hung = realloc(hung, ahung * sizeof *hung);
      }
      hung[nhung++] = c;
    } else {
      r->state = 2;
      heap_push(now_ns() + (int64_t)delay * 1000000, c);
      pthread_cond_signal(&cond);
    }
    pthread_mutex_unlock(&lock);
    return MHD_YES;
  }
  n_active--;
  pthread_mutex_unlock(&lock);
  return answer(c, r->status, r->answer);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)toe;
  req_t *r = *con_cls;
  if (!r) return;
  pthread_mutex_lock(&lock);
  /* A delayed request whose client gave up before the answer. */
  if (r->state == 2) n_active--;
  /* A hung request whose client gave up: forget it (the connection is gone). */
  for (size_t i = 0; i < nhung; i++)
    if (hung[i] == c) {
      hung[i] = hung[--nhung];
      break;
    }
  pthread_mutex_unlock(&lock);
  free(r->body);
  free(r->answer);
  free(r);
  *con_cls = NULL;
}

int standin_http_run(const standin_opts_t *o) {
  opts = o;
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  pthread_t timer;
  pthread_create(&timer, NULL, timer_main, NULL);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC, 0, NULL, NULL,
      handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned)(o->threads > 0 ? o->threads : 4), MHD_OPTION_CONNECTION_LIMIT, 16000u,
      MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
      MHD_OPTION_UNESCAPE_CALLBACK, identity_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED,
      completed, NULL, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "parry-standin: could not listen on 127.0.0.1:%u\n", o->port);
    return 1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  printf("listening 127.0.0.1:%u\n", info ? info->port : o->port);
  fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig;
  sigwait(&set, &sig);
  pthread_mutex_lock(&lock);
  stopping = true;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&lock);
  pthread_join(timer, NULL);
  /* MHD refuses to stop with suspended connections: resume them all (they
   * answer 503) and give the threads a moment to send that. */
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < nhung; i++) MHD_resume_connection(hung[i]);
  nhung = 0;
  while (nheap) MHD_resume_connection(heap_pop().conn);
  pthread_mutex_unlock(&lock);
  struct timespec ts = {0, 100 * 1000000L};
  nanosleep(&ts, NULL);
  MHD_stop_daemon(d);
  pthread_mutex_lock(&lock);
  rules_clear();
  pthread_mutex_unlock(&lock);
  free(heap);
  free(hung);
  return 0;
}
