/* `http`: the generic HTTP call every other HTTP connector resembles. */
#include <stdlib.h>
#include <string.h>

#include "connectors/conn_internal.h"
#include "parry/mem.h"

static const parry_conn_input_t inputs[] = {
    {"url", PARRY_CONN_IN_URL, 0, true,
     "absolute http(s) URL, or a path when `target` names a configured base_url"},
    {"method", PARRY_CONN_IN_TEXT, 0, false, "GET, POST (default), PUT, PATCH, DELETE ..."},
    {"target", PARRY_CONN_IN_TEXT, 0, false, "configured target: base URL, auth, limits"},
    {"headers", PARRY_CONN_IN_MAP, PARRY_CONN_IN_HEADER, false, "extra request headers"},
    {"query", PARRY_CONN_IN_MAP, PARRY_CONN_IN_TEXT, false, "query parameters (URL-encoded)"},
    {"body", PARRY_CONN_IN_JSON, 0, false,
     "object/array (sent as JSON) or string (sent as is)"},
    {"content_type", PARRY_CONN_IN_HEADER, 0, false, "Content-Type of a string body"},
    {"expect", PARRY_CONN_IN_TEXT, 0, false, "expected status: 200, \"2xx\", \"200-204\" or a list"},
    {"outputs", PARRY_CONN_IN_TEXT, 0, false, "outputs from the JSON answer: {name: \"$.path\"}"},
    {"idempotency_header", PARRY_CONN_IN_HEADER, 0, false,
     "header carrying the idempotency key (default Idempotency-Key, or the target's)"},
};

static void url_escape_into(parry_buf_t *b, const char *s) {
  char *esc = curl_easy_escape(NULL, s, 0);
  parry_buf_append_str(b, esc ? esc : "");
  curl_free(esc);
}

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const parry_conn_config_t *cfg = conn_call_config(call);
  const char *url = conn_in_str(call, "url");
  const char *tname = conn_in_str(call, "target");
  const conn_target_cfg_t *tcfg = NULL;
  if (!url) return parry_fail(errstr, n, PARRY_ERR_INVALID, "input url is required");
  if (tname && !(tcfg = conn_config_target(cfg, tname)))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "no target \"%s\" is configured", tname);
  if (tcfg && strstr(url, "://") != NULL) {
    /* The target's credentials go only where the target is: an absolute URL
     * (perhaps built from alert data) must lie under its base URL. */
    const char *base = tcfg->base_url ? tcfg->base_url : tcfg->url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/') bl--;
    if (strncmp(url, base, bl) != 0 || (url[bl] && !strchr("/?#", url[bl])))
      return parry_fail(errstr, n, PARRY_ERR_INVALID,
                        "url is not under the base URL of target \"%s\"", tname);
  }
  parry_buf_t full = PARRY_BUF_INIT(0);
  if (tcfg && strstr(url, "://") == NULL) {
    char *j = conn_join_url(tcfg->base_url ? tcfg->base_url : tcfg->url, url);
    parry_buf_append_str(&full, j);
    free(j);
  } else {
    parry_buf_append_str(&full, url);
  }
  struct json_object *q = conn_in(call, "query");
  if (q && json_object_is_type(q, json_type_object)) {
    bool first = strchr(full.data, '?') == NULL;
    json_object_object_foreach(q, k, v) {
      parry_buf_append_char(&full, first ? '?' : '&');
      first = false;
      url_escape_into(&full, k);
      parry_buf_append_char(&full, '=');
      url_escape_into(&full, v ? json_object_get_string(v) : "");
    }
  }
  const char *method = conn_in_str(call, "method");
  char m[16] = "POST";
  if (method) {
    size_t i = 0;
    for (; method[i] && i < sizeof m - 1; i++) m[i] = (char)(method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32 : method[i]);
    m[i] = 0;
  } else if (!conn_in(call, "body")) {
    strcpy(m, "GET");
  }
  parry_err_t err = conn_req_begin(call, tcfg, m, full.data, errstr, n);
  parry_buf_free(&full);
  if (err != PARRY_OK) return err;
  struct json_object *h = conn_in(call, "headers");
  if (h) {
    if (!json_object_is_type(h, json_type_object))
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "headers must be a map");
    json_object_object_foreach(h, k, v) {
      if (conn_req_header(call, k, v ? json_object_get_string(v) : "", errstr, n) != PARRY_OK)
        return PARRY_ERR_INVALID;
    }
  }
  struct json_object *body = conn_in(call, "body");
  if (body) {
    if (json_object_is_type(body, json_type_object) || json_object_is_type(body, json_type_array)) {
      conn_req_json_body(call, body);
    } else {
      const char *s = json_object_get_string(body);
      const char *ct = conn_in_str(call, "content_type");
      if (!ct) {
        struct json_object *probe = json_tokener_parse(s);
        ct = probe ? "application/json" : "text/plain; charset=utf-8";
        json_object_put(probe);
      }
      if (strpbrk(ct, "\r\n"))
        return parry_fail(errstr, n, PARRY_ERR_INVALID, "content_type contains CR or LF");
      conn_req_text_body(call, s, strlen(s), ct);
    }
  }
  if (conn_parse_expect(conn_in(call, "expect"), call->req.expect, 8, &call->req.nexpect, errstr,
                        n) != PARRY_OK)
    return PARRY_ERR_INVALID;
  struct json_object *outs = conn_in(call, "outputs");
  if (outs) {
    if (!json_object_is_type(outs, json_type_object))
      return parry_fail(errstr, n, PARRY_ERR_INVALID, "outputs must be a map of name: \"$.path\"");
    call->req.extract = json_object_get(outs);
  }
  const char *ih = conn_in_str(call, "idempotency_header");
  if (ih) call->req.idem_header = parry_xstrdup(ih);
  return PARRY_OK;
}

/* Outputs: the requested extractions, plus the answer itself when it is JSON
 * (so later steps and `parry plan` can look at it). */
static void response(conn_call_t *call) {
  conn_extract_outputs(call, call->req.extract);
  struct json_object *doc = conn_response_json(call);
  if (doc) json_object_object_add(call->outputs, "body", doc);
  else if (call->resp.len)
    json_object_object_add(call->outputs, "body", conn_text_value(call->resp.data, call->resp.len));
}

const parry_connector_t parry_connector_http = {
    .name = "http",
    .help = "generic HTTP request: method, url, headers, body, expected status, outputs by JSON path",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
    .response = response,
};
