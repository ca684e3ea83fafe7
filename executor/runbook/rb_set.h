/* The runbook set's internals: one arena for the runbooks, plus the compiled
 * expressions and templates they point at. */
#ifndef PARRY_RUNBOOK_SET_H
#define PARRY_RUNBOOK_SET_H

#include "parry/arena.h"
#include "runbook/runbook.h"

struct parry_runbook_set {
  parry_arena_t arena;
  parry_runbook_t **runbooks; /* valid ones, sorted by name after rb_set_finish */
  size_t n;
  const parry_runbook_t **names; /* every runbook with a name, valid or not (duplicates) */
  size_t n_names;
  parry_expr_t **exprs;
  size_t n_exprs;
  parry_template_t **tmpls;
  size_t n_tmpls;
};

parry_runbook_set_t *rb_set_new(void);
void rb_set_keep_expr(parry_runbook_set_t *s, parry_expr_t *e);
void rb_set_keep_template(parry_runbook_set_t *s, parry_template_t *t);
void rb_set_add(parry_runbook_set_t *s, parry_runbook_t *rb);
void rb_set_note_name(parry_runbook_set_t *s, const parry_runbook_t *rb);
const parry_runbook_t *rb_set_find_any(const parry_runbook_set_t *s, const char *name);
void rb_set_finish(parry_runbook_set_t *s); /* sort by name, number them */

#endif
