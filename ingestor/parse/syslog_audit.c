/* Linux audit records, bare (/var/log/audit/audit.log) or inside a syslog
 * message (audispd's syslog plugin):
 *
 *   [node=N ]type=USER_AUTH msg=audit(1373129280.000:9): pid=1277 uid=0
 *     auid=4294967295 ses=4294967295 subj=... msg='op=pubkey acct="root"
 *     exe="/usr/sbin/sshd" hostname=? addr=194.228.20.113 terminal=ssh
 *     res=failed'[\x1dUID="root" AUID="unset"]
 *
 * Every key=value pair, the nested msg='...' ones included, is kept at the
 * top level under auditd's own name, as Sigma's auditd rules expect
 * (type, exe, a0, key, ...). On top of that: user.name from acct (auditd
 * hex-encodes values with spaces or quotes, "28756E6B6E6F776E207573657229"
 * is "(unknown user)"), source from addr, process.pid and .executable, and
 * the outcome from res. Action: "audit-" and the record type in kebab case
 * ("audit-user-auth").
 *
 * Keys that would collide with the Event's typed objects (user, host, ...)
 * are skipped, as are keys with characters auditd never writes: a key is
 * what a Sigma rule names, and it must stay a valid, unique JSON key.
 */
#include <string.h>

#include "auth_msg.h"

static bool key_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '-';
}

static bool sep(char ch) { return ch == ' ' || ch == '\x1d'; }

static bool reserved(span_t k) {
  static const char *const names[] = {"event", "source", "destination", "user", "host",
                                      "process", "message", "logsource", "schema_version", NULL};
  for (int i = 0; names[i]; i++)
    if (strlen(names[i]) == k.n && memcmp(names[i], k.p, k.n) == 0) return true;
  return false;
}

static bool is_key(span_t k, const char *name) {
  return strlen(name) == k.n && memcmp(name, k.p, k.n) == 0;
}

typedef struct {
  span_t acct, addr, exe, res, pid;
  bool acct_quoted;
} audit_fields_t;

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

/* key=value pairs of s; msg='...' recursed into once. */
static void pairs(parry_auth_ctx_t *c, Parry__V1__ValueMap *top, span_t s, audit_fields_t *f,
                  int depth) {
  size_t i = 0;
  while (i < s.n) {
    while (i < s.n && sep(s.p[i])) i++;
    size_t k0 = i;
    while (i < s.n && key_char(s.p[i])) i++;
    span_t key = span(s.p + k0, i - k0);
    if (i >= s.n || s.p[i] != '=' || !key.n) { /* a bare word ("user pid=...") */
      while (i < s.n && !sep(s.p[i])) i++;
      continue;
    }
    i++;
    span_t value;
    bool quoted = false;
    if (i < s.n && (s.p[i] == '"' || s.p[i] == '\'')) {
      char q = s.p[i++];
      const char *end = memchr(s.p + i, q, s.n - i);
      size_t e = end ? (size_t)(end - s.p) : s.n;
      value = span(s.p + i, e - i);
      i = e + 1;
      quoted = true;
      if (q == '\'' && depth == 0 && is_key(key, "msg")) {
        pairs(c, top, value, f, depth + 1);
        continue;
      }
    } else {
      size_t v0 = i;
      while (i < s.n && !sep(s.p[i])) i++;
      value = span(s.p + v0, i - v0);
    }
    if (reserved(key)) continue;
    parry_evb_value_str(c->b, parry_evb_map_put(c->b, top, key.p, key.n), value.p, value.n);
    if (is_key(key, "acct")) {
      f->acct = value;
      f->acct_quoted = quoted;
    } else if (is_key(key, "addr")) {
      f->addr = value;
    } else if (is_key(key, "exe")) {
      f->exe = value;
    } else if (is_key(key, "res")) {
      f->res = value;
    } else if (is_key(key, "pid") && !f->pid.n) {
      f->pid = value;
    }
  }
}

bool parry_syslog_audit(parry_auth_ctx_t *c, span_t m) {
  Parry__V1__ValueMap *top = parry_evb_map_at(c->b, "");
  audit_fields_t f = {0};
  if (eat(&m, LIT("node="))) {
    const char *sp = memchr(m.p, ' ', m.n);
    if (!sp) return false;
    parry_evb_value_str(c->b, parry_evb_map_put(c->b, top, LIT("node")), m.p, (size_t)(sp - m.p));
    m = skip(m, (size_t)(sp - m.p) + 1);
  }
  if (!eat(&m, LIT("type="))) return false;
  const char *sp = memchr(m.p, ' ', m.n);
  if (!sp) return false;
  span_t type = span(m.p, (size_t)(sp - m.p));
  parry_evb_value_str(c->b, parry_evb_map_put(c->b, top, LIT("type")), type.p, type.n);
  m = skip(m, type.n + 1);
  ptrdiff_t body = find(m, LIT("): "));
  if (body < 0) return false;
  pairs(c, top, skip(m, (size_t)body + 3), &f, 0);

  /* "audit-user-auth" */
  char action[64] = "audit-";
  size_t n = 6;
  for (size_t i = 0; i < type.n && n < sizeof action - 1; i++) {
    char ch = type.p[i];
    action[n++] = ch == '_' ? '-' : (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  action[n] = '\0';
  const char *outcome = "unknown";
  if (f.res.n) {
    if (starts(f.res, LIT("succ")) || starts(f.res, LIT("yes"))) outcome = "success";
    else if (starts(f.res, LIT("fail")) || starts(f.res, LIT("no"))) outcome = "failure";
  }
  const char *category = NULL;
  if (starts(type, LIT("USER_AUTH")) || starts(type, LIT("USER_ERR")) ||
      starts(type, LIT("USER_LOGIN")) || starts(type, LIT("USER_ACCT")) ||
      starts(type, LIT("CRED_")) || starts(type, LIT("ANOM_LOGIN")))
    category = "authentication";
  else if (starts(type, LIT("USER_START")) || starts(type, LIT("USER_END")) ||
           is_key(type, "LOGIN"))
    category = "session";
  parry_evb_set_logsource(c->b, "linux", "auditd", NULL);
  /* classify keeps the action it is given: the builder's copy, not the stack's */
  parry_auth_classify(c, parry_evb_text(c->b, action, n), outcome, category, NULL, "info");

  if (f.acct.n && !(f.acct.n == 1 && f.acct.p[0] == '?')) {
    bool hex = !f.acct_quoted && f.acct.n % 2 == 0;
    for (size_t i = 0; hex && i < f.acct.n; i++) hex = hexval(f.acct.p[i]) >= 0;
    if (hex) {
      char *decoded = parry_arena_alloc(c->b->arena, f.acct.n / 2);
      for (size_t i = 0; i < f.acct.n / 2; i++)
        decoded[i] = (char)(hexval(f.acct.p[2 * i]) * 16 + hexval(f.acct.p[2 * i + 1]));
      parry_auth_user(c, span(decoded, f.acct.n / 2));
    } else {
      parry_auth_user(c, f.acct);
    }
  }
  if (f.addr.n && !(f.addr.n == 1 && f.addr.p[0] == '?')) parry_auth_source(c, f.addr, 0);
  if (f.exe.n) parry_auth_field(c, "process.executable", f.exe);
  uint32_t pid;
  size_t used;
  if (f.pid.n && parry_auth_uint(f.pid, &pid, &used) && used == f.pid.n)
    parry_evb_set_process_pid(c->b, pid);
  return true;
}
