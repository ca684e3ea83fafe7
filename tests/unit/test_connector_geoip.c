/* The geoip connector on a MaxMind DB generated at test time by
 * tests/stand-ins/make_mmdb.py (no MMDB writer is packaged). */
#include "test_connector_util.h"

static char db[PATH_MAX];
static parry_conn_engine_t *eng;

#define NEED_DB()                                                                            \
  do {                                                                                       \
    if (!eng) {                                                                              \
      printf("# skipping: python3 is needed to generate the test GeoIP database\n");        \
      skip();                                                                                \
    }                                                                                        \
  } while (0)

static int setup(void **state) {
  (void)state;
  tc_temp_path("geoip.mmdb", db, sizeof db);
  char script[PATH_MAX];
  int w = snprintf(script, sizeof script, "%s/tests/stand-ins/make_mmdb.py", parry_test_source_dir());
  assert_true(w > 0 && (size_t)w < sizeof script);
  const char *argv[] = {"python3", script, db, NULL};
  pid_t pid;
  if (posix_spawnp(&pid, "python3", NULL, NULL, (char *const *)argv, environ) != 0) return 0;
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return 0; /* no python3 */
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  char yaml[PATH_MAX + 64];
  w = snprintf(yaml, sizeof yaml, "geoip:\n  database: %s\n", db);
  assert_true(w > 0 && (size_t)w < sizeof yaml);
  eng = tc_engine(yaml);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  parry_conn_engine_destroy(eng);
  eng = NULL;
  unlink(db);
  return 0;
}

static void test_city_and_asn(void **state) {
  (void)state;
  NEED_DB();
  tc_result_t r;
  tc_run(eng, "geoip", "{\"ip\":\"203.0.113.7\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "found"), "true");
  assert_string_equal(tc_get(r.outputs, "country"), "FR");
  assert_string_equal(tc_get(r.outputs, "country_name"), "France");
  assert_string_equal(tc_get(r.outputs, "city"), "Paris");
  assert_string_equal(tc_get(r.outputs, "asn"), "64500");
  assert_string_equal(tc_get(r.outputs, "org"), "Example Transit");
  double lat = json_object_get_double(json_object_object_get(r.outputs, "latitude"));
  assert_true(lat > 48.85 && lat < 48.86);
  tc_result_free(&r);
}

static void test_partial_and_missing(void **state) {
  (void)state;
  NEED_DB();
  tc_result_t r;
  tc_run(eng, "geoip", "{\"ip\":\"198.51.100.200\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "country"), "DE");
  assert_null(tc_get(r.outputs, "asn")); /* absent, not invented */
  tc_result_free(&r);
  tc_run(eng, "geoip", "{\"ip\":\"192.0.2.200\"}", NULL, 0, &r);
  assert_string_equal(tc_get(r.outputs, "org"), "Doc Net \"quoted\"");
  assert_null(tc_get(r.outputs, "city"));
  tc_result_free(&r);
  /* the lower half of 192.0.2.0/24 is not in the database */
  tc_run(eng, "geoip", "{\"ip\":\"192.0.2.5\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_OK);
  assert_string_equal(tc_get(r.outputs, "found"), "false");
  assert_null(tc_get(r.outputs, "country"));
  tc_result_free(&r);
  tc_run(eng, "geoip", "{\"ip\":\"not-an-ip; rm\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  tc_result_free(&r);
}

static void test_no_database_configured(void **state) {
  (void)state;
  parry_conn_engine_t *e = tc_engine("");
  tc_result_t r;
  tc_run(e, "geoip", "{\"ip\":\"203.0.113.7\"}", NULL, 0, &r);
  assert_int_equal(r.status, PARRY_CONN_FAILED);
  assert_non_null(strstr(r.error, "geoip.database"));
  tc_result_free(&r);
  parry_conn_engine_destroy(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_city_and_asn),
      cmocka_unit_test(test_partial_and_missing),
      cmocka_unit_test(test_no_database_configured),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
