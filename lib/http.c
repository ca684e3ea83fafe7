#include "parry/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/buf.h"
#include "parry/log.h"
#include "parry/mem.h"

struct parry_http {
  struct MHD_Daemon *daemon;
  parry_metrics_t *metrics;
  parry_ready_fn ready;
  void *ready_opaque;
  uint16_t port;
};

parry_err_t parry_parse_listen(const char *listen, struct sockaddr_storage *addr, char *errstr,
                               size_t errstr_size) {
  char host[256];
  const char *port_text;
  memset(addr, 0, sizeof *addr);
  if (listen[0] == '[') {
    const char *close = strchr(listen, ']');
    if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host) goto bad;
    snprintf(host, sizeof host, "%.*s", (int)(close - listen - 1), listen + 1);
    port_text = close + 2;
  } else {
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host) goto bad;
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    port_text = colon + 1;
  }
  char *end;
  long port = strtol(port_text, &end, 10);
  if (!*port_text || *end || port < 0 || port > 65535) goto bad;
  struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
  } else {
    goto bad;
  }
  return PARRY_OK;
bad:
  return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                    "invalid listen address \"%s\": expected IP:PORT or [IPv6]:PORT", listen);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, const char *body, size_t len) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls) {
  parry_http_t *http = cls;
  static const char *const text = "text/plain; charset=utf-8";
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, "method not allowed\n", 19);
  if (strcmp(url, "/healthz") == 0) return respond(conn, MHD_HTTP_OK, text, "ok\n", 3);
  if (strcmp(url, "/readyz") == 0) {
    char why[256] = "not ready";
    if (!http->ready || http->ready(http->ready_opaque, why, sizeof why))
      return respond(conn, MHD_HTTP_OK, text, "ready\n", 6);
    char body[300];
    int n = snprintf(body, sizeof body, "not ready: %s\n", why);
    return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, body, (size_t)n);
  }
  if (strcmp(url, "/metrics") == 0) {
    parry_buf_t out = PARRY_BUF_INIT(0);
    parry_metrics_render(http->metrics, &out);
    enum MHD_Result ret = respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                  out.data ? out.data : "", out.len);
    parry_buf_free(&out);
    return ret;
  }
  return respond(conn, MHD_HTTP_NOT_FOUND, text, "not found\n", 10);
}

parry_err_t parry_http_start(const char *listen, parry_metrics_t *metrics, parry_ready_fn ready,
                             void *ready_opaque, parry_http_t **out, char *errstr,
                             size_t errstr_size) {
  struct sockaddr_storage addr;
  parry_err_t err = parry_parse_listen(listen, &addr, errstr, errstr_size);
  if (err) return err;
  parry_http_t *http = parry_xnew(parry_http_t, 1);
  http->metrics = metrics;
  http->ready = ready;
  http->ready_opaque = ready_opaque;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  http->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, http,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                  MHD_OPTION_END);
  if (!http->daemon) {
    free(http);
    return parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                      "could not start the health endpoint on %s (address in use?)", listen);
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
  http->port = info ? info->port : 0;
  *out = http;
  return PARRY_OK;
}

uint16_t parry_http_port(const parry_http_t *http) { return http->port; }

void parry_http_stop(parry_http_t *http) {
  if (!http) return;
  MHD_stop_daemon(http->daemon);
  free(http);
}
