/* Templates (template.h): compiled once into literal and substitution parts;
 * rendering walks the parts and escapes only what the context supplies. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "parry/mem.h"
#include "runbook/rb_int.h"
#include "runbook/template.h"

typedef enum { F_DEFAULT, F_UPPER, F_LOWER, F_TRIM, F_JSON, F_REQUIRED } filter_kind_t;

typedef struct {
  filter_kind_t kind;
  char *arg; /* F_DEFAULT */
} filter_t;

typedef struct {
  bool is_subst;
  size_t offset;   /* in the template text */
  size_t len;      /* literal: length */
  const char *lit; /* literal: points into text */
  rb_path_t path;  /* subst: path (n == 0 for a string operand) */
  char *str;       /* subst: string operand */
  filter_t *filters;
  size_t n_filters;
} part_t;

struct parry_template {
  char *text;
  size_t len;
  part_t *parts;
  size_t n_parts;
  bool has_subst;
};

const char *parry_escape_name(parry_escape_t esc) {
  switch (esc) {
    case PARRY_ESCAPE_NONE: return "none";
    case PARRY_ESCAPE_URL: return "url";
    case PARRY_ESCAPE_HEADER: return "header";
    case PARRY_ESCAPE_JSON: return "json";
  }
  return "?";
}

void parry_template_destroy(parry_template_t *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n_parts; i++) {
    part_t *p = &t->parts[i];
    rb_path_free(&p->path);
    free(p->str);
    for (size_t f = 0; f < p->n_filters; f++) free(p->filters[f].arg);
    free(p->filters);
  }
  free(t->parts);
  free(t->text);
  free(t);
}

static part_t *add_part(parry_template_t *t) {
  t->parts = parry_xreallocarray(t->parts, t->n_parts + 1, sizeof *t->parts);
  part_t *p = &t->parts[t->n_parts++];
  memset(p, 0, sizeof *p);
  return p;
}

static bool parse_filter(const char *s, size_t len, size_t *pos, part_t *p, rb_perr_t *e) {
  size_t i = rb_skip_space(s, len, *pos), at = i;
  while (i < len && rb_is_name_char((unsigned char)s[i])) i++;
  size_t nl = i - at;
  static const struct {
    const char *name;
    filter_kind_t kind;
  } names[] = {{"default", F_DEFAULT}, {"upper", F_UPPER}, {"lower", F_LOWER},
               {"trim", F_TRIM},       {"json", F_JSON},   {"required", F_REQUIRED}};
  filter_t f = {0};
  bool found = false;
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if (nl == strlen(names[k].name) && !memcmp(s + at, names[k].name, nl))
      f.kind = names[k].kind, found = true;
  if (!found)
    return rb_perr(e, at, "unknown filter \"%.*s\" (default, upper, lower, trim, json, required)",
                   (int)(nl > 40 ? 40 : nl), s + at);
  if (f.kind == F_DEFAULT) {
    i = rb_skip_space(s, len, i);
    if (i >= len || s[i] != '(')
      return rb_perr(e, i, "default needs an argument: default(\"text\")");
    i = rb_skip_space(s, len, i + 1);
    if (i >= len || (s[i] != '"' && s[i] != '\''))
      return rb_perr(e, i, "default takes a quoted string");
    if (!(f.arg = rb_parse_string(s, len, &i, e))) return false;
    i = rb_skip_space(s, len, i);
    if (i >= len || s[i] != ')') {
      free(f.arg);
      return rb_perr(e, i, "expected ')' after the argument of default");
    }
    i++;
  }
  if (p->n_filters >= 8) {
    free(f.arg);
    return rb_perr(e, at, "more than 8 filters");
  }
  p->filters = parry_xreallocarray(p->filters, p->n_filters + 1, sizeof *p->filters);
  p->filters[p->n_filters++] = f;
  *pos = i;
  return true;
}

static bool parse_subst(const char *s, size_t len, size_t *pos, part_t *p, rb_perr_t *e) {
  size_t i = rb_skip_space(s, len, *pos);
  if (i >= len) return rb_perr(e, *pos, "unterminated {{ (no matching }})");
  if (s[i] == '"' || s[i] == '\'') {
    if (!(p->str = rb_parse_string(s, len, &i, e))) return false;
  } else if (s[i] == '}' && i + 1 < len && s[i + 1] == '}') {
    return rb_perr(e, i, "empty {{ }}");
  } else if (!rb_parse_path(s, len, &i, rb_roots, &p->path, e)) {
    return false;
  }
  for (;;) {
    i = rb_skip_space(s, len, i);
    if (i + 1 < len && s[i] == '}' && s[i + 1] == '}') break;
    if (i < len && s[i] == '|') {
      i++;
      if (!parse_filter(s, len, &i, p, e)) return false;
      continue;
    }
    if (i >= len) return rb_perr(e, *pos - 2, "unterminated {{ (no matching }})");
    return rb_perr(e, i, "expected '|' or '}}'");
  }
  *pos = i + 2;
  return true;
}

parry_template_t *parry_template_compile(const char *text, size_t len, size_t *err_offset,
                                         char *errstr, size_t n) {
  size_t dummy;
  if (!err_offset) err_offset = &dummy;
  *err_offset = 0;
  if (len > PARRY_TEMPLATE_MAX_LEN) {
    parry_fail(errstr, n, PARRY_ERR_TOO_LARGE, "template longer than %d bytes",
               PARRY_TEMPLATE_MAX_LEN);
    return NULL;
  }
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    *err_offset = (size_t)(nul - text);
    parry_fail(errstr, n, PARRY_ERR_INVALID, "NUL byte in the template");
    return NULL;
  }
  parry_template_t *t = parry_xnew(parry_template_t, 1);
  t->text = parry_xstrndup(text, len);
  t->len = len;
  const char *s = t->text;
  size_t i = 0, substs = 0;
  rb_perr_t e = {0};
  while (i < len) {
    const char *open = len - i >= 2 ? memmem(s + i, len - i, "{{", 2) : NULL;
    size_t end = open ? (size_t)(open - s) : len;
    if (end > i) {
      part_t *p = add_part(t);
      p->offset = i, p->lit = s + i, p->len = end - i;
    }
    if (!open) break;
    if (++substs > PARRY_TEMPLATE_MAX_SUBST) {
      rb_perr(&e, end, "more than %d substitutions", PARRY_TEMPLATE_MAX_SUBST);
      goto bad;
    }
    part_t *p = add_part(t);
    p->is_subst = true;
    p->offset = end;
    t->has_subst = true;
    i = end + 2;
    if (!parse_subst(s, len, &i, p, &e)) goto bad;
  }
  return t;
bad:
  *err_offset = e.offset;
  parry_fail(errstr, n, PARRY_ERR_INVALID, "%s", e.msg);
  parry_template_destroy(t);
  return NULL;
}

bool parry_template_is_literal(const parry_template_t *t) { return !t->has_subst; }
const char *parry_template_text(const parry_template_t *t) { return t->text; }

void parry_template_step_refs(const parry_template_t *t, parry_step_ref_cb cb, void *opaque) {
  for (size_t i = 0; i < t->n_parts; i++) {
    const part_t *p = &t->parts[i];
    if (p->is_subst && p->path.n >= 2 && !strcmp(p->path.segs[0].name, "steps") &&
        p->path.segs[1].name)
      cb(opaque, p->path.segs[1].name, p->path.offset);
  }
}

static parry_err_t append_escaped(parry_buf_t *out, const char *s, size_t len, parry_escape_t esc) {
  switch (esc) {
    case PARRY_ESCAPE_JSON: return parry_buf_append_json_string(out, s, len);
    case PARRY_ESCAPE_URL: {
      static const char hex[] = "0123456789ABCDEF";
      for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        parry_err_t err;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          err = parry_buf_append_char(out, (char)c);
        } else {
          char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
          err = parry_buf_append(out, enc, 3);
        }
        if (err) return err;
      }
      return PARRY_OK;
    }
    case PARRY_ESCAPE_HEADER:
    case PARRY_ESCAPE_NONE: return parry_buf_append(out, s, len);
  }
  return PARRY_OK;
}

static const char *path_name(const part_t *p, char *buf, size_t n) {
  if (!p->path.n) return "the string";
  size_t w = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < p->path.n && w + 1 < n; i++) {
    const rb_seg_t *seg = &p->path.segs[i];
    int k = seg->name ? snprintf(buf + w, n - w, "%s%s", i ? "." : "", seg->name)
                      : snprintf(buf + w, n - w, "[%lld]", (long long)seg->index);
    if (k < 0) break;
    w += (size_t)k;
  }
  return buf;
}

/* One substitution's text before escaping, into tmp. */
static parry_err_t subst_text(const part_t *p, struct json_object *ctx, parry_buf_t *tmp,
                              char *errstr, size_t n) {
  struct json_object *v = NULL, *owned = NULL;
  if (p->str) v = owned = json_object_new_string(p->str);
  else v = rb_path_resolve(&p->path, 0, ctx);
  bool missing = !v || json_object_is_type(v, json_type_null);
  parry_err_t err = PARRY_OK;
  char name[200];
  bool as_json = false;
  for (size_t f = 0; f < p->n_filters; f++) {
    if (p->filters[f].kind == F_JSON) as_json = true;
    if (missing && p->filters[f].kind == F_REQUIRED) {
      err = parry_fail(errstr, n, PARRY_ERR_NOT_FOUND, "required value %s is missing",
                       path_name(p, name, sizeof name));
      goto out;
    }
    if (missing && p->filters[f].kind == F_DEFAULT) {
      json_object_put(owned);
      v = owned = json_object_new_string(p->filters[f].arg);
      missing = false;
    }
  }
  if (as_json) {
    const char *t = v ? json_object_to_json_string_ext(
                            v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                      : "null";
    err = parry_buf_append_str(tmp, t);
  } else if (!rb_value_text(v, tmp)) {
    err = PARRY_ERR_TOO_LARGE;
  }
  if (err) {
    parry_fail(errstr, n, err, "rendering %s: output too large", path_name(p, name, sizeof name));
    goto out;
  }
  for (size_t f = 0; f < p->n_filters; f++) {
    filter_kind_t k = p->filters[f].kind;
    if (k == F_UPPER || k == F_LOWER) {
      for (size_t i = 0; i < tmp->len; i++)
        tmp->data[i] = (char)(k == F_UPPER ? toupper((unsigned char)tmp->data[i])
                                           : tolower((unsigned char)tmp->data[i]));
    } else if (k == F_TRIM && tmp->len) {
      size_t a = 0, b = tmp->len;
      while (a < b && isspace((unsigned char)tmp->data[a])) a++;
      while (b > a && isspace((unsigned char)tmp->data[b - 1])) b--;
      memmove(tmp->data, tmp->data + a, b - a);
      tmp->len = b - a;
      tmp->data[tmp->len] = '\0';
    }
  }
out:
  json_object_put(owned);
  return err;
}

parry_err_t parry_template_render(const parry_template_t *t, struct json_object *ctx,
                                  parry_escape_t esc, parry_buf_t *out, char *errstr, size_t n) {
  size_t start = out->len;
  parry_buf_t tmp = PARRY_BUF_INIT(out->cap);
  parry_err_t err = PARRY_OK;
  for (size_t i = 0; i < t->n_parts && !err; i++) {
    const part_t *p = &t->parts[i];
    if (!p->is_subst) {
      err = parry_buf_append(out, p->lit, p->len);
    } else {
      parry_buf_reset(&tmp);
      if ((err = subst_text(p, ctx, &tmp, errstr, n))) break;
      err = append_escaped(out, tmp.data ? tmp.data : "", tmp.len, esc);
    }
    if (err) parry_fail(errstr, n, err, "rendered text over its limit");
  }
  if (!err && esc == PARRY_ESCAPE_HEADER) {
    for (size_t i = start; i < out->len; i++)
      if (out->data[i] == '\r' || out->data[i] == '\n' || out->data[i] == '\0') {
        err = parry_fail(errstr, n, PARRY_ERR_INVALID,
                         "a header value may not contain %s (byte %zu of the rendered value)",
                         out->data[i] == '\r'   ? "CR"
                         : out->data[i] == '\n' ? "LF"
                                                : "NUL",
                         i - start);
        break;
      }
  }
  if (err && out->data) {
    out->len = start;
    out->data[start] = '\0';
  }
  parry_buf_free(&tmp);
  return err;
}
