/* bench/scan_bench.c — single-thread scan throughput of sovgw and its peers
 * on one corpus (JSONL, one request body per line). Prints one line per
 * measurement: "<name> <MB/s> <extra>". Driven by bench/scan_bench.sh.
 *
 *   scan_bench memchr FILE
 *   scan_bench sovgw FILE                 full default packs, JSON decoding,
 *                                         one stream per body, 64 KiB feeds
 *   scan_bench stages FILE                decode / prefilter / scanner split
 *   scan_bench hyperscan PATTERNS FILE    one block-mode database per body
 *   scan_bench pcre2 PATTERNS FILE MB     JIT, one regex after another, on
 *                                         the first MB megabytes
 *   scan_bench regexes N FILE             default packs + N custom regexes
 *   scan_bench dict N FILE                default packs + N dictionary terms
 *   scan_bench digest FILE [CHUNK [CFG]]  a hash of every finding (type, span,
 *                                         confidence, flags, path, excerpt)
 *                                         fed in CHUNK-byte pieces (default
 *                                         65536); CFG: default, regexes500,
 *                                         dict10000 (the sweep configurations)
 *                                         or all (both on top of the packs):
 *                                         equal digests = identical findings */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <fcntl.h>
#include <hs/hs.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "classifiers/internal.h"

static const uint8_t *corpus;
static size_t corpus_len;
static size_t *body_end; /* each body's end (its line end) in corpus */
static size_t n_bodies;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        exit(2);
    }
    corpus_len = (size_t)st.st_size;
    void *p = mmap(NULL, corpus_len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    corpus = p;
    close(fd);
    /* the bodies' bounds, found once here, outside every timed run: a
       gateway gets each body with its length (HTTP framing), so no scanner
       pays for finding where one ends */
    size_t cap = 1024;
    body_end = malloc(cap * sizeof(*body_end));
    for (const uint8_t *q = corpus, *end = corpus + corpus_len; q < end && body_end;) {
        const uint8_t *nl = memchr(q, '\n', (size_t)(end - q));
        if (n_bodies == cap)
            body_end = realloc(body_end, (cap *= 2) * sizeof(*body_end));
        if (body_end)
            body_end[n_bodies++] = nl ? (size_t)(nl - corpus) : corpus_len;
        q = nl ? nl + 1 : end;
    }
    if (!body_end) {
        perror("malloc");
        exit(2);
    }
}

static double mbs(size_t bytes, double secs)
{
    return (double)bytes / 1e6 / secs;
}

/* runs body with line, len for every body (bounds found by load) */
#define FOR_LINES(body)                                                                            \
    do {                                                                                           \
        size_t start_ = 0;                                                                         \
        for (size_t i_ = 0; i_ < n_bodies; i_++) {                                                 \
            const uint8_t *line = corpus + start_;                                                 \
            size_t len = body_end[i_] - start_;                                                    \
            body;                                                                                  \
            start_ = body_end[i_] + 1;                                                             \
        }                                                                                          \
    } while (0)

static void bench_memchr(void)
{
    double best = 1e9;
    size_t hits = 0;
    for (int r = 0; r < 3; r++) {
        /* memchr is pure: without this barrier a compiler may reuse the
           first run's result for the next ones */
        __asm__ volatile("" ::: "memory");
        double t0 = now();
        hits = 0;
        const uint8_t *p = corpus, *end = corpus + corpus_len;
        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            hits++;
            p++;
        }
        __asm__ volatile("" : : "r"(hits) : "memory"); /* finish before the clock */
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("memchr %.0f hits=%zu\n", mbs(corpus_len, best), hits);
}

static struct cls_worker *make_worker(const struct cls_config *cfg)
{
    struct cls_engine *e = NULL;
    char err[256];
    if (cls_engine_new(cfg, &e, err, sizeof(err)) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        exit(2);
    }
    struct cls_worker *w = NULL;
    if (cls_worker_new(e, &w) != 0)
        exit(2);
    cls_engine_unref(e);
    return w;
}

/* one stream per body, fed in 64 KiB chunks; returns seconds */
static double run_sovgw(struct cls_worker *w, size_t *nfind)
{
    size_t found = 0;
    double t0 = now();
    struct cls_stream_opts o = {.content_type = "application/json"};
    FOR_LINES({
        struct cls_stream *s = NULL;
        if (cls_stream_new(w, &o, &s) != 0)
            exit(3);
        for (size_t off = 0; off < len; off += 65536) {
            size_t k = len - off < 65536 ? len - off : 65536;
            if (cls_stream_feed(s, line + off, k) != 0)
                exit(3);
        }
        if (cls_stream_close(s) != 0)
            exit(3);
        size_t n = 0;
        cls_stream_findings(s, &n);
        found += n;
        cls_stream_free(s);
    });
    *nfind = found;
    return now() - t0;
}

static void bench_sovgw(void)
{
    struct cls_worker *w = make_worker(NULL);
    double best = 1e9;
    size_t n = 0;
    for (int r = 0; r < 3; r++) {
        double t = run_sovgw(w, &n);
        if (t < best)
            best = t;
    }
    printf("sovgw %.0f findings=%zu\n", mbs(corpus_len, best), n);
    cls_worker_free(w);
}

/* ---- stage split ---- */

struct capture {
    uint8_t *buf;
    size_t len, cap;
    size_t *bounds; /* offsets in buf where a unit ended */
    size_t nb, capb;
    size_t *bodies; /* unit count at the end of each body */
    size_t nbody, capbody;
};

static int cap_data(void *ctx, const uint8_t *p, size_t n)
{
    struct capture *c = ctx;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    return 0;
}

static int cap_boundary(void *ctx)
{
    struct capture *c = ctx;
    if (c->nb == c->capb) {
        c->capb = c->capb ? c->capb * 2 : 1024;
        c->bounds = realloc(c->bounds, c->capb * sizeof(size_t));
    }
    c->bounds[c->nb++] = c->len;
    return 0;
}

static int null_data(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return 0;
}

static int null_boundary(void *ctx)
{
    (void)ctx;
    return 0;
}

static int null_context(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return 0;
}

static int null_uninsp(void *ctx, const char *r, uint32_t f)
{
    (void)ctx;
    (void)r;
    (void)f;
    return 0;
}

static void cap_body_end(struct capture *c)
{
    if (c->nbody == c->capbody) {
        c->capbody = c->capbody ? c->capbody * 2 : 1024;
        c->bodies = realloc(c->bodies, c->capbody * sizeof(size_t));
    }
    c->bodies[c->nbody++] = c->nb;
}

static double run_decode(const struct cls_sink *sink)
{
    struct cls_decode_limits lim = {64ull << 20, 100, 8};
    double t0 = now();
    FOR_LINES({
        struct cls_decode_chain *c = NULL;
        if (cls_decode_chain_new("application/json", NULL, &lim, sink, &c) != 0)
            exit(3);
        cls_decode_chain_feed(c, line, len);
        cls_decode_chain_finish(c);
        cls_decode_chain_free(c);
        sink->boundary(sink->ctx);
        if (sink->boundary == cap_boundary)
            cap_body_end(sink->ctx);
    });
    return now() - t0;
}

static int on_nothing(unsigned id, unsigned long long f, unsigned long long t, unsigned fl, void *ctx)
{
    (void)id;
    (void)f;
    (void)t;
    (void)fl;
    (*(size_t *)ctx)++;
    return 0;
}

__attribute__((noinline)) static struct cls_scan_stats run_scanner(struct cls_worker *w, const struct capture *cap,
                                                                  int timing)
{
    struct cls_scan_stats sum = {0};
    size_t prev = 0, unit = 0;
    for (size_t body = 0; body < cap->nbody; body++) {
        struct cls_scanner *sc = NULL;
        if (cls_scanner_new(w, 0, NULL, NULL, &sc) != 0)
            exit(3);
        cls_scanner_set_timing(sc, timing);
        for (; unit < cap->bodies[body]; unit++) {
            cls_scanner_data(sc, cap->buf + prev, cap->bounds[unit] - prev);
            cls_scanner_boundary(sc);
            prev = cap->bounds[unit];
        }
        cls_scanner_finish(sc);
        const struct cls_scan_stats *x = cls_scanner_stats(sc);
        sum.windows += x->windows;
        sum.skipped += x->skipped;
        sum.short_decided += x->short_decided;
        sum.memo_units += x->memo_units;
        sum.window_bytes += x->window_bytes;
        sum.regex_runs += x->regex_runs;
        sum.validated += x->validated;
        sum.confirm_ns += x->confirm_ns;
        sum.validate_ns += x->validate_ns;
        sum.context_ns += x->context_ns;
        sum.context_scans += x->context_scans;
        cls_scanner_free(sc);
    }
    return sum;
}

static void bench_stages(void)
{
    struct cls_sink nsink = {.ctx = NULL,
                             .data = null_data,
                             .boundary = null_boundary,
                             .context = null_context,
                             .uninspectable = null_uninsp};
    double tdec = 1e9;
    for (int r = 0; r < (getenv("SCAN_ONLY") ? 1 : 3); r++) {
        double t = run_decode(&nsink);
        if (t < tdec)
            tdec = t;
    }
    struct capture cap = {0};
    struct cls_sink csink = {.ctx = &cap,
                             .data = cap_data,
                             .boundary = cap_boundary,
                             .context = null_context,
                             .uninspectable = null_uninsp};
    run_decode(&csink);

    struct cls_worker *w = make_worker(NULL);
    const struct cls_engine *e = w->e;
    /* stage 1 alone: the trigger map (4 KiB at a time, as the scanner's
       batches; trigger runs counted from it) + the Hyperscan literal stream */
    double tpre = 1e9, ttrig = 1e9, ths = 1e9;
    size_t trig = 0, lits = 0;
    for (int r = 0; r < 3; r++) {
        trig = lits = 0;
        double t0 = now();
        uint64_t bits[4096 / 64], last = 0;
        for (size_t off = 0; off < cap.len; off += 4096) {
            size_t n = cap.len - off < 4096 ? cap.len - off : 4096;
            e->trigger_bits(cap.buf + off, n, bits);
            for (size_t k = 0; k < (n + 63) / 64; k++) {
                trig += (size_t)__builtin_popcountll(bits[k] & ~(bits[k] << 1 | last >> 63));
                last = bits[k];
            }
        }
        double t1 = now();
        hs_stream_t *hs = NULL;
        hs_open_stream((const hs_database_t *)e->hsdb, 0, &hs);
        hs_scan_stream(hs, (const char *)cap.buf, (unsigned)(cap.len > 0xffffffffu ? 0xffffffffu : cap.len),
                       0, (hs_scratch_t *)w->scratch, on_nothing, &lits);
        hs_close_stream(hs, (hs_scratch_t *)w->scratch, NULL, NULL);
        double t2 = now();
        double t = t2 - t0;
        if (t < tpre)
            tpre = t;
        if (t1 - t0 < ttrig)
            ttrig = t1 - t0;
        if (t2 - t1 < ths)
            ths = t2 - t1;
    }
    /* the whole scanner on the decoded text, one scanner per body;
       SCAN_ONLY=N: N scanner runs (profiling; callgrind can collect only
       inside run_scanner with --toggle-collect=run_scanner) */
    double tscan = 1e9;
    struct cls_scan_stats st = {0};
    const char *so = getenv("SCAN_ONLY");
    unsigned long reps = so ? strtoul(so, NULL, 10) : 3;
    if (so && reps < 1)
        reps = 20;
    for (unsigned long r = 0; r < reps; r++) {
        double t0 = now();
        st = run_scanner(w, &cap, 0);
        double t = now() - t0;
        if (t < tscan)
            tscan = t;
    }
    /* one more run with the confirm/validate/context calls timed (the clock
       reads add a little to those three) */
    struct cls_scan_stats tst = run_scanner(w, &cap, 1);
    double tconf = (double)tst.confirm_ns / 1e9, tval = (double)tst.validate_ns / 1e9,
           tctx = (double)tst.context_ns / 1e9;
    double twin = tscan - tpre - tconf - tval - tctx;
    printf("stage_decode %.0f secs=%.3f bytes_in=%zu decoded=%zu units=%zu\n", mbs(corpus_len, tdec), tdec,
           corpus_len, cap.len, cap.nb);
    printf("stage_prefilter %.0f secs=%.3f triggers=%zu literal_hits=%zu simd=%s trigger_secs=%.3f "
           "literal_secs=%.3f\n",
           mbs(cap.len, tpre), tpre, trig, lits, e->simd, ttrig, ths);
    printf("stage_scanner %.0f secs=%.3f windows=%llu (%llu skipped unopened, %llu by the short path) "
           "memo_units=%llu window_bytes=%llu regex_runs=%llu validated=%llu confirm_validate_secs=%.3f\n",
           mbs(cap.len, tscan), tscan, (unsigned long long)st.windows, (unsigned long long)st.skipped,
           (unsigned long long)st.short_decided, (unsigned long long)st.memo_units,
           (unsigned long long)st.window_bytes,
           (unsigned long long)st.regex_runs, (unsigned long long)st.validated,
           tscan > tpre ? tscan - tpre : 0.0);
    printf("stage_split prefilter_secs=%.3f windows_secs=%.3f context_secs=%.3f (%llu searches) "
           "confirm_secs=%.3f (%llu PCRE2 runs) validate_secs=%.3f (%llu validated)\n",
           tpre, twin > 0 ? twin : 0.0, tctx, (unsigned long long)tst.context_scans, tconf,
           (unsigned long long)tst.regex_runs, tval, (unsigned long long)tst.validated);
    cls_worker_free(w);
    free(cap.buf);
    free(cap.bounds);
    free(cap.bodies);
}

/* ---- peers ---- */

static char **read_patterns(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    char **v = NULL;
    size_t k = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = '\0';
        if (!l)
            continue;
        v = realloc(v, (k + 1) * sizeof(*v));
        v[k++] = strdup(line);
    }
    fclose(f);
    *n = k;
    return v;
}

static void bench_hyperscan(const char *pfile)
{
    size_t n;
    char **pats = read_patterns(pfile, &n);
    unsigned *flags = calloc(n, sizeof(unsigned)), *ids = calloc(n, sizeof(unsigned));
    /* end offsets only: the fastest configuration, the fairest to the peer */
    for (size_t i = 0; i < n; i++) {
        flags[i] = 0;
        ids[i] = (unsigned)i;
    }
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    if (hs_compile_multi((const char *const *)pats, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &db, &ce) !=
        HS_SUCCESS) {
        fprintf(stderr, "hyperscan: %s\n", ce->message);
        exit(2);
    }
    hs_scratch_t *s = NULL;
    hs_alloc_scratch(db, &s);
    double best = 1e9;
    size_t hits = 0;
    for (int r = 0; r < 2; r++) {
        hits = 0;
        double t0 = now();
        FOR_LINES({ hs_scan(db, (const char *)line, (unsigned)len, 0, s, on_nothing, &hits); });
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    /* and over the whole corpus in one call (no per-body cost) */
    double whole = 1e9;
    size_t hw = 0;
    for (int r = 0; r < 2; r++) {
        hw = 0;
        double t0 = now();
        hs_scan(db, (const char *)corpus, (unsigned)corpus_len, 0, s, on_nothing, &hw);
        double t = now() - t0;
        if (t < whole)
            whole = t;
    }
    if (whole < best) {
        best = whole;
        hits = hw;
    }
    printf("hyperscan %.0f matches=%zu (best of per-body and whole-buffer)\n", mbs(corpus_len, best), hits);
    hs_free_scratch(s);
    hs_free_database(db);
}

static void bench_pcre2(const char *pfile, size_t mb)
{
    size_t n;
    char **pats = read_patterns(pfile, &n);
    size_t len = mb * 1000000;
    if (len > corpus_len)
        len = corpus_len;
    pcre2_match_data *md = pcre2_match_data_create(32, NULL);
    size_t hits = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)pats[i], PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
        if (!c)
            continue;
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
        size_t off = 0;
        while (off < len) {
            int rc = pcre2_jit_match(c, corpus, len, off, 0, md, NULL);
            if (rc < 0)
                break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            hits++;
            off = ov[1] > off ? ov[1] : off + 1;
        }
        pcre2_code_free(c);
    }
    double t = now() - t0;
    printf("pcre2 %.0f matches=%zu slice_mb=%zu\n", mbs(len, t), hits, mb);
    pcre2_match_data_free(md);
}

/* A sweep point against the default packs, alternated run by run: five
 * pairs, each a run of the default packs then one of the point, back to
 * back. The ratio is the median of the five pairs' ratios (a pair sees the
 * same moment of a shared machine, whose speed swings by a third between
 * seconds; the best of each side, as before, could pair a quick moment with
 * a slow one); the MB/s shown are each side's best. Prints
 * "<name> <MB/s> findings=N base=<MB/s> ratio=<point/base>". */
#define SWEEP_PAIRS 5
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sweep_point(const char *name, struct cls_worker *w)
{
    struct cls_worker *base = make_worker(NULL);
    double best = 1e9, best_base = 1e9, pr[SWEEP_PAIRS];
    size_t f = 0, fb = 0;
    for (int r = 0; r < SWEEP_PAIRS; r++) {
        double tb = run_sovgw(base, &fb);
        if (tb < best_base)
            best_base = tb;
        double t = run_sovgw(w, &f);
        if (t < best)
            best = t;
        pr[r] = tb / t;
    }
    qsort(pr, SWEEP_PAIRS, sizeof(pr[0]), cmp_double);
    printf("%s %.0f findings=%zu base=%.0f ratio=%.2f\n", name, mbs(corpus_len, best), f, mbs(corpus_len, best_base),
           pr[SWEEP_PAIRS / 2]);
    cls_worker_free(base);
}


/* ---- findings digest: the equality check for scanner changes ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void make_regexes(size_t n, struct cls_custom_regex *rx, char (*names)[32], char (*pats)[64]);
static void make_terms(size_t n, const char **terms, char (*buf)[24]);

static void bench_digest(size_t chunk, const char *cfgname)
{
    struct cls_config cfg = {0};
    size_t nrx = 0, nterm = 0;
    if (strcmp(cfgname, "regexes500") == 0 || strcmp(cfgname, "all") == 0)
        nrx = 500;
    if (strcmp(cfgname, "dict10000") == 0 || strcmp(cfgname, "all") == 0)
        nterm = 10000;
    struct cls_custom_regex *rx = calloc(nrx + 1, sizeof(*rx));
    char (*names)[32] = calloc(nrx + 1, 32);
    char (*pats)[64] = calloc(nrx + 1, 64);
    const char **terms = calloc(nterm + 1, sizeof(*terms));
    char (*tbuf)[24] = calloc(nterm + 1, 24);
    make_regexes(nrx, rx, names, pats);
    make_terms(nterm, terms, tbuf);
    struct cls_dictionary d = {"CODENAME", terms, nterm};
    cfg.regexes = rx;
    cfg.n_regexes = nrx;
    cfg.dicts = &d;
    cfg.n_dicts = nterm ? 1 : 0;
    struct cls_worker *w = make_worker(&cfg);
    struct cls_stream_opts o = {.content_type = "application/json", .excerpts = 1};
    uint64_t h = 1469598103934665603ull;
    size_t found = 0, lineno = 0;
    /* DIGEST_DUMP=1: every finding on stderr (line, type, span, confidence),
       to diff two builds when their digests differ */
    int dump = getenv("DIGEST_DUMP") != NULL;
    FOR_LINES({
        struct cls_stream *s = NULL;
        if (cls_stream_new(w, &o, &s) != 0)
            exit(3);
        for (size_t off = 0; off < len; off += chunk) {
            size_t k = len - off < chunk ? len - off : chunk;
            if (cls_stream_feed(s, line + off, k) != 0)
                exit(3);
        }
        if (cls_stream_close(s) != 0)
            exit(3);
        size_t n = 0;
        const struct cls_finding *f = cls_stream_findings(s, &n);
        for (size_t i = 0; i < n; i++) {
            uint64_t v[4];
            v[0] = f[i].start;
            v[1] = f[i].end;
            v[2] = f[i].confidence;
            v[3] = f[i].flags | (uint64_t)f[i].category << 32;
            h = fnv(h, f[i].type, strlen(f[i].type));
            h = fnv(h, v, sizeof(v));
            h = fnv(h, f[i].decoders, strnlen(f[i].decoders, sizeof(f[i].decoders)));
            h = fnv(h, f[i].excerpt, strnlen(f[i].excerpt, sizeof(f[i].excerpt)));
            h = fnv(h, f[i].reason, strnlen(f[i].reason, sizeof(f[i].reason)));
            if (dump)
                fprintf(stderr, "%zu %s %llu %llu %u\n", lineno, f[i].type, (unsigned long long)f[i].start,
                        (unsigned long long)f[i].end, (unsigned)f[i].confidence);
        }
        lineno++;
        h = fnv(h, "|", 1);
        found += n;
        cls_stream_free(s);
    });
    printf("digest %016llx findings=%zu chunk=%zu cfg=%s\n", (unsigned long long)h, found, chunk, cfgname);
    cls_worker_free(w);
    free(rx);
    free(names);
    free(pats);
    free(terms);
    free(tbuf);
}

/* ---- flatness sweeps ---- */

static void make_regexes(size_t n, struct cls_custom_regex *rx, char (*names)[32], char (*pats)[64])
{
    for (size_t i = 0; i < n; i++) {
        /* realistic internal identifiers: a distinct prefix then digits */
        snprintf(names[i], 32, "CUSTOM_%zu", i);
        snprintf(pats[i], 64, "\\bK%c%c%zu-[0-9]{4,8}\\b", 'A' + (int)(i % 26), 'A' + (int)((i / 26) % 26), i);
        rx[i].name = names[i];
        rx[i].pattern = pats[i];
    }
}

static void make_terms(size_t n, const char **terms, char (*buf)[24])
{
    static const char *const syl[] = {"ka", "lo", "mi", "ne", "su", "ra", "to", "vi", "ze", "qu",
                                      "bor", "dan", "fel", "gri", "hux", "jor", "pim", "wex"};
    for (size_t i = 0; i < n; i++) {
        size_t x = i * 2654435761u + 17;
        snprintf(buf[i], 24, "%s%s%s%zu", syl[x % 18], syl[(x / 18) % 18], syl[(x / 324) % 18], i % 97);
        terms[i] = buf[i];
    }
}

static void bench_regexes(size_t n)
{
    struct cls_custom_regex *rx = calloc(n, sizeof(*rx));
    char (*names)[32] = calloc(n, 32);
    char (*pats)[64] = calloc(n, 64);
    make_regexes(n, rx, names, pats);
    struct cls_config cfg = {0};
    cfg.regexes = rx;
    cfg.n_regexes = n;
    struct cls_worker *w = make_worker(&cfg);
    char name[32];
    snprintf(name, sizeof(name), "regexes_%zu", n);
    sweep_point(name, w);
    cls_worker_free(w);
    free(rx);
    free(names);
    free(pats);
}

static void bench_dict(size_t n)
{
    const char **terms = calloc(n, sizeof(*terms));
    char (*buf)[24] = calloc(n, 24);
    make_terms(n, terms, buf);
    struct cls_dictionary d = {"CODENAME", terms, n};
    struct cls_config cfg = {0};
    cfg.dicts = &d;
    cfg.n_dicts = 1;
    struct cls_worker *w = make_worker(&cfg);
    char name[32];
    snprintf(name, sizeof(name), "dict_%zu", n);
    sweep_point(name, w);
    cls_worker_free(w);
    free(terms);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: see the header of bench/scan_bench.c\n", stderr);
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "memchr") == 0) {
        load(argv[2]);
        bench_memchr();
    } else if (strcmp(mode, "sovgw") == 0) {
        load(argv[2]);
        bench_sovgw();
    } else if (strcmp(mode, "stages") == 0) {
        load(argv[2]);
        bench_stages();
    } else if (strcmp(mode, "hyperscan") == 0 && argc >= 4) {
        load(argv[3]);
        bench_hyperscan(argv[2]);
    } else if (strcmp(mode, "pcre2") == 0 && argc >= 5) {
        load(argv[3]);
        bench_pcre2(argv[2], (size_t)strtoul(argv[4], NULL, 10));
    } else if (strcmp(mode, "regexes") == 0 && argc >= 4) {
        load(argv[3]);
        bench_regexes((size_t)strtoul(argv[2], NULL, 10));
    } else if (strcmp(mode, "dict") == 0 && argc >= 4) {
        load(argv[3]);
        bench_dict((size_t)strtoul(argv[2], NULL, 10));
    } else if (strcmp(mode, "digest") == 0) {
        load(argv[2]);
        size_t chunk = argc >= 4 ? (size_t)strtoul(argv[3], NULL, 10) : 65536;
        bench_digest(chunk ? chunk : 65536, argc >= 5 ? argv[4] : "default");
    } else {
        fputs("scan_bench: unknown mode\n", stderr);
        return 2;
    }
    return 0;
}
