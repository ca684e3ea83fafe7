/* Small helpers: an open-addressing string hash (build time only), array
 * growth, and the compile error recorder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

typedef struct {
  const char *key; /* NULL: empty */
  size_t len;
  uint32_t val;
  uint32_t hash;
} slot_t;

struct sg_hash {
  slot_t *slots;
  size_t cap, n; /* cap a power of two */
};

static uint32_t fnv1a(const char *s, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

sg_hash_t *sg_hash_new(void) {
  sg_hash_t *h = parry_xnew(sg_hash_t, 1);
  h->cap = 64;
  h->slots = parry_xnew(slot_t, h->cap);
  return h;
}

void sg_hash_free(sg_hash_t *h) {
  if (!h) return;
  free(h->slots);
  free(h);
}

static slot_t *find(const sg_hash_t *h, const char *key, size_t len, uint32_t hash) {
  size_t mask = h->cap - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    slot_t *s = &h->slots[i];
    if (!s->key || (s->hash == hash && s->len == len && !memcmp(s->key, key, len))) return s;
  }
}

bool sg_hash_get(const sg_hash_t *h, const char *key, size_t len, uint32_t *val) {
  if (!h) return false;
  slot_t *s = find(h, key, len, fnv1a(key, len));
  if (!s->key) return false;
  if (val) *val = s->val;
  return true;
}

bool sg_hash_put(sg_hash_t *h, parry_arena_t *a, const char *key, size_t len, uint32_t val) {
  uint32_t hash = fnv1a(key, len);
  slot_t *s = find(h, key, len, hash);
  if (s->key) return false;
  if (2 * (h->n + 1) > h->cap) {
    slot_t *old = h->slots;
    size_t old_cap = h->cap;
    h->cap *= 2;
    h->slots = parry_xnew(slot_t, h->cap);
    for (size_t i = 0; i < old_cap; i++)
      if (old[i].key) *find(h, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
    s = find(h, key, len, hash);
  }
  *s = (slot_t){parry_arena_strndup(a, key, len), len, val, hash};
  h->n++;
  return true;
}

void *sg_grow(void *arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return arr;
  size_t c = *cap ? *cap * 2 : 8;
  void *p = parry_xreallocarray(arr, c, elem);
  memset((char *)p + *cap * elem, 0, (c - *cap) * elem);
  *cap = c;
  return p;
}

int sg_fail(sg_err_t *e, parry_sigma_reject_reason_t reason, const parry_sigma_node_t *at,
            const char *fmt, ...) {
  if (!e) return -1;
  e->reason = reason;
  if (at) {
    e->line = at->line;
    e->column = at->column;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

void sg_err_prefix(sg_err_t *e, const char *fmt, ...) {
  char prefix[256], msg[sizeof e->msg];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t pl = strnlen(prefix, sizeof prefix - 1), ml = strnlen(e->msg, sizeof e->msg - 1);
  if (pl + ml >= sizeof msg) ml = sizeof msg - 1 - pl;
  memcpy(msg, prefix, pl);
  memcpy(msg + pl, e->msg, ml);
  msg[pl + ml] = 0;
  memcpy(e->msg, msg, pl + ml + 1);
}
