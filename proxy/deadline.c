/* proxy/deadline.c — see deadline.h. */
#include "proxy/deadline.h"

#include <time.h>

int64_t px_coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void arm(struct px_deadline *d, int64_t now, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(d->ev, &tv);
    d->armed = now + ms;
}

void px_deadline_set(struct px_deadline *d, int ms)
{
    if (ms <= 0) {
        px_deadline_cancel(d);
        return;
    }
    int64_t now = px_coarse_ms();
    d->due = now + ms;
    if (d->armed && d->armed <= d->due)
        return; /* fires in time; px_deadline_due sets it for the rest */
    arm(d, now, ms);
}

void px_deadline_cancel(struct px_deadline *d)
{
    d->due = 0;
}

void px_deadline_stop(struct px_deadline *d)
{
    if (d->armed)
        evtimer_del(d->ev);
    d->armed = 0;
    d->due = 0;
}

int px_deadline_due(struct px_deadline *d)
{
    d->armed = 0;
    if (!d->due)
        return 0;
    int64_t now = px_coarse_ms();
    if (now < d->due) {
        arm(d, now, d->due - now);
        return 0;
    }
    d->due = 0;
    return 1;
}
