/* Zeek logs, in both of Zeek's writers' forms: TSV (the default ASCII
 * writer) and JSON (LogAscii::use_json, or the JSON Streaming Logs package
 * with its "_path" and "_write_ts").
 *
 * Shapes recognised
 * -----------------
 * TSV: a header block
 *     #separator \x09
 *     #set_separator  ,     #empty_field  (empty)     #unset_field  -
 *     #path  conn           #open  ...
 *     #fields  ts  uid  id.orig_h  ...
 *     #types   time  string  addr  ...
 * then one record per line, fields split on the separator, and "#close".
 * The header is per stream state (stream_new / stream_free): detect_text
 * claims every line that starts with '#' (headers, "#close", and comments
 * such as btest's "### BTest baseline" banner, skipped) and, once a stream
 * has shown its #fields, the data lines that follow until #close. A data
 * line with no header before it, a line whose field count differs from
 * #fields, and a header line that makes no sense (#types not matching
 * #fields, an empty #fields, a bad #separator) are rejected with the
 * reason -- and so is every data line after a bad header line, until the
 * next #separator starts a new header.
 * JSON: an object with "ts" and one of "uid", "id.orig_h", "_path" or
 * "_write_ts" -- the members every connection-based Zeek log has.
 *
 * One event for both forms
 * ------------------------
 * The same log line normalizes to the same Event from TSV and from JSON
 * Streaming, except for "_path" and "_write_ts", which only the JSON writer
 * adds (tests/unit/test_parse_zeek.c checks this on the shared data):
 *   - columns are vendor fields at the top level under Zeek's flat names
 *     ("id.orig_h", "remote_location.city"), in column order;
 *   - TSV values take the type #types gives them: count, int and port are
 *     integers (a count past int64 keeps its digits as a number), double and
 *     interval are numbers, bool is true/false, set[...] and vector[...] are
 *     lists of their element type, anything else (string, addr, subnet,
 *     enum, pattern) a string; the unset field ("-") is omitted, as the JSON
 *     writer omits it, and the empty field ("(empty)") is "" or [];
 *   - time columns are RFC 3339 strings in UTC to the microsecond
 *     ("2018-03-24T17:16:39.739898Z"), which is how JSON Streaming writes
 *     them, whatever form the TSV used ("2.385616957e+09" for far dates,
 *     negative before 1970); "ts" and "_write_ts" given as epoch numbers in
 *     JSON (Zeek's plain JSON writer) become the same strings. A value that
 *     does not parse as its declared type (btest baselines write times as
 *     "XXXXXXXXXX.XXXXXX") is kept as the text it is, not rejected;
 *   - doubles keep what the TSV has: six decimals, where JSON has them all;
 *   - "(empty)" in a set or vector column is the empty list, as Zeek's own
 *     reader takes it, although the writer also prints a set holding one
 *     empty string that way (JSON shows [""] then);
 *   - TSV escapes "\xHH" are decoded the way Zeek's JSON writer shows the
 *     same bytes: printable ASCII, tab, newline, CR, FF, BS and valid UTF-8
 *     sequences become the characters, other bytes (NUL, control bytes,
 *     invalid UTF-8) stay as the four characters "\xHH" (JSON writes those
 *     as "\\xHH" too);
 *   - the TSV line itself is not kept as `message`: it is a serialization of
 *     the columns, not a message, and keeping it would make the two forms
 *     differ. syslog.log's "message" column is the ECS message instead.
 * Columns named like a typed ECS object ("host" in known_hosts, "user" in
 * ftp, "source" in files and weird) are kept as zeek.host, zeek.user,
 * zeek.source (vendor.h).
 *
 * ECS fields
 * ----------
 *   @timestamp      ts
 *   source.ip/port, destination.ip/port   id.orig_h/id.orig_p,
 *                   id.resp_h/id.resp_p (notice's src/dst/p when those are
 *                   unset)
 *   event.dataset   zeek.<path>; event.kind alert for notice, state for the
 *                   known_* and software inventories, metric for stats and
 *                   capture_loss, else event; event.category network (file
 *                   for files/pe/x509/ocsp), event.type connection for conn,
 *                   protocol for application logs, info otherwise
 *   event.outcome   ssh auth_success, kerberos and ntlm success (these add
 *                   the authentication category)
 *   user.name       ftp user, http/ntlm/radius username
 *   rule.name       notice's note
 *   message         syslog's message column
 * The path comes from "#path" or "_path"; plain JSON logs have neither, and
 * then a file source's name gives it (file:/var/log/zeek/dns.log -> dns).
 *
 * Logsource: product zeek, service the log path (conn, dns, http, ...), as
 * the Sigma taxonomy names Zeek's log sources.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "parser.h"
#include "vendor.h"

/* A typed string of an Event: unset when NULL or "" (protobuf-c's
 * initializer points them at an empty string). */
static bool unset(const char *s) { return !s || !*s; }

#define NS "zeek"
#define MAX_COLUMNS 1024

typedef enum {
  Z_STRING,
  Z_TIME,
  Z_DOUBLE, /* double, interval */
  Z_INT,    /* int, port */
  Z_COUNT,
  Z_BOOL,
} ztype_t;

typedef struct {
  char *name;
  ztype_t type;
  bool list; /* set[...] or vector[...]: `type` is the element's */
} zcol_t;

typedef struct {
  bool block;       /* in a header block: its data lines are ours */
  bool fields_seen; /* a #fields line in the current block */
  bool closed;      /* #close seen: the block is over */
  char sep[8], set_sep[8];
  size_t sep_len, set_sep_len;
  char *empty, *unset, *path;
  zcol_t *cols;
  size_t n_cols;
  size_t n_types; /* columns #types has described, 0 before #types */
  char *error;    /* why the current header cannot be used */
} zeek_state_t;

/* ---- stream state ---------------------------------------------------------- */

static void clear_columns(zeek_state_t *st) {
  for (size_t i = 0; i < st->n_cols; i++) free(st->cols[i].name);
  free(st->cols);
  st->cols = NULL;
  st->n_cols = st->n_types = 0;
}

static void set_str(char **field, const char *s, size_t len) {
  free(*field);
  *field = parry_xstrndup(s, len);
}

/* A new header block: Zeek's defaults until its lines say otherwise. */
static void reset(zeek_state_t *st) {
  clear_columns(st);
  st->block = st->fields_seen = st->closed = false;
  st->sep[0] = '\t';
  st->sep_len = 1;
  st->set_sep[0] = ',';
  st->set_sep_len = 1;
  set_str(&st->empty, "(empty)", 7);
  set_str(&st->unset, "-", 1);
  free(st->path);
  st->path = NULL;
  free(st->error);
  st->error = NULL;
}

static void *stream_new(const parry_parse_config_t *config) {
  zeek_state_t *st = parry_xnew(zeek_state_t, 1);
  reset(st);
  return st;
}

static void stream_free(void *opaque) {
  zeek_state_t *st = opaque;
  if (!st) return;
  clear_columns(st);
  free(st->empty);
  free(st->unset);
  free(st->path);
  free(st->error);
  free(st);
}

/* ---- TSV escapes -------------------------------------------------------------- */

static int hexval(char c) {
  return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
         : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* The byte of "\xHH" at s (len bytes left), or -1. */
static int escape_at(const char *s, size_t len) {
  if (len < 4 || s[0] != '\\' || s[1] != 'x') return -1;
  int h = hexval(s[2]), l = hexval(s[3]);
  return h < 0 || l < 0 ? -1 : h * 16 + l;
}

static size_t utf8_len(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (!n || avail < n) return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
      (c == 0xF4 && s[1] >= 0x90))
    return 0;
  return n;
}

/* Decode the TSV escapes of s[0..len) (rule in the comment at the top). */
static char *unescape(parry_evb_t *b, const char *s, size_t len, size_t *out_len) {
  if (!memchr(s, '\\', len)) {
    *out_len = len;
    return (char *)s;
  }
  char *out = parry_arena_alloc(b->arena, len + 1);
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\\') { /* an escaped backslash */
      out[o++] = '\\';
      i += 2;
      continue;
    }
    int c = escape_at(s + i, len - i);
    if (c < 0) {
      out[o++] = s[i++];
      continue;
    }
    if (c >= 0x80) {
      /* a run of escaped high bytes: keep the valid UTF-8 in it */
      unsigned char run[4];
      size_t n = 0;
      while (n < 4 && escape_at(s + i + 4 * n, len - i - 4 * n) >= 0x80)
        run[n] = (unsigned char)escape_at(s + i + 4 * n, len - i - 4 * n), n++;
      size_t u = utf8_len(run, n);
      if (u) {
        memcpy(out + o, run, u);
        o += u;
        i += 4 * u;
        continue;
      }
    } else if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
               c == '\b') {
      out[o++] = (char)c;
      i += 4;
      continue;
    }
    memcpy(out + o, s + i, 4); /* kept as written */
    o += 4;
    i += 4;
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

/* ---- times ---------------------------------------------------------------------- */

/* Proleptic Gregorian date of a day count (the inverse of
 * parry_days_from_civil). */
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

/* A time given as epoch seconds ("1521911799.739898", "2.385616957e+09",
 * negative before 1970) as RFC 3339 in UTC, the way Zeek's JSON writer
 * prints times: to the nearest microsecond. Into out (64 bytes); 0 when the
 * text is not such a time. *ns gets the exact time. */
static size_t epoch_to_rfc3339(const char *s, size_t len, char out[64], int64_t *ns) {
  if (!parry_vendor_epoch(s, len, ns)) return 0;
  int64_t sec = *ns / PARRY_NS_PER_SEC, rem = *ns % PARRY_NS_PER_SEC;
  if (rem < 0) {
    rem += PARRY_NS_PER_SEC;
    sec--;
  }
  int64_t us = (rem + 500) / 1000; /* to the nearest microsecond */
  if (us == 1000000) {
    us = 0;
    sec++;
  }
  int64_t days = sec / 86400, tod = sec % 86400;
  if (tod < 0) {
    tod += 86400;
    days--;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  int n = snprintf(out, 64, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
                   (int)(tod / 3600), (int)(tod / 60 % 60), (int)(tod % 60), (long long)us);
  return n > 0 && n < 64 ? (size_t)n : 0;
}

/* ---- typed values ------------------------------------------------------------------ */

static bool is_number_text(const char *s, size_t len) {
  size_t i = 0;
  if (i < len && s[i] == '-') i++;
  if (i == len || s[i] < '0' || s[i] > '9') return false;
  for (; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
          s[i] == '+' || s[i] == '-'))
      return false;
  return true;
}

static void typed_value(parry_evb_t *b, Parry__V1__Value *v, ztype_t type, const char *s,
                        size_t len, int64_t *time_ns) {
  char buf[64];
  switch (type) {
  case Z_TIME: {
    int64_t ns;
    size_t n = epoch_to_rfc3339(s, len, buf, &ns);
    if (n) {
      parry_evb_value_str(b, v, buf, n);
      if (time_ns) *time_ns = ns;
      return;
    }
    break;
  }
  case Z_DOUBLE:
    if (len < sizeof buf && is_number_text(s, len)) {
      memcpy(buf, s, len);
      buf[len] = '\0';
      char *end;
      double d = strtod(buf, &end);
      if (end == buf + len && d == d && d - d == 0) { /* finite */
        v->kind_case = PARRY__V1__VALUE__KIND_DOUBLE_VALUE;
        v->double_value = d;
        return;
      }
    }
    break;
  case Z_INT:
  case Z_COUNT: {
    bool neg = len > 1 && s[0] == '-' && type == Z_INT;
    uint64_t u;
    if (parry_vendor_uint(s + neg, len - neg, &u) && (len - neg < 2 || s[neg + 1] != 'x') &&
        (len - neg == 1 || s[neg] != '0')) {
      if (!neg && u <= INT64_MAX) {
        parry_vendor_int(v, (int64_t)u);
        return;
      }
      if (neg && u <= (uint64_t)INT64_MAX + 1) {
        parry_vendor_int(v, u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u);
        return;
      }
      if (!neg) { /* a count past int64: its digits, as a JSON number */
        v->kind_case = PARRY__V1__VALUE__KIND_NUMBER_TEXT;
        v->number_text = parry_arena_strndup(b->arena, s, len);
        return;
      }
    }
    break;
  }
  case Z_BOOL:
    if (len == 1 && (s[0] == 'T' || s[0] == 'F')) {
      v->kind_case = PARRY__V1__VALUE__KIND_BOOL_VALUE;
      v->bool_value = s[0] == 'T';
      return;
    }
    break;
  case Z_STRING: break;
  }
  size_t n;
  const char *text = unescape(b, s, len, &n);
  parry_evb_value_str(b, v, text, n);
}

/* ---- ECS, shared by both forms -------------------------------------------------------- */

static const Parry__V1__Value *map_get(const Parry__V1__ValueMap *m, const char *key) {
  for (size_t i = 0; m && i < m->n_entries; i++)
    if (strcmp(m->entries[i]->key, key) == 0) return m->entries[i]->value;
  return NULL;
}

static const char *text_of(const Parry__V1__ValueMap *m, const char *key, char buf[32],
                           size_t *len) {
  const char *t = parry_vendor_text(map_get(m, key), buf, len);
  return t && *len ? t : NULL;
}

static bool in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(*list, s) == 0) return true;
  return false;
}

static void endpoint(parry_evb_t *b, const Parry__V1__ValueMap *top, const char *ip,
                     const char *port, bool source) {
  char buf[32];
  size_t len;
  const char *t = text_of(top, ip, buf, &len);
  if (t && unset(source ? b->ev->source_ip : b->ev->destination_ip)) {
    if (source)
      parry_evb_set_source_address(b, t, len);
    else
      parry_evb_set_destination_address(b, t, len);
  }
  uint32_t p;
  if (port && (t = text_of(top, port, buf, &len)) && parry_vendor_port(t, len, &p) &&
      !(source ? b->ev->source_port : b->ev->destination_port)) {
    if (source)
      parry_evb_set_source_port(b, p);
    else
      parry_evb_set_destination_port(b, p);
  }
}

static void outcome_from(parry_evb_t *b, const Parry__V1__Value *v) {
  if (!v || v->kind_case != PARRY__V1__VALUE__KIND_BOOL_VALUE) return;
  parry_evb_add_category(b, "authentication");
  parry_evb_set_outcome(b, v->bool_value ? "success" : "failure");
}

static void ecs(parry_evb_t *b, const char *path) {
  static const char *const files[] = {"files", "pe", "x509", "ocsp", NULL};
  static const char *const inventory[] = {"known_hosts", "known_services", "known_certs",
                                          "known_devices", "software", NULL};
  static const char *const metrics[] = {"stats", "capture_loss", "packet_filter",
                                        "loaded_scripts", "reporter", "cluster", "broker", NULL};
  static const char *const info[] = {"weird", "dpd", "analyzer", "notice", "intel", "signatures",
                                     NULL};
  const Parry__V1__ValueMap *top = parry_evb_map_at(b, "");
  const Parry__V1__ValueMap *own = NULL;
  const Parry__V1__Value *nsv = map_get(top, NS);
  if (nsv && nsv->kind_case == PARRY__V1__VALUE__KIND_MAP_VALUE) own = nsv->map_value;
  char buf[32];
  size_t len;
  const char *t;

  endpoint(b, top, "id.orig_h", "id.orig_p", true);
  endpoint(b, top, "id.resp_h", "id.resp_p", false);
  if (path && strcmp(path, "notice") == 0) {
    endpoint(b, top, "src", NULL, true);
    endpoint(b, top, "dst", "p", false);
    if ((t = text_of(top, "note", buf, &len))) parry_evb_field_str(b, "rule.name", t, len);
  }

  char dataset[96];
  int n = snprintf(dataset, sizeof dataset, "zeek%s%.80s", path ? "." : "", path ? path : "");
  parry_evb_set_dataset(b, dataset, (size_t)n);
  if (!path) {
    parry_evb_set_kind(b, "event");
  } else if (strcmp(path, "notice") == 0) {
    parry_evb_set_kind(b, "alert");
  } else if (in_list(path, inventory)) {
    parry_evb_set_kind(b, "state");
  } else if (in_list(path, metrics)) {
    parry_evb_set_kind(b, "metric");
  } else {
    parry_evb_set_kind(b, "event");
  }
  if (path && !in_list(path, metrics)) {
    if (in_list(path, files)) {
      parry_evb_add_category(b, "file");
      parry_evb_add_type(b, "info");
    } else {
      parry_evb_add_category(b, "network");
      parry_evb_add_type(b, strcmp(path, "conn") == 0 ? "connection"
                            : in_list(path, info) || in_list(path, inventory) ? "info"
                                                                               : "protocol");
    }
  }
  if (path && strcmp(path, "ssh") == 0) outcome_from(b, map_get(top, "auth_success"));
  if (path && (strcmp(path, "kerberos") == 0 || strcmp(path, "ntlm") == 0))
    outcome_from(b, map_get(top, "success"));

  if (path && strcmp(path, "ftp") == 0 && (t = text_of(own, "user", buf, &len)))
    parry_evb_set_user(b, t, len);
  else if ((t = text_of(top, "username", buf, &len)))
    parry_evb_set_user(b, t, len);

  parry_evb_set_logsource(b, "zeek", path, NULL);
}

/* The path of a log from its file name, for logs that do not say. */
static const char *path_from_source(parry_evb_t *b, const char *source) {
  if (!source || strncmp(source, "file:", 5) != 0) return NULL;
  const char *base = strrchr(source, '/');
  base = base ? base + 1 : source + 5;
  size_t n = 0;
  while (base[n] && base[n] != '.') n++;
  if (n == 0 || strcmp(base, "stdin") == 0) return NULL;
  return parry_evb_text(b, base, n);
}

/* ---- TSV ------------------------------------------------------------------------------ */

/* The value of a header line "#tag<sep>value": NULL when the separator is
 * missing. */
static const char *header_value(const zeek_state_t *st, const char *rec, size_t len,
                                size_t tag_len, size_t *vlen) {
  if (len < tag_len + st->sep_len || memcmp(rec + tag_len, st->sep, st->sep_len) != 0) return NULL;
  *vlen = len - tag_len - st->sep_len;
  return rec + tag_len + st->sep_len;
}

static bool tag_is(const char *rec, size_t len, const char *tag) {
  size_t n = strlen(tag);
  return len >= n && memcmp(rec, tag, n) == 0 &&
         (len == n || rec[n] == ' ' || rec[n] == '\t' || !((rec[n] >= 'a' && rec[n] <= 'z') ||
                                                           rec[n] == '_'));
}

/* Decode "\x09" style text into out (at most 7 bytes). */
static size_t decode_sep(const char *s, size_t len, char out[8]) {
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    if (o == 7) return 0;
    int c = escape_at(s + i, len - i);
    if (c >= 0) {
      out[o++] = (char)c;
      i += 4;
    } else {
      out[o++] = s[i++];
    }
  }
  return o;
}

static size_t count_parts(const char *s, size_t len, const char *sep, size_t sep_len) {
  size_t n = 1;
  if (sep_len == 0) return n;
  for (size_t i = 0; i + sep_len <= len;) {
    if (memcmp(s + i, sep, sep_len) == 0) {
      n++;
      i += sep_len;
    } else {
      i++;
    }
  }
  return n;
}

/* Next part of s split on sep, from *pos; false at the end. */
static bool next_part(const char *s, size_t len, const char *sep, size_t sep_len, size_t *pos,
                      const char **part, size_t *plen) {
  if (*pos > len || sep_len == 0) return false;
  size_t start = *pos, i = start;
  while (i + sep_len <= len && memcmp(s + i, sep, sep_len) != 0) i++;
  if (i + sep_len > len) i = len;
  *part = s + start;
  *plen = i - start;
  *pos = i + sep_len;
  if (i == len) *pos = len + 1;
  return true;
}

static parry_err_t header_error(zeek_state_t *st, char *errstr, size_t errstr_size,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static parry_err_t header_error(zeek_state_t *st, char *errstr, size_t errstr_size,
                                const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  set_str(&st->error, why, strlen(why));
  return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", why);
}

static ztype_t type_of(const char *s, size_t len, bool *list) {
  *list = false;
  if ((len > 5 && memcmp(s, "set[", 4) == 0) || (len > 8 && memcmp(s, "vector[", 7) == 0)) {
    if (s[len - 1] == ']') {
      size_t skip = s[0] == 's' ? 4 : 7;
      *list = true;
      bool inner_list;
      return type_of(s + skip, len - skip - 1, &inner_list);
    }
  }
#define IS(lit) (len == sizeof lit - 1 && memcmp(s, lit, len) == 0)
  if (IS("time")) return Z_TIME;
  if (IS("double") || IS("interval")) return Z_DOUBLE;
  if (IS("int") || IS("port")) return Z_INT;
  if (IS("count") || IS("counter")) return Z_COUNT;
  if (IS("bool")) return Z_BOOL;
#undef IS
  return Z_STRING;
}

static parry_err_t header_line(zeek_state_t *st, const char *rec, size_t len, char *errstr,
                               size_t errstr_size) {
  const char *v;
  size_t vlen;
  char q[72];
  if (tag_is(rec, len, "#separator")) {
    reset(st);
    st->block = true;
    size_t at = 10;
    while (at < len && (rec[at] == ' ' || rec[at] == '\t')) at++;
    st->sep_len = decode_sep(rec + at, len - at, st->sep);
    if (st->sep_len == 0) {
      st->sep[0] = '\t';
      st->sep_len = 1;
      return header_error(st, errstr, errstr_size, "#separator is not 1 to 7 bytes: %s",
                          parry_vendor_quote(q, rec + at, len - at));
    }
    return PARRY_OK;
  }
  if (tag_is(rec, len, "#close")) {
    st->closed = true;
    return PARRY_OK;
  }
  if (tag_is(rec, len, "#open")) return PARRY_OK;
  static const char *const tags[] = {"#set_separator", "#empty_field", "#unset_field", "#path",
                                     "#fields", "#types", NULL};
  int which = -1;
  for (int i = 0; tags[i] && which < 0; i++)
    if (tag_is(rec, len, tags[i])) which = i;
  if (which < 0) return PARRY_OK; /* a comment */
  size_t tag_len = strlen(tags[which]);
  if (!(v = header_value(st, rec, len, tag_len, &vlen)))
    return header_error(st, errstr, errstr_size, "%s is not followed by the #separator",
                        tags[which]);
  st->closed = false;
  st->block = true;
  switch (which) {
  case 0: {
    char sep[8];
    size_t n = decode_sep(v, vlen, sep);
    if (!n)
      return header_error(st, errstr, errstr_size, "#set_separator is not 1 to 7 bytes: %s",
                          parry_vendor_quote(q, v, vlen));
    memcpy(st->set_sep, sep, n);
    st->set_sep_len = n;
    return PARRY_OK;
  }
  case 1: set_str(&st->empty, v, vlen); return PARRY_OK;
  case 2: set_str(&st->unset, v, vlen); return PARRY_OK;
  case 3: set_str(&st->path, v, vlen); return PARRY_OK;
  case 4: {
    clear_columns(st);
    size_t n = count_parts(v, vlen, st->sep, st->sep_len);
    if (vlen == 0)
      return header_error(st, errstr, errstr_size, "#fields names no fields");
    if (n > MAX_COLUMNS)
      return header_error(st, errstr, errstr_size, "#fields names %zu fields, more than %d", n,
                          MAX_COLUMNS);
    st->cols = parry_xnew(zcol_t, n);
    size_t pos = 0, plen;
    const char *part;
    while (next_part(v, vlen, st->sep, st->sep_len, &pos, &part, &plen)) {
      if (plen == 0)
        return header_error(st, errstr, errstr_size, "#fields has an empty name (field %zu)",
                            st->n_cols + 1);
      st->cols[st->n_cols].type = Z_STRING;
      st->cols[st->n_cols++].name = parry_xstrndup(part, plen);
    }
    st->fields_seen = true;
    return PARRY_OK;
  }
  default: { /* #types */
    size_t n = count_parts(v, vlen, st->sep, st->sep_len);
    if (!st->fields_seen)
      return header_error(st, errstr, errstr_size, "#types comes before #fields");
    if (n != st->n_cols)
      return header_error(st, errstr, errstr_size, "#types names %zu types for %zu #fields", n,
                          st->n_cols);
    size_t pos = 0, plen, i = 0;
    const char *part;
    while (next_part(v, vlen, st->sep, st->sep_len, &pos, &part, &plen) && i < n) {
      st->cols[i].type = type_of(part, plen, &st->cols[i].list);
      i++;
    }
    st->n_types = n;
    return PARRY_OK;
  }
  }
}

/* One column's value into its vendor field; its time into *ts when it is
 * "ts". */
static void put_column(parry_evb_t *b, const zeek_state_t *st, const zcol_t *col,
                       const char *s, size_t len, int64_t *ts, bool *have_ts) {
  size_t nlen = strlen(col->name);
  if (len == strlen(st->unset) && memcmp(s, st->unset, len) == 0) return;
  bool empty = len == strlen(st->empty) && memcmp(s, st->empty, len) == 0;
  if (!col->list && nlen == 7 && memcmp(col->name, "message", 7) == 0 && col->type == Z_STRING) {
    size_t n = 0;
    const char *text = empty ? "" : unescape(b, s, len, &n);
    if (!empty && unset(b->ev->message)) {
      parry_evb_set_message(b, text, n);
      return;
    }
  }
  Parry__V1__Value *v = parry_vendor_top(b, NS, col->name, nlen);
  if (col->list) {
    static const Parry__V1__ValueList none = PARRY__V1__VALUE_LIST__INIT;
    v->kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
    v->list_value = parry_arena_alloc(b->arena, sizeof *v->list_value);
    *v->list_value = none;
    if (empty) return;
    size_t pos = 0, plen;
    const char *part;
    while (next_part(s, len, st->set_sep, st->set_sep_len, &pos, &part, &plen)) {
      Parry__V1__Value *item = parry_evb_list_append(b, v);
      if (plen == strlen(st->unset) && memcmp(part, st->unset, plen) == 0)
        parry_vendor_null(item);
      else
        typed_value(b, item, col->type, part, plen, NULL);
    }
    return;
  }
  if (empty) {
    parry_evb_value_str(b, v, "", 0);
    return;
  }
  int64_t ns = INT64_MIN;
  bool is_ts = nlen == 2 && memcmp(col->name, "ts", 2) == 0;
  typed_value(b, v, col->type, s, len, is_ts ? &ns : NULL);
  if (ns != INT64_MIN) {
    *ts = ns;
    *have_ts = true;
  }
}

static parry_err_t parse_text(parry_parse_t *p, const char *rec, size_t len, char *errstr,
                              size_t errstr_size) {
  zeek_state_t *st = p->stream_state;
  if (len && rec[0] == '#') return header_line(st, rec, len, errstr, errstr_size);
  if (st->error)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "the header is unusable: %s",
                      st->error);
  if (!st->fields_seen || st->closed)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "data line before a #fields header");
  size_t n = count_parts(rec, len, st->sep, st->sep_len);
  if (n != st->n_cols)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "line has %zu fields, #fields names %zu", n, st->n_cols);
  parry_evb_t b;
  parry_evb_init(&b, p->arena);
  size_t pos = 0, plen, i = 0;
  const char *part;
  int64_t ts = 0;
  bool have_ts = false;
  while (next_part(rec, len, st->sep, st->sep_len, &pos, &part, &plen) && i < n)
    put_column(&b, st, &st->cols[i++], part, plen, &ts, &have_ts);
  if (have_ts) parry_evb_set_timestamp(&b, ts);
  const char *path = st->path && *st->path ? parry_evb_text(&b, st->path, strlen(st->path))
                                           : path_from_source(&b, p->source);
  ecs(&b, path);
  parry_parse_emit(p, &b);
  return PARRY_OK;
}

static bool detect_text(void *state, const char *rec, size_t len) {
  const zeek_state_t *st = state;
  if (len && rec[0] == '#') return true;
  return st && st->block && !st->closed;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static bool detect_json(json_object *obj) {
  return json_object_is_type(obj, json_type_object) &&
         json_object_object_get_ex(obj, "ts", NULL) &&
         (json_object_object_get_ex(obj, "uid", NULL) ||
          json_object_object_get_ex(obj, "id.orig_h", NULL) ||
          json_object_object_get_ex(obj, "_path", NULL) ||
          json_object_object_get_ex(obj, "_write_ts", NULL));
}

/* "ts" / "_write_ts": RFC 3339 text as it is, epoch numbers as RFC 3339. */
static bool json_time(parry_evb_t *b, Parry__V1__Value *v, json_object *o, int64_t *ns) {
  const char *t = json_object_get_string(o);
  size_t len = strlen(t);
  char buf[64];
  if (json_object_is_type(o, json_type_string)) {
    parry_evb_value_str(b, v, t, len);
    return parry_vendor_time(t, len, ns);
  }
  if ((json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int)) &&
      (len = epoch_to_rfc3339(t, len, buf, ns))) {
    parry_evb_value_str(b, v, buf, len);
    return true;
  }
  return false;
}

static parry_err_t parse_json(parry_parse_t *p, json_object *obj, char *errstr,
                              size_t errstr_size) {
  if (!json_object_is_type(obj, json_type_object))
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "a Zeek record is an object, not %s",
                      json_type_to_name(json_object_get_type(obj)));
  if ((size_t)json_object_object_length(obj) > PARRY_VENDOR_MAX_FIELDS)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "the record has %d fields, more than %d",
                      json_object_object_length(obj), PARRY_VENDOR_MAX_FIELDS);
  parry_evb_t b;
  parry_evb_init(&b, p->arena);
  const char *path = NULL;
  json_object_object_foreach(obj, key, val) {
    size_t klen = strlen(key);
    if (strcmp(key, "_path") == 0 && json_object_is_type(val, json_type_string) &&
        json_object_get_string_len(val) > 0)
      path = parry_evb_text(&b, json_object_get_string(val), (size_t)json_object_get_string_len(val));
    if (strcmp(key, "message") == 0 && json_object_is_type(val, json_type_string) &&
        json_object_get_string_len(val) > 0 && unset(b.ev->message)) {
      parry_evb_set_message(&b, json_object_get_string(val), (size_t)json_object_get_string_len(val));
      continue;
    }
    if (strcmp(key, "ts") == 0 || strcmp(key, "_write_ts") == 0) {
      int64_t ns;
      Parry__V1__Value *v = parry_vendor_top(&b, NS, key, klen);
      if (json_time(&b, v, val, &ns)) {
        if (key[0] == 't') parry_evb_set_timestamp(&b, ns);
        continue;
      }
      /* not a time: kept as it is, below */
    }
    if (!parry_vendor_top_json(&b, NS, key, klen, val))
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s nests deeper than %d levels",
                        key, PARRY_CODEC_MAX_DEPTH);
  }
  if (!path) path = path_from_source(&b, p->source);
  ecs(&b, path);
  parry_parse_emit(p, &b);
  return PARRY_OK;
}

const parry_parser_t parry_parser_zeek = {
    .name = "zeek",
    .summary = "Zeek logs: TSV with their #fields header, or JSON",
    .detect_text = detect_text,
    .detect_json = detect_json,
    .parse_text = parse_text,
    .parse_json = parse_json,
    .stream_new = stream_new,
    .stream_free = stream_free,
};
