/* Splitting a syslog line into its header and its message, without
 * allocating: every text part points into the record. Private to the syslog
 * parser (ingestor/parse/syslog.c) and its tests.
 *
 * Accepted shapes (the rules, and why each exists, are in syslog_header.c):
 *
 *   [<PRI>]Mmm dd hh:mm:ss[.frac] [<fac.sev>] [HOST] TAG MSG     RFC 3164 and BSD
 *   [<PRI>]Mmm dd yyyy hh:mm:ss ...                             devices with a year
 *   [Mmm dd hh:mm:ss] HOST TAG MSG                              date in brackets
 *   [<PRI>]yyyy-mm-ddThh:mm:ss[.frac](Z|+hh:mm) HOST TAG MSG    rsyslog's RFC 3339
 *   yyyy-mm-dd hh:mm:ss[.frac][ zone] HOST TAG MSG              zone-less ISO
 *   <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]             RFC 5424
 *   HOST PROG[PID]: MSG                                         journal export
 *   [node=N ]type=T msg=audit(SEC.MS:SERIAL): ...               Linux audit
 *
 * where TAG is PROG[PID]:, PROG:, PROG, [PROG], [PROG][PID], PROG(MOD)[PID]:
 * (the pre-2005 Linux-PAM form), optionally after @vserver_NAME.
 */
#ifndef PARRY_SYSLOG_HEADER_H
#define PARRY_SYSLOG_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/error.h"
#include "parry/timefmt.h"

typedef enum {
  PARRY_SYSLOG_3164 = 0, /* BSD syslog and its relatives */
  PARRY_SYSLOG_5424,
  PARRY_SYSLOG_JOURNAL,  /* no timestamp: "HOST PROG[PID]: MSG" */
  PARRY_SYSLOG_AUDIT,    /* a bare Linux audit record; msg is the whole line */
} parry_syslog_kind_t;

/* A part of the record: p is NULL when the part is absent. */
typedef struct {
  const char *p;
  size_t n;
} parry_span_t;

typedef struct {
  parry_syslog_kind_t kind;
  int pri;                  /* 0..191, or -1 without <PRI> */
  bool has_time;
  int64_t time_ns;
  parry_span_t host;        /* HOSTNAME */
  parry_span_t app;         /* program (RFC 3164 TAG) / APP-NAME */
  parry_span_t module;      /* "pam_unix" of "sshd(pam_unix)[1]:" */
  bool has_pid;
  int64_t pid;
  parry_span_t procid;      /* RFC 5424 PROCID when it is not a number */
  parry_span_t msgid;       /* RFC 5424 MSGID */
  parry_span_t sd;          /* RFC 5424 STRUCTURED-DATA, validated; absent for "-" */
  parry_span_t bsd_prio;    /* "auth.info" or "4.3" of a BSD "<auth.info>" */
  parry_span_t msg;         /* MSG / CONTENT (may be empty, never absent) */
  /* "last message repeated N times": no program, msg is the marker text */
  bool repeat_marker;
  uint64_t repeat_count;
} parry_syslog_header_t;

/* True when rec looks like one of the shapes above. Cheap (byte checks, no
 * allocation): it runs for every record during auto-detection. Shapes that
 * other formats could share (ISO timestamps, the timestamp-less journal
 * form) must also show a PROG[PID]: or PROG: tag. */
bool parry_syslog_detect(const char *rec, size_t len);

/* The last RFC 3164 time parsed, for a stream whose lines share their
 * second and reference time (a file read by `parry normalize`): a hit saves
 * the calendar arithmetic. Exact: it only answers for the same 15 bytes
 * "Mmm dd hh:mm:ss" and the same reference time, under the same rule. */
typedef struct {
  bool valid;
  char text[15];
  int64_t reference_ns;
  int64_t time_ns;
} parry_syslog_time_cache_t;

/* Parse the header of rec. RFC 3164 times follow rule with reference_ns
 * (parry/timefmt.h); times without a zone use rule's offset. cache may be
 * NULL; one cache must always be used with the same rule. On error returns
 * PARRY_ERR_INVALID with the reason in errstr, naming the offset. */
parry_err_t parry_syslog_header_parse(const char *rec, size_t len,
                                      const parry_syslog_time_rule_t *rule, int64_t reference_ns,
                                      parry_syslog_time_cache_t *cache, parry_syslog_header_t *h,
                                      char *errstr, size_t errstr_size);

/* RFC 5424 structured data, one element at a time. Start with *pos = 0 on a
 * span that parry_syslog_header_parse validated; returns false after the
 * last element. Values keep their backslash escapes: unescape with
 * parry_syslog_sd_unescape. */
typedef struct {
  parry_span_t id;
  parry_span_t params; /* ' name="value" name="value"' */
} parry_syslog_sd_element_t;

bool parry_syslog_sd_next(parry_span_t sd, size_t *pos, parry_syslog_sd_element_t *out);
bool parry_syslog_sd_param_next(parry_span_t params, size_t *pos, parry_span_t *name,
                                parry_span_t *value);
/* Writes the unescaped value into out (at least value.n bytes); returns its
 * length. RFC 5424 escapes only '"', '\' and ']'; any other backslash stays. */
size_t parry_syslog_sd_unescape(parry_span_t value, char *out);

#endif
