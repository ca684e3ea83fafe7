/* The whole SigmaHQ corpus over the shared Windows data, hits listed by rule.
 *
 * What is benign here: nothing, verifiably. Every Windows file in the shared
 * data is an attack simulation (MANIFEST.tsv: evtx-samples are "ATT&CK-mapped
 * attack sample"s and DeepBlueCLI attack samples; the OTRF windows-host
 * datasets are recorded attack runs -- lsass dumps, SAM copies, scheduled
 * task lateral movement -- with the host's background activity mixed in but
 * not labelled). No file labels records as baseline or normal. So this is
 * not a false-positive rate: it lists every hit by rule (title, level,
 * count) over all of it, for a person to judge, and asserts only what holds
 * whatever the data: the run completes, every event is normalized, every hit
 * comes from a rule whose logsource applies to the event (the logsource rule
 * of sigma.h), and the data yields hits at all (they are attacks). It does
 * not assert "no critical rule fires", since there is no benign set.
 *
 * The events go through the real normalizer (the Windows parser records the
 * logsource), as `parry detect` would take them. Sanitizer builds match
 * every SAMPLE-th event only, to keep the ASan suite fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "parry/config.h"
#include "sigma/sigma.h"
#include "test_support.h"

#if defined(__SANITIZE_ADDRESS__)
#define FP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define FP_SANITIZED 1
#endif
#endif
#ifdef FP_SANITIZED
#define SAMPLE 10
#else
#define SAMPLE 1
#endif

typedef struct {
  const parry_sigma_ruleset_t *rs;
  parry_sigma_matcher_t *m;
  size_t *hits;      /* per rule */
  size_t seen, matched_events, matches, wrong_logsource, rejected;
} run_t;

static bool attr_fits(const char *rule, const char *event) {
  return !rule || (event && !strcasecmp(rule, event));
}

/* sigma.h's logsource rule, with its one umbrella (registry_event). */
static bool applies(const parry_sigma_rule_info_t *r, const Parry__V1__Event *ev) {
  const Parry__V1__Logsource *ls = ev->logsource;
  const char *p = ls && *ls->product ? ls->product : NULL;
  const char *s = ls && *ls->service ? ls->service : NULL;
  const char *c = ls && *ls->category ? ls->category : NULL;
  bool cat = attr_fits(r->logsource.category, c) ||
             (r->logsource.category && c && !strcasecmp(r->logsource.category, "registry_event") &&
              !strncasecmp(c, "registry_", 9) &&
              (!strcasecmp(c + 9, "add") || !strcasecmp(c + 9, "delete") ||
               !strcasecmp(c + 9, "set") || !strcasecmp(c + 9, "rename")));
  return attr_fits(r->logsource.product, p) && attr_fits(r->logsource.service, s) && cat;
}

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  run_t *run = opaque;
  if (run->seen++ % SAMPLE) return;
  const parry_sigma_match_t *out;
  size_t n = parry_sigma_match(run->m, ev, &out);
  if (n) run->matched_events++;
  for (size_t i = 0; i < n; i++) {
    const parry_sigma_rule_info_t *r = parry_sigma_rule_info(run->rs, out[i].rule);
    run->hits[out[i].rule]++;
    run->matches++;
    if (!applies(r, ev)) {
      run->wrong_logsource++;
      printf("rule \"%s\" (%s/%s/%s) hit an event of logsource %s/%s/%s\n", r->title,
             r->logsource.product ? r->logsource.product : "*",
             r->logsource.service ? r->logsource.service : "*",
             r->logsource.category ? r->logsource.category : "*",
             ev->logsource ? ev->logsource->product : "-",
             ev->logsource ? ev->logsource->service : "-",
             ev->logsource ? ev->logsource->category : "-");
    }
  }
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  run_t *run = opaque;
  run->rejected++;
  printf("rejected %s:%llu: %s\n", source, (unsigned long long)seq, reason);
}

static const run_t *sort_run;
static int by_count(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  if (sort_run->hits[x] != sort_run->hits[y]) return sort_run->hits[x] < sort_run->hits[y] ? 1 : -1;
  return x < y ? -1 : x > y;
}

/* Every line of the files `find` lists under dir, through the normalizer. */
static size_t feed(parry_normalizer_t *n, const char *dir, const char *pattern, run_t *run) {
  static const parry_normalize_sink_t sink = {on_event, on_reject};
  char cmd[1400], path[2048];
  snprintf(cmd, sizeof cmd, "find '%s' -name '%s' 2>/dev/null | sort", dir, pattern);
  FILE *list = popen(cmd, "r");
  if (!list) return 0;
  size_t files = 0;
  while (fgets(path, sizeof path, list)) {
    path[strcspn(path, "\n")] = 0;
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    parry_stream_t *s = parry_stream_new(n, path, &sink, run);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t seq = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
      seq++;
      while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
      if (len) parry_stream_record(s, line, (size_t)len, seq, 0);
    }
    free(line);
    fclose(f);
    parry_stream_destroy(s);
    files++;
  }
  pclose(list);
  return files;
}

static void test_corpus_hits_on_windows_data(void **state) {
  (void)state;
  const char *data = parry_test_data_dir();
  if (!data) skip();
  char p1[1024], p2[1024], p3[1024], evtx[1024], otrf[1024];
  snprintf(p1, sizeof p1, "%s/sigmahq/rules", data);
  snprintf(p2, sizeof p2, "%s/sigmahq/rules-emerging-threats", data);
  snprintf(p3, sizeof p3, "%s/sigmahq/rules-threat-hunting", data);
  snprintf(evtx, sizeof evtx, "%s/evtx-samples", data);
  snprintf(otrf, sizeof otrf, "%s/otrf-security-datasets/windows-host", data);
  FILE *probe = fopen(p1, "r");
  if (!probe) {
    printf("# skipping: no SigmaHQ rules at %s\n", p1);
    skip();
  }
  fclose(probe);

  const char *paths[] = {p1, p2, p3};
  parry_sigma_options_t opt = {.unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_NO_MATCH};
  char err[512] = "";
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, 3, &opt, NULL, err, sizeof err);
  assert_non_null(rs);
  size_t n_rules = parry_sigma_rule_count(rs);
  assert_true(n_rules > 1000);

  parry_config_t *cfg = parry_config_new();
  parry_normalizer_t *n = NULL;
  assert_int_equal(parry_normalizer_new(cfg, NULL, &n, err, sizeof err), PARRY_OK);
  run_t run = {.rs = rs, .m = parry_sigma_matcher_new(rs), .hits = calloc(n_rules, sizeof(size_t))};
  size_t files = feed(n, evtx, "*.jsonl", &run) + feed(n, otrf, "*.json", &run);
  if (!files) {
    printf("# skipping: no Windows event files under %s\n", data);
    parry_sigma_matcher_destroy(run.m);
    parry_normalizer_destroy(n);
    parry_config_destroy(cfg);
    parry_sigma_ruleset_destroy(rs);
    free(run.hits);
    skip();
  }

  size_t *order = malloc(n_rules * sizeof *order), rules_hit = 0;
  size_t by_level[PARRY_SIGMA_LEVEL_CRITICAL + 1] = {0};
  for (size_t i = 0; i < n_rules; i++) {
    order[i] = i;
    if (run.hits[i]) {
      rules_hit++;
      by_level[parry_sigma_rule_info(rs, i)->level] += run.hits[i];
    }
  }
  sort_run = &run;
  qsort(order, n_rules, sizeof *order, by_count);
  printf("# no benign set in the shared Windows data (all attack simulations): hits of the whole\n"
         "# corpus (%zu rules) over %zu files, %zu events%s, listed by rule:\n",
         n_rules, files, run.seen, SAMPLE > 1 ? " (sanitizer build: every 10th matched)" : "");
  printf("# %6s  %-13s  %s\n", "count", "level", "rule title");
  for (size_t i = 0; i < n_rules && run.hits[order[i]]; i++) {
    const parry_sigma_rule_info_t *r = parry_sigma_rule_info(rs, order[i]);
    printf("# %6zu  %-13s  %s\n", run.hits[order[i]],
           *parry_sigma_level_str(r->level) ? parry_sigma_level_str(r->level) : "(none)",
           r->title);
  }
  printf("# %zu matches from %zu rules on %zu of %zu matched events; by level:", run.matches,
         rules_hit, run.matched_events, (run.seen + SAMPLE - 1) / SAMPLE);
  for (int l = PARRY_SIGMA_LEVEL_CRITICAL; l >= PARRY_SIGMA_LEVEL_NONE; l--)
    printf(" %s=%zu", l ? parry_sigma_level_str((parry_sigma_level_t)l) : "none", by_level[l]);
  printf("\n");

  assert_true(run.seen > 1000);
  assert_int_equal(run.rejected, 0);
  assert_int_equal(run.wrong_logsource, 0);
  assert_true(run.matches > 0);

  free(order);
  free(run.hits);
  parry_sigma_matcher_destroy(run.m);
  parry_normalizer_destroy(n);
  parry_config_destroy(cfg);
  parry_sigma_ruleset_destroy(rs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_corpus_hits_on_windows_data),
  };
  return cmocka_run_group_tests_name("sigma_false_positives", tests, NULL, NULL);
}
