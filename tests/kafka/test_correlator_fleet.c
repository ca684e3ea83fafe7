/* A fleet of parry-correlator processes against a real broker (KAFKA_BOOTSTRAP;
 * skipped when unset unless PARRY_REQUIRE_SERVICES=1).
 *
 * The build's bin/parry-correlator is spawned (posix_spawn) as separate
 * replicas, each with its own correlator.instance_id, configured with --set,
 * on 6-partition topics. The stream: brute-force bursts from 60 source IPs
 * (some over the threshold, some under, half of them twice), 12 more bursts
 * that straddle the point where the stream is split, and accepted logins,
 * in event time order, keyed by source IP. Whatever
 * happens to the fleet, the alerts read back (read_committed) must be
 * exactly those of the offline run over the same events (same ids, no
 * duplicate, none missing):
 *   - three replicas, the whole stream;
 *   - three replicas, half the stream, a slice more, one replica SIGKILLed
 *     while windows and transactions (committed every 3 s in this run) are
 *     open, then the rest;
 *   - three replicas, half the stream, a slice more, one replica frozen
 *     (SIGSTOP) past the session timeout with transactions open and thawed
 *     (SIGCONT): a zombie whose commits must fail, then the rest;
 *   - two replicas, half the stream, a third added, then the rest;
 *   - the stages apart (correlator.stages): one process detects, two
 *     correlate.
 * Only the PIDs spawned here are signalled; every one is reaped, also when
 * an assertion fails (the test's teardown). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 90000
#include "parry/log.h"
#include "test_correlator_stage2_support.h"

#define PARTITIONS 6
#define SPLIT_T (T0 + 700) /* event time where the stream is split */
#define MAX_REPLICAS 4

extern char **environ;

static rd_kafka_t *g_admin;
static char g_dir[256], g_bin[4200];

typedef struct {
  pid_t pid;
  char log[320];
} replica_t;

static replica_t g_rep[MAX_REPLICAS];
/* correlator.commit_interval of the replicas: long in the kill scenario, so
 * that the kill lands inside open transactions. */
static const char *g_commit_interval = "100ms";
static const char *g_txn_timeout = "10s";
static int g_scenario;             /* in the log names */
static const char *g_stages[MAX_REPLICAS] = {"both", "both", "both", "both"};
static int g_started, g_passed;    /* runs: logs are removed only if all passed */

typedef struct {
  char events[160], signals[160], state[160], alerts[160], dlq[160], group[160], cgroup[160];
} topics_t;

static topics_t g_t;

static void dump_log(const replica_t *r) {
  FILE *fp = fopen(r->log, "r");
  if (!fp) return;
  char line[2048];
  /* The last lines are what explains a failure; the file is short. */
  char *lines[40] = {0};
  size_t n = 0;
  while (fgets(line, sizeof line, fp)) {
    free(lines[n % 40]);
    lines[n % 40] = parry_xstrdup(line);
    n++;
  }
  fclose(fp);
  printf("# --- %s (last lines)\n", r->log);
  for (size_t i = n > 40 ? n - 40 : 0; i < n; i++) printf("# %s", lines[i % 40]);
  for (size_t i = 0; i < 40; i++) free(lines[i]);
}

/* Fail when a replica exited that should be running. */
static void check_alive(void) {
  for (int i = 0; i < MAX_REPLICAS; i++) {
    if (!g_rep[i].pid) continue;
    int status;
    pid_t r = waitpid(g_rep[i].pid, &status, WNOHANG);
    if (r == g_rep[i].pid) {
      g_rep[i].pid = 0;
      dump_log(&g_rep[i]);
      fail_msg("replica %d exited early (status %d)", i, status);
    }
  }
}

static void spawn_replica(int i) {
  char kv[16][512];
  int k = 0;
  snprintf(kv[k++], sizeof kv[0], "kafka.bootstrap.servers=%s", g_bootstrap);
  snprintf(kv[k++], sizeof kv[0], "topics.events=%s", g_t.events);
  snprintf(kv[k++], sizeof kv[0], "topics.signals=%s", g_t.signals);
  snprintf(kv[k++], sizeof kv[0], "topics.state=%s", g_t.state);
  snprintf(kv[k++], sizeof kv[0], "topics.alerts=%s", g_t.alerts);
  snprintf(kv[k++], sizeof kv[0], "topics.dlq=%s", g_t.dlq);
  snprintf(kv[k++], sizeof kv[0], "correlator.group=%s", g_t.group);
  snprintf(kv[k++], sizeof kv[0], "correlator.correlate_group=%s", g_t.cgroup);
  snprintf(kv[k++], sizeof kv[0], "correlator.rules=%s", g_rule_path);
  snprintf(kv[k++], sizeof kv[0], "correlator.instance_id=replica-%d", i);
  snprintf(kv[k++], sizeof kv[0], "correlator.allowed_lateness=0");
  snprintf(kv[k++], sizeof kv[0], "correlator.transaction_timeout=%s", g_txn_timeout);
  snprintf(kv[k++], sizeof kv[0], "kafka.session.timeout.ms=6000");
  snprintf(kv[k++], sizeof kv[0], "http.enabled=false");
  snprintf(kv[k++], sizeof kv[0], "correlator.commit_interval=%s", g_commit_interval);
  snprintf(kv[k++], sizeof kv[0], "correlator.stages=%s", g_stages[i]);
  char *argv[2 + 2 * 16 + 1];
  int a = 0;
  argv[a++] = g_bin;
  for (int j = 0; j < k; j++) {
    argv[a++] = "--set";
    argv[a++] = kv[j];
  }
  argv[a] = NULL;
  snprintf(g_rep[i].log, sizeof g_rep[i].log, "%s/run%d-replica-%d.log", g_dir, g_scenario, i);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, g_rep[i].log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  /* Configuration by --set only: PARRY_* variables of the test's own
   * environment would be read as settings (and unknown ones refused). */
  size_t ne = 0;
  while (environ[ne]) ne++;
  char **env = parry_xcalloc(ne + 1, sizeof *env);
  size_t k2 = 0;
  for (size_t j = 0; j < ne; j++)
    if (strncmp(environ[j], "PARRY_", 6) != 0) env[k2++] = environ[j];
  int rc = posix_spawn(&g_rep[i].pid, g_bin, &fa, NULL, argv, env);
  free(env);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) fail_msg("posix_spawn %s: %s", g_bin, strerror(rc));
}

/* Wait until replica i logs that it is ready: its stages have their
 * partitions and stage 2 restored their windows. The group rebalanced. */
/* Whether replica i's log has a line containing text. */
static bool log_has(int i, const char *text) {
  FILE *fp = fopen(g_rep[i].log, "r");
  char line[4096];
  bool found = false;
  while (fp && !found && fgets(line, sizeof line, fp)) found = strstr(line, text) != NULL;
  if (fp) fclose(fp);
  return found;
}

static void wait_ready(int i) {
  int64_t deadline = parry_test_now_ms() + WAIT_MS;
  while (parry_test_now_ms() < deadline) {
    check_alive();
    FILE *fp = fopen(g_rep[i].log, "r");
    char line[4096];
    bool ready = false;
    while (fp && !ready && fgets(line, sizeof line, fp)) ready = strstr(line, "\"msg\":\"ready\"");
    if (fp) fclose(fp);
    if (ready) return;
    usleep(100000);
  }
  dump_log(&g_rep[i]);
  fail_msg("replica %d not ready", i);
}

/* SIGKILL (no goodbye: its transaction stays open until the broker times it
 * out) and reap. */
static void kill_replica(int i) {
  assert_true(g_rep[i].pid > 0);
  kill(g_rep[i].pid, SIGKILL);
  int status;
  while (waitpid(g_rep[i].pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_rep[i].pid = 0;
}

/* SIGTERM every replica still running; each must exit 0 (committed, left). */
static void stop_all(void) {
  for (int i = 0; i < MAX_REPLICAS; i++)
    if (g_rep[i].pid) kill(g_rep[i].pid, SIGTERM);
  int bad = -1, bad_status = 0;
  for (int i = 0; i < MAX_REPLICAS; i++) {
    if (!g_rep[i].pid) continue;
    int status = 0;
    int64_t deadline = parry_test_now_ms() + 30000;
    pid_t r;
    while ((r = waitpid(g_rep[i].pid, &status, WNOHANG)) == 0 && parry_test_now_ms() < deadline)
      usleep(50000);
    if (r == 0) {
      kill(g_rep[i].pid, SIGKILL);
      waitpid(g_rep[i].pid, &status, 0);
    }
    g_rep[i].pid = 0;
    if (r == 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      bad = i;
      bad_status = status;
      dump_log(&g_rep[i]);
    }
  }
  if (bad >= 0) fail_msg("replica %d did not stop cleanly (status %d)", bad, bad_status);
}

/* Teardown of every test: nothing spawned here survives it. */
static int reap_all(void **state) {
  (void)state;
  for (int i = 0; i < MAX_REPLICAS; i++) {
    if (!g_rep[i].pid) continue;
    kill(g_rep[i].pid, SIGKILL);
    waitpid(g_rep[i].pid, NULL, 0);
    g_rep[i].pid = 0;
  }
  /* Logs stay (in g_dir) unless the test passed: they explain a failure. */
  return 0;
}

static void remove_all_logs(void) {
  if (getenv("PARRY_TEST_KEEP_LOGS") || g_passed != g_started) {
    if (g_started) printf("# replica logs kept in %s\n", g_dir);
    return;
  }
  for (int sc = 0; sc < 5; sc++)
    for (int i = 0; i < MAX_REPLICAS; i++) {
      char path[320];
      snprintf(path, sizeof path, "%s/run%d-replica-%d.log", g_dir, sc, i);
      unlink(path);
    }
}

static void create_topics(void) {
  parry_test_unique_name("parry-fleet-events", g_t.events, sizeof g_t.events);
  parry_test_unique_name("parry-fleet-signals", g_t.signals, sizeof g_t.signals);
  parry_test_unique_name("parry-fleet-state", g_t.state, sizeof g_t.state);
  parry_test_unique_name("parry-fleet-alerts", g_t.alerts, sizeof g_t.alerts);
  parry_test_unique_name("parry-fleet-dlq", g_t.dlq, sizeof g_t.dlq);
  parry_test_unique_name("parry-fleet-group", g_t.group, sizeof g_t.group);
  parry_test_unique_name("parry-fleet-cgroup", g_t.cgroup, sizeof g_t.cgroup);
  static const char *const compact[] = {"cleanup.policy", "compact", NULL};
  const parry_kafka_topic_spec_t specs[] = {
      {g_t.events, PARTITIONS, 1, NULL}, {g_t.signals, PARTITIONS, 1, NULL},
      {g_t.state, PARTITIONS, 1, compact}, {g_t.alerts, PARTITIONS, 1, NULL},
      {g_t.dlq, 1, 1, NULL}};
  const char *names[] = {g_t.events, g_t.signals, g_t.state, g_t.alerts, g_t.dlq};
  char err[1024];
  if (parry_kafka_create_topics(g_admin, specs, 5, 30000, err, sizeof err) ||
      parry_kafka_wait_topics(g_admin, names, 5, 30000, err, sizeof err))
    fail_msg("%s", err);
}

/* 60 IPs, bursts of 3..7 failures 4 s apart starting over ten minutes, half
 * of them again twenty minutes later; accepted logins; straddling bursts. */
static void make_stream(evs_t *e) {
  unsigned seed = 12345;
  for (int i = 0; i < 60; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
    seed = seed * 1103515245u + 12345u;
    int64_t start = T0 + (seed >> 8) % 600;
    int n = 3 + i % 5;
    for (int k = 0; k < n; k++) add_event(e, start + k * 4, ip, false);
    if (i % 2 == 0)
      for (int k = 0; k < 2 + i % 6; k++) add_event(e, start + 1200 + k * 3, ip, false);
    if (i % 7 == 0) add_event(e, start + 30, ip, true);
  }
  /* Bursts that straddle the split (SPLIT_T): their alerts need the
   * windows carried across the kill or the rebalance. */
  for (int i = 0; i < 12; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "198.51.100.%d", i + 1);
    for (int k = 0; k < 6; k++) add_event(e, SPLIT_T - 10 + i % 3 + k * 4, ip, false);
  }
  finish_events(e);
}

static void produce_events(const evs_t *e, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    const Parry__V1__Event *ev = e->v[i].ev;
    size_t n = protobuf_c_message_get_packed_size(&ev->base);
    uint8_t *buf = parry_xmalloc(n ? n : 1);
    protobuf_c_message_pack(&ev->base, buf);
    assert_int_equal(rd_kafka_producev(g_admin, RD_KAFKA_V_TOPIC(g_t.events),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_KEY(e->v[i].ip, strlen(e->v[i].ip)),
                                       RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    free(buf);
  }
  assert_int_equal(rd_kafka_flush(g_admin, 30000), 0);
}

typedef enum { PLAIN, KILL_ONE, STALL_ONE, ADD_ONE, SPLIT_STAGES } scenario_t;

static void run(scenario_t sc) {
  if (!g_bootstrap) skip();
  g_scenario = (int)sc;
  g_started++;
  create_topics();
  evs_t e = {0};
  make_stream(&e);
  /* The split: mid-stream in event time, while bursts are open. */
  size_t half = 0;
  while (half < e.n && e.v[half].t < SPLIT_T) half++;
  wants_t *w1 = parry_xcalloc(1, sizeof *w1), *w = parry_xcalloc(1, sizeof *w);
  offline(&e, half, w1);
  offline(&e, e.n, w);
  size_t corr = 0;
  for (size_t i = 0; i < w->n; i++) corr += w->v[i].group[0] != 0;
  assert_true(corr >= 20);
  assert_true(w1->n > 0 && w->n > w1->n);
  size_t straddling = 0;
  for (size_t i = 0; i < w->n; i++) straddling += strncmp(w->v[i].group, "198.51.100.", 11) == 0;
  for (size_t i = 0; i < w1->n; i++) assert_int_not_equal(strncmp(w1->v[i].group, "198.51.100.", 11), 0);
  assert_int_equal(straddling, 12);
  gots_t *g = parry_xcalloc(1, sizeof *g);

  int first = sc == ADD_ONE ? 2 : 3;
  for (int i = 0; i < first; i++) spawn_replica(i);
  if (sc == PLAIN || sc == SPLIT_STAGES) {
    produce_events(&e, 0, e.n);
  } else {
    produce_events(&e, 0, half);
    /* Wait until the first half's alerts are committed: the fleet is
     * running and has windows open. */
    collect(g_t.alerts, PARTITIONS, w1, g, check_alive);
    if (!all_found(g, w1)) fail_msg("the first half's alerts did not all arrive");
    gots_free(g);
    if (sc == STALL_ONE) {
      /* A zombie: replica 1 freezes (SIGSTOP) with transactions open, past
       * the session timeout, so the group moves its partitions; when it
       * wakes (SIGCONT) its offsets carry a stale generation: the commit
       * fails, it aborts, restores, rejoins. Nothing it did while frozen
       * may show, nothing may be lost. */
      size_t slice = half + (e.n - half) / 3;
      produce_events(&e, half, slice);
      usleep(300000);
      kill(g_rep[1].pid, SIGSTOP);
      usleep(9000000);
      kill(g_rep[1].pid, SIGCONT);
      produce_events(&e, slice, e.n);
    } else if (sc == KILL_ONE) {
      /* A slice more, and the kill while its transactions are open (they
       * commit every 3 s here): replica 1's consumed signals, state records
       * and alerts are aborted by the broker, its partitions re-read. */
      size_t slice = half + (e.n - half) / 3;
      produce_events(&e, half, slice);
      usleep(1000000);
      kill_replica(1);
      produce_events(&e, slice, e.n);
    } else {
      /* The newcomer joins: every member gives up its partitions, and the
       * straddling windows must follow theirs through the changelog. */
      spawn_replica(2);
      wait_ready(2);
      produce_events(&e, half, e.n);
    }
  }
  collect(g_t.alerts, PARTITIONS, w, g, check_alive);
  compare(g, w);
  if (sc == STALL_ONE && !log_has(1, "stage 2: this process stood still")) {
    /* The zombie must have noticed its stall: until the group's verdict
     * reached it, it neither ticked (idle release, expiry) nor committed.
     * Without that guard, stale window state it committed on waking could
     * overwrite the new owner's, and alerts went missing. */
    dump_log(&g_rep[1]);
    fail_msg("replica 1 did not notice its stall");
  }
  printf("# %zu alerts (%zu correlation) over %zu events, exactly as offline\n", w->n, corr, e.n);
  gots_free(g);
  stop_all();
  g_passed++;
  free(g);
  free(w1);
  free(w);
  free_events(&e);
}

static void test_fleet_three(void **state) {
  (void)state;
  run(PLAIN);
}

static void test_fleet_kill_one(void **state) {
  (void)state;
  g_commit_interval = "3s";
  run(KILL_ONE);
  g_commit_interval = "100ms";
}

static void test_fleet_stall_one(void **state) {
  (void)state;
  g_commit_interval = "3s";
  g_txn_timeout = "30s";
  run(STALL_ONE);
  g_commit_interval = "100ms";
  g_txn_timeout = "10s";
}

static void test_fleet_add_one(void **state) {
  (void)state;
  run(ADD_ONE);
}

static int group_setup(void **state) {
  (void)state;
  g_bootstrap = parry_test_kafka_bootstrap();
  if (!g_bootstrap) return 0;
  parry_log_init("test", PARRY_LOG_ERROR);
  /* bin/parry-correlator beside tests/ in the build tree */
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) fail_msg("readlink /proc/self/exe");
  self[n] = '\0';
  snprintf(g_bin, sizeof g_bin, "%s/../bin/parry-correlator", dirname(self));
  if (access(g_bin, X_OK) != 0) fail_msg("%s: not built", g_bin);
  if (parry_test_tmpdir_make(g_dir, sizeof g_dir, "/tmp/parry-fleet-XXXXXX")) fail_msg("mkdtemp");
  parry_test_write_file(g_dir, "sshd.yml", rules_yaml, g_rule_path, sizeof g_rule_path);
  g_admin = parry_test_kafka_admin(g_bootstrap, "test-fleet-admin");
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  reap_all(NULL);
  if (g_admin) parry_kafka_destroy(g_admin);
  if (*g_dir) remove_all_logs();
  if (*g_rule_path) unlink(g_rule_path);
  if (*g_dir) rmdir(g_dir); /* fails, leaving the logs, unless all passed */
  return 0;
}

/* correlator.stages: one process detects, two correlate. */
static void test_fleet_split_stages(void **state) {
  (void)state;
  g_stages[0] = "detect";
  g_stages[1] = g_stages[2] = "correlate";
  run(SPLIT_STAGES);
  g_stages[0] = g_stages[1] = g_stages[2] = "both";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_fleet_three, reap_all),
      cmocka_unit_test_teardown(test_fleet_kill_one, reap_all),
      cmocka_unit_test_teardown(test_fleet_stall_one, reap_all),
      cmocka_unit_test_teardown(test_fleet_add_one, reap_all),
      cmocka_unit_test_teardown(test_fleet_split_stages, reap_all),
  };
  return cmocka_run_group_tests_name("correlator_fleet", tests, group_setup, group_teardown);
}
