/* libFuzzer target for the Sigma condition parser and its compilation.
 *
 * The input is a condition. It is parsed on its own (sg_cond_parse), then
 * put into a rule with six search identifiers and loaded. The two must
 * agree: the rule loads exactly when the parse succeeds and every name and
 * pattern resolves; and then, for all 64 truth assignments of the
 * identifiers, the engine's verdict equals this file's own evaluation of
 * the parsed tree -- a differential check of precedence, `x of` expansion,
 * chain flattening and simplification.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "sigma/sigma.h"
#include "sigma/sigma_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ids[] = {"a", "b", "sel_1", "sel_2", "filter", "_u"};
#define N_IDS 6

static void die(const char *what) {
  fprintf(stderr, "fuzz_sigma_condition: %s\n", what);
  abort();
}

/* -1: the condition names something that does not resolve */
static int eval(const sg_cond_t *c, unsigned bits, int depth) {
  if (depth > 1000) die("AST deeper than the parser allows");
  switch (c->op) {
  case SG_C_AND: {
    int l = eval(c->a, bits, depth + 1), r = eval(c->b, bits, depth + 1);
    return l < 0 || r < 0 ? -1 : l && r;
  }
  case SG_C_OR: {
    int l = eval(c->a, bits, depth + 1), r = eval(c->b, bits, depth + 1);
    return l < 0 || r < 0 ? -1 : l || r;
  }
  case SG_C_NOT: {
    int v = eval(c->a, bits, depth + 1);
    return v < 0 ? -1 : !v;
  }
  case SG_C_ID:
    for (int i = 0; i < N_IDS; i++)
      if (!strcmp(c->name, ids[i])) return (bits >> i) & 1;
    return -1;
  default: {
    int n = 0, t = 0;
    for (int i = 0; i < N_IDS; i++) {
      bool in = c->name ? sg_name_glob(c->name, ids[i]) : ids[i][0] != '_';
      if (!in) continue;
      n++;
      t += (bits >> i) & 1;
    }
    if (!n) return -1;
    return c->op == SG_C_ALL_OF ? t == n : t > 0;
  }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  parry_arena_t a = PARRY_ARENA_INIT;
  char err[256];
  sg_cond_t *ast = sg_cond_parse(&a, (const char *)data, size, err, sizeof err);
  int resolves = ast ? eval(ast, 0, 0) >= 0 : 0;

  /* the rule: identifier i is true when field F<i> is "1"; the condition
   * as a double-quoted YAML scalar with every byte escaped that needs it */
  size_t cap = 512 + 4 * size;
  char *yaml = malloc(cap);
  int n = snprintf(yaml, cap, "title: t\nlogsource: {product: x}\ndetection:\n");
  for (int i = 0; i < N_IDS; i++) n += snprintf(yaml + n, cap - (size_t)n, "  %s: {F%d: '1'}\n", ids[i], i);
  n += snprintf(yaml + n, cap - (size_t)n, "  condition: \"");
  for (size_t i = 0; i < size; i++) {
    uint8_t c = data[i];
    if (c == '"' || c == '\\') n += snprintf(yaml + n, cap - (size_t)n, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) n += snprintf(yaml + n, cap - (size_t)n, "\\x%02x", c);
    else yaml[n++] = (char)c;
  }
  n += snprintf(yaml + n, cap - (size_t)n, "\"\n");
  parry_sigma_report_t rep = {0};
  parry_sigma_ruleset_t *rs = parry_sigma_load_text("c.yml", yaml, (size_t)n, NULL, &rep, err, sizeof err);
  if (!rs) die("load_text returned NULL");
  if (rep.by_reason[PARRY_SIGMA_REJECT_INTERNAL] || rep.by_reason[PARRY_SIGMA_REJECT_YAML]) die("bad rejection");
  /* a NUL byte ends the YAML scalar's use as a C string in the engine, so
   * agreement is only required for NUL-free conditions */
  bool has_nul = memchr(data, 0, size) != NULL;
  if (!has_nul && (parry_sigma_rule_count(rs) == 1) != (resolves == 1)) {
    fprintf(stderr, "parse %s, engine %s: %s\n", resolves ? "ok" : "fails",
            parry_sigma_rule_count(rs) ? "loads" : "rejects",
            rep.n_rejections ? rep.rejections[0].message : "");
    die("engine and parser disagree");
  }
  if (parry_sigma_rule_count(rs) == 1 && !has_nul) {
    parry_sigma_matcher_t *m = parry_sigma_matcher_new(rs);
    for (unsigned bits = 0; bits < (1u << N_IDS); bits++) {
      char json[256];
      int k = snprintf(json, sizeof json, "{\"logsource\": {\"product\": \"x\"}");
      for (int i = 0; i < N_IDS; i++)
        k += snprintf(json + k, sizeof json - (size_t)k, ", \"F%d\": \"%d\"", i, (bits >> i) & 1);
      snprintf(json + k, sizeof json - (size_t)k, "}");
      Parry__V1__Event *ev = NULL;
      if (parry_event_from_json(json, strlen(json), &ev, err, sizeof err)) die(err);
      const parry_sigma_match_t *out;
      int got = parry_sigma_match(m, ev, &out) == 1;
      parry__v1__event__free_unpacked(ev, NULL);
      if (got != eval(ast, bits, 0)) die("engine verdict differs from the parsed condition");
    }
    parry_sigma_matcher_destroy(m);
  }
  parry_sigma_ruleset_destroy(rs);
  parry_sigma_report_free(&rep);
  free(yaml);
  parry_arena_free(&a);
  return 0;
}
