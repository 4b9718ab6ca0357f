/* Unit tests for the header helpers of proxy/conn.c: hop-by-hop detection
 * (fixed list, case-insensitive, and every field named by Connection with
 * odd token lists), and case-insensitive slice comparison. */
#include <stdio.h>
#include <string.h>

#include "proxy/internal.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static struct sgw_slice S(const char *s)
{
    return sgw_slice_make(s, strlen(s));
}

static void test_fixed_list(void)
{
    static const char *const hop[] = {
        "Connection", "connection",          "Proxy-Connection", "Keep-Alive", "TE",
        "Trailer",    "Transfer-Encoding",   "UPGRADE",          "Proxy-Authorization",
        "proxy-authenticate",
    };
    static const char *const e2e[] = {"Host", "Content-Length", "Authorization", "X-Amz-Date",
                                      "Via", "Trailers", "Connections", "T"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(hop); i++)
        if (!px_hdr_is_hop(NULL, 0, S(hop[i]))) {
            fprintf(stderr, "%s should be hop-by-hop\n", hop[i]);
            failures++;
        }
    for (size_t i = 0; i < SGW_ARRAY_LEN(e2e); i++)
        if (px_hdr_is_hop(NULL, 0, S(e2e[i]))) {
            fprintf(stderr, "%s should be end-to-end\n", e2e[i]);
            failures++;
        }
}

static void test_connection_tokens(void)
{
    struct px_h1_header h[3] = {
        {S("Host"), S("example.com")},
        {S("Connection"), S(" , keep-alive ,X-Secret,\tX-Tab\t, ,")},
        {S("connection"), S("x-second")},
    };
    CHECK(px_hdr_is_hop(h, 3, S("x-secret")));
    CHECK(px_hdr_is_hop(h, 3, S("X-SECRET")));
    CHECK(px_hdr_is_hop(h, 3, S("x-tab")));
    CHECK(px_hdr_is_hop(h, 3, S("X-Second"))); /* a second Connection field counts too */
    CHECK(!px_hdr_is_hop(h, 3, S("x-secre")));  /* no prefix matches */
    CHECK(!px_hdr_is_hop(h, 3, S("x-secret2")));
    CHECK(!px_hdr_is_hop(h, 3, S("Host")));
    CHECK(!px_hdr_is_hop(h, 3, S("")));
    /* Without the Connection field the same names are end-to-end. */
    CHECK(!px_hdr_is_hop(h, 1, S("x-secret")));
}

static void test_slice_nocase(void)
{
    CHECK(px_slice_eq_slice_nocase(S("Content-Length"), S("content-length")));
    CHECK(!px_slice_eq_slice_nocase(S("Content-Length"), S("content-lengt")));
    CHECK(px_slice_eq_slice_nocase(S(""), S("")));
    CHECK(!px_slice_eq_slice_nocase(S("a"), S("b")));
}

int main(void)
{
    test_fixed_list();
    test_connection_tokens();
    test_slice_nocase();
    if (failures) {
        fprintf(stderr, "test_conn: %d failure(s)\n", failures);
        return 1;
    }
    puts("test_conn: ok");
    return 0;
}
