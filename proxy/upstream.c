/* proxy/upstream.c — connections from the gateway to origin servers: plain or
 * TLS (verified: system trust store + --upstream-ca, SNI, hostname check,
 * ALPN h2/http/1.1), HTTP/1.1 request writing and response parsing, and the
 * per-worker pool keyed by (host, port, tls, address).
 *
 * The request (conn.c) and its upstream are linked both ways (r->up, u->req
 * for h1). Whoever ends the relation unlinks both sides before calling the
 * other, so no callback ever sees a stale pointer. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/internal.h"
#include "proxy/metrics.h"

static const unsigned char alpn_protos[] = "\x02h2\x08http/1.1";

/* ------------------------------------------------------------- TLS ctx */

int px_up_ssl_ctx_new(const char *extra_ca, SSL_CTX **out, char *err, size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create the upstream TLS context");
        return SGW_ERR;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        sgw_log(SGW_LOG_WARN, PX_MOD, "system CA store not available");
    if (extra_ca && SSL_CTX_load_verify_locations(ctx, extra_ca, NULL) != 1) {
        snprintf(err, errlen, "cannot load --upstream-ca %s", extra_ca);
        SSL_CTX_free(ctx);
        return SGW_ERR;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    *out = ctx;
    return SGW_OK;
}

/* ------------------------------------------------------------ lifetime */

static void up_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_upconn *u = arg;
    if (u->dead)
        px_up_free(u);
    else if (u->h2)
        px_h2_flush_kick(u);
}

/* The worker's upstream connections are on two lists: w->ups_busy holds the
 * HTTP/1.1 (and tunnel) connections that serve a request and cannot take
 * another, w->ups all others (idle ones at the front). px_up_attach only
 * scans w->ups, so its cost does not grow with the requests in flight. */
static void ul_unlink(struct px_upconn *u)
{
    struct px_upconn **head = u->parked ? &u->w->ups_busy : &u->w->ups;
    if (u->prev)
        u->prev->next = u->next;
    else
        *head = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->prev = u->next = NULL;
}

static void ul_push(struct px_upconn *u, int parked)
{
    struct px_upconn **head = parked ? &u->w->ups_busy : &u->w->ups;
    u->parked = parked;
    u->prev = NULL;
    u->next = *head;
    if (*head)
        (*head)->prev = u;
    *head = u;
}

void px_up_close(struct px_upconn *u)
{
    if (u->dead)
        return;
    if (u->state == PX_UP_IDLE)
        u->w->n_idle--;
    u->dead = 1;
    u->state = PX_UP_DEAD;
    px_deadline_cancel(&u->tdl);
    if (u->bev) {
        px_rx_disable(&u->rx, u->bev);
        px_tx_disable(&u->tx, u->bev);
    }
    event_active(u->kick, EV_TIMEOUT, 1);
}

void px_up_free(struct px_upconn *u)
{
    if (!u)
        return;
    struct px_worker *w = u->w;
    if (u->state == PX_UP_IDLE)
        w->n_idle--;
    if (u->h2s)
        nghttp2_session_del(u->h2s);
    if (u->bev) {
        px_rx_release(&u->rx);
        px_tx_release(&u->tx);
        bufferevent_free(u->bev);
    }
    if (u->timer)
        event_free(u->timer);
    if (u->kick)
        event_free(u->kick);
    ul_unlink(u);
    px_metrics_upstream_conn(-1);
    free(u);
}

struct bufferevent *px_up_take_bev(struct px_upconn *u)
{
    if (!u)
        return NULL;
    struct bufferevent *b = u->bev;
    if (b) {
        px_rx_detach(&u->rx, b);
        px_tx_detach(&u->tx, b);
    }
    u->bev = NULL;
    if (u->req)
        u->req->up = NULL;
    u->req = NULL;
    px_up_close(u);
    return b;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return 0;
}

static int key_match(const struct px_upconn *u, const struct px_req *r)
{
    return !u->dead && !u->tunnel && u->tls == r->tls && u->port == r->port &&
           strcmp(u->host, r->host) == 0 &&
           same_addr(&u->addr, &r->addrs[r->addr_idx]);
}

/* Could u take another request at all (before comparing keys)? Busy HTTP/1.1
 * connections are the bulk of the list under load and never can. */
static int up_usable(const struct px_upconn *u)
{
    if (u->h2)
        return u->state == PX_UP_BUSY || u->state == PX_UP_IDLE;
    return u->state == PX_UP_IDLE || (u->tls && u->state == PX_UP_CONNECTING);
}


static void waiter_add(struct px_upconn *u, struct px_req *r)
{
    r->h2_prev = NULL;
    r->h2_next = u->waiters;
    if (u->waiters)
        u->waiters->h2_prev = r;
    u->waiters = r;
    u->n_waiters++;
    r->up = u;
    r->up_waiting = 1;
}

static void waiter_del(struct px_upconn *u, struct px_req *r)
{
    if (r->h2_prev)
        r->h2_prev->h2_next = r->h2_next;
    else if (u->waiters == r)
        u->waiters = r->h2_next;
    if (r->h2_next)
        r->h2_next->h2_prev = r->h2_prev;
    r->h2_prev = r->h2_next = NULL;
    u->n_waiters--;
    r->up = NULL;
    r->up_waiting = 0;
}

/* Unlinks u and its h1 request (and requests waiting for it to connect) and
 * reports the failure to each of them. */
static void up_fail_req(struct px_upconn *u, int status, const char *reason, int timeout)
{
    struct px_req *r = u->req;
    u->req = NULL;
    px_up_close(u);
    if (r) {
        r->up = NULL;
        px_req_up_failed(r, status, reason, timeout);
    }
    while (u->waiters) {
        struct px_req *wr = u->waiters;
        waiter_del(u, wr);
        px_req_up_failed(wr, status, reason, timeout);
    }
}

/* The connection is up: requests that waited for its ALPN get a stream (h2)
 * or their own connection (h1). */
static void release_waiters(struct px_upconn *u)
{
    while (u->waiters) {
        struct px_req *wr = u->waiters;
        waiter_del(u, wr);
        if (u->h2 && !u->dead && px_h2_can_take(u) && px_h2_submit(u, wr) == SGW_OK) {
            wr->up_reused = 1;
            px_req_up_connected(wr);
        } else {
            px_up_attach(wr, 1);
        }
    }
}

/* ------------------------------------------------------ h1 request head */

static int send_h1_head(struct px_upconn *u, struct px_req *r)
{
    const struct px_req_msg *m = &r->msg;
    struct evbuffer *out = bufferevent_get_output(u->bev);
    size_t mlen = strlen(r->method), hlen = strlen(r->host);
    /* Upper bound of everything below: request line, fields, Host, framing, Via. */
    size_t cap = mlen + 1 + m->path.len + 11;
    for (size_t i = 0; i < m->n_headers; i++)
        cap += m->headers[i].name.len + m->headers[i].value.len + 4;
    cap += 6 + hlen + 2 + 1 + 5 + 2;  /* Host: [h]:port */
    cap += 16 + 20 + 2;               /* Content-Length or Transfer-Encoding */
    cap += 18;                        /* Via + end of head */
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)cap, &v, 1) < 1 || v.iov_len < cap)
        return SGW_ERR;
    struct px_wbuf b = {v.iov_base, 0, cap, 0};
    px_wb_put(&b, r->method, mlen);
    PX_WB_LIT(&b, " ");
    px_wb_put(&b, m->path.ptr, m->path.len);
    PX_WB_LIT(&b, " HTTP/1.1\r\n");
    int have_host = 0;
    for (size_t i = 0; i < m->n_headers; i++) {
        const struct px_h1_header *h = &m->headers[i];
        if (px_hdr_is_hop(m->headers, m->n_headers, h->name))
            continue;
        if (h->name.len == 6 && sgw_slice_eq_nocase(h->name, "expect"))
            continue; /* the gateway answers 100-continue itself */
        if (h->name.len == 4 && sgw_slice_eq_nocase(h->name, "host"))
            have_host = 1;
        px_wb_put(&b, h->name.ptr, h->name.len);
        PX_WB_LIT(&b, ": ");
        px_wb_put(&b, h->value.ptr, h->value.len);
        PX_WB_LIT(&b, "\r\n");
    }
    if (!have_host) {
        int v6 = memchr(r->host, ':', hlen) != NULL;
        int dflt = (r->tls && r->port == 443) || (!r->tls && r->port == 80);
        PX_WB_LIT(&b, "Host: ");
        if (v6)
            PX_WB_LIT(&b, "[");
        px_wb_put(&b, r->host, hlen);
        if (v6)
            PX_WB_LIT(&b, "]");
        if (!dflt) {
            PX_WB_LIT(&b, ":");
            px_wb_dec(&b, r->port);
        }
        PX_WB_LIT(&b, "\r\n");
    }
    if (m->body == PX_H1_BODY_CHUNKED && r->send_cl) {
        PX_WB_LIT(&b, "Content-Length: ");
        px_wb_dec(&b, r->body_read);
        PX_WB_LIT(&b, "\r\n");
    } else if (m->body == PX_H1_BODY_CHUNKED) {
        PX_WB_LIT(&b, "Transfer-Encoding: chunked\r\n");
    }
    PX_WB_LIT(&b, "Via: 1.1 sovgw\r\n\r\n");
    if (b.bad) {
        v.iov_len = 0;
        evbuffer_commit_space(out, &v, 1);
        return SGW_ERR;
    }
    v.iov_len = b.n;
    if (evbuffer_commit_space(out, &v, 1) != 0)
        return SGW_ERR;
    u->head_done = 0;
    u->clean = 1;
    memset(&u->chunk, 0, sizeof(u->chunk));
    return SGW_OK;
}

/* ------------------------------------------------------- h1 response */

/* The response is complete: decide whether u goes back to the pool, unlink,
 * then tell the request. */
static void h1_finish(struct px_upconn *u)
{
    struct px_req *r = u->req;
    struct px_worker *w = u->w;
    /* Nothing of this request may still wait to go out: an upstream that
     * answered before reading the whole body would take the rest as the
     * next request's start. */
    int reuse = u->clean && !u->eof && r->body_done &&
                evbuffer_get_length(bufferevent_get_input(u->bev)) == 0 &&
                evbuffer_get_length(bufferevent_get_output(u->bev)) == 0 && !w->draining &&
                !atomic_load(&w->rt->stopping) && w->n_idle < PX_POOL_MAX_IDLE;
    u->req = NULL;
    r->up = NULL;
    u->served++;
    if (reuse) {
        u->state = PX_UP_IDLE;
        w->n_idle++;
        ul_unlink(u);
        ul_push(u, 0); /* found first by the next px_up_attach */
        px_deadline_set(&u->tdl, w->rt->cfg->pool_idle_ms);
        px_rx_enable(&u->rx, u->bev); /* notice a close while idle */
    } else {
        px_up_close(u);
    }
    px_req_resp_end(r);
}

static void h1_process(struct px_upconn *u)
{
    struct px_runtime *rt = u->w->rt;
    struct evbuffer *in = bufferevent_get_input(u->bev);
    for (;;) {
        struct px_req *r = u->req;
        if (u->dead || !r)
            return;
        size_t len = evbuffer_get_length(in);
        if (!u->head_done) {
            if (len == 0)
                return;
            r->resp_any = 1;
            size_t n = len < rt->lim.max_head + 1 ? len : rt->lim.max_head + 1;
            const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
            struct px_h1_message msg;
            size_t head_len = 0;
            const char *reason = NULL;
            struct sgw_slice meth = sgw_slice_make(r->method, strlen(r->method));
            int rc = px_h1_parse_response(buf, n, &rt->lim, meth, &msg, &head_len, &reason);
            if (rc == SGW_AGAIN) {
                if (n > rt->lim.max_head)
                    up_fail_req(u, 502, "upstream response head too large", 0);
                return;
            }
            if (rc != SGW_OK) {
                char why[200];
                snprintf(why, sizeof(why), "invalid upstream response: %s",
                         reason ? reason : "malformed");
                up_fail_req(u, 502, why, 0);
                return;
            }
            if (msg.status < 200) {
                if (msg.status == 101) {
                    up_fail_req(u, 502, "upstream switched protocols", 0);
                    return;
                }
                evbuffer_drain(in, head_len); /* interim response: not forwarded */
                continue;
            }
            if (msg.body == PX_H1_BODY_CHUNKED && n > head_len) {
                /* Validate the chunked framing already received before the
                 * head goes to the client: a broken body that arrived with
                 * the head becomes a clean 502 instead of a cut response. */
                struct px_h1_chunked probe;
                memset(&probe, 0, sizeof(probe));
                size_t off = head_len;
                while (off < n && !probe.done) {
                    size_t used = 0, dl = 0;
                    const char *d = NULL, *why = NULL;
                    int prc = px_h1_chunked_feed(&probe, buf + off, n - off, &used, &d, &dl, &why);
                    if (prc == SGW_AGAIN)
                        break;
                    if (prc != SGW_OK) {
                        char msgbuf[200];
                        snprintf(msgbuf, sizeof(msgbuf), "invalid upstream chunked body: %s",
                                 why ? why : "malformed");
                        up_fail_req(u, 502, msgbuf, 0);
                        return;
                    }
                    if (used == 0)
                        break;
                    off += used;
                }
            }
            u->head_done = 1;
            u->body = msg.body;
            u->body_left = msg.content_length;
            u->clean = msg.keep_alive && msg.body != PX_H1_BODY_EOF;
            int has_body = msg.body != PX_H1_BODY_NONE;
            int64_t clen = msg.body == PX_H1_BODY_LENGTH ? (int64_t)msg.content_length : -1;
            px_req_resp_head(r, msg.status, msg.reason, msg.headers, msg.n_headers, has_body,
                             clen);
            evbuffer_drain(in, head_len);
            if (r->conn->dead || u->req != r)
                return; /* client gone, or (HTTP/2 client) its stream was cut */
            if (msg.body == PX_H1_BODY_NONE ||
                (msg.body == PX_H1_BODY_LENGTH && msg.content_length == 0)) {
                h1_finish(u);
                return;
            }
            continue;
        }
        /* body */
        if (px_req_client_congested(r)) {
            px_rx_disable(&u->rx, u->bev);
            return;
        }
        if (len == 0)
            return;
        if (u->body == PX_H1_BODY_LENGTH) {
            size_t n = len;
            if (n > u->body_left)
                n = (size_t)u->body_left;
            px_req_resp_body_buf(r, in, n);
            u->body_left -= n;
            if (u->body_left == 0) {
                h1_finish(u);
                return;
            }
        } else if (u->body == PX_H1_BODY_CHUNKED) {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                return;
            size_t consumed = 0, dlen = 0;
            const char *data = NULL, *reason = NULL;
            int rc = px_h1_chunked_feed(&u->chunk, v.iov_base, v.iov_len, &consumed, &data, &dlen,
                                        &reason);
            if (rc == SGW_AGAIN) {
                evbuffer_drain(in, v.iov_len);
            } else if (rc != SGW_OK) {
                u->clean = 0;
                struct px_req *rr = u->req;
                u->req = NULL;
                rr->up = NULL;
                px_up_close(u);
                px_req_resp_abort(rr, reason ? reason : "invalid upstream chunked body");
                return;
            } else {
                if (dlen)
                    px_req_resp_body(r, data, dlen);
                evbuffer_drain(in, consumed);
            }
            if (u->chunk.done) {
                h1_finish(u);
                return;
            }
        } else { /* EOF-delimited */
            px_req_resp_body_buf(r, in, len);
        }
    }
}

/* The upstream closed and everything it sent has been delivered: an
 * EOF-delimited body is complete; anything else was cut short. */
static void h1_after_eof(struct px_upconn *u)
{
    struct px_req *r = u->req;
    if (u->head_done && u->body == PX_H1_BODY_EOF) {
        u->clean = 0;
        u->req = NULL;
        r->up = NULL;
        px_up_close(u);
        px_req_resp_end(r);
        return;
    }
    up_fail_req(u, 502, "upstream closed the connection", 0);
}

static void up_read_cb(struct bufferevent *bev, void *arg)
{
    struct px_upconn *u = arg;
    if (u->dead)
        return;
    if (u->h2) {
        px_h2_read(u);
        return;
    }
    if (u->state == PX_UP_IDLE || !u->req) {
        /* Bytes from an idle upstream: framing is lost, drop it. */
        px_up_close(u);
        return;
    }
    /* Connections are freed from their kick only: c outlives this call. */
    struct px_conn *c = u->req->conn;
    h1_process(u);
    px_conn_flush(c);
}

static void up_write_cb(struct bufferevent *bev, void *arg)
{
    struct px_upconn *u = arg;
    if (u->dead)
        return;
    if (u->h2) {
        px_h2_read(u); /* flushes pending frames, resumes data providers */
        return;
    }
    if (u->req && u->req->state == PX_RS_FORWARD)
        px_req_body_resume(u->req);
}

static void tls_error(struct px_upconn *u, char *why, size_t cap)
{
    unsigned long e = bufferevent_get_openssl_error(u->bev);
    SSL *ssl = bufferevent_openssl_get_ssl(u->bev);
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK)
        snprintf(why, cap, "upstream TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e)
        snprintf(why, cap, "upstream TLS handshake failed: %s", ERR_reason_error_string(e));
    else
        snprintf(why, cap, "upstream TLS handshake failed");
    while (bufferevent_get_openssl_error(u->bev))
        ;
}

static void up_connected(struct px_upconn *u)
{
    px_deadline_cancel(&u->tdl);
    /* Frames and records are written whole; do not let Nagle hold the tail
     * of one back for a delayed ACK (h2 flow control stalls on it). */
    evutil_socket_t fd = bufferevent_getfd(u->bev);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct px_req *r = u->req;
    if (u->tls) {
        SSL *ssl = bufferevent_openssl_get_ssl(u->bev);
        const unsigned char *alpn = NULL;
        unsigned alen = 0;
        if (ssl)
            SSL_get0_alpn_selected(ssl, &alpn, &alen);
        if (alen == 2 && memcmp(alpn, "h2", 2) == 0)
            u->h2 = 1;
    }
    if (!r) {
        /* The request that opened it is gone; waiters may still use it. */
        if (u->h2 && u->waiters && px_h2_session_start(u) == SGW_OK) {
            u->state = PX_UP_BUSY;
            release_waiters(u);
            return;
        }
        px_up_close(u);
        release_waiters(u);
        return;
    }
    u->state = PX_UP_BUSY;
    if (u->tunnel) {
        px_req_up_connected(r);
        return;
    }
    if (!u->tls) {
        px_rx_attach(&u->rx, u->w->base, u->bev); /* on failure libevent reads */
        px_tx_attach(&u->tx, &u->w->txq, u->bev); /* and writes */
    }
    if (u->h2) {
        u->req = NULL;
        if (px_h2_session_start(u) != SGW_OK || px_h2_submit(u, r) != SGW_OK) {
            r->up = NULL;
            up_fail_req(u, 502, "upstream HTTP/2 session failed", 0);
            px_req_up_failed(r, 502, "upstream HTTP/2 session failed", 0);
            return;
        }
        px_req_up_connected(r);
        release_waiters(u);
        return;
    }
    if (send_h1_head(u, r) != SGW_OK) {
        up_fail_req(u, 502, "cannot build the upstream request head", 0);
        return;
    }
    px_req_up_connected(r);
    release_waiters(u);
}

static void up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct px_upconn *u = arg;
    if (u->dead)
        return;
    if (what & BEV_EVENT_CONNECTED) {
        up_connected(u);
        return;
    }
    if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)))
        return;
    char why[256];
    if (u->tls && (what & BEV_EVENT_ERROR))
        tls_error(u, why, sizeof(why));
    else if (what & BEV_EVENT_ERROR)
        snprintf(why, sizeof(why), "upstream connection failed: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    else
        snprintf(why, sizeof(why), "upstream closed the connection");
    if (u->state == PX_UP_CONNECTING) {
        up_fail_req(u, 502, why, 0);
        return;
    }
    if (u->h2) {
        px_h2_fail_all(u, why);
        px_up_close(u);
        return;
    }
    if (u->state == PX_UP_IDLE || !u->req) {
        px_up_close(u);
        return;
    }
    /* Busy h1: what arrived before the close is delivered first, possibly
     * later (the client may be congested right now). */
    if (what & BEV_EVENT_EOF) {
        u->eof = 1;
        h1_process(u);
        if (!u->dead && u->req && evbuffer_get_length(bufferevent_get_input(u->bev)) == 0)
            h1_after_eof(u);
        return;
    }
    h1_process(u);
    if (u->dead || !u->req)
        return;
    up_fail_req(u, 502, why, 0);
}

static void up_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_upconn *u = arg;
    if (!px_deadline_due(&u->tdl) || u->dead)
        return;
    if (u->state == PX_UP_CONNECTING) {
        up_fail_req(u, 504, "upstream connect timeout", 1);
        return;
    }
    if (u->state == PX_UP_IDLE)
        px_up_close(u); /* pool lifetime over */
}

/* ----------------------------------------------------------------- pool */

static int is_ip_literal(const char *h)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static struct bufferevent *tls_bev(struct px_worker *w, const char *host)
{
    SSL *ssl = SSL_new(w->rt->up_ssl);
    if (!ssl)
        return NULL;
    int ok = 1;
    if (is_ip_literal(host)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    } else {
        ok = SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
        X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl),
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    ok = ok && SSL_set_alpn_protos(ssl, alpn_protos, sizeof(alpn_protos) - 1) == 0;
    if (!ok) {
        SSL_free(ssl);
        return NULL;
    }
    struct bufferevent *b = bufferevent_openssl_socket_new(
        w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!b)
        SSL_free(ssl);
    return b;
}

void px_up_attach(struct px_req *r, int fresh)
{
    struct px_worker *w = r->conn->w;
    r->up = NULL;
    r->stream_id = 0;
    if (!r->is_connect && !fresh) {
        for (struct px_upconn *u = w->ups; u; u = u->next) {
            if (!up_usable(u) || !key_match(u, r))
                continue;
            if (u->h2 && (u->state == PX_UP_BUSY || u->state == PX_UP_IDLE) && px_h2_can_take(u)) {
                r->up_reused = 1;
                if (px_h2_submit(u, r) != SGW_OK)
                    continue;
                px_req_up_connected(r);
                return;
            }
            if (u->tls && u->state == PX_UP_CONNECTING && u->n_waiters < PX_H2_MAX_WAITERS) {
                /* Its ALPN may be h2: wait for it instead of opening another. */
                waiter_add(u, r);
                return;
            }
            if (!u->h2 && u->state == PX_UP_IDLE) {
                px_deadline_cancel(&u->tdl);
                w->n_idle--;
                u->state = PX_UP_BUSY;
                ul_unlink(u); /* the scan stops at u: ends the loop right after */
                ul_push(u, 1);
                u->req = r;
                r->up = u;
                r->up_reused = 1;
                if (send_h1_head(u, r) != SGW_OK) {
                    up_fail_req(u, 502, "cannot build the upstream request head", 0);
                    return;
                }
                px_req_up_connected(r);
                return;
            }
        }
    }
    struct px_upconn *u = calloc(1, sizeof(*u));
    if (!u) {
        px_req_up_failed(r, 502, "out of memory", 0);
        return;
    }
    u->w = w;
    snprintf(u->host, sizeof(u->host), "%s", r->host);
    u->port = r->port;
    u->tls = r->tls && !r->is_connect;
    u->tunnel = r->is_connect;
    memcpy(&u->addr, &r->addrs[r->addr_idx], sizeof(u->addr));
    u->addrlen = r->addrlens[r->addr_idx];
    u->state = PX_UP_CONNECTING;
    u->kick = event_new(w->base, -1, 0, up_kick_cb, u);
    u->timer = evtimer_new(w->base, up_timer_cb, u);
    u->tdl.ev = u->timer;
    if (u->tls)
        u->bev = tls_bev(w, r->host);
    else
        u->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    /* Plain HTTP/1.1 and tunnels serve only this request until idle; a TLS
     * one may turn out h2 (ALPN) and take more. */
    ul_push(u, !u->tls);
    px_metrics_upstream_conn(1);
    if (!u->kick || !u->timer || !u->bev) {
        px_up_free(u);
        px_req_up_failed(r, 502, "cannot create upstream connection", 0);
        return;
    }
    u->req = r;
    r->up = u;
    bufferevent_setcb(u->bev, up_read_cb, up_write_cb, up_event_cb, u);
    bufferevent_setwatermark(u->bev, EV_WRITE, PX_LOW_WM, 0);
    bufferevent_enable(u->bev, EV_READ | EV_WRITE);
    px_deadline_set(&u->tdl, w->rt->cfg->connect_timeout_ms);
    if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&u->addr, (int)u->addrlen) < 0) {
        char why[160];
        snprintf(why, sizeof(why), "upstream connect failed: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        up_fail_req(u, 502, why, 0);
    }
}

void px_up_detach(struct px_req *r)
{
    struct px_upconn *u = r->up;
    if (!u)
        return;
    if (r->up_waiting) {
        waiter_del(u, r);
        return;
    }
    r->up = NULL;
    if (u->h2) {
        px_h2_detach(u, r);
        return;
    }
    if (u->req == r)
        u->req = NULL;
    if (u->state == PX_UP_CONNECTING && u->n_waiters > 0)
        return; /* others wait for it; it is released when it connects */
    /* Mid-exchange: the framing on this connection is unknown now. */
    px_up_close(u);
}

/* Where len body bytes go next (after the chunk header, on a chunked h1
 * upstream). *dst NULL and SGW_OK: no upstream to take them (the request
 * ends on that path); SGW_ENOMEM: the body cannot go on intact. */
static int body_dst(struct px_req *r, size_t len, struct evbuffer **dst)
{
    struct px_upconn *u = r->up;
    *dst = NULL;
    if (!u || u->dead || len == 0)
        return SGW_OK;
    r->body_sent += len;
    if (u->h2) {
        if (!r->h2_body)
            r->h2_body = evbuffer_new();
        *dst = r->h2_body;
        return r->h2_body ? SGW_OK : SGW_ENOMEM;
    }
    struct evbuffer *out = bufferevent_get_output(u->bev);
    if (r->msg.body == PX_H1_BODY_CHUNKED && !r->send_cl &&
        evbuffer_add_printf(out, "%zx\r\n", len) < 0)
        return SGW_ENOMEM;
    *dst = out;
    return SGW_OK;
}

/* After the bytes body_dst asked for. */
static int body_added(struct px_req *r)
{
    struct px_upconn *u = r->up;
    if (u->h2)
        px_h2_body_more(u, r);
    else if (r->msg.body == PX_H1_BODY_CHUNKED && !r->send_cl &&
             evbuffer_add(bufferevent_get_output(u->bev), "\r\n", 2) != 0)
        return SGW_ENOMEM;
    return SGW_OK;
}

int px_up_body(struct px_req *r, const char *data, size_t len)
{
    struct evbuffer *dst;
    int rc = body_dst(r, len, &dst);
    if (rc != SGW_OK || !dst)
        return rc;
    if (evbuffer_add(dst, data, len) != 0)
        return SGW_ENOMEM;
    return body_added(r);
}

int px_up_body_buf(struct px_req *r, struct evbuffer *src, size_t len)
{
    struct evbuffer *dst;
    int rc = body_dst(r, len, &dst);
    if (rc != SGW_OK || !dst) {
        evbuffer_drain(src, len);
        return rc;
    }
    /* Whole chains change buffers without a copy. */
    if (evbuffer_remove_buffer(src, dst, len) != (int)len) {
        evbuffer_drain(src, len);
        return SGW_ENOMEM;
    }
    return body_added(r);
}

void px_up_body_end(struct px_req *r)
{
    struct px_upconn *u = r->up;
    if (!u || u->dead)
        return;
    if (u->h2) {
        px_h2_body_more(u, r);
        return;
    }
    if (r->msg.body == PX_H1_BODY_CHUNKED && !r->send_cl)
        evbuffer_add(bufferevent_get_output(u->bev), "0\r\n\r\n", 5);
}

int px_up_body_congested(const struct px_req *r)
{
    const struct px_upconn *u = r->up;
    if (!u || u->dead || !u->bev)
        return 1;
    if (u->h2)
        return r->h2_body && evbuffer_get_length(r->h2_body) >= PX_HIGH_WM;
    return evbuffer_get_length(bufferevent_get_output(u->bev)) >= PX_HIGH_WM;
}

/* A counter that moves while the upstream takes the request body, for the
 * body's stall timer (only compared with an earlier value): on h2 the body
 * bytes nghttp2 framed, which it does only as the upstream opens its
 * flow-control window; on HTTP/1.1 the bytes that left the socket's send
 * queue (px_tx_taken); over TLS, where px_tx does not write, the body
 * handed over less what still waits in the output buffer and in the
 * socket's send queue (TLS records there: not a byte count, but it moves
 * when and only when bytes go). */
uint64_t px_up_body_taken(const struct px_req *r)
{
    const struct px_upconn *u = r->up;
    if (!u || u->dead || !u->bev)
        return 0;
    if (u->h2)
        return r->body_sent - (r->h2_body ? evbuffer_get_length(r->h2_body) : 0);
    if (u->tx.attached)
        return px_tx_taken(&u->tx);
    return r->body_sent - evbuffer_get_length(bufferevent_get_output(u->bev)) -
           px_sock_queued(bufferevent_getfd(u->bev));
}

void px_up_resume(struct px_req *r)
{
    struct px_upconn *u = r->up;
    if (!u || u->dead)
        return;
    if (u->h2) {
        px_h2_consume(u, r);
        return;
    }
    if (u->req != r)
        return;
    if (!u->eof)
        px_rx_enable(&u->rx, u->bev);
    h1_process(u);
    if (u->eof && !u->dead && u->req == r &&
        evbuffer_get_length(bufferevent_get_input(u->bev)) == 0)
        h1_after_eof(u);
}

void px_up_flush(struct px_req *r)
{
    struct px_upconn *u = r->up;
    /* Plain h1 only: TLS bevs write through OpenSSL, h2 through nghttp2. */
    if (!u || u->dead || u->req != r || u->state != PX_UP_BUSY || u->tls || u->h2 || u->tunnel)
        return;
    if (px_tx_write(&u->tx, u->bev))
        up_write_cb(u->bev, u);
}

void px_worker_pool_drain(struct px_worker *w)
{
    for (struct px_upconn *u = w->ups; u; u = u->next)
        if (u->state == PX_UP_IDLE)
            px_up_close(u);
}
