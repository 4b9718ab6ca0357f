/* classifiers/decode_compress.c — Content-Encoding decoders: gzip/x-gzip
 * (multi-member), deflate (zlib-wrapped, raw deflate fallback), br, zstd,
 * snappy; and the compressed files the sniffer finds: xz (liblzma) and
 * bzip2 (libbz2), which are no HTTP content codings but are what backups
 * and log archives put to S3 are (`.tar.xz`, `.tar.bz2`).
 *
 * Every decoder pushes its output in OUT_CHUNK pieces into `next` and checks
 * the bomb limits before each piece: total produced > limits.max_decoded, or
 * (once > 1 MiB was produced) produced > consumed * limits.max_ratio, report
 * uninspectable with CLS_FF_BOMB and stop. A stream that ends early reports
 * "truncated <coding> stream"; corrupt data "malformed <coding> stream". */
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "classifiers/decode_internal.h"

#define OUT_CHUNK 16384u
#define ZSTD_WINDOW_LOG_MAX 23 /* 8 MiB window: bounded memory */
#define ZSTD_BLOCK_HEADER 3u   /* RFC 8878 §3.1.1.2 */
#define XZ_MEMLIMIT (64u << 20) /* xz -9's 64 MiB dictionary: bounded memory */

/* ---- gzip / deflate (zlib) ---- */

int dec_inflate_step(struct dec *d, struct z_stream_s *zs, struct dec_bomb *b, uint8_t *out,
                     size_t cap, int (*emit)(void *arg, const uint8_t *p, size_t n), void *arg,
                     int *rc, size_t *k)
{
    uInt before = zs->avail_in;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    int r = inflate(zs, Z_NO_FLUSH);
    b->consumed += before - zs->avail_in;
    *k = cap - zs->avail_out;
    *rc = SGW_OK;
    if (r == Z_MEM_ERROR) {
        *rc = SGW_ENOMEM;
        return r;
    }
    /* what was decoded before an error goes on first: the output must not
       depend on how the input was split */
    if (*k)
        *rc = dec_bomb_emit(d, b, out, *k, emit, arg);
    return r;
}

struct dec_inflate {
    struct dec base;
    int kind;
    int inited;
    int ended;   /* the current member/stream is complete */
    int any;     /* input seen */
    size_t hlen; /* deflate: header bytes collected to choose zlib or raw */
    uint8_t hdr[2];
    z_stream zs;
    struct dec_bomb bomb;
    uint8_t out[OUT_CHUNK];
};

static const char *inflate_name(const struct dec_inflate *z)
{
    return z->kind == DEC_INF_GZIP ? "gzip" : "deflate";
}

static int inflate_run(struct dec_inflate *z, const uint8_t *p, size_t n)
{
    struct dec *d = &z->base;
    int rc = SGW_OK;
    z->zs.next_in = (Bytef *)(uintptr_t)p;
    z->zs.avail_in = (uInt)n;
    for (;;) {
        if (z->ended) {
            if (z->zs.avail_in == 0)
                return SGW_OK;
            if (z->kind != DEC_INF_GZIP)
                return dec_fail(d, 0, "trailing data after deflate stream");
            /* another gzip member follows (RFC 1952 §2.2) */
            if (inflateReset(&z->zs) != Z_OK)
                return dec_fail(d, 0, "malformed gzip stream");
            z->ended = 0;
        }
        uInt before = z->zs.avail_in;
        size_t k;
        int r = dec_inflate_step(d, &z->zs, &z->bomb, z->out, sizeof(z->out), dec_feed_arg, d->next,
                                 &rc, &k);
        if (rc != SGW_OK || d->dead)
            return rc;
        if (r == Z_NEED_DICT || r == Z_DATA_ERROR || r == Z_STREAM_ERROR)
            return dec_fail(d, 0, "malformed %s stream", inflate_name(z));
        if (r == Z_STREAM_END) {
            z->ended = 1;
            continue;
        }
        if (z->zs.avail_in == 0 && z->zs.avail_out != 0)
            return SGW_OK;
        if (r == Z_BUF_ERROR && k == 0 && before == z->zs.avail_in)
            return SGW_OK;
    }
}

static int inflate_start(struct dec_inflate *z, int wbits)
{
    if (inflateInit2(&z->zs, wbits) != Z_OK)
        return SGW_ENOMEM;
    z->inited = 1;
    return SGW_OK;
}

static int inflate_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_inflate *z = (struct dec_inflate *)d;
    int rc;
    z->any = 1;
    if (!z->inited && z->kind == DEC_INF_GZIP) {
        rc = inflate_start(z, 16 + MAX_WBITS);
        if (rc != SGW_OK)
            return rc;
    }
    if (!z->inited) {
        /* deflate: a zlib header (RFC 1950) or else raw deflate (RFC 1951) */
        while (z->hlen < 2 && n > 0) {
            z->hdr[z->hlen++] = *p++;
            n--;
        }
        if (z->hlen < 2)
            return SGW_OK;
        int zlib_hdr = (z->hdr[0] & 0x0f) == 8 && (z->hdr[0] >> 4) <= 7 &&
                       ((unsigned)z->hdr[0] << 8 | z->hdr[1]) % 31 == 0;
        rc = inflate_start(z, zlib_hdr ? MAX_WBITS : -MAX_WBITS);
        if (rc != SGW_OK)
            return rc;
        rc = inflate_run(z, z->hdr, 2);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    /* zlib counts in uInt: feed in bounded pieces */
    while (n > 0 && !d->dead) {
        size_t take = n > (1u << 30) ? (1u << 30) : n;
        rc = inflate_run(z, p, take);
        if (rc != SGW_OK)
            return rc;
        p += take;
        n -= take;
    }
    return SGW_OK;
}

static int inflate_finish(struct dec *d)
{
    struct dec_inflate *z = (struct dec_inflate *)d;
    if (z->any && !z->ended)
        return dec_fail(d, 0, "truncated %s stream", inflate_name(z));
    return dec_finish(d->next);
}

static void inflate_destroy(struct dec *d)
{
    struct dec_inflate *z = (struct dec_inflate *)d;
    if (z->inited)
        inflateEnd(&z->zs);
}

static const struct dec_ops gzip_ops = {"gzip", inflate_feed, inflate_finish, inflate_destroy};
static const struct dec_ops deflate_ops = {"deflate", inflate_feed, inflate_finish,
                                           inflate_destroy};

int dec_new_inflate(struct dec_env *env, unsigned nest, int kind, struct dec *inner,
                    struct dec **out)
{
    struct dec_inflate *z =
        dec_alloc(sizeof(*z), kind == DEC_INF_GZIP ? &gzip_ops : &deflate_ops, env, nest);
    if (!z) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    z->kind = kind;
    z->base.next = inner;
    *out = &z->base;
    return SGW_OK;
}

/* ---- br ---- */

/* brotli keeps decoded bytes in its ring buffer and pushes them out when it
 * runs out of input; an error drops them. So that the caller's split cannot
 * change the output, brotli always gets the input in the same windows: whole
 * BR_WINDOW-byte pieces at fixed stream offsets (the last one at finish). */
#define BR_WINDOW 256u

struct dec_brotli {
    struct dec base;
    BrotliDecoderState *st;
    int ended;
    int any;
    size_t hold_len;
    struct dec_bomb bomb;
    uint8_t hold[BR_WINDOW];
    uint8_t out[OUT_CHUNK];
};

/* Decodes one window. */
static int brotli_run(struct dec_brotli *b, const uint8_t *p, size_t n)
{
    struct dec *d = &b->base;
    int rc = SGW_OK;
    if (b->ended)
        return dec_fail(d, 0, "trailing data after br stream");
    size_t avail_in = n;
    const uint8_t *next_in = p;
    for (;;) {
        size_t avail_out = sizeof(b->out);
        uint8_t *next_out = b->out;
        size_t before = avail_in;
        BrotliDecoderResult r =
            BrotliDecoderDecompressStream(b->st, &avail_in, &next_in, &avail_out, &next_out, NULL);
        b->bomb.consumed += before - avail_in;
        size_t k = sizeof(b->out) - avail_out;
        if (k) {
            rc = dec_bomb_feed(d, &b->bomb, b->out, k);
            if (rc != SGW_OK || d->dead)
                return rc;
        }
        if (r == BROTLI_DECODER_RESULT_ERROR)
            return dec_fail(d, 0, "malformed br stream");
        if (r == BROTLI_DECODER_RESULT_SUCCESS) {
            b->ended = 1;
            if (avail_in > 0)
                return dec_fail(d, 0, "trailing data after br stream");
            return SGW_OK;
        }
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            return SGW_OK;
        /* NEEDS_MORE_OUTPUT: loop */
    }
}

static int brotli_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_brotli *b = (struct dec_brotli *)d;
    int rc = SGW_OK;
    b->any = 1;
    if (b->hold_len) {
        size_t take = BR_WINDOW - b->hold_len;
        if (take > n)
            take = n;
        memcpy(b->hold + b->hold_len, p, take);
        b->hold_len += take;
        p += take;
        n -= take;
        if (b->hold_len < BR_WINDOW)
            return SGW_OK;
        b->hold_len = 0;
        rc = brotli_run(b, b->hold, BR_WINDOW);
    }
    while (rc == SGW_OK && !d->dead && n >= BR_WINDOW) {
        rc = brotli_run(b, p, BR_WINDOW);
        p += BR_WINDOW;
        n -= BR_WINDOW;
    }
    if (rc == SGW_OK && !d->dead && n > 0) {
        memcpy(b->hold, p, n);
        b->hold_len = n;
    }
    return rc;
}

static int brotli_finish(struct dec *d)
{
    struct dec_brotli *b = (struct dec_brotli *)d;
    if (b->hold_len) {
        int rc = brotli_run(b, b->hold, b->hold_len);
        b->hold_len = 0;
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    if (b->any && !b->ended)
        return dec_fail(d, 0, "truncated br stream");
    return dec_finish(d->next);
}

static void brotli_destroy(struct dec *d)
{
    struct dec_brotli *b = (struct dec_brotli *)d;
    if (b->st)
        BrotliDecoderDestroyInstance(b->st);
}

static const struct dec_ops brotli_ops = {"br", brotli_feed, brotli_finish, brotli_destroy};

int dec_new_brotli(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_brotli *b = dec_alloc(sizeof(*b), &brotli_ops, env, nest);
    if (!b) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    b->base.next = inner;
    b->st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (!b->st) {
        dec_free(&b->base);
        return SGW_ENOMEM;
    }
    *out = &b->base;
    return SGW_OK;
}

/* ---- zstd ---- */

struct dec_zstd {
    struct dec base;
    ZSTD_DCtx *dctx;
    size_t last; /* last ZSTD_decompressStream result: 0 = frame complete */
    int any;
    size_t fm_len; /* magic bytes collected at a frame start */
    uint8_t fm[4];
    uint8_t *pend;   /* a unit cut by the end of a chunk, until it is whole */
    size_t pend_len; /* bytes of it held (0: none) */
    struct dec_bomb bomb;
    uint8_t out[OUT_CHUNK];
};

/* The largest unit held whole: a block (RFC 8878 §3.1.1.2.4: at most
 * 128 KiB) and its neighbouring fields. A larger one is a skippable frame's
 * content, which produces no output and may be fed in any pieces. */
#define ZSTD_PEND_MAX ((size_t)ZSTD_BLOCKSIZE_MAX + 64u)

/* One ZSTD_decompressStream call; pushes its output. *full = the output
 * buffer was filled (more may be pending). */
static int zstd_call(struct dec_zstd *z, ZSTD_inBuffer *in, int *full, int *progress)
{
    struct dec *d = &z->base;
    int rc = SGW_OK;
    ZSTD_outBuffer ob = {z->out, sizeof(z->out), 0};
    size_t before = in->pos;
    size_t r = ZSTD_decompressStream(z->dctx, &ob, in);
    z->bomb.consumed += in->pos - before;
    *full = ob.pos == ob.size;
    *progress = ob.pos > 0 || in->pos > before;
    if (ob.pos) {
        rc = dec_bomb_feed(d, &z->bomb, z->out, ob.pos);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    if (ZSTD_isError(r))
        return dec_fail(d, 0, "malformed zstd stream");
    z->last = r;
    return SGW_OK;
}

/* zstd drops the output of a call that ends in an error, so a call that
 * decoded several blocks would make the output depend on the input split.
 * Input is therefore given in the units zstd asks for (its return value:
 * the next header or block), one unit per call with block headers apart
 * (a bad header then fails a call that produced nothing), and pending output
 * is flushed with calls that get no input before the next unit. A unit cut
 * by the end of a chunk is held until it is whole: fed in two calls, a
 * block could emit output from its first part and then fail in its second,
 * where one call would have emitted nothing. */
static int zstd_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_zstd *z = (struct dec_zstd *)d;
    size_t pos = 0;
    int rc = SGW_OK, full = 0, progress = 0;
    z->any = 1;
    while (pos < n && rc == SGW_OK && !d->dead) {
        if (z->last == 0) {
            /* a frame starts: only RFC 8878 frames (and skippable ones);
               libzstd's legacy v0.x formats stream differently and are
               not what any client sends */
            while (z->fm_len < 4 && pos < n)
                z->fm[z->fm_len++] = p[pos++];
            if (z->fm_len < 4)
                return SGW_OK;
            z->fm_len = 0;
            int zstd1 = memcmp(z->fm, "\x28\xb5\x2f\xfd", 4) == 0;
            int skippable = (z->fm[0] & 0xf0) == 0x50 && memcmp(z->fm + 1, "\x2a\x4d\x18", 3) == 0;
            if (!zstd1 && !skippable)
                return dec_fail(d, 0, "malformed zstd stream");
            ZSTD_inBuffer mb = {z->fm, 4, 0};
            while (rc == SGW_OK && !d->dead && mb.pos < mb.size) {
                rc = zstd_call(z, &mb, &full, &progress);
                if (rc == SGW_OK && !d->dead && !progress)
                    return dec_fail(d, 0, "malformed zstd stream");
            }
            if (rc != SGW_OK || d->dead)
                return rc;
            if (z->last == 0)
                return dec_fail(d, 0, "malformed zstd stream");
            continue;
        }
        /* the hint includes the next block header when a block is due:
           leave the header for a call of its own */
        size_t unit =
            z->last > ZSTD_BLOCK_HEADER ? z->last - ZSTD_BLOCK_HEADER : (z->last ? z->last : 1);
        if (unit <= ZSTD_PEND_MAX && (z->pend_len > 0 || n - pos < unit)) {
            if (!z->pend && !(z->pend = malloc(ZSTD_PEND_MAX)))
                return dec_fail(d, 0, "out of memory holding a zstd block");
            size_t take = unit - z->pend_len < n - pos ? unit - z->pend_len : n - pos;
            memcpy(z->pend + z->pend_len, p + pos, take);
            z->pend_len += take;
            pos += take;
            if (z->pend_len < unit)
                return SGW_OK; /* the rest comes with the next chunk */
            z->pend_len = 0;
            ZSTD_inBuffer whole = {z->pend, unit, 0};
            while (rc == SGW_OK && !d->dead && whole.pos < unit) {
                rc = zstd_call(z, &whole, &full, &progress);
                if (rc == SGW_OK && !d->dead && !progress)
                    return dec_fail(d, 0, "malformed zstd stream");
                while (rc == SGW_OK && !d->dead && full) {
                    ZSTD_inBuffer none = {z->pend, whole.pos, whole.pos};
                    rc = zstd_call(z, &none, &full, &progress);
                }
            }
            continue;
        }
        size_t end = n - pos < unit ? n : pos + unit;
        ZSTD_inBuffer in = {p, end, pos};
        rc = zstd_call(z, &in, &full, &progress);
        pos = in.pos;
        if (rc == SGW_OK && !d->dead && !progress)
            return dec_fail(d, 0, "malformed zstd stream");
        while (rc == SGW_OK && !d->dead && full) {
            ZSTD_inBuffer none = {p, pos, pos};
            rc = zstd_call(z, &none, &full, &progress);
        }
    }
    return rc;
}

static int zstd_finish(struct dec *d)
{
    struct dec_zstd *z = (struct dec_zstd *)d;
    if (z->any && (z->last != 0 || z->fm_len != 0 || z->pend_len != 0))
        return dec_fail(d, 0, "truncated zstd stream");
    return dec_finish(d->next);
}

static void zstd_destroy(struct dec *d)
{
    struct dec_zstd *z = (struct dec_zstd *)d;
    ZSTD_freeDCtx(z->dctx);
    free(z->pend);
}

static const struct dec_ops zstd_ops = {"zstd", zstd_feed, zstd_finish, zstd_destroy};

int dec_new_zstd(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_zstd *z = dec_alloc(sizeof(*z), &zstd_ops, env, nest);
    if (!z) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    z->base.next = inner;
    z->dctx = ZSTD_createDCtx();
    if (!z->dctx) {
        dec_free(&z->base);
        return SGW_ENOMEM;
    }
    if (ZSTD_isError(ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
        dec_free(&z->base);
        return SGW_ERR;
    }
    *out = &z->base;
    return SGW_OK;
}

/* ---- xz (liblzma; concatenated streams, as xz writes and reads them) ---- */

struct dec_xz {
    struct dec base;
    lzma_stream s;
    int inited, ended, any;
    struct dec_bomb bomb;
    uint8_t out[OUT_CHUNK];
};

/* Decodes p[0..n) (act LZMA_FINISH: the end of the input, n == 0). */
static int xz_run(struct dec_xz *z, const uint8_t *p, size_t n, lzma_action act)
{
    struct dec *d = &z->base;
    z->s.next_in = p;
    z->s.avail_in = n;
    for (;;) {
        size_t before = z->s.avail_in;
        z->s.next_out = z->out;
        z->s.avail_out = sizeof(z->out);
        lzma_ret r = lzma_code(&z->s, act);
        z->bomb.consumed += before - z->s.avail_in;
        size_t k = sizeof(z->out) - z->s.avail_out;
        if (k) { /* (what came out before an error goes on first) */
            int rc = dec_bomb_feed(d, &z->bomb, z->out, k);
            if (rc != SGW_OK || d->dead)
                return rc;
        }
        if (r == LZMA_STREAM_END) {
            z->ended = 1;
            return SGW_OK;
        }
        if (r == LZMA_MEM_ERROR)
            return SGW_ENOMEM;
        if (r == LZMA_MEMLIMIT_ERROR)
            return dec_fail(d, CLS_FF_BOMB, "xz stream needs over %u MiB of memory", XZ_MEMLIMIT >> 20);
        if (r == LZMA_OK || r == LZMA_BUF_ERROR) {
            int stuck = k == 0 && before == z->s.avail_in;
            if (act == LZMA_FINISH && (stuck || r == LZMA_BUF_ERROR))
                return dec_fail(d, 0, "truncated xz stream");
            if (act == LZMA_RUN && (stuck || (z->s.avail_in == 0 && z->s.avail_out != 0)))
                return SGW_OK;
            continue;
        }
        return dec_fail(d, 0, "malformed xz stream");
    }
}

static int xz_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_xz *z = (struct dec_xz *)d;
    z->any = 1;
    return z->ended ? dec_fail(d, 0, "malformed xz stream") : xz_run(z, p, n, LZMA_RUN);
}

static int xz_finish(struct dec *d)
{
    struct dec_xz *z = (struct dec_xz *)d;
    if (z->any && !z->ended) {
        int rc = xz_run(z, NULL, 0, LZMA_FINISH);
        if (rc != SGW_OK || d->dead)
            return rc;
    }
    return dec_finish(d->next);
}

static void xz_destroy(struct dec *d)
{
    struct dec_xz *z = (struct dec_xz *)d;
    if (z->inited)
        lzma_end(&z->s);
}

static const struct dec_ops xz_ops = {"xz", xz_feed, xz_finish, xz_destroy};

int dec_new_xz(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_xz *z = dec_alloc(sizeof(*z), &xz_ops, env, nest);
    if (!z) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    z->base.next = inner;
    z->s = (lzma_stream)LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&z->s, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
        dec_free(&z->base);
        return SGW_ENOMEM;
    }
    z->inited = 1;
    *out = &z->base;
    return SGW_OK;
}

/* ---- bzip2 (libbz2; streams one after another, as pbzip2 writes) ---- */

struct dec_bz2 {
    struct dec base;
    bz_stream s;
    int inited, ended, any;
    struct dec_bomb bomb;
    uint8_t out[OUT_CHUNK];
};

static int bz2_run(struct dec_bz2 *z, const uint8_t *p, size_t n)
{
    struct dec *d = &z->base;
    z->s.next_in = (char *)(uintptr_t)p;
    z->s.avail_in = (unsigned)n;
    for (;;) {
        if (z->ended) {
            if (z->s.avail_in == 0)
                return SGW_OK;
            /* another stream follows */
            BZ2_bzDecompressEnd(&z->s);
            z->inited = 0;
            const char *next_in = z->s.next_in;
            unsigned avail = z->s.avail_in;
            memset(&z->s, 0, sizeof(z->s));
            if (BZ2_bzDecompressInit(&z->s, 0, 0) != BZ_OK)
                return SGW_ENOMEM;
            z->inited = 1;
            z->s.next_in = (char *)(uintptr_t)next_in;
            z->s.avail_in = avail;
            z->ended = 0;
        }
        unsigned before = z->s.avail_in;
        z->s.next_out = (char *)z->out;
        z->s.avail_out = sizeof(z->out);
        int r = BZ2_bzDecompress(&z->s);
        z->bomb.consumed += before - z->s.avail_in;
        size_t k = sizeof(z->out) - z->s.avail_out;
        if (k) {
            int rc = dec_bomb_feed(d, &z->bomb, z->out, k);
            if (rc != SGW_OK || d->dead)
                return rc;
        }
        if (r == BZ_STREAM_END) {
            z->ended = 1;
            continue;
        }
        if (r == BZ_MEM_ERROR)
            return SGW_ENOMEM;
        if (r != BZ_OK)
            return dec_fail(d, 0, "malformed bzip2 stream");
        if ((k == 0 && before == z->s.avail_in) || (z->s.avail_in == 0 && z->s.avail_out != 0))
            return SGW_OK;
    }
}

static int bz2_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_bz2 *z = (struct dec_bz2 *)d;
    z->any = 1;
    while (n > 0 && !d->dead) { /* (libbz2 counts in unsigned int) */
        size_t take = n > (1u << 30) ? (1u << 30) : n;
        int rc = bz2_run(z, p, take);
        if (rc != SGW_OK)
            return rc;
        p += take;
        n -= take;
    }
    return SGW_OK;
}

static int bz2_finish(struct dec *d)
{
    struct dec_bz2 *z = (struct dec_bz2 *)d;
    if (z->any && !z->ended)
        return dec_fail(d, 0, "truncated bzip2 stream");
    return dec_finish(d->next);
}

static void bz2_destroy(struct dec *d)
{
    struct dec_bz2 *z = (struct dec_bz2 *)d;
    if (z->inited)
        BZ2_bzDecompressEnd(&z->s);
}

static const struct dec_ops bz2_ops = {"bzip2", bz2_feed, bz2_finish, bz2_destroy};

int dec_new_bzip2(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_bz2 *z = dec_alloc(sizeof(*z), &bz2_ops, env, nest);
    if (!z) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    z->base.next = inner;
    if (BZ2_bzDecompressInit(&z->s, 0, 0) != BZ_OK) {
        dec_free(&z->base);
        return SGW_ENOMEM;
    }
    z->inited = 1;
    *out = &z->base;
    return SGW_OK;
}

int dec_looks_xz(const uint8_t *b, size_t n)
{
    return n >= 6 && memcmp(b, "\xfd" "7zXZ\x00", 6) == 0;
}

int dec_looks_zlib(const uint8_t *b, size_t n)
{
    /* the header of the usual levels (1, 6, 9; "x^" of levels 2-5 is text) */
    if (n < 8 || b[0] != 0x78 || !(b[1] == 0x01 || b[1] == 0x9c || b[1] == 0xda))
        return 0;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return 0;
    uint8_t out[4096];
    z.next_in = (Bytef *)(uintptr_t)b;
    z.avail_in = (uInt)(n < 256 ? n : 256);
    int rc = Z_OK;
    for (int k = 0; k < 16 && rc == Z_OK && z.avail_in; k++) {
        z.next_out = out;
        z.avail_out = sizeof(out);
        rc = inflate(&z, Z_NO_FLUSH);
    }
    inflateEnd(&z);
    return rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR;
}

int dec_looks_bzip2(const uint8_t *b, size_t n)
{
    /* "BZh", the block size '1'-'9', then a block's or the end's magic */
    return n >= 10 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h' && b[3] >= '1' && b[3] <= '9' &&
           (memcmp(b + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0 || memcmp(b + 4, "\x17\x72\x45\x38\x50\x90", 6) == 0);
}

/* ---- snappy (Content-Encoding: snappy: Prometheus remote write, which
 * Amazon Managed Service for Prometheus takes) ----
 *
 * The block format: the uncompressed length (varint), then literals and
 * copies of earlier output. libsnappy decodes a whole buffer only; this
 * decoder streams, keeping the last SN_WIN bytes of output for the copies.
 * Snappy's encoders (the C++ library, Go's, which Prometheus uses) compress
 * in blocks of 64 KiB whose copies stay inside their block, so no copy
 * reaches further back; one that does is refused, as is a length that is
 * not the one declared. */
#define SN_WIN 65536u

enum sn_state {
    SN_SIZE, /* the declared length (varint) */
    SN_TAG,  /* an element's tag */
    SN_EXT,  /* its extra bytes: a literal's length or a copy's offset */
    SN_LIT,  /* a literal's bytes */
};

struct dec_snappy {
    struct dec base;
    enum sn_state st;
    unsigned vshift, need, got;
    uint8_t tag;
    uint8_t ext[4];
    uint64_t want; /* the declared length */
    uint64_t made; /* bytes produced */
    uint64_t lit;  /* literal bytes to go */
    size_t out_len;
    struct dec_bomb bomb;
    uint8_t win[SN_WIN]; /* the output so far, as a ring */
    uint8_t out[OUT_CHUNK];
};

static int sn_flush(struct dec_snappy *s)
{
    size_t k = s->out_len;
    s->out_len = 0;
    return k ? dec_bomb_feed(&s->base, &s->bomb, s->out, k) : SGW_OK;
}

/* What was made before an error goes on first (as for the other codings). */
static int sn_fail(struct dec_snappy *s, const char *reason)
{
    int rc = sn_flush(s);
    return rc != SGW_OK || s->base.dead ? rc : dec_fail(&s->base, 0, "%s", reason);
}

/* Appends p[0..n) to the output (n <= OUT_CHUNK). */
static int sn_put(struct dec_snappy *s, const uint8_t *p, size_t n)
{
    int over = n > s->want - s->made;
    if (over)
        n = (size_t)(s->want - s->made); /* (the declared length goes on, whatever the split) */
    int rc = SGW_OK;
    if (s->out_len + n > OUT_CHUNK && (rc = sn_flush(s)) != SGW_OK)
        return rc;
    for (size_t i = 0; i < n;) {
        size_t at = (size_t)(s->made & (SN_WIN - 1)), k = SN_WIN - at < n - i ? SN_WIN - at : n - i;
        memcpy(s->win + at, p + i, k);
        s->made += k;
        i += k;
    }
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    return over ? sn_fail(s, "snappy data longer than declared") : SGW_OK;
}

/* A copy of len bytes from off bytes back. */
static int sn_copy(struct dec_snappy *s, uint64_t off, size_t len)
{
    if (off == 0 || off > s->made)
        return sn_fail(s, "malformed snappy data");
    if (off > SN_WIN)
        return sn_fail(s, "snappy copy beyond 64 KiB");
    uint8_t b[64]; /* (a copy is 64 bytes at most) */
    for (size_t i = 0; i < len; i++) {
        b[i] = s->win[(size_t)((s->made - off) & (SN_WIN - 1))];
        int rc = sn_put(s, b + i, 1); /* (overlapping copies repeat what they make) */
        if (rc != SGW_OK || s->base.dead)
            return rc;
    }
    return SGW_OK;
}

/* An element's tag and extra bytes are in: a literal begins or a copy is made. */
static int sn_element(struct dec_snappy *s)
{
    uint32_t x = 0;
    for (unsigned i = 0; i < s->need; i++)
        x |= (uint32_t)s->ext[i] << (8 * i);
    unsigned kind = s->tag & 3;
    s->st = SN_TAG;
    if (kind == 0) {
        s->lit = (s->need ? (uint64_t)x : (uint64_t)(s->tag >> 2)) + 1;
        s->st = SN_LIT;
        return SGW_OK;
    }
    if (kind == 1)
        return sn_copy(s, (uint64_t)(s->tag >> 5) << 8 | x, ((s->tag >> 2) & 7) + 4u);
    return sn_copy(s, x, (s->tag >> 2) + 1u);
}

static int snappy_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_snappy *s = (struct dec_snappy *)d;
    int rc = SGW_OK;
    size_t i = 0;
    s->bomb.consumed += n;
    while (i < n && rc == SGW_OK && !d->dead) {
        switch (s->st) {
        case SN_SIZE: {
            uint8_t c = p[i++];
            if (s->vshift > 28 || (s->vshift == 28 && c > 15))
                return dec_fail(d, 0, "malformed snappy data"); /* (a 32-bit length) */
            s->want |= (uint64_t)(c & 0x7f) << s->vshift;
            s->vshift += 7;
            if (!(c & 0x80))
                s->st = SN_TAG;
            break;
        }
        case SN_TAG:
            s->tag = p[i++];
            s->got = 0;
            s->need = (s->tag & 3) == 0 ? ((s->tag >> 2) >= 60 ? (s->tag >> 2) - 59u : 0u)
                      : (s->tag & 3) == 1 ? 1u
                      : (s->tag & 3) == 2 ? 2u
                                          : 4u;
            s->st = SN_EXT;
            if (s->need == 0)
                rc = sn_element(s);
            break;
        case SN_EXT:
            s->ext[s->got++] = p[i++];
            if (s->got == s->need)
                rc = sn_element(s);
            break;
        case SN_LIT: {
            size_t k = s->lit < n - i ? (size_t)s->lit : n - i;
            if (k > OUT_CHUNK)
                k = OUT_CHUNK;
            rc = sn_put(s, p + i, k);
            i += k;
            s->lit -= k;
            if (s->lit == 0)
                s->st = SN_TAG;
            break;
        }
        }
    }
    return rc != SGW_OK || d->dead ? rc : sn_flush(s);
}

static int snappy_finish(struct dec *d)
{
    struct dec_snappy *s = (struct dec_snappy *)d;
    int rc = sn_flush(s);
    if (rc != SGW_OK || d->dead)
        return rc;
    if (s->st == SN_SIZE && s->vshift == 0)
        return dec_finish(d->next); /* (an empty body) */
    if (s->st != SN_TAG || s->made != s->want)
        return sn_fail(s, "truncated snappy data");
    return dec_finish(d->next);
}

static const struct dec_ops snappy_ops = {"snappy", snappy_feed, snappy_finish, NULL};

int dec_new_snappy(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out)
{
    struct dec_snappy *s = dec_alloc_head(sizeof(*s), offsetof(struct dec_snappy, win), &snappy_ops, env, nest);
    if (!s) {
        dec_free(inner);
        return SGW_ENOMEM;
    }
    s->base.next = inner;
    *out = &s->base;
    return SGW_OK;
}
