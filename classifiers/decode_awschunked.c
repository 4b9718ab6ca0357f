/* classifiers/decode_awschunked.c — S3 aws-chunked framing
 * (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD and the
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER variant):
 *
 *   hex-size [";chunk-signature=" 64 hex] CRLF data CRLF ... 0[;sig] CRLF
 *   *(trailer-line CRLF) CRLF
 *
 * The framing is stripped strictly (no other extensions, no LF-only lines, no
 * data after the end) and the chunk data streams into the inner decoder.
 * Signatures are not verified here: the gateway does not hold the secret. */
#include <string.h>

#include "classifiers/decode_internal.h"

#define CK_MAX_HEX 16u
#define CK_EXT_MAX 96u
#define CK_TRAILER_MAX 4096u

enum ck_state {
    CK_SIZE,
    CK_EXT,
    CK_SIZE_LF,
    CK_DATA,
    CK_DATA_CR,
    CK_DATA_LF,
    CK_TRAILER, /* at the start of a trailer line (or the final CRLF) */
    CK_TRAILER_LINE,
    CK_TRAILER_LF,
    CK_FINAL_LF,
    CK_DONE,
};

struct dec_awschunked {
    struct dec base;
    enum ck_state st;
    unsigned ndigits;
    uint64_t size; /* current chunk size, then bytes left */
    size_t ext_len;
    size_t trailer_len;
    uint8_t ext[CK_EXT_MAX];
};


static int ck_bad(struct dec *d, uint64_t at)
{
    return dec_fail(d, 0, "malformed aws-chunked framing at byte %llu", (unsigned long long)at);
}

/* The only extension S3 defines: chunk-signature=<64 lowercase hex>. */
static int ck_ext_ok(const struct dec_awschunked *k)
{
    static const char pre[] = "chunk-signature=";
    size_t pl = sizeof(pre) - 1;
    if (k->ext_len != pl + 64 || memcmp(k->ext, pre, pl) != 0)
        return 0;
    for (size_t i = pl; i < k->ext_len; i++) {
        uint8_t c = k->ext[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

static int ck_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_awschunked *k = (struct dec_awschunked *)d;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK && !d->dead) {
        uint8_t c = p[i];
        uint64_t at = d->fed + i;
        switch (k->st) {
        case CK_SIZE: {
            int v = sgw_hex_val(c);
            i++;
            if (v >= 0) {
                if (++k->ndigits > CK_MAX_HEX)
                    return ck_bad(d, at);
                k->size = (k->size << 4) | (uint64_t)v;
            } else if (k->ndigits > 0 && c == ';') {
                k->st = CK_EXT;
                k->ext_len = 0;
            } else if (k->ndigits > 0 && c == '\r') {
                k->st = CK_SIZE_LF;
            } else {
                return ck_bad(d, at);
            }
            break;
        }
        case CK_EXT:
            i++;
            if (c == '\r') {
                if (!ck_ext_ok(k))
                    return ck_bad(d, at);
                k->st = CK_SIZE_LF;
            } else if (k->ext_len == sizeof(k->ext)) {
                return ck_bad(d, at);
            } else {
                k->ext[k->ext_len++] = c;
            }
            break;
        case CK_SIZE_LF:
            i++;
            if (c != '\n')
                return ck_bad(d, at);
            k->ndigits = 0;
            k->st = k->size ? CK_DATA : CK_TRAILER;
            break;
        case CK_DATA: {
            size_t take = n - i;
            if (take > k->size)
                take = (size_t)k->size;
            rc = dec_feed(d->next, p + i, take);
            i += take;
            k->size -= take;
            if (k->size == 0)
                k->st = CK_DATA_CR;
            break;
        }
        case CK_DATA_CR:
            i++;
            if (c != '\r')
                return ck_bad(d, at);
            k->st = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            i++;
            if (c != '\n')
                return ck_bad(d, at);
            k->st = CK_SIZE;
            break;
        case CK_TRAILER:
            i++;
            if (c == '\r') {
                k->st = CK_FINAL_LF;
                break;
            }
            if (c == '\n' || c == ' ' || c == '\t' || c == ':')
                return ck_bad(d, at);
            k->st = CK_TRAILER_LINE;
            if (++k->trailer_len > CK_TRAILER_MAX)
                return dec_fail(d, 0, "aws-chunked trailers over %u bytes", CK_TRAILER_MAX);
            break;
        case CK_TRAILER_LINE:
            i++;
            if (++k->trailer_len > CK_TRAILER_MAX)
                return dec_fail(d, 0, "aws-chunked trailers over %u bytes", CK_TRAILER_MAX);
            if (c == '\r')
                k->st = CK_TRAILER_LF;
            else if (c == '\n')
                return ck_bad(d, at);
            break;
        case CK_TRAILER_LF:
            i++;
            if (c != '\n')
                return ck_bad(d, at);
            k->st = CK_TRAILER;
            break;
        case CK_FINAL_LF:
            i++;
            if (c != '\n')
                return ck_bad(d, at);
            k->st = CK_DONE;
            break;
        case CK_DONE:
            return dec_fail(d, 0, "data after the final aws-chunked chunk");
        }
    }
    return rc;
}

static int ck_finish(struct dec *d)
{
    struct dec_awschunked *k = (struct dec_awschunked *)d;
    if (k->st != CK_DONE && d->fed > 0)
        return dec_fail(d, 0, "truncated aws-chunked body");
    return dec_finish(d->next);
}

static const struct dec_ops ck_ops = {"aws-chunked", ck_feed, ck_finish, NULL};

int dec_new_awschunked(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_awschunked *k = dec_alloc(sizeof(*k), &ck_ops, env, nest);
    if (!k) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    k->base.next = inner;
    *out = &k->base;
    return SGW_OK;
}
