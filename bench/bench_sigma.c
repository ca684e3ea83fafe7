/* Sigma matching speed on the engine directly, separate from normalization.
 *
 *   bench_sigma [--top N] [--events COUNT] EVENTS.ndjson RULEPATH...
 *
 * EVENTS.ndjson holds canonical Parry events (what `parry normalize` writes);
 * they are parsed once into memory (not timed). The rules under RULEPATH are
 * loaded with unknown placeholders set to match nothing (as the corpus test
 * does); the load is timed in CPU time of the process. Then the in-memory
 * events are matched round after round until COUNT events (default
 * 2,000,000) have been matched -- the same as matching the file repeated,
 * since matching cost does not depend on event ids -- timed in CPU time of
 * this thread (clock_gettime(CLOCK_THREAD_CPUTIME_ID)), so the figure is per
 * core and other work on the machine does not inflate it.
 *
 * With --top N, a second ruleset is measured: the N rules with the most
 * matches over one pass of the distinct events (ties: corpus order), loaded
 * again from their files; and a third: the N rules whose logsource applies to
 * the most of the distinct events. Output lines are `key=value` for bench/detect.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "parry/codec.h"
#include "sigma/sigma.h"

static double cpu(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
  Parry__V1__Event **ev;
  size_t n, cap;
} events_t;

static int read_events(const char *path, events_t *out) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  char *line = NULL, err[256];
  size_t cap = 0, bad = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    Parry__V1__Event *ev = NULL;
    if (parry_event_from_json(line, (size_t)len, &ev, err, sizeof err) != PARRY_OK) {
      bad++;
      continue;
    }
    if (out->n == out->cap) {
      out->cap = out->cap ? 2 * out->cap : 1024;
      out->ev = realloc(out->ev, out->cap * sizeof *out->ev);
    }
    out->ev[out->n++] = ev;
  }
  free(line);
  fclose(f);
  if (bad) fprintf(stderr, "bench_sigma: %zu lines of %s are not events, skipped\n", bad, path);
  return 0;
}

static double load_wall_s; /* the last load's wall time (file reads included) */

static parry_sigma_ruleset_t *load(const char *const *paths, size_t n, double *seconds) {
  parry_sigma_options_t opt = {.unknown_placeholder = PARRY_SIGMA_PLACEHOLDER_NO_MATCH};
  parry_sigma_report_t rep = {0};
  char err[512];
  double t0 = cpu(CLOCK_PROCESS_CPUTIME_ID), w0 = cpu(CLOCK_MONOTONIC);
  parry_sigma_ruleset_t *rs = parry_sigma_load(paths, n, &opt, &rep, err, sizeof err);
  *seconds = cpu(CLOCK_PROCESS_CPUTIME_ID) - t0;
  load_wall_s = cpu(CLOCK_MONOTONIC) - w0;
  if (!rs) {
    fprintf(stderr, "bench_sigma: %s\n", err);
    exit(1);
  }
  fprintf(stderr, "bench_sigma: loaded %zu rules (%zu rejected, %zu correlations) from %zu files\n",
          rep.rules_loaded, rep.rejected, rep.correlations, rep.files);
  parry_sigma_report_free(&rep);
  return rs;
}

/* Matches `count` events (cycling over evs); prints the figures under `tag`. */
static void bench(const char *tag, const parry_sigma_ruleset_t *rs, const events_t *evs,
                  size_t count, double load_s) {
  parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
  const parry_sigma_match_t *out;
  size_t matches = 0;
  /* one untimed warm-up round */
  for (size_t i = 0; i < evs->n; i++) parry_sigma_match(m, evs->ev[i], &out);
  double t0 = cpu(CLOCK_THREAD_CPUTIME_ID);
  for (size_t done = 0, i = 0; done < count; done++) {
    matches += parry_sigma_match(m, evs->ev[i], &out);
    if (++i == evs->n) i = 0;
  }
  double t = cpu(CLOCK_THREAD_CPUTIME_ID) - t0;
  parry_sigma_stats_t st;
  parry_sigma_matcher_stats(m, &st);
  printf("%s.load_wall_s=%.3f\n", tag, load_wall_s);
  printf("%s.rules=%zu\n%s.load_cpu_s=%.3f\n%s.events=%zu\n%s.cpu_s=%.3f\n"
         "%s.events_per_s=%.0f\n%s.us_per_event=%.3f\n%s.matches_per_event=%.4f\n"
         "%s.rules_evaluated_per_event=%.2f\n",
         tag, parry_sigma_rule_count(rs), tag, load_s, tag, count, tag, t, tag,
         (double)count / t, tag, 1e6 * t / (double)count, tag, (double)matches / (double)count,
         tag, (double)st.rules_evaluated / (double)st.events);
  parry_sigma_matcher_destroy(m);
}

typedef struct {
  size_t hits, rule;
} rank_t;

static bool attr_fits(const char *rule, const char *event) {
  return !rule || (event && *event && !strcasecmp(rule, event));
}

/* sigma.h's logsource rule, with its one umbrella (registry_event). */
static bool applies(const parry_sigma_rule_info_t *r, const Parry__V1__Event *ev) {
  const Parry__V1__Logsource *ls = ev->logsource;
  const char *c = ls ? ls->category : NULL;
  bool cat = attr_fits(r->logsource.category, c) ||
             (r->logsource.category && c && !strcasecmp(r->logsource.category, "registry_event") &&
              (!strcasecmp(c, "registry_add") || !strcasecmp(c, "registry_delete") ||
               !strcasecmp(c, "registry_set") || !strcasecmp(c, "registry_rename")));
  return attr_fits(r->logsource.product, ls ? ls->product : NULL) &&
         attr_fits(r->logsource.service, ls ? ls->service : NULL) && cat;
}

/* Loads the first `top` rules of rank (sorted) again from their files and
 * measures them under `tag`. */
static void bench_top(const char *tag, const char *what, const parry_sigma_ruleset_t *rs,
                      const rank_t *rank, size_t top, const events_t *evs, size_t count) {
  const char **files = calloc(top, sizeof *files);
  size_t n_files = 0, nonzero = 0;
  for (size_t r = 0; r < top; r++) {
    if (rank[r].hits) nonzero++;
    const char *file = parry_sigma_rule_info(rs, rank[r].rule)->file;
    size_t j = 0;
    while (j < n_files && strcmp(files[j], file)) j++;
    if (j == n_files) files[n_files++] = file;
  }
  printf("%s.selection=the %zu rules %s (%zu of them nonzero; lowest count %zu)\n", tag, top,
         what, nonzero, rank[top - 1].hits);
  double load_s;
  parry_sigma_ruleset_t *sub = load(files, n_files, &load_s);
  bench(tag, sub, evs, count, load_s);
  parry_sigma_ruleset_destroy(sub);
  free(files);
}

static int by_hits(const void *a, const void *b) {
  const rank_t *x = a, *y = b;
  if (x->hits != y->hits) return x->hits < y->hits ? 1 : -1;
  return x->rule < y->rule ? -1 : x->rule > y->rule;
}

int main(int argc, char **argv) {
  size_t top = 0, count = 2000000;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--top") && i + 1 < argc)
      top = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--events") && i + 1 < argc)
      count = strtoul(argv[++i], NULL, 10);
    else
      break;
  }
  if (argc - i < 2) {
    fprintf(stderr, "usage: bench_sigma [--top N] [--events COUNT] EVENTS.ndjson RULEPATH...\n");
    return 2;
  }
  events_t evs = {0};
  if (read_events(argv[i], &evs) || !evs.n) {
    fprintf(stderr, "bench_sigma: no events in %s\n", argv[i]);
    return 1;
  }
  printf("distinct_events=%zu\n", evs.n);
  const char *const *paths = (const char *const *)argv + i + 1;
  size_t n_paths = (size_t)(argc - i - 1);
  double load_s;
  parry_sigma_ruleset_t *rs = load(paths, n_paths, &load_s);
  bench("corpus", rs, &evs, count, load_s);

  if (top) {
    size_t n = parry_sigma_rule_count(rs);
    rank_t *rank = calloc(n, sizeof *rank);
    for (size_t r = 0; r < n; r++) rank[r].rule = r;
    parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
    for (size_t e = 0; e < evs.n; e++) {
      const parry_sigma_match_t *out;
      size_t k = parry_sigma_match(m, evs.ev[e], &out);
      for (size_t j = 0; j < k; j++) rank[out[j].rule].hits++;
    }
    parry_sigma_matcher_destroy(m);
    qsort(rank, n, sizeof *rank, by_hits);
    if (top > n) top = n;
    bench_top("top", "with the most matches over the distinct events", rs, rank, top, &evs,
              count);
    /* the other reading of "most common": the rules whose logsource applies
     * to the most events */
    for (size_t r = 0; r < n; r++) {
      const parry_sigma_rule_info_t *info = parry_sigma_rule_info(rs, r);
      rank[r].rule = r;
      rank[r].hits = 0;
      for (size_t e = 0; e < evs.n; e++) rank[r].hits += applies(info, evs.ev[e]);
    }
    qsort(rank, n, sizeof *rank, by_hits);
    bench_top("top_ls", "whose logsource applies to the most of the distinct events", rs, rank,
              top, &evs, count);
    free(rank);
  }
  parry_sigma_ruleset_destroy(rs);
  for (size_t e = 0; e < evs.n; e++) parry__v1__event__free_unpacked(evs.ev[e], NULL);
  free(evs.ev);
  return 0;
}
