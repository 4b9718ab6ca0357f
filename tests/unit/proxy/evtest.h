/* tests/unit/proxy/evtest.h — helpers for the tests that drive a real
 * event_base over a socket pair (test_rx.c, test_tx.c). */
#ifndef SGW_TESTS_UNIT_PROXY_EVTEST_H
#define SGW_TESTS_UNIT_PROXY_EVTEST_H

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

/* n non-blocking passes of the loop. */
static inline void spin(struct event_base *base, int n)
{
    for (int i = 0; i < n; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
}

static inline void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= (size_t)w;
    }
}

/* A socket bufferevent on one end of a fresh socket pair; *peer is the other
 * (blocking) end. */
static inline struct bufferevent *pair_bev(struct event_base *base, int *peer)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return NULL;
    evutil_make_socket_nonblocking(sv[0]);
    *peer = sv[1];
    return bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
}

/* A filter bufferevent (no-op filters) over a socket pair's bufferevent: it
 * reports the socket too, and reading or writing that socket directly would
 * bypass the filter (a TLS layer). NULL on failure; *peer as pair_bev. */
static inline struct bufferevent *filter_bev(struct event_base *base, int *peer)
{
    struct bufferevent *sock = pair_bev(base, peer);
    if (!sock)
        return NULL;
    struct bufferevent *filt =
        bufferevent_filter_new(sock, NULL, NULL, BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
    if (!filt)
        bufferevent_free(sock);
    return filt;
}

#endif
