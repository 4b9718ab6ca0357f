/* fuzz/fuzz_proxy_h1resp.c — libFuzzer target for the HTTP/1.1 response parser
 * and the chunked decoder. The first byte picks the request method (and, with
 * its high bit, a raw chunked-decoder run); the rest is the response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_proxy_h1_common.h"
#include "proxy/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct px_h1_message msg;

static void compare_splits(const char *p, size_t n, size_t step)
{
    struct ck_out a, b, c;
    run_chunked(p, n, 0, 0, &a);
    run_chunked(p, n, 0, step, &b);
    run_chunked(p, n, 0, 1, &c);
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
