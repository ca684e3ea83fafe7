#include "allow.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

typedef struct {
  int family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  unsigned prefix; /* bits */
} block_t;

struct parry_allowlist {
  block_t *v;
  size_t n;
};

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The address bytes of a socket address, IPv4-mapped IPv6 turned into IPv4.
 * Returns the family, or 0 for anything else (a Unix socket). */
static int address_bytes(const struct sockaddr *sa, uint8_t out[16]) {
  if (sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return AF_INET;
  }
  if (sa->sa_family == AF_INET6) {
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (memcmp(a, v4_mapped_prefix, 12) == 0) {
      memcpy(out, a + 12, 4);
      return AF_INET;
    }
    memcpy(out, a, 16);
    return AF_INET6;
  }
  return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits) {
  unsigned full = bits / 8, rest = bits % 8;
  if (memcmp(a, b, full) != 0) return false;
  if (!rest) return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

static bool parse_block(const char *text, block_t *b) {
  char host[64];
  const char *slash = strchr(text, '/');
  size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
  if (hlen == 0 || hlen >= sizeof host) return false;
  memcpy(host, text, hlen);
  host[hlen] = '\0';
  memset(b, 0, sizeof *b);
  if (inet_pton(AF_INET, host, b->addr) == 1) {
    b->family = AF_INET;
    b->prefix = 32;
  } else if (inet_pton(AF_INET6, host, b->addr) == 1) {
    b->family = AF_INET6;
    b->prefix = 128;
    if (memcmp(b->addr, v4_mapped_prefix, 12) == 0) { /* ::ffff:a.b.c.d/N */
      memmove(b->addr, b->addr + 12, 4);
      memset(b->addr + 4, 0, 12);
      b->family = AF_INET;
      b->prefix = 32;
    }
  } else {
    return false;
  }
  if (slash) {
    const char *p = slash + 1;
    unsigned bits = 0;
    if (!*p) return false;
    for (; *p; p++) {
      if (*p < '0' || *p > '9' || bits > 128) return false;
      bits = bits * 10 + (unsigned)(*p - '0');
    }
    unsigned most = b->family == AF_INET ? 32 : 128;
    /* A mapped block keeps its IPv6 prefix length, less the 96 mapped bits. */
    if (b->family == AF_INET && strchr(host, ':')) {
      if (bits < 96) return false;
      bits -= 96;
    }
    if (bits > most) return false;
    b->prefix = bits;
  }
  return true;
}

parry_err_t parry_allowlist_parse(const char *spec, const char *what, parry_allowlist_t **out,
                                  char *errstr, size_t errstr_size) {
  parry_allowlist_t *list = parry_xnew(parry_allowlist_t, 1);
  char *copy = parry_xstrdup(spec ? spec : ""), *save = NULL;
  parry_err_t err = PARRY_OK;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ' || *tok == '\t') tok++;
    size_t n = strlen(tok);
    while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) tok[--n] = '\0';
    if (!n) continue;
    block_t b;
    if (!parse_block(tok, &b)) {
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "%s: \"%s\" is not an IP address or a CIDR block (ADDRESS/BITS)", what,
                       tok);
      goto out;
    }
    list->v = parry_xreallocarray(list->v, list->n + 1, sizeof *list->v);
    list->v[list->n++] = b;
  }
out:
  free(copy);
  if (err) {
    parry_allowlist_destroy(list);
    return err;
  }
  *out = list;
  return PARRY_OK;
}

void parry_allowlist_destroy(parry_allowlist_t *list) {
  if (!list) return;
  free(list->v);
  free(list);
}

size_t parry_allowlist_size(const parry_allowlist_t *list) { return list ? list->n : 0; }

bool parry_allowlist_allows(const parry_allowlist_t *list, const struct sockaddr *addr) {
  uint8_t a[16];
  int family = address_bytes(addr, a);
  if (!list || !family) return false;
  for (size_t i = 0; i < list->n; i++)
    if (list->v[i].family == family && prefix_match(a, list->v[i].addr, list->v[i].prefix))
      return true;
  return false;
}

void parry_sockaddr_ip(const struct sockaddr *addr, char *out, size_t out_size) {
  uint8_t a[16];
  int family = address_bytes(addr, a);
  if (!family || !inet_ntop(family, a, out, (socklen_t)out_size)) snprintf(out, out_size, "?");
}
