/* The Sigma detection engine: stage 1 of the correlator.
 *
 * Load Sigma rules (detection rules, filters, and -- kept for stage 2 --
 * correlation rules) from files and folders, compile them once, and match
 * normalized Events against every rule whose logsource fits the event.
 *
 * Rule language: Sigma specification v2 (sigma-rules-specification.md, the
 * modifiers appendix and the filters specification, all v2.1.0). What is
 * supported, and the exact matching semantics, is below; anything a rule
 * uses that is not supported rejects that rule with a reason naming the
 * file, the line and the field -- never silently half-matches.
 *
 * Files and documents
 * -------------------
 * A path is a file or a folder; folders are walked recursively in name order
 * (entries starting with '.' skipped, symlinked folders not followed), taking
 * files ending in .yml or .yaml. A file may hold several YAML documents:
 *   - `action: global` makes the document a template deep-merged under every
 *     later document of the file (the later document's keys win; maps merge
 *     key by key); `action: reset` drops the template; `action: repeat`
 *     repeats the previous rule with this document merged over it. Any other
 *     action rejects the document. (These are Sigma 1.x rule collections.)
 *   - a document with `correlation` is a correlation rule: kept, with its
 *     YAML tree, for stage 2 (parry_sigma_correlation), counted as
 *     "correlation, not yet evaluated", never an error;
 *   - a document with `filter` (and no `detection`) is a Sigma filter;
 *   - anything else must be a detection rule: `title`, `logsource` and
 *     `detection` with `condition` are required.
 * Every rule attribute is parsed, type-checked and kept (parry_sigma_rule_info_t),
 * and the whole document stays available as a YAML tree for custom fields.
 * YAML aliases are rejected (no rule needs them; they would allow expansion
 * bombs). A YAML syntax error rejects the rest of its file. Two rules with the
 * same id (or name) reject the second. Caps (SG_MAX_* in sigma_int.h) bound
 * file size, YAML depth and node count, condition length and nesting, values
 * per rule after expansion, regex length, and placeholder expansion; hitting
 * one rejects the rule with reason "limit".
 *
 * Values
 * ------
 * Strings match case-insensitively (ASCII letters; other bytes exactly)
 * unless `cased`. A whole value must match the whole field unless
 * `contains`, `startswith` or `endswith` (or wildcards) say otherwise.
 * Wildcards: `*` any run of characters, `?` exactly one character (one UTF-8
 * code point). Escapes exactly as the spec's table: `\*` and `\?` are literal
 * wildcard characters, `\\` is one backslash, and a backslash before any
 * other character (or at the end) is itself ("C:\Windows" needs no escaping;
 * `\\*` is a backslash then a wildcard; `\\\*` a backslash then a star;
 * `\\\\` two backslashes).
 * Types: YAML 1.2 core resolution of plain scalars (quoted scalars are always
 * strings): null/~/empty, true/false, integers (decimal, 0x hex, 0o octal),
 * floats. A number in a rule matches an event value that is the same number:
 * an event number, or an event string that as a whole parses as one (same
 * syntax), or an event string equal to the rule's own text ignoring case;
 * so `EventID: 4625` matches 4625 and "4625", and `Status: 0xC000006D`
 * matches 3221225581 and "0xc000006d". A quoted string matches by text (an
 * event number by its JSON text), so '4625' also matches the integer 4625. `true`/`false` match booleans and
 * the strings "true"/"false" in any case. `null` matches when the field is
 * absent or JSON null ("not null" is `not` of such a selection, as the spec
 * says; a null inside a list of values, which the spec calls invalid, is
 * accepted as one more alternative); '' matches only an empty string.
 * Multi-valued fields (JSON lists, event.category) match when any element
 * matches; a map-valued field matches nothing but `exists`.
 * Lists of values are OR-linked, or AND-linked with `all` (each value may
 * match a different element of a list field). `all` on a single value is
 * accepted (it means the same).
 *
 * Modifiers, applied in the order written:
 *   contains startswith endswith  add `*` around / after / before
 *   all                           values AND-linked
 *   cased                         case-sensitive
 *   re, with i m s                PCRE2 (JIT), case-sensitive unless i; m:
 *                                 ^ $ per line; s: dot matches newline. Not
 *                                 combinable with string-shaping modifiers.
 *                                 A search (unanchored), as the spec's
 *                                 backends do. Byte mode: `.` is one byte
 *                                 and i folds ASCII, like every other string
 *                                 here. Full PCRE syntax is accepted (a
 *                                 superset of the appendix's flavour).
 *                                 Aliases ignorecase, multiline, dotall.
 *                                 A match that hits the match limit counts
 *                                 as no match (stats.regex_errors).
 *   base64                        the value's bytes Base64-encoded
 *   base64offset                  the three Base64 forms of the value at
 *                                 offsets 0, 1, 2 (leading and trailing
 *                                 partial characters cut), OR-linked
 *   utf16le (wide), utf16be,      the value's characters re-encoded
 *   utf16 (BOM FF FE + LE)        (then usually base64offset)
 *                                 Encoders reject values with wildcards.
 *   windash                       every '-' or '/' (or en dash, em dash,
 *                                 horizontal bar) that starts a word (not
 *                                 preceded by a letter, digit or '_', and
 *                                 followed by one) matches any of those five
 *                                 characters. Implemented as a character class,
 *                                 so no permutation blow-up; before an encoder
 *                                 it is expanded (at most 256 forms).
 *   exists                        value true/false: the field is (not) present,
 *                                 whatever its value, null included
 *   neq                           the field is present and equals none of the
 *                                 values (with other modifiers: matches none)
 *   lt lte gt gte                 numeric comparison; the event value must be
 *                                 a number or a string holding one
 *   cidr                          IPv4 or IPv6 network; an event address of
 *                                 the other family never matches, except that
 *                                 IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4
 *   expand                        %name% placeholders from the caller's table
 *                                 (parry_sigma_options_t), each value of the
 *                                 placeholder an OR-linked alternative parsed
 *                                 as a Sigma string; `\%` is a plain percent.
 *                                 An unknown placeholder rejects the rule, or,
 *                                 by option, matches nothing or matches `*`.
 *   fieldref                      compare with another field of the same event
 *                                 (combinable with contains/startswith/
 *                                 endswith, cased, neq)
 *   minute hour day week month    the field (a time: @timestamp or an RFC 3339
 *   year                          string) reduced to that number (UTC; week is
 *                                 ISO 8601) before comparing, with lt..gte
 * Unknown modifiers, and combinations that make no sense (re|contains,
 * exists with anything, i without re), reject the rule.
 *
 * Keywords (values without a field: a list of strings, or a '|mod' key):
 * a keyword matches when it is contained in (or, with its own modifiers,
 * matches) the event's `message` or any other string value of the event,
 * typed or in `fields` at any depth. Without a string-shaping modifier a
 * keyword is a `contains`, as in a full-text search.
 *
 * Condition
 * ---------
 * and, or, not, brackets, `1 of X`, `any of X`, `all of X` where X is `them`
 * (every search identifier not starting with '_') or a name pattern with `*`
 * wildcards; precedence not > and > or; keywords case-insensitive. A pattern
 * that names no identifier, an unknown identifier, or an aggregation
 * (`| count() ...`, `near`: deprecated in v2, use correlation rules) rejects
 * the rule. A list of conditions is OR-linked.
 *
 * Logsource rule
 * --------------
 * A rule applies to an event when every logsource attribute the rule names
 * (product, service, category) equals the event's (`logsource` recorded by
 * the ingestor; case-insensitive); attributes the rule leaves out are
 * wildcards. An event without a logsource attribute that the rule names is
 * not matched. One umbrella from the taxonomy: a rule on category
 * registry_event also applies to events of category registry_add,
 * registry_delete, registry_set and registry_rename (the Windows parser
 * records the specific one). `definition` and custom logsource keys are
 * kept, not matched. (Option ignore_logsource evaluates every rule against
 * every event.) Example: a rule {category: process_creation, product:
 * windows} applies to a Sysmon 1 event {windows, sysmon, process_creation}
 * and to a Security 4688 event {windows, security, process_creation}, not to
 * {windows, security} nor {linux, -, process_creation}.
 *
 * Field lookup rule
 * -----------------
 * A rule's field name is resolved per event, first hit wins:
 *   1. the caller's field map (rule field -> one or more event fields, in
 *      order) when it names the field, and then only those;
 *   2. otherwise the name itself through parry_event_get: an ECS dotted name
 *      ("source.ip") finds the typed or nested ECS field, a vendor name
 *      ("EventID", "CommandLine") the vendor field the parser kept;
 *   3. then each configured fallback prefix + name ("winlog.event_data.").
 * Each distinct field is looked up once per event and cached.
 *
 * Filters
 * -------
 * A filter document (filters specification; pySigma's semantics) has
 * `logsource` and `filter: {rules, <search identifiers>, condition}`. It
 * applies to a detection rule when the filter's logsource contains the
 * rule's (each attribute the filter names fits the rule's, by the logsource
 * rule above) and `rules` lists the rule's id or name, or is `any`/`all`/
 * empty (a filter per logsource). The rule then
 * matches only when its own condition AND the filter's condition hold: a
 * filter that removes known-good events says `condition: not selection`.
 * Filters are loaded from the rule paths and from options.filter_paths.
 *
 * Levels
 * ------
 * informational < low < medium < high < critical. A match of a rule below
 * options.min_level is still returned, flagged PARRY_SIGMA_MATCH_BELOW_MIN_LEVEL,
 * and counted; callers raise no alert for it. A rule without a level is
 * below every min_level except informational.
 *
 * Performance design
 * ------------------
 * - Rules are grouped by logsource triple; an event's applicable groups are
 *   found once per distinct logsource (a small per-matcher cache).
 * - Prefilter: for every rule the compiler derives a set of (field, literal)
 *   pairs at least one of which must occur (lower-cased) in the event for
 *   the rule to match (from contains/startswith/endswith/exact values,
 *   encoders and simple regexes; AND picks the most selective child, OR
 *   unites; NOT, numbers and the like give no requirement). All literals of
 *   one field -- of every pattern on it, required or not -- form one
 *   Aho-Corasick automaton, a dense DFA over byte classes, that scans that
 *   field's lower-cased text once per event; only rules whose literal was
 *   seen, plus rules without a requirement, are evaluated. Literals are cut
 *   to their last 12 bytes and bytes >= 0x80 share four classes, which keeps
 *   the automata of the whole SigmaHQ corpus near 40 MB (a superset of hits
 *   is all a prefilter needs). Measured against Hyperscan 5.4 on the
 *   corpus' CommandLine literals (9,733) over real command lines: this
 *   automaton 148 MB/s, hs_scan 40 MB/s (block mode, SINGLEMATCH), so no
 *   Hyperscan dependency.
 * - Evaluation skips every pattern whose literal the scan did not see, and
 *   a case-insensitive `*literal*` of at most 12 ASCII bytes is answered by
 *   the scan alone; so a rule listing 4,000 hashes costs 4,000 array reads,
 *   not 4,000 substring searches.
 * - Values compile to exact/prefix/suffix/substring/glob matchers over
 *   pre-lowered text; regexes are PCRE2-JIT compiled once and matched with a
 *   per-matcher match data and JIT stack under match limits.
 * - Field lookup: each distinct field once per event, cached; plain vendor
 *   names through a hash of the event's top-level keys built once per event
 *   (same answers as parry_event_get, evindex.c).
 * - No allocation per event on the hot path: a matcher owns an arena reset
 *   per event and per-field caches stamped with an event generation.
 * - Option no_prefilter turns all of this off (every applicable rule, every
 *   pattern tried): the reference the tests and the fuzzer compare against.
 *
 * Threads: a ruleset is immutable after load and may be shared by any number
 * of threads; a matcher belongs to one thread at a time.
 */
#ifndef PARRY_SIGMA_H
#define PARRY_SIGMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parry/error.h"
#include "parry/yaml_tree.h"
#include "proto/parry.pb-c.h"

typedef struct parry_sigma_ruleset parry_sigma_ruleset_t;
typedef struct parry_sigma_matcher parry_sigma_matcher_t;

/* ---- YAML documents, kept for custom fields and for correlation rules ---- */

/* The tree is the shared one (parry/yaml_tree.h), read with the full YAML 1.2
 * core schema (quoted scalars are strings; tags !!int etc. are honoured) and
 * unique scalar keys. The names below are the Sigma API's spelling of it. */
typedef parry_yaml_kind_t parry_sigma_node_kind_t;
#define PARRY_SIGMA_NODE_SCALAR PARRY_YAML_SCALAR
#define PARRY_SIGMA_NODE_SEQUENCE PARRY_YAML_SEQUENCE
#define PARRY_SIGMA_NODE_MAPPING PARRY_YAML_MAPPING

typedef parry_yaml_scalar_t parry_sigma_scalar_t;
#define PARRY_SIGMA_SCALAR_STRING PARRY_YAML_STRING
#define PARRY_SIGMA_SCALAR_NULL PARRY_YAML_NULL
#define PARRY_SIGMA_SCALAR_BOOL PARRY_YAML_BOOL
#define PARRY_SIGMA_SCALAR_INT PARRY_YAML_INT
#define PARRY_SIGMA_SCALAR_FLOAT PARRY_YAML_FLOAT

/* kind, scalar, quoted, line, column (1-based), text (NUL-terminated), len,
 * n (sequence items or mapping pairs), items (mapping: key i at 2i, its value
 * at 2i+1, in document order). */
typedef parry_yaml_node_t parry_sigma_node_t;

/* The value of key `key` in a mapping, or NULL (also for non-mappings). */
const parry_sigma_node_t *parry_sigma_node_get(const parry_sigma_node_t *map, const char *key);

/* ---- options ---- */

typedef enum {
  PARRY_SIGMA_LEVEL_NONE = 0, /* rule without level; option: no threshold */
  PARRY_SIGMA_LEVEL_INFORMATIONAL,
  PARRY_SIGMA_LEVEL_LOW,
  PARRY_SIGMA_LEVEL_MEDIUM,
  PARRY_SIGMA_LEVEL_HIGH,
  PARRY_SIGMA_LEVEL_CRITICAL,
} parry_sigma_level_t;

/* "informational" .. "critical", "" for NONE. */
const char *parry_sigma_level_str(parry_sigma_level_t level);
/* Parse a level name; false if it is none of the five. */
bool parry_sigma_level_parse(const char *s, parry_sigma_level_t *out);

typedef struct {
  const char *name;          /* without the percent signs, matched ignoring case */
  const char *const *values; /* each a Sigma string (wildcards apply) */
  size_t n_values;
} parry_sigma_placeholder_t;

typedef enum {
  PARRY_SIGMA_PLACEHOLDER_REJECT = 0, /* the rule is rejected, naming it */
  PARRY_SIGMA_PLACEHOLDER_NO_MATCH,   /* the value matches nothing */
  PARRY_SIGMA_PLACEHOLDER_WILDCARD,   /* the placeholder becomes `*` */
} parry_sigma_placeholder_policy_t;

typedef struct {
  const char *field;          /* the name a rule uses */
  const char *const *targets; /* event fields tried in order */
  size_t n_targets;
} parry_sigma_field_map_t;

typedef struct {
  /* Matches of rules below this level are flagged, not dropped. */
  parry_sigma_level_t min_level;

  const parry_sigma_placeholder_t *placeholders;
  size_t n_placeholders;
  /* YAML file of placeholders, `name: [values]` (optionally under a top-level
   * `placeholders:` key); added to the table above. */
  const char *placeholders_path;
  parry_sigma_placeholder_policy_t unknown_placeholder;

  const parry_sigma_field_map_t *field_map;
  size_t n_field_map;
  /* YAML file, `RuleField: event.field` or `RuleField: [a, b]` (optionally
   * under `fieldmappings:`); entries here win over field_map. */
  const char *field_map_path;
  /* Prefixes tried after the plain name, e.g. "winlog.event_data.". */
  const char *const *field_prefixes;
  size_t n_field_prefixes;

  /* More files or folders of filter documents. */
  const char *const *filter_paths;
  size_t n_filter_paths;

  bool ignore_logsource; /* every rule applies to every event */
  bool report_filtered;  /* also return matches a filter removed, flagged */
  bool no_prefilter;     /* plain evaluation: no prefilter, no literal skips
                            (the reference for tests and fuzzing) */
} parry_sigma_options_t;

/* ---- load report ---- */

typedef enum {
  PARRY_SIGMA_REJECT_IO,          /* could not read the file */
  PARRY_SIGMA_REJECT_YAML,        /* YAML syntax */
  PARRY_SIGMA_REJECT_STRUCTURE,   /* missing or ill-typed rule attribute */
  PARRY_SIGMA_REJECT_CONDITION,   /* condition syntax, unknown identifier */
  PARRY_SIGMA_REJECT_MODIFIER,    /* unknown modifier or invalid combination */
  PARRY_SIGMA_REJECT_VALUE,       /* value invalid for its modifiers */
  PARRY_SIGMA_REJECT_REGEX,       /* regular expression does not compile */
  PARRY_SIGMA_REJECT_PLACEHOLDER, /* unknown placeholder */
  PARRY_SIGMA_REJECT_UNSUPPORTED, /* valid Sigma we deliberately do not run */
  PARRY_SIGMA_REJECT_DUPLICATE,   /* id or name already loaded */
  PARRY_SIGMA_REJECT_LIMIT,       /* over a size or expansion cap */
  PARRY_SIGMA_REJECT_INTERNAL,    /* a bug in the engine */
  PARRY_SIGMA_REJECT_N_REASONS
} parry_sigma_reject_reason_t;

const char *parry_sigma_reject_reason_str(parry_sigma_reject_reason_t r);

typedef struct {
  char *file;
  uint32_t line, column;       /* 0 when unknown */
  char *rule_id;               /* the document's id or title, may be NULL */
  parry_sigma_reject_reason_t reason;
  char *message;               /* "detection.selection: unknown modifier ..." */
} parry_sigma_rejection_t;

typedef struct {
  size_t files;
  size_t documents;
  size_t rules_loaded;
  size_t filters_loaded;
  size_t correlations;          /* kept, not yet evaluated */
  size_t rejected;              /* documents rejected (rules and filters) */
  size_t by_reason[PARRY_SIGMA_REJECT_N_REASONS];
  size_t filter_refs_unresolved; /* filter `rules` entries naming no rule */
  parry_sigma_rejection_t *rejections;
  size_t n_rejections;
} parry_sigma_report_t;

/* Frees what the report owns; the struct itself is the caller's. NULL ok. */
void parry_sigma_report_free(parry_sigma_report_t *report);
/* Counts by reason; with `details`, one line per rejection:
 * "file:line:col: reason: message". */
void parry_sigma_report_print(const parry_sigma_report_t *report, FILE *out, bool details);

/* ---- loading ---- */

/* Load every rule under `paths` (files or folders). Returns NULL only when
 * loading cannot proceed at all -- a path or an options file that does not
 * exist, an invalid option -- with the reason in errstr. Problems with
 * single rules are not errors: the rule is left out and listed in `report`
 * (may be NULL). The report is reset first; free it with
 * parry_sigma_report_free. A ruleset with zero rules is valid. */
parry_sigma_ruleset_t *parry_sigma_load(const char *const *paths, size_t n_paths,
                                        const parry_sigma_options_t *options,
                                        parry_sigma_report_t *report, char *errstr,
                                        size_t errstr_size);

/* The same from one in-memory "file" named `name` (tests, fuzzing, rules
 * that arrive over the network). */
parry_sigma_ruleset_t *parry_sigma_load_text(const char *name, const char *text, size_t len,
                                             const parry_sigma_options_t *options,
                                             parry_sigma_report_t *report, char *errstr,
                                             size_t errstr_size);

void parry_sigma_ruleset_destroy(parry_sigma_ruleset_t *rs);

/* ---- rules ---- */

typedef struct {
  const char *id;
  const char *type;
} parry_sigma_related_t;

typedef struct {
  const char *const *items;
  size_t n;
} parry_sigma_strings_t;

/* Everything a detection rule says. Strings are NULL when absent. Lists
 * given as one scalar in the rule are lists of one. */
typedef struct {
  const char *id, *name, *title, *status, *description, *license, *author;
  const char *date, *modified, *taxonomy;
  parry_sigma_strings_t references, tags, fields, falsepositives, scope;
  const parry_sigma_related_t *related;
  size_t n_related;
  parry_sigma_level_t level;
  struct {
    const char *product, *service, *category, *definition;
  } logsource;
  const char *file; /* as given in the path */
  uint32_t line;    /* where the document starts */
  const parry_sigma_node_t *document; /* the whole (merged) YAML document */
  bool alerting;   /* level >= options.min_level */
  size_t n_filters; /* filter documents applied to this rule */
} parry_sigma_rule_info_t;

size_t parry_sigma_rule_count(const parry_sigma_ruleset_t *rs);
/* Rule i (0 <= i < count); the pointer lives as long as the ruleset. */
const parry_sigma_rule_info_t *parry_sigma_rule_info(const parry_sigma_ruleset_t *rs, size_t i);
/* Find a rule by id or by name (the references correlation rules use). */
bool parry_sigma_rule_find(const parry_sigma_ruleset_t *rs, const char *id_or_name,
                           uint32_t *index);

/* Correlation rules (correlation specification), kept as parsed YAML for
 * stage 2, which compiles them against the detection rules above. */
typedef struct {
  const char *id, *name, *title;
  const char *file;
  uint32_t line;
  const parry_sigma_node_t *document;
} parry_sigma_correlation_t;

size_t parry_sigma_correlation_count(const parry_sigma_ruleset_t *rs);
const parry_sigma_correlation_t *parry_sigma_correlation(const parry_sigma_ruleset_t *rs,
                                                         size_t i);

/* ---- matching ---- */

#define PARRY_SIGMA_MATCH_BELOW_MIN_LEVEL 0x1u /* counted, raises no alert */
#define PARRY_SIGMA_MATCH_FILTERED 0x2u /* a filter removed it (report_filtered) */

typedef struct {
  uint32_t rule;  /* index for parry_sigma_rule_info */
  uint32_t flags; /* PARRY_SIGMA_MATCH_* */
} parry_sigma_match_t;

typedef struct {
  uint64_t events;
  uint64_t rules_evaluated;   /* full evaluations (after the prefilter) */
  uint64_t matches;           /* returned matches, below-level included */
  uint64_t below_min_level;
  uint64_t filtered;          /* matches a filter removed */
  uint64_t regex_errors;      /* match limit hit: counted as no match */
} parry_sigma_stats_t;

/* Per-thread scratch for matching against `rs`, which must outlive it. */
parry_sigma_matcher_t *parry_sigma_matcher_new(const parry_sigma_ruleset_t *rs);
void parry_sigma_matcher_destroy(parry_sigma_matcher_t *m);

/* Match one event. Returns the number of matches and points *out at them, in
 * ascending rule order; the array belongs to the matcher and is valid until
 * its next call. Never allocates in steady state. */
size_t parry_sigma_match(parry_sigma_matcher_t *m, const Parry__V1__Event *ev,
                         const parry_sigma_match_t **out);

void parry_sigma_matcher_stats(const parry_sigma_matcher_t *m, parry_sigma_stats_t *out);

#endif
