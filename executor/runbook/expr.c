/* The `when` expression language (expr.h): a recursive-descent parser into a
 * small tree of nodes held in one array, and a recursive evaluator whose depth
 * is the parse depth (and/or are n-ary, so long chains stay flat). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>

#include <json-c/json.h>

#include "parry/mem.h"
#include "runbook/expr.h"
#include "runbook/rb_int.h"

typedef enum {
  N_LIT,    /* lit */
  N_PATH,   /* path */
  N_AND,    /* kids */
  N_OR,     /* kids */
  N_NOT,    /* a */
  N_CMP,    /* op, a, b */
  N_EXISTS, /* a (a path) */
  N_CIDR,   /* a, b; cidrs precompiled when b is a literal */
  N_LEVEL,  /* a */
  N_LOWER,  /* a */
  N_LEN,    /* a */
} node_kind_t;

typedef enum {
  OP_EQ,
  OP_NE,
  OP_LT,
  OP_LE,
  OP_GT,
  OP_GE,
  OP_IN,
  OP_NOT_IN,
  OP_CONTAINS,
  OP_MATCHES
} op_t;

typedef struct node node_t;
struct node {
  node_kind_t kind;
  op_t op;
  size_t offset;
  struct json_object *lit;
  rb_path_t path;
  node_t *a, *b;
  node_t **kids;
  size_t n_kids;
  rb_cidr_t *cidrs; /* N_CIDR with a literal b */
  size_t n_cidrs;
};

struct parry_expr {
  char *text;
  node_t *nodes; /* PARRY_EXPR_MAX_NODES, in creation (= text) order */
  size_t n_nodes;
  node_t *root;
};

typedef struct {
  const char *s;
  size_t len, pos;
  int depth;
  parry_expr_t *e;
  rb_perr_t err;
} parser_t;

static node_t *new_node(parser_t *p, node_kind_t kind, size_t offset) {
  if (p->e->n_nodes == PARRY_EXPR_MAX_NODES) {
    rb_perr(&p->err, offset, "expression has more than %d parts", PARRY_EXPR_MAX_NODES);
    return NULL;
  }
  node_t *n = &p->e->nodes[p->e->n_nodes++];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->offset = offset;
  return n;
}

static void skip(parser_t *p) { p->pos = rb_skip_space(p->s, p->len, p->pos); }

/* The keyword kw at the cursor, as a whole word. */
static bool at_word(parser_t *p, const char *kw) {
  size_t k = strlen(kw);
  if (p->len - p->pos < k || memcmp(p->s + p->pos, kw, k)) return false;
  return p->pos + k == p->len || !rb_is_name_char((unsigned char)p->s[p->pos + k]);
}

static bool eat_word(parser_t *p, const char *kw) {
  skip(p);
  if (!at_word(p, kw)) return false;
  p->pos += strlen(kw);
  return true;
}

static bool eat(parser_t *p, const char *tok) {
  skip(p);
  size_t k = strlen(tok);
  if (p->len - p->pos < k || memcmp(p->s + p->pos, tok, k)) return false;
  p->pos += k;
  return true;
}

static bool enter(parser_t *p) {
  if (++p->depth > PARRY_EXPR_MAX_DEPTH)
    return rb_perr(&p->err, p->pos, "expression nested deeper than %d levels",
                   PARRY_EXPR_MAX_DEPTH);
  return true;
}

static node_t *parse_or(parser_t *p);

/* A number: -?digits(.digits)?(e[+-]?digits)? */
static struct json_object *parse_number(parser_t *p) {
  size_t i = p->pos, start = i;
  if (i < p->len && p->s[i] == '-') i++;
  size_t d0 = i;
  while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
  if (i == d0) return NULL;
  bool is_float = false;
  if (i < p->len && p->s[i] == '.') {
    is_float = true;
    size_t f0 = ++i;
    while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    if (i == f0) {
      rb_perr(&p->err, i, "expected digits after '.'");
      return NULL;
    }
  }
  if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
    is_float = true;
    i++;
    if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
    size_t e0 = i;
    while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    if (i == e0) {
      rb_perr(&p->err, i, "expected digits in the exponent");
      return NULL;
    }
  }
  if (i < p->len && rb_is_name_char((unsigned char)p->s[i])) {
    rb_perr(&p->err, start, "malformed number");
    return NULL;
  }
  char buf[64];
  if (i - start >= sizeof buf) {
    rb_perr(&p->err, start, "number too long");
    return NULL;
  }
  memcpy(buf, p->s + start, i - start);
  buf[i - start] = '\0';
  p->pos = i;
  if (!is_float) {
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end == '\0' && !(v == LLONG_MAX || v == LLONG_MIN)) return json_object_new_int64(v);
  }
  double d = strtod(buf, NULL);
  if (!isfinite(d)) {
    rb_perr(&p->err, start, "number out of range");
    return NULL;
  }
  return json_object_new_double(d);
}

/* A literal value (string, number, true/false/null, list of literals) as a
 * json-c value; *ok false on error. NULL with *ok true is `null`. */
static struct json_object *parse_literal(parser_t *p, bool *ok, bool *is_literal) {
  skip(p);
  *ok = true;
  *is_literal = true;
  if (p->pos >= p->len) {
    *is_literal = false;
    return NULL;
  }
  char c = p->s[p->pos];
  if (c == '"' || c == '\'') {
    char *s = rb_parse_string(p->s, p->len, &p->pos, &p->err);
    if (!s) return *ok = false, NULL;
    struct json_object *j = json_object_new_string(s);
    free(s);
    return j;
  }
  if ((c >= '0' && c <= '9') ||
      (c == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' && p->s[p->pos + 1] <= '9')) {
    struct json_object *j = parse_number(p);
    if (!j) *ok = false;
    return j;
  }
  if (eat_word(p, "true")) return json_object_new_boolean(1);
  if (eat_word(p, "false")) return json_object_new_boolean(0);
  if (eat_word(p, "null")) return NULL;
  if (c == '[') {
    size_t open = p->pos++;
    if (!enter(p)) return *ok = false, NULL;
    struct json_object *arr = json_object_new_array();
    skip(p);
    if (!eat(p, "]")) {
      for (;;) {
        bool lit;
        struct json_object *item = parse_literal(p, ok, &lit);
        if (!*ok) goto bad;
        if (!lit) {
          rb_perr(&p->err, p->pos,
                  "a list holds literals only (strings, numbers, true, false, null)");
          goto bad;
        }
        if (json_object_array_length(arr) >= PARRY_EXPR_MAX_NODES) {
          json_object_put(item);
          rb_perr(&p->err, open, "list longer than %d items", PARRY_EXPR_MAX_NODES);
          goto bad;
        }
        json_object_array_add(arr, item);
        if (eat(p, ",")) continue;
        if (eat(p, "]")) break;
        skip(p);
        rb_perr(&p->err, p->pos, "expected ',' or ']' in the list opened at column %zu", open + 1);
        goto bad;
      }
    }
    p->depth--;
    return arr;
  bad:
    json_object_put(arr);
    *ok = false;
    return NULL;
  }
  *is_literal = false;
  return NULL;
}

static bool validate_cidrs(parser_t *p, node_t *n) {
  struct json_object *lit = n->b->lit;
  size_t count = json_object_is_type(lit, json_type_array) ? json_object_array_length(lit) : 1;
  n->cidrs = parry_xnew(rb_cidr_t, count ? count : 1);
  for (size_t i = 0; i < count; i++) {
    struct json_object *c =
        json_object_is_type(lit, json_type_array) ? json_object_array_get_idx(lit, i) : lit;
    if (!json_object_is_type(c, json_type_string))
      return rb_perr(&p->err, n->b->offset, "cidr() needs a CIDR string or a list of them");
    if (!rb_parse_cidr(json_object_get_string(c), &n->cidrs[n->n_cidrs]))
      return rb_perr(&p->err, n->b->offset, "\"%.60s\" is not an IPv4 or IPv6 address or CIDR",
                     json_object_get_string(c));
    n->n_cidrs++;
  }
  return true;
}

static node_t *parse_operand(parser_t *p);

static node_t *parse_call(parser_t *p, const char *name, size_t offset) {
  node_t *n;
  if (!enter(p)) return NULL;
  if (!strcmp(name, "exists")) {
    n = new_node(p, N_EXISTS, offset);
    if (!n) return NULL;
    skip(p);
    size_t at = p->pos;
    node_t *path = new_node(p, N_PATH, at);
    if (!path) return NULL;
    if (!rb_parse_path(p->s, p->len, &p->pos, rb_roots, &path->path, &p->err)) return NULL;
    n->a = path;
  } else if (!strcmp(name, "cidr")) {
    n = new_node(p, N_CIDR, offset);
    if (!n || !(n->a = parse_operand(p))) return NULL;
    if (!eat(p, ",")) {
      skip(p);
      rb_perr(&p->err, p->pos, "cidr() takes two arguments: an address and a CIDR (or a list)");
      return NULL;
    }
    if (!(n->b = parse_operand(p))) return NULL;
    if (n->b->kind == N_LIT && !validate_cidrs(p, n)) return NULL;
  } else if (!strcmp(name, "level") || !strcmp(name, "lower") || !strcmp(name, "len")) {
    n = new_node(p,
                 !strcmp(name, "level")   ? N_LEVEL
                 : !strcmp(name, "lower") ? N_LOWER
                                          : N_LEN,
                 offset);
    if (!n || !(n->a = parse_operand(p))) return NULL;
  } else {
    rb_perr(&p->err, offset, "unknown function \"%.40s\" (exists, cidr, level, lower, len)", name);
    return NULL;
  }
  if (!eat(p, ")")) {
    skip(p);
    rb_perr(&p->err, p->pos, "expected ')' after the arguments of %s", name);
    return NULL;
  }
  p->depth--;
  return n;
}

static node_t *parse_operand(parser_t *p) {
  skip(p);
  size_t at = p->pos;
  if (at >= p->len) {
    rb_perr(&p->err, at, "expected a value, a path or '(' but the expression ends");
    return NULL;
  }
  if (p->s[at] == '(') {
    p->pos++;
    if (!enter(p)) return NULL;
    node_t *n = parse_or(p);
    if (!n) return NULL;
    if (!eat(p, ")")) {
      skip(p);
      rb_perr(&p->err, p->pos, "expected ')' to close the '(' at column %zu", at + 1);
      return NULL;
    }
    p->depth--;
    return n;
  }
  bool ok, is_lit;
  struct json_object *lit = parse_literal(p, &ok, &is_lit);
  if (!ok) return NULL;
  if (is_lit) {
    node_t *n = new_node(p, N_LIT, at);
    if (!n) {
      json_object_put(lit);
      return NULL;
    }
    n->lit = lit;
    return n;
  }
  if (!rb_is_name_start((unsigned char)p->s[at])) {
    rb_perr(&p->err, at, "unexpected '%c'", p->s[at] >= 0x20 && p->s[at] < 0x7f ? p->s[at] : '?');
    return NULL;
  }
  size_t i = at;
  while (i < p->len && rb_is_name_char((unsigned char)p->s[i])) i++;
  size_t j = rb_skip_space(p->s, p->len, i);
  if (j < p->len && p->s[j] == '(') {
    char name[48];
    size_t nl = i - at < sizeof name - 1 ? i - at : sizeof name - 1;
    memcpy(name, p->s + at, nl);
    name[nl] = '\0';
    p->pos = j + 1;
    return parse_call(p, name, at);
  }
  static const char *const reserved[] = {"and", "or", "not", "in", "contains", "matches", NULL};
  for (size_t r = 0; reserved[r]; r++)
    if (at_word(p, reserved[r])) {
      rb_perr(&p->err, at, "expected a value before \"%s\"", reserved[r]);
      return NULL;
    }
  node_t *n = new_node(p, N_PATH, at);
  if (!n) return NULL;
  if (!rb_parse_path(p->s, p->len, &p->pos, rb_roots, &n->path, &p->err)) return NULL;
  return n;
}

static node_t *parse_cmp(parser_t *p) {
  node_t *a = parse_operand(p);
  if (!a) return NULL;
  skip(p);
  size_t at = p->pos;
  op_t op;
  if (eat(p, "==")) op = OP_EQ;
  else if (eat(p, "!=")) op = OP_NE;
  else if (eat(p, "<=")) op = OP_LE;
  else if (eat(p, ">=")) op = OP_GE;
  else if (eat(p, "<")) op = OP_LT;
  else if (eat(p, ">")) op = OP_GT;
  else if (eat(p, "=")) {
    rb_perr(&p->err, at, "'=' is not an operator (use '==')");
    return NULL;
  } else if (eat_word(p, "in")) op = OP_IN;
  else if (eat_word(p, "contains")) op = OP_CONTAINS;
  else if (eat_word(p, "matches")) op = OP_MATCHES;
  else if (at_word(p, "not")) {
    size_t save = p->pos;
    p->pos += 3;
    if (!eat_word(p, "in")) {
      p->pos = save;
      return a;
    }
    op = OP_NOT_IN;
  } else {
    return a;
  }
  node_t *n = new_node(p, N_CMP, at);
  if (!n) return NULL;
  n->op = op;
  n->a = a;
  if (!(n->b = parse_operand(p))) return NULL;
  if (op == OP_MATCHES && n->b->kind == N_LIT &&
      !json_object_is_type(n->b->lit, json_type_string)) {
    rb_perr(&p->err, n->b->offset, "matches needs a string pattern");
    return NULL;
  }
  return n;
}

static node_t *parse_not(parser_t *p) {
  skip(p);
  size_t at = p->pos;
  bool neg = false;
  if (at_word(p, "not")) p->pos += 3, neg = true;
  else if (p->pos < p->len && p->s[p->pos] == '!' &&
           !(p->pos + 1 < p->len && p->s[p->pos + 1] == '='))
    p->pos++, neg = true;
  if (!neg) return parse_cmp(p);
  if (!enter(p)) return NULL;
  node_t *n = new_node(p, N_NOT, at);
  if (!n || !(n->a = parse_not(p))) return NULL;
  p->depth--;
  return n;
}

static node_t *parse_chain(parser_t *p, node_kind_t kind) {
  const char *word = kind == N_OR ? "or" : "and", *sym = kind == N_OR ? "||" : "&&";
  node_t *first = kind == N_OR ? parse_chain(p, N_AND) : parse_not(p);
  if (!first) return NULL;
  skip(p);
  if (!at_word(p, word) && !(p->len - p->pos >= 2 && !memcmp(p->s + p->pos, sym, 2))) return first;
  node_t *n = new_node(p, kind, first->offset);
  if (!n) return NULL;
  size_t cap = 4;
  n->kids = parry_xnew(node_t *, cap);
  n->kids[n->n_kids++] = first;
  while (eat_word(p, word) || eat(p, sym)) {
    node_t *k = kind == N_OR ? parse_chain(p, N_AND) : parse_not(p);
    if (!k) return NULL;
    if (n->n_kids == cap) n->kids = parry_xreallocarray(n->kids, cap *= 2, sizeof *n->kids);
    n->kids[n->n_kids++] = k;
  }
  return n;
}

static node_t *parse_or(parser_t *p) { return parse_chain(p, N_OR); }

void parry_expr_destroy(parry_expr_t *e) {
  if (!e) return;
  for (size_t i = 0; i < e->n_nodes; i++) {
    node_t *n = &e->nodes[i];
    json_object_put(n->lit);
    rb_path_free(&n->path);
    free(n->kids);
    free(n->cidrs);
  }
  free(e->nodes);
  free(e->text);
  free(e);
}

parry_expr_t *parry_expr_compile_at(const char *text, size_t len, size_t *err_offset, char *errstr,
                                    size_t n) {
  size_t dummy;
  if (!err_offset) err_offset = &dummy;
  *err_offset = 0;
  if (len > PARRY_EXPR_MAX_LEN) {
    *err_offset = PARRY_EXPR_MAX_LEN;
    parry_fail(errstr, n, PARRY_ERR_TOO_LARGE, "expression longer than %d bytes",
               PARRY_EXPR_MAX_LEN);
    return NULL;
  }
  if (memchr(text, '\0', len)) {
    *err_offset = (size_t)((const char *)memchr(text, '\0', len) - text);
    parry_fail(errstr, n, PARRY_ERR_INVALID, "NUL byte in the expression");
    return NULL;
  }
  parry_expr_t *e = parry_xnew(parry_expr_t, 1);
  e->text = parry_xstrndup(text, len);
  e->nodes = parry_xnew(node_t, PARRY_EXPR_MAX_NODES);
  parser_t p = {.s = e->text, .len = len, .e = e};
  e->root = parse_or(&p);
  if (e->root) {
    skip(&p);
    if (p.pos == 0 && len == p.pos) {
      e->root = NULL;
      rb_perr(&p.err, 0, "empty expression");
    } else if (p.pos < len) {
      e->root = NULL;
      rb_perr(&p.err, p.pos,
              "unexpected text \"%.20s\" (expected an operator, 'and', 'or' or the end)",
              e->text + p.pos);
    }
  }
  if (!e->root) {
    *err_offset = p.err.offset;
    parry_fail(errstr, n, PARRY_ERR_INVALID, "%s", p.err.msg);
    parry_expr_destroy(e);
    return NULL;
  }
  return e;
}

parry_expr_t *parry_expr_compile(const char *text, char *errstr, size_t n) {
  size_t off;
  char msg[256];
  parry_expr_t *e = parry_expr_compile_at(text, strlen(text), &off, msg, sizeof msg);
  if (!e) parry_fail(errstr, n, PARRY_ERR_INVALID, "column %zu: %s", off + 1, msg);
  return e;
}

const char *parry_expr_text(const parry_expr_t *e) { return e->text; }

void parry_expr_step_refs(const parry_expr_t *e, parry_step_ref_cb cb, void *opaque) {
  for (size_t i = 0; i < e->n_nodes; i++) {
    const node_t *n = &e->nodes[i];
    if (n->kind == N_PATH && n->path.n >= 2 && !strcmp(n->path.segs[0].name, "steps") &&
        n->path.segs[1].name)
      cb(opaque, n->path.segs[1].name, n->path.offset);
  }
}

/* ---- evaluation ---- */

typedef enum { V_NULL, V_BOOL, V_NUM, V_STR, V_LIST, V_OBJ } vkind_t;

typedef struct {
  vkind_t t;
  bool b;
  bool is_int;
  int64_t i;
  double d;
  const char *s;
  size_t len;
  struct json_object *j; /* LIST, OBJ */
  char tmp[260];         /* lower() result */
} val_t;

static void from_json(struct json_object *j, val_t *v) {
  v->t = V_NULL;
  switch (j ? json_object_get_type(j) : json_type_null) {
    case json_type_null: break;
    case json_type_boolean: v->t = V_BOOL, v->b = json_object_get_boolean(j); break;
    case json_type_int:
      v->t = V_NUM, v->is_int = true, v->i = json_object_get_int64(j), v->d = (double)v->i;
      break;
    case json_type_double: v->t = V_NUM, v->is_int = false, v->d = json_object_get_double(j); break;
    case json_type_string:
      v->t = V_STR, v->s = json_object_get_string(j),
      v->len = (size_t)json_object_get_string_len(j);
      break;
    case json_type_array: v->t = V_LIST, v->j = j; break;
    case json_type_object: v->t = V_OBJ, v->j = j; break;
  }
}

static bool truthy(const val_t *v) {
  switch (v->t) {
    case V_NULL: return false;
    case V_BOOL: return v->b;
    case V_NUM: return v->is_int ? v->i != 0 : v->d != 0;
    case V_STR: return v->len > 0;
    case V_LIST: return json_object_array_length(v->j) > 0;
    case V_OBJ: return json_object_object_length(v->j) > 0;
  }
  return false;
}

static bool val_eq(const val_t *a, const val_t *b) {
  if (a->t != b->t) return false;
  switch (a->t) {
    case V_NULL: return true;
    case V_BOOL: return a->b == b->b;
    case V_NUM: return a->is_int && b->is_int ? a->i == b->i : a->d == b->d;
    case V_STR: return a->len == b->len && !memcmp(a->s, b->s, a->len);
    case V_LIST:
    case V_OBJ: return json_object_equal(a->j, b->j);
  }
  return false;
}

/* -1, 0, 1, or 2 when not ordered. */
static int val_cmp(const val_t *a, const val_t *b) {
  if (a->t == V_NUM && b->t == V_NUM) {
    if (a->is_int && b->is_int) return a->i < b->i ? -1 : a->i > b->i;
    if (isnan(a->d) || isnan(b->d)) return 2;
    return a->d < b->d ? -1 : a->d > b->d;
  }
  if (a->t == V_STR && b->t == V_STR) {
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, m);
    if (c) return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
  }
  return 2;
}

static bool has_substr(const val_t *hay, const val_t *needle) {
  if (needle->len == 0) return true;
  if (needle->len > hay->len) return false;
  return memmem(hay->s, hay->len, needle->s, needle->len) != NULL;
}

/* needle in container: list element or substring. */
static bool member(const val_t *needle, const val_t *container) {
  if (container->t == V_LIST) {
    size_t n = json_object_array_length(container->j);
    for (size_t i = 0; i < n; i++) {
      val_t item;
      from_json(json_object_array_get_idx(container->j, i), &item);
      if (val_eq(needle, &item)) return true;
    }
    return false;
  }
  if (container->t == V_STR && needle->t == V_STR) return has_substr(container, needle);
  return false;
}

static bool ip_in_any(const char *ip, const rb_cidr_t *c, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (rb_ip_in_cidr(ip, &c[i])) return true;
  return false;
}

static bool eval_cidr(const node_t *n, const val_t *ip, const val_t *c) {
  if (ip->t != V_STR || ip->len == 0 || ip->len >= 64 || memchr(ip->s, '\0', ip->len)) return false;
  if (n->cidrs) return ip_in_any(ip->s, n->cidrs, n->n_cidrs);
  rb_cidr_t one;
  if (c->t == V_STR) return rb_parse_cidr(c->s, &one) && rb_ip_in_cidr(ip->s, &one);
  if (c->t == V_LIST) {
    size_t len = json_object_array_length(c->j);
    for (size_t i = 0; i < len; i++) {
      struct json_object *item = json_object_array_get_idx(c->j, i);
      if (json_object_is_type(item, json_type_string) &&
          rb_parse_cidr(json_object_get_string(item), &one) && rb_ip_in_cidr(ip->s, &one))
        return true;
    }
  }
  return false;
}

static void set_bool(val_t *v, bool b) {
  v->t = V_BOOL;
  v->b = b;
}

static void eval(const node_t *n, struct json_object *ctx, val_t *out) {
  val_t a, b;
  out->t = V_NULL;
  switch (n->kind) {
    case N_LIT: from_json(n->lit, out); return;
    case N_PATH:
      from_json(rb_path_resolve(&n->path, 0, ctx), out);
      return; /* segs[0] is a key of ctx */
    case N_AND:
      for (size_t i = 0; i < n->n_kids; i++) {
        eval(n->kids[i], ctx, &a);
        if (!truthy(&a)) return set_bool(out, false);
      }
      return set_bool(out, true);
    case N_OR:
      for (size_t i = 0; i < n->n_kids; i++) {
        eval(n->kids[i], ctx, &a);
        if (truthy(&a)) return set_bool(out, true);
      }
      return set_bool(out, false);
    case N_NOT: eval(n->a, ctx, &a); return set_bool(out, !truthy(&a));
    case N_EXISTS: eval(n->a, ctx, &a); return set_bool(out, a.t != V_NULL);
    case N_CIDR:
      eval(n->a, ctx, &a);
      if (!n->cidrs) eval(n->b, ctx, &b);
      else b.t = V_NULL;
      return set_bool(out, eval_cidr(n, &a, &b));
    case N_LEVEL: {
      eval(n->a, ctx, &a);
      static const char *const names[] = {"informational", "low", "medium", "high", "critical"};
      if (a.t != V_STR) return;
      for (size_t i = 0; i < 5; i++)
        if (a.len == strlen(names[i]) && !strncasecmp(a.s, names[i], a.len)) {
          out->t = V_NUM, out->is_int = true, out->i = (int64_t)i + 1, out->d = (double)(i + 1);
          return;
        }
      return;
    }
    case N_LOWER:
      eval(n->a, ctx, &a);
      if (a.t != V_STR || a.len >= sizeof out->tmp) return;
      for (size_t i = 0; i < a.len; i++)
        out->tmp[i] = (char)(a.s[i] >= 'A' && a.s[i] <= 'Z' ? a.s[i] + 32 : a.s[i]);
      out->tmp[a.len] = '\0';
      out->t = V_STR, out->s = out->tmp, out->len = a.len;
      return;
    case N_LEN:
      eval(n->a, ctx, &a);
      out->t = V_NUM, out->is_int = true;
      if (a.t == V_STR) out->i = (int64_t)a.len;
      else if (a.t == V_LIST) out->i = (int64_t)json_object_array_length(a.j);
      else if (a.t == V_OBJ) out->i = (int64_t)json_object_object_length(a.j);
      else out->t = V_NULL;
      out->d = (double)out->i;
      return;
    case N_CMP:
      eval(n->a, ctx, &a);
      eval(n->b, ctx, &b);
      switch (n->op) {
        case OP_EQ: return set_bool(out, val_eq(&a, &b));
        case OP_NE: return set_bool(out, !val_eq(&a, &b));
        case OP_LT: return set_bool(out, val_cmp(&a, &b) == -1);
        case OP_LE: {
          int c = val_cmp(&a, &b);
          return set_bool(out, c == -1 || c == 0);
        }
        case OP_GT: return set_bool(out, val_cmp(&a, &b) == 1);
        case OP_GE: {
          int c = val_cmp(&a, &b);
          return set_bool(out, c == 1 || c == 0);
        }
        case OP_IN: return set_bool(out, member(&a, &b));
        case OP_NOT_IN: return set_bool(out, !member(&a, &b));
        case OP_CONTAINS: return set_bool(out, member(&b, &a));
        case OP_MATCHES:
          return set_bool(out, a.t == V_STR && b.t == V_STR && rb_glob(b.s, b.len, a.s, a.len));
      }
  }
}

parry_err_t parry_expr_eval(const parry_expr_t *e, struct json_object *ctx, bool *out, char *errstr,
                            size_t n) {
  (void)errstr;
  (void)n;
  val_t v;
  eval(e->root, ctx, &v);
  *out = truthy(&v);
  return PARRY_OK;
}
