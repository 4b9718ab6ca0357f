/* proxy/tx.c — see tx.h: writing a plain socket bufferevent's output without
 * libevent's write event churn. */
#include "proxy/tx.h"

#include <errno.h>
#include <sys/ioctl.h>
#if defined(__linux__)
#include <linux/sockios.h>
#endif

#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>

static void tx_arm(struct px_tx *tx)
{
    if (!tx->armed) {
        event_add(&tx->ev, NULL);
        tx->armed = 1;
    }
}

static void tx_disarm(struct px_tx *tx)
{
    if (tx->armed) {
        event_del(&tx->ev);
        tx->armed = 0;
    }
}

static void q_unlink(struct px_tx *tx)
{
    if (!tx->queued)
        return;
    if (tx->qprev)
        tx->qprev->qnext = tx->qnext;
    else
        tx->q->head = tx->qnext;
    if (tx->qnext)
        tx->qnext->qprev = tx->qprev;
    tx->qnext = tx->qprev = NULL;
    tx->queued = 0;
}

/* Bytes wait and writing is enabled: write them this pass, or, if the queue
 * already wrote this one in the pass now running, when the socket says so. */
static void tx_schedule(struct px_tx *tx)
{
    if (!tx->want || tx->armed || tx->queued || tx->err)
        return;
    struct px_txq *q = tx->q;
    if (q->running && tx->pass == q->pass) {
        tx_arm(tx);
        return;
    }
    tx->qprev = NULL;
    tx->qnext = q->head;
    if (q->head)
        q->head->qprev = tx;
    q->head = tx;
    tx->queued = 1;
    if (!q->active) {
        q->active = 1;
        event_active(&q->ev, EV_TIMEOUT, 1);
    }
}

static void tx_added(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    (void)out;
    if (info->n_added > 0)
        tx_schedule(arg);
}

/* One writev of the output. Returns 1 if bytes went out, 0 if none could
 * (the socket is full: armed), -1 on an error (tx->err set). */
static int tx_once(struct px_tx *tx, struct evbuffer *out)
{
    evutil_socket_t fd = bufferevent_getfd(tx->bev);
    size_t len = evbuffer_get_length(out);
    /* libevent keeps the start of a socket bufferevent's output frozen
     * outside its own writes; so do we, outside ours. */
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, fd);
    int e = errno;
    evbuffer_freeze(out, 1);
    if (n > 0) {
        tx->written += (uint64_t)n;
        if ((size_t)n < len)
            tx_arm(tx); /* the rest when the kernel has room */
        else
            tx_disarm(tx);
        return 1;
    }
    if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)) {
        tx_arm(tx);
        return 0;
    }
    tx->err = n == 0 ? EPIPE : e;
    return -1;
}

/* As libevent: writing stops before the owner hears of the error. */
static void tx_report(struct px_tx *tx)
{
    int e = tx->err;
    tx->want = 0;
    tx->err = 0;
    tx_disarm(tx);
    q_unlink(tx);
    bufferevent_event_cb ecb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(tx->bev, NULL, NULL, &ecb, &cbarg);
    errno = e;
    if (ecb)
        ecb(tx->bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, cbarg);
}

static void tx_call_write_cb(struct px_tx *tx)
{
    bufferevent_data_cb wcb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(tx->bev, NULL, &wcb, NULL, &cbarg);
    if (wcb)
        wcb(tx->bev, cbarg);
}

/* Write, then tell the owner as libevent would. Called from our own events
 * only, so callbacks run outside the owner's code. */
static void tx_run(struct px_tx *tx)
{
    if (tx->err) {
        tx_report(tx);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(tx->bev);
    if (!tx->want || evbuffer_get_length(out) == 0) {
        tx_disarm(tx);
        return;
    }
    int rc = tx_once(tx, out);
    if (rc < 0) {
        tx_report(tx);
        return;
    }
    if (rc > 0 && evbuffer_get_length(out) <= tx->low)
        tx_call_write_cb(tx); /* last: it may release tx */
}

static void tx_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    /* Writable again (the event stays added while bytes remain), or an
     * error from px_tx_write to report. */
    tx_run(arg);
}

static void txq_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct px_txq *q = arg;
    q->pass++;
    q->running = 1;
    /* New entries queued by the callbacks below join this run; an entry
     * already written in it waits for its socket (tx_schedule). */
    struct px_tx *tx;
    while ((tx = q->head) != NULL) {
        q_unlink(tx);
        tx->pass = q->pass;
        if (!tx->armed)
            tx_run(tx);
    }
    q->running = 0;
    q->active = 0;
}

int px_txq_init(struct px_txq *q, struct event_base *base)
{
    q->head = NULL;
    q->pass = 0;
    q->active = 0;
    q->running = 0;
    if (event_assign(&q->ev, base, -1, 0, txq_cb, q) != 0)
        return -1;
    q->ready = 1;
    return 0;
}

void px_txq_clear(struct px_txq *q)
{
    if (!q->ready)
        return;
    event_del(&q->ev);
    while (q->head)
        q_unlink(q->head);
    q->active = 0;
    q->ready = 0;
}

int px_tx_attach(struct px_tx *tx, struct px_txq *q, struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    /* A filter or TLS bufferevent reports its socket too: writing to it
     * would bypass the filter. Only a bare socket bufferevent is taken. */
    if (tx->attached || !q || !q->ready || fd < 0 || bufferevent_get_underlying(bev) != NULL ||
        bufferevent_openssl_get_ssl(bev) != NULL)
        return -1;
    if (event_assign(&tx->ev, bufferevent_get_base(bev), fd, EV_WRITE | EV_PERSIST, tx_cb, tx) != 0)
        return -1;
    struct evbuffer *out = bufferevent_get_output(bev);
    tx->add_cb = evbuffer_add_cb(out, tx_added, tx);
    if (!tx->add_cb)
        return -1;
    size_t low = 0;
    bufferevent_getwatermark(bev, EV_WRITE, &low, NULL);
    tx->bev = bev;
    tx->q = q;
    tx->qnext = tx->qprev = NULL;
    tx->low = low;
    tx->pass = 0;
    tx->written = 0;
    tx->err = 0;
    tx->attached = 1;
    tx->armed = 0;
    tx->queued = 0;
    tx->want = (bufferevent_get_enabled(bev) & EV_WRITE) != 0;
    bufferevent_disable(bev, EV_WRITE);
    if (evbuffer_get_length(out) > 0)
        tx_schedule(tx);
    return 0;
}

void px_tx_release(struct px_tx *tx)
{
    if (!tx->attached)
        return;
    event_del(&tx->ev);
    tx->armed = 0;
    q_unlink(tx);
    evbuffer_remove_cb_entry(bufferevent_get_output(tx->bev), tx->add_cb);
    tx->add_cb = NULL;
    tx->attached = 0;
    tx->bev = NULL;
}

void px_tx_detach(struct px_tx *tx, struct bufferevent *bev)
{
    if (!tx->attached)
        return;
    int want = tx->want && !tx->err;
    size_t low = tx->low;
    px_tx_release(tx);
    bufferevent_setwatermark(bev, EV_WRITE, low, 0);
    if (want)
        bufferevent_enable(bev, EV_WRITE);
}

void px_tx_enable(struct px_tx *tx, struct bufferevent *bev)
{
    if (!tx->attached) {
        bufferevent_enable(bev, EV_WRITE);
        return;
    }
    tx->want = 1;
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        tx_schedule(tx);
}

void px_tx_disable(struct px_tx *tx, struct bufferevent *bev)
{
    if (!tx->attached) {
        bufferevent_disable(bev, EV_WRITE);
        return;
    }
    tx->want = 0;
    tx_disarm(tx);
    q_unlink(tx);
}

void px_tx_set_low(struct px_tx *tx, struct bufferevent *bev, size_t low)
{
    if (!tx->attached) {
        bufferevent_setwatermark(bev, EV_WRITE, low, 0);
        return;
    }
    tx->low = low;
}

/* The pass-through: what libevent's own write would do, written now. */
static int bev_write(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0 || !(bufferevent_get_enabled(bev) & EV_WRITE))
        return 0;
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0)
        return 0;
    /* An error or EAGAIN leaves the bytes queued: the pending write event
     * retries and reports the error through the event callback. */
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, fd);
    evbuffer_freeze(out, 1);
    if (n <= 0)
        return 0;
    size_t left = evbuffer_get_length(out);
    if (left == 0)
        event_del(&bev->ev_write); /* what libevent does once the output is empty */
    size_t low = 0;
    bufferevent_getwatermark(bev, EV_WRITE, &low, NULL);
    return left <= low;
}

uint64_t px_sock_queued(evutil_socket_t fd)
{
#if defined(SIOCOUTQ)
    int queued = 0;
    if (fd >= 0 && ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0)
        return (uint64_t)queued;
#else
    (void)fd;
#endif
    return 0;
}

uint64_t px_tx_taken(const struct px_tx *tx)
{
    uint64_t w = tx->written;
    uint64_t queued = tx->attached && tx->bev ? px_sock_queued(bufferevent_getfd(tx->bev)) : 0;
    return queued <= w ? w - queued : w;
}

int px_progress_check(struct px_progress *p, const struct px_tx *tx)
{
    if (tx->written != p->mark) {
        px_progress_mark(p, tx);
        return 1;
    }
    const uint64_t taken = px_tx_taken(tx);
    if (p->sampled && taken == p->taken)
        return 0;
    p->sampled = 1;
    p->taken = taken;
    return 1;
}

int px_tx_write(struct px_tx *tx, struct bufferevent *bev)
{
    if (!tx || !tx->attached)
        return bev_write(bev);
    struct evbuffer *out = bufferevent_get_output(bev);
    if (!tx->want || tx->armed || tx->err || evbuffer_get_length(out) == 0)
        return 0;
    q_unlink(tx);
    int rc = tx_once(tx, out);
    if (rc < 0) {
        /* Reported from our own event, outside the caller. */
        event_active(&tx->ev, EV_WRITE, 1);
        return 0;
    }
    return rc > 0 && evbuffer_get_length(out) <= tx->low;
}
