/* The `re` modifier: PCRE2, compiled once per value with JIT, and the
 * literal a match must contain (for the prefilter).
 *
 * Patterns run in byte mode (no PCRE2_UTF): `.` is one byte and `i` folds
 * ASCII letters only -- the same case rule as every other Sigma string here,
 * and no failure on event text that is not valid UTF-8. Compile-time caps:
 * pattern length SG_MAX_REGEX_LEN and bracket nesting 64; match-time caps
 * are set by the matcher (match.c).
 */
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

void *sg_regex_compile(sg_cc_t *cc, const parry_sigma_node_t *at, const char *re, size_t len,
                       uint32_t flags, sg_err_t *e) {
  if (len > SG_MAX_REGEX_LEN) {
    sg_fail(e, PARRY_SIGMA_REJECT_LIMIT, at, "regular expression longer than %d bytes",
            SG_MAX_REGEX_LEN);
    return NULL;
  }
  pcre2_compile_context *ctx = pcre2_compile_context_create(NULL);
  if (!ctx) {
    sg_fail(e, PARRY_SIGMA_REJECT_INTERNAL, at, "could not create a PCRE2 compile context");
    return NULL;
  }
  pcre2_set_parens_nest_limit(ctx, 64);
  uint32_t opts = 0;
  if (flags & SG_RE_I) opts |= PCRE2_CASELESS;
  if (flags & SG_RE_M) opts |= PCRE2_MULTILINE;
  if (flags & SG_RE_S) opts |= PCRE2_DOTALL;
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, len, opts, &err, &off, ctx);
  pcre2_compile_context_free(ctx);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    sg_fail(e, PARRY_SIGMA_REJECT_REGEX, at, "regular expression does not compile at offset %zu: %s",
            (size_t)off, (const char *)msg);
    return NULL;
  }
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* else the interpreter runs it */
  cc->regexes = sg_grow(cc->regexes, &cc->cap_regexes, cc->n_regexes, sizeof *cc->regexes);
  cc->regexes[cc->n_regexes++] = code;
  return code;
}

void sg_regex_free(void *code) { pcre2_code_free(code); }

/* Skip a bracket class starting at re[i] == '['; returns the index after ']'
 * or len when unterminated. */
static size_t skip_class(const char *re, size_t len, size_t i) {
  i++;
  if (i < len && re[i] == '^') i++;
  if (i < len && re[i] == ']') i++;
  while (i < len && re[i] != ']') {
    if (re[i] == '\\') i++;
    else if (re[i] == '[' && i + 1 < len && re[i + 1] == ':') {
      const char *end = memmem(re + i + 2, len - i - 2, ":]", 2);
      if (end) i = (size_t)(end - re) + 1;
    }
    i++;
  }
  return i < len ? i + 1 : len;
}

/* A conservative extractor: the longest run of literal bytes at the top
 * level of a pattern without top-level alternation. Anything it does not
 * understand gives no literal (len 0), which only costs speed. */
void sg_regex_literal(parry_arena_t *a, const char *re, size_t len, const char **lit,
                      size_t *lit_len) {
  char *run = parry_arena_alloc(a, len + 1), *best = parry_arena_alloc(a, len + 1);
  size_t n = 0, best_n = 0;
  *lit = best;
  *lit_len = 0;
  best[0] = 0;
#define BREAK_RUN()                                     \
  do {                                                  \
    if (n > best_n) memcpy(best, run, n), best_n = n;   \
    n = 0;                                              \
  } while (0)
  for (size_t i = 0; i < len;) {
    char c = re[i];
    if (c == '|') return;
    if (c == '(') {
      if (i + 2 < len && re[i + 1] == '?') {
        /* inline options: refuse extended mode, whose whitespace is not literal */
        for (size_t j = i + 2; j < len && re[j] != ')' && re[j] != ':'; j++)
          if (re[j] == 'x') return;
      }
      int depth = 0;
      for (; i < len; i++) {
        if (re[i] == '\\') i++;
        else if (re[i] == '[') i = skip_class(re, len, i) - 1;
        else if (re[i] == '(') depth++;
        else if (re[i] == ')' && --depth == 0) break;
      }
      if (i >= len) return;
      i++;
      BREAK_RUN();
      continue;
    }
    if (c == ')') return;
    if (c == '[') {
      i = skip_class(re, len, i);
      BREAK_RUN();
      continue;
    }
    if (c == '*' || c == '?' || c == '{') {
      if (c == '{' && !(i + 1 < len && re[i + 1] >= '0' && re[i + 1] <= '9')) goto literal;
      /* the previous atom is optional or repeated: drop it (a whole UTF-8 char) */
      while (n && ((uint8_t)run[n - 1] & 0xC0) == 0x80) n--;
      if (n) n--;
      BREAK_RUN();
      if (c == '{') {
        while (i < len && re[i] != '}') i++;
      }
      i++;
      continue;
    }
    if (c == '+') {
      BREAK_RUN();
      i++;
      continue;
    }
    if (c == '.' || c == '^' || c == '$') {
      BREAK_RUN();
      i++;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= len) return;
      char d = re[i + 1];
      bool alnum = (d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z');
      if (alnum) {
        if (!strchr("dDwWsSbBAzZGhHvVRN", d)) return; /* \x \Q \p \1 ...: give up */
        BREAK_RUN();
        i += 2;
        continue;
      }
      /* an escaped punctuation character is itself; a quantifier after it
       * is handled on the next turn */
      run[n++] = sg_lower(d);
      i += 2;
      continue;
    }
  literal:
    run[n++] = sg_lower(c);
    i++;
  }
  BREAK_RUN();
#undef BREAK_RUN
  best[best_n] = 0;
  *lit_len = best_n;
}
