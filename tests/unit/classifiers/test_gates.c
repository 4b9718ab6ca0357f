/* tests/unit/classifiers/test_gates.c — a built-in pattern's gates (digit
 * and upper-case counts, required and alternative window features) only
 * decide whether its regex runs on a window, so each must hold for every
 * match of the regex (classifiers/packs.c). Checked on the matches of every
 * pattern in the labelled set and in random instances of the shapes whose
 * gates rest on a proof (a separator between digits, or a run): the
 * features of the matched bytes (a window holds at least those) must pass
 * the pattern's gates (a one-digit minimum excepted, see check_text). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "../check.h"

static size_t checked;
static size_t per_pattern[256]; /* matches checked per pattern */

static pcre2_code *codes[256];
static pcre2_match_data *md;

static void compile_all(void)
{
    if (cls_n_patterns > 256)
        abort();
    for (size_t i = 0; i < cls_n_patterns; i++) {
        int ec;
        PCRE2_SIZE eo;
        codes[i] = pcre2_compile((PCRE2_SPTR)cls_patterns[i].regex, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
        if (!codes[i])
            abort();
    }
    md = pcre2_match_data_create(16, NULL);
}

/* Can the match (ovector ov, rc groups) be a finding? Its value (group 1
 * with CLS_PF_VALUE) passes the validator, or the scanner may retry it
 * shorter at a separator (CLS_PF_TRIM) and a shorter one could. */
static int validates(const struct cls_pattern_def *d, const char *s, const PCRE2_SIZE *ov, int rc)
{
    size_t vs = ov[0], ve = ov[1];
    if ((d->pflags & CLS_PF_VALUE) && rc >= 2 && ov[2] != PCRE2_UNSET) {
        vs = ov[2];
        ve = ov[3];
    }
    if (d->validate(s + vs, ve - vs))
        return 1;
    if (d->pflags & CLS_PF_TRIM)
        for (size_t k = vs; k < ve; k++)
            if (s[k] == ' ' || s[k] == '-' || s[k] == '.' || s[k] == '/')
                return 1;
    return 0;
}

/* every match of every pattern in s[0, n) passes that pattern's gates;
 * with only_findings, every match that can be a finding (the labelled
 * set's texts hold random tokens, whose letters and digits match the IBAN
 * regex where no IBAN can be) */
static void check_text(const char *s, size_t n, int only_findings)
{
    for (size_t i = 0; i < cls_n_patterns; i++) {
        const struct cls_pattern_def *d = &cls_patterns[i];
        size_t off = 0;
        while (off < n) {
            int rc = pcre2_match(codes[i], (PCRE2_SPTR)s, n, off, 0, md, NULL);
            if (rc < 0)
                break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = ov[0], me = ov[1];
            if (only_findings && me > ms && d->validate && !validates(d, s, ov, rc)) {
                off = me;
                continue;
            }
            if (me > ms) {
                uint8_t buf[2048 + 64];
                size_t len = me - ms;
                if (len > 2048)
                    len = 2048;
                memset(buf, 0, sizeof(buf));
                memcpy(buf, s + ms, len);
                uint32_t f[3];
                cls_scan_window_features(buf, len, 1, f);
                /* min_digits 1 is exempt: it means "in a window opened on a
                   digit" (a digit-free IPv6 address such as dead:beef::cafe
                   is found only in a window that holds a digit) */
                int ok = (f[0] >= d->min_digits || d->min_digits <= 1) && f[1] >= d->min_upper && (f[2] & d->need_flags) == d->need_flags &&
                         (!d->any_flags || (f[2] & d->any_flags));
                checked++;
                per_pattern[i]++;
                if (!ok)
                    FAIL("%s (pattern %zu) matches \"%.*s\" but its gates fail (digits %u/%u, upper %u/%u, flags "
                         "%08x need %08x any %08x)",
                         cls_types[d->type].name, i, (int)len, s + ms, f[0], d->min_digits, f[1], d->min_upper,
                         f[2], d->need_flags, d->any_flags);
            }
            off = me > ms ? me : ms + 1;
        }
    }
}

static void test_labelled(void)
{
    FILE *fp = fopen("tests/data/classifiers/labelled.jsonl", "r");
    if (!fp) {
        FAIL("tests/data/classifiers/labelled.jsonl: not found (run from the repository root)");
        return;
    }
    char line[8192];
    size_t before = checked;
    while (fgets(line, sizeof(line), fp))
        check_text(line, strlen(line), 1);
    fclose(fp);
    if (checked - before < 300)
        FAIL("only %zu matches in the labelled set", checked - before);
}

static unsigned rnd(void)
{
    return (unsigned)rand();
}

static char dig(void)
{
    return (char)('0' + rnd() % 10);
}

/* random instances of the separated and run-shaped identifiers */
static void test_shapes(void)
{
    static const char hetu_sep[] = "-+ABCDEFUVWXY";
    static const char hetu_last[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
    char s[96];
    size_t before = checked;
    for (int r = 0; r < 20000; r++) {
        size_t n = 0;
        switch (rnd() % 12) {
        case 0: /* BE national number, dotted */
            n = (size_t)snprintf(s, sizeof(s), "%c%c.%c%c.%c%c-%c%c%c.%c%c", dig(), dig(), dig(), dig(), dig(), dig(),
                                 dig(), dig(), dig(), dig(), dig());
            break;
        case 1: /* SE personnummer */
            n = (size_t)snprintf(s, sizeof(s), "%s%c%c%c%c%c%c%c%c%c%c%c", rnd() % 2 ? (rnd() % 2 ? "19" : "20") : "",
                                 dig(), dig(), dig(), dig(), dig(), dig(), rnd() % 2 ? '-' : '+', dig(), dig(), dig(),
                                 dig());
            break;
        case 2: /* FI henkilötunnus */
            n = (size_t)snprintf(s, sizeof(s), "%c%c%c%c%c%c%c%c%c%c%c", dig(), dig(), dig(), dig(), dig(), dig(),
                                 hetu_sep[rnd() % (sizeof(hetu_sep) - 1)], dig(), dig(), dig(),
                                 hetu_last[rnd() % (sizeof(hetu_last) - 1)]);
            break;
        case 3: /* BR CPF, dotted */
            n = (size_t)snprintf(s, sizeof(s), "%c%c%c.%c%c%c.%c%c%c-%c%c", dig(), dig(), dig(), dig(), dig(), dig(),
                                 dig(), dig(), dig(), dig(), dig());
            break;
        case 4: /* KR RRN */
            n = (size_t)snprintf(s, sizeof(s), "%c%c%c%c%c%c-%c%c%c%c%c%c%c", dig(), dig(), dig(), dig(), dig(), dig(),
                                 (char)('1' + rnd() % 8), dig(), dig(), dig(), dig(), dig(), dig());
            break;
        case 6: { /* NANP phone: optional +1, area code with or without parentheses, separators;
                     or a national number: trunk 0, its area code in parentheses or not,
                     9 to 12 digits, any separator between two */
            static const char sep[] = " .-";
            if (rnd() % 3 == 0) {
                static const char nsep[] = " ./-";
                size_t area = 1 + rnd() % 4, total = 9 + rnd() % 4, k = 0;
                int paren = rnd() % 2;
                if (paren)
                    s[n++] = '(';
                s[n++] = '0';
                s[n++] = (char)('1' + rnd() % 9);
                for (k = 2; k < area + 1; k++)
                    s[n++] = dig();
                if (paren) {
                    s[n++] = ')';
                    if (rnd() % 2)
                        s[n++] = ' ';
                }
                for (; k < total; k++) {
                    if (rnd() % 3 == 0 && !(paren && s[n - 1] == ' '))
                        s[n++] = nsep[rnd() % 4];
                    s[n++] = dig();
                }
                s[n] = '\0';
                break;
            }
            char a = sep[rnd() % 3], b = sep[rnd() % 3], c = sep[rnd() % 3];
            const char *pre = rnd() % 2 ? "" : (rnd() % 2 ? "+1 " : "1-");
            if (rnd() % 2)
                n = (size_t)snprintf(s, sizeof(s), "%s(%c%c%c)%s%c%c%c%c%c%c%c%c", pre, (char)('2' + rnd() % 8), dig(),
                                     dig(), rnd() % 2 ? " " : "", (char)('2' + rnd() % 8), dig(), dig(), b, dig(), dig(),
                                     dig(), dig());
            else
                n = (size_t)snprintf(s, sizeof(s), "%s%c%c%c%c%c%c%c%c%c%c%c%c", pre, (char)('2' + rnd() % 8), dig(),
                                     dig(), a, (char)('2' + rnd() % 8), dig(), dig(), c, dig(), dig(), dig(), dig());
            break;
        }
        case 7: { /* UK national insurance number, each space optional */
            char g[4][2] = {{dig(), dig()}, {dig(), dig()}, {dig(), dig()}, {0, 0}};
            const char *sp[4];
            for (int k = 0; k < 4; k++)
                sp[k] = rnd() % 2 ? " " : "";
            n = (size_t)snprintf(s, sizeof(s), "%c%c%s%c%c%s%c%c%s%c%c%s%c", (char)('A' + rnd() % 26),
                                 (char)('A' + rnd() % 26), sp[0], g[0][0], g[0][1], sp[1], g[1][0], g[1][1], sp[2],
                                 g[2][0], g[2][1], sp[3], (char)('A' + rnd() % 4));
            break;
        }
        case 8: { /* card number: 13 to 19 digits, any of them after a space or a dash */
            size_t nd = 13 + rnd() % 7;
            s[n++] = dig();
            for (size_t k = 1; k < nd; k++) {
                unsigned sepk = rnd() % 6;
                if (sepk == 0)
                    s[n++] = ' ';
                else if (sepk == 1)
                    s[n++] = '-';
                s[n++] = dig();
            }
            s[n] = '\0';
            break;
        }
        case 9: { /* FR NIR, whole, its key apart or all seven groups apart;
                     department 2A/2B or digits */
            const char *sp[6];
            unsigned mode = rnd() % 3;
            for (int k = 0; k < 6; k++)
                sp[k] = mode == 2 || (mode == 1 && k == 5) ? " " : "";
            char dep[3] = {dig(), dig(), 0};
            if (rnd() % 3 == 0) {
                dep[0] = '2';
                dep[1] = rnd() % 2 ? 'A' : 'B';
            }
            n = (size_t)snprintf(s, sizeof(s), "%c%s%c%c%s%c%c%s%s%s%c%c%c%s%c%c%c%s%c%c", "1278"[rnd() % 4], sp[0],
                                 dig(), dig(), sp[1], dig(), dig(), sp[2], dep, sp[3], dig(), dig(), dig(), sp[4], dig(),
                                 dig(), dig(), sp[5], dig(), dig());
            break;
        }
        case 10: { /* IT codice fiscale, omocodia letters for any digit */
            static const char od[] = "0123456789LMNPQRSTUV", mon[] = "ABCDEHLMPRST";
            for (int k = 0; k < 16; k++)
                s[k] = (char)('A' + rnd() % 26);
            s[6] = od[rnd() % 20];
            s[7] = od[rnd() % 20];
            s[8] = mon[rnd() % 12];
            s[9] = od[rnd() % 20];
            s[10] = od[rnd() % 20];
            for (int k = 12; k < 15; k++)
                s[k] = od[rnd() % 20];
            s[16] = '\0';
            n = 16;
            break;
        }
        case 11: { /* EU VAT number: RO (2 to 10 digits), old-style IE, or any country's form */
            /* d digit, b 0 or 1, a [A-Z0-9], u [A-Z], x [A-Z0-9+*], o [A-Z] or nothing */
            static const char *const form[] = {
                "ATUdddddddd", "BEbddddddddd", "BGddddddddd", "BGdddddddddd", "CYddddddddu", "CZdddddddd",
                "CZddddddddd", "CZdddddddddd", "DEddddddddd", "DKdddddddd", "EEddddddddd", "ELddddddddd",
                "ESadddddddda", "FIdddddddd", "FRaaddddddddd", "HRddddddddddd", "HUdddddddd", "IEdxddddduo",
                "ITddddddddddd", "LTddddddddd", "LTdddddddddddd", "LUdddddddd", "LVddddddddddd", "MTdddddddd",
                "NLdddddddddBdd", "PLdddddddddd", "PTddddddddd", "SEdddddddddd01", "SIdddddddd", "SKdddddddddd"};
            static const char an[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+*";
            unsigned kind = rnd() % 3;
            if (kind == 0) { /* RO: 2 to 10 digits */
                size_t nd = 2 + rnd() % 9;
                s[n++] = 'R';
                s[n++] = 'O';
                for (size_t k = 0; k < nd; k++)
                    s[n++] = dig();
                s[n] = '\0';
                break;
            }
            const char *f = kind == 1 ? "IEdxddddduo" : form[rnd() % (sizeof(form) / sizeof(form[0]))];
            for (; *f; f++) {
                switch (*f) {
                case 'd': s[n++] = dig(); break;
                case 'b': s[n++] = (char)('0' + rnd() % 2); break;
                case 'a': s[n++] = an[rnd() % 36]; break;
                case 'u': s[n++] = an[rnd() % 26]; break;
                case 'x': s[n++] = an[rnd() % 38]; break;
                case 'o':
                    if (rnd() % 2)
                        s[n++] = an[rnd() % 26];
                    break;
                default: s[n++] = *f; break;
                }
            }
            s[n] = '\0';
            break;
        }
        default: { /* CN resident ID */
            static const char *const cent[] = {"18", "19", "20"};
            unsigned m = 1 + rnd() % 12, dd = rnd() % 32;
            n = (size_t)snprintf(s, sizeof(s), "%c%c%c%c%c%c%s%c%c%02u%02u%c%c%c%c", (char)('1' + rnd() % 9), dig(),
                                 dig(), dig(), dig(), dig(), cent[rnd() % 3], dig(), dig(), m, dd, dig(), dig(), dig(),
                                 "0123456789Xx"[rnd() % 12]);
            break;
        }
        }
        check_text(s, n, 0);
    }
    /* the shapes above must be matched (else nothing was checked) */
    if (checked - before < 20000)
        FAIL("only %zu matches of the generated shapes", checked - before);
    static const char *const shaped[] = {"BE_NATIONAL_NUMBER", "SE_PERSONAL_NUMBER", "FI_PERSONAL_IDENTITY_CODE",
                                         "BR_CPF", "KR_RRN", "CN_RESIDENT_ID", "PHONE",
                                         "UK_NATIONAL_INSURANCE_NUMBER", "CREDIT_DEBIT_CARD_NUMBER", "FR_NIR",
                                         "IT_FISCAL_CODE", "EU_VAT_NUMBER"};
    for (size_t k = 0; k < sizeof(shaped) / sizeof(shaped[0]); k++) {
        size_t got = 0;
        for (size_t i = 0; i < cls_n_patterns; i++)
            if (strcmp(cls_types[cls_patterns[i].type].name, shaped[k]) == 0)
                got += per_pattern[i];
        if (got < 500)
            FAIL("%s: only %zu generated matches", shaped[k], got);
    }
}

int main(void)
{
    srand(4242);
    compile_all();
    test_labelled();
    test_shapes();
    for (size_t i = 0; i < cls_n_patterns; i++)
        pcre2_code_free(codes[i]);
    pcre2_match_data_free(md);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("ok: %zu matches checked\n", checked);
    return 0;
}
