/* proxy/conn.c — the downstream HTTP/1.1 session of the explicit proxy and
 * the request state machine:
 *
 *   HEAD -> DECIDE -> RESOLVE -> CONNECT_UP -> FORWARD -> RESPONSE -> DONE
 *                                          \-> TUNNEL (CONNECT)
 *
 * One request at a time per connection: pipelined requests stay in the input
 * buffer (bounded by the read high watermark) until the previous response is
 * complete, so responses go out strictly in order. Nothing about a request
 * goes upstream before the policy allowed it for the exact address the
 * gateway then connects to. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <ctype.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/declog.h"
#include "proxy/internal.h"
#include "proxy/metrics.h"

static const char *const req_state_names[PX_RS__COUNT] = {
    "HEAD", "DECIDE", "RESOLVE", "BODY", "CONNECT_UP", "FORWARD", "RESPONSE", "TUNNEL", "DONE",
};

const char *px_req_state_str(enum px_req_state s)
{
    return (unsigned)s < PX_RS__COUNT ? req_state_names[s] : "?";
}

double px_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

double px_elapsed_ms(const struct timespec *since)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - since->tv_sec) * 1000.0 +
           (double)(ts.tv_nsec - since->tv_nsec) / 1e6;
}

void px_policy_version_seen(struct px_runtime *rt, uint64_t v)
{
    uint64_t seen = atomic_load(&rt->policy_version);
    while (v > seen) {
        if (atomic_compare_exchange_weak(&rt->policy_version, &seen, v)) {
            px_metrics_policy_version(v);
            break;
        }
    }
}

/* The only place a request changes state. */
static void req_set_state(struct px_req *r, enum px_req_state s)
{
    if (sgw_log_get_level() >= SGW_LOG_DEBUG)
        sgw_log(SGW_LOG_DEBUG, PX_MOD, "%s #%u %s -> %s", r->conn->client, r->conn->n_req,
                px_req_state_str(r->state), px_req_state_str(s));
    r->state = s;
}

/* ---------------------------------------------------------------- helpers */

int px_slice_eq_slice_nocase(struct sgw_slice a, struct sgw_slice b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (tolower((unsigned char)a.ptr[i]) != tolower((unsigned char)b.ptr[i]))
            return 0;
    return 1;
}

/* Does the comma-separated token list v contain name (case-insensitive)? */
static int token_list_has(struct sgw_slice v, struct sgw_slice name)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t' || v.ptr[i] == ','))
            i++;
        size_t st = i;
        while (i < v.len && v.ptr[i] != ',')
            i++;
        size_t en = i;
        while (en > st && (v.ptr[en - 1] == ' ' || v.ptr[en - 1] == '\t'))
            en--;
        if (en > st && px_slice_eq_slice_nocase(sgw_slice_make(v.ptr + st, en - st), name))
            return 1;
    }
    return 0;
}

/* Case-insensitive equality with a lowercase literal of known length. */
static int eq_lit(struct sgw_slice s, const char *lit, size_t n)
{
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch + ('a' - 'A'));
        if (ch != (unsigned char)lit[i])
            return 0;
    }
    return 1;
}
#define EQ_LIT(s, lit) eq_lit((s), (lit), sizeof(lit) - 1)

int px_hdr_is_hop(const struct px_h1_header *h, size_t n, struct sgw_slice name)
{
    /* The fixed list, dispatched on the length first. */
    switch (name.len) {
    case 2:
        if (EQ_LIT(name, "te"))
            return 1;
        break;
    case 7:
        if (EQ_LIT(name, "trailer") || EQ_LIT(name, "upgrade"))
            return 1;
        break;
    case 10:
        if (EQ_LIT(name, "connection") || EQ_LIT(name, "keep-alive"))
            return 1;
        break;
    case 16:
        if (EQ_LIT(name, "proxy-connection"))
            return 1;
        break;
    case 17:
        if (EQ_LIT(name, "transfer-encoding"))
            return 1;
        break;
    case 18:
        if (EQ_LIT(name, "proxy-authenticate"))
            return 1;
        break;
    case 19:
        if (EQ_LIT(name, "proxy-authorization"))
            return 1;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < n; i++)
        if (EQ_LIT(h[i].name, "connection") && token_list_has(h[i].value, name))
            return 1;
    return 0;
}

static int is_idempotent(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(ok); i++)
        if (strcmp(m, ok[i]) == 0)
            return 1;
    return 0;
}

static void conn_kick(struct px_conn *c)
{
    event_active(c->kick, EV_TIMEOUT, 1);
}

void px_conn_timer(struct px_conn *c, enum px_conn_timer mode, int ms)
{
    c->tmode = mode;
    if (mode == PX_TM_RESP)
        px_progress_mark(&c->prog, &c->tx);
    px_deadline_set(&c->tdl, mode == PX_TM_NONE ? 0 : ms);
}

static struct px_config *conn_cfg(const struct px_conn *c)
{
    return c->w->rt->cfg;
}

/* A request's timer: the connection's on HTTP/1.1, the stream's on HTTP/2. */
static void req_timer_set(struct px_req *r, enum px_conn_timer mode, int ms)
{
    if (r->d_sid)
        px_h2d_timer_set(r, (int)mode, ms);
    else
        px_conn_timer(r->conn, mode, ms);
}

/* Request storage (~6 KiB: the parsed head with its header table, candidate
 * addresses) exists only while a request is active, so an idle keep-alive
 * connection does not hold it. It is taken when a request starts and given
 * back from the kick once the request is over (never inside a callback chain
 * that may still hold r). A few are cached per worker; none under ASan, so
 * that a use after the request ended is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define PX_REQ_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PX_REQ_CACHE 0
#endif
#endif
#ifndef PX_REQ_CACHE
/* Up to this many while busy (an h2c client keeps hundreds of streams in
 * flight; a struct is 2.4 KB, past malloc's per-thread cache), cut back to
 * PX_REQ_CACHE_IDLE when a burst is over (trim_cb). */
#define PX_REQ_CACHE 256
#endif
#define PX_REQ_CACHE_IDLE (PX_REQ_CACHE < 16 ? PX_REQ_CACHE : 16)
/* After a burst of at least this many concurrent requests has ended, the
 * worker gives the heap pages it freed back to the kernel (at most once per
 * PX_TRIM_MIN_MS): request, upstream and buffer allocations of the burst
 * would otherwise stay resident between the long-lived connections. */
#define PX_TRIM_PEAK 64
#define PX_TRIM_MIN_MS 1000.0

/* Frees cached request structs and stream buffers beyond keep. */
static void req_cache_cut(struct px_worker *w, int keep)
{
    while (w->n_req_cache > keep && w->req_cache) {
        struct px_req *r = w->req_cache;
        w->req_cache = r->h2_next;
        w->n_req_cache--;
        free(r);
    }
    while (w->n_evb_cache > keep)
        evbuffer_free(w->evb_cache[--w->n_evb_cache]);
}

struct evbuffer *px_worker_evbuf(struct px_worker *w)
{
    if (w->n_evb_cache > 0)
        return w->evb_cache[--w->n_evb_cache];
    return evbuffer_new();
}

void px_worker_evbuf_put(struct px_worker *w, struct evbuffer *b)
{
    if (!b)
        return;
    evbuffer_drain(b, evbuffer_get_length(b));
    /* None kept under ASan (PX_REQ_CACHE 0), so a use after the stream is
     * still caught. */
    if (w->n_evb_cache < PX_REQ_CACHE && w->n_evb_cache < PX_EVB_CACHE &&
        evbuffer_get_length(b) == 0) {
        w->evb_cache[w->n_evb_cache++] = b;
        return;
    }
    evbuffer_free(b);
}

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    (void)fd;
    (void)what;
    if (w->n_reqs > 0)
        return; /* busy again: the next time it drains re-arms this */
    w->req_peak = 0;
    w->last_trim_ms = px_now_ms();
    req_cache_cut(w, PX_REQ_CACHE_IDLE);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* A burst is over: trim the heap shortly, at most once per PX_TRIM_MIN_MS. */
static void trim_later(struct px_worker *w)
{
    if (!w->trim_ev)
        w->trim_ev = evtimer_new(w->base, trim_cb, w);
    if (!w->trim_ev || evtimer_pending(w->trim_ev, NULL))
        return;
    double wait = PX_TRIM_MIN_MS - (px_now_ms() - w->last_trim_ms);
    if (wait < 100.0)
        wait = 100.0;
    int ms = (int)wait;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(w->trim_ev, &tv);
}

/* A request struct from the worker's cache or the heap (not cleared), and
 * back: every request of HTTP/1.1 connections and HTTP/2 streams. */
static struct px_req *req_alloc(struct px_worker *w)
{
    struct px_req *r;
    if (w->req_cache) {
        r = w->req_cache;
        w->req_cache = r->h2_next;
        w->n_req_cache--;
    } else {
        r = malloc(sizeof(*r));
        if (!r)
            return NULL;
    }
    if (++w->n_reqs > w->req_peak)
        w->req_peak = w->n_reqs;
    return r;
}

static void req_release(struct px_worker *w, struct px_req *r)
{
    if (w->n_req_cache < PX_REQ_CACHE) {
        r->h2_next = w->req_cache;
        w->req_cache = r;
        w->n_req_cache++;
    } else {
        free(r);
    }
    if (--w->n_reqs == 0 && w->req_peak >= PX_TRIM_PEAK)
        trim_later(w);
}

static struct px_req *req_take(struct px_conn *c)
{
    struct px_req *r = c->req;
    if (!r) {
        r = req_alloc(c->w);
        if (!r)
            return NULL;
        c->req = r;
    }
    memset(r, 0, sizeof(*r));
    r->conn = c;
    return r;
}

static void req_give_back(struct px_conn *c)
{
    struct px_req *r = c->req;
    if (!r || c->in_req)
        return;
    c->req = NULL;
    req_release(c->w, r);
}

void px_worker_req_cache_free(struct px_worker *w)
{
    if (w->trim_ev) {
        event_free(w->trim_ev);
        w->trim_ev = NULL;
    }
    req_cache_cut(w, 0);
}

/* Downstream HTTP/2: one request per stream, from the same cache. */
struct px_req *px_req_stream_new(struct px_conn *c)
{
    struct px_req *r = req_alloc(c->w);
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->conn = c;
    clock_gettime(CLOCK_MONOTONIC, &r->t_start);
    c->n_req++;
    return r;
}

void px_req_stream_free(struct px_req *r)
{
    req_release(r->conn->w, r);
}

/* -------------------------------------------------------------- logging */

static void req_log(struct px_req *r, int status, const char *verdict, const char *reason)
{
    if (r->logged)
        return;
    r->logged = 1;
    struct px_conn *c = r->conn;
    double total = px_elapsed_ms(&r->t_start);
    char path[2048];
    const char *method = r->method[0] ? r->method : "-";
    size_t plen = r->msg.path.len < sizeof(path) - 1 ? r->msg.path.len : sizeof(path) - 1;
    if (r->msg.path.ptr && !r->is_connect)
        memcpy(path, r->msg.path.ptr, plen);
    else
        plen = 0;
    path[plen] = '\0';
    const char *rule = r->decided ? r->dec.rule_id : "none";
    struct px_declog_rec rec = {
        .client = c->client,
        .method = method,
        .host = r->host, /* NUL-terminated within its array */
        .port = r->port,
        .path = plen ? path : NULL,
        .proto = r->d_sid ? "h2" : (r->is_connect ? "connect" : "http/1.1"),
        .rule_id = rule,
        .verdict = verdict,
        .reason = reason ? reason : (r->decided ? r->dec.reason : ""),
        .status = status,
        .bytes_in = r->bytes_in,
        .bytes_out = r->bytes_out,
        .decision_ms = r->decision_ms,
        .upstream_ms = r->upstream_ms,
        .total_ms = total,
        .policy_version = r->decided ? r->dec.policy_version : 0,
    };
    px_declog_write(&rec);
    px_metrics_request(verdict, rule, total / 1000.0, r->bytes_in, r->bytes_out);
}

/* Frees the held body and gives its bytes back to the process budget. */
static void hold_release(struct px_req *r)
{
    if (r->held)
        atomic_fetch_sub(&r->conn->w->rt->held_bytes, r->held);
    r->held = 0;
    if (r->hold) {
        evbuffer_free(r->hold);
        r->hold = NULL;
    }
}

/* Releases everything the request holds (upstream, DNS, head copy). */
static void req_cleanup(struct px_req *r)
{
    if (r->dns) {
        struct px_dns_req *d = r->dns;
        r->dns = NULL;
        px_dns_cancel(d);
    }
    px_up_detach(r);
    if (r->h2_body) {
        evbuffer_free(r->h2_body);
        r->h2_body = NULL;
    }
    hold_release(r);
    free(r->head);
    r->head = NULL;
}

/* ------------------------------------------------------ connection life */

void px_conn_close(struct px_conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    if (c->bev && !c->pipe) {
        px_rx_disable(&c->rx, c->bev);
        px_tx_disable(&c->tx, c->bev);
    }
    conn_kick(c);
}

/* Output is flushed: close without making the kernel answer unread input
 * with a RST (which can destroy the response we just sent). Shut our write
 * side, then discard what the client still sends until its EOF, a byte cap
 * or PX_LINGER_MS. */
static void conn_linger(struct px_conn *c)
{
    if (c->dead)
        return;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (c->read_eof || fd < 0) {
        px_conn_close(c);
        return;
    }
    c->lingering = 1;
    shutdown(fd, SHUT_WR);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    px_tx_disable(&c->tx, c->bev);
    px_rx_set_high(&c->rx, c->bev, 0);
    px_rx_enable(&c->rx, c->bev);
    px_conn_timer(c, PX_TM_LINGER, PX_LINGER_MS);
}

/* Close once everything queued for the client has been written. */
static void conn_close_after_flush(struct px_conn *c)
{
    if (c->dead)
        return;
    c->closing = 1;
    px_conn_timer(c, PX_TM_NONE, 0);
    px_rx_disable(&c->rx, c->bev);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_linger(c);
        return;
    }
    px_tx_set_low(&c->tx, c->bev, 0);
    /* Do not wait forever on a client that stopped reading. */
    px_conn_timer(c, PX_TM_RESP, conn_cfg(c)->idle_timeout_ms);
}

void px_conn_close_after_flush(struct px_conn *c)
{
    conn_close_after_flush(c);
}

void px_conn_free(struct px_conn *c)
{
    if (!c)
        return;
    if (c->h2d)
        px_h2d_free(c); /* logs and releases every stream's request */
    if (c->in_req) {
        struct px_req *r = c->req;
        if (c->pipe && !r->logged) {
            r->bytes_in += c->pipe->a_to_b;
            r->bytes_out += c->pipe->b_to_a;
        }
        if (!r->logged)
            req_log(r, r->state == PX_RS_TUNNEL ? 0 : (r->resp_started ? r->resp_status : 0),
                    r->state == PX_RS_TUNNEL ? "allow" : "error",
                    r->state == PX_RS_TUNNEL ? "tunnel closed" : "client connection closed");
        req_cleanup(r);
        c->in_req = 0;
    }
    req_give_back(c);
    if (c->pipe)
        px_pipe_free(c->pipe); /* owns the client bufferevent too */
    else if (c->bev) {
        px_rx_release(&c->rx);
        px_tx_release(&c->tx);
        bufferevent_free(c->bev);
    }
    if (c->kick)
        event_free(c->kick);
    if (c->timer)
        event_free(c->timer);
    struct px_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->n_conns--;
    if (c->counted) {
        atomic_fetch_sub(&w->rt->n_conns, 1);
        px_metrics_conn(-1);
    } else {
        w->n_refusing--;
    }
    free(c);
    px_worker_conn_closed(w);
}

/* -------------------------------------------------------- error answers */

/* Answers the current request with a gateway-made error and closes the
 * connection afterwards (strict: after an error nothing else on this
 * connection is trusted, e.g. a body we did not read). */
static void req_fail_ka(struct px_req *r, int status, const char *error, const char *reason,
                        int keep)
{
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    if (r->resp_started) {
        px_req_resp_abort(r, reason);
        return;
    }
    const char *verdict = r->decided && r->dec.verdict == RL_ALLOW ? "allow" : "deny";
    if (r->d_sid) {
        /* HTTP/2: the answer ends this stream only; the others go on. */
        r->resp_started = 1;
        r->resp_status = status;
        px_h2d_error(r, status, error, verdict, r->decided ? r->dec.rule_id : "none", reason);
        req_log(r, status, status == 403 ? "deny" : "error", reason);
        req_set_state(r, PX_RS_DONE);
        req_cleanup(r);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t before = evbuffer_get_length(out);
    px_respond_error(c->bev, status, error, verdict, r->decided ? r->dec.rule_id : "none", reason,
                     !keep);
    r->resp_started = 1;
    r->resp_status = status;
    r->bytes_out += evbuffer_get_length(out) - before;
    req_log(r, status, status == 403 ? "deny" : "error", reason);
    req_set_state(r, PX_RS_DONE);
    req_cleanup(r);
    if (!keep) {
        conn_close_after_flush(c);
        return;
    }
    c->in_req = 0;
    px_conn_timer(c, PX_TM_IDLE, conn_cfg(c)->idle_timeout_ms);
    conn_kick(c);
}

/* Answers the current request with a gateway-made error and closes the
 * connection afterwards (strict: after an error nothing else on this
 * connection is trusted, e.g. a body we did not read). */
static void req_fail(struct px_req *r, int status, const char *error, const char *reason)
{
    req_fail_ka(r, status, error, reason, 0);
}

void px_req_stream_fail(struct px_req *r, int status, const char *error, const char *reason)
{
    req_fail(r, status, error, reason);
}

static void req_deny(struct px_req *r)
{
    sgw_log(SGW_LOG_DEBUG, PX_MOD, "%s denied %s:%u rule=%s", r->conn->client, r->host,
            (unsigned)r->port, r->dec.rule_id);
    /* A denial of a request without a body keeps the connection: its framing
     * is fully known, and the next request is decided on its own. */
    struct px_conn *c = r->conn;
    int keep = r->body_done && !r->is_connect && r->msg.keep_alive && !c->w->draining &&
               !atomic_load(&c->w->rt->stopping);
    req_fail_ka(r, 403, "request denied by policy", r->dec.reason, keep);
}

/* ------------------------------------------------------------- response */

int px_req_client_congested(const struct px_req *r)
{
    const struct px_conn *c = r->conn;
    if (c->dead || !c->bev)
        return 1;
    if (r->d_sid)
        return px_h2d_congested(r);
    return evbuffer_get_length(bufferevent_get_output(c->bev)) >= PX_HIGH_WM;
}

void px_req_resp_head(struct px_req *r, int status, struct sgw_slice reason,
                      const struct px_h1_header *h, size_t n, int has_body, int64_t clen)
{
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    struct px_runtime *rt = c->w->rt;
    r->resp_any = 1;
    r->resp_status = status;
    r->upstream_ms = px_elapsed_ms(&r->t_up);
    r->resp_nobody = !has_body;
    r->resp_chunked = 0;
    r->resp_eof = 0;
    if (r->d_sid) {
        if (px_h2d_resp_head(r, status, h, n, has_body, clen) != SGW_OK) {
            px_req_resp_abort(r, "response head cannot be sent over HTTP/2");
            return;
        }
        r->resp_started = 1;
        if (r->state == PX_RS_RESPONSE)
            req_timer_set(r, PX_TM_RESP, conn_cfg(c)->idle_timeout_ms);
        return;
    }
    if (has_body && clen < 0) {
        if (r->msg.version_minor >= 1)
            r->resp_chunked = 1;
        else
            r->resp_eof = 1;
    }
    /* A client half-close does not force close here: requests it pipelined
     * before its EOF are still answered, then parse_head closes. */
    r->resp_close = !r->msg.keep_alive || r->resp_eof || c->w->draining ||
                    atomic_load(&rt->stopping);

    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (reason.len == 0)
        reason = sgw_slice_make(px_reason_phrase(status), strlen(px_reason_phrase(status)));
    int need_cl = 0;
    if (has_body && clen >= 0) {
        /* h2 responses may omit content-length; h1 ones carried it. */
        need_cl = 1;
        for (size_t i = 0; i < n; i++)
            if (EQ_LIT(h[i].name, "content-length"))
                need_cl = 0;
    }
    char rule[80];
    size_t j = 0;
    for (size_t i = 0; r->dec.rule_id[i] && j + 1 < sizeof(rule); i++) {
        unsigned char ch = (unsigned char)r->dec.rule_id[i];
        if (ch > 0x20 && ch < 0x7f && ch != ';' && ch != ',')
            rule[j++] = (char)ch;
    }
    rule[j] = '\0';
    /* Upper bound of the head below, from the same pieces. */
    size_t cap = 9 + 20 + 1 + reason.len + 2;
    for (size_t i = 0; i < n; i++)
        cap += h[i].name.len + h[i].value.len + 4;
    cap += 16 + 20 + 2;                /* content-length */
    cap += 46 + j + 2;                 /* via + x-sovgw-decision */
    cap += 28 + 24 + 2;                /* transfer-encoding, connection, end of head */
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)cap, &v, 1) < 1 || v.iov_len < cap) {
        px_req_resp_abort(r, "gateway out of memory");
        return;
    }
    struct px_wbuf b = {v.iov_base, 0, cap, 0};
    PX_WB_LIT(&b, "HTTP/1.1 ");
    px_wb_dec(&b, (uint64_t)(status < 0 ? 0 : status));
    PX_WB_LIT(&b, " ");
    px_wb_put(&b, reason.ptr, reason.len);
    PX_WB_LIT(&b, "\r\n");
    for (size_t i = 0; i < n; i++) {
        if (px_hdr_is_hop(h, n, h[i].name))
            continue;
        if (EQ_LIT(h[i].name, "x-sovgw-decision"))
            continue; /* only the gateway speaks for itself */
        if (has_body && clen < 0 && EQ_LIT(h[i].name, "content-length"))
            continue;
        px_wb_put(&b, h[i].name.ptr, h[i].name.len);
        PX_WB_LIT(&b, ": ");
        px_wb_put(&b, h[i].value.ptr, h[i].value.len);
        PX_WB_LIT(&b, "\r\n");
    }
    if (need_cl) {
        PX_WB_LIT(&b, "content-length: ");
        px_wb_dec(&b, (uint64_t)clen);
        PX_WB_LIT(&b, "\r\n");
    }
    PX_WB_LIT(&b, "via: 1.1 sovgw\r\nx-sovgw-decision: allow; rule=");
    px_wb_put(&b, rule, j);
    PX_WB_LIT(&b, "\r\n");
    if (r->resp_chunked)
        PX_WB_LIT(&b, "transfer-encoding: chunked\r\n");
    if (r->resp_close)
        PX_WB_LIT(&b, "connection: close\r\n");
    else if (r->msg.version_minor == 0)
        PX_WB_LIT(&b, "connection: keep-alive\r\n");
    PX_WB_LIT(&b, "\r\n");
    if (b.bad) {
        v.iov_len = 0;
        evbuffer_commit_space(out, &v, 1);
        px_req_resp_abort(r, "response head does not fit");
        return;
    }
    v.iov_len = b.n;
    if (evbuffer_commit_space(out, &v, 1) != 0) {
        px_req_resp_abort(r, "gateway out of memory");
        return;
    }
    r->bytes_out += b.n;
    r->resp_started = 1;
    if (r->state == PX_RS_RESPONSE)
        px_conn_timer(c, PX_TM_RESP, conn_cfg(c)->idle_timeout_ms);
}

/* Frames len response body bytes for the client (a chunk when the response
 * is re-chunked) and moves them: from data when src is NULL, else out of src
 * without a copy. Bytes for a client that is gone or a bodiless response are
 * dropped (drained from src). */
static void resp_body_frame(struct px_req *r, const char *data, struct evbuffer *src, size_t len)
{
    struct px_conn *c = r->conn;
    if (c->dead || len == 0 || r->resp_nobody) {
        if (src)
            evbuffer_drain(src, len);
        return;
    }
    if (r->d_sid) {
        px_h2d_resp_data(r, data, src, len);
        r->bytes_out += len;
        if (r->d_tmode == PX_TM_RESP)
            req_timer_set(r, PX_TM_RESP, conn_cfg(c)->idle_timeout_ms);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (r->resp_chunked)
        evbuffer_add_printf(out, "%zx\r\n", len);
    if (src)
        evbuffer_remove_buffer(src, out, len);
    else
        evbuffer_add(out, data, len);
    if (r->resp_chunked)
        evbuffer_add(out, "\r\n", 2);
    r->bytes_out += len;
    if (c->tmode == PX_TM_RESP)
        px_conn_timer(c, PX_TM_RESP, conn_cfg(c)->idle_timeout_ms);
}

void px_req_resp_body(struct px_req *r, const char *data, size_t len)
{
    resp_body_frame(r, data, NULL, len);
}

void px_req_resp_body_buf(struct px_req *r, struct evbuffer *src, size_t len)
{
    resp_body_frame(r, NULL, src, len);
}

/* The response is complete: log it, then either wait for the next request on
 * this connection or close it. The upstream has already let go of r. */
void px_req_resp_end(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    if (r->d_sid) {
        /* The request body may still be arriving: the stream ends with the
         * response, and what the client sends after it is discarded. */
        px_h2d_resp_end(r);
        req_log(r, r->resp_status, "allow", NULL);
        req_set_state(r, PX_RS_DONE);
        req_cleanup(r);
        return;
    }
    if (r->resp_chunked)
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    if (!r->body_done)
        r->resp_close = 1; /* unread request body: framing of what follows is unknown */
    req_log(r, r->resp_status, "allow", NULL);
    req_set_state(r, PX_RS_DONE);
    int close = r->resp_close || c->w->draining || atomic_load(&c->w->rt->stopping);
    req_cleanup(r);
    c->in_req = 0;
    if (close) {
        conn_close_after_flush(c);
        return;
    }
    px_rx_enable(&c->rx, c->bev);
    px_conn_timer(c, PX_TM_IDLE, conn_cfg(c)->idle_timeout_ms);
    conn_kick(c); /* a pipelined request may already be waiting */
}

void px_req_resp_abort(struct px_req *r, const char *reason)
{
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    sgw_log(SGW_LOG_INFO, PX_MOD, "%s response to %s:%u cut: %s", c->client, r->host,
            (unsigned)r->port, reason);
    req_log(r, r->resp_status, "error", reason);
    req_set_state(r, PX_RS_DONE);
    req_cleanup(r);
    if (r->d_sid) {
        px_h2d_reset(r); /* the stream is cut, the connection's other streams go on */
        return;
    }
    /* Do not finish a chunked body: the client must see a truncated
     * response, never a complete one. */
    px_conn_close(c);
}

/* ---------------------------------------------------------- request body */

static void req_arm_upstream_timer(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (!r->resp_any)
        req_timer_set(r, PX_TM_UPSTREAM, conn_cfg(c)->upstream_timeout_ms);
}

static void connect_up(struct px_req *r, int fresh);

/* Where decoded body bytes go: held (before the upstream exists) or upstream.
 * A failure fails the request (a body with a gap is never forwarded):
 * returns SGW_ENOMEM and the caller stops. */
static int body_sink(struct px_req *r, const char *data, size_t len)
{
    int rc = SGW_OK;
    if (r->state == PX_RS_BODY) {
        if (evbuffer_add(r->hold, data, len) != 0)
            rc = SGW_ENOMEM;
        else {
            r->held += len;
            atomic_fetch_add(&r->conn->w->rt->held_bytes, len);
        }
    } else
        rc = px_up_body(r, data, len);
    if (rc != SGW_OK)
        req_fail(r, 502, "request body not forwarded", "out of memory");
    return rc;
}

/* The same for the first len bytes of src, moved (src loses them): a body
 * that arrived as its own chains reaches the upstream's output without a
 * copy. */
static int body_sink_buf(struct px_req *r, struct evbuffer *src, size_t len)
{
    int rc = SGW_OK;
    if (r->state == PX_RS_BODY) {
        if (evbuffer_remove_buffer(src, r->hold, len) != (int)len) {
            evbuffer_drain(src, len);
            rc = SGW_ENOMEM;
        } else {
            r->held += len;
            atomic_fetch_add(&r->conn->w->rt->held_bytes, len);
        }
    } else
        rc = px_up_body_buf(r, src, len);
    if (rc != SGW_OK)
        req_fail(r, 502, "request body not forwarded", "out of memory");
    return rc;
}

static int body_congested(const struct px_req *r)
{
    if (r->state == PX_RS_BODY) /* past the budget, the body streams instead */
        return evbuffer_get_length(r->hold) >= PX_HOLD_MAX ||
               atomic_load(&r->conn->w->rt->held_bytes) >= PX_HOLD_GLOBAL;
    return px_up_body_congested(r);
}

static void pump_body_done(struct px_req *r);

/* HTTP/2: moves request DATA (already de-framed by nghttp2, in r->d_in) to
 * the hold buffer or the upstream until the sink is full; the bytes taken go
 * back to the client's flow-control window, so a stalled upstream stalls the
 * client's stream and not the gateway's memory. */
static void h2_pump_body(struct px_req *r)
{
    struct px_conn *c = r->conn;
    uint64_t max_body = conn_cfg(c)->max_body;
    int progressed = 0;
    while (!r->body_done && !c->dead && r->state != PX_RS_DONE) {
        size_t len = r->d_in ? evbuffer_get_length(r->d_in) : 0;
        if (len == 0) {
            if (r->d_in_end) {
                if (r->msg.body == PX_H1_BODY_LENGTH && r->body_left != 0) {
                    req_fail(r, 400, "incomplete request body",
                             "DATA shorter than content-length");
                    return;
                }
                r->body_done = 1;
            }
            break;
        }
        if (body_congested(r))
            break;
        struct evbuffer_iovec v;
        if (evbuffer_peek(r->d_in, -1, NULL, &v, 1) < 1)
            break;
        size_t n = v.iov_len;
        if (r->msg.body == PX_H1_BODY_LENGTH && n > r->body_left) {
            req_fail(r, 400, "invalid request body", "DATA longer than content-length");
            return;
        }
        if (r->body_read + n > max_body) {
            req_fail(r, 413, "request body too large", "body exceeds max-body");
            return;
        }
        if (body_sink_buf(r, r->d_in, n) != SGW_OK)
            return;
        if (r->msg.body == PX_H1_BODY_LENGTH)
            r->body_left -= n;
        r->body_read += n;
        r->bytes_in += n;
        px_h2d_consumed(r, n);
        progressed = 1;
    }
    if (c->dead || r->state == PX_RS_DONE)
        return;
    if (r->state == PX_RS_BODY) {
        if (r->body_done || body_congested(r)) {
            if (r->body_done && r->msg.body == PX_H1_BODY_CHUNKED)
                r->send_cl = 1;
            connect_up(r, 0);
            return;
        }
        if (progressed)
            req_timer_set(r, PX_TM_BODY, conn_cfg(c)->idle_timeout_ms);
        return;
    }
    if (r->body_done)
        pump_body_done(r);
    else if (progressed && !r->resp_any)
        req_timer_set(r, PX_TM_BODY, conn_cfg(c)->idle_timeout_ms);
}

/* The whole request body went upstream: wait for the response. */
static void pump_body_done(struct px_req *r)
{
    struct px_conn *c = r->conn;
    px_up_body_end(r);
    if (r->state == PX_RS_FORWARD)
        req_set_state(r, PX_RS_RESPONSE);
    if (!r->d_sid)
        px_rx_enable(&c->rx, c->bev);
    if (r->resp_started)
        req_timer_set(r, PX_TM_RESP, conn_cfg(c)->idle_timeout_ms);
    else
        req_arm_upstream_timer(r);
}

/* Moves request body bytes from the client input to the hold buffer or the
 * upstream, decoding chunked framing, until the input is empty, the sink is
 * full or the body is complete. */
static void pump_body(struct px_req *r)
{
    if (r->d_sid) {
        h2_pump_body(r);
        return;
    }
    struct px_conn *c = r->conn;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    uint64_t max_body = conn_cfg(c)->max_body;
    int progressed = 0;
    while (!r->body_done && !c->dead) {
        if (body_congested(r)) {
            if (r->state == PX_RS_BODY)
                break; /* hold full: connect and stream the rest */
            px_rx_disable(&c->rx, c->bev);
            break;
        }
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            break;
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        if (r->msg.body == PX_H1_BODY_LENGTH) {
            size_t n = v.iov_len;
            if (n > r->body_left)
                n = (size_t)r->body_left;
            if (body_sink_buf(r, in, n) != SGW_OK)
                return;
            r->body_left -= n;
            r->body_read += n;
            r->bytes_in += n;
            progressed = 1;
            if (r->body_left == 0)
                r->body_done = 1;
        } else {
            size_t consumed = 0, dlen = 0;
            const char *data = NULL, *reason = NULL;
            int rc = px_h1_chunked_feed(&r->chunk, v.iov_base, v.iov_len, &consumed, &data, &dlen,
                                        &reason);
            if (rc == SGW_AGAIN) {
                evbuffer_drain(in, v.iov_len);
                r->bytes_in += v.iov_len;
                progressed = 1;
                if (r->chunk.done)
                    r->body_done = 1;
                continue;
            }
            if (rc != SGW_OK) {
                req_fail(r, rc == SGW_ELIMIT ? 413 : 400, "invalid chunked request body",
                         reason ? reason : "chunked framing error");
                return;
            }
            if (dlen) {
                if (r->body_read + dlen > max_body) {
                    req_fail(r, 413, "request body too large", "body exceeds max-body");
                    return;
                }
                if (body_sink(r, data, dlen) != SGW_OK)
                    return;
                r->body_read += dlen;
            }
            evbuffer_drain(in, consumed);
            r->bytes_in += consumed;
            progressed = 1;
            if (r->chunk.done)
                r->body_done = 1;
        }
    }
    if (c->dead)
        return;
    if (r->state == PX_RS_BODY) {
        if (r->body_done || body_congested(r)) {
            /* A fully held chunked body goes upstream with a Content-Length:
             * the framing the upstream sees is the one we decoded. */
            if (r->body_done && r->msg.body == PX_H1_BODY_CHUNKED)
                r->send_cl = 1;
            connect_up(r, 0);
            return;
        }
        if (c->read_eof && evbuffer_get_length(in) == 0) {
            req_fail(r, 400, "incomplete request body", "client closed during the request body");
            return;
        }
        if (progressed)
            px_conn_timer(c, PX_TM_BODY, conn_cfg(c)->idle_timeout_ms);
        return;
    }
    if (r->body_done) {
        /* Keeps reading (bounded by the watermark) to notice a client EOF;
         * pipelined bytes just wait in the input buffer. */
        pump_body_done(r);
    } else if (progressed && !r->resp_any) {
        px_conn_timer(c, PX_TM_BODY, conn_cfg(c)->idle_timeout_ms);
    } else if (c->read_eof && evbuffer_get_length(in) == 0) {
        /* The client half-closed in the middle of its body: never forward a
         * truncated body as complete. */
        if (r->resp_started)
            px_req_resp_abort(r, "client closed during the request body");
        else
            req_fail(r, 400, "incomplete request body", "client closed during the request body");
    }
}

/* The policy allowed the request for at least one address: hold its body
 * (up to PX_HOLD_MAX) before anything goes upstream, so a malformed or
 * oversized body is refused without an upstream connection. */
static void req_hold_body(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (r->body_done || r->is_connect) {
        connect_up(r, 0);
        return;
    }
    r->hold = evbuffer_new();
    if (!r->hold) {
        req_fail(r, 503, "gateway out of memory", "out of memory");
        return;
    }
    req_set_state(r, PX_RS_BODY);
    if (r->d_sid) {
        req_timer_set(r, PX_TM_BODY, conn_cfg(c)->idle_timeout_ms);
        pump_body(r);
        return;
    }
    if (r->msg.expect_continue && r->msg.version_minor >= 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        evbuffer_add(bufferevent_get_output(c->bev), cont, sizeof(cont) - 1);
        r->sent_continue = 1;
    }
    px_rx_enable(&c->rx, c->bev);
    px_conn_timer(c, PX_TM_BODY, conn_cfg(c)->idle_timeout_ms);
    pump_body(r);
}

void px_req_body_resume(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (c->dead || r->body_done || r->state != PX_RS_FORWARD)
        return;
    if (!r->d_sid)
        px_rx_enable(&c->rx, c->bev);
    pump_body(r);
}

/* The CONNECT tunnel is over: log it with its byte counts and close. */
static void tunnel_done(struct px_pipe *p, void *arg, const char *why)
{
    struct px_conn *c = arg;
    struct px_req *r = c->req;
    if (c->dead)
        return;
    r->bytes_in += p->a_to_b;
    r->bytes_out += p->b_to_a;
    req_log(r, 0, "allow", why);
    px_conn_close(c);
}

/* Called by upstream.c once the upstream accepted the request head (h1: head
 * written; h2: stream submitted; tunnel: TCP connected). */
void px_req_up_connected(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    if (r->is_connect && r->d_sid) {
        /* CONNECT over HTTP/2: the tunnel is the stream's DATA. */
        struct bufferevent *ub = px_up_take_bev(r->up);
        r->up = NULL;
        if (!ub) {
            req_fail(r, 502, "upstream connect failed", "upstream connection lost");
            return;
        }
        r->upstream_ms = px_elapsed_ms(&r->t_up);
        req_set_state(r, PX_RS_TUNNEL);
        if (px_h2d_tunnel_start(r, ub) != SGW_OK) {
            bufferevent_free(ub);
            req_set_state(r, PX_RS_CONNECT_UP);
            req_fail(r, 502, "tunnel setup failed", "out of memory");
            return;
        }
        r->resp_started = 1;
        r->resp_status = 200;
        return;
    }
    if (r->is_connect) {
        struct bufferevent *ub = px_up_take_bev(r->up);
        r->up = NULL;
        if (!ub) {
            req_fail(r, 502, "upstream connect failed", "upstream connection lost");
            return;
        }
        char rule[80];
        size_t j = 0;
        for (size_t i = 0; r->dec.rule_id[i] && j + 1 < sizeof(rule); i++) {
            unsigned char ch = (unsigned char)r->dec.rule_id[i];
            if (ch > 0x20 && ch < 0x7f && ch != ';' && ch != ',')
                rule[j++] = (char)ch;
        }
        rule[j] = '\0';
        evbuffer_add_printf(bufferevent_get_output(c->bev),
                            "HTTP/1.1 200 Connection Established\r\n"
                            "x-sovgw-decision: allow; rule=%s\r\nvia: 1.1 sovgw\r\n\r\n",
                            rule);
        r->resp_started = 1;
        r->resp_status = 200;
        r->upstream_ms = px_elapsed_ms(&r->t_up);
        px_conn_timer(c, PX_TM_NONE, 0);
        px_rx_detach(&c->rx, c->bev); /* the pipe reads and writes with libevent */
        px_tx_detach(&c->tx, c->bev);
        struct px_pipe *p = px_pipe_new(c->w->base, c->bev, ub, conn_cfg(c)->idle_timeout_ms,
                                        tunnel_done, c);
        if (!p) {
            bufferevent_free(ub);
            req_fail(r, 502, "tunnel setup failed", "out of memory");
            return;
        }
        c->pipe = p;
        req_set_state(r, PX_RS_TUNNEL);
        return;
    }
    if (r->msg.expect_continue && !r->body_done && !r->sent_continue &&
        r->msg.version_minor >= 1 && !r->d_sid) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        evbuffer_add(bufferevent_get_output(c->bev), cont, sizeof(cont) - 1);
        r->sent_continue = 1;
    }
    if (r->hold) {
        /* The held body goes first, as it was decoded (one chunk on a
         * chunked upstream). */
        size_t n = evbuffer_get_length(r->hold);
        int rc = n > 0 && r->up ? px_up_body_buf(r, r->hold, n) : SGW_OK;
        hold_release(r);
        if (rc != SGW_OK) {
            req_fail(r, 502, "request body not forwarded", "out of memory");
            return;
        }
    }
    if (r->body_done) {
        px_up_body_end(r);
        req_set_state(r, PX_RS_RESPONSE);
        req_arm_upstream_timer(r);
        return;
    }
    req_set_state(r, PX_RS_FORWARD);
    if (!r->d_sid)
        px_rx_enable(&c->rx, c->bev);
    req_timer_set(r, PX_TM_BODY, conn_cfg(c)->idle_timeout_ms);
    pump_body(r);
}

static void connect_up(struct px_req *r, int fresh)
{
    if (r->state != PX_RS_CONNECT_UP)
        req_set_state(r, PX_RS_CONNECT_UP);
    /* The upstream connection has its own connect timer from here on. */
    req_timer_set(r, PX_TM_NONE, 0);
    clock_gettime(CLOCK_MONOTONIC, &r->t_up);
    px_up_attach(r, fresh);
}

void px_req_up_failed(struct px_req *r, int status, const char *reason, int timeout)
{
    struct px_conn *c = r->conn;
    if (c->dead)
        return;
    r->up = NULL;
    if (r->resp_started) {
        px_req_resp_abort(r, reason);
        return;
    }
    /* A reused pooled connection that died before any response byte: the
     * upstream may have closed it just as we sent; retry once, fresh, when
     * that cannot duplicate a side effect. */
    if (r->up_reused && !r->resp_any && !r->retried && r->body_sent == 0 &&
        is_idempotent(r->method)) {
        r->retried = 1;
        r->up_reused = 0;
        connect_up(r, 1);
        return;
    }
    if (r->state == PX_RS_CONNECT_UP && r->addr_idx + 1 < r->n_addrs ) {
        sgw_log(SGW_LOG_INFO, PX_MOD, "%s %s:%u: %s, trying next address", c->client, r->host,
                (unsigned)r->port, reason);
        r->addr_idx++;
        r->last_timeout = timeout;
        connect_up(r, 1);
        return;
    }
    req_fail(r, timeout ? 504 : status, timeout ? "upstream timeout" : "upstream failure",
             reason);
}

/* Every candidate address is decided again with the address itself; only the
 * allowed ones are kept, in order. */
static void check_candidates(struct px_req *r, const struct sockaddr *const *sas,
                             const socklen_t *lens, size_t n)
{
    struct px_conn *c = r->conn;
    struct rl_request q = {
        .host = r->host,
        .host_len = strlen(r->host),
        .port = r->port,
        .method = r->method,
        .method_len = strlen(r->method),
        .path = r->is_connect ? "" : r->msg.path.ptr,
        .path_len = r->is_connect ? 0 : r->msg.path.len,
        .addr_pinned = r->pinned,
    };
    struct rl_decision d, last_deny;
    memset(&last_deny, 0, sizeof(last_deny));
    static const char dflt_id[] = "default", no_addr[] = "no address to connect to";
    _Static_assert(sizeof(dflt_id) <= sizeof(last_deny.rule_id), "rule_id too small");
    _Static_assert(sizeof(no_addr) <= sizeof(last_deny.reason), "reason too small");
    memcpy(last_deny.rule_id, dflt_id, sizeof(dflt_id));
    memcpy(last_deny.reason, no_addr, sizeof(no_addr));
    int have_allow = 0;
    double t0 = px_now_ms();
    r->n_addrs = 0;
    r->addr_idx = 0;
    for (size_t i = 0; i < n && r->n_addrs < PX_MAX_ADDRS; i++) {
        q.addr = sas[i];
        memset(&d, 0, sizeof(d));
        rl_decide(c->w->rd, &q, &d);
        px_metrics_decision_cache(d.from_cache);
        if (d.verdict == RL_ALLOW) {
            memcpy(&r->addrs[r->n_addrs], sas[i], lens[i]);
            r->addrlens[r->n_addrs] = lens[i];
            r->n_addrs++;
            if (!have_allow)
                r->dec = d;
            have_allow = 1;
        } else {
            last_deny = d;
            last_deny.verdict = RL_DENY; /* NEED_ADDR with an address is a deny */
        }
    }
    r->decision_ms += px_now_ms() - t0;
    if (!have_allow) {
        r->dec = last_deny;
        req_deny(r);
        return;
    }
    req_hold_body(r);
}

static void dns_cb(void *arg, int err, const struct evutil_addrinfo *ai)
{
    struct px_req *r = arg;
    r->dns = NULL;
    if (r->conn->dead)
        return;
    if (err || !ai) {
        char why[160];
        snprintf(why, sizeof(why), "DNS resolution of the target failed: %s",
                 err ? evutil_gai_strerror(err) : "no address");
        req_fail(r, 502, "upstream name resolution failed", why);
        return;
    }
    const struct sockaddr *sas[PX_MAX_ADDRS];
    socklen_t lens[PX_MAX_ADDRS];
    size_t n = 0;
    for (const struct evutil_addrinfo *p = ai; p && n < PX_MAX_ADDRS; p = p->ai_next) {
        if (p->ai_family != AF_INET && p->ai_family != AF_INET6)
            continue;
        sas[n] = p->ai_addr;
        lens[n] = (socklen_t)p->ai_addrlen;
        n++;
    }
    check_candidates(r, sas, lens, n);
}

/* Parses an IP literal (strict inet_pton) into ss with port; 0 ok, -1 not one. */
static int ip_literal(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof(*v6);
        return 0;
    }
    return -1;
}

/* A name whose last label is all digits would be read as a (non-canonical)
 * IPv4 literal by some resolvers ("127.1", "2130706433"): refuse it. */
static int looks_numeric(const char *h)
{
    size_t n = strlen(h);
    if (n && h[n - 1] == '.')
        n--;
    size_t st = n;
    while (st > 0 && h[st - 1] != '.')
        st--;
    if (st == n)
        return 0;
    for (size_t i = st; i < n; i++)
        if (!isdigit((unsigned char)h[i]))
            return 0;
    return 1;
}

static void req_resolve(struct px_req *r)
{
    struct px_conn *c = r->conn;
    struct px_config *cfg = conn_cfg(c);
    req_set_state(r, PX_RS_RESOLVE);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const struct sockaddr *sas[1] = {(const struct sockaddr *)&ss};
    const struct px_pin *pin = px_config_pin_find(cfg, r->host, strlen(r->host), r->port);
    if (pin) {
        if (ip_literal(pin->addr, pin->port2 ? pin->port2 : r->port, &ss, &len) != 0) {
            req_fail(r, 502, "invalid pinned address", "--resolve/--connect-to address");
            return;
        }
        r->pinned = 1;
        check_candidates(r, sas, &len, 1);
        return;
    }
    if (ip_literal(r->host, r->port, &ss, &len) == 0) {
        check_candidates(r, sas, &len, 1);
        return;
    }
    if (looks_numeric(r->host)) {
        req_fail(r, 400, "invalid target host", "non-canonical IP address literal");
        return;
    }
    int rc = px_dns_resolve(c->w, r->host, r->port, dns_cb, r, &r->dns);
    if (rc != SGW_OK)
        req_fail(r, 502, "upstream name resolution failed", "no DNS resolver available");
}

/* Phase-1 policy on the head alone; a deny answers at once and nothing is
 * resolved or sent anywhere. */
static void req_decide(struct px_req *r)
{
    struct px_conn *c = r->conn;
    req_set_state(r, PX_RS_DECIDE);
    struct rl_request q = {
        .host = r->host,
        .host_len = strlen(r->host),
        .port = r->port,
        .method = r->method,
        .method_len = strlen(r->method),
        .path = r->is_connect ? "" : r->msg.path.ptr,
        .path_len = r->is_connect ? 0 : r->msg.path.len,
        .addr = NULL,
        .addr_pinned = 0,
    };
    double t0 = px_now_ms();
    memset(&r->dec, 0, sizeof(r->dec));
    rl_decide(c->w->rd, &q, &r->dec);
    px_metrics_decision_cache(r->dec.from_cache);
    r->decision_ms = px_now_ms() - t0;
    r->decided = 1;
    /* A compile from another process shows up here first: publish it. */
    px_policy_version_seen(c->w->rt, r->dec.policy_version);
    if (r->dec.verdict == RL_DENY) {
        req_deny(r);
        return;
    }
    req_resolve(r);
}

/* ----------------------------------------------------------- head parsing */

static void rebase(struct sgw_slice *s, const char *from, size_t len, const char *to)
{
    if (s->ptr && s->ptr >= from && s->ptr < from + len)
        s->ptr = to + (s->ptr - from);
}

/* Starts a request from a complete, parsed head at buf[0..head_len). */
static void req_start(struct px_conn *c, const char *buf, size_t head_len,
                      const struct px_h1_message *msg)
{
    struct px_req *r = req_take(c);
    if (!r) {
        px_conn_close(c);
        return;
    }
    r->state = PX_RS_HEAD;
    clock_gettime(CLOCK_MONOTONIC, &r->t_start);
    c->in_req = 1;
    c->n_req++;
    r->bytes_in = head_len;
    px_conn_timer(c, PX_TM_NONE, 0);

    /* One allocation: the head bytes, then the header table (aligned). */
    size_t hoff = (head_len + 15) & ~(size_t)15;
    size_t nh = msg->n_headers <= PX_H1_MAX_HEADERS ? msg->n_headers : PX_H1_MAX_HEADERS;
    r->head = malloc(hoff + nh * sizeof(struct px_h1_header) + 1);
    if (!r->head) {
        evbuffer_drain(bufferevent_get_input(c->bev), head_len);
        req_fail(r, 503, "gateway out of memory", "out of memory");
        return;
    }
    memcpy(r->head, buf, head_len);
    r->head_len = head_len;
    struct px_h1_header *hdrs = (struct px_h1_header *)(void *)(r->head + hoff);
    struct px_req_msg *m = &r->msg;
    m->method = msg->method;
    m->target = msg->target;
    m->scheme = msg->scheme;
    m->host = msg->host;
    m->path = msg->path;
    m->reason = msg->reason;
    m->form = msg->form;
    m->port = msg->port;
    m->status = msg->status;
    m->version_minor = msg->version_minor;
    m->body = msg->body;
    m->content_length = msg->content_length;
    m->keep_alive = msg->keep_alive;
    m->expect_continue = msg->expect_continue;
    m->upgrade = msg->upgrade;
    rebase(&m->method, buf, head_len, r->head);
    rebase(&m->target, buf, head_len, r->head);
    rebase(&m->scheme, buf, head_len, r->head);
    rebase(&m->host, buf, head_len, r->head);
    rebase(&m->path, buf, head_len, r->head);
    rebase(&m->reason, buf, head_len, r->head);
    for (size_t i = 0; i < nh; i++) {
        hdrs[i] = msg->headers[i];
        rebase(&hdrs[i].name, buf, head_len, r->head);
        rebase(&hdrs[i].value, buf, head_len, r->head);
    }
    m->headers = hdrs;
    m->n_headers = nh;
    evbuffer_drain(bufferevent_get_input(c->bev), head_len);

    if (m->method.len == 0 || m->method.len >= sizeof(r->method)) {
        req_fail(r, 400, "bad request", "invalid method");
        return;
    }
    memcpy(r->method, m->method.ptr, m->method.len);
    r->method[m->method.len] = '\0';
    r->is_connect = strcmp(r->method, "CONNECT") == 0;

    if (m->form == PX_H1_TARGET_ORIGIN || m->form == PX_H1_TARGET_ASTERISK) {
        req_fail(r, 400, "bad request", "origin-form requests need a transparent listener");
        return;
    }
    if (m->host.len == 0 || m->host.len >= sizeof(r->host)) {
        req_fail(r, 400, "bad request", "invalid target host");
        return;
    }
    for (size_t i = 0; i < m->host.len; i++)
        r->host[i] = (char)tolower((unsigned char)m->host.ptr[i]);
    r->host[m->host.len] = '\0';
    r->port = m->port;
    if (r->is_connect) {
        if (m->form != PX_H1_TARGET_AUTHORITY || r->port == 0) {
            req_fail(r, 400, "bad request", "CONNECT needs host:port");
            return;
        }
        r->body_done = 1;
    } else {
        if (m->form != PX_H1_TARGET_ABSOLUTE) {
            req_fail(r, 400, "bad request", "absolute-form target required");
            return;
        }
        if (sgw_slice_eq_nocase(m->scheme, "http"))
            r->tls = 0;
        else if (sgw_slice_eq_nocase(m->scheme, "https"))
            r->tls = 1;
        else {
            req_fail(r, 400, "bad request", "unsupported URL scheme");
            return;
        }
        if (r->port == 0)
            r->port = r->tls ? 443 : 80;
        if (m->body == PX_H1_BODY_LENGTH && m->content_length > conn_cfg(c)->max_body) {
            req_fail(r, 413, "request body too large", "content-length exceeds max-body");
            return;
        }
        r->body_left = m->body == PX_H1_BODY_LENGTH ? m->content_length : 0;
        r->body_done = m->body == PX_H1_BODY_NONE ||
                       (m->body == PX_H1_BODY_LENGTH && m->content_length == 0);
    }
    req_decide(r);
}

/* HTTP/2: h2down.c filled in the request from a stream's HEADERS (method,
 * host, port, path, the header table in r->head, body framing). */
void px_req_stream_begin(struct px_req *r)
{
    struct px_conn *c = r->conn;
    if (r->msg.body == PX_H1_BODY_LENGTH && r->msg.content_length > conn_cfg(c)->max_body) {
        req_fail(r, 413, "request body too large", "content-length exceeds max-body");
        return;
    }
    r->body_left = r->msg.body == PX_H1_BODY_LENGTH ? r->msg.content_length : 0;
    r->body_done = r->msg.body == PX_H1_BODY_NONE;
    req_decide(r);
}

/* More request DATA (or its end) arrived on the stream. */
void px_req_stream_body(struct px_req *r)
{
    if (r->conn->dead)
        return;
    if (r->state == PX_RS_BODY || r->state == PX_RS_FORWARD)
        h2_pump_body(r);
}

/* The client reset the stream or the connection is going away: whatever
 * the request still holds is released (nothing more goes upstream). */
void px_req_stream_gone(struct px_req *r, const char *why)
{
    if (r->state == PX_RS_DONE)
        return;
    if (!r->logged && r->state != PX_RS_HEAD) /* a head never completed is no request */
        req_log(r, r->resp_started ? r->resp_status : 0, "error", why);
    req_set_state(r, PX_RS_DONE);
    req_cleanup(r);
}

/* A CONNECT stream ended (either side, reset or idle): logged like an
 * HTTP/1.1 tunnel, with its byte counts. */
void px_req_stream_tunnel_done(struct px_req *r, const char *why)
{
    if (r->state == PX_RS_DONE)
        return;
    req_log(r, 0, "allow", why);
    req_set_state(r, PX_RS_DONE);
    req_cleanup(r);
}

/* The body's stall timer is due (PX_TM_BODY). While the upstream does not
 * take the body, the gateway stops reading the client (backpressure), so a
 * stall then is the upstream's: the deadline is extended while the upstream
 * takes bytes (px_up_body_taken moved since the last look) and the request
 * fails with 504 when it took none for a timeout; an upstream that reads
 * nothing is cut after one to two timeouts. 0 when the stall is the
 * client's (the caller answers 408). */
static int body_stall_upstream(struct px_req *r)
{
    struct px_upconn *u = r->up;
    if (r->state != PX_RS_FORWARD || !u || u->dead || !u->bev || r->up_waiting || !px_up_body_congested(r))
        return 0;
    const uint64_t taken = px_up_body_taken(r);
    if (taken != r->up_taken) {
        r->up_taken = taken;
        req_timer_set(r, PX_TM_BODY, conn_cfg(r->conn)->idle_timeout_ms);
        return 1;
    }
    px_up_detach(r);
    req_fail(r, 504, "upstream timeout", "upstream stopped reading the request body");
    return 1;
}

/* A request timer fired (HTTP/2 streams; HTTP/1.1 goes through timer_cb). */
void px_req_timeout(struct px_req *r, int mode)
{
    if (r->conn->dead || r->state == PX_RS_DONE)
        return;
    switch ((enum px_conn_timer)mode) {
    case PX_TM_BODY:
        if (!body_stall_upstream(r))
            req_fail(r, 408, "request timeout", "request body stalled");
        break;
    case PX_TM_UPSTREAM:
        px_up_detach(r);
        req_fail(r, 504, "upstream timeout", "upstream response head not received in time");
        break;
    case PX_TM_RESP:
        px_req_resp_abort(r, "response stalled");
        break;
    default:
        break;
    }
}

/* Is the request line longer than its limit (414) rather than the head (431)? */
static int line_too_long(const char *buf, size_t n, size_t max_line)
{
    size_t lim = n < max_line ? n : max_line;
    return memchr(buf, '\n', lim) == NULL && n >= max_line;
}

static void parse_head(struct px_conn *c)
{
    struct px_runtime *rt = c->w->rt;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        /* Answers queued for earlier requests still go out first. */
        if (c->read_eof || c->w->draining)
            conn_close_after_flush(c);
        return;
    }
    size_t n = len < rt->lim.max_head + 1 ? len : rt->lim.max_head + 1;
    const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    if (!buf) {
        px_conn_close(c);
        return;
    }
    /* HTTP/2 with prior knowledge: the first bytes of the connection are the
     * client preface (an HTTP/1.1 request never starts with it). */
    if (c->n_req == 0 && buf[0] == 'P') {
        size_t k = n < PX_H2_PREFACE_LEN ? n : PX_H2_PREFACE_LEN;
        if (memcmp(buf, PX_H2_PREFACE, k) == 0) {
            if (k < PX_H2_PREFACE_LEN) {
                if (c->read_eof)
                    px_conn_close(c);
                return; /* the header timer runs from accept */
            }
            if (px_h2d_start(c) != SGW_OK)
                px_conn_close(c);
            return;
        }
    }
    struct px_h1_message msg;
    size_t head_len = 0;
    const char *reason = NULL;
    int rc = px_h1_parse_request(buf, n, &rt->lim, &msg, &head_len, &reason);
    if (rc == SGW_OK) {
        req_start(c, buf, head_len, &msg);
        return;
    }
    int status = 0;
    const char *error = "bad request";
    if (rc == SGW_AGAIN) {
        if (n > rt->lim.max_head) {
            status = line_too_long(buf, n, rt->lim.max_request_line) ? 414 : 431;
            reason = "request head too large";
        } else if (c->read_eof) {
            conn_close_after_flush(c); /* an incomplete head before EOF */
            return;
        } else {
            /* The head must complete in time from its first byte on. (A head
             * that arrives whole never arms this timer: req_start stops it.) */
            if (c->tmode != PX_TM_HEADER)
                px_conn_timer(c, PX_TM_HEADER, conn_cfg(c)->header_timeout_ms);
            return;
        }
    } else if (rc == SGW_ELIMIT) {
        status = line_too_long(buf, n, rt->lim.max_request_line) ? 414 : 431;
        error = status == 414 ? "request line too long" : "request header fields too large";
    } else {
        status = 400;
    }
    /* A parse failure is still a request for the log. */
    struct px_req *r = req_take(c);
    if (!r) {
        px_conn_close(c);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &r->t_start);
    c->in_req = 1;
    c->n_req++;
    r->bytes_in = n;
    snprintf(r->host, sizeof(r->host), "-");
    req_fail(r, status, error, reason ? reason : "malformed request");
}

/* Runs queued work for the connection: parse the next request head, or move
 * request body bytes. */
static void conn_process(struct px_conn *c)
{
    if (c->dead || c->closing || c->pipe)
        return;
    if (!c->in_req) {
        parse_head(c);
        return;
    }
    struct px_req *r = c->req;
    if (r->state == PX_RS_FORWARD || r->state == PX_RS_BODY)
        pump_body(r);
}

/* -------------------------------------------------------- bev callbacks */

static void write_cb(struct bufferevent *bev, void *arg);

/* Bytes queued in this callback go out now, in one writev, rather than on
 * the next writable event (see px_bev_flush). */
void px_conn_flush(struct px_conn *c)
{
    if (c->dead || c->pipe || !c->bev)
        return;
    if (px_tx_write(&c->tx, c->bev))
        write_cb(c->bev, c);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_conn *c = arg;
    if (c->dead) {
        px_conn_free(c);
        return;
    }
    if (c->h2d) {
        px_h2d_on_kick(c);
        return;
    }
    if (!c->in_req)
        req_give_back(c); /* the previous request is over: idle connections hold none */
    conn_process(c);
    if (!c->dead && c->in_req)
        px_up_flush(c->req);
    px_conn_flush(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;
    if (c->lingering) {
        struct evbuffer *in = bufferevent_get_input(bev);
        size_t n = evbuffer_get_length(in);
        c->linger_bytes += n;
        evbuffer_drain(in, n);
        if (c->linger_bytes > PX_LINGER_MAX)
            px_conn_close(c);
        return;
    }
    if (c->h2d) {
        px_h2d_on_read(c);
        return;
    }
    conn_process(c);
    if (!c->dead && c->in_req)
        px_up_flush(c->req);
    px_conn_flush(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct px_conn *c = arg;
    if (c->dead)
        return;
    size_t left = evbuffer_get_length(bufferevent_get_output(bev));
    if (c->closing) {
        if (left == 0 && !c->lingering)
            conn_linger(c);
        return;
    }
    if (c->h2d) {
        px_h2d_on_write(c);
        return;
    }
    if (c->in_req && c->req->up && left < PX_LOW_WM) {
        if (c->tmode == PX_TM_RESP)
            px_conn_timer(c, PX_TM_RESP, conn_cfg(c)->idle_timeout_ms);
        px_up_resume(c->req);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct px_conn *c = arg;
    if (c->dead)
        return;
    if (what & BEV_EVENT_ERROR) {
        px_conn_close(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->read_eof = 1;
        if (c->lingering) {
            px_conn_close(c);
            return;
        }
        if (c->closing)
            return;
        if (c->h2d) {
            px_h2d_on_eof(c);
            return;
        }
        if (!c->in_req) {
            conn_process(c); /* a complete request may still be buffered */
            if (!c->dead && !c->in_req && !c->closing)
                conn_close_after_flush(c);
            return;
        }
        if (c->req->state == PX_RS_FORWARD || c->req->state == PX_RS_BODY)
            pump_body(c->req);
        /* Otherwise: half-close after a complete request, the response is
         * still delivered, then the connection closes. */
    }
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_conn *c = arg;
    if (!px_deadline_due(&c->tdl) || c->dead)
        return;
    /* A client that reads, however slowly, has not stalled the response
     * (progress counts, not reaching the low-water mark; px_progress). */
    if (c->tmode == PX_TM_RESP && c->tx.attached && px_progress_check(&c->prog, &c->tx)) {
        px_deadline_set(&c->tdl, conn_cfg(c)->idle_timeout_ms);
        return;
    }
    struct px_req *r = c->req;
    enum px_conn_timer m = c->tmode;
    c->tmode = PX_TM_NONE;
    if (c->h2d && !c->closing) {
        px_h2d_on_timer(c, (int)m);
        return;
    }
    switch (m) {
    case PX_TM_IDLE:
        px_conn_close(c);
        break;
    case PX_TM_HEADER:
        if (c->in_req || evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
            px_conn_close(c);
            break;
        }
        r = req_take(c);
        if (!r) {
            px_conn_close(c);
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &r->t_start);
        c->in_req = 1;
        c->n_req++;
        snprintf(r->host, sizeof(r->host), "-");
        req_fail(r, 408, "request timeout", "request head not received in time");
        break;
    case PX_TM_BODY:
        if (!c->in_req)
            px_conn_close(c);
        else if (!body_stall_upstream(r))
            req_fail(r, 408, "request timeout", "request body stalled");
        break;
    case PX_TM_UPSTREAM:
        if (c->in_req) {
            px_up_detach(r);
            req_fail(r, 504, "upstream timeout", "upstream response head not received in time");
        } else {
            px_conn_close(c);
        }
        break;
    case PX_TM_LINGER:
        px_conn_close(c);
        break;
    case PX_TM_RESP:
        if (c->in_req && !c->closing)
            px_req_resp_abort(r, "response stalled");
        else
            px_conn_close(c);
        break;
    default:
        break;
    }
}

/* --------------------------------------------------------------- accept */

static void refuse_busy(evutil_socket_t fd)
{
    static const char body[] =
        "{\"error\":\"gateway busy\",\"rule\":\"none\",\"reason\":\"connection limit reached or "
        "shutting down\"}\n";
    char msg[512];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                     "content-length: %zu\r\nx-sovgw-decision: deny; rule=none\r\n"
                     "connection: close\r\n\r\n%s",
                     sizeof(body) - 1, body);
    if (n > 0 && (size_t)n < sizeof(msg)) {
        ssize_t wr = send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)wr;
    }
}

void px_conn_accept(struct px_worker *w, evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
    struct px_runtime *rt = w->rt;
    int refuse = atomic_load(&rt->n_conns) >= rt->cfg->max_connections || w->draining ||
                 atomic_load(&rt->stopping);
    if (refuse) {
        refuse_busy(fd);
        /* Linger a little so the 503 is read rather than reset, but only a
         * bounded number of refused connections at a time. */
        if (w->n_refusing >= PX_REFUSE_MAX || w->draining) {
            evutil_closesocket(fd);
            return;
        }
    }
    struct px_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->w = w;
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
        port = ntohs(v4->sin_port);
        snprintf(c->client, sizeof(c->client), "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
        port = ntohs(v6->sin6_port);
        snprintf(c->client, sizeof(c->client), "[%s]:%u", ip, port);
    }
    (void)salen;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    c->kick = event_new(w->base, -1, 0, kick_cb, c);
    c->timer = evtimer_new(w->base, timer_cb, c);
    c->tdl.ev = c->timer;
    if (!c->bev || !c->kick || !c->timer) {
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->kick)
            event_free(c->kick);
        if (c->timer)
            event_free(c->timer);
        free(c);
        return;
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns++;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    px_rx_attach(&c->rx, w->base, c->bev); /* on failure libevent reads */
    px_tx_attach(&c->tx, &w->txq, c->bev); /* on failure libevent writes */
    if (refuse) {
        w->n_refusing++;
        px_tx_enable(&c->tx, c->bev);
        px_rx_enable(&c->rx, c->bev);
        c->closing = 1;
        conn_linger(c);
        return;
    }
    c->counted = 1;
    atomic_fetch_add(&rt->n_conns, 1);
    px_metrics_conn(1);
    /* Bound what a client can make us hold: a head (or pipelined backlog) of
     * at most max_head, plus a little slack so the parser can see the excess. */
    px_rx_set_high(&c->rx, c->bev, rt->lim.max_head + 1024);
    px_tx_set_low(&c->tx, c->bev, PX_LOW_WM);
    px_tx_enable(&c->tx, c->bev);
    px_rx_enable(&c->rx, c->bev);
    px_conn_timer(c, PX_TM_HEADER, rt->cfg->header_timeout_ms);
}

/* SIGTERM: idle keep-alive connections close now; busy ones close after
 * their current response (resp_close is forced by draining). */
void px_worker_drain_conns(struct px_worker *w)
{
    for (struct px_conn *c = w->conns; c; c = c->next) {
        if (c->h2d && !c->dead && !c->closing) {
            px_h2d_drain(c); /* GOAWAY; closes once its streams are done */
            continue;
        }
        if (c->dead || c->closing || c->in_req || c->pipe)
            continue;
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
            px_conn_close(c);
        else
            conn_kick(c);
    }
}
