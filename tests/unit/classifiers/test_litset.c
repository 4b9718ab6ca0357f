/* tests/unit/classifiers/test_litset.c — the multi-literal matcher
 * (classifiers/litset.c) against a naive search: every occurrence, in end
 * order, on every path this CPU has (scalar, SSSE3, AVX2), for
 * (a) the scanner's built-in anchors (cls_literals[]) planted in random
 *     prose in random case, at buffer edges, overlapping, nested;
 * (b) random literal sets (1..128 literals of 1..32 bytes, random
 *     caseless, any byte values) over random texts drawn from their bytes;
 * (c) the same texts cut into random pieces, each scanned with
 *     back = min(maxlen - 1, bytes before): the single-buffer occurrences;
 * (e) argument errors; (f) a callback's stop value.
 * Every scan reads from a copy placed against a PROT_NONE page, after its
 * end or before its look-back, so a read outside [p - back, p + n) faults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "classifiers/engine.h"
#include "classifiers/litset.h"
#include "common/sgw.h"
#include "../check.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 11);
}

static uint32_t below(uint32_t k)
{
    return k ? rnd() % k : 0;
}

struct hit {
    size_t end;
    uint32_t id;
};

struct hits {
    struct hit *v;
    size_t n, cap;
    size_t stop_at; /* stop (return 100 + index) at this hit; SIZE_MAX = never */
    int order_bad;
};

static int on_hit(uint32_t id, size_t end, void *ctx)
{
    struct hits *h = ctx;
    if (h->n && end < h->v[h->n - 1].end)
        h->order_bad = 1;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 256;
        h->v = realloc(h->v, h->cap * sizeof(*h->v));
        if (!h->v)
            abort();
    }
    h->v[h->n].end = end;
    h->v[h->n].id = id;
    h->n++;
    if (h->stop_at != SIZE_MAX && h->n - 1 == h->stop_at)
        return 100 + (int)(h->stop_at % 1000);
    return 0;
}

static void hits_reset(struct hits *h)
{
    h->n = 0;
    h->stop_at = SIZE_MAX;
    h->order_bad = 0;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* the reference: every literal at every end, window [-back, n) */
static void naive(const struct cls_litset_lit *L, size_t nl, const uint8_t *p, size_t n,
                  size_t back, struct hits *h)
{
    hits_reset(h);
    for (size_t e = 1; e <= n; e++) {
        for (size_t i = 0; i < nl; i++) {
            if (L[i].len > e + back)
                continue;
            const uint8_t *t = p + e - L[i].len;
            size_t k = 0;
            while (k < L[i].len &&
                   (L[i].caseless ? lc(t[k]) == lc(L[i].bytes[k]) : t[k] == L[i].bytes[k]))
                k++;
            if (k == L[i].len)
                on_hit(L[i].id, e, h);
        }
    }
}

/* Two guarded areas of `area` bytes: one ends at a PROT_NONE page, one
 * begins right after one. */
static uint8_t *g_end, *g_begin;
static size_t area;

static void guard_init(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    area = 16 * (size_t)pg;
    uint8_t *m = mmap(NULL, area + 2 * (size_t)pg, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *m2 = mmap(NULL, area + 2 * (size_t)pg, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || m2 == MAP_FAILED)
        abort();
    if (mprotect(m + (size_t)pg + area, (size_t)pg, PROT_NONE) != 0 ||
        mprotect(m2, (size_t)pg, PROT_NONE) != 0)
        abort();
    g_end = m + (size_t)pg;
    g_begin = m2 + (size_t)pg;
}

/* Scans text[off, off + len) with back bytes before it, from a guarded copy
 * (alternately against the end guard and the begin guard). */
static int scan_guarded(const struct cls_litset *s, const uint8_t *text, size_t off, size_t len,
                        size_t back, struct hits *h)
{
    static unsigned flip;
    if (back + len > area)
        abort();
    uint8_t *base = (flip++ & 1) ? g_begin : g_end + area - (back + len);
    memcpy(base, text + off - back, back + len);
    return cls_litset_scan(s, base + back, len, back, on_hit, h);
}

static int same(struct hits *a, struct hits *b)
{
    if (a->n != b->n)
        return 0;
    qsort(a->v, a->n, sizeof(*a->v), cmp_hit);
    qsort(b->v, b->n, sizeof(*b->v), cmp_hit);
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].end != b->v[i].end || a->v[i].id != b->v[i].id)
            return 0;
    return 1;
}

static int npaths;
static int paths[5];
static unsigned long long total_hits, total_scans;

/* Checks one literal set over one text: whole (back 0 and a random back),
 * and in random pieces, on every path. */
static void check_text(const struct cls_litset_lit *L, size_t nl, struct cls_litset *pre,
                       const uint8_t *text, size_t n, const char *what)
{
    struct cls_litset *s = pre;
    if (!s && (cls_litset_new(L, nl, &s) != SGW_OK || !s)) {
        FAIL("%s: build failed", what);
        return;
    }
    size_t maxlen = cls_litset_maxlen(s);
    static struct hits ref, got;
    /* the whole text with back 0, and from a random start with a random back */
    size_t starts[2] = {0, n ? below((uint32_t)n) : 0};
    for (int si = 0; si < 2; si++) {
        size_t st = starts[si];
        size_t back = si == 0 ? 0 : below((uint32_t)(st + 1));
        naive(L, nl, text + st, n - st, back < maxlen ? back : maxlen - 1, &ref);
        if (back >= maxlen) {
            /* a longer back than maxlen - 1 must change nothing */
        }
        for (int pi = 0; pi < npaths; pi++) {
            cls_litset_force_scalar(paths[pi]);
            hits_reset(&got);
            int rc = scan_guarded(s, text, st, n - st, back, &got);
            total_scans++;
            if (rc != 0 || got.order_bad || !same(&ref, &got)) {
                FAIL("%s: path %s start %zu back %zu: %zu hits, expected %zu (rc %d order %d)",
                     what, cls_litset_path(), st, back, got.n, ref.n, rc, got.order_bad);
                break;
            }
        }
    }
    /* streaming: the whole text in random pieces, ends shifted to the text */
    naive(L, nl, text, n, 0, &ref);
    total_hits += ref.n;
    for (int pi = 0; pi < npaths; pi++) {
        cls_litset_force_scalar(paths[pi]);
        static struct hits all, piece;
        hits_reset(&all);
        size_t off = 0;
        int rc = 0;
        while (off < n && rc == 0) {
            size_t len = 1 + below(below(4) == 0 ? 300 : 40);
            if (len > n - off)
                len = n - off;
            size_t back = off < maxlen - 1 ? off : maxlen - 1;
            hits_reset(&piece);
            rc = scan_guarded(s, text, off, len, back, &piece);
            for (size_t i = 0; i < piece.n; i++) {
                on_hit(piece.v[i].id, piece.v[i].end + off, &all);
                if (piece.v[i].end < 1 || piece.v[i].end > len)
                    rc = -1000;
            }
            if (piece.order_bad)
                rc = -1001;
            off += len;
        }
        if (rc != 0 || all.order_bad || !same(&ref, &all)) {
            FAIL("%s: path %s pieces: %zu hits, expected %zu (rc %d)", what, cls_litset_path(),
                 all.n, ref.n, rc);
            break;
        }
    }
    /* (f) a stop value: at a random hit, on every path */
    if (ref.n > 0) {
        size_t k = below((uint32_t)ref.n);
        for (int pi = 0; pi < npaths; pi++) {
            cls_litset_force_scalar(paths[pi]);
            hits_reset(&got);
            got.stop_at = k;
            int rc = cls_litset_scan(s, text, n, 0, on_hit, &got);
            CHECK(rc == 100 + (int)(k % 1000));
            CHECK(got.n == k + 1);
            if (got.n == k + 1 && got.v[k].end != ref.v[k].end)
                FAIL("%s: stopped at end %zu, expected %zu", what, got.v[k].end, ref.v[k].end);
        }
    }
    cls_litset_force_scalar(0);
    if (s != pre)
        cls_litset_free(s);
}

/* ---- (a) the scanner's anchors ---------------------------------------------- */

static const char *const prose[] = {
    "the ", "quick ", "brown ", "fox ", "token", "taken ", "secrets ", "password", "keyboard ",
    "api ", "key", "\"key\": ", "{\"role\": \"user\", ", "content", "https", ":/", "//", "sk", "-",
    "_", "AKI", "ASI", "BIC", "bi", "swif", "\n", "xox", "gh", "p_", "eyJ", "ey", "J", "SG", ".",
    "hooks.slack", ".com", "-----", "BEGIN", "AccountKey", "=", "\xc3\xa9", "\x00", "\xff",
};

static void random_case(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)((b[i] | 0x20) - 'a') < 26 && below(2))
            b[i] ^= 0x20;
}

static void test_anchors(void)
{
    struct cls_litset_lit L[CLS_LITSET_MAX];
    size_t nl = cls_n_literals;
    if (nl > CLS_LITSET_MAX) {
        FAIL("%zu anchors, more than CLS_LITSET_MAX", nl);
        return;
    }
    for (size_t i = 0; i < nl; i++) {
        L[i].bytes = (const uint8_t *)cls_literals[i].lit;
        L[i].len = strlen(cls_literals[i].lit);
        L[i].caseless = cls_literals[i].caseless;
        L[i].id = (uint32_t)(1000 + i);
    }
    static uint8_t text[8000];
    struct cls_litset *set = NULL;
    CHECK(cls_litset_new(L, nl, &set) == SGW_OK);
    for (int round = 0; round < 60 && set; round++) {
        size_t n = 0, cap = 1 + below(round < 20 ? 200 : (uint32_t)sizeof(text));
        /* an anchor right at the start */
        if (below(2)) {
            const char *a = cls_literals[below((uint32_t)nl)].lit;
            size_t al = strlen(a);
            if (al <= cap) {
                memcpy(text, a, al);
                n = al;
            }
        }
        while (n < cap) {
            uint32_t r = below(10);
            const char *w;
            size_t wl;
            uint8_t tmp[64];
            if (r < 4) {
                w = cls_literals[below((uint32_t)nl)].lit;
                wl = strlen(w);
            } else if (r == 4) {
                /* two anchors overlapping: the second starts inside the first */
                const char *a = cls_literals[below((uint32_t)nl)].lit;
                const char *b = cls_literals[below((uint32_t)nl)].lit;
                size_t al = strlen(a), bl = strlen(b), cut = below((uint32_t)al);
                memcpy(tmp, a, al);
                memcpy(tmp + cut, b, bl);
                if (al > cut + bl)
                    memcpy(tmp + cut + bl, a + cut + bl, al - cut - bl);
                w = (const char *)tmp;
                wl = cut + bl > al ? cut + bl : al;
            } else if (r == 5) {
                /* a prefix of an anchor (a near miss) */
                w = cls_literals[below((uint32_t)nl)].lit;
                wl = strlen(w) - 1;
            } else {
                w = prose[below((uint32_t)SGW_ARRAY_LEN(prose))];
                wl = strlen(w);
                if (wl == 0)
                    wl = 1; /* the "\x00" entry */
            }
            if (w != (const char *)tmp) {
                memcpy(tmp, w, wl);
                w = (const char *)tmp;
            }
            if (below(3) == 0)
                random_case(tmp, wl);
            if (wl > cap - n)
                wl = cap - n;
            memcpy(text + n, w, wl);
            n += wl;
        }
        /* an anchor right at the end */
        if (below(2)) {
            const char *a = cls_literals[below((uint32_t)nl)].lit;
            size_t al = strlen(a);
            if (al <= n)
                memcpy(text + n - al, a, al);
        }
        check_text(L, nl, set, text, n, "anchors");
    }
    cls_litset_free(set);
    /* the exact count on a fixed text: the anchors a reader can see */
    {
        struct cls_litset *s = NULL;
        CHECK(cls_litset_new(L, nl, &s) == SGW_OK);
        const char *t = "PassWord=x; see https://hooks.slack.com/ sk-ant AKIAX eyJhbGc tokens";
        static struct hits h;
        for (int pi = 0; pi < npaths && s; pi++) {
            cls_litset_force_scalar(paths[pi]);
            hits_reset(&h);
            CHECK(cls_litset_scan(s, (const uint8_t *)t, strlen(t), 0, on_hit, &h) == 0);
            /* password, ://, hooks.slack.com, sk-, AKIA, eyJ, token */
            CHECK(h.n == 7);
            size_t pw = 0, pw_end = 0;
            while (pw < nl && strcmp(cls_literals[pw].lit, "password") != 0)
                pw++;
            for (size_t i = 0; i < h.n; i++)
                if (h.v[i].id == 1000 + pw)
                    pw_end = h.v[i].end;
            CHECK(pw < nl && pw_end == 8);
        }
        cls_litset_force_scalar(0);
        cls_litset_free(s);
    }
}

/* ---- (b) random sets ----------------------------------------------------- */

static uint8_t alpha[64];
static size_t nalpha;

static uint8_t rbyte(void)
{
    return alpha[below((uint32_t)nalpha)];
}

static void test_random_sets(void)
{
    static uint8_t store[CLS_LITSET_MAX][CLS_LITSET_MAXLEN];
    struct cls_litset_lit L[CLS_LITSET_MAX];
    static uint8_t text[6000];
    for (int round = 0; round < 150; round++) {
        /* a small alphabet makes occurrences (and near misses) common:
           letters of both cases, their neighbours across the case bit
           ('@', '[', '`', '{'), 0x00, 0xff, digits */
        static const uint8_t pool[] = {'a',  'A',  'b', 'B', 'z', 'Z',  '@',  '[', '`', '{',
                                       0x00, 0xff, '0', '-', ' ', 0xc1, 0xe1, 'q', 'Q', 0x80};
        nalpha = 2 + below(round % 3 == 0 ? 18 : 6);
        for (size_t i = 0; i < nalpha; i++)
            alpha[i] = pool[below((uint32_t)sizeof(pool))];
        size_t nl = 1 + below(round % 10 == 0 ? CLS_LITSET_MAX : 24);
        uint32_t maxl = round % 4 == 0 ? CLS_LITSET_MAXLEN : 1 + below(8);
        uint32_t minl = 1 + below(4);
        if (minl > maxl)
            minl = maxl;
        for (size_t i = 0; i < nl; i++) {
            if (i > 0 && below(8) == 0) {
                /* a duplicate, or a prefix / suffix of an earlier literal */
                size_t j = below((uint32_t)i);
                L[i] = L[j];
                size_t cut = below((uint32_t)L[j].len);
                if (below(2) && cut > 0) {
                    L[i].len = cut;
                    if (below(2))
                        L[i].bytes = L[j].bytes + (L[j].len - cut);
                }
                L[i].caseless = (int)below(2);
                L[i].id = (uint32_t)rnd();
                continue;
            }
            L[i].len = minl + below(maxl - minl + 1);
            for (size_t k = 0; k < L[i].len; k++)
                store[i][k] = rbyte();
            L[i].bytes = store[i];
            L[i].caseless = (int)below(2);
            L[i].id = (uint32_t)i;
        }
        size_t n = below(round % 10 == 0 ? (uint32_t)sizeof(text) : 700);
        for (size_t i = 0; i < n; i++)
            text[i] = rbyte();
        /* plant literals */
        for (size_t k = below(12); k > 0 && n > 0; k--) {
            const struct cls_litset_lit *x = &L[below((uint32_t)nl)];
            if (x->len > n)
                continue;
            size_t at = below((uint32_t)(n - x->len + 1));
            memcpy(text + at, x->bytes, x->len);
            if (x->caseless && below(2))
                random_case(text + at, x->len);
        }
        check_text(L, nl, NULL, text, n, "random");
    }
}

/* ---- (e) errors ----------------------------------------------------------- */

static void test_errors(void)
{
    static const uint8_t a[40] = "abcdefghijklmnopqrstuvwxyzabcdefghijklm";
    struct cls_litset_lit L[CLS_LITSET_MAX + 1];
    for (size_t i = 0; i <= CLS_LITSET_MAX; i++) {
        L[i].bytes = a;
        L[i].len = 3;
        L[i].caseless = 0;
        L[i].id = (uint32_t)i;
    }
    struct cls_litset *s = (struct cls_litset *)&s;
    CHECK(cls_litset_new(L, 0, &s) == SGW_EINVAL);
    CHECK(s == NULL);
    CHECK(cls_litset_new(L, CLS_LITSET_MAX + 1, &s) == SGW_EINVAL);
    CHECK(cls_litset_new(NULL, 1, &s) == SGW_EINVAL);
    CHECK(cls_litset_new(L, 1, NULL) == SGW_EINVAL);
    /* 128 literals: the bound itself */
    CHECK(cls_litset_new(L, CLS_LITSET_MAX, &s) == SGW_OK);
    CHECK(s && cls_litset_maxlen(s) == 3);
    cls_litset_free(s);
    L[5].len = 0;
    CHECK(cls_litset_new(L, 10, &s) == SGW_EINVAL);
    L[5].len = CLS_LITSET_MAXLEN + 1;
    CHECK(cls_litset_new(L, 10, &s) == SGW_EINVAL);
    L[5].len = CLS_LITSET_MAXLEN;
    CHECK(cls_litset_new(L, 10, &s) == SGW_OK);
    CHECK(s && cls_litset_maxlen(s) == CLS_LITSET_MAXLEN);
    /* 128 copies of "abc" are 128 hits at one end */
    cls_litset_free(s);
    L[5].len = 3;
    CHECK(cls_litset_new(L, CLS_LITSET_MAX, &s) == SGW_OK);
    static struct hits h;
    hits_reset(&h);
    CHECK(s && cls_litset_scan(s, a, 4, 0, on_hit, &h) == 0);
    CHECK(h.n == CLS_LITSET_MAX);
    CHECK(h.n && h.v[0].end == 3 && h.v[h.n - 1].end == 3);
    /* nothing to scan */
    hits_reset(&h);
    CHECK(cls_litset_scan(s, a, 0, 0, on_hit, &h) == 0 && h.n == 0);
    cls_litset_free(s);
    cls_litset_free(NULL);
    CHECK(cls_litset_maxlen(NULL) == 0);
}

int main(void)
{
    guard_init();
    /* every path this CPU has: caps scalar, SSSE3, AVX2, AVX-512BW, best
       (AVX-512VBMI) */
    static const int caps[] = {1, 2, 3, 4, 0};
    const char *seen[5];
    for (size_t i = 0; i < SGW_ARRAY_LEN(caps); i++) {
        cls_litset_force_scalar(caps[i]);
        const char *name = cls_litset_path();
        int dup = 0;
        for (int j = 0; j < npaths; j++)
            dup |= strcmp(seen[j], name) == 0;
        if (!dup) {
            seen[npaths] = name;
            paths[npaths++] = caps[i];
        }
    }
    cls_litset_force_scalar(0);
    printf("litset paths:");
    for (int i = 0; i < npaths; i++) {
        cls_litset_force_scalar(paths[i]);
        printf(" %s", cls_litset_path());
    }
    cls_litset_force_scalar(0);
    printf("\n");
    test_errors();
    test_anchors();
    test_random_sets();
    printf("litset: %llu scans, %llu reference hits, %d failures\n", total_scans, total_hits,
           failures);
    return failures != 0;
}
