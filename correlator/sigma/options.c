/* Options into the ruleset: placeholder and field-map tables (from the
 * caller and from YAML files), fallback prefixes, flags. Everything is
 * copied into the ruleset arena, so the caller's options need not outlive
 * the load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

/* A scalar or a list of scalars as a string array in the arena. */
static int string_list(parry_arena_t *a, const parry_sigma_node_t *v, const char ***out,
                       size_t *n) {
  if (v->kind == PARRY_SIGMA_NODE_SCALAR) {
    *out = parry_arena_new(a, const char *, 1);
    (*out)[0] = v->text;
    *n = 1;
    return 0;
  }
  if (v->kind != PARRY_SIGMA_NODE_SEQUENCE) return -1;
  *out = parry_arena_new(a, const char *, v->n + 1);
  for (size_t i = 0; i < v->n; i++) {
    if (v->items[i]->kind != PARRY_SIGMA_NODE_SCALAR) return -1;
    (*out)[i] = v->items[i]->text;
  }
  *n = v->n;
  return 0;
}

/* Read `path` as a YAML mapping, optionally under `wrapper`. */
static const parry_sigma_node_t *load_table(parry_arena_t *a, const char *path,
                                            const char *wrapper, char *errstr,
                                            size_t errstr_size) {
  char *text = NULL;
  size_t len = 0;
  if (sg_read_file(path, &text, &len, errstr, errstr_size) < 0) return NULL;
  sg_yaml_file_t f;
  sg_err_t e = {0};
  int rc = sg_yaml_parse(a, text, len, &f, &e);
  free(text);
  const parry_sigma_node_t *root = f.n_docs ? f.docs[0] : NULL;
  free(f.docs);
  if (rc < 0) {
    snprintf(errstr, errstr_size, "%s:%u:%u: %s", path, e.line, e.column, e.msg);
    return NULL;
  }
  const parry_sigma_node_t *inner = parry_sigma_node_get(root, wrapper);
  if (inner) root = inner;
  if (!root || root->kind != PARRY_SIGMA_NODE_MAPPING) {
    snprintf(errstr, errstr_size, "%s: expected a mapping", path);
    return NULL;
  }
  return root;
}

static int copy_placeholders(parry_sigma_ruleset_t *rs, const parry_sigma_options_t *o,
                             char *errstr, size_t errstr_size) {
  parry_arena_t *a = &rs->arena;
  const parry_sigma_node_t *file = NULL;
  if (o->placeholders_path) {
    file = load_table(a, o->placeholders_path, "placeholders", errstr, errstr_size);
    if (!file) return -1;
  }
  size_t n = o->n_placeholders + (file ? file->n : 0);
  rs->placeholders = parry_arena_new(a, parry_sigma_placeholder_t, n + 1);
  for (size_t i = 0; file && i < file->n; i++) {
    parry_sigma_placeholder_t *p = &rs->placeholders[rs->n_placeholders++];
    p->name = file->items[2 * i]->text;
    const char **vals;
    if (string_list(a, file->items[2 * i + 1], &vals, &p->n_values) < 0) {
      snprintf(errstr, errstr_size, "%s:%u: placeholder %s: expected a string or a list of strings",
               o->placeholders_path, file->items[2 * i + 1]->line, p->name);
      return -1;
    }
    p->values = vals;
  }
  for (size_t i = 0; i < o->n_placeholders; i++) {
    const parry_sigma_placeholder_t *src = &o->placeholders[i];
    if (!src->name || (src->n_values && !src->values)) {
      snprintf(errstr, errstr_size, "placeholder %zu: name and values are required", i);
      return -1;
    }
    parry_sigma_placeholder_t *p = &rs->placeholders[rs->n_placeholders++];
    p->name = parry_arena_strdup(a, src->name);
    const char **vals = parry_arena_new(a, const char *, src->n_values + 1);
    for (size_t k = 0; k < src->n_values; k++) vals[k] = parry_arena_strdup(a, src->values[k]);
    p->values = vals;
    p->n_values = src->n_values;
  }
  return 0;
}

static int copy_field_map(parry_sigma_ruleset_t *rs, const parry_sigma_options_t *o, char *errstr,
                          size_t errstr_size) {
  parry_arena_t *a = &rs->arena;
  const parry_sigma_node_t *file = NULL;
  if (o->field_map_path) {
    file = load_table(a, o->field_map_path, "fieldmappings", errstr, errstr_size);
    if (!file) return -1;
  }
  size_t n = o->n_field_map + (file ? file->n : 0);
  rs->field_map = parry_arena_new(a, parry_sigma_field_map_t, n + 1);
  for (size_t i = 0; file && i < file->n; i++) {
    parry_sigma_field_map_t *m = &rs->field_map[rs->n_field_map++];
    m->field = file->items[2 * i]->text;
    const char **t;
    if (string_list(a, file->items[2 * i + 1], &t, &m->n_targets) < 0 || m->n_targets == 0) {
      snprintf(errstr, errstr_size, "%s:%u: field %s: expected a field name or a list of them",
               o->field_map_path, file->items[2 * i + 1]->line, m->field);
      return -1;
    }
    m->targets = t;
  }
  for (size_t i = 0; i < o->n_field_map; i++) {
    const parry_sigma_field_map_t *src = &o->field_map[i];
    if (!src->field || !src->n_targets || !src->targets) {
      snprintf(errstr, errstr_size, "field map entry %zu: field and targets are required", i);
      return -1;
    }
    parry_sigma_field_map_t *m = &rs->field_map[rs->n_field_map++];
    m->field = parry_arena_strdup(a, src->field);
    const char **t = parry_arena_new(a, const char *, src->n_targets);
    for (size_t k = 0; k < src->n_targets; k++) t[k] = parry_arena_strdup(a, src->targets[k]);
    m->targets = t;
    m->n_targets = src->n_targets;
  }
  return 0;
}

int sg_options_copy(parry_sigma_ruleset_t *rs, const parry_sigma_options_t *o, char *errstr,
                    size_t errstr_size) {
  static const parry_sigma_options_t none = {0};
  if (!o) o = &none;
  if ((unsigned)o->min_level > PARRY_SIGMA_LEVEL_CRITICAL) {
    snprintf(errstr, errstr_size, "min_level: invalid level %d", (int)o->min_level);
    return -1;
  }
  if ((unsigned)o->unknown_placeholder > PARRY_SIGMA_PLACEHOLDER_WILDCARD) {
    snprintf(errstr, errstr_size, "unknown_placeholder: invalid policy %d", (int)o->unknown_placeholder);
    return -1;
  }
  rs->min_level = o->min_level;
  rs->unknown_placeholder = o->unknown_placeholder;
  rs->ignore_logsource = o->ignore_logsource;
  rs->report_filtered = o->report_filtered;
  rs->no_prefilter = o->no_prefilter;
  if (copy_placeholders(rs, o, errstr, errstr_size) < 0) return -1;
  if (copy_field_map(rs, o, errstr, errstr_size) < 0) return -1;
  rs->prefixes = parry_arena_new(&rs->arena, const char *, o->n_field_prefixes + 1);
  for (size_t i = 0; i < o->n_field_prefixes; i++) {
    if (!o->field_prefixes[i]) {
      snprintf(errstr, errstr_size, "field prefix %zu: NULL", i);
      return -1;
    }
    rs->prefixes[rs->n_prefixes++] = parry_arena_strdup(&rs->arena, o->field_prefixes[i]);
  }
  return 0;
}
