/* Internals of the Sigma engine shared by its files. Nothing here is API.
 *
 * Data flow: load.c reads files into YAML trees (yaml.c) and sorts documents
 * into rules (rule.c), filters (filters.c) and correlations, with options
 * from options.c; compile.c turns a detection section into an expression
 * tree (sg_expr_t) whose leaves are tests (sg_test_t) built by modifiers.c
 * from values and modifier chains (token strings: pattern.c, transform.c;
 * regexes: regex.c), the condition coming from condition.c. When all files
 * are read, load.c attaches filters, groups rules by logsource
 * (logsource.c) and derives the prefilter (prefilter.c, ac.c). Matching:
 * match.c drives each event, fieldcache.c (with evindex.c) finds field
 * values, eval.c decides tests. hash.c and report.c are helpers.
 *
 * Memory: everything a ruleset holds lives in its arena, except PCRE2 codes
 * (listed in rs->regexes), the automata, and the arrays and hash tables
 * built while loading (malloc, freed with the ruleset). Out of memory
 * aborts, as everywhere in Parry (parry/mem.h).
 */
#ifndef PARRY_SIGMA_INT_H
#define PARRY_SIGMA_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/arena.h"
#include "parry/codec.h"
#include "sigma/sigma.h"

/* ---- caps: hitting one rejects the rule with reason "limit" ---- */
#define SG_MAX_FILE_SIZE (4u << 20)  /* bytes per rule file */
#define SG_MAX_YAML_DEPTH 64         /* nested collections */
#define SG_MAX_YAML_NODES 200000     /* nodes per file */
#define SG_MAX_COND_LEN 16384        /* bytes per condition */
#define SG_MAX_COND_DEPTH 64         /* brackets and nots */
#define SG_MAX_VALUES 20000          /* values per rule after expansion */
#define SG_MAX_EXPANSION 4096        /* forms of one value (expand, windash) */
#define SG_MAX_WINDASH_FORMS 256     /* windash before an encoder */
#define SG_MAX_REGEX_LEN 16384
#define SG_MAX_DIR_DEPTH 32
#define SG_MAX_PREFILTER_LITS 20000  /* per rule; more means no prefilter */
#define SG_LIT_MAX 12                /* bytes of a literal the automata keep */

/* ---- errors while compiling one document ---- */
typedef struct sg_err {
  parry_sigma_reject_reason_t reason;
  uint32_t line, column;
  char msg[512];
} sg_err_t;

/* Record an error at node `at` (may be NULL) and return -1. */
int sg_fail(sg_err_t *e, parry_sigma_reject_reason_t reason, const parry_sigma_node_t *at,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prepend a formatted prefix to e->msg ("detection.selection: "). */
void sg_err_prefix(sg_err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- YAML (yaml.c, over parry/yaml_tree.h) ---- */
typedef parry_yaml_docs_t sg_yaml_file_t; /* free(docs) after use */

/* Parse all documents of `text` into trees in `a` (SG_MAX_YAML_* caps, core
 * schema, unique keys). On error returns -1 with e set (reason YAML,
 * UNSUPPORTED for aliases and non-scalar keys, LIMIT for caps); the documents
 * before the error are still in *out. */
int sg_yaml_parse(parry_arena_t *a, const char *text, size_t len, sg_yaml_file_t *out,
                  sg_err_t *e);
/* A deep merge: keys of `over` win, mappings merge recursively. Nodes are
 * shared, never modified. */
parry_sigma_node_t *sg_yaml_merge(parry_arena_t *a, const parry_sigma_node_t *base,
                                  const parry_sigma_node_t *over);
/* A mapping without key `key` (shared nodes). */
parry_sigma_node_t *sg_yaml_without(parry_arena_t *a, const parry_sigma_node_t *map,
                                    const char *key);
bool sg_node_is(const parry_sigma_node_t *n, const char *text);

/* ---- Sigma strings: a value as tokens (pattern.c) ---- */
enum { SG_TOK_STAR = 256, SG_TOK_QMARK = 257, SG_TOK_DASH = 258 };
typedef struct {
  uint16_t *t; /* 0..255 a literal byte, else SG_TOK_* */
  size_t n;
} sg_sstr_t;

/* Parse `s` with the spec's escapes (\* \? \\) into tokens. */
sg_sstr_t sg_sstr_parse(parry_arena_t *a, const char *s, size_t len);
/* Literal bytes only, no wildcards. */
sg_sstr_t sg_sstr_plain(parry_arena_t *a, const char *s, size_t len);
bool sg_sstr_has_special(const sg_sstr_t *s);

/* transform.c: token strings to token strings (see there) */
typedef struct {
  sg_sstr_t *v;
  size_t n, cap;
} sg_sstrs_t;
void sg_sstrs_push(sg_sstrs_t *l, sg_sstr_t s);
uint8_t *sg_sstr_bytes(parry_arena_t *a, const sg_sstr_t *s);
sg_sstr_t sg_tr_stars(parry_arena_t *a, const sg_sstr_t *s, bool lead, bool trail);
sg_sstr_t sg_tr_windash(parry_arena_t *a, const sg_sstr_t *s);
/* windash classes replaced by each concrete dash (before an encoder) */
int sg_tr_dash_forms(parry_arena_t *a, const sg_sstr_t *s, sg_sstrs_t *out, struct sg_err *e,
                     const parry_sigma_node_t *at);
sg_sstr_t sg_tr_utf16(parry_arena_t *a, const sg_sstr_t *s, bool be, bool bom);
sg_sstr_t sg_tr_base64(parry_arena_t *a, const sg_sstr_t *s); /* s without wildcards */
void sg_tr_base64offset(parry_arena_t *a, const sg_sstr_t *s, sg_sstrs_t *out);

/* A compiled string matcher. Literals are lowered when !cased. */
enum { SG_PAT_EXACT, SG_PAT_PREFIX, SG_PAT_SUFFIX, SG_PAT_CONTAINS, SG_PAT_ANY, SG_PAT_GLOB };
typedef struct {
  uint8_t kind;
  bool cased;
  const uint16_t *tok; /* GLOB: tokens, literals lowered when !cased */
  size_t n_tok;
  const char *lit;     /* EXACT..CONTAINS: the literal */
  size_t lit_len;
  uint32_t lit_id;     /* prefilter literal every match contains, or SG_NO_LIT */
  bool lit_decides;    /* a case-insensitive `*lit*` whose whole (ASCII) literal is
                          lit_id: the automaton's hit is the answer */
} sg_pattern_t;

#define SG_NO_LIT UINT32_MAX

sg_pattern_t sg_pattern_compile(parry_arena_t *a, const sg_sstr_t *s, bool cased);
/* `text` must be lowered already when !p->cased. */
bool sg_pattern_match(const sg_pattern_t *p, const char *text, size_t len);
/* The longest run of literal bytes (lowered) in the pattern; len 0 if none. */
void sg_pattern_best_literal(const sg_pattern_t *p, const char **lit, size_t *len,
                             parry_arena_t *a);

static inline char sg_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ---- compiled detection ---- */
#define SG_SLOT_KEYWORD UINT32_MAX

enum {
  SG_V_PATTERN, /* alts: OR-linked string patterns */
  SG_V_REGEX,
  SG_V_CIDR,
  SG_V_NUM,     /* compare with num (op) */
  SG_V_BOOL,
  SG_V_NULL,
  SG_V_FIELDREF,
  SG_V_NEVER,   /* unknown placeholder under the no-match policy */
};
enum { SG_CMP_EQ, SG_CMP_LT, SG_CMP_LTE, SG_CMP_GT, SG_CMP_GTE };
enum { SG_TIME_NONE, SG_TIME_MINUTE, SG_TIME_HOUR, SG_TIME_DAY, SG_TIME_WEEK, SG_TIME_MONTH,
       SG_TIME_YEAR };

typedef struct {
  uint8_t kind;
  uint8_t cmp;      /* SG_V_NUM */
  uint8_t family;   /* SG_V_CIDR: 4 or 6 */
  uint8_t prefix;   /* SG_V_CIDR */
  bool is_int;      /* SG_V_NUM: i holds the value, else d */
  bool b;           /* SG_V_BOOL */
  uint8_t ref_pos;  /* SG_V_FIELDREF: SG_PAT_EXACT/PREFIX/SUFFIX/CONTAINS */
  bool cased;       /* SG_V_FIELDREF */
  uint32_t n_alts;
  sg_pattern_t *alts;
  void *re;         /* pcre2_code */
  uint8_t addr[16];
  int64_t i;
  double d;
  const char *text; /* SG_V_NUM: the rule's text, lowered; SG_V_REGEX: its literal */
  size_t text_len;
  uint32_t ref_slot;
  uint32_t lit_id;  /* SG_V_REGEX: prefilter literal, or SG_NO_LIT */
} sg_value_t;

#define SG_T_ALL 0x1u
#define SG_T_NEQ 0x2u

typedef struct {
  uint32_t slot;        /* field slot, or SG_SLOT_KEYWORD */
  uint8_t flags;        /* SG_T_* */
  uint8_t time_part;    /* SG_TIME_* */
  int8_t exists;        /* -1 not an exists test, else the wanted presence */
  bool any_cased;       /* some value matches case-sensitively */
  uint32_t n_values;
  sg_value_t *values;
} sg_test_t;

enum { SG_E_AND, SG_E_OR, SG_E_NOT, SG_E_TRUE, SG_E_FALSE, SG_E_TEST };
typedef struct sg_expr sg_expr_t;
struct sg_expr {
  uint8_t op;
  uint32_t n;
  sg_expr_t **kids;
  sg_test_t *test;
};

/* ---- the ruleset ---- */
typedef struct {
  const char *name;   /* as the rule writes it */
  const char **cands; /* event paths tried in order */
  uint32_t n_cands;
  uint32_t *cand_hash, *cand_len; /* sg_evkey of each candidate, or NULL */
  struct sg_ac *ac;   /* prefilter literals on this field, or NULL */
} sg_slot_t;

typedef struct {
  parry_sigma_rule_info_t info;
  sg_expr_t *expr;
  uint32_t bucket;
  uint32_t *filters;
  uint32_t n_filters;
  uint32_t *lits;     /* prefilter: one of these literals must be seen */
  uint32_t n_lits;
  bool always;        /* no prefilter requirement */
} sg_rule_t;

typedef struct {
  const char *id, *name, *title, *file;
  uint32_t line;
  const char *product, *service, *category;
  bool any_rule;
  const char **refs;
  size_t n_refs;
  sg_expr_t *expr;
  const parry_sigma_node_t *document;
} sg_filter_t;

typedef struct {
  const char *product, *service, *category; /* NULL: any */
  uint32_t *rules, n_rules;
  uint32_t *always, n_always;
  uint32_t *scan_slots, n_scan_slots;
  bool scan_keywords;
} sg_bucket_t;

typedef struct {
  uint32_t slot; /* or SG_SLOT_KEYWORD */
  const char *bytes;
  uint32_t len;
  uint32_t *rules, n_rules, cap_rules;
} sg_lit_t;

typedef struct sg_hash sg_hash_t; /* string -> uint32 (hash.c) */

struct parry_sigma_ruleset {
  parry_arena_t arena;

  sg_rule_t *rules;
  size_t n_rules, cap_rules;
  parry_sigma_correlation_t *corrs;
  size_t n_corrs, cap_corrs;
  sg_filter_t *filters;
  size_t n_filters, cap_filters;

  sg_slot_t *slots;
  size_t n_slots, cap_slots;
  sg_hash_t *slot_index;
  sg_hash_t *rule_index; /* id and name -> rule */

  sg_bucket_t *buckets;
  size_t n_buckets;

  sg_lit_t *lits;
  size_t n_lits, cap_lits;
  sg_hash_t *lit_index;
  struct sg_ac *kw_ac;
  bool any_keyword_test;

  void **regexes; /* pcre2_code * */
  size_t n_regexes, cap_regexes;

  /* options, copied */
  parry_sigma_level_t min_level;
  parry_sigma_placeholder_policy_t unknown_placeholder;
  parry_sigma_placeholder_t *placeholders;
  size_t n_placeholders;
  parry_sigma_field_map_t *field_map;
  size_t n_field_map;
  const char **prefixes;
  size_t n_prefixes;
  bool ignore_logsource, report_filtered, no_prefilter;
};

/* hash.c: string keys (copied into the ruleset arena) to values */
sg_hash_t *sg_hash_new(void);
void sg_hash_free(sg_hash_t *h);
bool sg_hash_get(const sg_hash_t *h, const char *key, size_t len, uint32_t *val);
/* Insert; returns false (and leaves it) if the key exists. */
bool sg_hash_put(sg_hash_t *h, parry_arena_t *a, const char *key, size_t len, uint32_t val);

/* grow an array by one element, aborting on overflow */
void *sg_grow(void *arr, size_t *cap, size_t n, size_t elem);

/* compile.c */
typedef struct {
  parry_sigma_ruleset_t *rs;
  const char *file;
  void **regexes; /* compiled for this document; freed if it is rejected */
  size_t n_regexes, cap_regexes;
  size_t n_values;
} sg_cc_t;

/* Compile the search identifiers of `det` (a mapping; `skip` names keys that
 * are not identifiers) and `cond` (a string or list of strings) into one
 * expression. */
sg_expr_t *sg_compile_detection(sg_cc_t *cc, const parry_sigma_node_t *det,
                                const parry_sigma_node_t *cond, const char *const *skip,
                                size_t n_skip, sg_err_t *e);
uint32_t sg_slot_intern(parry_sigma_ruleset_t *rs, const char *name, size_t len);
/* Adopt or free the regexes a document compiled. */
void sg_cc_commit(sg_cc_t *cc);
void sg_cc_abort(sg_cc_t *cc);

/* modifiers.c: a number as YAML 1.2 core writes it (decimal, 0x, 0o, float),
 * the whole text and nothing else */
bool sg_parse_number(const char *s, size_t len, bool *is_int, int64_t *i, double *d);

/* modifiers.c: one `field|mods: values` item into a test */
sg_test_t *sg_compile_item(sg_cc_t *cc, const parry_sigma_node_t *key_node, const char *key,
                           const parry_sigma_node_t *values, sg_err_t *e);

/* transform.c: %name% placeholders of raw text into raw texts. Returns -1
 * on error, 1 when the value matches nothing (no-match policy, or a
 * placeholder without values), else 0. */
int sg_tr_expand(sg_cc_t *cc, const parry_sigma_node_t *at, const char *s, size_t len,
                 sg_sstrs_t *raw, sg_err_t *e);

/* regex.c */
void *sg_regex_compile(sg_cc_t *cc, const parry_sigma_node_t *at, const char *re, size_t len,
                       uint32_t flags, sg_err_t *e);
#define SG_RE_I 0x1u
#define SG_RE_M 0x2u
#define SG_RE_S 0x4u
/* A literal every match must contain (lowered), or len 0. */
void sg_regex_literal(parry_arena_t *a, const char *re, size_t len, const char **lit,
                      size_t *lit_len);
void sg_regex_free(void *code);

/* condition.c: the condition grammar, as an AST over identifier names */
enum { SG_C_AND, SG_C_OR, SG_C_NOT, SG_C_ID, SG_C_ONE_OF, SG_C_ALL_OF };
typedef struct sg_cond sg_cond_t;
struct sg_cond {
  uint8_t op;
  sg_cond_t *a, *b;     /* AND/OR: a b; NOT: a */
  const char *name;     /* ID: the identifier; *_OF: the pattern, NULL = them */
  uint32_t column;      /* 1-based in the condition text */
};
sg_cond_t *sg_cond_parse(parry_arena_t *a, const char *text, size_t len, char *err,
                         size_t err_size);
/* `*` wildcards only */
bool sg_name_glob(const char *pat, const char *name);

/* rule.c: metadata */
int sg_rule_meta(parry_arena_t *a, const parry_sigma_node_t *doc, parry_sigma_rule_info_t *info,
                 sg_err_t *e);
const char *sg_scalar_or_null(const parry_sigma_node_t *n);

/* filters.c */
int sg_filter_load(sg_cc_t *cc, const parry_sigma_node_t *doc, const char *file, sg_err_t *e);
void sg_filters_attach(parry_sigma_ruleset_t *rs, parry_sigma_report_t *report);

/* load.c: a whole file, NUL-terminated, malloc'd; at most SG_MAX_FILE_SIZE */
int sg_read_file(const char *path, char **out, size_t *len, char *err, size_t err_size);

/* options.c: option tables */
int sg_options_copy(parry_sigma_ruleset_t *rs, const parry_sigma_options_t *o, char *errstr,
                    size_t errstr_size);

/* logsource.c / prefilter.c */
void sg_logsource_build(parry_sigma_ruleset_t *rs);
/* Does an event's logsource attribute `have` fit a rule's `want` (NULL:
 * any)? Ignoring case; for category, umbrella categories fit their members. */
bool sg_logsource_fits(const char *want, const char *have, bool category);
void sg_prefilter_build(parry_sigma_ruleset_t *rs);

/* ac.c: Aho-Corasick over lowered bytes */
typedef struct sg_ac sg_ac_t;
typedef struct sg_ac_builder sg_ac_builder_t;
sg_ac_builder_t *sg_ac_builder_new(void);
void sg_ac_builder_add(sg_ac_builder_t *b, const char *lit, size_t len, uint32_t id);
sg_ac_t *sg_ac_build(sg_ac_builder_t *b); /* frees the builder */
void sg_ac_free(sg_ac_t *ac);
typedef void (*sg_ac_hit_fn)(void *ctx, uint32_t id);
void sg_ac_scan(const sg_ac_t *ac, const char *text, size_t len, sg_ac_hit_fn fn, void *ctx);
size_t sg_ac_memory(const sg_ac_t *ac);
/* true: scanning text finds what scanning its sg_lower'ed copy finds */
bool sg_ac_folds(const sg_ac_t *ac);
void sg_ac_scan_cstr(const sg_ac_t *ac, const char *text, sg_ac_hit_fn fn, void *ctx);

/* evindex.c: parry_event_get's answers, with the top-level `fields` keys
 * hashed once per event (reset `built` for each event) */
typedef struct {
  uint32_t hash, len;
  const char *key;
  const Parry__V1__Value *value;
} sg_evcell_t;
typedef struct {
  sg_evcell_t *cells;
  size_t cap, mask;
  bool built;
} sg_evindex_t;
void sg_evindex_init(sg_evindex_t *x);
void sg_evindex_free(sg_evindex_t *x);
parry_field_kind_t sg_event_get(sg_evindex_t *x, const Parry__V1__Event *ev, const char *path,
                                parry_field_t *out);
/* the same with the path's key made once: sg_evkey gives its hash (0: not a
 * plain top-level name, answered by parry_event_get) and length */
uint32_t sg_evkey(const char *path, uint32_t *len);
parry_field_kind_t sg_event_get_key(sg_evindex_t *x, const Parry__V1__Event *ev, const char *path,
                                    uint32_t hash, uint32_t len, parry_field_t *out);

/* report.c */
void sg_report_reject(parry_sigma_report_t *r, const char *file, const char *rule,
                      const sg_err_t *e);

#endif
