/* tests/unit/classifiers/test_scan_short.c — the short path of the
 * unopened-window skip (classifiers/scan.c, short_impl) decides a digit's
 * window from one 64-byte block and a bound of its features. It may only
 * skip a window that skip_window skips too, at the same end and with the
 * same length. Random texts built to sit on the short path's edges (units
 * that begin or end next to a number, token runs longer than the block,
 * windows that close at the block's end, literal hits right after a
 * number, capitals and punctuation at the counted flags' thresholds,
 * context words) are scanned in check mode (cls_scanner_set_short(sc, 2):
 * both paths run, skip_window decides, every disagreement is counted),
 * cut into random pieces; a second pass with the short path on and off
 * must give identical findings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "../check.h"
#include "scan_feed.h"

static unsigned long long decided, bad, skipped, windows;

static unsigned rnd(void)
{
    return (unsigned)rand();
}

static size_t put(char *b, size_t at, size_t cap, const char *s, size_t n)
{
    if (at + n > cap)
        return at;
    memcpy(b + at, s, n);
    return at + n;
}

static size_t puts_(char *b, size_t at, size_t cap, const char *s)
{
    return put(b, at, cap, s, strlen(s));
}

static size_t digits(char *b, size_t at, size_t cap, unsigned k)
{
    for (unsigned i = 0; i < k && at < cap; i++)
        b[at++] = (char)('0' + rnd() % 10);
    return at;
}

static const char *const words[] = {
    "the", "a", "version", "Order", "YEAR", "ssn", "SSN:", "dob", "born", "passport", "phone", "iban", "bsn",
    "pesel", "card", "tel", "AB", "ABC", "ABCDEF", "X", "Q", "DE", "RO", "IE", "AKIA", "ghp_", "sk-", "eyJ",
    "kalomi0", "borvize3", "KAB1-", "user", "mail", "about", "see", "x@y.z", "a-b", "c.d", "e/f", "g:h", "i=j",
    "k+l", "(m)", "ref: ", "ref:", "Stra\xc3\x9f\x65", "jos\xc3\xa9@", "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd",
    "[@]",
};

/* separators, neutral or not: the window's bytes around the number */
static const char *const seps[] = {" ", " ", " ", "", "\n", ",", ", ", ".", ". ", "-", "/", ":", "%", "#",
                                   "(", ")", "\"", "=", "+", "@", "\t", "\xc3\xa9", "_", "AB", "Z"};

/* a number shape: runs of digits with punctuation between them, at and
   around the thresholds the bound counts (3 dots, 2 colons, 5 seps) */
static size_t number(char *b, size_t at, size_t cap)
{
    static const char punct[] = ".:-/ .:-/,+";
    if (rnd() % 8 == 0) {
        /* dotted: three dots between digits (IP3) or not quite */
        unsigned groups = 3 + rnd() % 3;
        for (unsigned g = 0; g < groups; g++) {
            if (g)
                at = put(b, at, cap, rnd() % 6 ? "." : ". ", rnd() % 6 ? 1 : 2);
            at = digits(b, at, cap, rnd() % 4);
        }
        return at;
    }
    unsigned groups = 1 + rnd() % (rnd() % 3 ? 2 : 6);
    for (unsigned g = 0; g < groups; g++) {
        if (g)
            at = put(b, at, cap, &punct[rnd() % (sizeof(punct) - 1)], 1);
        at = digits(b, at, cap, 1 + rnd() % (rnd() % 4 ? 4 : 18));
    }
    return at;
}

static size_t gen_unit(char *b, size_t cap, size_t want)
{
    size_t at = 0;
    /* sometimes the unit opens with a number (room < 4, a window that
       starts at the unit's start) */
    if (rnd() % 4 == 0)
        at = number(b, at, cap);
    while (at + 120 < cap && at < want) {
        unsigned r = rnd() % 16;
        if (r < 6)
            at = number(b, at, cap);
        else if (r < 12)
            at = puts_(b, at, cap, words[rnd() % (sizeof(words) / sizeof(words[0]))]);
        else if (r == 12) {
            /* a token run longer than the block's 28 bytes before the
               trigger: the left edge lies outside the block */
            unsigned k = 20 + rnd() % 50;
            for (unsigned i = 0; i < k; i++)
                b[at++] = "ab_c.d-e/f:g"[rnd() % 12];
            at = digits(b, at, cap, 1 + rnd() % 6);
        } else if (r == 13) {
            /* a window ending near the block's end: digits, then tokens
               up to about 32 bytes */
            at = digits(b, at, cap, 1 + rnd() % 4);
            unsigned k = 20 + rnd() % 16;
            for (unsigned i = 0; i < k; i++)
                b[at++] = (char)(i % 7 == 6 ? ' ' : 'a' + (char)(rnd() % 26));
        } else if (r == 14) {
            /* capitals around digits: UD, DU, UUD, AU6, UP6 */
            unsigned k = rnd() % 7;
            for (unsigned i = 0; i < k; i++)
                b[at++] = (char)('A' + rnd() % 26);
            at = digits(b, at, cap, 1 + rnd() % 8);
            k = rnd() % 3;
            for (unsigned i = 0; i < k; i++)
                b[at++] = (char)('A' + rnd() % 26);
        } else {
            /* a literal hit right after a number: inside its window or on
               the byte where it would close */
            at = digits(b, at, cap, 1 + rnd() % 3);
            at = put(b, at, cap, "abcdef", rnd() % 7);
            at = puts_(b, at, cap, rnd() % 2 ? "AKIA" : "ref: ");
        }
        at = puts_(b, at, cap, seps[rnd() % (sizeof(seps) / sizeof(seps[0]))]);
    }
    /* and sometimes it closes with one (the window ends with the unit) */
    if (rnd() % 3 == 0)
        at = number(b, at, cap);
    return at;
}

/* units[] with keys[], each unit fed in random pieces of at most maxpiece */
static void scan(struct cls_worker *w, int mode, char **units, size_t *lens, const char **keys, size_t nu,
                 size_t maxpiece, struct fset *out)
{
    struct cls_scanner *sc = NULL;
    if (cls_scanner_new(w, 1, NULL, NULL, &sc) != 0)
        abort();
    cls_scanner_set_short(sc, mode);
    feed_units(sc, units, lens, keys, nu, maxpiece, rnd);
    const struct cls_scan_stats *st = cls_scanner_stats(sc);
    if (mode == 2) {
        decided += st->short_decided;
        bad += st->short_bad;
        skipped += st->skipped;
        windows += st->windows;
    }
    if (out)
        keep_findings(sc, out);
    cls_scanner_free(sc);
}

static void run(struct cls_worker *w, const char *label, int rounds)
{
    static const char *const keys[] = {"content", "text", "ssn", "phone", "passport", "dob", "iban", "note"};
    static char store[24][9000];
    static struct fset a, b;
    char *units[24];
    size_t lens[24];
    const char *ukeys[24];
    unsigned long long bad0 = bad;
    for (int r = 0; r < rounds && failures < 10; r++) {
        size_t nu = 1 + rnd() % 24;
        for (size_t u = 0; u < nu; u++) {
            units[u] = store[u];
            /* short units (batched), JSON-string sized, and long ones fed
               in slices (triggers near the slices' edges) */
            unsigned k = rnd() % 8;
            size_t want = k == 0 ? 1 + rnd() % 12 : k < 6 ? 10 + rnd() % 300 : 2000 + rnd() % 6800;
            lens[u] = gen_unit(store[u], sizeof(store[u]), want);
            ukeys[u] = rnd() % 2 ? keys[rnd() % (sizeof(keys) / sizeof(keys[0]))] : NULL;
        }
        unsigned seed = rnd();
        size_t maxpiece = rnd() % 2 ? 1 + rnd() % 40 : 1 + rnd() % 5000;
        srand(seed);
        scan(w, 2, units, lens, ukeys, nu, maxpiece, NULL);
        srand(seed);
        scan(w, 1, units, lens, ukeys, nu, maxpiece, &a);
        srand(seed);
        scan(w, 0, units, lens, ukeys, nu, maxpiece, &b);
        srand(seed + 1);
        int diff = a.n != b.n;
        for (size_t i = 0; i < a.n && !diff; i++)
            diff = !same_finding(&a.f[i], &b.f[i]);
        if (diff)
            FAIL("%s round %d: short path on %zu findings, off %zu", label, r, a.n, b.n);
    }
    if (bad != bad0)
        FAIL("%s: the short path skipped %llu windows that skip_window does not skip alike", label, bad - bad0);
}

int main(void)
{
    srand(23);
    struct cls_worker *w = worker(NULL);
    run(w, "default packs", 300);
    cls_worker_free(w);

    /* one pack alone: other gates, other verdicts */
    static const char *const eu[] = {"pii-eu"};
    struct cls_config one = {0};
    one.packs = eu;
    one.n_packs = 1;
    w = worker(&one);
    run(w, "pii-eu", 80);
    cls_worker_free(w);

    /* "ref: " ends on a byte that closes windows: a literal hit there */
    static const char *const terms[] = {"kalomi0", "borvize3", "blue bird", "ref: "};
    struct cls_dictionary d = {"CODENAME", terms, 4};
    struct cls_custom_regex rx[] = {{"TICKET", "\\bKAB[0-9]{1,2}-[0-9]{4,8}\\b", NULL}};
    struct cls_config cfg = {0};
    cfg.dicts = &d;
    cfg.n_dicts = 1;
    cfg.regexes = rx;
    cfg.n_regexes = 1;
    w = worker(&cfg);
    run(w, "packs + dictionary + custom regex", 120);
    cls_worker_free(w);

    /* the test must reach the short path, on both sides of its verdicts */
    if (decided < skipped / 3)
        FAIL("the short path decided %llu of %llu skipped windows: the texts do not exercise it", decided, skipped);
    if (skipped == decided || windows == skipped)
        FAIL("every window went one way (%llu windows, %llu skipped, %llu by the short path)", windows, skipped,
             decided);
    if (failures)
        return 1;
    printf("test_scan_short: ok (%llu windows, %llu skipped, %llu of them by the short path)\n", windows, skipped,
           decided);
    return 0;
}
