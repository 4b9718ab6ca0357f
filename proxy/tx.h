/* proxy/tx.h — the write side of a plain socket bufferevent, without a write
 * event added and deleted around every response.
 *
 * libevent 2.1 adds a bufferevent's write event whenever bytes land in its
 * output and deletes it once the output is empty. The proxy writes small
 * outputs at once (px_conn_flush, px_up_flush), so on a forwarded request
 * that is two event_add/event_del pairs (event map, epoll changelist, timeout
 * bookkeeping) for nothing: about a tenth of the request's user-space
 * instructions, and no system call saved. A px_tx takes over the writing of
 * one socket bufferevent:
 *   - bytes added to the output put the px_tx on its worker's queue (struct
 *     px_txq); the queue is written out once per loop pass, after the
 *     callbacks of that pass, one writev per bufferevent; an explicit
 *     px_tx_write writes at once and leaves the queue a no-op;
 *   - its own write event is added only while the socket is full, and then
 *     stays until the output is empty;
 *   - after a write that leaves the output at or below the write low-water
 *     mark it calls the bufferevent's write callback, and on a write error
 *     its event callback with BEV_EVENT_WRITING|BEV_EVENT_ERROR after
 *     disabling writing, as libevent does. Errors met by px_tx_write are
 *     reported from the px_tx's own event, never from inside the caller.
 *   - an output that is refilled by the write callback during the queue's
 *     pass waits for the next pass (the socket's writable event), so one
 *     busy stream cannot hold the loop.
 * Reading stays with libevent or px_rx.
 *
 * Not attached (TLS bufferevents, tunnels, anything handed elsewhere), every
 * call passes through to the bufferevent: callers use one set of calls. */
#ifndef SGW_PROXY_TX_H
#define SGW_PROXY_TX_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>

struct px_tx;

/* One per event loop: the bufferevents with bytes to write this pass. */
struct px_txq {
    struct event ev; /* activated (not added) when the first px_tx is queued */
    struct px_tx *head;
    uint64_t pass;   /* counts the queue's runs */
    unsigned ready : 1;
    unsigned active : 1;  /* ev is activated or running */
    unsigned running : 1; /* inside the queue's run */
};

struct px_tx {
    struct event ev;             /* EV_WRITE|EV_PERSIST while the socket is full */
    struct bufferevent *bev;     /* borrowed: the bufferevent whose output we write */
    struct px_txq *q;
    struct evbuffer_cb_entry *add_cb; /* notices bytes added to the output */
    struct px_tx *qnext, *qprev;
    size_t low;                  /* write low-water mark */
    uint64_t pass;               /* q->pass when the queue last wrote it */
    uint64_t written;            /* bytes written to the socket so far: progress */
    int err;                     /* a write error still to report (errno) */
    unsigned attached : 1;
    unsigned want : 1;           /* writing enabled by the owner */
    unsigned armed : 1;          /* ev is pending: waiting for the socket */
    unsigned queued : 1;
};

int px_txq_init(struct px_txq *q, struct event_base *base);
/* Before the event base is freed. */
void px_txq_clear(struct px_txq *q);

/* Take over writing of bev (a socket bufferevent with its fd set, connected).
 * Its write enable state and write low-water mark carry over; bytes already
 * in its output are queued. Returns 0, or -1 (then nothing changed and the
 * calls below pass through). */
int px_tx_attach(struct px_tx *tx, struct px_txq *q, struct bufferevent *bev);
/* Give writing back to the bufferevent, enable state, low mark and queued
 * bytes included. */
void px_tx_detach(struct px_tx *tx, struct bufferevent *bev);
/* Before bufferevent_free(bev): stop the event, leave the queue. */
void px_tx_release(struct px_tx *tx);

void px_tx_enable(struct px_tx *tx, struct bufferevent *bev);
void px_tx_disable(struct px_tx *tx, struct bufferevent *bev);
void px_tx_set_low(struct px_tx *tx, struct bufferevent *bev, size_t low);

/* Writes what the output holds now (one writev), unless writing is disabled
 * or the socket was full. Returns 1 if it wrote and the output is now at or
 * below the low-water mark (the caller runs its write callback's work), else
 * 0. Works on bare bufferevents too (tx NULL or not attached). */
int px_tx_write(struct px_tx *tx, struct bufferevent *bev);

/* The bytes of the output the peer has taken so far: those written to the
 * socket less those its send queue still holds (Linux SIOCOUTQ; elsewhere,
 * or when that cannot be read, the bytes written). One system call: for
 * timers, not per write. */
uint64_t px_tx_taken(const struct px_tx *tx);

/* Bytes in a socket's send queue, not yet taken by the peer (SIOCOUTQ; 0
 * when it cannot be read). */
uint64_t px_sock_queued(evutil_socket_t fd);

/* Has a client taken any of its response since a deadline was set? Bytes
 * written to it count, and so do bytes it took from the socket's send queue
 * (px_tx_taken): a reader slower than the kernel's send buffer per timeout
 * takes bytes for longer than a timeout without the gateway writing any,
 * since the socket is reported writable again only once much of that
 * buffer has drained. px_progress_mark when the deadline is set;
 * px_progress_check when it is due: 1 (extend it by a timeout) when bytes
 * were written since, or when the send queue is sampled for the first time
 * since the mark or has drained since the last sample; 0 (stalled) when
 * not. A client that takes nothing is cut after one to two timeouts. */
struct px_progress {
    uint64_t mark;   /* tx written at the mark (or the last check that saw writes) */
    uint64_t taken;  /* px_tx_taken at the last sample */
    int sampled;     /* taken holds a sample taken since the mark */
};

static inline void px_progress_mark(struct px_progress *p, const struct px_tx *tx)
{
    p->mark = tx->written;
    p->sampled = 0;
}

int px_progress_check(struct px_progress *p, const struct px_tx *tx);

#endif
