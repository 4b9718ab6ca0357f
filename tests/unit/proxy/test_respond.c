/* Unit tests for proxy/respond.c: JSON escaping (table of hostile inputs),
 * reason phrases, and the complete error response written by
 * px_respond_error: status line, exact content-length, decision header with a
 * rule id that cannot inject header lines, connection close/keep-alive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proxy/internal.h"

#include "../check.h"

static char *copy_str(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    /* A bufferevent's output has a frozen start (no remove/copyout): peek. */
    struct evbuffer_iovec v[64];
    int nv = evbuffer_peek(b, -1, NULL, v, 64);
    size_t off = 0;
    for (int i = 0; i < nv && i < 64; i++) {
        memcpy(s + off, v[i].iov_base, v[i].iov_len);
        off += v[i].iov_len;
    }
    if (off != n)
        abort();
    s[n] = '\0';
    return s;
}

static void test_json_escape(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } v[] = {
        {"plain", 5, "plain"},
        {"", 0, ""},
        {"a\"b", 3, "a\\\"b"},                    /* quote */
        {"back\\slash", 10, "back\\\\slash"},     /* backslash */
        {"l1\r\nl2", 6, "l1\\u000d\\u000al2"},    /* CR LF */
        {"nul\0x", 5, "nul\\u0000x"},             /* embedded NUL */
        {"tab\t", 4, "tab\\u0009"},
        {"\x7f", 1, "\\u007f"},                   /* DEL */
        {"\xc3\xa9", 2, "\\u00c3\\u00a9"},        /* non-ASCII bytes stay 7-bit */
        {"</script>", 9, "</script>"},
    };
    for (size_t i = 0; i < SGW_ARRAY_LEN(v); i++) {
        struct evbuffer *b = evbuffer_new();
        px_json_escape(b, v[i].in, v[i].len);
        char *got = copy_str(b);
        if (strcmp(got, v[i].want) != 0) {
            fprintf(stderr, "json_escape #%zu: got '%s' want '%s'\n", i, got, v[i].want);
            failures++;
        }
        free(got);
        evbuffer_free(b);
    }
}

static void test_reason_phrases(void)
{
    CHECK(strcmp(px_reason_phrase(403), "Forbidden") == 0);
    CHECK(strcmp(px_reason_phrase(413), "Content Too Large") == 0);
    CHECK(strcmp(px_reason_phrase(431), "Request Header Fields Too Large") == 0);
    CHECK(strcmp(px_reason_phrase(502), "Bad Gateway") == 0);
    CHECK(strcmp(px_reason_phrase(504), "Gateway Timeout") == 0);
    CHECK(strcmp(px_reason_phrase(299), "Unknown") == 0);
}

/* Writes an error response into a bufferevent, returns the bytes as a string. */
static char *render(struct event_base *base, int status, const char *rule, const char *reason,
                    int close)
{
    /* A socket bufferevent without a socket: output stays in its buffer. */
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    if (!bev)
        abort();
    px_respond_error(bev, status, "request denied by policy", "deny", rule, reason, close);
    char *s = copy_str(bufferevent_get_output(bev));
    bufferevent_free(bev);
    return s;
}

static void test_error_response(struct event_base *base)
{
    char *s = render(base, 403, "deny-\"x\"", "host \"evil\" is\nnot allowed", 1);
    CHECK(strncmp(s, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
    CHECK(strstr(s, "\r\ncontent-type: application/json\r\n") != NULL);
    CHECK(strstr(s, "\r\nconnection: close\r\n") != NULL);
    CHECK(strstr(s, "\r\nx-sovgw-decision: deny; rule=deny-\"x\"\r\n") != NULL);
    const char *body = strstr(s, "\r\n\r\n");
    CHECK(body != NULL);
    if (body) {
        body += 4;
        const char *cl = strstr(s, "content-length: ");
        CHECK(cl != NULL);
        uint64_t n = 0;
        if (cl) {
            cl += 16;
            size_t k = strcspn(cl, "\r");
            CHECK(sgw_parse_u64(cl, k, 1u << 20, &n) == SGW_OK);
        }
        CHECK(n == strlen(body));
        CHECK(strcmp(body, "{\"error\":\"request denied by policy\",\"rule\":\"deny-\\\"x\\\"\","
                           "\"reason\":\"host \\\"evil\\\" is\\u000anot allowed\"}\n") == 0);
    }
    free(s);

    /* A rule id trying to inject a header line is flattened. */
    s = render(base, 403, "r1\r\nSet-Cookie: a=b", "", 0);
    CHECK(strstr(s, "\r\nSet-Cookie") == NULL);
    CHECK(strstr(s, "x-sovgw-decision: deny; rule=r1Set-Cookie:a=b\r\n") != NULL);
    CHECK(strstr(s, "\r\nconnection: keep-alive\r\n") != NULL);
    free(s);

    /* Empty rule becomes "none" in header and body. */
    s = render(base, 400, "", NULL, 1);
    CHECK(strncmp(s, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    CHECK(strstr(s, "x-sovgw-decision: deny; rule=none\r\n") != NULL);
    CHECK(strstr(s, "\"rule\":\"none\",\"reason\":\"\"}") != NULL);
    free(s);
}

int main(void)
{
    struct event_base *base = event_base_new();
    if (!base)
        return 2;
    test_json_escape();
    test_reason_phrases();
    test_error_response(base);
    event_base_free(base);
    if (failures) {
        fprintf(stderr, "test_respond: %d failure(s)\n", failures);
        return 1;
    }
    puts("test_respond: ok");
    return 0;
}
