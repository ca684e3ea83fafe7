/* The per-record arena: alignment, growth, and reuse after reset. */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "parry/arena.h"
#include "test_support.h"

static void test_alignment_and_contents(void **state) {
  parry_arena_t a = PARRY_ARENA_INIT;
  char *s = parry_arena_strndup(&a, "hello world", 5);
  assert_string_equal(s, "hello");
  for (int i = 1; i < 100; i++) {
    void *p = parry_arena_alloc(&a, (size_t)i);
    assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
    memset(p, 0xAB, (size_t)i);
  }
  assert_string_equal(s, "hello"); /* later allocations did not overlap */
  int *zeros = parry_arena_new(&a, int, 1000);
  for (int i = 0; i < 1000; i++) assert_int_equal(zeros[i], 0);
  parry_arena_free(&a);
}

static void test_large_and_reset_reuse(void **state) {
  parry_arena_t a = PARRY_ARENA_INIT;
  /* larger than the first chunk */
  char *big = parry_arena_alloc(&a, 1 << 20);
  memset(big, 1, 1 << 20);
  char *first_small = parry_arena_strdup(&a, "x");
  parry_arena_reset(&a);
  assert_int_equal(a.used, 0);
  /* steady state: the same pattern reuses the same memory */
  char *again = parry_arena_alloc(&a, 1 << 20);
  char *again_small = parry_arena_strdup(&a, "y");
  assert_ptr_equal(again, big);
  assert_ptr_equal(again_small, first_small);
  for (int round = 0; round < 100; round++) {
    parry_arena_reset(&a);
    for (int i = 0; i < 1000; i++) parry_arena_alloc(&a, 64);
  }
  parry_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alignment_and_contents),
      cmocka_unit_test(test_large_and_reset_reuse),
  };
  return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
