/* Loading and validating runbooks (runbook.h). Every mistake is reported with
 * its file, line, column and field; validation goes on after a mistake so
 * one `parry runbooks check` lists them all. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "parry/mem.h"
#include "runbook/rb_int.h"
#include "runbook/rb_load.h"
#include "runbook/rb_set.h"
#include "runbook/rb_yaml.h"
#include "runbook/runbook.h"

/* ---- report ---- */

void parry_runbook_report_free(parry_runbook_report_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_errors; i++) {
    free(r->errors[i].file);
    free(r->errors[i].field);
    free(r->errors[i].message);
  }
  free(r->errors);
  memset(r, 0, sizeof *r);
}

void parry_runbook_report_print(const parry_runbook_report_t *r, FILE *out) {
  for (size_t i = 0; i < r->n_errors; i++) {
    const parry_runbook_error_t *e = &r->errors[i];
    fprintf(out, "%s:%u:%u: %s%s%s\n", e->file, e->line, e->column, e->field, *e->field ? ": " : "",
            e->message);
  }
}

/* ---- validation context ---- */

typedef struct {
  parry_runbook_set_t *set;
  parry_runbook_report_t *report; /* never NULL here (a local one when the caller gave none) */
  const char *file;
  const char *src; /* the file's text, for positions inside block scalars */
  size_t src_len;
  size_t errors; /* in the current runbook */
} vctx_t;

__attribute__((format(printf, 6, 7))) static void verr_at(vctx_t *v, uint32_t line, uint32_t col,
                                                          const char *field, int unused,
                                                          const char *fmt, ...) {
  (void)unused;
  parry_runbook_report_t *r = v->report;
  r->errors = parry_xreallocarray(r->errors, r->n_errors + 1, sizeof *r->errors);
  parry_runbook_error_t *e = &r->errors[r->n_errors++];
  e->file = parry_xstrdup(v->file);
  e->line = line;
  e->column = col;
  e->field = parry_xstrdup(field ? field : "");
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  e->message = parry_xstrdup(msg);
  v->errors++;
}

#define verr(v, node, field, ...) \
  verr_at((v), (node) ? (node)->line : 0, (node) ? (node)->column : 0, (field), 0, __VA_ARGS__)

static const char *kind_name(const ry_node_t *n) {
  if (n->kind == RY_SEQ) return "a list";
  if (n->kind == RY_MAP) return "a mapping";
  switch (n->scalar) {
    case RY_NULL: return "null";
    case RY_BOOL: return "a boolean";
    case RY_INT: return "an integer";
    case RY_FLOAT: return "a number";
    case RY_STRING: return "a string";
  }
  return "?";
}

/* Characters (UTF-8 lead bytes) in s[0..n): libyaml counts columns in
 * characters. */
static size_t chars_in(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xc0) != 0x80;
  return c;
}

/* Byte offset of the start of 1-based line `line` in the source, or src_len. */
static size_t line_start(const vctx_t *v, uint32_t line) {
  size_t i = 0;
  for (uint32_t l = 1; l < line && i < v->src_len; i++)
    if (v->src[i] == '\n') l++;
  return i;
}

/* Line and column of byte `off` of scalar node n's text, found by walking
 * the source lines the scalar spans: a line of text is the source line
 * without its indentation (and, for the first line of a flow scalar, without
 * what precedes the scalar), and consecutive lines are joined by one
 * character (a space when folded, a newline when literal). Exact for plain,
 * quoted (without escapes), literal and folded scalars as runbooks write
 * them; close otherwise. */
static void scalar_pos(const vctx_t *v, const ry_node_t *n, size_t off, uint32_t *line,
                       uint32_t *col) {
  bool block = n->style == RY_LITERAL || n->style == RY_FOLDED;
  bool quoted = n->style == RY_SINGLE || n->style == RY_DOUBLE;
  uint32_t l = block ? n->line + 1 : n->line;
  size_t ls = line_start(v, l), indent = 0;
  if (block) /* the indentation of the first line with content */
    for (size_t i = ls; i < v->src_len && v->src[i] != '\n' && v->src[i] == ' '; i++) indent++;
  size_t remaining = off;
  *line = n->line;
  *col = n->column;
  for (bool first = true; ls < v->src_len; first = false) {
    size_t le = ls;
    while (le < v->src_len && v->src[le] != '\n') le++;
    size_t cs = ls;
    if (first && !block) {
      /* the scalar starts at its column (characters) on its line */
      uint32_t target = n->column + (quoted ? 1u : 0u);
      for (uint32_t c = 1; c < target && cs < le;) {
        cs++;
        if (cs < le && ((unsigned char)v->src[cs] & 0xc0) != 0x80) c++;
      }
    } else if (block) {
      for (size_t k = 0; k < indent && cs < le && v->src[cs] == ' '; k++) cs++;
    } else {
      while (cs < le && (v->src[cs] == ' ' || v->src[cs] == '\t')) cs++;
    }
    size_t ce = le;
    if (ce > cs && v->src[ce - 1] == '\r') ce--;
    size_t len = ce - cs;
    if (remaining <= len) {
      *line = l;
      *col = (uint32_t)(chars_in(v->src + ls, cs - ls) + chars_in(v->src + cs, remaining) + 1);
      return;
    }
    /* a blank line in folded text replaces the joining space with a newline */
    if (len > 0 || n->style == RY_LITERAL) remaining -= len + 1;
    if (le >= v->src_len) break;
    ls = le + 1;
    l++;
  }
}

/* Unknown and duplicate keys of a mapping; false if map is not a mapping. */
static bool check_map(vctx_t *v, const ry_node_t *map, const char *field,
                      const char *const *allowed) {
  if (!map || map->kind != RY_MAP) {
    verr(v, map, field, "must be a mapping, not %s", map ? kind_name(map) : "nothing");
    return false;
  }
  for (size_t i = 0; i < map->n; i++) {
    const ry_node_t *k = map->items[2 * i];
    if (k->kind != RY_SCALAR) {
      verr(v, k, field, "a key must be a plain name, not %s", kind_name(k));
      continue;
    }
    for (size_t j = 0; j < i; j++) {
      const ry_node_t *o = map->items[2 * j];
      if (o->kind == RY_SCALAR && !strcmp(o->text, k->text)) {
        verr(v, k, field, "duplicate key \"%.60s\" (first on line %u)", k->text, o->line);
        break;
      }
    }
    if (!allowed) continue;
    bool known = false;
    for (size_t a = 0; allowed[a]; a++) known = known || !strcmp(allowed[a], k->text);
    if (!known) {
      char list[256] = "";
      size_t w = 0;
      for (size_t a = 0; allowed[a] && w < sizeof list; a++)
        w += (size_t)snprintf(list + w, sizeof list - w, "%s%s", a ? ", " : "", allowed[a]);
      verr(v, k, field, "unknown key \"%.60s\" (expected %s)", k->text, list);
    }
  }
  return true;
}

static void sub(char *out, size_t n, const char *field, const char *key) {
  snprintf(out, n, "%s%s%s", field, *field ? "." : "", key);
}

/* No control characters (tab and newline allowed only where text may span lines). */
static bool printable(const char *s, bool multiline) {
  for (; *s; s++)
    if (((unsigned char)*s < 0x20 && !(multiline && (*s == '\n' || *s == '\t'))) || *s == 0x7f)
      return false;
  return true;
}

/* A non-empty string scalar without control characters, or NULL after an
 * error. */
static const char *want_text(vctx_t *v, const ry_node_t *n, const char *field, bool multiline) {
  if (!n || n->kind != RY_SCALAR || n->scalar != RY_STRING) {
    verr(v, n, field, "must be a string, not %s", n ? kind_name(n) : "nothing");
    return NULL;
  }
  if (!n->len) {
    verr(v, n, field, "must not be empty");
    return NULL;
  }
  if (n->has_nul || !printable(n->text, multiline)) {
    verr(v, n, field, "must not contain control characters");
    return NULL;
  }
  return n->text;
}

static const char *want_string(vctx_t *v, const ry_node_t *n, const char *field) {
  return want_text(v, n, field, false);
}

static bool valid_id(const char *s) {
  if (!*s || strlen(s) > 64) return false;
  for (; *s; s++)
    if (!rb_is_name_char((unsigned char)*s)) return false;
  return true;
}

/* A list of strings (or one string): copies into the arena. On a bad item,
 * false, with NULL in its place. */
static bool want_string_list(vctx_t *v, const ry_node_t *n, const char *field, const char ***out,
                             size_t *count) {
  parry_arena_t *a = &v->set->arena;
  *out = NULL;
  *count = 0;
  if (n && n->kind == RY_SCALAR) {
    const char *s = want_string(v, n, field);
    if (!s) return false;
    *out = parry_arena_new(a, const char *, 1);
    (*out)[0] = parry_arena_strdup(a, s);
    *count = 1;
    return true;
  }
  if (!n || n->kind != RY_SEQ) {
    verr(v, n, field, "must be a list of strings, not %s", n ? kind_name(n) : "nothing");
    return false;
  }
  if (n->n == 0) {
    verr(v, n, field, "must not be an empty list");
    return false;
  }
  bool ok = true;
  *out = parry_arena_new(a, const char *, n->n);
  for (size_t i = 0; i < n->n; i++) {
    char f[160];
    snprintf(f, sizeof f, "%s[%zu]", field, i);
    const char *s = want_string(v, n->items[i], f);
    if (!s) ok = false; /* a NULL entry keeps the others at their index */
    (*out)[(*count)++] = s ? parry_arena_strdup(a, s) : NULL;
  }
  return ok;
}

static bool want_duration(vctx_t *v, const ry_node_t *n, const char *field, int64_t *out) {
  if (!n || n->kind != RY_SCALAR || n->scalar == RY_NULL || n->scalar == RY_BOOL) {
    verr(v, n, field, "must be a duration like 30s, 5m, 1h, not %s", n ? kind_name(n) : "nothing");
    return false;
  }
  if (n->scalar == RY_INT || n->scalar == RY_FLOAT) {
    verr(v, n, field, "duration \"%.40s\" needs a unit (ms, s, m, h, d)", n->text);
    return false;
  }
  if (!rb_parse_duration(n->text, out)) {
    verr(v, n, field, "\"%.40s\" is not a duration (like 500ms, 30s, 5m, 1h30m, 2d; at most 365d)",
         n->text);
    return false;
  }
  if (*out <= 0) {
    verr(v, n, field, "duration must be more than zero");
    return false;
  }
  return true;
}

static bool want_int(vctx_t *v, const ry_node_t *n, const char *field, int64_t lo, int64_t hi,
                     int64_t *out) {
  if (!n || n->kind != RY_SCALAR || n->scalar != RY_INT) {
    verr(v, n, field, "must be an integer, not %s", n ? kind_name(n) : "nothing");
    return false;
  }
  char *end;
  errno = 0;
  long long x = strtoll(n->text, &end, 10);
  if (errno || *end || x < lo || x > hi) {
    verr(v, n, field, "must be an integer from %lld to %lld", (long long)lo, (long long)hi);
    return false;
  }
  *out = x;
  return true;
}

/* ---- runbook sections ---- */

static void load_match(vctx_t *v, parry_runbook_t *rb, const ry_node_t *n) {
  static const char *const keys[] = {"rules", "tags", "level", NULL};
  if (!n) {
    verr_at(v, rb->line, 1, "match", 0, "is required (rules, tags and/or level)");
    return;
  }
  if (!check_map(v, n, "match", keys)) return;
  const ry_node_t *r = ry_get(n, "rules"), *t = ry_get(n, "tags"), *l = ry_get(n, "level");
  if (!r && !t && !l) verr(v, n, "match", "needs at least one of rules, tags, level");
  if (r)
    want_string_list(v, r, "match.rules", (const char ***)&rb->match.rules, &rb->match.n_rules);
  if (t) want_string_list(v, t, "match.tags", (const char ***)&rb->match.tags, &rb->match.n_tags);
  if (l) {
    const char *s = want_string(v, l, "match.level");
    if (s && !(rb->match.min_level = parry_level_parse(s)))
      verr(v, l, "match.level",
           "unknown level \"%.40s\" (informational, low, medium, high, critical)", s);
  }
}

static void load_group(vctx_t *v, parry_runbook_t *rb, const ry_node_t *n) {
  static const char *const keys[] = {"fields", "window", NULL};
  if (!check_map(v, n, "group", keys)) return;
  const ry_node_t *f = ry_get(n, "fields"), *w = ry_get(n, "window");
  if (!f) verr(v, n, "group", "needs fields (alert paths such as group_by.source.ip)");
  if (!w) verr(v, n, "group", "needs a window (such as 1h)");
  if (f && want_string_list(v, f, "group.fields", (const char ***)&rb->group.fields,
                            &rb->group.n_fields)) {
    for (size_t i = 0; i < rb->group.n_fields; i++) {
      rb_path_t p;
      rb_perr_t pe;
      const ry_node_t *at = f->kind == RY_SEQ ? f->items[i] : f;
      char field[64];
      snprintf(field, sizeof field, "group.fields[%zu]", i);
      if (!rb_path_from_text(rb->group.fields[i], &p, &pe)) {
        uint32_t line, col;
        scalar_pos(v, at, pe.offset, &line, &col);
        verr_at(v, line, col, field, 0, "%s", pe.msg);
        continue;
      }
      /* A path that can never resolve would put every alert in one case
       * (all keys null), so the first segment must be an alert member. */
      static const char *const roots[] = {"rule",       "group_by", "id",     "count",
                                          "suppressed", "window",   "events", NULL};
      bool known = false;
      for (size_t r = 0; roots[r]; r++) known = known || !strcmp(roots[r], p.segs[0].name);
      if (!strcmp(p.segs[0].name, "alert"))
        verr(v, at, field, "paths here are relative to the alert: write %s, not alert.%s",
             rb->group.fields[i] + 6, rb->group.fields[i] + 6);
      else if (!known)
        verr(v, at, field,
             "\"%.60s\" is not part of an alert (rule, group_by, id, count, window, events)",
             p.segs[0].name);
      rb_path_free(&p);
    }
  }
  if (w) want_duration(v, w, "group.window", &rb->group.window_ns);
}

static bool valid_severity(const char *s) {
  static const char *const names[] = {"informational", "low", "medium", "high", "critical", NULL};
  for (size_t i = 0; names[i]; i++)
    if (!strcmp(names[i], s)) return true;
  return false;
}

static void load_severity(vctx_t *v, parry_runbook_t *rb, const ry_node_t *n) {
  parry_arena_t *a = &v->set->arena;
  if (n->kind == RY_SCALAR) {
    const char *s = want_string(v, n, "severity");
    if (!s) return;
    if (!valid_severity(s)) {
      verr(v, n, "severity",
           "unknown severity \"%.40s\" (informational, low, medium, high, critical)", s);
      return;
    }
    for (int l = 0; l <= PARRY_LEVEL_CRITICAL; l++) rb->severity[l] = parry_arena_strdup(a, s);
    return;
  }
  static const char *const keys[] = {"informational", "low", "medium", "high", "critical", NULL};
  if (!check_map(v, n, "severity", keys)) return;
  for (size_t i = 0; i < n->n; i++) {
    const ry_node_t *k = n->items[2 * i], *val = n->items[2 * i + 1];
    parry_level_t l = k->kind == RY_SCALAR ? parry_level_parse(k->text) : PARRY_LEVEL_NONE;
    if (!l) continue; /* reported by check_map */
    char field[64];
    sub(field, sizeof field, "severity", k->text);
    const char *s = want_string(v, val, field);
    if (!s) continue;
    if (!valid_severity(s))
      verr(v, val, field, "unknown severity \"%.40s\" (informational, low, medium, high, critical)",
           s);
    else rb->severity[l] = parry_arena_strdup(a, s);
  }
}

/* ---- steps ---- */

typedef struct {
  vctx_t *v;
  parry_runbook_t *rb;
  const ry_node_t *node; /* the scalar holding the expression or template */
  size_t self;
  const bool *anc; /* anc[j]: step j is a transitive need of self */
  const char *field;
  size_t n_steps;
  const char *const *ids;
  const bool *is_handler;
  bool reads;
} refs_t;

static void check_ref(void *opaque, const char *step_id, size_t offset) {
  refs_t *r = opaque;
  r->reads = true;
  uint32_t line, col;
  scalar_pos(r->v, r->node, offset, &line, &col);
  size_t j = 0;
  while (j < r->n_steps && !(r->ids[j] && !strcmp(r->ids[j], step_id))) j++;
  if (j == r->n_steps) {
    verr_at(r->v, line, col, r->field, 0, "reads steps.%.60s, but there is no step \"%.60s\"",
            step_id, step_id);
  } else if (j == r->self) {
    verr_at(r->v, line, col, r->field, 0, "a step cannot read its own steps.%.60s", step_id);
  } else if (r->is_handler[r->self]) {
    if (r->is_handler[j])
      verr_at(r->v, line, col, r->field, 0, "a handler cannot read another handler (steps.%.60s)",
              step_id);
  } else if (!r->anc[j]) {
    verr_at(r->v, line, col, r->field, 0,
            "reads steps.%.60s, but \"%.60s\" is not in this step's needs (directly or through "
            "other steps), so it may not have run yet",
            step_id, step_id);
  }
}

static const parry_with_t *build_with(vctx_t *v, const ry_node_t *n, const char *field,
                                      parry_with_t *out, refs_t *refs);

static void build_with_node(vctx_t *v, const ry_node_t *n, const char *field, parry_with_t *w,
                            refs_t *refs) {
  parry_arena_t *a = &v->set->arena;
  w->line = n->line;
  w->column = n->column;
  if (n->kind == RY_MAP) {
    check_map(v, n, field, NULL);
    w->kind = PARRY_WITH_MAP;
    w->n = n->n;
    const char **keys = parry_arena_new(a, const char *, n->n ? n->n : 1);
    parry_with_t *items = parry_arena_new(a, parry_with_t, n->n ? n->n : 1);
    for (size_t i = 0; i < n->n; i++) {
      const ry_node_t *k = n->items[2 * i];
      keys[i] = parry_arena_strdup(a, k->kind == RY_SCALAR ? k->text : "");
      char f[256];
      sub(f, sizeof f, field, keys[i]);
      build_with(v, n->items[2 * i + 1], f, &items[i], refs);
    }
    w->keys = keys;
    w->items = items;
    return;
  }
  if (n->kind == RY_SEQ) {
    w->kind = PARRY_WITH_LIST;
    w->n = n->n;
    parry_with_t *items = parry_arena_new(a, parry_with_t, n->n ? n->n : 1);
    for (size_t i = 0; i < n->n; i++) {
      char f[256];
      snprintf(f, sizeof f, "%s[%zu]", field, i);
      build_with(v, n->items[i], f, &items[i], refs);
    }
    w->items = items;
    return;
  }
  w->text = n->text;
  switch (n->scalar) {
    case RY_NULL: w->kind = PARRY_WITH_NULL; return;
    case RY_BOOL: w->kind = PARRY_WITH_BOOL, w->b = n->text[0] == 't' || n->text[0] == 'T'; return;
    case RY_INT: {
      char *end;
      errno = 0;
      long long x = strtoll(n->text, &end, 10);
      if (!errno && !*end) {
        w->kind = PARRY_WITH_INT, w->i = x;
        return;
      }
      w->kind = PARRY_WITH_FLOAT, w->d = strtod(n->text, NULL);
      return;
    }
    case RY_FLOAT: w->kind = PARRY_WITH_FLOAT, w->d = strtod(n->text, NULL); return;
    case RY_STRING: break;
  }
  w->kind = PARRY_WITH_STRING;
  if (n->has_nul) {
    verr(v, n, field, "a string input may not contain a NUL byte");
    return;
  }
  char msg[256];
  size_t off;
  parry_template_t *t = parry_template_compile(n->text, n->len, &off, msg, sizeof msg);
  if (!t) {
    uint32_t line, col;
    scalar_pos(v, n, off, &line, &col);
    verr_at(v, line, col, field, 0, "bad template: %s (at offset %zu of the template)", msg, off);
    return;
  }
  rb_set_keep_template(v->set, t);
  w->tmpl = t;
  refs->node = n;
  refs->field = field;
  parry_template_step_refs(t, check_ref, refs);
}

static const parry_with_t *build_with(vctx_t *v, const ry_node_t *n, const char *field,
                                      parry_with_t *out, refs_t *refs) {
  build_with_node(v, n, field, out, refs);
  return out;
}

static void load_retries(vctx_t *v, parry_step_t *st, const ry_node_t *n, const char *field) {
  st->retries =
      (parry_retry_policy_t){PARRY_STEP_DEFAULT_RETRIES, PARRY_STEP_DEFAULT_BACKOFF_INITIAL_NS,
                             PARRY_STEP_DEFAULT_BACKOFF_MAX_NS, PARRY_STEP_DEFAULT_JITTER};
  if (!n) return;
  char f[160];
  int64_t x;
  if (n->kind == RY_SCALAR) { /* retries: 3 */
    if (want_int(v, n, field, 0, 100, &x)) st->retries.max = (uint32_t)x;
    return;
  }
  static const char *const keys[] = {"max", "backoff", "jitter", NULL};
  if (!check_map(v, n, field, keys)) return;
  const ry_node_t *m = ry_get(n, "max"), *b = ry_get(n, "backoff"), *j = ry_get(n, "jitter");
  sub(f, sizeof f, field, "max");
  if (m && want_int(v, m, f, 0, 100, &x)) st->retries.max = (uint32_t)x;
  if (b) {
    sub(f, sizeof f, field, "backoff");
    if (b->kind == RY_SCALAR) { /* backoff: 2s (the initial delay) */
      want_duration(v, b, f, &st->retries.initial_backoff_ns);
    } else {
      static const char *const bkeys[] = {"initial", "max", NULL};
      if (check_map(v, b, f, bkeys)) {
        char g[180];
        const ry_node_t *bi = ry_get(b, "initial"), *bm = ry_get(b, "max");
        sub(g, sizeof g, f, "initial");
        if (bi) want_duration(v, bi, g, &st->retries.initial_backoff_ns);
        sub(g, sizeof g, f, "max");
        if (bm) want_duration(v, bm, g, &st->retries.max_backoff_ns);
        /* a default gives way to the value the author wrote */
        if (st->retries.initial_backoff_ns > st->retries.max_backoff_ns) {
          if (bi && bm) verr(v, bm, g, "the maximum backoff is shorter than the initial one");
          else if (bi) st->retries.max_backoff_ns = st->retries.initial_backoff_ns;
          else st->retries.initial_backoff_ns = st->retries.max_backoff_ns;
        }
      }
    }
    if (b->kind == RY_SCALAR && st->retries.initial_backoff_ns > st->retries.max_backoff_ns)
      st->retries.max_backoff_ns = st->retries.initial_backoff_ns;
  }
  if (j) {
    sub(f, sizeof f, field, "jitter");
    if (j->kind != RY_SCALAR || (j->scalar != RY_FLOAT && j->scalar != RY_INT)) {
      verr(v, j, f, "must be a number from 0 to 1, not %s", kind_name(j));
    } else {
      double d = strtod(j->text, NULL);
      if (!(d >= 0 && d <= 1)) verr(v, j, f, "must be a number from 0 to 1");
      else st->retries.jitter = d;
    }
  }
}

static bool is_scalar_value(const ry_node_t *n) {
  return n->kind == RY_SCALAR && n->scalar != RY_NULL;
}

/* An input's value has the shape its connector declares (a URL is one
 * string, argv a list, headers a mapping ...). */
static void check_shape(vctx_t *v, const ry_node_t *val, const char *field, rb_in_shape_t shape) {
  switch (shape) {
    case RB_IN_ANY: return;
    case RB_IN_STRING:
      if (!is_scalar_value(val)) verr(v, val, field, "must be a string, not %s", kind_name(val));
      return;
    case RB_IN_SCALARS:
      if (val->kind == RY_SEQ) {
        for (size_t i = 0; i < val->n; i++)
          if (!is_scalar_value(val->items[i]))
            verr(v, val->items[i], field, "list items must be strings, not %s",
                 kind_name(val->items[i]));
      } else if (!is_scalar_value(val)) {
        verr(v, val, field, "must be a string or a list of strings, not %s", kind_name(val));
      }
      return;
    case RB_IN_LIST:
      if (val->kind != RY_SEQ || val->n == 0) {
        verr(v, val, field, "must be a non-empty list (one item per argument), not %s",
             val->kind == RY_SEQ ? "an empty list" : kind_name(val));
        return;
      }
      for (size_t i = 0; i < val->n; i++)
        if (!is_scalar_value(val->items[i]))
          verr(v, val->items[i], field, "list items must be strings, not %s",
               kind_name(val->items[i]));
      return;
    case RB_IN_MAP:
      if (val->kind != RY_MAP) {
        verr(v, val, field, "must be a mapping, not %s", kind_name(val));
        return;
      }
      for (size_t i = 0; i < val->n; i++)
        if (!is_scalar_value(val->items[2 * i + 1]))
          verr(v, val->items[2 * i + 1], field, "values must be strings, not %s",
               kind_name(val->items[2 * i + 1]));
      return;
  }
}

/* The key node of `key` in map (for errors about a whole value). */
static const ry_node_t *key_node(const ry_node_t *map, const char *key) {
  for (size_t i = 0; map && map->kind == RY_MAP && i < map->n; i++)
    if (map->items[2 * i]->kind == RY_SCALAR && !strcmp(map->items[2 * i]->text, key))
      return map->items[2 * i];
  return NULL;
}

static void check_connector(vctx_t *v, parry_step_t *st, const ry_node_t *uses_node,
                            const ry_node_t *with_node, const ry_node_t *step_node,
                            const char *field) {
  char f[160];
  sub(f, sizeof f, field, "uses");
  if (!rb_connector_known(st->uses)) {
    char names[600];
    rb_connector_names(names, sizeof names);
    verr(v, uses_node, f, "unknown connector \"%.60s\" (known: %s)", st->uses, names);
    return;
  }
  sub(f, sizeof f, field, "with");
  if (with_node && with_node->kind == RY_MAP) {
    for (size_t i = 0; i < with_node->n; i++) {
      const ry_node_t *k = with_node->items[2 * i], *val = with_node->items[2 * i + 1];
      if (k->kind != RY_SCALAR) continue;
      char g[200];
      sub(g, sizeof g, f, k->text);
      if (!rb_connector_has_input(st->uses, k->text)) {
        verr(v, k, g, "connector %.60s has no input \"%.60s\"", st->uses, k->text);
        continue;
      }
      check_shape(v, val, g, rb_connector_input_shape(st->uses, k->text));
    }
  }
  const char *req[64];
  size_t nreq = rb_connector_required(st->uses, req, 64);
  for (size_t i = 0; i < nreq; i++)
    if (!ry_get(with_node, req[i]))
      verr(v, with_node ? key_node(step_node, "with") : step_node, with_node ? f : field,
           "connector %.60s needs input \"%.60s\"", st->uses, req[i]);
}

static void load_steps(vctx_t *v, parry_runbook_t *rb, const ry_node_t *n) {
  parry_arena_t *a = &v->set->arena;
  if (!n) {
    verr_at(v, rb->line, 1, "steps", 0, "is required (a list of steps)");
    return;
  }
  if (n->kind != RY_SEQ) {
    verr(v, n, "steps", "must be a list of steps, not %s", kind_name(n));
    return;
  }
  if (n->n == 0) {
    verr(v, n, "steps", "must have at least one step");
    return;
  }
  if (n->n > PARRY_RUNBOOK_MAX_STEPS) {
    verr(v, n, "steps", "more than %d steps", PARRY_RUNBOOK_MAX_STEPS);
    return;
  }
  size_t ns = n->n;
  parry_step_t *steps = parry_arena_new(a, parry_step_t, ns);
  const char **ids = parry_arena_new(a, const char *, ns);
  bool *is_handler = parry_arena_new(a, bool, ns);
  bool *anc = parry_arena_new(a, bool, ns *ns);
  static const char *const keys[] = {"id",      "uses",    "with",       "when", "needs",
                                     "retries", "timeout", "on_failure", NULL};

  /* Pass 1: ids, so needs and on_failure can name any step. */
  for (size_t i = 0; i < ns; i++) {
    const ry_node_t *s = n->items[i];
    char field[32];
    snprintf(field, sizeof field, "steps[%zu]", i);
    if (!check_map(v, s, field, keys)) continue;
    const ry_node_t *id = ry_get(s, "id");
    char f[48];
    sub(f, sizeof f, field, "id");
    if (!id) {
      verr(v, s, field, "needs an id");
      continue;
    }
    const char *t = want_string(v, id, f);
    if (!t) continue;
    if (!valid_id(t)) {
      verr(v, id, f, "\"%.60s\" is not a valid step id (letters, digits, _ and -, at most 64)", t);
      continue;
    }
    bool dup = false;
    for (size_t j = 0; j < i; j++)
      if (ids[j] && !strcmp(ids[j], t)) {
        verr(v, id, f, "duplicate step id \"%.60s\" (first: steps[%zu], line %u)", t, j,
             steps[j].line);
        dup = true;
      }
    steps[i].line = s->line, steps[i].column = s->column;
    if (!dup) ids[i] = t;
  }
  /* on_failure targets are handlers. */
  for (size_t i = 0; i < ns; i++) {
    const ry_node_t *of = ry_get(n->items[i], "on_failure");
    if (!of || of->kind != RY_SCALAR) continue;
    for (size_t j = 0; j < ns; j++)
      if (ids[j] && !strcmp(ids[j], of->text) && j != i) is_handler[j] = true;
  }

  /* Pass 2: everything else. */
  for (size_t i = 0; i < ns; i++) {
    const ry_node_t *s = n->items[i];
    parry_step_t *st = &steps[i];
    st->index = i;
    st->id = ids[i] ? parry_arena_strdup(a, ids[i]) : "";
    st->handler = is_handler[i];
    st->timeout_ns = PARRY_STEP_DEFAULT_TIMEOUT_NS;
    st->retries =
        (parry_retry_policy_t){PARRY_STEP_DEFAULT_RETRIES, PARRY_STEP_DEFAULT_BACKOFF_INITIAL_NS,
                               PARRY_STEP_DEFAULT_BACKOFF_MAX_NS, PARRY_STEP_DEFAULT_JITTER};
    parry_with_t *empty = parry_arena_new(a, parry_with_t, 1);
    empty->kind = PARRY_WITH_MAP;
    st->with = empty;
    if (!s || s->kind != RY_MAP) continue;
    char field[32], f[64];
    snprintf(field, sizeof field, "steps[%zu]", i);

    /* needs: earlier steps only, so the order in the file is a valid order
     * and cycles cannot be written */
    const ry_node_t *nd = ry_get(s, "needs");
    if (nd) {
      sub(f, sizeof f, field, "needs");
      const char **needs;
      size_t nn;
      if (st->handler) {
        verr(v, nd, f, "step \"%.60s\" is an on_failure handler; a handler may not have needs",
             st->id);
      } else {
        want_string_list(v, nd, f, &needs, &nn); /* keeps the good ones on error */
        size_t *idx = parry_arena_new(a, size_t, nn ? nn : 1);
        size_t kept = 0;
        for (size_t k = 0; k < nn; k++) {
          const ry_node_t *at = nd->kind == RY_SEQ ? nd->items[k] : nd;
          char g[120];
          snprintf(g, sizeof g, "%s[%zu]", f, k);
          if (!needs[k]) continue; /* reported */
          size_t j = 0;
          while (j < ns && !(ids[j] && !strcmp(ids[j], needs[k]))) j++;
          if (j == ns) {
            verr(v, at, g, "unknown step \"%.60s\"", needs[k]);
            continue;
          }
          if (j == i) {
            verr(v, at, g, "step \"%.60s\" needs itself (a cycle)", needs[k]);
            continue;
          }
          if (j > i) {
            verr(v, at, g,
                 "\"%.60s\" comes later in the file; needs may only name earlier steps "
                 "(this also rules out cycles)",
                 needs[k]);
            continue;
          }
          if (is_handler[j]) {
            verr(v, at, g,
                 "\"%.60s\" is an on_failure handler, which runs only when a step fails; "
                 "it cannot be needed",
                 needs[k]);
            continue;
          }
          bool dup = false;
          for (size_t q = 0; q < kept; q++) dup = dup || idx[q] == j;
          if (dup) {
            verr(v, at, g, "\"%.60s\" is listed twice", needs[k]);
            continue;
          }
          needs[kept] = needs[k];
          idx[kept++] = j;
          anc[i * ns + j] = true;
          for (size_t q = 0; q < ns; q++) anc[i * ns + q] = anc[i * ns + q] || anc[j * ns + q];
        }
        st->needs = needs;
        st->needs_index = idx;
        st->n_needs = kept;
      }
    }

    const ry_node_t *u = ry_get(s, "uses");
    sub(f, sizeof f, field, "uses");
    if (!u) verr(v, s, field, "needs `uses` (the connector to run)");
    else if ((st->uses = want_string(v, u, f))) st->uses = parry_arena_strdup(a, st->uses);

    refs_t refs = {.v = v,
                   .rb = rb,
                   .self = i,
                   .anc = anc + i * ns,
                   .n_steps = ns,
                   .ids = ids,
                   .is_handler = is_handler};
    const ry_node_t *w = ry_get(s, "with");
    if (w) {
      char wf[64];
      sub(wf, sizeof wf, field, "with");
      if (w->kind != RY_MAP) verr(v, w, wf, "must be a mapping of inputs, not %s", kind_name(w));
      else st->with = build_with(v, w, wf, parry_arena_new(a, parry_with_t, 1), &refs);
    }

    const ry_node_t *wh = ry_get(s, "when");
    if (wh) {
      char wf[64];
      sub(wf, sizeof wf, field, "when");
      if (wh->kind != RY_SCALAR || wh->scalar == RY_NULL || wh->scalar == RY_INT ||
          wh->scalar == RY_FLOAT) {
        verr(v, wh, wf, "must be an expression (a string), not %s", kind_name(wh));
      } else {
        char msg[256];
        size_t off;
        parry_expr_t *e = parry_expr_compile_at(wh->text, wh->len, &off, msg, sizeof msg);
        if (!e) {
          uint32_t line, col;
          scalar_pos(v, wh, off, &line, &col);
          verr_at(v, line, col, wf, 0, "bad expression: %s (column %zu of the expression)", msg,
                  off + 1);
        } else {
          rb_set_keep_expr(v->set, e);
          st->when = e;
          refs.node = wh;
          refs.field = wf;
          parry_expr_step_refs(e, check_ref, &refs);
        }
      }
    }
    st->reads_outputs = refs.reads;

    load_retries(v, st, ry_get(s, "retries"), (snprintf(f, sizeof f, "%s.retries", field), f));
    const ry_node_t *to = ry_get(s, "timeout");
    sub(f, sizeof f, field, "timeout");
    if (to) want_duration(v, to, f, &st->timeout_ns);

    const ry_node_t *of = ry_get(s, "on_failure");
    sub(f, sizeof f, field, "on_failure");
    if (of) {
      const char *t = want_string(v, of, f);
      if (t && !strcmp(t, "stop")) st->on_failure.kind = PARRY_ON_FAILURE_STOP;
      else if (t && !strcmp(t, "continue")) st->on_failure.kind = PARRY_ON_FAILURE_CONTINUE;
      else if (t) {
        size_t j = 0;
        while (j < ns && !(ids[j] && !strcmp(ids[j], t))) j++;
        if (j == ns)
          verr(v, of, f, "\"%.60s\" is neither stop, continue nor a step id of this runbook", t);
        else if (j == i) verr(v, of, f, "a step cannot be its own on_failure handler");
        else {
          st->on_failure.kind = PARRY_ON_FAILURE_RUN;
          st->on_failure.step = parry_arena_strdup(a, t);
          st->on_failure.step_index = j;
        }
      }
    }
    if (st->uses && (!w || w->kind == RY_MAP)) check_connector(v, st, u, w, s, field);
  }
  /* on_failure chains must end: following handlers never returns to a step */
  for (size_t i = 0; i < ns; i++) {
    size_t cur = i, hops = 0;
    while (steps[cur].on_failure.kind == PARRY_ON_FAILURE_RUN && hops <= ns) {
      cur = steps[cur].on_failure.step_index;
      hops++;
      if (cur == i) break;
    }
    if (cur == i && hops > 0) {
      char f[64];
      snprintf(f, sizeof f, "steps[%zu].on_failure", i);
      verr(v, ry_get(n->items[i], "on_failure"), f,
           "on_failure handlers form a cycle through \"%.60s\"", steps[i].id);
    }
  }
  rb->steps = steps;
  rb->n_steps = ns;
}

static void load_runbook(vctx_t *v, const ry_node_t *doc) {
  static const char *const keys[] = {"name",     "description", "match", "group",
                                     "severity", "steps",       NULL};
  parry_arena_t *a = &v->set->arena;
  v->errors = 0;
  if (doc->kind == RY_SCALAR && doc->scalar == RY_NULL) return; /* an empty document */
  if (!check_map(v, doc, "", keys)) return;
  parry_runbook_t *rb = parry_arena_new(a, parry_runbook_t, 1);
  rb->file = parry_arena_strdup(a, v->file);
  rb->line = doc->line;
  rb->description = "";
  const ry_node_t *name = ry_get(doc, "name");
  if (!name) verr(v, doc, "name", "is required");
  else if ((rb->name = want_string(v, name, "name"))) {
    if (strlen(rb->name) > 128) verr(v, name, "name", "longer than 128 characters");
    rb->name = parry_arena_strdup(a, rb->name);
    const parry_runbook_t *other = rb_set_find_any(v->set, rb->name);
    if (other)
      verr(v, name, "name", "runbook \"%.60s\" is already defined in %s:%u", rb->name, other->file,
           other->line);
  }
  const ry_node_t *d = ry_get(doc, "description");
  if (d && (rb->description = want_text(v, d, "description", true)))
    rb->description = parry_arena_strdup(a, rb->description);
  if (!rb->description) rb->description = "";
  load_match(v, rb, ry_get(doc, "match"));
  const ry_node_t *g = ry_get(doc, "group");
  if (g) load_group(v, rb, g);
  const ry_node_t *sev = ry_get(doc, "severity");
  if (sev) load_severity(v, rb, sev);
  load_steps(v, rb, ry_get(doc, "steps"));
  if (rb->name) rb_set_note_name(v->set, rb); /* duplicates are found even when rejected */
  if (v->errors == 0) {
    rb_set_add(v->set, rb);
    v->report->runbooks++;
    v->report->steps += rb->n_steps;
  }
}

/* Errors of one file in the order of the text (then of discovery). */
static int err_cmp(const void *x, const void *y) {
  const parry_runbook_error_t *a = x, *b = y;
  if (a->line != b->line) return a->line < b->line ? -1 : 1;
  if (a->column != b->column) return a->column < b->column ? -1 : 1;
  return a < b ? -1 : a > b;
}

static void load_text_unsorted(parry_runbook_set_t *set, parry_runbook_report_t *report,
                               const char *file, const char *text, size_t len);

static void load_text(parry_runbook_set_t *set, parry_runbook_report_t *report, const char *file,
                      const char *text, size_t len) {
  size_t first = report->n_errors;
  load_text_unsorted(set, report, file, text, len);
  /* qsort is not stable; err_cmp falls back to the address, which is the
   * order of discovery, so equal positions keep it */
  if (report->n_errors - first > 1)
    qsort(report->errors + first, report->n_errors - first, sizeof *report->errors, err_cmp);
}

static void load_text_unsorted(parry_runbook_set_t *set, parry_runbook_report_t *report,
                               const char *file, const char *text, size_t len) {
  vctx_t v = {.set = set, .report = report, .file = file, .src = text, .src_len = len};
  report->files++;
  if (len > PARRY_RUNBOOK_MAX_FILE) {
    verr_at(&v, 0, 0, "", 0, "file larger than %u bytes", PARRY_RUNBOOK_MAX_FILE);
    return;
  }
  ry_node_t **docs = NULL;
  size_t n_docs = 0;
  ry_error_t ye;
  if (!ry_parse(&set->arena, text, len, &docs, &n_docs, &ye)) {
    verr_at(&v, ye.line, ye.column, "", 0, "%s", ye.msg);
    free(docs);
    return;
  }
  bool any = false;
  for (size_t i = 0; i < n_docs; i++) {
    any = any || !(docs[i]->kind == RY_SCALAR && docs[i]->scalar == RY_NULL);
    load_runbook(&v, docs[i]);
  }
  if (!any) verr_at(&v, 1, 1, "", 0, "no runbook in this file");
  free(docs);
}

static bool has_yaml_ext(const char *name) {
  size_t l = strlen(name);
  return (l > 4 && !strcmp(name + l - 4, ".yml")) || (l > 5 && !strcmp(name + l - 5, ".yaml"));
}

static int name_cmp(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

static void load_path(parry_runbook_set_t *set, parry_runbook_report_t *report, const char *path,
                      int depth) {
  vctx_t v = {.set = set, .report = report, .file = path};
  struct stat st;
  if (stat(path, &st) != 0) {
    verr_at(&v, 0, 0, "", 0, "could not open: %s", strerror(errno));
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    if (depth > 16) {
      verr_at(&v, 0, 0, "", 0, "folders nested too deeply");
      return;
    }
    DIR *d = opendir(path);
    if (!d) {
      verr_at(&v, 0, 0, "", 0, "could not open folder: %s", strerror(errno));
      return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      names = parry_xreallocarray(names, n + 1, sizeof *names);
      names[n++] = parry_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
      size_t l = strlen(path) + strlen(names[i]) + 2;
      char *child = parry_xmalloc(l);
      snprintf(child, l, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
      struct stat lst, cst;
      if (lstat(child, &lst) == 0 && stat(child, &cst) == 0) {
        if (S_ISDIR(cst.st_mode)) {
          if (!S_ISLNK(lst.st_mode)) load_path(set, report, child, depth + 1);
        } else if (S_ISREG(cst.st_mode) && has_yaml_ext(names[i])) {
          load_path(set, report, child, depth + 1);
        }
      }
      free(child);
      free(names[i]);
    }
    free(names);
    return;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    verr_at(&v, 0, 0, "", 0, "could not open: %s", strerror(errno));
    return;
  }
  parry_buf_t b = PARRY_BUF_INIT(PARRY_RUNBOOK_MAX_FILE + 1);
  char chunk[16384];
  size_t got;
  parry_err_t err = PARRY_OK;
  while (!err && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
    err = parry_buf_append(&b, chunk, got);
  bool rerr = ferror(f);
  fclose(f);
  if (rerr) verr_at(&v, 0, 0, "", 0, "could not read: %s", strerror(errno));
  else if (err) verr_at(&v, 0, 0, "", 0, "file larger than %u bytes", PARRY_RUNBOOK_MAX_FILE);
  else load_text(set, report, path, b.data ? b.data : "", b.len);
  parry_buf_free(&b);
}

parry_runbook_set_t *parry_runbooks_load(const char *const *paths, size_t n_paths,
                                         parry_runbook_report_t *report, char *errstr, size_t n) {
  parry_runbook_report_t local = {0};
  if (!report) report = &local;
  parry_runbook_report_free(report);
  parry_runbook_set_t *set = rb_set_new();
  for (size_t i = 0; i < n_paths; i++) load_path(set, report, paths[i], 0);
  rb_set_finish(set);
  parry_runbook_report_free(&local);
  return set;
}

parry_runbook_set_t *parry_runbooks_load_text(const char *file, const char *text, size_t len,
                                              parry_runbook_report_t *report, char *errstr,
                                              size_t n) {
  parry_runbook_report_t local = {0};
  if (!report) report = &local;
  parry_runbook_report_free(report);
  parry_runbook_set_t *set = rb_set_new();
  load_text(set, report, file, text, len);
  rb_set_finish(set);
  parry_runbook_report_free(&local);
  return set;
}
