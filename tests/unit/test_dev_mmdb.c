/* The GeoIP database `parry dev` writes (cli/dev/mmdb.c), read back by
 * libmaxminddb and by the geoip connector the runbooks use:
 *
 *   - the demo's networks: every address of each range answers its country,
 *     city, location and network owner; the internal 10.66.0.0/16 scanner
 *     and other addresses are not found; the metadata is what MaxMind's
 *     readers expect;
 *   - many networks, long strings (sizes past the one-byte forms) and /32s
 *     read back exactly;
 *   - a malformed or overlapping network is refused. */
#include <maxminddb.h>

#include "dev/dev.h"
#include "test_connector_util.h"

static void db_path(char *out, size_t n) { tc_temp_path("dev-geo.mmdb", out, n); }

static void geo(parry_conn_engine_t *e, const char *ip, tc_result_t *r) {
  char in[128];
  snprintf(in, sizeof in, "{\"ip\":\"%s\"}", ip);
  tc_run(e, "geoip", in, NULL, 0, r);
  assert_int_equal(r->status, PARRY_CONN_OK);
}

static parry_conn_engine_t *engine_for(const char *path) {
  char yaml[PATH_MAX + 64];
  snprintf(yaml, sizeof yaml, "geoip:\n  database: %s\n", path);
  return tc_engine(yaml);
}

static void test_demo_database(void **state) {
  (void)state;
  char path[PATH_MAX], err[256] = "";
  db_path(path, sizeof path);
  if (!dev_mmdb_write(path, dev_geo_demo_networks, dev_geo_demo_count, err, sizeof err))
    fail_msg("%s", err);
  MMDB_s db;
  assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &db), MMDB_SUCCESS);
  assert_int_equal(db.metadata.ip_version, 4);
  assert_int_equal(db.metadata.record_size, 24);
  assert_int_equal(db.metadata.binary_format_major_version, 2);
  assert_string_equal(db.metadata.database_type, "Parry-Dev-City");
  assert_int_equal(db.metadata.languages.count, 1);
  assert_string_equal(db.metadata.languages.names[0], "en");
  MMDB_close(&db);

  parry_conn_engine_t *e = engine_for(path);
  tc_result_t r;
  /* first, middle and last address of each range */
  static const char *const fr[] = {"203.0.113.0", "203.0.113.192", "203.0.113.255"};
  for (size_t i = 0; i < 3; i++) {
    geo(e, fr[i], &r);
    assert_string_equal(tc_get(r.outputs, "found"), "true");
    assert_string_equal(tc_get(r.outputs, "country"), "FR");
    assert_string_equal(tc_get(r.outputs, "country_name"), "France");
    assert_string_equal(tc_get(r.outputs, "city"), "Paris");
    assert_string_equal(tc_get(r.outputs, "org"), "Example Transit");
    assert_int_equal(json_object_get_int(json_object_object_get(r.outputs, "asn")), 64500);
    double lat = json_object_get_double(json_object_object_get(r.outputs, "latitude"));
    double lon = json_object_get_double(json_object_object_get(r.outputs, "longitude"));
    assert_true(lat == 48.8566 && lon == 2.3522);
    tc_result_free(&r);
  }
  geo(e, "198.51.100.58", &r);
  assert_string_equal(tc_get(r.outputs, "country"), "DE");
  assert_string_equal(tc_get(r.outputs, "city"), "Berlin");
  tc_result_free(&r);
  geo(e, "192.0.2.52", &r);
  assert_string_equal(tc_get(r.outputs, "country"), "NL");
  assert_string_equal(tc_get(r.outputs, "country_name"), "Netherlands");
  tc_result_free(&r);
  /* neighbours of the ranges, private space, the internal scanner */
  static const char *const none[] = {"203.0.112.255", "203.0.114.0", "198.51.101.1",
                                     "192.0.3.1",     "10.66.247.12", "0.0.0.0",
                                     "255.255.255.255"};
  for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
    geo(e, none[i], &r);
    if (strcmp(tc_get(r.outputs, "found"), "false") != 0) fail_msg("%s found", none[i]);
    assert_null(tc_get(r.outputs, "country"));
    tc_result_free(&r);
  }
  parry_conn_engine_destroy(e);
  unlink(path);
}

static void test_many_networks(void **state) {
  (void)state;
  enum { N = 300 };
  static char cidrs[N][32], cities[N][400];
  static dev_geo_net_t nets[N];
  for (int i = 0; i < N; i++) {
    /* /32s in 100.64.x.y, each with a city name of 1..399 bytes */
    snprintf(cidrs[i], sizeof cidrs[i], "100.64.%d.%d/32", i / 7, i % 7 * 31);
    size_t len = (size_t)(i * 4 % 399) + 1;
    for (size_t k = 0; k < len; k++) cities[i][k] = (char)('a' + (i + (int)k) % 26);
    cities[i][len] = '\0';
    nets[i] = (dev_geo_net_t){cidrs[i], "ZZ", "Nowhere", cities[i], -33.5, 151.25,
                              (uint32_t)(70000 + i), NULL};
  }
  char path[PATH_MAX], err[256] = "";
  db_path(path, sizeof path);
  if (!dev_mmdb_write(path, nets, N, err, sizeof err)) fail_msg("%s", err);
  parry_conn_engine_t *e = engine_for(path);
  tc_result_t r;
  for (int i = 0; i < N; i += 13) {
    char ip[32];
    snprintf(ip, sizeof ip, "100.64.%d.%d", i / 7, i % 7 * 31);
    geo(e, ip, &r);
    assert_string_equal(tc_get(r.outputs, "city"), cities[i]);
    assert_int_equal(json_object_get_int(json_object_object_get(r.outputs, "asn")), 70000 + i);
    assert_null(tc_get(r.outputs, "org"));
    tc_result_free(&r);
    snprintf(ip, sizeof ip, "100.64.%d.%d", i / 7, i % 7 * 31 + 1); /* the next address */
    geo(e, ip, &r);
    assert_string_equal(tc_get(r.outputs, "found"), "false");
    tc_result_free(&r);
  }
  parry_conn_engine_destroy(e);
  unlink(path);
}

static void test_refused(void **state) {
  (void)state;
  char path[PATH_MAX], err[256] = "";
  db_path(path, sizeof path);
  dev_geo_net_t bad[] = {{"203.0.113.0/24", "FR", "France", NULL, 0, 0, 0, NULL},
                         {"203.0.113.128/25", "DE", "Germany", NULL, 0, 0, 0, NULL}};
  assert_false(dev_mmdb_write(path, bad, 2, err, sizeof err));
  assert_non_null(strstr(err, "overlaps"));
  bad[0].cidr = "203.0.113.0/24";
  bad[1].cidr = "203.0.0.0/16"; /* the wider one second */
  assert_false(dev_mmdb_write(path, bad, 2, err, sizeof err));
  assert_non_null(strstr(err, "overlaps"));
  static const char *const malformed[] = {"203.0.113.0", "203.0.113.0/33", "203.0.113.0/0",
                                          "2001:db8::/32", "x/8", "1.2.3.4/8x"};
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
    bad[0].cidr = malformed[i];
    err[0] = '\0';
    assert_false(dev_mmdb_write(path, bad, 1, err, sizeof err));
    assert_non_null(strstr(err, "bad IPv4 network"));
  }
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_demo_database),
      cmocka_unit_test(test_many_networks),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
