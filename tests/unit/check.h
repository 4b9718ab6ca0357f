/* tests/unit/check.h — the unit tests' CHECK: a condition that does not hold
 * is printed with its file, line and text and counted in `failures`; each
 * test's main() returns non-zero when any failed. Included once per test
 * program (each is one .c file). */
#ifndef SGW_TESTS_UNIT_CHECK_H
#define SGW_TESTS_UNIT_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
/* FAIL("format", ...): an unconditional failure with a message of its own. */
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        failures++;                                                                                \
    } while (0)

#endif
