/* parry-standin: a loopback server for tests, benchmarks and `parry dev`.
 *
 *   parry-standin http --port 0 --record FILE [--token T] [--threads N]
 *   parry-standin smtp --port 0 --record FILE [--user U --password P] [--cert-out FILE]
 *   --exit-with-parent yes   stop when the process that started it dies (tests:
 *                            a failed assertion cannot leave a server behind)
 *
 * Prints "listening 127.0.0.1:PORT" on stdout once it accepts connections,
 * records every request or message as one NDJSON line (flushed at once), and
 * exits 0 on SIGTERM or SIGINT. See docs/connectors.md, "Stand-ins". */
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "standin.h"

static FILE *record_file;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

void standin_record(struct json_object *line) {
  if (!record_file) return;
  const char *s = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE);
  pthread_mutex_lock(&record_lock);
  fputs(s, record_file);
  fputc('\n', record_file);
  fflush(record_file);
  pthread_mutex_unlock(&record_lock);
}

void standin_now(char *out, size_t n) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static void usage(void) {
  fprintf(stderr,
          "usage: parry-standin http --port N --record FILE [--token T] [--threads N]\n"
          "       parry-standin smtp --port N --record FILE [--user U --password P] "
          "[--cert-out FILE]\n"
          "       either: [--exit-with-parent yes]\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  standin_opts_t o = {0};
  o.threads = 4;
  const char *record = NULL;
  for (int i = 2; i < argc; i += 2) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      usage();
      return 2;
    }
    if (strcmp(a, "--port") == 0) o.port = (uint16_t)atoi(v);
    else if (strcmp(a, "--record") == 0) record = v;
    else if (strcmp(a, "--token") == 0) o.token = v;
    else if (strcmp(a, "--user") == 0) o.user = v;
    else if (strcmp(a, "--password") == 0) o.password = v;
    else if (strcmp(a, "--cert-out") == 0) o.cert_out = v;
    else if (strcmp(a, "--threads") == 0) o.threads = atoi(v);
    else if (strcmp(a, "--exit-with-parent") == 0) {
      if (strcmp(v, "yes") == 0) {
        pid_t parent = getppid();
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) return 0; /* the parent is already gone */
      }
    }
    else {
      usage();
      return 2;
    }
  }
  if (record) {
    record_file = fopen(record, "a");
    if (!record_file) {
      perror(record);
      return 1;
    }
  }
  /* Every thread inherits this mask; main takes the signals with sigwait. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  int rc;
  if (strcmp(argv[1], "http") == 0) rc = standin_http_run(&o);
  else if (strcmp(argv[1], "smtp") == 0) rc = standin_smtp_run(&o);
  else {
    usage();
    rc = 2;
  }
  if (record_file) fclose(record_file);
  return rc;
}
