/* tests/unit/classifiers/test_time_limit.c — cls_stream_opts.max_time_ms: a
 * body whose inspection takes longer than its limit gets one UNINSPECTABLE
 * finding ("inspection time limit exceeded") and the rest of it is not
 * inspected, whether it comes in one call or in many; only the time inside
 * the stream's calls counts; a generous limit changes no finding. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../check.h"
#include "classifiers/classifiers.h"
#include "common/sgw.h"

static const char REASON[] = "inspection time limit exceeded";

/* "password=" 250,000 times (each one a value to check: ~90 ms in a release
 * build, bench/scan_bench.sh worst), then a card */
static char *slow_body(size_t *len, size_t *card_at)
{
    static const char head[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"";
    static const char tail[] = " card 4111 1111 1111 1111\"}]}";
    const size_t reps = 250000;
    char *b = malloc(sizeof(head) + reps * 9 + sizeof(tail));
    if (!b)
        abort();
    size_t k = sizeof(head) - 1;
    memcpy(b, head, k);
    for (size_t i = 0; i < reps; i++, k += 9)
        memcpy(b + k, "password=", 9);
    *card_at = reps * 9; /* (in the decoded text: the keys come before) */
    memcpy(b + k, tail, sizeof(tail));
    *len = k + sizeof(tail) - 1;
    return b;
}

struct res {
    size_t n, unins, cards, emails, truncated;
    uint64_t unins_at;
};

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Scans body in pieces of `piece` bytes (0: one call), pausing `gap` ms
 * after the first piece (outside the stream's calls). */
static void scan(struct cls_worker *w, const char *body, size_t len, uint32_t ms, size_t piece, long gap,
                 struct res *r)
{
    memset(r, 0, sizeof(*r));
    struct cls_stream_opts o = {.content_type = "application/json", .max_time_ms = ms};
    struct cls_stream *s = NULL;
    CHECK(cls_stream_new(w, &o, &s) == SGW_OK);
    if (!s)
        return;
    if (!piece)
        piece = len;
    for (size_t off = 0; off < len; off += piece) {
        CHECK(cls_stream_feed(s, body + off, len - off < piece ? len - off : piece) == SGW_OK);
        if (off == 0 && gap)
            pause_ms(gap);
    }
    CHECK(cls_stream_close(s) == SGW_OK);
    const struct cls_finding *f = cls_stream_findings(s, &r->n);
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(f[i].type, "UNINSPECTABLE") == 0) {
            CHECK(strcmp(f[i].reason, REASON) == 0);
            CHECK(f[i].category == CLS_CAT_UNINSPECTABLE);
            r->unins++;
            r->unins_at = f[i].start;
        }
        r->cards += strcmp(f[i].type, "CREDIT_DEBIT_CARD_NUMBER") == 0;
        r->emails += strcmp(f[i].type, "EMAIL") == 0;
        r->truncated += strcmp(f[i].type, "FINDINGS_TRUNCATED") == 0;
    }
    cls_stream_free(s);
}

int main(void)
{
    struct cls_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct cls_engine *e = NULL;
    struct cls_worker *w = NULL;
    char err[256];
    if (cls_engine_new(&cfg, &e, err, sizeof(err)) != SGW_OK || cls_worker_new(e, &w) != SGW_OK) {
        fprintf(stderr, "engine: %s\n", err);
        return 2;
    }
    size_t len, card_at;
    char *slow = slow_body(&len, &card_at);
    struct res r;

    /* no limit: all of it is inspected, the card found */
    scan(w, slow, len, 0, 0, 0, &r);
    CHECK(r.n == 1 && r.cards == 1 && r.unins == 0);

    /* 2 ms, in one call and in 4 KiB calls (the time adds up over calls;
       feeds after the limit return SGW_OK and look at nothing) */
    static const size_t pieces[] = {0, 4096, 100000};
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        scan(w, slow, len, 2, pieces[k], 0, &r);
        CHECK(r.unins == 1);
        CHECK(r.cards == 0);
        CHECK(r.truncated == 0);
        CHECK(r.n == 1);
        CHECK(r.unins_at > 0 && r.unins_at < card_at);
    }

    /* a generous limit: the same findings as none */
    scan(w, slow, len, 600000, 4096, 0, &r);
    CHECK(r.n == 1 && r.cards == 1 && r.unins == 0);

    /* only time inside the calls counts: a small body fed in two halves
       with 300 ms between them stays within 200 ms */
    static const char small[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"card 4111 1111 1111 1111, "
                                "mail anna.k@example.org\"}]}";
    scan(w, small, sizeof(small) - 1, 200, sizeof(small) / 2, 300, &r);
    CHECK(r.unins == 0 && r.cards == 1 && r.emails == 1);

    free(slow);
    cls_worker_free(w);
    cls_engine_unref(e);
    if (failures)
        fprintf(stderr, "test_time_limit: %d failure(s)\n", failures);
    else
        printf("time_limit: ok\n");
    return failures != 0;
}
