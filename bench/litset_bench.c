/* bench/litset_bench.c — the scanner's built-in anchors (cls_literals[]):
 * Hyperscan block mode vs classifiers/litset.c, both over a decoded-text
 * file in 4 KiB blocks, alternated in one run (3 rounds, best of each).
 *
 * Two timings: streaming the whole file (bound by memory bandwidth once
 * litset is fast: ~6 GB/s on one core here), and in cache (256 KiB chunks
 * read once, then scanned by each: the scanner's case, which scans text it
 * has just decoded). Both see the same occurrences: litset scans each block with
 * back = min(maxlen - 1, offset), so it also finds an anchor that straddles
 * two blocks; Hyperscan scans the same back bytes plus the block and drops
 * the matches that end inside the back bytes. The two hit counts must be
 * equal, else exit 1.
 *
 * Build (after a Release build of the library in build/ted-rel):
 *   cmake -S . -B build/ted-rel -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build/ted-rel -j2 --target sgw_classifiers
 *   clang -O2 -gdwarf-4 -std=c17 -D_GNU_SOURCE -I. bench/litset_bench.c
 * build/ted-rel/libsgw_classifiers.a \
 *     build/ted-rel/libsgw_common.a $(pkg-config --libs libhs libpcre2-8 zlib libbrotlidec libzstd)
 * \ -lcrypto -lm -lstdc++ -o build/ted-rel/litset_bench Run (the last argument caps litset's path;
 * the best is AVX-512VBMI where the CPU has it):
 *   taskset -c 1 build/ted-rel/litset_bench /tmp/ted/text50.bin [both|hs|lit|stats] [max-bytes|all]
 * \ [best|avx512bw|avx2|ssse3|scalar] Instructions per byte (5 MB head; valgrind hides AVX-512, so
 * this is the AVX2 path): valgrind --tool=callgrind --toggle-collect=lit_loop
 * build/ted-rel/litset_bench FILE lit 5000000 valgrind --tool=callgrind --toggle-collect=hs_loop
 * build/ted-rel/litset_bench FILE hs 5000000 (the "Collected" Ir divided by the bytes). */
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifiers/engine.h"
#include "classifiers/litset.h"
#include "common/sgw.h"

#define BLOCK 4096
#define CHUNK (256 * 1024)

static unsigned long long hs_hits, lit_hits;
static size_t hs_back;

static int on_hs(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                 void *ctx)
{
    (void)id;
    (void)from;
    (void)fl;
    (void)ctx;
    if (to > hs_back)
        hs_hits++;
    return 0;
}

static int on_lit(uint32_t id, size_t end, void *ctx)
{
    (void)id;
    (void)end;
    (void)ctx;
    lit_hits++;
    return 0;
}

/* the blocks of buf[from, n) (from a multiple of BLOCK), each with the
   back bytes before it */
__attribute__((noinline)) void hs_loop(const hs_database_t *db, hs_scratch_t *scr,
                                       const uint8_t *buf, size_t from, size_t n, size_t maxback);
__attribute__((noinline)) void hs_loop(const hs_database_t *db, hs_scratch_t *scr,
                                       const uint8_t *buf, size_t from, size_t n, size_t maxback)
{
    for (size_t o = from; o < n; o += BLOCK) {
        size_t m = n - o < BLOCK ? n - o : BLOCK;
        size_t back = o < maxback ? o : maxback;
        hs_back = back;
        hs_scan(db, (const char *)buf + o - back, (unsigned)(m + back), 0, scr, on_hs, NULL);
    }
}

__attribute__((noinline)) void lit_loop(const struct cls_litset *s, const uint8_t *buf, size_t from,
                                        size_t n, size_t maxback);
__attribute__((noinline)) void lit_loop(const struct cls_litset *s, const uint8_t *buf, size_t from,
                                        size_t n, size_t maxback)
{
    for (size_t o = from; o < n; o += BLOCK) {
        size_t m = n - o < BLOCK ? n - o : BLOCK;
        size_t back = o < maxback ? o : maxback;
        cls_litset_scan(s, buf + o, m, back, on_lit, NULL);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s FILE [both|hs|lit|stats] [max-bytes|all] "
                "[best|avx512bw|avx2|ssse3|scalar]\n",
                argv[0]);
        return 2;
    }
    const char *mode = argc > 2 ? argv[2] : "both";
    uint64_t maxb = UINT64_MAX;
    if (argc > 3 && strcmp(argv[3], "all") != 0 &&
        sgw_parse_u64(argv[3], strlen(argv[3]), UINT64_MAX, &maxb) != SGW_OK) {
        fprintf(stderr, "bad max-bytes\n");
        return 2;
    }
    if (argc > 4) {
        /* a cap on litset's SIMD path (the tests' hook), to compare them */
        static const char *const names[] = {"best", "scalar", "ssse3", "avx2", "avx512bw"};
        int cap = -1;
        for (int i = 0; i < 5; i++)
            if (strcmp(argv[4], names[i]) == 0)
                cap = i;
        if (cap < 0) {
            fprintf(stderr, "unknown path %s\n", argv[4]);
            return 2;
        }
        cls_litset_force_scalar(cap);
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long fl = ftell(f);
    rewind(f);
    size_t n = (size_t)fl;
    if (n > maxb)
        n = (size_t)maxb;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "read failed\n");
        return 2;
    }
    fclose(f);

    /* the same literals for both */
    size_t nl = cls_n_literals;
    struct cls_litset_lit lits[CLS_LITSET_MAX];
    const char *ex[CLS_LITSET_MAX];
    unsigned flags[CLS_LITSET_MAX], ids[CLS_LITSET_MAX];
    static char exbuf[CLS_LITSET_MAX][4 * CLS_LITSET_MAXLEN + 1];
    for (size_t i = 0; i < nl; i++) {
        const char *l = cls_literals[i].lit;
        size_t len = strlen(l);
        lits[i].bytes = (const uint8_t *)l;
        lits[i].len = len;
        lits[i].caseless = cls_literals[i].caseless;
        lits[i].id = (uint32_t)i;
        for (size_t k = 0; k < len; k++)
            snprintf(exbuf[i] + 4 * k, 5, "\\x%02x", (unsigned)(uint8_t)l[k]);
        ex[i] = exbuf[i];
        flags[i] = cls_literals[i].caseless ? HS_FLAG_CASELESS : 0;
        ids[i] = (unsigned)i;
    }
    struct cls_litset *s = NULL;
    double tb = now();
    if (cls_litset_new(lits, nl, &s) != SGW_OK) {
        fprintf(stderr, "litset build failed\n");
        return 1;
    }
    double tbuild = now() - tb;
    size_t maxback = cls_litset_maxlen(s) - 1;
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    if (hs_compile_multi(ex, flags, ids, (unsigned)nl, HS_MODE_BLOCK, NULL, &db, &ce) !=
        HS_SUCCESS) {
        fprintf(stderr, "hs_compile_multi: %s\n", ce ? ce->message : "?");
        return 1;
    }
    hs_scratch_t *scr = NULL;
    if (hs_alloc_scratch(db, &scr) != HS_SUCCESS) {
        fprintf(stderr, "hs_alloc_scratch failed\n");
        return 1;
    }
    printf("%zu literals, %zu bytes, blocks of %d, litset path %s, build %.2f ms\n", nl, n, BLOCK,
           cls_litset_path(), tbuild * 1e3);

    if (strcmp(mode, "hs") == 0) {
        hs_loop(db, scr, buf, 0, n, maxback);
        printf("hs hits %llu\n", hs_hits);
    } else if (strcmp(mode, "lit") == 0) {
        lit_loop(s, buf, 0, n, maxback);
        printf("litset hits %llu\n", lit_hits);
    } else if (strcmp(mode, "stats") == 0 || strcmp(mode, "both") == 0) {
        struct cls_litset_stats st;
        memset(&st, 0, sizeof(st));
        unsigned long long sh = 0;
        for (size_t o = 0; o < n; o += BLOCK) {
            size_t m = n - o < BLOCK ? n - o : BLOCK;
            size_t back = o < maxback ? o : maxback;
            lit_hits = 0;
            cls_litset_scan_stats(s, buf + o, m, back, on_lit, NULL, &st);
            sh += lit_hits;
        }
        double kb = (double)n / 1024.0;
        printf("candidates per KB: %.2f end positions, %.2f buckets, %.2f literal compares; "
               "hits per KB %.2f\n",
               (double)st.cand_pos / kb, (double)st.cand_buckets / kb, (double)st.compares / kb,
               (double)sh / kb);
        if (strcmp(mode, "both") == 0) {
            double best_hs = 1e30, best_lit = 1e30;
            unsigned long long h1 = 0, h2 = 0;
            for (int r = 0; r < 3; r++) {
                hs_hits = 0;
                double t0 = now();
                hs_loop(db, scr, buf, 0, n, maxback);
                double t1 = now();
                lit_hits = 0;
                lit_loop(s, buf, 0, n, maxback);
                double t2 = now();
                if (t1 - t0 < best_hs)
                    best_hs = t1 - t0;
                if (t2 - t1 < best_lit)
                    best_lit = t2 - t1;
                h1 = hs_hits;
                h2 = lit_hits;
                printf("round %d: hyperscan %.0f MB/s, litset %.0f MB/s\n", r,
                       (double)n / (t1 - t0) / 1e6, (double)n / (t2 - t1) / 1e6);
            }
            printf("streaming (whole file, from memory): hyperscan block %.0f MB/s  litset: %.0f "
                   "MB/s  ratio %.2fx  hits %llu / %llu\n",
                   (double)n / best_hs / 1e6, (double)n / best_lit / 1e6, best_hs / best_lit, h1,
                   h2);
            /* the scanner's case: text scanned right after it was decoded,
               so in cache. Chunks of CHUNK bytes, each read once untimed,
               then scanned by both (order alternating), times summed. */
            double cache_hs = 1e30, cache_lit = 1e30;
            unsigned long long c1 = 0, c2 = 0;
            for (int r = 0; r < 3; r++) {
                double ths = 0, tlit = 0;
                hs_hits = 0;
                lit_hits = 0;
                for (size_t c = 0; c < n; c += CHUNK) {
                    size_t ce = n - c < CHUNK ? n : c + CHUNK;
                    volatile uint8_t sink = 0;
                    for (size_t i = c; i < ce; i += 64)
                        sink ^= buf[i];
                    (void)sink;
                    for (int k = 0; k < 2; k++) {
                        double t0 = now();
                        if ((k ^ (int)(c / CHUNK)) & 1)
                            hs_loop(db, scr, buf, c, ce, maxback);
                        else
                            lit_loop(s, buf, c, ce, maxback);
                        double t1 = now();
                        if ((k ^ (int)(c / CHUNK)) & 1)
                            ths += t1 - t0;
                        else
                            tlit += t1 - t0;
                    }
                }
                if (ths < cache_hs)
                    cache_hs = ths;
                if (tlit < cache_lit)
                    cache_lit = tlit;
                c1 = hs_hits;
                c2 = lit_hits;
            }
            printf("in cache (%d KiB chunks): hyperscan block %.0f MB/s  litset: %.0f MB/s  ratio "
                   "%.2fx  hits %llu / %llu\n",
                   CHUNK / 1024, (double)n / cache_hs / 1e6, (double)n / cache_lit / 1e6,
                   cache_hs / cache_lit, c1, c2);
            if (c1 != h1 || c2 != h2) {
                fprintf(stderr, "HIT COUNTS DIFFER in cache: hyperscan %llu litset %llu\n", c1, c2);
                return 1;
            }
            if (h1 != h2 || h2 != sh) {
                fprintf(stderr, "HIT COUNTS DIFFER: hyperscan %llu litset %llu stats %llu\n", h1,
                        h2, sh);
                return 1;
            }
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    hs_free_scratch(scr);
    hs_free_database(db);
    cls_litset_free(s);
    free(buf);
    return 0;
}
