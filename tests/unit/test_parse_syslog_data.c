/* The syslog parser against answers written by other projects, read from
 * the shared test data (skipped with a message when it is absent):
 *
 *   fail2ban   every labelled line of fail2ban's filter test logs
 *   loghub     the 2,000 lines of loghub's OpenSSH log and its structured CSV
 *   crowdsec   the parser.assert and scenario.assert expectations of the
 *              CrowdSec hub's sshd and PAM tests
 *
 * Each test prints what it checked and what it skipped (with the reason),
 * and fails listing every disagreement.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "normalize.h"
#include "parry/codec.h"
#include "parse/parser.h"
#include "parse/syslog_header.h"
#include "test_support.h"

/* ---- collecting events -------------------------------------------------------- */

typedef struct {
  char *action, *outcome, *saddr, *sip, *user, *host, *pname, *message, *method;
  bool invalid_user;
  int64_t pid; /* -1: none */
  int64_t port;
  int64_t ts;
  char *json;
} snap_t;

typedef struct {
  snap_t v[1024];
  size_t n;
  char reject[768];
} coll_t;

static char *field(const Parry__V1__Event *ev, const char *path) {
  parry_field_t f;
  if (parry_event_get(ev, path, &f) == PARRY_FIELD_ABSENT) return NULL;
  char buf[PARRY_FIELD_TEXT_MAX];
  size_t len;
  const char *t = parry_field_text(&f, buf, sizeof buf, &len);
  return t ? strndup(t, len) : NULL;
}

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  coll_t *c = opaque;
  parry_buf_t b = PARRY_BUF_INIT(0);
  char why[256];
  if (parry_event_to_json(ev, &b, why, sizeof why) != PARRY_OK) fail_msg("unencodable event: %s", why);
  assert_true(c->n < sizeof c->v / sizeof c->v[0]);
  snap_t *s = &c->v[c->n++];
  s->json = strndup(b.data, b.len);
  parry_buf_free(&b);
  s->action = field(ev, "event.action");
  s->outcome = field(ev, "event.outcome");
  s->saddr = field(ev, "source.address");
  s->sip = field(ev, "source.ip");
  s->user = field(ev, "user.name");
  s->host = field(ev, "host.name");
  s->pname = field(ev, "process.name");
  s->message = field(ev, "message");
  s->method = field(ev, "ssh.auth_method");
  char *inv = field(ev, "ssh.invalid_user");
  s->invalid_user = inv && strcmp(inv, "true") == 0;
  free(inv);
  s->pid = ev->has_process_pid ? ev->process_pid : -1;
  s->port = ev->source_port ? (int64_t)ev->source_port : -1;
  s->ts = ev->timestamp_ns;
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  coll_t *c = opaque;
  snprintf(c->reject, sizeof c->reject, "%s", reason);
}

static const parry_normalize_sink_t sink = {on_event, on_reject};

static void coll_reset(coll_t *c) {
  for (size_t i = 0; i < c->n; i++) {
    snap_t *s = &c->v[i];
    free(s->action), free(s->outcome), free(s->saddr), free(s->sip), free(s->user);
    free(s->host), free(s->pname), free(s->message), free(s->method), free(s->json);
  }
  c->n = 0;
  c->reject[0] = '\0';
}

typedef struct {
  parry_config_t *cfg;
  parry_normalizer_t *n;
  parry_stream_t *s;
  coll_t *c;
} run_t;

static void run_open(run_t *r, const char *format, const char *source) {
  char err[256];
  r->cfg = parry_config_new();
  if (parry_normalizer_new(r->cfg, format, &r->n, err, sizeof err)) fail_msg("%s", err);
  r->c = calloc(1, sizeof *r->c);
  r->s = parry_stream_new(r->n, source, &sink, r->c);
}

static void run_close(run_t *r) {
  coll_reset(r->c);
  free(r->c);
  parry_stream_destroy(r->s);
  parry_normalizer_destroy(r->n);
  parry_config_destroy(r->cfg);
}

static void run_line(run_t *r, const char *line, size_t len, uint64_t seq, int64_t received) {
  coll_reset(r->c);
  parry_stream_record(r->s, line, len, seq, received);
}

static bool eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static bool is_failure(const snap_t *s) { return eq(s->outcome, "failure"); }

/* Disagreements, collected and printed together. */
static char *problems;
static size_t n_problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t have = problems ? strlen(problems) : 0;
  problems = realloc(problems, have + strlen(line) + 2);
  strcpy(problems + have, line);
  strcat(problems, "\n");
  n_problems++;
}

static void finish_problems(const char *suite) {
  if (n_problems) {
    printf("%s: %zu disagreement(s):\n%s", suite, n_problems, problems);
    free(problems);
    problems = NULL;
    size_t n = n_problems;
    n_problems = 0;
    fail_msg("%s: %zu disagreement(s), listed above", suite, n);
  }
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)n + 1);
  *len = fread(data, 1, (size_t)n, f);
  data[*len] = '\0';
  fclose(f);
  return data;
}

/* Lines of a file, in place (the buffer is modified). */
typedef struct {
  char **line;
  size_t *len;
  size_t n;
} lines_t;

static lines_t split_lines(char *data, size_t size) {
  lines_t l = {0};
  size_t cap = 0;
  char *p = data, *end = data + size;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n && p[n - 1] == '\r') n--;
    if (l.n == cap) {
      cap = cap ? cap * 2 : 256;
      l.line = realloc(l.line, cap * sizeof *l.line);
      l.len = realloc(l.len, cap * sizeof *l.len);
    }
    p[n] = '\0';
    l.line[l.n] = p;
    l.len[l.n++] = n;
    p = nl ? nl + 1 : end;
  }
  return l;
}

static void free_lines(lines_t *l) {
  free(l->line);
  free(l->len);
}

/* ---- fail2ban --------------------------------------------------------------------- */

/* fail2ban's label semantics: "match": true means its filter counts a
 * failure from "host" on this line. The filter has modes (normal, ddos,
 * extra, aggressive: each a superset of normal, aggressive the union) and
 * keeps per-connection state. We report every failure a line states, so
 * ours corresponds to aggressive mode, per line:
 *   match true  -> one of our events has outcome failure and source.address
 *                  equal to host (and user.name equal to user when given);
 *   match false -> none of our events has outcome failure from host (or,
 *                  when the label names no host, from any address).
 * Labels valid only outside aggressive mode are skipped. Where fail2ban's
 * answer comes from state it keeps across lines, the disagreement is
 * skipped with the rule that explains it (printed with each line). */
typedef struct {
  const char *name;
  size_t n;
} reason_count_t;

static reason_count_t skips[32];

static void skip_line(const char *file, size_t line, const char *reason) {
  size_t i = 0;
  while (skips[i].name && strcmp(skips[i].name, reason) != 0) i++;
  skips[i].name = reason;
  skips[i].n++;
  printf("#   skip %s:%zu: %s\n", file, line, reason);
}

static const char *const R_MODE =
    "label holds only outside aggressive mode; we report what aggressive mode counts";
static const char *const R_ACCEPTED =
    "fail2ban counts a login that follows failures for other user names in the same connection "
    "as a failure (gh-2070); we report the login itself, ssh-accepted";
static const char *const R_AMBIGUOUS =
    "client text on both sides of the address: the label takes the first \"from\", we take the "
    "one at the end of the line (SSH-2 logs nothing after a password failure)";
static const char *const R_PUBKEY =
    "fail2ban ignores failed public keys of valid users, as clients offer several (gh-1263); "
    "each is still a failed authentication (ssh-publickey-failed)";
static const char *const R_DEFERRED =
    "fail2ban holds pam_unix failures of sshd back until the connection ends, as another PAM "
    "module may still accept (gh-2070); we report the failure when it is logged";
static const char *const R_COUNTED =
    "fail2ban counts one failure per connection and this sshd process was counted earlier";
static const char *const R_OLDPAM =
    "fail2ban's pam-generic filter dropped the pre-0.99.2.0 Linux-PAM format; it is still an "
    "authentication failure";
static const char *const R_AUDIT_LOGIN =
    "fail2ban counts an attempt's USER_AUTH/USER_ERR audit record, not the USER_LOGIN record "
    "that follows it; ours reports each record's own result";

static int64_t parse_label_time(const char *t) {
  /* "2005-06-21T16:47:48" as UTC */
  int y, mo, d, h, mi, s;
  if (!t || sscanf(t, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) return INT64_MIN;
  return (parry_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s) *
         PARRY_NS_PER_SEC;
}

/* Does the line carry its own zone (so fail2ban's label is local time in
 * its test zone, Europe/Berlin)? */
static bool zoned_line(const char *l) {
  if (l[0] == '<' && strstr(l, ">1 ")) return true;
  if (strncmp(l, "type=", 5) == 0) return true;
  if (strlen(l) < 20 || l[4] != '-') return false;
  const char *z = l + 19;
  if (*z == '.') {
    z++;
    while (*z >= '0' && *z <= '9') z++;
  }
  return *z == 'Z' || *z == '+' || (*z == '-' && z[3] == ':') || strncmp(z, " UTC", 4) == 0 ||
         strncmp(z, " GMT", 4) == 0;
}

static void format_time(int64_t ns, bool local, char out[32]) {
  time_t t = (time_t)(ns / PARRY_NS_PER_SEC);
  struct tm tm;
  if (local) localtime_r(&t, &tm);
  else gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

typedef struct {
  size_t checked, checked_true, checked_false, time_checked, not_detected;
} f2b_counts_t;

/* pids (per file) that fail2ban has already counted a failure for */
typedef struct {
  char host[64];
  int64_t pid;
} counted_t;

static void fail2ban_file(const char *dir, const char *name, f2b_counts_t *counts) {
  char path[4096];
  snprintf(path, sizeof path, "%s/fail2ban/logs/%s", dir, name);
  size_t size;
  char *data = read_file(path, &size);
  if (!data) {
    problem("%s: could not read", path);
    return;
  }
  lines_t l = split_lines(data, size);
  run_t forced, autod;
  run_open(&forced, "syslog", name);
  run_open(&autod, NULL, name);
  bool generic = strcmp(name, "zzz-generic-example") == 0;
  bool aggressive_block = true;
  counted_t counted[64];
  size_t n_counted = 0;
  json_object *label = NULL;
  int64_t reference = parse_label_time("2005-01-01T00:00:00");

  for (size_t i = 0; i < l.n; i++) {
    const char *line = l.line[i];
    if (strncmp(line, "# filterOptions:", 16) == 0) {
      /* blocks tested in aggressive mode (or in every mode: no mode named) */
      aggressive_block = strstr(line, "aggressive") || !strstr(line, "mode");
      continue;
    }
    if (strncmp(line, "# failJSON:", 11) == 0) {
      if (label) json_object_put(label);
      label = json_tokener_parse(line + 11);
      if (!label) problem("%s:%zu: unreadable label", name, i + 1);
      continue;
    }
    if (line[0] == '#' || l.len[i] == 0) continue;
    json_object *lab = label;
    label = NULL;
    json_object *v;
    const char *ltime = json_object_object_get_ex(lab, "time", &v) && json_object_is_type(v, json_type_string)
                            ? json_object_get_string(v)
                            : NULL;
    if (ltime) reference = parse_label_time(ltime);

    run_line(&forced, line, l.len[i], i + 1, reference);
    run_line(&autod, line, l.len[i], i + 1, reference);
    /* detection claims what --format syslog parses, except by design: a
     * record starting with '[' is JSON to the normalizer, and an ISO
     * timestamp is claimed only with a PROG[PID]: tag after the host */
    if (forced.c->n != autod.c->n ||
        (forced.c->n && strcmp(forced.c->v[0].json, autod.c->v[0].json) != 0)) {
      if (!autod.c->n && (line[0] == '[' || (line[0] >= '0' && line[0] <= '9')))
        counts->not_detected++;
      else
        problem("%s:%zu: auto-detection gives %zu event(s) (%s), --format syslog %zu", name,
                i + 1, autod.c->n, autod.c->reject, forced.c->n);
    }
    coll_t *c = forced.c;
    if (!lab) {
      json_object_put(lab);
      continue;
    }
    bool match = json_object_object_get_ex(lab, "match", &v) && json_object_get_boolean(v);
    const char *host = NULL, *user = NULL, *constraint = NULL;
    if (json_object_object_get_ex(lab, "host", &v) || json_object_object_get_ex(lab, "ip4", &v) ||
        json_object_object_get_ex(lab, "ip6", &v))
      host = json_object_get_string(v);
    if (json_object_object_get_ex(lab, "user", &v)) user = json_object_get_string(v);
    if (json_object_object_get_ex(lab, "constraint", &v)) constraint = json_object_get_string(v);

    if (generic) {
      /* fail2ban's test-only "F2B:" filter: the header is what we can check */
      if (line[0] == ' ' || line[0] == '}' || strncmp(line, "0000-", 5) == 0) {
        if (c->n) problem("%s:%zu: expected a reject, got an event", name, i + 1);
      } else if (c->n != 1 || !c->v[0].pname ||
                 !(eq(c->v[0].pname, "test-demo") || eq(c->v[0].pname, "kernel") ||
                   eq(c->v[0].pname, "captain-nemo")) ||
                 ((strstr(line, " machine ") && !eq(c->v[0].host, "machine")))) {
        problem("%s:%zu: header not parsed: %s", name, i + 1, c->n ? c->v[0].json : c->reject);
      } else {
        counts->checked++;
      }
      json_object_put(lab);
      continue;
    }
    if (constraint && strstr(constraint, "!= 'aggressive'")) {
      skip_line(name, i + 1, R_MODE);
      json_object_put(lab);
      continue;
    }
    if (!c->n) {
      problem("%s:%zu: rejected: %s", name, i + 1, c->reject);
      json_object_put(lab);
      continue;
    }
    /* the event that agrees with a match, or contradicts a non-match: a
     * failure from host; without a host, any failure (for a match) or any
     * failure attributed to an address (for a non-match) */
    const snap_t *hit = NULL;
    for (size_t k = 0; k < c->n && !hit; k++)
      if (is_failure(&c->v[k]) &&
          (host ? eq(c->v[k].saddr, host) : match || c->v[k].saddr != NULL))
        hit = &c->v[k];
    const snap_t *e = &c->v[0];
    const char *skip_reason = NULL;
    char what[1024] = "";
    if (match) {
      if (!hit) {
        snprintf(what, sizeof what, "expected a failure from %s, got %s %s from %s (user %s)",
                 host ? host : "any address", e->action ? e->action : "-",
                 e->outcome ? e->outcome : "-", e->saddr ? e->saddr : "-",
                 e->user ? e->user : "-");
        if (eq(e->action, "ssh-accepted") && eq(e->saddr, host)) skip_reason = R_ACCEPTED;
        else if (host && e->user && strstr(e->user, host) && is_failure(e)) skip_reason = R_AMBIGUOUS;
      } else if (user && !eq(hit->user, user)) {
        snprintf(what, sizeof what, "user: expected \"%s\", got \"%s\"", user,
                 hit->user ? hit->user : "(none)");
      }
    } else if (hit) {
      snprintf(what, sizeof what, "no failure expected, got %s from %s", hit->action, hit->saddr);
      /* fail2ban's test logs splice cases together, so the host name of
       * one connection's lines may differ: the pid identifies it */
      bool same_pid = false;
      for (size_t k = 0; k < n_counted; k++) same_pid |= counted[k].pid == hit->pid;
      if (!aggressive_block) skip_reason = R_MODE;
      else if (eq(hit->action, "ssh-publickey-failed") && !hit->invalid_user) skip_reason = R_PUBKEY;
      else if (eq(hit->action, "pam-auth-failed") && eq(hit->pname, "sshd")) skip_reason = R_DEFERRED;
      else if (strstr(line, "(pam_unix)[")) skip_reason = R_OLDPAM;
      else if (eq(hit->action, "audit-user-login")) skip_reason = R_AUDIT_LOGIN;
      else if (same_pid) skip_reason = R_COUNTED;
    }
    if (match && hit && n_counted < 64) {
      snprintf(counted[n_counted].host, sizeof counted[0].host, "%s", hit->host ? hit->host : "");
      counted[n_counted++].pid = hit->pid;
    }
    if (what[0] && skip_reason) {
      printf("#   (%s)\n", what);
      skip_line(name, i + 1, skip_reason);
    } else if (what[0]) {
      problem("%s:%zu: %s\n    line: %s", name, i + 1, what, line);
    } else {
      counts->checked++;
      if (match) counts->checked_true++;
      else counts->checked_false++;
    }
    /* the time fail2ban read (local time in its test zone for zoned lines) */
    if (!what[0] && match && ltime && e->ts) {
      char ours[32];
      format_time(e->ts, zoned_line(line), ours);
      if (strncmp(ours, ltime, 19) != 0)
        problem("%s:%zu: time: expected %s, got %s", name, i + 1, ltime, ours);
      else
        counts->time_checked++;
    }
    json_object_put(lab);
  }
  if (label) json_object_put(label);
  run_close(&forced);
  run_close(&autod);
  free_lines(&l);
  free(data);
}

/* BSD syslogd's verbose formats: no labels; every line is an sshd failure
 * from the address after the last " from " (before " port"). */
static void fail2ban_bsd(const char *dir, f2b_counts_t *counts) {
  static const char *const files[] = {"syslog-plain.txt", "syslog-v.txt", "syslog-vv.txt"};
  for (size_t f = 0; f < 3; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fail2ban/logs/bsd/%s", dir, files[f]);
    size_t size;
    char *data = read_file(path, &size);
    if (!data) {
      problem("%s: could not read", path);
      continue;
    }
    lines_t l = split_lines(data, size);
    run_t r;
    run_open(&r, NULL, files[f]);
    for (size_t i = 0; i < l.n; i++) {
      if (!l.len[i]) continue;
      run_line(&r, l.line[i], l.len[i], i + 1, parse_label_time("2005-04-03T00:00:00"));
      const char *from = strstr(l.line[i], " from "), *next;
      while (from && (next = strstr(from + 1, " from "))) from = next;
      char addr[128] = "";
      if (from) sscanf(from + 6, "%127[^ ]", addr);
      const snap_t *e = r.c->n ? &r.c->v[0] : NULL;
      if (!e || !is_failure(e) || !eq(e->saddr, addr) || !eq(e->host, "pancake") ||
          !eq(e->pname, "sshd"))
        problem("bsd/%s:%zu: expected an sshd failure from %s on pancake, got %s", files[f], i + 1,
                addr, e ? e->json : r.c->reject);
      else
        counts->checked++;
    }
    run_close(&r);
    free_lines(&l);
    free(data);
  }
}

static void test_fail2ban(void **state) {
  const char *dir = parry_test_data_dir();
  if (!dir) skip();
  setenv("TZ", "Europe/Berlin", 1); /* fail2ban's test zone, for zoned lines */
  tzset();
  static const char *const files[] = {"sshd", "sshd-journal", "pam-generic", "dropbear",
                                      "selinux-ssh", "zzz-generic-example",
                                      "zzz-sshd-obsolete-multiline"};
  f2b_counts_t counts = {0};
  memset(skips, 0, sizeof skips);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    f2b_counts_t before = counts;
    fail2ban_file(dir, files[i], &counts);
    printf("# fail2ban %s: %zu lines checked\n", files[i], counts.checked - before.checked);
  }
  f2b_counts_t before = counts;
  fail2ban_bsd(dir, &counts);
  printf("# fail2ban bsd/*: %zu unlabelled lines checked\n", counts.checked - before.checked);
  printf("# fail2ban: %zu lines parsed with --format syslog but left to other parsers by "
         "auto-detection (a leading '[' is JSON to the normalizer; ISO-timestamped lines need a "
         "PROG[PID]: tag)\n",
         counts.not_detected);
  printf("# fail2ban cowrie: not checked: Cowrie writes JSON, the generic JSON parser's\n");
  size_t skipped = 0;
  for (size_t i = 0; skips[i].name; i++) skipped += skips[i].n;
  printf("# fail2ban: %zu lines checked (%zu labelled match:true, %zu match:false, %zu times), "
         "%zu skipped:\n",
         counts.checked, counts.checked_true, counts.checked_false, counts.time_checked, skipped);
  for (size_t i = 0; skips[i].name; i++) printf("#   %zu x %s\n", skips[i].n, skips[i].name);
  finish_problems("fail2ban");
}

/* ---- loghub --------------------------------------------------------------------------- */

/* Match content against a loghub template ("<*>" is any text, possibly
 * empty); caps receive the wildcards. Backtracking over the literal
 * pieces' occurrences, shortest wildcard first. */
static bool tmatch(const char *t, const char *s, const char **cap, size_t *cap_len, int n_cap) {
  const char *star = strstr(t, "<*>");
  size_t lit = star ? (size_t)(star - t) : strlen(t);
  if (strncmp(t, s, lit) != 0) return false;
  if (!star) return s[lit] == '\0';
  s += lit;
  const char *rest = star + 3;
  for (const char *end = s;; end++) {
    cap[n_cap] = s;
    cap_len[n_cap] = (size_t)(end - s);
    if (tmatch(rest, end, cap, cap_len, n_cap + 1)) return true;
    if (!*end) return false;
  }
}

/* The wildcard right after `before` in the template, if any. */
static bool wildcard_after(const char *tmpl, const char *before, const char *content,
                           char *out, size_t out_size) {
  const char *cap[16];
  size_t cap_len[16];
  if (!tmatch(tmpl, content, cap, cap_len, 0)) return false;
  int idx = 0;
  for (const char *p = strstr(tmpl, "<*>"); p; p = strstr(p + 3, "<*>"), idx++) {
    size_t bl = strlen(before);
    if ((size_t)(p - tmpl) >= bl && strncmp(p - bl, before, bl) == 0) {
      /* loghub's templates take one of a double space into the wildcard
       * ("rhost=<*> user=<*>" over "rhost=1.2.3.4  user=root") */
      size_t n = cap_len[idx];
      while (n && cap[idx][n - 1] == ' ') n--;
      snprintf(out, out_size, "%.*s", (int)n, cap[idx]);
      return true;
    }
  }
  return false;
}

/* What a template says, derived from its words: the action and outcome of
 * the line it describes (NULL: a template we only check the address of). */
typedef struct {
  const char *prefix, *action, *outcome;
} tmpl_rule_t;

static const tmpl_rule_t tmpl_rules[] = {
    {"Failed password for ", "ssh-password-failed", "failure"},
    {"Failed none for ", "ssh-auth-failed", "failure"},
    {"Accepted password for ", "ssh-accepted", "success"},
    {"Invalid user ", "ssh-invalid-user", "failure"},
    {"input_userauth_request: invalid user ", "ssh-invalid-user-request", "unknown"},
    {"pam_unix(sshd:auth): authentication failure", "pam-auth-failed", "failure"},
    {"PAM <*> more authentication failure", "pam-more-auth-failures", "failure"},
    {"message repeated <*> times: [ Failed password for ", "ssh-password-failed", "failure"},
    {NULL, NULL, NULL},
};

static void test_loghub(void **state) {
  const char *dir = parry_test_data_dir();
  if (!dir) skip();
  char path[4096];
  size_t log_size, csv_size;
  snprintf(path, sizeof path, "%s/loghub/OpenSSH/OpenSSH_2k.log", dir);
  char *log = read_file(path, &log_size);
  snprintf(path, sizeof path, "%s/loghub/OpenSSH/OpenSSH_2k.log_structured.csv", dir);
  char *csv = read_file(path, &csv_size);
  assert_non_null(log);
  assert_non_null(csv);
  lines_t ll = split_lines(log, log_size), cl = split_lines(csv, csv_size);
  run_t r;
  run_open(&r, "syslog", "loghub");
  parry_syslog_time_rule_t rule = {0, 86400 * PARRY_NS_PER_SEC};
  int64_t reference = parse_label_time("2017-01-05T00:00:00");
  size_t checked = 0, header_checked = 0, semantic_checked = 0, addr_checked = 0, events = 0;
  size_t password_failed = 0, recognised = 0;
  for (size_t i = 0; i < ll.n && i + 1 < cl.n; i++) {
    /* LineId,Date,Day,Time,Component,Pid,Content,EventId,EventTemplate */
    char *col[9];
    char *p = cl.line[i + 1];
    for (int k = 0; k < 9; k++) {
      col[k] = p;
      char *comma = k < 8 ? strchr(p, ',') : NULL;
      if (comma) *comma = '\0', p = comma + 1;
    }
    const char *content = col[6], *tmpl = col[8];
    run_line(&r, ll.line[i], ll.len[i], i + 1, reference);
    coll_t *c = r.c;
    events += c->n;
    if (!c->n) {
      problem("loghub:%zu: rejected: %s", i + 1, c->reject);
      continue;
    }
    const snap_t *e = &c->v[0];
    /* header: Component, Pid, Content */
    parry_syslog_header_t h;
    char err[256];
    bool ok = parry_syslog_header_parse(ll.line[i], ll.len[i], &rule, reference, NULL, &h, err, sizeof err) == PARRY_OK;
    /* loghub's CSV drops trailing spaces from Content */
    size_t msg_n = ok ? h.msg.n : 0;
    while (msg_n && h.msg.p[msg_n - 1] == ' ') msg_n--;
    if (!ok || msg_n != strlen(content) || memcmp(h.msg.p, content, msg_n) != 0 ||
        !eq(e->host, col[4]) || e->pid != strtoll(col[5], NULL, 10) ||
        !eq(e->message, ll.line[i]) || !eq(e->pname, "sshd")) {
      problem("loghub:%zu: header: expected host %s pid %s content \"%s\", got %s", i + 1, col[4],
              col[5], content, e->json);
      continue;
    }
    header_checked++;
    for (size_t k = 0; k < c->n; k++) {
      if (c->v[k].action) recognised++;
      if (eq(c->v[k].action, "ssh-password-failed")) password_failed++;
    }
    if (!e->action) problem("loghub:%zu: not recognised (%s): %s", i + 1, col[7], content);
    /* addresses: the wildcard after "from " or "rhost=" (loghub's
     * templates write "[<*>]" for reverse-mapping lines) */
    char addr[256];
    if (wildcard_after(tmpl, "from ", content, addr, sizeof addr) ||
        wildcard_after(tmpl, "rhost=", content, addr, sizeof addr) ||
        wildcard_after(tmpl, "[", content, addr, sizeof addr)) {
      if (!eq(e->saddr, addr))
        problem("loghub:%zu (%s): source: expected %s, got %s", i + 1, col[7], addr,
                e->saddr ? e->saddr : "(none)");
      else
        addr_checked++;
    }
    const tmpl_rule_t *rule_for = NULL;
    for (const tmpl_rule_t *t = tmpl_rules; t->prefix && !rule_for; t++) {
      const char *cap[16];
      size_t cap_len[16];
      char pattern[512];
      snprintf(pattern, sizeof pattern, "%s<*>", t->prefix);
      if (strncmp(tmpl, t->prefix, strlen(t->prefix)) == 0 ||
          (strstr(t->prefix, "<*>") && tmatch(pattern, tmpl, cap, cap_len, 0)))
        rule_for = t;
    }
    if (rule_for) {
      char user[256] = "", port[64] = "", count[32] = "1";
      bool has_user = wildcard_after(tmpl, "invalid user ", content, user, sizeof user) ||
                      wildcard_after(tmpl, "Invalid user ", content, user, sizeof user) ||
                      wildcard_after(tmpl, "for ", content, user, sizeof user) ||
                      wildcard_after(tmpl, "user=", content, user, sizeof user);
      if (strstr(tmpl, "user=root")) has_user = true, strcpy(user, "root");
      wildcard_after(tmpl, "port ", content, port, sizeof port);
      wildcard_after(tmpl, "repeated ", content, count, sizeof count);
      size_t want = (size_t)strtoul(count, NULL, 10);
      if (c->n != want) problem("loghub:%zu: %zu events, expected %zu", i + 1, c->n, want);
      for (size_t k = 0; k < c->n; k++) {
        const snap_t *x = &c->v[k];
        if (!eq(x->action, rule_for->action) || !eq(x->outcome, rule_for->outcome) ||
            (has_user && !eq(x->user, user)) || (port[0] && x->port != strtoll(port, NULL, 10)))
          problem("loghub:%zu (%s): expected %s %s user %s port %s, got %s", i + 1, col[7],
                  rule_for->action, rule_for->outcome, has_user ? user : "-", port[0] ? port : "-",
                  x->json);
      }
      semantic_checked++;
    }
    checked++;
  }
  printf("# loghub: %zu lines, %zu events; header (host, pid, content) agrees on %zu; "
         "%zu recognised events; source agrees on %zu lines with an address; action, outcome, "
         "user and port agree on %zu failure/accepted/invalid-user lines; %zu password failures\n",
         checked, events, header_checked, recognised, addr_checked, semantic_checked,
         password_failed);
  if (ll.n != 2000) problem("loghub: %zu lines, expected 2000", ll.n);
  run_close(&r);
  free_lines(&ll);
  free_lines(&cl);
  free(log);
  free(csv);
  finish_problems("loghub");
}

/* ---- CrowdSec ------------------------------------------------------------------------------ */

/* One result of a parser.assert: Success and the Parsed/Meta values. */
typedef struct {
  int success; /* -1: not asserted */
  char *kv[32][2];
  int n;
} cs_result_t;

static const char *cs_get(const cs_result_t *r, const char *key) {
  for (int i = 0; i < r->n; i++)
    if (strcmp(r->kv[i][0], key) == 0) return r->kv[i][1];
  return NULL;
}

/* Lines like results["s01-parse"]["crowdsecurity/sshd-logs"][3].Evt.Meta["source_ip"] == "x" */
static size_t cs_parse(char *text, const char *stage, cs_result_t *out, size_t max) {
  size_t n = 0;
  char prefix[128];
  snprintf(prefix, sizeof prefix, "results[\"%s\"][", stage);
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *p = strstr(line, prefix);
    if (!p) continue;
    p = strstr(p + strlen(prefix), "][");
    if (!p) continue;
    size_t idx = strtoul(p + 2, &p, 10);
    if (idx >= max) continue;
    if (idx + 1 > n) n = idx + 1;
    cs_result_t *r = &out[idx];
    if (strstr(p, "].Success == true")) r->success = 1;
    else if (strstr(p, "].Success == false")) r->success = 0;
    char *k = strstr(p, "[\""), *eqs = strstr(p, "\"] == \"");
    if (!k || !eqs || r->n >= 32 || !strstr(p, ".Evt.")) continue;
    char *section = strstr(p, ".Evt.") + 5; /* Parsed or Meta */
    char key[96];
    snprintf(key, sizeof key, "%.*s.%.*s", (int)(strchr(section, '[') - section), section,
             (int)(eqs - k - 2), k + 2);
    char *v = eqs + 7;
    char *vend = strrchr(v, '"');
    r->kv[r->n][0] = strdup(key);
    r->kv[r->n][1] = strndup(v, vend ? (size_t)(vend - v) : strlen(v));
    r->n++;
  }
  return n;
}

static void cs_free(cs_result_t *r, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < r[i].n; k++) free(r[i].kv[k][0]), free(r[i].kv[k][1]);
}

/* "Feb 12 14:10:21" (or "Feb  7 ...") against our @timestamp */
static bool cs_same_time(const char *ts, int64_t ns) {
  char ours[32];
  time_t t = (time_t)(ns / PARRY_NS_PER_SEC);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(ours, sizeof ours, "%b %d %H:%M:%S", &tm);
  int d1 = 0, d2 = 0;
  char m1[4] = "", m2[4] = "", c1[16] = "", c2[16] = "";
  sscanf(ts, "%3s %d %15s", m1, &d1, c1);
  sscanf(ours, "%3s %d %15s", m2, &d2, c2);
  if (strncmp(ts, "20", 2) == 0) { /* an RFC 3339 time: compare as UTC instants */
    int64_t want;
    return parry_time_parse_rfc3339(ts, strlen(ts), &want) == PARRY_OK && want / PARRY_NS_PER_SEC == ns / PARRY_NS_PER_SEC;
  }
  return strcmp(m1, m2) == 0 && d1 == d2 && strcmp(c1, c2) == 0;
}

/* CrowdSec log_type -> what our event must say. Every type the sshd and
 * PAM parsers assert is a failed (or refused) attempt from source_ip. */
static bool cs_failure_type(const char *t) {
  static const char *const types[] = {"ssh_failed-auth", "ssh_bad_keyexchange", "ssh_auth_timeout",
                                      "ssh_dispatch_fatal", "ssh_refused_conn", "pam_failed_auth",
                                      "pam_user_lock", NULL};
  for (int i = 0; types[i]; i++)
    if (strcmp(t, types[i]) == 0) return true;
  return false;
}

typedef struct {
  size_t lines, parse_checked, parse_rejected_ok, raw_checked, values, scenario_events;
} cs_counts_t;

static void crowdsec_parser(const char *dir, const char *test, const char *parser,
                            cs_counts_t *counts) {
  char path[4096];
  size_t size, asize;
  snprintf(path, sizeof path, "%s/crowdsec-hub/%s/%s.log", dir, test, test);
  char *log = read_file(path, &size);
  snprintf(path, sizeof path, "%s/crowdsec-hub/%s/parser.assert", dir, test);
  char *asserts = read_file(path, &asize);
  if (!log || !asserts) {
    problem("crowdsec %s: could not read its files", test);
    free(log), free(asserts);
    return;
  }
  static cs_result_t raw[256], parsed[256];
  memset(raw, 0, sizeof raw);
  memset(parsed, 0, sizeof parsed);
  char *copy = strdup(asserts);
  size_t n_raw = cs_parse(copy, "s00-raw", raw, 256);
  free(copy);
  copy = strdup(asserts);
  size_t n_parsed = cs_parse(copy, "s01-parse", parsed, 256);
  free(copy);
  lines_t l = split_lines(log, size);
  run_t r;
  run_open(&r, NULL, test);
  parry_syslog_time_rule_t rule = {0, 86400 * PARRY_NS_PER_SEC};
  int64_t reference = parse_label_time("2026-12-31T00:00:00");
  size_t idx = 0;
  for (size_t i = 0; i < l.n; i++) {
    if (!l.len[i]) continue;
    run_line(&r, l.line[i], l.len[i], i + 1, reference);
    counts->lines++;
    const snap_t *e = r.c->n ? &r.c->v[0] : NULL;
    parry_syslog_header_t h;
    char err[256];
    bool hdr = parry_syslog_header_parse(l.line[i], l.len[i], &rule, reference, NULL, &h, err, sizeof err) == PARRY_OK;
    /* s00-raw (syslog-logs) and the header part of s01 */
    for (int stage = 0; stage < 2; stage++) {
      const cs_result_t *res = stage == 0 ? (idx < n_raw ? &raw[idx] : NULL)
                                          : (idx < n_parsed ? &parsed[idx] : NULL);
      if (!res || res->success != 1) continue;
      const char *v;
      bool bad = !e || !hdr;
      if ((v = cs_get(res, "Meta.machine"))) bad |= !e || !eq(e->host, v), counts->values++;
      if ((v = cs_get(res, "Parsed.program"))) bad |= !e || !eq(e->pname, v), counts->values++;
      if ((v = cs_get(res, "Parsed.pid"))) bad |= !e || e->pid != strtoll(v, NULL, 10), counts->values++;
      if ((v = cs_get(res, "Parsed.timestamp"))) bad |= !e || !cs_same_time(v, e->ts), counts->values++;
      if ((v = cs_get(res, "Parsed.message"))) {
        bad |= !hdr || h.msg.n != strlen(v) || memcmp(h.msg.p, v, h.msg.n) != 0;
        counts->values++;
      }
      if (bad)
        problem("crowdsec %s:%zu (%s): header disagrees: got %s", test, i + 1,
                stage ? "s01-parse" : "s00-raw", e ? e->json : r.c->reject);
      else if (stage == 0)
        counts->raw_checked++;
    }
    const cs_result_t *res = idx < n_parsed ? &parsed[idx] : NULL;
    idx++;
    if (!res || res->success < 0) continue;
    if (res->success == 0) {
      /* the parser does not claim the line: neither may we claim a failure */
      bool claimed = false;
      for (size_t k = 0; k < r.c->n; k++) claimed |= is_failure(&r.c->v[k]) && r.c->v[k].saddr;
      if (claimed)
        problem("crowdsec %s:%zu: %s does not parse this line, we report a failure: %s", test,
                i + 1, parser, e->json);
      else
        counts->parse_rejected_ok++;
      continue;
    }
    const char *type = cs_get(res, "Meta.log_type");
    const char *ip = cs_get(res, "Meta.source_ip");
    const char *user = cs_get(res, "Meta.target_user");
    if (!user) user = cs_get(res, "Meta.username");
    const char *port = cs_get(res, "Parsed.sshd_port");
    bool bad = !e;
    if (e && type && cs_failure_type(type)) bad |= !is_failure(e), counts->values++;
    if (e && type && !cs_failure_type(type)) bad = true;
    if (e && ip) bad |= !eq(e->sip, ip), counts->values++;
    if (e && user) bad |= !eq(e->user, user), counts->values++;
    if (e && port) bad |= e->port != strtoll(port, NULL, 10), counts->values++;
    if (bad)
      problem("crowdsec %s:%zu: expected %s from %s user %s, got %s", test, i + 1,
              type ? type : "-", ip ? ip : "-", user ? user : "-", e ? e->json : r.c->reject);
    else
      counts->parse_checked++;
  }
  run_close(&r);
  cs_free(raw, n_raw);
  cs_free(parsed, n_parsed);
  free_lines(&l);
  free(log);
  free(asserts);
}

/* scenario.assert: every event of every alert must be one of ours, a
 * failure with the same source, user, host and time, and each alert's
 * source must have at least the alert's event count of failures. */
static void crowdsec_scenario(const char *dir, const char *test, cs_counts_t *counts) {
  char path[4096];
  size_t size, asize;
  snprintf(path, sizeof path, "%s/crowdsec-hub/%s/%s.log", dir, test, test);
  char *log = read_file(path, &size);
  snprintf(path, sizeof path, "%s/crowdsec-hub/%s/scenario.assert", dir, test);
  char *asserts = read_file(path, &asize);
  if (!log || !asserts) {
    problem("crowdsec %s: could not read its files", test);
    free(log), free(asserts);
    return;
  }
  /* our failures */
  typedef struct {
    char ip[64], user[128], host[128];
    int64_t ts;
    bool used;
  } ours_t;
  static ours_t ours[512];
  size_t n_ours = 0;
  lines_t l = split_lines(log, size);
  run_t r;
  run_open(&r, NULL, test);
  for (size_t i = 0; i < l.n; i++) {
    if (!l.len[i]) continue;
    run_line(&r, l.line[i], l.len[i], i + 1, parse_label_time("2026-12-31T00:00:00"));
    for (size_t k = 0; k < r.c->n && n_ours < 512; k++) {
      const snap_t *e = &r.c->v[k];
      if (!is_failure(e)) continue;
      ours_t *o = &ours[n_ours++];
      snprintf(o->ip, sizeof o->ip, "%s", e->sip ? e->sip : "");
      snprintf(o->user, sizeof o->user, "%s", e->user ? e->user : "");
      snprintf(o->host, sizeof o->host, "%s", e->host ? e->host : "");
      o->ts = e->ts;
      o->used = false;
    }
  }
  run_close(&r);
  /* asserted events: results[R].Overflow.Alert.Events[K].GetMeta("X") == "V" */
  typedef struct {
    int alert, event;
    char ip[128], user[128], host[128], ts[128], type[128];
  } want_t;
  static want_t want[256];
  size_t n_want = 0;
  int alert_count[8] = {0};
  char alert_ip[8][128] = {{0}};
  for (char *line = strtok(asserts, "\n"); line; line = strtok(NULL, "\n")) {
    int a, k;
    char key[64], value[128];
    if (sscanf(line, "results[%d].Overflow.Alert.Events[%d].GetMeta(\"%63[^\"]\") == \"%127[^\"]\"",
               &a, &k, key, value) == 4) {
      size_t w = 0;
      while (w < n_want && !(want[w].alert == a && want[w].event == k)) w++;
      if (w == n_want) {
        if (n_want == 256) continue;
        memset(&want[n_want], 0, sizeof want[0]);
        want[n_want].alert = a, want[n_want].event = k;
        n_want++;
      }
      if (!strcmp(key, "source_ip")) snprintf(want[w].ip, sizeof want[w].ip, "%s", value);
      if (!strcmp(key, "target_user")) snprintf(want[w].user, sizeof want[w].user, "%s", value);
      if (!strcmp(key, "machine")) snprintf(want[w].host, sizeof want[w].host, "%s", value);
      if (!strcmp(key, "timestamp")) snprintf(want[w].ts, sizeof want[w].ts, "%s", value);
      if (!strcmp(key, "log_type")) snprintf(want[w].type, sizeof want[w].type, "%s", value);
    } else if (sscanf(line, "results[%d].Overflow.Alert.GetEventsCount() == %d", &a, &k) == 2 &&
               a >= 0 && a < 8) {
      alert_count[a] = k;
    } else if (sscanf(line, "\"%63[^\"]\" in results[%d].Overflow.GetSources()", value, &a) == 2 &&
               a >= 0 && a < 8) {
      snprintf(alert_ip[a], sizeof alert_ip[a], "%s", value);
    }
  }
  /* each alert's source has at least as many failures as the alert counts */
  for (int a = 0; a < 8; a++) {
    if (!alert_ip[a][0]) continue;
    int have = 0;
    for (size_t o = 0; o < n_ours; o++) have += eq(ours[o].ip, alert_ip[a]);
    if (have < alert_count[a])
      problem("crowdsec %s: alert %d counts %d events from %s, we have %d failures from it", test,
              a, alert_count[a], alert_ip[a], have);
  }
  for (size_t w = 0; w < n_want; w++) {
    /* each alert is matched on its own: alerts of two scenarios may share
     * events */
    if (w == 0 || want[w].alert != want[w - 1].alert)
      for (size_t o = 0; o < n_ours; o++) ours[o].used = false;
    /* crowdsec stamps the year it ran in: compare month, day and time */
    bool found = false;
    for (size_t o = 0; o < n_ours && !found; o++) {
      char t[32];
      time_t tt = (time_t)(ours[o].ts / PARRY_NS_PER_SEC);
      struct tm tm;
      gmtime_r(&tt, &tm);
      strftime(t, sizeof t, "%m-%dT%H:%M:%S", &tm);
      if (!ours[o].used && eq(ours[o].ip, want[w].ip) && eq(ours[o].host, want[w].host) &&
          (!want[w].user[0] || eq(ours[o].user, want[w].user)) && strlen(want[w].ts) >= 19 &&
          strncmp(want[w].ts + 5, t, 14) == 0 && cs_failure_type(want[w].type))
        found = ours[o].used = true;
    }
    if (found) counts->scenario_events++;
    else
      problem("crowdsec %s: alert %d event %d (%s %s user %s at %s) is not one of our failures",
              test, want[w].alert, want[w].event, want[w].type, want[w].ip, want[w].user,
              want[w].ts);
  }
  free_lines(&l);
  free(log);
  free(asserts);
}

static void test_crowdsec(void **state) {
  const char *dir = parry_test_data_dir();
  if (!dir) skip();
  cs_counts_t counts = {0};
  crowdsec_parser(dir, "sshd-logs", "crowdsecurity/sshd-logs", &counts);
  crowdsec_parser(dir, "sshd-invalid-bf", "crowdsecurity/sshd-logs", &counts);
  crowdsec_parser(dir, "pam-logs", "crowdsecurity/pam-logs", &counts);
  crowdsec_scenario(dir, "sshd-invalid-bf", &counts);
  crowdsec_scenario(dir, "ssh-bf", &counts);
  crowdsec_scenario(dir, "ssh-slow-bf", &counts);
  printf("# crowdsec: %zu lines; s00-raw header agrees on %zu; s01-parse agrees on %zu parsed "
         "lines and on %zu it leaves unparsed; %zu asserted values; %zu scenario alert events "
         "found among our failures\n",
         counts.lines, counts.raw_checked, counts.parse_checked, counts.parse_rejected_ok,
         counts.values, counts.scenario_events);
  finish_problems("crowdsec");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fail2ban),
      cmocka_unit_test(test_loghub),
      cmocka_unit_test(test_crowdsec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
