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

static uint32_t hash(const char *s, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h | 1; /* 0 marks an empty cell */
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

parry_field_kind_t sg_event_get(sg_evindex_t *x, const Parry__V1__Event *ev, const char *path,
                                parry_field_t *out) {
  if (strchr(path, '.') || !strcmp(path, "message") || !strcmp(path, "@timestamp"))
    return parry_event_get(ev, path, out);
  memset(out, 0, sizeof *out);
  if (!x->built) build(x, ev);
  size_t len = strlen(path);
  uint32_t h = hash(path, len);
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
