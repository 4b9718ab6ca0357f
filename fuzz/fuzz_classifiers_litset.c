/* fuzz/fuzz_classifiers_litset.c — the multi-literal matcher
 * (classifiers/litset.c) against a naive search.
 * Input: byte 0 = number of literals - 1 (mod 128); per literal a header
 * byte (bits 0-4: length - 1, bit 7: caseless) and its bytes; then two
 * bytes seeding the piece lengths; the rest is the text.
 * Properties: the whole-text scan on every path (scalar, SSSE3, AVX2,
 * AVX-512BW, AVX-512VBMI) reports exactly the naive occurrences in nondecreasing end
 * order; the text cut into pieces scanned with back = min(maxlen - 1, bytes before)
 * reports the same occurrences. Any difference aborts. */
#include <stdlib.h>
#include <string.h>

#include "classifiers/litset.h"
#include "common/sgw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXHITS 4096

struct hits {
    uint64_t v[MAXHITS]; /* end << 32 | id */
    size_t n;
    int overflow, order_bad;
    size_t last_end;
    size_t shift;
};

static int on_hit(uint32_t id, size_t end, void *ctx)
{
    struct hits *h = ctx;
    size_t e = end + h->shift;
    if (h->n && e < h->last_end)
        h->order_bad = 1;
    h->last_end = e;
    if (h->n == MAXHITS) {
        h->overflow = 1;
        return 1;
    }
    h->v[h->n++] = (uint64_t)e << 32 | id;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static struct hits ref, got;

static void check_same(void)
{
    if (ref.overflow || got.overflow)
        return; /* too many to compare: both stopped at the cap */
    if (got.order_bad || got.n != ref.n)
        abort();
    qsort(got.v, got.n, sizeof(got.v[0]), cmp_u64);
    if (memcmp(got.v, ref.v, ref.n * sizeof(ref.v[0])) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cls_litset_lit L[CLS_LITSET_MAX];
    size_t at = 0;
    if (size < 1)
        return 0;
    size_t nl = (size_t)(data[at++] % CLS_LITSET_MAX) + 1;
    for (size_t i = 0; i < nl; i++) {
        if (at >= size)
            return 0;
        uint8_t h = data[at++];
        size_t len = (size_t)(h & 31) + 1;
        if (len > size - at)
            return 0;
        L[i].bytes = data + at;
        L[i].len = len;
        L[i].caseless = h >> 7;
        L[i].id = (uint32_t)i;
        at += len;
    }
    if (size - at < 2)
        return 0;
    unsigned seed = (unsigned)data[at] << 8 | data[at + 1];
    at += 2;
    const uint8_t *text = data + at;
    size_t n = size - at;

    struct cls_litset *s = NULL;
    if (cls_litset_new(L, nl, &s) != SGW_OK)
        abort();
    size_t maxlen = cls_litset_maxlen(s);

    /* the reference, in (end, id) order */
    memset(&ref, 0, sizeof(ref));
    for (size_t e = 1; e <= n && !ref.overflow; e++)
        for (size_t i = 0; i < nl && !ref.overflow; i++) {
            if (L[i].len > e)
                continue;
            const uint8_t *t = text + e - L[i].len;
            size_t k = 0;
            while (k < L[i].len &&
                   (L[i].caseless ? lc(t[k]) == lc(L[i].bytes[k]) : t[k] == L[i].bytes[k]))
                k++;
            if (k == L[i].len)
                on_hit(L[i].id, e, &ref);
        }
    qsort(ref.v, ref.n, sizeof(ref.v[0]), cmp_u64);

    static const int paths[] = {1, 2, 3, 4, 0};
    for (size_t pi = 0; pi < SGW_ARRAY_LEN(paths); pi++) {
        cls_litset_force_scalar(paths[pi]);
        /* the text whole, from a heap copy of exactly n bytes (ASan sees
           any read past it) */
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy)
            abort();
        memcpy(copy, text, n);
        memset(&got, 0, sizeof(got));
        int rc = cls_litset_scan(s, copy, n, 0, on_hit, &got);
        if (rc != 0 && !got.overflow)
            abort();
        check_same();
        /* in pieces, each copied with its back bytes to a heap block of its own */
        memset(&got, 0, sizeof(got));
        unsigned r = seed * 2654435761u + 1;
        size_t off = 0;
        while (off < n && !got.overflow) {
            r = r * 1103515245u + 12345u;
            size_t len = 1 + (r >> 16) % ((seed & 7) == 0 ? 3 : 70);
            if (len > n - off)
                len = n - off;
            size_t back = off < maxlen - 1 ? off : maxlen - 1;
            uint8_t *pc = malloc(back + len);
            if (!pc)
                abort();
            memcpy(pc, copy + off - back, back + len);
            got.shift = off;
            rc = cls_litset_scan(s, pc + back, len, back, on_hit, &got);
            free(pc);
            if (rc != 0 && !got.overflow)
                abort();
            off += len;
        }
        check_same();
        free(copy);
    }
    cls_litset_force_scalar(0);
    cls_litset_free(s);
    return 0;
}
