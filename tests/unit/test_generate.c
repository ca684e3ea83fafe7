/* parry generate (cli/generate/gen.h): determinism, every record accepted
 * by the real normalizer, the attackers there with their counts, and the
 * background staying below what a brute-force rule counts. */
#include "test_support.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "generate/gen.h"
#include "normalize.h"
#include "parry/codec.h"

static char *run_generate(const char *const *args, int n, int *rc) {
  char *argv[16];
  argv[0] = "generate";
  for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
  argv[n + 1] = NULL;
  char *obuf = NULL, *ebuf = NULL;
  size_t olen = 0, elen = 0;
  FILE *out = open_memstream(&obuf, &olen), *err = open_memstream(&ebuf, &elen);
  char *envp[] = {NULL};
  *rc = parry_cmd_generate(n + 1, argv, envp, out, err);
  fclose(out);
  fclose(err);
  free(ebuf);
  return obuf;
}

static void test_same_seed_same_bytes(void **state) {
  (void)state;
  const char *a[] = {"--seed", "42", "--duration", "5m", "--rate", "8"};
  int rc1, rc2, rc3;
  char *o1 = run_generate(a, 6, &rc1), *o2 = run_generate(a, 6, &rc2);
  assert_int_equal(rc1, 0);
  assert_int_equal(rc2, 0);
  assert_true(strlen(o1) > 10000);
  assert_string_equal(o1, o2);
  const char *b[] = {"--seed", "43", "--duration", "5m", "--rate", "8"};
  char *o3 = run_generate(b, 6, &rc3);
  assert_int_equal(rc3, 0);
  assert_string_not_equal(o1, o3);
  free(o1);
  free(o2);
  free(o3);
}

static void test_bad_options(void **state) {
  (void)state;
  int rc;
  const char *a[] = {"--format", "xml"};
  free(run_generate(a, 2, &rc));
  assert_int_equal(rc, 2);
  const char *b[] = {"--duration", "1s"};
  free(run_generate(b, 2, &rc));
  assert_int_equal(rc, 2);
  const char *c[] = {"--start", "yesterday"};
  free(run_generate(c, 2, &rc));
  assert_int_equal(rc, 2);
}

/* ---- normalization ---------------------------------------------------- */

typedef struct {
  uint64_t events, rejects;
  /* failed password events (event.action) per attacker address */
  const parry_gen_t *g;
  uint64_t ssh_failed[4], win_failed[4];
  char last_reject[512];
} norm_t;

static const char *field_str(const Parry__V1__Event *ev, const char *dotted, parry_buf_t *tmp) {
  parry_buf_reset(tmp);
  char why[128];
  if (parry_event_to_json(ev, tmp, why, sizeof why) != PARRY_OK) return NULL;
  return tmp->data;
}

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  norm_t *n = opaque;
  n->events++;
  parry_buf_t tmp = PARRY_BUF_INIT(0);
  const char *js = field_str(ev, NULL, &tmp);
  assert_non_null(js);
  json_object *o = json_tokener_parse(js);
  assert_non_null(o);
  json_object *event, *action, *source, *ip;
  const char *act = NULL, *addr = NULL;
  if (json_object_object_get_ex(o, "event", &event) &&
      json_object_object_get_ex(event, "action", &action))
    act = json_object_get_string(action);
  if (json_object_object_get_ex(o, "source", &source) &&
      json_object_object_get_ex(source, "ip", &ip))
    addr = json_object_get_string(ip);
  if (act && addr) {
    for (size_t i = 0; i < parry_gen_attacker_count(n->g); i++) {
      if (strcmp(addr, parry_gen_attacker(n->g, i)->source_ip) != 0) continue;
      if (strcmp(act, "ssh-password-failed") == 0) n->ssh_failed[i]++;
      if (strcmp(act, "logon-failed") == 0) n->win_failed[i]++;
    }
  }
  json_object_put(o);
  parry_buf_free(&tmp);
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  norm_t *n = opaque;
  n->rejects++;
  snprintf(n->last_reject, sizeof n->last_reject, "%s: %.*s", reason, (int)(len > 300 ? 300 : len),
           rec);
}

static void test_every_record_normalizes(void **state) {
  (void)state;
  parry_gen_options_t o;
  parry_gen_options_default(&o);
  o.seed = 3;
  o.rate = 20;
  char errstr[256];
  parry_gen_t *g = parry_gen_new(&o, errstr, sizeof errstr);
  assert_non_null(g);
  parry_config_t *cfg = parry_config_new();
  parry_normalizer_t *nz = NULL;
  assert_int_equal(parry_normalizer_new(cfg, NULL, &nz, errstr, sizeof errstr), PARRY_OK);
  norm_t n = {.g = g};
  static const parry_normalize_sink_t sink = {on_event, on_reject};
  parry_stream_t *s = parry_stream_new(nz, "test:generate", &sink, &n);
  /* read as if at the end of the run, so syslog lines get the right year */
  int64_t now = o.start_ns + o.duration_ns;
  for (size_t i = 0; i < parry_gen_count(g); i++) {
    const parry_gen_record_t *r = parry_gen_record(g, i);
    parry_stream_record(s, r->text, r->len, i, now);
  }
  if (n.rejects) print_error("last reject: %s\n", n.last_reject);
  assert_int_equal(n.rejects, 0);
  assert_int_equal(n.events, parry_gen_count(g));
  assert_true(parry_gen_count_kind(g, PARRY_GEN_SYSLOG) > 1000);
  assert_true(parry_gen_count_kind(g, PARRY_GEN_WINDOWS) > 1000);

  /* the attackers, as the parser sees them */
  assert_int_equal(parry_gen_attacker_count(g), 4);
  for (size_t i = 0; i < 4; i++) {
    const parry_gen_attacker_t *a = parry_gen_attacker(g, i);
    uint64_t seen = a->format == PARRY_GEN_SYSLOG ? n.ssh_failed[i] : n.win_failed[i];
    assert_int_equal(seen, a->failures);
  }
  parry_stream_destroy(s);
  parry_normalizer_destroy(nz);
  parry_config_destroy(cfg);
  parry_gen_destroy(g);
}

/* ---- the attackers and the background --------------------------------- */

static size_t count_lines_with(const parry_gen_t *g, const char *a, const char *b) {
  size_t n = 0;
  for (size_t i = 0; i < parry_gen_count(g); i++) {
    const char *t = parry_gen_record(g, i)->text;
    if (strstr(t, a) && (!b || strstr(t, b))) n++;
  }
  return n;
}

static void test_attackers_and_background(void **state) {
  (void)state;
  parry_gen_options_t o;
  parry_gen_options_default(&o);
  o.seed = 11;
  char errstr[256];
  parry_gen_t *g = parry_gen_new(&o, errstr, sizeof errstr);
  assert_non_null(g);
  const parry_gen_attacker_t *fast = parry_gen_attacker(g, 0), *slow = parry_gen_attacker(g, 1),
                             *spray = parry_gen_attacker(g, 2), *allow = parry_gen_attacker(g, 3);
  assert_string_equal(fast->name, "ssh-fast-bruteforce");
  assert_string_equal(slow->name, "ssh-slow-bruteforce");
  assert_string_equal(spray->name, "windows-password-spray");
  assert_string_equal(allow->name, "ssh-allowlisted-bruteforce");

  char needle[64];
  snprintf(needle, sizeof needle, "from %s port", fast->source_ip);
  assert_int_equal(count_lines_with(g, "Failed password", needle), 40);
  assert_int_equal(fast->failures, 40);
  assert_true(fast->last_ns - fast->first_ns <= 60LL * 1000000000);

  snprintf(needle, sizeof needle, "from %s port", slow->source_ip);
  assert_int_equal(count_lines_with(g, "Failed password", needle), 12);
  /* slow: over four minutes, inside five, never two failures in 15 s */
  assert_true(slow->last_ns - slow->first_ns >= 240LL * 1000000000);
  assert_true(slow->last_ns - slow->first_ns < 300LL * 1000000000);

  snprintf(needle, sizeof needle, "\"IpAddress\": \"%s\"", spray->source_ip);
  assert_int_equal(count_lines_with(g, "\"EventID\": 4625", needle), 30);
  assert_int_equal(spray->users, 30);

  assert_true(allow->allowlisted);
  assert_false(allow->expect_block);
  assert_true(allow->expect_case);
  assert_int_equal(strncmp(allow->source_ip, "10.66.", 6), 0);
  snprintf(needle, sizeof needle, "from %s port", allow->source_ip);
  assert_int_equal(count_lines_with(g, "Failed password", needle), allow->failures);
  assert_true(fast->expect_block && slow->expect_block && spray->expect_block);

  /* Background: no other address gets more than 2 failed passwords in any
   * 5-minute window (so only the attackers can trip a brute-force rule). */
  int64_t prev = o.start_ns;
  for (size_t i = 0; i < parry_gen_count(g); i++) {
    const parry_gen_record_t *r = parry_gen_record(g, i);
    assert_true(r->ts_ns >= prev);
    assert_true(r->ts_ns < o.start_ns + o.duration_ns);
    prev = r->ts_ns;
    const char *f = strstr(r->text, "Failed password for ");
    if (!f) continue;
    const char *from = strstr(f, " from ");
    assert_non_null(from);
    char ip[16] = "";
    sscanf(from, " from %15s", ip);
    bool is_attacker = false;
    for (size_t k = 0; k < 4; k++)
      if (strcmp(ip, parry_gen_attacker(g, k)->source_ip) == 0) is_attacker = true;
    if (is_attacker) continue;
    size_t within = 0;
    snprintf(needle, sizeof needle, "from %s port", ip);
    for (size_t j = i; j < parry_gen_count(g); j++) {
      const parry_gen_record_t *q = parry_gen_record(g, j);
      if (q->ts_ns - r->ts_ns > 300LL * 1000000000) break;
      if (strstr(q->text, "Failed password") && strstr(q->text, needle)) within++;
    }
    assert_in_range(within, 1, 2);
  }

  /* the manifest is JSON and names the four */
  parry_buf_t m = PARRY_BUF_INIT(0);
  parry_gen_manifest(g, &m);
  json_object *mo = json_tokener_parse(m.data), *att, *first, *v;
  assert_non_null(mo);
  assert_true(json_object_object_get_ex(mo, "attackers", &att));
  assert_int_equal(json_object_array_length(att), 4);
  first = json_object_array_get_idx(att, 0);
  assert_true(json_object_object_get_ex(first, "source_ip", &v));
  assert_string_equal(json_object_get_string(v), fast->source_ip);
  assert_true(json_object_object_get_ex(first, "failures", &v));
  assert_int_equal(json_object_get_int(v), 40);
  json_object_put(mo);
  parry_buf_free(&m);
  parry_gen_destroy(g);
}

static void test_format_and_files(void **state) {
  (void)state;
  char dir[] = "/tmp/parry-gen-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char fs[64], fw[64], fm[64];
  snprintf(fs, sizeof fs, "%s/auth.log", dir);
  snprintf(fw, sizeof fw, "%s/win.jsonl", dir);
  snprintf(fm, sizeof fm, "%s/m.json", dir);
  const char *a[] = {"--seed", "5", "--duration", "2m", "--out-syslog", fs, "--out-windows", fw,
                     "--manifest", fm};
  int rc;
  char *o = run_generate(a, 10, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(o, ""); /* everything went to files */
  free(o);
  char line[8192];
  FILE *f = fopen(fs, "r");
  assert_non_null(f);
  size_t n = 0;
  while (fgets(line, sizeof line, f)) {
    assert_true(strstr(line, " sshd[") != NULL);
    n++;
  }
  fclose(f);
  assert_true(n > 100);
  f = fopen(fw, "r");
  assert_non_null(f);
  n = 0;
  while (fgets(line, sizeof line, f)) {
    assert_int_equal(strncmp(line, "{\"Event\": {\"System\": ", 21), 0);
    n++;
  }
  fclose(f);
  assert_true(n > 50);
  f = fopen(fm, "r");
  assert_non_null(f);
  fclose(f);
  /* syslog only: no Windows attacker, no Windows record */
  const char *b[] = {"--seed", "5", "--duration", "2m", "--format", "syslog"};
  o = run_generate(b, 6, &rc);
  assert_int_equal(rc, 0);
  assert_null(strstr(o, "{\"Event\""));
  assert_non_null(strstr(o, "Failed password"));
  free(o);
  unlink(fs);
  unlink(fw);
  unlink(fm);
  rmdir(dir);
}

/* The example rules, offline (`parry detect`), over the generated traffic:
 * each attacker raises correlation alerts for its own address, and nothing
 * else does. Skips until the examples exist. */
static void test_example_rules_see_the_attackers(void **state) {
  (void)state;
  char rules[4096];
  snprintf(rules, sizeof rules, "%s/examples/rules", parry_test_source_dir());
  if (access(rules, R_OK) != 0) {
    print_message("skipped: no %s\n", rules);
    skip();
  }
  char dir[] = "/tmp/parry-gen-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char traffic[64];
  snprintf(traffic, sizeof traffic, "%s/traffic.log", dir);
  int rc;
  const char *b[] = {"--seed", "1", "--duration", "6m"}; /* both kinds, interleaved */
  char *all = run_generate(b, 4, &rc);
  assert_int_equal(rc, 0);
  FILE *f = fopen(traffic, "w");
  assert_non_null(f);
  fputs(all, f);
  fclose(f);
  free(all);

  char *argv[] = {"parry", "detect", "--rules", rules, traffic, NULL};
  char *obuf = NULL, *ebuf = NULL;
  size_t olen = 0, elen = 0;
  FILE *out = open_memstream(&obuf, &olen), *err = open_memstream(&ebuf, &elen);
  char *envp[] = {NULL};
  rc = parry_cli_main(5, argv, envp, out, err);
  fclose(out);
  fclose(err);
  assert_int_equal(rc, 0);

  parry_gen_options_t o;
  parry_gen_options_default(&o);
  o.seed = 1;
  o.duration_ns = 360LL * 1000000000;
  char errstr[256];
  parry_gen_t *g = parry_gen_new(&o, errstr, sizeof errstr);
  assert_non_null(g);
  size_t per_attacker[4] = {0}, alerts = 0;
  for (char *line = strtok(obuf, "\n"); line; line = strtok(NULL, "\n")) {
    json_object *alert = json_tokener_parse(line), *gb;
    assert_non_null(alert);
    alerts++;
    assert_true(json_object_object_get_ex(alert, "group_by", &gb));
    bool mine = false;
    json_object_object_foreach(gb, key, val) {
      (void)key;
      for (size_t i = 0; i < 4; i++)
        if (strcmp(json_object_get_string(val), parry_gen_attacker(g, i)->source_ip) == 0) {
          per_attacker[i]++;
          mine = true;
        }
    }
    if (!mine) print_error("alert for no attacker: %s\n", line);
    assert_true(mine);
    json_object_put(alert);
  }
  assert_true(alerts > 0);
  for (size_t i = 0; i < 4; i++) {
    if (!per_attacker[i]) print_error("no alert for %s\n", parry_gen_attacker(g, i)->name);
    assert_true(per_attacker[i] > 0);
  }
  parry_gen_destroy(g);
  free(obuf);
  free(ebuf);
  unlink(traffic);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_seed_same_bytes),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_every_record_normalizes),
      cmocka_unit_test(test_attackers_and_background),
      cmocka_unit_test(test_format_and_files),
      cmocka_unit_test(test_example_rules_see_the_attackers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
