/* Unit tests for the SIMD byte scanners of classifiers/decode*.c: every
 * level this CPU runs (up to AVX-512) against the scalar level, on random
 * input and on input that ends at the last byte of a readable page (the
 * next page unmapped: a scanner that reads past its input crashes here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "classifiers/decode_internal.h"

#include "../check.h"

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* Bytes that matter to the scanners (string specials, base64 characters,
 * run breakers, pads, line ends, UTF-8, controls) and plain text between
 * them, one "odd" byte per `density` on average. */
static void fill(uint8_t *p, size_t n, unsigned density)
{
    static const uint8_t odd[] = {'"', '\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xff, '=', '\n', '\r',
                                  ' ', '.', '@', '-', '_', '+', '/', 0x9f, '%', '&', '|', '\n', ' ', ' ', '<'};
    static const char plain[] = "ABZaz09QqMmxy+/-_";
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rnd();
        if (r % density == 0)
            p[i] = odd[(r >> 8) % sizeof(odd)];
        else
            p[i] = (uint8_t)plain[(r >> 8) % (sizeof(plain) - 1)];
    }
}

/* One input at every level: the same answers as the scalar code. */
static void compare_levels(const uint8_t *p, size_t n)
{
    int top = dec_simd_level();
    size_t want_sp = dec_json_find_special_impl(p, n, DEC_SIMD_SCALAR);
    int want_flags = 0, f;
    size_t want_run = dec_b64_find_run_impl(p, n, DEC_SIMD_SSE2 <= top ? DEC_SIMD_SSE2 : 0, &want_flags);
    CHECK(dec_b64_find_run_impl(p, n, DEC_SIMD_SCALAR, &f) == want_run);
    unsigned want_ind[5] = {0}, ind;
    size_t want_pipe[5]; /* (raw text's markdown rows, after each lead) */
    for (int lead = -1; lead <= 3; lead++)
        want_pipe[lead + 1] = dec_line_mark_impl(p, n, lead, &want_ind[lead + 1], DEC_SIMD_SCALAR);
    for (int level = DEC_SIMD_SCALAR; level <= top; level++) {
        for (int lead = -1; lead <= 3; lead++) {
            ind = 99;
            size_t at = dec_line_mark_impl(p, n, lead, &ind, level);
            if (at != want_pipe[lead + 1] || (at < n && ind != want_ind[lead + 1])) {
                fprintf(stderr, "line_mark level %d n %zu lead %d: want %zu/%u got %zu/%u\n", level, n, lead,
                        want_pipe[lead + 1], want_ind[lead + 1], at, ind);
                failures++;
            }
        }
        size_t got = dec_json_find_special_impl(p, n, level);
        if (got != want_sp) {
            fprintf(stderr, "find_special level %d n %zu: want %zu got %zu\n", level, n, want_sp,
                    got);
            failures++;
        }
        if (level == DEC_SIMD_SCALAR)
            continue; /* the scalar finder says no flags */
        f = -1;
        got = dec_b64_find_run_impl(p, n, level, &f);
        if (got != want_run || f != want_flags) {
            fprintf(stderr, "b64 find level %d n %zu: want %zu/%d got %zu/%d\n", level, n,
                    want_run, want_flags, got, f);
            failures++;
        }
    }
}

/* The one-pass copy of plain string bytes at every level: the same count
 * as the scalar code, those bytes copied, nothing written from dst + room
 * on (guard bytes after it). */
static void compare_copy(const uint8_t *p, size_t n, size_t room)
{
    static uint8_t dst[800];
    size_t want = dec_json_copy_plain_impl(p, n, dst, room, DEC_SIMD_SCALAR);
    CHECK(want == dec_json_find_special_impl(p, n < room ? n : room, DEC_SIMD_SCALAR));
    for (int level = DEC_SIMD_SCALAR; level <= dec_simd_level(); level++) {
        memset(dst, 0xa5, sizeof(dst));
        size_t got = dec_json_copy_plain_impl(p, n, dst, room, level);
        int guard_ok = 1;
        for (size_t k = room; k < room + 70 && k < sizeof(dst); k++)
            guard_ok &= dst[k] == 0xa5;
        if (got != want || memcmp(dst, p, got) != 0 || !guard_ok) {
            fprintf(stderr, "copy_plain level %d n %zu room %zu: want %zu got %zu guard %d\n",
                    level, n, room, want, got, guard_ok);
            failures++;
        }
    }
}

static void test_random(void)
{
    uint8_t buf[700];
    for (int iter = 0; iter < 100000; iter++) {
        size_t off = rnd() % 64; /* every alignment */
        size_t n = rnd() % (iter % 8 == 0 ? sizeof(buf) - 64 : 200);
        unsigned density = 1 + rnd() % (iter % 3 == 0 ? 400 : 40);
        fill(buf + off, n, density);
        compare_levels(buf + off, n);
        compare_copy(buf + off, n, rnd() % 4 == 0 ? rnd() % 700 : 700);
    }
}

/* Inputs of every length up to 300 ending at a page end. */
static void test_page_end(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    CHECK(pg >= 4096);
    if (pg < 4096)
        return;
    uint8_t *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED)
        return;
    CHECK(mprotect(m + pg, (size_t)pg, PROT_NONE) == 0);
    uint8_t *end = m + pg;
    for (size_t n = 0; n <= 300; n++) {
        for (int v = 0; v < 4; v++) {
            fill(end - n, n, v == 0 ? 1000 : 1 + (unsigned)v * 7);
            compare_levels(end - n, n);
            compare_copy(end - n, n, 700);
        }
        /* no special byte and one run of base64 characters to the end */
        memset(end - n, 'A', n);
        compare_levels(end - n, n);
        CHECK(dec_json_find_special(end - n, n) == n);
    }
    munmap(m, (size_t)pg * 2);
}

int main(void)
{
    printf("test_decode_simd: top SIMD level %d\n", dec_simd_level());
    test_random();
    test_page_end();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_decode_simd: ok\n");
    return 0;
}
