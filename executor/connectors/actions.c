/* Response actions against REST APIs described in the configuration
 * (`actions:` in the connectors YAML): block_ip, quarantine_host,
 * disable_account, force_password_reset. Each names a target, a method, a
 * path template and a body template; `{{input}}` in the path is URL-escaped,
 * in the body it becomes a JSON value (json-c serializes it), so inputs can
 * never change the request's shape. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/conn_internal.h"

/* An IP or CIDR: refuse anything else before it reaches a firewall. */
static bool ip_or_cidr(const char *s) {
  char buf[64];
  size_t len = strlen(s);
  if (len >= sizeof buf) return false;
  memcpy(buf, s, len + 1);
  char *slash = strchr(buf, '/');
  long bits = -1;
  if (slash) {
    *slash = 0;
    char *end = NULL;
    bits = strtol(slash + 1, &end, 10);
    if (!slash[1] || *end) return false;
  }
  unsigned char addr[16];
  if (inet_pton(AF_INET, buf, addr) == 1) return bits <= 32;
  if (inet_pton(AF_INET6, buf, addr) == 1) return bits <= 128;
  return false;
}

static parry_err_t run_action(conn_call_t *call, const char *name, const char *must, char *errstr,
                              size_t n) {
  const parry_conn_config_t *cfg = conn_call_config(call);
  const conn_action_cfg_t *a = conn_config_action(cfg, name);
  if (!a)
    return parry_fail(errstr, n, PARRY_ERR_NOT_FOUND,
                      "no action \"%s\" in the connectors configuration (actions.%s)", name, name);
  const char *key = conn_in_str(call, must);
  if (!key || !*key) return parry_fail(errstr, n, PARRY_ERR_INVALID, "%s is required", must);
  if (strcmp(must, "ip") == 0 && !ip_or_cidr(key))
    return parry_fail(errstr, n, PARRY_ERR_INVALID, "ip \"%.64s\" is not an IP address or CIDR",
                      key);
  const conn_target_cfg_t *t = conn_config_target(cfg, a->target);
  parry_err_t err = conn_req_begin_subst(call, t, a->method, a->path, errstr, n);
  if (err != PARRY_OK) return err;
  if (a->body) {
    struct json_object *body = NULL;
    if (conn_subst_json(call, a->body, &body, errstr, n) != PARRY_OK) return PARRY_ERR_INVALID;
    conn_req_json_body(call, body);
    json_object_put(body);
  }
  if (a->outputs) call->req.extract = json_object_get(a->outputs);
  return PARRY_OK;
}

#define ACTION(cname, key, help_text, ...)                                                   \
  static const parry_conn_input_t cname##_inputs[] = {__VA_ARGS__};                          \
  static parry_err_t cname##_start(conn_call_t *call, char *errstr, size_t n) {             \
    return run_action(call, #cname, key, errstr, n);                                         \
  }                                                                                          \
  const parry_connector_t parry_connector_##cname = {                                        \
      .name = #cname,                                                                        \
      .help = help_text,                                                                     \
      .inputs = cname##_inputs,                                                              \
      .ninputs = sizeof cname##_inputs / sizeof cname##_inputs[0],                           \
      .start = cname##_start,                                                                \
  };

ACTION(block_ip, "ip", "block an IP address or CIDR on the firewall API (actions.block_ip)",
       {"ip", PARRY_CONN_IN_TEXT, 0, true, "IP address or CIDR to block"},
       {"duration", PARRY_CONN_IN_TEXT, 0, false, "how long, as the API expects it"},
       {"reason", PARRY_CONN_IN_TEXT, 0, false, "why (for the firewall's audit log)"})

ACTION(quarantine_host, "host", "isolate a host through the EDR API (actions.quarantine_host)",
       {"host", PARRY_CONN_IN_TEXT, 0, true, "host name or EDR id"},
       {"reason", PARRY_CONN_IN_TEXT, 0, false, "why"})

ACTION(disable_account, "user", "disable a user account at the IdP (actions.disable_account)",
       {"user", PARRY_CONN_IN_TEXT, 0, true, "user name"},
       {"reason", PARRY_CONN_IN_TEXT, 0, false, "why"})

ACTION(force_password_reset, "user",
       "force a password reset at the IdP (actions.force_password_reset)",
       {"user", PARRY_CONN_IN_TEXT, 0, true, "user name"},
       {"reason", PARRY_CONN_IN_TEXT, 0, false, "why"})
