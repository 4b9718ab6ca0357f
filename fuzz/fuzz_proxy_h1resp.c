/* fuzz/fuzz_proxy_h1resp.c — libFuzzer target for the HTTP/1.1 response parser
 * and the chunked decoder. The first byte picks the request method (and, with
 * its high bit, a raw chunked-decoder run); the rest is the response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                 \
    do {                                                                           \
        if (!(c))                                                                  \
            __builtin_trap();                                                      \
    } while (0)

static struct px_h1_message msg;

static void inside(struct sgw_slice s, const char *b, size_t n)
{
    if (s.len == 0)
        return;
    REQUIRE(s.ptr >= b && s.len <= n && s.ptr - b <= (ptrdiff_t)(n - s.len));
}

struct ck_out {
    int rc;
    size_t used;
    size_t body;
    uint64_t hash;
};

/* Feeds p[0..n) to a fresh decoder, cut every `step` bytes (0: at once). */
static void run_chunked(const char *p, size_t n, size_t step, struct ck_out *o)
{
    struct px_h1_chunked st;
    memset(&st, 0, sizeof st);
    memset(o, 0, sizeof *o);
    o->hash = 1469598103934665603ULL;
    size_t off = 0;
    while (off < n) {
        size_t end = step ? off + step : n;
        if (end > n)
            end = n;
        while (off < end) {
            size_t consumed = 0, dl = 0;
            const char *d = NULL, *why = NULL;
            int rc = px_h1_chunked_feed(&st, p + off, end - off, &consumed, &d, &dl, &why);
            o->rc = rc;
            if (rc < 0) {
                REQUIRE(why != NULL && (rc == SGW_EPROTO || rc == SGW_ELIMIT));
                return;
            }
            REQUIRE(rc == SGW_OK || rc == SGW_AGAIN);
            REQUIRE(consumed <= end - off);
            if (dl) {
                REQUIRE(rc == SGW_OK && d >= p + off && d + dl <= p + off + consumed);
                for (size_t i = 0; i < dl; i++)
                    o->hash = (o->hash ^ (uint8_t)d[i]) * 1099511628211ULL;
                o->body += dl;
            }
            off += consumed;
            if (st.done) {
                o->used = off;
                o->rc = SGW_OK;
                return;
            }
            if (rc == SGW_AGAIN) {
                REQUIRE(off == end);
                break;
            }
            REQUIRE(dl > 0);
        }
    }
    o->rc = SGW_AGAIN;
}

static void compare_splits(const char *p, size_t n, size_t step)
{
    struct ck_out a, b, c;
    run_chunked(p, n, 0, &a);
    run_chunked(p, n, step, &b);
    run_chunked(p, n, 1, &c);
    REQUIRE(a.rc == b.rc && a.used == b.used && a.body == b.body && a.hash == b.hash);
    REQUIRE(a.rc == c.rc && a.used == c.used && a.body == c.body && a.hash == c.hash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "CONNECT", "POST"};
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] & 0x80) {
        compare_splits(buf, n, 1 + (data[0] & 0x0f));
        return 0;
    }
    const char *m = methods[data[0] & 3];
    struct px_h1_limits lim;
    px_h1_limits_default(&lim);
    if (data[0] & 0x40) {
        lim.max_request_line = 32;
        lim.max_head = 128;
        lim.max_headers = 3;
    }
    size_t hl = 0;
    const char *why = NULL;
    int rc = px_h1_parse_response(buf, n, &lim, sgw_slice_make(m, strlen(m)), &msg, &hl, &why);
    if (rc == SGW_EPROTO || rc == SGW_ELIMIT) {
        REQUIRE(why != NULL && why[0] != '\0');
        return 0;
    }
    if (rc == SGW_AGAIN) {
        REQUIRE(n < lim.max_head);
        return 0;
    }
    REQUIRE(rc == SGW_OK);
    REQUIRE(hl >= 4 && hl <= n && hl <= lim.max_head);
    REQUIRE(msg.status >= 100 && msg.status <= 999);
    REQUIRE(msg.n_headers <= lim.max_headers);
    REQUIRE(msg.body < PX_H1_BODY__COUNT);
    if (msg.body == PX_H1_BODY_EOF)
        REQUIRE(msg.keep_alive == 0);
    if (msg.status < 200 || msg.status == 204 || msg.status == 304 || data[0] % 4 == 1)
        REQUIRE(msg.body == PX_H1_BODY_NONE);
    inside(msg.reason, buf, hl);
    for (size_t i = 0; i < msg.n_headers; i++) {
        inside(msg.headers[i].name, buf, hl);
        inside(msg.headers[i].value, buf, hl);
    }
    size_t hl2 = 0;
    REQUIRE(px_h1_parse_response(buf, hl - 1, &lim, sgw_slice_make(m, strlen(m)), &msg, &hl2,
                                 &why) == SGW_AGAIN);
    REQUIRE(px_h1_parse_response(buf, n, &lim, sgw_slice_make(m, strlen(m)), &msg, &hl2, &why) ==
                SGW_OK &&
            hl2 == hl);
    if (msg.body == PX_H1_BODY_CHUNKED)
        compare_splits(buf + hl, n - hl, 1 + (data[0] & 0x0f));
    return 0;
}
