/* tests/unit/classifiers/test_scan_skip.c — windows that no gate can pass
 * are decided without being opened (classifiers/scan.c, skip_window). That
 * must not change one finding: random texts dense in numbers, dates,
 * versions, codes, context words, literal anchors, dictionary terms and
 * custom-regex hits are scanned with the skip on and off, each cut into
 * different random pieces (batched small pieces, long slices, keys between
 * units), and the findings must be identical. The default packs run alone
 * and with a dictionary and custom regexes (their literal hits take the
 * other path). Off also runs each regex from its window's start instead of
 * the first byte a match of a pattern with a left edge could start at, so
 * the texts also hold long tokens of capitals, digits and hex (windows
 * inside one token) with findings glued to them or after a separator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "../check.h"
#include "scan_feed.h"

static unsigned long long skipped_total;

static unsigned rnd(void)
{
    return (unsigned)rand();
}

static const char *const words[] = {
    "the", "in", "version", "order", "year", "ssn", "SSN:", "phone", "tel", "passport", "dob", "born",
    "card", "iban", "Steuer-ID", "bsn", "pesel", "contact", "mail", "call", "swift", "bic", "token",
    "password=", "api_key:", "secret", "AKIA", "sk-", "eyJ", "hf_", "ghp_", "://", "kalomi0", "borvize3",
    "KAB12-", "KQ", "AB", "DE", "GB", "FR", "X", "Y", "aws_secret_access_key", "from", "to", "see",
    /* two-byte letters: a window's left edge goes over them (left_edge) */
    "Stra\xc3\x9f\x65", "jos\xc3\xa9@", "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", "\xc3\xa9",
    /* an '@' after a bracket: its window reaches further back (at_reach) */
    "bob [@] ex.de", "[@]", "(@ ",
    /* valid values of patterns with a left edge of letters and digits
       (IBAN, access key, codice fiscale), found when nothing is glued
       before them */
    "DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "AKIAIOSFODNN7EXAMPLE", "RSSMRA85T10A562S",
};

static size_t put(char *b, size_t at, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (at + n > cap)
        return at;
    memcpy(b + at, s, n);
    return at + n;
}

/* one random token that may hold (parts of) findings */
static size_t token(char *b, size_t at, size_t cap)
{
    char t[96];
    int n = 0;
    switch (rnd() % 17) {
    case 0: n = snprintf(t, sizeof(t), "%u", 1900 + rnd() % 140); break;
    case 1: n = snprintf(t, sizeof(t), "%u.%u.%u", rnd() % 20, rnd() % 30, rnd() % 200); break;
    case 2: n = snprintf(t, sizeof(t), "%03u-%02u-%04u", rnd() % 999, rnd() % 99, rnd() % 9999); break;
    case 3: {
        int k = 5 + (int)(rnd() % 14);
        for (int i = 0; i < k; i++)
            t[n++] = (char)('0' + rnd() % 10);
        t[n] = '\0';
        break;
    }
    case 4: n = snprintf(t, sizeof(t), "%02u/%02u/%u", rnd() % 32, rnd() % 13, 1950 + rnd() % 70); break;
    case 5: n = snprintf(t, sizeof(t), "u%u@ex%u.com", rnd() % 99, rnd() % 9); break;
    case 6: n = snprintf(t, sizeof(t), "+%u %u %u %u", 1 + rnd() % 99, rnd() % 999, rnd() % 999, rnd() % 9999); break;
    case 7: n = snprintf(t, sizeof(t), "%c%c%u%c", 'A' + (int)(rnd() % 26), 'A' + (int)(rnd() % 26), rnd() % 9999999,
                         'A' + (int)(rnd() % 26)); break;
    case 8: n = snprintf(t, sizeof(t), "%u.%u.%u.%u", rnd() % 256, rnd() % 256, rnd() % 256, rnd() % 256); break;
    case 9: n = snprintf(t, sizeof(t), "%02x:%02x:%02x:%02x:%02x:%02x", rnd() % 256, rnd() % 256, rnd() % 256,
                         rnd() % 256, rnd() % 256, rnd() % 256); break;
    case 10: n = snprintf(t, sizeof(t), "DE%02u %04u %04u %04u %04u %02u", rnd() % 100, rnd() % 10000, rnd() % 10000,
                          rnd() % 10000, rnd() % 10000, rnd() % 100); break;
    case 11: n = snprintf(t, sizeof(t), "4111 1111 1111 %04u", rnd() % 10000); break;
    case 12: n = snprintf(t, sizeof(t), "KAB%u-%u", rnd() % 20, rnd() % 99999999); break;
    case 13: n = snprintf(t, sizeof(t), "%u:%u::%x", rnd() % 99, rnd() % 99, rnd() % 65536); break;
    case 14:
        if (rnd() % 4 == 0) {
            /* a long token (a key, a hash, an id) and what follows it glued
               or after one byte ('-', '.', '_', '/', '+' or none) */
            static const char *const alpha[] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "0123456789abcdef",
                                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"};
            static const char glue[] = "-._/+ ";
            const char *a = alpha[rnd() % 3];
            size_t al = strlen(a), k = 60 + rnd() % 2500;
            for (size_t i = 0; i < k && at + 100 < cap; i++)
                b[at++] = a[rnd() % al];
            if (rnd() % 3 && at + 1 < cap)
                b[at++] = glue[rnd() % (sizeof(glue) - 1)];
            return token(b, at, cap);
        }
        /* fall through */
    default: n = snprintf(t, sizeof(t), "%s", words[rnd() % (sizeof(words) / sizeof(words[0]))]); break;
    }
    (void)n;
    return put(b, at, cap, t);
}

static size_t gen_unit(char *b, size_t cap, size_t want)
{
    static const char *const seps[] = {" ", " ", " ", "\n", ", ", ". ", " - ", "; ", "(", ")", "\"", "=", ":"};
    size_t at = 0;
    static const char *const prose[] = {"the", "report", "was", "written", "about", "numbers", "and", "we"};
    while (at + 100 < cap && at < want) {
        /* prose with sparse numbers, as prompts are, between the tokens */
        if (rnd() % 3)
            at = put(b, at, cap, prose[rnd() % (sizeof(prose) / sizeof(prose[0]))]);
        else if (rnd() % 2)
            at = put(b, at, cap, rnd() % 2 ? "2024" : "v3");
        else
            at = token(b, at, cap);
        at = put(b, at, cap, seps[rnd() % (sizeof(seps) / sizeof(seps[0]))]);
    }
    return at;
}

/* units[] with keys[], each unit fed in random pieces of at most maxpiece */
static void scan(struct cls_worker *w, int skip, char **units, size_t *lens, const char **keys, size_t nu,
                 size_t maxpiece, struct fset *out)
{
    struct cls_scanner *sc = NULL;
    if (cls_scanner_new(w, 1, NULL, NULL, &sc) != 0)
        abort();
    cls_scanner_set_skip(sc, skip);
    feed_units(sc, units, lens, keys, nu, maxpiece, rnd);
    keep_findings(sc, out);
    if (skip)
        skipped_total += cls_scanner_stats(sc)->skipped;
    cls_scanner_free(sc);
}

static void run(struct cls_worker *w, const char *label, int rounds)
{
    static const char *const keys[] = {"content", "text", "ssn", "phone", "passport", "dob", "iban", "note"};
    static char store[24][8192];
    static struct fset a, b;
    char *units[24];
    size_t lens[24];
    const char *ukeys[24];
    size_t findings = 0;
    for (int r = 0; r < rounds && failures < 10; r++) {
        size_t nu = 1 + rnd() % 24;
        for (size_t u = 0; u < nu; u++) {
            units[u] = store[u];
            /* mostly JSON-string sized units, some long ones */
            size_t want = rnd() % 4 == 0 ? 2000 + rnd() % 6000 : 10 + rnd() % 300;
            lens[u] = gen_unit(store[u], sizeof(store[u]), want);
            ukeys[u] = rnd() % 2 ? keys[rnd() % (sizeof(keys) / sizeof(keys[0]))] : NULL;
        }
        unsigned seed = rnd();
        srand(seed);
        scan(w, 1, units, lens, ukeys, nu, 1 + rnd() % 3000, &a);
        srand(seed ^ 0x5bd1e995u);
        scan(w, 0, units, lens, ukeys, nu, 1 + rnd() % 3000, &b);
        srand(seed + 1);
        findings += a.n;
        int diff = a.n != b.n;
        for (size_t i = 0; i < a.n && !diff; i++)
            diff = !same_finding(&a.f[i], &b.f[i]);
        if (diff) {
            FAIL("%s round %d: skip on %zu findings, off %zu", label, r, a.n, b.n);
            for (size_t i = 0; i < a.n || i < b.n; i++)
                fprintf(stderr, "  %-30s %-30s\n", i < a.n ? a.f[i].type : "-", i < b.n ? b.f[i].type : "-");
        }
    }
    if (findings < (size_t)rounds)
        FAIL("%s: only %zu findings in %d rounds: the texts do not exercise the scanner", label, findings, rounds);
}

int main(void)
{
    srand(11);
    struct cls_worker *w = worker(NULL);
    run(w, "default packs", 250);
    cls_worker_free(w);

    static const char *const terms[] = {"kalomi0", "borvize3", "blue bird"};
    struct cls_dictionary d = {"CODENAME", terms, 3};
    struct cls_custom_regex rx[] = {{"TICKET", "\\bKAB[0-9]{1,2}-[0-9]{4,8}\\b", NULL},
                                    {"CODE", "[A-Z]{2}[0-9]{6}", NULL}};
    struct cls_config cfg = {0};
    cfg.dicts = &d;
    cfg.n_dicts = 1;
    cfg.regexes = rx;
    cfg.n_regexes = 2;
    w = worker(&cfg);
    run(w, "packs + dictionary + custom regexes", 150);
    cls_worker_free(w);

    if (skipped_total == 0)
        FAIL("no window was skipped: the test does not reach skip_window");
    if (failures)
        return 1;
    printf("test_scan_skip: ok (%llu windows skipped)\n", skipped_total);
    return 0;
}
