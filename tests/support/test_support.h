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

#endif
