#include "framing.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

/* MSG-LEN has at most this many digits: 10 digits already exceed any cap
 * (ingestor.max_record_size stops at 256 MiB), and a longer run of digits is
 * more likely a line of text than a length. */
#define MAX_DIGITS 10

typedef enum {
  ST_START,   /* between frames */
  ST_HEADER,  /* reading MSG-LEN (or, before detection, the first digits) */
  ST_BODY,    /* reading an octet-counted MSG */
  ST_LINE,    /* reading a newline-framed line */
  ST_GARBAGE, /* skipping to the next LF after a bad header */
} state_t;

struct parry_framer {
  size_t max;
  parry_frame_cb cb;
  void *opaque;
  parry_framing_t mode;
  state_t st;

  /* The current frame's kept bytes (at most max) when it straddles feeds. */
  char *buf;
  size_t len, alloc;
  size_t total;    /* content bytes of the current frame so far */
  size_t want;     /* ST_BODY: content bytes still to come */
  size_t declared; /* ST_BODY: MSG-LEN */

  char hdr[MAX_DIGITS];
  size_t hdr_len;
  uint64_t hdr_value;

  uint64_t offset;       /* stream offset of the next byte fed */
  uint64_t frame_offset; /* of the current frame's first byte */
  parry_framer_counts_t counts;
};

parry_framer_t *parry_framer_new(size_t max, parry_frame_cb cb, void *opaque) {
  parry_framer_t *f = parry_xnew(parry_framer_t, 1);
  f->max = max ? max : 1;
  f->cb = cb;
  f->opaque = opaque;
  return f;
}

void parry_framer_destroy(parry_framer_t *f) {
  if (!f) return;
  free(f->buf);
  free(f);
}

parry_framing_t parry_framer_mode(const parry_framer_t *f) { return f->mode; }
const parry_framer_counts_t *parry_framer_counts(const parry_framer_t *f) { return &f->counts; }

const char *parry_framing_name(parry_framing_t mode) {
  switch (mode) {
  case PARRY_FRAMING_OCTET: return "octet-counting";
  case PARRY_FRAMING_NEWLINE: return "newline";
  case PARRY_FRAMING_UNKNOWN: break;
  }
  return "undetected";
}

/* Count content bytes of the current frame and keep those under the cap.
 * The buffer grows geometrically up to max, so a connection of short
 * messages keeps a short buffer. */
static void keep(parry_framer_t *f, const char *p, size_t n) {
  f->total += n;
  if (n == 0 || f->len >= f->max) return;
  size_t take = n < f->max - f->len ? n : f->max - f->len;
  if (f->len + take > f->alloc) {
    size_t want = f->alloc ? f->alloc : 256;
    while (want < f->len + take) want *= 2;
    if (want > f->max) want = f->max;
    f->buf = parry_xrealloc(f->buf, want);
    f->alloc = want;
  }
  memcpy(f->buf + f->len, p, take);
  f->len += take;
}

static void emit(parry_framer_t *f, parry_frame_kind_t kind, const char *data, size_t len,
                 size_t total) {
  size_t declared = f->mode == PARRY_FRAMING_OCTET && kind != PARRY_FRAME_GARBAGE ? f->declared : 0;
  parry_frame_t fr = {kind, data, len, total, declared, f->frame_offset};
  switch (kind) {
  case PARRY_FRAME_RECORD: f->counts.records++; break;
  case PARRY_FRAME_OVERSIZE: f->counts.oversize++; break;
  case PARRY_FRAME_TRUNCATED: f->counts.truncated++; break;
  case PARRY_FRAME_GARBAGE: f->counts.garbage++; break;
  }
  f->cb(f->opaque, &fr);
}

/* The kept bytes as one frame, then back to "between frames". */
static void emit_kept(parry_framer_t *f, parry_frame_kind_t kind) {
  if (kind == PARRY_FRAME_RECORD && f->total > f->max) kind = PARRY_FRAME_OVERSIZE;
  emit(f, kind, f->buf ? f->buf : "", f->len, f->total);
  f->len = f->total = 0;
  f->declared = 0;
  f->st = ST_START;
}

void parry_framer_feed(parry_framer_t *f, const char *p, size_t n) {
  f->counts.bytes += n;
  while (n) {
    switch (f->st) {
    case ST_START:
      f->frame_offset = f->offset;
      f->len = f->total = 0;
      f->hdr_len = 0;
      f->hdr_value = 0;
      if (f->mode == PARRY_FRAMING_NEWLINE) {
        f->st = ST_LINE;
      } else if (f->mode == PARRY_FRAMING_OCTET && (*p == '\n' || *p == '\r')) {
        p++, n--, f->offset++; /* a separator some senders add between frames */
      } else {
        f->st = ST_HEADER;
      }
      break;

    case ST_HEADER: {
      char c = *p;
      if (c >= '0' && c <= '9' && (f->hdr_len > 0 || c != '0') && f->hdr_len < MAX_DIGITS) {
        f->hdr[f->hdr_len++] = c;
        f->hdr_value = f->hdr_value * 10 + (uint64_t)(c - '0');
        p++, n--, f->offset++;
      } else if (c == ' ' && f->hdr_len > 0) {
        p++, n--, f->offset++;
        f->mode = PARRY_FRAMING_OCTET;
        f->declared = f->want = (size_t)f->hdr_value;
        f->st = ST_BODY;
      } else {
        /* Not a length: before detection this is a newline-framed
         * connection and the digits start its first line; after it, a bad
         * frame. Either way the digits read so far belong to the frame and
         * `c` is looked at again in the new state. */
        if (f->mode == PARRY_FRAMING_UNKNOWN) {
          f->mode = PARRY_FRAMING_NEWLINE;
          f->st = ST_LINE;
        } else {
          f->st = ST_GARBAGE;
        }
        keep(f, f->hdr, f->hdr_len);
      }
      break;
    }

    case ST_BODY: {
      size_t take = n < f->want ? n : f->want;
      if (f->total == 0 && take == f->want && take <= f->max) {
        /* The whole frame is in this buffer: no copy. */
        emit(f, PARRY_FRAME_RECORD, p, take, take);
        f->declared = 0;
        f->st = ST_START;
      } else {
        keep(f, p, take);
        f->want -= take;
        if (!f->want) emit_kept(f, PARRY_FRAME_RECORD);
      }
      p += take, n -= take, f->offset += take;
      break;
    }

    case ST_LINE:
    case ST_GARBAGE: {
      const char *nl = memchr(p, '\n', n);
      size_t take = nl ? (size_t)(nl - p) : n;
      if (nl && f->st == ST_LINE && f->total == 0 && take <= f->max) {
        if (take) emit(f, PARRY_FRAME_RECORD, p, take, take); /* no copy */
        f->st = ST_START;
      } else {
        keep(f, p, take);
        if (nl) {
          if (f->st == ST_GARBAGE) emit_kept(f, PARRY_FRAME_GARBAGE);
          else if (f->total) emit_kept(f, PARRY_FRAME_RECORD);
          else f->st = ST_START;
        }
      }
      take += nl ? 1 : 0;
      p += take, n -= take, f->offset += take;
      break;
    }
    }
  }
}

void parry_framer_finish(parry_framer_t *f) {
  switch (f->st) {
  case ST_START:
    break;
  case ST_HEADER:
    if (f->hdr_len == 0) break;
    keep(f, f->hdr, f->hdr_len);
    if (f->mode == PARRY_FRAMING_UNKNOWN) {
      f->mode = PARRY_FRAMING_NEWLINE; /* a lone number on a line of its own */
      emit_kept(f, PARRY_FRAME_RECORD);
    } else {
      emit_kept(f, PARRY_FRAME_GARBAGE);
    }
    break;
  case ST_BODY:
    emit_kept(f, PARRY_FRAME_TRUNCATED);
    break;
  case ST_LINE:
    if (f->total) emit_kept(f, PARRY_FRAME_RECORD);
    break;
  case ST_GARBAGE:
    emit_kept(f, PARRY_FRAME_GARBAGE);
    break;
  }
  f->st = ST_START;
  f->len = f->total = f->want = f->declared = 0;
}
