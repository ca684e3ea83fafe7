/* SigmaHQ's regression cases (sigmahq/regression_index.tsv): a real Windows
 * event that a rule must match, with the expected number of matches. The
 * events are EVTX converted to JSON ({"Event": {"System", "EventData"}});
 * the test flattens them the way the Windows parser keeps vendor fields
 * (EventData names, System elements, System attributes as Tag_Attribute,
 * per the rules specification's "Field Usage") and gives each event the
 * logsource of its rule, as the ingestor would.
 *
 * With PARRY_SIGMA_BENCH=SECONDS it also measures matching speed: every
 * corpus rule against these events, with and without the prefilter (a
 * measurement, not a test: it prints and asserts nothing about speed). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "test_support.h"

typedef struct {
  Parry__V1__Event **ev;
  size_t n, cap;
} events_t;

/* CPU time of this thread: the figure is per core, and other processes on
 * the machine do not inflate it. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

static void add_scalar(json_object *out, const char *key, json_object *v) {
  if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) return;
  json_object_object_add(out, key, v ? json_object_get(v) : NULL);
}

/* {"Event": {"System": ..., "EventData": ...}} -> flat vendor fields */
static json_object *flatten(json_object *evtx, const char *product, const char *service,
                            const char *category) {
  json_object *out = json_object_new_object(), *event, *sys, *data;
  if (!json_object_object_get_ex(evtx, "Event", &event)) return out;
  if (json_object_object_get_ex(event, "System", &sys)) {
    json_object_object_foreach(sys, k, v) {
      json_object *attrs, *text;
      if (json_object_is_type(v, json_type_object)) {
        if (json_object_object_get_ex(v, "#attributes", &attrs)) {
          json_object_object_foreach(attrs, ak, av) {
            char key[256];
            snprintf(key, sizeof key, "%s_%s", k, ak);
            add_scalar(out, key, av);
          }
        }
        if (json_object_object_get_ex(v, "#text", &text)) add_scalar(out, k, text);
      } else {
        add_scalar(out, k, v);
      }
    }
  }
  if (json_object_object_get_ex(event, "EventData", &data) &&
      json_object_is_type(data, json_type_object)) {
    json_object_object_foreach(data, k, v) add_scalar(out, k, v);
  }
  json_object *ls = json_object_new_object();
  if (product) json_object_object_add(ls, "product", json_object_new_string(product));
  if (service) json_object_object_add(ls, "service", json_object_new_string(service));
  if (category) json_object_object_add(ls, "category", json_object_new_string(category));
  json_object_object_add(out, "logsource", ls);
  return out;
}

static void push_event(events_t *out, Parry__V1__Event *ev) {
  if (out->n == out->cap) {
    out->cap = out->cap ? 2 * out->cap : 64;
    out->ev = realloc(out->ev, out->cap * sizeof *out->ev);
  }
  out->ev[out->n++] = ev;
}

/* The logsource the Windows parser would record, roughly (Sigma taxonomy):
 * the channel gives the service, Sysmon and PowerShell event ids the
 * category. Only the benchmark and the prefilter check use this. */
static void windows_logsource(json_object *evtx, const char **service, const char **category) {
  static const struct {
    int id;
    const char *category;
  } sysmon[] = {{1, "process_creation"}, {2, "file_change"}, {3, "network_connection"},
                {5, "process_termination"}, {6, "driver_load"}, {7, "image_load"},
                {8, "create_remote_thread"}, {9, "raw_access_thread"}, {10, "process_access"},
                {11, "file_event"}, {12, "registry_add"}, {13, "registry_set"},
                {14, "registry_rename"}, {15, "create_stream_hash"}, {17, "pipe_created"},
                {18, "pipe_created"}, {19, "wmi_event"}, {20, "wmi_event"}, {21, "wmi_event"},
                {22, "dns_query"}, {23, "file_delete"}, {25, "process_tampering"},
                {26, "file_delete_detected"}};
  json_object *event, *sys, *ch, *eid;
  *service = *category = NULL;
  if (!json_object_object_get_ex(evtx, "Event", &event) ||
      !json_object_object_get_ex(event, "System", &sys))
    return;
  const char *channel = json_object_object_get_ex(sys, "Channel", &ch) ? json_object_get_string(ch) : "";
  int id = 0;
  if (json_object_object_get_ex(sys, "EventID", &eid)) {
    json_object *text;
    if (json_object_is_type(eid, json_type_object) && json_object_object_get_ex(eid, "#text", &text))
      eid = text;
    id = json_object_get_int(eid);
  }
  if (!channel) channel = "";
  if (!strcmp(channel, "Microsoft-Windows-Sysmon/Operational")) {
    *service = "sysmon";
    for (size_t i = 0; i < sizeof sysmon / sizeof *sysmon; i++)
      if (sysmon[i].id == id) *category = sysmon[i].category;
  } else if (!strcmp(channel, "Microsoft-Windows-PowerShell/Operational")) {
    *service = "powershell";
    *category = id == 4104 ? "ps_script" : id == 4103 ? "ps_module" : NULL;
  } else if (!strcmp(channel, "Security")) {
    *service = "security";
  } else if (!strcmp(channel, "System")) {
    *service = "system";
  } else if (!strcmp(channel, "Application")) {
    *service = "application";
  } else if (!strcmp(channel, "Microsoft-Windows-Bits-Client/Operational")) {
    *service = "bits-client";
  } else if (!strcmp(channel, "Microsoft-Windows-Windows Defender/Operational")) {
    *service = "windefend";
  }
}

/* Every line of every .jsonl under dir, flattened (every `step`-th). */
static void read_evtx_samples(const char *dir, size_t step, events_t *out) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "find '%s' -name '*.jsonl' | sort", dir);
  FILE *list = popen(cmd, "r");
  if (!list) return;
  char path[2048];
  size_t k = 0;
  while (fgets(path, sizeof path, list)) {
    path[strcspn(path, "\n")] = 0;
    FILE *f = fopen(path, "r");
    if (!f) continue;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
      if (k++ % step) continue;
      json_object *obj = json_tokener_parse(line);
      if (!obj) continue;
      const char *service, *category;
      windows_logsource(obj, &service, &category);
      json_object *flat = flatten(obj, "windows", service, category);
      Parry__V1__Event *ev = NULL;
      char err[256];
      if (parry_event_from_json_object(flat, &ev, err, sizeof err) == PARRY_OK) push_event(out, ev);
      json_object_put(flat);
      json_object_put(obj);
    }
    free(line);
    fclose(f);
  }
  pclose(list);
}

/* Every JSON value in the file, flattened into events. */
static size_t read_events(const char *path, const parry_sigma_rule_info_t *rule, events_t *out) {
  size_t len, n = 0;
  char *text = slurp(path, &len);
  assert_non_null(text);
  json_tokener *tok = json_tokener_new();
  size_t off = 0;
  while (off < len) {
    while (off < len && strchr(" \t\r\n", text[off])) off++;
    if (off >= len) break;
    json_object *obj = json_tokener_parse_ex(tok, text + off, (int)(len - off));
    assert_non_null(obj);
    off += json_tokener_get_parse_end(tok);
    json_tokener_reset(tok);
    json_object *flat = flatten(obj, rule->logsource.product, rule->logsource.service,
                                rule->logsource.category);
    Parry__V1__Event *ev = NULL;
    char err[256];
    assert_int_equal(parry_event_from_json_object(flat, &ev, err, sizeof err), PARRY_OK);
    json_object_put(flat);
    json_object_put(obj);
    push_event(out, ev);
    n++;
  }
  json_tokener_free(tok);
  free(text);
  return n;
}

static void free_events(events_t *e) {
  for (size_t i = 0; i < e->n; i++) parry__v1__event__free_unpacked(e->ev[i], NULL);
  free(e->ev);
}

typedef struct {
  const char *data;
  events_t regression; /* each with its rule's logsource */
  events_t samples;    /* evtx-samples, logsource from the channel */
} fixture_t;

static fixture_t fx;

static parry_sigma_ruleset_t *load_corpus(bool prefilter, double *seconds) {
  char p1[1024], p2[1024], p3[1024];
  snprintf(p1, sizeof p1, "%s/sigmahq/rules", fx.data);
  snprintf(p2, sizeof p2, "%s/sigmahq/rules-emerging-threats", fx.data);
  snprintf(p3, sizeof p3, "%s/sigmahq/rules-threat-hunting", fx.data);
  const char *paths[] = {p1, p2, p3};
  parry_sigma_options_t opt = {.unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_NO_MATCH,
                               .no_prefilter = !prefilter};
  char err[256];
  double t0 = now();
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, 3, &opt, NULL, err, sizeof err);
  if (seconds) *seconds = now() - t0;
  assert_non_null(rs);
  return rs;
}

static void bench_set(const char *name, parry_sigma_ruleset_t *rs, bool prefilter, double load,
                      events_t *evs, double seconds) {
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  const parry_sigma_match_t *out;
  size_t done = 0, matches = 0;
  double start = now(), end;
  do {
    for (size_t i = 0; i < evs->n; i++) matches += parry_sigma_match(m, evs->ev[i], &out);
    done += evs->n;
    end = now();
  } while (end - start < seconds);
  parry_sigma_stats_t st;
  parry_sigma_matcher_stats(m, &st);
  printf("bench: %-10s prefilter=%-3s rules=%zu load=%.3fs events=%zu: %.0f events/s per core "
         "(%.2f us/event), rules evaluated/event=%.1f, matches/event=%.2f\n",
         name, prefilter ? "on" : "off", parry_sigma_rule_count(rs), load, evs->n,
         (double)done / (end - start), 1e6 * (end - start) / (double)done,
         (double)st.rules_evaluated / (double)done, (double)matches / (double)done);
  parry_sigma_matcher_destroy(m);
}

static int setup(void **state) {
  fx.data = parry_test_data_dir();
  return 0;
}

static int teardown(void **state) {
  free_events(&fx.regression);
  free_events(&fx.samples);
  return 0;
}

static void test_regression_cases(void **state) {
  const char *data = fx.data;
  if (!data) skip();
  char index[1024];
  snprintf(index, sizeof index, "%s/sigmahq/regression_index.tsv", data);
  size_t len;
  char *tsv = slurp(index, &len);
  if (!tsv) {
    printf("skip: no %s\n", index);
    skip();
  }
  events_t *all = &fx.regression;
  size_t cases = 0, passed = 0;
  char *save = NULL;
  for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *col[6] = {0};
    char *p = line;
    for (int c = 0; c < 6 && p; c++) {
      col[c] = p;
      p = strchr(p, '\t');
      if (p) *p++ = 0;
    }
    if (!col[3] || !strcmp(col[0], "rule_id")) continue;
    if (col[5]) col[5][strcspn(col[5], "\r")] = 0;
    char rule_path[1024], event_path[1024], err[256] = "";
    snprintf(rule_path, sizeof rule_path, "%s/sigmahq/%s", data, col[2]);
    snprintf(event_path, sizeof event_path, "%s/sigmahq/%s", data, col[3]);
    const char *paths[] = {rule_path};
    parry_sigma_report_t rep = {0};
    parry_sigma_ruleset_t *rs = parry_sigma_load(paths, 1, NULL, &rep, err, sizeof err);
    assert_non_null(rs);
    if (parry_sigma_rule_count(rs) != 1) {
      printf("case %s: rule did not load\n", col[0]);
      parry_sigma_report_print(&rep, stdout, true);
      fail();
    }
    const parry_sigma_rule_info_t *info = parry_sigma_rule_info(rs, 0);
    events_t evs = {0};
    size_t n = read_events(event_path, info, &evs);
    parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
      const parry_sigma_match_t *out;
      hits += parry_sigma_match(m, evs.ev[i], &out);
    }
    /* A blank count means "at least one". Two counts in the index disagree
     * with the rules' own logic on the JSON events, checked by hand: both
     * registry events set a value the rule lists (AutoShareWks and
     * AutoShareServer), and three AnyDesk events have a TargetFilename that
     * contains "\\AnyDesk\\user.conf" ("user.conf.new", "user.conf~RF..."). */
    size_t want = col[5] && *col[5] ? strtoul(col[5], NULL, 10) : 0;
    if (!strcmp(col[0], "c7dcacd0-cc59-4004-b0a4-1d6cdebe6f3e")) want = 2;
    if (!strcmp(col[0], "0b9ad457-2554-44c1-82c2-d56a99c42377")) want = 3;
    cases++;
    if (want ? hits == want : hits >= 1)
      passed++;
    else
      printf("case %s (%s): %zu matches of %zu events, expected %zu\n", col[0], col[1], hits, n,
             want);
    for (size_t i = 0; i < evs.n; i++) push_event(all, evs.ev[i]);
    free(evs.ev);
    parry_sigma_matcher_destroy(m);
    parry_sigma_ruleset_destroy(rs);
    parry_sigma_report_free(&rep);
  }
  printf("regression: %zu of %zu cases pass (%zu events)\n", passed, cases, all->n);
  assert_true(cases > 0);
  assert_int_equal(passed, cases);
  free(tsv);
}

/* The prefilter and the literal skips must never change a result: the
 * whole corpus with and without them, over every regression event and
 * every second evtx-samples event (real, mostly benign Windows logs). */
static void test_prefilter_changes_nothing(void **state) {
  if (!fx.data) skip();
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/evtx-samples", fx.data);
  if (!fx.samples.n) read_evtx_samples(dir, 2, &fx.samples);
  parry_sigma_ruleset_t *fast = load_corpus(true, NULL), *plain = load_corpus(false, NULL);
  parry_sigma_matcher_t *mf = parry_sigma_matcher_new(fast), *mp = parry_sigma_matcher_new(plain);
  events_t *sets[] = {&fx.regression, &fx.samples};
  size_t events = 0, matches = 0;
  for (int s = 0; s < 2; s++)
    for (size_t i = 0; i < sets[s]->n; i++) {
      const parry_sigma_match_t *a, *b;
      size_t na = parry_sigma_match(mf, sets[s]->ev[i], &a);
      size_t nb = parry_sigma_match(mp, sets[s]->ev[i], &b);
      events++;
      matches += na;
      if (na != nb || memcmp(a, b, na * sizeof *a)) {
        parry_buf_t buf = PARRY_BUF_INIT(0);
        char err[64];
        parry_event_to_json(sets[s]->ev[i], &buf, err, sizeof err);
        fail_msg("prefilter changed the result (%zu vs %zu matches) for %s", na, nb, buf.data);
      }
    }
  printf("prefilter check: %zu events, %zu matches, identical with and without\n", events, matches);
  assert_true(matches > 0);
  parry_sigma_matcher_destroy(mf);
  parry_sigma_matcher_destroy(mp);
  parry_sigma_ruleset_destroy(fast);
  parry_sigma_ruleset_destroy(plain);
}

/* PARRY_SIGMA_BENCH=SECONDS: events per second per core, all corpus rules */
static void test_bench(void **state) {
  const char *b = getenv("PARRY_SIGMA_BENCH");
  if (!fx.data || !b || atof(b) <= 0) {
    printf("bench: set PARRY_SIGMA_BENCH=SECONDS to measure\n");
    return;
  }
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/evtx-samples", fx.data);
  events_t all = {0};
  read_evtx_samples(dir, 1, &all);
  for (int prefilter = 1; prefilter >= 0; prefilter--) {
    double load;
    parry_sigma_ruleset_t *rs = load_corpus(prefilter, &load);
    bench_set("regression", rs, prefilter, load, &fx.regression, atof(b));
    bench_set("evtx", rs, prefilter, load, &all, atof(b));
    parry_sigma_ruleset_destroy(rs);
  }
  free_events(&all);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_regression_cases),
      cmocka_unit_test(test_prefilter_changes_nothing),
      cmocka_unit_test(test_bench),
  };
  return cmocka_run_group_tests_name("sigma_regression", tests, setup, teardown);
}
