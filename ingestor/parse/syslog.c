/* The syslog parser ("syslog"): one syslog line (or Linux audit record) in,
 * one Event out -- or N for "message repeated N times".
 *
 * What is recognised
 * ------------------
 * Headers (syslog_header.c has the details and the reasons): RFC 3164 with
 * or without <PRI>, host, pid, year or fraction; BSD "<auth.info>"; dates in
 * brackets; RFC 3339 times as rsyslog writes them; RFC 5424 with structured
 * data and BOM; "HOST PROG[PID]: MSG" journal exports; Linux audit records.
 * Time: RFC 3164 times carry neither year nor zone, so the configured rule
 * applies (time.syslog_utc_offset, and the year of the time the record was
 * read unless that lands more than time.syslog_max_future ahead, then the
 * year before: a "Dec 31" line read on Jan 1 is last year's; see
 * parry/timefmt.h). RFC 3339 and RFC 5424 times keep their own offset; ISO
 * times without one get the syslog offset.
 *
 * Messages, by program and then by their first bytes:
 *   sshd, sshd-session, sshd-auth   OpenSSH, every variant in fail2ban's and
 *                                   CrowdSec's tests and loghub's OpenSSH log
 *   dropbear                        Dropbear
 *   sudo, su                        commands, failures, switches
 *   pam_*(...) / (pam_unix) / PROG(pam_unix)   Linux-PAM, in any program
 *   type=... msg=audit(...)         Linux audit records
 *   CEF:...                         handed to parry_cef_parse_into (cef.c)
 *   anything else                   a plain event: time, host, process,
 *                                   message, logsource linux/syslog
 * A line with a syslog header is never rejected for its message (CEF that
 * cef.c finds malformed excepted: its reason is given). What is rejected is
 * a line that is not syslog at all (with --format syslog) or whose header
 * cannot be read, with the reason: "no syslog timestamp at offset 0 ...",
 * "invalid RFC 3164 timestamp at offset 0 ...", "RFC 5424 structured data:
 * ...", "... outside the years 1678..2261" (what an Event can carry).
 *
 * Fields
 * ------
 * Always: @timestamp (the read time when the line has none), event.kind
 * "event", message (the whole record, as DESIGN.md asks: keyword rules
 * search it), logsource.product "linux"; when the header has them,
 * host.name, process.name (the program, APP-NAME for RFC 5424) and
 * process.pid. Solaris' "[ID n fac.sev]" before a message is skipped.
 * With a PRI: log.syslog.priority, .facility.code/.name, .severity.code/.name
 * (also from BSD's "<4.3>"/"<auth.info>"). RFC 5424: log.syslog.version,
 * .appname, .msgid, .procid (when not a number), .structured_data.{SD-ID}.
 * {PARAM} (values unescaped; a repeated SD-ID or PARAM keeps the last).
 * Recognised messages add event.category, event.type (ECS values),
 * event.action, event.outcome, source.ip/.address/.port, user.name,
 * user.target.name (sudo/su/PAM: the account acted as), process.command_line
 * (sudo's COMMAND), and vendor detail: ssh.auth_method, ssh.invalid_user,
 * ssh.reason, ssh.disconnect.{code,reason}, ssh.kex.offer, pam.{module,
 * service,type,more_failures}, sudo.{reason,incorrect_attempts}, sudo's own
 * TTY/PWD/USER/GROUP/COMMAND keys (Sigma's sudo rules match USER), su.tty,
 * auditd's own keys. logsource.service: sshd, dropbear, sudo, su, auditd,
 * the PAM service (or "auth") for PAM lines of other programs, cron /
 * vsftpd / clamav / guacamole for those programs, else syslog.
 *
 * Actions (event.action; outcome in brackets: F failure, S success, U unknown)
 *   ssh-password-failed, ssh-publickey-failed, ssh-keyboard-interactive-failed,
 *   ssh-auth-failed (other methods: none, hostbased, gssapi-*, unknown)  [F]
 *       "Failed METHOD for [invalid user ]U from A port P ssh2"; Dropbear's
 *       "Bad password attempt for 'U' from A:P"
 *   ssh-accepted [S]          "Accepted METHOD for U from A port P ssh2",
 *                             Dropbear's "... auth succeeded for 'U' from A:P"
 *   ssh-auth-postponed, ssh-auth-partial [U]   steps of a multi-step login
 *   ssh-invalid-user [F]      "Invalid user U from A", Dropbear's "Login
 *                             attempt for nonexistent user"
 *   ssh-invalid-user-request [U]  "input_userauth_request: invalid user U":
 *                             logged with the line above, not a second try
 *   ssh-user-not-allowed [F]  "User U from A not allowed because ..."
 *   ssh-root-login-refused [F]
 *   ssh-pam-auth-failed [F]   "error: PAM: Authentication failure for U from A"
 *   ssh-max-auth-attempts [F] "error: maximum authentication attempts
 *                             exceeded", Dropbear's "Max auth tries reached"
 *   ssh-too-many-auth-failures [F]  "Disconnecting: Too many authentication
 *                             failures", "Disconnecting invalid user ..."
 *   ssh-preauth-disconnect [F]  the client left before authenticating:
 *                             "Connection closed|reset by ... [preauth]",
 *                             "Disconnected from ... [preauth]", "fatal: Read
 *                             from socket failed ... [preauth]", Dropbear's
 *                             "Exit before auth" (without Max auth tries)
 *   ssh-connection-closed [U] the same without [preauth] (end of a session)
 *   ssh-received-disconnect   [F] before authentication or with SSH2 code 3
 *                             or 14 (the client ran out of credentials), else [U]
 *   ssh-no-identification, ssh-bad-identification [F]  scanners: "Did not
 *                             receive identification string", "Bad protocol
 *                             version identification", kex_exchange_identification,
 *                             "banner exchange: ... invalid format"
 *   ssh-kex-failed [F]        "Unable to negotiate ...", "no matching ... found"
 *   ssh-auth-timeout [F]      "Timeout before authentication"
 *   ssh-protocol-error [F]    ssh_dispatch_run_fatal, "Change of username ..."
 *   ssh-obfuscated-handshake-failed [F]
 *   ssh-refused-connect [F]   tcp_wrappers "refused connect from"
 *   ssh-reverse-mapping-failed [U]  "POSSIBLE BREAK-IN ATTEMPT": a DNS
 *                             mismatch about the client, not a failed attempt
 *   ssh-connection-opened [U] "Connection from A port P on B port Q"
 *                             (destination.* is the server side)
 *   ssh-connection-info [U]   a patched sshd's "SSH: Server;...;Remote: A-P"
 *   pam-auth-failed [F]       "pam_X(SVC:auth): authentication failure; ..."
 *   pam-more-auth-failures [F]  sshd's "PAM N more authentication failures"
 *   pam-user-unknown [U]      "check pass; user unknown" (the failure line
 *                             follows)
 *   pam-bad-username [F], pam-account-locked [F] (pam_tally, faillock)
 *   pam-ignoring-max-retries [U]
 *   pam-session-opened [S], pam-session-closed [U]
 *   sudo-command [S], sudo-auth-failed, sudo-not-in-sudoers,
 *   sudo-command-not-allowed, sudo-password-required, sudo-denied [F]
 *   su-accepted [S], su-failed [F]
 *   audit-<type> (audit-user-auth, ...) [from res=]
 *   syslog-repeat-marker [U]  "last message repeated N times"
 * The outcome says whether what this line reports failed. A line that only
 * restates, in the same component's words, an attempt another line reports
 * is [U] (input_userauth_request after "Invalid user", pam_unix's "check
 * pass; user unknown" before its "authentication failure"). Different
 * components each report their own view of one attempt, and both are
 * failures: a password tried through PAM gives pam-auth-failed (pam_unix)
 * and ssh-password-failed (sshd). Count attempts by event.action, not by
 * outcome alone. Unrecognised lines of these programs are still events,
 * with no action or outcome.
 *
 * Choices, and why
 * ----------------
 * - Addresses: every parse anchors on the structure sshd writes around the
 *   socket address, never on the first " from " (client text can contain
 *   one; see auth_sshd.c). "::ffff:1.2.3.4" is recorded as 1.2.3.4.
 * - Connection memory: sshd often names the client only on the first line
 *   of a connection ("Connection from A port P", "Invalid user U from A")
 *   and not on later ones ("Disconnecting: Too many authentication failures
 *   [preauth]", "pam_unix(sshd:session): session opened"). The stream keeps
 *   the last address per (host, sshd pid) and gives it to later lines of the
 *   same process that name none. A failure reported before any address is
 *   known marks the connection, and its closing "Connection closed by A"
 *   then counts as the failure it ends (fail2ban gh-3086 does the same).
 *   Bounded: PARRY_SYSLOG_CONNS slots per stream, a new connection evicts
 *   the one in its slot; allocated only when an sshd/Dropbear line comes.
 *   Entries are not dropped when a connection ends (the session lines that
 *   follow want the address), so after pid reuse a line that names no
 *   client can get the previous connection's address until the new one
 *   names its own -- which its first lines normally do.
 * - The last RFC 3164 time of a stream is cached (same 15 bytes, same
 *   reference time: exact), as consecutive lines mostly share their second.
 * - "message repeated N times: [ MSG]" (rsyslog) is N events of MSG, each
 *   with its own id and syslog.repeat_count N, at most PARRY_SYSLOG_MAX_REPEAT
 *   of them (a hostile count must not turn one line into a flood; the count
 *   field keeps the claimed number). "last message repeated N times" names
 *   no message: repeating the previous record would mean buffering every
 *   record on the hot path and guessing which earlier line a relay meant, so
 *   it is one event, syslog-repeat-marker, with the count.
 * - An empty user name ("Invalid user  from A") is kept as "" in fields: the
 *   typed user.name cannot hold an empty string.
 * - Speed: no regex, no allocation but the record's arena, matching by
 *   program then by the first bytes of the message, memcmp/memchr only.
 */
#include <stdlib.h>
#include <string.h>

#include "auth_msg.h"
#include "parry/mem.h"
#include "parser.h"
#include "syslog_header.h"

#define PARRY_SYSLOG_MAX_REPEAT 1000
#define PARRY_SYSLOG_CONNS 512 /* a power of two */

/* CEF lives in cef.c; until it is linked in, CEF in syslog is a plain
 * syslog event. A weak definition, so the real one wins when present. */
__attribute__((weak)) parry_err_t parry_cef_parse_into(parry_parse_t *p, parry_evb_t *b,
                                                       const char *msg, size_t len, char *errstr,
                                                       size_t errstr_size) {
  (void)p, (void)b, (void)msg, (void)len;
  return parry_fail(errstr, errstr_size, PARRY_ERR_UNSUPPORTED, "no CEF parser in this build");
}

/* ---- per-stream state: sshd connections ------------------------------------ */

typedef struct {
  parry_syslog_time_cache_t time; /* the normalizer's rule is fixed per stream */
  parry_conn_t *conns;            /* PARRY_SYSLOG_CONNS slots, allocated on first use */
} syslog_state_t;

static void *state_new(const parry_parse_config_t *config) {
  (void)config;
  return parry_xnew(syslog_state_t, 1);
}

static void state_free(void *opaque) {
  syslog_state_t *st = opaque;
  if (!st) return;
  free(st->conns);
  free(st);
}

static uint64_t conn_key(span_t host, int64_t pid) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the host, then the pid mixed in */
  for (size_t i = 0; i < host.n; i++) h = (h ^ (unsigned char)host.p[i]) * 0x100000001b3ULL;
  h ^= (uint64_t)pid * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  return h ? h : 1;
}

static parry_conn_t *conn_slot(syslog_state_t *st, uint64_t key, bool create) {
  if (!st->conns) {
    if (!create) return NULL;
    st->conns = parry_xnew(parry_conn_t, PARRY_SYSLOG_CONNS);
  }
  parry_conn_t *c = &st->conns[key & (PARRY_SYSLOG_CONNS - 1)];
  if (c->key == key) return c;
  if (!create) return NULL;
  memset(c, 0, sizeof *c);
  c->key = key;
  return c;
}

/* ---- header fields ------------------------------------------------------------- */

static const char *const facility_names[24] = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog",   "lpr",          "news",
    "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "security", "console",      "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5",   "local6",       "local7"};
static const char *const severity_names[8] = {"emergency", "alert",  "critical",      "error",
                                              "warning",   "notice", "informational", "debug"};

static void set_pri(parry_evb_t *b, int pri) {
  parry_evb_field_int(b, "log.syslog.priority", pri);
  parry_evb_field_int(b, "log.syslog.facility.code", pri / 8);
  parry_evb_field_str(b, "log.syslog.facility.name", facility_names[pri / 8], (size_t)-1);
  parry_evb_field_int(b, "log.syslog.severity.code", pri % 8);
  parry_evb_field_str(b, "log.syslog.severity.name", severity_names[pri % 8], (size_t)-1);
}

/* BSD syslogd -v "<4.3>" (codes) or -vv "<auth.info>" (names). */
static void set_bsd_prio(parry_evb_t *b, span_t v) {
  const char *dot = memchr(v.p, '.', v.n);
  span_t fac = span(v.p, (size_t)(dot - v.p)), sev = skip(v, fac.n + 1);
  uint32_t f, s;
  size_t fu, su;
  if (parry_auth_uint(fac, &f, &fu) && fu == fac.n && parry_auth_uint(sev, &s, &su) &&
      su == sev.n && f < 24 && s < 8) {
    parry_evb_field_int(b, "log.syslog.facility.code", f);
    parry_evb_field_str(b, "log.syslog.facility.name", facility_names[f], (size_t)-1);
    parry_evb_field_int(b, "log.syslog.severity.code", s);
    parry_evb_field_str(b, "log.syslog.severity.name", severity_names[s], (size_t)-1);
  } else {
    parry_evb_field_str(b, "log.syslog.facility.name", fac.p, fac.n);
    parry_evb_field_str(b, "log.syslog.severity.name", sev.p, sev.n);
  }
}

static void set_5424(parry_evb_t *b, const parry_syslog_header_t *h) {
  parry_evb_field_int(b, "log.syslog.version", 1);
  if (h->app.n) parry_evb_field_str(b, "log.syslog.appname", h->app.p, h->app.n);
  if (h->procid.n) parry_evb_field_str(b, "log.syslog.procid", h->procid.p, h->procid.n);
  if (h->msgid.n) parry_evb_field_str(b, "log.syslog.msgid", h->msgid.p, h->msgid.n);
  if (!h->sd.n) return;
  Parry__V1__ValueMap *sd = parry_evb_map_at(b, "log.syslog.structured_data");
  size_t pos = 0;
  parry_syslog_sd_element_t el;
  while (parry_syslog_sd_next(h->sd, &pos, &el)) {
    Parry__V1__Value *element = parry_evb_map_put(b, sd, el.id.p, el.id.n);
    Parry__V1__ValueMap *params = parry_evb_value_map(b, element);
    size_t ppos = 0;
    span_t name, value;
    while (parry_syslog_sd_param_next(el.params, &ppos, &name, &value)) {
      char *text = parry_arena_alloc(b->arena, value.n + 1);
      size_t n = parry_syslog_sd_unescape(value, text);
      parry_evb_value_str(b, parry_evb_map_put(b, params, name.p, name.n), text, n);
    }
  }
}

/* ---- programs -------------------------------------------------------------------- */

typedef enum { PROG_OTHER, PROG_SSHD, PROG_DROPBEAR, PROG_SUDO, PROG_SU } prog_t;

static bool span_is(span_t s, const char *lit, size_t n) {
  return s.n == n && memcmp(s.p, lit, n) == 0;
}

static prog_t program(span_t app) {
  /* "/usr/sbin/sshd" is how some relays name it */
  const char *slash = app.n ? memrchr(app.p, '/', app.n) : NULL;
  if (slash) app = skip(app, (size_t)(slash - app.p) + 1);
  switch (app.n ? app.p[0] : 0) {
  case 's':
    if (span_is(app, LIT("sshd")) || span_is(app, LIT("sshd-session")) ||
        span_is(app, LIT("sshd-auth")))
      return PROG_SSHD;
    if (span_is(app, LIT("sudo"))) return PROG_SUDO;
    if (span_is(app, LIT("su"))) return PROG_SU;
    return PROG_OTHER;
  case 'd':
    return span_is(app, LIT("dropbear")) ? PROG_DROPBEAR : PROG_OTHER;
  default:
    return PROG_OTHER;
  }
}

/* The Sigma logsource service of a program we have no parser for. */
static const char *generic_service(span_t app) {
  if (span_is(app, LIT("cron")) || span_is(app, LIT("CRON")) || span_is(app, LIT("crond")) ||
      span_is(app, LIT("anacron")))
    return "cron";
  if (span_is(app, LIT("vsftpd"))) return "vsftpd";
  if (span_is(app, LIT("clamd")) || span_is(app, LIT("freshclam")) || starts(app, LIT("clamav")))
    return "clamav";
  if (span_is(app, LIT("guacd"))) return "guacamole";
  if (span_is(app, LIT("auditd")) || span_is(app, LIT("audispd"))) return "auditd";
  return "syslog";
}

static bool looks_audit_msg(span_t m) {
  return (starts(m, LIT("type=")) || starts(m, LIT("node="))) && find(m, LIT(" msg=audit(")) > 0;
}

/* Give the message its meaning. Fails only when a part that claims a
 * format (CEF) is malformed; *emitted says the CEF parser emitted the Event
 * itself. */
static parry_err_t dispatch(parry_auth_ctx_t *c, span_t msg, prog_t prog, bool *emitted,
                            char *errstr, size_t errstr_size) {
  const parry_syslog_header_t *h = c->h;
  msg = trim_start(msg);
  if (starts(msg, LIT("[ID "))) { /* Solaris' message id: "[ID 800047 auth.info] " */
    const char *close = memchr(msg.p, ']', msg.n);
    if (close) msg = trim_start(skip(msg, (size_t)(close - msg.p) + 1));
  }
  if (h->module.n) { /* "sshd(pam_unix)[1]: authentication failure; ..." */
    parry_auth_pam(c, msg, h->module);
    return PARRY_OK;
  }
  if (msg.n >= 4 && msg.p[0] == 'C' && memcmp(msg.p, "CEF:", 4) == 0) {
    unsigned before = c->p->emitted;
    parry_err_t err = parry_cef_parse_into(c->p, c->b, msg.p, msg.n, errstr, errstr_size);
    if (err == PARRY_ERR_UNSUPPORTED) { /* no CEF parser: a plain syslog event */
      if (errstr_size) errstr[0] = '\0';
      return PARRY_OK;
    }
    if (err) return err;
    *emitted = c->p->emitted != before;
    return PARRY_OK;
  }
  if (msg.n > 5 && (msg.p[0] == 'p' || msg.p[0] == '(') &&
      (starts(msg, LIT("pam_")) || starts(msg, LIT("(pam_")))) {
    parry_auth_pam(c, msg, span(NULL, 0));
    return PARRY_OK;
  }
  switch (prog) {
  case PROG_SSHD: parry_auth_sshd(c, msg); break;
  case PROG_DROPBEAR: parry_auth_dropbear(c, msg); break;
  case PROG_SUDO: parry_auth_sudo(c, msg); break;
  case PROG_SU: parry_auth_su(c, msg); break;
  default:
    if (looks_audit_msg(msg)) parry_syslog_audit(c, msg);
    break;
  }
  return PARRY_OK;
}

/* "message repeated N times: [ MSG]" (rsyslog's reduction of repeats). */
static bool repeated(span_t m, uint64_t *count, span_t *inner) {
  if (!eat(&m, LIT("message repeated "))) return false;
  size_t used = 0;
  uint64_t n = 0;
  while (used < m.n && used < 18 && m.p[used] >= '0' && m.p[used] <= '9')
    n = n * 10 + (uint64_t)(m.p[used++] - '0');
  if (!used) return false;
  m = skip(m, used);
  if (!eat(&m, LIT(" times: [")) && !eat(&m, LIT(" time: ["))) return false;
  m = trim_end(m);
  if (!eat_end(&m, LIT("]"))) return false;
  *count = n; /* only now: a line that is not a repeat is one event */
  *inner = trim_start(m);
  return true;
}

/* ---- the parser ------------------------------------------------------------------ */

static bool detect_text(void *state, const char *rec, size_t len) {
  (void)state;
  return parry_syslog_detect(rec, len);
}

/* This file's logsource product, one object: the check after dispatch
 * compares its address before its text (a parser may set another "linux"). */
static const char linux_product[] = "linux";

static parry_err_t parse_text(parry_parse_t *p, const char *rec, size_t len, char *errstr,
                              size_t errstr_size) {
  syslog_state_t *st = p->stream_state;
  parry_syslog_header_t h;
  parry_err_t err = parry_syslog_header_parse(rec, len, &p->config->syslog_time, p->received_ns,
                                              st ? &st->time : NULL, &h, errstr, errstr_size);
  if (err) return err;

  parry_evb_t b;
  parry_evb_init(&b, p->arena);
  parry_evb_set_kind(&b, "event");
  if (h.has_time) parry_evb_set_timestamp(&b, h.time_ns);
  if (h.host.n) parry_evb_set_host(&b, h.host.p, h.host.n);
  if (h.app.n) parry_evb_set_process_name(&b, h.app.p, h.app.n);
  if (h.has_pid) parry_evb_set_process_pid(&b, h.pid);
  parry_evb_set_message(&b, rec, len);
  if (h.pri >= 0) set_pri(&b, h.pri);
  if (h.bsd_prio.n) set_bsd_prio(&b, h.bsd_prio);
  if (h.kind == PARRY_SYSLOG_5424) set_5424(&b, &h);

  if (h.repeat_marker) {
    parry_evb_set_logsource(&b, linux_product, "syslog", NULL);
    parry_evb_set_action(&b, LIT("syslog-repeat-marker"));
    parry_evb_set_outcome(&b, "unknown");
    parry_evb_field_int(&b, "syslog.repeat_count", (int64_t)h.repeat_count);
    parry_parse_emit(p, &b);
    return PARRY_OK;
  }

  prog_t prog = h.kind == PARRY_SYSLOG_AUDIT ? PROG_OTHER : program(h.app);
  parry_auth_ctx_t c = {.p = p, .b = &b, .h = &h};
  uint64_t key = 0;
  const char *service = NULL;
  switch (prog) {
  case PROG_SSHD: service = "sshd"; break;
  case PROG_DROPBEAR: service = "dropbear"; break;
  case PROG_SUDO: service = "sudo"; break;
  case PROG_SU: service = "su"; break;
  default: break;
  }
  parry_evb_set_logsource(&b, linux_product, service, NULL);
  bool track = st && h.has_pid && (prog == PROG_SSHD || prog == PROG_DROPBEAR);
  if (track) {
    key = conn_key(h.host, h.pid);
    c.conn = conn_slot(st, key, false);
  }

  span_t msg = h.msg;
  uint64_t count = 1;
  span_t inner;
  if (h.kind == PARRY_SYSLOG_AUDIT) {
    parry_syslog_audit(&c, msg);
  } else {
    if (repeated(msg, &count, &inner)) {
      msg = inner;
      parry_evb_field_int(&b, "syslog.repeat_count", (int64_t)count);
      if (count > PARRY_SYSLOG_MAX_REPEAT) count = PARRY_SYSLOG_MAX_REPEAT;
    }
    bool emitted = false;
    err = dispatch(&c, msg, prog, &emitted, errstr, errstr_size);
    if (err) return err;
    if (emitted) return PARRY_OK;
  }
  Parry__V1__Logsource *ls = b.ev->logsource; /* CEF replaces it with its own */
  if (ls && ls->product &&
      (ls->product == linux_product || strcmp(ls->product, linux_product) == 0) &&
      (!ls->service || !ls->service[0]))
    ls->service = (char *)generic_service(h.app);

  if (track) {
    if (c.has_source) {
      if (c.source.n < PARRY_CONN_ADDR_MAX) {
        parry_conn_t *conn = c.conn ? c.conn : conn_slot(st, key, true);
        memcpy(conn->addr, c.source.p, c.source.n);
        conn->addr_len = (uint8_t)c.source.n;
        conn->port = c.source_port;
        conn->pending = false;
      }
    } else if (c.conn && c.conn->addr_len) {
      parry_auth_source(&c, span(c.conn->addr, c.conn->addr_len), c.conn->port);
    } else if (c.failure) {
      conn_slot(st, key, true)->pending = true;
    }
  }

  if (count <= 1) {
    parry_parse_emit(p, &b);
    return PARRY_OK;
  }
  /* Each repeat is an Event of its own (its own id): shallow copies share
   * the arena's strings, which nothing changes after this point. */
  const Parry__V1__Event *first = b.ev;
  for (uint64_t i = 0; i < count; i++) {
    parry_evb_t copy;
    parry_evb_init(&copy, p->arena);
    *copy.ev = *first;
    parry_parse_emit(p, &copy);
  }
  return PARRY_OK;
}

const parry_parser_t parry_parser_syslog = {
    .name = "syslog",
    .summary = "syslog lines (RFC 3164, RFC 5424, rsyslog ISO times, journal exports) and "
               "Linux audit records: sshd, Dropbear, PAM, sudo, su in detail, any program",
    .detect_text = detect_text,
    .parse_text = parse_text,
    .stream_new = state_new,
    .stream_free = state_free,
};
