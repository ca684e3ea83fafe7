/* A small MaxMind DB for `parry dev`, so that the example runbooks' GeoIP
 * steps have something to look up: the documentation ranges the generator's
 * attackers and scanners come from, with invented places (no real database
 * knows these ranges). Written here rather than by a script so that the
 * demo needs nothing beyond the binary.
 *
 * The format (MaxMind DB File Format Specification 2.0): a binary search
 * tree over the address bits, two records of 24 bits per node (a node
 * number, node_count for "not found", or node_count + 16 + an offset into
 * the data section); 16 zero bytes; the data section (typed values: a
 * control byte with the type in its top 3 bits, or 0 and an extended type
 * byte, and the size in its low 5 bits); then the marker
 * "\xAB\xCD\xEFMaxMind.com" and the metadata map. IPv4 only. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "parry/mem.h"

/* Data types. */
enum { T_STRING = 2, T_DOUBLE = 3, T_UINT16 = 5, T_UINT32 = 6, T_MAP = 7, T_UINT64 = 9,
       T_ARRAY = 11 };

const dev_geo_net_t dev_geo_demo_networks[] = {
    {"203.0.113.0/24", "FR", "France", "Paris", 48.8566, 2.3522, 64500, "Example Transit"},
    {"198.51.100.0/24", "DE", "Germany", "Berlin", 52.5, 13.375, 64501, "Example Hosting"},
    {"192.0.2.0/24", "NL", "Netherlands", "Amsterdam", 52.375, 4.875, 64502, "Example Cloud"},
};
const size_t dev_geo_demo_count = sizeof dev_geo_demo_networks / sizeof *dev_geo_demo_networks;

static void ctrl(parry_buf_t *b, int type, size_t size) {
  unsigned char c[6];
  size_t n = 0, bits;
  unsigned char extra[3];
  size_t nextra = 0;
  if (size < 29) {
    bits = size;
  } else if (size < 285) {
    bits = 29;
    extra[nextra++] = (unsigned char)(size - 29);
  } else if (size < 65821) {
    bits = 30;
    extra[nextra++] = (unsigned char)((size - 285) >> 8);
    extra[nextra++] = (unsigned char)(size - 285);
  } else {
    bits = 31;
    extra[nextra++] = (unsigned char)((size - 65821) >> 16);
    extra[nextra++] = (unsigned char)((size - 65821) >> 8);
    extra[nextra++] = (unsigned char)(size - 65821);
  }
  if (type <= 7) {
    c[n++] = (unsigned char)(type << 5 | (int)bits);
  } else { /* extended: type 0 in the control byte, type - 7 in the next */
    c[n++] = (unsigned char)bits;
    c[n++] = (unsigned char)(type - 7);
  }
  memcpy(c + n, extra, nextra);
  parry_buf_append(b, c, n + nextra);
}

static void put_string(parry_buf_t *b, const char *s) {
  ctrl(b, T_STRING, strlen(s));
  parry_buf_append_str(b, s);
}

/* Unsigned integers: big-endian, leading zero bytes left out. */
static void put_uint(parry_buf_t *b, int type, uint64_t v) {
  unsigned char be[8];
  size_t n = 0;
  for (int shift = 56; shift >= 0; shift -= 8)
    if (n || (v >> shift & 0xff)) be[n++] = (unsigned char)(v >> shift);
  ctrl(b, type, n);
  parry_buf_append(b, be, n);
}

static void put_double(parry_buf_t *b, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  unsigned char be[8];
  for (int i = 0; i < 8; i++) be[i] = (unsigned char)(bits >> (56 - 8 * i));
  ctrl(b, T_DOUBLE, 8);
  parry_buf_append(b, be, 8);
}

/* key: {"names": {"en": name}} */
static void put_names(parry_buf_t *b, const char *key, const char *name) {
  put_string(b, key);
  ctrl(b, T_MAP, 1);
  put_string(b, "names");
  ctrl(b, T_MAP, 1);
  put_string(b, "en");
  put_string(b, name);
}

/* One network's record, in the GeoLite2-City layout (plus the ASN fields of
 * GeoLite2-ASN, which the geoip connector reads from either file). */
static void put_record(parry_buf_t *b, const dev_geo_net_t *g) {
  size_t pairs = 1 + (g->city ? 1 : 0) + 1 + (g->asn ? 1 : 0) + (g->org ? 1 : 0);
  ctrl(b, T_MAP, pairs);
  put_string(b, "country");
  ctrl(b, T_MAP, 2);
  put_string(b, "iso_code");
  put_string(b, g->iso_code);
  put_string(b, "names");
  ctrl(b, T_MAP, 1);
  put_string(b, "en");
  put_string(b, g->country);
  if (g->city) put_names(b, "city", g->city);
  put_string(b, "location");
  ctrl(b, T_MAP, 2);
  put_string(b, "latitude");
  put_double(b, g->latitude);
  put_string(b, "longitude");
  put_double(b, g->longitude);
  if (g->asn) {
    put_string(b, "autonomous_system_number");
    put_uint(b, T_UINT32, g->asn);
  }
  if (g->org) {
    put_string(b, "autonomous_system_organization");
    put_string(b, g->org);
  }
}

/* Tree: each node's two children are -1 (empty), a node index, or a data
 * offset marked by LEAF. */
#define LEAF ((int64_t)1 << 40)

typedef struct {
  int64_t c[2];
} node_t;

static bool parse_cidr(const char *cidr, uint32_t *addr, int *len) {
  char ip[32];
  const char *slash = strchr(cidr, '/');
  if (!slash || (size_t)(slash - cidr) >= sizeof ip) return false;
  memcpy(ip, cidr, (size_t)(slash - cidr));
  ip[slash - cidr] = '\0';
  struct in_addr a;
  if (inet_pton(AF_INET, ip, &a) != 1) return false;
  char *end;
  long l = strtol(slash + 1, &end, 10);
  if (*end || l < 1 || l > 32) return false;
  *addr = ntohl(a.s_addr);
  *len = (int)l;
  return true;
}

bool dev_mmdb_write(const char *path, const dev_geo_net_t *nets, size_t n, char *errstr,
                    size_t errstr_size) {
  parry_buf_t data = PARRY_BUF_INIT(0), file = PARRY_BUF_INIT(0);
  node_t *nodes = parry_xnew(node_t, 1);
  size_t nnodes = 1, cap = 1;
  nodes[0].c[0] = nodes[0].c[1] = -1;
  bool ok = false;
  for (size_t i = 0; i < n; i++) {
    uint32_t addr;
    int len;
    if (!parse_cidr(nets[i].cidr, &addr, &len)) {
      snprintf(errstr, errstr_size, "bad IPv4 network \"%s\"", nets[i].cidr);
      goto out;
    }
    int64_t off = (int64_t)data.len;
    put_record(&data, &nets[i]);
    size_t cur = 0;
    for (int depth = 0; depth < len; depth++) {
      int bit = (int)(addr >> (31 - depth) & 1);
      int64_t child = nodes[cur].c[bit];
      if (depth == len - 1) {
        if (child != -1) {
          snprintf(errstr, errstr_size, "network %s overlaps another", nets[i].cidr);
          goto out;
        }
        nodes[cur].c[bit] = LEAF + off;
        break;
      }
      if (child >= LEAF) {
        snprintf(errstr, errstr_size, "network %s overlaps another", nets[i].cidr);
        goto out;
      }
      if (child == -1) {
        if (nnodes == cap) {
          cap *= 2;
          nodes = parry_xreallocarray(nodes, cap, sizeof *nodes);
        }
        nodes[nnodes].c[0] = nodes[nnodes].c[1] = -1;
        child = (int64_t)nnodes++;
        nodes[cur].c[bit] = child;
      }
      cur = (size_t)child;
    }
  }
  /* Records are 24 bits: the tree and the data must fit under 2^24. */
  if (nnodes + 16 + data.len >= (1u << 24)) {
    snprintf(errstr, errstr_size, "database too large for 24-bit records");
    goto out;
  }
  for (size_t i = 0; i < nnodes; i++)
    for (int k = 0; k < 2; k++) {
      int64_t c = nodes[i].c[k];
      uint32_t v = c == -1 ? (uint32_t)nnodes
                   : c >= LEAF ? (uint32_t)(nnodes + 16 + (size_t)(c - LEAF))
                               : (uint32_t)c;
      unsigned char rec[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8),
                              (unsigned char)v};
      parry_buf_append(&file, rec, 3);
    }
  static const unsigned char zeros[16];
  parry_buf_append(&file, zeros, sizeof zeros);
  parry_buf_append(&file, data.data ? data.data : "", data.len);
  parry_buf_append(&file, "\xab\xcd\xef" "MaxMind.com", 14);
  ctrl(&file, T_MAP, 9);
  put_string(&file, "node_count");
  put_uint(&file, T_UINT32, nnodes);
  put_string(&file, "record_size");
  put_uint(&file, T_UINT16, 24);
  put_string(&file, "ip_version");
  put_uint(&file, T_UINT16, 4);
  put_string(&file, "database_type");
  put_string(&file, "Parry-Dev-City");
  put_string(&file, "languages");
  ctrl(&file, T_ARRAY, 1);
  put_string(&file, "en");
  put_string(&file, "binary_format_major_version");
  put_uint(&file, T_UINT16, 2);
  put_string(&file, "binary_format_minor_version");
  put_uint(&file, T_UINT16, 0);
  put_string(&file, "build_epoch");
  put_uint(&file, T_UINT64, (uint64_t)time(NULL));
  put_string(&file, "description");
  ctrl(&file, T_MAP, 1);
  put_string(&file, "en");
  put_string(&file, "parry dev: invented places for documentation address ranges");
  {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      snprintf(errstr, errstr_size, "could not write %s", path);
      goto out;
    }
    ok = write(fd, file.data, file.len) == (ssize_t)file.len;
    ok = close(fd) == 0 && ok;
    if (!ok) snprintf(errstr, errstr_size, "could not write %s", path);
  }
out:
  free(nodes);
  parry_buf_free(&data);
  parry_buf_free(&file);
  return ok;
}
