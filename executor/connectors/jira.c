/* `jira`: create an issue (POST /rest/api/2/issue on targets.jira.base_url,
 * basic or bearer auth from the target). Outputs key, id, url. */
#include "connectors/conn_internal.h"

static const parry_conn_input_t inputs[] = {
    {"project", PARRY_CONN_IN_TEXT, 0, true, "project key, e.g. SEC"},
    {"summary", PARRY_CONN_IN_TEXT, 0, true, "issue summary"},
    {"description", PARRY_CONN_IN_TEXT, 0, false, "issue description"},
    {"issue_type", PARRY_CONN_IN_TEXT, 0, false, "issue type name (default Task)"},
    {"labels", PARRY_CONN_IN_TEXT, 0, false, "labels (list of strings)"},
    {"priority", PARRY_CONN_IN_TEXT, 0, false, "priority name, e.g. High"},
    {"target", PARRY_CONN_IN_TEXT, 0, false, "configured target (default: jira)"},
};

static struct json_object *named(const char *field, struct json_object *v) {
  struct json_object *o = json_object_new_object();
  struct json_object *copy = NULL;
  json_object_deep_copy(v, &copy, NULL);
  json_object_object_add(o, field, copy);
  return o;
}

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const conn_target_cfg_t *t = conn_named_target(call, "jira", errstr, n);
  if (!t) return PARRY_ERR_NOT_FOUND;
  if (!conn_in(call, "project") || !conn_in(call, "summary"))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "project and summary are required");
  struct json_object *labels = conn_in(call, "labels");
  if (labels && !json_object_is_type(labels, json_type_array))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "labels must be a list");
  parry_err_t err = conn_req_begin_at(call, t, "POST", "/rest/api/2/issue", errstr, n);
  if (err != PARRY_OK) return err;
  struct json_object *fields = json_object_new_object();
  json_object_object_add(fields, "project", named("key", conn_in(call, "project")));
  conn_copy_input(call, "summary", fields, "summary");
  conn_copy_input(call, "description", fields, "description");
  struct json_object *type = conn_in(call, "issue_type");
  struct json_object *task = json_object_new_string("Task");
  json_object_object_add(fields, "issuetype", named("name", type ? type : task));
  json_object_put(task);
  conn_copy_input(call, "labels", fields, "labels");
  if (conn_in(call, "priority"))
    json_object_object_add(fields, "priority", named("name", conn_in(call, "priority")));
  struct json_object *body = json_object_new_object();
  json_object_object_add(body, "fields", fields);
  conn_req_json_body(call, body);
  json_object_put(body);
  return PARRY_OK;
}

static void response(conn_call_t *call) {
  static const char *const outputs[] = {"key", "$.key", "id", "$.id", "url", "$.self", NULL};
  conn_extract_list(call, outputs);
}

const parry_connector_t parry_connector_jira = {
    .name = "jira",
    .help = "create a Jira issue (REST API v2); outputs key, id, url",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
    .response = response,
};
