/* OpenSSH (sshd, sshd-session) and Dropbear messages. The action names and
 * outcome rules are listed in syslog.c's header comment; this file is the
 * how.
 *
 * Client-chosen text is everywhere in these lines: user names ("Failed
 * password for invalid user x from 1.2.3.4 port 1 ssh2 from 5.6.7.8 ..."),
 * identification strings, "client user" of hostbased auth. The address
 * sshd logs comes from the socket, so every parse anchors on the structure
 * sshd itself writes around it (usually at the end of the line) rather than
 * on the first " from " it sees: an attacker must not be able to make us
 * report someone else's address.
 */
#include <string.h>

#include "auth_msg.h"

static const char FAIL[] = "failure", OK[] = "success", UNKNOWN[] = "unknown";
static const char AUTH[] = "authentication", NET[] = "network", SESSION[] = "session";

/* The next space-delimited token of s. */
static span_t token(span_t s) {
  const char *sp = memchr(s.p, ' ', s.n);
  return span(s.p, sp ? (size_t)(sp - s.p) : s.n);
}

/* Split "ADDR" / "ADDR port N" (the whole of s) into address and port; the
 * address must be one token. */
static bool addr_port(span_t s, span_t *addr, uint32_t *port) {
  *port = 0;
  ptrdiff_t k = parry_auth_rfind(s, LIT(" port "));
  if (k >= 0 && parry_auth_port(skip(s, (size_t)k + 6), port)) s = span(s.p, (size_t)k);
  if (!s.n || memchr(s.p, ' ', s.n)) return false;
  *addr = s;
  return true;
}

/* "...[PREFIX]WHO ADDR[ port N]" where WHO is "" or one of "authenticating
 * user U ", "invalid user U ", "user U " (sshd >= 7.x). The address is the
 * last token, so U may hold anything, spaces included. */
static bool who_addr_port(parry_auth_ctx_t *c, span_t s, span_t *addr, uint32_t *port) {
  *port = 0;
  ptrdiff_t k = parry_auth_rfind(s, LIT(" port "));
  if (k >= 0 && parry_auth_port(skip(s, (size_t)k + 6), port)) s = span(s.p, (size_t)k);
  ptrdiff_t sp = parry_auth_rfind(s, LIT(" "));
  span_t a = sp < 0 ? s : skip(s, (size_t)sp + 1);
  if (!a.n) return false;
  if (sp >= 0) {
    span_t who = span(s.p, (size_t)sp);
    bool invalid = eat(&who, LIT("invalid user "));
    if (!invalid && !eat(&who, LIT("authenticating user ")) && !eat(&who, LIT("user ")))
      return false;
    parry_auth_user(c, who);
    if (invalid) parry_evb_field_bool(c->b, "ssh.invalid_user", true);
  }
  *addr = a;
  return true;
}

/* After "for ": "[invalid user ]USER from ADDR[ port N][ sshV][: INFO]".
 * USER is client-chosen for invalid users and may contain " from ... port
 * ... ssh2"; INFO (key fingerprints, hostbased's client user) may too.
 * Every " from " is a candidate; a candidate must be followed by the end or
 * ": ". The strongest shape wins (with port and protocol, over port alone,
 * over a bare address), and among equals the last: for password,
 * keyboard-interactive and none SSH-2 logs no INFO, so the real address is
 * the one at the end, and text before it belongs to the user name. */
typedef struct {
  span_t user, addr;
  uint32_t port;
  bool invalid;
} for_from_t;

static bool for_from(span_t s, for_from_t *out) {
  memset(out, 0, sizeof *out);
  out->invalid = eat(&s, LIT("invalid user "));
  int best = -1;
  size_t at = 0;
  while (at < s.n) {
    ptrdiff_t k = find(skip(s, at), LIT(" from "));
    if (k < 0) break;
    size_t from = at + (size_t)k;
    at = from + 1;
    span_t rest = skip(s, from + 6);
    span_t addr = token(rest);
    if (!addr.n) continue;
    rest = skip(rest, addr.n);
    int score = 0;
    uint32_t port = 0;
    if (eat(&rest, LIT(" port "))) {
      size_t used;
      if (!parry_auth_port_prefix(rest, &port, &used)) continue;
      rest = skip(rest, used);
      score = 1;
      if (rest.n >= 5 && starts(rest, LIT(" ssh")) && rest.p[4] >= '0' && rest.p[4] <= '9') {
        rest = skip(rest, 5);
        score = 2;
      }
    }
    if (rest.n && !starts(rest, LIT(": "))) continue;
    if (score >= best) {
      best = score;
      out->user = span(s.p, from);
      out->addr = addr;
      out->port = port;
    }
  }
  return best >= 0;
}

static void apply_for_from(parry_auth_ctx_t *c, const for_from_t *f) {
  parry_auth_user(c, f->user);
  parry_auth_source(c, f->addr, f->port);
  if (f->invalid) parry_evb_field_bool(c->b, "ssh.invalid_user", true);
}

static const char *failed_action(span_t method) {
  if (method.n == 8 && memcmp(method.p, "password", 8) == 0) return "ssh-password-failed";
  if (method.n == 9 && memcmp(method.p, "publickey", 9) == 0) return "ssh-publickey-failed";
  if (starts(method, LIT("keyboard-interactive"))) return "ssh-keyboard-interactive-failed";
  return "ssh-auth-failed";
}

/* "Failed|Accepted|Postponed|Partial METHOD for ..." (prefix eaten). */
static bool method_line(parry_auth_ctx_t *c, span_t m, char kind) {
  ptrdiff_t k = find(m, LIT(" for "));
  if (k <= 0) return false;
  span_t method = span(m.p, (size_t)k);
  if (memchr(method.p, ' ', method.n)) return false;
  for_from_t f;
  if (!for_from(skip(m, (size_t)k + 5), &f)) return false;
  switch (kind) {
  case 'F':
    parry_auth_classify(c, failed_action(method), FAIL, AUTH, NULL, "info");
    break;
  case 'A':
    parry_auth_classify(c, "ssh-accepted", OK, AUTH, SESSION, "start");
    break;
  default: /* Postponed, Partial: one step of a multi-step login */
    parry_auth_classify(c, kind == 'P' ? "ssh-auth-postponed" : "ssh-auth-partial", UNKNOWN,
                        AUTH, NULL, "info");
    break;
  }
  parry_auth_field(c, "ssh.auth_method", method);
  apply_for_from(c, &f);
  return true;
}

/* "Connection closed by", "Connection reset by", "Disconnected from" (rest
 * given): before authentication ([preauth]) they end an attempt that did not
 * log in; otherwise they end a session, or a connection whose failure was
 * logged without an address (then this line is where that failure gets its
 * address, as fail2ban also treats it). */
static bool closed_line(parry_auth_ctx_t *c, span_t rest, bool preauth) {
  span_t addr;
  uint32_t port;
  if (!who_addr_port(c, rest, &addr, &port)) return false;
  if (preauth || (c->conn && c->conn->pending && !c->conn->addr_len))
    parry_auth_classify(c, "ssh-preauth-disconnect", FAIL, AUTH, NET, "end");
  else
    parry_auth_classify(c, "ssh-connection-closed", UNKNOWN, NET, NULL, "end");
  parry_auth_source(c, addr, port);
  return true;
}

/* "Received disconnect from ADDR[ port N]:[ ]CODE: REASON". The client
 * chose to leave; it is a failed attempt before authentication, or when it
 * gives up for want of working credentials (SSH2 codes 3 "Auth fail" as
 * JSch sends it, and 14 "no more auth methods"). */
static bool received_disconnect(parry_auth_ctx_t *c, span_t s, bool preauth) {
  span_t addr = token(s);
  uint32_t port = 0;
  span_t rest = skip(s, addr.n);
  if (eat_end(&addr, LIT(":"))) { /* old: "from ADDR: CODE: ..." */
  } else if (eat(&rest, LIT(" port "))) {
    size_t used;
    if (!parry_auth_port_prefix(rest, &port, &used)) return false;
    rest = skip(rest, used);
    if (!eat(&rest, LIT(":"))) return false;
  } else {
    return false;
  }
  rest = trim_start(rest);
  uint32_t code = 0;
  size_t used = 0;
  if (parry_auth_uint(rest, &code, &used) && used < rest.n && rest.p[used] == ':') {
    parry_evb_field_int(c->b, "ssh.disconnect.code", code);
    rest = trim_start(skip(rest, used + 1));
  }
  if (rest.n) parry_auth_field(c, "ssh.disconnect.reason", rest);
  bool failed = preauth || code == 3 || code == 14;
  parry_auth_classify(c, "ssh-received-disconnect", failed ? FAIL : UNKNOWN, NET,
                      failed ? AUTH : NULL, "end");
  parry_auth_source(c, addr, port);
  return true;
}

/* "Disconnecting[ invalid|authenticating] user U ADDR port N: REASON". U
 * and REASON both carry client text (REASON may repeat user names), so the
 * first " ADDR port N: " after the user is taken. */
static bool disconnecting_user(parry_auth_ctx_t *c, span_t s) {
  bool invalid = eat(&s, LIT("invalid user "));
  if (!invalid && !eat(&s, LIT("authenticating user ")) && !eat(&s, LIT("user "))) return false;
  size_t at = 0;
  while (at < s.n) {
    ptrdiff_t k = find(skip(s, at), LIT(" port "));
    if (k < 0) return false;
    size_t p = at + (size_t)k;
    at = p + 1;
    uint32_t port;
    size_t used;
    span_t after = skip(s, p + 6);
    if (!parry_auth_port_prefix(after, &port, &used) || used >= after.n || after.p[used] != ':')
      continue;
    ptrdiff_t sp = parry_auth_rfind(span(s.p, p), LIT(" "));
    if (sp < 0) continue;
    span_t reason = trim_start(skip(after, used + 1));
    if (starts(reason, LIT("Too many authentication failures")))
      parry_auth_classify(c, "ssh-too-many-auth-failures", FAIL, AUTH, NULL, "info");
    else
      parry_auth_classify(c, "ssh-protocol-error", FAIL, AUTH, NET, "info");
    parry_auth_field(c, "ssh.reason", reason);
    parry_auth_user(c, span(s.p, (size_t)sp));
    if (invalid) parry_evb_field_bool(c->b, "ssh.invalid_user", true);
    parry_auth_source(c, span(s.p + sp + 1, p - (size_t)sp - 1), port);
    return true;
  }
  return false;
}

/* "Unable to negotiate with ADDR port N: no matching X found. Their offer: Y" */
static bool unable_to_negotiate(parry_auth_ctx_t *c, span_t s) {
  if (eat(&s, LIT("a key exchange method"))) {
    parry_auth_classify(c, "ssh-kex-failed", FAIL, NET, NULL, "info");
    return true;
  }
  if (!eat(&s, LIT("with "))) return false;
  ptrdiff_t k = find(s, LIT(": "));
  span_t addr;
  uint32_t port;
  if (k < 0 || !addr_port(span(s.p, (size_t)k), &addr, &port)) return false;
  span_t reason = skip(s, (size_t)k + 2);
  ptrdiff_t offer = find(reason, LIT(". Their offer: "));
  if (offer >= 0) {
    parry_auth_field(c, "ssh.kex.offer", skip(reason, (size_t)offer + 15));
    reason = span(reason.p, (size_t)offer);
  }
  parry_auth_classify(c, "ssh-kex-failed", FAIL, NET, NULL, "info");
  parry_auth_field(c, "ssh.reason", reason);
  parry_auth_source(c, addr, port);
  return true;
}

/* "Connection from [WHO ]ADDR port N[ on ADDR port N[ rdomain "X"]][: REASON]",
 * as "Connection from" (a new connection, LogLevel VERBOSE) and inside
 * "ssh_dispatch_run_fatal: " and "banner exchange: ". */
static bool connection_from(parry_auth_ctx_t *c, span_t s, bool opened) {
  span_t reason = {0};
  ptrdiff_t colon = find(s, LIT(": "));
  if (colon >= 0) {
    reason = skip(s, (size_t)colon + 2);
    s = span(s.p, (size_t)colon);
  }
  span_t local = {0};
  uint32_t local_port = 0;
  ptrdiff_t on = parry_auth_rfind(s, LIT(" on "));
  if (opened && on >= 0) {
    span_t l = skip(s, (size_t)on + 4);
    ptrdiff_t rd = find(l, LIT(" rdomain "));
    if (rd >= 0) l = span(l.p, (size_t)rd);
    if (addr_port(l, &local, &local_port)) s = span(s.p, (size_t)on);
  }
  span_t addr;
  uint32_t port;
  if (!who_addr_port(c, s, &addr, &port)) return false;
  if (opened) {
    parry_auth_classify(c, "ssh-connection-opened", UNKNOWN, NET, NULL, "start");
    if (local.n) {
      parry_evb_set_destination_address(c->b, local.p, local.n);
      if (local_port) parry_evb_set_destination_port(c->b, local_port);
    }
  }
  if (reason.n) parry_auth_field(c, "ssh.reason", reason);
  parry_auth_source(c, addr, port);
  return true;
}

/* "[for ][invalid user ]USER from ADDR[ via LOCAL]" of "error: PAM: ...". */
static bool pam_error(parry_auth_ctx_t *c, span_t s) {
  ptrdiff_t k = find(s, LIT(" for "));
  if (k < 0) return false;
  span_t reason = span(s.p, (size_t)k);
  s = skip(s, (size_t)k + 5);
  ptrdiff_t via = parry_auth_rfind(s, LIT(" via "));
  if (via >= 0 && !memchr(s.p + via + 5, ' ', s.n - (size_t)via - 5)) s = span(s.p, (size_t)via);
  ptrdiff_t from = parry_auth_rfind(s, LIT(" from "));
  if (from < 0) return false;
  span_t addr = skip(s, (size_t)from + 6);
  if (!addr.n || memchr(addr.p, ' ', addr.n)) return false;
  span_t user = span(s.p, (size_t)from);
  bool invalid = eat(&user, LIT("illegal user ")) || eat(&user, LIT("invalid user "));
  parry_auth_classify(c, "ssh-pam-auth-failed", FAIL, AUTH, NULL, "info");
  parry_auth_field(c, "ssh.reason", reason);
  parry_auth_user(c, user);
  if (invalid) parry_evb_field_bool(c->b, "ssh.invalid_user", true);
  parry_auth_source(c, addr, 0);
  return true;
}

/* "[Invalid|Illegal] user U from ADDR[ port N]": the address ends the line. */
static bool invalid_user(parry_auth_ctx_t *c, span_t s) {
  uint32_t port = 0;
  ptrdiff_t k = parry_auth_rfind(s, LIT(" port "));
  if (k >= 0 && parry_auth_port(skip(s, (size_t)k + 6), &port)) s = span(s.p, (size_t)k);
  ptrdiff_t from = parry_auth_rfind(s, LIT(" from "));
  if (from < 0) return false;
  span_t addr = skip(s, (size_t)from + 6);
  if (!addr.n || memchr(addr.p, ' ', addr.n)) return false;
  parry_auth_classify(c, "ssh-invalid-user", FAIL, AUTH, NULL, "info");
  parry_auth_user(c, span(s.p, (size_t)from));
  parry_evb_field_bool(c->b, "ssh.invalid_user", true);
  parry_auth_source(c, addr, port);
  return true;
}

/* "User U [from ADDR ]not allowed because REASON" (AllowUsers, DenyUsers,
 * groups, locked account, bad shell). */
static bool user_not_allowed(parry_auth_ctx_t *c, span_t s) {
  ptrdiff_t k = parry_auth_rfind(s, LIT(" not allowed because "));
  if (k < 0) return false;
  span_t who = span(s.p, (size_t)k);
  parry_auth_classify(c, "ssh-user-not-allowed", FAIL, AUTH, NULL, "info");
  parry_auth_field(c, "ssh.reason", skip(s, (size_t)k + 21));
  ptrdiff_t from = parry_auth_rfind(who, LIT(" from "));
  if (from >= 0 && !memchr(who.p + from + 6, ' ', who.n - (size_t)from - 6) &&
      who.n > (size_t)from + 6) {
    parry_auth_source(c, skip(who, (size_t)from + 6), 0);
    who = span(who.p, (size_t)from);
  }
  parry_auth_user(c, who);
  return true;
}

/* "maximum authentication attempts exceeded for ..." (OpenSSH >= 6.8) */
static bool max_attempts(parry_auth_ctx_t *c, span_t s) {
  for_from_t f;
  if (!for_from(s, &f)) return false;
  parry_auth_classify(c, "ssh-max-auth-attempts", FAIL, AUTH, NULL, "info");
  apply_for_from(c, &f);
  return true;
}

/* "reverse mapping checking getaddrinfo for NAME [ADDR] failed - POSSIBLE
 * BREAK-IN ATTEMPT!" and "Address ADDR maps to NAME, but this does not map
 * back to the address - POSSIBLE BREAK-IN ATTEMPT!": a DNS mismatch, not an
 * attempt that failed, whatever the wording says (fail2ban agrees). */
static bool reverse_mapping(parry_auth_ctx_t *c, span_t addr, span_t name) {
  if (!addr.n) return false;
  parry_auth_classify(c, "ssh-reverse-mapping-failed", UNKNOWN, NET, NULL, "info");
  if (name.n) parry_evb_field_str(c->b, "source.domain", name.p, name.n);
  parry_auth_source(c, addr, 0);
  return true;
}

/* The messages of fatal() and error(), after the prefix. */
static bool fatal_or_error(parry_auth_ctx_t *c, span_t m, bool preauth) {
  if (eat(&m, LIT("Timeout before authentication for "))) {
    span_t addr;
    uint32_t port;
    if (!addr_port(m, &addr, &port)) return false;
    parry_auth_classify(c, "ssh-auth-timeout", FAIL, AUTH, NET, "info");
    parry_auth_source(c, addr, port);
    return true;
  }
  if (eat(&m, LIT("Unable to negotiate "))) return unable_to_negotiate(c, m);
  if (starts(m, LIT("no matching "))) { /* "no matching mac found: client ... server ..." */
    ptrdiff_t k = find(m, LIT(": "));
    parry_auth_classify(c, "ssh-kex-failed", FAIL, NET, NULL, "info");
    parry_auth_field(c, "ssh.reason", k >= 0 ? span(m.p, (size_t)k) : m);
    return true;
  }
  if (eat(&m, LIT("Received disconnect from "))) return received_disconnect(c, m, preauth);
  if (eat(&m, LIT("maximum authentication attempts exceeded for "))) return max_attempts(c, m);
  if (eat(&m, LIT("PAM: "))) return pam_error(c, m);
  if (eat(&m, LIT("kex_exchange_identification: "))) {
    /* the client sent no or a malformed identification: a scanner */
    parry_auth_classify(c, "ssh-bad-identification", FAIL, NET, NULL, "info");
    parry_auth_field(c, "ssh.reason", m);
    return true;
  }
  if (starts(m, LIT("Read from socket failed: ")) || starts(m, LIT("Write failed: ")) ||
      starts(m, LIT("Read error from remote host "))) {
    if (preauth) parry_auth_classify(c, "ssh-preauth-disconnect", FAIL, AUTH, NET, "end");
    else parry_auth_classify(c, "ssh-connection-closed", UNKNOWN, NET, NULL, "end");
    parry_auth_field(c, "ssh.reason", m);
    return true;
  }
  return false;
}

bool parry_auth_sshd(parry_auth_ctx_t *c, span_t m) {
  m = trim_end(m);
  /* A kernel-style or Solaris prefix some relays put in front of the text:
   * "kernel: [  970.699396] ", "kernel:[ 1.2]: ", "[ID 800047 auth.info] ". */
  if (eat(&m, LIT("kernel:"))) {
    m = trim_start(m);
    if (starts(m, LIT("["))) {
      const char *close = memchr(m.p, ']', m.n);
      if (close) m = skip(m, (size_t)(close - m.p) + 1);
      eat(&m, LIT(":"));
      m = trim_start(m);
    }
  }
  if (starts(m, LIT("[ID "))) {
    const char *close = memchr(m.p, ']', m.n);
    if (close) m = trim_start(skip(m, (size_t)(close - m.p) + 1));
  }
  bool preauth = eat_end(&m, LIT(" [preauth]"));
  if (m.n < 8) return false;

  switch (m.p[0]) {
  case 'F':
    if (eat(&m, LIT("Failed "))) return method_line(c, m, 'F');
    break;
  case 'A':
    if (eat(&m, LIT("Accepted "))) return method_line(c, m, 'A');
    if (eat(&m, LIT("Address "))) {
      ptrdiff_t k = find(m, LIT(" maps to "));
      if (k < 0) return false;
      span_t name = skip(m, (size_t)k + 9);
      const char *comma = memchr(name.p, ',', name.n);
      return reverse_mapping(c, span(m.p, (size_t)k),
                             comma ? span(name.p, (size_t)(comma - name.p)) : span(NULL, 0));
    }
    break;
  case 'I':
    if (eat(&m, LIT("Invalid user ")) || eat(&m, LIT("Illegal user "))) return invalid_user(c, m);
    break;
  case 'C':
    if (eat(&m, LIT("Connection closed by ")) || eat(&m, LIT("Connection reset by ")))
      return closed_line(c, m, preauth);
    if (eat(&m, LIT("Connection from "))) return connection_from(c, m, true);
    break;
  case 'D':
    if (eat(&m, LIT("Disconnected from "))) return closed_line(c, m, preauth);
    if (eat(&m, LIT("Did not receive identification string from "))) {
      span_t addr;
      uint32_t port;
      if (!addr_port(m, &addr, &port)) return false;
      parry_auth_classify(c, "ssh-no-identification", FAIL, NET, NULL, "info");
      parry_auth_source(c, addr, port);
      return true;
    }
    if (eat(&m, LIT("Disconnecting: Too many authentication failures"))) {
      parry_auth_classify(c, "ssh-too-many-auth-failures", FAIL, AUTH, NULL, "info");
      if (eat(&m, LIT(" for "))) parry_auth_user(c, m);
      return true;
    }
    if (eat(&m, LIT("Disconnecting "))) return disconnecting_user(c, m);
    break;
  case 'R':
    if (eat(&m, LIT("Received disconnect from "))) return received_disconnect(c, m, preauth);
    if (eat(&m, LIT("ROOT LOGIN REFUSED FROM "))) {
      span_t addr;
      uint32_t port;
      if (!addr_port(m, &addr, &port)) return false;
      parry_auth_classify(c, "ssh-root-login-refused", FAIL, AUTH, NULL, "info");
      parry_auth_user(c, span(LIT("root")));
      parry_auth_source(c, addr, port);
      return true;
    }
    break;
  case 'U':
    if (eat(&m, LIT("User "))) return user_not_allowed(c, m);
    if (eat(&m, LIT("Unable to negotiate "))) return unable_to_negotiate(c, m);
    break;
  case 'P':
    if (eat(&m, LIT("Postponed "))) return method_line(c, m, 'P');
    if (eat(&m, LIT("Partial "))) return method_line(c, m, 'p');
    if (eat(&m, LIT("PAM service("))) {
      parry_auth_classify(c, "pam-ignoring-max-retries", UNKNOWN, AUTH, NULL, "info");
      return true;
    }
    if (starts(m, LIT("PAM ")) && find(m, LIT(" more authentication failure")) > 0) {
      /* "PAM 2 more authentication failures; logname= ... rhost=A user=U":
       * sshd's summary when MaxAuthTries is reached */
      uint32_t n;
      size_t used;
      if (!parry_auth_uint(skip(m, 4), &n, &used)) return false;
      ptrdiff_t semi = find(m, LIT("; "));
      parry_auth_classify(c, "pam-more-auth-failures", FAIL, AUTH, NULL, "info");
      parry_evb_field_int(c->b, "pam.more_failures", n);
      if (semi >= 0) parry_auth_pam_fields(c, skip(m, (size_t)semi + 2));
      return true;
    }
    break;
  case 'B':
    if (eat(&m, LIT("Bad protocol version identification "))) {
      span_t addr;
      uint32_t port = 0;
      ptrdiff_t k = parry_auth_rfind(m, LIT(" port "));
      if (k >= 0 && parry_auth_port(skip(m, (size_t)k + 6), &port)) m = span(m.p, (size_t)k);
      ptrdiff_t from = parry_auth_rfind(m, LIT(" from "));
      if (from < 0) return false;
      addr = skip(m, (size_t)from + 6);
      if (!addr.n || memchr(addr.p, ' ', addr.n)) return false;
      parry_auth_classify(c, "ssh-bad-identification", FAIL, NET, NULL, "info");
      parry_auth_source(c, addr, port);
      return true;
    }
    break;
  case 'T':
    if (eat(&m, LIT("Timeout before authentication for connection from "))) {
      span_t addr = token(m);
      if (!addr.n) return false;
      parry_auth_classify(c, "ssh-auth-timeout", FAIL, AUTH, NET, "info");
      parry_auth_source(c, addr, 0);
      return true;
    }
    break;
  case 'M':
    if (eat(&m, LIT("Magic value check failed "))) {
      /* obfuscated-SSH patch: "(N) on obfuscated handshake from A port P" */
      ptrdiff_t from = find(m, LIT(" from "));
      span_t addr;
      uint32_t port;
      if (from < 0 || !addr_port(skip(m, (size_t)from + 6), &addr, &port)) return false;
      parry_auth_classify(c, "ssh-obfuscated-handshake-failed", FAIL, NET, NULL, "info");
      parry_auth_source(c, addr, port);
      return true;
    }
    break;
  case 'S':
    if (eat(&m, LIT("SSH: Server;"))) {
      /* a patched sshd's connection log: "...;Remote: ADDR-PORT;..." */
      ptrdiff_t r = find(m, LIT("Remote: "));
      if (r < 0) return false;
      span_t v = skip(m, (size_t)r + 8);
      const char *semi = memchr(v.p, ';', v.n);
      if (semi) v = span(v.p, (size_t)(semi - v.p));
      ptrdiff_t dash = parry_auth_rfind(v, LIT("-"));
      uint32_t port = 0;
      if (dash > 0 && parry_auth_port(skip(v, (size_t)dash + 1), &port))
        v = span(v.p, (size_t)dash);
      parry_auth_classify(c, "ssh-connection-info", UNKNOWN, NET, NULL, "info");
      parry_auth_source(c, v, port);
      return true;
    }
    break;
  case 'b':
    if (eat(&m, LIT("banner exchange: Connection from "))) {
      if (!connection_from(c, m, false)) return false;
      parry_auth_classify(c, "ssh-bad-identification", FAIL, NET, NULL, "info");
      return true;
    }
    break;
  case 'e':
    if (eat(&m, LIT("error: "))) return fatal_or_error(c, m, preauth);
    break;
  case 'f':
    if (eat(&m, LIT("fatal: "))) return fatal_or_error(c, m, preauth);
    break;
  case 'i':
    if (eat(&m, LIT("input_userauth_request: invalid user "))) {
      /* logged together with "Invalid user U from A": a detail of that
       * attempt, not a second one */
      parry_auth_classify(c, "ssh-invalid-user-request", UNKNOWN, AUTH, NULL, "info");
      parry_auth_user(c, m);
      parry_evb_field_bool(c->b, "ssh.invalid_user", true);
      return true;
    }
    break;
  case 'r':
    if (eat(&m, LIT("refused connect from "))) {
      /* tcp_wrappers: "NAME (ADDR)" or "ADDR" */
      span_t addr = m;
      if (ends(m, LIT(")"))) {
        ptrdiff_t open = parry_auth_rfind(m, LIT("("));
        if (open < 0) return false;
        addr = span(m.p + open + 1, m.n - (size_t)open - 2);
      }
      if (!addr.n || memchr(addr.p, ' ', addr.n)) return false;
      parry_auth_classify(c, "ssh-refused-connect", FAIL, NET, NULL, "denied");
      parry_auth_source(c, addr, 0);
      return true;
    }
    if (eat(&m, LIT("reverse mapping checking getaddrinfo for "))) {
      ptrdiff_t open = find(m, LIT(" ["));
      if (open < 0) return false;
      span_t rest = skip(m, (size_t)open + 2);
      const char *close = memchr(rest.p, ']', rest.n);
      if (!close) return false;
      return reverse_mapping(c, span(rest.p, (size_t)(close - rest.p)), span(m.p, (size_t)open));
    }
    break;
  case 's':
    if (eat(&m, LIT("ssh_dispatch_run_fatal: Connection from "))) {
      if (!connection_from(c, m, false)) return false;
      parry_auth_classify(c, "ssh-protocol-error", FAIL, NET, NULL, "info");
      return true;
    }
    break;
  default:
    break;
  }
  return false;
}

/* ---- Dropbear ---------------------------------------------------------------- */

/* "ADDR:PORT" or "<ADDR:PORT>" (IPv6 addresses hold ':', so the port is
 * after the last one). */
static bool dropbear_addr(span_t s, span_t *addr, uint32_t *port) {
  if (starts(s, LIT("<")) && ends(s, LIT(">"))) s = span(s.p + 1, s.n - 2);
  ptrdiff_t k = parry_auth_rfind(s, LIT(":"));
  *port = 0;
  if (k > 0 && parry_auth_port(skip(s, (size_t)k + 1), port)) s = span(s.p, (size_t)k);
  if (!s.n || memchr(s.p, ' ', s.n)) return false;
  *addr = s;
  return true;
}

/* "'USER' from ADDR:PORT" (s starts at the quote), or "... user 'USER' from
 * ADDR:PORT": the address follows the last " from ", USER is quoted. */
static bool dropbear_user_from(parry_auth_ctx_t *c, span_t s) {
  ptrdiff_t from = parry_auth_rfind(s, LIT(" from "));
  span_t addr;
  uint32_t port;
  if (from < 0 || !dropbear_addr(skip(s, (size_t)from + 6), &addr, &port)) return false;
  span_t left = span(s.p, (size_t)from);
  if (left.n >= 2 && ends(left, LIT("'"))) {
    ptrdiff_t q = 0;
    if (left.p[0] != '\'') {
      q = parry_auth_rfind(left, LIT("user '"));
      if (q >= 0) q += 5;
    }
    if (q >= 0 && (size_t)q + 2 <= left.n)
      parry_auth_user(c, span(left.p + q + 1, left.n - (size_t)q - 2));
  }
  parry_auth_source(c, addr, port);
  return true;
}

bool parry_auth_dropbear(parry_auth_ctx_t *c, span_t m) {
  m = trim_end(m);
  /* Dropbear >= 2022 may repeat its pid and the time: "[825] Jul 10 23:53:52 " */
  if (starts(m, LIT("["))) {
    const char *close = memchr(m.p, ']', m.n);
    if (close && (size_t)(close - m.p) + 18 <= m.n && close[1] == ' ' && close[17] == ' ')
      m = skip(m, (size_t)(close - m.p) + 18);
  }
  if (m.n < 8) return false;
  /* Dropbear capitalised its messages in 2020; both spellings occur. */
  char first = m.p[0] >= 'a' && m.p[0] <= 'z' ? (char)(m.p[0] - 32) : m.p[0];
  span_t rest = skip(m, 1);
  if (first == 'B' && eat(&rest, LIT("ad password attempt for "))) {
    if (!dropbear_user_from(c, rest)) return false;
    parry_auth_classify(c, "ssh-password-failed", FAIL, AUTH, NULL, "info");
    parry_evb_field_str(c->b, "ssh.auth_method", LIT("password"));
    return true;
  }
  if (first == 'L' && eat(&rest, LIT("ogin attempt for nonexistent user"))) {
    ptrdiff_t from = parry_auth_rfind(rest, LIT(" from "));
    span_t addr;
    uint32_t port;
    if (from < 0 || !dropbear_addr(skip(rest, (size_t)from + 6), &addr, &port)) return false;
    span_t user = trim_start(span(rest.p, (size_t)from));
    if (user.n >= 2 && user.p[0] == '\'' && user.p[user.n - 1] == '\'')
      parry_auth_user(c, span(user.p + 1, user.n - 2));
    parry_auth_classify(c, "ssh-invalid-user", FAIL, AUTH, NULL, "info");
    parry_evb_field_bool(c->b, "ssh.invalid_user", true);
    parry_auth_source(c, addr, port);
    return true;
  }
  if (first == 'E' && eat(&rest, LIT("xit before auth"))) {
    /* "Exit before auth from <A:P>: REASON" or "Exit before auth (user 'U',
     * N fails): REASON - user 'U' from A:P" */
    bool max = find(rest, LIT("Max auth tries reached")) >= 0;
    if (eat(&rest, LIT(" from "))) {
      ptrdiff_t colon = find(rest, LIT(": "));
      span_t addr;
      uint32_t port;
      if (colon < 0 || !dropbear_addr(span(rest.p, (size_t)colon), &addr, &port)) return false;
      parry_auth_source(c, addr, port);
      ptrdiff_t u = parry_auth_rfind(rest, LIT("user '"));
      /* the closing quote must come after the opening one: a line that
       * ends in "user '" names no user (and its length would be -1) */
      if (u >= 0 && (size_t)u + 7 <= rest.n && ends(rest, LIT("'"))) {
        span_t user = span(rest.p + u + 6, rest.n - (size_t)u - 7);
        if (user.n == 10 && memcmp(user.p, "is invalid", 10) == 0)
          parry_evb_field_bool(c->b, "ssh.invalid_user", true);
        else
          parry_auth_user(c, user);
      }
    } else if (!dropbear_user_from(c, rest)) {
      return false;
    }
    if (max) parry_auth_classify(c, "ssh-max-auth-attempts", FAIL, AUTH, NULL, "info");
    else parry_auth_classify(c, "ssh-preauth-disconnect", FAIL, AUTH, NET, "end");
    return true;
  }
  if ((first == 'P' && (eat(&rest, LIT("assword auth succeeded for ")) ||
                        eat(&rest, LIT("ubkey auth succeeded for "))))) {
    if (!dropbear_user_from(c, rest)) return false;
    parry_auth_classify(c, "ssh-accepted", OK, AUTH, SESSION, "start");
    parry_evb_field_str(c->b, "ssh.auth_method", m.p[1] == 'a' ? "password" : "publickey",
                        (size_t)-1);
    return true;
  }
  if (first == 'C' && eat(&rest, LIT("hild connection from "))) {
    span_t addr;
    uint32_t port;
    if (!dropbear_addr(rest, &addr, &port)) return false;
    parry_auth_classify(c, "ssh-connection-opened", UNKNOWN, NET, NULL, "start");
    parry_auth_source(c, addr, port);
    return true;
  }
  return false;
}
