/* Unit tests for proxy/admin.c: the admin listener runs in a libevent base on
 * the main thread; a second thread talks plain HTTP/1.1 to it over a socket
 * and checks /healthz, /readyz (both states), /metrics, 404, 405, HEAD and the
 * header size cap. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/sgw.h"
#include "proxy/admin.h"
#include "proxy/metrics.h"

#include "../check.h"

static _Atomic int ready_flag;
static _Atomic int done;
static uint16_t port;

static int ready(void *arg)
{
    CHECK(arg == &ready_flag);
    return atomic_load(&ready_flag);
}

struct resp {
    int status;
    char head[4096];
    char body[65536];
    size_t body_len;
};

/* Sends raw to the admin port and reads until EOF (Connection: close). */
static int exchange(const char *raw, size_t rawlen, struct resp *r)
{
    memset(r, 0, sizeof *r);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < rawlen) {
        ssize_t w = send(fd, raw + off, rawlen - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    static char buf[131072];
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    if (len < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0)
        return len == 0 ? 0 : -1;
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep == NULL)
        return -1;
    size_t hl = (size_t)(sep - buf);
    if (hl >= sizeof r->head)
        hl = sizeof r->head - 1;
    memcpy(r->head, buf, hl);
    r->head[hl] = '\0';
    r->body_len = len - (size_t)(sep + 4 - buf);
    if (r->body_len >= sizeof r->body)
        r->body_len = sizeof r->body - 1;
    memcpy(r->body, sep + 4, r->body_len);
    r->body[r->body_len] = '\0';
    return 1;
}

static int get(const char *method, const char *target, struct resp *r)
{
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n",
                     method, target);
    return exchange(req, (size_t)n, r);
}

/* Case-insensitive header presence with exact value. */
static int header_is(const struct resp *r, const char *name, const char *value)
{
    char want[256];
    snprintf(want, sizeof want, "\r\n%s: %s\r", name, value);
    char head[4100];
    snprintf(head, sizeof head, "%s\r", r->head);
    return strcasestr(head, want) != NULL;
}

static void *client(void *arg)
{
    struct resp r;
    CHECK(get("GET", "/healthz", &r) == 1 && r.status == 200 && strcmp(r.body, "ok") == 0);
    CHECK(header_is(&r, "Content-Type", "text/plain; charset=utf-8"));
    CHECK(header_is(&r, "Cache-Control", "no-store"));
    CHECK(get("GET", "/healthz?probe=1", &r) == 1 && r.status == 200);

    atomic_store(&ready_flag, 0);
    CHECK(get("GET", "/readyz", &r) == 1 && r.status == 503 && strcmp(r.body, "not ready") == 0);
    atomic_store(&ready_flag, 1);
    CHECK(get("GET", "/readyz", &r) == 1 && r.status == 200 && strcmp(r.body, "ready") == 0);

    px_metrics_request("allow", "admin-test-rule", 0.01, 5, 6);
    CHECK(get("GET", "/metrics", &r) == 1 && r.status == 200);
    CHECK(header_is(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8"));
    CHECK(strstr(r.body, "\nsovgw_up 1\n") != NULL);
    CHECK(strstr(r.body, "sovgw_requests_total{verdict=\"allow\",rule=\"admin-test-rule\"} 1\n") !=
          NULL);

    CHECK(get("GET", "/", &r) == 1 && r.status == 404);
    CHECK(get("GET", "/healthz/", &r) == 1 && r.status == 404);
    CHECK(get("GET", "/metricsx", &r) == 1 && r.status == 404);

    const char *refused[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(refused); i++) {
        CHECK(get(refused[i], "/healthz", &r) == 1 && r.status == 405);
        CHECK(header_is(&r, "Allow", "GET, HEAD"));
    }

    CHECK(get("HEAD", "/healthz", &r) == 1 && r.status == 200 && r.body_len == 0);
    CHECK(header_is(&r, "Content-Length", "2")); /* the length GET would send */
    CHECK(get("HEAD", "/nope", &r) == 1 && r.status == 404 && r.body_len == 0);

    /* A head larger than the cap is refused (an error status or a close), never served. */
    static char big[20000];
    int n = snprintf(big, sizeof big, "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: ");
    memset(big + n, 'a', 12000);
    n += 12000;
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\nConnection: close\r\n\r\n");
    int rc = exchange(big, (size_t)n, &r);
    CHECK(rc == 0 || (rc == 1 && r.status >= 400));

    /* A request body beyond the cap on a refused method still gets no 2xx. */
    const char *cl = "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n";
    rc = exchange(cl, strlen(cl), &r);
    CHECK(rc != 1 || r.status >= 400);

    atomic_store(&done, 1);
    return NULL;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    if (atomic_load(&done))
        event_base_loopbreak(arg);
}

static void test_endpoints(void)
{
    struct event_base *base = event_base_new();
    CHECK(base != NULL);
    struct px_admin *a = NULL;
    char err[256] = "";
    int rc = px_admin_start(base, "127.0.0.1:0", ready, &ready_flag, &a, err, sizeof err);
    CHECK(rc == 0 && a != NULL);
    if (rc != 0) {
        fprintf(stderr, "admin start: %s\n", err);
        event_base_free(base);
        return;
    }
    port = px_admin_port(a);
    CHECK(port != 0);

    /* The same port cannot be bound twice. */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    struct px_admin *b = NULL;
    CHECK(px_admin_start(base, addr, ready, NULL, &b, err, sizeof err) == -1 && b == NULL);
    CHECK(strstr(err, "cannot bind") != NULL);

    struct event *t = event_new(base, -1, EV_PERSIST, tick, base);
    struct timeval tv = {0, 20000};
    event_add(t, &tv);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, client, NULL) == 0);
    event_base_dispatch(base);
    pthread_join(th, NULL);
    event_free(t);
    px_admin_free(a);
    event_base_free(base);
}

static void test_start_errors(void)
{
    struct event_base *base = event_base_new();
    struct px_admin *a = (struct px_admin *)&a; /* must be reset to NULL on failure */
    char err[256];
    CHECK(px_admin_start(base, "localhost:9090", NULL, NULL, &a, err, sizeof err) == -1);
    CHECK(a == NULL && strstr(err, "invalid address") != NULL);
    CHECK(px_admin_start(base, "127.0.0.1:65536", NULL, NULL, &a, err, sizeof err) == -1);
    CHECK(px_admin_start(NULL, "127.0.0.1:0", NULL, NULL, &a, err, sizeof err) == -1);
    /* IPv6 loopback, when the host has it; NULL ready_cb means never ready. */
    if (px_admin_start(base, "[::1]:0", NULL, NULL, &a, err, sizeof err) == 0) {
        CHECK(px_admin_port(a) != 0);
        px_admin_free(a);
    }
    px_admin_free(NULL);
    event_base_free(base);
}

int main(void)
{
    px_metrics_init();
    test_endpoints();
    test_start_errors();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    puts("test_admin: ok");
    return 0;
}
