/* RFC 6587 framing of syslog over TCP (ingestor/sources/framing.h):
 * detection per connection, octet counting, newline framing, oversize
 * frames, garbage between octet-counted frames, truncation at end of stream,
 * and the same frames however the stream is cut into reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sources/framing.h"

typedef struct {
  parry_frame_kind_t kind;
  char *data;
  size_t len, total, declared;
  uint64_t offset;
} got_frame_t;

typedef struct {
  got_frame_t *v;
  size_t n;
} frames_t;

static void on_frame(void *opaque, const parry_frame_t *fr) {
  frames_t *fs = opaque;
  fs->v = parry_xreallocarray(fs->v, fs->n + 1, sizeof *fs->v);
  got_frame_t *g = &fs->v[fs->n++];
  g->kind = fr->kind;
  g->data = parry_xmalloc(fr->len + 1);
  memcpy(g->data, fr->data, fr->len);
  g->data[fr->len] = '\0';
  g->len = fr->len;
  g->total = fr->total;
  g->declared = fr->declared;
  g->offset = fr->offset;
}

static void frames_free(frames_t *fs) {
  for (size_t i = 0; i < fs->n; i++) free(fs->v[i].data);
  free(fs->v);
  fs->v = NULL;
  fs->n = 0;
}

/* Frame `in` fed in pieces cut at the given offsets (ascending), then
 * finished. */
static parry_framing_t frame_cut(const char *in, size_t len, size_t max, const size_t *cuts,
                                 size_t ncuts, frames_t *out) {
  parry_framer_t *f = parry_framer_new(max, on_frame, out);
  size_t at = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    /* A copy of just this piece, so that reading past it is an ASan error. */
    char *piece = parry_xmalloc(end - at + 1);
    memcpy(piece, in + at, end - at);
    parry_framer_feed(f, piece, end - at);
    free(piece);
    at = end;
  }
  parry_framer_finish(f);
  parry_framing_t mode = parry_framer_mode(f);
  parry_framer_destroy(f);
  return mode;
}

static parry_framing_t frame_all(const char *in, size_t max, frames_t *out) {
  return frame_cut(in, strlen(in), max, NULL, 0, out);
}

static void assert_frame(const frames_t *fs, size_t i, parry_frame_kind_t kind, const char *data,
                         size_t total, uint64_t offset) {
  assert_true(i < fs->n);
  assert_int_equal(fs->v[i].kind, kind);
  assert_string_equal(fs->v[i].data, data);
  assert_int_equal(fs->v[i].len, strlen(data));
  assert_int_equal(fs->v[i].total, total);
  assert_int_equal(fs->v[i].offset, offset);
}

static void assert_same_frames(const frames_t *a, const frames_t *b) {
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_int_equal(a->v[i].kind, b->v[i].kind);
    assert_int_equal(a->v[i].len, b->v[i].len);
    assert_memory_equal(a->v[i].data, b->v[i].data, a->v[i].len);
    assert_int_equal(a->v[i].total, b->v[i].total);
    assert_int_equal(a->v[i].declared, b->v[i].declared);
    assert_int_equal(a->v[i].offset, b->v[i].offset);
  }
}

/* Every way of cutting `in` into one, two and three pieces, and byte by
 * byte, gives the frames of the uncut stream. */
static void assert_every_cut_same(const char *in, size_t max) {
  size_t len = strlen(in);
  frames_t whole = {0}, cut = {0};
  parry_framing_t mode = frame_all(in, max, &whole);
  for (size_t i = 0; i <= len; i++) {
    for (size_t j = i; j <= len; j++) {
      size_t cuts[2] = {i, j};
      assert_int_equal(frame_cut(in, len, max, cuts, 2, &cut), mode);
      assert_same_frames(&whole, &cut);
      frames_free(&cut);
    }
  }
  size_t *bytes = parry_xnew(size_t, len ? len : 1);
  for (size_t i = 0; i < len; i++) bytes[i] = i;
  assert_int_equal(frame_cut(in, len, max, bytes, len, &cut), mode);
  assert_same_frames(&whole, &cut);
  frames_free(&cut);
  free(bytes);
  frames_free(&whole);
}

/* ------------------------------------------------------------------ */

static void test_newline_framing(void **state) {
  (void)state;
  frames_t fs = {0};
  const char *in = "<13>Jan  1 00:00:00 h a: one\n\n<13>Jan  1 00:00:00 h a: two\r\nthree";
  assert_int_equal(frame_all(in, 1024, &fs), PARRY_FRAMING_NEWLINE);
  assert_int_equal(fs.n, 3);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "<13>Jan  1 00:00:00 h a: one", 28, 0);
  /* The CR stays: the normalizer drops trailing CR/LF of every record. */
  assert_frame(&fs, 1, PARRY_FRAME_RECORD, "<13>Jan  1 00:00:00 h a: two\r", 29, 30);
  assert_frame(&fs, 2, PARRY_FRAME_RECORD, "three", 5, 60); /* unterminated, at the end */
  assert_int_equal(fs.v[0].declared, 0);
  frames_free(&fs);
  assert_every_cut_same(in, 1024);
}

static void test_octet_counting(void **state) {
  (void)state;
  frames_t fs = {0};
  /* RFC 6587 3.4.1; LF and CRLF between frames are tolerated. */
  const char *in = "5 hello11 hello\nworld\n3 abc\r\n10 <13>a b cd";
  assert_int_equal(frame_all(in, 1024, &fs), PARRY_FRAMING_OCTET);
  assert_int_equal(fs.n, 4);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "hello", 5, 0);
  assert_frame(&fs, 1, PARRY_FRAME_RECORD, "hello\nworld", 11, 7); /* LF inside is data */
  assert_frame(&fs, 2, PARRY_FRAME_RECORD, "abc", 3, 22);
  assert_frame(&fs, 3, PARRY_FRAME_RECORD, "<13>a b cd", 10, 29);
  assert_int_equal(fs.v[1].declared, 11);
  frames_free(&fs);
  assert_every_cut_same(in, 1024);
}

static void test_detection_is_per_connection(void **state) {
  (void)state;
  frames_t fs = {0};
  /* Newline-framed: a later line that looks like a length is still a line. */
  assert_int_equal(frame_all("<13>first\n12 not a length\n", 1024, &fs), PARRY_FRAMING_NEWLINE);
  assert_int_equal(fs.n, 2);
  assert_frame(&fs, 1, PARRY_FRAME_RECORD, "12 not a length", 15, 10);
  frames_free(&fs);

  /* Digits not followed by a space: a line (an ISO date, say). */
  assert_int_equal(frame_all("2024-05-01 x\n", 1024, &fs), PARRY_FRAMING_NEWLINE);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "2024-05-01 x", 12, 0);
  frames_free(&fs);

  /* A leading zero is not a length (MSG-LEN = NONZERO-DIGIT *DIGIT). */
  assert_int_equal(frame_all("0 x\n", 1024, &fs), PARRY_FRAMING_NEWLINE);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "0 x", 3, 0);
  frames_free(&fs);

  /* Eleven digits are too many for a length. */
  assert_int_equal(frame_all("12345678901 x\n", 1024, &fs), PARRY_FRAMING_NEWLINE);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "12345678901 x", 13, 0);
  frames_free(&fs);

  /* A lone number ending the stream is a line. */
  assert_int_equal(frame_all("42", 1024, &fs), PARRY_FRAMING_NEWLINE);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "42", 2, 0);
  frames_free(&fs);

  /* Nothing at all: undetected, no frames. */
  assert_int_equal(frame_all("", 1024, &fs), PARRY_FRAMING_UNKNOWN);
  assert_int_equal(fs.n, 0);

  /* Detection waits for the space, across reads. */
  assert_every_cut_same("12 hello world", 1024);
  assert_every_cut_same("12hello world\n", 1024);
}

static void test_oversize_newline(void **state) {
  (void)state;
  frames_t fs = {0};
  const char *in = "0123456789abcdef\nok\nexactly8\n123456789";
  assert_int_equal(frame_all(in, 8, &fs), PARRY_FRAMING_NEWLINE);
  assert_int_equal(fs.n, 4);
  assert_frame(&fs, 0, PARRY_FRAME_OVERSIZE, "01234567", 16, 0); /* first bytes, real length */
  assert_frame(&fs, 1, PARRY_FRAME_RECORD, "ok", 2, 17);
  assert_frame(&fs, 2, PARRY_FRAME_RECORD, "exactly8", 8, 20); /* at the cap is fine */
  assert_frame(&fs, 3, PARRY_FRAME_OVERSIZE, "12345678", 9, 29);
  frames_free(&fs);
  assert_every_cut_same(in, 8);
}

static void test_oversize_octet(void **state) {
  (void)state;
  frames_t fs = {0};
  const char *in = "20 abcdefghijklmnopqrst8 12345678";
  assert_int_equal(frame_all(in, 8, &fs), PARRY_FRAMING_OCTET);
  assert_int_equal(fs.n, 2);
  assert_frame(&fs, 0, PARRY_FRAME_OVERSIZE, "abcdefgh", 20, 0);
  assert_int_equal(fs.v[0].declared, 20);
  assert_frame(&fs, 1, PARRY_FRAME_RECORD, "12345678", 8, 23);
  frames_free(&fs);
  assert_every_cut_same(in, 8);

  /* A huge announced length is skipped without being buffered. */
  parry_framer_t *f = parry_framer_new(4, on_frame, &fs);
  parry_framer_feed(f, "1000000 ", 8);
  char block[1000];
  memset(block, 'x', sizeof block);
  for (int i = 0; i < 1000; i++) parry_framer_feed(f, block, sizeof block);
  parry_framer_feed(f, "2 ok", 4);
  parry_framer_finish(f);
  assert_int_equal(fs.n, 2);
  assert_frame(&fs, 0, PARRY_FRAME_OVERSIZE, "xxxx", 1000000, 0);
  assert_frame(&fs, 1, PARRY_FRAME_RECORD, "ok", 2, 1000008);
  assert_int_equal(parry_framer_counts(f)->oversize, 1);
  assert_int_equal(parry_framer_counts(f)->bytes, 1000012);
  parry_framer_destroy(f);
  frames_free(&fs);
}

static void test_garbage_between_octet_frames(void **state) {
  (void)state;
  frames_t fs = {0};
  const char *in = "3 abcxyz junk\n4 defg 7 x\n012 zz\n2 ok";
  parry_framer_t *f = parry_framer_new(1024, on_frame, &fs);
  parry_framer_feed(f, in, strlen(in));
  parry_framer_finish(f);
  assert_int_equal(fs.n, 6);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "abc", 3, 0);
  assert_frame(&fs, 1, PARRY_FRAME_GARBAGE, "xyz junk", 8, 5);
  assert_int_equal(fs.v[1].declared, 0);
  assert_frame(&fs, 2, PARRY_FRAME_RECORD, "defg", 4, 14);
  assert_frame(&fs, 3, PARRY_FRAME_GARBAGE, " 7 x", 4, 20); /* a space is not a length */
  assert_frame(&fs, 4, PARRY_FRAME_GARBAGE, "012 zz", 6, 25);
  assert_frame(&fs, 5, PARRY_FRAME_RECORD, "ok", 2, 32);
  const parry_framer_counts_t *c = parry_framer_counts(f);
  assert_int_equal(c->records, 3);
  assert_int_equal(c->garbage, 3);
  assert_int_equal(c->oversize, 0);
  assert_int_equal(c->truncated, 0);
  parry_framer_destroy(f);
  frames_free(&fs);
  assert_every_cut_same(in, 1024);

  /* Garbage longer than the cap is reported with its first bytes and its
   * length; a header cut by the end of the stream is garbage too. */
  assert_int_equal(frame_all("1 a0123456789\n1 b99", 4, &fs), PARRY_FRAMING_OCTET);
  assert_int_equal(fs.n, 4);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "a", 1, 0);
  assert_frame(&fs, 1, PARRY_FRAME_GARBAGE, "0123", 10, 3);
  assert_frame(&fs, 2, PARRY_FRAME_RECORD, "b", 1, 14);
  assert_frame(&fs, 3, PARRY_FRAME_GARBAGE, "99", 2, 17);
  frames_free(&fs);
}

static void test_truncated_at_end(void **state) {
  (void)state;
  frames_t fs = {0};
  assert_int_equal(frame_all("3 abc10 <13>hi", 1024, &fs), PARRY_FRAMING_OCTET);
  assert_int_equal(fs.n, 2);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "abc", 3, 0);
  assert_frame(&fs, 1, PARRY_FRAME_TRUNCATED, "<13>hi", 6, 5);
  assert_int_equal(fs.v[1].declared, 10);
  frames_free(&fs);
  assert_every_cut_same("3 abc10 <13>hi", 1024);

  /* Nothing of the body arrived. */
  assert_int_equal(frame_all("3 abc5 ", 1024, &fs), PARRY_FRAMING_OCTET);
  assert_int_equal(fs.n, 2);
  assert_frame(&fs, 1, PARRY_FRAME_TRUNCATED, "", 0, 5);
  frames_free(&fs);
}

static void test_mixed_stream_every_boundary(void **state) {
  (void)state;
  /* Good frames, an oversize one, garbage, separators and a truncated tail,
   * under a small cap, cut at every pair of boundaries. */
  const char *in = "4 <1>a\n15 <13>too long ms\r\nhello\n1 x12 <13>abcdefgh10 <13>trunc";
  frames_t fs = {0};
  assert_int_equal(frame_all(in, 10, &fs), PARRY_FRAMING_OCTET);
  assert_int_equal(fs.n, 6);
  assert_frame(&fs, 0, PARRY_FRAME_RECORD, "<1>a", 4, 0);
  assert_frame(&fs, 1, PARRY_FRAME_OVERSIZE, "<13>too lo", 15, 7);
  assert_frame(&fs, 2, PARRY_FRAME_GARBAGE, "hello", 5, 27);
  assert_frame(&fs, 3, PARRY_FRAME_RECORD, "x", 1, 33);
  assert_frame(&fs, 4, PARRY_FRAME_OVERSIZE, "<13>abcdef", 12, 36);
  assert_frame(&fs, 5, PARRY_FRAME_TRUNCATED, "<13>trunc", 9, 51);
  frames_free(&fs);
  assert_every_cut_same(in, 10);

  const char *lines = "<1>a\n\n<13>longer than ten\nx\r\n\n<2>end";
  assert_int_equal(frame_all(lines, 10, &fs), PARRY_FRAMING_NEWLINE);
  assert_int_equal(fs.n, 4);
  assert_frame(&fs, 1, PARRY_FRAME_OVERSIZE, "<13>longer", 19, 6);
  assert_frame(&fs, 2, PARRY_FRAME_RECORD, "x\r", 2, 26);
  frames_free(&fs);
  assert_every_cut_same(lines, 10);
}

static void test_binary_data_and_names(void **state) {
  (void)state;
  frames_t fs = {0};
  /* NUL bytes are data like any other. */
  const char in[] = "5 a\0b\0c";
  parry_framer_t *f = parry_framer_new(64, on_frame, &fs);
  parry_framer_feed(f, in, sizeof in - 1);
  parry_framer_finish(f);
  assert_int_equal(fs.n, 1);
  assert_int_equal(fs.v[0].len, 5);
  assert_memory_equal(fs.v[0].data, "a\0b\0c", 5);
  parry_framer_destroy(f);
  frames_free(&fs);

  assert_string_equal(parry_framing_name(PARRY_FRAMING_OCTET), "octet-counting");
  assert_string_equal(parry_framing_name(PARRY_FRAMING_NEWLINE), "newline");
  assert_string_equal(parry_framing_name(PARRY_FRAMING_UNKNOWN), "undetected");
  parry_framer_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_newline_framing),
      cmocka_unit_test(test_octet_counting),
      cmocka_unit_test(test_detection_is_per_connection),
      cmocka_unit_test(test_oversize_newline),
      cmocka_unit_test(test_oversize_octet),
      cmocka_unit_test(test_garbage_between_octet_frames),
      cmocka_unit_test(test_truncated_at_end),
      cmocka_unit_test(test_mixed_stream_every_boundary),
      cmocka_unit_test(test_binary_data_and_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
