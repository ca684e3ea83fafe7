/* Brute force on real logs, through `parry detect`'s whole path (raw lines
 * -> the real parsers -> Sigma -> signals -> the correlation engine):
 *
 *   - the loghub OpenSSH log (2,000 lines of a real server) with the
 *     example rule "10 failed logins from one source.ip within 5 minutes":
 *     the alerts are exactly those a plain sliding-window count, written
 *     here without the engine, finds over the same normalized events --
 *     same addresses, same number of alerts, same window ends, the same
 *     ten contributing events;
 *   - the Windows brute-force and password-spray samples (evtx-samples)
 *     with Hayabusa's production correlation rules and with ours.
 *
 * Skips with a message when the shared data is absent. */
#include <glob.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_support.h"
#include "parry/codec.h"
#include "test_support.h"

#define SEC 1000000000LL

/* A data file, or NULL after saying why the test skips. */
static const char *data_file(const char *rel, char *buf, size_t size) {
  const char *data = parry_test_data_dir();
  if (!data) return NULL;
  snprintf(buf, size, "%s/%s", data, rel);
  if (access(buf, R_OK) != 0) {
    printf("# skipping: no %s\n", buf);
    return NULL;
  }
  return buf;
}

/* NDJSON lines -> decoded messages (events or alerts). */
typedef struct {
  void **items;
  size_t n;
} list_t;

static list_t parse_lines(const char *text, bool alerts) {
  list_t l = {0};
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    char err[256];
    void *msg = NULL;
    parry_err_t e = alerts ? parry_alert_from_json(p, (size_t)(nl - p),
                                                   (Parry__V1__Alert **)&msg, err, sizeof err)
                           : parry_event_from_json(p, (size_t)(nl - p),
                                                   (Parry__V1__Event **)&msg, err, sizeof err);
    if (e != PARRY_OK) fail_msg("bad line: %s: %.*s", err, (int)(nl - p), p);
    l.items = realloc(l.items, (l.n + 1) * sizeof *l.items);
    l.items[l.n++] = msg;
    p = nl + 1;
  }
  return l;
}

static void free_alerts(list_t *l) {
  for (size_t i = 0; i < l->n; i++) parry__v1__alert__free_unpacked(l->items[i], NULL);
  free(l->items);
}

static void free_events(list_t *l) {
  for (size_t i = 0; i < l->n; i++) parry__v1__event__free_unpacked(l->items[i], NULL);
  free(l->items);
}

static const char *group(const Parry__V1__Alert *a, const char *field) {
  for (size_t i = 0; i < a->n_group_by; i++)
    if (strcmp(a->group_by[i]->key, field) == 0) return a->group_by[i]->value;
  return NULL;
}

/* ---- the independent count -------------------------------------------- */

/* An alert the plain count expects: the address, the window's last event
 * time, and the ids of the events in the window. */
typedef struct {
  char ip[64];
  int64_t end_ns, first_ns;
  size_t n;
  char ids[16][40];
  uint64_t suppressed; /* alerts folded into this one */
} expected_t;

typedef struct {
  char ip[64];
  int64_t t[16];
  char ids[16][40];
  size_t n;
  int64_t last;     /* to check the input is in time order per address */
  int64_t fired;    /* time of the last alert that was written */
  uint64_t pending; /* alerts suppressed since */
} window_t;

static bool sshd_failed_login(const Parry__V1__Event *ev) {
  /* the example rule's selection, read off the event's typed fields */
  static const char *actions[] = {"ssh-password-failed", "ssh-keyboard-interactive-failed",
                                  "ssh-auth-failed"};
  bool auth = false, action = false;
  for (size_t i = 0; i < ev->n_event_category; i++)
    auth |= strcmp(ev->event_category[i], "authentication") == 0;
  for (size_t i = 0; i < 3; i++) action |= strcmp(ev->event_action, actions[i]) == 0;
  return auth && action && strcmp(ev->event_outcome, "failure") == 0 && ev->logsource &&
         strcmp(ev->logsource->service, "sshd") == 0 && ev->source_ip && *ev->source_ip;
}

/* At each failure of an address, drop its failures older than 5 minutes
 * before it ([t - 5m, t] counts, both ends); at 10, that is an alert, and the
 * address starts counting afresh. The rule's `suppress: 5m`: an alert less
 * than 5 minutes after the last written one of its address is not written
 * (it still restarts the count), and the next written one says how many. */
static size_t sliding_count(const list_t *events, expected_t *out, size_t max, size_t *failures,
                            size_t *addresses, size_t *suppressed) {
  window_t w[64];
  size_t nw = 0, n = 0;
  *failures = 0;
  for (size_t i = 0; i < events->n; i++) {
    const Parry__V1__Event *ev = events->items[i];
    if (!sshd_failed_login(ev)) continue;
    (*failures)++;
    window_t *x = NULL;
    for (size_t j = 0; j < nw && !x; j++)
      if (strcmp(w[j].ip, ev->source_ip) == 0) x = &w[j];
    if (!x) {
      assert_true(nw < 64);
      x = &w[nw++];
      memset(x, 0, sizeof *x);
      snprintf(x->ip, sizeof x->ip, "%s", ev->source_ip);
      x->last = INT64_MIN;
      x->fired = INT64_MIN;
    }
    assert_true(ev->timestamp_ns >= x->last); /* so lateness plays no part */
    x->last = ev->timestamp_ns;
    size_t keep = 0;
    for (size_t k = 0; k < x->n; k++) {
      if (x->t[k] < ev->timestamp_ns - 300 * SEC) continue;
      x->t[keep] = x->t[k];
      memcpy(x->ids[keep], x->ids[k], sizeof x->ids[k]);
      keep++;
    }
    x->n = keep;
    x->t[x->n] = ev->timestamp_ns;
    snprintf(x->ids[x->n], sizeof x->ids[0], "%s", ev->id);
    x->n++;
    if (x->n >= 10 && x->fired != INT64_MIN && ev->timestamp_ns < x->fired + 300 * SEC) {
      x->pending++;
      (*suppressed)++;
      x->n = 0;
    } else if (x->n >= 10) {
      assert_true(n < max);
      expected_t *e = &out[n++];
      e->suppressed = x->pending;
      x->pending = 0;
      x->fired = ev->timestamp_ns;
      snprintf(e->ip, sizeof e->ip, "%s", x->ip);
      e->end_ns = ev->timestamp_ns;
      e->first_ns = x->t[0];
      e->n = x->n;
      memcpy(e->ids, x->ids, sizeof e->ids);
      x->n = 0;
    }
  }
  *addresses = nw;
  return n;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* (a) loghub OpenSSH */
static void test_loghub_openssh_brute_force(void **state) {
  (void)state;
  char log[1024], rules[1024];
  if (!data_file("loghub/OpenSSH/OpenSSH_2k.log", log, sizeof log)) skip();
  snprintf(rules, sizeof rules, "%s/examples/rules/linux/sshd-brute-force.yml",
           parry_test_source_dir());

  /* the same normalized events the detector sees */
  parry_test_run_t n =
      parry_test_cli((char *[]){"parry", "normalize", "--format", "syslog", log, NULL});
  assert_int_equal(n.rc, 0);
  list_t events = parse_lines(n.out, false);
  parry_test_run_free(&n);
  assert_true(events.n >= 2000);
  expected_t want[128];
  size_t failures, addresses;
  size_t suppressed = 0;
  size_t n_want = sliding_count(&events, want, 128, &failures, &addresses, &suppressed);
  /* the data's README: 520 "Failed password" lines from 23 addresses (a
   * "message repeated N times" line is N failures; "Failed none" counts too) */
  assert_true(failures >= 520);
  assert_true(addresses >= 23);
  assert_true(n_want >= 5); /* several addresses go over 10 in 5 minutes */
  assert_true(suppressed > 0); /* and some keep at it */

  /* the detector, on the raw lines, both with a second thread and without */
  parry_test_run_t r = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog", "--rules",
                                                 rules, "--threads", "1", log, NULL});
  assert_int_equal(r.rc, 0);
  parry_test_run_t r0 = parry_test_cli((char *[]){"parry", "detect", "--format", "syslog",
                                                  "--rules", rules, "--threads", "0", log, NULL});
  assert_int_equal(r0.rc, 0);
  assert_string_equal(r.out, r0.out);
  parry_test_run_free(&r0);
  char summary[128];
  snprintf(summary, sizeof summary, "signals=%zu correlation_alerts=%zu late=0 suppressed=%zu",
           failures, n_want, suppressed);
  if (!strstr(r.err, summary)) fail_msg("expected \"%s\" in: %s", summary, r.err);
  list_t alerts = parse_lines(r.out, true);
  assert_int_equal(alerts.n, n_want);

  /* the same alerts: match each expected one to a distinct alert */
  bool used[128] = {0};
  for (size_t i = 0; i < n_want; i++) {
    const expected_t *e = &want[i];
    size_t found = SIZE_MAX;
    for (size_t j = 0; j < alerts.n && found == SIZE_MAX; j++) {
      const Parry__V1__Alert *a = alerts.items[j];
      if (!used[j] && strcmp(group(a, "source.ip"), e->ip) == 0 && a->window_end_ns == e->end_ns)
        found = j;
    }
    if (found == SIZE_MAX) fail_msg("no alert for %s ending at %" PRId64, e->ip, e->end_ns);
    used[found] = true;
    const Parry__V1__Alert *a = alerts.items[found];
    assert_string_equal(a->rule_id, "1bb80dc9-fe2a-4e58-b74c-2a4c5a3aa0d3");
    assert_string_equal(a->rule_level, "high");
    assert_int_equal(a->n_group_by, 1);
    assert_int_equal(a->count, 10);
    assert_int_equal(e->n, 10);
    assert_int_equal(a->suppressed, e->suppressed);
    /* the window: it holds the ten failures and spans at most 5 minutes */
    assert_true(a->has_window);
    assert_true(a->window_start_ns <= e->first_ns);
    assert_true(a->window_end_ns - a->window_start_ns <= 300 * SEC);
    assert_true(a->timestamp_ns >= a->window_start_ns && a->timestamp_ns <= a->window_end_ns);
    /* the contributing events are exactly the ten the plain count holds */
    assert_int_equal(a->n_events, 10);
    const char *got[10], *exp[10];
    for (size_t k = 0; k < 10; k++) {
      got[k] = a->events[k]->id;
      exp[k] = e->ids[k];
    }
    qsort(got, 10, sizeof *got, cmp_str);
    qsort(exp, 10, sizeof *exp, cmp_str);
    for (size_t k = 0; k < 10; k++) assert_string_equal(got[k], exp[k]);
  }

  /* the NDJSON that `parry normalize` wrote gives the very same alerts */
  char nd[] = "/tmp/parry-test-bf-XXXXXX";
  int fd = mkstemp(nd);
  assert_true(fd >= 0);
  n = parry_test_cli((char *[]){"parry", "normalize", "--format", "syslog", log, NULL});
  assert_int_equal(write(fd, n.out, n.out_len), (ssize_t)n.out_len);
  close(fd);
  parry_test_run_free(&n);
  parry_test_run_t r2 = parry_test_cli((char *[]){"parry", "detect", "--rules", rules, nd, NULL});
  unlink(nd);
  assert_int_equal(r2.rc, 0);
  assert_string_equal(r2.out, r.out);
  parry_test_run_free(&r2);

  /* which addresses: printed for the log, asserted through the above */
  printf("# %zu failures from %zu addresses; %zu alerts for:", failures, addresses, n_want);
  for (size_t i = 0; i < n_want; i++) {
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++) dup = strcmp(want[j].ip, want[i].ip) == 0;
    if (!dup) printf(" %s", want[i].ip);
  }
  printf("\n");
  free_alerts(&alerts);
  free_events(&events);
  parry_test_run_free(&r);
}

/* ---- (b) Windows samples ------------------------------------------------ */

static const char *bruteforce_dir =
    "evtx-samples/EVTX-to-MITRE-Attack/TA0006-Credential Access/T1110.xxx-Brut force";

/* `parry detect --format windows` of one sample with some rules. */
static list_t detect_windows(const char *rules, const char *rules2, const char *file,
                             parry_test_run_t *keep) {
  char *argv[12];
  int k = 0;
  argv[k++] = "parry";
  argv[k++] = "detect";
  argv[k++] = "--format";
  argv[k++] = "windows";
  argv[k++] = "--rules";
  argv[k++] = (char *)rules;
  if (rules2) {
    argv[k++] = "--rules";
    argv[k++] = (char *)rules2;
  }
  argv[k++] = (char *)file;
  argv[k] = NULL;
  *keep = parry_test_cli(argv);
  if (keep->rc != 0) fail_msg("parry detect failed: %s", keep->err);
  return parse_lines(keep->out, true);
}

/* The 4648 events of one (IpAddress, Computer), in input (= time) order. */
typedef struct {
  char key[256];
  char users[512][64];
  int64_t t[512];
  bool machine[512]; /* TargetUserName ends with '$' */
  size_t n;
} spray_t;

/* Value count with the engine's documented semantics, written plainly: at
 * each event, the distinct accounts among the group's events in
 * [t - 5m, t]; at 5 an alert, and the window starts empty again. */
static size_t spray_alerts(const spray_t *s, bool skip_machine, size_t *most) {
  size_t alerts = 0, from = 0; /* events before `from` were consumed by an alert */
  *most = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (skip_machine && s->machine[i]) continue;
    size_t distinct = 0;
    for (size_t j = from; j <= i; j++) {
      if ((skip_machine && s->machine[j]) || s->t[j] < s->t[i] - 300 * SEC) continue;
      bool seen = false;
      for (size_t k = from; k < j && !seen; k++)
        seen = !(skip_machine && s->machine[k]) && s->t[k] >= s->t[i] - 300 * SEC &&
               strcmp(s->users[k], s->users[j]) == 0;
      distinct += !seen;
    }
    if (distinct > *most) *most = distinct;
    if (distinct >= 5) {
      alerts++;
      from = i + 1;
    }
  }
  return alerts;
}

static const char *field(const Parry__V1__Event *ev, const char *name, char *buf, size_t size) {
  parry_field_t f;
  char tmp[PARRY_FIELD_TEXT_MAX];
  if (parry_event_get(ev, name, &f) == PARRY_FIELD_ABSENT) return NULL;
  size_t len;
  const char *t = parry_field_text(&f, tmp, sizeof tmp, &len);
  if (!t) return NULL;
  snprintf(buf, size, "%.*s", (int)len, t);
  return buf;
}

/* DeepBlueCLI's password spray: 4648 logons with explicit credentials of
 * many accounts towards one address. Hayabusa's "PW Spray" (value_count of
 * TargetUserName >= 5 per IpAddress and Computer in 5 minutes) fires exactly
 * as often, for exactly the groups, as a plain count finds; so does our
 * example's spray rule (4648 and remote 4625, machine accounts left out). */
static void test_windows_password_spray(void **state) {
  (void)state;
  char file[1024], hay[1024], ours[1024];
  if (!data_file("evtx-samples/DeepBlueCLI/password-spray.jsonl", file, sizeof file)) skip();
  if (!data_file("hayabusa-rules/Sec_4648_Med_ExplicitLogon_PW-Spray_Correlation.yml", hay,
                 sizeof hay))
    skip();
  snprintf(ours, sizeof ours, "%s/examples/rules/windows/password-guessing.yml",
           parry_test_source_dir());

  parry_test_run_t n =
      parry_test_cli((char *[]){"parry", "normalize", "--format", "windows", file, NULL});
  assert_int_equal(n.rc, 0);
  list_t events = parse_lines(n.out, false);
  parry_test_run_free(&n);
  static spray_t groups[16];
  size_t ng = 0;
  int64_t last = INT64_MIN;
  for (size_t i = 0; i < events.n; i++) {
    const Parry__V1__Event *ev = events.items[i];
    assert_true(ev->timestamp_ns >= last); /* in time order: lateness plays no part */
    last = ev->timestamp_ns;
    char b1[256], b2[256], b3[256], b4[64];
    const char *id = field(ev, "EventID", b4, sizeof b4);
    const char *ip = field(ev, "IpAddress", b1, sizeof b1);
    const char *comp = field(ev, "Computer", b2, sizeof b2);
    const char *user = field(ev, "TargetUserName", b3, sizeof b3);
    if (!id || strcmp(id, "4648") != 0 || !ip || strcmp(ip, "-") == 0 || !comp || !user)
      continue;
    char key[256];
    snprintf(key, sizeof key, "%s|%s", ip, comp);
    spray_t *g = NULL;
    for (size_t j = 0; j < ng && !g; j++)
      if (strcmp(groups[j].key, key) == 0) g = &groups[j];
    if (!g) {
      assert_true(ng < 16);
      g = &groups[ng++];
      snprintf(g->key, sizeof g->key, "%s", key);
    }
    assert_true(g->n < 512);
    snprintf(g->users[g->n], sizeof g->users[0], "%s", user);
    g->machine[g->n] = *user && user[strlen(user) - 1] == '$';
    g->t[g->n++] = ev->timestamp_ns;
  }
  free_events(&events);

  for (int pass = 0; pass < 2; pass++) {
    const char *rules = pass == 0 ? hay : ours;
    const char *rule_id = pass == 0 ? "49d15187-4203-4e11-8acd-8736f25b6608"
                                    : "60310566-ab43-43cb-9d86-f998b662241a";
    size_t want = 0, spraying = 0;
    const char *spray_key = NULL;
    for (size_t j = 0; j < ng; j++) {
      size_t most, a = spray_alerts(&groups[j], pass == 1, &most);
      printf("# %s: up to %zu distinct accounts in a window, %zu alerts expected\n",
             groups[j].key, most, a);
      want += a;
      if (a) {
        spraying++;
        spray_key = groups[j].key;
      }
    }
    assert_int_equal(spraying, 1); /* the sample is one spray */
    parry_test_run_t r;
    list_t alerts = detect_windows(rules, NULL, file, &r);
    assert_int_equal(alerts.n, want);
    /* events copied to the second thread (Windows ones are rich maps) give
     * exactly what one thread gives */
    parry_test_run_t r0 =
        parry_test_cli((char *[]){"parry", "detect", "--format", "windows", "--threads", "0",
                                  "--rules", (char *)rules, file, NULL});
    assert_int_equal(r0.rc, 0);
    assert_string_equal(r0.out, r.out);
    parry_test_run_free(&r0);
    for (size_t i = 0; i < alerts.n; i++) {
      const Parry__V1__Alert *a = alerts.items[i];
      assert_string_equal(a->rule_id, rule_id);
      char key[256];
      snprintf(key, sizeof key, "%s|%s", group(a, "IpAddress"), group(a, "Computer"));
      assert_string_equal(key, spray_key);
      assert_true(a->count >= 5);
      assert_true(a->window_end_ns - a->window_start_ns <= 300 * SEC);
    }
    printf("# %s: %zu alerts\n", pass == 0 ? "hayabusa PW Spray" : "example spray", alerts.n);
    free_alerts(&alerts);
    parry_test_run_free(&r);
  }
}

/* Hayabusa's 4625 rules (PW Guessing, User Guessing) leave out failures with
 * IpAddress "-" (their base rules' filter), and every 4625 of the shared
 * brute-force samples is such a local one (OpenSSH for Windows and a local
 * console logon record no address): so they raise nothing there, rightly.
 * That the correlation itself works on these events is shown by the same
 * PW Guessing correlation (type, group-by, timespan and threshold copied)
 * over a base rule without that filter, written here, and by our example,
 * which keys guessing on the account and host instead of the address. */
static void test_windows_bruteforce_4625(void **state) {
  (void)state;
  char local[1024], ssh_valid[1024], ssh_nouser[1024], hay1[1024], hay2[1024], ours[1024];
  char rel[512];
  snprintf(rel, sizeof rel, "%s/ID 4776,4625-AccountRestore local bruteforce.jsonl",
           bruteforce_dir);
  if (!data_file(rel, local, sizeof local)) skip();
  snprintf(rel, sizeof rel, "%s/ID4625-OpenSSH brutforce with valid users.jsonl", bruteforce_dir);
  if (!data_file(rel, ssh_valid, sizeof ssh_valid)) skip();
  snprintf(rel, sizeof rel, "%s/ID4625-OpenSSH brutforce with non existing users.jsonl",
           bruteforce_dir);
  if (!data_file(rel, ssh_nouser, sizeof ssh_nouser)) skip();
  if (!data_file("hayabusa-rules/Sec_4625_Med_LogonFail_WrongPW_PW-Guessing_Correlation.yml",
                 hay1, sizeof hay1) ||
      !data_file("hayabusa-rules/Sec_4625_Med_LogonFail_UserGuessing_Correlation.yml", hay2,
                 sizeof hay2))
    skip();
  snprintf(ours, sizeof ours, "%s/examples/rules/windows/password-guessing.yml",
           parry_test_source_dir());

  const char *files[] = {local, ssh_valid, ssh_nouser};
  for (size_t i = 0; i < 3; i++) {
    parry_test_run_t r;
    list_t alerts = detect_windows(hay1, hay2, files[i], &r);
    assert_int_equal(alerts.n, 0);
    /* the base rules did match; their filter took the local failures out */
    assert_non_null(strstr(r.err, "correlations=2 signals=0 "));
    free_alerts(&alerts);
    parry_test_run_free(&r);
  }

  /* PW Guessing's correlation over an unfiltered base rule */
  char dir[] = "/tmp/parry-test-bf-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char unfiltered[256];
  snprintf(unfiltered, sizeof unfiltered, "%s/pw-guessing-local.yml", dir);
  FILE *f = fopen(unfiltered, "w");
  assert_non_null(f);
  fputs("title: PW Guessing (local failures too)\n"
        "id: 9d4f3e52-7a43-4c1e-9f0b-5b1b7f0c2a11\n"
        "tags: [attack.t1110.003]\n"
        "correlation:\n"
        "  type: event_count\n"
        "  rules: [incorrect_password_any_address]\n"
        "  group-by: [TargetUserName, TargetDomainName, IpAddress, LogonType, ProcessName,\n"
        "             LogonProcessName]\n"
        "  timespan: 5m\n"
        "  condition: {gte: 5}\n"
        "level: medium\n"
        "---\n"
        "title: Failed Logon - Incorrect Password, any address\n"
        "id: 2f3c9a40-1d5e-4b7a-8e65-0c9d1a2b3c4d\n"
        "name: incorrect_password_any_address\n"
        "logsource: {product: windows, service: security}\n"
        "detection:\n"
        "  selection: {Channel: Security, EventID: 4625, SubStatus: '0xc000006a'}\n"
        "  filter: {TargetUserName|endswith: '$'}\n"
        "  condition: selection and not filter\n"
        "level: medium\n",
        f);
  fclose(f);
  /* AccountRestore: 8 wrong passwords each for Admin and Administrator */
  parry_test_run_t r;
  list_t alerts = detect_windows(unfiltered, NULL, local, &r);
  assert_int_equal(alerts.n, 2);
  const char *users[2];
  for (size_t i = 0; i < 2; i++) {
    const Parry__V1__Alert *a = alerts.items[i];
    assert_string_equal(a->rule_id, "9d4f3e52-7a43-4c1e-9f0b-5b1b7f0c2a11");
    assert_string_equal(group(a, "IpAddress"), "-");
    assert_int_equal(a->count, 5);
    users[i] = group(a, "TargetUserName");
  }
  qsort(users, 2, sizeof *users, cmp_str);
  assert_string_equal(users[0], "Admin");
  assert_string_equal(users[1], "Administrator");
  free_alerts(&alerts);
  parry_test_run_free(&r);
  unlink(unfiltered);
  rmdir(dir);

  /* our example: guessing per account and host */
  struct {
    const char *file, *user, *computer;
    size_t alerts;
  } cases[] = {
      {local, NULL, "WIN", 2},                                   /* Admin, Administrator */
      {ssh_valid, "admmig@offsec.lan", "fs01.offsec.lan", 1},    /* exactly 5 failures */
      {ssh_nouser, "NOUSER", "fs01.offsec.lan", 1},              /* 5 unknown-user failures */
  };
  for (size_t i = 0; i < 3; i++) {
    alerts = detect_windows(ours, NULL, cases[i].file, &r);
    assert_int_equal(alerts.n, cases[i].alerts);
    for (size_t j = 0; j < alerts.n; j++) {
      const Parry__V1__Alert *a = alerts.items[j];
      assert_string_equal(a->rule_id, "b6186b61-1faf-4da4-b419-7dcc9ef13ef6");
      assert_string_equal(group(a, "Computer"), cases[i].computer);
      if (cases[i].user) assert_string_equal(group(a, "TargetUserName"), cases[i].user);
      assert_int_equal(a->count, 5);
    }
    free_alerts(&alerts);
    parry_test_run_free(&r);
  }
}

/* The second thread gets deep copies of the events: alerts that carry the
 * whole event (detection rules that alert on their own) must be the same
 * bytes as with one thread, for every event of the Windows samples. */
static void test_threads_copy_whole_events(void **state) {
  (void)state;
  const char *data = parry_test_data_dir();
  if (!data) skip();
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/evtx-samples/EVTX-to-MITRE-Attack/TA0006-Credential Access",
           data);
  if (access(dir, R_OK) != 0) {
    printf("# skipping: no %s\n", dir);
    skip();
  }
  char tmp[] = "/tmp/parry-test-bf-XXXXXX";
  assert_non_null(mkdtemp(tmp));
  char rule[256];
  snprintf(rule, sizeof rule, "%s/any.yml", tmp);
  FILE *f = fopen(rule, "w");
  assert_non_null(f);
  fputs("title: every Windows event\nid: 0b6f1d3e-5a2c-4f7e-9d1b-2c3e4f5a6b7c\nlevel: low\n"
        "logsource: {product: windows}\n"
        "detection: {sel: {EventID|exists: true}, condition: sel}\n",
        f);
  fclose(f);
  char *files[64];
  size_t n = 0;
  char pattern[1100];
  snprintf(pattern, sizeof pattern, "%s/*/*.jsonl", dir);
  glob_t g;
  assert_int_equal(glob(pattern, 0, NULL, &g), 0);
  for (size_t i = 0; i < g.gl_pathc && n < 40; i++) files[n++] = strdup(g.gl_pathv[i]);
  globfree(&g);
  assert_true(n >= 5);
  char *argv[64];
  int k = 0;
  argv[k++] = "parry";
  argv[k++] = "detect";
  argv[k++] = "--format";
  argv[k++] = "windows";
  argv[k++] = "--rules";
  argv[k++] = rule;
  argv[k++] = "--threads";
  argv[k++] = "1";
  for (size_t i = 0; i < n; i++) argv[k++] = files[i];
  argv[k] = NULL;
  parry_test_run_t r1 = parry_test_cli(argv);
  argv[7] = "0";
  parry_test_run_t r0 = parry_test_cli(argv);
  assert_int_equal(r1.rc, 0);
  assert_int_equal(r0.rc, 0);
  assert_true(r1.out_len > 100000); /* hundreds of whole events */
  assert_string_equal(r1.out, r0.out);
  assert_string_equal(r1.err, r0.err);
  parry_test_run_free(&r0);
  parry_test_run_free(&r1);
  for (size_t i = 0; i < n; i++) free(files[i]);
  unlink(rule);
  rmdir(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loghub_openssh_brute_force),
      cmocka_unit_test(test_windows_password_spray),
      cmocka_unit_test(test_windows_bruteforce_4625),
      cmocka_unit_test(test_threads_copy_whole_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
