/* `email`: a plain-text message over SMTP (libcurl, through the engine like
 * HTTP), to the server of targets.email: `url: smtp://host:port`, `from`,
 * `starttls: none|try|required`, basic auth as SMTP AUTH.
 *
 * Headers are built here, never from raw input: addresses must be bare
 * (one @, no spaces, brackets, commas or CR/LF), a subject with CR or LF is
 * refused, non-ASCII subjects are RFC 2047 encoded, the body's line ends
 * become CRLF (libcurl dot-stuffs). The idempotency key, when given, becomes
 * the Message-ID, so a retried send is recognisable as the same message. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "connectors/conn_internal.h"
#include "parry/mem.h"

static const parry_conn_input_t inputs[] = {
    {"to", PARRY_CONN_IN_HEADER, 0, true, "recipient address, or a list"},
    {"cc", PARRY_CONN_IN_HEADER, 0, false, "copy recipients (address or list)"},
    {"subject", PARRY_CONN_IN_HEADER, 0, true, "subject line (CR/LF refused)"},
    {"body", PARRY_CONN_IN_TEXT, 0, true, "plain-text body"},
    {"from", PARRY_CONN_IN_HEADER, 0, false, "sender (default: the target's `from`)"},
    {"target", PARRY_CONN_IN_TEXT, 0, false, "configured SMTP target (default: email)"},
};

static bool address_ok(const char *a) {
  size_t len = strlen(a);
  if (len < 3 || len > 254) return false;
  const char *at = strchr(a, '@');
  if (!at || at == a || !at[1] || strchr(at + 1, '@')) return false;
  for (const unsigned char *p = (const unsigned char *)a; *p; p++)
    if (*p <= ' ' || *p == 0x7f || strchr("<>,;\"()[]\\:", *p)) return false;
  return true;
}

/* Append each address of input `name` (string or list) to rcpt and to the
 * header line. */
static parry_err_t addresses(conn_call_t *call, const char *name, parry_buf_t *hdr, char *errstr,
                             size_t n) {
  struct json_object *v = conn_in(call, name);
  if (!v) return PARRY_OK;
  size_t count = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
  if (count == 0) return parry_fail(errstr, n, PARRY_ERR_INVALID, "%s is empty", name);
  for (size_t i = 0; i < count; i++) {
    struct json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
    const char *a = e ? json_object_get_string(e) : "";
    if (!address_ok(a))
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "%s: \"%.80s\" is not a plain e-mail address",
                        name, a);
    char angle[300];
    snprintf(angle, sizeof angle, "<%s>", a);
    call->req.rcpt = curl_slist_append(call->req.rcpt, angle);
    parry_buf_printf(hdr, "%s%s", i ? ", " : "", a);
  }
  return PARRY_OK;
}

static void base64(parry_buf_t *out, const unsigned char *s, size_t len) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0) |
                 (i + 2 < len ? s[i + 2] : 0);
    char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], i + 1 < len ? tbl[v >> 6 & 63] : '=',
                 i + 2 < len ? tbl[v & 63] : '='};
    parry_buf_append(out, q, 4);
  }
}

/* RFC 2047: encoded words of at most 45 input bytes, split between UTF-8
 * characters, separated by folding whitespace. */
static void encode_subject(parry_buf_t *out, const char *s) {
  bool ascii = true;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p >= 0x80) ascii = false;
  if (ascii) {
    parry_buf_append_str(out, s);
    return;
  }
  size_t len = strlen(s), i = 0;
  while (i < len) {
    size_t chunk = len - i < 45 ? len - i : 45;
    while (chunk && i + chunk < len && ((unsigned char)s[i + chunk] & 0xC0) == 0x80) chunk--;
    if (!chunk) chunk = len - i < 45 ? len - i : 45;
    if (i) parry_buf_append_str(out, "\r\n ");
    parry_buf_append_str(out, "=?UTF-8?B?");
    base64(out, (const unsigned char *)s + i, chunk);
    parry_buf_append_str(out, "?=");
    i += chunk;
  }
}

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const conn_target_cfg_t *t = conn_named_target(call, "email", errstr, n);
  if (!t) return PARRY_ERR_NOT_FOUND;
  const char *subject = conn_in_str(call, "subject");
  const char *body = conn_in_str(call, "body");
  const char *from = conn_in_str(call, "from");
  if (!from) from = t->mail_from;
  if (!subject || !body) return parry_fail(errstr, n, PARRY_ERR_INVALID, "subject and body are required");
  if (strpbrk(subject, "\r\n"))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "subject contains CR or LF");
  if (!from || !address_ok(from))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "from: missing or not a plain e-mail address");
  if (!t->url || (strncmp(t->url, "smtp://", 7) != 0 && strncmp(t->url, "smtps://", 8) != 0))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "targets.%s.url must be smtp:// or smtps://",
                      t->name);
  if (conn_req_begin(call, t, "POST", t->url, errstr, n) != PARRY_OK) return PARRY_ERR_INVALID;
  call->req.smtp = true;
  char angle[300];
  snprintf(angle, sizeof angle, "<%s>", from);
  call->req.mail_from = parry_xstrdup(angle);
  parry_buf_t to = PARRY_BUF_INIT(0), cc = PARRY_BUF_INIT(0);
  parry_err_t err = addresses(call, "to", &to, errstr, n);
  if (err == PARRY_OK) err = addresses(call, "cc", &cc, errstr, n);
  if (err != PARRY_OK) {
    parry_buf_free(&to);
    parry_buf_free(&cc);
    return err;
  }
  parry_buf_t *m = &call->req.body;
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  parry_buf_printf(m, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date, from, to.data);
  if (cc.len) parry_buf_printf(m, "Cc: %s\r\n", cc.data);
  parry_buf_free(&to);
  parry_buf_free(&cc);
  if (call->idem_key) {
    /* Keep only characters a Message-ID may hold. */
    parry_buf_append_str(m, "Message-ID: <");
    for (const char *p = call->idem_key; *p; p++)
      if (isalnum((unsigned char)*p) || strchr("-._", *p)) parry_buf_append_char(m, *p);
    parry_buf_printf(m, "@parry.invalid>\r\n");
  }
  parry_buf_append_str(m, "Subject: ");
  encode_subject(m, subject);
  parry_buf_append_str(m, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n\r\n");
  for (const char *p = body; *p; p++) {
    if (*p == '\r' && p[1] == '\n') continue;
    if (*p == '\n' || *p == '\r') parry_buf_append_str(m, "\r\n");
    else parry_buf_append_char(m, *p);
  }
  parry_buf_append_str(m, "\r\n");
  call->req.has_body = true;
  return PARRY_OK;
}

static void response(conn_call_t *call) {
  json_object_object_add(call->outputs, "sent", json_object_new_boolean(1));
}

const parry_connector_t parry_connector_email = {
    .name = "email",
    .help = "send a plain-text e-mail over SMTP (STARTTLS, AUTH from the target)",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
    .response = response,
};
