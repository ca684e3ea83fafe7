/* A bump allocator for data that lives exactly as long as one unit of work
 * (one input record, one rule evaluation): allocate freely, then release
 * everything at once with parry_arena_reset. Keeps the per-record hot paths
 * free of malloc/free pairs (nginx's ngx_pool_t is the model).
 *
 * Chunks grow geometrically and are kept across resets, so a steady stream
 * of records reaches a fixed footprint and stops allocating.
 */
#ifndef PARRY_ARENA_H
#define PARRY_ARENA_H

#include <stdalign.h>
#include <stddef.h>
#include <string.h>

typedef struct parry_arena_chunk parry_arena_chunk_t;

typedef struct {
  parry_arena_chunk_t *head;    /* chunk being filled */
  parry_arena_chunk_t *chunks;  /* all chunks, for reset and free */
  size_t used;                  /* bytes in use, for metrics */
  /* The free room of head, [cur, end): the inline fast path below bumps cur
   * without touching the chunk (its offset is brought up to date on the slow
   * path). Both NULL until the first allocation. */
  unsigned char *cur, *end;
} parry_arena_t;

#define PARRY_ARENA_INIT {NULL, NULL, 0, NULL, NULL}

/* Everything else: a new or kept chunk (arena.c). */
void *parry_arena_alloc_slow(parry_arena_t *a, size_t size);

/* Aligned for any type; aborts on out-of-memory (parry/mem.h). Inline
 * because parsers allocate dozens of times per record: when the current
 * chunk has room it is an add and a compare. */
static inline void *parry_arena_alloc(parry_arena_t *a, size_t size) {
  const size_t al = alignof(max_align_t);
  size_t n = ((size ? size : 1) + al - 1) & ~(al - 1);
  if (n >= size && (size_t)(a->end - a->cur) >= n) {
    void *p = a->cur;
    a->cur += n;
    a->used += n;
    return p;
  }
  return parry_arena_alloc_slow(a, size);
}
void *parry_arena_calloc(parry_arena_t *a, size_t count, size_t size);
/* A NUL-terminated copy of s[0..len). */
static inline char *parry_arena_strndup(parry_arena_t *a, const char *s, size_t len) {
  char *p = (char *)parry_arena_alloc(a, len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}
char *parry_arena_strdup(parry_arena_t *a, const char *s);

/* Forget every allocation, keeping the memory for reuse. */
void parry_arena_reset(parry_arena_t *a);
void parry_arena_free(parry_arena_t *a);

#define parry_arena_new(a, type, count) \
  ((type *)parry_arena_calloc((a), (count), sizeof(type)))

#endif
