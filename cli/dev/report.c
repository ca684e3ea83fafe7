/* What `parry dev` shows: a progress line from the services' /metrics, the
 * case store and the stand-ins' record files; at the end, each case with
 * its timeline, and whether every attacker of the generator's manifest got
 * the outcome it should. Every source may be missing (a service not built
 * yet, a store without tables): the numbers then say "-" and the summary
 * names the stage that did not deliver. All SQL is fixed text; values go
 * as parameters. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"

static int64_t metric(int port, const char *const *names, size_t n) {
  if (port <= 0) return -1;
  parry_buf_t b = PARRY_BUF_INIT(0);
  int64_t total = -1;
  if (dev_http_get(port, "/metrics", &b, 1000) == 200) {
    for (size_t i = 0; i < n; i++) {
      double v = dev_metric_sum(b.data, names[i]);
      if (v >= 0) total = (total < 0 ? 0 : total) + (int64_t)v;
    }
  }
  parry_buf_free(&b);
  return total;
}

static int64_t count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int64_t n = 0;
  int c;
  while ((c = getc(f)) != EOF)
    if (c == '\n') n++;
  fclose(f);
  return n;
}

void dev_progress_read(dev_sources_t *src, dev_progress_t *p) {
  static const char *const events[] = {"parry_ingestor_events_total"};
  static const char *const rejects[] = {"parry_ingestor_rejects_total"};
  static const char *const alerts[] = {"parry_correlator_alerts_total",
                                       "parry_correlator_correlation_alerts_total"};
  p->events_in = metric(src->ingestor_http, events, 1);
  p->rejects = metric(src->ingestor_http, rejects, 1);
  static const char *const signals[] = {"parry_correlator_signals_total"};
  p->alerts = metric(src->correlator_http, alerts, 2);
  p->signals = metric(src->correlator_http, signals, 1);
  p->cases = p->steps_done = p->steps_failed = p->runs_open = -1;
  if (src->pg && PQstatus(src->pg) != CONNECTION_OK) PQreset(src->pg);
  if (src->pg && PQstatus(src->pg) == CONNECTION_OK) {
    PGresult *r = PQexec(src->pg,
                         "SELECT (SELECT count(*) FROM cases),"
                         " (SELECT count(*) FROM step_runs WHERE state = 'succeeded'),"
                         " (SELECT count(*) FROM step_runs WHERE state = 'failed'),"
                         " (SELECT count(*) FROM runs WHERE state IN"
                         "  ('pending', 'running', 'waiting'))");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
      p->cases = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
      p->steps_done = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
      p->steps_failed = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
      p->runs_open = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    }
    PQclear(r);
  }
  p->standin_requests = -1;
  for (size_t i = 0; i < src->n_record_files; i++) {
    int64_t n = count_lines(src->record_files[i]);
    if (n >= 0) p->standin_requests = (p->standin_requests < 0 ? 0 : p->standin_requests) + n;
  }
}

static const char *num(int64_t v, char buf[24]) {
  if (v < 0) return "-";
  snprintf(buf, 24, "%" PRId64, v);
  return buf;
}

void dev_progress_line(FILE *f, const dev_progress_t *p, size_t sent, size_t total, bool tty) {
  char a[24], b[24], c[24], d[24], e[24], g[24];
  fprintf(f,
          "%ssent %zu/%zu | events in %s | alerts %s | cases %s | steps %s ok, %s failed | "
          "stand-in requests %s%s",
          tty ? "\r\033[K" : "", sent, total, num(p->events_in, a), num(p->alerts, b),
          num(p->cases, c), num(p->steps_done, d), num(p->steps_failed, e),
          num(p->standin_requests, g), tty ? "" : "\n");
  fflush(f);
}

/* ---- the case store ----------------------------------------------------- */

static PGresult *query(PGconn *pg, const char *sql, int n, const char *const *params) {
  if (!pg || PQstatus(pg) != CONNECTION_OK) return NULL;
  PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return NULL;
  }
  return r;
}

/* Cases whose grouping values, or whose alerts' group_by, hold exactly this
 * address (as a JSON string). */
static const char SQL_CASES_FOR_IP[] =
    "SELECT c.id, c.alert_count FROM cases c"
    " WHERE c.group_values::text LIKE '%\"' || $1 || '\"%'"
    "    OR EXISTS (SELECT 1 FROM case_alerts ca JOIN alerts a ON a.id = ca.alert_id"
    "               WHERE ca.case_id = c.id AND a.group_by::text LIKE '%\"' || $1 || '\"%')"
    " ORDER BY c.id";

/* Block steps of a case's runs: what a runbook calls block_ip or a step it
 * named block*. */
static const char SQL_BLOCKS[] =
    "SELECT count(*) FILTER (WHERE sr.state = 'succeeded'),"
    "       count(*) FILTER (WHERE sr.state IN ('running', 'retrying', 'failed'))"
    " FROM step_runs sr JOIN runs r ON r.id = sr.run_id"
    " WHERE r.case_id = $1::bigint"
    "   AND (sr.connector ILIKE '%block%' OR sr.step_id ILIKE '%block%')";

static const char SQL_CASES[] =
    "SELECT c.id, c.runbook, c.group_key, c.status, c.severity, c.alert_count,"
    " to_char(c.first_seen AT TIME ZONE 'UTC', 'HH24:MI:SS'),"
    " to_char(c.last_seen AT TIME ZONE 'UTC', 'HH24:MI:SS'),"
    " (SELECT string_agg(DISTINCT a.rule_title, ', ') FROM case_alerts ca"
    "   JOIN alerts a ON a.id = ca.alert_id WHERE ca.case_id = c.id)"
    " FROM cases c ORDER BY c.id";

static const char SQL_TIMELINE[] =
    "SELECT to_char(t.at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS'), t.kind, coalesce(t.step_id, ''),"
    " coalesce(t.attempt, 0), coalesce(left(t.alert_id, 12), ''),"
    " coalesce(t.data->>'error', t.data->>'reason',"
    /* what a step found (geo, intel, history ...); answers' bodies left out */
    "  CASE WHEN t.kind = 'step_succeeded' THEN"
    "   nullif((t.data->'outputs') - 'body', '{}'::jsonb)::text END, ''),"
    " coalesce(a.rule_title, '')"
    " FROM case_timeline t LEFT JOIN alerts a ON a.id = t.alert_id"
    " WHERE t.case_id = $1::bigint ORDER BY t.id";

#define TIMELINE_SHOWN 14

static void print_cases(FILE *out, PGconn *pg) {
  PGresult *r = query(pg, SQL_CASES, 0, NULL);
  if (!r) return;
  int n = PQntuples(r);
  fprintf(out, "\n== %d case%s\n", n, n == 1 ? "" : "s");
  for (int i = 0; i < n; i++) {
    const char *id = PQgetvalue(r, i, 0);
    fprintf(out,
            "\ncase #%s  runbook %s  group %s\n  %s, severity %s, %s alert%s (%s), first %s, "
            "last %s\n",
            id, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
            PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
            strcmp(PQgetvalue(r, i, 5), "1") ? "s" : "", PQgetvalue(r, i, 8),
            PQgetvalue(r, i, 6), PQgetvalue(r, i, 7));
    const char *p[1] = {id};
    PGresult *t = query(pg, SQL_TIMELINE, 1, p);
    if (!t) continue;
    int m = PQntuples(t);
    for (int k = 0; k < m && k < TIMELINE_SHOWN; k++) {
      const char *kind = PQgetvalue(t, k, 1), *step = PQgetvalue(t, k, 2);
      fprintf(out, "    %s  %-15s", PQgetvalue(t, k, 0), kind);
      if (*PQgetvalue(t, k, 4))
        fprintf(out, " %s %s", PQgetvalue(t, k, 4), PQgetvalue(t, k, 6));
      if (*step) {
        fprintf(out, " %s", step);
        if (strcmp(PQgetvalue(t, k, 3), "0") && strcmp(PQgetvalue(t, k, 3), "1"))
          fprintf(out, " (attempt %s)", PQgetvalue(t, k, 3));
      }
      if (*PQgetvalue(t, k, 5)) fprintf(out, ": %.120s", PQgetvalue(t, k, 5));
      fputc('\n', out);
    }
    if (m > TIMELINE_SHOWN)
      fprintf(out, "    ... %d more (parry cases show %s)\n", m - TIMELINE_SHOWN, id);
    PQclear(t);
  }
  PQclear(r);
}

static const char SQL_ALERTS_FOR_IP[] =
    "SELECT a.id FROM alerts a WHERE a.group_by::text LIKE '%\"' || $1 || '\"%'";

typedef struct {
  int64_t case_id, n_cases, alerts;
  int64_t blocks_ok, blocks_tried;
  size_t fleet_alerts, matched; /* alerts stored for the address; of them, expected ids */
  bool store_ok;
} outcome_t;

static outcome_t attacker_outcome(PGconn *pg, const parry_gen_attacker_t *a,
                                  const dev_expected_t *exp, size_t k) {
  outcome_t o = {.case_id = -1};
  const char *p[1] = {a->source_ip};
  PGresult *r = query(pg, SQL_CASES_FOR_IP, 1, p);
  if (!r) return o;
  o.store_ok = true;
  o.n_cases = PQntuples(r);
  if (o.n_cases > 0) o.case_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  for (int i = 0; i < PQntuples(r); i++) {
    o.alerts += strtoll(PQgetvalue(r, i, 1), NULL, 10);
    const char *q[1] = {PQgetvalue(r, i, 0)};
    PGresult *b = query(pg, SQL_BLOCKS, 1, q);
    if (b && PQntuples(b) == 1) {
      o.blocks_ok += strtoll(PQgetvalue(b, 0, 0), NULL, 10);
      o.blocks_tried += strtoll(PQgetvalue(b, 0, 1), NULL, 10);
    }
    PQclear(b);
  }
  PQclear(r);
  PGresult *al = query(pg, SQL_ALERTS_FOR_IP, 1, p);
  if (al) {
    o.fleet_alerts = (size_t)PQntuples(al);
    for (int i = 0; exp && exp->known && k < 8 && i < PQntuples(al); i++)
      for (size_t j = 0; j < exp->n_ids[k]; j++)
        if (strcmp(PQgetvalue(al, i, 0), exp->ids[k][j]) == 0) {
          o.matched++;
          break;
        }
    PQclear(al);
  }
  return o;
}

/* The verdict for one attacker: exactly one case when one is expected, the
 * fleet's alerts exactly the offline ones, a block exactly when expected. */
static bool outcome_ok(const parry_gen_attacker_t *a, const outcome_t *o, const dev_expected_t *exp,
                       size_t k) {
  if (a->expect_case ? o->n_cases != 1 : o->n_cases != 0) return false;
  if (exp && exp->known && k < 8 &&
      (o->fleet_alerts != exp->n_ids[k] || o->matched != exp->n_ids[k]))
    return false;
  return a->expect_block ? o->blocks_ok > 0 : o->blocks_ok == 0;
}

bool dev_expected_cases_present(PGconn *pg, const parry_gen_t *g, const dev_expected_t *exp) {
  for (size_t i = 0; i < parry_gen_attacker_count(g); i++) {
    const parry_gen_attacker_t *a = parry_gen_attacker(g, i);
    outcome_t o = attacker_outcome(pg, a, exp, i);
    if (!outcome_ok(a, &o, exp, i)) return false;
  }
  return true;
}

bool dev_report(FILE *out, dev_sources_t *src, const parry_gen_t *g, const dev_progress_t *p,
                const dev_expected_t *exp) {
  print_cases(out, src->pg);
  fprintf(out, "\n== expected outcome (the generator's manifest; alerts as `parry detect` "
               "gives them offline)\n");
  bool all = true, store = false;
  int64_t attacker_cases = 0;
  for (size_t i = 0; i < parry_gen_attacker_count(g); i++) {
    const parry_gen_attacker_t *a = parry_gen_attacker(g, i);
    outcome_t o = attacker_outcome(src->pg, a, exp, i);
    store = store || o.store_ok;
    attacker_cases += o.n_cases;
    bool ok = outcome_ok(a, &o, exp, i);
    all = all && ok;
    char what[200], alerts[64] = "";
    if (exp && exp->known && i < 8)
      snprintf(alerts, sizeof alerts, "%zu of %zu alerts", o.matched, exp->n_ids[i]);
    else
      snprintf(alerts, sizeof alerts, "%zu alerts", o.fleet_alerts);
    if (o.case_id >= 0)
      snprintf(what, sizeof what, "%s, case #%" PRId64 "%s, %s", alerts, o.case_id,
               o.n_cases > 1 ? " and more" : "",
               o.blocks_ok ? "blocked" : o.blocks_tried ? "block attempted, not done" : "not blocked");
    else
      snprintf(what, sizeof what, "%s, no case", alerts);
    fprintf(out, "  %-4s %-27s %-15s %s; expected one case%s\n", ok ? "ok" : "FAIL", a->name,
            a->source_ip, what, a->expect_block ? " and a block" : ", no block (allowlisted)");
  }
  if (p->cases > attacker_cases) {
    fprintf(out, "  FAIL %" PRId64 " case(s) for addresses that attacked nobody\n",
            p->cases - attacker_cases);
    all = false;
  }
  if (exp && exp->known && exp->other) {
    fprintf(out, "  FAIL offline detection raised %zu alert(s) for background addresses\n",
            exp->other);
    all = false;
  }
  if (!exp || !exp->known)
    fprintf(out, "  (offline detection did not run: alert counts not checked)\n");
  if (!all) {
    fprintf(out, "\n== where the pipeline stopped\n");
    size_t total = parry_gen_count(g);
    if (p->events_in < 0)
      fprintf(out, "  ingestor: no metrics (did it start? see its log)\n");
    else if ((size_t)p->events_in < total)
      fprintf(out, "  ingestor: %" PRId64 " of %zu records became events (%" PRId64 " rejected)\n",
              p->events_in, total, p->rejects < 0 ? 0 : p->rejects);
    else
      fprintf(out, "  ingestor: all %zu records became events\n", total);
    if (p->alerts < 0)
      fprintf(out, "  correlator: no metrics (did it start? see its log)\n");
    else if (p->alerts == 0 && p->signals > 0)
      fprintf(out, "  correlator: no alerts, though stage 2 took %" PRId64 " signals (its windows "
                   "never reached a condition)\n", p->signals);
    else if (p->alerts == 0)
      fprintf(out, "  correlator: no alerts and no signals (detection rules matched nothing?)\n");
    else
      fprintf(out, "  correlator: %" PRId64 " alerts\n", p->alerts);
    if (!store)
      fprintf(out, "  executor: no case store tables (its pipeline did not start or migrate)\n");
    else if (p->cases == 0)
      fprintf(out, "  executor: no case opened from the alerts (runbooks loaded? see its log)\n");
    else
      fprintf(out, "  executor: %" PRId64 " cases, %" PRId64 " steps succeeded, %" PRId64
                   " failed, %" PRId64 " runs unfinished\n",
              p->cases, p->steps_done, p->steps_failed, p->runs_open);
    if (p->standin_requests < 0)
      fprintf(out, "  stand-ins: none running (parry-standin not built?)\n");
  }
  return all;
}
