/* Templates for step inputs: literal text with `{{ ... }}` substitutions.
 *
 *   text      := ( literal | "{{" subst "}}" )*
 *   subst     := operand ( "|" filter )*
 *   operand   := path (as in expr.h) | "string" | 'string'
 *   filter    := default("text") | upper | lower | trim | json | required
 *
 * A substitution renders its value as text: strings as they are, numbers as
 * JSON writes them, true/false, objects and lists as compact JSON, null or a
 * missing path as "" (or the default(), or an error with `required`).
 * `json` renders the value as JSON text even when it is a string (quoted).
 * A literal "{{" is written {{ "{{" }}. Rendering happens once: data that
 * contains "{{" is never expanded again.
 *
 * Escaping applies to the substituted values, never to the runbook's own
 * literal text (the author writes the URL, the JSON skeleton, the header
 * name):
 *   NONE    as is;
 *   URL     percent-encoded as one URL component: everything except
 *           A-Z a-z 0-9 - . _ ~ becomes %XX (so / ? & # = + and spaces in data
 *           cannot change the URL's structure);
 *   HEADER  a value containing CR, LF or NUL is an error (never stripped), so
 *           data cannot add headers; the whole rendered text is checked, the
 *           literal part included;
 *   JSON    the inside of a JSON string: " \ and control characters escaped,
 *           invalid UTF-8 becomes U+FFFD (parry_buf_append_json_string).
 * Limits: template text at most PARRY_TEMPLATE_MAX_LEN bytes and
 * PARRY_TEMPLATE_MAX_SUBST substitutions; the caller's buffer cap bounds the
 * output.
 */
#ifndef PARRY_RUNBOOK_TEMPLATE_H
#define PARRY_RUNBOOK_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/buf.h"
#include "parry/error.h"
#include "runbook/expr.h"

struct json_object;

#define PARRY_TEMPLATE_MAX_LEN   65536
#define PARRY_TEMPLATE_MAX_SUBST 256

typedef enum {
  PARRY_ESCAPE_NONE = 0,
  PARRY_ESCAPE_URL,    /* URL component (percent-encoding) */
  PARRY_ESCAPE_HEADER, /* header value: CR, LF, NUL refused */
  PARRY_ESCAPE_JSON,   /* JSON string content */
} parry_escape_t;

const char *parry_escape_name(parry_escape_t esc); /* "none", "url", "header", "json" */

typedef struct parry_template parry_template_t;

/* Compile text[0..len). On error NULL; errstr says what, *err_offset (may be
 * NULL) gets the 0-based byte offset of the problem. */
parry_template_t *parry_template_compile(const char *text, size_t len, size_t *err_offset,
                                         char *errstr, size_t n);
void parry_template_destroy(parry_template_t *t);

/* Append the rendering to out (which keeps its cap). On error out is left
 * as it was and errstr says why (header injection, required value missing,
 * output over the cap). ctx may be NULL. */
parry_err_t parry_template_render(const parry_template_t *t, struct json_object *ctx,
                                  parry_escape_t esc, parry_buf_t *out, char *errstr, size_t n);

/* True when the template has no substitutions (its text renders as is). */
bool parry_template_is_literal(const parry_template_t *t);
const char *parry_template_text(const parry_template_t *t);
/* Every path into steps.<id> the template reads, in text order. */
void parry_template_step_refs(const parry_template_t *t, parry_step_ref_cb cb, void *opaque);

#endif
