/* `teams`: a message card to a Microsoft Teams incoming webhook
 * (targets.teams.url). */
#include "connectors/conn_internal.h"

static const parry_conn_input_t inputs[] = {
    {"text", PARRY_CONN_IN_TEXT, 0, true, "message text (Markdown)"},
    {"title", PARRY_CONN_IN_TEXT, 0, false, "card title"},
    {"color", PARRY_CONN_IN_TEXT, 0, false, "theme colour, e.g. \"d70000\""},
    {"target", PARRY_CONN_IN_TEXT, 0, false, "configured target (default: teams)"},
};

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const conn_target_cfg_t *t = conn_named_target(call, "teams", errstr, n);
  if (!t) return PARRY_ERR_NOT_FOUND;
  if (!conn_in(call, "text")) return parry_fail(errstr, n, PARRY_ERR_INVALID, "text is required");
  if (conn_req_begin(call, t, "POST", t->url ? t->url : t->base_url, errstr, n) != PARRY_OK)
    return PARRY_ERR_INVALID;
  struct json_object *body = json_object_new_object();
  json_object_object_add(body, "@type", json_object_new_string("MessageCard"));
  json_object_object_add(body, "@context", json_object_new_string("https://schema.org/extensions"));
  conn_copy_input(call, "title", body, "title");
  conn_copy_input(call, "text", body, "text");
  conn_copy_input(call, "color", body, "themeColor");
  if (!conn_in(call, "title")) conn_copy_input(call, "text", body, "summary");
  else conn_copy_input(call, "title", body, "summary");
  conn_req_json_body(call, body);
  json_object_put(body);
  return PARRY_OK;
}

const parry_connector_t parry_connector_teams = {
    .name = "teams",
    .help = "post a message card to a Microsoft Teams incoming webhook",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
};
