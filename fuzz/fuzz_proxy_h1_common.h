/* fuzz/fuzz_proxy_h1_common.h — what the two HTTP/1.1 fuzz targets share:
 * the trap-on-failure check, the "slice lies inside the input" contract and a
 * chunked-decoder driver that feeds a body in chosen pieces and summarises
 * the result, so two different splits can be compared. */
#ifndef SGW_FUZZ_PROXY_H1_COMMON_H
#define SGW_FUZZ_PROXY_H1_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proxy/h1.h"

#define REQUIRE(c)                                                                 \
    do {                                                                           \
        if (!(c))                                                                  \
            __builtin_trap();                                                      \
    } while (0)

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

/* Feeds p[0..n) to a fresh decoder: the first piece ends at `first` (0: no
 * special first piece), then pieces of `step` bytes (0: all the rest). */
static void run_chunked(const char *p, size_t n, size_t first, size_t step, struct ck_out *o)
{
    struct px_h1_chunked st;
    memset(&st, 0, sizeof st);
    memset(o, 0, sizeof *o);
    o->hash = 1469598103934665603ULL;
    size_t off = 0;
    while (off < n) {
        size_t end = off == 0 && first ? first : step ? off + step : n;
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

#endif
