/* Unit tests for classifiers/fingerprint.c: the token normal form shared by
 * the scanner and `sovgw policy fingerprint`, and the keyed hash. */
#include <stdio.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "common/sgw.h"

#include "../check.h"

/* Normalises s; returns the normal form as a C string ("" when rejected). */
static const char *norm(const char *s)
{
    static char out[CLS_FP_MAX_TOKEN + 1];
    size_t n = cls_fingerprint_normalise((const uint8_t *)s, strlen(s), (uint8_t *)out, NULL);
    out[n] = '\0';
    return out;
}

static void test_normalise(void)
{
    CHECK(strcmp(norm("CUST-000123"), "cust-000123") == 0);
    CHECK(strcmp(norm("Alice@Example.COM"), "alice@example.com") == 0);
    /* edge punctuation goes, inner stays */
    CHECK(strcmp(norm("..cust-000123.-"), "cust-000123") == 0);
    CHECK(strcmp(norm("_+a1b2+_"), "a1b2") == 0);
    /* needs a digit or '@' */
    CHECK(strcmp(norm("abcdefgh"), "") == 0);
    CHECK(strcmp(norm("a@bc"), "a@bc") == 0);
    /* one token only: separators the scanner splits on are refused */
    CHECK(strcmp(norm("cust 000123"), "") == 0);
    CHECK(strcmp(norm("cust/000123"), "") == 0);
    CHECK(strcmp(norm("cust\"0001"), "") == 0);
    /* length bounds N-1, N at both ends (after edge stripping) */
    CHECK(strcmp(norm("a12"), "") == 0);
    CHECK(strcmp(norm("a123"), "a123") == 0);
    CHECK(strcmp(norm("-a12-"), "") == 0);
    char buf[80];
    memset(buf, '7', 64);
    buf[64] = '\0';
    CHECK(strlen(norm(buf)) == 64);
    buf[64] = '7';
    buf[65] = '\0';
    CHECK(strcmp(norm(buf), "") == 0);
    /* a long run of edge punctuation around a short core */
    memset(buf, '.', 70);
    memcpy(buf + 30, "ab12", 4);
    buf[70] = '\0';
    CHECK(strcmp(norm(buf), "ab12") == 0);
    CHECK(cls_fingerprint_char('@') && cls_fingerprint_char('_') && !cls_fingerprint_char(' '));
    CHECK(!cls_fingerprint_char(0x80) && !cls_fingerprint_char('/'));
}

static void test_hash(void)
{
    uint8_t key[32], mac[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    /* HMAC-SHA256(key 00..1f, "cust-000123"), computed with Python's hmac */
    static const uint8_t want[32] = {
        0x89, 0x38, 0x67, 0x82, 0x64, 0x49, 0xce, 0x5b, 0xfb, 0x21, 0xb5, 0x60, 0xf7, 0x28, 0xf1, 0x46,
        0xde, 0x06, 0xf6, 0x51, 0x32, 0x54, 0x76, 0x58, 0xfd, 0xb9, 0xa8, 0x0d, 0x46, 0x96, 0x58, 0x6a};
    uint8_t n[CLS_FP_MAX_TOKEN];
    size_t off = 99;
    size_t len = cls_fingerprint_normalise((const uint8_t *)"CUST-000123", 11, n, &off);
    CHECK(len == 11 && off == 0);
    uint8_t other[CLS_FP_MAX_TOKEN];
    CHECK(cls_fingerprint_normalise((const uint8_t *)"--x123.", 7, other, &off) == 4 && off == 2);
    CHECK(cls_fingerprint_hash(key, n, len, mac) == SGW_OK);
    CHECK(memcmp(mac, want, 32) == 0);
    key[0] ^= 1; /* another key, another hash */
    CHECK(cls_fingerprint_hash(key, n, len, mac) == SGW_OK);
    CHECK(memcmp(mac, want, 32) != 0);
}

int main(void)
{
    test_normalise();
    test_hash();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("test_fingerprint: ok");
    return 0;
}
