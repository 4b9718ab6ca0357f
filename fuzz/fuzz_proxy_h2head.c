/* fuzz/fuzz_proxy_h2head.c — libFuzzer target for the HTTP/2 request head
 * builder (proxy/h2down.c, px_h2d_build_request): the decoded header fields of
 * a stream, as nghttp2 hands them over, become the request the proxy decides
 * on and forwards. First byte: bit 0 = END_STREAM on HEADERS. Then records
 * <u8 name len><u8 value len><name><value> (a truncated last record is cut).
 * Checks: a request the builder accepts has a lowercase host, a port, an
 * origin-form path, exactly one host field, at most one cookie field, and
 * every forwarded field lies inside the request's own copy of the head. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "REQUIRE failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int inside(const struct px_req *r, struct sgw_slice s)
{
    return s.ptr >= r->head && s.len <= r->head_len && s.ptr + s.len <= r->head + r->head_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int end = data[0] & 1;
    struct px_req *r = calloc(1, sizeof(*r));
    if (!r)
        return 0;
    r->d_in = evbuffer_new();
    if (!r->d_in) {
        free(r);
        return 0;
    }
    size_t off = 1;
    while (off + 2 <= size) {
        size_t nl = data[off], vl = data[off + 1];
        if (nl + vl > size - off - 2)
            break;
        uint32_t lens[2] = {(uint32_t)nl, (uint32_t)vl};
        evbuffer_add(r->d_in, lens, sizeof(lens));
        evbuffer_add(r->d_in, data + off + 2, nl + vl);
        off += 2 + nl + vl;
    }
    const char *why = px_h2d_build_request(r, end);
    if (why) {
        REQUIRE(why[0] != '\0');
    } else if (!r->is_connect) {
        size_t hl = strnlen(r->host, sizeof(r->host));
        REQUIRE(hl > 0 && hl < sizeof(r->host));
        for (size_t i = 0; i < hl; i++)
            REQUIRE(!(r->host[i] >= 'A' && r->host[i] <= 'Z'));
        REQUIRE(r->port > 0);
        REQUIRE(r->msg.path.len >= 1 && r->msg.path.ptr[0] == '/');
        REQUIRE(inside(r, r->msg.path));
        REQUIRE(r->msg.method.len == strlen(r->method));
        REQUIRE(memcmp(r->msg.method.ptr, r->method, r->msg.method.len) == 0);
        size_t hosts = 0, cookies = 0;
        for (size_t i = 0; i < r->msg.n_headers; i++) {
            const struct px_h1_header *h = &r->msg.headers[i];
            REQUIRE(inside(r, h->name) || sgw_slice_eq_lit(h->name, "host"));
            REQUIRE(inside(r, h->value));
            REQUIRE(h->name.len > 0 && h->name.ptr[0] != ':');
            hosts += sgw_slice_eq_lit(h->name, "host");
            cookies += sgw_slice_eq_lit(h->name, "cookie");
        }
        REQUIRE(hosts == 1 && cookies <= 1);
        if (end)
            REQUIRE(r->msg.body == PX_H1_BODY_NONE);
        else
            REQUIRE(r->msg.body == PX_H1_BODY_NONE || r->msg.body == PX_H1_BODY_LENGTH ||
                    r->msg.body == PX_H1_BODY_CHUNKED);
    }
    free(r->head);
    evbuffer_free(r->d_in);
    free(r);
    return 0;
}
