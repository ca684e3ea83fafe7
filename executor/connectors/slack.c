/* `slack`: a message to a Slack incoming webhook (targets.slack.url). */
#include "connectors/conn_internal.h"

static const parry_conn_input_t inputs[] = {
    {"text", PARRY_CONN_IN_TEXT, 0, false, "message text (mrkdwn); required unless blocks"},
    {"blocks", PARRY_CONN_IN_JSON, 0, false, "Block Kit blocks (array)"},
    {"channel", PARRY_CONN_IN_TEXT, 0, false, "channel override, when the webhook allows it"},
    {"username", PARRY_CONN_IN_TEXT, 0, false, "sender name override"},
    {"target", PARRY_CONN_IN_TEXT, 0, false, "configured target (default: slack)"},
};

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const conn_target_cfg_t *t = conn_named_target(call, "slack", errstr, n);
  if (!t) return PARRY_ERR_NOT_FOUND;
  if (!conn_in(call, "text") && !conn_in(call, "blocks"))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "text or blocks is required");
  if (conn_req_begin(call, t, "POST", t->url ? t->url : t->base_url, errstr, n) != PARRY_OK)
    return PARRY_ERR_INVALID;
  struct json_object *body = json_object_new_object();
  conn_copy_input(call, "text", body, "text");
  struct json_object *blocks = conn_in(call, "blocks");
  if (blocks && json_object_is_type(blocks, json_type_string)) {
    /* blocks written as JSON text in the runbook: parse it, so Slack gets an
     * array (substitutions inside were JSON-escaped by the renderer) */
    struct json_object *parsed = json_tokener_parse(json_object_get_string(blocks));
    if (!parsed || !json_object_is_type(parsed, json_type_array)) {
      json_object_put(parsed);
      json_object_put(body);
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "blocks: not a JSON array");
    }
    json_object_object_add(body, "blocks", parsed);
  } else {
    conn_copy_input(call, "blocks", body, "blocks");
  }
  conn_copy_input(call, "channel", body, "channel");
  conn_copy_input(call, "username", body, "username");
  conn_req_json_body(call, body);
  json_object_put(body);
  return PARRY_OK;
}

const parry_connector_t parry_connector_slack = {
    .name = "slack",
    .help = "post a message to a Slack incoming webhook",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
};
