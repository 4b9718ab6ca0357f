/* proxy/deadline.h — a timer that is re-armed lazily.
 *
 * A connection's timer changes meaning several times per request (response,
 * body, idle...), and each evtimer_add of a pending timer takes it out of
 * libevent's heap and puts it back: with the upstream's pool timer, five
 * add/delete pairs per forwarded request, about 7 % of its user-space
 * instructions. A px_deadline keeps the deadline itself and touches the
 * libevent timer only when the new deadline is earlier than the one the timer
 * is set for; a later deadline (the usual case: the next timeout of a request
 * runs from a later moment) or a cancel costs a clock read and a store. When
 * the timer fires before the deadline, px_deadline_due re-arms it for the
 * rest and says "not yet".
 *
 * Time is CLOCK_MONOTONIC_COARSE in milliseconds: a vDSO read, a few ms of
 * resolution, plenty for timeouts of 100 ms and more. */
#ifndef SGW_PROXY_DEADLINE_H
#define SGW_PROXY_DEADLINE_H

#include <stdint.h>

#include <event2/event.h>

struct px_deadline {
    struct event *ev; /* borrowed: an evtimer whose callback calls px_deadline_due first */
    int64_t due;      /* coarse ms, 0 = none */
    int64_t armed;    /* when ev is set to fire, 0 = not pending */
};

int64_t px_coarse_ms(void);

/* Fire ms from now (ms <= 0: cancel). */
void px_deadline_set(struct px_deadline *d, int ms);
/* No deadline; the timer, if pending, fires and finds nothing. */
void px_deadline_cancel(struct px_deadline *d);
/* Stop the timer for good (before the event is freed or reassigned). */
void px_deadline_stop(struct px_deadline *d);
/* First thing in the timer's callback: 1 if the deadline has passed (it is
 * then cleared and the caller acts), 0 if there is none or it is still ahead
 * (the timer is then set again for the rest). */
int px_deadline_due(struct px_deadline *d);

#endif
