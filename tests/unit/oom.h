/* tests/unit/oom.h — allocation-failure injection for test_oom_*.c (the
 * Suricata "nalloc" practice from reliability-catalogue.md). Those tests are
 * linked with --wrap=malloc,calloc,realloc, so every allocation the module
 * libraries make comes through here. oom_run(scenario) runs the scenario
 * once to count its allocations, then once per allocation with exactly that
 * one failing: the scenario must report the failure as an error or produce
 * the same result as the clean run (never a crash, never a silent loss);
 * ASan/LSan in the asan build also check that no failure path leaks. */
#ifndef SGW_TESTS_OOM_H
#define SGW_TESTS_OOM_H

#include <stdio.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

static long oom_fail_at = -1; /* index of the allocation to fail, -1 = none */
static long oom_count;        /* allocations seen since oom_arm() */
static int oom_failed;        /* the injected failure happened */

static int oom_hit(void)
{
    if (oom_fail_at < 0)
        return 0;
    if (oom_count++ == oom_fail_at) {
        oom_failed = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return oom_hit() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return oom_hit() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return oom_hit() ? NULL : __real_realloc(p, n);
}

/* A scenario returns 0 when every call succeeded and its result matched the
 * clean run, 1 when a call reported an error, -1 on a wrong result. */
typedef int (*oom_scenario)(void);

/* Returns the number of problems found (0 = all allocation failures handled). */
static int oom_run(const char *name, oom_scenario fn)
{
    oom_fail_at = 1L << 60; /* counting run: never fails */
    oom_count = 0;
    oom_failed = 0;
    int rc = fn();
    long total = oom_count;
    oom_fail_at = -1;
    if (rc != 0) {
        fprintf(stderr, "oom %s: clean run failed (%d)\n", name, rc);
        return 1;
    }
    int bad = 0;
    long errors = 0;
    for (long i = 0; i < total; i++) {
        oom_fail_at = i;
        oom_count = 0;
        oom_failed = 0;
        rc = fn();
        oom_fail_at = -1;
        if (rc < 0 || (rc == 0 && !oom_failed)) {
            fprintf(stderr, "oom %s: failing allocation #%ld of %ld: %s\n", name, i, total,
                    rc < 0 ? "wrong result" : "allocation not reached");
            bad++;
        }
        errors += rc == 1;
    }
    printf("oom %s: %ld allocations, each failed once: %ld reported an error, %ld recovered with the same "
           "result\n",
           name, total, errors, total - errors);
    return bad;
}

#endif
