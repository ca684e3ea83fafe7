/* Loading: paths to files, files to YAML documents, Sigma 1.x collection
 * actions, and each document to a rule, a filter or a kept correlation.
 * Problems with one document reject that document into the report and
 * loading goes on; only unusable arguments fail the whole load. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

typedef struct {
  parry_sigma_ruleset_t *rs;
  parry_sigma_report_t *report;
  parry_sigma_report_t scratch; /* when the caller passed no report */
} loader_t;

int sg_read_file(const char *path, char **out, size_t *len, char *err, size_t err_size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, err_size, "could not open %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, err_size, "could not read %s: not a regular file", path);
    close(fd);
    return -1;
  }
  if ((uint64_t)st.st_size > SG_MAX_FILE_SIZE) {
    snprintf(err, err_size, "%s is larger than %u bytes", path, SG_MAX_FILE_SIZE);
    close(fd);
    return -1;
  }
  size_t cap = (size_t)st.st_size + 1, n = 0;
  char *buf = parry_xmalloc(cap);
  for (;;) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      snprintf(err, err_size, "could not read %s: %s", path, strerror(errno));
      free(buf);
      close(fd);
      return -1;
    }
    if (r == 0 || n + (size_t)r == cap - 1) {
      n += (size_t)r;
      break;
    }
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  *out = buf;
  *len = n;
  return 0;
}

static const char *doc_label(const parry_sigma_node_t *doc) {
  const char *id = sg_scalar_or_null(parry_sigma_node_get(doc, "id"));
  return id ? id : sg_scalar_or_null(parry_sigma_node_get(doc, "title"));
}

static void reject(loader_t *L, const char *file, const parry_sigma_node_t *doc, sg_err_t *e) {
  if (!e->line && doc) e->line = doc->line;
  const char *label = doc ? doc_label(doc) : NULL;
  sg_report_reject(L->report, file, label, e);
}

static void load_correlation(loader_t *L, const char *file, const parry_sigma_node_t *doc) {
  parry_sigma_ruleset_t *rs = L->rs;
  rs->corrs = sg_grow(rs->corrs, &rs->cap_corrs, rs->n_corrs, sizeof *rs->corrs);
  parry_sigma_correlation_t *c = &rs->corrs[rs->n_corrs++];
  c->id = sg_scalar_or_null(parry_sigma_node_get(doc, "id"));
  c->name = sg_scalar_or_null(parry_sigma_node_get(doc, "name"));
  c->title = sg_scalar_or_null(parry_sigma_node_get(doc, "title"));
  c->file = file;
  c->line = doc->line;
  c->document = doc;
  L->report->correlations++;
}

static void load_filter(loader_t *L, const char *file, const parry_sigma_node_t *doc) {
  sg_cc_t cc = {L->rs, file, NULL, 0, 0, 0};
  sg_err_t e = {0};
  if (sg_filter_load(&cc, doc, file, &e) < 0) {
    sg_cc_abort(&cc);
    reject(L, file, doc, &e);
    return;
  }
  sg_cc_commit(&cc);
  L->report->filters_loaded++;
}

static void load_rule(loader_t *L, const char *file, const parry_sigma_node_t *doc) {
  parry_sigma_ruleset_t *rs = L->rs;
  sg_cc_t cc = {rs, file, NULL, 0, 0, 0};
  sg_err_t e = {0};
  sg_rule_t r;
  memset(&r, 0, sizeof r);
  if (sg_rule_meta(&rs->arena, doc, &r.info, &e) < 0) goto fail;
  const parry_sigma_node_t *det = parry_sigma_node_get(doc, "detection");
  if (!det) {
    sg_fail(&e, PARRY_SIGMA_REJECT_STRUCTURE, doc, "detection: missing");
    goto fail;
  }
  if (det->kind != PARRY_SIGMA_NODE_MAPPING) {
    sg_fail(&e, PARRY_SIGMA_REJECT_STRUCTURE, det, "detection: expected a mapping");
    goto fail;
  }
  static const char *const skip[] = {"condition", "timeframe"};
  r.expr = sg_compile_detection(&cc, det, parry_sigma_node_get(det, "condition"), skip, 2, &e);
  if (!r.expr) goto fail;
  const char *keys[2] = {r.info.id, r.info.name};
  if (!rs->rule_index) rs->rule_index = sg_hash_new();
  for (int k = 0; k < 2; k++) {
    uint32_t other;
    if (keys[k] && sg_hash_get(rs->rule_index, keys[k], strlen(keys[k]), &other)) {
      sg_fail(&e, PARRY_SIGMA_REJECT_DUPLICATE, parry_sigma_node_get(doc, k ? "name" : "id"),
              "%s: \"%.80s\" is already used by the rule at %s:%u", k ? "name" : "id", keys[k],
              rs->rules[other].info.file, rs->rules[other].info.line);
      goto fail;
    }
  }
  sg_cc_commit(&cc);
  r.info.file = file;
  rs->rules = sg_grow(rs->rules, &rs->cap_rules, rs->n_rules, sizeof *rs->rules);
  uint32_t idx = (uint32_t)rs->n_rules++;
  rs->rules[idx] = r;
  for (int k = 0; k < 2; k++)
    if (keys[k]) sg_hash_put(rs->rule_index, &rs->arena, keys[k], strlen(keys[k]), idx);
  L->report->rules_loaded++;
  return;
fail:
  sg_cc_abort(&cc);
  reject(L, file, doc, &e);
}

static void load_document(loader_t *L, const char *file, const parry_sigma_node_t *doc) {
  if (parry_sigma_node_get(doc, "correlation"))
    load_correlation(L, file, doc);
  else if (parry_sigma_node_get(doc, "filter") && !parry_sigma_node_get(doc, "detection"))
    load_filter(L, file, doc);
  else
    load_rule(L, file, doc);
}

static void load_text(loader_t *L, const char *file_arg, const char *text, size_t len) {
  parry_sigma_ruleset_t *rs = L->rs;
  const char *file = parry_arena_strdup(&rs->arena, file_arg);
  sg_yaml_file_t yf;
  sg_err_t ye = {0};
  L->report->files++;
  int rc = sg_yaml_parse(&rs->arena, text, len, &yf, &ye);
  const parry_sigma_node_t *global = NULL, *prev = NULL;
  for (size_t i = 0; i < yf.n_docs; i++) {
    const parry_sigma_node_t *doc = yf.docs[i];
    if (doc->kind == PARRY_SIGMA_NODE_SCALAR && doc->scalar == PARRY_SIGMA_SCALAR_NULL) continue;
    L->report->documents++;
    sg_err_t e = {0};
    if (doc->kind != PARRY_SIGMA_NODE_MAPPING) {
      sg_fail(&e, PARRY_SIGMA_REJECT_STRUCTURE, doc, "a Sigma document must be a mapping");
      reject(L, file, NULL, &e);
      continue;
    }
    const parry_sigma_node_t *action = parry_sigma_node_get(doc, "action");
    if (action) {
      const char *a = sg_scalar_or_null(action);
      if (a && !strcmp(a, "global")) {
        global = prev = sg_yaml_without(&rs->arena, doc, "action");
        continue;
      }
      if (a && !strcmp(a, "reset")) {
        global = NULL;
        continue;
      }
      if (a && !strcmp(a, "repeat")) {
        if (!prev) {
          sg_fail(&e, PARRY_SIGMA_REJECT_STRUCTURE, action, "action: repeat with no document before it");
          reject(L, file, doc, &e);
          continue;
        }
        prev = sg_yaml_merge(&rs->arena, prev, sg_yaml_without(&rs->arena, doc, "action"));
        load_document(L, file, prev);
        continue;
      }
      sg_fail(&e, PARRY_SIGMA_REJECT_STRUCTURE, action,
              "action: \"%.40s\" is not global, reset or repeat", a ? a : "");
      reject(L, file, doc, &e);
      continue;
    }
    prev = global ? sg_yaml_merge(&rs->arena, global, doc) : doc;
    load_document(L, file, prev);
  }
  free(yf.docs);
  if (rc < 0) {
    L->report->documents++;
    reject(L, file, NULL, &ye);
  }
}

static void load_file(loader_t *L, const char *path) {
  char *text = NULL;
  size_t len = 0;
  sg_err_t e = {0};
  if (sg_read_file(path, &text, &len, e.msg, sizeof e.msg) < 0) {
    e.reason = strstr(e.msg, "larger than") ? PARRY_SIGMA_REJECT_LIMIT : PARRY_SIGMA_REJECT_IO;
    L->report->files++;
    sg_report_reject(L->report, path, NULL, &e);
    return;
  }
  load_text(L, path, text, len);
  free(text);
}

static bool has_yaml_ext(const char *name) {
  size_t n = strlen(name);
  return (n > 4 && !strcmp(name + n - 4, ".yml")) || (n > 5 && !strcmp(name + n - 5, ".yaml"));
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(loader_t *L, const char *dir, int depth) {
  sg_err_t e = {0};
  if (depth > SG_MAX_DIR_DEPTH) {
    sg_fail(&e, PARRY_SIGMA_REJECT_LIMIT, NULL, "folders nested deeper than %d", SG_MAX_DIR_DEPTH);
    sg_report_reject(L->report, dir, NULL, &e);
    return;
  }
  DIR *d = opendir(dir);
  if (!d) {
    sg_fail(&e, PARRY_SIGMA_REJECT_IO, NULL, "could not open folder: %s", strerror(errno));
    sg_report_reject(L->report, dir, NULL, &e);
    return;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    names = sg_grow(names, &cap, n, sizeof *names);
    names[n++] = parry_xstrdup(de->d_name);
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(dir) + strlen(names[i]) + 2;
    char *path = parry_xmalloc(len);
    snprintf(path, len, "%s/%s", dir, names[i]);
    struct stat st;
    if (lstat(path, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        walk_dir(L, path, depth + 1);
      else if (has_yaml_ext(names[i]) && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
        load_file(L, path); /* a symlinked file is read; a symlinked folder is not walked */
    }
    free(path);
    free(names[i]);
  }
  free(names);
}

static int load_path(loader_t *L, const char *path, char *errstr, size_t errstr_size) {
  struct stat st;
  if (stat(path, &st) < 0) {
    snprintf(errstr, errstr_size, "could not open %s: %s", path, strerror(errno));
    return -1;
  }
  if (S_ISDIR(st.st_mode))
    walk_dir(L, path, 0);
  else
    load_file(L, path);
  return 0;
}

static parry_sigma_ruleset_t *begin(loader_t *L, const parry_sigma_options_t *o,
                                    parry_sigma_report_t *report, char *errstr,
                                    size_t errstr_size) {
  memset(L, 0, sizeof *L);
  if (report) {
    parry_sigma_report_free(report);
    memset(report, 0, sizeof *report);
  }
  L->report = report ? report : &L->scratch;
  L->rs = parry_xnew(parry_sigma_ruleset_t, 1);
  L->rs->arena = (parry_arena_t)PARRY_ARENA_INIT;
  if (sg_options_copy(L->rs, o, errstr, errstr_size) < 0) {
    parry_sigma_ruleset_destroy(L->rs);
    return NULL;
  }
  return L->rs;
}

static parry_sigma_ruleset_t *finish(loader_t *L) {
  parry_sigma_ruleset_t *rs = L->rs;
  sg_filters_attach(rs, L->report);
  for (size_t i = 0; i < rs->n_rules; i++) {
    parry_sigma_level_t l = rs->rules[i].info.level;
    rs->rules[i].info.alerting =
        l == PARRY_SIGMA_LEVEL_NONE ? rs->min_level <= PARRY_SIGMA_LEVEL_INFORMATIONAL
                                    : l >= rs->min_level;
  }
  sg_logsource_build(rs);
  sg_prefilter_build(rs);
  if (L->report == &L->scratch) parry_sigma_report_free(&L->scratch);
  return rs;
}

parry_sigma_ruleset_t *parry_sigma_load(const char *const *paths, size_t n_paths,
                                        const parry_sigma_options_t *options,
                                        parry_sigma_report_t *report, char *errstr,
                                        size_t errstr_size) {
  loader_t L;
  if (!begin(&L, options, report, errstr, errstr_size)) return NULL;
  for (size_t i = 0; i < n_paths; i++)
    if (!paths[i] || load_path(&L, paths[i], errstr, errstr_size) < 0) {
      if (!paths[i]) snprintf(errstr, errstr_size, "rule path %zu is NULL", i);
      goto fail;
    }
  for (size_t i = 0; options && i < options->n_filter_paths; i++)
    if (!options->filter_paths[i] ||
        load_path(&L, options->filter_paths[i], errstr, errstr_size) < 0) {
      if (!options->filter_paths[i]) snprintf(errstr, errstr_size, "filter path %zu is NULL", i);
      goto fail;
    }
  return finish(&L);
fail:
  parry_sigma_ruleset_destroy(L.rs);
  if (L.report == &L.scratch) parry_sigma_report_free(&L.scratch);
  return NULL;
}

parry_sigma_ruleset_t *parry_sigma_load_text(const char *name, const char *text, size_t len,
                                             const parry_sigma_options_t *options,
                                             parry_sigma_report_t *report, char *errstr,
                                             size_t errstr_size) {
  loader_t L;
  if (!begin(&L, options, report, errstr, errstr_size)) return NULL;
  if (len > SG_MAX_FILE_SIZE) {
    sg_err_t e = {0};
    sg_fail(&e, PARRY_SIGMA_REJECT_LIMIT, NULL, "larger than %u bytes", SG_MAX_FILE_SIZE);
    L.report->files++;
    sg_report_reject(L.report, name ? name : "<text>", NULL, &e);
  } else {
    load_text(&L, name ? name : "<text>", text ? text : "", text ? len : 0);
  }
  for (size_t i = 0; options && i < options->n_filter_paths; i++)
    if (!options->filter_paths[i] ||
        load_path(&L, options->filter_paths[i], errstr, errstr_size) < 0) {
      parry_sigma_ruleset_destroy(L.rs);
      if (L.report == &L.scratch) parry_sigma_report_free(&L.scratch);
      return NULL;
    }
  return finish(&L);
}

void parry_sigma_ruleset_destroy(parry_sigma_ruleset_t *rs) {
  if (!rs) return;
  for (size_t i = 0; i < rs->n_regexes; i++) sg_regex_free(rs->regexes[i]);
  free(rs->regexes);
  for (size_t i = 0; i < rs->n_slots; i++) sg_ac_free(rs->slots[i].ac);
  sg_ac_free(rs->kw_ac);
  free(rs->slots);
  for (size_t i = 0; i < rs->n_lits; i++) free(rs->lits[i].rules);
  free(rs->lits);
  for (size_t i = 0; i < rs->n_buckets; i++) {
    free(rs->buckets[i].rules);
    free(rs->buckets[i].always);
    free(rs->buckets[i].scan_slots);
  }
  free(rs->buckets);
  sg_hash_free(rs->slot_index);
  sg_hash_free(rs->rule_index);
  sg_hash_free(rs->lit_index);
  free(rs->rules);
  free(rs->corrs);
  free(rs->filters);
  parry_arena_free(&rs->arena);
  free(rs);
}

size_t parry_sigma_rule_count(const parry_sigma_ruleset_t *rs) { return rs ? rs->n_rules : 0; }

const parry_sigma_rule_info_t *parry_sigma_rule_info(const parry_sigma_ruleset_t *rs, size_t i) {
  return rs && i < rs->n_rules ? &rs->rules[i].info : NULL;
}

bool parry_sigma_rule_find(const parry_sigma_ruleset_t *rs, const char *id_or_name,
                           uint32_t *index) {
  return rs && id_or_name && sg_hash_get(rs->rule_index, id_or_name, strlen(id_or_name), index);
}

size_t parry_sigma_correlation_count(const parry_sigma_ruleset_t *rs) {
  return rs ? rs->n_corrs : 0;
}

const parry_sigma_correlation_t *parry_sigma_correlation(const parry_sigma_ruleset_t *rs,
                                                         size_t i) {
  return rs && i < rs->n_corrs ? &rs->corrs[i] : NULL;
}
