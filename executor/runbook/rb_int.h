/* Internals shared by the runbook modules: paths into the context, string
 * literals, and the scanning helpers expr.c and template.c both use. */
#ifndef PARRY_RUNBOOK_INT_H
#define PARRY_RUNBOOK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "parry/buf.h"

/* One segment of a path: a key (from .name or ["..."]) or a list index. */
typedef struct {
  char *name;    /* NULL for an index */
  int64_t index; /* when name == NULL */
  bool dotted;   /* written as .name: may join the following .names with '.' */
} rb_seg_t;

typedef struct {
  rb_seg_t *segs; /* segs[0] is the root (alert, case, steps, runbook) */
  size_t n;
  size_t offset; /* of the path in its source text */
} rb_path_t;

/* A parse error: 0-based offset in the text and a message. */
typedef struct {
  size_t offset;
  char msg[200];
} rb_perr_t;

bool rb_perr(rb_perr_t *e, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool rb_is_name_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static inline bool rb_is_name_char(int c) {
  return rb_is_name_start(c) || (c >= '0' && c <= '9') || c == '-';
}
size_t rb_skip_space(const char *s, size_t len, size_t pos);

/* Parse a quoted string literal at s[*pos] (' or "), escapes \" \' \\ \n \t
 * \r \0 not allowed. Returns a malloc'd NUL-terminated string (no embedded NULs)
 * or NULL with e set. */
char *rb_parse_string(const char *s, size_t len, size_t *pos, rb_perr_t *e);

/* Parse a path at s[*pos] (a name first). With `roots`, the first name must
 * be one of them (NULL-terminated list). `max_segs` bounds its length. */
bool rb_parse_path(const char *s, size_t len, size_t *pos, const char *const *roots, rb_path_t *out,
                   rb_perr_t *e);
void rb_path_free(rb_path_t *p);
/* Resolve against obj (segments from `first`); NULL when missing. Borrowed. */
struct json_object *rb_path_resolve(const rb_path_t *p, size_t first, struct json_object *obj);
/* A path written as text (group fields: "group_by.source.ip", "rule.id"). */
bool rb_path_from_text(const char *text, rb_path_t *out, rb_perr_t *e);

/* The context roots expressions and templates may read. */
extern const char *const rb_roots[];

/* Append a JSON value's text rendering: strings raw, others as compact JSON,
 * NULL as nothing. */
bool rb_value_text(struct json_object *v, parry_buf_t *out);

/* Durations: "500ms", "30s", "5m", "1h", "2d", combinations like "1m30s". */
bool rb_parse_duration(const char *s, int64_t *out_ns);

/* IP and CIDR matching (v4 and v6). */
typedef struct {
  uint8_t addr[16];
  int family; /* 4 or 6 */
  int prefix; /* bits */
} rb_cidr_t;
bool rb_parse_cidr(const char *s, rb_cidr_t *out);
bool rb_ip_in_cidr(const char *ip, const rb_cidr_t *c);

/* Glob: * any run, ? one byte, whole string. */
bool rb_glob(const char *pat, size_t plen, const char *s, size_t slen);

#endif
