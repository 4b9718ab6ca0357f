/* proxy/rx.h — the read side of a plain socket bufferevent, without
 * libevent's ioctl(FIONREAD) before every read.
 *
 * libevent 2.1's evbuffer_read asks the kernel how many bytes are waiting
 * before each read(2) and then reads at most 4 KiB. On a forwarded keep-alive
 * request that is two system calls more than the reads themselves (one per
 * side, ~0.2 µs each on these VMs), and a large body costs two calls per
 * 4 KiB. A px_rx takes over the reading of one socket bufferevent: its own
 * persistent read event reads up to PX_RX_MAX bytes per call (PX_RX_BULK
 * while data keeps coming), appends them to the bufferevent's input buffer
 * and calls the bufferevent's own read
 * callback, or its event callback with BEV_EVENT_READING|EOF or |ERROR,
 * exactly as libevent would (both disable reading first). A read high-water
 * mark suspends reading until the input has been drained below it. Writing
 * stays libevent's.
 *
 * Not attached (TLS bufferevents, tunnels, anything handed elsewhere), every
 * call passes through to the bufferevent: callers use one set of calls. */
#ifndef SGW_PROXY_RX_H
#define SGW_PROXY_RX_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>

/* Bytes per read(2), at most (libevent's own reads stop at 4096): what a
 * 16 KiB chain of libevent's holds after its header. */
#define PX_RX_MAX 16256u
/* After a read that filled PX_RX_MAX (a body or a tunnel in flight), reads
 * go straight into the input, up to a 64 KiB chain at a time. */
#define PX_RX_BULK (65536u - 128u)

struct px_rx {
    struct event ev;             /* EV_READ|EV_PERSIST on the socket while attached */
    struct bufferevent *bev;     /* borrowed: the bufferevent whose input we fill */
    struct evbuffer_cb_entry *drain_cb; /* installed while suspended at the high mark */
    size_t high;                 /* read high-water mark, 0 = none */
    unsigned attached : 1;
    unsigned want : 1;           /* reading enabled by the owner */
    unsigned added : 1;          /* ev is pending */
    unsigned bulk : 1;           /* the last read filled PX_RX_MAX */
};

/* Take over reading of bev (a socket bufferevent with its fd set). Its read
 * enable state and read high-water mark carry over. Returns 0, or -1 (then
 * nothing changed and the calls below pass through). */
int px_rx_attach(struct px_rx *rx, struct event_base *base, struct bufferevent *bev);
/* Give reading back to the bufferevent, enable state and high mark included. */
void px_rx_detach(struct px_rx *rx, struct bufferevent *bev);
/* Before bufferevent_free(bev): stop the read event. */
void px_rx_release(struct px_rx *rx);

void px_rx_enable(struct px_rx *rx, struct bufferevent *bev);
void px_rx_disable(struct px_rx *rx, struct bufferevent *bev);
void px_rx_set_high(struct px_rx *rx, struct bufferevent *bev, size_t high);

#endif
