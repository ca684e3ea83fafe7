/* Helpers shared by the cmocka suites. */
#ifndef PARRY_TEST_SUPPORT_H
#define PARRY_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* The value of a service variable (KAFKA_BOOTSTRAP, PARRY_PG_DSN). When it is
 * unset, prints why and returns NULL; the caller then calls skip(). With
 * PARRY_REQUIRE_SERVICES=1 an absent service fails the test instead, so that
 * `make test` cannot pass by skipping everything. */
const char *parry_test_service(const char *var, const char *what);

/* The shared test data folder ($PARRY_TESTDATA, else ../shared/data beside
 * the checkout), or NULL with a printed reason (the caller skips). */
const char *parry_test_data_dir(void);

/* The repository root ($PARRY_SOURCE_DIR, set by ctest). */
const char *parry_test_source_dir(void);

/* A name unique to this process and call: "<prefix>-<pid>-<time>-<n>". */
void parry_test_unique_name(const char *prefix, char *out, size_t out_size);

/* Makes a fresh folder from template (ending in XXXXXX) into dir; 0 or -1,
 * the shape cmocka setup functions return. */
int parry_test_tmpdir_make(char *dir, size_t size, const char *template_path);

/* Removes dir and all below it; 0 or -1 (cmocka teardown shape). */
int parry_test_tmpdir_remove(const char *dir);

/* Writes text to dir/name and leaves that path in path; fails the test when
 * the file cannot be created. */
void parry_test_write_file(const char *dir, const char *name, const char *text, char *path,
                           size_t size);

#endif
