/* Syslog over UDP (RFC 5426): one message per datagram.
 *
 * Thread: one, reading the socket in batches (recvmmsg) and normalizing in
 * place. When the Kafka producer is full the thread blocks in the emitter,
 * stops reading, and the kernel's receive buffer (ingestor.syslog.udp.
 * receive_buffer) absorbs what it can; past it the kernel drops datagrams,
 * which it counts for us (SO_RXQ_OVFL) and we turn into
 * parry_ingestor_udp_drops_total. UDP has no flow control: that is as good as
 * it gets.
 *
 * Authentication: the sender's address against ingestor.syslog.allow, per
 * datagram. (Addresses can be forged over UDP; the README says so.)
 */
#include <errno.h>
#include <netinet/in.h>
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
#include "sources/sources.h"

#define BATCH 32
/* The largest UDP payload is 65,507 bytes (IPv4) or 65,527 (IPv6). */
#define DATAGRAM_MAX 65536
#define POLL_MS 200

struct parry_udp_source {
  const parry_source_env_t *env;
  const parry_allowlist_t *allow;
  int fd;
  uint16_t port;
  pthread_t thread;
  bool started;
  atomic_bool stop;

  parry_source_metrics_t m;
  parry_metric_t *drops, *refused;
  parry_ratelimit_t refused_log;

  /* Thread-owned from here. */
  parry_stream_t *stream;
  parry_emitter_t em;
  char peer_source[96]; /* "syslog-udp:10.1.2.3": the dead letters' source */
  size_t bufsize;
  char *bufs;
  uint32_t last_overflow;
  bool have_overflow;
  uint64_t seq;
};

/* Dead letters name the sender; events keep the stream's stable source. */
static void sink_event(void *opaque, const Parry__V1__Event *ev) {
  parry_udp_source_t *s = opaque;
  parry_emit_event(&s->em, ev);
}

static void sink_reject(void *opaque, const char *source, uint64_t seq, const char *rec,
                        size_t len, const char *reason) {
  parry_udp_source_t *s = opaque;
  (void)source;
  parry_emit_reject(&s->em, s->peer_source, seq, rec, len, reason);
}

static const parry_normalize_sink_t udp_sink = {sink_event, sink_reject};

static void count_drops(parry_udp_source_t *s, const struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
    uint32_t total;
    memcpy(&total, CMSG_DATA(c), sizeof total);
    /* The kernel's count is cumulative for the socket and wraps at 2^32. */
    if (s->have_overflow && total != s->last_overflow) {
      uint32_t delta = total - s->last_overflow;
      parry_metric_add(s->drops, delta);
      LOG_DEBUG("kernel dropped %u syslog datagrams (receive buffer full)", delta);
    } else if (!s->have_overflow && total) {
      parry_metric_add(s->drops, total);
    }
    s->last_overflow = total;
    s->have_overflow = true;
  }
}

static void handle(parry_udp_source_t *s, const struct sockaddr *peer, const char *data,
                   size_t len, bool truncated, int64_t now_ns) {
  char ip[64];
  parry_sockaddr_ip(peer, ip, sizeof ip);
  if (!parry_allowlist_allows(s->allow, peer)) {
    parry_metric_add(s->refused, 1);
    unsigned long held;
    if (parry_ratelimit(&s->refused_log, &held))
      LOG_WARN("ingestor.syslog.udp: refused a datagram from %s: not in ingestor.syslog.allow"
               " (%lu more refusals not logged)",
               ip, held);
    return;
  }
  snprintf(s->peer_source, sizeof s->peer_source, "syslog-udp:%s", ip);
  parry_metric_add(s->m.records, 1);
  s->em.received_ns = now_ns;
  uint64_t seq = ++s->seq;
  size_t max = s->env->max_record;
  if (truncated || len > max) {
    char why[256];
    parry_source_frame_reason(why, sizeof why, 1 /* OVERSIZE */, len, 0, max);
    size_t kept = len < max ? len : max;
    if (kept > s->bufsize) kept = s->bufsize;
    parry_stream_reject(s->stream, data, kept, seq, why);
    return;
  }
  parry_stream_record(s->stream, data, len, seq, now_ns);
}

static void *udp_main(void *opaque) {
  parry_udp_source_t *s = opaque;
  parry_log_action("receiving syslog over UDP");
  pthread_setname_np(pthread_self(), "parry-udp");
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage peers[BATCH];
  /* Room for the SO_RXQ_OVFL counter of each datagram. */
  union {
    char buf[CMSG_SPACE(sizeof(uint32_t))];
    struct cmsghdr align;
  } control[BATCH];

  while (!atomic_load(&s->stop)) {
    struct pollfd p = {s->fd, POLLIN, 0};
    int r = poll(&p, 1, POLL_MS);
    if (r <= 0) continue;
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = s->bufs + (size_t)i * s->bufsize;
      iov[i].iov_len = s->bufsize;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &peers[i];
      msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
      msgs[i].msg_hdr.msg_control = control[i].buf;
      msgs[i].msg_hdr.msg_controllen = sizeof control[i].buf;
    }
    /* MSG_TRUNC: msg_len is the datagram's real length even when it did not
     * fit, so an oversize message is reported with its size. */
    int n = recvmmsg(s->fd, msgs, BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        LOG_ERROR("ingestor.syslog.udp: could not receive: %s", strerror(errno));
      continue;
    }
    int64_t now_ns = parry_time_now_ns();
    for (int i = 0; i < n; i++) {
      count_drops(s, &msgs[i].msg_hdr);
      size_t len = msgs[i].msg_len;
      bool truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || len > s->bufsize;
      handle(s, (struct sockaddr *)&peers[i], iov[i].iov_base, len, truncated, now_ns);
    }
  }
  return NULL;
}

parry_err_t parry_udp_source_start(const parry_source_env_t *env, const parry_allowlist_t *allow,
                                   parry_udp_source_t **out, char *errstr, size_t errstr_size) {
  const char *listen = parry_config_str(env->cfg, "ingestor.syslog.udp.listen");
  int fd = parry_source_bind("ingestor.syslog.udp.listen", listen, SOCK_DGRAM, errstr, errstr_size);
  if (fd < 0) return PARRY_ERR_IO;

  int rcvbuf = (int)parry_config_int(env->cfg, "ingestor.syslog.udp.receive_buffer");
  int one = 1, got = 0;
  socklen_t got_len = sizeof got;
  /* SO_RCVBUFFORCE passes net.core.rmem_max when we may (CAP_NET_ADMIN). */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &got_len);
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0)
    LOG_WARN("ingestor.syslog.udp: the kernel does not count dropped datagrams "
             "(SO_RXQ_OVFL: %s); parry_ingestor_udp_drops_total stays 0",
             strerror(errno));

  parry_udp_source_t *s = parry_xnew(parry_udp_source_t, 1);
  s->env = env;
  s->allow = allow;
  s->fd = fd;
  s->port = parry_source_bound_port(fd);
  atomic_init(&s->stop, false);
  parry_source_metrics_init(&s->m, env->metrics, "syslog-udp");
  s->drops = parry_metrics_counter(env->metrics, "parry_ingestor_udp_drops_total",
                                   "Syslog datagrams the kernel dropped because the receive "
                                   "buffer was full (SO_RXQ_OVFL)",
                                   NULL);
  s->refused = parry_metrics_counter(env->metrics, "parry_ingestor_auth_failures_total",
                                     "Peers refused: not in the allowlist, bad token, failed "
                                     "TLS handshake or client certificate",
                                     "source", "syslog-udp", "reason", "allowlist", NULL);
  s->bufsize = env->max_record + 1 < DATAGRAM_MAX ? env->max_record + 1 : DATAGRAM_MAX;
  s->bufs = parry_xmalloc(s->bufsize * BATCH);
  snprintf(s->peer_source, sizeof s->peer_source, "syslog-udp");
  char name[300];
  snprintf(name, sizeof name, "syslog-udp:%s", listen);
  s->stream = parry_stream_new(env->normalizer, name, &udp_sink, s);
  s->em = (parry_emitter_t){.pub = env->pub, .metrics = &s->m};

  if (pthread_create(&s->thread, NULL, udp_main, s) != 0) {
    parry_udp_source_stop(s);
    return parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                      "ingestor.syslog.udp: could not start its thread");
  }
  s->started = true;
  LOG_INFO("syslog over UDP on port %u (ingestor.syslog.udp.listen=%s, receive buffer %d bytes)",
           s->port, listen, got);
  *out = s;
  return PARRY_OK;
}

uint16_t parry_udp_source_port(const parry_udp_source_t *s) { return s->port; }

void parry_udp_source_stop(parry_udp_source_t *s) {
  if (!s) return;
  atomic_store(&s->stop, true);
  if (s->started) pthread_join(s->thread, NULL);
  close(s->fd);
  parry_stream_destroy(s->stream);
  free(s->bufs);
  free(s);
}
