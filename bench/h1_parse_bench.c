/* bench/h1_parse_bench.c — ns per px_h1_parse_request for three typical heads
 * (and per chunked-decoder byte). Standalone; see bench/README-h1.md.
 * Prints numbers only: no pass/fail, no timing asserts. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy/h1.h"

static struct px_h1_message msg;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best of 15 rounds of `iters` parses, in ns per parse (best-of filters out
 * the noise of a shared machine). */
static double bench_head(const char *head, size_t len, long iters)
{
    struct px_h1_limits lim;
    px_h1_limits_default(&lim);
    double best = 1e30;
    volatile size_t sink = 0;
    for (int round = 0; round < 15; round++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            size_t hl = 0;
            const char *why = NULL;
            if (px_h1_parse_request(head, len, &lim, &msg, &hl, &why) != SGW_OK) {
                fprintf(stderr, "parse failed: %s\n", why ? why : "?");
                return -1;
            }
            sink += hl + msg.n_headers;
        }
        double per = (now_ns() - t0) / (double)iters;
        if (per < best)
            best = per;
    }
    (void)sink;
    return best;
}

int main(void)
{
    static const char *const heads[3][2] = {
        {"SDK PUT (absolute-form)",
         "PUT http://my-bucket.s3.eu-central-1.amazonaws.com/reports/2026/11/q3.csv HTTP/1.1\r\n"
         "Host: my-bucket.s3.eu-central-1.amazonaws.com\r\n"
         "User-Agent: aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux\r\n"
         "X-Amz-Date: 20261126T100000Z\r\n"
         "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n"
         "Content-Length: 1048576\r\n"
         "Expect: 100-continue\r\n"
         "Accept-Encoding: identity\r\n\r\n"},
        {"browser-like GET (origin-form)",
         "GET /index.html?lang=en&q=%20x HTTP/1.1\r\n"
         "Host: www.example.com\r\n"
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0\r\n"
         "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
         "Accept-Language: en-US,en;q=0.5\r\n"
         "Accept-Encoding: gzip, deflate, br\r\n"
         "Connection: keep-alive\r\n\r\n"},
        {"CONNECT (authority-form)",
         "CONNECT sts.eu-west-1.amazonaws.com:443 HTTP/1.1\r\n"
         "Host: sts.eu-west-1.amazonaws.com:443\r\n"
         "User-Agent: curl/8.5.0\r\n"
         "Proxy-Connection: Keep-Alive\r\n\r\n"},
    };
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(heads[k][1]);
        double ns = bench_head(heads[k][1], len, 50000);
        printf("%-32s %4zu bytes  %7.1f ns/parse  %5.2f ns/byte\n", heads[k][0], len, ns,
               ns / (double)len);
    }

    /* chunked decoder throughput: 64 chunks of 1000 bytes, decoded at once */
    static char body[70000];
    size_t o = 0;
    for (int c = 0; c < 64; c++) {
        memcpy(body + o, "3e8\r\n", 5);
        o += 5;
        memset(body + o, 'x', 1000);
        o += 1000;
        memcpy(body + o, "\r\n", 2);
        o += 2;
    }
    memcpy(body + o, "0\r\n\r\n", 5);
    o += 5;
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (int it = 0; it < 2000; it++) {
            struct px_h1_chunked st;
            memset(&st, 0, sizeof st);
            size_t off = 0;
            while (!st.done) {
                size_t used = 0, dl = 0;
                const char *d, *why;
                if (px_h1_chunked_feed(&st, body + off, o - off, &used, &d, &dl, &why) < 0)
                    return 1;
                off += used;
            }
        }
        double per = (now_ns() - t0) / 2000.0;
        if (per < best)
            best = per;
    }
    printf("%-32s %5zu bytes  %7.1f ns/body   %5.3f ns/byte\n", "chunked 64 x 1000", o, best,
           best / (double)o);
    return 0;
}
