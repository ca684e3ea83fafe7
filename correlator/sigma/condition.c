/* The condition grammar (rules specification, "Condition"):
 *
 *   expr    := and ( "or" and )*
 *   and     := not ( "and" not )*
 *   not     := "not" not | primary
 *   primary := "(" expr ")" | quant | IDENT
 *   quant   := ( "1" | "any" | "all" ) "of" ( "them" | PATTERN )
 *
 * so not binds tighter than and, and than or. Keywords are matched ignoring
 * case; an identifier or pattern is any run of characters other than
 * blanks, brackets and '|'. A '|' is the deprecated aggregation syntax and
 * is refused with that reason. Nesting is capped at SG_MAX_COND_DEPTH and
 * the text at SG_MAX_COND_LEN, so no input recurses or loops unboundedly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sigma/sigma_int.h"

enum { T_END, T_LP, T_RP, T_WORD, T_PIPE };

typedef struct {
  parry_arena_t *a;
  const char *s;
  size_t len, pos;
  int tok;
  const char *word;
  size_t word_len;
  size_t tok_pos;
  int depth;
  char *err;
  size_t err_size;
  bool failed;
} parser_t;

static void next(parser_t *p) {
  while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos]) p->pos++;
  p->tok_pos = p->pos;
  if (p->pos >= p->len) {
    p->tok = T_END;
    return;
  }
  char c = p->s[p->pos];
  if (c == '(' || c == ')' || c == '|') {
    p->tok = c == '(' ? T_LP : c == ')' ? T_RP : T_PIPE;
    p->pos++;
    return;
  }
  size_t start = p->pos;
  while (p->pos < p->len && !strchr(" \t\r\n()|", p->s[p->pos])) p->pos++;
  /* strchr matches the terminator too: a NUL byte ends the word */
  if (p->pos == start) p->pos++;
  p->tok = T_WORD;
  p->word = p->s + start;
  p->word_len = p->pos - start;
}

static sg_cond_t *fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static sg_cond_t *fail(parser_t *p, const char *fmt, ...) {
  if (!p->failed) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->err_size, "%s at column %zu", msg, p->tok_pos + 1);
  }
  p->failed = true;
  return NULL;
}

static bool is_kw(const parser_t *p, const char *kw) {
  return p->tok == T_WORD && p->word_len == strlen(kw) && !strncasecmp(p->word, kw, p->word_len);
}

static bool is_any_kw(const parser_t *p) {
  static const char *const kws[] = {"and", "or", "not", "of", "them", "all", "any", "1"};
  for (size_t i = 0; i < sizeof kws / sizeof *kws; i++)
    if (is_kw(p, kws[i])) return true;
  return false;
}

static const char *tok_text(parser_t *p) {
  switch (p->tok) {
  case T_END: return "end of condition";
  case T_LP: return "(";
  case T_RP: return ")";
  case T_PIPE: return "|";
  default: return parry_arena_strndup(p->a, p->word, p->word_len);
  }
}

static sg_cond_t *node(parser_t *p, uint8_t op, sg_cond_t *a, sg_cond_t *b) {
  sg_cond_t *n = parry_arena_new(p->a, sg_cond_t, 1);
  n->op = op;
  n->a = a;
  n->b = b;
  n->column = (uint32_t)p->tok_pos + 1;
  return n;
}

static sg_cond_t *expr(parser_t *p);

static sg_cond_t *primary(parser_t *p) {
  if (p->tok == T_PIPE)
    return fail(p, "aggregation expressions (\"| count() ...\", near) are not supported: they "
                   "are deprecated, use a correlation rule");
  if (p->tok == T_LP) {
    if (++p->depth > SG_MAX_COND_DEPTH) return fail(p, "condition nested too deeply");
    next(p);
    sg_cond_t *e = expr(p);
    if (!e) return NULL;
    if (p->tok != T_RP) return fail(p, "expected \")\" but found \"%.60s\"", tok_text(p));
    p->depth--;
    next(p);
    return e;
  }
  if (p->tok != T_WORD) return fail(p, "expected a search identifier but found \"%.60s\"", tok_text(p));
  if (is_kw(p, "1") || is_kw(p, "any") || is_kw(p, "all")) {
    uint8_t op = is_kw(p, "all") ? SG_C_ALL_OF : SG_C_ONE_OF;
    sg_cond_t *n = node(p, op, NULL, NULL);
    next(p);
    if (!is_kw(p, "of")) return fail(p, "expected \"of\" but found \"%.60s\"", tok_text(p));
    next(p);
    if (p->tok != T_WORD) return fail(p, "expected \"them\" or a pattern but found \"%.60s\"", tok_text(p));
    if (is_kw(p, "them")) {
      n->name = NULL;
    } else if (is_any_kw(p)) {
      return fail(p, "expected \"them\" or a pattern but found \"%.60s\"", tok_text(p));
    } else {
      n->name = parry_arena_strndup(p->a, p->word, p->word_len);
    }
    next(p);
    return n;
  }
  if (p->word_len && p->word[0] >= '0' && p->word[0] <= '9') {
    parser_t save = *p;
    next(p);
    bool of = is_kw(p, "of");
    *p = save;
    if (of)
      return fail(p, "only \"1 of\", \"any of\" and \"all of\" are supported, not \"%.40s of\"",
                  tok_text(p));
  }
  if (is_any_kw(p)) return fail(p, "unexpected \"%.60s\"", tok_text(p));
  sg_cond_t *n = node(p, SG_C_ID, NULL, NULL);
  n->name = parry_arena_strndup(p->a, p->word, p->word_len);
  next(p);
  return n;
}

static sg_cond_t *not_expr(parser_t *p) {
  if (is_kw(p, "not")) {
    if (++p->depth > SG_MAX_COND_DEPTH) return fail(p, "condition nested too deeply");
    sg_cond_t *n = node(p, SG_C_NOT, NULL, NULL);
    next(p);
    n->a = not_expr(p);
    p->depth--;
    return n->a ? n : NULL;
  }
  return primary(p);
}

static sg_cond_t *and_expr(parser_t *p) {
  sg_cond_t *l = not_expr(p);
  while (l && is_kw(p, "and")) {
    sg_cond_t *n = node(p, SG_C_AND, l, NULL);
    next(p);
    n->b = not_expr(p);
    l = n->b ? n : NULL;
  }
  return l;
}

static sg_cond_t *expr(parser_t *p) {
  sg_cond_t *l = and_expr(p);
  while (l && is_kw(p, "or")) {
    sg_cond_t *n = node(p, SG_C_OR, l, NULL);
    next(p);
    n->b = and_expr(p);
    l = n->b ? n : NULL;
  }
  return l;
}

sg_cond_t *sg_cond_parse(parry_arena_t *a, const char *text, size_t len, char *err,
                         size_t err_size) {
  parser_t p = {.a = a, .s = text, .len = len, .err = err, .err_size = err_size};
  if (len > SG_MAX_COND_LEN) {
    snprintf(err, err_size, "condition longer than %d bytes", SG_MAX_COND_LEN);
    return NULL;
  }
  next(&p);
  if (p.tok == T_END) {
    snprintf(err, err_size, "empty condition");
    return NULL;
  }
  sg_cond_t *c = expr(&p);
  if (c && p.tok != T_END) {
    if (p.tok == T_PIPE)
      return fail(&p, "aggregation expressions (\"| count() ...\", near) are not supported: "
                      "they are deprecated, use a correlation rule");
    return fail(&p, "unexpected \"%s\" after a complete condition", tok_text(&p));
  }
  return c;
}

bool sg_name_glob(const char *pat, const char *name) {
  const char *star_p = NULL, *star_n = NULL;
  while (*name) {
    if (*pat == '*') {
      star_p = pat++;
      star_n = name;
    } else if (*pat == *name) {
      pat++;
      name++;
    } else if (star_p) {
      pat = star_p + 1;
      name = ++star_n;
    } else {
      return false;
    }
  }
  while (*pat == '*') pat++;
  return !*pat;
}
