/* Runbook YAML: the shared tree reader (parry/yaml_tree.h) with the runbook
 * caps and schema, and the runbook's wording of its errors. */
#include <stdio.h>

#include "runbook/rb_yaml.h"
#include "runbook/runbook.h"

static const parry_yaml_options_t runbook_yaml = {
    .max_depth = PARRY_RUNBOOK_MAX_YAML_DEPTH,
    .max_events = PARRY_RUNBOOK_MAX_YAML_NODES,
};

bool ry_parse(parry_arena_t *a, const char *text, size_t len, ry_node_t ***docs, size_t *n_docs,
              ry_error_t *e) {
  parry_yaml_docs_t out;
  bool ok = parry_yaml_parse(a, text, len, &runbook_yaml, &out, e);
  *docs = out.docs;
  *n_docs = out.n_docs;
  if (e->code == PARRY_YAML_ERR_DEPTH) snprintf(e->msg, sizeof e->msg, "YAML nested too deeply");
  if (e->code == PARRY_YAML_ERR_NODES) snprintf(e->msg, sizeof e->msg, "YAML has too many nodes");
  return ok;
}
