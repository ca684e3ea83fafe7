/* What the parser suites (test_parse_*.c) share: running records through
 * the normalizer as `parry normalize` does, collecting events as canonical
 * JSON and rejects with their reasons, and walking the shared data.
 *
 * Header-only (static functions): each suite is its own runner and links
 * nothing but the project's libraries. */
#ifndef PARRY_TEST_PARSE_UTIL_H
#define PARRY_TEST_PARSE_UTIL_H

#include <errno.h>
#include <dirent.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "normalize.h"
#include "parry/codec.h"
#include "parry/config.h"
#include "parse/parser.h"
#include "records.h"
#include "test_support.h"

/* The time every record is "read" at in these tests: an event whose
 * @timestamp is this got no time from its record. */
#define PT_RECEIVED_NS (1700000000LL * PARRY_NS_PER_SEC)
#define PT_RECEIVED_TEXT "2023-11-14T22:13:20Z"

/* Sanitizer builds run an order of magnitude slower: suites that walk the
 * large corpora check every record but sample the expensive per-event work
 * there (PT_SAMPLE events per file) to stay inside ctest's timeout. */
#if defined(__SANITIZE_ADDRESS__)
#define PT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define PT_SANITIZED 1
#endif
#endif
#ifdef PT_SANITIZED
#define PT_SAMPLE 2000
#else
#define PT_SAMPLE SIZE_MAX
#endif

typedef struct {
  char **events; /* canonical JSON, one per event */
  size_t n_events, cap_events;
  char **rejects; /* "reason\trecord" */
  size_t n_rejects, cap_rejects;
  bool keep;      /* keep events (else count only) */
  bool roundtrip; /* check that every event reads back */
} pt_sink_t;

typedef struct {
  parry_config_t *cfg;
  parry_normalizer_t *n;
  parry_stream_t *s;
  pt_sink_t sink;
  uint64_t seq;
  size_t stop_after; /* pt_feed_file stops after this many events (0: never) */
} pt_run_t;

static inline void pt_push(char ***list, size_t *n, size_t *cap, char *s) {
  if (*n == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    *list = realloc(*list, *cap * sizeof **list);
  }
  (*list)[(*n)++] = s;
}

static inline void pt_on_event(void *opaque, const Parry__V1__Event *ev) {
  pt_sink_t *s = opaque;
  parry_buf_t b = PARRY_BUF_INIT(0);
  char why[512];
  if (parry_event_to_json(ev, &b, why, sizeof why) != PARRY_OK)
    fail_msg("a parser built an event the codec cannot write: %s", why);
  if (s->roundtrip && s->n_events < PT_SAMPLE) {
    Parry__V1__Event *back = NULL;
    if (parry_event_from_json(b.data, b.len, &back, why, sizeof why) != PARRY_OK)
      fail_msg("an event does not read back: %s: %s", why, b.data);
    parry__v1__event__free_unpacked(back, NULL);
  }
  if (s->keep)
    pt_push(&s->events, &s->n_events, &s->cap_events, strdup(b.data));
  else
    s->n_events++;
  parry_buf_free(&b);
}

static inline void pt_on_reject(void *opaque, const char *source, uint64_t seq, const char *rec,
                         size_t len, const char *reason) {
  pt_sink_t *s = opaque;
  char *line = NULL;
  if (asprintf(&line, "%s\t%.*s", reason, (int)(len > 300 ? 300 : len), rec) < 0) abort();
  pt_push(&s->rejects, &s->n_rejects, &s->cap_rejects, line);
}

static const parry_normalize_sink_t pt_sink = {pt_on_event, pt_on_reject};

/* A normalizer and one stream; format NULL for auto-detection. */
static inline pt_run_t *pt_open(const char *format, const char *source) {
  pt_run_t *r = calloc(1, sizeof *r);
  char err[512];
  r->cfg = parry_config_new();
  if (parry_normalizer_new(r->cfg, format, &r->n, err, sizeof err)) fail_msg("%s", err);
  r->sink.keep = true;
  r->sink.roundtrip = true;
  r->s = parry_stream_new(r->n, source ? source : "test", &pt_sink, &r->sink);
  return r;
}

static inline void pt_close(pt_run_t *r) {
  if (!r) return;
  parry_stream_destroy(r->s);
  parry_normalizer_destroy(r->n);
  parry_config_destroy(r->cfg);
  for (size_t i = 0; i < r->sink.n_events && r->sink.keep; i++) free(r->sink.events[i]);
  for (size_t i = 0; i < r->sink.n_rejects; i++) free(r->sink.rejects[i]);
  free(r->sink.events);
  free(r->sink.rejects);
  free(r);
}

static inline const parry_stream_counts_t *pt_counts(const pt_run_t *r) { return parry_stream_counts(r->s); }

static inline void pt_feed_n(pt_run_t *r, const char *rec, size_t len) {
  parry_stream_record(r->s, rec, len, ++r->seq, PT_RECEIVED_NS);
}

static inline void pt_feed(pt_run_t *r, const char *rec) { pt_feed_n(r, rec, strlen(rec)); }

static inline void pt_on_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                         size_t total) {
  pt_run_t *r = opaque;
  if (r->stop_after && r->sink.n_events >= r->stop_after) return;
  if (oversize) {
    parry_stream_reject(r->s, rec, len, seq, "oversize");
    return;
  }
  parry_stream_record(r->s, rec, len, seq, PT_RECEIVED_NS);
}

static inline bool pt_has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Feed a file as `parry normalize` frames it (.gz files decompressed by
 * gzip -dc). */
static inline void pt_feed_file(pt_run_t *r, const char *path) {
  FILE *f;
  bool gz = pt_has_suffix(path, ".gz");
  if (gz) {
    char *cmd = NULL;
    if (asprintf(&cmd, "gzip -dc '%s'", path) < 0) abort();
    f = popen(cmd, "r");
    free(cmd);
  } else {
    f = fopen(path, "rb");
  }
  if (!f) fail_msg("could not open %s: %s", path, strerror(errno));
  char err[256];
  size_t max = (size_t)parry_config_int(r->cfg, "ingestor.max_record_size");
  if (parry_read_records(f, max, pt_on_record, r, err, sizeof err) != PARRY_OK)
    fail_msg("%s: %s", path, err);
  if (gz ? pclose(f) != 0 : fclose(f) != 0) fail_msg("could not read %s", path);
}

/* Event i parsed back into a json-c tree (caller puts it). */
static inline json_object *pt_event(const pt_run_t *r, size_t i) {
  json_object *o = NULL;
  char err[256];
  assert_true(i < r->sink.n_events);
  const char *text = r->sink.events[i];
  if (parry_codec_parse_json(text, strlen(text), &o, err, sizeof err)) fail_msg("%s", err);
  return o;
}

/* A member at a dotted path of nested objects (each segment one level):
 * true when it is there, *out NULL for a JSON null. */
static inline bool pt_find(json_object *o, const char *path, json_object **out) {
  char seg[256];
  *out = o;
  while (*path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof seg || !json_object_is_type(*out, json_type_object)) return false;
    memcpy(seg, path, n);
    seg[n] = '\0';
    if (!json_object_object_get_ex(*out, seg, out)) return false;
    path += n + (dot ? 1 : 0);
  }
  return true;
}

static inline json_object *pt_at(json_object *o, const char *path) {
  json_object *v = NULL;
  return pt_find(o, path, &v) ? v : NULL;
}

/* A top-level member whose own name may hold dots ("id.orig_h"). */
static inline json_object *pt_key(json_object *o, const char *key) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The text of the value at path: "<absent>", "null", a string's content,
 * or the JSON of anything else. */
static inline const char *pt_str(json_object *o, const char *path) {
  json_object *v = NULL;
  if (!pt_find(o, path, &v)) return "<absent>";
  return v ? json_object_get_string(v) : "null";
}

/* Files under dir (recursively) whose names end with one of suffixes,
 * sorted. */
typedef struct {
  char **found;
  size_t n, cap;
  const char *const *suffixes;
} pt_walk_t;

static inline void pt_walk(pt_walk_t *w, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) abort();
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      pt_walk(w, path);
      free(path);
      continue;
    }
    bool keep = false;
    for (const char *const *s = w->suffixes; *s && !keep; s++) keep = pt_has_suffix(path, *s);
    if (keep)
      pt_push(&w->found, &w->n, &w->cap, path);
    else
      free(path);
  }
  closedir(d);
}

static inline int pt_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline size_t pt_list(const char *dir, const char *const *suffixes, char ***out) {
  pt_walk_t w = {.suffixes = suffixes};
  pt_walk(&w, dir);
  if (w.n) qsort(w.found, w.n, sizeof *w.found, pt_cmp);
  *out = w.found;
  return w.n;
}

static inline void pt_free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++) free(list[i]);
  free(list);
}

/* The shared data folder joined with rel, or NULL (and a message) when the
 * data is absent: the caller skips. */
static inline char *pt_data(const char *rel) {
  const char *dir = parry_test_data_dir();
  if (!dir) return NULL;
  char *path = NULL;
  if (asprintf(&path, "%s/%s", dir, rel) < 0) abort();
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("skipped: %s is not in the shared data\n", path);
    free(path);
    return NULL;
  }
  return path;
}

/* The whole file, NUL-terminated (caller frees). */
static inline char *pt_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("could not open %s", path);
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = cap ? 2 * cap : 65536;
      buf = realloc(buf, cap);
    }
    size_t got = fread(buf + n, 1, 4096, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* The single reject of a run, for reason checks. */
static inline const char *pt_reject(const pt_run_t *r, size_t i) {
  assert_true(i < r->sink.n_rejects);
  return r->sink.rejects[i];
}

#endif
