/* Allocation, and the project's out-of-memory policy.
 *
 * Policy: an allocation failure aborts the process after one log line. Every
 * service keeps its durable state in Kafka or PostgreSQL and commits input only
 * after acting on it, so a restart loses nothing, whereas a half-handled
 * allocation failure deep in a parser could. Memory that input controls is
 * bounded by explicit caps (see parry_buf) long before malloc fails.
 *
 * Array sizes are overflow-checked: parry_xnew(T, n) never wraps.
 */
#ifndef PARRY_MEM_H
#define PARRY_MEM_H

#include <stddef.h>

void *parry_xmalloc(size_t size);
void *parry_xcalloc(size_t count, size_t size);
void *parry_xrealloc(void *ptr, size_t size);
/* realloc to count*size bytes, aborting if the product overflows. */
void *parry_xreallocarray(void *ptr, size_t count, size_t size);
char *parry_xstrdup(const char *s);
char *parry_xstrndup(const char *s, size_t n);
/* The policy's end: one log line naming the size, then abort. */
_Noreturn void parry_out_of_memory(size_t size);

#define parry_xnew(type, count) ((type *)parry_xcalloc((count), sizeof(type)))

#endif
