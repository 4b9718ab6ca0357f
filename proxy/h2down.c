/* proxy/h2down.c — downstream HTTP/2 over cleartext with prior knowledge
 * (RFC 9113 §3.3): a connection whose first bytes are the client preface
 * becomes an nghttp2 server session on the same listener. Each stream is one
 * proxied request, exactly like an absolute-form HTTP/1.1 request:
 * :authority names the target host:port, :scheme says http (plain upstream)
 * or https (TLS upstream), :path is the origin-form path. The request then
 * runs through the same state machine as HTTP/1.1 (conn.c: decide before
 * resolve, private-range guard, pins, hold, upstream pool, decision log),
 * answering through the px_req_resp_* sink, which lands here.
 *
 * Bounds: request DATA is given back to flow control only once the body sink
 * took it (no automatic WINDOW_UPDATE), so a stalled upstream stalls the
 * client's stream (64 KiB per stream, 1 MiB per connection); response bytes
 * wait per stream in d_out, bounded by PX_H2D_STREAM_WM before the upstream
 * is paused, and leave through a deferred data provider whose frames are
 * written without a copy. Frames are never written from inside nghttp2's
 * receive callbacks or the sink: those schedule the connection's kick.
 *
 * Attacks: nghttp2 enforces the RFC 9113 header rules (pseudo-headers,
 * connection-specific fields, TE, content-length vs DATA), bounds SETTINGS
 * entries, outbound ACKs (SETTINGS/PING floods), CONTINUATION frames per
 * header block, and the stream reset rate (rapid reset, CVE-2023-44487: the
 * session ends with GOAWAY). The gateway adds a bound on the decoded header
 * list (HPACK bomb: fields beyond max-head are counted, not stored), the
 * stream limit (SETTINGS_MAX_CONCURRENT_STREAMS), a per-stream timer, an idle
 * timer when no stream is open and a write-stall timer for the connection. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proxy/internal.h"

#define PX_H2D_STREAM_WM (128u * 1024u) /* response bytes queued per stream: pause upstream */
#define PX_H2D_STREAM_LOW (32u * 1024u) /* ... and resume below this */
#define PX_H2D_CONN_WINDOW (1024 * 1024) /* connection receive window */
#define PX_H2D_RST_BURST 1000            /* client stream resets tolerated in a burst */
#define PX_H2D_RST_RATE 33               /* ... and per second after it */
#define PX_H2D_BIG 4096                  /* nghttp2 blocks this large come from mmap */
#define PX_H2D_MAPS 6                    /* ... at most this many per session */
#define PX_H2D_FRAMEBUF (9 + 1 + 16384)  /* nghttp2's outbound frame buffer chunk */
#define PX_H2D_TRIM_MS 250               /* idle this long: give the big blocks' pages back */

/* Memory of an idle session. nghttp2 allocates ~25 KiB per session up front,
 * most of it a 16 KiB outbound frame buffer and a 4 KiB stream hash table.
 * Blocks of PX_H2D_BIG and more are private anonymous mappings (untouched
 * pages cost no RSS), and once the session has had no stream and nothing to
 * send for PX_H2D_TRIM_MS their pages go back to the kernel: the frame
 * buffer's content is dead between frames, and other blocks only when they
 * are all zero (an empty stream table), so MADV_DONTNEED (which refills with
 * zeros) changes nothing nghttp2 can observe. */
struct h2d_block {
    void *p;
    size_t len;
    int zeroed;                   /* from calloc: only trimmed when still all zero */
    int framebuf;                 /* an outbound frame buffer: dead between frames */
};

struct px_h2d {
    nghttp2_session *s;           /* owned */
    struct px_req *streams;       /* requests of open streams (owned, d_next list) */
    int n_streams;
    int goaway;                   /* GOAWAY submitted: no new streams, close when done */
    int read_paused;              /* output above the high watermark: input waits */
    int blocked;                  /* a send callback hit the high watermark */
    int resume;                   /* a stream drained: resume paused upstreams */
    int any_blocked;              /* some stream may have paused its upstream (d_blocked) */
    int trim_pending;             /* the idle timer's first stage trims memory */
    double rst_tokens;            /* streams that may still end in an error (bucket) */
    double rst_last_ms;
    struct h2d_block big[PX_H2D_MAPS];
};

/* ------------------------------------------------------------ allocator */

static void *big_alloc(struct px_h2d *h, size_t n, int zeroed, int framebuf)
{
    if (n < PX_H2D_BIG)
        return NULL;
    for (size_t i = 0; i < PX_H2D_MAPS; i++) {
        if (h->big[i].p)
            continue;
        size_t pg = (size_t)sysconf(_SC_PAGESIZE);
        size_t len = (n + pg - 1) / pg * pg;
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        h->big[i].p = p;
        h->big[i].len = len;
        h->big[i].zeroed = zeroed;
        h->big[i].framebuf = framebuf;
        return p;
    }
    return NULL;
}

static struct h2d_block *big_find(struct px_h2d *h, const void *p)
{
    for (size_t i = 0; i < PX_H2D_MAPS && p; i++)
        if (h->big[i].p == p)
            return &h->big[i];
    return NULL;
}

static void *mem_malloc(size_t n, void *ud)
{
    void *p = big_alloc(ud, n, 0, 0);
    return p ? p : malloc(n);
}

static void mem_free(void *p, void *ud)
{
    struct h2d_block *b = big_find(ud, p);
    if (!b) {
        free(p);
        return;
    }
    munmap(b->p, b->len);
    b->p = NULL;
}

static void *mem_calloc(size_t k, size_t n, void *ud)
{
    if (n && k > SIZE_MAX / n)
        return NULL;
    void *p = big_alloc(ud, k * n, 1, 0); /* fresh mappings are zero */
    return p ? p : calloc(k, n);
}

static void *mem_realloc(void *p, size_t n, void *ud)
{
    if (!p) {
        /* nghttp2's frame buffer chunks (and only they) start as realloc(NULL,
         * 9 + 1 + 16384); its other buffers come from malloc or calloc. */
        void *q = big_alloc(ud, n, 0, n >= PX_H2D_FRAMEBUF);
        return q ? q : malloc(n);
    }
    struct h2d_block *b = big_find(ud, p);
    if (!b)
        return realloc(p, n);
    void *q = mem_malloc(n, ud);
    if (!q)
        return NULL;
    memcpy(q, p, b->len < n ? b->len : n);
    mem_free(p, ud);
    return q;
}

static int all_zero(const void *p, size_t n)
{
    const uint64_t *w = p;
    for (size_t i = 0; i < n / sizeof(*w); i++)
        if (w[i])
            return 0;
    return 1;
}

/* The session is idle (no stream, nothing queued): see struct h2d_block. */
static void h2d_trim(struct px_h2d *h)
{
    if (h->streams || nghttp2_session_want_write(h->s))
        return;
    for (size_t i = 0; i < PX_H2D_MAPS; i++) {
        struct h2d_block *b = &h->big[i];
        if (!b->p)
            continue;
        if (b->framebuf || all_zero(b->p, b->len))
            madvise(b->p, b->len, MADV_DONTNEED);
    }
}

static void h2d_schedule(struct px_conn *c)
{
    if (!c->dead)
        event_active(c->kick, EV_TIMEOUT, 1);
}

static struct px_runtime *h2d_rt(const struct px_conn *c)
{
    return c->w->rt;
}

/* ------------------------------------------------------------- streams */

static void stream_link(struct px_h2d *h, struct px_req *r)
{
    r->d_prev = NULL;
    r->d_next = h->streams;
    if (h->streams)
        h->streams->d_prev = r;
    h->streams = r;
    h->n_streams++;
}

static void stream_unlink(struct px_h2d *h, struct px_req *r)
{
    if (r->d_prev)
        r->d_prev->d_next = r->d_next;
    else if (h->streams == r)
        h->streams = r->d_next;
    if (r->d_next)
        r->d_next->d_prev = r->d_prev;
    r->d_prev = r->d_next = NULL;
    h->n_streams--;
}

/* Request DATA nobody will read any more goes back to flow control: the
 * connection window is shared by every stream. */
static void drop_body(struct px_conn *c, struct px_req *r)
{
    size_t n = r->d_in && r->d_body ? evbuffer_get_length(r->d_in) : 0;
    if (n == 0 || !c->h2d)
        return;
    evbuffer_drain(r->d_in, n);
    if (nghttp2_session_consume(c->h2d->s, r->d_sid, n) != 0)
        nghttp2_session_consume_connection(c->h2d->s, n);
}

/* Frees a stream's request; the request state machine is done with it. */
static void stream_release(struct px_conn *c, struct px_req *r, const char *why)
{
    if (r->d_tun) {
        px_req_stream_tunnel_done(r, r->d_tun_shut && r->d_out_eof ? "tunnel closed" : why);
        bufferevent_free(r->d_tun);
        r->d_tun = NULL;
    }
    px_req_stream_gone(r, why);
    drop_body(c, r);
    if (r->d_timer_on) {
        px_deadline_stop(&r->d_dl);
        r->d_timer_on = 0;
    }
    px_worker_evbuf_put(c->w, r->d_in);
    r->d_in = NULL;
    px_worker_evbuf_put(c->w, r->d_out);
    r->d_out = NULL;
    px_req_stream_free(r);
}

/* No stream open: the connection waits for the next one, up to idle-timeout,
 * or closes now when it is going away. */
static void h2d_idle_check(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    if (c->dead || c->closing || h->n_streams > 0)
        return;
    if (h->goaway || c->read_eof) {
        h2d_schedule(c); /* the kick flushes the GOAWAY, then closes */
        return;
    }
    if (c->tmode != PX_TM_RESP) {
        int ms = h2d_rt(c)->cfg->idle_timeout_ms;
        h->trim_pending = ms > PX_H2D_TRIM_MS;
        px_conn_timer(c, PX_TM_IDLE, h->trim_pending ? PX_H2D_TRIM_MS : ms);
    }
}

/* ----------------------------------------------------------- callbacks */

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    struct px_conn *c = ud;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) >= PX_HIGH_WM) {
        c->h2d->blocked = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    if (evbuffer_add(out, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

/* DATA frames: the 9-byte header, then the stream's bytes moved without a copy. */
static int on_send_data(nghttp2_session *s, nghttp2_frame *f, const uint8_t *framehd, size_t len,
                        nghttp2_data_source *src, void *ud)
{
    struct px_conn *c = ud;
    struct px_req *r = src->ptr;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) >= PX_HIGH_WM) {
        c->h2d->blocked = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    if (!r || !r->d_out || evbuffer_get_length(r->d_out) < len)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (evbuffer_add(out, framehd, 9) != 0 || evbuffer_remove_buffer(r->d_out, out, len) != (int)len)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (r->d_blocked && evbuffer_get_length(r->d_out) < PX_H2D_STREAM_LOW)
        c->h2d->resume = 1;
    if (r->d_tmode == PX_TM_RESP && r->d_timer_on)
        px_h2d_timer_set(r, PX_TM_RESP, h2d_rt(c)->cfg->idle_timeout_ms);
    return 0;
}

static ssize_t data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    struct px_req *r = src->ptr;
    if (!r)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t have = r->d_out ? evbuffer_get_length(r->d_out) : 0;
    if (have == 0 && !r->d_out_eof) {
        r->d_deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = have < len ? have : len;
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (r->d_out_eof && n == have)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Streams ending in an error, whichever side reset them: the rapid-reset
 * bound nghttp2 1.52 applies counts only RST_STREAM from the client, not the
 * resets a client provokes from the server ("MadeYouReset", CVE-2025-8671:
 * WINDOW_UPDATE 0, DATA beyond the window, frames on a closed stream). Same
 * bucket size and rate; when it is empty the session ends with GOAWAY. */
static int reset_budget(struct px_h2d *h)
{
    double now = px_now_ms();
    if (h->rst_last_ms == 0)
        h->rst_tokens = PX_H2D_RST_BURST;
    else
        h->rst_tokens += (now - h->rst_last_ms) * PX_H2D_RST_RATE / 1000.0;
    if (h->rst_tokens > PX_H2D_RST_BURST)
        h->rst_tokens = PX_H2D_RST_BURST;
    h->rst_last_ms = now;
    if (h->rst_tokens < 1.0)
        return 0;
    h->rst_tokens -= 1.0;
    return 1;
}

/* ------------------------------------------------- CONNECT over HTTP/2 */

/* Client DATA -> upstream socket, while its output is below PX_TUNNEL_WM;
 * what is moved goes back to the client's window. The client's END_STREAM
 * becomes a TCP half-close once everything before it is written. */
static void tun_pump_up(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (c->dead || !r->d_tun || r->d_tun_shut)
        return;
    struct evbuffer *out = bufferevent_get_output(r->d_tun);
    size_t n = evbuffer_get_length(r->d_in);
    size_t have = evbuffer_get_length(out);
    if (n && have < PX_TUNNEL_WM) {
        size_t take = n < PX_TUNNEL_WM - have ? n : PX_TUNNEL_WM - have;
        evbuffer_remove_buffer(r->d_in, out, take);
        r->bytes_in += take;
        px_h2d_consumed(r, take);
        px_h2d_timer_set(r, PX_TM_RESP, h2d_rt(c)->cfg->idle_timeout_ms);
    }
    if (r->d_in_end && evbuffer_get_length(r->d_in) == 0) {
        if (evbuffer_get_length(out) == 0) {
            evutil_socket_t fd = bufferevent_getfd(r->d_tun);
            if (fd >= 0)
                shutdown(fd, SHUT_WR);
            r->d_tun_shut = 1;
        } else {
            bufferevent_setwatermark(r->d_tun, EV_WRITE, 0, 0); /* called back when empty */
        }
    }
}

/* Upstream bytes -> the stream's DATA, paused while PX_H2D_STREAM_WM wait. */
static void tun_read_cb(struct bufferevent *bev, void *arg)
{
    struct px_req *r = arg;
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    if (r->d_out && evbuffer_get_length(r->d_out) >= PX_H2D_STREAM_WM) {
        r->d_blocked = 1;
        c->h2d->any_blocked = 1;
        bufferevent_disable(bev, EV_READ);
        return;
    }
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    if (n == 0)
        return;
    px_h2d_resp_data(r, NULL, in, n);
    r->bytes_out += n;
    px_h2d_timer_set(r, PX_TM_RESP, h2d_rt(c)->cfg->idle_timeout_ms);
}

static void tun_write_cb(struct bufferevent *bev, void *arg)
{
    struct px_req *r = arg;
    if (!r->conn->dead)
        tun_pump_up(r);
    h2d_schedule(r->conn);
}

static void tun_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct px_req *r = arg;
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    if (what & BEV_EVENT_EOF) {
        /* Upstream FIN: END_STREAM after what it sent (RFC 9113 §8.5). */
        bufferevent_disable(bev, EV_READ);
        struct evbuffer *in = bufferevent_get_input(bev);
        size_t n = evbuffer_get_length(in);
        if (n) {
            px_h2d_resp_data(r, NULL, in, n);
            r->bytes_out += n;
        }
        r->d_out_eof = 1; /* the client's direction stays open */
        if (r->d_deferred) {
            r->d_deferred = 0;
            nghttp2_session_resume_data(c->h2d->s, r->d_sid);
        }
        h2d_schedule(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        nghttp2_submit_rst_stream(c->h2d->s, NGHTTP2_FLAG_NONE, r->d_sid, NGHTTP2_CONNECT_ERROR);
        h2d_schedule(c);
    }
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct px_conn *c = ud;
    struct px_h2d *h = c->h2d;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (h->goaway || c->w->draining || atomic_load(&h2d_rt(c)->stopping)) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    struct px_req *r = px_req_stream_new(c);
    if (!r)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
    r->d_sid = f->hd.stream_id;
    r->d_in = px_worker_evbuf(c->w);
    if (!r->d_in || nghttp2_session_set_stream_user_data(s, f->hd.stream_id, r) != 0) {
        px_worker_evbuf_put(c->w, r->d_in);
        px_req_stream_free(r);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    r->state = PX_RS_HEAD;
    snprintf(r->host, sizeof(r->host), "-");
    stream_link(h, r);
    if (c->tmode == PX_TM_IDLE)
        px_conn_timer(c, PX_TM_NONE, 0);
    return 0;
}

/* Header fields are kept as records <u32 name len><u32 value len><name><value>
 * in d_in until the block ends (DATA cannot arrive before that). */
static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    struct px_conn *c = ud;
    struct px_req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!r || r->state != PX_RS_HEAD || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers and refused streams: not forwarded */
    const struct px_h1_limits *lim = &h2d_rt(c)->lim;
    r->d_hdr_bytes += nlen + vlen + 32;
    r->d_nhdrs++;
    if (r->d_err)
        return 0;
    if (r->d_hdr_bytes > lim->max_head || r->d_nhdrs > lim->max_headers ||
        r->d_nhdrs > PX_H1_MAX_HEADERS) {
        /* Counted, not stored (HPACK bomb): answered 431 at the end. */
        r->d_err = "request header fields too large";
        r->d_err_status = 431;
        evbuffer_drain(r->d_in, evbuffer_get_length(r->d_in));
        return 0;
    }
    uint32_t lens[2] = {(uint32_t)nlen, (uint32_t)vlen};
    char rec[512];
    if (sizeof(lens) + nlen + vlen <= sizeof(rec)) { /* the usual case: one add */
        memcpy(rec, lens, sizeof(lens));
        memcpy(rec + sizeof(lens), name, nlen);
        memcpy(rec + sizeof(lens) + nlen, value, vlen);
        if (evbuffer_add(r->d_in, rec, sizeof(lens) + nlen + vlen) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        return 0;
    }
    if (evbuffer_add(r->d_in, lens, sizeof(lens)) != 0 || evbuffer_add(r->d_in, name, nlen) != 0 ||
        evbuffer_add(r->d_in, value, vlen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

struct hdr_view {
    struct sgw_slice method, scheme, authority, path, host;
    int have_cl;
    uint64_t cl;
};

/* Turns the collected records into the request: r->head holds the field
 * bytes (lowercase names from nghttp2) and then the header table, like an
 * HTTP/1.1 head. The forwarded table gets "host" = :authority (an h1
 * upstream's Host, an h2 upstream's :authority) and the cookie fields joined
 * with "; " (RFC 9113 §8.2.3). Returns NULL or the reason for a 400. */
/* The next record at raw[*off..len): 1 with name/value, 0 at the end (or
 * at a record that does not fit, which only a bug could produce). */
static int next_record(const uint8_t *raw, size_t len, size_t *off, struct sgw_slice *name,
                       struct sgw_slice *value)
{
    if (len - *off < 8)
        return 0;
    uint32_t l[2];
    memcpy(l, raw + *off, sizeof(l));
    if ((size_t)l[0] > len - *off - 8 || (size_t)l[1] > len - *off - 8 - l[0])
        return 0;
    *name = sgw_slice_make((const char *)raw + *off + 8, l[0]);
    *value = sgw_slice_make(name->ptr + l[0], l[1]);
    *off += 8 + (size_t)l[0] + (size_t)l[1];
    return 1;
}

const char *px_h2d_build_request(struct px_req *r, int end_stream)
{
    size_t raw_len = evbuffer_get_length(r->d_in);
    const uint8_t *raw = evbuffer_pullup(r->d_in, -1);
    if (raw_len && !raw)
        return "out of memory";
    /* Sizes first: field bytes (plus the separators of joined cookies). */
    size_t nf = 0, bytes = 0, off = 0;
    struct sgw_slice name, val;
    while (next_record(raw, raw_len, &off, &name, &val)) {
        bytes += name.len + val.len + 2;
        nf++;
    }
    size_t hoff = (bytes + 16 + 6 + 15) & ~(size_t)15; /* + "cookie" once */
    r->head = malloc(hoff + (nf + 1) * sizeof(struct px_h1_header));
    if (!r->head)
        return "out of memory";
    struct px_h1_header *tab = (struct px_h1_header *)(void *)(r->head + hoff);
    char *p = r->head;
    size_t nh = 0, ncookie = 0;
    struct hdr_view v;
    memset(&v, 0, sizeof(v));
    for (off = 0; next_record(raw, raw_len, &off, &name, &val);) {
        if (name.len == 0)
            return "empty header field name"; /* nghttp2 refuses it first */
        if (name.ptr[0] == ':') {
            struct sgw_slice *dst = NULL;
            if (sgw_slice_eq_lit(name, ":method"))
                dst = &v.method;
            else if (sgw_slice_eq_lit(name, ":scheme"))
                dst = &v.scheme;
            else if (sgw_slice_eq_lit(name, ":authority"))
                dst = &v.authority;
            else if (sgw_slice_eq_lit(name, ":path"))
                dst = &v.path;
            else
                return "unknown pseudo-header field";
            if (dst->ptr)
                return "duplicate pseudo-header field";
            memcpy(p, val.ptr, val.len);
            *dst = sgw_slice_make(p, val.len);
            p += val.len;
            continue;
        }
        if (sgw_slice_eq_lit(name, "host")) {
            if (v.host.ptr)
                return "duplicate host field";
            memcpy(p, val.ptr, val.len);
            v.host = sgw_slice_make(p, val.len);
            p += val.len;
            continue; /* replaced by the one host field below */
        }
        if (sgw_slice_eq_lit(name, "cookie")) {
            ncookie++;
            continue; /* joined below */
        }
        if (sgw_slice_eq_lit(name, "content-length")) {
            uint64_t cl = 0;
            if (sgw_parse_u64(val.ptr, val.len, UINT64_MAX, &cl) != SGW_OK)
                return "invalid content-length";
            if (v.have_cl && cl != v.cl)
                return "differing content-length fields";
            v.have_cl = 1;
            v.cl = cl;
        }
        memcpy(p, name.ptr, name.len);
        tab[nh].name = sgw_slice_make(p, name.len);
        p += name.len;
        memcpy(p, val.ptr, val.len);
        tab[nh].value = sgw_slice_make(p, val.len);
        p += val.len;
        nh++;
    }
    if (ncookie) {
        /* One cookie field toward HTTP/1.1, crumbs joined with "; " (RFC 9113 §8.2.3). */
        memcpy(p, "cookie", 6);
        tab[nh].name = sgw_slice_make(p, 6);
        p += 6;
        char *start = p;
        for (off = 0; next_record(raw, raw_len, &off, &name, &val);) {
            if (!sgw_slice_eq_lit(name, "cookie"))
                continue;
            if (p != start) {
                memcpy(p, "; ", 2);
                p += 2;
            }
            memcpy(p, val.ptr, val.len);
            p += val.len;
        }
        tab[nh].value = sgw_slice_make(start, (size_t)(p - start));
        nh++;
    }
    evbuffer_drain(r->d_in, raw_len);
    struct px_req_msg *m = &r->msg;
    if (v.method.len == 0 || v.method.len >= sizeof(r->method))
        return "invalid :method";
    for (size_t i = 0; i < v.method.len; i++) {
        unsigned char ch = (unsigned char)v.method.ptr[i];
        static const char tchar[] = "!#$%&'*+-.^_`|~";
        if (!isalnum(ch) && !memchr(tchar, ch, sizeof(tchar) - 1))
            return "invalid :method"; /* a token (nghttp2 checks it first) */
    }
    memcpy(r->method, v.method.ptr, v.method.len);
    r->method[v.method.len] = '\0';
    m->method = v.method;
    const char *why = NULL;
    struct sgw_slice host;
    uint16_t port = 0;
    if (strcmp(r->method, "CONNECT") == 0) {
        /* RFC 9113 §8.5: :authority host:port only; extended CONNECT
         * (:protocol, RFC 8441) is off in our SETTINGS. */
        r->is_connect = 1;
        if (v.scheme.ptr || v.path.ptr)
            return "CONNECT with :scheme or :path";
        if (v.authority.len == 0)
            return "CONNECT needs :authority";
        if (px_h1_parse_authority(v.authority.ptr, v.authority.len, &host, &port, &why) != SGW_OK)
            return why ? why : "invalid :authority";
        if (port == 0)
            return "CONNECT needs host:port";
        if (host.len == 0 || host.len >= sizeof(r->host))
            return "invalid target host";
        for (size_t i = 0; i < host.len; i++)
            r->host[i] = (char)tolower((unsigned char)host.ptr[i]);
        r->host[host.len] = '\0';
        r->port = port;
        m->form = PX_H1_TARGET_AUTHORITY;
        m->target = v.authority;
        m->host = host;
        m->port = port;
        m->version_minor = 1;
        m->headers = tab;
        m->n_headers = nh;
        m->body = PX_H1_BODY_NONE; /* the tunnel's bytes are not a request body */
        r->head_len = (size_t)(p - r->head);
        r->bytes_in += r->d_hdr_bytes;
        return NULL;
    }
    /* :authority, or Host when absent (RFC 9113 §8.3.1); both must agree. */
    struct sgw_slice auth = v.authority.len ? v.authority : v.host;
    if (auth.len == 0)
        return "missing :authority";
    if (v.authority.len && v.host.len && !px_slice_eq_slice_nocase(v.authority, v.host))
        return ":authority and host differ";
    if (px_h1_parse_authority(auth.ptr, auth.len, &host, &port, &why) != SGW_OK)
        return why ? why : "invalid :authority";
    if (host.len == 0 || host.len >= sizeof(r->host))
        return "invalid target host";
    if (sgw_slice_eq_lit(v.scheme, "http"))
        r->tls = 0;
    else if (sgw_slice_eq_lit(v.scheme, "https"))
        r->tls = 1;
    else
        return "unsupported :scheme";
    if (px_h1_check_path(v.path.ptr, v.path.len, &why) != SGW_OK)
        return why ? why : "invalid :path";
    for (size_t i = 0; i < host.len; i++)
        r->host[i] = (char)tolower((unsigned char)host.ptr[i]);
    r->host[host.len] = '\0';
    r->port = port ? port : (r->tls ? 443 : 80);
    tab[nh].name = sgw_slice_make("host", 4);
    tab[nh].value = auth;
    nh++;
    m->form = PX_H1_TARGET_ABSOLUTE;
    m->scheme = v.scheme;
    m->host = host;
    m->port = r->port;
    m->path = v.path;
    m->target = v.path;
    m->version_minor = 1;
    m->keep_alive = 1;
    m->headers = tab;
    m->n_headers = nh;
    if (end_stream) {
        m->body = PX_H1_BODY_NONE;
    } else if (v.have_cl) {
        m->body = PX_H1_BODY_LENGTH;
        m->content_length = v.cl;
        if (v.cl == 0)
            m->body = PX_H1_BODY_NONE; /* END_STREAM must follow; extra DATA fails */
    } else {
        m->body = PX_H1_BODY_CHUNKED; /* length unknown: chunked toward an h1 upstream */
    }
    r->head_len = (size_t)(p - r->head);
    r->bytes_in += r->d_hdr_bytes;
    return NULL;
}

static void request_ready(struct px_conn *c, struct px_req *r, int end_stream)
{
    r->d_in_end = end_stream;
    const char *why = r->d_err ? NULL : px_h2d_build_request(r, end_stream);
    evbuffer_drain(r->d_in, evbuffer_get_length(r->d_in)); /* header records */
    r->d_body = 1;
    if (r->d_err) {
        px_req_stream_fail(r, r->d_err_status, r->d_err, r->d_err);
        return;
    }
    if (why) {
        px_req_stream_fail(r, 400, "bad request", why);
        return;
    }
    /* Decided once this read batch is processed: a stream the client resets
     * in the same batch (rapid reset) never costs a decision or an upstream. */
    r->d_ready = 1;
    (void)c;
}

static void start_ready(struct px_conn *c)
{
    for (struct px_req *r = c->h2d->streams; r && !c->dead; r = r->d_next) {
        if (!r->d_ready)
            continue;
        r->d_ready = 0;
        px_req_stream_begin(r);
        if (!c->dead && r->up)
            px_up_flush(r); /* a pooled h1 upstream: the request goes out now */
    }
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct px_conn *c = ud;
    /* Empty DATA frames without END_STREAM cost work and carry nothing: they
     * draw from the reset bucket, and a flood of them ends the session
     * (nghttp2 1.52 has no such limit). PRIORITY frames never get here:
     * SETTINGS_NO_RFC7540_PRIORITIES makes nghttp2 drop them. */
    if (f->hd.type == NGHTTP2_DATA && f->hd.length == 0 &&
        !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        if (!c->h2d->goaway && !reset_budget(c->h2d)) {
            sgw_log(SGW_LOG_INFO, PX_MOD, "%s HTTP/2: flood of empty frames, ending the session",
                    c->client);
            nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
            c->h2d->goaway = 1;
        }
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    struct px_req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!r)
        return 0;
    int end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (r->state == PX_RS_HEAD)
            request_ready(c, r, end);
        return 0;
    }
    if (end) {
        /* END_STREAM on DATA, or trailers (not forwarded): the body is complete. */
        r->d_in_end = 1;
        if (r->d_tun)
            tun_pump_up(r);
        else
            px_req_stream_body(r);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    struct px_req *r = nghttp2_session_get_stream_user_data(s, id);
    if (!r || r->state == PX_RS_DONE || !r->d_in) {
        /* Nobody wants it (answered already): back to the window at once. */
        nghttp2_session_consume(s, id, len);
        return 0;
    }
    if (evbuffer_add(r->d_in, data, len) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (r->d_tun)
        tun_pump_up(r);
    else
        px_req_stream_body(r);
    return 0;
}

/* Our response ended the stream while the client is still sending its body:
 * tell it to stop (RFC 9113 §8.1: RST_STREAM NO_ERROR). */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
        !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    struct px_req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (r && !r->d_in_end && !r->d_tun) /* a tunnel stays half-open (TCP half-close) */
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    struct px_conn *c = ud;
    if (err != NGHTTP2_NO_ERROR && !c->h2d->goaway && !reset_budget(c->h2d)) {
        sgw_log(SGW_LOG_INFO, PX_MOD, "%s HTTP/2: too many streams reset, ending the session",
                c->client);
        nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
        c->h2d->goaway = 1;
    }
    struct px_req *r = nghttp2_session_get_stream_user_data(s, id);
    if (!r)
        return 0;
    nghttp2_session_set_stream_user_data(s, id, NULL);
    stream_unlink(c->h2d, r);
    char why[96];
    snprintf(why, sizeof(why), "client reset the stream: %s", nghttp2_http2_strerror(err));
    stream_release(c, r, err == NGHTTP2_NO_ERROR ? "stream closed" : why);
    h2d_idle_check(c);
    return 0;
}

/* -------------------------------------------------------------- output */

/* Writes what nghttp2 has queued into the client's output buffer (bounded by
 * the high watermark; the write callback continues) and closes the
 * connection once the session is over. */
static void h2d_flush(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    int drained = 0; /* an explicit write took the output to its low mark */
    for (int i = 0; i < 8 && !c->dead && !c->closing; i++) {
        h->blocked = 0;
        int rv = nghttp2_session_send(h->s);
        if (rv != 0) {
            sgw_log(SGW_LOG_INFO, PX_MOD, "%s HTTP/2 session failed: %s", c->client,
                    nghttp2_strerror(rv));
            px_conn_close(c);
            return;
        }
        if (!h->blocked || !px_tx_write(&c->tx, c->bev))
            break;
        drained = 1;
    }
    if (c->dead || c->closing)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int over = !nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s);
    if (over || (h->n_streams == 0 && (h->goaway || c->read_eof))) {
        px_conn_close_after_flush(c);
        return;
    }
    if (h->blocked) {
        /* A client that does not read: bounded output, then a deadline. */
        if (c->tmode != PX_TM_RESP)
            px_conn_timer(c, PX_TM_RESP, h2d_rt(c)->cfg->idle_timeout_ms);
    } else if (c->tmode == PX_TM_RESP && evbuffer_get_length(out) < PX_LOW_WM) {
        px_conn_timer(c, PX_TM_NONE, 0);
        h2d_idle_check(c);
    }
    if (px_tx_write(&c->tx, c->bev))
        drained = 1;
    /* Those writes do not run the write callback, which is where paused
     * streams and paused input go on (px_h2d_on_write): when one of them
     * took the output to its low mark and something waits for that, the
     * kick does that work, outside this flush. */
    if (drained && (h->any_blocked || h->read_paused)) {
        h->resume = 1;
        h2d_schedule(c);
    }
}

/* Streams whose upstream was paused for a full d_out get going again. */
static void h2d_resume(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    if (!h->resume)
        return;
    h->resume = 0;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) >= PX_HIGH_WM)
        return;
    int still = 0;
    for (struct px_req *r = h->streams; r && !c->dead; r = r->d_next) {
        if (r->d_blocked && r->d_tun &&
            (!r->d_out || evbuffer_get_length(r->d_out) < PX_H2D_STREAM_LOW)) {
            r->d_blocked = 0;
            bufferevent_enable(r->d_tun, EV_READ);
            tun_read_cb(r->d_tun, r); /* what waited in its input */
            still |= r->d_blocked;
            continue;
        }
        if (!r->d_blocked || !r->up) {
            still |= r->d_blocked;
            continue;
        }
        if (r->d_out && evbuffer_get_length(r->d_out) >= PX_H2D_STREAM_LOW) {
            still = 1;
            continue;
        }
        r->d_blocked = 0;
        px_up_resume(r);
        still |= r->d_blocked;
    }
    if (!c->dead)
        h->any_blocked = still;
}

/* --------------------------------------------------------------- public */

int px_h2d_start(struct px_conn *c)
{
    struct px_runtime *rt = h2d_rt(c);
    struct px_h2d *h = calloc(1, sizeof(*h));
    if (!h)
        return SGW_ENOMEM;
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    int rc = SGW_ERR;
    if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
        goto out;
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_send_data_callback(cb, on_send_data);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, 65536);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_option_set_max_continuations(opt, 8);
    nghttp2_option_set_stream_reset_rate_limit(opt, PX_H2D_RST_BURST, PX_H2D_RST_RATE);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    nghttp2_option_set_no_closed_streams(opt, 1); /* the stream table empties when idle */
    nghttp2_mem mem = {h, mem_malloc, mem_free, mem_calloc, mem_realloc};
    if (nghttp2_session_server_new3(&h->s, cb, c, opt, &mem) != 0)
        goto out;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)rt->cfg->h2_max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)rt->lim.max_head},
        {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 0},
        /* PRIORITY frames are ignored: no idle streams kept for a priority tree. */
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, SGW_ARRAY_LEN(iv)) != 0)
        goto out;
    if (nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, PX_H2D_CONN_WINDOW) != 0)
        goto out;
    rc = SGW_OK;
out:
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rc != SGW_OK) {
        if (h->s)
            nghttp2_session_del(h->s);
        free(h);
        return rc;
    }
    c->h2d = h;
    sgw_log(SGW_LOG_DEBUG, PX_MOD, "%s HTTP/2 prior knowledge", c->client);
    h2d_idle_check(c);
    /* The preface is still in the input: nghttp2 checks it itself. */
    px_h2d_on_read(c);
    return SGW_OK;
}

void px_h2d_free(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    if (!h)
        return;
    while (h->streams) {
        struct px_req *r = h->streams;
        stream_unlink(h, r);
        if (h->s)
            nghttp2_session_set_stream_user_data(h->s, r->d_sid, NULL);
        stream_release(c, r, "client connection closed");
    }
    if (h->s)
        nghttp2_session_del(h->s);
    free(h);
    c->h2d = NULL;
}

void px_h2d_on_read(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    if (c->dead || c->closing)
        return;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(in) > 0 && !c->dead && !c->closing) {
        if (evbuffer_get_length(out) >= PX_HIGH_WM) {
            /* Answers are not being read: stop taking requests (and PINGs). */
            h->read_paused = 1;
            px_rx_disable(&c->rx, c->bev);
            break;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        ssize_t n = nghttp2_session_mem_recv(h->s, v.iov_base, v.iov_len);
        if (n < 0) {
            sgw_log(SGW_LOG_INFO, PX_MOD, "%s HTTP/2: %s", c->client, nghttp2_strerror((int)n));
            if (!c->dead) {
                /* nghttp2 queued GOAWAY for protocol errors and floods: send it. */
                nghttp2_session_send(h->s);
                px_conn_close_after_flush(c);
            }
            return;
        }
        evbuffer_drain(in, (size_t)n);
    }
    if (!c->dead && !c->closing) {
        start_ready(c);
        h2d_resume(c);
        h2d_flush(c);
    }
}

void px_h2d_on_write(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    h->resume = 1;
    if (h->read_paused) {
        h->read_paused = 0;
        px_rx_enable(&c->rx, c->bev);
        px_h2d_on_read(c); /* input that waited, then flush */
        if (c->dead || c->closing)
            return;
    }
    h2d_resume(c);
    h2d_flush(c);
}

void px_h2d_on_kick(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    if (h->read_paused && !c->closing &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) < PX_HIGH_WM) {
        px_h2d_on_write(c); /* the output drained through h2d_flush's own writes */
        return;
    }
    h2d_resume(c);
    if (!c->dead)
        h2d_flush(c);
}

void px_h2d_on_eof(struct px_conn *c)
{
    /* HTTP/2 has no half-close: a client that ends its side is gone. What is
     * queued still goes out; every open stream ends with the connection (a
     * truncated request body is never forwarded as complete). */
    h2d_flush(c);
    if (!c->dead && !c->closing)
        px_conn_close_after_flush(c);
}

void px_h2d_on_timer(struct px_conn *c, int mode)
{
    struct px_h2d *h = c->h2d;
    if (mode == PX_TM_IDLE || mode == PX_TM_HEADER) {
        if (h->n_streams > 0)
            return;
        if (mode == PX_TM_IDLE && h->trim_pending) {
            h->trim_pending = 0;
            h2d_trim(h);
            px_conn_timer(c, PX_TM_IDLE, h2d_rt(c)->cfg->idle_timeout_ms - PX_H2D_TRIM_MS);
            return;
        }
        nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h->s), NGHTTP2_NO_ERROR,
                              NULL, 0);
        h->goaway = 1;
        h2d_flush(c);
        if (!c->dead && !c->closing)
            px_conn_close_after_flush(c);
        return;
    }
    /* PX_TM_RESP: the client has not read its output for idle-timeout. */
    sgw_log(SGW_LOG_INFO, PX_MOD, "%s HTTP/2: client stopped reading, closing", c->client);
    px_conn_close(c);
}

void px_h2d_drain(struct px_conn *c)
{
    struct px_h2d *h = c->h2d;
    if (h->goaway)
        return;
    nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->s),
                          NGHTTP2_NO_ERROR, NULL, 0);
    h->goaway = 1;
    h2d_schedule(c);
}

static void stream_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_req *r = arg;
    if (!px_deadline_due(&r->d_dl))
        return;
    struct px_conn *c = r->conn;
    /* A response waiting only for the connection's output (its own window
     * open, or its upstream paused by us because that output is full) while
     * the client reads, however slowly, has not stalled (px_progress). */
    if (!c->dead && r->d_tmode == PX_TM_RESP && c->tx.attached &&
        (r->d_blocked || (r->d_out && evbuffer_get_length(r->d_out) > 0 &&
                          nghttp2_session_get_stream_remote_window_size(c->h2d->s, r->d_sid) > 0)) &&
        px_progress_check(&r->d_prog, &c->tx)) {
        px_deadline_set(&r->d_dl, h2d_rt(c)->cfg->idle_timeout_ms);
        return;
    }
    int mode = r->d_tmode;
    r->d_tmode = PX_TM_NONE;
    if (c->dead)
        return;
    if (r->state == PX_RS_DONE || r->state == PX_RS_TUNNEL) {
        /* Answer complete on our side but not taken by the client, or a
         * tunnel idle for idle-timeout: the stream ends here. */
        nghttp2_submit_rst_stream(c->h2d->s, NGHTTP2_FLAG_NONE, r->d_sid, NGHTTP2_CANCEL);
    } else {
        px_req_timeout(r, mode);
    }
    h2d_schedule(c);
}

void px_h2d_timer_set(struct px_req *r, int mode, int ms)
{
    r->d_tmode = mode;
    if (mode == PX_TM_RESP)
        px_progress_mark(&r->d_prog, &r->conn->tx);
    if (mode == PX_TM_NONE || ms <= 0) {
        if (r->d_timer_on)
            px_deadline_cancel(&r->d_dl);
        return;
    }
    if (!r->d_timer_on) {
        if (evtimer_assign(&r->d_timer, r->conn->w->base, stream_timer_cb, r) != 0)
            return; /* the connection's timers still bound it */
        r->d_timer_on = 1;
        r->d_dl = (struct px_deadline){.ev = &r->d_timer};
    }
    px_deadline_set(&r->d_dl, ms);
}

int px_h2d_congested(const struct px_req *r)
{
    const struct px_conn *c = r->conn;
    if (c->dead || !c->h2d)
        return 1;
    int full = (r->d_out && evbuffer_get_length(r->d_out) >= PX_H2D_STREAM_WM) ||
               evbuffer_get_length(bufferevent_get_output(c->bev)) >= PX_HIGH_WM;
    if (full) {
        /* The sink's contract takes a const request; the flag only records
         * that the caller paused, so that the kick resumes it. */
        struct px_req *m = c->h2d->streams;
        while (m && m != r)
            m = m->d_next;
        if (m) {
            m->d_blocked = 1;
            c->h2d->any_blocked = 1;
        }
    }
    return full;
}

static int ensure_out(struct px_req *r)
{
    if (!r->d_out)
        r->d_out = px_worker_evbuf(r->conn->w);
    return r->d_out ? SGW_OK : SGW_ENOMEM;
}

static int submit(struct px_req *r, const nghttp2_nv *nva, size_t n, int has_body)
{
    struct px_conn *c = r->conn;
    nghttp2_data_provider prd;
    prd.source.ptr = r;
    prd.read_callback = data_read;
    int rv = nghttp2_submit_response(c->h2d->s, r->d_sid, nva, n, has_body ? &prd : NULL);
    if (rv != 0)
        return SGW_ERR;
    r->d_submitted = 1;
    h2d_schedule(c);
    return SGW_OK;
}

#define NV(arr, k, nm, nl, vv, vl)                                                                 \
    do {                                                                                           \
        (arr)[k].name = (uint8_t *)(nm);                                                           \
        (arr)[k].namelen = (nl);                                                                   \
        (arr)[k].value = (uint8_t *)(vv);                                                          \
        (arr)[k].valuelen = (vl);                                                                  \
        (arr)[k].flags = NGHTTP2_NV_FLAG_NONE;                                                     \
        (k)++;                                                                                     \
    } while (0)

void px_h2d_error(struct px_req *r, int status, const char *error, const char *verdict,
                  const char *rule, const char *reason)
{
    struct px_conn *c = r->conn;
    if (c->dead || r->d_submitted || ensure_out(r) != SGW_OK)
        return;
    size_t before = evbuffer_get_length(r->d_out);
    px_error_body(r->d_out, error, rule, reason);
    size_t blen = evbuffer_get_length(r->d_out) - before;
    r->d_out_eof = 1;
    char st[8], cl[24], dec[128], rule_h[80];
    int stl = snprintf(st, sizeof(st), "%d", status);
    int cll = snprintf(cl, sizeof(cl), "%zu", blen);
    px_header_safe(rule_h, sizeof(rule_h), rule && *rule ? rule : "none");
    int decl = snprintf(dec, sizeof(dec), "%s; rule=%s", verdict, rule_h);
    nghttp2_nv nva[6];
    size_t k = 0;
    NV(nva, k, ":status", 7, st, stl);
    NV(nva, k, "content-type", 12, "application/json", 16);
    NV(nva, k, "content-length", 14, cl, (size_t)cll);
    NV(nva, k, "x-sovgw-decision", 16, dec, (size_t)decl);
    NV(nva, k, "cache-control", 13, "no-store", 8);
    r->bytes_out += blen;
    drop_body(c, r);
    if (submit(r, nva, k, 1) != SGW_OK)
        nghttp2_submit_rst_stream(c->h2d->s, NGHTTP2_FLAG_NONE, r->d_sid, NGHTTP2_INTERNAL_ERROR);
    /* A client that never takes the answer still lets the stream go. */
    px_h2d_timer_set(r, PX_TM_RESP, h2d_rt(c)->cfg->idle_timeout_ms);
}

int px_h2d_resp_head(struct px_req *r, int status, const struct px_h1_header *h, size_t n,
                     int has_body, int64_t clen)
{
    struct px_conn *c = r->conn;
    if (r->d_submitted || (has_body && ensure_out(r) != SGW_OK))
        return SGW_ERR;
    if (status < 200 || status > 999)
        return SGW_EPROTO;
    size_t names = 0;
    for (size_t i = 0; i < n; i++)
        names += h[i].name.len;
    /* Lowercase copies of the names: on the stack unless unusually long. */
    char lower_buf[2048];
    char *lower = names < sizeof(lower_buf) ? lower_buf : malloc(names + 1);
    nghttp2_nv nva_buf[PX_H1_MAX_HEADERS + 5];
    nghttp2_nv *nva = n <= PX_H1_MAX_HEADERS ? nva_buf : malloc((n + 5) * sizeof(*nva));
    if (!lower || !nva) {
        if (lower != lower_buf)
            free(lower);
        if (nva != nva_buf)
            free(nva);
        return SGW_ENOMEM;
    }
    /* Formatted by hand: two snprintf calls were ~1,400 instructions of an
     * h2c request's ~35,000. */
    char st[20], cl[20], dec[96], rule_h[80];
    struct px_wbuf stb = {st, 0, sizeof(st), 0};
    px_wb_dec(&stb, status > 0 ? (uint64_t)status : 0);
    size_t stl = stb.n;
    px_header_safe(rule_h, sizeof(rule_h), r->dec.rule_id);
    struct px_wbuf db = {dec, 0, sizeof(dec), 0};
    PX_WB_LIT(&db, "allow; rule=");
    px_wb_put(&db, rule_h, strlen(rule_h)); /* 12 + 79 bytes at most: fits */
    size_t decl = db.n;
    size_t k = 0, lo = 0;
    int have_cl = 0;
    NV(nva, k, ":status", 7, st, (size_t)stl);
    for (size_t i = 0; i < n; i++) {
        struct sgw_slice nm = h[i].name;
        /* Connection-specific fields never go into HTTP/2 (RFC 9113 §8.2.2). */
        if (px_hdr_is_hop(h, n, nm) || sgw_slice_eq_nocase(nm, "x-sovgw-decision") ||
            (nm.len > 0 && nm.ptr[0] == ':'))
            continue;
        int is_cl = sgw_slice_eq_nocase(nm, "content-length");
        if (is_cl && has_body && clen < 0)
            continue; /* re-framed body; a HEAD or 304 answer keeps its length */
        if (is_cl) {
            if (have_cl)
                continue;
            have_cl = 1;
        }
        for (size_t j = 0; j < nm.len; j++)
            lower[lo + j] = (char)tolower((unsigned char)nm.ptr[j]);
        NV(nva, k, lower + lo, nm.len, h[i].value.ptr, h[i].value.len);
        lo += nm.len;
    }
    if (has_body && clen >= 0 && !have_cl) {
        struct px_wbuf cb = {cl, 0, sizeof(cl), 0};
        px_wb_dec(&cb, (uint64_t)clen);
        NV(nva, k, "content-length", 14, cl, cb.n);
    }
    NV(nva, k, "via", 3, "1.1 sovgw", 9);
    NV(nva, k, "x-sovgw-decision", 16, dec, decl);
    int rc = submit(r, nva, k, has_body);
    if (lower != lower_buf)
        free(lower);
    if (nva != nva_buf)
        free(nva);
    if (rc == SGW_OK && !has_body)
        r->d_out_eof = 1;
    (void)c;
    return rc;
}

#undef NV

void px_h2d_resp_data(struct px_req *r, const char *data, struct evbuffer *src, size_t len)
{
    struct px_conn *c = r->conn;
    if (ensure_out(r) != SGW_OK) {
        if (src)
            evbuffer_drain(src, len);
        return;
    }
    if (src)
        evbuffer_remove_buffer(src, r->d_out, len);
    else
        evbuffer_add(r->d_out, data, len);
    if (r->d_deferred) {
        r->d_deferred = 0;
        nghttp2_session_resume_data(c->h2d->s, r->d_sid);
        h2d_schedule(c);
    }
}

void px_h2d_resp_end(struct px_req *r)
{
    struct px_conn *c = r->conn;
    r->d_out_eof = 1;
    drop_body(c, r);
    if (r->d_deferred) {
        r->d_deferred = 0;
        nghttp2_session_resume_data(c->h2d->s, r->d_sid);
    }
    h2d_schedule(c);
    /* The stream stays until its last frame went out; bounded by this. */
    px_h2d_timer_set(r, PX_TM_RESP, h2d_rt(c)->cfg->idle_timeout_ms);
}

void px_h2d_reset(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (c->dead || !c->h2d)
        return;
    drop_body(c, r);
    nghttp2_submit_rst_stream(c->h2d->s, NGHTTP2_FLAG_NONE, r->d_sid, NGHTTP2_INTERNAL_ERROR);
    h2d_schedule(c);
}

void px_h2d_consumed(struct px_req *r, size_t n)
{
    struct px_conn *c = r->conn;
    if (c->dead || !c->h2d || n == 0)
        return;
    nghttp2_session_consume(c->h2d->s, r->d_sid, n);
    h2d_schedule(c);
}

int px_h2d_tunnel_start(struct px_req *r, struct bufferevent *ub)
{
    struct px_conn *c = r->conn;
    if (c->dead || !c->h2d || ensure_out(r) != SGW_OK)
        return SGW_ENOMEM;
    char dec[96], rule_h[80];
    px_header_safe(rule_h, sizeof(rule_h), r->dec.rule_id);
    int decl = snprintf(dec, sizeof(dec), "allow; rule=%s", rule_h);
    nghttp2_nv nva[3];
    size_t k = 0;
#define TNV(nm, vv, vl)                                                                            \
    do {                                                                                           \
        nva[k].name = (uint8_t *)(nm);                                                             \
        nva[k].namelen = sizeof(nm) - 1;                                                           \
        nva[k].value = (uint8_t *)(vv);                                                            \
        nva[k].valuelen = (vl);                                                                    \
        nva[k].flags = NGHTTP2_NV_FLAG_NONE;                                                       \
        k++;                                                                                       \
    } while (0)
    TNV(":status", "200", 3);
    TNV("x-sovgw-decision", dec, (size_t)decl);
    TNV("via", "1.1 sovgw", 9);
#undef TNV
    if (submit(r, nva, k, 1) != SGW_OK)
        return SGW_ERR;
    r->d_tun = ub;
    bufferevent_setcb(ub, tun_read_cb, tun_write_cb, tun_event_cb, r);
    bufferevent_setwatermark(ub, EV_READ, 0, PX_H2D_STREAM_WM);
    bufferevent_setwatermark(ub, EV_WRITE, PX_TUNNEL_WM / 2, 0);
    bufferevent_enable(ub, EV_READ | EV_WRITE);
    px_h2d_timer_set(r, PX_TM_RESP, h2d_rt(c)->cfg->idle_timeout_ms);
    tun_pump_up(r); /* DATA the client sent before the 200 */
    if (evbuffer_get_length(bufferevent_get_input(ub)) > 0)
        tun_read_cb(ub, r); /* a banner the upstream sent before we took over */
    return SGW_OK;
}
