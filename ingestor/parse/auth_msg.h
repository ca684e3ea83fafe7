/* What the syslog parser's message parsers share (private to
 * ingestor/parse/syslog*.c and auth_*.c): the context they fill, the
 * per-connection memory of sshd, and small byte-matching helpers.
 *
 * Message parsers match with memcmp/memchr on (pointer, length) spans, never
 * regular expressions and never NUL-terminated scans of the record: they run
 * for every line of the benchmark's hot path, and records are not
 * NUL-terminated.
 */
#ifndef PARRY_AUTH_MSG_H
#define PARRY_AUTH_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parser.h"
#include "syslog_header.h"

/* What sshd said earlier about one of its connections (one sshd process,
 * one client), so later lines that omit the client address can be
 * attributed: "Disconnecting: Too many authentication failures [preauth]"
 * names no address, the "Connection from A port P" line before it did. */
#define PARRY_CONN_ADDR_MAX 64
typedef struct {
  uint64_t key;     /* hash of host and pid; 0 = free slot */
  uint32_t port;
  uint8_t addr_len; /* 0: address unknown */
  bool pending;     /* a failure was reported before the address was known */
  char addr[PARRY_CONN_ADDR_MAX];
} parry_conn_t;

typedef struct {
  parry_parse_t *p;
  parry_evb_t *b;
  const parry_syslog_header_t *h;
  parry_conn_t *conn; /* this connection's memory, NULL if there is none yet */
  /* Set by the helpers below, read by the dispatcher. */
  bool has_source; /* the line itself named the client address: */
  parry_span_t source; /* that address, as recorded */
  uint32_t source_port;
  bool failure;    /* event.outcome is "failure" */
} parry_auth_ctx_t;

/* ---- spans ------------------------------------------------------------- */

typedef parry_span_t span_t;

#define LIT(s) (s), (sizeof(s) - 1)

static inline span_t span(const char *p, size_t n) { return (span_t){p, n}; }

static inline bool starts(span_t s, const char *lit, size_t n) {
  return s.n >= n && memcmp(s.p, lit, n) == 0;
}
static inline bool ends(span_t s, const char *lit, size_t n) {
  return s.n >= n && memcmp(s.p + s.n - n, lit, n) == 0;
}
static inline span_t skip(span_t s, size_t n) { return span(s.p + n, s.n - n); }
/* Drop a literal prefix / suffix if present. */
static inline bool eat(span_t *s, const char *lit, size_t n) {
  if (!starts(*s, lit, n)) return false;
  *s = skip(*s, n);
  return true;
}
static inline bool eat_end(span_t *s, const char *lit, size_t n) {
  if (!ends(*s, lit, n)) return false;
  s->n -= n;
  return true;
}
static inline span_t trim_end(span_t s) {
  while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) s.n--;
  return s;
}
static inline span_t trim_start(span_t s) {
  while (s.n && s.p[0] == ' ') s = skip(s, 1);
  return s;
}
/* Offset of lit in s, or -1. Most literals here start with a space, which
 * is everywhere in a message: scanning for the second byte (memchr) and
 * checking around it is several times cheaper than memmem's setup. */
static inline ptrdiff_t find(span_t s, const char *lit, size_t n) {
  if (s.n < n) return -1;
  if (n < 2) {
    const char *f = n ? memchr(s.p, lit[0], s.n) : s.p;
    return f ? f - s.p : -1;
  }
  const char *p = s.p + 1, *end = s.p + s.n - n + 2; /* where lit[1] may be */
  while (p < end && (p = memchr(p, lit[1], (size_t)(end - p))) != NULL) {
    if (p[-1] == lit[0] && memcmp(p + 1, lit + 2, n - 2) == 0) return p - 1 - s.p;
    p++;
  }
  return -1;
}
/* Offset of the last occurrence of lit in s, or -1. */
ptrdiff_t parry_auth_rfind(span_t s, const char *lit, size_t n);
/* A decimal number of 1..9 digits at the start of s (bounded, so no
 * overflow); *used gets the digits' length. */
bool parry_auth_uint(span_t s, uint32_t *out, size_t *used);
/* s is a whole port number (1..65535). */
bool parry_auth_port(span_t s, uint32_t *out);
/* A port number (1..65535) at the start of s; *used gets its length. */
bool parry_auth_port_prefix(span_t s, uint32_t *out, size_t *used);

/* ---- event helpers ------------------------------------------------------- */

/* The ECS classification every recognised line gets: one or two
 * categories, one type, action and outcome (static strings: action is kept,
 * not copied, so it must be a literal or text of c's builder). */
void parry_auth_classify(parry_auth_ctx_t *c, const char *action, const char *outcome,
                         const char *category, const char *category2, const char *type);
/* source.address (and source.ip when it is an IP), port 0 for none. An
 * IPv4-mapped IPv6 address ("::ffff:1.2.3.4", what sshd logs on a dual-stack
 * socket) is recorded as the IPv4 address it is, so both spellings of one
 * client group together. */
void parry_auth_source(parry_auth_ctx_t *c, span_t addr, uint32_t port);
/* user.name, kept exactly as logged: an empty name is recorded as "" (the
 * typed field cannot hold an empty string, so it goes to fields). */
void parry_auth_user(parry_auth_ctx_t *c, span_t user);
/* Inline, so that a literal path stays one for parry_evb_field_str. */
static inline void parry_auth_field(parry_auth_ctx_t *c, const char *path, span_t value) {
  parry_evb_field_str(c->b, path, value.p ? value.p : "", value.n);
}

/* ---- message parsers (true: recognised) ------------------------------------ */

bool parry_auth_sshd(parry_auth_ctx_t *c, span_t msg);
bool parry_auth_dropbear(parry_auth_ctx_t *c, span_t msg);
/* pam_*(SERVICE:TYPE): ..., "(pam_unix) ...", and the old PROG(pam_unix)
 * tag (module given, msg without the module prefix). */
bool parry_auth_pam(parry_auth_ctx_t *c, span_t msg, span_t module);
/* pam_unix's "logname=L uid=N euid=N tty=T ruser=R rhost=H[  user=U]":
 * source from rhost, user.name from user (or ruser). */
void parry_auth_pam_fields(parry_auth_ctx_t *c, span_t kv);
bool parry_auth_sudo(parry_auth_ctx_t *c, span_t msg);
bool parry_auth_su(parry_auth_ctx_t *c, span_t msg);
/* A Linux audit record ("type=... msg=audit(...): ..."). */
bool parry_syslog_audit(parry_auth_ctx_t *c, span_t msg);

#endif
