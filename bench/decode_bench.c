/* bench/decode_bench.c — single-thread throughput of the content decoders
 * on the shared corpus (JSONL, one request body per line). Prints numbers
 * only (best of ROUNDS, MB = 1e6 bytes), no pass/fail.
 *
 *   decode_bench FILE [ROUNDS]
 *
 * Lines printed:
 *   memchr        memchr('\0') over the corpus: the memory-speed ceiling
 *   json          the JSON decoder alone, into a counting sink
 *   json+text     the whole chain for application/json: JSON, base64-run
 *                 detection, Unicode normalisation
 *   gzip+chain    same, for the corpus gzip'd per body (input = compressed MB)
 *
 * With DECODE_BENCH_CPU=1 in the environment, times are this thread's CPU
 * time instead of the wall clock (for A/B runs on a shared machine). With
 * DECODE_BENCH_SIMD=L (0 scalar, 1 SSE2, 2 AVX2, 3 AVX-512), the decoders'
 * SIMD level is capped at L (digests must not depend on it).
 *
 *   decode_bench FILE 1 digest [CHUNK [CONTENT-TYPE]]
 *                 feeds every body through the whole chain (application/json
 *                 unless given) in CHUNK-byte pieces (default 4096) into a sink that hashes the event
 *                 sequence: data bytes (however split), boundaries, contexts
 *                 and uninspectable reasons. One digest line; it must not
 *                 change when the decoders are optimised.
 *
 * Build (Release):
 *   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release && \
 *     cmake --build build/rel -j2 --target sgw_classifiers
 *   cc -O2 -I. bench/decode_bench.c build/rel/libsgw_classifiers.a \
 *     build/rel/libsgw_common.a -lz -lbrotlidec -lzstd -o /tmp/decode_bench
 *   python3 /work/shared/bench/gen_corpus.py /tmp/corpus.jsonl 100
 *   /tmp/decode_bench /tmp/corpus.jsonl */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "classifiers/decode_internal.h"

struct counter {
    uint64_t bytes, calls, boundaries, contexts, unins;
};

static int c_data(void *ctx, const uint8_t *p, size_t n)
{
    struct counter *c = ctx;
    c->bytes += n + p[0] * 0; /* touch nothing: the decoder's cost only */
    c->calls++;
    return SGW_OK;
}

static int c_boundary(void *ctx)
{
    ((struct counter *)ctx)->boundaries++;
    return SGW_OK;
}

static int c_context(void *ctx, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    ((struct counter *)ctx)->contexts++;
    return SGW_OK;
}

static int c_unins(void *ctx, const char *reason, uint32_t flags)
{
    (void)reason;
    (void)flags;
    ((struct counter *)ctx)->unins++;
    return SGW_OK;
}

/* Wall clock, or with DECODE_BENCH_CPU=1 in the environment this thread's
 * CPU time: on a shared machine, time spent descheduled is not counted
 * (cache and memory contention still are). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct body {
    const uint8_t *p;
    size_t n;
};

static struct body *split_lines(uint8_t *buf, size_t len, size_t *count)
{
    size_t cap = 1024, n = 0;
    struct body *b = malloc(cap * sizeof(*b));
    size_t s = 0;
    for (size_t i = 0; i <= len && b; i++) {
        if (i == len || buf[i] == '\n') {
            if (i > s) {
                if (n == cap) {
                    cap *= 2;
                    b = realloc(b, cap * sizeof(*b));
                    if (!b)
                        break;
                }
                b[n].p = buf + s;
                b[n].n = i - s;
                n++;
            }
            s = i + 1;
        }
    }
    *count = n;
    return b;
}

#define FEED 65536u

/* ---- digest mode: a hash of the event sequence, independent of how the
   data bytes are split between calls ---- */

struct digest {
    uint64_t h;
    uint64_t run; /* data bytes since the last non-data event */
    uint64_t bytes, boundaries, contexts, unins;
};

static void dg_bytes(struct digest *g, const uint8_t *p, size_t n)
{
    uint64_t h = g->h;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    g->h = h;
}

static void dg_event(struct digest *g, uint8_t tag, const uint8_t *p, size_t n)
{
    uint8_t hdr[17];
    hdr[0] = tag;
    for (int k = 0; k < 8; k++) {
        hdr[1 + k] = (uint8_t)(g->run >> (8 * k));
        hdr[9 + k] = (uint8_t)((uint64_t)n >> (8 * k));
    }
    dg_bytes(g, hdr, sizeof(hdr));
    if (n)
        dg_bytes(g, p, n);
    g->run = 0;
}

static int dg_data(void *ctx, const uint8_t *p, size_t n)
{
    struct digest *g = ctx;
    dg_bytes(g, p, n);
    g->run += n;
    g->bytes += n;
    return SGW_OK;
}

static int dg_boundary(void *ctx)
{
    struct digest *g = ctx;
    dg_event(g, 'B', NULL, 0);
    g->boundaries++;
    return SGW_OK;
}

static int dg_context(void *ctx, const uint8_t *p, size_t n)
{
    struct digest *g = ctx;
    dg_event(g, 'C', p, n);
    g->contexts++;
    return SGW_OK;
}

static int dg_unins(void *ctx, const char *reason, uint32_t flags)
{
    struct digest *g = ctx;
    uint8_t f[4] = {(uint8_t)flags, (uint8_t)(flags >> 8), (uint8_t)(flags >> 16),
                    (uint8_t)(flags >> 24)};
    dg_event(g, 'U', (const uint8_t *)reason, strlen(reason));
    dg_bytes(g, f, sizeof(f));
    g->unins++;
    return SGW_OK;
}

static int run_digest(const struct body *b, size_t nb, size_t chunk, const char *ct)
{
    struct digest g = {0xcbf29ce484222325ull, 0, 0, 0, 0, 0};
    struct cls_sink s = {.ctx = &g,
                         .data = dg_data,
                         .boundary = dg_boundary,
                         .context = dg_context,
                         .uninspectable = dg_unins};
    for (size_t i = 0; i < nb; i++) {
        struct cls_decode_chain *c = NULL;
        if (cls_decode_chain_new(ct, NULL, NULL, &s, &c) != SGW_OK)
            abort();
        int rc = SGW_OK;
        for (size_t off = 0; off < b[i].n && rc == SGW_OK; off += chunk)
            rc = cls_decode_chain_feed(c, b[i].p + off, b[i].n - off < chunk ? b[i].n - off : chunk);
        if (rc == SGW_OK)
            rc = cls_decode_chain_finish(c);
        cls_decode_chain_free(c);
        uint8_t r = (uint8_t)(rc != SGW_OK);
        dg_event(&g, 'E', &r, 1);
    }
    printf("digest %016llx  %llu data bytes, %llu boundaries, %llu contexts, %llu uninspectable\n",
           (unsigned long long)g.h, (unsigned long long)g.bytes,
           (unsigned long long)g.boundaries, (unsigned long long)g.contexts,
           (unsigned long long)g.unins);
    return 0;
}

/* The JSON decoder alone: a dec_env whose text pipeline is the counter. */
static double run_json_alone(const struct body *b, size_t nb, struct counter *cnt)
{
    struct cls_sink s = {.ctx = cnt,
                         .data = c_data,
                         .boundary = c_boundary,
                         .context = c_context,
                         .uninspectable = c_unins};
    struct dec_env env;
    memset(&env, 0, sizeof(env));
    env.lim.max_depth = DEC_DEFAULT_MAX_DEPTH;
    env.lim.max_decoded = DEC_DEFAULT_MAX_DECODED;
    env.lim.max_ratio = DEC_DEFAULT_MAX_RATIO;
    env.text = &s;
    double t0 = now_s();
    for (size_t i = 0; i < nb; i++) {
        struct dec *d = NULL;
        env.n_reports = 0;
        if (dec_new_json(&env, 0, 0, &d) != SGW_OK)
            abort();
        for (size_t off = 0; off < b[i].n; off += FEED)
            dec_feed(d, b[i].p + off, b[i].n - off < FEED ? b[i].n - off : FEED);
        dec_finish(d);
        dec_free(d);
    }
    return now_s() - t0;
}

static double run_chain(const struct body *b, size_t nb, const char *ce, struct counter *cnt)
{
    struct cls_sink s = {.ctx = cnt,
                         .data = c_data,
                         .boundary = c_boundary,
                         .context = c_context,
                         .uninspectable = c_unins};
    double t0 = now_s();
    for (size_t i = 0; i < nb; i++) {
        struct cls_decode_chain *c = NULL;
        if (cls_decode_chain_new("application/json", ce, NULL, &s, &c) != SGW_OK)
            abort();
        for (size_t off = 0; off < b[i].n; off += FEED)
            cls_decode_chain_feed(c, b[i].p + off, b[i].n - off < FEED ? b[i].n - off : FEED);
        cls_decode_chain_finish(c);
        cls_decode_chain_free(c);
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: decode_bench FILE [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
    const char *cpu = getenv("DECODE_BENCH_CPU");
    if (cpu && strcmp(cpu, "1") == 0)
        bench_clock = CLOCK_THREAD_CPUTIME_ID;
    const char *simd = getenv("DECODE_BENCH_SIMD");
    if (simd && simd[0] >= '0' && simd[0] <= '0' + DEC_SIMD_TOP && simd[1] == '\0')
        dec_simd_cap(simd[0] - '0');
    const char *only = argc > 3 ? argv[3] : ""; /* "json", "chain", "gzip": one measurement;
                                                  "digest": the event digest */
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long flen = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)flen + 1);
    if (!buf || fread(buf, 1, (size_t)flen, f) != (size_t)flen)
        return 2;
    fclose(f);
    size_t nb = 0;
    struct body *b = split_lines(buf, (size_t)flen, &nb);
    if (strcmp(only, "digest") == 0)
        return run_digest(b, nb, argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : 4096,
                          argc > 5 ? argv[5] : "application/json");
    size_t total = 0;
    for (size_t i = 0; i < nb; i++)
        total += b[i].n;
    /* gzip each body */
    struct body *gz = calloc(nb, sizeof(*gz));
    size_t gz_total = 0;
    for (size_t i = 0; i < nb && (!only[0] || strcmp(only, "gzip") == 0); i++) {
        uLong cap = compressBound(b[i].n) + 32;
        uint8_t *o = malloc(cap);
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)(uintptr_t)b[i].p;
        zs.avail_in = (uInt)b[i].n;
        zs.next_out = o;
        zs.avail_out = (uInt)cap;
        deflate(&zs, Z_FINISH);
        gz[i].p = o;
        gz[i].n = zs.total_out;
        gz_total += zs.total_out;
        deflateEnd(&zs);
    }
    double best_mem = 1e30, best_json = 1e30, best_chain = 1e30, best_gz = 1e30;
    struct counter cj = {0}, cc = {0}, cg = {0};
    volatile size_t hits = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        for (size_t i = 0; i < nb; i++)
            hits += memchr(b[i].p, 0, b[i].n) != NULL;
        double t = now_s() - t0;
        best_mem = t < best_mem ? t : best_mem;
        if (!only[0] || strcmp(only, "json") == 0) {
            memset(&cj, 0, sizeof(cj));
            t = run_json_alone(b, nb, &cj);
            best_json = t < best_json ? t : best_json;
        }
        if (!only[0] || strcmp(only, "chain") == 0) {
            memset(&cc, 0, sizeof(cc));
            t = run_chain(b, nb, NULL, &cc);
            best_chain = t < best_chain ? t : best_chain;
        }
        if (!only[0] || strcmp(only, "gzip") == 0) {
            memset(&cg, 0, sizeof(cg));
            t = run_chain(gz, nb, "gzip", &cg);
            best_gz = t < best_gz ? t : best_gz;
        }
    }
    double mb = (double)total / 1e6;
    printf("corpus        %zu bodies, %.1f MB (%.1f MB gzip'd)\n", nb, mb, (double)gz_total / 1e6);
    printf("memchr        %8.0f MB/s\n", mb / best_mem);
    if (!only[0] || strcmp(only, "json") == 0)
        printf("json          %8.0f MB/s  (%.2f x memchr)  %llu data calls, %llu values, %llu keys, "
               "%llu uninspectable\n",
               mb / best_json, best_mem / best_json, (unsigned long long)cj.calls,
               (unsigned long long)cj.boundaries, (unsigned long long)cj.contexts,
               (unsigned long long)cj.unins);
    if (!only[0] || strcmp(only, "chain") == 0)
        printf("json+text     %8.0f MB/s  (%.2f x json)  %llu data calls, %llu uninspectable\n",
               mb / best_chain, only[0] ? 0.0 : best_json / best_chain,
               (unsigned long long)cc.calls, (unsigned long long)cc.unins);
    if (!only[0] || strcmp(only, "gzip") == 0)
        printf("gzip+chain    %8.0f MB/s of decoded (%.0f MB/s compressed)\n", mb / best_gz,
               (double)gz_total / 1e6 / best_gz);
    for (size_t i = 0; i < nb; i++)
        free((void *)(uintptr_t)gz[i].p);
    free(gz);
    free(b);
    free(buf);
    return hits == (size_t)-1;
}
