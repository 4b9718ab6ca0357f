/* Unit tests for the header helpers of proxy/conn.c: hop-by-hop detection
 * (fixed list, case-insensitive, and every field named by Connection with
 * odd token lists), case-insensitive slice comparison, the bounded head
 * writer (px_wbuf) and the direct write of a bare bufferevent (px_tx_write
 * without a px_tx). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/internal.h"

#include "../check.h"

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

static void test_same_length_names(void)
{
    /* The fixed list is dispatched on the length: same-length names that
     * differ anywhere are not hop-by-hop. */
    static const char *const e2e[] = {"tf", "ue", "Upgradx", "trailes", "connectiom",
                                      "keep-alivf", "proxy-connectioN2", "transfer-encodinh",
                                      "proxy-authenticatf", "proxy-authorizatioo"};
    for (size_t i = 0; i < sizeof(e2e) / sizeof(e2e[0]); i++)
        CHECK(!px_hdr_is_hop(NULL, 0, S(e2e[i])));
}

static void test_wbuf(void)
{
    char mem[32];
    memset(mem, 'Z', sizeof(mem));
    struct px_wbuf b = {mem, 0, 16, 0};
    PX_WB_LIT(&b, "HTTP/1.1 ");
    px_wb_dec(&b, 200);
    CHECK(!b.bad && b.n == 12 && memcmp(mem, "HTTP/1.1 200", 12) == 0);
    px_wb_hex(&b, 0xabc);
    CHECK(!b.bad && b.n == 15 && memcmp(mem + 12, "abc", 3) == 0);
    px_wb_put(&b, "xy", 2); /* one byte over the capacity: nothing written */
    CHECK(b.bad && b.n == 15 && mem[15] == 'Z' && mem[16] == 'Z');
    px_wb_put(&b, "x", 1); /* stays bad even though it would fit */
    CHECK(b.bad && b.n == 15 && mem[15] == 'Z');

    struct px_wbuf d = {mem, 0, sizeof(mem), 0};
    px_wb_dec(&d, 0);
    px_wb_dec(&d, UINT64_MAX);
    CHECK(!d.bad && d.n == 21 && memcmp(mem, "018446744073709551615", 21) == 0);
    struct px_wbuf h = {mem, 0, sizeof(mem), 0};
    px_wb_hex(&h, 0);
    px_wb_hex(&h, UINT64_MAX);
    CHECK(!h.bad && h.n == 17 && memcmp(mem, "0ffffffffffffffff", 17) == 0);
}

static void test_bare_write(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    struct event_base *base = event_base_new();
    struct bufferevent *bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    CHECK(base && bev);
    if (!base || !bev)
        return;
    struct evbuffer *out = bufferevent_get_output(bev);
    /* Write disabled: the flush leaves everything to libevent. */
    bufferevent_disable(bev, EV_WRITE);
    evbuffer_add(out, "hello", 5);
    CHECK(px_tx_write(NULL, bev) == 0 && evbuffer_get_length(out) == 5);
    /* Enabled: written at once, reported as drained to the low watermark. */
    bufferevent_enable(bev, EV_WRITE);
    CHECK(px_tx_write(NULL, bev) == 1 && evbuffer_get_length(out) == 0);
    char got[16];
    CHECK(read(sv[1], got, sizeof(got)) == 5 && memcmp(got, "hello", 5) == 0);
    CHECK(px_tx_write(NULL, bev) == 0); /* nothing queued */
    /* More than the socket takes: the rest stays queued for the write event. */
    static char big[4 << 20];
    memset(big, 'b', sizeof(big));
    evbuffer_add(out, big, sizeof(big));
    CHECK(px_tx_write(NULL, bev) == 0);
    size_t left = evbuffer_get_length(out);
    CHECK(left > 0 && left < sizeof(big));
    size_t total = 0;
    for (;;) {
        ssize_t n = read(sv[1], big, sizeof(big));
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    CHECK(total == sizeof(big) - left);
    bufferevent_free(bev);
    close(sv[1]);
    event_base_free(base);
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
    test_same_length_names();
    test_wbuf();
    test_bare_write();
    if (failures) {
        fprintf(stderr, "test_conn: %d failure(s)\n", failures);
        return 1;
    }
    puts("test_conn: ok");
    return 0;
}
