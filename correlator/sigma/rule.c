/* The attributes of a detection rule (rules specification, "Components"):
 * every one type-checked and kept, errors naming the attribute. */
#include <stdio.h>
#include <string.h>

#include "sigma/sigma_int.h"

static const char *const levels[] = {"", "informational", "low", "medium", "high", "critical"};

const char *parry_sigma_level_str(parry_sigma_level_t level) {
  return (unsigned)level < sizeof levels / sizeof *levels ? levels[level] : "";
}

bool parry_sigma_level_parse(const char *s, parry_sigma_level_t *out) {
  for (size_t i = 1; i < sizeof levels / sizeof *levels; i++)
    if (s && !strcmp(s, levels[i])) {
      *out = (parry_sigma_level_t)i;
      return true;
    }
  return false;
}

const char *sg_scalar_or_null(const parry_sigma_node_t *n) {
  if (!n || n->kind != PARRY_SIGMA_NODE_SCALAR) return NULL;
  if (n->scalar == PARRY_SIGMA_SCALAR_NULL && !n->quoted) return NULL;
  return n->text;
}

static int scalar(const parry_sigma_node_t *doc, const char *key, const char **out, bool required,
                  sg_err_t *e) {
  const parry_sigma_node_t *n = parry_sigma_node_get(doc, key);
  *out = NULL;
  if (n && n->kind != PARRY_SIGMA_NODE_SCALAR)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, n, "%s: expected a string", key);
  *out = sg_scalar_or_null(n);
  if (required && !*out)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, n ? n : doc, "%s: missing", key);
  return 0;
}

static int strings(parry_arena_t *a, const parry_sigma_node_t *doc, const char *key,
                   parry_sigma_strings_t *out, sg_err_t *e) {
  const parry_sigma_node_t *n = parry_sigma_node_get(doc, key);
  memset(out, 0, sizeof *out);
  if (!n || (n->kind == PARRY_SIGMA_NODE_SCALAR && !sg_scalar_or_null(n))) return 0;
  if (n->kind == PARRY_SIGMA_NODE_SCALAR) {
    const char **items = parry_arena_new(a, const char *, 1);
    items[0] = n->text;
    out->items = items;
    out->n = 1;
    return 0;
  }
  if (n->kind != PARRY_SIGMA_NODE_SEQUENCE)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, n, "%s: expected a list of strings", key);
  const char **items = parry_arena_new(a, const char *, n->n + 1);
  for (size_t i = 0; i < n->n; i++) {
    const parry_sigma_node_t *it = n->items[i];
    if (it->kind != PARRY_SIGMA_NODE_SCALAR)
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, it, "%s: expected a list of strings", key);
    if (sg_scalar_or_null(it)) items[out->n++] = it->text;
  }
  out->items = items;
  return 0;
}

int sg_rule_meta(parry_arena_t *a, const parry_sigma_node_t *doc, parry_sigma_rule_info_t *info,
                 sg_err_t *e) {
  memset(info, 0, sizeof *info);
  info->document = doc;
  info->line = doc->line;
  if (scalar(doc, "title", &info->title, true, e) < 0 || scalar(doc, "id", &info->id, false, e) < 0 ||
      scalar(doc, "name", &info->name, false, e) < 0 ||
      scalar(doc, "status", &info->status, false, e) < 0 ||
      scalar(doc, "description", &info->description, false, e) < 0 ||
      scalar(doc, "license", &info->license, false, e) < 0 ||
      scalar(doc, "author", &info->author, false, e) < 0 ||
      scalar(doc, "date", &info->date, false, e) < 0 ||
      scalar(doc, "modified", &info->modified, false, e) < 0 ||
      scalar(doc, "taxonomy", &info->taxonomy, false, e) < 0)
    return -1;
  if (info->status) {
    static const char *const ok[] = {"stable", "test", "experimental", "deprecated", "unsupported"};
    bool found = false;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) found |= !strcmp(info->status, ok[i]);
    if (!found)
      return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, parry_sigma_node_get(doc, "status"),
                     "status: \"%.40s\" is not stable, test, experimental, deprecated or unsupported",
                     info->status);
  }
  const char *level;
  if (scalar(doc, "level", &level, false, e) < 0) return -1;
  if (level && !parry_sigma_level_parse(level, &info->level))
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, parry_sigma_node_get(doc, "level"),
                   "level: \"%.40s\" is not informational, low, medium, high or critical", level);
  if (strings(a, doc, "references", &info->references, e) < 0 ||
      strings(a, doc, "tags", &info->tags, e) < 0 || strings(a, doc, "fields", &info->fields, e) < 0 ||
      strings(a, doc, "falsepositives", &info->falsepositives, e) < 0 ||
      strings(a, doc, "scope", &info->scope, e) < 0)
    return -1;

  const parry_sigma_node_t *rel = parry_sigma_node_get(doc, "related");
  if (rel && sg_scalar_or_null(rel))
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, rel, "related: expected a list of {id, type}");
  if (rel && rel->kind == PARRY_SIGMA_NODE_SEQUENCE) {
    parry_sigma_related_t *r = parry_arena_new(a, parry_sigma_related_t, rel->n + 1);
    for (size_t i = 0; i < rel->n; i++) {
      const parry_sigma_node_t *it = rel->items[i];
      if (it->kind != PARRY_SIGMA_NODE_MAPPING)
        return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, it, "related: expected a list of {id, type}");
      if (scalar(it, "id", &r[i].id, false, e) < 0 || scalar(it, "type", &r[i].type, false, e) < 0) {
        sg_err_prefix(e, "related.");
        return -1;
      }
    }
    info->related = r;
    info->n_related = rel->n;
  } else if (rel && rel->kind == PARRY_SIGMA_NODE_MAPPING) {
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, rel, "related: expected a list of {id, type}");
  }

  const parry_sigma_node_t *ls = parry_sigma_node_get(doc, "logsource");
  if (!ls) return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, doc, "logsource: missing");
  if (ls->kind != PARRY_SIGMA_NODE_MAPPING)
    return sg_fail(e, PARRY_SIGMA_REJECT_STRUCTURE, ls, "logsource: expected a mapping");
  if (scalar(ls, "product", &info->logsource.product, false, e) < 0 ||
      scalar(ls, "service", &info->logsource.service, false, e) < 0 ||
      scalar(ls, "category", &info->logsource.category, false, e) < 0 ||
      scalar(ls, "definition", &info->logsource.definition, false, e) < 0) {
    sg_err_prefix(e, "logsource.");
    return -1;
  }
  return 0;
}
