/* Unit tests for proxy/tx.c, the socket write side without libevent's write
 * event, over a real socket pair and a real event_base: bytes added to the
 * output go out within the same loop pass without a write event and without
 * a call; px_tx_write writes at once and reports the low mark; a peer that
 * reads slowly gets every byte intact and in order (the write event waits
 * for room) and the write callback runs at the low mark; an output refilled
 * by the write callback is written once per pass, not in a loop; disable
 * holds the bytes and enable sends them; a write error reaches the event
 * callback once as WRITING|ERROR, never from inside px_tx_write; detach hands
 * the rest to libevent with the enable state and the low mark; release
 * before bufferevent_free leaves nothing behind (ASan); a filter bufferevent
 * is refused. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/tx.h"

#include "../check.h"
#include "evtest.h"

struct seen {
    int writes;          /* write callbacks */
    int events;
    short last_what;
    int refill;          /* the write callback adds this many more pieces */
    size_t refill_len;
    size_t left_at_cb;   /* output length at the last write callback */
    size_t max_left_at_cb;
};

static void on_write(struct bufferevent *bev, void *arg)
{
    struct seen *s = arg;
    struct evbuffer *out = bufferevent_get_output(bev);
    s->writes++;
    s->left_at_cb = evbuffer_get_length(out);
    if (s->left_at_cb > s->max_left_at_cb)
        s->max_left_at_cb = s->left_at_cb;
    if (s->refill > 0) {
        s->refill--;
        uint8_t buf[4096];
        memset(buf, 'r', sizeof(buf));
        evbuffer_add(out, buf, s->refill_len < sizeof(buf) ? s->refill_len : sizeof(buf));
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct seen *s = arg;
    s->events++;
    s->last_what = what;
}

/* Reads what the peer has now (non-blocking). */
static size_t drain_peer(int peer, uint8_t *dst, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = recv(peer, dst + got, cap - got, MSG_DONTWAIT);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

struct rig {
    struct px_txq q;
    struct px_tx tx;
    struct bufferevent *bev;
    int peer;
    struct seen s;
};

static int rig_setup(struct rig *g, struct event_base *base, size_t low)
{
    memset(g, 0, sizeof(*g));
    g->peer = -1;
    CHECK(px_txq_init(&g->q, base) == 0);
    g->bev = pair_bev(base, &g->peer);
    CHECK(g->bev != NULL);
    if (!g->bev)
        return -1;
    bufferevent_setcb(g->bev, NULL, on_write, on_event, &g->s);
    bufferevent_setwatermark(g->bev, EV_WRITE, low, 0);
    bufferevent_enable(g->bev, EV_WRITE);
    CHECK(px_tx_attach(&g->tx, &g->q, g->bev) == 0);
    CHECK(!(bufferevent_get_enabled(g->bev) & EV_WRITE)); /* libevent no longer writes */
    CHECK(g->tx.want && g->tx.low == low);
    return 0;
}

static void rig_free(struct rig *g)
{
    px_tx_release(&g->tx);
    if (g->bev)
        bufferevent_free(g->bev);
    px_txq_clear(&g->q);
    if (g->peer >= 0)
        close(g->peer);
}

/* Added bytes leave in the same pass, with no write event ever added; an
 * explicit write goes at once and reports the low mark. */
static void test_queue_and_write(struct event_base *base)
{
    struct rig g;
    if (rig_setup(&g, base, 0) != 0)
        return;
    struct evbuffer *out = bufferevent_get_output(g.bev);
    evbuffer_add(out, "hello ", 6);
    evbuffer_add(out, "world", 5);
    CHECK(g.tx.queued && !g.tx.armed);
    uint8_t got[64];
    CHECK(drain_peer(g.peer, got, sizeof(got)) == 0); /* nothing before the loop runs */
    spin(base, 1);
    CHECK(!g.tx.queued && !g.tx.armed);
    size_t n = drain_peer(g.peer, got, sizeof(got));
    CHECK(n == 11 && memcmp(got, "hello world", 11) == 0);
    CHECK(g.s.writes == 1 && g.s.left_at_cb == 0); /* the callback at the low mark */
    /* px_tx_write: at once, leaves the queue, the caller runs its callback */
    evbuffer_add(out, "abc", 3);
    CHECK(g.tx.queued);
    CHECK(px_tx_write(&g.tx, g.bev) == 1);
    CHECK(!g.tx.queued);
    CHECK(drain_peer(g.peer, got, sizeof(got)) == 3);
    spin(base, 2);
    CHECK(g.s.writes == 1); /* nothing left for the queue */
    CHECK(px_tx_write(&g.tx, g.bev) == 0); /* empty output: nothing written */
    CHECK(g.s.events == 0);
    rig_free(&g);
}

/* A peer that reads slowly: the socket fills, the px_tx waits on its write
 * event, every byte arrives in order, and the write callback runs only once
 * the output is down to the low mark. */
static void test_slow_peer(struct event_base *base)
{
    struct rig g;
    if (rig_setup(&g, base, 1000) != 0)
        return;
    size_t total = 3u << 20;
    uint8_t *src = malloc(total);
    uint8_t *got = malloc(total);
    for (size_t i = 0; i < total; i++)
        src[i] = (uint8_t)(i * 131u + (i >> 9));
    struct evbuffer *out = bufferevent_get_output(g.bev);
    evbuffer_add(out, src, total);
    spin(base, 1);
    CHECK(g.tx.armed); /* the kernel took part of it */
    CHECK(evbuffer_get_length(out) > 0);
    CHECK(g.s.writes == 0);
    size_t have = 0;
    for (int round = 0; round < 100000 && have < total; round++) {
        have += drain_peer(g.peer, got + have, total - have);
        spin(base, 1);
    }
    have += drain_peer(g.peer, got + have, total - have);
    CHECK(have == total);
    CHECK(memcmp(got, src, total) == 0);
    CHECK(g.s.writes >= 1);
    CHECK(g.s.max_left_at_cb <= 1000); /* never called above the low mark */
    spin(base, 2);
    CHECK(!g.tx.armed); /* empty: the write event is gone */
    CHECK(g.s.events == 0);
    free(src);
    free(got);
    rig_free(&g);
}

/* A write callback that refills the output is called once per loop pass:
 * the refill waits for the socket's next writable event. */
static void test_refill_once_per_pass(struct event_base *base)
{
    struct rig g;
    if (rig_setup(&g, base, 0) != 0)
        return;
    g.s.refill = 5;
    g.s.refill_len = 100;
    evbuffer_add(bufferevent_get_output(g.bev), "x", 1);
    event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    CHECK(g.s.writes == 1);
    CHECK(g.tx.armed && !g.tx.queued);
    spin(base, 20);
    CHECK(g.s.writes == 6);
    uint8_t got[1024];
    CHECK(drain_peer(g.peer, got, sizeof(got)) == 1 + 5 * 100);
    CHECK(!g.tx.armed);
    rig_free(&g);
}

/* A px_tx written in one run of the queue, whose bufferevent gets bytes in a
 * later loop pass after another one has already activated the queue: it is
 * queued and written in that run, not left waiting for a writable event (the
 * "once per run" rule is for refills from inside the run only). */
static void test_later_pass_queued(struct event_base *base)
{
    struct rig a, b;
    if (rig_setup(&a, base, 0) != 0)
        return;
    memset(&b, 0, sizeof(b));
    b.peer = -1;
    b.bev = pair_bev(base, &b.peer);
    CHECK(b.bev != NULL);
    if (!b.bev) {
        rig_free(&a);
        return;
    }
    bufferevent_setcb(b.bev, NULL, on_write, on_event, &b.s);
    bufferevent_enable(b.bev, EV_WRITE);
    CHECK(px_tx_attach(&b.tx, &a.q, b.bev) == 0); /* both on a's queue */
    evbuffer_add(bufferevent_get_output(a.bev), "one", 3);
    spin(base, 1); /* a written in this run */
    uint8_t got[16];
    CHECK(drain_peer(a.peer, got, sizeof(got)) == 3);
    evbuffer_add(bufferevent_get_output(b.bev), "b", 1); /* activates the queue */
    evbuffer_add(bufferevent_get_output(a.bev), "two", 3);
    CHECK(a.tx.queued && !a.tx.armed);
    CHECK(px_tx_write(&a.tx, a.bev) == 1); /* an explicit write goes out at once */
    CHECK(drain_peer(a.peer, got, sizeof(got)) == 3 && memcmp(got, "two", 3) == 0);
    spin(base, 1);
    CHECK(drain_peer(b.peer, got, sizeof(got)) == 1);
    px_tx_release(&b.tx);
    bufferevent_free(b.bev);
    close(b.peer);
    rig_free(&a);
}

/* disable holds, enable sends; the low mark can change on the way. */
static void test_disable_enable(struct event_base *base)
{
    struct rig g;
    if (rig_setup(&g, base, 0) != 0)
        return;
    px_tx_disable(&g.tx, g.bev);
    evbuffer_add(bufferevent_get_output(g.bev), "held", 4);
    CHECK(!g.tx.queued);
    spin(base, 5);
    uint8_t got[16];
    CHECK(drain_peer(g.peer, got, sizeof(got)) == 0);
    CHECK(px_tx_write(&g.tx, g.bev) == 0); /* disabled: not even explicitly */
    px_tx_set_low(&g.tx, g.bev, 10);
    px_tx_enable(&g.tx, g.bev);
    spin(base, 1);
    CHECK(drain_peer(g.peer, got, sizeof(got)) == 4 && memcmp(got, "held", 4) == 0);
    CHECK(g.s.writes == 1);
    rig_free(&g);
}

/* The peer is gone: the error reaches the event callback once, from the
 * px_tx's own event, and writing stops. */
static void test_write_error(struct event_base *base)
{
    struct rig g;
    if (rig_setup(&g, base, 0) != 0)
        return;
    close(g.peer);
    g.peer = -1;
    evbuffer_add(bufferevent_get_output(g.bev), "lost", 4);
    CHECK(px_tx_write(&g.tx, g.bev) == 0);
    CHECK(g.s.events == 0); /* not from inside the call */
    spin(base, 3);
    CHECK(g.s.events == 1);
    CHECK(g.s.last_what == (BEV_EVENT_WRITING | BEV_EVENT_ERROR));
    CHECK(!g.tx.want);
    evbuffer_add(bufferevent_get_output(g.bev), "more", 4);
    spin(base, 3);
    CHECK(g.s.events == 1);
    CHECK(g.s.writes == 0);
    rig_free(&g);
}

/* detach: libevent writes what is left, with the enable state and the low
 * mark handed back; the calls then pass through. */
static void test_detach(struct event_base *base)
{
    struct rig g;
    if (rig_setup(&g, base, 0) != 0)
        return;
    px_tx_set_low(&g.tx, g.bev, 7);
    evbuffer_add(bufferevent_get_output(g.bev), "queued", 6);
    CHECK(g.tx.queued);
    px_tx_detach(&g.tx, g.bev);
    CHECK(!g.tx.attached);
    CHECK(bufferevent_get_enabled(g.bev) & EV_WRITE);
    size_t low = 0;
    bufferevent_getwatermark(g.bev, EV_WRITE, &low, NULL);
    CHECK(low == 7);
    spin(base, 5);
    uint8_t got[16];
    CHECK(drain_peer(g.peer, got, sizeof(got)) == 6 && memcmp(got, "queued", 6) == 0);
    spin(base, 3); /* the queue's event, if still active, finds nothing */
    px_tx_disable(&g.tx, g.bev); /* detached: passes through */
    CHECK(!(bufferevent_get_enabled(g.bev) & EV_WRITE));
    /* the pass-through write of a bare bufferevent */
    bufferevent_enable(g.bev, EV_WRITE);
    evbuffer_add(bufferevent_get_output(g.bev), "bare", 4);
    CHECK(px_tx_write(NULL, g.bev) == 1);
    CHECK(drain_peer(g.peer, got, sizeof(got)) == 4);
    rig_free(&g);
}

/* Released with bytes queued and the event active: nothing fires later. */
static void test_release_queued(struct event_base *base)
{
    struct rig g;
    if (rig_setup(&g, base, 0) != 0)
        return;
    evbuffer_add(bufferevent_get_output(g.bev), "bye", 3);
    CHECK(g.tx.queued);
    px_tx_release(&g.tx);
    bufferevent_free(g.bev);
    g.bev = NULL;
    spin(base, 3); /* the queue's event runs with an empty queue */
    CHECK(g.q.head == NULL && !g.q.active);
    rig_free(&g);
}

/* A bufferevent without a socket, or a filter (it reports its socket too,
 * and writing there would bypass a TLS layer), is refused. */
static void test_refused(struct event_base *base)
{
    struct px_txq q;
    CHECK(px_txq_init(&q, base) == 0);
    struct px_tx tx;
    memset(&tx, 0, sizeof(tx));
    struct bufferevent *nofd = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    CHECK(px_tx_attach(&tx, &q, nofd) == -1);
    px_tx_enable(&tx, nofd);
    CHECK(bufferevent_get_enabled(nofd) & EV_WRITE);
    bufferevent_free(nofd);
    int peer = -1;
    struct bufferevent *filt = filter_bev(base, &peer);
    CHECK(filt != NULL);
    if (filt) {
        CHECK(bufferevent_getfd(filt) >= 0);
        CHECK(px_tx_attach(&tx, &q, filt) == -1);
        CHECK(!tx.attached);
        bufferevent_free(filt);
        close(peer);
    }
    px_txq_clear(&q);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "no event base\n");
        return 1;
    }
    test_queue_and_write(base);
    test_slow_peer(base);
    test_refill_once_per_pass(base);
    test_later_pass_queued(base);
    test_disable_enable(base);
    test_write_error(base);
    test_detach(base);
    test_release_queued(base);
    test_refused(base);
    event_base_free(base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_tx: all checks passed\n");
    return 0;
}
