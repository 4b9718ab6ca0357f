/* Edge paths of proxy/tx.c that test_tx.c does not take, over real socket
 * pairs and a real event_base (heap-allocated owners, so that a callback run
 * on freed memory is an ASan report):
 *   - a write error met by the queue's own run (no px_tx_write) reaches the
 *     event callback once as WRITING|ERROR, the write callback never;
 *   - a px_tx released (and its bufferevent freed) while its error event is
 *     active: nothing fires afterwards;
 *   - detach while the socket is full and MiBs are queued: libevent delivers
 *     the rest intact and in order;
 *   - a write callback that releases and frees its own bufferevent and
 *     another queued one during the queue's run: the third queued one is
 *     still written, nothing runs on freed memory;
 *   - px_tx_write while waiting for the socket neither writes out of turn
 *     nor loses bytes added meanwhile. */
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

struct owner {
    struct px_tx tx;
    struct bufferevent *bev;
    int peer;
    int writes;
    int events;
    short last_what;
    struct owner *kill;  /* on the first write callback: free this one too */
    struct owner **self; /* cleared when the owner frees itself */
    struct owner **other;
};

static void owner_free(struct owner *o)
{
    if (!o)
        return;
    px_tx_release(&o->tx);
    if (o->bev)
        bufferevent_free(o->bev);
    if (o->peer >= 0)
        close(o->peer);
    free(o);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct owner *o = arg;
    o->writes++;
    if (o->kill) {
        struct owner *k = o->kill;
        o->kill = NULL;
        owner_free(k);
        *o->other = NULL;
        struct owner **self = o->self;
        owner_free(o);
        *self = NULL;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct owner *o = arg;
    o->events++;
    o->last_what = what;
}

static struct owner *owner_new(struct event_base *base, struct px_txq *q, size_t low)
{
    struct owner *o = calloc(1, sizeof(*o));
    CHECK(o != NULL);
    if (!o)
        return NULL;
    o->peer = -1;
    o->bev = pair_bev(base, &o->peer);
    CHECK(o->bev != NULL);
    if (!o->bev) {
        free(o);
        return NULL;
    }
    bufferevent_setcb(o->bev, NULL, on_write, on_event, o);
    bufferevent_setwatermark(o->bev, EV_WRITE, low, 0);
    bufferevent_enable(o->bev, EV_WRITE);
    CHECK(px_tx_attach(&o->tx, q, o->bev) == 0);
    return o;
}

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

static uint8_t pat(size_t i)
{
    return (uint8_t)((i * 131u + (i >> 9)) & 0xff);
}

static void add_pattern(struct evbuffer *out, size_t off, size_t n)
{
    uint8_t buf[4096];
    while (n > 0) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        for (size_t i = 0; i < k; i++)
            buf[i] = pat(off + i);
        evbuffer_add(out, buf, k);
        off += k;
        n -= k;
    }
}

/* Reads from the peer while spinning the loop until total bytes arrived or
 * the rounds run out; returns how many matched the pattern in order. */
static size_t read_pattern(struct event_base *base, int peer, size_t total)
{
    static uint8_t buf[1 << 16];
    size_t got = 0;
    int bad = 0;
    for (int round = 0; round < 20000 && got < total; round++) {
        spin(base, 1);
        size_t n = drain_peer(peer, buf, sizeof(buf));
        for (size_t i = 0; i < n && !bad; i++)
            if (buf[i] != pat(got + i))
                bad = 1;
        got += n;
        if (n == 0)
            usleep(200);
    }
    CHECK(!bad);
    return got;
}

static void test_error_from_queue(struct event_base *base, struct px_txq *q)
{
    struct owner *o = owner_new(base, q, 0);
    if (!o)
        return;
    shutdown(o->peer, SHUT_RDWR);
    close(o->peer);
    o->peer = -1;
    evbuffer_add(bufferevent_get_output(o->bev), "lost", 4);
    CHECK(o->tx.queued);
    spin(base, 3);
    CHECK(o->events == 1);
    CHECK(o->last_what == (BEV_EVENT_WRITING | BEV_EVENT_ERROR));
    CHECK(o->writes == 0);
    CHECK(!o->tx.queued && !o->tx.armed);
    evbuffer_add(bufferevent_get_output(o->bev), "again", 5);
    spin(base, 3);
    CHECK(o->events == 1); /* reported once, writing stopped */
    owner_free(o);
}

static void test_release_with_error_active(struct event_base *base, struct px_txq *q)
{
    struct owner *o = owner_new(base, q, 0);
    if (!o)
        return;
    close(o->peer);
    o->peer = -1;
    evbuffer_add(bufferevent_get_output(o->bev), "lost", 4);
    CHECK(px_tx_write(&o->tx, o->bev) == 0); /* the error waits in the event */
    CHECK(o->events == 0);
    owner_free(o); /* a callback on o after this is a use after free */
    spin(base, 3);
    CHECK(q->head == NULL);
}

static void test_detach_while_full(struct event_base *base, struct px_txq *q)
{
    struct owner *o = owner_new(base, q, 0);
    if (!o)
        return;
    const size_t total = 3u * 1024u * 1024u + 333u;
    struct evbuffer *out = bufferevent_get_output(o->bev);
    add_pattern(out, 0, total / 2);
    spin(base, 2);
    CHECK(o->tx.armed); /* the socket is full: waiting for room */
    add_pattern(out, total / 2, total - total / 2);
    px_tx_detach(&o->tx, o->bev);
    CHECK(!o->tx.attached);
    CHECK(bufferevent_get_enabled(o->bev) & EV_WRITE);
    size_t got = read_pattern(base, o->peer, total);
    CHECK(got == total);
    CHECK(evbuffer_get_length(out) == 0);
    owner_free(o);
}

static void test_free_in_write_cb(struct event_base *base, struct px_txq *q)
{
    struct owner *a = owner_new(base, q, 0);
    struct owner *b = owner_new(base, q, 0);
    struct owner *c = owner_new(base, q, 0);
    if (!a || !b || !c) {
        owner_free(a);
        owner_free(b);
        owner_free(c);
        return;
    }
    /* The queue is LIFO: c is queued first so that it runs last, after b
     * frees a (still queued) and itself from its write callback. */
    evbuffer_add(bufferevent_get_output(c->bev), "ccc", 3);
    evbuffer_add(bufferevent_get_output(a->bev), "aaa", 3);
    evbuffer_add(bufferevent_get_output(b->bev), "bbb", 3);
    CHECK(a->tx.queued && b->tx.queued && c->tx.queued);
    CHECK(q->head == &b->tx);
    b->kill = a;
    b->self = &b;
    b->other = &a;
    spin(base, 3);
    CHECK(a == NULL && b == NULL);
    uint8_t got[8];
    CHECK(drain_peer(c->peer, got, sizeof(got)) == 3 && memcmp(got, "ccc", 3) == 0);
    CHECK(c->writes == 1);
    CHECK(q->head == NULL);
    owner_free(c);
}

static void test_explicit_write_while_full(struct event_base *base, struct px_txq *q)
{
    struct owner *o = owner_new(base, q, 0);
    if (!o)
        return;
    const size_t first = 2u * 1024u * 1024u;
    const size_t total = first + 100000u;
    struct evbuffer *out = bufferevent_get_output(o->bev);
    add_pattern(out, 0, first);
    spin(base, 2);
    CHECK(o->tx.armed);
    size_t off = first;
    while (off < total) {
        size_t k = total - off < 10000 ? total - off : 10000;
        add_pattern(out, off, k);
        off += k;
        CHECK(px_tx_write(&o->tx, o->bev) == 0); /* waits its turn */
    }
    size_t got = read_pattern(base, o->peer, total);
    CHECK(got == total);
    CHECK(o->writes >= 1);
    CHECK(o->events == 0);
    owner_free(o);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "no event base\n");
        return 1;
    }
    struct px_txq q;
    memset(&q, 0, sizeof(q));
    CHECK(px_txq_init(&q, base) == 0);
    test_error_from_queue(base, &q);
    test_release_with_error_active(base, &q);
    test_detach_while_full(base, &q);
    test_free_in_write_cb(base, &q);
    test_explicit_write_while_full(base, &q);
    px_txq_clear(&q);
    event_base_free(base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_tx_edges: all checks passed\n");
    return 0;
}
