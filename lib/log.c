#include "parry/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parry/buf.h"

/* Process-wide and written only by parry_log_init/set_fd before threads start
 * (see log.h); read by every thread. */
static char log_component[64] = "parry";
static parry_log_level_t log_min_level = PARRY_LOG_INFO;
static int log_fd = 2;

static _Thread_local const char *thread_action;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

void parry_log_init(const char *component, parry_log_level_t level) {
  snprintf(log_component, sizeof log_component, "%s", component);
  log_min_level = level;
}

void parry_log_set_fd(int fd) { log_fd = fd; }

bool parry_log_level_parse(const char *name, parry_log_level_t *out) {
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
    if (strcmp(name, level_names[i]) == 0) {
      *out = (parry_log_level_t)i;
      return true;
    }
  }
  return false;
}

const char *parry_log_level_name(parry_log_level_t level) {
  return (unsigned)level < sizeof level_names / sizeof level_names[0]
             ? level_names[level] : "unknown";
}

bool parry_log_enabled(parry_log_level_t level) { return level >= log_min_level; }

const char *parry_log_action(const char *action) {
  const char *previous = thread_action;
  thread_action = action;
  return previous;
}

static void append_field(parry_buf_t *line, const char *name, const char *value) {
  parry_buf_printf(line, ",\"%s\":\"", name);
  parry_buf_append_json_string(line, value, strlen(value));
  parry_buf_append_char(line, '"');
}

void parry_log_write(parry_log_level_t level, const char *fmt, ...) {
  int saved_errno = errno; /* callers often log right before reading errno */
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) snprintf(msg, sizeof msg, "(unformattable log message)");

  struct timespec now;
  struct tm tm;
  char ts[64];
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           now.tv_nsec / 1000000);

  /* A line is at most ~16 KiB: the message is already capped at 4 KiB, and
   * escaping can at most sextuple it. */
  parry_buf_t line = PARRY_BUF_INIT(32 * 1024);
  parry_buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, parry_log_level_name(level));
  append_field(&line, "component", log_component);
  if (thread_action) append_field(&line, "action", thread_action);
  append_field(&line, "msg", msg);
  parry_buf_append_str(&line, "}\n");

  /* One write(2) per line keeps lines from different threads whole. */
  size_t off = 0;
  while (off < line.len) {
    ssize_t w = write(log_fd, line.data + off, line.len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  parry_buf_free(&line);
  errno = saved_errno;
}
