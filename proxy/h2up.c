/* proxy/h2up.c — HTTP/2 toward the upstream (nghttp2 client session), chosen
 * by ALPN. One connection multiplexes many downstream requests (streams);
 * nghttp2 queues streams beyond the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
 *
 * Flow control is manual (automatic WINDOW_UPDATE off): DATA is given back to
 * the window (nghttp2_session_consume) only once the downstream client has
 * taken it, so a slow client stalls its own stream, not the gateway's memory.
 *
 * nghttp2 calls back from inside mem_recv; frames are never sent from there.
 * Anything that needs output schedules the connection's kick, which flushes
 * from the event loop. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/internal.h"

#define H2_MAX_STREAMS_PER_CONN 256

static void h2_schedule(struct px_upconn *u)
{
    if (!u->dead)
        event_active(u->kick, EV_TIMEOUT, 1);
}

static void list_add(struct px_upconn *u, struct px_req *r)
{
    r->h2_prev = NULL;
    r->h2_next = u->h2_reqs;
    if (u->h2_reqs)
        u->h2_reqs->h2_prev = r;
    u->h2_reqs = r;
}

static void list_del(struct px_upconn *u, struct px_req *r)
{
    if (r->h2_prev)
        r->h2_prev->h2_next = r->h2_next;
    else if (u->h2_reqs == r)
        u->h2_reqs = r->h2_next;
    if (r->h2_next)
        r->h2_next->h2_prev = r->h2_prev;
    r->h2_prev = r->h2_next = NULL;
}

static void h2_idle_check(struct px_upconn *u)
{
    if (u->dead || u->h2_streams > 0 || u->state != PX_UP_BUSY)
        return;
    struct px_worker *w = u->w;
    if (u->h2_goaway || w->draining || atomic_load(&w->rt->stopping)) {
        px_up_close(u);
        return;
    }
    u->state = PX_UP_IDLE;
    w->n_idle++;
    px_deadline_set(&u->tdl, w->rt->cfg->pool_idle_ms);
}

/* Gives n received DATA bytes back to flow control: to the stream and the
 * connection, or only the connection once the stream is gone (otherwise the
 * shared connection window would shrink for good). */
static void give_back(struct px_upconn *u, int32_t id, uint64_t n)
{
    if (!u->h2s || n == 0)
        return;
    if (id <= 0 || nghttp2_session_consume(u->h2s, id, (size_t)n) != 0)
        nghttp2_session_consume_connection(u->h2s, (size_t)n);
}

/* Unlinks r from its stream (both directions); its unconsumed DATA goes back
 * to the connection window. */
static void stream_unlink(struct px_upconn *u, struct px_req *r)
{
    give_back(u, r->stream_id, r->h2_unconsumed);
    r->h2_unconsumed = 0;
    if (r->stream_id > 0 && u->h2s)
        nghttp2_session_set_stream_user_data(u->h2s, r->stream_id, NULL);
    list_del(u, r);
    r->up = NULL;
    r->stream_id = 0;
    if (r->h2_hdrs) {
        evbuffer_free(r->h2_hdrs);
        r->h2_hdrs = NULL;
    }
}

/* Writes pending frames into the bufferevent, bounded by the high watermark
 * (the write callback calls again once it drained). */
static int h2_flush(struct px_upconn *u)
{
    if (u->dead || !u->h2s || !u->bev)
        return SGW_ERR;
    struct evbuffer *out = bufferevent_get_output(u->bev);
    while (evbuffer_get_length(out) < PX_HIGH_WM) {
        const uint8_t *data = NULL;
        ssize_t n = nghttp2_session_mem_send(u->h2s, &data);
        if (n < 0) {
            px_h2_fail_all(u, nghttp2_strerror((int)n));
            px_up_close(u);
            return SGW_ERR;
        }
        if (n == 0)
            break;
        evbuffer_add(out, data, (size_t)n);
    }
    if (!nghttp2_session_want_read(u->h2s) && !nghttp2_session_want_write(u->h2s) &&
        evbuffer_get_length(out) == 0) {
        px_h2_fail_all(u, "upstream HTTP/2 session ended");
        px_up_close(u);
        return SGW_ERR;
    }
    return SGW_OK;
}

/* ------------------------------------------------------------ callbacks */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct px_req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!r)
        return 0;
    if (!r->h2_hdrs)
        r->h2_hdrs = evbuffer_new();
    else
        evbuffer_drain(r->h2_hdrs, evbuffer_get_length(r->h2_hdrs));
    r->h2_status = 0;
    r->h2_nhdrs = 0;
    r->h2_clen = -1;
    return r->h2_hdrs ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    struct px_req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!r || !r->h2_hdrs)
        return 0;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
        uint64_t st = 0;
        if (sgw_parse_u64((const char *)value, vlen, 999, &st) != SGW_OK || st < 100)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        r->h2_status = (int)st;
        return 0;
    }
    if (nlen && name[0] == ':')
        return 0;
    if (r->h2_nhdrs >= PX_H1_MAX_HEADERS)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (nlen == 14 && memcmp(name, "content-length", 14) == 0) {
        uint64_t cl = 0;
        if (sgw_parse_u64((const char *)value, vlen, INT64_MAX, &cl) != SGW_OK)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        r->h2_clen = (int64_t)cl;
    }
    uint32_t lens[2] = {(uint32_t)nlen, (uint32_t)vlen};
    evbuffer_add(r->h2_hdrs, lens, sizeof(lens));
    evbuffer_add(r->h2_hdrs, name, nlen);
    evbuffer_add(r->h2_hdrs, value, vlen);
    r->h2_nhdrs++;
    return 0;
}

/* Hands a complete response head to the request. */
static int deliver_head(struct px_req *r, int end_stream)
{
    struct px_h1_header hs[PX_H1_MAX_HEADERS];
    size_t n = 0;
    size_t total = evbuffer_get_length(r->h2_hdrs);
    const char *p = total ? (const char *)evbuffer_pullup(r->h2_hdrs, -1) : NULL;
    size_t off = 0;
    while (p && off + 8 <= total && n < PX_H1_MAX_HEADERS) {
        uint32_t lens[2];
        memcpy(lens, p + off, sizeof(lens));
        off += 8;
        if (off + lens[0] + lens[1] > total)
            break;
        hs[n].name = sgw_slice_make(p + off, lens[0]);
        hs[n].value = sgw_slice_make(p + off + lens[0], lens[1]);
        off += lens[0] + lens[1];
        n++;
    }
    int nobody = end_stream || strcmp(r->method, "HEAD") == 0 || r->h2_status == 204 ||
                 r->h2_status == 304;
    px_req_resp_head(r, r->h2_status, sgw_slice_make("", 0), hs, n, !nobody,
                     nobody ? -1 : r->h2_clen);
    return 0;
}

static void finish_stream(struct px_upconn *u, struct px_req *r)
{
    int32_t id = r->stream_id;
    stream_unlink(u, r);
    if (id > 0 && nghttp2_session_get_stream_local_close(u->h2s, id) == 0)
        nghttp2_submit_rst_stream(u->h2s, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
    h2_schedule(u);
    px_req_resp_end(r);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct px_upconn *u = ud;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        u->h2_goaway = 1;
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    struct px_req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!r)
        return 0;
    int end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (f->hd.type == NGHTTP2_HEADERS) {
        r->resp_any = 1;
        if (!r->resp_started) {
            if (r->h2_status >= 100 && r->h2_status < 200)
                return 0; /* interim response */
            if (r->h2_status < 200)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
            deliver_head(r, end);
        }
        /* trailers: not forwarded */
    }
    if (end && r->resp_started)
        finish_stream(u, r);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    struct px_upconn *u = ud;
    struct px_req *r = nghttp2_session_get_stream_user_data(s, id);
    if (!r || !r->resp_started) {
        give_back(u, id, len);
        return 0;
    }
    px_req_resp_body(r, (const char *)data, len);
    r->h2_unconsumed += len;
    if (!px_req_client_congested(r)) {
        give_back(u, id, r->h2_unconsumed);
        r->h2_unconsumed = 0;
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    struct px_upconn *u = ud;
    if (u->h2_streams > 0)
        u->h2_streams--;
    struct px_req *r = nghttp2_session_get_stream_user_data(s, id);
    if (r) {
        stream_unlink(u, r);
        char why[128];
        snprintf(why, sizeof(why), "upstream reset the stream: %s", nghttp2_http2_strerror(err));
        if (err == NGHTTP2_REFUSED_STREAM && !r->resp_any)
            r->up_reused = 1; /* never processed: one fresh retry is safe */
        if (r->resp_started && err == NGHTTP2_NO_ERROR)
            px_req_resp_end(r);
        else if (r->resp_started)
            px_req_resp_abort(r, why);
        else
            px_req_up_failed(r, 502, why, 0);
    }
    h2_schedule(u);
    return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                               uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    struct px_req *r = nghttp2_session_get_stream_user_data(s, id);
    if (!r)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t have = r->h2_body ? evbuffer_get_length(r->h2_body) : 0;
    if (have == 0 && !r->body_done)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = have < len ? have : len;
    if (n)
        evbuffer_remove(r->h2_body, buf, n);
    if (r->body_done && n == have)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    /* Room again for the client's body: let it read more. */
    if (r->state == PX_RS_FORWARD && have - n < PX_LOW_WM)
        h2_schedule(r->up);
    return (ssize_t)n;
}

/* -------------------------------------------------------------- public */

int px_h2_session_start(struct px_upconn *u)
{
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    int rc = SGW_ERR;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        goto out;
    if (nghttp2_option_new(&opt) != 0)
        goto out;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, 65536);
    if (nghttp2_session_client_new2(&u->h2s, cb, u, opt) != 0)
        goto out;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 256 * 1024},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 65536},
    };
    if (nghttp2_submit_settings(u->h2s, NGHTTP2_FLAG_NONE, iv, SGW_ARRAY_LEN(iv)) != 0)
        goto out;
    /* Connection window: 1 MiB, given back as clients consume. */
    nghttp2_session_set_local_window_size(u->h2s, NGHTTP2_FLAG_NONE, 0, 1024 * 1024);
    rc = SGW_OK;
out:
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rc == SGW_OK)
        h2_schedule(u);
    return rc;
}

int px_h2_can_take(const struct px_upconn *u)
{
    return u->h2s && !u->dead && !u->h2_goaway && u->h2_streams < H2_MAX_STREAMS_PER_CONN &&
           nghttp2_session_want_read(u->h2s);
}

int px_h2_submit(struct px_upconn *u, struct px_req *r)
{
    const struct px_req_msg *m = &r->msg;
    nghttp2_nv nva[PX_H1_MAX_HEADERS + 6];
    size_t n = 0;
    char authority[300];
    const struct px_h1_header *host = NULL;
    for (size_t i = 0; i < m->n_headers && !host; i++)
        if (sgw_slice_eq_nocase(m->headers[i].name, "host"))
            host = &m->headers[i];
    if (host) {
        snprintf(authority, sizeof(authority), "%.*s", (int)host->value.len, host->value.ptr);
    } else {
        int v6 = strchr(r->host, ':') != NULL;
        snprintf(authority, sizeof(authority), "%s%s%s:%u", v6 ? "[" : "", r->host, v6 ? "]" : "",
                 (unsigned)r->port);
    }
    /* Names must be lowercase in h2: one scratch buffer holds the copies. */
    size_t names_len = 0;
    for (size_t i = 0; i < m->n_headers; i++)
        names_len += m->headers[i].name.len;
    char *lower = malloc(names_len + 1);
    if (!lower)
        return SGW_ENOMEM;
#define NV(nm, nl, vv, vl)                                                                         \
    do {                                                                                           \
        nva[n].name = (uint8_t *)(nm);                                                             \
        nva[n].namelen = (nl);                                                                     \
        nva[n].value = (uint8_t *)(vv);                                                            \
        nva[n].valuelen = (vl);                                                                    \
        nva[n].flags = NGHTTP2_NV_FLAG_NONE;                                                       \
        n++;                                                                                       \
    } while (0)
    NV(":method", 7, r->method, strlen(r->method));
    NV(":scheme", 7, u->tls ? "https" : "http", u->tls ? 5u : 4u);
    NV(":authority", 10, authority, strlen(authority));
    NV(":path", 5, m->path.ptr, m->path.len);
    size_t lo = 0;
    for (size_t i = 0; i < m->n_headers && n < SGW_ARRAY_LEN(nva) - 1; i++) {
        const struct px_h1_header *h = &m->headers[i];
        if (px_hdr_is_hop(m->headers, m->n_headers, h->name) ||
            sgw_slice_eq_nocase(h->name, "host") || sgw_slice_eq_nocase(h->name, "expect"))
            continue;
        for (size_t k = 0; k < h->name.len; k++)
            lower[lo + k] = (char)tolower((unsigned char)h->name.ptr[k]);
        NV(lower + lo, h->name.len, h->value.ptr, h->value.len);
        lo += h->name.len;
    }
    NV("via", 3, "1.1 sovgw", 9);
    char clbuf[24];
    if (r->send_cl) {
        int cl = snprintf(clbuf, sizeof(clbuf), "%llu", (unsigned long long)r->body_read);
        NV("content-length", 14, clbuf, (size_t)cl);
    }
#undef NV
    int has_body = !(m->body == PX_H1_BODY_NONE ||
                     (m->body == PX_H1_BODY_LENGTH && m->content_length == 0));
    nghttp2_data_provider prd;
    prd.source.ptr = NULL;
    prd.read_callback = body_read;
    int32_t id = nghttp2_submit_request(u->h2s, NULL, nva, n, has_body ? &prd : NULL, r);
    free(lower);
    if (id < 0)
        return SGW_ERR;
    r->stream_id = id;
    r->up = u;
    r->h2_unconsumed = 0;
    list_add(u, r);
    u->h2_streams++;
    if (u->state == PX_UP_IDLE) {
        u->w->n_idle--;
        px_deadline_cancel(&u->tdl);
        u->state = PX_UP_BUSY;
    }
    h2_schedule(u);
    return SGW_OK;
}

void px_h2_read(struct px_upconn *u)
{
    if (u->dead || !u->h2s)
        return;
    struct evbuffer *in = bufferevent_get_input(u->bev);
    while (evbuffer_get_length(in) > 0 && !u->dead) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        ssize_t n = nghttp2_session_mem_recv(u->h2s, v.iov_base, v.iov_len);
        if (n < 0) {
            char why[128];
            snprintf(why, sizeof(why), "upstream HTTP/2 protocol error: %s",
                     nghttp2_strerror((int)n));
            px_h2_fail_all(u, why);
            px_up_close(u);
            return;
        }
        evbuffer_drain(in, (size_t)n);
    }
    if (!u->dead)
        h2_flush(u);
    if (!u->dead)
        h2_idle_check(u);
}

/* Kick from the loop: flush frames and resume clients whose bodies wait. */
void px_h2_flush_kick(struct px_upconn *u)
{
    if (u->dead || !u->h2s)
        return;
    for (struct px_req *r = u->h2_reqs; r; r = r->h2_next)
        if (r->state == PX_RS_FORWARD && !px_up_body_congested(r))
            px_req_body_resume(r);
    if (!u->dead)
        h2_flush(u);
    if (!u->dead)
        h2_idle_check(u);
}

void px_h2_fail_all(struct px_upconn *u, const char *reason)
{
    while (u->h2_reqs) {
        struct px_req *r = u->h2_reqs;
        stream_unlink(u, r);
        if (r->resp_started)
            px_req_resp_abort(r, reason);
        else
            px_req_up_failed(r, 502, reason, 0);
    }
}

void px_h2_detach(struct px_upconn *u, struct px_req *r)
{
    int32_t id = r->stream_id;
    stream_unlink(u, r);
    if (u->dead || !u->h2s || id <= 0)
        return;
    nghttp2_submit_rst_stream(u->h2s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    h2_schedule(u);
}

void px_h2_body_more(struct px_upconn *u, struct px_req *r)
{
    if (u->dead || !u->h2s || r->stream_id <= 0)
        return;
    nghttp2_session_resume_data(u->h2s, r->stream_id);
    h2_schedule(u);
}

void px_h2_consume(struct px_upconn *u, struct px_req *r)
{
    if (u->dead || !u->h2s || r->stream_id <= 0 || r->h2_unconsumed == 0)
        return;
    give_back(u, r->stream_id, r->h2_unconsumed);
    r->h2_unconsumed = 0;
    h2_schedule(u);
}
