/* ArcSight Common Event Format (CEF), bare or inside syslog.
 *
 *   CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
 *
 * Shapes recognised
 * -----------------
 * A text record that starts with "CEF:" (spaces after the colon allowed, as
 * some devices write "CEF: 0|"), or with the bare version ("0|Vendor|...",
 * as UniFi devices send it) when at least seven '|' follow. CEF inside a
 * syslog message is the syslog parser's: it parses the header and calls
 * parry_cef_parse_into with the message from "CEF:" on. With --format cef a
 * record may also carry any prefix before "CEF:" (a syslog header, a
 * relay's timestamp); the prefix is not interpreted, only kept in
 * `message` with the rest of the record.
 *
 * Header: seven fields split on unescaped '|', where "\|" and "\\" are the
 * escapes. A record with fewer than seven is rejected naming how many it
 * has; seven without the final '|' is a record with no extension.
 * Extension: key=value pairs separated by spaces. A key is a run of
 * letters, digits and "_.-[]" directly before an unescaped '=' at the start
 * or after a space; a value runs up to the space before the next key, so it
 * may hold spaces, and its trailing spaces are dropped. In values "\=",
 * "\\", "\n", "\r" (and "\|", which some devices write) are unescaped; any
 * other backslash is kept (Windows paths). Text before the first key is
 * kept as cef.extension_text rather than lost. At most 1024 keys.
 *
 * Fields set
 * ----------
 * Vendor fields under cef.*:
 *   cef.version (integer), cef.device_vendor, cef.device_product,
 *   cef.device_version, cef.signature_id, cef.name, cef.severity (as
 *   written), cef.extensions.<key> for every extension key as it came,
 *   labels included (cs1, cs1Label), so rules written against ArcSight's
 *   names work; and, for each custom field whose label is present (csN,
 *   cnN, cfpN, flexStringN, flexNumberN, deviceCustomDateN, c6aN,
 *   deviceCustomIPv6AddressN, deviceCustomNumberN, deviceCustomStringN ...),
 *   cef.custom.<label> = its value, so rules can also use the device's own
 *   meaning ("Cap Support") without knowing which slot it sent it in.
 * ECS:
 *   source.ip/address, source.port, source.domain     src, spt, shost
 *   destination.ip/address, .port, .domain            dst, dpt, dhost
 *   user.name       suser, else duser; user.target.name duser (the account
 *                   acted on, e.g. the one a failed logon tried)
 *   host.name       dvchost, unless the syslog header gave one
 *   observer.vendor/product/version   the header's device fields
 *   event.code      the signature id; event.action act; event.outcome from
 *                   outcome (a value containing "fail" is failure, "succe"
 *                   success, anything else unknown)
 *   event.severity  0-10 as is; Low/Medium/High/Very-High (any case) as the
 *                   lowest number of their CEF band: 0, 4, 7, 9; Unknown
 *                   and other text set nothing
 *   @timestamp      rt, else end, else start: milliseconds since the epoch
 *                   (10-digit values are taken as seconds), "MMM dd [yyyy]
 *                   HH:mm:ss[.SSS] [zone]" with zone UTC/GMT/Z or +hh:mm,
 *                   zone-less times in time.syslog_utc_offset, or RFC 3339;
 *                   a time in a named zone we cannot place (IST) is left to
 *                   the syslog header or the time the record was read
 *   network.transport proto (lower case), network.protocol app,
 *   url.original request, http.request.method requestMethod,
 *   user_agent.original requestClientApplication, file.name fname,
 *   file.path filePath
 *   event.kind event, event.dataset cef; message: the original record
 *
 * Logsource: product "cef". CEF is a transport shared by hundreds of
 * products; the Sigma taxonomy has no source for it, and the device is in
 * cef.device_product for rules that want it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parser.h"
#include "vendor.h"

/* A typed string of an Event: unset when NULL or "" (protobuf-c's
 * initializer points them at an empty string). */
static bool unset(const char *s) { return !s || !*s; }

#define MAX_KEYS 1024

static bool is_space(char c) { return c == ' ' || c == '\t'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
         c == '.' || c == '-' || c == '[' || c == ']';
}

/* ---- header ------------------------------------------------------------- */

/* Where the version starts after "CEF:" (optional spaces), or after nothing
 * for a bare record; (size_t)-1 when s does not start either way. */
static size_t version_at(const char *s, size_t len) {
  size_t i = 0;
  while (i < len && is_space(s[i])) i++;
  if (len - i >= 4 && memcmp(s + i, "CEF:", 4) == 0) {
    i += 4;
    while (i < len && s[i] == ' ') i++;
    return i;
  }
  return i < len && is_digit(s[i]) ? i : (size_t)-1;
}

/* Unescaped '|' from s on, stopping after `want`; returns how many. */
static int count_pipes(const char *s, size_t len, int want) {
  int n = 0;
  for (size_t i = 0; i < len && n < want; i++) {
    if (s[i] == '\\' && i + 1 < len)
      i++;
    else if (s[i] == '|')
      n++;
  }
  return n;
}

static bool bare_cef(const char *s, size_t len) {
  size_t i = 0;
  while (i < len && is_space(s[i])) i++;
  size_t d = i;
  while (i < len && is_digit(s[i]) && i - d < 3) i++;
  return i > d && i < len && s[i] == '|' && count_pipes(s + i, len - i, 7) == 7;
}

static bool detect_text(void *state, const char *rec, size_t len) {
  size_t i = 0;
  while (i < len && is_space(rec[i])) i++;
  if (len - i >= 4 && memcmp(rec + i, "CEF:", 4) == 0) return true;
  return bare_cef(rec, len);
}

/* Header field text with "\|" and "\\" unescaped. */
static char *header_text(parry_evb_t *b, const char *s, size_t len, size_t *out_len) {
  char *out = parry_arena_alloc(b->arena, len + 1);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '|' || s[i + 1] == '\\')) i++;
    out[o++] = s[i];
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

/* Extension value text with its escapes undone. */
static char *value_text(parry_evb_t *b, const char *s, size_t len, size_t *out_len) {
  if (!memchr(s, '\\', len)) {
    *out_len = len;
    return (char *)s;
  }
  char *out = parry_arena_alloc(b->arena, len + 1);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\\' && i + 1 < len) {
      char c = s[i + 1];
      if (c == '=' || c == '\\' || c == '|') {
        out[o++] = c;
        i++;
        continue;
      }
      if (c == 'n' || c == 'r') {
        out[o++] = c == 'n' ? '\n' : '\r';
        i++;
        continue;
      }
    }
    out[o++] = s[i];
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

/* ---- extension ------------------------------------------------------------- */

typedef struct {
  const char *key;
  size_t klen;
  const char *value; /* unescaped */
  size_t vlen;
} kv_t;

/* The length of a key starting at s[i] (followed by '='), or 0. */
static size_t key_at(const char *s, size_t len, size_t i) {
  size_t j = i;
  while (j < len && key_char(s[j])) j++;
  return j > i && j < len && s[j] == '=' ? j - i : 0;
}

/* Split the extension into pairs (in the arena); *prefix gets text before
 * the first key. Returns the count, or -1 past MAX_KEYS. */
static int split_extension(parry_evb_t *b, const char *s, size_t len, kv_t **out,
                           const char **prefix, size_t *prefix_len) {
  size_t i = 0, cap = 16;
  int n = 0;
  kv_t *kv = parry_arena_alloc(b->arena, cap * sizeof *kv);
  while (i < len && is_space(s[i])) i++;
  /* find the first key: at i, or after a space */
  size_t first = i;
  while (first < len && !((first == i || is_space(s[first - 1])) && key_at(s, len, first))) {
    if (s[first] == '\\') first++;
    first++;
  }
  if (first > len) first = len;
  *prefix = s + i;
  *prefix_len = first - i;
  while (*prefix_len && is_space((*prefix)[*prefix_len - 1])) (*prefix_len)--;
  i = first;
  while (i < len) {
    size_t klen = key_at(s, len, i);
    if (!klen) break; /* cannot happen: i always sits on a key */
    size_t vstart = i + klen + 1, j = vstart, next = len;
    while (j < len) {
      if (s[j] == '\\') {
        j += 2;
        continue;
      }
      if (is_space(s[j])) {
        size_t k = j;
        while (k < len && is_space(s[k])) k++;
        if (k < len && key_at(s, len, k)) {
          next = k;
          break;
        }
        j = k;
        continue;
      }
      j++;
    }
    size_t vend = next < len ? next : len;
    while (vend > vstart && is_space(s[vend - 1])) vend--;
    if (n == MAX_KEYS) return -1;
    if ((size_t)n == cap) {
      kv_t *grown = parry_arena_alloc(b->arena, 2 * cap * sizeof *kv);
      memcpy(grown, kv, cap * sizeof *kv);
      kv = grown;
      cap *= 2;
    }
    kv[n].key = s + i;
    kv[n].klen = klen;
    kv[n].value = value_text(b, s + vstart, vend - vstart, &kv[n].vlen);
    n++;
    i = next;
  }
  *out = kv;
  return n;
}

static const kv_t *find(const kv_t *kv, int n, const char *key) {
  size_t len = strlen(key);
  for (int i = n - 1; i >= 0; i--) /* the last one wins, as in the fields */
    if (kv[i].klen == len && memcmp(kv[i].key, key, len) == 0) return &kv[i];
  return NULL;
}

/* "cs1" for "cs1Label": the custom field a label names, if key is one. */
static bool label_of(const kv_t *label, size_t *base_len) {
  if (label->klen <= 5 || memcmp(label->key + label->klen - 5, "Label", 5) != 0) return false;
  *base_len = label->klen - 5;
  return true;
}

/* ---- timestamps --------------------------------------------------------------- */

static const struct {
  const char *name;
  int32_t offset;
} zones[] = {{"UTC", 0}, {"GMT", 0}, {"Z", 0}};

/* A CEF time (see the top comment) into *ns. */
static bool cef_time(parry_parse_t *p, const char *s, size_t len, int64_t *ns) {
  if (len == 0) return false;
  bool digits = true;
  for (size_t i = 0; i < len && digits; i++) digits = is_digit(s[i]);
  if (digits) {
    uint64_t v;
    if (len > 16 || !parry_vendor_uint(s, len, &v)) return false;
    if (len <= 10) v *= 1000; /* seconds */
    if (v > 9000000000000ULL) return false;
    *ns = (int64_t)v * 1000000;
    return true;
  }
  if (parry_vendor_time(s, len, ns)) return true;
  /* "MMM dd [yyyy] HH:mm:ss[.SSS] [zone]" */
  parry_syslog_time_rule_t rule = p->config->syslog_time;
  size_t used = 0;
  int64_t t;
  if (parry_time_parse_syslog(s, len, &rule, p->received_ns, &t, &used) != PARRY_OK) return false;
  size_t i = used;
  while (i < len && s[i] == ' ') i++;
  if (i == len) {
    *ns = t;
    return true;
  }
  /* a zone: undo the configured offset, apply the zone's */
  const char *z = s + i;
  size_t zl = len - i;
  int32_t offset;
  bool known = false;
  for (size_t k = 0; k < sizeof zones / sizeof zones[0] && !known; k++)
    if (strlen(zones[k].name) == zl && memcmp(zones[k].name, z, zl) == 0) {
      offset = zones[k].offset;
      known = true;
    }
  if (!known && (zl == 6 || zl == 5) && (z[0] == '+' || z[0] == '-')) {
    char buf[8];
    if (zl == 5) { /* +hhmm */
      snprintf(buf, sizeof buf, "%c%c%c:%c%c", z[0], z[1], z[2], z[3], z[4]);
    } else {
      memcpy(buf, z, 6);
      buf[6] = '\0';
    }
    known = parry_time_parse_utc_offset(buf, &offset) == PARRY_OK;
  }
  if (!known) return false;
  *ns = t + (int64_t)rule.utc_offset_s * PARRY_NS_PER_SEC - (int64_t)offset * PARRY_NS_PER_SEC;
  return true;
}

/* ---- mapping -------------------------------------------------------------------- */

static int64_t severity_of(const char *s, size_t len, bool *ok) {
  static const struct {
    const char *name;
    int64_t value;
  } bands[] = {{"low", 0}, {"medium", 4}, {"high", 7}, {"very-high", 9}};
  uint64_t v;
  *ok = true;
  if (len <= 2 && parry_vendor_uint(s, len, &v) && v <= 10) return (int64_t)v;
  for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++)
    if (strlen(bands[i].name) == len && strncasecmp(bands[i].name, s, len) == 0)
      return bands[i].value;
  *ok = false;
  return 0;
}

static void ecs_str(parry_evb_t *b, const kv_t *kv, int n, const char *key, const char *path) {
  const kv_t *e = find(kv, n, key);
  if (e && e->vlen) parry_evb_field_str(b, path, e->value, e->vlen);
}

static void map_ecs(parry_parse_t *p, parry_evb_t *b, const kv_t *kv, int n) {
  const kv_t *e;
  uint32_t port;
  if ((e = find(kv, n, "src")) && e->vlen) parry_evb_set_source_address(b, e->value, e->vlen);
  if ((e = find(kv, n, "spt")) && parry_vendor_port(e->value, e->vlen, &port))
    parry_evb_set_source_port(b, port);
  if ((e = find(kv, n, "dst")) && e->vlen) parry_evb_set_destination_address(b, e->value, e->vlen);
  if ((e = find(kv, n, "dpt")) && parry_vendor_port(e->value, e->vlen, &port))
    parry_evb_set_destination_port(b, port);
  ecs_str(b, kv, n, "shost", "source.domain");
  ecs_str(b, kv, n, "dhost", "destination.domain");
  const kv_t *suser = find(kv, n, "suser"), *duser = find(kv, n, "duser");
  if (suser && !suser->vlen) suser = NULL;
  if (duser && !duser->vlen) duser = NULL;
  if (suser || duser) {
    const kv_t *u = suser ? suser : duser;
    parry_evb_set_user(b, u->value, u->vlen);
  }
  if (duser) parry_evb_field_str(b, "user.target.name", duser->value, duser->vlen);
  if ((e = find(kv, n, "dvchost")) && e->vlen && unset(b->ev->host_name))
    parry_evb_set_host(b, e->value, e->vlen);
  if ((e = find(kv, n, "act")) && e->vlen) parry_evb_set_action(b, e->value, e->vlen);
  if ((e = find(kv, n, "outcome")) && e->vlen) {
    const char *o = "unknown";
    for (size_t i = 0; i + 4 <= e->vlen; i++) {
      if (strncasecmp(e->value + i, "fail", 4) == 0) o = "failure";
      if (i + 5 <= e->vlen && strncasecmp(e->value + i, "succe", 5) == 0) o = "success";
    }
    parry_evb_set_outcome(b, o);
  }
  static const char *const times[] = {"rt", "end", "start"};
  for (size_t i = 0; i < 3; i++) {
    int64_t ns;
    if ((e = find(kv, n, times[i])) && cef_time(p, e->value, e->vlen, &ns)) {
      parry_evb_set_timestamp(b, ns);
      break;
    }
  }
  if ((e = find(kv, n, "proto")) && e->vlen) {
    char lower[32];
    size_t len = e->vlen < sizeof lower ? e->vlen : sizeof lower - 1;
    for (size_t i = 0; i < len; i++)
      lower[i] = (e->value[i] >= 'A' && e->value[i] <= 'Z') ? (char)(e->value[i] + 32) : e->value[i];
    parry_evb_field_str(b, "network.transport", lower, len);
  }
  ecs_str(b, kv, n, "app", "network.protocol");
  ecs_str(b, kv, n, "request", "url.original");
  ecs_str(b, kv, n, "requestMethod", "http.request.method");
  ecs_str(b, kv, n, "requestClientApplication", "user_agent.original");
  ecs_str(b, kv, n, "fname", "file.name");
  ecs_str(b, kv, n, "filePath", "file.path");
}

/* ---- parsing --------------------------------------------------------------------- */

parry_err_t parry_cef_parse_into(parry_parse_t *p, parry_evb_t *b, const char *msg, size_t len,
                                 char *errstr, size_t errstr_size) {
  char q[72];
  size_t at = version_at(msg, len);
  if (at == (size_t)-1)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "not CEF: the message does not start with \"CEF:\"");
  /* the seven header fields */
  const char *field[7];
  size_t flen[7];
  int nf = 0;
  size_t start = at, i = at;
  for (; i < len && nf < 7; i++) {
    if (msg[i] == '\\' && i + 1 < len) {
      i++;
      continue;
    }
    if (msg[i] == '|') {
      field[nf] = msg + start;
      flen[nf++] = i - start;
      start = i + 1;
    }
  }
  size_t ext = i; /* the extension starts after the 7th '|' */
  if (nf == 6) { /* seven fields without the final '|': no extension */
    field[nf] = msg + start;
    flen[nf++] = len - start;
    ext = len;
  }
  if (nf < 7)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "CEF header has %d of its 7 '|'-separated fields", nf + (start < len));
  uint64_t version;
  if (flen[0] == 0 || flen[0] > 3 || !parry_vendor_uint(field[0], flen[0], &version))
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "CEF version is not a number: %s",
                      parry_vendor_quote(q, field[0], flen[0]));

  kv_t *kv = NULL;
  const char *prefix = NULL;
  size_t prefix_len = 0;
  int n = split_extension(b, msg + ext, len - ext, &kv, &prefix, &prefix_len);
  if (n < 0)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "CEF extension has more than %d keys",
                      MAX_KEYS);

  static const char *const names[7] = {NULL, "device_vendor", "device_product", "device_version",
                                       "signature_id", "name", "severity"};
  Parry__V1__ValueMap *cef = parry_evb_map_at(b, "cef");
  parry_vendor_int(parry_evb_map_put(b, cef, "version", 7), (int64_t)version);
  const char *text[7];
  size_t tlen[7];
  for (int f = 1; f < 7; f++) {
    text[f] = header_text(b, field[f], flen[f], &tlen[f]);
    parry_evb_value_str(b, parry_evb_map_put(b, cef, names[f], (size_t)-1), text[f], tlen[f]);
  }
  if (prefix_len)
    parry_evb_value_str(b, parry_evb_map_put(b, cef, "extension_text", 14), prefix, prefix_len);
  Parry__V1__ValueMap *exts = NULL, *custom = NULL;
  if (n) exts = parry_evb_value_map(b, parry_evb_map_put(b, cef, "extensions", 10));
  for (int k = 0; k < n; k++)
    parry_evb_value_str(b, parry_vendor_put(b, exts, kv[k].key, kv[k].klen), kv[k].value,
                        kv[k].vlen);
  for (int k = 0; k < n; k++) {
    size_t base_len;
    if (!label_of(&kv[k], &base_len) || kv[k].vlen == 0) continue;
    const kv_t *v = NULL;
    for (int j = n - 1; j >= 0 && !v; j--)
      if (kv[j].klen == base_len && memcmp(kv[j].key, kv[k].key, base_len) == 0) v = &kv[j];
    if (!v) continue;
    if (!custom) custom = parry_evb_value_map(b, parry_evb_map_put(b, cef, "custom", 6));
    parry_evb_value_str(b, parry_vendor_put(b, custom, kv[k].value, kv[k].vlen), v->value,
                        v->vlen);
  }

  /* ECS */
  parry_evb_field_str(b, "observer.vendor", text[1], tlen[1]);
  parry_evb_field_str(b, "observer.product", text[2], tlen[2]);
  parry_evb_field_str(b, "observer.version", text[3], tlen[3]);
  parry_evb_field_str(b, "event.code", text[4], tlen[4]);
  bool ok;
  int64_t severity = severity_of(text[6], tlen[6], &ok);
  if (ok) parry_evb_set_severity(b, severity);
  parry_evb_set_kind(b, "event");
  parry_evb_set_dataset(b, "cef", 3);
  map_ecs(p, b, kv, n);
  parry_evb_set_logsource(b, "cef", "", "");
  return PARRY_OK;
}

static parry_err_t parse_text(parry_parse_t *p, const char *rec, size_t len, char *errstr,
                              size_t errstr_size) {
  size_t start = 0;
  while (start < len && is_space(rec[start])) start++;
  bool tagged = len - start >= 4 && memcmp(rec + start, "CEF:", 4) == 0;
  if (!tagged && !bare_cef(rec, len)) {
    /* a prefix before "CEF:" (only with --format cef: detection never
     * hands us one) */
    start = len;
    for (size_t i = 0; i + 4 <= len && start == len; i++)
      if (rec[i] == 'C' && memcmp(rec + i, "CEF:", 4) == 0) start = i;
    if (start == len)
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "no CEF header: the record has no \"CEF:\"");
  }
  parry_evb_t b;
  parry_evb_init(&b, p->arena);
  parry_err_t err = parry_cef_parse_into(p, &b, rec + start, len - start, errstr, errstr_size);
  if (err) return err;
  parry_evb_set_message(&b, rec, len);
  parry_parse_emit(p, &b);
  return PARRY_OK;
}

const parry_parser_t parry_parser_cef = {
    .name = "cef",
    .summary = "ArcSight CEF: \"CEF:0|vendor|product|version|id|name|severity|k=v ...\"",
    .detect_text = detect_text,
    .parse_text = parse_text,
};
