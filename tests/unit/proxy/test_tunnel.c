/* Unit tests for proxy/tunnel.c, the CONNECT pipe, over two real socket
 * pairs: bytes cross intact both ways; a peer that does not read makes the
 * pipe stop reading the other side (bounded buffering, then everything
 * arrives once it reads); EOF is propagated as a half-close; done_cb runs
 * once when both directions are closed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/internal.h"

#include "../check.h"

static int done_calls;
static char done_why[64];

static void on_done(struct px_pipe *p, void *arg, const char *why)
{
    (void)p;
    (void)arg;
    done_calls++;
    snprintf(done_why, sizeof(done_why), "%s", why);
}

static void spin(struct event_base *base, int n)
{
    for (int i = 0; i < n; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
}

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static size_t pipe_buffered(const struct px_pipe *p)
{
    return evbuffer_get_length(bufferevent_get_output(p->a)) +
           evbuffer_get_length(bufferevent_get_input(p->a)) +
           evbuffer_get_length(bufferevent_get_output(p->b)) +
           evbuffer_get_length(bufferevent_get_input(p->b));
}

int main(void)
{
    struct event_base *base = event_base_new();
    int client[2], upstream[2]; /* [0] = gateway side, [1] = the peer */
    if (!base || socketpair(AF_UNIX, SOCK_STREAM, 0, client) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, upstream) != 0)
        return 2;
    for (int i = 0; i < 2; i++) {
        nonblock(client[i]);
        nonblock(upstream[i]);
    }
    struct bufferevent *a = bufferevent_socket_new(base, client[0], BEV_OPT_CLOSE_ON_FREE);
    struct bufferevent *b = bufferevent_socket_new(base, upstream[0], BEV_OPT_CLOSE_ON_FREE);
    /* Bytes the client sent right behind CONNECT, before the pipe exists. */
    if (write(client[1], "early", 5) != 5)
        return 2;
    struct px_pipe *p = px_pipe_new(base, a, b, 60000, on_done, NULL);
    CHECK(p != NULL);
    if (!p)
        return 2;

    /* 1. both directions, intact */
    char buf[65536];
    spin(base, 5);
    ssize_t n = read(upstream[1], buf, sizeof(buf));
    CHECK(n == 5 && memcmp(buf, "early", 5) == 0);
    CHECK(write(upstream[1], "pong", 4) == 4);
    spin(base, 5);
    n = read(client[1], buf, sizeof(buf));
    CHECK(n == 4 && memcmp(buf, "pong", 4) == 0);

    /* 2. backpressure: the upstream peer does not read while the client
     * writes 8 MiB; the gateway's buffers stay bounded. */
    const size_t total = 8u << 20;
    unsigned char *src = malloc(total);
    if (!src)
        return 2;
    for (size_t i = 0; i < total; i++)
        src[i] = (unsigned char)(i * 31 + (i >> 12));
    size_t sent = 0, peak = 0;
    for (int round = 0; round < 2000 && sent < total; round++) {
        ssize_t w = write(client[1], src + sent, total - sent < 65536 ? total - sent : 65536);
        if (w > 0)
            sent += (size_t)w;
        spin(base, 2);
        size_t held = pipe_buffered(p);
        if (held > peak)
            peak = held;
    }
    CHECK(sent < total); /* the writer was stopped: the pipe did not swallow it all */
    CHECK(peak <= PX_TUNNEL_WM + (1u << 20));
    /* now the peer reads everything; the rest flows and arrives intact */
    unsigned char *dst = malloc(total);
    if (!dst)
        return 2;
    size_t got = 0;
    for (int round = 0; round < 200000 && got < total; round++) {
        if (sent < total) {
            ssize_t w = write(client[1], src + sent, total - sent < 65536 ? total - sent : 65536);
            if (w > 0)
                sent += (size_t)w;
        }
        spin(base, 1);
        ssize_t r = read(upstream[1], dst + got, total - got < 65536 ? total - got : 65536);
        if (r > 0)
            got += (size_t)r;
    }
    CHECK(got == total && memcmp(src, dst, total) == 0);
    CHECK(p->a_to_b == total + 5);

    /* 3. half-close: client EOF reaches the upstream, data still flows back */
    shutdown(client[1], SHUT_WR);
    spin(base, 10);
    n = read(upstream[1], buf, sizeof(buf));
    CHECK(n == 0); /* EOF propagated */
    CHECK(done_calls == 0);
    CHECK(write(upstream[1], "tail", 4) == 4);
    spin(base, 10);
    n = read(client[1], buf, sizeof(buf));
    CHECK(n == 4 && memcmp(buf, "tail", 4) == 0);
    /* 4. upstream closes too: the pipe is done exactly once */
    close(upstream[1]);
    spin(base, 10);
    CHECK(done_calls == 1);
    CHECK(strcmp(done_why, "closed") == 0);
    spin(base, 10);
    CHECK(done_calls == 1);

    px_pipe_free(p);
    close(client[1]);
    free(src);
    free(dst);
    event_base_free(base);
    if (failures) {
        fprintf(stderr, "test_tunnel: %d failure(s)\n", failures);
        return 1;
    }
    puts("test_tunnel: ok");
    return 0;
}
