/* classifiers/decode_protobuf.c — Protocol Buffers without a schema
 * (application/x-protobuf: OpenTelemetry's OTLP/HTTP, which CloudWatch
 * Logs and X-Ray take at their OTLP endpoints; Prometheus remote write)
 * and gRPC's framing around it (application/grpc, grpc-web).
 *
 * The wire format says where each field ends but not what a
 * length-delimited field holds: a string, bytes or a message. Each one is
 * judged by its bytes, as `protoc --decode_raw` does:
 *  - valid UTF-8 without control characters (but tab and line ends) is a
 *    string, a text unit, unless it is nothing but length-delimited fields
 *    (pb_message: a message of one string of 32 to 126 bytes is printable);
 *    strings under 6 bytes are not passed on (no finding is that short but
 *    loopback's "::1", which random ids read as messages hold);
 *  - else bytes of 24 or more with a known binary signature go to the
 *    sniffer (gzip in a bytes field is decompressed, an image is
 *    uninspectable; pb_magic);
 *  - else, when its bytes parse as fields to its end, a message: its fields
 *    are read the same way, up to PB_MAX_DEPTH;
 *  - else other bytes (trace and span ids, hashes) are raw: their runs of 10
 *    printable characters or more go on (pb_strings).
 * Numbers are not scanned: random ids read as messages (which some are)
 * hold varints of 16 to 19 digits, one in ten of which passes Luhn, and a
 * card or an SSN is a string in the schemas that carry them.
 *
 * Streaming: a length-delimited field is held whole up to PB_HOLD and
 * judged whole; a longer one is judged by its first PB_HOLD bytes (text;
 * a binary signature; fields up to the hold's end: a message, read on as a
 * stream of its own fields; else bytes). Memory: the hold and a copy of
 * its tail.
 *
 * Refused (uninspectable, the rest with it): a tag or length that is not
 * protobuf (wire types 3, 4, 6, 7, field 0, a field that runs past the
 * message around it) at the top, messages nested deeper than PB_MAX_DEPTH
 * that are read as a stream, a cut body; in gRPC, a frame flag other than
 * 0, 1 (compressed as grpc-encoding says, which the body does not carry:
 * gzip or zstd by their magic, else deflate) and 0x80 (grpc-web's
 * trailers, scanned as text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define PB_HOLD 65536u
#define PB_MAX_DEPTH 32u
#define PB_NO_END UINT64_MAX
#define PB_RUN_MIN 10u /* printable bytes in a row that raw bytes pass on */
#define PB_TEXT_MIN 6u /* bytes a string needs to be passed on */

enum pb_state {
    PB_TAG,    /* a field's tag (varint) */
    PB_VARINT, /* a varint value */
    PB_SKIP,   /* a fixed-size value: `left` bytes */
    PB_LEN,    /* a length-delimited field's length (varint) */
    PB_HOLD_ST, /* its content, held to be judged */
    PB_TEXT,   /* a long string's rest: `left` bytes of text */
    PB_RAW,    /* a long bytes field's rest: raw data */
    PB_SNIFF,  /* a long bytes field with a binary signature: to `sub` */
};

enum grpc_state {
    G_NONE, /* plain protobuf */
    G_HEAD, /* a frame's 5-byte head */
    G_MSG,  /* a frame's message: `g_left` bytes */
};

struct dec_pb {
    struct dec base;
    enum pb_state st;
    enum grpc_state g;
    int grpc;          /* 0 plain, 1 gRPC, 2 gRPC-web */
    unsigned depth;    /* messages open above the current field */
    unsigned vshift;   /* bits of the varint read so far */
    uint64_t v;        /* the varint being read */
    uint64_t pos;      /* bytes of protobuf consumed */
    uint64_t left;     /* PB_SKIP, PB_TEXT, PB_RAW, PB_SNIFF: bytes to go */
    uint64_t want;     /* PB_HOLD_ST: the field's length */
    uint64_t field_at; /* where the held field's content began */
    size_t hold_len;
    uint64_t g_left;   /* bytes of the gRPC frame to go */
    size_t g_len;      /* bytes of its head read */
    uint8_t g_flag;
    uint8_t g_head[5];
    uint8_t g_pick[4]; /* a compressed frame's first bytes, to tell its compression */
    size_t g_pick_len;
    struct dec *sub;   /* owned: a compressed gRPC frame's or a bytes field's decoder */
    size_t run;        /* raw bytes: printable ones in a row so far */
    uint8_t run_buf[PB_RUN_MIN]; /* ... held while fewer than PB_RUN_MIN */
    uint64_t end[PB_MAX_DEPTH + 1]; /* where each open message ends (end[0]: the body's or frame's) */
    uint8_t hold[PB_HOLD];
    uint8_t tail[PB_HOLD];
};

static int pb_malformed(struct dec_pb *b, uint64_t at)
{
    return dec_fail(&b->base, 0, "malformed protobuf at byte %llu", (unsigned long long)at);
}

/* Valid UTF-8 without control characters but tab, LF, CR. cut: the last
 * character may be cut by n. */
static int pb_is_text(const uint8_t *p, size_t n, int cut)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c < 0xc2 || c > 0xf4)
            return 0;
        for (size_t j = 1; j < k; j++) {
            if (i + j >= n)
                return cut;
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
        }
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0) ||
            (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90))
            return 0; /* overlong, surrogate, past U+10FFFF */
        i += k;
    }
    return 1;
}

/* A known binary signature at the start of a bytes field that is no id:
 * OTLP's trace and span ids are 16 and 8 random bytes, and one in 65,536
 * begins with gzip's two magic bytes (a request of 1,000 spans would be
 * uninspectable one time in 30). So only from 24 bytes on, and gzip with
 * its method (8) and no reserved flag too. */
static int pb_magic(const uint8_t *p, size_t n)
{
    if (n < 24 || !dec_binary_magic(p, n))
        return 0;
    return p[0] != 0x1f || (p[2] == 8 && !(p[3] & 0xe0));
}

static int pb_printable(uint8_t c)
{
    return (c >= 0x20 && c < 0x7f) || c == '\t';
}

/* Raw bytes (neither text nor a message: ids, hashes, signatures): their
 * runs of PB_RUN_MIN printable characters or more, each a unit, as
 * `strings` finds them. Scanned whole, random bytes match short patterns
 * by chance: a trace id held "#::1", loopback's address, once in about
 * 100,000 spans. Runs of 6 still did, once in about 25 MB of random ids
 * ("P@x.vi", "7::e4": one OTLP request of 5,000 spans in 70); runs of 10
 * once in 1 GB ("H>P@r.fE|SR", which the e-mail's TLD rules now refuse).
 * A value hidden between raw bytes is longer. */
static int pb_strings(struct dec_pb *b, const uint8_t *p, size_t n)
{
    struct dec_env *env = b->base.env;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK) {
        if (!pb_printable(p[i])) {
            if (b->run >= PB_RUN_MIN)
                rc = dec_text_boundary(env);
            b->run = 0;
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && pb_printable(p[i]))
            i++;
        size_t k = i - s;
        if (b->run >= PB_RUN_MIN) {
            rc = dec_text_data(env, p + s, k);
        } else if (b->run + k >= PB_RUN_MIN) {
            rc = dec_text_data(env, b->run_buf, b->run);
            if (rc == SGW_OK)
                rc = dec_text_data(env, p + s, k);
        } else {
            memcpy(b->run_buf + b->run, p + s, k);
        }
        b->run += k;
    }
    return rc;
}

/* The raw bytes of a field end. */
static int pb_strings_end(struct dec_pb *b)
{
    int passed = b->run >= PB_RUN_MIN;
    b->run = 0;
    return passed ? dec_text_boundary(b->base.env) : SGW_OK;
}

/* Reads a varint at p[*at..n); 1 done, 0 cut by n, -1 not a varint. */
static int pb_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned s = 0; s < 70; s += 7) {
        if (*at >= n)
            return 0;
        uint8_t c = p[(*at)++];
        if (s == 63 && c > 1)
            return -1;
        x |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return -1;
}

/* Checks a tag: field number >= 1 and a wire type of proto3. */
static int pb_tag_ok(uint64_t tag)
{
    unsigned wt = (unsigned)(tag & 7);
    return (tag >> 3) >= 1 && (tag >> 3) <= 0x1fffffff && (wt == 0 || wt == 1 || wt == 2 || wt == 5);
}

/* How pb_fields walks: checking only (any fields, or length-delimited
 * ones only), or passing each field's content on. */
enum pb_walk { PW_CHECK, PW_CHECK_LEN, PW_EMIT };

/* Walks the fields of p[0..n), a message's bytes whose fields may go on
 * to `limit` (n when p holds all of it). Returns the offset of the first
 * field not whole in p (n when all are), or -1 when the bytes are not
 * fields (or, with PW_CHECK_LEN, a field is not length-delimited). */
static long pb_fields(struct dec_pb *b, const uint8_t *p, size_t n, uint64_t limit, unsigned depth,
                      enum pb_walk w, int *rc);

/* Is p[0..n) (with its fields going on to `limit`) a message rather than
 * a string or bytes? Text is a message only when it is nothing but
 * length-delimited fields: a message of one string of 32 to 126 bytes
 * (OTLP's AnyValue, any wrapper) is printable (its tag a line feed, its
 * length a character), and read as text its tag and length would glue to
 * the string's first word; a string that parses with numbers in it (a
 * 9-digit SSN does: '0' is a varint's tag, '5' a fixed32's) stays one. */
static long pb_message(struct dec_pb *b, const uint8_t *p, size_t n, uint64_t limit, unsigned depth,
                       int text)
{
    int rc;
    if (depth >= PB_MAX_DEPTH)
        return -1;
    return pb_fields(b, p, n, limit, depth + 1, text ? PW_CHECK_LEN : PW_CHECK, &rc);
}

/* Judges a whole length-delimited field and passes it on. */
static int pb_value(struct dec_pb *b, const uint8_t *p, size_t n, unsigned depth)
{
    struct dec_env *env = b->base.env;
    int rc = SGW_OK;
    if (n == 0)
        return SGW_OK;
    int text = pb_is_text(p, n, 0);
    if (!text && pb_magic(p, n)) {
        struct dec *s = NULL;
        rc = dec_build_nested(env, NULL, 0, b->base.nest + 1, "protobuf bytes", &s);
        if (rc == SGW_OK)
            rc = dec_feed(s, p, n);
        if (rc == SGW_OK)
            rc = dec_finish(s);
        dec_free(s);
        return rc;
    }
    if (pb_message(b, p, n, n, depth, text) == (long)n) {
        pb_fields(b, p, n, n, depth + 1, PW_EMIT, &rc);
        return rc;
    }
    if (!text) {
        rc = pb_strings(b, p, n);
        return rc == SGW_OK ? pb_strings_end(b) : rc;
    }
    if (n < PB_TEXT_MIN)
        return SGW_OK; /* (as short runs of raw bytes: random ids read as messages hold "::1") */
    rc = dec_text_data(env, p, n);
    return rc == SGW_OK ? dec_text_boundary(env) : rc;
}

static long pb_fields(struct dec_pb *b, const uint8_t *p, size_t n, uint64_t limit, unsigned depth,
                      enum pb_walk w, int *rc)
{
    int emit = w == PW_EMIT;
    size_t at = 0;
    *rc = SGW_OK;
    while (at < n) {
        size_t start = at;
        uint64_t tag, v;
        int r = pb_varint(p, n, &at, &tag);
        if (r < 0 || (r == 1 && !pb_tag_ok(tag)))
            return -1;
        if (r == 0)
            return (long)start;
        if (w == PW_CHECK_LEN && (tag & 7) != 2)
            return -1;
        switch (tag & 7) {
        case 0:
            r = pb_varint(p, n, &at, &v);
            if (r < 0)
                return -1;
            if (r == 0)
                return (long)start;
            break;
        case 1:
        case 5: {
            size_t k = (tag & 7) == 1 ? 8 : 4;
            if (at + k > limit)
                return -1;
            if (n - at < k)
                return (long)start;
            at += k;
            break;
        }
        default:
            r = pb_varint(p, n, &at, &v);
            if (r < 0 || (r == 1 && v > limit - at))
                return -1;
            if (r == 0)
                return (long)start;
            if (v > n - at)
                return (long)start;
            if (emit && (*rc = pb_value(b, p + at, (size_t)v, depth)) != SGW_OK)
                return -1;
            at += (size_t)v;
            break;
        }
        if (emit && b->base.dead)
            return -1;
    }
    return (long)n;
}

static int pb_core(struct dec_pb *b, const uint8_t *p, size_t n);

/* The current field is complete: back to a tag, closing the messages
 * that end here. */
static int pb_field_done(struct dec_pb *b)
{
    b->st = PB_TAG;
    b->v = 0;
    b->vshift = 0;
    while (b->depth > 0 && b->pos == b->end[b->depth])
        b->depth--;
    return SGW_OK;
}

/* The hold is full and its field goes on: judged by what it holds. */
static int pb_hold_full(struct dec_pb *b)
{
    struct dec_env *env = b->base.env;
    int rc = SGW_OK;
    uint64_t rest = b->want - b->hold_len;
    int text = pb_is_text(b->hold, b->hold_len, 1);
    long whole = pb_message(b, b->hold, b->hold_len, b->want, b->depth, text);
    if (text && whole < 0) {
        b->st = PB_TEXT;
        b->left = rest;
        return dec_text_data(env, b->hold, b->hold_len);
    }
    if (!text && pb_magic(b->hold, b->hold_len)) {
        rc = dec_build_nested(env, NULL, 0, b->base.nest + 1, "protobuf bytes", &b->sub);
        if (rc == SGW_OK)
            rc = dec_feed(b->sub, b->hold, b->hold_len);
        b->st = PB_SNIFF;
        b->left = rest;
        return rc;
    }
    {
        if (whole >= 0) {
            /* a message: its whole fields now, the rest as a stream */
            b->depth++;
            b->end[b->depth] = b->field_at + b->want;
            if (pb_fields(b, b->hold, (size_t)whole, (size_t)whole, b->depth, PW_EMIT, &rc) < 0 || b->base.dead)
                return rc;
            size_t tl = b->hold_len - (size_t)whole;
            memcpy(b->tail, b->hold + whole, tl);
            b->pos = b->field_at + (uint64_t)whole;
            pb_field_done(b);
            return pb_core(b, b->tail, tl);
        }
    }
    b->st = PB_RAW;
    b->left = rest;
    return pb_strings(b, b->hold, b->hold_len);
}

/* The protobuf bytes of the body (or of a gRPC frame). */
static int pb_core(struct dec_pb *b, const uint8_t *p, size_t n)
{
    struct dec *d = &b->base;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK && !d->dead) {
        switch (b->st) {
        case PB_TAG:
        case PB_VARINT:
        case PB_LEN: {
            uint8_t c = p[i++];
            b->pos++;
            if (b->vshift == 63 && c > 1)
                return pb_malformed(b, b->pos - 1);
            b->v |= (uint64_t)(c & 0x7f) << b->vshift;
            b->vshift += 7;
            if (b->pos > b->end[b->depth])
                return pb_malformed(b, b->pos - 1);
            if (c & 0x80)
                break;
            uint64_t v = b->v;
            b->v = 0;
            b->vshift = 0;
            if (b->st == PB_VARINT) {
                pb_field_done(b);
            } else if (b->st == PB_TAG) {
                if (!pb_tag_ok(v))
                    return pb_malformed(b, b->pos - 1);
                unsigned wt = (unsigned)(v & 7);
                if (wt == 0) {
                    b->st = PB_VARINT;
                } else if (wt == 2) {
                    b->st = PB_LEN;
                } else {
                    b->st = PB_SKIP;
                    b->left = wt == 1 ? 8 : 4;
                    if (b->left > b->end[b->depth] - b->pos)
                        return pb_malformed(b, b->pos - 1);
                }
            } else if (v > b->end[b->depth] - b->pos) {
                return pb_malformed(b, b->pos - 1);
            } else if (v == 0) {
                pb_field_done(b);
            } else {
                b->st = PB_HOLD_ST;
                b->want = v;
                b->field_at = b->pos;
                b->hold_len = 0;
            }
            break;
        }
        case PB_SKIP:
        case PB_TEXT:
        case PB_RAW:
        case PB_SNIFF: {
            size_t k = b->left < n - i ? (size_t)b->left : n - i;
            if (b->st == PB_TEXT)
                rc = dec_text_data(d->env, p + i, k);
            else if (b->st == PB_RAW)
                rc = pb_strings(b, p + i, k);
            else if (b->st == PB_SNIFF)
                rc = dec_feed(b->sub, p + i, k);
            i += k;
            b->pos += k;
            b->left -= k;
            if (rc != SGW_OK || b->left)
                break;
            if (b->st == PB_TEXT) {
                rc = dec_text_boundary(d->env);
            } else if (b->st == PB_RAW) {
                rc = pb_strings_end(b);
            } else if (b->st == PB_SNIFF) {
                rc = dec_close(&b->sub);
            }
            pb_field_done(b);
            break;
        }
        case PB_HOLD_ST: {
            uint64_t need = b->want - b->hold_len;
            size_t room = PB_HOLD - b->hold_len;
            size_t k = n - i;
            if (k > room)
                k = room;
            if (k > need)
                k = (size_t)need;
            memcpy(b->hold + b->hold_len, p + i, k);
            b->hold_len += k;
            i += k;
            b->pos += k;
            if (b->hold_len == b->want) {
                rc = pb_value(b, b->hold, b->hold_len, b->depth);
                pb_field_done(b);
            } else if (b->hold_len == PB_HOLD) {
                rc = pb_hold_full(b);
            }
            break;
        }
        }
    }
    return rc;
}

/* Is the protobuf at a field's end with no message open (a whole body)? */
static int pb_whole(const struct dec_pb *b)
{
    return b->st == PB_TAG && b->vshift == 0 && b->depth == 0;
}

/* A cut body: what was held goes on, then the report. */
static int pb_cut(struct dec_pb *b, const char *what)
{
    int rc = SGW_OK;
    if (b->st == PB_HOLD_ST && b->hold_len) {
        rc = dec_text_data(b->base.env, b->hold, b->hold_len);
        if (rc == SGW_OK)
            rc = dec_text_boundary(b->base.env);
    } else if (b->st == PB_TEXT) {
        rc = dec_text_boundary(b->base.env);
    } else if (b->st == PB_RAW) {
        rc = pb_strings_end(b);
    } else if (b->st == PB_SNIFF) {
        rc = dec_finish(b->sub);
    }
    return rc != SGW_OK ? rc : dec_fail(&b->base, 0, "%s", what);
}

/* A new message at the top (the body, or a gRPC frame of `len` bytes). */
static void pb_reset(struct dec_pb *b, uint64_t len)
{
    b->st = PB_TAG;
    b->depth = 0;
    b->v = 0;
    b->vshift = 0;
    b->pos = 0;
    b->end[0] = len;
}

/* A compressed frame's first bytes (or all of a shorter one) are in:
 * its decompressor, by them, as the grpc-encoding the headers name would
 * say: gzip, zstd, else deflate (zlib's format, or raw). */
static int grpc_unpack_begin(struct dec_pb *b)
{
    struct dec *d = &b->base;
    const uint8_t *h = b->g_pick;
    size_t n = b->g_pick_len;
    struct dec *inner = NULL;
    int rc = dec_new_protobuf(d->env, d->nest + 2, 0, &inner);
    if (rc != SGW_OK)
        return rc;
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        rc = dec_new_inflate(d->env, d->nest + 1, DEC_INF_GZIP, inner, &b->sub);
    else if (n >= 4 && memcmp(h, "\x28\xb5\x2f\xfd", 4) == 0)
        rc = dec_new_zstd(d->env, d->nest + 1, inner, &b->sub);
    else
        rc = dec_new_inflate(d->env, d->nest + 1, DEC_INF_DEFLATE, inner, &b->sub);
    return rc == SGW_OK ? dec_feed(b->sub, h, n) : rc;
}

/* Bytes of a compressed frame: held until its compression is told. */
static int grpc_unpack(struct dec_pb *b, const uint8_t *p, size_t n)
{
    if (b->sub)
        return dec_feed(b->sub, p, n);
    size_t k = sizeof(b->g_pick) - b->g_pick_len < n ? sizeof(b->g_pick) - b->g_pick_len : n;
    memcpy(b->g_pick + b->g_pick_len, p, k);
    b->g_pick_len += k;
    if (b->g_pick_len < sizeof(b->g_pick))
        return SGW_OK;
    int rc = grpc_unpack_begin(b);
    return rc == SGW_OK && n > k ? dec_feed(b->sub, p + k, n - k) : rc;
}

/* A compressed frame ends (or the body, inside it). */
static int grpc_unpack_end(struct dec_pb *b)
{
    int rc = b->sub ? SGW_OK : grpc_unpack_begin(b);
    if (rc == SGW_OK)
        rc = dec_finish(b->sub);
    dec_free(b->sub);
    b->sub = NULL;
    b->g_pick_len = 0;
    return rc;
}

static int grpc_feed(struct dec_pb *b, const uint8_t *p, size_t n)
{
    struct dec *d = &b->base;
    struct dec_env *env = d->env;
    size_t i = 0;
    int rc = SGW_OK;
    while (i < n && rc == SGW_OK && !d->dead) {
        if (b->g == G_HEAD) {
            size_t k = 5 - b->g_len < n - i ? 5 - b->g_len : n - i;
            memcpy(b->g_head + b->g_len, p + i, k);
            b->g_len += k;
            i += k;
            if (b->g_len < 5)
                break;
            b->g_flag = b->g_head[0];
            b->g_left = (uint64_t)b->g_head[1] << 24 | (uint64_t)b->g_head[2] << 16 |
                        (uint64_t)b->g_head[3] << 8 | b->g_head[4];
            b->g_len = 0;
            if (b->g_flag == 0) {
                pb_reset(b, b->g_left);
            } else if (b->g_flag == 1) {
                b->g_pick_len = 0; /* compressed (grpc_unpack) */
            } else if (b->grpc == 2 && b->g_flag == 0x80) {
                /* grpc-web's trailers: header lines */
            } else {
                return dec_fail(d, 0, "gRPC frame flag 0x%02x", b->g_flag);
            }
            b->g = G_MSG;
            if (b->g_left)
                continue;
        } else {
            size_t k = b->g_left < n - i ? (size_t)b->g_left : n - i;
            if (b->g_flag == 0)
                rc = pb_core(b, p + i, k);
            else if (b->g_flag == 1)
                rc = grpc_unpack(b, p + i, k);
            else
                rc = dec_text_data(env, p + i, k);
            i += k;
            b->g_left -= k;
            if (rc != SGW_OK || d->dead || b->g_left)
                break;
        }
        /* the frame's end */
        if (b->g_flag == 0 && !pb_whole(b))
            return pb_cut(b, "malformed protobuf in gRPC frame");
        if (b->g_flag == 1) {
            rc = grpc_unpack_end(b);
        } else if (b->g_flag == 0x80) {
            rc = dec_text_boundary(env);
        }
        b->g = G_HEAD;
    }
    return rc;
}

static int pb_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_pb *b = (struct dec_pb *)d;
    return b->grpc ? grpc_feed(b, p, n) : pb_core(b, p, n);
}

static int pb_finish(struct dec *d)
{
    struct dec_pb *b = (struct dec_pb *)d;
    if (d->dead)
        return SGW_OK;
    if (!b->grpc)
        return pb_whole(b) ? SGW_OK : pb_cut(b, "truncated protobuf message");
    if (b->g == G_HEAD && b->g_len == 0)
        return SGW_OK;
    if (b->g == G_MSG && b->g_flag == 0)
        return pb_cut(b, "truncated gRPC frame");
    int rc = SGW_OK;
    if (b->g == G_MSG && b->g_flag == 1)
        rc = grpc_unpack_end(b);
    else if (b->g == G_MSG)
        rc = dec_text_boundary(d->env);
    return rc != SGW_OK ? rc : dec_fail(d, 0, "truncated gRPC frame");
}

static void pb_destroy(struct dec *d)
{
    struct dec_pb *b = (struct dec_pb *)d;
    dec_free(b->sub);
}

static const struct dec_ops pb_ops = {"protobuf", pb_feed, pb_finish, pb_destroy};

int dec_new_protobuf(struct dec_env *env, unsigned nest, int grpc, struct dec **out)
{
    if (nest + 1 > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    struct dec_pb *b = dec_alloc_head(sizeof(*b), offsetof(struct dec_pb, end), &pb_ops, env, nest);
    if (!b)
        return SGW_ENOMEM;
    b->grpc = grpc;
    b->g = grpc ? G_HEAD : G_NONE;
    pb_reset(b, PB_NO_END);
    *out = &b->base;
    return SGW_OK;
}

/* ---- KPL aggregated records ----
 *
 * The Kinesis Producer Library (Java; the aws-kinesis-agg libraries for
 * Python, Node, Go; Fluent Bit) packs many user records into one Kinesis
 * record: the magic F3 89 9A C2, an AggregatedRecord protobuf (partition
 * keys, then records whose `data` is the user's bytes), and the MD5 of
 * the protobuf. Before this decoder the record was opaque bytes in
 * base64 and passed unread. The protobuf goes to the decoder above; the
 * MD5 (the last 16 bytes) is held back and not read. */
#define KPL_MAGIC "\xf3\x89\x9a\xc2"
#define KPL_MD5 16u

struct dec_kpl {
    struct dec base;
    size_t magic_len; /* bytes of the magic seen */
    size_t tail_len;  /* bytes in tail[]: the last ones, perhaps the MD5 */
    uint8_t tail[KPL_MD5];
};

int dec_looks_kpl(const uint8_t *b, size_t n)
{
    return n >= 4 + KPL_MD5 && memcmp(b, KPL_MAGIC, 4) == 0;
}

static int kpl_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_kpl *k = (struct dec_kpl *)d;
    while (k->magic_len < 4 && n) {
        if (*p != (uint8_t)KPL_MAGIC[k->magic_len])
            return dec_fail(d, 0, "malformed KPL aggregated record");
        k->magic_len++;
        p++;
        n--;
    }
    if (k->tail_len + n <= KPL_MD5) {
        memcpy(k->tail + k->tail_len, p, n);
        k->tail_len += n;
        return SGW_OK;
    }
    /* all but the last 16 bytes go on: the held ones first */
    size_t out = k->tail_len + n - KPL_MD5, from_tail = out < k->tail_len ? out : k->tail_len;
    int rc = dec_feed(d->next, k->tail, from_tail);
    if (rc != SGW_OK || d->dead)
        return rc;
    memmove(k->tail, k->tail + from_tail, k->tail_len - from_tail);
    k->tail_len -= from_tail;
    size_t from_p = out - from_tail;
    rc = dec_feed(d->next, p, from_p);
    memcpy(k->tail + k->tail_len, p + from_p, n - from_p);
    k->tail_len += n - from_p;
    return rc;
}

static int kpl_finish(struct dec *d)
{
    struct dec_kpl *k = (struct dec_kpl *)d;
    if (k->magic_len < 4 || k->tail_len < KPL_MD5)
        return dec_fail(d, 0, "truncated KPL aggregated record");
    return dec_finish(d->next);
}

static const struct dec_ops kpl_ops = {"kpl", kpl_feed, kpl_finish, NULL};

int dec_new_kpl(struct dec_env *env, unsigned nest, struct dec **out)
{
    if (nest + 2 > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    struct dec *inner = NULL;
    int rc = dec_new_protobuf(env, nest + 1, 0, &inner);
    if (rc != SGW_OK)
        return rc;
    struct dec_kpl *k = dec_alloc(sizeof(*k), &kpl_ops, env, nest);
    if (!k) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    k->base.next = inner;
    *out = &k->base;
    return SGW_OK;
}

/* ---- protobuf found in base64 ---- */

/* Fields of p[0..n) (all of a message when whole, else its start: the last
 * field may be cut) with text in them: a length-delimited field of 4
 * printable bytes or more, or a message holding one, up to `depth` levels.
 * Returns the number of fields, those of the messages in it included, or
 * -1 when p is no protobuf; *texts counts the text fields. */
static long pb_evidence(const uint8_t *p, size_t n, int whole, unsigned depth, unsigned *texts)
{
    size_t at = 0;
    long fields = 0;
    while (at < n) {
        uint64_t tag, v;
        int r = pb_varint(p, n, &at, &tag);
        if (r < 0 || (r == 1 && !pb_tag_ok(tag)))
            return -1;
        if (r == 0)
            return whole ? -1 : fields;
        unsigned wt = (unsigned)(tag & 7);
        if (wt == 1 || wt == 5) {
            size_t k = wt == 1 ? 8 : 4;
            if (n - at < k)
                return whole ? -1 : fields;
            at += k;
        } else {
            r = pb_varint(p, n, &at, &v);
            if (r < 0)
                return -1;
            if (r == 0)
                return whole ? -1 : fields;
            if (wt == 2) {
                if (v > n - at)
                    return whole ? -1 : fields;
                long inner;
                if (v >= 4 && pb_is_text(p + at, (size_t)v, 0))
                    (*texts)++;
                else if (depth > 0 && v >= 2 && (inner = pb_evidence(p + at, (size_t)v, 1, depth - 1, texts)) > 0)
                    fields += inner; /* (a message's fields count too: a wrapper has one) */
                at += (size_t)v;
            }
        }
        fields++;
    }
    return fields;
}

int dec_looks_protobuf(const uint8_t *p, size_t n, int whole)
{
    unsigned texts = 0;
    long fields = pb_evidence(p, n, whole, 8, &texts);
    return fields >= 2 && texts >= 1;
}
