/* Loader internals: the YAML tree with positions, and the connector checks
 * (connectors_check.c) kept apart so the registry is asked in one place. */
#ifndef PARRY_RUNBOOK_LOAD_H
#define PARRY_RUNBOOK_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "runbook/template.h"

bool rb_connector_known(const char *uses);
size_t rb_connector_names(char *buf, size_t n); /* "http, slack, ..." */
bool rb_connector_has_input(const char *uses, const char *key);
size_t rb_connector_required(const char *uses, const char **names, size_t max);
/* The shape an input must have, from its declared kind. */
typedef enum {
  RB_IN_ANY,     /* text, JSON: whatever YAML gives */
  RB_IN_STRING,  /* a URL: one scalar */
  RB_IN_SCALARS, /* a header value: a scalar or a list of scalars */
  RB_IN_LIST,    /* argv: a non-empty list of scalars */
  RB_IN_MAP,     /* headers, query, env: a mapping of scalars */
} rb_in_shape_t;
rb_in_shape_t rb_connector_input_shape(const char *uses, const char *key);

/* Escaping for a `with` path of the connector (plan and the worker). */
parry_escape_t rb_connector_escape(const char *uses, const char *input_path);

#endif
