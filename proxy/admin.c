/* proxy/admin.c — the admin endpoint: /healthz, /readyz, /metrics over evhttp.
 *
 * Runs on the main thread's event_base. We bind the socket ourselves (IP
 * literal only, via px_config_parse_addr) so errors are precise, then hand it
 * to evhttp. evhttp answers methods outside its allowed set with 501, so every
 * standard method is allowed there and anything but GET/HEAD is refused here
 * with 405 and an Allow header. Heads and bodies are capped small: nothing on
 * this port needs more. */
#include "proxy/admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sgw.h"
#include "proxy/config.h"
#include "proxy/metrics.h"

#define ADMIN_MAX_HEADERS 8192
#define ADMIN_MAX_BODY 1024
#define ADMIN_TIMEOUT_S 10

struct px_admin {
    struct evhttp *http;     /* owned; owns the listening socket */
    int (*ready_cb)(void *); /* borrowed; may be NULL (then never ready) */
    void *arg;               /* borrowed, passed to ready_cb */
    uint16_t port;
};

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
                  const char *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    /* evhttp would send the body even for HEAD: announce its length, send none. */
    int head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    if (head) {
        char cl[24];
        snprintf(cl, sizeof cl, "%zu", len);
        evhttp_add_header(h, "Content-Length", cl);
    }
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    if (!head && evbuffer_add(b, body, len) != 0) {
        evbuffer_free(b);
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    reply(req, code, reason, "text/plain; charset=utf-8", body, strlen(body));
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct px_admin *a = arg;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_text(req, 405, "Method Not Allowed", "method not allowed");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL) {
        reply_text(req, 400, "Bad Request", "bad request");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        reply_text(req, 200, "OK", "ok");
    } else if (strcmp(path, "/readyz") == 0) {
        if (a->ready_cb != NULL && a->ready_cb(a->arg) == 1)
            reply_text(req, 200, "OK", "ready");
        else
            reply_text(req, 503, "Service Unavailable", "not ready");
    } else if (strcmp(path, "/metrics") == 0) {
        char *text = px_metrics_render();
        if (text == NULL) {
            reply_text(req, 500, "Internal Server Error", "metrics unavailable");
            return;
        }
        reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
        free(text);
    } else {
        reply_text(req, 404, "Not Found", "not found");
    }
}

int px_admin_start(struct event_base *base, const char *addr, int (*ready_cb)(void *), void *arg,
                   struct px_admin **out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = -1;
    struct px_admin *a = NULL;
    char scratch[1];
    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    if (out)
        *out = NULL;
    if (base == NULL || addr == NULL || out == NULL) {
        snprintf(err, errlen, "admin: invalid arguments");
        return -1;
    }
    if (px_config_parse_addr(addr, &ss, &sl) != 0) {
        snprintf(err, errlen, "admin: invalid address (IP:PORT or [IPv6]:PORT required)");
        return -1;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, errlen, "admin: out of memory");
        return -1;
    }
    a->ready_cb = ready_cb;
    a->arg = arg;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "admin: socket: %s", strerror(errno));
        goto fail;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)) {
        snprintf(err, errlen, "admin: setsockopt: %s", strerror(errno));
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        snprintf(err, errlen, "admin: cannot bind %s: %s", addr, strerror(errno));
        goto fail;
    }
    if (listen(fd, 64) != 0) {
        snprintf(err, errlen, "admin: listen: %s", strerror(errno));
        goto fail;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        snprintf(err, errlen, "admin: getsockname: %s", strerror(errno));
        goto fail;
    }
    a->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    a->http = evhttp_new(base);
    if (a->http == NULL) {
        snprintf(err, errlen, "admin: evhttp_new failed");
        goto fail;
    }
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
    evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
    evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
    evhttp_set_gencb(a->http, handle, a);
    if (evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
        snprintf(err, errlen, "admin: cannot accept on %s", addr);
        goto fail;
    }
    fd = -1; /* owned by evhttp now */
    *out = a;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    if (a->http)
        evhttp_free(a->http);
    free(a);
    return -1;
}

uint16_t px_admin_port(const struct px_admin *a)
{
    return a ? a->port : 0;
}

void px_admin_free(struct px_admin *a)
{
    if (a == NULL)
        return;
    evhttp_free(a->http);
    free(a);
}
