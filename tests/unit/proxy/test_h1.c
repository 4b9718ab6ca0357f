/* Unit tests for proxy/h1.c: the strict HTTP/1.1 head parser and the chunked
 * decoder. Vectors are tables; every bound is tested at N-1, N, N+1; every
 * valid head is also cut at every prefix length (must be SGW_AGAIN) and every
 * chunked body is fed byte by byte and in random splits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/h1.h"

#include "../check.h"
#define CHECKV(c, name)                                                                 \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, name, \
                    #c);                                                                \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

/* String literal with its exact length (vectors may hold NUL bytes). */
#define S(lit) lit, sizeof(lit) - 1

static struct px_h1_message msg; /* large: keep it off the stack */

static int slice_is(struct sgw_slice s, const char *lit)
{
    return s.len == strlen(lit) && (s.len == 0 || memcmp(s.ptr, lit, s.len) == 0);
}

static int parse_req(const char *raw, size_t len, size_t *head_len, const char **why)
{
    struct px_h1_limits lim;
    px_h1_limits_default(&lim);
    *why = NULL;
    return px_h1_parse_request(raw, len, &lim, &msg, head_len, why);
}

/* Every strict prefix of a complete, valid head must be SGW_AGAIN: never an
 * error, never a premature OK. */
static void check_prefixes_again(const char *raw, size_t head_len, int response,
                                 const char *name)
{
    struct px_h1_limits lim;
    px_h1_limits_default(&lim);
    for (size_t n = 0; n < head_len; n++) {
        size_t hl = 0;
        const char *why = NULL;
        int rc = response ? px_h1_parse_response(raw, n, &lim, sgw_slice_make("GET", 3), &msg,
                                                 &hl, &why)
                          : px_h1_parse_request(raw, n, &lim, &msg, &hl, &why);
        if (rc != SGW_AGAIN) {
            fprintf(stderr, "[%s] prefix %zu: rc %d (%s)\n", name, n, rc, why ? why : "-");
            failures++;
            return;
        }
    }
}

/* ---- valid requests ----------------------------------------------------- */

static void test_valid_requests(void)
{
    size_t hl = 0;
    const char *why;

    /* origin-form GET, host and port from Host, trailing body bytes not consumed */
    static const char r1[] = "GET /a/b?x=1&y=%2F HTTP/1.1\r\nHost: Example.COM:8080\r\n"
                             "Accept: */*\r\n\r\nNEXT";
    CHECK(parse_req(S(r1), &hl, &why) == SGW_OK);
    CHECK(hl == sizeof r1 - 1 - 4);
    CHECK(slice_is(msg.method, "GET"));
    CHECK(msg.form == PX_H1_TARGET_ORIGIN);
    CHECK(slice_is(msg.path, "/a/b?x=1&y=%2F")); /* percent-encoding untouched */
    CHECK(slice_is(msg.host, "Example.COM"));    /* original bytes kept */
    CHECK(msg.port == 8080);
    CHECK(msg.version_minor == 1 && msg.keep_alive == 1);
    CHECK(msg.body == PX_H1_BODY_NONE && msg.n_headers == 2);
    CHECK(slice_is(msg.headers[1].name, "Accept") && slice_is(msg.headers[1].value, "*/*"));
    check_prefixes_again(r1, hl, 0, "r1");

    /* origin-form, Host without port: port unknown (0) */
    static const char r2[] = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
    CHECK(parse_req(S(r2), &hl, &why) == SGW_OK && msg.port == 0);
    CHECK(slice_is(msg.host, "a.example"));

    /* absolute-form with port, Host agrees (case-insensitively) */
    static const char r3[] = "POST http://S3.amazonaws.com:8080/bucket/key?acl HTTP/1.1\r\n"
                             "Host: s3.AMAZONAWS.com:8080\r\nContent-Length: 5\r\n\r\nhello";
    CHECK(parse_req(S(r3), &hl, &why) == SGW_OK);
    CHECK(msg.form == PX_H1_TARGET_ABSOLUTE && slice_is(msg.scheme, "http"));
    CHECK(slice_is(msg.host, "S3.amazonaws.com") && msg.port == 8080);
    CHECK(slice_is(msg.path, "/bucket/key?acl"));
    CHECK(msg.body == PX_H1_BODY_LENGTH && msg.content_length == 5);
    CHECK(hl == sizeof r3 - 1 - 5);
    check_prefixes_again(r3, hl, 0, "r3");

    /* absolute-form https, default port 443, Host with explicit :443 agrees */
    static const char r4[] = "GET https://kms.eu-west-1.amazonaws.com HTTP/1.1\r\n"
                             "Host: kms.eu-west-1.amazonaws.com:443\r\n\r\n";
    CHECK(parse_req(S(r4), &hl, &why) == SGW_OK);
    CHECK(msg.port == 443 && slice_is(msg.path, "/") && slice_is(msg.scheme, "https"));

    /* absolute-form with an IPv6 literal: host without brackets */
    static const char r5[] = "GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n";
    CHECK(parse_req(S(r5), &hl, &why) == SGW_OK);
    CHECK(slice_is(msg.host, "::1") && msg.port == 8080);

    /* absolute-form http, Host without port means 80 */
    static const char r5b[] = "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n";
    CHECK(parse_req(S(r5b), &hl, &why) == SGW_OK && msg.port == 80);

    /* CONNECT authority-form */
    static const char r6[] = "CONNECT sts.amazonaws.com:443 HTTP/1.1\r\n"
                             "Host: sts.amazonaws.com:443\r\nProxy-Connection: keep-alive\r\n\r\n";
    CHECK(parse_req(S(r6), &hl, &why) == SGW_OK);
    CHECK(msg.form == PX_H1_TARGET_AUTHORITY && slice_is(msg.host, "sts.amazonaws.com"));
    CHECK(msg.port == 443 && msg.path.len == 0 && msg.body == PX_H1_BODY_NONE);
    check_prefixes_again(r6, hl, 0, "r6");

    /* CONNECT to an IPv6 literal */
    static const char r6b[] = "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n";
    CHECK(parse_req(S(r6b), &hl, &why) == SGW_OK && slice_is(msg.host, "2001:db8::1"));

    /* OPTIONS asterisk-form */
    static const char r7[] = "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n";
    CHECK(parse_req(S(r7), &hl, &why) == SGW_OK && msg.form == PX_H1_TARGET_ASTERISK);

    /* HTTP/1.0 without Host; no keep-alive by default */
    static const char r8[] = "GET / HTTP/1.0\r\n\r\n";
    CHECK(parse_req(S(r8), &hl, &why) == SGW_OK);
    CHECK(msg.version_minor == 0 && msg.keep_alive == 0 && msg.host.len == 0);

    /* HTTP/1.0 keep-alive token (case-insensitive, in a list) */
    static const char r9[] = "GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n";
    CHECK(parse_req(S(r9), &hl, &why) == SGW_OK && msg.keep_alive == 1);

    /* HTTP/1.1 Connection: close among other tokens */
    static const char r10[] = "GET / HTTP/1.1\r\nHost: a\r\nConnection: TE,  CLOSE \r\n\r\n";
    CHECK(parse_req(S(r10), &hl, &why) == SGW_OK && msg.keep_alive == 0);

    /* chunked in mixed case, OWS trimmed */
    static const char r11[] = "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \t ChUnKeD \r\n"
                              "\r\n";
    CHECK(parse_req(S(r11), &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_CHUNKED);
    check_prefixes_again(r11, hl, 0, "r11");

    /* CL: 0 is a (zero) length body */
    static const char r12[] = "POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 0\r\n\r\n";
    CHECK(parse_req(S(r12), &hl, &why) == SGW_OK);
    CHECK(msg.body == PX_H1_BODY_LENGTH && msg.content_length == 0);

    /* Expect: 100-continue (case-insensitive), Upgrade flagged */
    static const char r13[] = "PUT /k HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
                              "Upgrade: websocket\r\nContent-Length: 10\r\n\r\n";
    CHECK(parse_req(S(r13), &hl, &why) == SGW_OK);
    CHECK(msg.expect_continue == 1 && msg.upgrade == 1);

    /* empty header value, obs-text in a value (allowed), OWS stripped */
    static const char r14[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Utf8: caf\xc3\xa9  \r\n"
                              "\r\n";
    CHECK(parse_req(S(r14), &hl, &why) == SGW_OK);
    const struct px_h1_header *h = px_h1_header_find(&msg, "x-EMPTY");
    CHECK(h && h->value.len == 0);
    h = px_h1_header_find(&msg, "x-utf8");
    CHECK(h && slice_is(h->value, "caf\xc3\xa9"));
    CHECK(px_h1_header_find(&msg, "x-utf") == NULL);
    CHECK(px_h1_header_find(&msg, "absent") == NULL);

    /* huge-but-valid Content-Length 2^62 */
    static const char r15[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n"
                              "\r\n";
    CHECK(parse_req(S(r15), &hl, &why) == SGW_OK && msg.content_length == ((uint64_t)1 << 62));

    /* trailing-dot FQDN and an IPv4 host */
    static const char r16[] = "GET http://10.0.0.1:81/ HTTP/1.1\r\nHost: 10.0.0.1:81\r\n\r\n";
    CHECK(parse_req(S(r16), &hl, &why) == SGW_OK && msg.port == 81);
    static const char r17[] = "GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n";
    CHECK(parse_req(S(r17), &hl, &why) == SGW_OK && slice_is(msg.host, "example.com."));

    /* absolute-form OPTIONS without a path targets the server: path "*" */
    static const char r18[] = "OPTIONS http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n";
    CHECK(parse_req(S(r18), &hl, &why) == SGW_OK && slice_is(msg.path, "*"));

    /* Expect: 100-continue is ignored in HTTP/1.0 (RFC 9110 §10.1.1) */
    static const char r19[] = "PUT /k HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
    CHECK(parse_req(S(r19), &hl, &why) == SGW_OK && msg.expect_continue == 0);

    /* encoded NUL / CRLF in the target are passed through, never decoded */
    static const char r20[] = "GET /a%00b%0d%0A HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(parse_req(S(r20), &hl, &why) == SGW_OK && slice_is(msg.path, "/a%00b%0d%0A"));

    /* every valid head above, cut at every prefix length, is AGAIN */
    const char *const all[] = {r2, r4, r5, r5b, r6b, r7, r8, r9, r10, r12, r13, r14, r15,
                               r16, r17, r18, r19, r20};
    for (size_t k = 0; k < SGW_ARRAY_LEN(all); k++) {
        CHECK(parse_req(all[k], strlen(all[k]), &hl, &why) == SGW_OK);
        check_prefixes_again(all[k], hl, 0, "all");
    }

    /* NULL limits mean the defaults */
    CHECK(px_h1_parse_request(S(r2), NULL, &msg, &hl, &why) == SGW_OK);
}

/* ---- malformed and malicious requests ---------------------------------- */

struct bad_vec {
    const char *name; /* what the vector is */
    const char *raw;
    size_t len;
    int rc;
    const char *reason; /* substring expected in *reason */
};

#define H "Host: a\r\n"
static const struct bad_vec bad_requests[] = {
    /* CL.TE: both framings present */
    {"CL.TE", S("POST / HTTP/1.1\r\n" H "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"),
     SGW_EPROTO, "both Content-Length and Transfer-Encoding"},
    /* TE.CL order */
    {"TE.CL", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
     SGW_EPROTO, "both"},
    /* TE with a leading space on the line = obs-fold / hidden header */
    {"TE leading space", S("POST / HTTP/1.1\r\n" H " Transfer-Encoding: chunked\r\n\r\n"),
     SGW_EPROTO, "obs-fold"},
    /* space before the colon */
    {"TE space before colon", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\n\r\n"),
     SGW_EPROTO, "whitespace between header name and colon"},
    {"CL space before colon", S("POST / HTTP/1.1\r\n" H "Content-Length : 3\r\n\r\n"),
     SGW_EPROTO, "whitespace between"},
    /* tab before colon */
    {"TE tab before colon", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding\t: chunked\r\n\r\n"),
     SGW_EPROTO, "whitespace between"},
    /* xchunked is not chunked */
    {"TE xchunked", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n"), SGW_EPROTO,
     "unsupported transfer coding"},
    {"TE chunk", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunk\r\n\r\n"), SGW_EPROTO,
     "unsupported"},
    {"TE quoted", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \"chunked\"\r\n\r\n"), SGW_EPROTO,
     "unsupported"},
    {"TE identity", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n"), SGW_EPROTO,
     "unsupported"},
    /* chunked not last */
    {"TE chunked, gzip", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n"),
     SGW_EPROTO, "not the final"},
    /* unknown coding before chunked */
    {"TE gzip, chunked", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n"),
     SGW_EPROTO, "unsupported transfer coding"},
    {"TE chunked, chunked", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n"),
     SGW_EPROTO, "more than once"},
    {"TE leading comma", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: ,chunked\r\n\r\n"),
     SGW_EPROTO, "empty transfer coding"},
    {"TE trailing comma", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked,\r\n\r\n"),
     SGW_EPROTO, "empty transfer coding"},
    {"TE empty", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \r\n\r\n"), SGW_EPROTO,
     "empty transfer coding"},
    /* two TE headers (revdualchunk and plain duplicates) */
    {"TE duplicate", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"),
     SGW_EPROTO, "multiple Transfer-Encoding"},
    {"TE cow then chunked", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: cow\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"),
     SGW_EPROTO, "unsupported"},
    /* TE with vertical tab, form feed, NUL, 0xA0, 0x85 around the value */
    {"TE VT", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding:\x0b" "chunked\r\n\r\n"), SGW_EPROTO,
     "control character"},
    {"TE FF", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\x0c\r\n\r\n"), SGW_EPROTO,
     "control character"},
    {"TE NUL", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\0\r\n\r\n"), SGW_EPROTO,
     "NUL"},
    {"TE nbsp", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \xa0" "chunked\r\n\r\n"), SGW_EPROTO,
     "unsupported"},
    {"TE 0x85", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: ch\x85nked\r\n\r\n"), SGW_EPROTO,
     "unsupported"},
    /* TE in HTTP/1.0 */
    {"TE HTTP/1.0", S("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), SGW_EPROTO,
     "HTTP/1.0"},
    /* TE obs-fold */
    {"TE line-wrapped", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding:\r\n chunked\r\n\r\n"),
     SGW_EPROTO, "empty transfer coding"},
    {"TE obs-fold", S("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n , identity\r\n"
                      "\r\n"),
     SGW_EPROTO, "obs-fold"},
    /* Transfer_Encoding (underscore) and Transfer Encoding (space) */
    {"TE underscore", S("POST / HTTP/1.1\r\n" H "Transfer_Encoding: chunked\r\n\r\n"), SGW_EPROTO,
     "underscore"},
    {"header name with space", S("POST / HTTP/1.1\r\n" H "Transfer Encoding: chunked\r\n\r\n"),
     SGW_EPROTO, "whitespace between"},
    /* high byte in a header name */
    {"name 0x82", S("GET / HTTP/1.1\r\n" H "Transf\x82r-Encoding: chunked\r\n\r\n"), SGW_EPROTO,
     "invalid character in header name"},
    {"name 0x85", S("GET / HTTP/1.1\r\n" H "Header\x85: value\r\n\r\n"), SGW_EPROTO,
     "invalid character in header name"},
    /* CR tricks */
    {"CR in name", S("GET / HTTP/1.1\r\n" H "Transfer\r-Encoding: chunked\r\n\r\n"), SGW_EPROTO,
     "bare CR"},
    {"bare CR in value", S("GET / HTTP/1.1\r\n" H "X: X\rTransfer-Encoding: chunked\r\n\r\n"),
     SGW_EPROTO, "bare CR"},
    {"bare LF in value", S("GET / HTTP/1.1\r\n" H "X: X\nTransfer-Encoding: chunked\r\n\r\n"),
     SGW_EPROTO, "bare LF"},
    {"bare LF line endings", S("GET / HTTP/1.1\nHost: a\n\n"), SGW_EPROTO, "bare LF"},
    {"bare LF final line", S("GET / HTTP/1.1\r\n" H "\n"), SGW_EPROTO, "bare LF"},
    {"CR-only line endings", S("GET / HTTP/1.1\rHost: a\r\r"), SGW_EPROTO, "bare CR"},
    {"head ends CRLF CR X", S("GET / HTTP/1.1\r\n" H "\rX"), SGW_EPROTO, "bare CR"},
    /* NUL smuggled into values (Host truncation) */
    {"NUL in Host", S("GET / HTTP/1.1\r\nHost: google.com\0.kallus.org\r\n\r\n"), SGW_EPROTO, "NUL"},
    {"NUL in target", S("GET /a\0b HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "NUL"},
    {"DEL in value", S("GET / HTTP/1.1\r\n" H "X: a\x7f" "b\r\n\r\n"), SGW_EPROTO,
     "control character"},
    /* Content-Length variants */
    {"CL duplicate differing", S("POST / HTTP/1.1\r\n" H "Content-Length: 0\r\n"
                                 "Content-Length: 31\r\n\r\n"),
     SGW_EPROTO, "multiple Content-Length"},
    {"CL duplicate identical", S("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\n"
                                 "Content-Length: 5\r\n\r\n"),
     SGW_EPROTO, "multiple Content-Length"},
    {"CL list identical", S("POST / HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL list differing", S("POST / HTTP/1.1\r\n" H "Content-Length: 5, 6\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL plus", S("POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL negative", S("POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL hex", S("POST / HTTP/1.1\r\n" H "Content-Length: 0x10\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL leading zero", S("POST / HTTP/1.1\r\n" H "Content-Length: 05\r\n\r\n"), SGW_EPROTO,
     "leading zero"},
    {"CL double zero", S("POST / HTTP/1.1\r\n" H "Content-Length: 00\r\n\r\n"), SGW_EPROTO,
     "leading zero"},
    {"CL negative zero", S("POST / HTTP/1.1\r\n" H "Content-Length: -0\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL comma triple", S("POST / HTTP/1.1\r\n" H "Content-Length: 5,5,5\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL internal space", S("POST / HTTP/1.1\r\n" H "Content-Length: 5 5\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL underscore", S("POST / HTTP/1.1\r\n" H "Content-Length: 5_0\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL exponent", S("POST / HTTP/1.1\r\n" H "Content-Length: 1e3\r\n\r\n"), SGW_EPROTO,
     "invalid Content-Length"},
    {"CL empty", S("POST / HTTP/1.1\r\n" H "Content-Length: \r\n\r\n"), SGW_EPROTO,
     "empty Content-Length"},
    {"CL empty then CL", S("POST / HTTP/1.1\r\n" H "Content-Length:\r\nContent-Length: 59\r\n\r\n"),
     SGW_EPROTO, "empty Content-Length"},
    {"CL overflow", S("POST / HTTP/1.1\r\n" H "Content-Length: 18446744073709551616\r\n\r\n"),
     SGW_EPROTO, "too large"},
    {"CL 2^62+1", S("POST / HTTP/1.1\r\n" H "Content-Length: 4611686018427387905\r\n\r\n"),
     SGW_EPROTO, "too large"},
    /* header lines without colon, empty name */
    {"no colon", S("GET / HTTP/1.1\r\n" H "Te\r\nst: test\r\n\r\n"), SGW_EPROTO, "without a colon"},
    {"empty name", S("GET / HTTP/1.1\r\n" H ": v\r\n\r\n"), SGW_EPROTO, "empty header name"},
    {"obs-fold", S("GET / HTTP/1.1\r\n" H "X-A: 1\r\n\t2\r\n\r\n"), SGW_EPROTO, "obs-fold"},
    {"space before first header", S("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), SGW_EPROTO,
     "whitespace before the first header"},
    /* request line */
    {"two spaces", S("GET  / HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "invalid request-target"},
    {"tab separator", S("GET\t/ HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "control character"},
    {"HTTP/1.10", S("GET / HTTP/1.10\r\n" H "\r\n"), SGW_EPROTO, "unsupported HTTP version"},
    {"HTTP/1.1 trailing SP", S("GET / HTTP/1.1 \r\n" H "\r\n"), SGW_EPROTO, "unsupported HTTP"},
    {"HTTP/2.0", S("GET / HTTP/2.0\r\n" H "\r\n"), SGW_EPROTO, "unsupported HTTP version"},
    {"HTTP/0.9 style", S("GET /\r\n\r\n"), SGW_EPROTO, "malformed request line"},
    {"lowercase http", S("GET / http/1.1\r\n" H "\r\n"), SGW_EPROTO, "unsupported HTTP version"},
    {"h2 preface", S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), SGW_EPROTO, "unsupported HTTP version"},
    {"leading CRLF", S("\r\nGET / HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "empty request line"},
    {"method with slash", S("GE/T / HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "invalid method"},
    {"binary garbage", S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), SGW_EPROTO,
     "control character"},
    /* Host */
    {"missing Host", S("GET / HTTP/1.1\r\n\r\n"), SGW_EPROTO, "missing Host"},
    {"two Hosts", S("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), SGW_EPROTO, "multiple Host"},
    {"Host list", S("GET / HTTP/1.1\r\nHost: a.com, b.com\r\n\r\n"), SGW_EPROTO,
     "invalid Host"},
    {"Host userinfo", S("GET / HTTP/1.1\r\nHost: user@a.com\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host path", S("GET / HTTP/1.1\r\nHost: a.com/x\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host empty", S("GET / HTTP/1.1\r\nHost:\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host port 0", S("GET / HTTP/1.1\r\nHost: a:0\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host port 65536", S("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host port empty", S("GET / HTTP/1.1\r\nHost: a:\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host port sign", S("GET / HTTP/1.1\r\nHost: a:-80\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host double dot", S("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host leading dot", S("GET / HTTP/1.1\r\nHost: .a.com\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host empty label at end", S("GET / HTTP/1.1\r\nHost: a.com..\r\n\r\n"), SGW_EPROTO,
     "invalid Host"},
    {"Host percent", S("GET / HTTP/1.1\r\nHost: a%2eb\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host bad IPv6", S("GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n"), SGW_EPROTO, "invalid Host"},
    {"Host IPv6 two ::", S("GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n"), SGW_EPROTO,
     "invalid Host"},
    {"Host IPv6 no brackets", S("GET / HTTP/1.1\r\nHost: ::1\r\n\r\n"), SGW_EPROTO,
     "invalid Host"},
    {"Host IPv6 zone", S("GET / HTTP/1.1\r\nHost: [fe80::1%eth0]\r\n\r\n"), SGW_EPROTO,
     "invalid Host"},
    /* absolute-form vs Host */
    {"absolute host mismatch", S("GET http://a.com/ HTTP/1.1\r\nHost: b.com\r\n\r\n"), SGW_EPROTO,
     "does not match"},
    {"absolute port mismatch", S("GET http://a.com:8080/ HTTP/1.1\r\nHost: a.com\r\n\r\n"),
     SGW_EPROTO, "does not match"},
    {"absolute default port mismatch", S("GET https://a.com/ HTTP/1.1\r\nHost: a.com:80\r\n\r\n"),
     SGW_EPROTO, "does not match"},
    {"absolute userinfo", S("GET http://u:p@a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n"), SGW_EPROTO,
     "userinfo"},
    {"absolute userinfo confusion", S("GET http://a.com@evil.com/ HTTP/1.1\r\nHost: evil.com\r\n"
                                      "\r\n"),
     SGW_EPROTO, "userinfo"},
    {"absolute ftp", S("GET ftp://a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n"), SGW_EPROTO,
     "unsupported scheme"},
    {"absolute port range", S("GET http://a.com:99999/ HTTP/1.1\r\nHost: a.com:99999\r\n\r\n"),
     SGW_EPROTO, "invalid port"},
    {"absolute empty host", S("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), SGW_EPROTO,
     "empty host"},
    {"absolute fragment", S("GET http://a.com/x#y HTTP/1.1\r\nHost: a.com\r\n\r\n"), SGW_EPROTO,
     "fragment"},
    {"absolute no path with query", S("GET http://a.com?x HTTP/1.1\r\nHost: a.com\r\n\r\n"),
     SGW_EPROTO, "no path"},
    {"not a target", S("GET a.com/x HTTP/1.1\r\nHost: a.com\r\n\r\n"), SGW_EPROTO,
     "invalid request-target"},
    /* target forms by method */
    {"authority form for GET", S("GET a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n"), SGW_EPROTO,
     "invalid request-target"},
    {"CONNECT origin form", S("CONNECT / HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "empty host"},
    {"CONNECT without port", S("CONNECT a.com HTTP/1.1\r\nHost: a.com\r\n\r\n"), SGW_EPROTO,
     "without a port"},
    {"CONNECT Host mismatch", S("CONNECT a.com:443 HTTP/1.1\r\nHost: b.com:443\r\n\r\n"),
     SGW_EPROTO, "does not match"},
    {"CONNECT userinfo", S("CONNECT u@a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n"), SGW_EPROTO,
     "userinfo"},
    {"asterisk for GET", S("GET * HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "only valid for OPTIONS"},
    /* target characters */
    {"bad percent", S("GET /a%2 HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "percent-encoding"},
    {"bad percent hex", S("GET /a%zz HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "percent-encoding"},
    {"backslash in path", S("GET /a\\b HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "invalid character"},
    {"high byte in target", S("GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO,
     "invalid request-target"},
    {"fragment in origin form", S("GET /a#b HTTP/1.1\r\n" H "\r\n"), SGW_EPROTO, "fragment"},
    /* Expect */
    {"Expect obfuscated", S("POST / HTTP/1.1\r\n" H "Expect: y 100-continue\r\n\r\n"), SGW_EPROTO,
     "unsupported Expect"},
    {"Expect twice", S("POST / HTTP/1.1\r\n" H "Expect: 100-continue\r\n"
                       "Expect: 100-continue\r\n\r\n"),
     SGW_EPROTO, "multiple Expect"},
    /* Connection with a non-token */
    {"Connection garbage", S("GET / HTTP/1.1\r\n" H "Connection: clo\"se\r\n\r\n"), SGW_EPROTO,
     "invalid Connection"},
};
#undef H

static void test_bad_requests(void)
{
    size_t count = SGW_ARRAY_LEN(bad_requests);
    CHECK(count >= 40);
    for (size_t i = 0; i < count; i++) {
        const struct bad_vec *v = &bad_requests[i];
        size_t hl = 0;
        const char *why = NULL;
        int rc = parse_req(v->raw, v->len, &hl, &why);
        CHECKV(rc == v->rc, v->name);
        CHECKV(why != NULL && strstr(why, v->reason) != NULL, v->name);
        if (rc != v->rc || !why || !strstr(why, v->reason))
            fprintf(stderr, "  [%s] got rc %d reason '%s'\n", v->name, rc, why ? why : "(null)");
    }
}

/* ---- limits at N-1, N, N+1 --------------------------------------------- */

/* "GET /aaa…a HTTP/1.1\r\n" of exactly line_len bytes, then "Host: a\r\n\r\n". */
static size_t build_line(char *buf, size_t line_len)
{
    size_t fixed = strlen("GET / HTTP/1.1\r\n");
    size_t pad = line_len - fixed;
    size_t o = 0;
    memcpy(buf, "GET /", 5);
    o = 5;
    memset(buf + o, 'a', pad);
    o += pad;
    memcpy(buf + o, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
    return o + 22;
}

static void test_limits(void)
{
    static char buf[4096];
    struct px_h1_limits lim;
    size_t hl;
    const char *why;

    /* request line: N-1 and N pass, N+1 is "request line too long" */
    px_h1_limits_default(&lim);
    lim.max_request_line = 64;
    for (size_t n = 63; n <= 65; n++) {
        size_t len = build_line(buf, n);
        why = NULL;
        int rc = px_h1_parse_request(buf, len, &lim, &msg, &hl, &why);
        if (n <= 64) {
            CHECK(rc == SGW_OK && hl == len);
        } else {
            CHECK(rc == SGW_ELIMIT && why && strstr(why, "request line too long"));
        }
        /* the unfinished line (no LF yet): AGAIN only while under the limit */
        rc = px_h1_parse_request(buf, n - 1, &lim, &msg, &hl, &why);
        if (n - 1 < 64)
            CHECK(rc == SGW_AGAIN);
        else
            CHECK(rc == SGW_ELIMIT && strstr(why, "request line too long"));
    }
    /* 64 bytes of a line whose LF is still missing cannot fit: ELIMIT now */
    CHECK(px_h1_parse_request("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64,
                              &lim, &msg, &hl, &why) == SGW_ELIMIT);
    CHECK(px_h1_parse_request("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 63,
                              &lim, &msg, &hl, &why) == SGW_AGAIN);

    /* whole head: exactly max_head passes, one more byte is ELIMIT */
    px_h1_limits_default(&lim);
    lim.max_head = 200;
    for (size_t n = 199; n <= 201; n++) {
        /* "GET / HTTP/1.1\r\nHost: a\r\nX: vvv…\r\n\r\n" of n bytes */
        const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
        size_t pl = strlen(pre);
        size_t pad = n - pl - 4;
        memcpy(buf, pre, pl);
        memset(buf + pl, 'v', pad);
        memcpy(buf + pl + pad, "\r\n\r\n", 4);
        why = NULL;
        int rc = px_h1_parse_request(buf, n, &lim, &msg, &hl, &why);
        if (n <= 200)
            CHECK(rc == SGW_OK && hl == n);
        else
            CHECK(rc == SGW_ELIMIT && why && strstr(why, "head too large"));
        /* every strict prefix: AGAIN while below the limit, ELIMIT from there on */
        for (size_t k = 0; k < n; k++) {
            rc = px_h1_parse_request(buf, k, &lim, &msg, &hl, &why);
            if (k < 200)
                CHECK(rc == SGW_AGAIN);
            else
                CHECK(rc == SGW_ELIMIT);
        }
    }
    /* unterminated flood of header bytes: never AGAIN at or beyond max_head */
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
    CHECK(px_h1_parse_request(buf, 199, &lim, &msg, &hl, &why) == SGW_AGAIN);
    CHECK(px_h1_parse_request(buf, 200, &lim, &msg, &hl, &why) == SGW_ELIMIT);
    CHECK(px_h1_parse_request(buf, sizeof buf, &lim, &msg, &hl, &why) == SGW_ELIMIT);
    /* final CRLF split over the limit: "...\r" at 200 bytes cannot end in time */
    {
        const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
        size_t pl = strlen(pre);
        memcpy(buf, pre, pl);
        memset(buf + pl, 'v', 200 - pl - 3);
        memcpy(buf + 197, "\r\n\r", 3);
        CHECK(px_h1_parse_request(buf, 199, &lim, &msg, &hl, &why) == SGW_AGAIN);
        CHECK(px_h1_parse_request(buf, 200, &lim, &msg, &hl, &why) == SGW_ELIMIT);
    }

    /* header count: max_headers N-1, N pass, N+1 is ELIMIT */
    px_h1_limits_default(&lim);
    lim.max_headers = 5;
    for (size_t n = 4; n <= 6; n++) {
        size_t o = 0;
        memcpy(buf, "GET / HTTP/1.1\r\nHost: a\r\n", 25);
        o = 25;
        for (size_t k = 1; k < n; k++) {
            memcpy(buf + o, "X-H: 1\r\n", 8);
            o += 8;
        }
        memcpy(buf + o, "\r\n", 2);
        o += 2;
        why = NULL;
        int rc = px_h1_parse_request(buf, o, &lim, &msg, &hl, &why);
        if (n <= 5)
            CHECK(rc == SGW_OK && msg.n_headers == n);
        else
            CHECK(rc == SGW_ELIMIT && why && strstr(why, "too many header fields"));
    }
    /* max_headers above the array size is clamped to PX_H1_MAX_HEADERS */
    lim.max_headers = 100000;
    {
        size_t o = 0;
        memcpy(buf, "GET / HTTP/1.1\r\n", 16);
        o = 16;
        for (size_t k = 0; k < PX_H1_MAX_HEADERS + 1; k++) {
            memcpy(buf + o, k == 0 ? "Host: a\r\n" : "X-Hh: 1\r\n", 9);
            o += 9;
        }
        memcpy(buf + o, "\r\n", 2);
        o += 2;
        CHECK(px_h1_parse_request(buf, o, &lim, &msg, &hl, &why) == SGW_ELIMIT);
        /* one header fewer: exactly PX_H1_MAX_HEADERS fields fit */
        memcpy(buf + o - 11, "\r\n", 2);
        CHECK(px_h1_parse_request(buf, o - 9, &lim, &msg, &hl, &why) == SGW_OK &&
              msg.n_headers == PX_H1_MAX_HEADERS);
    }
}

/* ---- responses ----------------------------------------------------------- */

static int parse_resp(const char *raw, size_t len, const char *method, size_t *hl,
                      const char **why)
{
    struct px_h1_limits lim;
    px_h1_limits_default(&lim);
    *why = NULL;
    return px_h1_parse_response(raw, len, &lim, sgw_slice_make(method, strlen(method)), &msg, hl,
                                why);
}

static void test_responses(void)
{
    size_t hl;
    const char *why;

    /* 200 with CL */
    static const char a[] = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Amz-Id: abc\r\n\r\n";
    CHECK(parse_resp(S(a), "GET", &hl, &why) == SGW_OK && hl == sizeof a - 1);
    CHECK(msg.status == 200 && slice_is(msg.reason, "OK") && msg.body == PX_H1_BODY_LENGTH);
    CHECK(msg.content_length == 12 && msg.keep_alive == 1);
    check_prefixes_again(a, hl, 1, "resp a");

    /* the same to HEAD: no body */
    CHECK(parse_resp(S(a), "HEAD", &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_NONE);

    /* chunked */
    static const char b[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(parse_resp(S(b), "POST", &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_CHUNKED);

    /* no framing: body until EOF, no keep-alive */
    static const char c[] = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
    CHECK(parse_resp(S(c), "GET", &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_EOF);
    CHECK(msg.keep_alive == 0);

    /* empty reason, with and without the SP */
    static const char d[] = "HTTP/1.1 204 \r\n\r\n";
    CHECK(parse_resp(S(d), "GET", &hl, &why) == SGW_OK && msg.status == 204);
    CHECK(msg.reason.len == 0 && msg.body == PX_H1_BODY_NONE && msg.keep_alive == 1);
    static const char e[] = "HTTP/1.1 304\r\nContent-Length: 99\r\n\r\n";
    CHECK(parse_resp(S(e), "GET", &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_NONE);

    /* 1xx: no body */
    static const char f[] = "HTTP/1.1 100 Continue\r\n\r\n";
    CHECK(parse_resp(S(f), "PUT", &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_NONE);
    CHECK(msg.status == 100);

    /* 2xx to CONNECT: tunnel, no body; a 407 to CONNECT has one */
    static const char g[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    CHECK(parse_resp(S(g), "CONNECT", &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_NONE);
    static const char g2[] = "HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n";
    CHECK(parse_resp(S(g2), "CONNECT", &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_LENGTH);

    /* HTTP/1.0 response, keep-alive only when asked */
    static const char h[] = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n";
    CHECK(parse_resp(S(h), "GET", &hl, &why) == SGW_OK && msg.keep_alive == 0);
    static const char h2[] = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n";
    CHECK(parse_resp(S(h2), "GET", &hl, &why) == SGW_OK && msg.keep_alive == 1);

    /* status code 999 is allowed (three digits), reason with obs-text */
    static const char i9[] = "HTTP/1.1 999 W\xe9ird\r\nContent-Length: 0\r\n\r\n";
    CHECK(parse_resp(S(i9), "GET", &hl, &why) == SGW_OK && msg.status == 999);

    static const struct bad_vec bad[] = {
        {"resp CL+TE", S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
         SGW_EPROTO, "both"},
        {"resp dup CL", S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
         SGW_EPROTO, "multiple Content-Length"},
        {"resp TE gzip", S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), SGW_EPROTO,
         "unsupported"},
        {"resp status 2 digits", S("HTTP/1.1 20 OK\r\n\r\n"), SGW_EPROTO, "invalid status"},
        {"resp status 4 digits", S("HTTP/1.1 2000 OK\r\n\r\n"), SGW_EPROTO, "invalid status"},
        {"resp status 099", S("HTTP/1.1 099 X\r\n\r\n"), SGW_EPROTO, "invalid status"},
        {"resp status letters", S("HTTP/1.1 2x0 OK\r\n\r\n"), SGW_EPROTO, "invalid status"},
        {"resp HTTP/2", S("HTTP/2.0 200 OK\r\n\r\n"), SGW_EPROTO, "unsupported HTTP"},
        {"resp HTTP/1.1 no SP", S("HTTP/1.1200 OK\r\n\r\n"), SGW_EPROTO, "unsupported HTTP"},
        {"resp bare LF", S("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), SGW_EPROTO, "bare LF"},
        {"resp CR in reason", S("HTTP/1.1 200 O\rK\r\n\r\n"), SGW_EPROTO, "bare CR"},
        {"resp obs-fold", S("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), SGW_EPROTO, "obs-fold"},
        {"resp TE 204", S("HTTP/1.1 204 No\r\nTransfer-Encoding: chunked\r\n\r\n"), SGW_EPROTO,
         "1xx or 204"},
        {"resp CL 204", S("HTTP/1.1 204 No\r\nContent-Length: 5\r\n\r\n"), SGW_EPROTO,
         "1xx or 204"},
        {"resp TE HTTP/1.0", S("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), SGW_EPROTO,
         "HTTP/1.0"},
        {"resp NUL", S("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"), SGW_EPROTO, "NUL"},
    };
    for (size_t k = 0; k < SGW_ARRAY_LEN(bad); k++) {
        int rc = parse_resp(bad[k].raw, bad[k].len, "GET", &hl, &why);
        CHECKV(rc == bad[k].rc && why && strstr(why, bad[k].reason), bad[k].name);
        if (rc != bad[k].rc || !why || !strstr(why, bad[k].reason))
            fprintf(stderr, "  [%s] got rc %d reason '%s'\n", bad[k].name, rc, why ? why : "-");
    }

    /* status line limit: N passes, N+1 is "status line too long" */
    struct px_h1_limits lim;
    px_h1_limits_default(&lim);
    lim.max_request_line = 20; /* "HTTP/1.1 200 abcdef\r\n" is 21 */
    CHECK(px_h1_parse_response(S("HTTP/1.1 200 abcd\r\n\r\n"), &lim, sgw_slice_make("GET", 3),
                               &msg, &hl, &why) == SGW_OK);
    CHECK(px_h1_parse_response(S("HTTP/1.1 200 abcde\r\n\r\n"), &lim, sgw_slice_make("GET", 3),
                               &msg, &hl, &why) == SGW_OK);
    CHECK(px_h1_parse_response(S("HTTP/1.1 200 abcdef\r\n\r\n"), &lim, sgw_slice_make("GET", 3),
                               &msg, &hl, &why) == SGW_ELIMIT &&
          strstr(why, "status line too long"));
}

/* ---- chunked decoder ---------------------------------------------------- */

struct dechunk_result {
    int rc;         /* final return code */
    size_t used;    /* input bytes consumed when done */
    char body[256];
    size_t body_len;
    const char *why;
};

/* Feeds in[0..len) cut at the given offsets (ascending); collects body bytes. */
static void dechunk(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                    struct dechunk_result *r)
{
    struct px_h1_chunked st;
    memset(&st, 0, sizeof st);
    memset(r, 0, sizeof *r);
    size_t start = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        size_t off = start;
        while (off < end) {
            size_t consumed = 0, dl = 0;
            const char *d = NULL;
            int rc = px_h1_chunked_feed(&st, in + off, end - off, &consumed, &d, &dl, &r->why);
            r->rc = rc;
            if (rc < 0)
                return;
            if (consumed > end - off) { /* contract breach */
                r->rc = -100;
                return;
            }
            if (dl) {
                if (d < in + off || d + dl > in + off + consumed ||
                    r->body_len + dl > sizeof r->body) {
                    r->rc = -101;
                    return;
                }
                memcpy(r->body + r->body_len, d, dl);
                r->body_len += dl;
            }
            off += consumed;
            if (st.done) {
                r->used = off;
                r->rc = SGW_OK;
                return;
            }
            if (rc == SGW_AGAIN)
                break;
        }
        start = end;
    }
    r->rc = st.done ? SGW_OK : SGW_AGAIN;
}

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

struct chunk_vec {
    const char *name;
    const char *raw;
    size_t len;
    int rc;            /* SGW_OK when complete, SGW_AGAIN when incomplete, or error */
    const char *body;  /* expected body when rc == SGW_OK */
    size_t used;       /* bytes consumed when done (0: whole input) */
};

static const struct chunk_vec chunk_vecs[] = {
    /* two chunks and a last chunk */
    {"simple", S("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), SGW_OK, "hello world", 0},
    /* hex upper and lower case, leading zeros */
    {"hex case", S("00A\r\n0123456789\r\nb\r\nabcdefghijk\r\n000\r\n\r\n"), SGW_OK,
     "0123456789abcdefghijk", 0},
    /* extensions: token, quoted-string with escapes, several */
    {"extensions", S("3;a=b;c;d=\"x \\\" y\"\r\nabc\r\n0;last\r\n\r\n"), SGW_OK, "abc", 0},
    /* trailers allowed, pipelined bytes after the end are not consumed */
    {"trailers", S("1\r\nz\r\n0\r\nX-Checksum: abc\r\nX-Other:\r\n\r\nGET / HTTP/1.1"), SGW_OK, "z",
     sizeof("1\r\nz\r\n0\r\nX-Checksum: abc\r\nX-Other:\r\n\r\n") - 1},
    /* empty body */
    {"empty", S("0\r\n\r\n"), SGW_OK, "", 0},
    /* incomplete input */
    {"incomplete", S("5\r\nhel"), SGW_AGAIN, NULL, 0},
    {"incomplete trailer", S("0\r\nX: y\r\n"), SGW_AGAIN, NULL, 0},
    /* malformed sizes (T2, T7, T19, T24, catalogue 15) */
    {"size Z", S("Z\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size 0x", S("0x5\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size plus", S("+5\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size minus zero", S("-0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size leading space", S(" 5\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size trailing space", S("5 \r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size underscore", S("5_\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size garbage suffix", S("1these-bytes\r\nx\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size empty", S("\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size 17 digits", S("00000000000000001\r\nx\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size over 2^62", S("4000000000000001\r\n"), SGW_ELIMIT, NULL, 0},
    {"size overflow", S("ffffffffffffffff\r\n"), SGW_ELIMIT, NULL, 0},
    /* line endings (T4, T13, T17, catalogue 17/18) */
    {"size bare LF", S("5\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size CR X", S("5\rXhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"size CR CR", S("2\r\r;a\r\nab\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"data bare LF", S("5\r\nhello\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"data any 2 bytes", S("5\r\nhelloXX0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"data spill", S("3\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"data X LF", S("5\r\nhelloX\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"data CR X", S("5\r\nhello\rX0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"extra CRLF before last", S("1\r\na\r\n\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"last bare LF", S("0\r\n\n"), SGW_EPROTO, NULL, 0},
    {"last CR X", S("0\r\n\rX"), SGW_EPROTO, NULL, 0},
    /* extensions (catalogue 16) */
    {"ext bare semicolon", S("5;\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext space", S("5 ;a\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext bad token", S("5;a@b\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext empty value", S("5;a=\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext LF", S("5;a\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext CTL", S("5;a\x01\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext quoted CRLF", S("5;a=\"x\r\n\"\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext unterminated quote", S("5;a=\"x\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext double equals", S("5;a=b=c\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext escaped CTL", S("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"ext junk after quote", S("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"), SGW_EPROTO, NULL, 0},
    /* trailers (catalogue 19) */
    {"trailer CL", S("0\r\nContent-Length: 5\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer TE", S("0\r\ntransfer-encoding: chunked\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer Host", S("0\r\nHOST: evil\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer Authorization", S("0\r\nAuthorization: x\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer prefix ok", S("0\r\nHosts: x\r\nContent-Lengthy: 1\r\n\r\n"), SGW_OK, "", 0},
    {"trailer long names", S("0\r\nContent-Length-And-A-Much-Longer-Suffix-Name: 1\r\n"
                             "Xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: 2\r\n\r\n"),
     SGW_OK, "", 0},
    {"trailer Set-Cookie", S("0\r\nSet-Cookie: a=b\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer underscore", S("0\r\nContent_Length: 5\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer obs-fold", S("0\r\nX: a\r\n b\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer bare LF", S("0\r\nX: a\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer no colon", S("0\r\nXa\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer space before colon", S("0\r\nX : a\r\n\r\n"), SGW_EPROTO, NULL, 0},
    {"trailer NUL", S("0\r\nX: a\0\r\n\r\n"), SGW_EPROTO, NULL, 0},
};

static void test_chunked_vectors(void)
{
    for (size_t k = 0; k < SGW_ARRAY_LEN(chunk_vecs); k++) {
        const struct chunk_vec *v = &chunk_vecs[k];
        struct dechunk_result one;
        dechunk(v->raw, v->len, NULL, 0, &one);
        CHECKV(one.rc == v->rc, v->name);
        if (one.rc != v->rc)
            fprintf(stderr, "  [%s] got rc %d (%s)\n", v->name, one.rc, one.why ? one.why : "-");
        if (v->rc == SGW_OK) {
            CHECKV(one.body_len == strlen(v->body) && memcmp(one.body, v->body, one.body_len) == 0,
                   v->name);
            CHECKV(one.used == (v->used ? v->used : v->len), v->name);
        }
        if (v->rc < 0)
            CHECKV(one.why != NULL, v->name);

        /* byte by byte: same outcome */
        size_t cuts[512];
        size_t nc = 0;
        for (size_t i = 1; i < v->len && nc < SGW_ARRAY_LEN(cuts); i++)
            cuts[nc++] = i;
        struct dechunk_result split;
        dechunk(v->raw, v->len, cuts, nc, &split);
        CHECKV(split.rc == one.rc && split.body_len == one.body_len &&
                   memcmp(split.body, one.body, one.body_len) == 0 && split.used == one.used,
               v->name);
        /* every single cut position, and random multi-cuts */
        for (size_t i = 1; i < v->len; i++) {
            dechunk(v->raw, v->len, &i, 1, &split);
            CHECKV(split.rc == one.rc && split.body_len == one.body_len &&
                       memcmp(split.body, one.body, one.body_len) == 0 && split.used == one.used,
                   v->name);
        }
        for (int round = 0; round < 50 && v->len > 2; round++) {
            nc = 0;
            size_t pos = 0;
            while (nc < 16) {
                pos += 1 + rng() % 4;
                if (pos >= v->len)
                    break;
                cuts[nc++] = pos;
            }
            dechunk(v->raw, v->len, cuts, nc, &split);
            CHECKV(split.rc == one.rc && split.body_len == one.body_len &&
                       memcmp(split.body, one.body, one.body_len) == 0,
                   v->name);
        }
    }
}

static void test_chunked_limits(void)
{
    static char buf[2 * 4096 + 64];
    struct dechunk_result r;

    /* size line of 4095 / 4096 bytes (incl. CRLF) passes, 4097 is ELIMIT:
     * "1;a=vvvv…\r\n" then "x\r\n0\r\n\r\n" */
    for (size_t n = 4095; n <= 4097; n++) {
        memcpy(buf, "1;a=", 4);
        memset(buf + 4, 'v', n - 6);
        memcpy(buf + n - 2, "\r\nx\r\n0\r\n\r\n", 10);
        dechunk(buf, n + 8, NULL, 0, &r);
        if (n <= 4096)
            CHECK(r.rc == SGW_OK && r.body_len == 1 && r.body[0] == 'x');
        else
            CHECK(r.rc == SGW_ELIMIT && r.why && strstr(r.why, "chunk size line too long"));
    }
    /* an endless extension never returns AGAIN beyond the bound */
    memcpy(buf, "1;a=", 4);
    memset(buf + 4, 'v', sizeof buf - 4);
    dechunk(buf, sizeof buf, NULL, 0, &r);
    CHECK(r.rc == SGW_ELIMIT);

    /* trailer section (all lines and the final CRLF) of 4095 / 4096 / 4097 */
    for (size_t n = 4095; n <= 4097; n++) {
        memcpy(buf, "0\r\nX: ", 6);
        /* trailer bytes = "X: " + pad + "\r\n" + "\r\n" = n */
        size_t pad = n - 7;
        memset(buf + 6, 'v', pad);
        memcpy(buf + 6 + pad, "\r\n\r\n", 4);
        dechunk(buf, 3 + n, NULL, 0, &r);
        if (n <= 4096)
            CHECK(r.rc == SGW_OK && r.used == 3 + n);
        else
            CHECK(r.rc == SGW_ELIMIT && r.why && strstr(r.why, "trailers too large"));
    }

    /* size exactly 2^62 is accepted (then waits for data) */
    dechunk(S("4000000000000000\r\nabc"), NULL, 0, &r);
    CHECK(r.rc == SGW_AGAIN && r.body_len == 3);

    /* after an error the decoder stays failed; after done it consumes nothing */
    struct px_h1_chunked st;
    memset(&st, 0, sizeof st);
    size_t consumed;
    const char *d, *why;
    size_t dl;
    CHECK(px_h1_chunked_feed(&st, S("Z"), &consumed, &d, &dl, &why) == SGW_EPROTO);
    CHECK(px_h1_chunked_feed(&st, S("0\r\n\r\n"), &consumed, &d, &dl, &why) == SGW_EPROTO);
    memset(&st, 0, sizeof st);
    CHECK(px_h1_chunked_feed(&st, S("0\r\n\r\nX"), &consumed, &d, &dl, &why) == SGW_OK &&
          st.done && consumed == 5 && dl == 0);
    CHECK(px_h1_chunked_feed(&st, S("X"), &consumed, &d, &dl, &why) == SGW_OK && consumed == 0);
    /* inside the trailer section nothing remains of any chunk */
    memset(&st, 0, sizeof st);
    CHECK(px_h1_chunked_feed(&st, S("0\r\nX-Trailer-Name: v"), &consumed, &d, &dl, &why) ==
              SGW_AGAIN &&
          st.remaining == 0 && !st.done);
    CHECK(px_h1_chunked_feed(&st, S("\r\n\r\n"), &consumed, &d, &dl, &why) == SGW_OK &&
          st.done && consumed == 4);
    /* AGAIN consumes everything given */
    memset(&st, 0, sizeof st);
    CHECK(px_h1_chunked_feed(&st, S("a;x=1"), &consumed, &d, &dl, &why) == SGW_AGAIN &&
          consumed == 5);
    /* data is returned in runs bounded by the chunk size */
    CHECK(px_h1_chunked_feed(&st, S("\r\n0123456789abc"), &consumed, &d, &dl, &why) == SGW_OK &&
          consumed == 12 && dl == 10 && memcmp(d, "0123456789", 10) == 0 && st.remaining == 0);
}

/* A request head followed by its chunked body, parsed in steps as a caller would. */
static void test_request_then_body(void)
{
    static const char raw[] = "POST /upload HTTP/1.1\r\nHost: bucket.s3.amazonaws.com\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n"
                              "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t hl;
    const char *why;
    CHECK(parse_req(S(raw), &hl, &why) == SGW_OK && msg.body == PX_H1_BODY_CHUNKED);
    struct dechunk_result r;
    dechunk(raw + hl, sizeof raw - 1 - hl, NULL, 0, &r);
    CHECK(r.rc == SGW_OK && r.body_len == 9 && memcmp(r.body, "Wikipedia", 9) == 0);
    /* the pipelined request starts exactly after the body */
    size_t next = hl + r.used;
    CHECK(parse_req(raw + next, sizeof raw - 1 - next, &hl, &why) == SGW_OK);
    CHECK(slice_is(msg.path, "/next"));
}

int main(void)
{
    test_valid_requests();
    test_bad_requests();
    test_limits();
    test_responses();
    test_chunked_vectors();
    test_chunked_limits();
    test_request_then_body();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_h1: all checks passed (%zu malformed request vectors, %zu chunked vectors)\n",
           SGW_ARRAY_LEN(bad_requests), SGW_ARRAY_LEN(chunk_vecs));
    return 0;
}
