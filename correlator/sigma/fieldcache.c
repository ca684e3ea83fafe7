/* Field values of the current event, looked up once per event per field
 * (stamped with the event generation), with their text, lower-cased text
 * and numeric view made on first use; and the list of every string of the
 * event for keyword searches. Temporary text lives in the matcher's arena,
 * reset per event. */
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "sigma/match_int.h"

static void fval_from_value(fval_t *f, const Parry__V1__Value *v) {
  memset(f, 0, sizeof *f);
  f->num = -1;
  f->val = v;
  if (!v) {
    f->type = FV_NULL;
    return;
  }
  switch (v->kind_case) {
  case PARRY__V1__VALUE__KIND_STRING_VALUE:
    f->type = FV_STR;
    f->s = v->string_value;
    f->len = strlen(f->s);
    break;
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT:
    f->type = FV_STR;
    f->s = v->number_text;
    f->len = strlen(f->s);
    break;
  case PARRY__V1__VALUE__KIND_INT_VALUE:
    f->type = FV_INT;
    f->i = v->int_value;
    f->d = (double)f->i;
    f->num = 1;
    break;
  case PARRY__V1__VALUE__KIND_DOUBLE_VALUE:
    f->type = FV_DBL;
    f->d = v->double_value;
    f->num = 2;
    break;
  case PARRY__V1__VALUE__KIND_BOOL_VALUE:
    f->type = FV_BOOL;
    f->s = v->bool_value ? "true" : "false";
    f->len = strlen(f->s);
    f->low = f->s;
    f->num = 0;
    break;
  case PARRY__V1__VALUE__KIND_NULL_VALUE: f->type = FV_NULL; break;
  default: f->type = FV_OTHER; break;
  }
}

const char *sg_m_text(parry_sigma_matcher_t *m, fval_t *f, size_t *len) {
  if (!f->s) {
    if (f->type == FV_NULL || f->type == FV_OTHER) return NULL;
    char buf[PARRY_FIELD_TEXT_MAX];
    parry_field_t pf = {0};
    if (f->type == FV_INT) {
      pf.kind = PARRY_FIELD_INT;
      pf.i = f->i;
    } else if (f->type == FV_TIME) {
      pf.kind = PARRY_FIELD_TIME;
      pf.i = f->i;
    } else {
      pf.kind = PARRY_FIELD_VALUE;
      pf.value = f->val;
    }
    size_t n = 0;
    const char *t = parry_field_text(&pf, buf, sizeof buf, &n);
    if (!t) return NULL;
    f->s = parry_arena_strndup(&m->arena, t, n);
    f->len = n;
  }
  *len = f->len;
  return f->s;
}

const char *sg_m_low(parry_sigma_matcher_t *m, fval_t *f, size_t *len) {
  if (!f->low) {
    size_t n;
    const char *s = sg_m_text(m, f, &n);
    if (!s) return NULL;
    size_t i = 0;
    while (i < n && !(s[i] >= 'A' && s[i] <= 'Z')) i++;
    if (i == n) {
      f->low = s;
    } else {
      char *c = parry_arena_alloc(&m->arena, n + 1);
      memcpy(c, s, i);
      for (; i < n; i++) c[i] = sg_lower(s[i]);
      c[n] = 0;
      f->low = c;
    }
  }
  *len = f->len;
  return f->low;
}

/* The numeric view of a value: false when it is not a number. */
bool sg_m_num(fval_t *f, bool *is_int, int64_t *i, double *d) {
  if (f->num < 0) {
    f->num = 0;
    if (f->type == FV_STR && sg_parse_number(f->s, f->len, is_int, &f->i, &f->d))
      f->num = *is_int ? 1 : 2;
  }
  if (f->num == 0) return false;
  *is_int = f->num == 1;
  *i = f->i;
  *d = f->d;
  return true;
}

fslot_t *sg_m_field(parry_sigma_matcher_t *m, uint32_t slot) {
  fslot_t *fs = &m->slots[slot];
  if (fs->gen == m->gen) return fs;
  uint32_t scan_gen = fs->scan_gen;
  memset(fs, 0, sizeof *fs);
  fs->scan_gen = scan_gen;
  fs->gen = m->gen;
  const sg_slot_t *s = &m->rs->slots[slot];
  parry_field_t f;
  parry_field_kind_t k = PARRY_FIELD_ABSENT;
  for (uint32_t c = 0; c < s->n_cands && k == PARRY_FIELD_ABSENT; c++)
    k = s->cand_hash ? sg_event_get_key(&m->evx, m->ev, s->cands[c], s->cand_hash[c], s->cand_len[c], &f)
                     : sg_event_get(&m->evx, m->ev, s->cands[c], &f);
  if (k == PARRY_FIELD_ABSENT) return fs;
  fs->present = true;
  fs->v = &fs->one;
  fs->n = 1;
  fval_t *o = &fs->one;
  o->num = -1;
  switch (k) {
  case PARRY_FIELD_STRING:
    o->type = FV_STR;
    o->s = f.str;
    o->len = f.len;
    break;
  case PARRY_FIELD_STRINGS:
    fs->n = (uint32_t)f.n_strs;
    fs->v = fs->n ? parry_arena_new(&m->arena, fval_t, fs->n) : &fs->one;
    for (uint32_t i = 0; i < fs->n; i++) {
      fs->v[i].type = FV_STR;
      fs->v[i].num = -1;
      fs->v[i].s = f.strs[i];
      fs->v[i].len = strlen(f.strs[i]);
    }
    break;
  case PARRY_FIELD_INT:
    o->type = FV_INT;
    o->i = f.i;
    o->d = (double)f.i;
    o->num = 1;
    break;
  case PARRY_FIELD_TIME:
    o->type = FV_TIME;
    o->i = f.i;
    o->num = 0;
    break;
  case PARRY_FIELD_VALUE:
    if (f.value->kind_case == PARRY__V1__VALUE__KIND_LIST_VALUE) {
      const Parry__V1__ValueList *l = f.value->list_value;
      fs->n = l ? (uint32_t)l->n_items : 0;
      fs->v = fs->n ? parry_arena_new(&m->arena, fval_t, fs->n) : &fs->one;
      for (uint32_t i = 0; i < fs->n; i++) fval_from_value(&fs->v[i], l->items[i]);
    } else if (f.value->kind_case == PARRY__V1__VALUE__KIND_MAP_VALUE) {
      fs->n = 0;
    } else {
      fval_from_value(o, f.value);
    }
    break;
  default: break;
  }
  return fs;
}

/* ---- keyword strings: every string of the event ---- */

typedef void (*kw_fn)(parry_sigma_matcher_t *m, const char *s);

static void kw_push(parry_sigma_matcher_t *m, const char *s) {
  if (!s || !*s) return;
  m->kw = sg_grow(m->kw, &m->cap_kw, m->n_kw, sizeof *m->kw);
  fval_t *f = &m->kw[m->n_kw++];
  memset(f, 0, sizeof *f);
  f->type = FV_STR;
  f->num = -1;
  f->s = s;
  f->len = strlen(s);
}

static void kw_value(parry_sigma_matcher_t *m, const Parry__V1__Value *v, int depth, kw_fn fn) {
  if (!v || depth > PARRY_CODEC_MAX_DEPTH) return;
  if (v->kind_case == PARRY__V1__VALUE__KIND_STRING_VALUE) fn(m, v->string_value);
  else if (v->kind_case == PARRY__V1__VALUE__KIND_LIST_VALUE && v->list_value)
    for (size_t i = 0; i < v->list_value->n_items; i++) kw_value(m, v->list_value->items[i], depth + 1, fn);
  else if (v->kind_case == PARRY__V1__VALUE__KIND_MAP_VALUE && v->map_value)
    for (size_t i = 0; i < v->map_value->n_entries; i++)
      if (v->map_value->entries[i]) kw_value(m, v->map_value->entries[i]->value, depth + 1, fn);
}

/* every string of the event, in a fixed order (NULLs included) */
void sg_m_each_string(parry_sigma_matcher_t *m, kw_fn fn) {
  const Parry__V1__Event *ev = m->ev;
  fn(m, ev->message);
  fn(m, ev->event_kind);
  fn(m, ev->event_action);
  fn(m, ev->event_outcome);
  fn(m, ev->event_dataset);
  for (size_t i = 0; i < ev->n_event_category; i++) fn(m, ev->event_category[i]);
  for (size_t i = 0; i < ev->n_event_type; i++) fn(m, ev->event_type[i]);
  fn(m, ev->source_ip);
  fn(m, ev->destination_ip);
  fn(m, ev->user_name);
  fn(m, ev->host_name);
  fn(m, ev->process_name);
  fn(m, ev->process_command_line);
  if (ev->fields) {
    Parry__V1__Entry *const *e = ev->fields->entries;
    size_t n = ev->fields->n_entries;
    /* the values are a pointer chase away: ask for a few ahead */
    for (size_t i = 0; i < n && i < 4; i++)
      if (e[i]) __builtin_prefetch(e[i]->value);
    for (size_t i = 0; i < n; i++) {
      if (i + 4 < n && e[i + 4]) __builtin_prefetch(e[i + 4]->value);
      if (e[i]) kw_value(m, e[i]->value, 1, fn);
    }
  }
}

void sg_m_keywords(parry_sigma_matcher_t *m) {
  if (m->kw_gen == m->gen) return;
  m->kw_gen = m->gen;
  m->n_kw = 0;
  sg_m_each_string(m, kw_push);
}
