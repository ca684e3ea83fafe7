#include "parry/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not through parry_log, which allocates its line buffer: this path must not
 * need memory. The line still has the shape of our JSON log lines. */
_Noreturn void parry_out_of_memory(size_t size) {
  fprintf(stderr,
          "{\"level\":\"fatal\",\"action\":\"allocating memory\","
          "\"msg\":\"out of memory allocating %zu bytes\"}\n",
          size);
  abort();
}

void *parry_xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) parry_out_of_memory(size);
  return p;
}

void *parry_xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) parry_out_of_memory(count * size);
  return p;
}

void *parry_xrealloc(void *ptr, size_t size) {
  void *p = realloc(ptr, size ? size : 1);
  if (!p) parry_out_of_memory(size);
  return p;
}

void *parry_xreallocarray(void *ptr, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) parry_out_of_memory(SIZE_MAX);
  return parry_xrealloc(ptr, count * size);
}

char *parry_xstrdup(const char *s) { return parry_xstrndup(s, strlen(s)); }

char *parry_xstrndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *p = parry_xmalloc(len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}
