/* Internals of the correlation engine, shared by its files:
 *   compile.c  correlation YAML -> corr_rule_t
 *   signals.c  stage 1: events -> Signals, key encoding
 *   engine.c   per-key table, release order, window logic, alerts
 *   state.c    per-key binary serialization (changelog)
 */
#ifndef PARRY_WINDOW_CORR_INT_H
#define PARRY_WINDOW_CORR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/buf.h"
#include "window/correlate.h"

#define CORR_NONE INT64_MIN         /* "no timestamp" in per-input slots */
#define CORR_MAX_INPUTS 64          /* rules per correlation (temporal bitmask) */
#define CORR_MAX_GROUP_BY 32
#define CORR_MAX_CAP (1u << 20)     /* biggest count a window must remember */
#define CORR_MAX_DISTINCT 4096      /* value_percentile: distinct values per window */
#define CORR_MAX_DEPTH 16           /* chained correlations */
#define CORR_REF_ID_MAX 127         /* event id bytes kept per reference */
#define CORR_TS_MAX (INT64_MAX / 2) /* signal times beyond +-this are refused, so
                                       window arithmetic cannot overflow */

typedef enum {
  CT_EVENT_COUNT,
  CT_VALUE_COUNT,
  CT_TEMPORAL,
  CT_TEMPORAL_ORDERED,
  CT_VALUE_SUM,
  CT_VALUE_AVG,
  CT_VALUE_PERCENTILE,
  CT_N
} corr_type_t;

typedef enum { OP_GT, OP_GTE, OP_LT, OP_LTE, OP_EQ, OP_NEQ } corr_op_t;

typedef struct {
  corr_op_t op;
  double v;
} corr_cond_t;

/* One entry of `rules`: a detection rule or another correlation. */
typedef struct {
  bool is_corr;
  uint32_t index;  /* detection rule index, or correlation index (in the set) */
  const char *key; /* what Signal.rule_id carries: detection rule key / correlation key */
  /* per group-by field, the event (or upstream label) field names tried */
  const char **gb_field; /* n_group_by: name after aliases */
  const char ***gb_cands; /* detection inputs: candidate event paths */
  uint32_t *gb_n_cands;
  const char **val_field; /* n_fields: value field names after aliases */
  const char ***val_cands;
  uint32_t *val_n_cands;
} corr_input_t;

typedef struct {
  parry_corr_rule_info_t info;
  corr_type_t type;
  const char *name; /* `name` attribute, for chains and aliases */
  const char *level;
  const char *description;
  const char **tags;
  size_t n_tags;
  char **group_by;
  size_t n_group_by;
  char **fields; /* `condition.field`: value_count may name several */
  size_t n_fields;
  corr_cond_t conds[6];
  size_t n_conds;
  bool eager;     /* fire at the signal that makes the condition true */
  uint32_t nstar; /* eager counting types: the count at which it first holds */
  uint32_t cap;   /* entries a window may hold (unless unbounded) */
  bool unbounded; /* eager value_sum: as many entries as the window has */
  corr_input_t *inputs;
  size_t n_inputs;
  bool generate;         /* its referenced rules also alert on their own */
  uint32_t depth;        /* 0: uses only detection rules; else 1 + max of inputs */
  uint32_t *parents;     /* correlations that use this one (chains) */
  size_t n_parents;
  uint32_t fingerprint;  /* of what the state layout depends on */
} corr_rule_t;

typedef struct {
  uint32_t corr, input;
} corr_use_t;

struct parry_corr_set {
  corr_rule_t *rules;
  size_t n_rules;
  size_t n_det; /* detection rules in the ruleset */
  /* per detection rule: the correlations using it */
  corr_use_t **uses;
  uint32_t *n_uses;
  bool *generates;
  bool *used;
  /* lookup of correlation keys */
  uint32_t *kidx; /* open addressing over rules, UINT32_MAX empty */
  size_t kcap;
};

bool corr_cond_holds(const corr_rule_t *r, double x);
const corr_rule_t *corr_set_find(const parry_corr_set_t *set, const char *key, size_t len,
                                 uint32_t *index);
uint64_t corr_hash(const void *data, size_t len);
uint32_t corr_input_find(const corr_rule_t *r, const char *rule_id);

/* Key encoding: append part to buf with '|' and '\' escaped. */
void corr_key_part(parry_buf_t *b, const char *s, size_t len, bool first);
/* The hash of a value field (value_count, percentile): its text. */
uint64_t corr_value_hash(const Parry__V1__Value *v, bool *ok);
/* A value as a number (value_sum/avg): ints, doubles, numeric strings. */
bool corr_value_number(const Parry__V1__Value *v, double *out);

#endif
