/* Structured logging: one JSON object per line on stderr, for Kubernetes.
 *
 *   {"ts":"2026-12-04T20:39:41.123Z","level":"warn","component":"ingestor",
 *    "action":"publishing to parry.events","msg":"queue full, pausing"}
 *
 * `action` is what the thread was doing (nginx's log->action): set it with
 * parry_log_action() when a thread starts a phase of work, and every line the
 * thread writes carries it. Levels are checked before formatting, so a
 * disabled debug line costs one comparison.
 *
 * The logger is process-wide: component and level are set once at start-up
 * (before threads start); lines are written with one write(2) each, so lines
 * from several threads never interleave.
 */
#ifndef PARRY_LOG_H
#define PARRY_LOG_H

#include <stdbool.h>

typedef enum {
  PARRY_LOG_DEBUG = 0,
  PARRY_LOG_INFO,
  PARRY_LOG_WARN,
  PARRY_LOG_ERROR,
  PARRY_LOG_FATAL,
} parry_log_level_t;

/* Set the component name (copied) and minimum level. Call before threads. */
void parry_log_init(const char *component, parry_log_level_t level);
/* Parse "debug", "info", "warn", "error"; false if unknown. */
bool parry_log_level_parse(const char *name, parry_log_level_t *out);
const char *parry_log_level_name(parry_log_level_t level);
bool parry_log_enabled(parry_log_level_t level);

/* Set this thread's action in progress; `action` must outlive its use (a
 * string literal, usually). NULL clears it. Returns the previous action so a
 * caller can restore it. */
const char *parry_log_action(const char *action);

/* Redirect output to a file descriptor (tests); default 2 (stderr). */
void parry_log_set_fd(int fd);

void parry_log_write(parry_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define PARRY_LOG(level, ...)                                                  \
  do {                                                                         \
    if (parry_log_enabled(level)) parry_log_write(level, __VA_ARGS__);         \
  } while (0)

#define LOG_DEBUG(...) PARRY_LOG(PARRY_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) PARRY_LOG(PARRY_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) PARRY_LOG(PARRY_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) PARRY_LOG(PARRY_LOG_ERROR, __VA_ARGS__)
#define LOG_FATAL(...) PARRY_LOG(PARRY_LOG_FATAL, __VA_ARGS__)

#endif
