/* `parry dev` end to end: the real binary as a child, with the mock Kafka
 * it hosts, a temporary PostgreSQL (skipped when PostgreSQL is not
 * installed), the three services and the example rules and runbooks.
 *
 *   test_dev_pipeline   exit 0, every attacker ok in the summary, a case
 *                       shown, every SSH case's geo step succeeded (with a
 *                       country for internet addresses: parry dev's GeoIP
 *                       database), every child process gone, work folder
 *                       removed
 *   test_dev_sigterm    with --keep, SIGTERM stops the fleet: every child
 *                       (services, PostgreSQL) is gone when parry dev exits,
 *                       whose status is still the expectations' verdict
 */
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dev/dev.h"

extern char **environ;

static bool have_postgres(void) {
  if (dev_pg_bindir()) return true;
  const char *req = getenv("PARRY_REQUIRE_SERVICES");
  if (req && strcmp(req, "1") == 0) fail_msg("PostgreSQL binaries absent and required");
  print_message("skipped: no PostgreSQL binaries (initdb) on this machine\n");
  return false;
}

static void parry_path(char *out, size_t n) {
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(len > 0);
  self[len] = '\0';
  snprintf(out, n, "%s/../bin/parry", dirname(self)); /* build/tests -> build/bin */
  assert_int_equal(access(out, X_OK), 0);
}

/* Start parry dev with args, stdout+stderr into log. */
static pid_t start_dev(char *const args[], const char *log) {
  char parry[PATH_MAX];
  parry_path(parry, sizeof parry);
  char *argv[16] = {parry, "dev"};
  int n = 2;
  for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, parry, &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

/* The last output read, freed by the next read or at the end, so that a
 * failed assertion (which jumps out of the test) leaks nothing. */
static char *last_out;

static char *slurp(const char *path) {
  free(last_out);
  last_out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) return last_out = strdup("");
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  char chunk[4096];
  size_t r;
  while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, r, m);
  fclose(f);
  fclose(m);
  return last_out = buf;
}

static int free_output(void **state) {
  (void)state;
  free(last_out);
  last_out = NULL;
  return 0;
}

static int wait_exit(pid_t pid, int timeout_s) {
  for (int i = 0; i < timeout_s * 10; i++) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    struct timespec ts = {0, 100000000L};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  fail_msg("parry dev did not exit within %d s", timeout_s);
  return -1;
}

/* Every "pid N" the log announced is gone (no process, or a zombie of
 * someone else's is impossible: they were parry dev's children). */
static void assert_children_gone(const char *log) {
  size_t seen = 0;
  for (const char *p = strstr(log, " pid "); p; p = strstr(p + 1, " pid ")) {
    int pid = atoi(p + 5);
    if (pid <= 0) continue;
    seen++;
    errno = 0;
    if (kill(pid, 0) == 0 || errno != ESRCH) fail_msg("child pid %d still runs", pid);
  }
  assert_true(seen >= 3); /* at least the three services */
}

static void work_folder(const char *log, char *out, size_t n) {
  const char *p = strstr(log, "work folder ");
  assert_non_null(p);
  p += 12;
  size_t k = strcspn(p, "\n");
  assert_true(k < n);
  memcpy(out, p, k);
  out[k] = '\0';
}

/* memmem of a string literal */
#define HAS(p, n, lit) memmem((p), (n), lit, sizeof lit - 1)

/* Every case of the SSH runbook shows its `geo` step succeeded (parry dev
 * writes a GeoIP database for the demo's ranges): with a country for an
 * internet address, not found for the internal scanner. Returns how many
 * geo steps gave a country. */
static int assert_geo_succeeded(const char *out) {
  int cases = 0, countries = 0;
  for (const char *c = strstr(out, "\ncase #"); c; c = strstr(c + 1, "\ncase #")) {
    const char *next = strstr(c + 1, "\ncase #");
    const char *end = next ? next : strstr(c, "\n== expected outcome");
    if (!end) end = c + strlen(c);
    const char *line_end = strchr(c + 1, '\n');
    if (!line_end || !HAS(c, (size_t)(line_end - c), "runbook ssh-brute-force")) continue;
    cases++;
    size_t len = (size_t)(end - c);
    if (HAS(c, len, "step_failed     geo")) fail_msg("geo step failed: %.*s", (int)len, c);
    const char *g = HAS(c, len, "step_succeeded  geo: ");
    if (!g) fail_msg("no geo step succeeded in %.*s", (int)len, c);
    size_t glen = strcspn(g, "\n");
    bool internal = HAS(c, (size_t)(line_end - c), "\"10.66.") != NULL;
    if (internal) {
      if (!HAS(g, glen, "\"found\": false")) fail_msg("internal address: %.*s", (int)glen, g);
    } else {
      if (!HAS(g, glen, "\"found\": true") || !HAS(g, glen, "\"country\": \""))
        fail_msg("no country: %.*s", (int)glen, g);
      countries++;
    }
  }
  assert_true(cases >= 3); /* fast, slow and allowlisted SSH brute force */
  return countries;
}

static void test_dev_pipeline(void **state) {
  (void)state;
  if (!have_postgres()) skip();
  char log[] = "/tmp/parry-e2e-dev-XXXXXX";
  int fd = mkstemp(log);
  assert_true(fd >= 0);
  close(fd);
  char *args[] = {"--seed", "1", "--duration", "6m", "--send-time", "3s", "--wait", "90s", NULL};
  int rc = wait_exit(start_dev(args, log), 280);
  char *out = slurp(log);
  unlink(log);
  /* on failure, the output says why and where parry dev kept its logs */
  if (rc != 0) fprintf(stderr, "parry dev output:\n%s\n", out);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "ok   ssh-fast-bruteforce"));
  assert_non_null(strstr(out, "ok   ssh-slow-bruteforce"));
  assert_non_null(strstr(out, "ok   windows-password-spray"));
  assert_non_null(strstr(out, "ok   ssh-allowlisted-bruteforce"));
  assert_non_null(strstr(out, "\ncase #"));
  assert_non_null(strstr(out, "every expected case appeared"));
  assert_int_equal(assert_geo_succeeded(out), 2); /* seed 1: 203.0.113.192, 198.51.100.58 */
  assert_non_null(strstr(out, "  geoip            "));
  assert_non_null(strstr(out, "\"country\": \"FR\""));
  assert_non_null(strstr(out, "\"country\": \"DE\""));
  assert_children_gone(out);
  char dir[256];
  work_folder(out, dir, sizeof dir);
  struct stat st;
  assert_int_not_equal(stat(dir, &st), 0); /* removed after a success */
}

static void test_dev_sigterm(void **state) {
  (void)state;
  if (!have_postgres()) skip();
  char log[] = "/tmp/parry-e2e-dev-XXXXXX";
  int fd = mkstemp(log);
  assert_true(fd >= 0);
  close(fd);
  char *args[] = {"--seed", "2", "--duration", "2m", "--send-time", "1s", "--wait", "5s",
                  "--keep", NULL};
  pid_t pid = start_dev(args, log);
  /* wait for the summary: with --keep the fleet then runs until a signal */
  char *out = NULL;
  for (int i = 0; i < 2400; i++) {
    out = slurp(log);
    if (strstr(out, "the fleet keeps running until Ctrl-C")) break;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      fprintf(stderr, "parry dev exited early:\n%s\n", out);
      fail();
    }
    struct timespec ts = {0, 100000000L};
    nanosleep(&ts, NULL);
  }
  assert_non_null(strstr(out, "the fleet keeps running until Ctrl-C"));
  assert_int_equal(kill(pid, SIGTERM), 0);
  int rc = wait_exit(pid, 60);
  out = slurp(log);
  unlink(log);
  /* --keep ends by a signal; the status still says whether the cases appeared */
  assert_int_equal(rc, strstr(out, "every expected case appeared") ? 0 : 1);
  assert_non_null(strstr(out, "parry dev: stopping"));
  assert_children_gone(out);
  /* PostgreSQL too: its data folder's postmaster.pid is gone */
  char dir[256], pidfile[400];
  work_folder(out, dir, sizeof dir);
  snprintf(pidfile, sizeof pidfile, "%s/pg/data/postmaster.pid", dir);
  assert_int_not_equal(access(pidfile, F_OK), 0);
  dev_rmtree(dir); /* --keep kept it */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dev_sigterm),
      cmocka_unit_test(test_dev_pipeline),
  };
  return cmocka_run_group_tests(tests, NULL, free_output);
}
