#include "parry/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

struct parry_arena_chunk {
  parry_arena_chunk_t *next;
  size_t size; /* usable bytes after the header */
  size_t off;
  alignas(max_align_t) unsigned char data[];
};

enum { FIRST_CHUNK = 16 * 1024 };

static size_t align_up(size_t n) {
  const size_t a = alignof(max_align_t);
  return (n + a - 1) & ~(a - 1);
}

/* The inline parry_arena_alloc found no room in [cur, end). */
void *parry_arena_alloc_slow(parry_arena_t *a, size_t size) {
  size = align_up(size ? size : 1);
  parry_arena_chunk_t *c = a->head;
  /* The chunk's own offset lags behind the inline bumps of cur. */
  if (c) c->off = (size_t)(a->cur - c->data);
  /* After a reset, walk the kept chunks before allocating new ones. */
  while (c && c->size - c->off < size) {
    c = c->next;
    if (c) c->off = 0;
  }
  if (!c) {
    size_t want = a->chunks ? a->chunks->size * 2 : FIRST_CHUNK;
    while (want < size) want *= 2;
    c = parry_xmalloc(sizeof *c + want);
    c->size = want;
    c->off = 0;
    /* New chunks go first in the list; head walks forward from it, so
     * order the list so that `next` visits chunks not yet used. */
    c->next = NULL;
    if (a->chunks) {
      parry_arena_chunk_t *last = a->chunks;
      while (last->next) last = last->next;
      last->next = c;
    } else {
      a->chunks = c;
    }
  }
  a->head = c;
  void *p = c->data + c->off;
  c->off += size;
  a->used += size;
  a->cur = c->data + c->off;
  a->end = c->data + c->size;
  return p;
}

void *parry_arena_calloc(parry_arena_t *a, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) parry_out_of_memory(SIZE_MAX);
  void *p = parry_arena_alloc(a, count * size);
  memset(p, 0, count * size);
  return p;
}

char *parry_arena_strdup(parry_arena_t *a, const char *s) {
  return parry_arena_strndup(a, s, strlen(s));
}

void parry_arena_reset(parry_arena_t *a) {
  a->head = a->chunks;
  if (a->head) {
    a->head->off = 0;
    a->cur = a->head->data;
    a->end = a->head->data + a->head->size;
  }
  a->used = 0;
}

void parry_arena_free(parry_arena_t *a) {
  for (parry_arena_chunk_t *c = a->chunks, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  a->head = a->chunks = NULL;
  a->cur = a->end = NULL;
  a->used = 0;
}
