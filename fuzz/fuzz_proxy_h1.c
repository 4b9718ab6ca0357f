/* fuzz/fuzz_proxy_h1.c — libFuzzer target for the HTTP/1.1 request parser and
 * the chunked decoder behind it. Beyond "no crash", it checks the contract:
 * return codes, slices borrowed from the input, the limits, that every strict
 * prefix of an accepted head is SGW_AGAIN, and that the chunked decoder gives
 * the same result whether the body arrives at once or split in two. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_proxy_h1_common.h"
#include "proxy/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct px_h1_message msg;

static void check_request(const char *buf, size_t size, const struct px_h1_limits *lim)
{
    size_t hl = 0;
    const char *why = NULL;
    int rc = px_h1_parse_request(buf, size, lim, &msg, &hl, &why);
    if (rc == SGW_EPROTO || rc == SGW_ELIMIT) {
        REQUIRE(why != NULL && why[0] != '\0');
        return;
    }
    if (rc == SGW_AGAIN) {
        /* never AGAIN with more bytes than the head may have */
        REQUIRE(size < lim->max_head);
        return;
    }
    REQUIRE(rc == SGW_OK);
    REQUIRE(hl >= 4 && hl <= size && hl <= lim->max_head);
    REQUIRE(buf[hl - 1] == '\n' && buf[hl - 2] == '\r');
    REQUIRE(msg.n_headers <= lim->max_headers && msg.n_headers <= PX_H1_MAX_HEADERS);
    REQUIRE(msg.version_minor == 0 || msg.version_minor == 1);
    REQUIRE(msg.form < PX_H1_TARGET__COUNT && msg.body < PX_H1_BODY__COUNT);
    REQUIRE(msg.body != PX_H1_BODY_EOF);
    REQUIRE(msg.method.len > 0 && msg.target.len > 0);
    inside(msg.method, buf, hl);
    inside(msg.target, buf, hl);
    inside(msg.scheme, buf, hl);
    inside(msg.host, buf, hl);
    if (!(msg.form == PX_H1_TARGET_ABSOLUTE && msg.path.len == 1 &&
          (msg.path.ptr[0] == '/' || msg.path.ptr[0] == '*')))
        inside(msg.path, buf, hl);
    for (size_t i = 0; i < msg.n_headers; i++) {
        REQUIRE(msg.headers[i].name.len > 0);
        inside(msg.headers[i].name, buf, hl);
        inside(msg.headers[i].value, buf, hl);
        for (size_t k = 0; k < msg.headers[i].value.len; k++) {
            unsigned char c = (unsigned char)msg.headers[i].value.ptr[k];
            REQUIRE(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
    }
    if (msg.form == PX_H1_TARGET_AUTHORITY)
        REQUIRE(msg.port != 0 && msg.host.len > 0);
    if (msg.version_minor == 1)
        REQUIRE(msg.host.len > 0);
    int body = msg.body;
    uint64_t cl = msg.content_length;

    /* the strict prefix is incomplete, and parsing is deterministic */
    size_t hl2 = 0;
    REQUIRE(px_h1_parse_request(buf, hl - 1, lim, &msg, &hl2, &why) == SGW_AGAIN);
    REQUIRE(px_h1_parse_request(buf, hl, lim, &msg, &hl2, &why) == SGW_OK && hl2 == hl);
    REQUIRE((int)msg.body == body && msg.content_length == cl);

    if (body == PX_H1_BODY_CHUNKED) {
        size_t rem = size - hl;
        size_t split = rem ? (size_t)(uint8_t)buf[size - 1] % (rem + 1) : 0;
        struct ck_out a, b;
        run_chunked(buf + hl, rem, 0, 0, &a);
        run_chunked(buf + hl, rem, split, 0, &b);
        REQUIRE(a.rc == b.rc && a.used == b.used && a.body == b.body && a.hash == b.hash);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct px_h1_limits lim;
    px_h1_limits_default(&lim);
    check_request(buf, size, &lim);
    /* small limits put the bounds within the fuzzer's reach */
    lim.max_request_line = 48;
    lim.max_head = 160;
    lim.max_headers = 4;
    check_request(buf, size, &lim);
    return 0;
}
