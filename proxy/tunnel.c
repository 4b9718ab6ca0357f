/* proxy/tunnel.c — a "pipe" joining two bufferevents, used for CONNECT.
 *
 * Bytes read on one side are moved (not copied) to the other side's output.
 * Backpressure: when the peer's output holds more than PX_TUNNEL_WM bytes, the
 * reading side stops until the peer has written it down to half of that.
 * Half-close is kept: EOF on one side shuts down writing on the other once its
 * output drained; the pipe finishes when both directions are closed, on an
 * error, or after idle_ms without traffic. Either end may be a filter
 * bufferevent (TLS interception slots in here without changing the pipe). */
#include <stdlib.h>
#include <sys/socket.h>

#include "proxy/internal.h"

static struct px_rx *rx_of(struct px_pipe *p, struct bufferevent *bev)
{
    return bev == p->a ? &p->ra : &p->rb;
}

static void pipe_finish(struct px_pipe *p, const char *why)
{
    if (p->finished)
        return;
    p->finished = 1;
    px_rx_disable(&p->ra, p->a);
    px_rx_disable(&p->rb, p->b);
    bufferevent_disable(p->a, EV_WRITE);
    bufferevent_disable(p->b, EV_WRITE);
    if (p->timer)
        evtimer_del(p->timer);
    if (p->done_cb)
        p->done_cb(p, p->done_arg, why);
}

static void pipe_touch(struct px_pipe *p)
{
    if (p->idle_ms > 0 && p->timer && !p->finished) {
        struct timeval tv = {p->idle_ms / 1000, (p->idle_ms % 1000) * 1000};
        evtimer_add(p->timer, &tv);
    }
}

static void shut_wr(struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0)
        shutdown(fd, SHUT_WR);
}

static void check_done(struct px_pipe *p)
{
    /* Propagate EOF once everything read before it has been written out. */
    if (p->a_eof && !p->b_shut && evbuffer_get_length(bufferevent_get_output(p->b)) == 0) {
        p->b_shut = 1;
        shut_wr(p->b);
    }
    if (p->b_eof && !p->a_shut && evbuffer_get_length(bufferevent_get_output(p->a)) == 0) {
        p->a_shut = 1;
        shut_wr(p->a);
    }
    if (p->a_shut && p->b_shut)
        pipe_finish(p, "closed");
}

/* Moves src's input to dst's output and applies the watermark. */
static void pump(struct px_pipe *p, struct bufferevent *src, struct bufferevent *dst,
                 uint64_t *counter)
{
    struct evbuffer *in = bufferevent_get_input(src);
    struct evbuffer *out = bufferevent_get_output(dst);
    size_t n = evbuffer_get_length(in);
    if (n) {
        evbuffer_add_buffer(out, in);
        *counter += n;
        pipe_touch(p);
    }
    if (evbuffer_get_length(out) >= PX_TUNNEL_WM) {
        px_rx_disable(rx_of(p, src), src);
        bufferevent_setwatermark(dst, EV_WRITE, PX_TUNNEL_WM / 2, 0);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct px_pipe *p = arg;
    if (p->finished)
        return;
    if (bev == p->a)
        pump(p, p->a, p->b, &p->a_to_b);
    else
        pump(p, p->b, p->a, &p->b_to_a);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct px_pipe *p = arg;
    if (p->finished)
        return;
    struct bufferevent *other = bev == p->a ? p->b : p->a;
    int other_eof = bev == p->a ? p->b_eof : p->a_eof;
    if (evbuffer_get_length(bufferevent_get_output(bev)) < PX_TUNNEL_WM / 2 && !other_eof) {
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        px_rx_enable(rx_of(p, other), other);
    }
    pipe_touch(p);
    check_done(p);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct px_pipe *p = arg;
    if (p->finished)
        return;
    if (what & BEV_EVENT_ERROR) {
        pipe_finish(p, bev == p->a ? "client error" : "upstream error");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* Move whatever was read before the EOF, then half-close. */
        if (bev == p->a) {
            evbuffer_add_buffer(bufferevent_get_output(p->b), bufferevent_get_input(p->a));
            p->a_eof = 1;
            bufferevent_setwatermark(p->b, EV_WRITE, 0, 0);
        } else {
            evbuffer_add_buffer(bufferevent_get_output(p->a), bufferevent_get_input(p->b));
            p->b_eof = 1;
            bufferevent_setwatermark(p->a, EV_WRITE, 0, 0);
        }
        px_rx_disable(rx_of(p, bev), bev);
        check_done(p);
    }
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_pipe *p = arg;
    pipe_finish(p, "idle timeout");
}

/* Joins a and b (both owned by the pipe from now on, callbacks replaced).
 * done_cb runs once when the tunnel is over; the owner then frees the pipe
 * from outside the bufferevent callbacks. Returns NULL on allocation failure
 * (a and b are then still the caller's). */
struct px_pipe *px_pipe_new(struct event_base *base, struct bufferevent *a, struct bufferevent *b,
                            int idle_ms, void (*done_cb)(struct px_pipe *, void *, const char *),
                            void *arg)
{
    struct px_pipe *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->timer = evtimer_new(base, timer_cb, p);
    if (!p->timer) {
        free(p);
        return NULL;
    }
    p->a = a;
    p->b = b;
    p->idle_ms = idle_ms;
    p->done_cb = done_cb;
    p->done_arg = arg;
    bufferevent_setwatermark(a, EV_READ | EV_WRITE, 0, 0);
    bufferevent_setwatermark(b, EV_READ | EV_WRITE, 0, 0);
    bufferevent_setcb(a, read_cb, write_cb, event_cb, p);
    bufferevent_setcb(b, read_cb, write_cb, event_cb, p);
    bufferevent_enable(a, EV_READ | EV_WRITE);
    bufferevent_enable(b, EV_READ | EV_WRITE);
    px_rx_attach(&p->ra, base, a); /* plain sockets only; otherwise libevent reads */
    px_rx_attach(&p->rb, base, b);
    /* libevent writes at most 16 KiB per writable event: a bulk tunnel
       would pay an event-loop pass per 16 KiB. */
    bufferevent_set_max_single_write(a, PX_TUNNEL_WM);
    bufferevent_set_max_single_write(b, PX_TUNNEL_WM);
    pipe_touch(p);
    /* Bytes already buffered on either side (e.g. a TLS ClientHello sent right
     * behind the CONNECT) go through now. */
    pump(p, a, b, &p->a_to_b);
    pump(p, b, a, &p->b_to_a);
    return p;
}

void px_pipe_free(struct px_pipe *p)
{
    if (!p)
        return;
    if (p->timer)
        event_free(p->timer);
    px_rx_release(&p->ra);
    px_rx_release(&p->rb);
    if (p->a)
        bufferevent_free(p->a);
    if (p->b)
        bufferevent_free(p->b);
    free(p);
}
