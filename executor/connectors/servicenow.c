/* `servicenow`: open an incident (POST /api/now/table/incident on
 * targets.servicenow.base_url). Outputs sys_id and number. */
#include "connectors/conn_internal.h"

static const parry_conn_input_t inputs[] = {
    {"short_description", PARRY_CONN_IN_TEXT, 0, true, "incident title"},
    {"description", PARRY_CONN_IN_TEXT, 0, false, "incident description"},
    {"urgency", PARRY_CONN_IN_TEXT, 0, false, "1 (high) .. 3 (low)"},
    {"impact", PARRY_CONN_IN_TEXT, 0, false, "1 (high) .. 3 (low)"},
    {"category", PARRY_CONN_IN_TEXT, 0, false, "incident category"},
    {"assignment_group", PARRY_CONN_IN_TEXT, 0, false, "group to assign"},
    {"caller_id", PARRY_CONN_IN_TEXT, 0, false, "caller"},
    {"target", PARRY_CONN_IN_TEXT, 0, false, "configured target (default: servicenow)"},
};

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const conn_target_cfg_t *t = conn_named_target(call, "servicenow", errstr, n);
  if (!t) return PARRY_ERR_NOT_FOUND;
  if (!conn_in(call, "short_description"))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "short_description is required");
  parry_err_t err = conn_req_begin_at(call, t, "POST", "/api/now/table/incident", errstr, n);
  if (err != PARRY_OK) return err;
  call->req.headers = curl_slist_append(call->req.headers, "Accept: application/json");
  struct json_object *body = json_object_new_object();
  static const char *const fields[] = {"short_description", "description", "urgency", "impact",
                                       "category", "assignment_group", "caller_id"};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    conn_copy_input(call, fields[i], body, fields[i]);
  conn_req_json_body(call, body);
  json_object_put(body);
  return PARRY_OK;
}

static void response(conn_call_t *call) {
  static const char *const outputs[] = {"sys_id", "$.result.sys_id", "number", "$.result.number",
                                        NULL};
  conn_extract_list(call, outputs);
}

const parry_connector_t parry_connector_servicenow = {
    .name = "servicenow",
    .help = "open a ServiceNow incident (Table API); outputs sys_id, number",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
    .response = response,
};
