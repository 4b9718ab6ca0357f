/* Unit tests for common/sgw.c: strict decimals, slices, the cursor. */
#include <stdio.h>
#include <stdlib.h>

#include "common/sgw.h"

#include "../check.h"

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

static void test_hex(void)
{
    uint8_t b[2];
    CHECK(sgw_hex_val('0') == 0 && sgw_hex_val('f') == 15 && sgw_hex_val('F') == 15);
    CHECK(sgw_hex_val('g') == -1 && sgw_hex_val(' ') == -1 && sgw_hex_val(0) == -1);
    CHECK(sgw_hex_decode("00fF", 4, b, 2) == 0 && b[0] == 0 && b[1] == 0xff);
    CHECK(sgw_hex_decode("00f", 3, b, 2) == -1);   /* N-1 digits */
    CHECK(sgw_hex_decode("00ff0", 5, b, 2) == -1); /* N+1 digits */
    CHECK(sgw_hex_decode("0x0f", 4, b, 2) == -1);
}

static void test_utf8(void)
{
    /* valid: ASCII, 2-, 3-, 4-byte forms at their bounds */
    CHECK(sgw_utf8_valid_len((const uint8_t *)"A", 1) == 1);
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xc2\x80", 2) == 2);         /* U+0080 */
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xe0\xa0\x80", 3) == 3);     /* U+0800 */
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xf4\x8f\xbf\xbf", 4) == 4); /* U+10FFFF */
    /* invalid: overlong, surrogate, above U+10FFFF, truncated, stray continuation */
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xc0\xae", 2) == 0);
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xe0\x80\xaf", 3) == 0);
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xed\xa0\x80", 3) == 0);
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xf4\x90\x80\x80", 4) == 0);
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\xe2\x82", 2) == 0);
    CHECK(sgw_utf8_valid_len((const uint8_t *)"\x80", 1) == 0);
    /* encode round-trips through the validator */
    static const uint32_t cps[] = {0, 0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff};
    for (size_t i = 0; i < SGW_ARRAY_LEN(cps); i++) {
        uint8_t o[4];
        size_t n = sgw_utf8_encode(o, cps[i]);
        CHECK(n == (cps[i] < 0x80 ? 1u : cps[i] < 0x800 ? 2u : cps[i] < 0x10000 ? 3u : 4u));
        CHECK(sgw_utf8_valid_len(o, n) == n);
    }
}

int main(void)
{
    test_hex();
    test_utf8();
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
