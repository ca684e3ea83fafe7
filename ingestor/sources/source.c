#include "source.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "parry/http.h"
#include "sources/framing.h"

bool parry_ratelimit(parry_ratelimit_t *rl, unsigned long *suppressed) {
  int64_t now = parry_now_ms();
  if (now - rl->window_start >= PARRY_RATELIMIT_WINDOW_MS) {
    rl->window_start = now;
    rl->in_window = 0;
  }
  if (rl->in_window >= PARRY_RATELIMIT_BURST) {
    rl->suppressed++;
    return false;
  }
  rl->in_window++;
  *suppressed = rl->suppressed;
  rl->suppressed = 0;
  return true;
}

void parry_source_os_error(int err, char *out, size_t out_size) {
  snprintf(out, out_size, "%s", strerror(err));
  if (out[0] && isupper((unsigned char)out[0]) && !isupper((unsigned char)out[1]))
    out[0] = (char)tolower((unsigned char)out[0]);
}

int parry_source_bind(const char *setting, const char *address, int type, char *errstr,
                      size_t errstr_size) {
  struct sockaddr_storage addr;
  char why[256];
  if (parry_parse_listen(address, &addr, why, sizeof why) != PARRY_OK) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s: %s", setting, why);
    return -1;
  }
  int fd = socket(addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    parry_source_os_error(errno, why, sizeof why);
    parry_fail(errstr, errstr_size, PARRY_ERR_IO, "%s: could not create a socket for %s: %s",
               setting, address, why);
    return -1;
  }
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  socklen_t len = addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                             : sizeof(struct sockaddr_in);
  if (bind(fd, (struct sockaddr *)&addr, len) != 0) {
    parry_source_os_error(errno, why, sizeof why);
    parry_fail(errstr, errstr_size, PARRY_ERR_IO, "%s: could not bind %s: %s", setting, address,
               why);
    close(fd);
    return -1;
  }
  if (type == SOCK_STREAM && listen(fd, 512) != 0) {
    parry_source_os_error(errno, why, sizeof why);
    parry_fail(errstr, errstr_size, PARRY_ERR_IO, "%s: could not listen on %s: %s", setting,
               address, why);
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t parry_source_bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

void parry_source_frame_reason(char *out, size_t out_size, int kind, size_t total,
                               size_t declared, size_t max_record) {
  switch ((parry_frame_kind_t)kind) {
  case PARRY_FRAME_OVERSIZE:
    snprintf(out, out_size,
             "message of %zu bytes exceeds ingestor.max_record_size (%zu); the first %zu bytes "
             "are kept here",
             total, max_record, max_record);
    break;
  case PARRY_FRAME_TRUNCATED:
    snprintf(out, out_size,
             "connection closed %zu bytes into an octet-counted frame of %zu bytes (RFC 6587)",
             total, declared);
    break;
  case PARRY_FRAME_GARBAGE:
    snprintf(out, out_size,
             "octet-counting framing (RFC 6587) expected \"LENGTH SPACE\" here; skipped %zu "
             "bytes to the next newline",
             total);
    break;
  case PARRY_FRAME_RECORD:
    snprintf(out, out_size, "record");
    break;
  }
}
