/* The one place the runbook loader asks the connector registry
 * (executor/connectors/connector.h) about a step: whether `uses` names a
 * connector, whether each `with` key is one of its inputs, which required
 * inputs are missing, and how each input is escaped. */
#include <string.h>

#include "connectors/connector.h"
#include "runbook/rb_load.h"

bool rb_connector_known(const char *uses) { return parry_connector_find(uses) != NULL; }

size_t rb_connector_names(char *buf, size_t n) {
  size_t used = 0;
  if (n) buf[0] = '\0';
  for (size_t i = 0; i < parry_connector_count() && used + 1 < n; i++) {
    const char *name = parry_connector_name(parry_connector_at(i));
    size_t l = strlen(name);
    if (used + l + 3 >= n) break;
    if (i) buf[used++] = ',', buf[used++] = ' ';
    memcpy(buf + used, name, l + 1);
    used += l;
  }
  return used;
}

bool rb_connector_has_input(const char *uses, const char *key) {
  const parry_connector_t *c = parry_connector_find(uses);
  const parry_conn_input_t *in = c ? parry_connector_input_find(c, key) : NULL;
  return in && strcmp(in->name, key) == 0;
}

size_t rb_connector_required(const char *uses, const char **names, size_t max) {
  const parry_connector_t *c = parry_connector_find(uses);
  size_t k = 0;
  for (size_t i = 0; c && i < parry_connector_input_count(c); i++) {
    const parry_conn_input_t *in = parry_connector_input(c, i);
    if (in->required && k < max) names[k++] = in->name;
  }
  return k;
}

rb_in_shape_t rb_connector_input_shape(const char *uses, const char *key) {
  const parry_connector_t *c = parry_connector_find(uses);
  const parry_conn_input_t *in = c ? parry_connector_input_find(c, key) : NULL;
  if (!in || strcmp(in->name, key) != 0) return RB_IN_ANY;
  switch (in->kind) {
    case PARRY_CONN_IN_URL: return RB_IN_STRING;
    case PARRY_CONN_IN_HEADER: return RB_IN_SCALARS;
    case PARRY_CONN_IN_ARGV: return RB_IN_LIST;
    case PARRY_CONN_IN_MAP: return RB_IN_MAP;
    case PARRY_CONN_IN_TEXT:
    case PARRY_CONN_IN_JSON: return RB_IN_ANY;
  }
  return RB_IN_ANY;
}

parry_escape_t rb_connector_escape(const char *uses, const char *input_path) {
  const parry_connector_t *c = parry_connector_find(uses);
  if (!c) return PARRY_ESCAPE_NONE;
  /* parry_conn_escape_t mirrors parry_escape_t value for value */
  switch (parry_connector_escape_for(c, input_path)) {
    case PARRY_CONN_ESCAPE_URL: return PARRY_ESCAPE_URL;
    case PARRY_CONN_ESCAPE_HEADER: return PARRY_ESCAPE_HEADER;
    case PARRY_CONN_ESCAPE_JSON: return PARRY_ESCAPE_JSON;
    case PARRY_CONN_ESCAPE_NONE: return PARRY_ESCAPE_NONE;
  }
  return PARRY_ESCAPE_NONE;
}
