/* `threat_intel`: what is known about an indicator. A local feed (CSV lines
 * `indicator,type,score,source`, loaded once and reloaded when the file
 * changes) answers first, without a network call; otherwise the first
 * configured HTTP provider is asked. Outputs found, verdict, score, source,
 * type. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connectors/conn_internal.h"
#include "parry/log.h"
#include "parry/mem.h"

typedef struct {
  char *indicator, *type, *source;
  double score;
} feed_entry_t;

struct conn_ti_feed {
  char *path;
  feed_entry_t *entries; /* sorted by indicator */
  size_t n;
  struct timespec mtime;
  off_t size;
  int64_t checked_ns;
};

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const feed_entry_t *)a)->indicator, ((const feed_entry_t *)b)->indicator);
}

static void feed_clear(conn_ti_feed_t *f) {
  for (size_t i = 0; i < f->n; i++) {
    free(f->entries[i].indicator);
    free(f->entries[i].type);
    free(f->entries[i].source);
  }
  free(f->entries);
  f->entries = NULL;
  f->n = 0;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t l = strlen(s);
  while (l && isspace((unsigned char)s[l - 1])) s[--l] = 0;
  return s;
}

static void feed_load(conn_ti_feed_t *f, const struct stat *st) {
  FILE *fp = fopen(f->path, "r");
  if (!fp) {
    LOG_WARN("could not open threat intel feed %s", f->path);
    return;
  }
  feed_clear(f);
  size_t alloc = 0;
  char line[4096];
  size_t lineno = 0, bad = 0;
  while (fgets(line, sizeof line, fp)) {
    lineno++;
    char *p = trim(line);
    if (!*p || *p == '#') continue;
    char *fields[4] = {0};
    int nf = 0;
    for (char *tok = p; nf < 4; nf++) {
      fields[nf] = tok;
      char *comma = strchr(tok, ',');
      if (!comma) {
        nf++;
        break;
      }
      *comma = 0;
      tok = comma + 1;
    }
    if (nf < 3) {
      bad++;
      continue;
    }
    char *end = NULL;
    double score = strtod(trim(fields[2]), &end);
    if (end == fields[2] || *end) {
      if (lineno > 1) bad++; /* a header line is fine */
      continue;
    }
    if (f->n == alloc) {
      alloc = alloc ? alloc * 2 : 256;
      f->entries = parry_xreallocarray(f->entries, alloc, sizeof *f->entries);
    }
    feed_entry_t *e = &f->entries[f->n++];
    e->indicator = parry_xstrdup(trim(fields[0]));
    e->type = parry_xstrdup(trim(fields[1]));
    e->score = score;
    e->source = parry_xstrdup(nf > 3 && fields[3] ? trim(fields[3]) : "feed");
  }
  fclose(fp);
  qsort(f->entries, f->n, sizeof *f->entries, entry_cmp);
  f->mtime = st->st_mtim;
  f->size = st->st_size;
  LOG_INFO("threat intel feed %s: %zu indicators loaded, %zu lines skipped", f->path, f->n, bad);
}

conn_ti_feed_t *conn_ti_feed_new(const char *path) {
  conn_ti_feed_t *f = parry_xnew(conn_ti_feed_t, 1);
  f->path = parry_xstrdup(path);
  f->checked_ns = -(INT64_C(1) << 62); /* far past, without overflow in now - checked */
  return f;
}

void conn_ti_feed_destroy(conn_ti_feed_t *f) {
  if (!f) return;
  feed_clear(f);
  free(f->path);
  free(f);
}

bool conn_ti_feed_lookup(conn_ti_feed_t *f, const char *indicator, char *type, size_t type_n,
                         double *score, char *source, size_t source_n) {
  int64_t now = conn_now_ns();
  /* stat at most once a second: lookups stay cheap under load. */
  if (now - f->checked_ns >= 1000000000LL) {
    f->checked_ns = now;
    struct stat st;
    if (stat(f->path, &st) == 0 &&
        (st.st_size != f->size || st.st_mtim.tv_sec != f->mtime.tv_sec ||
         st.st_mtim.tv_nsec != f->mtime.tv_nsec))
      feed_load(f, &st);
  }
  feed_entry_t key = {.indicator = (char *)indicator};
  feed_entry_t *hit = f->n ? bsearch(&key, f->entries, f->n, sizeof *f->entries, entry_cmp) : NULL;
  if (!hit) return false;
  snprintf(type, type_n, "%s", hit->type);
  snprintf(source, source_n, "%s", hit->source);
  *score = hit->score;
  return true;
}

static const parry_conn_input_t inputs[] = {
    {"indicator", PARRY_CONN_IN_TEXT, 0, true, "IP, domain, hash ... to look up"},
    {"type", PARRY_CONN_IN_TEXT, 0, false, "indicator type for the provider's path (ip, domain ...)"},
};

static const char *verdict_of(double score) {
  return score >= 75 ? "malicious" : score >= 40 ? "suspicious" : "benign";
}

static void set_outputs(conn_call_t *call, bool found, const char *verdict, double score,
                        const char *source, const char *type) {
  struct json_object *o = call->outputs;
  json_object_object_add(o, "found", json_object_new_boolean(found));
  json_object_object_add(o, "verdict", json_object_new_string(verdict));
  json_object_object_add(o, "score", json_object_new_double(score));
  json_object_object_add(o, "source", json_object_new_string(source));
  if (type) json_object_object_add(o, "type", json_object_new_string(type));
}

/* Ask provider number `i` (call->priv holds the index). */
static parry_err_t ask_provider(conn_call_t *call, size_t i, char *errstr, size_t n) {
  const parry_conn_config_t *cfg = conn_call_config(call);
  const conn_ti_provider_t *p = &cfg->providers[i];
  const conn_target_cfg_t *t = conn_config_target(cfg, p->target);
  parry_err_t err = conn_req_begin_subst(call, t, "GET", p->path, errstr, n);
  if (err != PARRY_OK) return err;
  call->req.expect[call->req.nexpect++] = (conn_range_t){200, 299};
  if (p->not_found_ok) call->req.expect[call->req.nexpect++] = (conn_range_t){404, 404};
  call->priv = (void *)(uintptr_t)i;
  return PARRY_OK;
}

static parry_err_t start(conn_call_t *call, char *errstr, size_t n) {
  const parry_conn_config_t *cfg = conn_call_config(call);
  const char *ind = conn_in_str(call, "indicator");
  if (!ind || !*ind) return parry_fail(errstr, n, PARRY_ERR_INVALID, "indicator is required");
  conn_ti_feed_t *feed = conn_engine_ti_feed(call->e);
  if (!feed && !cfg->nproviders)
    return parry_fail(errstr, n, PARRY_ERR_NOT_FOUND,
                      "no threat intel feed or provider configured (threat_intel)");
  if (feed) {
    char type[64], source[128];
    double score;
    if (conn_ti_feed_lookup(feed, ind, type, sizeof type, &score, source, sizeof source)) {
      set_outputs(call, true, verdict_of(score), score, source, type);
      conn_call_ok(call);
      return PARRY_OK;
    }
  }
  if (!cfg->nproviders) {
    set_outputs(call, false, "unknown", 0, "feed", NULL);
    conn_call_ok(call);
    return PARRY_OK;
  }
  if (!conn_in(call, "type")) json_object_object_add(call->inputs, "type", json_object_new_string("ip"));
  return ask_provider(call, 0, errstr, n);
}

/* The first provider that knows the indicator answers; one that does not
 * (404, or neither score nor verdict) passes to the next. */
static void response(conn_call_t *call) {
  const parry_conn_config_t *cfg = conn_call_config(call);
  size_t i = (size_t)(uintptr_t)call->priv;
  const conn_ti_provider_t *p = &cfg->providers[i];
  struct json_object *doc = call->http_status == 404 ? NULL : conn_response_json(call);
  struct json_object *sv = doc && p->score ? conn_json_path(doc, p->score) : NULL;
  struct json_object *vv = doc && p->verdict ? conn_json_path(doc, p->verdict) : NULL;
  if (!sv && !vv) {
    json_object_put(doc);
    if (i + 1 < cfg->nproviders) {
      char err[256];
      conn_req_again(call);
      if (ask_provider(call, i + 1, err, sizeof err) != PARRY_OK)
        conn_call_fail(call, PARRY_CONN_FAILED, "threat_intel: %s", err);
      return;
    }
    set_outputs(call, false, "unknown", 0, p->name, NULL);
    return;
  }
  double score = sv ? json_object_get_double(sv) : 0;
  if (sv && json_object_is_type(sv, json_type_string)) score = strtod(json_object_get_string(sv), NULL);
  /* No verdict field: derive one from the score. */
  const char *verdict = vv ? json_object_get_string(vv) : verdict_of(score);
  set_outputs(call, true, verdict, score, p->name, NULL);
  json_object_put(doc);
}

const parry_connector_t parry_connector_threat_intel = {
    .name = "threat_intel",
    .help = "look an indicator up in the local feed, then the configured HTTP provider",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .start = start,
    .response = response,
};
