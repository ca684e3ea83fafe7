/* parry detect: logs or NDJSON events through Sigma rules, alerts out. The
 * offline face of the correlator's first stage (correlator/detect.h).
 *
 * Every record goes through the normalizer, exactly as `parry normalize`
 * would take it: raw logs (syslog, Windows EVTX JSON, CEF, Zeek, Suricata,
 * ...) are parsed, and a canonical Parry event (the NDJSON `parry normalize`
 * writes) is recognised by the generic JSON parser and kept as it is, its
 * event.id included. So one command serves both. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "detect.h"
#include "normalize.h"
#include "parry/codec.h"
#include "parry/config.h"
#include "parry/timefmt.h"
#include "records.h"

static const char usage[] =
    "usage: parry detect --rules PATH [--rules PATH]... [--min-level LEVEL]\n"
    "                    [--format F] [--placeholders FILE] [--field-map FILE]\n"
    "                    [--unknown-placeholder reject|no-match|wildcard]\n"
    "                    [--set key=value]... [FILE|-]...\n"
    "\n"
    "Reads logs or NDJSON events (stdin when no FILE or for -), normalizes each record\n"
    "as `parry normalize` does (--format names a parser, default auto; canonical\n"
    "events pass through unchanged), matches them against the Sigma rules under each\n"
    "--rules PATH, and writes one alert per match as a canonical JSON line to stdout.\n"
    "An alert's id is a hash of (rule id, event id): the same input gives the same ids.\n"
    "Matches of rules below --min-level (informational, low, medium, high, critical)\n"
    "raise no alert. The final stderr line is `events=N alerts=M rules=R rejected=K`\n"
    "(K: records the normalizer rejected). Rules the engine rejects are listed on\n"
    "stderr and left out (`parry rules check` shows why); correlation rules are loaded\n"
    "but not evaluated yet. Exit 0 when every input was read, 1 on an unreadable input\n"
    "or rules that cannot be loaded at all, 2 on usage errors.\n";

typedef struct {
  FILE *out, *err;
  parry_buf_t line;
  parry_stream_t *stream;
  const parry_sigma_ruleset_t *rs;
  parry_sigma_matcher_t *m;
  size_t max_record;
  int64_t now_ns;
  uint64_t events, alerts, encode_errors;
} detect_run_t;

static void on_alert(void *opaque, const Parry__V1__Alert *alert) {
  detect_run_t *run = opaque;
  char why[256];
  parry_buf_reset(&run->line);
  if (parry_alert_to_json(alert, &run->line, why, sizeof why) != PARRY_OK) {
    run->encode_errors++;
    fprintf(run->err, "parry detect: could not encode an alert of rule %s: %s\n", alert->rule_id,
            why);
    return;
  }
  parry_buf_append_char(&run->line, '\n');
  fwrite(run->line.data, 1, run->line.len, run->out);
  run->alerts++;
}

static void on_event(void *opaque, const Parry__V1__Event *ev) {
  detect_run_t *run = opaque;
  run->events++;
  parry_detect_event(run->m, run->rs, ev, on_alert, run);
}

static void on_reject(void *opaque, const char *source, uint64_t seq, const char *rec, size_t len,
                      const char *reason) {
  (void)opaque, (void)source, (void)seq, (void)rec, (void)len, (void)reason;
}

static void on_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                      size_t total) {
  detect_run_t *run = opaque;
  if (oversize) {
    char why[160];
    snprintf(why, sizeof why, "record of %zu bytes exceeds ingestor.max_record_size (%zu)", total,
             run->max_record);
    parry_stream_reject(run->stream, rec, len, seq, why);
    return;
  }
  parry_stream_record(run->stream, rec, len, seq, run->now_ns);
}

int parry_cmd_detect(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  parry_config_t *cfg = parry_config_new();
  parry_normalizer_t *n = NULL;
  parry_sigma_ruleset_t *rs = NULL;
  parry_sigma_report_t rep = {0};
  parry_sigma_options_t opt = {0};
  const char *format = NULL;
  char errstr[1024] = "";
  int rc = 0;
  detect_run_t run = {.out = out, .err = err, .line = PARRY_BUF_INIT(0)};
  const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
  const char **rules = calloc((size_t)argc + 1, sizeof *rules);
  size_t n_inputs = 0, n_rules = 0;
  uint64_t rejected = 0;

  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry detect: %s\n", errstr);
    rc = 2;
    goto out;
  }
  for (int i = 1; i < argc; i++) {
    int r = parry_cli_sigma_option(argc, argv, &i, &opt, "detect", err);
    if (r < 0) {
      rc = 2;
      goto out;
    }
    if (r) continue;
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, out);
      goto out;
    } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
      format = argv[++i];
    } else if (strncmp(argv[i], "--format=", 9) == 0) {
      format = argv[i] + 9;
    } else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
      rules[n_rules++] = argv[++i];
    } else if (strncmp(argv[i], "--rules=", 8) == 0) {
      rules[n_rules++] = argv[i] + 8;
    } else if ((strcmp(argv[i], "--min-level") == 0 && i + 1 < argc) ||
               strncmp(argv[i], "--min-level=", 12) == 0) {
      const char *l = argv[i][11] == '=' ? argv[i] + 12 : argv[++i];
      if (!parry_sigma_level_parse(l, &opt.min_level)) {
        fprintf(err,
                "parry detect: --min-level must be informational, low, medium, high or "
                "critical, not \"%s\"\n",
                l);
        rc = 2;
        goto out;
      }
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(err, "parry detect: unknown option \"%s\"\n%s", argv[i], usage);
      rc = 2;
      goto out;
    } else {
      inputs[n_inputs++] = argv[i];
    }
  }
  if (!n_rules) {
    fprintf(err, "parry detect: at least one --rules PATH is needed\n%s", usage);
    rc = 2;
    goto out;
  }
  if (!n_inputs) inputs[n_inputs++] = "-";
  if (parry_normalizer_new(cfg, format, &n, errstr, sizeof errstr)) {
    fprintf(err, "parry detect: %s\n", errstr);
    rc = 2;
    goto out;
  }
  rs = parry_sigma_load(rules, n_rules, &opt, &rep, errstr, sizeof errstr);
  if (!rs) {
    fprintf(err, "parry detect: %s\n", errstr);
    rc = 1;
    goto out;
  }
  if (rep.n_rejections || rep.rejected) {
    fprintf(err, "parry detect: %zu rule documents rejected, left out:\n", rep.rejected);
    for (size_t i = 0; i < rep.n_rejections; i++) {
      const parry_sigma_rejection_t *x = &rep.rejections[i];
      fprintf(err, "%s:%u:%u: %s: %s\n", x->file, x->line, x->column,
              parry_sigma_reject_reason_str(x->reason), x->message ? x->message : "");
    }
  }
  if (parry_sigma_correlation_count(rs))
    fprintf(err, "parry detect: %zu correlation rules loaded but not evaluated yet (correlator part 2)\n",
            parry_sigma_correlation_count(rs));
  run.rs = rs;
  run.m = parry_sigma_matcher_new(rs);
  run.max_record = (size_t)parry_config_int(cfg, "ingestor.max_record_size");
  run.now_ns = parry_time_now_ns();
  static const parry_normalize_sink_t sink = {on_event, on_reject};

  for (size_t i = 0; i < n_inputs; i++) {
    bool is_stdin = strcmp(inputs[i], "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(inputs[i], "rb");
    if (!f) {
      fprintf(err, "parry detect: could not open %s: %s\n", inputs[i], strerror(errno));
      rc = 1;
      continue;
    }
    char source[4200];
    snprintf(source, sizeof source, "file:%s", is_stdin ? "stdin" : inputs[i]);
    run.stream = parry_stream_new(n, source, &sink, &run);
    if (parry_read_records(f, run.max_record, on_record, &run, errstr, sizeof errstr)) {
      fprintf(err, "parry detect: %s: %s\n", inputs[i], errstr);
      rc = 1;
    }
    rejected += parry_stream_counts(run.stream)->rejected;
    parry_stream_destroy(run.stream);
    run.stream = NULL;
    if (!is_stdin) fclose(f);
  }
  fflush(out);
  fprintf(err, "events=%llu alerts=%llu rules=%zu rejected=%llu\n",
          (unsigned long long)run.events, (unsigned long long)run.alerts,
          parry_sigma_rule_count(rs), (unsigned long long)rejected);
  if (run.encode_errors) rc = 1;
out:
  parry_sigma_matcher_destroy(run.m);
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  parry_buf_free(&run.line);
  parry_normalizer_destroy(n);
  parry_config_destroy(cfg);
  free(inputs);
  free(rules);
  return rc;
}
