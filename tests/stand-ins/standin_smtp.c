/* The SMTP stand-in: enough of RFC 5321 for libcurl's client. EHLO
 * advertises STARTTLS (a self-signed certificate for 127.0.0.1/localhost,
 * generated at start and written to --cert-out so a client can trust it)
 * and AUTH PLAIN LOGIN. With --user/--password, MAIL needs a successful
 * AUTH. Recipients tell it to fail: <fail-CODE@…> is refused with that code,
 * <slow-MS@…> is accepted after MS milliseconds, <hang@…> never answered.
 * Each accepted message is recorded as one NDJSON line:
 *   {"time", "helo", "tls", "auth_user", "auth_password", "mail_from",
 *    "rcpt_to": [...], "data"}
 * One thread per connection: tests and `parry dev` send a handful. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "standin.h"

static const standin_opts_t *opts;
static SSL_CTX *tls_ctx;

/* ---- a self-signed certificate, made at start ---- */

static SSL_CTX *make_tls(const char *cert_out) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  SSL_CTX *ctx = NULL;
  if (!key || !x) goto out;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400L);
  X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
  X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                                            "IP:127.0.0.1,DNS:localhost");
  X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
  if (san) X509_add_ext(x, san, -1);
  if (bc) X509_add_ext(x, bc, -1);
  X509_EXTENSION_free(san);
  X509_EXTENSION_free(bc);
  if (!X509_sign(x, key, EVP_sha256())) goto out;
  ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    SSL_CTX_free(ctx);
    ctx = NULL;
    goto out;
  }
  if (cert_out) {
    FILE *f = fopen(cert_out, "w");
    if (f) {
      PEM_write_X509(f, x);
      fclose(f);
    }
  }
out:
  X509_free(x);
  EVP_PKEY_free(key);
  return ctx;
}

/* ---- connection I/O, plain or TLS ---- */

typedef struct {
  int fd;
  SSL *ssl;
  char buf[8192];
  size_t len;
} conn_t;

static ssize_t c_read(conn_t *c, char *dst, size_t n) {
  if (c->ssl) {
    int r = SSL_read(c->ssl, dst, (int)n);
    return r > 0 ? r : -1;
  }
  return read(c->fd, dst, n);
}

static void c_write(conn_t *c, const char *s) {
  if (c->ssl) SSL_write(c->ssl, s, (int)strlen(s));
  else if (write(c->fd, s, strlen(s)) < 0) return;
}

/* One line without CRLF; false at EOF. Lines longer than the buffer are cut. */
static bool c_line(conn_t *c, char *out, size_t n) {
  for (;;) {
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl) {
      size_t l = (size_t)(nl - c->buf);
      size_t copy = l < n - 1 ? l : n - 1;
      memcpy(out, c->buf, copy);
      out[copy] = 0;
      if (copy && out[copy - 1] == '\r') out[copy - 1] = 0;
      memmove(c->buf, nl + 1, c->len - l - 1);
      c->len -= l + 1;
      return true;
    }
    if (c->len == sizeof c->buf) c->len = 0; /* overlong line: drop it */
    ssize_t r = c_read(c, c->buf + c->len, sizeof c->buf - c->len);
    if (r <= 0) return false;
    c->len += (size_t)r;
  }
}

static size_t unb64(const char *in, unsigned char *out, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned v = 0;
  int bits = 0;
  size_t o = 0;
  for (; *in && *in != '='; in++) {
    const char *p = strchr(t, *in);
    if (!p) continue;
    v = v << 6 | (unsigned)(p - t);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < n) out[o++] = (unsigned char)(v >> bits);
    }
  }
  return o;
}

static void b64(const char *s, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t len = strlen(s), o = 0;
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned)(unsigned char)s[i] << 16 |
                 (i + 1 < len ? (unsigned)(unsigned char)s[i + 1] << 8 : 0) |
                 (i + 2 < len ? (unsigned char)s[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? t[v & 63] : '=';
  }
  out[o] = 0;
}

typedef struct {
  char helo[2048];
  char user[2048], password[2048];
  bool authed;
  struct json_object *rcpt;
  char *from;
} session_t;

static bool check_auth(session_t *s) {
  if (!opts->user) return true;
  return strcmp(s->user, opts->user) == 0 && opts->password && strcmp(s->password, opts->password) == 0;
}

static void reset_tx(session_t *s) {
  free(s->from);
  s->from = NULL;
  json_object_put(s->rcpt);
  s->rcpt = json_object_new_array();
}

static void *session_main(void *arg) {
  conn_t *c = arg;
  session_t s = {0};
  s.rcpt = json_object_new_array();
  char line[2048];
  c_write(c, "220 parry-standin ESMTP\r\n");
  while (c_line(c, line, sizeof line)) {
    if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
      snprintf(s.helo, sizeof s.helo, "%s", line[4] ? line + 5 : "");
      if (strncasecmp(line, "HELO", 4) == 0) {
        c_write(c, "250 parry-standin\r\n");
        continue;
      }
      c_write(c, "250-parry-standin\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n");
      if (tls_ctx && !c->ssl) c_write(c, "250-STARTTLS\r\n");
      c_write(c, "250 SIZE 10485760\r\n");
    } else if (strcasecmp(line, "STARTTLS") == 0 && tls_ctx && !c->ssl) {
      c_write(c, "220 go ahead\r\n");
      c->len = 0; /* anything pipelined before TLS is discarded (RFC 3207) */
      c->ssl = SSL_new(tls_ctx);
      SSL_set_fd(c->ssl, c->fd);
      if (SSL_accept(c->ssl) != 1) break;
      s.helo[0] = 0;
      s.authed = false;
    } else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
      char b[2048];
      if (line[10] == ' ') snprintf(b, sizeof b, "%s", line + 11);
      else {
        c_write(c, "334 \r\n");
        if (!c_line(c, b, sizeof b)) break;
      }
      unsigned char raw[768];
      size_t n = unb64(b, raw, sizeof raw - 1);
      raw[n] = 0;
      /* authzid NUL authcid NUL password */
      const char *u = memchr(raw, 0, n) ? (const char *)memchr(raw, 0, n) + 1 : "";
      const char *p = u + strlen(u) + 1;
      snprintf(s.user, sizeof s.user, "%s", u);
      snprintf(s.password, sizeof s.password, "%s", (size_t)((const unsigned char *)p - raw) <= n ? p : "");
      s.authed = check_auth(&s);
      c_write(c, s.authed ? "235 2.7.0 accepted\r\n" : "535 5.7.8 bad credentials\r\n");
    } else if (strncasecmp(line, "AUTH LOGIN", 10) == 0) {
      char b[2048], e[64];
      unsigned char raw[512];
      b64("Username:", e);
      char prompt[128];
      if (line[10] == ' ') snprintf(b, sizeof b, "%s", line + 11);
      else {
        snprintf(prompt, sizeof prompt, "334 %s\r\n", e);
        c_write(c, prompt);
        if (!c_line(c, b, sizeof b)) break;
      }
      size_t n = unb64(b, raw, sizeof raw - 1);
      raw[n] = 0;
      snprintf(s.user, sizeof s.user, "%s", raw);
      b64("Password:", e);
      snprintf(prompt, sizeof prompt, "334 %s\r\n", e);
      c_write(c, prompt);
      if (!c_line(c, b, sizeof b)) break;
      n = unb64(b, raw, sizeof raw - 1);
      raw[n] = 0;
      snprintf(s.password, sizeof s.password, "%s", raw);
      s.authed = check_auth(&s);
      c_write(c, s.authed ? "235 2.7.0 accepted\r\n" : "535 5.7.8 bad credentials\r\n");
    } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
      if (opts->user && !s.authed) {
        c_write(c, "530 5.7.0 authentication required\r\n");
        continue;
      }
      reset_tx(&s);
      s.from = strdup(line + 10);
      char *gt = strchr(s.from, '>');
      if (gt) gt[1] = 0; /* drop ESMTP parameters (SIZE=...) */
      c_write(c, "250 ok\r\n");
    } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
      if (!s.from) {
        c_write(c, "503 MAIL first\r\n");
        continue;
      }
      /* Failure on request, by recipient: <fail-451@…> answers 451 (any
       * 4xx/5xx code), <slow-300@…> waits 300 ms, <hang@…> never answers. */
      const char *addr = strchr(line + 8, '<') ? strchr(line + 8, '<') + 1 : line + 8;
      if (strncmp(addr, "fail-", 5) == 0) {
        int code = atoi(addr + 5);
        char reply[64];
        snprintf(reply, sizeof reply, "%d recipient refused on request\r\n",
                 code >= 400 && code <= 599 ? code : 550);
        c_write(c, reply);
        continue;
      }
      if (strncmp(addr, "hang@", 5) == 0) {
        while (c_line(c, line, sizeof line)) {
        }
        break;
      }
      if (strncmp(addr, "slow-", 5) == 0) {
        long ms = atol(addr + 5);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
      }
      json_object_array_add(s.rcpt, json_object_new_string(line + 8));
      c_write(c, "250 ok\r\n");
    } else if (strcasecmp(line, "DATA") == 0) {
      if (!s.from || json_object_array_length(s.rcpt) == 0) {
        c_write(c, "503 need MAIL and RCPT\r\n");
        continue;
      }
      c_write(c, "354 end with .\r\n");
      size_t alloc = 4096, len = 0;
      char *data = malloc(alloc);
      bool ended = false;
      while (c_line(c, line, sizeof line)) {
        if (strcmp(line, ".") == 0) {
          ended = true;
          break;
        }
        const char *l = line[0] == '.' ? line + 1 : line; /* dot-unstuffing */
        size_t ll = strlen(l);
        if (len + ll + 3 > alloc) {
          alloc = (len + ll + 3) * 2;
          data = realloc(data, alloc);
        }
        memcpy(data + len, l, ll);
        len += ll;
        data[len++] = '\r';
        data[len++] = '\n';
      }
      if (!ended) {
        free(data);
        break;
      }
      struct json_object *rec = json_object_new_object();
      char ts[48];
      standin_now(ts, sizeof ts);
      json_object_object_add(rec, "time", json_object_new_string(ts));
      json_object_object_add(rec, "helo", json_object_new_string(s.helo));
      json_object_object_add(rec, "tls", json_object_new_boolean(c->ssl != NULL));
      json_object_object_add(rec, "auth_user", json_object_new_string(s.user));
      json_object_object_add(rec, "auth_password", json_object_new_string(s.password));
      json_object_object_add(rec, "mail_from", json_object_new_string(s.from));
      json_object_object_add(rec, "rcpt_to", json_object_get(s.rcpt));
      json_object_object_add(rec, "data", json_object_new_string_len(data, (int)len));
      standin_record(rec);
      json_object_put(rec);
      free(data);
      reset_tx(&s);
      c_write(c, "250 ok queued\r\n");
    } else if (strcasecmp(line, "RSET") == 0) {
      reset_tx(&s);
      c_write(c, "250 ok\r\n");
    } else if (strcasecmp(line, "NOOP") == 0) {
      c_write(c, "250 ok\r\n");
    } else if (strcasecmp(line, "QUIT") == 0) {
      c_write(c, "221 bye\r\n");
      break;
    } else {
      c_write(c, "502 not implemented\r\n");
    }
  }
  reset_tx(&s);
  json_object_put(s.rcpt);
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  close(c->fd);
  free(c);
  return NULL;
}

static int listen_fd = -1;

static void *accept_main(void *arg) {
  (void)arg;
  for (;;) {
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return NULL; /* shut down */
    }
    conn_t *c = calloc(1, sizeof *c);
    c->fd = fd;
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, session_main, c) != 0) {
      close(fd);
      free(c);
    }
    pthread_attr_destroy(&at);
  }
}

int standin_smtp_run(const standin_opts_t *o) {
  opts = o;
  tls_ctx = make_tls(o->cert_out);
  if (!tls_ctx) fprintf(stderr, "parry-standin: no TLS (certificate generation failed)\n");
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listen_fd, 128) != 0) {
    perror("parry-standin: smtp listen");
    return 1;
  }
  socklen_t al = sizeof addr;
  getsockname(listen_fd, (struct sockaddr *)&addr, &al);
  printf("listening 127.0.0.1:%u\n", ntohs(addr.sin_port));
  fflush(stdout);
  pthread_t acceptor;
  pthread_create(&acceptor, NULL, accept_main, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig;
  sigwait(&set, &sig);
  shutdown(listen_fd, SHUT_RDWR);
  pthread_join(acceptor, NULL);
  close(listen_fd);
  SSL_CTX_free(tls_ctx);
  return 0;
}
