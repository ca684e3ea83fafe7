/* Linux-PAM module messages (any program), sudo and su. Action names and
 * field choices are listed in syslog.c's header comment.
 *
 * PAM's key=value lists are not escaped: ruser and user are whatever the
 * application passed (for sshd and vsftpd, what the client typed), so a
 * value may contain " rhost=1.2.3.4" (fail2ban's tests inject exactly
 * that). pam_unix writes the keys in a fixed order, which is what the
 * parse below relies on.
 */
#include <string.h>

#include "auth_msg.h"

static const char FAIL[] = "failure", OK[] = "success", UNKNOWN[] = "unknown";
static const char AUTH[] = "authentication", SESSION[] = "session";

static span_t token(span_t s) {
  const char *sp = memchr(s.p, ' ', s.n);
  return span(s.p, sp ? (size_t)(sp - s.p) : s.n);
}

/* "R rhost=H[ user=U]" after "ruser=": every " rhost=" is a candidate; the
 * first whose value is followed by the end or by "user=" is pam_unix's own
 * (ruser, set by the application, comes before it; user after it). */
static void ruser_rhost_user(parry_auth_ctx_t *c, span_t s, bool has_ruser) {
  span_t ruser = {0}, rhost = {0}, user = {0};
  bool found = false;
  size_t at = 0;
  while (at < s.n) {
    ptrdiff_t k = find(skip(s, at), LIT(" rhost="));
    if (k < 0) break;
    size_t pos = at + (size_t)k;
    at = pos + 1;
    span_t value = token(skip(s, pos + 7));
    span_t after = trim_start(skip(s, pos + 7 + value.n));
    if (after.n && !starts(after, LIT("user="))) continue;
    ruser = span(s.p, pos);
    rhost = value;
    if (after.n) user = trim_end(skip(after, 5));
    found = true;
    break;
  }
  if (!found) { /* no rhost at all: "ruser=R user=U" or just "ruser=R" */
    ptrdiff_t u = find(s, LIT(" user="));
    ruser = u >= 0 ? span(s.p, (size_t)u) : s;
    if (u >= 0) user = trim_end(skip(s, (size_t)u + 6));
  }
  ruser = trim_end(ruser);
  if (!has_ruser) ruser = span(NULL, 0);
  if (rhost.n) parry_auth_source(c, rhost, 0);
  /* ruser is the requesting user and user the account: for su and sudo the
   * one who acts and the one acted as (ECS user.name / user.target.name);
   * sshd leaves ruser empty and user is the account tried. */
  if (user.p && user.n) {
    if (ruser.n && (ruser.n != user.n || memcmp(ruser.p, user.p, user.n) != 0)) {
      parry_auth_user(c, ruser);
      parry_auth_field(c, "user.target.name", user);
    } else {
      parry_auth_user(c, user);
    }
  } else if (ruser.n) {
    parry_auth_user(c, ruser);
  }
}

void parry_auth_pam_fields(parry_auth_ctx_t *c, span_t kv) {
  kv = trim_end(kv);
  ptrdiff_t r = starts(kv, LIT("ruser=")) ? 0 : find(kv, LIT(" ruser="));
  if (r >= 0) {
    ruser_rhost_user(c, skip(kv, (size_t)r + (r ? 7 : 6)), true);
    return;
  }
  /* no ruser (other modules, older pam_unix): "... rhost=H user=U" */
  ptrdiff_t h = find(kv, LIT(" rhost="));
  if (h >= 0) {
    ruser_rhost_user(c, skip(kv, (size_t)h), false);
    return;
  }
  ptrdiff_t u = starts(kv, LIT("user=")) ? 0 : find(kv, LIT(" user="));
  if (u >= 0) parry_auth_user(c, trim_end(skip(kv, (size_t)u + (u ? 6 : 5))));
}

/* "user root(uid=0) by alice(uid=1000)" / "user root by (uid=0)" */
static void session_users(parry_auth_ctx_t *c, span_t s) {
  ptrdiff_t by = parry_auth_rfind(s, LIT(" by "));
  span_t target = by >= 0 ? span(s.p, (size_t)by) : s, actor = {0};
  if (by >= 0) actor = skip(s, (size_t)by + 4);
  ptrdiff_t paren = parry_auth_rfind(target, LIT("(uid="));
  if (paren >= 0 && ends(target, LIT(")"))) target = span(target.p, (size_t)paren);
  paren = parry_auth_rfind(actor, LIT("(uid="));
  if (paren >= 0 && ends(actor, LIT(")"))) actor = span(actor.p, (size_t)paren);
  if (actor.n && (actor.n != target.n || memcmp(actor.p, target.p, actor.n) != 0)) {
    parry_auth_user(c, actor);
    parry_auth_field(c, "user.target.name", target);
  } else {
    parry_auth_user(c, target);
  }
}

/* The Sigma logsource service of a PAM line: the program's own when the
 * dispatcher set one (sshd, sudo, su), else the PAM service, else "auth". */
static void pam_logsource(parry_auth_ctx_t *c, span_t service) {
  Parry__V1__Logsource *ls = c->b->ev->logsource;
  if (ls && ls->service && ls->service[0]) return;
  const char *svc = service.n ? parry_evb_text(c->b, service.p, service.n) : "auth";
  parry_evb_set_logsource(c->b, "linux", svc, NULL);
}

bool parry_auth_pam(parry_auth_ctx_t *c, span_t m, span_t module) {
  m = trim_end(trim_start(m));
  span_t service = {0}, type = {0};
  if (!module.n) {
    if (starts(m, LIT("(pam_"))) { /* "(pam_unix) authentication failure; ..." */
      const char *close = memchr(m.p, ')', m.n);
      if (!close) return false;
      module = span(m.p + 1, (size_t)(close - m.p) - 1);
      m = trim_start(skip(m, module.n + 2));
    } else if (starts(m, LIT("pam_"))) {
      size_t i = 4;
      while (i < m.n && m.p[i] != '(' && m.p[i] != ':' && m.p[i] != ' ') i++;
      if (i >= m.n) return false;
      module = span(m.p, i);
      if (m.p[i] == '(') { /* "(SERVICE:TYPE)" or "(TYPE)" */
        const char *close = memchr(m.p + i, ')', m.n - i);
        if (!close) return false;
        span_t in = span(m.p + i + 1, (size_t)(close - m.p) - i - 1);
        const char *colon = memchr(in.p, ':', in.n);
        if (colon) {
          service = span(in.p, (size_t)(colon - in.p));
          type = skip(in, service.n + 1);
        } else {
          type = in;
        }
        i = (size_t)(close - m.p) + 1;
      }
      if (i >= m.n || m.p[i] != ':') return false;
      m = trim_start(skip(m, i + 1));
    } else {
      return false;
    }
  }
  eat_end(&m, LIT(" [preauth]"));
  parry_auth_field(c, "pam.module", module);
  if (service.n) parry_auth_field(c, "pam.service", service);
  if (type.n) parry_auth_field(c, "pam.type", type);
  pam_logsource(c, service);

  if (eat(&m, LIT("authentication failure;"))) {
    parry_auth_classify(c, "pam-auth-failed", FAIL, AUTH, NULL, "info");
    parry_auth_pam_fields(c, trim_start(m));
  } else if (eat(&m, LIT("check pass; user unknown"))) {
    /* pam_unix's first step for an unknown account; the "authentication
     * failure" line that follows is the failure */
    parry_auth_classify(c, "pam-user-unknown", UNKNOWN, AUTH, NULL, "info");
  } else if (eat(&m, LIT("session opened for user "))) {
    parry_auth_classify(c, "pam-session-opened", OK, SESSION, NULL, "start");
    session_users(c, m);
  } else if (eat(&m, LIT("session closed for user "))) {
    parry_auth_classify(c, "pam-session-closed", UNKNOWN, SESSION, NULL, "end");
    parry_auth_user(c, m);
  } else if (eat(&m, LIT("bad username ["))) {
    parry_auth_classify(c, "pam-bad-username", FAIL, AUTH, NULL, "info");
    if (eat_end(&m, LIT("]"))) parry_auth_user(c, m);
  } else if (eat(&m, LIT("user ")) && find(m, LIT(" tally ")) > 0) {
    /* pam_tally(2): "user U (UID) tally N, deny M", logged when it denies */
    ptrdiff_t open = parry_auth_rfind(m, LIT(" ("));
    parry_auth_classify(c, "pam-account-locked", FAIL, AUTH, NULL, "info");
    if (open > 0) parry_auth_user(c, span(m.p, (size_t)open));
  } else if (eat(&m, LIT("Consecutive login failures for user "))) {
    ptrdiff_t acct = find(m, LIT(" account temporarily locked"));
    parry_auth_classify(c, "pam-account-locked", FAIL, AUTH, NULL, "info");
    if (acct > 0) parry_auth_user(c, span(m.p, (size_t)acct));
  }
  return true;
}

/* ---- sudo --------------------------------------------------------------- */

/* "USER : [STATUS ; ]TTY=t ; PWD=p ; USER=u ; COMMAND=c" (sudo <= 1.9 and
 * later). The keys are kept as sudo wrote them (Sigma's sudo rules match
 * USER), COMMAND runs to the end of the line since commands contain " ; ". */
bool parry_auth_sudo(parry_auth_ctx_t *c, span_t m) {
  m = trim_end(trim_start(m));
  ptrdiff_t k = find(m, LIT(" : "));
  if (k <= 0) return false;
  span_t user = trim_end(span(m.p, (size_t)k)), rest = skip(m, (size_t)k + 3);
  if (!user.n || memchr(user.p, ' ', user.n)) return false;
  span_t status = {0}, target = {0}, command = {0};
  Parry__V1__ValueMap *top = NULL;
  while (rest.n) {
    size_t i = 0;
    while (i < rest.n && ((rest.p[i] >= 'A' && rest.p[i] <= 'Z') || rest.p[i] == '_')) i++;
    bool is_key = i > 0 && i < rest.n && rest.p[i] == '=';
    span_t key = span(rest.p, i);
    span_t value;
    if (is_key && i == 7 && memcmp(key.p, "COMMAND", 7) == 0) {
      value = skip(rest, 8);
      rest = span(NULL, 0);
    } else {
      ptrdiff_t semi = find(rest, LIT(" ; "));
      value = semi >= 0 ? span(rest.p, (size_t)semi) : rest;
      rest = semi >= 0 ? skip(rest, (size_t)semi + 3) : span(NULL, 0);
      if (is_key) value = skip(value, i + 1);
    }
    if (!is_key) {
      if (!status.n) status = value;
      continue;
    }
    if (!top) top = parry_evb_map_at(c->b, "");
    parry_evb_value_str(c->b, parry_evb_map_put(c->b, top, key.p, key.n), value.p, value.n);
    if (key.n == 4 && memcmp(key.p, "USER", 4) == 0) target = value;
    if (key.n == 7 && memcmp(key.p, "COMMAND", 7) == 0) command = value;
  }
  parry_evb_set_logsource(c->b, "linux", "sudo", NULL);
  if (!status.n) {
    parry_auth_classify(c, "sudo-command", OK, "process", NULL, "start");
  } else {
    uint32_t n = 0;
    size_t used = 0;
    if (parry_auth_uint(status, &n, &used) && find(status, LIT("incorrect password attempt")) > 0) {
      parry_auth_classify(c, "sudo-auth-failed", FAIL, AUTH, NULL, "info");
      parry_evb_field_int(c->b, "sudo.incorrect_attempts", n);
    } else if (find(status, LIT("NOT in sudoers")) >= 0) {
      parry_auth_classify(c, "sudo-not-in-sudoers", FAIL, AUTH, NULL, "info");
    } else if (starts(status, LIT("command not allowed"))) {
      parry_auth_classify(c, "sudo-command-not-allowed", FAIL, AUTH, NULL, "info");
    } else if (starts(status, LIT("a password is required"))) {
      parry_auth_classify(c, "sudo-password-required", FAIL, AUTH, NULL, "info");
    } else {
      parry_auth_classify(c, "sudo-denied", FAIL, AUTH, NULL, "info");
    }
    parry_auth_field(c, "sudo.reason", status);
  }
  parry_auth_user(c, user);
  if (target.n) parry_auth_field(c, "user.target.name", target);
  if (command.n) parry_evb_set_command_line(c->b, command.p, command.n);
  return true;
}

/* ---- su ------------------------------------------------------------------ */

/* shadow-utils: "FAILED su for T by U", "Successful su for T by U";
 * util-linux and BSD: "(to T) U on TTY", "FAILED SU (to T) U on TTY",
 * "+ TTY U:T", "- TTY U:T"; util-linux with PAM: "pam_authenticate: ...". */
bool parry_auth_su(parry_auth_ctx_t *c, span_t m) {
  m = trim_end(trim_start(m));
  span_t actor = {0}, target = {0};
  const char *outcome;
  bool failed_su = eat(&m, LIT("FAILED su for "));
  bool failed_to = !failed_su && eat(&m, LIT("FAILED SU (to "));
  if (failed_su || eat(&m, LIT("Successful su for "))) {
    ptrdiff_t by = parry_auth_rfind(m, LIT(" by "));
    if (by < 0) return false;
    target = span(m.p, (size_t)by);
    actor = skip(m, (size_t)by + 4);
    outcome = failed_su ? FAIL : OK;
  } else if (failed_to || eat(&m, LIT("(to "))) {
    outcome = failed_to ? FAIL : OK;
    const char *close = memchr(m.p, ')', m.n);
    if (!close) return false;
    target = span(m.p, (size_t)(close - m.p));
    span_t rest = trim_start(skip(m, target.n + 1));
    ptrdiff_t on = parry_auth_rfind(rest, LIT(" on "));
    actor = on >= 0 ? span(rest.p, (size_t)on) : rest;
    if (on >= 0) parry_auth_field(c, "su.tty", skip(rest, (size_t)on + 4));
  } else if (m.n > 2 && (m.p[0] == '+' || m.p[0] == '-') && m.p[1] == ' ') {
    span_t rest = skip(m, 2);
    const char *sp = memchr(rest.p, ' ', rest.n);
    if (!sp) return false;
    span_t pair = skip(rest, (size_t)(sp - rest.p) + 1);
    ptrdiff_t colon = parry_auth_rfind(pair, LIT(":"));
    if (colon < 0) return false;
    parry_auth_field(c, "su.tty", span(rest.p, (size_t)(sp - rest.p)));
    actor = span(pair.p, (size_t)colon);
    target = skip(pair, (size_t)colon + 1);
    outcome = m.p[0] == '+' ? OK : FAIL;
  } else if (eat(&m, LIT("pam_authenticate: "))) {
    parry_evb_set_logsource(c->b, "linux", "su", NULL);
    parry_auth_classify(c, "su-failed", FAIL, AUTH, NULL, "info");
    parry_auth_field(c, "su.reason", m);
    return true;
  } else {
    return false;
  }
  parry_evb_set_logsource(c->b, "linux", "su", NULL);
  if (outcome == OK) parry_auth_classify(c, "su-accepted", OK, AUTH, SESSION, "start");
  else parry_auth_classify(c, "su-failed", FAIL, AUTH, NULL, "info");
  parry_auth_user(c, actor);
  parry_auth_field(c, "user.target.name", target);
  return true;
}
