/* tests/unit/classifiers/test_scan_unit_end.c — a text unit's end in one
 * call: when the decoder chain's final sink has the one-call entries
 * (struct cls_sink's data_end and key_end: the scanner's), the
 * normalisation stage ends short units with cls_scanner_data_end and keys
 * with cls_scanner_key_end instead of data, boundary (and context) in a
 * row. The scanner must end up exactly where the calls in a row leave it:
 * the same JSON bodies go through a chain whose final sink is the scanner
 * and through one whose final sink forwards each call to the scanner (a
 * sink without those entries: the calls in a row), fed in random
 * pieces, and the findings must be identical. The bodies are dense in
 * short values and keys (numbers, codes, context words as keys), with
 * escapes, non-ASCII text cut across pieces and base64 runs, so that both
 * the one-call ends and their fallbacks (a held UTF-8 sequence, bytes >=
 * 0x80, a full batch) occur. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "scan_feed.h"

static unsigned rnd(void)
{
    return (unsigned)rand();
}

/* the forwarding sink: every call goes to the scanner as it comes */
static int fw_data(void *ctx, const uint8_t *p, size_t n)
{
    return cls_scanner_data(ctx, p, n);
}

static int fw_boundary(void *ctx)
{
    return cls_scanner_boundary(ctx);
}

static int fw_context(void *ctx, const uint8_t *p, size_t n)
{
    return cls_scanner_context(ctx, p, n);
}

static int fw_unins(void *ctx, const char *reason, uint32_t flags)
{
    return cls_scanner_uninspectable(ctx, reason, flags);
}

static int fw_origin(void *ctx, int kind, uint64_t src, uint64_t w)
{
    return cls_scanner_origin(ctx, kind, src, w);
}

static uint64_t fw_where(void *ctx)
{
    return cls_scanner_where(ctx);
}

static size_t put(char *b, size_t at, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (at + n > cap)
        return at;
    memcpy(b + at, s, n);
    return at + n;
}

static const char *const keys[] = {"ssn", "dob", "iban", "phone", "passport", "text", "content", "n",
                                   "tax_id", "Steuer-ID", "bsn", "k\\u00e9y", "",
                                   "a_very_long_key_name_of_more_than_sixty_three_bytes_for_the_key_cut_x",
                                   /* five full-width digits, 15 bytes: normalised to "12345" */
                                   "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95",
                                   "n\xe2\x80\x8b\x31"};

/* a short or long JSON string value (no quotes) */
static size_t value(char *b, size_t at, size_t cap)
{
    char t[128];
    switch (rnd() % 12) {
    case 0: snprintf(t, sizeof(t), "%u", rnd() % 100000); break;
    case 1: snprintf(t, sizeof(t), "%03u-%02u-%04u", rnd() % 999, rnd() % 99, rnd() % 9999); break;
    case 2: snprintf(t, sizeof(t), "DE89 3704 0044 0532 0130 00"); break;
    case 3: snprintf(t, sizeof(t), "4111 1111 1111 1111"); break;
    case 4: snprintf(t, sizeof(t), "caf\xc3\xa9 %u", rnd() % 99); break;      /* >= 0x80: not one call */
    case 5: snprintf(t, sizeof(t), "\\u00e9t\\u00e9 %u", rnd() % 999); break; /* an escape */
    case 6: snprintf(t, sizeof(t), "U29tZSB0ZXh0IHRoYXQgaXMgYmFzZTY0IGVuY29kZWQ="); break;
    case 7: snprintf(t, sizeof(t), "AKIA%u", rnd() % 10000); break;
    case 8: snprintf(t, sizeof(t), "%s", ""); break;
    case 9: snprintf(t, sizeof(t), "born %02u.%02u.%u", rnd() % 31, rnd() % 12, 1950 + rnd() % 60); break;
    case 10: snprintf(t, sizeof(t), "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93 %u", rnd() % 9999); break; /* full width */
    default:
        snprintf(t, sizeof(t), "the report of %u was about %u-%u numbers and AB%06u", rnd() % 3000, rnd() % 99,
                 rnd() % 99, rnd() % 999999);
        break;
    }
    return put(b, at, cap, t);
}

static size_t body(char *b, size_t cap)
{
    size_t at = put(b, 0, cap, "{");
    unsigned n = 1 + rnd() % 40;
    for (unsigned i = 0; i < n && at + 300 < cap; i++) {
        if (i)
            at = put(b, at, cap, ", ");
        at = put(b, at, cap, "\"");
        at = put(b, at, cap, keys[rnd() % (sizeof(keys) / sizeof(keys[0]))]);
        at = put(b, at, cap, "\": ");
        unsigned k = rnd() % 4;
        if (k == 0) {
            char num[32];
            snprintf(num, sizeof(num), "%u.%u", rnd() % 1000, rnd() % 100);
            at = put(b, at, cap, num);
        } else if (k == 1) {
            at = put(b, at, cap, "[\"");
            at = value(b, at, cap);
            at = put(b, at, cap, "\", \"");
            at = value(b, at, cap);
            at = put(b, at, cap, "\"]");
        } else {
            at = put(b, at, cap, "\"");
            at = value(b, at, cap);
            at = put(b, at, cap, "\"");
        }
    }
    return put(b, at, cap, "}");
}

static unsigned long long one_call;

static void scan(struct cls_worker *w, int forward, const char *p, size_t n, size_t maxpiece, struct fset *out,
                 unsigned long long *windows)
{
    struct cls_scanner *sc = NULL;
    if (cls_scanner_new(w, 1, NULL, NULL, &sc) != 0)
        abort();
    struct cls_sink direct = scanner_sink(sc);
    struct cls_sink fw = {.ctx = sc,
                          .data = fw_data,
                          .boundary = fw_boundary,
                          .context = fw_context,
                          .uninspectable = fw_unins,
                          .origin = fw_origin,
                          .where = fw_where};
    struct cls_decode_limits lim = {64u << 20, 100, 64};
    struct cls_decode_chain *c = NULL;
    if (cls_decode_chain_new("application/json", NULL, &lim, forward ? &fw : &direct, &c) != 0)
        abort();
    size_t off = 0;
    while (off < n) {
        size_t k = 1 + rnd() % maxpiece;
        if (k > n - off)
            k = n - off;
        if (cls_decode_chain_feed(c, (const uint8_t *)p + off, k) != 0)
            abort();
        off += k;
    }
    if (cls_decode_chain_finish(c) != 0 || cls_scanner_finish(sc) != 0)
        abort();
    keep_findings(sc, out);
    *windows += cls_scanner_stats(sc)->windows;
    if (forward && cls_scanner_stats(sc)->unit_ends)
        FAIL("a sink the normalisation does not know got units ended in one call");
    if (!forward)
        one_call += cls_scanner_stats(sc)->unit_ends;
    cls_decode_chain_free(c);
    cls_scanner_free(sc);
}

int main(void)
{
    srand(31);
    struct cls_engine *e = NULL;
    struct cls_worker *w = NULL, *w2 = NULL;
    char err[256];
    /* a worker per path: each remembers the units it saw scan clean
       (cls_unit_memo), and both see the same units */
    if (cls_engine_new(NULL, &e, err, sizeof(err)) != 0 || cls_worker_new(e, &w) != 0 ||
        cls_worker_new(e, &w2) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        return 1;
    }
    cls_engine_unref(e);
    static char buf[64 * 1024];
    static struct fset a, b;
    unsigned long long wa = 0, wb = 0, found = 0;
    for (int r = 0; r < 400 && failures < 10; r++) {
        size_t n = body(buf, sizeof(buf));
        size_t maxpiece = rnd() % 2 ? 1 + rnd() % 16 : 1 + rnd() % 65536;
        unsigned seed = rnd();
        srand(seed);
        scan(w, 0, buf, n, maxpiece, &a, &wa);
        srand(seed);
        scan(w2, 1, buf, n, maxpiece, &b, &wb);
        srand(seed + 1);
        found += a.n;
        int diff = a.n != b.n || wa != wb;
        for (size_t i = 0; i < a.n && !diff; i++)
            diff = !same_finding(&a.f[i], &b.f[i]);
        if (diff)
            FAIL("round %d: one-call unit ends %zu findings (%llu windows), calls in a row %zu (%llu)", r, a.n,
                 wa, b.n, wb);
    }
    if (found < 400)
        FAIL("only %llu findings: the bodies do not exercise the scanner", found);
    if (one_call < 1000)
        FAIL("only %llu units ended in one call: the test does not reach cls_scanner_data_end/key_end", one_call);
    cls_worker_free(w);
    cls_worker_free(w2);
    if (failures)
        return 1;
    printf("test_scan_unit_end: ok (%llu findings, %llu windows, %llu units ended in one call)\n", found, wa,
           one_call);
    return 0;
}
