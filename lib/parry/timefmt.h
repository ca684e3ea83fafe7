/* Time parsing and formatting. Times are int64 nanoseconds since the Unix
 * epoch, UTC (good until the year 2262).
 *
 * Syslog (RFC 3164) timestamps carry neither year nor zone. The rule, set by
 * configuration (time.syslog_utc_offset, time.syslog_max_future):
 *   - the zone is a fixed UTC offset (default +00:00);
 *   - the year is the one that puts the timestamp at most max_future after
 *     the reference (the time the line is read) and least far before it: a
 *     "Dec 31 23:59:59" line read on Jan 1 belongs to last year, a
 *     "Jan  1 00:00:01" line read on Dec 31 at 23:59:59 to next year.
 */
#ifndef PARRY_TIMEFMT_H
#define PARRY_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "parry/error.h"

#define PARRY_NS_PER_SEC 1000000000LL
#define PARRY_TIME_MAX_LEN 40 /* "2026-12-04T20:39:41.123456789Z" + NUL, with room */

/* RFC 3339 (also lowercase 't'/'z', space instead of 'T'), fraction of any
 * length (digits past nanoseconds are truncated), offset Z or +HH:MM.
 * Must consume the whole input. Instants outside the int64 nanosecond range
 * (about 1677-09-22 to 2262-04-11) are rejected. */
parry_err_t parry_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns);

/* UTC, 'Z', with the shortest of 0, 3, 6 or 9 fraction digits that is exact.
 * Returns the length written (out must hold PARRY_TIME_MAX_LEN bytes). */
size_t parry_time_format_rfc3339(int64_t ns, char *out);

typedef struct {
  int32_t utc_offset_s;  /* added zone: local = UTC + offset */
  int64_t max_future_ns; /* year rule, see above */
} parry_syslog_time_rule_t;

/* Parse "+HH:MM" / "-HH:MM" / "Z" into seconds east of UTC. */
parry_err_t parry_time_parse_utc_offset(const char *s, int32_t *out_s);

/* Parse an RFC 3164 timestamp at the start of s: "Mmm dd hh:mm:ss" (day
 * space- or zero-padded, or not padded at all), optionally with ".fraction", optionally with a year
 * ("Mmm dd yyyy hh:mm:ss", as some devices write). Sets *consumed to the bytes
 * used; the year rule applies when no year is given. */
parry_err_t parry_time_parse_syslog(const char *s, size_t len,
                                    const parry_syslog_time_rule_t *rule,
                                    int64_t reference_ns, int64_t *out_ns,
                                    size_t *consumed);

/* Days since 1970-01-01 of a proleptic Gregorian date (no range checks). */
int64_t parry_days_from_civil(int64_t year, unsigned month, unsigned day);

/* Current wall-clock time. */
int64_t parry_time_now_ns(void);

#endif
