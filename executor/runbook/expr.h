/* The `when` expression language: small, safe, bounded.
 *
 * An expression is compiled once (at runbook load) and evaluated against the
 * run's context, a json-c tree (see runbook.h):
 *   {"alert": {...}, "case": {...}, "steps": {"<id>": {"status", "outputs"}},
 *    "runbook": {"name"}}
 * Evaluation has no side effects, allocates nothing per call beyond a fixed
 * stack, and every construct is bounded: the text is at most
 * PARRY_EXPR_MAX_LEN bytes, nesting at most PARRY_EXPR_MAX_DEPTH, at most
 * PARRY_EXPR_MAX_NODES nodes. A path that does not exist is null -- never an
 * error.
 *
 * Grammar (keywords are lower case; `&&`, `||`, `!` are accepted too):
 *   expr    := or
 *   or      := and ( "or" and )*
 *   and     := not ( "and" not )*
 *   not     := "not" not | cmp
 *   cmp     := operand [ op operand ]
 *   op      := == != < <= > >= | in | not in | contains | matches
 *   operand := literal | path | call | "(" expr ")"
 *   literal := "string" | 'string' | number | true | false | null
 *            | "[" literal ( "," literal )* "]"      (lists of literals only)
 *   path    := root ( "." name | "[" "string" "]" | "[" integer "]" )*
 *              root is one of alert, case, steps, runbook
 *   call    := exists(path) | cidr(operand, cidrs) | level(operand)
 *            | lower(operand) | len(operand)
 * Strings take \" \' \\ \n \t escapes. A `.name` segment that is not a key of
 * the object tries the following segments joined with '.', so
 * alert.group_by.source.ip finds the group_by key "source.ip" (the explicit
 * form is alert.group_by["source.ip"]).
 *
 * Semantics:
 *   == !=     same type and value; numbers compare by value (int or float);
 *             different types are unequal (so `x != null` means x exists).
 *   < <= > >= numbers by value, strings byte-wise; anything else is false.
 *   in        left is an element of the right list (==), or a substring of
 *             the right string.
 *   contains  right is an element of the left list, or a substring of the
 *             left string.
 *   matches   glob over strings: * any run, ? one byte, whole string.
 *   exists(p) p resolves to a value that is not null.
 *   cidr(ip, c) ip (string, IPv4 or IPv6) lies in c: a CIDR string or a list
 *             of them; anything unparsable at run time is false, a literal
 *             CIDR that does not parse is a compile error.
 *   level(s)  informational=1 low=2 medium=3 high=4 critical=5, else null.
 *   lower(s), len(x)  lower-cased ASCII copy (of at most 256 bytes, longer is
 *             null); length of a string (bytes), list or object.
 *   and/or/not  on truthiness: null, false, 0, "", [] and {} are false.
 * The result of the whole expression is its truthiness.
 */
#ifndef PARRY_RUNBOOK_EXPR_H
#define PARRY_RUNBOOK_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "parry/error.h"

struct json_object;

#define PARRY_EXPR_MAX_LEN   4096
#define PARRY_EXPR_MAX_DEPTH 32
#define PARRY_EXPR_MAX_NODES 512

typedef struct parry_expr parry_expr_t;

/* Compile text (NUL-terminated). On error NULL, errstr names the column
 * (1-based, within the expression) and what is wrong, e.g.
 * "column 12: expected ')' after the arguments of cidr". */
parry_expr_t *parry_expr_compile(const char *text, char *errstr, size_t n);
/* The same, also returning the 0-based byte offset of the error (for loaders
 * that turn it into a file position). errstr then holds no "column" prefix. */
parry_expr_t *parry_expr_compile_at(const char *text, size_t len, size_t *err_offset, char *errstr,
                                    size_t n);
void parry_expr_destroy(parry_expr_t *e);

/* Evaluate against ctx (may be NULL: every path is null). Errors are only
 * internal limits (never missing data or mismatched types). */
parry_err_t parry_expr_eval(const parry_expr_t *e, struct json_object *ctx, bool *out, char *errstr,
                            size_t n);

/* The source text, as compiled. */
const char *parry_expr_text(const parry_expr_t *e);

/* Call cb for every path into steps.<id> the expression reads, in text
 * order, with the 0-based offset of the path in the text. */
typedef void (*parry_step_ref_cb)(void *opaque, const char *step_id, size_t offset);
void parry_expr_step_refs(const parry_expr_t *e, parry_step_ref_cb cb, void *opaque);

#endif
