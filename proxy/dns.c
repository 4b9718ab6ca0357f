/* proxy/dns.c — asynchronous name resolution on the worker's evdns_base.
 * No blocking resolver call ever runs on a worker thread. IP literals never
 * get here (the caller parses them with inet_pton). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "proxy/internal.h"

struct px_dns_req {
    struct evdns_getaddrinfo_request *ev; /* libevent's handle while pending */
    px_dns_cb cb;                         /* NULL once cancelled */
    void *arg;
    int in_call;                          /* evdns_getaddrinfo has not returned yet */
    int finished;                         /* callback ran during the call */
};

static void dns_done(int err, struct evutil_addrinfo *ai, void *arg)
{
    struct px_dns_req *d = arg;
    if (d->cb)
        d->cb(d->arg, err, err == 0 ? ai : NULL);
    if (ai)
        evutil_freeaddrinfo(ai);
    if (d->in_call)
        d->finished = 1; /* px_dns_resolve frees it */
    else
        free(d);
}

/* Starts resolving host (A and AAAA). cb runs exactly once unless
 * px_dns_cancel is called first; it may run before this function returns, in
 * which case *out is NULL. Returns SGW_OK or SGW_ERR (no resolver, no memory:
 * cb is not called). */
int px_dns_resolve(struct px_worker *w, const char *host, uint16_t port, px_dns_cb cb, void *arg,
                   struct px_dns_req **out)
{
    *out = NULL;
    if (!w->dns)
        return SGW_ERR;
    struct px_dns_req *d = calloc(1, sizeof(*d));
    if (!d)
        return SGW_ENOMEM;
    d->cb = cb;
    d->arg = arg;
    d->in_call = 1;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    d->ev = evdns_getaddrinfo(w->dns, host, portstr, &hints, dns_done, d);
    d->in_call = 0;
    if (d->finished) {
        free(d);
        return SGW_OK;
    }
    *out = d;
    return SGW_OK;
}

/* Cancels a pending lookup: the callback will not run; the request memory is
 * released when libevent reports the cancellation. */
void px_dns_cancel(struct px_dns_req *d)
{
    if (!d)
        return;
    d->cb = NULL;
    if (d->ev)
        evdns_getaddrinfo_cancel(d->ev);
}
