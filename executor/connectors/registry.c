/* The connector registry: name lookup, declared inputs, and the escaping the
 * runbook renderer applies to each input. Immutable, so any thread may use it. */
#include <stdio.h>
#include <string.h>

#include "connectors/conn_internal.h"

static const parry_connector_t *const registry[] = {
    &parry_connector_http,
    &parry_connector_slack,
    &parry_connector_teams,
    &parry_connector_jira,
    &parry_connector_servicenow,
    &parry_connector_sms,
    &parry_connector_email,
    &parry_connector_block_ip,
    &parry_connector_quarantine_host,
    &parry_connector_disable_account,
    &parry_connector_force_password_reset,
    &parry_connector_threat_intel,
    &parry_connector_geoip,
    &parry_connector_exec,
    &parry_connector_case_update,
    &parry_connector_history,
    &parry_connector_approval,
};

#define REGISTRY_COUNT (sizeof registry / sizeof registry[0])

const parry_connector_t *parry_connector_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < REGISTRY_COUNT; i++)
    if (strcmp(registry[i]->name, name) == 0) return registry[i];
  return NULL;
}

size_t parry_connector_count(void) { return REGISTRY_COUNT; }

const parry_connector_t *parry_connector_at(size_t i) {
  return i < REGISTRY_COUNT ? registry[i] : NULL;
}

const char *parry_connector_name(const parry_connector_t *c) { return c->name; }
const char *parry_connector_help(const parry_connector_t *c) { return c->help; }
bool parry_connector_is_internal(const parry_connector_t *c) { return c->internal; }
size_t parry_connector_input_count(const parry_connector_t *c) { return c->ninputs; }

const parry_conn_input_t *parry_connector_input(const parry_connector_t *c, size_t i) {
  return i < c->ninputs ? &c->inputs[i] : NULL;
}

/* Length of the first component of a dotted/bracketed path. */
static size_t first_component(const char *path) { return strcspn(path, ".["); }

static const parry_conn_input_t *input_by_name(const parry_connector_t *c, const char *name,
                                               size_t len) {
  for (size_t i = 0; i < c->ninputs; i++)
    if (strlen(c->inputs[i].name) == len && memcmp(c->inputs[i].name, name, len) == 0)
      return &c->inputs[i];
  return NULL;
}

const parry_conn_input_t *parry_connector_input_find(const parry_connector_t *c,
                                                     const char *path) {
  if (!c || !path) return NULL;
  return input_by_name(c, path, first_component(path));
}

static parry_conn_escape_t kind_escape(parry_conn_input_kind_t kind) {
  switch (kind) {
  case PARRY_CONN_IN_URL: return PARRY_CONN_ESCAPE_URL;
  case PARRY_CONN_IN_HEADER: return PARRY_CONN_ESCAPE_HEADER;
  case PARRY_CONN_IN_JSON: return PARRY_CONN_ESCAPE_JSON;
  case PARRY_CONN_IN_TEXT:
  case PARRY_CONN_IN_ARGV:
  case PARRY_CONN_IN_MAP: return PARRY_CONN_ESCAPE_NONE;
  }
  return PARRY_CONN_ESCAPE_NONE;
}

parry_conn_escape_t parry_connector_escape_for(const parry_connector_t *c,
                                               const char *input_path) {
  const parry_conn_input_t *in = parry_connector_input_find(c, input_path);
  if (!in) return PARRY_CONN_ESCAPE_NONE;
  const char *rest = input_path + first_component(input_path);
  bool whole = *rest == '\0';
  switch (in->kind) {
  case PARRY_CONN_IN_JSON:
    /* The whole body as one string is JSON text: substitutions land inside
     * JSON strings. Leaves of an object body are values json-c serializes. */
    return whole ? PARRY_CONN_ESCAPE_JSON : PARRY_CONN_ESCAPE_NONE;
  case PARRY_CONN_IN_MAP:
    return whole ? PARRY_CONN_ESCAPE_NONE : kind_escape(in->member_kind);
  default:
    /* Scalars and lists of scalars: every element like the input itself. */
    return kind_escape(in->kind);
  }
}

parry_err_t parry_connector_check_inputs(const parry_connector_t *c, const char *const *keys,
                                         size_t nkeys, char *errstr, size_t errstr_size) {
  for (size_t k = 0; k < nkeys; k++) {
    if (!input_by_name(c, keys[k], strlen(keys[k]))) {
      char known[512] = "";
      size_t used = 0;
      for (size_t i = 0; i < c->ninputs && used < sizeof known; i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                         c->inputs[i].name);
        if (w < 0) break;
        used += (size_t)w;
      }
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "connector %s has no input \"%s\" (inputs: %s)", c->name, keys[k],
                        known);
    }
  }
  for (size_t i = 0; i < c->ninputs; i++) {
    if (!c->inputs[i].required) continue;
    bool found = false;
    for (size_t k = 0; k < nkeys && !found; k++) found = strcmp(keys[k], c->inputs[i].name) == 0;
    if (!found)
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                        "connector %s needs input \"%s\" (%s)", c->name, c->inputs[i].name,
                        c->inputs[i].help);
  }
  return PARRY_OK;
}

const char *parry_conn_status_str(parry_conn_status_t s) {
  switch (s) {
  case PARRY_CONN_OK: return "ok";
  case PARRY_CONN_FAILED: return "failed";
  case PARRY_CONN_RETRYABLE: return "retryable";
  }
  return "unknown";
}
