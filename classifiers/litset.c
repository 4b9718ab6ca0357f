/* classifiers/litset.c — exact multi-literal search for small sets, Teddy
 * style (after Hyperscan's and Rust aho-corasick's "Teddy").
 *
 * The filter looks at the LAST m bytes (m = min(3, shortest literal)) of
 * every literal, so a candidate is an END position and occurrences come out
 * in end order with no sorting. Each literal sits in one of 8 buckets; for
 * each of the m tail positions k there are two 16-entry tables indexed by
 * the low and the high nibble of the text byte, whose bit b says "some
 * literal of bucket b may have this nibble here" (a caseless letter sets the
 * nibbles of both cases). The AND of the 2m table lookups over the m bytes
 * before an end is the set of buckets worth verifying there: with pshufb
 * that is 32 ends per few instructions. Verification compares every literal
 * of a candidate bucket with 8-byte masked loads (OR 0x20 only on the
 * literal's caseless letters).
 *
 * Buckets are chosen at build time to keep candidates rare on prose and
 * JSON: literals with the same tail share a bucket, and tails are placed to
 * minimise an estimate of the candidate rate under a byte-frequency model of
 * English text (a greedy pass, then single moves while they help).
 *
 * The scalar path looks up the same tables per byte (tbl[k][byte] is the
 * AND of the two nibble entries), so every path sees the same candidates
 * and reports the same occurrences in the same order. */
#include <stdlib.h>
#include <string.h>

#include "classifiers/litset.h"
#include "common/sgw.h"

#define NBUCKET 8

/* One literal, right-aligned in 32-byte rows: byte i of a literal of length
 * len is at index 32 - len + i. care is 0xff on the literal's bytes, fold is
 * 0x20 on its caseless letters, val = (byte | fold) on its bytes, all 0
 * before it. Word w (the 8 bytes ending 8w before the end) is at 24 - 8w. */
struct lit {
    uint8_t val[CLS_LITSET_MAXLEN];
    uint8_t fold[CLS_LITSET_MAXLEN];
    uint8_t care[CLS_LITSET_MAXLEN];
    uint32_t id;
    uint8_t len;
    uint8_t nw; /* 8-byte words the literal spans: 1..4 */
};

/* The last word of a literal (the 8 bytes ending at its end) and what the
 * verifier needs most, packed: the hot part of verification. */
struct lit0 {
    uint64_t fold, care, val;
    uint32_t id;
    uint8_t nw;
};

struct cls_litset {
    uint8_t lo[3][16]; /* bucket bits by low nibble, per tail position */
    uint8_t hi[3][16]; /* by high nibble */
    uint8_t tbl[3][256]; /* lo[k][b & 15] & hi[k][b >> 4], for the scalar path */
    unsigned m;         /* tail bytes the filter looks at: 1..3 */
    unsigned ascii;     /* 1 when no tail byte (of either case) is >= 0x80 */
    size_t maxlen;
    uint16_t bstart[NBUCKET + 1]; /* bucket b's literals: lits[bstart[b], bstart[b + 1]) */
    size_t n;
    const struct lit0 *w0; /* the literals' last words, by bucket (after lits) */
    struct lit lits[];     /* by bucket */
};

/* ---- the path in use ---------------------------------------------------- */

enum path {
    PATH_SCALAR,
    PATH_SSSE3,
    PATH_AVX2,
};

static int path_cap = PATH_AVX2;

static int path_best(void)
{
#if defined(__x86_64__)
    static int level = -1;
    int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2"))
            l = PATH_AVX2;
        else if (__builtin_cpu_supports("ssse3"))
            l = PATH_SSSE3;
        else
            l = PATH_SCALAR;
        __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    }
    return l;
#else
    return PATH_SCALAR;
#endif
}

static int path_now(void)
{
    int l = path_best();
    int cap = __atomic_load_n(&path_cap, __ATOMIC_RELAXED);
    return l < cap ? l : cap;
}

void cls_litset_force_scalar(int on)
{
    int cap = on == 1 ? PATH_SCALAR : on == 2 ? PATH_SSSE3 : PATH_AVX2;
    __atomic_store_n(&path_cap, cap, __ATOMIC_RELAXED);
}

const char *cls_litset_path(void)
{
    switch (path_now()) {
    case PATH_AVX2:
        return "avx2";
    case PATH_SSSE3:
        return "ssse3";
    default:
        return "scalar";
    }
}

/* ---- build ---------------------------------------------------------------- */

static int is_alpha(uint8_t c)
{
    return (uint8_t)((c | 0x20) - 'a') < 26;
}

/* Relative byte frequencies of English prose and JSON string values (letter
 * frequencies of English, upper case rarer, spaces, digits, punctuation):
 * only a model to rank bucket layouts, not a measured table. */
static void freq_model(double f[16][16])
{
    static const unsigned char order[] = "etaoinshrdlcumwfgypbvkjxqz";
    static const double lf[] = {127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28,
                                24,  24, 22, 20, 20, 19, 15, 10, 8,  2,  2,  1,  1};
    double w[256];
    for (int b = 0; b < 256; b++)
        w[b] = b >= 0x80 ? 2 : 0.5;
    for (int b = '0'; b <= '9'; b++)
        w[b] = 15;
    for (const char *q = ".,:;\"'-_/()=&?!"; *q; q++)
        w[(uint8_t)*q] = 12;
    w[' '] = 180;
    w['\n'] = 10;
    for (size_t i = 0; i < 26; i++) {
        w[order[i]] = lf[i] * 10;
        w[order[i] - 32] = lf[i] * 10 / 8 + 2;
    }
    double sum = 0;
    for (int b = 0; b < 256; b++)
        sum += w[b];
    for (int b = 0; b < 256; b++)
        f[b >> 4][b & 15] = w[b] / sum;
}

/* A group: the literals sharing one tail (same bytes, same caseless
 * letters), so the same nibble sets. */
struct group {
    uint16_t lo[3], hi[3]; /* nibble sets, bit = nibble value */
    unsigned nlits;
    int bucket;
};

struct bucket {
    uint16_t lo[3], hi[3];
    unsigned nlits;
};

/* Estimated cost of a bucket: the probability that m random bytes pass its
 * filter, times the work a candidate costs (a branch plus its compares). */
static double bucket_cost(const double f[16][16], unsigned m, const uint16_t lo[3],
                          const uint16_t hi[3], unsigned nlits)
{
    if (nlits == 0)
        return 0;
    double pr = 1;
    for (unsigned k = 0; k < m; k++) {
        double pk = 0;
        for (int h = 0; h < 16; h++)
            if (hi[k] >> h & 1)
                for (int l = 0; l < 16; l++)
                    if (lo[k] >> l & 1)
                        pk += f[h][l];
        pr *= pk;
    }
    return pr * (20.0 + 4.0 * nlits);
}

static double cost_with(const double f[16][16], unsigned m, const struct bucket *b,
                        const struct group *g, int add)
{
    uint16_t lo[3], hi[3];
    for (unsigned k = 0; k < 3; k++) {
        lo[k] = add ? (uint16_t)(b->lo[k] | g->lo[k]) : b->lo[k];
        hi[k] = add ? (uint16_t)(b->hi[k] | g->hi[k]) : b->hi[k];
    }
    return bucket_cost(f, m, lo, hi, b->nlits + (add ? g->nlits : 0));
}

static void bucket_rebuild(struct bucket *bk, const struct group *g, size_t ng)
{
    memset(bk, 0, sizeof(*bk) * NBUCKET);
    for (size_t i = 0; i < ng; i++) {
        struct bucket *b = &bk[g[i].bucket];
        for (unsigned k = 0; k < 3; k++) {
            b->lo[k] |= g[i].lo[k];
            b->hi[k] |= g[i].hi[k];
        }
        b->nlits += g[i].nlits;
    }
}

/* Places the groups in buckets: each (most frequent tail first) where it
 * adds least to the estimated cost, then single moves while one lowers it. */
static void assign_buckets(struct group *g, size_t ng, unsigned m)
{
    double f[16][16];
    freq_model(f);
    struct bucket bk[NBUCKET];
    if (ng <= NBUCKET) {
        for (size_t i = 0; i < ng; i++)
            g[i].bucket = (int)i;
        return;
    }
    /* order: highest own cost first (insertion sort, ng <= 128) */
    double own[CLS_LITSET_MAX];
    struct bucket empty;
    memset(&empty, 0, sizeof(empty));
    for (size_t i = 0; i < ng; i++)
        own[i] = cost_with(f, m, &empty, &g[i], 1);
    size_t ord[CLS_LITSET_MAX];
    for (size_t i = 0; i < ng; i++) {
        size_t j = i;
        while (j > 0 && own[ord[j - 1]] < own[i]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = i;
    }
    memset(bk, 0, sizeof(bk));
    for (size_t oi = 0; oi < ng; oi++) {
        struct group *gi = &g[ord[oi]];
        int best = 0;
        double bestd = 0;
        for (int b = 0; b < NBUCKET; b++) {
            double d = cost_with(f, m, &bk[b], gi, 1) - cost_with(f, m, &bk[b], gi, 0);
            if (b == 0 || d < bestd) {
                best = b;
                bestd = d;
            }
        }
        gi->bucket = best;
        for (unsigned k = 0; k < 3; k++) {
            bk[best].lo[k] |= gi->lo[k];
            bk[best].hi[k] |= gi->hi[k];
        }
        bk[best].nlits += gi->nlits;
    }
    for (int pass = 0; pass < 16; pass++) {
        int moved = 0;
        for (size_t i = 0; i < ng; i++) {
            int from = g[i].bucket;
            /* the source bucket without this group */
            struct group saved = g[i];
            g[i].bucket = -1;
            struct bucket without;
            memset(&without, 0, sizeof(without));
            for (size_t j = 0; j < ng; j++) {
                if (g[j].bucket != from)
                    continue;
                for (unsigned k = 0; k < 3; k++) {
                    without.lo[k] |= g[j].lo[k];
                    without.hi[k] |= g[j].hi[k];
                }
                without.nlits += g[j].nlits;
            }
            g[i] = saved;
            double gain = cost_with(f, m, &bk[from], &g[i], 0) - cost_with(f, m, &without, &g[i], 0);
            int best = from;
            double bestd = 0;
            for (int b = 0; b < NBUCKET; b++) {
                if (b == from)
                    continue;
                double d = cost_with(f, m, &bk[b], &g[i], 1) - cost_with(f, m, &bk[b], &g[i], 0) -
                           gain;
                if (d < bestd - 1e-12) {
                    best = b;
                    bestd = d;
                }
            }
            if (best != from) {
                g[i].bucket = best;
                bucket_rebuild(bk, g, ng);
                moved = 1;
            }
        }
        if (!moved)
            break;
    }
}

int cls_litset_new(const struct cls_litset_lit *lits, size_t n, struct cls_litset **out)
{
    if (!out)
        return SGW_EINVAL;
    *out = NULL;
    if (!lits || n == 0 || n > CLS_LITSET_MAX)
        return SGW_EINVAL;
    size_t minlen = CLS_LITSET_MAXLEN, maxlen = 0;
    for (size_t i = 0; i < n; i++) {
        if (lits[i].len == 0 || lits[i].len > CLS_LITSET_MAXLEN || !lits[i].bytes)
            return SGW_EINVAL;
        if (lits[i].len < minlen)
            minlen = lits[i].len;
        if (lits[i].len > maxlen)
            maxlen = lits[i].len;
    }
    unsigned m = minlen < 3 ? (unsigned)minlen : 3;

    /* group by tail: bytes (letters folded when caseless) and caseless-ness */
    struct group g[CLS_LITSET_MAX];
    size_t ng = 0;
    int gof[CLS_LITSET_MAX];
    uint8_t key[CLS_LITSET_MAX][6];
    for (size_t i = 0; i < n; i++) {
        uint8_t kb[6];
        struct group ng1;
        memset(&ng1, 0, sizeof(ng1));
        memset(kb, 0, sizeof(kb));
        for (unsigned k = 0; k < m; k++) {
            uint8_t c = lits[i].bytes[lits[i].len - m + k];
            int cl = lits[i].caseless && is_alpha(c);
            kb[k] = cl ? (uint8_t)(c | 0x20) : c;
            kb[3 + k] = (uint8_t)cl;
            ng1.lo[k] = (uint16_t)(1u << (c & 15));
            ng1.hi[k] = (uint16_t)(1u << (c >> 4));
            if (cl)
                ng1.hi[k] |= (uint16_t)(1u << ((c ^ 0x20) >> 4));
        }
        size_t j = 0;
        while (j < ng && memcmp(key[j], kb, sizeof(kb)) != 0)
            j++;
        if (j == ng) {
            memcpy(key[ng], kb, sizeof(kb));
            g[ng] = ng1;
            ng++;
        }
        g[j].nlits++;
        gof[i] = (int)j;
    }
    assign_buckets(g, ng, m);

    /* one allocation: the header, the literals, then (8-aligned) their last words */
    size_t off0 = (sizeof(struct cls_litset) + n * sizeof(struct lit) + 7) & ~(size_t)7;
    struct cls_litset *s = calloc(1, off0 + n * sizeof(struct lit0));
    if (!s)
        return SGW_ENOMEM;
    struct lit0 *w0 = (struct lit0 *)(void *)((char *)s + off0);
    s->w0 = w0;
    s->m = m;
    s->maxlen = maxlen;
    s->ascii = 1;
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < m; k++)
            if (lits[i].bytes[lits[i].len - m + k] >= 0x80)
                s->ascii = 0;
    s->n = n;
    for (unsigned k = 0; k < 3; k++) {
        for (size_t j = 0; j < ng; j++) {
            uint8_t bit = (uint8_t)(1u << g[j].bucket);
            for (int v = 0; v < 16; v++) {
                if (g[j].lo[k] >> v & 1)
                    s->lo[k][v] |= bit;
                if (g[j].hi[k] >> v & 1)
                    s->hi[k][v] |= bit;
            }
        }
        for (int b = 0; b < 256; b++)
            s->tbl[k][b] = (uint8_t)(s->lo[k][b & 15] & s->hi[k][b >> 4]);
    }
    size_t at = 0;
    for (int b = 0; b < NBUCKET; b++) {
        s->bstart[b] = (uint16_t)at;
        for (size_t i = 0; i < n; i++) {
            if (g[gof[i]].bucket != b)
                continue;
            struct lit *L = &s->lits[at++];
            size_t len = lits[i].len, off = CLS_LITSET_MAXLEN - len;
            for (size_t q = 0; q < len; q++) {
                uint8_t c = lits[i].bytes[q];
                uint8_t fo = lits[i].caseless && is_alpha(c) ? 0x20 : 0;
                L->fold[off + q] = fo;
                L->care[off + q] = 0xff;
                L->val[off + q] = (uint8_t)(c | fo);
            }
            L->id = lits[i].id;
            L->len = (uint8_t)len;
            L->nw = (uint8_t)((len + 7) / 8);
            struct lit0 *W = &w0[at - 1];
            memcpy(&W->fold, L->fold + CLS_LITSET_MAXLEN - 8, 8);
            memcpy(&W->care, L->care + CLS_LITSET_MAXLEN - 8, 8);
            memcpy(&W->val, L->val + CLS_LITSET_MAXLEN - 8, 8);
            W->id = L->id;
            W->nw = L->nw;
        }
    }
    s->bstart[NBUCKET] = (uint16_t)at;
    *out = s;
    return SGW_OK;
}

void cls_litset_free(struct cls_litset *s)
{
    free(s);
}

size_t cls_litset_maxlen(const struct cls_litset *s)
{
    return s ? s->maxlen : 0;
}

/* ---- verification ----------------------------------------------------------- */

/* Do the words before the last of literal L (over 8 bytes) match before
 * end e? The caller checked that they lie in the window
 * (e + back >= 8 * nw) and that the last word matches. */
static int lit_rest(const struct lit *L, const uint8_t *p, size_t e)
{
    for (unsigned w = 1; w < L->nw; w++) {
        uint64_t x, fo, ca, va;
        size_t o = CLS_LITSET_MAXLEN - 8 - 8 * w;
        memcpy(&x, p + e - 8 - 8 * w, 8);
        memcpy(&fo, L->fold + o, 8);
        memcpy(&ca, L->care + o, 8);
        memcpy(&va, L->val + o, 8);
        if (((x | fo) & ca) != va)
            return 0;
    }
    return 1;
}

/* Does literal L end at p + e? Byte by byte, for an end near the window's
 * start (fewer than 8 bytes before it, or fewer than the literal's words). */
static int lit_slow(const struct lit *L, const uint8_t *p, size_t e, size_t back)
{
    if (e + back < L->len)
        return 0;
    const uint8_t *t = p + e - L->len;
    size_t off = CLS_LITSET_MAXLEN - L->len;
    for (size_t i = 0; i < L->len; i++)
        if ((uint8_t)(t[i] | L->fold[off + i]) != L->val[off + i])
            return 0;
    return 1;
}

/* Verifies the literals of the buckets in bits at end e (1..n); the
 * callback's nonzero value, else 0. The common case (8 window bytes before
 * e) loads those 8 bytes once and tests each literal's last word with one
 * masked compare from a compact array. */
static int verify(const struct cls_litset *s, const uint8_t *p, size_t e, size_t back,
                  unsigned bits, cls_litset_cb cb, void *ctx)
{
    if (__builtin_expect(e + back >= 8, 1)) {
        uint64_t x;
        memcpy(&x, p + e - 8, 8);
        while (bits) {
            unsigned b = (unsigned)__builtin_ctz(bits);
            bits &= bits - 1;
            for (size_t i = s->bstart[b]; i < s->bstart[b + 1]; i++) {
                const struct lit0 *W = &s->w0[i];
                if (((x | W->fold) & W->care) != W->val)
                    continue;
                if (W->nw > 1 &&
                    !(e + back >= (size_t)W->nw * 8 ? lit_rest(&s->lits[i], p, e)
                                                      : lit_slow(&s->lits[i], p, e, back)))
                    continue;
                int rc = cb(W->id, e, ctx);
                if (rc)
                    return rc;
            }
        }
        return 0;
    }
    while (bits) {
        unsigned b = (unsigned)__builtin_ctz(bits);
        bits &= bits - 1;
        for (size_t i = s->bstart[b]; i < s->bstart[b + 1]; i++) {
            if (lit_slow(&s->lits[i], p, e, back)) {
                int rc = cb(s->lits[i].id, e, ctx);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- scalar --------------------------------------------------------------- */

/* The candidate buckets of the end e (the m bytes before it are in the
 * window). */
static inline unsigned cand_scalar(const struct cls_litset *s, const uint8_t *p, size_t e)
{
    const uint8_t *q = p + e - 1;
    switch (s->m) {
    case 3:
        return s->tbl[0][q[-2]] & s->tbl[1][q[-1]] & s->tbl[2][q[0]];
    case 2:
        return s->tbl[0][q[-1]] & s->tbl[1][q[0]];
    default:
        return s->tbl[0][q[0]];
    }
}

static int scan_scalar(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back,
                       cls_litset_cb cb, void *ctx)
{
    size_t e = s->m > back ? s->m - back : 1;
    for (; e <= n; e++) {
        unsigned bits = cand_scalar(s, p, e);
        if (bits) {
            int rc = verify(s, p, e, back, bits, cb, ctx);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- SIMD ----------------------------------------------------------------- */

#if defined(__x86_64__)
#include <immintrin.h>

/* The edge chunks (the first when the m - 1 bytes before it are not all in
 * the window, the last partial one) are filtered from a copy: window bytes
 * in place, zeros elsewhere. A zero can only add candidates (which
 * verification, reading the real text, rejects), never hide one, since a
 * literal's bytes are all in the window. Fills buf so that buf[i] is the
 * text byte p[b - (m - 1) + i], for lanes ends b + 1 .. b + cnt. */
static void edge_copy(uint8_t *buf, size_t cap, const uint8_t *p, size_t n, size_t back, size_t b,
                      size_t cnt, unsigned m)
{
    memset(buf, 0, cap);
    /* text offsets (relative to p, may be negative) [lo, hi) */
    ptrdiff_t lo = (ptrdiff_t)b - (ptrdiff_t)(m - 1), hi = (ptrdiff_t)(b + cnt);
    ptrdiff_t from = lo < -(ptrdiff_t)back ? -(ptrdiff_t)back : lo;
    if (hi > (ptrdiff_t)n)
        hi = (ptrdiff_t)n;
    if (hi > from)
        memcpy(buf + (from - lo), p + from, (size_t)(hi - from));
}

/* The bucket bits of 32 text bytes at tail position k: the AND of the
 * low- and the high-nibble tables. When no tail byte is >= 0x80 (ASCII),
 * the low nibble needs no mask: pshufb gives 0 for a byte with bit 7 set,
 * which is then the right answer. */
#define TEDDY_NIB(v, L, H)                                                                         \
    _mm256_and_si256(_mm256_shuffle_epi8(L, ASCII ? (v) : _mm256_and_si256(v, m0f)),               \
                     _mm256_shuffle_epi8(H, _mm256_and_si256(_mm256_srli_epi16(v, 4), m0f)))

/* the filter over 32 ends: q[k + j] is tail byte k of the end of lane j */
#define TEDDY32(q, out)                                                                            \
    do {                                                                                           \
        __m256i r_ = TEDDY_NIB(_mm256_loadu_si256((const __m256i *)(const void *)(q)), lo0, hi0);  \
        if (M >= 2)                                                                                \
            r_ = _mm256_and_si256(                                                                 \
                r_,                                                                                \
                TEDDY_NIB(_mm256_loadu_si256((const __m256i *)(const void *)((q) + 1)), lo1, hi1)); \
        if (M >= 3)                                                                                \
            r_ = _mm256_and_si256(                                                                 \
                r_,                                                                                \
                TEDDY_NIB(_mm256_loadu_si256((const __m256i *)(const void *)((q) + 2)), lo2, hi2)); \
        (out) = r_;                                                                                \
    } while (0)

#define TEDDY_TABLES256                                                                            \
    const __m256i m0f = _mm256_set1_epi8(0x0f);                                                    \
    const __m256i lo0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->lo[0]));  \
    const __m256i hi0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->hi[0]));  \
    const __m256i lo1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->lo[1]));  \
    const __m256i hi1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->hi[1]));  \
    const __m256i lo2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->lo[2]));  \
    const __m256i hi2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->hi[2]));  \
    (void)m0f;                                                                                     \
    (void)lo1;                                                                                     \
    (void)hi1;                                                                                     \
    (void)lo2;                                                                                     \
    (void)hi2

/* The filter over ends b + 1 .. b + 64 while they are in p[0, n), with no
 * call inside (the tables stay in registers): the first b whose 64 ends
 * have a candidate, with the lanes' bucket bits in out[] and the lanes with
 * any in *mask; else the b where it stopped (b + 64 > n). The caller
 * ensures that the M - 1 bytes before p + b are in the window. */
__attribute__((target("avx2"), always_inline)) static inline size_t
find64_avx2(const struct cls_litset *s, const uint8_t *p, size_t b, size_t n, uint8_t out[64],
            uint64_t *mask, const unsigned M, const int ASCII)
{
    TEDDY_TABLES256;
    for (; b + 64 <= n; b += 64) {
        const uint8_t *q = p + b - (M - 1);
        __m256i r0, r1;
        TEDDY32(q, r0);
        TEDDY32(q + 32, r1);
        __m256i any = _mm256_or_si256(r0, r1);
        if (__builtin_expect(_mm256_testz_si256(any, any), 1))
            continue;
        const __m256i z = _mm256_setzero_si256();
        uint64_t m0 = (uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(r0, z));
        uint64_t m1 = (uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(r1, z));
        _mm256_storeu_si256((__m256i *)(void *)out, r0);
        _mm256_storeu_si256((__m256i *)(void *)(out + 32), r1);
        *mask = m0 | m1 << 32;
        return b;
    }
    return b;
}

/* The filter over at most 32 ends b + 1 .. b + cnt from a copy (the window's
 * edges): bucket bits in out[], lanes with any in the result. */
__attribute__((target("avx2"), always_inline)) static inline uint64_t
edge_avx2(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, size_t b,
          size_t cnt, uint8_t out[64], const unsigned M, const int ASCII)
{
    TEDDY_TABLES256;
    uint8_t buf[64];
    edge_copy(buf, sizeof(buf), p, n, back, b, cnt, M);
    __m256i r;
    TEDDY32(buf, r);
    _mm256_storeu_si256((__m256i *)(void *)out, r);
    uint64_t m = (uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(r, _mm256_setzero_si256()));
    return cnt >= 32 ? m : m & ((1ull << cnt) - 1);
}

/* Verifies the candidate lanes of mask (ends b + 1 + j). */
static int lanes(const struct cls_litset *s, const uint8_t *p, size_t back, size_t b,
                 const uint8_t *bits, uint64_t mask, cls_litset_cb cb, void *ctx)
{
    while (mask) {
        unsigned j = (unsigned)__builtin_ctzll(mask);
        mask &= mask - 1;
        int rc = verify(s, p, b + j + 1, back, bits[j], cb, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

__attribute__((target("avx2"), always_inline)) static inline int
scan_avx2_m(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, cls_litset_cb cb,
            void *ctx, const unsigned M, const int ASCII)
{
    uint8_t out[64];
    uint64_t mask = 0;
    size_t b = 0;
    int rc;
    if (back < M - 1) {
        size_t cnt = n < 32 ? n : 32;
        mask = edge_avx2(s, p, n, back, 0, cnt, out, M, ASCII);
        rc = lanes(s, p, back, 0, out, mask, cb, ctx);
        if (rc)
            return rc;
        b = cnt;
    }
    while (b + 64 <= n) {
        b = find64_avx2(s, p, b, n, out, &mask, M, ASCII);
        if (b + 64 > n)
            break;
        rc = lanes(s, p, back, b, out, mask, cb, ctx);
        if (rc)
            return rc;
        b += 64;
    }
    while (b < n) {
        size_t cnt = n - b < 32 ? n - b : 32;
        mask = edge_avx2(s, p, n, back, b, cnt, out, M, ASCII);
        rc = lanes(s, p, back, b, out, mask, cb, ctx);
        if (rc)
            return rc;
        b += cnt;
    }
    return 0;
}

__attribute__((target("avx2"))) static int scan_avx2(const struct cls_litset *s, const uint8_t *p,
                                                     size_t n, size_t back, cls_litset_cb cb,
                                                     void *ctx)
{
    switch (s->m * 2 + s->ascii) {
    case 7:
        return scan_avx2_m(s, p, n, back, cb, ctx, 3, 1);
    case 6:
        return scan_avx2_m(s, p, n, back, cb, ctx, 3, 0);
    case 5:
        return scan_avx2_m(s, p, n, back, cb, ctx, 2, 1);
    case 4:
        return scan_avx2_m(s, p, n, back, cb, ctx, 2, 0);
    case 3:
        return scan_avx2_m(s, p, n, back, cb, ctx, 1, 1);
    default:
        return scan_avx2_m(s, p, n, back, cb, ctx, 1, 0);
    }
}

/* SSSE3: the same filter over 16 ends */
#define TEDDY_NIB16(v, L, H, mask)                                                                 \
    _mm_and_si128(_mm_shuffle_epi8(L, _mm_and_si128(v, mask)),                                     \
                  _mm_shuffle_epi8(H, _mm_and_si128(_mm_srli_epi16(v, 4), mask)))

#define TEDDY16(q, out)                                                                            \
    do {                                                                                           \
        __m128i r_ =                                                                               \
            TEDDY_NIB16(_mm_loadu_si128((const __m128i *)(const void *)(q)), lo0, hi0, m0f);       \
        if (M >= 2)                                                                                \
            r_ = _mm_and_si128(                                                                    \
                r_, TEDDY_NIB16(_mm_loadu_si128((const __m128i *)(const void *)((q) + 1)), lo1,    \
                                hi1, m0f));                                                        \
        if (M >= 3)                                                                                \
            r_ = _mm_and_si128(                                                                    \
                r_, TEDDY_NIB16(_mm_loadu_si128((const __m128i *)(const void *)((q) + 2)), lo2,    \
                                hi2, m0f));                                                        \
        (out) = r_;                                                                                \
    } while (0)

__attribute__((target("ssse3"))) static inline int
cands_ssse3(const struct cls_litset *s, const uint8_t *p, size_t back, size_t b, __m128i r,
            uint32_t lanemask, cls_litset_cb cb, void *ctx)
{
    uint32_t mask = ~(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(r, _mm_setzero_si128())) & 0xffff;
    mask &= lanemask;
    if (!mask)
        return 0;
    uint8_t rb[16];
    _mm_storeu_si128((__m128i *)(void *)rb, r);
    while (mask) {
        unsigned j = (unsigned)__builtin_ctz(mask);
        mask &= mask - 1;
        int rc = verify(s, p, b + j + 1, back, rb[j], cb, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

__attribute__((target("ssse3"), always_inline)) static inline int
scan_ssse3_m(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, cls_litset_cb cb,
             void *ctx, const unsigned M)
{
    const __m128i m0f = _mm_set1_epi8(0x0f);
    const __m128i lo0 = _mm_loadu_si128((const __m128i *)s->lo[0]);
    const __m128i hi0 = _mm_loadu_si128((const __m128i *)s->hi[0]);
    const __m128i lo1 = _mm_loadu_si128((const __m128i *)s->lo[1]);
    const __m128i hi1 = _mm_loadu_si128((const __m128i *)s->hi[1]);
    const __m128i lo2 = _mm_loadu_si128((const __m128i *)s->lo[2]);
    const __m128i hi2 = _mm_loadu_si128((const __m128i *)s->hi[2]);
    uint8_t buf[32];
    size_t b = 0;
    int rc;
    __m128i r0, r1;
    if (back < M - 1) {
        size_t cnt = n < 16 ? n : 16;
        edge_copy(buf, sizeof(buf), p, n, back, 0, cnt, M);
        TEDDY16(buf, r0);
        rc = cands_ssse3(s, p, back, 0, r0, (1u << cnt) - 1, cb, ctx);
        if (rc)
            return rc;
        b = cnt;
    }
    for (; b + 32 <= n; b += 32) {
        const uint8_t *q = p + b - (M - 1);
        TEDDY16(q, r0);
        TEDDY16(q + 16, r1);
        __m128i any = _mm_or_si128(r0, r1);
        if (__builtin_expect(
                _mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) == 0xffff, 1))
            continue;
        rc = cands_ssse3(s, p, back, b, r0, 0xffff, cb, ctx);
        if (rc)
            return rc;
        rc = cands_ssse3(s, p, back, b + 16, r1, 0xffff, cb, ctx);
        if (rc)
            return rc;
    }
    for (; b + 16 <= n; b += 16) {
        TEDDY16(p + b - (M - 1), r0);
        rc = cands_ssse3(s, p, back, b, r0, 0xffff, cb, ctx);
        if (rc)
            return rc;
    }
    if (b < n) {
        size_t cnt = n - b;
        edge_copy(buf, sizeof(buf), p, n, back, b, cnt, M);
        TEDDY16(buf, r0);
        rc = cands_ssse3(s, p, back, b, r0, (1u << cnt) - 1, cb, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

__attribute__((target("ssse3"))) static int scan_ssse3(const struct cls_litset *s,
                                                       const uint8_t *p, size_t n, size_t back,
                                                       cls_litset_cb cb, void *ctx)
{
    switch (s->m) {
    case 3:
        return scan_ssse3_m(s, p, n, back, cb, ctx, 3);
    case 2:
        return scan_ssse3_m(s, p, n, back, cb, ctx, 2);
    default:
        return scan_ssse3_m(s, p, n, back, cb, ctx, 1);
    }
}
#endif

int cls_litset_scan(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back,
                    cls_litset_cb cb, void *ctx)
{
    if (!s || !p || n == 0 || !cb)
        return 0;
    /* no literal starts further back than maxlen - 1 before p */
    if (back > s->maxlen - 1)
        back = s->maxlen - 1;
#if defined(__x86_64__)
    switch (path_now()) {
    case PATH_AVX2:
        return scan_avx2(s, p, n, back, cb, ctx);
    case PATH_SSSE3:
        return scan_ssse3(s, p, n, back, cb, ctx);
    default:
        break;
    }
#endif
    return scan_scalar(s, p, n, back, cb, ctx);
}

int cls_litset_scan_stats(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back,
                          cls_litset_cb cb, void *ctx, struct cls_litset_stats *st)
{
    if (!s || !p || n == 0 || !cb)
        return 0;
    if (back > s->maxlen - 1)
        back = s->maxlen - 1;
    size_t e = s->m > back ? s->m - back : 1;
    for (; e <= n; e++) {
        unsigned bits = cand_scalar(s, p, e);
        if (!bits)
            continue;
        if (st) {
            st->cand_pos++;
            st->cand_buckets += (unsigned)__builtin_popcount(bits);
            for (unsigned x = bits; x; x &= x - 1) {
                unsigned b = (unsigned)__builtin_ctz(x);
                st->compares += (uint64_t)(s->bstart[b + 1] - s->bstart[b]);
            }
        }
        int rc = verify(s, p, e, back, bits, cb, ctx);
        if (rc)
            return rc;
    }
    return 0;
}
