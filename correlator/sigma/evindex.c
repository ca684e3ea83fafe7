/* Field lookup with the exact answers of parry_event_get, faster for the
 * common case.
 *
 * A Sigma rule set names many vendor fields ("Image", "CommandLine",
 * "EventID"); parry_event_get finds a plain name (no '.', not "message" or
 * "@timestamp") by scanning the event's top-level `fields` entries, so an
 * event with 30 fields and 30 looked-up names costs 900 key comparisons.
 * For exactly those names parry_event_get's answer is the first top-level
 * entry with that key (typed fields have dotted names, and descending needs
 * a '.'), so one hash table of the top-level keys, built on the first such
 * lookup of each event, gives the same answer in O(1). Every other path
 * goes to parry_event_get unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

/* 8 bytes a step: keys are "CommandLine", "ParentImage", ... and every
 * key of every event is hashed once */
static uint32_t hash(const char *s, size_t len) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 29;
  }
  if (i < len) {
    uint64_t w = 0;
    memcpy(&w, s + i, len - i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  }
  h ^= h >> 32;
  return (uint32_t)h | 1; /* 0 marks an empty cell */
}

void sg_evindex_init(sg_evindex_t *x) { memset(x, 0, sizeof *x); }

void sg_evindex_free(sg_evindex_t *x) {
  free(x->cells);
  memset(x, 0, sizeof *x);
}

static void build(sg_evindex_t *x, const Parry__V1__Event *ev) {
  const Parry__V1__ValueMap *m = ev->fields;
  size_t n = m ? m->n_entries : 0;
  size_t want = 16;
  while (want < 2 * n) want *= 2;
  if (want > x->cap) {
    free(x->cells);
    x->cells = parry_xnew(sg_evcell_t, want);
    x->cap = want;
  } else {
    memset(x->cells, 0, x->cap * sizeof *x->cells);
  }
  x->mask = x->cap - 1;
  for (size_t i = 0; i < n; i++) {
    const Parry__V1__Entry *e = m->entries[i];
    if (!e || !e->key) continue;
    size_t len = strlen(e->key);
    uint32_t h = hash(e->key, len);
    for (size_t k = h & x->mask;; k = (k + 1) & x->mask) {
      sg_evcell_t *c = &x->cells[k];
      if (!c->hash) {
        *c = (sg_evcell_t){h, (uint32_t)len, e->key, e->value};
        break;
      }
      /* the first entry with a key wins, as in parry_event_get */
      if (c->hash == h && c->len == len && !memcmp(c->key, e->key, len)) break;
    }
  }
  x->built = true;
}

uint32_t sg_evkey(const char *path, uint32_t *len) {
  size_t n = strlen(path);
  *len = (uint32_t)n;
  if (memchr(path, '.', n) || !strcmp(path, "message") || !strcmp(path, "@timestamp")) return 0;
  return hash(path, n);
}

parry_field_kind_t sg_event_get_key(sg_evindex_t *x, const Parry__V1__Event *ev, const char *path,
                                    uint32_t h, uint32_t len, parry_field_t *out) {
  if (!h) return parry_event_get(ev, path, out);
  memset(out, 0, sizeof *out);
  if (!x->built) build(x, ev);
  for (size_t k = h & x->mask;; k = (k + 1) & x->mask) {
    const sg_evcell_t *c = &x->cells[k];
    if (!c->hash) return PARRY_FIELD_ABSENT;
    if (c->hash == h && c->len == len && !memcmp(c->key, path, len)) {
      if (!c->value) return PARRY_FIELD_ABSENT;
      out->value = c->value;
      return out->kind = PARRY_FIELD_VALUE;
    }
  }
}

parry_field_kind_t sg_event_get(sg_evindex_t *x, const Parry__V1__Event *ev, const char *path,
                                parry_field_t *out) {
  uint32_t len;
  uint32_t h = sg_evkey(path, &len);
  return sg_event_get_key(x, ev, path, h, len, out);
}
