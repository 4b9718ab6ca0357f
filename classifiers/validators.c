/* classifiers/validators.c — checksums and structural rules that turn a
 * pattern match into a finding. Each one is small, allocation-free and
 * works on the matched text with its separators. */
#include "classifiers/validators.h"
#include "classifiers/engine.h" /* cls_case_lower */

#include <math.h>
#include <string.h>
#include <strings.h>

#include "common/sgw.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static char up(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}

size_t cls_digits(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            continue;
        if (k == cap)
            return cap + 1;
        out[k++] = s[i];
    }
    return k;
}

/* Copies the ASCII letters and digits of s, upper-cased; cap + 1 on overflow. */
static size_t alnum_up(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = up(s[i]);
        if (!is_digit(c) && !is_upper(c))
            continue;
        if (k == cap)
            return cap + 1;
        out[k++] = c;
    }
    return k;
}

static int all_same(const char *d, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (d[i] != d[0])
            return 0;
    return 1;
}

static unsigned num(const char *d, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10u + (unsigned)(d[i] - '0');
    return v;
}

static int luhn_digits(const char *d, size_t n)
{
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(d[n - 1 - i] - '0');
        if (i & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

int cls_v_luhn(const char *s, size_t n)
{
    char d[24];
    size_t k = cls_digits(s, n, d, 19);
    return k >= 2 && k <= 19 && luhn_digits(d, k);
}

/* The digit groups of a card number between its separators: none, groups
 * of four (the last one to four digits), 4-6-5 or 4-6-4 (American
 * Express, Diners), or a digit at a time. Numbers of a table ("50 55 59
 * 64 69 74 79 84", "36974 37078 37183") pass Luhn one time in ten. */
static int card_groups(const char *s, size_t n)
{
    size_t g[20], ng = 0, cur = 0, ones = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            cur++;
            continue;
        }
        if (cur) {
            if (ng == SGW_ARRAY_LEN(g))
                return 0;
            ones += cur == 1;
            g[ng++] = cur;
            cur = 0;
        }
    }
    if (ng <= 1 || ones == ng)
        return 1;
    if (ng == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4))
        return 1;
    for (size_t k = 0; k + 1 < ng; k++)
        if (g[k] != 4)
            return 0;
    return g[ng - 1] <= 4;
}

/* The card's number checks out: 17 to 19 digits written without
 * separators are as often an int64 id or a nonce (a Java long has 19
 * digits, and one in twenty random ones passes Luhn with an issuer's
 * prefix: "reqNonce: 3843061514398340071"): reported next to a context
 * word only (a JSON key "card_number" is one). */
static int card_shape(const char *s, size_t n, size_t k)
{
    return k >= 17 && k == n ? CLS_V_NEEDCTX : 1;
}

int cls_v_card(const char *s, size_t n)
{
    char d[24];
    size_t k = cls_digits(s, n, d, 19);
    if (k < 13 || k > 19 || !luhn_digits(d, k) || all_same(d, k) || !card_groups(s, n))
        return 0;
    unsigned p2 = num(d, 2), p3 = num(d, 3), p4 = num(d, 4), p6 = num(d, 6);
    int ok;
    if (d[0] == '4') /* Visa */
        ok = k == 13 || k == 16 || k == 19;
    else if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) /* Mastercard */
        ok = k == 16;
    else if (p2 == 34 || p2 == 37) /* American Express */
        ok = k == 15;
    else if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        ok = k >= 16 && k <= 19; /* Discover */
    else if (p4 >= 3528 && p4 <= 3589) /* JCB */
        ok = k >= 16 && k <= 19;
    else if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305)) /* Diners */
        ok = k >= 14 && k <= 19;
    else if (p2 == 62) /* UnionPay */
        ok = k >= 16 && k <= 19;
    else if (p2 == 50 || (p2 >= 56 && p2 <= 69)) /* Maestro */
        ok = k >= 12 && k <= 19;
    else
        ok = 0;
    return ok ? card_shape(s, n, k) : 0;
}

/* ISO 7064 mod 97-10 over an upper-case alphanumeric string (letters count
 * as two digits, A = 10). Returns the remainder. */
static unsigned mod97_str(const char *a, size_t n)
{
    unsigned r = 0;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (is_digit(c))
            r = (r * 10u + (unsigned)(c - '0')) % 97u;
        else
            r = (r * 100u + (unsigned)(c - 'A' + 10)) % 97u;
    }
    return r;
}

int cls_v_mod97(const char *s, size_t n)
{
    char a[64];
    size_t k = alnum_up(s, n, a, 60);
    if (k < 5 || k > 60)
        return 0;
    /* rotate the first four characters to the end, as IBAN and ISO 7064 do */
    char b[64];
    memcpy(b, a + 4, k - 4);
    memcpy(b + k - 4, a, 4);
    return mod97_str(b, k) == 1;
}

struct iban_len {
    char cc[3];
    uint8_t len;
};

/* IBAN registry lengths (SWIFT, release 2024). */
static const struct iban_len iban_lens[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
    {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
    {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
    {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

int cls_v_iban(const char *s, size_t n)
{
    char a[40];
    size_t k = alnum_up(s, n, a, 34);
    if (k < 15 || k > 34 || !is_upper(a[0]) || !is_upper(a[1]) || !is_digit(a[2]) ||
        !is_digit(a[3]))
        return 0;
    for (size_t i = 0; i < SGW_ARRAY_LEN(iban_lens); i++) {
        if (iban_lens[i].cc[0] == a[0] && iban_lens[i].cc[1] == a[1]) {
            if (k != iban_lens[i].len)
                return 0;
            return cls_v_mod97(a, k);
        }
    }
    return 0;
}

int cls_v_aba(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 9) != 9)
        return 0;
    unsigned p2 = num(d, 2);
    /* Federal Reserve routing symbol prefixes: 00-12, 21-32, 61-72, 80 */
    if (!(p2 <= 12 || (p2 >= 21 && p2 <= 32) || (p2 >= 61 && p2 <= 72) || p2 == 80))
        return 0;
    if (all_same(d, 9))
        return 0;
    unsigned v[9];
    for (int i = 0; i < 9; i++)
        v[i] = (unsigned)(d[i] - '0');
    unsigned sum = 3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8]);
    return sum % 10 == 0;
}

int cls_v_us_ssn(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 9) != 9)
        return 0;
    unsigned area = num(d, 3), group = num(d + 3, 2), serial = num(d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return 0;
    /* famous published non-numbers: the Woolworth wallet card and ad samples */
    if ((area == 78 && group == 5 && serial == 1120) || (area == 219 && group == 9 && serial == 9999))
        return 0;
    if (memcmp(d, "123456789", 9) == 0 || all_same(d, 9))
        return 0;
    return 1;
}

int cls_v_us_itin(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 9) != 9 || d[0] != '9')
        return 0;
    unsigned g = num(d + 3, 2);
    return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) ||
           (g >= 94 && g <= 99);
}

int cls_v_uk_nhs(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 10) != 10 || all_same(d, 10))
        return 0;
    unsigned sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (unsigned)(d[i] - '0') * (unsigned)(10 - i);
    unsigned c = 11 - sum % 11;
    if (c == 11)
        c = 0;
    if (c == 10)
        return 0;
    return c == (unsigned)(d[9] - '0');
}

int cls_v_uk_nino(const char *s, size_t n)
{
    char a[12];
    size_t k = alnum_up(s, n, a, 9);
    if (k != 9 || !is_upper(a[0]) || !is_upper(a[1]) || !is_upper(a[8]))
        return 0;
    for (int i = 2; i < 8; i++)
        if (!is_digit(a[i]))
            return 0;
    if (strchr("DFIQUV", a[0]) || strchr("DFIOQUV", a[1]))
        return 0;
    static const char *const bad[] = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(bad); i++)
        if (a[0] == bad[i][0] && a[1] == bad[i][1])
            return 0;
    return a[8] >= 'A' && a[8] <= 'D';
}

int cls_v_ca_sin(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 9) != 9 || d[0] == '8' || all_same(d, 9))
        return 0;
    return luhn_digits(d, 9);
}

static const uint8_t verhoeff_d[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
    {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
    {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
    {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
};
static const uint8_t verhoeff_p[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
    {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
    {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
};

static int verhoeff_digits(const char *d, size_t k)
{
    unsigned c = 0;
    for (size_t i = 0; i < k; i++)
        c = verhoeff_d[c][verhoeff_p[i % 8][d[k - 1 - i] - '0']];
    return c == 0;
}

int cls_v_verhoeff(const char *s, size_t n)
{
    char d[40];
    size_t k = cls_digits(s, n, d, 32);
    return k >= 2 && k <= 32 && verhoeff_digits(d, k);
}

int cls_v_in_aadhaar(const char *s, size_t n)
{
    char d[16];
    if (cls_digits(s, n, d, 12) != 12 || d[0] == '0' || d[0] == '1' || all_same(d, 12))
        return 0;
    return verhoeff_digits(d, 12);
}

int cls_v_in_pan(const char *s, size_t n)
{
    if (n != 10)
        return 0;
    for (int i = 0; i < 5; i++)
        if (!is_upper(s[i]))
            return 0;
    for (int i = 5; i < 9; i++)
        if (!is_digit(s[i]))
            return 0;
    if (!is_upper(s[9]))
        return 0;
    /* fourth letter is the holder type */
    return strchr("ABCFGHLJPTK", s[3]) != NULL;
}

static int leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int valid_ymd(unsigned y, unsigned m, unsigned d)
{
    static const uint8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return 0;
    unsigned lim = mdays[m - 1] + (m == 2 && leap(y) ? 1u : 0u);
    return d <= lim;
}

int cls_v_cn_id(const char *s, size_t n)
{
    char a[20];
    size_t k = alnum_up(s, n, a, 18);
    if (k != 18)
        return 0;
    for (int i = 0; i < 17; i++)
        if (!is_digit(a[i]))
            return 0;
    if (!is_digit(a[17]) && a[17] != 'X')
        return 0;
    unsigned y = num(a + 6, 4), m = num(a + 10, 2), d = num(a + 12, 2);
    if (y < 1900 || y > 2100 || !valid_ymd(y, m, d))
        return 0;
    static const uint8_t w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    unsigned sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (unsigned)(a[i] - '0') * w[i];
    return "10X98765432"[sum % 11] == a[17];
}

/* ISO 7064 MOD 11,10 check digit over d[0..k). */
static unsigned mod11_10(const char *d, size_t k)
{
    unsigned product = 10;
    for (size_t i = 0; i < k; i++) {
        unsigned sum = ((unsigned)(d[i] - '0') + product) % 10;
        if (sum == 0)
            sum = 10;
        product = (2 * sum) % 11;
    }
    unsigned c = 11 - product;
    return c == 10 ? 0 : c;
}

int cls_v_de_taxid(const char *s, size_t n)
{
    char d[16];
    if (cls_digits(s, n, d, 11) != 11 || d[0] == '0')
        return 0;
    /* in the first ten digits exactly one digit repeats (twice or thrice) */
    unsigned cnt[10] = {0};
    for (int i = 0; i < 10; i++)
        cnt[d[i] - '0']++;
    unsigned multi = 0, zero = 0;
    for (int i = 0; i < 10; i++) {
        if (cnt[i] > 3)
            return 0;
        if (cnt[i] > 1)
            multi++;
        if (cnt[i] == 0)
            zero++;
    }
    if (multi != 1 || zero < 1 || zero > 2)
        return 0;
    return mod11_10(d, 10) == (unsigned)(d[10] - '0');
}

int cls_v_fr_nir(const char *s, size_t n)
{
    char a[20];
    size_t k = alnum_up(s, n, a, 15);
    if (k != 15 || (a[0] != '1' && a[0] != '2' && a[0] != '7' && a[0] != '8'))
        return 0;
    /* Corsica: department 2A counts as 19, 2B as 18 in the key */
    unsigned long long v = 0;
    unsigned long long sub = 0;
    for (int i = 0; i < 13; i++) {
        char c = a[i];
        if (i == 6 && a[5] == '2' && (c == 'A' || c == 'B')) {
            sub = (c == 'A') ? 1000000ULL : 2000000ULL;
            c = '0';
        }
        if (!is_digit(c))
            return 0;
        v = v * 10 + (unsigned)(c - '0');
    }
    v -= sub;
    unsigned m = num(a + 3, 2);
    if (!((m >= 1 && m <= 12) || (m >= 20 && m <= 42) || (m >= 50 && m <= 99)))
        return 0;
    if (!is_digit(a[13]) || !is_digit(a[14]))
        return 0;
    unsigned key = (unsigned)(97 - v % 97);
    return key == num(a + 13, 2);
}

static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

int cls_v_es_dni(const char *s, size_t n)
{
    char a[12];
    size_t k = alnum_up(s, n, a, 9);
    if (k != 9 || !is_upper(a[8]))
        return 0;
    for (int i = 0; i < 8; i++)
        if (!is_digit(a[i]))
            return 0;
    return dni_letters[num(a, 8) % 23] == a[8];
}

int cls_v_es_nie(const char *s, size_t n)
{
    char a[12];
    size_t k = alnum_up(s, n, a, 9);
    if (k != 9 || !is_upper(a[8]))
        return 0;
    unsigned lead;
    if (a[0] == 'X')
        lead = 0;
    else if (a[0] == 'Y')
        lead = 1;
    else if (a[0] == 'Z')
        lead = 2;
    else
        return 0;
    for (int i = 1; i < 8; i++)
        if (!is_digit(a[i]))
            return 0;
    return dni_letters[(lead * 10000000u + num(a + 1, 7)) % 23] == a[8];
}

int cls_v_it_cf(const char *s, size_t n)
{
    /* value of a character in an odd (1st, 3rd, ...) position; digits map
       like the letter at the same index (0 -> A) */
    static const uint8_t odd[26] = {1,  0,  5,  7,  9,  13, 15, 17, 19, 21, 2,  4,  18,
                                    20, 11, 3,  6,  8,  12, 14, 16, 10, 22, 25, 24, 23};
    char a[20];
    size_t k = alnum_up(s, n, a, 16);
    if (k != 16)
        return 0;
    /* positions 0-5 and 8, 11, 15 are letters; the rest digits (or the
       omocodia substitution letters LMNPQRSTUV) */
    static const char omocodia[] = "LMNPQRSTUV";
    for (int i = 0; i < 16; i++) {
        int letter_pos = i < 6 || i == 8 || i == 11 || i == 15;
        if (letter_pos) {
            if (!is_upper(a[i]))
                return 0;
        } else if (!is_digit(a[i]) && !(is_upper(a[i]) && strchr(omocodia, a[i]))) {
            return 0;
        }
    }
    if (!strchr("ABCDEHLMPRST", a[8]))
        return 0;
    unsigned sum = 0;
    for (int i = 0; i < 15; i++) {
        char c = a[i];
        unsigned idx = is_digit(c) ? (unsigned)(c - '0') : (unsigned)(c - 'A');
        sum += (i % 2 == 0) ? odd[idx] : idx;
    }
    return (char)('A' + sum % 26) == a[15];
}

int cls_v_nl_bsn(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 9) != 9 || all_same(d, 9))
        return 0;
    int sum = 0;
    for (int i = 0; i < 8; i++)
        sum += (d[i] - '0') * (9 - i);
    sum -= d[8] - '0';
    return sum % 11 == 0;
}

int cls_v_be_nrn(const char *s, size_t n)
{
    char d[14];
    if (cls_digits(s, n, d, 11) != 11)
        return 0;
    unsigned long long base = 0;
    for (int i = 0; i < 9; i++)
        base = base * 10 + (unsigned)(d[i] - '0');
    unsigned chk = num(d + 9, 2);
    unsigned m = num(d + 2, 2);
    if (m > 12 && !(m >= 20 && m <= 32) && !(m >= 40 && m <= 52))
        return 0;
    if (97 - base % 97 == chk)
        return 1;
    return 97 - (2000000000ULL + base) % 97 == chk; /* born 2000 or later */
}

int cls_v_pl_pesel(const char *s, size_t n)
{
    char d[14];
    if (cls_digits(s, n, d, 11) != 11 || all_same(d, 11))
        return 0;
    static const uint8_t w[10] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
    unsigned sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (unsigned)(d[i] - '0') * w[i];
    if ((10 - sum % 10) % 10 != (unsigned)(d[10] - '0'))
        return 0;
    /* month carries the century: +80 1800s, +0 1900s, +20 2000s, +40, +60 */
    unsigned yy = num(d, 2), mm = num(d + 2, 2), dd = num(d + 4, 2);
    unsigned century = 1900;
    if (mm > 80) {
        century = 1800;
        mm -= 80;
    } else if (mm > 60) {
        century = 2200;
        mm -= 60;
    } else if (mm > 40) {
        century = 2100;
        mm -= 40;
    } else if (mm > 20) {
        century = 2000;
        mm -= 20;
    }
    return valid_ymd(century + yy, mm, dd);
}

int cls_v_se_pnr(const char *s, size_t n)
{
    char d[16];
    size_t k = cls_digits(s, n, d, 12);
    if (k != 10 && k != 12)
        return 0;
    const char *p = d + (k - 10);
    unsigned mm = num(p + 2, 2), dd = num(p + 4, 2);
    if (dd > 60)
        dd -= 60; /* samordningsnummer */
    if (!valid_ymd(2000, mm, dd))
        return 0;
    return luhn_digits(p, 10);
}

int cls_v_fi_hetu(const char *s, size_t n)
{
    if (n != 11)
        return 0;
    for (int i = 0; i < 6; i++)
        if (!is_digit(s[i]))
            return 0;
    if (!strchr("+-ABCDEFUVWXY", s[6]))
        return 0;
    for (int i = 7; i < 10; i++)
        if (!is_digit(s[i]))
            return 0;
    if (!valid_ymd(2000, num(s + 2, 2), num(s, 2)))
        return 0;
    unsigned long v = (unsigned long)num(s, 6) * 1000ul + num(s + 7, 3);
    return "0123456789ABCDEFHJKLMNPRSTUVWXY"[v % 31] == up(s[10]);
}

int cls_v_pt_nif(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 9) != 9 || !strchr("1235689", d[0]))
        return 0;
    unsigned sum = 0;
    for (int i = 0; i < 8; i++)
        sum += (unsigned)(d[i] - '0') * (unsigned)(9 - i);
    unsigned c = 11 - sum % 11;
    if (c >= 10)
        c = 0;
    return c == (unsigned)(d[8] - '0');
}

int cls_v_ie_pps(const char *s, size_t n)
{
    char a[12];
    size_t k = alnum_up(s, n, a, 9);
    if (k != 8 && k != 9)
        return 0;
    for (int i = 0; i < 7; i++)
        if (!is_digit(a[i]))
            return 0;
    if (!is_upper(a[7]))
        return 0;
    unsigned sum = 0;
    for (int i = 0; i < 7; i++)
        sum += (unsigned)(a[i] - '0') * (unsigned)(8 - i);
    if (k == 9) {
        if (a[8] != 'W' && !(a[8] >= 'A' && a[8] <= 'I'))
            return 0;
        if (a[8] != 'W')
            sum += (unsigned)(a[8] - 'A' + 1) * 9;
    }
    unsigned r = sum % 23;
    char c = r == 0 ? 'W' : (char)('A' + r - 1);
    return c == a[7];
}

int cls_v_at_svnr(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 10) != 10 || d[0] == '0')
        return 0;
    static const uint8_t w[10] = {3, 7, 9, 0, 5, 8, 4, 2, 1, 6};
    unsigned sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (unsigned)(d[i] - '0') * w[i];
    unsigned c = sum % 11;
    if (c == 10)
        return 0;
    if (c != (unsigned)(d[3] - '0'))
        return 0;
    unsigned dd = num(d + 4, 2), mm = num(d + 6, 2);
    return valid_ymd(2000, mm, dd) || mm == 13 || mm == 14; /* 13/14: unknown date */
}

int cls_v_dk_cpr(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 10) != 10)
        return 0;
    /* the mod-11 rule was dropped in 2007: only the date is checkable */
    return valid_ymd(2000, num(d + 2, 2), num(d, 2)) && !all_same(d + 6, 4);
}

int cls_v_br_cpf(const char *s, size_t n)
{
    char d[14];
    if (cls_digits(s, n, d, 11) != 11 || all_same(d, 11))
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        int len = 9 + pass;
        unsigned sum = 0;
        for (int i = 0; i < len; i++)
            sum += (unsigned)(d[i] - '0') * (unsigned)(len + 1 - i);
        unsigned c = (sum * 10) % 11 % 10;
        if (c != (unsigned)(d[len] - '0'))
            return 0;
    }
    return 1;
}

int cls_v_br_cnpj(const char *s, size_t n)
{
    char d[18];
    if (cls_digits(s, n, d, 14) != 14 || all_same(d, 14))
        return 0;
    static const uint8_t w1[12] = {5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
    static const uint8_t w2[13] = {6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
    unsigned sum = 0;
    for (int i = 0; i < 12; i++)
        sum += (unsigned)(d[i] - '0') * w1[i];
    unsigned c = sum % 11 < 2 ? 0 : 11 - sum % 11;
    if (c != (unsigned)(d[12] - '0'))
        return 0;
    sum = 0;
    for (int i = 0; i < 13; i++)
        sum += (unsigned)(d[i] - '0') * w2[i];
    c = sum % 11 < 2 ? 0 : 11 - sum % 11;
    return c == (unsigned)(d[13] - '0');
}

int cls_v_sg_nric(const char *s, size_t n)
{
    char a[12];
    size_t k = alnum_up(s, n, a, 9);
    if (k != 9 || !strchr("STFG", a[0]) || !is_upper(a[8]))
        return 0;
    for (int i = 1; i < 8; i++)
        if (!is_digit(a[i]))
            return 0;
    static const uint8_t w[7] = {2, 7, 6, 5, 4, 3, 2};
    unsigned sum = 0;
    for (int i = 0; i < 7; i++)
        sum += (unsigned)(a[i + 1] - '0') * w[i];
    if (a[0] == 'T' || a[0] == 'G')
        sum += 4;
    unsigned r = sum % 11;
    const char *tab = (a[0] == 'S' || a[0] == 'T') ? "JZIHGFEDCBA" : "XWUTRQPNMLK";
    return tab[r] == a[8];
}

int cls_v_au_tfn(const char *s, size_t n)
{
    char d[12];
    if (cls_digits(s, n, d, 9) != 9 || all_same(d, 9))
        return 0;
    static const uint8_t w[9] = {1, 4, 3, 7, 5, 8, 6, 9, 10};
    unsigned sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (unsigned)(d[i] - '0') * w[i];
    return sum % 11 == 0;
}

int cls_v_au_medicare(const char *s, size_t n)
{
    char d[14];
    size_t k = cls_digits(s, n, d, 11);
    if ((k != 10 && k != 11) || d[0] < '2' || d[0] > '6')
        return 0;
    static const uint8_t w[8] = {1, 3, 7, 9, 1, 3, 7, 9};
    unsigned sum = 0;
    for (int i = 0; i < 8; i++)
        sum += (unsigned)(d[i] - '0') * w[i];
    return sum % 10 == (unsigned)(d[8] - '0') && d[9] != '0';
}

int cls_v_kr_rrn(const char *s, size_t n)
{
    char d[16];
    if (cls_digits(s, n, d, 13) != 13 || d[6] < '1' || d[6] > '8')
        return 0;
    if (!valid_ymd(2000, num(d + 2, 2), num(d + 4, 2)))
        return 0;
    static const uint8_t w[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
    unsigned sum = 0;
    for (int i = 0; i < 12; i++)
        sum += (unsigned)(d[i] - '0') * w[i];
    return (11 - sum % 11) % 10 == (unsigned)(d[12] - '0');
}

int cls_v_jp_mynumber(const char *s, size_t n)
{
    char d[16];
    if (cls_digits(s, n, d, 12) != 12 || all_same(d, 12))
        return 0;
    unsigned sum = 0;
    for (unsigned i = 1; i <= 11; i++) {
        unsigned p = (unsigned)(d[11 - i] - '0');
        unsigned q = i <= 6 ? i + 1 : i - 5;
        sum += p * q;
    }
    unsigned r = sum % 11;
    unsigned c = r <= 1 ? 0 : 11 - r;
    return c == (unsigned)(d[11] - '0');
}

int cls_v_ipv4(const char *s, size_t n)
{
    unsigned parts = 0, val = 0, ndig = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (ndig == 0 || val > 255)
                return 0;
            parts++;
            val = 0;
            ndig = 0;
            continue;
        }
        if (!is_digit(s[i]))
            return 0;
        if (ndig == 1 && val == 0)
            return 0; /* leading zero: likely a version or a serial */
        val = val * 10 + (unsigned)(s[i] - '0');
        if (++ndig > 3)
            return 0;
    }
    return parts == 4;
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int cls_v_ipv6(const char *s, size_t n)
{
    unsigned groups = 0, hexlen = 0;
    int dbl = 0;
    size_t i = 0;
    if (n < 2 || n > 45)
        return 0;
    if (s[0] == ':') {
        if (s[1] != ':')
            return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (is_hex(c)) {
            if (++hexlen > 4)
                return 0;
            continue;
        }
        if (c == '.') {
            /* embedded IPv4 tail counts as two groups */
            size_t j = i;
            while (j > 0 && s[j - 1] != ':')
                j--;
            if (!cls_v_ipv4(s + j, n - j))
                return 0;
            groups += 2;
            hexlen = 0;
            break;
        }
        if (c != ':')
            return 0;
        if (hexlen)
            groups++;
        if (i + 1 < n && s[i + 1] == ':') {
            if (dbl)
                return 0;
            dbl = 1;
            i++;
        } else if (hexlen == 0 && i != 0) {
            return 0;
        }
        hexlen = 0;
    }
    if (hexlen)
        groups++;
    if (dbl) {
        /* one group with "::" ("::1", "6::", "fe80::") is loopback, a prefix
           or bytes: no one's address; two need five hex digits in one case
           ("fe80::1", "2001:db8::", not "7::e4" nor "f::B": random span ids
           read as text held such once in 25 MB; C++'s "D::f") */
        size_t hex = 0;
        int up = 0, lo = 0;
        for (size_t k = 0; k < n && s[k] != '.'; k++) {
            hex += s[k] != ':';
            up |= s[k] >= 'A' && s[k] <= 'F';
            lo |= s[k] >= 'a' && s[k] <= 'f';
        }
        return groups < 8 && (groups >= 3 || (groups == 2 && hex >= 5 && !(up && lo)));
    }
    if (groups != 8)
        return 0;
    /* eight 2-digit groups is a byte dump (EUI-64, hash), not an address */
    size_t seg = 0;
    int all2 = 1;
    for (size_t k = 0; k <= n; k++) {
        if (k == n || s[k] == ':') {
            all2 &= seg == 2;
            seg = 0;
        } else {
            seg++;
        }
    }
    return !all2;
}

int cls_v_date(const char *s, size_t n)
{
    unsigned f[3] = {0, 0, 0}, len[3] = {0, 0, 0};
    unsigned k = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_digit(s[i])) {
            if (len[k] >= 4)
                return 0;
            f[k] = f[k] * 10 + (unsigned)(s[i] - '0');
            len[k]++;
        } else if (len[k] > 0) {
            if (++k == 3)
                return 0;
        }
    }
    if (k != 2 || len[2] == 0)
        return 0;
    if (len[0] == 4) /* YYYY-MM-DD */
        return f[0] >= 1900 && f[0] <= 2030 && valid_ymd(f[0], f[1], f[2]);
    if (len[2] != 4 && len[2] != 2)
        return 0;
    unsigned y = len[2] == 2 ? 1900 + f[2] : f[2];
    if (y < 1900 || y > 2030)
        return 0;
    /* DD.MM.YYYY or MM/DD/YYYY: either reading will do */
    return valid_ymd(y, f[1], f[0]) || valid_ymd(y, f[0], f[1]);
}

/* The month a word names (its case folded, an abbreviation of three or
 * more letters with or without its dot), in the languages of the EU that
 * write dates so, or 0. */
static unsigned month_named(const char *w, size_t n)
{
    static const struct {
        const char *name;
        uint8_t m, min; /* shortest prefix that says the month */
    } months[] = {
        /* English, German, Dutch, Swedish, Danish */
        {"january", 1, 3}, {"januar", 1, 3}, {"januari", 1, 3}, {"j\xc3\xa4nner", 1, 4},
        {"february", 2, 3}, {"februar", 2, 3}, {"februari", 2, 3}, {"march", 3, 3},
        {"m\xc3\xa4rz", 3, 5}, {"maart", 3, 4}, {"mars", 3, 4}, {"marts", 3, 5},
        {"april", 4, 3}, {"may", 5, 3}, {"mai", 5, 3}, {"mei", 5, 3}, {"maj", 5, 3},
        {"june", 6, 3}, {"juni", 6, 4}, {"july", 7, 3}, {"juli", 7, 4}, {"august", 8, 3},
        {"augustus", 8, 3}, {"augusti", 8, 3}, {"september", 9, 3}, {"sept", 9, 4},
        {"october", 10, 3}, {"oktober", 10, 3}, {"november", 11, 3}, {"december", 12, 3},
        {"dezember", 12, 3},
        /* French */
        {"janvier", 1, 4}, {"f\xc3\xa9vrier", 2, 5}, {"avril", 4, 3}, {"juin", 6, 4},
        {"juillet", 7, 5}, {"ao\xc3\xbbt", 8, 5}, {"septembre", 9, 3}, {"octobre", 10, 3},
        {"novembre", 11, 3}, {"d\xc3\xa9" "cembre", 12, 4},
        /* Spanish, Portuguese, Italian */
        {"enero", 1, 3}, {"janeiro", 1, 4}, {"gennaio", 1, 3}, {"febrero", 2, 3},
        {"fevereiro", 2, 3}, {"febbraio", 2, 3}, {"marzo", 3, 4}, {"mar\xc3\xa7o", 3, 5},
        {"abril", 4, 3}, {"aprile", 4, 3}, {"mayo", 5, 4}, {"maio", 5, 4}, {"maggio", 5, 3},
        {"junio", 6, 4}, {"junho", 6, 4}, {"giugno", 6, 3}, {"julio", 7, 4}, {"julho", 7, 4},
        {"luglio", 7, 3}, {"agosto", 8, 3}, {"septiembre", 9, 3}, {"setiembre", 9, 3},
        {"setembro", 9, 3}, {"settembre", 9, 3}, {"octubre", 10, 3}, {"outubro", 10, 3},
        {"ottobre", 10, 3}, {"noviembre", 11, 3}, {"novembro", 11, 3}, {"diciembre", 12, 3},
        {"dezembro", 12, 3}, {"dicembre", 12, 3},
        /* Polish, in dates the genitive */
        {"stycznia", 1, 3}, {"lutego", 2, 3}, {"marca", 3, 5}, {"kwietnia", 4, 3}, {"maja", 5, 4},
        {"czerwca", 6, 3}, {"lipca", 7, 3}, {"sierpnia", 8, 3}, {"wrze\xc5\x9bnia", 9, 4},
        {"pa\xc5\xba" "dziernika", 10, 3}, {"listopada", 11, 3}, {"grudnia", 12, 3},
#define MF(name, m) {name, m, sizeof(name) - 1} /* the whole name: no abbreviation */
        /* Czech, Slovak, Slovene, Croatian (in dates the genitive) */
        MF("ledna", 1), MF("\xc3\xbanora", 2), MF("b\xc5\x99" "ezna", 3), MF("dubna", 4), MF("kv\xc4\x9btna", 5),
        MF("\xc4\x8d" "ervna", 6), MF("\xc4\x8d" "ervence", 7), MF("srpna", 8), MF("z\xc3\xa1\xc5\x99\xc3\xad", 9),
        MF("\xc5\x99\xc3\xadjna", 10), MF("listopadu", 11), MF("prosince", 12),
        MF("janu\xc3\xa1ra", 1), MF("febru\xc3\xa1ra", 2), MF("apr\xc3\xadla", 4), MF("m\xc3\xa1ja", 5),
        MF("j\xc3\xbana", 6), MF("j\xc3\xbala", 7), MF("augusta", 8), MF("septembra", 9), MF("okt\xc3\xb3" "bra", 10),
        MF("novembra", 11), MF("decembra", 12),
        MF("januarja", 1), MF("februarja", 2), MF("aprila", 4), MF("junija", 6), MF("julija", 7), MF("avgusta", 8),
        MF("oktobra", 10),
        MF("sije\xc4\x8dnja", 1), MF("velja\xc4\x8d" "e", 2), MF("o\xc5\xbeujka", 3), MF("travnja", 4), MF("svibnja", 5),
        MF("lipnja", 6), MF("srpnja", 7), MF("kolovoza", 8), MF("rujna", 9), MF("studenoga", 11), MF("prosinca", 12),
        /* Hungarian (year first: 1985. március 12.) */
        MF("janu\xc3\xa1r", 1), MF("febru\xc3\xa1r", 2), MF("m\xc3\xa1rcius", 3), MF("\xc3\xa1prilis", 4),
        MF("m\xc3\xa1jus", 5), MF("j\xc3\xbanius", 6), MF("j\xc3\xbalius", 7), MF("augusztus", 8),
        MF("szeptember", 9), MF("okt\xc3\xb3" "ber", 10),
        /* Romanian, Finnish (the partitive), Estonian */
        MF("ianuarie", 1), MF("februarie", 2), MF("martie", 3), MF("aprilie", 4), MF("iunie", 6), MF("iulie", 7),
        MF("septembrie", 9), MF("octombrie", 10), MF("noiembrie", 11), MF("decembrie", 12),
        MF("tammikuuta", 1), MF("helmikuuta", 2), MF("maaliskuuta", 3), MF("huhtikuuta", 4), MF("toukokuuta", 5),
        MF("kes\xc3\xa4kuuta", 6), MF("hein\xc3\xa4kuuta", 7), MF("elokuuta", 8), MF("syyskuuta", 9),
        MF("lokakuuta", 10), MF("marraskuuta", 11), MF("joulukuuta", 12),
        MF("jaanuar", 1), MF("veebruar", 2), MF("m\xc3\xa4rts", 3), MF("aprill", 4), MF("juuni", 6), MF("juuli", 7),
        MF("oktoober", 10), MF("detsember", 12),
        /* Greek (the genitive, folded: no accents) and Bulgarian */
        MF("\xce\xb9\xce\xb1\xce\xbd\xce\xbf\xcf\x85\xce\xb1\xcf\x81\xce\xb9\xce\xbf\xcf\x85", 1),
        MF("\xcf\x86\xce\xb5\xce\xb2\xcf\x81\xce\xbf\xcf\x85\xce\xb1\xcf\x81\xce\xb9\xce\xbf\xcf\x85", 2),
        MF("\xce\xbc\xce\xb1\xcf\x81\xcf\x84\xce\xb9\xce\xbf\xcf\x85", 3),
        MF("\xce\xb1\xcf\x80\xcf\x81\xce\xb9\xce\xbb\xce\xb9\xce\xbf\xcf\x85", 4),
        MF("\xce\xbc\xce\xb1\xce\xb9\xce\xbf\xcf\x85", 5),
        MF("\xce\xb9\xce\xbf\xcf\x85\xce\xbd\xce\xb9\xce\xbf\xcf\x85", 6),
        MF("\xce\xb9\xce\xbf\xcf\x85\xce\xbb\xce\xb9\xce\xbf\xcf\x85", 7),
        MF("\xce\xb1\xcf\x85\xce\xb3\xce\xbf\xcf\x85\xcf\x83\xcf\x84\xce\xbf\xcf\x85", 8),
        MF("\xcf\x83\xce\xb5\xcf\x80\xcf\x84\xce\xb5\xce\xbc\xce\xb2\xcf\x81\xce\xb9\xce\xbf\xcf\x85", 9),
        MF("\xce\xbf\xce\xba\xcf\x84\xcf\x89\xce\xb2\xcf\x81\xce\xb9\xce\xbf\xcf\x85", 10),
        MF("\xce\xbd\xce\xbf\xce\xb5\xce\xbc\xce\xb2\xcf\x81\xce\xb9\xce\xbf\xcf\x85", 11),
        MF("\xce\xb4\xce\xb5\xce\xba\xce\xb5\xce\xbc\xce\xb2\xcf\x81\xce\xb9\xce\xbf\xcf\x85", 12),
        MF("\xd1\x8f\xd0\xbd\xd1\x83\xd0\xb0\xd1\x80\xd0\xb8", 1), MF("\xd1\x84\xd0\xb5\xd0\xb2\xd1\x80\xd1\x83\xd0\xb0\xd1\x80\xd0\xb8", 2),
        MF("\xd0\xbc\xd0\xb0\xd1\x80\xd1\x82", 3), MF("\xd0\xb0\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbb", 4),
        MF("\xd0\xbc\xd0\xb0\xd0\xb9", 5), MF("\xd1\x8e\xd0\xbd\xd0\xb8", 6), MF("\xd1\x8e\xd0\xbb\xd0\xb8", 7),
        MF("\xd0\xb0\xd0\xb2\xd0\xb3\xd1\x83\xd1\x81\xd1\x82", 8),
        MF("\xd1\x81\xd0\xb5\xd0\xbf\xd1\x82\xd0\xb5\xd0\xbc\xd0\xb2\xd1\x80\xd0\xb8", 9),
        MF("\xd0\xbe\xd0\xba\xd1\x82\xd0\xbe\xd0\xbc\xd0\xb2\xd1\x80\xd0\xb8", 10),
        MF("\xd0\xbd\xd0\xbe\xd0\xb5\xd0\xbc\xd0\xb2\xd1\x80\xd0\xb8", 11),
        MF("\xd0\xb4\xd0\xb5\xd0\xba\xd0\xb5\xd0\xbc\xd0\xb2\xd1\x80\xd0\xb8", 12),
        /* Lithuanian (the genitive: 1985 m. kovo 12 d.), Latvian (1985. gada 12.
           marts, and the locative: 12. martā) */
        MF("sausio", 1), MF("vasario", 2), MF("kovo", 3), MF("baland\xc5\xbeio", 4), MF("gegu\xc5\xbe\xc4\x97s", 5),
        MF("bir\xc5\xbe" "elio", 6), MF("liepos", 7), MF("rugpj\xc5\xab\xc4\x8dio", 8), MF("rugs\xc4\x97jo", 9),
        MF("spalio", 10), MF("lapkri\xc4\x8dio", 11), MF("gruod\xc5\xbeio", 12),
        MF("janv\xc4\x81ris", 1), MF("febru\xc4\x81ris", 2), MF("marts", 3), MF("apr\xc4\xablis", 4), MF("maijs", 5),
        MF("j\xc5\xabnijs", 6), MF("j\xc5\xablijs", 7), MF("augusts", 8), MF("septembris", 9), MF("oktobris", 10),
        MF("novembris", 11), MF("decembris", 12),
        MF("janv\xc4\x81r\xc4\xab", 1), MF("febru\xc4\x81r\xc4\xab", 2), MF("mart\xc4\x81", 3),
        MF("apr\xc4\xabl\xc4\xab", 4), MF("maij\xc4\x81", 5), MF("j\xc5\xabnij\xc4\x81", 6),
        MF("j\xc5\xablij\xc4\x81", 7), MF("august\xc4\x81", 8), MF("septembr\xc4\xab", 9), MF("oktobr\xc4\xab", 10),
        MF("novembr\xc4\xab", 11), MF("decembr\xc4\xab", 12),
#undef MF
    };
    char lw[24];
    if (n >= sizeof(lw) || n < 3)
        return 0;
    /* lower case; a letter of two bytes in its pair's lower case (M\xc3\x84RZ,
       \xce\x9c\xce\x91\xce\xa1\xce\xa4\xce\x99\xce\x9f\xce\xa5), Greek without its accents */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)w[i];
        lw[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        if (c >= 0xc2 && c < 0xe0 && i + 1 < n && ((uint8_t)w[i + 1] & 0xc0) == 0x80) {
            uint32_t cp = cls_case_lower(((uint32_t)(c & 0x1f) << 6) | ((uint8_t)w[i + 1] & 0x3f));
            static const uint16_t tonos[][2] = {{0x3ac, 0x3b1}, {0x3ad, 0x3b5}, {0x3ae, 0x3b7}, {0x3af, 0x3b9},
                                                {0x3cc, 0x3bf}, {0x3cd, 0x3c5}, {0x3ce, 0x3c9}, {0x3ca, 0x3b9},
                                                {0x3cb, 0x3c5}, {0x390, 0x3b9}, {0x3b0, 0x3c5}};
            for (size_t t = 0; t < SGW_ARRAY_LEN(tonos); t++)
                if (cp == tonos[t][0])
                    cp = tonos[t][1];
            lw[i] = (char)(0xc0 | (cp >> 6));
            lw[i + 1] = (char)(0x80 | (cp & 0x3f));
            i++;
        }
    }
    for (size_t k = 0; k < SGW_ARRAY_LEN(months); k++) {
        size_t ml = strlen(months[k].name);
        if (n >= months[k].min && n <= ml && memcmp(lw, months[k].name, n) == 0)
            return months[k].m;
    }
    return 0;
}

int cls_v_date_named(const char *s, size_t n)
{
    unsigned num[2] = {0, 0}, len[2] = {0, 0}, k = 0, month = 0;
    size_t i = 0;
    while (i < n) {
        if (is_digit(s[i])) {
            if (k == 2)
                return 0;
            while (i < n && is_digit(s[i])) {
                if (++len[k] > 4)
                    return 0;
                num[k] = num[k] * 10 + (unsigned)(s[i++] - '0');
            }
            k++;
            continue;
        }
        if (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (uint8_t)s[i] >= 0xc2) {
            size_t a = i; /* (a word may begin with a letter of two bytes: \xc3\xbanora, \xce\x9c\xce\xb1\xcf\x81\xcf\x84\xce\xaf\xce\xbf\xcf\x85) */
            while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (uint8_t)s[i] >= 0x80))
                i++;
            size_t wl = i - a;
            if (wl == 2 && (s[a] | 0x20) == 'd' && (s[a + 1] | 0x20) == 'e')
                continue; /* "12 de marzo de 1985" */
            if (wl == 2 && k == 1 && len[0] <= 2)
                continue; /* "12th", "1st" */
            if (len[0] == 4 && ((wl == 1 && ((s[a] | 0x20) == 'm' || (s[a] | 0x20) == 'd')) ||
                                (wl == 4 && strncasecmp(s + a, "gada", 4) == 0)))
                continue; /* the year first: Lithuanian "1985 m. kovo 12 d.", Latvian "1985. gada 12. marts" */
            if (month)
                return 0;
            month = month_named(s + a, wl);
            if (!month)
                return 0;
            continue;
        }
        i++;
    }
    if (k == 2 && len[0] == 4 && len[1] <= 2) { /* the year first (Hungarian) */
        unsigned y = num[0];
        num[0] = num[1];
        num[1] = y;
        len[1] = 4;
        len[0] = 2;
    }
    if (k != 2 || !month || len[1] != 4 || len[0] > 2)
        return 0;
    return num[1] >= 1900 && num[1] <= 2030 && valid_ymd(num[1], month, num[0]);
}

int cls_v_phone(const char *s, size_t n)
{
    char d[20];
    size_t k = cls_digits(s, n, d, 15);
    if (k < 7 || k > 15 || all_same(d, k))
        return 0;
    /* monotone runs (0123456789) are placeholders */
    int asc = 1;
    for (size_t i = 1; i < k; i++)
        if (d[i] != (char)(d[i - 1] + 1))
            asc = 0;
    return !asc;
}

/* ISO 3166 alpha-2 codes in use by SWIFT BICs (a permissive list). */
static const char iso_cc[] =
    "ADAEAFAGAIALAMAOARASATAUAWAXAZBABBBDBEBFBGBHBIBJBMBNBOBRBSBTBWBYBZCACDCFCGCHCICKCLCM"
    "CNCOCRCUCVCWCYCZDEDJDKDMDODZECEEEGERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGTGU"
    "GWGYHKHNHRHTHUIDIEILIMINIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLY"
    "MAMCMDMEMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPL"
    "PMPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISKSLSMSNSOSRSSSTSVSXSYSZTCTDTGTHTJTLTMTNTOTR"
    "TTTVTWTZUAUGUSUYUZVAVCVEVGVIVNVUWSXKYEYTZAZMZW";

static int known_cc(char a, char b)
{
    for (size_t i = 0; i + 1 < sizeof(iso_cc); i += 2)
        if (iso_cc[i] == a && iso_cc[i + 1] == b)
            return 1;
    return 0;
}

int cls_v_swift(const char *s, size_t n)
{
    if (n != 8 && n != 11)
        return 0;
    for (int i = 0; i < 6; i++)
        if (!is_upper(s[i]))
            return 0;
    for (size_t i = 6; i < n; i++)
        if (!is_upper(s[i]) && !is_digit(s[i]))
            return 0;
    return known_cc(s[4], s[5]);
}

int cls_v_eu_vat(const char *s, size_t n)
{
    char a[20];
    size_t k = alnum_up(s, n, a, 16);
    if (k < 4 || k > 16 || !is_upper(a[0]) || !is_upper(a[1]))
        return 0;
    const char *b = a + 2;
    size_t m = k - 2;
    char d[16];
    size_t nd = cls_digits(b, m, d, 14);
    if (a[0] == 'D' && a[1] == 'E') /* 9 digits, ISO 7064 MOD 11,10 */
        return m == 9 && nd == 9 && b[0] != '0' && mod11_10(d, 8) == (unsigned)(d[8] - '0');
    if (a[0] == 'B' && a[1] == 'E') { /* 10 digits, mod 97 */
        if (m != 10 || nd != 10 || (d[0] != '0' && d[0] != '1'))
            return 0;
        unsigned long v = 0;
        for (int i = 0; i < 8; i++)
            v = v * 10 + (unsigned)(d[i] - '0');
        return 97 - v % 97 == num(d + 8, 2);
    }
    if (a[0] == 'I' && a[1] == 'T') /* 11 digits, Luhn */
        return m == 11 && nd == 11 && luhn_digits(d, 11);
    if (a[0] == 'P' && a[1] == 'T')
        return m == 9 && cls_v_pt_nif(b, m);
    if (a[0] == 'N' && a[1] == 'L') /* 9 digits B 2 digits */
        return m == 12 && b[9] == 'B' && nd == 11;
    if (a[0] == 'A' && a[1] == 'T')
        return m == 9 && b[0] == 'U' && nd == 8;
    if (a[0] == 'F' && a[1] == 'R') /* 2 key chars + SIREN */
        return m == 11 && nd >= 9 && is_digit(b[2]);
    if (a[0] == 'E' && a[1] == 'S')
        return m == 9 && nd >= 7;
    if (a[0] == 'P' && a[1] == 'L')
        return m == 10 && nd == 10;
    if (a[0] == 'S' && a[1] == 'E')
        return m == 12 && nd == 12 && b[10] == '0' && b[11] == '1';
    if ((a[0] == 'D' && a[1] == 'K') || (a[0] == 'F' && a[1] == 'I') ||
        (a[0] == 'L' && a[1] == 'U') || (a[0] == 'M' && a[1] == 'T') ||
        (a[0] == 'H' && a[1] == 'U') || (a[0] == 'S' && a[1] == 'I'))
        return m == 8 && nd == 8;
    if ((a[0] == 'E' && a[1] == 'L') || (a[0] == 'E' && a[1] == 'E'))
        return m == 9 && nd == 9;
    if (a[0] == 'I' && a[1] == 'E') { /* 8 or 9 chars; the old form's second may be '+' or '*' */
        size_t sym = 0;
        for (size_t i = 0; i < n; i++)
            sym += s[i] == '+' || s[i] == '*';
        return sym <= 1 && (m + sym == 8 || m + sym == 9) && nd >= 6;
    }
    if (a[0] == 'C' && a[1] == 'Z')
        return m >= 8 && m <= 10 && nd == m;
    if (a[0] == 'S' && a[1] == 'K')
        return m == 10 && nd == 10;
    if (a[0] == 'H' && a[1] == 'R')
        return m == 11 && nd == 11;
    if (a[0] == 'B' && a[1] == 'G')
        return (m == 9 || m == 10) && nd == m;
    if (a[0] == 'R' && a[1] == 'O')
        return m >= 2 && m <= 10 && nd == m;
    if (a[0] == 'L' && a[1] == 'V')
        return m == 11 && nd == 11;
    if (a[0] == 'L' && a[1] == 'T')
        return (m == 9 || m == 12) && nd == m;
    if (a[0] == 'C' && a[1] == 'Y')
        return m == 9 && nd == 8 && is_upper(b[8]);
    return 0;
}

double cls_entropy(const char *s, size_t n)
{
    /* the bytes present, as a bit map: the sum below visits them in byte
       order without a pass over 256 counters (secret values are validated
       once per match, a page of them every few bytes) */
    unsigned cnt[256];
    uint64_t seen[4] = {0};
    if (n == 0)
        return 0.0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        uint64_t bit = 1ull << (c & 63);
        if (!(seen[c >> 6] & bit)) {
            seen[c >> 6] |= bit;
            cnt[c] = 0;
        }
        cnt[c]++;
    }
    double h = 0.0;
    for (int w = 0; w < 4; w++)
        for (uint64_t m = seen[w]; m; m &= m - 1) {
            double p = (double)cnt[w * 64 + __builtin_ctzll(m)] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

struct validator_name {
    const char *name;
    cls_validator_fn fn;
};

static const struct validator_name validator_names[] = {
    {"luhn", cls_v_luhn},         {"card", cls_v_card},           {"iban", cls_v_iban},
    {"mod97", cls_v_mod97},       {"aba", cls_v_aba},             {"ssn", cls_v_us_ssn},
    {"itin", cls_v_us_itin},      {"nhs", cls_v_uk_nhs},          {"nino", cls_v_uk_nino},
    {"sin", cls_v_ca_sin},        {"verhoeff", cls_v_verhoeff},   {"aadhaar", cls_v_in_aadhaar},
    {"pan", cls_v_in_pan},        {"cn_id", cls_v_cn_id},         {"iso7064_11_2", cls_v_cn_id},
    {"de_taxid", cls_v_de_taxid}, {"fr_nir", cls_v_fr_nir},       {"es_dni", cls_v_es_dni},
    {"es_nie", cls_v_es_nie},     {"it_cf", cls_v_it_cf},         {"nl_bsn", cls_v_nl_bsn},
    {"bsn", cls_v_nl_bsn},        {"be_nrn", cls_v_be_nrn},       {"pesel", cls_v_pl_pesel},
    {"se_pnr", cls_v_se_pnr},     {"fi_hetu", cls_v_fi_hetu},     {"pt_nif", cls_v_pt_nif},
    {"ie_pps", cls_v_ie_pps},     {"at_svnr", cls_v_at_svnr},     {"dk_cpr", cls_v_dk_cpr},
    {"cpf", cls_v_br_cpf},        {"cnpj", cls_v_br_cnpj},        {"nric", cls_v_sg_nric},
    {"tfn", cls_v_au_tfn},        {"medicare", cls_v_au_medicare}, {"kr_rrn", cls_v_kr_rrn},
    {"my_number", cls_v_jp_mynumber}, {"ipv4", cls_v_ipv4},       {"ipv6", cls_v_ipv6},
    {"date", cls_v_date},         {"phone", cls_v_phone},         {"swift", cls_v_swift},
    {"eu_vat", cls_v_eu_vat},
};

cls_validator_fn cls_validator_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < SGW_ARRAY_LEN(validator_names); i++)
        if (strcmp(validator_names[i].name, name) == 0)
            return validator_names[i].fn;
    return NULL;
}
