/* proxy/admin.h — admin HTTP listener (libevent evhttp on the main thread's event_base).
 * GET /healthz → 200 "ok"; GET /readyz → 200 "ready" / 503 "not ready";
 * GET /metrics → 200 Prometheus text; other paths 404; methods other than GET/HEAD 405. */
#ifndef PX_ADMIN_H
#define PX_ADMIN_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct px_admin;

/* ready_cb returns 1 when the policy is loaded and the gateway accepts traffic (for /readyz).
 * addr is "HOST:PORT" / "[V6]:PORT" (IP literal; port 0 = ephemeral). 0 ok, -1 with err set. */
int px_admin_start(struct event_base *base, const char *addr, int (*ready_cb)(void *), void *arg,
                   struct px_admin **out, char *err, size_t errlen);
/* Port actually bound (useful with port 0). */
uint16_t px_admin_port(const struct px_admin *a);
void px_admin_free(struct px_admin *a);

#endif
