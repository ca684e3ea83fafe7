/* YAML text to a small tree of nodes with positions, through libyaml's event
 * parser. The Sigma loader (correlator/sigma) and the runbook loader
 * (executor/runbook) read their files with it.
 *
 * Why our own tree rather than libyaml's yaml_document_t: the nodes live in
 * the caller's arena (a loaded rule or runbook keeps its document for free),
 * every node keeps its line and column, scalars carry their resolved type,
 * and the caps on nesting and node count apply while building -- libyaml's
 * loader builds the whole document first. Aliases are refused: nothing we
 * read needs them, and they allow expansion bombs.
 */
#ifndef PARRY_YAML_TREE_H
#define PARRY_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/arena.h"

typedef enum {
  PARRY_YAML_SCALAR,
  PARRY_YAML_SEQUENCE,
  PARRY_YAML_MAPPING,
} parry_yaml_kind_t;

/* How a scalar resolved (see parry_yaml_options_t.core_schema). Quoted and
 * block scalars are strings unless a tag says otherwise. */
typedef enum {
  PARRY_YAML_STRING,
  PARRY_YAML_NULL,
  PARRY_YAML_BOOL,
  PARRY_YAML_INT,
  PARRY_YAML_FLOAT,
} parry_yaml_scalar_t;

/* How a scalar was written: where a character of its text stands in the
 * file depends on it. */
typedef enum {
  PARRY_YAML_PLAIN,
  PARRY_YAML_SINGLE_QUOTED,
  PARRY_YAML_DOUBLE_QUOTED,
  PARRY_YAML_LITERAL, /* | block */
  PARRY_YAML_FOLDED,  /* > block */
} parry_yaml_style_t;

typedef struct parry_yaml_node parry_yaml_node_t;
struct parry_yaml_node {
  parry_yaml_kind_t kind;
  parry_yaml_scalar_t scalar; /* scalars: resolved type */
  parry_yaml_style_t style;   /* scalars */
  uint32_t line, column;      /* 1-based position of the node's start */
  bool quoted;                /* scalars: written in quotes or as a block */
  bool has_nul;               /* scalars: the text holds a NUL byte ("\0") */
  const char *text;           /* scalars: NUL-terminated text */
  size_t len;
  size_t n;                   /* sequence items, or mapping pairs */
  parry_yaml_node_t **items;  /* sequence: n items; mapping: key i at 2i,
                                 its value at 2i+1, in document order */
};

/* What a reader of one format allows. */
typedef struct {
  uint32_t max_depth; /* nested collections */
  size_t max_nodes;   /* scalars and collections per text; 0: no cap */
  size_t max_events;  /* parser events per text (nodes, collection ends,
                         stream and document markers); 0: no cap */
  /* Plain scalars always resolve by the YAML 1.2 core schema's decimal forms
   * (null, true/false, 12, -1.5e3, ~). With core_schema also 0x1F and 0o17
   * (int), .inf and .nan (float), and the tags !!null, !!bool, !!int and
   * !!float are honoured (on quoted scalars too; a value that does not fit
   * its tag is a string). Without it a tag other than ! and !!str is
   * ignored, and 0x1F stays a string. */
  bool core_schema;
  /* Mapping keys must be scalars, each at most once per mapping (checked
   * when the mapping closes). Off: the reader checks keys itself. */
  bool unique_keys;
} parry_yaml_options_t;

typedef enum {
  PARRY_YAML_OK = 0,
  PARRY_YAML_ERR_INIT,    /* libyaml could not start */
  PARRY_YAML_ERR_SYNTAX,  /* not YAML */
  PARRY_YAML_ERR_ALIAS,   /* an alias (*name) */
  PARRY_YAML_ERR_DEPTH,   /* nested deeper than max_depth */
  PARRY_YAML_ERR_NODES,   /* more than max_nodes nodes or max_events events */
  PARRY_YAML_ERR_KEY,     /* unique_keys: a key that is not a scalar */
  PARRY_YAML_ERR_DUP_KEY, /* unique_keys: a key twice in one mapping */
} parry_yaml_errcode_t;

typedef struct {
  parry_yaml_errcode_t code;
  uint32_t line, column; /* 1-based; 0 for PARRY_YAML_ERR_INIT */
  char msg[256];         /* lower case, no final period, no position */
} parry_yaml_error_t;

typedef struct {
  parry_yaml_node_t **docs; /* malloc'd (free it); the nodes are in the arena */
  size_t n_docs;
} parry_yaml_docs_t;

/* Parse every document of text[0..len) into out, nodes allocated in a. An
 * empty document is a NULL scalar. Returns true, or false with *e set; the
 * documents completed before an error stay in out. out->docs must be freed
 * either way. */
bool parry_yaml_parse(parry_arena_t *a, const char *text, size_t len,
                      const parry_yaml_options_t *opt, parry_yaml_docs_t *out,
                      parry_yaml_error_t *e);

/* The value of the first scalar key `key` in a mapping, or NULL (also when
 * map is NULL or not a mapping). */
const parry_yaml_node_t *parry_yaml_get(const parry_yaml_node_t *map, const char *key);

#endif
