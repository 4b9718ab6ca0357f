/* tests/unit/classifiers/test_scan_memo.c — the unit memo (struct
 * cls_unit_memo): a short text unit that scanned clean without the scanner
 * asking for its context is passed over when the same bytes come again.
 * That must never change a finding:
 *  - a stream of bodies scanned on one worker (memo warm) gives exactly the
 *    findings of each body scanned on a fresh worker (memo cold), and the
 *    memo does pass units over;
 *  - a value that is clean under one JSON key and a finding under another
 *    (a passport number, a date of birth: they need a context word) is
 *    found after it was seen clean;
 *  - a value that is a finding stays one however often it repeats. */
#include "../check.h"
#include "scan_feed.h"

struct result {
    struct fset f;
    uint64_t memo_units;
};

/* Scans one JSON body on worker w through the decoder chain. */
static void scan(struct cls_worker *w, const char *body, struct result *r)
{
    struct cls_scanner *sc = NULL;
    if (cls_scanner_new(w, 1, NULL, NULL, &sc) != 0)
        abort();
    struct cls_sink s = scanner_sink(sc);
    struct cls_decode_limits lim = {64u << 20, 100, 64};
    struct cls_decode_chain *c = NULL;
    if (cls_decode_chain_new("application/json", NULL, &lim, &s, &c) != 0)
        abort();
    if (cls_decode_chain_feed(c, (const uint8_t *)body, strlen(body)) != 0 ||
        cls_decode_chain_finish(c) != 0 || cls_scanner_finish(sc) != 0)
        abort();
    keep_findings(sc, &r->f);
    r->memo_units = cls_scanner_stats(sc)->memo_units;
    cls_decode_chain_free(c);
    cls_scanner_free(sc);
}

static int has(const struct result *r, const char *type)
{
    for (size_t i = 0; i < r->f.n; i++)
        if (strcmp(r->f.f[i].type, type) == 0)
            return 1;
    return 0;
}

static unsigned rnd_state = 12345;
static unsigned rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* Bodies made of a few repeating keys and values (most clean, some needing
   context, some findings), in random combinations. */
static void make_body(char *out, size_t cap)
{
    static const char *const keys[] = {"role", "content", "model", "max_tokens", "note",
                                       "passport", "dob", "ssn", "id", "Geburtsdatum",
                                       "text", "phone"};
    static const char *const vals[] = {"user", "4096", "0.7", "claude-3-5-sonnet", "X12345678",
                                       "123456789", "1990-05-17", "17.05.1990", "078-05-1120",
                                       "536-22-1234", "bob@example.com", "hello world", "2024-01-01",
                                       "+44 20 7946 0958", "AKIAIOSFODNN7EXAMPLE", "DE89370400440532013000",
                                       "llama-3.1-70b", "max_tokens", "4111111111111111", "v1:0"};
    size_t o = (size_t)snprintf(out, cap, "{");
    int n = 1 + (int)(rnd() % 12);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s\"%s\":\"%s\"", i ? "," : "",
                              keys[rnd() % (sizeof(keys) / sizeof(keys[0]))],
                              vals[rnd() % (sizeof(vals) / sizeof(vals[0]))]);
    snprintf(out + o, cap - o, "}");
}

static int same(const struct result *a, const struct result *b)
{
    if (a->f.n != b->f.n)
        return 0;
    for (size_t i = 0; i < a->f.n; i++)
        if (!same_finding(&a->f.f[i], &b->f.f[i]))
            return 0;
    return 1;
}

int main(void)
{
    struct cls_engine *e = NULL;
    struct cls_worker *warm = NULL;
    char err[256];
    if (cls_engine_new(NULL, &e, err, sizeof(err)) != 0 || cls_worker_new(e, &warm) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        return 1;
    }

    /* context: the same 9 characters clean under "note", a passport
       number under "passport"; a date clean under "x", a date of birth
       under "dob" */
    static struct result r;
    scan(warm, "{\"note\":\"X12345678\",\"x\":\"1990-05-17\"}", &r);
    CHECK(r.f.n == 0);
    scan(warm, "{\"note\":\"X12345678\",\"x\":\"1990-05-17\"}", &r);
    CHECK(r.f.n == 0);
    scan(warm, "{\"passport\":\"X12345678\",\"dob\":\"1990-05-17\"}", &r);
    CHECK(has(&r, "PASSPORT_NUMBER"));
    CHECK(has(&r, "DATE_OF_BIRTH"));
    /* a finding repeats */
    for (int i = 0; i < 3; i++) {
        scan(warm, "{\"k\":\"bob@example.com\",\"c\":\"4111111111111111\"}", &r);
        CHECK(has(&r, "EMAIL") && has(&r, "CREDIT_DEBIT_CARD_NUMBER"));
    }
    /* the memo passes units over: a key with a literal in it ("token"), a
       number and a model name scanned clean ("role" and "user" have no
       trigger and no literal: the scanner passes them over anyway) */
    scan(warm, "{\"max_tokens\":4096,\"model\":\"llama-3.1-70b\"}", &r);
    scan(warm, "{\"max_tokens\":4096,\"model\":\"llama-3.1-70b\"}", &r);
    CHECK(r.memo_units == 3);
    if (r.memo_units != 3)
        fprintf(stderr, "memo_units %llu\n", (unsigned long long)r.memo_units);

    /* warm against cold over random bodies */
    static char body[4096];
    uint64_t passed = 0;
    size_t found = 0;
    for (int i = 0; i < 3000 && failures < 10; i++) {
        make_body(body, sizeof(body));
        static struct result a, b;
        struct cls_worker *cold = NULL;
        if (cls_worker_new(e, &cold) != 0)
            abort();
        scan(warm, body, &a);
        scan(cold, body, &b);
        cls_worker_free(cold);
        passed += a.memo_units;
        found += a.f.n;
        if (!same(&a, &b))
            FAIL("body %d: %zu findings with the memo, %zu without: %s", i, a.f.n, b.f.n, body);
    }
    if (passed < 3000)
        FAIL("the memo passed over only %llu units: the test does not exercise it",
             (unsigned long long)passed);
    if (found < 3000)
        FAIL("only %zu findings: the bodies do not exercise the scanner", found);
    cls_worker_free(warm);
    cls_engine_unref(e);
    if (failures)
        return 1;
    printf("test_scan_memo: ok (%zu findings, %llu units passed over)\n", found,
           (unsigned long long)passed);
    return 0;
}
