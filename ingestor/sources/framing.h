/* Syslog over a byte stream (TCP, TLS): RFC 6587 framing, incremental.
 *
 * Two framings exist and senders do not announce which they use:
 *
 *   octet counting   "MSG-LEN SP MSG", MSG-LEN a decimal without leading
 *                    zeros ("57 <34>1 2003-10-11T22:14:15.003Z host su ...")
 *   newline          messages separated by LF ("non-transparent framing";
 *                    a CR before the LF is left to the normalizer)
 *
 * The framing is detected once per connection, on its first frame: digits
 * followed by a space mean octet counting, anything else newlines. Deciding
 * once rather than per frame keeps a newline-framed line that happens to
 * start with "123 " from being misread as a length. After that:
 *
 *   - in octet counting, LF and CR between frames are skipped (some senders
 *     add them); anything else where a length is expected is garbage: the
 *     bytes up to the next LF become one GARBAGE frame and framing resumes
 *     after it, so one bad frame costs one dead letter, not the connection;
 *   - in newline framing, empty lines are skipped.
 *
 * A frame longer than the cap is never cut silently: the first `max` bytes
 * are kept, the rest is skipped, and an OVERSIZE frame reports the real
 * length once the frame has ended. At the end of the stream a partial line is
 * a RECORD, and a partial octet-counted frame is TRUNCATED.
 *
 * The framer copies only what straddles two reads: a frame wholly inside one
 * buffer passed to parry_framer_feed is handed to the callback in place.
 * Memory per framer grows to at most `max` bytes.
 *
 * Thread affinity: a framer belongs to one connection, used by one thread.
 */
#ifndef PARRY_FRAMING_H
#define PARRY_FRAMING_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  PARRY_FRAMING_UNKNOWN = 0, /* nothing seen yet */
  PARRY_FRAMING_OCTET,
  PARRY_FRAMING_NEWLINE,
} parry_framing_t;

typedef enum {
  PARRY_FRAME_RECORD = 0, /* a whole message: len == total */
  PARRY_FRAME_OVERSIZE,   /* longer than max: the first max bytes, total = real length */
  PARRY_FRAME_TRUNCATED,  /* the stream ended inside an octet-counted frame */
  PARRY_FRAME_GARBAGE,    /* no valid length where one was expected (octet counting) */
} parry_frame_kind_t;

typedef struct {
  parry_frame_kind_t kind;
  const char *data; /* valid during the callback only */
  size_t len;       /* <= max */
  size_t total;     /* bytes the frame really had: RECORD len, OVERSIZE the full length,
                       TRUNCATED the bytes received, GARBAGE the bytes skipped (no LF) */
  size_t declared;  /* octet counting: the length the header announced; else 0 */
  uint64_t offset;  /* stream offset of the frame's first byte (its length, if any) */
} parry_frame_t;

typedef void (*parry_frame_cb)(void *opaque, const parry_frame_t *frame);

typedef struct {
  uint64_t bytes;     /* fed */
  uint64_t records;
  uint64_t oversize;
  uint64_t truncated;
  uint64_t garbage;
} parry_framer_counts_t;

typedef struct parry_framer parry_framer_t;

/* max: the largest frame delivered whole (>= 1). cb and opaque must outlive
 * the framer. Out of memory aborts (parry/mem.h). */
parry_framer_t *parry_framer_new(size_t max, parry_frame_cb cb, void *opaque);
void parry_framer_destroy(parry_framer_t *f); /* accepts NULL */

/* Frame the next bytes of the stream; the callback runs for each frame that
 * ends in them (it may run for none). */
void parry_framer_feed(parry_framer_t *f, const char *data, size_t len);
/* End of stream: report what is pending (a partial line, a truncated
 * frame). The framer may be fed again afterwards as a new stream. */
void parry_framer_finish(parry_framer_t *f);

parry_framing_t parry_framer_mode(const parry_framer_t *f);
const parry_framer_counts_t *parry_framer_counts(const parry_framer_t *f);
const char *parry_framing_name(parry_framing_t mode);

#endif
