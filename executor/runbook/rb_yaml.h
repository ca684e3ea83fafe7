/* The runbook loader's YAML tree (yaml.c): the shared tree of
 * parry/yaml_tree.h, read the runbook way, under the short names load.c
 * uses. */
#ifndef PARRY_RUNBOOK_YAML_H
#define PARRY_RUNBOOK_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/arena.h"
#include "parry/yaml_tree.h"

typedef parry_yaml_node_t ry_node_t;
typedef parry_yaml_error_t ry_error_t; /* line, column, msg */

#define RY_SCALAR PARRY_YAML_SCALAR
#define RY_SEQ PARRY_YAML_SEQUENCE
#define RY_MAP PARRY_YAML_MAPPING

#define RY_NULL PARRY_YAML_NULL
#define RY_BOOL PARRY_YAML_BOOL
#define RY_INT PARRY_YAML_INT
#define RY_FLOAT PARRY_YAML_FLOAT
#define RY_STRING PARRY_YAML_STRING

#define RY_PLAIN PARRY_YAML_PLAIN
#define RY_SINGLE PARRY_YAML_SINGLE_QUOTED
#define RY_DOUBLE PARRY_YAML_DOUBLE_QUOTED
#define RY_LITERAL PARRY_YAML_LITERAL
#define RY_FOLDED PARRY_YAML_FOLDED

/* Parse every document of text into *docs (malloc'd array, nodes in a).
 * Scalars resolve by the core schema's decimal forms only (0x10 stays a
 * string); mapping keys are checked by load.c, which names the field. */
bool ry_parse(parry_arena_t *a, const char *text, size_t len, ry_node_t ***docs, size_t *n_docs,
              ry_error_t *e);

static inline const ry_node_t *ry_get(const ry_node_t *map, const char *key) {
  return parry_yaml_get(map, key);
}

#endif
