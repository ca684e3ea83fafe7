/* `parry migrate` and `parry cases` against a real PostgreSQL
 * (PARRY_PG_DSN), in a schema of their own (libpq options=-csearch_path). */
#include "pg_support.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "parry/buf.h"
#include "parry/codec.h"
#include "parry/log.h"
#include "parry/pg.h"
#include "store/store.h"

typedef struct {
  const char *dsn;
  char schema[128];
  char schema_dsn[2048]; /* dsn + options=-csearch_path=schema */
} fixture_t;

static int group_setup(void **state) {
  static fixture_t fixture;
  fixture.dsn = parry_test_pg_dsn();
  *state = &fixture;
  return 0;
}

static int setup(void **state) {
  fixture_t *f = *state;
  f->schema[0] = '\0';
  if (!f->dsn) return 0;
  if (strncmp(f->dsn, "postgres", 8) == 0) {
    print_message("# PARRY_PG_DSN is a URI: cannot append options, tests skipped\n");
    return 0;
  }
  /* A schema name that needs no quoting inside the options value. */
  static unsigned n;
  snprintf(f->schema, sizeof f->schema, "parry_cli_%ld_%u", (long)getpid(), n++);
  parry_test_pg_schema(f->dsn, "CREATE", f->schema);
  snprintf(f->schema_dsn, sizeof f->schema_dsn, "%s options='-csearch_path=%s'", f->dsn,
           f->schema);
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  if (f->schema[0]) parry_test_pg_schema(f->dsn, "DROP", f->schema);
  return 0;
}

#define NEED_SCHEMA(f)                                                         \
  do {                                                                         \
    if (!(f)->schema[0]) skip();                                               \
  } while (0)

/* Run `parry ARGS...`; out and err captured (caller frees). */
static int run(char **out, char **err, int argc, const char **args) {
  size_t on = 0, en = 0;
  FILE *o = open_memstream(out, &on), *e = open_memstream(err, &en);
  char *argv[16];
  argv[0] = "parry";
  for (int i = 0; i < argc; i++) argv[i + 1] = (char *)args[i];
  argv[argc + 1] = NULL;
  char *envp[] = {NULL};
  int rc = parry_cli_main(argc + 1, argv, envp, o, e);
  fclose(o);
  fclose(e);
  return rc;
}

static void ingest(parry_store_t *s, const char *id, const char *ip, const char *title) {
  Parry__V1__Alert a = PARRY__V1__ALERT__INIT;
  Parry__V1__Label l = PARRY__V1__LABEL__INIT;
  Parry__V1__Label *lp[1] = {&l};
  l.key = "source.ip";
  l.value = (char *)ip;
  a.schema_version = 1;
  a.id = (char *)id;
  a.timestamp_ns = 1764806400LL * 1000000000LL;
  a.rule_id = "ssh-brute-force";
  a.rule_title = (char *)title;
  a.rule_level = "high";
  a.group_by = lp;
  a.n_group_by = 1;
  parry_buf_t b = PARRY_BUF_INIT(0);
  char errstr[512];
  if (parry_alert_to_json(&a, &b, errstr, sizeof errstr)) fail_msg("%s", errstr);
  parry_store_label_t g[1] = {{"source.ip", ip}};
  parry_store_match_t m = {"ssh-block", "v1", g, 1, 3600LL * 1000000000LL, NULL};
  parry_store_alert_in_t in = {&a, b.data, &m, 1};
  parry_store_ingest_result_t r;
  if (parry_store_ingest_alert(s, &in, &r, errstr, sizeof errstr)) fail_msg("%s", errstr);
  parry_buf_free(&b);
}

static void test_migrate_then_cases(void **state) {
  fixture_t *f = *state;
  NEED_SCHEMA(f);
  char *out = NULL, *err = NULL;
  const char *migrate[] = {"migrate", "--dsn", f->schema_dsn};
  assert_int_equal(run(&out, &err, 3, migrate), 0);
  assert_non_null(strstr(out, "case store schema at version 2"));
  free(out);
  free(err);
  /* Again: nothing to do, same answer. */
  assert_int_equal(run(&out, &err, 3, migrate), 0);
  assert_non_null(strstr(out, "version 2"));
  free(out);
  free(err);

  char errstr[512];
  parry_store_t *s = parry_store_open(f->schema_dsn, errstr, sizeof errstr);
  assert_non_null(s);
  ingest(s, "a1", "203.0.113.9", "SSH brute force");
  ingest(s, "a2", "203.0.113.9", "SSH brute force");
  ingest(s, "a3", "198.51.100.4", "evil\x1b[2J\ntitle");
  parry_store_close(s);

  const char *list_json[] = {"cases", "--dsn", f->schema_dsn, "--json"};
  assert_int_equal(run(&out, &err, 4, list_json), 0);
  struct json_object *list = json_tokener_parse(out);
  assert_non_null(list);
  assert_int_equal(json_object_array_length(list), 2);
  struct json_object *first = json_object_array_get_idx(list, 1);
  assert_int_equal(json_object_get_int(json_object_object_get(first, "alert_count")), 2);
  json_object_put(list);
  free(out);
  free(err);

  const char *list_text[] = {"cases", "list", "--dsn", f->schema_dsn, "--status", "open"};
  assert_int_equal(run(&out, &err, 6, list_text), 0);
  assert_non_null(strstr(out, "2 cases"));
  assert_non_null(strstr(out, "{\"source.ip\":\"203.0.113.9\"}"));
  free(out);
  free(err);

  const char *show[] = {"cases", "show", "2", "--dsn", f->schema_dsn};
  assert_int_equal(run(&out, &err, 5, show), 0);
  assert_non_null(strstr(out, "alert_attached"));
  assert_non_null(strstr(out, "case_opened"));
  /* The escape sequence and newline of the hostile title never reach the
   * terminal raw: JSON-escaped in the timeline data. */
  assert_null(strstr(out, "\x1b"));
  assert_null(strstr(out, "evil\n"));
  assert_non_null(strstr(out, "evil\\u001b[2J\\ntitle"));
  free(out);
  free(err);

  const char *show_json[] = {"cases", "show", "1", "--dsn", f->schema_dsn, "--json"};
  assert_int_equal(run(&out, &err, 6, show_json), 0);
  struct json_object *both = json_tokener_parse(out);
  assert_non_null(both);
  assert_int_equal(json_object_array_length(json_object_object_get(both, "timeline")), 3);
  json_object_put(both);
  free(out);
  free(err);

  const char *missing[] = {"cases", "show", "99", "--dsn", f->schema_dsn};
  assert_int_equal(run(&out, &err, 5, missing), 1);
  assert_non_null(strstr(err, "no case 99"));
  free(out);
  free(err);
  const char *bad[] = {"cases", "show", "x1", "--dsn", f->schema_dsn};
  assert_int_equal(run(&out, &err, 5, bad), 2);
  free(out);
  free(err);
}

static void test_cases_before_migrate(void **state) {
  fixture_t *f = *state;
  NEED_SCHEMA(f);
  char *out = NULL, *err = NULL;
  const char *list[] = {"cases", "--dsn", f->schema_dsn};
  assert_int_equal(run(&out, &err, 3, list), 1);
  assert_non_null(strstr(err, "parry migrate"));
  free(out);
  free(err);
  /* A store on an unmigrated schema connects, but is not ready. */
  char errstr[512];
  parry_store_t *s = parry_store_open(f->schema_dsn, errstr, sizeof errstr);
  assert_non_null(s);
  assert_int_equal(parry_store_ping(s, errstr, sizeof errstr), PARRY_ERR_EXTERNAL);
  assert_non_null(strstr(errstr, "parry migrate"));
  assert_int_equal(parry_store_migrate(s, NULL, errstr, sizeof errstr), PARRY_OK);
  assert_int_equal(parry_store_ping(s, errstr, sizeof errstr), PARRY_OK);
  parry_store_close(s);
  const char *nodsn[] = {"cases"};
  assert_int_equal(run(&out, &err, 1, nodsn), 2);
  assert_non_null(strstr(err, "no database"));
  free(out);
  free(err);
}

int main(void) {
  parry_log_init("test_store_cli", PARRY_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_migrate_then_cases, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cases_before_migrate, setup, teardown),
  };
  return cmocka_run_group_tests_name("store_cli", tests, group_setup, NULL);
}
