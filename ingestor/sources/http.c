/* Events over HTTP: POST /v1/events (libmicrohttpd).
 *
 *   Authorization: Bearer TOKEN          required (ingestor.http.token[_file])
 *   Content-Encoding: gzip               optional
 *   body                                 NDJSON (one record per line, any text
 *                                        the parsers know), or one JSON array
 *                                        whose elements are the records
 *
 * Answers (JSON):
 *   200  {"records":N,"accepted":A,"rejected":R,"events":E,
 *         "errors":[{"line":L,"reason":"..."},...]}   (first few rejects;
 *        "element" instead of "line" for a JSON array, 0-based)
 *        Rejected records went to topics.dlq: resending will not help.
 *   400  a gzip body that does not decompress
 *   401  no token or a wrong one (compared in constant time)
 *   404, 405, 415 (an encoding other than gzip or identity)
 *   413  body over ingestor.http.max_body_size, or its decompressed form
 *        over ingestor.http.max_decompressed_size
 *   503  Kafka cannot keep up or did not acknowledge in time
 *        (ingestor.http.delivery_timeout), or a delivery failed; Retry-After.
 *        Some of the request may have been delivered: event ids are a hash of
 *        the sender's address, the line number and the bytes, so a resent
 *        record gets the same id and consumers can tell the copy.
 *
 * Nothing is acknowledged before Kafka has it: a request's events and dead
 * letters share one delivery tracker, and the answer waits for it.
 *
 * Threads: libmicrohttpd runs one thread per connection
 * (MHD_USE_THREAD_PER_CONNECTION), which lets a request block on its
 * deliveries without holding up others. Each request normalizes with its own
 * parry_stream_t; what the threads share (this struct, the normalizer, the
 * publisher) is read-only or thread-safe, except the log rate limiter, which
 * has a lock.
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "parry/buf.h"
#include "parry/codec.h"
#include "parry/http.h"
#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "sources/sources.h"

#define MAX_ERRORS 5
#define PATH "/v1/events"
/* How often a request waiting for its deliveries checks for shutdown. */
#define WAIT_SLICE_MS 200

struct parry_http_source {
  const parry_source_env_t *env;
  struct MHD_Daemon *daemon;
  uint16_t port;
  char *token;
  size_t token_len;
  size_t max_body, max_decompressed;
  int64_t delivery_timeout_ms;
  char *cert_pem, *key_pem;

  parry_source_metrics_t m;
  parry_metric_t *auth_failed;
  parry_metrics_t *reg;

  pthread_mutex_t log_lock;
  parry_ratelimit_t log_limit;
};

typedef struct {
  parry_buf_t body;
  bool gzip;
  bool too_large;
  size_t received;
  char ip[64];
} request_t;

/* ------------------------------------------------------------- replies */

static void count_status(parry_http_source_t *s, unsigned status) {
  char code[8];
  snprintf(code, sizeof code, "%u", status);
  parry_metric_add(parry_metrics_counter(s->reg, "parry_ingestor_http_responses_total",
                                         "Responses of the HTTP event endpoint by status",
                                         "code", code, NULL),
                   1);
}

static enum MHD_Result reply(parry_http_source_t *s, struct MHD_Connection *conn,
                             unsigned status, const char *json, size_t len) {
  count_status(s, status);
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)json, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"parry\"");
  if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
    MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result reply_error(parry_http_source_t *s, struct MHD_Connection *conn,
                                   unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum MHD_Result reply_error(parry_http_source_t *s, struct MHD_Connection *conn,
                                   unsigned status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  parry_buf_t b = PARRY_BUF_INIT(0);
  parry_buf_append_str(&b, "{\"error\":\"");
  parry_buf_append_json_string(&b, msg, strlen(msg));
  parry_buf_append_str(&b, "\"}\n");
  enum MHD_Result ret = reply(s, conn, status, b.data, b.len);
  parry_buf_free(&b);
  return ret;
}

/* ---------------------------------------------------------- authentication */

/* Compares every byte whatever the input, so the time taken says nothing
 * about how much of the token was right (only, at most, its length). */
static bool token_ok(const parry_http_source_t *s, const char *given, size_t len) {
  volatile unsigned char diff = (unsigned char)(len != s->token_len);
  for (size_t i = 0; i < len; i++)
    diff |= (unsigned char)(given[i] ^ s->token[i % s->token_len]);
  return diff == 0;
}

static bool authorized(const parry_http_source_t *s, struct MHD_Connection *conn) {
  const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_AUTHORIZATION);
  if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
  h += 7;
  while (*h == ' ') h++;
  size_t len = strlen(h);
  while (len && (h[len - 1] == ' ' || h[len - 1] == '\t')) len--;
  return len > 0 && token_ok(s, h, len);
}

static void log_refusal(parry_http_source_t *s, const char *ip, const char *why) {
  pthread_mutex_lock(&s->log_lock);
  unsigned long held;
  bool log = parry_ratelimit(&s->log_limit, &held);
  pthread_mutex_unlock(&s->log_lock);
  if (log)
    LOG_WARN("ingestor.http: refused a request from %s: %s (%lu more refusals not logged)", ip,
             why, held);
}

/* ---------------------------------------------------------------- gzip */

/* Inflate a gzip body (several members allowed) into out, whose cap is the
 * decompressed limit. PARRY_ERR_TOO_LARGE past the cap. */
static parry_err_t gunzip(const char *in, size_t len, parry_buf_t *out, char *why,
                          size_t why_size) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 16) != Z_OK)
    return parry_fail(why, why_size, PARRY_ERR_EXTERNAL, "could not start gzip decompression");
  parry_err_t err = PARRY_OK;
  unsigned char chunk[65536];
  zs.next_in = (unsigned char *)in;
  zs.avail_in = (uInt)len; /* bodies are capped well below 4 GiB */
  for (;;) {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    int z = inflate(&zs, Z_NO_FLUSH);
    size_t got = sizeof chunk - zs.avail_out;
    if (got && parry_buf_append(out, chunk, got) != PARRY_OK) {
      err = parry_fail(why, why_size, PARRY_ERR_TOO_LARGE,
                       "decompressed body exceeds ingestor.http.max_decompressed_size (%zu bytes)",
                       out->cap);
      break;
    }
    if (z == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs); /* another gzip member follows */
      continue;
    }
    if (z == Z_OK) continue;
    if (z == Z_BUF_ERROR && zs.avail_in == 0) {
      err = parry_fail(why, why_size, PARRY_ERR_INVALID, "gzip body ends before its end marker");
    } else {
      err = parry_fail(why, why_size, PARRY_ERR_INVALID, "gzip body is corrupt: %s",
                       zs.msg ? zs.msg : "inflate failed");
    }
    break;
  }
  inflateEnd(&zs);
  return err;
}

/* ------------------------------------------------------------ requests */

typedef struct {
  uint64_t seq;
  char reason[240];
} reject_note_t;

typedef struct {
  reject_note_t notes[MAX_ERRORS];
  size_t n_notes;
} rejects_t;

static void note_reject(void *opaque, uint64_t seq, const char *reason) {
  rejects_t *r = opaque;
  if (r->n_notes < MAX_ERRORS) {
    r->notes[r->n_notes].seq = seq;
    snprintf(r->notes[r->n_notes].reason, sizeof r->notes[r->n_notes].reason, "%s", reason);
    r->n_notes++;
  }
}

/* The elements of a JSON array, found without building the array: the
 * body stays the only copy (a json-c tree of a 64 MiB body would take ten
 * times that), and each element keeps its exact bytes for the dead letter.
 * Each element is checked as JSON by the normalizer like any record.
 * Returns false, calling nothing, unless the text is one array ('[' after
 * whitespace, its closing ']' found outside strings, then only whitespace);
 * with emit NULL it only checks. */
typedef void (*element_fn)(void *opaque, const char *p, size_t len, uint64_t index);

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool json_array_elements(const char *p, size_t len, element_fn emit, void *opaque) {
  size_t i = 0;
  while (i < len && is_ws(p[i])) i++;
  if (i == len || p[i] != '[') return false;
  size_t start = ++i, depth = 0;
  uint64_t index = 0;
  bool in_string = false;
  for (; i < len; i++) {
    char c = p[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    } else if (c == ',' || c == ']') {
      if (depth > 0) continue;
      if (emit) {
        size_t a = start, b = i;
        while (a < b && is_ws(p[a])) a++;
        while (b > a && is_ws(p[b - 1])) b--;
        /* "[]" has no element; "[1,,2]" has an empty one, which the
         * normalizer rejects as invalid JSON. */
        if (b > a || c == ',' || index > 0) emit(opaque, p + a, b - a, index);
      }
      index++;
      start = i + 1;
      if (c == ']') {
        for (i++; i < len; i++)
          if (!is_ws(p[i])) return false;
        return true;
      }
    }
  }
  return false; /* no closing bracket */
}

typedef struct {
  parry_http_source_t *s;
  parry_stream_t *stream;
  int64_t now_ns;
} feed_t;

static void feed_record(feed_t *f, const char *rec, size_t n, uint64_t seq) {
  parry_metric_add(f->s->m.records, 1);
  if (n > f->s->env->max_record) {
    char why[200];
    snprintf(why, sizeof why, "record of %zu bytes exceeds ingestor.max_record_size (%zu)", n,
             f->s->env->max_record);
    parry_stream_reject(f->stream, rec, f->s->env->max_record, seq, why);
    return;
  }
  if (n == 0) {
    /* Only an array can have an empty element; it is not valid JSON. */
    parry_stream_reject(f->stream, rec, 0, seq, "invalid JSON: empty array element");
    return;
  }
  parry_stream_record(f->stream, rec, n, seq, f->now_ns);
}

static void on_element(void *opaque, const char *p, size_t len, uint64_t index) {
  feed_record(opaque, p, len, index);
}

/* Records of a body: the elements of a JSON array, or lines (NDJSON, or
 * any text the parsers know). */
static void feed_body(parry_http_source_t *s, parry_stream_t *stream, const char *body,
                      size_t len, int64_t now_ns, bool *array) {
  feed_t f = {s, stream, now_ns};
  *array = json_array_elements(body, len, NULL, NULL);
  if (*array) {
    json_array_elements(body, len, on_element, &f);
    return;
  }
  uint64_t line = 0;
  size_t at = 0;
  while (at < len) {
    const char *nl = memchr(body + at, '\n', len - at);
    size_t end = nl ? (size_t)(nl - body) : len;
    line++;
    size_t n = end - at;
    const char *rec = body + at;
    at = end + 1;
    bool blank = true;
    for (size_t k = 0; k < n && blank; k++) blank = is_ws(rec[k]);
    if (!blank) feed_record(&f, rec, n, line);
  }
}

static void append_counts(parry_buf_t *b, const parry_stream_counts_t *c, const rejects_t *r,
                          bool array) {
  parry_buf_printf(b, "\"records\":%llu,\"accepted\":%llu,\"rejected\":%llu,\"events\":%llu",
                   (unsigned long long)c->records,
                   (unsigned long long)(c->records - c->rejected),
                   (unsigned long long)c->rejected, (unsigned long long)c->events);
  parry_buf_append_str(b, ",\"errors\":[");
  for (size_t i = 0; i < r->n_notes; i++) {
    parry_buf_printf(b, "%s{\"%s\":%llu,\"reason\":\"", i ? "," : "", array ? "element" : "line",
                     (unsigned long long)r->notes[i].seq);
    parry_buf_append_json_string(b, r->notes[i].reason, strlen(r->notes[i].reason));
    parry_buf_append_str(b, "\"}");
  }
  parry_buf_append_char(b, ']');
}

static enum MHD_Result process(parry_http_source_t *s, struct MHD_Connection *conn,
                               request_t *req) {
  parry_publisher_t *pub = s->env->pub;
  const char *body = req->body.data ? req->body.data : "";
  size_t len = req->body.len;
  parry_buf_t plain = PARRY_BUF_INIT(s->max_decompressed);
  if (req->gzip) {
    char why[256];
    parry_err_t err = gunzip(body, len, &plain, why, sizeof why);
    if (err) {
      parry_buf_free(&plain);
      if (err == PARRY_ERR_TOO_LARGE) log_refusal(s, req->ip, why);
      return reply_error(s, conn,
                         err == PARRY_ERR_TOO_LARGE ? MHD_HTTP_CONTENT_TOO_LARGE
                                                    : MHD_HTTP_BAD_REQUEST,
                         "%s", why);
    }
    body = plain.data ? plain.data : "";
    len = plain.len;
  }

  int64_t start = parry_now_ms();
  int64_t deadline = start + s->delivery_timeout_ms;
  parry_delivery_t *d = parry_delivery_new();
  rejects_t rejects = {0};
  parry_emitter_t em = {
      .pub = pub,
      .metrics = &s->m,
      .delivery = d,
      .received_ns = parry_time_now_ns(),
      .deadline_ms = deadline,
      .on_reject = note_reject,
      .on_reject_opaque = &rejects,
  };
  char source[96];
  snprintf(source, sizeof source, "http:%s", req->ip);
  parry_stream_t *stream = parry_stream_new(s->env->normalizer, source, &parry_emitter_sink, &em);
  bool array = false;
  feed_body(s, stream, body, len, em.received_ns, &array);
  parry_buf_free(&plain);

  /* The answer waits for Kafka: in slices, so that a shutdown does not wait
   * out a whole delivery timeout. */
  parry_err_t waited = PARRY_OK;
  for (;;) {
    int64_t now = parry_now_ms();
    int64_t until = now + WAIT_SLICE_MS < deadline ? now + WAIT_SLICE_MS : deadline;
    waited = parry_delivery_wait(d, until);
    if (waited == PARRY_OK || until >= deadline) break;
    int64_t shutdown = parry_publisher_shutdown_at(pub);
    if (shutdown && parry_now_ms() >= shutdown) break;
  }

  const parry_stream_counts_t *c = parry_stream_counts(stream);
  unsigned pending = parry_delivery_pending(d), failed = parry_delivery_failed(d);
  unsigned status = MHD_HTTP_OK;
  char error[400] = "";
  if (em.err) {
    status = MHD_HTTP_SERVICE_UNAVAILABLE;
    snprintf(error, sizeof error, "Kafka cannot keep up: %llu messages of this request were "
             "not queued: %s", (unsigned long long)em.failed, em.errstr);
  } else if (waited != PARRY_OK || pending) {
    status = MHD_HTTP_SERVICE_UNAVAILABLE;
    snprintf(error, sizeof error,
             "Kafka did not acknowledge %u of this request's messages within %lld ms "
             "(ingestor.http.delivery_timeout)",
             pending, (long long)(parry_now_ms() - start));
  } else if (failed) {
    status = MHD_HTTP_SERVICE_UNAVAILABLE;
    snprintf(error, sizeof error, "Kafka could not take %u of this request's messages: %s",
             failed, rd_kafka_err2str(parry_delivery_error(d)));
  }
  parry_buf_t out = PARRY_BUF_INIT(0);
  parry_buf_append_char(&out, '{');
  if (error[0]) {
    parry_buf_append_str(&out, "\"error\":\"");
    parry_buf_append_json_string(&out, error, strlen(error));
    parry_buf_append_str(&out, "\",");
    LOG_WARN("ingestor.http: answered %s with 503: %s", req->ip, error);
  }
  append_counts(&out, c, &rejects, array);
  parry_buf_append_str(&out, "}\n");
  enum MHD_Result ret = reply(s, conn, status, out.data, out.len);
  parry_buf_free(&out);
  parry_stream_destroy(stream);
  parry_delivery_release(d);
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls) {
  parry_http_source_t *s = cls;
  request_t *req = *req_cls;

  if (!req) {
    /* Headers only so far: refuse what can be refused before the body. */
    char ip[64] = "?";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) parry_sockaddr_ip(ci->client_addr, ip, sizeof ip);
    if (strcmp(url, PATH) != 0)
      return reply_error(s, conn, MHD_HTTP_NOT_FOUND, "no such endpoint: POST events to %s", PATH);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
      return reply_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
    if (!authorized(s, conn)) {
      parry_metric_add(s->auth_failed, 1);
      log_refusal(s, ip, "missing or wrong bearer token");
      return reply_error(s, conn, MHD_HTTP_UNAUTHORIZED, "missing or invalid bearer token");
    }
    const char *enc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_ENCODING);
    bool gzip = false;
    if (enc && (strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0)) gzip = true;
    else if (enc && *enc && strcasecmp(enc, "identity") != 0)
      return reply_error(s, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                         "Content-Encoding %s is not supported (gzip or none)", enc);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->max_body) {
      log_refusal(s, ip, "body over ingestor.http.max_body_size");
      return reply_error(s, conn, MHD_HTTP_CONTENT_TOO_LARGE,
                         "body of %s bytes exceeds ingestor.http.max_body_size (%zu bytes)", cl,
                         s->max_body);
    }
    /* Before taking a body, make sure there is room to queue it. */
    if (parry_publisher_congested(s->env->pub))
      return reply_error(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "Kafka cannot keep up (%d messages waiting); retry later",
                         parry_publisher_queue_length(s->env->pub));
    req = parry_xnew(request_t, 1);
    parry_buf_init(&req->body, s->max_body);
    req->gzip = gzip;
    snprintf(req->ip, sizeof req->ip, "%s", ip);
    *req_cls = req;
    return MHD_YES;
  }

  if (*upload_data_size) {
    /* A chunked body has no length up front. Past the cap the rest is read
     * and dropped, so the client gets its 413 rather than a reset; one that
     * keeps sending past twice the cap is cut off. */
    req->received += *upload_data_size;
    if (!req->too_large &&
        parry_buf_append(&req->body, upload_data, *upload_data_size) != PARRY_OK) {
      req->too_large = true;
      parry_buf_free(&req->body);
    }
    *upload_data_size = 0;
    if (req->too_large && req->received / 2 > s->max_body) {
      log_refusal(s, req->ip, "chunked body far over ingestor.http.max_body_size; closed");
      count_status(s, MHD_HTTP_CONTENT_TOO_LARGE);
      return MHD_NO;
    }
    return MHD_YES;
  }

  if (req->too_large) {
    log_refusal(s, req->ip, "body over ingestor.http.max_body_size");
    return reply_error(s, conn, MHD_HTTP_CONTENT_TOO_LARGE,
                       "body exceeds ingestor.http.max_body_size (%zu bytes)", s->max_body);
  }
  return process(s, conn, req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                      enum MHD_RequestTerminationCode toe) {
  request_t *req = *req_cls;
  if (!req) return;
  parry_buf_free(&req->body);
  free(req);
  *req_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && msg[n - 1] == '\n') msg[--n] = '\0';
  LOG_WARN("ingestor.http: libmicrohttpd: %s", msg);
}

/* --------------------------------------------------------------- life */

static parry_err_t read_file(const char *setting, const char *path, size_t cap, char **out,
                             char *errstr, size_t errstr_size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    char why[128];
    parry_source_os_error(errno, why, sizeof why);
    return parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND, "%s: could not open %s: %s",
                      setting, path, why);
  }
  parry_buf_t b = PARRY_BUF_INIT(cap);
  char chunk[4096];
  size_t n;
  parry_err_t err = PARRY_OK;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if ((err = parry_buf_append(&b, chunk, n)) != PARRY_OK) break;
  if (!err && ferror(f))
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO, "%s: could not read %s", setting, path);
  else if (err)
    parry_fail(errstr, errstr_size, err, "%s: %s is larger than %zu bytes", setting, path, cap);
  fclose(f);
  if (err) {
    parry_buf_free(&b);
    return err;
  }
  *out = parry_buf_steal(&b);
  return PARRY_OK;
}

static parry_err_t load_token(parry_http_source_t *s, const parry_config_t *cfg, char *errstr,
                              size_t errstr_size) {
  const char *token = parry_config_str(cfg, "ingestor.http.token");
  const char *file = parry_config_str(cfg, "ingestor.http.token_file");
  if (*token && *file)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "ingestor.http.token and ingestor.http.token_file are both set: set one");
  if (!*token && !*file)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "ingestor.http.enabled is true but no bearer token is configured: set "
                      "ingestor.http.token or ingestor.http.token_file (the HTTP source never "
                      "runs without authentication)");
  char *text = NULL;
  if (*file) {
    parry_err_t err = read_file("ingestor.http.token_file", file, 4096, &text, errstr,
                                errstr_size);
    if (err) return err;
  } else {
    text = parry_xstrdup(token);
  }
  char *p = text;
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  size_t n = strlen(p);
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n')) n--;
  if (!n) {
    free(text);
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s: the token is empty",
                      *file ? "ingestor.http.token_file" : "ingestor.http.token");
  }
  s->token = parry_xstrndup(p, n);
  s->token_len = n;
  free(text);
  return PARRY_OK;
}

parry_err_t parry_http_source_start(const parry_source_env_t *env, parry_http_source_t **out,
                                    char *errstr, size_t errstr_size) {
  const parry_config_t *cfg = env->cfg;
  parry_http_source_t *s = parry_xnew(parry_http_source_t, 1);
  parry_err_t err = PARRY_OK;
  s->env = env;
  s->reg = env->metrics;
  pthread_mutex_init(&s->log_lock, NULL);
  s->max_body = (size_t)parry_config_int(cfg, "ingestor.http.max_body_size");
  s->max_decompressed = (size_t)parry_config_int(cfg, "ingestor.http.max_decompressed_size");
  s->delivery_timeout_ms = parry_config_int(cfg, "ingestor.http.delivery_timeout");
  if ((err = load_token(s, cfg, errstr, errstr_size))) goto out;

  const char *listen = parry_config_str(cfg, "ingestor.http.listen");
  struct sockaddr_storage addr;
  char why[256];
  if (parry_parse_listen(listen, &addr, why, sizeof why) != PARRY_OK) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "ingestor.http.listen: %s", why);
    goto out;
  }
  const char *cert = parry_config_str(cfg, "ingestor.http.tls.cert_file");
  const char *key = parry_config_str(cfg, "ingestor.http.tls.key_file");
  bool tls = *cert || *key;
  if (tls) {
    if (!*cert || !*key) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "HTTPS needs both ingestor.http.tls.cert_file and "
                       "ingestor.http.tls.key_file");
      goto out;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_UNSUPPORTED,
                       "ingestor.http.tls.cert_file: this libmicrohttpd was built without TLS");
      goto out;
    }
    if ((err = read_file("ingestor.http.tls.cert_file", cert, 1 << 20, &s->cert_pem, errstr,
                         errstr_size)) ||
        (err = read_file("ingestor.http.tls.key_file", key, 1 << 20, &s->key_pem, errstr,
                         errstr_size)))
      goto out;
  }

  parry_source_metrics_init(&s->m, env->metrics, "http");
  s->auth_failed = parry_metrics_counter(env->metrics, "parry_ingestor_auth_failures_total",
                                         "Peers refused: not in the allowlist, bad token, "
                                         "failed TLS handshake or client certificate",
                                         "source", "http", "reason", "token", NULL);

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_ERROR_LOG;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_DUAL_STACK;
  if (tls) flags |= MHD_USE_TLS;
  unsigned max_conns = (unsigned)parry_config_int(cfg, "ingestor.http.max_connections");
  if (tls)
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, max_conns, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
        MHD_OPTION_END);
  else
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, max_conns, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_END);
  if (!s->daemon) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                     "ingestor.http.listen: could not serve HTTP%s on %s (address in use, or "
                     "not allowed?)",
                     tls ? "S" : "", listen);
    goto out;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : 0;
  LOG_INFO("HTTP%s event endpoint POST %s on port %u (ingestor.http.listen=%s, bearer token "
           "required)",
           tls ? "S" : "", PATH, s->port, listen);
out:
  if (err) {
    parry_http_source_stop(s);
    return err;
  }
  *out = s;
  return PARRY_OK;
}

uint16_t parry_http_source_port(const parry_http_source_t *s) { return s->port; }

void parry_http_source_stop(parry_http_source_t *s) {
  if (!s) return;
  /* Waits for the connection threads: requests in flight finish (their
   * waits for Kafka end at the shutdown deadline at the latest). */
  if (s->daemon) MHD_stop_daemon(s->daemon);
  if (s->token) memset(s->token, 0, s->token_len);
  free(s->token);
  free(s->cert_pem);
  if (s->key_pem) memset(s->key_pem, 0, strlen(s->key_pem));
  free(s->key_pem);
  pthread_mutex_destroy(&s->log_lock);
  free(s);
}
