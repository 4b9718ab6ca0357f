/* classifiers/decode_eventstream.c — AWS event-stream framing
 * (application/vnd.amazon.eventstream), as used by Bedrock/Transcribe/
 * Lex streaming APIs:
 *
 *   total_len:u32 headers_len:u32 prelude_crc:u32 headers payload message_crc:u32
 *
 * Both CRC32s are verified (a mismatch is uninspectable: the peer would
 * reject it, and the bytes may not be what they seem). A message is at most
 * ES_MAX_MESSAGE bytes, its headers at most ES_MAX_HEADERS. Every header
 * name and string/bytes value is scanned as data; the values of
 * ':'-prefixed (protocol) headers and the names of the others also go out
 * as context. The payload streams
 * into a nested decoder chosen by ':content-type' (JSON when absent). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "classifiers/decode_internal.h"

#define ES_MAX_MESSAGE (16u * 1024u * 1024u)
#define ES_MAX_HEADERS (64u * 1024u)

enum es_state {
    ES_PRELUDE,
    ES_HEADERS,
    ES_PAYLOAD,
    ES_CRC,
};

struct dec_eventstream {
    struct dec base;
    enum es_state st;
    size_t have; /* bytes collected of the current fixed part */
    uint32_t total, hlen;
    uint64_t left;       /* payload bytes left */
    uint32_t crc;        /* running CRC32 of the message */
    struct dec *payload; /* owned */
    uint8_t pre[12];
    uint8_t tail[4];
    uint8_t hdr[ES_MAX_HEADERS];
};

static uint32_t es_crc(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n > 0) {
        uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, take);
        p += take;
        n -= take;
    }
    return crc;
}

/* Parses the headers; emits context/data; builds the payload decoder. */
static int es_headers(struct dec_eventstream *e)
{
    struct dec *d = &e->base;
    struct sgw_cursor c;
    const uint8_t *ct = NULL;
    size_t ctlen = 0;
    int rc = SGW_OK;
    sgw_cursor_init(&c, e->hdr, e->hlen);
    while (sgw_cursor_left(&c) > 0 && rc == SGW_OK) {
        uint8_t nl = sgw_cursor_u8(&c);
        const uint8_t *name = sgw_cursor_take(&c, nl);
        uint8_t type = sgw_cursor_u8(&c);
        const uint8_t *val = NULL;
        size_t vl = 0;
        switch (type) {
        case 0:
        case 1:
            break;
        case 2:
            sgw_cursor_take(&c, 1);
            break;
        case 3:
            sgw_cursor_take(&c, 2);
            break;
        case 4:
            sgw_cursor_take(&c, 4);
            break;
        case 5:
        case 8:
            sgw_cursor_take(&c, 8);
            break;
        case 9:
            sgw_cursor_take(&c, 16);
            break;
        case 6:
        case 7:
            vl = sgw_cursor_be16(&c);
            val = sgw_cursor_take(&c, vl);
            break;
        default:
            return dec_fail(d, 0, "malformed event-stream headers");
        }
        if (c.err || nl == 0)
            return dec_fail(d, 0, "malformed event-stream headers");
        if (!val)
            continue;
        /* every name and value is data (a value can hide in either); a
           pseudo-header's value (":event-type") is also the context of what
           follows, a custom header's name the context of its value */
        if (name[0] == ':') {
            if (nl == 13 && memcmp(name, ":content-type", 13) == 0) {
                ct = val;
                ctlen = vl;
            }
            if (vl > 0)
                rc = dec_text_data(d->env, val, vl);
            if (rc == SGW_OK && vl > 0)
                rc = dec_text_boundary(d->env);
            if (rc == SGW_OK)
                rc = dec_text_context(d->env, val, vl < DEC_CONTEXT_MAX ? vl : DEC_CONTEXT_MAX);
        } else {
            rc = dec_text_data(d->env, name, nl);
            if (rc == SGW_OK)
                rc = dec_text_boundary(d->env);
            if (rc == SGW_OK)
                rc = dec_text_context(d->env, name, nl);
            if (rc == SGW_OK && vl > 0)
                rc = dec_text_data(d->env, val, vl);
            if (rc == SGW_OK)
                rc = dec_text_boundary(d->env);
        }
    }
    if (rc != SGW_OK)
        return rc;
    if (ct)
        return dec_build_nested(d->env, (const char *)ct, ctlen, d->nest + 1, "event payload",
                                &e->payload);
    return dec_new_json(d->env, d->nest + 1, 0, &e->payload);
}

static int es_payload_end(struct dec_eventstream *e)
{
    int rc = dec_close(&e->payload);
    if (rc != SGW_OK)
        return rc;
    e->st = ES_CRC;
    e->have = 0;
    return dec_text_boundary(e->base.env);
}

static int es_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_eventstream *e = (struct dec_eventstream *)d;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK && !d->dead) {
        size_t take;
        switch (e->st) {
        case ES_PRELUDE: {
            take = sizeof(e->pre) - e->have;
            if (take > n - i)
                take = n - i;
            memcpy(e->pre + e->have, p + i, take);
            e->have += take;
            i += take;
            if (e->have < sizeof(e->pre))
                break;
            struct sgw_cursor c;
            sgw_cursor_init(&c, e->pre, sizeof(e->pre));
            e->total = sgw_cursor_be32(&c);
            e->hlen = sgw_cursor_be32(&c);
            uint32_t pcrc = sgw_cursor_be32(&c);
            if (es_crc(0, e->pre, 8) != pcrc)
                return dec_fail(d, 0, "event-stream prelude CRC mismatch");
            if (e->total > ES_MAX_MESSAGE)
                return dec_fail(d, 0, "event-stream message over %u bytes", ES_MAX_MESSAGE);
            if (e->total < 16 || e->hlen > e->total - 16)
                return dec_fail(d, 0, "malformed event-stream prelude");
            if (e->hlen > ES_MAX_HEADERS)
                return dec_fail(d, 0, "event-stream headers over %u bytes", ES_MAX_HEADERS);
            e->crc = es_crc(0, e->pre, sizeof(e->pre));
            e->left = e->total - e->hlen - 16u;
            e->have = 0;
            e->st = ES_HEADERS;
            if (e->hlen == 0) {
                rc = es_headers(e);
                e->st = ES_PAYLOAD;
                if (rc == SGW_OK && !d->dead && e->left == 0)
                    rc = es_payload_end(e);
            }
            break;
        }
        case ES_HEADERS:
            take = e->hlen - e->have;
            if (take > n - i)
                take = n - i;
            memcpy(e->hdr + e->have, p + i, take);
            e->crc = es_crc(e->crc, p + i, take);
            e->have += take;
            i += take;
            if (e->have < e->hlen)
                break;
            rc = es_headers(e);
            e->st = ES_PAYLOAD;
            if (rc == SGW_OK && !d->dead && e->left == 0)
                rc = es_payload_end(e);
            break;
        case ES_PAYLOAD:
            take = n - i;
            if (take > e->left)
                take = (size_t)e->left;
            e->crc = es_crc(e->crc, p + i, take);
            rc = dec_feed(e->payload, p + i, take);
            i += take;
            e->left -= take;
            if (rc == SGW_OK && e->left == 0)
                rc = es_payload_end(e);
            break;
        case ES_CRC:
            take = sizeof(e->tail) - e->have;
            if (take > n - i)
                take = n - i;
            memcpy(e->tail + e->have, p + i, take);
            e->have += take;
            i += take;
            if (e->have < sizeof(e->tail))
                break;
            {
                struct sgw_cursor c;
                sgw_cursor_init(&c, e->tail, sizeof(e->tail));
                if (sgw_cursor_be32(&c) != e->crc)
                    return dec_fail(d, 0, "event-stream message CRC mismatch");
            }
            e->have = 0;
            e->st = ES_PRELUDE;
            break;
        }
    }
    return rc;
}

static int es_finish(struct dec *d)
{
    struct dec_eventstream *e = (struct dec_eventstream *)d;
    if (e->st != ES_PRELUDE || e->have != 0) {
        /* what came of a cut payload goes through its decoder's end first
           (its own report included), whatever the split: before, a
           payload decoder still waiting for bytes said nothing */
        int rc = e->st == ES_PAYLOAD && e->payload ? dec_finish(e->payload) : SGW_OK;
        return rc == SGW_OK ? dec_fail(d, 0, "truncated event-stream message") : rc;
    }
    return SGW_OK;
}

static void es_destroy(struct dec *d)
{
    struct dec_eventstream *e = (struct dec_eventstream *)d;
    dec_free(e->payload);
}

static const struct dec_ops es_ops = {"eventstream", es_feed, es_finish, es_destroy};

int dec_new_eventstream(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_eventstream *e = dec_alloc(sizeof(*e), &es_ops, env, nest);
    if (!e)
        return SGW_ENOMEM;
    *out = &e->base;
    return SGW_OK;
}
