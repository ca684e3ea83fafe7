/* The traffic generator behind `parry generate` and `parry dev`: seeded,
 * realistic sshd syslog (RFC 3164) and Windows Security logon events (the
 * EVTX-as-JSON shape, {"Event":{"System":..,"EventData":..}}), with
 * background noise and a few attackers whose expected outcome is known.
 *
 * Everything is a pure function of the options: the same seed, start,
 * duration, rate and formats give byte-identical records (no clock, no
 * locale, no hash-table order is consulted). The whole run is built in
 * memory at creation, sorted by event time, so a caller can write it,
 * send it or inspect it in any order it likes.
 *
 * Attackers (see docs/demo.md for what each should trigger):
 *   ssh-fast-bruteforce  one address, ~40 failed passwords in under a minute
 *   ssh-slow-bruteforce  one address, 12 failures spread over ~4.5 minutes
 *                        (inside one 5-minute window, below per-minute rates)
 *   windows-password-spray  one address, one wrong password for ~30 users
 *                        (4625 on the domain controller, with 4776)
 *   ssh-allowlisted-bruteforce  a scanner in 10.66.0.0/16, the range the
 *                        example runbook never blocks: a case, no block
 * Background: logins that work (password and key), the odd typo followed by
 * success, sessions closing, internet scanners trying one or two invalid
 * users (each from its own address), Windows network and RDP logons,
 * explicit-credential logons and NTLM validations.
 */
#ifndef PARRY_GEN_H
#define PARRY_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/buf.h"

enum { PARRY_GEN_SYSLOG = 1, PARRY_GEN_WINDOWS = 2 };

/* The range the generated allowlisted attacker comes from. */
#define PARRY_GEN_ALLOWLIST_CIDR "10.66.0.0/16"

typedef struct {
  uint64_t seed;
  int64_t start_ns;    /* event time of the run's beginning */
  int64_t duration_ns; /* span of event time; attackers scale into it */
  double rate;         /* background records per second, approximately */
  unsigned formats;    /* PARRY_GEN_SYSLOG | PARRY_GEN_WINDOWS */
} parry_gen_options_t;

/* seed 1, start 2026-03-02T09:00:00Z, 10 minutes, 5 records/s, both. */
void parry_gen_options_default(parry_gen_options_t *o);

typedef struct {
  int kind;         /* PARRY_GEN_SYSLOG or PARRY_GEN_WINDOWS */
  int64_t ts_ns;    /* event time */
  const char *text; /* one line, no newline, NUL-terminated */
  size_t len;
} parry_gen_record_t;

typedef struct {
  const char *name;        /* "ssh-fast-bruteforce", ... */
  const char *description; /* one sentence */
  int format;              /* PARRY_GEN_SYSLOG or PARRY_GEN_WINDOWS */
  char source_ip[16];
  char target_host[48];
  uint32_t failures;       /* failed password attempts (Failed password / 4625) */
  uint32_t users;          /* distinct user names tried */
  int64_t first_ns, last_ns;
  bool allowlisted;        /* inside PARRY_GEN_ALLOWLIST_CIDR */
  bool expect_case;        /* the example rules and runbooks open a case */
  bool expect_block;       /* ... and block the address */
} parry_gen_attacker_t;

typedef struct parry_gen parry_gen_t;

/* NULL with errstr when the options are unusable (no format, duration or
 * rate out of range). */
parry_gen_t *parry_gen_new(const parry_gen_options_t *o, char *errstr, size_t errstr_size);
void parry_gen_destroy(parry_gen_t *g);

size_t parry_gen_count(const parry_gen_t *g);
const parry_gen_record_t *parry_gen_record(const parry_gen_t *g, size_t i);
/* Records of one kind. */
size_t parry_gen_count_kind(const parry_gen_t *g, int kind);

size_t parry_gen_attacker_count(const parry_gen_t *g);
const parry_gen_attacker_t *parry_gen_attacker(const parry_gen_t *g, size_t i);

/* The manifest: options, record counts and the attackers with what they
 * should trigger, as one JSON object (pretty enough to read) + newline. */
void parry_gen_manifest(const parry_gen_t *g, parry_buf_t *out);

/* "90s", "10m", "2h", "500ms", "1d" -> nanoseconds; false when unparsable. */
bool parry_gen_parse_duration(const char *s, int64_t *out_ns);

#endif
