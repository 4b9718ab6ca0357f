/* fuzz/fuzz_classifiers_stream.c — the whole inspection path as sovgw scan
 * and the gateway use it: a body through cls_stream (decoder chain, text
 * stages with their source-offset events, scanner), in one piece and cut at
 * points derived from the input. The findings, offsets included, must be
 * identical; every span must be ordered and lie inside the body when the
 * body was scanned as raw text (the offsets are then the body's own). Byte
 * 0 picks the content type and seeds the cuts. A third run runs out of its
 * time limit after some of the pieces (cls_stream_stop). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"

static struct cls_worker *worker;

static const char *const types[] = {
    "text/plain", "application/json", "application/x-ndjson", "application/x-www-form-urlencoded",
    NULL,         "text/csv",         "text/plain",           "application/json",
};

struct run {
    struct cls_finding *f;
    size_t n;
};

/* stop_after: the time limit runs out after that many pieces (SIZE_MAX:
 * never) */
static void scan(const char *ct, const uint8_t *p, size_t n, const size_t *cuts, size_t ncuts,
                 size_t stop_after, struct run *out)
{
    struct cls_stream_opts o = {.content_type = ct, .excerpts = 1};
    struct cls_stream *s = NULL;
    if (cls_stream_new(worker, &o, &s) != 0)
        abort();
    size_t off = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        if (end < off)
            continue;
        if (i == stop_after)
            cls_stream_stop(s);
        if (cls_stream_feed(s, p + off, end - off) != 0)
            abort();
        off = end;
    }
    if (cls_stream_close(s) != 0)
        abort();
    size_t nf = 0;
    const struct cls_finding *f = cls_stream_findings(s, &nf);
    out->f = nf ? malloc(nf * sizeof(*f)) : NULL;
    if (nf)
        memcpy(out->f, f, nf * sizeof(*f));
    out->n = nf;
    cls_stream_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!worker) {
        struct cls_engine *e = NULL;
        char err[256];
        if (cls_engine_new(NULL, &e, err, sizeof(err)) != 0 || cls_worker_new(e, &worker) != 0)
            abort();
        cls_engine_unref(e);
    }
    if (size < 1)
        return 0;
    const char *ct = types[data[0] & 7];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    size_t cuts[32], ncuts = n ? (size_t)(data[0] >> 3) : 0;
    uint32_t x = data[0] * 2654435761u + 7;
    for (size_t i = 0; i < ncuts; i++) {
        x = x * 1103515245u + 12345u;
        cuts[i] = (x >> 8) % (n + 1);
    }
    for (size_t a = 1; a < ncuts; a++)
        for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
            size_t t = cuts[b];
            cuts[b] = cuts[b - 1];
            cuts[b - 1] = t;
        }
    struct run one, many, cut;
    scan(ct, p, n, NULL, 0, SIZE_MAX, &one);
    scan(ct, p, n, cuts, ncuts, SIZE_MAX, &many);
    /* out of time after some of the pieces: one finding says so, the
       findings stay ordered, and nothing after it is looked at */
    scan(ct, p, n, cuts, ncuts, (size_t)(x >> 16) % (ncuts + 1), &cut);
    size_t timed_out = 0;
    for (size_t i = 0; i < cut.n; i++) {
        const struct cls_finding *a = &cut.f[i];
        timed_out += strcmp(a->reason, "inspection time limit exceeded") == 0;
        if (strcmp(a->type, "FINDINGS_TRUNCATED") == 0 || a->start > a->end ||
            (i && cut.f[i - 1].start > a->start))
            abort();
    }
    if (timed_out != 1)
        abort();
    free(cut.f);
    if (one.n != many.n)
        abort();
    for (size_t i = 0; i < one.n; i++) {
        const struct cls_finding *a = &one.f[i], *b = &many.f[i];
        if (strcmp(a->type, b->type) != 0 || a->start != b->start || a->end != b->end ||
            a->flags != b->flags || a->confidence != b->confidence ||
            strcmp(a->excerpt, b->excerpt) != 0 || strcmp(a->reason, b->reason) != 0)
            abort();
        if (a->start > a->end || (i && one.f[i - 1].start > a->start))
            abort();
        /* raw text: the body's own offsets */
        if (a->decoders[0] == '\0' && a->end > n)
            abort();
    }
    free(one.f);
    free(many.f);
    return 0;
}
