/* Stage 1 side of correlation: a detection match becomes one Signal per
 * correlation rule that uses the rule, keyed by (correlation, group-by
 * values). Also the key encoding both stages share. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "window/corr_int.h"

void corr_key_part(parry_buf_t *b, const char *s, size_t len, bool first) {
  /* every signal builds its key: write into reserved room in one pass
   * rather than append by pieces */
  if (len > SIZE_MAX / 4 || parry_buf_reserve(b, 2 * len + 1) != PARRY_OK) {
    /* over the buffer's cap: the slow way, which stops at the cap */
    if (!first) (void)parry_buf_append_char(b, '|');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
      if (s[i] != '|' && s[i] != '\\') continue;
      (void)parry_buf_append(b, s + run, i - run);
      (void)parry_buf_append_char(b, '\\');
      run = i;
    }
    (void)parry_buf_append(b, s + run, len - run);
    return;
  }
  char *w = b->data + b->len;
  if (!first) *w++ = '|';
  /* copy 8 bytes at a time while none needs escaping ('|' 0x7c, '\\' 0x5c):
   * a byte of x is zero iff (x - 1) & ~x has its top bit set there */
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    uint64_t a = x ^ (ones * 0x7c), c = x ^ (ones * 0x5c);
    if ((((a - ones) & ~a) | ((c - ones) & ~c)) & highs) break;
    memcpy(w, s + i, 8);
    w += 8;
  }
  for (; i < len; i++) {
    char c = s[i];
    if (c == '|' || c == '\\') *w++ = '\\';
    *w++ = c;
  }
  *w = 0;
  b->len = (size_t)(w - b->data);
}

int parry_corr_key_split(const char *key, char *buf, size_t buf_size, const char **out,
                         size_t max_out) {
  size_t n = 0, w = 0;
  if (!key || !buf || buf_size == 0 || max_out == 0) return -1;
  out[n++] = buf;
  for (const char *p = key; *p; p++) {
    char c = *p;
    if (c == '\\') {
      if (p[1] != '|' && p[1] != '\\') return -1;
      c = *++p;
    } else if (c == '|') {
      if (w + 1 >= buf_size || n >= max_out) return -1;
      buf[w++] = 0;
      out[n++] = buf + w;
      continue;
    }
    if (w + 1 >= buf_size) return -1;
    buf[w++] = c;
  }
  buf[w] = 0;
  return (int)n;
}

static uint64_t fold(uint64_t h, const void *p, size_t n) {
  return corr_hash(p, n) ^ (h * 0x9e3779b97f4a7c15ULL);
}

uint64_t corr_value_hash(const Parry__V1__Value *v, bool *ok) {
  char buf[64];
  *ok = true;
  if (!v) {
    *ok = false;
    return 0;
  }
  /* by text, so 5 and "5" are the same value, as Sigma compares them */
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_STRING_VALUE:
    return fold(0, v->string_value, strlen(v->string_value));
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT:
    return fold(0, v->number_text, strlen(v->number_text));
  case PARRY__V1__VALUE__KIND_INT_VALUE: {
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v->int_value);
    return fold(0, buf, (size_t)n);
  }
  case PARRY__V1__VALUE__KIND_DOUBLE_VALUE: {
    int n = snprintf(buf, sizeof buf, "%.17g", v->double_value);
    return fold(0, buf, (size_t)n);
  }
  case PARRY__V1__VALUE__KIND_BOOL_VALUE:
    return fold(0, v->bool_value ? "true" : "false", v->bool_value ? 4 : 5);
  case PARRY__V1__VALUE__KIND_LIST_VALUE: {
    /* several value fields (value_count `field: [a, b]`): the tuple */
    uint64_t h = 0x51;
    for (size_t i = 0; i < v->list_value->n_items; i++) {
      bool k;
      uint64_t x = corr_value_hash(v->list_value->items[i], &k);
      if (!k) {
        *ok = false;
        return 0;
      }
      h = fold(h, &x, sizeof x);
    }
    return h;
  }
  default:
    *ok = false;
    return 0;
  }
}

bool corr_value_number(const Parry__V1__Value *v, double *out) {
  if (!v) return false;
  const char *s = NULL;
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_INT_VALUE: *out = (double)v->int_value; return true;
  case PARRY__V1__VALUE__KIND_DOUBLE_VALUE: *out = v->double_value; return isfinite(*out);
  case PARRY__V1__VALUE__KIND_STRING_VALUE: s = v->string_value; break;
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT: s = v->number_text; break;
  default: return false;
  }
  if (!s || !*s) return false;
  char *end;
  double x = strtod(s, &end);
  if (*end || !isfinite(x)) return false;
  *out = x;
  return true;
}

/* The first candidate path with a scalar value, as text. */
static const char *field_text(const Parry__V1__Event *ev, const char *const *cands, uint32_t n,
                              char *buf, size_t bufsz, size_t *len, parry_field_t *f) {
  for (uint32_t i = 0; i < n; i++) {
    if (parry_event_get(ev, cands[i], f) == PARRY_FIELD_ABSENT) continue;
    const char *t = parry_field_text(f, buf, bufsz, len);
    if (t) return t;
  }
  return NULL;
}

size_t parry_corr_signals(const parry_corr_set_t *set, const parry_sigma_ruleset_t *rs,
                          uint32_t rule_index, const Parry__V1__Event *ev,
                          parry_corr_signal_cb cb, void *opaque) {
  return parry_corr_signals_ex(set, rs, rule_index, ev, cb, opaque, NULL);
}

size_t parry_corr_signals_ex(const parry_corr_set_t *set, const parry_sigma_ruleset_t *rs,
                             uint32_t rule_index, const Parry__V1__Event *ev,
                             parry_corr_signal_cb cb, void *opaque,
                             parry_corr_signal_stats_t *stats) {
  if (!set || rule_index >= set->n_det || !ev) return 0;
  const parry_sigma_rule_info_t *ri = parry_sigma_rule_info(rs, rule_index);
  size_t produced = 0;
  for (uint32_t u = 0; u < set->n_uses[rule_index]; u++) {
    const corr_use_t *use = &set->uses[rule_index][u];
    const corr_rule_t *r = &set->rules[use->corr];
    const corr_input_t *in = &r->inputs[use->input];
    char bufs[CORR_MAX_GROUP_BY][PARRY_FIELD_TEXT_MAX];
    Parry__V1__Label labels[CORR_MAX_GROUP_BY];
    Parry__V1__Label *lp[CORR_MAX_GROUP_BY];
    parry_buf_t key;
    parry_buf_init(&key, 0);
    corr_key_part(&key, r->info.key, strlen(r->info.key), true);
    bool missing = false;
    for (size_t g = 0; g < r->n_group_by && !missing; g++) {
      parry_field_t f;
      size_t len;
      const char *t = field_text(ev, in->gb_cands[g], in->gb_n_cands[g], bufs[g], sizeof bufs[g],
                                 &len, &f);
      if (!t) {
        missing = true;
        break;
      }
      parry__v1__label__init(&labels[g]);
      labels[g].key = r->group_by[g];
      /* text may point into the event or into bufs[g]; both live long enough */
      labels[g].value = (char *)t;
      if (t[len] != 0) { /* not NUL-terminated in place: copy into the buffer */
        missing = true;  /* parry_field_text always terminates; be safe */
        break;
      }
      lp[g] = &labels[g];
      corr_key_part(&key, t, len, false);
    }
    if (missing) {
      if (stats) stats->missing_group_by++;
      parry_buf_free(&key);
      continue;
    }
    Parry__V1__Value val = PARRY__V1__VALUE__INIT, items[8], *itp[8];
    Parry__V1__ValueList list = PARRY__V1__VALUE_LIST__INIT;
    char vbuf[8][PARRY_FIELD_TEXT_MAX];
    bool have_val = true;
    if (r->n_fields == 1) {
      parry_field_t f;
      size_t len;
      const char *t = field_text(ev, in->val_cands[0], in->val_n_cands[0], vbuf[0],
                                 sizeof vbuf[0], &len, &f);
      if (!t) {
        have_val = false;
      } else if (f.kind == PARRY_FIELD_VALUE && f.value &&
                 (f.value->kind_case == PARRY__V1__VALUE__KIND_INT_VALUE ||
                  f.value->kind_case == PARRY__V1__VALUE__KIND_DOUBLE_VALUE)) {
        val = *f.value;
      } else if (f.kind == PARRY_FIELD_INT) {
        val.kind_case = PARRY__V1__VALUE__KIND_INT_VALUE;
        val.int_value = f.i;
      } else {
        val.kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
        val.string_value = (char *)t;
      }
      double x;
      if (have_val && r->type != CT_VALUE_COUNT && r->type != CT_VALUE_PERCENTILE &&
          !corr_value_number(&val, &x))
        have_val = false;
    } else if (r->n_fields > 1) {
      /* value_count over several fields: the tuple of their texts */
      size_t nf = r->n_fields < 8 ? r->n_fields : 8;
      for (size_t k = 0; k < nf && have_val; k++) {
        parry_field_t f;
        size_t len;
        const char *t = field_text(ev, in->val_cands[k], in->val_n_cands[k], vbuf[k],
                                   sizeof vbuf[k], &len, &f);
        if (!t) {
          have_val = false;
          break;
        }
        parry__v1__value__init(&items[k]);
        items[k].kind_case = PARRY__V1__VALUE__KIND_STRING_VALUE;
        items[k].string_value = (char *)t;
        itp[k] = &items[k];
      }
      list.n_items = nf;
      list.items = itp;
      val.kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
      val.list_value = &list;
    }
    if (!have_val) {
      if (stats) stats->missing_value++;
      parry_buf_free(&key);
      continue;
    }
    Parry__V1__Event ref = PARRY__V1__EVENT__INIT;
    ref.schema_version = PARRY_SCHEMA_VERSION;
    ref.id = ev->id;
    ref.timestamp_ns = ev->timestamp_ns;
    ref.has_timestamp = ev->has_timestamp;
    Parry__V1__Signal sig = PARRY__V1__SIGNAL__INIT;
    sig.schema_version = PARRY_SCHEMA_VERSION;
    sig.correlation_id = (char *)r->info.key;
    sig.rule_id = (char *)in->key;
    sig.rule_title = (char *)(ri && ri->title ? ri->title : "");
    sig.n_group_by = r->n_group_by;
    sig.group_by = r->n_group_by ? lp : NULL;
    sig.timestamp_ns = ev->timestamp_ns;
    sig.value = r->n_fields ? &val : NULL;
    sig.event = &ref;
    cb(opaque, &sig, key.data ? key.data : "");
    parry_buf_free(&key);
    produced++;
  }
  return produced;
}
