/* Unit tests for common/sgw.c: strict decimals, slices, the cursor. */
#include <stdio.h>
#include <stdlib.h>

#include "common/sgw.h"

static int failures;
#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static void test_parse_u64(void)
{
    uint64_t v = 0;
    CHECK(sgw_parse_u64("0", 1, UINT64_MAX, &v) == SGW_OK && v == 0);
    CHECK(sgw_parse_u64("12345", 5, UINT64_MAX, &v) == SGW_OK && v == 12345);
    CHECK(sgw_parse_u64("", 0, UINT64_MAX, &v) == SGW_EPROTO);
    CHECK(sgw_parse_u64("+1", 2, UINT64_MAX, &v) == SGW_EPROTO);
    CHECK(sgw_parse_u64(" 1", 2, UINT64_MAX, &v) == SGW_EPROTO);
    CHECK(sgw_parse_u64("1a", 2, UINT64_MAX, &v) == SGW_EPROTO);
    CHECK(sgw_parse_u64("18446744073709551615", 20, UINT64_MAX, &v) == SGW_OK &&
          v == UINT64_MAX);
    CHECK(sgw_parse_u64("18446744073709551616", 20, UINT64_MAX, &v) == SGW_ELIMIT);
    /* bound at N-1, N, N+1 */
    CHECK(sgw_parse_u64("99", 2, 100, &v) == SGW_OK && v == 99);
    CHECK(sgw_parse_u64("100", 3, 100, &v) == SGW_OK && v == 100);
    CHECK(sgw_parse_u64("101", 3, 100, &v) == SGW_ELIMIT);
}

static void test_slices(void)
{
    struct sgw_slice s = sgw_slice_make("Content-Length", 14);
    CHECK(sgw_slice_eq_nocase(s, "content-length"));
    CHECK(!sgw_slice_eq_nocase(s, "content-lengt"));
    CHECK(!sgw_slice_eq_lit(s, "content-length"));
    CHECK(sgw_slice_eq_lit(s, "Content-Length"));
}

static void test_cursor(void)
{
    /* 0x0102 big-endian, then 0x03040506, then one byte 0x07 */
    const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7};
    struct sgw_cursor c;
    sgw_cursor_init(&c, b, sizeof b);
    CHECK(sgw_cursor_be16(&c) == 0x0102);
    CHECK(sgw_cursor_be32(&c) == 0x03040506);
    CHECK(sgw_cursor_left(&c) == 1);
    CHECK(sgw_cursor_take(&c, 2) == NULL && c.err);
    CHECK(sgw_cursor_u8(&c) == 0); /* sticky error */
}

int main(void)
{
    test_parse_u64();
    test_slices();
    test_cursor();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("ok");
    return 0;
}
