/* Internals of the matcher shared by match.c (the per-event driver),
 * fieldcache.c (field values of the current event) and eval.c (tests and
 * expressions). A matcher belongs to one thread. */
#ifndef PARRY_SIGMA_MATCH_INT_H
#define PARRY_SIGMA_MATCH_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "sigma/sigma_int.h"

#define SG_REGEX_MATCH_LIMIT 200000u
#define SG_REGEX_DEPTH_LIMIT 10000u
#define LS_CACHE 8
#define LS_KEY 48

enum { FV_STR, FV_INT, FV_DBL, FV_BOOL, FV_NULL, FV_TIME, FV_OTHER };

typedef struct {
  uint8_t type;
  int8_t num;       /* numeric view: -1 not computed, 0 none, 1 int, 2 double */
  const char *s;    /* text; NULL until needed for numbers and times */
  size_t len;
  const char *low;  /* lowered text, NULL until needed */
  int64_t i;
  double d;
  const Parry__V1__Value *val;
} fval_t;

typedef struct {
  uint32_t gen, scan_gen;
  bool present;
  uint32_t n;
  fval_t *v;
  fval_t one;
} fslot_t;

typedef struct {
  bool valid;
  char key[3][LS_KEY];
  uint32_t *buckets, n;
} lscache_t;

struct parry_sigma_matcher {
  const parry_sigma_ruleset_t *rs;
  const Parry__V1__Event *ev;
  parry_arena_t arena;
  sg_evindex_t evx;
  uint32_t gen;
  fslot_t *slots;
  uint32_t *rule_gen, *lit_gen, *bucket_gen;
  uint32_t *cand, n_cand;
  bool collecting; /* literal hits add candidates (prefilter phase) */
  uint32_t kw_scan_gen;
  parry_sigma_match_t *out;
  /* keyword strings of the current event */
  uint32_t kw_gen;
  fval_t *kw;
  size_t n_kw, cap_kw;
  /* logsource */
  lscache_t ls[LS_CACHE];
  unsigned ls_next;
  uint32_t *ls_scratch;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  pcre2_jit_stack *jit;
  parry_sigma_stats_t stats;
};

/* fieldcache.c */
fslot_t *sg_m_field(parry_sigma_matcher_t *m, uint32_t slot);
const char *sg_m_text(parry_sigma_matcher_t *m, fval_t *f, size_t *len);
const char *sg_m_low(parry_sigma_matcher_t *m, fval_t *f, size_t *len);
bool sg_m_num(fval_t *f, bool *is_int, int64_t *i, double *d);
void sg_m_keywords(parry_sigma_matcher_t *m); /* fills m->kw for this event */
/* calls fn on every string sg_m_keywords lists (and on NULL or empty ones) */
void sg_m_each_string(parry_sigma_matcher_t *m, void (*fn)(parry_sigma_matcher_t *m, const char *s));

/* match.c: scan a field (or, for SG_SLOT_KEYWORD, every string) once */
void sg_m_ensure_scanned(parry_sigma_matcher_t *m, uint32_t slot);

/* eval.c */
bool sg_m_eval(parry_sigma_matcher_t *m, const sg_expr_t *x);

#endif
