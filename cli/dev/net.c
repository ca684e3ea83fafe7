/* Loopback plumbing for `parry dev`: free ports, small HTTP calls to the
 * services (health, metrics, the ingestor's event endpoint), Prometheus
 * text, and a syslog TCP connection. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev.h"

int dev_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

static size_t collect(char *p, size_t size, size_t n, void *opaque) {
  parry_buf_t *b = opaque;
  if (b && parry_buf_append(b, p, size * n) != PARRY_OK) return 0;
  return size * n;
}

static long perform(CURL *c, parry_buf_t *out, int timeout_ms) {
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* loopback only, whatever the environment */
  long code = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

long dev_http_get(int port, const char *path, parry_buf_t *out, int timeout_ms) {
  CURL *c = curl_easy_init();
  if (!c) return 0;
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  long code = perform(c, out, timeout_ms);
  curl_easy_cleanup(c);
  return code;
}

long dev_http_post(const char *url, const char *token, const char *body, size_t len,
                   parry_buf_t *answer, int timeout_ms) {
  CURL *c = curl_easy_init();
  if (!c) return 0;
  char auth[512];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  struct curl_slist *h = curl_slist_append(NULL, auth);
  h = curl_slist_append(h, "Content-Type: application/x-ndjson");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  long code = perform(c, answer, timeout_ms);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return code;
}

double dev_metric_sum(const char *text, const char *name) {
  if (!text) return -1;
  size_t n = strlen(name);
  double sum = 0;
  bool found = false;
  for (const char *line = text; line && *line;) {
    const char *next = strchr(line, '\n');
    if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '{')) {
      const char *v = line + n;
      if (*v == '{') { /* labels: the closing brace outside quoted values */
        bool quoted = false;
        for (v++; *v && *v != '\n' && (quoted || *v != '}'); v++) {
          if (quoted && *v == '\\' && v[1]) v++;
          else if (*v == '"') quoted = !quoted;
        }
        if (*v != '}') v = NULL;
      }
      if (v) {
        sum += strtod(v + 1, NULL);
        found = true;
      }
    }
    line = next ? next + 1 : NULL;
  }
  return found ? sum : -1;
}

int dev_tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  return fd;
}

bool dev_write_all(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    buf += w;
    len -= (size_t)w;
  }
  return true;
}
