/* The generator's plan: who logs in where and when, and the attackers.
 * See gen.h for what is generated and why; gen_render.c turns the plan
 * into text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"
#include "parry/mem.h"
#include "parry/timefmt.h"

#define NS 1000000000LL
#define MS 1000000LL
#define MAX_ATTACKERS 4

/* ---- random source ---------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void gen_rng_seed(gen_rng_t *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t gen_rng_next(gen_rng_t *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint32_t gen_rng_below(gen_rng_t *r, uint32_t n) {
  return (uint32_t)(((gen_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double gen_rng_unit(gen_rng_t *r) { return (double)(gen_rng_next(r) >> 11) * 0x1.0p-53; }

/* ---- the cast ---------------------------------------------------------- */

typedef struct {
  const char *name;
  uint32_t uid;
  uint32_t ip;    /* where this person usually comes from */
  bool key;       /* logs in with a key (else a password) */
} ssh_user_t;

static const char *const ssh_user_names[] = {"alice", "bob",   "carol",   "dave", "erin",
                                             "frank", "grace", "heidi",   "ivan", "judy",
                                             "deploy", "ansible", "backup", "git"};
#define N_SSH_USERS (sizeof ssh_user_names / sizeof ssh_user_names[0])

/* What internet scanners and brute-forcers try. */
static const char *const scanner_names[] = {"admin",   "test",   "oracle", "ubuntu", "user",
                                            "guest",   "pi",     "ftpuser", "support", "hadoop",
                                            "nagios",  "tomcat", "www",    "mysql",  "steam"};
#define N_SCANNER_NAMES (sizeof scanner_names / sizeof scanner_names[0])

static const char *const win_user_names[] = {
    "jsmith",   "mjohnson", "lgarcia",  "kwilliams", "dbrown",   "ajones",  "rmiller",
    "sdavis",   "tmartinez", "pwilson", "canderson", "ethomas",  "btaylor", "nmoore",
    "hjackson", "gwhite",   "oharris",  "fmartin",   "vthompson", "ylee",   "zclark",
    "ilewis",   "urobinson", "qwalker", "xyoung",    "wallen",   "kking",   "swright",
    "dscott",   "mgreen",   "lbaker",   "jadams"};
#define N_WIN_USERS (sizeof win_user_names / sizeof win_user_names[0])

enum { WIN_DC01 = 0, WIN_DC02 = 1, WIN_FS01 = 2, WIN_APP01 = 3, WIN_RDS01 = 4 };

struct parry_gen {
  parry_gen_options_t opt;
  int64_t end;
  gen_rng_t rng;
  gen_item_t *items, discard;
  size_t n_items, cap_items;
  uint32_t next_conn, next_seq;
  ssh_user_t ssh_users[N_SSH_USERS];
  char win_ws[N_WIN_USERS][16]; /* each Windows user's workstation name */
  uint32_t win_ip[N_WIN_USERS];
  /* last typo per person and last use per scanner address: background
   * failures stay rare per entity whatever the rate, so only the attackers
   * reach a brute-force threshold */
  int64_t ssh_typo[N_SSH_USERS], win_typo[N_WIN_USERS], scanner_used[3 * 254];
  parry_gen_attacker_t attackers[MAX_ATTACKERS];
  size_t n_attackers;
  uint32_t attacker_ips[MAX_ATTACKERS];
  /* output */
  parry_buf_t text;
  parry_gen_record_t *records;
  size_t n_records, count_kind[3];
};

void parry_gen_options_default(parry_gen_options_t *o) {
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->start_ns = (parry_days_from_civil(2026, 3, 2) * 86400 + 9 * 3600) * NS;
  o->duration_ns = 600 * NS;
  o->rate = 5;
  o->formats = PARRY_GEN_SYSLOG | PARRY_GEN_WINDOWS;
}

static uint32_t ipv4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static uint16_t eph_port(parry_gen_t *g) { return (uint16_t)(32768 + gen_rng_below(&g->rng, 28232)); }

static bool is_attacker_ip(const parry_gen_t *g, uint32_t ip) {
  for (size_t i = 0; i < g->n_attackers; i++)
    if (g->attacker_ips[i] == ip) return true;
  return false;
}

#define QUIET_NS (600 * NS) /* background failures per entity: at most one burst per 10 min */

/* An address in one of the documentation ranges (RFC 5737), never an
 * attacker's, not used by another scanner in the last ten minutes: internet
 * noise that must not add up to a brute force. 0 when none is free. */
static uint32_t internet_ip(parry_gen_t *g, int64_t t) {
  static const uint32_t nets[] = {0xc0000200u, 0xc6336400u, 0xcb007100u};
  for (int tries = 0; tries < 32; tries++) {
    unsigned net = gen_rng_below(&g->rng, 3), host = gen_rng_below(&g->rng, 254);
    uint32_t ip = nets[net] | (1 + host);
    int64_t *used = &g->scanner_used[net * 254 + host];
    if (is_attacker_ip(g, ip) || (*used && t - *used < QUIET_NS)) continue;
    *used = t;
    return ip;
  }
  return 0;
}

/* Append a planned record; those outside [start, end) are left out (a
 * session that would close after the end of the run just does not). */
static gen_item_t *add(parry_gen_t *g, int64_t ts, gen_tmpl_t tmpl, int attacker) {
  if (ts < g->opt.start_ns || ts >= g->end) {
    memset(&g->discard, 0, sizeof g->discard); /* written to, never kept */
    return &g->discard;
  }
  if (g->n_items == g->cap_items) {
    g->cap_items = g->cap_items ? g->cap_items * 2 : 1024;
    g->items = parry_xreallocarray(g->items, g->cap_items, sizeof *g->items);
  }
  gen_item_t *it = &g->items[g->n_items++];
  memset(it, 0, sizeof *it);
  it->ts = ts;
  it->seq = g->next_seq++;
  it->tmpl = (uint16_t)tmpl;
  it->attacker = (uint8_t)attacker;
  if (attacker) {
    parry_gen_attacker_t *a = &g->attackers[attacker - 1];
    if (!a->first_ns || ts < a->first_ns) a->first_ns = ts;
    if (ts > a->last_ns) a->last_ns = ts;
  }
  return it;
}

static gen_item_t *ssh(parry_gen_t *g, int64_t ts, gen_tmpl_t tmpl, unsigned host, uint32_t conn,
                       uint32_t ip, uint16_t port, const char *user, int attacker) {
  gen_item_t *it = add(g, ts, tmpl, attacker);
  it->host = (uint16_t)host;
  it->conn = conn;
  it->ip = ip;
  it->port = port;
  it->user = user;
  return it;
}

static int64_t jitter_ms(parry_gen_t *g, unsigned lo, unsigned hi) {
  return (int64_t)(lo + gen_rng_below(&g->rng, hi - lo + 1)) * MS;
}

/* ---- background --------------------------------------------------------- */

/* A login that works, optionally after a mistyped password, and the session
 * closing minutes later. */
static void ssh_login(parry_gen_t *g, int64_t t, bool typo) {
  unsigned ui = gen_rng_below(&g->rng, N_SSH_USERS);
  const ssh_user_t *u = &g->ssh_users[ui];
  if (typo && g->ssh_typo[ui] && t - g->ssh_typo[ui] < QUIET_NS) typo = false;
  if (typo) g->ssh_typo[ui] = t;
  unsigned host = gen_rng_below(&g->rng, gen_ssh_host_count);
  uint32_t conn = g->next_conn++;
  uint16_t port = eph_port(g);
  bool key = u->key && !typo;
  if (typo) {
    ssh(g, t, T_SSH_PAM_AUTH_FAIL, host, conn, u->ip, port, u->name, 0);
    t += jitter_ms(g, 1500, 2500);
    ssh(g, t, T_SSH_FAILED_PW, host, conn, u->ip, port, u->name, 0);
    t += jitter_ms(g, 2000, 9000);
  }
  ssh(g, t, key ? T_SSH_ACCEPTED_KEY : T_SSH_ACCEPTED_PW, host, conn, u->ip, port, u->name, 0);
  t += jitter_ms(g, 5, 60);
  ssh(g, t, T_SSH_SESSION_OPEN, host, conn, u->ip, port, u->name, 0)->uid = u->uid;
  t += (int64_t)(20 + gen_rng_below(&g->rng, 1500)) * NS;
  ssh(g, t, T_SSH_RECV_DISCONNECT, host, conn, u->ip, port, u->name, 0);
  t += jitter_ms(g, 1, 5);
  ssh(g, t, T_SSH_DISCONNECTED_USER, host, conn, u->ip, port, u->name, 0);
  t += jitter_ms(g, 1, 5);
  ssh(g, t, T_SSH_SESSION_CLOSE, host, conn, u->ip, port, u->name, 0);
}

/* Internet background radiation: one address tries one or two user names
 * that do not exist, then goes away. */
static void ssh_scanner(parry_gen_t *g, int64_t t) {
  unsigned host = gen_rng_below(&g->rng, gen_ssh_host_count);
  uint32_t ip = internet_ip(g, t);
  if (!ip) {
    ssh_login(g, t, false);
    return;
  }
  unsigned tries = 1 + gen_rng_below(&g->rng, 2);
  for (unsigned i = 0; i < tries; i++) {
    const char *name = scanner_names[gen_rng_below(&g->rng, N_SCANNER_NAMES)];
    uint32_t conn = g->next_conn++;
    uint16_t port = eph_port(g);
    ssh(g, t, T_SSH_INVALID_USER, host, conn, ip, port, name, 0);
    t += jitter_ms(g, 100, 400);
    ssh(g, t, T_SSH_PAM_UNKNOWN, host, conn, ip, port, name, 0);
    t += jitter_ms(g, 1500, 2500);
    ssh(g, t, T_SSH_FAILED_PW_INVALID, host, conn, ip, port, name, 0);
    t += jitter_ms(g, 100, 800);
    ssh(g, t, i % 2 ? T_SSH_RECV_BYE_PREAUTH : T_SSH_CLOSED_PREAUTH_INVALID, host, conn, ip, port,
        name, 0);
    t += jitter_ms(g, 1000, 6000);
  }
}

static gen_item_t *win(parry_gen_t *g, int64_t ts, gen_tmpl_t tmpl, unsigned host,
                       const char *user, int attacker) {
  gen_item_t *it = add(g, ts, tmpl, attacker);
  it->host = (uint16_t)host;
  it->user = user;
  return it;
}

/* A network logon to the file or application server: the domain controller
 * validates the credentials (4776), the server logs the logon (4624). */
static void win_network_logon(parry_gen_t *g, int64_t t, bool typo) {
  unsigned u = gen_rng_below(&g->rng, N_WIN_USERS);
  unsigned dc = gen_rng_below(&g->rng, 2) ? WIN_DC01 : WIN_DC02;
  unsigned server = gen_rng_below(&g->rng, 2) ? WIN_FS01 : WIN_APP01;
  if (typo && g->win_typo[u] && t - g->win_typo[u] < QUIET_NS) typo = false;
  if (typo) {
    g->win_typo[u] = t;
    gen_item_t *v = win(g, t, T_WIN_4776, dc, win_user_names[u], 0);
    v->status = 0xc000006a;
    v->workstation = g->win_ws[u];
    gen_item_t *f = win(g, t + jitter_ms(g, 2, 20), T_WIN_4625, server, win_user_names[u], 0);
    f->status = 0xc000006d;
    f->substatus = 0xc000006a;
    f->logon_type = 3;
    f->workstation = g->win_ws[u];
    f->ip = g->win_ip[u];
    f->port = eph_port(g);
    t += jitter_ms(g, 3000, 12000);
  }
  gen_item_t *v = win(g, t, T_WIN_4776, dc, win_user_names[u], 0);
  v->workstation = g->win_ws[u];
  gen_item_t *l = win(g, t + jitter_ms(g, 2, 20), T_WIN_4624, server, win_user_names[u], 0);
  l->logon_type = 3;
  l->uid = u;
  l->workstation = g->win_ws[u];
  l->ip = g->win_ip[u];
  l->port = eph_port(g);
}

static void win_rdp_logon(parry_gen_t *g, int64_t t) {
  unsigned u = gen_rng_below(&g->rng, N_WIN_USERS);
  gen_item_t *l = win(g, t, T_WIN_4624, WIN_RDS01, win_user_names[u], 0);
  l->logon_type = 10;
  l->uid = u;
  l->workstation = g->win_ws[u];
  l->ip = g->win_ip[u];
  l->port = eph_port(g);
}

/* A user's workstation runs something as the backup service account. */
static void win_explicit(parry_gen_t *g, int64_t t) {
  unsigned u = gen_rng_below(&g->rng, N_WIN_USERS);
  gen_item_t *e = win(g, t, T_WIN_4648, WIN_APP01, win_user_names[u], 0);
  e->uid = u;
  e->target_server = gen_rng_below(&g->rng, 2) ? "FS01.corp.example.com" : "localhost";
  e->ip = g->win_ip[u];
  e->port = eph_port(g);
}

/* ---- attackers --------------------------------------------------------- */

static parry_gen_attacker_t *attacker(parry_gen_t *g, const char *name, const char *description,
                                      int format, uint32_t ip, const char *target) {
  parry_gen_attacker_t *a = &g->attackers[g->n_attackers];
  g->attacker_ips[g->n_attackers++] = ip;
  a->name = name;
  a->description = description;
  a->format = format;
  gen_format_ip(ip, a->source_ip);
  snprintf(a->target_host, sizeof a->target_host, "%s", target);
  a->allowlisted = (ip >> 16) == 0x0a42; /* 10.66.0.0/16 */
  a->expect_case = true;
  a->expect_block = !a->allowlisted;
  return a;
}

/* `failures` password attempts against one sshd from one address between t0
 * and t0 + span, `per_conn` per connection, as hydra/medusa run. */
static void ssh_bruteforce(parry_gen_t *g, int idx, int64_t t0, int64_t span, unsigned failures,
                           unsigned per_conn, const char *const *users, unsigned n_users,
                           const bool *user_valid) {
  parry_gen_attacker_t *a = &g->attackers[idx - 1];
  unsigned host = 0;
  for (unsigned h = 0; h < gen_ssh_host_count; h++)
    if (strcmp(gen_ssh_hosts[h], a->target_host) == 0) host = h;
  uint32_t ip = g->attacker_ips[idx - 1];
  bool seen[16] = {false};
  uint32_t conn = 0;
  uint16_t port = 0;
  for (unsigned i = 0; i < failures; i++) {
    /* evenly spread with a little jitter, never out of order */
    int64_t t = t0 + (failures > 1 ? span * (int64_t)i / (failures - 1) : 0);
    if (i && i + 1 < failures) t += jitter_ms(g, 0, (unsigned)(span / (failures * 4) / MS));
    unsigned k = (i / per_conn) % n_users;
    const char *user = users[k];
    if (i % per_conn == 0) {
      conn = g->next_conn++;
      port = eph_port(g);
      if (!user_valid[k]) ssh(g, t - 900 * MS, T_SSH_INVALID_USER, host, conn, ip, port, user, idx);
      ssh(g, t - 400 * MS, user_valid[k] ? T_SSH_PAM_AUTH_FAIL : T_SSH_PAM_UNKNOWN, host, conn, ip,
          port, user, idx);
    }
    ssh(g, t, user_valid[k] ? T_SSH_FAILED_PW : T_SSH_FAILED_PW_INVALID, host, conn, ip, port,
        user, idx);
    if (!seen[k]) {
      seen[k] = true;
      a->users++;
    }
    a->failures++;
    if (i % per_conn == per_conn - 1 || i + 1 == failures)
      ssh(g, t + jitter_ms(g, 50, 300),
          user_valid[k] ? T_SSH_CLOSED_PREAUTH : T_SSH_CLOSED_PREAUTH_INVALID, host, conn, ip,
          port, user, idx);
  }
}

/* One wrong password for each of many users, from one address, against the
 * domain controller: 4776 (credential validation) and 4625 (failed logon). */
static void win_spray(parry_gen_t *g, int idx, int64_t t0, int64_t span, unsigned users) {
  parry_gen_attacker_t *a = &g->attackers[idx - 1];
  uint32_t ip = g->attacker_ips[idx - 1];
  unsigned first = gen_rng_below(&g->rng, N_WIN_USERS);
  for (unsigned i = 0; i < users; i++) {
    int64_t t = t0 + (users > 1 ? span * (int64_t)i / (users - 1) : 0);
    const char *user = win_user_names[(first + i) % N_WIN_USERS];
    gen_item_t *v = win(g, t, T_WIN_4776, WIN_DC01, user, idx);
    v->status = 0xc000006a;
    v->workstation = "WIN-7Q4K2M9P1RT";
    gen_item_t *f = win(g, t + jitter_ms(g, 1, 15), T_WIN_4625, WIN_DC01, user, idx);
    f->status = 0xc000006d;
    f->substatus = 0xc000006a;
    f->logon_type = 3;
    f->workstation = "WIN-7Q4K2M9P1RT";
    f->ip = ip;
    f->port = eph_port(g);
    a->failures++;
    a->users++;
  }
}

static void plan_attackers(parry_gen_t *g) {
  int64_t s = g->opt.start_ns, d = g->opt.duration_ns;
  unsigned fmt = g->opt.formats;
  int64_t min_span;
  if (fmt & PARRY_GEN_SYSLOG) {
    static const char *const fast_users[] = {"root", "admin", "ubuntu"};
    static const bool fast_valid[] = {true, false, false};
    uint32_t fast_ip = ipv4(203, 0, 113, 10 + gen_rng_below(&g->rng, 200));
    attacker(g, "ssh-fast-bruteforce",
             "SSH brute force: 40 failed passwords from one address in under a minute",
             PARRY_GEN_SYSLOG, fast_ip, gen_ssh_hosts[0]);
    min_span = d / 5 < 50 * NS ? d / 5 : 50 * NS;
    ssh_bruteforce(g, (int)g->n_attackers, s + d * 15 / 100, min_span, 40, 4, fast_users, 3,
                   fast_valid);

    static const char *const slow_users[] = {"root", "git", "postgres"};
    static const bool slow_valid[] = {true, true, false};
    uint32_t slow_ip = ipv4(198, 51, 100, 10 + gen_rng_below(&g->rng, 200));
    attacker(g, "ssh-slow-bruteforce",
             "slow SSH brute force: 12 failed passwords from one address spread over about "
             "4.5 minutes, inside one 5-minute window",
             PARRY_GEN_SYSLOG, slow_ip, gen_ssh_hosts[3]);
    min_span = d * 45 / 100 < 270 * NS ? d * 45 / 100 : 270 * NS;
    ssh_bruteforce(g, (int)g->n_attackers, s + d * 35 / 100, min_span, 12, 1, slow_users, 3,
                   slow_valid);
  }
  if (fmt & PARRY_GEN_WINDOWS) {
    uint32_t spray_ip = ipv4(192, 0, 2, 10 + gen_rng_below(&g->rng, 200));
    attacker(g, "windows-password-spray",
             "password spray: one wrong password for 30 users from one address (4625, 4776)",
             PARRY_GEN_WINDOWS, spray_ip, gen_win_hosts[WIN_DC01]);
    min_span = d * 15 / 100 < 90 * NS ? d * 15 / 100 : 90 * NS;
    win_spray(g, (int)g->n_attackers, s + d * 55 / 100, min_span, 30);
  }
  if (fmt & PARRY_GEN_SYSLOG) {
    static const char *const scan_users[] = {"root", "admin"};
    static const bool scan_valid[] = {true, false};
    uint32_t ip = ipv4(10, 66, 1 + gen_rng_below(&g->rng, 250), 10 + gen_rng_below(&g->rng, 200));
    attacker(g, "ssh-allowlisted-bruteforce",
             "the internal vulnerability scanner (10.66.0.0/16) guessing SSH passwords: a case, "
             "but the runbook must not block it",
             PARRY_GEN_SYSLOG, ip, gen_ssh_hosts[1]);
    min_span = d / 10 < 40 * NS ? d / 10 : 40 * NS;
    ssh_bruteforce(g, (int)g->n_attackers, s + d * 75 / 100, min_span, 20, 5, scan_users, 2,
                   scan_valid);
  }
}

/* ---- the cast, drawn from the seed --------------------------------------- */

static void cast(parry_gen_t *g) {
  for (unsigned i = 0; i < N_SSH_USERS; i++) {
    ssh_user_t *u = &g->ssh_users[i];
    u->name = ssh_user_names[i];
    u->uid = i < 10 ? 1000 + i : 990 + i * 3;
    /* office LAN or the VPN pool */
    u->ip = gen_rng_below(&g->rng, 3) ? ipv4(10, 20, 1 + gen_rng_below(&g->rng, 8),
                                             10 + gen_rng_below(&g->rng, 240))
                                      : ipv4(192, 168, 10, 20 + gen_rng_below(&g->rng, 200));
    u->key = gen_rng_below(&g->rng, 10) < 6 || i >= 10;
  }
  for (unsigned i = 0; i < N_WIN_USERS; i++) {
    unsigned n = 100 + gen_rng_below(&g->rng, 900);
    snprintf(g->win_ws[i], sizeof g->win_ws[i], "WS-%04u", n);
    g->win_ip[i] = ipv4(10, 20, 30 + gen_rng_below(&g->rng, 4), 10 + gen_rng_below(&g->rng, 240));
  }
}

static void plan_background(parry_gen_t *g) {
  bool sys = g->opt.formats & PARRY_GEN_SYSLOG, winf = g->opt.formats & PARRY_GEN_WINDOWS;
  /* an activity writes about four records on average */
  double per_s = g->opt.rate / 4.0;
  int64_t t = g->opt.start_ns;
  for (;;) {
    double u = gen_rng_unit(&g->rng);
    t += (int64_t)(-log(1.0 - u) / per_s * (double)NS) + 1;
    if (t >= g->end) break;
    unsigned pick = gen_rng_below(&g->rng, 100);
    bool use_sys = sys && (!winf || pick < 50);
    if (use_sys) {
      unsigned k = gen_rng_below(&g->rng, 100);
      if (k < 62) ssh_login(g, t, false);
      else if (k < 78) ssh_login(g, t, true);
      else ssh_scanner(g, t);
    } else {
      unsigned k = gen_rng_below(&g->rng, 100);
      if (k < 60) win_network_logon(g, t, false);
      else if (k < 72) win_network_logon(g, t, true);
      else if (k < 86) win_rdp_logon(g, t);
      else win_explicit(g, t);
    }
  }
}

static int cmp_item(const void *pa, const void *pb) {
  const gen_item_t *a = pa, *b = pb;
  if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void render_all(parry_gen_t *g) {
  gen_render_t r;
  memset(&r, 0, sizeof r);
  gen_rng_seed(&r.rng, g->opt.seed ^ 0x5eed5eed5eed5eedULL);
  r.n_conn = g->next_conn;
  r.conn_pid = parry_xnew(uint32_t, g->next_conn + 1);
  for (unsigned h = 0; h < 16; h++) {
    r.ssh_pid[h] = 1000 + gen_rng_below(&r.rng, 30000);
    r.win_record[h] = 100000 + gen_rng_below(&r.rng, 9000000);
    r.win_lsass[h] = 500 + 4 * gen_rng_below(&r.rng, 100);
  }
  size_t *offsets = parry_xnew(size_t, g->n_items + 1);
  g->records = parry_xnew(parry_gen_record_t, g->n_items + 1);
  for (size_t i = 0; i < g->n_items; i++) {
    offsets[i] = g->text.len;
    gen_render_item(&r, &g->items[i], &g->text);
    parry_gen_record_t *rec = &g->records[i];
    rec->kind = g->items[i].tmpl >= T_WIN_4624 ? PARRY_GEN_WINDOWS : PARRY_GEN_SYSLOG;
    rec->ts_ns = g->items[i].ts;
    rec->len = g->text.len - offsets[i];
    parry_buf_append_char(&g->text, '\0');
    g->count_kind[rec->kind]++;
  }
  for (size_t i = 0; i < g->n_items; i++) g->records[i].text = g->text.data + offsets[i];
  g->n_records = g->n_items;
  free(offsets);
  free(r.conn_pid);
}

parry_gen_t *parry_gen_new(const parry_gen_options_t *o, char *errstr, size_t errstr_size) {
  if (!(o->formats & (PARRY_GEN_SYSLOG | PARRY_GEN_WINDOWS))) {
    snprintf(errstr, errstr_size, "no format chosen");
    return NULL;
  }
  if (o->duration_ns < 10 * NS || o->duration_ns > 7 * 86400 * NS) {
    snprintf(errstr, errstr_size, "duration must be between 10s and 7d");
    return NULL;
  }
  if (!(o->rate >= 0.01 && o->rate <= 100000)) {
    snprintf(errstr, errstr_size, "rate must be between 0.01 and 100000 records per second");
    return NULL;
  }
  if ((double)o->duration_ns / NS * o->rate > 50e6) {
    snprintf(errstr, errstr_size, "duration x rate over 50 million records: too much to hold");
    return NULL;
  }
  parry_gen_t *g = parry_xnew(parry_gen_t, 1);
  g->opt = *o;
  g->end = o->start_ns + o->duration_ns;
  parry_buf_init(&g->text, 0);
  gen_rng_seed(&g->rng, o->seed);
  cast(g);
  plan_attackers(g);
  plan_background(g);
  qsort(g->items, g->n_items, sizeof *g->items, cmp_item);
  render_all(g);
  return g;
}

void parry_gen_destroy(parry_gen_t *g) {
  if (!g) return;
  free(g->items);
  free(g->records);
  parry_buf_free(&g->text);
  free(g);
}

size_t parry_gen_count(const parry_gen_t *g) { return g->n_records; }
const parry_gen_record_t *parry_gen_record(const parry_gen_t *g, size_t i) {
  return i < g->n_records ? &g->records[i] : NULL;
}
size_t parry_gen_count_kind(const parry_gen_t *g, int kind) {
  return kind == PARRY_GEN_SYSLOG || kind == PARRY_GEN_WINDOWS ? g->count_kind[kind] : 0;
}
size_t parry_gen_attacker_count(const parry_gen_t *g) { return g->n_attackers; }
const parry_gen_attacker_t *parry_gen_attacker(const parry_gen_t *g, size_t i) {
  return i < g->n_attackers ? &g->attackers[i] : NULL;
}

static void json_time(parry_buf_t *out, const char *key, int64_t ns) {
  char t[PARRY_TIME_MAX_LEN];
  parry_time_format_rfc3339(ns, t);
  parry_buf_printf(out, "\"%s\": \"%s\"", key, t);
}

void parry_gen_manifest(const parry_gen_t *g, parry_buf_t *out) {
  parry_buf_printf(out, "{\n  \"seed\": %llu,\n  ", (unsigned long long)g->opt.seed);
  json_time(out, "start", g->opt.start_ns);
  parry_buf_append_str(out, ",\n  ");
  json_time(out, "end", g->end);
  parry_buf_printf(out,
                   ",\n  \"rate\": %g,\n  \"records\": {\"syslog\": %zu, \"windows\": %zu},\n"
                   "  \"allowlist\": [\"%s\"],\n  \"attackers\": [",
                   g->opt.rate, g->count_kind[PARRY_GEN_SYSLOG], g->count_kind[PARRY_GEN_WINDOWS],
                   PARRY_GEN_ALLOWLIST_CIDR);
  for (size_t i = 0; i < g->n_attackers; i++) {
    const parry_gen_attacker_t *a = &g->attackers[i];
    parry_buf_printf(out,
                     "%s\n    {\"name\": \"%s\", \"description\": \"%s\", \"format\": \"%s\", "
                     "\"source_ip\": \"%s\", \"target_host\": \"%s\", \"failures\": %u, "
                     "\"users\": %u, ",
                     i ? "," : "", a->name, a->description,
                     a->format == PARRY_GEN_SYSLOG ? "syslog" : "windows", a->source_ip,
                     a->target_host, a->failures, a->users);
    json_time(out, "first", a->first_ns);
    parry_buf_append_str(out, ", ");
    json_time(out, "last", a->last_ns);
    parry_buf_printf(out,
                     ", \"allowlisted\": %s,\n     \"expect\": {\"case\": %s, \"block\": %s}}",
                     a->allowlisted ? "true" : "false", a->expect_case ? "true" : "false",
                     a->expect_block ? "true" : "false");
  }
  parry_buf_append_str(out, "\n  ]\n}\n");
}

bool parry_gen_parse_duration(const char *s, int64_t *out_ns) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || !(v >= 0)) return false;
  int64_t unit;
  if (strcmp(end, "ms") == 0) unit = MS;
  else if (strcmp(end, "s") == 0 || *end == '\0') unit = NS;
  else if (strcmp(end, "m") == 0) unit = 60 * NS;
  else if (strcmp(end, "h") == 0) unit = 3600 * NS;
  else if (strcmp(end, "d") == 0) unit = 86400 * NS;
  else return false;
  if (v * (double)unit > 9.0e18) return false;
  *out_ns = (int64_t)(v * (double)unit);
  return true;
}
