/* Rules grouped by logsource triple (product, service, category), so an
 * event only meets rules whose logsource fits it. The fit rule (see
 * sigma.h): every attribute the rule names equals the event's, ignoring
 * case; attributes it leaves out match anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

static const char *lowered(parry_arena_t *a, const char *s) {
  if (!s) return NULL;
  char *c = parry_arena_strdup(a, s);
  for (char *p = c; *p; p++) *p = sg_lower(*p);
  return c;
}

void sg_logsource_build(parry_sigma_ruleset_t *rs) {
  sg_hash_t *index = sg_hash_new();
  size_t cap = 0;
  size_t *caps = NULL, caps_cap = 0;
  for (size_t r = 0; r < rs->n_rules; r++) {
    const parry_sigma_rule_info_t *i = &rs->rules[r].info;
    const char *p = rs->ignore_logsource ? NULL : lowered(&rs->arena, i->logsource.product);
    const char *s = rs->ignore_logsource ? NULL : lowered(&rs->arena, i->logsource.service);
    const char *c = rs->ignore_logsource ? NULL : lowered(&rs->arena, i->logsource.category);
    /* \x1f separates; \x1e marks an absent attribute */
    size_t klen = (p ? strlen(p) : 1) + (s ? strlen(s) : 1) + (c ? strlen(c) : 1) + 3;
    char *key = parry_xmalloc(klen);
    int n = snprintf(key, klen, "%s\x1f%s\x1f%s", p ? p : "\x1e", s ? s : "\x1e", c ? c : "\x1e");
    uint32_t b;
    if (!sg_hash_get(index, key, (size_t)n, &b)) {
      rs->buckets = sg_grow(rs->buckets, &cap, rs->n_buckets, sizeof *rs->buckets);
      caps = sg_grow(caps, &caps_cap, rs->n_buckets, sizeof *caps);
      b = (uint32_t)rs->n_buckets++;
      sg_bucket_t *bk = &rs->buckets[b];
      memset(bk, 0, sizeof *bk);
      bk->product = p;
      bk->service = s;
      bk->category = c;
      caps[b] = 0;
      sg_hash_put(index, &rs->arena, key, (size_t)n, b);
    }
    free(key);
    sg_bucket_t *bk = &rs->buckets[b];
    bk->rules = sg_grow(bk->rules, &caps[b], bk->n_rules, sizeof *bk->rules);
    bk->rules[bk->n_rules++] = (uint32_t)r;
    rs->rules[r].bucket = b;
  }
  free(caps);
  sg_hash_free(index);
}

/* Umbrella categories of the Sigma taxonomy: a rule on registry_event
 * (Sysmon 12, 13 and 14) applies to events the parsers give the specific
 * category (registry_add, registry_delete, registry_set, registry_rename). */
static const struct {
  const char *umbrella;
  const char *members[4];
} umbrellas[] = {
    {"registry_event", {"registry_add", "registry_delete", "registry_set", "registry_rename"}},
};

bool sg_logsource_fits(const char *want, const char *have, bool category) {
  if (!want) return true;
  if (!have || !*have) return false;
  if (!strcasecmp(want, have)) return true;
  if (!category) return false;
  for (size_t u = 0; u < sizeof umbrellas / sizeof *umbrellas; u++) {
    if (strcasecmp(want, umbrellas[u].umbrella)) continue;
    for (size_t k = 0; k < 4 && umbrellas[u].members[k]; k++)
      if (!strcasecmp(have, umbrellas[u].members[k])) return true;
  }
  return false;
}
