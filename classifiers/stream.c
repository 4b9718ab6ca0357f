/* classifiers/stream.c — one body: the decoder chain built from the content
 * type and encoding, with the scanner as its final sink. */
#include <stdlib.h>
#include <string.h>

#include "classifiers/engine.h"
#include "classifiers/internal.h"
#include "common/sgw.h"

struct cls_stream {
    struct cls_worker *w;          /* borrowed; outlives the stream */
    struct cls_scanner *sc;        /* owned */
    struct cls_decode_chain *chain; /* owned, built in chain_mem */
    void *chain_mem;               /* owned: cls_decode_chain_mem() bytes */
    struct cls_sink sink;          /* the chain may keep a pointer to it */
    int closed;
    int failed;
    uint64_t limit_ns; /* max_time_ms (0: none) */
    uint64_t spent_ns; /* time inside feed and close so far */
};

/* A call begins: the scanner's deadline is what is left of the limit.
 * Returns the call's start (0: no limit). */
static uint64_t limit_begin(struct cls_stream *s)
{
    if (!s->limit_ns || cls_scanner_stopped(s->sc))
        return 0;
    uint64_t t0 = cls_clock_ns();
    cls_scanner_set_deadline(s->sc, t0 + (s->limit_ns - s->spent_ns));
    return t0;
}

/* ... and ends: its time counts; past the limit the scanner stops. */
static void limit_end(struct cls_stream *s, uint64_t t0)
{
    if (!t0)
        return;
    s->spent_ns += cls_clock_ns() - t0;
    if (s->spent_ns >= s->limit_ns)
        cls_scanner_stop(s->sc);
    else
        cls_scanner_set_deadline(s->sc, 0);
}

static const char *stream_path(void *arg)
{
    const struct cls_stream *s = arg;
    return s->chain ? cls_decode_chain_path(s->chain) : "";
}

int cls_stream_new(struct cls_worker *w, const struct cls_stream_opts *opts, struct cls_stream **out)
{
    static const struct cls_stream_opts none = {0};
    if (!w || !out)
        return SGW_EINVAL;
    *out = NULL;
    if (!opts)
        opts = &none;
    /* the worker's spare (the last stream freed) is reused with its chain
       memory: one allocation less per body, and no large block through
       malloc and free each time */
    struct cls_stream *s = w->spare_stream;
    void *mem = NULL;
    if (s) {
        w->spare_stream = NULL;
        mem = s->chain_mem;
        memset(s, 0, sizeof(*s));
    } else if (!(s = calloc(1, sizeof(*s)))) {
        return SGW_ENOMEM;
    }
    s->w = w;
    s->chain_mem = mem ? mem : malloc(cls_decode_chain_mem());
    if (!s->chain_mem) {
        free(s);
        return SGW_ENOMEM;
    }
    int rc = cls_scanner_new(w, opts->excerpts, stream_path, s, &s->sc);
    if (rc != SGW_OK)
        goto fail;
    s->sink.ctx = s->sc;
    s->sink.data = cls_scanner_data;
    s->sink.boundary = cls_scanner_boundary;
    s->sink.context = cls_scanner_context;
    s->sink.uninspectable = cls_scanner_uninspectable;
    s->sink.data_end = cls_scanner_data_end;
    s->sink.key_end = cls_scanner_key_end;
    s->sink.origin = cls_scanner_origin;
    s->sink.where = cls_scanner_where;
    struct cls_decode_limits lim = {
        .max_decoded = opts->max_decoded ? opts->max_decoded : 64ull << 20,
        .max_ratio = opts->max_ratio ? opts->max_ratio : 100,
        /* max_depth 0: the chain's default (JSON/CBOR nesting) */
    };
    rc = cls_decode_chain_init(s->chain_mem, opts->content_type, opts->content_encoding, &lim, &s->sink, &s->chain);
    if (rc != SGW_OK)
        goto fail;
    s->limit_ns = (uint64_t)opts->max_time_ms * 1000000u;
    *out = s;
    return SGW_OK;
fail:
    cls_stream_free(s);
    return rc < 0 ? rc : SGW_ERR;
}

int cls_stream_feed(struct cls_stream *s, const void *buf, size_t len)
{
    if (!s || s->closed || (len && !buf))
        return SGW_EINVAL;
    if (s->failed)
        return SGW_ERR;
    if (len == 0)
        return SGW_OK;
    if (cls_scanner_stopped(s->sc))
        return SGW_OK; /* (out of time: the rest is not looked at) */
    uint64_t t0 = limit_begin(s);
    int rc = cls_decode_chain_feed(s->chain, (const uint8_t *)buf, len);
    limit_end(s, t0);
    if (rc < 0) {
        s->failed = 1;
        return rc;
    }
    return SGW_OK;
}

int cls_stream_close(struct cls_stream *s)
{
    if (!s)
        return SGW_EINVAL;
    if (s->closed)
        return s->failed ? SGW_ERR : SGW_OK;
    s->closed = 1;
    if (s->failed)
        return SGW_ERR;
    uint64_t t0 = limit_begin(s);
    int rc = cls_scanner_stopped(s->sc) ? SGW_OK : cls_decode_chain_finish(s->chain);
    limit_end(s, t0);
    if (rc < 0) {
        s->failed = 1;
        return rc;
    }
    rc = cls_scanner_finish(s->sc);
    if (rc != SGW_OK) {
        s->failed = 1;
        return rc;
    }
    return SGW_OK;
}

const struct cls_finding *cls_stream_findings(const struct cls_stream *s, size_t *n)
{
    if (!s || !n) {
        if (n)
            *n = 0;
        return NULL;
    }
    return cls_scanner_findings(s->sc, n);
}

void cls_stream_stop(struct cls_stream *s)
{
    cls_scanner_stop(s->sc);
}

void cls_stream_free(struct cls_stream *s)
{
    if (!s)
        return;
    cls_decode_chain_release(s->chain);
    cls_scanner_free(s->sc);
    if (!s->w->spare_stream) {
        s->w->spare_stream = s;
        return;
    }
    free(s->chain_mem);
    free(s);
}

void cls_stream_drop_spare(struct cls_worker *w)
{
    if (w && w->spare_stream) {
        free(w->spare_stream->chain_mem);
        free(w->spare_stream);
        w->spare_stream = NULL;
    }
}
