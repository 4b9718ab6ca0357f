/* Split invariance of the scanner: the input is scanned in one piece and in
 * pieces cut at points derived from the input itself (byte 0 seeds the
 * cuts, byte 1 picks unit boundaries); the findings must be identical. The
 * engine has every pack plus a dictionary, a custom regex and fingerprints so
 * every path runs. Byte 1's bit 2 picks a second engine without fingerprints
 * instead: there the scanner decides most windows without opening them, and
 * a third scan with every window opened must find exactly the same; the
 * split scan runs the short path beside skip_window (check mode) and any
 * window it would skip that skip_window does not skip alike aborts. Byte
 * 1's bit 3 adds source-offset events (cls_sink.origin) after a marker
 * byte: the findings' mapped spans must not depend on the split either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "classifiers/internal.h"

static struct cls_worker *worker, *worker_nofp;

static void init(void)
{
    static const char *const terms[] = {"falcon", "blue bird", "x", "\xc3\x84rztliche  Akte"};
    static struct cls_dictionary dict = {"CODENAME", terms, 4};
    static struct cls_custom_regex rx[] = {{"TICKET", "T-[0-9]{3,6}", NULL}, {"ACCT", "AC[0-9]{8}", "luhn"}};
    static uint8_t hashes[1][32];
    static struct cls_fingerprints fp = {"FP", {7}, (const uint8_t(*)[32])hashes, 1};
    struct cls_config cfg = {NULL, 0, &dict, 1, rx, 2, &fp, 1};
    struct cls_engine *e = NULL;
    char err[256];
    if (cls_engine_new(&cfg, &e, err, sizeof(err)) != 0 || cls_worker_new(e, &worker) != 0)
        abort();
    cls_engine_unref(e);
    cfg.fingerprints = NULL;
    cfg.n_fingerprints = 0;
    if (cls_engine_new(&cfg, &e, err, sizeof(err)) != 0 || cls_worker_new(e, &worker_nofp) != 0)
        abort();
    cls_engine_unref(e);
}

struct run {
    struct cls_finding *f;
    size_t n;
};

/* boundaries: after every byte equal to the marker (when marker != 0), then
 * a context (the 8 bytes before, like a JSON key) when the byte before the
 * marker is odd; a context alone, inside a unit, after every byte equal to
 * ctxmark (when != 0). The scanner batches small pieces with their
 * boundaries and contexts: any split must still give the same findings. */
/* after a byte equal to this (when != 0): an origin event made of the
 * bytes around it */
static uint8_t omark;

static void origin_event(struct cls_scanner *sc, const uint8_t *p, size_t n, size_t k)
{
    uint8_t a = k > 0 ? p[k - 1] : 0, b = k + 1 < n ? p[k + 1] : 0;
    int kind = (int)(a % 8); /* SKIP SPAN COPY AT COPY_AT COPY_B64 COPY_HEX DIRTY */
    if (cls_scanner_origin(sc, kind, (uint64_t)k * 3 + b, (uint64_t)(b & 31) + 1) != 0)
        abort();
}

static void scan(struct cls_worker *wk, int skip, const uint8_t *p, size_t n, const size_t *cuts,
                 size_t ncuts, uint8_t marker, uint8_t ctxmark, struct run *out)
{
    struct cls_scanner *sc = NULL;
    if (cls_scanner_new(wk, 1, NULL, NULL, &sc) != 0)
        abort();
    cls_scanner_set_skip(sc, skip != 0);
    if (skip == 2)
        cls_scanner_set_short(sc, 2);
    size_t prev = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        /* split further at markers so boundaries fall at the same offsets */
        size_t s = prev;
        for (size_t k = prev; k < end; k++) {
            int bnd = marker && p[k] == marker, ctx = ctxmark && p[k] == ctxmark;
            int org = omark && p[k] == omark;
            if (!bnd && !ctx && !org)
                continue;
            size_t c0 = k >= 8 ? k - 8 : 0;
            if (cls_scanner_data(sc, p + s, k + 1 - s) != 0)
                abort();
            if (bnd && cls_scanner_boundary(sc) != 0)
                abort();
            if ((ctx || (bnd && k > 0 && (p[k - 1] & 1))) && cls_scanner_context(sc, p + c0, k - c0) != 0)
                abort();
            if (org)
                origin_event(sc, p, n, k);
            s = k + 1;
        }
        if (end > s && cls_scanner_data(sc, p + s, end - s) != 0)
            abort();
        prev = end;
    }
    if (cls_scanner_finish(sc) != 0)
        abort();
    if (cls_scanner_stats(sc)->short_bad)
        abort();
    size_t nf = 0;
    const struct cls_finding *f = cls_scanner_findings(sc, &nf);
    out->f = nf ? malloc(nf * sizeof(*f)) : NULL;
    if (nf)
        memcpy(out->f, f, nf * sizeof(*f));
    out->n = nf;
    cls_scanner_free(sc);
}

static void same(const struct run *a, const struct run *b, size_t n)
{
    if (a->n != b->n)
        abort();
    for (size_t i = 0; i < a->n; i++) {
        const struct cls_finding *x = &a->f[i], *y = &b->f[i];
        if (strcmp(x->type, y->type) != 0 || x->start != y->start || x->end != y->end ||
            x->confidence != y->confidence || x->flags != y->flags || strcmp(x->excerpt, y->excerpt) != 0 ||
            x->end > n || x->start > x->end)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!worker)
        init();
    if (size < 2)
        return 0;
    uint32_t seed = data[0] * 2654435761u + 1;
    uint8_t marker = data[1] & 1 ? data[1] : 0;
    uint8_t ctxmark = data[1] & 2 ? (uint8_t)(data[1] ^ 0x40) : 0;
    omark = data[1] & 8 ? (uint8_t)(data[1] ^ 0x5a) : 0;
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    size_t cuts[64], ncuts = n ? (size_t)(data[0] % 64) : 0;
    for (size_t i = 0; i < ncuts; i++) {
        seed = seed * 1103515245u + 12345u;
        cuts[i] = (seed >> 8) % (n + 1);
    }
    for (size_t a = 1; a < ncuts; a++)
        for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
            size_t t = cuts[b];
            cuts[b] = cuts[b - 1];
            cuts[b - 1] = t;
        }
    struct cls_worker *wk = data[1] & 4 ? worker_nofp : worker;
    struct run one, many, opened = {NULL, 0};
    scan(wk, 1, p, n, NULL, 0, marker, ctxmark, &one);
    scan(wk, wk == worker_nofp ? 2 : 1, p, n, cuts, ncuts, marker, ctxmark, &many);
    if (wk == worker_nofp)
        scan(wk, 0, p, n, NULL, 0, marker, ctxmark, &opened);
    /* (source offsets made up by the events may lie past the input) */
    size_t bound = omark ? SIZE_MAX : n;
    same(&one, &many, bound);
    if (wk == worker_nofp)
        same(&one, &opened, bound);
    free(one.f);
    free(many.f);
    free(opened.f);
    return 0;
}
