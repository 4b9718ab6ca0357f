/* classifiers/engine.c — compiling the immutable engine (PCRE2 JIT
 * patterns, the Hyperscan streaming literal/prefilter database, custom
 * dictionaries, regexes and fingerprints) and the per-thread worker. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/engine.h"
#include "common/sgw.h"

const char *cls_category_str(enum cls_category c)
{
    switch (c) {
    case CLS_CAT_PII:
        return "PII";
    case CLS_CAT_FINANCIAL:
        return "FINANCIAL";
    case CLS_CAT_HEALTH:
        return "HEALTH";
    case CLS_CAT_SECRET:
        return "SECRET";
    case CLS_CAT_CUSTOM:
        return "CUSTOM";
    case CLS_CAT_UNINSPECTABLE:
        return "UNINSPECTABLE";
    case CLS_CAT__COUNT:
        break;
    }
    return "?";
}

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* Compiles one PCRE2 pattern with JIT; NULL and a message on failure. */
static pcre2_code *compile_re(const char *re, const char *name, uint32_t opts, char *err,
                              size_t errlen)
{
    int ec = 0;
    PCRE2_SIZE eo = 0;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, opts, &ec, &eo, NULL);
    if (!c) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        errf(err, errlen, "regex '%s': %s at offset %zu", name, (const char *)msg, (size_t)eo);
        return NULL;
    }
    int jrc = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    if (jrc != 0) {
        errf(err, errlen, "regex '%s': JIT compilation failed (%d)", name, jrc);
        pcre2_code_free(c);
        return NULL;
    }
    return c;
}

/* Writes c as a Hyperscan escape "\\xHH" at o; returns 4. */
static size_t hex_byte(uint8_t c, char *o)
{
    static const char hex[] = "0123456789abcdef";
    o[0] = '\\';
    o[1] = 'x';
    o[2] = hex[c >> 4];
    o[3] = hex[c & 15];
    return 4;
}

/* "\xHH" escaping of a literal for Hyperscan */
static char *hs_escape(const char *lit, size_t n)
{
    char *o = malloc(n * 4 + 1);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++)
        hex_byte((uint8_t)lit[i], o + i * 4);
    o[n * 4] = '\0';
    return o;
}

uint32_t cls_case_pair(uint32_t cp)
{
    if ((cp >= 0xc0 && cp <= 0xde && cp != 0xd7) || (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) ||
        (cp >= 0x410 && cp <= 0x42f))
        return cp + 0x20;
    if ((cp >= 0xe0 && cp <= 0xfe && cp != 0xf7) || (cp >= 0x3b1 && cp <= 0x3c9 && cp != 0x3c2) ||
        (cp >= 0x430 && cp <= 0x44f))
        return cp - 0x20;
    if (cp == 0x3c2)
        return 0x3a3; /* final sigma */
    /* Greek's accented vowels: Ά/ά, Έ/έ, Ή/ή, Ί/ί, Ό/ό, Ύ/ύ, Ώ/ώ */
    static const uint16_t tonos[][2] = {{0x386, 0x3ac}, {0x388, 0x3ad}, {0x389, 0x3ae}, {0x38a, 0x3af},
                                        {0x38c, 0x3cc}, {0x38e, 0x3cd}, {0x38f, 0x3ce}};
    if (cp >= 0x386 && cp <= 0x3ce)
        for (size_t i = 0; i < SGW_ARRAY_LEN(tonos); i++)
            if (cp == tonos[i][0] || cp == tonos[i][1])
                return cp == tonos[i][0] ? tonos[i][1] : tonos[i][0];
    if (cp == 0xff)
        return 0x178;
    if (cp == 0x178)
        return 0xff;
    if (cp >= 0x400 && cp <= 0x40f)
        return cp + 0x50;
    if (cp >= 0x450 && cp <= 0x45f)
        return cp - 0x50;
    /* Latin Extended-A (and Romanian's comma-below letters): upper case at
       even code points, but odd from U+0139 to U+0148 and U+0179 to U+017E;
       U+0130, U+0131, U+0138, U+0149 and U+017F have no simple pair */
    if ((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137) || (cp >= 0x14a && cp <= 0x177) ||
        (cp >= 0x218 && cp <= 0x21b))
        return cp ^ 1;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
        return cp & 1 ? cp + 1 : cp - 1;
    return 0;
}

uint32_t cls_case_lower(uint32_t cp)
{
    /* of each pair the lower-case letter is the higher code point, but for
       ÿ (U+00FF) and Ÿ (U+0178); a word's final sigma ς folds to σ, as Σ
       does (Unicode's case folding: ΓΕΝΝΗΣΗΣ and γέννησης meet) */
    if (cp == 0xff || cp == 0x178)
        return 0xff;
    if (cp == 0x3c2)
        return 0x3c3;
    uint32_t o = cls_case_pair(cp);
    return o > cp ? o : cp;
}

/* The code point of the UTF-8 sequence s[0..n) (2..4 bytes), or 0. */
static uint32_t utf8_cp(const uint8_t *s, size_t n)
{
    if (n < 2 || n > 4)
        return 0;
    uint32_t cp = s[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (s[i] & 0x3fu);
    return cp;
}

static size_t utf8_put2(uint32_t cp, uint8_t *o)
{
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    return 0; /* (every pair above is below U+0800) */
}

static int is_gap(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t cls_utf8_char(const uint8_t *t, size_t i, size_t n)
{
    uint8_t c = t[i];
    size_t len = c >= 0xc2 && c <= 0xf4 ? (c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4) : 1;
    if (len == 1 || i + len > n)
        return 1;
    for (size_t q = 1; q < len; q++)
        if ((t[i + q] & 0xc0) != 0x80)
            return 1;
    return len;
}

/* Length of the character of t that ends at t[i] (i > 0): a UTF-8
 * sequence's, or 1. */
static size_t char_back(const uint8_t *t, size_t i)
{
    size_t s = i - 1;
    while (s > 0 && i - s < 4 && (t[s] & 0xc0) == 0x80)
        s--;
    return cls_utf8_char(t, s, i) == i - s ? i - s : 1; /* (as read forwards) */
}

/* Does character t[0..len) of a term match text x[0..len)? ASCII letters in
 * either case, other letters in their simple case pair. */
static int char_eq(const uint8_t *t, const uint8_t *x, size_t len)
{
    if (len == 1) {
        uint8_t a = t[0], b = x[0];
        if (a >= 'A' && a <= 'Z')
            a |= 0x20;
        if (b >= 'A' && b <= 'Z')
            b |= 0x20;
        return a == b;
    }
    if (memcmp(t, x, len) == 0)
        return 1;
    uint8_t alt[4] = {0, 0, 0, 0};
    uint32_t ct = utf8_cp(t, len), o = cls_case_pair(ct);
    if (o && utf8_put2(o, alt) == len && memcmp(x, alt, len) == 0)
        return 1;
    /* σ, ς and Σ are one letter */
    return cls_case_lower(ct) == 0x3c3 && cls_case_lower(utf8_cp(x, len)) == 0x3c3;
}

size_t cls_dict_start(const char *term, size_t tl, const uint8_t *text, size_t end)
{
    const uint8_t *t = (const uint8_t *)term;
    size_t i = tl, j = end;
    while (i > 0) {
        if (t[i - 1] == ' ') {
            size_t k = 0;
            while (j > 0 && k < CLS_DICT_GAP && is_gap(text[j - 1])) {
                j--;
                k++;
            }
            if (k == 0)
                return SIZE_MAX;
            i--;
            continue;
        }
        size_t len = char_back(t, i);
        if (j < len || !char_eq(t + i - len, text + j - len, len))
            return SIZE_MAX;
        i -= len;
        j -= len;
    }
    return j;
}

size_t cls_dict_end(const char *term, size_t tl, const uint8_t *text, size_t from, size_t n)
{
    const uint8_t *t = (const uint8_t *)term;
    size_t i = 0, j = from;
    while (i < tl) {
        if (t[i] == ' ') {
            size_t k = 0;
            while (j < n && k < CLS_DICT_GAP && is_gap(text[j])) {
                j++;
                k++;
            }
            if (k == 0)
                return SIZE_MAX;
            i++;
            continue;
        }
        size_t len = cls_utf8_char(t, i, tl);
        if (n - j < len || !char_eq(t + i, text + j, len))
            return SIZE_MAX;
        i += len;
        j += len;
    }
    return j;
}

/* The Hyperscan expression of w[0..n) at o (room for 12 bytes per byte of
 * w), compiled caseless: a letter with a case pair is written as its two
 * spellings. */
static void fold_expr(const uint8_t *w, size_t n, char *o)
{
    size_t on = 0;
    for (size_t i = 0; i < n;) {
        size_t len = cls_utf8_char(w, i, n);
        uint8_t alt[4] = {0, 0, 0, 0};
        uint32_t cp = len > 1 ? utf8_cp(w + i, len) : 0;
        if (cp && cls_case_lower(cp) == 0x3c3) {
            static const char sig[] = "(?:\\xcf\\x83|\\xcf\\x82|\\xce\\xa3)"; /* σ, ς, Σ */
            memcpy(o + on, sig, sizeof(sig) - 1);
            on += sizeof(sig) - 1;
            i += len;
            continue;
        }
        uint32_t pair = cp ? cls_case_pair(cp) : 0;
        int two = pair && utf8_put2(pair, alt) == len;
        if (two) {
            memcpy(o + on, "(?:", 3);
            on += 3;
        }
        for (size_t q = 0; q < len; q++)
            on += hex_byte(w[i + q], o + on);
        if (two) {
            o[on++] = '|';
            for (size_t q = 0; q < len; q++)
                on += hex_byte(alt[q], o + on);
            o[on++] = ')';
        }
        i += len;
    }
    o[on] = '\0';
}

void cls_fold_lower(uint8_t *dst, const uint8_t *p, size_t n)
{
    /* a copy, then changes only where a letter is upper case: fewer
       instructions than writing every byte in the loop (callgrind) */
    if (dst != p)
        memcpy(dst, p, n);
    for (size_t i = 0; i < n; i++) {
        if (i + 8 <= n) {
            /* eight ASCII bytes at once: 0x20 added where 'A' <= c <= 'Z' */
            uint64_t w;
            memcpy(&w, dst + i, 8);
            const uint64_t hi = 0x8080808080808080ull, ones = 0x0101010101010101ull;
            if (!(w & hi)) {
                uint64_t ge_a = w + ones * (0x80 - 'A'), gt_z = w + ones * (0x80 - 'Z' - 1);
                w ^= ((ge_a ^ gt_z) & hi) >> 2;
                memcpy(dst + i, &w, 8);
                i += 7;
                continue;
            }
        }
        uint8_t c = dst[i];
        if (c >= 'A' && c <= 'Z') {
            dst[i] = (uint8_t)(c + 32);
        } else if (c >= 0xc3 && c <= 0xd1 && i + 1 < n && (dst[i + 1] & 0xc0) == 0x80) {
            uint32_t cp = utf8_cp(dst + i, 2), lo = cls_case_lower(cp);
            uint8_t b[4] = {0, 0, 0, 0};
            if (lo != cp && utf8_put2(lo, b) == 2) {
                dst[i] = b[0];
                dst[i + 1] = b[1];
            }
            i++;
        }
    }
}

/* A dictionary term, trimmed, its whitespace runs one space (its canonical
 * form, *canon), and the Hyperscan expression of one literal part of it
 * (below), compiled caseless. The rest of the term around it is matched by the scanner
 * (cls_dict_start, cls_dict_end), whitespace runs of 1..CLS_DICT_GAP bytes
 * between them: the database stays one of literals, however many terms
 * have several words. id gets the literal's offset and length and the
 * reach of the term on both sides of it. NULL on allocation failure or a
 * term with nothing but whitespace. */
static char *dict_expr(const char *term, size_t tl, char **canon, struct cls_hs_id *id)
{
    const uint8_t *t = (const uint8_t *)term;
    size_t a = 0, b = tl;
    while (a < b && is_gap(t[a]))
        a++;
    while (b > a && is_gap(t[b - 1]))
        b--;
    char *c = malloc(b - a + 1);
    char *o = malloc((b - a) * 24 + 32);
    if (!c || !o || a == b) {
        free(c);
        free(o);
        return NULL;
    }
    size_t cn = 0;
    for (size_t i = a; i < b; i++) {
        if (!is_gap(t[i]))
            c[cn++] = (char)t[i];
        else if (c[cn - 1] != ' ')
            c[cn++] = ' ';
    }
    c[cn] = '\0';
    /* the literal: the longest run of ASCII letters, digits and signs (a
       pure literal, caseless in Hyperscan) when it has 4 bytes or is a
       whole word, else the longest word, its letters with case pairs as
       alternatives (Cyrillic or Greek words; a word with few ASCII
       letters such as Łódź) */
    size_t ws = 0, wl = 0, as = 0, al = 0;
    for (size_t i = 0; i < cn;) {
        size_t e = i;
        while (e < cn && c[e] != ' ')
            e++;
        if (e - i >= wl) {
            ws = i;
            wl = e - i;
        }
        for (size_t r = i; r < e;) {
            size_t q = r;
            while (q < e && (uint8_t)c[q] < 0x80)
                q++;
            if (q - r >= al && (q - r >= 4 || (r == i && q == e))) {
                as = r;
                al = q - r;
            }
            r = q + 1;
            while (r < e && ((uint8_t)c[r] & 0xc0) == 0x80)
                r++;
        }
        i = e + 1;
    }
    if (al) {
        ws = as;
        wl = al;
    }
    size_t before = 0, after = 0;
    for (size_t i = 0; i < cn; i++) {
        if (c[i] == ' ' && i < ws)
            before++;
        else if (c[i] == ' ')
            after++;
    }
    fold_expr((const uint8_t *)c + ws, wl, o);
    *canon = c;
    id->len = (uint32_t)wl;
    id->woff = (uint16_t)ws;
    /* the longest match reaches this far before the word's end, and after it */
    id->maxlen = (uint32_t)(ws + wl + before * (CLS_DICT_GAP - 1));
    id->right = (uint16_t)(cn - ws - wl + after * (CLS_DICT_GAP - 1) + 1);
    return o;
}

/* the context word behind a CLS_HIT_CTX id (its first type's list holds it) */
static const char *ctx_word_of(const struct cls_engine *e, size_t id)
{
    return e->ctx_words[id];
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void engine_destroy(struct cls_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_pats; i++) {
        pcre2_code_free((pcre2_code *)e->pats[i].code);
        pcre2_code_free((pcre2_code *)e->pats[i].code_at);
    }
    free(e->pats);
    for (size_t i = 0; i < e->n_customs; i++) {
        free(e->customs[i].name);
        pcre2_code_free((pcre2_code *)e->customs[i].code);
    }
    free(e->customs);
    for (size_t i = 0; i < e->n_dicts; i++)
        free(e->dicts[i].name);
    free(e->dicts);
    for (size_t i = 0; i < e->n_fps; i++) {
        free(e->fps[i].name);
        free(e->fps[i].hashes);
    }
    free(e->fps);
    hs_free_database((hs_database_t *)e->hsdb);
    if (e->terms)
        for (size_t i = 0; i < e->n_ids; i++)
            free(e->terms[i]);
    free(e->terms);
    free(e->ids);
    free(e->ctx_words);
    free(e);
}

static int cmp_cpattern(const void *a, const void *b)
{
    const struct cls_cpattern *x = a, *y = b;
    int ax = x->anchors != 0, ay = y->anchors != 0;
    if (ax != ay)
        return ay - ax;
    if (x->min_digits != y->min_digits)
        return x->min_digits < y->min_digits ? -1 : 1;
    return x->def < y->def ? -1 : (x->def > y->def);
}

static int build_patterns(struct cls_engine *e, char *err, size_t errlen)
{
    e->pats = calloc(cls_n_patterns, sizeof(*e->pats));
    if (!e->pats)
        return SGW_ENOMEM;
    for (size_t i = 0; i < cls_n_patterns; i++) {
        const struct cls_pattern_def *d = &cls_patterns[i];
        if (!(cls_types[d->type].pack & e->packs))
            continue;
        pcre2_code *c = compile_re(d->regex, cls_types[d->type].name, 0, err, errlen);
        if (!c)
            return SGW_EINVAL;
        struct cls_cpattern *cp = &e->pats[e->n_pats];
        cp->def = d;
        cp->code = c;
        cp->lb = cls_left_bound(d->regex);
        if (cp->lb != CLS_LB_NONE && !(cp->code_at = compile_re(d->regex, cls_types[d->type].name,
                                                                PCRE2_ANCHORED, err, errlen))) {
            pcre2_code_free(c);
            return SGW_EINVAL;
        }
        cp->anchors = d->anchors;
        cp->need_flags = d->need_flags;
        cp->any_flags = d->any_flags;
        cp->min_digits = d->min_digits;
        cp->min_upper = d->min_upper;
        cp->needctx = (d->pflags & CLS_PF_NEEDCTX) != 0;
        cp->type = d->type;
        e->n_pats++;
    }
    /* anchored patterns first, then the rest by ascending digit need, so the
       per-window gate loop can stop at the first pattern needing more digits */
    qsort(e->pats, e->n_pats, sizeof(*e->pats), cmp_cpattern);
    e->n_anchored = 0;
    while (e->n_anchored < e->n_pats && e->pats[e->n_anchored].anchors)
        e->n_anchored++;
    /* the gate sets (see struct cls_gates) */
    struct cls_gates *g = &e->gates;
    if (e->n_pats > CLS_MAX_PATS) {
        errf(err, errlen, "pattern table: more than %d patterns", CLS_MAX_PATS);
        return SGW_EINVAL;
    }
    for (size_t i = 0; i < e->n_pats; i++) {
        const struct cls_cpattern *p = &e->pats[i];
        size_t wd = i / 64;
        uint64_t bit = 1ull << (i % 64);
        if (p->type >= 64 && (!p->anchors || cls_types[p->type].ctx_words)) {
            /* (type masks of context words and gate verdicts are 64 bits) */
            errf(err, errlen, "pattern table: %s needs a type index under 64", cls_types[p->type].name);
            return SGW_EINVAL;
        }
        if (p->min_digits >= CLS_GATE_DIGITS || p->min_upper >= CLS_GATE_UPPER) {
            errf(err, errlen, "pattern table: %s gate out of range", cls_types[p->type].name);
            return SGW_EINVAL;
        }
        for (size_t k = p->min_digits; k < CLS_GATE_DIGITS; k++)
            g->digits[k].w[wd] |= bit;
        for (size_t k = p->min_upper; k < CLS_GATE_UPPER; k++)
            g->upper[k].w[wd] |= bit;
        if (!p->anchors)
            g->unanchored.w[wd] |= bit;
        for (size_t a = 0; a < CLS_A__COUNT; a++)
            if (p->anchors & (1ull << a))
                g->anchor[a].w[wd] |= bit;
        /* a pattern passes when every flag byte passes need, and any when
           some byte meets one of its any_flags (or it has none): the any
           sets of the bytes are OR-ed, so a byte with no any_flags bits of
           the pattern contributes only when the pattern has none at all */
        for (unsigned b = 0; b < 4; b++) {
            uint32_t nb = (p->need_flags >> (8 * b)) & 0xff, ab = (p->any_flags >> (8 * b)) & 0xff;
            for (uint32_t v = 0; v < 256; v++) {
                if ((v & nb) == nb)
                    g->need[b][v].w[wd] |= bit;
                if (p->any_flags ? (v & ab) != 0 : 1)
                    g->any[b][v].w[wd] |= bit;
            }
        }
    }
    return SGW_OK;
}

static int build_customs(struct cls_engine *e, const struct cls_config *cfg, char *err, size_t errlen)
{
    if (cfg->n_regexes == 0)
        return SGW_OK;
    e->customs = calloc(cfg->n_regexes, sizeof(*e->customs));
    if (!e->customs)
        return SGW_ENOMEM;
    for (size_t i = 0; i < cfg->n_regexes; i++) {
        const struct cls_custom_regex *r = &cfg->regexes[i];
        if (!r->name || !r->name[0] || !r->pattern) {
            errf(err, errlen, "custom regex #%zu: name and pattern are required", i + 1);
            return SGW_EINVAL;
        }
        struct cls_custom *c = &e->customs[e->n_customs];
        c->validate = NULL;
        if (r->validator && r->validator[0]) {
            c->validate = cls_validator_find(r->validator);
            if (!c->validate) {
                errf(err, errlen, "regex '%s': unknown validator '%s'", r->name, r->validator);
                return SGW_EINVAL;
            }
        }
        c->code = compile_re(r->pattern, r->name, 0, err, errlen);
        if (!c->code)
            return SGW_EINVAL;
        c->name = dupstr(r->name);
        e->n_customs++;
        if (!c->name)
            return SGW_ENOMEM;
    }
    return SGW_OK;
}

static int build_dicts_fps(struct cls_engine *e, const struct cls_config *cfg, char *err, size_t errlen)
{
    if (cfg->n_dicts) {
        e->dicts = calloc(cfg->n_dicts, sizeof(*e->dicts));
        if (!e->dicts)
            return SGW_ENOMEM;
        for (size_t i = 0; i < cfg->n_dicts; i++) {
            if (!cfg->dicts[i].name || !cfg->dicts[i].name[0]) {
                errf(err, errlen, "dictionary #%zu: name is required", i + 1);
                return SGW_EINVAL;
            }
            e->dicts[i].name = dupstr(cfg->dicts[i].name);
            e->n_dicts++;
            if (!e->dicts[i].name)
                return SGW_ENOMEM;
        }
    }
    if (cfg->n_fingerprints) {
        e->fps = calloc(cfg->n_fingerprints, sizeof(*e->fps));
        if (!e->fps)
            return SGW_ENOMEM;
        for (size_t i = 0; i < cfg->n_fingerprints; i++) {
            const struct cls_fingerprints *f = &cfg->fingerprints[i];
            if (!f->name || !f->name[0] || (f->n_hashes && !f->hashes)) {
                errf(err, errlen, "fingerprint set #%zu: name and hashes are required", i + 1);
                return SGW_EINVAL;
            }
            struct cls_fpset *s = &e->fps[i];
            e->n_fps++;
            s->name = dupstr(f->name);
            if (!s->name)
                return SGW_ENOMEM;
            memcpy(s->key, f->key, 32);
            if (f->n_hashes) {
                s->hashes = malloc(f->n_hashes * 32);
                if (!s->hashes)
                    return SGW_ENOMEM;
                memcpy(s->hashes, f->hashes, f->n_hashes * 32);
                qsort(s->hashes, f->n_hashes, 32, cmp_hash);
            }
            s->n = f->n_hashes;
        }
    }
    return SGW_OK;
}

#define CTX_VARIANTS 4
#define CTX_WORD_MAX 64

/* The case variants of a context word whose non-ASCII letters have a case
 * pair (Hyperscan's caseless flag folds ASCII only): as written (lower
 * case), every such letter in upper case, the first letter of each word
 * in upper case, and the first letter of the first word alone. Every
 * variant has the word's length (each pair is one length in UTF-8; the
 * packs' words are all shorter than CTX_WORD_MAX, a longer one is cut).
 * Returns how many distinct ones var[] holds (1 for an ASCII word). */
static size_t ctx_variants(const char *w, char var[CTX_VARIANTS][CTX_WORD_MAX])
{
    size_t wl = strlen(w), nv = 0;
    if (wl >= CTX_WORD_MAX)
        wl = CTX_WORD_MAX - 1;
    for (int kind = 0; kind < CTX_VARIANTS; kind++) {
        char *o = var[nv];
        memcpy(o, w, wl);
        o[wl] = '\0';
        int word_start = 1, first = 1;
        for (size_t i = 0; i < wl;) {
            size_t len = cls_utf8_char((const uint8_t *)w, i, wl);
            int up = kind == 1 || (kind == 2 && word_start) || (kind == 3 && first);
            if (up && len > 1) {
                uint32_t cp = utf8_cp((const uint8_t *)w + i, len), pair = cls_case_pair(cp);
                uint8_t alt[4] = {0, 0, 0, 0};
                if (pair && pair < cp && utf8_put2(pair, alt) == len) /* (upper case is the lower code point) */
                    memcpy(o + i, alt, len);
                else if (cp == 0x3c2 || cp == 0x3c3)
                    memcpy(o + i, "\xce\xa3", 2); /* ς, σ: Σ */
            } else if (len == 2 && memcmp(w + i, "\xcf\x83", 2) == 0 && (i + 2 >= wl || w[i + 2] == ' ')) {
                memcpy(o + i, "\xcf\x82", 2); /* a word's last σ is written ς */
            }
            first = 0;
            word_start = w[i] == ' ' || w[i] == '-';
            i += len;
        }
        size_t k = 0;
        while (k < nv && memcmp(var[k], o, wl) != 0)
            k++;
        if (k == nv)
            nv++;
    }
    return nv;
}

/* One Hyperscan streaming database: literal anchors of the selected packs,
 * every dictionary term (caseless) and the prefilter form of each custom
 * regex. Ids index e->ids. */
static int build_hs(struct cls_engine *e, const struct cls_config *cfg, char *err, size_t errlen)
{
    size_t cap = cls_n_literals + cfg->n_regexes;
    for (size_t i = 0; i < cfg->n_dicts; i++)
        cap += cfg->dicts[i].n_terms;
    for (size_t t = 0; t < cls_n_types; t++)
        for (const char *const *w = cls_types[t].ctx_words; w && *w; w++)
            cap++;
    int rc = SGW_ENOMEM;
    /* expressions: one per id, but up to CTX_VARIANTS per context word */
    size_t xcap = cap * CTX_VARIANTS;
    char **expr = calloc(xcap ? xcap : 1, sizeof(*expr));
    unsigned *flags = calloc(xcap ? xcap : 1, sizeof(*flags));
    unsigned *ids = calloc(xcap ? xcap : 1, sizeof(*ids));
    e->ids = calloc(cap ? cap : 1, sizeof(*e->ids));
    e->ctx_words = calloc(cap ? cap : 1, sizeof(*e->ctx_words));
    e->terms = calloc(cap ? cap : 1, sizeof(*e->terms));
    size_t n = 0, m = 0; /* ids, expressions */
    if (!expr || !flags || !ids || !e->ids || !e->ctx_words || !e->terms)
        goto out;
    /* anchors used by at least one selected pattern */
    uint64_t used = 0;
    for (size_t i = 0; i < e->n_pats; i++)
        used |= e->pats[i].def->anchors;
    for (size_t i = 0; i < cls_n_literals; i++) {
        const struct cls_literal_def *l = &cls_literals[i];
        if (!(used & (1ull << l->anchor)))
            continue;
        /* a caseless one with non-ASCII letters in their case variants */
        char var[CTX_VARIANTS][CTX_WORD_MAX];
        size_t nv = l->caseless ? ctx_variants(l->lit, var) : 1;
        for (size_t v = 0; v < nv; v++) {
            expr[m] = hs_escape(l->caseless ? var[v] : l->lit, l->caseless ? strlen(var[v]) : strlen(l->lit));
            if (!expr[m])
                goto out;
            flags[m] = l->caseless ? HS_FLAG_CASELESS : 0;
            ids[m++] = (unsigned)n;
        }
        e->ids[n] = (struct cls_hs_id){.kind = CLS_HIT_ANCHOR, .anchor = l->anchor, .right = l->right, .len = (uint32_t)strlen(l->lit), .maxlen = l->left};
        n++;
    }
    for (size_t d = 0; d < cfg->n_dicts; d++) {
        for (size_t t = 0; t < cfg->dicts[d].n_terms; t++) {
            const char *term = cfg->dicts[d].terms[t];
            size_t tl = term ? strlen(term) : 0;
            if (tl == 0 || tl > 64) {
                errf(err, errlen, "dictionary '%s': term #%zu must be 1..64 bytes", cfg->dicts[d].name,
                     t + 1);
                rc = SGW_EINVAL;
                goto out;
            }
            size_t blank = 0;
            while (blank < tl && is_gap((uint8_t)term[blank]))
                blank++;
            if (blank == tl) {
                errf(err, errlen, "dictionary '%s': term #%zu is only whitespace", cfg->dicts[d].name,
                     t + 1);
                rc = SGW_EINVAL;
                goto out;
            }
            e->ids[n] = (struct cls_hs_id){.kind = CLS_HIT_DICT, .index = (uint32_t)d};
            expr[m] = dict_expr(term, tl, &e->terms[n], &e->ids[n]);
            if (!expr[m])
                goto out;
            flags[m] = HS_FLAG_CASELESS;
            ids[m++] = (unsigned)n;
            n++;
        }
    }
    /* context words of types that need one: gates for their patterns */
    for (size_t t = 0; t < cls_n_types; t++) {
        int need = 0;
        for (size_t i = 0; i < e->n_pats; i++)
            need |= e->pats[i].def->type == t && (e->pats[i].def->pflags & CLS_PF_NEEDCTX);
        if (!need || !cls_types[t].ctx_words)
            continue;
        for (const char *const *w = cls_types[t].ctx_words; *w; w++) {
            size_t k = 0;
            for (; k < n; k++) /* a word shared by several types: one id */
                if (e->ids[k].kind == CLS_HIT_CTX && e->ids[k].len == strlen(*w) &&
                    strcmp(ctx_word_of(e, k), *w) == 0)
                    break;
            if (k < n) {
                e->ids[k].types |= 1ull << t;
                continue;
            }
            /* non-ASCII letters in their cases ("né le", "NÉ LE"): each
               variant a plain literal (per-letter alternations cost the
               literal stage several per cent) */
            char var[CTX_VARIANTS][CTX_WORD_MAX];
            size_t nv = ctx_variants(*w, var);
            for (size_t v = 0; v < nv; v++) {
                expr[m] = hs_escape(var[v], strlen(var[v]));
                if (!expr[m])
                    goto out;
                flags[m] = HS_FLAG_CASELESS;
                ids[m++] = (unsigned)n;
            }
            e->ids[n] = (struct cls_hs_id){.kind = CLS_HIT_CTX, .len = (uint32_t)strlen(*w), .index = (uint32_t)t, .types = 1ull << t};
            e->ctx_words[n] = *w;
            n++;
        }
    }
    /* custom regexes: their required literal when there is one (the window
       then reaches CLS_CUSTOM_SPAN bytes both ways of it), else the
       prefilter form, which reports at the match's end */
    for (size_t r = 0; r < cfg->n_regexes; r++) {
        uint8_t lit[CLS_RELIT_MAX];
        int caseless = 0;
        size_t ll = cls_regex_literal(cfg->regexes[r].pattern, lit, sizeof(lit), &caseless);
        if (ll) {
            expr[m] = hs_escape((const char *)lit, ll);
            flags[m] = caseless ? HS_FLAG_CASELESS : 0;
            e->ids[n] = (struct cls_hs_id){.kind = CLS_HIT_CUSTOM, .right = CLS_CUSTOM_SPAN, .len = (uint32_t)ll, .index = (uint32_t)r};
        } else {
            expr[m] = dupstr(cfg->regexes[r].pattern);
            flags[m] = HS_FLAG_PREFILTER;
            e->ids[n] = (struct cls_hs_id){.kind = CLS_HIT_CUSTOM, .right = 1, .index = (uint32_t)r};
        }
        if (!expr[m])
            goto out;
        ids[m++] = (unsigned)n;
        n++;
    }
    e->n_ids = n;
    if (n == 0) {
        rc = SGW_OK;
        goto out;
    }
    hs_compile_error_t *ce = NULL;
    hs_database_t *db = NULL;
    if (hs_compile_multi((const char *const *)expr, flags, ids, (unsigned)m, HS_MODE_STREAM, NULL, &db,
                         &ce) != HS_SUCCESS) {
        int at = ce ? ce->expression : -1;
        const char *what = "literal set";
        if (at >= 0 && (size_t)at < m && e->ids[ids[at]].kind == CLS_HIT_CUSTOM)
            what = cfg->regexes[e->ids[ids[at]].index].name;
        errf(err, errlen, "prefilter for %s: %s", what, ce ? ce->message : "compile failed");
        hs_free_compile_error(ce);
        rc = SGW_EINVAL;
        goto out;
    }
    e->hsdb = db;
    rc = SGW_OK;
out:
    if (e->n_ids < n)
        e->n_ids = n; /* (the terms made so far are freed with the engine) */
    if (expr)
        for (size_t i = 0; i < m; i++)
            free(expr[i]);
    free(expr);
    free(flags);
    free(ids);
    return rc;
}

uint8_t cls_left_bound(const char *re)
{
    uint8_t lb;
    size_t i;
    if (strncmp(re, CLS_LBA, strlen(CLS_LBA)) == 0) {
        lb = CLS_LB_ALNUM;
        i = strlen(CLS_LBA);
    } else if (strncmp(re, CLS_LBN, strlen(CLS_LBN)) == 0) {
        lb = CLS_LB_NUMTOK;
        i = strlen(CLS_LBN);
    } else {
        return CLS_LB_NONE;
    }
    int depth = 0, cls = 0;
    for (; re[i]; i++) {
        char c = re[i];
        if (c == '\\') {
            if (!re[i + 1])
                return CLS_LB_NONE;
            i++;
        } else if (cls) {
            cls = c != ']';
        } else if (c == '[') {
            cls = 1;
            if (re[i + 1] == '^')
                i++;
            if (re[i + 1] == ']')
                i++; /* a ']' first in a class is one of its bytes */
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (--depth < 0)
                return CLS_LB_NONE;
        } else if (c == '|' && depth == 0) {
            return CLS_LB_NONE; /* an alternative that need not begin there */
        }
    }
    return depth == 0 && !cls ? lb : CLS_LB_NONE;
}

int cls_engine_new(const struct cls_config *cfg, struct cls_engine **out, char *err, size_t errlen)
{
    static const struct cls_config empty = {0};
    if (!out)
        return SGW_EINVAL;
    *out = NULL;
    if (!cfg)
        cfg = &empty;
    if (err && errlen)
        err[0] = '\0';
    struct cls_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return SGW_ENOMEM;
    e->refs = 1;
    int rc = SGW_EINVAL;
    if (!cfg->packs) {
        e->packs = CLS_PACK_CORE | CLS_PACK_EU | CLS_PACK_WORLD | CLS_PACK_SECRETS;
    } else {
        for (size_t i = 0; i < cfg->n_packs; i++) {
            uint32_t b = cls_pack_bit(cfg->packs[i]);
            if (!b) {
                errf(err, errlen, "unknown classifier pack '%s' (known: pii-core, pii-eu, pii-world, secrets)",
                     cfg->packs[i] ? cfg->packs[i] : "(null)");
                goto fail;
            }
            e->packs |= b;
        }
    }
    if ((cfg->n_dicts && !cfg->dicts) || (cfg->n_regexes && !cfg->regexes) ||
        (cfg->n_fingerprints && !cfg->fingerprints)) {
        errf(err, errlen, "classifier config: counts without arrays");
        goto fail;
    }
    rc = build_patterns(e, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    rc = build_customs(e, cfg, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    rc = build_dicts_fps(e, cfg, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    rc = build_hs(e, cfg, err, errlen);
    if (rc != SGW_OK)
        goto fail;
    e->simd = cls_simd_select(&e->trigger_bits);
    *out = e;
    return SGW_OK;
fail:
    if (rc == SGW_ENOMEM && err && errlen && !err[0])
        errf(err, errlen, "out of memory compiling the classifier engine");
    engine_destroy(e);
    return rc;
}

struct cls_engine *cls_engine_ref(struct cls_engine *e)
{
    if (e)
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    return e;
}

void cls_engine_unref(struct cls_engine *e)
{
    if (e && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        engine_destroy(e);
}

int cls_worker_new(struct cls_engine *e, struct cls_worker **out)
{
    if (!e || !out)
        return SGW_EINVAL;
    *out = NULL;
    struct cls_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return SGW_ENOMEM;
    if (e->hsdb) {
        hs_scratch_t *s = NULL;
        if (hs_alloc_scratch((const hs_database_t *)e->hsdb, &s) != HS_SUCCESS) {
            free(w);
            return SGW_ENOMEM;
        }
        w->scratch = s;
    }
    w->md = pcre2_match_data_create(16, NULL);
    if (!w->md) {
        hs_free_scratch((hs_scratch_t *)w->scratch);
        free(w);
        return SGW_ENOMEM;
    }
    w->e = cls_engine_ref(e);
    *out = w;
    return SGW_OK;
}

void cls_worker_free(struct cls_worker *w)
{
    if (!w)
        return;
    cls_stream_drop_spare(w);
    cls_scanner_drop_spare(w);
    hs_free_scratch((hs_scratch_t *)w->scratch);
    pcre2_match_data_free((pcre2_match_data *)w->md);
    cls_engine_unref(w->e);
    free(w);
}
