/* `sms`: a text message through an HTTP gateway (targets.sms.url):
 * POST {"to": ..., "text": ...}. Output message_id when the gateway answers
 * with an `id` or `message_id`. */
#include "connectors/conn_internal.h"

static const parry_conn_input_t inputs[] = {
    {"to", PARRY_CONN_IN_TEXT, 0, true, "recipient number (E.164) or list of numbers"},
    {"text", PARRY_CONN_IN_TEXT, 0, true, "message text"},
    {"target", PARRY_CONN_IN_TEXT, 0, false, "configured target (default: sms)"},
};

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const conn_target_cfg_t *t = conn_named_target(call, "sms", errstr, n);
  if (!t) return PARRY_ERR_NOT_FOUND;
  if (!conn_in(call, "to") || !conn_in(call, "text"))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "to and text are required");
  if (conn_req_begin(call, t, "POST", t->url ? t->url : t->base_url, errstr, n) != PARRY_OK)
    return PARRY_ERR_INVALID;
  struct json_object *body = json_object_new_object();
  conn_copy_input(call, "to", body, "to");
  conn_copy_input(call, "text", body, "text");
  conn_req_json_body(call, body);
  json_object_put(body);
  return PARRY_OK;
}

static void response(conn_call_t *call) {
  struct json_object *doc = conn_response_json(call);
  struct json_object *v = conn_json_path(doc, "$.message_id");
  if (!v) v = conn_json_path(doc, "$.id");
  if (v) json_object_object_add(call->outputs, "message_id", json_object_get(v));
  json_object_put(doc);
}

const parry_connector_t parry_connector_sms = {
    .name = "sms",
    .help = "send a text message through an HTTP SMS gateway",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
    .response = response,
};
