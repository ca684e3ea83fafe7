/* Matching events: logsource gating, the prefilter scan, and evaluation.
 *
 * The per-event driver (fields: fieldcache.c; tests: eval.c).
 * Per event, in a matcher owned by one thread:
 *   1. the buckets (logsource groups) that fit the event, from a small
 *      cache keyed by the event's logsource triple;
 *   2. candidates: the buckets' always-evaluated rules, plus the rules whose
 *      prefilter literal the field automata find in the event;
 *   3. each candidate, in rule order: its expression, then its filters.
 * Field values are looked up lazily, once per event per field, and their
 * text and lower-cased text made once (stamped with the event generation,
 * so nothing is cleared between events). Temporary text lives in an arena
 * reset per event; the arrays are sized at creation, so steady state does
 * not allocate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "sigma/match_int.h"

parry_sigma_matcher_t *parry_sigma_matcher_new(const parry_sigma_ruleset_t *rs) {
  parry_sigma_matcher_t *m = parry_xnew(parry_sigma_matcher_t, 1);
  m->rs = rs;
  m->arena = (parry_arena_t)PARRY_ARENA_INIT;
  m->slots = parry_xnew(fslot_t, rs->n_slots + 1);
  m->rule_gen = parry_xnew(uint32_t, rs->n_rules + 1);
  m->lit_gen = parry_xnew(uint32_t, rs->n_lits + 1);
  m->bucket_gen = parry_xnew(uint32_t, rs->n_buckets + 1);
  m->cand = parry_xnew(uint32_t, rs->n_rules + 1);
  m->out = parry_xnew(parry_sigma_match_t, rs->n_rules + 1);
  m->ls_scratch = parry_xnew(uint32_t, rs->n_buckets + 1);
  for (int i = 0; i < LS_CACHE; i++) m->ls[i].buckets = parry_xnew(uint32_t, rs->n_buckets + 1);
  m->md = pcre2_match_data_create(1, NULL);
  m->mctx = pcre2_match_context_create(NULL);
  m->jit = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
  if (!m->md || !m->mctx || !m->jit) {
    fprintf(stderr, "parry: out of memory creating a Sigma matcher\n");
    abort();
  }
  pcre2_set_match_limit(m->mctx, SG_REGEX_MATCH_LIMIT);
  pcre2_set_depth_limit(m->mctx, SG_REGEX_DEPTH_LIMIT);
  pcre2_jit_stack_assign(m->mctx, NULL, m->jit);
  return m;
}

void parry_sigma_matcher_destroy(parry_sigma_matcher_t *m) {
  if (!m) return;
  pcre2_match_data_free(m->md);
  pcre2_match_context_free(m->mctx);
  pcre2_jit_stack_free(m->jit);
  for (int i = 0; i < LS_CACHE; i++) free(m->ls[i].buckets);
  free(m->ls_scratch);
  free(m->slots);
  free(m->rule_gen);
  free(m->lit_gen);
  free(m->bucket_gen);
  free(m->cand);
  free(m->out);
  free(m->kw);
  sg_evindex_free(&m->evx);
  parry_arena_free(&m->arena);
  free(m);
}

void parry_sigma_matcher_stats(const parry_sigma_matcher_t *m, parry_sigma_stats_t *out) {
  *out = m->stats;
}

/* ---- logsource ---- */

/* strcmp(a, b) == 0 for the short logsource names, without the calls. */
static inline bool same_text(const char *a, const char *b) {
  for (;; a++, b++) {
    if (*a != *b) return false;
    if (!*a) return true;
  }
}

static const uint32_t *applicable(parry_sigma_matcher_t *m, uint32_t *n_out) {
  const parry_sigma_ruleset_t *rs = m->rs;
  const Parry__V1__Logsource *ls = m->ev->logsource;
  const char *have[3] = {ls && ls->product ? ls->product : "", ls && ls->service ? ls->service : "",
                         ls && ls->category ? ls->category : ""};
  /* Cached keys are shorter than LS_KEY, so a hit means the event's
   * strings are cacheable too: look first, measure only on a miss. */
  for (int i = 0; i < LS_CACHE; i++) {
    lscache_t *c = &m->ls[i];
    if (c->valid && same_text(c->key[0], have[0]) && same_text(c->key[1], have[1]) &&
        same_text(c->key[2], have[2])) {
      *n_out = c->n;
      return c->buckets;
    }
  }
  bool cacheable = strlen(have[0]) < LS_KEY && strlen(have[1]) < LS_KEY && strlen(have[2]) < LS_KEY;
  uint32_t *list = m->ls_scratch, n = 0;
  lscache_t *c = NULL;
  if (cacheable) {
    c = &m->ls[m->ls_next++ % LS_CACHE];
    list = c->buckets;
  }
  for (size_t b = 0; b < rs->n_buckets; b++) {
    const sg_bucket_t *bk = &rs->buckets[b];
    if (sg_logsource_fits(bk->product, have[0], false) &&
        sg_logsource_fits(bk->service, have[1], false) &&
        sg_logsource_fits(bk->category, have[2], true))
      list[n++] = (uint32_t)b;
  }
  if (c) {
    c->valid = true;
    for (int k = 0; k < 3; k++) strcpy(c->key[k], have[k]);
    c->n = n;
  }
  *n_out = n;
  return list;
}

/* ---- the prefilter scan ---- */

static void on_literal(void *ctx, uint32_t id) {
  parry_sigma_matcher_t *m = ctx;
  if (m->lit_gen[id] == m->gen) return;
  m->lit_gen[id] = m->gen;
  if (!m->collecting) return;
  const sg_lit_t *l = &m->rs->lits[id];
  for (uint32_t k = 0; k < l->n_rules; k++) {
    uint32_t r = l->rules[k];
    if (m->rule_gen[r] == m->gen || m->bucket_gen[m->rs->rules[r].bucket] != m->gen) continue;
    m->rule_gen[r] = m->gen;
    m->cand[m->n_cand++] = r;
  }
}

static void scan_slot(parry_sigma_matcher_t *m, uint32_t slot) {
  const sg_slot_t *s = &m->rs->slots[slot];
  fslot_t *fs = sg_m_field(m, slot);
  if (fs->scan_gen == m->gen) return;
  fs->scan_gen = m->gen;
  if (!s->ac) return;
  bool folds = sg_ac_folds(s->ac);
  for (uint32_t k = 0; k < fs->n; k++) {
    size_t n;
    const char *t = folds ? sg_m_text(m, &fs->v[k], &n) : sg_m_low(m, &fs->v[k], &n);
    if (t) sg_ac_scan(s->ac, t, n, on_literal, m);
  }
}

static void scan_kw_string(parry_sigma_matcher_t *m, const char *s) {
  if (s) sg_ac_scan_cstr(m->rs->kw_ac, s, on_literal, m);
}

static void scan_keywords(parry_sigma_matcher_t *m) {
  if (m->kw_scan_gen == m->gen) return;
  m->kw_scan_gen = m->gen;
  if (!m->rs->kw_ac) return;
  if (sg_ac_folds(m->rs->kw_ac) && m->kw_gen != m->gen) {
    /* the raw strings, straight from the event: no list, no lengths
     * (the list is made only if a keyword test is evaluated) */
    sg_m_each_string(m, scan_kw_string);
    return;
  }
  sg_m_keywords(m);
  bool folds = sg_ac_folds(m->rs->kw_ac);
  for (size_t k = 0; k < m->n_kw; k++) {
    size_t n;
    const char *t = folds ? sg_m_text(m, &m->kw[k], &n) : sg_m_low(m, &m->kw[k], &n);
    if (t) sg_ac_scan(m->rs->kw_ac, t, n, on_literal, m);
  }
}

void sg_m_ensure_scanned(parry_sigma_matcher_t *m, uint32_t slot) {
  if (slot == SG_SLOT_KEYWORD)
    scan_keywords(m);
  else
    scan_slot(m, slot);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void next_generation(parry_sigma_matcher_t *m) {
  if (++m->gen != 0) return;
  const parry_sigma_ruleset_t *rs = m->rs;
  memset(m->slots, 0, (rs->n_slots + 1) * sizeof *m->slots);
  memset(m->rule_gen, 0, (rs->n_rules + 1) * sizeof *m->rule_gen);
  memset(m->lit_gen, 0, (rs->n_lits + 1) * sizeof *m->lit_gen);
  memset(m->bucket_gen, 0, (rs->n_buckets + 1) * sizeof *m->bucket_gen);
  m->kw_gen = 0;
  m->kw_scan_gen = 0;
  m->gen = 1;
}

size_t parry_sigma_match(parry_sigma_matcher_t *m, const Parry__V1__Event *ev,
                         const parry_sigma_match_t **out) {
  const parry_sigma_ruleset_t *rs = m->rs;
  *out = m->out;
  m->stats.events++;
  if (!ev || !rs->n_rules) return 0;
  parry_arena_reset(&m->arena);
  next_generation(m);
  m->ev = ev;
  m->evx.built = false;
  m->n_cand = 0;

  uint32_t nb;
  const uint32_t *bl = applicable(m, &nb);
  for (uint32_t i = 0; i < nb; i++) m->bucket_gen[bl[i]] = m->gen;
  for (uint32_t i = 0; i < nb; i++) {
    const sg_bucket_t *bk = &rs->buckets[bl[i]];
    for (uint32_t k = 0; k < bk->n_always; k++) {
      uint32_t r = bk->always[k];
      if (m->rule_gen[r] == m->gen) continue;
      m->rule_gen[r] = m->gen;
      m->cand[m->n_cand++] = r;
    }
  }
  m->collecting = true;
  for (uint32_t i = 0; i < nb; i++) {
    const sg_bucket_t *bk = &rs->buckets[bl[i]];
    for (uint32_t k = 0; k < bk->n_scan_slots; k++) scan_slot(m, bk->scan_slots[k]);
    if (bk->scan_keywords) scan_keywords(m);
  }
  /* From here a late scan (a field only evaluation needs) marks literals
   * but adds no candidates: every applicable rule that requires a literal
   * of that field had it scanned above. */
  m->collecting = false;
  if (m->n_cand > 1) qsort(m->cand, m->n_cand, sizeof *m->cand, cmp_u32);

  size_t n_out = 0;
  for (uint32_t c = 0; c < m->n_cand; c++) {
    const sg_rule_t *r = &rs->rules[m->cand[c]];
    m->stats.rules_evaluated++;
    if (!sg_m_eval(m, r->expr)) continue;
    uint32_t flags = 0;
    for (uint32_t f = 0; f < r->n_filters; f++)
      if (!sg_m_eval(m, rs->filters[r->filters[f]].expr)) {
        flags |= PARRY_SIGMA_MATCH_FILTERED;
        break;
      }
    if (flags & PARRY_SIGMA_MATCH_FILTERED) {
      m->stats.filtered++;
      if (!rs->report_filtered) continue;
    }
    if (!r->info.alerting) {
      flags |= PARRY_SIGMA_MATCH_BELOW_MIN_LEVEL;
      m->stats.below_min_level++;
    }
    if (!(flags & PARRY_SIGMA_MATCH_FILTERED)) m->stats.matches++;
    m->out[n_out++] = (parry_sigma_match_t){m->cand[c], flags};
  }
  return n_out;
}
