/* Syslog over TCP and over TLS (RFC 6587 framing, RFC 5425 for TLS).
 *
 * Thread: one per listener, running a poll loop over the listening socket
 * and every connection (non-blocking, TLS handshakes included). Each
 * connection has its own framer and parry_stream_t, all owned by this
 * thread. When the Kafka producer is full, the emitter blocks this thread:
 * nothing is read from any connection, the kernel's buffers fill, and TCP
 * flow control makes the senders wait. That is the backpressure.
 *
 * Authentication, checked when a connection is accepted: the peer address
 * against ingestor.syslog.allow; on a TLS listener with
 * ingestor.syslog.tls.client_ca_file, a client certificate signed by that CA
 * instead (checked by the handshake).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "sources/framing.h"
#include "sources/sources.h"
#include "sources/tls.h"

#define POLL_MS 200
#define READ_SIZE 65536
#define ACCEPTS_PER_ROUND 64
/* A TLS handshake must finish this fast: a peer that opens connections and
 * never completes them would otherwise hold slots for the idle timeout. */
#define HANDSHAKE_MS 10000

typedef struct parry_tcp_source parry_tcp_source_t;

typedef struct {
  parry_tcp_source_t *s;
  int fd;
  SSL *ssl;          /* NULL on a plain listener */
  bool handshaken;
  short events;      /* what to poll for: TLS may need POLLOUT mid-handshake */
  char ip[64];
  parry_framer_t *framer;
  parry_stream_t *stream;
  int64_t accepted_ms;
  int64_t last_active_ms;
  int64_t received_ns;
} conn_t;

struct parry_tcp_source {
  const parry_source_env_t *env;
  const char *kind;     /* "syslog-tcp" or "syslog-tls": metric label, source names */
  const char *setting;  /* "ingestor.syslog.tcp" or "ingestor.syslog.tls" */
  const parry_allowlist_t *allow; /* NULL when mutual TLS authenticates instead */
  parry_tls_server_t *tls;
  int fd;
  uint16_t port;
  pthread_t thread;
  bool started;
  atomic_bool stop;
  size_t max_conns;
  int64_t idle_ms;

  parry_source_metrics_t m;
  parry_metric_t *accepted, *open, *refused_allow, *refused_limit, *tls_failed, *cert_failed;
  parry_metric_t *oversize, *truncated, *garbage;
  parry_ratelimit_t log_limit;

  /* Thread-owned. */
  conn_t **conns;
  size_t n_conns;
  parry_emitter_t em;
  char *buf;
};

/* -------------------------------------------------------------- frames */

static void on_frame(void *opaque, const parry_frame_t *f) {
  conn_t *c = opaque;
  parry_tcp_source_t *s = c->s;
  parry_metric_add(s->m.records, 1);
  s->em.received_ns = c->received_ns;
  if (f->kind == PARRY_FRAME_RECORD) {
    parry_stream_record(c->stream, f->data, f->len, f->offset, c->received_ns);
    return;
  }
  parry_metric_add(f->kind == PARRY_FRAME_OVERSIZE    ? s->oversize
                   : f->kind == PARRY_FRAME_TRUNCATED ? s->truncated
                                                      : s->garbage,
                   1);
  char why[256];
  parry_source_frame_reason(why, sizeof why, f->kind, f->total, f->declared, s->env->max_record);
  parry_stream_reject(c->stream, f->data, f->len, f->offset, why);
}

/* --------------------------------------------------------- connections */

static void conn_close(conn_t *c, const char *why) {
  parry_tcp_source_t *s = c->s;
  /* What arrived before the end is framed: a last unterminated line is a
   * message, a cut octet-counted frame a dead letter. */
  c->received_ns = parry_time_now_ns();
  if (c->framer) parry_framer_finish(c->framer);
  if (c->framer)
    LOG_DEBUG("%s: connection from %s closed (%s): %s framing, %llu bytes, %llu messages", s->kind,
              c->ip, why, parry_framing_name(parry_framer_mode(c->framer)),
              (unsigned long long)parry_framer_counts(c->framer)->bytes,
              (unsigned long long)parry_framer_counts(c->framer)->records);
  if (c->ssl) {
    if (c->handshaken) SSL_shutdown(c->ssl); /* best effort close_notify */
    SSL_free(c->ssl);
  }
  close(c->fd);
  parry_framer_destroy(c->framer);
  parry_stream_destroy(c->stream);
  parry_metric_add(s->open, -1);
  free(c);
}

static void refuse(parry_tcp_source_t *s, int fd, parry_metric_t *counter, const char *ip,
                   const char *why) {
  parry_metric_add(counter, 1);
  unsigned long held;
  if (parry_ratelimit(&s->log_limit, &held))
    LOG_WARN("%s: refused a connection from %s: %s (%lu more refusals not logged)", s->setting,
             ip, why, held);
  close(fd);
}

static void accept_some(parry_tcp_source_t *s) {
  for (int i = 0; i < ACCEPTS_PER_ROUND; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(s->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        unsigned long held;
        if (parry_ratelimit(&s->log_limit, &held))
          LOG_ERROR("%s: could not accept a connection: %s", s->setting, strerror(errno));
      }
      return;
    }
    char ip[64];
    parry_sockaddr_ip((struct sockaddr *)&peer, ip, sizeof ip);
    if (s->allow && !parry_allowlist_allows(s->allow, (struct sockaddr *)&peer)) {
      refuse(s, fd, s->refused_allow, ip, "not in ingestor.syslog.allow");
      continue;
    }
    if (s->n_conns >= s->max_conns) {
      refuse(s, fd, s->refused_limit, ip, "ingestor.syslog.tcp.max_connections reached");
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    conn_t *c = parry_xnew(conn_t, 1);
    c->s = s;
    c->fd = fd;
    c->events = POLLIN;
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    c->accepted_ms = c->last_active_ms = parry_now_ms();
    if (s->tls) {
      c->ssl = SSL_new(parry_tls_server_ctx(s->tls));
      if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        char why[256];
        parry_tls_last_error(why, sizeof why);
        LOG_ERROR("%s: could not set up TLS for %s: %s", s->setting, ip, why);
        if (c->ssl) SSL_free(c->ssl);
        close(fd);
        free(c);
        continue;
      }
    }
    char source[96];
    snprintf(source, sizeof source, "%s:%s", s->kind, ip);
    c->framer = parry_framer_new(s->env->max_record, on_frame, c);
    c->stream = parry_stream_new(s->env->normalizer, source, &parry_emitter_sink, &s->em);
    s->conns = parry_xreallocarray(s->conns, s->n_conns + 1, sizeof *s->conns);
    s->conns[s->n_conns++] = c;
    parry_metric_add(s->accepted, 1);
    parry_metric_add(s->open, 1);
    LOG_DEBUG("%s: connection from %s", s->kind, ip);
  }
}

static void feed(conn_t *c, const char *data, size_t n) {
  c->last_active_ms = parry_now_ms();
  c->received_ns = parry_time_now_ns();
  parry_framer_feed(c->framer, data, n);
}

/* A handshake that failed: a client certificate the CA did not sign (or
 * none) is an authentication failure; anything else a TLS failure. */
static bool handshake_failed(conn_t *c) {
  parry_tcp_source_t *s = c->s;
  long verify = SSL_get_verify_result(c->ssl);
  bool cert = parry_tls_server_mutual(s->tls) &&
              (verify != X509_V_OK || SSL_get0_peer_certificate(c->ssl) == NULL);
  char why[256];
  parry_tls_last_error(why, sizeof why);
  if (cert && verify != X509_V_OK)
    snprintf(why, sizeof why, "client certificate refused: %s",
             X509_verify_cert_error_string(verify));
  else if (cert)
    snprintf(why, sizeof why, "no client certificate (ingestor.syslog.tls.client_ca_file "
                              "requires one)");
  parry_metric_add(cert ? s->cert_failed : s->tls_failed, 1);
  unsigned long held;
  if (parry_ratelimit(&s->log_limit, &held))
    LOG_WARN("%s: TLS handshake with %s failed: %s (%lu more failures not logged)", s->setting,
             c->ip, why, held);
  return false;
}

/* Read what the connection has; false when it is finished. */
static bool service(conn_t *c) {
  parry_tcp_source_t *s = c->s;
  if (!c->ssl) {
    ssize_t n = read(c->fd, s->buf, READ_SIZE);
    if (n > 0) {
      feed(c, s->buf, (size_t)n);
      return true;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  ERR_clear_error();
  if (!c->handshaken) {
    int r = SSL_accept(c->ssl);
    if (r == 1) {
      c->handshaken = true;
      c->events = POLLIN;
      LOG_DEBUG("%s: TLS with %s established (%s)", s->kind, c->ip, SSL_get_version(c->ssl));
      /* Data may have come with the handshake's last flight. */
    } else {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ) c->events = POLLIN;
      else if (e == SSL_ERROR_WANT_WRITE) c->events = POLLOUT;
      else return handshake_failed(c);
      c->last_active_ms = parry_now_ms();
      return true;
    }
  }
  /* Read while OpenSSL holds decrypted bytes (poll cannot see those). */
  for (;;) {
    int r = SSL_read(c->ssl, s->buf, READ_SIZE);
    if (r > 0) {
      feed(c, s->buf, (size_t)r);
      if (SSL_pending(c->ssl) > 0) continue;
      c->events = POLLIN;
      return true;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      c->events = POLLIN;
      return true;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
      c->events = POLLOUT;
      return true;
    }
    if (e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL) {
      char why[256];
      parry_tls_last_error(why, sizeof why);
      LOG_DEBUG("%s: TLS error from %s: %s", s->kind, c->ip, why);
    }
    return false;
  }
}

static void *tcp_main(void *opaque) {
  parry_tcp_source_t *s = opaque;
  parry_log_action(s->tls ? "receiving syslog over TLS" : "receiving syslog over TCP");
  pthread_setname_np(pthread_self(), s->tls ? "parry-tls" : "parry-tcp");
  struct pollfd *pfds = NULL;
  size_t pfds_cap = 0;
  while (!atomic_load(&s->stop)) {
    if (s->n_conns + 1 > pfds_cap) {
      pfds_cap = (s->n_conns + 1) * 2;
      pfds = parry_xreallocarray(pfds, pfds_cap, sizeof *pfds);
    }
    pfds[0] = (struct pollfd){s->fd, POLLIN, 0};
    for (size_t i = 0; i < s->n_conns; i++)
      pfds[i + 1] = (struct pollfd){s->conns[i]->fd, s->conns[i]->events, 0};
    size_t polled = s->n_conns;
    int r = poll(pfds, polled + 1, POLL_MS);
    if (r < 0 && errno != EINTR) {
      LOG_ERROR("%s: poll failed: %s", s->setting, strerror(errno));
      break;
    }
    int64_t now = parry_now_ms();
    /* Connections first (accepting appends to the array). */
    size_t kept = 0;
    for (size_t i = 0; i < polled; i++) {
      conn_t *c = s->conns[i];
      bool alive = true;
      const char *why = "peer closed";
      if (r > 0 && pfds[i + 1].revents) {
        alive = service(c);
        if (!alive && c->ssl && !c->handshaken) why = "handshake failed";
      } else if (now - c->last_active_ms > s->idle_ms) {
        alive = false;
        why = "idle past ingestor.syslog.tcp.idle_timeout";
      } else if (c->ssl && !c->handshaken && now - c->accepted_ms > HANDSHAKE_MS) {
        alive = false;
        why = "TLS handshake not finished in time";
        parry_metric_add(s->tls_failed, 1);
      }
      if (alive) s->conns[kept++] = c;
      else conn_close(c, why);
    }
    for (size_t i = polled; i < s->n_conns; i++) s->conns[kept++] = s->conns[i];
    s->n_conns = kept;
    if (r > 0 && (pfds[0].revents & POLLIN)) accept_some(s);
  }
  free(pfds);
  return NULL;
}

/* ------------------------------------------------------------- life */

parry_err_t parry_tcp_source_start(const parry_source_env_t *env, bool tls,
                                   const parry_allowlist_t *allow, parry_tcp_source_t **out,
                                   char *errstr, size_t errstr_size) {
  const parry_config_t *cfg = env->cfg;
  parry_tcp_source_t *s = parry_xnew(parry_tcp_source_t, 1);
  parry_err_t err = PARRY_OK;
  s->env = env;
  s->fd = -1;
  s->kind = tls ? "syslog-tls" : "syslog-tcp";
  s->setting = tls ? "ingestor.syslog.tls" : "ingestor.syslog.tcp";
  s->allow = allow;
  atomic_init(&s->stop, false);
  s->max_conns = (size_t)parry_config_int(cfg, "ingestor.syslog.tcp.max_connections");
  s->idle_ms = parry_config_int(cfg, "ingestor.syslog.tcp.idle_timeout");
  if (tls) {
    err = parry_tls_server_new("ingestor.syslog.tls",
                               parry_config_str(cfg, "ingestor.syslog.tls.cert_file"),
                               parry_config_str(cfg, "ingestor.syslog.tls.key_file"),
                               parry_config_str(cfg, "ingestor.syslog.tls.client_ca_file"),
                               &s->tls, errstr, errstr_size);
    if (err) goto out;
    if (parry_tls_server_mutual(s->tls)) s->allow = NULL; /* the certificate authenticates */
  }
  char setting[64];
  snprintf(setting, sizeof setting, "%s.listen", s->setting);
  const char *listen = parry_config_str(cfg, setting);
  s->fd = parry_source_bind(setting, listen, SOCK_STREAM, errstr, errstr_size);
  if (s->fd < 0) {
    err = PARRY_ERR_IO;
    goto out;
  }
  s->port = parry_source_bound_port(s->fd);

  parry_metrics_t *reg = env->metrics;
  parry_source_metrics_init(&s->m, reg, s->kind);
  s->accepted = parry_metrics_counter(reg, "parry_ingestor_connections_total",
                                      "Connections accepted (after authentication)", "source",
                                      s->kind, NULL);
  s->open = parry_metrics_gauge(reg, "parry_ingestor_connections", "Connections open now",
                                "source", s->kind, NULL);
  static const char auth_help[] =
      "Peers refused: not in the allowlist, bad token, failed TLS handshake or client "
      "certificate";
  s->refused_allow = parry_metrics_counter(reg, "parry_ingestor_auth_failures_total", auth_help,
                                           "source", s->kind, "reason", "allowlist", NULL);
  s->cert_failed = parry_metrics_counter(reg, "parry_ingestor_auth_failures_total", auth_help,
                                         "source", s->kind, "reason", "client_certificate", NULL);
  s->tls_failed = parry_metrics_counter(reg, "parry_ingestor_auth_failures_total", auth_help,
                                        "source", s->kind, "reason", "tls_handshake", NULL);
  s->refused_limit = parry_metrics_counter(reg, "parry_ingestor_connections_refused_total",
                                           "Connections closed at once: the listener's "
                                           "max_connections was reached",
                                           "source", s->kind, NULL);
  static const char framing_help[] =
      "Syslog TCP frames that were not messages (sent to topics.dlq)";
  s->oversize = parry_metrics_counter(reg, "parry_ingestor_framing_errors_total", framing_help,
                                      "source", s->kind, "kind", "oversize", NULL);
  s->truncated = parry_metrics_counter(reg, "parry_ingestor_framing_errors_total", framing_help,
                                       "source", s->kind, "kind", "truncated", NULL);
  s->garbage = parry_metrics_counter(reg, "parry_ingestor_framing_errors_total", framing_help,
                                     "source", s->kind, "kind", "garbage", NULL);
  s->em = (parry_emitter_t){.pub = env->pub, .metrics = &s->m};
  s->buf = parry_xmalloc(READ_SIZE);

  if (pthread_create(&s->thread, NULL, tcp_main, s) != 0) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO, "%s: could not start its thread",
                     s->setting);
    goto out;
  }
  s->started = true;
  LOG_INFO("syslog over %s on port %u (%s=%s; peers authenticated by %s)", tls ? "TLS" : "TCP",
           s->port, setting, listen,
           s->allow ? "ingestor.syslog.allow" : "client certificate (mutual TLS)");
out:
  if (err) {
    parry_tcp_source_stop(s);
    return err;
  }
  *out = s;
  return PARRY_OK;
}

uint16_t parry_tcp_source_port(const parry_tcp_source_t *s) { return s->port; }

void parry_tcp_source_stop(parry_tcp_source_t *s) {
  if (!s) return;
  atomic_store(&s->stop, true);
  if (s->started) pthread_join(s->thread, NULL);
  if (s->fd >= 0) close(s->fd); /* no new connections from here */
  for (size_t i = 0; i < s->n_conns; i++) conn_close(s->conns[i], "shutting down");
  free(s->conns);
  free(s->buf);
  parry_tls_server_destroy(s->tls);
  free(s);
}
