/* Syslog headers: see syslog_header.h for the shapes.
 *
 * Why so many shapes: "syslog" in the field is whatever the daemon and the
 * relays wrote. RFC 3164 only describes common practice; fail2ban's test
 * logs (the best catalogue of real variants we have) show the hostname
 * missing, BSD's "<auth.info>" verbose priority, Solaris' "[ID n fac.sev]",
 * brackets around the date, "[sshd]" as a tag, tags without a colon, and
 * the pre-2005 Linux-PAM tag "sshd(pam_unix)[pid]:". rsyslog writes RFC 3339
 * times by default, journal exports drop the time, and auditd writes its own
 * "type=... msg=audit(...)" records that reach the same pipelines.
 *
 * Parsing is permissive where the line can only be syslog (it starts with a
 * syslog timestamp) and strict where a shape is shared with other logs:
 * detection claims an ISO-timestamped or timestamp-less line only if a
 * PROG[PID]: (or PROG:) tag follows the host.
 */
#include "syslog_header.h"

#include <stdio.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Enough for "Mmm dd yyyy hh:mm:ss" plus a generous fraction. */
#define TS_COPY_MAX 64

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Times an Event can carry: the codec writes years 1678..2261 only, while
 * the time parsers accept all of int64 nanoseconds (into 1677 and 2262). */
static bool time_in_range(int64_t ns) {
  static const int64_t lo = -9214560000LL * PARRY_NS_PER_SEC; /* 1678-01-01 */
  static const int64_t hi = 9214646400LL * PARRY_NS_PER_SEC;  /* 2262-01-01 */
  return ns >= lo && ns < hi;
}
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

/* "Jan".."Dec" at s (3 bytes available). */
static bool is_month(const char *s) {
  switch (s[0]) {
  case 'J': return (s[1] == 'a' && s[2] == 'n') || (s[1] == 'u' && (s[2] == 'n' || s[2] == 'l'));
  case 'F': return s[1] == 'e' && s[2] == 'b';
  case 'M': return s[1] == 'a' && (s[2] == 'r' || s[2] == 'y');
  case 'A': return (s[1] == 'p' && s[2] == 'r') || (s[1] == 'u' && s[2] == 'g');
  case 'S': return s[1] == 'e' && s[2] == 'p';
  case 'O': return s[1] == 'c' && s[2] == 't';
  case 'N': return s[1] == 'o' && s[2] == 'v';
  case 'D': return s[1] == 'e' && s[2] == 'c';
  default: return false;
  }
}

/* The shape of "Mmm dd hh:mm:ss" (day space-padded, zero-padded or, as
 * some daemons write, not padded at all) or "Mmm dd yyyy hh:mm:ss". Only
 * the shape: parry_time_parse_syslog validates the values. */
static bool looks_3164(const char *s, size_t len) {
  if (len < 14 || !is_month(s) || s[3] != ' ') return false;
  size_t i = 4;
  if (s[4] == ' ' && is_digit(s[5])) i = 6;
  else if (is_digit(s[4]) && is_digit(s[5])) i = 6;
  else if (is_digit(s[4]) && s[5] == ' ') i = 5;
  else return false;
  if (s[i] != ' ') return false;
  i++;
  if (i + 8 <= len && is_digit(s[i]) && is_digit(s[i + 1]) && s[i + 2] == ':') return true;
  return i + 13 <= len && is_digit(s[i]) && is_digit(s[i + 3]) && s[i + 4] == ' ' &&
         s[i + 7] == ':';
}

/* "yyyy-mm-dd" followed by 'T', 't' or ' ' and "hh:mm". */
static bool looks_iso(const char *s, size_t len) {
  return len >= 19 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
         s[4] == '-' && is_digit(s[5]) && s[7] == '-' && is_digit(s[8]) &&
         (s[10] == 'T' || s[10] == 't' || s[10] == ' ') && is_digit(s[11]) && s[13] == ':' &&
         s[16] == ':';
}

static size_t token_end(const char *s, size_t len, size_t i) {
#if defined(__SSE2__)
  /* Tokens (host, tag) are short: when 16 bytes of the record remain, one
   * load finds most ends without a memchr call. */
  if (len - i >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
    if (m) return i + (size_t)__builtin_ctz(m);
  }
#endif
  const char *sp = memchr(s + i, ' ', len - i);
  return sp ? (size_t)(sp - s) : len;
}

static size_t skip_spaces(const char *s, size_t len, size_t i) {
  while (i < len && s[i] == ' ') i++;
  return i;
}

typedef struct {
  parry_span_t app, module;
  bool has_pid, colon;
  int64_t pid;
} tag_t;

/* A program tag at s[0..end): [PROG], [PROG][PID], PROG, PROG[PID],
 * PROG(MOD), PROG(MOD)[PID], each with an optional ':'. False if the token
 * is not one of those. */
static bool parse_tag(const char *s, size_t end, tag_t *h) {
  size_t i = 0, n = end;
  if (n == 0) return false;
  if (s[0] == '[') {
    const char *close = memchr(s + 1, ']', n - 1);
    if (!close || close == s + 1) return false;
    h->app = (parry_span_t){s + 1, (size_t)(close - s - 1)};
    i = (size_t)(close - s) + 1;
  } else {
    while (i < n && s[i] != '[' && s[i] != ':' && s[i] != '(') i++;
    if (i == 0) return false;
    h->app = (parry_span_t){s, i};
    if (i < n && s[i] == '(') {
      const char *close = memchr(s + i + 1, ')', n - i - 1);
      if (!close) return false;
      h->module = (parry_span_t){s + i + 1, (size_t)(close - s - i - 1)};
      i = (size_t)(close - s) + 1;
    }
  }
  if (i < n && s[i] == '[') {
    int64_t pid = 0;
    size_t d = i + 1;
    /* 18 digits cannot overflow int64 */
    size_t stop = n < i + 19 ? n : i + 19; /* d - i <= 18 */
    for (; d < stop; d++) {
      unsigned digit = (unsigned)(unsigned char)s[d] - '0';
      if (digit > 9) break;
      pid = pid * 10 + digit;
    }
    if (d == i + 1 || d >= n || s[d] != ']') return false;
    h->pid = pid;
    h->has_pid = true;
    i = d + 1;
  }
  h->colon = i < n && s[i] == ':';
  if (h->colon) i++;
  return i == n;
}

static void take_tag(parry_syslog_header_t *h, const tag_t *t) {
  h->app = t->app;
  h->module = t->module;
  h->has_pid = t->has_pid;
  h->pid = t->pid;
}

/* The journal/ISO shapes' strict tag: PROG[PID]: or PROG: (one token). */
static bool strict_tag(const char *s, size_t len, size_t i, bool need_pid) {
  size_t end = token_end(s, len, i);
  if (end == i || s[end - 1] != ':') return false;
  tag_t t = {0};
  return parse_tag(s + i, end - i, &t) && t.colon && (t.has_pid || !need_pid);
}

/* "HOST TAG" at i, both strict. */
static bool strict_host_tag(const char *s, size_t len, size_t i, bool need_pid) {
  size_t host_end = token_end(s, len, i);
  if (host_end == i || host_end >= len) return false;
  return strict_tag(s, len, host_end + 1, need_pid);
}

/* "type=NAME msg=audit(" at i, after an optional "node=N ". */
static bool looks_audit(const char *s, size_t len) {
  size_t i = 0;
  if (len > 5 && memcmp(s, "node=", 5) == 0) {
    i = token_end(s, len, 5);
    if (i >= len) return false;
    i++;
  }
  if (len - i < 5 || memcmp(s + i, "type=", 5) != 0) return false;
  i += 5;
  size_t start = i;
  while (i < len && (is_upper(s[i]) || is_digit(s[i]) || s[i] == '_')) i++;
  return i > start && len - i > 11 && memcmp(s + i, " msg=audit(", 11) == 0;
}

bool parry_syslog_detect(const char *s, size_t len) {
  size_t i = 0;
  if (len < 8) return false;
  if (s[0] == '<') {
    i = 1;
    while (i < 4 && i < len && is_digit(s[i])) i++;
    if (i == 1 || i >= len || s[i] != '>') return false;
    i++;
    if (len - i >= 2 && s[i] == '1' && s[i + 1] == ' ') return true; /* RFC 5424 */
  }
  if (i < len && s[i] == '[') i++; /* "[Jun 21 16:55:03]" */
  if (looks_3164(s + i, len - i)) return true;
  if (looks_iso(s + i, len - i)) {
    size_t t = token_end(s, len, i + 11); /* past the time (and an attached zone) */
    if (t + 4 <= len && (memcmp(s + t, " UTC", 4) == 0 || memcmp(s + t, " GMT", 4) == 0)) t += 4;
    return t < len && strict_host_tag(s, len, t + 1, false);
  }
  if (i == 0 && looks_audit(s, len)) return true;
  return i == 0 && strict_host_tag(s, len, 0, true);
}

/* ---- timestamps ---------------------------------------------------------- */

/* RFC 3164 time at s[*i]; the day may be unpadded ("Feb 7"), which
 * parry_time_parse_syslog does not take, so such a time is parsed from a
 * space-padded copy. */
static bool time_3164(const char *s, size_t len, size_t *i, const parry_syslog_time_rule_t *rule,
                      int64_t ref_ns, parry_syslog_time_cache_t *cache, int64_t *out) {
  const char *t = s + *i;
  size_t n = len - *i, used = 0;
  /* the plain "Mmm dd hh:mm:ss " shape (no year, no fraction) is cached */
  bool plain = n > 15 && t[15] == ' ';
  if (cache && plain && cache->valid && cache->reference_ns == ref_ns &&
      memcmp(cache->text, t, 15) == 0) {
    *out = cache->time_ns;
    *i += 15;
    return true;
  }
  if (n > 5 && is_digit(t[4]) && t[5] == ' ') {
    char copy[TS_COPY_MAX];
    size_t c = n < sizeof copy - 1 ? n : sizeof copy - 1;
    memcpy(copy, t, 4);
    copy[4] = ' ';
    memcpy(copy + 5, t + 4, c - 4);
    if (parry_time_parse_syslog(copy, c + 1, rule, ref_ns, out, &used) != PARRY_OK) return false;
    used--;
  } else if (parry_time_parse_syslog(t, n, rule, ref_ns, out, &used) != PARRY_OK) {
    return false;
  }
  if (cache && plain && used == 15) {
    memcpy(cache->text, t, 15);
    cache->reference_ns = ref_ns;
    cache->time_ns = *out;
    cache->valid = true;
  }
  *i += used;
  return true;
}

/* "yyyy-mm-dd[T ]hh:mm:ss[.frac][Z|+hh:mm| UTC| GMT]" at s[*i]. Without a
 * zone the configured syslog offset applies, as for RFC 3164 times. */
static bool time_iso(const char *s, size_t len, size_t *i, const parry_syslog_time_rule_t *rule,
                     int64_t *out) {
  size_t start = *i, j = start + 19;
  if (j < len && s[j] == '.') {
    j++;
    while (j < len && is_digit(s[j])) j++;
  }
  size_t base_end = j;
  bool zoned = false;
  if (j < len && (s[j] == 'Z' || s[j] == 'z')) {
    j++;
    zoned = true;
  } else if (j + 6 <= len && (s[j] == '+' || s[j] == '-') && s[j + 3] == ':') {
    j += 6;
    zoned = true;
  }
  if (zoned) {
    if (parry_time_parse_rfc3339(s + start, j - start, out) != PARRY_OK) return false;
  } else {
    char copy[TS_COPY_MAX];
    size_t n = base_end - start;
    if (n + 2 > sizeof copy) return false;
    memcpy(copy, s + start, n);
    copy[n] = 'Z';
    if (parry_time_parse_rfc3339(copy, n + 1, out) != PARRY_OK) return false;
    if (j + 4 <= len && (memcmp(s + j, " UTC", 4) == 0 || memcmp(s + j, " GMT", 4) == 0)) {
      j += 4;
    } else {
      *out -= (int64_t)rule->utc_offset_s * PARRY_NS_PER_SEC;
    }
  }
  *i = j;
  return true;
}

/* ---- RFC 5424 ----------------------------------------------------------- */

static bool sd_name_char(char c) {
  return c > 32 && c < 127 && c != '=' && c != ']' && c != '"';
}

/* Validate STRUCTURED-DATA at s[*i] ('[' seen); on success *i is past it. */
static bool sd_validate(const char *s, size_t len, size_t *i, char *errstr, size_t errstr_size) {
  size_t j = *i;
  while (j < len && s[j] == '[') {
    size_t id = ++j;
    while (j < len && sd_name_char(s[j])) j++;
    if (j == id) {
      parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                 "RFC 5424 structured data: empty SD-ID at offset %zu", id);
      return false;
    }
    while (j < len && s[j] == ' ') {
      size_t name = ++j;
      while (j < len && sd_name_char(s[j])) j++;
      if (j == name || j + 1 >= len || s[j] != '=' || s[j + 1] != '"') {
        parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                   "RFC 5424 structured data: expected PARAM-NAME=\"value\" at offset %zu",
                   name);
        return false;
      }
      j += 2;
      while (j < len && s[j] != '"') j += s[j] == '\\' && j + 1 < len ? 2 : 1;
      if (j >= len) {
        parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                   "RFC 5424 structured data: unterminated PARAM-VALUE starting at offset %zu",
                   name);
        return false;
      }
      j++;
    }
    if (j >= len || s[j] != ']') {
      parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                 "RFC 5424 structured data: expected ']' or ' ' at offset %zu", j);
      return false;
    }
    j++;
  }
  *i = j;
  return true;
}

bool parry_syslog_sd_next(parry_span_t sd, size_t *pos, parry_syslog_sd_element_t *out) {
  size_t j = *pos;
  if (!sd.p || j >= sd.n || sd.p[j] != '[') return false;
  size_t id = ++j;
  while (j < sd.n && sd_name_char(sd.p[j])) j++;
  out->id = (parry_span_t){sd.p + id, j - id};
  size_t params = j;
  while (j < sd.n && sd.p[j] != ']') {
    if (sd.p[j] == '"') { /* skip a value, escapes included */
      j++;
      while (j < sd.n && sd.p[j] != '"') j += sd.p[j] == '\\' && j + 1 < sd.n ? 2 : 1;
    }
    j++;
  }
  out->params = (parry_span_t){sd.p + params, j - params};
  *pos = j + 1;
  return true;
}

bool parry_syslog_sd_param_next(parry_span_t params, size_t *pos, parry_span_t *name,
                                parry_span_t *value) {
  size_t j = *pos;
  if (j >= params.n || params.p[j] != ' ') return false;
  size_t n0 = ++j;
  while (j < params.n && params.p[j] != '=') j++;
  *name = (parry_span_t){params.p + n0, j - n0};
  j += 2; /* '="' */
  size_t v0 = j;
  while (j < params.n && params.p[j] != '"') j += params.p[j] == '\\' && j + 1 < params.n ? 2 : 1;
  *value = (parry_span_t){params.p + v0, (j < params.n ? j : params.n) - v0};
  *pos = j + 1;
  return true;
}

size_t parry_syslog_sd_unescape(parry_span_t v, char *out) {
  size_t o = 0;
  for (size_t j = 0; j < v.n; j++) {
    if (v.p[j] == '\\' && j + 1 < v.n &&
        (v.p[j + 1] == '"' || v.p[j + 1] == '\\' || v.p[j + 1] == ']'))
      j++;
    out[o++] = v.p[j];
  }
  return o;
}

/* One RFC 5424 header field (TIMESTAMP excepted) at s[*i]: "-" is absent. */
static bool field_5424(const char *s, size_t len, size_t *i, parry_span_t *out, const char *what,
                       char *errstr, size_t errstr_size) {
  size_t end = token_end(s, len, *i);
  if (end == *i || end >= len) {
    parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
               "RFC 5424 header ends at offset %zu, before %s", end, what);
    return false;
  }
  *out = end - *i == 1 && s[*i] == '-' ? (parry_span_t){NULL, 0}
                                       : (parry_span_t){s + *i, end - *i};
  *i = end + 1;
  return true;
}

static parry_err_t parse_5424(const char *s, size_t len, size_t i, parry_syslog_header_t *h,
                              char *errstr, size_t errstr_size) {
  h->kind = PARRY_SYSLOG_5424;
  size_t end = token_end(s, len, i);
  if (end >= len)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "RFC 5424 header ends at offset %zu, before HOSTNAME", end);
  if (!(end - i == 1 && s[i] == '-')) {
    if (parry_time_parse_rfc3339(s + i, end - i, &h->time_ns) != PARRY_OK)
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "RFC 5424 TIMESTAMP at offset %zu is not an RFC 3339 time: \"%.*s\"", i,
                        (int)(end - i > 40 ? 40 : end - i), s + i);
    if (!time_in_range(h->time_ns))
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "RFC 5424 TIMESTAMP at offset %zu is outside the years 1678..2261", i);
    h->has_time = true;
  }
  i = end + 1;
  parry_span_t procid;
  if (!field_5424(s, len, &i, &h->host, "APP-NAME", errstr, errstr_size) ||
      !field_5424(s, len, &i, &h->app, "PROCID", errstr, errstr_size) ||
      !field_5424(s, len, &i, &procid, "MSGID", errstr, errstr_size) ||
      !field_5424(s, len, &i, &h->msgid, "STRUCTURED-DATA", errstr, errstr_size))
    return PARRY_ERR_INVALID;
  if (procid.p) {
    int64_t pid = 0;
    size_t d = 0;
    while (d < procid.n && d < 18 && is_digit(procid.p[d])) pid = pid * 10 + (procid.p[d++] - '0');
    if (d == procid.n) {
      h->pid = pid;
      h->has_pid = true;
    } else {
      h->procid = procid;
    }
  }
  if (i < len && s[i] == '-') {
    i++;
  } else if (i < len && s[i] == '[') {
    size_t start = i;
    if (!sd_validate(s, len, &i, errstr, errstr_size)) return PARRY_ERR_INVALID;
    h->sd = (parry_span_t){s + start, i - start};
  } else {
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "RFC 5424 STRUCTURED-DATA at offset %zu is neither '-' nor '['", i);
  }
  if (i < len && s[i] != ' ')
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "RFC 5424: expected a space after STRUCTURED-DATA at offset %zu", i);
  if (i < len) i++;
  /* A UTF-8 MSG starts with a BOM (RFC 5424 section 6.4); it is not text. */
  if (len - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0) i += 3;
  h->msg = (parry_span_t){s + i, len - i};
  return PARRY_OK;
}

/* ---- audit ---------------------------------------------------------------- */

static parry_err_t parse_audit(const char *s, size_t len, parry_syslog_header_t *h, char *errstr,
                               size_t errstr_size) {
  h->kind = PARRY_SYSLOG_AUDIT;
  h->msg = (parry_span_t){s, len};
  const char *a = memmem(s, len, "msg=audit(", 10);
  size_t i = (size_t)(a - s) + 10;
  int64_t secs = 0, ms = 0;
  size_t d = i;
  while (d < len && is_digit(s[d]) && d - i < 12) secs = secs * 10 + (s[d++] - '0');
  if (d == i || d >= len || s[d] != '.')
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "audit record: expected SECONDS.MILLIS at offset %zu", i);
  size_t f = ++d;
  while (d < len && is_digit(s[d]) && d - f < 3) ms = ms * 10 + (s[d++] - '0');
  if (d - f != 3)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "audit record: expected three millisecond digits at offset %zu", f);
  if (secs >= INT64_MAX / PARRY_NS_PER_SEC) /* before the multiplication overflows */
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "audit record: time %lld at offset %zu is outside the years 1678..2261",
                      (long long)secs, i);
  h->time_ns = secs * PARRY_NS_PER_SEC + ms * 1000000;
  h->has_time = true;
  if (!time_in_range(h->time_ns))
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "audit record: time %lld at offset %zu is outside the years 1678..2261",
                      (long long)secs, i);
  return PARRY_OK;
}

/* ---- RFC 3164 and relatives --------------------------------------------- */

/* "last message repeated N times" (syslogd) or "--- last message repeated N
 * times ---" (FreeBSD, syslog-ng) at s[i]. */
static bool repeat_marker(const char *s, size_t len, size_t i, uint64_t *count) {
  static const char lit[] = "last message repeated ";
  if (len - i >= 4 && memcmp(s + i, "--- ", 4) == 0) i += 4;
  if (len - i < sizeof lit || memcmp(s + i, lit, sizeof lit - 1) != 0) return false;
  i += sizeof lit - 1;
  uint64_t n = 0;
  size_t d = i;
  while (d < len && is_digit(s[d]) && d - i < 18) n = n * 10 + (uint64_t)(s[d++] - '0');
  if (d == i || d >= len || s[d] != ' ') return false;
  *count = n;
  return true;
}

/* "kernel: [  970.699396] [@vserver_x ]PROG(MOD)[PID] MSG": a daemon's line
 * relayed through the kernel log (Linux-VServer guests), which fail2ban's
 * common prefix also takes apart. Only a tag with a pid is taken as the
 * daemon, so the kernel's own messages ("[  1.2] usb 1-1: ...") stay the
 * kernel's. Returns where the message starts. */
static size_t relayed_by_kernel(const char *s, size_t len, size_t i, parry_syslog_header_t *h) {
  if (h->app.n != 6 || memcmp(h->app.p, "kernel", 6) != 0 || h->has_pid) return i;
  size_t j = skip_spaces(s, len, i);
  if (j >= len || s[j] != '[') return i;
  const char *close = memchr(s + j, ']', len - j);
  if (!close) return i;
  j = skip_spaces(s, len, (size_t)(close - s) + 1);
  if (j < len && s[j] == '@') j = skip_spaces(s, len, token_end(s, len, j));
  size_t end = token_end(s, len, j);
  tag_t tag = {0};
  if (end == j || !parse_tag(s + j, end - j, &tag) || !tag.has_pid) return i;
  take_tag(h, &tag);
  return end;
}

parry_err_t parry_syslog_header_parse(const char *s, size_t len,
                                      const parry_syslog_time_rule_t *rule, int64_t reference_ns,
                                      parry_syslog_time_cache_t *cache, parry_syslog_header_t *h,
                                      char *errstr, size_t errstr_size) {
  memset(h, 0, sizeof *h);
  h->pri = -1;
  size_t i = 0;
  if (len && s[0] == '<') {
    int pri = 0;
    i = 1;
    while (i < len && i < 4 && is_digit(s[i])) pri = pri * 10 + (s[i++] - '0');
    if (i == 1 || i >= len || s[i] != '>' || pri > 191)
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "invalid <PRI> at offset 0: expected '<' 1-3 digits (0..191) '>'");
    h->pri = pri;
    i++;
    if (len - i >= 2 && s[i] == '1' && s[i + 1] == ' ')
      return parse_5424(s, len, i + 2, h, errstr, errstr_size);
  }

  bool bracketed = i < len && s[i] == '[' && looks_3164(s + i + 1, len - i - 1);
  if (bracketed) i++;
  if (looks_3164(s + i, len - i)) {
    size_t at = i;
    if (!time_3164(s, len, &i, rule, reference_ns, cache, &h->time_ns))
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "invalid RFC 3164 timestamp at offset %zu: \"%.*s\"", at,
                        (int)(len - at < 20 ? len - at : 20), s + at);
    h->has_time = true;
    if (bracketed) {
      if (i >= len || s[i] != ']')
        return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                          "expected ']' after the bracketed timestamp at offset %zu", i);
      i++;
    }
  } else if (looks_iso(s + i, len - i)) {
    size_t at = i;
    if (!time_iso(s, len, &i, rule, &h->time_ns))
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "invalid ISO 8601 timestamp at offset %zu: \"%.*s\"", at,
                        (int)(token_end(s, len, at) - at > 40 ? 40 : token_end(s, len, at) - at),
                        s + at);
    h->has_time = true;
  } else if (i == 0 && looks_audit(s, len)) {
    return parse_audit(s, len, h, errstr, errstr_size);
  } else if (i == 0 && strict_host_tag(s, len, 0, true)) {
    h->kind = PARRY_SYSLOG_JOURNAL;
  } else {
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "no syslog timestamp at offset %zu (expected RFC 3164 \"Mmm dd hh:mm:ss\", "
                      "RFC 3339, \"<PRI>1 \" for RFC 5424, or \"HOST PROG[PID]: \")",
                      i);
  }
  if (h->has_time && !time_in_range(h->time_ns))
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "the timestamp at offset 0 is outside the years 1678..2261");
  if (h->has_time) {
    if (i < len && s[i] != ' ')
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "expected a space after the timestamp at offset %zu", i);
    i = skip_spaces(s, len, i);
  }

  /* BSD syslogd -v / -vv: "<4.3>" or "<auth.info>" before the host. */
  if (i < len && s[i] == '<') {
    size_t end = token_end(s, len, i);
    if (end - i > 3 && s[end - 1] == '>' && memchr(s + i, '.', end - i)) {
      h->bsd_prio = (parry_span_t){s + i + 1, end - i - 2};
      i = skip_spaces(s, len, end);
    }
  }

  if (repeat_marker(s, len, i, &h->repeat_count)) {
    h->repeat_marker = true;
    h->msg = (parry_span_t){s + i, len - i};
    return PARRY_OK;
  }

  /* HOST TAG or TAG alone: a first token that is itself a tag ("sshd[1]:",
   * "[sshd]", "dropbear[1]") means the host was left out, as local
   * syslogds and some relays do; host names never hold '[' or end in ':'. */
  size_t t1 = token_end(s, len, i);
  tag_t tag = {0};
  bool tag_first = t1 > i && (s[i] == '[' || s[t1 - 1] == ':' || s[t1 - 1] == ']') &&
                   parse_tag(s + i, t1 - i, &tag);
  if (tag_first) {
    take_tag(h, &tag);
    i = t1;
  } else {
    if (t1 > i) h->host = (parry_span_t){s + i, t1 - i};
    i = skip_spaces(s, len, t1);
    if (h->kind != PARRY_SYSLOG_JOURNAL && repeat_marker(s, len, i, &h->repeat_count)) {
      h->repeat_marker = true;
      h->msg = (parry_span_t){s + i, len - i};
      return PARRY_OK;
    }
    if (i < len && s[i] == '@') i = skip_spaces(s, len, token_end(s, len, i)); /* @vserver_x */
    size_t t2 = token_end(s, len, i);
    memset(&tag, 0, sizeof tag);
    if (t2 > i && parse_tag(s + i, t2 - i, &tag)) {
      take_tag(h, &tag);
      i = t2;
    }
    /* else: no recognisable tag; the message starts here */
  }
  i = relayed_by_kernel(s, len, i, h);
  if (i < len && s[i] == ' ') i++;
  h->msg = (parry_span_t){s + i, len - i};
  return PARRY_OK;
}
