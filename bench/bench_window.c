/* The correlation window engine in process: updates per second per core and
 * state bytes per key.
 *
 *   bench_window [--keys N] [--per-key K] [--hot-keys H] [--hot-updates U]
 *
 * The rule is the typical one: event_count, threshold 10 (gte 10) over 5
 * minutes, grouped by one field (an IPv4 address as text). Signals are built
 * once and only their group-by value and time change per update, so the
 * figure is the engine's own cost (key encoding, hashing, table, window),
 * timed in CPU time of this thread.
 *
 * Phase 1, memory: N keys (default 1,000,000) each get K signals (default 9,
 * the most a key holds without firing: the worst steady state) 1 s apart,
 * round-robin over the keys. Printed: the engine's own byte accounting per
 * key and the RSS growth per key, with the default options
 * (parry_corr_options_default: event references on) and with event
 * references off (max_event_refs 0), each in a forked process.
 * Phase 2, speed: H hot keys (default 10,000) get U updates (default
 * 20,000,000) round-robin, alerts firing every 10th update of a key, default
 * options: allowed lateness 0 and no changelog sink; again with a sink that
 * receives every state change; and with the fleet's default allowed lateness
 * (setting correlator.allowed_lateness, 1 min: every signal waits in its
 * key's reorder buffer).
 * Last, the fleet's case: default lateness and a changelog sink.
 * --phase memory|refs_off|speed|changelog|lateness|changelog_lateness runs
 * one phase (e.g. under callgrind); default all.
 * Output lines are key=value; the summary the lead records:
 *   updates_per_s_lateness_0, updates_per_s_lateness_default,
 *   bytes_per_key_default_engine, bytes_per_key_default_rss,
 *   bytes_per_key_refs_off_engine, bytes_per_key_refs_off_rss. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "window/correlate.h"

static const char RULES[] =
    "title: brute force\nid: bf\ncorrelation:\n  type: event_count\n  rules: [fail]\n"
    "  group-by: [src]\n  timespan: 5m\n  condition: {gte: 10}\n"
    "---\ntitle: fail\nname: fail\nlogsource: {product: bench}\n"
    "detection: {s: {k: fail}, condition: s}\n";

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
  fclose(f);
  return res * sysconf(_SC_PAGESIZE);
}

typedef struct {
  uint64_t alerts, state_bytes, states;
} counts_t;

static void on_alert(void *o, const Parry__V1__Alert *a) {
  (void)a;
  ((counts_t *)o)->alerts++;
}
static void on_state(void *o, const char *key, const uint8_t *b, size_t len) {
  (void)key;
  (void)b;
  ((counts_t *)o)->states++;
  ((counts_t *)o)->state_bytes += len;
}

typedef struct {
  Parry__V1__Signal sig;
  Parry__V1__Label label, *lp;
  Parry__V1__Event ev;
  char value[32];
} bsig_t;

static void sig_init(bsig_t *s) {
  parry__v1__signal__init(&s->sig);
  parry__v1__label__init(&s->label);
  parry__v1__event__init(&s->ev);
  s->sig.schema_version = 1;
  s->sig.correlation_id = "bf";
  s->sig.rule_id = "fail";
  s->label.key = "src";
  s->label.value = s->value;
  s->lp = &s->label;
  s->sig.n_group_by = 1;
  s->sig.group_by = &s->lp;
  s->ev.id = "0f3c2a9e5b7d41c8a6e2f0b1c3d5e7f9"; /* 32 hex, like real event ids */
  s->sig.event = &s->ev;
}

static void key_of(bsig_t *s, size_t k) {
  snprintf(s->value, sizeof s->value, "10.%zu.%zu.%zu", (k >> 16) & 255, (k >> 8) & 255, k & 255);
}

/* the fleet's default (lib/settings.def correlator.allowed_lateness) */
#define FLEET_LATENESS_NS (60LL * 1000000000LL)

static int memory_phase(const parry_corr_set_t *set, size_t keys, size_t per_key, bool refs_off) {
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  if (refs_off) o.max_event_refs = 0;
  const char *tag = refs_off ? "refs_off" : "default";
  o.idle_expiry_ns = 86400LL * 1000000000LL;
  counts_t c = {0};
  parry_corr_sink_t sink = {on_alert, NULL, &c, NULL};
  bsig_t s;
  sig_init(&s);
  /* the key strings, made before the baseline (not engine memory) */
  char (*vals)[16] = malloc(keys * sizeof *vals);
  for (size_t k = 0; k < keys; k++) {
    key_of(&s, k);
    memcpy(vals[k], s.value, sizeof vals[k]);
  }
  long rss0 = rss_bytes();
  parry_corr_engine_t *e = parry_corr_engine_new(set, &o);
  char err[256];
  int64_t t0 = 1700000000LL * 1000000000LL;
  double c0 = cpu_now();
  for (size_t r = 0; r < per_key; r++)
    for (size_t k = 0; k < keys; k++) {
      s.label.value = vals[k];
      s.sig.timestamp_ns = t0 + (int64_t)r * 1000000000LL;
      if (parry_corr_engine_feed(e, &s.sig, &sink, err, sizeof err) != PARRY_OK) {
        fprintf(stderr, "feed: %s\n", err);
        return -1;
      }
    }
  double secs = cpu_now() - c0;
  long rss1 = rss_bytes();
  parry_corr_stats_t st;
  parry_corr_engine_stats(e, &st);
  printf("memory_%s_max_event_refs=%zu\n", tag, o.max_event_refs);
  printf("memory_%s_keys=%llu\n", tag, (unsigned long long)st.keys);
  printf("memory_%s_updates=%llu\n", tag, (unsigned long long)st.updates);
  printf("memory_%s_cold_updates_per_s=%.0f\n", tag, (double)st.updates / secs);
  printf("memory_%s_alerts=%llu\n", tag, (unsigned long long)c.alerts);
  printf("bytes_per_key_%s_engine=%.1f\n", tag, (double)st.bytes / (double)st.keys);
  printf("bytes_per_key_%s_rss=%.1f\n", tag, (double)(rss1 - rss0) / (double)st.keys);
  parry_corr_engine_destroy(e);
  free(vals);
  return 0;
}

static int speed_phase(const parry_corr_set_t *set, size_t keys, size_t updates, bool changelog,
                       int64_t lateness_ns) {
  parry_corr_options_t o;
  parry_corr_options_default(&o);
  o.allowed_lateness_ns = lateness_ns;
  counts_t c = {0};
  parry_corr_sink_t sink = {on_alert, changelog ? on_state : NULL, &c, NULL};
  bsig_t s;
  sig_init(&s);
  /* the key strings, made once */
  char (*vals)[32] = malloc(keys * sizeof *vals);
  for (size_t k = 0; k < keys; k++) {
    key_of(&s, k);
    memcpy(vals[k], s.value, sizeof s.value);
  }
  parry_corr_engine_t *e = parry_corr_engine_new(set, &o);
  char err[256];
  int64_t t0 = 1700000000LL * 1000000000LL;
  double c0 = cpu_now();
  size_t k = 0;
  int64_t t = t0;
  for (size_t i = 0; i < updates; i++) {
    s.label.value = vals[k];
    s.sig.timestamp_ns = t;
    if (parry_corr_engine_feed(e, &s.sig, &sink, err, sizeof err) != PARRY_OK) {
      fprintf(stderr, "feed: %s\n", err);
      return -1;
    }
    if (++k == keys) {
      k = 0;
      t += 1000000000LL;
    }
  }
  double secs = cpu_now() - c0;
  const char *tag = changelog ? (lateness_ns ? "_with_changelog_lateness_default" : "_with_changelog")
                   : lateness_ns ? "_lateness_default"
                                 : "_lateness_0";
  printf("updates_per_s%s=%.0f\n", tag, (double)updates / secs);
  printf("alerts%s=%llu\n", tag, (unsigned long long)c.alerts);
  if (changelog)
    printf("changelog_bytes_per_update%s=%.1f\n", lateness_ns ? "_lateness_default" : "",
           (double)c.state_bytes / (double)(c.states ? c.states : 1));
  parry_corr_engine_destroy(e);
  free(vals);
  return 0;
}

int main(int argc, char **argv) {
  size_t keys = 1000000, per_key = 9, hot = 10000, hot_updates = 20000000;
  const char *phase = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    size_t v = strtoull(argv[i + 1], NULL, 10);
    if (!strcmp(argv[i], "--phase")) phase = argv[i + 1];
    else if (!strcmp(argv[i], "--keys")) keys = v;
    else if (!strcmp(argv[i], "--per-key")) per_key = v;
    else if (!strcmp(argv[i], "--hot-keys")) hot = v;
    else if (!strcmp(argv[i], "--hot-updates")) hot_updates = v;
    else {
      fprintf(stderr, "usage: bench_window [--keys N] [--per-key K] [--hot-keys H] [--hot-updates U]\n"
                      "                    [--phase memory|refs_off|speed|changelog|lateness|changelog_lateness]\n");
      return 2;
    }
  }
  char err[256];
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("bench.yml", RULES, strlen(RULES), NULL, &rep,
                                                    err, sizeof err);
  if (!rs) {
    fprintf(stderr, "load: %s\n", err);
    return 1;
  }
  parry_corr_set_t *set = parry_corr_compile(rs, &rep, err, sizeof err);
  if (!set || parry_corr_set_count(set) != 1) {
    fprintf(stderr, "compile failed\n");
    return 1;
  }
  printf("rule=event_count_gte10_5m\n");
  int rc = 0;
  /* each memory phase in its own process, so RSS growth is not hidden by
   * memory an earlier phase freed */
  bool all = !strcmp(phase, "all");
  for (int refs_off = 0; refs_off <= 1; refs_off++) {
    if (!all && strcmp(phase, refs_off ? "refs_off" : "memory") != 0) continue;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      int r = memory_phase(set, keys, per_key, refs_off);
      fflush(stdout);
      _exit(r ? 1 : 0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
      rc = 1;
  }
  if (all || !strcmp(phase, "speed")) rc |= speed_phase(set, hot, hot_updates, false, 0);
  if (all || !strcmp(phase, "changelog")) rc |= speed_phase(set, hot, hot_updates / 4, true, 0);
  if (all || !strcmp(phase, "lateness"))
    rc |= speed_phase(set, hot, hot_updates, false, FLEET_LATENESS_NS);
  /* the fleet's case: lateness and a changelog (every update serializes
   * the key, reorder buffer included) */
  if (all || !strcmp(phase, "changelog_lateness"))
    rc |= speed_phase(set, hot, hot_updates / 4, true, FLEET_LATENESS_NS);
  parry_corr_set_destroy(set);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  return rc ? 1 : 0;
}
