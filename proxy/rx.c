/* proxy/rx.c — see rx.h: reading a plain socket into a bufferevent's input
 * without libevent's ioctl(FIONREAD) per read. */
#include "proxy/rx.h"

#include <errno.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>

static void rx_arm(struct px_rx *rx)
{
    if (!rx->added && rx->want) {
        event_add(&rx->ev, NULL);
        rx->added = 1;
    }
}

static void rx_disarm(struct px_rx *rx)
{
    if (rx->added) {
        event_del(&rx->ev);
        rx->added = 0;
    }
}

static int rx_full(const struct px_rx *rx, struct evbuffer *in)
{
    return rx->high && evbuffer_get_length(in) >= rx->high;
}

static void rx_drained(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct px_rx *rx = arg;
    if (info->n_deleted == 0 || rx_full(rx, in))
        return;
    evbuffer_cb_clear_flags(in, rx->drain_cb, EVBUFFER_CB_ENABLED);
    rx_arm(rx);
}

/* At or above the high mark: stop reading until the owner drains below it
 * (or lowers the mark). */
static void rx_suspend(struct px_rx *rx, struct evbuffer *in)
{
    rx_disarm(rx);
    if (!rx->drain_cb)
        rx->drain_cb = evbuffer_add_cb(in, rx_drained, rx);
    if (rx->drain_cb)
        evbuffer_cb_set_flags(in, rx->drain_cb, EVBUFFER_CB_ENABLED);
}

static void rx_resume(struct px_rx *rx, struct evbuffer *in)
{
    if (rx->drain_cb)
        evbuffer_cb_clear_flags(in, rx->drain_cb, EVBUFFER_CB_ENABLED);
    rx_arm(rx);
}

static void rx_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct px_rx *rx = arg;
    struct bufferevent *bev = rx->bev;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t want = rx->bulk ? PX_RX_BULK : PX_RX_MAX;
    if (rx->high) {
        size_t len = evbuffer_get_length(in);
        if (len >= rx->high) {
            rx_suspend(rx, in);
            return;
        }
        if (rx->high - len < want)
            want = rx->high - len;
    }
    ssize_t n;
    int err, added;
    /* libevent keeps the end of a socket bufferevent's input frozen outside
     * its own reads; so do we, outside ours. */
    if (want > PX_RX_MAX) {
        /* Bulk (the last read filled PX_RX_MAX): straight into the input. */
        struct evbuffer_iovec v[2];
        evbuffer_unfreeze(in, 0);
        int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
        n = -1;
        err = ENOMEM;
        if (nv > 0) {
            struct iovec iov[2];
            size_t room = want;
            for (int i = 0; i < nv; i++) {
                iov[i].iov_base = v[i].iov_base;
                iov[i].iov_len = v[i].iov_len < room ? v[i].iov_len : room;
                room -= iov[i].iov_len;
            }
            n = readv(fd, iov, nv);
            err = errno;
        }
        added = 0;
        if (n > 0) {
            size_t left = (size_t)n;
            int used = 0;
            for (; used < nv && left > 0; used++) {
                if (v[used].iov_len > left)
                    v[used].iov_len = left;
                left -= v[used].iov_len;
            }
            added = evbuffer_commit_space(in, v, used);
        }
        evbuffer_freeze(in, 0);
    } else {
        /* Read onto the stack, then append: the input's chains are then
         * sized to what arrived (a small request's chain comes from
         * malloc's per-thread cache), not to what might have. */
        uint8_t buf[PX_RX_MAX];
        n = read(fd, buf, want);
        err = errno;
        added = 0;
        if (n > 0) {
            evbuffer_unfreeze(in, 0);
            added = evbuffer_add(in, buf, (size_t)n);
            evbuffer_freeze(in, 0);
        }
    }
    if (n > 0) {
        rx->bulk = (size_t)n >= PX_RX_MAX;
        if (added == 0) {
            if (rx_full(rx, in))
                rx_suspend(rx, in);
            bufferevent_data_cb rcb = NULL;
            void *cbarg = NULL;
            bufferevent_getcb(bev, &rcb, NULL, NULL, &cbarg);
            if (rcb)
                rcb(bev, cbarg);
            return;
        }
        n = -1;
        err = ENOMEM; /* the bytes are gone: the connection cannot go on */
    }
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR))
        return;
    /* EOF or an error: as libevent does, reading stops before the owner hears. */
    rx->want = 0;
    rx_disarm(rx);
    bufferevent_event_cb ecb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(bev, NULL, NULL, &ecb, &cbarg);
    errno = err;
    if (ecb)
        ecb(bev, (short)(BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR)), cbarg);
}

int px_rx_attach(struct px_rx *rx, struct event_base *base, struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    /* A filter or TLS bufferevent reports its socket too: reading that
     * would bypass the filter. Only a bare socket bufferevent is taken. */
    if (rx->attached || fd < 0 || bufferevent_get_underlying(bev) != NULL ||
        bufferevent_openssl_get_ssl(bev) != NULL)
        return -1;
    if (event_assign(&rx->ev, base, fd, EV_READ | EV_PERSIST, rx_cb, rx) != 0)
        return -1;
    size_t high = 0;
    bufferevent_getwatermark(bev, EV_READ, NULL, &high);
    rx->bev = bev;
    rx->drain_cb = NULL;
    rx->high = high;
    rx->attached = 1;
    rx->added = 0;
    rx->bulk = 0;
    rx->want = (bufferevent_get_enabled(bev) & EV_READ) != 0;
    bufferevent_disable(bev, EV_READ);
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    struct evbuffer *in = bufferevent_get_input(bev);
    if (rx_full(rx, in))
        rx_suspend(rx, in);
    else
        rx_arm(rx);
    return 0;
}

void px_rx_release(struct px_rx *rx)
{
    if (!rx->attached)
        return;
    rx_disarm(rx);
    if (rx->drain_cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(rx->bev), rx->drain_cb);
    rx->drain_cb = NULL;
    rx->attached = 0;
    rx->bev = NULL;
}

void px_rx_detach(struct px_rx *rx, struct bufferevent *bev)
{
    if (!rx->attached)
        return;
    int want = rx->want;
    size_t high = rx->high;
    px_rx_release(rx);
    bufferevent_setwatermark(bev, EV_READ, 0, high);
    if (want)
        bufferevent_enable(bev, EV_READ);
}

void px_rx_enable(struct px_rx *rx, struct bufferevent *bev)
{
    if (!rx->attached) {
        bufferevent_enable(bev, EV_READ);
        return;
    }
    rx->want = 1;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (rx_full(rx, in))
        rx_suspend(rx, in);
    else
        rx_arm(rx);
}

void px_rx_disable(struct px_rx *rx, struct bufferevent *bev)
{
    if (!rx->attached) {
        bufferevent_disable(bev, EV_READ);
        return;
    }
    rx->want = 0;
    rx_disarm(rx);
}

void px_rx_set_high(struct px_rx *rx, struct bufferevent *bev, size_t high)
{
    if (!rx->attached) {
        bufferevent_setwatermark(bev, EV_READ, 0, high);
        return;
    }
    rx->high = high;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (rx_full(rx, in))
        rx_suspend(rx, in);
    else
        rx_resume(rx, in);
}
