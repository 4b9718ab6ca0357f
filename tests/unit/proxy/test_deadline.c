/* Unit tests for proxy/deadline.c, the lazily re-armed timer, on a real
 * event_base: a deadline fires once and not before its time; an earlier
 * deadline moves the timer forward; a later one leaves the timer where it is,
 * which then fires early, is re-armed for the rest and is not "due"; a
 * cancelled deadline never becomes due; a deadline set from the callback
 * works. Bounds are generous (loaded machines, sanitizers): these check
 * which deadline fires, not how fast. */
#include <stdio.h>
#include <string.h>

#include "proxy/deadline.h"

#include "../check.h"

struct rig {
    struct event_base *base;
    struct px_deadline d;
    int calls; /* timer callbacks */
    int dues;  /* of which the deadline had passed */
    int64_t due_at;
    int again_ms; /* set a new deadline from the callback, once */
};

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rig *g = arg;
    g->calls++;
    if (!px_deadline_due(&g->d))
        return;
    g->dues++;
    g->due_at = px_coarse_ms();
    if (g->again_ms) {
        px_deadline_set(&g->d, g->again_ms);
        g->again_ms = 0;
    }
}

static void rig_init(struct rig *g, struct event_base *base)
{
    memset(g, 0, sizeof(*g));
    g->base = base;
    g->d.ev = evtimer_new(base, on_timer, g);
}

/* Runs the loop until ms have passed (loopexit's own timeout keeps it
 * blocking between the timer's firings). */
static void run_for(struct rig *g, int ms)
{
    int64_t end = px_coarse_ms() + ms;
    while (px_coarse_ms() < end) {
        int64_t left = end - px_coarse_ms();
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
        event_base_loopexit(g->base, &tv);
        event_base_dispatch(g->base);
    }
}

/* The coarse clock's resolution is a few ms; allow 20 of slack. */
#define SLACK 20

static void test_fires_once(struct event_base *base)
{
    struct rig g;
    rig_init(&g, base);
    int64_t t0 = px_coarse_ms();
    px_deadline_set(&g.d, 150);
    run_for(&g, 600);
    CHECK(g.dues == 1);
    CHECK(g.due_at - t0 >= 150 - SLACK);
    event_free(g.d.ev);
}

static void test_earlier_moves_forward(struct event_base *base)
{
    struct rig g;
    rig_init(&g, base);
    int64_t t0 = px_coarse_ms();
    px_deadline_set(&g.d, 5000);
    px_deadline_set(&g.d, 100);
    run_for(&g, 1500);
    CHECK(g.dues == 1);
    CHECK(g.due_at - t0 >= 100 - SLACK);
    CHECK(g.due_at - t0 < 1500); /* not at the first, later deadline */
    event_free(g.d.ev);
}

static void test_later_fires_late(struct event_base *base)
{
    struct rig g;
    rig_init(&g, base);
    int64_t t0 = px_coarse_ms();
    px_deadline_set(&g.d, 100);
    px_deadline_set(&g.d, 600); /* the timer stays at 100 */
    run_for(&g, 300);
    CHECK(g.calls >= 1); /* it fired early ... */
    CHECK(g.dues == 0);  /* ... and was not due */
    run_for(&g, 900);
    CHECK(g.dues == 1);
    CHECK(g.due_at - t0 >= 600 - SLACK);
    event_free(g.d.ev);
}

static void test_cancel(struct event_base *base)
{
    struct rig g;
    rig_init(&g, base);
    px_deadline_set(&g.d, 100);
    px_deadline_cancel(&g.d);
    run_for(&g, 400);
    CHECK(g.dues == 0);
    CHECK(g.calls <= 1); /* the pending timer found nothing and stopped */
    /* set again after a cancel: fires */
    px_deadline_set(&g.d, 50);
    run_for(&g, 400);
    CHECK(g.dues == 1);
    px_deadline_set(&g.d, 0); /* 0: a cancel */
    run_for(&g, 200);
    CHECK(g.dues == 1);
    event_free(g.d.ev);
}

static void test_set_from_callback(struct event_base *base)
{
    struct rig g;
    rig_init(&g, base);
    g.again_ms = 100;
    int64_t t0 = px_coarse_ms();
    px_deadline_set(&g.d, 50);
    run_for(&g, 800);
    CHECK(g.dues == 2);
    CHECK(g.due_at - t0 >= 150 - SLACK);
    event_free(g.d.ev);
}

int main(void)
{
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "no event base\n");
        return 1;
    }
    test_fires_once(base);
    test_earlier_moves_forward(base);
    test_later_fires_late(base);
    test_cancel(base);
    test_set_from_callback(base);
    event_base_free(base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_deadline: all checks passed\n");
    return 0;
}
