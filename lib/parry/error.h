/* Error codes shared by every module.
 *
 * Constructors and parsers return a parry_err_t and, where a human needs to
 * know more, write a message into a caller-supplied `errstr` buffer. Messages
 * follow PostgreSQL's style: lower case, no final period, say what was being
 * done ("could not open ...") and name the input (file:line, key, field).
 */
#ifndef PARRY_ERROR_H
#define PARRY_ERROR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
  PARRY_OK = 0,
  PARRY_ERR_INVALID,     /* bad input: syntax, type, range */
  PARRY_ERR_NOT_FOUND,   /* unknown key, missing file */
  PARRY_ERR_UNSUPPORTED, /* valid but not implemented (e.g. newer schema) */
  PARRY_ERR_TOO_LARGE,   /* input over a configured cap */
  PARRY_ERR_IO,          /* operating system or network failure */
  PARRY_ERR_NOMEM,       /* allocation failed */
  PARRY_ERR_TIMEOUT,
  PARRY_ERR_EXTERNAL,    /* a library or service we called failed */
} parry_err_t;

/* Short, stable name of an error code ("invalid", "not found", ...). */
const char *parry_err_str(parry_err_t err);

/* snprintf into errstr (may be NULL or size 0) and return err: lets a
 * function fail in one line, `return parry_fail(errstr, n, PARRY_ERR_X, ...)`. */
parry_err_t parry_fail(char *errstr, size_t errstr_size, parry_err_t err,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
