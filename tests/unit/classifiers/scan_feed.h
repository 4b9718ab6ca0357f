/* tests/unit/classifiers/scan_feed.h — what the scanner tests that scan the
 * same units two ways and compare (test_scan_skip.c, test_scan_short.c,
 * test_scan_unit_end.c, test_scan_memo.c) share: a worker, the scanner as
 * a decoder chain's sink, feeding units in random pieces, keeping the
 * findings, comparing two findings. */
#ifndef SGW_TESTS_UNIT_CLASSIFIERS_SCAN_FEED_H
#define SGW_TESTS_UNIT_CLASSIFIERS_SCAN_FEED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "classifiers/internal.h"

/* A worker of an engine compiled from cfg (NULL: the default packs); the
 * engine goes with the worker. Aborts the test when it cannot be made. */
static inline struct cls_worker *worker(const struct cls_config *cfg)
{
    struct cls_engine *e = NULL;
    struct cls_worker *w = NULL;
    char err[256];
    if (cls_engine_new(cfg, &e, err, sizeof(err)) != 0 || cls_worker_new(e, &w) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        abort();
    }
    cls_engine_unref(e);
    return w;
}

/* The scanner as a decoder chain's final sink, with its one-call unit ends
 * (data_end, key_end) and source offsets (origin, where), as the stream
 * (stream.c) makes it. */
static inline struct cls_sink scanner_sink(struct cls_scanner *sc)
{
    struct cls_sink s = {.ctx = sc,
                         .data = cls_scanner_data,
                         .boundary = cls_scanner_boundary,
                         .context = cls_scanner_context,
                         .uninspectable = cls_scanner_uninspectable,
                         .data_end = cls_scanner_data_end,
                         .key_end = cls_scanner_key_end,
                         .origin = cls_scanner_origin,
                         .where = cls_scanner_where};
    return s;
}

struct fset {
    size_t n;
    struct cls_finding f[CLS_MAX_FINDINGS + 40];
};

/* units[u] after its key keys[u] (if any), each in random pieces of
 * 1..maxpiece bytes (rnd: the test's generator), a boundary after each, then
 * the end of the scan. Any scanner error aborts the test. */
static inline void feed_units(struct cls_scanner *sc, char **units, const size_t *lens,
                              const char **keys, size_t nu, size_t maxpiece, unsigned (*rnd)(void))
{
    for (size_t u = 0; u < nu; u++) {
        if (keys[u] && cls_scanner_context(sc, (const uint8_t *)keys[u], strlen(keys[u])) != 0)
            abort();
        size_t off = 0;
        while (off < lens[u]) {
            size_t k = 1 + rnd() % maxpiece;
            if (k > lens[u] - off)
                k = lens[u] - off;
            if (cls_scanner_data(sc, (const uint8_t *)units[u] + off, k) != 0)
                abort();
            off += k;
        }
        if (cls_scanner_boundary(sc) != 0)
            abort();
    }
    if (cls_scanner_finish(sc) != 0)
        abort();
}

static inline void keep_findings(const struct cls_scanner *sc, struct fset *out)
{
    size_t n = 0;
    const struct cls_finding *f = cls_scanner_findings(sc, &n);
    out->n = n;
    if (n)
        memcpy(out->f, f, n * sizeof(*f));
}

static inline int same_finding(const struct cls_finding *a, const struct cls_finding *b)
{
    return strcmp(a->type, b->type) == 0 && a->start == b->start && a->end == b->end &&
           a->confidence == b->confidence && a->flags == b->flags && a->category == b->category &&
           strcmp(a->excerpt, b->excerpt) == 0;
}

#endif
