/* libFuzzer target for the Sigma loader and matcher (correlator/sigma/).
 *
 * The input is a rule file. Whatever it holds, loading must not crash,
 * hang or leak, and must keep the loader's promises; the rules that load
 * are then matched against a few fixed events, where the prefilter must
 * change nothing: the same rules match with it as without it (a
 * differential check of the literal extraction and the automata). Any
 * broken promise aborts so the fuzzer records the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "sigma/sigma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const events_json[] = {
    "{\"logsource\": {\"product\": \"windows\", \"category\": \"process_creation\"}, "
    "\"EventID\": 1, \"Image\": \"C:\\\\Windows\\\\System32\\\\cmd.exe\", "
    "\"CommandLine\": \"cmd.exe /c powershell -enc SQBFAFgA whoami\", \"User\": \"adm_bob\", "
    "\"A\": \"1\", \"B\": \"abc\", \"Tags\": [\"x\", \"Y\"], \"N\": null, \"M\": {\"k\": \"v\"}}",
    "{\"logsource\": {\"product\": \"linux\"}, \"message\": \"Failed password for root from "
    "10.1.2.3 port 22\", \"source\": {\"ip\": \"10.1.2.3\", \"port\": 22}, \"user\": {\"name\": "
    "\"root\"}, \"Count\": 12, \"Ratio\": 0.5, \"Flag\": true, \"When\": \"2024-01-02T23:10:00Z\"}",
    "{\"@timestamp\": \"2024-05-06T07:08:09Z\", \"A\": \"\\u00e9\\u2013x\", \"B\": \"-a /b\"}",
};

static Parry__V1__Event *events[sizeof events_json / sizeof *events_json];

static void die(const char *what) {
  fprintf(stderr, "fuzz_sigma_rule: %s\n", what);
  abort();
}

static void check_report(const parry_sigma_ruleset_t *rs, const parry_sigma_report_t *r) {
  if (r->rules_loaded != parry_sigma_rule_count(rs)) die("rules_loaded != rule count");
  if (r->correlations != parry_sigma_correlation_count(rs)) die("correlations != count");
  if (r->n_rejections != r->rejected) die("rejections != rejected");
  size_t sum = 0;
  for (int i = 0; i < PARRY_SIGMA_REJECT_N_REASONS; i++) sum += r->by_reason[i];
  if (sum != r->rejected) die("by_reason does not add up");
  if (r->by_reason[PARRY_SIGMA_REJECT_INTERNAL]) die("internal error");
  for (size_t i = 0; i < r->n_rejections; i++)
    if (!r->rejections[i].message || !r->rejections[i].file) die("rejection without message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!events[0])
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
      char err[256];
      if (parry_event_from_json(events_json[i], strlen(events_json[i]), &events[i], err, sizeof err))
        die(err);
    }
  static const char *const vals[] = {"root", "adm_*"};
  parry_sigma_placeholder_t ph = {"Admins", vals, 2};
  const char *prefixes[] = {"M."};
  parry_sigma_options_t opt = {.placeholders = &ph,
                               .n_placeholders = 1,
                               .field_prefixes = prefixes,
                               .n_field_prefixes = 1,
                               .unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_WILDCARD,
                               .ignore_logsource = size % 2,
                               .report_filtered = true};
  parry_sigma_report_t rep = {0}, rep2 = {0};
  char err[256];
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("fuzz.yml", (const char *)data, size, &opt, &rep,
                                                    err, sizeof err);
  if (!rs) die("load_text returned NULL");
  check_report(rs, &rep);
  if (parry_sigma_rule_count(rs) == 0) goto out;
  opt.no_prefilter = true;
  parry_sigma_ruleset_t *plain = parry_sigma_load_text("fuzz.yml", (const char *)data, size, &opt,
                                                       &rep2, err, sizeof err);
  if (!plain || parry_sigma_rule_count(plain) != parry_sigma_rule_count(rs)) die("reload differs");
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs), *p = parry_sigma_matcher_new(plain);
  for (int round = 0; round < 2; round++)
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
      const parry_sigma_match_t *a, *b;
      size_t na = parry_sigma_match(m, events[i], &a);
      size_t nb = parry_sigma_match(p, events[i], &b);
      if (na != nb || memcmp(a, b, na * sizeof *a)) die("prefilter changed the result");
      for (size_t k = 1; k < na; k++)
        if (a[k - 1].rule >= a[k].rule) die("matches not in ascending rule order");
    }
  parry_sigma_matcher_destroy(m);
  parry_sigma_matcher_destroy(p);
  parry_sigma_ruleset_destroy(plain);
out:
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  parry_sigma_report_free(&rep2);
  return 0;
}
