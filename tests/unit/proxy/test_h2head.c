/* Unit tests for px_h2d_build_request (proxy/h2down.c): the decoded header
 * fields of an HTTP/2 stream become the request the proxy decides on and
 * forwards, with the meaning of an absolute-form HTTP/1.1 request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/internal.h"

#include "../check.h"

struct field {
    const char *name, *value;
};

static struct px_req *req_new(const struct field *f, size_t n)
{
    struct px_req *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->d_in = evbuffer_new();
    if (!r->d_in)
        abort();
    for (size_t i = 0; i < n; i++) {
        uint32_t lens[2] = {(uint32_t)strlen(f[i].name), (uint32_t)strlen(f[i].value)};
        evbuffer_add(r->d_in, lens, sizeof(lens));
        evbuffer_add(r->d_in, f[i].name, lens[0]);
        evbuffer_add(r->d_in, f[i].value, lens[1]);
    }
    return r;
}

static void req_free(struct px_req *r)
{
    free(r->head);
    evbuffer_free(r->d_in);
    free(r);
}

static int slice_is(struct sgw_slice s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* The value of the forwarded field name, or NULL; *count = how many. */
static const struct px_h1_header *field(const struct px_req *r, const char *name, int *count)
{
    const struct px_h1_header *hit = NULL;
    int k = 0;
    for (size_t i = 0; i < r->msg.n_headers; i++)
        if (slice_is(r->msg.headers[i].name, name)) {
            hit = hit ? hit : &r->msg.headers[i];
            k++;
        }
    if (count)
        *count = k;
    return hit;
}

#define BUILD(r, fields, end) \
    ((r) = req_new((fields), sizeof(fields) / sizeof((fields)[0])), px_h2d_build_request((r), (end)))

static void test_get(void)
{
    static const struct field f[] = {
        {":method", "GET"},      {":scheme", "http"},  {":authority", "Api.Example.COM:8080"},
        {":path", "/v1/x?y=z"}, {"user-agent", "t/1"}, {"accept", "*/*"},
    };
    struct px_req *r;
    const char *why = BUILD(r, f, 1);
    CHECK(why == NULL);
    CHECK(strcmp(r->method, "GET") == 0);
    CHECK(strcmp(r->host, "api.example.com") == 0); /* lowercased for the policy */
    CHECK(r->port == 8080 && r->tls == 0 && !r->is_connect);
    CHECK(slice_is(r->msg.path, "/v1/x?y=z"));
    CHECK(r->msg.body == PX_H1_BODY_NONE);
    int n = 0;
    const struct px_h1_header *h = field(r, "host", &n);
    CHECK(n == 1 && h && slice_is(h->value, "Api.Example.COM:8080")); /* Host = :authority */
    CHECK(field(r, "user-agent", NULL) && field(r, "accept", NULL));
    CHECK(r->msg.n_headers == 3);
    for (size_t i = 0; i < r->msg.n_headers; i++)
        CHECK(r->msg.headers[i].name.ptr[0] != ':'); /* pseudo-fields never forwarded */
    req_free(r);
}

static void test_defaults_and_bodies(void)
{
    static const struct field https[] = {
        {":method", "POST"}, {":scheme", "https"}, {":authority", "h.example"},
        {":path", "/"},      {"content-length", "12"},
    };
    struct px_req *r;
    CHECK(BUILD(r, https, 0) == NULL);
    CHECK(r->tls == 1 && r->port == 443);
    CHECK(r->msg.body == PX_H1_BODY_LENGTH && r->msg.content_length == 12);
    req_free(r);

    static const struct field nolen[] = {
        {":method", "PUT"}, {":scheme", "http"}, {":authority", "[2001:db8::1]"}, {":path", "/u"},
    };
    CHECK(BUILD(r, nolen, 0) == NULL);
    CHECK(r->port == 80 && strcmp(r->host, "2001:db8::1") == 0);
    CHECK(r->msg.body == PX_H1_BODY_CHUNKED); /* no length: chunked toward HTTP/1.1 */
    req_free(r);
    CHECK(BUILD(r, nolen, 1) == NULL);
    CHECK(r->msg.body == PX_H1_BODY_NONE); /* END_STREAM on HEADERS */
    req_free(r);
}

static void test_host_field_and_cookies(void)
{
    static const struct field hostonly[] = {
        {":method", "GET"}, {":scheme", "http"}, {":path", "/"},       {"cookie", "a=1"},
        {"accept", "*/*"},  {"cookie", "b=2"},   {"host", "h.example:81"}, {"cookie", "c=3"},
    };
    struct px_req *r;
    CHECK(BUILD(r, hostonly, 1) == NULL);
    CHECK(strcmp(r->host, "h.example") == 0 && r->port == 81);
    int n = 0;
    const struct px_h1_header *c = field(r, "cookie", &n);
    CHECK(n == 1 && c && slice_is(c->value, "a=1; b=2; c=3")); /* RFC 9113 8.2.3 */
    CHECK(field(r, "host", &n) && n == 1);
    req_free(r);
}

static void test_refused(void)
{
    static const struct {
        struct field f[6];
        size_t n;
    } bad[] = {
        {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}}, 3},           /* no authority */
        {{{":method", "GET"}, {":scheme", "ftp"}, {":authority", "h"}, {":path", "/"}}, 4},
        {{{":method", "GET"}, {":scheme", "http"}, {":authority", "u@h"}, {":path", "/"}}, 4},
        {{{":method", "GET"}, {":scheme", "http"}, {":authority", "h:0"}, {":path", "/"}}, 4},
        {{{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "*"}}, 4},
        {{{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/#f"}}, 4},
        {{{":method", "GET"}, {":scheme", "http"}, {":authority", "a.example"}, {":path", "/"},
          {"host", "b.example"}}, 5},                                             /* disagree */
        {{{":method", "POST"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"},
          {"content-length", "1"}, {"content-length", "2"}}, 6},
        {{{":method", "POST"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"},
          {"content-length", "-1"}}, 5},
        {{{":method", "G T"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}}, 4},
        {{{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"},
          {":protocol", "websocket"}}, 5},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct px_req *r = req_new(bad[i].f, bad[i].n);
        const char *why = px_h2d_build_request(r, 1);
        if (!why)
            fprintf(stderr, "refused case %zu was accepted\n", i);
        CHECK(why != NULL && why[0] != '\0');
        req_free(r);
    }
    /* CONNECT (RFC 9113 8.5): :authority host:port only. */
    static const struct field conn[] = {{":method", "CONNECT"}, {":authority", "H.Example:8443"}};
    struct px_req *r;
    CHECK(BUILD(r, conn, 0) == NULL);
    CHECK(r->is_connect == 1 && strcmp(r->host, "h.example") == 0 && r->port == 8443);
    CHECK(r->msg.body == PX_H1_BODY_NONE); /* tunnel bytes are not a request body */
    req_free(r);
    static const struct field noport[] = {{":method", "CONNECT"}, {":authority", "h.example"}};
    CHECK(BUILD(r, noport, 0) != NULL);
    req_free(r);
    static const struct field withpath[] = {
        {":method", "CONNECT"}, {":authority", "h.example:443"}, {":path", "/"}};
    CHECK(BUILD(r, withpath, 0) != NULL);
    req_free(r);
}

int main(void)
{
    test_get();
    test_defaults_and_bodies();
    test_host_field_and_cookies();
    test_refused();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    puts("test_h2head: ok");
    return 0;
}
