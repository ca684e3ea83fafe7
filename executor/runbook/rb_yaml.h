/* The runbook loader's YAML tree (yaml.c): nodes with positions. */
#ifndef PARRY_RUNBOOK_YAML_H
#define PARRY_RUNBOOK_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/arena.h"

#define RY_MAX_DEPTH 32
#define RY_MAX_NODES 20000

typedef enum { RY_SCALAR, RY_SEQ, RY_MAP } ry_kind_t;
typedef enum { RY_NULL, RY_BOOL, RY_INT, RY_FLOAT, RY_STRING } ry_scalar_t;
typedef enum { RY_PLAIN, RY_SINGLE, RY_DOUBLE, RY_LITERAL, RY_FOLDED } ry_style_t;

typedef struct ry_node ry_node_t;
struct ry_node {
  ry_kind_t kind;
  ry_scalar_t scalar; /* RY_SCALAR */
  ry_style_t style;   /* RY_SCALAR */
  bool has_nul;       /* the scalar's text holds a NUL byte */
  uint32_t line, column;
  const char *text; /* RY_SCALAR, NUL-terminated */
  size_t len;
  ry_node_t **items; /* SEQ: n items; MAP: key, value pairs (n pairs) */
  size_t n;
};

typedef struct {
  uint32_t line, column;
  char msg[200];
} ry_error_t;

/* Parse every document of text into *docs (malloc'd array, nodes in a). */
bool ry_parse(parry_arena_t *a, const char *text, size_t len, ry_node_t ***docs, size_t *n_docs,
              ry_error_t *e);
const ry_node_t *ry_get(const ry_node_t *map, const char *key);

#endif
