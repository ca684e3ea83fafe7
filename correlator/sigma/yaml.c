/* Sigma's reading of YAML: the shared tree (parry/yaml_tree.h) with the
 * full core schema, unique keys and the SG_MAX_YAML_* caps, its errors as
 * reject reasons; and the tree operations that Sigma 1.x rule collections
 * need (action: global / repeat). */
#include <stdio.h>
#include <string.h>

#include "sigma/sigma_int.h"

static const parry_yaml_options_t sigma_yaml = {
    .max_depth = SG_MAX_YAML_DEPTH,
    .max_nodes = SG_MAX_YAML_NODES,
    .core_schema = true,
    .unique_keys = true,
};

static parry_sigma_reject_reason_t reason_of(parry_yaml_errcode_t code) {
  switch (code) {
    case PARRY_YAML_ERR_SYNTAX:
    case PARRY_YAML_ERR_DUP_KEY: return PARRY_SIGMA_REJECT_YAML;
    case PARRY_YAML_ERR_ALIAS:
    case PARRY_YAML_ERR_KEY: return PARRY_SIGMA_REJECT_UNSUPPORTED;
    case PARRY_YAML_ERR_DEPTH:
    case PARRY_YAML_ERR_NODES: return PARRY_SIGMA_REJECT_LIMIT;
    default: return PARRY_SIGMA_REJECT_INTERNAL;
  }
}

int sg_yaml_parse(parry_arena_t *a, const char *text, size_t len, sg_yaml_file_t *out,
                  sg_err_t *e) {
  parry_yaml_error_t ye;
  if (parry_yaml_parse(a, text, len, &sigma_yaml, out, &ye)) return 0;
  e->reason = reason_of(ye.code);
  if (ye.code != PARRY_YAML_ERR_INIT) e->line = ye.line, e->column = ye.column;
  snprintf(e->msg, sizeof e->msg, "%s", ye.msg);
  return -1;
}

const parry_sigma_node_t *parry_sigma_node_get(const parry_sigma_node_t *map, const char *key) {
  return parry_yaml_get(map, key);
}

bool sg_node_is(const parry_sigma_node_t *n, const char *text) {
  return n && n->kind == PARRY_SIGMA_NODE_SCALAR && !strcmp(n->text, text);
}

parry_sigma_node_t *sg_yaml_merge(parry_arena_t *a, const parry_sigma_node_t *base,
                                  const parry_sigma_node_t *over) {
  if (!base || base->kind != PARRY_SIGMA_NODE_MAPPING || !over ||
      over->kind != PARRY_SIGMA_NODE_MAPPING)
    return (parry_sigma_node_t *)over;
  parry_sigma_node_t *m = parry_arena_new(a, parry_sigma_node_t, 1);
  *m = *base;
  m->line = over->line;
  m->column = over->column;
  m->items = parry_arena_new(a, parry_sigma_node_t *, 2 * (base->n + over->n) + 1);
  size_t n = 0;
  for (size_t i = 0; i < base->n; i++) {
    const parry_sigma_node_t *k = base->items[2 * i];
    const parry_sigma_node_t *ov = parry_sigma_node_get(over, k->text);
    m->items[2 * n] = (parry_sigma_node_t *)k;
    m->items[2 * n + 1] = ov ? sg_yaml_merge(a, base->items[2 * i + 1], ov) : base->items[2 * i + 1];
    n++;
  }
  for (size_t i = 0; i < over->n; i++) {
    const parry_sigma_node_t *k = over->items[2 * i];
    if (parry_sigma_node_get(base, k->text)) continue;
    m->items[2 * n] = (parry_sigma_node_t *)k;
    m->items[2 * n + 1] = over->items[2 * i + 1];
    n++;
  }
  m->n = n;
  return m;
}

parry_sigma_node_t *sg_yaml_without(parry_arena_t *a, const parry_sigma_node_t *map,
                                    const char *key) {
  parry_sigma_node_t *m = parry_arena_new(a, parry_sigma_node_t, 1);
  *m = *map;
  m->items = parry_arena_new(a, parry_sigma_node_t *, 2 * map->n + 1);
  size_t n = 0;
  for (size_t i = 0; i < map->n; i++) {
    if (!strcmp(map->items[2 * i]->text, key)) continue;
    m->items[2 * n] = map->items[2 * i];
    m->items[2 * n + 1] = map->items[2 * i + 1];
    n++;
  }
  m->n = n;
  return m;
}
