/* Shared scanning helpers for runbook expressions and templates: string
 * literals, paths into the run context, durations, CIDRs and globs. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "runbook/rb_int.h"

#define RB_MAX_PATH_SEGS 32

const char *const rb_roots[] = {"alert", "case", "steps", "runbook", NULL};

bool rb_perr(rb_perr_t *e, size_t offset, const char *fmt, ...) {
  if (!e) return false;
  e->offset = offset;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return false;
}

size_t rb_skip_space(const char *s, size_t len, size_t pos) {
  while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) pos++;
  return pos;
}

char *rb_parse_string(const char *s, size_t len, size_t *pos, rb_perr_t *e) {
  size_t start = *pos, i = start + 1;
  char quote = s[start];
  parry_buf_t b = PARRY_BUF_INIT(len + 1);
  parry_buf_append(&b, "", 0); /* never NULL data */
  while (i < len && s[i] != quote) {
    char c = s[i];
    if (c == '\0') {
      parry_buf_free(&b);
      rb_perr(e, i, "NUL byte in a string");
      return NULL;
    }
    if (c == '\\') {
      if (i + 1 >= len) break;
      char x = s[i + 1];
      switch (x) {
        case '"':
        case '\'':
        case '\\': c = x; break;
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        default:
          parry_buf_free(&b);
          rb_perr(e, i, "unknown escape \\%c in a string (use \\\" \\' \\\\ \\n \\t \\r)",
                  x >= 0x20 && x < 0x7f ? x : '?');
          return NULL;
      }
      i++;
    }
    parry_buf_append_char(&b, c);
    i++;
  }
  if (i >= len) {
    parry_buf_free(&b);
    rb_perr(e, start, "unterminated string");
    return NULL;
  }
  *pos = i + 1;
  return parry_buf_steal(&b);
}

static void push_seg(rb_path_t *p, rb_seg_t seg) {
  p->segs = parry_xreallocarray(p->segs, p->n + 1, sizeof *p->segs);
  p->segs[p->n++] = seg;
}

void rb_path_free(rb_path_t *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) free(p->segs[i].name);
  free(p->segs);
  p->segs = NULL;
  p->n = 0;
}

bool rb_parse_path(const char *s, size_t len, size_t *pos, const char *const *roots, rb_path_t *out,
                   rb_perr_t *e) {
  size_t i = *pos, start = i;
  memset(out, 0, sizeof *out);
  out->offset = start;
  if (i >= len || !rb_is_name_start((unsigned char)s[i])) return rb_perr(e, i, "expected a name");
  while (i < len && rb_is_name_char((unsigned char)s[i])) i++;
  char *root = parry_xstrndup(s + start, i - start);
  if (roots) {
    bool ok = false;
    for (size_t r = 0; roots[r]; r++) ok = ok || !strcmp(roots[r], root);
    if (!ok) {
      rb_perr(e, start, "unknown name \"%.60s\" (a path starts with alert, case, steps or runbook)",
              root);
      free(root);
      return false;
    }
  }
  push_seg(out, (rb_seg_t){root, 0, true});
  for (;;) {
    if (out->n > RB_MAX_PATH_SEGS) {
      rb_path_free(out);
      return rb_perr(e, start, "path longer than %d segments", RB_MAX_PATH_SEGS);
    }
    if (i < len && s[i] == '.') {
      size_t n0 = ++i;
      while (i < len && rb_is_name_char((unsigned char)s[i])) i++;
      if (i == n0) {
        rb_path_free(out);
        return rb_perr(e, i, "expected a name after '.'");
      }
      push_seg(out, (rb_seg_t){parry_xstrndup(s + n0, i - n0), 0, true});
    } else if (i < len && s[i] == '[') {
      i = rb_skip_space(s, len, i + 1);
      if (i < len && (s[i] == '"' || s[i] == '\'')) {
        char *key = rb_parse_string(s, len, &i, e);
        if (!key) {
          rb_path_free(out);
          return false;
        }
        push_seg(out, (rb_seg_t){key, 0, false});
      } else if (i < len && s[i] >= '0' && s[i] <= '9') {
        int64_t v = 0;
        size_t d0 = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
          if (v > 100000000) {
            rb_path_free(out);
            return rb_perr(e, d0, "list index too large");
          }
          v = v * 10 + (s[i++] - '0');
        }
        push_seg(out, (rb_seg_t){NULL, v, false});
      } else {
        rb_path_free(out);
        return rb_perr(e, i, "expected a quoted key or an index after '['");
      }
      i = rb_skip_space(s, len, i);
      if (i >= len || s[i] != ']') {
        rb_path_free(out);
        return rb_perr(e, i, "expected ']'");
      }
      i++;
    } else {
      break;
    }
  }
  *pos = i;
  return true;
}

bool rb_path_from_text(const char *text, rb_path_t *out, rb_perr_t *e) {
  size_t len = strlen(text), pos = 0;
  if (!rb_parse_path(text, len, &pos, NULL, out, e)) return false;
  if (pos != len) {
    rb_path_free(out);
    return rb_perr(e, pos, "unexpected text after the path");
  }
  return true;
}

/* A dotted name that is all digits also indexes a list (templates write
 * steps.x.outputs.items.0). */
static bool seg_index(const rb_seg_t *seg, size_t *idx) {
  if (!seg->name) {
    *idx = (size_t)seg->index;
    return true;
  }
  const char *p = seg->name;
  if (!*p || strlen(p) > 9) return false;
  size_t v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (size_t)(*p - '0');
  }
  *idx = v;
  return true;
}

struct json_object *rb_path_resolve(const rb_path_t *p, size_t first, struct json_object *obj) {
  struct json_object *cur = obj;
  size_t i = first;
  while (i < p->n && cur) {
    const rb_seg_t *seg = &p->segs[i];
    if (json_object_is_type(cur, json_type_object)) {
      if (!seg->name) return NULL;
      struct json_object *next = NULL;
      if (json_object_object_get_ex(cur, seg->name, &next)) {
        cur = next;
        i++;
        continue;
      }
      if (!seg->dotted) return NULL;
      /* Try "a.b", "a.b.c", ... for keys that contain dots (group_by). */
      char key[512];
      size_t kl = strlen(seg->name);
      if (kl >= sizeof key) return NULL;
      memcpy(key, seg->name, kl + 1);
      bool found = false;
      size_t j = i + 1;
      for (; j < p->n && p->segs[j].dotted && p->segs[j].name; j++) {
        size_t sl = strlen(p->segs[j].name);
        if (kl + 1 + sl >= sizeof key) break;
        key[kl++] = '.';
        memcpy(key + kl, p->segs[j].name, sl + 1);
        kl += sl;
        if (json_object_object_get_ex(cur, key, &next)) {
          found = true;
          break;
        }
      }
      if (!found) return NULL;
      cur = next;
      i = j + 1;
    } else if (json_object_is_type(cur, json_type_array)) {
      size_t idx;
      if (!seg_index(seg, &idx) || idx >= json_object_array_length(cur)) return NULL;
      cur = json_object_array_get_idx(cur, idx);
      i++;
    } else {
      return NULL;
    }
  }
  return cur;
}

bool rb_value_text(struct json_object *v, parry_buf_t *out) {
  if (!v) return true;
  if (json_object_is_type(v, json_type_string))
    return parry_buf_append(out, json_object_get_string(v),
                            (size_t)json_object_get_string_len(v)) == PARRY_OK;
  const char *t =
      json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  return parry_buf_append_str(out, t ? t : "") == PARRY_OK;
}

bool rb_parse_duration(const char *s, int64_t *out_ns) {
  int64_t total = 0;
  size_t i = 0, len = strlen(s);
  if (len == 0) return false;
  while (i < len) {
    if (s[i] < '0' || s[i] > '9') return false;
    int64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (v > 1000000000LL) return false;
      v = v * 10 + (s[i++] - '0');
    }
    int64_t unit;
    if (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') unit = 1000000LL, i += 2;
    else if (i < len && s[i] == 's') unit = 1000000000LL, i++;
    else if (i < len && s[i] == 'm') unit = 60LL * 1000000000LL, i++;
    else if (i < len && s[i] == 'h') unit = 3600LL * 1000000000LL, i++;
    else if (i < len && s[i] == 'd') unit = 86400LL * 1000000000LL, i++;
    else return false;
    /* cap at 365 days: far beyond any sensible window, far below overflow */
    if (v > 365LL * 86400 * 1000000000LL / unit) return false;
    total += v * unit;
    if (total > 365LL * 86400 * 1000000000LL) return false;
  }
  *out_ns = total;
  return true;
}

bool rb_parse_cidr(const char *s, rb_cidr_t *out) {
  char buf[64];
  const char *slash = strchr(s, '/');
  size_t alen = slash ? (size_t)(slash - s) : strlen(s);
  if (alen == 0 || alen >= sizeof buf) return false;
  memcpy(buf, s, alen);
  buf[alen] = '\0';
  memset(out, 0, sizeof *out);
  int maxbits;
  if (inet_pton(AF_INET, buf, out->addr) == 1) out->family = 4, maxbits = 32;
  else if (inet_pton(AF_INET6, buf, out->addr) == 1) out->family = 6, maxbits = 128;
  else return false;
  out->prefix = maxbits;
  if (slash) {
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3) return false;
    int v = 0;
    for (; *p; p++) {
      if (*p < '0' || *p > '9') return false;
      v = v * 10 + (*p - '0');
    }
    if (v > maxbits) return false;
    out->prefix = v;
  }
  return true;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, int bits) {
  int whole = bits / 8, rest = bits % 8;
  if (memcmp(a, b, (size_t)whole)) return false;
  if (!rest) return true;
  uint8_t mask = (uint8_t)(0xffu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

bool rb_ip_in_cidr(const char *ip, const rb_cidr_t *c) {
  uint8_t a[16];
  if (strlen(ip) >= 64) return false;
  if (inet_pton(AF_INET, ip, a) == 1) {
    if (c->family == 4) return prefix_equal(a, c->addr, c->prefix);
    /* an IPv4 address against an IPv4-mapped IPv6 range ::ffff:0:0/96 */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c->prefix < 96 || memcmp(c->addr, mapped, 12)) return false;
    return prefix_equal(a, c->addr + 12, c->prefix - 96);
  }
  if (inet_pton(AF_INET6, ip, a) == 1) {
    if (c->family == 6) return prefix_equal(a, c->addr, c->prefix);
    /* an IPv4-mapped IPv6 address against an IPv4 range */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12)) return false;
    return prefix_equal(a + 12, c->addr, c->prefix);
  }
  return false;
}

/* Iterative glob with one backtrack point: O(len(pat) * len(s)) worst case. */
bool rb_glob(const char *pat, size_t plen, const char *s, size_t slen) {
  size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;
  while (i < slen) {
    if (p < plen && (pat[p] == '?' || (pat[p] != '*' && pat[p] == s[i]))) {
      p++, i++;
    } else if (p < plen && pat[p] == '*') {
      star_p = p++;
      star_i = i;
    } else if (star_p != (size_t)-1) {
      p = star_p + 1;
      i = ++star_i;
    } else {
      return false;
    }
  }
  while (p < plen && pat[p] == '*') p++;
  return p == plen;
}
