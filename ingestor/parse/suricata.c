/* Suricata EVE JSON: one object per event, whatever its event_type (alert,
 * flow, dns, http, tls, ssh, fileinfo, anomaly, stats, the application
 * protocols ...).
 *
 * Shape recognised
 * ----------------
 * An object with a string "event_type" and a "timestamp" (EVE's own
 * "2022-07-10T23:50:05.533101+0000", offset without a colon). Both come
 * from Suricata itself, never from another source's JSON, so detection is
 * two member lookups. Pretty-printed files and JSON arrays of events reach
 * the parser as single objects through the normalizer.
 *
 * Fields set
 * ----------
 * The whole EVE object is kept, member by member, at the top level of the
 * event (vendor fields: src_ip, alert.signature, dns.rrname, flow.bytes_toserver
 * keep their EVE names and nesting; numbers keep their exact text). The
 * sensor name "host" is a reserved top-level name in the canonical JSON, so
 * it is kept as "suricata.host" (vendor.h).
 *   @timestamp      timestamp (a record whose timestamp is not a time is
 *                   rejected naming it; one without a timestamp gets the
 *                   time it was read)
 *   source.ip/port, destination.ip/port   src_ip/src_port, dest_ip/dest_port
 *                   (a port that is not an integer 0..65535 rejects the record)
 *   network.transport  proto, lower case ("tcp"); network.protocol app_proto
 *                   (unless "failed"); network.community_id community_id
 *   event.dataset   suricata.<event_type>
 *   event.kind      alert for alerts, metric for stats, else event
 *   event.category  network, plus intrusion_detection for alerts and file
 *                   for fileinfo; event.type allowed/denied for alerts (by
 *                   alert.action), connection for flows, protocol for
 *                   application-layer records, info otherwise
 *   event.severity  alert.severity (Suricata's 1 = high .. 3 = low, as is)
 *   rule.name, rule.id, rule.category   alert.signature, alert.signature_id,
 *                   alert.category (ECS rule.*)
 *
 * Logsource
 * ---------
 * product suricata, service the event_type. The Sigma taxonomy defines no
 * Suricata log sources; product alone selects all of EVE, and the service
 * lets a rule pick alerts or dns records the way Zeek rules pick a log.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "parry/codec.h"
#include "parser.h"
#include "vendor.h"

#define NS "suricata"

static bool detect_json(json_object *obj) {
  json_object *t;
  return json_object_is_type(obj, json_type_object) &&
         json_object_object_get_ex(obj, "event_type", &t) &&
         json_object_is_type(t, json_type_string) &&
         json_object_object_get_ex(obj, "timestamp", NULL);
}

static const char *string_of(json_object *obj, const char *key, size_t *len) {
  json_object *v;
  if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
    return NULL;
  *len = (size_t)json_object_get_string_len(v);
  return *len ? json_object_get_string(v) : NULL;
}

/* A port member: absent/null is fine, else an integer 0..65535. */
static parry_err_t port_of(json_object *obj, const char *key, uint32_t *out, char *errstr,
                           size_t errstr_size) {
  json_object *v;
  *out = 0;
  if (!json_object_object_get_ex(obj, key, &v) || !v) return PARRY_OK;
  int64_t p = json_object_get_int64(v);
  if (!json_object_is_type(v, json_type_int) || p < 0 || p > 65535) {
    char q[72];
    const char *t = json_object_get_string(v);
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s is not a port: %s", key,
                      parry_vendor_quote(q, t, strlen(t)));
  }
  *out = (uint32_t)p;
  return PARRY_OK;
}

/* Application-layer event types: everything but these few. */
static bool is_protocol(const char *et) {
  static const char *const other[] = {"alert", "flow",  "netflow", "stats", "fileinfo",
                                      "anomaly", "drop", "frame",   "pkthdr", NULL};
  for (int i = 0; other[i]; i++)
    if (strcmp(other[i], et) == 0) return false;
  return true;
}

static void classify(parry_evb_t *b, json_object *obj, const char *et) {
  if (strcmp(et, "stats") == 0) {
    parry_evb_set_kind(b, "metric");
    return;
  }
  parry_evb_add_category(b, "network");
  if (strcmp(et, "alert") == 0) {
    parry_evb_set_kind(b, "alert");
    parry_evb_add_category(b, "intrusion_detection");
    json_object *alert = NULL;
    size_t len;
    const char *action = NULL;
    if (json_object_object_get_ex(obj, "alert", &alert) &&
        json_object_is_type(alert, json_type_object))
      action = string_of(alert, "action", &len);
    if (action && strcmp(action, "allowed") == 0)
      parry_evb_add_type(b, "allowed");
    else if (action && (strcmp(action, "blocked") == 0 || strcmp(action, "drop") == 0))
      parry_evb_add_type(b, "denied");
    else
      parry_evb_add_type(b, "info");
    return;
  }
  parry_evb_set_kind(b, "event");
  if (strcmp(et, "flow") == 0 || strcmp(et, "netflow") == 0) {
    parry_evb_add_type(b, "connection");
  } else if (strcmp(et, "drop") == 0) {
    parry_evb_add_type(b, "denied");
  } else if (strcmp(et, "fileinfo") == 0) {
    parry_evb_add_category(b, "file");
    parry_evb_add_type(b, "info");
  } else if (is_protocol(et)) {
    parry_evb_add_type(b, "protocol");
  } else {
    parry_evb_add_type(b, "info");
  }
}

static void rule_fields(parry_evb_t *b, json_object *obj) {
  json_object *alert = NULL, *v = NULL;
  if (!json_object_object_get_ex(obj, "alert", &alert) ||
      !json_object_is_type(alert, json_type_object))
    return;
  size_t len;
  const char *s;
  if ((s = string_of(alert, "signature", &len))) parry_evb_field_str(b, "rule.name", s, len);
  if ((s = string_of(alert, "category", &len))) parry_evb_field_str(b, "rule.category", s, len);
  if (json_object_object_get_ex(alert, "signature_id", &v) && json_object_is_type(v, json_type_int)) {
    const char *t = json_object_get_string(v);
    parry_evb_field_str(b, "rule.id", t, strlen(t));
  }
  if (json_object_object_get_ex(alert, "severity", &v) && json_object_is_type(v, json_type_int))
    parry_evb_set_severity(b, json_object_get_int64(v));
}

static parry_err_t parse_json(parry_parse_t *p, json_object *obj, char *errstr,
                              size_t errstr_size) {
  char q[72];
  size_t len;
  json_object *v;
  if (!json_object_is_type(obj, json_type_object))
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "an EVE record is an object, not %s",
                      json_type_to_name(json_object_get_type(obj)));
  const char *et = string_of(obj, "event_type", &len);
  if (!et)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "event_type is missing or not a non-empty string");
  size_t et_len = len;
  if ((size_t)json_object_object_length(obj) > PARRY_VENDOR_MAX_FIELDS)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "the record has %d fields, more than %d",
                      json_object_object_length(obj), PARRY_VENDOR_MAX_FIELDS);
  parry_evb_t b;
  parry_evb_init(&b, p->arena);
  if (json_object_object_get_ex(obj, "timestamp", &v) && v) {
    int64_t ns;
    const char *t = json_object_get_string(v);
    if (!json_object_is_type(v, json_type_string) ||
        !parry_vendor_time(t, (size_t)json_object_get_string_len(v), &ns))
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "timestamp is not a time: %s",
                        parry_vendor_quote(q, t, strlen(t)));
    parry_evb_set_timestamp(&b, ns);
  }
  uint32_t sport, dport;
  parry_err_t err = port_of(obj, "src_port", &sport, errstr, errstr_size);
  if (!err) err = port_of(obj, "dest_port", &dport, errstr, errstr_size);
  if (err) return err;

  json_object_object_foreach(obj, key, val) {
    if (!parry_vendor_top_json(&b, NS, key, strlen(key), val))
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s nests deeper than %d levels",
                        key, PARRY_CODEC_MAX_DEPTH);
  }

  const char *s;
  if ((s = string_of(obj, "src_ip", &len))) parry_evb_set_source_address(&b, s, len);
  if ((s = string_of(obj, "dest_ip", &len))) parry_evb_set_destination_address(&b, s, len);
  if (sport) parry_evb_set_source_port(&b, sport);
  if (dport) parry_evb_set_destination_port(&b, dport);
  if ((s = string_of(obj, "proto", &len))) {
    char lower[32];
    size_t n = len < sizeof lower ? len : sizeof lower - 1;
    for (size_t i = 0; i < n; i++)
      lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    parry_evb_field_str(&b, "network.transport", lower, n);
  }
  if ((s = string_of(obj, "app_proto", &len)) && strcmp(s, "failed") != 0)
    parry_evb_field_str(&b, "network.protocol", s, len);
  if ((s = string_of(obj, "community_id", &len)))
    parry_evb_field_str(&b, "network.community_id", s, len);

  char dataset[96];
  int n = snprintf(dataset, sizeof dataset, "suricata.%.*s", (int)(et_len > 80 ? 80 : et_len), et);
  parry_evb_set_dataset(&b, dataset, (size_t)n);
  classify(&b, obj, et);
  rule_fields(&b, obj);
  parry_evb_set_logsource(&b, "suricata", parry_evb_text(&b, et, et_len), NULL);
  parry_parse_emit(p, &b);
  return PARRY_OK;
}

const parry_parser_t parry_parser_suricata = {
    .name = "suricata",
    .summary = "Suricata EVE JSON (alert, flow, dns, http, tls, fileinfo, stats, ...)",
    .detect_json = detect_json,
    .parse_json = parse_json,
};
