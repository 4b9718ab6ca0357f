/* classifiers/litset.c — exact multi-literal search for small sets, Teddy
 * style (after Hyperscan's and Rust aho-corasick's "Teddy").
 *
 * The filter looks at m = min(3, shortest literal) consecutive bytes of
 * every literal, its "window", which ends d bytes before the literal's end
 * (d chosen per bucket, see below). Each literal sits in one of 8 buckets;
 * for each of the m window positions k there are two 16-entry tables indexed
 * by the low and the high nibble of a text byte, whose bit b says "some
 * literal of bucket b may have this nibble here" (a caseless letter sets the
 * nibbles of both cases). The AND of the 2m lookups over the m bytes before
 * a filter end f is the set of buckets worth verifying at end f + d_b: with
 * pshufb that is 32 filter ends per few instructions.
 *
 * Why d: a literal's last three bytes are often common English ("ord" of
 * "password" comes with every "word", "com" of "hooks.slack.com" with every
 * "com"); a window inside the literal ("ssw", ".sl") is rare. Buckets share
 * one d, so the candidate ends of a 64-end block come from the filter's
 * results on that block and the one before, shifted by each bucket's d: the
 * hot loop only looks for any nonzero filter byte, and the rare blocks with
 * candidates (and the one after) are expanded in end order, so occurrences
 * come out in nondecreasing end order without sorting or buffering.
 *
 * Verification compares every literal of a candidate bucket: the 8 text
 * bytes before the end are loaded once and tested against each literal's
 * last word (OR 0x20 only on its caseless letters, AND its bytes' mask).
 *
 * Windows and buckets are chosen at build time by a model of the decoded
 * text of prompt bodies (byte frequencies and letter-pair frequencies
 * measured on the corpus's JSON string values): the rarest window per
 * literal among a few shared d values, then buckets placed to minimise the
 * estimated candidate rate (greedy, then single moves while they help).
 *
 * Paths, chosen at run time: AVX-512VBMI (one vpermi2b per window byte
 * looks it up in a 128-entry table; sets whose window bytes are ASCII),
 * AVX-512BW, AVX2, SSSE3 (nibble pshufbs) and scalar (the same tables per
 * byte; the only path off x86-64). All fill the same 64-end filter blocks
 * and share the driver and the verifier, so they report the same
 * occurrences in the same order. */
#include <stdlib.h>
#include <string.h>

#include "classifiers/litset.h"
#include "common/sgw.h"

#define NBUCKET 8
#define MAXD 3 /* distinct window distances d */

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
    uint8_t lo[3][16];   /* bucket bits by low nibble, per window position */
    uint8_t hi[3][16];   /* by high nibble */
    uint8_t tbl[3][256]; /* lo[k][b & 15] & hi[k][b >> 4], for the scalar path */
    unsigned m;          /* window bytes: 1..3 */
    unsigned ascii;      /* 1 when no window byte (of either case) is >= 0x80 */
    unsigned nd;         /* distinct d values, 1..MAXD */
    unsigned dval[MAXD]; /* each d (< 32) */
    uint8_t dmask[MAXD]; /* the buckets with that d */
    unsigned dmax;
    size_t maxlen;
    uint16_t bstart[NBUCKET + 1]; /* bucket b's literals: lits[bstart[b], bstart[b + 1]) */
    /* per bucket (of at most 64 literals), by lasth() of the two text bytes
       before the end: the literals (bit i - bstart[b]) that may end so */
    uint64_t lastm[NBUCKET][64];
    uint8_t big; /* buckets of more than 64 literals (verified one by one) */
    size_t n;
    const struct lit0 *w0; /* the literals' last words, by bucket (after lits) */
    struct lit lits[];     /* by bucket */
};

/* A filter block: the bucket bits of 64 consecutive filter ends, and per d
 * value the lanes with a bucket of that d. */
struct blk {
    uint8_t r[64];
    uint64_t dl[MAXD];
};

/* ---- the path in use ---------------------------------------------------- */

enum path {
    PATH_SCALAR,
    PATH_SSSE3,
    PATH_AVX2,
    PATH_AVX512, /* AVX-512BW: 64 lanes per instruction */
    PATH_VBMI,   /* AVX-512VBMI: a 128-entry byte table per instruction (ASCII windows) */
};

static int path_cap = PATH_VBMI;

static int path_best(void)
{
#if defined(__x86_64__)
    static int level = -1;
    int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vbmi"))
            l = PATH_VBMI;
        else if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
            l = PATH_AVX512;
        else if (__builtin_cpu_supports("avx2"))
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
    int cap = on == 1   ? PATH_SCALAR
              : on == 2 ? PATH_SSSE3
              : on == 3 ? PATH_AVX2
              : on == 4 ? PATH_AVX512
                        : PATH_VBMI;
    __atomic_store_n(&path_cap, cap, __ATOMIC_RELAXED);
}

const char *cls_litset_path(void)
{
    switch (path_now()) {
    case PATH_VBMI:
        return "avx512vbmi";
    case PATH_AVX512:
        return "avx512bw";
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

/* the verifier's index of the last two bytes: case-blind, 6 bits */
static inline unsigned lasth(uint8_t a, uint8_t b)
{
    return ((unsigned)(b | 0x20) + 5u * (unsigned)(a | 0x20)) & 63;
}

/* Measured on 47 MB of the corpus's decoded JSON string values (the text
 * the scanner sees): bytes per 100,000 (ASCII; at least 1), and for each
 * letter (either case) the following letter per 1,000 (at least 1). */
static const uint16_t uni_pcm[128] = {
    286,   1,    1,    1,    1,    1,    1,    1,    1,    1,    287, 1,   1,    1,    1,    1,
    1,     1,    1,    1,    1,    1,    1,    1,    1,    1,    1,   1,   1,    1,    1,    1,
    21138, 1,    1,    61,   1,    81,   1,    25,   1,    1,    1,   4,   287,  105,  1271, 129,
    339,   389,  396,  197,  185,  164,  152,  163,  148,  209,  16,  2,   1,    6,    1,    287,
    2,     207,  70,   73,   41,   48,   66,   30,   95,   275,  14,  20,  46,   67,   36,   152,
    45,    12,   35,   101,  313,  26,   16,   117,  9,    68,   8,   1,   2,    1,    1,    8,
    1,     5952, 894,  1411, 2694, 9514, 2300, 905,  5878, 3703, 51,  557, 2389, 1608, 4431, 6664,
    1028,  58,   3913, 3606, 7680, 2154, 666,  2034, 60,   1493, 27,  1,   1,    1,    1,    1,
};
static const uint16_t next_pm[26][26] = {
    {1,   16, 43, 43, 1,   6,   12,  1, 37, 1, 14, 53, 23,
     239, 1,  9,  1,  103, 106, 117, 9, 27, 5, 1,  37, 1},
    {57, 1, 1, 1, 375, 1, 2, 1, 36, 10, 1, 64, 1, 1, 160, 1, 1, 18, 1, 1, 130, 1, 1, 1, 110, 1},
    {157, 1, 9, 1, 154, 1, 1, 202, 41, 1, 60, 33, 7, 1, 182, 1, 1, 24, 1, 75, 27, 1, 1, 1, 11, 1},
    {26, 1, 1, 8, 75, 1, 1, 1, 33, 1, 1, 1, 1, 1, 70, 3, 1, 25, 1, 1, 15, 1, 1, 1, 16, 1},
    {53, 1, 11, 5, 30, 5, 3, 1, 7, 1, 1, 22, 16, 56, 4, 6, 2, 116, 22, 22, 1, 12, 7, 3, 19, 1},
    {49, 1, 1, 1, 36, 20, 1, 1, 69, 1, 1, 5, 1, 1, 160, 1, 1, 64, 1, 33, 15, 1, 1, 1, 1, 1},
    {67, 1, 2, 1, 135, 1, 1, 200, 72, 1, 1, 1, 1, 1, 123, 14, 1, 88, 1, 1, 20, 1, 1, 1, 1, 1},
    {131, 1, 1, 1, 571, 1, 1, 1, 96, 1, 1, 1, 1, 1, 73, 1, 1, 9, 1, 17, 2, 1, 1, 1, 4, 1},
    {5, 3, 38, 42, 15, 26, 35, 1, 1, 1, 13, 48, 34, 238, 8, 9, 1, 45, 196, 168, 1, 25, 1, 3, 1, 5},
    {131, 8, 7, 8, 143, 8, 8, 23, 23, 8, 7, 7, 8, 8, 11, 8, 7, 8, 8, 7, 436, 7, 7, 7, 8, 8},
    {1, 1, 3, 1, 310, 1, 1, 1, 56, 1, 1, 1, 1, 88, 1, 3, 1, 1, 1, 1, 14, 1, 1, 1, 1, 1},
    {116, 1, 1, 100, 129, 13, 1, 1, 97, 1, 11, 146, 1, 1, 89, 15, 1, 1, 10, 4, 4, 1, 6, 1, 37, 1},
    {198, 32, 1, 1, 278, 1, 1, 1, 43, 1, 1, 1, 16, 1, 118, 27, 1, 1, 1, 1, 43, 1, 1, 1, 24, 1},
    {11, 1, 24, 271, 81, 2, 55, 1, 15, 1, 6, 7, 1, 3, 43, 1, 1, 1, 14, 66, 16, 2, 1, 1, 20, 1},
    {4, 3, 6, 16, 4, 179, 4, 1, 7, 1, 12, 22, 49, 96, 35, 13, 1, 119, 16, 40, 152, 17, 52, 2, 5, 1},
    {117, 1, 1, 1, 140, 9, 1, 1, 38, 1, 1, 194, 1, 1, 139, 38, 1, 50, 1, 19, 31, 1, 1, 1, 8, 1},
    {7, 7, 7, 8, 22, 7, 7, 7, 7, 7, 7, 6, 7, 7, 7, 7, 7, 8, 6, 7, 763, 7, 7, 7, 7, 8},
    {24, 3, 2, 46, 241, 2, 6, 1, 41, 1, 15, 11, 14, 21, 87, 3, 1, 8, 18, 41, 10, 5, 1, 1, 39, 1},
    {40, 1, 13, 1, 156, 1, 1, 43, 41, 1, 6, 8, 6, 2, 75, 16, 1, 1, 36, 154, 33, 1, 10, 1, 15, 1},
    {29, 1, 2, 1, 61, 1, 1, 459, 20, 1, 1, 4, 1, 1, 100, 1, 1, 14, 1, 9, 8, 1, 9, 1, 3, 1},
    {17, 4, 31, 14, 25, 1, 40, 1, 13, 1, 1, 79, 37, 132, 1, 49, 1, 109, 150, 141, 1, 1, 1, 1, 1, 1},
    {15, 1, 2, 1, 788, 1, 1, 1, 12, 1, 1, 1, 1, 1, 42, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {208, 1, 1, 1, 139, 1, 1, 175, 118, 1, 1, 1, 1, 30, 132, 1, 1, 25, 1, 1, 1, 1, 1, 1, 1, 1},
    {228, 21, 8, 7, 7, 7, 8, 7, 8, 7, 7, 8, 7, 7, 22, 7, 7, 7, 7, 220, 7, 22, 6, 8, 6, 7},
    {1, 1, 1, 1, 36, 1, 1, 1, 1, 1, 1, 5, 1, 1, 267, 1, 1, 1, 44, 5, 1, 1, 1, 1, 1, 1},
    {44, 15, 13, 15, 502, 15, 15, 14, 41, 13, 14, 13, 14,
     14, 14, 14, 13, 16,  15, 14, 14, 14, 14, 14, 13, 14},
};

/* the model's probability of byte c at one position (both cases when cl) */
static double p_byte(uint8_t c, int cl)
{
    double u = c < 128 ? uni_pcm[c] : 1;
    if (cl && is_alpha(c))
        u = uni_pcm[c | 0x20] + uni_pcm[c & ~0x20];
    return u / 1e5;
}

/* the model's probability of the window w (m bytes) at one position */
static double p_window(const uint8_t *w, unsigned m, int cl)
{
    double pr = p_byte(w[0], cl);
    for (unsigned k = 1; k < m; k++) {
        uint8_t a = w[k - 1], b = w[k];
        if (is_alpha(a) && is_alpha(b)) {
            /* P(b | a) from the pair table, times b's case share */
            double pb = next_pm[(a | 0x20) - 'a'][(b | 0x20) - 'a'] / 1000.0;
            if (!cl) {
                double both = uni_pcm[b | 0x20] + uni_pcm[b & ~0x20];
                pb *= uni_pcm[b] / both;
            }
            pr *= pb;
        } else {
            pr *= p_byte(b, cl);
        }
    }
    return pr;
}

/* P(next byte is b | this byte is a) in the model, minus P(b): nonzero
 * only for letter pairs (the pair table); other neighbours are taken as
 * independent. */
static double p_next_extra(uint8_t a, uint8_t b)
{
    double both = uni_pcm[b | 0x20] + uni_pcm[b & ~0x20];
    return next_pm[(a | 0x20) - 'a'][(b | 0x20) - 'a'] / 1000.0 * (uni_pcm[b] / both) -
           p_byte(b, 0);
}

/* a literal's window at one distance d: its nibble sets */
struct win {
    uint16_t lo[3], hi[3];
};

struct bucket {
    uint16_t lo[3], hi[3];
    unsigned nlits;
    int d; /* -1 when empty */
};

/* Estimated cost of a bucket: the probability that the filter passes at a
 * position, under the model as a first-order Markov chain over the bytes
 * the nibble sets admit (so common letter sequences such as "ord" count as
 * such; checked against the corpus text, within about 30% per bucket),
 * times the work a candidate costs (a branch plus its compares). */
static double bucket_cost(unsigned m, const uint16_t lo[3], const uint16_t hi[3], unsigned nlits)
{
    if (nlits == 0)
        return 0;
    uint8_t set[3][256], let[3][52];
    unsigned ns[3] = {0, 0, 0}, nl[3] = {0, 0, 0};
    for (unsigned k = 0; k < m; k++)
        for (unsigned hm = hi[k]; hm; hm &= hm - 1)
            for (unsigned lm = lo[k]; lm; lm &= lm - 1) {
                uint8_t c = (uint8_t)(__builtin_ctz(hm) << 4 | __builtin_ctz(lm));
                set[k][ns[k]++] = c;
                if (is_alpha(c))
                    let[k][nl[k]++] = c;
            }
    /* v[c] = P(the rest of the window passes | byte c at position k) */
    double v[256], w[256];
    for (unsigned i = 0; i < ns[m - 1]; i++)
        v[set[m - 1][i]] = 1;
    for (unsigned k = m - 1; k >= 1; k--) {
        double base = 0;
        for (unsigned j = 0; j < ns[k]; j++)
            base += p_byte(set[k][j], 0) * v[set[k][j]];
        for (unsigned i = 0; i < ns[k - 1]; i++) {
            uint8_t a = set[k - 1][i];
            double t = base;
            if (is_alpha(a))
                for (unsigned j = 0; j < nl[k]; j++)
                    t += p_next_extra(a, let[k][j]) * v[let[k][j]];
            w[a] = t;
        }
        for (unsigned i = 0; i < ns[k - 1]; i++)
            v[set[k - 1][i]] = w[set[k - 1][i]];
    }
    double pr = 0;
    for (unsigned i = 0; i < ns[0]; i++)
        pr += p_byte(set[0][i], 0) * v[set[0][i]];
    return pr * (20.0 + 4.0 * nlits);
}

static double cost_plus(unsigned m, const struct bucket *b, const struct win *w)
{
    uint16_t lo[3], hi[3];
    for (unsigned k = 0; k < 3; k++) {
        lo[k] = (uint16_t)(b->lo[k] | w->lo[k]);
        hi[k] = (uint16_t)(b->hi[k] | w->hi[k]);
    }
    return bucket_cost(m, lo, hi, b->nlits + 1);
}

/* the buckets from each literal's bucket (its window is the one of the
 * bucket's d), bucket b labelled d = dv[lab[b]] */
static void buckets_of(struct bucket *bk, size_t n, const struct win (*wins)[MAXD],
                       const unsigned *lab, const int *bof, int skip)
{
    memset(bk, 0, sizeof(*bk) * NBUCKET);
    for (int b = 0; b < NBUCKET; b++)
        bk[b].d = (int)lab[b];
    for (size_t i = 0; i < n; i++) {
        if ((int)i == skip || bof[i] < 0)
            continue;
        struct bucket *t = &bk[bof[i]];
        const struct win *w = &wins[i][lab[bof[i]]];
        for (unsigned k = 0; k < 3; k++) {
            t->lo[k] |= w->lo[k];
            t->hi[k] |= w->hi[k];
        }
        t->nlits++;
    }
}

/* Greedy placement with bucket labels fixed: each literal (most probable
 * tail first, ord) where it adds least to the estimated cost, among the
 * buckets whose d fits in it. Returns the total estimated cost. */
static double greedy(const struct cls_litset_lit *lits, size_t n, unsigned m, const unsigned *dv,
                     const struct win (*wins)[MAXD], const size_t *ord, const unsigned *lab,
                     int *bof)
{
    struct bucket bk[NBUCKET];
    double cost[NBUCKET];
    for (size_t i = 0; i < n; i++)
        bof[i] = -1;
    buckets_of(bk, 0, wins, lab, bof, -1);
    for (int b = 0; b < NBUCKET; b++)
        cost[b] = 0;
    for (size_t oi = 0; oi < n; oi++) {
        size_t i = ord[oi];
        double bestc = 0, bestnew = 0;
        int bb = -1;
        for (int b = 0; b < NBUCKET; b++) {
            if (dv[lab[b]] + m > lits[i].len)
                continue;
            double nc = cost_plus(m, &bk[b], &wins[i][lab[b]]);
            if (bb < 0 || nc - cost[b] < bestc) {
                bestc = nc - cost[b];
                bestnew = nc;
                bb = b;
            }
        }
        SGW_INVARIANT(bb >= 0); /* bucket 0 is d 0, which fits every literal */
        bof[i] = bb;
        struct bucket *t = &bk[bb];
        for (unsigned k = 0; k < 3; k++) {
            t->lo[k] |= wins[i][lab[bb]].lo[k];
            t->hi[k] |= wins[i][lab[bb]].hi[k];
        }
        t->nlits++;
        cost[bb] = bestnew;
    }
    double t = 0;
    for (int b = 0; b < NBUCKET; b++)
        t += cost[b];
    return t;
}

/* The d values worth trying (at most MAXD, 0 first): starting from {0},
 * adds the d that lowers the literals' summed best-window probability most,
 * while it lowers it by a third. */
static unsigned choose_d(const struct cls_litset_lit *lits, size_t n, unsigned m, unsigned *dv)
{
    unsigned nd = 1;
    dv[0] = 0;
    while (nd < MAXD) {
        double cur = 0, bestt = 0;
        unsigned bestd = 0;
        for (unsigned d = 0; d + m <= CLS_LITSET_MAXLEN; d++) {
            double t = 0;
            for (size_t i = 0; i < n; i++) {
                double best = 1e9;
                for (unsigned x = 0; x <= nd; x++) {
                    unsigned dd = x < nd ? dv[x] : d;
                    if (dd + m <= lits[i].len) {
                        double pw =
                            p_window(lits[i].bytes + lits[i].len - m - dd, m, lits[i].caseless);
                        if (pw < best)
                            best = pw;
                    }
                }
                t += best;
            }
            if (d == 0)
                cur = t; /* d 0 is already in: the sum as it is */
            else if (bestd == 0 || t < bestt) {
                bestt = t;
                bestd = d;
            }
        }
        if (bestd == 0 || bestt > cur * 0.67)
            break;
        dv[nd++] = bestd;
    }
    return nd;
}

/* Places every literal in a bucket; bucket b has the window distance
 * dv[lab[b]]. Every split of the 8 buckets among the d values (at least
 * one bucket of d 0) is tried with a greedy placement; the cheapest is then
 * improved by single moves while one lowers the estimated cost. */
static void assign(const struct cls_litset_lit *lits, size_t n, unsigned m, const unsigned *dv,
                   unsigned nd, unsigned *lab, int *bof)
{
    struct win wins[CLS_LITSET_MAX][MAXD];
    double own[CLS_LITSET_MAX];
    size_t ord[CLS_LITSET_MAX];
    for (size_t i = 0; i < n; i++) {
        for (unsigned x = 0; x < nd; x++) {
            struct win *w = &wins[i][x];
            memset(w, 0, sizeof(*w));
            if (dv[x] + m > lits[i].len)
                continue;
            const uint8_t *q = lits[i].bytes + lits[i].len - m - dv[x];
            for (unsigned k = 0; k < m; k++) {
                uint8_t c = q[k];
                w->lo[k] = (uint16_t)(1u << (c & 15));
                w->hi[k] = (uint16_t)(1u << (c >> 4));
                if (lits[i].caseless && is_alpha(c))
                    w->hi[k] |= (uint16_t)(1u << ((c ^ 0x20) >> 4));
            }
        }
        own[i] = bucket_cost(m, wins[i][0].lo, wins[i][0].hi, 1);
        size_t j = i;
        while (j > 0 && own[ord[j - 1]] < own[i]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = i;
    }
    /* splits: k[x] buckets of dv[x], k[0] >= 1, sum 8 */
    double best = -1;
    unsigned k[MAXD] = {0};
    int tbof[CLS_LITSET_MAX];
    unsigned tlab[NBUCKET];
    for (;;) {
        unsigned rest = 0;
        for (unsigned x = 1; x < nd; x++)
            rest += k[x];
        if (rest <= NBUCKET - 1) {
            unsigned b = 0;
            for (unsigned x = nd; x-- > 1;)
                for (unsigned y = 0; y < k[x]; y++)
                    tlab[NBUCKET - 1 - b++] = x;
            while (b < NBUCKET)
                tlab[NBUCKET - 1 - b++] = 0;
            double t = greedy(lits, n, m, dv, wins, ord, tlab, tbof);
            if (best < 0 || t < best) {
                best = t;
                memcpy(lab, tlab, sizeof(tlab));
                memcpy(bof, tbof, n * sizeof(*bof));
            }
        }
        /* next split (an odometer over k[1..nd-1]) */
        unsigned x = 1;
        while (x < nd && ++k[x] > NBUCKET - 1) {
            k[x] = 0;
            x++;
        }
        if (x >= nd)
            break;
    }
    struct bucket bk[NBUCKET], rest[NBUCKET];
    buckets_of(bk, n, wins, lab, bof, -1);
    for (int pass = 0; pass < (n > 64 ? 3 : 8); pass++) {
        int moved = 0;
        double cost[NBUCKET];
        for (int b = 0; b < NBUCKET; b++)
            cost[b] = bucket_cost(m, bk[b].lo, bk[b].hi, bk[b].nlits);
        for (size_t i = 0; i < n; i++) {
            int from = bof[i];
            /* the source bucket without i; the others are as they are */
            buckets_of(rest, n, wins, lab, bof, (int)i);
            double bestc =
                cost[from] - bucket_cost(m, rest[from].lo, rest[from].hi, rest[from].nlits);
            int bb = from;
            for (int b = 0; b < NBUCKET; b++) {
                if (b == from || dv[lab[b]] + m > lits[i].len)
                    continue;
                double c = cost_plus(m, &rest[b], &wins[i][lab[b]]) - cost[b];
                if (c < bestc * 0.999 - 1e-15) {
                    bestc = c;
                    bb = b;
                }
            }
            if (bb != from) {
                bof[i] = bb;
                buckets_of(bk, n, wins, lab, bof, -1);
                cost[from] = bucket_cost(m, bk[from].lo, bk[from].hi, bk[from].nlits);
                cost[bb] = bucket_cost(m, bk[bb].lo, bk[bb].hi, bk[bb].nlits);
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
    unsigned dv[MAXD], lab[NBUCKET], dix[CLS_LITSET_MAX], dof[CLS_LITSET_MAX];
    int bof[CLS_LITSET_MAX];
    /* the d search multiplies the build's work: big sets get fewer d values */
    unsigned nd = choose_d(lits, n, m, dv);
    if (n > 64 && nd > 2)
        nd = 2;
    assign(lits, n, m, dv, nd, lab, bof);
    for (size_t i = 0; i < n; i++) {
        dix[i] = lab[bof[i]];
        dof[i] = dv[dix[i]];
    }

    /* one allocation: the header, the literals, then (8-aligned) their last words */
    size_t off0 = (sizeof(struct cls_litset) + n * sizeof(struct lit) + 7) & ~(size_t)7;
    struct cls_litset *s = calloc(1, off0 + n * sizeof(struct lit0));
    if (!s)
        return SGW_ENOMEM;
    struct lit0 *w0 = (struct lit0 *)(void *)((char *)s + off0);
    s->w0 = w0;
    s->m = m;
    s->maxlen = maxlen;
    s->n = n;
    s->ascii = 1;
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < m; k++)
            if (lits[i].bytes[lits[i].len - m - dof[i] + k] >= 0x80)
                s->ascii = 0;
    /* the d classes actually used, with their buckets */
    for (unsigned x = 0; x < nd; x++) {
        uint8_t mask = 0;
        for (size_t i = 0; i < n; i++)
            if (dix[i] == x)
                mask |= (uint8_t)(1u << bof[i]);
        if (!mask)
            continue;
        s->dval[s->nd] = dv[x];
        s->dmask[s->nd] = mask;
        s->nd++;
        if (dv[x] > s->dmax)
            s->dmax = dv[x];
    }
    for (unsigned k = 0; k < 3; k++) {
        for (size_t i = 0; i < n && k < m; i++) {
            uint8_t bit = (uint8_t)(1u << bof[i]);
            uint8_t c = lits[i].bytes[lits[i].len - m - dof[i] + k];
            s->lo[k][c & 15] |= bit;
            s->hi[k][c >> 4] |= bit;
            if (lits[i].caseless && is_alpha(c))
                s->hi[k][(c ^ 0x20) >> 4] |= bit;
        }
        for (int b = 0; b < 256; b++)
            s->tbl[k][b] = (uint8_t)(s->lo[k][b & 15] & s->hi[k][b >> 4]);
    }
    size_t at = 0;
    for (int b = 0; b < NBUCKET; b++) {
        s->bstart[b] = (uint16_t)at;
        for (size_t i = 0; i < n; i++) {
            if (bof[i] != b)
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
    for (int b = 0; b < NBUCKET; b++) {
        if (s->bstart[b + 1] - s->bstart[b] > 64) {
            s->big |= (uint8_t)(1u << b);
            continue;
        }
        for (size_t i = s->bstart[b]; i < s->bstart[b + 1]; i++) {
            const struct lit *L = &s->lits[i];
            uint64_t bit = (uint64_t)1 << (i - s->bstart[b]);
            uint8_t c = L->val[CLS_LITSET_MAXLEN - 1]; /* the last byte */
            if (L->len >= 2) {
                s->lastm[b][lasth(L->val[CLS_LITSET_MAXLEN - 2], c)] |= bit;
            } else {
                for (int a = 0; a < 256; a++) /* any byte before a 1-byte literal */
                    s->lastm[b][lasth((uint8_t)a, c)] |= bit;
            }
        }
    }
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

/* Does literal i end at p + e, x being the 8 text bytes before e? Its last
 * word with one masked compare from the packed array, then the rest. */
static inline int check_fast(const struct cls_litset *s, size_t i, const uint8_t *p, size_t e,
                             size_t back, uint64_t x)
{
    const struct lit0 *W = &s->w0[i];
    if (((x | W->fold) & W->care) != W->val)
        return 0;
    if (W->nw > 1 && !(e + back >= (size_t)W->nw * 8 ? lit_rest(&s->lits[i], p, e)
                                                     : lit_slow(&s->lits[i], p, e, back)))
        return 0;
    return 1;
}

/* Verifies the literals of the buckets in bits at end e (1..n); the
 * callback's nonzero value, else 0. The common case (8 window bytes before
 * e) loads those 8 bytes once, and in each bucket tests only the literals
 * whose last byte can be the text's (lastm). */
static int verify(const struct cls_litset *s, const uint8_t *p, size_t e, size_t back,
                  unsigned bits, cls_litset_cb cb, void *ctx)
{
    if (__builtin_expect(e + back >= 8, 1)) {
        uint64_t x;
        memcpy(&x, p + e - 8, 8);
        unsigned t = lasth((p + e)[-2], (p + e)[-1]);
        while (bits) {
            unsigned b = (unsigned)__builtin_ctz(bits);
            bits &= bits - 1;
            size_t i0 = s->bstart[b];
            if (__builtin_expect(!(s->big >> b & 1), 1)) {
                /* only the literals whose last byte fits */
                for (uint64_t lm = s->lastm[b][t]; lm; lm &= lm - 1) {
                    size_t i = i0 + (size_t)__builtin_ctzll(lm);
                    if (check_fast(s, i, p, e, back, x)) {
                        int rc = cb(s->w0[i].id, e, ctx);
                        if (rc)
                            return rc;
                    }
                }
                continue;
            }
            for (size_t i = i0; i < s->bstart[b + 1]; i++) {
                if (check_fast(s, i, p, e, back, x)) {
                    int rc = cb(s->w0[i].id, e, ctx);
                    if (rc)
                        return rc;
                }
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

/* the filter at the end whose window starts at q */
static inline unsigned filt1(const struct cls_litset *s, const uint8_t *q)
{
    switch (s->m) {
    case 3:
        return s->tbl[0][q[0]] & s->tbl[1][q[1]] & s->tbl[2][q[2]];
    case 2:
        return s->tbl[0][q[0]] & s->tbl[1][q[1]];
    default:
        return s->tbl[0][q[0]];
    }
}

/* ---- the driver, shared by all paths ---------------------------------------- */

/* The filter's functions of one path. find fills out with the first block
 * of filter ends b' + 1 .. b' + 64 (b' = b, b + 64, ...) with any candidate
 * and returns b', or returns the first b' with b' + 64 > n; it reads
 * p[b - (m - 1), n) only and the caller ensures b >= m - 1 - back. edge
 * fills out for the filter ends fb + 1 .. fb + 64 from a copy of the window
 * (any fb; zeros stand for bytes outside [-back, n)) and says whether any
 * lane has a candidate. */
struct filt {
    size_t (*find)(const struct cls_litset *s, const uint8_t *p, size_t b, size_t n,
                   struct blk *out);
    int (*edge)(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, ptrdiff_t fb,
                struct blk *out);
};

/* Copies the window bytes for filter ends fb + 1 .. fb + 64 into buf
 * (buf[i] = p[fb - (m - 1) + i]), zeros where outside [-back, n). A zero
 * can only add candidates (which verification, reading the real text,
 * rejects), never hide one, since a literal's bytes are all in the window. */
static void edge_copy(uint8_t *buf, size_t cap, const uint8_t *p, size_t n, size_t back,
                      ptrdiff_t fb, unsigned m)
{
    memset(buf, 0, cap);
    ptrdiff_t lo = fb - (ptrdiff_t)(m - 1), hi = fb + 64;
    ptrdiff_t from = lo < -(ptrdiff_t)back ? -(ptrdiff_t)back : lo;
    if (hi > (ptrdiff_t)n)
        hi = (ptrdiff_t)n;
    if (hi > from)
        memcpy(buf + (from - lo), p + from, (size_t)(hi - from));
}

/* Fills blk->dl from blk->r (scalar; the SIMD paths do it themselves). */
static int blk_lanes(const struct cls_litset *s, struct blk *o)
{
    uint64_t any = 0;
    for (unsigned x = 0; x < s->nd; x++) {
        uint64_t l = 0;
        for (unsigned j = 0; j < 64; j++)
            l |= (uint64_t)((o->r[j] & s->dmask[x]) != 0) << j;
        o->dl[x] = l;
        any |= l;
    }
    return any != 0;
}

/* Verifies the ends b + 1 .. b + lim (b is a multiple of 64, or 0; lim <=
 * 64) whose candidates come from prev (filter ends b - 63 .. b) and cur
 * (b + 1 .. b + 64), either NULL when it has none: in end order, each end's
 * buckets from the block its filter end lies in. */
__attribute__((always_inline)) static inline int
emit(const struct cls_litset *s, const uint8_t *p, size_t back, size_t b, const struct blk *prev,
     const struct blk *cur, size_t lim, cls_litset_cb cb, void *ctx, struct cls_litset_stats *st)
{
    /* per d class (MAXD = 3, unrolled): the ends with a bucket of that d */
    const unsigned nd = s->nd;
    uint64_t e0 = 0, e1 = 0, e2 = 0;
#define EMIT_E(x, ex)                                                                              \
    do {                                                                                           \
        unsigned d_ = s->dval[x];                                                                  \
        ex = cur ? cur->dl[x] << d_ : 0;                                                           \
        if (prev && d_)                                                                            \
            ex |= prev->dl[x] >> (64 - d_);                                                        \
    } while (0)
    EMIT_E(0, e0);
    if (nd > 1)
        EMIT_E(1, e1);
    if (nd > 2)
        EMIT_E(2, e2);
#undef EMIT_E
    uint64_t all = e0 | e1 | e2;
    if (lim < 64)
        all &= ((uint64_t)1 << lim) - 1;
    while (all) {
        unsigned j = (unsigned)__builtin_ctzll(all);
        all &= all - 1;
        unsigned bits = 0;
#define EMIT_BITS(x, ex)                                                                           \
    do {                                                                                           \
        if (ex >> j & 1) {                                                                         \
            int fj_ = (int)j - (int)s->dval[x];                                                    \
            bits |= (fj_ >= 0 ? cur->r[fj_] : prev->r[64 + fj_]) & s->dmask[x];                    \
        }                                                                                          \
    } while (0)
        EMIT_BITS(0, e0);
        EMIT_BITS(1, e1);
        EMIT_BITS(2, e2);
#undef EMIT_BITS
        if (st) {
            st->cand_pos++;
            st->cand_buckets += (unsigned)__builtin_popcount(bits);
            for (unsigned y = bits; y; y &= y - 1) {
                unsigned bk = (unsigned)__builtin_ctz(y);
                st->compares += (uint64_t)(s->bstart[bk + 1] - s->bstart[bk]);
            }
        }
        int rc = verify(s, p, b + j + 1, back, bits, cb, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* The look-back's filter ends that can feed ends from 1 on: f in
 * [max(m - back, 1 - dmax), 0], at most dmax of them, as the block of ends
 * -63 .. 0 (lane 63 + f) with the other lanes empty. Scalar: a few lanes. */
static int lookback(const struct cls_litset *s, const uint8_t *p, size_t back, struct blk *o)
{
    ptrdiff_t f = (ptrdiff_t)s->m - (ptrdiff_t)back;
    if (f < 1 - (ptrdiff_t)s->dmax)
        f = 1 - (ptrdiff_t)s->dmax;
    uint64_t any = 0;
    for (unsigned x = 0; x < s->nd; x++)
        o->dl[x] = 0;
    for (; f <= 0; f++) {
        uint8_t r = (uint8_t)filt1(s, p + f - (ptrdiff_t)s->m);
        o->r[63 + f] = r;
        for (unsigned x = 0; x < s->nd; x++)
            if (r & s->dmask[x]) {
                o->dl[x] |= (uint64_t)1 << (63 + f);
                any = 1;
            }
    }
    return any != 0;
}

/* Has blk lanes that a bucket's d shifts into the next block? */
static inline int spills(const struct cls_litset *s, const struct blk *b)
{
    uint64_t any = 0;
    for (unsigned x = 0; x < s->nd; x++)
        if (s->dval[x])
            any |= b->dl[x] >> (64 - s->dval[x]);
    return any != 0;
}

static int drive(const struct cls_litset *s, const struct filt *F, const uint8_t *p, size_t n,
                 size_t back, cls_litset_cb cb, void *ctx, struct cls_litset_stats *st)
{
    struct blk A, B;
    struct blk *prev = NULL, *cur = &A, *spare = &B;
    size_t b = 0;
    int rc;
    /* filter ends -63 .. 0 (in the look-back) feed ends from 1 on when a
       bucket has d > 0 */
    if (s->dmax > 0 && back >= s->m && lookback(s, p, back, cur)) {
        prev = cur;
        cur = spare;
        spare = prev;
    }
    if (back + 1 < s->m) {
        /* the first block's windows start before the look-back */
        int has = F->edge(s, p, n, back, 0, cur);
        if (has || prev) {
            rc = emit(s, p, back, 0, prev, has ? cur : NULL, n < 64 ? n : 64, cb, ctx, st);
            if (rc)
                return rc;
        }
        if (has) {
            prev = cur;
            cur = spare;
            spare = prev;
        } else {
            prev = NULL;
        }
        b = 64;
    }
    while (b + 64 <= n) {
        size_t b2 = F->find(s, p, b, n, cur);
        if (b2 != b && prev) {
            /* the block after one with candidates has none of its own: only
               the previous block's lanes shifted past its end remain */
            if (spills(s, prev)) {
                rc = emit(s, p, back, b, prev, NULL, 64, cb, ctx, st);
                if (rc)
                    return rc;
            }
            prev = NULL;
        }
        if (b2 + 64 > n) {
            b = b2;
            break;
        }
        rc = emit(s, p, back, b2, prev, cur, 64, cb, ctx, st);
        if (rc)
            return rc;
        prev = cur;
        cur = spare;
        spare = prev;
        b = b2 + 64;
    }
    if (b < n) {
        int has = F->edge(s, p, n, back, (ptrdiff_t)b, cur);
        if (has || prev) {
            rc = emit(s, p, back, b, prev, has ? cur : NULL, n - b, cb, ctx, st);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- scalar --------------------------------------------------------------- */

static size_t find_scalar(const struct cls_litset *s, const uint8_t *p, size_t b, size_t n,
                          struct blk *out)
{
    for (; b + 64 <= n; b += 64) {
        const uint8_t *q = p + b - (s->m - 1);
        unsigned any = 0;
        for (unsigned j = 0; j < 64; j++) {
            out->r[j] = (uint8_t)filt1(s, q + j);
            any |= out->r[j];
        }
        if (any) {
            blk_lanes(s, out);
            return b;
        }
    }
    return b;
}

static int edge_scalar(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back,
                       ptrdiff_t fb, struct blk *out)
{
    uint8_t buf[72];
    edge_copy(buf, sizeof(buf), p, n, back, fb, s->m);
    for (unsigned j = 0; j < 64; j++)
        out->r[j] = (uint8_t)filt1(s, buf + j);
    return blk_lanes(s, out);
}

static const struct filt filt_scalar = {find_scalar, edge_scalar};

/* ---- SIMD ----------------------------------------------------------------- */

#if defined(__x86_64__)
#include <immintrin.h>

/* The bucket bits of 32 text bytes at window position k: the AND of the
 * low- and the high-nibble tables. When no window byte is >= 0x80 (ASCII),
 * the low nibble needs no mask: pshufb gives 0 for a byte with bit 7 set,
 * which is then the right answer. */
#define TEDDY_NIB(v, L, H)                                                                         \
    _mm256_and_si256(_mm256_shuffle_epi8(L, ASCII ? (v) : _mm256_and_si256(v, m0f)),               \
                     _mm256_shuffle_epi8(H, _mm256_and_si256(_mm256_srli_epi16(v, 4), m0f)))

/* the filter over 32 ends: q[k + j] is window byte k of the end of lane j */
#define TEDDY32(q, out)                                                                            \
    do {                                                                                           \
        __m256i r_ = TEDDY_NIB(_mm256_loadu_si256((const __m256i *)(const void *)(q)), lo0, hi0);  \
        if (M >= 2)                                                                                \
            r_ = _mm256_and_si256(                                                                 \
                r_, TEDDY_NIB(_mm256_loadu_si256((const __m256i *)(const void *)((q) + 1)), lo1,   \
                              hi1));                                                               \
        if (M >= 3)                                                                                \
            r_ = _mm256_and_si256(                                                                 \
                r_, TEDDY_NIB(_mm256_loadu_si256((const __m256i *)(const void *)((q) + 2)), lo2,   \
                              hi2));                                                               \
        (out) = r_;                                                                                \
    } while (0)

#define TEDDY_TABLES256                                                                            \
    const __m256i m0f = _mm256_set1_epi8(0x0f);                                                    \
    const __m256i lo0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->lo[0]));   \
    const __m256i hi0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->hi[0]));   \
    const __m256i lo1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->lo[1]));   \
    const __m256i hi1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->hi[1]));   \
    const __m256i lo2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->lo[2]));   \
    const __m256i hi2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s->hi[2]));   \
    (void)m0f;                                                                                     \
    (void)lo1;                                                                                     \
    (void)hi1;                                                                                     \
    (void)lo2;                                                                                     \
    (void)hi2

/* stores r0, r1 (lanes 0-31, 32-63) into o with their per-d lanes */
__attribute__((target("avx2"), always_inline)) static inline int
blk_store_avx2(const struct cls_litset *s, __m256i r0, __m256i r1, struct blk *o)
{
    _mm256_storeu_si256((__m256i *)(void *)o->r, r0);
    _mm256_storeu_si256((__m256i *)(void *)(o->r + 32), r1);
    const __m256i z = _mm256_setzero_si256();
    uint64_t any = 0;
    for (unsigned x = 0; x < s->nd; x++) {
        const __m256i dm = _mm256_set1_epi8((char)s->dmask[x]);
        uint64_t a =
            (uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(r0, dm), z));
        uint64_t c =
            (uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(r1, dm), z));
        o->dl[x] = a | c << 32;
        any |= o->dl[x];
    }
    return any != 0;
}

/* The hot loop: no call inside, so the tables stay in registers; 128 ends
 * per branch. */
__attribute__((target("avx2"), always_inline)) static inline size_t
find_avx2_t(const struct cls_litset *s, const uint8_t *p, size_t b, size_t n, struct blk *out,
            const unsigned M, const int ASCII)
{
    TEDDY_TABLES256;
    for (; b + 128 <= n; b += 128) {
        const uint8_t *q = p + b - (M - 1);
        __m256i r0, r1, r2, r3;
        TEDDY32(q, r0);
        TEDDY32(q + 32, r1);
        TEDDY32(q + 64, r2);
        TEDDY32(q + 96, r3);
        __m256i any = _mm256_or_si256(_mm256_or_si256(r0, r1), _mm256_or_si256(r2, r3));
        if (__builtin_expect(_mm256_testz_si256(any, any), 1))
            continue;
        any = _mm256_or_si256(r0, r1);
        if (!_mm256_testz_si256(any, any)) {
            blk_store_avx2(s, r0, r1, out);
            return b;
        }
        blk_store_avx2(s, r2, r3, out);
        return b + 64;
    }
    if (b + 64 <= n) {
        const uint8_t *q = p + b - (M - 1);
        __m256i r0, r1;
        TEDDY32(q, r0);
        TEDDY32(q + 32, r1);
        __m256i any = _mm256_or_si256(r0, r1);
        if (!_mm256_testz_si256(any, any)) {
            blk_store_avx2(s, r0, r1, out);
            return b;
        }
        b += 64;
    }
    return b;
}

__attribute__((target("avx2"), always_inline)) static inline int
edge_avx2_t(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, ptrdiff_t fb,
            struct blk *out, const unsigned M, const int ASCII)
{
    TEDDY_TABLES256;
    uint8_t buf[128];
    edge_copy(buf, sizeof(buf), p, n, back, fb, M);
    __m256i r0, r1;
    TEDDY32(buf, r0);
    TEDDY32(buf + 32, r1);
    return blk_store_avx2(s, r0, r1, out);
}

/* SSSE3: the same filter over 16 ends */
#define TEDDY_NIB16(v, L, H)                                                                       \
    _mm_and_si128(_mm_shuffle_epi8(L, ASCII ? (v) : _mm_and_si128(v, m0f)),                        \
                  _mm_shuffle_epi8(H, _mm_and_si128(_mm_srli_epi16(v, 4), m0f)))

#define TEDDY16(q, out)                                                                            \
    do {                                                                                           \
        __m128i r_ = TEDDY_NIB16(_mm_loadu_si128((const __m128i *)(const void *)(q)), lo0, hi0);   \
        if (M >= 2)                                                                                \
            r_ = _mm_and_si128(                                                                    \
                r_,                                                                                \
                TEDDY_NIB16(_mm_loadu_si128((const __m128i *)(const void *)((q) + 1)), lo1, hi1)); \
        if (M >= 3)                                                                                \
            r_ = _mm_and_si128(                                                                    \
                r_,                                                                                \
                TEDDY_NIB16(_mm_loadu_si128((const __m128i *)(const void *)((q) + 2)), lo2, hi2)); \
        (out) = r_;                                                                                \
    } while (0)

#define TEDDY_TABLES128                                                                            \
    const __m128i m0f = _mm_set1_epi8(0x0f);                                                       \
    const __m128i lo0 = _mm_loadu_si128((const __m128i *)s->lo[0]);                                \
    const __m128i hi0 = _mm_loadu_si128((const __m128i *)s->hi[0]);                                \
    const __m128i lo1 = _mm_loadu_si128((const __m128i *)s->lo[1]);                                \
    const __m128i hi1 = _mm_loadu_si128((const __m128i *)s->hi[1]);                                \
    const __m128i lo2 = _mm_loadu_si128((const __m128i *)s->lo[2]);                                \
    const __m128i hi2 = _mm_loadu_si128((const __m128i *)s->hi[2]);                                \
    (void)m0f;                                                                                     \
    (void)lo1;                                                                                     \
    (void)hi1;                                                                                     \
    (void)lo2;                                                                                     \
    (void)hi2

__attribute__((target("ssse3"), always_inline)) static inline int
blk_store_ssse3(const struct cls_litset *s, const __m128i r[4], struct blk *o)
{
    const __m128i z = _mm_setzero_si128();
    for (unsigned i = 0; i < 4; i++)
        _mm_storeu_si128((__m128i *)(void *)(o->r + 16 * i), r[i]);
    uint64_t any = 0;
    for (unsigned x = 0; x < s->nd; x++) {
        const __m128i dm = _mm_set1_epi8((char)s->dmask[x]);
        uint64_t l = 0;
        for (unsigned i = 0; i < 4; i++)
            l |= (uint64_t)(~(unsigned)_mm_movemask_epi8(
                                _mm_cmpeq_epi8(_mm_and_si128(r[i], dm), z)) &
                            0xffffu)
                 << (16 * i);
        o->dl[x] = l;
        any |= l;
    }
    return any != 0;
}

__attribute__((target("ssse3"), always_inline)) static inline size_t
find_ssse3_t(const struct cls_litset *s, const uint8_t *p, size_t b, size_t n, struct blk *out,
             const unsigned M, const int ASCII)
{
    TEDDY_TABLES128;
    for (; b + 64 <= n; b += 64) {
        const uint8_t *q = p + b - (M - 1);
        __m128i r[4];
        TEDDY16(q, r[0]);
        TEDDY16(q + 16, r[1]);
        TEDDY16(q + 32, r[2]);
        TEDDY16(q + 48, r[3]);
        __m128i any = _mm_or_si128(_mm_or_si128(r[0], r[1]), _mm_or_si128(r[2], r[3]));
        if (__builtin_expect(_mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) == 0xffff,
                             1))
            continue;
        blk_store_ssse3(s, r, out);
        return b;
    }
    return b;
}

__attribute__((target("ssse3"), always_inline)) static inline int
edge_ssse3_t(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, ptrdiff_t fb,
             struct blk *out, const unsigned M, const int ASCII)
{
    TEDDY_TABLES128;
    uint8_t buf[128];
    edge_copy(buf, sizeof(buf), p, n, back, fb, M);
    __m128i r[4];
    TEDDY16(buf, r[0]);
    TEDDY16(buf + 16, r[1]);
    TEDDY16(buf + 32, r[2]);
    TEDDY16(buf + 48, r[3]);
    return blk_store_ssse3(s, r, out);
}

/* AVX-512BW: the same filter over 64 ends per instruction */
#define TEDDY_NIB512(v, L, H)                                                                      \
    _mm512_and_si512(_mm512_shuffle_epi8(L, ASCII ? (v) : _mm512_and_si512(v, m0f)),               \
                     _mm512_shuffle_epi8(H, _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f)))

#define TEDDY64(q, out)                                                                            \
    do {                                                                                           \
        __m512i r_ = TEDDY_NIB512(_mm512_loadu_si512((const void *)(q)), lo0, hi0);                \
        if (M >= 2)                                                                                \
            r_ = _mm512_and_si512(                                                                 \
                r_, TEDDY_NIB512(_mm512_loadu_si512((const void *)((q) + 1)), lo1, hi1));          \
        if (M >= 3)                                                                                \
            r_ = _mm512_and_si512(                                                                 \
                r_, TEDDY_NIB512(_mm512_loadu_si512((const void *)((q) + 2)), lo2, hi2));          \
        (out) = r_;                                                                                \
    } while (0)

#define TEDDY_TABLES512                                                                            \
    const __m512i m0f = _mm512_set1_epi8(0x0f);                                                    \
    const __m512i lo0 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)s->lo[0]));        \
    const __m512i hi0 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)s->hi[0]));        \
    const __m512i lo1 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)s->lo[1]));        \
    const __m512i hi1 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)s->hi[1]));        \
    const __m512i lo2 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)s->lo[2]));        \
    const __m512i hi2 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)s->hi[2]));        \
    (void)m0f;                                                                                     \
    (void)lo1;                                                                                     \
    (void)hi1;                                                                                     \
    (void)lo2;                                                                                     \
    (void)hi2

__attribute__((target("avx512f,avx512bw"), always_inline)) static inline int
blk_store_avx512(const struct cls_litset *s, __m512i r, struct blk *o)
{
    _mm512_storeu_si512((void *)o->r, r);
    uint64_t any = 0;
    for (unsigned x = 0; x < s->nd; x++) {
        o->dl[x] = (uint64_t)_mm512_test_epi8_mask(r, _mm512_set1_epi8((char)s->dmask[x]));
        any |= o->dl[x];
    }
    return any != 0;
}

/* 128 ends per step (one test for two vectors); returns the first 64-end
 * block with a candidate */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline size_t
find_avx512_t(const struct cls_litset *s, const uint8_t *p, size_t b, size_t n, struct blk *out,
              const unsigned M, const int ASCII)
{
    TEDDY_TABLES512;
    for (; b + 128 <= n; b += 128) {
        const uint8_t *q = p + b - (M - 1);
        __m512i r0, r1;
        TEDDY64(q, r0);
        TEDDY64(q + 64, r1);
        if (__builtin_expect(
                _mm512_test_epi8_mask(_mm512_or_si512(r0, r1), _mm512_or_si512(r0, r1)) == 0, 1))
            continue;
        if (_mm512_test_epi8_mask(r0, r0)) {
            blk_store_avx512(s, r0, out);
            return b;
        }
        blk_store_avx512(s, r1, out);
        return b + 64;
    }
    if (b + 64 <= n) {
        __m512i r0;
        TEDDY64(p + b - (M - 1), r0);
        if (_mm512_test_epi8_mask(r0, r0)) {
            blk_store_avx512(s, r0, out);
            return b;
        }
        b += 64;
    }
    return b;
}

__attribute__((target("avx512f,avx512bw"), always_inline)) static inline int
edge_avx512_t(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, ptrdiff_t fb,
              struct blk *out, const unsigned M, const int ASCII)
{
    TEDDY_TABLES512;
    uint8_t buf[128];
    edge_copy(buf, sizeof(buf), p, n, back, fb, M);
    __m512i r;
    TEDDY64(buf, r);
    return blk_store_avx512(s, r, out);
}

/* AVX-512VBMI, for sets whose window bytes are all ASCII: vpermi2b looks a
 * byte up in the 128-entry table tbl[k] (two registers) in one instruction,
 * instead of two nibble lookups and their shift and masks. It reads 7 bits
 * of the byte, so a byte >= 0x80 aliases an ASCII one: the hot loop accepts
 * such false lanes, and they are removed (no window byte can be >= 0x80)
 * before a block is reported. */
#define VBMI_TABLES                                                                                \
    const __m512i ta0 = _mm512_loadu_si512((const void *)s->tbl[0]);                               \
    const __m512i tb0 = _mm512_loadu_si512((const void *)(s->tbl[0] + 64));                        \
    const __m512i ta1 = _mm512_loadu_si512((const void *)s->tbl[1]);                               \
    const __m512i tb1 = _mm512_loadu_si512((const void *)(s->tbl[1] + 64));                        \
    const __m512i ta2 = _mm512_loadu_si512((const void *)s->tbl[2]);                               \
    const __m512i tb2 = _mm512_loadu_si512((const void *)(s->tbl[2] + 64));                        \
    (void)ta1;                                                                                     \
    (void)tb1;                                                                                     \
    (void)ta2;                                                                                     \
    (void)tb2

#define VBMI_LOOK(q, out)                                                                          \
    do {                                                                                           \
        __m512i x0_ = _mm512_permutex2var_epi8(ta0, _mm512_loadu_si512((const void *)(q)), tb0);   \
        if (M == 1) {                                                                              \
            (out) = x0_;                                                                           \
        } else if (M == 2) {                                                                       \
            (out) = _mm512_and_si512(                                                              \
                x0_,                                                                               \
                _mm512_permutex2var_epi8(ta1, _mm512_loadu_si512((const void *)((q) + 1)), tb1));  \
        } else {                                                                                   \
            (out) = _mm512_ternarylogic_epi32(                                                     \
                x0_,                                                                               \
                _mm512_permutex2var_epi8(ta1, _mm512_loadu_si512((const void *)((q) + 1)), tb1),   \
                _mm512_permutex2var_epi8(ta2, _mm512_loadu_si512((const void *)((q) + 2)), tb2),   \
                0x80);                                                                             \
        }                                                                                          \
    } while (0)

/* the lanes of r (window bytes at q) with no window byte >= 0x80 */
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline __m512i
vbmi_exact(__m512i r, const uint8_t *q, const unsigned M)
{
    __mmask64 hi = _mm512_movepi8_mask(_mm512_loadu_si512((const void *)q));
    if (M >= 2)
        hi |= _mm512_movepi8_mask(_mm512_loadu_si512((const void *)(q + 1)));
    if (M >= 3)
        hi |= _mm512_movepi8_mask(_mm512_loadu_si512((const void *)(q + 2)));
    return _mm512_maskz_mov_epi8(~hi, r);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline size_t
find_vbmi_t(const struct cls_litset *s, const uint8_t *p, size_t b, size_t n, struct blk *out,
            const unsigned M)
{
    VBMI_TABLES;
    for (; b + 64 <= n;) {
        const uint8_t *q = p + b - (M - 1);
        __m512i r0, r1;
        if (b + 128 <= n) {
            VBMI_LOOK(q, r0);
            VBMI_LOOK(q + 64, r1);
            if (__builtin_expect(
                    _mm512_test_epi8_mask(_mm512_or_si512(r0, r1), _mm512_or_si512(r0, r1)) == 0,
                    1)) {
                b += 128;
                continue;
            }
        } else {
            VBMI_LOOK(q, r0);
            r1 = _mm512_setzero_si512();
        }
        r0 = vbmi_exact(r0, q, M);
        if (_mm512_test_epi8_mask(r0, r0)) {
            blk_store_avx512(s, r0, out);
            return b;
        }
        if (b + 128 <= n) {
            r1 = vbmi_exact(r1, q + 64, M);
            if (_mm512_test_epi8_mask(r1, r1)) {
                blk_store_avx512(s, r1, out);
                return b + 64;
            }
            b += 128;
        } else {
            b += 64;
        }
    }
    return b;
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline int
edge_vbmi_t(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, ptrdiff_t fb,
            struct blk *out, const unsigned M)
{
    VBMI_TABLES;
    uint8_t buf[128];
    edge_copy(buf, sizeof(buf), p, n, back, fb, M);
    __m512i r;
    VBMI_LOOK(buf, r);
    return blk_store_avx512(s, vbmi_exact(r, buf, M), out);
}

#define VBMI_INSTANCE(M)                                                                           \
    __attribute__((target("avx512f,avx512bw,avx512vbmi"))) static size_t find_vbmi_##M(            \
        const struct cls_litset *s, const uint8_t *p, size_t b, size_t n, struct blk *out)         \
    {                                                                                              \
        return find_vbmi_t(s, p, b, n, out, M);                                                    \
    }                                                                                              \
    __attribute__((target("avx512f,avx512bw,avx512vbmi"))) static int edge_vbmi_##M(               \
        const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, ptrdiff_t fb,         \
        struct blk *out)                                                                           \
    {                                                                                              \
        return edge_vbmi_t(s, p, n, back, fb, out, M);                                             \
    }

VBMI_INSTANCE(1)
VBMI_INSTANCE(2)
VBMI_INSTANCE(3)

static const struct filt filt_vbmi[3] = {
    {find_vbmi_1, edge_vbmi_1},
    {find_vbmi_2, edge_vbmi_2},
    {find_vbmi_3, edge_vbmi_3},
};

/* one instance per path, window length and ASCII-ness */
#define FILT_INSTANCE(path, tgt, M, A)                                                             \
    __attribute__((target(tgt))) static size_t find_##path##_##M##A(                               \
        const struct cls_litset *s, const uint8_t *p, size_t b, size_t n, struct blk *out)         \
    {                                                                                              \
        return find_##path##_t(s, p, b, n, out, M, A);                                             \
    }                                                                                              \
    __attribute__((target(tgt))) static int edge_##path##_##M##A(                                  \
        const struct cls_litset *s, const uint8_t *p, size_t n, size_t back, ptrdiff_t fb,         \
        struct blk *out)                                                                           \
    {                                                                                              \
        return edge_##path##_t(s, p, n, back, fb, out, M, A);                                      \
    }

FILT_INSTANCE(avx2, "avx2", 1, 0)
FILT_INSTANCE(avx2, "avx2", 1, 1)
FILT_INSTANCE(avx2, "avx2", 2, 0)
FILT_INSTANCE(avx2, "avx2", 2, 1)
FILT_INSTANCE(avx2, "avx2", 3, 0)
FILT_INSTANCE(avx2, "avx2", 3, 1)
FILT_INSTANCE(avx512, "avx512f,avx512bw", 1, 0)
FILT_INSTANCE(avx512, "avx512f,avx512bw", 1, 1)
FILT_INSTANCE(avx512, "avx512f,avx512bw", 2, 0)
FILT_INSTANCE(avx512, "avx512f,avx512bw", 2, 1)
FILT_INSTANCE(avx512, "avx512f,avx512bw", 3, 0)
FILT_INSTANCE(avx512, "avx512f,avx512bw", 3, 1)
FILT_INSTANCE(ssse3, "ssse3", 1, 0)
FILT_INSTANCE(ssse3, "ssse3", 1, 1)
FILT_INSTANCE(ssse3, "ssse3", 2, 0)
FILT_INSTANCE(ssse3, "ssse3", 2, 1)
FILT_INSTANCE(ssse3, "ssse3", 3, 0)
FILT_INSTANCE(ssse3, "ssse3", 3, 1)

/* [m - 1][ascii] */
static const struct filt filt_avx512[3][2] = {
    {{find_avx512_10, edge_avx512_10}, {find_avx512_11, edge_avx512_11}},
    {{find_avx512_20, edge_avx512_20}, {find_avx512_21, edge_avx512_21}},
    {{find_avx512_30, edge_avx512_30}, {find_avx512_31, edge_avx512_31}},
};
static const struct filt filt_avx2[3][2] = {
    {{find_avx2_10, edge_avx2_10}, {find_avx2_11, edge_avx2_11}},
    {{find_avx2_20, edge_avx2_20}, {find_avx2_21, edge_avx2_21}},
    {{find_avx2_30, edge_avx2_30}, {find_avx2_31, edge_avx2_31}},
};
static const struct filt filt_ssse3[3][2] = {
    {{find_ssse3_10, edge_ssse3_10}, {find_ssse3_11, edge_ssse3_11}},
    {{find_ssse3_20, edge_ssse3_20}, {find_ssse3_21, edge_ssse3_21}},
    {{find_ssse3_30, edge_ssse3_30}, {find_ssse3_31, edge_ssse3_31}},
};
#endif

static const struct filt *filt_for(const struct cls_litset *s)
{
#if defined(__x86_64__)
    switch (path_now()) {
    case PATH_VBMI:
        if (s->ascii)
            return &filt_vbmi[s->m - 1];
        return &filt_avx512[s->m - 1][0];
    case PATH_AVX512:
        return &filt_avx512[s->m - 1][s->ascii];
    case PATH_AVX2:
        return &filt_avx2[s->m - 1][s->ascii];
    case PATH_SSSE3:
        return &filt_ssse3[s->m - 1][s->ascii];
    default:
        break;
    }
#endif
    return &filt_scalar;
}

int cls_litset_scan(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back,
                    cls_litset_cb cb, void *ctx)
{
    if (!s || !p || n == 0 || !cb)
        return 0;
    /* no literal starts further back than maxlen - 1 before p */
    if (back > s->maxlen - 1)
        back = s->maxlen - 1;
    return drive(s, filt_for(s), p, n, back, cb, ctx, NULL);
}

int cls_litset_scan_stats(const struct cls_litset *s, const uint8_t *p, size_t n, size_t back,
                          cls_litset_cb cb, void *ctx, struct cls_litset_stats *st)
{
    if (!s || !p || n == 0 || !cb)
        return 0;
    if (back > s->maxlen - 1)
        back = s->maxlen - 1;
    return drive(s, filt_for(s), p, n, back, cb, ctx, st);
}
