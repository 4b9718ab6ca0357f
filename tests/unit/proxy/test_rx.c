/* Unit tests for proxy/rx.c, the socket read side without FIONREAD, over a
 * real socket pair and a real event_base: bytes arrive intact and in order
 * through the bufferevent's own read callback (small writes, and large ones
 * in bulk reads); a read high-water mark stops reading until the owner drains below it and
 * then resumes by itself; disable stops reading and enable resumes it; EOF
 * reaches the event callback as READING|EOF once; detach gives reading back
 * to libevent with the enable state and the high mark; a release before
 * bufferevent_free leaves nothing behind (ASan); a filter bufferevent is
 * refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/internal.h"

#include "../check.h"
#include "evtest.h"

struct seen {
    int reads;
    int events;
    short last_what;
    size_t max_len; /* longest input the read callback saw */
    uint8_t *sink;  /* non-NULL: the read callback moves the input here */
    size_t have;
};

static void on_read(struct bufferevent *bev, void *arg)
{
    struct seen *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    s->reads++;
    if (n > s->max_len)
        s->max_len = n;
    if (s->sink) {
        evbuffer_remove(in, s->sink + s->have, n);
        s->have += n;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct seen *s = arg;
    s->events++;
    s->last_what = what;
}

/* A socket pair's bufferevent with the recording callbacks, rx cleared. */
static struct bufferevent *pair_setup(struct event_base *base, int *peer, struct seen *s,
                                      struct px_rx *rx)
{
    struct bufferevent *bev = pair_bev(base, peer);
    CHECK(bev != NULL);
    memset(rx, 0, sizeof(*rx));
    if (bev)
        bufferevent_setcb(bev, on_read, NULL, on_event, s);
    return bev;
}

/* Intact and in order, small pieces and one large write, through the
 * bufferevent's own read callback; then EOF once. */
static void test_bytes_and_eof(struct event_base *base)
{
    int peer = -1;
    struct seen s = {0};
    struct px_rx rx;
    struct bufferevent *bev = pair_setup(base, &peer, &s, &rx);
    if (!bev)
        return;
    bufferevent_enable(bev, EV_READ);
    CHECK(px_rx_attach(&rx, base, bev) == 0);
    CHECK(!(bufferevent_get_enabled(bev) & EV_READ)); /* libevent no longer reads */
    size_t total = 300000;
    uint8_t *src = malloc(total);
    for (size_t i = 0; i < total; i++)
        src[i] = (uint8_t)(i * 131u + (i >> 9));
    uint8_t *got = malloc(total);
    s.sink = got;
    size_t sent = 0;
    write_all(peer, src, 10); /* a small one first */
    sent = 10;
    spin(base, 1);
    CHECK(s.reads == 1 && s.max_len == 10);
    for (int round = 0; round < 20000 && s.have < total; round++) {
        if (sent < total) {
            size_t n = total - sent < 50000 ? total - sent : 50000;
            ssize_t w = write(peer, src + sent, n);
            if (w > 0)
                sent += (size_t)w;
        }
        spin(base, 1); /* runs until nothing is readable */
    }
    CHECK(s.have == total);
    CHECK(memcmp(got, src, total) == 0);
    CHECK(s.max_len > PX_RX_MAX); /* full reads switch to bulk reads */
    CHECK(s.max_len <= PX_RX_BULK);
    CHECK(s.reads < 40); /* 4 KiB reads would need 74 */
    CHECK(s.events == 0);
    close(peer);
    spin(base, 5);
    CHECK(s.events == 1);
    CHECK(s.last_what == (BEV_EVENT_READING | BEV_EVENT_EOF));
    spin(base, 5);
    CHECK(s.events == 1); /* reading stopped at EOF */
    px_rx_release(&rx);
    bufferevent_free(bev);
    free(src);
    free(got);
}

/* The high mark stops reading; draining below it resumes without a call. */
static void test_high_mark(struct event_base *base)
{
    int peer = -1;
    struct seen s = {0};
    struct px_rx rx;
    struct bufferevent *bev = pair_setup(base, &peer, &s, &rx);
    if (!bev)
        return;
    bufferevent_setwatermark(bev, EV_READ, 0, 1000);
    CHECK(px_rx_attach(&rx, base, bev) == 0); /* the mark carries over */
    px_rx_enable(&rx, bev);
    uint8_t buf[5000];
    memset(buf, 'x', sizeof(buf));
    write_all(peer, buf, sizeof(buf));
    spin(base, 20);
    struct evbuffer *in = bufferevent_get_input(bev);
    CHECK(evbuffer_get_length(in) == 1000);
    CHECK(s.max_len == 1000);
    evbuffer_drain(in, 10); /* 990 < 1000: reading resumes up to the mark */
    spin(base, 20);
    CHECK(evbuffer_get_length(in) == 1000);
    evbuffer_drain(in, 1000);
    spin(base, 20);
    CHECK(evbuffer_get_length(in) == 1000);
    px_rx_set_high(&rx, bev, 0); /* no mark: the rest comes in */
    spin(base, 20);
    CHECK(evbuffer_get_length(in) == 5000 - 1010);
    /* disable: nothing more is read; enable: it is */
    evbuffer_drain(in, evbuffer_get_length(in));
    px_rx_disable(&rx, bev);
    write_all(peer, buf, 100);
    spin(base, 20);
    CHECK(evbuffer_get_length(in) == 0);
    px_rx_enable(&rx, bev);
    spin(base, 20);
    CHECK(evbuffer_get_length(in) == 100);
    /* detach: libevent reads again, with the state handed back */
    px_rx_set_high(&rx, bev, 4000);
    px_rx_detach(&rx, bev);
    CHECK(bufferevent_get_enabled(bev) & EV_READ);
    size_t high = 0;
    bufferevent_getwatermark(bev, EV_READ, NULL, &high);
    CHECK(high == 4000);
    write_all(peer, buf, 50);
    spin(base, 20);
    CHECK(evbuffer_get_length(in) == 150);
    px_rx_disable(&rx, bev); /* detached: passes through */
    CHECK(!(bufferevent_get_enabled(bev) & EV_READ));
    CHECK(s.events == 0);
    close(peer);
    bufferevent_free(bev);
}

/* A bufferevent without a socket cannot be attached; calls pass through. */
static void test_no_fd(struct event_base *base)
{
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct px_rx rx;
    memset(&rx, 0, sizeof(rx));
    CHECK(px_rx_attach(&rx, base, bev) == -1);
    px_rx_enable(&rx, bev);
    CHECK(bufferevent_get_enabled(bev) & EV_READ);
    px_rx_disable(&rx, bev);
    CHECK(!(bufferevent_get_enabled(bev) & EV_READ));
    px_rx_release(&rx);
    bufferevent_free(bev);
}

/* A filter bufferevent reports its socket too; reading that would bypass
 * the filter (a TLS layer), so it is refused. */
static void test_filter_refused(struct event_base *base)
{
    int peer = -1;
    struct bufferevent *filt = filter_bev(base, &peer);
    CHECK(filt != NULL);
    if (!filt)
        return;
    struct px_rx rx;
    memset(&rx, 0, sizeof(rx));
    CHECK(bufferevent_getfd(filt) >= 0);
    CHECK(px_rx_attach(&rx, base, filt) == -1);
    CHECK(!rx.attached);
    bufferevent_free(filt);
    close(peer);
}

int main(void)
{
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "no event base\n");
        return 1;
    }
    test_bytes_and_eof(base);
    test_high_mark(base);
    test_no_fd(base);
    test_filter_refused(base);
    event_base_free(base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_rx: all checks passed\n");
    return 0;
}
