#include "parry/error.h"

#include <stdio.h>

const char *parry_err_str(parry_err_t err) {
  switch (err) {
  case PARRY_OK: return "ok";
  case PARRY_ERR_INVALID: return "invalid";
  case PARRY_ERR_NOT_FOUND: return "not found";
  case PARRY_ERR_UNSUPPORTED: return "unsupported";
  case PARRY_ERR_TOO_LARGE: return "too large";
  case PARRY_ERR_IO: return "i/o error";
  case PARRY_ERR_NOMEM: return "out of memory";
  case PARRY_ERR_TIMEOUT: return "timed out";
  case PARRY_ERR_EXTERNAL: return "external failure";
  }
  return "unknown error";
}

parry_err_t parry_fail(char *errstr, size_t errstr_size, parry_err_t err,
                       const char *fmt, ...) {
  if (errstr && errstr_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
  }
  return err;
}
