#include "records.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "parry/timefmt.h"

static bool is_json_text(const char *line, size_t len) {
  struct json_object *obj = NULL;
  char err[8];
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  if (parry_codec_parse_json(line, len, &obj, err, sizeof err) != PARRY_OK) return false;
  json_object_put(obj);
  return true;
}

/* A line scanner over large fread()s: memchr finds the newlines, NUL bytes
 * are data like any other, and memory stays at max_record plus one read no
 * matter how long a line is. */
typedef struct {
  FILE *f;
  char *buf;
  size_t size, start, end;
  bool eof;
} scanner_t;

enum { READ_CHUNK = 256 << 10 };

static bool fill(scanner_t *sc) {
  if (sc->eof) return false;
  if (sc->start > 0) {
    memmove(sc->buf, sc->buf + sc->start, sc->end - sc->start);
    sc->end -= sc->start;
    sc->start = 0;
  }
  size_t room = sc->size - sc->end;
  size_t n = fread(sc->buf + sc->end, 1, room < READ_CHUNK ? room : READ_CHUNK, sc->f);
  sc->end += n;
  if (n == 0) sc->eof = true;
  return n > 0;
}

/* Next line (with its newline, if any) or false at the end. A line longer
 * than max is cut to max bytes and *total says how long it really was. */
static bool next_line(scanner_t *sc, size_t max, const char **line, size_t *len, size_t *total) {
  for (;;) {
    char *nl = memchr(sc->buf + sc->start, '\n', sc->end - sc->start);
    if (nl) {
      *line = sc->buf + sc->start;
      *total = (size_t)(nl - *line) + 1;
      *len = *total < max ? *total : max; /* a long line already in the buffer */
      sc->start += *total;
      return true;
    }
    if (sc->end - sc->start >= max) { /* too long: keep max, skip to newline */
      /* Keep the first max bytes at the front (the caller reads them
       * before the next call) and read on after them to the newline. */
      *total = sc->end - sc->start;
      memmove(sc->buf, sc->buf + sc->start, max);
      *line = sc->buf;
      *len = max;
      for (;;) {
        size_t n = fread(sc->buf + max, 1, sc->size - max, sc->f);
        if (n == 0) { sc->eof = true; sc->start = sc->end = 0; return true; }
        char *e = memchr(sc->buf + max, '\n', n);
        if (e) {
          *total += (size_t)(e - (sc->buf + max)) + 1;
          /* keep what follows the newline for the next call, after max */
          sc->start = (size_t)(e - sc->buf) + 1;
          sc->end = max + n;
          return true;
        }
        *total += n;
      }
    }
    if (!fill(sc)) {
      if (sc->end == sc->start) return false;
      *line = sc->buf + sc->start;
      *total = sc->end - sc->start;
      *len = *total < max ? *total : max;
      sc->start = sc->end;
      return true;
    }
  }
}

/* Whether a first line opens a JSON object or array, as opposed to a log
 * line that starts with a bracket ("[Tue Feb 25 14:34:10 2005] sshd..."):
 * the first thing inside must be what JSON allows there. */
static bool looks_like_json_start(const char *s, size_t len) {
  if (s[0] != '{' && s[0] != '[') return false;
  size_t i = 1;
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
  if (i == len || s[i] == '\n') return true;
  char c = s[i];
  if (s[0] == '{') return c == '"' || c == '}';
  return c == '{' || c == '[' || c == '"' || c == ']' || c == '-' || (c >= '0' && c <= '9') ||
         c == 't' || c == 'f' || c == 'n';
}

/* Length of the JSON object or array at s[0] (s[0] is '{' or '['), found by
 * counting brackets outside strings; len if it never closes. Validity is the
 * parser's business: this only finds where one document ends. */
static size_t json_value_extent(const char *s, size_t len) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return len;
}

/* A stream of pretty-printed documents, one after another: one record each,
 * numbered by the line it starts on. Anything that is not an object or array
 * becomes one record with the rest, for the normalizer to reject. */
static void split_documents(const char *s, size_t len, parry_record_cb cb, void *opaque) {
  size_t i = 0;
  uint64_t line = 1;
  while (i < len) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
      line += s[i++] == '\n';
    if (i == len) break;
    size_t n = s[i] == '{' || s[i] == '[' ? json_value_extent(s + i, len - i) : len - i;
    cb(opaque, s + i, n, line, false, n);
    for (size_t k = i; k < i + n; k++) line += s[k] == '\n';
    i += n;
  }
}

parry_err_t parry_read_records(FILE *f, size_t max_record, parry_record_cb cb, void *opaque,
                               char *errstr, size_t errstr_size) {
  scanner_t sc = {f, NULL, max_record + (1 << 20), 0, 0, false};
  sc.buf = parry_xmalloc(sc.size);
  parry_err_t err = PARRY_OK;
  const char *line;
  size_t len, total;
  uint64_t seq = 1;

  if (next_line(&sc, max_record, &line, &len, &total)) {
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    bool maybe_document = i < len && looks_like_json_start(line + i, len - i);
    if (maybe_document && total == len && !is_json_text(line, len)) {
      /* One JSON document over many lines: the whole stream is the record. */
      parry_buf_t doc = PARRY_BUF_INIT(0);
      size_t doc_total = total;
      parry_buf_append(&doc, line, len);
      while (next_line(&sc, max_record, &line, &len, &total)) {
        doc_total += total;
        if (doc.len < max_record)
          parry_buf_append(&doc, line, len < max_record - doc.len ? len : max_record - doc.len);
      }
      if (doc_total > max_record)
        cb(opaque, doc.data, doc.len, 1, true, doc_total);
      else
        split_documents(doc.data, doc.len, cb, opaque);
      parry_buf_free(&doc);
    } else {
      do {
        cb(opaque, line, len, seq++, total > len, total);
      } while (next_line(&sc, max_record, &line, &len, &total));
    }
  }
  if (ferror(f))
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO, "could not read input: %s", strerror(errno));
  free(sc.buf);
  return err;
}

static bool utf8_clean(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    unsigned char c = u[i];
    if (c == 0) return false;
    if (c < 0x80) { i++; continue; }
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!n || i + n > len) return false;
    for (size_t k = 1; k < n; k++)
      if ((u[i + k] & 0xC0) != 0x80) return false;
    if ((c == 0xE0 && u[i + 1] < 0xA0) || (c == 0xED && u[i + 1] >= 0xA0) ||
        (c == 0xF0 && u[i + 1] < 0x90) || (c == 0xF4 && u[i + 1] >= 0x90))
      return false;
    i += n;
  }
  return true;
}

static void append_base64(parry_buf_t *out, const unsigned char *s, size_t len) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16;
    if (i + 1 < len) v |= (uint32_t)s[i + 1] << 8;
    if (i + 2 < len) v |= s[i + 2];
    char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], i + 1 < len ? tbl[(v >> 6) & 63] : '=',
                 i + 2 < len ? tbl[v & 63] : '='};
    parry_buf_append(out, q, 4);
  }
}

void parry_reject_to_json(parry_buf_t *out, const char *reason, const char *source,
                          uint64_t seq, int64_t received_ns, const char *rec, size_t len) {
  char ts[PARRY_TIME_MAX_LEN];
  parry_time_format_rfc3339(received_ns, ts);
  parry_buf_append_str(out, "{\"reason\":\"");
  parry_buf_append_json_string(out, reason, strlen(reason));
  parry_buf_append_str(out, "\",\"source\":\"");
  parry_buf_append_json_string(out, source, strlen(source));
  parry_buf_printf(out, "\",\"seq\":%llu,\"received\":\"%s\",", (unsigned long long)seq, ts);
  if (utf8_clean(rec, len)) {
    parry_buf_append_str(out, "\"record\":\"");
    parry_buf_append_json_string(out, rec, len);
    parry_buf_append_str(out, "\"}");
  } else {
    parry_buf_append_str(out, "\"record_base64\":\"");
    append_base64(out, (const unsigned char *)rec, len);
    parry_buf_append_str(out, "\"}");
  }
}
