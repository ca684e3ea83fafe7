/* Internals of the generator shared by its files: the seeded random source,
 * the "item" (one future record, before rendering) and the renderers.
 * Items are planned first (gen.c), sorted by event time, then rendered
 * (gen_render.c), so counters that real systems increase over time (sshd
 * pids, EventRecordID) increase in the output too. */
#ifndef PARRY_GEN_INTERNAL_H
#define PARRY_GEN_INTERNAL_H

#include <stdint.h>

#include "generate/gen.h"

/* xoshiro256** seeded through splitmix64: fast, good enough for traffic,
 * and the same sequence on every platform. */
typedef struct {
  uint64_t s[4];
} gen_rng_t;

void gen_rng_seed(gen_rng_t *r, uint64_t seed);
uint64_t gen_rng_next(gen_rng_t *r);
uint32_t gen_rng_below(gen_rng_t *r, uint32_t n); /* [0, n), n > 0 */
double gen_rng_unit(gen_rng_t *r);                 /* [0, 1) */

typedef enum {
  /* sshd (and its PAM lines), one RFC 3164 line each */
  T_SSH_ACCEPTED_PW,
  T_SSH_ACCEPTED_KEY,
  T_SSH_FAILED_PW,         /* valid user */
  T_SSH_FAILED_PW_INVALID, /* "for invalid user" */
  T_SSH_INVALID_USER,      /* "Invalid user X from A port P" */
  T_SSH_PAM_AUTH_FAIL,     /* pam_unix(sshd:auth): authentication failure */
  T_SSH_PAM_UNKNOWN,       /* pam_unix(sshd:auth): check pass; user unknown */
  T_SSH_SESSION_OPEN,
  T_SSH_SESSION_CLOSE,
  T_SSH_RECV_DISCONNECT,   /* by the user, after a session */
  T_SSH_DISCONNECTED_USER,
  T_SSH_CLOSED_PREAUTH,    /* "Connection closed by authenticating user" */
  T_SSH_CLOSED_PREAUTH_INVALID,
  T_SSH_RECV_BYE_PREAUTH,  /* "Received disconnect ...: Bye Bye [preauth]" */
  /* Windows Security, EVTX JSON */
  T_WIN_4624,
  T_WIN_4625,
  T_WIN_4648,
  T_WIN_4776,
} gen_tmpl_t;

typedef struct {
  int64_t ts;
  uint32_t seq;       /* planning order: breaks ties in ts */
  uint16_t tmpl;      /* gen_tmpl_t */
  uint16_t host;      /* index into the sshd or Windows host table */
  uint32_t conn;      /* sshd connection (one pid) or Windows logon */
  uint32_t ip;        /* client IPv4 (host order), 0 when none */
  uint16_t port;
  uint8_t logon_type; /* Windows */
  uint8_t attacker;   /* 1 + attacker index, 0 for background */
  uint32_t status, substatus; /* Windows NTSTATUS codes */
  uint32_t uid;       /* sshd session lines */
  const char *user;   /* static strings only */
  const char *workstation;
  const char *target_server; /* 4648 */
} gen_item_t;

extern const char *const gen_ssh_hosts[];
extern const unsigned gen_ssh_host_count;
extern const char *const gen_win_hosts[];
extern const unsigned gen_win_host_count;
#define GEN_WIN_DOMAIN "CORP"

/* Render items (sorted) into text; rng drives pids, record ids and other
 * per-record detail that depends on order. */
typedef struct {
  gen_rng_t rng;
  uint32_t *conn_pid; /* per connection id, 0 until first rendered */
  uint32_t n_conn;
  uint32_t ssh_pid[16];
  uint64_t win_record[16];
  uint32_t win_lsass[16];
} gen_render_t;

void gen_render_item(gen_render_t *r, const gen_item_t *it, parry_buf_t *out);
void gen_format_ip(uint32_t ip, char out[16]);

#endif
