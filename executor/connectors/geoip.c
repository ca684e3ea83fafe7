/* `geoip`: country, city and network owner of an IP from MaxMind databases
 * (geoip.database, and geoip.asn_database when the ASN data is separate).
 * Local and fast: the call completes inside start. */
#include <maxminddb.h>
#include <string.h>

#include "connectors/conn_internal.h"

static const parry_conn_input_t inputs[] = {
    {"ip", PARRY_CONN_IN_TEXT, 0, true, "IPv4 or IPv6 address"},
};

static void add_string(struct json_object *o, const char *key, MMDB_lookup_result_s *r,
                       const char *const *path) {
  MMDB_entry_data_s d;
  if (MMDB_aget_value(&r->entry, &d, path) != MMDB_SUCCESS || !d.has_data) return;
  if (d.type == MMDB_DATA_TYPE_UTF8_STRING)
    json_object_object_add(o, key, json_object_new_string_len(d.utf8_string, (int)d.data_size));
  else if (d.type == MMDB_DATA_TYPE_UINT32)
    json_object_object_add(o, key, json_object_new_int64(d.uint32));
  else if (d.type == MMDB_DATA_TYPE_UINT16)
    json_object_object_add(o, key, json_object_new_int64(d.uint16));
  else if (d.type == MMDB_DATA_TYPE_DOUBLE)
    json_object_object_add(o, key, json_object_new_double(d.double_value));
}

static bool lookup(MMDB_s *db, const char *ip, MMDB_lookup_result_s *r, char *errstr, size_t n,
                   parry_err_t *err) {
  int gai = 0, mmdb = 0;
  *r = MMDB_lookup_string(db, ip, &gai, &mmdb);
  if (gai != 0) {
    *err = parry_fail(errstr, n, PARRY_ERR_INVALID, "\"%.64s\" is not an IP address", ip);
    return false;
  }
  if (mmdb != MMDB_SUCCESS) {
    *err = parry_fail(errstr, n, PARRY_ERR_EXTERNAL, "GeoIP lookup failed: %s", MMDB_strerror(mmdb));
    return false;
  }
  return r->found_entry;
}

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const char *ip = conn_in_str(call, "ip");
  if (!ip || !*ip) return parry_fail(errstr, n, PARRY_ERR_INVALID, "ip is required");
  MMDB_s *db = conn_engine_geoip(call->e, false, errstr, n);
  if (!db) return PARRY_ERR_NOT_FOUND;
  parry_err_t err = PARRY_OK;
  MMDB_lookup_result_s r;
  bool found = lookup(db, ip, &r, errstr, n, &err);
  if (err != PARRY_OK) return err;
  struct json_object *o = call->outputs;
  if (found) {
    static const char *const country[] = {"country", "iso_code", NULL};
    static const char *const country_name[] = {"country", "names", "en", NULL};
    static const char *const city[] = {"city", "names", "en", NULL};
    static const char *const lat[] = {"location", "latitude", NULL};
    static const char *const lon[] = {"location", "longitude", NULL};
    static const char *const asn[] = {"autonomous_system_number", NULL};
    static const char *const org[] = {"autonomous_system_organization", NULL};
    add_string(o, "country", &r, country);
    add_string(o, "country_name", &r, country_name);
    add_string(o, "city", &r, city);
    add_string(o, "latitude", &r, lat);
    add_string(o, "longitude", &r, lon);
    add_string(o, "asn", &r, asn);
    add_string(o, "org", &r, org);
  }
  char asn_err[256];
  MMDB_s *adb = conn_call_config(call)->geoip_asn_db
                    ? conn_engine_geoip(call->e, true, asn_err, sizeof asn_err) : NULL;
  if (adb) {
    MMDB_lookup_result_s ar;
    parry_err_t aerr = PARRY_OK;
    if (lookup(adb, ip, &ar, asn_err, sizeof asn_err, &aerr)) {
      static const char *const asn[] = {"autonomous_system_number", NULL};
      static const char *const org[] = {"autonomous_system_organization", NULL};
      add_string(o, "asn", &ar, asn);
      add_string(o, "org", &ar, org);
      found = true;
    }
  }
  json_object_object_add(o, "found", json_object_new_boolean(found));
  conn_call_ok(call);
  return PARRY_OK;
}

const parry_connector_t parry_connector_geoip = {
    .name = "geoip",
    .help = "country, city, ASN and organisation of an IP (MaxMind DB); local",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
};
