#include "parry/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days_from_civil algorithm: exact for every Gregorian date,
 * no tables, no timegm() and its dependence on the process time zone. */
int64_t parry_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Read exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, unsigned *out) {
  unsigned v = 0;
  for (int k = 0; k < n; k++) {
    if (*i >= len || s[*i] < '0' || s[*i] > '9') return false;
    v = v * 10 + (unsigned)(s[(*i)++] - '0');
  }
  *out = v;
  return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c) {
  if (*i >= len || s[*i] != c) return false;
  (*i)++;
  return true;
}

/* ".123456789..." -> nanoseconds; extra digits truncated. */
static bool fraction(const char *s, size_t len, size_t *i, int64_t *ns) {
  *ns = 0;
  if (*i >= len || s[*i] != '.') return true;
  (*i)++;
  int n = 0;
  int64_t scale = 100000000;
  while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
    if (n < 9) *ns += (s[*i] - '0') * scale;
    scale /= 10;
    n++;
    (*i)++;
  }
  return n > 0;
}

static bool valid_clock(unsigned hh, unsigned mi, unsigned ss) {
  /* 60 is a leap second; we fold it into the next second's value. */
  return hh < 24 && mi < 60 && ss <= 60;
}

/* False when the instant is outside what int64 nanoseconds hold (about
 * 1677-09-22 to 2262-04-11): multiplying would overflow. */
static bool secs_to_ns(int64_t secs, int64_t frac_ns, int64_t *out) {
  if (secs > INT64_MAX / PARRY_NS_PER_SEC || secs < INT64_MIN / PARRY_NS_PER_SEC ||
      (secs == INT64_MAX / PARRY_NS_PER_SEC && frac_ns > INT64_MAX % PARRY_NS_PER_SEC))
    return false;
  *out = secs * PARRY_NS_PER_SEC + frac_ns;
  return true;
}

static bool to_ns(int64_t y, unsigned mo, unsigned d, unsigned hh, unsigned mi, unsigned ss,
                  int64_t frac_ns, int64_t offset_s, int64_t *out) {
  int64_t secs = parry_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset_s;
  return secs_to_ns(secs, frac_ns, out);
}

parry_err_t parry_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns) {
  size_t i = 0;
  unsigned y, mo, d, hh, mi, ss;
  int64_t frac;
  if (!digits(s, len, &i, 4, &y) || !expect(s, len, &i, '-') || !digits(s, len, &i, 2, &mo) ||
      !expect(s, len, &i, '-') || !digits(s, len, &i, 2, &d))
    return PARRY_ERR_INVALID;
  if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return PARRY_ERR_INVALID;
  i++;
  if (!digits(s, len, &i, 2, &hh) || !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &mi) ||
      !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &ss) || !fraction(s, len, &i, &frac))
    return PARRY_ERR_INVALID;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || !valid_clock(hh, mi, ss))
    return PARRY_ERR_INVALID;
  int64_t offset = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i++] == '-' ? -1 : 1;
    unsigned oh, om;
    if (!digits(s, len, &i, 2, &oh) || !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &om) ||
        oh > 23 || om > 59)
      return PARRY_ERR_INVALID;
    offset = sign * (int64_t)(oh * 3600 + om * 60);
  } else {
    return PARRY_ERR_INVALID;
  }
  if (i != len || !to_ns(y, mo, d, hh, mi, ss, frac, offset, out_ns)) return PARRY_ERR_INVALID;
  return PARRY_OK;
}

/* Write v as exactly n digits, zero-padded (v < 10^n). */
static char *put_digits(char *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + n;
}

/* Hand-rolled instead of snprintf: every event written as JSON carries a
 * timestamp, and printf's format interpretation was a tenth of that cost. */
size_t parry_time_format_rfc3339(int64_t ns, char *out) {
  int64_t secs = ns / PARRY_NS_PER_SEC, frac = ns % PARRY_NS_PER_SEC;
  if (frac < 0) { frac += PARRY_NS_PER_SEC; secs--; }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) { rem += 86400; days--; }
  int64_t y;
  unsigned mo, d;
  civil_from_days(days, &y, &mo, &d);
  char *p = out;
  if (y < 0 || y > 9999) { /* outside RFC 3339's four digits: still readable */
    p += snprintf(p, PARRY_TIME_MAX_LEN, "%lld", (long long)y);
  } else {
    p = put_digits(p, (uint64_t)y, 4);
  }
  *p++ = '-';
  p = put_digits(p, mo, 2);
  *p++ = '-';
  p = put_digits(p, d, 2);
  *p++ = 'T';
  p = put_digits(p, (uint64_t)(rem / 3600), 2);
  *p++ = ':';
  p = put_digits(p, (uint64_t)(rem / 60 % 60), 2);
  *p++ = ':';
  p = put_digits(p, (uint64_t)(rem % 60), 2);
  if (frac) {
    *p++ = '.';
    if (frac % 1000000 == 0) p = put_digits(p, (uint64_t)(frac / 1000000), 3);
    else if (frac % 1000 == 0) p = put_digits(p, (uint64_t)(frac / 1000), 6);
    else p = put_digits(p, (uint64_t)frac, 9);
  }
  *p++ = 'Z';
  *p = '\0';
  return (size_t)(p - out);
}

parry_err_t parry_time_parse_utc_offset(const char *s, int32_t *out_s) {
  if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) { *out_s = 0; return PARRY_OK; }
  size_t len = strlen(s), i = 1;
  unsigned h, m;
  if (len != 6 || (s[0] != '+' && s[0] != '-') || !digits(s, len, &i, 2, &h) ||
      !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &m) || h > 23 || m > 59)
    return PARRY_ERR_INVALID;
  *out_s = (int32_t)((s[0] == '-' ? -1 : 1) * (int)(h * 3600 + m * 60));
  return PARRY_OK;
}

static int month_from_name(const char *s) {
  static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (int m = 0; m < 12; m++)
    if (memcmp(s, names + 3 * m, 3) == 0) return m + 1;
  return 0;
}

parry_err_t parry_time_parse_syslog(const char *s, size_t len, const parry_syslog_time_rule_t *rule,
                                    int64_t reference_ns, int64_t *out_ns, size_t *consumed) {
  if (len < 15) return PARRY_ERR_INVALID;
  int mo = month_from_name(s);
  if (!mo || s[3] != ' ') return PARRY_ERR_INVALID;
  size_t i = 4;
  unsigned d, hh, mi, ss, year = 0;
  if (s[i] == ' ') { /* "Jan  5" */
    i++;
    if (!digits(s, len, &i, 1, &d)) return PARRY_ERR_INVALID;
  } else if (s[i + 1] == ' ') { /* "Jan 5": some senders do not pad */
    if (!digits(s, len, &i, 1, &d)) return PARRY_ERR_INVALID;
  } else if (!digits(s, len, &i, 2, &d)) {
    return PARRY_ERR_INVALID;
  }
  if (!expect(s, len, &i, ' ')) return PARRY_ERR_INVALID;
  /* Optional year: "Jan 05 2024 10:00:00" */
  if (i + 5 <= len && s[i + 4] == ' ' && s[i + 2] != ':') {
    if (!digits(s, len, &i, 4, &year) || !expect(s, len, &i, ' ')) return PARRY_ERR_INVALID;
  }
  int64_t frac;
  if (!digits(s, len, &i, 2, &hh) || !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &mi) ||
      !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &ss) || !fraction(s, len, &i, &frac) ||
      !valid_clock(hh, mi, ss) || d < 1 || d > 31)
    return PARRY_ERR_INVALID;

  if (year) {
    if (d > days_in_month(year, (unsigned)mo) ||
        !to_ns(year, (unsigned)mo, d, hh, mi, ss, frac, rule->utc_offset_s, out_ns))
      return PARRY_ERR_INVALID;
  } else if (!(mo == 2 && d == 29)) {
    /* The year rule below, with the day's start in the three candidate
     * years kept per thread for the last (month, day, reference, rule):
     * consecutive lines of a log share their day, and this was most of the
     * cost of a line's time. Same arithmetic and range checks as to_ns. */
    static _Thread_local struct {
      bool valid;
      int mo;
      unsigned d;
      int64_t reference_ns, max_future_ns;
      int32_t utc_offset_s;
      int64_t base[3]; /* days * 86400 - offset of the day in year-1, year, year+1 */
    } day;
    if (!day.valid || day.mo != mo || day.d != d || day.reference_ns != reference_ns ||
        day.utc_offset_s != rule->utc_offset_s || day.max_future_ns != rule->max_future_ns) {
      int64_t ref_local_days = (reference_ns / PARRY_NS_PER_SEC + rule->utc_offset_s) / 86400;
      int64_t ref_year;
      unsigned rm, rd;
      civil_from_days(ref_local_days, &ref_year, &rm, &rd);
      if (d > days_in_month(ref_year, (unsigned)mo)) return PARRY_ERR_INVALID;
      for (int k = 0; k < 3; k++)
        day.base[k] = parry_days_from_civil(ref_year - 1 + k, (unsigned)mo, d) * 86400 -
                      (int64_t)rule->utc_offset_s;
      day.mo = mo;
      day.d = d;
      day.reference_ns = reference_ns;
      day.utc_offset_s = rule->utc_offset_s;
      day.max_future_ns = rule->max_future_ns;
      day.valid = true;
    }
    int64_t sod = (int64_t)hh * 3600 + mi * 60 + ss, t;
    if (!secs_to_ns(day.base[1] + sod, frac, &t)) return PARRY_ERR_INVALID;
    if (t - reference_ns > rule->max_future_ns) {
      if (!secs_to_ns(day.base[0] + sod, frac, &t)) return PARRY_ERR_INVALID;
    } else {
      int64_t next;
      if (secs_to_ns(day.base[2] + sod, frac, &next) && next - reference_ns <= rule->max_future_ns)
        t = next;
    }
    *out_ns = t;
  } else {
    /* The reference's year in the configured zone, then the year rule. */
    int64_t ref_local_days = (reference_ns / PARRY_NS_PER_SEC + rule->utc_offset_s) / 86400;
    int64_t ref_year;
    unsigned rm, rd;
    civil_from_days(ref_local_days, &ref_year, &rm, &rd);
    int64_t y = ref_year;
    /* Feb 29 exists only in leap years: pick the nearest earlier one that has it. */
    if (mo == 2 && d == 29) while (!is_leap(y)) y--;
    else if (d > days_in_month(y, (unsigned)mo)) return PARRY_ERR_INVALID;
    int64_t t;
    if (!to_ns(y, (unsigned)mo, d, hh, mi, ss, frac, rule->utc_offset_s, &t))
      return PARRY_ERR_INVALID;
    if (t - reference_ns > rule->max_future_ns) {
      y--;
      if (mo == 2 && d == 29) while (!is_leap(y)) y--;
      if (!to_ns(y, (unsigned)mo, d, hh, mi, ss, frac, rule->utc_offset_s, &t))
        return PARRY_ERR_INVALID;
    } else if (!(mo == 2 && d == 29)) {
      /* A January line read just before midnight on Dec 31 (a sender's
       * clock slightly ahead) is next year's, if that is within the
       * allowed future. */
      int64_t next;
      if (to_ns(y + 1, (unsigned)mo, d, hh, mi, ss, frac, rule->utc_offset_s, &next) &&
          next - reference_ns <= rule->max_future_ns)
        t = next;
    }
    *out_ns = t;
  }
  *consumed = i;
  return PARRY_OK;
}

int64_t parry_time_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * PARRY_NS_PER_SEC + ts.tv_nsec;
}
