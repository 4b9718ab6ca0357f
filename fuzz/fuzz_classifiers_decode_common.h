/* fuzz/fuzz_classifiers_decode_common.h — shared by the decoder fuzz targets:
 * runs a decoder chain over an input once in one call and once cut at
 * pseudo-random points, and aborts when the two transcripts differ (the
 * streaming contract: any split gives the same output) or when a decoder
 * breaks the sink contract (empty data call, unterminated reason). The
 * sink takes source offsets (cls_sink.origin) the way the scanner does,
 * and the events are in the transcript; for plain text they must account
 * for every byte of the input. */
#ifndef FUZZ_CLASSIFIERS_DECODE_COMMON_H
#define FUZZ_CLASSIFIERS_DECODE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

struct fz_rec {
    uint8_t *buf;
    size_t len, cap;
    size_t total; /* bytes received, even when beyond the cap */
    size_t calls;
    /* source offsets, as the scanner follows them */
    uint64_t src;  /* of the next data byte (outside a region) */
    uint64_t span; /* the next data byte stands for this many (SPAN) */
    int spanned;   /* a SPAN's byte is next (its width may be 0: a byte the
                      normalisation put in, the gap around tag characters) */
    int region;    /* in a COPY region */
    int unins;
};

#define FZ_REC_CAP (4u << 20)

static void fz_put(struct fz_rec *r, const void *p, size_t n)
{
    r->total += n;
    if (r->len + n > FZ_REC_CAP)
        n = FZ_REC_CAP - r->len;
    if (n == 0)
        return;
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n)
            cap *= 2;
        uint8_t *b = realloc(r->buf, cap);
        if (!b)
            abort();
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static int fz_data(void *ctx, const uint8_t *p, size_t n)
{
    struct fz_rec *r = ctx;
    if (n == 0)
        abort();
    if (!r->region) {
        r->src += r->spanned ? r->span + n - 1 : n;
        r->span = 0;
        r->spanned = 0;
    }
    fz_put(ctx, p, n);
    return SGW_OK;
}

static int fz_origin(void *ctx, int kind, uint64_t src, uint64_t w)
{
    struct fz_rec *r = ctx;
    if (r->spanned) /* a SPAN's byte comes right after it */
        abort();
    switch (kind) {
    case CLS_ORIG_SKIP:
        r->src += w;
        break;
    case CLS_ORIG_SPAN:
        if (r->region)
            abort();
        r->span = w;
        r->spanned = 1;
        break;
    case CLS_ORIG_COPY:
    case CLS_ORIG_COPY_B64:
    case CLS_ORIG_COPY_HEX:
    case CLS_ORIG_COPY_TWICE:
        r->region = 1;
        break;
    case CLS_ORIG_DIRTY:
        if (!r->region)
            abort(); /* only inside a copy */
        break;
    case CLS_ORIG_AT:
    case CLS_ORIG_COPY_AT:
    case CLS_ORIG_SEAM:
        r->region = 0;
        r->src = src;
        break;
    default:
        abort();
    }
    uint64_t ev[3] = {(uint64_t)kind, src, w};
    fz_put(ctx, "\x00@", 2);
    fz_put(ctx, ev, sizeof(ev));
    return SGW_OK;
}

static uint64_t fz_where(void *ctx)
{
    const struct fz_rec *r = ctx;
    return r->src;
}

static int fz_boundary(void *ctx)
{
    fz_put(ctx, "\x00|", 2);
    return SGW_OK;
}

static int fz_context(void *ctx, const uint8_t *p, size_t n)
{
    if (n > DEC_CONTEXT_MAX)
        abort();
    fz_put(ctx, "\x00{", 2);
    fz_put(ctx, p, n);
    fz_put(ctx, "}", 1);
    return SGW_OK;
}

static int fz_unins(void *ctx, const char *reason, uint32_t flags)
{
    size_t n = strnlen(reason, DEC_REASON_LEN);
    if (n == DEC_REASON_LEN || n == 0)
        abort();
    ((struct fz_rec *)ctx)->unins = 1;
    fz_put(ctx, "\x00!", 2);
    fz_put(ctx, reason, n);
    fz_put(ctx, &flags, sizeof(flags));
    return SGW_OK;
}

/* Runs ct/ce over p[0..n) cut at the offsets in cuts[] (ascending). */
static void fz_run(const char *ct, const char *ce, const uint8_t *p, size_t n, const size_t *cuts,
                   size_t ncuts, struct fz_rec *r)
{
    struct cls_decode_limits lim = {1u << 20, 100, 32};
    struct cls_sink s = {.ctx = r,
                         .data = fz_data,
                         .boundary = fz_boundary,
                         .context = fz_context,
                         .uninspectable = fz_unins,
                         .origin = fz_origin,
                         .where = fz_where};
    struct cls_decode_chain *c = NULL;
    if (cls_decode_chain_new(ct, ce, &lim, &s, &c) != SGW_OK)
        abort();
    size_t off = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        if (end < off || end > n)
            continue;
        if (cls_decode_chain_feed(c, p + off, end - off) != SGW_OK)
            abort();
        off = end;
    }
    if (cls_decode_chain_finish(c) != SGW_OK)
        abort();
    if (strlen(cls_decode_chain_path(c)) >= DEC_PATH_LEN)
        abort();
    /* plain text is the text pipeline's source: every byte accounted for */
    if (strcmp(cls_decode_chain_path(c), "text") == 0 && !r->unins && n && p[0] != '{' &&
        p[0] != '[' && (r->region || r->src != n)) {
        fprintf(stderr, "source offsets: %llu of %zu bytes (region %d)\n",
                (unsigned long long)r->src, n, r->region);
        abort();
    }
    cls_decode_chain_free(c);
}

/* One-shot vs. split at points derived from seed; aborts on a difference. */
static void fz_check(const char *ct, const char *ce, const uint8_t *p, size_t n, uint32_t seed)
{
    size_t cuts[16];
    size_t ncuts = 0;
    uint32_t x = seed * 2654435761u + 1;
    size_t at = 0;
    while (ncuts < SGW_ARRAY_LEN(cuts) && n > 0) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        at += 1 + x % (n / 4 + 2);
        if (at >= n)
            break;
        cuts[ncuts++] = at;
    }
    struct fz_rec a = {0}, b = {0};
    fz_run(ct, ce, p, n, NULL, 0, &a);
    fz_run(ct, ce, p, n, cuts, ncuts, &b);
    if (a.total != b.total || a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len) != 0)) {
        fprintf(stderr, "split changed the output (ct=%s ce=%s, %zu cuts)\n", ct ? ct : "-",
                ce ? ce : "-", ncuts);
        if (getenv("FZ_DUMP")) { /* both transcripts, and where it was cut */
            for (size_t i = 0; i < ncuts; i++)
                fprintf(stderr, "cut %zu\n", cuts[i]);
            FILE *f = fopen("fz-one.out", "wb");
            if (f) {
                fwrite(a.buf, 1, a.len, f);
                fclose(f);
            }
            f = fopen("fz-split.out", "wb");
            if (f) {
                fwrite(b.buf, 1, b.len, f);
                fclose(f);
            }
            fprintf(stderr, "transcripts in fz-one.out and fz-split.out\n");
        }
        abort();
    }
    free(a.buf);
    free(b.buf);
}

#endif
