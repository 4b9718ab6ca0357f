/* bench/upstream_h1.c — a tiny, fast HTTP/1.1 origin for proxy benchmarks.
 *
 * One epoll loop per thread (SO_REUSEPORT), keep-alive, pipelining. Every
 * request (any method/path) is answered 200 with a fixed small body; request
 * bodies (Content-Length or chunked-free only) are read and discarded. It is
 * deliberately minimal: its only job is not to be the bottleneck. Not part of
 * the product build; compiled by bench/proxy_bench.sh.
 *
 * usage: upstream_h1 PORT [THREADS] [BODY_BYTES] [SPLIT]      (binds 127.0.0.1)
 * SPLIT=1 writes each response head and body with two write(2) calls, as many
 * real origins do: a proxy that relays them without TCP_NODELAY then stalls on
 * Nagle + delayed ACK (visible as ~40 ms latency with one connection).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_CAP 65536
#define MAX_EVENTS 256

struct conn {
    int fd;
    size_t len;          /* bytes buffered in buf */
    uint64_t body_left;  /* request body bytes still to discard */
    char buf[BUF_CAP];
};

static uint16_t g_port;
static char *g_resp;
static size_t g_resp_len;
static size_t g_head_len;
static int g_split;

/* Parses a decimal without sscanf/atoi; returns -1 on garbage or overflow. */
static int64_t parse_dec(const char *s, size_t n)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == n)
        return -1;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i == n && v <= INT64_MAX ? (int64_t)v : -1;
}

/* Content-Length of the head in buf[0..n), 0 when absent, -1 invalid. */
static int64_t head_content_length(const char *buf, size_t n)
{
    const char *p = buf;
    const char *end = buf + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - p);
        if (ll >= 15 && strncasecmp(p, "content-length:", 15) == 0) {
            size_t vl = ll - 15;
            if (vl && p[15 + vl - 1] == '\r')
                vl--;
            return parse_dec(p + 15, vl);
        }
        p = eol + 1;
    }
    return 0;
}

static int write_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                /* Small responses: a full socket buffer means a stuck client; drop it. */
                return -1;
            }
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Queues one response into out (flushing when full). 0 ok, -1 close. */
static int queue_resp(struct conn *c, char *out, size_t cap, size_t *out_len)
{
    if (g_split) {
        if (*out_len && write_all(c->fd, out, *out_len) < 0)
            return -1;
        *out_len = 0;
        if (write_all(c->fd, g_resp, g_head_len) < 0)
            return -1;
        return write_all(c->fd, g_resp + g_head_len, g_resp_len - g_head_len);
    }
    if (*out_len + g_resp_len > cap) {
        if (write_all(c->fd, out, *out_len) < 0)
            return -1;
        *out_len = 0;
    }
    memcpy(out + *out_len, g_resp, g_resp_len);
    *out_len += g_resp_len;
    return 0;
}

/* Consumes complete requests from c->buf; answers each once its body has been
 * read. 0 ok, -1 close. */
static int serve(struct conn *c)
{
    char out[BUF_CAP];
    size_t out_len = 0;
    size_t off = 0;
    for (;;) {
        if (c->body_left) {
            size_t avail = c->len - off;
            size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
            off += take;
            c->body_left -= take;
            if (c->body_left)
                break;
            if (queue_resp(c, out, sizeof(out), &out_len) < 0)
                return -1;
        }
        char *he = memmem(c->buf + off, c->len - off, "\r\n\r\n", 4);
        if (!he)
            break;
        size_t hl = (size_t)(he - (c->buf + off)) + 4;
        int64_t cl = head_content_length(c->buf + off, hl);
        if (cl < 0)
            return -1;
        off += hl;
        c->body_left = (uint64_t)cl;
        if (!c->body_left && queue_resp(c, out, sizeof(out), &out_len) < 0)
            return -1;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    if (c->len == sizeof(c->buf))
        return -1; /* head larger than the buffer */
    if (out_len && write_all(c->fd, out, out_len) < 0)
        return -1;
    return 0;
}

static void *worker(void *arg)
{
    (void)arg;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(g_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4096) < 0) {
        perror("upstream_h1: bind/listen");
        exit(2);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct conn *nc = calloc(1, sizeof(*nc));
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            int dead = 0;
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
                if (r > 0) {
                    c->len += (size_t)r;
                    if (serve(c) < 0) {
                        dead = 1;
                        break;
                    }
                    continue;
                }
                if (r == 0 || (errno != EAGAIN && errno != EINTR))
                    dead = 1;
                break;
            }
            if (dead) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: upstream_h1 PORT [THREADS] [BODY_BYTES] [SPLIT]\n", stderr);
        return 2;
    }
    int64_t port = parse_dec(argv[1], strlen(argv[1]));
    int64_t threads = argc > 2 ? parse_dec(argv[2], strlen(argv[2])) : 1;
    int64_t body = argc > 3 ? parse_dec(argv[3], strlen(argv[3])) : 13;
    int64_t split = argc > 4 ? parse_dec(argv[4], strlen(argv[4])) : 0;
    if (port <= 0 || port > 65535 || threads < 1 || threads > 64 || body < 0 || body > 16384 ||
        split < 0 || split > 1) {
        fputs("upstream_h1: bad arguments\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    g_port = (uint16_t)port;
    char head[160];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %lld\r\n\r\n",
                      (long long)body);
    g_split = (int)split;
    g_head_len = (size_t)hl;
    g_resp_len = (size_t)hl + (size_t)body;
    g_resp = malloc(g_resp_len);
    if (!g_resp)
        return 2;
    memcpy(g_resp, head, (size_t)hl);
    for (int64_t i = 0; i < body; i++)
        g_resp[hl + i] = (char)('a' + i % 26);
    pthread_t t[64];
    for (int64_t i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int64_t i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return 0;
}
