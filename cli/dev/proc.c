/* Child processes of `parry dev`. Each child gets its own process group, so
 * a Ctrl-C at the terminal reaches only parry dev, which then stops the
 * children itself, in order, by PID. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"

volatile sig_atomic_t dev_interrupted;

/* Root starting PostgreSQL (which refuses to run as root): fork, become the
 * server's user, exec. Only async-signal-safe calls between fork and exec. */
static pid_t spawn_as(char *const argv[], char *const envp[], int logfd, const dev_user_t *as) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) _exit(127);
  setpgid(0, 0);
  if (setgroups(0, NULL) || setgid(as->gid) || setuid(as->uid)) _exit(126);
  if (chdir("/")) _exit(126);
  execve(argv[0], argv, envp);
  _exit(127);
}

pid_t dev_spawn(char *const argv[], char *const envp[], const char *log_path,
                const dev_user_t *as, char *errstr, size_t errstr_size) {
  int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0) {
    snprintf(errstr, errstr_size, "could not open %s: %s", log_path, strerror(errno));
    return -1;
  }
  /* another user's child appends to it */
  if (as && as->drop && fchown(logfd, as->uid, as->gid) != 0) {
    snprintf(errstr, errstr_size, "could not hand %s to uid %d: %s", log_path, (int)as->uid,
             strerror(errno));
    close(logfd);
    return -1;
  }
  pid_t pid = -1;
  if (as && as->drop) {
    pid = spawn_as(argv, envp, logfd, as);
    if (pid < 0) snprintf(errstr, errstr_size, "fork: %s", strerror(errno));
  } else {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, logfd, 1);
    posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc) {
      snprintf(errstr, errstr_size, "could not start %s: %s", argv[0], strerror(rc));
      pid = -1;
    }
  }
  close(logfd);
  return pid;
}

bool dev_running(pid_t pid, int *status) {
  if (pid <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == 0) return true;
  if (status) *status = r == pid ? st : 0;
  return false;
}

void dev_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL); /* a signal ends it early: that is the point */
}

bool dev_wait(pid_t pid, int timeout_ms, int *status) {
  for (int waited = 0;; waited += 50) {
    if (!dev_running(pid, status)) return true;
    if (waited >= timeout_ms) return false;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

void dev_stop(pid_t pid, int sig, int grace_ms) {
  if (pid <= 0) return;
  if (!dev_running(pid, NULL)) return;
  kill(pid, sig);
  if (dev_wait(pid, grace_ms, NULL)) return;
  kill(pid, SIGKILL);
  dev_wait(pid, 5000, NULL);
}

void dev_tail(FILE *f, const char *path, int lines) {
  FILE *in = fopen(path, "r");
  if (!in) return;
  char *ring[64] = {0};
  if (lines > 64) lines = 64;
  size_t n = 0;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, in) > 0) {
    free(ring[n % (size_t)lines]);
    ring[n % (size_t)lines] = strdup(line);
    n++;
  }
  free(line);
  fclose(in);
  size_t first = n > (size_t)lines ? n - (size_t)lines : 0;
  for (size_t i = first; i < n; i++) {
    const char *l = ring[i % (size_t)lines];
    fprintf(f, "    | %s%s", l ? l : "", l && l[0] && l[strlen(l) - 1] == '\n' ? "" : "\n");
  }
  for (int i = 0; i < lines; i++) free(ring[i]);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (type == FTW_DP) rmdir(path);
  else unlink(path);
  return 0;
}

void dev_rmtree(const char *path) {
  if (!path || !*path || strcmp(path, "/") == 0) return;
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
