/* Connector secrets never reach the case store, wherever they turn up
 * (KAFKA_BOOTSTRAP and PARRY_PG_DSN; skipped when either is unset unless
 * PARRY_REQUIRE_SERVICES=1). The executor runs in-process with a connectors
 * file whose secrets come from the environment and from a file, against a
 * loopback stand-in (parry-standin) that echoes them back:
 *
 *   - an answer holding the bearer token as a value and as a member name,
 *     and the Basic credentials as sent (base64 of user:password), kept as
 *     a step's output;
 *   - an error answer (403) quoting the token, which becomes the step's
 *     error;
 *   - an alert quoting the token (a log line that leaked it), rendered into
 *     the inputs of an http step and into a case note: those never pass
 *     through the connector engine, only the case store's value masking
 *     (parry_store_add_connector_secrets, registered by the worker on every
 *     store it opens) catches them.
 *
 * Then no stored text (timeline, step runs, runs, cases) holds any secret,
 * in any of its forms, while the stand-in's record proves each was sent. */
#include "test_executor_support.h"

#include "store/store_internal.h" /* the secrets a store holds */

#include <curl/curl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>

#define STANDIN_TOKEN "standin-control-token"
#define FW_TOKEN "fw-bearer-7c1e2d9a5b40"
#define JIRA_USER "parry-bot"
#define JIRA_PASS "jira-pass-3f8a1c6e2d"
/* base64("parry-bot:jira-pass-3f8a1c6e2d"), what the Authorization header carries */
#define JIRA_BASIC "cGFycnktYm90OmppcmEtcGFzcy0zZjhhMWM2ZTJk"
#define HOOK_PATH "/services/T0/B0/hook-secret-9d2f61"

typedef struct {
  int port;
  char record[512];
} standin_t;

/* Start `parry-standin http` and read its "listening 127.0.0.1:PORT". */
static void standin_start(ex_fixture_t *f, standin_t *s) {
  char exe[PATH_MAX], path[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = '\0';
  snprintf(path, sizeof path, "%s/../bin/parry-standin", dirname(exe));
  snprintf(s->record, sizeof s->record, "%s/http-record.ndjson", f->tmpdir);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(path, path, "http", "--port", "0", "--record", s->record, "--token", STANDIN_TOKEN,
          (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *fp = fdopen(fds[0], "r");
  char line[256] = "";
  if (!fgets(line, sizeof line, fp)) fail_msg("%s did not start", path);
  fclose(fp);
  assert_true(f->n_helpers < 8);
  f->helpers[f->n_helpers++] = pid; /* stopped by the teardown */
  const char *colon = strrchr(line, ':');
  assert_non_null(colon);
  s->port = atoi(colon + 1);
  assert_true(s->port > 0);
}

static void standin_control(const standin_t *s, const char *json) {
  ex_standin_control(s->port, STANDIN_TOKEN, json);
}

/* The stand-in's whole record, as text. */
static char *record_text(const standin_t *s) {
  FILE *fp = fopen(s->record, "r");
  if (!fp) return parry_xstrdup("");
  parry_buf_t b = PARRY_BUF_INIT(0);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) parry_buf_append(&b, chunk, n);
  fclose(fp);
  parry_buf_append_char(&b, '\0');
  return parry_buf_steal(&b);
}

static const char runbook[] =
    "name: secrets\n"
    "match:\n  rules: [R-SECRET]\n"
    "steps:\n"
    /* an answer echoing the token and the Basic credentials, kept as output */
    "  - id: echo_value\n    uses: http\n"
    "    with: {target: firewall, url: /echo, method: GET}\n"
    "  - id: echo_basic\n    uses: http\n"
    "    with: {target: jira, url: /echo, method: GET}\n"
    /* an error answer quoting the token */
    "  - id: echo_error\n    uses: http\n    on_failure: continue\n"
    "    with: {target: firewall, url: /deny, method: GET}\n"
    /* alert data quoting the token: inputs the engine never returns */
    "  - id: leak_input\n    uses: http\n    needs: [echo_value, echo_basic, echo_error]\n"
    "    with:\n      target: firewall\n      url: /note\n"
    "      body: {note: 'seen in the logs: {{ alert.rule.description }}'}\n"
    "  - id: leak_note\n    uses: case_update\n    needs: [leak_input]\n"
    "    with: {tags: [leaked], note: 'log line: {{ alert.rule.description }}'}\n";

/* Rows of stored text holding `needle` anywhere. */
static long long stored_hits(ex_fixture_t *f, const char *needle) {
  char like[256];
  snprintf(like, sizeof like, "%%%s%%", needle);
  return ex_q_int(f,
                  "SELECT (SELECT count(*) FROM case_timeline WHERE data::text LIKE $1)"
                  " + (SELECT count(*) FROM step_runs WHERE coalesce(inputs::text, '') ||"
                  "    coalesce(outputs::text, '') || coalesce(error, '') LIKE $1)"
                  " + (SELECT count(*) FROM runs WHERE coalesce(error, '') LIKE $1)"
                  " + (SELECT count(*) FROM cases c WHERE row_to_json(c)::text LIKE $1)",
                  like);
}

static void test_secrets_masked_in_store(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  standin_t http = {0};
  standin_start(f, &http);
  char rules[1024];
  snprintf(rules, sizeof rules,
           "[{\"path\":\"/fw/echo\",\"status\":200,\"body\":{\"you_sent\":\"Bearer " FW_TOKEN
           "\",\"" FW_TOKEN "\":\"the token as a member name\"}},"
           "{\"path\":\"/jira/echo\",\"status\":200,\"body\":{\"seen\":\"Basic " JIRA_BASIC
           "\",\"user\":\"" JIRA_USER "\"}},"
           "{\"path\":\"/fw/deny\",\"status\":403,\"body\":\"token " FW_TOKEN " refused\"}]");
  standin_control(&http, rules);

  /* Secrets as a deployment gives them: one in the environment, one in a
   * file, a webhook URL in the file itself. */
  char secret_file[600], conn[600], text[2048];
  snprintf(secret_file, sizeof secret_file, "%s/jira-password", f->tmpdir);
  ex_write_file(secret_file, JIRA_PASS "\n");
  setenv("SOC_TEST_SECRETS_FW_TOKEN", FW_TOKEN, 1);
  snprintf(text, sizeof text,
           "targets:\n"
           "  firewall:\n    base_url: http://127.0.0.1:%d/fw\n"
           "    auth: {type: bearer, token_env: SOC_TEST_SECRETS_FW_TOKEN}\n"
           "  jira:\n    base_url: http://127.0.0.1:%d/jira\n"
           "    auth: {type: basic, user: " JIRA_USER ", password_file: %s}\n"
           "  slack:\n    url: http://127.0.0.1:%d" HOOK_PATH "\n",
           http.port, http.port, secret_file, http.port);
  snprintf(conn, sizeof conn, "%s/connectors.yml", f->tmpdir);
  ex_write_file(conn, text);
  ex_set(f->cfg, "executor.connectors=%s", conn);
  ex_runbook(f, "secrets.yml", runbook);
  ex_start(f);

  const char *json =
      "{\"@timestamp\":\"2026-12-04T10:00:00Z\",\"id\":\"s-1\",\"rule\":{\"id\":\"R-SECRET\","
      "\"title\":\"Token in a command line\",\"level\":\"high\",\"description\":\"curl -H "
      "'Authorization: Bearer " FW_TOKEN "' " HOOK_PATH " -u " JIRA_USER ":" JIRA_PASS
      " (" JIRA_BASIC ")\"},\"group_by\":{\"source.ip\":\"192.0.2.10\"}}";
  ex_produce_alert(f, "s", json);
  ex_flush(f);
  assert_true(ex_wait_count(f, "SELECT count(*) FROM runs WHERE state IN ('succeeded', 'failed')",
                            1, EX_WAIT_MS));

  /* Every step did what it should, so each secret had its way in. */
  char *run = ex_q_text(f, "SELECT state || ': ' || coalesce(error, '') FROM runs", NULL);
  assert_string_equal(run, "succeeded: ");
  free(run);
  char *states = ex_q_text(f, "SELECT string_agg(step_id || '=' || state, ',' ORDER BY step_id) "
                              "FROM step_runs", NULL);
  assert_string_equal(states, "echo_basic=succeeded,echo_error=failed,echo_value=succeeded,"
                              "leak_input=succeeded,leak_note=succeeded");
  free(states);
  char *rec = record_text(&http);
  assert_non_null(strstr(rec, "Bearer " FW_TOKEN)); /* sent to the firewall */
  assert_non_null(strstr(rec, "Basic " JIRA_BASIC)); /* sent to Jira */
  assert_non_null(strstr(rec, "seen in the logs: curl -H")); /* the rendered note */
  free(rec);

  /* What was stored in their place: masked, the rest intact. */
  char *out = ex_q_text(f, "SELECT outputs->'body'->>'you_sent' FROM step_runs "
                           "WHERE step_id = 'echo_value'", NULL);
  assert_non_null(out);
  if (!strstr(out, "Bearer ") || !strstr(out, "***")) fail_msg("you_sent stored as %s", out);
  free(out);
  out = ex_q_text(f, "SELECT outputs->'body'->>'seen' FROM step_runs "
                     "WHERE step_id = 'echo_basic'", NULL);
  assert_non_null(out);
  if (!strstr(out, "Basic ") || !strstr(out, "***")) fail_msg("seen stored as %s", out);
  free(out);
  out = ex_q_text(f, "SELECT error FROM step_runs WHERE step_id = 'echo_error'", NULL);
  assert_non_null(out);
  if (!strstr(out, "403") || !strstr(out, "refused")) fail_msg("error stored as %s", out);
  free(out);
  out = ex_q_text(f, "SELECT inputs->'body'->>'note' FROM step_runs "
                     "WHERE step_id = 'leak_input'", NULL);
  assert_non_null(out);
  if (!strstr(out, "seen in the logs: curl -H 'Authorization: Bearer ****'"))
    fail_msg("leak_input's note stored as %s", out);
  free(out);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM cases WHERE 'leaked' = ANY(tags)", NULL), 1);
  assert_int_equal(ex_q_int(f, "SELECT count(*) FROM case_timeline WHERE kind = 'case_updated' "
                               "AND data::text LIKE '%log line: curl%'", NULL), 1);

  /* No secret anywhere in the stored text, in any form. */
  static const char *const secrets[] = {FW_TOKEN, JIRA_PASS, JIRA_BASIC, HOOK_PATH};
  for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
    long long hits = stored_hits(f, secrets[i]);
    if (hits) fail_msg("%lld stored rows hold secret #%zu", hits, i);
  }
  ex_stop(f);
  unsetenv("SOC_TEST_SECRETS_FW_TOKEN");
}

/* A connectors file that cannot be loaded any more (its secret gone) stops
 * stores from opening: nothing is stored without its secrets registered. */
static void test_store_refuses_without_secrets(void **state) {
  ex_fixture_t *f = *state;
  EX_NEED_SERVICES(f);
  char conn[600];
  snprintf(conn, sizeof conn, "%s/connectors.yml", f->tmpdir);
  ex_write_file(conn, "targets:\n  fw:\n    base_url: http://127.0.0.1:1/fw\n"
                      "    auth: {type: bearer, token_env: SOC_TEST_SECRETS_UNSET}\n");
  unsetenv("SOC_TEST_SECRETS_UNSET");
  parry_config_t *settings = parry_config_new();
  char err[512];
  if (parry_config_set(settings, "executor.connectors=", "test", err, sizeof err))
    fail_msg("%s", err);
  parry_store_t *s = parry_store_open(f->schema_dsn, err, sizeof err);
  assert_non_null(s);
  /* No file configured: nothing to register, fine. */
  assert_int_equal(parry_store_add_connector_secrets(s, settings, err, sizeof err), PARRY_OK);
  char kv[700];
  snprintf(kv, sizeof kv, "executor.connectors=%s", conn);
  if (parry_config_set(settings, kv, "test", err, sizeof err)) fail_msg("%s", err);
  err[0] = '\0';
  assert_int_not_equal(parry_store_add_connector_secrets(s, settings, err, sizeof err), PARRY_OK);
  assert_non_null(strstr(err, "SOC_TEST_SECRETS_UNSET"));
  assert_int_equal(s->n_secrets, 0);
  /* Once set, its value is registered with the store (and only it). */
  setenv("SOC_TEST_SECRETS_UNSET", "late-token-0123456789", 1);
  assert_int_equal(parry_store_add_connector_secrets(s, settings, err, sizeof err), PARRY_OK);
  unsetenv("SOC_TEST_SECRETS_UNSET");
  assert_int_equal(s->n_secrets, 1);
  assert_string_equal(s->secrets[0], "late-token-0123456789");
  parry_store_close(s);
  parry_config_destroy(settings);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_secrets_masked_in_store, ex_setup, ex_teardown),
      cmocka_unit_test_setup_teardown(test_store_refuses_without_secrets, ex_setup, ex_teardown),
  };
  int rc = cmocka_run_group_tests(tests, ex_group_setup, NULL);
  curl_global_cleanup();
  return rc;
}
